/*
 * answer.c: what a response says, from the cache or from a resolution.
 * The bytes (header, question, records, OPT) are msg.c's: this file only
 * decides which records, which rcode, and whether AD may be set.
 */
#include <string.h>

#include "resolver/answer.h"

/* AD (RFC 6840 5.7): only when everything in the answer and authority
 * sections is secure, and the client said it understands AD (AD or DO). */
static void
set_ad(uint8_t *out, const struct msg_query *q, bool secure)
{
	if (secure && (q->ad || q->do_bit))
		out[3] |= DNS_FLAG_AD;
}

static bool put_rrset(uint8_t *out, size_t cap, size_t *n,
    const struct msg_query *q, const struct cache_rrset_out *o,
    const uint8_t *owner);

/* The addresses of the root servers in the additional section of a ". NS"
 * answer, as the RD=0 answer (ans_norec) has them: `dig +trace` then asks
 * them without a look-up through the system's resolver. Out of the hot
 * path: only a ". NS" question comes here. What does not fit is left out.
 * @return the records added. */
static __attribute__((noinline)) unsigned
root_glue(uint8_t *out, size_t cap, size_t *n, const struct msg_query *q,
    struct cache *c, uint64_t now_ms)
{
	uint8_t buf[8192], abuf[2048];
	struct cache_rrset_out o, a;
	const uint8_t *p;
	unsigned ar = 0;

	if (cache_get(c, q->qname, DNS_T_NS, q->qclass, now_ms, &o, buf,
	        sizeof(buf)) != 1 ||
	    o.kind != CACHE_RRSET)
		return 0;
	p = o.rdata;
	for (unsigned k = 0; k < o.nrr; k++) {
		for (int t = 0; t < 2; t++) {
			uint16_t type = t ? DNS_T_AAAA : DNS_T_A;
			size_t before = *n;

			if (cache_get(c, p + 2, type, q->qclass, now_ms, &a,
			        abuf, sizeof(abuf)) != 1 ||
			    a.kind != CACHE_RRSET)
				continue;
			if (!put_rrset(out, cap, n, q, &a, p + 2)) {
				*n = before;
				return ar;
			}
			ar += a.nrr;
		}
		p += 2 + dns_get16(p);
	}
	return ar;
}

size_t
ans_from_cache(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct cache *c, unsigned max_cname,
    uint64_t now_ms, bool *prefetch)
{
	struct cache_hit hit;
	size_t n, body = 0, ol = msg_opt_size(q, NULL);
	int rc;

	n = msg_put_head(out, cap, pkt, q, 0);
	if (n == 0 || cap < n + ol)
		return 0;
	rc = cache_answer_n(c, q->qname, q->qname_len, q->qtype, q->qclass,
	    q->do_bit, q->cd, max_cname, now_ms, out + n, cap - n - ol, &body,
	    &hit);
	if (rc == 0)
		return 0;
	if (rc < 0) {
		/* a hit that does not fit: TC, the client retries over TCP */
		return msg_truncated(out, cap, pkt, q, 0);
	}
	if (hit.bogus) {
		/* kept so a broken zone is not asked again at once */
		return msg_error_reply(
		    out, cap, pkt, q, DNS_RCODE_SERVFAIL, hit.ede, hit.why);
	}
	*prefetch = hit.refresh;
	out[3] = (uint8_t)((out[3] & 0xf0) | (hit.rcode & 0xf));
	n += body;
	unsigned ar = 0;
	if (__builtin_expect(q->qtype == DNS_T_NS, 0) && q->qname[0] == 0 &&
	    hit.ancount > 0)
		ar = root_glue(out, cap - ol, &n, q, c, now_ms);
	msg_set_counts(out, hit.ancount, hit.nscount, ar);
	set_ad(out, q, hit.secure);
	/* an insecure answer's EDE when it fits (room was kept for the OPT
	 * only), else the answer without it */
	if (hit.ede != 0) {
		size_t with = msg_put_opt(out, n, cap, q, 0, hit.ede, hit.why);
		if (with > 0)
			return with;
	}
	return msg_put_opt(out, n, cap, q, 0, 0, NULL);
}

size_t
ans_from_stale(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct cache *c, unsigned max_cname,
    uint64_t now_ms, enum cache_stale how, const char *why, bool *refresh)
{
	struct cache_hit hit;
	char text[160];
	size_t n, body = 0, ol;

	snprintf(text, sizeof(text), "stale answer: %s", why);
	ol = msg_opt_size(q, text);
	n = msg_put_head(out, cap, pkt, q, 0);
	if (n == 0 || cap < n + ol)
		return 0;
	if (cache_answer_stale(c, q->qname, q->qname_len, q->qtype, q->qclass,
	        q->do_bit, max_cname, now_ms, how, out + n, cap - n - ol, &body,
	        &hit) != 1 ||
	    hit.bogus)
		return 0; /* (one that does not fit is not worth a TC) */
	*refresh = hit.refresh;
	out[3] = (uint8_t)((out[3] & 0xf0) | (hit.rcode & 0xf));
	msg_set_counts(out, hit.ancount, hit.nscount, 0);
	/* no AD: its signatures may have run out with its TTL */
	return msg_put_opt(out, n + body, cap, q, 0,
	    hit.stale ? DNS_EDE_STALE_ANSWER : hit.ede,
	    hit.stale ? text : (hit.ede ? hit.why : NULL));
}

/* One record of a proof (and, for DO, its RRSIGs) into the authority
 * section; false when it does not fit. */
static bool
put_proof_rr(uint8_t *out, size_t cap, size_t *n, const struct msg_query *q,
    const struct nsec_proof_rr *r, uint16_t type, uint32_t ttl, unsigned *ns)
{
	uint8_t rdl[2 + NSEC_RDATA_MAX];
	const uint8_t *p = r->sigs, *end = r->sigs + r->sigs_len;
	size_t w;

	dns_put16(rdl, r->rdlen);
	memcpy(rdl + 2, r->rdata, r->rdlen);
	if ((w = msg_put_rr(
	         out, *n, cap, q, r->owner, type, DNS_C_IN, ttl, rdl)) == 0)
		return false;
	*n = w;
	(*ns)++;
	for (unsigned k = 0; q->do_bit && k < r->nsig && p + 2 <= end; k++) {
		if ((w = msg_put_rr(out, *n, cap, q, r->owner, DNS_T_RRSIG,
		         DNS_C_IN, ttl, p)) == 0)
			return false;
		*n = w;
		(*ns)++;
		p += 2 + dns_get16(p);
	}
	return true;
}

size_t
ans_from_nsec(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct nsec_cache *nc, uint64_t now_ms,
    struct nsec_proof *proof)
{
	size_t n, ol = msg_opt_size(q, NULL);
	unsigned ns = 0;

	if (q->qclass != DNS_C_IN ||
	    nsec_cache_prove(nc, q->qname, q->qtype, now_ms, proof) != 1)
		return 0;
	n = msg_put_head(out, cap, pkt, q, (unsigned)proof->rcode);
	if (n == 0 || cap < n + ol)
		return 0;
	/* the SOA (its TTL: the proof's, RFC 8198 5.4), then, for a client
	 * that wants DNSSEC records, the NSEC records that prove it */
	if (!put_proof_rr(
	        out, cap - ol, &n, q, &proof->soa, DNS_T_SOA, proof->ttl, &ns))
		return 0;
	for (unsigned i = 0; q->do_bit && i < proof->nnsec; i++)
		if (!put_proof_rr(out, cap - ol, &n, q, &proof->nsec[i],
		        DNS_T_NSEC, proof->ttl, &ns))
			return msg_truncated(
			    out, cap, pkt, q, (unsigned)proof->rcode);
	msg_set_counts(out, 0, ns, 0);
	set_ad(out, q, true);
	return msg_put_opt(out, n, cap, q, (unsigned)proof->rcode, 0, NULL);
}

size_t
ans_from_result(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, const struct iter_result *res)
{
	const char *ede = res->failed || res->ede_code ? res->reason : NULL;
	size_t ol = msg_opt_size(q, ede);
	size_t n = msg_put_head(out, cap, pkt, q, res->rcode);
	/* (no records: rr is NULL, and no pointer arithmetic on it) */
	const uint8_t *p, *end = res->rr_len ? res->rr + res->rr_len : NULL;
	unsigned an = 0, ns = 0;

	if (n == 0)
		return 0;
	if (cap < n + ol)
		return msg_truncated(out, cap, pkt, q, res->rcode);
	/* the answer section, then the authority section */
	for (int pass = 0; pass < 2 && end != NULL; pass++) {
		for (p = res->rr; p + 1 < end;) {
			uint8_t flags = *p++;
			size_t nl = dns_name_len(p, (size_t)(end - p));
			if (nl == 0 || (size_t)(end - p) < nl + 10)
				break;
			size_t rl = nl + 10 + dns_get16(p + nl + 8);
			/* RRSIGs and proofs only for those who asked (DO) */
			if (((flags & ITER_RR_AUTHORITY) != 0) == (pass == 1) &&
			    (!(flags & ITER_RR_DNSSEC) || q->do_bit)) {
				n = msg_put_full_rr(out, n, cap - ol, q, p, rl);
				if (n == 0)
					return msg_truncated(
					    out, cap, pkt, q, res->rcode);
				if (pass == 1)
					ns++;
				else
					an++;
			}
			p += rl;
		}
	}
	msg_set_counts(out, an, ns, 0);
	set_ad(out, q, res->secure && !res->failed);
	return msg_put_opt(out, n, cap, q, res->rcode, res->ede_code, ede);
}

/* Append the records of one cached RRset (owner @p owner) at *n. */
static bool
put_rrset(uint8_t *out, size_t cap, size_t *n, const struct msg_query *q,
    const struct cache_rrset_out *o, const uint8_t *owner)
{
	const uint8_t *p = o->rdata;

	for (unsigned k = 0; k < o->nrr; k++) {
		size_t w = msg_put_rr(
		    out, *n, cap, q, owner, o->type, o->rclass, o->ttl, p);
		if (w == 0)
			return false;
		*n = w;
		p += 2 + dns_get16(p);
	}
	return true;
}

size_t
ans_chaos(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, const char *text)
{
	uint8_t rdl[2 + 1 + 255];
	size_t len = strlen(text), n;

	if (len > 255)
		len = 255;
	dns_put16(rdl, (uint16_t)(1 + len));
	rdl[2] = (uint8_t)len;
	memcpy(rdl + 3, text, len);
	n = msg_put_head(out, cap, pkt, q, DNS_RCODE_NOERROR);
	if (n == 0)
		return 0;
	out[2] |= DNS_FLAG_AA >> 8;
	n = msg_put_rr(out, n, cap, q, q->qname, DNS_T_TXT, DNS_C_CH, 0, rdl);
	if (n == 0)
		return 0;
	msg_set_counts(out, 1, 0, 0);
	return msg_put_opt(out, n, cap, q, DNS_RCODE_NOERROR, 0, NULL);
}

size_t
ans_norec(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct cache *c, unsigned max_cname,
    uint64_t now_ms, struct ans_scratch *scratch, bool *hit)
{
	uint8_t *buf = scratch->ns, *abuf = scratch->addr;
	struct cache_rrset_out o, a;
	size_t n;
	size_t ol = msg_opt_size(q, NULL);
	const uint8_t *name = q->qname;
	unsigned ns = 0, ar = 0;
	bool answer = false, pf;

	/* An NS question answered from the cache gets the addresses of the
	 * NS names too (as `dig +trace` expects of ". NS"); others are a plain
	 * cache answer when there is one. */
	*hit = false;
	if (q->qtype != DNS_T_NS) {
		n = ans_from_cache(out, cap, pkt, q, c, max_cname, now_ms, &pf);
		if (n > 0) {
			*hit = true;
			return n;
		}
	}
	n = msg_put_head(out, cap, pkt, q, 0);
	if (n == 0 || cap < n + ol)
		return 0;
	if (q->qtype == DNS_T_NS &&
	    cache_get(c, name, DNS_T_NS, q->qclass, now_ms, &o, buf,
	        sizeof(scratch->ns)) == 1 &&
	    o.kind == CACHE_RRSET && o.rank >= CACHE_RANK_ANSWER_MIN &&
	    o.sec != CACHE_SEC_UNCHECKED && o.sec != CACHE_SEC_BOGUS)
		answer = *hit = true;
	/* else the deepest cached NS set at or above the name: a referral */
	while (!answer) {
		if (cache_get(c, name, DNS_T_NS, q->qclass, now_ms, &o, buf,
		        sizeof(scratch->ns)) == 1 &&
		    o.kind == CACHE_RRSET)
			break;
		if (name[0] == 0) {
			n = ans_from_cache(
			    out, cap, pkt, q, c, max_cname, now_ms, &pf);
			if (n > 0) {
				*hit = true;
				return n;
			}
			n = msg_put_head(out, cap, pkt, q, 0);
			return msg_put_opt(out, n, cap, q, 0, 0, NULL);
		}
		name = dns_name_parent(name);
	}
	if (!put_rrset(out, cap - ol, &n, q, &o, name))
		return msg_truncated(out, cap, pkt, q, 0);
	ns = o.nrr;
	const uint8_t *p = o.rdata;
	for (unsigned k = 0; k < o.nrr; k++) {
		size_t l = dns_get16(p);
		for (int t = 0; t < 2; t++) {
			uint16_t type = t ? DNS_T_AAAA : DNS_T_A;
			if (cache_get(c, p + 2, type, q->qclass, now_ms, &a,
			        abuf, sizeof(scratch->addr)) == 1 &&
			    a.kind == CACHE_RRSET) {
				size_t before = n;
				if (!put_rrset(
				        out, cap - ol, &n, q, &a, p + 2)) {
					n = before;
					goto done;
				}
				ar += a.nrr;
			}
		}
		p += 2 + l;
	}
done:
	msg_set_counts(out, answer ? ns : 0, answer ? 0 : ns, ar);
	return msg_put_opt(out, n, cap, q, 0, 0, NULL);
}
