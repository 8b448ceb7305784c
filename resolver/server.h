/**
 * @file server.h
 * The client side of resolverd: UDP and TCP listeners, per-connection state,
 * and the hand-over of each checked query to the resolution hook.
 *
 * A datagram or a length-prefixed TCP message is checked on the raw wire
 * first (msg_check_query: drop, FORMERR, NOTIMP, BADVERS, REFUSED are
 * answered here), then the client is checked against cfg `access` (REFUSED),
 * and only then is a struct srv_req made and handed to the hook. The hook
 * owns the request until it calls srv_reply() or srv_req_drop(), which it may
 * do at once or much later from another callback of the same loop.
 *
 * TCP: several queries per connection, answered in any order; at most
 * LIM_TCP_PIPELINE answers outstanding per connection (reading stops until
 * they are written); an idle timeout (cfg tcp.idle_timeout_ms, restarted by
 * each complete query and each answer written, and not firing while the
 * hook holds a request of the connection); a cap on open connections
 * (cfg tcp.max_clients: beyond it a connection is accepted and closed at
 * once); a length prefix below 12 closes the connection. Connections
 * are reference-counted, so a request that outlives its connection is safe:
 * its reply is dropped.
 *
 * DNS over TLS (RFC 7858, srv_listen_tls): a TLS connection is a TCP one
 * whose bytes go through a session of resolver/tls.h, both ways; after the
 * handshake everything above is the same (the hook sees SRV_TCP, with
 * req->tls set), and TLS connections count in the same tcp.max_clients.
 * The handshake must be done within TLS_HANDSHAKE_MS (or the idle timeout,
 * when shorter), however slowly its bytes come.
 *
 * A libuv module, but this header does not include the libuv header (the
 * layering check allows that only in .c files): struct srv is opaque. One
 * struct srv per loop, used from that loop's thread only.
 */
#ifndef RESOLVERD_SERVER_H
#define RESOLVERD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "config/config.h"
#include "resolver/counters.h"
#include "resolver/limits.h"
#include "resolver/msg.h"

#define SRV_REQ_INLINE 512 /**< query bytes a recycled request holds */
#define SRV_REQ_POOL   256 /**< requests kept for reuse */

struct srv;
struct srv_conn;
struct srv_udp;
struct tls_ctx;
struct uv_loop_s;

enum srv_transport {
	SRV_UDP,
	SRV_TCP
};

/** Counters, since start. Written by the server's thread, read by
 *  `stats` on the main thread: atomic. */
struct srv_stats {
	counter_t udp_queries;  /**< datagrams received */
	counter_t tcp_queries;  /**< complete TCP messages received */
	counter_t dropped;      /**< not answered: QR set, short, unsendable */
	counter_t formerr;      /**< answered FORMERR by the wire check */
	counter_t notimp;       /**< answered NOTIMP */
	counter_t refused;      /**< answered REFUSED: access, AXFR, class */
	counter_t badvers;      /**< answered BADVERS */
	counter_t handed;       /**< requests handed to the hook */
	counter_t replies;      /**< answers given to srv_reply() */
	counter_t tcp_accepted; /**< connections accepted and served */
	counter_t tcp_refused;  /**< accepted and closed at once: cap reached */
	counter_t tcp_timeouts; /**< closed for idleness */
	counter_t tcp_closed_bad; /**< closed for a length prefix < 12 */
	/** replies over TCP, by rcode (the UDP path counts nothing more) */
	counter_t rcode_tcp[16];
	/** of formerr, notimp, refused, badvers: those over TCP */
	counter_t formerr_tcp, notimp_tcp, refused_tcp, badvers_tcp;
	/** EDE options the wire check sent: refused for access
	 *  (Prohibited, 18) and for AXFR/IXFR or a class (Not Supported, 21) */
	counter_t ede_prohibited, ede_not_supported;
	/* DNS over TLS: its messages are not in the tcp_ counters */
	counter_t tls_queries;    /**< complete messages received over TLS */
	counter_t tls_accepted;   /**< TLS connections accepted */
	counter_t tls_handshakes; /**< handshakes completed */
	counter_t tls_resumed;    /**< of them, resumed from a session ticket */
	counter_t tls_failed;     /**< closed for a TLS error */
	counter_t tls_handshake_timeouts; /**< closed mid-handshake, too slow */
	counter_t rcode_tls[16];          /**< replies over TLS, by rcode */
	/** of formerr, notimp, refused, badvers: those over TLS */
	counter_t formerr_tls, notimp_tls, refused_tls, badvers_tls;
};

/**
 * One client query handed to the hook. Everything in it is valid until
 * srv_reply() or srv_req_drop(); the hook must not free it.
 */
struct srv_req {
	struct srv *srv;
	enum srv_transport transport;
	struct srv_udp *udp;            /**< UDP: listener to answer from */
	struct srv_conn *conn;          /**< TCP: connection (referenced) */
	bool tls;                       /**< SRV_TCP over TLS */
	struct sockaddr_storage client; /**< the client's address and port */
	socklen_t clientlen;
	struct msg_query q;   /**< checked query; points into query */
	size_t max_resp;      /**< largest reply the client takes:
	                       *   UDP: min(EDNS size, 1232), or
	                       *   512 without EDNS; TCP: 65535 */
	size_t len;           /**< bytes in query */
	uint8_t *query;       /**< the query as received (owned) */
	struct srv_req *next; /**< free for the hook's own lists */
	void *data;           /**< free for the hook's own state */
	size_t cap;           /* capacity of query */
	uint8_t inline_buf[SRV_REQ_INLINE];
};

/**
 * The resolution hook: called once per checked, allowed query. It owns @p req
 * until it calls srv_reply() or srv_req_drop() on it, once, from the loop's
 * thread, possibly from a later callback.
 */
struct srv_shared;

typedef void (*srv_query_fn)(void *ctx, struct srv_req *req);

/**
 * Make a server on @p loop with the configuration @p cfg (borrowed: it must
 * outlive the server or be replaced with srv_set_config first). The hook is
 * the default one (SERVFAIL, EDE 0 "no resolver attached to this server",
 * answered asynchronously) until srv_set_hook.
 * @return the server (owned; srv_close then srv_free it), or NULL when out
 * of memory or the loop refused a handle.
 */
struct srv *srv_new(
    struct uv_loop_s *loop, const struct cfg *cfg, struct srv_shared *shared);

/**
 * What the servers of one daemon's worker threads share: the count of TCP
 * clients held (tcp.max_clients bounds the daemon, not one thread) and the
 * DNS Cookie secret (a client gets the same server cookie from any thread).
 * srv_shared_new makes one; NULL to srv_new gives a server its own.
 */
struct srv_shared *srv_shared_new(void);
void srv_shared_free(struct srv_shared *sh);

/** Register the resolution hook @p fn, called with @p ctx. NULL restores
 *  the default hook. */
void srv_set_hook(struct srv *srv, srv_query_fn fn, void *ctx);

/**
 * Bind a UDP and a TCP listener on @p l and start serving on them: UDP first,
 * then TCP. SO_REUSEPORT on both, SO_REUSEADDR on TCP, IPV6_V6ONLY on IPv6.
 * On failure neither stays bound.
 * @return 0 or a negative errno (-EAFNOSUPPORT, -EADDRNOTAVAIL, -EADDRINUSE,
 * -EACCES ...).
 */
int srv_listen(struct srv *srv, const struct cfg_listen *l);

/**
 * Bind a TCP listener on @p l for DNS over TLS with the certificate of
 * @p tls (borrowed: it must outlive the server) and start serving on it.
 * @return 0 or a negative errno, as srv_listen.
 */
int srv_listen_tls(
    struct srv *srv, const struct cfg_listen *l, struct tls_ctx *tls);

/** Use @p cfg from now on (access, tcp settings). The caller then frees the
 *  old one; listeners are not rebound. */
void srv_set_config(struct srv *srv, const struct cfg *cfg);

/**
 * Send the answer @p resp of @p len bytes for @p req and release @p req.
 * UDP: sent at once if the socket takes it, else queued with a copy; a reply
 * longer than req->max_resp is replaced with a truncated one (TC set), which
 * the hook should have built itself. TCP: written with its length prefix; if
 * the connection is gone, the reply is dropped. @p resp is not kept.
 */
void srv_reply(struct srv_req *req, const uint8_t *resp, size_t len);

/**
 * Answer @p req with an error built by msg_error_reply (@p rcode, and the
 * EDE @p ede_code / @p ede_text when @p ede_text is not NULL), and release it.
 */
void srv_reply_error(struct srv_req *req, unsigned rcode, uint16_t ede_code,
    const char *ede_text);

/** Release @p req without answering (e.g. when resolution is abandoned). */
void srv_req_drop(struct srv_req *req);

/** Copy the counters into @p out. */
void srv_get_stats(const struct srv *srv, struct srv_stats *out);

/** Datagrams the kernel dropped at this server's UDP listeners because
 *  their receive buffers were full (the "drops" column of
 *  /proc/self/net/udp and udp6 for the listeners' sockets): queries the
 *  daemon never saw. Reads /proc; for the control path, not the hot one. */
uint64_t srv_udp_kernel_drops(const struct srv *srv);

/**
 * Stop: close every listener and connection and drop the default hook's
 * queue. Requests the hook still holds stay valid (srv_reply on them drops
 * the answer); the hook must release them all before srv_free.
 */
void srv_close(struct srv *srv);

/** Free @p srv (NULL is a no-op). Call after srv_close, once uv_run has
 *  returned and no request is live. @return 0, or -EBUSY if requests or
 *  handles remain (then nothing is freed). */
int srv_free(struct srv *srv);

#endif
