/**
 * @file nsec.h
 * The store behind aggressive use of DNSSEC-validated NSEC records (RFC
 * 8198): NSEC records that validated secure, and the SOA of their zone,
 * kept per zone in canonical order, so that a question whose answer they
 * already prove absent (NXDOMAIN, NODATA) is answered without asking the
 * authoritative servers. NSEC only: NSEC3 is out of scope.
 *
 * Pure, like cache.h: no sockets, no libuv, no ldns, no clock. Time is the
 * parameter @c now_ms (milliseconds since the Unix epoch); a record stored
 * with TTL T at now_ms is live while now_ms < stored + T*1000, and proofs
 * carry ceil(remaining seconds), at most T. Records are copied in on store
 * and the proof is copied out: no pointer into the store escapes.
 * Thread-safe: every call takes the store's one mutex, for a tree search
 * and a copy; nothing is allocated while it is held.
 *
 * Trust: everything handed to the put functions must have validated
 * secure (RFC 4035 5.3) as the caller found; the store checks form and
 * order (names, the NSEC RDATA and its type bitmap, the RRSIG rdata lists,
 * owner and next name inside the zone, in canonical order) but verifies no
 * signature.
 *
 * Wire formats as in cache.h: names are uncompressed wire names (any case
 * on input; owners are stored lowercased, RDATA exactly as given, since
 * its signature covers it); an "rdata list" is @c n records of [u16
 * rdlength, network order][rdata], concatenated. Class IN only.
 */
#ifndef RESOLVERD_NSEC_H
#define RESOLVERD_NSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/limits.h"

/** NSEC records kept per zone: a zone at the cap loses its least recently
 *  used record for each new one, so one zone walked by a client cannot
 *  take the whole store. */
#define LIM_NSEC_PER_ZONE 10000

/** Largest RDATA stored (an NSEC: the next name, at most 255 bytes, and
 *  type bitmaps, a few dozen bytes in practice; an SOA: at most 530).
 *  Larger is refused (-E2BIG). */
#define NSEC_RDATA_MAX 1024
/** Largest RRSIG rdata list stored with one record (two RSA-4096
 *  signatures with long signer names fit). Larger is refused (-E2BIG). */
#define NSEC_SIGS_MAX 2048
/** NSEC records in one proof: the one that covers (or matches) the name,
 *  and the one that covers the wildcard of the closest encloser. */
#define NSEC_PROOF_MAX 2

/** One record of a proof, copied out of the store. */
struct nsec_proof_rr {
	uint8_t owner[LIM_NAME_MAX]; /**< lowercased wire name */
	uint8_t owner_len;
	uint32_t ttl;                  /**< remaining seconds, ceil, >= 1 */
	uint16_t rdlen;                /**< bytes of @c rdata */
	uint8_t rdata[NSEC_RDATA_MAX]; /**< as stored (the signed form) */
	uint16_t nsig;                 /**< RRSIGs in @c sigs */
	uint16_t sigs_len;             /**< bytes of @c sigs */
	uint8_t sigs[NSEC_SIGS_MAX];   /**< RRSIG rdata list */
};

/** A negative answer proven from the store (nsec_cache_prove). */
struct nsec_proof {
	int rcode;    /**< DNS_RCODE_NXDOMAIN, or DNS_RCODE_NOERROR (NODATA) */
	uint32_t ttl; /**< the smallest remaining TTL of every record in
	                   the proof, the SOA included: the TTL of the
	                   synthesised answer (RFC 8198 5.4) */
	uint8_t zone[LIM_NAME_MAX]; /**< the zone apex (lowercased) */
	uint8_t zone_len;
	struct nsec_proof_rr soa; /**< the zone's SOA (owner: the apex) */
	unsigned nnsec;           /**< 1 or 2 NSEC records in @c nsec */
	/** NXDOMAIN: [0] covers the name, [1] covers the wildcard of the
	 *  closest encloser (absent when [0] covers both). NODATA: [0] is
	 *  owned by the name, or covers it with a next name below it (the
	 *  name is an empty non-terminal). */
	struct nsec_proof_rr nsec[NSEC_PROOF_MAX];
};

/** Counters; read with nsec_cache_stats(). */
struct nsec_cache_stats {
	uint64_t zones;     /**< zones held */
	uint64_t records;   /**< NSEC records held (SOAs not counted) */
	uint64_t bytes;     /**< accounted bytes, never above max_bytes */
	uint64_t max_bytes; /**< the budget given to nsec_cache_new() */
	uint64_t proofs;    /**< nsec_cache_prove() calls that proved */
	uint64_t misses;    /**< nsec_cache_prove() calls that did not */
	uint64_t stores;    /**< records and SOAs stored */
	uint64_t evictions; /**< records and zones removed for space or for
	                         the per-zone cap */
	uint64_t expiries;  /**< records and SOAs removed because dead */
};

struct nsec_cache;

/** @return a new store of at most @p max_bytes (malloc_usable_size of
 *  every block plus malloc's header, as cache.c counts, and the zone
 *  table: one bucket per KiB), or NULL with errno ENOMEM, or EINVAL when
 *  @p max_bytes cannot hold even the smallest table (136 bytes). Release
 *  with nsec_cache_free(). */
struct nsec_cache *nsec_cache_new(size_t max_bytes);

/** Free the store and everything in it; NULL is a no-op. */
void nsec_cache_free(struct nsec_cache *nc);

/**
 * Remember one secure NSEC record of zone @p zone: its owner @p owner (wire,
 * any case), its RDATA @p rdata (the next domain name, uncompressed, then
 * the type bitmaps) of @p rdlen bytes, @p ttl seconds (the caller has
 * already taken min(NSEC TTL, SOA MINIMUM, SOA TTL) as RFC 8198 5.4 and RFC
 * 9077 ask, and applied its own caps; a TTL with the top bit set counts as
 * 0, RFC 2181 8), and its @p nsig RRSIGs as an rdata list (@p sigs, @p
 * sigs_len bytes; at least one, each covering type NSEC), at @p now_ms.
 *
 * Refused with -EINVAL: a malformed name, next name, type bitmap (RFC 4034
 * 4.1.2: window blocks in ascending order, each 1..32 bytes, filling the
 * RDATA exactly) or rdata list; a bitmap without the NSEC type (RFC 4035
 * 2.3), or with SOA at a name other than the apex; an RRSIG that does not
 * cover NSEC; an owner or next name not at or under @p zone; a next name that
 * does not follow the owner in canonical order (RFC 4034 6.1), except the
 * last NSEC of the zone, whose next name is the apex.
 *
 * The same owner again (in the same zone) replaces the old record. A zone
 * at LIM_NSEC_PER_ZONE records loses its least recently used one; a store
 * that does not fit evicts the least recently used records, zone by zone
 * (the least recently used zone first).
 * @return 1 stored, 0 nothing stored (TTL 0), -EINVAL, -E2BIG (rdata over
 * NSEC_RDATA_MAX, sigs over NSEC_SIGS_MAX, or larger than the whole
 * budget), -ENOMEM.
 */
int nsec_cache_put(struct nsec_cache *nc, const uint8_t *zone,
    const uint8_t *owner, const uint8_t *rdata, size_t rdlen, uint32_t ttl,
    const uint8_t *sigs, size_t sigs_len, uint16_t nsig, uint64_t now_ms);

/**
 * Remember the SOA of zone @p zone (its owner is the apex): its RDATA
 * (@p rdata, @p rdlen bytes: MNAME, RNAME, five 32-bit fields), @p ttl
 * seconds and its @p nsig RRSIGs (rdata list, each covering type SOA), at
 * @p now_ms. A synthesised negative answer carries it in its authority
 * section, and a zone is used for proofs only while its SOA is live.
 * A new SOA replaces the old one.
 * @return as nsec_cache_put().
 */
int nsec_cache_put_soa(struct nsec_cache *nc, const uint8_t *zone,
    const uint8_t *rdata, size_t rdlen, uint32_t ttl, const uint8_t *sigs,
    size_t sigs_len, uint16_t nsig, uint64_t now_ms);

/**
 * Does the store prove (@p qname, @p qtype) absent at @p now_ms? The zone
 * used is the deepest stored zone at or above @p qname (for DS: at or above
 * the parent of @p qname, since DS lives on the parent side of a cut) that
 * has a live SOA. No proof at all for a name with a stored ancestor (inside
 * the zone) whose NSEC says it is a delegation (NS set, SOA clear) or has a
 * DNAME: the name is then below a cut or redirected (RFC 4035 5.4, RFC 6840
 * 4.1, RFC 6672 5.3.4.1). Then:
 *  - NODATA (rcode 0): an NSEC owned by @p qname whose bitmap has neither
 *    @p qtype nor CNAME. At a delegation (NS set, SOA clear) that proves
 *    only DS absent; for DS, an NSEC with the SOA bit (a child apex) proves
 *    nothing. Never for ANY, NSEC or RRSIG.
 *  - NODATA for an empty non-terminal: an NSEC that covers @p qname and
 *    whose next name is below @p qname (the name exists, without data).
 *  - NXDOMAIN (rcode 3): an NSEC that covers @p qname (owner < qname <
 *    next in canonical order, or owner < qname for the last NSEC of the
 *    zone, whose next is the apex), and an NSEC that covers *.CE, where CE,
 *    the closest encloser, is the longest ancestor of @p qname that is an
 *    ancestor of that NSEC's owner or next name (RFC 4035 5.4, RFC 8198
 *    5.1). Both may be the same record. A wildcard that exists (an NSEC
 *    owned by *.CE, or by a name below it) means no proof.
 * Expired records met on the way are removed. The zone and the records
 * used become the most recently used. No allocation.
 * @return 1 proven (@p out filled), 0 no proof (ask the servers; @p out
 * undefined), -EINVAL a malformed @p qname.
 */
int nsec_cache_prove(struct nsec_cache *nc, const uint8_t *qname,
    uint16_t qtype, uint64_t now_ms, struct nsec_proof *out);

/**
 * Forget zone @p zone and every zone below it; and in the zones above it,
 * the records owned by @p zone or a name below it and the record that
 * covers @p zone (so that a name that has just been created is not denied
 * from the parent's old chain).
 */
void nsec_cache_flush_zone(struct nsec_cache *nc, const uint8_t *zone);

/** Forget everything. */
void nsec_cache_flush_all(struct nsec_cache *nc);

/** Copy the counters. */
void nsec_cache_stats(struct nsec_cache *nc, struct nsec_cache_stats *out);

/**
 * Is @p type in the NSEC type bitmap @p bm of @p len bytes (RFC 4034
 * 4.1.2)? A malformed bitmap answers false for the blocks from the first
 * malformed one on.
 */
bool nsec_bitmap_has(const uint8_t *bm, size_t len, uint16_t type);

/** Is @p bm (@p len bytes) a well-formed type bitmap: at least one window
 *  block, windows in ascending order, each bitmap 1..32 bytes, exactly
 *  filling @p len? */
bool nsec_bitmap_ok(const uint8_t *bm, size_t len);

#endif
