/*
 * upstream.c: one exchange with one authoritative server over UDP or TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/upstream.h"

#define UP_UDP_BUF 4096

struct up_query {
	union {
		uv_udp_t udp;
		uv_tcp_t tcp;
	} h;              /* h.udp.data = this */
	uv_timer_t timer; /* timer.data = this */
	uv_connect_t connect;
	uv_write_t write;
	bool tcp;
	bool done; /* no more callbacks */
	int open;  /* handles not yet closed */
	up_cb cb;
	void *arg;
	struct up_stats *stats;
	struct sockaddr_storage to;
	uint8_t out[2 + sizeof(((struct iter_action *)0)->pkt)];
	size_t outlen;
	uint8_t *in; /* owned; malloc'd, TCP: 2 + 65535, UDP: UP_UDP_BUF */
	size_t inlen;
};

static void
on_close(uv_handle_t *h)
{
	struct up_query *u = h->data;

	if (--u->open == 0) {
		free(u->in);
		free(u);
	}
}

static void
finish(struct up_query *u)
{
	if (u->done)
		return;
	u->done = true;
	uv_timer_stop(&u->timer);
	uv_close((uv_handle_t *)&u->timer, on_close);
	uv_close((uv_handle_t *)&u->h, on_close);
}

/* Report a timeout (@p err 0) or an error once, then close. */
static void
fail(struct up_query *u, int err)
{
	if (u->done)
		return;
	up_cb cb = u->cb;
	void *arg = u->arg;
	finish(u);
	cb(arg, NULL, NULL, 0, err);
}

static void
on_timer(uv_timer_t *t)
{
	struct up_query *u = t->data;

	STAT_INC(u->stats->timeouts);
	fail(u, 0);
}

static void
udp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct up_query *u = h->data;

	(void)hint;
	*buf = uv_buf_init((char *)u->in, UP_UDP_BUF);
}

/* A read callback's first word: true when the exchange is over already,
 * or ends now on the error @p n < 0 (counted, and the caller told). */
static bool
read_over(struct up_query *u, ssize_t n)
{
	if (u->done)
		return true;
	if (n >= 0)
		return false;
	STAT_INC(u->stats->errors);
	fail(u, (int)n);
	return true;
}

static void
udp_recv(uv_udp_t *h, ssize_t n, const uv_buf_t *buf,
    const struct sockaddr *from, unsigned flags)
{
	struct up_query *u = h->data;

	(void)buf;
	/* (n < 0: ICMP port unreachable and the like: the server is not
	 * there) */
	if (read_over(u, n))
		return;
	if (n == 0 || from == NULL)
		return;
	if (flags & UV_UDP_PARTIAL)
		return; /* larger than we asked for: not a reply of ours */
	if (!u->cb(u->arg, from, u->in, (size_t)n, 0))
		finish(u);
}

static void
tcp_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct up_query *u = h->data;

	(void)hint;
	*buf = uv_buf_init(
	    (char *)u->in + u->inlen, (unsigned)(2 + 65535 - u->inlen));
}

static void
tcp_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct up_query *u = s->data;

	(void)buf;
	/* (n < 0: EOF or a reset before a reply was accepted) */
	if (read_over(u, n))
		return;
	u->inlen += (size_t)n;
	/* Every complete message on the connection goes to the callback; one
	 * it ignores (another ID, another question) leaves the exchange
	 * waiting, as on UDP, for a later message or the timer. */
	while (u->inlen >= 2) {
		size_t want = (size_t)(u->in[0] << 8 | u->in[1]);
		if (u->inlen < 2 + want)
			return;
		if (!u->cb(u->arg, (struct sockaddr *)&u->to, u->in + 2, want,
		        0)) {
			finish(u);
			return;
		}
		memmove(u->in, u->in + 2 + want, u->inlen - 2 - want);
		u->inlen -= 2 + want;
	}
}

static void
tcp_written(uv_write_t *w, int status)
{
	struct up_query *u = w->data;

	if (status < 0 && !u->done) {
		STAT_INC(u->stats->errors);
		fail(u, status);
	}
}

static void
tcp_connected(uv_connect_t *c, int status)
{
	struct up_query *u = c->data;
	uv_buf_t b;

	if (u->done)
		return;
	if (status == 0)
		status = uv_read_start(
		    (uv_stream_t *)&u->h.tcp, tcp_alloc, tcp_read);
	if (status < 0) {
		STAT_INC(u->stats->errors);
		fail(u, status);
		return;
	}
	b = uv_buf_init((char *)u->out, (unsigned)u->outlen);
	u->write.data = u;
	status =
	    uv_write(&u->write, (uv_stream_t *)&u->h.tcp, &b, 1, tcp_written);
	if (status < 0) {
		STAT_INC(u->stats->errors);
		fail(u, status);
	}
}

static int
start_udp(struct up_query *u, uv_loop_t *loop)
{
	struct sockaddr_storage any;
	uv_buf_t b;
	int rc;

	memset(&any, 0, sizeof(any));
	any.ss_family = u->to.ss_family;
	if ((rc = uv_udp_init(loop, &u->h.udp)) < 0)
		return rc;
	u->open++;
	u->h.udp.data = u;
	/* port 0: a fresh random ephemeral port for this query alone */
	if ((rc = uv_udp_bind(&u->h.udp, (struct sockaddr *)&any, 0)) < 0)
		return rc;
	/* connected: the kernel passes on only datagrams from the server,
	 * and reports its ICMP port unreachable at once (a server that is
	 * not there costs no timeout, and no retransmissions) */
	if ((rc = uv_udp_connect(&u->h.udp, (struct sockaddr *)&u->to)) < 0)
		return rc;
	if ((rc = uv_udp_recv_start(&u->h.udp, udp_alloc, udp_recv)) < 0)
		return rc;
	b = uv_buf_init((char *)u->out + 2, (unsigned)(u->outlen - 2));
	rc = uv_udp_try_send(&u->h.udp, &b, 1, NULL);
	if (rc < 0)
		return rc;
	STAT_INC(u->stats->udp_sent);
	return 0;
}

static int
start_tcp(struct up_query *u, uv_loop_t *loop)
{
	int rc;

	if ((rc = uv_tcp_init(loop, &u->h.tcp)) < 0)
		return rc;
	u->open++;
	u->h.tcp.data = u;
	u->connect.data = u;
	rc = uv_tcp_connect(
	    &u->connect, &u->h.tcp, (struct sockaddr *)&u->to, tcp_connected);
	if (rc < 0)
		return rc;
	STAT_INC(u->stats->tcp_sent);
	return 0;
}

struct up_query *
up_send(uv_loop_t *loop, const struct iter_action *a, up_cb cb, void *arg,
    struct up_stats *stats, int *err)
{
	struct up_query *u = calloc(1, sizeof(*u));
	int rc;

	*err = UV_ENOMEM;
	if (u == NULL)
		return NULL;
	u->in = malloc(a->tcp ? 2 + 65535 : UP_UDP_BUF);
	if (u->in == NULL) {
		free(u);
		return NULL;
	}
	u->cb = cb;
	u->arg = arg;
	u->stats = stats;
	u->tcp = a->tcp;
	if (a->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&u->to;
		s->sin_family = AF_INET;
		s->sin_port = htons(a->port);
		memcpy(&s->sin_addr, a->addr, 4);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&u->to;
		s->sin6_family = AF_INET6;
		s->sin6_port = htons(a->port);
		memcpy(&s->sin6_addr, a->addr, 16);
	}
	u->out[0] = (uint8_t)(a->len >> 8);
	u->out[1] = (uint8_t)a->len;
	memcpy(u->out + 2, a->pkt, a->len);
	if (a->len > 2 && (a->pkt[2] & 0x01))
		STAT_INC(stats->forwarded);
	u->outlen = a->len + 2;
	uv_timer_init(loop, &u->timer);
	u->timer.data = u;
	u->open++;
	rc = u->tcp ? start_tcp(u, loop) : start_udp(u, loop);
	if (rc < 0) {
		STAT_INC(stats->errors);
		*err = rc;
		u->done = true;
		uv_close((uv_handle_t *)&u->timer, on_close);
		if (u->open > 1)
			uv_close((uv_handle_t *)&u->h, on_close);
		return NULL;
	}
	uv_timer_start(
	    &u->timer, on_timer, a->timeout_ms ? a->timeout_ms : 1, 0);
	*err = 0;
	return u;
}

void
up_cancel(struct up_query *u)
{
	if (u != NULL)
		finish(u);
}
