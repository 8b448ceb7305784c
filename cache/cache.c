/*
 * cache.c: the record cache (see cache.h for the contract).
 *
 * Layout. The cache is an array of shards, each a cache-line aligned struct
 * with its own mutex, hash table, LRU list and byte budget (max_bytes divided
 * by the number of shards). An entry lives in the shard chosen by the hash of
 * its *name* alone, so every type of one name (and its NXDOMAIN entry) shares
 * a shard: cache_answer() takes one lock per name of a CNAME chain, and
 * cache_flush_name() visits one shard.
 *
 * Hashing. The lowercased name is hashed once with SipHash-1-3 under a
 * 128-bit key drawn from getrandom() at cache_new(); the key of one entry is
 * that name hash mixed with (type, class) by a bijective 64-bit finaliser, so
 * the types of one name land in different buckets but nobody who does not
 * know the key can choose names that collide. Chains are walked at most
 * LIM_CACHE_WALK steps, and a store into a chain that long first evicts the
 * chain's last entry, so no chain ever grows past the walk limit.
 *
 * An entry is one malloc'd block: the fixed header (struct entry) followed
 * by its variable data, in this order:
 *	owner name (lowercased, name_len bytes)
 *	SOA owner (lowercased, soa_len bytes; negative entries only)
 *	rdata list (rdata_len bytes, as given: [u16 rdlength][rdata] * nrr)
 *	RRSIG rdata list (sigs_len bytes)
 *	proof (proof_len bytes: nproof full RRs, NSEC/NSEC3 and RRSIGs)
 *	reason of a bogus entry (why_len bytes, no NUL)
 * The rdata list is already half of the wire form of each record, so an
 * answer is written as owner + type + class + TTL + a memcpy of the record.
 *
 * Accounting. e->size is malloc_usable_size(e) plus malloc's chunk header;
 * a shard's bytes are the sum of its entries' sizes plus its bucket array,
 * and never exceed its budget: a store evicts from the LRU tail first, and
 * the bucket array only grows when the larger array fits. Every counter of
 * a shard is written under the shard's lock only; cache_stats() sums them.
 *
 * Time. An entry stored with TTL T at time S has expire_ms = S + T*1000 and
 * is live while now < expire_ms; the remaining TTL written in answers is
 * ceil((expire_ms - now) / 1000), at most T (a reader's clock may lag the
 * writer's), and >= 1 for a live entry. An expired
 * entry met by any walk under a lock is removed and counted in `expiries`
 * once it is past the serve-stale window too (cache_policy.serve_stale:
 * kept, and answered only by cache_answer_stale, until expire_ms + that).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cache/cache.h"
#include "cache/lru.h"
#include "resolver/limits.h"

_Static_assert((LIM_CACHE_SHARDS & (LIM_CACHE_SHARDS - 1)) == 0,
    "LIM_CACHE_SHARDS must be a power of two");

/* A shard smaller than this is not worth its table: small caches get fewer
 * shards (a 64 KiB cache has 4). */
#define SHARD_MIN_BYTES   (16u << 10)
#define SHARD_MIN_ENTRIES 16 /* entries per shard under max_entries */
#define INITIAL_BUCKETS   16
/* glibc's chunk header, not included in malloc_usable_size(). */
#define MALLOC_HDR sizeof(size_t)
/* Largest rdata list accepted: a DNS message cannot carry more. */
#define RDATA_LIST_MAX 65535
/* entry.stale_hold counts in these: 16 bits reach past
 * LIM_SERVE_STALE_MAX */
#define STALE_UNIT_MS 4000
_Static_assert((uint64_t)LIM_SERVE_STALE_MAX * 1000 / STALE_UNIT_MS < 65535,
    "stale_hold cannot reach the end of the serve-stale window");

struct entry {
	struct entry *hnext;       /* hash chain */
	struct entry *prev, *next; /* LRU list, head = most recent */
	uint64_t hash;             /* key hash (name hash x type, class) */
	uint64_t expire_ms;        /* stored_ms + ttl * 1000 */
	uint32_t ttl;              /* clamped TTL, seconds */
	uint32_t hits;             /* times written by cache_answer() */
	uint32_t size;             /* accounted bytes */
	uint16_t rdata_len, sigs_len;
	uint16_t type, rclass;
	uint16_t nrr, nsig;
	uint8_t kind, rank;
	uint8_t name_len, soa_len; /* soa_len 0 for positive entries */
	uint8_t source_family;
	uint8_t source[16];
	uint8_t sec;        /* enum cache_sec */
	uint8_t cut;        /* DS absence at a zone cut */
	uint8_t why_len;    /* bytes of the bogus reason (no NUL) */
	uint16_t ede;       /* bogus: EDE code */
	uint16_t proof_len; /* bytes of the proof RRs */
	uint16_t nproof;
	uint16_t stale_hold; /* served stale: not refreshed again before
	                        expire_ms + stale_hold * STALE_UNIT_MS */
	uint8_t data[];      /* see the file comment */
};

struct shard {
	alignas(64) pthread_mutex_t lock;
	struct entry **buckets; /* owned; NULL until the first store */
	size_t mask;            /* nbuckets - 1 */
	size_t nbuckets;
	struct entry *head, *tail; /* LRU */
	uint64_t count, bytes, budget, table_bytes;
	uint64_t max_count; /* 0: no entry bound */
	uint64_t stores, replaced, kept, evictions, expiries, hits, misses;
};

struct cache {
	uint64_t key[2];      /* SipHash key, from getrandom() */
	struct shard *shards; /* owned; nshards, 64-byte aligned */
	unsigned nshards;
	uint64_t max_bytes;
	_Atomic uint32_t min_ttl, max_ttl, neg_ttl;
	_Atomic uint32_t stale_s; /* serve-stale window, seconds */
};

/* Output cursor of cache_answer(): once a record does not fit, `full` is
 * set and nothing more is written, but the walk goes on so that a miss is
 * still told apart from an answer too large for the buffer. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool full;
};

static size_t lower_name(uint8_t *dst, const uint8_t *src, size_t max);
static inline uint64_t key_hash(uint64_t nh, uint16_t type, uint16_t rclass);
static inline struct shard *shard_of(struct cache *c, uint64_t nh);
static void drop(struct shard *s, struct entry *e);
static void remove_entry(struct shard *s, struct entry *e);
static inline struct entry *find(struct shard *s, uint64_t h,
    const uint8_t *name, size_t nlen, uint16_t type, uint16_t rclass,
    uint64_t now, uint64_t keep_ms, bool stale_ok);
static int grow(struct shard *s, uint64_t need);
static unsigned chain_len(struct shard *s, uint64_t h, struct entry **last);
static bool rdata_list_ok(const uint8_t *p, size_t len, unsigned n);
static bool soa_rdata_ok(const uint8_t *p, size_t len);
static bool rr_list_ok(const uint8_t *p, size_t len, unsigned n);
static int check_input(
    const struct cache_rrset_in *in, size_t *olen, size_t *slen);
static uint32_t clamp_ttl(struct cache *c, const struct cache_rrset_in *in);
static inline uint32_t remaining(const struct entry *e, uint64_t now);
static inline size_t entry_data_len(const struct entry *e);
static inline bool answerable(const struct entry *e, uint8_t kind);
static unsigned put_rrset(struct wbuf *w, const struct entry *e,
    const uint8_t *owner, size_t olen, bool ptr, uint16_t type,
    const uint8_t *rd, size_t rdlen, uint32_t ttl);
static unsigned put_entry(struct wbuf *w, const struct entry *e,
    const uint8_t *owner, size_t olen, bool ptr, bool want_sigs, uint32_t ttl);
static void fill_out(const struct entry *e, uint64_t now,
    struct cache_rrset_out *out, const uint8_t *base);
static size_t sweep(struct shard *s,
    bool (*pred)(const struct entry *, const void *), const void *arg);
static size_t sweep_all(struct cache *c,
    bool (*pred)(const struct entry *, const void *), const void *arg);
static bool pred_name(const struct entry *e, const void *arg);
static bool pred_zone(const struct entry *e, const void *arg);
static bool pred_negative(const struct entry *e, const void *arg);
static bool pred_all(const struct entry *e, const void *arg);

/* ---------------------------------------------------------------- names */

/* Validate and lowercase @p src into @p dst. @return length or 0 if
 * malformed. */
static size_t
lower_name(uint8_t *dst, const uint8_t *src, size_t max)
{
	return dns_name_lower_n(dst, src, dns_name_len(src, max));
}

/* -------------------------------------------------------------- hashing */

/* Mix the secret name hash with (type, class): a bijection of nh for a given
 * (type, class) (murmur3's fmix64), so it is as unpredictable as nh. */
static inline uint64_t
key_hash(uint64_t nh, uint16_t type, uint16_t rclass)
{
	return dns_fmix64(
	    nh ^ (((uint64_t)type << 16 | rclass) * 0x9e3779b97f4a7c15ULL));
}

static inline struct shard *
shard_of(struct cache *c, uint64_t nh)
{
	return &c->shards[(nh >> 40) & (c->nshards - 1)];
}

/* -------------------------------------------------------- shard upkeep */

/* Free an entry already unlinked from its hash chain. */
static void
drop(struct shard *s, struct entry *e)
{
	LRU_UNLINK(s, e);
	s->bytes -= e->size;
	s->count--;
	free(e);
}

/* Unlink @p e from its chain (it is there: chains are never longer than
 * LIM_CACHE_WALK) and free it. */
static void
remove_entry(struct shard *s, struct entry *e)
{
	CHAIN_UNLINK(&s->buckets[e->hash & s->mask], e);
	drop(s, e);
}

/* The live entry of a key, or NULL; with @p stale_ok, an expired one
 * still within @p keep_ms of its end (serve-stale) too. Entries expired
 * for longer met on the way are removed. Called with the shard locked. */
static inline __attribute__((always_inline)) struct entry *
find(struct shard *s, uint64_t h, const uint8_t *name, size_t nlen,
    uint16_t type, uint16_t rclass, uint64_t now, uint64_t keep_ms,
    bool stale_ok)
{
	struct entry **pp, *e;
	unsigned steps = 0;

	if (s->buckets == NULL)
		return NULL;
	pp = &s->buckets[h & s->mask];
	while ((e = *pp) != NULL && steps++ < LIM_CACHE_WALK) {
		if (e->expire_ms <= now && e->expire_ms + keep_ms <= now) {
			*pp = e->hnext;
			drop(s, e);
			s->expiries++;
			continue;
		}
		if (e->hash == h && e->type == type && e->rclass == rclass &&
		    e->name_len == nlen && memcmp(e->data, name, nlen) == 0)
			return e->expire_ms > now || stale_ok ? e : NULL;
		pp = &e->hnext;
	}
	return NULL;
}

/* The serve-stale window, in ms. */
static inline uint64_t
keep_ms(struct cache *c)
{
	return (uint64_t)atomic_load_explicit(
	           &c->stale_s, memory_order_relaxed) *
	    1000;
}

/* Double the bucket array (or create it) if the bigger array and an entry
 * of @p need bytes fit in the budget. @return 1 grown, 0 not (no room),
 * -ENOMEM. */
static int
grow(struct shard *s, uint64_t need)
{
	size_t n = s->nbuckets ? s->nbuckets * 2 : INITIAL_BUCKETS;
	struct entry **nb;
	uint64_t cost;

	if (s->bytes - s->table_bytes + n * sizeof(*nb) + MALLOC_HDR + need >
	    s->budget)
		return 0;
	nb = calloc(n, sizeof(*nb));
	if (nb == NULL)
		return -ENOMEM;
	cost = malloc_usable_size(nb) + MALLOC_HDR;
	for (size_t i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->buckets[i], *next;
		for (; e; e = next) {
			next = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = nb;
	s->nbuckets = n;
	s->mask = n - 1;
	s->bytes = s->bytes - s->table_bytes + cost;
	s->table_bytes = cost;
	return 1;
}

/* Length of the chain of @p h; *last is its last entry. */
static unsigned
chain_len(struct shard *s, uint64_t h, struct entry **last)
{
	unsigned n = 0;

	*last = NULL;
	for (struct entry *e = s->buckets[h & s->mask]; e; e = e->hnext) {
		*last = e;
		n++;
	}
	return n;
}

/* ------------------------------------------------------------ lifecycle */

/* Beyond cache.h: a NULL @p policy means the limits.h defaults (LIM_MIN_TTL,
 * LIM_MAX_TTL, LIM_NEG_TTL). The shard count is LIM_CACHE_SHARDS, halved
 * while a shard would get less than SHARD_MIN_BYTES. */
struct cache *
cache_new(uint64_t max_bytes, const struct cache_policy *policy)
{
	struct cache *c = calloc(1, sizeof(*c));
	unsigned n = LIM_CACHE_SHARDS;

	if (c == NULL)
		return NULL;
	if (getrandom(c->key, sizeof(c->key), 0) != (ssize_t)sizeof(c->key)) {
		free(c);
		errno = ENOMEM;
		return NULL;
	}
	while (n > 1 && max_bytes / n < SHARD_MIN_BYTES)
		n /= 2;
	/* an entry bound wants shards of a useful size too */
	while (policy && policy->max_entries && n > 1 &&
	    policy->max_entries / n < SHARD_MIN_ENTRIES)
		n /= 2;
	c->shards =
	    aligned_alloc(alignof(struct shard), n * sizeof(struct shard));
	if (c->shards == NULL) {
		free(c);
		return NULL;
	}
	memset(c->shards, 0, n * sizeof(struct shard));
	c->nshards = n;
	c->max_bytes = max_bytes;
	for (unsigned i = 0; i < n; i++) {
		pthread_mutex_init(&c->shards[i].lock, NULL);
		c->shards[i].budget = max_bytes / n;
	}
	if (policy) {
		cache_set_policy(c, policy);
	} else {
		atomic_init(&c->min_ttl, LIM_MIN_TTL);
		atomic_init(&c->max_ttl, LIM_MAX_TTL);
		atomic_init(&c->neg_ttl, LIM_NEG_TTL);
		atomic_init(&c->stale_s, 0);
	}
	return c;
}

void
cache_free(struct cache *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		struct entry *e, *next;

		LRU_FOREACH_SAFE(s, e, next)
			free(e);
		free(s->buckets);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	free(c);
}

void
cache_set_policy(struct cache *c, const struct cache_policy *policy)
{
	uint64_t per = policy->max_entries
	    ? (policy->max_entries + c->nshards - 1) / c->nshards
	    : 0;

	for (unsigned i = 0; i < c->nshards; i++) {
		pthread_mutex_lock(&c->shards[i].lock);
		c->shards[i].max_count = per;
		pthread_mutex_unlock(&c->shards[i].lock);
	}
	atomic_store_explicit(
	    &c->min_ttl, policy->min_ttl, memory_order_relaxed);
	atomic_store_explicit(
	    &c->max_ttl, policy->max_ttl, memory_order_relaxed);
	atomic_store_explicit(
	    &c->neg_ttl, policy->negative_ttl, memory_order_relaxed);
	atomic_store_explicit(
	    &c->stale_s, policy->serve_stale, memory_order_relaxed);
}

/* ---------------------------------------------------------------- store */

/* n records of [u16 rdlength][rdata], exactly filling len. */
static bool
rdata_list_ok(const uint8_t *p, size_t len, unsigned n)
{
	size_t off = 0;

	if (len > 0 && p == NULL)
		return false;
	for (unsigned i = 0; i < n; i++) {
		size_t rl;
		if (len - off < 2)
			return false;
		rl = (size_t)p[off] << 8 | p[off + 1];
		off += 2;
		if (len - off < rl)
			return false;
		off += rl;
	}
	return off == len;
}

/* One SOA record in a list: MNAME, RNAME, then five 32-bit fields. */
/* @p n full uncompressed RRs fill exactly @p len bytes. */
static bool
rr_list_ok(const uint8_t *p, size_t len, unsigned n)
{
	size_t off = 0;

	if (len > RDATA_LIST_MAX)
		return false;
	for (unsigned i = 0; i < n; i++) {
		size_t nl = dns_name_len(p + off, len - off);
		if (nl == 0 || len - off - nl < 10)
			return false;
		off += nl + 10 + dns_get16(p + off + nl + 8);
		if (off > len)
			return false;
	}
	return off == len;
}

static bool
soa_rdata_ok(const uint8_t *p, size_t len)
{
	size_t rl = (size_t)p[0] << 8 | p[1], m, r;

	p += 2;
	m = dns_name_len(p, rl);
	if (m == 0)
		return false;
	r = dns_name_len(p + m, rl - m);
	return r != 0 && m + r + 20 == rl && len == rl + 2;
}

/* @return 0 or -EINVAL / -E2BIG; *olen and *slen: owner and SOA owner
 * lengths. */
static int
check_input(const struct cache_rrset_in *in, size_t *olen, size_t *slen)
{
	*olen = dns_name_len(in->owner, LIM_NAME_MAX);
	*slen = 0;
	if (*olen == 0 || in->rank < CACHE_RANK_GLUE ||
	    in->rank > CACHE_RANK_PRIMED)
		return -EINVAL;
	if (in->rdata_len > RDATA_LIST_MAX || in->sigs_len > RDATA_LIST_MAX)
		return -E2BIG;
	if (!rdata_list_ok(in->rdata, in->rdata_len, in->nrr) ||
	    !rdata_list_ok(in->sigs, in->sigs_len, in->nsig) ||
	    !rr_list_ok(in->proof, in->proof_len, in->nproof) ||
	    in->sec > CACHE_SEC_UNCHECKED)
		return -EINVAL;
	switch (in->kind) {
	case CACHE_RRSET:
		if (in->type == CACHE_TYPE_NXDOMAIN || in->nrr == 0)
			return -EINVAL;
		/* exactly one target name filling the rdata: cache_answer()
		 * follows it without further checks */
		if (in->type == DNS_T_CNAME &&
		    (in->nrr != 1 ||
		        dns_name_len(in->rdata + 2, in->rdata_len - 2) !=
		            in->rdata_len - 2))
			return -EINVAL;
		return 0;
	case CACHE_NXDOMAIN:
		if (in->type != CACHE_TYPE_NXDOMAIN)
			return -EINVAL;
		break;
	case CACHE_NODATA:
		if (in->type == CACHE_TYPE_NXDOMAIN)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	*slen = dns_name_len(in->soa_owner, LIM_NAME_MAX);
	if (*slen == 0 || in->nrr != 1 ||
	    !soa_rdata_ok(in->rdata, in->rdata_len))
		return -EINVAL;
	return 0;
}

/* RFC 2181 8: a TTL with the top bit set counts as 0. Positive TTLs are
 * raised to min_ttl then capped at max_ttl; negative ones only capped. */
static uint32_t
clamp_ttl(struct cache *c, const struct cache_rrset_in *in)
{
	uint32_t ttl = in->ttl > 0x7fffffffu ? 0 : in->ttl;

	if (in->kind == CACHE_RRSET) {
		uint32_t lo =
		    atomic_load_explicit(&c->min_ttl, memory_order_relaxed);
		uint32_t hi =
		    atomic_load_explicit(&c->max_ttl, memory_order_relaxed);
		if (ttl < lo)
			ttl = lo;
		if (ttl > hi)
			ttl = hi;
	} else {
		uint32_t hi =
		    atomic_load_explicit(&c->neg_ttl, memory_order_relaxed);
		if (ttl > hi)
			ttl = hi;
	}
	/* a bogus answer is not asked again at once, nor kept long */
	if (in->sec == CACHE_SEC_BOGUS && ttl > LIM_BOGUS_TTL)
		ttl = LIM_BOGUS_TTL;
	return ttl;
}

/*
 * Beyond cache.h: a TTL that is 0 after clamping stores nothing and returns
 * 0 (as if kept), leaving any existing entry alone. A positive RRset or a
 * NODATA of rank >= CACHE_RANK_AUTH_AUTHORITY removes the name's NXDOMAIN
 * entry in the same class (the name exists after all).
 */
int
cache_store(struct cache *c, const struct cache_rrset_in *in, uint64_t now_ms)
{
	size_t olen, slen, n;
	uint32_t ttl;
	uint64_t nh, h;
	struct shard *s;
	struct entry *e, *old, *last;
	uint8_t *p;
	int rc;

	if (c == NULL || in == NULL)
		return -EINVAL;
	rc = check_input(in, &olen, &slen);
	if (rc < 0)
		return rc;
	ttl = clamp_ttl(c, in);
	if (ttl == 0)
		return 0;

	size_t wl =
	    (in->sec == CACHE_SEC_BOGUS || in->ede != 0) && in->why != NULL
	    ? strnlen(in->why, CACHE_WHY_MAX)
	    : 0;
	n = offsetof(struct entry, data) + olen + slen + in->rdata_len +
	    in->sigs_len + in->proof_len + wl;
	e = malloc(n);
	if (e == NULL)
		return -ENOMEM;
	e->size = (uint32_t)(malloc_usable_size(e) + MALLOC_HDR);
	p = e->data;
	lower_name(p, in->owner, olen);
	p += olen;
	if (slen) {
		lower_name(p, in->soa_owner, slen);
		p += slen;
	}
	if (in->rdata_len)
		memcpy(p, in->rdata, in->rdata_len);
	p += in->rdata_len;
	if (in->sigs_len)
		memcpy(p, in->sigs, in->sigs_len);
	p += in->sigs_len;
	if (in->proof_len)
		memcpy(p, in->proof, in->proof_len);
	p += in->proof_len;
	if (wl)
		memcpy(p, in->why, wl);
	nh = dns_siphash(e->data, olen, c->key, 1, 3);
	h = key_hash(nh, in->type, in->rclass);
	e->hash = h;
	e->expire_ms = now_ms + (uint64_t)ttl * 1000;
	e->ttl = ttl;
	e->hits = 0;
	e->stale_hold = 0;
	e->rdata_len = (uint16_t)in->rdata_len;
	e->sigs_len = (uint16_t)in->sigs_len;
	e->type = in->type;
	e->rclass = in->rclass;
	e->nrr = in->nrr;
	e->nsig = in->nsig;
	e->kind = in->kind;
	e->rank = in->rank;
	e->name_len = (uint8_t)olen;
	e->soa_len = (uint8_t)slen;
	e->source_family = in->source_family;
	memcpy(e->source, in->source, sizeof(e->source));
	e->sec = in->sec;
	e->cut = in->cut;
	e->ede = in->ede;
	e->why_len = (uint8_t)wl;
	e->proof_len = (uint16_t)in->proof_len;
	e->nproof = in->nproof;

	s = shard_of(c, nh);
	pthread_mutex_lock(&s->lock);
	if (e->size + s->table_bytes > s->budget ||
	    (s->buckets == NULL &&
	        e->size + INITIAL_BUCKETS * sizeof(struct entry *) +
	                MALLOC_HDR >
	            s->budget)) {
		rc = -E2BIG;
		goto fail;
	}
	/* (an expired entry kept for serve-stale is replaced, whatever its
	 * rank) */
	old = find(s, h, e->data, olen, in->type, in->rclass, now_ms,
	    keep_ms(c), true);
	if (old && old->expire_ms > now_ms && old->rank > in->rank) {
		s->kept++;
		rc = 0;
		goto fail;
	}
	if (old) {
		remove_entry(s, old);
		s->replaced++;
	}
	if (in->kind != CACHE_NXDOMAIN &&
	    in->rank >= CACHE_RANK_AUTH_AUTHORITY) {
		uint64_t hx = key_hash(nh, CACHE_TYPE_NXDOMAIN, in->rclass);
		old = find(s, hx, e->data, olen, CACHE_TYPE_NXDOMAIN,
		    in->rclass, now_ms, keep_ms(c), true);
		if (old) {
			remove_entry(s, old);
			s->replaced++;
		}
	}
	if (s->buckets == NULL || s->count >= s->nbuckets) {
		rc = grow(s, e->size);
		if (rc < 0 && s->buckets == NULL)
			goto fail;
	}
	while ((s->bytes + e->size > s->budget ||
	           (s->max_count && s->count >= s->max_count)) &&
	    s->tail) {
		remove_entry(s, s->tail);
		s->evictions++;
	}
	if (s->buckets == NULL || s->bytes + e->size > s->budget) {
		rc = -E2BIG;
		goto fail;
	}
	if (chain_len(s, h, &last) >= LIM_CACHE_WALK) {
		remove_entry(s, last);
		s->evictions++;
	}
	e->hnext = s->buckets[h & s->mask];
	s->buckets[h & s->mask] = e;
	LRU_PUSH(s, e);
	s->count++;
	s->bytes += e->size;
	s->stores++;
	pthread_mutex_unlock(&s->lock);
	return 1;
fail:
	pthread_mutex_unlock(&s->lock);
	free(e);
	return rc;
}

/* --------------------------------------------------------------- lookup */

/* Worker threads read their loop's cached clock, so a reader's `now` can
 * be a few ms behind the writer's: never hand out more than was stored. */
static inline uint32_t
remaining(const struct entry *e, uint64_t now)
{
	uint64_t left = (e->expire_ms - now + 999) / 1000;

	return left > e->ttl ? e->ttl : (uint32_t)left;
}

static void
fill_out(const struct entry *e, uint64_t now, struct cache_rrset_out *out,
    const uint8_t *base)
{
	const uint8_t *p = base;

	out->owner = p;
	p += e->name_len;
	out->soa_owner = e->soa_len ? p : NULL;
	p += e->soa_len;
	out->rdata = p;
	out->rdata_len = e->rdata_len;
	p += e->rdata_len;
	out->sigs = e->sigs_len ? p : NULL;
	out->sigs_len = e->sigs_len;
	p += e->sigs_len;
	out->proof = e->proof_len ? p : NULL;
	out->proof_len = e->proof_len;
	out->nproof = e->nproof;
	p += e->proof_len;
	/* the reason is followed by a NUL in buffers fill_out reads from
	 * (cache_get writes one); in the entry itself it is why_len bytes */
	out->why = (const char *)p;
	out->sec = e->sec;
	out->cut = e->cut;
	out->ede = e->ede;
	out->type = e->type;
	out->rclass = e->rclass;
	out->kind = e->kind;
	out->rank = e->rank;
	out->ttl = remaining(e, now);
	out->orig_ttl = e->ttl;
	out->stored_ms = e->expire_ms - (uint64_t)e->ttl * 1000;
	out->hits = e->hits;
	out->nrr = e->nrr;
	out->nsig = e->nsig;
	memcpy(out->source, e->source, sizeof(out->source));
	out->source_family = e->source_family;
}

int
cache_get(struct cache *c, const uint8_t *name, uint16_t type, uint16_t rclass,
    uint64_t now_ms, struct cache_rrset_out *out, uint8_t *buf, size_t buflen)
{
	uint8_t lname[LIM_NAME_MAX];
	size_t nlen = lower_name(lname, name, LIM_NAME_MAX), dlen;
	uint64_t nh;
	struct shard *s;
	struct entry *e;
	int rc = 0;

	if (nlen == 0)
		return 0;
	nh = dns_siphash(lname, nlen, c->key, 1, 3);
	s = shard_of(c, nh);
	pthread_mutex_lock(&s->lock);
	e = find(s, key_hash(nh, type, rclass), lname, nlen, type, rclass,
	    now_ms, keep_ms(c), false);
	if (e) {
		dlen = entry_data_len(e);
		if (dlen + 1 > buflen) {
			rc = -ENOSPC;
		} else {
			memcpy(buf, e->data, dlen);
			buf[dlen] = 0; /* ends the reason */
			fill_out(e, now_ms, out, buf);
			LRU_TOUCH(s, e);
			rc = 1;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

/* Bytes of an entry's data. */
static inline size_t
entry_data_len(const struct entry *e)
{
	return (size_t)e->name_len + e->soa_len + e->rdata_len + e->sigs_len +
	    e->proof_len + e->why_len;
}

static inline bool
answerable(const struct entry *e, uint8_t kind)
{
	return e && e->kind == kind && e->rank >= CACHE_RANK_ANSWER_MIN &&
	    e->sec != CACHE_SEC_UNCHECKED;
}

/* Write the records of one rdata list as RRs of @p type. The owner is the
 * pointer 0xC00C when @p ptr, else the @p olen bytes at @p owner. @return
 * records written (0 once the buffer is full). */
static unsigned
put_rrset(struct wbuf *w, const struct entry *e, const uint8_t *owner,
    size_t olen, bool ptr, uint16_t type, const uint8_t *rd, size_t rdlen,
    uint32_t ttl)
{
	const uint8_t *end = rd + rdlen;
	size_t on = ptr ? 2 : olen;
	unsigned n = 0;

	while (rd < end) {
		size_t rl = 2 + ((size_t)rd[0] << 8 | rd[1]);
		uint8_t *o;

		if (w->full || w->cap - w->len < on + 8 + rl) {
			w->full = true;
			return 0;
		}
		o = w->p + w->len;
		if (ptr) {
			o[0] = 0xc0;
			o[1] = 0x0c;
		} else {
			memcpy(o, owner, olen);
		}
		o += on;
		o[0] = (uint8_t)(type >> 8);
		o[1] = (uint8_t)type;
		o[2] = (uint8_t)(e->rclass >> 8);
		o[3] = (uint8_t)e->rclass;
		o[4] = (uint8_t)(ttl >> 24);
		o[5] = (uint8_t)(ttl >> 16);
		o[6] = (uint8_t)(ttl >> 8);
		o[7] = (uint8_t)ttl;
		memcpy(o + 8, rd, rl);
		w->len += on + 8 + rl;
		rd += rl;
		n++;
	}
	return n;
}

/* An entry's records (the SOA for a negative entry), then its RRSIGs. */
static unsigned
put_entry(struct wbuf *w, const struct entry *e, const uint8_t *owner,
    size_t olen, bool ptr, bool want_sigs, uint32_t ttl)
{
	const uint8_t *rd = e->data + e->name_len + e->soa_len;
	uint16_t type = e->kind == CACHE_RRSET ? e->type : DNS_T_SOA;
	unsigned n;

	n = put_rrset(w, e, owner, olen, ptr, type, rd, e->rdata_len, ttl);
	if (want_sigs && e->sigs_len)
		n += put_rrset(w, e, owner, olen, ptr, DNS_T_RRSIG,
		    rd + e->rdata_len, e->sigs_len, ttl);
	return n;
}

/* See cache.h. */
int
cache_answer(struct cache *c, const uint8_t *qname, uint16_t qtype,
    uint16_t qclass, bool want_sigs, bool cd, unsigned max_cname,
    uint64_t now_ms, uint8_t *out, size_t cap, size_t *len,
    struct cache_hit *hit)
{
	return cache_answer_n(c, qname, dns_name_len(qname, LIM_NAME_MAX),
	    qtype, qclass, want_sigs, cd, max_cname, now_ms, out, cap, len,
	    hit);
}

/* The proof RRs of @p e (full RRs), TTLs set to @p ttl. @return records
 * written (0 once the buffer is full). */
static unsigned
put_proof(struct wbuf *w, const struct entry *e, uint32_t ttl)
{
	const uint8_t *p =
	    e->data + e->name_len + e->soa_len + e->rdata_len + e->sigs_len;
	const uint8_t *end = p + e->proof_len;
	unsigned n = 0;

	while (p < end) {
		size_t nl = dns_name_len(p, (size_t)(end - p));
		size_t rl = nl + 10 + dns_get16(p + nl + 8);
		if (w->full || w->cap - w->len < rl) {
			w->full = true;
			return 0;
		}
		memcpy(w->p + w->len, p, rl);
		dns_put32(w->p + w->len + nl + 4, ttl);
		w->len += rl;
		p += rl;
		n++;
	}
	return n;
}

/* Is live entry @p e in the last LIM_PREFETCH_PCT % of its TTL (in ms:
 * a 5 s TTL has its last 500 ms)? */
static inline bool
prefetch_due(const struct entry *e, uint64_t now)
{
	return (e->expire_ms - now) * 100 <
	    (uint64_t)e->ttl * 1000 * LIM_PREFETCH_PCT;
}

/* What the answer walk does with an entry past its TTL. */
enum stale_mode {
	STALE_NO,        /* a miss (the hot path) */
	STALE_HELD,      /* cache_answer_stale(CACHE_STALE_HELD) */
	STALE_AFTER_FAIL /* cache_answer_stale(CACHE_STALE_AFTER_FAIL) */
};

/* The TTL to write for @p e, under @p mode; in a stale walk, an expired
 * entry is checked and held (see cache_answer_stale): *ok false means the
 * walk may not use it. */
static inline uint32_t
walk_ttl(struct entry *e, uint64_t now, enum stale_mode mode, bool *ok,
    bool *stale, bool *refresh)
{
	uint64_t until;

	if (mode == STALE_NO)
		return remaining(e, now);
	if (e->sec == CACHE_SEC_BOGUS) {
		*ok = false; /* never answered stale */
		return 0;
	}
	if (e->expire_ms > now)
		return remaining(e, now);
	/* expired, within the window: find() let it through */
	*stale = true;
	until = e->expire_ms + (uint64_t)e->stale_hold * STALE_UNIT_MS;
	if (mode == STALE_HELD) {
		if (e->stale_hold == 0) {
			*ok = false; /* never failed: resolve it first */
			return 0;
		}
		if (until > now)
			return LIM_STALE_TTL;
		*refresh = true; /* the hold ran out: refresh it, once */
	}
	until = (now + LIM_STALE_RETRY * 1000ULL - e->expire_ms +
	            STALE_UNIT_MS - 1) /
	    STALE_UNIT_MS;
	e->stale_hold = (uint16_t)(until > 65535 ? 65535 : until);
	return LIM_STALE_TTL;
}

/*
 * The answer walk of cache_answer_n and cache_answer_stale; see cache.h.
 * Per name of the chain, under that name's shard lock: the RRset of qtype;
 * else the name's CNAME (followed); else the NODATA entry of qtype; else the
 * name's NXDOMAIN entry; else a miss. Entries used get hits++ and move to
 * the LRU head, even when a later link then makes the whole answer a miss.
 * On -ENOSPC, *hit is filled (counts of what fit) and *len is untouched.
 */
static inline __attribute__((always_inline)) int
answer_walk(struct cache *c, const uint8_t *qname, size_t qname_len,
    uint16_t qtype, uint16_t qclass, bool want_sigs, bool cd,
    unsigned max_cname, uint64_t now_ms, enum stale_mode mode, uint8_t *out,
    size_t cap, size_t *len, struct cache_hit *hit)
{
	uint8_t qlow[LIM_NAME_MAX], next[LIM_NAME_MAX];
	const uint8_t *cur = qlow;
	size_t qlen, nlen;
	struct wbuf w = {out, 0, cap, false};
	unsigned links = 0, an = 0, ns = 0;
	uint8_t rcode = 0;
	struct shard *s;
	struct entry *e, *x, *bogus = NULL;
	bool secure = true, ok = true, stale = false, refresh = false;
	uint64_t keep = keep_ms(c); /* (a miss must not drop stale data) */
	uint32_t ttl;
	int rc;

	if (qname_len == 0 || qname_len > LIM_NAME_MAX ||
	    qname[qname_len - 1] != 0)
		return 0;
	qlen = nlen = dns_name_lower_n(qlow, qname, qname_len);
	for (;;) {
		uint64_t nh = dns_siphash(cur, nlen, c->key, 1, 3);

		s = shard_of(c, nh);
		pthread_mutex_lock(&s->lock);
		e = find(s, key_hash(nh, qtype, qclass), cur, nlen, qtype,
		    qclass, now_ms, keep, mode != STALE_NO);
		if (answerable(e, CACHE_RRSET)) {
			if (e->sec == CACHE_SEC_BOGUS && !cd &&
			    mode == STALE_NO) {
				bogus = e;
				rc = 1;
				break;
			}
			ttl = walk_ttl(e, now_ms, mode, &ok, &stale, &refresh);
			rc = ok;
			if (!ok)
				break;
			secure &= e->sec == CACHE_SEC_SECURE;
			an += put_entry(
			    &w, e, cur, nlen, cur == qlow, want_sigs, ttl);
			if (want_sigs && e->proof_len)
				ns += put_proof(&w, e, ttl);
			/* prefetch: asked in the last tenth of its TTL */
			refresh |= mode == STALE_NO && prefetch_due(e, now_ms);
			break;
		}
		if (qtype != DNS_T_CNAME) {
			x = find(s, key_hash(nh, DNS_T_CNAME, qclass), cur,
			    nlen, DNS_T_CNAME, qclass, now_ms, keep,
			    mode != STALE_NO);
			if (answerable(x, CACHE_RRSET)) {
				if (links++ >= max_cname) {
					rc = 0;
					break;
				}
				if (x->sec == CACHE_SEC_BOGUS && !cd &&
				    mode == STALE_NO) {
					e = bogus = x;
					rc = 1;
					break;
				}
				ttl = walk_ttl(
				    x, now_ms, mode, &ok, &stale, &refresh);
				if (!ok) {
					rc = 0;
					break;
				}
				secure &= x->sec == CACHE_SEC_SECURE;
				an += put_entry(&w, x, cur, nlen, cur == qlow,
				    want_sigs, ttl);
				x->hits++;
				LRU_TOUCH(s, x);
				/* the target fills the rdata (checked on
				 * store) and next may be cur: cur's record
				 * is written already */
				nlen = lower_name(next,
				    x->data + x->name_len + 2, LIM_NAME_MAX);
				cur = next;
				pthread_mutex_unlock(&s->lock);
				continue;
			}
		}
		if (answerable(e, CACHE_NODATA)) {
			rc = 1;
		} else {
			e = find(s, key_hash(nh, CACHE_TYPE_NXDOMAIN, qclass),
			    cur, nlen, CACHE_TYPE_NXDOMAIN, qclass, now_ms,
			    keep, mode != STALE_NO);
			rc = answerable(e, CACHE_NXDOMAIN);
			rcode = 3; /* used only if rc */
		}
		if (rc && e->sec == CACHE_SEC_BOGUS && !cd &&
		    mode == STALE_NO) {
			bogus = e;
		} else if (rc) {
			const uint8_t *so = e->data + e->name_len;
			ttl = walk_ttl(e, now_ms, mode, &ok, &stale, &refresh);
			rc = ok;
			if (!ok)
				break;
			secure &= e->sec == CACHE_SEC_SECURE;
			ns += put_entry(&w, e, so, e->soa_len,
			    e->soa_len == qlen && memcmp(so, qlow, qlen) == 0,
			    want_sigs, ttl);
			if (want_sigs && e->proof_len)
				ns += put_proof(&w, e, ttl);
			refresh |= mode == STALE_NO && prefetch_due(e, now_ms);
		}
		break;
	}
	if (rc == 1) {
		e->hits++;
		LRU_TOUCH(s, e);
		s->hits++;
	} else {
		s->misses++;
	}
	hit->bogus = bogus != NULL;
	hit->ede = 0;
	hit->why[0] = 0;
	/* the reason of a bogus entry, or of an insecure one that has an EDE
	 * (the last entry written, under this lock), ends its data */
	x = bogus != NULL                                          ? bogus
	    : rc == 1 && e->sec != CACHE_SEC_SECURE && e->ede != 0 ? e
	                                                           : NULL;
	if (x != NULL) {
		hit->ede = x->ede;
		memcpy(hit->why, x->data + entry_data_len(x) - x->why_len,
		    x->why_len);
		hit->why[x->why_len] = 0;
	}
	pthread_mutex_unlock(&s->lock);
	if (rc == 0)
		return 0;
	hit->secure = secure && bogus == NULL;
	hit->ancount = (uint16_t)an;
	hit->nscount = (uint16_t)ns;
	hit->rcode = rcode;
	hit->stale = stale;
	hit->refresh = refresh;
	if (bogus != NULL) {
		*len = 0;
		return 1;
	}
	if (w.full)
		return -ENOSPC;
	*len = w.len;
	return 1;
}

int
cache_answer_n(struct cache *c, const uint8_t *qname, size_t qname_len,
    uint16_t qtype, uint16_t qclass, bool want_sigs, bool cd,
    unsigned max_cname, uint64_t now_ms, uint8_t *out, size_t cap, size_t *len,
    struct cache_hit *hit)
{
	return answer_walk(c, qname, qname_len, qtype, qclass, want_sigs, cd,
	    max_cname, now_ms, STALE_NO, out, cap, len, hit);
}

int
cache_answer_stale(struct cache *c, const uint8_t *qname, size_t qname_len,
    uint16_t qtype, uint16_t qclass, bool want_sigs, unsigned max_cname,
    uint64_t now_ms, enum cache_stale how, uint8_t *out, size_t cap,
    size_t *len, struct cache_hit *hit)
{
	if (keep_ms(c) == 0)
		return 0;
	return answer_walk(c, qname, qname_len, qtype, qclass, want_sigs, false,
	    max_cname, now_ms,
	    how == CACHE_STALE_HELD ? STALE_HELD : STALE_AFTER_FAIL, out, cap,
	    len, hit);
}

/* --------------------------------------------------- walks and flushes */

int
cache_foreach(struct cache *c, uint64_t now_ms, cache_visit_cb cb, void *arg)
{
	uint64_t keep = keep_ms(c);

	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];
		struct entry *e, *next;
		struct cache_rrset_out o;
		int stop = 0;

		pthread_mutex_lock(&s->lock);
		LRU_FOREACH_SAFE(s, e, next) {
			if (e->expire_ms + keep <= now_ms) {
				remove_entry(s, e);
				s->expiries++;
				continue;
			}
			if (e->expire_ms <= now_ms)
				continue; /* kept for serve-stale only */
			fill_out(e, now_ms, &o, e->data);
			/* the reason ends the data without a NUL: a copy */
			char why[CACHE_WHY_MAX + 1];
			memcpy(why, o.why, e->why_len);
			why[e->why_len] = 0;
			o.why = why;
			if ((stop = cb(&o, arg)) != 0)
				break;
		}
		pthread_mutex_unlock(&s->lock);
		if (stop)
			return stop;
	}
	return 0;
}

/* Remove the entries of one shard matching @p pred. */
static size_t
sweep(struct shard *s, bool (*pred)(const struct entry *, const void *),
    const void *arg)
{
	struct entry *e, *next;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	LRU_FOREACH_SAFE(s, e, next) {
		if (pred(e, arg)) {
			remove_entry(s, e);
			n++;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

static size_t
sweep_all(struct cache *c, bool (*pred)(const struct entry *, const void *),
    const void *arg)
{
	size_t n = 0;

	for (unsigned i = 0; i < c->nshards; i++)
		n += sweep(&c->shards[i], pred, arg);
	return n;
}

struct name_type {
	const uint8_t *name;
	size_t len;
	uint16_t type;
};

static bool
pred_name(const struct entry *e, const void *arg)
{
	const struct name_type *nt = arg;

	return (nt->type == 0 || e->type == nt->type) &&
	    e->name_len == nt->len && memcmp(e->data, nt->name, nt->len) == 0;
}

static bool
pred_zone(const struct entry *e, const void *arg)
{
	return dns_name_under(e->data, arg);
}

static bool
pred_negative(const struct entry *e, const void *arg)
{
	(void)arg;
	return e->kind != CACHE_RRSET;
}

static bool
pred_all(const struct entry *e, const void *arg)
{
	(void)e;
	(void)arg;
	return true;
}

/* Every class of the name: the shard is chosen by the name alone. */
size_t
cache_flush_name(struct cache *c, const uint8_t *name, uint16_t type)
{
	uint8_t lname[LIM_NAME_MAX];
	struct name_type nt = {lname, 0, type};

	nt.len = lower_name(lname, name, LIM_NAME_MAX);
	if (nt.len == 0)
		return 0;
	return sweep(shard_of(c, dns_siphash(lname, nt.len, c->key, 1, 3)),
	    pred_name, &nt);
}

size_t
cache_flush_zone(struct cache *c, const uint8_t *zone)
{
	uint8_t lzone[LIM_NAME_MAX];

	if (lower_name(lzone, zone, LIM_NAME_MAX) == 0)
		return 0;
	return sweep_all(c, pred_zone, lzone);
}

size_t
cache_flush_negative(struct cache *c)
{
	return sweep_all(c, pred_negative, NULL);
}

size_t
cache_flush_all(struct cache *c)
{
	return sweep_all(c, pred_all, NULL);
}

void
cache_stats(struct cache *c, struct cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	out->max_bytes = c->max_bytes;
	for (unsigned i = 0; i < c->nshards; i++) {
		struct shard *s = &c->shards[i];

		pthread_mutex_lock(&s->lock);
		out->entries += s->count;
		out->bytes += s->bytes;
		out->stores += s->stores;
		out->replaced += s->replaced;
		out->kept += s->kept;
		out->evictions += s->evictions;
		out->expiries += s->expiries;
		out->hits += s->hits;
		out->misses += s->misses;
		pthread_mutex_unlock(&s->lock);
	}
}
