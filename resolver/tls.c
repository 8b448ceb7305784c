/*
 * tls.c: DNS over TLS sessions with GnuTLS (see tls.h).
 *
 * GnuTLS reads and writes through the two transport functions below: pull
 * hands it the bytes of the read being processed (and EAGAIN when they are
 * used up: a partial record stays inside GnuTLS until the next read), push
 * appends to the session's output, which the server writes with libuv. So
 * every GnuTLS call returns at once, the handshake included.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "resolver/log.h"
#include "resolver/tls.h"

#define TLS_PRIORITIES                                                       \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-VERS-DTLS-ALL:%SERVER_" \
	"PRECEDENCE"
#define TLS_FILE_MAX   (1 << 20) /* a certificate chain or key file */
#define TLS_RECORD_MAX 16384     /* plaintext of one record */
#define TLS_OUT_KEEP   4096      /* output buffer kept between writes */
#define TLS_CHAIN_MAX  16        /* certificates in the chain file */

/** A certificate chain and its key, shared by the sessions made with it. */
struct tls_creds {
	atomic_uint refs;
	gnutls_certificate_credentials_t cred;
};

struct tls_ctx {
	pthread_mutex_t lock; /* guards cur: taken by workers, swapped by
	                         a reload */
	struct tls_creds *cur;
	gnutls_priority_t prio;
	gnutls_datum_t ticket_key;
};

struct tls_conn {
	gnutls_session_t s;
	struct tls_creds *creds; /* a reference */
	const uint8_t *in;       /* the read being processed */
	size_t in_len, in_off;
	uint8_t *out; /* bytes to write to the client */
	size_t out_len, out_cap;
	bool ready;
	int err; /* the last GnuTLS error */
};

/* Every worker thread decrypts into its own buffer: the bytes are handed
 * on (and what is not processed copied) before tls_conn_input returns. */
static _Thread_local uint8_t plain[TLS_RECORD_MAX];

static int fail(const struct cfg *c, const char *key, char *err, size_t errlen,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* "FILE:LINE: message" at the line of @p key, as configuration errors
 * read. @return -EINVAL. */
static int
fail(const struct cfg *c, const char *key, char *err, size_t errlen,
    const char *fmt, ...)
{
	char msg[1024];
	unsigned line = cfg_key_line(c, key);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->path != NULL && line > 0)
		snprintf(err, errlen, "%s:%u: %s", c->path, line, msg);
	else if (c->path != NULL)
		snprintf(err, errlen, "%s: %s", c->path, msg);
	else
		snprintf(err, errlen, "%s", msg);
	return -EINVAL;
}

/* The whole of @p path into @p d (gnutls_free it). @return 0 or an
 * errno. */
static int
read_file(const char *path, gnutls_datum_t *d)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	size_t n;

	d->data = NULL;
	d->size = 0;
	if (f == NULL)
		return errno;
	if (fstat(fileno(f), &st) < 0) {
		int e = errno;

		fclose(f);
		return e;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TLS_FILE_MAX) {
		fclose(f);
		return S_ISDIR(st.st_mode) ? EISDIR
		    : S_ISREG(st.st_mode)  ? EFBIG
		                           : EINVAL;
	}
	d->data = gnutls_malloc((size_t)st.st_size + 1);
	if (d->data == NULL) {
		fclose(f);
		return ENOMEM;
	}
	n = fread(d->data, 1, (size_t)st.st_size, f);
	if (ferror(f)) {
		int e = errno ? errno : EIO;

		fclose(f);
		gnutls_free(d->data);
		d->data = NULL;
		return e;
	}
	fclose(f);
	d->data[n] = 0;
	d->size = (unsigned)n;
	return 0;
}

static void
creds_unref(struct tls_creds *cr)
{
	if (cr == NULL || atomic_fetch_sub(&cr->refs, 1) != 1)
		return;
	gnutls_certificate_free_credentials(cr->cred);
	free(cr);
}

/* Does @p d hold a PEM block? */
static bool
pem(const gnutls_datum_t *d)
{
	return d->data != NULL &&
	    memmem(d->data, d->size, "-----BEGIN ", 11) != NULL;
}

/* A date for the log: "2026-01-31". */
static void
day(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "?");
}

/*
 * The certificate chain and key of @p c, checked against each other.
 * Each file is read and parsed on its own, so that the message says which
 * one is wrong. A certificate out of its validity period is loaded with a
 * warning: clients will refuse it, but that is theirs to say.
 */
static int
load_pair(const struct cfg *c, const char *root, struct tls_creds **out,
    char *err, size_t errlen)
{
	const char *cpath = cfg_path_in_root(root, c->tls.cert);
	const char *kpath = cfg_path_in_root(root, c->tls.key);
	gnutls_datum_t cd = {NULL, 0}, kd = {NULL, 0};
	gnutls_x509_crt_t crt[TLS_CHAIN_MAX];
	unsigned ncrt = TLS_CHAIN_MAX;
	gnutls_x509_privkey_t pk = NULL;
	struct tls_creds *cr = NULL;
	int r, e, rc = -EINVAL;

	*out = NULL;
	if (cpath == NULL || kpath == NULL)
		return fail(c, cpath ? "tls.key" : "tls.cert", err, errlen,
		    "%s: %s: outside the chroot %s, where a reload cannot see "
		    "it",
		    cpath ? "tls.key" : "tls.cert",
		    cpath ? c->tls.key : c->tls.cert, root);
	if ((e = read_file(cpath, &cd)) != 0)
		return fail(c, "tls.cert", err, errlen, "tls.cert: %s: %s",
		    c->tls.cert, strerror(e));
	if ((e = read_file(kpath, &kd)) != 0) {
		gnutls_free(cd.data);
		return fail(c, "tls.key", err, errlen, "tls.key: %s: %s",
		    c->tls.key, strerror(e));
	}
	/* PEM, or DER when the file has no PEM block: the message is the
	 * one of the format the file is in */
	r = gnutls_x509_crt_list_import(
	    crt, &ncrt, &cd, GNUTLS_X509_FMT_PEM, 0);
	if (r < 0 && !pem(&cd)) {
		ncrt = TLS_CHAIN_MAX;
		r = gnutls_x509_crt_list_import(
		    crt, &ncrt, &cd, GNUTLS_X509_FMT_DER, 0);
	}
	if (r <= 0) {
		fail(c, "tls.cert", err, errlen,
		    "tls.cert: %s: no certificate in it (PEM or DER X.509): "
		    "%s",
		    c->tls.cert, r < 0 ? gnutls_strerror(r) : "empty");
		ncrt = 0;
		goto out;
	}
	ncrt = (unsigned)r;
	if ((r = gnutls_x509_privkey_init(&pk)) < 0) {
		fail(c, "tls.key", err, errlen, "tls.key: %s: %s", c->tls.key,
		    gnutls_strerror(r));
		pk = NULL;
		goto out;
	}
	r = gnutls_x509_privkey_import2(pk, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (r < 0 && !pem(&kd))
		r = gnutls_x509_privkey_import2(
		    pk, &kd, GNUTLS_X509_FMT_DER, NULL, 0);
	if (r < 0) {
		fail(c, "tls.key", err, errlen, "tls.key: %s: %s: %s",
		    c->tls.key,
		    r == GNUTLS_E_DECRYPTION_FAILED
		        ? "an encrypted key (resolverd takes an unencrypted "
		          "one)"
		        : "not a private key (PEM or DER)",
		    gnutls_strerror(r));
		goto out;
	}
	cr = calloc(1, sizeof(*cr));
	if (cr == NULL ||
	    gnutls_certificate_allocate_credentials(&cr->cred) < 0) {
		free(cr);
		cr = NULL;
		rc = -ENOMEM;
		snprintf(err, errlen, "tls: out of memory");
		goto out;
	}
	atomic_init(&cr->refs, 1);
	r = gnutls_certificate_set_x509_key(cr->cred, crt, ncrt, pk);
	if (r < 0) {
		if (r == GNUTLS_E_CERTIFICATE_KEY_MISMATCH)
			fail(c, "tls.key", err, errlen,
			    "tls.key: %s: does not match the certificate in %s",
			    c->tls.key, c->tls.cert);
		else
			fail(c, "tls.key", err, errlen,
			    "tls.key: %s: cannot be used with %s: %s",
			    c->tls.key, c->tls.cert, gnutls_strerror(r));
		creds_unref(cr);
		cr = NULL;
		goto out;
	}
	{
		time_t now = time(NULL);
		time_t from = gnutls_x509_crt_get_activation_time(crt[0]);
		time_t to = gnutls_x509_crt_get_expiration_time(crt[0]);
		char when[32];

		if (to != (time_t)-1 && to < now) {
			day(to, when, sizeof(when));
			log_warn("tls.cert: %s: expired on %s; clients will "
			         "refuse it",
			    c->tls.cert, when);
		} else if (from != (time_t)-1 && from > now) {
			day(from, when, sizeof(when));
			log_warn("tls.cert: %s: not valid before %s; clients "
			         "will refuse it",
			    c->tls.cert, when);
		}
	}
	*out = cr;
	rc = 0;
out:
	for (unsigned i = 0; i < ncrt; i++)
		gnutls_x509_crt_deinit(crt[i]);
	if (pk != NULL)
		gnutls_x509_privkey_deinit(pk);
	gnutls_free(cd.data);
	if (kd.data != NULL) {
		gnutls_memset(kd.data, 0, kd.size);
		gnutls_free(kd.data);
	}
	return rc;
}

/** See tls.h. */
int
tls_ctx_new(struct tls_ctx **out, const struct cfg *c, const char *root,
    char *err, size_t errlen)
{
	struct tls_ctx *t;
	const char *where = NULL;
	int r;

	*out = NULL;
	if (c->tls.cert == NULL || c->tls.key == NULL)
		return fail(c, "tls.listen", err, errlen,
		    "'tls.listen' needs 'tls.cert' and 'tls.key'");
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		snprintf(err, errlen, "tls: out of memory");
		return -ENOMEM;
	}
	pthread_mutex_init(&t->lock, NULL);
	r = gnutls_priority_init(&t->prio, TLS_PRIORITIES, &where);
	if (r < 0) {
		t->prio = NULL;
		snprintf(err, errlen, "tls: priorities at '%s': %s",
		    where ? where : "?", gnutls_strerror(r));
		tls_ctx_free(t);
		return -EINVAL;
	}
	r = gnutls_session_ticket_key_generate(&t->ticket_key);
	if (r < 0) {
		snprintf(err, errlen, "tls: session ticket key: %s",
		    gnutls_strerror(r));
		tls_ctx_free(t);
		return -EINVAL;
	}
	r = load_pair(c, root, &t->cur, err, errlen);
	if (r < 0) {
		tls_ctx_free(t);
		return r;
	}
	*out = t;
	return 0;
}

/** See tls.h. */
int
tls_ctx_reload(struct tls_ctx *t, const struct cfg *c, const char *root,
    char *err, size_t errlen)
{
	struct tls_creds *cr, *old;
	int r;

	if (c->tls.cert == NULL || c->tls.key == NULL)
		return fail(c, "tls.listen", err, errlen,
		    "'tls.cert' and 'tls.key' are not set");
	r = load_pair(c, root, &cr, err, errlen);
	if (r < 0)
		return r;
	pthread_mutex_lock(&t->lock);
	old = t->cur;
	t->cur = cr;
	pthread_mutex_unlock(&t->lock);
	creds_unref(old);
	return 0;
}

/** See tls.h. */
void
tls_ctx_free(struct tls_ctx *t)
{
	if (t == NULL)
		return;
	creds_unref(t->cur);
	if (t->prio != NULL)
		gnutls_priority_deinit(t->prio);
	if (t->ticket_key.data != NULL) {
		gnutls_memset(t->ticket_key.data, 0, t->ticket_key.size);
		gnutls_free(t->ticket_key.data);
	}
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* ---- one session ------------------------------------------------------ */

static ssize_t
tls_push(gnutls_transport_ptr_t ptr, const void *data, size_t len)
{
	struct tls_conn *s = ptr;

	if (s->out_len + len > s->out_cap) {
		size_t cap = s->out_cap ? s->out_cap : 1024;
		uint8_t *b;

		while (cap < s->out_len + len)
			cap *= 2;
		b = realloc(s->out, cap);
		if (b == NULL) {
			gnutls_transport_set_errno(s->s, ENOMEM);
			return -1;
		}
		s->out = b;
		s->out_cap = cap;
	}
	memcpy(s->out + s->out_len, data, len);
	s->out_len += len;
	return (ssize_t)len;
}

static ssize_t
tls_pull(gnutls_transport_ptr_t ptr, void *data, size_t len)
{
	struct tls_conn *s = ptr;
	size_t avail = s->in_len - s->in_off;

	if (avail == 0) {
		gnutls_transport_set_errno(s->s, EAGAIN);
		return -1;
	}
	if (len > avail)
		len = avail;
	memcpy(data, s->in + s->in_off, len);
	s->in_off += len;
	return (ssize_t)len;
}

/* Bytes available now, for GnuTLS's "is there more?" (no waiting). */
static int
tls_pull_timeout(gnutls_transport_ptr_t ptr, unsigned ms)
{
	struct tls_conn *s = ptr;

	(void)ms;
	if (s->in_len == s->in_off) {
		gnutls_transport_set_errno(s->s, EAGAIN);
		return -1;
	}
	return (int)(s->in_len - s->in_off);
}

/** See tls.h. */
struct tls_conn *
tls_conn_new(struct tls_ctx *t)
{
	static const gnutls_datum_t alpn = {(unsigned char *)"dot", 3};
	struct tls_conn *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	pthread_mutex_lock(&t->lock);
	s->creds = t->cur;
	atomic_fetch_add(&s->creds->refs, 1);
	pthread_mutex_unlock(&t->lock);
	if (gnutls_init(&s->s,
	        GNUTLS_SERVER | GNUTLS_NONBLOCK | GNUTLS_NO_SIGNAL) < 0) {
		creds_unref(s->creds);
		free(s);
		return NULL;
	}
	if (gnutls_priority_set(s->s, t->prio) < 0 ||
	    gnutls_credentials_set(
	        s->s, GNUTLS_CRD_CERTIFICATE, s->creds->cred) < 0 ||
	    gnutls_session_ticket_enable_server(s->s, &t->ticket_key) < 0 ||
	    gnutls_alpn_set_protocols(s->s, &alpn, 1, 0) < 0) {
		tls_conn_free(s);
		return NULL;
	}
	gnutls_certificate_server_set_request(s->s, GNUTLS_CERT_IGNORE);
	gnutls_handshake_set_timeout(s->s, 0); /* the server's timer */
	gnutls_transport_set_ptr(s->s, s);
	gnutls_transport_set_push_function(s->s, tls_push);
	gnutls_transport_set_pull_function(s->s, tls_pull);
	gnutls_transport_set_pull_timeout_function(s->s, tls_pull_timeout);
	return s;
}

/** See tls.h. */
void
tls_conn_free(struct tls_conn *s)
{
	if (s == NULL)
		return;
	gnutls_deinit(s->s);
	creds_unref(s->creds);
	free(s->out);
	free(s);
}

/* A GnuTLS result that only means "call again later" or "go on". */
static bool
transient(int r)
{
	return r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ||
	    !gnutls_error_is_fatal(r);
}

/** See tls.h. */
unsigned
tls_conn_input(
    struct tls_conn *s, const uint8_t *in, size_t n, tls_plain_fn fn, void *arg)
{
	unsigned ev = 0;
	int r;

	s->in = in;
	s->in_len = n;
	s->in_off = 0;
	while (!s->ready) {
		r = gnutls_handshake(s->s);
		if (r == 0) {
			s->ready = true;
			ev |= TLS_IN_READY;
		} else if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			goto out;
		} else if (!transient(r)) {
			s->err = r;
			ev |= TLS_IN_ERROR;
			goto out;
		}
		/* a warning alert: go on with the handshake */
	}
	for (;;) {
		ssize_t got = gnutls_record_recv(s->s, plain, sizeof(plain));

		if (got > 0) {
			if (!fn(arg, plain, (size_t)got))
				break;
			continue;
		}
		if (got == 0) {
			ev |= TLS_IN_EOF;
			break;
		}
		r = (int)got;
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			break;
		if (r == GNUTLS_E_REHANDSHAKE) {
			/* TLS 1.2 renegotiation: not offered */
			(void)gnutls_alert_send(
			    s->s, GNUTLS_AL_WARNING, GNUTLS_A_NO_RENEGOTIATION);
			continue;
		}
		if (!transient(r)) {
			s->err = r;
			ev |= TLS_IN_ERROR;
			break;
		}
	}
out:
	s->in = NULL;
	s->in_len = s->in_off = 0;
	return ev;
}

/** See tls.h. */
bool
tls_conn_ready(const struct tls_conn *s)
{
	return s->ready;
}

/** See tls.h. */
bool
tls_conn_resumed(const struct tls_conn *s)
{
	return s->ready && gnutls_session_is_resumed(s->s) != 0;
}

/** See tls.h. */
const char *
tls_conn_version(const struct tls_conn *s)
{
	const char *v;

	if (!s->ready)
		return "-";
	v = gnutls_protocol_get_name(gnutls_protocol_get_version(s->s));
	return v ? v : "?";
}

/** See tls.h. */
const char *
tls_conn_error(const struct tls_conn *s)
{
	return s->err ? gnutls_strerror(s->err) : "no error";
}

/** See tls.h. */
int
tls_conn_send(struct tls_conn *s, const uint8_t *msg, size_t len)
{
	uint8_t pre[2] = {(uint8_t)(len >> 8), (uint8_t)len};
	ssize_t r;

	if (!s->ready || len > 0xffff)
		return -1;
	/* the length and the message in as few records as they fit */
	gnutls_record_cork(s->s);
	if (gnutls_record_send(s->s, pre, 2) < 0 ||
	    gnutls_record_send(s->s, msg, len) < 0) {
		(void)gnutls_record_uncork(s->s, 0);
		return -1;
	}
	r = gnutls_record_uncork(s->s, GNUTLS_RECORD_WAIT);
	if (r < 0) {
		s->err = (int)r;
		return -1;
	}
	return 0;
}

/** See tls.h. */
void
tls_conn_bye(struct tls_conn *s)
{
	if (s->ready)
		(void)gnutls_bye(s->s, GNUTLS_SHUT_WR);
}

/** See tls.h. */
const uint8_t *
tls_conn_output(const struct tls_conn *s, size_t *len)
{
	*len = s->out_len;
	return s->out_len ? s->out : NULL;
}

/** See tls.h. */
void
tls_conn_output_done(struct tls_conn *s)
{
	s->out_len = 0;
	if (s->out_cap > TLS_OUT_KEEP) {
		free(s->out);
		s->out = NULL;
		s->out_cap = 0;
	}
}
