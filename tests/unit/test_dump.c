/*
 * test_dump.c: unit tests of resolver/dump.c: an entry rendered as text and
 * loaded back is the same entry; JSON lines; bad lines are reported with
 * their number and skipped; expired entries are skipped. Time is a
 * parameter.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "cache/cache.h"
#include "resolver/dump.h"

#define T0 1700000000000ULL

static const uint8_t n_www[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p',
    'l', 'e', 3, 'c', 'o', 'm', 0};
static const uint8_t n_ex[] = {
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
static const uint8_t n_nope[] = {4, 'n', 'o', 'p', 'e', 7, 'e', 'x', 'a', 'm',
    'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
static const uint8_t n_com[] = {3, 'c', 'o', 'm', 0};
static const uint8_t n_txt[] = {3, 't', 'x', 't', 7, 'e', 'x', 'a', 'm', 'p',
    'l', 'e', 3, 'c', 'o', 'm', 0};

/* two A records: 192.0.2.1, 192.0.2.2 */
static const uint8_t rd_a[] = {0, 4, 192, 0, 2, 1, 0, 4, 192, 0, 2, 2};
/* NS a.gtld. */
static const uint8_t rd_ns[] = {0, 8, 1, 'a', 4, 'g', 't', 'l', 'd', 0};
/* TXT with a quote, a semicolon and a tab */
static const uint8_t rd_txt[] = {
    0, 12, 11, 'a', '"', 'b', ';', ' ', 'k', 'i', 'n', 'd', '=', '\t'};

/* SOA ns1.example.com. h.example.com. 1 7200 3600 1209600 300 */
static size_t
soa_rdata(uint8_t *out)
{
	static const uint8_t tail[] = {0, 0, 0, 1, 0, 0, 0x1c, 0x20, 0, 0, 0x0e,
	    0x10, 0, 0x12, 0x75, 0, 0, 0, 1, 0x2c};
	uint8_t *p = out + 2;

	memcpy(p, "\3ns1\7example\3com", 16);
	p += 16;
	*p++ = 0;
	memcpy(p, "\1h\7example\3com", 14);
	p += 14;
	*p++ = 0;
	memcpy(p, tail, sizeof(tail));
	p += sizeof(tail);
	out[0] = 0;
	out[1] = (uint8_t)(p - out - 2);
	return (size_t)(p - out);
}

static void
store(struct cache *c, const uint8_t *owner, uint16_t type, uint8_t kind,
    uint8_t rank, uint32_t ttl, const uint8_t *rd, size_t rdlen, uint16_t nrr,
    const uint8_t *soa_owner, uint64_t now)
{
	struct cache_rrset_in in = {
	    .owner = owner,
	    .type = type,
	    .rclass = 1,
	    .kind = kind,
	    .rank = rank,
	    .ttl = ttl,
	    .nrr = nrr,
	    .rdata = rd,
	    .rdata_len = rdlen,
	    .soa_owner = soa_owner,
	    .source = {127, 53, 10, 1},
	    .source_family = AF_INET,
	};

	assert_int_equal(cache_store(c, &in, now), 1);
}

static struct cache *
filled(void)
{
	struct cache *c = cache_new(1 << 20,
	    &(struct cache_policy){.max_ttl = 86400, .negative_ttl = 3600});
	uint8_t soa[128];
	size_t soalen = soa_rdata(soa);

	assert_non_null(c);
	store(c, n_www, 1, CACHE_RRSET, CACHE_RANK_AUTH_ANSWER, 300, rd_a,
	    sizeof(rd_a), 2, NULL, T0);
	store(c, n_com, 2, CACHE_RRSET, CACHE_RANK_REFERRAL, 172800, rd_ns,
	    sizeof(rd_ns), 1, NULL, T0);
	store(c, n_txt, 16, CACHE_RRSET, CACHE_RANK_AUTH_ANSWER, 600, rd_txt,
	    sizeof(rd_txt), 1, NULL, T0);
	store(c, n_nope, CACHE_TYPE_NXDOMAIN, CACHE_NXDOMAIN,
	    CACHE_RANK_AUTH_ANSWER, 300, soa, soalen, 1, n_ex, T0);
	store(c, n_www, 28, CACHE_NODATA, CACHE_RANK_AUTH_ANSWER, 300, soa,
	    soalen, 1, n_ex, T0);
	return c;
}

struct render {
	FILE *f;
	bool json;
	unsigned n;
	const char *tier;
};

static int
render_cb(const struct cache_rrset_out *e, void *arg)
{
	struct render *r = arg;

	if (r->json)
		assert_int_equal(dump_entry_json(r->f, e, r->tier), 0);
	else
		assert_int_equal(dump_entry_text(r->f, e, r->tier), 0);
	r->n++;
	return 0;
}

static char *
render_tier(
    struct cache *c, uint64_t now, bool json, size_t *len, const char *tier)
{
	struct render r = {NULL, json, 0, tier};
	char *buf = NULL;

	r.f = open_memstream(&buf, len);
	assert_non_null(r.f);
	if (!json)
		dump_header(r.f, now, "main");
	cache_foreach(c, now, render_cb, &r);
	fclose(r.f);
	return buf;
}

static char *
render(struct cache *c, uint64_t now, bool json, size_t *len)
{
	return render_tier(c, now, json, len, NULL);
}

struct sink {
	struct cache *c;
	unsigned bad_lines[8];
	unsigned nbad;
	unsigned labelled; /* entries that came with tier=os */
};

static int
sink_store(void *arg, const struct cache_rrset_in *in, uint64_t stored_ms,
    const char *tier)
{
	struct sink *s = arg;

	assert_non_null(tier);
	if (strcmp(tier, "os") == 0)
		s->labelled++;
	else
		assert_string_equal(tier, "");
	return cache_store(s->c, in, stored_ms);
}

static void
sink_bad(void *arg, unsigned line, const char *msg)
{
	struct sink *s = arg;

	assert_non_null(msg);
	if (s->nbad < 8)
		s->bad_lines[s->nbad] = line;
	s->nbad++;
}

static void
same_entry(struct cache *a, struct cache *b, const uint8_t *name, uint16_t type,
    uint64_t now)
{
	struct cache_rrset_out x, y;
	uint8_t bx[2048], by[2048];

	assert_int_equal(
	    cache_get(a, name, type, 1, now, &x, bx, sizeof(bx)), 1);
	assert_int_equal(
	    cache_get(b, name, type, 1, now, &y, by, sizeof(by)), 1);
	assert_int_equal(x.kind, y.kind);
	assert_int_equal(x.rank, y.rank);
	assert_int_equal(x.nrr, y.nrr);
	assert_int_equal(x.orig_ttl, y.orig_ttl);
	assert_true(y.ttl >= x.ttl && y.ttl <= x.ttl + 1);
	assert_int_equal(x.rdata_len, y.rdata_len);
	assert_memory_equal(x.rdata, y.rdata, x.rdata_len);
	assert_int_equal(y.source_family, AF_INET);
	assert_memory_equal(x.source, y.source, 4);
	if (x.soa_owner)
		assert_true(dns_name_eq(x.soa_owner, y.soa_owner));
}

static void
test_round_trip(void **state)
{
	struct cache *a = filled();
	struct cache *b = cache_new(1 << 20,
	    &(struct cache_policy){.max_ttl = 86400, .negative_ttl = 3600});
	struct sink s = {b, {0}, 0, 0};
	struct dump_load_stats st;
	uint64_t now = T0 + 10000;
	size_t len;
	char *text;

	(void)state;
	text = render(a, now, false, &len);
	assert_non_null(strstr(text, ";; resolverd-dump 1 time="));
	assert_non_null(strstr(text,
	    "www.example.com.\t290\tIN\tA\t192.0.2.1"
	    "\t; kind=answer rank=5 orig_ttl=300 stored="));
	assert_non_null(strstr(text, "\tIN\tSOA\t"));
	assert_non_null(strstr(text, "kind=NXDOMAIN name=nope.example.com."));
	assert_non_null(strstr(text,
	    "kind=NODATA name=www.example.com. "
	    "type=AAAA"));
	assert_non_null(strstr(text, "kind=delegation"));
	assert_non_null(strstr(text, "from=127.53.10.1"));
	/* loaded 5 s after the dump: TTLs keep counting from the dump */
	assert_int_equal(
	    dump_load(text, len, now + 5000, sink_store, sink_bad, &s, &st), 0);
	assert_int_equal(s.nbad, 0);
	assert_int_equal(st.entries, 5);
	assert_int_equal(st.records, 6);
	assert_int_equal(st.expired, 0);
	same_entry(a, b, n_www, 1, now + 5000);
	same_entry(a, b, n_com, 2, now + 5000);
	same_entry(a, b, n_txt, 16, now + 5000);
	same_entry(a, b, n_nope, CACHE_TYPE_NXDOMAIN, now + 5000);
	same_entry(a, b, n_www, 28, now + 5000);
	free(text);
	cache_free(a);
	cache_free(b);
}

/* The validation state goes into the dump (dnssec=) and comes back: a
 * secure entry stays secure, an insecure one insecure; a bogus one is not
 * brought back; a secure one whose proof was not dumped waits to be
 * validated again (unchecked); one without dnssec= at all (a file written
 * by hand) is insecure. */
static void
test_dnssec_state(void **state)
{
	struct cache *a = cache_new(1 << 20,
	    &(struct cache_policy){.max_ttl = 86400, .negative_ttl = 3600});
	struct cache *b = cache_new(1 << 20,
	    &(struct cache_policy){.max_ttl = 86400, .negative_ttl = 3600});
	struct sink s = {b, {0}, 0, 0};
	struct dump_load_stats st;
	static const uint8_t n1[] = "\1a\7example\0", n2[] = "\1b\7example\0",
	                     n3[] = "\1c\7example\0", n4[] = "\1d\7example\0";
	static const uint8_t proof[] = "\1d\7example\0\0\57\0\1\0\0\1\54"
	                               "\0\13\1e\7example\0";
	const uint8_t *names[] = {n1, n2, n3, n4};
	const uint8_t secs[] = {CACHE_SEC_SECURE, CACHE_SEC_INSECURE,
	    CACHE_SEC_BOGUS, CACHE_SEC_SECURE};
	const uint8_t want[] = {
	    CACHE_SEC_SECURE, CACHE_SEC_INSECURE, 0xff, CACHE_SEC_UNCHECKED};
	struct cache_rrset_out o;
	uint8_t buf[2048];
	size_t len;
	char *text, *p;

	(void)state;
	for (int i = 0; i < 4; i++) {
		struct cache_rrset_in in = {
		    .owner = names[i],
		    .type = 1,
		    .rclass = 1,
		    .kind = CACHE_RRSET,
		    .rank = CACHE_RANK_AUTH_ANSWER,
		    .ttl = 300,
		    .nrr = 2,
		    .rdata = rd_a,
		    .rdata_len = sizeof(rd_a),
		    .sec = secs[i],
		    .ede = secs[i] == CACHE_SEC_BOGUS ? 6 : 0,
		    .why = "edited",
		    .proof = i == 3 ? proof : NULL,
		    .proof_len = i == 3 ? sizeof(proof) - 1 : 0,
		    .nproof = i == 3 ? 1 : 0,
		};
		assert_int_equal(cache_store(a, &in, T0), 1);
	}
	text = render(a, T0 + 1000, false, &len);
	assert_non_null(strstr(text, "dnssec=secure"));
	assert_non_null(strstr(text, "dnssec=insecure"));
	assert_non_null(strstr(text, "dnssec=bogus"));
	assert_non_null(strstr(text, "dnssec=secure proof=lost"));
	assert_int_equal(
	    dump_load(text, len, T0 + 2000, sink_store, sink_bad, &s, &st), 0);
	assert_int_equal(s.nbad, 0);
	assert_int_equal(st.entries, 3);
	assert_int_equal(st.bogus, 1);
	for (int i = 0; i < 4; i++) {
		int rc = cache_get(
		    b, names[i], 1, 1, T0 + 2000, &o, buf, sizeof(buf));
		if (want[i] == 0xff) {
			assert_int_equal(rc, 0);
			continue;
		}
		assert_int_equal(rc, 1);
		assert_int_equal(o.sec, want[i]);
	}
	free(text);
	cache_free(b);
	/* a dump without dnssec= (older, or by hand): insecure */
	b = cache_new(1 << 20, &(struct cache_policy){.max_ttl = 86400});
	s.c = b;
	text = render(a, T0 + 1000, false, &len);
	while ((p = strstr(text, "dnssec=")) != NULL)
		memcpy(p, "unseen=", 7); /* a key load skips */
	assert_int_equal(
	    dump_load(text, len, T0 + 2000, sink_store, sink_bad, &s, &st), 0);
	assert_int_equal(st.entries, 4);
	assert_int_equal(
	    cache_get(b, n1, 1, 1, T0 + 2000, &o, buf, sizeof(buf)), 1);
	assert_int_equal(o.sec, CACHE_SEC_INSECURE);
	free(text);
	cache_free(a);
	cache_free(b);
}

static void
test_expired_skipped(void **state)
{
	struct cache *a = filled();
	struct cache *b = cache_new(1 << 20, NULL);
	struct sink s = {b, {0}, 0, 0};
	struct dump_load_stats st;
	size_t len;
	char *text;

	(void)state;
	text = render(a, T0, false, &len);
	/* 400 s later: every 300 s entry is dead, the 600 s and NS live */
	assert_int_equal(
	    dump_load(text, len, T0 + 400000, sink_store, sink_bad, &s, &st),
	    0);
	assert_int_equal(st.entries, 2);
	assert_int_equal(st.expired, 3);
	assert_int_equal(s.nbad, 0);
	free(text);
	cache_free(a);
	cache_free(b);
}

static void
test_bad_lines(void **state)
{
	static const char text[] =
	    ";; resolverd-dump 1 time=1700000000000 (x) tier=main\n"
	    "www.example.com.\t300\tIN\tA\t192.0.2.1\t; kind=answer rank=5 "
	    "orig_ttl=300\n"
	    "www.example.com.\t300\tIN\tA\t192.0.2.999\t; kind=answer rank=5 "
	    "orig_ttl=300\n"
	    "no comment here\n"
	    "\n"
	    "; a comment\n"
	    "$ORIGIN example.com.\n"
	    "x.example.com.\t300\tIN\tA\t192.0.2.3\t; kind=weird\n"
	    "y.example.com.\t300\tIN\tA\t192.0.2.4\t; kind=answer\n";
	struct cache *b = cache_new(1 << 20, NULL);
	struct sink s = {b, {0}, 0, 0};
	struct dump_load_stats st;
	struct cache_rrset_out o;
	uint8_t buf[512];

	(void)state;
	assert_int_equal(dump_load(text, sizeof(text) - 1, T0 + 1000,
	                     sink_store, sink_bad, &s, &st),
	    0);
	assert_int_equal(s.nbad, 4);
	assert_int_equal(s.bad_lines[0], 3);
	assert_int_equal(s.bad_lines[1], 4);
	assert_int_equal(s.bad_lines[2], 7);
	assert_int_equal(s.bad_lines[3], 8);
	assert_int_equal(st.bad, 4);
	assert_int_equal(st.entries, 2);
	assert_int_equal(
	    cache_get(b, n_www, 1, 1, T0 + 1000, &o, buf, sizeof(buf)), 1);
	assert_int_equal(o.nrr, 1);
	assert_int_equal(o.ttl, 299);
	cache_free(b);
}

static void
test_bad_version(void **state)
{
	static const char text[] = ";; resolverd-dump 9 time=1700000000000\n";
	struct sink s = {NULL, {0}, 0, 0};
	struct dump_load_stats st;

	(void)state;
	assert_int_equal(dump_load(text, sizeof(text) - 1, T0, sink_store,
	                     sink_bad, &s, &st),
	    0);
	assert_int_equal(s.nbad, 1);
	assert_int_equal(s.bad_lines[0], 1);
}

static void
test_json(void **state)
{
	struct cache *a = filled();
	size_t len;
	char *text = render(a, T0 + 1000, true, &len);
	unsigned lines = 0;

	(void)state;
	for (char *p = text; *p; p++)
		if (*p == '\n')
			lines++;
	assert_int_equal(lines, 5);
	assert_non_null(strstr(text,
	    "{\"owner\":\"www.example.com.\","
	    "\"class\":\"IN\",\"type\":\"A\",\"ttl\":299,\"orig_ttl\":300,"
	    "\"kind\":\"answer\",\"rank\":5,\"dnssec\":\"insecure\","
	    "\"from\":\"127.53.10.1\""));
	assert_non_null(
	    strstr(text, "\"rdata\":[\"192.0.2.1\",\"192.0.2.2\"]"));
	assert_non_null(strstr(text, "\"type\":null"));
	assert_non_null(strstr(text, "\"kind\":\"NXDOMAIN\""));
	assert_non_null(strstr(text, "\\\"b;"));
	free(text);
	cache_free(a);
}

static int
snap_cb(const struct cache_rrset_out *e, void *arg)
{
	return dump_snap_add(arg, e);
}

static int
count_cb(const struct cache_rrset_out *e, void *arg)
{
	unsigned *n = arg;

	assert_true(e->nrr >= 1);
	assert_true(dns_name_len(e->owner, 255) > 0);
	(*n)++;
	return 0;
}

static void
test_snap_and_filter(void **state)
{
	struct cache *a = filled();
	struct dump_snap s = {0};
	struct dump_filter f = {.has_name = true};
	struct cache_rrset_out e = {.owner = n_www, .type = 1};
	unsigned n = 0;

	(void)state;
	assert_int_equal(cache_foreach(a, T0, snap_cb, &s), 0);
	assert_int_equal(s.n, 5);
	assert_int_equal(dump_snap_foreach(&s, count_cb, &n), 0);
	assert_int_equal(n, 5);
	dump_snap_free(&s);
	memcpy(f.name, n_ex, sizeof(n_ex));
	assert_true(dump_match(&f, &e));
	f.exact = true;
	assert_false(dump_match(&f, &e));
	f.exact = false;
	f.type = 28;
	assert_false(dump_match(&f, &e));
	assert_true(dump_match(NULL, &e));
	assert_string_equal(
	    dump_kind_str(CACHE_RRSET, CACHE_RANK_GLUE, 1), "glue");
	cache_free(a);
}

/* With tiers, every entry is labelled, in text and JSON, and the label
 * reaches the loader so each entry can go back to its own tier. */
static void
test_tier_labels(void **state)
{
	struct cache *a = filled();
	struct cache *b = cache_new(1 << 20,
	    &(struct cache_policy){.max_ttl = 86400, .negative_ttl = 3600});
	struct sink s = {b, {0}, 0, 0};
	struct dump_load_stats st;
	size_t len, lines = 0;
	char *text, *json;

	(void)state;
	text = render_tier(a, T0, false, &len, "os");
	for (char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	/* every line but the header carries the label, at the end */
	for (char *p = strstr(text, "\n") + 1; *p; p = strchr(p, '\n') + 1) {
		char *eol = strchr(p, '\n');
		assert_non_null(eol);
		assert_true(eol - p > 9);
		assert_memory_equal(eol - 8, " tier=os", 8);
	}
	assert_int_equal(
	    dump_load(text, len, T0, sink_store, sink_bad, &s, &st), 0);
	assert_int_equal(s.nbad, 0);
	assert_int_equal(st.entries, 5);
	assert_int_equal(s.labelled, 5);
	same_entry(a, b, n_www, 1, T0);
	json = render_tier(a, T0, true, &len, "os");
	assert_non_null(strstr(json, ",\"tier\":\"os\"}\n"));
	assert_true(lines == 7); /* header, 2 A, NS, TXT, 2 SOA */
	free(json);
	free(text);
	cache_free(a);
	cache_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_expired_skipped),
	    cmocka_unit_test(test_bad_lines),
	    cmocka_unit_test(test_bad_version),
	    cmocka_unit_test(test_json),
	    cmocka_unit_test(test_dnssec_state),
	    cmocka_unit_test(test_snap_and_filter),
	    cmocka_unit_test(test_tier_labels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
