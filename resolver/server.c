/**
 * @file server.c
 * Client listeners: UDP datagrams and length-prefixed TCP messages, checked,
 * access-controlled, and handed to the resolution hook as struct srv_req.
 *
 * Memory: a UDP datagram is read into its listener's buffer and a TCP read
 * into the server's shared buffer (both reused, no allocation per packet);
 * only a query that reaches the hook is copied, into a request taken from a
 * pool. A TCP connection keeps in its own buffer only the bytes it could not
 * process yet (a partial message, or the rest of a read while its pipeline is
 * full).
 *
 * Lifetimes: a connection is freed when its reference count drops to zero.
 * The open connection holds one reference (released when both its handles
 * are closed), every live request one, and every pending write one.
 * `inflight` counts the messages read whose answer is not yet written or
 * dropped; reading stops while it is at LIM_TCP_PIPELINE.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "resolver/log.h"
#include "resolver/server.h"

#define EDE_OTHER		0
#define EDE_PROHIBITED		18
#define EDE_NOT_SUPPORTED	21
#define ERR_REPLY_MAX		512
#define IBUF_MAX		(2 * (LIM_MSG_MAX + 2))

/** One UDP listener. */
struct srv_udp {
	uv_udp_t handle;		/**< handle.data = this */
	struct srv *srv;
	char text[64];			/**< "127.0.0.1@53" */
	bool open;
	uint8_t rbuf[LIM_MSG_MAX + 1];	/**< reused for every datagram */
};

/** One TCP listener. */
struct srv_tcp {
	uv_tcp_t handle;		/**< handle.data = this */
	struct srv *srv;
	char text[64];
	bool open;
};

/** The server of one loop: srv_new, srv_close, srv_free. */
struct srv {
	uv_loop_t *loop;
	const struct cfg *cfg;		/**< borrowed; see srv_set_config */
	srv_query_fn hook;
	void *hook_ctx;
	struct srv_udp udp[CFG_MAX_LISTEN];
	struct srv_tcp tcp[CFG_MAX_LISTEN];
	unsigned nlisten;		/**< listener pairs bound */
	struct srv_conn *conns;		/**< open TCP connections */
	unsigned nconns;
	struct srv_req *pool;		/**< recycled requests */
	unsigned npool;
	unsigned nreqs;			/**< requests live (handed, not done) */
	unsigned open_handles;		/**< handles not yet closed */
	uv_idle_t idle;			/**< drives the default hook */
	struct srv_req *deferred;	/**< default hook's queue (FIFO) */
	struct srv_req **deferred_tail;
	bool closing;
	struct srv_stats stats;
	uint8_t tcp_rbuf[LIM_MSG_MAX + 2]; /**< TCP read buffer, shared */
};

/** One TCP client connection. */
struct srv_conn {
	uv_tcp_t tcp;			/* tcp.data = this */
	uv_timer_t timer;		/* idle timer; timer.data = this */
	struct srv *srv;
	struct srv_conn *next;		/* in srv->conns while open */
	struct srv_conn **prevp;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	unsigned refs;
	unsigned handles;		/* of tcp and timer, not yet closed */
	unsigned inflight;		/* messages read, not yet answered */
	unsigned resolving;		/* of them, requests held by the hook */
	bool closing, reading, busy, eof;
	uint8_t *ibuf;			/* owned; unprocessed input, or NULL */
	size_t ilen, icap;
};

/** A queued TCP answer: the write request and the framed bytes. */
struct tcp_write {
	uv_write_t w;
	struct srv_conn *conn;		/* a reference held */
	uint8_t data[];
};

/** A queued UDP answer (the socket was not writable at once). */
struct udp_send {
	uv_udp_send_t s;
	struct srv *srv;
	uint8_t data[];
};

static uint16_t get16(const uint8_t *p);
static void handle_closed(uv_handle_t *h);
static void free_handle(uv_handle_t *h);
static struct srv_req *req_new(struct srv *srv, size_t len);
static void req_release(struct srv_req *req);
static void default_hook(void *ctx, struct srv_req *req);
static void idle_cb(uv_idle_t *h);
static void udp_send_cb(uv_udp_send_t *s, int status);
static void udp_send(struct srv_udp *u, const struct sockaddr *to,
    const uint8_t *data, size_t len);
static void udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
    const struct sockaddr *addr, unsigned flags);
static void handle_query(struct srv *srv, struct srv_udp *u,
    struct srv_conn *c, const struct sockaddr *from, const uint8_t *pkt,
    size_t len);
static void error_reply(struct srv *srv, struct srv_udp *u,
    struct srv_conn *c, const struct sockaddr *from, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode, uint16_t ede,
    const char *text);
static void conn_unref(struct srv_conn *c);
static void conn_close(struct srv_conn *c);
static void conn_handle_closed(uv_handle_t *h);
static void conn_touch(struct srv_conn *c);
static void conn_idle_cb(uv_timer_t *t);
static void conn_set_reading(struct srv_conn *c);
static void conn_done_one(struct srv_conn *c);
static size_t conn_consume(struct srv_conn *c, const uint8_t *p, size_t n);
static int conn_keep(struct srv_conn *c, const uint8_t *p, size_t n);
static void conn_resume(struct srv_conn *c);
static void tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf);
static void tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void tcp_send(struct srv_conn *c, const uint8_t *data, size_t len);
static void tcp_write_cb(uv_write_t *w, int status);
static void tcp_connection(uv_stream_t *server, int status);
static int open_socket(const struct cfg_listen *l, int type);

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* close_cb of the server's own handles: listeners and the idle handle. */
static void
handle_closed(uv_handle_t *h)
{
	struct srv *srv = h->data;

	srv->open_handles--;
}

static void
free_handle(uv_handle_t *h)
{
	free(h);
}

/* ---- requests ---------------------------------------------------------- */

static struct srv_req *
req_new(struct srv *srv, size_t len)
{
	struct srv_req *req = srv->pool;

	if (req != NULL) {
		srv->pool = req->next;
		srv->npool--;
	} else {
		req = malloc(sizeof(*req));
		if (req == NULL)
			return NULL;
	}
	memset(req, 0, offsetof(struct srv_req, inline_buf));
	req->srv = srv;
	req->query = req->inline_buf;
	req->cap = sizeof(req->inline_buf);
	if (len > req->cap) {
		req->query = malloc(len);
		if (req->query == NULL) {
			free(req);
			return NULL;
		}
		req->cap = len;
	}
	return req;
}

/* Release what @p req holds (its connection reference, its big buffer) and
 * put it in the pool. */
static void
req_release(struct srv_req *req)
{
	struct srv *srv = req->srv;

	if (req->conn != NULL) {
		req->conn->resolving--;
		conn_unref(req->conn);
	}
	if (req->query != req->inline_buf)
		free(req->query);
	srv->nreqs--;
	if (srv->npool < SRV_REQ_POOL) {
		req->next = srv->pool;
		srv->pool = req;
		srv->npool++;
	} else {
		free(req);
	}
}

/*
 * The hook in place until resolution is plugged in: queue the request and
 * answer it SERVFAIL from the idle callback, i.e. asynchronously, as a real
 * resolution would.
 */
static void
default_hook(void *ctx, struct srv_req *req)
{
	struct srv *srv = ctx;

	req->next = NULL;
	*srv->deferred_tail = req;
	srv->deferred_tail = &req->next;
	if (!uv_is_active((uv_handle_t *)&srv->idle))
		uv_idle_start(&srv->idle, idle_cb);
}

static void
idle_cb(uv_idle_t *h)
{
	struct srv *srv = h->data;
	struct srv_req *req = srv->deferred;

	srv->deferred = NULL;
	srv->deferred_tail = &srv->deferred;
	uv_idle_stop(h);
	while (req != NULL) {
		struct srv_req *next = req->next;

		srv_reply_error(req, MSG_RCODE_SERVFAIL, EDE_OTHER,
		    "no resolver attached to this server");
		req = next;
	}
}

/* ---- UDP --------------------------------------------------------------- */

static void
udp_send_cb(uv_udp_send_t *s, int status)
{
	struct udp_send *us = (struct udp_send *)s;

	if (status < 0 && status != UV_ECANCELED)
		log_debug("udp send: %s", uv_strerror(status));
	if (status < 0)
		us->srv->stats.dropped++;
	free(us);
}

/* Send @p data to @p to from @p u: at once if the socket takes it, else
 * queued with a copy. Never blocks; a failure only counts a drop. */
static void
udp_send(struct srv_udp *u, const struct sockaddr *to, const uint8_t *data,
    size_t len)
{
	struct udp_send *us;
	uv_buf_t b = uv_buf_init((char *)data, (unsigned)len);
	int r;

	if (!u->open) {
		u->srv->stats.dropped++;
		return;
	}
	r = uv_udp_try_send(&u->handle, &b, 1, to);
	if (r >= 0)
		return;
	if (r != UV_EAGAIN && r != UV_ENOSYS) {
		log_debug("udp send on %s: %s", u->text, uv_strerror(r));
		u->srv->stats.dropped++;
		return;
	}
	us = malloc(sizeof(*us) + len);
	if (us == NULL) {
		u->srv->stats.dropped++;
		return;
	}
	us->srv = u->srv;
	memcpy(us->data, data, len);
	b = uv_buf_init((char *)us->data, (unsigned)len);
	r = uv_udp_send(&us->s, &u->handle, &b, 1, to, udp_send_cb);
	if (r < 0) {
		log_debug("udp send on %s: %s", u->text, uv_strerror(r));
		u->srv->stats.dropped++;
		free(us);
	}
}

/* The listener's own buffer, for every datagram: no allocation. */
static void
udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct srv_udp *u = h->data;

	(void)hint;
	*buf = uv_buf_init((char *)u->rbuf, sizeof(u->rbuf));
}

static void
udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
    const struct sockaddr *addr, unsigned flags)
{
	struct srv_udp *u = h->data;
	struct srv *srv = u->srv;

	if (nread < 0) {
		log_debug("udp recv on %s: %s", u->text,
		    uv_strerror((int)nread));
		return;
	}
	if (addr == NULL)
		return;
	srv->stats.udp_queries++;
	if (flags & UV_UDP_PARTIAL) {
		srv->stats.dropped++;
		return;
	}
	handle_query(srv, u, NULL, addr, (const uint8_t *)buf->base,
	    (size_t)nread);
}

/* ---- the query path, both transports ---------------------------------- */

/* Answer an error at once, on UDP (@p u) or TCP (@p c). */
static void
error_reply(struct srv *srv, struct srv_udp *u, struct srv_conn *c,
    const struct sockaddr *from, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode, uint16_t ede,
    const char *text)
{
	uint8_t out[ERR_REPLY_MAX];
	size_t n;

	n = msg_error_reply(out, sizeof(out), pkt, q, rcode, ede, text);
	if (n == 0) {
		srv->stats.dropped++;
		if (c != NULL)
			conn_done_one(c);
		return;
	}
	if (c != NULL)
		tcp_send(c, out, n);
	else
		udp_send(u, from, out, n);
}

/*
 * One query, from UDP (@p u set) or TCP (@p c set, its inflight already
 * counted): the wire check, then access, then the hook.
 */
static void
handle_query(struct srv *srv, struct srv_udp *u, struct srv_conn *c,
    const struct sockaddr *from, const uint8_t *pkt, size_t len)
{
	struct msg_query q;
	struct srv_req *req;

	switch (msg_check_query(pkt, len, &q)) {
	case MSG_OK:
		break;
	case MSG_DROP:
		srv->stats.dropped++;
		if (c != NULL)
			conn_done_one(c);
		return;
	case MSG_REPLY_FORMERR:
		srv->stats.formerr++;
		error_reply(srv, u, c, from, pkt, &q, MSG_RCODE_FORMERR, 0,
		    NULL);
		return;
	case MSG_REPLY_NOTIMP:
		srv->stats.notimp++;
		error_reply(srv, u, c, from, pkt, &q, MSG_RCODE_NOTIMP, 0,
		    NULL);
		return;
	case MSG_REPLY_BADVERS:
		srv->stats.badvers++;
		error_reply(srv, u, c, from, pkt, &q, MSG_RCODE_BADVERS, 0,
		    NULL);
		return;
	case MSG_REPLY_REFUSED:
		srv->stats.refused++;
		error_reply(srv, u, c, from, pkt, &q, MSG_RCODE_REFUSED,
		    EDE_NOT_SUPPORTED, "");
		return;
	}
	if (!cfg_access_allowed(srv->cfg, from)) {
		srv->stats.refused++;
		error_reply(srv, u, c, from, pkt, &q, MSG_RCODE_REFUSED,
		    EDE_PROHIBITED, "");
		return;
	}

	req = req_new(srv, len);
	if (req == NULL) {
		error_reply(srv, u, c, from, pkt, &q, MSG_RCODE_SERVFAIL,
		    EDE_OTHER, "out of memory");
		return;
	}
	srv->nreqs++;
	srv->stats.handed++;
	memcpy(req->query, pkt, len);
	req->len = len;
	req->q = q;
	req->q.qname = req->query + MSG_HDR_LEN;
	if (from->sa_family == AF_INET6) {
		memcpy(&req->client, from, sizeof(struct sockaddr_in6));
		req->clientlen = sizeof(struct sockaddr_in6);
	} else {
		memcpy(&req->client, from, sizeof(struct sockaddr_in));
		req->clientlen = sizeof(struct sockaddr_in);
	}
	if (c != NULL) {
		req->transport = SRV_TCP;
		req->conn = c;
		c->refs++;
		c->resolving++;
		req->max_resp = LIM_MSG_MAX;
	} else {
		req->transport = SRV_UDP;
		req->udp = u;
		req->max_resp = q.edns ? (q.udp_size < LIM_EDNS_BUFSIZE ?
		    q.udp_size : LIM_EDNS_BUFSIZE) : LIM_UDP_NOEDNS;
	}
	srv->hook(srv->hook_ctx, req);
}

/* ---- TCP connections --------------------------------------------------- */

static void
conn_unref(struct srv_conn *c)
{
	if (--c->refs > 0)
		return;
	free(c->ibuf);
	free(c);
}

static void
conn_handle_closed(uv_handle_t *h)
{
	struct srv_conn *c = h->data;

	if (--c->handles == 0)
		conn_unref(c);
}

/* Start closing @p c: it leaves the server's list at once; its memory goes
 * when the last reference does. */
static void
conn_close(struct srv_conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	*c->prevp = c->next;
	if (c->next != NULL)
		c->next->prevp = c->prevp;
	c->srv->nconns--;
	uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

/* (Re)arm the idle timer. */
static void
conn_touch(struct srv_conn *c)
{
	unsigned ms = c->srv->cfg->tcp.idle_timeout_ms;

	if (c->closing)
		return;
	if (ms == 0)
		ms = LIM_TCP_IDLE_MS;
	uv_timer_start(&c->timer, conn_idle_cb, ms, 0);
}

/* A connection waiting on resolution is not idle: wait on. One whose
 * client does not read its answers is. */
static void
conn_idle_cb(uv_timer_t *t)
{
	struct srv_conn *c = t->data;

	if (c->resolving > 0) {
		conn_touch(c);
		return;
	}
	c->srv->stats.tcp_timeouts++;
	conn_close(c);
}

/* Read while fewer than LIM_TCP_PIPELINE answers are outstanding. */
static void
conn_set_reading(struct srv_conn *c)
{
	bool want = !c->closing && !c->eof &&
	    c->inflight < LIM_TCP_PIPELINE;

	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc,
		    tcp_read) < 0) {
			conn_close(c);
			return;
		}
		c->reading = true;
	} else if (!want && c->reading) {
		uv_read_stop((uv_stream_t *)&c->tcp);
		c->reading = false;
	}
}

/* One message of @p c is done with: its answer written, or none to send. */
static void
conn_done_one(struct srv_conn *c)
{
	c->inflight--;
	conn_resume(c);
}

/*
 * Process the complete messages at the start of @p p (@p n bytes) while the
 * pipeline has room. A length below a header closes the connection.
 * @return the bytes consumed.
 */
static size_t
conn_consume(struct srv_conn *c, const uint8_t *p, size_t n)
{
	struct srv *srv = c->srv;
	size_t off = 0;

	c->busy = true;
	while (!c->closing && c->inflight < LIM_TCP_PIPELINE && n - off >= 2) {
		size_t mlen = get16(p + off);

		if (mlen < MSG_HDR_LEN) {
			srv->stats.tcp_closed_bad++;
			conn_close(c);
			break;
		}
		if (n - off - 2 < mlen)
			break;
		srv->stats.tcp_queries++;
		c->inflight++;
		conn_touch(c);
		handle_query(srv, NULL, c, (struct sockaddr *)&c->peer,
		    p + off + 2, mlen);
		off += 2 + mlen;
	}
	c->busy = false;
	return off;
}

/* Keep @p n unprocessed bytes at the end of c->ibuf. @return 0 or -ENOMEM. */
static int
conn_keep(struct srv_conn *c, const uint8_t *p, size_t n)
{
	if (c->ilen + n > c->icap) {
		size_t cap = c->icap ? c->icap : 512;
		uint8_t *b;

		while (cap < c->ilen + n)
			cap *= 2;
		if (cap > IBUF_MAX)
			cap = IBUF_MAX;
		if (c->ilen + n > cap)
			return -ENOMEM;
		b = realloc(c->ibuf, cap);
		if (b == NULL)
			return -ENOMEM;
		c->ibuf = b;
		c->icap = cap;
	}
	memmove(c->ibuf + c->ilen, p, n);
	c->ilen += n;
	return 0;
}

/* Process what is buffered, then read again if there is room. Not
 * re-entered: a reply sent from inside conn_consume leaves the work to it. */
static void
conn_resume(struct srv_conn *c)
{
	if (c->closing || c->busy)
		return;
	if (c->eof) {
		if (c->inflight == 0)
			conn_close(c);
		return;
	}
	if (c->ilen > 0 && c->inflight < LIM_TCP_PIPELINE) {
		size_t used = conn_consume(c, c->ibuf, c->ilen);

		if (c->closing)
			return;
		c->ilen -= used;
		if (c->ilen == 0) {
			free(c->ibuf);
			c->ibuf = NULL;
			c->icap = 0;
		} else {
			memmove(c->ibuf, c->ibuf + used, c->ilen);
		}
	}
	conn_set_reading(c);
}

/* All connections read into the server's one buffer: a read is processed
 * (or its rest copied to the connection) before the callback returns. */
static void
tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct srv_conn *c = h->data;

	(void)hint;
	*buf = uv_buf_init((char *)c->srv->tcp_rbuf, sizeof(c->srv->tcp_rbuf));
}

static void
tcp_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct srv_conn *c = s->data;
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t n = (size_t)nread;
	size_t used;

	if (nread == 0 || c->closing)
		return;
	if (nread < 0) {
		if (nread != UV_EOF) {
			log_debug("tcp read: %s", uv_strerror((int)nread));
			conn_close(c);
			return;
		}
		/* Half-close: answer what was asked, then close. */
		c->eof = true;
		conn_set_reading(c);
		if (c->inflight == 0)
			conn_close(c);
		return;
	}
	c->refs++;
	if (c->ilen == 0) {
		used = conn_consume(c, p, n);
		if (!c->closing && used < n && conn_keep(c, p + used,
		    n - used) < 0)
			conn_close(c);
	} else if (conn_keep(c, p, n) < 0) {
		conn_close(c);
	} else {
		used = conn_consume(c, c->ibuf, c->ilen);
		c->ilen -= used;
		memmove(c->ibuf, c->ibuf + used, c->ilen);
		if (c->ilen == 0) {
			free(c->ibuf);
			c->ibuf = NULL;
			c->icap = 0;
		}
	}
	if (!c->closing)
		conn_set_reading(c);
	conn_unref(c);
}

static void
tcp_write_cb(uv_write_t *w, int status)
{
	struct tcp_write *tw = (struct tcp_write *)w;
	struct srv_conn *c = tw->conn;

	free(tw);
	if (status < 0) {
		if (status != UV_ECANCELED)
			log_debug("tcp write: %s", uv_strerror(status));
		conn_close(c);
	} else {
		conn_touch(c);
	}
	conn_done_one(c);
	conn_unref(c);
}

/* Write @p data with its 2-byte length; completes one in-flight message. */
static void
tcp_send(struct srv_conn *c, const uint8_t *data, size_t len)
{
	struct tcp_write *tw;
	uv_buf_t b;
	int r;

	if (c->closing || len > LIM_MSG_MAX) {
		c->srv->stats.dropped++;
		conn_done_one(c);
		return;
	}
	tw = malloc(sizeof(*tw) + 2 + len);
	if (tw == NULL) {
		conn_close(c);
		conn_done_one(c);
		return;
	}
	tw->conn = c;
	tw->data[0] = (uint8_t)(len >> 8);
	tw->data[1] = (uint8_t)len;
	memcpy(tw->data + 2, data, len);
	b = uv_buf_init((char *)tw->data, (unsigned)(len + 2));
	c->refs++;
	r = uv_write(&tw->w, (uv_stream_t *)&c->tcp, &b, 1, tcp_write_cb);
	if (r < 0) {
		log_debug("tcp write: %s", uv_strerror(r));
		free(tw);
		conn_close(c);
		conn_done_one(c);
		conn_unref(c);
	}
}

static void
tcp_connection(uv_stream_t *server, int status)
{
	struct srv_tcp *l = server->data;
	struct srv *srv = l->srv;
	struct srv_conn *c;
	int len;

	if (status < 0) {
		log_debug("accept on %s: %s", l->text, uv_strerror(status));
		return;
	}
	if (srv->nconns >= srv->cfg->tcp.max_clients) {
		uv_tcp_t *t = malloc(sizeof(*t));

		/* Without a handle to accept into, libuv pauses this
		 * listener; the next connection event retries. */
		if (t == NULL)
			return;
		uv_tcp_init(srv->loop, t);
		uv_accept(server, (uv_stream_t *)t);
		uv_close((uv_handle_t *)t, free_handle);
		srv->stats.tcp_refused++;
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->srv = srv;
	c->refs = 1;
	c->handles = 2;
	uv_tcp_init(srv->loop, &c->tcp);
	uv_timer_init(srv->loop, &c->timer);
	c->tcp.data = c;
	c->timer.data = c;
	c->next = srv->conns;
	c->prevp = &srv->conns;
	if (srv->conns != NULL)
		srv->conns->prevp = &c->next;
	srv->conns = c;
	srv->nconns++;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) < 0) {
		conn_close(c);
		return;
	}
	len = sizeof(c->peer);
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer,
	    &len) < 0) {
		conn_close(c);
		return;
	}
	c->peerlen = (socklen_t)len;
	srv->stats.tcp_accepted++;
	uv_tcp_nodelay(&c->tcp, 1);
	conn_touch(c);
	conn_set_reading(c);
}

/* ---- set-up ------------------------------------------------------------ */

/* A bound socket of @p type for @p l. @return the fd or a negative errno. */
static int
open_socket(const struct cfg_listen *l, int type)
{
	int family = l->addr.ss_family;
	int one = 1;
	int fd, err;

	fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
		goto fail;
	if (type == SOCK_STREAM &&
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0)
		goto fail;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
	    &one, sizeof(one)) < 0)
		goto fail;
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/** See server.h. */
struct srv *
srv_new(uv_loop_t *loop, const struct cfg *cfg)
{
	struct srv *srv;

	/* Not calloc'd: the buffers need no zeroing, the rest is set here. */
	srv = malloc(sizeof(*srv));
	if (srv == NULL)
		return NULL;
	memset(srv, 0, offsetof(struct srv, tcp_rbuf));
	srv->loop = loop;
	srv->cfg = cfg;
	srv->hook = default_hook;
	srv->hook_ctx = srv;
	srv->deferred_tail = &srv->deferred;
	if (uv_idle_init(loop, &srv->idle) < 0) {
		free(srv);
		return NULL;
	}
	srv->idle.data = srv;
	srv->open_handles = 1;
	return srv;
}

/** See server.h. */
void
srv_set_hook(struct srv *srv, srv_query_fn fn, void *ctx)
{
	if (fn == NULL) {
		srv->hook = default_hook;
		srv->hook_ctx = srv;
	} else {
		srv->hook = fn;
		srv->hook_ctx = ctx;
	}
}

/** See server.h. */
int
srv_listen(struct srv *srv, const struct cfg_listen *l)
{
	struct srv_udp *u;
	struct srv_tcp *t;
	int ufd, tfd, r;

	if (srv->nlisten >= CFG_MAX_LISTEN || srv->closing)
		return -ENOSPC;
	u = &srv->udp[srv->nlisten];
	t = &srv->tcp[srv->nlisten];
	ufd = open_socket(l, SOCK_DGRAM);
	if (ufd < 0)
		return ufd;
	tfd = open_socket(l, SOCK_STREAM);
	if (tfd < 0) {
		close(ufd);
		return tfd;
	}

	u->srv = srv;
	t->srv = srv;
	snprintf(u->text, sizeof(u->text), "%s", l->text);
	snprintf(t->text, sizeof(t->text), "%s", l->text);
	uv_udp_init(srv->loop, &u->handle);
	uv_tcp_init(srv->loop, &t->handle);
	u->handle.data = u;
	t->handle.data = t;
	srv->open_handles += 2;
	u->open = true;
	t->open = true;
	srv->nlisten++;

	r = uv_udp_open(&u->handle, ufd);
	if (r < 0) {
		close(ufd);
		close(tfd);
		goto fail;
	}
	r = uv_tcp_open(&t->handle, tfd);
	if (r < 0) {
		close(tfd);
		goto fail;
	}
	r = uv_udp_recv_start(&u->handle, udp_alloc, udp_recv);
	if (r < 0)
		goto fail;
	r = uv_listen((uv_stream_t *)&t->handle, 128, tcp_connection);
	if (r < 0)
		goto fail;
	return 0;
fail:
	/* The pair stays in the array, closed; it is skipped from now on. */
	u->open = false;
	t->open = false;
	uv_close((uv_handle_t *)&u->handle, handle_closed);
	uv_close((uv_handle_t *)&t->handle, handle_closed);
	u->handle.data = srv;
	t->handle.data = srv;
	return r;
}

/** See server.h. */
void
srv_set_config(struct srv *srv, const struct cfg *cfg)
{
	srv->cfg = cfg;
}

/** See server.h. */
void
srv_reply(struct srv_req *req, const uint8_t *resp, size_t len)
{
	struct srv *srv = req->srv;

	if (resp == NULL || len < MSG_HDR_LEN) {
		srv_req_drop(req);
		return;
	}
	srv->stats.replies++;
	if (req->transport == SRV_TCP) {
		tcp_send(req->conn, resp, len);
	} else if (len <= req->max_resp) {
		udp_send(req->udp, (struct sockaddr *)&req->client, resp, len);
	} else {
		/* Too big for the client: the frame only, with TC set. */
		uint8_t out[ERR_REPLY_MAX];
		size_t n = msg_error_reply(out, sizeof(out), req->query,
		    &req->q, resp[3] & 0x0f, 0, NULL);

		if (n > 0) {
			out[2] = resp[2] | 0x02;
			out[3] = resp[3];
			udp_send(req->udp, (struct sockaddr *)&req->client,
			    out, n);
		}
	}
	req_release(req);
}

/** See server.h. */
void
srv_reply_error(struct srv_req *req, unsigned rcode, uint16_t ede_code,
    const char *ede_text)
{
	uint8_t out[ERR_REPLY_MAX];
	size_t n;

	n = msg_error_reply(out, sizeof(out), req->query, &req->q, rcode,
	    ede_code, ede_text);
	if (n == 0)
		srv_req_drop(req);
	else
		srv_reply(req, out, n);
}

/** See server.h. */
void
srv_req_drop(struct srv_req *req)
{
	req->srv->stats.dropped++;
	if (req->conn != NULL)
		conn_done_one(req->conn);
	req_release(req);
}

/** See server.h. */
void
srv_get_stats(const struct srv *srv, struct srv_stats *out)
{
	*out = srv->stats;
}

/** See server.h. */
void
srv_close(struct srv *srv)
{
	struct srv_req *req;
	unsigned i;

	if (srv->closing)
		return;
	srv->closing = true;
	req = srv->deferred;
	srv->deferred = NULL;
	srv->deferred_tail = &srv->deferred;
	while (req != NULL) {
		struct srv_req *next = req->next;

		srv_req_drop(req);
		req = next;
	}
	uv_close((uv_handle_t *)&srv->idle, handle_closed);
	for (i = 0; i < srv->nlisten; i++) {
		if (srv->udp[i].open) {
			srv->udp[i].open = false;
			srv->udp[i].handle.data = srv;
			uv_close((uv_handle_t *)&srv->udp[i].handle,
			    handle_closed);
		}
		if (srv->tcp[i].open) {
			srv->tcp[i].open = false;
			srv->tcp[i].handle.data = srv;
			uv_close((uv_handle_t *)&srv->tcp[i].handle,
			    handle_closed);
		}
	}
	while (srv->conns != NULL)
		conn_close(srv->conns);
}

/** See server.h. */
int
srv_free(struct srv *srv)
{
	if (srv == NULL)
		return 0;
	if (srv->nreqs > 0 || srv->open_handles > 0 || srv->conns != NULL)
		return -EBUSY;
	while (srv->pool != NULL) {
		struct srv_req *req = srv->pool;

		srv->pool = req->next;
		free(req);
	}
	free(srv);
	return 0;
}
