/**
 * @file answer.h
 * Responses to clients, built from the cache (the hot path) or from a
 * finished resolution. Pure: no sockets, no clock, no allocation.
 *
 * Every response echoes the client's ID, opcode, RD, CD and question exactly
 * as sent; sets QR and RA; never sets AA; carries an OPT (1232, the client's
 * DO echoed) when the client sent one; and is truncated (TC set, sections
 * emptied) when it does not fit @p cap, which the caller sets to the
 * client's limit (512 without EDNS, its EDNS size up to 1232, 65535 on TCP).
 */
#ifndef RESOLVERD_ANSWER_H
#define RESOLVERD_ANSWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "resolver/iter.h"
#include "resolver/msg.h"

/**
 * Answer @p q (raw packet @p pkt) from the cache alone; *prefetch says
 * whether an entry of the answer is in the last LIM_PREFETCH_PCT % of its
 * TTL (set only on a hit).
 * @return the response length, or 0 on a cache miss.
 */
size_t ans_from_cache(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct cache *c, unsigned max_cname,
    uint64_t now_ms, bool *prefetch);

/**
 * Serve-stale (RFC 8767): answer @p q from data whose TTL ran out (see
 * cache_answer_stale for @p how), TTL LIM_STALE_TTL, EDE 3 (Stale Answer)
 * "stale answer: @p why". *refresh as hit->refresh.
 * @return the response length, or 0: nothing stale to answer with.
 */
size_t ans_from_stale(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct cache *c, unsigned max_cname,
    uint64_t now_ms, enum cache_stale how, const char *why, bool *refresh);

/** Answer @p q with the outcome of a resolution (SERVFAIL with its EDE
 *  when it failed). @return the response length (0 only if cap < 512). */
size_t ans_from_result(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, const struct iter_result *res);

/**
 * Answer a CH-class TXT (or ANY) question for its own name with one TXT
 * record holding @p text (at most 255 bytes; TTL 0, AA set), the way
 * servers answer version.bind, hostname.bind and id.server.
 * @return the response length (0 only if cap is too small).
 */
size_t ans_chaos(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, const char *text);

/**
 * Aggressive use of the DNSSEC-validated cache (RFC 8198): answer @p q
 * NXDOMAIN or NODATA when the secure NSEC records in @p nc prove it, with
 * the zone's SOA in the authority section (and the NSEC records and every
 * RRSIG for a DO client), TTL the proof's, AD as for any secure answer.
 * @p proof is scratch (large: not on a small stack).
 * @return the response length, or 0: no proof (ask the servers).
 */
size_t ans_from_nsec(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct nsec_cache *nc, uint64_t now_ms,
    struct nsec_proof *proof);

/** Scratch space of ans_norec: one per worker thread, passed in. */
struct ans_scratch {
	uint8_t ns[8192];   /**< the NS RRset of the referral */
	uint8_t addr[2048]; /**< one NS name's addresses */
};

/**
 * Answer a non-recursive query (RD=0) from the cache only: the cached
 * answer if there is one, else a referral to the deepest cached zone cut
 * (its NS set in authority, cached addresses of the NS names in additional).
 * @param hit set to true when the answer came from cached data for the
 *        question itself (an answer, NXDOMAIN or NODATA), false for a
 *        referral or an empty answer.
 * @return the response length.
 */
size_t ans_norec(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, struct cache *c, unsigned max_cname,
    uint64_t now_ms, struct ans_scratch *scratch, bool *hit);

#endif
