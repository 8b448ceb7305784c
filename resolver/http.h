/**
 * @file http.h
 * The HTTP listener (libmicrohttpd, off unless `http.listen` is set):
 *
 *	GET /metrics	the counters in the Prometheus text format (0.0.4)
 *	GET /healthz	200 "ok" while every worker's loop runs, else 503
 *	anything else	404 (405 for another method on those two paths)
 *
 * A client outside `http.access` (default: loopback) gets 403.
 *
 * Each address is served by its own libmicrohttpd thread, apart from the
 * DNS workers: a scrape sums the workers' plain counters (resolver/stats.h)
 * without stopping or locking them, and each worker's loop stamps
 * worker.alive_ms every second, which /healthz compares with the clock.
 *
 * Life: http_bind() before the privileges are dropped (the sockets are
 * bound as root, like the DNS listeners; nothing is read yet), http_start()
 * once the workers serve, http_stop() before the workers stop (the threads
 * read their instances).
 */
#ifndef RESOLVERD_HTTP_H
#define RESOLVERD_HTTP_H

#include "config/config.h"
#include "resolver/instance.h"
#include "resolver/pool.h"

/** A worker loop that has not run for this long is unhealthy. */
#define HTTP_STALE_MS 5000

struct http;

/** The listener for the main thread's instances @p inst[0..ninst) and the
 *  pool's (all borrowed, living until http_stop()). @return NULL when out
 *  of memory. */
struct http *http_new(struct instance *inst, unsigned ninst, struct pool *pool,
    const char *version);

/** Bind every `http.listen` address of @p c (borrowed; keep it alive, or
 *  replace it with http_set_config()). @return 0, or -1 after logging
 *  which address failed and, when it is taken, by which process. */
int http_bind(struct http *h, const struct cfg *c);

/** Serve on the bound sockets. @return 0 or -1 (logged). */
int http_start(struct http *h);

/** Use @p c's `http.access` from now on (reload; listeners stay). */
void http_set_config(struct http *h, const struct cfg *c);

/** Stop serving, close the sockets, join the threads. NULL: no-op. */
void http_stop(struct http *h);

/** Free @p h after http_stop(). NULL: no-op. */
void http_free(struct http *h);

#endif
