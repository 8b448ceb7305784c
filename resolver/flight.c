/*
 * flight.c: the cross-worker table of questions being resolved.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "resolver/flight.h"
#include "resolver/limits.h"

#define FLIGHT_BUCKETS 1024
#define FLIGHT_MAX     LIM_INFLIGHT /* claims at once, all workers */

struct flight {
	struct flight *next;
	uint32_t hash;
	uint16_t type, rclass;
	unsigned owner;
	uint64_t waiters;           /* bit per worker index */
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

static uint32_t
hash(const uint8_t *name, uint16_t type, uint16_t rclass)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < dns_name_len(name, LIM_NAME_MAX); i++) {
		uint8_t c = name[i];
		h = (h ^ (c >= 'A' && c <= 'Z' ? c | 0x20 : c)) * 16777619u;
	}
	h = (h ^ type) * 16777619u;
	return (h ^ rclass) * 16777619u;
}

/* The entry's link, or the link where it would go; under the lock. */
static struct flight **
slot(struct flights *f, const uint8_t *name, uint16_t type, uint16_t rclass,
    uint32_t h)
{
	struct flight **pp = &f->b[h % FLIGHT_BUCKETS];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->type == type &&
		    (*pp)->rclass == rclass && dns_name_eq((*pp)->name, name))
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
	for (unsigned i = 0; i < FLIGHT_BUCKETS; i++) {
		while (f->b[i] != NULL) {
			struct flight *x = f->b[i];
			f->b[i] = x->next;
			free(x);
		}
	}
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

int
flights_claim(struct flights *f, const uint8_t *name, uint16_t type,
    uint16_t rclass, unsigned me)
{
	uint32_t h = hash(name, type, rclass);
	struct flight **pp, *x;
	int rc;

	pthread_mutex_lock(&f->lock);
	pp = slot(f, name, type, rclass, h);
	if (*pp != NULL && (*pp)->owner != me) {
		(*pp)->waiters |= 1ull << me;
		rc = (int)(*pp)->owner;
	} else if (*pp != NULL) {
		rc = -1; /* already ours */
	} else if (f->count >= FLIGHT_MAX ||
	    (x = calloc(1, sizeof(*x))) == NULL) {
		rc = -2;
	} else {
		x->hash = h;
		x->type = type;
		x->rclass = rclass;
		x->owner = me;
		dns_name_lower(x->name, name);
		*pp = x;
		f->count++;
		rc = -1;
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

void
flights_release(struct flights *f, const uint8_t *name, uint16_t type,
    uint16_t rclass, unsigned me)
{
	uint32_t h = hash(name, type, rclass);
	struct flight **pp, *x = NULL;
	uint64_t waiters = 0;

	pthread_mutex_lock(&f->lock);
	pp = slot(f, name, type, rclass, h);
	if (*pp != NULL && (*pp)->owner == me) {
		x = *pp;
		*pp = x->next;
		f->count--;
		waiters = x->waiters;
	}
	/* wake under the lock: a worker that unregistered is never called */
	for (unsigned i = 0; waiters != 0 && i < FLIGHT_MAX_WORKERS; i++)
		if ((waiters >> i) & 1 && f->wake[i] != NULL)
			f->wake[i](f->arg[i]);
	pthread_mutex_unlock(&f->lock);
	free(x);
}

bool
flights_busy(
    struct flights *f, const uint8_t *name, uint16_t type, uint16_t rclass)
{
	uint32_t h = hash(name, type, rclass);
	bool busy;

	pthread_mutex_lock(&f->lock);
	busy = *slot(f, name, type, rclass, h) != NULL;
	pthread_mutex_unlock(&f->lock);
	return busy;
}
