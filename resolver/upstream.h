/**
 * @file upstream.h
 * Outgoing exchanges with authoritative servers (libuv). Each UDP query
 * gets a fresh socket bound to port 0, so the kernel picks a random source
 * port for every query; a reply is any datagram that arrives on it (the
 * iterator decides whether it is genuine, and may ask to keep waiting). TCP
 * (after TC) connects, writes the length-prefixed query and reads one
 * length-prefixed reply. A timer bounds every exchange.
 *
 * An exchange frees itself: after its callback reported a final reply, a
 * timeout or an error, or after up_cancel(), its handles are closed and its
 * memory released in the close callbacks.
 */
#ifndef RESOLVERD_UPSTREAM_H
#define RESOLVERD_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "resolver/iter.h"

struct up_query;

/**
 * Called for each datagram (or the TCP reply) with its source, and once with
 * @p pkt NULL on timeout or error. For a datagram, return true to keep
 * waiting (the reply was not accepted), false to end the exchange. After the
 * NULL call, or a false return, the exchange is gone.
 */
typedef bool (*up_cb)(
    void *arg, const struct sockaddr *from, const uint8_t *pkt, size_t len);

struct up_stats {
	uint64_t udp_sent, tcp_sent;
	uint64_t timeouts;
	uint64_t errors;    /**< socket or connect errors */
	uint64_t forwarded; /**< queries with RD set: to a forwarder */
};

/** Start an exchange for @p a. @return the exchange, or NULL if it could
 *  not start (the caller treats that as a timeout). */
struct up_query *up_send(uv_loop_t *loop, const struct iter_action *a, up_cb cb,
    void *arg, struct up_stats *stats);

/** No more callbacks; close and free. */
void up_cancel(struct up_query *u);

#endif
