/*
 * http.c: /metrics and /healthz over libmicrohttpd (see http.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <time.h>

#include <microhttpd.h>
#include <uv.h>

#include "resolver/control.h"
#include "resolver/holder.h"
#include "resolver/http.h"
#include "resolver/log.h"
#include "resolver/page.h"
#include "resolver/stats.h"
#include "resolver/www.h"

#define HTTP_CONN_LIMIT 32 /* connections at once, per address */
#define HTTP_TIMEOUT_S  10 /* an idle connection is closed after this */
#define HTTP_ASK_MAX    8  /* page requests on the loop at once */

/* A request of the page, handed from a connection's thread to the main
 * loop (which runs it as a control command) and back. */
struct ask {
	struct http *h;
	char args[600];
	struct ask *next; /* in http.queue */
	int refs;         /* the connection's thread, and the loop's */
	bool done;
	char *out; /* malloc'd answer, NUL-terminated */
	size_t len;
	char err[200];
	bool failed;
};

/* resolverd_queries_total's rows: transport x rcode */
#define NRCODE 7 /* NOERROR .. REFUSED, BADVERS */
#define NTRANS 3 /* udp, tcp, tls */

struct listener {
	int fd; /* bound and listening; -1 once MHD owns it */
	struct MHD_Daemon *mhd;
	char text[64];
};

struct http {
	struct instance *inst; /* borrowed */
	unsigned ninst;
	struct pool *pool; /* borrowed */
	const char *version;
	_Atomic(const struct cfg *) cfg;
	struct listener l[CFG_MAX_HTTP_LISTEN];
	unsigned n;
	/* The UDP rows of resolverd_queries_total are a difference of two
	 * counters read at slightly different times: the highest value
	 * served so far keeps each row from ever going down. */
	pthread_mutex_t lock;
	uint64_t mark[INST_MAX][NTRANS][NRCODE];
	/* the page: requests for the control commands, run on the loop */
	struct ctl *ctl; /* borrowed; NULL: no page */
	uv_async_t async;
	bool async_on;
	pthread_mutex_t qlock;
	pthread_cond_t qcond; /* an ask is done, or we stop */
	struct ask *queue, **qtail;
	unsigned asking; /* asks not yet answered or given up */
	bool stopping;
};

static const char *const rcode_names[NRCODE] = {"NOERROR", "FORMERR",
    "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "BADVERS"};
static const char *const trans_names[NTRANS] = {"udp", "tcp", "tls"};

/* ------------------------------------------------------------ metrics */

/* A label value, escaped as the text format wants. */
static void
label(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void
family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One sample per tier: NAME{tier="T"} V. */
struct tier_data {
	const char *name;
	struct stats_sums s;
	struct cache_stats cs;
	uint64_t up_queries; /* over UDP and TCP */
};

static void
sample(FILE *f, const char *name, const struct tier_data *t, uint64_t v)
{
	fprintf(f, "%s{tier=\"", name);
	label(f, t->name);
	fprintf(f, "\"} %" PRIu64 "\n", v);
}

/* Answers by transport and rcode: the workers count answers by rcode, the
 * server those it sent over TCP and TLS and the ones its wire check made;
 * UDP's are the rest. */
static void
query_rows(const struct stats_sums *s, uint64_t rows[NTRANS][NRCODE])
{
	const struct srv_stats *v = &s->srv;
	uint64_t tcp[NRCODE] = {0}, tls[NRCODE] = {0}, all[NRCODE] = {0};

	for (unsigned i = 0; i < 6; i++) {
		tcp[i] = v->rcode_tcp[i];
		tls[i] = v->rcode_tls[i];
		all[i] = s->w.rcode[i];
	}
	tcp[1] += v->formerr_tcp;
	tcp[4] += v->notimp_tcp;
	tcp[5] += v->refused_tcp;
	tcp[6] += v->badvers_tcp;
	tls[1] += v->formerr_tls;
	tls[4] += v->notimp_tls;
	tls[5] += v->refused_tls;
	tls[6] += v->badvers_tls;
	all[1] += v->formerr;
	all[4] += v->notimp;
	all[5] += v->refused;
	all[6] += v->badvers;
	for (unsigned i = 0; i < NRCODE; i++) {
		uint64_t stream = tcp[i] + tls[i];

		rows[1][i] = tcp[i];
		rows[2][i] = tls[i];
		rows[0][i] = all[i] > stream ? all[i] - stream : 0;
	}
}

static void
histogram(FILE *f, const char *name, const struct tier_data *t,
    const char *cache, const struct worker_lat *l)
{
#define LE(s) #s,
	static const char *const le[WORKER_NLAT] = {
	    WORKER_LAT_BUCKETS(LE) "+Inf"};
#undef LE
	uint64_t cum = 0;

	for (unsigned i = 0; i < WORKER_NLAT; i++) {
		cum += l->bucket[i];
		fprintf(f, "%s_bucket{tier=\"", name);
		label(f, t->name);
		fprintf(f, "\",cache=\"%s\",le=\"%s\"} %" PRIu64 "\n", cache,
		    le[i], cum);
	}
	fprintf(f, "%s_sum{tier=\"", name);
	label(f, t->name);
	fprintf(f, "\",cache=\"%s\"} %.9f\n", cache, (double)l->sum_ns / 1e9);
	fprintf(f, "%s_count{tier=\"", name);
	label(f, t->name);
	fprintf(f, "\",cache=\"%s\"} %" PRIu64 "\n", cache, cum);
}

/* Every metric family, each with its samples for every tier. */
/* A family with one sample per tier: the value of @p field (an expression
 * on the tier's struct tier_data t[i]). */
#define TIER_FAMILY(name, type, help, field)                \
	do {                                                \
		family(f, name, type, help);                \
		for (unsigned i = 0; i < n; i++)            \
			sample(f, name, &t[i], t[i].field); \
	} while (0)

static void
render_into(struct http *h, FILE *f, struct tier_data *t,
    uint64_t (*rows)[NTRANS][NRCODE])
{
	unsigned n = 0;

	for (unsigned i = 0; i < h->ninst; i++) {
		if (!h->inst[i].started)
			continue;
		t[n].name = h->inst[i].name;
		stats_sum(&t[n].s, &h->inst[i], h->pool);
		cache_stats(h->inst[i].cache, &t[n].cs);
		t[n].up_queries = t[n].s.up.udp_sent + t[n].s.up.tcp_sent;
		query_rows(&t[n].s, rows[n]);
		pthread_mutex_lock(&h->lock);
		for (unsigned k = 0; k < NTRANS; k++)
			for (unsigned r = 0; r < NRCODE; r++) {
				uint64_t *m = &h->mark[i][k][r];
				if (rows[n][k][r] < *m)
					rows[n][k][r] = *m;
				*m = rows[n][k][r];
			}
		pthread_mutex_unlock(&h->lock);
		n++;
	}

	family(f, "resolverd_build_info", "gauge",
	    "The running resolverd's version; always 1.");
	fputs("resolverd_build_info{version=\"", f);
	label(f, h->version);
	fputs("\"} 1\n", f);

	family(f, "resolverd_queries_received_total", "counter",
	    "Client queries read, by transport (whether answered or not).");
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < NTRANS; k++) {
			fputs("resolverd_queries_received_total{tier=\"", f);
			label(f, t[i].name);
			fprintf(f, "\",transport=\"%s\"} %" PRIu64 "\n",
			    trans_names[k],
			    k == 2       ? t[i].s.srv.tls_queries
			        : k == 1 ? t[i].s.srv.tcp_queries
			                 : t[i].s.srv.udp_queries);
		}

	family(f, "resolverd_queries_total", "counter",
	    "Client queries answered, by transport and response code.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < NTRANS; k++)
			for (unsigned r = 0; r < NRCODE; r++) {
				fputs("resolverd_queries_total{tier=\"", f);
				label(f, t[i].name);
				fprintf(f,
				    "\",transport=\"%s\",rcode=\"%s\"} "
				    "%" PRIu64 "\n",
				    trans_names[k], rcode_names[r],
				    rows[i][k][r]);
			}

	TIER_FAMILY("resolverd_queries_dropped_total", "counter",
	    "Client queries not answered (malformed, a response, "
	    "unsendable).",
	    s.srv.dropped);

	TIER_FAMILY("resolverd_cache_hits_total", "counter",
	    "Client queries answered from the cache.", s.w.cache_hits);
	TIER_FAMILY("resolverd_cache_misses_total", "counter",
	    "Client queries the cache could not answer.", s.w.cache_misses);
	TIER_FAMILY("resolverd_cache_entries", "gauge",
	    "RRsets and negative answers in the cache.", cs.entries);
	TIER_FAMILY("resolverd_cache_bytes", "gauge",
	    "Bytes the cache's entries take.", cs.bytes);
	TIER_FAMILY("resolverd_cache_max_bytes", "gauge",
	    "The cache's size limit (cache.size).", cs.max_bytes);
	TIER_FAMILY("resolverd_cache_evictions_total", "counter",
	    "Entries removed to make room.", cs.evictions);
	TIER_FAMILY("resolverd_cache_expiries_total", "counter",
	    "Entries removed because their TTL ran out.", cs.expiries);

	TIER_FAMILY("resolverd_resolutions_total", "counter",
	    "Resolutions started for cache misses (others join them).",
	    s.w.resolutions);
	TIER_FAMILY("resolverd_prefetches_total", "counter",
	    "Cached answers refreshed in the background because they were "
	    "asked for in the last tenth of their TTL.",
	    s.w.prefetches);
	TIER_FAMILY("resolverd_stale_answers_total", "counter",
	    "Answers from expired data because every server failed (RFC "
	    "8767, EDE 3).",
	    s.w.stale_answers);
	TIER_FAMILY("resolverd_aggressive_nsec_answers_total", "counter",
	    "NXDOMAIN and NODATA answered from cached secure NSEC records "
	    "(RFC 8198), without asking.",
	    s.w.nsec_answers);
	TIER_FAMILY("resolverd_stale_refreshes_total", "counter",
	    "Background refreshes of names answered stale.",
	    s.w.stale_refreshes);
	family(f, "resolverd_validation_total", "counter",
	    "Resolutions by what DNSSEC validation made of them.");
	for (unsigned i = 0; i < n; i++) {
		static const char *const res[3] = {
		    "secure", "insecure", "bogus"};
		uint64_t v[3] = {t[i].s.w.val_secure, t[i].s.w.val_insecure,
		    t[i].s.w.val_bogus};
		for (unsigned k = 0; k < 3; k++) {
			fputs("resolverd_validation_total{tier=\"", f);
			label(f, t[i].name);
			fprintf(
			    f, "\",result=\"%s\"} %" PRIu64 "\n", res[k], v[k]);
		}
	}
	TIER_FAMILY("resolverd_upstream_queries_total", "counter",
	    "Queries sent to authoritative servers and forwarders.",
	    up_queries);
	TIER_FAMILY("resolverd_upstream_tcp_fallbacks_total", "counter",
	    "Upstream queries asked again over TCP after a truncated "
	    "answer.",
	    s.up.tcp_sent);
	TIER_FAMILY("resolverd_upstream_timeouts_total", "counter",
	    "Upstream queries that got no answer in time.", s.up.timeouts);
	TIER_FAMILY("resolverd_upstream_errors_total", "counter",
	    "Upstream queries that failed on the socket (unreachable, "
	    "reset).",
	    s.up.errors);

	family(f, "resolverd_limit_hits_total", "counter",
	    "Resolutions ended with SERVFAIL by a limit, by limit.");
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < WORKER_NLIMITS; k++) {
			fputs("resolverd_limit_hits_total{tier=\"", f);
			label(f, t[i].name);
			fprintf(f, "\",limit=\"%s\"} %" PRIu64 "\n",
			    worker_limit_name(k), t[i].s.w.limit[k]);
		}

	family(f, "resolverd_ede_total", "counter",
	    "Extended DNS Errors (RFC 8914) sent, by INFO-CODE (codes "
	    "above 30 are counted as 31).");
	for (unsigned i = 0; i < n; i++)
		for (unsigned k = 0; k < WORKER_EDE_MAX; k++) {
			uint64_t v = t[i].s.w.ede[k] +
			    (k == 18 ? t[i].s.srv.ede_prohibited : 0) +
			    (k == 21 ? t[i].s.srv.ede_not_supported : 0);
			if (v == 0)
				continue;
			fputs("resolverd_ede_total{tier=\"", f);
			label(f, t[i].name);
			fprintf(f, "\",code=\"%u\"} %" PRIu64 "\n", k, v);
		}

	TIER_FAMILY("resolverd_udp_kernel_drops_total", "counter",
	    "Queries the kernel dropped at the UDP listeners (receive "
	    "buffer full).",
	    s.kernel_drops);

	family(f, "resolverd_answer_duration_seconds", "histogram",
	    "Time from a query's arrival to its answer: cache=\"miss\" for "
	    "every answer after a resolution, cache=\"hit\" for one cache "
	    "hit in " WORKER_HIT_SAMPLE_TEXT " (a sample).");
	for (unsigned i = 0; i < n; i++) {
		histogram(f, "resolverd_answer_duration_seconds", &t[i], "hit",
		    &t[i].s.w.lat_hit);
		histogram(f, "resolverd_answer_duration_seconds", &t[i], "miss",
		    &t[i].s.w.lat_miss);
	}
}

/* The samples of every instance, in memory of their own: a tier can have
 * many instances. */
static void
render(struct http *h, FILE *f)
{
	struct tier_data *t = calloc(h->ninst ? h->ninst : 1, sizeof(*t));
	uint64_t(*rows)[NTRANS][NRCODE] =
	    calloc(h->ninst ? h->ninst : 1, sizeof(*rows));

	if (t != NULL && rows != NULL)
		render_into(h, f, t, rows);
	else
		fputs("# out of memory\n", f);
	free(t);
	free(rows);
}

/* ------------------------------------------------------------- health */

struct health {
	uint64_t now;
	uint64_t worst; /* ms since the stalest loop ran */
	unsigned n;     /* workers looked at */
};

static void
health_one(struct instance *in, void *arg)
{
	struct health *hl = arg;
	uint64_t a;

	if (!in->started)
		return;
	a = atomic_load_explicit(&in->worker.alive_ms, memory_order_relaxed);
	if (hl->now > a && hl->now - a > hl->worst)
		hl->worst = hl->now - a;
	hl->n++;
}

/* ------------------------------------------------- asking the main loop */

static void
ask_unref(struct ask *a)
{
	if (--a->refs == 0) {
		free(a->out);
		free(a);
	}
}

/* On the loop: the control command answered. */
static void
on_ask_done(void *arg, const char *out, size_t len, const char *error)
{
	struct ask *a = arg;
	struct http *h = a->h;

	pthread_mutex_lock(&h->qlock);
	if (a->refs > 1) { /* the thread still waits for it */
		a->out = malloc(len + 1);
		if (a->out != NULL) {
			memcpy(a->out, out, len);
			a->out[len] = '\0';
			a->len = len;
		} else {
			error = "out of memory";
		}
		if (error != NULL) {
			a->failed = true;
			snprintf(a->err, sizeof(a->err), "%s", error);
		}
		a->done = true;
		pthread_cond_broadcast(&h->qcond);
	}
	ask_unref(a);
	pthread_mutex_unlock(&h->qlock);
}

/* On the loop: run what the connections queued. */
static void
on_async(uv_async_t *as)
{
	struct http *h = as->data;
	struct ask *a, *next;

	pthread_mutex_lock(&h->qlock);
	a = h->queue;
	h->queue = NULL;
	h->qtail = &h->queue;
	pthread_mutex_unlock(&h->qlock);
	for (; a != NULL; a = next) {
		int r;

		next = a->next;
		a->next = NULL;
		r = ctl_request(h->ctl, a->args, on_ask_done, a);
		if (r < 0)
			on_ask_done(a, "", 0,
			    r == -ECANCELED ? "the resolver is stopping"
			                    : strerror(-r));
	}
}

/* From a connection's thread: run the control command @p args on the
 * main loop and wait for its answer, at most @p wait_ms. @return the answer
 * (malloc'd; *len bytes) or NULL with @p err set. */
static char *
ask_loop(struct http *h, const char *args, unsigned wait_ms, size_t *len,
    char *err, size_t errcap)
{
	struct ask *a;
	struct timespec until;
	char *out = NULL;

	if (h->ctl == NULL) {
		snprintf(err, errcap, "the page has no access to the resolver");
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	snprintf(a->args, sizeof(a->args), "%s", args);
	a->h = h;
	a->refs = 2;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&h->qlock);
	if (h->stopping || h->asking >= HTTP_ASK_MAX) {
		snprintf(err, errcap, "%s",
		    h->stopping ? "the resolver is stopping"
		                : "busy: too many page requests at once; try "
		                  "again");
		pthread_mutex_unlock(&h->qlock);
		free(a);
		return NULL;
	}
	h->asking++;
	*h->qtail = a;
	h->qtail = &a->next;
	/* under the lock: http_stop cannot close the handle meanwhile */
	uv_async_send(&h->async);
	while (!a->done && !h->stopping)
		if (pthread_cond_timedwait(&h->qcond, &h->qlock, &until) ==
		    ETIMEDOUT)
			break;
	if (a->done && !a->failed) {
		out = a->out;
		*len = a->len;
		a->out = NULL;
	} else if (a->done) {
		snprintf(err, errcap, "%s", a->err);
	} else {
		snprintf(err, errcap, "%s",
		    h->stopping ? "the resolver is stopping"
		                : "no answer in time from the resolver");
	}
	h->asking--;
	ask_unref(a); /* the loop's reference goes when it answers */
	pthread_mutex_unlock(&h->qlock);
	return out;
}

int
http_set_control(struct http *h, uv_loop_t *loop, struct ctl *ctl)
{
	if (h->async_on)
		return 0;
	if (uv_async_init(loop, &h->async, on_async) < 0)
		return -1;
	h->async.data = h;
	h->async_on = true;
	h->ctl = ctl;
	return 0;
}

/* ------------------------------------------------------------ serving */

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned status, const char *type,
    char *body, size_t len, bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(
	    len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result
text(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	return reply(conn, status, "text/plain; charset=utf-8", (char *)msg,
	    strlen(msg), false);
}

/* Security headers of every page and JSON answer: nothing but this
 * server's own files, no framing, no sniffing. */
static void
page_headers(struct MHD_Response *r)
{
	MHD_add_response_header(r, "Content-Security-Policy",
	    "default-src 'none'; script-src 'self'; style-src 'self'; "
	    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
	    "form-action 'self'; frame-ancestors 'none'");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(r, "Cache-Control", "no-store");
}

static enum MHD_Result
reply_page(struct MHD_Connection *conn, unsigned status, const char *type,
    char *body, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	if (r == NULL) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	page_headers(r);
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static const char *
arg(struct MHD_Connection *conn, const char *key)
{
	const char *v =
	    MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);

	return v != NULL && *v != '\0' ? v : NULL;
}

/* The page's question: ?name=N&type=T (T defaults to A). @return false
 * with @p err set when either is not acceptable. */
static bool
question(struct MHD_Connection *conn, const char **name, const char **type,
    char *err, size_t errcap)
{
	*name = arg(conn, "name");
	*type = arg(conn, "type");
	if (*type == NULL)
		*type = "A";
	if (*name != NULL && !page_name_ok(*name)) {
		snprintf(err, errcap,
		    "not a name: letters, digits, '-', '_' and dots, at most "
		    "253 characters");
		return false;
	}
	if (!page_type_ok(*type)) {
		snprintf(err, errcap, "not a type: A, AAAA, MX, TYPE65...");
		return false;
	}
	return true;
}

/* A resolution may take a while (HTTP_ASK_WAIT_MS): the connection must
 * not be timed out as idle meanwhile. */
static void
long_wait(struct MHD_Connection *conn)
{
	MHD_set_connection_option(conn, MHD_CONNECTION_OPTION_TIMEOUT,
	    (unsigned)(HTTP_ASK_WAIT_MS / 1000 + HTTP_TIMEOUT_S));
}

/* The error text of a control answer: a message that names the type is
 * the user's mistake (400); the rest are the resolver's (503). */
static unsigned
ask_status(const char *err)
{
	return strncmp(err, "unknown type", 12) == 0 ||
	        strncmp(err, "bad name", 8) == 0
	    ? MHD_HTTP_BAD_REQUEST
	    : MHD_HTTP_SERVICE_UNAVAILABLE;
}

static enum MHD_Result
serve_home(struct http *h, struct MHD_Connection *conn)
{
	const char *name, *type;
	char err[200] = "", cmd[400], *lookup = NULL, *trace = NULL;
	char *buf = NULL;
	size_t len = 0, n;
	unsigned status = MHD_HTTP_OK;
	FILE *f;

	if (!question(conn, &name, &type, err, sizeof(err))) {
		status = MHD_HTTP_BAD_REQUEST;
		name = NULL;
	}
	if (name != NULL && arg(conn, "resolve") != NULL) {
		/* ask the first tier, as resolverctl trace does */
		long_wait(conn);
		snprintf(cmd, sizeof(cmd), "trace %s %s --json", name, type);
		trace =
		    ask_loop(h, cmd, HTTP_ASK_WAIT_MS, &n, err, sizeof(err));
		if (trace == NULL)
			status = ask_status(err);
	}
	if (name != NULL && status == MHD_HTTP_OK) {
		snprintf(cmd, sizeof(cmd), "lookup %s %s --json", name, type);
		lookup =
		    ask_loop(h, cmd, HTTP_ASK_WAIT_MS, &n, err, sizeof(err));
		if (lookup == NULL)
			status = ask_status(err);
	}
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		free(lookup);
		free(trace);
		return text(
		    conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	page_home(
	    f, name, type, lookup, trace, err[0] ? err : NULL, h->version);
	free(lookup);
	free(trace);
	if (fclose(f) != 0) {
		free(buf);
		return text(
		    conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply_page(
	    conn, status, "text/html; charset=utf-8", buf, len, true);
}

static enum MHD_Result
serve_trace_page(struct http *h, struct MHD_Connection *conn)
{
	const char *name, *type;
	char err[200] = "", *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return text(
		    conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	if (!question(conn, &name, &type, err, sizeof(err)))
		page_error(f, "bad request", err, h->version);
	else
		page_trace(
		    f, name, type, arg(conn, "cold") != NULL, h->version);
	if (fclose(f) != 0) {
		free(buf);
		return text(
		    conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply_page(conn, err[0] ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_OK,
	    "text/html; charset=utf-8", buf, len, true);
}

/* /api/lookup and /api/trace: the control command's JSON lines, wrapped
 * in one JSON object (page_json). */
static enum MHD_Result
serve_api(struct http *h, struct MHD_Connection *conn, bool trace)
{
	const char *name, *type;
	char err[200] = "", cmd[400], *out = NULL, *buf = NULL;
	size_t len = 0, n;
	unsigned status = MHD_HTTP_OK;
	FILE *f;

	if (!question(conn, &name, &type, err, sizeof(err)))
		status = MHD_HTTP_BAD_REQUEST;
	else if (name == NULL) {
		snprintf(err, sizeof(err), "usage: %s?name=NAME[&type=TYPE]%s",
		    trace ? "/api/trace" : "/api/lookup",
		    trace ? "[&cold=1]" : "");
		status = MHD_HTTP_BAD_REQUEST;
	} else {
		if (trace)
			long_wait(conn);
		snprintf(cmd, sizeof(cmd), "%s %s %s%s --json",
		    trace ? "trace" : "lookup", name, type,
		    trace && arg(conn, "cold") ? " --cold" : "");
		out = ask_loop(h, cmd, HTTP_ASK_WAIT_MS, &n, err, sizeof(err));
		if (out == NULL)
			status = ask_status(err);
	}
	f = open_memstream(&buf, &len);
	if (f == NULL) {
		free(out);
		return text(
		    conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	page_json(f, name, type, out, err[0] ? err : NULL);
	free(out);
	if (fclose(f) != 0) {
		free(buf);
		return text(
		    conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply_page(
	    conn, status, "application/json; charset=utf-8", buf, len, true);
}

static enum MHD_Result
serve_static(struct MHD_Connection *conn, const char *url)
{
	const struct www_file *w = www_find(url);

	if (w == NULL)
		return text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	return reply_page(
	    conn, MHD_HTTP_OK, w->type, (char *)w->data, w->len, false);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct http *h = cls;
	const struct cfg *c = atomic_load(&h->cfg);
	const union MHD_ConnectionInfo *ci;
	bool metrics = strcmp(url, "/metrics") == 0;
	bool healthz = strcmp(url, "/healthz") == 0;
	bool home = strcmp(url, "/") == 0;
	bool trace_page = strcmp(url, "/trace") == 0;
	bool api_lookup = strcmp(url, "/api/lookup") == 0;
	bool api_trace = strcmp(url, "/api/trace") == 0;
	bool stat = www_find(url) != NULL;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)req_cls;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || ci->client_addr == NULL ||
	    !cfg_prefix_allowed(
	        c->http.access, c->http.naccess, ci->client_addr))
		return text(conn, MHD_HTTP_FORBIDDEN,
		    "forbidden: not in http.access\n");
	if (!metrics && !healthz && !home && !trace_page && !api_lookup &&
	    !api_trace && !stat)
		return text(conn, MHD_HTTP_NOT_FOUND,
		    "not found: GET /, /trace, /api/lookup, /api/trace, "
		    "/metrics or /healthz\n");
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		    "method not allowed: GET or HEAD\n");
	if (home)
		return serve_home(h, conn);
	if (trace_page)
		return serve_trace_page(h, conn);
	if (api_lookup || api_trace)
		return serve_api(h, conn, api_trace);
	if (stat)
		return serve_static(conn, url);
	if (healthz) {
		struct health hl = {worker_mono_ms(), 0, 0};
		char *body = NULL;
		int len;

		for (unsigned i = 0; i < h->ninst; i++)
			health_one(&h->inst[i], &hl);
		if (h->pool != NULL)
			pool_foreach(h->pool, health_one, &hl);
		if (hl.n > 0 && hl.worst <= HTTP_STALE_MS)
			return text(conn, MHD_HTTP_OK, "ok\n");
		len = asprintf(&body,
		    "unhealthy: a worker loop has not run for %" PRIu64 " ms\n",
		    hl.worst);
		if (len < 0)
			return text(
			    conn, MHD_HTTP_SERVICE_UNAVAILABLE, "unhealthy\n");
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
		    "text/plain; charset=utf-8", body, (size_t)len, true);
	}
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (f == NULL)
		return text(
		    conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	render(h, f);
	if (fclose(f) != 0) {
		free(buf);
		return text(
		    conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	}
	return reply(conn, MHD_HTTP_OK,
	    "text/plain; version=0.0.4; charset=utf-8", buf, len, true);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	log_debug("http: %s", msg);
}

/* ---------------------------------------------------------------- life */

struct http *
http_new(struct instance *inst, unsigned ninst, struct pool *pool,
    const char *version)
{
	struct http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	pthread_condattr_t ca;

	if (pthread_mutex_init(&h->lock, NULL) != 0) {
		free(h);
		return NULL;
	}
	if (pthread_mutex_init(&h->qlock, NULL) != 0) {
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	/* the page's waits are timed on the monotonic clock */
	if (pthread_condattr_init(&ca) != 0 ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&h->qcond, &ca) != 0) {
		pthread_mutex_destroy(&h->qlock);
		pthread_mutex_destroy(&h->lock);
		free(h);
		return NULL;
	}
	pthread_condattr_destroy(&ca);
	h->qtail = &h->queue;
	h->inst = inst;
	h->ninst = ninst;
	h->pool = pool;
	h->version = version;
	for (unsigned i = 0; i < CFG_MAX_HTTP_LISTEN; i++)
		h->l[i].fd = -1;
	return h;
}

int
http_bind(struct http *h, const struct cfg *c)
{
	atomic_store(&h->cfg, c);
	for (unsigned i = 0; i < c->http.nlisten; i++) {
		const struct cfg_listen *l = &c->http.listen[i];
		struct listener *hl = &h->l[h->n];
		int one = 1, fd, e;

		snprintf(hl->text, sizeof(hl->text), "%s", l->text);
		fd = socket(l->addr.ss_family,
		    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			log_err("http.listen %s: %s", l->text, strerror(errno));
			return -1;
		}
		/* no SO_REUSEPORT: one process per address */
		(void)setsockopt(
		    fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (l->addr.ss_family == AF_INET6)
			(void)setsockopt(
			    fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) <
		        0 ||
		    listen(fd, 64) < 0) {
			e = errno;
			close(fd);
			if (e == EADDRINUSE) {
				char who[128];
				holder_of_inet(
				    (const struct sockaddr *)&l->addr,
				    SOCK_STREAM, who, sizeof(who));
				log_err("http.listen %s: already in use by %s",
				    l->text, who);
			} else {
				log_err("http.listen %s: cannot listen: %s",
				    l->text, strerror(e));
			}
			return -1;
		}
		hl->fd = fd;
		h->n++;
	}
	return 0;
}

int
http_start(struct http *h)
{
	for (unsigned i = 0; i < h->n; i++) {
		struct listener *l = &h->l[i];

		/* a thread per connection: the page's requests wait for the
		 * loop (bounded), and must not hold up /metrics meanwhile */
		l->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
		        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
		        MHD_USE_ERROR_LOG,
		    0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET,
		    (MHD_socket)l->fd, MHD_OPTION_CONNECTION_LIMIT,
		    (unsigned)HTTP_CONN_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)HTTP_TIMEOUT_S, MHD_OPTION_EXTERNAL_LOGGER,
		    on_mhd_log, NULL, MHD_OPTION_END);
		if (l->mhd == NULL) {
			log_err("http.listen %s: the HTTP server did not start",
			    l->text);
			return -1;
		}
		l->fd = -1; /* libmicrohttpd closes it at its stop */
		log_info("http listener on %s: GET /metrics, /healthz%s",
		    l->text, h->ctl ? ", the page at /" : "");
	}
	return 0;
}

void
http_set_config(struct http *h, const struct cfg *c)
{
	if (h != NULL)
		atomic_store(&h->cfg, c);
}

void
http_stop(struct http *h)
{
	if (h == NULL)
		return;
	/* wake every connection waiting for the loop: it answers 503 */
	pthread_mutex_lock(&h->qlock);
	h->stopping = true;
	while (h->queue != NULL) {
		struct ask *a = h->queue;
		h->queue = a->next;
		ask_unref(a); /* the loop's reference: it never ran */
	}
	h->qtail = &h->queue;
	pthread_cond_broadcast(&h->qcond);
	pthread_mutex_unlock(&h->qlock);
	if (h->async_on) {
		uv_close((uv_handle_t *)&h->async, NULL);
		h->async_on = false;
	}
	for (unsigned i = 0; i < h->n; i++) {
		if (h->l[i].mhd != NULL)
			MHD_stop_daemon(h->l[i].mhd);
		h->l[i].mhd = NULL;
		if (h->l[i].fd >= 0)
			close(h->l[i].fd);
		h->l[i].fd = -1;
	}
	h->n = 0;
}

void
http_free(struct http *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->lock);
	pthread_mutex_destroy(&h->qlock);
	pthread_cond_destroy(&h->qcond);
	free(h);
}
