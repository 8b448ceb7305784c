/*
 * iter.c: the resolution state machine.
 *
 * A request is a small stack of frames. Frame 0 resolves the client's
 * question; a frame above it resolves the address of an NS name that came
 * without glue (a "glueless" sub-question), and hands the addresses to the
 * frame below when it finishes. Each frame walks from the deepest zone cut in
 * the cache (the root hints at worst) down through referrals, minimising the
 * name it asks (RFC 9156, relaxed) and restarting at the target of each
 * CNAME. Every count that could grow without bound is capped (limits.h and
 * struct iter_opts); reaching a cap ends the request with SERVFAIL and an
 * Extended DNS Error naming the cap and the zone.
 *
 * Invariants: at most one query is outstanding per request (r->waiting);
 * only data inside the bailiwick of the zone cut a server was asked for is
 * cached or used; a reply is used only if it comes from the address and port
 * the query went to and echoes its ID and question byte for byte.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dns.h"
#include "resolver/iter.h"
#include "resolver/msg.h"

enum frame_state {
	F_INIT = 0,   /* look in the cache, choose the zone cut */
	F_QUERY,      /* choose a server and send */
	F_RETRY_SAME, /* send again to the same server (TCP, no EDNS, full name)
	               */
	F_DONE,
};

struct frame {
	uint8_t qname[LIM_NAME_MAX]; /* what this frame was asked */
	uint8_t sname[LIM_NAME_MAX]; /* current name (after CNAMEs) */
	uint16_t qtype, qclass;
	uint8_t state; /* enum frame_state */
	/* QNAME minimisation */
	bool qmin_off;
	unsigned qmin_steps;
	unsigned qmin_extra; /* labels asked below the cut, minus 1 */
	/* the outstanding or last query */
	int ns_idx, addr_idx;
	bool tcp, no_edns, no_0x20;
	bool case_mismatch;   /* a reply differed only in case */
	struct msg_sent sent; /* the outstanding query, to match its reply */
	uint64_t sent_at;     /* monotonic ms */
	unsigned referrals;
	bool refetched;    /* the cached cut failed: asked its parent again */
	bool no_forward;   /* forwarders failed: iterate */
	bool fwd_fallback; /* the forward zone allows that */
	/* sub-question bookkeeping (frames above 0) */
	int parent_ns;  /* index in the parent's cut */
	unsigned found; /* addresses handed to the parent */
	uint8_t rcode;  /* frame outcome */
	/* last and large: only its header is initialised (deleg_init) */
	struct deleg cut;
};

/* Large arrays last: a request is set up without zeroing them (a miss
 * must not pay for clearing ~45 KB; frames are set up as they are used). */
struct iter_req {
	const struct iter_env *env;
	int top;
	unsigned sends, glueless, cnames, steps, ignored;
	uint64_t start_mono; /* monotonic ms at iter_new */
	uint64_t mono;       /* monotonic ms of the call being handled */
	bool waiting, done;
	struct trace trace;
	struct iter_result res;
	struct frame f[LIM_MAX_SUBQ_DEPTH + 1];
};

/* ---- small helpers ---- */

static uint32_t
rnd32(struct iter_req *r)
{
	uint32_t v = 0;

	r->env->random(&v, sizeof(v), r->env->random_arg);
	return v;
}

static bool
has_sibling(const struct deleg *d)
{
	for (int i = 0; i < d->nns; i++)
		for (int k = 0; k < d->ns[i].naddr; k++)
			if (d->ns[i].addr[k].sibling)
				return true;
	return false;
}

static struct trace_step *
step(struct iter_req *r, uint64_t now, enum trace_kind k)
{
	struct trace_step *s =
	    trace_add(&r->trace, r->mono, k, (unsigned)r->top);

	(void)now; /* steps are timed on the monotonic clock */

	if (s != NULL) {
		struct frame *f = &r->f[r->top];
		dns_name_to_text(s->zone, sizeof(s->zone), f->cut.zone);
		dns_name_to_text(s->qname, sizeof(s->qname), f->sname);
		s->qtype = f->qtype;
	}
	return s;
}

static void __attribute__((format(printf, 4, 5)))
stepf(struct iter_req *r, uint64_t now, enum trace_kind k, const char *fmt, ...)
{
	struct trace_step *s = step(r, now, k);
	va_list ap;

	if (s == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
	va_end(ap);
}

static void
zone_text(char *out, size_t cap, const uint8_t *zone)
{
	dns_name_to_text(out, cap, zone);
}

/* End the whole request with SERVFAIL. */
static void __attribute__((format(printf, 4, 5))) fail_request(
    struct iter_req *r, uint64_t now, uint16_t ede, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->res.reason, sizeof(r->res.reason), fmt, ap);
	va_end(ap);
	r->res.failed = true;
	r->res.rcode = 2;
	r->res.ede_code = ede;
	r->res.ancount = r->res.nscount = 0;
	r->res.rr_len = 0;
	r->done = true;
	r->waiting = false;
	stepf(r, now, TRACE_FAIL, "%s", r->res.reason);
}

static void
fail_limit(struct iter_req *r, uint64_t now, const char *limit, unsigned value)
{
	char z[80];

	zone_text(z, sizeof(z), r->f[r->top].cut.zone);
	fail_request(r, now, DNS_EDE_OTHER, "limit %s (%u) reached at zone %s",
	    limit, value, z);
}

static uint32_t
clamp_ttl(const struct iter_req *r, uint32_t ttl, bool negative)
{
	const struct iter_opts *o = &r->env->opts;

	if (negative)
		return ttl < o->negative_ttl ? ttl : o->negative_ttl;
	if (ttl < o->min_ttl)
		ttl = o->min_ttl;
	return ttl < o->max_ttl ? ttl : o->max_ttl;
}

/* ---- result building (frame 0) ---- */

static bool
res_put(struct iter_req *r, const uint8_t *owner, uint16_t type, uint16_t cls,
    uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	struct iter_result *res = &r->res;
	size_t nl = dns_name_len(owner, LIM_NAME_MAX);
	size_t need = res->rr_len + nl + 10 + rdlen;
	uint8_t *p;

	/* a client's answer never holds more than a message does */
	if (nl == 0 || need > LIM_MSG_MAX)
		return false;
	if (need > res->rr_cap) {
		size_t cap = res->rr_cap ? res->rr_cap * 2 : 512;
		while (cap < need)
			cap *= 2;
		p = realloc(res->rr, cap);
		if (p == NULL)
			return false;
		res->rr = p;
		res->rr_cap = cap;
	}
	p = res->rr + res->rr_len;
	dns_name_lower(p, owner);
	p += nl;
	dns_put16(p, type);
	dns_put16(p + 2, cls);
	dns_put32(p + 4, ttl);
	dns_put16(p + 8, (uint16_t)rdlen);
	memcpy(p + 10, rdata, rdlen);
	res->rr_len = need;
	return true;
}

/* ---- ldns glue ---- */

static size_t
rr_rdata(const ldns_rr *rr, uint8_t *out, size_t cap)
{
	ldns_buffer *b = ldns_buffer_new(256);
	size_t n = 0;

	if (b == NULL)
		return 0;
	if (ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK &&
	    ldns_buffer_position(b) <= cap) {
		n = ldns_buffer_position(b);
		memcpy(out, ldns_buffer_begin(b), n);
	}
	ldns_buffer_free(b);
	return n;
}

static const uint8_t *
rr_owner(const ldns_rr *rr)
{
	return ldns_rdf_data(ldns_rr_owner(rr));
}

static bool
rr_is(const ldns_rr *rr, const uint8_t *owner, uint16_t type)
{
	return ldns_rr_get_type(rr) == type && dns_name_eq(rr_owner(rr), owner);
}

static uint16_t
sig_covers(const ldns_rr *rr)
{
	ldns_rdf *c = ldns_rr_rdf(rr, 0);

	if (ldns_rr_get_type(rr) != DNS_T_RRSIG || c == NULL ||
	    ldns_rdf_size(c) != 2)
		return 0;
	return (uint16_t)(ldns_rdf_data(c)[0] << 8 | ldns_rdf_data(c)[1]);
}

/* Gather the RRset (owner, type) of a section into rdata-list form and
 * store it. For frame 0, when @p to_res, also append each RR to the result.
 * Returns the number of records found. */
static unsigned
take_rrset(struct iter_req *r, uint64_t now, ldns_rr_list *sec,
    const uint8_t *owner, uint16_t type, uint8_t rank, bool to_res,
    const struct frame *f)
{
	uint8_t *rd = r->env->scratch->rdata, *sg = r->env->scratch->sigs;
	size_t rdl = 0, sgl = 0;
	unsigned n = 0, ns = 0;
	uint32_t ttl = UINT32_MAX;
	uint16_t cls = 1;

	for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		ldns_rr *rr = ldns_rr_list_rr(sec, i);
		if (!dns_name_eq(rr_owner(rr), owner))
			continue;
		bool is_sig = sig_covers(rr) == type && type != DNS_T_RRSIG;
		if (ldns_rr_get_type(rr) != type && !is_sig)
			continue;
		uint8_t *dst = is_sig ? sg : rd;
		size_t *dl = is_sig ? &sgl : &rdl;
		size_t dcap = sizeof(r->env->scratch->rdata);
		if (*dl + 2 > dcap)
			continue;
		size_t l = rr_rdata(rr, dst + *dl + 2, dcap - *dl - 2);
		if (l == 0 && ldns_rr_rd_count(rr) > 0)
			continue;
		dns_put16(dst + *dl, (uint16_t)l);
		*dl += 2 + l;
		if (is_sig) {
			ns++;
			continue;
		}
		n++;
		cls = ldns_rr_get_class(rr);
		if (ldns_rr_ttl(rr) < ttl)
			ttl = ldns_rr_ttl(rr);
	}
	if (n == 0)
		return 0;
	struct cache_rrset_in in = {
	    .owner = owner,
	    .type = type,
	    .rclass = cls,
	    .kind = CACHE_RRSET,
	    .rank = rank,
	    .ttl = ttl,
	    .nrr = (uint16_t)n,
	    .rdata = rd,
	    .rdata_len = rdl,
	    .nsig = (uint16_t)ns,
	    .sigs = sg,
	    .sigs_len = sgl,
	};
	memcpy(in.source, f->cut.ns[f->ns_idx].addr[f->addr_idx].ip, 16);
	in.source_family = f->cut.ns[f->ns_idx].addr[f->addr_idx].family;
	cache_store(r->env->cache, &in, now);
	if (to_res) {
		const uint8_t *p = rd;
		uint32_t cttl = clamp_ttl(r, ttl, false);
		for (unsigned k = 0; k < n; k++) {
			size_t l = (size_t)(p[0] << 8 | p[1]);
			if (res_put(r, owner, type, cls, cttl, p + 2, l))
				r->res.ancount++;
			p += 2 + l;
		}
	}
	return n;
}

/* ---- frames ---- */

static void
frame_init(struct frame *f, const uint8_t *name, uint16_t type, uint16_t cls)
{
	memset(f, 0, offsetof(struct frame, cut));
	deleg_init(&f->cut, (const uint8_t *)"");
	dns_name_lower(f->qname, name);
	dns_name_lower(f->sname, name);
	f->qtype = type;
	f->qclass = cls;
	f->state = F_INIT;
	f->parent_ns = -1;
}

/* Hand an address found by a sub-question to the parent's cut. */
static void
give_parent(struct iter_req *r, const uint8_t *rdata, size_t len)
{
	struct frame *f = &r->f[r->top], *p;

	if (r->top == 0 || (len != 4 && len != 16))
		return;
	p = &r->f[r->top - 1];
	if (deleg_add_addr(
	        &p->cut, f->parent_ns, rdata, len == 4 ? AF_INET : AF_INET6))
		f->found++;
}

/* Frame finished (answer, negative, or failure of a sub-question). */
static void
frame_done(struct iter_req *r, uint64_t now, uint8_t rcode)
{
	struct frame *f = &r->f[r->top];

	f->state = F_DONE;
	f->rcode = rcode;
	if (r->top == 0) {
		r->res.rcode = rcode;
		r->done = true;
		stepf(r, now, TRACE_DONE,
		    "rcode %s, %u answer records, %u sends",
		    dns_rcode_str(rcode), r->res.ancount, r->sends);
		return;
	}
	struct frame *p = &r->f[r->top - 1];
	struct deleg_ns *ns = &p->cut.ns[f->parent_ns];
	stepf(
	    r, now, TRACE_SUBQ, "sub-question done: %u address(es)", f->found);
	if (f->found == 0 && f->qtype == DNS_T_A && rcode == 0) {
		/* no IPv4 address: try AAAA for the same NS name */
		uint8_t name[LIM_NAME_MAX];
		int pn = f->parent_ns;
		memcpy(name, f->qname, sizeof(name));
		frame_init(f, name, DNS_T_AAAA, p->qclass);
		f->parent_ns = pn;
		return;
	}
	if (f->found == 0)
		ns->flags |= DELEG_NS_FAILED;
	r->top--;
	r->f[r->top].state = F_QUERY;
}

static void
frame_fail(struct iter_req *r, uint64_t now, uint16_t ede, const char *why)
{
	if (r->top == 0) {
		fail_request(r, now, ede, "%s", why);
		return;
	}
	stepf(r, now, TRACE_SUBQ, "sub-question failed: %s", why);
	frame_done(r, now, 2);
}

/* Look for the frame's current name in the cache. Returns 1 if the frame is
 * done, 2 if a CNAME moved sname (go again), 0 on a miss. */
static int
frame_from_cache(
    struct iter_req *r, struct frame *f, uint64_t now, uint8_t *target_out)
{
	uint8_t *buf = r->env->scratch->entry;
	struct cache_rrset_out o;
	struct cache *c = r->env->cache;

	if (cache_get(c, f->sname, f->qtype, f->qclass, now, &o, buf,
	        sizeof(r->env->scratch->entry)) == 1 &&
	    o.rank >= CACHE_RANK_ANSWER_MIN) {
		if (o.kind == CACHE_NODATA) {
			if (r->top == 0 &&
			    res_put(r, o.soa_owner, DNS_T_SOA, f->qclass, o.ttl,
			        o.rdata + 2, o.rdata_len - 2))
				r->res.nscount++;
			stepf(r, now, TRACE_CACHE, "NODATA from cache, ttl %u",
			    o.ttl);
			frame_done(r, now, 0);
			return 1;
		}
		if (o.kind == CACHE_RRSET) {
			const uint8_t *p = o.rdata;
			for (unsigned k = 0; k < o.nrr; k++) {
				size_t l = (size_t)(p[0] << 8 | p[1]);
				if (r->top == 0 &&
				    res_put(r, f->sname, f->qtype, o.rclass,
				        o.ttl, p + 2, l))
					r->res.ancount++;
				if (r->top > 0)
					give_parent(r, p + 2, l);
				p += 2 + l;
			}
			stepf(r, now, TRACE_CACHE,
			    "answer from cache: %u record(s), ttl %u", o.nrr,
			    o.ttl);
			frame_done(r, now, 0);
			return 1;
		}
	}
	if (cache_get(c, f->sname, CACHE_TYPE_NXDOMAIN, f->qclass, now, &o, buf,
	        sizeof(r->env->scratch->entry)) == 1 &&
	    o.kind == CACHE_NXDOMAIN) {
		if (r->top == 0 &&
		    res_put(r, o.soa_owner, DNS_T_SOA, f->qclass, o.ttl,
		        o.rdata + 2, o.rdata_len - 2))
			r->res.nscount++;
		stepf(
		    r, now, TRACE_CACHE, "NXDOMAIN from cache, ttl %u", o.ttl);
		frame_done(r, now, 3);
		return 1;
	}
	if (f->qtype != DNS_T_CNAME &&
	    cache_get(c, f->sname, DNS_T_CNAME, f->qclass, now, &o, buf,
	        sizeof(r->env->scratch->entry)) == 1 &&
	    o.kind == CACHE_RRSET && o.rank >= CACHE_RANK_ANSWER_MIN &&
	    o.nrr >= 1) {
		size_t l = (size_t)(o.rdata[0] << 8 | o.rdata[1]);
		const uint8_t *target = o.rdata + 2;
		if (dns_name_len(target, l) != l)
			return 0;
		if (r->top == 0 &&
		    res_put(
		        r, f->sname, DNS_T_CNAME, o.rclass, o.ttl, target, l))
			r->res.ancount++;
		stepf(r, now, TRACE_CACHE, "CNAME from cache, ttl %u", o.ttl);
		dns_name_lower(target_out, target);
		return 2;
	}
	return 0;
}

/* Follow to a new name: count, detect loops. Returns false if the request
 * ended. */
static bool
follow_cname(
    struct iter_req *r, struct frame *f, const uint8_t *target, uint64_t now)
{
	char t[80];

	if (++r->cnames > r->env->opts.max_cname) {
		fail_limit(r, now, "max_cname", r->env->opts.max_cname);
		return false;
	}
	dns_name_to_text(t, sizeof(t), target);
	if (dns_name_eq(target, f->qname)) {
		fail_request(r, now, DNS_EDE_OTHER, "CNAME loop at %s", t);
		return false;
	}
	/* a loop not through the start: the target is already in the answer */
	const uint8_t *p = r->res.rr, *end = r->res.rr + r->res.rr_len;
	while (r->top == 0 && p < end) {
		size_t nl = dns_name_len(p, (size_t)(end - p));
		if (nl == 0 || p + nl + 10 > end)
			break;
		if (dns_name_eq(p, target)) {
			fail_request(
			    r, now, DNS_EDE_OTHER, "CNAME loop at %s", t);
			return false;
		}
		p += nl + 10 + (size_t)(p[nl + 8] << 8 | p[nl + 9]);
	}
	stepf(r, now, TRACE_CNAME, "CNAME to %s", t);
	dns_name_lower(f->sname, target);
	f->state = F_INIT;
	f->qmin_off = false;
	f->qmin_extra = 0;
	f->referrals = 0;
	f->refetched = false;
	return true;
}

/* Start a sub-question for the address of NS @p i of the frame's cut. */
static bool
start_subq(struct iter_req *r, uint64_t now, int i)
{
	struct frame *f = &r->f[r->top];
	struct deleg_ns *ns = &f->cut.ns[i];

	ns->flags |= DELEG_NS_LOOKED;
	/* a dependency cycle: this NS name is already being looked up below */
	for (int k = 0; k <= r->top; k++) {
		if (dns_name_eq(r->f[k].qname, ns->name) &&
		    r->f[k].qtype != f->qtype) {
			ns->flags |= DELEG_NS_FAILED;
			stepf(
			    r, now, TRACE_SUBQ, "dependency cycle on NS name");
			return true;
		}
		if (k > 0 && dns_name_eq(r->f[k].qname, ns->name)) {
			ns->flags |= DELEG_NS_FAILED;
			stepf(
			    r, now, TRACE_SUBQ, "dependency cycle on NS name");
			return true;
		}
	}
	if (r->top >= LIM_MAX_SUBQ_DEPTH) {
		ns->flags |= DELEG_NS_FAILED;
		stepf(r, now, TRACE_SUBQ, "NS look-up nesting limit %d",
		    LIM_MAX_SUBQ_DEPTH);
		return true;
	}
	if (r->glueless >= r->env->opts.max_glueless) {
		fail_limit(r, now, "max_glueless", r->env->opts.max_glueless);
		return false;
	}
	r->glueless++;
	r->top++;
	frame_init(&r->f[r->top], ns->name, DNS_T_A, f->qclass);
	r->f[r->top].parent_ns = i;
	stepf(r, now, TRACE_SUBQ, "looking up address of NS (glueless %u/%u)",
	    r->glueless, r->env->opts.max_glueless);
	return true;
}

/* Build the query for frame @p f into @p a (the choice of what to ask is
 * the iterator's; the bytes are msg.c's). */
static void
build_query(struct iter_req *r, struct frame *f, struct iter_action *a,
    const uint8_t *name, uint16_t type, uint64_t now)
{
	uint8_t bits[32];
	struct deleg_addr *ad = &f->cut.ns[f->ns_idx].addr[f->addr_idx];
	struct infra_info inf;
	struct msg_query_spec spec = {
	    .name = name,
	    .qtype = type,
	    .qclass = f->qclass,
	    .rd = f->cut.forward, /* recursion only of forwarders */
	    .edns = !f->no_edns,
	    .do_bit = true,
	    .random = bits,
	    .use_0x20 = r->env->opts.use_0x20 && !f->no_0x20,
	};

	r->env->random(bits, sizeof(bits), r->env->random_arg);
	infra_get(r->env->infra, ad->ip, ad->family, now, &inf);
	if (inf.edns == INFRA_EDNS_BROKEN)
		spec.edns = false;
	a->len = msg_build_query(a->pkt, sizeof(a->pkt), &spec, &f->sent);
	f->no_edns = !spec.edns;
}

/* The name to ask now: minimised, or the full current name. */
static const uint8_t *
query_name(struct iter_req *r, struct frame *f, uint16_t *type)
{
	unsigned lz = dns_name_labels(f->cut.zone),
	         ls = dns_name_labels(f->sname);
	unsigned want = lz + 1 + f->qmin_extra;

	*type = f->qtype;
	if (!r->env->opts.qname_minimisation || f->qmin_off || want >= ls ||
	    f->cut.forward || f->qmin_steps >= LIM_MAX_QMIN_STEPS)
		return f->sname;
	*type = DNS_T_A;
	return dns_name_suffix(f->sname, want);
}

/* See iter.h. */
const struct iter_forward *
iter_find_forward(const struct iter_env *env, const uint8_t *name)
{
	const struct iter_forward *best = NULL;

	for (unsigned i = 0; i < env->nforwards; i++) {
		const struct iter_forward *fw = &env->forwards[i];
		if (dns_name_under(name, fw->cut.zone) &&
		    (best == NULL ||
		        dns_name_labels(fw->cut.zone) >
		            dns_name_labels(best->cut.zone)))
			best = fw;
	}
	return best;
}

/* Why resolverd never asks the address @p a, or NULL if it may: nothing
 * learned from a delegation may point it at 0.0.0.0/8, ::, multicast, or
 * (without query_loopback) loopback (Unbound's do-not-query-localhost). */
static const char *
addr_forbidden(const struct iter_req *r, const struct deleg_addr *a)
{
	static const uint8_t zero[16];
	const uint8_t *v4 = NULL;

	if (a->family == AF_INET)
		v4 = a->ip;
	else if (memcmp(a->ip, zero, 10) == 0 && a->ip[10] == 0xff &&
	    a->ip[11] == 0xff)
		v4 = a->ip + 12; /* v4-mapped */
	if (v4 != NULL) {
		if (v4[0] == 0)
			return "0.0.0.0/8 is never queried";
		if (v4[0] >= 224)
			return "a multicast or reserved address is never "
			       "queried";
		if (v4[0] == 127 && !r->env->opts.query_loopback)
			return "loopback is not queried (query_loopback: "
			       "false)";
		return NULL;
	}
	if (memcmp(a->ip, zero, 16) == 0)
		return ":: is never queried";
	if (a->ip[0] == 0xff)
		return "a multicast address is never queried";
	if (memcmp(a->ip, zero, 15) == 0 && a->ip[15] == 1 &&
	    !r->env->opts.query_loopback)
		return "loopback is not queried (query_loopback: false)";
	return NULL;
}

/* Pick the next server of the frame's cut into *ni, *ai. When none is
 * left: look up an NS name that has no address, then use sibling glue,
 * then ask the parent of a cached cut for the delegation again (the
 * parent's glue may work where the cached child addresses do not), then
 * fall back from forwarders to iteration if allowed; else the frame
 * fails. @return true with a server; false when the frame moved on. */
static bool
choose_server(
    struct iter_req *r, struct frame *f, uint64_t now, int *ni, int *ai)
{
	char z[80], why[160];

	/* each turn marks an address bad or turns a last resort on */
	for (unsigned turn = 0;
	     turn < 4 * LIM_MAX_NS_PER_CUT * LIM_MAX_ADDR_PER_NS + 4; turn++) {
		if (deleg_pick(&f->cut, r->env->infra, now, rnd32(r), ni, ai)) {
			struct deleg_addr *a = &f->cut.ns[*ni].addr[*ai];
			const char *no =
			    f->cut.forward ? NULL : addr_forbidden(r, a);
			if (no == NULL)
				return true;
			a->state = DELEG_ADDR_BAD;
			struct trace_step *s = step(r, now, TRACE_LAME);
			if (s != NULL) {
				s->family = a->family;
				memcpy(s->addr, a->ip, 16);
				snprintf(s->detail, sizeof(s->detail),
				    "not asked: %s", no);
			}
			continue;
		}
		/* no address left: look up an NS name that has none */
		for (int i = 0; i < f->cut.nns; i++) {
			if (deleg_ns_addrs(&f->cut, i) == 0 &&
			    !(f->cut.ns[i].flags &
			        (DELEG_NS_LOOKED | DELEG_NS_FAILED))) {
				start_subq(r, now, i);
				return false;
			}
		}
		if (!f->cut.use_sibling && has_sibling(&f->cut)) {
			f->cut.use_sibling = true;
			stepf(r, now, TRACE_GLUE,
			    "no other way to the servers: using sibling glue");
			continue;
		}
		break;
	}
	zone_text(z, sizeof(z), f->cut.zone);
	if (f->cut.from_cache && !f->cut.forward && !f->refetched &&
	    f->cut.zone[0] != 0) {
		const uint8_t *parent = dns_name_parent(f->cut.zone);
		f->refetched = true;
		stepf(r, now, TRACE_CUT,
		    "no cached server of %s answers: ask the parent for the "
		    "delegation again",
		    z);
		deleg_from_cache(&f->cut, r->env->cache, r->env->hints, parent,
		    f->qclass, now);
		f->qmin_extra = 0;
		f->state = F_QUERY;
		return false;
	}
	if (f->cut.forward && f->fwd_fallback) {
		stepf(r, now, TRACE_CUT,
		    "no forwarder answered: iterate instead");
		f->no_forward = true;
		f->state = F_INIT;
		return false;
	}
	snprintf(why, sizeof(why), "no reachable %s for zone %s",
	    f->cut.forward ? "forwarder" : "server", z);
	frame_fail(r, now, DNS_EDE_NO_REACHABLE_AUTHORITY, why);
	return false;
}

/* Choose a server and fill the action. Returns false if no send happened
 * (the frame state moved on instead). */
static bool
frame_send(struct iter_req *r, struct frame *f, uint64_t now,
    struct iter_action *a, bool same)
{
	int ni, ai;

	if (!same) {
		if (!choose_server(r, f, now, &ni, &ai))
			return false;
		f->ns_idx = ni;
		f->addr_idx = ai;
		f->tcp = false;
		f->no_edns = false;
		f->no_0x20 = false;
		f->case_mismatch = false;
	}
	if (r->sends >= r->env->opts.max_sends) {
		fail_limit(r, now, "max_sends", r->env->opts.max_sends);
		return false;
	}
	struct deleg_addr *ad = &f->cut.ns[f->ns_idx].addr[f->addr_idx];
	uint16_t type;
	const uint8_t *name = query_name(r, f, &type);
	struct infra_info inf;

	build_query(r, f, a, name, type, now);
	memcpy(a->addr, ad->ip, 16);
	a->family = ad->family;
	a->port = ad->port ? ad->port : r->env->port;
	a->tcp = f->tcp;
	infra_get(r->env->infra, ad->ip, ad->family, now, &inf);
	a->timeout_ms = inf.rto_ms;
	uint64_t left = r->start_mono + r->env->opts.max_time_ms - r->mono;
	if (a->timeout_ms > left)
		a->timeout_ms = (uint32_t)left;
	if (ad->tries < 255)
		ad->tries++;
	ad->state = DELEG_ADDR_TRIED;
	f->sent_at = r->mono;
	r->sends++;
	r->res.sends = r->sends;
	r->waiting = true;
	struct trace_step *s = step(r, now, TRACE_SEND);
	if (s != NULL) {
		s->tcp = f->tcp;
		s->family = ad->family;
		memcpy(s->addr, ad->ip, 16);
		s->port = ad->port;
		s->qtype = type;
		dns_name_to_text(s->qname, sizeof(s->qname), name);
		char ns[80];
		dns_name_to_text(ns, sizeof(ns), f->cut.ns[f->ns_idx].name);
		snprintf(s->detail, sizeof(s->detail), "to %s%s%s", ns,
		    name != f->sname ? " (minimised)" : "",
		    f->no_edns ? " (no EDNS)" : "");
	}
	return true;
}

enum iter_status
iter_next(struct iter_req *r, struct iter_now clock, struct iter_action *a)
{
	uint64_t now = clock.wall_ms;

	if (r->done)
		return ITER_DONE;
	r->mono = clock.mono_ms;
	while (!r->done) {
		struct frame *f = &r->f[r->top];

		if (r->mono - r->start_mono >= r->env->opts.max_time_ms) {
			fail_limit(
			    r, now, "max_time_ms", r->env->opts.max_time_ms);
			break;
		}
		if (++r->steps > LIM_ITER_STEPS) {
			fail_limit(r, now, "iterator steps", LIM_ITER_STEPS);
			break;
		}
		switch (f->state) {
		case F_INIT: {
			uint8_t target[LIM_NAME_MAX];
			int c = frame_from_cache(r, f, now, target);
			if (c == 1)
				continue;
			if (c == 2) {
				follow_cname(r, f, target, now);
				continue;
			}
			/* DS lives on the parent side of a cut: start above */
			const uint8_t *from = f->sname;
			if (f->qtype == DNS_T_DS && from[0] != 0)
				from += 1 + from[0];
			const struct iter_forward *fw = f->no_forward
			    ? NULL
			    : iter_find_forward(r->env, f->sname);
			if (fw != NULL) {
				f->cut = fw->cut;
				f->fwd_fallback = fw->fallback_iterate;
				f->state = F_QUERY;
				stepf(r, now, TRACE_CUT,
				    "forward zone: %u forwarder(s)",
				    deleg_usable(&f->cut));
				continue;
			}
			bool cached = deleg_from_cache(&f->cut, r->env->cache,
			    r->env->hints, from, f->qclass, now);
			struct trace_step *s = step(r, now, TRACE_CUT);
			if (s != NULL) {
				s->rtt_ms = f->cut.ttl;
				snprintf(s->detail, sizeof(s->detail),
				    "%s, %u NS",
				    cached ? "from cache" : "from root hints",
				    f->cut.nns);
			}
			f->state = F_QUERY;
			f->qmin_extra = 0;
			continue;
		}
		case F_QUERY:
			if (frame_send(r, f, now, a, false))
				return ITER_SEND;
			continue;
		case F_RETRY_SAME:
			f->state = F_QUERY;
			if (frame_send(r, f, now, a, true))
				return ITER_SEND;
			continue;
		default:
			/* F_DONE frames are popped by frame_done */
			fail_request(
			    r, now, DNS_EDE_OTHER, "internal: bad state");
			break;
		}
	}
	return ITER_DONE;
}

/* ---- consuming replies ---- */

static bool
same_addr(const struct sockaddr *sa, const struct deleg_addr *ad, uint16_t dflt)
{
	uint16_t port = ad->port ? ad->port : dflt;

	if (sa->sa_family == AF_INET && ad->family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		return ntohs(s4->sin_port) == port &&
		    memcmp(&s4->sin_addr, ad->ip, 4) == 0;
	}
	if (sa->sa_family == AF_INET6 && ad->family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		return ntohs(s6->sin6_port) == port &&
		    memcmp(&s6->sin6_addr, ad->ip, 16) == 0;
	}
	return false;
}

/* Mark the current server bad for this frame and, for a lame server,
 * remember it in the infra cache for the zone. */
static void
server_bad(struct iter_req *r, struct frame *f, uint64_t now, bool lame,
    const char *why)
{
	struct deleg_addr *ad = &f->cut.ns[f->ns_idx].addr[f->addr_idx];
	struct trace_step *s;

	ad->state = DELEG_ADDR_BAD;
	if (lame)
		infra_set_lame(r->env->infra, ad->ip, ad->family, f->cut.zone,
		    now + (uint64_t)LIM_INFRA_TTL * 1000, now);
	s = step(r, now, lame ? TRACE_LAME : TRACE_TIMEOUT);
	if (s != NULL) {
		s->family = ad->family;
		memcpy(s->addr, ad->ip, 16);
		s->port = ad->port;
		snprintf(s->detail, sizeof(s->detail), "%s", why);
	}
	f->state = F_QUERY;
}

/* Find the referral NS set in the authority section: owner strictly below
 * the cut and at or above sname. Returns its owner or NULL; sets *upward if
 * an NS set was there but pointed up or sideways. */
static const uint8_t *
find_referral(ldns_pkt *pkt, const struct frame *f, bool *upward)
{
	ldns_rr_list *auth = ldns_pkt_authority(pkt);
	const uint8_t *best = NULL;

	*upward = false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);
		const uint8_t *o = rr_owner(rr);
		if (ldns_rr_get_type(rr) != DNS_T_NS)
			continue;
		if (!dns_name_under(o, f->cut.zone) ||
		    dns_name_eq(o, f->cut.zone) ||
		    !dns_name_under(f->sname, o) ||
		    (f->qtype == DNS_T_DS && dns_name_eq(o, f->sname))) {
			*upward = true;
			continue;
		}
		if (best == NULL || dns_name_labels(o) > dns_name_labels(best))
			best = o;
	}
	return best;
}

static void
take_referral(struct iter_req *r, struct frame *f, ldns_pkt *pkt,
    const uint8_t *zone, uint64_t now)
{
	ldns_rr_list *auth = ldns_pkt_authority(pkt);
	ldns_rr_list *add = ldns_pkt_additional(pkt);
	struct deleg nd;
	char z[80], ns_list[128] = "";
	size_t nl = 0;

	if (++f->referrals > r->env->opts.max_depth) {
		fail_limit(r, now, "max_depth", r->env->opts.max_depth);
		return;
	}
	deleg_init(&nd, zone);
	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);
		ldns_rdf *t = ldns_rr_rdf(rr, 0);
		if (!rr_is(rr, zone, DNS_T_NS) || t == NULL)
			continue;
		if (deleg_add_ns(&nd, ldns_rdf_data(t)) >= 0 &&
		    nl < sizeof(ns_list) - 1) {
			char n[80];
			dns_name_to_text(n, sizeof(n), ldns_rdf_data(t));
			nl += (size_t)snprintf(ns_list + nl,
			    sizeof(ns_list) - nl, "%s%s", nl ? " " : "", n);
		}
	}
	take_rrset(r, now, auth, zone, DNS_T_NS, CACHE_RANK_REFERRAL, false, f);
	dns_name_to_text(z, sizeof(z), zone);
	stepf(r, now, TRACE_REFERRAL, "referral to %s: %s", z, ns_list);

	/* glue: address records of the new NS names, only inside the bailiwick
	 * of the zone the answering server was asked about */
	for (size_t i = 0; i < ldns_rr_list_rr_count(add); i++) {
		ldns_rr *rr = ldns_rr_list_rr(add, i);
		uint16_t t = ldns_rr_get_type(rr);
		const uint8_t *o = rr_owner(rr);
		if (t != DNS_T_A && t != DNS_T_AAAA)
			continue;
		int idx = deleg_find_ns(&nd, o);
		char n[80];
		dns_name_to_text(n, sizeof(n), o);
		if (idx < 0) {
			stepf(r, now, TRACE_GLUE,
			    "rejected %s: not an NS of %s", n, z);
			continue;
		}
		ldns_rdf *a = ldns_rr_rdf(rr, 0);
		if (a == NULL || ldns_rdf_size(a) != (t == DNS_T_A ? 4u : 16u))
			continue;
		if (!dns_name_under(o, f->cut.zone)) {
			/* sibling glue: never cached, never an answer; the
			 * last way to the servers (a dependency cycle) */
			char cz[80];
			dns_name_to_text(cz, sizeof(cz), f->cut.zone);
			if (deleg_add_addr(&nd, idx, ldns_rdf_data(a),
			        t == DNS_T_A ? AF_INET : AF_INET6))
				nd.ns[idx].addr[nd.ns[idx].naddr - 1].sibling =
				    true;
			stepf(r, now, TRACE_GLUE,
			    "out of bailiwick of %s: %s kept as sibling glue, "
			    "a last resort",
			    cz, n);
			continue;
		}
		deleg_add_addr(&nd, idx, ldns_rdf_data(a),
		    t == DNS_T_A ? AF_INET : AF_INET6);
		nd.ns[idx].flags |= DELEG_NS_GLUE;
		if (take_rrset(r, now, add, o, t, CACHE_RANK_GLUE, false, f) >
		    0) {
			char ip[INET6_ADDRSTRLEN];
			inet_ntop(t == DNS_T_A ? AF_INET : AF_INET6,
			    ldns_rdf_data(a), ip, sizeof(ip));
			stepf(r, now, TRACE_GLUE,
			    "accepted %s %s: in bailiwick of %s", n, ip, z);
		}
	}
	/* cached addresses of the NS names, beside the glue: when one does
	 * not answer, the other is tried */
	deleg_fill_addrs(&nd, r->env->cache, f->qclass, now);
	f->cut = nd;
	f->qmin_extra = 0;
	f->state = F_QUERY;
}

/* The SOA of a negative answer: in the authority section, at or above
 * @p name and inside the cut. Returns the RR or NULL. */
static ldns_rr *
find_soa(ldns_pkt *pkt, const struct frame *f, const uint8_t *name)
{
	ldns_rr_list *auth = ldns_pkt_authority(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(auth); i++) {
		ldns_rr *rr = ldns_rr_list_rr(auth, i);
		const uint8_t *o = rr_owner(rr);
		if (ldns_rr_get_type(rr) == DNS_T_SOA &&
		    dns_name_under(name, o) && dns_name_under(o, f->cut.zone) &&
		    ldns_rr_rd_count(rr) == 7)
			return rr;
	}
	return NULL;
}

/* Cache and report a negative answer for @p name. */
static void
take_negative(struct iter_req *r, struct frame *f, ldns_pkt *pkt,
    const uint8_t *name, bool nxdomain, uint64_t now)
{
	ldns_rr *soa = find_soa(pkt, f, name);
	uint8_t rd[1024];
	size_t l;
	uint32_t ttl = 0;

	if (soa != NULL && (l = rr_rdata(soa, rd + 2, sizeof(rd) - 2)) > 20) {
		ldns_rdf *min = ldns_rr_rdf(soa, 6);
		uint32_t minimum = ldns_rdf2native_int32(min);
		ttl = ldns_rr_ttl(soa) < minimum ? ldns_rr_ttl(soa) : minimum;
		rd[0] = (uint8_t)(l >> 8);
		rd[1] = (uint8_t)l;
		struct cache_rrset_in in = {
		    .owner = name,
		    .type = nxdomain ? CACHE_TYPE_NXDOMAIN : f->qtype,
		    .rclass = f->qclass,
		    .kind = nxdomain ? CACHE_NXDOMAIN : CACHE_NODATA,
		    .rank = f->cut.forward ? CACHE_RANK_NONAUTH_ANSWER
		                           : CACHE_RANK_AUTH_AUTHORITY,
		    .ttl = ttl,
		    .nrr = 1,
		    .rdata = rd,
		    .rdata_len = l + 2,
		    .soa_owner = rr_owner(soa),
		};
		memcpy(
		    in.source, f->cut.ns[f->ns_idx].addr[f->addr_idx].ip, 16);
		in.source_family =
		    f->cut.ns[f->ns_idx].addr[f->addr_idx].family;
		cache_store(r->env->cache, &in, now);
		if (r->top == 0 &&
		    res_put(r, rr_owner(soa), DNS_T_SOA, f->qclass,
		        clamp_ttl(r, ttl, true), rd + 2, l))
			r->res.nscount++;
	}
	stepf(r, now, nxdomain ? TRACE_NXDOMAIN : TRACE_NODATA,
	    "%s, negative TTL %u%s", nxdomain ? "NXDOMAIN" : "NODATA",
	    clamp_ttl(r, ttl, true), soa ? "" : " (no SOA: not cached)");
	frame_done(r, now, nxdomain ? 3 : 0);
}

/* With an NS answer (priming, or a client's NS question) come the addresses
 * of the NS names in the additional section: keep those inside the zone's
 * bailiwick, at glue rank. */
static void
take_ns_addresses(struct iter_req *r, struct frame *f, ldns_pkt *pkt,
    const uint8_t *owner, uint64_t now)
{
	ldns_rr_list *an = ldns_pkt_answer(pkt),
	             *add = ldns_pkt_additional(pkt);

	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *ns = ldns_rr_list_rr(an, i);
		if (!rr_is(ns, owner, DNS_T_NS) || ldns_rr_rdf(ns, 0) == NULL)
			continue;
		const uint8_t *target = ldns_rdf_data(ldns_rr_rdf(ns, 0));
		if (!dns_name_under(target, f->cut.zone))
			continue;
		take_rrset(
		    r, now, add, target, DNS_T_A, CACHE_RANK_GLUE, false, f);
		take_rrset(
		    r, now, add, target, DNS_T_AAAA, CACHE_RANK_GLUE, false, f);
	}
}

/* ANY (RFC 8482 lets servers answer with a subset): every RRset of the
 * name in the answer section. Returns true if there was one. */
static bool
take_any(struct iter_req *r, struct frame *f, ldns_rr_list *an, uint8_t rank,
    uint64_t now)
{
	uint16_t done[32];
	unsigned nd = 0, total = 0;

	if (!dns_name_under(f->sname, f->cut.zone))
		return false;
	for (size_t i = 0; i < ldns_rr_list_rr_count(an) && nd < 32; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		uint16_t t = ldns_rr_get_type(rr);
		bool seen = false;
		if (!dns_name_eq(rr_owner(rr), f->sname) || t == DNS_T_RRSIG)
			continue;
		for (unsigned k = 0; k < nd; k++)
			seen |= done[k] == t;
		if (seen)
			continue;
		done[nd++] = t;
		total +=
		    take_rrset(r, now, an, f->sname, t, rank, r->top == 0, f);
	}
	if (total == 0)
		return false;
	stepf(r, now, TRACE_ANSWER, "answer to ANY: %u record(s) of %u type(s)",
	    total, nd);
	frame_done(r, now, 0);
	return true;
}

/* An answer: walk the CNAME chain from sname inside the answer section,
 * caching and collecting in-bailiwick RRsets. */
/* Does @p sec hold a record owned by @p name (RRSIGs aside)? */
static bool
owns_records(ldns_rr_list *sec, const uint8_t *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(sec); i++) {
		ldns_rr *rr = ldns_rr_list_rr(sec, i);
		if (ldns_rr_get_type(rr) != DNS_T_RRSIG &&
		    dns_name_eq(rr_owner(rr), name))
			return true;
	}
	return false;
}

/* A DNAME (RFC 6672) in @p an whose owner is a proper ancestor of @p name
 * inside the cut, or NULL. */
static ldns_rr *
find_dname(ldns_rr_list *an, const uint8_t *name, const uint8_t *cut)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		const uint8_t *o = rr_owner(rr);
		if (ldns_rr_get_type(rr) == DNS_T_DNAME &&
		    ldns_rr_rdf(rr, 0) != NULL && !dns_name_eq(o, name) &&
		    dns_name_under(name, o) && dns_name_under(o, cut))
			return rr;
	}
	return NULL;
}

/* Follow a DNAME above the current name, if the answer has one: keep the
 * DNAME in the answer beside the CNAME it stands for (the server's, or one
 * synthesised here), then move to the CNAME's target.
 * @return 1 moved, 0 no DNAME, -1 the request ended. */
static int
take_dname(struct iter_req *r, struct frame *f, ldns_rr_list *an, uint8_t rank,
    uint64_t now)
{
	ldns_rr *dn = find_dname(an, f->sname, f->cut.zone);
	const uint8_t *owner, *dtarget;
	uint8_t target[LIM_NAME_MAX];
	size_t plen, tlen;

	if (dn == NULL)
		return 0;
	owner = rr_owner(dn);
	dtarget = ldns_rdf_data(ldns_rr_rdf(dn, 0));
	take_rrset(r, now, an, owner, DNS_T_DNAME, rank, r->top == 0, f);
	/* the target: the name's labels below the owner, then the DNAME's
	 * target (RFC 6672 2.2) */
	plen = dns_name_len(f->sname, LIM_NAME_MAX) -
	    dns_name_len(owner, LIM_NAME_MAX);
	tlen = dns_name_len(dtarget, LIM_NAME_MAX);
	if (tlen == 0 || plen + tlen > LIM_NAME_MAX) {
		fail_request(r, now, DNS_EDE_OTHER,
		    "DNAME substitution gives a name too long (YXDOMAIN)");
		return -1;
	}
	memcpy(target, f->sname, plen);
	memcpy(target + plen, dtarget, tlen);
	if (owns_records(an, f->sname)) {
		/* the server's own CNAME, if it agrees */
		take_rrset(
		    r, now, an, f->sname, DNS_T_CNAME, rank, r->top == 0, f);
	} else if (r->top == 0) {
		uint32_t ttl = clamp_ttl(r, ldns_rr_ttl(dn), false);
		if (res_put(r, f->sname, DNS_T_CNAME, f->qclass, ttl, target,
		        plen + tlen))
			r->res.ancount++;
	}
	char t[80];
	dns_name_to_text(t, sizeof(t), owner);
	stepf(r, now, TRACE_CNAME, "DNAME at %s", t);
	return follow_cname(r, f, target, now) ? 1 : -1;
}

static void
take_answer(struct iter_req *r, struct frame *f, ldns_pkt *pkt, uint64_t now)
{
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	uint8_t rank = ldns_pkt_aa(pkt) ? CACHE_RANK_AUTH_ANSWER
	                                : CACHE_RANK_NONAUTH_ANSWER;
	unsigned hops = 0;

	/* report what is dropped as out of bailiwick */
	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		if (!dns_name_under(rr_owner(rr), f->cut.zone)) {
			char n[80], z[80];
			dns_name_to_text(n, sizeof(n), rr_owner(rr));
			dns_name_to_text(z, sizeof(z), f->cut.zone);
			stepf(r, now, TRACE_ANSWER,
			    "dropped %s type %u: out of bailiwick of %s", n,
			    ldns_rr_get_type(rr), z);
		}
	}
	if (f->qtype == DNS_T_ANY && take_any(r, f, an, rank, now))
		return;
	for (;;) {
		const uint8_t *sn = f->sname;
		if (!dns_name_under(sn, f->cut.zone))
			break;
		unsigned n =
		    take_rrset(r, now, an, sn, f->qtype, rank, r->top == 0, f);
		if (n > 0) {
			if (r->top > 0) {
				for (size_t i = 0;
				     i < ldns_rr_list_rr_count(an); i++) {
					ldns_rr *rr = ldns_rr_list_rr(an, i);
					ldns_rdf *a = ldns_rr_rdf(rr, 0);
					if (rr_is(rr, sn, f->qtype) &&
					    a != NULL)
						give_parent(r, ldns_rdf_data(a),
						    ldns_rdf_size(a));
				}
			}
			stepf(r, now, TRACE_ANSWER, "answer: %u record(s)%s", n,
			    rank == CACHE_RANK_AUTH_ANSWER ? " (authoritative)"
			                                   : "");
			if (f->qtype == DNS_T_NS)
				take_ns_addresses(r, f, pkt, sn, now);
			frame_done(r, now, 0);
			return;
		}
		if (f->qtype == DNS_T_CNAME)
			break;
		int d = take_dname(r, f, an, rank, now);
		if (d < 0)
			return;
		if (d > 0) {
			if (++hops > LIM_MAX_CNAME)
				break;
			continue;
		}
		ldns_rr *cn = NULL;
		for (size_t i = 0; i < ldns_rr_list_rr_count(an) && !cn; i++)
			if (rr_is(ldns_rr_list_rr(an, i), sn, DNS_T_CNAME))
				cn = ldns_rr_list_rr(an, i);
		if (cn == NULL || ldns_rr_rdf(cn, 0) == NULL)
			break;
		take_rrset(r, now, an, sn, DNS_T_CNAME, rank, r->top == 0, f);
		if (!follow_cname(r, f, ldns_rdf_data(ldns_rr_rdf(cn, 0)), now))
			return;
		if (++hops > LIM_MAX_CNAME)
			break;
	}
	/* The chain ended without data for the current name. The rcode is
	 * about the last name of the chain (RFC 6604). */
	bool nx = ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN;
	if (f->state == F_INIT) {
		/* moved to a new name: a negative answer for it may be here */
		if (dns_name_under(f->sname, f->cut.zone)) {
			if (nx) {
				take_negative(r, f, pkt, f->sname, true, now);
				return;
			}
			if (find_soa(pkt, f, f->sname) != NULL) {
				take_negative(r, f, pkt, f->sname, false, now);
				return;
			}
		}
		return; /* resolve the target from the top */
	}
	/* no data of the type asked: NODATA from a server of the zone, AA
	 * or not, with its SOA or with records of other types at the name
	 * (an A to an AAAA question is dropped, not taken as breakage) */
	if (nx) {
		take_negative(r, f, pkt, f->sname, true, now);
		return;
	}
	if (ldns_pkt_aa(pkt) || f->cut.forward ||
	    find_soa(pkt, f, f->sname) != NULL || owns_records(an, f->sname)) {
		take_negative(r, f, pkt, f->sname, false, now);
		return;
	}
	server_bad(r, f, now, true, "non-authoritative answer without data");
}

/* A forwarder's answer: no AA, no referrals; an answer, a CNAME chain, or
 * a negative answer (with or without the SOA). */
static void
take_forwarded(struct iter_req *r, struct frame *f, ldns_pkt *pkt, uint64_t now)
{
	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN &&
	    ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) == 0) {
		take_negative(r, f, pkt, f->sname, true, now);
		return;
	}
	if (ldns_rr_list_rr_count(ldns_pkt_answer(pkt)) == 0) {
		take_negative(r, f, pkt, f->sname, false, now);
		return;
	}
	take_answer(r, f, pkt, now);
}

static void
handle_reply(struct iter_req *r, struct frame *f, ldns_pkt *pkt, uint64_t now)
{
	ldns_pkt_rcode rc = ldns_pkt_get_rcode(pkt);
	bool minimised =
	    !dns_name_eq(f->sent.name, f->sname) || f->sent.qtype != f->qtype;
	bool upward;
	const uint8_t *refz;
	char why[96];

	if (ldns_pkt_tc(pkt) && !f->tcp) {
		stepf(r, now, TRACE_TC, "truncated: retry over TCP");
		f->tcp = true;
		f->state = F_RETRY_SAME;
		return;
	}
	if (rc == LDNS_RCODE_FORMERR && !f->no_edns) {
		struct deleg_addr *ad = &f->cut.ns[f->ns_idx].addr[f->addr_idx];
		infra_set_edns(r->env->infra, ad->ip, ad->family, false, now);
		stepf(r, now, TRACE_EDNS, "FORMERR to EDNS: retry without");
		f->no_edns = true;
		f->state = F_RETRY_SAME;
		return;
	}
	if (minimised && rc != LDNS_RCODE_NOERROR) {
		stepf(r, now, TRACE_QMIN,
		    "rcode %d to minimised query: "
		    "fall back to the full name",
		    (int)rc);
		f->qmin_off = true;
		f->state = F_RETRY_SAME;
		return;
	}
	if (rc != LDNS_RCODE_NOERROR && rc != LDNS_RCODE_NXDOMAIN) {
		snprintf(why, sizeof(why), "rcode %s",
		    rc == LDNS_RCODE_REFUSED        ? "REFUSED"
		        : rc == LDNS_RCODE_SERVFAIL ? "SERVFAIL"
		        : rc == LDNS_RCODE_NOTIMPL  ? "NOTIMP"
		                                    : "FORMERR or other");
		/* a forwarder's SERVFAIL is about the name, not about it */
		server_bad(r, f, now, !f->cut.forward, why);
		return;
	}
	if (f->cut.forward) {
		take_forwarded(r, f, pkt, now);
		return;
	}
	ldns_rr_list *an = ldns_pkt_answer(pkt);
	const uint8_t *asked = minimised ? f->sent.name : f->sname;
	/* A negative answer carries the SOA, a referral never does: with an
	 * SOA in the authority section, NS records there are not a
	 * referral, whatever AA says. */
	bool soa = find_soa(pkt, f, asked) != NULL;
	bool data = owns_records(an, asked) ||
	    find_dname(an, asked, f->cut.zone) != NULL;
	if (!data && !soa && rc == LDNS_RCODE_NOERROR &&
	    (refz = find_referral(pkt, f, &upward)) != NULL) {
		/* a referral, with or without AA */
		take_referral(r, f, pkt, refz, now);
		return;
	}
	if (minimised) {
		/* The minimised name is not a cut (data, NODATA, an empty
		 * non-terminal, AA or not): ask one label more of the same
		 * servers, or the full name after a CNAME or DNAME. */
		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			uint16_t t = ldns_rr_get_type(ldns_rr_list_rr(an, i));
			if (t == DNS_T_CNAME || t == DNS_T_DNAME)
				f->qmin_off = true;
		}
		f->qmin_extra++;
		f->qmin_steps++;
		stepf(r, now, TRACE_QMIN,
		    "no cut at the minimised name: one label more");
		f->state = F_RETRY_SAME;
		return;
	}
	if (data) {
		take_answer(r, f, pkt, now);
		return;
	}
	/* No data for the name: a negative answer from a server of the zone,
	 * with AA or without (RFC 2308 and what the peers accept) */
	if (rc == LDNS_RCODE_NXDOMAIN) {
		take_negative(r, f, pkt, f->sname, true, now);
		return;
	}
	if (soa || ldns_pkt_aa(pkt)) {
		take_negative(r, f, pkt, f->sname, false, now);
		return;
	}
	find_referral(pkt, f, &upward);
	server_bad(r, f, now, true,
	    upward ? "upward or sideways referral"
	           : "non-authoritative reply that is neither an answer nor "
	             "a referral");
}

enum iter_status
iter_reply(struct iter_req *r, const struct sockaddr *from, const uint8_t *pkt,
    size_t len, struct iter_now clock)
{
	struct frame *f = &r->f[r->top];
	struct deleg_addr *ad;
	struct infra_info inf;
	ldns_pkt *p = NULL;
	uint64_t now = clock.wall_ms;
	uint32_t rtt;

	if (!r->waiting || r->done)
		return ITER_IGNORED;
	r->mono = clock.mono_ms;
	ad = &f->cut.ns[f->ns_idx].addr[f->addr_idx];
	if (pkt == NULL) {
		r->waiting = false;
		infra_timeout(r->env->infra, ad->ip, ad->family, now);
		if (f->case_mismatch && !f->tcp) {
			stepf(r, now, TRACE_TIMEOUT,
			    "timeout after a reply in "
			    "the wrong case: retry over TCP without 0x20");
			f->tcp = true;
			f->no_0x20 = true;
			f->state = F_RETRY_SAME;
			return ITER_ACCEPTED;
		}
		if (ad->tries >= LIM_TRIES_PER_ADDR) {
			server_bad(r, f, now, false,
			    "timeout: given up on this address");
		} else {
			/* retransmit: this server again (its timeout doubled
			 * by the infra cache) or another one, whichever the
			 * choice favours; an untried one first */
			struct trace_step *st = step(r, now, TRACE_TIMEOUT);
			if (st != NULL) {
				st->family = ad->family;
				memcpy(st->addr, ad->ip, 16);
				st->port = ad->port;
				snprintf(st->detail, sizeof(st->detail),
				    "timeout (try %u of %u): retransmit",
				    ad->tries, LIM_TRIES_PER_ADDR);
			}
			f->state = F_QUERY;
		}
		return ITER_ACCEPTED;
	}
	/* the spoof check: the address and port the query went to, then
	 * ID, QR, one question, the question byte for byte (msg.c) */
	enum msg_match m = from == NULL || !same_addr(from, ad, r->env->port)
	    ? MSG_MATCH_QUESTION
	    : msg_match_reply(pkt, len, &f->sent);
	if (m != MSG_MATCH_OK) {
		if (m == MSG_MATCH_CASE)
			f->case_mismatch = true;
		r->ignored++;
		stepf(r, now, TRACE_IGNORED, "reply ignored: %s",
		    from == NULL || !same_addr(from, ad, r->env->port)
		        ? "wrong source address or port"
		        : msg_match_str(m));
		return ITER_IGNORED;
	}
	r->waiting = false;
	rtt = (uint32_t)(r->mono - f->sent_at);
	infra_rtt_update(r->env->infra, ad->ip, ad->family, rtt, now);
	infra_get(r->env->infra, ad->ip, ad->family, now, &inf);
	struct trace_step *s = step(r, now, TRACE_ANSWER);
	if (s != NULL) {
		s->rtt_ms = rtt;
		s->family = ad->family;
		memcpy(s->addr, ad->ip, 16);
		s->port = ad->port;
		s->tcp = f->tcp;
		snprintf(s->detail, sizeof(s->detail), "reply %s, %u bytes%s%s",
		    dns_rcode_str(pkt[3] & 0xf), (unsigned)len,
		    pkt[2] & 0x04 ? ", AA" : "", pkt[2] & 0x02 ? ", TC" : "");
	}
	/* Names compressed against the question carry our random 0x20 case;
	 * put the name back as it really is before parsing. */
	uint8_t *copy = r->env->scratch->reply;
	memcpy(copy, pkt, len);
	memcpy(copy + DNS_HDR_LEN, f->sent.name, f->sent.qlen - 4);
	if (ldns_wire2pkt(&p, copy, len) != LDNS_STATUS_OK) {
		server_bad(r, f, now, true, "malformed reply");
		return ITER_ACCEPTED;
	}
	struct msg_scrub_stats sc;
	if (msg_scrub(p, f->qclass, &sc) > 0 || sc.ttl_zeroed > 0)
		stepf(r, now, TRACE_ANSWER,
		    "scrubbed: %u of another class, %u with bad RDATA, %u "
		    "duplicate(s) dropped; %u TTL(s) over 2^31 taken as 0",
		    sc.wrong_class, sc.bad_rdata, sc.duplicates, sc.ttl_zeroed);
	if (!f->no_edns &&
	    inf.edns !=
	        (ldns_pkt_edns(p) ? INFRA_EDNS_WORKS : INFRA_EDNS_BROKEN))
		infra_set_edns(
		    r->env->infra, ad->ip, ad->family, ldns_pkt_edns(p), now);
	handle_reply(r, f, p, now);
	ldns_pkt_free(p);
	return ITER_ACCEPTED;
}

/* ---- lifetime ---- */

struct iter_req *
iter_new(const struct iter_env *env, const uint8_t *qname, uint16_t qtype,
    uint16_t qclass, struct iter_now clock)
{
	struct iter_req *r;
	uint64_t now = clock.wall_ms;

	if (dns_name_len(qname, LIM_NAME_MAX) == 0)
		return NULL;
	r = malloc(sizeof(*r));
	if (r == NULL)
		return NULL;
	memset(r, 0, offsetof(struct iter_req, f));
	r->env = env;
	r->start_mono = r->mono = clock.mono_ms;
	frame_init(&r->f[0], qname, qtype, qclass);
	trace_init(&r->trace, r->mono);
	stepf(r, now, TRACE_START, "resolving");
	return r;
}

void
iter_free(struct iter_req *r)
{
	if (r == NULL)
		return;
	trace_free(&r->trace);
	free(r->res.rr);
	free(r);
}

void
iter_unreachable(struct iter_req *r, const char *why, struct iter_now clock)
{
	struct frame *f = &r->f[r->top];
	char text[96];

	if (!r->waiting || r->done)
		return;
	r->mono = clock.mono_ms;
	r->waiting = false;
	snprintf(text, sizeof(text), "unreachable: %s", why);
	server_bad(r, f, clock.wall_ms, false, text);
}

void
iter_abort(struct iter_req *r, struct iter_now clock, const char *reason)
{
	r->mono = clock.mono_ms;
	if (!r->done)
		fail_request(r, clock.wall_ms, DNS_EDE_OTHER, "%s", reason);
}

/* Out of memory for a result: one that says so, never freed. */
static struct iter_result oom_result = {
    .rcode = DNS_RCODE_SERVFAIL,
    .failed = true,
    .reason = "resolver out of memory",
};

struct iter_result *
iter_take_result(struct iter_req *r)
{
	struct iter_result *res = malloc(sizeof(*res));

	if (res == NULL)
		return &oom_result;
	*res = r->res;
	r->res.rr = NULL;
	r->res.rr_len = r->res.rr_cap = 0;
	return res;
}

struct iter_result *
iter_result_failure(const char *reason)
{
	struct iter_result *res = calloc(1, sizeof(*res));

	if (res == NULL)
		return &oom_result;
	res->rcode = DNS_RCODE_SERVFAIL;
	res->failed = true;
	snprintf(res->reason, sizeof(res->reason), "%s", reason);
	return res;
}

void
iter_result_free(struct iter_result *res)
{
	if (res == NULL || res == &oom_result)
		return;
	free(res->rr);
	free(res);
}

const uint8_t *
iter_qname(const struct iter_req *r)
{
	return r->f[0].qname;
}

uint16_t
iter_qtype(const struct iter_req *r)
{
	return r->f[0].qtype;
}

const struct iter_result *
iter_result(const struct iter_req *r)
{
	return &r->res;
}

const struct trace *
iter_trace(const struct iter_req *r)
{
	return &r->trace;
}

unsigned
iter_ignored(const struct iter_req *r)
{
	return r->ignored;
}
