/**
 * @file anchors.h
 * DNSSEC trust anchors: the DS or DNSKEY records a chain of trust starts
 * from (RFC 4033 3.1; the root's from IANA, RFC 7958), and negative trust
 * anchors (RFC 7646), names below which validation is switched off.
 *
 * Pure: no clock, no sockets, no global state. A set is built once (at
 * start or on reload: ta_new, ta_add_*, ta_load_file) and then only read;
 * any number of threads may read one set at the same time (every function
 * taking a const set), none may add to it meanwhile. Replace a set on
 * reload rather than changing it in place.
 *
 * Names are uncompressed wire names (see dns.h), compared case-insensitively.
 */
#ifndef RESOLVERD_ANCHORS_H
#define RESOLVERD_ANCHORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <ldns/ldns.h>

#include "resolver/limits.h"

/** The anchors of one zone: all the DS and DNSKEY records given for it,
 *  from every source merged. At least one of the lists is non-NULL. */
struct ta_anchor {
	uint8_t zone[LIM_NAME_MAX]; /**< wire, lowercased */
	ldns_rr_list *ds;     /**< owned by the set; DS records, or NULL */
	ldns_rr_list *dnskey; /**< owned by the set; DNSKEY records, or NULL */
};

struct ta_set;

/** @return an empty set (owned by the caller: ta_free), or NULL (ENOMEM). */
struct ta_set *ta_new(void);

/** Free @p s and every record in it. NULL is a no-op. */
void ta_free(struct ta_set *s);

/**
 * Add the IANA root KSKs as DS records (root-anchors.xml, RFC 9718): key
 * tag 20326 (KSK-2017) and 38696 (KSK-2024), algorithm 8, SHA-256. Adding
 * them twice adds nothing.
 * @return 0, or -ENOMEM.
 */
int ta_add_builtin(struct ta_set *s);

/**
 * Add one DS or DNSKEY record given as presentation text, an absolute
 * owner name and class IN ("example. 3600 IN DS 12345 13 2 ab12..."; the
 * TTL and class may be left out).
 * @param err on failure, the reason ("type A is not a trust anchor (DS or
 *   DNSKEY only)"), NUL-terminated within @p errlen bytes.
 * @return 0, -EINVAL (bad record, see err) or -ENOMEM.
 */
int ta_add_str(struct ta_set *s, const char *text, char *err, size_t errlen);

/**
 * Load a trust anchor file in zone-file format ($ORIGIN, $TTL, comments,
 * parentheses and relative names, relative to "." until an $ORIGIN)
 * holding DS and/or DNSKEY records of class IN for any owner names.
 * Several files may be loaded into one set; records of one owner, from
 * any file, merge into one anchor; a record given twice is kept once.
 * All or nothing: on error the set is unchanged.
 * @param err on failure "path:line: message" (a record of another type,
 *   a record that does not parse, a DNSKEY without the zone key flag or
 *   protocol 3, a DS digest of the wrong length, $INCLUDE, a file without
 *   any record: the line is then the last one), or "path: strerror" when
 *   the file cannot be read.
 * @return 0; -EINVAL (bad content); -errno of fopen/read; -ENOMEM.
 */
int ta_load_file(struct ta_set *s, const char *path, char *err, size_t errlen);

/**
 * Add a negative trust anchor (RFC 7646): validation is not done at and
 * below @p zone (answers there are treated as insecure).
 * @return 0; -EINVAL (malformed name); -ENOMEM. Adding one twice is 0.
 */
int ta_add_negative(struct ta_set *s, const uint8_t *zone);

/** true if @p name is at or below a negative trust anchor of @p s. */
bool ta_is_negative(const struct ta_set *s, const uint8_t *name);

/**
 * The deepest anchor at or above @p name: where the chain of trust for
 * @p name starts. NULL when there is none (then @p name is insecure,
 * unless a caller wants to call it indeterminate). Negative anchors are
 * not looked at here: ask ta_is_negative() first.
 * @return a pointer into @p s, valid until ta_free(s).
 */
const struct ta_anchor *ta_closest(const struct ta_set *s, const uint8_t *name);

/** Number of anchors (zones) in @p s. */
size_t ta_count(const struct ta_set *s);

/** Anchor @p i (0 <= i < ta_count), in canonical order of zone names
 *  (the root first). @return a pointer into @p s, or NULL if out of range. */
const struct ta_anchor *ta_at(const struct ta_set *s, size_t i);

/** Number of negative trust anchors in @p s. */
size_t ta_negative_count(const struct ta_set *s);

/** Negative anchor @p i (wire, lowercased), in the order added, or NULL. */
const uint8_t *ta_negative_at(const struct ta_set *s, size_t i);

/** Write every anchor as zone-file records (DS, then DNSKEY, zone by zone),
 *  then each negative anchor as a comment line "; negative example.". */
void ta_print(FILE *out, const struct ta_set *s);

#endif
