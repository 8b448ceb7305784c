/**
 * @file flight.h
 * Questions in flight, across the worker threads of one resolver: the one
 * join table. The first worker to miss a question in the cache becomes the
 * owner of its flight and resolves it; every other client that asks the
 * same question meanwhile, on any worker, joins the flight as a waiter.
 * When the resolution ends, the owner publishes its result (read-only from
 * then on) in the flight and wakes every worker with waiters; each answers
 * its own clients from that result, whatever it is (an answer, NXDOMAIN,
 * SERVFAIL, a TTL of 0, data that is never cached). A question is thus
 * resolved once, and answered once per client, in one way.
 *
 * A flight is reference-counted: the owner and each worker with waiters hold
 * one reference, and the last flights_release() frees the flight and its
 * result. A published flight is out of the table: a later question starts
 * a new flight (or, usually, hits the cache).
 *
 * Pure: a mutex and a hash table; no libuv (a worker's wake function is its
 * own, e.g. uv_async_send). Up to FLIGHT_MAX_WORKERS workers.
 */
#ifndef RESOLVERD_FLIGHT_H
#define RESOLVERD_FLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "resolver/iter.h"
#include "resolver/limits.h"

#define FLIGHT_MAX_WORKERS 64

/** What makes two questions the same: the name (any case), type, class and
 *  the flags that change the answer (CD: checking disabled). */
struct flight_key {
	const uint8_t *name; /**< wire name; borrowed for the call */
	uint16_t type, rclass;
	uint8_t flags; /**< FLIGHT_CD */
};
#define FLIGHT_CD 1

struct flights;
struct flight;

/** @return a new table, or NULL. */
struct flights *flights_new(void);
/** Free the table (NULL is a no-op); every flight must have been released. */
void flights_free(struct flights *f);

/** Register a worker; @p wake(@p arg) is called, from any thread, when a
 *  flight it waits on is published. @return its index, or -1 if full. */
int flights_register(struct flights *f, void (*wake)(void *arg), void *arg);

/** Forget worker @p index: it is never woken again (call before closing
 *  what its wake function uses). */
void flights_unregister(struct flights *f, int index);

enum flight_role {
	FLIGHT_OWNER,  /**< a new flight: resolve it, then flights_publish */
	FLIGHT_WAITER, /**< joined a flight in progress: wait for the wake */
	FLIGHT_FULL,   /**< too many flights, or clients on this one */
};

/**
 * Join the flight of @p k for worker @p me, for @p nclients more clients
 * (counted against LIM_WAITERS per flight). The caller holds one reference
 * per successful join (owner or waiter) and gives it back with
 * flights_release; a worker joining a flight it already holds does not
 * need a second one (see flight_local).
 * @return the role; *fl is set for FLIGHT_OWNER and FLIGHT_WAITER.
 */
enum flight_role flights_join(struct flights *f, const struct flight_key *k,
    unsigned me, unsigned nclients, struct flight **fl);

/** Take one more reference on @p fl (held by the caller already). */
void flights_hold(struct flights *f, struct flight *fl);

/** Add @p nclients more clients of worker @p me to @p fl, which @p me
 *  already holds. @return false (nothing added) beyond LIM_WAITERS. */
bool flights_add_clients(
    struct flights *f, struct flight *fl, unsigned nclients);

/**
 * The owner's resolution ended: @p res (owned by the flight from now on;
 * freed with iter_result_free; never NULL) becomes the flight's result, the
 * flight leaves the table, and every registered worker that joined it as a
 * waiter is woken (not @p fl's owner).
 */
void flights_publish(
    struct flights *f, struct flight *fl, struct iter_result *res);

/** The published result, or NULL while the flight is in progress. Safe from
 *  any thread; the result is read-only and lives as long as a reference. */
const struct iter_result *flight_result(const struct flight *fl);

/** A slot that belongs to worker @p me alone (its list of clients waiting
 *  for @p fl); NULL until the worker sets it. Only @p me's thread may read
 *  or write it. */
void **flight_local(struct flight *fl, unsigned me);

/** Give back one reference; the last frees the flight and its result. */
void flights_release(struct flights *f, struct flight *fl);

/** Flights in the table (in progress), for statistics and tests. */
unsigned flights_count(struct flights *f);

#endif
