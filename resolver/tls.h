/**
 * @file tls.h
 * DNS over TLS for clients (RFC 7858) with GnuTLS: the certificate and key
 * of `tls:`, and one TLS session per client connection, driven without a
 * socket of its own.
 *
 * A session is a filter between the bytes of a TCP connection and the DNS
 * messages on it. The server (resolver/server.c) reads the connection with
 * libuv as it reads a plain TCP one and hands every read to
 * tls_conn_input(), which runs the handshake and passes the decrypted bytes
 * on (length-prefixed DNS messages, processed as TCP's are: pipelining,
 * the idle timeout, the client cap); an answer goes through
 * tls_conn_send(). Whatever the session has to send (handshake records,
 * session tickets, answers, alerts) collects in its output, which the
 * server writes with libuv after each call (tls_conn_output()). Nothing
 * here blocks: a client that stalls mid-handshake leaves its session
 * waiting for bytes, and the server's timer closes it.
 *
 * TLS 1.3 and 1.2 only, ALPN "dot" (RFC 8310) when the client offers it,
 * resumption by session tickets whose key is made at start (kept across
 * reloads, shared by every worker thread: a ticket from one thread resumes
 * on another).
 *
 * Threads: one struct tls_ctx for the process; tls_ctx_reload() from the
 * main thread while workers make sessions from it (the credentials are
 * reference-counted: a session keeps the pair it started with). A struct
 * tls_conn belongs to the thread of its connection.
 *
 * A libuv-side module (it links GnuTLS), though it uses no libuv itself.
 */
#ifndef RESOLVERD_TLS_H
#define RESOLVERD_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/** A handshake not done this long after the connection (or the idle
 *  timeout, when shorter) closes it. */
#define TLS_HANDSHAKE_MS 5000

struct tls_ctx;
struct tls_conn;

/**
 * Load the certificate (chain) and key of @p c->tls (files seen from inside
 * the chroot @p root, NULL: none) and make the session ticket key.
 * @return 0 with the context in @p *out, or a negative errno with
 * "FILE:LINE: tls.key: PATH: reason" (the key or file concerned) in
 * @p err.
 */
int tls_ctx_new(struct tls_ctx **out, const struct cfg *c, const char *root,
    char *err, size_t errlen);

/**
 * Load the pair of @p c again (SIGHUP: a renewed certificate). On success
 * new connections use it; on failure the pair in use is kept.
 * @return 0, or a negative errno with the reason in @p err.
 */
int tls_ctx_reload(struct tls_ctx *t, const struct cfg *c, const char *root,
    char *err, size_t errlen);

/** Free @p t (NULL: no-op) once no session made from it is left. */
void tls_ctx_free(struct tls_ctx *t);

/** A server session with @p t's current pair. @return NULL when out of
 *  memory or GnuTLS refused. */
struct tls_conn *tls_conn_new(struct tls_ctx *t);

/** Free @p s (NULL: no-op). */
void tls_conn_free(struct tls_conn *s);

/** Called with decrypted bytes; @return false to stop (the connection is
 *  closing). */
typedef bool (*tls_plain_fn)(void *arg, const uint8_t *p, size_t n);

/** What tls_conn_input() saw: a bit set. */
enum {
	TLS_IN_READY = 1, /**< the handshake completed in this call */
	TLS_IN_EOF = 2,   /**< the client closed the session (close_notify) */
	TLS_IN_ERROR = 4  /**< fatal: close the connection (tls_conn_error) */
};

/**
 * Take @p n bytes read from the connection: continue the handshake, then
 * decrypt every complete record and pass its bytes to @p fn (in a buffer
 * valid during the call only). A partial record is kept for the next call.
 * @return the TLS_IN_* bits.
 */
unsigned tls_conn_input(struct tls_conn *s, const uint8_t *in, size_t n,
    tls_plain_fn fn, void *arg);

/** Is the handshake done (answers may be sent)? */
bool tls_conn_ready(const struct tls_conn *s);

/** Was the session resumed from a ticket? (After the handshake.) */
bool tls_conn_resumed(const struct tls_conn *s);

/** The protocol version agreed, "TLS1.3", or "-" before the handshake. */
const char *tls_conn_version(const struct tls_conn *s);

/** Why the last call failed, for the log. */
const char *tls_conn_error(const struct tls_conn *s);

/**
 * Encrypt the DNS message @p msg of @p len bytes with its 2-byte length
 * into the output. @return 0, or -1 (the session is broken: close).
 */
int tls_conn_send(struct tls_conn *s, const uint8_t *msg, size_t len);

/** Add a close_notify alert to the output (best effort). */
void tls_conn_bye(struct tls_conn *s);

/** The bytes waiting to be written to the connection (@p *len of them;
 *  NULL when none). Valid until tls_conn_output_done() or the next call. */
const uint8_t *tls_conn_output(const struct tls_conn *s, size_t *len);

/** The output was copied away: empty it. */
void tls_conn_output_done(struct tls_conn *s);

#endif
