/*
 * nsec.c: the store of secure NSEC records for aggressive negative answers
 * (see nsec.h for the contract, RFC 8198 for the why).
 *
 * Layout. One mutex guards everything. Zones are found by a hash table of
 * fixed size (chosen from max_bytes at nsec_cache_new, so that it never has
 * to grow and nothing is allocated under the lock), keyed by SipHash-1-3 of
 * the lowercased apex under a random key. Each zone holds:
 *	- its NSEC records in an AVL tree ordered by owner in canonical order
 *	  (RFC 4034 6.1), intrusive (the links live in the record's block);
 *	- the same records in an LRU list (head = most recently used);
 *	- its SOA, one block.
 * Zones are in a global LRU list. A tree rather than a sorted array: the
 * record is allocated before the lock is taken and only linked under it,
 * where an array would have to grow (realloc) under the lock, and an insert
 * or a removal is O(log n) instead of a memmove of up to LIM_NSEC_PER_ZONE
 * pointers. "The NSEC that covers a name" is the predecessor search: the
 * record with the largest owner <= the name, O(log n) comparisons.
 *
 * Why one mutex and not shards as in cache.c: a zone's records must share
 * one budget (the root zone alone may want much of it, and it is the zone
 * that RFC 8198 helps most), a proof walks the name's ancestors across
 * zones, and the store is asked only on a miss of the record cache, after
 * that cache's own lookup. The critical sections are a few tree searches
 * of O(log n) name comparisons and the copy of at most three records.
 *
 * A block (record, SOA, zone) is one malloc: its fixed header then its
 * variable data. A record's data: owner (lowercased), RDATA (as given:
 * next name then type bitmaps), RRSIG rdata list.
 *
 * Accounting. A block's size is malloc_usable_size() plus malloc's chunk
 * header; bytes is the sum over all blocks plus the zone table, and never
 * exceeds max_bytes: a store first evicts, from the least recently used
 * zone, its least recently used records, and the zone itself (with its
 * SOA) once it has none left. The zone being stored into is the most
 * recently used, so it loses records only when it is the only zone left.
 *
 * Time. A block stored with TTL T at S expires at S + T*1000 and is live
 * while now < that; the TTL handed out is ceil(remaining s), at most T.
 * An expired block met by a proof is removed (counted in expiries).
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cache/lru.h"
#include "cache/nsec.h"
#include "resolver/dns.h"

/* glibc's chunk header, not included in malloc_usable_size(). */
#define MALLOC_HDR sizeof(size_t)
/* The zone table: one bucket per this many bytes of budget, within
 * [TABLE_MIN, TABLE_MAX] buckets (a zone with its SOA and one record
 * takes more than 1 KiB, so chains stay short). */
#define BYTES_PER_BUCKET 1024
#define TABLE_MIN        16
#define TABLE_MAX        (1u << 20)

/* What a record's type bitmap says, found once at store. */
#define F_NS    0x01 /* NS at the owner */
#define F_SOA   0x02 /* SOA at the owner (a zone apex) */
#define F_CNAME 0x04
#define F_DNAME 0x08
#define F_LAST  0x10 /* the next name is the zone apex */

struct nrec {
	struct nrec *left, *right; /* the zone's AVL tree */
	struct nrec *prev, *next;  /* the zone's LRU list */
	uint64_t expire_ms;
	uint32_t ttl;  /* seconds, as stored */
	uint32_t size; /* accounted bytes */
	int16_t height;
	uint16_t rdlen, sigs_len, nsig;
	uint8_t owner_len, next_len;
	uint8_t flags;
	uint8_t data[]; /* owner, rdata, sigs */
};

struct nsoa {
	uint64_t expire_ms;
	uint32_t ttl, size;
	uint16_t rdlen, sigs_len, nsig;
	uint8_t data[]; /* rdata, sigs */
};

struct zone {
	struct zone *hnext;       /* hash chain */
	struct zone *prev, *next; /* global LRU list */
	struct nrec *root;        /* AVL tree by owner */
	struct nrec *head, *tail; /* the records' LRU list */
	struct nsoa *soa;         /* NULL until stored */
	uint64_t hash;
	uint32_t nrec;
	uint32_t size; /* accounted bytes of this block */
	uint8_t name_len;
	uint8_t name[]; /* lowercased apex */
};

struct nsec_cache {
	pthread_mutex_t lock;
	uint64_t key[2];          /* SipHash key, from getrandom() */
	struct zone **table;      /* nbuckets, fixed */
	size_t mask;              /* nbuckets - 1 */
	struct zone *head, *tail; /* zones, LRU */
	uint64_t table_bytes;
	struct nsec_cache_stats st; /* what nsec_cache_stats() tells */
};

/* ------------------------------------------------------------- helpers */

static inline uint64_t
block_size(void *p)
{
	return malloc_usable_size(p) + MALLOC_HDR;
}

static inline const uint8_t *
rec_owner(const struct nrec *r)
{
	return r->data;
}

static inline const uint8_t *
rec_rdata(const struct nrec *r)
{
	return r->data + r->owner_len;
}

static inline const uint8_t *
rec_next(const struct nrec *r)
{
	return rec_rdata(r);
}

static inline const uint8_t *
rec_bitmap(const struct nrec *r)
{
	return rec_rdata(r) + r->next_len;
}

static inline size_t
rec_bitmap_len(const struct nrec *r)
{
	return (size_t)r->rdlen - r->next_len;
}

static inline const uint8_t *
rec_sigs(const struct nrec *r)
{
	return rec_rdata(r) + r->rdlen;
}

/* Remaining seconds of a live block, ceil, never above what was stored
 * (a reader's clock may lag the writer's). */
static inline uint32_t
remaining(uint64_t expire_ms, uint32_t ttl, uint64_t now)
{
	uint64_t left = (expire_ms - now + 999) / 1000;

	return left > ttl ? ttl : (uint32_t)left;
}

/* n records of [u16 rdlength][rdata] exactly filling len, each an RRSIG
 * RDATA (RFC 4034 3.1) covering @p covered: 18 fixed bytes, the signer's
 * name, a signature of at least one byte. */
static bool
sigs_ok(const uint8_t *p, size_t len, unsigned n, uint16_t covered)
{
	size_t off = 0;

	if (n == 0 || p == NULL)
		return false;
	for (unsigned i = 0; i < n; i++) {
		size_t rl, sl;
		if (len - off < 2)
			return false;
		rl = dns_get16(p + off);
		off += 2;
		if (len - off < rl || rl < 18 + 1 + 1)
			return false;
		if (dns_get16(p + off) != covered)
			return false;
		sl = dns_name_len(p + off + 18, rl - 18);
		if (sl == 0 || 18 + sl >= rl)
			return false;
		off += rl;
	}
	return off == len;
}

/* SOA RDATA: MNAME, RNAME, then five 32-bit fields, exactly. */
static bool
soa_rdata_ok(const uint8_t *p, size_t len)
{
	size_t m, r;

	if (p == NULL)
		return false;
	m = dns_name_len(p, len);
	if (m == 0)
		return false;
	r = dns_name_len(p + m, len - m);
	return r != 0 && m + r + 20 == len;
}

bool
nsec_bitmap_ok(const uint8_t *bm, size_t len)
{
	size_t off = 0;
	int last = -1;

	if (bm == NULL || len == 0)
		return false;
	while (off < len) {
		unsigned win, bl;
		if (len - off < 2)
			return false;
		win = bm[off];
		bl = bm[off + 1];
		if ((int)win <= last || bl == 0 || bl > 32 ||
		    len - off - 2 < bl)
			return false;
		last = (int)win;
		off += 2 + bl;
	}
	return true;
}

bool
nsec_bitmap_has(const uint8_t *bm, size_t len, uint16_t type)
{
	unsigned win = type >> 8, byte = (type & 0xff) >> 3;
	uint8_t mask = (uint8_t)(0x80 >> (type & 7));
	size_t off = 0;

	if (bm == NULL)
		return false;
	while (off + 2 <= len) {
		unsigned w = bm[off], bl = bm[off + 1];
		if (bl == 0 || bl > 32 || len - off - 2 < bl)
			return false;
		if (w == win)
			return byte < bl && (bm[off + 2 + byte] & mask) != 0;
		if (w > win)
			return false; /* windows ascend */
		off += 2 + bl;
	}
	return false;
}

/* ------------------------------------------------------------ AVL tree */

static inline int
height(const struct nrec *n)
{
	return n ? n->height : 0;
}

static inline void
fix_height(struct nrec *n)
{
	int l = height(n->left), r = height(n->right);

	n->height = (int16_t)(1 + (l > r ? l : r));
}

static struct nrec *
rotate_right(struct nrec *n)
{
	struct nrec *l = n->left;

	n->left = l->right;
	l->right = n;
	fix_height(n);
	fix_height(l);
	return l;
}

static struct nrec *
rotate_left(struct nrec *n)
{
	struct nrec *r = n->right;

	n->right = r->left;
	r->left = n;
	fix_height(n);
	fix_height(r);
	return r;
}

/* Restore the AVL property at @p n, whose subtrees differ in height by at
 * most 2. @return the subtree's new root. */
static struct nrec *
balance(struct nrec *n)
{
	int b;

	fix_height(n);
	b = height(n->left) - height(n->right);
	if (b > 1) {
		if (height(n->left->left) < height(n->left->right))
			n->left = rotate_left(n->left);
		return rotate_right(n);
	}
	if (b < -1) {
		if (height(n->right->right) < height(n->right->left))
			n->right = rotate_right(n->right);
		return rotate_left(n);
	}
	return n;
}

/* Insert @p e, whose owner is not in the tree yet. */
static struct nrec *
tree_insert(struct nrec *root, struct nrec *e)
{
	if (root == NULL) {
		e->left = e->right = NULL;
		e->height = 1;
		return e;
	}
	if (dns_name_cmp(rec_owner(e), rec_owner(root)) < 0)
		root->left = tree_insert(root->left, e);
	else
		root->right = tree_insert(root->right, e);
	return balance(root);
}

/* Take the smallest node out of the subtree @p n into *min. */
static struct nrec *
tree_take_min(struct nrec *n, struct nrec **min)
{
	if (n->left == NULL) {
		*min = n;
		return n->right;
	}
	n->left = tree_take_min(n->left, min);
	return balance(n);
}

/* Unlink @p e, which is in the tree (owners are unique). */
static struct nrec *
tree_remove(struct nrec *root, struct nrec *e)
{
	struct nrec *l, *r, *m;
	int c;

	if (root == NULL)
		return NULL;
	c = root == e ? 0 : dns_name_cmp(rec_owner(e), rec_owner(root));
	if (c < 0) {
		root->left = tree_remove(root->left, e);
	} else if (c > 0) {
		root->right = tree_remove(root->right, e);
	} else {
		l = root->left;
		r = root->right;
		if (r == NULL)
			return l;
		r = tree_take_min(r, &m);
		m->left = l;
		m->right = r;
		return balance(m);
	}
	return balance(root);
}

/* The record with the largest owner <= @p name, or NULL. */
static struct nrec *
tree_pred(struct nrec *n, const uint8_t *name)
{
	struct nrec *best = NULL;

	while (n) {
		int c = dns_name_cmp(name, rec_owner(n));
		if (c == 0)
			return n;
		if (c < 0) {
			n = n->left;
		} else {
			best = n;
			n = n->right;
		}
	}
	return best;
}

/* The record with the smallest owner >= @p name, or NULL. */
static struct nrec *
tree_ceil(struct nrec *n, const uint8_t *name)
{
	struct nrec *best = NULL;

	while (n) {
		int c = dns_name_cmp(name, rec_owner(n));
		if (c == 0)
			return n;
		if (c > 0) {
			n = n->right;
		} else {
			best = n;
			n = n->left;
		}
	}
	return best;
}

/* ------------------------------------------------------ zones, upkeep */

static inline uint64_t
name_hash(struct nsec_cache *nc, const uint8_t *lname, size_t len)
{
	return dns_siphash(lname, len, nc->key, 1, 3);
}

/* The zone of apex @p lname (lowercased, @p len bytes), or NULL. */
static struct zone *
zone_find(struct nsec_cache *nc, const uint8_t *lname, size_t len)
{
	uint64_t h = name_hash(nc, lname, len);

	for (struct zone *z = nc->table[h & nc->mask]; z; z = z->hnext)
		if (z->hash == h && z->name_len == len &&
		    memcmp(z->name, lname, len) == 0)
			return z;
	return NULL;
}

static void
zone_touch(struct nsec_cache *nc, struct zone *z)
{
	if (nc->head != z) {
		LRU_UNLINK(nc, z);
		LRU_PUSH(nc, z);
	}
}

static void
rec_touch(struct zone *z, struct nrec *r)
{
	if (z->head != r) {
		LRU_UNLINK(z, r);
		LRU_PUSH(z, r);
	}
}

/* Free record @p r, unlinked or about to go with its zone. */
static void
rec_free(struct nsec_cache *nc, struct nrec *r)
{
	nc->st.records--;
	nc->st.bytes -= r->size;
	free(r);
}

/* Unlink record @p r from its zone and free it. */
static void
rec_drop(struct nsec_cache *nc, struct zone *z, struct nrec *r)
{
	z->root = tree_remove(z->root, r);
	LRU_UNLINK(z, r);
	z->nrec--;
	rec_free(nc, r);
}

static void
soa_drop(struct nsec_cache *nc, struct zone *z)
{
	if (z->soa) {
		nc->st.bytes -= z->soa->size;
		free(z->soa);
		z->soa = NULL;
	}
}

/* Unlink zone @p z from the table and the LRU list, and free it with its
 * records and SOA. */
static void
zone_drop(struct nsec_cache *nc, struct zone *z)
{
	struct nrec *r, *next;

	CHAIN_UNLINK(&nc->table[z->hash & nc->mask], z);
	LRU_UNLINK(nc, z);
	LRU_FOREACH_SAFE(z, r, next)
		rec_free(nc, r);
	soa_drop(nc, z);
	nc->st.bytes -= z->size;
	nc->st.zones--;
	free(z);
}

/* Free one thing for space: the least recently used record of the least
 * recently used zone, or that zone itself when it has no records left,
 * unless it is @p keep. @return false when nothing can go. */
static bool
evict_one(struct nsec_cache *nc, struct zone *keep)
{
	struct zone *z = nc->tail;

	if (z == NULL)
		return false;
	if (z->tail) {
		rec_drop(nc, z, z->tail);
	} else {
		if (z == keep)
			return false;
		zone_drop(nc, z);
	}
	nc->st.evictions++;
	return true;
}

/* Make room for @p need more bytes. @return whether they fit. */
static bool
make_room(struct nsec_cache *nc, uint64_t need, struct zone *keep)
{
	while (nc->st.bytes + need > nc->st.max_bytes)
		if (!evict_one(nc, keep))
			return false;
	return true;
}

/* Drop every zone. */
static void
drop_all(struct nsec_cache *nc)
{
	struct zone *z, *next;

	LRU_FOREACH_SAFE(nc, z, next)
		zone_drop(nc, z);
}

/* Link the new zone @p z (name and hash set) as the most recently used. */
static void
zone_link(struct nsec_cache *nc, struct zone *z)
{
	struct zone **b = &nc->table[z->hash & nc->mask];

	z->root = NULL;
	z->head = z->tail = NULL;
	z->soa = NULL;
	z->nrec = 0;
	z->hnext = *b;
	*b = z;
	LRU_PUSH(nc, z);
	nc->st.bytes += z->size;
	nc->st.zones++;
}

/* A zone block for apex @p lname, allocated (outside the lock). */
static struct zone *
zone_alloc(struct nsec_cache *nc, const uint8_t *lname, size_t len)
{
	struct zone *z = malloc(offsetof(struct zone, name) + len);

	if (z == NULL)
		return NULL;
	memcpy(z->name, lname, len);
	z->name_len = (uint8_t)len;
	z->hash = name_hash(nc, lname, len);
	z->size = (uint32_t)block_size(z);
	return z;
}

/* With the lock held: the zone of @p lname, made the most recently used,
 * or NULL when it is not there yet. */
static struct zone *
zone_get(struct nsec_cache *nc, const uint8_t *lname, size_t len)
{
	struct zone *z = zone_find(nc, lname, len);

	if (z)
		zone_touch(nc, z);
	return z;
}

/* ------------------------------------------------------------ lifecycle */

struct nsec_cache *
nsec_cache_new(size_t max_bytes)
{
	struct nsec_cache *nc = calloc(1, sizeof(*nc));
	size_t n = TABLE_MIN;

	if (nc == NULL)
		return NULL;
	if (getrandom(nc->key, sizeof(nc->key), 0) != (ssize_t)sizeof(nc->key))
		goto fail;
	while (n < TABLE_MAX && n < max_bytes / BYTES_PER_BUCKET)
		n *= 2;
	nc->table = calloc(n, sizeof(*nc->table));
	if (nc->table == NULL)
		goto fail;
	nc->mask = n - 1;
	nc->table_bytes = block_size(nc->table);
	nc->st.bytes = nc->table_bytes;
	nc->st.max_bytes = max_bytes;
	if (nc->table_bytes > max_bytes) {
		free(nc->table);
		free(nc);
		errno = EINVAL;
		return NULL;
	}
	if (pthread_mutex_init(&nc->lock, NULL) != 0)
		goto fail;
	return nc;
fail:
	free(nc->table);
	free(nc);
	errno = ENOMEM;
	return NULL;
}

void
nsec_cache_free(struct nsec_cache *nc)
{
	if (nc == NULL)
		return;
	drop_all(nc);
	pthread_mutex_destroy(&nc->lock);
	free(nc->table);
	free(nc);
}

/* ---------------------------------------------------------------- store */

/* The common tail of both puts, with the lock held: find or create the
 * zone (from *spare, allocated outside the lock, which is then taken),
 * make room for @p need bytes besides. @return the zone, or NULL with
 * *rc set (-EAGAIN: a zone block is needed and *spare is NULL). */
static struct zone *
zone_for_put(struct nsec_cache *nc, const uint8_t *lzone, size_t zlen,
    struct zone **spare, uint64_t need, int *rc)
{
	struct zone *z = zone_get(nc, lzone, zlen);

	if (z == NULL) {
		if (*spare == NULL) {
			*rc = -EAGAIN;
			return NULL;
		}
		need += (*spare)->size;
		if (!make_room(nc, need, NULL)) {
			*rc = -E2BIG;
			return NULL;
		}
		z = *spare;
		*spare = NULL;
		zone_link(nc, z);
		return z;
	}
	if (!make_room(nc, need, z)) {
		/* (a replaced SOA or record may have been its last) */
		if (z->nrec == 0 && z->soa == NULL)
			zone_drop(nc, z);
		*rc = -E2BIG;
		return NULL;
	}
	return z;
}

/* Lowercase and check a zone name. @return its length or 0. */
static size_t
lower_name(uint8_t *dst, const uint8_t *src)
{
	size_t len = dns_name_len(src, LIM_NAME_MAX);

	return len ? dns_name_lower_n(dst, src, len) : 0;
}

/* RFC 2181 8: a TTL with the top bit set counts as 0. */
static inline uint32_t
clamp_ttl(uint32_t ttl)
{
	return ttl > 0x7fffffffu ? 0 : ttl;
}

/* Check an NSEC record against its zone. @return 0 or -EINVAL, with the
 * lengths of the owner and the next name and the flags. */
static int
check_nsec(const uint8_t *lzone, const uint8_t *lowner, const uint8_t *rdata,
    size_t rdlen, size_t *next_len, uint8_t *flags)
{
	const uint8_t *bm;
	size_t nl, bl;
	bool last;

	nl = dns_name_len(rdata, rdlen);
	if (nl == 0)
		return -EINVAL;
	bm = rdata + nl;
	bl = rdlen - nl;
	if (!nsec_bitmap_ok(bm, bl) || !nsec_bitmap_has(bm, bl, DNS_T_NSEC))
		return -EINVAL;
	if (!dns_name_under(lowner, lzone) || !dns_name_under(rdata, lzone))
		return -EINVAL;
	/* the chain goes up in canonical order, and the last link back to
	 * the apex (a zone of the apex alone links it to itself) */
	last = dns_name_eq(rdata, lzone);
	if (!last && dns_name_cmp(lowner, rdata) >= 0)
		return -EINVAL;
	*next_len = nl;
	*flags = (uint8_t)((nsec_bitmap_has(bm, bl, DNS_T_NS) ? F_NS : 0) |
	    (nsec_bitmap_has(bm, bl, DNS_T_SOA) ? F_SOA : 0) |
	    (nsec_bitmap_has(bm, bl, DNS_T_CNAME) ? F_CNAME : 0) |
	    (nsec_bitmap_has(bm, bl, DNS_T_DNAME) ? F_DNAME : 0) |
	    (last ? F_LAST : 0));
	/* an SOA bit means a zone apex: only this zone's */
	if ((*flags & F_SOA) && !dns_name_eq(lowner, lzone))
		return -EINVAL;
	return 0;
}

int
nsec_cache_put(struct nsec_cache *nc, const uint8_t *zone, const uint8_t *owner,
    const uint8_t *rdata, size_t rdlen, uint32_t ttl, const uint8_t *sigs,
    size_t sigs_len, uint16_t nsig, uint64_t now_ms)
{
	uint8_t lzone[LIM_NAME_MAX], lowner[LIM_NAME_MAX];
	size_t zlen, olen, nl;
	struct zone *z, *spare = NULL;
	struct nrec *r, *old;
	uint8_t flags;
	int rc;

	if (nc == NULL || rdata == NULL)
		return -EINVAL;
	zlen = lower_name(lzone, zone);
	olen = lower_name(lowner, owner);
	if (zlen == 0 || olen == 0)
		return -EINVAL;
	if (rdlen > NSEC_RDATA_MAX || sigs_len > NSEC_SIGS_MAX)
		return -E2BIG;
	rc = check_nsec(lzone, lowner, rdata, rdlen, &nl, &flags);
	if (rc < 0)
		return rc;
	if (!sigs_ok(sigs, sigs_len, nsig, DNS_T_NSEC))
		return -EINVAL;
	ttl = clamp_ttl(ttl);
	if (ttl == 0)
		return 0;

	r = malloc(offsetof(struct nrec, data) + olen + rdlen + sigs_len);
	if (r == NULL)
		return -ENOMEM;
	r->size = (uint32_t)block_size(r);
	memcpy(r->data, lowner, olen);
	memcpy(r->data + olen, rdata, rdlen);
	memcpy(r->data + olen + rdlen, sigs, sigs_len);
	r->expire_ms = now_ms + (uint64_t)ttl * 1000;
	r->ttl = ttl;
	r->rdlen = (uint16_t)rdlen;
	r->sigs_len = (uint16_t)sigs_len;
	r->nsig = nsig;
	r->owner_len = (uint8_t)olen;
	r->next_len = (uint8_t)nl;
	r->flags = flags;

	for (;;) {
		pthread_mutex_lock(&nc->lock);
		z = zone_get(nc, lzone, zlen);
		if (z) {
			/* the same owner again: the new one replaces it */
			old = tree_pred(z->root, lowner);
			if (old && dns_name_cmp(rec_owner(old), lowner) == 0)
				rec_drop(nc, z, old);
			else if (z->nrec >= LIM_NSEC_PER_ZONE) {
				rec_drop(nc, z, z->tail);
				nc->st.evictions++;
			}
		}
		z = zone_for_put(nc, lzone, zlen, &spare, r->size, &rc);
		if (z || rc != -EAGAIN)
			break;
		/* a new zone: its block is allocated without the lock */
		pthread_mutex_unlock(&nc->lock);
		spare = zone_alloc(nc, lzone, zlen);
		if (spare == NULL) {
			free(r);
			return -ENOMEM;
		}
	}
	if (z == NULL) {
		pthread_mutex_unlock(&nc->lock);
		free(r);
		free(spare);
		return rc;
	}
	z->root = tree_insert(z->root, r);
	LRU_PUSH(z, r);
	z->nrec++;
	nc->st.records++;
	nc->st.bytes += r->size;
	nc->st.stores++;
	pthread_mutex_unlock(&nc->lock);
	free(spare); /* another thread created the zone meanwhile */
	return 1;
}

int
nsec_cache_put_soa(struct nsec_cache *nc, const uint8_t *zone,
    const uint8_t *rdata, size_t rdlen, uint32_t ttl, const uint8_t *sigs,
    size_t sigs_len, uint16_t nsig, uint64_t now_ms)
{
	uint8_t lzone[LIM_NAME_MAX];
	size_t zlen;
	struct zone *z, *spare = NULL;
	struct nsoa *s;
	int rc;

	if (nc == NULL)
		return -EINVAL;
	zlen = lower_name(lzone, zone);
	if (zlen == 0)
		return -EINVAL;
	if (rdlen > NSEC_RDATA_MAX || sigs_len > NSEC_SIGS_MAX)
		return -E2BIG;
	if (!soa_rdata_ok(rdata, rdlen) ||
	    !sigs_ok(sigs, sigs_len, nsig, DNS_T_SOA))
		return -EINVAL;
	ttl = clamp_ttl(ttl);
	if (ttl == 0)
		return 0;

	s = malloc(offsetof(struct nsoa, data) + rdlen + sigs_len);
	if (s == NULL)
		return -ENOMEM;
	s->size = (uint32_t)block_size(s);
	memcpy(s->data, rdata, rdlen);
	memcpy(s->data + rdlen, sigs, sigs_len);
	s->expire_ms = now_ms + (uint64_t)ttl * 1000;
	s->ttl = ttl;
	s->rdlen = (uint16_t)rdlen;
	s->sigs_len = (uint16_t)sigs_len;
	s->nsig = nsig;

	for (;;) {
		pthread_mutex_lock(&nc->lock);
		z = zone_get(nc, lzone, zlen);
		if (z)
			soa_drop(nc, z); /* replaced */
		z = zone_for_put(nc, lzone, zlen, &spare, s->size, &rc);
		if (z || rc != -EAGAIN)
			break;
		pthread_mutex_unlock(&nc->lock);
		spare = zone_alloc(nc, lzone, zlen);
		if (spare == NULL) {
			free(s);
			return -ENOMEM;
		}
	}
	if (z == NULL) {
		pthread_mutex_unlock(&nc->lock);
		free(s);
		free(spare);
		return rc;
	}
	z->soa = s;
	nc->st.bytes += s->size;
	nc->st.stores++;
	pthread_mutex_unlock(&nc->lock);
	free(spare);
	return 1;
}

/* ---------------------------------------------------------------- prove */

/* The deepest zone at or above @p name with a live SOA. Dead SOAs met are
 * removed, and their zones too when they hold no records. */
static struct zone *
zone_of(struct nsec_cache *nc, const uint8_t *name, uint64_t now)
{
	for (const uint8_t *s = name;; s = dns_name_parent(s)) {
		struct zone *z =
		    zone_find(nc, s, dns_name_len(s, LIM_NAME_MAX));
		if (z && z->soa && z->soa->expire_ms > now)
			return z;
		if (z && z->soa) {
			soa_drop(nc, z);
			nc->st.expiries++;
			if (z->nrec == 0)
				zone_drop(nc, z);
		}
		if (s[0] == 0)
			return NULL;
	}
}

/* A live record: an expired one is removed (and NULL returned). */
static struct nrec *
live(struct nsec_cache *nc, struct zone *z, struct nrec *r, uint64_t now)
{
	if (r && r->expire_ms <= now) {
		rec_drop(nc, z, r);
		nc->st.expiries++;
		return NULL;
	}
	return r;
}

/* Does record @p r say that nothing at or below its owner's descendants
 * belongs to this zone: a delegation (NS set, SOA clear) or a DNAME? */
static inline bool
cuts_below(const struct nrec *r)
{
	return (r->flags & F_DNAME) ||
	    ((r->flags & F_NS) && !(r->flags & F_SOA));
}

/* Does record @p r cover @p name (owner < name < next, or owner < name
 * for the last record of the zone)? */
static bool
covers(const struct nrec *r, const uint8_t *name)
{
	if (dns_name_cmp(rec_owner(r), name) >= 0)
		return false;
	return (r->flags & F_LAST) || dns_name_cmp(name, rec_next(r)) < 0;
}

/* Is any proper ancestor of @p name, from the apex of @p z down, known
 * (from its own record) as a delegation or a DNAME? Then the name is not
 * this zone's to deny. */
static bool
below_cut(
    struct nsec_cache *nc, struct zone *z, const uint8_t *name, uint64_t now)
{
	unsigned zl = dns_name_labels(z->name), nl = dns_name_labels(name);

	for (unsigned k = zl; k < nl; k++) {
		const uint8_t *anc = dns_name_suffix(name, k);
		struct nrec *r = tree_pred(z->root, anc);
		if (r && dns_name_cmp(rec_owner(r), anc) == 0 &&
		    live(nc, z, r, now) && cuts_below(r))
			return true;
	}
	return false;
}

/* Is a proof of the absence of @p qtype at the owner of @p r (which is the
 * name asked) sound? */
static bool
proves_nodata(const struct nrec *r, uint16_t qtype)
{
	const uint8_t *bm = rec_bitmap(r);
	size_t bl = rec_bitmap_len(r);

	if (qtype == DNS_T_ANY || qtype == DNS_T_NSEC || qtype == DNS_T_RRSIG)
		return false; /* the name has at least its NSEC */
	if (nsec_bitmap_has(bm, bl, qtype) || (r->flags & F_CNAME))
		return false;
	if (qtype == DNS_T_DS)
		/* a child apex's NSEC says nothing of the parent's DS */
		return !(r->flags & F_SOA);
	/* the parent side of a cut is authoritative for DS (and NSEC)
	 * only (RFC 4035 5.4) */
	return !((r->flags & F_NS) && !(r->flags & F_SOA));
}

static void
copy_rr(struct nsec_proof_rr *o, const uint8_t *owner, size_t olen,
    uint32_t ttl, const uint8_t *rd, size_t rdlen, const uint8_t *sigs,
    size_t sigs_len, uint16_t nsig)
{
	memcpy(o->owner, owner, olen);
	o->owner_len = (uint8_t)olen;
	o->ttl = ttl;
	o->rdlen = (uint16_t)rdlen;
	memcpy(o->rdata, rd, rdlen);
	o->nsig = nsig;
	o->sigs_len = (uint16_t)sigs_len;
	memcpy(o->sigs, sigs, sigs_len);
}

/* Fill @p out with the proof made of @p z's SOA and the records @p r
 * (@p n of them), and mark them used. */
static void
fill_proof(struct nsec_cache *nc, struct zone *z, struct nrec **r, unsigned n,
    int rcode, uint64_t now, struct nsec_proof *out)
{
	const struct nsoa *s = z->soa;
	uint32_t ttl = remaining(s->expire_ms, s->ttl, now);

	out->rcode = rcode;
	memcpy(out->zone, z->name, z->name_len);
	out->zone_len = z->name_len;
	copy_rr(&out->soa, z->name, z->name_len, ttl, s->data, s->rdlen,
	    s->data + s->rdlen, s->sigs_len, s->nsig);
	out->nnsec = n;
	for (unsigned i = 0; i < n; i++) {
		uint32_t t = remaining(r[i]->expire_ms, r[i]->ttl, now);
		copy_rr(&out->nsec[i], rec_owner(r[i]), r[i]->owner_len, t,
		    rec_rdata(r[i]), r[i]->rdlen, rec_sigs(r[i]),
		    r[i]->sigs_len, r[i]->nsig);
		if (t < ttl)
			ttl = t;
		rec_touch(z, r[i]);
	}
	out->ttl = ttl;
	zone_touch(nc, z);
}

/* The proof for @p qname (lowercased) in zone @p z, with the lock held.
 * @return 1 (out filled) or 0. */
static int
prove_in(struct nsec_cache *nc, struct zone *z, const uint8_t *qname,
    uint16_t qtype, uint64_t now, struct nsec_proof *out)
{
	struct nrec *r[NSEC_PROOF_MAX], *p, *w;
	uint8_t wild[LIM_NAME_MAX];
	const uint8_t *ce, *ce2;
	size_t celen;

	if (below_cut(nc, z, qname, now))
		return 0;
	p = live(nc, z, tree_pred(z->root, qname), now);
	if (p == NULL)
		return 0;
	r[0] = p;
	if (dns_name_cmp(rec_owner(p), qname) == 0) {
		if (!proves_nodata(p, qtype))
			return 0;
		fill_proof(nc, z, r, 1, DNS_RCODE_NOERROR, now, out);
		return 1;
	}
	if (!covers(p, qname))
		return 0;
	/* an owner above the name that is a cut or a DNAME: the name is
	 * not this zone's (below_cut found it already if it is live) */
	if (dns_name_below(qname, rec_owner(p)) && cuts_below(p))
		return 0;
	/* names exist below it: an empty non-terminal, which has no data */
	if (!(p->flags & F_LAST) && dns_name_below(rec_next(p), qname)) {
		if (qtype == DNS_T_ANY)
			return 0;
		fill_proof(nc, z, r, 1, DNS_RCODE_NOERROR, now, out);
		return 1;
	}
	/* the closest encloser: the deeper of the ancestors that qname
	 * shares with the owner and with the next name (RFC 4035 5.4) */
	ce = dns_name_common(qname, rec_owner(p));
	ce2 = dns_name_common(qname, rec_next(p));
	if (dns_name_labels(ce2) > dns_name_labels(ce))
		ce = ce2;
	celen = dns_name_len(ce, LIM_NAME_MAX);
	if (celen + 2 > LIM_NAME_MAX)
		return 0; /* cannot happen: ce is a proper ancestor */
	wild[0] = 1;
	wild[1] = '*';
	memcpy(wild + 2, ce, celen);
	w = live(nc, z, tree_pred(z->root, wild), now);
	if (w == NULL || !covers(w, wild))
		return 0; /* the wildcard exists, or nothing says it does not */
	if (dns_name_below(wild, rec_owner(w)) && cuts_below(w))
		return 0;
	if (!(w->flags & F_LAST) && dns_name_below(rec_next(w), wild))
		return 0; /* names below the wildcard: it exists */
	if (w == p) {
		fill_proof(nc, z, r, 1, DNS_RCODE_NXDOMAIN, now, out);
	} else {
		r[1] = w;
		fill_proof(nc, z, r, 2, DNS_RCODE_NXDOMAIN, now, out);
	}
	return 1;
}

int
nsec_cache_prove(struct nsec_cache *nc, const uint8_t *qname, uint16_t qtype,
    uint64_t now_ms, struct nsec_proof *out)
{
	uint8_t lq[LIM_NAME_MAX];
	const uint8_t *start;
	struct zone *z;
	int rc = 0;

	if (nc == NULL || out == NULL || lower_name(lq, qname) == 0)
		return -EINVAL;
	start = lq;
	if (qtype == DNS_T_DS) {
		if (lq[0] == 0)
			return 0; /* the root's DS: no parent to ask */
		start = dns_name_parent(lq);
	}
	pthread_mutex_lock(&nc->lock);
	z = zone_of(nc, start, now_ms);
	if (z)
		rc = prove_in(nc, z, lq, qtype, now_ms, out);
	if (rc)
		nc->st.proofs++;
	else
		nc->st.misses++;
	pthread_mutex_unlock(&nc->lock);
	return rc;
}

/* -------------------------------------------------------------- flushes */

void
nsec_cache_flush_zone(struct nsec_cache *nc, const uint8_t *zone)
{
	uint8_t lz[LIM_NAME_MAX];
	struct nrec *r;

	if (nc == NULL || lower_name(lz, zone) == 0)
		return;
	pthread_mutex_lock(&nc->lock);
	/* the zone and the zones below it */
	for (size_t i = 0; i <= nc->mask; i++) {
		struct zone *z = nc->table[i], *next;
		for (; z; z = next) {
			next = z->hnext;
			if (dns_name_under(z->name, lz))
				zone_drop(nc, z);
		}
	}
	/* the zones above it: what they say of it */
	for (const uint8_t *s = dns_name_parent(lz); lz[0];
	     s = dns_name_parent(s)) {
		struct zone *z =
		    zone_find(nc, s, dns_name_len(s, LIM_NAME_MAX));
		if (z) {
			while ((r = tree_ceil(z->root, lz)) != NULL &&
			    dns_name_under(rec_owner(r), lz))
				rec_drop(nc, z, r);
			r = tree_pred(z->root, lz);
			if (r && covers(r, lz))
				rec_drop(nc, z, r);
			if (z->nrec == 0 && z->soa == NULL)
				zone_drop(nc, z);
		}
		if (s[0] == 0)
			break;
	}
	pthread_mutex_unlock(&nc->lock);
}

void
nsec_cache_flush_all(struct nsec_cache *nc)
{
	if (nc == NULL)
		return;
	pthread_mutex_lock(&nc->lock);
	drop_all(nc);
	pthread_mutex_unlock(&nc->lock);
}

void
nsec_cache_stats(struct nsec_cache *nc, struct nsec_cache_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (nc == NULL)
		return;
	pthread_mutex_lock(&nc->lock);
	*out = nc->st;
	pthread_mutex_unlock(&nc->lock);
}
