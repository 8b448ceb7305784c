/**
 * @file worker.h
 * One event loop's resolution service (libuv): the hook the server hands
 * each checked query to. It answers from the cache when it can (the hot
 * path); otherwise it joins the question's flight (resolver/flight.h),
 * shared by the worker threads of one resolver: the first worker to ask
 * owns the flight and drives an iterator with upstream exchanges; when it
 * is done it publishes the result and every waiting client, on every
 * worker, is answered from that one result. It also primes the root NS set
 * at start and before it expires.
 *
 * Every resolution has a hard deadline (limits.max_time_ms, on the loop's
 * monotonic clock): whatever its exchanges do, it ends then with SERVFAIL.
 */
#ifndef RESOLVERD_WORKER_H
#define RESOLVERD_WORKER_H

#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "config/config.h"
#include "resolver/answer.h"
#include "resolver/deleg.h"
#include "resolver/flight.h"
#include "resolver/anchors.h"
#include "resolver/counters.h"
#include "resolver/iter.h"
#include "resolver/server.h"
#include "resolver/upstream.h"

#define WORKER_COLD_CACHE (4u << 20) /**< bytes of a --cold trace's cache */
/** Resolutions at once after which, when none is left, the heap is
 *  trimmed (malloc_trim) so a burst's memory goes back to the system. */
#define WORKER_TRIM_AFTER 64

struct wreq;
struct wwait;

/** What the configuration's files give every worker, loaded at start and
 *  at each reload, read-only while in use: the root hints and the DNSSEC
 *  trust anchors. */
struct worker_tables {
	struct deleg_hints hints;
	struct ta_set *anchors; /**< owned; NULL: no validation */
};

/** Called once when a traced resolution ends, with the finished request
 *  (its trace and result); @p r is freed right after the call. */
typedef void (*worker_trace_cb)(void *arg, const struct iter_req *r);

/** The counters of a worker, as a list: X(field, "name in stats"). Every
 *  client query the hook sees is counted once in queries, once in
 *  cache_hits or cache_misses, and once by its answer's rcode. */
#define WORKER_STATS(X)                                \
	X(queries, "queries.resolver")                 \
	X(cache_hits, "cache.hits")                    \
	X(cache_misses, "cache.misses")                \
	X(norec, "norec")                              \
	X(resolutions, "resolutions")                  \
	X(joined, "joined")                            \
	X(joined_other, "joined.other_worker")         \
	X(ignored_replies, "upstream.spoofed_ignored") \
	X(servfail_limit, "servfail.limit")            \
	X(servfail_other, "servfail.other")            \
	X(deadline, "servfail.deadline")               \
	X(overloaded, "servfail.overloaded")           \
	X(primes, "primes")                            \
	X(prefetches, "prefetches")                    \
	X(stale_answers, "answers.stale")              \
	X(stale_refreshes, "stale.refreshes")          \
	X(nsec_answers, "answers.aggressive_nsec")     \
	X(val_secure, "validation.secure")             \
	X(val_insecure, "validation.insecure")         \
	X(val_bogus, "validation.bogus")

/** The limits a resolution can hit (its SERVFAIL reason "limit NAME ..."),
 *  counted by name; any other is counted as "other". */
#define WORKER_LIMITS(X) \
	X(max_sends)     \
	X(max_glueless)  \
	X(max_cname)     \
	X(max_depth)     \
	X(max_time_ms)
#define WORKER_NLIMITS 6 /**< the five above and "other" */

/** Answer latency buckets (upper bounds, in seconds, for the metrics),
 *  one row per bucket; the last, +Inf, is implied. */
#define WORKER_LAT_BUCKETS(X) \
	X(0.00005)            \
	X(0.0001)             \
	X(0.00025)            \
	X(0.0005)             \
	X(0.001)              \
	X(0.0025)             \
	X(0.005)              \
	X(0.01)               \
	X(0.025)              \
	X(0.05)               \
	X(0.1)                \
	X(0.25)               \
	X(0.5)                \
	X(1)                  \
	X(2.5)                \
	X(5)                  \
	X(10)
#define WORKER_NLAT (17 + 1) /**< the buckets above and +Inf */

/** One in this many cache hits is timed for the hit latency histogram
 *  (a power of two): two clock reads per hit would cost more than the
 *  rest of the hit path's bookkeeping. The query counter picks them. */
#define WORKER_HIT_SAMPLE      64
#define WORKER_HIT_SAMPLE_TEXT "64"

/** A latency histogram: counts per bucket (not cumulative), and the sum. */
struct worker_lat {
	counter_t bucket[WORKER_NLAT];
	counter_t sum_ns;
};

/** The EDE codes counted one by one (RFC 8914 and its registry go up to
 *  30); a higher one is counted in the last slot. */
#define WORKER_EDE_MAX 32

/* counters: see counters.h */
struct worker_stats {
#define WORKER_STAT_FIELD(f, n) counter_t f;
	WORKER_STATS(WORKER_STAT_FIELD)
#undef WORKER_STAT_FIELD
	counter_t rcode[6]; /**< answers by rcode 0..5 */
	/* (those over TCP: srv_stats.rcode_tcp) */
	counter_t ede[WORKER_EDE_MAX];   /**< EDE options sent, by code */
	counter_t limit[WORKER_NLIMITS]; /**< limit hits, WORKER_LIMITS
	                                             order */
	struct worker_lat lat_hit;       /**< sampled cache hits (RD=1) */
	struct worker_lat lat_miss;      /**< answers after a resolution */
};

struct worker {
	uv_loop_t *loop;
	struct srv *srv;       /**< borrowed */
	const struct cfg *cfg; /**< borrowed; swapped on reload */
	struct cache *cache;   /**< borrowed */
	struct infra *infra;   /**< borrowed */
	struct iter_env env;
	struct nsec_cache *nsec;      /**< borrowed; env.nsec while in use */
	struct nsec_proof nsec_proof; /**< scratch of ans_from_nsec */
	struct iter_forward forwards[ITER_MAX_FORWARDS]; /**< from cfg */
	char tag[40];            /**< "" or "tier NAME: ", in logs */
	struct flights *flights; /**< borrowed; shared by the workers of
	                              one instance: the join table */
	int findex;              /**< index in flights */
	uv_async_t wake;         /**< a flight we wait on was published */
	struct wwait *waits;     /**< clients waiting for flights */
	struct wreq *owned;      /**< resolutions this worker drives */
	unsigned nowned;
	unsigned peak_owned;    /**< most at once since the last trim */
	uv_timer_t trim_timer;  /**< trim_timer.data = this */
	uv_timer_t prime_timer; /**< prime_timer.data = this */
	struct wreq *prime;     /**< the priming request, if running */
	bool closing;
	struct worker_stats stats;
	struct up_stats up;
	struct ans_scratch ans;      /**< scratch of ans_norec */
	struct iter_scratch scratch; /**< scratch of the iterator */
	struct val_keys keys;        /**< DNSSEC keys kept between checks */
	/** Random bytes from the kernel, drawn 1 KiB at a time:
	 *  every upstream query takes a few (ID, port, 0x20 case), and one
	 *  getrandom() a query was two system calls a miss. */
	uint8_t rnd[1024];
	unsigned rnd_left;  /**< unused bytes at the end of rnd */
	uv_timer_t beat;    /**< sets alive_ms every second */
	counter_t alive_ms; /**< CLOCK_MONOTONIC ms of the loop's
	                                last beat: read by the health
	                                check, from another thread */
};

/** Set up @p w on @p loop with the root hints and anchors of @p tab
 *  (borrowed, like the rest),
 *  joining questions through @p flights (shared by the instance's workers),
 *  register the hook on @p srv, and, if @p prime, keep the root NS set
 *  primed in the cache. @return 0, or -ENOMEM (flights full). */
int worker_init(struct worker *w, uv_loop_t *loop, struct srv *srv,
    const struct cfg *cfg, struct cache *cache, struct infra *infra,
    struct flights *flights, const struct worker_tables *tab, bool prime);

/** Use @p cfg and @p tab from now on (limits, TTLs, QNAME minimisation). */
/** The instance's aggressive NSEC cache (@p nc, borrowed; NULL: none):
 *  kept and answered from while the configuration validates and has
 *  dnssec.aggressive_nsec. */
void worker_set_nsec(struct worker *w, struct nsec_cache *nc);

void worker_set_config(
    struct worker *w, const struct cfg *cfg, const struct worker_tables *tab);

/**
 * Resolve @p qname/@p qtype now, outside the join table, and call @p cb with
 * the finished request. With @p cold, the resolution uses a private empty
 * cache (WORKER_COLD_CACHE bytes), so the shared cache is neither read nor
 * changed. If the worker closes first, @p cb sees a SERVFAIL "shutting down".
 * @return 0, -EINVAL, -EBUSY (too many in flight) or -ENOMEM.
 */
int worker_trace(struct worker *w, const uint8_t *qname, uint16_t qtype,
    bool cold, worker_trace_cb cb, void *arg);

/** Stop: end every resolution this worker drives (its flights are
 *  published as SERVFAIL, so other workers' clients are answered), drop
 *  the clients still waiting here, close the handles. */
void worker_close(struct worker *w);

/** Milliseconds since the epoch, from the wall clock, read now: TTLs,
 *  cache ages and dump times follow the clock even when it is stepped. */
uint64_t worker_now(const struct worker *w);

/** The milliseconds of CLOCK_MONOTONIC, as alive_ms holds them. */
uint64_t worker_mono_ms(void);

/** The name of limit @p i (WORKER_LIMITS order; the last is "other"). */
const char *worker_limit_name(unsigned i);

/** Add @p src's counters to @p dst. */
void worker_stats_add(struct worker_stats *dst, const struct worker_stats *src);

#endif
