/*
 * test_answer.c: responses to clients, from a resolution result and from
 * the cache: echoed header and question, flags, truncation, EDE, OPT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cache/cache.h"
#include "resolver/answer.h"
#include "resolver/msg.h"

/* A query for wWw.Example.com A, ID 0xbeef, RD set; with EDNS if @p edns. */
static size_t
query(uint8_t *q, bool edns, bool do_bit)
{
	static const uint8_t hdr[12] = {
	    0xbe, 0xef, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
	static const uint8_t name[] = "\003wWw\007Example\003com";
	size_t n = 12;

	memcpy(q, hdr, 12);
	memcpy(q + n, name, sizeof(name));
	n += sizeof(name);
	q[n++] = 0;
	q[n++] = 1;
	q[n++] = 0;
	q[n++] = 1;
	if (edns) {
		const uint8_t opt[11] = {
		    0, 0, 41, 0x04, 0xd0, 0, 0, do_bit ? 0x80 : 0, 0, 0, 0};
		memcpy(q + n, opt, 11);
		n += 11;
		q[11] = 1;
	}
	return n;
}

static void
result_with_txt(struct iter_result *res, unsigned n, size_t len)
{
	static uint8_t rr[16384];
	memset(res, 0, sizeof(*res));
	static const uint8_t owner[] = "\003www\007example\003com";
	res->rr = rr;
	res->rr_cap = sizeof(rr);
	uint8_t *p = res->rr;
	for (unsigned i = 0; i < n; i++) {
		*p++ = 0; /* flags: an answer record */
		memcpy(p, owner, sizeof(owner));
		p += sizeof(owner);
		*p++ = 0;
		*p++ = 16;
		*p++ = 0;
		*p++ = 1;
		*p++ = 0;
		*p++ = 0;
		*p++ = 1;
		*p++ = 44; /* TTL 300 */
		*p++ = (uint8_t)((len + 1) >> 8);
		*p++ = (uint8_t)(len + 1);
		*p++ = (uint8_t)len;
		memset(p, 'x', len);
		p += len;
	}
	res->rr_len = (size_t)(p - res->rr);
	res->ancount = (uint16_t)n;
}

static void
header_and_compression(void **state)
{
	uint8_t q[512], out[4096];
	struct msg_query mq;
	static struct iter_result res;

	(void)state;
	size_t ql = query(q, false, false);
	assert_int_equal(msg_check_query(q, ql, &mq), MSG_OK);
	result_with_txt(&res, 1, 10);
	size_t n = ans_from_result(out, 512, q, &mq, &res);
	assert_true(n > 0);
	assert_int_equal(out[0], 0xbe);
	assert_int_equal(out[1], 0xef);
	assert_int_equal(out[2] & 0x80, 0x80); /* QR */
	assert_int_equal(out[2] & 0x04, 0);    /* never AA */
	assert_int_equal(out[2] & 0x02, 0);    /* not TC */
	assert_int_equal(out[2] & 0x01, 1);    /* RD echoed */
	assert_int_equal(out[3] & 0x80, 0x80); /* RA */
	assert_int_equal(out[7], 1);           /* ANCOUNT */
	assert_int_equal(out[11], 0);          /* no OPT: the client had none */
	/* the question as the client sent it, case and all */
	assert_memory_equal(out + 12, q + 12, mq.question_end - 12);
	/* the owner is a pointer to the question */
	assert_int_equal(out[mq.question_end], 0xc0);
	assert_int_equal(out[mq.question_end + 1], 12);
}

static void
truncated_without_edns(void **state)
{
	uint8_t q[512], out[4096];
	struct msg_query mq;
	static struct iter_result res;

	(void)state;
	size_t ql = query(q, false, false);
	assert_int_equal(msg_check_query(q, ql, &mq), MSG_OK);
	result_with_txt(&res, 4, 200); /* ~ 860 bytes */
	size_t n = ans_from_result(out, 512, q, &mq, &res);
	assert_true(n > 0 && n <= 512);
	assert_int_equal(out[2] & 0x02, 0x02); /* TC */
	assert_int_equal(out[7], 0);           /* sections emptied */
	/* the same over TCP (cap 65535): complete */
	n = ans_from_result(out, sizeof(out), q, &mq, &res);
	assert_int_equal(out[2] & 0x02, 0);
	assert_int_equal(out[7], 4);
	/* with EDNS 1232 it fits, and an OPT comes back */
	ql = query(q, true, true);
	assert_int_equal(msg_check_query(q, ql, &mq), MSG_OK);
	n = ans_from_result(out, 1232, q, &mq, &res);
	assert_int_equal(out[2] & 0x02, 0);
	assert_int_equal(out[11], 1);
	assert_int_equal(out[n - 11 + 2], 41);          /* OPT type */
	assert_int_equal(out[n - 11 + 7] & 0x80, 0x80); /* DO echoed */
}

static void
servfail_with_ede(void **state)
{
	uint8_t q[512], out[4096];
	struct msg_query mq;
	static struct iter_result res;
	static const char why[] =
	    "limit max_sends (32) reached at zone example.com.";

	(void)state;
	size_t ql = query(q, true, false);
	assert_int_equal(msg_check_query(q, ql, &mq), MSG_OK);
	memset(&res, 0, sizeof(res));
	res.failed = true;
	res.rcode = 2;
	snprintf(res.reason, sizeof(res.reason), "%s", why);
	size_t n = ans_from_result(out, 1232, q, &mq, &res);
	assert_int_equal(out[3] & 0x0f, 2);
	assert_int_equal(out[11], 1);
	/* OPT rdata: EDE option 15, info-code 0, then the text */
	size_t tl = strlen(why);
	assert_int_equal(n, mq.question_end + 11 + 6 + tl);
	const uint8_t *o = out + mq.question_end + 11;
	assert_int_equal(o[1], 15);
	assert_int_equal(o[3], 2 + tl);
	assert_memory_equal(o + 6, why, tl);
}

static void
cache_hit_and_miss(void **state)
{
	uint8_t q[512], out[4096];
	struct msg_query mq;
	struct cache_policy pol = {.max_ttl = 86400, .negative_ttl = 3600};
	bool pf = false;
	struct cache *c = cache_new(1 << 20, &pol);
	static const uint8_t rd[6] = {0, 4, 192, 0, 2, 1};
	struct cache_rrset_in in = {
	    .owner = (const uint8_t *)"\003www\007example\003com",
	    .type = 1,
	    .rclass = 1,
	    .kind = CACHE_RRSET,
	    .rank = CACHE_RANK_AUTH_ANSWER,
	    .ttl = 300,
	    .nrr = 1,
	    .rdata = rd,
	    .rdata_len = 6,
	};

	(void)state;
	size_t ql = query(q, true, false);
	assert_int_equal(msg_check_query(q, ql, &mq), MSG_OK);
	assert_int_equal(
	    ans_from_cache(out, 1232, q, &mq, c, 11, 1000000, &pf), 0);
	assert_int_equal(cache_store(c, &in, 1000000), 1);
	size_t n =
	    ans_from_cache(out, 1232, q, &mq, c, 11, 1000000 + 100000, &pf);
	assert_true(n > 0);
	assert_int_equal(out[7], 1);
	assert_int_equal(out[2] & 0x04, 0);
	/* TTL: 300 - 100 s */
	const uint8_t *rr = out + mq.question_end;
	assert_int_equal(rr[6] << 24 | rr[7] << 16 | rr[8] << 8 | rr[9], 200);
	cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(header_and_compression),
	    cmocka_unit_test(truncated_without_edns),
	    cmocka_unit_test(servfail_with_ede),
	    cmocka_unit_test(cache_hit_and_miss),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
