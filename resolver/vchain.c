/*
 * vchain.c: the chain of trust for one answer (see vchain.h).
 *
 * State: the items (RRsets and negative answers) to settle, and the zones
 * learnt on the way (struct zkey): a zone cut with its trusted keys, a
 * zone cut whose DS RRset is checked but whose DNSKEY RRset is still to be
 * fetched, an insecure or bogus zone, or a name that is not a zone cut (a
 * "pass": it belongs to the zone above). At most one fetch is pending.
 * Every call of vchain_next settles an item, or needs a fetch that settles
 * a zone, so the walk ends after at most items + 2 * zones steps.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dns.h"
#include "resolver/rr.h"
#include "resolver/vchain.h"

enum zkind {
	Z_KEYS,    /* a zone cut with trusted keys (state SECURE) */
	Z_DS,      /* a zone cut whose DS RRset is secure; keys to fetch */
	Z_PASS,    /* not a zone cut: the zone above holds it */
	Z_SETTLED, /* insecure or bogus: everything below is too */
};

struct zkey {
	uint8_t name[LIM_NAME_MAX];
	enum zkind kind;
	int above;              /* Z_PASS: index of the zone that holds it */
	ldns_rr_list *keys;     /* Z_KEYS: the trusted DNSKEY RRset (owned) */
	ldns_rr_list *ds;       /* Z_DS: the checked DS RRset (owned) */
	struct val_outcome why; /* Z_SETTLED: INSECURE or BOGUS, and why */
};

enum ikind {
	I_RRSET,
	I_NEG
};

struct item {
	enum ikind kind;
	ldns_rr_list *rrset, *sigs, *auth; /* owned */
	uint8_t owner[LIM_NAME_MAX];       /* RRset owner, or the qname */
	uint16_t type;                     /* RRset type, or the qtype */
	bool nx;                           /* I_NEG: NXDOMAIN */
	uint8_t target[LIM_NAME_MAX];      /* the zone the walk must reach */
	bool done;
	bool probed; /* the cache was asked for keys near the target */
	struct val_outcome out;
};

enum pending {
	P_NONE,
	P_ANCHOR,
	P_DS,
	P_DNSKEY,
	P_CACHED /* cache_only: the keys the cache holds as secure */
};

struct vchain {
	const struct vchain_env *env;
	vchain_note_fn note;
	void *note_arg;
	struct val_budget budget;
	struct item items[VCHAIN_MAX_ITEMS];
	int nitems;
	bool overflow; /* an item could not be added */
	struct zkey z[VCHAIN_MAX_KEYS];
	int nz;
	enum pending pend;
	uint8_t pend_name[LIM_NAME_MAX];
	const struct ta_anchor *pend_anchor;
	int pend_above; /* P_DS: the zone the DS is checked with */
	int pend_zone;  /* P_DNSKEY: the Z_DS entry */
};

static void __attribute__((format(printf, 3, 4)))
note(struct vchain *v, enum val_state st, const char *fmt, ...)
{
	char text[VAL_WHY_MAX + 64];
	va_list ap;

	if (v->note == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	v->note(v->note_arg, st, text);
}

static void set_out(struct val_outcome *o, enum val_state st, uint16_t ede,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
set_out(struct val_outcome *o, enum val_state st, uint16_t ede, const char *fmt,
    ...)
{
	va_list ap;

	memset(o, 0, sizeof(*o));
	o->state = st;
	o->ede = ede;
	o->ttl_cap = UINT32_MAX;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
	va_end(ap);
}

struct vchain *
vchain_new(const struct vchain_env *env, vchain_note_fn fn, void *arg)
{
	struct vchain *v = malloc(sizeof(*v));

	if (v == NULL)
		return NULL;
	/* the item and zone arrays (24 KiB) are cleared entry by entry as
	 * they are taken (new_item, add_zone), not here for every miss */
	memset(v, 0, offsetof(struct vchain, items));
	v->nitems = 0;
	v->overflow = false;
	v->nz = 0;
	memset(&v->pend, 0, sizeof(*v) - offsetof(struct vchain, pend));
	v->env = env;
	v->note = fn;
	v->note_arg = arg;
	val_budget_init(&v->budget, &env->limits);
	v->budget.keys = env->keys;
	return v;
}

void
vchain_free(struct vchain *v)
{
	if (v == NULL)
		return;
	for (int i = 0; i < v->nitems; i++) {
		ldns_rr_list_deep_free(v->items[i].rrset);
		ldns_rr_list_deep_free(v->items[i].sigs);
		ldns_rr_list_deep_free(v->items[i].auth);
	}
	for (int i = 0; i < v->nz; i++) {
		ldns_rr_list_deep_free(v->z[i].keys);
		ldns_rr_list_deep_free(v->z[i].ds);
	}
	free(v);
}

/* ------------------------------------------------------------- items */

/* The signer of the first RRSIG in @p sigs, or NULL. */
static const uint8_t *
signer_of(const ldns_rr_list *sigs)
{
	for (size_t i = 0; sigs != NULL && i < ldns_rr_list_rr_count(sigs);
	     i++) {
		const ldns_rr *s = ldns_rr_list_rr(sigs, i);
		const ldns_rdf *f = ldns_rr_rdf(s, 7);
		if (ldns_rr_get_type(s) == DNS_T_RRSIG && f != NULL &&
		    ldns_rdf_get_type(f) == LDNS_RDF_TYPE_DNAME)
			return ldns_rdf_data(f);
	}
	return NULL;
}

/* The next item, of @p kind, for @p owner and @p type, holding
 * @p authority; NULL when there is no room. */
static struct item *
new_item(struct vchain *v, enum ikind kind, const uint8_t *owner, uint16_t type,
    ldns_rr_list *authority)
{
	struct item *it;

	if (v->nitems >= VCHAIN_MAX_ITEMS) {
		v->overflow = true;
		return NULL;
	}
	it = &v->items[v->nitems];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->auth = authority;
	dns_name_lower(it->owner, owner);
	it->type = type;
	return it;
}

int
vchain_add_rrset(struct vchain *v, ldns_rr_list *rrset, ldns_rr_list *sigs,
    ldns_rr_list *authority)
{
	const ldns_rr *first = rrset ? ldns_rr_list_rr(rrset, 0) : NULL;
	struct item *it = NULL;
	const uint8_t *signer;

	if (first == NULL ||
	    (it = new_item(v, I_RRSET, rr_owner(first), ldns_rr_get_type(first),
	         authority)) == NULL) {
		v->overflow = true;
		ldns_rr_list_deep_free(rrset);
		ldns_rr_list_deep_free(sigs);
		ldns_rr_list_deep_free(authority);
		return -1;
	}
	it->rrset = rrset;
	it->sigs = sigs;
	/* signed: walk to the signer, which must be above the owner;
	 * unsigned: to the owner (is it in an unsigned zone?) */
	signer = signer_of(sigs);
	if (signer != NULL && dns_name_under(it->owner, signer))
		dns_name_lower(it->target, signer);
	else
		dns_name_lower(it->target, it->owner);
	return v->nitems++;
}

int
vchain_add_negative(struct vchain *v, const uint8_t *qname, uint16_t qtype,
    bool nxdomain, ldns_rr_list *authority)
{
	struct item *it = new_item(v, I_NEG, qname, qtype, authority);
	const uint8_t *zone = NULL;

	if (it == NULL) {
		ldns_rr_list_deep_free(authority);
		return -1;
	}
	it->nx = nxdomain;
	/* the zone that denies: the SOA's owner */
	for (size_t i = 0;
	     authority != NULL && i < ldns_rr_list_rr_count(authority); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(authority, i);
		if (ldns_rr_get_type(rr) == DNS_T_SOA &&
		    dns_name_under(qname, rr_owner(rr)))
			zone = rr_owner(rr);
	}
	dns_name_lower(it->target, zone != NULL ? zone : qname);
	return v->nitems++;
}

/* -------------------------------------------------------------- zones */

static int
find_zone(const struct vchain *v, const uint8_t *name)
{
	for (int i = 0; i < v->nz; i++)
		if (dns_name_eq(v->z[i].name, name))
			return i;
	return -1;
}

/* The deepest zone known at or above @p name, or -1. */
static int
deepest_above(const struct vchain *v, const uint8_t *name)
{
	int best = -1;
	unsigned bl = 0;

	for (int i = 0; i < v->nz; i++) {
		unsigned l = dns_name_labels(v->z[i].name);
		if (dns_name_under(name, v->z[i].name) &&
		    (best < 0 || l > bl)) {
			best = i;
			bl = l;
		}
	}
	return best;
}

static int
add_zone(struct vchain *v, const uint8_t *name, enum zkind kind)
{
	int i = find_zone(v, name);

	if (i < 0) {
		if (v->nz >= VCHAIN_MAX_KEYS)
			return -1;
		i = v->nz++;
	} else {
		ldns_rr_list_deep_free(v->z[i].keys);
		ldns_rr_list_deep_free(v->z[i].ds);
	}
	memset(&v->z[i], 0, sizeof(v->z[i]));
	dns_name_lower(v->z[i].name, name);
	v->z[i].kind = kind;
	v->z[i].above = -1;
	return i;
}

/* A settled zone (INSECURE or BOGUS) with @p why. */
static void
settle_zone(
    struct vchain *v, const uint8_t *name, const struct val_outcome *why)
{
	int i = add_zone(v, name, Z_SETTLED);

	if (i >= 0)
		v->z[i].why = *why;
}

/* The zone cut that holds @p i's records (itself, or the one above a
 * pass). */
static int
real_zone(const struct vchain *v, int i)
{
	for (int n = 0; i >= 0 && v->z[i].kind == Z_PASS && n < VCHAIN_MAX_KEYS;
	     n++)
		i = v->z[i].above;
	return i;
}

/* The name one label below @p above on the way to @p target. */
static void
next_below(
    uint8_t out[LIM_NAME_MAX], const uint8_t *above, const uint8_t *target)
{
	unsigned want = dns_name_labels(above) + 1;

	dns_name_lower(out, dns_name_suffix(target, want));
}

/* ------------------------------------------------------------ settling */

static void
settle_item(struct vchain *v, struct item *it, const struct val_outcome *o)
{
	char tb[DNS_MNEMONIC_MAX], name[DNS_NAME_TEXT_MAX];

	it->out = *o;
	it->done = true;
	dns_name_to_text(name, sizeof(name), it->owner);
	if (it->kind == I_NEG)
		note(v, o->state, "%s %s %s: %s: %s",
		    it->nx ? "NXDOMAIN" : "NODATA", name,
		    dns_type_str(it->type, tb), val_state_str(o->state),
		    o->why);
	else
		note(v, o->state, "%s %s: %s: %s", dns_type_str(it->type, tb),
		    name, val_state_str(o->state), o->why);
}

/* Check item @p it with the zone @p zi, which is its target's. */
static void
check_item(struct vchain *v, struct item *it, int zi, uint64_t now)
{
	int ri = real_zone(v, zi);
	struct val_outcome o;
	char tb[DNS_MNEMONIC_MAX], name[DNS_NAME_TEXT_MAX];

	if (ri < 0) {
		set_out(&o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "internal: no zone above");
		settle_item(v, it, &o);
		return;
	}
	const struct zkey *z = &v->z[ri];
	if (z->kind == Z_SETTLED) {
		settle_item(v, it, &z->why);
		return;
	}
	if (it->kind == I_NEG) {
		if (it->nx)
			val_nxdomain(it->owner, it->auth, z->name, z->keys, now,
			    &v->budget, &o);
		else
			val_nodata(it->owner, it->type, it->auth, z->name,
			    z->keys, now, &v->budget, &o);
		settle_item(v, it, &o);
		return;
	}
	unsigned wl = 0;
	val_rrset(
	    z->name, it->rrset, it->sigs, z->keys, now, &v->budget, &o, &wl);
	if (o.state == VAL_BOGUS && o.ede == DNS_EDE_RRSIGS_MISSING) {
		char zn[DNS_NAME_TEXT_MAX];
		dns_name_to_text(name, sizeof(name), it->owner);
		dns_name_to_text(zn, sizeof(zn), z->name);
		set_out(&o, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING,
		    "no RRSIG for %s %s: zone %s is signed",
		    dns_type_str(it->type, tb), name, zn);
	}
	if (o.state == VAL_SECURE && wl > 0) {
		struct val_outcome w;
		val_wildcard(it->owner, wl, it->auth, z->name, z->keys, now,
		    &v->budget, &w);
		if (w.state != VAL_SECURE) {
			uint32_t cap = o.ttl_cap;
			o = w;
			if (cap < o.ttl_cap)
				o.ttl_cap = cap;
		} else if (w.ttl_cap < o.ttl_cap) {
			o.ttl_cap = w.ttl_cap;
		}
	}
	settle_item(v, it, &o);
}

/* The walk for item @p it: settle it, or say what it needs. */
static bool
walk(struct vchain *v, struct item *it, uint64_t now, struct vchain_need *need)
{
	struct val_outcome o;
	char tn[DNS_NAME_TEXT_MAX];

	dns_name_to_text(tn, sizeof(tn), it->target);
	if (ta_is_negative(v->env->anchors, it->target)) {
		set_out(&o, VAL_INSECURE, 0,
		    "%s is under a negative trust anchor", tn);
		settle_item(v, it, &o);
		return false;
	}
	int zi = deepest_above(v, it->target);
	if (!it->probed) {
		/* once per item: keys the cache holds below what the walk
		 * knows (the anchor, when it knows nothing below it), down to
		 * the target; none under a zone settled insecure or bogus */
		const struct ta_anchor *ta =
		    ta_closest(v->env->anchors, it->target);
		const uint8_t *floor = NULL;
		it->probed = true;
		if (ta != NULL &&
		    (zi < 0 || dns_name_below(ta->zone, v->z[zi].name)))
			floor = ta->zone;
		else if (ta != NULL && real_zone(v, zi) >= 0 &&
		    v->z[real_zone(v, zi)].kind != Z_SETTLED)
			floor = v->z[zi].name;
		if (floor != NULL && dns_name_below(it->target, floor)) {
			v->pend = P_CACHED;
			need->cache_only = true;
			dns_name_lower(need->name, it->target);
			dns_name_lower(need->floor, floor);
			need->type = DNS_T_DNSKEY;
			return true;
		}
	}
	need->cache_only = false;
	if (zi < 0) {
		const struct ta_anchor *ta =
		    ta_closest(v->env->anchors, it->target);
		if (ta == NULL) {
			set_out(&o, VAL_INSECURE, 0, "no trust anchor above %s",
			    tn);
			settle_item(v, it, &o);
			return false;
		}
		v->pend = P_ANCHOR;
		v->pend_anchor = ta;
		dns_name_lower(v->pend_name, ta->zone);
		dns_name_lower(need->name, ta->zone);
		need->type = DNS_T_DNSKEY;
		return true;
	}
	int ri = real_zone(v, zi);
	if (ri >= 0 && v->z[ri].kind == Z_SETTLED) {
		settle_item(v, it, &v->z[ri].why);
		return false;
	}
	if (v->z[zi].kind == Z_DS) {
		v->pend = P_DNSKEY;
		v->pend_zone = zi;
		dns_name_lower(v->pend_name, v->z[zi].name);
		dns_name_lower(need->name, v->z[zi].name);
		need->type = DNS_T_DNSKEY;
		return true;
	}
	if (dns_name_eq(v->z[zi].name, it->target)) {
		check_item(v, it, zi, now);
		return false;
	}
	/* one label further down: is it a zone cut? */
	v->pend = P_DS;
	v->pend_above = zi;
	next_below(v->pend_name, v->z[zi].name, it->target);
	dns_name_lower(need->name, v->pend_name);
	need->type = DNS_T_DS;
	return true;
}

enum vchain_status
vchain_next(struct vchain *v, uint64_t now, struct vchain_need *need)
{
	/* each turn settles an item or asks for one fetch */
	for (int i = 0; i < v->nitems; i++) {
		struct item *it = &v->items[i];
		if (it->done)
			continue;
		if (walk(v, it, now, need))
			return VCHAIN_NEED;
		if (!it->done) {
			struct val_outcome o;
			set_out(&o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
			    "internal: the chain of trust did not end");
			settle_item(v, it, &o);
		}
	}
	v->pend = P_NONE;
	return VCHAIN_DONE;
}

/* ------------------------------------------------------------- feeding */

static bool
empty(const ldns_rr_list *l)
{
	return l == NULL || ldns_rr_list_rr_count(l) == 0;
}

/* What a fed RRset is worth: the state, the TTL cap and, unless it is
 * secure, the EDE code and why (kept beside it in the cache). */
static void
fed_set(struct vchain_fed *out, const struct val_outcome *o)
{
	out->state = o->state;
	out->ttl_cap = o->ttl_cap;
	if (o->state != VAL_SECURE) {
		out->ede = o->ede;
		snprintf(out->why, sizeof(out->why), "%s", o->why);
	}
}

static void
feed_anchor(struct vchain *v, uint64_t now, ldns_rr_list *rrset,
    ldns_rr_list *sigs, enum val_state cached, struct vchain_fed *out)
{
	struct val_outcome o;
	char zn[DNS_NAME_TEXT_MAX];

	dns_name_to_text(zn, sizeof(zn), v->pend_name);
	if (empty(rrset)) {
		set_out(&o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
		    "DNSKEY %s: none could be had for the trust anchor", zn);
	} else if (cached == VAL_SECURE) {
		set_out(&o, VAL_SECURE, 0, "DNSKEY %s: secure (cached)", zn);
	} else {
		val_dnskey_by_anchor(
		    v->pend_anchor, rrset, sigs, now, &v->budget, &o);
	}
	fed_set(out, &o);
	if (o.state == VAL_SECURE) {
		int i = add_zone(v, v->pend_name, Z_KEYS);
		if (i >= 0) {
			v->z[i].keys = rrset;
			rrset = NULL;
		}
		note(v, VAL_SECURE,
		    "DNSKEY %s verified by the trust anchor: %s", zn, o.why);
	} else {
		settle_zone(v, v->pend_name, &o);
		note(v, o.state, "DNSKEY %s against the trust anchor: %s: %s",
		    zn, val_state_str(o.state), o.why);
	}
	ldns_rr_list_deep_free(rrset);
}

static void
feed_ds(struct vchain *v, uint64_t now, int rcode, ldns_rr_list *rrset,
    ldns_rr_list *sigs, ldns_rr_list *auth, enum val_state cached, bool cut,
    struct vchain_fed *out)
{
	int ai = real_zone(v, v->pend_above);
	const struct zkey *above = ai >= 0 ? &v->z[ai] : NULL;
	struct val_outcome o;
	char zn[DNS_NAME_TEXT_MAX], pn[DNS_NAME_TEXT_MAX];

	dns_name_to_text(zn, sizeof(zn), v->pend_name);
	dns_name_to_text(pn, sizeof(pn), above ? above->name : v->pend_name);
	out->cut = false;
	if (above == NULL || above->kind != Z_KEYS) {
		set_out(&o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "internal: DS %s without the keys of its parent", zn);
		settle_zone(v, v->pend_name, &o);
		fed_set(out, &o);
		ldns_rr_list_deep_free(rrset);
		return;
	}
	if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		set_out(&o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
		    "DS %s: the parent %s could not be asked (%s)", zn, pn,
		    dns_rcode_str((unsigned)rcode));
		settle_zone(v, v->pend_name, &o);
		note(v, o.state, "%s", o.why);
		fed_set(out, &o);
		ldns_rr_list_deep_free(rrset);
		return;
	}
	if (!empty(rrset)) {
		/* a DS RRset: checked with the parent's keys */
		if (cached == VAL_SECURE)
			set_out(&o, VAL_SECURE, 0, "cached as secure");
		else
			val_rrset(above->name, rrset, sigs, above->keys, now,
			    &v->budget, &o, NULL);
		fed_set(out, &o);
		out->cut = true;
		if (o.state != VAL_SECURE) {
			settle_zone(v, v->pend_name, &o);
			note(v, o.state, "DS %s from %s: %s: %s", zn, pn,
			    val_state_str(o.state), o.why);
			ldns_rr_list_deep_free(rrset);
			return;
		}
		note(v, VAL_SECURE, "DS %s from the parent %s: secure (%s)", zn,
		    pn, o.why);
		/* only unsupported algorithms or digests: insecure */
		struct val_outcome d;
		val_dnskey_by_ds(
		    v->pend_name, NULL, NULL, rrset, now, &v->budget, &d);
		if (d.state == VAL_INSECURE) {
			settle_zone(v, v->pend_name, &d);
			note(v, VAL_INSECURE, "%s: insecure: %s", zn, d.why);
			ldns_rr_list_deep_free(rrset);
			return;
		}
		int i = add_zone(v, v->pend_name, Z_DS);
		if (i >= 0)
			v->z[i].ds = rrset;
		else
			ldns_rr_list_deep_free(rrset);
		return;
	}
	ldns_rr_list_deep_free(rrset);
	/* no DS: is that proven, and is the name a zone cut? */
	bool delegation = cut;
	if (cached == VAL_SECURE) {
		set_out(&o, VAL_SECURE, 0, "cached as secure");
	} else if (rcode == LDNS_RCODE_NXDOMAIN) {
		val_nxdomain(v->pend_name, auth, above->name, above->keys, now,
		    &v->budget, &o);
		delegation = false;
	} else {
		val_no_ds(v->pend_name, auth, above->name, above->keys, now,
		    &v->budget, &o, &delegation);
	}
	fed_set(out, &o);
	out->cut = delegation;
	if (o.state == VAL_SECURE && !delegation) {
		int i = add_zone(v, v->pend_name, Z_PASS);
		if (i >= 0)
			v->z[i].above = ai;
		note(v, VAL_SECURE, "no DS at %s: not a zone cut (%s)", zn,
		    o.why);
		return;
	}
	if (o.state == VAL_SECURE || o.state == VAL_INSECURE) {
		struct val_outcome ins;
		set_out(&ins, VAL_INSECURE, o.ede,
		    "no DS for %s: an insecure delegation (%s)", zn, o.why);
		settle_zone(v, v->pend_name, &ins);
		note(v, VAL_INSECURE, "%s", ins.why);
		return;
	}
	settle_zone(v, v->pend_name, &o);
	note(v, o.state, "no DS for %s, but not proven: %s", zn, o.why);
}

static void
feed_dnskey(struct vchain *v, uint64_t now, ldns_rr_list *rrset,
    ldns_rr_list *sigs, enum val_state cached, struct vchain_fed *out)
{
	struct zkey *z = &v->z[v->pend_zone];
	struct val_outcome o;
	char zn[DNS_NAME_TEXT_MAX];

	dns_name_to_text(zn, sizeof(zn), z->name);
	if (empty(rrset))
		set_out(&o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
		    "DNSKEY %s: none, though the parent has a DS", zn);
	else if (cached == VAL_SECURE)
		set_out(&o, VAL_SECURE, 0, "cached as secure");
	else
		val_dnskey_by_ds(
		    z->name, rrset, sigs, z->ds, now, &v->budget, &o);
	fed_set(out, &o);
	if (o.state == VAL_SECURE) {
		ldns_rr_list_deep_free(z->ds);
		z->ds = NULL;
		z->kind = Z_KEYS;
		z->keys = rrset;
		note(v, VAL_SECURE, "DNSKEY %s verified by its DS: %s", zn,
		    o.why);
		return;
	}
	ldns_rr_list_deep_free(rrset);
	ldns_rr_list_deep_free(z->ds);
	z->ds = NULL;
	z->kind = Z_SETTLED;
	z->why = o;
	note(
	    v, o.state, "DNSKEY %s: %s: %s", zn, val_state_str(o.state), o.why);
}

void
vchain_feed(struct vchain *v, uint64_t now, int rcode, ldns_rr_list *rrset,
    ldns_rr_list *sigs, ldns_rr_list *authority, enum val_state cached,
    bool cut, struct vchain_fed *out)
{
	memset(out, 0, sizeof(*out));
	out->state = VAL_INDETERMINATE;
	out->ttl_cap = UINT32_MAX;
	switch (v->pend) {
	case P_ANCHOR:
		feed_anchor(v, now, rrset, sigs, cached, out);
		rrset = NULL;
		break;
	case P_DS:
		feed_ds(
		    v, now, rcode, rrset, sigs, authority, cached, cut, out);
		rrset = NULL;
		break;
	case P_DNSKEY:
		feed_dnskey(v, now, rrset, sigs, cached, out);
		rrset = NULL;
		break;
	case P_NONE:
	case P_CACHED:
		break;
	}
	v->pend = P_NONE;
	ldns_rr_list_deep_free(rrset);
	ldns_rr_list_deep_free(sigs);
	ldns_rr_list_deep_free(authority);
}

void
vchain_feed_keys(struct vchain *v, const uint8_t *zone, ldns_rr_list *keys)
{
	bool ok = v->pend == P_CACHED && zone != NULL && !empty(keys);
	int i = -1;

	v->pend = P_NONE;
	if (ok && (i = add_zone(v, zone, Z_KEYS)) >= 0) {
		char zn[DNS_NAME_TEXT_MAX];
		v->z[i].keys = keys;
		keys = NULL;
		if (v->note != NULL) {
			dns_name_to_text(zn, sizeof(zn), zone);
			note(v, VAL_SECURE,
			    "DNSKEY %s: secure in the cache; the chain starts "
			    "there",
			    zn);
		}
	}
	ldns_rr_list_deep_free(keys);
}

/* ------------------------------------------------------------ results */

enum val_state
vchain_item(const struct vchain *v, int i, struct val_outcome *out)
{
	if (i < 0 || i >= v->nitems || !v->items[i].done) {
		set_out(out, VAL_INDETERMINATE, 0, "not validated");
		return VAL_INDETERMINATE;
	}
	*out = v->items[i].out;
	return out->state;
}

enum val_state
vchain_overall(const struct vchain *v, struct val_outcome *out)
{
	bool all_secure = v->nitems > 0;
	uint32_t cap = UINT32_MAX;
	const struct item *said = NULL; /* an insecure item with an EDE */

	if (v->overflow) {
		set_out(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "too many RRsets to validate in one answer (cap %d)",
		    VCHAIN_MAX_ITEMS);
		return VAL_BOGUS;
	}
	for (int i = 0; i < v->nitems; i++) {
		const struct item *it = &v->items[i];
		if (!it->done || it->out.state == VAL_BOGUS ||
		    it->out.state == VAL_INDETERMINATE) {
			if (it->done)
				*out = it->out;
			else
				set_out(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
				    "not validated");
			out->state = VAL_BOGUS;
			return VAL_BOGUS;
		}
		if (it->out.state != VAL_SECURE)
			all_secure = false;
		if (it->out.state == VAL_INSECURE && it->out.ede != 0 &&
		    said == NULL)
			said = it;
		if (it->out.ttl_cap < cap)
			cap = it->out.ttl_cap;
	}
	if (said != NULL) {
		/* insecure, and why is worth telling the client (an
		 * unsupported algorithm, digest, NSEC3 iteration count) */
		*out = said->out;
	} else {
		set_out(out, all_secure ? VAL_SECURE : VAL_INSECURE, 0, "%s",
		    all_secure ? "every RRset is secure"
		               : "not every RRset is secure");
	}
	out->ttl_cap = cap;
	return out->state;
}
