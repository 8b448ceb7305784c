/*
 * test_infra.c: unit tests of cache/infra.c. Time is a parameter.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "cache/infra.h"
#include "resolver/limits.h"

#define T0 1700000000000ULL

static const uint8_t v4a[16] = {192, 0, 2, 1};
static const uint8_t v4b[16] = {192, 0, 2, 2};
static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

static const uint8_t z_com[] = {3, 'c', 'o', 'm', 0};
static const uint8_t z_ex[] = {
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0};
static const uint8_t z_EX[] = {
    7, 'E', 'x', 'A', 'm', 'P', 'l', 'E', 3, 'C', 'O', 'm', 0};

static struct infra *
mk(void)
{
	struct infra *i = infra_new(0);

	assert_non_null(i);
	return i;
}

static struct infra_info
info(struct infra *in, const uint8_t *a, int fam, uint64_t now)
{
	struct infra_info o;

	assert_true(infra_get(in, a, fam, now, &o) >= 0);
	return o;
}

static void
test_unknown(void **state)
{
	struct infra *in = mk();
	struct infra_info o;

	(void)state;
	assert_int_equal(infra_get(in, v4a, AF_INET, T0, &o), 0);
	assert_false(o.known);
	assert_int_equal(o.srtt_ms, 0);
	assert_int_equal(o.rto_ms, LIM_UP_TIMEOUT_MS);
	assert_int_equal(o.edns, INFRA_EDNS_UNKNOWN);
	assert_false(o.tcp_only);
	assert_false(infra_is_lame(in, v4a, AF_INET, z_com, T0));
	infra_free(in);
	infra_free(NULL);
}

static void
test_rtt_smoothing(void **state)
{
	struct infra *in = mk();
	struct infra_info o;

	(void)state;
	assert_int_equal(infra_rtt_update(in, v4a, AF_INET, 100, T0), 0);
	assert_int_equal(infra_get(in, v4a, AF_INET, T0, &o), 1);
	assert_true(o.known);
	assert_int_equal(o.srtt_ms, 100);
	assert_int_equal(o.rttvar_ms, 50);
	assert_int_equal(o.rto_ms, 300); /* 100 + 4 * 50 */
	/* RFC 6298: rttvar = 3/4 * 50 + 1/4 * |100 - 200| = 62.5,
	 * srtt = 7/8 * 100 + 1/8 * 200 = 112.5; rto = 112.5 + 250 */
	assert_int_equal(infra_rtt_update(in, v4a, AF_INET, 200, T0 + 1), 0);
	o = info(in, v4a, AF_INET, T0 + 1);
	assert_int_equal(o.srtt_ms, 113);
	assert_int_equal(o.rttvar_ms, 63);
	assert_int_equal(o.rto_ms, 363);
	/* converges on a steady RTT, rto reaches the floor */
	for (int i = 0; i < 100; i++)
		infra_rtt_update(in, v4a, AF_INET, 20, T0 + 2);
	o = info(in, v4a, AF_INET, T0 + 2);
	assert_int_equal(o.srtt_ms, 20);
	assert_true(o.rttvar_ms <= 1);
	assert_int_equal(o.rto_ms, LIM_UP_TIMEOUT_MIN_MS);
	/* a 0 ms sample (loopback) still counts as known */
	assert_int_equal(infra_rtt_update(in, v6a, AF_INET6, 0, T0), 0);
	o = info(in, v6a, AF_INET6, T0);
	assert_true(o.known);
	assert_int_equal(o.srtt_ms, 1);
	assert_int_equal(o.rto_ms, LIM_UP_TIMEOUT_MIN_MS);
	/* a slow server: capped */
	assert_int_equal(infra_rtt_update(in, v4b, AF_INET, 5000, T0), 0);
	assert_int_equal(
	    info(in, v4b, AF_INET, T0).rto_ms, LIM_UP_TIMEOUT_MAX_MS);
	infra_free(in);
}

static void
test_timeout_backoff(void **state)
{
	struct infra *in = mk();
	struct infra_info o;

	(void)state;
	/* unknown RTT: 800, 1600, then the 3000 cap */
	assert_int_equal(infra_timeout(in, v4a, AF_INET, T0), 0);
	o = info(in, v4a, AF_INET, T0);
	assert_true(o.known);
	assert_int_equal(o.srtt_ms, 0);
	assert_int_equal(o.timeouts, 1);
	assert_int_equal(o.rto_ms, 1600);
	infra_timeout(in, v4a, AF_INET, T0);
	assert_int_equal(
	    info(in, v4a, AF_INET, T0).rto_ms, LIM_UP_TIMEOUT_MAX_MS);
	/* known fast server: floor 50, doubled per consecutive timeout */
	infra_rtt_update(in, v4b, AF_INET, 10, T0); /* 10 + 20 -> 50 */
	assert_int_equal(info(in, v4b, AF_INET, T0).rto_ms, 50);
	infra_timeout(in, v4b, AF_INET, T0);
	assert_int_equal(info(in, v4b, AF_INET, T0).rto_ms, 100);
	infra_timeout(in, v4b, AF_INET, T0);
	assert_int_equal(info(in, v4b, AF_INET, T0).rto_ms, 200);
	for (int i = 0; i < 100; i++)
		infra_timeout(in, v4b, AF_INET, T0);
	o = info(in, v4b, AF_INET, T0);
	assert_int_equal(o.rto_ms, LIM_UP_TIMEOUT_MAX_MS);
	assert_int_equal(o.timeouts, 102);
	assert_int_equal(o.timeouts_total, 102);
	assert_int_equal(o.srtt_ms, 10); /* the estimate is kept */
	/* a reply ends the run */
	infra_rtt_update(in, v4b, AF_INET, 10, T0);
	o = info(in, v4b, AF_INET, T0);
	assert_int_equal(o.timeouts, 0);
	assert_int_equal(o.timeouts_total, 102);
	assert_int_equal(o.rto_ms, 50);
	infra_free(in);
}

/* The server cookie a server sent is kept for its next queries, one per
 * server, replaced by the next, forgotten with the rest of its data. */
static void
test_cookie(void **state)
{
	struct infra *in = mk();
	const uint8_t c16[16] = "0123456789abcdef", c8[8] = "ABCDEFGH";
	struct infra_info o;

	(void)state;
	assert_int_equal(info(in, v4a, AF_INET, T0).cookie_len, 0);
	assert_int_equal(infra_set_cookie(in, v4a, AF_INET, c16, 16, T0), 0);
	o = info(in, v4a, AF_INET, T0);
	assert_int_equal(o.cookie_len, 16);
	assert_memory_equal(o.cookie, c16, 16);
	assert_int_equal(info(in, v4b, AF_INET, T0).cookie_len, 0);
	infra_set_cookie(in, v4a, AF_INET, c8, 8, T0 + 1);
	o = info(in, v4a, AF_INET, T0 + 1);
	assert_int_equal(o.cookie_len, 8);
	assert_memory_equal(o.cookie, c8, 8);
	/* not a server cookie's length (RFC 7873: 8 to 32): ignored */
	infra_set_cookie(in, v4a, AF_INET, c16, 7, T0 + 2);
	infra_set_cookie(in, v4a, AF_INET, c16, 33, T0 + 2);
	assert_int_equal(info(in, v4a, AF_INET, T0 + 2).cookie_len, 8);
	assert_int_equal(
	    info(in, v4a, AF_INET, T0 + 2 + LIM_INFRA_TTL * 1000ULL).cookie_len,
	    0);
	infra_free(in);
}

static void
test_edns_tcp(void **state)
{
	struct infra *in = mk();

	(void)state;
	assert_int_equal(infra_set_edns(in, v4a, AF_INET, false, T0), 0);
	assert_int_equal(info(in, v4a, AF_INET, T0).edns, INFRA_EDNS_BROKEN);
	assert_int_equal(info(in, v4b, AF_INET, T0).edns, INFRA_EDNS_UNKNOWN);
	assert_int_equal(infra_set_edns(in, v4b, AF_INET, true, T0), 0);
	assert_int_equal(info(in, v4b, AF_INET, T0).edns, INFRA_EDNS_WORKS);
	/* RTT updates keep it */
	infra_rtt_update(in, v4a, AF_INET, 30, T0 + 1);
	assert_int_equal(
	    info(in, v4a, AF_INET, T0 + 1).edns, INFRA_EDNS_BROKEN);
	/* forgotten with the rest after LIM_INFRA_TTL */
	assert_int_equal(
	    info(in, v4a, AF_INET, T0 + 1 + LIM_INFRA_TTL * 1000ULL).edns,
	    INFRA_EDNS_UNKNOWN);
	assert_int_equal(infra_set_tcp(in, v6a, AF_INET6, true, T0), 0);
	assert_true(info(in, v6a, AF_INET6, T0).tcp_only);
	assert_int_equal(infra_set_tcp(in, v6a, AF_INET6, false, T0), 0);
	assert_false(info(in, v6a, AF_INET6, T0).tcp_only);
	infra_free(in);
}

static void
test_lame(void **state)
{
	struct infra *in = mk();

	(void)state;
	assert_int_equal(
	    infra_set_lame(in, v4a, AF_INET, z_EX, T0 + 60000, T0), 0);
	assert_true(infra_is_lame(in, v4a, AF_INET, z_ex, T0));
	assert_true(infra_is_lame(in, v4a, AF_INET, z_EX, T0 + 59999));
	assert_false(infra_is_lame(in, v4a, AF_INET, z_ex, T0 + 60000));
	/* only that zone, only that server */
	assert_false(infra_is_lame(in, v4a, AF_INET, z_com, T0));
	assert_false(infra_is_lame(in, v4b, AF_INET, z_ex, T0));
	assert_false(infra_is_lame(in, v4a, AF_INET6, z_ex, T0));
	/* extend, then clear */
	infra_set_lame(in, v4b, AF_INET, z_com, T0 + 1000, T0);
	infra_set_lame(in, v4b, AF_INET, z_com, T0 + 5000, T0);
	assert_true(infra_is_lame(in, v4b, AF_INET, z_com, T0 + 4000));
	infra_set_lame(in, v4b, AF_INET, z_com, T0, T0 + 100);
	assert_false(infra_is_lame(in, v4b, AF_INET, z_com, T0 + 200));
	/* a lame mark outlives the server data */
	infra_rtt_update(in, v6a, AF_INET6, 40, T0);
	infra_set_lame(in, v6a, AF_INET6, z_ex, T0 + 2000000, T0);
	uint64_t later = T0 + LIM_INFRA_TTL * 1000ULL + 1;
	struct infra_info o = info(in, v6a, AF_INET6, later);
	assert_true(o.known);
	assert_int_equal(o.srtt_ms, 0);
	assert_true(infra_is_lame(in, v6a, AF_INET6, z_ex, later));
	/* a full list replaces the mark that ends first */
	uint8_t z[8][4];
	infra_set_lame(in, v4a, AF_INET, z_ex, T0 + 60000, T0);
	for (int i = 0; i < INFRA_LAME_MAX; i++) {
		z[i][0] = 2;
		z[i][1] = 'z';
		z[i][2] = (uint8_t)('a' + i);
		z[i][3] = 0;
		infra_set_lame(
		    in, v4a, AF_INET, z[i], T0 + 10000 + (uint64_t)i, T0);
	}
	/* z_ex (until +60 s) and z[0..6] filled it; z[7] replaced z[0] */
	assert_true(infra_is_lame(in, v4a, AF_INET, z_ex, T0));
	assert_false(infra_is_lame(in, v4a, AF_INET, z[0], T0));
	assert_true(infra_is_lame(in, v4a, AF_INET, z[7], T0));
	assert_int_equal(
	    infra_set_lame(in, v4a, AF_INET, z_com, T0 + 9000, T0), 0);
	assert_true(infra_is_lame(in, v4a, AF_INET, z_com, T0));
	assert_false(infra_is_lame(in, v4a, AF_INET, z[1], T0));
	assert_true(infra_is_lame(in, v4a, AF_INET, z[2], T0));
	assert_true(infra_is_lame(in, v4a, AF_INET, z_ex, T0));
	/* malformed zone */
	static const uint8_t bad[] = {0xc0, 0x0c};
	assert_int_equal(
	    infra_set_lame(in, v4a, AF_INET, bad, T0 + 1, T0), -EINVAL);
	assert_false(infra_is_lame(in, v4a, AF_INET, bad, T0));
	infra_free(in);
}

static void
test_expiry(void **state)
{
	struct infra *in = mk();
	struct infra_stats st;
	const uint64_t ttl = LIM_INFRA_TTL * 1000ULL;

	(void)state;
	infra_rtt_update(in, v4a, AF_INET, 50, T0);
	assert_int_equal(info(in, v4a, AF_INET, T0 + ttl - 1).srtt_ms, 50);
	/* a get does not refresh it */
	struct infra_info o;
	assert_int_equal(infra_get(in, v4a, AF_INET, T0 + ttl, &o), 0);
	assert_false(o.known);
	assert_int_equal(o.rto_ms, LIM_UP_TIMEOUT_MS);
	infra_stats(in, &st);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.expiries, 1);
	/* an update restarts the clock */
	infra_rtt_update(in, v4b, AF_INET, 50, T0);
	infra_timeout(in, v4b, AF_INET, T0 + ttl - 1);
	o = info(in, v4b, AF_INET, T0 + 2 * ttl - 2);
	assert_true(o.known);
	assert_int_equal(o.timeouts, 1);
	assert_int_equal(infra_get(in, v4b, AF_INET, T0 + 2 * ttl - 1, &o), 0);
	infra_free(in);
}

static void
test_bounded(void **state)
{
	struct infra *in = infra_new(100);
	struct infra_stats st;
	uint8_t a[16] = {10};

	(void)state;
	assert_non_null(in);
	for (int i = 0; i < 250; i++) {
		a[2] = (uint8_t)(i >> 8);
		a[3] = (uint8_t)i;
		assert_int_equal(infra_rtt_update(in, a, AF_INET,
		                     (uint32_t)i + 1, T0 + (uint64_t)i),
		    0);
		/* keep the first one in use */
		a[2] = a[3] = 0;
		infra_get(
		    in, a, AF_INET, T0 + (uint64_t)i, &(struct infra_info){0});
	}
	infra_stats(in, &st);
	assert_int_equal(st.entries, 100);
	assert_int_equal(st.max_entries, 100);
	assert_int_equal(st.inserts, 250);
	assert_int_equal(st.evictions, 150);
	a[2] = 0;
	a[3] = 0;
	assert_int_equal(info(in, a, AF_INET, T0 + 300).srtt_ms, 1);
	a[3] = 1;
	assert_false(info(in, a, AF_INET, T0 + 300).known);
	a[3] = 249;
	assert_int_equal(info(in, a, AF_INET, T0 + 300).srtt_ms, 250);
	infra_free(in);
}

static void
test_keys(void **state)
{
	struct infra *in = mk();
	uint8_t junk[16];

	(void)state;
	/* v4 uses the first 4 bytes only */
	memset(junk, 0xee, sizeof(junk));
	memcpy(junk, v4a, 4);
	infra_rtt_update(in, junk, AF_INET, 77, T0);
	assert_int_equal(info(in, v4a, AF_INET, T0).srtt_ms, 77);
	/* the same bytes as v6 are another server */
	assert_false(info(in, v4a, AF_INET6, T0).known);
	assert_int_equal(infra_rtt_update(in, v4a, 99, 1, T0), -EINVAL);
	assert_int_equal(infra_timeout(in, NULL, AF_INET, T0), -EINVAL);
	struct infra_info o;
	assert_int_equal(infra_get(in, v4a, 0, T0, &o), -EINVAL);
	infra_free(in);
}

struct seen {
	unsigned n, lame;
};

static int
dump_cb(const struct infra_entry_out *e, void *arg)
{
	struct seen *s = arg;

	s->n++;
	s->lame += e->nlame;
	if (e->family == AF_INET6) {
		assert_memory_equal(e->addr, v6a, 16);
		assert_int_equal(e->nlame, 1);
		assert_memory_equal(e->lame[0].zone, z_ex, sizeof(z_ex));
		assert_int_equal(e->lame[0].until_ms, T0 + 5000);
	}
	return 0;
}

static void
test_foreach_stats(void **state)
{
	struct infra *in = mk();
	struct seen s = {0, 0};
	struct infra_stats st;

	(void)state;
	infra_rtt_update(in, v4a, AF_INET, 10, T0);
	infra_timeout(in, v4b, AF_INET, T0);
	infra_set_lame(in, v6a, AF_INET6, z_EX, T0 + 5000, T0);
	assert_int_equal(infra_foreach(in, T0, dump_cb, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.lame, 1);
	infra_stats(in, &st);
	assert_int_equal(st.rtt_updates, 1);
	assert_int_equal(st.timeouts, 1);
	assert_int_equal(st.lame_marks, 1);
	/* later: the lame-only entry dies first */
	s.n = s.lame = 0;
	assert_int_equal(infra_foreach(in, T0 + 5000, dump_cb, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.lame, 0);
	infra_free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_unknown),
	    cmocka_unit_test(test_rtt_smoothing),
	    cmocka_unit_test(test_timeout_backoff),
	    cmocka_unit_test(test_edns_tcp),
	    cmocka_unit_test(test_cookie),
	    cmocka_unit_test(test_lame),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_bounded),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_foreach_stats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
