/**
 * @file main.c
 * resolverd: parse argv, load the configuration, bind the listeners, drop
 * privileges, handle signals (TERM/INT stop, HUP reloads) and run the loop.
 *
 * Exit status: 0 after a clean stop (or a good --check), 1 when the daemon
 * cannot run (a listener cannot be bound, privileges cannot be dropped, the
 * loop does not close cleanly), 2 for a usage or configuration error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "config/config.h"
#include "resolver/control.h"
#include "resolver/deleg.h"
#include "resolver/dump.h"
#include "resolver/holder.h"
#include "resolver/http.h"
#include "resolver/log.h"
#include "resolver/notify.h"
#include "resolver/server.h"
#include "resolver/instance.h"
#include "resolver/pool.h"
#include "resolver/tls.h"
#include "resolver/worker.h"

#ifndef RESOLVERD_VERSION
#define RESOLVERD_VERSION "0.1.0"
#endif

#define EXIT_RUN    1
#define EXIT_CONFIG 2

/** The daemon: the loop, the live configuration and the server. */
struct daemon {
	uv_loop_t loop;
	uv_signal_t sigterm, sigint, sighup; /* .data = this */
	const char *path;          /* -c argument (argv), NULL: defaults */
	struct cfg *cfg;           /* owned; the live configuration */
	struct worker_tables *tab; /* owned; root hints and trust
	                              anchors of cfg */
	struct instance *inst;     /* owned: one, or one per tier instance */
	unsigned ninst;
	struct pool pool;    /* the other worker threads */
	struct ctl *ctl;     /* owned; the control socket, or NULL */
	struct http *http;   /* owned; the HTTP listener, or NULL */
	struct tls_ctx *tls; /* owned; DNS over TLS, or NULL: none */
	/* configurations and hints replaced by reloads: pool threads may
	 * still read them, so they live until the threads have stopped */
	const char *root; /* cfg->chroot at start (owned copy), or NULL:
	                     files opened later are seen from inside it */
	char *bound;      /* owned: the addresses bound at start, as
	                     listen_text() writes them */
	struct cfg **old_cfg;
	struct worker_tables **old_tab;
	unsigned nold;
};

static void usage(FILE *out);
static void startup_error(const struct cfg *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int drop_privileges(const struct cfg *c, const char *root);
static char *listen_text(const struct cfg *c);
static bool str_changed(const char *a, const char *b);
static bool tiers_same(const struct cfg *a, const struct cfg *b);
static bool retire(struct daemon *d);
static void retire_free(struct daemon *d);
static void on_stop(uv_signal_t *h, int signum);
static void on_reload(uv_signal_t *h, int signum);
static void reload(struct daemon *d);
static int check_alone(const struct cfg *c);
static bool http_listen_changed(const struct cfg *a, const struct cfg *b);
static int start_signals(struct daemon *d);
static int run(struct daemon *d);
static int load_tables(const struct cfg *c, const char *root,
    struct worker_tables *t, char *err, size_t errlen);
static void free_tables(struct worker_tables *t);
static void start_control(struct daemon *d);
static void persist_load(struct daemon *d);
static void persist_save(struct daemon *d);

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: resolverd [-c FILE] [--check]\n"
	    "  -c, --config FILE  configuration file (default: built-in)\n"
	    "      --check        validate the configuration, print it, exit\n"
	    "  -h, --help         this help\n"
	    "  -V, --version      print the version\n");
}

/* A start-up failure goes to the log and, when the log is not stderr, to
 * stderr too, so whoever started the daemon sees it. */
static void
startup_error(const struct cfg *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_err("%s", msg);
	if (c->log.dest != NULL && strcmp(c->log.dest, "stderr") != 0)
		fprintf(stderr, "resolverd: %s\n", msg);
}

/*
 * Bind every `listen` address. With the built-in defaults, an address whose
 * family is not available here (no IPv6, say) is only a warning as long as
 * another one works; every other failure is fatal. @p list receives the
 * bound addresses, comma-separated. @return 0 or -1.
 */

/*
 * chroot (when configured), then setgroups, setresgid, setresuid to
 * cfg->user; fail closed. The user is looked up before the chroot: the
 * password database is not reachable inside it.
 */
static int
drop_privileges(const struct cfg *c, const char *root)
{
	struct passwd *pw = NULL;
	uid_t uid = 0;
	gid_t gid = 0;

	if (c->user != NULL) {
		errno = 0;
		pw = getpwnam(c->user);
		if (pw == NULL) {
			startup_error(c, "user %s: %s", c->user,
			    errno ? strerror(errno) : "no such user");
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (root != NULL) {
		if (chroot(root) < 0 || chdir("/") < 0) {
			startup_error(
			    c, "chroot %s: %s", root, strerror(errno));
			return -1;
		}
		log_info("chrooted to %s", root);
	}
	if (c->user == NULL)
		return 0;
	if (getuid() == uid && geteuid() == uid && getgid() == gid &&
	    getegid() == gid)
		return 0;
	if (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0) {
		startup_error(c, "cannot drop privileges to %s: %s", c->user,
		    strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		startup_error(c,
		    "privileges could be regained after switching to %s",
		    c->user);
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", c->user, (unsigned)uid,
	    (unsigned)gid);
	return 0;
}

/* The listen addresses of instance @p i of @p c (each tier instance's,
 * with tiers) into @p out. @return how many. */
static unsigned
inst_listen(const struct cfg *c, unsigned i, struct cfg_listen *out)
{
	if (c->ntiers == 0) {
		memcpy(out, c->listen, sizeof(c->listen[0]) * c->nlisten);
		return c->nlisten;
	}
	for (unsigned t = 0; t < c->ntiers; t++) {
		if (i < c->tiers[t].count)
			return cfg_tier_listen(c, t, i, out);
		i -= c->tiers[t].count;
	}
	return 0;
}

/* Every address @p c listens on, as text (malloc'd; NULL when out of
 * memory). */
static char *
listen_text(const struct cfg *c)
{
	struct cfg_listen l[CFG_MAX_LISTEN];
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (f == NULL)
		return NULL;
	for (unsigned i = 0; i < cfg_ninstances(c); i++) {
		unsigned nl = inst_listen(c, i, l);
		for (unsigned k = 0; k < nl; k++)
			fprintf(f, "%s ", l[k].text);
	}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* The same tiers, by name, number, count and fanout: the same instances
 * asking the same ones (their other settings may change). */
static bool
tiers_same(const struct cfg *a, const struct cfg *b)
{
	if (a->ntiers != b->ntiers)
		return false;
	for (unsigned i = 0; i < a->ntiers; i++)
		if (strcmp(a->tiers[i].name, b->tiers[i].name) != 0 ||
		    a->tiers[i].count != b->tiers[i].count ||
		    a->tiers[i].fanout != b->tiers[i].fanout)
			return false;
	return true;
}

/* Keep the live config and hints for later freeing (retire_free): worker
 * threads may still be reading them. @return false if out of memory. */
static bool
retire(struct daemon *d)
{
	struct cfg **c = realloc(d->old_cfg, (d->nold + 1) * sizeof(*c));
	struct worker_tables **h;

	if (c == NULL)
		return false;
	d->old_cfg = c;
	h = realloc(d->old_tab, (d->nold + 1) * sizeof(*h));
	if (h == NULL)
		return false;
	d->old_tab = h;
	d->old_cfg[d->nold] = d->cfg;
	d->old_tab[d->nold] = d->tab;
	d->nold++;
	return true;
}

static void
retire_free(struct daemon *d)
{
	for (unsigned i = 0; i < d->nold; i++) {
		cfg_free(d->old_cfg[i]);
		free(d->old_cfg[i]);
		free_tables(d->old_tab[i]);
	}
	free(d->old_cfg);
	free(d->old_tab);
	d->old_cfg = NULL;
	d->old_tab = NULL;
	d->nold = 0;
}

static bool
str_changed(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a != b;
	return strcmp(a, b) != 0;
}

/* SIGTERM, SIGINT: close every handle; uv_run then returns. */
static void
on_stop(uv_signal_t *h, int signum)
{
	struct daemon *d = h->data;

	log_info("stopping (signal %s)", signum == SIGINT ? "INT" : "TERM");
	notify_send("STOPPING=1");
	http_stop(d->http); /* it reads the workers' counters */
	ctl_close(d->ctl);
	for (unsigned i = 0; i < d->ninst; i++)
		inst_close(&d->inst[i]);
	if (pool_stop(&d->pool) < 0)
		log_err("a worker thread did not stop cleanly");
	uv_close((uv_handle_t *)&d->sigterm, NULL);
	uv_close((uv_handle_t *)&d->sigint, NULL);
	uv_close((uv_handle_t *)&d->sighup, NULL);
}

/*
 * SIGHUP: load the same file into a new struct; on error keep the old one,
 * on success swap it in. What needs a restart (listen, user, workers) is
 * only warned about.
 */
static void
on_reload(uv_signal_t *h, int signum)
{
	(void)signum;
	/* systemd (Type=notify) waits for READY=1 after RELOADING=1, which
	 * is sent whatever the reload's outcome */
	notify_reloading();
	reload(h->data);
	notify_send("READY=1");
}

static bool
http_listen_changed(const struct cfg *a, const struct cfg *b)
{
	if (a->http.nlisten != b->http.nlisten)
		return true;
	for (unsigned i = 0; i < a->http.nlisten; i++)
		if (strcmp(a->http.listen[i].text, b->http.listen[i].text))
			return true;
	return false;
}

static bool
tls_listen_changed(const struct cfg *a, const struct cfg *b)
{
	if (a->tls.nlisten != b->tls.nlisten)
		return true;
	for (unsigned i = 0; i < a->tls.nlisten; i++)
		if (strcmp(a->tls.listen[i].text, b->tls.listen[i].text))
			return true;
	return false;
}

/* SIGHUP reloads the certificate and key (a renewed pair); a pair that
 * does not load leaves the one in use. */
static void
reload_tls(struct daemon *d, const struct cfg *n)
{
	char err[1024];

	if (tls_listen_changed(d->cfg, n))
		log_warn("reload: tls.listen changed; it takes effect after "
		         "a restart");
	if (d->tls == NULL || n->tls.nlisten == 0)
		return;
	err[0] = '\0';
	if (tls_ctx_reload(d->tls, n, d->root, err, sizeof(err)) < 0)
		log_err("reload: %s; keeping the TLS certificate and key in "
		        "use",
		    err);
	else
		log_info("reload: TLS certificate %s and key %s loaded",
		    n->tls.cert, n->tls.key);
}

static void
reload(struct daemon *d)
{
	struct cfg *n;
	struct worker_tables *tab;
	char err[512];
	int r;

	if (d->path == NULL) {
		log_info("reload: running on built-in defaults, nothing to "
		         "reload");
		return;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		log_err("reload: out of memory; keeping the old configuration");
		return;
	}
	err[0] = '\0';
	/* the same file, seen from inside the chroot if there is one */
	r = cfg_reload(d->cfg, d->root, n, err, sizeof(err));
	if (r < 0) {
		log_err("reload failed, keeping the old configuration: %s",
		    err[0] ? err : strerror(-r));
		cfg_free(n);
		free(n);
		return;
	}
	tab = calloc(1, sizeof(*tab));
	if (tab == NULL || load_tables(n, d->root, tab, err, sizeof(err)) < 0) {
		log_err("reload failed, keeping the old configuration: %s",
		    tab ? err : "out of memory");
		free_tables(tab);
		cfg_free(n);
		free(n);
		return;
	}
	if (!tiers_same(d->cfg, n) || !retire(d)) {
		log_err("reload: %s; keeping the old configuration",
		    tiers_same(d->cfg, n)
		        ? "out of memory"
		        : "the tiers "
		          "changed (names, number, count or fanout), which "
		          "takes a restart");
		free_tables(tab);
		cfg_free(n);
		free(n);
		return;
	}
	char *now_text = listen_text(n);
	if (now_text == NULL || d->bound == NULL ||
	    strcmp(now_text, d->bound) != 0)
		log_warn("reload: listen addresses changed; they take effect "
		         "after a restart");
	free(now_text);
	if (str_changed(d->root, n->chroot))
		log_warn("reload: chroot changed; it takes effect after a "
		         "restart");
	if (str_changed(d->cfg->user, n->user))
		log_warn("reload: user changed; it takes effect after a "
		         "restart");
	if (d->cfg->workers != n->workers)
		log_warn("reload: workers changed; it takes effect after a "
		         "restart");
	if (http_listen_changed(d->cfg, n))
		log_warn("reload: http.listen changed; it takes effect after "
		         "a restart");
	reload_tls(d, n);
	r = log_open(n, d->root);
	if (r < 0)
		log_warn("reload: cannot open log %s: %s; logging stays as "
		         "it was",
		    n->log.dest, strerror(-r));
	for (unsigned i = 0; i < d->ninst; i++)
		inst_reconfig(&d->inst[i], n, tab);
	pool_reconfig(&d->pool, n, tab);
	http_set_config(d->http, n);
	/* the old ones were retired above */
	d->tab = tab;
	d->cfg = n;
	log_info("reloaded configuration from %s", d->path);
}

/* The root hints of @p c (its file, or the built-in IANA servers) and,
 * with dnssec.validation, its trust anchors (its files, or the built-in
 * root KSKs) and negative trust anchors. Files are seen from inside
 * @p root after a chroot. */
static int
load_tables(const struct cfg *c, const char *root, struct worker_tables *t,
    char *err, size_t errlen)
{
	const char *path;
	int r;

	memset(t, 0, sizeof(*t));
	if (c->root_hints == NULL) {
		deleg_hints_builtin(&t->hints);
	} else {
		path = cfg_path_in_root(root, c->root_hints);
		if (path == NULL) {
			snprintf(err, errlen,
			    "root_hints: %s: outside chroot %s", c->root_hints,
			    root);
			return -EINVAL;
		}
		r = deleg_hints_load(&t->hints, path, err, errlen);
		if (r < 0)
			return r;
	}
	if (!c->dnssec.validation)
		return 0;
	t->anchors = ta_new();
	if (t->anchors == NULL)
		return -ENOMEM;
	if (c->dnssec.ntrust_anchors == 0 &&
	    (r = ta_add_builtin(t->anchors)) < 0)
		return r;
	for (unsigned i = 0; i < c->dnssec.ntrust_anchors; i++) {
		path = cfg_path_in_root(root, c->dnssec.trust_anchors[i]);
		if (path == NULL) {
			snprintf(err, errlen,
			    "dnssec.trust_anchors: %s: outside chroot %s",
			    c->dnssec.trust_anchors[i], root);
			return -EINVAL;
		}
		r = ta_load_file(t->anchors, path, err, errlen);
		if (r < 0)
			return r;
	}
	for (unsigned i = 0; i < c->dnssec.nnegative_trust_anchors; i++) {
		uint8_t zone[LIM_NAME_MAX];
		if (dns_name_from_text(
		        zone, c->dnssec.negative_trust_anchors[i]) == 0 ||
		    ta_add_negative(t->anchors, zone) < 0) {
			snprintf(err, errlen,
			    "negative trust anchor %s: bad name",
			    c->dnssec.negative_trust_anchors[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static void
free_tables(struct worker_tables *t)
{
	if (t == NULL)
		return;
	ta_free(t->anchors);
	free(t);
}

static int
start_signals(struct daemon *d)
{
	int r;

	uv_signal_init(&d->loop, &d->sigterm);
	uv_signal_init(&d->loop, &d->sigint);
	uv_signal_init(&d->loop, &d->sighup);
	d->sigterm.data = d;
	d->sigint.data = d;
	d->sighup.data = d;
	r = uv_signal_start(&d->sigterm, on_stop, SIGTERM);
	if (r == 0)
		r = uv_signal_start(&d->sigint, on_stop, SIGINT);
	if (r == 0)
		r = uv_signal_start(&d->sighup, on_reload, SIGHUP);
	if (r < 0) {
		startup_error(d->cfg, "signals: %s", uv_strerror(r));
		uv_close((uv_handle_t *)&d->sigterm, NULL);
		uv_close((uv_handle_t *)&d->sigint, NULL);
		uv_close((uv_handle_t *)&d->sighup, NULL);
	}
	return r;
}

/*
 * One resolverd per address (resolver/holder.h): before anything is bound,
 * refuse to start when another process answers on the control socket or
 * holds a DNS or HTTP listen address. @return 0 or -1 (reported).
 */
static int
check_alone(const struct cfg *c)
{
	static const int types[2] = {SOCK_DGRAM, SOCK_STREAM};
	char who[160];

	if (c->control_socket != NULL &&
	    holder_of_unix(c->control_socket, who, sizeof(who)) == 1) {
		startup_error(c, "control socket %s: already in use by %s",
		    c->control_socket, who);
		return -1;
	}
	for (unsigned t = 0; t < cfg_ninstances(c); t++) {
		struct cfg_listen l[CFG_MAX_LISTEN];
		unsigned nl = inst_listen(c, t, l);

		for (unsigned i = 0; i < nl; i++)
			for (unsigned k = 0; k < 2; k++) {
				if (holder_probe(
				        &l[i], types[k], who, sizeof(who)) == 0)
					continue;
				startup_error(c,
				    "listen %s: already in use by %s%s",
				    l[i].text, who, k ? " (over TCP)" : "");
				return -1;
			}
	}
	for (unsigned i = 0; i < c->tls.nlisten; i++) {
		if (holder_probe(
		        &c->tls.listen[i], SOCK_STREAM, who, sizeof(who)) == 0)
			continue;
		startup_error(c, "tls.listen %s: already in use by %s",
		    c->tls.listen[i].text, who);
		return -1;
	}
	for (unsigned i = 0; i < c->http.nlisten; i++) {
		if (holder_probe(
		        &c->http.listen[i], SOCK_STREAM, who, sizeof(who)) == 0)
			continue;
		startup_error(c, "http.listen %s: already in use by %s",
		    c->http.listen[i].text, who);
		return -1;
	}
	return 0;
}

/* The control socket, for resolverctl. A failure is only a warning: the
 * daemon still answers DNS without it (but another daemon answering on
 * it stops this one before: check_alone()). */
static void
start_control(struct daemon *d)
{
	const struct cfg *c = d->cfg;

	/* the HTTP page asks the same commands, without the socket */
	if (c->control_socket == NULL && d->http == NULL)
		return;
	d->ctl = ctl_new(&d->loop, d->inst, d->ninst, &d->pool);
	if (d->ctl == NULL) {
		log_warn("control socket: out of memory; resolverctl will "
		         "not work");
		return;
	}
	if (d->http != NULL && http_set_control(d->http, &d->loop, d->ctl) < 0)
		log_warn("http: the page cannot ask the resolver (no "
		         "control); /metrics and /healthz work");
	if (c->control_socket != NULL &&
	    ctl_start(d->ctl, c->control_socket, c->control_mode,
	        c->control_owner ? c->control_owner : c->user) < 0)
		log_warn("resolverctl will not work (no control socket)");
}

struct persist {
	struct daemon *d;
	const char *path;
};

/* An entry labelled with a tier goes back to that tier; others (and those
 * of a tier no longer configured) to the first instance. */
static int
persist_store(void *arg, const struct cache_rrset_in *in, uint64_t stored_ms,
    const char *tier)
{
	struct persist *p = arg;
	struct instance *to = &p->d->inst[0];
	struct cache_rrset_in copy;

	for (unsigned i = 1; i < p->d->ninst && tier[0]; i++)
		if (strcmp(p->d->inst[i].name, tier) == 0)
			to = &p->d->inst[i];
	return cache_store(to->cache, inst_sec_view(to, in, &copy), stored_ms);
}

static void
persist_bad(void *arg, unsigned line, const char *msg)
{
	struct persist *p = arg;

	log_warn("cache.persist %s:%u: %s (skipped)", p->path, line, msg);
}

/* cache.persist: load the dump written at the last stop, each entry into
 * its tier's cache. A missing file is normal (first start). */
static void
persist_load(struct daemon *d)
{
	const char *path = d->cfg->cache.persist;
	struct persist arg = {d, path};
	struct dump_load_stats st;
	FILE *f;
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (path == NULL || d->ninst == 0)
		return;
	f = fopen(path, "r");
	if (f == NULL) {
		if (errno != ENOENT)
			log_warn("cache.persist %s: %s", path, strerror(errno));
		return;
	}
	for (;;) {
		if (len == cap) {
			char *p = realloc(buf, cap ? cap * 2 : 1 << 20);
			if (p == NULL)
				break;
			buf = p;
			cap = cap ? cap * 2 : 1 << 20;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	if (ferror(f) || buf == NULL) {
		log_warn("cache.persist %s: cannot read it", path);
	} else {
		if (dump_load(buf, len, worker_now(&d->inst[0].worker),
		        persist_store, persist_bad, &arg, &st) == 0)
			log_info("cache.persist %s: loaded %u entr%s, skipped "
			         "%u expired, %u bogus, %u bad line%s",
			    path, st.entries, st.entries == 1 ? "y" : "ies",
			    st.expired, st.bogus, st.bad, trace_s(st.bad));
	}
	fclose(f);
	free(buf);
}

struct save_arg {
	FILE *f;
	unsigned n;
	const char *tier; /* label, with tiers */
};

static int
save_cb(const struct cache_rrset_out *e, void *arg)
{
	struct save_arg *s = arg;

	if (dump_entry_text(s->f, e, s->tier) == 0)
		s->n++;
	return 0;
}

/* cache.persist: write every instance's cache (with tiers, each entry
 * labelled with its tier), atomically (a temporary file renamed over the
 * old dump). */
static void
persist_save(struct daemon *d)
{
	const char *path = d->cfg->cache.persist;
	char tmp[4096];
	struct save_arg s = {NULL, 0, NULL};
	uint64_t now;

	if (path == NULL || d->ninst == 0 || !d->inst[0].started)
		return;
	/* after a chroot the file is seen from inside it (the configuration
	 * refuses a cache.persist outside the chroot) */
	path = cfg_path_in_root(d->root, path);
	if (path == NULL)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	/* the cache says what this resolver's users asked: 0600 */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	s.f = fd < 0 ? NULL : fdopen(fd, "w");
	if (s.f == NULL) {
		log_warn("cache.persist %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	now = worker_now(&d->inst[0].worker);
	for (unsigned i = 0; i < d->ninst; i++) {
		if (!d->inst[i].started)
			continue;
		s.tier = d->ninst > 1 ? d->inst[i].name : NULL;
		dump_header(s.f, now, d->inst[i].name);
		cache_foreach(d->inst[i].cache, now, save_cb, &s);
	}
	if (fclose(s.f) != 0 || rename(tmp, path) < 0) {
		log_warn("cache.persist %s: %s", path, strerror(errno));
		unlink(tmp);
		return;
	}
	log_info("cache.persist %s: wrote %u entries", path, s.n);
}

/* Bind, drop privileges, run until stopped. @return the exit status. */
static int
run(struct daemon *d)
{
	/* "addr name, " per address bound */
	size_t listcap = (size_t)cfg_ninstances(d->cfg) * CFG_MAX_LISTEN *
	        (sizeof(d->cfg->listen[0].text) + CFG_INST_NAME_MAX + 4) +
	    1;
	char *list = calloc(1, listcap);
	int status = 0;
	int r;
	bool ok = true;

	r = uv_loop_init(&d->loop);
	if (r < 0) {
		startup_error(d->cfg, "event loop: %s", uv_strerror(r));
		free(list);
		return EXIT_RUN;
	}
	if (list == NULL) {
		startup_error(d->cfg, "out of memory");
		ok = false;
	}
	if (ok && check_alone(d->cfg) < 0)
		ok = false;
	/* one resolver, or one per instance of each cache tier */
	d->ninst = ok ? cfg_ninstances(d->cfg) : 0;
	d->inst = d->ninst ? calloc(d->ninst, sizeof(*d->inst)) : NULL;
	if (d->ninst && d->inst == NULL) {
		startup_error(d->cfg, "out of memory");
		d->ninst = 0;
		ok = false;
	}
	for (unsigned t = 0, i = 0; ok && i < d->ninst; t++) {
		unsigned members = d->cfg->ntiers ? d->cfg->tiers[t].count : 1;

		for (unsigned m = 0; ok && m < members; m++, i++) {
			if (inst_init(&d->inst[i], &d->loop, d->cfg,
			        d->cfg->ntiers ? (int)t : -1, m, d->tab) < 0) {
				startup_error(d->cfg, "%s: out of memory",
				    d->inst[i].name);
				d->ninst = i;
				ok = false;
			}
		}
	}
	/* clients reach the first instance over TLS (the browser tier's,
	 * with tiers) */
	if (ok && d->ninst > 0)
		d->inst[0].tls = d->tls;
	if (ok)
		persist_load(d);
	d->bound = listen_text(d->cfg);
	for (unsigned i = 0; i < d->ninst && ok; i++)
		if (inst_bind(&d->inst[i], list, listcap) < 0)
			ok = false;
	unsigned nworkers =
	    d->cfg->workers ? d->cfg->workers : uv_available_parallelism();
	if (ok && nworkers > 1 &&
	    pool_start(
	        &d->pool, nworkers - 1, d->cfg, d->tab, d->inst, d->ninst) < 0)
		ok = false;
	if (ok && d->cfg->http.nlisten > 0) {
		d->http =
		    http_new(d->inst, d->ninst, &d->pool, RESOLVERD_VERSION);
		if (d->http == NULL || http_bind(d->http, d->cfg) < 0) {
			startup_error(d->cfg, "%s",
			    d->http ? "cannot start the HTTP listener "
			              "(see above)"
			            : "http: out of memory");
			ok = false;
		}
	}
	if (ok)
		start_control(d);
	r = ok ? notify_open() : 0;
	if (r < 0)
		log_warn("NOTIFY_SOCKET: %s; systemd will not hear from "
		         "resolverd",
		    strerror(-r));
	/* Everything is bound; no thread reads a byte before this point. */
	if (!ok || drop_privileges(d->cfg, d->root) < 0 ||
	    start_signals(d) < 0) {
		status = EXIT_RUN;
		http_stop(d->http);
		ctl_close(d->ctl);
		for (unsigned i = 0; i < d->ninst; i++)
			inst_close(&d->inst[i]);
		pool_stop(&d->pool);
	} else {
		ctl_set_root(d->ctl, d->root);
		log_info("worker thread 0 serving as uid %u gid %u",
		    (unsigned)getuid(), (unsigned)getgid());
		pool_go(&d->pool);
		if (d->http != NULL && http_start(d->http) < 0) {
			/* like a listener that cannot be bound: stop */
			startup_error(d->cfg, "cannot start the HTTP listener");
			status = EXIT_RUN;
			uv_kill(getpid(), SIGTERM);
		} else {
			log_info("resolverd %s started: listening on %s (%u "
			         "worker%s)",
			    RESOLVERD_VERSION, list, nworkers,
			    nworkers > 1 ? "s" : "");
			notify_send("READY=1\nSTATUS=listening on %s", list);
		}
	}
	uv_run(&d->loop, UV_RUN_DEFAULT);
	if (status == 0)
		persist_save(d);
	http_free(d->http);
	d->http = NULL;
	ctl_free(d->ctl);
	d->ctl = NULL;
	for (unsigned i = 0; i < d->ninst; i++) {
		if (inst_free(&d->inst[i]) < 0) {
			log_err("requests or handles still open at exit");
			status = EXIT_RUN;
		}
	}
	free(d->inst);
	d->inst = NULL;
	d->ninst = 0;
	free(d->bound);
	d->bound = NULL;
	free(list);
	r = uv_loop_close(&d->loop);
	if (r < 0) {
		log_err("event loop did not close: %s", uv_strerror(r));
		status = EXIT_RUN;
	}
	return status;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon d = {0};
	bool check = false;
	char err[512];
	int ch, r, status;

	/* glibc gives the top of the heap back to the kernel as soon as 128
	 * KiB of it is free, and each cache miss frees about that much: the
	 * next one took it back, page by page (1.7 page faults and a brk
	 * pair per validated miss, a quarter of its CPU time). Keep up to 8
	 * MiB; the workers trim explicitly once a burst is over (on_trim). */
	mallopt(M_TRIM_THRESHOLD, 8 << 20);

	while ((ch = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			d.path = optarg;
			break;
		case 'C':
			check = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("resolverd %s\n", RESOLVERD_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_CONFIG;
	}

	d.cfg = calloc(1, sizeof(*d.cfg));
	if (d.cfg == NULL) {
		fprintf(stderr, "resolverd: out of memory\n");
		return EXIT_RUN;
	}
	err[0] = '\0';
	if (d.path != NULL)
		r = cfg_load(d.path, d.cfg, err, sizeof(err));
	else
		r = cfg_defaults(d.cfg);
	d.tab = calloc(1, sizeof(*d.tab));
	if (d.tab == NULL)
		r = -ENOMEM;
	if (r == 0)
		r = load_tables(d.cfg, NULL, d.tab, err, sizeof(err));
	/* what start-up would fail on (the user, owners, directories) is
	 * reported now, with its line, for --check and for a start alike */
	if (r == 0)
		r = cfg_check_system(d.cfg, err, sizeof(err));
	/* a certificate or key that does not load is a configuration error,
	 * for --check too */
	if (r == 0 && d.cfg->tls.nlisten > 0)
		r = tls_ctx_new(&d.tls, d.cfg, NULL, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "resolverd: %s\n", err[0] ? err : strerror(-r));
		cfg_free(d.cfg);
		free(d.cfg);
		free_tables(d.tab);
		return EXIT_CONFIG;
	}
	if (check) {
		cfg_print(stdout, d.cfg);
		tls_ctx_free(d.tls);
		cfg_free(d.cfg);
		free(d.cfg);
		free_tables(d.tab);
		return fflush(stdout) == 0 ? 0 : EXIT_RUN;
	}

	r = log_open(d.cfg, NULL);
	if (r == 0 && d.cfg->chroot != NULL &&
	    (d.root = strdup(d.cfg->chroot)) == NULL)
		r = -ENOMEM;
	if (r < 0) {
		fprintf(stderr, "resolverd: cannot open log %s: %s\n",
		    d.cfg->log.dest, strerror(-r));
		tls_ctx_free(d.tls);
		cfg_free(d.cfg);
		free(d.cfg);
		free_tables(d.tab);
		return EXIT_RUN;
	}
	signal(SIGPIPE, SIG_IGN);
	status = run(&d);
	if (status == 0)
		log_info("stopped");
	retire_free(&d);
	tls_ctx_free(d.tls); /* every thread has stopped */
	cfg_free(d.cfg);
	free(d.cfg);
	free_tables(d.tab);
	free((char *)d.root);
	notify_close();
	log_close();
	return status;
}
