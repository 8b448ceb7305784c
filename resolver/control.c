/*
 * control.c: the control socket; the protocol is in control.h.
 *
 * A connection reads its request (line, then for "load" the payload),
 * stops reading, and runs the command: on the loop for the quick ones
 * (stats, trace, reload), on the thread pool (uv_queue_work) for those that
 * walk the cache. Either way the answer is built in memory (open_memstream)
 * and written with one uv_write; when that completes the connection is
 * closed and freed in its close callback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <uv.h>

#include "resolver/control.h"
#include "resolver/dump.h"
#include "resolver/log.h"
#include "resolver/stats.h"

#define MAX_ARGS 16

enum job_kind {
	J_DUMP,
	J_INFRA,
	J_LOOKUP,
	J_FLUSH,
	J_LOAD
};
enum flush_what {
	FLUSH_NAME,
	FLUSH_ZONE,
	FLUSH_NEGATIVE,
	FLUSH_ALL
};

struct job {
	enum job_kind kind;
	struct instance *in; /* borrowed */
	uint64_t now_ms;
	bool json;
	struct dump_filter filter;
	uint16_t type; /* lookup, flush */
	enum flush_what flush;
	const char *payload; /* load: into conn->in */
	size_t payload_len;
	bool all;        /* dump, flush, lookup: every tier */
	bool tier_given; /* --tier was on the command line */
	int sel_tier;    /* --tier named a tier of several instances: its
	                    index (in is its first); else -1 */
	/* lookup: each tier's entries, rendered on the pool; the loop adds
	 * each tier's zone cut after them */
	char *part[INST_MAX];
	size_t part_len[INST_MAX];
};

/* trace with tiers: look into each tier's cache from the first asked, let
 * the last one walk from the root when none has the answer, then ask the
 * first, so that the answer travels up the chain as a client's would. */
struct tier_walk {
	bool on;
	unsigned from; /* index of the tier asked first */
	unsigned hit;  /* first tier holding it; ninst: none */
	int phase;     /* 1: the last tier walks, 2: the chain */
	/* the instances a question to `from` goes through: from, the one
	 * it asks, ..., the one that walks from the root */
	unsigned path[CFG_MAX_TIERS];
	unsigned npath;
	bool cold;
	uint8_t name[LIM_NAME_MAX];
	uint16_t type;
};

struct conn {
	uv_pipe_t pipe; /* .data = this */
	struct ctl *ctl;
	struct conn *next, **pprev; /* in ctl->conns */
	char *in;                   /* request, owned */
	size_t in_len, in_cap;
	size_t line_len; /* request line incl. '\n'; 0: not yet */
	size_t need;     /* load: total bytes expected in `in` */
	bool busy;       /* a job or a trace owns it */
	bool writing;
	bool closing;
	char *out; /* answer, owned (open_memstream) */
	size_t out_len;
	FILE *f; /* open on out while building */
	uv_write_t wr;
	uv_work_t work; /* .data = this */
	struct job job;
	char err[200];  /* job: error for the status line */
	char trace_fmt; /* 't' text, 'j' json, 'd' dot */
	struct tier_walk tw;
	/* a request from inside the daemon (ctl_request): no socket; the
	 * answer goes to done() instead */
	ctl_done_fn done;
	void *done_arg;
};

struct ctl {
	uv_loop_t *loop;
	uv_pipe_t server; /* .data = this */
	bool listening;
	bool closing;
	char *path;            /* owned; NULL until listening */
	const char *root;      /* borrowed: the chroot, or NULL */
	struct instance *inst; /* borrowed */
	unsigned ninst;
	struct pool *pool; /* borrowed or NULL */
	struct conn *conns;
	unsigned nconns;
};

static void on_conn_closed(uv_handle_t *h);
static struct instance *find_tier(struct ctl *ctl, const char *name);
static int find_tier_index(const struct ctl *ctl, const char *name);
static void conn_close(struct conn *c);
static int respond(struct conn *c, const char *error);

/* ------------------------------------------------------------ helpers */

static int
parse_name(const char *s, uint8_t out[LIM_NAME_MAX])
{
	return dns_name_from_text(out, s) ? 0 : -EINVAL;
}

static bool
open_out(struct conn *c)
{
	c->f = open_memstream(&c->out, &c->out_len);
	return c->f != NULL;
}

/* ------------------------------------------------------- connections */

static void
on_conn_closed(uv_handle_t *h)
{
	struct conn *c = h->data;

	if (c->f != NULL)
		fclose(c->f);
	free(c->out);
	free(c->in);
	free(c);
}

/* Put @p c (its ctl set) on the list of open connections. */
static void
link_conn(struct conn *c)
{
	struct ctl *ctl = c->ctl;

	c->next = ctl->conns;
	if (c->next != NULL)
		c->next->pprev = &c->next;
	c->pprev = &ctl->conns;
	ctl->conns = c;
	ctl->nconns++;
}

static void
unlink_conn(struct conn *c)
{
	if (c->pprev != NULL) {
		*c->pprev = c->next;
		if (c->next != NULL)
			c->next->pprev = c->pprev;
		c->pprev = NULL;
		c->ctl->nconns--;
	}
}

/* An in-daemon request is over: hand its answer (or @p error) over, free
 * it. */
static void
virt_finish(struct conn *c, const char *error)
{
	ctl_done_fn done = c->done;

	c->closing = true;
	unlink_conn(c);
	if (c->f != NULL && fclose(c->f) != 0 && error == NULL)
		error = "out of memory";
	c->f = NULL;
	c->done = NULL;
	done(c->done_arg, c->out ? c->out : "", c->out ? c->out_len : 0, error);
	free(c->out);
	free(c->in);
	free(c);
}

static void
conn_close(struct conn *c)
{
	if (c->closing)
		return;
	if (c->done != NULL) {
		virt_finish(c, "the request was closed before its answer");
		return;
	}
	c->closing = true;
	unlink_conn(c);
	uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
}

static void
on_written(uv_write_t *w, int status)
{
	struct conn *c = w->data;

	(void)status;
	c->writing = false;
	conn_close(c);
}

/* Finish the answer in c->f with the status line and write it all.
 * @return 0 (so that command handlers can end with "return respond()"). */
static int
respond(struct conn *c, const char *error)
{
	uv_buf_t b;
	int r;

	c->busy = false;
	if (c->done != NULL) {
		virt_finish(c, error);
		return 0;
	}
	if (c->ctl->closing && c->pprev == NULL) {
		conn_close(c);
		return 0;
	}
	if (c->f == NULL && !open_out(c)) {
		conn_close(c);
		return 0;
	}
	if (error != NULL)
		fprintf(c->f, CTL_PROTO " error %s\n", error);
	else
		fprintf(c->f, CTL_PROTO " ok\n");
	if (fclose(c->f) != 0) {
		c->f = NULL;
		conn_close(c);
		return 0;
	}
	c->f = NULL;
	b = uv_buf_init(c->out, (unsigned)c->out_len);
	c->wr.data = c;
	c->writing = true;
	r = uv_write(&c->wr, (uv_stream_t *)&c->pipe, &b, 1, on_written);
	if (r < 0) {
		c->writing = false;
		conn_close(c);
	}
	return 0;
}

/* ----------------------------------------------------------- thread pool */

struct walk {
	struct dump_snap snap;
	const struct dump_filter *f;
	uint16_t type; /* lookup: also CNAME and NXDOMAIN */
	bool lookup;
};

static bool
lookup_match(const struct walk *w, const struct cache_rrset_out *e)
{
	if (!dns_name_eq(e->owner, w->f->name))
		return false;
	return w->type == 0 || e->type == w->type || e->type == 5 ||
	    e->kind == CACHE_NXDOMAIN;
}

static int
snap_cb(const struct cache_rrset_out *e, void *arg)
{
	struct walk *w = arg;

	if (w->lookup ? !lookup_match(w, e) : !dump_match(w->f, e))
		return 0;
	return dump_snap_add(&w->snap, e) < 0 ? 1 : 0;
}

struct render {
	FILE *f;
	bool json;
	unsigned bad;
	const char *tier; /* label, with tiers */
};

static int
render_cb(const struct cache_rrset_out *e, void *arg)
{
	struct render *r = arg;
	int rc = r->json ? dump_entry_json(r->f, e, r->tier)
	                 : dump_entry_text(r->f, e, r->tier);

	if (rc < 0)
		r->bad++;
	return 0;
}

/* Entries and infra lines are labelled with their tier when there are
 * tiers. */
static const char *
tier_label(const struct conn *c, const struct instance *in)
{
	return c->ctl->ninst > 1 ? in->name : NULL;
}

/* Copy matching entries of @p in under the shard locks, render them
 * outside. */
static void
job_entries(struct conn *c, struct instance *in, bool lookup)
{
	struct job *j = &c->job;
	struct walk w = {.f = &j->filter, .type = j->type, .lookup = lookup};
	struct render r = {c->f, j->json, 0, tier_label(c, in)};

	cache_foreach(in->cache, j->now_ms, snap_cb, &w);
	if (w.snap.oom) {
		snprintf(c->err, sizeof(c->err),
		    "out of memory after %zu "
		    "entries",
		    w.snap.n);
		dump_snap_free(&w.snap);
		return;
	}
	if (!j->json)
		dump_header(c->f, j->now_ms, in->name);
	(void)dump_snap_sort(&w.snap); /* out of memory: as found */
	dump_snap_foreach(&w.snap, render_cb, &r);
	if (!j->json && !lookup)
		fprintf(c->f, ";; %zu entr%s\n", w.snap.n,
		    w.snap.n == 1 ? "y" : "ies");
	if (lookup && w.snap.n == 0 && !j->json)
		fprintf(c->f, ";; nothing cached for this name%s\n",
		    j->type ? " and type" : "");
	dump_snap_free(&w.snap);
}

/* dump --infra: every server of the infra cache, named after the NS name
 * the cache holds an address record of it for, sorted by that name. */
struct infra_row {
	struct infra_entry_out e;
	uint8_t name[LIM_NAME_MAX];
	bool named;
};

struct infra_walk {
	struct infra_row *row; /* owned */
	size_t n, cap;
	uint8_t (*ns)[LIM_NAME_MAX]; /* owned: NS targets in the cache */
	size_t nns, capns;
	bool oom;
};

static bool
grow_array(void **p, size_t *cap, size_t n, size_t size)
{
	void *np;
	size_t ncap;

	if (n < *cap)
		return true;
	ncap = *cap ? *cap * 2 : 64;
	np = realloc(*p, ncap * size);
	if (np == NULL)
		return false;
	*p = np;
	*cap = ncap;
	return true;
}

static int
infra_cb(const struct infra_entry_out *e, void *arg)
{
	struct infra_walk *iw = arg;

	if (!grow_array((void **)&iw->row, &iw->cap, iw->n, sizeof(*iw->row))) {
		iw->oom = true;
		return 1;
	}
	memset(&iw->row[iw->n], 0, sizeof(iw->row[0]));
	iw->row[iw->n++].e = *e;
	return 0;
}

/* Pass 1: the names NS records point at. */
static int
infra_ns_cb(const struct cache_rrset_out *e, void *arg)
{
	struct infra_walk *iw = arg;
	const uint8_t *p = e->rdata, *end = e->rdata + e->rdata_len;

	if (e->kind != CACHE_RRSET || e->type != DNS_T_NS)
		return 0;
	for (unsigned k = 0; k < e->nrr && p + 2 <= end; k++) {
		size_t l = dns_get16(p), nl = dns_name_len(p + 2, l);

		if (nl > 0 && nl <= LIM_NAME_MAX && p + 2 + l <= end &&
		    grow_array(
		        (void **)&iw->ns, &iw->capns, iw->nns, sizeof(*iw->ns)))
			memcpy(iw->ns[iw->nns++], p + 2, nl);
		p += 2 + l;
	}
	return 0;
}

/* Pass 2: A and AAAA records of those names, matched with the servers'
 * addresses; the first name in canonical order wins. */
static int
infra_addr_cb(const struct cache_rrset_out *e, void *arg)
{
	struct infra_walk *iw = arg;
	const uint8_t *p = e->rdata, *end = e->rdata + e->rdata_len;
	size_t alen = e->type == DNS_T_A ? 4 : 16;
	int fam = e->type == DNS_T_A ? AF_INET : AF_INET6;
	bool ns = false, checked = false;

	if (e->kind != CACHE_RRSET ||
	    (e->type != DNS_T_A && e->type != DNS_T_AAAA))
		return 0;
	for (unsigned k = 0; k < e->nrr && p + 2 <= end; k++) {
		size_t l = dns_get16(p);

		for (size_t r = 0; r < iw->n && l == alen; r++) {
			struct infra_row *row = &iw->row[r];

			if (row->e.family != fam ||
			    memcmp(row->e.addr, p + 2, alen) != 0)
				continue;
			if (!checked) {
				for (size_t i = 0; i < iw->nns && !ns; i++)
					ns = dns_name_eq(iw->ns[i], e->owner);
				checked = true;
			}
			if (ns &&
			    (!row->named ||
			        dns_name_cmp(e->owner, row->name) < 0)) {
				memcpy(row->name, e->owner,
				    dns_name_len(e->owner, LIM_NAME_MAX));
				row->named = true;
			}
		}
		p += 2 + l;
	}
	return 0;
}

static int
infra_row_cmp(const void *a, const void *b)
{
	const struct infra_row *x = a, *y = b;
	int c;

	if (x->named != y->named)
		return x->named ? -1 : 1;
	if (x->named && (c = dns_name_cmp(x->name, y->name)) != 0)
		return c;
	if (x->e.family != y->e.family)
		return x->e.family < y->e.family ? -1 : 1;
	return memcmp(x->e.addr, y->e.addr, sizeof(x->e.addr));
}

static void
job_infra(struct conn *c, struct instance *in)
{
	struct infra_walk iw = {0};
	const char *tier = tier_label(c, in);

	infra_foreach(in->infra, c->job.now_ms, infra_cb, &iw);
	if (iw.n > 0) {
		cache_foreach(in->cache, c->job.now_ms, infra_ns_cb, &iw);
		cache_foreach(in->cache, c->job.now_ms, infra_addr_cb, &iw);
		qsort(iw.row, iw.n, sizeof(*iw.row), infra_row_cmp);
	}
	for (size_t r = 0; r < iw.n; r++)
		dump_infra(c->f, &iw.row[r].e, c->job.now_ms, c->job.json, tier,
		    iw.row[r].named ? iw.row[r].name : NULL);
	if (iw.oom)
		snprintf(c->err, sizeof(c->err),
		    "out of memory after %zu servers", iw.n);
	free(iw.row);
	free(iw.ns);
}

/* ---- lookup: the chain of trust the cache holds ---------------------- */

/* One link of the chain: text "zone WHAT state (ttl N s): keys; why" or
 * a JSON object {"zone","what","state","ttl","keys":[...],"why"}. */
struct link {
	FILE *f;
	bool json, first;
	char zone[DNS_NAME_TEXT_MAX];
};

static void
link_begin(struct link *l, const char *what, const char *state, long ttl)
{
	if (l->json) {
		fputs(l->first ? "{\"zone\":" : ",{\"zone\":", l->f);
		trace_json_str(l->f, l->zone);
		fprintf(l->f, ",\"what\":\"%s\",\"state\":\"%s\"", what, state);
		if (ttl >= 0)
			fprintf(l->f, ",\"ttl\":%ld", ttl);
		fputs(",\"keys\":[", l->f);
	} else {
		fprintf(l->f, ";;   %-20s %-6s %s", l->zone, what, state);
		if (ttl >= 0)
			fprintf(l->f, " (ttl %ld s)", ttl);
	}
	l->first = false;
}

/* One key or DS: tag, algorithm, and the digest type (DS) or the KSK flag
 * (DNSKEY); @p k counts the keys written so far. */
static void
link_key(
    struct link *l, unsigned k, unsigned tag, unsigned alg, int digest, int ksk)
{
	if (l->json) {
		fprintf(
		    l->f, "%s{\"tag\":%u,\"alg\":%u", k ? "," : "", tag, alg);
		if (digest >= 0)
			fprintf(l->f, ",\"digest\":%d", digest);
		if (ksk >= 0)
			fprintf(l->f, ",\"ksk\":%s", ksk ? "true" : "false");
		fputc('}', l->f);
		return;
	}
	fprintf(l->f, "%s %u alg %u", k ? "," : ":", tag, alg);
	if (digest >= 0)
		fprintf(l->f, " digest %d", digest);
	if (ksk > 0)
		fputs(" KSK", l->f);
}

static void
link_end(struct link *l, const char *why)
{
	if (l->json) {
		fputc(']', l->f);
		if (why != NULL && why[0]) {
			fputs(",\"why\":", l->f);
			trace_json_str(l->f, why);
		}
		fputc('}', l->f);
	} else {
		if (why != NULL && why[0])
			fprintf(l->f, "; %s", why);
		fputc('\n', l->f);
	}
}

/* A configured (or the built-in) anchor at the zone. */
static void
link_anchor(struct link *l, const struct ta_anchor *a)
{
	unsigned k = 0;

	link_begin(l, "anchor", "trusted", -1);
	for (size_t i = 0; a->ds && i < ldns_rr_list_rr_count(a->ds); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(a->ds, i);

		if (ldns_rr_rd_count(rr) >= 3)
			link_key(l, k++,
			    ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)),
			    ldns_rdf2native_int8(ldns_rr_rdf(rr, 1)),
			    ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)), -1);
	}
	for (size_t i = 0; a->dnskey && i < ldns_rr_list_rr_count(a->dnskey);
	     i++) {
		const ldns_rr *rr = ldns_rr_list_rr(a->dnskey, i);

		if (ldns_rr_rd_count(rr) >= 3)
			link_key(l, k++, ldns_calc_keytag(rr),
			    ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)), -1,
			    ldns_rdf2native_int16(ldns_rr_rdf(rr, 0)) & 1);
	}
	link_end(l, NULL);
}

/* A cached DS or DNSKEY RRset, or the proof that the zone has no DS. */
static void
link_entry(struct link *l, const struct cache_rrset_out *e)
{
	const uint8_t *p = e->rdata, *end = e->rdata + e->rdata_len;
	const char *state = dump_sec_str(e->sec);
	unsigned k = 0;

	if (e->kind == CACHE_NODATA && e->type == DNS_T_DNSKEY) {
		link_begin(l, "no DNSKEY", state, e->ttl);
		link_end(l, e->why);
		return;
	}
	if (e->kind == CACHE_NODATA) {
		link_begin(l, "no DS", state, e->ttl);
		link_end(l,
		    e->why[0] ? e->why
		        : e->sec == CACHE_SEC_SECURE
		        ? "proven: the zone below is insecure"
		        : "the zone below is not signed");
		return;
	}
	link_begin(l, e->type == DNS_T_DS ? "DS" : "DNSKEY", state, e->ttl);
	for (unsigned i = 0; i < e->nrr && end - p >= 2; i++) {
		size_t len = dns_get16(p);
		const uint8_t *rd = p + 2;

		if ((size_t)(end - rd) < len || len < 4)
			break;
		if (e->type == DNS_T_DS)
			link_key(l, k++, dns_get16(rd), rd[2], rd[3], -1);
		else
			link_key(
			    l, k++, dns_key_tag(rd, len), rd[3], -1, rd[1] & 1);
		p = rd + len;
	}
	link_end(l, e->why);
}

/* For each zone from the root down to the name: the anchor configured
 * there, the DS and DNSKEY RRsets the cache holds (with their state), or
 * the cached proof that there is no DS; a negative trust anchor ends the
 * chain. Text lines, or (--json) ',"chain":[...]' inside the cut object. */
static void
job_chain(struct conn *c, struct instance *in)
{
	const struct ta_set *ta = in->worker.env.anchors;
	const uint8_t *name = c->job.filter.name;
	unsigned labels = dns_name_labels(name);
	struct link l = {.f = c->f, .json = c->job.json, .first = true};
	struct cache_rrset_out e;
	uint8_t *buf;
	const size_t cap = 65536;
	static const uint16_t types[] = {DNS_T_DS, DNS_T_DNSKEY};

	if (ta == NULL) {
		fputs(l.json ? ",\"chain\":null"
		             : ";; chain of trust: none, validation is off\n",
		    l.f);
		return;
	}
	if ((buf = malloc(cap)) == NULL)
		return;
	fputs(l.json ? ",\"chain\":[" : ";; chain of trust, from the root:\n",
	    l.f);
	for (unsigned keep = 0; keep <= labels; keep++) {
		const uint8_t *zone = dns_name_suffix(name, keep);
		const struct ta_anchor *a = ta_closest(ta, zone);

		dns_name_to_text(l.zone, sizeof(l.zone), zone);
		if (ta_is_negative(ta, zone)) {
			link_begin(&l, "NTA", "insecure", -1);
			link_end(&l, "a negative trust anchor: not validated");
			break;
		}
		if (a != NULL && dns_name_eq(a->zone, zone))
			link_anchor(&l, a);
		for (unsigned t = 0; t < 2; t++) {
			if (keep == 0 && types[t] == DNS_T_DS)
				continue;
			if (cache_get(in->cache, zone, types[t], 1,
			        c->job.now_ms, &e, buf, cap) == 1 &&
			    (e.kind == CACHE_RRSET || e.kind == CACHE_NODATA))
				link_entry(&l, &e);
		}
	}
	if (l.first && !l.json)
		fputs(";;   nothing cached and no anchor on the way\n", l.f);
	if (l.json)
		fputc(']', l.f);
	free(buf);
}

/* The zone cut a resolution of the name would start from, at tier @p in:
 * text comment lines, or (--json) one object:
 * {"cut":ZONE,"source":"cache"|"hints"|"forward","ttl":N,"listen":ADDR,
 *  "servers":[{"name":NS|null,"addrs":[ADDR...],"rtt_ms":[N|null...]}],
 *  "chain":[LINK...]|null} (with "tier" when there are tiers; the chain
 * of trust as job_chain writes it). */
static void
job_cut(struct conn *c, struct instance *in)
{
	struct job *j = &c->job;
	struct worker *w = &in->worker;
	const struct iter_forward *fw =
	    iter_find_forward(&w->env, j->filter.name);
	struct deleg *d = malloc(sizeof(*d));
	char zone[LIM_NAME_MAX * 4 + 2], ns[LIM_NAME_MAX * 4 + 2], a[64];
	bool tiers = c->ctl->ninst > 1, cached;

	if (d == NULL)
		return;
	if (fw != NULL) {
		*d = fw->cut;
		cached = false;
	} else {
		cached = deleg_from_cache(
		    d, in->cache, w->env.hints, j->filter.name, 1, j->now_ms);
	}
	dns_name_to_text(zone, sizeof(zone), d->zone);
	if (j->json) {
		fputs("{\"cut\":", c->f);
		trace_json_str(c->f, zone);
		fprintf(c->f, ",\"source\":\"%s\",\"ttl\":%" PRIu32,
		    fw           ? "forward"
		        : cached ? "cache"
		                 : "hints",
		    cached ? d->ttl : 0);
		if (tiers) {
			fputs(",\"tier\":", c->f);
			trace_json_str(c->f, in->name);
		}
		fputs(",\"listen\":", c->f);
		trace_json_str(
		    c->f, in->view.nlisten ? in->view.listen[0].text : "");
		fputs(",\"servers\":[", c->f);
	} else if (fw != NULL)
		fprintf(c->f,
		    ";; zone cut: %s (forward zone: asked with "
		    "recursion desired)\n",
		    zone);
	else if (cached)
		fprintf(c->f,
		    ";; zone cut: %s (from cache, NS ttl %" PRIu32 " s left)\n",
		    zone, d->ttl);
	else
		fprintf(c->f, ";; zone cut: %s (from the root hints)\n", zone);
	for (unsigned i = 0; i < d->nns; i++) {
		const struct deleg_ns *n = &d->ns[i];
		dns_name_to_text(ns, sizeof(ns), n->name);
		if (j->json) {
			fprintf(c->f, "%s{\"name\":", i ? "," : "");
			if (fw)
				fputs("null", c->f);
			else
				trace_json_str(c->f, ns);
			fputs(",\"addrs\":[", c->f);
		} else {
			fprintf(c->f, ";;   server %s", fw ? "-" : ns);
			if (n->naddr == 0)
				fprintf(c->f,
				    "  (no address cached: looked up first)");
		}
		for (unsigned k = 0; k < n->naddr; k++) {
			const struct deleg_addr *ad = &n->addr[k];
			struct infra_info inf;
			bool rtt, lame;
			size_t al;

			inet_ntop(ad->family, ad->ip, a, sizeof(a));
			al = strlen(a);
			if (ad->port && ad->port != 53)
				snprintf(
				    a + al, sizeof(a) - al, "@%u", ad->port);
			rtt = infra_get(in->infra, ad->ip, ad->family,
			          j->now_ms, &inf) == 1 &&
			    inf.srtt_ms;
			lame = infra_is_lame(
			    in->infra, ad->ip, ad->family, d->zone, j->now_ms);
			if (j->json) {
				fprintf(c->f, "%s\"%s\"", k ? "," : "", a);
				continue;
			}
			fprintf(c->f, "  %s", a);
			if (rtt)
				fprintf(
				    c->f, " (rtt %" PRIu32 " ms)", inf.srtt_ms);
			if (lame)
				fprintf(c->f, " (lame)");
		}
		fputs(j->json ? "]}" : "\n", c->f);
	}
	if (j->json)
		fputc(']', c->f);
	job_chain(c, in);
	if (j->json)
		fputs("}\n", c->f);
	free(d);
}

struct load_ctx {
	struct conn *c;
	unsigned reported;
	unsigned *count; /* entries stored, per instance */
};

/* An entry labelled tier=NAME goes to that instance (a tier's name: its
 * first) unless --tier chose one; the rest to the chosen (or first)
 * instance. */
static int
load_store(void *arg, const struct cache_rrset_in *in, uint64_t stored_ms,
    const char *tier)
{
	struct load_ctx *l = arg;
	struct ctl *ctl = l->c->ctl;
	struct instance *to = NULL;
	struct cache_rrset_in copy;
	int rc;

	if (tier[0] && !l->c->job.tier_given) {
		to = find_tier(ctl, tier);
		if (to == NULL && find_tier_index(ctl, tier) >= 0) {
			int t = find_tier_index(ctl, tier);
			for (unsigned i = 0; i < ctl->ninst && to == NULL; i++)
				if (ctl->inst[i].tier == t)
					to = &ctl->inst[i];
		}
	}
	if (to == NULL)
		to = l->c->job.in;
	rc = cache_store(to->cache, inst_sec_view(to, in, &copy), stored_ms);
	if (rc > 0)
		l->count[to - ctl->inst]++;
	return rc;
}

static void
load_bad(void *arg, unsigned line, const char *msg)
{
	struct load_ctx *l = arg;

	if (l->reported++ < 100)
		fprintf(l->c->f, "line %u: %s (skipped)\n", line, msg);
}

static void
job_load(struct conn *c)
{
	struct load_ctx l = {c, 0, NULL};
	struct dump_load_stats st;
	size_t intocap = (size_t)c->ctl->ninst * (CFG_INST_NAME_MAX + 16) + 1;
	char *into = calloc(1, intocap);
	size_t n = 0;

	l.count = calloc(c->ctl->ninst, sizeof(*l.count));
	if (into == NULL || l.count == NULL ||
	    dump_load(c->job.payload, c->job.payload_len, c->job.now_ms,
	        load_store, load_bad, &l, &st) < 0) {
		snprintf(c->err, sizeof(c->err), "out of memory");
		free(into);
		free(l.count);
		return;
	}
	for (unsigned i = 0; i < c->ctl->ninst && n < intocap; i++) {
		if (c->ctl->ninst == 1)
			n += (size_t)snprintf(
			    into + n, intocap - n, "%s", c->ctl->inst[i].name);
		else if (l.count[i] > 0 || &c->ctl->inst[i] == c->job.in)
			n += (size_t)snprintf(into + n, intocap - n,
			    "%s%s (%u)", n ? ", " : "", c->ctl->inst[i].name,
			    l.count[i]);
	}
	fprintf(c->f,
	    "loaded %u entr%s (%u record%s) into %s; skipped %u "
	    "expired, %u bogus, %u refused by the cache, %u bad line%s\n",
	    st.entries, st.entries == 1 ? "y" : "ies", st.records,
	    trace_s(st.records), into, st.expired, st.bogus, st.refused, st.bad,
	    trace_s(st.bad));
	free(into);
	free(l.count);
	if (st.bad)
		snprintf(c->err, sizeof(c->err),
		    "%u bad line%s skipped "
		    "(reported above); the rest was loaded",
		    st.bad, trace_s(st.bad));
}

/* Flush instance @p in's cache as @p j says, and the secure NSEC records
 * (aggressive use, RFC 8198) that could deny what was flushed: at, under
 * and covering the name or zone; all of them for negative answers and for
 * everything. @return cache entries removed. */
static size_t
flush_one(const struct job *j, const struct instance *in)
{
	struct cache *cache = in->cache;

	if (in->nsec != NULL &&
	    (j->flush == FLUSH_NAME || j->flush == FLUSH_ZONE))
		nsec_cache_flush_zone(in->nsec, j->filter.name);
	else if (in->nsec != NULL)
		nsec_cache_flush_all(in->nsec);
	switch (j->flush) {
	case FLUSH_NAME:
		return cache_flush_name(cache, j->filter.name, j->type);
	case FLUSH_ZONE:
		return cache_flush_zone(cache, j->filter.name);
	case FLUSH_NEGATIVE:
		return cache_flush_negative(cache);
	case FLUSH_ALL:
		break;
	}
	return cache_flush_all(cache);
}

/* One instance (or the only one): "removed N entries". A tier of
 * several: "removed N entries from NAME (K instances)". Every tier: the
 * total, then each tier's share (summed over its instances). */
static void
job_flush(struct conn *c)
{
	struct job *j = &c->job;
	struct ctl *ctl = c->ctl;
	size_t n = 0, each[CFG_MAX_TIERS] = {0};
	const char *names[CFG_MAX_TIERS] = {NULL};
	unsigned ntiers = 0, members = 0;

	if (!j->all && j->sel_tier < 0) {
		n = flush_one(j, j->in);
		fprintf(c->f, "removed %zu entr%s", n, n == 1 ? "y" : "ies");
		if (ctl->ninst > 1)
			fprintf(c->f, " from %s", j->in->name);
		fputc('\n', c->f);
		return;
	}
	for (unsigned i = 0; i < ctl->ninst; i++) {
		const struct instance *in = &ctl->inst[i];
		unsigned t = in->tier < 0 ? 0 : (unsigned)in->tier;
		size_t k;

		if (j->sel_tier >= 0 && in->tier != j->sel_tier)
			continue;
		k = in->started ? flush_one(j, in) : 0;
		if (t >= CFG_MAX_TIERS)
			continue;
		names[t] = in->tier_name;
		ntiers = t + 1 > ntiers ? t + 1 : ntiers;
		each[t] += k;
		n += k;
		members++;
	}
	if (j->sel_tier >= 0) {
		fprintf(c->f, "removed %zu entr%s from %s (%u instances)\n", n,
		    n == 1 ? "y" : "ies", j->in->tier_name, members);
		return;
	}
	fprintf(c->f, "removed %zu entr%s:", n, n == 1 ? "y" : "ies");
	for (unsigned t = 0; t < ntiers; t++)
		if (names[t] != NULL)
			fprintf(
			    c->f, "%s %s %zu", t ? "," : "", names[t], each[t]);
	fputc('\n', c->f);
}

/* Does the job act on instance @p in: every one, its tier, or just it? */
static bool
job_on(const struct job *j, const struct instance *in)
{
	return j->all || in == j->in ||
	    (j->sel_tier >= 0 && in->tier == j->sel_tier);
}

static void
on_work(uv_work_t *w)
{
	struct conn *c = w->data;
	struct ctl *ctl = c->ctl;

	switch (c->job.kind) {
	case J_DUMP:
		for (unsigned i = 0; i < ctl->ninst && c->err[0] == '\0'; i++)
			if (ctl->inst[i].started &&
			    job_on(&c->job, &ctl->inst[i]))
				job_entries(c, &ctl->inst[i], false);
		break;
	case J_INFRA:
		for (unsigned i = 0; i < ctl->ninst; i++) {
			struct instance *in = &ctl->inst[i];

			if (in->started && job_on(&c->job, in))
				job_infra(c, in);
		}
		break;
	case J_LOOKUP: {
		/* each tier apart: the cut is added after it on the loop */
		FILE *f = c->f;

		for (unsigned i = 0; i < ctl->ninst && c->err[0] == '\0'; i++) {
			struct instance *in = &ctl->inst[i];

			if (!in->started || !job_on(&c->job, in))
				continue;
			c->f = open_memstream(
			    &c->job.part[i], &c->job.part_len[i]);
			if (c->f == NULL) {
				snprintf(
				    c->err, sizeof(c->err), "out of memory");
				break;
			}
			job_entries(c, in, true);
			fclose(c->f);
		}
		c->f = f;
		break;
	}
	case J_FLUSH:
		job_flush(c);
		break;
	case J_LOAD:
		job_load(c);
		break;
	}
}

static void
on_work_done(uv_work_t *w, int status)
{
	struct conn *c = w->data;

	if (status < 0 && c->err[0] == '\0')
		snprintf(c->err, sizeof(c->err), "cancelled");
	/* on the loop: the worker's forwards and hints change on reload */
	for (unsigned i = 0; c->job.kind == J_LOOKUP && i < c->ctl->ninst;
	     i++) {
		if (c->job.part[i] == NULL)
			continue;
		if (status == 0 && c->f != NULL) {
			fwrite(c->job.part[i], 1, c->job.part_len[i], c->f);
			job_cut(c, &c->ctl->inst[i]);
		}
		free(c->job.part[i]);
		c->job.part[i] = NULL;
	}
	respond(c, c->err[0] ? c->err : NULL);
}

static int
queue_job(struct conn *c)
{
	int r;

	c->busy = true;
	c->work.data = c;
	r = uv_queue_work(c->ctl->loop, &c->work, on_work, on_work_done);
	if (r < 0)
		return respond(c, uv_strerror(r));
	return 0;
}

/* ---------------------------------------------------------- statistics */

#define STAT_ROWS 96

struct stat_row {
	const char *name;
	uint64_t v;
};

/* The counters of instance @p in (all its worker threads). @return rows. */
static unsigned
stat_rows(struct ctl *ctl, struct instance *in, struct stat_row *rows)
{
	struct stats_sums s;
	struct cache_stats cs;
	struct infra_stats is;
	struct nsec_cache_stats ns = {0};
	unsigned n = 0;

	stats_sum(&s, in, ctl->pool);
	cache_stats(in->cache, &cs);
	infra_stats(in->infra, &is);
	if (in->nsec != NULL)
		nsec_cache_stats(in->nsec, &ns);
#define ROW(n_, v_)                  \
	do {                         \
		rows[n].name = (n_); \
		rows[n].v = (v_);    \
		n++;                 \
	} while (0)
	/* every query read, whether the wire check answered it or not */
	ROW("queries",
	    s.srv.udp_queries + s.srv.tcp_queries + s.srv.tls_queries);
	ROW("queries.udp", s.srv.udp_queries);
	ROW("queries.tcp", s.srv.tcp_queries);
	ROW("queries.tls", s.srv.tls_queries);
	/* the workers' counters, named in worker.h */
#define WROW(f_, n_) ROW(n_, s.w.f_);
	WORKER_STATS(WROW)
#undef WROW
	ROW("upstream.queries", s.up.udp_sent + s.up.tcp_sent);
	ROW("upstream.forwarded", s.up.forwarded);
	ROW("upstream.udp", s.up.udp_sent);
	ROW("upstream.tcp_fallbacks", s.up.tcp_sent);
	ROW("upstream.timeouts", s.up.timeouts);
	ROW("upstream.errors", s.up.errors);
	for (unsigned i = 0; i < 6; i++) {
		static const char *const names[6] = {"answers.NOERROR",
		    "answers.FORMERR", "answers.SERVFAIL", "answers.NXDOMAIN",
		    "answers.NOTIMP", "answers.REFUSED"};
		ROW(names[i],
		    s.w.rcode[i] + (i == 1 ? s.srv.formerr : 0) +
		        (i == 4 ? s.srv.notimp : 0) +
		        (i == 5 ? s.srv.refused : 0));
	}
	ROW("dropped", s.srv.dropped);
	ROW("dropped.kernel", s.kernel_drops);
	ROW("cache.entries", cs.entries);
	ROW("cache.bytes", cs.bytes);
	ROW("cache.max_bytes", cs.max_bytes);
	ROW("cache.stores", cs.stores);
	ROW("cache.evictions", cs.evictions);
	ROW("cache.expiries", cs.expiries);
	ROW("infra.entries", is.entries);
	ROW("infra.timeouts", is.timeouts);
	ROW("infra.lame_marks", is.lame_marks);
	ROW("nsec.zones", ns.zones);
	ROW("nsec.records", ns.records);
	ROW("nsec.bytes", ns.bytes);
	ROW("tls.connections", s.srv.tls_accepted);
	ROW("tls.handshakes", s.srv.tls_handshakes);
	ROW("tls.resumed", s.srv.tls_resumed);
	ROW("tls.failed", s.srv.tls_failed);
	ROW("tls.handshake_timeouts", s.srv.tls_handshake_timeouts);
#undef ROW
	return n;
}

/* One instance, or one tier of several summed: "name value" lines, or
 * one JSON object. Every tier (the default with tiers): a table with a
 * column per tier (its instances summed), or a JSON object per tier and
 * line. With @p each, a column (object) per instance instead. */
static int
cmd_stats(struct conn *c, bool json, bool each)
{
	struct ctl *ctl = c->ctl;
	struct stat_row(*rows)[STAT_ROWS] = calloc(ctl->ninst, sizeof(*rows));
	const char **names = calloc(ctl->ninst, sizeof(*names));
	unsigned *members = calloc(ctl->ninst, sizeof(*members));
	int *tiers = calloc(ctl->ninst, sizeof(*tiers));
	unsigned ncol = 0, n = 0;

	if (rows == NULL || names == NULL || members == NULL || tiers == NULL) {
		free(rows);
		free(names);
		free(members);
		free(tiers);
		return respond(c, "out of memory");
	}
	for (unsigned i = 0; i < ctl->ninst; i++) {
		struct instance *x = &ctl->inst[i];
		struct stat_row r[STAT_ROWS];
		bool single = !c->job.all && c->job.sel_tier < 0;
		unsigned col;

		if (!job_on(&c->job, x))
			continue;
		n = stat_rows(ctl, x, r);
		if (each || single || ncol == 0 || x->tier < 0 ||
		    tiers[ncol - 1] != x->tier) {
			col = ncol++;
			memcpy(rows[col], r, sizeof(r[0]) * n);
			names[col] = each || single ? x->name : x->tier_name;
			tiers[col] = x->tier;
		} else {
			col = ncol - 1;
			for (unsigned k = 0; k < n; k++)
				rows[col][k].v += r[k].v;
		}
		members[col]++;
	}
	if (json) {
		for (unsigned t = 0; t < ncol; t++) {
			fprintf(c->f, "{\"tier\":\"%s\"", names[t]);
			if (members[t] > 1)
				fprintf(c->f, ",\"instances\":%u", members[t]);
			for (unsigned i = 0; i < n; i++)
				fprintf(c->f, ",\"%s\":%" PRIu64,
				    rows[t][i].name, rows[t][i].v);
			fprintf(c->f, "}\n");
		}
	} else if (ncol == 1) {
		for (unsigned i = 0; i < n; i++)
			fprintf(c->f, "%-26s %" PRIu64 "\n", rows[0][i].name,
			    rows[0][i].v);
	} else {
		fprintf(c->f, "%-26s", "");
		for (unsigned t = 0; t < ncol; t++)
			fprintf(c->f, " %12s", names[t]);
		fputc('\n', c->f);
		for (unsigned i = 0; i < n; i++) {
			fprintf(c->f, "%-26s", rows[0][i].name);
			for (unsigned t = 0; t < ncol; t++)
				fprintf(c->f, " %12" PRIu64, rows[t][i].v);
			fputc('\n', c->f);
		}
	}
	free(rows);
	free(names);
	free(members);
	free(tiers);
	respond(c, NULL);
	return 0;
}

/* ---------------------------------------------------------------- trace */

static void
print_result(FILE *f, const struct iter_result *res)
{
	fprintf(f, "result: %s", dns_rcode_str(res->rcode));
	if (res->failed || res->ede_code)
		fprintf(f, " (EDE %u: %s)", res->ede_code, res->reason);
	fprintf(f, ", %u answer record%s, %u authority record%s%s\n",
	    res->ancount, trace_s(res->ancount), res->nscount,
	    trace_s(res->nscount), res->secure ? ", secure (AD)" : "");
	/* each record follows its ITER_RR_* flags byte */
	for (size_t pos = 0; pos + 1 < res->rr_len;) {
		uint8_t flags = res->rr[pos++];
		ldns_rr *rr = NULL;
		char *s;

		if (ldns_wire2rr(&rr, res->rr, res->rr_len, &pos,
		        LDNS_SECTION_ANSWER) != LDNS_STATUS_OK)
			break;
		s = ldns_rr2str_fmt(ldns_output_format_nocomments, rr);
		if (s != NULL)
			fprintf(f, "  %s%s",
			    flags & ITER_RR_AUTHORITY ? "(authority) " : "", s);
		free(s);
		ldns_rr_free(rr);
	}
}

/* Print a finished trace in the chosen format; @p result adds the result
 * (text: the records; JSON: the summary line). */
static void
print_trace(struct conn *c, const struct iter_req *r, bool result)
{
	const struct trace *t = iter_trace(r);
	const struct iter_result *res = iter_result(r);
	uint64_t total;
	unsigned sends;

	trace_summary(t, &total, &sends);
	switch (c->trace_fmt) {
	case 'j':
		trace_print_json(c->f, t);
		fprintf(c->f,
		    "{\"summary\":true,\"rcode\":%u,\"failed\":%s,"
		    "\"ede\":%u,\"reason\":",
		    res->rcode, res->failed ? "true" : "false", res->ede_code);
		trace_json_str(c->f, res->failed ? res->reason : "");
		fprintf(c->f,
		    ",\"total_ms\":%" PRIu64 ",\"upstream_queries\""
		    ":%u,\"answers\":%u}\n",
		    total, sends, res->ancount);
		break;
	case 'd':
		trace_print_dot(c->f, t);
		break;
	default:
		trace_print_text(c->f, t);
		if (result)
			print_result(c->f, res);
		break;
	}
}

static void on_tier_trace(void *arg, const struct iter_req *r);

static void
on_trace(void *arg, const struct iter_req *r)
{
	struct conn *c = arg;

	if (c->f == NULL && !open_out(c)) {
		c->busy = false;
		conn_close(c);
		return;
	}
	if (c->tw.on) {
		on_tier_trace(c, r);
		return;
	}
	print_trace(c, r, true);
	respond(c, NULL);
}

/* ---------------------------------------------------------- tier trace */

/* What a tier's cache holds for the question, as a client would be
 * answered from it: the RRset, a CNAME, or a negative answer. */
struct peek {
	bool hit;
	const char *what; /* "answer", "CNAME", "NXDOMAIN", ... */
	uint32_t ttl, orig_ttl;
	uint64_t age_ms;
};

static void
peek_tier(
    struct instance *in, const uint8_t *name, uint16_t type, struct peek *p)
{
	/* the type asked, a CNAME at the name, the name's NXDOMAIN */
	const uint16_t types[3] = {type, 5, CACHE_TYPE_NXDOMAIN};
	static __thread uint8_t buf[65536];
	uint64_t now = worker_now(&in->worker);
	struct cache_rrset_out e;

	memset(p, 0, sizeof(*p));
	for (unsigned i = 0; i < 3 && !p->hit; i++) {
		if (cache_get(in->cache, name, types[i], 1, now, &e, buf,
		        sizeof(buf)) != 1 ||
		    e.rank < CACHE_RANK_ANSWER_MIN)
			continue;
		p->hit = true;
		p->what = e.kind == CACHE_NXDOMAIN ? "NXDOMAIN"
		    : e.kind == CACHE_NODATA       ? "NODATA"
		    : i == 1                       ? "CNAME"
		                                   : "answer";
		p->ttl = e.ttl;
		p->orig_ttl = e.orig_ttl;
		p->age_ms = now > e.stored_ms ? now - e.stored_ms : 0;
	}
}

/* The address step @p k of the path forwards to when it is not the next
 * step, an instance of this daemon (a dnsmasq in the chain, say), else
 * NULL. */
static const char *
foreign_hop(const struct ctl *ctl, const struct tier_walk *tw, unsigned k)
{
	const struct instance *in = &ctl->inst[tw->path[k]];

	if (k + 1 >= tw->npath || in->view.nforwards == 0 ||
	    in->view.forwards[0].nservers == 0)
		return NULL;
	if (strcmp(in->view.forwards[0].servers[0].text,
	        ctl->inst[tw->path[k + 1]].view.listen[0].text) == 0)
		return NULL;
	return in->view.forwards[0].servers[0].text;
}

/* The address @p x forwards everything to when that is not its tree
 * parent here (a dnsmasq), else NULL. */
static const char *
foreign_next(const struct ctl *ctl, const struct instance *x)
{
	const struct cfg *v = &x->view;

	if (v->nforwards == 0 || v->forwards[0].nservers == 0 ||
	    strcmp(v->forwards[0].zone, ".") != 0)
		return NULL;
	if (x->up >= 0 &&
	    strcmp(v->forwards[0].servers[0].text,
	        ctl->inst[x->up].view.listen[0].text) == 0)
		return NULL;
	return v->forwards[0].servers[0].text;
}

/* One line per tier from the first asked: hit (with what is left of the
 * TTL) or miss. @return the index of the first tier that hits, or ninst. */
static unsigned
print_tiers(struct conn *c, const char *when)
{
	struct ctl *ctl = c->ctl;
	unsigned first_hit = ctl->ninst;

	if (c->trace_fmt == 't')
		fprintf(c->f, "tiers %s, from %s down:\n", when,
		    ctl->inst[c->tw.from].name);
	for (unsigned k = 0; k < c->tw.npath; k++) {
		unsigned i = c->tw.path[k];
		struct instance *in = &ctl->inst[i];
		const char *hop = foreign_hop(ctl, &c->tw, k);
		struct peek p;

		peek_tier(in, c->tw.name, c->tw.type, &p);
		if (p.hit && first_hit == ctl->ninst)
			first_hit = i;
		if (c->trace_fmt == 'j') {
			fprintf(c->f,
			    "{\"tier\":\"%s\",\"address\":\"%s\","
			    "\"when\":\"%s\",\"hit\":%s",
			    in->name, in->view.listen[0].text, when,
			    p.hit ? "true" : "false");
			if (p.hit)
				fprintf(c->f,
				    ",\"what\":\"%s\",\"ttl\":%" PRIu32
				    ",\"orig_ttl\":%" PRIu32
				    ",\"age_s\":%" PRIu64,
				    p.what, p.ttl, p.orig_ttl, p.age_ms / 1000);
			fprintf(c->f, "}\n");
		} else if (c->trace_fmt == 't') {
			fprintf(c->f, "  %-10s %-22s ", in->name,
			    in->view.listen[0].text);
			if (p.hit)
				fprintf(c->f,
				    "hit: %s, %" PRIu32 " s left of %" PRIu32
				    " (stored %" PRIu64 " s ago)\n",
				    p.what, p.ttl, p.orig_ttl, p.age_ms / 1000);
			else
				fprintf(c->f, "miss%s\n",
				    k + 1 == c->tw.npath
				        ? ", resolves from the root"
				        : "");
			if (hop != NULL)
				fprintf(c->f,
				    "  %-10s %-22s not a tier of this "
				    "resolverd: its cache cannot be seen\n",
				    "(next hop)", hop);
		}
	}
	return first_hit;
}

/* Start a traced resolution at @p in; on failure answer with why. */
static void
start_trace(struct conn *c, struct instance *in, const uint8_t *name,
    uint16_t type, bool cold)
{
	int r;

	c->busy = true;
	r = worker_trace(&in->worker, name, type, cold, on_trace, c);
	if (r < 0)
		respond(c,
		    r == -EBUSY ? "too many resolutions in flight"
		                : strerror(-r));
}

/* Phase 2: ask the first tier, as a client would; the answer travels up
 * the chain and every tier on the way stores it. */
static void
tier_chain(struct conn *c)
{
	c->tw.phase = 2;
	start_trace(
	    c, &c->ctl->inst[c->tw.from], c->tw.name, c->tw.type, false);
}

static void
on_tier_trace(void *arg, const struct iter_req *r)
{
	struct conn *c = arg;
	struct ctl *ctl = c->ctl;
	unsigned last = c->tw.path[c->tw.npath - 1];
	bool walked = c->tw.phase == 1;

	if (c->trace_fmt == 't')
		fprintf(c->f, "%s\n",
		    walked
		        ? (c->tw.cold
		                  ? "the last tier walks from the root "
		                    "(--cold: on an empty "
		                    "private cache; the tiers are not touched):"
		                  : "the last tier walks from the root:")
		        : "the question through the chain:");
	if (c->trace_fmt == 'j')
		fprintf(c->f, "{\"walk\":\"%s\",\"phase\":\"%s\"}\n",
		    ctl->inst[walked ? last : c->tw.from].name,
		    walked ? "root" : "chain");
	/* dot: the delegation path only, from whichever phase walked it */
	if (c->trace_fmt != 'd' || walked || c->tw.hit < ctl->ninst)
		print_trace(c, r, !walked || c->tw.cold || c->tw.from == last);
	if (walked && !c->tw.cold && c->tw.from != last) {
		tier_chain(c);
		return;
	}
	if (!c->tw.cold)
		print_tiers(c, "after");
	respond(c, NULL);
}

/* trace with tiers, from tier @p in (the first, unless --tier). */
static int
tier_trace(struct conn *c, struct instance *in, const uint8_t *name,
    uint16_t type, bool cold)
{
	struct ctl *ctl = c->ctl;

	memset(&c->tw, 0, sizeof(c->tw));
	c->tw.on = true;
	c->tw.from = (unsigned)(in - ctl->inst);
	c->tw.cold = cold;
	/* from the first asked, each asking its tree parent, to the one that
	 * walks from the root */
	for (int i = (int)c->tw.from;
	     i >= 0 && (unsigned)i < ctl->ninst && c->tw.npath < CFG_MAX_TIERS;
	     i = ctl->inst[i].up)
		c->tw.path[c->tw.npath++] = (unsigned)i;
	memcpy(c->tw.name, name, dns_name_len(name, LIM_NAME_MAX));
	c->tw.type = type;
	c->tw.hit = cold ? ctl->ninst : print_tiers(c, "before");
	if (c->tw.hit < ctl->ninst) {
		tier_chain(c);
		return 0;
	}
	c->tw.phase = 1;
	start_trace(
	    c, &ctl->inst[c->tw.path[c->tw.npath - 1]], name, type, cold);
	return 0;
}

/* --------------------------------------------------------------- dispatch */

/* The instance named @p name ("browser" for a tier of one, "browser-3"),
 * or NULL. */
static struct instance *
find_tier(struct ctl *ctl, const char *name)
{
	for (unsigned i = 0; i < ctl->ninst; i++)
		if (strcmp(ctl->inst[i].name, name) == 0)
			return &ctl->inst[i];
	return NULL;
}

/* The index of the tier named @p name, or -1. */
static int
find_tier_index(const struct ctl *ctl, const char *name)
{
	for (unsigned i = 0; i < ctl->ninst; i++)
		if (ctl->inst[i].tier >= 0 &&
		    strcmp(ctl->inst[i].tier_name, name) == 0)
			return ctl->inst[i].tier;
	return -1;
}

/* Split @p line in place into at most MAX_ARGS words. */
static int
split(char *line, char **argv)
{
	int n = 0;
	char *save = NULL;

	for (char *t = strtok_r(line, " \t", &save); t != NULL;
	     t = strtok_r(NULL, " \t", &save)) {
		if (n == MAX_ARGS)
			return -1;
		argv[n++] = t;
	}
	return n;
}

static int __attribute__((format(printf, 2, 3)))
usage_error(struct conn *c, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return respond(c, msg);
}

/* dump [--json] [--name SUFFIX] [--type T] [--infra] */
static int
cmd_dump(struct conn *c, int argc, char **argv)
{
	struct job *j = &c->job;

	j->kind = J_DUMP;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			j->json = true;
		} else if (strcmp(argv[i], "--infra") == 0) {
			j->kind = J_INFRA;
		} else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc) {
			if (parse_name(argv[++i], j->filter.name) < 0)
				return usage_error(c, "bad name '%s'", argv[i]);
			j->filter.has_name = true;
		} else if (strcmp(argv[i], "--type") == 0 && i + 1 < argc) {
			if (dns_type_from_str(argv[++i], &j->filter.type) < 0)
				return usage_error(
				    c, "unknown type '%s'", argv[i]);
		} else {
			return usage_error(
			    c, "dump: unexpected argument '%s'", argv[i]);
		}
	}
	queue_job(c);
	return 0;
}

static int
cmd_lookup(struct conn *c, int argc, char **argv)
{
	struct job *j = &c->job;

	if (argc > 1 && strcmp(argv[argc - 1], "--json") == 0) {
		j->json = true;
		argc--;
	}
	if (argc < 2 || argc > 3)
		return usage_error(c, "usage: lookup NAME [TYPE] [--json]");
	if (parse_name(argv[1], j->filter.name) < 0)
		return usage_error(c, "bad name '%s'", argv[1]);
	if (argc == 3 && dns_type_from_str(argv[2], &j->type) < 0)
		return usage_error(c, "unknown type '%s'", argv[2]);
	j->kind = J_LOOKUP;
	j->filter.has_name = true;
	j->filter.exact = true;
	queue_job(c);
	return 0;
}

/* flush NAME [TYPE] | --zone NAME | --negative | --all */
static int
cmd_flush(struct conn *c, int argc, char **argv)
{
	struct job *j = &c->job;

	j->kind = J_FLUSH;
	if (argc == 2 && strcmp(argv[1], "--all") == 0) {
		j->flush = FLUSH_ALL;
	} else if (argc == 2 && strcmp(argv[1], "--negative") == 0) {
		j->flush = FLUSH_NEGATIVE;
	} else if (argc == 3 && strcmp(argv[1], "--zone") == 0) {
		if (parse_name(argv[2], j->filter.name) < 0)
			return usage_error(c, "bad name '%s'", argv[2]);
		j->flush = FLUSH_ZONE;
	} else if ((argc == 2 || argc == 3) && argv[1][0] != '-') {
		if (parse_name(argv[1], j->filter.name) < 0)
			return usage_error(c, "bad name '%s'", argv[1]);
		if (argc == 3 && dns_type_from_str(argv[2], &j->type) < 0)
			return usage_error(c, "unknown type '%s'", argv[2]);
		j->flush = FLUSH_NAME;
	} else {
		return usage_error(c,
		    "usage: flush NAME [TYPE] | --zone NAME "
		    "| --negative | --all");
	}
	queue_job(c);
	return 0;
}

/* trace NAME [TYPE] [--cold] [--json | --dot] */
static int
cmd_trace(struct conn *c, struct instance *in, int argc, char **argv)
{
	uint8_t name[LIM_NAME_MAX];
	uint16_t type = 1;
	bool cold = false, have_name = false, have_type = false;

	c->trace_fmt = 't';
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--cold") == 0) {
			cold = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			c->trace_fmt = 'j';
		} else if (strcmp(argv[i], "--dot") == 0) {
			c->trace_fmt = 'd';
		} else if (!have_name) {
			if (parse_name(argv[i], name) < 0)
				return usage_error(c, "bad name '%s'", argv[i]);
			have_name = true;
		} else if (!have_type) {
			if (dns_type_from_str(argv[i], &type) < 0)
				return usage_error(
				    c, "unknown type '%s'", argv[i]);
			have_type = true;
		} else {
			return usage_error(c,
			    "trace: unexpected argument "
			    "'%s'",
			    argv[i]);
		}
	}
	if (!have_name)
		return usage_error(c,
		    "usage: trace NAME [TYPE] [--cold] "
		    "[--json | --dot]");
	c->tw.on = false;
	if (c->ctl->ninst > 1)
		return tier_trace(c, in, name, type, cold);
	start_trace(c, in, name, type, cold);
	return 0;
}

/* The whole request is in c->in: run it. */
static int
dispatch(struct conn *c)
{
	char *argv[MAX_ARGS];
	struct instance *in = &c->ctl->inst[0];
	bool tier_given = false;
	int argc, k, sel_tier = -1;

	c->in[c->line_len - 1] = '\0';
	if (c->line_len >= 2 && c->in[c->line_len - 2] == '\r')
		c->in[c->line_len - 2] = '\0';
	argc = split(c->in, argv);
	if (argc < 0)
		return respond(c, "too many arguments");
	if (argc < 1 || strncmp(argv[0], "resolverctl/", 12) != 0)
		return respond(
		    c, "bad request: expected \"" CTL_PROTO " COMMAND ...\"");
	if (strcmp(argv[0], CTL_PROTO) != 0)
		return respond(c,
		    "unsupported protocol version (this daemon "
		    "speaks " CTL_PROTO ")");
	if (argc < 2)
		return respond(c, "no command");
	/* --tier NAME may come anywhere */
	for (k = 2; k < argc; k++) {
		if (strcmp(argv[k], "--tier") != 0)
			continue;
		if (k + 1 >= argc)
			return respond(c, "--tier needs a name");
		in = find_tier(c->ctl, argv[k + 1]);
		sel_tier = -1;
		if (in == NULL) {
			/* a tier of several instances: all of them */
			sel_tier = find_tier_index(c->ctl, argv[k + 1]);
			for (unsigned i = 0;
			     sel_tier >= 0 && i < c->ctl->ninst && in == NULL;
			     i++)
				if (c->ctl->inst[i].tier == sel_tier)
					in = &c->ctl->inst[i];
		}
		if (in == NULL)
			return usage_error(c,
			    "no tier or tier instance named "
			    "'%s'",
			    argv[k + 1]);
		tier_given = true;
		memmove(&argv[k], &argv[k + 2],
		    (size_t)(argc - k - 2) * sizeof(argv[0]));
		argc -= 2;
		k--;
	}
	argc--;
	memmove(argv, argv + 1, (size_t)argc * sizeof(argv[0]));
	memset(&c->job, 0, sizeof(c->job));
	c->job.in = in;
	c->job.tier_given = tier_given;
	c->job.sel_tier = sel_tier;
	c->job.all = !tier_given && c->ctl->ninst > 1;
	c->job.now_ms = worker_now(&in->worker);
	if (!open_out(c))
		return respond(c, "out of memory");
	if (strcmp(argv[0], "stats") == 0) {
		bool json = false, each = false;

		for (k = 1; k < argc; k++) {
			if (strcmp(argv[k], "--json") == 0)
				json = true;
			else if (strcmp(argv[k], "--instances") == 0)
				each = true;
			else
				return respond(
				    c, "usage: stats [--json] [--instances]");
		}
		cmd_stats(c, json, each);
	} else if (strcmp(argv[0], "dump") == 0) {
		cmd_dump(c, argc, argv);
	} else if (strcmp(argv[0], "lookup") == 0) {
		cmd_lookup(c, argc, argv);
	} else if (strcmp(argv[0], "flush") == 0) {
		cmd_flush(c, argc, argv);
	} else if (strcmp(argv[0], "trace") == 0) {
		cmd_trace(c, in, argc, argv);
	} else if (strcmp(argv[0], "load") == 0) {
		c->job.kind = J_LOAD;
		c->job.payload = c->in + c->line_len;
		c->job.payload_len = c->in_len - c->line_len;
		queue_job(c);
	} else if (strcmp(argv[0], "reload") == 0) {
		int r = uv_kill(getpid(), SIGHUP);
		if (r == 0)
			fprintf(c->f,
			    "reload requested; the log says how it "
			    "went\n");
		respond(c, r < 0 ? uv_strerror(r) : NULL);
	} else if (strcmp(argv[0], "tiers") == 0) {
		/* with tiers: "NAME ADDRESS -> UPSTREAM" per instance, the
		 * upstream an instance of this daemon, an address, or
		 * "root" */
		for (unsigned i = 0; i < c->ctl->ninst; i++) {
			const struct instance *x = &c->ctl->inst[i];
			const struct cfg *v = &x->view;

			if (x->tier < 0) {
				fprintf(c->f, "%s\n", x->name);
				continue;
			}
			fprintf(c->f, "%s %s -> ", x->name,
			    v->nlisten ? v->listen[0].text : "-");
			if (foreign_next(c->ctl, x) != NULL)
				fprintf(c->f, "%s\n", foreign_next(c->ctl, x));
			else if (x->up >= 0)
				fprintf(c->f, "%s\n", c->ctl->inst[x->up].name);
			else
				fputs("root\n", c->f);
		}
		respond(c, NULL);
	} else {
		usage_error(c, "unknown command '%s'", argv[0]);
	}
	return 0;
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct conn *c = h->data;
	size_t want = c->need ? c->need - c->in_len : CTL_LINE_MAX;

	(void)hint;
	if (want > 65536)
		want = 65536;
	if (want == 0)
		want = 1;
	if (c->in_len + want > c->in_cap) {
		size_t ncap = c->in_cap ? c->in_cap : 1024;
		char *p;

		while (ncap < c->in_len + want)
			ncap *= 2;
		p = realloc(c->in, ncap + 1);
		if (p == NULL) {
			*buf = uv_buf_init(NULL, 0);
			return;
		}
		c->in = p;
		c->in_cap = ncap;
	}
	*buf = uv_buf_init(c->in + c->in_len, (unsigned)want);
}

/* Is the request complete? Sets line_len and need on the way. */
static int
request_complete(struct conn *c)
{
	if (c->line_len == 0) {
		char *nl = memchr(c->in, '\n', c->in_len);
		if (nl == NULL)
			return c->in_len >= CTL_LINE_MAX ? -E2BIG : 0;
		c->line_len = (size_t)(nl - c->in) + 1;
		/* "resolverctl/1 load N": N bytes follow */
		if (c->line_len > 19 &&
		    strncmp(c->in, CTL_PROTO " load ",
		        sizeof(CTL_PROTO " load ") - 1) == 0) {
			unsigned long long n = strtoull(
			    c->in + sizeof(CTL_PROTO " load ") - 1, NULL, 10);
			if (n > CTL_LOAD_MAX)
				return -EFBIG;
			c->need = c->line_len + (size_t)n;
		} else {
			c->need = c->line_len;
		}
	}
	return c->in_len >= c->need ? 1 : 0;
}

static void
on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	struct conn *c = s->data;
	int r;

	(void)buf;
	if (nread < 0) {
		conn_close(c); /* EOF before a whole request, or an error */
		return;
	}
	if (buf->base == NULL) {
		uv_read_stop(s);
		respond(c, "out of memory");
		return;
	}
	c->in_len += (size_t)nread;
	r = request_complete(c);
	if (r == 0)
		return;
	uv_read_stop(s);
	if (r < 0) {
		respond(c,
		    r == -EFBIG ? "load: dump too large"
		                : "request line too long");
		return;
	}
	c->in_len = c->need; /* ignore anything after it */
	dispatch(c);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct ctl *ctl = server->data;
	struct conn *c;

	if (status < 0) {
		log_warn("control socket: %s", uv_strerror(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL || uv_pipe_init(ctl->loop, &c->pipe, 0) < 0) {
		/* accept and drop, so the loop does not spin on it */
		uv_pipe_t tmp;
		free(c);
		if (uv_pipe_init(ctl->loop, &tmp, 0) == 0) {
			uv_accept(server, (uv_stream_t *)&tmp);
			uv_close((uv_handle_t *)&tmp, NULL);
		}
		return;
	}
	c->pipe.data = c;
	c->ctl = ctl;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0) {
		c->closing = true;
		uv_close((uv_handle_t *)&c->pipe, on_conn_closed);
		return;
	}
	link_conn(c);
	if (ctl->nconns > CTL_CONNS_MAX) {
		if (open_out(c))
			respond(c, "too many control connections");
		else
			conn_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* ----------------------------------------------------------- lifetime */

struct ctl *
ctl_new(
    uv_loop_t *loop, struct instance *inst, unsigned ninst, struct pool *pool)
{
	struct ctl *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->loop = loop;
	c->inst = inst;
	c->ninst = ninst;
	c->pool = pool;
	return c;
}

int
ctl_request(struct ctl *ctl, const char *args, ctl_done_fn done, void *arg)
{
	struct conn *c;
	int n;

	if (ctl->closing)
		return -ECANCELED;
	if (strchr(args, '\n') != NULL || strlen(args) >= CTL_LINE_MAX - 16)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	n = asprintf(&c->in, CTL_PROTO " %s\n", args);
	if (n < 0) {
		free(c);
		return -ENOMEM;
	}
	c->in_len = c->in_cap = c->line_len = c->need = (size_t)n;
	c->ctl = ctl;
	c->done = done;
	c->done_arg = arg;
	link_conn(c);
	dispatch(c);
	return 0;
}

/* A socket file at @p path that nobody answers on is stale. */
static int
remove_stale(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	int fd, r;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static int
set_owner(const char *path, const char *owner)
{
	char user[256], *group;
	struct passwd *pw;
	struct group *gr;
	uid_t uid;
	gid_t gid;

	snprintf(user, sizeof(user), "%s", owner);
	group = strchr(user, ':');
	if (group != NULL)
		*group++ = '\0';
	pw = getpwnam(user);
	if (pw == NULL)
		return -ENOENT;
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	if (group != NULL && *group != '\0') {
		gr = getgrnam(group);
		if (gr == NULL)
			return -ENOENT;
		gid = gr->gr_gid;
	}
	return chown(path, uid, gid) < 0 ? -errno : 0;
}

int
ctl_start(struct ctl *c, const char *path, unsigned mode, const char *owner)
{
	mode_t old;
	int r;

	r = remove_stale(path);
	if (r < 0) {
		log_err("control socket %s: %s", path,
		    r == -EADDRINUSE   ? "another daemon answers on it"
		        : r == -EEXIST ? "exists and is not a socket"
		                       : strerror(-r));
		return r;
	}
	r = uv_pipe_init(c->loop, &c->server, 0);
	if (r < 0) {
		log_err("control socket: %s", uv_strerror(r));
		return r;
	}
	c->server.data = c;
	c->listening = true;
	old = umask(0177); /* no window with a wider mode */
	r = uv_pipe_bind(&c->server, path);
	umask(old);
	if (r == 0) {
		c->path = strdup(path);
		if (chmod(path, (mode_t)mode) < 0)
			r = -errno;
	}
	if (r == 0 && owner != NULL) {
		r = set_owner(path, owner);
		if (r == -ENOENT)
			log_err("control socket owner %s: no such user or "
			        "group",
			    owner);
	}
	if (r == 0)
		r = uv_listen((uv_stream_t *)&c->server, 16, on_connection);
	if (r < 0) {
		log_err("control socket %s: %s", path, uv_strerror(r));
		ctl_close(c);
		return r;
	}
	log_info("control socket %s (mode %04o%s%s)", path, mode,
	    owner ? ", owner " : "", owner ? owner : "");
	return 0;
}

void
ctl_set_root(struct ctl *c, const char *root)
{
	if (c != NULL)
		c->root = root;
}

void
ctl_close(struct ctl *c)
{
	struct conn *n;

	if (c == NULL || c->closing)
		return;
	c->closing = true;
	if (c->listening)
		uv_close((uv_handle_t *)&c->server, NULL);
	/* after a chroot the socket file is seen from inside it, if at all */
	const char *path = c->path ? cfg_path_in_root(c->root, c->path) : NULL;
	if (path != NULL && unlink(path) < 0 && errno != ENOENT)
		log_warn("control socket %s: cannot remove: %s", c->path,
		    strerror(errno));
	while (c->conns != NULL) {
		n = c->conns;
		/* a busy one: its job or trace ends later and closes it */
		if (n->busy)
			unlink_conn(n);
		else
			conn_close(n);
	}
}

void
ctl_free(struct ctl *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c);
}
