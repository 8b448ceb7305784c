/*
 * answer.c: the frame of every response (header, question, OPT) and its
 * body from the cache or from a resolution.
 */
#include <string.h>

#include "resolver/answer.h"

#define OPT_LEN 11
#define EDE_HDR 6 /* option code, length, info-code */

/* Header and question; @return bytes written (0 if it does not fit). */
static size_t
frame_head(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode)
{
	size_t ql = q->question_end - DNS_HDR_LEN;

	if (cap < q->question_end)
		return 0;
	out[0] = (uint8_t)(q->id >> 8);
	out[1] = (uint8_t)q->id;
	out[2] = (uint8_t)(0x80 | (q->opcode << 3) | (q->rd ? 1 : 0));
	out[3] = (uint8_t)(0x80 | (q->cd ? 0x10 : 0) | (rcode & 0xf));
	memset(out + 4, 0, 8);
	out[5] = 1;
	memcpy(out + DNS_HDR_LEN, pkt + DNS_HDR_LEN, ql);
	return q->question_end;
}

static size_t
opt_len(const struct msg_query *q, const char *ede)
{
	if (!q->edns)
		return 0;
	return OPT_LEN + (ede ? EDE_HDR + strnlen(ede, 300) : 0);
}

/* Append the OPT RR (and the EDE option) and bump ARCOUNT. */
static size_t
put_opt(uint8_t *out, size_t at, const struct msg_query *q, uint16_t ede_code,
    const char *ede)
{
	uint8_t *p = out + at;
	size_t tl = ede ? strnlen(ede, 300) : 0;
	size_t rdlen = ede ? EDE_HDR + tl : 0;

	if (!q->edns)
		return at;
	p[0] = 0;
	p[1] = 0;
	p[2] = 41;
	p[3] = LIM_EDNS_BUFSIZE >> 8;
	p[4] = LIM_EDNS_BUFSIZE & 0xff;
	p[5] = 0;
	p[6] = 0;
	p[7] = q->do_bit ? 0x80 : 0;
	p[8] = 0;
	p[9] = (uint8_t)(rdlen >> 8);
	p[10] = (uint8_t)rdlen;
	p += OPT_LEN;
	if (ede) {
		p[0] = 0;
		p[1] = 15; /* EDE, RFC 8914 */
		p[2] = (uint8_t)((2 + tl) >> 8);
		p[3] = (uint8_t)(2 + tl);
		p[4] = (uint8_t)(ede_code >> 8);
		p[5] = (uint8_t)ede_code;
		memcpy(p + EDE_HDR, ede, tl);
	}
	out[11]++;
	return at + OPT_LEN + rdlen;
}

/* The response did not fit: keep header, question and OPT, set TC. */
static size_t
truncated(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode)
{
	size_t n = frame_head(out, cap, pkt, q, rcode);

	if (n == 0)
		return 0;
	out[2] |= 0x02;
	return put_opt(out, n, q, 0, NULL);
}

size_t
ans_from_cache(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct cache *c, unsigned max_cname,
    uint64_t now_ms)
{
	struct cache_hit hit;
	size_t n, body = 0, ol = opt_len(q, NULL);
	int rc;

	n = frame_head(out, cap, pkt, q, 0);
	if (n == 0 || cap < n + ol)
		return 0;
	rc = cache_answer_n(c, q->qname, q->qname_len, q->qtype, q->qclass,
	    q->do_bit, max_cname, now_ms, out + n, cap - n - ol, &body, &hit);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		/* a hit that does not fit: TC, the client retries over TCP */
		return truncated(out, cap, pkt, q, 0);
	}
	out[3] = (uint8_t)((out[3] & 0xf0) | (hit.rcode & 0xf));
	out[6] = (uint8_t)(hit.ancount >> 8);
	out[7] = (uint8_t)hit.ancount;
	out[8] = (uint8_t)(hit.nscount >> 8);
	out[9] = (uint8_t)hit.nscount;
	return put_opt(out, n + body, q, 0, NULL);
}

/* Copy one uncompressed RR from @p src, writing its owner as a pointer to
 * the question when it is the question's name. @return bytes written or 0. */
static size_t
put_rr(uint8_t *dst, size_t room, const uint8_t *src, size_t srclen,
    const struct msg_query *q, size_t *consumed)
{
	size_t nl = dns_name_len(src, srclen);
	size_t rdl, total, w;

	if (nl == 0 || nl + 10 > srclen)
		return 0;
	rdl = (size_t)(src[nl + 8] << 8 | src[nl + 9]);
	total = nl + 10 + rdl;
	if (total > srclen)
		return 0;
	*consumed = total;
	if (q->qname_len == nl && dns_name_eq(src, q->qname)) {
		if (room < 2 + 10 + rdl)
			return 0;
		dst[0] = 0xc0;
		dst[1] = DNS_HDR_LEN;
		memcpy(dst + 2, src + nl, 10 + rdl);
		w = 2 + 10 + rdl;
	} else {
		if (room < total)
			return 0;
		memcpy(dst, src, total);
		w = total;
	}
	return w;
}

size_t
ans_from_result(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, const struct iter_result *res)
{
	const char *ede = res->failed ? res->reason : NULL;
	size_t ol = opt_len(q, ede);
	size_t n = frame_head(out, cap, pkt, q, res->rcode);
	size_t off = 0;
	unsigned counts[2] = {res->ancount, res->nscount};

	if (n == 0)
		return 0;
	if (cap < n + ol)
		return truncated(out, cap, pkt, q, res->rcode);
	for (int sec = 0; sec < 2; sec++) {
		for (unsigned i = 0; i < counts[sec]; i++) {
			size_t used = 0;
			size_t w = put_rr(out + n, cap - ol - n, res->rr + off,
			    res->rr_len - off, q, &used);
			if (w == 0)
				return truncated(out, cap, pkt, q, res->rcode);
			n += w;
			off += used;
		}
	}
	out[6] = (uint8_t)(res->ancount >> 8);
	out[7] = (uint8_t)res->ancount;
	out[8] = (uint8_t)(res->nscount >> 8);
	out[9] = (uint8_t)res->nscount;
	return put_opt(out, n, q, res->ede_code, ede);
}

/* Append the records of one cached RRset to @p out at @p *n. */
static bool
put_rrset(uint8_t *out, size_t cap, size_t *n, const struct cache_rrset_out *o,
    const uint8_t *owner)
{
	size_t nl = dns_name_len(owner, LIM_NAME_MAX);
	const uint8_t *p = o->rdata;

	for (unsigned k = 0; k < o->nrr; k++) {
		size_t l = (size_t)(p[0] << 8 | p[1]);
		if (*n + nl + 10 + l > cap)
			return false;
		uint8_t *d = out + *n;
		memcpy(d, owner, nl);
		d += nl;
		d[0] = (uint8_t)(o->type >> 8);
		d[1] = (uint8_t)o->type;
		d[2] = (uint8_t)(o->rclass >> 8);
		d[3] = (uint8_t)o->rclass;
		d[4] = (uint8_t)(o->ttl >> 24);
		d[5] = (uint8_t)(o->ttl >> 16);
		d[6] = (uint8_t)(o->ttl >> 8);
		d[7] = (uint8_t)o->ttl;
		memcpy(d + 8, p, 2 + l);
		*n += nl + 10 + l;
		p += 2 + l;
	}
	return true;
}

size_t
ans_norec(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct cache *c, unsigned max_cname,
    uint64_t now_ms, struct ans_scratch *scratch, bool *hit)
{
	uint8_t *buf = scratch->ns, *abuf = scratch->addr;
	struct cache_rrset_out o, a;
	size_t n;
	size_t ol = opt_len(q, NULL);
	const uint8_t *name = q->qname;
	uint16_t ns = 0, ar = 0;
	bool answer = false;

	/* An NS question answered from the cache gets the addresses of the
	 * NS names too (as `dig +trace` expects of ". NS"); others are a plain
	 * cache answer when there is one. */
	*hit = false;
	if (q->qtype != DNS_T_NS) {
		n = ans_from_cache(out, cap, pkt, q, c, max_cname, now_ms);
		if (n > 0) {
			*hit = true;
			return n;
		}
	}
	n = frame_head(out, cap, pkt, q, 0);
	if (n == 0)
		return 0;
	if (q->qtype == DNS_T_NS &&
	    cache_get(c, name, DNS_T_NS, q->qclass, now_ms, &o, buf,
	        sizeof(scratch->ns)) == 1 &&
	    o.kind == CACHE_RRSET && o.rank >= CACHE_RANK_ANSWER_MIN)
		answer = *hit = true;
	/* else the deepest cached NS set at or above the name: a referral */
	while (!answer) {
		if (cache_get(c, name, DNS_T_NS, q->qclass, now_ms, &o, buf,
		        sizeof(scratch->ns)) == 1 &&
		    o.kind == CACHE_RRSET)
			break;
		if (name[0] == 0) {
			n = ans_from_cache(
			    out, cap, pkt, q, c, max_cname, now_ms);
			if (n > 0) {
				*hit = true;
				return n;
			}
			n = frame_head(out, cap, pkt, q, 0);
			return put_opt(out, n, q, 0, NULL);
		}
		name += 1 + name[0];
	}
	if (!put_rrset(out, cap - ol, &n, &o, name))
		return truncated(out, cap, pkt, q, 0);
	ns = o.nrr;
	const uint8_t *p = o.rdata;
	for (unsigned k = 0; k < o.nrr; k++) {
		size_t l = (size_t)(p[0] << 8 | p[1]);
		for (int t = 0; t < 2; t++) {
			uint16_t type = t ? DNS_T_AAAA : DNS_T_A;
			if (cache_get(c, p + 2, type, q->qclass, now_ms, &a,
			        abuf, sizeof(scratch->addr)) == 1 &&
			    a.kind == CACHE_RRSET) {
				size_t before = n;
				if (!put_rrset(out, cap - ol, &n, &a, p + 2)) {
					n = before;
					goto done;
				}
				ar += a.nrr;
			}
		}
		p += 2 + l;
	}
done:
	out[answer ? 6 : 8] = (uint8_t)(ns >> 8);
	out[answer ? 7 : 9] = (uint8_t)ns;
	out[10] = (uint8_t)(ar >> 8);
	out[11] = (uint8_t)ar;
	return put_opt(out, n, q, 0, NULL);
}
