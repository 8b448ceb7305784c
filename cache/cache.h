/**
 * @file cache.h
 * The record cache: positive RRsets (with their RRSIGs beside them), negative
 * answers (NXDOMAIN for a name, NODATA for a name and type) and delegations
 * (NS RRsets plus the A/AAAA RRsets of the NS names, at glue rank or better).
 *
 * Pure: no sockets, no libuv, no clock. Time is the parameter @c now_ms,
 * milliseconds since the Unix epoch, supplied by the caller; an entry stored
 * with TTL T at now_ms is live while now_ms < stored + T*1000 and answers
 * carry ceil(remaining seconds). Keys are (name, type, class) compared
 * case-insensitively (names are stored lowercased). Entries are copied in on
 * store and copied out on lookup: no pointer into the cache ever escapes, so
 * entries can be evicted at any time. Thread-safe: the cache is split into
 * shards, each behind its own mutex, held only for a lookup or a copy.
 *
 * Memory: the cache never holds more than its byte budget (malloc_usable_size
 * of every entry plus table overhead); a store that would exceed it evicts the
 * least recently used entries of that shard first.
 *
 * Wire formats used in this API:
 *  - a name is uncompressed wire format (length-prefixed labels ending in 0);
 *  - an "rdata list" is @c n records, each [u16 rdlength, network
 * order][rdata], concatenated, with every domain name inside rdata
 * uncompressed.
 */
#ifndef RESOLVERD_CACHE_H
#define RESOLVERD_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/dns.h"

/** What an entry is. */
enum cache_kind {
	CACHE_RRSET = 0,    /**< a positive RRset */
	CACHE_NXDOMAIN = 1, /**< the name does not exist (key type is 0) */
	CACHE_NODATA = 2,   /**< the name exists, the type does not */
};

/** Trust of the data (RFC 2181 5.4.1), low to high. A store never replaces
 *  a live entry of higher rank. Only ranks >= CACHE_RANK_ANSWER_MIN are handed
 *  to clients as answers; glue and referral NS sets serve the iterator only. */
enum cache_rank {
	CACHE_RANK_GLUE = 1,     /**< additional section, glue */
	CACHE_RANK_REFERRAL = 2, /**< authority section of a referral */
	CACHE_RANK_NONAUTH_ANSWER =
	    3, /**< answer from a forwarder (RA, not AA) */
	CACHE_RANK_AUTH_AUTHORITY = 4, /**< authority section of an AA answer */
	CACHE_RANK_AUTH_ANSWER = 5,    /**< answer section of an AA answer */
	CACHE_RANK_PRIMED = 6, /**< root NS set from priming, and local data */
};
#define CACHE_RANK_ANSWER_MIN CACHE_RANK_NONAUTH_ANSWER

/** What DNSSEC validation says of an entry (RFC 4033 5). */
enum cache_sec {
	CACHE_SEC_INSECURE = 0,  /**< not validated (validation off) or proven
	                              insecure: served, without AD */
	CACHE_SEC_SECURE = 1,    /**< validated: AD when the client asks */
	CACHE_SEC_BOGUS = 2,     /**< failed validation: kept at most
	                              LIM_BOGUS_TTL s; served only to a client
	                              that set CD, else a SERVFAIL with its EDE */
	CACHE_SEC_UNCHECKED = 3, /**< stored before validation: never served
	                              to clients (a miss for them); the
	                              iterator and the validator may use it */
};

/** Most bytes of the reason kept with a bogus entry. */
#define CACHE_WHY_MAX 200

/** The type key of an NXDOMAIN entry. */
#define CACHE_TYPE_NXDOMAIN 0

/** What the caller hands to cache_store(). All pointers are borrowed. */
struct cache_rrset_in {
	const uint8_t *owner; /**< wire name (any case) */
	uint16_t type;        /**< RR type; 0 for CACHE_NXDOMAIN */
	uint16_t rclass;
	uint8_t kind; /**< enum cache_kind */
	uint8_t rank; /**< enum cache_rank */
	uint32_t ttl; /**< seconds, as received (the cache clamps) */
	uint16_t
	    nrr; /**< records in @c rdata; for negative kinds: 1 (the SOA) */
	const uint8_t
	    *rdata; /**< rdata list; for negative kinds the SOA's rdata */
	size_t rdata_len;
	uint16_t nsig; /**< RRSIGs covering this RRset (rdata list) */
	const uint8_t *sigs;
	size_t sigs_len;
	const uint8_t *soa_owner; /**< negative kinds: the SOA's owner (zone) */
	/** server the data came from (v4 in the first 4 bytes) */
	uint8_t source[16];
	uint8_t source_family; /**< AF_INET, AF_INET6, or 0 (unknown/loaded) */
	uint8_t sec;           /**< enum cache_sec */
	bool cut;        /**< a DS absence proven at a zone cut (an insecure
	                      delegation), as the validator found */
	uint16_t ede;    /**< bogus: the Extended DNS Error code; insecure:
	                      0, or the EDE that says why (1, 2, 27) */
	const char *why; /**< the reason of a bogus entry or of ede (NULL or
	                      text, cut to CACHE_WHY_MAX bytes) */
	/** The proof that goes into the authority section of a DO answer:
	 *  NSEC/NSEC3 records and their RRSIGs (of a negative answer, or of a
	 *  wildcard expansion), as @c nproof full uncompressed RRs (owner,
	 *  type, class, TTL, rdlength, rdata). */
	const uint8_t *proof;
	size_t proof_len;
	uint16_t nproof;
};

/** An entry copied out of the cache (cache_get, cache_foreach). Pointers
 *  point into the caller's buffer (cache_get) or are valid only during the
 *  callback (cache_foreach). */
struct cache_rrset_out {
	const uint8_t *owner; /**< lowercased wire name */
	uint16_t type, rclass;
	uint8_t kind, rank;
	uint32_t ttl;       /**< remaining seconds, ceil, >= 1 */
	uint32_t orig_ttl;  /**< clamped TTL it was stored with */
	uint64_t stored_ms; /**< when it was stored */
	uint32_t hits;      /**< times served to clients */
	uint16_t nrr;
	const uint8_t *rdata;
	size_t rdata_len;
	uint16_t nsig;
	const uint8_t *sigs;
	size_t sigs_len;
	const uint8_t *soa_owner; /**< negative kinds, else NULL */
	uint8_t source[16];
	uint8_t source_family;
	uint8_t sec; /**< enum cache_sec */
	bool cut;
	uint16_t ede;
	const char *why; /**< NUL-terminated ("" when none) */
	const uint8_t *proof;
	size_t proof_len;
	uint16_t nproof;
};

/** TTL and size policy, applied on store. */
struct cache_policy {
	uint32_t min_ttl; /**< raise smaller TTLs to this (positive only) */
	uint32_t max_ttl; /**< cap positive TTLs */
	uint32_t negative_ttl; /**< cap negative TTLs */
	uint32_t serve_stale;  /**< s an expired entry is kept for
	                            cache_answer_stale (RFC 8767); 0 off */
	uint32_t max_entries;  /**< 0: bounded by bytes only; else also by
	                            entries (split evenly over the shards,
	                            which are fewer for small bounds, so the
	                            bound is approximate: LRU per shard) */
};

/** Counters; read with cache_stats(). */
struct cache_stats {
	uint64_t entries, bytes, max_bytes;
	uint64_t stores, replaced, kept; /**< kept: refused, lower rank */
	uint64_t evictions;              /**< removed for space */
	uint64_t expiries;               /**< removed because dead */
	uint64_t hits, misses;           /**< of cache_answer() */
};

/** One query's answer written by cache_answer(). */
struct cache_hit {
	uint16_t ancount;
	uint16_t nscount;
	uint8_t rcode; /**< 0 NOERROR (answer or NODATA), 3 NXDOMAIN */
	bool secure;   /**< every entry written is CACHE_SEC_SECURE */
	bool bogus;    /**< the answer is bogus and the client did not set
	                    CD: nothing was written; answer SERVFAIL with: */
	uint16_t ede;  /**< bogus: the EDE code; not bogus: an EDE for the
	                    client's information (an insecure answer's reason,
	                    as stored); 0 none */
	char why[CACHE_WHY_MAX + 1]; /**< the reason of ede ("" when none) */
	bool stale;   /**< cache_answer_stale: an expired entry was used */
	bool refresh; /**< cache_answer: an entry written is in the last
	                   LIM_PREFETCH_PCT % of its TTL (prefetch it);
	                   cache_answer_stale(CACHE_STALE_HELD): an entry's
	                   hold ran out (refresh it in the background; the
	                   hold was renewed) */
};

struct cache;

/** @return a new cache of at most @p max_bytes, or NULL (ENOMEM). Owned by
 *  the caller; release with cache_free(). */
struct cache *cache_new(uint64_t max_bytes, const struct cache_policy *policy);
/** cache_free(NULL) is a no-op. */
void cache_free(struct cache *c);
/** Replace the TTL policy (on reload); entries already stored keep theirs. */
void cache_set_policy(struct cache *c, const struct cache_policy *policy);

/**
 * Store (a copy of) an RRset or a negative answer.
 * @return 1 stored, 0 kept the existing live entry (it has a higher rank),
 * -EINVAL malformed input, -E2BIG bigger than a shard's budget, -ENOMEM.
 */
int cache_store(
    struct cache *c, const struct cache_rrset_in *in, uint64_t now_ms);

/**
 * Copy the live entry for (name, type, class) into @p buf.
 * For type CACHE_TYPE_NXDOMAIN this looks up the name's NXDOMAIN entry.
 * @return 1 found (out filled, pointing into buf), 0 none or expired,
 * -ENOSPC buf too small.
 */
int cache_get(struct cache *c, const uint8_t *name, uint16_t type,
    uint16_t rclass, uint64_t now_ms, struct cache_rrset_out *out, uint8_t *buf,
    size_t buflen);

/**
 * The hot path: write the answer and authority records for a client question
 * straight from the cache, with TTLs set to what remains. Follows CNAME
 * chains (at most @p max_cname links) through the cache; answers only from
 * entries of rank >= CACHE_RANK_ANSWER_MIN that are not CACHE_SEC_UNCHECKED.
 * @p out is the position right after the question in the response; the
 * question's name must be at offset 12 of the response, so owners equal to
 * @p qname are written as the compression pointer 0xC00C. With
 * @p want_sigs (DO), RRSIGs are written beside their RRsets and the proof
 * of the last entry (NSEC/NSEC3) into the authority section. A bogus entry
 * on the way makes the answer bogus (hit->bogus, nothing written) unless
 * @p cd. hit->secure says whether every entry written was secure.
 * No allocation, no ldns.
 * @return 1 hit (hit and *len filled), 0 miss (nothing usable; a partial CNAME
 * chain is a miss), -ENOSPC the answer does not fit in @p cap.
 */
int cache_answer(struct cache *c, const uint8_t *qname, uint16_t qtype,
    uint16_t qclass, bool want_sigs, bool cd, unsigned max_cname,
    uint64_t now_ms, uint8_t *out, size_t cap, size_t *len,
    struct cache_hit *hit);

/** How cache_answer_stale may use expired entries. */
enum cache_stale {
	/** only entries answered stale before (after a failed resolution)
	 *  whose refresh hold has not run out; one whose hold ran out is
	 *  answered too, its hold renewed, and hit->refresh set, so that one
	 *  caller refreshes it, at most once per LIM_STALE_RETRY s */
	CACHE_STALE_HELD,
	/** a resolution just failed: any entry still in the window; each
	 *  expired entry used is held for LIM_STALE_RETRY s */
	CACHE_STALE_AFTER_FAIL,
};

/**
 * Serve-stale (RFC 8767): cache_answer_n() that may also use entries whose
 * TTL ran out less than cache_policy.serve_stale seconds ago, written with
 * TTL LIM_STALE_TTL (live entries on the way keep theirs); never bogus
 * entries, nothing at all when serve_stale is 0. hit->stale says whether an
 * expired entry was used.
 * @return as cache_answer_n.
 */
int cache_answer_stale(struct cache *c, const uint8_t *qname, size_t qname_len,
    uint16_t qtype, uint16_t qclass, bool want_sigs, unsigned max_cname,
    uint64_t now_ms, enum cache_stale how, uint8_t *out, size_t cap,
    size_t *len, struct cache_hit *hit);

/** cache_answer() for a name whose wire length the caller has already
 *  measured and checked (msg_check_query does): @p qname_len bytes, the
 *  last one the root label. Saves walking the labels again. */
int cache_answer_n(struct cache *c, const uint8_t *qname, size_t qname_len,
    uint16_t qtype, uint16_t qclass, bool want_sigs, bool cd,
    unsigned max_cname, uint64_t now_ms, uint8_t *out, size_t cap, size_t *len,
    struct cache_hit *hit);

/** Callback for cache_foreach(): return 0 to go on, non-zero to stop. */
typedef int (*cache_visit_cb)(const struct cache_rrset_out *e, void *arg);

/** Visit every live entry, one shard at a time (each shard's lock is held
 *  only while that shard is visited). @return the callback's stop value or 0.
 */
int cache_foreach(
    struct cache *c, uint64_t now_ms, cache_visit_cb cb, void *arg);

/** Remove entries. A @p type of 0 removes every type of the name (and its
 *  NXDOMAIN entry). @return entries removed. */
size_t cache_flush_name(struct cache *c, const uint8_t *name, uint16_t type);
/** Remove the name and everything below it. @return entries removed. */
size_t cache_flush_zone(struct cache *c, const uint8_t *zone);
/** Remove all negative entries. @return entries removed. */
size_t cache_flush_negative(struct cache *c);
/** Remove everything. @return entries removed. */
size_t cache_flush_all(struct cache *c);

void cache_stats(struct cache *c, struct cache_stats *out);

#endif
