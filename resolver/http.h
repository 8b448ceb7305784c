/**
 * @file http.h
 * The HTTP listener (libmicrohttpd, off unless `http.listen` is set):
 *
 *	GET /metrics	the counters in the Prometheus text format (0.0.4)
 *	GET /healthz	200 "ok" while every worker's loop runs, else 503
 *	GET /, /trace	the page (resolver/page.h): what each cache tier
 *			holds for a name, a resolution through the tiers, the
 *			walk drawn; /api/lookup and /api/trace their JSON;
 *			/static/ its script and style sheet
 *	anything else	404 (405 for another method on those paths)
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
#include "resolver/control.h"
#include "resolver/instance.h"
#include "resolver/pool.h"

/** A worker loop that has not run for this long is unhealthy. */
#define HTTP_STALE_MS 5000
/** The page waits this long at most for the resolver's answer (a trace
 *  through the tiers may be two resolutions of up to 10 s each). */
#define HTTP_ASK_WAIT_MS 25000

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

/** Let the page run control commands (lookup, trace) through @p ctl on
 *  the main loop @p loop: a connection's thread queues the command and an
 *  async handle on the loop runs it (ctl_request); the thread waits for
 *  the answer, HTTP_ASK_WAIT_MS at most. Never touches a worker itself.
 *  Before http_start(), on the loop's thread. @return 0 or -1. */
int http_set_control(struct http *h, uv_loop_t *loop, struct ctl *ctl);

/** Serve on the bound sockets. @return 0 or -1 (logged). */
int http_start(struct http *h);

/** Use @p c's `http.access` from now on (reload; listeners stay). */
void http_set_config(struct http *h, const struct cfg *c);

/** Stop serving, close the sockets, join the threads. NULL: no-op. */
void http_stop(struct http *h);

/** Free @p h after http_stop(). NULL: no-op. */
void http_free(struct http *h);

#endif
