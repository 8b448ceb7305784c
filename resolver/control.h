/**
 * @file control.h
 * The control socket (libuv): a unix stream socket on which resolverctl
 * asks for statistics, cache dumps, look-ups, flushes, loads and traces.
 *
 * Protocol, version 1 (man resolverctl(8) documents it for users): the
 * client connects and sends one request line
 *
 *	resolverctl/1 COMMAND [ARG ...]\n
 *
 * (arguments separated by single spaces; "load N" is followed by exactly N
 * bytes of dump text). The daemon answers with any number of data lines
 * and ends with one status line, then closes the connection:
 *
 *	resolverctl/1 ok\n			or
 *	resolverctl/1 error MESSAGE\n
 *
 * The status line is always the last line of the stream. Commands that walk
 * the cache (dump, lookup, flush, load) run on the libuv thread pool, so
 * the loop keeps answering DNS while they run; their output is written
 * back from the loop without blocking it.
 *
 * One struct ctl per daemon, on the main thread's loop; it reads the main
 * thread's instances and, for statistics, the pool threads' counters.
 */
#ifndef RESOLVERD_CONTROL_H
#define RESOLVERD_CONTROL_H

#include <stdbool.h>

#include "resolver/instance.h"
#include "resolver/pool.h"

#define CTL_PROTO     "resolverctl/1"
#define CTL_LINE_MAX  4096         /**< longest request line */
#define CTL_LOAD_MAX  (512u << 20) /**< largest dump "load" takes */
#define CTL_CONNS_MAX 32           /**< connections served at once */

struct ctl;

/**
 * Make the control server on @p loop for the instances @p inst[0..ninst)
 * (borrowed, like @p pool, which may be NULL).
 * @return the server (owned: ctl_close, then ctl_free after uv_run), or
 * NULL when out of memory.
 */
struct ctl *ctl_new(
    uv_loop_t *loop, struct instance *inst, unsigned ninst, struct pool *pool);

/**
 * Listen on the unix socket @p path: a stale socket file there (nobody
 * answers on it) is removed first; a live one is an error (-EADDRINUSE).
 * The socket gets mode @p mode and, when @p owner is not NULL, that owner
 * ("user" or "user:group"). @return 0 or a negative errno (logged).
 */
int ctl_start(
    struct ctl *c, const char *path, unsigned mode, const char *owner);

/** The process chrooted to @p root (borrowed; it outlives @p c): the
 *  socket's path is seen from inside it from now on. */
void ctl_set_root(struct ctl *c, const char *root);

/** Stop listening, remove the socket file, close the connections (those
 *  waiting for a thread-pool job or a trace close when it ends). */
void ctl_close(struct ctl *c);

/** Free @p c (NULL is a no-op), after uv_run returned. */
void ctl_free(struct ctl *c);

/** What an in-daemon request answered: @p out (@p len bytes; valid during
 *  the call) is what resolverctl would print, the status line left out;
 *  @p error the status line's message, or NULL for "ok". */
typedef void (*ctl_done_fn)(
    void *arg, const char *out, size_t len, const char *error);

/**
 * Run a command from inside the daemon (the HTTP page), as if resolverctl
 * had sent the request line "resolverctl/1 @p args" (one line; the words
 * of the protocol above), without a socket: the same code answers it.
 * On the loop's thread only. @p done is called on the loop when the answer
 * is complete, perhaps before this returns; also when ctl_close() ends
 * the request early (with an error).
 * @return 0, or a negative errno (closing, out of memory, a bad line), and
 * @p done is then not called.
 */
int ctl_request(struct ctl *c, const char *args, ctl_done_fn done, void *arg);

#endif
