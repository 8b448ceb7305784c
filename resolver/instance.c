/*
 * instance.c: one resolver (listeners, caches, worker) and its view of the
 * configuration, so that a chain of cache tiers is several of them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "resolver/instance.h"
#include "resolver/log.h"

void
inst_view(struct cfg *view, const struct cfg *c, int tier, unsigned member)
{
	const struct cfg_tier *t;
	struct cfg_listen next[CFG_MAX_TIER_LISTEN];
	const struct cfg_listen *up;

	*view = *c;
	if (tier < 0)
		return;
	t = &c->tiers[tier];
	_Static_assert(CFG_MAX_TIER_LISTEN <= CFG_MAX_LISTEN,
	    "a tier instance's listen list fits the view's");
	view->nlisten =
	    cfg_tier_listen(c, (unsigned)tier, member, view->listen);
	view->cache.size = t->cache.size;
	view->cache.max_entries = t->cache.max_entries;
	view->cache.max_ttl = t->cache.max_ttl;
	view->cache.min_ttl = t->cache.min_ttl;
	view->cache.negative_ttl = t->cache.negative_ttl;
	view->ntiers = 0;
	if (t->upstream_set ? t->upstream_iterate : tier + 1 == (int)c->ntiers)
		return; /* iterates, with the global forward zones */
	if (t->upstream_set) {
		up = &t->upstream;
	} else {
		cfg_tier_listen(c, (unsigned)tier + 1,
		    cfg_tier_parent(c, (unsigned)tier, member), next);
		up = &next[0];
	}
	/* everything goes to the upstream tier; no fallback: a tier that
	 * cannot reach its upstream says so */
	memset(view->forwards, 0, sizeof(view->forwards));
	snprintf(view->forwards[0].zone, sizeof(view->forwards[0].zone), ".");
	view->forwards[0].servers[0] = *up;
	view->forwards[0].nservers = 1;
	view->forwards[0].fallback_iterate = false;
	view->nforwards = 1;
	/* a tier that forwards is a cache on the way (browser, OS, router):
	 * like a stub or dnsmasq, it passes answers on and leaves DNSSEC
	 * validation to the resolver that walks the tree */
	view->dnssec.validation = false;
	/* nor does it prefetch or answer stale: its entries age and die as
	 * the answers it was given say (what the tier lab shows) */
	view->cache.prefetch = false;
	view->cache.serve_stale = 0;
}

static int
init(struct instance *in, uv_loop_t *loop, const struct cfg *c, int tier,
    unsigned member, const struct worker_tables *tab,
    const struct instance *primary)
{
	struct cache_policy pol;

	memset(in, 0, sizeof(*in));
	in->tier = tier;
	in->member = member;
	in->up = -1;
	if (tier < 0) {
		snprintf(in->name, sizeof(in->name), "main");
		snprintf(in->tier_name, sizeof(in->tier_name), "main");
	} else {
		const struct cfg_tier *t = &c->tiers[tier];

		snprintf(in->tier_name, sizeof(in->tier_name), "%s", t->name);
		cfg_instance_name(
		    c, (unsigned)tier, member, in->name, sizeof(in->name));
		in->index = cfg_tier_first(c, (unsigned)tier) + member;
		if (tier + 1 < (int)c->ntiers &&
		    !(t->upstream_set && t->upstream_iterate))
			in->up = (int)(cfg_tier_first(c, (unsigned)tier + 1) +
			    cfg_tier_parent(c, (unsigned)tier, member));
	}
	inst_view(&in->view, c, tier, member);
	pol = (struct cache_policy){
	    .min_ttl = in->view.cache.min_ttl,
	    .max_ttl = in->view.cache.max_ttl,
	    .negative_ttl = in->view.cache.negative_ttl,
	    .serve_stale = in->view.cache.serve_stale,
	    .max_entries = in->view.cache.max_entries,
	};
	if (primary == NULL) {
		in->own_caches = true;
		in->shared = srv_shared_new();
		in->cache = cache_new(in->view.cache.size, &pol);
		in->infra = infra_new(0);
		in->flights = flights_new();
		/* the aggressive NSEC cache: an eighth of the cache's size */
		if (in->view.dnssec.validation)
			in->nsec =
			    nsec_cache_new(in->view.cache.size / 8 > 262144
			            ? in->view.cache.size / 8
			            : 262144);
	} else {
		in->cache = primary->cache;
		in->infra = primary->infra;
		in->flights = primary->flights;
		in->nsec = primary->nsec;
		in->shared = primary->shared;
		in->tls = primary->tls;
	}
	in->srv = in->shared ? srv_new(loop, &in->view, in->shared) : NULL;
	if (in->srv == NULL || in->cache == NULL || in->infra == NULL ||
	    in->flights == NULL) {
		inst_free(in);
		return -ENOMEM;
	}
	if (worker_init(&in->worker, loop, in->srv, &in->view, in->cache,
	        in->infra, in->flights, tab, primary == NULL) < 0) {
		inst_free(in);
		return -ENOMEM;
	}
	worker_set_nsec(&in->worker, in->nsec);
	if (tier >= 0)
		snprintf(in->worker.tag, sizeof(in->worker.tag),
		    "tier %s: ", in->name);
	in->started = true;
	return 0;
}

const struct cache_rrset_in *
inst_sec_view(const struct instance *in_, const struct cache_rrset_in *in,
    struct cache_rrset_in *copy)
{
	if (in_->view.dnssec.validation || in->sec == CACHE_SEC_INSECURE)
		return in;
	*copy = *in;
	copy->sec = CACHE_SEC_INSECURE;
	copy->cut = false;
	return copy;
}

int
inst_init(struct instance *in, uv_loop_t *loop, const struct cfg *c, int tier,
    unsigned member, const struct worker_tables *tab)
{
	return init(in, loop, c, tier, member, tab, NULL);
}

int
inst_init_shared(struct instance *in, uv_loop_t *loop, const struct cfg *c,
    const struct worker_tables *tab, const struct instance *primary)
{
	return init(in, loop, c, primary->tier, primary->member, tab, primary);
}

int
inst_bind(struct instance *in, char *list, size_t listlen)
{
	const struct cfg *c = &in->view;
	unsigned bound = 0;
	int fatal = 0;

	for (unsigned i = 0; i < c->nlisten; i++) {
		const struct cfg_listen *l = &c->listen[i];
		int r = srv_listen(in->srv, l);

		if (r == 0) {
			size_t n = strlen(list);
			snprintf(list + n, listlen - n, "%s%s%s%s",
			    n ? ", " : "", l->text, in->tier >= 0 ? " " : "",
			    in->tier >= 0 ? in->name : "");
			bound++;
		} else if (c->path == NULL &&
		    (r == -EAFNOSUPPORT || r == -EADDRNOTAVAIL)) {
			log_warn("cannot listen on %s: %s; skipped", l->text,
			    strerror(-r));
		} else {
			log_err(
			    "cannot listen on %s: %s", l->text, strerror(-r));
			fatal = 1;
		}
	}
	for (unsigned i = 0; in->tls != NULL && i < c->tls.nlisten; i++) {
		const struct cfg_listen *l = &c->tls.listen[i];
		int r = srv_listen_tls(in->srv, l, in->tls);

		if (r == 0) {
			size_t n = strlen(list);
			snprintf(list + n, listlen - n, "%s%s (tls)",
			    n ? ", " : "", l->text);
		} else {
			log_err("cannot listen on %s (tls): %s", l->text,
			    strerror(-r));
			fatal = 1;
		}
	}
	if (!fatal && bound == 0) {
		log_err("%s: no listen address could be bound", in->name);
		fatal = 1;
	}
	return fatal ? -1 : 0;
}

void
inst_reconfig(
    struct instance *in, const struct cfg *c, const struct worker_tables *tab)
{
	inst_view(&in->view, c, in->tier, in->member);
	srv_set_config(in->srv, &in->view);
	worker_set_config(&in->worker, &in->view, tab);
}

void
inst_close(struct instance *in)
{
	if (in->started)
		worker_close(&in->worker);
	if (in->srv != NULL)
		srv_close(in->srv);
}

int
inst_free(struct instance *in)
{
	int rc = 0;

	if (in->srv != NULL && srv_free(in->srv) < 0)
		rc = -EBUSY;
	if (in->own_caches) {
		cache_free(in->cache);
		infra_free(in->infra);
		flights_free(in->flights);
		nsec_cache_free(in->nsec);
		srv_shared_free(in->shared);
	}
	in->shared = NULL;
	in->nsec = NULL;
	in->srv = NULL;
	in->cache = NULL;
	in->infra = NULL;
	return rc;
}
