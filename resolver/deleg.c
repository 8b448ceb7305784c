/*
 * deleg.c: zone cuts, root hints and server choice.
 *
 * A struct deleg is filled from three places: the hints (for "."), the cache
 * (the deepest NS set cached at or above a name, plus cached addresses of its
 * NS names) and referrals (iter.c adds NS names and accepted glue). Choosing
 * a server reads the infra cache for RTT and lameness.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "resolver/deleg.h"
#include "resolver/rrfile.h"

/* IANA root servers (named.root, 2023-era addresses). */
static const struct {
	const char *name, *v4, *v6;
} root_servers[] = {
    {"a", "198.41.0.4", "2001:503:ba3e::2:30"},
    {"b", "170.247.170.2", "2801:1b8:10::b"},
    {"c", "192.33.4.12", "2001:500:2::c"},
    {"d", "199.7.91.13", "2001:500:2d::d"},
    {"e", "192.203.230.10", "2001:500:a8::e"},
    {"f", "192.5.5.241", "2001:500:2f::f"},
    {"g", "192.112.36.4", "2001:500:12::d0d"},
    {"h", "198.97.190.53", "2001:500:1::53"},
    {"i", "192.36.148.17", "2001:7fe::53"},
    {"j", "192.58.128.30", "2001:503:c27::2:30"},
    {"k", "193.0.14.129", "2001:7fd::1"},
    {"l", "199.7.83.42", "2001:500:9f::42"},
    {"m", "202.12.27.33", "2001:dc3::35"},
};

void
deleg_init(struct deleg *d, const uint8_t *zone)
{
	/* the ns[] slots are set up as they are added (deleg_add_ns) */
	memset(d, 0, offsetof(struct deleg, ns));
	dns_name_lower(d->zone, zone);
}

int
deleg_find_ns(const struct deleg *d, const uint8_t *ns)
{
	for (unsigned i = 0; i < d->nns; i++)
		if (dns_name_eq(d->ns[i].name, ns))
			return (int)i;
	return -1;
}

int
deleg_add_ns(struct deleg *d, const uint8_t *ns)
{
	int i = deleg_find_ns(d, ns);

	if (i >= 0)
		return i;
	if (d->nns >= LIM_MAX_NS_PER_CUT || dns_name_len(ns, LIM_NAME_MAX) == 0)
		return -1;
	i = d->nns++;
	memset(&d->ns[i], 0, sizeof(d->ns[i]));
	dns_name_lower(d->ns[i].name, ns);
	return i;
}

bool
deleg_add_addr(struct deleg *d, int idx, const uint8_t *ip, int family)
{
	struct deleg_ns *ns;
	size_t alen = family == AF_INET ? 4 : 16;

	if (idx < 0 || idx >= d->nns ||
	    (family != AF_INET && family != AF_INET6))
		return false;
	ns = &d->ns[idx];
	for (unsigned i = 0; i < ns->naddr; i++)
		if (ns->addr[i].family == family &&
		    memcmp(ns->addr[i].ip, ip, alen) == 0)
			return false;
	if (ns->naddr >= LIM_MAX_ADDR_PER_NS)
		return false;
	memset(&ns->addr[ns->naddr], 0, sizeof(ns->addr[0]));
	memcpy(ns->addr[ns->naddr].ip, ip, alen);
	ns->addr[ns->naddr].family = (uint8_t)family;
	ns->naddr++;
	return true;
}

void
deleg_hints_builtin(struct deleg_hints *h)
{
	uint8_t name[32], ip[16];

	deleg_init(&h->root, (const uint8_t *)"");
	h->root.from_hints = true;
	for (size_t i = 0; i < sizeof(root_servers) / sizeof(root_servers[0]);
	     i++) {
		/* "\001a\014root-servers\003net\000" */
		name[0] = 1;
		name[1] = (uint8_t)root_servers[i].name[0];
		memcpy(name + 2, "\014root-servers\003net", 17);
		name[19] = 0;
		int idx = deleg_add_ns(&h->root, name);
		if (inet_pton(AF_INET, root_servers[i].v4, ip) == 1)
			deleg_add_addr(&h->root, idx, ip, AF_INET);
		if (inet_pton(AF_INET6, root_servers[i].v6, ip) == 1)
			deleg_add_addr(&h->root, idx, ip, AF_INET6);
	}
}

/* Record one RR of a hints file. Returns NULL or an error message. */
static const char *
hints_rr(struct deleg_hints *h, ldns_rr *rr)
{
	ldns_rdf *owner = ldns_rr_owner(rr);
	ldns_rr_type t = ldns_rr_get_type(rr);
	ldns_rdf *rd = ldns_rr_rdf(rr, 0);
	int idx;

	if (rd == NULL)
		return "record without data";
	if (t == LDNS_RR_TYPE_NS) {
		if (ldns_rdf_size(owner) != 1)
			return "NS record for a zone other than the root";
		if (deleg_add_ns(&h->root, ldns_rdf_data(rd)) < 0)
			return "too many root NS names";
		return NULL;
	}
	if (t != LDNS_RR_TYPE_A && t != LDNS_RR_TYPE_AAAA)
		return NULL; /* ignore other types, as named.root users expect
		              */
	idx = deleg_find_ns(&h->root, ldns_rdf_data(owner));
	if (idx < 0)
		return "address record for a name that is not a root NS";
	deleg_add_addr(&h->root, idx, ldns_rdf_data(rd),
	    t == LDNS_RR_TYPE_A ? AF_INET : AF_INET6);
	return NULL;
}

int
deleg_hints_load(
    struct deleg_hints *h, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int line = 1;
	ldns_rdf *origin = NULL, *prev = NULL;
	uint32_t ttl = 3600000;
	ldns_rr *rr;
	ldns_status st;
	const char *msg;

	if (f == NULL) {
		snprintf(
		    err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -ENOENT;
	}
	deleg_init(&h->root, (const uint8_t *)"");
	h->root.from_hints = true;
	origin = ldns_dname_new_frm_str(".");
	while (!feof(f)) {
		rr = NULL;
		st = ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY ||
		    st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN) {
			continue;
		}
		if (st != LDNS_STATUS_OK) {
			snprintf(err, errlen, "%s:%d: %s", path,
			    rrfile_line(f, line), ldns_get_errorstr_by_id(st));
			goto fail;
		}
		msg = hints_rr(h, rr);
		ldns_rr_free(rr);
		if (msg != NULL) {
			snprintf(err, errlen, "%s:%d: %s", path,
			    rrfile_line(f, line), msg);
			goto fail;
		}
	}
	fclose(f);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	if (deleg_usable(&h->root) == 0) {
		snprintf(
		    err, errlen, "%s: no root server with an address", path);
		return -EINVAL;
	}
	return 0;
fail:
	fclose(f);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return -EINVAL;
}

/* Copy the addresses cached for NS @p i of @p d (A and AAAA, any rank). */
static void
fill_one(
    struct deleg *d, int i, struct cache *c, uint16_t rclass, uint64_t now_ms)
{
	static const uint16_t types[2] = {1, 28};
	uint8_t buf[2048];
	struct cache_rrset_out o;

	for (int t = 0; t < 2; t++) {
		if (cache_get(c, d->ns[i].name, types[t], rclass, now_ms, &o,
		        buf, sizeof(buf)) != 1 ||
		    o.kind != CACHE_RRSET)
			continue;
		const uint8_t *p = o.rdata, *end = o.rdata + o.rdata_len;
		for (unsigned k = 0; k < o.nrr && p + 2 <= end; k++) {
			unsigned rdlen = (unsigned)(p[0] << 8 | p[1]);
			if ((t == 0 && rdlen == 4) || (t == 1 && rdlen == 16))
				deleg_add_addr(
				    d, i, p + 2, t == 0 ? AF_INET : AF_INET6);
			p += 2 + rdlen;
		}
	}
}

/* The root's NS names may have no cached address (the priming reply came
 * without them, or they expired first): use the hints' addresses. */
static void
fill_from_hints(struct deleg *d, const struct deleg_hints *h)
{
	for (int i = 0; i < d->nns; i++) {
		if (d->ns[i].naddr > 0)
			continue;
		int k = deleg_find_ns(&h->root, d->ns[i].name);
		if (k < 0)
			continue;
		for (int a = 0; a < h->root.ns[k].naddr; a++)
			deleg_add_addr(d, i, h->root.ns[k].addr[a].ip,
			    h->root.ns[k].addr[a].family);
	}
}

void
deleg_fill_addrs(
    struct deleg *d, struct cache *c, uint16_t rclass, uint64_t now_ms)
{
	for (int i = 0; i < d->nns; i++)
		fill_one(d, i, c, rclass, now_ms);
}

bool
deleg_from_cache(struct deleg *d, struct cache *c, const struct deleg_hints *h,
    const uint8_t *name, uint16_t rclass, uint64_t now_ms)
{
	uint8_t buf[4096];
	struct cache_rrset_out o;
	const uint8_t *n = name;

	for (;;) {
		if (cache_get(c, n, 2 /* NS */, rclass, now_ms, &o, buf,
		        sizeof(buf)) == 1 &&
		    o.kind == CACHE_RRSET && o.nrr > 0) {
			deleg_init(d, n);
			d->from_cache = true;
			d->ttl = o.ttl;
			const uint8_t *p = o.rdata,
			              *end = o.rdata + o.rdata_len;
			for (unsigned k = 0; k < o.nrr && p + 2 <= end; k++) {
				unsigned rdlen = (unsigned)(p[0] << 8 | p[1]);
				if (dns_name_len(p + 2, rdlen) == rdlen)
					deleg_add_ns(d, p + 2);
				p += 2 + rdlen;
			}
			deleg_fill_addrs(d, c, rclass, now_ms);
			if (n[0] == 0)
				fill_from_hints(d, h);
			if (d->nns > 0)
				return true;
		}
		if (n[0] == 0)
			break;
		n += 1 + n[0];
	}
	*d = h->root;
	return false;
}

int
deleg_forward(struct deleg *d, const char *zone,
    const struct sockaddr_storage *addrs, unsigned n)
{
	uint8_t wire[LIM_NAME_MAX];
	/* the servers show in traces as "forwarder." */
	static const uint8_t fwd_name[] = "\011forwarder";
	int idx;

	if (dns_name_from_text(wire, zone) == 0)
		return -EINVAL;
	deleg_init(d, wire);
	d->forward = true;
	idx = deleg_add_ns(d, fwd_name);
	for (unsigned i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&addrs[i];
		struct deleg_ns *ns = &d->ns[idx];
		struct deleg_addr *a;

		/* not deleg_add_addr: two forwarders may share an address and
		 * differ by port (cache tiers on loopback) */
		if (ns->naddr >= LIM_MAX_ADDR_PER_NS)
			break;
		a = &ns->addr[ns->naddr];
		memset(a, 0, sizeof(*a));
		if (sa->sa_family == AF_INET) {
			const struct sockaddr_in *s4 = (const void *)sa;
			memcpy(a->ip, &s4->sin_addr, 4);
			a->port = ntohs(s4->sin_port);
		} else if (sa->sa_family == AF_INET6) {
			const struct sockaddr_in6 *s6 = (const void *)sa;
			memcpy(a->ip, &s6->sin6_addr, 16);
			a->port = ntohs(s6->sin6_port);
		} else {
			continue;
		}
		a->family = (uint8_t)sa->sa_family;
		ns->naddr++;
	}
	return d->ns[idx].naddr > 0 ? 0 : -EINVAL;
}

unsigned
deleg_usable(const struct deleg *d)
{
	unsigned u = 0;

	for (unsigned i = 0; i < d->nns; i++)
		for (unsigned k = 0; k < d->ns[i].naddr; k++)
			if (d->ns[i].addr[k].state != DELEG_ADDR_BAD)
				u++;
	return u;
}

bool
deleg_pick(const struct deleg *d, struct infra *infra, uint64_t now_ms,
    uint32_t rnd, int *ns_idx, int *addr_idx)
{
	int best_n = -1, best_a = -1, n_eligible = 0;
	uint64_t best_score = UINT64_MAX;
	int pick = -1;

	/* Two passes: the first counts eligible addresses and finds the best;
	 * exploration then takes the (rnd % count)-th eligible one. */
	for (int pass = 0; pass < 2; pass++) {
		int seen = 0;
		for (int i = 0; i < d->nns; i++) {
			for (int k = 0; k < d->ns[i].naddr; k++) {
				const struct deleg_addr *a = &d->ns[i].addr[k];
				struct infra_info inf;
				uint64_t score;

				if (a->state == DELEG_ADDR_BAD ||
				    (a->sibling && !d->use_sibling))
					continue;
				if (infra_is_lame(infra, a->ip, a->family,
				        d->zone, now_ms))
					continue;
				if (pass == 1) {
					if (seen++ == pick) {
						*ns_idx = i;
						*addr_idx = k;
						return true;
					}
					continue;
				}
				n_eligible++;
				infra_get(
				    infra, a->ip, a->family, now_ms, &inf);
				score = inf.srtt_ms ? inf.srtt_ms
				                    : DELEG_UNKNOWN_RTT;
				/* a timed-out server pays its backoff */
				score += (uint64_t)inf.timeouts * 1000;
				/* already asked in this frame: last resort */
				score += (uint64_t)a->tries * 100000;
				/* tie-break between equals by rnd */
				score =
				    score * 64 + ((rnd >> ((i + k) % 16)) & 63);
				if (score < best_score) {
					best_score = score;
					best_n = i;
					best_a = k;
				}
			}
		}
		if (pass == 0) {
			if (n_eligible == 0)
				return false;
			if (n_eligible > 1 &&
			    (rnd % 1000) < LIM_EXPLORE_PERMIL) {
				pick =
				    (int)((rnd / 1000) % (uint32_t)n_eligible);
				continue;
			}
			*ns_idx = best_n;
			*addr_idx = best_a;
			return true;
		}
	}
	*ns_idx = best_n;
	*addr_idx = best_a;
	return best_n >= 0;
}

unsigned
deleg_ns_addrs(const struct deleg *d, int i)
{
	unsigned n = 0;

	for (int k = 0; k < d->ns[i].naddr; k++)
		n += !d->ns[i].addr[k].sibling;
	return n;
}
