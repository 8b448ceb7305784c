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
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "resolver/log.h"
#include "resolver/server.h"
#include "resolver/tls.h"

#define EDE_OTHER         0
#define EDE_PROHIBITED    18
#define EDE_NOT_SUPPORTED 21
#define ERR_REPLY_MAX     512
#define IBUF_MAX          (2 * (LIM_MSG_MAX + 2))

/*
 * UDP: each listener is a non-blocking socket watched with uv_poll; when it
 * is readable, recvmmsg reads up to `want` datagrams at once (at most
 * SRV_BATCH) into slots prepared once, and the answers made while the
 * batch is handled (cache hits, errors) are copied into send slots and
 * leave with one sendmmsg at its end. Answers made later (after a
 * resolution) are sent at once. An answer the socket cannot take now waits
 * in a short queue (SRV_UDP_QUEUE) for the socket to become writable;
 * beyond that it is dropped, as a full UDP socket drops.
 */
#define SRV_BATCH      16
#define SRV_RSLOT      4096 /* a longer query is dropped */
#define SRV_SEND_SLOT  LIM_EDNS_BUFSIZE
#define SRV_UDP_QUEUE  256
#define SRV_UDP_ROUNDS 4 /* batches per wake-up, then others' turn */

/** An answer waiting for the socket to become writable. */
struct udp_pend {
	struct udp_pend *next;
	struct sockaddr_in6 to; /**< or a sockaddr_in */
	size_t len;
	uint8_t data[];
};

/** One UDP listener. */
struct srv_udp {
	uv_poll_t poll; /**< poll.data = this */
	int fd;
	struct srv *srv;
	char text[64]; /**< "127.0.0.1@53" */
	bool open;
	bool batching;      /**< handling a batch */
	bool writable_wait; /**< polling for UV_WRITABLE too */
	unsigned want;      /**< slots offered to recvmmsg (1..SRV_BATCH) */
	unsigned nout;      /**< answers waiting in the send slots */
	unsigned npend;
	struct udp_pend *pend, **pend_tail;
	uint8_t *rbuf; /**< owned: SRV_BATCH read slots */
	struct mmsghdr rmsg[SRV_BATCH];
	struct iovec riov[SRV_BATCH];
	struct sockaddr_in6 from[SRV_BATCH];
	struct mmsghdr msg[SRV_BATCH];
	struct iovec iov[SRV_BATCH];
	struct sockaddr_in6 to[SRV_BATCH];
	uint8_t obuf[SRV_BATCH][SRV_SEND_SLOT];
};

/** One TCP listener, or a DNS-over-TLS one. */
struct srv_tcp {
	uv_tcp_t handle; /**< handle.data = this */
	struct srv *srv;
	struct tls_ctx *tls; /**< TLS: borrowed; NULL for plain TCP */
	char text[64];
	bool open;
};

/** See server.h. */
struct srv_shared {
	atomic_uint tcp_clients;   /**< connections held, all threads */
	uint64_t cookie_secret[2]; /**< DNS Cookies (RFC 9018), random */
};

/** The server of one loop: srv_new, srv_close, srv_free. */
struct srv {
	uv_loop_t *loop;
	const struct cfg *cfg; /**< borrowed; see srv_set_config */
	srv_query_fn hook;
	void *hook_ctx;
	struct srv_udp udp[CFG_MAX_LISTEN];
	struct srv_tcp tcp[CFG_MAX_LISTEN];
	unsigned nlisten; /**< listener pairs bound */
	struct srv_tcp tls[CFG_MAX_TLS_LISTEN];
	unsigned ntls;             /**< TLS listeners bound */
	struct srv_conn *conns;    /**< open TCP connections */
	unsigned nconns;           /**< this thread's */
	struct srv_shared *shared; /**< the daemon's (maybe own_shared) */
	struct srv_shared *own_shared;
	struct srv_req *pool; /**< recycled requests */
	unsigned npool;
	unsigned nreqs;        /**< requests live (handed, not done) */
	unsigned open_handles; /**< handles not yet closed */
	uv_idle_t idle;        /**< drives the default hook */
	/* the last access verdict: a client usually sends more than one */
	const struct cfg *acl_cfg; /**< config it was made with; NULL: none */
	uint8_t acl_family;
	uint8_t acl_addr[16];
	bool acl_ok;
	struct srv_req *deferred; /**< default hook's queue (FIFO) */
	struct srv_req **deferred_tail;
	bool closing;
	struct srv_stats stats;
	uint8_t tcp_rbuf[LIM_MSG_MAX + 2]; /**< TCP read buffer, shared */
};

/** One TCP client connection. */
struct srv_conn {
	uv_tcp_t tcp;     /* tcp.data = this */
	uv_timer_t timer; /* idle timer; timer.data = this */
	struct srv *srv;
	struct srv_conn *next; /* in srv->conns while open */
	struct srv_conn **prevp;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	unsigned refs;
	unsigned handles;   /* of tcp and timer, not yet closed */
	unsigned inflight;  /* messages read, not yet answered */
	unsigned resolving; /* of them, requests held by the hook */
	bool closing, reading, busy, eof;
	struct tls_conn *tls; /* owned; DNS over TLS: the session, or NULL */
	uint8_t *ibuf;        /* owned; unprocessed input, or NULL */
	size_t ilen, icap;
};

/** A queued TCP answer: the write request and the framed bytes (or, over
 * TLS, the records the session made). */
struct tcp_write {
	uv_write_t w;
	struct srv_conn *conn; /* a reference held */
	bool answer; /* completes an in-flight message (not a handshake's) */
	uint8_t data[];
};

/* Count an answer of the wire check (or of access) in counter @p f, and
 * over a stream also in f_tcp or f_tls. */
#define STAT_CHECKED(srv, c, f)                         \
	do {                                            \
		STAT_INC((srv)->stats.f);               \
		if ((c) != NULL && (c)->tls != NULL)    \
			STAT_INC((srv)->stats.f##_tls); \
		else if ((c) != NULL)                   \
			STAT_INC((srv)->stats.f##_tcp); \
	} while (0)

static uint16_t get16(const uint8_t *p);
static void handle_closed(uv_handle_t *h);
static void free_handle(uv_handle_t *h);
static struct srv_req *req_new(struct srv *srv, size_t len);
static void req_release(struct srv_req *req);
static void default_hook(void *ctx, struct srv_req *req);
static void idle_cb(uv_idle_t *h);
static void udp_send(struct srv_udp *u, const struct sockaddr *to,
    const uint8_t *data, size_t len);
static void udp_poll_cb(uv_poll_t *h, int status, int events);
static void handle_query(struct srv *srv, struct srv_udp *u, struct srv_conn *c,
    const struct sockaddr *from, const uint8_t *pkt, size_t len);
static void error_reply(struct srv *srv, struct srv_udp *u, struct srv_conn *c,
    const struct sockaddr *from, const uint8_t *pkt, const struct msg_query *q,
    unsigned rcode, uint16_t ede, const char *text);
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
static void conn_write(struct srv_conn *c, struct tcp_write *tw, size_t n);
static void conn_input(struct srv_conn *c, const uint8_t *p, size_t n);
static void conn_tls_input(struct srv_conn *c, const uint8_t *p, size_t n);
static void conn_tls_flush(struct srv_conn *c, bool answer);
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
	/* every other field is set by handle_query (clearing ~250 bytes
	 * was a tenth of a cache hit's instructions) */
	req->conn = NULL;
	req->udp = NULL;
	req->next = NULL;
	req->data = NULL;
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

		srv_reply_error(req, DNS_RCODE_SERVFAIL, EDE_OTHER,
		    "no resolver attached to this server");
		req = next;
	}
}

/* ---- UDP --------------------------------------------------------------- */

static socklen_t
sa_len(const struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
	                                 : sizeof(struct sockaddr_in);
}

/* The socket is full for now: keep the answer for later. */
static bool
send_would_block(int err)
{
	return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

static void
udp_watch(struct srv_udp *u, bool writable)
{
	if (u->writable_wait == writable || !u->open)
		return;
	u->writable_wait = writable;
	uv_poll_start(
	    &u->poll, UV_READABLE | (writable ? UV_WRITABLE : 0), udp_poll_cb);
}

/* Keep a copy of an answer the socket could not take; bounded. */
static void
udp_queue(struct srv_udp *u, const struct sockaddr *to, const uint8_t *data,
    size_t len)
{
	struct udp_pend *p;

	if (!u->open || u->npend >= SRV_UDP_QUEUE ||
	    (p = malloc(sizeof(*p) + len)) == NULL) {
		STAT_INC(u->srv->stats.dropped);
		return;
	}
	p->next = NULL;
	memcpy(&p->to, to, sa_len(to));
	p->len = len;
	memcpy(p->data, data, len);
	*u->pend_tail = p;
	u->pend_tail = &p->next;
	u->npend++;
	udp_watch(u, true);
}

/* Send what waits, in order, until the socket is full again. */
static void
udp_drain(struct srv_udp *u)
{
	struct udp_pend *p;

	while ((p = u->pend) != NULL) {
		ssize_t r;

		do
			r = sendto(u->fd, p->data, p->len, MSG_DONTWAIT,
			    (struct sockaddr *)&p->to,
			    sa_len((struct sockaddr *)&p->to));
		while (r < 0 && errno == EINTR);
		if (r < 0 && send_would_block(errno))
			return;
		if (r < 0)
			STAT_INC(u->srv->stats.dropped);
		u->pend = p->next;
		if (u->pend == NULL)
			u->pend_tail = &u->pend;
		u->npend--;
		free(p);
	}
	udp_watch(u, false);
}

static void
udp_discard(struct srv_udp *u)
{
	while (u->pend != NULL) {
		struct udp_pend *p = u->pend;

		u->pend = p->next;
		free(p);
	}
	u->pend_tail = &u->pend;
	u->npend = 0;
}

/* Send one answer now, or queue it behind those already waiting. */
static void
udp_send_now(struct srv_udp *u, const struct sockaddr *to, const uint8_t *data,
    size_t len)
{
	ssize_t r;

	if (u->pend != NULL) {
		udp_queue(u, to, data, len);
		return;
	}
	do
		r = sendto(u->fd, data, len, MSG_DONTWAIT, to, sa_len(to));
	while (r < 0 && errno == EINTR);
	if (r >= 0)
		return;
	if (send_would_block(errno)) {
		udp_queue(u, to, data, len);
		return;
	}
	log_debug("udp send on %s: %s", u->text, strerror(errno));
	STAT_INC(u->srv->stats.dropped);
}

/* Send the answers gathered during a batch with sendmmsg; an answer the
 * kernel refuses is dropped, what does not fit now is queued. */
static void
udp_flush(struct srv_udp *u)
{
	unsigned n = u->nout, i = 0;

	u->nout = 0;
	if (!u->open) {
		STAT_ADD(u->srv->stats.dropped, n);
		return;
	}
	while (i < n) {
		int r;

		if (u->pend != NULL)
			break;
		do
			r = sendmmsg(u->fd, u->msg + i, n - i, MSG_DONTWAIT);
		while (r < 0 && errno == EINTR);
		if (r > 0) {
			i += (unsigned)r;
		} else if (send_would_block(errno)) {
			break;
		} else {
			log_debug(
			    "udp send on %s: %s", u->text, strerror(errno));
			STAT_INC(u->srv->stats.dropped);
			i++;
		}
	}
	for (; i < n; i++)
		udp_queue(u, (struct sockaddr *)&u->to[i], u->obuf[i],
		    u->iov[i].iov_len);
}

/* Send @p data to @p to from @p u: inside a batch, into a send slot (a
 * copy: the caller's buffer is reused at once); otherwise now. */
static void
udp_send(struct srv_udp *u, const struct sockaddr *to, const uint8_t *data,
    size_t len)
{
	unsigned i;

	if (!u->open) {
		STAT_INC(u->srv->stats.dropped);
		return;
	}
	if (!u->batching || len > SRV_SEND_SLOT) {
		udp_send_now(u, to, data, len);
		return;
	}
	if (u->nout == SRV_BATCH)
		udp_flush(u);
	i = u->nout++;
	memcpy(u->obuf[i], data, len);
	memcpy(&u->to[i], to, sa_len(to));
	u->iov[i].iov_len = len;
	u->msg[i].msg_hdr.msg_namelen = sa_len(to);
}

/* The slots, prepared once: only the lengths change per datagram. */
static void
udp_slots_init(struct srv_udp *u)
{
	memset(u->rmsg, 0, sizeof(u->rmsg));
	memset(u->msg, 0, sizeof(u->msg));
	for (unsigned i = 0; i < SRV_BATCH; i++) {
		u->riov[i].iov_base = u->rbuf + (size_t)i * SRV_RSLOT;
		u->riov[i].iov_len = SRV_RSLOT;
		u->rmsg[i].msg_hdr.msg_iov = &u->riov[i];
		u->rmsg[i].msg_hdr.msg_iovlen = 1;
		u->rmsg[i].msg_hdr.msg_name = &u->from[i];
		u->iov[i].iov_base = u->obuf[i];
		u->msg[i].msg_hdr.msg_iov = &u->iov[i];
		u->msg[i].msg_hdr.msg_iovlen = 1;
		u->msg[i].msg_hdr.msg_name = &u->to[i];
	}
}

/*
 * Readable: read batches until the socket is empty (at most
 * SRV_UDP_ROUNDS of them, so other handles get their turn), handle each
 * datagram, send the batch's answers. The batch size follows the load:
 * twice as many slots after a batch that filled them all, as many as came
 * after one that did not (a recvmmsg offering 16 slots to a socket holding
 * one datagram costs more than it saves).
 */
static void
udp_poll_cb(uv_poll_t *h, int status, int events)
{
	struct srv_udp *u = h->data;
	struct srv *srv = u->srv;

	if (status < 0) {
		log_debug("udp poll on %s: %s", u->text, uv_strerror(status));
		return;
	}
	if (events & UV_WRITABLE)
		udp_drain(u);
	if (!(events & UV_READABLE))
		return;
	for (unsigned round = 0; round < SRV_UDP_ROUNDS && u->open; round++) {
		unsigned want = u->want;
		int n;

		for (unsigned i = 0; i < want; i++)
			u->rmsg[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
		do
			n = recvmmsg(u->fd, u->rmsg, want, MSG_DONTWAIT, NULL);
		while (n < 0 && errno == EINTR);
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				log_debug("udp recv on %s: %s", u->text,
				    strerror(errno));
			break;
		}
		u->batching = true;
		for (int i = 0; i < n && u->open; i++) {
			const struct msghdr *m = &u->rmsg[i].msg_hdr;

			STAT_INC(srv->stats.udp_queries);
			if (m->msg_flags & MSG_TRUNC) {
				STAT_INC(srv->stats.dropped);
				continue;
			}
			handle_query(srv, u, NULL,
			    (struct sockaddr *)m->msg_name,
			    u->rbuf + (size_t)i * SRV_RSLOT,
			    u->rmsg[i].msg_len);
		}
		u->batching = false;
		udp_flush(u);
		if ((unsigned)n >= want) {
			u->want = want * 2 > SRV_BATCH ? SRV_BATCH : want * 2;
		} else {
			u->want = (unsigned)n;
			break; /* the socket is empty */
		}
	}
}

/* Stop a listener: the poll handle is closed (its watcher stops at once,
 * so the socket can be closed now), waiting answers are dropped. */
static void
udp_close(struct srv *srv, struct srv_udp *u)
{
	u->open = false;
	u->poll.data = srv;
	uv_close((uv_handle_t *)&u->poll, handle_closed);
	close(u->fd);
	u->fd = -1;
	udp_discard(u);
}

/* A TCP listener of @p srv (a plain one or DNS over TLS), counted among
 * its open handles. */
static void
tcp_init(struct srv *srv, struct srv_tcp *t)
{
	uv_tcp_init(srv->loop, &t->handle);
	t->handle.data = t;
	srv->open_handles++;
	t->open = true;
}

/* Listen with @p t on socket @p fd (closed here if @p t cannot take it). */
static int
tcp_start(struct srv_tcp *t, int fd)
{
	int r = uv_tcp_open(&t->handle, fd);

	if (r < 0) {
		close(fd);
		return r;
	}
	return uv_listen((uv_stream_t *)&t->handle, 128, tcp_connection);
}

static void
tcp_close(struct srv *srv, struct srv_tcp *t)
{
	t->open = false;
	t->handle.data = srv;
	uv_close((uv_handle_t *)&t->handle, handle_closed);
}

/* ---- the query path, both transports ---------------------------------- */

/* Answer an error at once, on UDP (@p u) or TCP (@p c). */
static void
error_reply(struct srv *srv, struct srv_udp *u, struct srv_conn *c,
    const struct sockaddr *from, const uint8_t *pkt, const struct msg_query *q,
    unsigned rcode, uint16_t ede, const char *text)
{
	uint8_t out[ERR_REPLY_MAX];
	size_t n;

	n = msg_error_reply(out, sizeof(out), pkt, q, rcode, ede, text);
	if (n == 0) {
		STAT_INC(srv->stats.dropped);
		if (c != NULL)
			conn_done_one(c);
		return;
	}
	if (c != NULL)
		tcp_send(c, out, n);
	else
		udp_send(u, from, out, n);
}

/* cfg_access_allowed, remembering the last client's verdict. */
static bool
access_allowed(struct srv *srv, const struct sockaddr *from)
{
	const uint8_t *a;
	size_t n;

	if (from->sa_family == AF_INET) {
		a = (const uint8_t *)&(
		    (const struct sockaddr_in *)(const void *)from)
		        ->sin_addr;
		n = 4;
	} else if (from->sa_family == AF_INET6) {
		a = ((const struct sockaddr_in6 *)(const void *)from)
		        ->sin6_addr.s6_addr;
		n = 16;
	} else {
		return cfg_access_allowed(srv->cfg, from);
	}
	if (srv->acl_cfg == srv->cfg && srv->acl_family == from->sa_family &&
	    memcmp(srv->acl_addr, a, n) == 0)
		return srv->acl_ok;
	srv->acl_ok = cfg_access_allowed(srv->cfg, from);
	srv->acl_cfg = srv->cfg;
	srv->acl_family = (uint8_t)from->sa_family;
	memcpy(srv->acl_addr, a, n);
	return srv->acl_ok;
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
	enum msg_verdict v = msg_check_query(pkt, len, &q);
	uint16_t ede = 0;
	const char *ede_text = NULL; /* no EDE option */

	/* a client that sent a cookie gets ours back, with every answer */
	if (q.cookie != NULL && v != MSG_DROP)
		msg_server_cookie(
		    &q, from, srv->shared->cookie_secret, (uint32_t)time(NULL));
	switch (v) {
	case MSG_OK:
		break;
	case MSG_DROP:
		STAT_INC(srv->stats.dropped);
		if (c != NULL)
			conn_done_one(c);
		return;
	case MSG_REPLY_FORMERR:
		STAT_CHECKED(srv, c, formerr);
		break;
	case MSG_REPLY_NOTIMP:
		STAT_CHECKED(srv, c, notimp);
		break;
	case MSG_REPLY_BADVERS:
		STAT_CHECKED(srv, c, badvers);
		break;
	case MSG_REPLY_REFUSED:
		STAT_CHECKED(srv, c, refused);
		STAT_ADD(srv->stats.ede_not_supported, q.edns);
		ede = EDE_NOT_SUPPORTED;
		ede_text = "";
		break;
	}
	if (v == MSG_OK && !access_allowed(srv, from)) {
		STAT_CHECKED(srv, c, refused);
		STAT_ADD(srv->stats.ede_prohibited, q.edns);
		v = MSG_REPLY_REFUSED;
		ede = EDE_PROHIBITED;
		ede_text = "";
	}
	if (v != MSG_OK) {
		error_reply(srv, u, c, from, pkt, &q, msg_verdict_rcode(v), ede,
		    ede_text);
		return;
	}

	req = req_new(srv, len);
	if (req == NULL) {
		error_reply(srv, u, c, from, pkt, &q, DNS_RCODE_SERVFAIL,
		    EDE_OTHER, "out of memory");
		return;
	}
	srv->nreqs++;
	STAT_INC(srv->stats.handed);
	memcpy(req->query, pkt, len);
	req->len = len;
	req->q = q;
	req->q.qname = req->query + DNS_HDR_LEN;
	if (q.cookie != NULL)
		req->q.cookie = req->query + (q.cookie - pkt);
	if (from->sa_family == AF_INET6) {
		memcpy(&req->client, from, sizeof(struct sockaddr_in6));
		req->clientlen = sizeof(struct sockaddr_in6);
	} else {
		memcpy(&req->client, from, sizeof(struct sockaddr_in));
		req->clientlen = sizeof(struct sockaddr_in);
	}
	if (c != NULL) {
		req->transport = SRV_TCP;
		req->tls = c->tls != NULL;
		req->conn = c;
		c->refs++;
		c->resolving++;
		req->max_resp = LIM_MSG_MAX;
	} else {
		req->transport = SRV_UDP;
		req->tls = false;
		req->udp = u;
		req->max_resp = q.edns
		    ? (q.udp_size < LIM_EDNS_BUFSIZE ? q.udp_size
		                                     : LIM_EDNS_BUFSIZE)
		    : LIM_UDP_NOEDNS;
	}
	srv->hook(srv->hook_ctx, req);
}

/* ---- TCP connections --------------------------------------------------- */

static void
conn_unref(struct srv_conn *c)
{
	if (--c->refs > 0)
		return;
	tls_conn_free(c->tls);
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
	/* a TLS client is told, if its socket takes it now */
	if (c->tls != NULL && tls_conn_ready(c->tls)) {
		size_t n;
		const uint8_t *p;

		tls_conn_bye(c->tls);
		p = tls_conn_output(c->tls, &n);
		if (p != NULL) {
			uv_buf_t b = uv_buf_init((char *)p, (unsigned)n);

			(void)uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
		}
		tls_conn_output_done(c->tls);
	}
	c->closing = true;
	*c->prevp = c->next;
	if (c->next != NULL)
		c->next->prevp = c->prevp;
	c->srv->nconns--;
	atomic_fetch_sub_explicit(
	    &c->srv->shared->tcp_clients, 1, memory_order_relaxed);
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
	/* a TLS handshake has a deadline of its own, which bytes that come
	 * one by one do not push back */
	if (c->tls != NULL && !tls_conn_ready(c->tls) && ms > TLS_HANDSHAKE_MS)
		ms = TLS_HANDSHAKE_MS;
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
	if (c->tls != NULL && !tls_conn_ready(c->tls))
		STAT_INC(c->srv->stats.tls_handshake_timeouts);
	else
		STAT_INC(c->srv->stats.tcp_timeouts);
	conn_close(c);
}

/* Read while fewer than LIM_TCP_PIPELINE answers are outstanding. */
static void
conn_set_reading(struct srv_conn *c)
{
	bool want = !c->closing && !c->eof && c->inflight < LIM_TCP_PIPELINE;

	if (want && !c->reading) {
		if (uv_read_start((uv_stream_t *)&c->tcp, tcp_alloc, tcp_read) <
		    0) {
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

		if (mlen < DNS_HDR_LEN) {
			STAT_INC(srv->stats.tcp_closed_bad);
			conn_close(c);
			break;
		}
		if (n - off - 2 < mlen)
			break;
		if (c->tls != NULL)
			STAT_INC(srv->stats.tls_queries);
		else
			STAT_INC(srv->stats.tcp_queries);
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
	if (c->tls != NULL)
		conn_tls_input(c, p, n);
	else
		conn_input(c, p, n);
	if (!c->closing)
		conn_set_reading(c);
	conn_unref(c);
}

/* The DNS bytes of a connection: process the complete messages, keep the
 * rest. */
static void
conn_input(struct srv_conn *c, const uint8_t *p, size_t n)
{
	size_t used;

	if (c->ilen == 0) {
		used = conn_consume(c, p, n);
		if (!c->closing && used < n &&
		    conn_keep(c, p + used, n - used) < 0)
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
}

/* ---- DNS over TLS: the same connections, through a session ----------- */

static bool
conn_plain(void *arg, const uint8_t *p, size_t n)
{
	struct srv_conn *c = arg;

	conn_input(c, p, n);
	return !c->closing;
}

/* Bytes read from a TLS connection: the handshake, then DNS bytes as a
 * TCP connection's; what the session has to say goes out at once. */
static void
conn_tls_input(struct srv_conn *c, const uint8_t *p, size_t n)
{
	struct srv *srv = c->srv;
	unsigned ev = tls_conn_input(c->tls, p, n, conn_plain, c);

	if (ev & TLS_IN_READY) {
		STAT_INC(srv->stats.tls_handshakes);
		STAT_ADD(srv->stats.tls_resumed, tls_conn_resumed(c->tls));
		conn_touch(c); /* from now on, the idle timeout */
	}
	conn_tls_flush(c, false);
	if (ev & TLS_IN_ERROR) {
		if (log_enabled(CFG_LOG_DEBUG)) {
			char a[INET6_ADDRSTRLEN] = "?";

			if (c->peer.ss_family == AF_INET6)
				uv_ip6_name((struct sockaddr_in6 *)&c->peer, a,
				    sizeof(a));
			else
				uv_ip4_name((struct sockaddr_in *)&c->peer, a,
				    sizeof(a));
			log_debug("tls from %s: %s%s", a,
			    tls_conn_error(c->tls),
			    tls_conn_ready(c->tls) ? ""
			                           : " (in the handshake)");
		}
		STAT_INC(srv->stats.tls_failed);
		conn_close(c);
	} else if ((ev & TLS_IN_EOF) && !c->closing) {
		/* close_notify: answer what was asked, then close */
		c->eof = true;
		if (c->inflight == 0)
			conn_close(c);
	}
}

/* Write what the session made: handshake records, tickets, alerts, or
 * (@p answer) the records of an answer, which complete one in-flight
 * message when written. */
static void
conn_tls_flush(struct srv_conn *c, bool answer)
{
	struct tcp_write *tw;
	const uint8_t *p;
	size_t n;

	p = tls_conn_output(c->tls, &n);
	if (p == NULL || c->closing) {
		tls_conn_output_done(c->tls);
		if (answer)
			conn_done_one(c);
		return;
	}
	tw = malloc(sizeof(*tw) + n);
	if (tw == NULL) {
		tls_conn_output_done(c->tls);
		conn_close(c);
		if (answer)
			conn_done_one(c);
		return;
	}
	tw->answer = answer;
	memcpy(tw->data, p, n);
	tls_conn_output_done(c->tls);
	conn_write(c, tw, n);
}

static void
tcp_write_cb(uv_write_t *w, int status)
{
	struct tcp_write *tw = (struct tcp_write *)w;
	struct srv_conn *c = tw->conn;
	bool answer = tw->answer;

	free(tw);
	if (status < 0) {
		if (status != UV_ECANCELED)
			log_debug("tcp write: %s", uv_strerror(status));
		conn_close(c);
	} else if (answer) {
		conn_touch(c);
	}
	if (answer)
		conn_done_one(c);
	conn_unref(c);
}

/* Write @p data with its 2-byte length; completes one in-flight message. */
static void
tcp_send(struct srv_conn *c, const uint8_t *data, size_t len)
{
	struct tcp_write *tw;

	if (c->closing || len > LIM_MSG_MAX) {
		STAT_INC(c->srv->stats.dropped);
		conn_done_one(c);
		return;
	}
	if (c->tls != NULL) {
		if (tls_conn_send(c->tls, data, len) < 0) {
			log_debug("tls write: %s", tls_conn_error(c->tls));
			tls_conn_output_done(c->tls);
			conn_close(c);
			conn_done_one(c);
			return;
		}
		conn_tls_flush(c, true);
		return;
	}
	tw = malloc(sizeof(*tw) + 2 + len);
	if (tw == NULL) {
		conn_close(c);
		conn_done_one(c);
		return;
	}
	tw->answer = true;
	tw->data[0] = (uint8_t)(len >> 8);
	tw->data[1] = (uint8_t)len;
	memcpy(tw->data + 2, data, len);
	conn_write(c, tw, len + 2);
}

/* Queue the @p n bytes of @p tw (owned from now on) on @p c. */
static void
conn_write(struct srv_conn *c, struct tcp_write *tw, size_t n)
{
	bool answer = tw->answer;
	uv_buf_t b = uv_buf_init((char *)tw->data, (unsigned)n);
	int r;

	tw->conn = c;
	r = uv_write(&tw->w, (uv_stream_t *)&c->tcp, &b, 1, tcp_write_cb);
	if (r < 0) {
		log_debug("tcp write: %s", uv_strerror(r));
		free(tw);
		conn_close(c);
		if (answer)
			conn_done_one(c);
		return;
	}
	c->refs++; /* for tcp_write_cb, which libuv never calls from here */
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
	/* the bound is the daemon's: every thread counts into one number */
	if (atomic_fetch_add_explicit(&srv->shared->tcp_clients, 1,
	        memory_order_relaxed) >= srv->cfg->tcp.max_clients) {
		uv_tcp_t *t = malloc(sizeof(*t));

		atomic_fetch_sub_explicit(
		    &srv->shared->tcp_clients, 1, memory_order_relaxed);

		/* Without a handle to accept into, libuv pauses this
		 * listener; the next connection event retries. */
		if (t == NULL)
			return;
		uv_tcp_init(srv->loop, t);
		uv_accept(server, (uv_stream_t *)t);
		uv_close((uv_handle_t *)t, free_handle);
		STAT_INC(srv->stats.tcp_refused);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		atomic_fetch_sub_explicit(
		    &srv->shared->tcp_clients, 1, memory_order_relaxed);
		return;
	}
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
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len) <
	    0) {
		conn_close(c);
		return;
	}
	c->peerlen = (socklen_t)len;
	if (l->tls != NULL) {
		c->tls = tls_conn_new(l->tls);
		if (c->tls == NULL) {
			conn_close(c);
			return;
		}
		STAT_INC(srv->stats.tls_accepted);
	} else {
		STAT_INC(srv->stats.tcp_accepted);
	}
	uv_tcp_nodelay(&c->tcp, 1);
	conn_touch(c);
	conn_set_reading(c);
}

/* ---- set-up ------------------------------------------------------------ */

/* A large receive buffer for a UDP listener: SO_RCVBUFFORCE when the
 * daemon may (root, before dropping privileges), else SO_RCVBUF, which the
 * kernel caps at net.core.rmem_max. Not getting it is not an error. */
static void
udp_rcvbuf(int fd)
{
	int want = LIM_UDP_RCVBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof(want)) ==
	    0)
		return;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
}

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
	if (family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0)
		goto fail;
	if (type == SOCK_DGRAM)
		udp_rcvbuf(fd);
	if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) < 0)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/** See server.h. */
struct srv_shared *
srv_shared_new(void)
{
	struct srv_shared *sh = calloc(1, sizeof(*sh));

	if (sh == NULL)
		return NULL;
	atomic_init(&sh->tcp_clients, 0);
	arc4random_buf(sh->cookie_secret, sizeof(sh->cookie_secret));
	return sh;
}

/** See server.h. */
void
srv_shared_free(struct srv_shared *sh)
{
	free(sh);
}

/** See server.h. */
struct srv *
srv_new(uv_loop_t *loop, const struct cfg *cfg, struct srv_shared *shared)
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
	if (shared == NULL) {
		shared = srv->own_shared = srv_shared_new();
		if (shared == NULL) {
			free(srv);
			return NULL;
		}
	}
	srv->shared = shared;
	if (uv_idle_init(loop, &srv->idle) < 0) {
		srv_shared_free(srv->own_shared);
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
	u->batching = false;
	u->writable_wait = false;
	u->nout = 0;
	u->want = 1;
	u->npend = 0;
	u->pend = NULL;
	u->pend_tail = &u->pend;
	u->rbuf = malloc(SRV_BATCH * SRV_RSLOT);
	if (u->rbuf == NULL) {
		close(ufd);
		close(tfd);
		return -ENOMEM;
	}
	udp_slots_init(u);
	u->fd = ufd;
	r = uv_poll_init(srv->loop, &u->poll, ufd);
	if (r < 0) {
		free(u->rbuf);
		u->rbuf = NULL;
		close(ufd);
		close(tfd);
		return r;
	}
	u->poll.data = u;
	srv->open_handles++;
	u->open = true;
	tcp_init(srv, t);
	srv->nlisten++;

	if ((r = tcp_start(t, tfd)) < 0 ||
	    (r = uv_poll_start(&u->poll, UV_READABLE, udp_poll_cb)) < 0) {
		/* The pair stays in the array, closed; it is skipped from
		 * now on. */
		udp_close(srv, u);
		tcp_close(srv, t);
		return r;
	}
	return 0;
}

/** See server.h. */
int
srv_listen_tls(struct srv *srv, const struct cfg_listen *l, struct tls_ctx *tls)
{
	struct srv_tcp *t;
	int fd, r;

	if (srv->ntls >= CFG_MAX_TLS_LISTEN || srv->closing)
		return -ENOSPC;
	if (tls == NULL)
		return -EINVAL;
	fd = open_socket(l, SOCK_STREAM);
	if (fd < 0)
		return fd;
	t = &srv->tls[srv->ntls];
	t->srv = srv;
	t->tls = tls;
	snprintf(t->text, sizeof(t->text), "%s", l->text);
	tcp_init(srv, t);
	srv->ntls++;
	if ((r = tcp_start(t, fd)) < 0)
		tcp_close(srv, t); /* stays in the array, closed */
	return r;
}

/** See server.h. */
void
srv_set_config(struct srv *srv, const struct cfg *cfg)
{
	srv->cfg = cfg;
	srv->acl_cfg = NULL; /* a new config may reuse the old address */
}

/** See server.h. */
void
srv_reply(struct srv_req *req, const uint8_t *resp, size_t len)
{
	struct srv *srv = req->srv;

	if (resp == NULL || len < DNS_HDR_LEN) {
		srv_req_drop(req);
		return;
	}
	STAT_INC(srv->stats.replies);
	if (req->transport == SRV_TCP) {
		if (req->tls)
			STAT_INC(srv->stats.rcode_tls[resp[3] & 0x0f]);
		else
			STAT_INC(srv->stats.rcode_tcp[resp[3] & 0x0f]);
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
			udp_send(
			    req->udp, (struct sockaddr *)&req->client, out, n);
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

	n = msg_error_reply(
	    out, sizeof(out), req->query, &req->q, rcode, ede_code, ede_text);
	if (n == 0)
		srv_req_drop(req);
	else
		srv_reply(req, out, n);
}

/** See server.h. */
void
srv_req_drop(struct srv_req *req)
{
	STAT_INC(req->srv->stats.dropped);
	if (req->conn != NULL)
		conn_done_one(req->conn);
	req_release(req);
}

/** See server.h. */
void
srv_get_stats(const struct srv *srv, struct srv_stats *out)
{
	/* counter by counter: a struct copy would read the atomics
	 * non-atomically while the server's thread counts */
	const counter_t *in = (const counter_t *)&srv->stats;
	counter_t *o = (counter_t *)out;

	_Static_assert(sizeof(struct srv_stats) % sizeof(counter_t) == 0,
	    "struct srv_stats holds counters only");
	for (size_t i = 0; i < sizeof(*out) / sizeof(counter_t); i++)
		atomic_store_explicit(
		    &o[i], STAT_GET(in[i]), memory_order_relaxed);
}

/** See server.h. */
uint64_t
srv_udp_kernel_drops(const struct srv *srv)
{
	static const char *const files[] = {
	    "/proc/self/net/udp", "/proc/self/net/udp6"};
	unsigned long long inode[CFG_MAX_LISTEN];
	unsigned n = 0;
	uint64_t sum = 0;
	char line[512];

	for (unsigned i = 0; i < srv->nlisten; i++) {
		struct stat st;

		if (srv->udp[i].open && fstat(srv->udp[i].fd, &st) == 0)
			inode[n++] = (unsigned long long)st.st_ino;
	}
	for (unsigned f = 0; f < 2 && n > 0; f++) {
		FILE *fp = fopen(files[f], "r");

		if (fp == NULL)
			continue;
		/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode
		 * ref pointer drops */
		while (fgets(line, sizeof(line), fp) != NULL) {
			unsigned long long ino, drops;

			if (sscanf(line,
			        "%*s %*s %*s %*s %*s %*s %*s %*s %*s "
			        "%llu %*s %*s %llu",
			        &ino, &drops) != 2)
				continue;
			for (unsigned i = 0; i < n; i++)
				if (inode[i] == ino)
					sum += drops;
		}
		fclose(fp);
	}
	return sum;
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
		if (srv->udp[i].open)
			udp_close(srv, &srv->udp[i]);
		if (srv->tcp[i].open)
			tcp_close(srv, &srv->tcp[i]);
	}
	for (i = 0; i < srv->ntls; i++)
		if (srv->tls[i].open)
			tcp_close(srv, &srv->tls[i]);
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
	for (unsigned i = 0; i < srv->nlisten; i++)
		free(srv->udp[i].rbuf);
	srv_shared_free(srv->own_shared);
	free(srv);
	return 0;
}
