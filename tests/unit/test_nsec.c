/*
 * test_nsec.c: unit tests of cache/nsec.c, the store of secure NSEC records
 * for aggressive negative answers (RFC 8198). Time is a parameter: every
 * test picks its own now_ms and ages records by passing a later one.
 *
 * The zone most tests use, in canonical order (RFC 4034 6.1):
 *
 *	example.      NSEC a.example.     SOA NS NSEC RRSIG DNSKEY
 *	a.example.    NSEC c.example.     A NSEC RRSIG
 *	c.example.    NSEC *.w.example.   A NSEC RRSIG  (or, as a delegation:
 *	                                  NS NSEC RRSIG)
 *	*.w.example.  NSEC x.w.example.   TXT NSEC RRSIG
 *	x.w.example.  NSEC example.       A NSEC RRSIG  (the last one)
 *
 * so w.example. is an empty non-terminal, *.example. does not exist (covered
 * by example. -> a.example.) and *.w.example. does.
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

#include "cache/nsec.h"
#include "resolver/dns.h"

#define T0  1700000000000ULL /* an arbitrary "now", ms */
#define SEC 1000ULL
#define END 0 /* ends a list of types */

/* ------------------------------------------------------------ helpers */

/* "www.example" -> wire (no escapes; "" or "." is the root). */
static size_t
wire(uint8_t *out, const char *s)
{
	size_t o = 0;

	if (strcmp(s, ".") == 0)
		s = "";
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

/* A type bitmap (RFC 4034 4.1.2) of the types in @p types (any order,
 * ended by END). @return its length. */
static size_t
bitmap(uint8_t *out, const uint16_t *types)
{
	uint8_t win[256][32];
	unsigned len[256];
	size_t o = 0;

	memset(win, 0, sizeof(win));
	memset(len, 0, sizeof(len));
	for (const uint16_t *t = types; *t != END; t++) {
		unsigned w = *t >> 8, b = (*t & 0xff) >> 3;
		win[w][b] |= (uint8_t)(0x80 >> (*t & 7));
		if (b + 1 > len[w])
			len[w] = b + 1;
	}
	for (unsigned w = 0; w < 256; w++) {
		if (len[w] == 0)
			continue;
		out[o++] = (uint8_t)w;
		out[o++] = (uint8_t)len[w];
		memcpy(out + o, win[w], len[w]);
		o += len[w];
	}
	return o;
}

/* NSEC RDATA: next name then the bitmap of the types. */
static size_t
nsec_rdata(uint8_t *out, const char *next, const uint16_t *types)
{
	size_t l = wire(out, next);

	return l + bitmap(out + l, types);
}

/* An rdata list of one RRSIG covering @p covered, signed by @p signer,
 * with a 64-byte signature whose bytes are @p fill. */
static size_t
sig_list(uint8_t *out, uint16_t covered, const char *signer, uint8_t fill)
{
	size_t o = 2;

	dns_put16(out + o, covered);
	out[o + 2] = 13; /* ECDSAP256SHA256 */
	out[o + 3] = 2;  /* labels */
	dns_put32(out + o + 4, 3600);
	dns_put32(out + o + 8, 1800000000u);
	dns_put32(out + o + 12, 1690000000u);
	dns_put16(out + o + 16, 12345);
	o += 18;
	o += wire(out + o, signer);
	memset(out + o, fill, 64);
	o += 64;
	dns_put16(out, (uint16_t)(o - 2));
	return o;
}

/* Store an NSEC of @p zone: owner, next, TTL, then the types, END. */
static int
put_nsec(struct nsec_cache *nc, const char *zone, const char *owner,
    const char *next, uint32_t ttl, uint64_t now, ...)
{
	uint16_t types[64];
	uint8_t rd[600], sigs[400];
	size_t rl, sl;
	unsigned n = 0;
	va_list ap;

	va_start(ap, now);
	while ((types[n] = (uint16_t)va_arg(ap, int)) != END && n < 62)
		n++;
	va_end(ap);
	types[n] = END;
	rl = nsec_rdata(rd, next, types);
	sl = sig_list(sigs, DNS_T_NSEC, zone, 0xa5);
	return nsec_cache_put(
	    nc, N(zone), N(owner), rd, rl, ttl, sigs, sl, 1, now);
}

/* SOA RDATA: ns.<zone> hostmaster.<zone> and five fields. */
static size_t
soa_rdata(uint8_t *out, const char *zone)
{
	char tmp[300];
	size_t l;

	if (strcmp(zone, ".") == 0)
		zone = "";
	snprintf(tmp, sizeof(tmp), "ns.%s", zone);
	l = wire(out, tmp);
	snprintf(tmp, sizeof(tmp), "hostmaster.%s", zone);
	l += wire(out + l, tmp);
	for (int i = 0; i < 5; i++)
		dns_put32(out + l + 4 * (size_t)i, 2023111401u + (uint32_t)i);
	return l + 20;
}

static int
put_soa(struct nsec_cache *nc, const char *zone, uint32_t ttl, uint64_t now)
{
	uint8_t rd[600], sigs[400];
	size_t rl = soa_rdata(rd, zone);
	size_t sl = sig_list(sigs, DNS_T_SOA, zone, 0x5a);

	return nsec_cache_put_soa(nc, N(zone), rd, rl, ttl, sigs, sl, 1, now);
}

/* The example zone above; @p deleg makes c.example. a delegation. */
static void
example_zone(struct nsec_cache *nc, bool deleg, uint64_t now)
{
	assert_int_equal(put_soa(nc, "example", 3600, now), 1);
	assert_int_equal(put_nsec(nc, "example", "example", "a.example", 3600,
	                     now, DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG,
	                     DNS_T_DNSKEY, END),
	    1);
	assert_int_equal(put_nsec(nc, "example", "a.example", "c.example", 3600,
	                     now, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	if (deleg)
		assert_int_equal(
		    put_nsec(nc, "example", "c.example", "*.w.example", 3600,
		        now, DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
		    1);
	else
		assert_int_equal(
		    put_nsec(nc, "example", "c.example", "*.w.example", 3600,
		        now, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
		    1);
	assert_int_equal(
	    put_nsec(nc, "example", "*.w.example", "x.w.example", 3600, now,
	        DNS_T_TXT, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(put_nsec(nc, "example", "x.w.example", "example", 3600,
	                     now, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
}

static struct nsec_proof pr; /* large: not on the test's stack */

static int
prove(struct nsec_cache *nc, const char *qname, uint16_t qtype, uint64_t now)
{
	memset(&pr, 0xee, sizeof(pr));
	return nsec_cache_prove(nc, N(qname), qtype, now, &pr);
}

/* The proof's i-th NSEC is owned by @p owner. */
static void
assert_owner(unsigned i, const char *owner)
{
	uint8_t w[256];
	size_t l = wire(w, owner);

	assert_true(i < pr.nnsec);
	assert_int_equal(pr.nsec[i].owner_len, l);
	assert_memory_equal(pr.nsec[i].owner, w, l);
}

/* The proof is of zone @p zone, with its SOA. */
static void
assert_zone(const char *zone)
{
	uint8_t w[256], rd[600];
	size_t l = wire(w, zone), rl = soa_rdata(rd, zone);

	assert_int_equal(pr.zone_len, l);
	assert_memory_equal(pr.zone, w, l);
	assert_int_equal(pr.soa.owner_len, l);
	assert_memory_equal(pr.soa.owner, w, l);
	assert_int_equal(pr.soa.rdlen, rl);
	assert_memory_equal(pr.soa.rdata, rd, rl);
	assert_int_equal(pr.soa.nsig, 1);
	assert_int_equal(dns_get16(pr.soa.sigs + 2), DNS_T_SOA);
}

/* ------------------------------------------------------------- proofs */

static void
test_nxdomain(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);
	struct nsec_cache_stats st;
	uint8_t rd[600], sigs[400];
	size_t rl, sl;

	(void)state;
	example_zone(nc, false, T0);
	/* b.example: a -> c covers it, example. -> a covers *.example */
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(pr.nnsec, 2);
	assert_owner(0, "a.example");
	assert_owner(1, "example");
	assert_zone("example");
	assert_int_equal(pr.ttl, 3600);
	assert_int_equal(pr.nsec[0].ttl, 3600);
	/* the records come out exactly as they went in */
	rl = nsec_rdata(rd, "c.example",
	    (const uint16_t[]){DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END});
	sl = sig_list(sigs, DNS_T_NSEC, "example", 0xa5);
	assert_int_equal(pr.nsec[0].rdlen, rl);
	assert_memory_equal(pr.nsec[0].rdata, rd, rl);
	assert_int_equal(pr.nsec[0].nsig, 1);
	assert_int_equal(pr.nsec[0].sigs_len, sl);
	assert_memory_equal(pr.nsec[0].sigs, sigs, sl);

	/* any type, and names further down the same gap */
	assert_int_equal(prove(nc, "b.example", DNS_T_AAAA, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(prove(nc, "deep.er.b.example", DNS_T_MX, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_owner(0, "a.example");
	/* the closest encloser is the owner itself: x.w.example. -> example.
	 * covers both b.x.w.example. and *.x.w.example. */
	assert_int_equal(prove(nc, "b.x.w.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(pr.nnsec, 1);
	assert_owner(0, "x.w.example");
	/* a DS of a name that does not exist */
	assert_int_equal(prove(nc, "b.example", DNS_T_DS, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);

	/* names outside every zone stored, and the zone's own names */
	assert_int_equal(prove(nc, "b.example.org", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "org", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, ".", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "a.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "x.w.example", DNS_T_A, T0), 0);

	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 1);
	assert_int_equal(st.records, 5);
	assert_int_equal(st.stores, 6);
	assert_int_equal(st.proofs, 5);
	assert_int_equal(st.misses, 5);
	nsec_cache_free(nc);
}

static void
test_last_nsec(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);

	(void)state;
	example_zone(nc, false, T0);
	/* after x.w.example. in canonical order: covered by the last NSEC */
	assert_int_equal(prove(nc, "z.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_owner(0, "x.w.example");
	assert_owner(1, "example");
	assert_int_equal(prove(nc, "zz.y.example", DNS_T_TXT, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_owner(0, "x.w.example");
	/* y.example sorts after x.w.example too ("y" > "w") */
	assert_int_equal(prove(nc, "y.example", DNS_T_A, T0), 1);
	assert_owner(0, "x.w.example");

	/* a zone of its apex alone: apex -> apex covers every name below */
	assert_int_equal(put_soa(nc, "lone.test", 600, T0), 1);
	assert_int_equal(
	    put_nsec(nc, "lone.test", "lone.test", "lone.test", 600, T0,
	        DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "www.lone.test", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(pr.nnsec, 1);
	assert_owner(0, "lone.test");
	assert_zone("lone.test");
	assert_int_equal(pr.ttl, 600);
	assert_int_equal(prove(nc, "lone.test", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	nsec_cache_free(nc);
}

static void
test_nodata(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);

	(void)state;
	example_zone(nc, false, T0);
	/* a.example. has A only */
	assert_int_equal(prove(nc, "a.example", DNS_T_AAAA, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(pr.nnsec, 1);
	assert_owner(0, "a.example");
	assert_zone("example");
	assert_int_equal(prove(nc, "a.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "a.example", DNS_T_ANY, T0), 0);
	assert_int_equal(prove(nc, "a.example", DNS_T_NSEC, T0), 0);
	assert_int_equal(prove(nc, "a.example", DNS_T_RRSIG, T0), 0);
	/* a type of another window */
	assert_int_equal(prove(nc, "a.example", 257, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	/* a.example. has no DS: the parent side is this zone (it has no
	 * NS), so that is a NODATA too */
	assert_int_equal(prove(nc, "a.example", DNS_T_DS, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);

	/* the apex: NODATA for what it lacks, nothing for what it has; its
	 * DS is the parent's to deny, and the parent is not stored */
	assert_int_equal(prove(nc, "example", DNS_T_MX, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	assert_owner(0, "example");
	assert_int_equal(prove(nc, "example", DNS_T_SOA, T0), 0);
	assert_int_equal(prove(nc, "example", DNS_T_DNSKEY, T0), 0);
	assert_int_equal(prove(nc, "example", DNS_T_DS, T0), 0);

	/* a CNAME at the name: no NODATA for any type */
	assert_int_equal(put_nsec(nc, "example", "a.example", "c.example", 3600,
	                     T0, DNS_T_CNAME, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "a.example", DNS_T_AAAA, T0), 0);
	assert_int_equal(prove(nc, "a.example", DNS_T_MX, T0), 0);
	assert_int_equal(prove(nc, "a.example", DNS_T_DS, T0), 0);
	/* the literal wildcard name: its own NSEC */
	assert_int_equal(prove(nc, "*.w.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	assert_owner(0, "*.w.example");
	assert_int_equal(prove(nc, "*.w.example", DNS_T_TXT, T0), 0);
	nsec_cache_free(nc);
}

static void
test_delegation(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);

	(void)state;
	example_zone(nc, true, T0);
	/* below the cut: the parent's chain says nothing */
	assert_int_equal(prove(nc, "foo.c.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "a.b.foo.c.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "foo.c.example", DNS_T_DS, T0), 0);
	/* at the cut: nothing but DS (RFC 4035 5.4) */
	assert_int_equal(prove(nc, "c.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "c.example", DNS_T_AAAA, T0), 0);
	assert_int_equal(prove(nc, "c.example", DNS_T_NS, T0), 0);
	assert_int_equal(prove(nc, "c.example", DNS_T_DS, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(pr.nnsec, 1);
	assert_owner(0, "c.example");
	assert_zone("example");
	/* beside the cut, the delegation's NSEC still covers names */
	assert_int_equal(prove(nc, "d.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_owner(0, "c.example");
	assert_owner(1, "example");

	/* a signed delegation: DS present, nothing to deny */
	assert_int_equal(
	    put_nsec(nc, "example", "c.example", "*.w.example", 3600, T0,
	        DNS_T_NS, DNS_T_DS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "c.example", DNS_T_DS, T0), 0);

	/* the child zone stored too: its names are its own, its DS still
	 * the parent's (whose record now lists DS) */
	assert_int_equal(put_soa(nc, "c.example", 3600, T0), 1);
	assert_int_equal(put_nsec(nc, "c.example", "c.example", "m.c.example",
	                     3600, T0, DNS_T_SOA, DNS_T_NS, DNS_T_NSEC,
	                     DNS_T_RRSIG, DNS_T_DNSKEY, END),
	    1);
	assert_int_equal(put_nsec(nc, "c.example", "m.c.example", "c.example",
	                     3600, T0, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "foo.c.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_zone("c.example");
	assert_int_equal(prove(nc, "c.example", DNS_T_MX, T0), 1);
	assert_zone("c.example");
	assert_int_equal(prove(nc, "c.example", DNS_T_DS, T0), 0);

	/* a DNAME: names below it are redirected, not absent */
	assert_int_equal(put_nsec(nc, "example", "a.example", "c.example", 3600,
	                     T0, DNS_T_DNAME, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "b.a.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "a.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	nsec_cache_free(nc);
}

static void
test_wildcard(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);

	(void)state;
	example_zone(nc, false, T0);
	/* *.w.example. exists: y.w.example. is synthesised from it, not
	 * absent */
	assert_int_equal(prove(nc, "y.w.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "y.w.example", DNS_T_TXT, T0), 0);
	assert_int_equal(prove(nc, "a.y.w.example", DNS_T_A, T0), 0);
	/* nothing known of the wildcard: no proof either */
	assert_int_equal(put_soa(nc, "gap.test", 600, T0), 1);
	assert_int_equal(put_nsec(nc, "gap.test", "m.gap.test", "p.gap.test",
	                     600, T0, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "n.gap.test", DNS_T_A, T0), 0);
	/* once the record that covers *.gap.test. is known, there is */
	assert_int_equal(
	    put_nsec(nc, "gap.test", "gap.test", "b.gap.test", 600, T0,
	        DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "n.gap.test", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_owner(0, "m.gap.test");
	assert_owner(1, "gap.test");
	/* a name below the wildcard exists (*.gap.test. is an empty
	 * non-terminal): it would match, no NXDOMAIN */
	assert_int_equal(
	    put_nsec(nc, "gap.test", "gap.test", "x.*.gap.test", 600, T0,
	        DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "n.gap.test", DNS_T_A, T0), 0);
	nsec_cache_free(nc);
}

static void
test_empty_non_terminal(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);

	(void)state;
	example_zone(nc, false, T0);
	/* w.example. has no NSEC of its own, but c.example.'s next name
	 * *.w.example. is below it: it exists, without data */
	assert_int_equal(prove(nc, "w.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(pr.nnsec, 1);
	assert_owner(0, "c.example");
	assert_int_equal(prove(nc, "w.example", DNS_T_DS, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(prove(nc, "w.example", DNS_T_ANY, T0), 0);
	/* an empty non-terminal two levels up */
	assert_int_equal(put_soa(nc, "ent.test", 600, T0), 1);
	assert_int_equal(
	    put_nsec(nc, "ent.test", "ent.test", "a.b.c.ent.test", 600, T0,
	        DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "c.ent.test", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	assert_int_equal(prove(nc, "b.c.ent.test", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	/* a sibling in the same gap is absent: *.ent.test. is covered too */
	assert_int_equal(prove(nc, "a.ent.test", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(pr.nnsec, 1);
	nsec_cache_free(nc);
}

static void
test_expiry(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);
	struct nsec_cache_stats st;

	(void)state;
	assert_int_equal(put_soa(nc, "example", 300, T0), 1);
	assert_int_equal(
	    put_nsec(nc, "example", "example", "a.example", 200, T0, DNS_T_SOA,
	        DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(
	    put_nsec(nc, "example", "a.example", "c.example", 100,
	        T0 + 10 * SEC, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	/* the smallest remaining TTL of all, rounded up */
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.ttl, 100);
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0 + 50 * SEC + 1), 1);
	assert_int_equal(pr.ttl, 60);
	assert_int_equal(pr.nsec[0].ttl, 60);
	assert_int_equal(pr.nsec[1].ttl, 150);
	assert_int_equal(pr.soa.ttl, 250);
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0 + 109 * SEC), 1);
	assert_int_equal(pr.ttl, 1);
	/* a.example. ran out at T0 + 110 s: no proof, and it is gone */
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0 + 110 * SEC), 0);
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.expiries, 1);
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0), 0);
	/* the apex's NODATA until its own end */
	assert_int_equal(prove(nc, "example", DNS_T_A, T0 + 199 * SEC), 1);
	assert_int_equal(pr.ttl, 1);
	assert_int_equal(prove(nc, "example", DNS_T_A, T0 + 200 * SEC), 0);

	/* no live SOA, no proof, however live the records */
	assert_int_equal(put_nsec(nc, "example", "example", "a.example", 3600,
	                     T0 + 200 * SEC, DNS_T_SOA, DNS_T_NS, DNS_T_NSEC,
	                     DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "example", DNS_T_A, T0 + 299 * SEC), 1);
	assert_int_equal(pr.ttl, 1); /* the SOA's */
	assert_int_equal(prove(nc, "example", DNS_T_A, T0 + 300 * SEC), 0);
	/* a new SOA brings the zone back */
	assert_int_equal(put_soa(nc, "example", 300, T0 + 400 * SEC), 1);
	assert_int_equal(prove(nc, "example", DNS_T_A, T0 + 400 * SEC), 1);
	assert_int_equal(pr.ttl, 300);

	/* TTL 0 (and one with the top bit set) stores nothing */
	assert_int_equal(put_nsec(nc, "example", "x.example", "z.example", 0,
	                     T0, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    0);
	assert_int_equal(
	    put_nsec(nc, "example", "x.example", "z.example", 0x80000000u, T0,
	        DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    0);
	assert_int_equal(put_soa(nc, "other", 0, T0), 0);
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 1);
	assert_int_equal(st.records, 1);
	nsec_cache_free(nc);
}

static void
test_deepest_zone(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);

	(void)state;
	/* example. delegates sub.a.example. (signed: DS); the child's own
	 * chain is used for its names while its SOA lives */
	example_zone(nc, false, T0);
	assert_int_equal(put_nsec(nc, "example", "a.example", "sub.a.example",
	                     3600, T0, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(
	    put_nsec(nc, "example", "sub.a.example", "c.example", 3600, T0,
	        DNS_T_NS, DNS_T_DS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(put_soa(nc, "sub.a.example", 100, T0), 1);
	assert_int_equal(
	    put_nsec(nc, "sub.a.example", "sub.a.example", "sub.a.example", 100,
	        T0, DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "q.sub.a.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_zone("sub.a.example");
	assert_int_equal(pr.ttl, 100);
	assert_int_equal(prove(nc, "sub.a.example", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	assert_zone("sub.a.example");
	/* its DS: the parent's record, which lists DS */
	assert_int_equal(prove(nc, "sub.a.example", DNS_T_DS, T0), 0);
	/* the child's SOA dead: the parent's delegation says nothing below
	 * the cut, and still denies the names beside it */
	assert_int_equal(
	    prove(nc, "q.sub.a.example", DNS_T_A, T0 + 100 * SEC), 0);
	assert_int_equal(
	    prove(nc, "sub.a.example", DNS_T_A, T0 + 100 * SEC), 0);
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0 + 100 * SEC), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_zone("example");
	assert_owner(0, "sub.a.example");
	nsec_cache_free(nc);
}

static void
test_case_insensitive(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);
	uint8_t rd[600], sigs[400];
	size_t rl, sl;

	(void)state;
	rl = soa_rdata(rd, "example");
	sl = sig_list(sigs, DNS_T_SOA, "example", 0x5a);
	assert_int_equal(
	    nsec_cache_put_soa(nc, N("ExAmple"), rd, rl, 3600, sigs, sl, 1, T0),
	    1);
	assert_int_equal(
	    put_nsec(nc, "EXAMPLE", "Example", "A.example", 3600, T0, DNS_T_SOA,
	        DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(put_nsec(nc, "example", "a.EXAMPLE", "C.Example", 3600,
	                     T0, DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	assert_int_equal(prove(nc, "B.eXaMpLe", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_owner(0, "a.example"); /* owners lowercased */
	assert_owner(1, "example");
	assert_zone("example");
	/* the RDATA as given: the signature covers it */
	rl = nsec_rdata(rd, "C.Example",
	    (const uint16_t[]){DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END});
	assert_int_equal(pr.nsec[0].rdlen, rl);
	assert_memory_equal(pr.nsec[0].rdata, rd, rl);
	assert_int_equal(prove(nc, "A.EXAMPLE", DNS_T_AAAA, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
	/* the same owner in another case replaces the record */
	rl = nsec_rdata(rd, "b.example",
	    (const uint16_t[]){DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END});
	sl = sig_list(sigs, DNS_T_NSEC, "example", 1);
	assert_int_equal(nsec_cache_put(nc, N("example"), N("A.Example"), rd,
	                     rl, 3600, sigs, sl, 1, T0),
	    1);
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "aa.example", DNS_T_A, T0), 1);
	assert_memory_equal(pr.nsec[0].sigs, sigs, sl);
	nsec_cache_free(nc);
}

static void
test_malformed(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);
	struct nsec_cache_stats st;
	uint8_t z[256], o[256]; /* not N(): its ring turns over */
	uint8_t rd[2048], sigs[4096], big[300];
	size_t nl, sl;
	struct nsec_proof *p = &pr;

	(void)state;
	wire(z, "example");
	wire(o, "a.example");
	nl = wire(rd, "c.example");
	sl = sig_list(sigs, DNS_T_NSEC, "example", 7);
#define PUT(len) nsec_cache_put(nc, z, o, rd, (len), 60, sigs, sl, 1, T0)
	/* a good one first: window 0, 6 bytes: A (type 1: byte 0, 0x40),
	 * NSEC (type 47: byte 5, 0x01) */
	rd[nl] = 0;
	rd[nl + 1] = 6;
	memcpy(rd + nl + 2, "\x40\x00\x00\x00\x00\x01", 6);
	assert_int_equal(PUT(nl + 8), 1);
	/* no bitmap; a window of 0 bytes; of 33; cut short; trailing byte */
	assert_int_equal(PUT(nl), -EINVAL);
	rd[nl + 1] = 0;
	assert_int_equal(PUT(nl + 2), -EINVAL);
	rd[nl + 1] = 33;
	memset(rd + nl + 2, 0x01, 33);
	assert_int_equal(PUT(nl + 35), -EINVAL);
	rd[nl + 1] = 6;
	memcpy(rd + nl + 2, "\x40\x00\x00\x00\x00\x01", 6);
	assert_int_equal(PUT(nl + 7), -EINVAL);
	assert_int_equal(PUT(nl + 9), -EINVAL);
	/* windows not ascending: 1 then 0; twice the same */
	memcpy(rd + nl, "\x01\x01\x40\x00\x06\x40\x00\x00\x00\x00\x01", 11);
	assert_int_equal(PUT(nl + 11), -EINVAL);
	memcpy(rd + nl, "\x00\x06\x40\x00\x00\x00\x00\x01\x00\x01\x40", 11);
	assert_int_equal(PUT(nl + 11), -EINVAL);
	/* no NSEC in the bitmap (RFC 4035 2.3) */
	memcpy(rd + nl, "\x00\x01\x40", 3);
	assert_int_equal(PUT(nl + 3), -EINVAL);
	/* the next name: a label over 63, a compression pointer, cut */
	memcpy(rd + nl, "\x00\x06\x40\x00\x00\x00\x00\x01", 8);
	rd[0] = 64;
	assert_int_equal(PUT(nl + 8), -EINVAL);
	rd[0] = 0xc0;
	assert_int_equal(PUT(nl + 8), -EINVAL);
	rd[0] = 1;
	assert_int_equal(PUT(5), -EINVAL);
	/* out of the zone: the owner, the next name */
	assert_int_equal(put_nsec(nc, "example", "a.example.org", "c.example",
	                     60, T0, DNS_T_A, DNS_T_NSEC, END),
	    -EINVAL);
	assert_int_equal(put_nsec(nc, "example", "example.org", "example", 60,
	                     T0, DNS_T_A, DNS_T_NSEC, END),
	    -EINVAL);
	assert_int_equal(put_nsec(nc, "example", "a.example", "c.example.org",
	                     60, T0, DNS_T_A, DNS_T_NSEC, END),
	    -EINVAL);
	assert_int_equal(put_nsec(nc, "a.example", "example", "b.a.example", 60,
	                     T0, DNS_T_A, DNS_T_NSEC, END),
	    -EINVAL);
	/* out of order: next before the owner, next equal to it (not the
	 * apex) */
	assert_int_equal(put_nsec(nc, "example", "c.example", "a.example", 60,
	                     T0, DNS_T_A, DNS_T_NSEC, END),
	    -EINVAL);
	assert_int_equal(put_nsec(nc, "example", "c.example", "C.example", 60,
	                     T0, DNS_T_A, DNS_T_NSEC, END),
	    -EINVAL);
	assert_int_equal(put_nsec(nc, "example", "b.a.example", "a.example", 60,
	                     T0, DNS_T_A, DNS_T_NSEC, END),
	    -EINVAL);
	/* an SOA bit below the apex */
	assert_int_equal(put_nsec(nc, "example", "b.example", "c.example", 60,
	                     T0, DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, END),
	    -EINVAL);
	/* bad names */
	memcpy(rd,
	    "\x01"
	    "c\x07"
	    "example\x00\x00\x06\x40\x00\x00\x00\x00\x01",
	    19);
	assert_int_equal(PUT(19), 1);
	assert_int_equal(nsec_cache_put(nc, (const uint8_t *)"\x40", o, rd, 19,
	                     60, sigs, sl, 1, T0),
	    -EINVAL);
	assert_int_equal(nsec_cache_put(nc, z, (const uint8_t *)"\xc0\x0c", rd,
	                     19, 60, sigs, sl, 1, T0),
	    -EINVAL);
	assert_int_equal(
	    nsec_cache_put(nc, NULL, o, rd, 19, 60, sigs, sl, 1, T0), -EINVAL);
	assert_int_equal(
	    nsec_cache_put(nc, z, o, NULL, 0, 60, sigs, sl, 1, T0), -EINVAL);
	/* signatures: none, a count that does not match, the wrong type
	 * covered, one without a signature, too many bytes */
	assert_int_equal(
	    nsec_cache_put(nc, z, o, rd, 19, 60, sigs, sl, 0, T0), -EINVAL);
	assert_int_equal(
	    nsec_cache_put(nc, z, o, rd, 19, 60, NULL, 0, 0, T0), -EINVAL);
	assert_int_equal(
	    nsec_cache_put(nc, z, o, rd, 19, 60, sigs, sl, 2, T0), -EINVAL);
	assert_int_equal(
	    nsec_cache_put(nc, z, o, rd, 19, 60, sigs, sl - 1, 1, T0), -EINVAL);
	sl = sig_list(sigs, DNS_T_A, "example", 7);
	assert_int_equal(
	    nsec_cache_put(nc, z, o, rd, 19, 60, sigs, sl, 1, T0), -EINVAL);
	sl = sig_list(sigs, DNS_T_NSEC, "example", 7);
	dns_put16(sigs, (uint16_t)(18 + 9));
	assert_int_equal(
	    nsec_cache_put(nc, z, o, rd, 19, 60, sigs, 2 + 18 + 9, 1, T0),
	    -EINVAL);
	sl = sig_list(sigs, DNS_T_NSEC, "example", 7);
	for (unsigned i = 1; i < 40; i++)
		memcpy(sigs + i * sl, sigs, sl);
	assert_int_equal(
	    nsec_cache_put(nc, z, o, rd, 19, 60, sigs, 40 * sl, 40, T0),
	    -E2BIG);
	/* RDATA over NSEC_RDATA_MAX */
	assert_int_equal(nsec_cache_put(nc, z, o, rd, NSEC_RDATA_MAX + 1, 60,
	                     sigs, sl, 1, T0),
	    -E2BIG);
	/* SOA: a bad RNAME, a field short, a field long, the wrong sig */
	sl = sig_list(sigs, DNS_T_SOA, "example", 7);
	nl = soa_rdata(big, "example");
	assert_int_equal(
	    nsec_cache_put_soa(nc, z, big, nl, 60, sigs, sl, 1, T0), 1);
	assert_int_equal(
	    nsec_cache_put_soa(nc, z, big, nl - 1, 60, sigs, sl, 1, T0),
	    -EINVAL);
	assert_int_equal(
	    nsec_cache_put_soa(nc, z, big, nl + 1, 60, sigs, sl, 1, T0),
	    -EINVAL);
	big[wire(rd, "ns.example")] = 0xc0;
	assert_int_equal(
	    nsec_cache_put_soa(nc, z, big, nl, 60, sigs, sl, 1, T0), -EINVAL);
	nl = soa_rdata(big, "example");
	assert_int_equal(
	    nsec_cache_put_soa(nc, z, big, nl, 60, sigs, sl, 0, T0), -EINVAL);
	sl = sig_list(sigs, DNS_T_NSEC, "example", 7);
	assert_int_equal(
	    nsec_cache_put_soa(nc, z, big, nl, 60, sigs, sl, 1, T0), -EINVAL);
	assert_int_equal(nsec_cache_put_soa(nc, (const uint8_t *)"\x50", big,
	                     nl, 60, sigs, sl, 1, T0),
	    -EINVAL);
	/* a bad question */
	assert_int_equal(
	    nsec_cache_prove(nc, (const uint8_t *)"\x40", 1, T0, p), -EINVAL);
	assert_int_equal(nsec_cache_prove(nc, NULL, 1, T0, p), -EINVAL);
	/* what was refused left nothing behind */
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 1);
	assert_int_equal(st.records, 1);
	assert_int_equal(st.stores, 3);
#undef PUT
	nsec_cache_free(nc);
}

static void
test_bitmap_has(void **state)
{
	uint8_t bm[128];
	size_t l;

	(void)state;
	l = bitmap(bm,
	    (const uint16_t[]){
	        DNS_T_A, DNS_T_AAAA, DNS_T_NSEC, 257, 32768, 65535, END});
	assert_true(nsec_bitmap_ok(bm, l));
	assert_true(nsec_bitmap_has(bm, l, DNS_T_A));
	assert_true(nsec_bitmap_has(bm, l, DNS_T_AAAA));
	assert_true(nsec_bitmap_has(bm, l, DNS_T_NSEC));
	assert_true(nsec_bitmap_has(bm, l, 257));
	assert_true(nsec_bitmap_has(bm, l, 32768));
	assert_true(nsec_bitmap_has(bm, l, 65535));
	assert_false(nsec_bitmap_has(bm, l, 0));
	assert_false(nsec_bitmap_has(bm, l, DNS_T_NS));
	assert_false(nsec_bitmap_has(bm, l, DNS_T_RRSIG));
	assert_false(nsec_bitmap_has(bm, l, 256));
	assert_false(nsec_bitmap_has(bm, l, 258));
	assert_false(nsec_bitmap_has(bm, l, 512));
	assert_false(nsec_bitmap_has(bm, l, 65534));
	/* a type past the window's bytes */
	assert_false(nsec_bitmap_has(bm, l, 250));
	/* cut short: the blocks before the cut still answer */
	assert_false(nsec_bitmap_ok(bm, l - 1));
	assert_true(nsec_bitmap_has(bm, l - 1, DNS_T_A));
	assert_false(nsec_bitmap_has(bm, l - 1, 65535));
	assert_false(nsec_bitmap_ok(bm, 0));
	assert_false(nsec_bitmap_ok(NULL, 4));
	assert_false(nsec_bitmap_has(NULL, 4, DNS_T_A));
	assert_false(nsec_bitmap_ok((const uint8_t *)"\x00", 1));
	assert_false(nsec_bitmap_ok((const uint8_t *)"\x00\x00", 2));
	assert_true(nsec_bitmap_ok((const uint8_t *)"\x00\x01\x40", 3));
	assert_false(nsec_bitmap_has((const uint8_t *)"\x00\x00\x40", 3, 1));
}

/* Every record of a chain of n names, stored in a scrambled order, is
 * found again: the tree's predecessor search against the arithmetic. */
static void
test_chain_order(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(16 << 20);
	struct nsec_cache_stats st;
	const unsigned n = 3001; /* prime: i * 1237 % n visits all */
	char o[64], nx[64], q[64];

	(void)state;
	assert_int_equal(put_soa(nc, "chain.test", 3600, T0), 1);
	for (unsigned k = 0; k < n; k++) {
		unsigned i = (k * 1237) % n;
		snprintf(o, sizeof(o), "n%05u.chain.test", i);
		if (i + 1 < n)
			snprintf(nx, sizeof(nx), "n%05u.chain.test", i + 1);
		else
			snprintf(nx, sizeof(nx), "chain.test");
		assert_int_equal(put_nsec(nc, "chain.test", o, nx, 3600, T0,
		                     DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
		    1);
	}
	assert_int_equal(
	    put_nsec(nc, "chain.test", "chain.test", "n00000.chain.test", 3600,
	        T0, DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
	    1);
	/* and again, in another order: each replaces its old self */
	for (unsigned k = 0; k < n; k += 7) {
		unsigned i = (k * 101) % n;
		snprintf(o, sizeof(o), "n%05u.chain.test", i);
		if (i + 1 < n)
			snprintf(nx, sizeof(nx), "n%05u.chain.test", i + 1);
		else
			snprintf(nx, sizeof(nx), "chain.test");
		assert_int_equal(put_nsec(nc, "chain.test", o, nx, 3600, T0,
		                     DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
		    1);
	}
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.records, n + 1);
	for (unsigned i = 0; i < n; i++) {
		snprintf(o, sizeof(o), "n%05u.chain.test", i);
		snprintf(q, sizeof(q), "n%05ux.chain.test", i);
		assert_int_equal(prove(nc, q, DNS_T_A, T0), 1);
		assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
		assert_owner(0, o);
		assert_owner(1, "chain.test");
		assert_int_equal(prove(nc, o, DNS_T_MX, T0), 1);
		assert_int_equal(pr.rcode, DNS_RCODE_NOERROR);
		assert_owner(0, o);
	}
	nsec_cache_free(nc);
}

/* ------------------------------------------------------------- memory */

static void
test_lru_bytes(void **state)
{
	const size_t max = 48 * 1024;
	struct nsec_cache *nc = nsec_cache_new(max);
	struct nsec_cache_stats st;
	char zone[64], q[64];
	int first = -1;

	(void)state;
	for (unsigned i = 0; i < 400; i++) {
		snprintf(zone, sizeof(zone), "z%u.test", i);
		assert_int_equal(put_soa(nc, zone, 3600, T0 + i), 1);
		assert_int_equal(
		    put_nsec(nc, zone, zone, zone, 3600, T0 + i, DNS_T_SOA,
		        DNS_T_NS, DNS_T_NSEC, DNS_T_RRSIG, END),
		    1);
		nsec_cache_stats(nc, &st);
		assert_true(st.bytes <= max);
		/* z0 stays in use: the most recently used, never evicted */
		assert_int_equal(prove(nc, "q.z0.test", DNS_T_A, T0 + i), 1);
	}
	nsec_cache_stats(nc, &st);
	assert_true(st.evictions > 0);
	assert_true(st.zones < 400);
	assert_true(st.records <= st.zones);
	/* the newest zones are there, the oldest (but z0) are gone: once
	 * a zone proves, every newer one does */
	assert_int_equal(prove(nc, "q.z0.test", DNS_T_A, T0 + 400), 1);
	for (int i = 1; i < 400; i++) {
		snprintf(q, sizeof(q), "q.z%d.test", i);
		int rc = prove(nc, q, DNS_T_A, T0 + 400);
		if (first < 0 && rc == 1)
			first = i;
		if (first >= 0)
			assert_int_equal(rc, 1);
	}
	assert_true(first > 1);
	assert_true(400 - first >= 50); /* ~ 450 bytes per zone */
	assert_true((uint64_t)(400 - first) + 1 <= st.zones);

	/* one zone alone larger than the budget: its own oldest records go */
	nsec_cache_flush_all(nc);
	assert_int_equal(put_soa(nc, "big.test", 3600, T0), 1);
	for (unsigned i = 0; i < 1000; i++) {
		char o[64], nx[64];
		snprintf(o, sizeof(o), "n%04u.big.test", i);
		snprintf(nx, sizeof(nx), "n%04u.big.test", i + 1);
		assert_int_equal(put_nsec(nc, "big.test", o, nx, 3600, T0,
		                     DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
		    1);
		nsec_cache_stats(nc, &st);
		assert_true(st.bytes <= max);
	}
	assert_int_equal(st.zones, 1);
	assert_true(st.records > 10 && st.records < 1000);
	/* (no NXDOMAIN: nothing covers *.big.test.) */
	assert_int_equal(prove(nc, "n0999a.big.test", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "n0998.big.test", DNS_T_MX, T0), 1);
	assert_int_equal(prove(nc, "n0000.big.test", DNS_T_MX, T0), 0);
	nsec_cache_free(nc);

	/* a budget smaller than one zone; one smaller than the table */
	nc = nsec_cache_new(200);
	assert_non_null(nc);
	assert_int_equal(put_soa(nc, "example", 3600, T0), -E2BIG);
	assert_int_equal(put_nsec(nc, "example", "example", "example", 3600, T0,
	                     DNS_T_SOA, DNS_T_NSEC, END),
	    -E2BIG);
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 0);
	assert_true(st.bytes <= 200);
	nsec_cache_free(nc);
	errno = 0;
	assert_null(nsec_cache_new(64));
	assert_int_equal(errno, EINVAL);
}

static void
test_per_zone_cap(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(64 << 20);
	struct nsec_cache_stats st;
	char o[64], nx[64];

	(void)state;
	assert_int_equal(put_soa(nc, "walk.test", 3600, T0), 1);
	assert_int_equal(put_soa(nc, "other.test", 3600, T0), 1);
	assert_int_equal(put_nsec(nc, "other.test", "other.test", "other.test",
	                     3600, T0, DNS_T_SOA, DNS_T_NSEC, END),
	    1);
	for (unsigned i = 0; i < LIM_NSEC_PER_ZONE + 10; i++) {
		snprintf(o, sizeof(o), "n%06u.walk.test", i);
		snprintf(nx, sizeof(nx), "n%06u.walk.test", i + 1);
		assert_int_equal(put_nsec(nc, "walk.test", o, nx, 3600, T0,
		                     DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END),
		    1);
	}
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.records, LIM_NSEC_PER_ZONE + 1);
	assert_int_equal(st.evictions, 10);
	/* the oldest ten went, the rest and the other zone stay */
	assert_int_equal(prove(nc, "n000009.walk.test", DNS_T_MX, T0), 0);
	assert_int_equal(prove(nc, "n000010.walk.test", DNS_T_MX, T0), 1);
	assert_int_equal(prove(nc, "n010009.walk.test", DNS_T_MX, T0), 1);
	assert_int_equal(prove(nc, "x.other.test", DNS_T_A, T0), 1);
	nsec_cache_free(nc);
}

/* ------------------------------------------------------------- flushes */

static void
test_flush(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(1 << 20);
	struct nsec_cache_stats st, st0;

	(void)state;
	nsec_cache_stats(nc, &st0);
	example_zone(nc, true, T0);
	assert_int_equal(put_soa(nc, "c.example", 3600, T0), 1);
	assert_int_equal(put_nsec(nc, "c.example", "c.example", "c.example",
	                     3600, T0, DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, END),
	    1);
	assert_int_equal(put_soa(nc, "test", 3600, T0), 1);
	assert_int_equal(put_nsec(nc, "test", "test", "test", 3600, T0,
	                     DNS_T_SOA, DNS_T_NS, DNS_T_NSEC, END),
	    1);
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 3);
	assert_int_equal(st.records, 7);

	/* c.example.: its zone, and the parent's record of it */
	nsec_cache_flush_zone(nc, N("C.Example"));
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 2);
	assert_int_equal(st.records, 5);
	assert_int_equal(prove(nc, "foo.c.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "c.example", DNS_T_DS, T0), 0);
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0), 1);

	/* a name that does not exist (yet): the record that covers it goes */
	nsec_cache_flush_zone(nc, N("b.example"));
	assert_int_equal(prove(nc, "b.example", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "a.example", DNS_T_AAAA, T0), 0);
	assert_int_equal(prove(nc, "example", DNS_T_MX, T0), 1);
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.records, 4);

	/* the whole zone; the other stays */
	nsec_cache_flush_zone(nc, N("example"));
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 1);
	assert_int_equal(st.records, 1);
	assert_int_equal(prove(nc, "example", DNS_T_MX, T0), 0);
	assert_int_equal(prove(nc, "x.test", DNS_T_A, T0), 1);
	nsec_cache_flush_zone(nc, N("nothing.here"));
	nsec_cache_flush_zone(nc, (const uint8_t *)"\x41");

	/* everything: only the table is left */
	example_zone(nc, false, T0);
	nsec_cache_flush_all(nc);
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 0);
	assert_int_equal(st.records, 0);
	assert_int_equal(st.bytes, st0.bytes);
	assert_int_equal(prove(nc, "x.test", DNS_T_A, T0), 0);
	/* the root zone, and flushing the root */
	assert_int_equal(put_soa(nc, ".", 3600, T0), 1);
	assert_int_equal(put_nsec(nc, ".", ".", "com", 3600, T0, DNS_T_SOA,
	                     DNS_T_NS, DNS_T_NSEC, END),
	    1);
	assert_int_equal(put_nsec(nc, ".", "com", ".", 3600, T0, DNS_T_NS,
	                     DNS_T_DS, DNS_T_NSEC, END),
	    1);
	assert_int_equal(prove(nc, "zz", DNS_T_A, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(prove(nc, "example.com", DNS_T_A, T0), 0);
	assert_int_equal(prove(nc, "com", DNS_T_DS, T0), 0);
	assert_int_equal(prove(nc, "net", DNS_T_DS, T0), 1);
	assert_int_equal(pr.rcode, DNS_RCODE_NXDOMAIN);
	assert_int_equal(prove(nc, ".", DNS_T_DS, T0), 0);
	nsec_cache_flush_zone(nc, N("."));
	nsec_cache_stats(nc, &st);
	assert_int_equal(st.zones, 0);
	nsec_cache_free(nc);
	nsec_cache_free(NULL);
}

/* ------------------------------------------------------------- threads */

struct thr {
	struct nsec_cache *nc;
	int id;
};

/* A proof that came out is consistent with the question. */
static bool
proof_ok(const struct nsec_proof *p, const uint8_t *q)
{
	if (p->rcode != DNS_RCODE_NXDOMAIN && p->rcode != DNS_RCODE_NOERROR)
		return false;
	if (p->nnsec < 1 || p->nnsec > NSEC_PROOF_MAX || p->ttl == 0)
		return false;
	if (!dns_name_under(q, p->zone) || p->soa.ttl < p->ttl)
		return false;
	for (unsigned i = 0; i < p->nnsec; i++)
		if (p->nsec[i].ttl < p->ttl ||
		    !dns_name_under(p->nsec[i].owner, p->zone))
			return false;
	return true;
}

static void *
putter(void *arg)
{
	struct thr *t = arg;
	char zone[64], o[64], nx[64];

	for (int i = 0; i < 20000; i++) {
		uint64_t now = T0 + (uint64_t)i * 10;
		unsigned z = (unsigned)i % 8, k = (unsigned)(i / 8) % 50;
		snprintf(zone, sizeof(zone), "z%u.test", z);
		snprintf(o, sizeof(o), "n%02u.z%u.test", k, z);
		snprintf(nx, sizeof(nx), "n%02u.z%u.test", k + 1, z);
		if (k == 0 &&
		    put_soa(t->nc, zone, 1 + (unsigned)i % 5, now) < 0)
			return (void *)1;
		if (put_nsec(t->nc, zone, o, nx, 1 + (unsigned)i % 3, now,
		        DNS_T_A, DNS_T_NSEC, DNS_T_RRSIG, END) < 0)
			return (void *)1;
		snprintf(nx, sizeof(nx), "n00.z%u.test", z);
		if (k == 0 &&
		    put_nsec(t->nc, zone, zone, nx, 5, now, DNS_T_SOA,
		        DNS_T_NSEC, END) < 0)
			return (void *)1;
		if (i % 5000 == 4999)
			nsec_cache_flush_zone(t->nc, N("z3.test"));
	}
	return NULL;
}

static void *
prover(void *arg)
{
	struct thr *t = arg;
	struct nsec_proof *p = malloc(sizeof(*p));
	char q[64];
	uint8_t w[256];
	void *rv = NULL;

	if (p == NULL)
		return (void *)1;
	for (int i = 0; i < 20000 && rv == NULL; i++) {
		uint64_t now = T0 + (uint64_t)i * 10;
		snprintf(
		    q, sizeof(q), "n%02ux.z%d.test", (unsigned)i % 50, i % 8);
		wire(w, q);
		int rc = nsec_cache_prove(t->nc, w, DNS_T_A, now, p);
		if (rc < 0 || (rc == 1 && !proof_ok(p, w)))
			rv = (void *)1;
		if (i % 1000 == 0) {
			struct nsec_cache_stats st;
			nsec_cache_stats(t->nc, &st);
			if (st.bytes > st.max_bytes)
				rv = (void *)1;
		}
	}
	free(p);
	return rv;
}

static void
test_threads(void **state)
{
	struct nsec_cache *nc = nsec_cache_new(64 * 1024);
	pthread_t th[2];
	struct thr t[2];
	struct nsec_cache_stats st;

	(void)state;
	for (int i = 0; i < 2; i++) {
		t[i].nc = nc;
		t[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL,
		                     i == 0 ? putter : prover, &t[i]),
		    0);
	}
	for (int i = 0; i < 2; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		assert_null(rv);
	}
	nsec_cache_stats(nc, &st);
	assert_true(st.bytes <= st.max_bytes);
	assert_int_equal(st.proofs + st.misses, 20000);
	nsec_cache_free(nc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nxdomain),
	    cmocka_unit_test(test_last_nsec),
	    cmocka_unit_test(test_nodata),
	    cmocka_unit_test(test_delegation),
	    cmocka_unit_test(test_wildcard),
	    cmocka_unit_test(test_empty_non_terminal),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_deepest_zone),
	    cmocka_unit_test(test_case_insensitive),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_bitmap_has),
	    cmocka_unit_test(test_chain_order),
	    cmocka_unit_test(test_lru_bytes),
	    cmocka_unit_test(test_per_zone_cap),
	    cmocka_unit_test(test_flush),
	    cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
