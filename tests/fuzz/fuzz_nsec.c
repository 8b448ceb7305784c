/**
 * @file fuzz_nsec.c
 * The NSEC store of aggressive negative answers (cache/nsec.c): puts of
 * fuzzed NSEC records and SOAs, proofs of fuzzed names, clock steps and
 * flushes, on a small store (so that eviction runs), in the order the
 * input says. Nothing may crash or leak, the byte budget must hold after
 * every step, and every proof returned must be self-consistent: checked
 * here from the question and the records it carries alone (canonical
 * order, the type bitmaps, the closest encloser and its wildcard), not
 * from the store's own state.
 *
 * Input: a sequence of operations, each an op byte and its arguments.
 *
 *	op & 7	0 put NSEC: zone, owner name, next name, bitmap, TTL
 *		1 put SOA: zone, TTL
 *		2, 6, 7 prove: name, type
 *		3 clock: d (the clock advances d * 250 ms)
 *		4 flush the zone of a name: name
 *		5 flush everything
 *	op & 0x80: the RRSIG covers the wrong type (a put that must fail)
 *
 *	zone	a byte: one of ".", "example.", "w.example.", "c.example.",
 *		"test." (byte % 5)
 *	name	a byte k: 0xff, then a length byte and that many bytes, taken
 *		as a wire name as they are; otherwise the zone (k & 7) % 5
 *		under (k >> 3) & 3 labels, each a byte choosing one of 16
 *		labels ("a", "b", "c", "w", "x", "z", "*", "m", "n", "\000",
 *		"A", "ab", "-", "0", "zz", "sub")
 *	bitmap	a byte b: 0xff, then a length byte and that many bytes as the
 *		raw type bitmap; otherwise the bits 0 NS, 1 SOA, 2 CNAME,
 *		3 DNAME, 4 DS, 5 A, 6 TXT, 7 no NSEC, as a well-formed bitmap
 *	TTL	a byte t: t * 8 s
 *	type	a byte: 0xff then two bytes (big-endian); otherwise one of A,
 *		NS, CNAME, SOA, MX, TXT, AAAA, DS, NSEC, RRSIG, DNSKEY, DNAME,
 *		ANY, CAA (byte % 14)
 */
#include <errno.h>
#include <string.h>

#include "cache/nsec.h"
#include "resolver/dns.h"
#include "tests/fuzz/fuzz.h"

#define MAX_BYTES (24u << 10)

static const char *const zones[] = {
    "\0", "\7example\0", "\1w\7example\0", "\1c\7example\0", "\4test\0"};
#define NZONES 5

static const char *const labels[16] = {"\1a", "\1b", "\1c", "\1w", "\1x", "\1z",
    "\1*", "\1m", "\1n", "\1\0", "\1A", "\2ab", "\1-", "\0010", "\2zz",
    "\3sub"};

static const uint16_t types[14] = {DNS_T_A, DNS_T_NS, DNS_T_CNAME, DNS_T_SOA,
    DNS_T_MX, DNS_T_TXT, DNS_T_AAAA, DNS_T_DS, DNS_T_NSEC, DNS_T_RRSIG,
    DNS_T_DNSKEY, DNS_T_DNAME, DNS_T_ANY, 257};

struct in {
	const uint8_t *p;
	size_t left;
};

static uint8_t
byte(struct in *in)
{
	if (in->left == 0)
		return 0;
	in->left--;
	return *in->p++;
}

static const uint8_t *
zone_at(unsigned i)
{
	return (const uint8_t *)zones[i % NZONES];
}

/* A name from the input into @p out (LIM_NAME_MAX + 1 bytes). Raw names
 * may be malformed: the store must refuse them. */
static void
name(struct in *in, uint8_t *out)
{
	uint8_t k = byte(in);
	const uint8_t *z;
	size_t o = 0, zl;

	memset(out, 0, LIM_NAME_MAX + 1);
	if (k == 0xff) {
		size_t l = byte(in);
		for (size_t i = 0; i < l && i < LIM_NAME_MAX; i++)
			out[i] = byte(in);
		return;
	}
	z = zone_at((k & 7u) % NZONES);
	zl = dns_name_len(z, LIM_NAME_MAX);
	for (unsigned i = 0; i < ((k >> 3) & 3u); i++) {
		const char *lb = labels[byte(in) % 16];
		size_t ll = 1 + (size_t)(uint8_t)lb[0];
		memcpy(out + o, lb, ll);
		o += ll;
	}
	memcpy(out + o, z, zl);
}

/* A type bitmap from the input. @return its length. */
static size_t
bitmap(struct in *in, uint8_t *out)
{
	uint8_t b = byte(in);
	uint8_t w0[32], w1[1];
	size_t o = 0, l0 = 0;

	if (b == 0xff) {
		size_t l = byte(in);
		for (size_t i = 0; i < l; i++)
			out[i] = byte(in);
		return l;
	}
	memset(w0, 0, sizeof(w0));
	memset(w1, 0, sizeof(w1));
#define SET(t) (w0[(t) >> 3] |= (uint8_t)(0x80 >> ((t)&7)))
	if (b & 0x01)
		SET(DNS_T_NS);
	if (b & 0x02)
		SET(DNS_T_SOA);
	if (b & 0x04)
		SET(DNS_T_CNAME);
	if (b & 0x08)
		SET(DNS_T_DNAME);
	if (b & 0x10)
		SET(DNS_T_DS);
	if (b & 0x20)
		SET(DNS_T_A);
	if (b & 0x40)
		SET(DNS_T_TXT);
	if (!(b & 0x80)) {
		SET(DNS_T_NSEC);
		SET(DNS_T_RRSIG);
	}
#undef SET
	for (size_t i = 0; i < sizeof(w0); i++)
		if (w0[i])
			l0 = i + 1;
	if (l0) {
		out[o++] = 0;
		out[o++] = (uint8_t)l0;
		memcpy(out + o, w0, l0);
		o += l0;
	}
	return o;
}

/* One RRSIG rdata list covering @p covered, signed by @p signer. */
static size_t
sig(uint8_t *out, uint16_t covered, const uint8_t *signer)
{
	size_t sl = dns_name_len(signer, LIM_NAME_MAX), o = 2;

	dns_put16(out + o, covered);
	out[o + 2] = 13;
	out[o + 3] = 1;
	memset(out + o + 4, 0x11, 14);
	o += 18;
	memcpy(out + o, signer, sl);
	o += sl;
	memset(out + o, 0x5a, 64);
	o += 64;
	dns_put16(out, (uint16_t)(o - 2));
	return o;
}

/* ------------------------------------------------------ the checks */

/* owner < name < next, or owner < name for the last NSEC (next = apex). */
static bool
covers(const uint8_t *owner, const uint8_t *next, const uint8_t *apex,
    const uint8_t *name)
{
	return dns_name_cmp(owner, name) < 0 &&
	    (dns_name_eq(next, apex) || dns_name_cmp(name, next) < 0);
}

/* One record of the proof: owner and RDATA well-formed, in the zone. */
static void
check_rr(
    const struct nsec_proof *p, const struct nsec_proof_rr *r, size_t *next_len)
{
	size_t nl;

	if (dns_name_len(r->owner, r->owner_len) != r->owner_len ||
	    !dns_name_under(r->owner, p->zone) || r->ttl < p->ttl ||
	    r->nsig < 1 || r->rdlen > NSEC_RDATA_MAX ||
	    r->sigs_len > NSEC_SIGS_MAX)
		abort();
	nl = dns_name_len(r->rdata, r->rdlen);
	if (nl == 0 || !dns_name_under(r->rdata, p->zone) ||
	    !nsec_bitmap_ok(r->rdata + nl, r->rdlen - nl))
		abort();
	*next_len = nl;
}

/* Is the proof sound for (q, qtype)? Abort if not. */
static void
check_proof(const struct nsec_proof *p, const uint8_t *q, uint16_t qtype)
{
	const struct nsec_proof_rr *r0 = &p->nsec[0];
	const uint8_t *bm, *ce, *ce2;
	uint8_t lq[LIM_NAME_MAX], wild[LIM_NAME_MAX + 2];
	size_t nl[NSEC_PROOF_MAX], bl, cl;

	dns_name_lower(lq, q);
	if (p->ttl == 0 || p->nnsec < 1 || p->nnsec > NSEC_PROOF_MAX)
		abort();
	if (dns_name_len(p->zone, p->zone_len) != p->zone_len ||
	    p->soa.owner_len != p->zone_len ||
	    memcmp(p->soa.owner, p->zone, p->zone_len) != 0 ||
	    p->soa.ttl < p->ttl || p->soa.nsig < 1)
		abort();
	/* DS is the parent's: the zone is above the name */
	if (!dns_name_under(lq, p->zone) ||
	    (qtype == DNS_T_DS && dns_name_eq(lq, p->zone)))
		abort();
	for (unsigned i = 0; i < p->nnsec; i++)
		check_rr(p, &p->nsec[i], &nl[i]);
	bm = r0->rdata + nl[0];
	bl = r0->rdlen - nl[0];
	if (p->rcode == DNS_RCODE_NOERROR) {
		if (p->nnsec != 1)
			abort();
		if (dns_name_eq(r0->owner, lq)) {
			bool cut = nsec_bitmap_has(bm, bl, DNS_T_NS) &&
			    !nsec_bitmap_has(bm, bl, DNS_T_SOA);
			if (nsec_bitmap_has(bm, bl, qtype) ||
			    nsec_bitmap_has(bm, bl, DNS_T_CNAME) ||
			    qtype == DNS_T_ANY || (cut && qtype != DNS_T_DS) ||
			    (qtype == DNS_T_DS &&
			        nsec_bitmap_has(bm, bl, DNS_T_SOA)))
				abort();
			return;
		}
		/* an empty non-terminal */
		if (!covers(r0->owner, r0->rdata, p->zone, lq) ||
		    dns_name_eq(r0->rdata, p->zone) ||
		    !dns_name_below(r0->rdata, lq))
			abort();
		return;
	}
	if (p->rcode != DNS_RCODE_NXDOMAIN)
		abort();
	if (!covers(r0->owner, r0->rdata, p->zone, lq))
		abort();
	if (!dns_name_eq(r0->rdata, p->zone) && dns_name_below(r0->rdata, lq))
		abort(); /* that is an empty non-terminal */
	/* an owner above the name that is a cut or a DNAME denies nothing
	 * below it */
	if (dns_name_below(lq, r0->owner) &&
	    (nsec_bitmap_has(bm, bl, DNS_T_DNAME) ||
	        (nsec_bitmap_has(bm, bl, DNS_T_NS) &&
	            !nsec_bitmap_has(bm, bl, DNS_T_SOA))))
		abort();
	ce = dns_name_common(lq, r0->owner);
	ce2 = dns_name_common(lq, r0->rdata);
	if (dns_name_labels(ce2) > dns_name_labels(ce))
		ce = ce2;
	cl = dns_name_len(ce, LIM_NAME_MAX);
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, ce, cl);
	{
		const struct nsec_proof_rr *w = &p->nsec[p->nnsec - 1];
		if (!covers(w->owner, w->rdata, p->zone, wild))
			abort();
	}
}

/* What a put may return; one with a wrong RRSIG must be refused. */
static void
check_put(int rc, bool bad_sig)
{
	if (rc != 1 && rc != 0 && rc != -EINVAL && rc != -E2BIG &&
	    rc != -ENOMEM)
		abort();
	if (bad_sig && rc != -EINVAL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nsec_cache *nc = nsec_cache_new(MAX_BYTES);
	static struct nsec_proof pr;
	struct nsec_cache_stats st;
	struct in in = {data, size};
	uint64_t now = FUZZ_NOW_MS;
	uint8_t o[LIM_NAME_MAX + 1], n[LIM_NAME_MAX + 1];
	uint8_t rd[2 * LIM_NAME_MAX + 600], sigs[400];

	if (nc == NULL)
		fuzz_die("nsec_cache_new");
	while (in.left > 0) {
		uint8_t op = byte(&in);
		const uint8_t *z;
		size_t rl, sl, nl;
		uint16_t qt;
		int rc;

		switch (op & 7) {
		case 0:
			z = zone_at(byte(&in));
			name(&in, o);
			name(&in, n);
			nl = dns_name_len(n, LIM_NAME_MAX);
			if (nl == 0)
				nl = 1 + (size_t)(n[0] & 0x3f);
			memcpy(rd, n, nl);
			rl = nl + bitmap(&in, rd + nl);
			sl = sig(sigs, op & 0x80 ? DNS_T_A : DNS_T_NSEC, z);
			rc = nsec_cache_put(nc, z, o, rd, rl,
			    (uint32_t)byte(&in) * 8, sigs, sl, 1, now);
			check_put(rc, op & 0x80);
			break;
		case 1:
			z = zone_at(byte(&in));
			/* ns.ZONE hostmaster.ZONE and five fields */
			nl = dns_name_len(z, LIM_NAME_MAX);
			rd[0] = 2;
			memcpy(rd + 1, "ns", 2);
			memcpy(rd + 3, z, nl);
			rl = 3 + nl;
			rd[rl] = 10;
			memcpy(rd + rl + 1, "hostmaster", 10);
			memcpy(rd + rl + 11, z, nl);
			rl += 11 + nl;
			memset(rd + rl, 0x22, 20);
			rl += 20;
			sl = sig(sigs, op & 0x80 ? DNS_T_NSEC : DNS_T_SOA, z);
			rc = nsec_cache_put_soa(nc, z, rd, rl,
			    (uint32_t)byte(&in) * 8, sigs, sl, 1, now);
			check_put(rc, op & 0x80);
			/* a good SOA is refused only for want of space */
			if (!(op & 0x80) && rc == -EINVAL)
				abort();
			break;
		case 3:
			now += (uint64_t)byte(&in) * 250;
			break;
		case 4:
			name(&in, n);
			nsec_cache_flush_zone(nc, n);
			break;
		case 5:
			nsec_cache_flush_all(nc);
			break;
		default: /* 2, 6, 7 */
			name(&in, n);
			qt = byte(&in);
			if (qt == 0xff) {
				qt = (uint16_t)(byte(&in) << 8);
				qt |= byte(&in);
			} else {
				qt = types[qt % 14];
			}
			rc = nsec_cache_prove(nc, n, qt, now, &pr);
			if (rc == -EINVAL) {
				if (dns_name_len(n, LIM_NAME_MAX) != 0)
					abort();
			} else if (rc == 1) {
				check_proof(&pr, n, qt);
			} else if (rc != 0) {
				abort();
			}
			break;
		}
		nsec_cache_stats(nc, &st);
		if (st.bytes > st.max_bytes || st.records > st.stores)
			abort();
	}
	nsec_cache_free(nc);
	return 0;
}
