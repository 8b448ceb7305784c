/**
 * @file fuzz_reply.c
 * Upstream replies through the iterator (resolver/iter.c), the bytes that
 * any server on the Internet can send us.
 *
 * Per input: a fresh cache and infra cache, root hints (a tiny set, or the
 * built-in IANA ones), a deterministic random function, and one question
 * resolved with iter_new()/iter_next() as the driver of iter.h does. Each
 * query the iterator sends is answered with the next record of the input,
 * patched so that it passes the spoof check (the ID and the question, in
 * its 0x20 case, of the query just sent; QR; QDCOUNT 1) and delivered from
 * the address and port it was sent to; that is where the parsing and the
 * bailiwick rules are. The resolution ends at ITER_DONE, or with
 * iter_abort() when the input runs out. Then the answers for the clients
 * are built (ans_from_result, ans_from_cache, ans_norec; each checked to be
 * a DNS message that ldns parses), and the trace is rendered as
 * `resolverctl trace` would. Three resolutions share the cache: the
 * question, the same question again (the cache's answers, NXDOMAIN and
 * CNAME paths), and the next question of the table; what input the first
 * leaves goes to the next. At the end every cache entry must be in the
 * bailiwick of the server it came from (see in_bailiwick), and the cache is
 * rendered as `resolverctl dump` would, since that data came from upstream
 * too.
 *
 * Input:
 *   byte 0  setup: bits 0-2 the question (questions[] below), bit 3
 *           QNAME minimisation off, bit 4 0x20 off, bit 5 a forward zone
 *           for example.com, bit 6 the built-in IANA hints, bit 7 the
 *           client asked over TCP (65535-byte answer buffer).
 *   then records, one per event:
 *     ctl   bit 0 a timeout (no length, no bytes follow);
 *           bit 1 raw: the message is delivered as it is, unpatched;
 *           bit 2 delivered from the wrong port (must be ignored);
 *           bit 3 the question's letters in the wrong case (0x20);
 *           bits 4-7 the clock advances by that many * 64 ms first.
 *     len   2 bytes, big-endian, then len bytes: a DNS message. Its own
 *           question, when it has one that parses, is replaced by the one
 *           sent; compression pointers are left as they are.
 * tests/fuzz/corpus/fuzz_reply/ holds inputs in this format, and
 * tests/fuzz/mkseeds.py writes them. With FUZZ_REPLY_DEBUG set, every query
 * sent and the outcome are printed on stderr; with FUZZ_REPLY_DUMP=FILE the
 * cache is written to FILE at the end as a text dump (the seeds of
 * fuzz_dump).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include <ldns/ldns.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "resolver/answer.h"
#include "resolver/deleg.h"
#include "resolver/dump.h"
#include "resolver/iter.h"
#include "resolver/limits.h"
#include "resolver/msg.h"
#include "resolver/trace.h"
#include "tests/fuzz/fuzz.h"

/* The questions byte 0 chooses from. */
static const struct {
	const char *wire;
	uint16_t type;
} questions[8] = {
    {"\3www\7example\3com", 1},   /* www.example.com A */
    {"\7example\3com", 2},        /* example.com NS */
    {"\1a\1b\7example\3com", 28}, /* a.b.example.com AAAA */
    {"\7example\3com", 43},       /* example.com DS */
    {"\3www\7example\3com", 255}, /* www.example.com ANY */
    {"", 2},                      /* . NS (priming) */
    {"\2c1\7example\3com", 1},    /* c1.example.com A (CNAME chain) */
    {"\4nope\7example\3com", 15}, /* nope.example.com MX (NXDOMAIN) */
};

#define CTL_TIMEOUT 0x01
#define CTL_RAW     0x02
#define CTL_BADPORT 0x04
#define CTL_CASE    0x08
#define FWD_PORT    5353
#define MAX_EVENTS  256 /* bounds one input's work besides its length */

struct world {
	struct cache *cache;
	struct infra *infra;
	struct deleg_hints hints;
	struct iter_forward fwd;
	struct iter_env env;
	uint32_t rnd;
	uint64_t now;
};

/* The world's one clock, as both of the iterator's clocks. */
#define NOW(w) ((struct iter_now){(w)->now, (w)->now})

/* Per-thread scratch of the iterator and of ans_norec. */
static struct iter_scratch scratch;
static struct ans_scratch ascratch;

static struct deleg_hints builtin;
static bool debug;
/* FUZZ_CONTRACT: also what the API promises but the daemon never asks
 * (see README.md, Findings); off in make fuzz and make test. */
static bool contract;
static const char *dump_to;

static void
det_random(void *buf, size_t len, void *arg)
{
	struct world *w = arg;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		w->rnd = w->rnd * 1103515245u + 12345u;
		p[i] = (uint8_t)(w->rnd >> 16);
	}
}

/* The tiny hints: one root server, a.root-servers.net at 192.0.2.1. */
static void
tiny_hints(struct deleg_hints *h)
{
	static const uint8_t ip[4] = {192, 0, 2, 1};
	static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

	deleg_init(&h->root, (const uint8_t *)"");
	h->root.from_hints = true;
	int i =
	    deleg_add_ns(&h->root, (const uint8_t *)"\1a\14root-servers\3net");
	deleg_add_addr(&h->root, i, ip, AF_INET);
	deleg_add_addr(&h->root, i, ip6, AF_INET6);
}

static void
world_init(struct world *w, uint8_t setup)
{
	struct cache_policy pol = {.max_ttl = 86400, .negative_ttl = 3600};

	memset(w, 0, sizeof(*w));
	w->cache = cache_new(2u << 20, &pol);
	w->infra = infra_new(256);
	if (w->cache == NULL || w->infra == NULL)
		fuzz_die("cache_new/infra_new");
	if (setup & 0x40)
		w->hints = builtin;
	else
		tiny_hints(&w->hints);
	w->env.cache = w->cache;
	w->env.infra = w->infra;
	w->env.hints = &w->hints;
	w->env.random = det_random;
	w->env.random_arg = w;
	w->env.port = 53;
	w->env.scratch = &scratch;
	w->env.opts = (struct iter_opts){
	    .max_sends = LIM_MAX_SENDS,
	    .max_glueless = LIM_MAX_GLUELESS,
	    .max_cname = LIM_MAX_CNAME,
	    .max_depth = LIM_MAX_DEPTH,
	    .max_time_ms = LIM_MAX_TIME_MS,
	    .qname_minimisation = !(setup & 0x08),
	    .use_0x20 = !(setup & 0x10),
	    .min_ttl = 0,
	    .max_ttl = 86400,
	    .negative_ttl = 3600,
	};
	if (setup & 0x20) {
		struct sockaddr_storage ss;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		memset(&ss, 0, sizeof(ss));
		s4->sin_family = AF_INET;
		s4->sin_port = htons(FWD_PORT);
		s4->sin_addr.s_addr = htonl(0xc00002c8); /* 192.0.2.200 */
		if (deleg_forward(&w->fwd.cut, "example.com.", &ss, 1) != 0)
			fuzz_die("deleg_forward");
		w->fwd.fallback_iterate = true;
		w->env.forwards = &w->fwd;
		w->env.nforwards = 1;
	}
	w->rnd = 42;
	w->now = FUZZ_NOW_MS;
}

static void
world_free(struct world *w)
{
	cache_free(w->cache);
	infra_free(w->infra);
}

/* Where the last query went, as a sockaddr; @p port_delta for a spoof. */
static socklen_t
from_addr(const struct iter_action *a, struct sockaddr_storage *ss,
    uint16_t port_delta)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)(a->port + port_delta));
		memcpy(&s6->sin6_addr, a->addr, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)(a->port + port_delta));
	memcpy(&s4->sin_addr, a->addr, 4);
	return sizeof(*s4);
}

/*
 * Make @p msg (@p len bytes) a reply to the query in @p a: its header with
 * the query's ID, QR set and QDCOUNT 1, the query's question, then what
 * followed the message's own question (or its whole body when it has none
 * that parses). @return the length written to @p out (at most cap).
 */
static size_t
patch(uint8_t *out, size_t cap, const struct iter_action *a, const uint8_t *msg,
    size_t len)
{
	size_t sq = dns_name_len(a->pkt + DNS_HDR_LEN, a->len - DNS_HDR_LEN);
	size_t skip = DNS_HDR_LEN, n;

	if (sq == 0 || DNS_HDR_LEN + sq + 4 > a->len)
		fuzz_die("iter_next sent a query without a question");
	sq += 4;
	memset(out, 0, DNS_HDR_LEN);
	memcpy(out, msg, len < DNS_HDR_LEN ? len : DNS_HDR_LEN);
	out[0] = a->pkt[0];
	out[1] = a->pkt[1];
	out[2] |= 0x80;
	out[4] = 0;
	out[5] = 1;
	if (len > DNS_HDR_LEN && (msg[4] | msg[5]) != 0) {
		size_t nl = dns_name_len(msg + DNS_HDR_LEN, len - DNS_HDR_LEN);
		if (nl != 0 && DNS_HDR_LEN + nl + 4 <= len)
			skip = DNS_HDR_LEN + nl + 4;
	}
	memcpy(out + DNS_HDR_LEN, a->pkt + DNS_HDR_LEN, sq);
	n = DNS_HDR_LEN + sq;
	if (len > skip) {
		size_t body = len - skip;
		if (body > cap - n)
			body = cap - n;
		memcpy(out + n, msg + skip, body);
		n += body;
	}
	return n;
}

static void
show_send(const struct iter_action *a)
{
	char name[300], addr[INET6_ADDRSTRLEN], tb[DNS_MNEMONIC_MAX];
	size_t nl = dns_name_len(a->pkt + DNS_HDR_LEN, a->len - DNS_HDR_LEN);
	const uint8_t *t = a->pkt + DNS_HDR_LEN + nl;

	dns_name_to_text(name, sizeof(name), a->pkt + DNS_HDR_LEN);
	inet_ntop(a->family, a->addr, addr, sizeof(addr));
	fprintf(stderr, "fuzz_reply: send %s %s to %s port %u%s\n", name,
	    dns_type_str((uint16_t)(t[0] << 8 | t[1]), tb), addr, a->port,
	    a->tcp ? " tcp" : "");
}

static int
render(const struct cache_rrset_out *e, void *arg)
{
	FILE *f = arg;

	if (dump_entry_text(f, e, f == fuzz_null() ? NULL : "main") == 0)
		dump_entry_json(fuzz_null(), e, "fuzz");
	return 0;
}

/* FUZZ_REPLY_DUMP: the cache as `resolverctl dump` writes it. */
static void
write_dump(struct cache *c, uint64_t now)
{
	FILE *f = fopen(dump_to, "w");

	if (f == NULL)
		fuzz_die(dump_to);
	dump_header(f, now, "main");
	cache_foreach(c, now, render, f);
	fclose(f);
}

/*
 * The bailiwick oracle. Every query sent is noted with the zone cut it was
 * sent for (from the trace); every entry in the cache names the server it
 * came from. An entry from server S must be at or below a zone S was asked
 * about: data outside it is what a poisoning attack plants. Forwarders are
 * exempt (their answers are trusted whole), as are names the trace cannot
 * show exactly (escapes, or cut to 80 characters).
 */
#define MAX_ASKED 512

static struct {
	uint8_t family;
	uint8_t addr[16];
	char zone[80];
} asked[MAX_ASKED];
static unsigned nasked;

static void
note_sends(const struct trace *t)
{
	for (size_t i = 0; i < t->n && nasked < MAX_ASKED; i++) {
		const struct trace_step *s = &t->steps[i];
		if (s->kind != TRACE_SEND)
			continue;
		asked[nasked].family = s->family;
		memcpy(asked[nasked].addr, s->addr, 16);
		memcpy(asked[nasked].zone, s->zone, sizeof(s->zone));
		nasked++;
	}
}

/* Is presentation name @p n at or below zone @p z (both lowercase)? */
static bool
under(const char *n, const char *z)
{
	size_t nl = strlen(n), zl = strlen(z);

	if (strcmp(z, ".") == 0 || strcmp(n, z) == 0)
		return true;
	return nl > zl && strcmp(n + nl - zl, z) == 0 && n[nl - zl - 1] == '.';
}

static int
in_bailiwick(const struct cache_rrset_out *e, void *arg)
{
	static const uint8_t fwd[4] = {192, 0, 2, 200};
	char owner[1100];
	bool from_known = false;

	(void)arg;
	if (e->source_family == 0 ||
	    (e->source_family == AF_INET && memcmp(e->source, fwd, 4) == 0))
		return 0;
	dns_name_to_text(owner, sizeof(owner), e->owner);
	if (strchr(owner, '\\') != NULL)
		return 0;
	for (unsigned i = 0; i < nasked; i++) {
		size_t alen = asked[i].family == AF_INET ? 4 : 16;
		if (asked[i].family != e->source_family ||
		    memcmp(asked[i].addr, e->source, alen) != 0)
			continue;
		from_known = true;
		if (strlen(asked[i].zone) >= sizeof(asked[i].zone) - 1 ||
		    strchr(asked[i].zone, '\\') != NULL ||
		    under(owner, asked[i].zone))
			return 0;
	}
	char ab[INET6_ADDRSTRLEN], tb[DNS_MNEMONIC_MAX];
	inet_ntop(e->source_family, e->source, ab, sizeof(ab));
	fprintf(stderr,
	    "fuzz_reply: out of bailiwick: %s %s (kind %u rank %u) cached "
	    "from %s, which was %s\n",
	    owner, dns_type_str(e->type, tb), e->kind, e->rank, ab,
	    from_known ? "asked only about:" : "never asked");
	for (unsigned i = 0; i < nasked; i++)
		if (asked[i].family == e->source_family &&
		    memcmp(asked[i].addr, e->source,
		        asked[i].family == AF_INET ? 4 : 16) == 0)
			fprintf(stderr, "  zone %s\n", asked[i].zone);
	abort();
}

/* A response for the client must be a DNS message with its ID, within its
 * buffer. */
static void
check_response(const uint8_t *out, size_t len, size_t cap)
{
	ldns_pkt *p = NULL;

	if (len == 0)
		return;
	if (len < DNS_HDR_LEN || len > cap || out[0] != 0xbe || out[1] != 0xef)
		abort();
	if (ldns_wire2pkt(&p, out, len) != LDNS_STATUS_OK)
		abort();
	ldns_pkt_free(p);
}

/*
 * What the clients get: the answer built from the resolution's result
 * (ans_from_result, as for the client that started it), from the cache it
 * filled (ans_from_cache, as for clients that joined), and for RD=0
 * (ans_norec); over UDP with EDNS and DO (1232 bytes) or over TCP. Each in a
 * buffer of exactly its size.
 */
static void
client_answers(struct world *w, const struct iter_result *res,
    const uint8_t *qname, uint16_t qtype, bool tcp)
{
	uint8_t q[DNS_HDR_LEN + LIM_NAME_MAX + 4 + 11];
	size_t qnl = dns_name_len(qname, LIM_NAME_MAX);
	size_t n = 0, cap = tcp ? LIM_MSG_MAX : LIM_EDNS_BUFSIZE;
	struct msg_query mq;
	bool hit, pf;

	memcpy(q, "\xbe\xef\x01\x00\0\1\0\0\0\0\0\1", DNS_HDR_LEN);
	n = DNS_HDR_LEN;
	memcpy(q + n, qname, qnl);
	n += qnl;
	q[n++] = (uint8_t)(qtype >> 8);
	q[n++] = (uint8_t)qtype;
	q[n++] = 0;
	q[n++] = 1;
	/* OPT: 1232 bytes, DO */
	memcpy(q + n, "\0\0\51\4\320\0\0\200\0\0\0", 11);
	n += 11;
	if (msg_check_query(q, n, &mq) != MSG_OK)
		fuzz_die("client query");
	uint8_t *out = malloc(cap);
	if (out == NULL)
		fuzz_die("malloc");
	size_t len = ans_from_result(out, cap, q, &mq, res);
	if (len == 0 || (out[3] & 0xf) != (res->rcode & 0xf))
		abort();
	check_response(out, len, cap);
	if (contract) {
		/* answer.h: "0 only if cap < 512"; below 512 the answer must
		 * still stay inside cap (the daemon always passes >= 512) */
		size_t small = mq.question_end + 5;
		uint8_t *tiny = malloc(small);
		if (tiny == NULL)
			fuzz_die("malloc");
		if (ans_from_result(tiny, small, q, &mq, res) > small)
			abort();
		free(tiny);
	}
	check_response(out,
	    ans_from_cache(
	        out, cap, q, &mq, w->cache, LIM_MAX_CNAME, w->now, &pf),
	    cap);
	mq.rd = false;
	q[2] = 0;
	check_response(out,
	    ans_norec(out, cap, q, &mq, w->cache, LIM_MAX_CNAME, w->now,
	        &ascratch, &hit),
	    cap);
	free(out);
}

/* Flip the case of the letters of the question of @p pkt: a reply in the
 * wrong case (0x20), ignored, then a timeout retried over TCP. */
static void
flip_case(uint8_t *pkt, size_t len)
{
	size_t i = DNS_HDR_LEN;

	while (i < len && pkt[i] != 0 && pkt[i] < 64) {
		size_t end = i + 1 + pkt[i];
		for (i++; i < end && i < len; i++)
			if ((pkt[i] | 0x20) >= 'a' && (pkt[i] | 0x20) <= 'z')
				pkt[i] ^= 0x20;
	}
}

/*
 * Resolve one question, feeding the input from *off as the replies.
 * @return the finished request (ITER_DONE reached; aborted if the input ran
 * out).
 */
static struct iter_req *
resolve(struct world *w, const uint8_t *qname, uint16_t qtype,
    const uint8_t *data, size_t size, size_t *off, unsigned *events)
{
	static uint8_t reply[LIM_MSG_MAX];
	static struct iter_action a;
	struct iter_req *r = iter_new(&w->env, qname, qtype, 1, NOW(w));

	if (r == NULL)
		fuzz_die("iter_new");
	iter_set_trace(r); /* the trace code is fuzzed too */
	for (;;) {
		if (iter_next(r, NOW(w), &a) == ITER_DONE)
			break;
		if (debug)
			show_send(&a);
		if (a.len < DNS_HDR_LEN || a.len > sizeof(a.pkt) ||
		    a.timeout_ms == 0)
			abort();
		/* wait for one accepted reply (or a timeout) */
		enum iter_status st = ITER_IGNORED;
		while (st == ITER_IGNORED && *off < size &&
		    (*events)++ < MAX_EVENTS) {
			uint8_t ctl = data[(*off)++];
			w->now += (uint64_t)(ctl >> 4) * 64;
			if (ctl & CTL_TIMEOUT) {
				w->now += a.timeout_ms;
				st = iter_reply(r, NULL, NULL, 0, NOW(w));
				if (st != ITER_ACCEPTED)
					abort();
				break;
			}
			if (size - *off < 2) {
				*off = size;
				break;
			}
			size_t len = (size_t)(data[*off] << 8 | data[*off + 1]);
			*off += 2;
			if (len > size - *off)
				len = size - *off;
			const uint8_t *msg = data + *off;
			*off += len;
			struct sockaddr_storage ss;
			from_addr(&a, &ss, ctl & CTL_BADPORT ? 1 : 0);
			size_t n;
			if (ctl & CTL_RAW) {
				n = len;
				memcpy(reply, msg, n);
			} else {
				n = patch(reply, sizeof(reply), &a, msg, len);
			}
			if (ctl & CTL_CASE)
				flip_case(reply, n);
			/* an exact copy: a read past the datagram is caught */
			uint8_t *dgram = malloc(n ? n : 1);
			if (dgram == NULL)
				fuzz_die("malloc");
			memcpy(dgram, reply, n);
			st = iter_reply(
			    r, (struct sockaddr *)&ss, dgram, n, NOW(w));
			free(dgram);
			if ((ctl & CTL_BADPORT) && st != ITER_IGNORED)
				abort(); /* a wrong port got in */
		}
		if (st == ITER_IGNORED) {
			/* the input ran out: the driver's deadline */
			iter_abort(r, NOW(w), "fuzz input exhausted");
			if (iter_next(r, NOW(w), &a) != ITER_DONE)
				abort();
			break;
		}
	}
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct world w;
	size_t off = 1;
	unsigned events = 0;

	if (size < 1)
		return 0;
	if (builtin.root.nns == 0) {
		deleg_hints_builtin(&builtin);
		debug = getenv("FUZZ_REPLY_DEBUG") != NULL;
		contract = getenv("FUZZ_CONTRACT") != NULL;
		dump_to = getenv("FUZZ_REPLY_DUMP");
	}
	uint8_t setup = data[0];
	world_init(&w, setup);
	nasked = 0;
	/* the question, the same again (now from the cache), the next one */
	for (unsigned k = 0; k < 3; k++) {
		unsigned qi = (setup + (k == 2)) & 7;
		const uint8_t *qname = (const uint8_t *)questions[qi].wire;
		uint16_t qtype = questions[qi].type;
		struct iter_req *r =
		    resolve(&w, qname, qtype, data, size, &off, &events);
		const struct iter_result *res = iter_result(r);
		if (debug) {
			trace_print_text(stderr, iter_trace(r));
			fprintf(stderr,
			    "fuzz_reply: done rcode %u an %u ns %u sends "
			    "%u%s%s\n",
			    res->rcode, res->ancount, res->nscount, res->sends,
			    res->failed ? ": " : "",
			    res->failed ? res->reason : "");
		}
		if (res->rr_len > LIM_MSG_MAX + 512 ||
		    memchr(res->reason, '\0', sizeof(res->reason)) == NULL)
			abort();
		client_answers(&w, res, qname, qtype, setup & 0x80);
		trace_print_text(fuzz_null(), iter_trace(r));
		trace_print_json(fuzz_null(), iter_trace(r));
		trace_print_dot(fuzz_null(), iter_trace(r));
		note_sends(iter_trace(r));
		iter_free(r);
		w.now += 1000;
	}
	cache_foreach(w.cache, w.now, in_bailiwick, NULL);
	cache_foreach(w.cache, w.now, render, fuzz_null());
	if (dump_to != NULL)
		write_dump(w.cache, w.now);
	fflush(fuzz_null());
	world_free(&w);
	return 0;
}
