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
#include "resolver/rr.h"
#include "resolver/vchain.h"

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
	uint8_t kind;   /* enum frame_kind */
	/* last and large: only its header is initialised (deleg_init) */
	struct deleg cut;
};

enum frame_kind {
	FK_CLIENT = 0, /* frame 0: the client's question */
	FK_NSADDR,     /* the address of an NS name without glue */
	FK_VFETCH,     /* a DS or DNSKEY RRset the chain of trust needs */
};

/* An RRset or a negative answer of the client's answer, kept to be
 * validated and then stored with its state. */
struct vitem {
	uint8_t owner[LIM_NAME_MAX]; /* RRset owner, or the denied name */
	uint16_t type;               /* RRset type, or the denied type */
	uint8_t rank;
	bool neg, nx;
	int index; /* in the vchain */
	/* borrowed from the vchain, which owns them (vchain_free) */
	const ldns_rr_list *rrset, *sigs;
	const ldns_rr_list *auth; /* SOA, NSEC/NSEC3 and RRSIGs */
	uint8_t src[16];
	uint8_t src_family;
};

/* What a DS or DNSKEY fetch for the chain of trust brought back. */
struct vfetch {
	bool have;
	int rcode;
	ldns_rr_list *rrset, *sigs, *auth; /* owned deep copies */
	uint8_t rank;
	uint8_t src[16];
	uint8_t src_family;
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
	bool cd;         /* checking disabled: bogus data is answered */
	bool traced;     /* steps are recorded (iter_set_trace) */
	bool refresh;    /* the question's own answer is not taken from the
	                    cache (prefetch, serve-stale refresh) */
	bool validating; /* frame 0 is done: the chain of trust is walked */
	bool cached_insecure; /* part of the answer came from the cache, not
	                         secure */
	struct vchain *vc;    /* owned: the answer's chain of trust, or NULL */
	struct vchain_env vcenv;
	bool vc_failed; /* out of memory for the chain: the answer is bogus */
	int nvi;
	struct vchain_need need; /* the fetch the chain waits for */
	struct vfetch vf;
	/* borrowed, while a reply is handled: its authority section */
	const ldns_rr_list *reply_auth;
	struct trace trace;
	struct iter_result res;
	struct vitem *vi; /* owned: VCHAIN_MAX_ITEMS, made with the chain */
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
	struct trace_step *s;

	(void)now; /* steps are timed on the monotonic clock */
	if (!r->traced)
		return NULL; /* nobody reads it: not even the text is made */
	s = trace_add(&r->trace, r->mono, k, (unsigned)r->top);
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

/* Append a record to the result, with its ITER_RR_* flags. */
static bool
res_put(struct iter_req *r, uint8_t flags, const uint8_t *owner, uint16_t type,
    uint16_t cls, uint32_t ttl, const uint8_t *rdata, size_t rdlen)
{
	struct iter_result *res = &r->res;
	size_t nl = dns_name_len(owner, LIM_NAME_MAX);
	size_t need = res->rr_len + 1 + nl + 10 + rdlen;
	uint8_t *p;

	/* a client's answer never holds more than a message does */
	if (nl == 0 || need > LIM_MSG_MAX + 512)
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
	*p++ = flags;
	dns_name_lower(p, owner);
	p += nl;
	dns_put16(p, type);
	dns_put16(p + 2, cls);
	dns_put32(p + 4, ttl);
	dns_put16(p + 8, (uint16_t)rdlen);
	memcpy(p + 10, rdata, rdlen);
	res->rr_len = need;
	if (flags & ITER_RR_AUTHORITY)
		res->nscount++;
	else
		res->ancount++;
	return true;
}

/* Each record of an rdata list (@p n records) as (owner, type, class). */
static void
res_put_list(struct iter_req *r, uint8_t flags, const uint8_t *owner,
    uint16_t type, uint16_t cls, uint32_t ttl, const uint8_t *list, unsigned n)
{
	const uint8_t *p = list;

	for (unsigned k = 0; k < n; k++) {
		size_t l = dns_get16(p);
		res_put(r, flags, owner, type, cls, ttl, p + 2, l);
		p += 2 + l;
	}
}

/* Each record of a list of full RRs (@p n records), TTLs set to @p ttl. */
static void
res_put_rrs(struct iter_req *r, uint8_t flags, const uint8_t *rrs, size_t len,
    unsigned n, uint32_t ttl)
{
	const uint8_t *p = rrs, *end;

	if (rrs == NULL)
		return;
	end = rrs + len;
	for (unsigned k = 0; k < n && p < end; k++) {
		size_t nl = dns_name_len(p, (size_t)(end - p));
		if (nl == 0 || (size_t)(end - p) < nl + 10)
			return;
		size_t l = dns_get16(p + nl + 8);
		res_put(r, flags, p, dns_get16(p + nl), dns_get16(p + nl + 2),
		    ttl, p + nl + 10, l);
		p += nl + 10 + l;
	}
}

/* ---- ldns glue ---- */

static size_t rr_rdata(const ldns_rr *rr, uint8_t *out, size_t cap);

/* Append one ldns record to the result, with TTL @p ttl. */
static void
res_put_rr(struct iter_req *r, uint8_t flags, const ldns_rr *rr, uint32_t ttl)
{
	uint8_t rd[8192]; /* SOA, NSEC, NSEC3, RRSIG: smaller than this */
	size_t n = rr_rdata(rr, rd, sizeof(rd));

	if (n == 0 && ldns_rr_rd_count(rr) > 0)
		return;
	res_put(r, flags, rr_owner(rr), ldns_rr_get_type(rr),
	    ldns_rr_get_class(rr), ttl, rd, n);
}

/* The rdata of @p rr in wire form, as ldns_rr_rdata2buffer_wire writes
 * it (each field as it is, names uncompressed), without a buffer.
 * @return its length, 0 if it does not fit in @p cap. */
static size_t
rr_rdata(const ldns_rr *rr, uint8_t *out, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *f = ldns_rr_rdf(rr, i);
		size_t k = ldns_rdf_size(f);
		if (k > cap - n)
			return 0;
		memcpy(out + n, ldns_rdf_data(f), k);
		n += k;
	}
	return n;
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

/* ---- storing, with the DNSSEC state ---- */

/* What store_set() keeps: an RRset (rrset, its sigs, the proof of a
 * wildcard expansion) or a negative answer (auth: the SOA, its RRSIGs and
 * the NSEC/NSEC3 proof), with its validation state. */
struct store_spec {
	const uint8_t *owner; /* RRset owner, or the denied name */
	uint16_t type;        /* RRset type, or the denied type */
	uint8_t kind;         /* CACHE_RRSET, CACHE_NXDOMAIN, CACHE_NODATA */
	uint8_t rank;
	const ldns_rr_list *rrset, *sigs, *auth;
	uint8_t sec;
	bool cut;
	uint16_t ede;
	const char *why;
	uint32_t ttl_cap; /* 0: none */
	const uint8_t *src;
	uint8_t src_family;
};

/* Is @p rr part of a proof of absence: NSEC, NSEC3, or an RRSIG of one? */
static bool
is_proof(const ldns_rr *rr)
{
	uint16_t t = ldns_rr_get_type(rr);

	return t == DNS_T_NSEC || t == DNS_T_NSEC3 ||
	    sig_covers(rr) == DNS_T_NSEC || sig_covers(rr) == DNS_T_NSEC3;
}

/* The rdata list of the records of @p l (type @p type, or RRSIGs covering
 * it when @p sigs) into @p out. @return its length; *n records. */
static size_t
rdata_list(const ldns_rr_list *l, uint16_t type, bool sigs, uint8_t *out,
    size_t cap, uint16_t *n, uint32_t *ttl)
{
	size_t len = 0;

	*n = 0;
	for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (sigs ? sig_covers(rr) != type
		         : ldns_rr_get_type(rr) != type)
			continue;
		if (len + 2 > cap)
			break;
		size_t k = rr_rdata(rr, out + len + 2, cap - len - 2);
		if (k == 0 && ldns_rr_rd_count(rr) > 0)
			continue;
		dns_put16(out + len, (uint16_t)k);
		len += 2 + k;
		(*n)++;
		if (ttl != NULL && ldns_rr_ttl(rr) < *ttl)
			*ttl = ldns_rr_ttl(rr);
	}
	return len;
}

/* The proof records of @p l as full RRs into @p out. */
static size_t
proof_list(const ldns_rr_list *l, uint8_t *out, size_t cap, uint16_t *n)
{
	ldns_buffer *b = ldns_buffer_new(512);
	size_t len = 0;

	*n = 0;
	for (size_t i = 0; b && l != NULL && i < ldns_rr_list_rr_count(l);
	     i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		if (!is_proof(rr))
			continue;
		ldns_buffer_clear(b);
		if (ldns_rr2buffer_wire(b, rr, LDNS_SECTION_AUTHORITY) !=
		        LDNS_STATUS_OK ||
		    len + ldns_buffer_position(b) > cap)
			continue;
		memcpy(
		    out + len, ldns_buffer_begin(b), ldns_buffer_position(b));
		len += ldns_buffer_position(b);
		(*n)++;
	}
	ldns_buffer_free(b);
	return len;
}

static void
store_set(struct iter_req *r, uint64_t now, const struct store_spec *sp)
{
	struct iter_scratch *sc = r->env->scratch;
	uint32_t ttl = UINT32_MAX;
	struct cache_rrset_in in = {
	    .owner = sp->owner,
	    .type = sp->kind == CACHE_NXDOMAIN ? CACHE_TYPE_NXDOMAIN : sp->type,
	    .rclass = DNS_C_IN,
	    .kind = sp->kind,
	    .rank = sp->rank,
	    .sec = sp->sec,
	    .cut = sp->cut,
	    .ede = sp->ede,
	    .why = sp->why,
	    .source_family = sp->src_family,
	};

	if (sp->src != NULL)
		memcpy(in.source, sp->src, 16);
	if (sp->kind == CACHE_RRSET) {
		in.rdata_len = rdata_list(sp->rrset, sp->type, false, sc->rdata,
		    sizeof(sc->rdata), &in.nrr, &ttl);
		if (in.nrr == 0)
			return;
		in.rclass = ldns_rr_get_class(ldns_rr_list_rr(sp->rrset, 0));
		in.rdata = sc->rdata;
		in.sigs_len = rdata_list(sp->sigs, sp->type, true, sc->sigs,
		    sizeof(sc->sigs), &in.nsig, NULL);
		in.sigs = sc->sigs;
	} else {
		/* the SOA that proves it: TTL min(SOA TTL, MINIMUM) */
		const ldns_rr *soa = NULL;
		for (size_t i = 0;
		     sp->auth && i < ldns_rr_list_rr_count(sp->auth); i++)
			if (ldns_rr_get_type(ldns_rr_list_rr(sp->auth, i)) ==
			    DNS_T_SOA)
				soa = ldns_rr_list_rr(sp->auth, i);
		if (soa == NULL || ldns_rr_rd_count(soa) != 7)
			return;
		uint32_t minimum = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
		ttl = ldns_rr_ttl(soa) < minimum ? ldns_rr_ttl(soa) : minimum;
		in.soa_owner = rr_owner(soa);
		size_t k = rr_rdata(soa, sc->rdata + 2, sizeof(sc->rdata) - 2);
		dns_put16(sc->rdata, (uint16_t)k);
		in.rdata = sc->rdata;
		in.rdata_len = k + 2;
		in.nrr = 1;
		in.sigs_len = rdata_list(sp->auth, DNS_T_SOA, true, sc->sigs,
		    sizeof(sc->sigs), &in.nsig, NULL);
		in.sigs = sc->sigs;
	}
	in.proof_len =
	    proof_list(sp->auth, sc->entry, sizeof(sc->entry), &in.nproof);
	in.proof = sc->entry;
	if (sp->ttl_cap && sp->ttl_cap < ttl)
		ttl = sp->ttl_cap;
	in.ttl = ttl;
	cache_store(r->env->cache, &in, now);
}

/* A list of the records of @p l that @p keep accepts, or NULL: deep
 * copies, or when not @p deep the records of @p l themselves (free the
 * list with ldns_rr_list_free, before @p l goes). */
static ldns_rr_list *
copy_if(const ldns_rr_list *l, const uint8_t *owner, uint16_t type,
    bool (*keep)(const ldns_rr *, const uint8_t *, uint16_t), bool deep)
{
	ldns_rr_list *out = ldns_rr_list_new();

	for (size_t i = 0; out && l != NULL && i < ldns_rr_list_rr_count(l);
	     i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i), *c;
		if (!keep(rr, owner, type))
			continue;
		if ((c = deep ? ldns_rr_clone(rr) : rr) == NULL)
			continue;
		if (!ldns_rr_list_push_rr(out, c) && deep)
			ldns_rr_free(c);
	}
	return out;
}

static bool
keep_rrset(const ldns_rr *rr, const uint8_t *owner, uint16_t type)
{
	return ldns_rr_get_type(rr) == type && dns_name_eq(rr_owner(rr), owner);
}

static bool
keep_sigs(const ldns_rr *rr, const uint8_t *owner, uint16_t type)
{
	return sig_covers(rr) == type && type != DNS_T_RRSIG &&
	    dns_name_eq(rr_owner(rr), owner);
}

static bool
keep_negative(const ldns_rr *rr, const uint8_t *owner, uint16_t type)
{
	(void)owner;
	(void)type;
	return ldns_rr_get_type(rr) == DNS_T_SOA ||
	    sig_covers(rr) == DNS_T_SOA || is_proof(rr);
}

static bool
keep_proof(const ldns_rr *rr, const uint8_t *owner, uint16_t type)
{
	(void)owner;
	(void)type;
	return is_proof(rr);
}

/* The state data is stored with before it is validated. */
static uint8_t
unchecked(const struct iter_req *r, uint8_t rank)
{
	return r->env->anchors != NULL && rank >= CACHE_RANK_ANSWER_MIN
	    ? CACHE_SEC_UNCHECKED
	    : CACHE_SEC_INSECURE;
}

static void vchain_note(void *arg, enum val_state st, const char *text);

/* Keep an RRset or negative answer of the client's answer for the chain
 * of trust: the lists become the vchain's, and the item borrows them to
 * store them once the chain has settled their state. */
static void
add_vitem(struct iter_req *r, const struct frame *f, uint8_t rank,
    ldns_rr_list *rrset, ldns_rr_list *sigs, ldns_rr_list *auth,
    const uint8_t *owner, uint16_t type, bool neg, bool nx)
{
	struct vitem *v;
	int idx = -1;

	/* the chain of trust is made when the first item needs it (most
	 * questions that fail never do) */
	if (r->vc == NULL && r->env->anchors != NULL && f->qclass == DNS_C_IN &&
	    !r->vc_failed) {
		r->vcenv.anchors = r->env->anchors;
		r->vcenv.limits = r->env->val_limits;
		r->vcenv.keys = r->env->val_keys;
		r->vc =
		    vchain_new(&r->vcenv, r->traced ? vchain_note : NULL, r);
		r->vi = malloc(VCHAIN_MAX_ITEMS * sizeof(*r->vi));
		r->vc_failed = r->vc == NULL || r->vi == NULL;
		if (r->vc_failed) {
			vchain_free(r->vc);
			r->vc = NULL;
		}
	}
	if (r->vc != NULL && r->nvi < VCHAIN_MAX_ITEMS) {
		/* handed over, also when it fails (the vchain frees them) */
		if (neg) {
			ldns_rr_list_deep_free(rrset);
			ldns_rr_list_deep_free(sigs);
			rrset = sigs = NULL;
			idx = vchain_add_negative(r->vc, owner, type, nx, auth);
		} else {
			idx = vchain_add_rrset(r->vc, rrset, sigs, auth);
		}
		if (idx < 0)
			return;
	} else {
		if (r->vc != NULL) /* one too many: vchain_overall: bogus */
			vchain_add_rrset(r->vc, NULL, NULL, NULL);
		ldns_rr_list_deep_free(rrset);
		ldns_rr_list_deep_free(sigs);
		ldns_rr_list_deep_free(auth);
		return;
	}
	v = &r->vi[r->nvi++];
	memset(v, 0, sizeof(*v));
	dns_name_lower(v->owner, owner);
	v->type = type;
	v->rank = rank;
	v->neg = neg;
	v->nx = nx;
	v->index = idx;
	v->rrset = rrset;
	v->sigs = sigs;
	v->auth = auth;
	memcpy(v->src, f->cut.ns[f->ns_idx].addr[f->addr_idx].ip, 16);
	v->src_family = f->cut.ns[f->ns_idx].addr[f->addr_idx].family;
}

/* Forget what a fetch brought. */
static void
vf_clear(struct iter_req *r)
{
	ldns_rr_list_deep_free(r->vf.rrset);
	ldns_rr_list_deep_free(r->vf.sigs);
	ldns_rr_list_deep_free(r->vf.auth);
	memset(&r->vf, 0, sizeof(r->vf));
}

/* A DS or DNSKEY fetch for the chain of trust brought this back. */
static void
set_vfetch(struct iter_req *r, const struct frame *f, int rcode, uint8_t rank,
    ldns_rr_list *rrset, ldns_rr_list *sigs, ldns_rr_list *auth)
{
	const struct deleg_addr *from = &f->cut.ns[f->ns_idx].addr[f->addr_idx];

	vf_clear(r);
	r->vf = (struct vfetch){
	    .have = true,
	    .rcode = rcode,
	    .rrset = rrset,
	    .sigs = sigs,
	    .auth = auth,
	    .rank = rank,
	    .src_family = from->family,
	};
	memcpy(r->vf.src, from->ip, 16);
}

/* Gather the RRset (owner, type) of a section and store it (not yet
 * validated: CACHE_SEC_UNCHECKED, for the chain of trust to settle). For
 * frame 0, when @p to_res, also append its records (and RRSIGs, for DO
 * clients) to the result and keep it for validation; for a DS or DNSKEY
 * fetch, hand it to the chain. @return the number of records found. */
static unsigned
take_rrset(struct iter_req *r, uint64_t now, ldns_rr_list *sec,
    const uint8_t *owner, uint16_t type, uint8_t rank, bool to_res,
    const struct frame *f)
{
	/* kept beyond this reply for the answer or a fetch of the chain:
	 * copies; only stored: the reply's own records */
	bool keep = to_res ||
	    (f->kind == FK_VFETCH && type == f->qtype &&
	        dns_name_eq(owner, f->qname));
	ldns_rr_list *rrset = copy_if(sec, owner, type, keep_rrset, keep);
	ldns_rr_list *sigs = copy_if(sec, owner, type, keep_sigs, keep);
	unsigned n = rrset ? (unsigned)ldns_rr_list_rr_count(rrset) : 0;
	struct store_spec sp = {
	    .owner = owner,
	    .type = type,
	    .kind = CACHE_RRSET,
	    .rank = rank,
	    .rrset = rrset,
	    .sigs = sigs,
	    .auth = to_res ? r->reply_auth : NULL, /* a wildcard's proof */
	    .sec = unchecked(r, rank),
	    .src = f->cut.ns[f->ns_idx].addr[f->addr_idx].ip,
	    .src_family = f->cut.ns[f->ns_idx].addr[f->addr_idx].family,
	};

	if (!keep) {
		if (n > 0)
			store_set(r, now, &sp);
		ldns_rr_list_free(rrset);
		ldns_rr_list_free(sigs);
		return n;
	}
	if (n == 0) {
		ldns_rr_list_deep_free(rrset);
		ldns_rr_list_deep_free(sigs);
		return 0;
	}
	store_set(r, now, &sp);
	if (to_res) {
		uint32_t ttl = UINT32_MAX;
		for (unsigned k = 0; k < n; k++)
			if (ldns_rr_ttl(ldns_rr_list_rr(rrset, k)) < ttl)
				ttl = ldns_rr_ttl(ldns_rr_list_rr(rrset, k));
		ttl = clamp_ttl(r, ttl, false);
		/* the records, then their RRSIGs (for DO clients) */
		uint8_t *rd = r->env->scratch->rdata;
		uint16_t cnt;
		rdata_list(rrset, type, false, rd,
		    sizeof(r->env->scratch->rdata), &cnt, NULL);
		res_put_list(r, 0, owner, type,
		    ldns_rr_get_class(ldns_rr_list_rr(rrset, 0)), ttl, rd, cnt);
		rdata_list(sigs, type, true, rd, sizeof(r->env->scratch->rdata),
		    &cnt, NULL);
		res_put_list(r, ITER_RR_DNSSEC, owner, DNS_T_RRSIG,
		    ldns_rr_get_class(ldns_rr_list_rr(rrset, 0)), ttl, rd, cnt);
		/* the proof that a wildcard did not hide the name, if any */
		add_vitem(r, f, rank, rrset, sigs,
		    copy_if(r->reply_auth, owner, type, keep_proof, true),
		    owner, type, false, false);
		return n;
	}
	/* the DS or DNSKEY a fetch for the chain asked for */
	set_vfetch(r, f, DNS_RCODE_NOERROR, rank, rrset, sigs, NULL);
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
		if (r->vc_failed) {
			fail_request(r, now, DNS_EDE_DNSSEC_INDETERMINATE,
			    "out of memory for DNSSEC validation");
			return;
		}
		if (r->vc != NULL && r->nvi > 0) {
			/* the answer is in: now its chain of trust */
			r->validating = true;
			return;
		}
		r->done = true;
		stepf(r, now, TRACE_DONE,
		    "rcode %s, %u answer record%s, %u send%s",
		    dns_rcode_str(rcode), r->res.ancount,
		    trace_s(r->res.ancount), r->sends, trace_s(r->sends));
		return;
	}
	if (f->kind == FK_VFETCH) {
		/* a DS or DNSKEY for the chain: take_rrset or take_negative
		 * handed over what came; nothing came for a failure */
		if (!r->vf.have)
			set_vfetch(r, f, rcode ? rcode : DNS_RCODE_SERVFAIL, 0,
			    NULL, NULL, NULL);
		stepf(r, now, TRACE_SUBQ, "sub-question done: %s",
		    dns_rcode_str(r->vf.rcode));
		r->top--;
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

/* May the cached entry @p o answer frame @p f? Frame 0 (the client's
 * question) takes only data that is validated (or never will be). */
static bool
cached_usable(const struct frame *f, const struct cache_rrset_out *o)
{
	return o->rank >= CACHE_RANK_ANSWER_MIN &&
	    (f->kind != FK_CLIENT || o->sec != CACHE_SEC_UNCHECKED);
}

/* Frame 0 takes a cached entry: note its state; a bogus one ends the
 * request with its reason (unless CD). @return false if it ended. For a
 * DO client, the entry's RRSIGs (@p sig_owner, @p section) and proof go
 * into the result. */
static bool
cached_take(struct iter_req *r, const struct cache_rrset_out *o,
    const uint8_t *sig_owner, uint8_t section, uint64_t now)
{
	if (o->sec == CACHE_SEC_BOGUS && !r->cd) {
		fail_request(r, now, o->ede ? o->ede : DNS_EDE_DNSSEC_BOGUS,
		    "%s", o->why[0] ? o->why : "bogus (cached)");
		return false;
	}
	if (o->sec != CACHE_SEC_SECURE)
		r->cached_insecure = true;
	res_put_list(r, section | ITER_RR_DNSSEC, sig_owner, DNS_T_RRSIG,
	    o->rclass, o->ttl, o->sigs, o->nsig);
	res_put_rrs(r, ITER_RR_AUTHORITY | ITER_RR_DNSSEC, o->proof,
	    o->proof_len, o->nproof, o->ttl);
	return true;
}

/* Look for the frame's current name in the cache. Returns 1 if the frame is
 * done, 2 if a CNAME moved sname (go again), 0 on a miss. A fetch for the
 * chain of trust does not look: the walk looked before asking for it. */
static int
frame_from_cache(
    struct iter_req *r, struct frame *f, uint64_t now, uint8_t *target_out)
{
	uint8_t *buf = r->env->scratch->entry;
	size_t blen = sizeof(r->env->scratch->entry);
	struct cache_rrset_out o;
	struct cache *c = r->env->cache;

	if (f->kind == FK_VFETCH || (r->refresh && r->top == 0))
		return 0;
	if (cache_get(c, f->sname, f->qtype, f->qclass, now, &o, buf, blen) ==
	        1 &&
	    cached_usable(f, &o)) {
		if (o.kind == CACHE_NODATA) {
			if (r->top == 0) {
				res_put(r, ITER_RR_AUTHORITY, o.soa_owner,
				    DNS_T_SOA, f->qclass, o.ttl, o.rdata + 2,
				    o.rdata_len - 2);
				if (!cached_take(r, &o, o.soa_owner,
				        ITER_RR_AUTHORITY, now))
					return 1;
			}
			stepf(r, now, TRACE_CACHE, "NODATA from cache, ttl %u",
			    o.ttl);
			frame_done(r, now, 0);
			return 1;
		}
		if (o.kind == CACHE_RRSET) {
			if (r->top == 0) {
				res_put_list(r, 0, f->sname, f->qtype, o.rclass,
				    o.ttl, o.rdata, o.nrr);
				if (!cached_take(r, &o, f->sname, 0, now))
					return 1;
			} else {
				const uint8_t *p = o.rdata;
				for (unsigned k = 0; k < o.nrr; k++) {
					size_t l = dns_get16(p);
					give_parent(r, p + 2, l);
					p += 2 + l;
				}
			}
			stepf(r, now, TRACE_CACHE,
			    "answer from cache: %u record%s, ttl %u", o.nrr,
			    trace_s(o.nrr), o.ttl);
			frame_done(r, now, 0);
			return 1;
		}
	}
	if (cache_get(c, f->sname, CACHE_TYPE_NXDOMAIN, f->qclass, now, &o, buf,
	        blen) == 1 &&
	    o.kind == CACHE_NXDOMAIN && cached_usable(f, &o)) {
		if (r->top == 0) {
			res_put(r, ITER_RR_AUTHORITY, o.soa_owner, DNS_T_SOA,
			    f->qclass, o.ttl, o.rdata + 2, o.rdata_len - 2);
			if (!cached_take(
			        r, &o, o.soa_owner, ITER_RR_AUTHORITY, now))
				return 1;
		}
		stepf(
		    r, now, TRACE_CACHE, "NXDOMAIN from cache, ttl %u", o.ttl);
		frame_done(r, now, 3);
		return 1;
	}
	if (f->qtype != DNS_T_CNAME &&
	    cache_get(
	        c, f->sname, DNS_T_CNAME, f->qclass, now, &o, buf, blen) == 1 &&
	    o.kind == CACHE_RRSET && cached_usable(f, &o) && o.nrr >= 1) {
		size_t l = dns_get16(o.rdata);
		const uint8_t *target = o.rdata + 2;
		if (dns_name_len(target, l) != l)
			return 0;
		if (r->top == 0) {
			res_put(r, 0, f->sname, DNS_T_CNAME, o.rclass, o.ttl,
			    target, l);
			if (!cached_take(r, &o, f->sname, 0, now))
				return 1;
		}
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
	const uint8_t *p = r->res.rr, *end = p ? p + r->res.rr_len : NULL;
	while (r->top == 0 && p != NULL && p + 1 < end) {
		p++; /* the record's flags */
		size_t nl = dns_name_len(p, (size_t)(end - p));
		if (nl == 0 || p + nl + 10 > end)
			break;
		if (dns_name_eq(p, target)) {
			fail_request(
			    r, now, DNS_EDE_OTHER, "CNAME loop at %s", t);
			return false;
		}
		p += nl + 10 + dns_get16(p + nl + 8);
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

	uint8_t cookie[8 + sizeof(inf.cookie)];
	uint64_t h;

	r->env->random(bits, sizeof(bits), r->env->random_arg);
	infra_get(r->env->infra, ad->ip, ad->family, now, &inf);
	if (inf.edns == INFRA_EDNS_BROKEN)
		spec.edns = false;
	/* a client cookie of our own for this server, and the server cookie
	 * it gave us last (RFC 7873 5.1) */
	h = dns_siphash(ad->ip, ad->family == AF_INET ? 4 : 16,
	    r->env->cookie_secret, 2, 4);
	memcpy(cookie, &h, 8);
	memcpy(cookie + 8, inf.cookie, inf.cookie_len);
	spec.cookie = cookie;
	spec.cookie_len = 8u + inf.cookie_len;
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

/* ---- the chain of trust ---- */

static enum val_state
sec_to_val(uint8_t sec)
{
	switch (sec) {
	case CACHE_SEC_SECURE:
		return VAL_SECURE;
	case CACHE_SEC_BOGUS:
		return VAL_BOGUS;
	case CACHE_SEC_INSECURE:
		return VAL_INSECURE;
	default:
		return VAL_INDETERMINATE;
	}
}

static uint8_t
val_to_sec(enum val_state st)
{
	switch (st) {
	case VAL_SECURE:
		return CACHE_SEC_SECURE;
	case VAL_BOGUS:
	case VAL_INDETERMINATE:
		return CACHE_SEC_BOGUS;
	default:
		return CACHE_SEC_INSECURE;
	}
}

/* Records of a cached rdata list (or a list of full RRs, when @p full) as
 * an ldns list, owned by the caller. */
static ldns_rr_list *
ldns_from_cache(const uint8_t *owner, uint16_t type, uint16_t rclass,
    uint32_t ttl, const uint8_t *p, size_t len, unsigned n, bool full)
{
	ldns_rr_list *l = ldns_rr_list_new();
	uint8_t w[LIM_NAME_MAX + 10 + 4096];
	const uint8_t *end;

	if (p == NULL)
		return l;
	end = p + len;
	for (unsigned k = 0; l != NULL && k < n && p < end; k++) {
		size_t wl, pos = 0, rl;
		ldns_rr *rr = NULL;
		if (full) {
			size_t nl = dns_name_len(p, (size_t)(end - p));
			if (nl == 0 || (size_t)(end - p) < nl + 10)
				break;
			rl = nl + 10 + dns_get16(p + nl + 8);
			if (rl > (size_t)(end - p))
				break;
			memcpy(w, p, rl);
			wl = rl;
		} else {
			size_t nl = dns_name_len(owner, LIM_NAME_MAX);
			rl = 2 + dns_get16(p);
			if (rl > (size_t)(end - p) || nl + 8 + rl > sizeof(w))
				break;
			memcpy(w, owner, nl);
			dns_put16(w + nl, type);
			dns_put16(w + nl + 2, rclass);
			dns_put32(w + nl + 4, ttl);
			memcpy(w + nl + 8, p, rl);
			wl = nl + 8 + rl;
		}
		if (rl > sizeof(w) - LIM_NAME_MAX - 10) {
			p += rl;
			continue;
		}
		if (ldns_wire2rr(&rr, w, wl, &pos, LDNS_SECTION_ANSWER) ==
		        LDNS_STATUS_OK &&
		    !ldns_rr_list_push_rr(l, rr))
			ldns_rr_free(rr);
		p += rl;
	}
	return l;
}

static void
vchain_note(void *arg, enum val_state st, const char *text)
{
	struct iter_req *r = arg;
	struct trace_step *s =
	    trace_add(&r->trace, r->mono, TRACE_DNSSEC, (unsigned)r->top);

	if (s == NULL)
		return;
	s->rtt_ms = (uint32_t)st; /* the state, for the renderings */
	snprintf(s->detail, sizeof(s->detail), "%s", text);
}

/* Store what a fetch for the chain brought, with the state the chain gave
 * it (the cache holds DS and DNSKEY RRsets checked once). */
static void
store_vfetch(struct iter_req *r, uint64_t now, const struct vchain_fed *fed)
{
	struct vfetch *vf = &r->vf;
	bool neg = vf->rrset == NULL || ldns_rr_list_rr_count(vf->rrset) == 0;
	struct store_spec sp = {
	    .owner = r->need.name,
	    .type = r->need.type,
	    .kind = neg ? (vf->rcode == DNS_RCODE_NXDOMAIN ? CACHE_NXDOMAIN
	                                                   : CACHE_NODATA)
	                : CACHE_RRSET,
	    .rank = vf->rank ? vf->rank : CACHE_RANK_AUTH_ANSWER,
	    .rrset = vf->rrset,
	    .sigs = vf->sigs,
	    .auth = vf->auth,
	    .sec = val_to_sec(fed->state),
	    .cut = fed->cut,
	    .ede = fed->ede,
	    .why = fed->why,
	    .ttl_cap = fed->ttl_cap == UINT32_MAX ? 0 : fed->ttl_cap,
	    .src = vf->src,
	    .src_family = vf->src_family,
	};

	if (fed->state == VAL_INDETERMINATE || vf->rcode == DNS_RCODE_SERVFAIL)
		return;
	store_set(r, now, &sp);
}

/* Look in the cache for what the chain needs; feed it if it is there.
 * @return true if fed. */
static bool
vfetch_from_cache(struct iter_req *r, uint64_t now)
{
	uint8_t *buf = r->env->scratch->entry;
	struct cache_rrset_out o;
	struct vchain_fed fed;
	int rc = cache_get(r->env->cache, r->need.name, r->need.type, DNS_C_IN,
	    now, &o, buf, sizeof(r->env->scratch->entry));

	if (rc != 1 || o.rank < CACHE_RANK_ANSWER_MIN) {
		rc = cache_get(r->env->cache, r->need.name, CACHE_TYPE_NXDOMAIN,
		    DNS_C_IN, now, &o, buf, sizeof(r->env->scratch->entry));
		if (rc != 1 || o.kind != CACHE_NXDOMAIN)
			return false;
	}
	ldns_rr_list *rrset = NULL, *sigs = NULL, *auth = NULL;
	int rcode = DNS_RCODE_NOERROR;
	bool was_checked = o.sec == CACHE_SEC_SECURE;
	/* what was checked when it was stored is trusted as it is: its
	 * signatures and proofs are not read again (vchain_feed), so they
	 * are not made into ldns records either */
	if (o.kind == CACHE_RRSET) {
		rrset = ldns_from_cache(o.owner, o.type, o.rclass, o.ttl,
		    o.rdata, o.rdata_len, o.nrr, false);
		if (!was_checked)
			sigs = ldns_from_cache(o.owner, DNS_T_RRSIG, o.rclass,
			    o.ttl, o.sigs, o.sigs_len, o.nsig, false);
	} else if (was_checked) {
		rcode = o.kind == CACHE_NXDOMAIN ? DNS_RCODE_NXDOMAIN
		                                 : DNS_RCODE_NOERROR;
	} else {
		rcode = o.kind == CACHE_NXDOMAIN ? DNS_RCODE_NXDOMAIN
		                                 : DNS_RCODE_NOERROR;
		auth = ldns_from_cache(o.soa_owner, DNS_T_SOA, o.rclass, o.ttl,
		    o.rdata, o.rdata_len, 1, false);
		ldns_rr_list *s = ldns_from_cache(o.soa_owner, DNS_T_RRSIG,
		    o.rclass, o.ttl, o.sigs, o.sigs_len, o.nsig, false);
		ldns_rr_list *pr = ldns_from_cache(
		    NULL, 0, 0, 0, o.proof, o.proof_len, o.nproof, true);
		if (auth && s)
			ldns_rr_list_push_rr_list(auth, s);
		if (auth && pr)
			ldns_rr_list_push_rr_list(auth, pr);
		ldns_rr_list_free(s);
		ldns_rr_list_free(pr);
	}
	bool cut = o.cut;
	/* a copy for storing back what was not checked yet */
	if (!was_checked) {
		set_vfetch(r, &r->f[0], rcode, o.rank,
		    ldns_rr_list_clone(rrset), ldns_rr_list_clone(sigs),
		    ldns_rr_list_clone(auth));
		r->vf.have = false;
		r->vf.src_family = o.source_family;
		memcpy(r->vf.src, o.source, 16);
	}
	vchain_feed(r->vc, now / 1000, rcode, rrset, sigs, auth,
	    sec_to_val(o.sec), cut, &fed);
	if (!was_checked)
		store_vfetch(r, now, &fed);
	vf_clear(r);
	return true;
}

/* Push a frame that fetches what the chain needs. */
static void
vfetch_start(struct iter_req *r, uint64_t now)
{
	char n[DNS_NAME_TEXT_MAX], tb[DNS_MNEMONIC_MAX];

	if (r->top >= LIM_MAX_SUBQ_DEPTH) {
		struct vchain_fed fed;
		vchain_feed(r->vc, now / 1000, DNS_RCODE_SERVFAIL, NULL, NULL,
		    NULL, VAL_INDETERMINATE, false, &fed);
		return;
	}
	r->vf.have = false;
	r->top++;
	frame_init(&r->f[r->top], r->need.name, r->need.type, DNS_C_IN);
	r->f[r->top].kind = FK_VFETCH;
	dns_name_to_text(n, sizeof(n), r->need.name);
	stepf(r, now, TRACE_SUBQ, "fetching %s %s for the chain of trust",
	    dns_type_str(r->need.type, tb), n);
}

/* The RRSIGs in @p l owned by @p owner and covering @p type, as an rdata
 * list into @p out. @return its length; *n signatures. */
static size_t
sigs_of(const ldns_rr_list *l, const uint8_t *owner, uint16_t type,
    uint8_t *out, size_t cap, uint16_t *n)
{
	size_t len = 0;

	*n = 0;
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(l, i);
		size_t k;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG ||
		    sig_covers(rr) != type ||
		    !dns_name_eq(rr_owner(rr), owner) || len + 2 > cap)
			continue;
		k = rr_rdata(rr, out + len + 2, cap - len - 2);
		if (k == 0)
			continue;
		dns_put16(out + len, (uint16_t)k);
		len += 2 + k;
		(*n)++;
	}
	return len;
}

/* RFC 8198: a negative answer proven secure by NSEC records leaves them
 * (those the proof verified, o->nsec_verified) and its zone's SOA in the
 * aggressive NSEC cache, each for min(its TTL, the SOA's TTL and minimum:
 * RFC 9077) and no longer than its signatures allow. */
static void
nsec_keep(struct iter_req *r, const struct vitem *v,
    const struct val_outcome *o, uint64_t now)
{
	struct nsec_cache *nc = r->env->nsec;
	const ldns_rr *soa = NULL;
	uint8_t rd[NSEC_RDATA_MAX], sg[NSEC_SIGS_MAX];
	const uint8_t *zone;
	uint32_t cap;
	uint16_t nsig;
	size_t n, rl, sl;

	if (nc == NULL || o->state != VAL_SECURE || o->nsec_verified == 0 ||
	    v->auth == NULL)
		return;
	n = ldns_rr_list_rr_count(v->auth);
	for (size_t i = 0; i < n && soa == NULL; i++)
		if (ldns_rr_get_type(ldns_rr_list_rr(v->auth, i)) ==
		    LDNS_RR_TYPE_SOA)
			soa = ldns_rr_list_rr(v->auth, i);
	if (soa == NULL || ldns_rr_rd_count(soa) != 7)
		return;
	zone = rr_owner(soa);
	cap = ldns_rr_ttl(soa);
	if (ldns_rdf2native_int32(ldns_rr_rdf(soa, 6)) < cap)
		cap = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
	if (o->ttl_cap < cap)
		cap = o->ttl_cap;
	rl = rr_rdata(soa, rd, sizeof(rd));
	sl = sigs_of(v->auth, zone, DNS_T_SOA, sg, sizeof(sg), &nsig);
	if (rl == 0 || nsig == 0 ||
	    nsec_cache_put_soa(nc, zone, rd, rl, cap, sg, sl, nsig, now) < 0)
		return;
	for (size_t i = 0; i < n && i < 32; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(v->auth, i);
		uint32_t ttl = ldns_rr_ttl(rr) < cap ? ldns_rr_ttl(rr) : cap;

		if (!(o->nsec_verified & (1u << i)))
			continue;
		rl = rr_rdata(rr, rd, sizeof(rd));
		sl = sigs_of(
		    v->auth, rr_owner(rr), DNS_T_NSEC, sg, sizeof(sg), &nsig);
		if (rl > 0 && nsig > 0)
			nsec_cache_put(nc, zone, rr_owner(rr), rd, rl, ttl, sg,
			    sl, nsig, now);
	}
}

/* The walk has settled every item: store each with its state, and give
 * the answer its DNSSEC verdict. */
static void
validate_finish(struct iter_req *r, uint64_t now)
{
	struct val_outcome all, o;
	enum val_state st = vchain_overall(r->vc, &all);

	for (int i = 0; i < r->nvi; i++) {
		struct vitem *v = &r->vi[i];
		vchain_item(r->vc, v->index, &o);
		struct store_spec sp = {
		    .owner = v->owner,
		    .type = v->type,
		    .kind = !v->neg ? CACHE_RRSET
		        : v->nx     ? CACHE_NXDOMAIN
		                    : CACHE_NODATA,
		    .rank = v->rank,
		    .rrset = v->rrset,
		    .sigs = v->sigs,
		    .auth = v->auth,
		    .sec = val_to_sec(o.state),
		    .ede = o.state == VAL_BOGUS
		        ? (o.ede ? o.ede : DNS_EDE_DNSSEC_BOGUS)
		        : o.state == VAL_INSECURE ? o.ede
		                                  : 0,
		    .why = o.why,
		    .ttl_cap = o.ttl_cap == UINT32_MAX ? 0 : o.ttl_cap,
		    .src = v->src,
		    .src_family = v->src_family,
		};
		store_set(r, now, &sp);
		if (v->neg)
			nsec_keep(r, v, &o, now);
	}
	r->validating = false;
	if (st == VAL_BOGUS && !r->cd) {
		fail_request(r, now, all.ede ? all.ede : DNS_EDE_DNSSEC_BOGUS,
		    "%s", all.why);
		return;
	}
	r->res.secure = st == VAL_SECURE && !r->cached_insecure;
	if (st == VAL_INSECURE && all.ede != 0) {
		/* insecure for a reason the client may want to know (RFC
		 * 9276 3.2: EDE 27 for NSEC3 iterations over the limit) */
		r->res.ede_code = all.ede;
		snprintf(r->res.reason, sizeof(r->res.reason), "%s", all.why);
	}
	/* no TTL handed out beyond what the signatures allow */
	if (all.ttl_cap != UINT32_MAX && r->res.rr != NULL) {
		uint8_t *p = r->res.rr, *end = r->res.rr + r->res.rr_len;
		while (p + 1 < end) {
			size_t nl = dns_name_len(p + 1, (size_t)(end - p - 1));
			if (nl == 0 || p + 1 + nl + 10 > end)
				break;
			if (dns_get32(p + 1 + nl + 4) > all.ttl_cap)
				dns_put32(p + 1 + nl + 4, all.ttl_cap);
			p += 1 + nl + 10 + dns_get16(p + 1 + nl + 8);
		}
	}
	r->done = true;
	stepf(r, now, TRACE_DONE, "rcode %s, %u answer record%s, %u send%s, %s",
	    dns_rcode_str(r->res.rcode), r->res.ancount,
	    trace_s(r->res.ancount), r->sends, trace_s(r->sends),
	    val_state_str(st));
}

/* The chain asks for keys the cache holds as secure (need.cache_only):
 * the DNSKEY RRset of the deepest name from need.name up to, not
 * including, need.floor. */
static void
vkeys_from_cache(struct iter_req *r, uint64_t now)
{
	uint8_t *buf = r->env->scratch->entry;
	const uint8_t *name = r->need.name;
	struct cache_rrset_out o;

	for (unsigned n = 0; n < LIM_NAME_MAX / 2 && name[0] != 0 &&
	     dns_name_below(name, r->need.floor);
	     n++, name += 1 + name[0]) {
		if (cache_get(r->env->cache, name, DNS_T_DNSKEY, DNS_C_IN, now,
		        &o, buf, sizeof(r->env->scratch->entry)) != 1 ||
		    o.kind != CACHE_RRSET || o.sec != CACHE_SEC_SECURE ||
		    o.rank < CACHE_RANK_ANSWER_MIN)
			continue;
		vchain_feed_keys(r->vc, name,
		    ldns_from_cache(o.owner, o.type, o.rclass, o.ttl, o.rdata,
		        o.rdata_len, o.nrr, false));
		return;
	}
	vchain_feed_keys(r->vc, NULL, NULL);
}

/* One step of the chain of trust, once frame 0 has its answer: feed what
 * a fetch brought, or find what is needed next (in the cache, or with a
 * fetch), or finish. */
static void
validate_step(struct iter_req *r, uint64_t now)
{
	struct vchain_fed fed;

	if (r->vf.have) {
		/* fetched from the network: checked now, stored with the
		 * state the chain gives it */
		vchain_feed(r->vc, now / 1000, r->vf.rcode,
		    ldns_rr_list_clone(r->vf.rrset),
		    ldns_rr_list_clone(r->vf.sigs),
		    ldns_rr_list_clone(r->vf.auth), VAL_INDETERMINATE, false,
		    &fed);
		store_vfetch(r, now, &fed);
		vf_clear(r);
		return;
	}
	if (vchain_next(r->vc, now / 1000, &r->need) == VCHAIN_DONE) {
		validate_finish(r, now);
		return;
	}
	if (r->need.cache_only)
		vkeys_from_cache(r, now);
	else if (!vfetch_from_cache(r, now))
		vfetch_start(r, now);
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
		if (r->validating && r->top == 0) {
			validate_step(r, now);
			continue;
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
			    : iter_find_forward(r->env, from);
			if (fw != NULL) {
				f->cut = fw->cut;
				f->fwd_fallback = fw->fallback_iterate;
				f->state = F_QUERY;
				stepf(r, now, TRACE_CUT,
				    "forward zone: %u forwarder%s",
				    deleg_usable(&f->cut),
				    trace_s(deleg_usable(&f->cut)));
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

/* Cache and report a negative answer for @p name: its SOA, the SOA's
 * RRSIGs and the NSEC/NSEC3 proof (for DO clients, and for validation). */
static void
take_negative(struct iter_req *r, struct frame *f, ldns_pkt *pkt,
    const uint8_t *name, bool nxdomain, uint64_t now)
{
	ldns_rr *soa = find_soa(pkt, f, name);
	ldns_rr_list *auth =
	    copy_if(ldns_pkt_authority(pkt), NULL, 0, keep_negative, true);
	uint8_t rank = f->cut.forward ? CACHE_RANK_NONAUTH_ANSWER
	                              : CACHE_RANK_AUTH_AUTHORITY;
	uint32_t ttl = 0;

	if (soa != NULL) {
		uint32_t minimum = ldns_rdf2native_int32(ldns_rr_rdf(soa, 6));
		struct store_spec sp = {
		    .owner = name,
		    .type = f->qtype,
		    .kind = nxdomain ? CACHE_NXDOMAIN : CACHE_NODATA,
		    .rank = rank,
		    .auth = auth,
		    .sec = unchecked(r, rank),
		    .src = f->cut.ns[f->ns_idx].addr[f->addr_idx].ip,
		    .src_family = f->cut.ns[f->ns_idx].addr[f->addr_idx].family,
		};
		ttl = ldns_rr_ttl(soa) < minimum ? ldns_rr_ttl(soa) : minimum;
		store_set(r, now, &sp);
		if (r->top == 0) {
			uint32_t nttl = clamp_ttl(r, ttl, true);
			res_put_rr(r, ITER_RR_AUTHORITY, soa, nttl);
			/* for DO clients: the SOA's RRSIGs and the proof */
			for (size_t i = 0;
			     auth && i < ldns_rr_list_rr_count(auth); i++) {
				const ldns_rr *rr = ldns_rr_list_rr(auth, i);
				if (ldns_rr_get_type(rr) != DNS_T_SOA)
					res_put_rr(r,
					    ITER_RR_AUTHORITY | ITER_RR_DNSSEC,
					    rr, nttl);
			}
		}
	}
	stepf(r, now, nxdomain ? TRACE_NXDOMAIN : TRACE_NODATA,
	    "%s, negative TTL %u%s", nxdomain ? "NXDOMAIN" : "NODATA",
	    clamp_ttl(r, ttl, true), soa ? "" : " (no SOA: not cached)");
	if (r->top == 0)
		add_vitem(r, f, rank, NULL, NULL, auth, name, f->qtype, true,
		    nxdomain);
	else if (f->kind == FK_VFETCH)
		set_vfetch(r, f,
		    nxdomain ? DNS_RCODE_NXDOMAIN : DNS_RCODE_NOERROR, rank,
		    NULL, NULL, auth);
	else
		ldns_rr_list_deep_free(auth);
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
	stepf(r, now, TRACE_ANSWER, "answer to ANY: %u record%s of %u type%s",
	    total, trace_s(total), nd, trace_s(nd));
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
		res_put(r, 0, f->sname, DNS_T_CNAME, f->qclass, ttl, target,
		    plen + tlen);
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
			stepf(r, now, TRACE_ANSWER, "answer: %u record%s%s", n,
			    trace_s(n),
			    rank == CACHE_RANK_AUTH_ANSWER ? " (authoritative)"
			                                   : "");
			/* for DO clients: the proof that a wildcard did not
			 * hide the name (NSEC/NSEC3 in the authority) */
			for (size_t i = 0; r->top == 0 &&
			     i < ldns_rr_list_rr_count(ldns_pkt_authority(pkt));
			     i++) {
				const ldns_rr *rr =
				    ldns_rr_list_rr(ldns_pkt_authority(pkt), i);
				if (is_proof(rr))
					res_put_rr(r,
					    ITER_RR_AUTHORITY | ITER_RR_DNSSEC,
					    rr,
					    clamp_ttl(
					        r, ldns_rr_ttl(rr), false));
			}
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
				    ad->tries, (unsigned)LIM_TRIES_PER_ADDR);
			}
			f->state = F_QUERY;
		}
		return ITER_ACCEPTED;
	}
	/* the spoof check: the address and port the query went to, then
	 * ID, QR, one question, the question byte for byte (msg.c) */
	const uint8_t *scookie = NULL;
	size_t scookie_len = 0;
	enum msg_match m = from == NULL || !same_addr(from, ad, r->env->port)
	    ? MSG_MATCH_QUESTION
	    : msg_match_reply(pkt, len, &f->sent, &scookie, &scookie_len);
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
	if (scookie != NULL)
		infra_set_cookie(r->env->infra, ad->ip, ad->family, scookie,
		    scookie_len, now);
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
	r->reply_auth = ldns_pkt_authority(p);
	handle_reply(r, f, p, now);
	r->reply_auth = NULL;
	ldns_pkt_free(p);
	return ITER_ACCEPTED;
}

/* ---- lifetime ---- */

struct iter_req *
iter_new(const struct iter_env *env, const uint8_t *qname, uint16_t qtype,
    uint16_t qclass, struct iter_now clock)
{
	struct iter_req *r;

	if (dns_name_len(qname, LIM_NAME_MAX) == 0)
		return NULL;
	r = malloc(sizeof(*r));
	if (r == NULL)
		return NULL;
	memset(r, 0, offsetof(struct iter_req, f));
	r->env = env;
	r->start_mono = r->mono = clock.mono_ms;
	frame_init(&r->f[0], qname, qtype, qclass);

	trace_init(&r->trace, r->mono); /* steps only with iter_set_trace */
	return r;
}

void
iter_free(struct iter_req *r)
{
	if (r == NULL)
		return;
	trace_free(&r->trace);
	free(r->res.rr);
	vchain_free(r->vc); /* with the lists r->vi borrowed */
	free(r->vi);
	vf_clear(r);
	free(r);
}

void
iter_set_cd(struct iter_req *r)
{
	r->cd = true;
}

void
iter_set_refresh(struct iter_req *r)
{
	r->refresh = true;
}

void
iter_set_trace(struct iter_req *r)
{
	if (r->traced)
		return;
	r->traced = true;
	/* the first step, which iter_new could not record yet */
	stepf(r, 0, TRACE_START, "resolving");
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
