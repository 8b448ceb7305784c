/*
 * worker.c: from a checked client query to its answer.
 *
 * Hot path: ans_from_cache() straight into a stack buffer, then srv_reply().
 * Miss: the client joins the question's flight. Each worker keeps, per
 * flight it has clients for, one struct wwait (the flight's local slot for
 * this worker points at it) holding those clients and one reference on the
 * flight. The worker that owns a flight also has a struct wreq: the
 * iterator, its one outstanding upstream exchange and its deadline timer.
 * When the iterator is done, the owner publishes the result; its own
 * clients are answered at once, other workers' when their wake handle runs.
 *
 * Invariants: a wreq with a flight always publishes before it is freed (a
 * SERVFAIL when it is cut short), so no waiter waits for a flight nobody
 * resolves; a wwait is freed only after all its clients were answered or
 * dropped and its reference given back.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "resolver/answer.h"
#include "resolver/log.h"
#include "resolver/worker.h"

/* The clients of this worker waiting for one flight. */
struct wwait {
	struct flight *fl;    /* one reference */
	struct srv_req *reqs; /* owned until answered */
	uint64_t start_ms;    /* monotonic: the first client's arrival */
	uint64_t start_ns;    /* the same, uv_hrtime(): for the metrics */
	struct wwait *next;   /* w->waits */
	struct wwait **pprev;
};

/* A resolution this worker drives. */
struct wreq {
	struct worker *w;
	struct wreq *next, **pprev; /* w->owned */
	struct iter_req *it;        /* owned */
	struct up_query *up;        /* outstanding exchange or NULL */
	struct flight *fl;          /* the flight it resolves, or NULL
	                               (priming, traces) */
	uv_timer_t deadline;        /* deadline.data = this */
	bool prime;
	/* a traced resolution (resolverctl trace): not in the join table */
	worker_trace_cb trace_cb;
	void *trace_arg;
	/* for --cold: a private cache (owned, or NULL), and the env using it
	 * (owned; allocated only then: it is large, and every miss would
	 * clear it) */
	struct iter_env *cold_env;
	struct cache *cold_cache;
};

static void drive(struct wreq *wr);
static bool answer_stale(struct worker *w, struct srv_req *req,
    enum cache_stale how, const char *why, uint8_t *out);

/* Quiet after a burst: heap pages the burst's requests used go back. */
static void
on_trim(uv_timer_t *t)
{
	struct worker *w = t->data;

	if (w->nowned == 0) {
		malloc_trim(0);
		w->peak_owned = 0;
	}
}
static void schedule_prime(struct worker *w, uint64_t delay_ms);

uint64_t
worker_now(const struct worker *w)
{
	struct timespec ts;

	(void)w;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The iterator's two clocks: the wall clock for TTLs and signatures, the
 * loop's monotonic clock for timeouts and RTTs. */
static struct iter_now
now_pair(const struct worker *w)
{
	struct iter_now n = {worker_now(w), uv_now(w->loop)};

	return n;
}

uint64_t
worker_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *
worker_limit_name(unsigned i)
{
#define NAME(l) #l,
	static const char *const names[WORKER_NLIMITS] = {
	    WORKER_LIMITS(NAME) "other"};
#undef NAME
	return i < WORKER_NLIMITS ? names[i] : "other";
}

/* Count a limit hit by the limit named in @p reason ("limit NAME ..."). */
static void
count_limit(struct worker *w, const char *reason)
{
	size_t n = strcspn(reason + 6, " ");
	unsigned i;

	for (i = 0; i + 1 < WORKER_NLIMITS; i++) {
		const char *name = worker_limit_name(i);
		if (strlen(name) == n && strncmp(reason + 6, name, n) == 0)
			break;
	}
	STAT_INC(w->stats.limit[i]);
}

/* One answer's latency, into its histogram. */
static void
lat_add(struct worker_lat *l, uint64_t ns)
{
#define NS(s) (uint64_t)((s)*1e9 + 0.5),
	static const uint64_t bound[WORKER_NLAT - 1] = {WORKER_LAT_BUCKETS(NS)};
#undef NS
	unsigned i = 0;

	while (i < WORKER_NLAT - 1 && ns > bound[i])
		i++;
	STAT_INC(l->bucket[i]);
	STAT_ADD(l->sum_ns, ns);
}

static void
lat_sum(struct worker_lat *dst, const struct worker_lat *src)
{
	for (unsigned i = 0; i < WORKER_NLAT; i++)
		STAT_ADD(dst->bucket[i], STAT_GET(src->bucket[i]));
	STAT_ADD(dst->sum_ns, STAT_GET(src->sum_ns));
}

void
worker_stats_add(struct worker_stats *dst, const struct worker_stats *src)
{
#define ADD(f, n) STAT_ADD(dst->f, STAT_GET(src->f));
	WORKER_STATS(ADD)
#undef ADD
	for (unsigned i = 0; i < 6; i++)
		STAT_ADD(dst->rcode[i], STAT_GET(src->rcode[i]));
	for (unsigned i = 0; i < WORKER_EDE_MAX; i++)
		STAT_ADD(dst->ede[i], STAT_GET(src->ede[i]));
	for (unsigned i = 0; i < WORKER_NLIMITS; i++)
		STAT_ADD(dst->limit[i], STAT_GET(src->limit[i]));
	lat_sum(&dst->lat_hit, &src->lat_hit);
	lat_sum(&dst->lat_miss, &src->lat_miss);
}

/* iter_env.random: bytes from the worker's buffer of kernel randomness
 * (arc4random_buf is getrandom(2) in glibc 2.36), each handed out once. */
static void
rnd(void *buf, size_t len, void *arg)
{
	struct worker *w = arg;
	uint8_t *out = buf;

	if (len > sizeof(w->rnd) / 2) {
		arc4random_buf(buf, len);
		return;
	}
	if (w->rnd_left < len) {
		arc4random_buf(w->rnd, sizeof(w->rnd));
		w->rnd_left = sizeof(w->rnd);
	}
	w->rnd_left -= (unsigned)len;
	memcpy(out, w->rnd + w->rnd_left, len);
	/* what was handed out is not kept */
	memset(w->rnd + w->rnd_left, 0, len);
}

static void
opts_from_cfg(struct iter_opts *o, const struct cfg *c)
{
	o->max_sends = c->limits.max_sends;
	o->max_glueless = c->limits.max_glueless;
	o->max_cname = c->limits.max_cname;
	o->max_depth = c->limits.max_depth;
	o->max_time_ms = c->limits.max_time_ms;
	o->qname_minimisation = c->qname_minimisation;
	o->use_0x20 = true;
	o->query_loopback = c->query_loopback;
	o->min_ttl = c->cache.min_ttl;
	o->max_ttl = c->cache.max_ttl;
	o->negative_ttl = c->cache.negative_ttl;
}

/* forward_zones of the config, as the iterator takes them. */
static void
forwards_from_cfg(struct worker *w, const struct cfg *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->nforwards && n < ITER_MAX_FORWARDS; i++) {
		const struct cfg_forward *f = &c->forwards[i];
		struct sockaddr_storage addrs[CFG_MAX_FWD_SERVERS];
		for (unsigned k = 0; k < f->nservers; k++)
			addrs[k] = f->servers[k].addr;
		if (deleg_forward(
		        &w->forwards[n].cut, f->zone, addrs, f->nservers) < 0) {
			log_warn("forward zone %s: no usable server", f->zone);
			continue;
		}
		w->forwards[n].fallback_iterate = f->fallback_iterate;
		n++;
	}
	w->env.forwards = w->forwards;
	w->env.nforwards = n;
}

static void
client_text(char *out, size_t cap, const struct srv_req *req)
{
	const struct sockaddr *sa = (const struct sockaddr *)&req->client;

	snprintf(out, cap, "?");
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    out, (socklen_t)cap);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
		    (socklen_t)cap);
}

/* Count an answer by its rcode and, with log.queries, log it. */
static void
answered(struct worker *w, const struct srv_req *req, unsigned rcode,
    const char *how, uint64_t ms)
{
	char addr[INET6_ADDRSTRLEN], name[DNS_NAME_TEXT_MAX],
	    tb[DNS_MNEMONIC_MAX];

	if (rcode < 6)
		STAT_INC(w->stats.rcode[rcode]);
	if (!w->cfg->log.queries)
		return;
	client_text(addr, sizeof(addr), req);
	dns_name_to_text(name, sizeof(name), req->q.qname);
	log_info("%squery %s %s %s %s %s %llu ms", w->tag, addr, name,
	    dns_type_str(req->q.qtype, tb), dns_rcode_str(rcode), how,
	    (unsigned long long)ms);
}

/* An error answer made here (not by the server's wire check). */
static void
reply_error(struct worker *w, struct srv_req *req, unsigned rcode, uint16_t ede,
    const char *why)
{
	answered(w, req, rcode, "error", 0);
	if (why != NULL && req->q.edns) /* the EDE goes with an OPT only */
		STAT_INC(
		    w->stats
		        .ede[ede < WORKER_EDE_MAX ? ede : WORKER_EDE_MAX - 1]);
	srv_reply_error(req, rcode, ede, why);
}

/* ------------------------------------------------------------- waiting */

/* May a failed resolution be answered with stale data? When serve-stale
 * is on and the failure is the servers' (unreachable, timing out, broken,
 * a limit), not DNSSEC's: a bogus answer stays SERVFAIL. */
static bool
stale_may_answer(const struct worker *w, const struct iter_result *res)
{
	return w->cfg->cache.serve_stale != 0 &&
	    !(res->ede_code >= DNS_EDE_DNSSEC_INDETERMINATE &&
	        res->ede_code <= DNS_EDE_NSEC_MISSING);
}

/* Answer every client of @p ww from its flight's result, give the
 * reference back and free it. */
static void
answer_wait(struct worker *w, struct wwait *ww)
{
	const struct iter_result *res = flight_result(ww->fl);
	uint8_t out[LIM_MSG_MAX];
	uint64_t ms = uv_now(w->loop) - ww->start_ms;
	uint64_t ns = uv_hrtime() - ww->start_ns;

	*ww->pprev = ww->next;
	if (ww->next != NULL)
		ww->next->pprev = ww->pprev;
	*flight_local(ww->fl, (unsigned)w->findex) = NULL;
	bool stale = res->failed && stale_may_answer(w, res);

	while (ww->reqs != NULL) {
		struct srv_req *req = ww->reqs;
		ww->reqs = req->next;
		/* every server failed: data whose TTL ran out beats SERVFAIL
		 * (RFC 8767) */
		if (stale &&
		    answer_stale(
		        w, req, CACHE_STALE_AFTER_FAIL, res->reason, out))
			continue;
		size_t n = ans_from_result(
		    out, req->max_resp, req->query, &req->q, res);
		answered(w, req, res->rcode, req->data ? "joined" : "miss", ms);
		lat_add(&w->stats.lat_miss, ns);
		if ((res->failed || res->ede_code) && req->q.edns)
			STAT_INC(w->stats.ede[res->ede_code < WORKER_EDE_MAX
			        ? res->ede_code
			        : WORKER_EDE_MAX - 1]);
		if (n > 0)
			srv_reply(req, out, n);
		else
			srv_req_drop(req);
	}
	flights_release(w->flights, ww->fl);
	free(ww);
}

/* Drop (without an answer) the clients of @p ww and free it. */
static void
drop_wait(struct worker *w, struct wwait *ww)
{
	*ww->pprev = ww->next;
	if (ww->next != NULL)
		ww->next->pprev = ww->pprev;
	*flight_local(ww->fl, (unsigned)w->findex) = NULL;
	while (ww->reqs != NULL) {
		struct srv_req *req = ww->reqs;
		ww->reqs = req->next;
		srv_req_drop(req);
	}
	flights_release(w->flights, ww->fl);
	free(ww);
}

/* Put @p req on this worker's list of clients of @p fl (whose reference
 * the caller passes on: kept by a new wwait, given back if this worker
 * already had one). @return 0 or -ENOMEM (the reference is given back,
 * the client not taken). */
static int
wait_for(struct worker *w, struct flight *fl, struct srv_req *req)
{
	void **slot = flight_local(fl, (unsigned)w->findex);
	struct wwait *ww = *slot;

	if (ww != NULL) {
		flights_release(w->flights, fl);
	} else {
		ww = calloc(1, sizeof(*ww));
		if (ww == NULL) {
			flights_release(w->flights, fl);
			return -ENOMEM;
		}
		ww->fl = fl;
		ww->start_ms = uv_now(w->loop);
		ww->start_ns = uv_hrtime();
		ww->next = w->waits;
		if (w->waits != NULL)
			w->waits->pprev = &ww->next;
		ww->pprev = &w->waits;
		w->waits = ww;
		*slot = ww;
	}
	req->next = ww->reqs;
	ww->reqs = req;
	return 0;
}

/* Called by flights_publish, from any thread. */
static void
wake_cb(void *arg)
{
	struct worker *w = arg;

	uv_async_send(&w->wake);
}

/* Flights this worker waits on were published: answer their clients. */
static void
on_wake(uv_async_t *a)
{
	struct worker *w = a->data;
	struct wwait *ww = w->waits, *next;

	uv_update_time(w->loop);
	for (; ww != NULL; ww = next) {
		next = ww->next;
		if (flight_result(ww->fl) != NULL)
			answer_wait(w, ww);
	}
}

/* ---------------------------------------------------------- resolving */

static void
free_wreq(struct wreq *wr)
{
	iter_free(wr->it);
	cache_free(wr->cold_cache);
	free(wr->cold_env);
	free(wr);
}

static void
deadline_closed(uv_handle_t *h)
{
	free_wreq(h->data);
}

/* Priming found no root server that answers (each root hint timed out or
 * was unreachable): most likely a machine with no route to the Internet.
 * Said once per process, whatever the retries, workers and tiers. */
static void
say_offline(void)
{
	static atomic_flag said = ATOMIC_FLAG_INIT;

	if (atomic_flag_test_and_set(&said))
		return;
	log_warn("no root server answers (every root hint timed out or is "
	         "unreachable): is this machine offline? resolverd retries "
	         "every minute. To try it without the Internet, run `make "
	         "demo`: a DNS hierarchy of its own on loopback, with "
	         "resolverd pointed at it");
}

/* The resolution is over: publish, answer, log, free. */
static void
finish(struct wreq *wr)
{
	struct worker *w = wr->w;
	const struct iter_result *res = iter_result(wr->it);
	char name[DNS_NAME_TEXT_MAX], tb[DNS_MNEMONIC_MAX];

	if (wr->up != NULL) {
		up_cancel(wr->up);
		wr->up = NULL;
	}
	uv_timer_stop(&wr->deadline);
	*wr->pprev = wr->next;
	if (wr->next != NULL)
		wr->next->pprev = wr->pprev;
	w->nowned--;
	if (w->nowned == 0 && w->peak_owned >= WORKER_TRIM_AFTER &&
	    !w->closing) {
		/* a burst is over: give the memory its requests held back
		 * to the system once things stay quiet for a moment */
		uv_timer_start(&w->trim_timer, on_trim, 1000, 0);
	}
	STAT_ADD(w->stats.ignored_replies, iter_ignored(wr->it));
	if (w->env.anchors != NULL && wr->cold_cache == NULL) {
		/* what validation made of the resolutions */
		if (!res->failed && res->secure)
			STAT_INC(w->stats.val_secure);
		else if (!res->failed)
			STAT_INC(w->stats.val_insecure);
		else if (res->ede_code >= DNS_EDE_DNSSEC_INDETERMINATE &&
		    res->ede_code <= DNS_EDE_NSEC_MISSING)
			STAT_INC(w->stats.val_bogus);
	}
	dns_name_to_text(name, sizeof(name), iter_qname(wr->it));
	if (res->failed) {
		if (strncmp(res->reason, "limit ", 6) == 0) {
			STAT_INC(w->stats.servfail_limit);
			count_limit(w, res->reason);
		} else
			STAT_INC(w->stats.servfail_other);
		log_warn("%sservfail %s %s: %s", w->tag, name,
		    dns_type_str(iter_qtype(wr->it), tb), res->reason);
	}
	if (wr->prime) {
		w->prime = NULL;
		if (res->failed) {
			if (res->ede_code == DNS_EDE_NO_REACHABLE_AUTHORITY)
				say_offline();
			schedule_prime(w, 60000);
		} else {
			struct cache_rrset_out o;
			uint8_t buf[4096];
			uint64_t ttl = 3600;
			if (cache_get(w->cache, (const uint8_t *)"", DNS_T_NS,
			        DNS_C_IN, worker_now(w), &o, buf,
			        sizeof(buf)) == 1)
				ttl = o.ttl;
			log_info(
			    "primed the root NS set: %u servers, TTL %llu s",
			    res->ancount, (unsigned long long)ttl);
			schedule_prime(w, ttl * 900); /* at 90 % of the TTL */
		}
	}
	if (wr->trace_cb != NULL)
		wr->trace_cb(wr->trace_arg, wr->it);
	if (wr->fl != NULL) {
		struct flight *fl = wr->fl;
		struct iter_result *pub = iter_take_result(wr->it);
		wr->fl = NULL;
		flights_publish(w->flights, fl, pub);
		struct wwait *own = *flight_local(fl, (unsigned)w->findex);
		if (own != NULL)
			answer_wait(w, own);
		flights_release(w->flights, fl);
	}
	uv_close((uv_handle_t *)&wr->deadline, deadline_closed);
}

/* The hard deadline: whatever the exchange does, the question ends. */
static void
on_deadline(uv_timer_t *t)
{
	struct wreq *wr = t->data;
	struct worker *w = wr->w;

	STAT_INC(w->stats.deadline);
	if (wr->up != NULL) {
		up_cancel(wr->up);
		wr->up = NULL;
	}
	iter_abort(wr->it, now_pair(w), "limit max_time_ms reached");
	finish(wr);
}

static bool
on_upstream(void *arg, const struct sockaddr *from, const uint8_t *pkt,
    size_t len, int err)
{
	struct wreq *wr = arg;
	struct worker *w = wr->w;
	enum iter_status st = ITER_ACCEPTED;

	uv_update_time(w->loop);
	if (err < 0)
		iter_unreachable(wr->it, uv_strerror(err), now_pair(w));
	else
		st = iter_reply(wr->it, from, pkt, len, now_pair(w));
	if (pkt != NULL && st == ITER_IGNORED)
		return true; /* keep waiting for the genuine reply */
	wr->up = NULL;       /* the exchange ends when we return false */
	drive(wr);
	return false;
}

static void
drive(struct wreq *wr)
{
	struct worker *w = wr->w;
	struct iter_action a;
	int err;

	for (unsigned i = 0; i < LIM_ITER_STEPS; i++) {
		if (w->closing)
			iter_abort(wr->it, now_pair(w), "shutting down");
		if (iter_next(wr->it, now_pair(w), &a) == ITER_DONE) {
			finish(wr);
			return;
		}
		wr->up = up_send(w->loop, &a, on_upstream, wr, &w->up, &err);
		if (wr->up != NULL)
			return;
		/* could not even send (no route, no memory) */
		iter_unreachable(wr->it, uv_strerror(err), now_pair(w));
	}
	iter_abort(
	    wr->it, now_pair(w), "internal: too many immediate failures");
	finish(wr);
}

/* A new resolution of (qname, qtype, qclass) driven by this worker,
 * resolving flight @p fl (or none). NULL when out of memory or over the
 * cap of resolutions per worker. */
static struct wreq *
start(struct worker *w, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
    bool cold, bool cd, struct flight *fl)
{
	struct wreq *wr;
	const struct iter_env *env = &w->env;

	if (w->nowned >= LIM_INFLIGHT || (wr = calloc(1, sizeof(*wr))) == NULL)
		return NULL;
	wr->w = w;
	wr->fl = fl;
	if (cold) {
		/* as if the cache were empty, without disturbing it */
		struct cache_policy pol = {
		    .min_ttl = w->cfg->cache.min_ttl,
		    .max_ttl = w->cfg->cache.max_ttl,
		    .negative_ttl = w->cfg->cache.negative_ttl,
		};
		wr->cold_cache = cache_new(WORKER_COLD_CACHE, &pol);
		wr->cold_env = malloc(sizeof(*wr->cold_env));
		if (wr->cold_cache == NULL || wr->cold_env == NULL) {
			cache_free(wr->cold_cache);
			free(wr->cold_env);
			free(wr);
			return NULL;
		}
		*wr->cold_env = w->env;
		wr->cold_env->cache = wr->cold_cache;
		env = wr->cold_env;
	}
	wr->it = iter_new(env, qname, qtype, qclass, now_pair(w));
	if (wr->it == NULL) {
		cache_free(wr->cold_cache);
		free(wr->cold_env);
		free(wr);
		return NULL;
	}
	if (cd)
		iter_set_cd(wr->it);
	uv_timer_init(w->loop, &wr->deadline);
	wr->deadline.data = wr;
	uv_timer_start(&wr->deadline, on_deadline,
	    w->env.opts.max_time_ms ? w->env.opts.max_time_ms : 1, 0);
	wr->next = w->owned;
	if (w->owned != NULL)
		w->owned->pprev = &wr->next;
	wr->pprev = &w->owned;
	w->owned = wr;
	w->nowned++;
	if (w->nowned > w->peak_owned)
		w->peak_owned = w->nowned;
	return wr;
}

int
worker_trace(struct worker *w, const uint8_t *qname, uint16_t qtype, bool cold,
    worker_trace_cb cb, void *arg)
{
	struct wreq *wr;

	if (w->closing || cb == NULL || dns_name_len(qname, LIM_NAME_MAX) == 0)
		return -EINVAL;
	if (w->nowned >= LIM_INFLIGHT)
		return -EBUSY;
	wr = start(w, qname, qtype, DNS_C_IN, cold, false, NULL);
	if (wr == NULL)
		return -ENOMEM;
	iter_set_trace(wr->it);
	wr->trace_cb = cb;
	wr->trace_arg = arg;
	drive(wr);
	return 0;
}

/* A miss: join the question's flight, as its owner or as a waiter. */
static void
resolve(struct worker *w, struct srv_req *req)
{
	const struct msg_query *q = &req->q;
	struct flight_key k = {
	    q->qname, q->qtype, q->qclass, q->cd ? FLIGHT_CD : 0};
	struct flight *fl;
	struct wreq *wr;

	switch (flights_join(w->flights, &k, (unsigned)w->findex, 1, &fl)) {
	case FLIGHT_FULL:
		STAT_INC(w->stats.overloaded);
		reply_error(w, req, DNS_RCODE_SERVFAIL, DNS_EDE_OTHER,
		    "resolver overloaded: too many questions or clients in "
		    "flight");
		return;
	case FLIGHT_WAITER:
		STAT_INC(w->stats.joined);
		req->data = (void *)1; /* logged as "joined" */
		if (*flight_local(fl, (unsigned)w->findex) == NULL)
			STAT_INC(w->stats.joined_other);
		if (wait_for(w, fl, req) < 0)
			reply_error(w, req, DNS_RCODE_SERVFAIL, DNS_EDE_OTHER,
			    "resolver out of memory");
		return;
	case FLIGHT_OWNER:
		break;
	}
	wr = start(w, q->qname, q->qtype, q->qclass, false, q->cd, fl);
	if (wr == NULL) {
		/* nobody will resolve it: publish the failure at once, so a
		 * client that joined meanwhile is answered too */
		STAT_INC(w->stats.overloaded);
		flights_publish(w->flights, fl,
		    iter_result_failure(
		        "resolver overloaded: too many questions in flight"));
		flights_release(w->flights, fl);
		reply_error(w, req, DNS_RCODE_SERVFAIL, DNS_EDE_OTHER,
		    "resolver overloaded: too many questions in flight");
		return;
	}
	STAT_INC(w->stats.resolutions);
	req->data = NULL;
	/* the wreq keeps the join's reference until it has published; the
	 * owner's own clients wait on the flight like anyone else's */
	flights_hold(w->flights, fl);
	if (wait_for(w, fl, req) < 0)
		reply_error(w, req, DNS_RCODE_SERVFAIL, DNS_EDE_OTHER,
		    "resolver out of memory");
	drive(wr);
}

/* Resolve (qname, qtype, qclass) in the background, no client waiting:
 * a prefetch, or the refresh of a name answered stale. The question joins
 * the flight table like a client's, so a question already being resolved
 * (here or by another worker) is not asked twice. */
static void
refresh(struct worker *w, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
    bool prefetch)
{
	struct flight_key k = {qname, qtype, qclass, 0};
	struct flight *fl;
	struct wreq *wr;

	if (w->closing)
		return;
	switch (flights_join(w->flights, &k, (unsigned)w->findex, 0, &fl)) {
	case FLIGHT_OWNER:
		break;
	case FLIGHT_WAITER:
		flights_release(w->flights, fl); /* being resolved already */
		return;
	case FLIGHT_FULL:
		return;
	}
	wr = start(w, qname, qtype, qclass, false, false, fl);
	if (wr == NULL) {
		flights_publish(w->flights, fl,
		    iter_result_failure(
		        "resolver overloaded: too many questions in flight"));
		flights_release(w->flights, fl);
		return;
	}
	iter_set_refresh(wr->it);
	if (prefetch)
		STAT_INC(w->stats.prefetches);
	else
		STAT_INC(w->stats.stale_refreshes);
	drive(wr); /* the wreq keeps the join's reference */
}

/* Send @p out (@p n bytes) to @p req, then refresh its question in the
 * background (the request is gone once answered: its question is copied
 * first). */
static __attribute__((noinline)) void
reply_then_refresh(
    struct worker *w, struct srv_req *req, uint8_t *out, size_t n, bool pf)
{
	uint8_t name[LIM_NAME_MAX];
	uint16_t qtype = req->q.qtype, qclass = req->q.qclass;

	memcpy(name, req->q.qname, req->q.qname_len);
	srv_reply(req, out, n);
	refresh(w, name, qtype, qclass, pf);
}

/* The hot path: answer an RD=1 query from the cache, building the answer
 * in @p out (LIM_MSG_MAX bytes). @return false on a miss (@p req
 * untouched). */
static inline bool
answer_hit(struct worker *w, struct srv_req *req, uint64_t now, uint8_t *out)
{
	bool pf = false;
	size_t n = ans_from_cache(out, req->max_resp, req->query, &req->q,
	    w->cache, w->env.opts.max_cname, now, &pf);

	if (n == 0)
		return false;
	STAT_INC(w->stats.cache_hits);
	answered(w, req, out[3] & 0xf, "hit", 0);
	/* in the last tenth of its TTL: refreshed while still answered */
	if (__builtin_expect(pf, 0) && w->cfg->cache.prefetch)
		reply_then_refresh(w, req, out, n, true);
	else
		srv_reply(req, out, n);
	return true;
}

/* Serve-stale: answer @p req from data whose TTL ran out, if the cache
 * has some (see cache_answer_stale for @p how); a name whose refresh hold
 * ran out is refreshed in the background. @return false: nothing stale
 * (@p req untouched). */
static bool
answer_stale(struct worker *w, struct srv_req *req, enum cache_stale how,
    const char *why, uint8_t *out)
{
	bool again = false;
	size_t n = ans_from_stale(out, req->max_resp, req->query, &req->q,
	    w->cache, w->env.opts.max_cname, worker_now(w), how, why, &again);

	if (n == 0)
		return false;
	STAT_INC(w->stats.stale_answers);
	if (req->q.edns)
		STAT_INC(w->stats.ede[DNS_EDE_STALE_ANSWER]);
	answered(w, req, out[3] & 0xf, "stale", 0);
	if (again)
		reply_then_refresh(w, req, out, n, false);
	else
		srv_reply(req, out, n);
	return true;
}

/* answer_hit(), timed (uv_hrtime: the vDSO clock, no syscall) into
 * lat_hit. */
static __attribute__((noinline)) bool
timed_hit(struct worker *w, struct srv_req *req, uint64_t now, uint8_t *out)
{
	uint64_t t0 = uv_hrtime();

	if (!answer_hit(w, req, now, out))
		return false;
	lat_add(&w->stats.lat_hit, uv_hrtime() - t0);
	return true;
}

/* The configured text that answers a CH TXT (or ANY) question for
 * version.bind, hostname.bind or id.server; NULL: refuse it. */
static const char *
chaos_text(const struct cfg *cfg, const struct msg_query *q)
{
	static const uint8_t version[] = "\7version\4bind";
	static const uint8_t hostname[] = "\10hostname\4bind";
	static const uint8_t id[] = "\2id\6server";

	if (q->qclass != DNS_C_CH ||
	    (q->qtype != DNS_T_TXT && q->qtype != DNS_T_ANY))
		return NULL;
	if (dns_name_eq(q->qname, version))
		return cfg->chaos.version;
	if (dns_name_eq(q->qname, hostname))
		return cfg->chaos.hostname;
	if (dns_name_eq(q->qname, id))
		return cfg->chaos.id;
	return NULL;
}

static void
on_query(void *ctx, struct srv_req *req)
{
	struct worker *w = ctx;
	const struct msg_query *q = &req->q;
	uint8_t out[LIM_MSG_MAX];
	uint64_t now = worker_now(w);
	size_t n;
	bool hit;

	STAT_INC(w->stats.queries);
	if (q->qclass != DNS_C_IN) {
		const char *text = chaos_text(w->cfg, q);

		STAT_INC(w->stats.cache_misses);
		if (text != NULL) {
			n = ans_chaos(out, req->max_resp, req->query, q, text);
			if (n > 0) {
				answered(w, req, DNS_RCODE_NOERROR, "chaos", 0);
				srv_reply(req, out, n);
				return;
			}
		}
		reply_error(w, req, DNS_RCODE_REFUSED, DNS_EDE_PROHIBITED,
		    q->qclass == DNS_C_CH ? "not configured to say"
		                          : "only class IN is served");
		return;
	}
	if (!q->rd) {
		/* non-recursive: from the cache only, an answer or a
		 * referral */
		STAT_INC(w->stats.norec);
		n = ans_norec(out, req->max_resp, req->query, q, w->cache,
		    w->env.opts.max_cname, now, &w->ans, &hit);
		if (hit)
			STAT_INC(w->stats.cache_hits);
		else
			STAT_INC(w->stats.cache_misses);
		if (n == 0) {
			srv_req_drop(req);
			return;
		}
		answered(w, req, out[3] & 0xf, "norec", 0);
		srv_reply(req, out, n);
		return;
	}
	/* one query in WORKER_HIT_SAMPLE takes the timed copy of the hit
	 * path: the others pay one test for the latency histogram */
	if ((w->stats.queries & (WORKER_HIT_SAMPLE - 1)) == 0) {
		if (timed_hit(w, req, now, out))
			return;
	} else if (answer_hit(w, req, now, out)) {
		return;
	}
	STAT_INC(w->stats.cache_misses);
	/* proven absent by secure NSEC records already cached (RFC 8198) */
	if (w->env.nsec != NULL &&
	    (n = ans_from_nsec(out, req->max_resp, req->query, q, w->env.nsec,
	         now, &w->nsec_proof)) > 0) {
		STAT_INC(w->stats.nsec_answers);
		answered(w, req, out[3] & 0xf, "nsec", 0);
		srv_reply(req, out, n);
		return;
	}
	/* a name whose servers failed a moment ago: its stale data at once,
	 * without asking them again (at most once per LIM_STALE_RETRY s) */
	if (w->cfg->cache.serve_stale != 0 &&
	    answer_stale(w, req, CACHE_STALE_HELD,
	        "its servers failed; refreshed in the background", out))
		return;
	resolve(w, req);
}

static void
on_prime_timer(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct wreq *wr;

	if (w->prime != NULL || w->closing)
		return;
	wr = start(
	    w, (const uint8_t *)"", DNS_T_NS, DNS_C_IN, false, false, NULL);
	if (wr == NULL) {
		schedule_prime(w, 60000);
		return;
	}
	wr->prime = true;
	w->prime = wr;
	STAT_INC(w->stats.primes);
	drive(wr);
}

/* The loop ran: the health check (resolver/http.c) looks at this. */
static void
on_beat(uv_timer_t *t)
{
	struct worker *w = t->data;

	atomic_store_explicit(
	    &w->alive_ms, worker_mono_ms(), memory_order_relaxed);
}

static void
schedule_prime(struct worker *w, uint64_t delay_ms)
{
	if (w->closing)
		return;
	uv_timer_start(
	    &w->prime_timer, on_prime_timer, delay_ms ? delay_ms : 1, 0);
}

int
worker_init(struct worker *w, uv_loop_t *loop, struct srv *srv,
    const struct cfg *cfg, struct cache *cache, struct infra *infra,
    struct flights *flights, const struct worker_tables *tab, bool prime)
{
	memset(w, 0, sizeof(*w));
	w->loop = loop;
	w->srv = srv;
	w->cfg = cfg;
	w->cache = cache;
	w->infra = infra;
	w->flights = flights;
	w->findex = flights_register(flights, wake_cb, w);
	if (w->findex < 0)
		return -ENOMEM;
	uv_async_init(loop, &w->wake, on_wake);
	w->wake.data = w;
	w->env.hints = &tab->hints;
	w->env.anchors = cfg->dnssec.validation ? tab->anchors : NULL;
	w->env.cache = cache;
	w->env.infra = infra;
	w->env.random = rnd;
	w->env.random_arg = w;
	w->env.port = 53;
	arc4random_buf(w->env.cookie_secret, sizeof(w->env.cookie_secret));
	w->env.scratch = &w->scratch;
	w->env.val_keys = &w->keys;
	opts_from_cfg(&w->env.opts, cfg);
	forwards_from_cfg(w, cfg);
	uv_timer_init(loop, &w->prime_timer);
	w->prime_timer.data = w;
	uv_timer_init(loop, &w->trim_timer);
	w->trim_timer.data = w;
	uv_timer_init(loop, &w->beat);
	w->beat.data = w;
	on_beat(&w->beat);
	uv_timer_start(&w->beat, on_beat, 1000, 1000);
	srv_set_hook(srv, on_query, w);
	if (!prime)
		return 0;
	/* a resolver that forwards everything has no root to prime */
	for (unsigned i = 0; i < w->env.nforwards; i++)
		if (w->env.forwards[i].cut.zone[0] == 0)
			return 0;
	schedule_prime(w, 0);
	return 0;
}

void
worker_set_config(
    struct worker *w, const struct cfg *cfg, const struct worker_tables *tab)
{
	struct cache_policy p = {
	    .min_ttl = cfg->cache.min_ttl,
	    .max_ttl = cfg->cache.max_ttl,
	    .negative_ttl = cfg->cache.negative_ttl,
	    .serve_stale = cfg->cache.serve_stale,
	    .max_entries = cfg->cache.max_entries,
	};

	w->cfg = cfg;
	w->env.hints = &tab->hints;
	w->env.anchors = cfg->dnssec.validation ? tab->anchors : NULL;
	opts_from_cfg(&w->env.opts, cfg);
	forwards_from_cfg(w, cfg);
	cache_set_policy(w->cache, &p);
	worker_set_nsec(w, w->nsec);
}

void
worker_set_nsec(struct worker *w, struct nsec_cache *nc)
{
	w->nsec = nc;
	w->env.nsec = w->env.anchors != NULL && w->cfg->dnssec.aggressive_nsec
	    ? nc
	    : NULL;
}

void
worker_close(struct worker *w)
{
	w->closing = true;
	flights_unregister(w->flights, w->findex);
	uv_close((uv_handle_t *)&w->wake, NULL);
	uv_timer_stop(&w->prime_timer);
	uv_close((uv_handle_t *)&w->prime_timer, NULL);
	uv_timer_stop(&w->trim_timer);
	uv_close((uv_handle_t *)&w->trim_timer, NULL);
	uv_timer_stop(&w->beat);
	uv_close((uv_handle_t *)&w->beat, NULL);
	/* our resolutions end now; their flights are published (SERVFAIL
	 * "shutting down"), which answers our own clients of them */
	while (w->owned != NULL) {
		struct wreq *wr = w->owned;
		iter_abort(wr->it, now_pair(w), "shutting down");
		finish(wr); /* unlinks it */
	}
	/* clients waiting for other workers' flights: the process is
	 * stopping, nobody will answer them here */
	while (w->waits != NULL) {
		struct wwait *ww = w->waits;
		if (flight_result(ww->fl) != NULL)
			answer_wait(w, ww);
		else
			drop_wait(w, ww);
	}
	val_keys_clear(&w->keys);
}
