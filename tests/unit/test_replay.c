/*
 * test_replay.c: the replay suite. Each .scn file of tests/replay (or of
 * $REPLAY_DIR, or each file named on the command line) is one scenario: a world
 * of authoritative servers (zones, server behaviours, scripted replies), then
 * client steps (questions, the clock, the cache) and checks on what the
 * resolution core (resolver/iter.h) did. No sockets: the runner plays every
 * server for the iterator, on a fake clock, with a seeded random function. The
 * format is documented in tests/replay/README.md.
 *
 * A scenario is one cmocka test. A failed check prints the file, the line,
 * what was expected and what came back, and the iterator's trace. A scenario
 * marked `pending` is expected to fail today: it is reported as skipped while
 * it fails and fails the run once it passes (REPLAY_PENDING=fail runs pending
 * scenarios as ordinary ones).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "resolver/deleg.h"
#include "resolver/dns.h"
#include "resolver/iter.h"
#include "resolver/rr.h"
#include "resolver/trace.h"

/* ------------------------------------------------------------ bounds */

#define MAX_FILE_BYTES  (4u << 20) /* a scenario file */
#define MAX_LINE_JOIN   200        /* lines joined by ( ... ) */
#define MAX_TOKENS      64
#define MAX_ZONES       64
#define MAX_ZONE_SRV    8
#define MAX_ZONE_RRS    20000
#define MAX_SERVERS     128
#define MAX_SCRIPTS     128
#define MAX_SCRIPT_ADDR 8
#define MAX_DGRAMS      8
#define MAX_STEPS       2000
#define MAX_EXPECT_RRS  20000
#define MAX_GENERATE    20000
#define MAX_ACTIONS     1000 /* iter_next calls per question */
#define MAX_LOG         20000
#define MAX_QCOUNT      512 /* distinct questions remembered per server */
#define MAX_DIR_FILES   1000
#define MAX_CNAME_SIM   16 /* CNAME/DNAME hops a simulated server follows */
#define DEFAULT_DELAY   3  /* ms a server takes to answer */
#define DEFAULT_START   1700000000000ull
#define DEFAULT_SEED    42u
#define DEFAULT_TTL     3600

/* ------------------------------------------------------------ the model */

struct addr {
	uint8_t family; /* AF_INET, AF_INET6 */
	uint8_t ip[16]; /* v4 in the first 4 bytes */
	uint16_t port;  /* 0: the default (option port, 53) */
};

enum mode {
	M_DEAD = 1 << 0,
	M_REFUSED = 1 << 1,
	M_SERVFAIL = 1 << 2,
	M_TC = 1 << 3,
	M_NOEDNS = 1 << 4,
	M_LAME = 1 << 5,
	M_UPWARD = 1 << 6,
	M_RECURSIVE = 1 << 7,
	M_NOAA = 1 << 8,
};

static const struct {
	const char *name;
	unsigned bit;
} mode_names[] = {
    {"dead", M_DEAD},
    {"refused", M_REFUSED},
    {"servfail", M_SERVFAIL},
    {"tc", M_TC},
    {"noedns", M_NOEDNS},
    {"lame", M_LAME},
    {"upward", M_UPWARD},
    {"recursive", M_RECURSIVE},
    {"noaa", M_NOAA},
};

struct zone {
	int line;
	uint8_t apex[LIM_NAME_MAX];
	ldns_rr_list *rrs;
	struct addr srv[MAX_ZONE_SRV];
	unsigned nsrv;
};

enum {
	SEC_AN = 0,
	SEC_NS = 1,
	SEC_AR = 2
};

enum qmode {
	Q_ECHO = 0,
	Q_NONE,
	Q_TWICE,
	Q_CASEFLIP,
	Q_OTHER
};
enum idmode {
	ID_SAME = 0,
	ID_WRONG,
	ID_SET
};

/* One datagram of a scripted reply. */
struct dgram {
	bool genuine; /* start from the server's own reply */
	bool flags_set;
	uint16_t flags; /* DNS_FLAG_* (QR added unless noqr) */
	bool noqr;
	int rcode;      /* -1: unchanged */
	int edns;       /* -1: as the query (genuine: as the server), 0, 1 */
	uint8_t idmode; /* enum idmode */
	uint16_t id;
	uint8_t qmode; /* enum qmode */
	uint8_t qname[LIM_NAME_MAX];
	uint16_t qtype, qclass;
	bool from_set, from_port_only;
	struct addr from;
	ldns_rr_list *sec[3];
};

struct script {
	int line;
	struct addr addr[MAX_SCRIPT_ADDR];
	unsigned naddr; /* 0: any server */
	bool any_name, any_type;
	uint8_t qname[LIM_NAME_MAX];
	uint16_t qtype;
	int transport;  /* 0 any, 1 udp, 2 tcp */
	unsigned times; /* 0: every time */
	struct dgram d[MAX_DGRAMS];
	unsigned nd;
};

struct range {
	uint64_t lo, hi; /* inclusive */
};

struct exp_rr {
	ldns_rr *rr;
	struct range ttl;
};

enum expect_kind {
	E_RCODE,
	E_FAILED,
	E_REASON,
	E_EDE,
	E_SENDS,
	E_ANCOUNT,
	E_NSCOUNT,
	E_ANSWER,
	E_AUTHORITY,
	E_TRACE,
	E_SEND,
	E_RECEIVED,
	E_CACHE,
	E_LAME,
	E_IGNORED,
	E_ELAPSED,
};

struct expect {
	uint8_t kind; /* enum expect_kind */
	bool neg;     /* no-trace, no-cache, no-lame, failed no */
	bool total;   /* received-total */
	struct range range;
	char text[256];
	int trace_kind; /* -1: any */
	struct addr addr;
	bool have_name;
	uint8_t name[LIM_NAME_MAX];
	uint16_t type, rclass;
	int transport;  /* 0 any, 1 udp, 2 tcp */
	int send_index; /* >0 from the first; <=0 from the last (0 last) */
	/* cache */
	int ckind, crank; /* -1: any */
	bool have_ttl, have_nrr;
	struct range ttl, nrr;
	ldns_rr *rdata; /* NULL: any */
	/* answer / authority */
	struct exp_rr *rrs;
	unsigned nrrs;
	/* lame */
	uint8_t zone[LIM_NAME_MAX];
};

enum step_kind {
	S_QUERY,
	S_EXPECT,
	S_TIME,
	S_SEED,
	S_FLUSH,
	S_STORE,
	S_RESET,
	S_SERVER,
	S_OPTION,
};

#define OPT_COUNT 10

struct opt_set {
	unsigned mask; /* bit i: option i given */
	uint32_t v[OPT_COUNT];
};

struct step {
	uint8_t kind; /* enum step_kind */
	int line;
	char text[160]; /* the directive, for messages */
	/* query */
	uint8_t name[LIM_NAME_MAX];
	uint16_t type, rclass;
	struct opt_set opts;
	/* time */
	bool relative;
	uint64_t t;
	/* seed */
	uint32_t seed;
	/* flush: name empty = all */
	bool flush_all;
	/* store */
	ldns_rr *rr;
	uint8_t rank;
	/* server */
	struct addr addr;
	unsigned modes, drop, delay;
	/* option */
	int opt;
	uint32_t optval;
	struct expect *e;
};

struct hint {
	uint8_t name[LIM_NAME_MAX];
	struct addr a[LIM_MAX_ADDR_PER_NS];
	unsigned na;
};

struct fwd {
	uint8_t zone[LIM_NAME_MAX];
	struct addr a[LIM_MAX_ADDR_PER_NS];
	unsigned na;
	bool fallback;
};

struct scenario {
	char file[512];
	char err[1024];
	char pending[256];
	bool is_pending;
	struct hint hints[LIM_MAX_NS_PER_CUT];
	unsigned nhints;
	struct fwd fwd[ITER_MAX_FORWARDS];
	unsigned nfwd;
	uint64_t cache_bytes;
	uint32_t cache_entries;
	struct opt_set opts; /* option lines before the first query */
	uint64_t start;
	uint32_t seed;
	struct zone zones[MAX_ZONES];
	unsigned nzones;
	struct script scripts[MAX_SCRIPTS];
	unsigned nscripts;
	struct step *steps;
	unsigned nsteps;
	bool queried; /* parser: a query was seen */
};

/* ------------------------------------------------------------ options */

static const char *const opt_names[OPT_COUNT] = {
    "max_sends",
    "max_glueless",
    "max_cname",
    "max_depth",
    "max_time_ms",
    "qname_minimisation",
    "use_0x20",
    "min_ttl",
    "max_ttl",
    "negative_ttl",
};

static bool
opt_is_bool(int i)
{
	return i == 5 || i == 6;
}

static void
opt_apply(struct iter_opts *o, int i, uint32_t v)
{
	switch (i) {
	case 0:
		o->max_sends = v;
		break;
	case 1:
		o->max_glueless = v;
		break;
	case 2:
		o->max_cname = v;
		break;
	case 3:
		o->max_depth = v;
		break;
	case 4:
		o->max_time_ms = v;
		break;
	case 5:
		o->qname_minimisation = v != 0;
		break;
	case 6:
		o->use_0x20 = v != 0;
		break;
	case 7:
		o->min_ttl = v;
		break;
	case 8:
		o->max_ttl = v;
		break;
	default:
		o->negative_ttl = v;
		break;
	}
}

static void
opts_apply(struct iter_opts *o, const struct opt_set *s)
{
	for (int i = 0; i < OPT_COUNT; i++)
		if (s->mask & (1u << i))
			opt_apply(o, i, s->v[i]);
}

static const struct iter_opts default_opts = {
    .max_sends = LIM_MAX_SENDS,
    .max_glueless = LIM_MAX_GLUELESS,
    .max_cname = LIM_MAX_CNAME,
    .max_depth = LIM_MAX_DEPTH,
    .max_time_ms = LIM_MAX_TIME_MS,
    .qname_minimisation = true,
    .use_0x20 = true,
    .min_ttl = LIM_MIN_TTL,
    .max_ttl = LIM_MAX_TTL,
    .negative_ttl = LIM_NEG_TTL,
};

/* ------------------------------------------------------------ small text */

static const char *const rank_names[] = {
    [CACHE_RANK_GLUE] = "glue",
    [CACHE_RANK_REFERRAL] = "referral",
    [CACHE_RANK_NONAUTH_ANSWER] = "nonauth-answer",
    [CACHE_RANK_AUTH_AUTHORITY] = "auth-authority",
    [CACHE_RANK_AUTH_ANSWER] = "auth-answer",
    [CACHE_RANK_PRIMED] = "primed",
};

static const char *
rank_str(unsigned r)
{
	return r >= 1 && r <= CACHE_RANK_PRIMED ? rank_names[r] : "?";
}

static const char *const kind_names[] = {"rrset", "nxdomain", "nodata"};

static void
addr_str(char *out, size_t cap, const struct addr *a)
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->ip, ip, sizeof(ip));
	if (a->port != 0 && a->port != 53)
		snprintf(out, cap, "%s@%u", ip, a->port);
	else
		snprintf(out, cap, "%s", ip);
}

static void
name_str(char *out, size_t cap, const uint8_t *name)
{
	dns_name_to_text(out, cap, name);
}

static const char *
type_str(uint16_t t)
{
	static __thread char buf[4][DNS_MNEMONIC_MAX];
	static __thread int k;

	return dns_type_str(t, buf[k++ % 4]);
}

static const char *
class_str(uint16_t c)
{
	static __thread char buf[DNS_MNEMONIC_MAX];

	return dns_class_str(c, buf);
}

static void
range_str(char *out, size_t cap, const struct range *r)
{
	if (r->lo == r->hi)
		snprintf(out, cap, "%" PRIu64, r->lo);
	else if (r->lo == 0 && r->hi == UINT64_MAX)
		snprintf(out, cap, "any");
	else if (r->hi == UINT64_MAX)
		snprintf(out, cap, ">=%" PRIu64, r->lo);
	else if (r->lo == 0)
		snprintf(out, cap, "<=%" PRIu64, r->hi);
	else
		snprintf(out, cap, "%" PRIu64 "..%" PRIu64, r->lo, r->hi);
}

static bool
in_range(const struct range *r, uint64_t v)
{
	return v >= r->lo && v <= r->hi;
}

/* ------------------------------------------------------------ parsing */

struct line {
	int no;
	char *text;
};

struct parser {
	struct scenario *sc;
	struct line *l;
	size_t n, i;
	int no; /* line being parsed */
};

static int __attribute__((format(printf, 2, 3)))
perr(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (p->sc->err[0] != 0)
		return -1;
	n = (size_t)snprintf(
	    p->sc->err, sizeof(p->sc->err), "%s:%d: ", p->sc->file, p->no);
	if (n >= sizeof(p->sc->err))
		return -1;
	va_start(ap, fmt);
	vsnprintf(p->sc->err + n, sizeof(p->sc->err) - n, fmt, ap);
	va_end(ap);
	return -1;
}

/* Remove a comment: an unquoted '#' at the start or after a blank. */
static void
strip_comment(char *s)
{
	bool q = false;

	for (char *c = s; *c; c++) {
		if (*c == '\\' && c[1] != 0) {
			c++;
			continue;
		}
		if (*c == '"')
			q = !q;
		else if (!q && *c == '#' &&
		    (c == s || c[-1] == ' ' || c[-1] == '\t')) {
			*c = 0;
			return;
		}
	}
}

/* Parentheses still open at the end of @p s (outside quotes and ';'
 * comments), as in zone files. */
static int
paren_depth(const char *s, int depth)
{
	bool q = false;

	for (const char *c = s; *c; c++) {
		if (*c == '\\' && c[1] != 0) {
			c++;
			continue;
		}
		if (*c == '"')
			q = !q;
		else if (!q && *c == ';')
			break;
		else if (!q && *c == '(')
			depth++;
		else if (!q && *c == ')')
			depth--;
	}
	return depth;
}

static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 &&
	    (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' ||
	        s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

/* Split @p buf into logical lines: comments removed, blank lines dropped,
 * lines with open parentheses joined with the next ones. */
static int
split_lines(struct parser *p, char *buf)
{
	size_t cap = 0;
	int no = 0;
	char *s = buf;

	while (*s) {
		char *e = strchr(s, '\n');
		if (e != NULL)
			*e = 0;
		no++;
		p->no = no;
		strip_comment(s);
		char *t = trim(s);
		int depth = paren_depth(t, 0);
		int first = no;
		size_t joined = 0;
		char *acc = strdup(t);
		if (acc == NULL)
			return perr(p, "out of memory");
		s = e != NULL ? e + 1 : s + strlen(s);
		while (depth > 0) {
			if (*s == 0 || ++joined > MAX_LINE_JOIN) {
				free(acc);
				p->no = first;
				return perr(p,
				    "unbalanced '(' (closed by no "
				    "')' in %d lines)",
				    MAX_LINE_JOIN);
			}
			e = strchr(s, '\n');
			if (e != NULL)
				*e = 0;
			no++;
			strip_comment(s);
			t = trim(s);
			depth = paren_depth(t, depth);
			size_t al = strlen(acc), tl = strlen(t);
			char *nacc = realloc(acc, al + tl + 2);
			if (nacc == NULL) {
				free(acc);
				return perr(p, "out of memory");
			}
			acc = nacc;
			acc[al] = ' ';
			memcpy(acc + al + 1, t, tl + 1);
			s = e != NULL ? e + 1 : s + strlen(s);
		}
		if (depth < 0) {
			free(acc);
			p->no = first;
			return perr(p, "')' without '('");
		}
		if (acc[0] == 0) {
			free(acc);
			continue;
		}
		if (p->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct line *nl = realloc(p->l, cap * sizeof(*nl));
			if (nl == NULL) {
				free(acc);
				return perr(p, "out of memory");
			}
			p->l = nl;
		}
		p->l[p->n].no = first;
		p->l[p->n].text = acc;
		p->n++;
	}
	return 0;
}

struct toks {
	char *v[MAX_TOKENS];
	int n;
	bool more; /* words left after the first @c max */
	char buf[16384];
};

/* Split the first @p max words of a line: blanks separate, "..." quotes
 * (with \" and \\ inside). What follows them is left to after_words(). */
static int
tokenize_n(struct parser *p, const char *line, struct toks *t, int max)
{
	char *o = t->buf, *end = t->buf + sizeof(t->buf) - 1;
	const char *c = line;

	t->n = 0;
	t->more = false;
	for (;;) {
		while (*c == ' ' || *c == '\t')
			c++;
		if (*c == 0)
			return 0;
		if (t->n == max) {
			t->more = true;
			return 0;
		}
		t->v[t->n++] = o;
		if (*c == '"') {
			c++;
			while (*c && *c != '"') {
				if (*c == '\\' && c[1] != 0)
					c++;
				if (o == end)
					return perr(p, "line too long");
				*o++ = *c++;
			}
			if (*c != '"')
				return perr(p, "unterminated quote");
			c++;
		} else {
			while (*c && *c != ' ' && *c != '\t') {
				if (o == end)
					return perr(p, "line too long");
				*o++ = *c++;
			}
		}
		if (o == end)
			return perr(p, "line too long");
		*o++ = 0;
	}
}

/* Every word of a directive line. */
static int
tokenize(struct parser *p, const char *line, struct toks *t)
{
	if (tokenize_n(p, line, t, MAX_TOKENS) != 0)
		return -1;
	if (t->more)
		return perr(p, "more than %d words", MAX_TOKENS);
	return 0;
}

/* The text of @p line after its first @p n words. */
static const char *
after_words(const char *line, int n)
{
	const char *c = line;

	for (int i = 0; i < n; i++) {
		while (*c == ' ' || *c == '\t')
			c++;
		if (*c == '"') {
			c++;
			while (*c && *c != '"')
				c += (*c == '\\' && c[1]) ? 2 : 1;
			if (*c)
				c++;
		} else {
			while (*c && *c != ' ' && *c != '\t')
				c++;
		}
	}
	while (*c == ' ' || *c == '\t')
		c++;
	return c;
}

static int
parse_u64(struct parser *p, const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return perr(p, "'%s': a number was expected", s);
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno != 0 || *end != 0 || v > max)
		return perr(
		    p, "'%s': a number 0..%" PRIu64 " was expected", s, max);
	*out = v;
	return 0;
}

static int
parse_u32(struct parser *p, const char *s, uint32_t *out)
{
	uint64_t v;

	if (parse_u64(p, s, UINT32_MAX, &v) != 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int
parse_bool(struct parser *p, const char *s, bool *out)
{
	if (!strcmp(s, "on") || !strcmp(s, "yes") || !strcmp(s, "true") ||
	    !strcmp(s, "1"))
		*out = true;
	else if (!strcmp(s, "off") || !strcmp(s, "no") || !strcmp(s, "false") ||
	    !strcmp(s, "0"))
		*out = false;
	else
		return perr(p, "'%s': on or off was expected", s);
	return 0;
}

/* N, N..M, <=N, >=N, <N, >N, or *. */
static int
parse_range(struct parser *p, const char *s, struct range *r)
{
	uint64_t a, b;
	const char *dots;
	char tmp[64];

	if (!strcmp(s, "*")) {
		r->lo = 0;
		r->hi = UINT64_MAX;
		return 0;
	}
	if (!strncmp(s, "<=", 2) || !strncmp(s, ">=", 2)) {
		if (parse_u64(p, s + 2, UINT64_MAX - 1, &a) != 0)
			return -1;
		r->lo = s[0] == '<' ? 0 : a;
		r->hi = s[0] == '<' ? a : UINT64_MAX;
		return 0;
	}
	if (s[0] == '<' || s[0] == '>') {
		if (parse_u64(p, s + 1, UINT64_MAX - 1, &a) != 0)
			return -1;
		if (s[0] == '<' && a == 0)
			return perr(p, "'%s': an empty range", s);
		r->lo = s[0] == '<' ? 0 : a + 1;
		r->hi = s[0] == '<' ? a - 1 : UINT64_MAX;
		return 0;
	}
	if ((dots = strstr(s, "..")) != NULL) {
		size_t n = (size_t)(dots - s);
		if (n >= sizeof(tmp))
			return perr(p, "'%s': bad range", s);
		memcpy(tmp, s, n);
		tmp[n] = 0;
		if (parse_u64(p, tmp, UINT64_MAX - 1, &a) != 0 ||
		    parse_u64(p, dots + 2, UINT64_MAX - 1, &b) != 0)
			return -1;
		if (a > b)
			return perr(p, "'%s': an empty range", s);
		r->lo = a;
		r->hi = b;
		return 0;
	}
	if (parse_u64(p, s, UINT64_MAX - 1, &a) != 0)
		return -1;
	r->lo = r->hi = a;
	return 0;
}

/* ADDR or ADDR@PORT, IPv4 or IPv6. */
static int
parse_addr(struct parser *p, const char *s, struct addr *a)
{
	char tmp[INET6_ADDRSTRLEN + 8];
	const char *at = strrchr(s, '@');
	size_t n = at ? (size_t)(at - s) : strlen(s);

	memset(a, 0, sizeof(*a));
	if (n >= sizeof(tmp))
		return perr(p, "'%s': not an address", s);
	memcpy(tmp, s, n);
	tmp[n] = 0;
	if (inet_pton(AF_INET, tmp, a->ip) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, a->ip) == 1)
		a->family = AF_INET6;
	else
		return perr(p, "'%s': not an IPv4 or IPv6 address", s);
	if (at != NULL) {
		uint64_t port;
		if (parse_u64(p, at + 1, 65535, &port) != 0 || port == 0)
			return perr(p, "'%s': bad port", s);
		a->port = (uint16_t)port;
	}
	return 0;
}

static int
parse_name(struct parser *p, const char *s, uint8_t out[LIM_NAME_MAX])
{
	if (dns_name_from_text(out, s) == 0)
		return perr(p, "'%s': not a domain name", s);
	return 0;
}

static int
parse_type(struct parser *p, const char *s, uint16_t *t)
{
	if (dns_type_from_str(s, t) != 0)
		return perr(p, "'%s': not an RR type", s);
	return 0;
}

static bool
class_from_str(const char *s, uint16_t *c)
{
	static const struct {
		const char *n;
		uint16_t v;
	} tab[] = {{"IN", DNS_C_IN}, {"CH", DNS_C_CH}, {"HS", 4},
	    {"NONE", DNS_C_NONE}, {"ANY", DNS_C_ANY}};
	char *end;

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (strcasecmp(s, tab[i].n) == 0) {
			*c = tab[i].v;
			return true;
		}
	}
	if (strncasecmp(s, "CLASS", 5) == 0 && s[5] >= '0' && s[5] <= '9') {
		unsigned long v = strtoul(s + 5, &end, 10);
		if (*end == 0 && v <= 65535) {
			*c = (uint16_t)v;
			return true;
		}
	}
	return false;
}

static int
parse_rcode(struct parser *p, const char *s, int *out)
{
	uint64_t v;

	for (unsigned i = 0; i < 4096; i++) {
		const char *n = dns_rcode_str(i);
		if (strcmp(n, "RCODE?") != 0 && strcasecmp(n, s) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	if (s[0] >= '0' && s[0] <= '9') {
		if (parse_u64(p, s, 15, &v) != 0)
			return -1;
		*out = (int)v;
		return 0;
	}
	return perr(p, "'%s': not an rcode", s);
}

static int
parse_rank(struct parser *p, const char *s, int *out)
{
	for (unsigned i = 1; i <= CACHE_RANK_PRIMED; i++) {
		if (strcmp(rank_names[i], s) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return perr(p,
	    "'%s': not a rank (glue, referral, nonauth-answer, "
	    "auth-authority, auth-answer, primed)",
	    s);
}

static int
parse_trace_kind(struct parser *p, const char *s, int *out)
{
	if (!strcmp(s, "*")) {
		*out = -1;
		return 0;
	}
	for (int k = TRACE_START; k <= TRACE_DONE; k++) {
		if (strcmp(trace_kind_str((enum trace_kind)k), s) == 0) {
			*out = k;
			return 0;
		}
	}
	return perr(p,
	    "'%s': not a trace step kind (start, cut, cache, "
	    "send, referral, glue, reply, cname, nxdomain, "
	    "nodata, lame, timeout, truncated, edns, ignored, "
	    "qmin, subquery, fail, done, *)",
	    s);
}

/* An RR in presentation form; relative names are below @p origin. */
static int
parse_rr(
    struct parser *p, const char *text, const uint8_t *origin, ldns_rr **out)
{
	ldns_rdf *o = NULL;
	ldns_status st;
	char on[DNS_NAME_TEXT_MAX];

	name_str(on, sizeof(on), origin);
	o = ldns_dname_new_frm_str(on);
	if (o == NULL)
		return perr(p, "bad origin %s", on);
	*out = NULL;
	st = ldns_rr_new_frm_str(out, text, DEFAULT_TTL, o, NULL);
	ldns_rdf_deep_free(o);
	if (st != LDNS_STATUS_OK) {
		*out = NULL;
		return perr(p, "bad record '%s': %s", text,
		    ldns_get_errorstr_by_id(st));
	}
	return 0;
}

/* An expected record: OWNER [TTL-SPEC] [CLASS] TYPE RDATA, where the TTL
 * spec is a number, a range or '*', and absent means any TTL. */
static int
parse_exp_rr(struct parser *p, const char *text, struct exp_rr *x)
{
	struct toks t;
	char buf[65536];
	const char *rest;

	if (tokenize_n(p, text, &t, 2) != 0)
		return -1;
	x->ttl.lo = 0;
	x->ttl.hi = UINT64_MAX;
	if (t.n >= 2 &&
	    ((t.v[1][0] >= '0' && t.v[1][0] <= '9') || t.v[1][0] == '<' ||
	        t.v[1][0] == '>' || !strcmp(t.v[1], "*"))) {
		if (parse_range(p, t.v[1], &x->ttl) != 0)
			return -1;
		rest = after_words(text, 2);
		if (snprintf(buf, sizeof(buf), "%s 0 %s", t.v[0], rest) >=
		    (int)sizeof(buf))
			return perr(p, "record too long");
	} else {
		if (snprintf(buf, sizeof(buf), "%s", text) >= (int)sizeof(buf))
			return perr(p, "record too long");
	}
	if (parse_rr(p, buf, (const uint8_t *)"", &x->rr) != 0)
		return -1;
	if (x->ttl.lo == x->ttl.hi) /* shown in reports as written */
		ldns_rr_set_ttl(x->rr, (uint32_t)x->ttl.lo);
	return 0;
}

/* $GENERATE FROM-TO TEMPLATE: '$' is the number, ${offset,width,base}
 * (base d, x or X) formats it, '\$' is a dollar sign. Calls @p cb on each
 * line. */
static int
generate(struct parser *p, const char *text,
    int (*cb)(struct parser *, const char *, void *), void *arg)
{
	struct toks t;
	uint64_t from, to;
	const char *tmpl;
	char *dash;
	char rng[64];
	static char out[65536];

	if (tokenize_n(p, text, &t, 2) != 0)
		return -1;
	if (t.n < 2 || !t.more)
		return perr(p, "$GENERATE FROM-TO TEMPLATE");
	snprintf(rng, sizeof(rng), "%s", t.v[1]);
	dash = strchr(rng, '-');
	if (dash == NULL)
		return perr(p, "$GENERATE: '%s' is not FROM-TO", t.v[1]);
	*dash = 0;
	if (parse_u64(p, rng, 1000000, &from) != 0 ||
	    parse_u64(p, dash + 1, 1000000, &to) != 0)
		return -1;
	if (to < from || to - from >= MAX_GENERATE)
		return perr(p, "$GENERATE: at most %d records", MAX_GENERATE);
	tmpl = after_words(text, 2);
	for (uint64_t i = from; i <= to; i++) {
		size_t o = 0;
		for (const char *c = tmpl; *c; c++) {
			char num[64];
			if (c[0] == '\\' && c[1] == '$') {
				num[0] = '$';
				num[1] = 0;
				c++;
			} else if (c[0] != '$') {
				num[0] = *c;
				num[1] = 0;
			} else if (c[1] == '{') {
				long off = 0, width = 0;
				char base = 'd';
				const char *e = strchr(c, '}');
				if (e == NULL)
					return perr(p,
					    "$GENERATE: '${' "
					    "without '}'");
				if (sscanf(c + 2, "%ld,%ld,%c", &off, &width,
				        &base) < 1)
					return perr(p, "$GENERATE: bad ${...}");
				if (width < 0 || width > 32 ||
				    (base != 'd' && base != 'x' && base != 'X'))
					return perr(p, "$GENERATE: bad ${...}");
				snprintf(num, sizeof(num),
				    base == 'd'       ? "%0*lld"
				        : base == 'x' ? "%0*llx"
				                      : "%0*llX",
				    (int)width, (long long)i + off);
				c = e;
			} else {
				snprintf(num, sizeof(num), "%" PRIu64, i);
			}
			size_t nl = strlen(num);
			if (o + nl + 1 > sizeof(out))
				return perr(p, "$GENERATE: line too long");
			memcpy(out + o, num, nl);
			o += nl;
		}
		out[o] = 0;
		if (cb(p, out, arg) != 0)
			return -1;
	}
	return 0;
}

/* ---- zones ---- */

static int
zone_rr_cb(struct parser *p, const char *text, void *arg)
{
	struct zone *z = arg;
	ldns_rr *rr;

	if (ldns_rr_list_rr_count(z->rrs) >= MAX_ZONE_RRS)
		return perr(p, "more than %d records in a zone", MAX_ZONE_RRS);
	if (parse_rr(p, text, z->apex, &rr) != 0)
		return -1;
	if (!dns_name_under(rr_owner(rr), z->apex)) {
		char on[DNS_NAME_TEXT_MAX];
		name_str(on, sizeof(on), rr_owner(rr));
		ldns_rr_free(rr);
		return perr(p, "%s is not in the zone", on);
	}
	ldns_rr_list_push_rr(z->rrs, rr);
	return 0;
}

/* zone APEX ADDR... / records / end */
static int
parse_zone(struct parser *p, struct toks *t)
{
	struct scenario *sc = p->sc;
	struct zone *z;

	if (t->n < 3)
		return perr(p, "zone APEX ADDR [ADDR...]");
	if (sc->nzones == MAX_ZONES)
		return perr(p, "more than %d zones", MAX_ZONES);
	z = &sc->zones[sc->nzones++];
	z->line = p->no;
	z->rrs = ldns_rr_list_new();
	if (parse_name(p, t->v[1], z->apex) != 0)
		return -1;
	for (int i = 2; i < t->n; i++) {
		if (z->nsrv == MAX_ZONE_SRV)
			return perr(
			    p, "more than %d servers for a zone", MAX_ZONE_SRV);
		if (parse_addr(p, t->v[i], &z->srv[z->nsrv++]) != 0)
			return -1;
	}
	for (p->i++; p->i < p->n; p->i++) {
		const char *text = p->l[p->i].text;
		p->no = p->l[p->i].no;
		if (!strcmp(text, "end"))
			return 0;
		if (!strncmp(text, "$GENERATE", 9)) {
			if (generate(p, text, zone_rr_cb, z) != 0)
				return -1;
			continue;
		}
		if (zone_rr_cb(p, text, z) != 0)
			return -1;
	}
	p->no = z->line;
	return perr(p, "zone %s: no 'end'", t->v[1]);
}

/* ---- scripted replies ---- */

static int
parse_dgram_line(struct parser *p, struct dgram *d, const char *text)
{
	struct toks t;

	if (tokenize_n(p, text, &t, 1) != 0)
		return -1;
	const char *w = t.v[0];
	if (!strcmp(w, "answer") || !strcmp(w, "authority") ||
	    !strcmp(w, "additional")) {
		int s = w[1] == 'n' ? SEC_AN : w[1] == 'u' ? SEC_NS : SEC_AR;
		ldns_rr *rr;
		if (!t.more)
			return perr(p, "%s RECORD", w);
		if (parse_rr(
		        p, after_words(text, 1), (const uint8_t *)"", &rr) != 0)
			return -1;
		ldns_rr_list_push_rr(d->sec[s], rr);
		return 0;
	}
	if (tokenize(p, text, &t) != 0)
		return -1;
	if (!strcmp(w, "genuine")) {
		if (t.n != 1)
			return perr(p, "genuine takes no argument");
		d->genuine = true;
		return 0;
	}
	if (!strcmp(w, "flags")) {
		d->flags_set = true;
		d->flags = 0;
		for (int i = 1; i < t.n; i++) {
			if (!strcmp(t.v[i], "aa"))
				d->flags |= DNS_FLAG_AA;
			else if (!strcmp(t.v[i], "tc"))
				d->flags |= DNS_FLAG_TC;
			else if (!strcmp(t.v[i], "rd"))
				d->flags |= DNS_FLAG_RD;
			else if (!strcmp(t.v[i], "ra"))
				d->flags |= DNS_FLAG_RA;
			else if (!strcmp(t.v[i], "ad"))
				d->flags |= DNS_FLAG_AD;
			else if (!strcmp(t.v[i], "cd"))
				d->flags |= DNS_FLAG_CD;
			else if (!strcmp(t.v[i], "noqr"))
				d->noqr = true;
			else if (strcmp(t.v[i], "-") != 0)
				return perr(p,
				    "'%s': not a flag (aa tc rd ra ad cd "
				    "noqr -)",
				    t.v[i]);
		}
		return 0;
	}
	if (!strcmp(w, "rcode")) {
		if (t.n != 2)
			return perr(p, "rcode NAME|N");
		return parse_rcode(p, t.v[1], &d->rcode);
	}
	if (!strcmp(w, "edns")) {
		bool b;
		if (t.n != 2 || parse_bool(p, t.v[1], &b) != 0)
			return perr(p, "edns on|off");
		d->edns = b;
		return 0;
	}
	if (!strcmp(w, "id")) {
		uint64_t v;
		if (t.n != 2)
			return perr(p, "id wrong|N");
		if (!strcmp(t.v[1], "wrong")) {
			d->idmode = ID_WRONG;
			return 0;
		}
		if (parse_u64(p, t.v[1], 65535, &v) != 0)
			return -1;
		d->idmode = ID_SET;
		d->id = (uint16_t)v;
		return 0;
	}
	if (!strcmp(w, "question")) {
		if (t.n == 2 && !strcmp(t.v[1], "none"))
			d->qmode = Q_NONE;
		else if (t.n == 2 && !strcmp(t.v[1], "twice"))
			d->qmode = Q_TWICE;
		else if (t.n == 2 && !strcmp(t.v[1], "case-flip"))
			d->qmode = Q_CASEFLIP;
		else if (t.n == 3 || t.n == 4) {
			d->qmode = Q_OTHER;
			d->qclass = DNS_C_IN;
			if (parse_name(p, t.v[1], d->qname) != 0 ||
			    parse_type(p, t.v[2], &d->qtype) != 0)
				return -1;
			if (t.n == 4 && !class_from_str(t.v[3], &d->qclass))
				return perr(p, "'%s': not a class", t.v[3]);
		} else
			return perr(p,
			    "question none|twice|case-flip|NAME "
			    "TYPE [CLASS]");
		return 0;
	}
	if (!strcmp(w, "from")) {
		if (t.n != 2)
			return perr(p, "from ADDR[@PORT] | from @PORT");
		d->from_set = true;
		if (t.v[1][0] == '@') {
			uint64_t v;
			d->from_port_only = true;
			if (parse_u64(p, t.v[1] + 1, 65535, &v) != 0)
				return -1;
			d->from.port = (uint16_t)v;
			return 0;
		}
		return parse_addr(p, t.v[1], &d->from);
	}
	return perr(p, "unknown reply directive '%s'", w);
}

static void
dgram_init(struct dgram *d)
{
	memset(d, 0, sizeof(*d));
	d->rcode = -1;
	d->edns = -1;
	for (int s = 0; s < 3; s++)
		d->sec[s] = ldns_rr_list_new();
}

/* reply ADDR[,ADDR...]|* NAME|* TYPE|* [udp|tcp] [times N] / lines /
 * [next / lines]... / end */
static int
parse_reply(struct parser *p, struct toks *t)
{
	struct scenario *sc = p->sc;
	struct script *s;

	if (t->n < 4)
		return perr(p,
		    "reply ADDR[,ADDR...]|* NAME|* TYPE|* [udp|tcp] "
		    "[times N]");
	if (sc->nscripts == MAX_SCRIPTS)
		return perr(p, "more than %d replies", MAX_SCRIPTS);
	s = &sc->scripts[sc->nscripts++];
	memset(s, 0, sizeof(*s));
	s->line = p->no;
	if (strcmp(t->v[1], "*") != 0) {
		char list[512], *save = NULL;
		snprintf(list, sizeof(list), "%s", t->v[1]);
		for (char *a = strtok_r(list, ",", &save); a != NULL;
		     a = strtok_r(NULL, ",", &save)) {
			if (s->naddr == MAX_SCRIPT_ADDR)
				return perr(p, "more than %d addresses",
				    MAX_SCRIPT_ADDR);
			if (parse_addr(p, a, &s->addr[s->naddr++]) != 0)
				return -1;
		}
	}
	s->any_name = !strcmp(t->v[2], "*");
	if (!s->any_name && parse_name(p, t->v[2], s->qname) != 0)
		return -1;
	s->any_type = !strcmp(t->v[3], "*");
	if (!s->any_type && parse_type(p, t->v[3], &s->qtype) != 0)
		return -1;
	for (int i = 4; i < t->n; i++) {
		if (!strcmp(t->v[i], "udp"))
			s->transport = 1;
		else if (!strcmp(t->v[i], "tcp"))
			s->transport = 2;
		else if (!strcmp(t->v[i], "times") && i + 1 < t->n) {
			if (parse_u32(p, t->v[++i], &s->times) != 0)
				return -1;
			if (s->times == 0)
				return perr(p,
				    "times 0: the reply is never "
				    "used");
		} else
			return perr(
			    p, "'%s': udp, tcp or times N expected", t->v[i]);
	}
	s->nd = 1;
	dgram_init(&s->d[0]);
	for (p->i++; p->i < p->n; p->i++) {
		const char *text = p->l[p->i].text;
		p->no = p->l[p->i].no;
		if (!strcmp(text, "end"))
			return 0;
		if (!strcmp(text, "next")) {
			if (s->nd == MAX_DGRAMS)
				return perr(
				    p, "more than %d datagrams", MAX_DGRAMS);
			dgram_init(&s->d[s->nd++]);
			continue;
		}
		if (parse_dgram_line(p, &s->d[s->nd - 1], text) != 0)
			return -1;
	}
	p->no = s->line;
	return perr(p, "reply: no 'end'");
}

/* ---- steps ---- */

static struct step *
new_step(struct parser *p, enum step_kind k)
{
	struct scenario *sc = p->sc;
	struct step *s;

	if (sc->nsteps == MAX_STEPS) {
		perr(p, "more than %d steps", MAX_STEPS);
		return NULL;
	}
	if (sc->nsteps % 64 == 0) {
		struct step *n =
		    realloc(sc->steps, (sc->nsteps + 64) * sizeof(*n));
		if (n == NULL) {
			perr(p, "out of memory");
			return NULL;
		}
		sc->steps = n;
	}
	s = &sc->steps[sc->nsteps++];
	memset(s, 0, sizeof(*s));
	s->kind = (uint8_t)k;
	s->line = p->no;
	snprintf(s->text, sizeof(s->text), "%s", p->l[p->i].text);
	return s;
}

static int
find_opt(const char *name)
{
	for (int i = 0; i < OPT_COUNT; i++)
		if (!strcmp(opt_names[i], name))
			return i;
	return -1;
}

static int
parse_opt_value(struct parser *p, int i, const char *v, uint32_t *out)
{
	if (opt_is_bool(i)) {
		bool b;
		if (parse_bool(p, v, &b) != 0)
			return -1;
		*out = b;
		return 0;
	}
	return parse_u32(p, v, out);
}

/* query NAME TYPE [CLASS] [OPTION=VALUE...] */
static int
parse_query(struct parser *p, struct toks *t)
{
	struct step *s;

	if (t->n < 3)
		return perr(p, "query NAME TYPE [CLASS] [OPTION=VALUE...]");
	if ((s = new_step(p, S_QUERY)) == NULL)
		return -1;
	s->rclass = DNS_C_IN;
	if (parse_name(p, t->v[1], s->name) != 0 ||
	    parse_type(p, t->v[2], &s->type) != 0)
		return -1;
	for (int i = 3; i < t->n; i++) {
		char *eq = strchr(t->v[i], '=');
		if (eq == NULL) {
			if (i == 3 && class_from_str(t->v[i], &s->rclass))
				continue;
			return perr(
			    p, "'%s': CLASS or OPTION=VALUE expected", t->v[i]);
		}
		*eq = 0;
		int o = find_opt(t->v[i]);
		if (o < 0)
			return perr(p, "'%s': unknown option", t->v[i]);
		if (parse_opt_value(p, o, eq + 1, &s->opts.v[o]) != 0)
			return -1;
		s->opts.mask |= 1u << o;
	}
	p->sc->queried = true;
	return 0;
}

static int
exp_rr_cb(struct parser *p, const char *text, void *arg)
{
	struct expect *e = arg;

	if (e->nrrs == MAX_EXPECT_RRS)
		return perr(p, "more than %d expected records", MAX_EXPECT_RRS);
	if (e->nrrs % 64 == 0) {
		struct exp_rr *n = realloc(e->rrs, (e->nrrs + 64) * sizeof(*n));
		if (n == NULL)
			return perr(p, "out of memory");
		e->rrs = n;
	}
	if (parse_exp_rr(p, text, &e->rrs[e->nrrs]) != 0)
		return -1;
	e->nrrs++;
	return 0;
}

/* The transport word and NAME TYPE pair of send / received checks. */
static int
parse_send_filter(
    struct parser *p, struct toks *t, int from, int to, struct expect *e)
{
	int words[MAX_TOKENS], nw = 0;

	for (int i = from; i < to; i++) {
		if (!strcmp(t->v[i], "udp"))
			e->transport = 1;
		else if (!strcmp(t->v[i], "tcp"))
			e->transport = 2;
		else
			words[nw++] = i;
	}
	if (nw == 0)
		return 0;
	if (nw != 2)
		return perr(p, "NAME TYPE expected");
	e->have_name = true;
	if (parse_name(p, t->v[words[0]], e->name) != 0 ||
	    parse_type(p, t->v[words[1]], &e->type) != 0)
		return -1;
	return 0;
}

/* expect cache NAME TYPE [class C] [kind K] [rank R] [ttl RANGE]
 * [nrr RANGE] [rdata RDATA...] */
static int
parse_cache_expect(
    struct parser *p, struct toks *t, const char *line, struct expect *e)
{
	e->ckind = e->crank = -1;
	e->rclass = DNS_C_IN;
	if (t->n < 4)
		return perr(p,
		    "expect %s NAME TYPE [class C] [kind K] "
		    "[rank R] [ttl RANGE] [nrr RANGE] [rdata ...]",
		    t->v[1]);
	if (parse_name(p, t->v[2], e->name) != 0)
		return -1;
	if (!strcasecmp(t->v[3], "NXDOMAIN"))
		e->type = CACHE_TYPE_NXDOMAIN;
	else if (parse_type(p, t->v[3], &e->type) != 0)
		return -1;
	for (int i = 4; i < t->n; i++) {
		const char *k = t->v[i];
		if (!strcmp(k, "rdata")) {
			char buf[65536];
			char on[DNS_NAME_TEXT_MAX];
			if (i + 1 >= t->n)
				return perr(p, "rdata: what rdata?");
			if (e->type == CACHE_TYPE_NXDOMAIN)
				return perr(p, "rdata of an NXDOMAIN entry");
			name_str(on, sizeof(on), e->name);
			snprintf(buf, sizeof(buf), "%s 0 %s %s %s", on,
			    class_str(e->rclass), type_str(e->type),
			    after_words(line, i + 1));
			return parse_rr(p, buf, (const uint8_t *)"", &e->rdata);
		}
		if (i + 1 >= t->n)
			return perr(p, "'%s' needs a value", k);
		const char *v = t->v[++i];
		if (e->neg && strcmp(k, "class") != 0)
			return perr(p, "no-cache takes only class and rdata");
		if (!strcmp(k, "class")) {
			if (!class_from_str(v, &e->rclass))
				return perr(p, "'%s': not a class", v);
		} else if (!strcmp(k, "kind")) {
			int found = -1;
			for (int x = 0; x < 3; x++)
				if (!strcmp(kind_names[x], v))
					found = x;
			if (found < 0)
				return perr(p,
				    "'%s': rrset, nxdomain or "
				    "nodata expected",
				    v);
			e->ckind = found;
		} else if (!strcmp(k, "rank")) {
			if (parse_rank(p, v, &e->crank) != 0)
				return -1;
		} else if (!strcmp(k, "ttl")) {
			e->have_ttl = true;
			if (parse_range(p, v, &e->ttl) != 0)
				return -1;
		} else if (!strcmp(k, "nrr")) {
			e->have_nrr = true;
			if (parse_range(p, v, &e->nrr) != 0)
				return -1;
		} else
			return perr(p,
			    "'%s': class, kind, rank, ttl, nrr or "
			    "rdata expected",
			    k);
	}
	if (t->more)
		return perr(p, "more than %d words", MAX_TOKENS);
	return 0;
}

static int
parse_expect(struct parser *p, struct toks *t, const char *line)
{
	struct step *s;
	struct expect *e;
	const char *w;

	if (!p->sc->queried)
		return perr(p, "expect before any query");
	if (t->n < 2)
		return perr(p, "expect WHAT ...");
	if ((s = new_step(p, S_EXPECT)) == NULL)
		return -1;
	e = s->e = calloc(1, sizeof(*e));
	if (e == NULL)
		return perr(p, "out of memory");
	e->trace_kind = -1;
	w = t->v[1];
	if (t->more && strcmp(w, "cache") != 0 && strcmp(w, "no-cache") != 0)
		return perr(p, "more than %d words", MAX_TOKENS);
	if (!strcmp(w, "rcode")) {
		int rc;
		if (t->n != 3 || parse_rcode(p, t->v[2], &rc) != 0)
			return perr(p, "expect rcode NAME|N");
		e->kind = E_RCODE;
		e->range.lo = e->range.hi = (uint64_t)rc;
		return 0;
	}
	if (!strcmp(w, "failed")) {
		bool b;
		if (t->n != 3 || parse_bool(p, t->v[2], &b) != 0)
			return perr(p, "expect failed yes|no");
		e->kind = E_FAILED;
		e->neg = !b;
		return 0;
	}
	if (!strcmp(w, "reason")) {
		if (t->n != 3)
			return perr(p, "expect reason \"TEXT\"");
		e->kind = E_REASON;
		snprintf(e->text, sizeof(e->text), "%s", t->v[2]);
		return 0;
	}
	static const struct {
		const char *w;
		enum expect_kind k;
	} counts[] = {{"ede", E_EDE}, {"sends", E_SENDS},
	    {"ancount", E_ANCOUNT}, {"nscount", E_NSCOUNT},
	    {"ignored", E_IGNORED}, {"elapsed", E_ELAPSED}};
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		if (strcmp(w, counts[i].w) != 0)
			continue;
		if (t->n != 3)
			return perr(p, "expect %s RANGE", w);
		e->kind = (uint8_t)counts[i].k;
		return parse_range(p, t->v[2], &e->range);
	}
	if (!strcmp(w, "answer") || !strcmp(w, "authority")) {
		if (t->n != 2)
			return perr(p, "expect %s, then records, then end", w);
		e->kind = w[1] == 'n' ? E_ANSWER : E_AUTHORITY;
		for (p->i++; p->i < p->n; p->i++) {
			const char *text = p->l[p->i].text;
			p->no = p->l[p->i].no;
			if (!strcmp(text, "end"))
				return 0;
			if (!strncmp(text, "$GENERATE", 9)) {
				if (generate(p, text, exp_rr_cb, e) != 0)
					return -1;
				continue;
			}
			if (exp_rr_cb(p, text, e) != 0)
				return -1;
		}
		p->no = s->line;
		return perr(p, "expect %s: no 'end'", w);
	}
	if (!strcmp(w, "trace") || !strcmp(w, "no-trace")) {
		e->kind = E_TRACE;
		e->neg = w[0] == 'n';
		if (t->n < 3 || t->n > 4)
			return perr(p, "expect %s KIND [\"TEXT\"]", w);
		if (parse_trace_kind(p, t->v[2], &e->trace_kind) != 0)
			return -1;
		if (t->n == 4)
			snprintf(e->text, sizeof(e->text), "%s", t->v[3]);
		return 0;
	}
	if (!strcmp(w, "send")) {
		e->kind = E_SEND;
		if (t->n < 4)
			return perr(p,
			    "expect send N|last|last-K ADDR [NAME "
			    "TYPE] [udp|tcp]");
		const char *n = t->v[2];
		uint64_t v;
		if (!strcmp(n, "last"))
			e->send_index = 0;
		else if (!strncmp(n, "last-", 5)) {
			if (parse_u64(p, n + 5, MAX_LOG, &v) != 0)
				return -1;
			e->send_index = -(int)v;
		} else {
			if (parse_u64(p, n, MAX_LOG, &v) != 0 || v == 0)
				return perr(p, "'%s': sends count from 1", n);
			e->send_index = (int)v;
		}
		if (parse_addr(p, t->v[3], &e->addr) != 0)
			return -1;
		return parse_send_filter(p, t, 4, t->n, e);
	}
	if (!strcmp(w, "received") || !strcmp(w, "received-total")) {
		e->kind = E_RECEIVED;
		e->total = w[8] == '-';
		if (t->n < 4)
			return perr(p,
			    "expect %s ADDR [NAME TYPE] [udp|tcp] "
			    "RANGE",
			    w);
		if (parse_addr(p, t->v[2], &e->addr) != 0 ||
		    parse_range(p, t->v[t->n - 1], &e->range) != 0)
			return -1;
		return parse_send_filter(p, t, 3, t->n - 1, e);
	}
	if (!strcmp(w, "cache") || !strcmp(w, "no-cache")) {
		e->kind = E_CACHE;
		e->neg = w[0] == 'n';
		return parse_cache_expect(p, t, line, e);
	}
	if (!strcmp(w, "lame") || !strcmp(w, "no-lame")) {
		e->kind = E_LAME;
		e->neg = w[0] == 'n';
		if (t->n != 4)
			return perr(p, "expect %s ADDR ZONE", w);
		if (parse_addr(p, t->v[2], &e->addr) != 0 ||
		    parse_name(p, t->v[3], e->zone) != 0)
			return -1;
		return 0;
	}
	return perr(p, "unknown check 'expect %s'", w);
}

/* server ADDR MODE... */
static int
parse_server(struct parser *p, struct toks *t)
{
	struct step *s;

	if (t->n < 3)
		return perr(p,
		    "server ADDR MODE... (ok, dead, drop N, "
		    "refused, servfail, tc, noedns, lame, upward, "
		    "recursive, noaa, delay MS)");
	if ((s = new_step(p, S_SERVER)) == NULL)
		return -1;
	if (parse_addr(p, t->v[1], &s->addr) != 0)
		return -1;
	s->delay = DEFAULT_DELAY;
	for (int i = 2; i < t->n; i++) {
		const char *m = t->v[i];
		bool found = false;
		if (!strcmp(m, "ok"))
			continue;
		if (!strcmp(m, "drop") || !strcmp(m, "delay")) {
			uint32_t v;
			if (i + 1 >= t->n || parse_u32(p, t->v[++i], &v) != 0)
				return perr(p, "%s N", m);
			if (m[1] == 'r')
				s->drop = v;
			else
				s->delay = v;
			continue;
		}
		for (size_t k = 0;
		     k < sizeof(mode_names) / sizeof(mode_names[0]); k++) {
			if (!strcmp(mode_names[k].name, m)) {
				s->modes |= mode_names[k].bit;
				found = true;
			}
		}
		if (!found)
			return perr(p, "'%s': not a server mode", m);
	}
	return 0;
}

static int
need_env(struct parser *p, const char *what)
{
	if (p->sc->queried)
		return perr(p, "'%s' must come before the first query", what);
	return 0;
}

static int
parse_line(struct parser *p)
{
	struct scenario *sc = p->sc;
	const char *line = p->l[p->i].text;
	struct toks t;
	struct step *s;

	p->no = p->l[p->i].no;
	if (tokenize_n(p, line, &t, MAX_TOKENS) != 0)
		return -1;
	const char *w = t.v[0];
	/* only records (store, expect cache ... rdata) run past the words */
	if (t.more && strcmp(w, "store") != 0 && strcmp(w, "expect") != 0)
		return perr(p, "more than %d words", MAX_TOKENS);
	if (!strcmp(w, "zone"))
		return need_env(p, w) ? -1 : parse_zone(p, &t);
	if (!strcmp(w, "reply"))
		return need_env(p, w) ? -1 : parse_reply(p, &t);
	if (!strcmp(w, "query"))
		return parse_query(p, &t);
	if (!strcmp(w, "expect"))
		return parse_expect(p, &t, line);
	if (!strcmp(w, "server"))
		return parse_server(p, &t);
	if (!strcmp(w, "pending")) {
		if (t.n != 2 || need_env(p, w))
			return perr(p, "pending \"WHY\" (before any query)");
		sc->is_pending = true;
		snprintf(sc->pending, sizeof(sc->pending), "%s", t.v[1]);
		return 0;
	}
	if (!strcmp(w, "hint")) {
		struct hint *h;
		if (need_env(p, w))
			return -1;
		if (t.n < 3)
			return perr(p, "hint NAME ADDR [ADDR...]");
		if (sc->nhints == LIM_MAX_NS_PER_CUT)
			return perr(
			    p, "more than %d hints", LIM_MAX_NS_PER_CUT);
		h = &sc->hints[sc->nhints++];
		if (parse_name(p, t.v[1], h->name) != 0)
			return -1;
		for (int i = 2; i < t.n; i++) {
			if (h->na == LIM_MAX_ADDR_PER_NS)
				return perr(p, "more than %d addresses",
				    LIM_MAX_ADDR_PER_NS);
			if (parse_addr(p, t.v[i], &h->a[h->na++]) != 0)
				return -1;
		}
		return 0;
	}
	if (!strcmp(w, "forward")) {
		struct fwd *f;
		if (need_env(p, w))
			return -1;
		if (t.n < 3)
			return perr(
			    p, "forward ZONE ADDR[@PORT]... [fallback]");
		if (sc->nfwd == ITER_MAX_FORWARDS)
			return perr(
			    p, "more than %d forward zones", ITER_MAX_FORWARDS);
		f = &sc->fwd[sc->nfwd++];
		if (parse_name(p, t.v[1], f->zone) != 0)
			return -1;
		for (int i = 2; i < t.n; i++) {
			if (!strcmp(t.v[i], "fallback")) {
				f->fallback = true;
				continue;
			}
			if (f->na == LIM_MAX_ADDR_PER_NS)
				return perr(p, "more than %d forwarders",
				    LIM_MAX_ADDR_PER_NS);
			if (parse_addr(p, t.v[i], &f->a[f->na++]) != 0)
				return -1;
		}
		if (f->na == 0)
			return perr(p, "forward %s: no address", t.v[1]);
		return 0;
	}
	if (!strcmp(w, "cache")) {
		uint64_t v;
		if (need_env(p, w))
			return -1;
		if (t.n != 3)
			return perr(p,
			    "cache size BYTES[K|M] | cache "
			    "max_entries N");
		if (!strcmp(t.v[1], "size")) {
			char num[32];
			uint64_t mul = 1;
			size_t l = strlen(t.v[2]);
			snprintf(num, sizeof(num), "%s", t.v[2]);
			if (l > 0 && (num[l - 1] == 'K' || num[l - 1] == 'M')) {
				mul = num[l - 1] == 'K' ? 1024 : 1024 * 1024;
				num[l - 1] = 0;
			}
			if (parse_u64(p, num, 1u << 30, &v) != 0)
				return -1;
			sc->cache_bytes = v * mul;
			return 0;
		}
		if (!strcmp(t.v[1], "max_entries"))
			return parse_u32(p, t.v[2], &sc->cache_entries);
		return perr(p, "'%s': size or max_entries expected", t.v[1]);
	}
	if (!strcmp(w, "option")) {
		int o;
		uint32_t v;
		if (t.n != 3)
			return perr(p, "option NAME VALUE");
		if ((o = find_opt(t.v[1])) < 0)
			return perr(p, "'%s': unknown option", t.v[1]);
		if (parse_opt_value(p, o, t.v[2], &v) != 0)
			return -1;
		if (!sc->queried) {
			sc->opts.mask |= 1u << o;
			sc->opts.v[o] = v;
			return 0;
		}
		if ((s = new_step(p, S_OPTION)) == NULL)
			return -1;
		s->opt = o;
		s->optval = v;
		return 0;
	}
	if (!strcmp(w, "time")) {
		if (t.n != 2)
			return perr(p, "time +MS | time MS");
		if (!sc->queried && t.v[1][0] != '+')
			return parse_u64(p, t.v[1], UINT64_MAX / 2, &sc->start);
		if ((s = new_step(p, S_TIME)) == NULL)
			return -1;
		s->relative = t.v[1][0] == '+';
		return parse_u64(
		    p, t.v[1] + s->relative, UINT64_MAX / 4, &s->t);
	}
	if (!strcmp(w, "seed")) {
		if (t.n != 2)
			return perr(p, "seed N");
		if (!sc->queried)
			return parse_u32(p, t.v[1], &sc->seed);
		if ((s = new_step(p, S_SEED)) == NULL)
			return -1;
		return parse_u32(p, t.v[1], &s->seed);
	}
	if (!strcmp(w, "flush")) {
		if (t.n < 2 || t.n > 3)
			return perr(p, "flush all | flush NAME [TYPE]");
		if ((s = new_step(p, S_FLUSH)) == NULL)
			return -1;
		if (!strcmp(t.v[1], "all")) {
			if (t.n != 2)
				return perr(p, "flush all");
			s->flush_all = true;
			return 0;
		}
		if (parse_name(p, t.v[1], s->name) != 0)
			return -1;
		return t.n == 3 ? parse_type(p, t.v[2], &s->type) : 0;
	}
	if (!strcmp(w, "store")) {
		int rank = 0;
		if (t.n < 3)
			return perr(p, "store RANK RECORD");
		if ((s = new_step(p, S_STORE)) == NULL)
			return -1;
		if (parse_rank(p, t.v[1], &rank) != 0)
			return -1;
		s->rank = (uint8_t)rank;
		return parse_rr(
		    p, after_words(line, 2), (const uint8_t *)"", &s->rr);
	}
	if (!strcmp(w, "reset")) {
		if (t.n != 1)
			return perr(p, "reset takes no argument");
		return new_step(p, S_RESET) ? 0 : -1;
	}
	if (!strcmp(w, "end") || !strcmp(w, "next"))
		return perr(p, "'%s' outside a block", w);
	return perr(p, "unknown directive '%s'", w);
}

static void
scenario_free(struct scenario *sc)
{
	if (sc == NULL)
		return;
	for (unsigned i = 0; i < sc->nzones; i++)
		ldns_rr_list_deep_free(sc->zones[i].rrs);
	for (unsigned i = 0; i < sc->nscripts; i++)
		for (unsigned k = 0; k < sc->scripts[i].nd; k++)
			for (int s = 0; s < 3; s++)
				ldns_rr_list_deep_free(
				    sc->scripts[i].d[k].sec[s]);
	for (unsigned i = 0; i < sc->nsteps; i++) {
		struct step *s = &sc->steps[i];
		if (s->rr != NULL)
			ldns_rr_free(s->rr);
		if (s->e != NULL) {
			for (unsigned k = 0; k < s->e->nrrs; k++)
				ldns_rr_free(s->e->rrs[k].rr);
			free(s->e->rrs);
			if (s->e->rdata != NULL)
				ldns_rr_free(s->e->rdata);
			free(s->e);
		}
	}
	free(sc->steps);
	free(sc);
}

/* Parse @p text (NUL-terminated, modified) named @p file. Always returns
 * a scenario; sc->err is set on a parse error. */
static struct scenario *
scenario_parse(const char *file, char *text)
{
	struct scenario *sc = calloc(1, sizeof(*sc));
	struct parser p = {.sc = sc};

	if (sc == NULL)
		return NULL;
	snprintf(sc->file, sizeof(sc->file), "%s", file);
	sc->start = DEFAULT_START;
	sc->seed = DEFAULT_SEED;
	sc->cache_bytes = 8u << 20;
	if (split_lines(&p, text) == 0) {
		for (p.i = 0; p.i < p.n; p.i++)
			if (parse_line(&p) != 0)
				break;
	}
	if (sc->err[0] == 0) {
		p.no = p.n ? p.l[p.n - 1].no : 1;
		if (sc->nhints == 0 && sc->nfwd == 0)
			perr(&p, "no root hints: add 'hint NAME ADDR'");
		else if (!sc->queried)
			perr(&p,
			    "no query: a scenario asks at least one "
			    "question");
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.l[i].text);
	free(p.l);
	return sc;
}

static struct scenario *
scenario_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct scenario *sc;
	char *buf;
	size_t n;

	if (f == NULL) {
		sc = calloc(1, sizeof(*sc));
		if (sc != NULL)
			snprintf(sc->err, sizeof(sc->err),
			    "%s: cannot open: %s", path, strerror(errno));
		return sc;
	}
	buf = malloc(MAX_FILE_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, MAX_FILE_BYTES + 1, f);
	fclose(f);
	if (n > MAX_FILE_BYTES) {
		free(buf);
		sc = calloc(1, sizeof(*sc));
		if (sc != NULL)
			snprintf(sc->err, sizeof(sc->err),
			    "%s:1: larger than %u bytes", path, MAX_FILE_BYTES);
		return sc;
	}
	buf[n] = 0;
	if (memchr(buf, 0, n) != NULL) {
		free(buf);
		sc = calloc(1, sizeof(*sc));
		if (sc != NULL)
			snprintf(sc->err, sizeof(sc->err),
			    "%s:1: a NUL byte: not a text file", path);
		return sc;
	}
	sc = scenario_parse(path, buf);
	free(buf);
	return sc;
}

/* ------------------------------------------------------------ messages */

/* A query as the iterator sent it. */
struct query {
	uint16_t id;
	bool rd, edns, tcp;
	uint16_t udp;        /* its EDNS buffer size; 512 without EDNS */
	const uint8_t *qraw; /* the question name as sent (0x20 case) */
	size_t qnlen;
	uint8_t qname[LIM_NAME_MAX]; /* lowercased */
	uint16_t qtype, qclass;
};

/* A reply being built. Records are owned (ldns clones). */
struct msg {
	uint16_t id, flags;
	uint8_t rcode;
	unsigned qdcount;
	uint8_t qname[LIM_NAME_MAX];
	size_t qnlen;
	uint16_t qtype, qclass;
	bool edns;
	ldns_rr_list *sec[3];
};

static bool
query_parse(const uint8_t *pkt, size_t len, bool tcp, struct query *q)
{
	size_t nl, off;

	memset(q, 0, sizeof(*q));
	if (len < DNS_HDR_LEN + 5 || dns_get16(pkt + 4) != 1)
		return false;
	nl = dns_name_len(pkt + DNS_HDR_LEN, len - DNS_HDR_LEN);
	if (nl == 0 || DNS_HDR_LEN + nl + 4 > len)
		return false;
	q->id = dns_get16(pkt);
	q->rd = (dns_get16(pkt + 2) & DNS_FLAG_RD) != 0;
	q->tcp = tcp;
	q->qraw = pkt + DNS_HDR_LEN;
	q->qnlen = nl;
	dns_name_lower(q->qname, q->qraw);
	q->qtype = dns_get16(pkt + DNS_HDR_LEN + nl);
	q->qclass = dns_get16(pkt + DNS_HDR_LEN + nl + 2);
	q->udp = LIM_UDP_NOEDNS;
	off = DNS_HDR_LEN + nl + 4;
	if (dns_get16(pkt + 10) >= 1 && off + 11 <= len && pkt[off] == 0 &&
	    dns_get16(pkt + off + 1) == DNS_T_OPT) {
		q->edns = true;
		uint16_t sz = dns_get16(pkt + off + 3);
		q->udp = sz > LIM_UDP_NOEDNS ? sz : LIM_UDP_NOEDNS;
	}
	return true;
}

static void
msg_init(struct msg *m, const struct query *q)
{
	memset(m, 0, sizeof(*m));
	m->id = q->id;
	m->flags = DNS_FLAG_QR | (q->rd ? DNS_FLAG_RD : 0);
	m->qdcount = 1;
	memcpy(m->qname, q->qraw, q->qnlen);
	m->qnlen = q->qnlen;
	m->qtype = q->qtype;
	m->qclass = q->qclass;
	m->edns = q->edns;
	for (int s = 0; s < 3; s++)
		m->sec[s] = ldns_rr_list_new();
}

static void
msg_clear_sections(struct msg *m)
{
	for (int s = 0; s < 3; s++) {
		ldns_rr_list_deep_free(m->sec[s]);
		m->sec[s] = ldns_rr_list_new();
	}
}

static void
msg_free(struct msg *m)
{
	for (int s = 0; s < 3; s++)
		ldns_rr_list_deep_free(m->sec[s]);
}

static size_t
rdata_wire(const ldns_rr *rr, uint8_t *out, size_t cap)
{
	ldns_buffer *b = ldns_buffer_new(512);
	size_t n = SIZE_MAX;

	if (b == NULL)
		return SIZE_MAX;
	if (ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK &&
	    ldns_buffer_position(b) <= cap) {
		n = ldns_buffer_position(b);
		if (out != NULL)
			memcpy(out, ldns_buffer_begin(b), n);
	}
	ldns_buffer_free(b);
	return n;
}

/* The message in wire form, names uncompressed. @return a malloc'd buffer,
 * or NULL when it would exceed 65535 bytes. */
static uint8_t *
msg_wire(const struct msg *m, size_t *len)
{
	static uint8_t buf[LIM_MSG_MAX];
	size_t o = DNS_HDR_LEN;
	uint16_t count[3];

	memset(buf, 0, DNS_HDR_LEN);
	dns_put16(buf, m->id);
	dns_put16(buf + 2, (uint16_t)(m->flags | (m->rcode & 0xf)));
	dns_put16(buf + 4, (uint16_t)m->qdcount);
	for (unsigned i = 0; i < m->qdcount; i++) {
		if (o + m->qnlen + 4 > sizeof(buf))
			return NULL;
		memcpy(buf + o, m->qname, m->qnlen);
		o += m->qnlen;
		dns_put16(buf + o, m->qtype);
		dns_put16(buf + o + 2, m->qclass);
		o += 4;
	}
	for (int s = 0; s < 3; s++) {
		size_t n = ldns_rr_list_rr_count(m->sec[s]);
		count[s] = (uint16_t)n;
		for (size_t i = 0; i < n; i++) {
			const ldns_rr *rr = ldns_rr_list_rr(m->sec[s], i);
			const ldns_rdf *ow = ldns_rr_owner(rr);
			size_t ol = ldns_rdf_size(ow);
			if (o + ol + 10 > sizeof(buf))
				return NULL;
			memcpy(buf + o, ldns_rdf_data(ow), ol);
			o += ol;
			dns_put16(buf + o, (uint16_t)ldns_rr_get_type(rr));
			dns_put16(buf + o + 2, (uint16_t)ldns_rr_get_class(rr));
			dns_put32(buf + o + 4, ldns_rr_ttl(rr));
			size_t rl = rdata_wire(rr, buf + o + 10,
			    sizeof(buf) - o - 10 < 65535 ? sizeof(buf) - o - 10
			                                 : 65535);
			if (rl == SIZE_MAX)
				return NULL;
			dns_put16(buf + o + 8, (uint16_t)rl);
			o += 10 + rl;
		}
	}
	if (m->edns) {
		static const uint8_t opt[11] = {0, 0, DNS_T_OPT,
		    LIM_EDNS_BUFSIZE >> 8, LIM_EDNS_BUFSIZE & 0xff, 0, 0, 0, 0,
		    0, 0};
		if (o + sizeof(opt) > sizeof(buf))
			return NULL;
		memcpy(buf + o, opt, sizeof(opt));
		o += sizeof(opt);
		count[SEC_AR]++;
	}
	dns_put16(buf + 6, count[SEC_AN]);
	dns_put16(buf + 8, count[SEC_NS]);
	dns_put16(buf + 10, count[SEC_AR]);
	uint8_t *out = malloc(o);
	if (out == NULL)
		return NULL;
	memcpy(out, buf, o);
	*len = o;
	return out;
}

/* ------------------------------------------------------------ the run */

struct srv {
	struct addr a;
	unsigned modes, drop, delay;
	struct {
		uint8_t name[LIM_NAME_MAX];
		uint16_t type, rclass;
		unsigned n;
	} qc[MAX_QCOUNT]; /* datagrams seen per distinct question */
	unsigned nqc;
};

struct sendrec {
	unsigned qno; /* which question of the scenario */
	struct addr to;
	bool tcp, known, answered;
	uint8_t qname[LIM_NAME_MAX]; /* lowercased */
	uint16_t qtype;
};

/* The scenario's one clock, as both of the iterator's clocks. */
#define NOW(R) ((struct iter_now){(R)->now, (R)->now})

struct run {
	struct scenario *sc;
	struct cache *cache;
	struct infra *infra;
	struct deleg_hints hints;
	struct iter_forward fwd[ITER_MAX_FORWARDS];
	struct iter_env env;  /* options from option lines */
	struct iter_env qenv; /* the running question's (its own options) */
	struct cache_policy policy;
	uint64_t now;
	struct iter_scratch scratch;
	uint32_t rnd;
	struct srv srv[MAX_SERVERS];
	unsigned nsrv;
	unsigned used[MAX_SCRIPTS];
	struct sendrec *log;
	unsigned nlog;
	unsigned qno;
	/* the last question */
	struct iter_req *r;
	const struct step *q;
	uint64_t q_start, q_end;
	char q_err[256]; /* the runner's own complaint about it */
	/* reporting */
	unsigned failures;
	bool shown;     /* the last question's result and trace were printed */
	bool quiet;     /* pending: only the first failure, one line */
	bool trace_all; /* REPLAY_TRACE: show every question */
	char first_failure[512];
};

static uint16_t
eff_port(const struct run *R, const struct addr *a)
{
	return a->port ? a->port : R->env.port;
}

static bool
addr_eq(const struct run *R, const struct addr *a, const struct addr *b)
{
	return a->family == b->family &&
	    memcmp(a->ip, b->ip, a->family == AF_INET ? 4 : 16) == 0 &&
	    eff_port(R, a) == eff_port(R, b);
}

static struct srv *
srv_find(struct run *R, const struct addr *a)
{
	for (unsigned i = 0; i < R->nsrv; i++)
		if (addr_eq(R, &R->srv[i].a, a))
			return &R->srv[i];
	return NULL;
}

static void
srv_add(struct run *R, const struct addr *a)
{
	if (srv_find(R, a) != NULL || R->nsrv == MAX_SERVERS)
		return;
	memset(&R->srv[R->nsrv], 0, sizeof(R->srv[0]));
	R->srv[R->nsrv].a = *a;
	R->srv[R->nsrv].delay = DEFAULT_DELAY;
	R->nsrv++;
}

static bool
serves(const struct run *R, const struct zone *z, const struct srv *s)
{
	for (unsigned k = 0; k < z->nsrv; k++)
		if (addr_eq(R, &z->srv[k], &s->a))
			return true;
	return false;
}

/* ---- zone data ---- */

static bool
rr_at(const ldns_rr *rr, const uint8_t *name, uint16_t cls)
{
	return ldns_rr_get_class(rr) == cls && dns_name_eq(rr_owner(rr), name);
}

static const ldns_rr *
z_first(const struct zone *z, const uint8_t *name, uint16_t type, uint16_t cls)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		if (ldns_rr_get_type(rr) == type && rr_at(rr, name, cls))
			return rr;
	}
	return NULL;
}

/* Any record owned by @p name. */
static bool
z_has_name(const struct zone *z, const uint8_t *name, uint16_t cls)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++)
		if (rr_at(ldns_rr_list_rr(z->rrs, i), name, cls))
			return true;
	return false;
}

/* @p name exists: it owns records or has names below it. */
static bool
z_exists(const struct zone *z, const uint8_t *name, uint16_t cls)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		if (ldns_rr_get_class(rr) == cls &&
		    dns_name_under(rr_owner(rr), name))
			return true;
	}
	return false;
}

/* Append copies of the records of (@p name, @p type) (ANY: every type) to
 * @p to, owned by @p as when not NULL (wildcards). @return how many. */
static unsigned
z_add(const struct zone *z, const uint8_t *name, uint16_t type, uint16_t cls,
    ldns_rr_list *to, const uint8_t *as)
{
	unsigned n = 0;

	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(z->rrs, i);
		if (!rr_at(rr, name, cls) ||
		    (type != DNS_T_ANY && ldns_rr_get_type(rr) != type))
			continue;
		ldns_rr *c = ldns_rr_clone(rr);
		if (as != NULL) {
			ldns_rdf_deep_free(ldns_rr_owner(c));
			ldns_rr_set_owner(c,
			    ldns_dname_new_frm_data(
			        (uint16_t)dns_name_len(as, LIM_NAME_MAX), as));
		}
		ldns_rr_list_push_rr(to, c);
		n++;
	}
	return n;
}

static void
z_soa(const struct zone *z, uint16_t cls, struct msg *m)
{
	z_add(z, z->apex, DNS_T_SOA, cls, m->sec[SEC_NS], NULL);
}

/* The deepest zone holding @p name, among those @p s serves (every zone
 * when @p s is NULL). A DS question for a zone's apex goes to the parent
 * zone when the same server serves it, as real servers do. */
static const struct zone *
zone_for(const struct run *R, const struct srv *s, const uint8_t *name,
    uint16_t qtype)
{
	const struct scenario *sc = R->sc;
	const struct zone *best = NULL, *parent = NULL;

	for (unsigned i = 0; i < sc->nzones; i++) {
		const struct zone *z = &sc->zones[i];
		if ((s != NULL && !serves(R, z, s)) ||
		    !dns_name_under(name, z->apex))
			continue;
		unsigned l = dns_name_labels(z->apex);
		if (best == NULL || l > dns_name_labels(best->apex))
			best = z;
		if (l < dns_name_labels(name) &&
		    (parent == NULL || l > dns_name_labels(parent->apex)))
			parent = z;
	}
	if (best != NULL && qtype == DNS_T_DS &&
	    dns_name_eq(name, best->apex) && parent != NULL)
		return parent;
	return best;
}

static ldns_rr *
mk_rr(const uint8_t *owner, uint16_t type, uint16_t cls, uint32_t ttl,
    const uint8_t *target)
{
	ldns_rr *rr = ldns_rr_new();

	ldns_rr_set_owner(rr,
	    ldns_dname_new_frm_data(
	        (uint16_t)dns_name_len(owner, LIM_NAME_MAX), owner));
	ldns_rr_set_type(rr, (ldns_rr_type)type);
	ldns_rr_set_class(rr, (ldns_rr_class)cls);
	ldns_rr_set_ttl(rr, ttl);
	ldns_rr_push_rdf(rr,
	    ldns_dname_new_frm_data(
	        (uint16_t)dns_name_len(target, LIM_NAME_MAX), target));
	return rr;
}

/* A referral to the cut @p n of zone @p z: its NS set and DS set, and the
 * addresses of the NS names from the zone, else from another zone the same
 * server serves (sibling glue, as BIND gives it). */
static void
referral(const struct run *R, const struct srv *s, const struct zone *z,
    const uint8_t *n, uint16_t cls, struct msg *m)
{
	const struct scenario *sc = R->sc;

	z_add(z, n, DNS_T_NS, cls, m->sec[SEC_NS], NULL);
	z_add(z, n, DNS_T_DS, cls, m->sec[SEC_NS], NULL);
	for (size_t i = 0; i < ldns_rr_list_rr_count(z->rrs); i++) {
		const ldns_rr *ns = ldns_rr_list_rr(z->rrs, i);
		if ((uint16_t)ldns_rr_get_type(ns) != DNS_T_NS ||
		    !rr_at(ns, n, cls) || ldns_rr_rd_count(ns) != 1)
			continue;
		const uint8_t *t = ldns_rdf_data(ldns_rr_rdf(ns, 0));
		unsigned got = z_add(z, t, DNS_T_A, cls, m->sec[SEC_AR], NULL);
		got += z_add(z, t, DNS_T_AAAA, cls, m->sec[SEC_AR], NULL);
		for (unsigned k = 0; got == 0 && s != NULL && k < sc->nzones;
		     k++) {
			const struct zone *o = &sc->zones[k];
			if (o == z || !serves(R, o, s))
				continue;
			got += z_add(o, t, DNS_T_A, cls, m->sec[SEC_AR], NULL);
			got +=
			    z_add(o, t, DNS_T_AAAA, cls, m->sec[SEC_AR], NULL);
		}
	}
}

static bool
in_answer(const struct msg *m, const uint8_t *name)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(m->sec[SEC_AN]); i++)
		if (dns_name_eq(
		        rr_owner(ldns_rr_list_rr(m->sec[SEC_AN], i)), name))
			return true;
	return false;
}

enum auth_res {
	AR_DONE,
	AR_REFERRAL,
	AR_OUT
};

/*
 * Answer (@p cur, @p qtype) from zone @p z as its authoritative server
 * does (RFC 1034 4.3.2, RFC 6672, RFC 4592): a referral at a zone cut
 * above the name, DNAME substitution, the records, CNAMEs chased inside
 * the zone, wildcards, NODATA and NXDOMAIN with the SOA. @p cur becomes the
 * last name reached (AR_OUT: a name outside the zone).
 */
static enum auth_res
auth_answer(const struct run *R, const struct srv *s, const struct zone *z,
    uint8_t cur[LIM_NAME_MAX], uint16_t qtype, uint16_t cls, struct msg *m)
{
	for (unsigned hop = 0; hop < MAX_CNAME_SIM; hop++) {
		unsigned la = dns_name_labels(z->apex),
		         lc = dns_name_labels(cur);
		bool again = false;

		for (unsigned k = la; k <= lc && !again; k++) {
			const uint8_t *n = dns_name_suffix(cur, k);
			const ldns_rr *dn;
			if (k > la && z_first(z, n, DNS_T_NS, cls) != NULL &&
			    !(qtype == DNS_T_DS && k == lc)) {
				if (ldns_rr_list_rr_count(m->sec[SEC_AN]) > 0)
					return AR_DONE; /* a chain into a child
					                 */
				referral(R, s, z, n, cls, m);
				m->flags &= (uint16_t)~DNS_FLAG_AA;
				return AR_REFERRAL;
			}
			if (k == lc ||
			    (dn = z_first(z, n, DNS_T_DNAME, cls)) == NULL ||
			    ldns_rr_rd_count(dn) != 1)
				continue;
			const uint8_t *tg = ldns_rdf_data(ldns_rr_rdf(dn, 0));
			size_t pl = dns_name_len(cur, LIM_NAME_MAX) -
			    dns_name_len(n, LIM_NAME_MAX);
			size_t tl = dns_name_len(tg, LIM_NAME_MAX);
			uint8_t nn[LIM_NAME_MAX];
			z_add(z, n, DNS_T_DNAME, cls, m->sec[SEC_AN], NULL);
			if (pl + tl > LIM_NAME_MAX) {
				m->rcode = DNS_RCODE_YXDOMAIN;
				return AR_DONE;
			}
			memcpy(nn, cur, pl);
			memcpy(nn + pl, tg, tl);
			ldns_rr_list_push_rr(m->sec[SEC_AN],
			    mk_rr(cur, DNS_T_CNAME, cls, ldns_rr_ttl(dn), nn));
			memcpy(cur, nn, pl + tl);
			if (!dns_name_under(cur, z->apex))
				return AR_OUT;
			again = true;
		}
		if (again)
			continue;
		const uint8_t *src = cur, *as = NULL;
		uint8_t wc[LIM_NAME_MAX];
		if (!z_has_name(z, cur, cls)) {
			if (z_exists(z, cur, cls)) { /* empty non-terminal */
				z_soa(z, cls, m);
				return AR_DONE;
			}
			const uint8_t *ce = dns_name_parent(cur);
			while (
			    dns_name_labels(ce) > la && !z_exists(z, ce, cls))
				ce = dns_name_parent(ce);
			size_t cl = dns_name_len(ce, LIM_NAME_MAX);
			wc[0] = 1;
			wc[1] = '*';
			if (cl + 2 <= LIM_NAME_MAX) {
				memcpy(wc + 2, ce, cl);
				if (z_has_name(z, wc, cls)) {
					src = wc;
					as = cur;
				}
			}
			if (src == cur) {
				m->rcode = DNS_RCODE_NXDOMAIN;
				z_soa(z, cls, m);
				return AR_DONE;
			}
		}
		if (z_add(z, src, qtype, cls, m->sec[SEC_AN], as) > 0 ||
		    qtype == DNS_T_ANY)
			return AR_DONE;
		const ldns_rr *cn = z_first(z, src, DNS_T_CNAME, cls);
		if (qtype == DNS_T_CNAME || cn == NULL ||
		    ldns_rr_rd_count(cn) != 1) {
			z_soa(z, cls, m);
			return AR_DONE;
		}
		z_add(z, src, DNS_T_CNAME, cls, m->sec[SEC_AN], as);
		const uint8_t *tg = ldns_rdf_data(ldns_rr_rdf(cn, 0));
		if (in_answer(m, tg))
			return AR_DONE; /* a loop: the resolver finds out */
		memcpy(cur, tg, dns_name_len(tg, LIM_NAME_MAX));
		if (!dns_name_under(cur, z->apex))
			return AR_OUT;
	}
	return AR_DONE;
}

/* A recursive server (RD honoured): the answer from every zone, CNAMEs and
 * DNAMEs followed across zones; no AA, RA set. */
static void
recursive(const struct run *R, const struct query *q, struct msg *m)
{
	uint8_t cur[LIM_NAME_MAX];

	m->flags |= DNS_FLAG_RA;
	memcpy(cur, q->qname, sizeof(cur));
	for (unsigned hop = 0; hop < MAX_CNAME_SIM; hop++) {
		const struct zone *z = zone_for(R, NULL, cur, q->qtype);
		if (z == NULL) {
			msg_clear_sections(m);
			m->rcode = DNS_RCODE_SERVFAIL;
			return;
		}
		ldns_rr_list_deep_free(m->sec[SEC_NS]);
		m->sec[SEC_NS] = ldns_rr_list_new();
		enum auth_res a =
		    auth_answer(R, NULL, z, cur, q->qtype, q->qclass, m);
		if (a == AR_REFERRAL) { /* a child zone the world lacks */
			msg_clear_sections(m);
			m->rcode = DNS_RCODE_SERVFAIL;
			return;
		}
		if (a == AR_DONE)
			break;
	}
	m->flags &= (uint16_t)~DNS_FLAG_AA;
}

/* An upward referral: to the root, with the hints. */
static void
upward(const struct run *R, struct msg *m)
{
	for (unsigned i = 0; i < R->sc->nhints; i++) {
		const struct hint *h = &R->sc->hints[i];
		ldns_rr_list_push_rr(m->sec[SEC_NS],
		    mk_rr((const uint8_t *)"", DNS_T_NS, DNS_C_IN, 518400,
		        h->name));
		for (unsigned k = 0; k < h->na; k++) {
			ldns_rr *a = ldns_rr_new();
			bool v4 = h->a[k].family == AF_INET;
			ldns_rr_set_owner(a,
			    ldns_dname_new_frm_data(
			        (uint16_t)dns_name_len(h->name, LIM_NAME_MAX),
			        h->name));
			ldns_rr_set_type(
			    a, v4 ? LDNS_RR_TYPE_A : LDNS_RR_TYPE_AAAA);
			ldns_rr_set_class(a, LDNS_RR_CLASS_IN);
			ldns_rr_set_ttl(a, 518400);
			ldns_rr_push_rdf(a,
			    ldns_rdf_new_frm_data(
			        v4 ? LDNS_RDF_TYPE_A : LDNS_RDF_TYPE_AAAA,
			        v4 ? 4 : 16, h->a[k].ip));
			ldns_rr_list_push_rr(m->sec[SEC_AR], a);
		}
	}
}

static size_t
msg_size(const struct msg *m)
{
	size_t len = 0;
	uint8_t *w = msg_wire(m, &len);

	free(w);
	return w != NULL ? len : SIZE_MAX;
}

/* What server @p s answers to @p q by itself (its zones and modes). */
static void
genuine(const struct run *R, const struct srv *s, const struct query *q,
    struct msg *m)
{
	const struct zone *z;
	uint8_t cur[LIM_NAME_MAX];

	msg_init(m, q);
	if (s->modes & M_NOEDNS) {
		m->edns = false;
		if (q->edns) {
			m->rcode = DNS_RCODE_FORMERR;
			return;
		}
	}
	if (s->modes & (M_REFUSED | M_SERVFAIL)) {
		m->rcode = (s->modes & M_REFUSED) ? DNS_RCODE_REFUSED
		                                  : DNS_RCODE_SERVFAIL;
		return;
	}
	if (s->modes & M_RECURSIVE) {
		if (!q->rd) {
			m->rcode = DNS_RCODE_REFUSED;
			return;
		}
		recursive(R, q, m);
	} else {
		z = zone_for(R, s, q->qname, q->qtype);
		if (z == NULL) {
			m->rcode = DNS_RCODE_REFUSED;
			return;
		}
		if (s->modes & M_LAME)
			return; /* NOERROR, no AA, nothing */
		if (s->modes & M_UPWARD) {
			upward(R, m);
			return;
		}
		m->flags |= DNS_FLAG_AA;
		memcpy(cur, q->qname, sizeof(cur));
		auth_answer(R, s, z, cur, q->qtype, q->qclass, m);
		if (s->modes & M_NOAA)
			m->flags &= (uint16_t)~DNS_FLAG_AA;
	}
	if (!q->tcp &&
	    ((s->modes & M_TC) ||
	        msg_size(m) > (m->edns ? q->udp : LIM_UDP_NOEDNS))) {
		msg_clear_sections(m);
		m->flags |= DNS_FLAG_TC;
	}
}

static const struct script *
script_for(
    struct run *R, const struct srv *s, const struct query *q, unsigned *idx)
{
	const struct scenario *sc = R->sc;

	for (unsigned i = 0; i < sc->nscripts; i++) {
		const struct script *x = &sc->scripts[i];
		bool addr_ok = x->naddr == 0;
		for (unsigned k = 0; k < x->naddr; k++)
			addr_ok |= addr_eq(R, &x->addr[k], &s->a);
		if (!addr_ok || (x->times != 0 && R->used[i] >= x->times) ||
		    (!x->any_name && !dns_name_eq(x->qname, q->qname)) ||
		    (!x->any_type && x->qtype != q->qtype) ||
		    (x->transport == 1 && q->tcp) ||
		    (x->transport == 2 && !q->tcp))
			continue;
		*idx = i;
		return x;
	}
	return NULL;
}

struct dg {
	uint8_t *wire;
	size_t len;
	struct addr from;
};

static void
scripted(struct run *R, const struct srv *s, const struct query *q,
    const struct dgram *d, struct dg *out)
{
	struct msg m;

	if (d->genuine) {
		genuine(R, s, q, &m);
	} else {
		msg_init(&m, q);
	}
	if (d->flags_set)
		m.flags = (uint16_t)(d->flags | (d->noqr ? 0 : DNS_FLAG_QR));
	if (d->rcode >= 0)
		m.rcode = (uint8_t)d->rcode;
	if (d->edns >= 0)
		m.edns = d->edns != 0;
	if (d->idmode == ID_WRONG)
		m.id = (uint16_t)(q->id ^ 0x5a5a);
	else if (d->idmode == ID_SET)
		m.id = d->id;
	switch (d->qmode) {
	case Q_NONE:
		m.qdcount = 0;
		break;
	case Q_TWICE:
		m.qdcount = 2;
		break;
	case Q_CASEFLIP: /* label lengths (< 64) are never letters */
		for (size_t i = 0; i < m.qnlen; i++) {
			uint8_t c = m.qname[i] | 0x20;
			if (c >= 'a' && c <= 'z')
				m.qname[i] ^= 0x20;
		}
		break;
	case Q_OTHER:
		m.qnlen = dns_name_len(d->qname, LIM_NAME_MAX);
		memcpy(m.qname, d->qname, m.qnlen);
		m.qtype = d->qtype;
		m.qclass = d->qclass;
		break;
	default:
		break;
	}
	for (int x = 0; x < 3; x++)
		for (size_t i = 0; i < ldns_rr_list_rr_count(d->sec[x]); i++)
			ldns_rr_list_push_rr(m.sec[x],
			    ldns_rr_clone(ldns_rr_list_rr(d->sec[x], i)));
	out->wire = msg_wire(&m, &out->len);
	msg_free(&m);
	out->from = s->a;
	if (d->from_set && d->from_port_only)
		out->from.port = d->from.port;
	else if (d->from_set)
		out->from = d->from;
}

/* The datagrams server @p s sends back for @p q (none: silence). */
static unsigned
respond(struct run *R, struct srv *s, const struct query *q,
    struct dg out[MAX_DGRAMS], char *err, size_t errlen)
{
	unsigned k, n = 0, idx = 0;
	const struct script *x;

	for (k = 0; k < s->nqc; k++)
		if (dns_name_eq(s->qc[k].name, q->qname) &&
		    s->qc[k].type == q->qtype && s->qc[k].rclass == q->qclass)
			break;
	if (k == s->nqc) {
		if (k == MAX_QCOUNT)
			k = MAX_QCOUNT -
			    1; /* bounded: the last slot is reused */
		else
			s->nqc++;
		memcpy(s->qc[k].name, q->qname, sizeof(q->qname));
		s->qc[k].type = q->qtype;
		s->qc[k].rclass = q->qclass;
		s->qc[k].n = 0;
	}
	s->qc[k].n++;
	if ((s->modes & M_DEAD) || s->qc[k].n <= s->drop)
		return 0;
	if ((x = script_for(R, s, q, &idx)) != NULL) {
		R->used[idx]++;
		for (unsigned i = 0; i < x->nd; i++) {
			scripted(R, s, q, &x->d[i], &out[n]);
			if (out[n].wire == NULL) {
				if (snprintf(err, errlen,
				        "%s:%d: the scripted reply is larger "
				        "than 65535 bytes",
				        R->sc->file, x->line) < 0)
					err[0] = '?';
				break;
			}
			n++;
		}
		return n;
	}
	struct msg m;
	genuine(R, s, q, &m);
	out[0].wire = msg_wire(&m, &out[0].len);
	out[0].from = s->a;
	msg_free(&m);
	if (out[0].wire == NULL) {
		snprintf(err, errlen,
		    "the reply of a server is larger than "
		    "65535 bytes");
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ driving */

static void show_question(struct run *R);
static void __attribute__((format(printf, 3, 4)))
failed(struct run *R, const struct step *st, const char *fmt, ...);

static void
det_random(void *buf, size_t len, void *arg)
{
	struct run *R = arg;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		R->rnd = R->rnd * 1103515245u + 12345u;
		p[i] = (uint8_t)(R->rnd >> 16);
	}
}

static void
to_sockaddr(
    const struct run *R, const struct addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(eff_port(R, a));
		memcpy(&s4->sin_addr, a->ip, 4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(eff_port(R, a));
		memcpy(&s6->sin6_addr, a->ip, 16);
	}
}

static int
caches_new(struct run *R)
{
	const struct scenario *sc = R->sc;

	R->policy = (struct cache_policy){
	    .min_ttl = R->env.opts.min_ttl,
	    .max_ttl = R->env.opts.max_ttl,
	    .negative_ttl = R->env.opts.negative_ttl,
	    .max_entries = sc->cache_entries,
	};
	R->cache = cache_new(sc->cache_bytes, &R->policy);
	R->infra = infra_new(1000);
	R->env.cache = R->cache;
	R->env.infra = R->infra;
	return R->cache != NULL && R->infra != NULL ? 0 : -1;
}

static void
caches_free(struct run *R)
{
	iter_free(R->r);
	R->r = NULL;
	cache_free(R->cache);
	infra_free(R->infra);
	R->cache = NULL;
	R->infra = NULL;
}

static int
run_init(struct run *R, struct scenario *sc)
{
	memset(R, 0, sizeof(*R));
	R->sc = sc;
	R->env.opts = default_opts;
	opts_apply(&R->env.opts, &sc->opts);
	R->env.port = 53;
	R->env.scratch = &R->scratch;
	R->env.random = det_random;
	R->env.random_arg = R;
	R->env.hints = &R->hints;
	R->now = sc->start;
	R->rnd = sc->seed;
	deleg_init(&R->hints.root, (const uint8_t *)"");
	R->hints.root.from_hints = true;
	for (unsigned i = 0; i < sc->nhints; i++) {
		const struct hint *h = &sc->hints[i];
		int idx = deleg_add_ns(&R->hints.root, h->name);
		if (idx < 0)
			continue;
		for (unsigned k = 0; k < h->na; k++) {
			struct deleg_ns *ns = &R->hints.root.ns[idx];
			if (deleg_add_addr(&R->hints.root, idx, h->a[k].ip,
			        h->a[k].family))
				ns->addr[ns->naddr - 1].port = h->a[k].port;
			srv_add(R, &h->a[k]);
		}
	}
	for (unsigned i = 0; i < sc->nfwd; i++) {
		struct sockaddr_storage ss[LIM_MAX_ADDR_PER_NS];
		char zt[DNS_NAME_TEXT_MAX];
		for (unsigned k = 0; k < sc->fwd[i].na; k++) {
			to_sockaddr(R, &sc->fwd[i].a[k], &ss[k]);
			srv_add(R, &sc->fwd[i].a[k]);
		}
		name_str(zt, sizeof(zt), sc->fwd[i].zone);
		if (deleg_forward(&R->fwd[i].cut, zt, ss, sc->fwd[i].na) != 0)
			return -1;
		R->fwd[i].fallback_iterate = sc->fwd[i].fallback;
	}
	R->env.forwards = sc->nfwd ? R->fwd : NULL;
	R->env.nforwards = sc->nfwd;
	for (unsigned i = 0; i < sc->nzones; i++)
		for (unsigned k = 0; k < sc->zones[i].nsrv; k++)
			srv_add(R, &sc->zones[i].srv[k]);
	for (unsigned i = 0; i < sc->nsteps; i++)
		if (sc->steps[i].kind == S_SERVER)
			srv_add(R, &sc->steps[i].addr);
	for (unsigned i = 0; i < sc->nscripts; i++) /* script-only servers */
		for (unsigned k = 0; k < sc->scripts[i].naddr; k++)
			srv_add(R, &sc->scripts[i].addr[k]);
	R->log = calloc(MAX_LOG, sizeof(*R->log));
	return R->log != NULL ? caches_new(R) : -1;
}

static void
run_free(struct run *R)
{
	caches_free(R);
	free(R->log);
}

static void
ask(struct run *R, const struct step *st)
{
	struct iter_req *r;
	char err[256] = "";

	iter_free(R->r);
	R->r = NULL;
	R->qenv = R->env;
	opts_apply(&R->qenv.opts, &st->opts);
	R->qno++;
	R->q = st;
	R->q_start = R->q_end = R->now;
	R->q_err[0] = 0;
	R->shown = false;
	r = iter_new(&R->qenv, st->name, st->type, st->rclass, NOW(R));
	if (r == NULL) {
		snprintf(R->q_err, sizeof(R->q_err), "iter_new failed");
		failed(R, st, "replay: %s", R->q_err);
		return;
	}
	iter_set_trace(r); /* the scenarios' expect lines read the trace */
	R->r = r;
	for (unsigned i = 0;; i++) {
		struct iter_action a;
		struct query q;
		struct dg dgs[MAX_DGRAMS];
		struct addr to;
		unsigned nd = 0;
		bool accepted = false;

		if (i == MAX_ACTIONS) {
			snprintf(R->q_err, sizeof(R->q_err),
			    "not finished after %d sends", MAX_ACTIONS);
			iter_abort(r, NOW(R), "replay: too many sends");
			break;
		}
		if (iter_next(r, NOW(R), &a) == ITER_DONE)
			break;
		if (!query_parse(a.pkt, a.len, a.tcp, &q)) {
			snprintf(R->q_err, sizeof(R->q_err),
			    "the iterator sent a malformed query (%zu bytes)",
			    a.len);
			iter_abort(r, NOW(R), "replay: malformed query");
			break;
		}
		memset(&to, 0, sizeof(to));
		to.family = a.family;
		memcpy(to.ip, a.addr, 16);
		to.port = a.port;
		struct srv *s = srv_find(R, &to);
		if (R->nlog == MAX_LOG) {
			snprintf(R->q_err, sizeof(R->q_err),
			    "more than %d sends in the scenario", MAX_LOG);
			iter_abort(r, NOW(R), "replay: too many sends");
			break;
		}
		struct sendrec *lg = &R->log[R->nlog++];
		memset(lg, 0, sizeof(*lg));
		lg->qno = R->qno;
		lg->to = to;
		lg->tcp = a.tcp;
		lg->known = s != NULL;
		memcpy(lg->qname, q.qname, sizeof(q.qname));
		lg->qtype = q.qtype;
		if (s != NULL)
			nd = respond(R, s, &q, dgs, err, sizeof(err));
		if (err[0] != 0) {
			snprintf(R->q_err, sizeof(R->q_err), "%s", err);
			for (unsigned k = 0; k < nd; k++)
				free(dgs[k].wire);
			iter_abort(r, NOW(R), "replay: bad reply");
			break;
		}
		uint64_t sent = R->now;
		if (nd > 0 && s->delay < a.timeout_ms) {
			R->now += s->delay;
			for (unsigned k = 0; k < nd && !accepted; k++) {
				struct sockaddr_storage ss;
				to_sockaddr(R, &dgs[k].from, &ss);
				accepted = iter_reply(r, (struct sockaddr *)&ss,
				               dgs[k].wire, dgs[k].len,
				               NOW(R)) == ITER_ACCEPTED;
			}
		}
		for (unsigned k = 0; k < nd; k++)
			free(dgs[k].wire);
		lg->answered = accepted;
		if (!accepted) {
			R->now = sent + a.timeout_ms;
			iter_reply(r, NULL, NULL, 0, NOW(R));
		}
	}
	R->q_end = R->now;
	if (R->q_err[0] != 0) /* the runner's own trouble always fails */
		failed(R, st, "replay: %s", R->q_err);
	else if (R->trace_all)
		show_question(R);
}

/* ------------------------------------------------------------ results */

/* A record of the result, or of a check, in a comparable form. */
struct cmp_rr {
	uint8_t owner[LIM_NAME_MAX];
	uint16_t type, rclass;
	uint32_t ttl;
	uint8_t *canon; /* rdata with names lowercased (RFC 4034 6.2) */
	size_t canon_len;
	char *text; /* presentation, for messages */
};

static ldns_rr *
rr_from_parts(const uint8_t *owner, uint16_t type, uint16_t cls, uint32_t ttl,
    const uint8_t *rd, size_t rdlen)
{
	size_t ol = dns_name_len(owner, LIM_NAME_MAX), pos = 0;
	uint8_t *w;
	ldns_rr *rr = NULL;

	if (ol == 0 || rdlen > 65535 || (w = malloc(ol + 10 + rdlen)) == NULL)
		return NULL;
	memcpy(w, owner, ol);
	dns_put16(w + ol, type);
	dns_put16(w + ol + 2, cls);
	dns_put32(w + ol + 4, ttl);
	dns_put16(w + ol + 8, (uint16_t)rdlen);
	memcpy(w + ol + 10, rd, rdlen);
	if (ldns_wire2rr(&rr, w, ol + 10 + rdlen, &pos, LDNS_SECTION_ANSWER) !=
	        LDNS_STATUS_OK ||
	    pos != ol + 10 + rdlen) {
		ldns_rr_free(rr);
		rr = NULL;
	}
	free(w);
	return rr;
}

static void
cmp_fill(struct cmp_rr *c, const uint8_t *owner, uint16_t type, uint16_t cls,
    uint32_t ttl, const uint8_t *rd, size_t rdlen)
{
	ldns_rr *rr = rr_from_parts(owner, type, cls, ttl, rd, rdlen);

	memset(c, 0, sizeof(*c));
	dns_name_lower(c->owner, owner);
	c->type = type;
	c->rclass = cls;
	c->ttl = ttl;
	c->canon = malloc(rdlen + 1);
	if (rr != NULL) {
		char *t = ldns_rr2str(rr);
		size_t n;
		ldns_rr2canonical(rr);
		n = rdata_wire(rr, c->canon, rdlen);
		c->canon_len = n == SIZE_MAX ? 0 : n;
		if (t != NULL) {
			t[strcspn(t, "\n")] = 0;
			c->text = t;
		}
		ldns_rr_free(rr);
	} else if (c->canon != NULL) {
		memcpy(c->canon, rd, rdlen);
		c->canon_len = rdlen;
	}
	if (c->text == NULL) {
		char on[DNS_NAME_TEXT_MAX];
		size_t cap = rdlen * 2 + 600;
		name_str(on, sizeof(on), owner);
		c->text = malloc(cap);
		if (c->text != NULL) {
			int o =
			    snprintf(c->text, cap, "%s\t%u\t%s\t%s\t\\# %zu ",
			        on, ttl, class_str(cls), type_str(type), rdlen);
			for (size_t i = 0; i < rdlen && o > 0; i++)
				o += snprintf(c->text + o, cap - (size_t)o,
				    "%02x", rd[i]);
		}
	}
}

static void
cmp_free(struct cmp_rr *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		free(c[i].canon);
		free(c[i].text);
	}
	free(c);
}

/* The result's records: answer then authority (each record is preceded
 * by its ITER_RR_* flags byte; DNSSEC records are included, as a DO
 * client gets them). */
static struct cmp_rr *
result_rrs(const struct iter_result *res, unsigned *n)
{
	unsigned total = (unsigned)res->ancount + res->nscount, k = 0;
	struct cmp_rr *c = calloc(total + 1, sizeof(*c));

	for (int pass = 0; pass < 2 && c != NULL && res->rr != NULL; pass++) {
		const uint8_t *p = res->rr, *end = res->rr + res->rr_len;
		while (k < total && p + 1 < end) {
			uint8_t flags = *p++;
			size_t nl = dns_name_len(p, (size_t)(end - p));
			if (nl == 0 || p + nl + 10 > end)
				break;
			size_t rl = dns_get16(p + nl + 8);
			if (p + nl + 10 + rl > end)
				break;
			if (((flags & ITER_RR_AUTHORITY) != 0) == (pass == 1))
				cmp_fill(&c[k++], p, dns_get16(p + nl),
				    dns_get16(p + nl + 2),
				    dns_get32(p + nl + 4), p + nl + 10, rl);
			p += nl + 10 + rl;
		}
	}
	*n = k;
	return c;
}

static void
cmp_from_ldns(struct cmp_rr *c, const ldns_rr *rr)
{
	uint8_t *rd;
	size_t n = rdata_wire(rr, NULL, 65535);

	rd = malloc(n == SIZE_MAX ? 1 : n + 1);
	if (rd == NULL || n == SIZE_MAX) {
		memset(c, 0, sizeof(*c));
		free(rd);
		return;
	}
	rdata_wire(rr, rd, n);
	cmp_fill(c, rr_owner(rr), (uint16_t)ldns_rr_get_type(rr),
	    (uint16_t)ldns_rr_get_class(rr), ldns_rr_ttl(rr), rd, n);
	free(rd);
}

static bool
cmp_same(const struct cmp_rr *a, const struct cmp_rr *b)
{
	return a->type == b->type && a->rclass == b->rclass &&
	    dns_name_eq(a->owner, b->owner) && a->canon_len == b->canon_len &&
	    (a->canon_len == 0 ||
	        memcmp(a->canon, b->canon, a->canon_len) == 0);
}

/* ------------------------------------------------------------ reporting */

#define SHOW_RRS  40  /* records listed in a report */
#define SHOW_TEXT 150 /* characters of a record shown */

static FILE *out_f; /* where reports go */

/* A record's text, cut at SHOW_TEXT characters. */
static const char *
rr_text(const struct cmp_rr *c)
{
	static __thread char buf[SHOW_TEXT + 32];

	if (c->text == NULL)
		return "?";
	if (strlen(c->text) <= SHOW_TEXT)
		return c->text;
	snprintf(buf, sizeof(buf), "%.*s... (%zu chars)", SHOW_TEXT, c->text,
	    strlen(c->text));
	return buf;
}

static void
show_question(struct run *R)
{
	const struct iter_result *res;
	struct cmp_rr *c;
	unsigned n;
	char qn[DNS_NAME_TEXT_MAX], a[INET6_ADDRSTRLEN + 8];

	if (R->shown || R->quiet)
		return;
	R->shown = true;
	name_str(qn, sizeof(qn), R->q->name);
	fprintf(out_f, "  --- the question of line %d: %s %s %s\n", R->q->line,
	    qn, type_str(R->q->type), class_str(R->q->rclass));
	if (R->q_err[0])
		fprintf(out_f, "  replay: %s\n", R->q_err);
	if (R->r == NULL)
		return;
	res = iter_result(R->r);
	fprintf(out_f,
	    "  result: %s, failed %s, ede %u, reason \"%s\", %u sends, "
	    "%u answer, %u authority, %u ignored, %" PRIu64 " ms\n",
	    dns_rcode_str(res->rcode), res->failed ? "yes" : "no",
	    res->ede_code, res->reason, res->sends, res->ancount, res->nscount,
	    iter_ignored(R->r), R->q_end - R->q_start);
	c = result_rrs(res, &n);
	for (unsigned i = 0; c != NULL && i < n && i < SHOW_RRS; i++)
		fprintf(out_f, "    %s  %s\n", i < res->ancount ? "an" : "ns",
		    rr_text(&c[i]));
	if (n > SHOW_RRS)
		fprintf(out_f, "    (%u more)\n", n - SHOW_RRS);
	cmp_free(c, c ? n : 0);
	fprintf(out_f, "  sends:\n");
	for (unsigned i = 0, k = 0; i < R->nlog; i++) {
		const struct sendrec *l = &R->log[i];
		if (l->qno != R->qno)
			continue;
		addr_str(a, sizeof(a), &l->to);
		name_str(qn, sizeof(qn), l->qname);
		fprintf(out_f, "    %3u  %-22s %s %s %s  %s\n", ++k, a,
		    l->tcp ? "tcp" : "udp", qn, type_str(l->qtype),
		    !l->known         ? "(no server there)"
		        : l->answered ? "answered"
		                      : "no reply used");
	}
	fprintf(out_f, "  trace:\n");
	trace_print_text(out_f, iter_trace(R->r));
}

static void __attribute__((format(printf, 3, 4)))
failed(struct run *R, const struct step *st, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	R->failures++;
	if (R->failures == 1 &&
	    snprintf(R->first_failure, sizeof(R->first_failure),
	        "%s:%d: %s: %s", R->sc->file, st->line, st->text, msg) < 0)
		R->first_failure[0] = 0;
	if (R->quiet)
		return;
	fprintf(
	    out_f, "%s:%d: %s\n  %s\n", R->sc->file, st->line, st->text, msg);
	show_question(R);
}

static void
check_rrs(struct run *R, const struct step *st, const struct expect *e)
{
	const struct iter_result *res = iter_result(R->r);
	unsigned n, from, to, missing = 0, extra = 0;
	struct cmp_rr *got = result_rrs(res, &n);
	struct cmp_rr *want = calloc(e->nrrs + 1, sizeof(*want));
	bool *used = calloc(n + 1, sizeof(*used));
	bool *found = calloc(e->nrrs + 1, sizeof(*found));
	char *buf = NULL;
	size_t blen = 0;
	FILE *m;

	if (got == NULL || want == NULL || used == NULL || found == NULL) {
		failed(R, st, "out of memory");
		goto out;
	}
	from = e->kind == E_ANSWER ? 0 : res->ancount;
	to = e->kind == E_ANSWER ? res->ancount : n;
	if (to > n)
		to = n;
	for (unsigned j = 0; j < e->nrrs; j++) {
		cmp_from_ldns(&want[j], e->rrs[j].rr);
		for (unsigned i = from; i < to && !found[j]; i++) {
			if (!used[i] && cmp_same(&got[i], &want[j]) &&
			    in_range(&e->rrs[j].ttl, got[i].ttl))
				used[i] = found[j] = true;
		}
		missing += !found[j];
	}
	for (unsigned i = from; i < to; i++)
		extra += !used[i];
	if (missing == 0 && extra == 0)
		goto out;
	m = open_memstream(&buf, &blen);
	if (m == NULL) {
		failed(R, st, "out of memory");
		goto out;
	}
	fprintf(m,
	    "the %s section differs: %u expected record(s) missing, "
	    "%u unexpected",
	    e->kind == E_ANSWER ? "answer" : "authority", missing, extra);
	unsigned shown = 0;
	for (unsigned j = 0; j < e->nrrs; j++) {
		char r[64];
		if (found[j] || shown++ >= SHOW_RRS)
			continue;
		range_str(r, sizeof(r), &e->rrs[j].ttl);
		fprintf(m, "\n    missing:    %s", rr_text(&want[j]));
		if (e->rrs[j].ttl.lo != e->rrs[j].ttl.hi)
			fprintf(m, "  (ttl %s)", r);
	}
	for (unsigned i = from; i < to; i++)
		if (!used[i] && shown++ < SHOW_RRS)
			fprintf(m, "\n    unexpected: %s", rr_text(&got[i]));
	if (shown > SHOW_RRS)
		fprintf(m, "\n    (%u more)", shown - SHOW_RRS);
	fclose(m);
	failed(R, st, "%s", buf);
	free(buf);
out:
	cmp_free(got, got ? n : 0);
	cmp_free(want, want ? e->nrrs : 0);
	free(used);
	free(found);
}

static void
check_trace(struct run *R, const struct step *st, const struct expect *e)
{
	const struct trace *t = iter_trace(R->r);
	bool hit = false;

	for (size_t i = 0; i < t->n && !hit; i++) {
		const struct trace_step *s = &t->steps[i];
		hit = (e->trace_kind < 0 || s->kind == e->trace_kind) &&
		    (e->text[0] == 0 || strstr(s->detail, e->text) != NULL);
	}
	if (hit != !e->neg)
		failed(R, st, "the trace %s a %s step%s%s%s",
		    hit ? "has" : "has no",
		    e->trace_kind < 0
		        ? "*"
		        : trace_kind_str((enum trace_kind)e->trace_kind),
		    e->text[0] ? " with \"" : "", e->text,
		    e->text[0] ? "\"" : "");
}

static bool
send_matches(const struct sendrec *l, const struct expect *e)
{
	return (!e->have_name ||
	           (dns_name_eq(l->qname, e->name) && l->qtype == e->type)) &&
	    (e->transport == 0 || (e->transport == 2) == l->tcp);
}

static void
check_send(struct run *R, const struct step *st, const struct expect *e)
{
	unsigned idx[MAX_ACTIONS], n = 0;
	char a[INET6_ADDRSTRLEN + 8], qn[DNS_NAME_TEXT_MAX];

	for (unsigned i = 0; i < R->nlog && n < MAX_ACTIONS; i++)
		if (R->log[i].qno == R->qno)
			idx[n++] = i;
	long k =
	    e->send_index > 0 ? e->send_index - 1 : (long)n - 1 + e->send_index;
	if (k < 0 || k >= (long)n) {
		failed(R, st, "there were %u sends", n);
		return;
	}
	const struct sendrec *l = &R->log[idx[k]];
	if (addr_eq(R, &l->to, &e->addr) && send_matches(l, e))
		return;
	addr_str(a, sizeof(a), &l->to);
	name_str(qn, sizeof(qn), l->qname);
	failed(R, st, "send %ld went to %s over %s: %s %s", k + 1, a,
	    l->tcp ? "tcp" : "udp", qn, type_str(l->qtype));
}

static void
check_cache(struct run *R, const struct step *st, const struct expect *e)
{
	static uint8_t buf[256 * 1024];
	struct cache_rrset_out o;
	int rc = cache_get(R->cache, e->name, e->type, e->rclass, R->now, &o,
	    buf, sizeof(buf));
	bool has_rdata = false;
	char desc[512] = "";
	struct cmp_rr want;

	if (rc < 0) {
		failed(R, st, "cache_get: error %d", rc);
		return;
	}
	if (rc == 1 && e->rdata != NULL) {
		const uint8_t *p = o.rdata, *end = o.rdata + o.rdata_len;
		cmp_from_ldns(&want, e->rdata);
		for (unsigned k = 0; k < o.nrr && p + 2 <= end; k++) {
			size_t l = dns_get16(p);
			struct cmp_rr got;
			if (p + 2 + l > end)
				break;
			cmp_fill(
			    &got, e->name, e->type, e->rclass, 0, p + 2, l);
			has_rdata |= cmp_same(&got, &want);
			free(got.canon);
			free(got.text);
			p += 2 + l;
		}
		free(want.canon);
		free(want.text);
	}
	if (rc == 1)
		snprintf(desc, sizeof(desc),
		    "the entry: kind %s, rank %s, ttl %u (stored with %u), "
		    "%u record(s)",
		    o.kind < 3 ? kind_names[o.kind] : "?", rank_str(o.rank),
		    o.ttl, o.orig_ttl, o.nrr);
	if (e->neg) {
		if (rc == 1 && (e->rdata == NULL || has_rdata))
			failed(R, st, "it is in the cache: %s", desc);
		return;
	}
	if (rc != 1) {
		failed(R, st, "no such entry in the cache");
		return;
	}
	if (e->ckind >= 0 && o.kind != e->ckind)
		failed(R, st, "%s", desc);
	else if (e->crank >= 0 && o.rank != e->crank)
		failed(R, st, "%s", desc);
	else if (e->have_ttl && !in_range(&e->ttl, o.ttl))
		failed(R, st, "%s", desc);
	else if (e->have_nrr && !in_range(&e->nrr, o.nrr))
		failed(R, st, "%s", desc);
	else if (e->rdata != NULL && !has_rdata)
		failed(R, st, "no such rdata in %s", desc);
}

static void
check_count(struct run *R, const struct step *st, const char *what,
    const struct range *r, uint64_t v)
{
	char want[64];

	if (in_range(r, v))
		return;
	range_str(want, sizeof(want), r);
	failed(R, st, "%s: expected %s, got %" PRIu64, what, want, v);
}

static void
check(struct run *R, const struct step *st)
{
	const struct expect *e = st->e;
	const struct iter_result *res;

	if (R->r == NULL) {
		failed(R, st, "the question was not asked: %s", R->q_err);
		return;
	}
	res = iter_result(R->r);
	switch (e->kind) {
	case E_RCODE:
		if (res->rcode != e->range.lo)
			failed(R, st, "rcode: expected %s, got %s",
			    dns_rcode_str((unsigned)e->range.lo),
			    dns_rcode_str(res->rcode));
		break;
	case E_FAILED:
		if (res->failed == e->neg)
			failed(R, st, "failed: expected %s, got %s (\"%s\")",
			    e->neg ? "no" : "yes", res->failed ? "yes" : "no",
			    res->reason);
		break;
	case E_REASON:
		if (strstr(res->reason, e->text) == NULL)
			failed(R, st, "the reason \"%s\" lacks \"%s\"",
			    res->reason, e->text);
		break;
	case E_EDE:
		check_count(R, st, "ede", &e->range, res->ede_code);
		break;
	case E_SENDS: {
		unsigned n = 0;
		for (unsigned i = 0; i < R->nlog; i++)
			n += R->log[i].qno == R->qno;
		check_count(R, st, "sends", &e->range, n);
		break;
	}
	case E_ANCOUNT:
		check_count(R, st, "ancount", &e->range, res->ancount);
		break;
	case E_NSCOUNT:
		check_count(R, st, "nscount", &e->range, res->nscount);
		break;
	case E_ANSWER:
	case E_AUTHORITY:
		check_rrs(R, st, e);
		break;
	case E_TRACE:
		check_trace(R, st, e);
		break;
	case E_SEND:
		check_send(R, st, e);
		break;
	case E_RECEIVED: {
		unsigned n = 0;
		for (unsigned i = 0; i < R->nlog; i++)
			n += (e->total || R->log[i].qno == R->qno) &&
			    addr_eq(R, &R->log[i].to, &e->addr) &&
			    send_matches(&R->log[i], e);
		check_count(R, st, "queries received", &e->range, n);
		break;
	}
	case E_CACHE:
		check_cache(R, st, e);
		break;
	case E_LAME: {
		bool lame = infra_is_lame(
		    R->infra, e->addr.ip, e->addr.family, e->zone, R->now);
		if (lame == e->neg)
			failed(R, st,
			    "the server is %smarked lame for the zone",
			    lame ? "" : "not ");
		break;
	}
	case E_IGNORED:
		check_count(
		    R, st, "ignored replies", &e->range, iter_ignored(R->r));
		break;
	case E_ELAPSED:
		check_count(
		    R, st, "elapsed ms", &e->range, R->q_end - R->q_start);
		break;
	default:
		failed(R, st, "internal: unknown check");
	}
}

static void
store(struct run *R, const struct step *st)
{
	uint8_t rd[65536 + 2];
	size_t n = rdata_wire(st->rr, rd + 2, sizeof(rd) - 2);
	struct cache_rrset_in in = {
	    .owner = rr_owner(st->rr),
	    .type = (uint16_t)ldns_rr_get_type(st->rr),
	    .rclass = (uint16_t)ldns_rr_get_class(st->rr),
	    .kind = CACHE_RRSET,
	    .rank = st->rank,
	    .ttl = ldns_rr_ttl(st->rr),
	    .nrr = 1,
	    .rdata = rd,
	};

	if (n == SIZE_MAX || n > 65535) {
		failed(R, st, "the record is too large");
		return;
	}
	dns_put16(rd, (uint16_t)n);
	in.rdata_len = n + 2;
	if (cache_store(R->cache, &in, R->now) != 1)
		failed(R, st, "cache_store did not store it");
}

/* Run every step. @return the number of failed checks. */
static unsigned
run_scenario(struct scenario *sc, bool quiet, char *first, size_t firstlen)
{
	struct run *R = calloc(1, sizeof(*R));
	unsigned failures;

	if (R == NULL)
		return 1;
	if (run_init(R, sc) != 0) {
		snprintf(
		    first, firstlen, "%s: cannot set the world up", sc->file);
		run_free(R);
		free(R);
		return 1;
	}
	R->quiet = quiet;
	R->trace_all = !quiet && getenv("REPLAY_TRACE") != NULL &&
	    strcmp(getenv("REPLAY_TRACE"), "0") != 0;
	for (unsigned i = 0; i < sc->nsteps; i++) {
		const struct step *st = &sc->steps[i];
		struct srv *s;
		switch (st->kind) {
		case S_QUERY:
			ask(R, st);
			break;
		case S_EXPECT:
			check(R, st);
			break;
		case S_TIME:
			R->now = st->relative ? R->now + st->t : st->t;
			break;
		case S_SEED:
			R->rnd = st->seed;
			break;
		case S_FLUSH:
			if (st->flush_all)
				cache_flush_all(R->cache);
			else
				cache_flush_name(R->cache, st->name, st->type);
			break;
		case S_STORE:
			store(R, st);
			break;
		case S_RESET:
			caches_free(R);
			if (caches_new(R) != 0)
				failed(R, st, "out of memory");
			R->now = sc->start;
			R->nlog = 0;
			for (unsigned k = 0; k < R->nsrv; k++)
				R->srv[k].nqc = 0;
			break;
		case S_SERVER:
			if ((s = srv_find(R, &st->addr)) != NULL) {
				s->modes = st->modes;
				s->drop = st->drop;
				s->delay = st->delay;
			}
			break;
		case S_OPTION:
			opt_apply(&R->env.opts, st->opt, st->optval);
			if (st->opt >= 7) { /* TTLs: the cache's policy too */
				R->policy.min_ttl = R->env.opts.min_ttl;
				R->policy.max_ttl = R->env.opts.max_ttl;
				R->policy.negative_ttl =
				    R->env.opts.negative_ttl;
				cache_set_policy(R->cache, &R->policy);
			}
			break;
		default:
			break;
		}
	}
	failures = R->failures;
	if (failures > 0)
		snprintf(first, firstlen, "%s", R->first_failure);
	run_free(R);
	free(R);
	return failures;
}

/* ------------------------------------------------------------ cmocka */

static void
run_file(void **state)
{
	const char *path = *state;
	struct scenario *sc = scenario_load(path);
	const char *pf = getenv("REPLAY_PENDING");
	char first[600] = "", pending[300] = "";
	bool is_pending;
	unsigned failures;

	if (sc == NULL)
		fail_msg("%s: out of memory", path);
	if (sc->err[0] != 0) {
		char err[sizeof(sc->err)];
		snprintf(err, sizeof(err), "%s", sc->err);
		scenario_free(sc);
		fprintf(out_f, "%s\n", err);
		fail_msg("%s", err);
	}
	is_pending = sc->is_pending && !(pf != NULL && !strcmp(pf, "fail"));
	snprintf(pending, sizeof(pending), "%s", sc->pending);
	failures = run_scenario(sc, is_pending, first, sizeof(first));
	scenario_free(sc);
	if (is_pending) {
		if (failures == 0)
			fail_msg(
			    "%s: passes now: remove its 'pending' line", path);
		fprintf(out_f, "pending: %s (%s)\n  fails as expected at %s\n",
		    path, pending, first);
		skip();
	}
	if (failures > 0)
		fail_msg("%s: %u check(s) failed, the first at %s", path,
		    failures, first);
}

/* ---- the runner's own tests: it rejects what it must and it fails
 * when a check is wrong (a runner that passes everything proves nothing) */

static const struct {
	const char *text;
	const char *err;
} bad_files[] = {
    {"hint a. 192.0.2.1\nbogus 1\nquery a. A\n",
        "t.scn:2: unknown directive 'bogus'"},
    {"hint a. 192.0.2.1\nzone . 192.0.2.1\n. NS\nend\nquery a. A\n",
        "t.scn:3: bad record"},
    {"hint a. 192.0.2.1\nexpect rcode NOERROR\n",
        "t.scn:2: expect before any query"},
    {"hint a. 192.0.2.1\nquery a. A\nexpect nonsense 1\n",
        "t.scn:3: unknown check 'expect nonsense'"},
    {"hint a. 192.0.2.1\nzone . 192.0.2.1\n. 1 SOA a. a. 1 1 1 1 1\n",
        "t.scn:2: zone .: no 'end'"},
    {"hint a. 192.0.2.1\n", "t.scn:1: no query"},
    {"query a. A\n", "no root hints"},
    {"hint a. 192.0.2.1\nreply * * *\n  frobnicate\nend\nquery a. A\n",
        "t.scn:3: unknown reply directive 'frobnicate'"},
    {"hint a. 192.0.2.1\nquery a. A qname_minimisation=maybe\n",
        "t.scn:2: 'maybe': on or off"},
    {"hint a. 192.0.2.1\nquery a. A\nexpect sends 3..1\n",
        "t.scn:3: '3..1': an empty range"},
    {"hint a. 192.0.2.1\nquery a. A\nzone . 192.0.2.1\nend\n",
        "t.scn:3: 'zone' must come before the first query"},
    {"hint a. 192.0.2.1\nzone example. 192.0.2.1\nwww.other. A 1.2.3.4\n"
     "end\nquery a. A\n",
        "t.scn:3: www.other. is not in the zone"},
    {"hint a. 192.0.2.1\nzone . 192.0.2.1\n. TXT ( \"a\"\nend\nquery a. A\n",
        "t.scn:3: unbalanced '('"},
};

static void
runner_rejects_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
		char *text = strdup(bad_files[i].text);
		struct scenario *sc = scenario_parse("t.scn", text);
		free(text);
		assert_non_null(sc);
		if (strstr(sc->err, bad_files[i].err) == NULL)
			fail_msg("file %zu: error \"%s\", expected \"%s\"", i,
			    sc->err, bad_files[i].err);
		scenario_free(sc);
	}
}

static const char world_text[] =
    "hint a.root. 192.0.2.1\n"
    "zone . 192.0.2.1\n"
    ". 86400 SOA a.root. admin. 1 1800 900 604800 86400\n"
    ". 86400 NS a.root.\n"
    "a.root. 86400 A 192.0.2.1\n"
    "test. 86400 NS ns.test.\n"
    "ns.test. 86400 A 192.0.2.2\n"
    "end\n"
    "zone test. 192.0.2.2\n"
    "@ 600 SOA ns admin 1 1800 900 604800 300\n"
    "@ NS ns\n"
    "ns A 192.0.2.2\n"
    "www 300 A 192.0.2.80\n"
    "end\n"
    "query www.test. A\n";

static unsigned
run_text(const char *checks)
{
	char *text = malloc(sizeof(world_text) + strlen(checks));
	struct scenario *sc;
	char first[600];
	unsigned n;

	assert_non_null(text);
	strcpy(text, world_text);
	strcat(text, checks);
	sc = scenario_parse("self.scn", text);
	free(text);
	assert_non_null(sc);
	if (sc->err[0] != 0)
		fail_msg("%s", sc->err);
	n = run_scenario(sc, true, first, sizeof(first));
	scenario_free(sc);
	return n;
}

static void
runner_fails_wrong_checks(void **state)
{
	(void)state;
	/* right: nothing fails */
	assert_int_equal(run_text("expect rcode NOERROR\n"
	                          "expect failed no\n"
	                          "expect sends 2\n"
	                          "expect send 1 192.0.2.1 test. A udp\n"
	                          "expect answer\n"
	                          "  www.test. 300 A 192.0.2.80\n"
	                          "end\n"
	                          "expect authority\n"
	                          "end\n"
	                          "expect received 192.0.2.2 www.test. A 1\n"
	                          "expect cache www.test. A rank auth-answer "
	                          "ttl 300 rdata 192.0.2.80\n"
	                          "expect no-cache www.test. AAAA\n"
	                          "expect trace referral \"test.\"\n"
	                          "time 1700000300005\n"
	                          "expect cache www.test. A ttl 1\n"
	                          "time +1\n"
	                          "expect no-cache www.test. A\n"),
	    0);
	/* wrong: each one fails */
	assert_int_equal(run_text("expect rcode NXDOMAIN\n"), 1);
	assert_int_equal(run_text("expect failed yes\n"), 1);
	assert_int_equal(run_text("expect sends 3\n"), 1);
	assert_int_equal(run_text("expect send 1 192.0.2.2\n"), 1);
	assert_int_equal(run_text("expect answer\nend\n"), 1);
	assert_int_equal(
	    run_text("expect answer\n  www.test. 299 A 192.0.2.80\nend\n"), 1);
	assert_int_equal(
	    run_text("expect answer\n  www.test. A 192.0.2.81\nend\n"), 1);
	assert_int_equal(run_text("expect answer\n  www.test. A 192.0.2.80\n"
	                          "  www.test. A 192.0.2.80\nend\n"),
	    1);
	assert_int_equal(run_text("expect received 192.0.2.2 2\n"), 1);
	assert_int_equal(run_text("expect cache www.test. A rank glue\n"), 1);
	assert_int_equal(
	    run_text("expect cache www.test. A rdata 1.2.3.4\n"), 1);
	assert_int_equal(run_text("expect no-cache www.test. A\n"), 1);
	assert_int_equal(run_text("expect trace lame\n"), 1);
	assert_int_equal(run_text("expect no-trace referral\n"), 1);
	assert_int_equal(run_text("expect reason \"x\"\n"), 1);
}

/* The complete example of tests/replay/README.md runs and passes, so the
 * documentation cannot drift from the format. */
static void
runner_runs_readme_example(void **state)
{
	const char *dir = *state;
	char path[600], first[600] = "";
	FILE *f;
	char *text = NULL, line[4096];
	size_t len = 0;
	int phase = 0; /* 0 before the heading, 1 before ```, 2 in it */

	snprintf(path, sizeof(path), "%s/README.md", dir);
	if ((f = fopen(path, "r")) == NULL)
		skip(); /* REPLAY_DIR elsewhere, without the README */
	FILE *m = open_memstream(&text, &len);
	assert_non_null(m);
	while (fgets(line, sizeof(line), f) != NULL && phase < 3) {
		if (phase == 0 && !strncmp(line, "## A complete example", 21))
			phase = 1;
		else if (phase == 1 && !strncmp(line, "```", 3))
			phase = 2;
		else if (phase == 2 && !strncmp(line, "```", 3))
			phase = 3;
		else if (phase == 2)
			fputs(line, m);
	}
	fclose(f);
	fclose(m);
	if (phase != 3) {
		free(text);
		fail_msg("%s: no complete example", path);
	}
	struct scenario *sc = scenario_parse(path, text);
	free(text);
	assert_non_null(sc);
	if (sc->err[0] != 0) {
		fprintf(out_f, "%s\n", sc->err);
		scenario_free(sc);
		fail_msg("the README example does not parse");
	}
	unsigned n = run_scenario(sc, false, first, sizeof(first));
	scenario_free(sc);
	if (n != 0)
		fail_msg("the README example fails: %s", first);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
main(int argc, char **argv)
{
	char **files = NULL;
	size_t n = 0;
	const char *dir = getenv("REPLAY_DIR");
	struct CMUnitTest *tests;
	int rc;

	out_f = stderr;
	if (dir == NULL || *dir == 0)
		dir = "tests/replay";
	files = calloc(MAX_DIR_FILES, sizeof(*files));
	if (files == NULL)
		return 1;
	if (argc > 1) {
		for (int i = 1; i < argc && n < MAX_DIR_FILES; i++)
			files[n++] = strdup(argv[i]);
	} else {
		DIR *d = opendir(dir);
		struct dirent *de;
		if (d == NULL) {
			fprintf(stderr, "%s: cannot open: %s\n", dir,
			    strerror(errno));
			free(files);
			return 1;
		}
		while ((de = readdir(d)) != NULL) {
			size_t l = strlen(de->d_name);
			if (l < 5 || strcmp(de->d_name + l - 4, ".scn") != 0)
				continue;
			if (n == MAX_DIR_FILES) {
				fprintf(stderr, "%s: more than %d scenarios\n",
				    dir, MAX_DIR_FILES);
				break;
			}
			size_t cap = strlen(dir) + l + 2;
			files[n] = malloc(cap);
			if (files[n] != NULL)
				snprintf(
				    files[n++], cap, "%s/%s", dir, de->d_name);
		}
		closedir(d);
		if (n == 0) {
			fprintf(stderr, "%s: no *.scn scenario\n", dir);
			free(files);
			return 1;
		}
	}
	qsort(files, n, sizeof(*files), cmp_str);
	tests = calloc(n + 3, sizeof(*tests));
	if (tests == NULL)
		return 1;
	tests[0] = (struct CMUnitTest){"runner rejects bad files",
	    runner_rejects_bad_files, NULL, NULL, NULL};
	tests[1] = (struct CMUnitTest){"runner fails wrong checks",
	    runner_fails_wrong_checks, NULL, NULL, NULL};
	tests[2] = (struct CMUnitTest){"runner runs the README example",
	    runner_runs_readme_example, NULL, NULL, (void *)dir};
	for (size_t i = 0; i < n; i++)
		tests[i + 3] = (struct CMUnitTest){
		    files[i], run_file, NULL, NULL, files[i]};
	rc = _cmocka_run_group_tests("replay", tests, n + 3, NULL, NULL);
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	free(tests);
	return rc;
}
