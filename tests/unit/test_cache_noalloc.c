/*
 * test_cache_noalloc.c: cache_answer() must not allocate.
 *
 * This program defines malloc, calloc, realloc and free itself. In a
 * dynamically linked executable its definitions interpose on glibc's for the
 * whole process (libcore.a, cmocka and libc's own internal callers of the
 * public symbols included); they forward to glibc's __libc_* entry points and
 * count calls while `counting` is set.
 *
 * Under AddressSanitizer the runtime owns malloc (it intercepts it to track
 * every allocation); replacing it would bypass ASan's allocator, so in an
 * ASan build the replacement is compiled out and the test is skipped.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache/cache.h"

#if defined(__SANITIZE_ADDRESS__)
#define NOALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define NOALLOC_ASAN 1
#endif
#endif

#ifndef NOALLOC_ASAN
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static volatile bool counting;
static volatile unsigned long allocs;

void *
malloc(size_t n)
{
	if (counting)
		allocs++;
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t m)
{
	if (counting)
		allocs++;
	return __libc_calloc(n, m);
}

void *
realloc(void *p, size_t n)
{
	if (counting)
		allocs++;
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	__libc_free(p);
}

static size_t
wire(uint8_t *out, const char *s)
{
	size_t o = 0;

	while (*s) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		out[o++] = (uint8_t)l;
		memcpy(out + o, s, l);
		o += l;
		s += l + (dot != NULL);
	}
	out[o++] = 0;
	return o;
}

static void
store(struct cache *c, const char *owner, uint16_t type, uint8_t kind,
    const uint8_t *rd, size_t rdlen, const char *soa)
{
	struct cache_rrset_in in;
	uint8_t o[256], z[256];

	memset(&in, 0, sizeof(in));
	wire(o, owner);
	in.owner = o;
	in.type = type;
	in.rclass = 1;
	in.kind = kind;
	in.rank = CACHE_RANK_AUTH_ANSWER;
	in.ttl = 3600;
	in.nrr = 1;
	in.rdata = rd;
	in.rdata_len = rdlen;
	if (soa) {
		wire(z, soa);
		in.soa_owner = z;
	}
	assert_int_equal(cache_store(c, &in, 1000), 1);
}
#endif

static void
test_answer_does_not_allocate(void **state)
{
	(void)state;
#ifdef NOALLOC_ASAN
	skip();
#else
	struct cache *c = cache_new(1 << 20, NULL);
	static const uint8_t a[] = {0, 4, 192, 0, 2, 1};
	uint8_t cn[64], soa[128], q[4][256], out[1024];
	size_t l, len;
	struct cache_hit hit;
	unsigned ok = 0;

	assert_non_null(c);
	l = wire(cn + 2, "target.example");
	cn[0] = 0;
	cn[1] = (uint8_t)l;
	store(c, "www.example", 1, CACHE_RRSET, a, sizeof(a), NULL);
	store(c, "alias.example", 5, CACHE_RRSET, cn, l + 2, NULL);
	store(c, "target.example", 1, CACHE_RRSET, a, sizeof(a), NULL);
	l = wire(soa + 2, "ns.example");
	l += wire(soa + 2 + l, "hm.example");
	memset(soa + 2 + l, 1, 20);
	l += 20;
	soa[0] = 0;
	soa[1] = (uint8_t)l;
	store(c, "nx.example", 0, CACHE_NXDOMAIN, soa, l + 2, "example");
	wire(q[0], "WWW.example");
	wire(q[1], "alias.example");
	wire(q[2], "nx.example");
	wire(q[3], "miss.example");

	allocs = 0;
	counting = true;
	for (int i = 0; i < 1000; i++) {
		int rc = cache_answer(c, q[i % 4], 1, 1, true, false, 11,
		    2000 + i, out, sizeof(out), &len, &hit);
		ok += rc == 1;
	}
	counting = false;
	assert_int_equal(allocs, 0);
	assert_int_equal(ok, 750);
	/* the counter does count: a store allocates */
	counting = true;
	store(c, "new.example", 1, CACHE_RRSET, a, sizeof(a), NULL);
	counting = false;
	assert_true(allocs > 0);
	cache_free(c);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_answer_does_not_allocate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
