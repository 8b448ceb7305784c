/**
 * @file msg.c
 * DNS wire helpers: the client query check and error replies.
 *
 * Everything here works on raw wire bytes with explicit bounds: every read is
 * checked against the packet length before it happens, nothing is allocated
 * and nothing outside the given buffers is written.
 */
#include <string.h>

#include "resolver/limits.h"
#include "resolver/msg.h"

#define OPT_FIXED_LEN 11 /* root name, type, class, ttl, rdlength */

static int parse_qname(const uint8_t *pkt, size_t len, size_t *off);
static int skip_name(const uint8_t *pkt, size_t len, size_t *off);
static int parse_opt(const uint8_t *pkt, size_t len, size_t off,
    const uint8_t *rdata, size_t rdlen, struct msg_query *q);
static int parse_records(const uint8_t *pkt, size_t len, size_t off,
    unsigned ancount, unsigned nscount, unsigned arcount, struct msg_query *q);

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
	size_t p = *off;
	size_t start = p;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -1;
		l = pkt[p];
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
 * Skip the owner name of a resource record at *off. Compression is allowed
 * there, but a pointer must point backwards (to an earlier offset), and the
 * labels read before it must stay within LIM_NAME_MAX. The target is not
 * followed: skipping needs only the bytes in place. @return 0 or -1.
 */
static int
skip_name(const uint8_t *pkt, size_t len, size_t *off)
{
	size_t p = *off;
	size_t start = p;

	for (;;) {
		uint8_t l;

		if (p >= len)
			return -1;
		l = pkt[p];
		if ((l & 0xc0) == 0xc0) {
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

/**
 * Build an error reply; see msg.h. The CD bit is echoed too (RFC 4035
 * 3.2.2), and so is the DO bit in the OPT (RFC 3225). An rcode above 15
 * needs an OPT to carry its upper bits: without one, SERVFAIL is written
 * instead.
 */
size_t
msg_error_reply(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode, uint16_t ede_code,
    const char *ede_text)
{
	size_t qlen =
	    q->question_end > DNS_HDR_LEN ? q->question_end - DNS_HDR_LEN : 0;
	size_t tlen = ede_text != NULL ? strlen(ede_text) : 0;
	size_t optrd = 0;
	size_t need, off;
	uint16_t flags;

	if (q->edns && ede_text != NULL) {
		if (tlen > LIM_MSG_MAX)
			return 0;
		optrd = 4 + 2 + tlen;
	}
	need = DNS_HDR_LEN + qlen + (q->edns ? OPT_FIXED_LEN + optrd : 0);
	if (out == NULL || need > cap || need > LIM_MSG_MAX)
		return 0;
	if (rcode > 15 && !q->edns)
		rcode = DNS_RCODE_SERVFAIL;

	flags = (uint16_t)(DNS_FLAG_QR | DNS_FLAG_RA |
	    (q->opcode & 0x0f) << 11 | (rcode & 0x0f));
	if (q->rd)
		flags |= DNS_FLAG_RD;
	if (q->cd)
		flags |= DNS_FLAG_CD;
	dns_put16(out, q->id);
	dns_put16(out + 2, flags);
	dns_put16(out + 4, qlen ? 1 : 0);
	dns_put16(out + 6, 0);
	dns_put16(out + 8, 0);
	dns_put16(out + 10, q->edns ? 1 : 0);
	off = DNS_HDR_LEN;
	if (qlen) {
		memcpy(out + off, pkt + DNS_HDR_LEN, qlen);
		off += qlen;
	}
	if (q->edns) {
		out[off] = 0; /* root owner */
		dns_put16(out + off + 1, DNS_T_OPT);
		dns_put16(out + off + 3, LIM_EDNS_BUFSIZE);
		out[off + 5] = (uint8_t)(rcode >> 4); /* extended rcode */
		out[off + 6] = 0;                     /* version */
		dns_put16(out + off + 7, q->do_bit ? DNS_EDNS_DO : 0);
		dns_put16(out + off + 9, (uint16_t)optrd);
		off += OPT_FIXED_LEN;
		if (optrd) {
			dns_put16(out + off, DNS_OPT_EDE);
			dns_put16(out + off + 2, (uint16_t)(2 + tlen));
			dns_put16(out + off + 4, ede_code);
			memcpy(out + off + 6, ede_text, tlen);
			off += optrd;
		}
	}
	return off;
}
