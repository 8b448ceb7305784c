/**
 * @file msg.c
 * DNS wire helpers: the client query check and error replies.
 *
 * Everything here works on raw wire bytes with explicit bounds: every read is
 * checked against the packet length before it happens, nothing is allocated
 * and nothing outside the given buffers is written.
 */
#include <netinet/in.h>
#include <string.h>

#include <ldns/ldns.h>

#include "resolver/limits.h"
#include "resolver/msg.h"
#include "resolver/rr.h"

#define OPT_FIXED_LEN 11 /* root name, type, class, ttl, rdlength */

static int parse_qname(const uint8_t *pkt, size_t len, size_t *off);
static int skip_name(const uint8_t *pkt, size_t len, size_t *off);
static int parse_opt(const uint8_t *pkt, size_t len, size_t off,
    const uint8_t *rdata, size_t rdlen, struct msg_query *q);
static int parse_records(const uint8_t *pkt, size_t len, size_t off,
    unsigned ancount, unsigned nscount, unsigned arcount, struct msg_query *q);

/* parse_qname() and skip_name(): the labels at *off, a backward
 * compression pointer ending them only when @p pointers (inlined: each
 * caller gets its own loop). */
static inline __attribute__((always_inline)) int
walk_name(const uint8_t *pkt, size_t len, size_t *off, bool pointers)
{
	size_t p = *off;
	size_t start = p;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -1;
		l = pkt[p];
		if (pointers && (l & 0xc0) == 0xc0) {
			size_t target;

			if (p + 2 > len)
				return -1;
			target = (size_t)(dns_get16(pkt + p) & 0x3fff);
			if (target >= start || target < DNS_HDR_LEN)
				return -1;
			p += 2;
			break;
		}
		if (l & 0xc0)
			return -1;
		if (p + 1 + l - start > LIM_NAME_MAX)
			return -1;
		p += 1 + (size_t)l;
		if (l == 0)
			break;
	}
	*off = p;
	return 0;
}

/*
 * Parse the uncompressed name of the question at *off. Only plain labels
 * (length 0..63) are allowed: a compression pointer or an extended label type
 * (the top two bits of the length byte not 00) is an error, and so is a name
 * longer than LIM_NAME_MAX in wire form. On success *off is just past the
 * root label. @return 0 or -1.
 */
static int
parse_qname(const uint8_t *pkt, size_t len, size_t *off)
{
	return walk_name(pkt, len, off, false);
}

/*
 * Skip the owner name of a resource record at *off. Compression is allowed
 * there, but a pointer must point backwards (to an earlier offset), and the
 * labels read before it must stay within LIM_NAME_MAX. The target is not
 * followed: skipping needs only the bytes in place. @return 0 or -1.
 */
static int
skip_name(const uint8_t *pkt, size_t len, size_t *off)
{
	return walk_name(pkt, len, off, true);
}

/*
 * Read the OPT record whose fixed part starts at @p off (just after its owner
 * name): UDP size, extended rcode, version, DO bit. Its options must tile the
 * rdata exactly. @return 0 or -1 (garbled).
 */
static int
parse_opt(const uint8_t *pkt, size_t len, size_t off, const uint8_t *rdata,
    size_t rdlen, struct msg_query *q)
{
	size_t o = 0;
	uint16_t size;

	(void)len;
	size = dns_get16(pkt + off + 2);
	q->udp_size = size < LIM_UDP_NOEDNS ? LIM_UDP_NOEDNS : size;
	q->edns_version = pkt[off + 5];
	q->do_bit = (dns_get16(pkt + off + 6) & DNS_EDNS_DO) != 0;
	while (o < rdlen) {
		size_t olen;

		if (rdlen - o < 4)
			return -1;
		olen = dns_get16(rdata + o + 2);
		if (rdlen - o - 4 < olen)
			return -1;
		if (dns_get16(rdata + o) == DNS_OPT_COOKIE) {
			/* RFC 7873 5.2.2: a client cookie alone (8), or with
			 * a server cookie of 8 to 32 bytes; anything else, or
			 * a second one, is malformed: FORMERR */
			if ((olen != 8 && (olen < 16 || olen > 40)) ||
			    q->cookie != NULL)
				return -1;
			q->cookie = rdata + o + 4;
			q->cookie_len = (uint8_t)olen;
		}
		o += 4 + olen;
	}
	q->edns = true;
	return 0;
}

/*
 * Walk the answer, authority and additional sections starting at @p off. Every
 * record must fit in the packet, an OPT may appear only once, only in the
 * additional section and only with the root as owner, and no byte may follow
 * the last record. @return 0 or -1.
 */
static int
parse_records(const uint8_t *pkt, size_t len, size_t off, unsigned ancount,
    unsigned nscount, unsigned arcount, struct msg_query *q)
{
	unsigned total = ancount + nscount + arcount;
	unsigned i;
	bool seen_opt = false;

	for (i = 0; i < total; i++) {
		size_t name = off;
		uint16_t type;
		size_t rdlen;

		if (skip_name(pkt, len, &off) < 0)
			return -1;
		if (len - off < 10)
			return -1;
		type = dns_get16(pkt + off);
		rdlen = dns_get16(pkt + off + 8);
		if (len - off - 10 < rdlen)
			return -1;
		if (type == DNS_T_OPT) {
			if (i < ancount + nscount || seen_opt)
				return -1;
			if (off != name + 1 || pkt[name] != 0)
				return -1;
			if (parse_opt(pkt, len, off, pkt + off + 10, rdlen, q) <
			    0)
				return -1;
			seen_opt = true;
		}
		off += 10 + rdlen;
	}
	return off == len ? 0 : -1;
}

/**
 * Check a client query on the raw wire; see msg.h. The rules are applied in
 * this order: unreadable header or QR set (drop), opcode (NOTIMP), QDCOUNT,
 * question, records and trailing bytes (FORMERR), EDNS version (BADVERS),
 * ANCOUNT/NSCOUNT (FORMERR; an IXFR query may carry its SOA in the authority
 * section), AXFR/IXFR and the class (REFUSED).
 */
enum msg_verdict
msg_check_query(const uint8_t *pkt, size_t len, struct msg_query *q)
{
	uint16_t flags, qdcount, ancount, nscount, arcount;
	size_t off = DNS_HDR_LEN;

	memset(q, 0, sizeof(*q));
	q->udp_size = LIM_UDP_NOEDNS;
	if (pkt == NULL || len < DNS_HDR_LEN)
		return MSG_DROP;
	q->id = dns_get16(pkt);
	flags = dns_get16(pkt + 2);
	q->opcode = (uint8_t)((flags >> 11) & 0x0f);
	q->rd = (flags & DNS_FLAG_RD) != 0;
	q->cd = (flags & DNS_FLAG_CD) != 0;
	q->ad = (flags & DNS_FLAG_AD) != 0;
	if (flags & DNS_FLAG_QR)
		return MSG_DROP;
	qdcount = dns_get16(pkt + 4);
	ancount = dns_get16(pkt + 6);
	nscount = dns_get16(pkt + 8);
	arcount = dns_get16(pkt + 10);

	/* The question and OPT are read even for a NOTIMP, so the reply can
	 * echo them; the opcode verdict wins over anything found there. */
	if (qdcount != 1)
		return q->opcode ? MSG_REPLY_NOTIMP : MSG_REPLY_FORMERR;
	if (parse_qname(pkt, len, &off) < 0 || len - off < 4)
		return q->opcode ? MSG_REPLY_NOTIMP : MSG_REPLY_FORMERR;
	q->qname = pkt + DNS_HDR_LEN;
	q->qname_len = off - DNS_HDR_LEN;
	q->qtype = dns_get16(pkt + off);
	q->qclass = dns_get16(pkt + off + 2);
	off += 4;
	q->question_end = off;

	if (parse_records(pkt, len, off, ancount, nscount, arcount, q) < 0)
		return q->opcode ? MSG_REPLY_NOTIMP : MSG_REPLY_FORMERR;
	if (q->opcode != 0)
		return MSG_REPLY_NOTIMP;
	if (q->edns && q->edns_version != 0)
		return MSG_REPLY_BADVERS;
	if (ancount != 0 || (nscount != 0 && q->qtype != DNS_T_IXFR))
		return MSG_REPLY_FORMERR;
	if (q->qtype == DNS_T_AXFR || q->qtype == DNS_T_IXFR)
		return MSG_REPLY_REFUSED;
	if (q->qclass != DNS_C_IN && q->qclass != DNS_C_CH &&
	    q->qclass != DNS_C_ANY)
		return MSG_REPLY_REFUSED;
	return MSG_OK;
}

unsigned
msg_verdict_rcode(enum msg_verdict v)
{
	switch (v) {
	case MSG_REPLY_FORMERR:
		return DNS_RCODE_FORMERR;
	case MSG_REPLY_NOTIMP:
		return DNS_RCODE_NOTIMP;
	case MSG_REPLY_REFUSED:
		return DNS_RCODE_REFUSED;
	case MSG_REPLY_BADVERS:
		return DNS_RCODE_BADVERS;
	case MSG_OK:
	case MSG_DROP:
		break;
	}
	return DNS_RCODE_SERVFAIL;
}

void
msg_server_cookie(struct msg_query *q, const struct sockaddr *client,
    const uint64_t secret[2], uint32_t now_s)
{
	uint8_t in[8 + 8 + 16];
	size_t n = 16;
	uint64_t h;

	q->server_cookie_set = false;
	if (q->cookie == NULL)
		return;
	memcpy(in, q->cookie, 8); /* the client cookie */
	in[8] = 1;                /* version */
	in[9] = in[10] = in[11] = 0;
	dns_put32(in + 12, now_s);
	if (client->sa_family == AF_INET) {
		memcpy(in + n,
		    &((const struct sockaddr_in *)(const void *)client)
		         ->sin_addr,
		    4);
		n += 4;
	} else if (client->sa_family == AF_INET6) {
		memcpy(in + n,
		    &((const struct sockaddr_in6 *)(const void *)client)
		         ->sin6_addr,
		    16);
		n += 16;
	}
	h = dns_siphash(in, n, secret, 2, 4);
	memcpy(q->server_cookie, in + 8, 8); /* version, reserved, time */
	memcpy(q->server_cookie + 8, &h, 8);
	q->server_cookie_set = true;
}

/* ------------------------------------------------------------ responses */

size_t
msg_put_head(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode)
{
	size_t qlen =
	    q->question_end > DNS_HDR_LEN ? q->question_end - DNS_HDR_LEN : 0;
	uint16_t flags;

	if (out == NULL || cap < DNS_HDR_LEN + qlen)
		return 0;
	flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA |
	    (q->opcode & 0x0f) << 11 | (rcode & 0x0f));
	if (q->rd)
		flags |= DNS_FLAG_RD;
	if (q->cd)
		flags |= DNS_FLAG_CD; /* echoed, RFC 4035 3.2.2 */
	dns_put16(out, q->id);
	dns_put16(out + 2, flags);
	dns_put16(out + 4, qlen ? 1 : 0);
	memset(out + 6, 0, 6);
	memcpy(out + DNS_HDR_LEN, pkt + DNS_HDR_LEN, qlen);
	return DNS_HDR_LEN + qlen;
}

/* Bytes of the COOKIE option we answer with: the client cookie and our
 * 16-byte server cookie. */
static size_t
cookie_size(const struct msg_query *q)
{
	return q->cookie != NULL && q->server_cookie_set ? 4 + 8 + 16 : 0;
}

size_t
msg_opt_size(const struct msg_query *q, const char *ede_text)
{
	if (!q->edns)
		return 0;
	return OPT_FIXED_LEN + cookie_size(q) +
	    (ede_text ? 6 + strnlen(ede_text, 300) : 0);
}

size_t
msg_put_opt(uint8_t *out, size_t at, size_t cap, const struct msg_query *q,
    unsigned rcode, uint16_t ede_code, const char *ede_text)
{
	size_t tlen = ede_text ? strnlen(ede_text, 300) : 0;
	size_t ck = cookie_size(q);
	size_t rdlen = ck + (ede_text ? 6 + tlen : 0);
	uint8_t *p = out + at;

	if (!q->edns)
		return at;
	if (at + OPT_FIXED_LEN + rdlen > cap)
		return 0;
	p[0] = 0; /* root owner */
	dns_put16(p + 1, DNS_T_OPT);
	dns_put16(p + 3, LIM_EDNS_BUFSIZE);
	p[5] = (uint8_t)(rcode >> 4);                  /* extended rcode */
	p[6] = 0;                                      /* version */
	dns_put16(p + 7, q->do_bit ? DNS_EDNS_DO : 0); /* RFC 3225 */
	dns_put16(p + 9, (uint16_t)rdlen);
	p += OPT_FIXED_LEN;
	if (ck) {
		dns_put16(p, DNS_OPT_COOKIE);
		dns_put16(p + 2, 8 + 16);
		memcpy(p + 4, q->cookie, 8);
		memcpy(p + 12, q->server_cookie, 16);
		p += ck;
	}
	if (ede_text) {
		dns_put16(p, DNS_OPT_EDE);
		dns_put16(p + 2, (uint16_t)(2 + tlen));
		dns_put16(p + 4, ede_code);
		memcpy(p + 6, ede_text, tlen);
	}
	dns_put16(out + 10, (uint16_t)(dns_get16(out + 10) + 1));
	return at + OPT_FIXED_LEN + rdlen;
}

size_t
msg_put_rr(uint8_t *out, size_t at, size_t cap, const struct msg_query *q,
    const uint8_t *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
    const uint8_t *rdl)
{
	size_t nl = dns_name_len(owner, LIM_NAME_MAX);
	size_t rl = 2 + (size_t)dns_get16(rdl);
	bool ptr = nl == q->qname_len && dns_name_eq(owner, q->qname);
	size_t on = ptr ? 2 : nl;
	uint8_t *p = out + at;

	if (nl == 0 || at + on + 8 + rl > cap)
		return 0;
	if (ptr) {
		/* the question's name: a pointer to it (offset 12) */
		p[0] = 0xc0;
		p[1] = DNS_HDR_LEN;
	} else {
		memcpy(p, owner, nl);
	}
	p += on;
	dns_put16(p, type);
	dns_put16(p + 2, rclass);
	dns_put32(p + 4, ttl);
	memcpy(p + 8, rdl, rl);
	return at + on + 8 + rl;
}

size_t
msg_put_full_rr(uint8_t *out, size_t at, size_t cap, const struct msg_query *q,
    const uint8_t *rr, size_t rrlen)
{
	size_t nl = dns_name_len(rr, rrlen);

	if (nl == 0 || nl + 10 > rrlen ||
	    nl + 10 + dns_get16(rr + nl + 8) > rrlen)
		return 0;
	return msg_put_rr(out, at, cap, q, rr, dns_get16(rr + nl),
	    dns_get16(rr + nl + 2), dns_get32(rr + nl + 4), rr + nl + 8);
}

void
msg_set_counts(uint8_t *out, unsigned an, unsigned ns, unsigned ar)
{
	dns_put16(out + 6, (uint16_t)an);
	dns_put16(out + 8, (uint16_t)ns);
	dns_put16(out + 10, (uint16_t)ar);
}

size_t
msg_truncated(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode)
{
	size_t n = msg_put_head(out, cap, pkt, q, rcode);

	if (n == 0)
		return 0;
	out[2] |= DNS_FLAG_TC >> 8;
	return msg_put_opt(out, n, cap, q, rcode, 0, NULL);
}

/**
 * Build an error reply; see msg.h. An rcode above 15 needs an OPT to
 * carry its upper bits: without one, SERVFAIL is written instead.
 */
size_t
msg_error_reply(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode, uint16_t ede_code,
    const char *ede_text)
{
	size_t n;

	if (cap > LIM_MSG_MAX)
		cap = LIM_MSG_MAX;
	if (rcode > 15 && !q->edns)
		rcode = DNS_RCODE_SERVFAIL;
	n = msg_put_head(out, cap, pkt, q, rcode);
	if (n == 0)
		return 0;
	return msg_put_opt(out, n, cap, q, rcode, ede_code, ede_text);
}

/* ------------------------------------------------------------ upstream */

size_t
msg_build_query(uint8_t *out, size_t cap, const struct msg_query_spec *spec,
    struct msg_sent *sent)
{
	size_t nl = dns_name_len(spec->name, LIM_NAME_MAX);
	uint8_t *p = out;

	bool cookie = spec->edns && spec->cookie != NULL &&
	    (spec->cookie_len == 8 ||
	        (spec->cookie_len >= 16 && spec->cookie_len <= 40));

	if (nl == 0 || cap < DNS_HDR_LEN + nl + 4 + OPT_FIXED_LEN + 4 + 40)
		return 0;
	memset(sent, 0, sizeof(*sent));
	sent->id = dns_get16(spec->random);
	memset(p, 0, DNS_HDR_LEN);
	dns_put16(p, sent->id);
	dns_put16(p + 2, spec->rd ? DNS_FLAG_RD : 0);
	dns_put16(p + 4, 1);
	dns_put16(p + 10, spec->edns ? 1 : 0);
	p += DNS_HDR_LEN;
	memcpy(p, spec->name, nl);
	/* 0x20: a random case for each letter, one random bit each */
	if (spec->use_0x20) {
		for (size_t i = 0, b = 16; i < nl; i++, b++) {
			uint8_t ch = p[i];
			if (((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') &&
			    (spec->random[(b / 8) % 32] >> (b % 8)) & 1)
				p[i] = ch ^ 0x20;
		}
	}
	dns_put16(p + nl, spec->qtype);
	dns_put16(p + nl + 2, spec->qclass);
	memcpy(sent->q, p, nl + 4);
	sent->qlen = nl + 4;
	dns_name_lower(sent->name, spec->name);
	sent->qtype = spec->qtype;
	sent->qclass = spec->qclass;
	sent->edns = spec->edns;
	p += nl + 4;
	if (spec->edns) {
		p[0] = 0; /* root owner */
		dns_put16(p + 1, DNS_T_OPT);
		dns_put16(p + 3, LIM_EDNS_BUFSIZE);
		p[5] = 0; /* extended rcode */
		p[6] = 0; /* version */
		dns_put16(p + 7, spec->do_bit ? DNS_EDNS_DO : 0);
		dns_put16(p + 9, 0);
		p += OPT_FIXED_LEN;
		if (cookie) {
			dns_put16(p - 2, (uint16_t)(4 + spec->cookie_len));
			dns_put16(p, DNS_OPT_COOKIE);
			dns_put16(p + 2, (uint16_t)spec->cookie_len);
			memcpy(p + 4, spec->cookie, spec->cookie_len);
			p += 4 + spec->cookie_len;
			memcpy(sent->cookie, spec->cookie, 8);
			sent->cookie_set = true;
		}
	}
	return (size_t)(p - out);
}

/* The reply's COOKIE check (after its question matched). */
static enum msg_match
match_cookie(const uint8_t *pkt, size_t len, const struct msg_sent *sent,
    const uint8_t **server_cookie, size_t *server_cookie_len)
{
	struct msg_query r;

	/* the records walk of a client query serves a reply as well: an OPT
	 * only in the additional section, a well-formed COOKIE; a reply that
	 * does not pass is left to the parser, as if it had no cookie */
	memset(&r, 0, sizeof(r));
	if (parse_records(pkt, len, DNS_HDR_LEN + sent->qlen,
	        dns_get16(pkt + 6), dns_get16(pkt + 8), dns_get16(pkt + 10),
	        &r) < 0 ||
	    r.cookie == NULL)
		return MSG_MATCH_OK;
	if (sent->cookie_set && memcmp(r.cookie, sent->cookie, 8) != 0)
		return MSG_MATCH_COOKIE;
	if (server_cookie != NULL && r.cookie_len > 8) {
		*server_cookie = r.cookie + 8;
		*server_cookie_len = r.cookie_len - 8u;
	}
	return MSG_MATCH_OK;
}

enum msg_match
msg_match_reply(const uint8_t *pkt, size_t len, const struct msg_sent *sent,
    const uint8_t **server_cookie, size_t *server_cookie_len)
{
	if (server_cookie != NULL) {
		*server_cookie = NULL;
		*server_cookie_len = 0;
	}
	if (len < DNS_HDR_LEN + sent->qlen)
		return MSG_MATCH_SHORT;
	if (dns_get16(pkt) != sent->id)
		return MSG_MATCH_ID;
	if (!(dns_get16(pkt + 2) & DNS_FLAG_QR))
		return MSG_MATCH_NOT_RESPONSE;
	if (dns_get16(pkt + 4) != 1)
		return MSG_MATCH_QDCOUNT;
	if (memcmp(pkt + DNS_HDR_LEN, sent->q, sent->qlen) == 0)
		return sent->edns ? match_cookie(pkt, len, sent, server_cookie,
		                        server_cookie_len)
		                  : MSG_MATCH_OK;
	if (dns_name_len(pkt + DNS_HDR_LEN, sent->qlen - 4) == sent->qlen - 4 &&
	    dns_name_eq(pkt + DNS_HDR_LEN, sent->q) &&
	    memcmp(pkt + DNS_HDR_LEN + sent->qlen - 4, sent->q + sent->qlen - 4,
	        4) == 0)
		return MSG_MATCH_CASE;
	return MSG_MATCH_QUESTION;
}

const char *
msg_match_str(enum msg_match m)
{
	switch (m) {
	case MSG_MATCH_OK:
		return "a reply to the query";
	case MSG_MATCH_SHORT:
		return "too short";
	case MSG_MATCH_ID:
		return "wrong ID";
	case MSG_MATCH_NOT_RESPONSE:
		return "not a response (QR clear)";
	case MSG_MATCH_QDCOUNT:
		return "not exactly one question";
	case MSG_MATCH_CASE:
		return "question differs in letter case (0x20)";
	case MSG_MATCH_QUESTION:
		return "question differs (name, type or class)";
	case MSG_MATCH_COOKIE:
		return "another client cookie (RFC 7873)";
	}
	return "?";
}

/* -------------------------------------------------------------- scrub */

/* Does @p rr's RDATA have the form its type requires? (Types whose form
 * resolverd does not rely on are left to ldns's parser.) */
static bool
rdata_sane(const ldns_rr *rr)
{
	size_t n = ldns_rr_rd_count(rr);
	const ldns_rdf *f0 = n > 0 ? ldns_rr_rdf(rr, 0) : NULL;

	switch (ldns_rr_get_type(rr)) {
	case DNS_T_A:
		return n == 1 && ldns_rdf_size(f0) == 4;
	case DNS_T_AAAA:
		return n == 1 && ldns_rdf_size(f0) == 16;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_DNAME:
	case DNS_T_PTR:
		return n == 1 && ldns_rdf_get_type(f0) == LDNS_RDF_TYPE_DNAME;
	case DNS_T_SOA:
		return n == 7;
	case DNS_T_MX:
		return n == 2;
	default:
		return true;
	}
}

static bool
same_rr(const ldns_rr *a, const ldns_rr *b)
{
	size_t n = ldns_rr_rd_count(a);

	if (ldns_rr_get_type(a) != ldns_rr_get_type(b) ||
	    ldns_rr_get_class(a) != ldns_rr_get_class(b) ||
	    n != ldns_rr_rd_count(b) || !dns_name_eq(rr_owner(a), rr_owner(b)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
			return false;
	return true;
}

/* Scrub one section: a new list of what is kept; what is not is freed. */
static ldns_rr_list *
scrub_list(ldns_rr_list *in, uint16_t qclass, struct msg_scrub_stats *st,
    unsigned *removed)
{
	ldns_rr_list *out = ldns_rr_list_new();

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < ldns_rr_list_rr_count(in); i++) {
		ldns_rr *rr = ldns_rr_list_rr(in, i);
		bool drop = false;

		if (ldns_rr_get_class(rr) != qclass) {
			st->wrong_class++;
			drop = true;
		} else if (!rdata_sane(rr)) {
			st->bad_rdata++;
			drop = true;
		} else {
			for (size_t k = 0; k < ldns_rr_list_rr_count(out);
			     k++) {
				if (same_rr(rr, ldns_rr_list_rr(out, k))) {
					st->duplicates++;
					drop = true;
					break;
				}
			}
		}
		if (drop) {
			ldns_rr_free(rr);
			(*removed)++;
			continue;
		}
		if (ldns_rr_ttl(rr) > 0x7fffffffu) {
			ldns_rr_set_ttl(rr, 0);
			st->ttl_zeroed++;
		}
		if (!ldns_rr_list_push_rr(out, rr)) {
			ldns_rr_free(rr); /* out of memory: one record lost */
			(*removed)++;
		}
	}
	return out;
}

/* Section @p s of @p pkt: 0 answer, 1 authority, 2 additional. */
static ldns_rr_list *
section_get(const ldns_pkt *pkt, int s)
{
	return s == 0 ? ldns_pkt_answer(pkt)
	    : s == 1  ? ldns_pkt_authority(pkt)
	              : ldns_pkt_additional(pkt);
}

static void
section_set(ldns_pkt *pkt, int s, ldns_rr_list *l)
{
	if (s == 0)
		ldns_pkt_set_answer(pkt, l);
	else if (s == 1)
		ldns_pkt_set_authority(pkt, l);
	else
		ldns_pkt_set_additional(pkt, l);
}

unsigned
msg_scrub(ldns_pkt *pkt, uint16_t qclass, struct msg_scrub_stats *st)
{
	unsigned removed = 0;

	memset(st, 0, sizeof(*st));
	for (int s = 0; s < 3; s++) {
		ldns_rr_list *in = section_get(pkt, s);
		ldns_rr_list *out =
		    in ? scrub_list(in, qclass, st, &removed) : NULL;
		if (out == NULL)
			continue; /* out of memory: keep the section as is */
		/* the kept records moved to out, the others were freed */
		ldns_rr_list_free(in);
		section_set(pkt, s, out);
	}
	ldns_pkt_set_ancount(
	    pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_answer(pkt)));
	ldns_pkt_set_nscount(
	    pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_authority(pkt)));
	ldns_pkt_set_arcount(
	    pkt, (uint16_t)ldns_rr_list_rr_count(ldns_pkt_additional(pkt)));
	return removed;
}
