/*
 * flight.c: the join table of questions being resolved (see flight.h).
 *
 * Locking: one mutex guards the table, every flight's reference count,
 * client count and waiter mask. The result pointer is written once, under
 * the lock and with release order, before the flight leaves the table; a
 * reader that sees it non-NULL (acquire) sees the whole result. The local
 * slots are each touched by one worker's thread only.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/dns.h"
#include "resolver/flight.h"

#define FLIGHT_BUCKETS 1024
#define FLIGHT_MAX     LIM_INFLIGHT /* flights at once, all workers */

struct flight {
	struct flight *next; /* hash chain, while in the table */
	uint64_t hash;
	uint16_t type, rclass;
	uint8_t flags;
	bool in_table;
	unsigned owner;
	unsigned refs;
	unsigned clients;
	uint64_t waiters; /* bit per worker index that joined as a waiter */
	_Atomic(struct iter_result *) res;
	void *local[FLIGHT_MAX_WORKERS];
	uint8_t name[LIM_NAME_MAX]; /* lowercased */
};

struct flights {
	pthread_mutex_t lock;
	struct flight *b[FLIGHT_BUCKETS];
	unsigned count;
	unsigned nworkers;
	void (*wake[FLIGHT_MAX_WORKERS])(void *arg);
	void *arg[FLIGHT_MAX_WORKERS];
};

/* FNV-1a over the lowercased name, type, class and flags. */
static uint64_t
key_hash(const struct flight_key *k)
{
	uint64_t h = 14695981039346656037ULL;
	size_t len = dns_name_len(k->name, LIM_NAME_MAX);

	for (size_t i = 0; i < len; i++)
		h = (h ^ dns_lc(k->name[i])) * 1099511628211ULL;
	h = (h ^ k->type) * 1099511628211ULL;
	h = (h ^ k->rclass) * 1099511628211ULL;
	return (h ^ k->flags) * 1099511628211ULL;
}

/* The flight's link, or the link where it would go; under the lock. */
static struct flight **
slot(struct flights *f, const struct flight_key *k, uint64_t h)
{
	struct flight **pp = &f->b[h % FLIGHT_BUCKETS];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->type == k->type &&
		    (*pp)->rclass == k->rclass && (*pp)->flags == k->flags &&
		    dns_name_eq((*pp)->name, k->name))
			break;
	return pp;
}

struct flights *
flights_new(void)
{
	struct flights *f = calloc(1, sizeof(*f));

	if (f != NULL)
		pthread_mutex_init(&f->lock, NULL);
	return f;
}

void
flights_free(struct flights *f)
{
	if (f == NULL)
		return;
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int
flights_register(struct flights *f, void (*wake)(void *arg), void *arg)
{
	int i = -1;

	pthread_mutex_lock(&f->lock);
	if (f->nworkers < FLIGHT_MAX_WORKERS) {
		i = (int)f->nworkers++;
		f->wake[i] = wake;
		f->arg[i] = arg;
	}
	pthread_mutex_unlock(&f->lock);
	return i;
}

void
flights_unregister(struct flights *f, int index)
{
	if (index < 0 || index >= FLIGHT_MAX_WORKERS)
		return;
	pthread_mutex_lock(&f->lock);
	f->wake[index] = NULL;
	f->arg[index] = NULL;
	pthread_mutex_unlock(&f->lock);
}

enum flight_role
flights_join(struct flights *f, const struct flight_key *k, unsigned me,
    unsigned nclients, struct flight **fl)
{
	uint64_t h = key_hash(k);
	struct flight **pp, *x;
	enum flight_role role;

	if (me >= FLIGHT_MAX_WORKERS)
		return FLIGHT_FULL;
	pthread_mutex_lock(&f->lock);
	pp = slot(f, k, h);
	if (*pp != NULL) {
		x = *pp;
		if (x->clients + nclients > LIM_WAITERS) {
			role = FLIGHT_FULL;
		} else {
			x->clients += nclients;
			x->refs++;
			if (x->owner != me)
				x->waiters |= 1ull << me;
			*fl = x;
			role = FLIGHT_WAITER;
		}
	} else if (f->count >= FLIGHT_MAX ||
	    (x = calloc(1, sizeof(*x))) == NULL) {
		role = FLIGHT_FULL;
	} else {
		x->hash = h;
		x->type = k->type;
		x->rclass = k->rclass;
		x->flags = k->flags;
		x->owner = me;
		x->refs = 1;
		x->clients = nclients;
		x->in_table = true;
		atomic_init(&x->res, NULL);
		dns_name_lower(x->name, k->name);
		*pp = x;
		f->count++;
		*fl = x;
		role = FLIGHT_OWNER;
	}
	pthread_mutex_unlock(&f->lock);
	return role;
}

void
flights_hold(struct flights *f, struct flight *fl)
{
	pthread_mutex_lock(&f->lock);
	fl->refs++;
	pthread_mutex_unlock(&f->lock);
}

bool
flights_add_clients(struct flights *f, struct flight *fl, unsigned nclients)
{
	bool ok;

	pthread_mutex_lock(&f->lock);
	ok = fl->clients + nclients <= LIM_WAITERS;
	if (ok)
		fl->clients += nclients;
	pthread_mutex_unlock(&f->lock);
	return ok;
}

void
flights_publish(struct flights *f, struct flight *fl, struct iter_result *res)
{
	struct flight_key k = {fl->name, fl->type, fl->rclass, fl->flags};
	uint64_t waiters;

	pthread_mutex_lock(&f->lock);
	atomic_store_explicit(&fl->res, res, memory_order_release);
	if (fl->in_table) {
		struct flight **pp = slot(f, &k, fl->hash);
		if (*pp == fl)
			*pp = fl->next;
		fl->in_table = false;
		f->count--;
	}
	waiters = fl->waiters & ~(1ull << fl->owner);
	/* wake under the lock: a worker that unregistered is never called */
	for (unsigned i = 0; waiters != 0 && i < FLIGHT_MAX_WORKERS; i++)
		if ((waiters >> i) & 1 && f->wake[i] != NULL)
			f->wake[i](f->arg[i]);
	pthread_mutex_unlock(&f->lock);
}

const struct iter_result *
flight_result(const struct flight *fl)
{
	return atomic_load_explicit(
	    &((struct flight *)fl)->res, memory_order_acquire);
}

void **
flight_local(struct flight *fl, unsigned me)
{
	return &fl->local[me % FLIGHT_MAX_WORKERS];
}

void
flights_release(struct flights *f, struct flight *fl)
{
	bool last;

	pthread_mutex_lock(&f->lock);
	last = --fl->refs == 0;
	if (last && fl->in_table) {
		/* released before publishing (the owner gave up): out of the
		 * table, so nobody joins a flight nobody resolves */
		struct flight_key k = {
		    fl->name, fl->type, fl->rclass, fl->flags};
		struct flight **pp = slot(f, &k, fl->hash);
		if (*pp == fl)
			*pp = fl->next;
		f->count--;
	}
	pthread_mutex_unlock(&f->lock);
	if (last) {
		iter_result_free(atomic_load(&fl->res));
		free(fl);
	}
}

unsigned
flights_count(struct flights *f)
{
	unsigned n;

	pthread_mutex_lock(&f->lock);
	n = f->count;
	pthread_mutex_unlock(&f->lock);
	return n;
}
