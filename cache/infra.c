/*
 * infra.c: the infrastructure cache (see infra.h for the contract).
 *
 * One mutex guards a fixed bucket array (a power of two >= max_entries, so
 * the load factor stays <= 1), an LRU list (head = most recently used) and
 * the counters. Each entry is one malloc'd struct ientry; its lameness marks
 * are a singly linked list of at most INFRA_LAME_MAX malloc'd struct lame,
 * owned by the entry. The bucket is chosen by a hash of (family, address)
 * keyed with 128 random bits from getrandom(), so whoever controls the
 * addresses in referrals cannot aim them all at one chain.
 *
 * Time. An entry's server data (RTT, timeouts, EDNS, TCP) is "stale" once
 * now >= updated_ms + LIM_INFRA_TTL * 1000 and is then reset to unknown. An
 * entry is dead when its data is stale (or was never set) and it holds no
 * lame mark with until_ms > now; dead entries met by a lookup, a walk or
 * the LRU tail are freed and counted in `expiries`.
 *
 * RTT arithmetic keeps srtt and rttvar in 1/8 ms so that the RFC 6298 gains
 * (1/8 and 1/4) lose little to integer division.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "cache/cache.h"
#include "cache/lru.h"
#include "cache/infra.h"
#include "resolver/dns.h"
#include "resolver/limits.h"

#define RTT_SAMPLE_MAX 60000 /* ms; larger samples are clamped */
#define TTL_MS         ((uint64_t)LIM_INFRA_TTL * 1000)

struct lame {
	struct lame *next;
	uint64_t until_ms;
	uint8_t len;
	uint8_t zone[]; /* lowercased wire name */
};

struct ientry {
	struct ientry *hnext;       /* hash chain */
	struct ientry *prev, *next; /* LRU */
	struct lame *lame;          /* owned list, at most INFRA_LAME_MAX */
	uint64_t hash;
	uint64_t updated_ms; /* 0: no server data */
	uint64_t used_ms;
	uint32_t srtt8, rttvar8; /* 1/8 ms; valid if rtt_known */
	uint32_t timeouts, timeouts_total;
	uint8_t family, edns, nlame, cookie_len;
	bool rtt_known, tcp_only;
	uint8_t cookie[32];
	uint8_t addr[16];
};

struct infra {
	pthread_mutex_t lock;
	uint64_t key[2];
	struct ientry **buckets; /* owned; mask + 1 slots */
	size_t mask;
	struct ientry *head, *tail;
	size_t count, max;
	struct infra_stats st; /* entries/max_entries filled on read */
};

static int norm_key(const uint8_t *addr, int family, uint8_t key[16]);
static uint64_t addr_hash(
    const struct infra *infra, const uint8_t key[16], int family);
static void free_entry(struct ientry *e);
static void remove_entry(struct infra *infra, struct ientry *e);
static void prune(struct ientry *e, uint64_t now);
static bool dead(struct ientry *e, uint64_t now);
static struct ientry *lookup(struct infra *infra, const uint8_t *addr,
    int family, uint64_t now, bool create, int *err);
static uint32_t rto_of(const struct ientry *e);
static inline int64_t rdiv(int64_t a, int64_t d);
static void info_of(const struct ientry *e, struct infra_info *out);

/* Copy the address part that matters into @p key (v4: 4 bytes, rest 0). */
static int
norm_key(const uint8_t *addr, int family, uint8_t key[16])
{
	if (addr == NULL)
		return -EINVAL;
	memset(key, 0, 16);
	if (family == AF_INET)
		memcpy(key, addr, 4);
	else if (family == AF_INET6)
		memcpy(key, addr, 16);
	else
		return -EINVAL;
	return 0;
}

/* Keyed 64-bit mix of the two address words and the family: each step is a
 * bijection (murmur3 fmix64) of a value xored with secret key material, so
 * the bucket of an address cannot be predicted without the key. */
static uint64_t
addr_hash(const struct infra *infra, const uint8_t key[16], int family)
{
	uint64_t w0, w1;

	memcpy(&w0, key, 8);
	memcpy(&w1, key + 8, 8);
	return dns_fmix64(dns_fmix64(w0 ^ infra->key[0]) ^ w1 ^ infra->key[1] ^
	    (uint64_t)family);
}

static void
free_entry(struct ientry *e)
{
	struct lame *l, *next;

	for (l = e->lame; l; l = next) {
		next = l->next;
		free(l);
	}
	free(e);
}

static void
remove_entry(struct infra *infra, struct ientry *e)
{
	CHAIN_UNLINK(&infra->buckets[e->hash & infra->mask], e);
	LRU_UNLINK(infra, e);
	infra->count--;
	free_entry(e);
}

/* Forget stale server data and ended lame marks. */
static void
prune(struct ientry *e, uint64_t now)
{
	struct lame **pp = &e->lame, *l;

	if (e->updated_ms && now >= e->updated_ms + TTL_MS) {
		e->updated_ms = 0;
		e->rtt_known = false;
		e->srtt8 = e->rttvar8 = 0;
		e->timeouts = e->timeouts_total = 0;
		e->edns = INFRA_EDNS_UNKNOWN;
		e->tcp_only = false;
		e->cookie_len = 0;
	}
	while ((l = *pp) != NULL) {
		if (l->until_ms <= now) {
			*pp = l->next;
			free(l);
			e->nlame--;
		} else {
			pp = &l->next;
		}
	}
}

static bool
dead(struct ientry *e, uint64_t now)
{
	prune(e, now);
	return e->updated_ms == 0 && e->lame == NULL;
}

/* The entry of an address, created if @p create (evicting the LRU entry of
 * a full table). Touches used_ms and the LRU. NULL with *err set if absent
 * (0) or on failure. Called locked. */
static struct ientry *
lookup(struct infra *infra, const uint8_t *addr, int family, uint64_t now,
    bool create, int *err)
{
	uint8_t key[16];
	uint64_t h;
	struct ientry **pp, *e;

	*err = norm_key(addr, family, key);
	if (*err)
		return NULL;
	h = addr_hash(infra, key, family);
	pp = &infra->buckets[h & infra->mask];
	while ((e = *pp) != NULL) {
		if (e->hash == h && e->family == family &&
		    memcmp(e->addr, key, 16) == 0)
			break;
		pp = &e->hnext;
	}
	if (e && dead(e, now) && !create) {
		remove_entry(infra, e);
		infra->st.expiries++;
		return NULL;
	}
	if (e == NULL) {
		if (!create)
			return NULL;
		if (infra->count >= infra->max) {
			struct ientry *t = infra->tail;
			bool was_dead = dead(t, now);
			remove_entry(infra, t);
			if (was_dead)
				infra->st.expiries++;
			else
				infra->st.evictions++;
		}
		e = calloc(1, sizeof(*e));
		if (e == NULL) {
			*err = -ENOMEM;
			return NULL;
		}
		e->hash = h;
		e->family = (uint8_t)family;
		memcpy(e->addr, key, 16);
		e->hnext = infra->buckets[h & infra->mask];
		infra->buckets[h & infra->mask] = e;
		LRU_PUSH(infra, e);
		infra->count++;
		infra->st.inserts++;
	} else {
		LRU_TOUCH(infra, e);
	}
	e->used_ms = now;
	return e;
}

/* a / d rounded to nearest (halves away from zero), so that repeated
 * smoothing converges on the sample instead of stalling up to d-1 below. */
static inline int64_t
rdiv(int64_t a, int64_t d)
{
	return (a + (a < 0 ? -d / 2 : d / 2)) / d;
}

static uint32_t
rto_of(const struct ientry *e)
{
	uint64_t rto = LIM_UP_TIMEOUT_MS;
	unsigned shift;

	if (e && e->rtt_known)
		rto = ((uint64_t)e->srtt8 + 4 * (uint64_t)e->rttvar8 + 7) / 8;
	if (rto < LIM_UP_TIMEOUT_MIN_MS)
		rto = LIM_UP_TIMEOUT_MIN_MS;
	if (rto > LIM_UP_TIMEOUT_MAX_MS)
		rto = LIM_UP_TIMEOUT_MAX_MS;
	shift = e ? e->timeouts : 0;
	if (shift > INFRA_BACKOFF_MAX)
		shift = INFRA_BACKOFF_MAX;
	rto <<= shift;
	if (rto > LIM_UP_TIMEOUT_MAX_MS)
		rto = LIM_UP_TIMEOUT_MAX_MS;
	return (uint32_t)rto;
}

static void
info_of(const struct ientry *e, struct infra_info *out)
{
	memset(out, 0, sizeof(*out));
	out->rto_ms = rto_of(e);
	if (e == NULL)
		return;
	out->known = true;
	if (e->rtt_known) {
		out->srtt_ms = (e->srtt8 + 4) / 8;
		if (out->srtt_ms == 0)
			out->srtt_ms = 1;
		out->rttvar_ms = (e->rttvar8 + 4) / 8;
	}
	out->timeouts = e->timeouts;
	out->timeouts_total = e->timeouts_total;
	out->edns = e->edns;
	out->tcp_only = e->tcp_only;
	out->cookie_len = e->cookie_len;
	memcpy(out->cookie, e->cookie, e->cookie_len);
	out->updated_ms = e->updated_ms;
	out->used_ms = e->used_ms;
}

struct infra *
infra_new(size_t max_entries)
{
	struct infra *infra = calloc(1, sizeof(*infra));
	size_t n = 16;

	if (infra == NULL)
		return NULL;
	if (max_entries == 0)
		max_entries = INFRA_DEFAULT_ENTRIES;
	while (n < max_entries)
		n *= 2;
	infra->buckets = calloc(n, sizeof(*infra->buckets));
	if (infra->buckets == NULL ||
	    getrandom(infra->key, sizeof(infra->key), 0) !=
	        (ssize_t)sizeof(infra->key)) {
		free(infra->buckets);
		free(infra);
		errno = ENOMEM;
		return NULL;
	}
	infra->mask = n - 1;
	infra->max = max_entries;
	pthread_mutex_init(&infra->lock, NULL);
	return infra;
}

void
infra_free(struct infra *infra)
{
	struct ientry *e, *next;

	if (infra == NULL)
		return;
	LRU_FOREACH_SAFE(infra, e, next)
		free_entry(e);
	free(infra->buckets);
	pthread_mutex_destroy(&infra->lock);
	free(infra);
}

int
infra_rtt_update(struct infra *infra, const uint8_t *addr, int family,
    uint32_t rtt_ms, uint64_t now_ms)
{
	struct ientry *e;
	int err;

	if (rtt_ms > RTT_SAMPLE_MAX)
		rtt_ms = RTT_SAMPLE_MAX;
	pthread_mutex_lock(&infra->lock);
	e = lookup(infra, addr, family, now_ms, true, &err);
	if (e) {
		prune(e, now_ms);
		if (!e->rtt_known) {
			e->srtt8 = rtt_ms * 8;
			e->rttvar8 = rtt_ms * 4;
			e->rtt_known = true;
		} else {
			int64_t err8 = (int64_t)rtt_ms * 8 - e->srtt8;
			int64_t abs8 = err8 < 0 ? -err8 : err8;
			e->rttvar8 = (uint32_t)((int64_t)e->rttvar8 +
			    rdiv(abs8 - (int64_t)e->rttvar8, 4));
			e->srtt8 =
			    (uint32_t)((int64_t)e->srtt8 + rdiv(err8, 8));
		}
		e->timeouts = 0;
		e->updated_ms = now_ms;
		infra->st.rtt_updates++;
	}
	pthread_mutex_unlock(&infra->lock);
	return err;
}

int
infra_get(struct infra *infra, const uint8_t *addr, int family, uint64_t now_ms,
    struct infra_info *out)
{
	struct ientry *e;
	int err;

	pthread_mutex_lock(&infra->lock);
	e = lookup(infra, addr, family, now_ms, false, &err);
	if (err == 0)
		info_of(e, out);
	pthread_mutex_unlock(&infra->lock);
	return err ? err : e != NULL;
}

/* What one of the setters below changes in a server's entry: the fields
 * it names, the others left as they are. */
struct change {
	int edns;              /* enum infra_edns, or -1 */
	int tcp_only;          /* 0, 1, or -1 */
	const uint8_t *cookie; /* NULL: unchanged */
	size_t cookie_len;
	bool timeout; /* one more timeout (in a row, and in all) */
};

/* Apply @p c to the entry of @p addr (made if need be), under the lock. */
static int
update(struct infra *infra, const uint8_t *addr, int family, uint64_t now_ms,
    const struct change *c)
{
	struct ientry *e;
	int err;

	pthread_mutex_lock(&infra->lock);
	e = lookup(infra, addr, family, now_ms, true, &err);
	if (e) {
		prune(e, now_ms);
		if (c->edns >= 0)
			e->edns = (uint8_t)c->edns;
		if (c->tcp_only >= 0)
			e->tcp_only = c->tcp_only != 0;
		if (c->cookie != NULL) {
			memcpy(e->cookie, c->cookie, c->cookie_len);
			e->cookie_len = (uint8_t)c->cookie_len;
		}
		if (c->timeout) {
			if (e->timeouts < UINT32_MAX)
				e->timeouts++;
			if (e->timeouts_total < UINT32_MAX)
				e->timeouts_total++;
			infra->st.timeouts++;
		}
		e->updated_ms = now_ms;
	}
	pthread_mutex_unlock(&infra->lock);
	return err;
}

int
infra_timeout(
    struct infra *infra, const uint8_t *addr, int family, uint64_t now_ms)
{
	struct change c = {.edns = -1, .tcp_only = -1, .timeout = true};

	return update(infra, addr, family, now_ms, &c);
}

int
infra_set_edns(struct infra *infra, const uint8_t *addr, int family, bool works,
    uint64_t now_ms)
{
	struct change c = {
	    .edns = works ? INFRA_EDNS_WORKS : INFRA_EDNS_BROKEN,
	    .tcp_only = -1,
	};

	return update(infra, addr, family, now_ms, &c);
}

int
infra_set_cookie(struct infra *infra, const uint8_t *addr, int family,
    const uint8_t *cookie, size_t len, uint64_t now_ms)
{
	struct change c = {
	    .edns = -1, .tcp_only = -1, .cookie = cookie, .cookie_len = len};

	if (len < 8 || len > sizeof(((struct ientry *)NULL)->cookie))
		return 0;
	return update(infra, addr, family, now_ms, &c);
}

int
infra_set_tcp(struct infra *infra, const uint8_t *addr, int family,
    bool tcp_only, uint64_t now_ms)
{
	struct change c = {.edns = -1, .tcp_only = tcp_only};

	return update(infra, addr, family, now_ms, &c);
}

int
infra_set_lame(struct infra *infra, const uint8_t *addr, int family,
    const uint8_t *zone, uint64_t until_ms, uint64_t now_ms)
{
	size_t zlen = dns_name_len(zone, 255);
	struct ientry *e;
	struct lame *l, **pp, **first = NULL;
	int err;

	if (zlen == 0)
		return -EINVAL;
	pthread_mutex_lock(&infra->lock);
	e = lookup(infra, addr, family, now_ms, true, &err);
	if (e == NULL)
		goto out;
	prune(e, now_ms);
	for (pp = &e->lame; (l = *pp) != NULL; pp = &l->next) {
		if (l->len == zlen && dns_name_eq(l->zone, zone))
			break;
		if (first == NULL || l->until_ms < (*first)->until_ms)
			first = pp;
	}
	if (l && until_ms <= now_ms) { /* clear the mark */
		*pp = l->next;
		free(l);
		e->nlame--;
	} else if (l) {
		l->until_ms = until_ms;
	} else if (until_ms > now_ms) {
		if (e->nlame >= INFRA_LAME_MAX) { /* replace the first */
			l = *first;
			*first = l->next;
			free(l);
			e->nlame--;
		}
		l = malloc(sizeof(*l) + zlen);
		if (l == NULL) {
			err = -ENOMEM;
		} else {
			l->until_ms = until_ms;
			l->len = (uint8_t)zlen;
			dns_name_lower(l->zone, zone);
			l->next = e->lame;
			e->lame = l;
			e->nlame++;
			infra->st.lame_marks++;
		}
	}
	if (dead(e, now_ms)) { /* a cleared mark was all it had */
		remove_entry(infra, e);
		infra->st.expiries++;
	}
out:
	pthread_mutex_unlock(&infra->lock);
	return err;
}

bool
infra_is_lame(struct infra *infra, const uint8_t *addr, int family,
    const uint8_t *zone, uint64_t now_ms)
{
	size_t zlen = dns_name_len(zone, 255);
	struct ientry *e;
	bool lame = false;
	int err;

	if (zlen == 0)
		return false;
	pthread_mutex_lock(&infra->lock);
	e = lookup(infra, addr, family, now_ms, false, &err);
	if (e) {
		prune(e, now_ms);
		for (struct lame *l = e->lame; l && !lame; l = l->next)
			lame = l->len == zlen && dns_name_eq(l->zone, zone);
	}
	pthread_mutex_unlock(&infra->lock);
	return lame;
}

int
infra_foreach(
    struct infra *infra, uint64_t now_ms, infra_visit_cb cb, void *arg)
{
	struct ientry *e, *next;
	struct infra_entry_out o;
	int stop = 0;

	pthread_mutex_lock(&infra->lock);
	LRU_FOREACH_SAFE(infra, e, next) {
		if (dead(e, now_ms)) {
			remove_entry(infra, e);
			infra->st.expiries++;
			continue;
		}
		memcpy(o.addr, e->addr, 16);
		o.family = e->family;
		info_of(e, &o.info);
		o.nlame = 0;
		for (struct lame *l = e->lame; l; l = l->next) {
			o.lame[o.nlame].zone = l->zone;
			o.lame[o.nlame].until_ms = l->until_ms;
			o.nlame++;
		}
		if ((stop = cb(&o, arg)) != 0)
			break;
	}
	pthread_mutex_unlock(&infra->lock);
	return stop;
}

void
infra_stats(struct infra *infra, struct infra_stats *out)
{
	pthread_mutex_lock(&infra->lock);
	*out = infra->st;
	out->entries = infra->count;
	out->max_entries = infra->max;
	pthread_mutex_unlock(&infra->lock);
}
