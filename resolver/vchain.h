/**
 * @file vchain.h
 * The chain of trust for one client answer: which DS and DNSKEY RRsets to
 * fetch, zone by zone from a trust anchor down to the zone that signed each
 * RRset of the answer, and the state each RRset gets (secure, insecure,
 * bogus with the reason). The checks themselves are validate.h's; this
 * module only walks.
 *
 * Pure and driven like the iterator: vchain_next() returns the RRset it
 * needs (VCHAIN_NEED: DS or DNSKEY of a name), the driver (resolver/iter.c)
 * gets it from the cache or the network as a sub-question and hands it
 * back with vchain_feed(), which returns the state the fed data has (to be
 * kept in the cache beside it). `now` is seconds since the epoch, given.
 *
 * @code
 *	struct vchain *v = vchain_new(&env, note, arg);
 *	vchain_add_rrset(v, ...); vchain_add_negative(v, ...);
 *	struct vchain_need need;
 *	while (vchain_next(v, now, &need) == VCHAIN_NEED)
 *		vchain_feed(v, now, ..what the DS or DNSKEY question gave..);
 *	vchain_item(v, i, &outcome) ...; vchain_free(v);
 * @endcode
 *
 * The walk, for an RRset signed by zone S (for an unsigned RRset: towards
 * its owner; for a negative answer: towards the SOA's owner): from the
 * deepest trust anchor above (none: insecure; a negative trust anchor:
 * insecure), its DNSKEY RRset is checked against the anchor; then, label
 * by label down to S, the DS RRset of the next name is checked with the
 * keys above (then that name's DNSKEY RRset against it), or its absence is
 * proven (an insecure delegation ends the walk as insecure; a name that is
 * not a zone cut is passed). Keys learnt are kept for the other RRsets of
 * the same answer.
 *
 * Before that walk, each item asks once for the keys the cache already
 * holds as secure (need->cache_only): the DNSKEY RRset of the deepest zone
 * between the anchor and S that was checked when it was stored, as
 * Unbound's key cache and Knot Resolver's do. The walk then starts there:
 * a miss in a zone whose keys are cached costs one signature check and no
 * DS or DNSKEY lookups above it. The cached RRset is trusted for its TTL,
 * which the chain that checked it capped.
 */
#ifndef RESOLVERD_VCHAIN_H
#define RESOLVERD_VCHAIN_H

#include <stdbool.h>
#include <stdint.h>
#include <ldns/ldns.h>

#include "resolver/anchors.h"
#include "resolver/limits.h"
#include "resolver/validate.h"

#define VCHAIN_MAX_ITEMS 16 /**< RRsets and negative answers per answer */
#define VCHAIN_MAX_KEYS  24 /**< zones known during one answer */

struct vchain_env {
	const struct ta_set *anchors; /**< borrowed; never NULL */
	struct val_limits limits;
	struct val_keys *keys; /**< borrowed, or NULL (see val_keys) */
};

/** A step worth showing in the trace, with the state it ended in. */
typedef void (*vchain_note_fn)(
    void *arg, enum val_state state, const char *text);

enum vchain_status {
	VCHAIN_NEED, /**< fetch need->type of need->name, then vchain_feed */
	VCHAIN_DONE, /**< every item has its state */
};

struct vchain_need {
	uint8_t name[LIM_NAME_MAX]; /**< wire, lowercased */
	uint16_t type;              /**< DNS_T_DS or DNS_T_DNSKEY */
	/** Only the cache, only secure: the DNSKEY RRset of the deepest name
	 *  at or above @c name and strictly below @c floor that the cache
	 *  holds as secure; feed it with vchain_feed_keys (NULL: none). */
	bool cache_only;
	uint8_t floor[LIM_NAME_MAX]; /**< cache_only: wire, lowercased */
};

/** What vchain_feed concluded about the fed RRset. */
struct vchain_fed {
	enum val_state state;
	bool cut;              /**< DS absence: the name is a zone cut */
	uint32_t ttl_cap;      /**< UINT32_MAX: none */
	uint16_t ede;          /**< not secure: the EDE code (0: none) */
	char why[VAL_WHY_MAX]; /**< not secure: why ("" otherwise) */
};

struct vchain;

/** @return a new walk, or NULL (ENOMEM). @p note (may be NULL) is told of
 *  every step: which key verified what, which proof proved what. */
struct vchain *vchain_new(
    const struct vchain_env *env, vchain_note_fn note, void *note_arg);
/** vchain_free(NULL) is a no-op; frees every list handed in. */
void vchain_free(struct vchain *v);

/**
 * Add an RRset of the answer to validate. The lists become the walk's
 * (freed by vchain_free; deep copies are the caller's business).
 * @param rrset the RRset (one owner, type, class).
 * @param sigs its RRSIGs (may be empty or NULL).
 * @param authority the reply's authority section (NSEC/NSEC3 and RRSIGs,
 *   for the proof that a wildcard did not hide the name), or NULL.
 * @return the item's index, or -1 (too many items, or no memory: the
 *   answer is then bogus, see vchain_overall).
 */
int vchain_add_rrset(struct vchain *v, ldns_rr_list *rrset, ldns_rr_list *sigs,
    ldns_rr_list *authority);

/** Add a negative answer (NXDOMAIN, or NODATA for @p qtype) for @p qname,
 *  proven by @p authority (SOA, NSEC/NSEC3 and their RRSIGs; owned from
 *  now on). @return the item's index or -1. */
int vchain_add_negative(struct vchain *v, const uint8_t *qname, uint16_t qtype,
    bool nxdomain, ldns_rr_list *authority);

/** The next RRset the walk needs, or VCHAIN_DONE. Bounded: every call
 *  either needs a fetch or settles an item or a zone. */
enum vchain_status vchain_next(
    struct vchain *v, uint64_t now, struct vchain_need *need);

/**
 * What the fetch of the last need gave (every list becomes the walk's):
 * @param rcode NOERROR, NXDOMAIN, or SERVFAIL when it could not be had.
 * @param rrset the RRset asked for (may be empty: NODATA), or NULL.
 * @param sigs its RRSIGs, or NULL.
 * @param authority the authority section (the proof of absence), or NULL.
 * @param cached the state the cache held for it (VAL_SECURE: trusted as
 *   it is, no signature checked again), or VAL_INDETERMINATE when fetched
 *   from the network or not yet checked.
 * @param cut for a DS absence the cache held as secure: whether the name
 *   was a zone cut (as vchain_feed reported when it was checked).
 * @param out the state the fed data has now, the cut flag of a DS
 *   absence, and its TTL cap: what the cache should keep beside it.
 */
void vchain_feed(struct vchain *v, uint64_t now, int rcode, ldns_rr_list *rrset,
    ldns_rr_list *sigs, ldns_rr_list *authority, enum val_state cached,
    bool cut, struct vchain_fed *out);

/** The answer to a cache_only need: @p zone (at or above need->name,
 *  below need->floor) and its DNSKEY RRset @p keys, which the cache holds
 *  as secure (the list becomes the walk's); NULL and NULL when the cache
 *  has none. */
void vchain_feed_keys(
    struct vchain *v, const uint8_t *zone, ldns_rr_list *keys);

/** The state of item @p i (and why). */
enum val_state vchain_item(
    const struct vchain *v, int i, struct val_outcome *out);

/** The state of the whole answer: BOGUS if an item is (@p out says which,
 *  and why), SECURE if every item is, else INSECURE (with the EDE and
 *  reason of the first insecure item that has one, e.g. 27 for NSEC3
 *  iterations over the limit); the TTL cap is the smallest. */
enum val_state vchain_overall(const struct vchain *v, struct val_outcome *out);

#endif
