/*
 * test_iter.c: the resolution core driven by scripted servers and a fake
 * clock. No sockets: a small authoritative simulator (built on ldns) answers
 * each query the iterator emits, from the zone table below; per-server modes
 * make servers dead, lame, truncating or EDNS-intolerant; tests inject
 * spoofed replies before the genuine one.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "resolver/deleg.h"
#include "resolver/iter.h"

/* ---- the scripted hierarchy ---- */

enum {
	M_OK = 0,
	M_DEAD = 1,
	M_REFUSED = 2,
	M_TC = 4,
	M_NOEDNS = 8,
	M_POISON = 16,
	M_BROKEN_ENT = 32,
	M_RECURSIVE = 64
};

struct fzone {
	const char *apex;
	const char *servers[3];
	const char *rrs[40];
};

static const struct fzone zones[] = {
    {".", {"192.0.2.1"},
        {". 86400 SOA a.root-servers.net. admin. 1 1800 900 604800 86400",
            ". 518400 NS a.root-servers.net.",
            "a.root-servers.net. 518400 A 192.0.2.1",
            "com. 172800 NS a.gtld.net.", "net. 172800 NS a.gtld.net.",
            "a.gtld.net. 172800 A 192.0.2.10", "org. 172800 NS a.org-srv.org.",
            "a.org-srv.org. 172800 A 192.0.2.20", NULL}},
    {"com.", {"192.0.2.10"},
        {"com. 900 SOA a.gtld.net. admin. 1 1800 900 604800 86400",
            "com. 172800 NS a.gtld.net.",
            "example.com. 172800 NS ns1.example.com.",
            "ns1.example.com. 172800 A 192.0.2.30",
            "example.com. 86400 DS 12345 13 2 "
            "4bd8f6fdd5e4bd8f6fdd5e4bd8f6fdd5e4bd8f6fdd5e4bd8f6fdd5e4bd8f6fdd5",
            "glueless.com. 172800 NS ns.example.net.",
            "lame.com. 172800 NS ns1.lame.com.",
            "lame.com. 172800 NS ns2.lame.com.",
            "ns1.lame.com. 172800 A 192.0.2.40",
            "ns2.lame.com. 172800 A 192.0.2.41",
            "dead.com. 172800 NS ns1.dead.com.",
            "dead.com. 172800 NS ns2.dead.com.",
            "ns1.dead.com. 172800 A 192.0.2.50",
            "ns2.dead.com. 172800 A 192.0.2.51",
            "alldead.com. 172800 NS ns1.alldead.com.",
            "ns1.alldead.com. 172800 A 192.0.2.52",
            "evil.com. 172800 NS ns.evil.com.",
            "ns.evil.com. 172800 A 192.0.2.60",
            "ns.evil.com. 172800 A 192.0.2.61", "tc.com. 172800 NS ns.tc.com.",
            "ns.tc.com. 172800 A 192.0.2.70",
            "noedns.com. 172800 NS ns.noedns.com.",
            "ns.noedns.com. 172800 A 192.0.2.71",
            "ent.com. 172800 NS ns.ent.com.", "ns.ent.com. 172800 A 192.0.2.72",
            "cyc1.com. 172800 NS ns.cyc2.com.",
            "cyc2.com. 172800 NS ns.cyc1.com.", NULL}},
    {"net.", {"192.0.2.10"},
        {"net. 900 SOA a.gtld.net. admin. 1 1800 900 604800 86400",
            "net. 172800 NS a.gtld.net.", "a.gtld.net. 172800 A 192.0.2.10",
            "example.net. 172800 NS ns1.example.net.",
            "ns1.example.net. 172800 A 192.0.2.31", NULL}},
    {"org.", {"192.0.2.20"},
        {"org. 900 SOA a.org-srv.org. admin. 1 1800 900 604800 86400",
            "org. 172800 NS a.org-srv.org.",
            "a.org-srv.org. 172800 A 192.0.2.20",
            "example.org. 172800 NS ns1.example.org.",
            "ns1.example.org. 172800 A 192.0.2.33", NULL}},
    {"example.com.", {"192.0.2.30"},
        {"example.com. 600 SOA ns1.example.com. admin. 1 1800 900 604800 300",
            "example.com. 3600 NS ns1.example.com.",
            "ns1.example.com. 3600 A 192.0.2.30",
            "www.example.com. 300 A 192.0.2.100",
            "short.example.com. 5 A 192.0.2.101",
            "mail.example.com. 300 A 192.0.2.102",
            "mail.example.com. 300 MX 10 mail.example.com.",
            "mail.example.com. 300 TXT \"any\"",
            "c1.example.com. 300 CNAME c2.example.com.",
            "c2.example.com. 300 CNAME www.example.com.",
            "cross.example.com. 300 CNAME www.example.org.",
            "loop1.example.com. 300 CNAME loop2.example.com.",
            "loop2.example.com. 300 CNAME loop1.example.com.",
            "x1.example.com. 300 CNAME x1.example.net.",
            "l0.example.com. 300 CNAME l1.example.com.",
            "l1.example.com. 300 CNAME l2.example.com.",
            "l2.example.com. 300 CNAME l3.example.com.",
            "l3.example.com. 300 CNAME l4.example.com.",
            "l4.example.com. 300 CNAME www.example.com.", NULL}},
    {"example.net.", {"192.0.2.31"},
        {"example.net. 600 SOA ns1.example.net. admin. 1 1800 900 604800 300",
            "example.net. 3600 NS ns1.example.net.",
            "ns1.example.net. 3600 A 192.0.2.31",
            "ns.example.net. 3600 A 192.0.2.32",
            "www.example.net. 300 A 192.0.2.110",
            "x1.example.net. 300 CNAME x1.example.com.", NULL}},
    {"example.org.", {"192.0.2.33"},
        {"example.org. 600 SOA ns1.example.org. admin. 1 1800 900 604800 300",
            "example.org. 3600 NS ns1.example.org.",
            "ns1.example.org. 3600 A 192.0.2.33",
            "www.example.org. 300 A 192.0.2.120", NULL}},
    {"glueless.com.", {"192.0.2.32"},
        {"glueless.com. 600 SOA ns.example.net. admin. 1 1800 900 604800 300",
            "glueless.com. 3600 NS ns.example.net.",
            "www.glueless.com. 300 A 192.0.2.130", NULL}},
    {"lame.com.", {"192.0.2.41"},
        {"lame.com. 600 SOA ns2.lame.com. admin. 1 1800 900 604800 300",
            "lame.com. 3600 NS ns1.lame.com.",
            "lame.com. 3600 NS ns2.lame.com.",
            "www.lame.com. 300 A 192.0.2.140", NULL}},
    {"dead.com.", {"192.0.2.50", "192.0.2.51"},
        {"dead.com. 600 SOA ns2.dead.com. admin. 1 1800 900 604800 300",
            "dead.com. 3600 NS ns1.dead.com.",
            "dead.com. 3600 NS ns2.dead.com.",
            "www.dead.com. 300 A 192.0.2.150", NULL}},
    {"evil.com.", {"192.0.2.60", "192.0.2.61"},
        {"evil.com. 600 SOA ns.evil.com. admin. 1 1800 900 604800 300",
            "evil.com. 3600 NS ns.evil.com.", "www.evil.com. 300 A 192.0.2.160",
            NULL}},
    {"tc.com.", {"192.0.2.70"},
        {"tc.com. 600 SOA ns.tc.com. admin. 1 1800 900 604800 300",
            "www.tc.com. 300 A 192.0.2.170", NULL}},
    {"noedns.com.", {"192.0.2.71"},
        {"noedns.com. 600 SOA ns.noedns.com. admin. 1 1800 900 604800 300",
            "www.noedns.com. 300 A 192.0.2.171", NULL}},
    {"ent.com.", {"192.0.2.72"},
        {"ent.com. 600 SOA ns.ent.com. admin. 1 1800 900 604800 300",
            "a.b.c.ent.com. 300 A 192.0.2.172", NULL}},
};

static const struct {
	const char *addr;
	int mode;
} modes[] = {
    {"192.0.2.40", M_REFUSED},
    {"192.0.2.50", M_DEAD},
    {"192.0.2.52", M_DEAD},
    {"192.0.2.60", M_POISON},
    {"192.0.2.61", M_POISON},
    {"192.0.2.70", M_TC},
    {"192.0.2.71", M_NOEDNS},
    {"192.0.2.72", M_BROKEN_ENT},
    {"198.51.100.1", M_RECURSIVE},
    {"198.51.100.2", M_DEAD},
};

static int
mode_of(const char *addr)
{
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(modes[i].addr, addr) == 0)
			return modes[i].mode;
	return M_OK;
}

static ldns_rr *
mkrr(const char *s)
{
	ldns_rr *rr = NULL;
	assert_int_equal(
	    ldns_rr_new_frm_str(&rr, s, 0, NULL, NULL), LDNS_STATUS_OK);
	return rr;
}

static bool
dname_under(const ldns_rdf *n, const ldns_rdf *z)
{
	return ldns_dname_compare(n, z) == 0 || ldns_dname_is_subdomain(n, z);
}

/* The deepest zone served at @p addr that holds @p qn. */
static const struct fzone *
zone_for(const char *addr, const ldns_rdf *qn)
{
	const struct fzone *best = NULL;
	size_t best_l = 0;

	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		bool serves = (mode_of(addr) & M_RECURSIVE) != 0;
		for (int k = 0; k < 3 && zones[i].servers[k]; k++)
			serves |= strcmp(zones[i].servers[k], addr) == 0;
		if (!serves)
			continue;
		ldns_rdf *apex = ldns_dname_new_frm_str(zones[i].apex);
		if (dname_under(qn, apex) &&
		    ldns_dname_label_count(apex) >= best_l) {
			best = &zones[i];
			best_l = ldns_dname_label_count(apex);
		}
		ldns_rdf_deep_free(apex);
	}
	return best;
}

static void
push(ldns_pkt *p, ldns_pkt_section s, const char *rr)
{
	ldns_pkt_push_rr(p, s, mkrr(rr));
}

/* Answer @p q (wire) as the server at @p addr would. Returns malloc'd wire. */
static uint8_t *
simulate(
    const char *addr, const uint8_t *q, size_t qlen, bool tcp, size_t *rlen)
{
	ldns_pkt *qp = NULL, *rp;
	int mode = mode_of(addr);
	uint8_t *wire = NULL;

	assert_int_equal(ldns_wire2pkt(&qp, q, qlen), LDNS_STATUS_OK);
	ldns_rr *qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
	ldns_rdf *qn = ldns_rr_owner(qrr);
	ldns_rr_type qt = ldns_rr_get_type(qrr);
	rp = ldns_pkt_new();
	ldns_pkt_set_id(rp, ldns_pkt_id(qp));
	ldns_pkt_set_qr(rp, true);
	ldns_pkt_push_rr(rp, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
	if (ldns_pkt_edns(qp) && !(mode & M_NOEDNS))
		ldns_pkt_set_edns_udp_size(rp, 1232);
	const struct fzone *z = zone_for(addr, qn);
	if ((mode & M_NOEDNS) && ldns_pkt_edns(qp)) {
		ldns_pkt_set_rcode(rp, LDNS_RCODE_FORMERR);
		goto out;
	}
	if (z == NULL || (mode & M_REFUSED)) {
		ldns_pkt_set_rcode(rp, LDNS_RCODE_REFUSED);
		goto out;
	}
	if ((mode & M_TC) && !tcp) {
		ldns_pkt_set_aa(rp, true);
		ldns_pkt_set_tc(rp, true);
		goto out;
	}
	ldns_rdf *apex = ldns_dname_new_frm_str(z->apex);
	ldns_rdf *cur = ldns_rdf_clone(qn);
	if (mode & M_RECURSIVE) {
		if (!ldns_pkt_rd(qp)) {
			ldns_pkt_set_rcode(rp, LDNS_RCODE_REFUSED);
			ldns_rdf_deep_free(apex);
			ldns_rdf_deep_free(cur);
			goto out;
		}
		ldns_pkt_set_ra(rp, true);
	}
	/* referral? the deepest NS owner strictly below the apex above qname */
	for (int i = 0; z->rrs[i] && !(mode & M_RECURSIVE); i++) {
		ldns_rr *rr = mkrr(z->rrs[i]);
		ldns_rdf *o = ldns_rr_owner(rr);
		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    ldns_dname_compare(o, apex) != 0 && dname_under(qn, o) &&
		    !(qt == LDNS_RR_TYPE_DS &&
		        ldns_dname_compare(o, qn) == 0)) {
			for (int k = 0; z->rrs[k]; k++) {
				ldns_rr *x = mkrr(z->rrs[k]);
				if (ldns_rr_get_type(x) == LDNS_RR_TYPE_NS &&
				    ldns_dname_compare(ldns_rr_owner(x), o) ==
				        0) {
					ldns_pkt_push_rr(
					    rp, LDNS_SECTION_AUTHORITY, x);
					for (int g = 0; z->rrs[g]; g++) {
						ldns_rr *gl = mkrr(z->rrs[g]);
						if (ldns_rr_get_type(gl) ==
						        LDNS_RR_TYPE_A &&
						    ldns_dname_compare(
						        ldns_rr_owner(gl),
						        ldns_rr_rdf(x, 0)) == 0)
							ldns_pkt_push_rr(rp,
							    LDNS_SECTION_ADDITIONAL,
							    gl);
						else
							ldns_rr_free(gl);
					}
				} else {
					ldns_rr_free(x);
				}
			}
			ldns_rr_free(rr);
			ldns_rdf_deep_free(apex);
			ldns_rdf_deep_free(cur);
			goto out;
		}
		ldns_rr_free(rr);
	}
	ldns_pkt_set_aa(rp, !(mode & M_RECURSIVE));
	/* answer, following CNAMEs inside the zone */
	for (int hop = 0; hop < 20; hop++) {
		bool found = false, cname = false, exists = false;
		ldns_rdf *next = NULL;
		for (int i = 0; z->rrs[i]; i++) {
			ldns_rr *rr = mkrr(z->rrs[i]);
			ldns_rdf *o = ldns_rr_owner(rr);
			if (dname_under(o, cur))
				exists = true;
			if (ldns_dname_compare(o, cur) == 0 &&
			    (ldns_rr_get_type(rr) == qt ||
			        qt == LDNS_RR_TYPE_ANY ||
			        ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME)) {
				ldns_rr_set_owner(
				    rr, ldns_rdf_clone(hop ? cur : qn));
				ldns_rdf_deep_free(o);
				if (ldns_rr_get_type(rr) ==
				        LDNS_RR_TYPE_CNAME &&
				    qt != LDNS_RR_TYPE_CNAME &&
				    qt != LDNS_RR_TYPE_ANY) {
					cname = true;
					next =
					    ldns_rdf_clone(ldns_rr_rdf(rr, 0));
				}
				found = true;
				ldns_pkt_push_rr(rp, LDNS_SECTION_ANSWER, rr);
				continue;
			}
			ldns_rr_free(rr);
		}
		if (found && !cname)
			break;
		if (cname) {
			ldns_rdf_deep_free(cur);
			cur = next;
			if (!dname_under(cur, apex))
				break;
			continue;
		}
		/* no data: NODATA or NXDOMAIN, with the SOA */
		bool ent_broken = (mode & M_BROKEN_ENT) && exists;
		for (int i = 0; z->rrs[i]; i++) {
			ldns_rr *rr = mkrr(z->rrs[i]);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA) {
				ldns_pkt_push_rr(
				    rp, LDNS_SECTION_AUTHORITY, rr);
			} else {
				ldns_rr_free(rr);
			}
		}
		if (!exists ||
		    (ent_broken && ldns_dname_compare(cur, qn) == 0 &&
		        ldns_rr_list_rr_count(ldns_pkt_answer(rp)) == 0 &&
		        !(ldns_dname_label_count(cur) >= 5)))
			ldns_pkt_set_rcode(rp, LDNS_RCODE_NXDOMAIN);
		break;
	}
	if (mode & M_POISON) {
		push(rp, LDNS_SECTION_ANSWER, "www.example.com. 300 A 6.6.6.6");
		push(rp, LDNS_SECTION_AUTHORITY, "com. 300 NS ns.evil.com.");
		push(rp, LDNS_SECTION_ADDITIONAL, "ns.evil.com. 300 A 6.6.6.6");
		push(rp, LDNS_SECTION_ADDITIONAL,
		    "www.example.org. 300 A 6.6.6.6");
	}
	ldns_rdf_deep_free(apex);
	ldns_rdf_deep_free(cur);
out:
	assert_int_equal(ldns_pkt2wire(&wire, rp, rlen), LDNS_STATUS_OK);
	ldns_pkt_free(qp);
	ldns_pkt_free(rp);
	return wire;
}

/* ---- the harness ---- */

struct world {
	struct cache *cache;
	struct infra *infra;
	struct deleg_hints hints;
	struct iter_env env;
	uint64_t now;
	uint32_t rnd;
	struct iter_scratch scratch;
	unsigned sends;
	char sent[64][128]; /* "name/type@addr" of each send */
	/* spoofs to deliver before the genuine reply, for one name */
	const char *spoof_name;
	int spoof_kind; /* 1 wrong source, 2 wrong ID, 3 wrong case */
};

static void
det_random(void *buf, size_t len, void *arg)
{
	struct world *w = arg;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		w->rnd = w->rnd * 1103515245u + 12345u;
		p[i] = (uint8_t)(w->rnd >> 16);
	}
}

static struct world *
world_new(void)
{
	struct world *w = calloc(1, sizeof(*w));
	struct cache_policy pol = {0, 86400, 3600, 0};
	uint8_t ip[4];

	w->cache = cache_new(8u << 20, &pol);
	w->infra = infra_new(1000);
	deleg_init(&w->hints.root, (const uint8_t *)"");
	int i = deleg_add_ns(
	    &w->hints.root, (const uint8_t *)"\001a\014root-servers\003net");
	inet_pton(AF_INET, "192.0.2.1", ip);
	deleg_add_addr(&w->hints.root, i, ip, AF_INET);
	w->env.cache = w->cache;
	w->env.infra = w->infra;
	w->env.hints = &w->hints;
	w->env.random = det_random;
	w->env.random_arg = w;
	w->env.port = 53;
	w->env.scratch = &w->scratch;
	w->env.opts = (struct iter_opts){
	    .max_sends = 32,
	    .max_glueless = 5,
	    .max_cname = 11,
	    .max_depth = 10,
	    .max_time_ms = 10000,
	    .qname_minimisation = true,
	    .use_0x20 = true,
	    .min_ttl = 0,
	    .max_ttl = 86400,
	    .negative_ttl = 3600,
	};
	w->now = 1700000000000ull;
	w->rnd = 42;
	return w;
}

static void
world_free(struct world *w)
{
	cache_free(w->cache);
	infra_free(w->infra);
	free(w);
}

static uint8_t *
wire_name(const char *s)
{
	static uint8_t buf[4][256];
	static int k;
	ldns_rdf *r = ldns_dname_new_frm_str(s);
	uint8_t *b = buf[k++ % 4];
	memcpy(b, ldns_rdf_data(r), ldns_rdf_size(r));
	ldns_rdf_deep_free(r);
	return b;
}

/* The test's one clock, as both of the iterator's clocks. */
#define NOW(w) ((struct iter_now){(w)->now, (w)->now})

static void
mksa(struct sockaddr_in *sa, const uint8_t *ip, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	memcpy(&sa->sin_addr, ip, 4);
}

/* Run one resolution to the end. */
static struct iter_req *
resolve(struct world *w, const char *name, uint16_t type)
{
	struct iter_req *r =
	    iter_new(&w->env, wire_name(name), type, 1, NOW(w));
	struct iter_action a;

	assert_non_null(r);
	for (int i = 0; i < 300; i++) {
		if (iter_next(r, NOW(w), &a) == ITER_DONE)
			return r;
		char addr[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, a.addr, addr, sizeof(addr));
		if (w->sends < 64) {
			char n[64];
			dns_name_to_text(n, sizeof(n), a.pkt + 12);
			snprintf(w->sent[w->sends], sizeof(w->sent[0]),
			    "%s/%u@%s%s", n,
			    (unsigned)(a.pkt[12 + strlen((char *)a.pkt + 12) +
			        2]),
			    addr, a.tcp ? "/tcp" : "");
		}
		w->sends++;
		if (mode_of(addr) & M_DEAD) {
			w->now += a.timeout_ms;
			assert_int_equal(iter_reply(r, NULL, NULL, 0, NOW(w)),
			    ITER_ACCEPTED);
			continue;
		}
		size_t rlen;
		uint8_t *resp = simulate(addr, a.pkt, a.len, a.tcp, &rlen);
		struct sockaddr_in from;
		mksa(&from, a.addr, a.port);
		w->now += 3;
		if (w->spoof_name &&
		    strcasestr(w->sent[w->sends - 1], w->spoof_name)) {
			uint8_t *bad = malloc(rlen);
			memcpy(bad, resp, rlen);
			struct sockaddr_in other = from;
			if (w->spoof_kind == 1)
				other.sin_addr.s_addr ^= htonl(1);
			else if (w->spoof_kind == 2)
				bad[1] ^= 0x5a;
			else if (w->spoof_kind == 3)
				for (size_t k = 13; k < 13 + 3; k++)
					bad[k] ^= 0x20;
			else if (w->spoof_kind == 4)
				other.sin_port = htons(5353);
			assert_int_equal(
			    iter_reply(r, (struct sockaddr *)&other, bad, rlen,
			        NOW(w)),
			    ITER_IGNORED);
			free(bad);
		}
		assert_int_equal(
		    iter_reply(r, (struct sockaddr *)&from, resp, rlen, NOW(w)),
		    ITER_ACCEPTED);
		free(resp);
	}
	fail_msg("resolution did not finish");
	return r;
}

/* The A rdata of the answer's last record, as text. */
static const char *
last_a(const struct iter_result *res)
{
	static char buf[INET_ADDRSTRLEN];
	const uint8_t *p = res->rr, *last = NULL;
	unsigned n = 0;

	while (n < res->ancount) {
		size_t nl = dns_name_len(p, 255);
		if ((p[nl] << 8 | p[nl + 1]) == 1)
			last = p + nl + 10;
		p += nl + 10 + (p[nl + 8] << 8 | p[nl + 9]);
		n++;
	}
	if (last == NULL)
		return "";
	inet_ntop(AF_INET, last, buf, sizeof(buf));
	return buf;
}

static bool
cached_a(struct world *w, const char *name, const char *ip)
{
	uint8_t buf[1024], want[4];
	struct cache_rrset_out o;

	inet_pton(AF_INET, ip, want);
	if (cache_get(w->cache, wire_name(name), 1, 1, w->now, &o, buf,
	        sizeof(buf)) != 1)
		return false;
	const uint8_t *p = o.rdata;
	for (unsigned k = 0; k < o.nrr; k++, p += 6)
		if (memcmp(p + 2, want, 4) == 0)
			return true;
	return false;
}

static bool
trace_has(const struct iter_req *r, const char *needle)
{
	const struct trace *t = iter_trace(r);
	for (size_t i = 0; i < t->n; i++)
		if (strstr(t->steps[i].detail, needle))
			return true;
	return false;
}

/* ---- tests ---- */

static void
walk_root_tld_zone(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "www.example.com.", 1);
	const struct iter_result *res = iter_result(r);

	assert_false(res->failed);
	assert_int_equal(res->rcode, 0);
	assert_int_equal(res->ancount, 1);
	assert_string_equal(last_a(res), "192.0.2.100");
	assert_int_equal(w->sends, 3);
	/* QNAME minimisation: the root saw "com", com saw "example.com" */
	assert_non_null(strstr(w->sent[0], "@192.0.2.1"));
	assert_int_equal(strncasecmp(w->sent[0], "com./1@", 7), 0);
	assert_int_equal(strncasecmp(w->sent[1], "example.com./1@", 15), 0);
	assert_int_equal(strncasecmp(w->sent[2], "www.example.com./1@", 19), 0);
	assert_true(cached_a(w, "www.example.com.", "192.0.2.100"));
	iter_free(r);

	/* the second walk starts at the cached cut: one send */
	w->sends = 0;
	r = resolve(w, "mail.example.com.", 1);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.102");
	assert_int_equal(w->sends, 1);
	iter_free(r);
	/* and a cached answer needs no send at all */
	w->sends = 0;
	r = resolve(w, "www.example.com.", 1);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.100");
	assert_int_equal(w->sends, 0);
	iter_free(r);
	world_free(w);
}

static void
no_qname_minimisation(void **state)
{
	(void)state;
	struct world *w = world_new();
	w->env.opts.qname_minimisation = false;
	struct iter_req *r = resolve(w, "www.example.com.", 1);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.100");
	assert_int_equal(strncasecmp(w->sent[0], "www.example.com./1@", 19), 0);
	iter_free(r);
	world_free(w);
}

static void
qmin_fallback_on_broken_ent(void **state)
{
	(void)state;
	struct world *w = world_new();
	/* ent.com's server says NXDOMAIN for the empty non-terminal c.ent.com
	 */
	struct iter_req *r = resolve(w, "a.b.c.ent.com.", 1);
	const struct iter_result *res = iter_result(r);
	assert_false(res->failed);
	assert_string_equal(last_a(res), "192.0.2.172");
	assert_true(trace_has(r, "fall back to the full name"));
	iter_free(r);
	world_free(w);
}

static void
glueless_ns(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "www.glueless.com.", 1);
	const struct iter_result *res = iter_result(r);
	assert_false(res->failed);
	assert_string_equal(last_a(res), "192.0.2.130");
	assert_true(cached_a(w, "ns.example.net.", "192.0.2.32"));
	assert_true(trace_has(r, "looking up address of NS"));
	iter_free(r);
	world_free(w);
}

static void
cname_in_zone_and_across(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "c1.example.com.", 1);
	const struct iter_result *res = iter_result(r);
	assert_false(res->failed);
	assert_int_equal(res->ancount, 3); /* c1 -> c2 -> www A */
	assert_string_equal(last_a(res), "192.0.2.100");
	iter_free(r);
	r = resolve(w, "cross.example.com.", 1);
	res = iter_result(r);
	assert_false(res->failed);
	assert_int_equal(res->ancount, 2);
	assert_string_equal(last_a(res), "192.0.2.120");
	iter_free(r);
	world_free(w);
}

static void
cname_loop(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "loop1.example.com.", 1);
	const struct iter_result *res = iter_result(r);
	assert_true(res->failed);
	assert_int_equal(res->rcode, 2);
	assert_non_null(strstr(res->reason, "CNAME loop"));
	iter_free(r);
	/* a loop across zones ends too */
	r = resolve(w, "x1.example.com.", 1);
	res = iter_result(r);
	assert_true(res->failed);
	assert_non_null(strstr(res->reason, "CNAME loop"));
	iter_free(r);
	world_free(w);
}

static void
lame_server_skipped(void **state)
{
	(void)state;
	struct world *w = world_new();
	for (int k = 0; k < 4; k++) {
		w->rnd = 7 + (uint32_t)k; /* vary the choice of first server */
		cache_flush_all(w->cache);
		struct iter_req *r = resolve(w, "www.lame.com.", 1);
		assert_false(iter_result(r)->failed);
		assert_string_equal(last_a(iter_result(r)), "192.0.2.140");
		iter_free(r);
	}
	uint8_t ip[4];
	inet_pton(AF_INET, "192.0.2.40", ip);
	assert_true(infra_is_lame(
	    w->infra, ip, AF_INET, wire_name("lame.com."), w->now));
	world_free(w);
}

static void
timeout_then_next_server(void **state)
{
	(void)state;
	struct world *w = world_new();
	for (int k = 0; k < 4; k++) {
		w->rnd = 100 + (uint32_t)k;
		cache_flush_all(w->cache);
		struct iter_req *r = resolve(w, "www.dead.com.", 1);
		assert_false(iter_result(r)->failed);
		assert_string_equal(last_a(iter_result(r)), "192.0.2.150");
		iter_free(r);
	}
	/* every server dead: SERVFAIL naming the zone */
	struct iter_req *r = resolve(w, "www.alldead.com.", 1);
	assert_true(iter_result(r)->failed);
	assert_int_equal(
	    iter_result(r)->ede_code, ITER_EDE_NO_REACHABLE_AUTHORITY);
	assert_non_null(strstr(iter_result(r)->reason, "alldead.com"));
	iter_free(r);
	world_free(w);
}

static void
tc_then_tcp(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "www.tc.com.", 1);
	assert_false(iter_result(r)->failed);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.170");
	assert_non_null(strstr(w->sent[w->sends - 1], "/tcp"));
	assert_null(strstr(w->sent[w->sends - 2], "/tcp"));
	iter_free(r);
	world_free(w);
}

static void
edns_fallback(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "www.noedns.com.", 1);
	assert_false(iter_result(r)->failed);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.171");
	assert_true(trace_has(r, "retry without"));
	iter_free(r);
	world_free(w);
}

static void
spoofs_ignored(void **state)
{
	(void)state;
	for (int kind = 1; kind <= 4; kind++) {
		struct world *w = world_new();
		w->spoof_name = "www.example.com";
		w->spoof_kind = kind;
		struct iter_req *r = resolve(w, "www.example.com.", 1);
		assert_false(iter_result(r)->failed);
		assert_string_equal(last_a(iter_result(r)), "192.0.2.100");
		assert_int_equal(iter_ignored(r), 1);
		iter_free(r);
		world_free(w);
	}
}

static void
out_of_bailiwick_not_cached(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "www.evil.com.", 1);
	assert_false(iter_result(r)->failed);
	assert_int_equal(iter_result(r)->ancount, 1);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.160");
	assert_false(cached_a(w, "www.example.com.", "6.6.6.6"));
	assert_false(cached_a(w, "www.example.org.", "6.6.6.6"));
	assert_false(cached_a(w, "ns.evil.com.", "6.6.6.6"));
	/* com's NS set is still the one the root gave */
	uint8_t buf[2048];
	struct cache_rrset_out o;
	assert_int_equal(cache_get(w->cache, wire_name("com."), 2, 1, w->now,
	                     &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(o.nrr, 1);
	assert_true(dns_name_eq(o.rdata + 2, wire_name("a.gtld.net.")));
	iter_free(r);
	world_free(w);
}

static void
expiry_at_exact_ttl(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "short.example.com.", 1);
	uint64_t t0 = w->now;
	uint8_t buf[512];
	struct cache_rrset_out o;
	iter_free(r);
	assert_int_equal(cache_get(w->cache, wire_name("short.example.com."), 1,
	                     1, t0 + 4000, &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(o.ttl, 1);
	assert_int_equal(cache_get(w->cache, wire_name("short.example.com."), 1,
	                     1, t0 + 5000, &o, buf, sizeof(buf)),
	    0);
	/* asked again after 5 s it is fetched from the server again */
	w->now = t0 + 5000;
	w->sends = 0;
	r = resolve(w, "short.example.com.", 1);
	assert_int_equal(w->sends, 1);
	iter_free(r);
	world_free(w);
}

static void
negative_ttl_rfc2308(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "nope.example.com.", 1);
	const struct iter_result *res = iter_result(r);
	uint8_t buf[512];
	struct cache_rrset_out o;

	assert_int_equal(res->rcode, 3);
	assert_int_equal(res->nscount, 1);
	/* SOA TTL 600, MINIMUM 300: the lesser */
	assert_int_equal(
	    cache_get(w->cache, wire_name("nope.example.com."),
	        CACHE_TYPE_NXDOMAIN, 1, w->now, &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(o.ttl, 300);
	iter_free(r);
	/* NODATA */
	r = resolve(w, "mail.example.com.", 28);
	assert_int_equal(iter_result(r)->rcode, 0);
	assert_int_equal(iter_result(r)->ancount, 0);
	assert_int_equal(iter_result(r)->nscount, 1);
	assert_int_equal(cache_get(w->cache, wire_name("mail.example.com."), 28,
	                     1, w->now, &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(o.kind, CACHE_NODATA);
	iter_free(r);
	/* capped by negative_ttl */
	w->env.opts.negative_ttl = 100;
	struct cache_policy pol = {0, 86400, 100, 0};
	cache_set_policy(w->cache, &pol);
	r = resolve(w, "nope2.example.com.", 1);
	assert_int_equal(
	    cache_get(w->cache, wire_name("nope2.example.com."),
	        CACHE_TYPE_NXDOMAIN, 1, w->now, &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(o.ttl, 100);
	iter_free(r);
	world_free(w);
}

static void
glue_does_not_override_authoritative(void **state)
{
	(void)state;
	struct world *w = world_new();
	/* an authoritative answer for ns1.example.com is in the cache */
	uint8_t rd[6] = {0, 4, 192, 0, 2, 30};
	struct cache_rrset_in in = {
	    .owner = wire_name("ns1.example.com."),
	    .type = 1,
	    .rclass = 1,
	    .kind = CACHE_RRSET,
	    .rank = CACHE_RANK_AUTH_ANSWER,
	    .ttl = 77,
	    .nrr = 1,
	    .rdata = rd,
	    .rdata_len = 6,
	};
	assert_int_equal(cache_store(w->cache, &in, w->now), 1);
	/* the referral from com carries glue for it (TTL 172800) */
	struct iter_req *r = resolve(w, "www.example.com.", 1);
	assert_false(iter_result(r)->failed);
	uint8_t buf[512];
	struct cache_rrset_out o;
	assert_int_equal(cache_get(w->cache, wire_name("ns1.example.com."), 1,
	                     1, w->now, &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(o.rank, CACHE_RANK_AUTH_ANSWER);
	assert_true(o.ttl <= 77);
	iter_free(r);
	world_free(w);
}

static void
glue_never_answered(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "www.example.com.", 1);
	iter_free(r);
	/* ns1.example.com A is in the cache only as glue */
	uint8_t buf[512];
	struct cache_rrset_out o;
	assert_int_equal(cache_get(w->cache, wire_name("ns1.example.com."), 1,
	                     1, w->now, &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(o.rank, CACHE_RANK_GLUE);
	/* a client question for it is resolved, not answered from glue */
	w->sends = 0;
	r = resolve(w, "ns1.example.com.", 1);
	assert_int_equal(w->sends, 1);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.30");
	iter_free(r);
	world_free(w);
}

static void
expect_limit(struct world *w, const char *name, const char *text)
{
	struct iter_req *r = resolve(w, name, 1);
	const struct iter_result *res = iter_result(r);
	assert_true(res->failed);
	assert_int_equal(res->rcode, 2);
	if (strstr(res->reason, text) == NULL)
		fail_msg("reason '%s' lacks '%s'", res->reason, text);
	iter_free(r);
}

static void
limits(void **state)
{
	(void)state;
	struct world *w = world_new();
	w->env.opts.max_sends = 2;
	expect_limit(w, "www.example.com.",
	    "limit max_sends (2) reached at zone example.com.");
	world_free(w);

	w = world_new();
	w->env.opts.max_glueless = 0;
	expect_limit(w, "www.glueless.com.",
	    "limit max_glueless (0) reached at zone glueless.com.");
	world_free(w);

	w = world_new();
	w->env.opts.max_cname = 3;
	expect_limit(w, "l0.example.com.",
	    "limit max_cname (3) reached at zone example.com.");
	world_free(w);

	w = world_new();
	w->env.opts.max_depth = 1;
	expect_limit(
	    w, "www.example.com.", "limit max_depth (1) reached at zone com.");
	world_free(w);

	w = world_new();
	w->env.opts.max_time_ms = 500;
	expect_limit(w, "www.alldead.com.",
	    "limit max_time_ms (500) reached at zone alldead.com.");
	world_free(w);
}

static void
ds_asked_of_the_parent(void **state)
{
	(void)state;
	struct world *w = world_new();
	/* the child's NS set is cached first */
	struct iter_req *r = resolve(w, "www.example.com.", 1);
	iter_free(r);
	w->sends = 0;
	r = resolve(w, "example.com.", 43);
	const struct iter_result *res = iter_result(r);
	assert_false(res->failed);
	assert_int_equal(res->rcode, 0);
	assert_int_equal(res->ancount, 1);
	/* asked of com's server, not example.com's */
	assert_non_null(strstr(w->sent[0], "@192.0.2.10"));
	iter_free(r);
	world_free(w);
}

static void
any_takes_every_rrset(void **state)
{
	(void)state;
	struct world *w = world_new();
	struct iter_req *r = resolve(w, "mail.example.com.", 255);
	const struct iter_result *res = iter_result(r);
	assert_false(res->failed);
	assert_int_equal(res->rcode, 0);
	assert_int_equal(res->ancount, 3); /* A, MX, TXT */
	uint8_t buf[512];
	struct cache_rrset_out o;
	assert_int_equal(cache_get(w->cache, wire_name("mail.example.com."), 15,
	                     1, w->now, &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(cache_get(w->cache, wire_name("mail.example.com."),
	                     255, 1, w->now, &o, buf, sizeof(buf)),
	    0); /* no NODATA for ANY */
	iter_free(r);
	world_free(w);
}

static struct iter_forward fwd[2];

static void
set_forward(struct world *w, const char *zone, const char *a1, const char *a2,
    bool fallback)
{
	uint8_t ip[4];

	memset(fwd, 0, sizeof(fwd));
	deleg_init(&fwd[0].cut, wire_name(zone));
	fwd[0].cut.forward = true;
	fwd[0].fallback_iterate = fallback;
	int i = deleg_add_ns(&fwd[0].cut, (const uint8_t *)"\011forwarder");
	inet_pton(AF_INET, a1, ip);
	deleg_add_addr(&fwd[0].cut, i, ip, AF_INET);
	if (a2 != NULL) {
		inet_pton(AF_INET, a2, ip);
		deleg_add_addr(&fwd[0].cut, i, ip, AF_INET);
	}
	fwd[0].cut.ns[i].addr[0].port = 5301;
	w->env.forwards = fwd;
	w->env.nforwards = 1;
}

static void
forward_zone(void **state)
{
	(void)state;
	struct world *w = world_new();
	set_forward(w, "example.com.", "198.51.100.1", NULL, false);
	struct iter_req *r = resolve(w, "c1.example.com.", 1);
	const struct iter_result *res = iter_result(r);
	assert_false(res->failed);
	assert_int_equal(res->ancount, 3);
	assert_string_equal(last_a(res), "192.0.2.100");
	assert_int_equal(w->sends, 1); /* one question, to the forwarder */
	assert_non_null(strstr(w->sent[0], "@198.51.100.1"));
	uint8_t buf[512];
	struct cache_rrset_out o;
	assert_int_equal(cache_get(w->cache, wire_name("www.example.com."), 1,
	                     1, w->now, &o, buf, sizeof(buf)),
	    1);
	assert_int_equal(o.rank, CACHE_RANK_NONAUTH_ANSWER);
	iter_free(r);
	/* outside the forward zone: iterate as usual */
	w->sends = 0;
	r = resolve(w, "www.example.org.", 1);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.120");
	assert_true(w->sends >= 3);
	iter_free(r);
	/* negative answers through the forwarder */
	r = resolve(w, "nope.example.com.", 1);
	assert_int_equal(iter_result(r)->rcode, 3);
	iter_free(r);
	world_free(w);
}

static void
forward_down_fallback_or_fail(void **state)
{
	(void)state;
	struct world *w = world_new();
	set_forward(w, ".", "198.51.100.2", NULL, true);
	struct iter_req *r = resolve(w, "www.example.com.", 1);
	assert_false(iter_result(r)->failed);
	assert_string_equal(last_a(iter_result(r)), "192.0.2.100");
	assert_true(trace_has(r, "iterate instead"));
	iter_free(r);
	world_free(w);

	w = world_new();
	set_forward(w, ".", "198.51.100.2", NULL, false);
	r = resolve(w, "www.example.com.", 1);
	assert_true(iter_result(r)->failed);
	assert_non_null(
	    strstr(iter_result(r)->reason, "no reachable forwarder"));
	iter_free(r);
	world_free(w);
}

static void
dependency_cycle_ends(void **state)
{
	(void)state;
	struct world *w = world_new();
	/* cyc1.com's NS lives in cyc2.com and the other way round */
	struct iter_req *r = resolve(w, "www.cyc1.com.", 1);
	assert_true(iter_result(r)->failed);
	assert_true(w->sends < 32);
	iter_free(r);
	world_free(w);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(walk_root_tld_zone),
	    cmocka_unit_test(no_qname_minimisation),
	    cmocka_unit_test(qmin_fallback_on_broken_ent),
	    cmocka_unit_test(glueless_ns),
	    cmocka_unit_test(cname_in_zone_and_across),
	    cmocka_unit_test(cname_loop),
	    cmocka_unit_test(lame_server_skipped),
	    cmocka_unit_test(timeout_then_next_server),
	    cmocka_unit_test(tc_then_tcp),
	    cmocka_unit_test(edns_fallback),
	    cmocka_unit_test(spoofs_ignored),
	    cmocka_unit_test(out_of_bailiwick_not_cached),
	    cmocka_unit_test(expiry_at_exact_ttl),
	    cmocka_unit_test(negative_ttl_rfc2308),
	    cmocka_unit_test(glue_does_not_override_authoritative),
	    cmocka_unit_test(glue_never_answered),
	    cmocka_unit_test(limits),
	    cmocka_unit_test(ds_asked_of_the_parent),
	    cmocka_unit_test(any_takes_every_rrset),
	    cmocka_unit_test(forward_zone),
	    cmocka_unit_test(forward_down_fallback_or_fail),
	    cmocka_unit_test(dependency_cycle_ends),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
