/**
 * @file test_msg.c
 * Unit tests of resolver/msg.c: one test per rule of msg_check_query, and
 * the bytes msg_error_reply writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "resolver/msg.h"

/* A packet under construction. */
struct pkt {
	uint8_t b[1024];
	size_t n;
};

static void
u8(struct pkt *p, unsigned v)
{
	p->b[p->n++] = (uint8_t)v;
}

static void
u16(struct pkt *p, unsigned v)
{
	u8(p, v >> 8);
	u8(p, v & 0xff);
}

static void
u32(struct pkt *p, unsigned long v)
{
	u16(p, (unsigned)(v >> 16));
	u16(p, (unsigned)(v & 0xffff));
}

/* "www.example.com" in wire form; "" or "." is the root. */
static void
name(struct pkt *p, const char *s)
{
	while (*s != '\0' && strcmp(s, ".") != 0) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);

		u8(p, (unsigned)l);
		memcpy(p->b + p->n, s, l);
		p->n += l;
		s += l + (dot ? 1 : 0);
	}
	u8(p, 0);
}

static void
header(struct pkt *p, unsigned id, unsigned flags, unsigned qd, unsigned an,
    unsigned ns, unsigned ar)
{
	p->n = 0;
	u16(p, id);
	u16(p, flags);
	u16(p, qd);
	u16(p, an);
	u16(p, ns);
	u16(p, ar);
}

/* An OPT RR: size, extended rcode, version, flags, no options. */
static void
opt(struct pkt *p, unsigned size, unsigned version, unsigned flags)
{
	u8(p, 0);
	u16(p, 41);
	u16(p, size);
	u8(p, 0);
	u8(p, version);
	u16(p, flags);
	u16(p, 0);
}

/* A standard query for example.com/A with RD, with @p ar additional
 * records to follow. */
static void
query(struct pkt *p, unsigned ar)
{
	header(p, 0x1234, 0x0100, 1, 0, 0, ar);
	name(p, "example.com");
	u16(p, 1);
	u16(p, 1);
}

static enum msg_verdict
check(const struct pkt *p, struct msg_query *q)
{
	return msg_check_query(p->b, p->n, q);
}

static void
test_ok(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 0);
	assert_int_equal(check(&p, &q), MSG_OK);
	assert_int_equal(q.id, 0x1234);
	assert_int_equal(q.opcode, 0);
	assert_true(q.rd);
	assert_false(q.cd);
	assert_ptr_equal(q.qname, p.b + 12);
	assert_int_equal(q.qname_len, 13);
	assert_int_equal(q.qtype, 1);
	assert_int_equal(q.qclass, 1);
	assert_int_equal(q.question_end, p.n);
	assert_false(q.edns);
	assert_int_equal(q.udp_size, 512);
}

static void
test_qr_set_dropped(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 0);
	p.b[2] |= 0x80;
	assert_int_equal(check(&p, &q), MSG_DROP);
	assert_int_equal(q.id, 0x1234);
}

static void
test_short_dropped(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 0);
	assert_int_equal(msg_check_query(p.b, 11, &q), MSG_DROP);
	assert_int_equal(msg_check_query(p.b, 0, &q), MSG_DROP);
	assert_int_equal(msg_check_query(NULL, 0, &q), MSG_DROP);
}

static void
test_opcode_notimp(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 0);
	p.b[2] |= 4 << 3; /* NOTIFY */
	assert_int_equal(check(&p, &q), MSG_REPLY_NOTIMP);
	assert_int_equal(q.opcode, 4);
	assert_int_equal(q.question_end, p.n); /* echoed in the reply */
	/* Even with a garbled question, the opcode decides. */
	header(&p, 1, 2 << 11, 0, 0, 0, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_NOTIMP);
}

static void
test_qdcount_0_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	header(&p, 7, 0x0100, 0, 0, 0, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
	assert_int_equal(q.question_end, 0);
}

static void
test_qdcount_2_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	header(&p, 7, 0x0100, 2, 0, 0, 0);
	name(&p, "a.example");
	u16(&p, 1);
	u16(&p, 1);
	name(&p, "b.example");
	u16(&p, 1);
	u16(&p, 1);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

static void
test_truncated_question_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;
	size_t full;

	(void)state;
	query(&p, 0);
	full = p.n;
	assert_int_equal(msg_check_query(p.b, full - 1, &q),
	    MSG_REPLY_FORMERR); /* qclass cut */
	assert_int_equal(msg_check_query(p.b, full - 4, &q),
	    MSG_REPLY_FORMERR); /* qtype and qclass missing */
	assert_int_equal(msg_check_query(p.b, 12 + 5, &q),
	    MSG_REPLY_FORMERR); /* inside the name */
	assert_int_equal(msg_check_query(p.b, 12, &q),
	    MSG_REPLY_FORMERR); /* no question at all */
	assert_int_equal(q.question_end, 0);
}

static void
test_compression_in_question_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	header(&p, 7, 0x0100, 1, 0, 0, 0);
	u8(&p, 3);
	memcpy(p.b + p.n, "www", 3);
	p.n += 3;
	u16(&p, 0xc000 | 12); /* pointer back to the name itself */
	u16(&p, 1);
	u16(&p, 1);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

static void
test_label_over_63_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	header(&p, 7, 0x0100, 1, 0, 0, 0);
	u8(&p, 64); /* 0x40: an extended label type, not a length */
	memset(p.b + p.n, 'a', 64);
	p.n += 64;
	u8(&p, 0);
	u16(&p, 1);
	u16(&p, 1);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

static void
test_name_over_255_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;
	int i;

	(void)state;
	/* 4 labels of 63 and one of 1: 4 * 64 + 2 + 1 = 259 bytes. */
	header(&p, 7, 0x0100, 1, 0, 0, 0);
	for (i = 0; i < 4; i++) {
		u8(&p, 63);
		memset(p.b + p.n, 'a', 63);
		p.n += 63;
	}
	u8(&p, 1);
	u8(&p, 'b');
	u8(&p, 0);
	u16(&p, 1);
	u16(&p, 1);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);

	/* 255 exactly is fine: 3 * 64 + 62 + 1. */
	header(&p, 7, 0x0100, 1, 0, 0, 0);
	for (i = 0; i < 3; i++) {
		u8(&p, 63);
		memset(p.b + p.n, 'a', 63);
		p.n += 63;
	}
	u8(&p, 61);
	memset(p.b + p.n, 'c', 61);
	p.n += 61;
	u8(&p, 0);
	u16(&p, 1);
	u16(&p, 1);
	assert_int_equal(check(&p, &q), MSG_OK);
	assert_int_equal(q.qname_len, 255);
}

static void
test_ancount_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 0);
	p.b[7] = 1; /* ANCOUNT 1, with a real record */
	u16(&p, 0xc000 | 12);
	u16(&p, 1);
	u16(&p, 1);
	u32(&p, 300);
	u16(&p, 4);
	u32(&p, 0x7f000001);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);

	query(&p, 0);
	p.b[7] = 1; /* ANCOUNT 1, nothing there */
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

static void
test_nscount_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 0);
	p.b[9] = 1;
	name(&p, "example.com");
	u16(&p, 2);
	u16(&p, 1);
	u32(&p, 300);
	u16(&p, 1);
	u8(&p, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

static void
test_two_opts_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 2);
	opt(&p, 1232, 0, 0);
	opt(&p, 1232, 0, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

static void
test_opt_not_root_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 1);
	u16(&p, 0xc000 | 12); /* OPT owned by example.com */
	u16(&p, 41);
	u16(&p, 1232);
	u32(&p, 0);
	u16(&p, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

static void
test_garbage_additional_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 1);
	u8(&p, 0x41); /* label type 01, then junk */
	u8(&p, 0xff);
	u8(&p, 0x13);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);

	query(&p, 1); /* OPT whose rdlength overruns */
	u8(&p, 0);
	u16(&p, 41);
	u16(&p, 1232);
	u32(&p, 0);
	u16(&p, 20);
	u16(&p, 10);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);

	query(&p, 1); /* OPT option whose length overruns rdata */
	u8(&p, 0);
	u16(&p, 41);
	u16(&p, 1232);
	u32(&p, 0);
	u16(&p, 6);
	u16(&p, 10);
	u16(&p, 8);
	u16(&p, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);

	query(&p, 1); /* forward compression pointer */
	u16(&p, 0xc000 | 900);
	u16(&p, 1);
	u16(&p, 1);
	u32(&p, 0);
	u16(&p, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

static void
test_other_additional_ok(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 2); /* an A record with a pointer, then OPT */
	u16(&p, 0xc000 | 12);
	u16(&p, 1);
	u16(&p, 1);
	u32(&p, 0);
	u16(&p, 4);
	u32(&p, 0x01020304);
	opt(&p, 1232, 0, 0);
	assert_int_equal(check(&p, &q), MSG_OK);
	assert_true(q.edns);
}

static void
test_axfr_ixfr_refused(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	header(&p, 9, 0, 1, 0, 0, 0);
	name(&p, "example.com");
	u16(&p, 252);
	u16(&p, 1);
	assert_int_equal(check(&p, &q), MSG_REPLY_REFUSED);

	/* IXFR carries the client's SOA in the authority section. */
	header(&p, 9, 0, 1, 0, 1, 0);
	name(&p, "example.com");
	u16(&p, 251);
	u16(&p, 1);
	u16(&p, 0xc000 | 12);
	u16(&p, 6);
	u16(&p, 1);
	u32(&p, 0);
	u16(&p, 22);
	u8(&p, 0);
	u8(&p, 0);
	u32(&p, 2024010101);
	u32(&p, 1);
	u32(&p, 1);
	u32(&p, 1);
	u32(&p, 1);
	assert_int_equal(check(&p, &q), MSG_REPLY_REFUSED);
}

static void
test_class_refused(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 0);
	p.b[p.n - 1] = 3; /* CH */
	assert_int_equal(check(&p, &q), MSG_OK);
	p.b[p.n - 1] = 255; /* ANY */
	assert_int_equal(check(&p, &q), MSG_OK);
	p.b[p.n - 1] = 4; /* HS */
	assert_int_equal(check(&p, &q), MSG_REPLY_REFUSED);
}

static void
test_edns_version_badvers(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 1);
	opt(&p, 1232, 1, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_BADVERS);
	assert_true(q.edns);
	assert_int_equal(q.edns_version, 1);
}

/* The RCODE each verdict is answered with. */
static void
test_verdict_rcode(void **state)
{
	(void)state;
	assert_int_equal(
	    msg_verdict_rcode(MSG_REPLY_FORMERR), DNS_RCODE_FORMERR);
	assert_int_equal(msg_verdict_rcode(MSG_REPLY_NOTIMP), DNS_RCODE_NOTIMP);
	assert_int_equal(
	    msg_verdict_rcode(MSG_REPLY_REFUSED), DNS_RCODE_REFUSED);
	assert_int_equal(
	    msg_verdict_rcode(MSG_REPLY_BADVERS), DNS_RCODE_BADVERS);
	assert_int_equal(msg_verdict_rcode(MSG_OK), DNS_RCODE_SERVFAIL);
	assert_int_equal(msg_verdict_rcode(MSG_DROP), DNS_RCODE_SERVFAIL);
}

static void
test_opt_parsed(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 1);
	opt(&p, 4096, 0, 0x8000);
	assert_int_equal(check(&p, &q), MSG_OK);
	assert_true(q.edns);
	assert_int_equal(q.udp_size, 4096);
	assert_true(q.do_bit);
	assert_int_equal(q.edns_version, 0);

	query(&p, 1); /* with an option (cookie) */
	u8(&p, 0);
	u16(&p, 41);
	u16(&p, 1400);
	u32(&p, 0);
	u16(&p, 12);
	u16(&p, 10);
	u16(&p, 8);
	u32(&p, 0x01020304);
	u32(&p, 0x05060708);
	assert_int_equal(check(&p, &q), MSG_OK);
	assert_int_equal(q.udp_size, 1400);
	assert_false(q.do_bit);

	query(&p, 1);
	opt(&p, 100, 0, 0);
	assert_int_equal(check(&p, &q), MSG_OK);
	assert_int_equal(q.udp_size, 512); /* < 512 counts as 512 */
}

static void
test_trailing_garbage_formerr(void **state)
{
	struct pkt p;
	struct msg_query q;

	(void)state;
	query(&p, 0);
	u8(&p, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);

	query(&p, 1);
	opt(&p, 1232, 0, 0);
	u16(&p, 0xdead);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
}

/* ---- msg_error_reply --------------------------------------------------- */

static void
test_reply_no_edns(void **state)
{
	struct pkt p;
	struct msg_query q;
	uint8_t out[512];
	size_t n;

	(void)state;
	query(&p, 0);
	p.b[3] |= 0x10; /* CD */
	assert_int_equal(check(&p, &q), MSG_OK);
	n = msg_error_reply(out, sizeof(out), p.b, &q, DNS_RCODE_SERVFAIL, 0,
	    "no OPT, so no EDE");
	assert_int_equal(n, p.n);
	assert_int_equal(out[0], 0x12);
	assert_int_equal(out[1], 0x34);
	assert_int_equal(out[2], 0x81); /* QR, opcode 0, RD */
	assert_int_equal(out[3], 0x92); /* RA, CD, SERVFAIL */
	assert_memory_equal(out + 4, "\0\1\0\0\0\0\0\0", 8);
	assert_memory_equal(out + 12, p.b + 12, p.n - 12);
}

static void
test_reply_edns_ede(void **state)
{
	static const char text[] = "no resolver attached to this server";
	struct pkt p;
	struct msg_query q;
	uint8_t out[512];
	size_t n, o, tl = sizeof(text) - 1;

	(void)state;
	query(&p, 1);
	opt(&p, 4096, 0, 0x8000);
	assert_int_equal(check(&p, &q), MSG_OK);
	n = msg_error_reply(
	    out, sizeof(out), p.b, &q, DNS_RCODE_SERVFAIL, 0, text);
	o = q.question_end;
	assert_int_equal(n, o + 11 + 4 + 2 + tl);
	assert_int_equal(out[3] & 0x0f, 2);
	assert_memory_equal(out + 4, "\0\1\0\0\0\0\0\1", 8);
	assert_memory_equal(out + 12, p.b + 12, o - 12);
	assert_int_equal(out[o], 0); /* root */
	assert_int_equal(out[o + 1] << 8 | out[o + 2], 41);
	assert_int_equal(out[o + 3] << 8 | out[o + 4], 1232);
	assert_int_equal(out[o + 5], 0);    /* ext rcode */
	assert_int_equal(out[o + 6], 0);    /* version */
	assert_int_equal(out[o + 7], 0x80); /* DO echoed */
	assert_int_equal(out[o + 9] << 8 | out[o + 10], 6 + tl);
	assert_int_equal(out[o + 11] << 8 | out[o + 12], 15); /* EDE */
	assert_int_equal(out[o + 13] << 8 | out[o + 14], 2 + tl);
	assert_int_equal(out[o + 15] << 8 | out[o + 16], 0); /* code */
	assert_memory_equal(out + o + 17, text, tl);

	/* Without text: an OPT, no EDE option. */
	n = msg_error_reply(
	    out, sizeof(out), p.b, &q, DNS_RCODE_REFUSED, 18, NULL);
	assert_int_equal(n, o + 11);
	assert_int_equal(out[o + 9] << 8 | out[o + 10], 0);
	assert_int_equal(out[3] & 0x0f, 5);
}

static void
test_reply_badvers(void **state)
{
	struct pkt p;
	struct msg_query q;
	uint8_t out[512];
	size_t n, o;

	(void)state;
	query(&p, 1);
	opt(&p, 1232, 1, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_BADVERS);
	n = msg_error_reply(
	    out, sizeof(out), p.b, &q, DNS_RCODE_BADVERS, 0, NULL);
	o = q.question_end;
	assert_int_equal(n, o + 11);
	assert_int_equal(out[3] & 0x0f, 0); /* 16 & 15 */
	assert_int_equal(out[o + 5], 1);    /* 16 >> 4 */
	assert_int_equal(out[o + 6], 0);    /* we speak version 0 */
}

static void
test_reply_no_question(void **state)
{
	struct pkt p;
	struct msg_query q;
	uint8_t out[512];
	size_t n;

	(void)state;
	header(&p, 0xbeef, 0x0100, 0, 0, 0, 0);
	assert_int_equal(check(&p, &q), MSG_REPLY_FORMERR);
	n = msg_error_reply(
	    out, sizeof(out), p.b, &q, DNS_RCODE_FORMERR, 0, NULL);
	assert_int_equal(n, 12);
	assert_int_equal(out[0] << 8 | out[1], 0xbeef);
	assert_int_equal(out[2], 0x81);
	assert_int_equal(out[3], 0x81);
	assert_memory_equal(out + 4, "\0\0\0\0\0\0\0\0", 8);
}

static void
test_reply_notimp_opcode(void **state)
{
	struct pkt p;
	struct msg_query q;
	uint8_t out[512];

	(void)state;
	query(&p, 0);
	p.b[2] = 4 << 3; /* NOTIFY, RD clear */
	assert_int_equal(check(&p, &q), MSG_REPLY_NOTIMP);
	assert_int_equal(msg_error_reply(out, sizeof(out), p.b, &q,
	                     DNS_RCODE_NOTIMP, 0, NULL),
	    p.n);
	assert_int_equal(out[2], 0x80 | 4 << 3);
	assert_int_equal(out[3], 0x84);
}

static void
test_reply_cap_too_small(void **state)
{
	struct pkt p;
	struct msg_query q;
	uint8_t out[512];

	(void)state;
	query(&p, 1);
	opt(&p, 1232, 0, 0);
	assert_int_equal(check(&p, &q), MSG_OK);
	assert_int_equal(msg_error_reply(out, 11, p.b, &q, 2, 0, NULL), 0);
	assert_int_equal(
	    msg_error_reply(out, q.question_end + 10, p.b, &q, 2, 0, NULL), 0);
	assert_int_equal(
	    msg_error_reply(out, q.question_end + 11, p.b, &q, 2, 0, NULL),
	    q.question_end + 11);
	assert_int_equal(
	    msg_error_reply(out, q.question_end + 11 + 6, p.b, &q, 2, 0, "x"),
	    0);
}

/* Upstream queries carry our client cookie (and the server's last one);
 * a reply's cookie must hold the client cookie sent (RFC 7873 5.3). */
static void
test_upstream_cookies(void **state)
{
	uint8_t random[32] = {0x12, 0x34}, cookie[24], pkt[400], pkt2[400];
	const uint8_t *sc;
	size_t sclen, n, n2;
	struct msg_sent sent, sent2;
	struct msg_query q;
	struct msg_query_spec spec = {
	    .name = (const uint8_t *)"\3www\7example\3com",
	    .qtype = 1,
	    .qclass = 1,
	    .edns = true,
	    .random = random,
	    .cookie = cookie,
	    .cookie_len = 8,
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(cookie); i++)
		cookie[i] = (uint8_t)(0xa0 + i);
	n = msg_build_query(pkt, sizeof(pkt), &spec, &sent);
	assert_true(n > 0);
	assert_true(sent.cookie_set);
	/* the query is one a server reads a client cookie from */
	assert_int_equal(msg_check_query(pkt, n, &q), MSG_OK);
	assert_non_null(q.cookie);
	assert_int_equal(q.cookie_len, 8);
	assert_memory_equal(q.cookie, cookie, 8);

	/* a reply that echoes it matches, with no server cookie */
	memcpy(pkt2, pkt, n);
	pkt2[2] |= 0x80;
	assert_int_equal(
	    msg_match_reply(pkt2, n, &sent, &sc, &sclen), MSG_MATCH_OK);
	assert_null(sc);
	/* another client cookie: not our reply */
	pkt2[n - 1] ^= 1;
	assert_int_equal(
	    msg_match_reply(pkt2, n, &sent, &sc, &sclen), MSG_MATCH_COOKIE);

	/* a reply with a server cookie: matched, the server cookie handed
	 * back to be remembered */
	spec.cookie_len = 24;
	n2 = msg_build_query(pkt2, sizeof(pkt2), &spec, &sent2);
	assert_int_equal(n2, n + 16);
	pkt2[2] |= 0x80;
	pkt2[0] = pkt[0];
	pkt2[1] = pkt[1];
	assert_int_equal(
	    msg_match_reply(pkt2, n2, &sent, &sc, &sclen), MSG_MATCH_OK);
	assert_int_equal(sclen, 16);
	assert_memory_equal(sc, cookie + 8, 16);

	/* a reply without any OPT matches: cookies are optional */
	memcpy(pkt2, pkt, n);
	pkt2[2] |= 0x80;
	pkt2[11] = 0; /* ARCOUNT 0 */
	assert_int_equal(
	    msg_match_reply(pkt2, n - 23, &sent, &sc, &sclen), MSG_MATCH_OK);

	/* without EDNS no cookie goes out; a bad length is not sent */
	spec.edns = false;
	n = msg_build_query(pkt, sizeof(pkt), &spec, &sent);
	assert_false(sent.cookie_set);
	spec.edns = true;
	spec.cookie_len = 12;
	n = msg_build_query(pkt, sizeof(pkt), &spec, &sent);
	assert_false(sent.cookie_set);
	assert_int_equal(msg_check_query(pkt, n, &q), MSG_OK);
	assert_null(q.cookie);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ok),
	    cmocka_unit_test(test_upstream_cookies),
	    cmocka_unit_test(test_qr_set_dropped),
	    cmocka_unit_test(test_short_dropped),
	    cmocka_unit_test(test_opcode_notimp),
	    cmocka_unit_test(test_verdict_rcode),
	    cmocka_unit_test(test_qdcount_0_formerr),
	    cmocka_unit_test(test_qdcount_2_formerr),
	    cmocka_unit_test(test_truncated_question_formerr),
	    cmocka_unit_test(test_compression_in_question_formerr),
	    cmocka_unit_test(test_label_over_63_formerr),
	    cmocka_unit_test(test_name_over_255_formerr),
	    cmocka_unit_test(test_ancount_formerr),
	    cmocka_unit_test(test_nscount_formerr),
	    cmocka_unit_test(test_two_opts_formerr),
	    cmocka_unit_test(test_opt_not_root_formerr),
	    cmocka_unit_test(test_garbage_additional_formerr),
	    cmocka_unit_test(test_other_additional_ok),
	    cmocka_unit_test(test_axfr_ixfr_refused),
	    cmocka_unit_test(test_class_refused),
	    cmocka_unit_test(test_edns_version_badvers),
	    cmocka_unit_test(test_opt_parsed),
	    cmocka_unit_test(test_trailing_garbage_formerr),
	    cmocka_unit_test(test_reply_no_edns),
	    cmocka_unit_test(test_reply_edns_ede),
	    cmocka_unit_test(test_reply_badvers),
	    cmocka_unit_test(test_reply_no_question),
	    cmocka_unit_test(test_reply_notimp_opcode),
	    cmocka_unit_test(test_reply_cap_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
