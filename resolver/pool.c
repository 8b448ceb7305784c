/*
 * pool.c: worker threads beyond the main one.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "resolver/log.h"
#include "resolver/pool.h"

struct pool_thread {
	uv_thread_t tid;
	uv_loop_t loop;
	uv_async_t stop;       /* stop.data = this */
	uv_async_t reload;     /* reload.data = this */
	struct instance *inst; /* owned: ninst, like the main thread's */
	unsigned ninst;
	unsigned index;
	/* set by the main thread before the thread starts */
	const struct cfg *cfg;
	const struct worker_tables *tab;
	const struct instance *primary;
	/* the latest configuration handed over (reload) */
	_Atomic(const struct cfg *) next_cfg;
	_Atomic(const struct worker_tables *) next_tab;
	uv_sem_t ready; /* posted once bound (or failed) */
	uv_sem_t go;    /* posted once privileges are dropped: serve */
	bool gone;      /* go was posted */
	int status;     /* 0, or -1: could not start */
	bool running;
};

static void
on_stop(uv_async_t *a)
{
	struct pool_thread *t = a->data;

	for (unsigned i = 0; i < t->ninst; i++)
		inst_close(&t->inst[i]);
	uv_close((uv_handle_t *)&t->stop, NULL);
	uv_close((uv_handle_t *)&t->reload, NULL);
}

static void
on_reload(uv_async_t *a)
{
	struct pool_thread *t = a->data;
	const struct cfg *c = atomic_load(&t->next_cfg);
	const struct worker_tables *h = atomic_load(&t->next_tab);

	for (unsigned i = 0; i < t->ninst; i++)
		inst_reconfig(&t->inst[i], c, h);
}

static void
thread_main(void *arg)
{
	struct pool_thread *t = arg;
	size_t listcap = (size_t)t->ninst * CFG_MAX_LISTEN *
	        (sizeof(t->cfg->listen[0].text) + CFG_INST_NAME_MAX + 4) +
	    1;
	char *list = calloc(1, listcap);
	bool ok = true;

	t->inst = calloc(t->ninst ? t->ninst : 1, sizeof(*t->inst));
	if (list == NULL || t->inst == NULL || uv_loop_init(&t->loop) != 0) {
		free(list);
		t->status = -1;
		t->ninst = 0;
		uv_sem_post(&t->ready);
		return;
	}
	uv_async_init(&t->loop, &t->stop, on_stop);
	uv_async_init(&t->loop, &t->reload, on_reload);
	t->stop.data = t;
	t->reload.data = t;
	for (unsigned i = 0; ok && i < t->ninst; i++) {
		if (inst_init_shared(&t->inst[i], &t->loop, t->cfg, t->tab,
		        &t->primary[i]) < 0) {
			t->ninst = i;
			ok = false;
		}
	}
	for (unsigned i = 0; ok && i < t->ninst; i++)
		if (inst_bind(&t->inst[i], list, listcap) < 0)
			ok = false;
	free(list);
	t->status = ok ? 0 : -1;
	uv_sem_post(&t->ready);
	/* Bound, but nothing is read until the main thread has dropped
	 * privileges: no untrusted byte is parsed as root. */
	uv_sem_wait(&t->go);
	if (ok)
		log_info("worker thread %u serving as uid %u gid %u", t->index,
		    (unsigned)getuid(), (unsigned)getgid());
	if (!ok) {
		for (unsigned i = 0; i < t->ninst; i++)
			inst_close(&t->inst[i]);
		uv_close((uv_handle_t *)&t->stop, NULL);
		uv_close((uv_handle_t *)&t->reload, NULL);
	}
	uv_run(&t->loop, UV_RUN_DEFAULT);
	for (unsigned i = 0; i < t->ninst; i++)
		if (inst_free(&t->inst[i]) < 0)
			t->status = -1;
	if (uv_loop_close(&t->loop) < 0)
		t->status = -1;
}

int
pool_start(struct pool *p, unsigned n, const struct cfg *c,
    const struct worker_tables *tab, const struct instance *primary,
    unsigned ninst)
{
	int rc = 0;

	memset(p, 0, sizeof(*p));
	if (n == 0)
		return 0;
	p->t = calloc(n, sizeof(*p->t));
	if (p->t == NULL) {
		log_err("worker threads: out of memory");
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		struct pool_thread *t = &p->t[i];
		t->index = i + 1;
		t->cfg = c;
		t->tab = tab;
		t->primary = primary;
		t->ninst = ninst;
		atomic_init(&t->next_cfg, c);
		atomic_init(&t->next_tab, tab);
		uv_sem_init(&t->ready, 0);
		uv_sem_init(&t->go, 0);
		if (uv_thread_create(&t->tid, thread_main, t) != 0) {
			log_err("cannot start worker thread %u", i + 1);
			uv_sem_destroy(&t->ready);
			uv_sem_destroy(&t->go);
			rc = -1;
			break;
		}
		t->running = true;
		p->n = i + 1;
		uv_sem_wait(&t->ready);
		if (t->status < 0) {
			log_err("worker thread %u could not start", i + 1);
			rc = -1;
			break;
		}
	}
	if (rc < 0)
		pool_stop(p);
	return rc;
}

void
pool_reconfig(
    struct pool *p, const struct cfg *c, const struct worker_tables *tab)
{
	for (unsigned i = 0; i < p->n; i++) {
		struct pool_thread *t = &p->t[i];
		if (!t->running || t->status < 0)
			continue;
		atomic_store(&t->next_cfg, c);
		atomic_store(&t->next_tab, tab);
		uv_async_send(&t->reload);
	}
}

void
pool_go(struct pool *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		if (p->t[i].running && !p->t[i].gone) {
			p->t[i].gone = true;
			uv_sem_post(&p->t[i].go);
		}
	}
}

int
pool_stop(struct pool *p)
{
	int rc = 0;

	pool_go(p); /* a thread still waiting to serve must see the stop */

	for (unsigned i = 0; i < p->n; i++)
		if (p->t[i].running && p->t[i].status == 0)
			uv_async_send(&p->t[i].stop);
	for (unsigned i = 0; i < p->n; i++) {
		struct pool_thread *t = &p->t[i];
		if (!t->running)
			continue;
		uv_thread_join(&t->tid);
		uv_sem_destroy(&t->ready);
		uv_sem_destroy(&t->go);
		free(t->inst);
		t->inst = NULL;
		t->ninst = 0;
		t->running = false;
		if (t->status < 0)
			rc = -1;
	}
	free(p->t);
	memset(p, 0, sizeof(*p));
	return rc;
}

void
pool_foreach(
    struct pool *p, void (*fn)(struct instance *in, void *arg), void *arg)
{
	for (unsigned i = 0; i < p->n; i++)
		for (unsigned k = 0; k < p->t[i].ninst; k++)
			fn(&p->t[i].inst[k], arg);
}
