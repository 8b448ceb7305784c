/**
 * @file flight.h
 * Questions in flight across worker threads. A worker about to resolve a
 * question claims it; a worker that finds it claimed by another registers
 * as a waiter and parks its clients; when the owner is done it releases
 * the claim and every waiter is woken (through the wake function it
 * registered), to answer its clients from the shared cache.
 *
 * Pure: a mutex and a hash table; no libuv (the wake function is the
 * caller's, e.g. uv_async_send). Up to FLIGHT_MAX_WORKERS workers.
 */
#ifndef RESOLVERD_FLIGHT_H
#define RESOLVERD_FLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#define FLIGHT_MAX_WORKERS 64

struct flights;

/** @return a new table, or NULL. */
struct flights *flights_new(void);
/** flights_free(NULL) is a no-op. */
void flights_free(struct flights *f);

/** Register a worker; @p wake(@p arg) is called from any thread when a
 *  question it waits for is released. @return its index, or -1 if full. */
int flights_register(struct flights *f, void (*wake)(void *arg), void *arg);

/** Forget worker @p index: it is never woken again (call before closing
 *  what its wake function uses). */
void flights_unregister(struct flights *f, int index);

/**
 * Claim (name, type, class) for worker @p me.
 * @return -1 if @p me now owns it (resolve it and release it later), or the
 * index of the worker that owns it (@p me is now a waiter), or -2 if the
 * table is full (resolve without a claim).
 */
int flights_claim(struct flights *f, const uint8_t *name, uint16_t type,
    uint16_t rclass, unsigned me);

/** Release @p me's claim and wake its waiters. */
void flights_release(struct flights *f, const uint8_t *name, uint16_t type,
    uint16_t rclass, unsigned me);

/** @return true while (name, type, class) is claimed by a worker. */
bool flights_busy(
    struct flights *f, const uint8_t *name, uint16_t type, uint16_t rclass);

#endif
