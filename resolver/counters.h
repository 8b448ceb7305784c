/**
 * @file counters.h
 * Counters that one thread writes and others read (resolverctl stats,
 * GET /metrics): each is an _Atomic uint64_t, so a reader never races the
 * writer, and the writer bumps it with a relaxed load and store, which on
 * the machines resolverd runs on is a plain add: no locked instruction on
 * the hot path. Only the owning thread may write a counter.
 */
#ifndef RESOLVERD_COUNTERS_H
#define RESOLVERD_COUNTERS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef _Atomic uint64_t counter_t;

/** Add @p n to counter @p c (owning thread only). */
#define STAT_ADD(c, n)                                              \
	atomic_store_explicit(&(c),                                 \
	    atomic_load_explicit(&(c), memory_order_relaxed) + (n), \
	    memory_order_relaxed)
#define STAT_INC(c) STAT_ADD(c, 1)
/** A counter's value, from any thread. */
#define STAT_GET(c) atomic_load_explicit(&(c), memory_order_relaxed)

/** Add the @p n counters at @p src to those at @p dst (a struct made of
 *  counters only, read as an array: see the static asserts beside them). */
static inline void
counters_add(counter_t *dst, const counter_t *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		STAT_ADD(dst[i], STAT_GET(src[i]));
}

/** The number of counters in @p s, a struct of counters only. */
#define COUNTERS_IN(s) (sizeof(s) / sizeof(counter_t))

#endif
