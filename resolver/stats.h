/**
 * @file stats.h
 * The counters of one resolver instance summed over every worker thread:
 * what `resolverctl stats` prints and what GET /metrics serves, from the
 * same sums (libuv side: it walks the pool's instances).
 *
 * The counters are plain uint64_t that each worker increments on its own
 * loop, without locks or atomic instructions; a reader on another thread
 * (the control socket's loop, the HTTP thread) reads them as they are, so
 * a sum is approximate by a few queries in flight, never torn on the
 * 64-bit machines resolverd runs on (aligned 8-byte loads).
 */
#ifndef RESOLVERD_STATS_H
#define RESOLVERD_STATS_H

#include <stdint.h>

#include "resolver/instance.h"
#include "resolver/pool.h"
#include "resolver/server.h"
#include "resolver/upstream.h"
#include "resolver/worker.h"

struct stats_sums {
	struct worker_stats w;
	struct up_stats up;
	struct srv_stats srv;
	uint64_t kernel_drops; /**< srv_udp_kernel_drops(): reads /proc */
};

/** Sum the counters of instance @p in and of its copies on the threads of
 *  @p pool (NULL: none): the same instance (index) on each thread. */
void stats_sum(
    struct stats_sums *s, const struct instance *in, struct pool *pool);

#endif
