/**
 * @file instance.h
 * One resolver in the process (libuv): its listeners (srv), its cache and
 * infra cache, its worker, and the configuration it sees. Without `tiers:`
 * the daemon runs one instance, "main", on the top-level settings; with
 * tiers it runs one per tier, each seeing the global configuration with
 * its own listen addresses and cache policy, and with everything forwarded
 * to the next tier (or resolved from the root, for the last).
 */
#ifndef RESOLVERD_INSTANCE_H
#define RESOLVERD_INSTANCE_H

#include <uv.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "config/config.h"
#include "resolver/deleg.h"
#include "resolver/server.h"
#include "resolver/tls.h"
#include "resolver/worker.h"

#define INST_MAX CFG_MAX_INSTANCES

struct instance {
	char name[CFG_INST_NAME_MAX]; /**< "main", the tier's name, or
	                                   "NAME-K" for member K - 1 of a
	                                   tier with count > 1 */
	char tier_name[CFG_NAME_MAX]; /**< "main", or the tier's name */
	int tier;                     /**< index in cfg->tiers, or -1 */
	unsigned member;              /**< 0-based, within the tier */
	unsigned index;               /**< among all the instances, in
	                                   cfg_tier_first() order: the same
	                                   on every worker thread */
	int up;              /**< index of the instance of the next tier it asks
	                          (the tree's parent, whatever `upstream` says), or -1
	                          when it walks from the root itself */
	struct cfg view;     /**< shallow copy of the global config with
	                          this instance's listen, cache and
	                          forwards; its pointers are the
	                          global config's (never freed here) */
	struct srv *srv;     /**< owned */
	struct cache *cache; /**< owned */
	struct infra *infra; /**< owned */
	struct flights *flights;   /**< owned: questions in flight across
	                                this instance's worker threads */
	struct nsec_cache *nsec;   /**< owned: secure NSEC records (RFC 8198),
	                                when validating; else NULL */
	struct srv_shared *shared; /**< owned: TCP client count, cookie
	                                secret, across the threads */
	struct worker worker;
	struct tls_ctx *tls; /**< borrowed; set: this instance serves
	                          `tls.listen` (the first one only) */
	bool started;        /**< worker_init done */
	bool own_caches;     /**< cache and infra are this one's */
};

/**
 * The view member @p member of tier @p tier (-1: no tiers) has of the
 * global config @p c: for a tier, the member's listen addresses
 * (cfg_tier_listen()), the tier's cache policy, and a forward zone "." to
 * its upstream (unless set, the first listen address of the member of the
 * next tier it asks, cfg_tier_parent(); the last tier iterates, with the
 * global forward_zones).
 */
void inst_view(
    struct cfg *view, const struct cfg *c, int tier, unsigned member);

/** A loaded cache entry (@p in) as instance @p in_ keeps it: unchanged
 *  when it validates; else every state is "insecure" (no AD from a
 *  resolver that does not validate). @return @p in or @p copy. */
const struct cache_rrset_in *inst_sec_view(const struct instance *in_,
    const struct cache_rrset_in *in, struct cache_rrset_in *copy);

/** Create the instance's server, caches and worker on @p loop (nothing is
 *  bound yet); the worker primes the root NS set. @return 0, or -ENOMEM. */
int inst_init(struct instance *in, uv_loop_t *loop, const struct cfg *c,
    int tier, unsigned member, const struct worker_tables *tab);

/** The same for another worker thread: its own server and worker on its
 *  own @p loop, sharing @p primary's cache and infra cache (which are
 *  thread-safe); it does not prime (the primary does, for all). */
int inst_init_shared(struct instance *in, uv_loop_t *loop, const struct cfg *c,
    const struct worker_tables *tab, const struct instance *primary);

/**
 * Bind every listen address of the view, and its `tls.listen` addresses
 * when in->tls is set. With the built-in defaults
 * (c->path NULL), an address whose family is unavailable is skipped with a
 * warning. Appends "addr, addr" to @p list. @return 0, or -1 after logging.
 */
int inst_bind(struct instance *in, char *list, size_t listlen);

/** Take a new global config (reload): recompute the view, pass it on. */
void inst_reconfig(
    struct instance *in, const struct cfg *c, const struct worker_tables *tab);

/** Stop serving: close the worker and the server. */
void inst_close(struct instance *in);

/** Free what the instance owns, after uv_run returned.
 *  @return 0, or -EBUSY if the server still had requests or handles. */
int inst_free(struct instance *in);

#endif
