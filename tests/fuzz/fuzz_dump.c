/**
 * @file fuzz_dump.c
 * dump_load() of the input as a text cache dump (the format of
 * `resolverctl dump`, loaded at start from cache.persist), every entry it
 * accepts stored into a cache with cache_store(); then every live entry is
 * rendered back as text and JSON (dump_entry_text, dump_entry_json), which
 * must not fail on anything the loader let in. The cache is emptied after
 * each input.
 */
#include <errno.h>
#include <string.h>

#include "cache/cache.h"
#include "resolver/dump.h"
#include "tests/fuzz/fuzz.h"

static struct cache *cache;

static int
store(void *arg, const struct cache_rrset_in *in, uint64_t stored_ms,
    const char *tier)
{
	(void)arg;
	/* the label is a NUL-terminated string of at most DUMP_TIER_MAX */
	if (tier == NULL || strnlen(tier, DUMP_TIER_MAX + 1) > DUMP_TIER_MAX)
		abort();
	return cache_store(cache, in, stored_ms);
}

static void
bad(void *arg, unsigned line, const char *msg)
{
	unsigned *nbad = arg;

	if (line == 0 || msg == NULL || msg[0] == '\0')
		abort();
	(*nbad)++;
}

static int
render(const struct cache_rrset_out *e, void *arg)
{
	(void)arg;
	/* what was stored renders, or is refused as a whole (-EINVAL) */
	int t = dump_entry_text(fuzz_null(), e, "fuzz");
	int j = dump_entry_json(fuzz_null(), e, NULL);
	if ((t != 0 && t != -EINVAL) || (j != 0 && j != -EINVAL))
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dump_load_stats st;
	unsigned nbad = 0;

	if (cache == NULL) {
		struct cache_policy pol = {
		    .max_ttl = 86400, .negative_ttl = 3600};
		cache = cache_new(4u << 20, &pol);
		if (cache == NULL)
			fuzz_die("cache_new");
	}
	if (dump_load((const char *)data, size, FUZZ_NOW_MS, store, bad, &nbad,
	        &st) == 0) {
		/* every rejected line is reported; so is an entry the cache
		 * refused with an error (counted as refused, not bad) */
		if (nbad < st.bad || nbad > st.bad + st.refused ||
		    st.entries > st.lines)
			abort();
		cache_foreach(cache, FUZZ_NOW_MS, render, NULL);
	}
	fflush(fuzz_null());
	cache_flush_all(cache);
	return 0;
}
