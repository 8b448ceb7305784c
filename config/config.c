/**
 * @file config.c
 * The configuration struct: defaults, the key schema and its validation,
 * value parsers, printing, and the per-packet access check.
 *
 * Nothing here knows about YAML: config/yaml.c walks the file and calls
 * cfg_set() with dotted key names and scalar strings. Every key the daemon
 * understands is one row of the keys[] table below, which drives the
 * defaults of numbers, setting, suggesting and printing alike, so a new key
 * is added in one place (and in man/resolverd.yaml.5).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"

#define KIB            1024ull
#define SIZE_MIN_BYTES (64 * KIB)
#define SIZE_MAX_BYTES (64 * KIB * KIB * KIB)
#define MAX_DISTANCE   3   /* farthest key still suggested */
#define KEY_MAX        64  /* longest dotted key name, with NUL */
#define GROUPS_MAX     256 /* supplementary groups looked at */

/* How a key's value is parsed, stored and printed. */
enum vtype {
	T_MAP,    /* a section; no value of its own */
	T_LISTEN, /* list of cfg_listen */
	T_ACCESS, /* list of cfg_prefix */
	T_HINTS,  /* path to a readable file, or NULL (root_hints, tls.*) */
	T_PATH,   /* path; control_socket: fits sun_path; log.dest: or
	             "stderr" or "syslog" */
	T_STR,    /* non-empty string, may stay NULL */
	T_OWNER,  /* "user" or "user:group" */
	T_DIR,    /* path to an existing directory */
	T_FILES,  /* list of paths to readable files */
	T_NAMES,  /* list of domain names */
	T_TXT,    /* string of at most CFG_TXT_MAX bytes */
	T_UINT,   /* 32-bit unsigned integer in [min, max] */
	T_BOOL,
	T_SIZE,     /* uint64_t bytes with k/K/M/G suffix, in [min, max] */
	T_LEVEL,    /* enum cfg_log_level */
	T_MODE,     /* file mode, octal ("0600"), in [min, max] */
	T_MAPLIST,  /* list of mappings: forward_zones, tiers */
	T_ITEM,     /* a field of the last item of a T_MAPLIST */
	T_ITEMLIST, /* a list field of the last item */
};

struct key {
	const char *name; /* dotted: "cache.size" */
	enum vtype type;
	size_t off;        /* offset of the field in struct cfg */
	uint64_t min, max; /* T_UINT, T_SIZE, T_MODE */
	uint64_t def;      /* the default of a number (T_UINT, T_SIZE,
	                      T_MODE, T_BOOL, T_LEVEL) */
};

#define F(field) offsetof(struct cfg, field)

/* Print order is table order; a section's keys follow its T_MAP row. */
static const struct key keys[] = {
    {"listen", T_LISTEN, F(listen), 0, CFG_MAX_LISTEN, 0},
    {"root_hints", T_HINTS, F(root_hints), 0, 0, 0},
    {"access", T_ACCESS, F(access), 0, CFG_MAX_ACCESS, 0},
    {"control_socket", T_PATH, F(control_socket), 0, 0, 0},
    {"control_socket_mode", T_MODE, F(control_mode), 0, 0777, 0600},
    {"control_socket_owner", T_OWNER, F(control_owner), 0, 0, 0},
    {"workers", T_UINT, F(workers), 0, 256, 0},
    {"user", T_STR, F(user), 0, 0, 0},
    {"chroot", T_DIR, F(chroot), 0, 0, 0},
    {"cache", T_MAP, 0, 0, 0, 0},
    {"cache.size", T_SIZE, F(cache.size), SIZE_MIN_BYTES, SIZE_MAX_BYTES,
        LIM_CACHE_SIZE},
    {"cache.max_ttl", T_UINT, F(cache.max_ttl), 0, 604800, LIM_MAX_TTL},
    {"cache.min_ttl", T_UINT, F(cache.min_ttl), 0, 3600, LIM_MIN_TTL},
    {"cache.negative_ttl", T_UINT, F(cache.negative_ttl), 0, 86400,
        LIM_NEG_TTL},
    {"cache.max_entries", T_UINT, F(cache.max_entries), 0, 100000000, 0},
    {"cache.serve_stale", T_UINT, F(cache.serve_stale), 0, LIM_SERVE_STALE_MAX,
        LIM_SERVE_STALE},
    {"cache.prefetch", T_BOOL, F(cache.prefetch), 0, 0, true},
    {"cache.persist", T_PATH, F(cache.persist), 0, 0, 0},
    {"log", T_MAP, 0, 0, 0, 0},
    {"log.level", T_LEVEL, F(log.level), 0, 0, CFG_LOG_INFO},
    {"log.dest", T_PATH, F(log.dest), 0, 0, 0},
    {"log.queries", T_BOOL, F(log.queries), 0, 0, false},
    {"qname_minimisation", T_BOOL, F(qname_minimisation), 0, 0, true},
    {"query_loopback", T_BOOL, F(query_loopback), 0, 0, false},
    {"dnssec", T_MAP, 0, 0, 0, 0},
    {"dnssec.validation", T_BOOL, F(dnssec.validation), 0, 0, true},
    {"dnssec.aggressive_nsec", T_BOOL, F(dnssec.aggressive_nsec), 0, 0, true},
    {"dnssec.trust_anchors", T_FILES, F(dnssec.trust_anchors), 0,
        CFG_MAX_TA_FILES, 0},
    {"dnssec.negative_trust_anchors", T_NAMES, F(dnssec.negative_trust_anchors),
        0, CFG_MAX_NTAS, 0},
    {"chaos", T_MAP, 0, 0, 0, 0},
    {"chaos.version", T_TXT, F(chaos.version), 0, CFG_TXT_MAX, 0},
    {"chaos.hostname", T_TXT, F(chaos.hostname), 0, CFG_TXT_MAX, 0},
    {"chaos.id", T_TXT, F(chaos.id), 0, CFG_TXT_MAX, 0},
    {"tcp", T_MAP, 0, 0, 0, 0},
    {"tcp.idle_timeout", T_UINT, F(tcp.idle_timeout_ms), 100, 600000,
        LIM_TCP_IDLE_MS},
    {"tcp.max_clients", T_UINT, F(tcp.max_clients), 1, 65535, LIM_TCP_CLIENTS},
    {"limits", T_MAP, 0, 0, 0, 0},
    {"limits.max_sends", T_UINT, F(limits.max_sends), 1, 200, LIM_MAX_SENDS},
    {"limits.max_glueless", T_UINT, F(limits.max_glueless), 0, 50,
        LIM_MAX_GLUELESS},
    {"limits.max_cname", T_UINT, F(limits.max_cname), 1, 64, LIM_MAX_CNAME},
    {"limits.max_depth", T_UINT, F(limits.max_depth), 1, 64, LIM_MAX_DEPTH},
    {"limits.max_time", T_UINT, F(limits.max_time_ms), 100, 60000,
        LIM_MAX_TIME_MS},
    {"forward_zones", T_MAPLIST, 0, 0, 0, 0},
    {"forward_zones.zone", T_ITEM, 0, 0, 0, 0},
    {"forward_zones.servers", T_ITEMLIST, 0, 0, 0, 0},
    {"forward_zones.fallback", T_ITEM, 0, 0, 0, 0},
    {"tiers", T_MAPLIST, 0, 0, 0, 0},
    {"tiers.name", T_ITEM, 0, 0, 0, 0},
    {"tiers.profile", T_ITEM, 0, 0, 0, 0},
    {"tiers.listen", T_ITEMLIST, 0, 0, 0, 0},
    {"tiers.count", T_ITEM, 0, 1, CFG_MAX_TIER_COUNT, 0},
    {"tiers.fanout", T_ITEM, 0, 1, CFG_MAX_TIER_COUNT, 0},
    {"tiers.upstream", T_ITEM, 0, 0, 0, 0},
    {"tiers.cache", T_MAP, 0, 0, 0, 0},
    {"tiers.cache.size", T_ITEM, 0, SIZE_MIN_BYTES, SIZE_MAX_BYTES, 0},
    {"tiers.cache.max_entries", T_ITEM, 0, 0, 100000000, 0},
    {"tiers.cache.max_ttl", T_ITEM, 0, 0, 604800, 0},
    {"tiers.cache.min_ttl", T_ITEM, 0, 0, 3600, 0},
    {"tiers.cache.negative_ttl", T_ITEM, 0, 0, 86400, 0},
    {"http", T_MAP, 0, 0, 0, 0},
    {"http.listen", T_LISTEN, F(http.listen), 0, CFG_MAX_HTTP_LISTEN, 0},
    {"http.access", T_ACCESS, F(http.access), 0, CFG_MAX_ACCESS, 0},
    {"tls", T_MAP, 0, 0, 0, 0},
    {"tls.listen", T_LISTEN, F(tls.listen), 0, CFG_MAX_TLS_LISTEN, 0},
    {"tls.cert", T_HINTS, F(tls.cert), 0, 0, 0},
    {"tls.key", T_HINTS, F(tls.key), 0, 0, 0},
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

_Static_assert(NKEYS <= CFG_MAX_KEYS, "struct cfg key_line[] is too short");

/* T_UINT fields are `unsigned` or `uint32_t`; both are stored as 4 bytes. */
_Static_assert(sizeof(unsigned) == sizeof(uint32_t), "unsigned is 32 bits");

static const char *const level_names[] = {
    [CFG_LOG_ERR] = "error",
    [CFG_LOG_WARN] = "warning",
    [CFG_LOG_INFO] = "info",
    [CFG_LOG_DEBUG] = "debug",
};

static const struct key *find_key(const char *name);
static const char *leaf(const char *name);
static size_t parent_len(const char *name);
static unsigned distance(const char *a, const char *b);
static int set_string(char **field, const char *v);
static char *path_value(const struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int parse_number(const char *s, int base, bool sign, uint64_t min,
    uint64_t max, uint64_t *out);
static void set_number(struct cfg *c, const struct key *k, uint64_t v);
static int set_uint(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int set_bool(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int set_size(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int set_level(struct cfg *c, const char *v, char *msg, size_t msglen);
static int set_mode(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int fs_check(const struct cfg *c, const char *path, bool dir);
static const char *fs_reason(int err);
static int set_checked(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int set_owner(
    const struct key *k, char **field, const char *v, char *msg, size_t msglen);
static int set_txt(
    const struct key *k, char **field, const char *v, char *msg, size_t msglen);
static unsigned *list_count(struct cfg *c, const struct key *k);
static int add_string(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int parse_name(
    const struct key *k, const char *v, char *out, char *msg, size_t msglen);
static const char *unset_note(const struct key *k);

/* Who the daemon runs as once started, for cfg_check_system(). */
struct ids {
	uid_t uid;
	gid_t gids[GROUPS_MAX]; /* the primary group and the others */
	int ngids;
	char who[320]; /* "user nobody", "the current user (uid 1000)" */
};

static int sys_fail(const struct cfg *c, const char *key, char *err,
    size_t errlen, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static bool no_such_entry(int err);
static int daemon_ids(
    const struct cfg *c, struct ids *id, char *err, size_t errlen);
static bool ids_allow(
    const struct ids *id, const struct stat *st, unsigned want);
static int check_dir_of(const struct cfg *c, const char *key, const char *path,
    char *err, size_t errlen);
static int check_owner(const struct cfg *c, char *err, size_t errlen);
static int check_persist(
    const struct cfg *c, const struct ids *id, char *err, size_t errlen);
static int set_path(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static struct cfg_listen *listen_list(
    const struct cfg *c, const struct key *k, unsigned **n);
static struct cfg_prefix *access_list(
    const struct cfg *c, const struct key *k, unsigned **n);
static int add_listen(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int add_access(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static int parse_addr(
    const char *s, int *family, uint8_t addr[16], uint32_t *scope);
static int parse_prefix(
    const char *s, struct cfg_prefix *out, const char **why);
static bool prefix_match(const struct cfg_prefix *p, const uint8_t *addr);
static void format_size(uint64_t v, char *buf, size_t len);
static void print_quoted(FILE *out, const char *s);
static void print_key(FILE *out, const struct cfg *c, const struct key *k);
static int add_item(
    struct cfg *c, const struct key *k, char *msg, size_t msglen);
static int set_item(struct cfg *c, const struct key *k, const char *v,
    char *msg, size_t msglen);
static void print_items(FILE *out, const struct cfg *c, const struct key *k);

static const struct key *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* The last component of a dotted name: "size" for "cache.size". */
static const char *
leaf(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot ? dot + 1 : name;
}

/* Length of the section prefix including its dot; 0 at the top level. */
static size_t
parent_len(const char *name)
{
	return (size_t)(leaf(name) - name);
}

/* Levenshtein distance, with one row of the usual table; UINT_MAX when
 * either string is longer than any key. */
static unsigned
distance(const char *a, const char *b)
{
	unsigned row[KEY_MAX + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la >= KEY_MAX || lb >= KEY_MAX)
		return UINT_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];

		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

int
cfg_defaults(struct cfg *c)
{
	static const char *const listen[] = {"127.0.0.1@53", "::1@53"};
	static const char *const access[] = {"127.0.0.0/8", "::1/128"};

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(listen) / sizeof(listen[0]); i++)
		if (cfg_parse_listen(listen[i], &c->listen[c->nlisten++]) < 0)
			return -EINVAL;
	for (size_t i = 0; i < sizeof(access) / sizeof(access[0]); i++)
		if (cfg_parse_prefix(access[i], &c->access[c->naccess++]) < 0 ||
		    cfg_parse_prefix(
		        access[i], &c->http.access[c->http.naccess++]) < 0)
			return -EINVAL;
	c->control_socket = strdup("/run/resolverd.ctl");
	c->log.dest = strdup("stderr");
	if (!c->control_socket || !c->log.dest) {
		cfg_free(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < NKEYS; i++)
		set_number(c, &keys[i], keys[i].def);
	return 0;
}

void
cfg_free(struct cfg *c)
{
	if (!c)
		return;
	free(c->path);
	free(c->dir);
	free(c->root_hints);
	free(c->control_socket);
	free(c->control_owner);
	free(c->cache.persist);
	free(c->user);
	free(c->chroot);
	free(c->log.dest);
	for (unsigned i = 0; i < c->dnssec.ntrust_anchors; i++)
		free(c->dnssec.trust_anchors[i]);
	for (unsigned i = 0; i < c->dnssec.nnegative_trust_anchors; i++)
		free(c->dnssec.negative_trust_anchors[i]);
	free(c->chaos.version);
	free(c->chaos.hostname);
	free(c->chaos.id);
	free(c->tls.cert);
	free(c->tls.key);
	memset(c, 0, sizeof(*c));
}

void
cfg_note_line(struct cfg *c, const char *key, unsigned line)
{
	const struct key *k = find_key(key);

	if (k)
		c->key_line[k - keys] = line;
}

unsigned
cfg_key_line(const struct cfg *c, const char *key)
{
	const struct key *k = find_key(key);

	return k ? c->key_line[k - keys] : 0;
}

enum cfg_kind
cfg_key_kind(const char *key)
{
	const struct key *k = find_key(key);

	if (!k)
		return CFG_KIND_NONE;
	switch (k->type) {
	case T_MAP:
		return CFG_KIND_MAP;
	case T_LISTEN:
	case T_ACCESS:
	case T_FILES:
	case T_NAMES:
	case T_ITEMLIST:
		return CFG_KIND_LIST;
	case T_MAPLIST:
		return CFG_KIND_MAPLIST;
	default:
		return CFG_KIND_SCALAR;
	}
}

const char *
cfg_key_suggest(const char *key)
{
	size_t plen = parent_len(key);
	const char *best = NULL;
	unsigned bestd = MAX_DISTANCE + 1;

	for (size_t i = 0; i < NKEYS; i++) {
		const char *name = keys[i].name;
		unsigned d;

		/* Siblings only: same section prefix, no deeper dot. */
		if (parent_len(name) != plen || strncmp(name, key, plen) != 0)
			continue;
		d = distance(leaf(key), leaf(name));
		if (d < bestd) {
			bestd = d;
			best = name;
		}
	}
	return best;
}

static int
set_string(char **field, const char *v)
{
	char *copy = strdup(v);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

/* All of @p s as a whole number in @p base (2 to 10) into *out: -EINVAL
 * unless it is digits (after a sign if @p sign), -ERANGE when it is
 * outside @p min..@p max. */
static int
parse_number(const char *s, int base, bool sign, uint64_t min, uint64_t max,
    uint64_t *out)
{
	char *end;
	long long n;

	if (!(*s >= '0' && *s < '0' + base) &&
	    !(sign && (*s == '-' || *s == '+')))
		return -EINVAL;
	errno = 0;
	n = strtoll(s, &end, base);
	if (end == s || *end != '\0')
		return -EINVAL;
	if (errno == ERANGE || n < 0 || (uint64_t)n < min || (uint64_t)n > max)
		return -ERANGE;
	*out = (uint64_t)n;
	return 0;
}

/* Store @p v in the field of @p k, as wide as the field is; nothing for a
 * key that is not a number. */
static void
set_number(struct cfg *c, const struct key *k, uint64_t v)
{
	char *field = (char *)c + k->off;
	uint32_t u = (uint32_t)v;
	bool b = v != 0;

	switch (k->type) {
	case T_UINT:
	case T_MODE:
		memcpy(field, &u, sizeof(u));
		return;
	case T_SIZE:
		memcpy(field, &v, sizeof(v));
		return;
	case T_BOOL:
		memcpy(field, &b, sizeof(b));
		return;
	case T_LEVEL:
		c->log.level = (enum cfg_log_level)v;
		return;
	default:
		return;
	}
}

static int
set_uint(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	uint64_t n;
	int rc = parse_number(v, 10, true, k->min, k->max, &n);

	if (rc == -EINVAL) {
		snprintf(msg, msglen,
		    "'%s' must be an integer in %" PRIu64 "..%" PRIu64
		    ", not '%s'",
		    k->name, k->min, k->max, v);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(msg, msglen,
		    "'%s' is out of range: %s (must be %" PRIu64 "..%" PRIu64
		    ")",
		    k->name, v, k->min, k->max);
		return -EINVAL;
	}
	set_number(c, k, n);
	return 0;
}

static int
set_bool(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	static const char *const yes[] = {"true", "yes", "on"};
	static const char *const no[] = {"false", "no", "off"};
	bool *field = (bool *)((char *)c + k->off);

	for (size_t i = 0; i < 3; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*field = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*field = false;
			return 0;
		}
	}
	snprintf(msg, msglen,
	    "'%s' must be a boolean (true/false, yes/no, on/off), not '%s'",
	    k->name, v);
	return -EINVAL;
}

static int
set_size(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	char lo[16], hi[16];
	uint64_t n;
	int rc = cfg_parse_size(v, &n);

	format_size(k->min, lo, sizeof(lo));
	format_size(k->max, hi, sizeof(hi));
	if (rc == -EINVAL) {
		size_t digits = strspn(v, "0123456789");

		if (digits > 0 && v[digits] != '\0')
			snprintf(msg, msglen,
			    "'%s': bad size suffix in '%s' (use k, K, M or G)",
			    k->name, v);
		else
			snprintf(msg, msglen,
			    "'%s' must be a size such as 64M (%s..%s), not "
			    "'%s'",
			    k->name, lo, hi, v);
		return -EINVAL;
	}
	if (rc < 0 || n < k->min || n > k->max) {
		snprintf(msg, msglen,
		    "'%s' is out of range: %s (must be %s..%s)", k->name, v, lo,
		    hi);
		return -EINVAL;
	}
	set_number(c, k, n);
	return 0;
}

static int
set_level(struct cfg *c, const char *v, char *msg, size_t msglen)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcmp(v, level_names[i]) == 0) {
			c->log.level = (enum cfg_log_level)i;
			return 0;
		}
	}
	snprintf(msg, msglen,
	    "'log.level' must be error, warning, info or debug, not '%s'", v);
	return -EINVAL;
}

#define FS_OUTSIDE (-1) /* fs_check(): outside the chroot of a reload */

/* 0, or the errno that says why @p path is not a readable file (@p dir
 * false) or not a directory (@p dir true), or FS_OUTSIDE. During a reload
 * in a chroot (c->load_root), @p path is looked for where it is seen from
 * inside. */
static int
fs_check(const struct cfg *c, const char *path, bool dir)
{
	const char *p = cfg_path_in_root(c->load_root, path);
	struct stat st;

	if (!p)
		return FS_OUTSIDE;
	if (!dir && access(p, R_OK) < 0)
		return errno;
	if (stat(p, &st) < 0)
		return errno;
	if (dir != (S_ISDIR(st.st_mode) != 0))
		return dir ? ENOTDIR : EISDIR;
	return 0;
}

static const char *
fs_reason(int err)
{
	return err == FS_OUTSIDE ? "outside the chroot, where a reload cannot "
	                           "see it"
	                         : strerror(err);
}

/* root_hints, chroot: a file the daemon reads later (possibly after a
 * reload), a directory it enters; checking them here turns a typo into an
 * error at the right line. */
static int
set_checked(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	char **field = (char **)((char *)c + k->off);
	char *path = path_value(c, k, v, msg, msglen);
	int err;

	if (!path)
		return msg[0] ? -EINVAL : -ENOMEM;
	if ((err = fs_check(c, path, k->type == T_DIR)) != 0) {
		snprintf(
		    msg, msglen, "%s: %s: %s", k->name, path, fs_reason(err));
		free(path);
		return -EINVAL;
	}
	free(*field);
	*field = path;
	return 0;
}

/* control_socket_owner: "user" or "user:group", as the daemon chowns the
 * socket; whether they exist is cfg_check_system's business. */
static int
set_owner(
    const struct key *k, char **field, const char *v, char *msg, size_t msglen)
{
	const char *colon = strchr(v, ':');

	if (v[0] == ':' || strlen(v) > 255 ||
	    (colon && (colon[1] == '\0' || strchr(colon + 1, ':')))) {
		snprintf(msg, msglen,
		    "'%s' must be user or user:group, not '%s'", k->name, v);
		return -EINVAL;
	}
	return set_string(field, v);
}

/* chaos.*: one TXT character-string. */
static int
set_txt(
    const struct key *k, char **field, const char *v, char *msg, size_t msglen)
{
	if (strlen(v) > k->max) {
		snprintf(msg, msglen,
		    "'%s' is too long: %zu bytes (at most %" PRIu64 ")",
		    k->name, strlen(v), k->max);
		return -EINVAL;
	}
	return set_string(field, v);
}

static unsigned *
list_count(struct cfg *c, const struct key *k)
{
	return k->off == F(dnssec.trust_anchors)
	    ? &c->dnssec.ntrust_anchors
	    : &c->dnssec.nnegative_trust_anchors;
}

/* One entry of a list of owned strings (T_FILES, T_NAMES); NULL empties
 * the list. */
static int
add_string(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	char **list = (char **)((char *)c + k->off);
	unsigned *n = list_count(c, k);
	char *s;
	int err;

	if (!v) {
		for (unsigned i = 0; i < *n; i++) {
			free(list[i]);
			list[i] = NULL;
		}
		*n = 0;
		return 0;
	}
	if (*n >= k->max) {
		snprintf(msg, msglen,
		    "too many '%s' entries (at most %" PRIu64 ")", k->name,
		    k->max);
		return -EINVAL;
	}
	if (k->type == T_FILES) {
		if (!(s = path_value(c, k, v, msg, msglen)))
			return msg[0] ? -EINVAL : -ENOMEM;
		if ((err = fs_check(c, s, false)) != 0) {
			snprintf(msg, msglen, "%s: %s: %s", k->name, s,
			    fs_reason(err));
			free(s);
			return -EINVAL;
		}
	} else {
		if (!(s = malloc(CFG_NAME_TEXT_MAX)))
			return -ENOMEM;
		if (parse_name(k, v, s, msg, msglen) < 0) {
			free(s);
			return -EINVAL;
		}
	}
	list[(*n)++] = s;
	return 0;
}

/* A domain name in presentation form, without escapes: labels of letters,
 * digits, '-' and '_', 1 to 63 each, at most 255 bytes on the wire. The
 * root is refused: a negative trust anchor there would switch validation
 * off, which dnssec.validation says plainly. @p out (CFG_NAME_TEXT_MAX
 * bytes) gets it in lower case with its final dot. */
static int
parse_name(
    const struct key *k, const char *v, char *out, char *msg, size_t msglen)
{
	size_t len = strlen(v), label = 0, o = 0;
	char why[96] = "";

	if (strcmp(v, ".") == 0) {
		snprintf(msg, msglen,
		    "'%s': '.' (the root) would turn validation off; use "
		    "'dnssec.validation: false' for that",
		    k->name);
		return -EINVAL;
	}
	if (len > 0 && v[len - 1] == '.')
		len--;
	if (len > CFG_NAME_TEXT_MAX - 3)
		snprintf(why, sizeof(why), "longer than 255 bytes");
	for (size_t i = 0; i < len && !why[0]; i++) {
		unsigned char ch = (unsigned char)v[i];

		if (ch == '.') {
			if (label == 0)
				snprintf(why, sizeof(why), "empty label");
			label = 0;
		} else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') {
			ch |= 0x20;
			label++;
		} else if ((ch >= '0' && ch <= '9') || ch == '-' || ch == '_') {
			label++;
		} else if (ch >= 0x20 && ch < 0x7f) {
			snprintf(why, sizeof(why),
			    "character '%c' is not allowed (letters, digits, "
			    "'-' and '_')",
			    ch);
		} else if (ch >= 0x80) {
			snprintf(why, sizeof(why),
			    "non-ASCII byte 0x%02x (write an internationalised "
			    "name in its xn-- form)",
			    ch);
		} else {
			snprintf(why, sizeof(why),
			    "control byte 0x%02x is not allowed", ch);
		}
		if (label > 63)
			snprintf(why, sizeof(why),
			    "a label is longer than 63 bytes");
		out[o++] = (char)ch;
	}
	if (!why[0] && label == 0)
		snprintf(why, sizeof(why), "empty label");
	if (why[0]) {
		snprintf(msg, msglen, "'%s': bad domain name '%s': %s", k->name,
		    v, why);
		return -EINVAL;
	}
	out[o++] = '.';
	out[o] = '\0';
	return 0;
}

/* An octal file mode: "0600", "660". */
static int
set_mode(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	uint64_t n;

	if (parse_number(v, 8, false, k->min, k->max, &n) < 0) {
		snprintf(msg, msglen,
		    "'%s' must be an octal file mode such as 0600 or "
		    "0660, not '%s'",
		    k->name, v);
		return -EINVAL;
	}
	set_number(c, k, n);
	return 0;
}

/* A path of the file, absolute: a relative one is taken from the file's
 * directory (c->dir), not from wherever the daemon was started. NULL with
 * msg[0] == '\0' when out of memory. */
static char *
path_value(const struct cfg *c, const struct key *k, const char *v, char *msg,
    size_t msglen)
{
	char *path = cfg_abs_path(c->dir, v);

	msg[0] = '\0';
	if (!path) {
		if (errno != ENOMEM)
			snprintf(msg, msglen, "%s: %s: %s", k->name, v,
			    strerror(errno));
		return NULL;
	}
	if (strlen(path) >= PATH_MAX) {
		snprintf(msg, msglen, "%s: %s: %s", k->name, path,
		    strerror(ENAMETOOLONG));
		free(path);
		return NULL;
	}
	return path;
}

static int
set_path(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	char **field = (char **)((char *)c + k->off);
	char *path;

	/* log.dest names a sink; "./stderr" is the file */
	if (k->off == F(log.dest) &&
	    (strcmp(v, "stderr") == 0 || strcmp(v, "syslog") == 0))
		return set_string(field, v);
	if (!(path = path_value(c, k, v, msg, msglen)))
		return msg[0] ? -EINVAL : -ENOMEM;
	if (k->off == F(control_socket) &&
	    strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(msg, msglen, "'%s' is too long (at most %zu bytes)",
		    k->name, sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
		free(path);
		return -EINVAL;
	}
	free(*field);
	*field = path;
	return 0;
}

/* The list a T_LISTEN key fills (listen, http.listen, tls.listen) and its
 * count. */
static struct cfg_listen *
listen_list(const struct cfg *c, const struct key *k, unsigned **n)
{
	struct cfg *w = (struct cfg *)c;
	bool http = k->off == F(http.listen);

	if (k->off == F(tls.listen)) {
		*n = &w->tls.nlisten;
		return w->tls.listen;
	}
	*n = http ? &w->http.nlisten : &w->nlisten;
	return http ? w->http.listen : w->listen;
}

/* The same for T_ACCESS (access, http.access). */
static struct cfg_prefix *
access_list(const struct cfg *c, const struct key *k, unsigned **n)
{
	struct cfg *w = (struct cfg *)c;
	bool http = k->off == F(http.access);

	*n = http ? &w->http.naccess : &w->naccess;
	return http ? w->http.access : w->access;
}

static int
add_listen(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	unsigned *n;
	struct cfg_listen *list = listen_list(c, k, &n);
	bool http = k->off == F(http.listen);
	const char *given = v;
	char v853[80];

	if (*n >= k->max) {
		snprintf(msg, msglen,
		    "too many '%s' entries (at most %" PRIu64 ")", k->name,
		    k->max);
		return -EINVAL;
	}
	/* DNS over TLS has a port of its own */
	if (k->off == F(tls.listen) && strchr(v, '@') == NULL &&
	    strlen(v) < sizeof(v853) - 8) {
		snprintf(v853, sizeof(v853), "%s@%d", v, CFG_TLS_PORT);
		v = v853;
	}
	if (cfg_parse_listen(v, &list[*n]) < 0 ||
	    (http && strchr(v, '@') == NULL)) {
		if (k->off == F(tls.listen)) {
			snprintf(msg, msglen,
			    "bad tls.listen address '%s' (expected address "
			    "or address@port, e.g. 127.0.0.1@853 or ::1)",
			    given);
			return -EINVAL;
		}
		snprintf(msg, msglen,
		    "bad %s address '%s' (expected address@port, "
		    "e.g. %s)",
		    http ? "http.listen" : "listen", v,
		    http ? "127.0.0.1@8053 or ::1@8053"
		         : "127.0.0.1@53 or ::1@53");
		return -EINVAL;
	}
	(*n)++;
	return 0;
}

static int
add_access(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	const char *why = NULL;
	unsigned *n;
	struct cfg_prefix *list = access_list(c, k, &n);

	if (*n >= k->max) {
		snprintf(msg, msglen,
		    "too many '%s' entries (at most %" PRIu64 ")", k->name,
		    k->max);
		return -EINVAL;
	}
	if (parse_prefix(v, &list[*n], &why) < 0) {
		if (why && strcmp(why, "host bits set") == 0)
			snprintf(msg, msglen, "%s in %s", why, v);
		else if (why)
			snprintf(msg, msglen, "bad %s prefix '%s': %s", k->name,
			    v, why);
		else
			snprintf(msg, msglen,
			    "bad %s prefix '%s' (expected address/bits, "
			    "e.g. 192.0.2.0/24 or 2001:db8::/32)",
			    k->name, v);
		return -EINVAL;
	}
	(*n)++;
	return 0;
}

/* ---- lists of mappings: forward_zones and tiers ---------------------- */

enum {
	TC_SIZE = 1,
	TC_ENTRIES = 2,
	TC_MAX = 4,
	TC_MIN = 8,
	TC_NEG = 16
};

static const char *const profile_names[] = {
    [CFG_PROFILE_NONE] = "none",
    [CFG_PROFILE_BROWSER] = "browser",
    [CFG_PROFILE_OS] = "os",
    [CFG_PROFILE_ROUTER] = "router",
    [CFG_PROFILE_ISP] = "isp",
};

/* The cache policy of each profile, from the documentation of the caches
 * they stand for: Chromium caps at 60 s here and keeps about 1000
 * entries, systemd-resolved 4096 entries and 2 h, dnsmasq 150 names with
 * TTLs as received, an ISP resolver 1 day and 1 h negative. */
static const struct cfg_tier_cache profile_cache[] = {
    [CFG_PROFILE_NONE] = {4 * KIB * KIB, 0, LIM_MAX_TTL, 0, LIM_NEG_TTL},
    [CFG_PROFILE_BROWSER] = {4 * KIB * KIB, 1000, 60, 0, 60},
    [CFG_PROFILE_OS] = {4 * KIB * KIB, 4096, 7200, 0, 7200},
    [CFG_PROFILE_ROUTER] = {1 * KIB * KIB, 150, 604800, 0, 86400},
    [CFG_PROFILE_ISP] = {64 * KIB * KIB, 0, 86400, 0, 3600},
};

const char *
cfg_profile_name(enum cfg_profile p)
{
	return (unsigned)p < 5 ? profile_names[p] : "none";
}

/* A profile fills the cache fields the file did not set itself, whatever
 * the order of the keys. */
static void
apply_profile(struct cfg_tier *t)
{
	const struct cfg_tier_cache *pc = &profile_cache[t->profile];

	if (!(t->explicit_keys & TC_SIZE))
		t->cache.size = pc->size;
	if (!(t->explicit_keys & TC_ENTRIES))
		t->cache.max_entries = pc->max_entries;
	if (!(t->explicit_keys & TC_MAX))
		t->cache.max_ttl = pc->max_ttl;
	if (!(t->explicit_keys & TC_MIN))
		t->cache.min_ttl = pc->min_ttl;
	if (!(t->explicit_keys & TC_NEG))
		t->cache.negative_ttl = pc->negative_ttl;
}

static int
add_item(struct cfg *c, const struct key *k, char *msg, size_t msglen)
{
	if (strcmp(k->name, "tiers") == 0) {
		if (c->ntiers >= CFG_MAX_TIERS) {
			snprintf(
			    msg, msglen, "at most %d tiers", CFG_MAX_TIERS);
			return -EINVAL;
		}
		struct cfg_tier *t = &c->tiers[c->ntiers++];
		memset(t, 0, sizeof(*t));
		t->count = 1;
		apply_profile(t);
		return 0;
	}
	if (c->nforwards >= CFG_MAX_FORWARDS) {
		snprintf(
		    msg, msglen, "at most %d forward zones", CFG_MAX_FORWARDS);
		return -EINVAL;
	}
	memset(&c->forwards[c->nforwards++], 0, sizeof(c->forwards[0]));
	return 0;
}

/* A number for an item field, range-checked like a T_UINT/T_SIZE key. */
static int
item_number(
    const struct key *k, const char *v, uint64_t *out, char *msg, size_t msglen)
{
	struct cfg scratch;
	struct key kk = *k;

	memset(&scratch, 0, sizeof(scratch));
	if (strcmp(leaf(k->name), "size") == 0) {
		kk.type = T_SIZE;
		kk.off = F(cache.size);
		if (set_size(&scratch, &kk, v, msg, msglen) < 0)
			return -EINVAL;
		*out = scratch.cache.size;
		return 0;
	}
	kk.type = T_UINT;
	kk.off = F(cache.max_ttl);
	if (set_uint(&scratch, &kk, v, msg, msglen) < 0)
		return -EINVAL;
	*out = scratch.cache.max_ttl;
	return 0;
}

/* Append address @p v to @p list (@p n of at most @p max); NULL @p v
 * (an empty list in the file) empties it. @p many and @p what word the
 * errors: "at most 8 servers per forward zone", "bad server address". */
static int
add_addr(struct cfg_listen *list, unsigned *n, unsigned max, const char *v,
    const char *many, const char *what, char *msg, size_t msglen)
{
	if (!v) {
		*n = 0;
		return 0;
	}
	if (*n >= max) {
		snprintf(msg, msglen, "at most %u %s", max, many);
		return -EINVAL;
	}
	if (cfg_parse_listen(v, &list[*n]) < 0) {
		snprintf(msg, msglen,
		    "bad %s address '%s' (want address or address@port)", what,
		    v);
		return -EINVAL;
	}
	(*n)++;
	return 0;
}

static int
set_fwd_item(struct cfg_forward *f, const struct key *k, const char *v,
    char *msg, size_t msglen)
{
	const char *name = leaf(k->name);
	size_t l;

	if (strcmp(name, "servers") == 0)
		return add_addr(f->servers, &f->nservers, CFG_MAX_FWD_SERVERS,
		    v, "servers per forward zone", "server", msg, msglen);
	if (!v || !*v) {
		snprintf(msg, msglen, "'%s' needs a value", k->name);
		return -EINVAL;
	}
	if (strcmp(name, "fallback") == 0) {
		if (strcmp(v, "iterate") && strcmp(v, "fail")) {
			snprintf(msg, msglen,
			    "'%s' must be iterate or fail, "
			    "not '%s'",
			    k->name, v);
			return -EINVAL;
		}
		f->fallback_iterate = strcmp(v, "iterate") == 0;
		return 0;
	}
	/* zone: a domain name; stored with its final dot */
	l = strlen(v);
	if (l + 2 > sizeof(f->zone) || strstr(v, "..") ||
	    (v[0] == '.' && v[1] != '\0') || strpbrk(v, " \t@/")) {
		snprintf(msg, msglen, "bad zone name '%s'", v);
		return -EINVAL;
	}
	snprintf(
	    f->zone, sizeof(f->zone), "%s%s", v, v[l - 1] == '.' ? "" : ".");
	return 0;
}

static int
set_tier_item(struct cfg_tier *t, const struct key *k, const char *v, char *msg,
    size_t msglen)
{
	const char *name = leaf(k->name);
	uint64_t n;

	if (strcmp(k->name, "tiers.listen") == 0)
		return add_addr(t->listen, &t->nlisten, CFG_MAX_TIER_LISTEN, v,
		    "listen addresses per tier", "listen", msg, msglen);
	if (!v || !*v) {
		snprintf(msg, msglen, "'%s' needs a value", k->name);
		return -EINVAL;
	}
	if (strcmp(k->name, "tiers.name") == 0) {
		if (strlen(v) >= CFG_NAME_MAX || strpbrk(v, " \t\n/")) {
			snprintf(msg, msglen,
			    "bad tier name '%s' (at most %d "
			    "characters, no spaces)",
			    v, CFG_NAME_MAX - 1);
			return -EINVAL;
		}
		snprintf(t->name, sizeof(t->name), "%s", v);
		return 0;
	}
	if (strcmp(k->name, "tiers.profile") == 0) {
		for (unsigned i = 0; i < 5; i++) {
			if (strcmp(v, profile_names[i]) == 0) {
				t->profile = (enum cfg_profile)i;
				apply_profile(t);
				return 0;
			}
		}
		snprintf(msg, msglen,
		    "'%s' must be browser, os, router, isp "
		    "or none, not '%s'",
		    k->name, v);
		return -EINVAL;
	}
	if (strcmp(k->name, "tiers.upstream") == 0) {
		t->upstream_set = true;
		t->upstream_iterate = strcmp(v, "iterate") == 0;
		if (!t->upstream_iterate &&
		    cfg_parse_listen(v, &t->upstream) < 0) {
			snprintf(msg, msglen,
			    "'%s' must be iterate or an "
			    "address@port, not '%s'",
			    k->name, v);
			return -EINVAL;
		}
		return 0;
	}
	if (item_number(k, v, &n, msg, msglen) < 0)
		return -EINVAL;
	if (strcmp(k->name, "tiers.count") == 0) {
		t->count = (unsigned)n;
	} else if (strcmp(k->name, "tiers.fanout") == 0) {
		t->fanout = (unsigned)n;
	} else if (strcmp(name, "size") == 0) {
		t->cache.size = n;
		t->explicit_keys |= TC_SIZE;
	} else if (strcmp(name, "max_entries") == 0) {
		t->cache.max_entries = (uint32_t)n;
		t->explicit_keys |= TC_ENTRIES;
	} else if (strcmp(name, "max_ttl") == 0) {
		t->cache.max_ttl = (uint32_t)n;
		t->explicit_keys |= TC_MAX;
	} else if (strcmp(name, "min_ttl") == 0) {
		t->cache.min_ttl = (uint32_t)n;
		t->explicit_keys |= TC_MIN;
	} else {
		t->cache.negative_ttl = (uint32_t)n;
		t->explicit_keys |= TC_NEG;
	}
	return 0;
}

static int
set_item(
    struct cfg *c, const struct key *k, const char *v, char *msg, size_t msglen)
{
	if (strncmp(k->name, "tiers.", 6) == 0) {
		if (c->ntiers == 0)
			return -EINVAL;
		return set_tier_item(
		    &c->tiers[c->ntiers - 1], k, v, msg, msglen);
	}
	if (c->nforwards == 0)
		return -EINVAL;
	return set_fwd_item(&c->forwards[c->nforwards - 1], k, v, msg, msglen);
}

static void
print_items(FILE *out, const struct cfg *c, const struct key *k)
{
	if (strcmp(k->name, "forward_zones") == 0) {
		fprintf(out, "forward_zones:%s\n", c->nforwards ? "" : " []");
		for (unsigned i = 0; i < c->nforwards; i++) {
			const struct cfg_forward *f = &c->forwards[i];
			fputs("  - zone: ", out);
			print_quoted(out, f->zone);
			fputs("\n    servers:\n", out);
			for (unsigned j = 0; j < f->nservers; j++) {
				fputs("      - ", out);
				print_quoted(out, f->servers[j].text);
				fputc('\n', out);
			}
			fprintf(out, "    fallback: %s\n",
			    f->fallback_iterate ? "iterate" : "fail");
		}
		return;
	}
	fprintf(out, "tiers:%s\n", c->ntiers ? "" : " []");
	for (unsigned i = 0; i < c->ntiers; i++) {
		const struct cfg_tier *t = &c->tiers[i];
		char size[32];

		fputs("  - name: ", out);
		print_quoted(out, t->name);
		fprintf(out, "\n    profile: %s\n    count: %u\n",
		    profile_names[t->profile], t->count);
		if (t->fanout)
			fprintf(out, "    fanout: %u\n", t->fanout);
		else if (i + 1 < c->ntiers && t->count > 1)
			fputs("    # fanout: not set, spread evenly over the "
			      "next tier\n",
			    out);
		fputs("    listen:\n", out);
		for (unsigned j = 0; j < t->nlisten; j++) {
			fputs("      - ", out);
			print_quoted(out, t->listen[j].text);
			fputc('\n', out);
		}
		if (t->upstream_set) {
			fputs("    upstream: ", out);
			print_quoted(out,
			    t->upstream_iterate ? "iterate" : t->upstream.text);
			fputc('\n', out);
		} else {
			fprintf(out, "    # upstream: not set, %s\n",
			    i + 1 < c->ntiers ? "the next tier" : "iterate");
		}
		format_size(t->cache.size, size, sizeof(size));
		fprintf(out,
		    "    cache:\n      size: %s\n      max_entries: %" PRIu32
		    "\n      max_ttl: %" PRIu32 "\n      min_ttl: %" PRIu32
		    "\n      negative_ttl: %" PRIu32 "\n",
		    size, t->cache.max_entries, t->cache.max_ttl,
		    t->cache.min_ttl, t->cache.negative_ttl);
	}
}

/* Is @p text one of the @p n addresses at @p l? */
static bool
listen_has(const struct cfg_listen *l, unsigned n, const char *text)
{
	for (unsigned k = 0; k < n; k++)
		if (strcmp(l[k].text, text) == 0)
			return true;
	return false;
}

/* Is @p text an address a DNS listener binds: one of `listen` without
 * tiers, else of a tier instance (none for a tier whose listen list does
 * not fit its count, which check_tree refuses)? */
static bool
dns_listen_has(const struct cfg *c, const char *text)
{
	if (c->ntiers == 0)
		return listen_has(c->listen, c->nlisten, text);
	for (unsigned t = 0; t < c->ntiers; t++) {
		const struct cfg_tier *tier = &c->tiers[t];
		unsigned members = tier->count ? tier->count : 1;

		if (tier->count > 1 && tier->nlisten != 1 &&
		    tier->nlisten != tier->count)
			continue;
		for (unsigned m = 0; m < members; m++) {
			struct cfg_listen l[CFG_MAX_TIER_LISTEN];
			unsigned n = cfg_tier_listen(c, t, m, l);

			if (listen_has(l, n, text))
				return true;
		}
	}
	return false;
}

/* tls: a listener needs its certificate and key, and an address of its
 * own (the DNS listeners bind TCP on their ports, the HTTP ones too). */
static int
check_tls(const struct cfg *c, const char **key, char *msg, size_t msglen)
{
	if ((c->tls.cert == NULL) != (c->tls.key == NULL)) {
		*key = c->tls.cert ? "tls.cert" : "tls.key";
		snprintf(msg, msglen, "'%s' is set but not '%s'",
		    c->tls.cert ? "tls.cert" : "tls.key",
		    c->tls.cert ? "tls.key" : "tls.cert");
		return -EINVAL;
	}
	if (c->tls.nlisten > 0 && c->tls.cert == NULL) {
		*key = "tls.listen";
		snprintf(
		    msg, msglen, "'tls.listen' needs 'tls.cert' and 'tls.key'");
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->tls.nlisten; i++) {
		const char *a = c->tls.listen[i].text;
		bool dns =
		    c->ntiers == 0 && listen_has(c->listen, c->nlisten, a);

		*key = "tls.listen";
		/* a tier's listen list as written (not each instance's) */
		for (unsigned t = 0; t < c->ntiers && !dns; t++)
			dns = listen_has(
			    c->tiers[t].listen, c->tiers[t].nlisten, a);
		if (dns) {
			snprintf(msg, msglen,
			    "'tls.listen' %s is also a DNS listen address", a);
			return -EINVAL;
		}
		if (listen_has(c->http.listen, c->http.nlisten, a)) {
			snprintf(msg, msglen,
			    "'tls.listen' %s is also an 'http.listen' address",
			    a);
			return -EINVAL;
		}
		if (listen_has(c->tls.listen, i, a)) {
			snprintf(
			    msg, msglen, "'tls.listen' %s is given twice", a);
			return -EINVAL;
		}
	}
	*key = NULL;
	return 0;
}

/* ---- the instances of the tiers (a tree) ------------------------------ */

unsigned
cfg_ninstances(const struct cfg *c)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->ntiers; i++)
		n += c->tiers[i].count ? c->tiers[i].count : 1;
	return c->ntiers ? n : 1;
}

unsigned
cfg_tier_first(const struct cfg *c, unsigned tier)
{
	unsigned n = 0;

	for (unsigned i = 0; i < tier && i < c->ntiers; i++)
		n += c->tiers[i].count ? c->tiers[i].count : 1;
	return n;
}

/* @p l with its port counted up by @p k (its text made again). */
static void
listen_plus(const struct cfg_listen *l, unsigned k, struct cfg_listen *out)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;

	*out = *l;
	if (l->addr.ss_family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;
		port = ntohs(sin->sin_port) + k;
		sin->sin_port = htons((uint16_t)port);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;
		port = ntohs(sin6->sin6_port) + k;
		sin6->sin6_port = htons((uint16_t)port);
	}
	/* the text is "host@port" (a scope stays in the host part) */
	snprintf(host, sizeof(host), "%.*s",
	    (int)(strrchr(l->text, '@') - l->text), l->text);
	snprintf(out->text, sizeof(out->text), "%s@%u", host, port);
}

unsigned
cfg_tier_listen(
    const struct cfg *c, unsigned tier, unsigned member, struct cfg_listen *out)
{
	const struct cfg_tier *t = &c->tiers[tier];

	if (t->count <= 1) {
		memcpy(out, t->listen, sizeof(t->listen[0]) * t->nlisten);
		return t->nlisten;
	}
	if (t->nlisten == t->count) {
		out[0] = t->listen[member];
		return 1;
	}
	listen_plus(&t->listen[0], member, &out[0]);
	return 1;
}

unsigned
cfg_tier_parent(const struct cfg *c, unsigned tier, unsigned member)
{
	const struct cfg_tier *t = &c->tiers[tier];
	unsigned n = t->count ? t->count : 1, up;

	if (tier + 1 >= c->ntiers)
		return 0;
	up = c->tiers[tier + 1].count ? c->tiers[tier + 1].count : 1;
	if (t->fanout)
		return member / t->fanout < up ? member / t->fanout : up - 1;
	return (unsigned)((uint64_t)member * up / n);
}

void
cfg_instance_name(
    const struct cfg *c, unsigned tier, unsigned member, char *out, size_t len)
{
	if (c->tiers[tier].count <= 1)
		snprintf(out, len, "%s", c->tiers[tier].name);
	else
		snprintf(out, len, "%s-%u", c->tiers[tier].name, member + 1);
}

/* Tier @p i as a level of the tree: its listen form fits its count, its
 * ports stay ports, its fanout fits the next tier. */
static int
check_tree(const struct cfg *c, unsigned i, char *msg, size_t msglen)
{
	const struct cfg_tier *t = &c->tiers[i];

	if (t->count > 1 &&
	    strlen(t->name) + (size_t)snprintf(NULL, 0, "-%u", t->count) >=
	        CFG_INST_NAME_MAX) {
		snprintf(msg, msglen,
		    "tier '%s': with count %u, the instance names (%s-%u) "
		    "are longer than %d characters",
		    t->name, t->count, t->name, t->count,
		    CFG_INST_NAME_MAX - 1);
		return -EINVAL;
	}
	if (t->count > 1 && t->nlisten != 1 && t->nlisten != t->count) {
		snprintf(msg, msglen,
		    "tier '%s': with count %u, 'listen' is one address (the "
		    "port counted up per instance) or %u addresses, not %u",
		    t->name, t->count, t->count, t->nlisten);
		return -EINVAL;
	}
	if (t->count > 1 && t->nlisten == 1) {
		const struct sockaddr_in *sin =
		    (const struct sockaddr_in *)&t->listen[0].addr;
		const struct sockaddr_in6 *sin6 =
		    (const struct sockaddr_in6 *)&t->listen[0].addr;
		unsigned port = ntohs(t->listen[0].addr.ss_family == AF_INET
		        ? sin->sin_port
		        : sin6->sin6_port);

		if (port + t->count - 1 > 65535) {
			snprintf(msg, msglen,
			    "tier '%s': %u instances from port %u go past "
			    "port 65535",
			    t->name, t->count, port);
			return -EINVAL;
		}
	}
	if (t->fanout == 0)
		return 0;
	if (i + 1 >= c->ntiers || t->upstream_set) {
		snprintf(msg, msglen,
		    "tier '%s': 'fanout' needs a next tier to ask (not the "
		    "last tier, no 'upstream')",
		    t->name);
		return -EINVAL;
	}
	if ((t->count + t->fanout - 1) / t->fanout > c->tiers[i + 1].count) {
		snprintf(msg, msglen,
		    "tier '%s': %u instances, %u per instance of '%s', need "
		    "%u of them; it has %u",
		    t->name, t->count, t->fanout, c->tiers[i + 1].name,
		    (t->count + t->fanout - 1) / t->fanout,
		    c->tiers[i + 1].count);
		return -EINVAL;
	}
	return 0;
}

/* All the instances together: not too many, each name and each listen
 * address used once. */
static int
check_instances(const struct cfg *c, char *msg, size_t msglen)
{
	unsigned n = cfg_ninstances(c), k = 0, naddr = 0;
	char(*names)[CFG_INST_NAME_MAX];
	struct cfg_listen *addrs;
	int rc = 0;

	if (c->ntiers == 0)
		return 0;
	if (n > CFG_MAX_INSTANCES) {
		snprintf(msg, msglen,
		    "the tiers have %u instances in all; at most %d", n,
		    CFG_MAX_INSTANCES);
		return -EINVAL;
	}
	names = calloc(n, sizeof(*names));
	addrs = calloc((size_t)n * CFG_MAX_TIER_LISTEN, sizeof(*addrs));
	if (names == NULL || addrs == NULL) {
		free(names);
		free(addrs);
		snprintf(msg, msglen, "out of memory");
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->ntiers && rc == 0; i++) {
		for (unsigned m = 0; m < c->tiers[i].count && rc == 0; m++) {
			cfg_instance_name(c, i, m, names[k], sizeof(names[k]));
			for (unsigned j = 0; j < k && rc == 0; j++)
				if (strcmp(names[j], names[k]) == 0) {
					snprintf(msg, msglen,
					    "two tier instances are named "
					    "'%s'",
					    names[k]);
					rc = -EINVAL;
				}
			k++;
			unsigned got = cfg_tier_listen(c, i, m, addrs + naddr);
			for (unsigned a = naddr; a < naddr + got && rc == 0;
			     a++)
				for (unsigned b = 0; b < a && rc == 0; b++)
					if (strcmp(addrs[a].text,
					        addrs[b].text) == 0) {
						snprintf(msg, msglen,
						    "listen address %s is "
						    "given to two tier "
						    "instances",
						    addrs[a].text);
						rc = -EINVAL;
					}
			naddr += got;
		}
	}
	free(names);
	free(addrs);
	return rc;
}

/* Items are complete and consistent. */
static int
check_items(const struct cfg *c, const char **key, char *msg, size_t msglen)
{
	for (unsigned i = 0; i < c->nforwards; i++) {
		const struct cfg_forward *f = &c->forwards[i];
		*key = "forward_zones";
		if (!f->zone[0]) {
			snprintf(msg, msglen, "forward zone %u has no 'zone'",
			    i + 1);
			return -EINVAL;
		}
		if (f->nservers == 0) {
			snprintf(msg, msglen,
			    "forward zone '%s' has no "
			    "'servers'",
			    f->zone);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < c->ntiers; i++) {
		const struct cfg_tier *t = &c->tiers[i];
		*key = "tiers";
		if (!t->name[0]) {
			snprintf(msg, msglen, "tier %u has no 'name'", i + 1);
			return -EINVAL;
		}
		for (unsigned j = 0; j < i; j++) {
			if (strcmp(c->tiers[j].name, t->name) == 0) {
				snprintf(msg, msglen,
				    "two tiers are named "
				    "'%s'",
				    t->name);
				return -EINVAL;
			}
		}
		if (t->nlisten == 0) {
			snprintf(
			    msg, msglen, "tier '%s' has no 'listen'", t->name);
			return -EINVAL;
		}
		if (t->cache.min_ttl > t->cache.max_ttl) {
			snprintf(msg, msglen,
			    "tier '%s': min_ttl (%" PRIu32
			    ") must not exceed max_ttl (%" PRIu32 ")",
			    t->name, t->cache.min_ttl, t->cache.max_ttl);
			return -EINVAL;
		}
		if (check_tree(c, i, msg, msglen) < 0)
			return -EINVAL;
	}
	if (check_instances(c, msg, msglen) < 0)
		return -EINVAL;
	*key = NULL;
	return 0;
}

int
cfg_set(
    struct cfg *c, const char *key, const char *value, char *msg, size_t msglen)
{
	const struct key *k = find_key(key);

	if (!k || k->type == T_MAP) {
		snprintf(msg, msglen, "'%s' is not a settable key", key);
		return -EINVAL;
	}
	if (k->type == T_MAPLIST && !value)
		return add_item(c, k, msg, msglen);
	if (k->type == T_ITEM || k->type == T_ITEMLIST)
		return set_item(c, k, value, msg, msglen);
	if (!value) {
		unsigned *n;

		if (k->type == T_LISTEN) {
			listen_list(c, k, &n);
			*n = 0;
			return 0;
		}
		if (k->type == T_ACCESS) {
			access_list(c, k, &n);
			*n = 0;
			return 0;
		}
		if (k->type == T_FILES || k->type == T_NAMES)
			return add_string(c, k, NULL, msg, msglen);
		snprintf(msg, msglen, "'%s' needs a value", key);
		return -EINVAL;
	}
	if (*value == '\0') {
		snprintf(msg, msglen, "'%s' needs a value", key);
		return -EINVAL;
	}
	switch (k->type) {
	case T_LISTEN:
		return add_listen(c, k, value, msg, msglen);
	case T_ACCESS:
		return add_access(c, k, value, msg, msglen);
	case T_HINTS:
	case T_DIR:
		return set_checked(c, k, value, msg, msglen);
	case T_FILES:
	case T_NAMES:
		return add_string(c, k, value, msg, msglen);
	case T_OWNER:
		return set_owner(
		    k, (char **)((char *)c + k->off), value, msg, msglen);
	case T_TXT:
		return set_txt(
		    k, (char **)((char *)c + k->off), value, msg, msglen);
	case T_PATH:
		return set_path(c, k, value, msg, msglen);
	case T_STR:
		return set_string((char **)((char *)c + k->off), value);
	case T_UINT:
		return set_uint(c, k, value, msg, msglen);
	case T_BOOL:
		return set_bool(c, k, value, msg, msglen);
	case T_SIZE:
		return set_size(c, k, value, msg, msglen);
	case T_LEVEL:
		return set_level(c, value, msg, msglen);
	case T_MODE:
		return set_mode(c, k, value, msg, msglen);
	case T_MAP:
	case T_MAPLIST:
	case T_ITEM:
	case T_ITEMLIST:
		break;
	}
	snprintf(msg, msglen, "'%s' takes a list of mappings", key);
	return -EINVAL;
}

const char *
cfg_path_in_root(const char *root, const char *path)
{
	size_t len;

	if (!root || strcmp(root, "/") == 0)
		return path;
	len = strlen(root);
	if (strncmp(path, root, len) != 0)
		return NULL;
	if (path[len] == '\0')
		return "/";
	return path[len] == '/' ? path + len : NULL;
}

int
cfg_check(const struct cfg *c, const char **key, char *msg, size_t msglen)
{
	if (c->nlisten == 0) {
		*key = "listen";
		snprintf(msg, msglen, "'listen' needs at least one address");
		return -EINVAL;
	}
	if (c->cache.min_ttl > c->cache.max_ttl) {
		*key = "cache.min_ttl";
		snprintf(msg, msglen,
		    "'cache.min_ttl' (%" PRIu32 ") must not exceed "
		    "'cache.max_ttl' (%" PRIu32 ")",
		    c->cache.min_ttl, c->cache.max_ttl);
		return -EINVAL;
	}
	/* The dump is written at stop, long after the chroot. */
	if (c->chroot && c->cache.persist &&
	    !cfg_path_in_root(c->chroot, c->cache.persist)) {
		*key = "cache.persist";
		snprintf(msg, msglen,
		    "'cache.persist' %s is outside 'chroot' %s: the daemon "
		    "writes it after the chroot",
		    c->cache.persist, c->chroot);
		return -EINVAL;
	}
	/* the DNS listeners bind TCP on their ports too */
	for (unsigned i = 0; i < c->http.nlisten; i++) {
		const char *h = c->http.listen[i].text;

		if (dns_listen_has(c, h)) {
			*key = "http.listen";
			snprintf(msg, msglen,
			    "'http.listen' %s is also a DNS listen address", h);
			return -EINVAL;
		}
	}
	if (check_tls(c, key, msg, msglen) < 0)
		return -EINVAL;
	return check_items(c, key, msg, msglen);
}

/* ---- what start-up needs from the system ------------------------------- */

/* "file:line: message" at the line of @p key; a key left at its default
 * has no line, and says so. @return -EINVAL. */
static int
sys_fail(const struct cfg *c, const char *key, char *err, size_t errlen,
    const char *fmt, ...)
{
	unsigned line = cfg_key_line(c, key);
	char msg[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!err || !errlen)
		return -EINVAL;
	if (c->path && line)
		snprintf(err, errlen, "%s:%u: %s", c->path, line, msg);
	else if (c->path)
		snprintf(err, errlen, "%s: %s (the default)", c->path, msg);
	else
		snprintf(err, errlen, "%s (the default)", msg);
	return -EINVAL;
}

/* getpwnam(3), getgrnam(3): what "not found" may look like. */
static bool
no_such_entry(int err)
{
	return err == 0 || err == ENOENT || err == ESRCH || err == EBADF ||
	    err == EPERM;
}

/* The uid and groups the daemon has after start-up: those of `user`, or
 * the current ones when it does not switch. */
static int
daemon_ids(const struct cfg *c, struct ids *id, char *err, size_t errlen)
{
	struct passwd *pw;
	int n = GROUPS_MAX - 1;

	if (!c->user) {
		id->uid = geteuid();
		id->gids[0] = getegid();
		n = getgroups(GROUPS_MAX - 1, id->gids + 1);
		id->ngids = 1 + (n > 0 ? n : 0);
		snprintf(id->who, sizeof(id->who), "the current user (uid %u)",
		    (unsigned)id->uid);
		return 0;
	}
	errno = 0;
	if (!(pw = getpwnam(c->user)))
		return sys_fail(c, "user", err, errlen, "user: %s: %s", c->user,
		    no_such_entry(errno) ? "no such user" : strerror(errno));
	id->uid = pw->pw_uid;
	id->gids[0] = pw->pw_gid;
	/* on too many groups n is set to the number there are; the first
	 * GROUPS_MAX - 1 are what this check looks at */
	if (getgrouplist(c->user, pw->pw_gid, id->gids + 1, &n) < 0 &&
	    n > GROUPS_MAX - 1)
		n = GROUPS_MAX - 1;
	id->ngids = 1 + (n > 0 ? n : 0);
	snprintf(id->who, sizeof(id->who), "user %s", c->user);
	return 0;
}

/* The permission bits of @p st grant @p want (4 r, 2 w, 1 x) to @p id, as
 * the kernel decides: root may do anything, the owner class applies alone
 * when the uid matches, then the group class. ACLs are not looked at. */
static bool
ids_allow(const struct ids *id, const struct stat *st, unsigned want)
{
	unsigned bits = st->st_mode & 07;

	if (id->uid == 0)
		return true;
	if (st->st_uid == id->uid) {
		bits = (st->st_mode >> 6) & 07;
	} else {
		for (int i = 0; i < id->ngids; i++) {
			if (id->gids[i] == st->st_gid) {
				bits = (st->st_mode >> 3) & 07;
				break;
			}
		}
	}
	return (bits & want) == want;
}

/* The directory @p path would be created in exists. */
static int
check_dir_of(const struct cfg *c, const char *key, const char *path, char *err,
    size_t errlen)
{
	char dir[PATH_MAX];
	struct stat st;
	int e = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	if (!dir[0])
		strcpy(dir, "/");
	if (stat(dir, &st) < 0)
		e = errno;
	else if (!S_ISDIR(st.st_mode))
		e = ENOTDIR;
	if (e)
		return sys_fail(
		    c, key, err, errlen, "%s: %s: %s", key, dir, strerror(e));
	return 0;
}

/* control_socket_owner: the user, and the group if given, exist. */
static int
check_owner(const struct cfg *c, char *err, size_t errlen)
{
	char user[256], *group;

	snprintf(user, sizeof(user), "%s", c->control_owner);
	if ((group = strchr(user, ':')))
		*group++ = '\0';
	errno = 0;
	if (!getpwnam(user))
		return sys_fail(c, "control_socket_owner", err, errlen,
		    "control_socket_owner: %s: %s", user,
		    no_such_entry(errno) ? "no such user" : strerror(errno));
	errno = 0;
	if (group && !getgrnam(group))
		return sys_fail(c, "control_socket_owner", err, errlen,
		    "control_socket_owner: %s: %s", group,
		    no_such_entry(errno) ? "no such group" : strerror(errno));
	return 0;
}

/* cache.persist is written at stop, as the daemon's user and inside the
 * chroot: every directory from the root the daemon will see down to the
 * dump's own must let that user through, and the last one write. */
static int
check_persist(
    const struct cfg *c, const struct ids *id, char *err, size_t errlen)
{
	const char *path = c->cache.persist;
	char dir[PATH_MAX], sub[PATH_MAX];
	size_t len, from = 0;
	struct stat st;
	int rc;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return sys_fail(c, "cache.persist", err, errlen,
		    "cache.persist: %s: %s", path, strerror(EISDIR));
	if ((rc = check_dir_of(c, "cache.persist", path, err, errlen)) < 0)
		return rc;
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	len = strlen(dir);
	if (c->chroot && cfg_path_in_root(c->chroot, path) &&
	    strcmp(c->chroot, "/") != 0)
		from = strlen(c->chroot);
	/* each prefix of dir ending before a '/' (or at its end) */
	for (size_t i = from; i <= len; i++) {
		bool last = i == len;

		if (!last && dir[i] != '/')
			continue;
		if (i == 0) {
			strcpy(sub, "/");
		} else {
			memcpy(sub, dir, i);
			sub[i] = '\0';
		}
		if (stat(sub, &st) < 0)
			return sys_fail(c, "cache.persist", err, errlen,
			    "cache.persist: %s: %s", sub, strerror(errno));
		if (!ids_allow(id, &st, last ? 03 : 01))
			return sys_fail(c, "cache.persist", err, errlen,
			    "cache.persist: %s: not %s by %s", sub,
			    last ? "writable" : "searchable", id->who);
	}
	return 0;
}

int
cfg_check_system(const struct cfg *c, char *err, size_t errlen)
{
	struct ids id;
	struct stat st;
	int rc, e = 0;

	if (err && errlen)
		err[0] = '\0';
	if (c->chroot) {
		if (stat(c->chroot, &st) < 0)
			e = errno;
		else if (!S_ISDIR(st.st_mode))
			e = ENOTDIR;
		if (e)
			return sys_fail(c, "chroot", err, errlen,
			    "chroot: %s: %s", c->chroot, strerror(e));
	}
	if ((rc = daemon_ids(c, &id, err, errlen)) < 0)
		return rc;
	if (c->control_owner && (rc = check_owner(c, err, errlen)) < 0)
		return rc;
	if (c->control_socket &&
	    (rc = check_dir_of(
	         c, "control_socket", c->control_socket, err, errlen)) < 0)
		return rc;
	if (c->cache.persist && (rc = check_persist(c, &id, err, errlen)) < 0)
		return rc;
	if (c->log.dest && c->log.dest[0] == '/' &&
	    (rc = check_dir_of(c, "log.dest", c->log.dest, err, errlen)) < 0)
		return rc;
	return 0;
}

/* A numeric IPv4 or IPv6 address, IPv6 with an optional %scope (interface
 * name or number). Only the strict dotted quad is IPv4: inet_aton forms
 * such as "127.1" are refused. */
static int
parse_addr(const char *s, int *family, uint8_t addr[16], uint32_t *scope)
{
	char buf[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	char *pct;

	*scope = 0;
	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	pct = strchr(buf, '%');
	if (pct) {
		uint64_t n;

		*pct++ = '\0';
		if (*pct == '\0')
			return -EINVAL;
		if (parse_number(pct, 10, false, 0, UINT32_MAX, &n) == 0)
			*scope = (uint32_t)n;
		else if ((*scope = if_nametoindex(pct)) == 0)
			return -EINVAL;
	}
	if (inet_pton(AF_INET6, buf, addr) != 1)
		return -EINVAL;
	*family = AF_INET6;
	return 0;
}

char *
cfg_abs_path(const char *base, const char *path)
{
	char cwd[PATH_MAX], *out, *w;
	const char *r;
	size_t len;

	if (path[0] == '/') {
		base = "";
	} else if (!base) {
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		base = cwd;
	}
	len = strlen(base) + strlen(path) + 2;
	if (!(out = malloc(len)))
		return NULL;
	snprintf(out, len, "%s/%s", base, path);
	/* Tidy in place: the writer never overtakes the reader. */
	for (r = w = out; *r;) {
		size_t n;

		while (*r == '/')
			r++;
		n = strcspn(r, "/");
		if (n == 0 || (n == 1 && r[0] == '.')) {
			r += n;
			continue;
		}
		*w++ = '/';
		memmove(w, r, n);
		w += n;
		r += n;
	}
	if (w == out)
		*w++ = '/';
	*w = '\0';
	return out;
}

/* The address @p s ends in @p end (at its NUL when NULL) with parse_addr;
 * a %scope only where @p scoped. */
static int
parse_host(const char *s, const char *end, bool scoped, int *family,
    uint8_t addr[16], uint32_t *scope)
{
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 1];
	size_t hlen = end ? (size_t)(end - s) : strlen(s);

	if (hlen == 0 || hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (!scoped && strchr(host, '%'))
		return -EINVAL;
	return parse_addr(host, family, addr, scope);
}

int
cfg_parse_listen(const char *s, struct cfg_listen *out)
{
	char text[INET6_ADDRSTRLEN];
	const char *at = strrchr(s, '@');
	uint64_t port = 53;
	uint8_t addr[16];
	uint32_t scope;
	int family;

	if ((at && parse_number(at + 1, 10, false, 1, 65535, &port) < 0) ||
	    parse_host(s, at, true, &family, addr, &scope) < 0)
		return -EINVAL;

	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->addr;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		memcpy(&sin->sin_addr, addr, 4);
		out->addrlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_scope_id = scope;
		memcpy(&sin6->sin6_addr, addr, 16);
		out->addrlen = sizeof(*sin6);
	}
	/* The text is canonical ("::1", not "0::1") and numeric: the longest,
	 * 45 + "%4294967295" + "@65535", fits text[64]. */
	inet_ntop(family, addr, text, sizeof(text));
	if (scope)
		snprintf(out->text, sizeof(out->text),
		    "%s%%%" PRIu32 "@%" PRIu64, text, scope, port);
	else
		snprintf(
		    out->text, sizeof(out->text), "%s@%" PRIu64, text, port);
	return 0;
}

/* On failure *why is a static reason ("host bits set") or stays NULL for a
 * plain syntax error. An IPv4-mapped IPv6 prefix (::ffff:a.b.c.d/96+n) is
 * stored as the IPv4 prefix a.b.c.d/n, which is how cfg_access_allowed()
 * matches mapped client addresses. */
static int
parse_prefix(const char *s, struct cfg_prefix *out, const char **why)
{
	const char *slash = strchr(s, '/');
	uint64_t bits, maxbits;
	uint8_t addr[16];
	uint32_t scope;
	int family;

	*why = NULL;
	if (parse_host(s, slash, false, &family, addr, &scope) < 0)
		return -EINVAL;
	maxbits = family == AF_INET ? 32 : 128;
	bits = maxbits;
	if (slash) {
		if (slash[1] < '0' || slash[1] > '9') {
			*why = "bad prefix length";
			return -EINVAL;
		}
		if (parse_number(slash + 1, 10, false, 0, maxbits, &bits) < 0) {
			*why = family == AF_INET
			    ? "prefix length must be 0..32"
			    : "prefix length must be 0..128";
			return -EINVAL;
		}
	}
	memset(out, 0, sizeof(*out));
	out->family = family;
	out->bits = (unsigned)bits;
	memcpy(out->addr, addr, family == AF_INET ? 4 : 16);
	for (unsigned i = out->bits; i < maxbits; i++) {
		if (out->addr[i / 8] & (0x80u >> (i % 8))) {
			*why = "host bits set";
			return -EINVAL;
		}
	}
	if (family == AF_INET6 && bits >= 96 &&
	    IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)(const void *)addr)) {
		out->family = AF_INET;
		out->bits = (unsigned)bits - 96;
		memmove(out->addr, out->addr + 12, 4);
		memset(out->addr + 4, 0, 12);
	}
	return 0;
}

int
cfg_parse_prefix(const char *s, struct cfg_prefix *out)
{
	const char *why;

	return parse_prefix(s, out, &why);
}

int
cfg_parse_size(const char *s, uint64_t *out)
{
	uint64_t n = 0, mult = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		uint64_t digit = (uint64_t)(*p - '0');

		if (n > (UINT64_MAX - digit) / 10)
			return -ERANGE;
		n = n * 10 + digit;
	}
	switch (*p) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = KIB;
		break;
	case 'M':
		mult = KIB * KIB;
		break;
	case 'G':
		mult = KIB * KIB * KIB;
		break;
	default:
		return -EINVAL;
	}
	if (*p != '\0' && p[1] != '\0')
		return -EINVAL;
	if (n > UINT64_MAX / mult)
		return -ERANGE;
	*out = n * mult;
	return 0;
}

static bool
prefix_match(const struct cfg_prefix *p, const uint8_t *addr)
{
	unsigned full = p->bits / 8, rest = p->bits % 8;

	if (memcmp(p->addr, addr, full) != 0)
		return false;
	if (rest) {
		uint8_t mask = (uint8_t)(0xffu << (8 - rest));

		if ((addr[full] & mask) != p->addr[full])
			return false;
	}
	return true;
}

bool
cfg_access_allowed(const struct cfg *c, const struct sockaddr *sa)
{
	return cfg_prefix_allowed(c->access, c->naccess, sa);
}

bool
cfg_prefix_allowed(
    const struct cfg_prefix *list, unsigned n, const struct sockaddr *sa)
{
	const uint8_t *addr;
	int family;

	if (!sa)
		return false;
	if (sa->sa_family == AF_INET) {
		addr = (const uint8_t *)&(
		    (const struct sockaddr_in *)(const void *)sa)
		           ->sin_addr;
		family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;

		addr = a6->s6_addr;
		family = AF_INET6;
		/* A v4 client on a dual-stack socket: match it as v4 only. */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			addr += 12;
			family = AF_INET;
		}
	} else {
		return false;
	}
	for (unsigned i = 0; i < n; i++)
		if (list[i].family == family && prefix_match(&list[i], addr))
			return true;
	return false;
}

/* The largest exact unit: 64M, not 65536k; plain bytes otherwise. */
static void
format_size(uint64_t v, char *buf, size_t len)
{
	static const char units[] = "GMk";
	uint64_t mult = KIB * KIB * KIB;

	for (size_t i = 0; i < 3; i++, mult /= KIB) {
		if (v != 0 && v % mult == 0) {
			snprintf(buf, len, "%" PRIu64 "%c", v / mult, units[i]);
			return;
		}
	}
	snprintf(buf, len, "%" PRIu64, v);
}

/* A YAML double-quoted scalar, so that any path reads back unchanged. */
static void
print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void
print_key(FILE *out, const struct cfg *c, const struct key *k)
{
	const char *field = (const char *)c + k->off;
	const char *indent = parent_len(k->name) ? "  " : "";
	const char *name = leaf(k->name);
	char buf[INET6_ADDRSTRLEN + 8];
	uint32_t u;

	switch (k->type) {
	case T_MAP:
		fprintf(out, "%s:\n", name);
		return;
	case T_LISTEN: {
		unsigned *n;
		const struct cfg_listen *l = listen_list(c, k, &n);

		fprintf(out, "%s%s:%s%s\n", indent, name, *n ? "" : " []",
		    *n != 0 ? ""
		        : k->off == F(http.listen)
		        ? "  # none: no HTTP listener"
		        : k->off == F(tls.listen)
		        ? "  # none: no DNS-over-TLS listener"
		        : "");
		for (unsigned i = 0; i < *n; i++) {
			fprintf(out, "%s  - ", indent);
			print_quoted(out, l[i].text);
			fputc('\n', out);
		}
		return;
	}
	case T_ACCESS: {
		unsigned *n;
		const struct cfg_prefix *list = access_list(c, k, &n);

		fprintf(out, "%s%s:%s\n", indent, name, *n ? "" : " []");
		for (unsigned i = 0; i < *n; i++) {
			const struct cfg_prefix *p = &list[i];
			char addr[INET6_ADDRSTRLEN];

			inet_ntop(p->family, p->addr, addr, sizeof(addr));
			snprintf(buf, sizeof(buf), "%s/%u", addr, p->bits);
			fprintf(out, "%s  - ", indent);
			print_quoted(out, buf);
			fputc('\n', out);
		}
		return;
	}
	case T_FILES:
	case T_NAMES: {
		char *const *list = (char *const *)(const void *)field;
		bool anchors = k->off == F(dnssec.trust_anchors);
		unsigned n = anchors ? c->dnssec.ntrust_anchors
		                     : c->dnssec.nnegative_trust_anchors;

		if (n == 0)
			fprintf(out, "%s%s: []%s\n", indent, name,
			    anchors ? "  # none: the built-in root anchor"
			            : "");
		else
			fprintf(out, "%s%s:\n", indent, name);
		for (unsigned i = 0; i < n; i++) {
			fprintf(out, "%s  - ", indent);
			print_quoted(out, list[i]);
			fputc('\n', out);
		}
		return;
	}
	case T_HINTS:
	case T_PATH:
	case T_STR:
	case T_OWNER:
	case T_DIR:
	case T_TXT: {
		const char *s;

		memcpy(&s, field, sizeof(s));
		if (!s) {
			fprintf(
			    out, "%s# %s: %s\n", indent, name, unset_note(k));
			return;
		}
		fprintf(out, "%s%s: ", indent, name);
		print_quoted(out, s);
		fputc('\n', out);
		return;
	}
	case T_UINT:
		memcpy(&u, field, sizeof(u));
		fprintf(out, "%s%s: %" PRIu32 "\n", indent, name, u);
		return;
	case T_BOOL:
		fprintf(out, "%s%s: %s\n", indent, name,
		    *(const bool *)(const void *)field ? "true" : "false");
		return;
	case T_SIZE: {
		uint64_t v;

		memcpy(&v, field, sizeof(v));
		format_size(v, buf, sizeof(buf));
		fprintf(out, "%s%s: %s\n", indent, name, buf);
		return;
	}
	case T_LEVEL:
		fprintf(out, "%s%s: %s\n", indent, name,
		    (unsigned)c->log.level < 4 ? level_names[c->log.level]
		                               : "info");
		return;
	case T_MODE:
		memcpy(&u, field, sizeof(u));
		fprintf(out, "%s%s: \"%04" PRIo32 "\"\n", indent, name, u);
		return;
	case T_MAPLIST:
		print_items(out, c, k);
		return;
	case T_ITEM:
	case T_ITEMLIST:
		return;
	}
}

/* What an unset string key means, for the comment cfg_print writes. */
static const char *
unset_note(const struct key *k)
{
	static const char *const notes[][2] = {
	    {"root_hints", "not set, built-in IANA root hints"},
	    {"user", "not set, privileges are not dropped"},
	    {"control_socket_owner", "not set, the daemon's user"},
	    {"chroot", "not set, no chroot"},
	    {"chaos.version", "not set, version.bind CH TXT is refused"},
	    {"chaos.hostname", "not set, hostname.bind CH TXT is refused"},
	    {"chaos.id", "not set, id.server CH TXT is refused"},
	    {"tls.cert", "not set (needed with tls.listen)"},
	    {"tls.key", "not set (needed with tls.listen)"},
	};

	for (size_t i = 0; i < sizeof(notes) / sizeof(notes[0]); i++)
		if (strcmp(k->name, notes[i][0]) == 0)
			return notes[i][1];
	return "not set";
}

void
cfg_print(FILE *out, const struct cfg *c)
{
	fputs("# resolverd effective configuration; see resolverd.yaml(5)\n",
	    out);
	for (size_t i = 0; i < NKEYS; i++) {
		/* the fields of list items are printed with their items */
		if (strncmp(keys[i].name, "tiers.", 6) == 0 ||
		    strncmp(keys[i].name, "forward_zones.", 14) == 0)
			continue;
		print_key(out, c, &keys[i]);
	}
}
