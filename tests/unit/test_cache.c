/*
 * test_cache.c: unit tests of cache/cache.c. Time is a parameter: every test
 * picks its own now_ms, ages entries by passing a later one.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache/cache.h"
#include "resolver/limits.h"

#define T0    1700000000000ULL /* an arbitrary "now", ms */
#define IN    1
#define A     1
#define NS    2
#define CNAME 5
#define SOA   6
#define MX    15
#define AAAA  28
#define RRSIG 46

static const struct cache_policy pol = {.max_ttl = 86400, .negative_ttl = 3600};

/* ------------------------------------------------------------ helpers */

/* "www.example.com" -> wire. @return length. */
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

/* Static wire names for brevity; each call gets its own slot. */
static const uint8_t *
N(const char *s)
{
	static _Thread_local uint8_t ring[16][256]; /* the threads test too */
	static _Thread_local unsigned i;
	uint8_t *b = ring[i++ % 16];

	wire(b, s);
	return b;
}

/* Append one record [rdlen][rdata] to a list. */
static size_t
add_rd(uint8_t *list, size_t off, const void *rd, size_t len)
{
	list[off] = (uint8_t)(len >> 8);
	list[off + 1] = (uint8_t)len;
	memcpy(list + off + 2, rd, len);
	return off + 2 + len;
}

struct rrbuf {
	uint8_t rd[1024];
	size_t len;
	uint16_t n;
};

static void
rb_a(struct rrbuf *b, uint8_t a, uint8_t bb, uint8_t c, uint8_t d)
{
	uint8_t ip[4] = {a, bb, c, d};

	b->len = add_rd(b->rd, b->len, ip, 4);
	b->n++;
}

static void
rb_name(struct rrbuf *b, const char *name)
{
	uint8_t w[256];
	size_t l = wire(w, name);

	b->len = add_rd(b->rd, b->len, w, l);
	b->n++;
}

/* SOA rdata: ns.<zone> hostmaster.<zone> serial refresh retry expire min */
static void
rb_soa(struct rrbuf *b, const char *zone)
{
	uint8_t rd[600];
	char tmp[300];
	size_t l;

	snprintf(tmp, sizeof(tmp), "ns.%s", zone);
	l = wire(rd, tmp);
	snprintf(tmp, sizeof(tmp), "hostmaster.%s", zone);
	l += wire(rd + l, tmp);
	for (int i = 0; i < 20; i++)
		rd[l + (size_t)i] = (uint8_t)(i + 1);
	b->len = add_rd(b->rd, b->len, rd, l + 20);
	b->n++;
}

static int
put(struct cache *c, const char *owner, uint16_t type, uint8_t kind,
    uint8_t rank, uint32_t ttl, const struct rrbuf *rr, const char *soa,
    uint64_t now)
{
	struct cache_rrset_in in;

	memset(&in, 0, sizeof(in));
	in.owner = N(owner);
	in.type = type;
	in.rclass = IN;
	in.kind = kind;
	in.rank = rank;
	in.ttl = ttl;
	in.nrr = rr->n;
	in.rdata = rr->rd;
	in.rdata_len = rr->len;
	in.soa_owner = soa ? N(soa) : NULL;
	return cache_store(c, &in, now);
}

static int
put_a(struct cache *c, const char *owner, uint8_t rank, uint32_t ttl,
    uint8_t last, uint64_t now)
{
	struct rrbuf rr = {.len = 0};

	rb_a(&rr, 10, 0, 0, last);
	return put(c, owner, A, CACHE_RRSET, rank, ttl, &rr, NULL, now);
}

static int
put_cname(struct cache *c, const char *owner, const char *target, uint32_t ttl,
    uint64_t now)
{
	struct rrbuf rr = {.len = 0};

	rb_name(&rr, target);
	return put(c, owner, CNAME, CACHE_RRSET, CACHE_RANK_AUTH_ANSWER, ttl,
	    &rr, NULL, now);
}

static int
put_neg(struct cache *c, const char *owner, uint16_t type, uint8_t kind,
    const char *zone, uint32_t ttl, uint64_t now)
{
	struct rrbuf rr = {.len = 0};

	rb_soa(&rr, zone);
	return put(
	    c, owner, type, kind, CACHE_RANK_AUTH_ANSWER, ttl, &rr, zone, now);
}

static int
get(struct cache *c, const char *name, uint16_t type, uint64_t now,
    struct cache_rrset_out *o)
{
	static uint8_t buf[4096];

	return cache_get(c, N(name), type, IN, now, o, buf, sizeof(buf));
}

static struct cache *
mk(void)
{
	struct cache *c = cache_new(1 << 20, &pol);

	assert_non_null(c);
	return c;
}

/* A response with the question at offset 12: @return offset after it. */
static size_t
question(uint8_t *pkt, const char *qname, uint16_t qtype)
{
	size_t o = 12 + wire(pkt + 12, qname);

	pkt[o++] = (uint8_t)(qtype >> 8);
	pkt[o++] = (uint8_t)qtype;
	pkt[o++] = 0;
	pkt[o++] = IN;
	return o;
}

static int
answer(struct cache *c, const char *qname, uint16_t qtype, bool sigs,
    uint64_t now, uint8_t *out, size_t cap, size_t *len, struct cache_hit *hit)
{
	return cache_answer(c, N(qname), qtype, IN, sigs, false, LIM_MAX_CNAME,
	    now, out, cap, len, hit);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* Walk one RR at @p p: check owner (NULL: the C00C pointer), type and TTL;
 * @return the offset after it. */
static size_t
check_rr(const uint8_t *pkt, size_t off, const char *owner, uint16_t type,
    uint32_t ttl)
{
	const uint8_t *p = pkt + off;

	if (owner == NULL) {
		assert_int_equal(p[0], 0xc0);
		assert_int_equal(p[1], 0x0c);
		p += 2;
	} else {
		uint8_t w[256];
		size_t l = wire(w, owner);
		assert_memory_equal(p, w, l);
		p += l;
	}
	assert_int_equal(be16(p), type);
	assert_int_equal(be16(p + 2), IN);
	assert_int_equal(be32(p + 4), ttl);
	return (size_t)(p + 10 + be16(p + 8) - pkt);
}

/* Entries the cache holds (stale ones in the serve-stale window too). */
static uint64_t
stats_entries(struct cache *c)
{
	struct cache_stats st;

	cache_stats(c, &st);
	return st.entries;
}

/* -------------------------------------------------------------- tests */

static void
test_roundtrip(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;
	struct rrbuf rr = {.len = 0};
	struct cache_rrset_in in;
	uint8_t src[16] = {192, 0, 2, 1};

	(void)state;
	rb_a(&rr, 1, 2, 3, 4);
	rb_a(&rr, 5, 6, 7, 8);
	memset(&in, 0, sizeof(in));
	in.owner = N("www.example.com");
	in.type = A;
	in.rclass = IN;
	in.kind = CACHE_RRSET;
	in.rank = CACHE_RANK_AUTH_ANSWER;
	in.ttl = 300;
	in.nrr = rr.n;
	in.rdata = rr.rd;
	in.rdata_len = rr.len;
	memcpy(in.source, src, 16);
	in.source_family = 2;
	assert_int_equal(cache_store(c, &in, T0), 1);
	assert_int_equal(get(c, "www.example.com", A, T0 + 1000, &o), 1);
	assert_memory_equal(o.owner, N("www.example.com"), 17);
	assert_int_equal(o.type, A);
	assert_int_equal(o.rclass, IN);
	assert_int_equal(o.kind, CACHE_RRSET);
	assert_int_equal(o.rank, CACHE_RANK_AUTH_ANSWER);
	assert_int_equal(o.ttl, 299);
	assert_int_equal(o.orig_ttl, 300);
	assert_int_equal(o.stored_ms, T0);
	assert_int_equal(o.nrr, 2);
	assert_int_equal(o.rdata_len, rr.len);
	assert_memory_equal(o.rdata, rr.rd, rr.len);
	assert_int_equal(o.nsig, 0);
	assert_null(o.soa_owner);
	assert_memory_equal(o.source, src, 16);
	assert_int_equal(o.source_family, 2);
	/* other type, other class: nothing */
	assert_int_equal(get(c, "www.example.com", AAAA, T0, &o), 0);
	assert_int_equal(cache_get(c, N("www.example.com"), A, 3, T0, &o,
	                     (uint8_t[64]){0}, 64),
	    0);
	/* a buffer too small */
	assert_int_equal(cache_get(c, N("www.example.com"), A, IN, T0, &o,
	                     (uint8_t[8]){0}, 8),
	    -ENOSPC);
	cache_free(c);
	cache_free(NULL);
}

static void
test_case_insensitive(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;

	(void)state;
	assert_int_equal(
	    put_a(c, "WwW.ExAmPlE.CoM", CACHE_RANK_AUTH_ANSWER, 60, 1, T0), 1);
	assert_int_equal(get(c, "www.EXAMPLE.com", A, T0, &o), 1);
	assert_memory_equal(o.owner, N("www.example.com"), 17);
	/* same key: replaces */
	assert_int_equal(
	    put_a(c, "WWW.EXAMPLE.COM", CACHE_RANK_AUTH_ANSWER, 60, 2, T0), 1);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.replaced, 1);
	cache_free(c);
}

static void
test_ttl_boundary(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;

	(void)state;
	assert_int_equal(
	    put_a(c, "a.example", CACHE_RANK_AUTH_ANSWER, 5, 1, T0), 1);
	assert_int_equal(get(c, "a.example", A, T0 + 5000 - 1, &o), 1);
	assert_int_equal(o.ttl, 1);
	/* a reader whose clock lags the writer's by 3 ms: still 5, not 6 */
	assert_int_equal(get(c, "a.example", A, T0 - 3, &o), 1);
	assert_int_equal(o.ttl, 5);
	assert_int_equal(get(c, "a.example", A, T0 + 5000, &o), 0);
	struct cache_stats st;
	cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.expiries, 1);
	cache_free(c);
}

static void
test_ttl_ceil(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;

	(void)state;
	assert_int_equal(
	    put_a(c, "a.example", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(get(c, "a.example", A, T0, &o), 1);
	assert_int_equal(o.ttl, 300);
	assert_int_equal(get(c, "a.example", A, T0 + 1, &o), 1);
	assert_int_equal(o.ttl, 300); /* 299.999 -> 300 */
	assert_int_equal(get(c, "a.example", A, T0 + 1000, &o), 1);
	assert_int_equal(o.ttl, 299);
	assert_int_equal(get(c, "a.example", A, T0 + 1500, &o), 1);
	assert_int_equal(o.ttl, 299); /* 298.5 -> 299 */
	assert_int_equal(get(c, "a.example", A, T0 + 299001, &o), 1);
	assert_int_equal(o.ttl, 1);
	cache_free(c);
}

static void
test_clamps(void **state)
{
	struct cache_policy p = {
	    .min_ttl = 60, .max_ttl = 3600, .negative_ttl = 900};
	struct cache *c = cache_new(1 << 20, &p);
	struct cache_rrset_out o;

	(void)state;
	assert_int_equal(
	    put_a(c, "low.example", CACHE_RANK_AUTH_ANSWER, 5, 1, T0), 1);
	assert_int_equal(get(c, "low.example", A, T0, &o), 1);
	assert_int_equal(o.orig_ttl, 60);
	assert_int_equal(
	    put_a(c, "high.example", CACHE_RANK_AUTH_ANSWER, 604800, 1, T0), 1);
	assert_int_equal(get(c, "high.example", A, T0, &o), 1);
	assert_int_equal(o.orig_ttl, 3600);
	/* RFC 2181 8: top bit set is 0, raised to min_ttl */
	assert_int_equal(
	    put_a(c, "neg.example", CACHE_RANK_AUTH_ANSWER, 0x80000000u, 1, T0),
	    1);
	assert_int_equal(get(c, "neg.example", A, T0, &o), 1);
	assert_int_equal(o.orig_ttl, 60);
	/* negative: capped, not raised */
	assert_int_equal(
	    put_neg(c, "nx.example", 0, CACHE_NXDOMAIN, "example", 86400, T0),
	    1);
	assert_int_equal(get(c, "nx.example", 0, T0, &o), 1);
	assert_int_equal(o.orig_ttl, 900);
	assert_int_equal(
	    put_neg(c, "nd.example", MX, CACHE_NODATA, "example", 30, T0), 1);
	assert_int_equal(get(c, "nd.example", MX, T0, &o), 1);
	assert_int_equal(o.orig_ttl, 30);
	/* negative TTL 0: stored nothing, returns 0 */
	assert_int_equal(
	    put_neg(c, "nd0.example", MX, CACHE_NODATA, "example", 0, T0), 0);
	assert_int_equal(get(c, "nd0.example", MX, T0, &o), 0);
	/* new policy: min 0, positive TTL 0 is not stored */
	p.min_ttl = 0;
	cache_set_policy(c, &p);
	assert_int_equal(
	    put_a(c, "zero.example", CACHE_RANK_AUTH_ANSWER, 0, 1, T0), 0);
	assert_int_equal(get(c, "zero.example", A, T0, &o), 0);
	/* entries stored before keep their TTL */
	assert_int_equal(get(c, "low.example", A, T0, &o), 1);
	assert_int_equal(o.orig_ttl, 60);
	cache_free(c);
}

static void
test_rank_glue_keeps_auth(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;
	struct cache_stats st;

	(void)state;
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_GLUE, 300, 2, T0 + 10), 0);
	assert_int_equal(get(c, "ns1.example", A, T0 + 20, &o), 1);
	assert_int_equal(o.rank, CACHE_RANK_AUTH_ANSWER);
	assert_int_equal(o.rdata[5], 1);
	cache_stats(c, &st);
	assert_int_equal(st.kept, 1);
	assert_int_equal(st.stores, 1);
	cache_free(c);
}

static void
test_rank_auth_replaces_glue(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;

	(void)state;
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_GLUE, 300, 1, T0), 1);
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_AUTH_ANSWER, 100, 2, T0 + 10),
	    1);
	assert_int_equal(get(c, "ns1.example", A, T0 + 20, &o), 1);
	assert_int_equal(o.rank, CACHE_RANK_AUTH_ANSWER);
	assert_int_equal(o.rdata[5], 2);
	assert_int_equal(o.orig_ttl, 100);
	/* equal rank replaces too */
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_AUTH_ANSWER, 100, 3, T0 + 30),
	    1);
	assert_int_equal(get(c, "ns1.example", A, T0 + 40, &o), 1);
	assert_int_equal(o.rdata[5], 3);
	cache_free(c);
}

static void
test_rank_expired_replaced(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;

	(void)state;
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_AUTH_ANSWER, 10, 1, T0), 1);
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_GLUE, 300, 2, T0 + 10000), 1);
	assert_int_equal(get(c, "ns1.example", A, T0 + 10001, &o), 1);
	assert_int_equal(o.rank, CACHE_RANK_GLUE);
	assert_int_equal(o.rdata[5], 2);
	cache_free(c);
}

/* Prefetch: cache_answer says "refresh" for an entry asked in the last
 * tenth of its TTL, counted in ms (a 10 s TTL: its last second). */
static void
test_prefetch_due(void **state)
{
	struct cache *c = mk();
	struct cache_hit hit;
	uint8_t out[512];
	size_t len;

	(void)state;
	assert_int_equal(
	    put_a(c, "www.example", CACHE_RANK_AUTH_ANSWER, 10, 1, T0), 1);
	assert_int_equal(answer(c, "www.example", A, false, T0, out,
	                     sizeof(out), &len, &hit),
	    1);
	assert_false(hit.refresh);
	assert_int_equal(answer(c, "www.example", A, false, T0 + 9000, out,
	                     sizeof(out), &len, &hit),
	    1);
	assert_false(hit.refresh); /* exactly 10 % left: not yet */
	assert_int_equal(answer(c, "www.example", A, false, T0 + 9001, out,
	                     sizeof(out), &len, &hit),
	    1);
	assert_true(hit.refresh);
	/* a CNAME on the way counts too */
	assert_int_equal(
	    put_cname(c, "alias.example", "www.example", 100, T0 + 9001), 1);
	assert_int_equal(answer(c, "alias.example", A, false, T0 + 9500, out,
	                     sizeof(out), &len, &hit),
	    1);
	assert_true(hit.refresh);
	cache_free(c);
}

static int
stale_answer(struct cache *c, const char *qname, uint64_t now,
    enum cache_stale how, uint8_t *out, size_t *len, struct cache_hit *hit)
{
	const uint8_t *n = N(qname);

	return cache_answer_stale(c, n, dns_name_len(n, 255), A, IN, false,
	    LIM_MAX_CNAME, now, how, out, 512, len, hit);
}

/* Serve-stale (RFC 8767): expired entries are kept for the window, answered
 * only by cache_answer_stale with TTL 30: after a failure (which holds the
 * name for 30 s), then while held; the hold running out asks for one
 * refresh. Never a bogus entry, nothing past the window or with it 0. */
static void
test_serve_stale(void **state)
{
	struct cache_policy p = pol;
	struct cache *c;
	struct cache_hit hit;
	uint8_t out[512];
	size_t len;
	const uint64_t E = T0 + 10000; /* www's TTL ends */

	(void)state;
	p.serve_stale = 100;
	c = cache_new(1 << 20, &p);
	assert_non_null(c);
	assert_int_equal(
	    put_a(c, "www.example", CACHE_RANK_AUTH_ANSWER, 10, 1, T0), 1);
	/* live: the stale walk answers it as it is */
	assert_int_equal(stale_answer(c, "www.example", T0 + 1000,
	                     CACHE_STALE_AFTER_FAIL, out, &len, &hit),
	    1);
	assert_false(hit.stale);
	check_rr(out, 0, NULL, A, 9);
	/* expired: a miss for cache_answer, kept for the window */
	assert_int_equal(answer(c, "www.example", A, false, E + 1000, out,
	                     sizeof(out), &len, &hit),
	    0);
	assert_int_equal(stats_entries(c), 1);
	/* never failed: not answered stale while held ... */
	assert_int_equal(stale_answer(c, "www.example", E + 1000,
	                     CACHE_STALE_HELD, out, &len, &hit),
	    0);
	/* ... until a resolution failed */
	assert_int_equal(stale_answer(c, "www.example", E + 1000,
	                     CACHE_STALE_AFTER_FAIL, out, &len, &hit),
	    1);
	assert_true(hit.stale);
	assert_false(hit.secure);
	check_rr(out, 0, NULL, A, LIM_STALE_TTL);
	/* held for LIM_STALE_RETRY s: answered, no refresh */
	assert_int_equal(stale_answer(c, "www.example", E + 20000,
	                     CACHE_STALE_HELD, out, &len, &hit),
	    1);
	assert_true(hit.stale);
	assert_false(hit.refresh);
	/* the hold ran out: answered, one caller refreshes, held again */
	assert_int_equal(stale_answer(c, "www.example", E + 36000,
	                     CACHE_STALE_HELD, out, &len, &hit),
	    1);
	assert_true(hit.refresh);
	assert_int_equal(stale_answer(c, "www.example", E + 36001,
	                     CACHE_STALE_HELD, out, &len, &hit),
	    1);
	assert_false(hit.refresh);
	/* past the window: gone */
	assert_int_equal(stale_answer(c, "www.example", E + 100000,
	                     CACHE_STALE_AFTER_FAIL, out, &len, &hit),
	    0);
	assert_int_equal(stats_entries(c), 0);

	/* a fresh answer replaces a stale entry, whatever its rank */
	assert_int_equal(
	    put_a(c, "ns.example", CACHE_RANK_AUTH_ANSWER, 10, 1, T0), 1);
	assert_int_equal(
	    put_a(c, "ns.example", CACHE_RANK_GLUE, 300, 2, E + 5000), 1);
	assert_int_equal(stats_entries(c), 1);

	/* a bogus entry is never answered stale */
	struct rrbuf rr = {.len = 0};
	struct cache_rrset_in in;
	rb_a(&rr, 10, 0, 0, 3);
	memset(&in, 0, sizeof(in));
	in.owner = N("bad.example");
	in.type = A;
	in.rclass = IN;
	in.kind = CACHE_RRSET;
	in.rank = CACHE_RANK_AUTH_ANSWER;
	in.ttl = 10;
	in.nrr = rr.n;
	in.rdata = rr.rd;
	in.rdata_len = rr.len;
	in.sec = CACHE_SEC_BOGUS;
	assert_int_equal(cache_store(c, &in, T0), 1);
	assert_int_equal(stale_answer(c, "bad.example", E + 1000,
	                     CACHE_STALE_AFTER_FAIL, out, &len, &hit),
	    0);
	assert_int_equal(stale_answer(c, "bad.example", T0 + 1000,
	                     CACHE_STALE_AFTER_FAIL, out, &len, &hit),
	    0);

	/* serve_stale 0: expired entries go at once */
	p.serve_stale = 0;
	cache_set_policy(c, &p);
	assert_int_equal(
	    put_a(c, "x.example", CACHE_RANK_AUTH_ANSWER, 10, 1, T0), 1);
	assert_int_equal(stale_answer(c, "x.example", E + 1000,
	                     CACHE_STALE_AFTER_FAIL, out, &len, &hit),
	    0);
	cache_free(c);
}

static void
test_answer_direct(void **state)
{
	struct cache *c = mk();
	struct rrbuf rr = {.len = 0};
	uint8_t pkt[512];
	size_t q = question(pkt, "WWW.example.com", A), len = 0;
	struct cache_hit hit;
	static const uint8_t want[] = {
	    0xc0,
	    0x0c,
	    0,
	    1,
	    0,
	    1,
	    0,
	    0,
	    0x01,
	    0x22,
	    0,
	    4,
	    1,
	    2,
	    3,
	    4,
	    0xc0,
	    0x0c,
	    0,
	    1,
	    0,
	    1,
	    0,
	    0,
	    0x01,
	    0x22,
	    0,
	    4,
	    5,
	    6,
	    7,
	    8,
	};
	struct cache_stats st;
	struct cache_rrset_out o;

	(void)state;
	rb_a(&rr, 1, 2, 3, 4);
	rb_a(&rr, 5, 6, 7, 8);
	assert_int_equal(put(c, "www.example.com", A, CACHE_RRSET,
	                     CACHE_RANK_AUTH_ANSWER, 300, &rr, NULL, T0),
	    1);
	/* 289.5 s remain: 290 = 0x122 */
	assert_int_equal(cache_answer(c, pkt + 12, A, IN, false, false, 11,
	                     T0 + 10500, pkt + q, sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(pkt + q, want, sizeof(want));
	assert_int_equal(hit.ancount, 2);
	assert_int_equal(hit.nscount, 0);
	assert_int_equal(hit.rcode, 0);
	/* a miss */
	assert_int_equal(answer(c, "www.example.com", AAAA, false, T0, pkt + q,
	                     sizeof(pkt) - q, &len, &hit),
	    0);
	cache_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.misses, 1);
	assert_int_equal(get(c, "www.example.com", A, T0, &o), 1);
	assert_int_equal(o.hits, 1);
	cache_free(c);
}

static void
test_answer_cname_chain(void **state)
{
	struct cache *c = mk();
	uint8_t pkt[512];
	size_t q = question(pkt, "www.example.com", A), len = 0, off;
	struct cache_hit hit;

	(void)state;
	assert_int_equal(
	    put_cname(c, "www.example.com", "web.Example.NET", 600, T0), 1);
	assert_int_equal(
	    put_cname(c, "web.example.net", "lb.cdn.example", 60, T0), 1);
	assert_int_equal(
	    put_a(c, "lb.cdn.example", CACHE_RANK_AUTH_ANSWER, 20, 7, T0), 1);
	assert_int_equal(answer(c, "www.example.com", A, false, T0 + 2000,
	                     pkt + q, sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(hit.ancount, 3);
	assert_int_equal(hit.nscount, 0);
	assert_int_equal(hit.rcode, 0);
	off = check_rr(pkt, q, NULL, CNAME, 598);
	/* the CNAME rdata is as stored (case kept) */
	assert_memory_equal(pkt + off - 17, N("web.Example.NET"), 17);
	off = check_rr(pkt, off, "web.example.net", CNAME, 58);
	off = check_rr(pkt, off, "lb.cdn.example", A, 18);
	assert_int_equal(pkt[off - 1], 7);
	assert_int_equal(off - q, len);
	/* a chain longer than max_cname is a miss */
	assert_int_equal(
	    cache_answer(c, N("www.example.com"), A, IN, false, false, 1, T0,
	        pkt + q, sizeof(pkt) - q, &len, &hit),
	    0);
	assert_int_equal(
	    cache_answer(c, N("www.example.com"), A, IN, false, false, 2, T0,
	        pkt + q, sizeof(pkt) - q, &len, &hit),
	    1);
	/* the same with the name's length given: right length hits, a
	 * length that does not end on the root label is refused */
	assert_int_equal(
	    cache_answer_n(c, N("www.example.com"), 17, A, IN, false, false, 2,
	        T0, pkt + q, sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(
	    cache_answer_n(c, N("www.example.com"), 16, A, IN, false, false, 2,
	        T0, pkt + q, sizeof(pkt) - q, &len, &hit),
	    0);
	assert_int_equal(
	    cache_answer_n(c, N("www.example.com"), 0, A, IN, false, false, 2,
	        T0, pkt + q, sizeof(pkt) - q, &len, &hit),
	    0);
	/* asking for the CNAME itself does not follow */
	assert_int_equal(answer(c, "www.example.com", CNAME, false, T0, pkt + q,
	                     sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(hit.ancount, 1);
	cache_free(c);
}

static void
test_answer_chain_missing_link(void **state)
{
	struct cache *c = mk();
	uint8_t out[512];
	size_t len = 0;
	struct cache_hit hit;

	(void)state;
	assert_int_equal(put_cname(c, "a.example", "b.example", 600, T0), 1);
	assert_int_equal(put_cname(c, "b.example", "c.example", 600, T0), 1);
	assert_int_equal(
	    answer(c, "a.example", A, false, T0, out, sizeof(out), &len, &hit),
	    0);
	/* the link expires: miss again */
	assert_int_equal(
	    put_a(c, "c.example", CACHE_RANK_AUTH_ANSWER, 600, 1, T0), 1);
	assert_int_equal(
	    answer(c, "a.example", A, false, T0, out, sizeof(out), &len, &hit),
	    1);
	assert_int_equal(put_cname(c, "b.example", "c.example", 1, T0 + 1), 1);
	assert_int_equal(answer(c, "a.example", A, false, T0 + 1001, out,
	                     sizeof(out), &len, &hit),
	    0);
	cache_free(c);
}

static void
test_answer_cname_loop(void **state)
{
	struct cache *c = mk();
	uint8_t out[4096];
	size_t len = 0;
	struct cache_hit hit;

	(void)state;
	assert_int_equal(put_cname(c, "a.example", "b.example", 600, T0), 1);
	assert_int_equal(put_cname(c, "b.example", "a.example", 600, T0), 1);
	assert_int_equal(
	    answer(c, "a.example", A, false, T0, out, sizeof(out), &len, &hit),
	    0);
	assert_int_equal(
	    put_cname(c, "self.example", "SELF.example", 600, T0), 1);
	assert_int_equal(answer(c, "self.example", A, false, T0, out,
	                     sizeof(out), &len, &hit),
	    0);
	cache_free(c);
}

static void
test_answer_nxdomain(void **state)
{
	struct cache *c = mk();
	uint8_t pkt[512];
	size_t q = question(pkt, "www.example.com", A), len = 0, off;
	struct cache_hit hit;

	(void)state;
	assert_int_equal(
	    put_cname(c, "www.example.com", "gone.example.net", 600, T0), 1);
	assert_int_equal(put_neg(c, "gone.example.net", 0, CACHE_NXDOMAIN,
	                     "example.net", 100, T0),
	    1);
	assert_int_equal(answer(c, "www.example.com", A, false, T0 + 50000,
	                     pkt + q, sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(hit.rcode, 3);
	assert_int_equal(hit.ancount, 1);
	assert_int_equal(hit.nscount, 1);
	off = check_rr(pkt, q, NULL, CNAME, 550);
	off = check_rr(pkt, off, "example.net", SOA, 50);
	assert_int_equal(off - q, len);
	/* the name itself, any type */
	assert_int_equal(answer(c, "gone.example.net", MX, false, T0, pkt + q,
	                     sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(hit.rcode, 3);
	assert_int_equal(hit.ancount, 0);
	assert_int_equal(hit.nscount, 1);
	cache_free(c);
}

static void
test_answer_nodata(void **state)
{
	struct cache *c = mk();
	uint8_t pkt[512];
	size_t q = question(pkt, "example.org", MX), len = 0, off;
	struct cache_hit hit;

	(void)state;
	assert_int_equal(
	    put_neg(c, "example.org", MX, CACHE_NODATA, "example.org", 100, T0),
	    1);
	assert_int_equal(answer(c, "example.org", MX, false, T0, pkt + q,
	                     sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(hit.rcode, 0);
	assert_int_equal(hit.ancount, 0);
	assert_int_equal(hit.nscount, 1);
	/* the SOA owner is the question name: compressed */
	off = check_rr(pkt, q, NULL, SOA, 100);
	assert_int_equal(off - q, len);
	/* other types: miss */
	assert_int_equal(answer(c, "example.org", A, false, T0, pkt + q,
	                     sizeof(pkt) - q, &len, &hit),
	    0);
	/* a positive RRset of the same key replaces the NODATA */
	assert_int_equal(
	    put_a(c, "example.org", CACHE_RANK_AUTH_ANSWER, 60, 1, T0), 1);
	struct rrbuf mx = {.len = 0};
	uint8_t rd[64];
	rd[0] = 0;
	rd[1] = 10;
	size_t l = 2 + wire(rd + 2, "mail.example.org");
	mx.len = add_rd(mx.rd, 0, rd, l);
	mx.n = 1;
	assert_int_equal(put(c, "example.org", MX, CACHE_RRSET,
	                     CACHE_RANK_AUTH_ANSWER, 60, &mx, NULL, T0),
	    1);
	assert_int_equal(answer(c, "example.org", MX, false, T0, pkt + q,
	                     sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(hit.ancount, 1);
	assert_int_equal(hit.nscount, 0);
	cache_free(c);
}

static void
test_answer_rank_filter(void **state)
{
	struct cache *c = mk();
	struct rrbuf ns = {.len = 0};
	uint8_t out[512];
	size_t len = 0;
	struct cache_hit hit;
	struct cache_rrset_out o;

	(void)state;
	rb_name(&ns, "ns1.example");
	assert_int_equal(put(c, "example", NS, CACHE_RRSET, CACHE_RANK_REFERRAL,
	                     3600, &ns, NULL, T0),
	    1);
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_GLUE, 3600, 1, T0), 1);
	assert_int_equal(
	    answer(c, "example", NS, false, T0, out, sizeof(out), &len, &hit),
	    0);
	assert_int_equal(answer(c, "ns1.example", A, false, T0, out,
	                     sizeof(out), &len, &hit),
	    0);
	/* ... but the iterator sees them */
	assert_int_equal(get(c, "example", NS, T0, &o), 1);
	assert_int_equal(get(c, "ns1.example", A, T0, &o), 1);
	/* a glue CNAME is not followed either */
	struct rrbuf cn = {.len = 0};
	rb_name(&cn, "ns1.example");
	assert_int_equal(put(c, "alias.example", CNAME, CACHE_RRSET,
	                     CACHE_RANK_GLUE, 3600, &cn, NULL, T0),
	    1);
	assert_int_equal(
	    put_a(c, "ns1.example", CACHE_RANK_AUTH_ANSWER, 3600, 1, T0), 1);
	assert_int_equal(answer(c, "alias.example", A, false, T0, out,
	                     sizeof(out), &len, &hit),
	    0);
	assert_int_equal(answer(c, "ns1.example", A, false, T0, out,
	                     sizeof(out), &len, &hit),
	    1);
	cache_free(c);
}

static void
test_answer_enospc(void **state)
{
	struct cache *c = mk();
	struct rrbuf rr = {.len = 0};
	uint8_t out[512];
	size_t len = 12345;
	struct cache_hit hit;

	(void)state;
	for (int i = 0; i < 10; i++)
		rb_a(&rr, 10, 0, 0, (uint8_t)i);
	assert_int_equal(put(c, "big.example", A, CACHE_RRSET,
	                     CACHE_RANK_AUTH_ANSWER, 300, &rr, NULL, T0),
	    1);
	/* 10 records of 16 bytes */
	assert_int_equal(
	    answer(c, "big.example", A, false, T0, out, 159, &len, &hit),
	    -ENOSPC);
	assert_int_equal(
	    answer(c, "big.example", A, false, T0, out, 160, &len, &hit), 1);
	assert_int_equal(len, 160);
	/* a chain whose first link already does not fit */
	assert_int_equal(
	    put_cname(c, "alias.example", "big.example", 300, T0), 1);
	assert_int_equal(
	    answer(c, "alias.example", A, false, T0, out, 10, &len, &hit),
	    -ENOSPC);
	/* ... while a miss stays a miss even with no room */
	assert_int_equal(
	    put_cname(c, "dangling.example", "nowhere.example", 300, T0), 1);
	assert_int_equal(
	    answer(c, "dangling.example", A, false, T0, out, 10, &len, &hit),
	    0);
	cache_free(c);
}

static void
test_answer_sigs(void **state)
{
	struct cache *c = mk();
	struct rrbuf rr = {.len = 0}, sig = {.len = 0};
	struct cache_rrset_in in;
	uint8_t pkt[1024], fake[40];
	size_t q = question(pkt, "signed.example", A), len = 0, off;
	struct cache_hit hit;

	(void)state;
	rb_a(&rr, 1, 1, 1, 1);
	memset(fake, 0xab, sizeof(fake));
	sig.len = add_rd(sig.rd, 0, fake, sizeof(fake));
	sig.len = add_rd(sig.rd, sig.len, fake, 20);
	memset(&in, 0, sizeof(in));
	in.owner = N("signed.example");
	in.type = A;
	in.rclass = IN;
	in.kind = CACHE_RRSET;
	in.rank = CACHE_RANK_AUTH_ANSWER;
	in.ttl = 100;
	in.nrr = rr.n;
	in.rdata = rr.rd;
	in.rdata_len = rr.len;
	in.nsig = 2;
	in.sigs = sig.rd;
	in.sigs_len = sig.len;
	assert_int_equal(cache_store(c, &in, T0), 1);
	assert_int_equal(answer(c, "signed.example", A, true, T0, pkt + q,
	                     sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(hit.ancount, 3);
	off = check_rr(pkt, q, NULL, A, 100);
	off = check_rr(pkt, off, NULL, RRSIG, 100);
	assert_int_equal(be16(pkt + off - 42), 40);
	assert_memory_equal(pkt + off - 40, fake, 40);
	off = check_rr(pkt, off, NULL, RRSIG, 100);
	assert_int_equal(off - q, len);
	/* without DO: only the A */
	assert_int_equal(answer(c, "signed.example", A, false, T0, pkt + q,
	                     sizeof(pkt) - q, &len, &hit),
	    1);
	assert_int_equal(hit.ancount, 1);
	assert_int_equal(len, 16);
	cache_free(c);
}

static void
test_positive_removes_nxdomain(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;

	(void)state;
	assert_int_equal(
	    put_neg(c, "new.example", 0, CACHE_NXDOMAIN, "example", 300, T0),
	    1);
	/* referral-rank data does not prove the name exists */
	assert_int_equal(
	    put_a(c, "new.example", CACHE_RANK_GLUE, 300, 1, T0), 1);
	assert_int_equal(get(c, "new.example", 0, T0, &o), 1);
	assert_int_equal(
	    put_a(c, "new.example", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(get(c, "new.example", 0, T0, &o), 0);
	assert_int_equal(get(c, "new.example", A, T0, &o), 1);
	cache_free(c);
}

static void
test_flush_name(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;
	struct rrbuf rr = {.len = 0};

	(void)state;
	rb_a(&rr, 1, 2, 3, 4);
	assert_int_equal(
	    put_a(c, "x.example", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(put(c, "x.example", AAAA, CACHE_RRSET,
	                     CACHE_RANK_AUTH_ANSWER, 300, &rr, NULL, T0),
	    1);
	assert_int_equal(
	    put_neg(c, "x.example", MX, CACHE_NODATA, "example", 300, T0), 1);
	assert_int_equal(
	    put_neg(c, "x.example", 0, CACHE_NXDOMAIN, "example", 300, T0), 1);
	assert_int_equal(
	    put_a(c, "y.example", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(cache_flush_name(c, N("X.example"), AAAA), 1);
	assert_int_equal(get(c, "x.example", AAAA, T0, &o), 0);
	assert_int_equal(get(c, "x.example", A, T0, &o), 1);
	assert_int_equal(cache_flush_name(c, N("x.example"), 0), 3);
	assert_int_equal(get(c, "x.example", A, T0, &o), 0);
	assert_int_equal(get(c, "x.example", MX, T0, &o), 0);
	assert_int_equal(get(c, "x.example", 0, T0, &o), 0);
	assert_int_equal(get(c, "y.example", A, T0, &o), 1);
	assert_int_equal(cache_flush_name(c, N("none.example"), 0), 0);
	cache_free(c);
}

static void
test_flush_zone(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;

	(void)state;
	const char *below[] = {"example.com", "www.example.com",
	    "a.b.example.com", "WWW.EXAMPLE.COM"};
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    put_a(c, below[i], CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(
	    put_a(c, "com", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(
	    put_a(c, "example.net", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(
	    put_a(c, "otherexample.com", CACHE_RANK_AUTH_ANSWER, 300, 1, T0),
	    1);
	assert_int_equal(
	    put_a(c, "xample.com", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(cache_flush_zone(c, N("Example.COM")), 3);
	for (int i = 0; i < 4; i++)
		assert_int_equal(get(c, below[i], A, T0, &o), 0);
	assert_int_equal(get(c, "com", A, T0, &o), 1);
	assert_int_equal(get(c, "example.net", A, T0, &o), 1);
	assert_int_equal(get(c, "otherexample.com", A, T0, &o), 1);
	assert_int_equal(get(c, "xample.com", A, T0, &o), 1);
	/* the root zone is everything */
	assert_int_equal(cache_flush_zone(c, N("")), 4);
	cache_free(c);
}

static void
test_flush_negative_and_all(void **state)
{
	struct cache *c = mk();
	struct cache_rrset_out o;
	struct cache_stats st;

	(void)state;
	assert_int_equal(
	    put_a(c, "a.example", CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	assert_int_equal(
	    put_neg(c, "b.example", 0, CACHE_NXDOMAIN, "example", 300, T0), 1);
	assert_int_equal(
	    put_neg(c, "c.example", A, CACHE_NODATA, "example", 300, T0), 1);
	assert_int_equal(cache_flush_negative(c), 2);
	assert_int_equal(get(c, "a.example", A, T0, &o), 1);
	assert_int_equal(get(c, "b.example", 0, T0, &o), 0);
	assert_int_equal(get(c, "c.example", A, T0, &o), 0);
	for (int i = 0; i < 100; i++) {
		char n[32];
		snprintf(n, sizeof(n), "h%d.example", i);
		assert_int_equal(
		    put_a(c, n, CACHE_RANK_AUTH_ANSWER, 300, 1, T0), 1);
	}
	assert_int_equal(cache_flush_all(c), 101);
	cache_stats(c, &st);
	assert_int_equal(st.entries, 0);
	/* only the (empty) bucket arrays remain */
	assert_true(st.bytes < 64 * 1024);
	cache_free(c);
}

static int
count_cb(const struct cache_rrset_out *e, void *arg)
{
	unsigned *n = arg;

	assert_true(e->ttl >= 1);
	(*n)++;
	return 0;
}

static void
test_entry_bound(void **state)
{
	struct cache_policy small = pol;
	struct cache_stats st;
	struct cache_rrset_out o;
	char n[64];

	(void)state;
	small.max_entries = 150; /* the dnsmasq "router" profile */
	struct cache *c = cache_new(64u << 20, &small);
	assert_non_null(c);
	for (int i = 0; i < 2000; i++) {
		snprintf(n, sizeof(n), "host%d.example.com", i);
		assert_int_equal(put_a(c, n, CACHE_RANK_AUTH_ANSWER, 3600,
		                     (uint8_t)i, T0 + (uint64_t)i),
		    1);
		cache_stats(c, &st);
		/* per-shard LRU: at most one shard's rounding over the bound */
		assert_true(st.entries <= 150 + 16);
	}
	assert_true(st.entries >= 100);
	assert_true(st.evictions >= 2000 - 166);
	snprintf(n, sizeof(n), "host%d.example.com", 1999);
	assert_int_equal(get(c, n, A, T0 + 2000, &o), 1);
	assert_int_equal(get(c, "host0.example.com", A, T0 + 2000, &o), 0);
	/* a reload lowers the bound for later stores */
	small.max_entries = 20;
	cache_set_policy(c, &small);
	for (int i = 0; i < 100; i++) {
		snprintf(n, sizeof(n), "new%d.example.com", i);
		put_a(c, n, CACHE_RANK_AUTH_ANSWER, 3600, 1, T0 + 3000);
	}
	cache_stats(c, &st);
	assert_true(st.entries <= 150 + 16);
	cache_free(c);
}

static void
test_size_bound(void **state)
{
	const uint64_t max = 64 * 1024;
	struct cache *c = cache_new(max, &pol);
	struct cache_stats st;
	struct cache_rrset_out o;
	char n[64];
	unsigned live = 0;

	(void)state;
	assert_non_null(c);
	for (int i = 0; i < 10000; i++) {
		snprintf(n, sizeof(n), "host%d.example.com", i);
		assert_int_equal(put_a(c, n, CACHE_RANK_AUTH_ANSWER, 3600,
		                     (uint8_t)i, T0 + (uint64_t)i),
		    1);
		cache_stats(c, &st);
		assert_true(st.bytes <= max);
	}
	assert_true(st.evictions > 0);
	assert_true(st.entries > 100);
	assert_int_equal(st.max_bytes, max);
	assert_int_equal(st.entries + st.evictions, 10000);
	/* the most recent survive */
	for (int i = 9990; i < 10000; i++) {
		snprintf(n, sizeof(n), "host%d.example.com", i);
		assert_int_equal(get(c, n, A, T0 + 10000, &o), 1);
	}
	assert_int_equal(get(c, "host0.example.com", A, T0 + 10000, &o), 0);
	cache_foreach(c, T0 + 10000, count_cb, &live);
	assert_int_equal(live, st.entries);
	/* an RRset larger than a shard's budget */
	uint8_t blob[1000];
	static uint8_t huge[40 * 1024];
	memset(blob, 1, sizeof(blob));
	size_t hl = 0;
	for (int i = 0; i < 40; i++)
		hl = add_rd(huge, hl, blob, 1000 - 2);
	struct cache_rrset_in in;
	memset(&in, 0, sizeof(in));
	in.owner = N("huge.example");
	in.type = 16;
	in.rclass = IN;
	in.kind = CACHE_RRSET;
	in.rank = CACHE_RANK_AUTH_ANSWER;
	in.ttl = 300;
	in.nrr = 40;
	in.rdata = huge;
	in.rdata_len = hl;
	assert_int_equal(cache_store(c, &in, T0), -E2BIG);
	cache_stats(c, &st);
	assert_true(st.bytes <= max);
	cache_free(c);
}

static void
test_lru_touch(void **state)
{
	const uint64_t max = 64 * 1024;
	struct cache *c = cache_new(max, &pol);
	struct cache_rrset_out o;
	char n[64];

	(void)state;
	for (int i = 0; i < 100; i++) {
		snprintf(n, sizeof(n), "keep%d.example", i);
		assert_int_equal(
		    put_a(c, n, CACHE_RANK_AUTH_ANSWER, 3600, 1, T0), 1);
	}
	/* keep them hot while filling the cache many times over */
	for (int i = 0; i < 5000; i++) {
		snprintf(n, sizeof(n), "fill%d.example", i);
		assert_int_equal(
		    put_a(c, n, CACHE_RANK_AUTH_ANSWER, 3600, 1, T0), 1);
		snprintf(n, sizeof(n), "keep%d.example", i % 100);
		assert_int_equal(get(c, n, A, T0, &o), 1);
	}
	cache_free(c);
}

static void
test_malformed(void **state)
{
	struct cache *c = mk();
	struct rrbuf rr = {.len = 0}, soa = {.len = 0};
	struct cache_rrset_in in, base;
	uint8_t bad[400];

	(void)state;
	rb_a(&rr, 1, 2, 3, 4);
	rb_soa(&soa, "example");
	memset(&base, 0, sizeof(base));
	base.owner = N("ok.example");
	base.type = A;
	base.rclass = IN;
	base.kind = CACHE_RRSET;
	base.rank = CACHE_RANK_AUTH_ANSWER;
	base.ttl = 300;
	base.nrr = rr.n;
	base.rdata = rr.rd;
	base.rdata_len = rr.len;
	in = base;
	assert_int_equal(cache_store(c, &in, T0), 1);

	/* owner: label > 63, compression pointer, too long, unterminated */
	memset(bad, 'a', sizeof(bad));
	bad[0] = 64;
	bad[65] = 0;
	in = base;
	in.owner = bad;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	bad[0] = 0xc0;
	bad[1] = 0x0c;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	for (int i = 0; i < 5; i++)
		bad[i * 64] = 63;
	bad[5 * 64] = 0; /* 321 bytes > 255 */
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in.owner = NULL;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	/* rdata: short, trailing bytes, wrong count, none */
	in = base;
	in.rdata_len = rr.len - 1;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in = base;
	uint8_t longer[16];
	memcpy(longer, rr.rd, rr.len);
	longer[rr.len] = 0;
	in.rdata = longer;
	in.rdata_len = rr.len + 1;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in = base;
	in.nrr = 2;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in.nrr = 0;
	in.rdata_len = 0;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	/* sigs: count mismatch */
	in = base;
	in.nsig = 1;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	/* kind, rank, type 0 */
	in = base;
	in.kind = 7;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in = base;
	in.rank = 0;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in.rank = 9;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in = base;
	in.type = 0;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	/* CNAME: two targets, target not filling the rdata */
	struct rrbuf cn = {.len = 0};
	rb_name(&cn, "a.example");
	rb_name(&cn, "b.example");
	in = base;
	in.type = CNAME;
	in.nrr = cn.n;
	in.rdata = cn.rd;
	in.rdata_len = cn.len;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in.rdata = rr.rd; /* 4 bytes of address as a name */
	in.rdata_len = rr.len;
	in.nrr = 1;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	/* negative kinds: need soa_owner, nrr 1 and a real SOA */
	in = base;
	in.kind = CACHE_NXDOMAIN;
	in.type = 0;
	in.nrr = soa.n;
	in.rdata = soa.rd;
	in.rdata_len = soa.len;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL); /* no owner */
	in.soa_owner = N("example");
	assert_int_equal(cache_store(c, &in, T0), 1);
	in.type = A; /* NXDOMAIN keys have type 0 */
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in.type = 0;
	in.kind = CACHE_NODATA; /* NODATA needs a type */
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	in.kind = CACHE_NXDOMAIN;
	in.rdata = rr.rd; /* not an SOA */
	in.rdata_len = rr.len;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	struct rrbuf two = {.len = 0};
	rb_soa(&two, "example");
	rb_soa(&two, "example");
	in.rdata = two.rd;
	in.rdata_len = two.len;
	in.nrr = 2;
	assert_int_equal(cache_store(c, &in, T0), -EINVAL);
	/* lookups with a malformed name: nothing */
	struct cache_rrset_out o;
	uint8_t buf[256], out[64];
	size_t len;
	struct cache_hit hit;
	bad[0] = 0xc0;
	assert_int_equal(cache_get(c, bad, A, IN, T0, &o, buf, sizeof(buf)), 0);
	assert_int_equal(cache_answer(c, bad, A, IN, false, false, 11, T0, out,
	                     sizeof(out), &len, &hit),
	    0);
	assert_int_equal(cache_flush_name(c, bad, 0), 0);
	assert_int_equal(cache_store(NULL, &base, T0), -EINVAL);
	assert_int_equal(cache_store(c, NULL, T0), -EINVAL);
	cache_free(c);
}

static int
collect_cb(const struct cache_rrset_out *e, void *arg)
{
	unsigned *mask = arg;

	*mask |= 1u << (e->owner[1] - 'a');
	return 0;
}

static int
stop_cb(const struct cache_rrset_out *e, void *arg)
{
	(void)e;
	(*(unsigned *)arg)++;
	return 42;
}

static void
test_foreach(void **state)
{
	struct cache *c = mk();
	unsigned mask = 0, n = 0;
	struct cache_stats st;

	(void)state;
	assert_int_equal(
	    put_a(c, "a.example", CACHE_RANK_AUTH_ANSWER, 10, 1, T0), 1);
	assert_int_equal(
	    put_a(c, "b.example", CACHE_RANK_AUTH_ANSWER, 100, 1, T0), 1);
	assert_int_equal(
	    put_neg(c, "c.example", 0, CACHE_NXDOMAIN, "example", 100, T0), 1);
	assert_int_equal(put_a(c, "d.example", CACHE_RANK_GLUE, 5, 1, T0), 1);
	assert_int_equal(cache_foreach(c, T0, collect_cb, &mask), 0);
	assert_int_equal(mask, 0xf);
	mask = 0;
	assert_int_equal(cache_foreach(c, T0 + 10000, collect_cb, &mask), 0);
	assert_int_equal(mask, 0x6);
	cache_stats(c, &st);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.expiries, 2);
	assert_int_equal(cache_foreach(c, T0, stop_cb, &n), 42);
	assert_int_equal(n, 1);
	cache_free(c);
}

static void
test_names(void **state)
{
	uint8_t buf[300];

	(void)state;
	assert_int_equal(dns_name_len(N("www.example.com"), 255), 17);
	assert_int_equal(dns_name_len(N(""), 255), 1);
	assert_int_equal(dns_name_len(N("www.example.com"), 16), 0);
	assert_int_equal(dns_name_len(NULL, 255), 0);
	/* exactly 255 is fine, 256 is not */
	memset(buf, 'a', sizeof(buf));
	for (int i = 0; i < 4; i++)
		buf[i * 64] = 63; /* 4 * 64 = 256 */
	buf[4 * 64] = 0;
	assert_int_equal(dns_name_len(buf, 300), 0);
	buf[3 * 64] = 61;
	buf[3 * 64 + 62] = 0; /* 192 + 62 + 1 = 255 */
	assert_int_equal(dns_name_len(buf, 300), 255);
	assert_true(dns_name_eq(N("WWW.Example.COM"), N("www.example.com")));
	assert_false(dns_name_eq(N("www.example.com"), N("www.example.co")));
	assert_false(dns_name_eq(N("ab.c"), N("a.bc")));
	assert_int_equal(dns_name_lower(buf, N("WwW.ExAmPlE")), 13);
	assert_memory_equal(buf, N("www.example"), 13);
	assert_true(dns_name_under(N("a.B.example"), N("example")));
	assert_true(dns_name_under(N("example"), N("EXAMPLE")));
	assert_true(dns_name_under(N("example"), N("")));
	assert_false(dns_name_under(N("example"), N("a.example")));
	assert_false(dns_name_under(N("notexample"), N("example")));
}

/* Several threads storing, answering and flushing at once: run under TSan
 * or ASan to be meaningful; here it checks nothing breaks. */
struct thr {
	struct cache *c;
	int id;
};

static void *
thread_main(void *arg)
{
	struct thr *t = arg;
	char n[64];
	uint8_t w[256], out[512];
	struct cache_hit hit;
	size_t len;

	for (int i = 0; i < 20000; i++) {
		struct rrbuf rr = {.len = 0};
		struct cache_rrset_in in;
		snprintf(n, sizeof(n), "h%d.t%d.example", i % 500, t->id % 2);
		wire(w, n);
		rb_a(&rr, 1, 2, 3, 4);
		memset(&in, 0, sizeof(in));
		in.owner = w;
		in.type = A;
		in.rclass = IN;
		in.kind = CACHE_RRSET;
		in.rank = CACHE_RANK_AUTH_ANSWER;
		in.ttl = 1 + (uint32_t)(i % 3);
		in.nrr = 1;
		in.rdata = rr.rd;
		in.rdata_len = rr.len;
		uint64_t now = T0 + (uint64_t)i * 10;
		if (cache_store(t->c, &in, now) < 0)
			return (void *)1;
		if (cache_answer(t->c, w, A, IN, false, false, 11, now, out,
		        sizeof(out), &len, &hit) < 0)
			return (void *)1;
		if (i % 5000 == 0)
			cache_flush_zone(t->c, N("t0.example"));
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct cache *c = cache_new(256 * 1024, &pol);
	pthread_t th[4];
	struct thr t[4];
	struct cache_stats st;

	(void)state;
	for (int i = 0; i < 4; i++) {
		t[i].c = c;
		t[i].id = i;
		assert_int_equal(
		    pthread_create(&th[i], NULL, thread_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		assert_null(rv);
	}
	cache_stats(c, &st);
	assert_true(st.bytes <= st.max_bytes);
	assert_int_equal(st.hits + st.misses, 80000);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_case_insensitive),
	    cmocka_unit_test(test_ttl_boundary),
	    cmocka_unit_test(test_ttl_ceil),
	    cmocka_unit_test(test_clamps),
	    cmocka_unit_test(test_rank_glue_keeps_auth),
	    cmocka_unit_test(test_rank_auth_replaces_glue),
	    cmocka_unit_test(test_rank_expired_replaced),
	    cmocka_unit_test(test_answer_direct),
	    cmocka_unit_test(test_prefetch_due),
	    cmocka_unit_test(test_serve_stale),
	    cmocka_unit_test(test_answer_cname_chain),
	    cmocka_unit_test(test_answer_chain_missing_link),
	    cmocka_unit_test(test_answer_cname_loop),
	    cmocka_unit_test(test_answer_nxdomain),
	    cmocka_unit_test(test_answer_nodata),
	    cmocka_unit_test(test_answer_rank_filter),
	    cmocka_unit_test(test_answer_enospc),
	    cmocka_unit_test(test_answer_sigs),
	    cmocka_unit_test(test_positive_removes_nxdomain),
	    cmocka_unit_test(test_flush_name),
	    cmocka_unit_test(test_flush_zone),
	    cmocka_unit_test(test_flush_negative_and_all),
	    cmocka_unit_test(test_size_bound),
	    cmocka_unit_test(test_entry_bound),
	    cmocka_unit_test(test_lru_touch),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_foreach),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
