/**
 * @file upstream.h
 * Outgoing exchanges with authoritative servers (libuv). Each UDP query
 * gets a fresh socket bound to port 0, so the kernel picks a random source
 * port for every query. TCP (after TC) connects and writes the
 * length-prefixed query. Every datagram that arrives on the UDP socket, and
 * every complete length-prefixed message read on the TCP connection, goes
 * to the callback, which says whether it accepted it (the iterator decides
 * whether a reply is genuine); one it ignores leaves the exchange waiting.
 *
 * Ownership, one rule for UDP and TCP: an exchange lives until a reply is
 * accepted, its timer fires (or the socket fails: ICMP unreachable, EOF,
 * reset), or up_cancel() is called; then it closes its handles and frees
 * its memory in their close callbacks, and never calls back again. The
 * caller's pointer to it is valid exactly until one of those happens.
 */
#ifndef RESOLVERD_UPSTREAM_H
#define RESOLVERD_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "resolver/counters.h"
#include "resolver/iter.h"

struct up_query;

/**
 * Called for each datagram (or TCP message) with its source, and once with
 * @p pkt NULL when the exchange ends without an accepted reply: @p err 0
 * for a timeout, a negative errno-style code (libuv's) when the socket
 * failed (ICMP port unreachable, a reset, no route). For a datagram,
 * return true to keep waiting (the reply was not accepted), false to end
 * the exchange. After the NULL call, or a false return, the exchange is
 * gone.
 */
typedef bool (*up_cb)(void *arg, const struct sockaddr *from,
    const uint8_t *pkt, size_t len, int err);

/** Written by one worker's thread, read by `stats` on the main thread:
 *  atomic. */
struct up_stats {
	counter_t udp_sent, tcp_sent;
	counter_t timeouts;
	counter_t errors;    /**< socket or connect errors */
	counter_t forwarded; /**< queries with RD set: to a forwarder */
};

/** Start an exchange for @p a. @return the exchange, or NULL if it could
 *  not start (then *err says why: libuv's negative code). */
struct up_query *up_send(uv_loop_t *loop, const struct iter_action *a, up_cb cb,
    void *arg, struct up_stats *stats, int *err);

/** No more callbacks; close and free. */
void up_cancel(struct up_query *u);

#endif
