/*
 * worker.c: from a checked client query to its answer.
 *
 * Hot path: ans_from_cache() straight into a stack buffer, then srv_reply().
 * Miss: the question is looked up in the in-flight table (same name, type,
 * class); a new one gets a struct wreq holding the iterator, the one
 * outstanding upstream exchange and the list of waiting clients.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>

#include "resolver/answer.h"
#include "resolver/log.h"
#include "resolver/worker.h"

struct wreq {
	struct worker *w;
	struct wreq *hnext; /* in-flight chain */
	uint32_t hash;
	uint8_t qname[LIM_NAME_MAX]; /* lowercased */
	uint16_t qtype, qclass;
	struct iter_req *it;     /* owned */
	struct up_query *up;     /* outstanding exchange or NULL */
	struct srv_req *waiters; /* owned until answered */
	unsigned nwaiters;
	uint64_t start_ms;
	bool prime;
	/* a traced resolution (resolverctl trace): not joined by clients */
	worker_trace_cb trace_cb;
	void *trace_arg;
	struct iter_env cold_env; /* for --cold: a private cache */
	struct cache *cold_cache; /* owned, or NULL */
	bool claimed;             /* owns the question in w->flights */
	bool parked;              /* no iterator: another worker resolves */
	struct wreq *pnext;       /* w->parked list */
};

static void drive(struct wreq *wr);

uint64_t
worker_now(const struct worker *w)
{
	return w->clock_base_ms + uv_now(w->loop);
}

static void
rnd(void *buf, size_t len, void *arg)
{
	(void)arg;
	arc4random_buf(buf, len);
}

static uint32_t
key_hash(const uint8_t *name, uint16_t type, uint16_t cls)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < dns_name_len(name, LIM_NAME_MAX); i++)
		h = (h ^ name[i]) * 16777619u;
	h = (h ^ type) * 16777619u;
	return (h ^ cls) * 16777619u;
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
unlink_wreq(struct wreq *wr)
{
	struct worker *w = wr->w;
	struct wreq **lists[2] = {
	    &w->inflight[wr->hash % WORKER_INFLIGHT_BUCKETS],
	    &w->traces,
	};

	for (int l = 0; l < 2; l++) {
		for (struct wreq **pp = lists[l]; *pp; pp = &(*pp)->hnext) {
			if (*pp == wr) {
				*pp = wr->hnext;
				w->ninflight--;
				return;
			}
		}
	}
}

static void schedule_prime(struct worker *w, uint64_t delay_ms);

/* log.queries: one line per answered query. */
static void
log_query(const struct worker *w, const struct srv_req *req, unsigned rcode,
    const char *how, uint64_t ms)
{
	char addr[INET6_ADDRSTRLEN] = "?", name[DNS_NAME_TEXT_MAX],
	     tb[DNS_MNEMONIC_MAX];
	const struct sockaddr *sa = (const struct sockaddr *)&req->client;

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    addr, sizeof(addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
		    sizeof(addr));
	dns_name_to_text(name, sizeof(name), req->q.qname);
	log_info("%squery %s %s %s %s %s %llu ms", w->tag, addr, name,
	    dns_type_str(req->q.qtype, tb), dns_rcode_str(rcode), how,
	    (unsigned long long)ms);
}

/* The resolution is over: answer every waiter, log, free. */
static void
finish(struct wreq *wr)
{
	struct worker *w = wr->w;
	const struct iter_result *res = iter_result(wr->it);
	uint8_t out[LIM_MSG_MAX];
	char name[DNS_NAME_TEXT_MAX], tb[DNS_MNEMONIC_MAX];

	unlink_wreq(wr);
	if (wr->claimed)
		flights_release(w->flights, wr->qname, wr->qtype, wr->qclass,
		    (unsigned)w->findex);
	w->stats.ignored_replies += iter_ignored(wr->it);
	dns_name_to_text(name, sizeof(name), wr->qname);
	if (res->failed) {
		if (strncmp(res->reason, "limit ", 6) == 0)
			w->stats.servfail_limit++;
		else
			w->stats.servfail_other++;
		log_warn("%sservfail %s %s: %s", w->tag, name,
		    dns_type_str(wr->qtype, tb), res->reason);
	}
	if (wr->prime) {
		w->prime = NULL;
		if (res->failed) {
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
	while (wr->waiters != NULL) {
		struct srv_req *req = wr->waiters;
		wr->waiters = req->next;
		size_t n = ans_from_result(
		    out, req->max_resp, req->query, &req->q, res);
		if (res->rcode < 6)
			w->stats.rcode[res->rcode]++;
		if (w->cfg->log.queries)
			log_query(w, req, res->rcode, "miss",
			    worker_now(w) - wr->start_ms);
		if (n > 0)
			srv_reply(req, out, n);
		else
			srv_req_drop(req);
	}
	iter_free(wr->it);
	cache_free(wr->cold_cache);
	free(wr);
}

static bool
on_upstream(
    void *arg, const struct sockaddr *from, const uint8_t *pkt, size_t len)
{
	struct wreq *wr = arg;
	struct worker *w = wr->w;
	enum iter_status st;

	uv_update_time(w->loop);
	st = iter_reply(wr->it, from, pkt, len, worker_now(w));
	if (pkt != NULL && st == ITER_IGNORED)
		return true; /* keep waiting for the genuine reply */
	wr->up = NULL;
	drive(wr);
	return false;
}

static void
drive(struct wreq *wr)
{
	struct worker *w = wr->w;
	struct iter_action a;

	for (unsigned i = 0; i < LIM_ITER_STEPS; i++) {
		if (w->closing)
			iter_abort(wr->it, worker_now(w), "shutting down");
		if (iter_next(wr->it, worker_now(w), &a) == ITER_DONE) {
			finish(wr);
			return;
		}
		wr->up = up_send(w->loop, &a, on_upstream, wr, &w->up);
		if (wr->up != NULL)
			return;
		/* could not even send: the same as a timeout */
		iter_reply(wr->it, NULL, NULL, 0, worker_now(w));
	}
	iter_abort(
	    wr->it, worker_now(w), "internal: too many immediate failures");
	finish(wr);
}

static struct wreq *
start(struct worker *w, const uint8_t *qname, uint16_t qtype, uint16_t qclass,
    bool cold)
{
	struct wreq *wr = calloc(1, sizeof(*wr));
	const struct iter_env *env = &w->env;

	if (wr == NULL)
		return NULL;
	wr->w = w;
	dns_name_lower(wr->qname, qname);
	wr->qtype = qtype;
	wr->qclass = qclass;
	wr->start_ms = worker_now(w);
	if (cold) {
		/* as if the cache were empty, without disturbing it */
		struct cache_policy pol = {
		    .min_ttl = w->cfg->cache.min_ttl,
		    .max_ttl = w->cfg->cache.max_ttl,
		    .negative_ttl = w->cfg->cache.negative_ttl,
		};
		wr->cold_cache = cache_new(WORKER_COLD_CACHE, &pol);
		if (wr->cold_cache == NULL) {
			free(wr);
			return NULL;
		}
		wr->cold_env = w->env;
		wr->cold_env.cache = wr->cold_cache;
		env = &wr->cold_env;
	}
	wr->it = iter_new(env, wr->qname, qtype, qclass, wr->start_ms);
	if (wr->it == NULL) {
		cache_free(wr->cold_cache);
		free(wr);
		return NULL;
	}
	wr->hash = key_hash(wr->qname, qtype, qclass);
	wr->hnext = w->inflight[wr->hash % WORKER_INFLIGHT_BUCKETS];
	w->inflight[wr->hash % WORKER_INFLIGHT_BUCKETS] = wr;
	w->ninflight++;
	return wr;
}

int
worker_trace(struct worker *w, const uint8_t *qname, uint16_t qtype, bool cold,
    worker_trace_cb cb, void *arg)
{
	struct wreq *wr;

	if (w->closing || cb == NULL || dns_name_len(qname, LIM_NAME_MAX) == 0)
		return -EINVAL;
	if (w->ninflight >= LIM_INFLIGHT)
		return -EBUSY;
	wr = start(w, qname, qtype, 1, cold);
	if (wr == NULL)
		return -ENOMEM;
	/* out of the join table: a trace shows its own walk */
	unlink_wreq(wr);
	wr->hnext = w->traces;
	w->traces = wr;
	w->ninflight++;
	wr->trace_cb = cb;
	wr->trace_arg = arg;
	drive(wr);
	return 0;
}

static struct wreq *
find(struct worker *w, const uint8_t *qname, uint16_t qtype, uint16_t qclass)
{
	uint32_t h = key_hash(qname, qtype, qclass);
	struct wreq *wr = w->inflight[h % WORKER_INFLIGHT_BUCKETS];

	/* qname may be in any case; the hash is over lowercase, so lower it */
	(void)h;
	for (; wr != NULL; wr = wr->hnext)
		if (wr->qtype == qtype && wr->qclass == qclass && !wr->prime &&
		    dns_name_eq(wr->qname, qname))
			return wr;
	return NULL;
}

/* Called by flights_release, from any thread. */
static void
wake_cb(void *arg)
{
	struct worker *w = arg;

	uv_async_send(&w->wake);
}

/* Another worker resolves this question: keep the client until it ends.
 * The parked request sits in the join table too, so more clients of this
 * worker join it. @return 0, or -ENOMEM. */
static int
park(struct worker *w, const uint8_t *lname, uint16_t qtype, uint16_t qclass,
    struct srv_req *req)
{
	struct wreq *wr = calloc(1, sizeof(*wr));

	if (wr == NULL)
		return -ENOMEM;
	wr->w = w;
	wr->parked = true;
	dns_name_lower(wr->qname, lname);
	wr->qtype = qtype;
	wr->qclass = qclass;
	wr->start_ms = worker_now(w);
	wr->hash = key_hash(wr->qname, qtype, qclass);
	wr->hnext = w->inflight[wr->hash % WORKER_INFLIGHT_BUCKETS];
	w->inflight[wr->hash % WORKER_INFLIGHT_BUCKETS] = wr;
	w->ninflight++;
	wr->pnext = w->parked;
	w->parked = wr;
	req->next = NULL;
	wr->waiters = req;
	wr->nwaiters = 1;
	w->stats.parked++;
	return 0;
}

/* Take @p wr off the parked list and the join table. */
static void
unpark(struct wreq *wr)
{
	struct worker *w = wr->w;

	for (struct wreq **pp = &w->parked; *pp; pp = &(*pp)->pnext) {
		if (*pp == wr) {
			*pp = wr->pnext;
			break;
		}
	}
	unlink_wreq(wr);
}

/* A question this worker waits on has ended somewhere: answer its parked
 * clients from the shared cache; those it cannot (a failure is not
 * cached) are resolved here. */
static void
on_wake(uv_async_t *a)
{
	struct worker *w = a->data;
	struct wreq *wr = w->parked, *next;
	uint8_t out[LIM_MSG_MAX];

	for (; wr != NULL; wr = next) {
		next = wr->pnext;
		if (flights_busy(w->flights, wr->qname, wr->qtype, wr->qclass))
			continue;
		unpark(wr);
		struct srv_req *miss = NULL;
		unsigned nmiss = 0;
		while (wr->waiters != NULL) {
			struct srv_req *req = wr->waiters;
			wr->waiters = req->next;
			size_t n = ans_from_cache(out, req->max_resp,
			    req->query, &req->q, w->cache,
			    w->env.opts.max_cname, worker_now(w));
			if (n > 0) {
				w->stats.rcode[out[3] & 0xf]++;
				if (w->cfg->log.queries)
					log_query(w, req, out[3] & 0xf,
					    "joined",
					    worker_now(w) - wr->start_ms);
				srv_reply(req, out, n);
			} else {
				req->next = miss;
				miss = req;
				nmiss++;
			}
		}
		if (miss != NULL) {
			struct wreq *own = w->ninflight < LIM_INFLIGHT
			    ? start(w, wr->qname, wr->qtype, wr->qclass, false)
			    : NULL;
			if (own == NULL) {
				while (miss != NULL) {
					struct srv_req *req = miss;
					miss = req->next;
					srv_reply_error(req, DNS_RCODE_SERVFAIL,
					    0, "resolver overloaded");
				}
			} else {
				own->waiters = miss;
				own->nwaiters = nmiss;
				w->stats.resolutions++;
				drive(own);
			}
		}
		free(wr);
	}
}

void
worker_share_flights(struct worker *w, struct flights *f)
{
	if (uv_async_init(w->loop, &w->wake, on_wake) != 0)
		return;
	w->wake.data = w;
	w->flights = f;
	w->findex = flights_register(f, wake_cb, w);
}

static void
on_query(void *ctx, struct srv_req *req)
{
	struct worker *w = ctx;
	const struct msg_query *q = &req->q;
	uint8_t out[LIM_MSG_MAX];
	uint8_t lname[LIM_NAME_MAX];
	uint64_t now = worker_now(w);
	size_t n;
	bool claimed = false;

	w->stats.queries++;
	if (q->qclass != 1) {
		srv_reply_error(
		    req, DNS_RCODE_REFUSED, 0, "only class IN is served");
		return;
	}
	if (!q->rd) {
		w->stats.norec++;
		n = ans_norec(out, req->max_resp, req->query, q, w->cache,
		    w->env.opts.max_cname, now);
		if (n > 0 && w->cfg->log.queries)
			log_query(w, req, out[3] & 0xf, "norec", 0);
		if (n > 0)
			srv_reply(req, out, n);
		else
			srv_req_drop(req);
		return;
	}
	n = ans_from_cache(out, req->max_resp, req->query, q, w->cache,
	    w->env.opts.max_cname, now);
	if (n > 0) {
		w->stats.cache_hits++;
		w->stats.rcode[out[3] & 0xf]++;
		if (w->cfg->log.queries)
			log_query(w, req, out[3] & 0xf, "hit", 0);
		srv_reply(req, out, n);
		return;
	}
	w->stats.cache_misses++;
	dns_name_lower(lname, q->qname);
	struct wreq *wr = find(w, lname, q->qtype, q->qclass);
	if (wr != NULL) {
		if (wr->nwaiters >= LIM_WAITERS) {
			srv_reply_error(req, DNS_RCODE_SERVFAIL, 0,
			    "too many clients waiting for this question");
			return;
		}
		w->stats.joined++;
		req->next = wr->waiters;
		wr->waiters = req;
		wr->nwaiters++;
		return;
	}
	if (w->flights != NULL && w->findex >= 0 &&
	    w->ninflight < LIM_INFLIGHT) {
		int owner = flights_claim(w->flights, lname, q->qtype,
		    q->qclass, (unsigned)w->findex);
		if (owner >= 0) {
			if (park(w, lname, q->qtype, q->qclass, req) == 0)
				return;
			/* could not park: resolve it here too */
		} else if (owner == -1) {
			claimed = true;
		}
	}
	if (w->ninflight >= LIM_INFLIGHT ||
	    (wr = start(w, lname, q->qtype, q->qclass, false)) == NULL) {
		if (claimed)
			flights_release(w->flights, lname, q->qtype, q->qclass,
			    (unsigned)w->findex);
		srv_reply_error(req, DNS_RCODE_SERVFAIL, 0,
		    "resolver overloaded: too many questions in flight");
		return;
	}
	w->stats.resolutions++;
	wr->claimed = claimed;
	req->next = NULL;
	wr->waiters = req;
	wr->nwaiters = 1;
	drive(wr);
}

static void
on_prime_timer(uv_timer_t *t)
{
	struct worker *w = t->data;
	struct wreq *wr;

	if (w->prime != NULL || w->closing)
		return;
	wr = start(w, (const uint8_t *)"", DNS_T_NS, DNS_C_IN, false);
	if (wr == NULL) {
		schedule_prime(w, 60000);
		return;
	}
	wr->prime = true;
	w->prime = wr;
	w->stats.primes++;
	drive(wr);
}

static void
schedule_prime(struct worker *w, uint64_t delay_ms)
{
	if (w->closing)
		return;
	uv_timer_start(
	    &w->prime_timer, on_prime_timer, delay_ms ? delay_ms : 1, 0);
}

void
worker_init(struct worker *w, uv_loop_t *loop, struct srv *srv,
    const struct cfg *cfg, struct cache *cache, struct infra *infra,
    const struct deleg_hints *hints, bool prime)
{
	struct timeval tv;

	memset(w, 0, sizeof(*w));
	w->findex = -1;
	w->loop = loop;
	w->srv = srv;
	w->cfg = cfg;
	w->cache = cache;
	w->infra = infra;
	w->env.hints = hints;
	gettimeofday(&tv, NULL);
	uv_update_time(loop);
	w->clock_base_ms = (uint64_t)tv.tv_sec * 1000 +
	    (uint64_t)tv.tv_usec / 1000 - uv_now(loop);
	w->env.cache = cache;
	w->env.infra = infra;
	w->env.random = rnd;
	w->env.port = 53;
	opts_from_cfg(&w->env.opts, cfg);
	forwards_from_cfg(w, cfg);
	uv_timer_init(loop, &w->prime_timer);
	w->prime_timer.data = w;
	srv_set_hook(srv, on_query, w);
	if (!prime)
		return;
	/* a resolver that forwards everything has no root to prime */
	for (unsigned i = 0; i < w->env.nforwards; i++)
		if (w->env.forwards[i].cut.zone[0] == 0)
			return;
	schedule_prime(w, 0);
}

void
worker_set_config(
    struct worker *w, const struct cfg *cfg, const struct deleg_hints *hints)
{
	struct cache_policy p = {
	    .min_ttl = cfg->cache.min_ttl,
	    .max_ttl = cfg->cache.max_ttl,
	    .negative_ttl = cfg->cache.negative_ttl,
	    .max_entries = cfg->cache.max_entries,
	};

	w->cfg = cfg;
	w->env.hints = hints;
	opts_from_cfg(&w->env.opts, cfg);
	forwards_from_cfg(w, cfg);
	cache_set_policy(w->cache, &p);
}

void
worker_close(struct worker *w)
{
	w->closing = true;
	if (w->flights != NULL) {
		flights_unregister(w->flights, w->findex);
		uv_close((uv_handle_t *)&w->wake, NULL);
		while (w->parked != NULL) {
			struct wreq *wr = w->parked;
			unpark(wr);
			while (wr->waiters != NULL) {
				struct srv_req *req = wr->waiters;
				wr->waiters = req->next;
				srv_req_drop(req);
			}
			free(wr);
		}
	}
	uv_timer_stop(&w->prime_timer);
	uv_close((uv_handle_t *)&w->prime_timer, NULL);
	for (unsigned b = 0; b <= WORKER_INFLIGHT_BUCKETS; b++) {
		struct wreq **head =
		    b < WORKER_INFLIGHT_BUCKETS ? &w->inflight[b] : &w->traces;
		while (*head != NULL) {
			struct wreq *wr = *head;
			if (wr->up != NULL) {
				up_cancel(wr->up);
				wr->up = NULL;
			}
			iter_abort(wr->it, worker_now(w), "shutting down");
			finish(wr); /* unlinks it */
		}
	}
}
