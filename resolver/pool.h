/**
 * @file pool.h
 * The other worker threads (libuv). The main thread runs worker 0 (with the
 * signals and the control socket); each pool thread runs its own uv_loop
 * with its own instances: their own SO_REUSEPORT listeners on the same
 * addresses (the kernel spreads clients over the threads) and their own
 * worker, sharing the main thread's caches, which are thread-safe.
 *
 * Configuration reloads reach the threads through a uv_async handle; the
 * caller keeps every configuration it hands over alive until pool_stop()
 * returned, since a thread may still be reading the previous one.
 */
#ifndef RESOLVERD_POOL_H
#define RESOLVERD_POOL_H

#include <uv.h>

#include "config/config.h"
#include "resolver/deleg.h"
#include "resolver/instance.h"

struct pool_thread;

struct pool {
	struct pool_thread *t; /**< owned; n threads */
	unsigned n;
};

/**
 * Start @p n threads, each with instances like @p primary[0..ninst) of the
 * main thread (same config view, shared caches), and wait until each has
 * bound its listeners; they serve after pool_go(). @return 0, or -1 if a thread
 * could not start or bind (the ones started are stopped again; the error is
 * logged).
 */
int pool_start(struct pool *p, unsigned n, const struct cfg *c,
    const struct worker_tables *tab, const struct instance *primary,
    unsigned ninst);

/** Let every thread serve: until then they are bound but read nothing, so
 *  the main thread can drop privileges before any query is parsed. */
void pool_go(struct pool *p);

/** Hand every thread a new configuration (reload). */
void pool_reconfig(
    struct pool *p, const struct cfg *c, const struct worker_tables *tab);

/** Stop every thread and wait for it to end. pool_stop on an empty or
 *  stopped pool does nothing. @return 0, or -1 if a thread did not close
 *  cleanly. */
int pool_stop(struct pool *p);

/** Apply @p fn to every instance of every thread (for statistics); the
 *  caller reads counters another thread writes: approximate by nature. */
void pool_foreach(
    struct pool *p, void (*fn)(struct instance *in, void *arg), void *arg);

#endif
