/*
 * stats.c: one instance's counters, summed over the worker threads.
 */
#include <string.h>

#include "resolver/stats.h"

struct sum_arg {
	struct stats_sums *s;
	int tier;
};

static void
add_instance(struct instance *in, void *arg)
{
	struct sum_arg *a = arg;
	struct stats_sums *s = a->s;
	struct srv_stats ss;

	if (in->tier != a->tier || !in->started)
		return;
	worker_stats_add(&s->w, &in->worker.stats);
	s->up.udp_sent += in->worker.up.udp_sent;
	s->up.tcp_sent += in->worker.up.tcp_sent;
	s->up.timeouts += in->worker.up.timeouts;
	s->up.errors += in->worker.up.errors;
	s->up.forwarded += in->worker.up.forwarded;
	srv_get_stats(in->srv, &ss);
	s->kernel_drops += srv_udp_kernel_drops(in->srv);
	s->srv.udp_queries += ss.udp_queries;
	s->srv.tcp_queries += ss.tcp_queries;
	s->srv.dropped += ss.dropped;
	s->srv.formerr += ss.formerr;
	s->srv.notimp += ss.notimp;
	s->srv.refused += ss.refused;
	s->srv.badvers += ss.badvers;
	s->srv.handed += ss.handed;
	s->srv.replies += ss.replies;
	for (unsigned i = 0; i < 16; i++)
		s->srv.rcode_tcp[i] += ss.rcode_tcp[i];
	s->srv.tcp_accepted += ss.tcp_accepted;
	s->srv.tcp_refused += ss.tcp_refused;
	s->srv.tcp_timeouts += ss.tcp_timeouts;
	s->srv.tcp_closed_bad += ss.tcp_closed_bad;
	s->srv.formerr_tcp += ss.formerr_tcp;
	s->srv.notimp_tcp += ss.notimp_tcp;
	s->srv.refused_tcp += ss.refused_tcp;
	s->srv.badvers_tcp += ss.badvers_tcp;
	s->srv.ede_prohibited += ss.ede_prohibited;
	s->srv.ede_not_supported += ss.ede_not_supported;
}

void
stats_sum(struct stats_sums *s, const struct instance *in, struct pool *pool)
{
	struct sum_arg a = {s, in->tier};

	memset(s, 0, sizeof(*s));
	add_instance((struct instance *)in, &a);
	if (pool != NULL)
		pool_foreach(pool, add_instance, &a);
}
