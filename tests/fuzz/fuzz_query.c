/**
 * @file fuzz_query.c
 * The client side of the wire: msg_check_query() on arbitrary bytes, then
 * what the server would send back for each verdict: msg_error_reply() for
 * every verdict that gets a reply (in the server's 512-byte buffer and in a
 * buffer just big enough for the question), and for a well-formed query an
 * answer from a small pre-filled cache, ans_from_cache() (RD=1) or
 * ans_norec() (RD=0), with the client's DO bit, in the client's UDP limit
 * and in a TCP-sized buffer. Every buffer is allocated at exactly its
 * capacity, so that AddressSanitizer sees one byte written too many; every
 * response must be a DNS message that ldns parses, with the client's ID.
 */
#include <string.h>

#include <ldns/ldns.h>

#include "cache/cache.h"
#include "resolver/answer.h"
#include "resolver/limits.h"
#include "resolver/msg.h"
#include "resolver/rr.h"
#include "tests/fuzz/fuzz.h"

/* The cache every query is answered from: RRsets given as zone lines,
 * consecutive lines of one owner and type making one RRset. */
struct seed {
	const char *rr;
	uint8_t rank;
};

static const struct seed seeds[] = {
    {". 518400 IN NS a.root-servers.net.", CACHE_RANK_PRIMED},
    {". 518400 IN NS b.root-servers.net.", CACHE_RANK_PRIMED},
    {"a.root-servers.net. 518400 IN A 198.41.0.4", CACHE_RANK_PRIMED},
    {"a.root-servers.net. 518400 IN AAAA 2001:503:ba3e::2:30",
        CACHE_RANK_PRIMED},
    {"b.root-servers.net. 518400 IN A 170.247.170.2", CACHE_RANK_PRIMED},
    {"com. 172800 IN NS a.gtld-servers.net.", CACHE_RANK_REFERRAL},
    {"a.gtld-servers.net. 172800 IN A 192.5.6.30", CACHE_RANK_GLUE},
    {"example.com. 3600 IN NS ns1.example.com.", CACHE_RANK_AUTH_ANSWER},
    {"example.com. 3600 IN NS ns2.example.com.", CACHE_RANK_AUTH_ANSWER},
    {"ns1.example.com. 3600 IN A 192.0.2.53", CACHE_RANK_GLUE},
    {"ns2.example.com. 3600 IN AAAA 2001:db8::53", CACHE_RANK_GLUE},
    {"example.com. 3600 IN SOA ns1.example.com. hostmaster.example.com. "
     "1 7200 3600 1209600 300",
        CACHE_RANK_AUTH_ANSWER},
    {"example.com. 300 IN MX 10 mail.example.com.", CACHE_RANK_AUTH_ANSWER},
    {"www.example.com. 300 IN A 192.0.2.1", CACHE_RANK_AUTH_ANSWER},
    {"www.example.com. 300 IN A 192.0.2.2", CACHE_RANK_AUTH_ANSWER},
    {"www.example.com. 300 IN AAAA 2001:db8::1", CACHE_RANK_AUTH_ANSWER},
    {"mail.example.com. 300 IN A 192.0.2.25", CACHE_RANK_AUTH_ANSWER},
    {"c1.example.com. 300 IN CNAME c2.example.com.", CACHE_RANK_AUTH_ANSWER},
    {"c2.example.com. 300 IN CNAME www.example.com.", CACHE_RANK_AUTH_ANSWER},
    {"loop1.example.com. 300 IN CNAME loop2.example.com.",
        CACHE_RANK_AUTH_ANSWER},
    {"loop2.example.com. 300 IN CNAME loop1.example.com.",
        CACHE_RANK_AUTH_ANSWER},
    {"txt.example.com. 300 IN TXT \"v=spf1 -all\" \"a;b\"",
        CACHE_RANK_AUTH_ANSWER},
    {"fwd.example.net. 300 IN A 198.51.100.7", CACHE_RANK_NONAUTH_ANSWER},
    {"glue.example.org. 300 IN A 203.0.113.9", CACHE_RANK_GLUE},
    {NULL, 0},
};

/* A reply too big for 512 bytes: 20 TXT records of 60 bytes. */
#define BIG_NAME "big.example.com."
#define BIG_TXT  "\"0123456789012345678901234567890123456789012345678901234\""

static struct cache *cache;

/* Store the RRset of @p n records in @p rrs (all of one owner and type). */
static void
store_rrset(ldns_rr **rrs, size_t n, uint8_t rank, const ldns_rr *sig)
{
	ldns_buffer *rd = ldns_buffer_new(4096);
	ldns_buffer *sg = ldns_buffer_new(1024);
	struct cache_rrset_in in;

	for (size_t i = 0; i < n; i++) {
		size_t at = ldns_buffer_position(rd);
		ldns_buffer_write_u16(rd, 0);
		ldns_rr_rdata2buffer_wire(rd, rrs[i]);
		ldns_buffer_write_u16_at(
		    rd, at, (uint16_t)(ldns_buffer_position(rd) - at - 2));
	}
	if (sig != NULL) {
		ldns_buffer_write_u16(sg, 0);
		ldns_rr_rdata2buffer_wire(sg, sig);
		ldns_buffer_write_u16_at(
		    sg, 0, (uint16_t)(ldns_buffer_position(sg) - 2));
	}
	memset(&in, 0, sizeof(in));
	in.owner = rr_owner(rrs[0]);
	in.type = ldns_rr_get_type(rrs[0]);
	in.rclass = 1;
	in.kind = CACHE_RRSET;
	in.rank = rank;
	in.ttl = ldns_rr_ttl(rrs[0]);
	in.nrr = (uint16_t)n;
	in.rdata = ldns_buffer_begin(rd);
	in.rdata_len = ldns_buffer_position(rd);
	if (sig != NULL) {
		in.nsig = 1;
		in.sigs = ldns_buffer_begin(sg);
		in.sigs_len = ldns_buffer_position(sg);
	}
	if (cache_store(cache, &in, FUZZ_NOW_MS) != 1)
		fuzz_die("cache_store");
	ldns_buffer_free(rd);
	ldns_buffer_free(sg);
}

static ldns_rr *
rr_from(const char *s)
{
	ldns_rr *rr = NULL;

	if (ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL) != LDNS_STATUS_OK)
		fuzz_die(s);
	return rr;
}

/* A negative entry for @p name (@p type 0: NXDOMAIN), proven by the SOA of
 * example.com. */
static void
store_negative(const char *name, uint16_t type)
{
	ldns_rr *soa = rr_from("example.com. 300 IN SOA ns1.example.com. "
	                       "hostmaster.example.com. 1 7200 3600 1209600 "
	                       "300");
	ldns_rdf *n = ldns_dname_new_frm_str(name);
	ldns_buffer *rd = ldns_buffer_new(512);
	struct cache_rrset_in in;

	ldns_buffer_write_u16(rd, 0);
	ldns_rr_rdata2buffer_wire(rd, soa);
	ldns_buffer_write_u16_at(
	    rd, 0, (uint16_t)(ldns_buffer_position(rd) - 2));
	memset(&in, 0, sizeof(in));
	in.owner = ldns_rdf_data(n);
	in.type = type;
	in.rclass = 1;
	in.kind = type == 0 ? CACHE_NXDOMAIN : CACHE_NODATA;
	in.rank = CACHE_RANK_AUTH_ANSWER;
	in.ttl = 300;
	in.nrr = 1;
	in.rdata = ldns_buffer_begin(rd);
	in.rdata_len = ldns_buffer_position(rd);
	in.soa_owner = rr_owner(soa);
	if (cache_store(cache, &in, FUZZ_NOW_MS) != 1)
		fuzz_die("cache_store negative");
	ldns_buffer_free(rd);
	ldns_rdf_deep_free(n);
	ldns_rr_free(soa);
}

static void
fill_cache(void)
{
	struct cache_policy pol = {
	    .max_ttl = 86400, .negative_ttl = 3600, .serve_stale = 86400};
	ldns_rr *set[32];
	size_t n = 0;

	cache = cache_new(1u << 20, &pol);
	if (cache == NULL)
		fuzz_die("cache_new");
	for (const struct seed *s = seeds;; s++) {
		ldns_rr *rr = s->rr ? rr_from(s->rr) : NULL;
		if (n > 0 &&
		    (rr == NULL ||
		        ldns_rr_get_type(rr) != ldns_rr_get_type(set[0]) ||
		        ldns_dname_compare(
		            ldns_rr_owner(rr), ldns_rr_owner(set[0])) != 0)) {
			store_rrset(set, n, (s - 1)->rank, NULL);
			while (n > 0)
				ldns_rr_free(set[--n]);
		}
		if (rr == NULL)
			break;
		set[n++] = rr;
	}
	/* www.example.com A again, signed (DO=1 gets the RRSIG) */
	set[0] = rr_from("www.example.com. 300 IN A 192.0.2.1");
	ldns_rr *sig =
	    rr_from("www.example.com. 300 IN RRSIG A 13 3 300 "
	            "20991231000000 20230101000000 12345 "
	            "example.com. "
	            "dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZSBidXQgaXQg"
	            "aGFzIHRoZSByaWdodCBzaXplIGZvciBFQ0RTQSBQMjU2IQ==");
	store_rrset(set, 1, CACHE_RANK_AUTH_ANSWER, sig);
	ldns_rr_free(set[0]);
	ldns_rr_free(sig);
	for (n = 0; n < 20; n++)
		set[n] = rr_from(BIG_NAME " 300 IN TXT " BIG_TXT);
	store_rrset(set, 20, CACHE_RANK_AUTH_ANSWER, NULL);
	while (n > 0)
		ldns_rr_free(set[--n]);
	store_negative("nope.example.com.", 0);
	store_negative("mail.example.com.", 28);
}

/* A response must be a DNS message with the query's ID and QR set, within
 * its buffer. */
static void
check_response(const uint8_t *out, size_t n, size_t cap, uint16_t id)
{
	ldns_pkt *p = NULL;

	if (n == 0)
		return;
	if (n > cap || n < DNS_HDR_LEN || (out[0] << 8 | out[1]) != id ||
	    !(out[2] & 0x80))
		abort();
	if (ldns_wire2pkt(&p, out, n) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_free(p);
}

/* The per-worker scratch ans_norec takes. */
static struct ans_scratch scratch;

/* ans_norec with the scratch, in ans_from_cache's shape. */
static size_t
norec(uint8_t *out, size_t cap, const uint8_t *pkt, const struct msg_query *q,
    struct cache *c, unsigned max_cname, uint64_t now)
{
	bool hit;

	return ans_norec(out, cap, pkt, q, c, max_cname, now, &scratch, &hit);
}

/* ans_from_cache in that shape. */
static size_t
rd(uint8_t *out, size_t cap, const uint8_t *pkt, const struct msg_query *q,
    struct cache *c, unsigned max_cname, uint64_t now)
{
	bool prefetch;

	return ans_from_cache(out, cap, pkt, q, c, max_cname, now, &prefetch);
}

/* ans_from_stale (serve-stale, both ways), an hour after the cache was
 * filled, in that shape. */
static size_t
stale(uint8_t *out, size_t cap, const uint8_t *pkt, const struct msg_query *q,
    struct cache *c, unsigned max_cname, uint64_t now)
{
	bool refresh;
	size_t n = ans_from_stale(out, cap, pkt, q, c, max_cname, now + 3600000,
	    CACHE_STALE_AFTER_FAIL, "fuzzed", &refresh);

	return n ? n
	         : ans_from_stale(out, cap, pkt, q, c, max_cname, now + 3600000,
	               CACHE_STALE_HELD, "fuzzed", &refresh);
}

/* Run @p fn into a buffer of exactly @p cap bytes. */
static void
answer(size_t (*fn)(uint8_t *, size_t, const uint8_t *,
           const struct msg_query *, struct cache *, unsigned, uint64_t),
    size_t cap, const uint8_t *pkt, const struct msg_query *q)
{
	uint8_t *out = malloc(cap);

	if (out == NULL)
		fuzz_die("malloc");
	check_response(out,
	    fn(out, cap, pkt, q, cache, LIM_MAX_CNAME, FUZZ_NOW_MS + 1000), cap,
	    q->id);
	free(out);
}

static void
error_reply(const uint8_t *pkt, const struct msg_query *q, unsigned rcode,
    uint16_t ede, const char *text, size_t cap)
{
	uint8_t *out = malloc(cap);

	if (out == NULL)
		fuzz_die("malloc");
	check_response(out, msg_error_reply(out, cap, pkt, q, rcode, ede, text),
	    cap, q->id);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_query q;
	enum msg_verdict v;
	unsigned rcode;
	uint8_t *pkt;

	if (cache == NULL)
		fill_cache();
	/* an exact copy: a read past the end of the datagram is caught */
	pkt = malloc(size ? size : 1);
	if (pkt == NULL)
		fuzz_die("malloc");
	memcpy(pkt, data, size);
	memset(&q, 0, sizeof(q));
	v = msg_check_query(pkt, size, &q);
	if (v == MSG_DROP) {
		free(pkt);
		return 0;
	}
	rcode = msg_verdict_rcode(v);
	if (v == MSG_OK &&
	    (q.qname != pkt + DNS_HDR_LEN || q.qname_len < 1 ||
	        q.qname_len > 255 || q.question_end > size || q.udp_size < 512))
		abort();
	/* the server's error buffer, and one just big enough (or too small) */
	error_reply(pkt, &q, rcode, 0, NULL, 512);
	error_reply(pkt, &q, rcode, DNS_EDE_NO_REACHABLE_AUTHORITY,
	    "no reachable server for zone example.com.", 512);
	error_reply(pkt, &q, rcode, 0, NULL,
	    (q.question_end ? q.question_end : DNS_HDR_LEN) + size % 16);
	if (v == MSG_OK) {
		size_t udp = q.edns
		    ? (q.udp_size < LIM_EDNS_BUFSIZE ? q.udp_size
		                                     : LIM_EDNS_BUFSIZE)
		    : 512;
		if (q.rd) {
			answer(rd, udp, pkt, &q);
			answer(rd, LIM_MSG_MAX, pkt, &q);
			answer(stale, udp, pkt, &q);
		} else {
			answer(norec, udp, pkt, &q);
			answer(norec, LIM_MSG_MAX, pkt, &q);
		}
	}
	free(pkt);
	return 0;
}
