/*
 * stats.c: one instance's counters, summed over the worker threads.
 */
#include <string.h>

#include "resolver/stats.h"

struct sum_arg {
	struct stats_sums *s;
	unsigned index; /* the instance's, the same on every thread */
};

static void
add_instance(struct instance *in, void *arg)
{
	struct sum_arg *a = arg;
	struct stats_sums *s = a->s;
	struct srv_stats ss;

	if (in->index != a->index || !in->started)
		return;
	worker_stats_add(&s->w, &in->worker.stats);
	counters_add((counter_t *)&s->up, (const counter_t *)&in->worker.up,
	    COUNTERS_IN(s->up));
	srv_get_stats(in->srv, &ss);
	counters_add(
	    (counter_t *)&s->srv, (const counter_t *)&ss, COUNTERS_IN(ss));
	s->kernel_drops += srv_udp_kernel_drops(in->srv);
}

_Static_assert(sizeof(struct up_stats) % sizeof(counter_t) == 0,
    "struct up_stats holds counters only");
_Static_assert(sizeof(struct srv_stats) % sizeof(counter_t) == 0,
    "struct srv_stats holds counters only");

void
stats_sum(struct stats_sums *s, const struct instance *in, struct pool *pool)
{
	struct sum_arg a = {s, in->index};

	memset(s, 0, sizeof(*s));
	add_instance((struct instance *)in, &a);
	if (pool != NULL)
		pool_foreach(pool, add_instance, &a);
}
