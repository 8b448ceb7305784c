/**
 * @file infra.h
 * The infrastructure cache: what resolverd has learnt about each upstream
 * server address (not about zones' data): smoothed round-trip time and the
 * retransmission timeout derived from it (RFC 6298), timeouts, whether the
 * server handles EDNS, whether it must be asked over TCP, and for which
 * zones it is lame (answers without authority) and until when.
 *
 * Pure: no sockets, no libuv, no clock; @c now_ms (milliseconds since the
 * Unix epoch) is a parameter, as in cache.h. Keyed by (family, address);
 * an AF_INET address is the first 4 of the 16 bytes (the other 12 are
 * ignored). What an entry knows about the server (RTT, timeouts, EDNS, TCP)
 * is forgotten LIM_INFRA_TTL seconds after its last update; a lameness mark
 * lasts until the time given when it was set. An entry with neither is
 * removed. The number of entries is bounded: adding one to a full table
 * evicts the least recently used. Thread-safe (one mutex); no pointer into
 * the table escapes except during an infra_foreach() callback.
 *
 * Includes nothing from resolver/ but limits.h.
 */
#ifndef RESOLVERD_INFRA_H
#define RESOLVERD_INFRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** Default for infra_new(0). */
#define INFRA_DEFAULT_ENTRIES 10000
/** Lameness marks kept per server address; a new one replaces the mark
 *  that ends first. */
#define INFRA_LAME_MAX 8
/** Consecutive timeouts beyond this no longer double the timeout. */
#define INFRA_BACKOFF_MAX 6

/** What is known of a server's EDNS support. */
enum infra_edns {
	INFRA_EDNS_UNKNOWN = 0, /**< not tried yet: try EDNS */
	INFRA_EDNS_WORKS = 1,   /**< answered an EDNS query */
	INFRA_EDNS_BROKEN = 2,  /**< does not do EDNS: ask without OPT */
};

/** A copy of what is known about one server (infra_get). */
struct infra_info {
	bool known;         /**< an entry exists; if false, every field
	                         below holds its default */
	uint32_t srtt_ms;   /**< smoothed RTT, >= 1; 0 = unknown */
	uint32_t rttvar_ms; /**< RTT variation; 0 when unknown */
	uint32_t rto_ms;    /**< timeout for the next query: srtt + 4 *
	                         rttvar (LIM_UP_TIMEOUT_MS when unknown),
	                         clamped to [LIM_UP_TIMEOUT_MIN_MS,
	                         LIM_UP_TIMEOUT_MAX_MS], then doubled per
	                         consecutive timeout (at most
	                         INFRA_BACKOFF_MAX times), capped again at
	                         LIM_UP_TIMEOUT_MAX_MS */
	uint32_t timeouts;  /**< consecutive timeouts since the last reply */
	uint32_t timeouts_total; /**< timeouts while the entry lived */
	uint8_t edns;            /**< enum infra_edns */
	bool tcp_only;           /**< ask over TCP only */
	uint8_t cookie_len;      /**< 0, or 8 to 32: the server cookie it
	                              last sent us (RFC 7873), in cookie */
	uint8_t cookie[32];
	uint64_t updated_ms; /**< last update of the data above; 0 unknown */
	uint64_t used_ms;    /**< last time any call named this server */
};

/** One lameness mark, in an infra_entry_out. */
struct infra_lame_out {
	const uint8_t *zone; /**< lowercased wire name; valid during the
	                          callback only */
	uint64_t until_ms;
};

/** One entry as shown to an infra_foreach() callback. */
struct infra_entry_out {
	uint8_t addr[16]; /**< v4 in the first 4 bytes, rest zero */
	uint8_t family;   /**< AF_INET or AF_INET6 */
	struct infra_info info;
	unsigned nlame;
	struct infra_lame_out lame[INFRA_LAME_MAX]; /**< live marks only */
};

/** Counters; read with infra_stats(). */
struct infra_stats {
	uint64_t entries, max_entries;
	uint64_t inserts;   /**< entries created */
	uint64_t evictions; /**< removed because the table was full */
	uint64_t expiries;  /**< removed because nothing in them lived */
	uint64_t rtt_updates, timeouts, lame_marks;
};

struct infra;

/**
 * @param max_entries bound on the number of servers; 0 means
 * INFRA_DEFAULT_ENTRIES.
 * @return a new infra cache, or NULL (ENOMEM). Owned by the caller; release
 * with infra_free().
 */
struct infra *infra_new(size_t max_entries);

/** Release @p infra and everything in it. infra_free(NULL) is a no-op. */
void infra_free(struct infra *infra);

/**
 * Record a measured round trip: the first sample sets srtt = R and
 * rttvar = R/2, later ones follow RFC 6298 (alpha 1/8, beta 1/4). A reply
 * also ends a run of timeouts (timeouts = 0). Creates the entry if needed.
 * @param addr 16 bytes (borrowed); @param family AF_INET or AF_INET6.
 * @param rtt_ms the sample; values above 60000 count as 60000.
 * @return 0, -EINVAL (bad family or NULL), -ENOMEM.
 */
int infra_rtt_update(struct infra *infra, const uint8_t *addr, int family,
    uint32_t rtt_ms, uint64_t now_ms);

/**
 * Record a query to the server that timed out: one more consecutive
 * timeout, which doubles the next rto_ms. The RTT estimate is kept.
 * @return 0, -EINVAL, -ENOMEM.
 */
int infra_timeout(
    struct infra *infra, const uint8_t *addr, int family, uint64_t now_ms);

/**
 * Copy out what is known about a server (defaults if nothing: known false,
 * srtt_ms 0, rto_ms LIM_UP_TIMEOUT_MS, edns unknown).
 * @param out filled in every case but -EINVAL.
 * @return 1 known, 0 unknown, -EINVAL.
 */
int infra_get(struct infra *infra, const uint8_t *addr, int family,
    uint64_t now_ms, struct infra_info *out);

/**
 * Record whether the server answered an EDNS query (@p works true) or showed
 * it does not do EDNS (FORMERR/NOTIMP to a query with OPT, or an answer only
 * without OPT): @p works false marks it INFRA_EDNS_BROKEN.
 * @return 0, -EINVAL, -ENOMEM.
 */
int infra_set_edns(struct infra *infra, const uint8_t *addr, int family,
    bool works, uint64_t now_ms);

/** Remember the server cookie @p cookie (8 to 32 bytes; other lengths are
 *  ignored) that server @p addr sent: it goes back with the next queries.
 *  @return 0 or -ENOMEM. */
int infra_set_cookie(struct infra *infra, const uint8_t *addr, int family,
    const uint8_t *cookie, size_t len, uint64_t now_ms);

/**
 * Mark the server as to be asked over TCP only (e.g. its UDP replies are
 * always truncated), or clear the mark.
 * @return 0, -EINVAL, -ENOMEM.
 */
int infra_set_tcp(struct infra *infra, const uint8_t *addr, int family,
    bool tcp_only, uint64_t now_ms);

/**
 * Mark the server lame for @p zone (and only that zone: a lame mark for
 * "example.com" says nothing of "com") until @p until_ms. Setting it again
 * moves the end; an @p until_ms <= @p now_ms removes the mark.
 * @param zone wire name, any case (borrowed; copied lowercased).
 * @return 0, -EINVAL (bad family or malformed zone), -ENOMEM.
 */
int infra_set_lame(struct infra *infra, const uint8_t *addr, int family,
    const uint8_t *zone, uint64_t until_ms, uint64_t now_ms);

/** @return true if the server is marked lame for exactly @p zone (any case)
 *  and the mark lasts past @p now_ms. */
bool infra_is_lame(struct infra *infra, const uint8_t *addr, int family,
    const uint8_t *zone, uint64_t now_ms);

/** Callback for infra_foreach(): return 0 to go on, non-zero to stop. It
 *  runs under the infra lock and must not call infra_* functions. */
typedef int (*infra_visit_cb)(const struct infra_entry_out *e, void *arg);

/** Visit every live entry, most recently used first (dead ones are removed
 *  on the way). @return the callback's stop value or 0. */
int infra_foreach(
    struct infra *infra, uint64_t now_ms, infra_visit_cb cb, void *arg);

/** Copy the counters into @p out. */
void infra_stats(struct infra *infra, struct infra_stats *out);

#endif
