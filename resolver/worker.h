/**
 * @file worker.h
 * One event loop's resolution service (libuv): the hook the server hands
 * each checked query to. It answers from the cache when it can (the hot
 * path), joins a question already in flight, or starts an iterator and drives
 * it with upstream exchanges until it is done, then answers every client
 * waiting for it. It also primes the root NS set at start and before it
 * expires.
 */
#ifndef RESOLVERD_WORKER_H
#define RESOLVERD_WORKER_H

#include <stdint.h>
#include <uv.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "config/config.h"
#include "resolver/deleg.h"
#include "resolver/flight.h"
#include "resolver/iter.h"
#include "resolver/server.h"
#include "resolver/upstream.h"

#define WORKER_INFLIGHT_BUCKETS 4096
#define WORKER_COLD_CACHE       (4u << 20) /**< bytes of a --cold trace's cache */

struct wreq;

/** Called once when a traced resolution ends, with the finished request
 *  (its trace and result); @p r is freed right after the call. */
typedef void (*worker_trace_cb)(void *arg, const struct iter_req *r);

struct worker_stats {
	uint64_t queries; /**< handed by the server */
	uint64_t cache_hits, cache_misses;
	uint64_t norec;           /**< RD=0 answered from cache */
	uint64_t joined;          /**< joined a question in flight */
	uint64_t resolutions;     /**< iterators started for clients */
	uint64_t ignored_replies; /**< spoof check failures */
	uint64_t rcode[6];        /**< answers by rcode 0..5 */
	uint64_t servfail_limit;  /**< SERVFAIL because a limit was hit */
	uint64_t servfail_other;
	uint64_t primes;
	uint64_t parked; /**< joined a question another worker
	                      was resolving */
};

struct worker {
	uv_loop_t *loop;
	struct srv *srv;       /**< borrowed */
	const struct cfg *cfg; /**< borrowed; swapped on reload */
	struct cache *cache;   /**< borrowed */
	struct infra *infra;   /**< borrowed */
	struct iter_env env;
	struct iter_forward forwards[ITER_MAX_FORWARDS]; /**< from cfg */
	char tag[40];            /**< "" or "tier NAME: ", in logs */
	struct flights *flights; /**< borrowed; shared by the
	                              workers of one instance */
	int findex;              /**< index in flights, or -1 */
	uv_async_t wake;         /**< a question we wait on ended */
	struct wreq *parked;     /**< waiting on other workers */
	struct wreq *inflight[WORKER_INFLIGHT_BUCKETS];
	struct wreq *traces; /**< traced resolutions */
	unsigned ninflight;
	uv_timer_t prime_timer; /**< prime_timer.data = this */
	struct wreq *prime;     /**< the priming request, if running */
	uint64_t clock_base_ms; /**< realtime - uv_now at start */
	bool closing;
	struct worker_stats stats;
	struct up_stats up;
};

/** Set up @p w on @p loop with the root @p hints (borrowed, like the rest),
 *  register the hook on @p srv, and, if @p prime, keep the root NS set
 *  primed in the cache. */
void worker_init(struct worker *w, uv_loop_t *loop, struct srv *srv,
    const struct cfg *cfg, struct cache *cache, struct infra *infra,
    const struct deleg_hints *hints, bool prime);

/** Use @p cfg and @p hints from now on (limits, TTLs, QNAME minimisation). */
void worker_set_config(
    struct worker *w, const struct cfg *cfg, const struct deleg_hints *hints);

/**
 * Resolve @p qname/@p qtype now, outside the join table, and call @p cb with
 * the finished request. With @p cold, the resolution uses a private empty
 * cache (WORKER_COLD_CACHE bytes), so the shared cache is neither read nor
 * changed. If the worker closes first, @p cb sees a SERVFAIL "shutting down".
 * @return 0, -EINVAL, -EBUSY (too many in flight) or -ENOMEM.
 */
int worker_trace(struct worker *w, const uint8_t *qname, uint16_t qtype,
    bool cold, worker_trace_cb cb, void *arg);

/** Join questions in flight with the other workers sharing @p f (call
 *  once, after worker_init, on the worker's loop thread). */
void worker_share_flights(struct worker *w, struct flights *f);

/** Stop: cancel in-flight resolutions (their clients are dropped), close
 *  the timer. */
void worker_close(struct worker *w);

/** Milliseconds since the epoch, from the loop's clock. */
uint64_t worker_now(const struct worker *w);

#endif
