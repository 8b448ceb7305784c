/**
 * @file test_config.c
 * Unit tests for config/: defaults, every rule of cfg_load (one test per
 * rule), the value parsers, cfg_print round trip and cfg_access_allowed.
 * Config files are written into a private mkdtemp() directory.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "config/config.h"

static char tmpdir[] = "/tmp/test_config.XXXXXX";
static char conf[64];  /* tmpdir/t.yaml, the file most tests load */
static char hints[64]; /* tmpdir/root.hints, an existing file */

static void write_file(const char *path, const char *text);
static void check_system(
    const char *text, int rc, unsigned line, const char *msg);
static int load(const char *text, struct cfg *c, char *err, size_t errlen);
static void check_error(
    const char *text, unsigned line, const char *msg, bool exact);
static char *print_to_string(const struct cfg *c);
static int group_setup(void **state);
static int group_teardown(void **state);

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static int
load(const char *text, struct cfg *c, char *err, size_t errlen)
{
	write_file(conf, text);
	memset(c, 0, sizeof(*c));
	return cfg_load(conf, c, err, errlen);
}

/* Loading @p text fails with -EINVAL and "conf:line: msg" (or, when not
 * @p exact, a message that contains @p msg). */
static void
check_error(const char *text, unsigned line, const char *msg, bool exact)
{
	char err[512], want[PATH_MAX + 600];
	struct cfg c;

	assert_int_equal(load(text, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:%u: %s", conf, line, exact ? msg : "");
	if (exact) {
		assert_string_equal(err, want);
	} else {
		if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, msg))
			fail_msg("got \"%s\", want prefix \"%s\" and \"%s\"",
			    err, want, msg);
	}
	/* The struct is left freed, and freeing again is harmless. */
	assert_null(c.path);
	assert_null(c.control_socket);
	cfg_free(&c);
}

static int
group_setup(void **state)
{
	(void)state;
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(conf, sizeof(conf), "%s/t.yaml", tmpdir);
	snprintf(hints, sizeof(hints), "%s/root.hints", tmpdir);
	write_file(hints, ".\t3600000\tNS\tA.ROOT-SERVERS.NET.\n");
	return 0;
}

static int
group_teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[PATH_MAX + 256];

	(void)state;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

/* ---- defaults ---------------------------------------------------------- */

static void
assert_defaults(const struct cfg *c)
{
	assert_int_equal(c->nlisten, 2);
	assert_string_equal(c->listen[0].text, "127.0.0.1@53");
	assert_string_equal(c->listen[1].text, "::1@53");
	assert_int_equal(c->naccess, 2);
	assert_int_equal(c->access[0].family, AF_INET);
	assert_int_equal(c->access[0].bits, 8);
	assert_int_equal(c->access[0].addr[0], 127);
	assert_int_equal(c->access[1].family, AF_INET6);
	assert_int_equal(c->access[1].bits, 128);
	assert_null(c->root_hints);
	assert_string_equal(c->control_socket, "/run/resolverd.ctl");
	assert_int_equal(c->workers, 0);
	assert_null(c->user);
	assert_int_equal(c->cache.size, LIM_CACHE_SIZE);
	assert_int_equal(c->cache.max_ttl, LIM_MAX_TTL);
	assert_int_equal(c->cache.min_ttl, LIM_MIN_TTL);
	assert_int_equal(c->cache.negative_ttl, LIM_NEG_TTL);
	assert_int_equal(c->log.level, CFG_LOG_INFO);
	assert_string_equal(c->log.dest, "stderr");
	assert_false(c->log.queries);
	assert_true(c->qname_minimisation);
	assert_int_equal(c->tcp.idle_timeout_ms, LIM_TCP_IDLE_MS);
	assert_int_equal(c->tcp.max_clients, LIM_TCP_CLIENTS);
	assert_int_equal(c->limits.max_sends, LIM_MAX_SENDS);
	assert_int_equal(c->limits.max_glueless, LIM_MAX_GLUELESS);
	assert_int_equal(c->limits.max_cname, LIM_MAX_CNAME);
	assert_int_equal(c->limits.max_depth, LIM_MAX_DEPTH);
	assert_int_equal(c->limits.max_time_ms, LIM_MAX_TIME_MS);
}

static void
test_defaults(void **state)
{
	struct cfg c;

	(void)state;
	assert_int_equal(cfg_defaults(&c), 0);
	assert_defaults(&c);
	assert_null(c.path);
	cfg_free(&c);
	cfg_free(&c);
	cfg_free(NULL);
}

static void
test_empty_file_is_defaults(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(load("", &c, err, sizeof(err)), 0);
	assert_defaults(&c);
	assert_string_equal(c.path, conf);
	cfg_free(&c);
}

static void
test_comments_only_is_defaults(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(load("# nothing here\n\n   # still nothing\n", &c, err,
	                     sizeof(err)),
	    0);
	assert_defaults(&c);
	cfg_free(&c);
	assert_int_equal(
	    load("---\n# empty document\n", &c, err, sizeof(err)), 0);
	assert_defaults(&c);
	cfg_free(&c);
}

static void
test_empty_section_is_defaults(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(
	    load("cache:\nlog:\n  # all defaults\n", &c, err, sizeof(err)), 0);
	assert_defaults(&c);
	cfg_free(&c);
}

/* ---- a full, valid file ------------------------------------------------ */

static void
test_full_file(void **state)
{
	char text[4096], err[256];
	struct cfg c;

	(void)state;
	snprintf(text, sizeof(text),
	    "# every key\n"
	    "listen:\n"
	    "  - 192.0.2.1@5353\n"
	    "  - \"2001:db8::1@53\"\n"
	    "  - 10.1.2.3\n"
	    "root_hints: %s\n"
	    "access: [10.0.0.0/8, 2001:db8::/32, 192.0.2.7]\n"
	    "control_socket: /tmp/r.ctl\n"
	    "workers: 4\n"
	    "user: resolverd\n"
	    "cache:\n"
	    "  size: 128M\n"
	    "  max_ttl: 3600\n"
	    "  min_ttl: 60\n"
	    "  negative_ttl: 900\n"
	    "log:\n"
	    "  level: debug\n"
	    "  dest: /var/log/resolverd.log\n"
	    "  queries: yes\n"
	    "qname_minimisation: off\n"
	    "tcp:\n"
	    "  idle_timeout: 5000\n"
	    "  max_clients: 1000\n"
	    "limits:\n"
	    "  max_sends: 20\n"
	    "  max_glueless: 3\n"
	    "  max_cname: 8\n"
	    "  max_depth: 12\n"
	    "  max_time: 4000\n",
	    hints);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 3);
	assert_string_equal(c.listen[0].text, "192.0.2.1@5353");
	assert_string_equal(c.listen[1].text, "2001:db8::1@53");
	assert_string_equal(c.listen[2].text, "10.1.2.3@53");
	assert_string_equal(c.root_hints, hints);
	assert_int_equal(c.naccess, 3);
	assert_int_equal(c.access[2].bits, 32);
	assert_string_equal(c.control_socket, "/tmp/r.ctl");
	assert_int_equal(c.workers, 4);
	assert_string_equal(c.user, "resolverd");
	assert_int_equal(c.cache.size, 128u << 20);
	assert_int_equal(c.cache.max_ttl, 3600);
	assert_int_equal(c.cache.min_ttl, 60);
	assert_int_equal(c.cache.negative_ttl, 900);
	assert_int_equal(c.log.level, CFG_LOG_DEBUG);
	assert_string_equal(c.log.dest, "/var/log/resolverd.log");
	assert_true(c.log.queries);
	assert_false(c.qname_minimisation);
	assert_int_equal(c.tcp.idle_timeout_ms, 5000);
	assert_int_equal(c.tcp.max_clients, 1000);
	assert_int_equal(c.limits.max_sends, 20);
	assert_int_equal(c.limits.max_glueless, 3);
	assert_int_equal(c.limits.max_cname, 8);
	assert_int_equal(c.limits.max_depth, 12);
	assert_int_equal(c.limits.max_time_ms, 4000);
	cfg_free(&c);
}

/* ---- listen and access ------------------------------------------------- */

static void
test_listen_replaces_default(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(
	    load("listen:\n  - 127.0.0.2@5300\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0].text, "127.0.0.2@5300");
	/* access untouched: still the default */
	assert_int_equal(c.naccess, 2);
	cfg_free(&c);
}

static void
test_listen_single_scalar(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(load("listen: ::1@5353\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0].text, "::1@5353");
	assert_int_equal(c.listen[0].addr.ss_family, AF_INET6);
	cfg_free(&c);
}

static void
test_access_replaces_default(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(
	    load("access:\n  - 192.0.2.0/24\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.naccess, 1);
	assert_int_equal(c.access[0].bits, 24);
	assert_int_equal(c.nlisten, 2);
	cfg_free(&c);
	/* an explicit empty list refuses everyone */
	assert_int_equal(load("access: []\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.naccess, 0);
	cfg_free(&c);
}

static void
test_too_many_listen(void **state)
{
	char text[4096];
	size_t len = 0;

	(void)state;
	len += (size_t)snprintf(text + len, sizeof(text) - len, "listen:\n");
	for (int i = 0; i <= CFG_MAX_LISTEN; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "  - 127.0.0.1@%d\n", 1000 + i);
	/* entry CFG_MAX_LISTEN + 1 is on line CFG_MAX_LISTEN + 2 */
	check_error(
	    text, CFG_MAX_LISTEN + 2, "too many 'listen' entries", false);
}

static void
test_too_many_access(void **state)
{
	char text[8192];
	size_t len = 0;

	(void)state;
	len += (size_t)snprintf(
	    text + len, sizeof(text) - len, "workers: 1\naccess:\n");
	for (int i = 0; i <= CFG_MAX_ACCESS; i++)
		len += (size_t)snprintf(
		    text + len, sizeof(text) - len, "  - 10.0.%d.0/24\n", i);
	check_error(
	    text, CFG_MAX_ACCESS + 3, "too many 'access' entries", false);
}

static void
test_empty_listen(void **state)
{
	(void)state;
	check_error("workers: 2\nlisten: []\n", 2,
	    "'listen' needs at least one address", true);
	check_error("listen:\n", 1, "'listen' needs a value", false);
}

/* ---- the error classes ------------------------------------------------- */

static void
test_cannot_open(void **state)
{
	char path[PATH_MAX + 32], err[512], want[PATH_MAX + 128];
	struct cfg c;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(path, sizeof(path), "%s/missing.yaml", tmpdir);
	assert_int_equal(cfg_load(path, &c, err, sizeof(err)), -ENOENT);
	snprintf(
	    want, sizeof(want), "%s: cannot open: %s", path, strerror(ENOENT));
	assert_string_equal(err, want);
	cfg_free(&c);
	/* a directory cannot be read as a config either */
	assert_int_equal(cfg_load(tmpdir, &c, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, ": cannot open: "));
	cfg_free(&c);
}

static void
test_syntax_error(void **state)
{
	(void)state;
	check_error("workers: 1\nlisten: [127.0.0.1\nuser: x\n", 3,
	    "YAML syntax error: ", false);
	check_error("workers: 1\ncache:\n  size: 1M\n bad: indent\n", 4,
	    "YAML syntax error: ", false);
	check_error("workers: 1\nuser: \"unterminated\n", 3,
	    "YAML syntax error: ", false);
}

static void
test_unknown_key_suggestion(void **state)
{
	(void)state;
	check_error("# a comment\nworkers: 1\nlsiten: 127.0.0.1\n", 3,
	    "unknown key 'lsiten' (did you mean 'listen'?)", true);
	check_error("cache:\n  max_ttl: 60\n  sise: 1M\n", 3,
	    "unknown key 'cache.sise' (did you mean 'cache.size'?)", true);
	/* "size" is a key of cache:, not of the top level */
	check_error("size: 1M\n", 1, "unknown key 'size'", true);
	check_error("frobnicate: 1\n", 1, "unknown key 'frobnicate'", true);
	/* dotted keys are not a way around the sections */
	check_error("cache.size: 1M\n", 1, "unknown key 'cache.size'", true);
}

static void
test_duplicate_key(void **state)
{
	(void)state;
	check_error("workers: 1\nuser: a\nworkers: 2\n", 3,
	    "duplicate key 'workers' (first at line 1)", true);
	check_error("cache:\n  size: 1M\n  size: 2M\n", 3,
	    "duplicate key 'cache.size' (first at line 2)", true);
}

static void
test_wrong_type(void **state)
{
	(void)state;
	check_error("workers:\n  a: 1\n", 1,
	    "'workers' must be a scalar, not a mapping", true);
	check_error("user: [a, b]\n", 1,
	    "'user' must be a scalar, not a sequence", true);
	check_error(
	    "cache: 64M\n", 1, "'cache' must be a mapping, not a scalar", true);
	check_error("log:\n  - level\n", 1,
	    "'log' must be a mapping, not a sequence", true);
	check_error("listen:\n  address: 127.0.0.1\n", 2,
	    "'listen' must be a sequence or a scalar, not a mapping", true);
	check_error("access:\n  - 10.0.0.0/8\n  - [1, 2]\n", 3,
	    "'access' entries must be scalars, not a sequence", true);
	check_error("workers:\n", 1, "'workers' needs a value", true);
	check_error(
	    "? [a, b]\n: c\n", 1, "keys must be scalars, not a sequence", true);
}

static void
test_top_level_not_mapping(void **state)
{
	(void)state;
	check_error("# list\n- listen\n- access\n", 2,
	    "the top level must be a mapping of keys, not a sequence", true);
	check_error("just a string\n", 1,
	    "the top level must be a mapping of keys, not a scalar", true);
}

static void
test_bad_address(void **state)
{
	(void)state;
	check_error("listen:\n  - 127.0.0.1@53\n  - 1.2.3.4.5@53\n", 3,
	    "bad listen address '1.2.3.4.5@53'", false);
	check_error("listen: 127.0.0.1@99999\n", 1,
	    "bad listen address '127.0.0.1@99999'", false);
	check_error("listen: 127.1@53\n", 1, "bad listen address", false);
	check_error("listen: localhost@53\n", 1, "bad listen address", false);
	check_error("listen: 127.0.0.1@\n", 1, "bad listen address", false);
	check_error("listen: \"::1@0\"\n", 1, "bad listen address", false);
}

static void
test_bad_cidr(void **state)
{
	(void)state;
	check_error("access:\n  - 10.0.0.1/8\n", 2,
	    "host bits set in 10.0.0.1/8", true);
	check_error("access: [\"2001:db8::1/32\"]\n", 1,
	    "host bits set in 2001:db8::1/32", true);
	check_error("access:\n  - 10.0.0.0/33\n", 2,
	    "bad access prefix '10.0.0.0/33': prefix length must be 0..32",
	    true);
	check_error(
	    "access:\n  - ::/129\n", 2, "prefix length must be 0..128", false);
	check_error("access:\n  - 10.0.0.0/x\n", 2,
	    "bad access prefix '10.0.0.0/x'", false);
	check_error("access:\n  - example.com/8\n", 2,
	    "bad access prefix 'example.com/8'", false);
}

static void
test_out_of_range(void **state)
{
	static const struct {
		const char *section, *key;
		long min, max;
	} r[] = {
	    {NULL, "workers", 0, 256},
	    {"cache", "max_ttl", 0, 604800},
	    {"cache", "min_ttl", 0, 3600},
	    {"cache", "negative_ttl", 0, 86400},
	    {"tcp", "idle_timeout", 100, 600000},
	    {"tcp", "max_clients", 1, 65535},
	    {"limits", "max_sends", 1, 200},
	    {"limits", "max_glueless", 0, 50},
	    {"limits", "max_cname", 1, 64},
	    {"limits", "max_depth", 1, 64},
	    {"limits", "max_time", 100, 60000},
	};
	char text[256], msg[256], full[64];
	struct cfg c;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		long bad[] = {r[i].min - 1, r[i].max + 1};
		long good[] = {r[i].min, r[i].max};

		snprintf(full, sizeof(full), "%s%s%s",
		    r[i].section ? r[i].section : "", r[i].section ? "." : "",
		    r[i].key);
		for (size_t j = 0; j < 2; j++) {
			/* both bounds are accepted ... */
			if (r[i].section)
				snprintf(text, sizeof(text), "%s:\n  %s: %ld\n",
				    r[i].section, r[i].key, good[j]);
			else
				snprintf(text, sizeof(text), "%s: %ld\n",
				    r[i].key, good[j]);
			assert_int_equal(load(text, &c, err, sizeof(err)), 0);
			cfg_free(&c);
			/* ... one past them is refused, at the key's line */
			if (bad[j] < 0)
				continue;
			if (r[i].section)
				snprintf(text, sizeof(text),
				    "\n%s:\n  %s: %ld\n", r[i].section,
				    r[i].key, bad[j]);
			else
				snprintf(text, sizeof(text), "\n\n%s: %ld\n",
				    r[i].key, bad[j]);
			snprintf(msg, sizeof(msg),
			    "'%s' is out of range: %ld (must be %ld..%ld)",
			    full, bad[j], r[i].min, r[i].max);
			check_error(text, 3, msg, true);
		}
	}
	check_error("workers: -1\n", 1,
	    "'workers' is out of range: -1 (must be 0..256)", true);
	check_error(
	    "workers: 99999999999999999999999\n", 1, "(must be 0..256)", false);
	check_error("workers: four\n", 1,
	    "'workers' must be an integer in 0..256, not 'four'", true);
	check_error(
	    "workers: 0x10\n", 1, "must be an integer in 0..256", false);
}

static void
test_min_ttl_above_max_ttl(void **state)
{
	(void)state;
	check_error("cache:\n  max_ttl: 30\n  min_ttl: 60\n", 3,
	    "'cache.min_ttl' (60) must not exceed 'cache.max_ttl' (30)", true);
	check_error("cache:\n  min_ttl: 60\n  max_ttl: 30\n", 2,
	    "must not exceed", false);
}

static void
test_size(void **state)
{
	struct cfg c;
	char err[256];
	static const struct {
		const char *text;
		uint64_t bytes;
	} ok[] = {
	    {"65536", 65536},
	    {"64k", 64 << 10},
	    {"64K", 64 << 10},
	    {"16M", 16 << 20},
	    {"1G", 1u << 30},
	    {"64G", 64ull << 30},
	    {"\"2G\"", 2ull << 30},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		char text[64];

		snprintf(
		    text, sizeof(text), "cache:\n  size: %s\n", ok[i].text);
		assert_int_equal(load(text, &c, err, sizeof(err)), 0);
		assert_int_equal(c.cache.size, ok[i].bytes);
		cfg_free(&c);
	}
	check_error("cache:\n  size: 65535\n", 2,
	    "'cache.size' is out of range: 65535 (must be 64k..64G)", true);
	check_error("cache:\n  size: 65G\n", 2, "(must be 64k..64G)", false);
	check_error("cache:\n  size: 99999999999999999999999G\n", 2,
	    "out of range", false);
}

static void
test_bad_size_suffix(void **state)
{
	(void)state;
	check_error("cache:\n  size: 64X\n", 2,
	    "'cache.size': bad size suffix in '64X' (use k, K, M or G)", true);
	check_error("cache:\n  size: 64MB\n", 2, "bad size suffix", false);
	check_error("cache:\n  size: big\n", 2,
	    "'cache.size' must be a size such as 64M", false);
}

static void
test_hints_file(void **state)
{
	char text[PATH_MAX + 64], msg[PATH_MAX + 64];
	struct cfg c;
	char err[256];

	(void)state;
	snprintf(text, sizeof(text), "workers: 1\nroot_hints: %s\n", hints);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_string_equal(c.root_hints, hints);
	cfg_free(&c);

	snprintf(text, sizeof(text),
	    "workers: 1\n\nroot_hints: %s/nope.hints\n", tmpdir);
	snprintf(msg, sizeof(msg), "root_hints: %s/nope.hints: %s", tmpdir,
	    strerror(ENOENT));
	check_error(text, 3, msg, true);
	/* the key's line, even when the value is on the next one */
	snprintf(text, sizeof(text), "root_hints:\n  %s/nope.hints\n", tmpdir);
	check_error(text, 1, "nope.hints", false);
	snprintf(text, sizeof(text), "root_hints: %s\n", tmpdir);
	snprintf(
	    msg, sizeof(msg), "root_hints: %s: %s", tmpdir, strerror(EISDIR));
	check_error(text, 1, msg, true);
}

/* ---- relative paths ---------------------------------------------------- */

/* A relative path is taken from the directory of the file, wherever the
 * daemon runs; the printed configuration holds the absolute paths. */
static void
test_relative_paths(void **state)
{
	char cwd[PATH_MAX], want[PATH_MAX + 64], err[512], *out;
	struct cfg c;

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(load("root_hints: root.hints\n"
	                      "control_socket: run//r.ctl\n"
	                      "cache:\n  persist: ./data/../cache.dump\n"
	                      "log:\n  dest: logs/./r.log\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_string_equal(c.dir, tmpdir);
	assert_string_equal(c.root_hints, hints);
	snprintf(want, sizeof(want), "%s/run/r.ctl", tmpdir);
	assert_string_equal(c.control_socket, want);
	snprintf(want, sizeof(want), "%s/data/../cache.dump", tmpdir);
	assert_string_equal(c.cache.persist, want);
	snprintf(want, sizeof(want), "%s/logs/r.log", tmpdir);
	assert_string_equal(c.log.dest, want);
	out = print_to_string(&c);
	snprintf(want, sizeof(want), "root_hints: \"%s\"\n", hints);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "  persist: \"%s/data/../cache.dump\"\n",
	    tmpdir);
	assert_non_null(strstr(out, want));
	free(out);
	cfg_free(&c);

	/* the sinks of log.dest are names, not paths; ./stderr is a file */
	assert_int_equal(
	    load("log:\n  dest: syslog\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.log.dest, "syslog");
	cfg_free(&c);
	assert_int_equal(
	    load("log:\n  dest: ./stderr\n", &c, err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/stderr", tmpdir);
	assert_string_equal(c.log.dest, want);
	cfg_free(&c);

	/* a relative -c: the directory is still absolute */
	assert_int_equal(chdir(tmpdir), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(cfg_load("./t.yaml", &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, "./t.yaml");
	assert_string_equal(c.dir, tmpdir);
	assert_string_equal(c.log.dest, want);
	cfg_free(&c);
	assert_int_equal(chdir(cwd), 0);

	/* a relative file missing from the file's directory: the message
	 * names the path that was looked for */
	snprintf(want, sizeof(want), "root_hints: %s/nope.hints: %s", tmpdir,
	    strerror(ENOENT));
	check_error("root_hints: nope.hints\n", 1, want, true);
	/* control_socket must fit sun_path once made absolute */
	check_error("control_socket: "
	            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	    1, "'control_socket' is too long (at most 107 bytes)", true);
}

static void
test_abs_path(void **state)
{
	static const struct {
		const char *base, *path, *want;
	} t[] = {
	    {"/etc", "x.hints", "/etc/x.hints"},
	    {"/etc", "/var/x", "/var/x"},
	    {"/etc/", "./a//b/./c/", "/etc/a/b/c"},
	    {"/", "a", "/a"},
	    {"/", ".", "/"},
	    {"/etc", "../x", "/etc/../x"},
	    {"//", "//", "/"},
	};
	char cwd[PATH_MAX], want[PATH_MAX + 8], *p;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		p = cfg_abs_path(t[i].base, t[i].path);
		assert_non_null(p);
		assert_string_equal(p, t[i].want);
		free(p);
	}
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	p = cfg_abs_path(NULL, "x");
	snprintf(want, sizeof(want), "%s/x", strcmp(cwd, "/") ? cwd : "");
	assert_string_equal(p, want);
	free(p);
}

static void
test_booleans(void **state)
{
	static const char *const yes[] = {"true", "yes", "on", "True", "YES"};
	static const char *const no[] = {"false", "no", "off", "False", "OFF"};
	char text[64], err[256];
	struct cfg c;

	(void)state;
	for (size_t i = 0; i < 5; i++) {
		snprintf(text, sizeof(text), "log:\n  queries: %s\n", yes[i]);
		assert_int_equal(load(text, &c, err, sizeof(err)), 0);
		assert_true(c.log.queries);
		cfg_free(&c);
		snprintf(text, sizeof(text), "qname_minimisation: %s\n", no[i]);
		assert_int_equal(load(text, &c, err, sizeof(err)), 0);
		assert_false(c.qname_minimisation);
		cfg_free(&c);
	}
	check_error("qname_minimisation: maybe\n", 1,
	    "'qname_minimisation' must be a boolean (true/false, "
	    "yes/no, on/off), not 'maybe'",
	    true);
}

static void
test_log_level(void **state)
{
	static const char *const names[] = {
	    "error", "warning", "info", "debug"};
	char text[64], err[256];
	struct cfg c;

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "log:\n  level: %s\n", names[i]);
		assert_int_equal(load(text, &c, err, sizeof(err)), 0);
		assert_int_equal(c.log.level, i);
		cfg_free(&c);
	}
	check_error("log:\n  dest: syslog\n  level: loud\n", 3,
	    "'log.level' must be error, warning, info or debug, "
	    "not 'loud'",
	    true);
}

static void
test_strings(void **state)
{
	char text[256], err[256];
	struct cfg c;

	(void)state;
	check_error("user: \"\"\n", 1, "'user' needs a value", true);
	check_error(
	    "log:\n  dest: \"\"\n", 2, "'log.dest' needs a value", true);
	memset(text, 0, sizeof(text));
	strcpy(text, "control_socket: /");
	memset(text + strlen(text), 'x', 120);
	strcat(text, "\n");
	check_error(
	    text, 1, "'control_socket' is too long (at most 107 bytes)", true);
	check_error("user: \"a\\0b\"\n", 1, "contains a NUL byte", false);
	assert_int_equal(load("log:\n  dest: syslog\nuser: \"nobody\"\n", &c,
	                     err, sizeof(err)),
	    0);
	assert_string_equal(c.log.dest, "syslog");
	assert_string_equal(c.user, "nobody");
	cfg_free(&c);
}

static void
test_second_document(void **state)
{
	(void)state;
	check_error("workers: 1\n---\nworkers: 2\n", 3,
	    "only one YAML document is allowed", true);
}

static void
test_error_buffer(void **state)
{
	struct cfg c;
	char err[12];

	(void)state;
	/* truncated but terminated; a NULL buffer is accepted too */
	assert_int_equal(load("workers: 300\n", &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(load("workers: 300\n", &c, NULL, 0), -EINVAL);
	assert_int_equal(load("workers: 3\n", &c, NULL, 0), 0);
	cfg_free(&c);
}

/* ---- printing ---------------------------------------------------------- */

static char *
print_to_string(const struct cfg *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cfg_print(f, c);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
round_trip(const char *text)
{
	struct cfg a, b;
	char err[512], *first, *second;

	assert_int_equal(load(text, &a, err, sizeof(err)), 0);
	first = print_to_string(&a);
	if (load(first, &b, err, sizeof(err)) != 0)
		fail_msg("reload of printed config failed: %s\n%s", err, first);
	second = print_to_string(&b);
	assert_string_equal(first, second);
	assert_memory_equal(a.listen, b.listen, sizeof(a.listen));
	assert_memory_equal(a.access, b.access, sizeof(a.access));
	assert_int_equal(a.cache.size, b.cache.size);
	free(first);
	free(second);
	cfg_free(&a);
	cfg_free(&b);
}

static void
test_print_round_trip(void **state)
{
	char text[1024];

	(void)state;
	round_trip("");
	snprintf(text, sizeof(text),
	    "listen: [\"::1@5353\", 192.0.2.1@53]\n"
	    "root_hints: %s\n"
	    "access: [10.0.0.0/8, \"::ffff:192.0.2.0/120\", 2001:db8::/48]\n"
	    "control_socket: \"/tmp/with \\\"quote\\\" and # hash.ctl\"\n"
	    "workers: 3\nuser: nobody\n"
	    "cache: {size: 65537, max_ttl: 100, min_ttl: 10, "
	    "negative_ttl: 5}\n"
	    "log: {level: warning, dest: \"/tmp/x: y.log\", queries: on}\n"
	    "qname_minimisation: no\n"
	    "tcp: {idle_timeout: 100, max_clients: 1}\n"
	    "limits: {max_sends: 1, max_glueless: 0, max_cname: 1, "
	    "max_depth: 64, max_time: 60000}\n",
	    hints);
	round_trip(text);
	round_trip("access: []\ncache:\n  size: 3G\n");
}

static void
test_print_content(void **state)
{
	struct cfg c;
	char *out;

	(void)state;
	assert_int_equal(cfg_defaults(&c), 0);
	c.cache.size = 1536 * 1024; /* 1.5M prints as 1536k */
	out = print_to_string(&c);
	assert_non_null(strstr(out,
	    "listen:\n  - \"127.0.0.1@53\"\n"
	    "  - \"::1@53\"\n"));
	assert_non_null(strstr(out,
	    "access:\n  - \"127.0.0.0/8\"\n"
	    "  - \"::1/128\"\n"));
	assert_non_null(strstr(out, "# root_hints: "));
	assert_non_null(
	    strstr(out, "control_socket: \"/run/resolverd.ctl\"\n"));
	assert_non_null(strstr(out, "cache:\n  size: 1536k\n"));
	assert_non_null(strstr(out, "  level: info\n"));
	assert_non_null(strstr(out, "qname_minimisation: true\n"));
	assert_non_null(strstr(out, "  max_time: 10000\n"));
	free(out);
	cfg_free(&c);
}

/* ---- value parsers ----------------------------------------------------- */

static void
test_parse_listen(void **state)
{
	struct cfg_listen l;
	const struct sockaddr_in *sin = (const void *)&l.addr;
	const struct sockaddr_in6 *sin6 = (const void *)&l.addr;

	(void)state;
	assert_int_equal(cfg_parse_listen("192.0.2.1@8053", &l), 0);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 8053);
	assert_int_equal(l.addrlen, sizeof(struct sockaddr_in));
	assert_string_equal(l.text, "192.0.2.1@8053");
	assert_int_equal(cfg_parse_listen("0::1", &l), 0);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 53);
	assert_int_equal(l.addrlen, sizeof(struct sockaddr_in6));
	assert_string_equal(l.text, "::1@53");
	assert_int_equal(cfg_parse_listen("fe80::1%1@53", &l), 0);
	assert_int_equal(sin6->sin6_scope_id, 1);
	assert_string_equal(l.text, "fe80::1%1@53");
	assert_int_equal(cfg_parse_listen("0.0.0.0@65535", &l), 0);
	assert_int_equal(cfg_parse_listen("", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("@53", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("127.0.0.1@", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("127.0.0.1@0", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("127.0.0.1@65536", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("127.0.0.1@-1", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("127.0.0.1@53x", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("127.0.0.1:53", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("[::1]@53", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("fe80::1%@53", &l), -EINVAL);
	assert_int_equal(cfg_parse_listen("fe80::1%nosuchif0@53", &l), -EINVAL);
}

static void
test_parse_prefix(void **state)
{
	struct cfg_prefix p;

	(void)state;
	assert_int_equal(cfg_parse_prefix("192.0.2.0/24", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.bits, 24);
	assert_int_equal(p.addr[2], 2);
	assert_int_equal(cfg_parse_prefix("192.0.2.9", &p), 0);
	assert_int_equal(p.bits, 32);
	assert_int_equal(cfg_parse_prefix("2001:db8::", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.bits, 128);
	assert_int_equal(cfg_parse_prefix("0.0.0.0/0", &p), 0);
	assert_int_equal(cfg_parse_prefix("::/0", &p), 0);
	assert_int_equal(cfg_parse_prefix("11.0.0.0/7", &p), -EINVAL);
	assert_int_equal(cfg_parse_prefix("10.128.0.0/9", &p), 0);
	assert_int_equal(cfg_parse_prefix("10.192.0.0/9", &p), -EINVAL);
	assert_int_equal(cfg_parse_prefix("10.0.0.0/", &p), -EINVAL);
	assert_int_equal(cfg_parse_prefix("/8", &p), -EINVAL);
	assert_int_equal(cfg_parse_prefix("10.0.0.0/8/8", &p), -EINVAL);
	assert_int_equal(cfg_parse_prefix("fe80::%1/64", &p), -EINVAL);
	/* an IPv4-mapped prefix is stored as the IPv4 prefix */
	assert_int_equal(cfg_parse_prefix("::ffff:10.0.0.0/104", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.bits, 8);
	assert_int_equal(p.addr[0], 10);
}

static void
test_parse_size(void **state)
{
	uint64_t n;

	(void)state;
	assert_int_equal(cfg_parse_size("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cfg_parse_size("123", &n), 0);
	assert_int_equal(n, 123);
	assert_int_equal(cfg_parse_size("64k", &n), 0);
	assert_int_equal(n, 65536);
	assert_int_equal(cfg_parse_size("64K", &n), 0);
	assert_int_equal(n, 65536);
	assert_int_equal(cfg_parse_size("16M", &n), 0);
	assert_int_equal(n, 16u << 20);
	assert_int_equal(cfg_parse_size("1G", &n), 0);
	assert_int_equal(n, 1u << 30);
	assert_int_equal(cfg_parse_size("", &n), -EINVAL);
	assert_int_equal(cfg_parse_size("M", &n), -EINVAL);
	assert_int_equal(cfg_parse_size("-1", &n), -EINVAL);
	assert_int_equal(cfg_parse_size(" 1", &n), -EINVAL);
	assert_int_equal(cfg_parse_size("1 M", &n), -EINVAL);
	assert_int_equal(cfg_parse_size("1MB", &n), -EINVAL);
	assert_int_equal(cfg_parse_size("1T", &n), -EINVAL);
	assert_int_equal(cfg_parse_size("18446744073709551615", &n), 0);
	assert_int_equal(cfg_parse_size("18446744073709551616", &n), -ERANGE);
	assert_int_equal(cfg_parse_size("17179869184G", &n), -ERANGE);
}

/* ---- access control ---------------------------------------------------- */

static bool
allowed4(const struct cfg *c, const char *addr)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};

	assert_int_equal(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
	return cfg_access_allowed(c, (const struct sockaddr *)&sin);
}

static bool
allowed6(const struct cfg *c, const char *addr)
{
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};

	assert_int_equal(inet_pton(AF_INET6, addr, &sin6.sin6_addr), 1);
	return cfg_access_allowed(c, (const struct sockaddr *)&sin6);
}

static void
test_access_allowed_defaults(void **state)
{
	struct cfg c;
	struct sockaddr sa = {.sa_family = AF_UNIX};

	(void)state;
	assert_int_equal(cfg_defaults(&c), 0);
	assert_true(allowed4(&c, "127.0.0.1"));
	assert_true(allowed4(&c, "127.255.0.9"));
	assert_false(allowed4(&c, "128.0.0.1"));
	assert_false(allowed4(&c, "10.0.0.1"));
	assert_true(allowed6(&c, "::1"));
	assert_false(allowed6(&c, "::2"));
	assert_false(allowed6(&c, "2001:db8::1"));
	/* a v4 client on a dual-stack socket */
	assert_true(allowed6(&c, "::ffff:127.0.0.1"));
	assert_false(allowed6(&c, "::ffff:10.0.0.1"));
	assert_false(cfg_access_allowed(&c, &sa));
	assert_false(cfg_access_allowed(&c, NULL));
	cfg_free(&c);
}

static void
test_access_allowed_prefixes(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(load("access:\n"
	                      "  - 10.0.0.0/8\n"
	                      "  - 192.0.2.128/25\n"
	                      "  - 198.51.100.7\n"
	                      "  - 2001:db8:a000::/35\n"
	                      "  - ::/128\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_false(allowed4(&c, "127.0.0.1")); /* default replaced */
	assert_true(allowed4(&c, "10.1.2.3"));
	assert_false(allowed4(&c, "11.0.0.0"));
	assert_true(allowed4(&c, "192.0.2.128"));
	assert_true(allowed4(&c, "192.0.2.255"));
	assert_false(allowed4(&c, "192.0.2.127"));
	assert_true(allowed4(&c, "198.51.100.7"));
	assert_false(allowed4(&c, "198.51.100.8"));
	assert_true(allowed6(&c, "2001:db8:a000::1"));
	assert_true(allowed6(&c, "2001:db8:bfff:ffff::1"));
	assert_false(allowed6(&c, "2001:db8:c000::1"));
	assert_false(allowed6(&c, "2001:db8:9fff::1"));
	assert_true(allowed6(&c, "::ffff:10.9.9.9"));
	assert_false(allowed6(&c, "::ffff:11.9.9.9"));
	/* an IPv6 prefix never admits a mapped (IPv4) client */
	cfg_free(&c);
	assert_int_equal(load("access: [\"::/0\"]\n", &c, err, sizeof(err)), 0);
	assert_true(allowed6(&c, "2001:db8::1"));
	assert_false(allowed6(&c, "::ffff:10.0.0.1"));
	assert_false(allowed4(&c, "10.0.0.1"));
	cfg_free(&c);
	assert_int_equal(
	    load("access: [0.0.0.0/0]\n", &c, err, sizeof(err)), 0);
	assert_true(allowed4(&c, "203.0.113.1"));
	assert_true(allowed6(&c, "::ffff:203.0.113.1"));
	assert_false(allowed6(&c, "::1"));
	cfg_free(&c);
}

/* ---- the key schema ---------------------------------------------------- */

static void
test_key_schema(void **state)
{
	struct cfg c;
	char msg[256];

	(void)state;
	assert_int_equal(cfg_key_kind("listen"), CFG_KIND_LIST);
	assert_int_equal(cfg_key_kind("access"), CFG_KIND_LIST);
	assert_int_equal(cfg_key_kind("cache"), CFG_KIND_MAP);
	assert_int_equal(cfg_key_kind("cache.size"), CFG_KIND_SCALAR);
	assert_int_equal(cfg_key_kind("size"), CFG_KIND_NONE);
	assert_string_equal(cfg_key_suggest("wrokers"), "workers");
	assert_string_equal(
	    cfg_key_suggest("limits.max_dept"), "limits.max_depth");
	assert_null(cfg_key_suggest("completely_different"));
	assert_int_equal(cfg_defaults(&c), 0);
	assert_int_equal(cfg_set(&c, "workers", "7", msg, sizeof(msg)), 0);
	assert_int_equal(c.workers, 7);
	assert_int_equal(cfg_set(&c, "cache", "1", msg, sizeof(msg)), -EINVAL);
	assert_int_equal(cfg_set(&c, "listen", NULL, msg, sizeof(msg)), 0);
	assert_int_equal(c.nlisten, 0);
	assert_int_equal(cfg_set(&c, "listen", "::1@54", msg, sizeof(msg)), 0);
	assert_int_equal(c.nlisten, 1);
	cfg_free(&c);
}

/* The line of every key given is kept, for errors found after the walk. */
static void
test_key_lines(void **state)
{
	struct cfg c;
	char err[256];

	(void)state;
	assert_int_equal(load("workers: 1\n\ncache:\n  # size\n  size: 1M\n"
	                      "listen:\n  - 127.0.0.1@5353\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_int_equal(cfg_key_line(&c, "workers"), 1);
	assert_int_equal(cfg_key_line(&c, "cache"), 3);
	assert_int_equal(cfg_key_line(&c, "cache.size"), 5);
	assert_int_equal(cfg_key_line(&c, "listen"), 6);
	assert_int_equal(cfg_key_line(&c, "user"), 0); /* a default */
	assert_int_equal(cfg_key_line(&c, "no.such.key"), 0);
	cfg_note_line(&c, "no.such.key", 9); /* ignored */
	cfg_note_line(&c, "user", 9);
	assert_int_equal(cfg_key_line(&c, "user"), 9);
	cfg_free(&c);
	assert_int_equal(cfg_key_line(&c, "workers"), 0);
}

static void
test_forward_zones(void **state)
{
	struct cfg c;
	char err[512];

	(void)state;
	assert_int_equal(load("forward_zones:\n"
	                      "  - zone: example.com\n"
	                      "    servers: [192.0.2.1, \"192.0.2.2@5353\"]\n"
	                      "    fallback: iterate\n"
	                      "  - zone: .\n"
	                      "    servers: 127.0.0.1@5301\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.nforwards, 2);
	assert_string_equal(c.forwards[0].zone, "example.com.");
	assert_int_equal(c.forwards[0].nservers, 2);
	assert_string_equal(c.forwards[0].servers[1].text, "192.0.2.2@5353");
	assert_true(c.forwards[0].fallback_iterate);
	assert_string_equal(c.forwards[1].zone, ".");
	assert_false(c.forwards[1].fallback_iterate);
	cfg_free(&c);
	check_error("forward_zones:\n  - zone: a.b\n", 1,
	    "forward zone 'a.b.' has no 'servers'", true);
	check_error("forward_zones:\n  - servers: [192.0.2.1]\n", 1,
	    "forward zone 1 has no 'zone'", true);
	check_error("forward_zones:\n  - zone: a\n    servers: [nope]\n", 3,
	    "bad server address 'nope'", false);
	check_error("forward_zones:\n  - zone: a..b\n", 2,
	    "bad zone name 'a..b'", true);
	check_error("forward_zones:\n  - zone: a\n    fallback: maybe\n", 3,
	    "'forward_zones.fallback' must be iterate or fail, not "
	    "'maybe'",
	    true);
	check_error("forward_zones:\n  - zone: a\n    sevrers: [1.2.3.4]\n", 3,
	    "unknown key 'forward_zones.sevrers' (did you mean "
	    "'forward_zones.servers'?)",
	    true);
	check_error("forward_zones: [a, b]\n", 1,
	    "'forward_zones' entries must be mappings, not a scalar", true);
}

static void
test_tiers_profiles(void **state)
{
	struct cfg c;
	char err[512];

	(void)state;
	/* a profile fills what the file leaves unset, in any key order */
	assert_int_equal(load("tiers:\n"
	                      "  - name: browser\n"
	                      "    cache: {max_ttl: 10}\n"
	                      "    profile: browser\n"
	                      "    listen: 127.0.0.1@5301\n"
	                      "  - name: router\n"
	                      "    profile: router\n"
	                      "    listen: [127.0.0.1@5303]\n"
	                      "    upstream: 127.0.0.1@5399\n"
	                      "  - name: isp\n"
	                      "    profile: isp\n"
	                      "    upstream: iterate\n"
	                      "    listen: [127.0.0.1@5304]\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.ntiers, 3);
	assert_int_equal(c.tiers[0].profile, CFG_PROFILE_BROWSER);
	assert_int_equal(c.tiers[0].cache.max_ttl, 10);
	assert_int_equal(c.tiers[0].cache.max_entries, 1000);
	assert_int_equal(c.tiers[1].cache.max_entries, 150);
	assert_true(c.tiers[1].upstream_set);
	assert_false(c.tiers[1].upstream_iterate);
	assert_string_equal(c.tiers[1].upstream.text, "127.0.0.1@5399");
	assert_int_equal(c.tiers[2].cache.max_ttl, 86400);
	assert_int_equal(c.tiers[2].cache.negative_ttl, 3600);
	assert_true(c.tiers[2].upstream_iterate);
	cfg_free(&c);
	check_error("tiers:\n  - name: a\n    listen: [127.0.0.1@1]\n"
	            "  - name: a\n    listen: [127.0.0.1@2]\n",
	    1, "two tiers are named 'a'", true);
	check_error(
	    "tiers:\n  - name: a\n", 1, "tier 'a' has no 'listen'", true);
	check_error("tiers:\n  - name: a\n    listen: [127.0.0.1@1]\n"
	            "    profile: phone\n",
	    4,
	    "'tiers.profile' must be browser, "
	    "os, router, isp or none, not 'phone'",
	    true);
	check_error("tiers:\n  - name: a\n    listen: [127.0.0.1@1]\n"
	            "    cache: {max_ttl: 999999}\n",
	    4, "'tiers.cache.max_ttl' is out of range", false);
	check_error("tiers:\n  - name: a\n    listen: [127.0.0.1@1]\n"
	            "    cache: {min_ttl: 100, max_ttl: 10}\n",
	    1, "tier 'a': min_ttl (100) must not exceed max_ttl (10)", true);
	check_error("tiers: 3\n", 1,
	    "'tiers' must be a sequence of mappings, not a scalar", true);
}

/* Tiers as a tree: count, the listen forms, fanout, the instances. */
static void
test_tiers_tree(void **state)
{
	struct cfg c;
	struct cfg_listen l[CFG_MAX_TIER_LISTEN];
	char err[512], name[CFG_INST_NAME_MAX];
	FILE *f;
	char *printed = NULL;
	size_t plen = 0;

	(void)state;
	/* 40 browsers on 20 machines behind 5 routers sharing one ISP */
	assert_int_equal(load("tiers:\n"
	                      "  - name: browser\n"
	                      "    profile: browser\n"
	                      "    count: 40\n"
	                      "    fanout: 2\n"
	                      "    listen: [127.0.0.1@20001]\n"
	                      "  - name: os\n"
	                      "    profile: os\n"
	                      "    count: 20\n"
	                      "    listen: [\"::1@20101\"]\n"
	                      "  - name: router\n"
	                      "    count: 5\n"
	                      "    listen: [127.0.1.1@53, 127.0.1.2@53, "
	                      "127.0.1.3@53, 127.0.1.4@53, 127.0.1.5@53]\n"
	                      "  - name: isp\n"
	                      "    listen: [127.0.0.1@20301, \"::1@20301\"]\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_int_equal(cfg_ninstances(&c), 66);
	assert_int_equal(c.tiers[0].count, 40);
	assert_int_equal(c.tiers[0].fanout, 2);
	assert_int_equal(c.tiers[3].count, 1);
	assert_int_equal(cfg_tier_first(&c, 0), 0);
	assert_int_equal(cfg_tier_first(&c, 1), 40);
	assert_int_equal(cfg_tier_first(&c, 3), 65);
	/* a base address: the port counted up, v4 and v6 alike */
	assert_int_equal(cfg_tier_listen(&c, 0, 0, l), 1);
	assert_string_equal(l[0].text, "127.0.0.1@20001");
	assert_int_equal(cfg_tier_listen(&c, 0, 39, l), 1);
	assert_string_equal(l[0].text, "127.0.0.1@20040");
	assert_int_equal(
	    ntohs(((struct sockaddr_in *)&l[0].addr)->sin_port), 20040);
	assert_int_equal(cfg_tier_listen(&c, 1, 19, l), 1);
	assert_string_equal(l[0].text, "::1@20120");
	assert_int_equal(
	    ntohs(((struct sockaddr_in6 *)&l[0].addr)->sin6_port), 20120);
	/* a list: one address each */
	assert_int_equal(cfg_tier_listen(&c, 2, 4, l), 1);
	assert_string_equal(l[0].text, "127.0.1.5@53");
	/* one instance: all its addresses */
	assert_int_equal(cfg_tier_listen(&c, 3, 0, l), 2);
	assert_string_equal(l[1].text, "::1@20301");
	/* fanout 2: browsers 1 and 2 on os-1, 39 and 40 on os-20 */
	assert_int_equal(cfg_tier_parent(&c, 0, 0), 0);
	assert_int_equal(cfg_tier_parent(&c, 0, 1), 0);
	assert_int_equal(cfg_tier_parent(&c, 0, 2), 1);
	assert_int_equal(cfg_tier_parent(&c, 0, 39), 19);
	/* spread evenly: 20 machines on 5 routers, 4 each, in order */
	assert_int_equal(cfg_tier_parent(&c, 1, 3), 0);
	assert_int_equal(cfg_tier_parent(&c, 1, 4), 1);
	assert_int_equal(cfg_tier_parent(&c, 1, 19), 4);
	assert_int_equal(cfg_tier_parent(&c, 2, 4), 0);
	cfg_instance_name(&c, 0, 2, name, sizeof(name));
	assert_string_equal(name, "browser-3");
	cfg_instance_name(&c, 3, 0, name, sizeof(name));
	assert_string_equal(name, "isp");
	/* printed as loaded, and loaded back the same */
	f = open_memstream(&printed, &plen);
	assert_non_null(f);
	cfg_print(f, &c);
	fclose(f);
	assert_non_null(strstr(printed, "    count: 40\n    fanout: 2\n"));
	assert_non_null(strstr(printed,
	    "    count: 20\n    # fanout: not "
	    "set, spread evenly"));
	cfg_free(&c);
	assert_int_equal(load(printed, &c, err, sizeof(err)), 0);
	assert_int_equal(cfg_ninstances(&c), 66);
	assert_int_equal(c.tiers[0].fanout, 2);
	cfg_free(&c);
	free(printed);
	/* uneven spreading: 5 over 2, the first gets 3 */
	assert_int_equal(
	    load("tiers:\n"
	         "  - {name: a, count: 5, listen: 127.0.0.1@1000}\n"
	         "  - {name: b, count: 2, listen: 127.0.0.1@2000}\n",
	        &c, err, sizeof(err)),
	    0);
	assert_int_equal(cfg_tier_parent(&c, 0, 2), 0);
	assert_int_equal(cfg_tier_parent(&c, 0, 3), 1);
	assert_int_equal(cfg_tier_parent(&c, 1, 1), 0); /* the last: 0 */
	cfg_free(&c);
	/* without tiers: one instance */
	assert_int_equal(load("workers: 1\n", &c, err, sizeof(err)), 0);
	assert_int_equal(cfg_ninstances(&c), 1);
	cfg_free(&c);

	check_error("tiers:\n  - {name: a, count: 0, listen: 127.0.0.1@1}\n", 2,
	    "'tiers.count' is out of range", false);
	check_error("tiers:\n  - {name: a, count: 129, listen: 127.0.0.1@1}\n",
	    2, "'tiers.count' is out of range", false);
	check_error("tiers:\n  - name: a\n    count: 3\n"
	            "    listen: [127.0.0.1@1, 127.0.0.1@2]\n",
	    1,
	    "tier 'a': with count 3, 'listen' is one address (the port "
	    "counted up per instance) or 3 addresses, not 2",
	    true);
	check_error(
	    "tiers:\n  - {name: a, count: 3, listen: 127.0.0.1@65534}\n", 1,
	    "tier 'a': 3 instances from port 65534 go past port 65535", true);
	check_error("tiers:\n  - {name: a, count: 4, fanout: 2, "
	            "listen: 127.0.0.1@100}\n",
	    1,
	    "tier 'a': 'fanout' needs a next tier to ask (not the last "
	    "tier, no 'upstream')",
	    true);
	check_error("tiers:\n  - {name: a, count: 5, fanout: 2, "
	            "listen: 127.0.0.1@100}\n"
	            "  - {name: b, count: 2, listen: 127.0.0.1@200}\n",
	    1,
	    "tier 'a': 5 instances, 2 per instance of 'b', need 3 of them; "
	    "it has 2",
	    true);
	check_error("tiers:\n  - {name: a, count: 3, listen: 127.0.0.1@100}\n"
	            "  - {name: b, listen: 127.0.0.1@102}\n",
	    1, "listen address 127.0.0.1@102 is given to two tier instances",
	    true);
	check_error("tiers:\n  - {name: a, count: 2, listen: 127.0.0.1@100}\n"
	            "  - {name: a-2, listen: 127.0.0.1@200}\n",
	    1, "two tier instances are named 'a-2'", true);
	check_error(
	    "tiers:\n  - {name: abcdefghijklmnopqrstuvwxyz01, count: 100, "
	    "listen: 127.0.0.1@100}\n",
	    1,
	    "tier 'abcdefghijklmnopqrstuvwxyz01': with count 100, the "
	    "instance names (abcdefghijklmnopqrstuvwxyz01-100) are longer "
	    "than 31 characters",
	    true);
	check_error("tiers:\n"
	            "  - {name: a, count: 128, listen: 127.0.0.1@1000}\n"
	            "  - {name: b, count: 128, listen: 127.0.0.1@2000}\n"
	            "  - {name: c, count: 1, listen: 127.0.0.1@3000}\n",
	    1, "the tiers have 257 instances in all; at most 256", true);
}

/* ---- chroot, query_loopback -------------------------------------------- */

static void
test_chroot(void **state)
{
	char text[PATH_MAX + 64], msg[PATH_MAX + 128], err[512], *out;
	struct cfg c;

	(void)state;
	assert_int_equal(cfg_defaults(&c), 0);
	assert_null(c.chroot);
	out = print_to_string(&c);
	assert_non_null(strstr(out, "# chroot: not set, no chroot\n"));
	free(out);
	cfg_free(&c);

	snprintf(text, sizeof(text), "user: nobody\nchroot: %s/\n", tmpdir);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_string_equal(c.chroot, tmpdir);
	cfg_free(&c);
	/* relative: from the file's directory, like every path */
	assert_int_equal(load("chroot: .\n", &c, err, sizeof(err)), 0);
	assert_string_equal(c.chroot, tmpdir);
	cfg_free(&c);
	snprintf(text, sizeof(text), "chroot: %s\n", tmpdir);
	round_trip(text);

	snprintf(text, sizeof(text), "workers: 1\nchroot: %s/none\n", tmpdir);
	snprintf(
	    msg, sizeof(msg), "chroot: %s/none: %s", tmpdir, strerror(ENOENT));
	check_error(text, 2, msg, true);
	snprintf(text, sizeof(text), "chroot: %s\n", hints);
	snprintf(msg, sizeof(msg), "chroot: %s: %s", hints, strerror(ENOTDIR));
	check_error(text, 1, msg, true);
	check_error("chroot: \"\"\n", 1, "'chroot' needs a value", true);

	/* the dump is written after the chroot: it must be inside */
	snprintf(text, sizeof(text),
	    "chroot: %s\ncache:\n  persist: %s/cache.dump\n", tmpdir, tmpdir);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	cfg_free(&c);
	snprintf(text, sizeof(text),
	    "chroot: %s\ncache:\n  size: 1M\n  persist: /var/x.dump\n", tmpdir);
	snprintf(msg, sizeof(msg),
	    "'cache.persist' /var/x.dump is outside 'chroot' %s: the daemon "
	    "writes it after the chroot",
	    tmpdir);
	check_error(text, 4, msg, true);
}

static void
test_path_in_root(void **state)
{
	(void)state;
	assert_string_equal(cfg_path_in_root(NULL, "/etc/x"), "/etc/x");
	assert_string_equal(cfg_path_in_root("/", "/etc/x"), "/etc/x");
	assert_string_equal(
	    cfg_path_in_root("/srv/r", "/srv/r/etc/x"), "/etc/x");
	assert_string_equal(cfg_path_in_root("/srv/r", "/srv/r"), "/");
	assert_null(cfg_path_in_root("/srv/r", "/srv/rx/etc"));
	assert_null(cfg_path_in_root("/srv/r", "/srv"));
	assert_null(cfg_path_in_root("/srv/r", "/etc/x"));
}

static void
test_query_loopback(void **state)
{
	struct cfg c;
	char err[256], *out;

	(void)state;
	assert_int_equal(cfg_defaults(&c), 0);
	assert_false(c.query_loopback);
	out = print_to_string(&c);
	assert_non_null(strstr(out, "\nquery_loopback: false\n"));
	free(out);
	cfg_free(&c);
	assert_int_equal(
	    load("query_loopback: yes\n", &c, err, sizeof(err)), 0);
	assert_true(c.query_loopback);
	cfg_free(&c);
	round_trip("query_loopback: true\n");
	check_error("workers: 1\nquery_loopback: 127.0.0.1\n", 2,
	    "'query_loopback' must be a boolean (true/false, yes/no, "
	    "on/off), not '127.0.0.1'",
	    true);
	check_error("query_loopbak: true\n", 1,
	    "unknown key 'query_loopbak' (did you mean 'query_loopback'?)",
	    true);
}

/* ---- tls -------------------------------------------------------------- */

static void
test_tls(void **state)
{
	struct cfg c;
	char err[512], text[512], *out;

	(void)state;
	/* off by default */
	assert_int_equal(cfg_defaults(&c), 0);
	assert_int_equal(c.tls.nlisten, 0);
	assert_null(c.tls.cert);
	assert_null(c.tls.key);
	out = print_to_string(&c);
	assert_non_null(strstr(out,
	    "\ntls:\n  listen: []  # none: no DNS-over-TLS listener\n"
	    "  # cert: not set (needed with tls.listen)\n"
	    "  # key: not set (needed with tls.listen)\n"));
	free(out);
	cfg_free(&c);
	/* a bare address is port 853; files are the file's directory's
	 * (hints is a readable file, which is all config/ checks) */
	snprintf(text, sizeof(text),
	    "tls:\n  listen: [127.0.0.1, \"::1@8853\"]\n  cert: %s\n"
	    "  key: root.hints\n",
	    hints);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.tls.nlisten, 2);
	assert_string_equal(c.tls.listen[0].text, "127.0.0.1@853");
	assert_string_equal(c.tls.listen[1].text, "::1@8853");
	assert_string_equal(c.tls.cert, hints);
	assert_string_equal(c.tls.key, hints);
	assert_int_equal(cfg_key_line(&c, "tls.listen"), 2);
	assert_int_equal(cfg_key_line(&c, "tls.cert"), 3);
	assert_int_equal(cfg_key_line(&c, "tls.key"), 4);
	out = print_to_string(&c);
	snprintf(text, sizeof(text),
	    "\ntls:\n  listen:\n    - \"127.0.0.1@853\"\n"
	    "    - \"::1@8853\"\n  cert: \"%s\"\n  key: \"%s\"\n",
	    hints, hints);
	assert_non_null(strstr(out, text));
	free(out);
	cfg_free(&c);
	snprintf(text, sizeof(text),
	    "tls:\n  listen: 127.0.0.1@8853\n  cert: %s\n  key: %s\n", hints,
	    hints);
	round_trip(text);
	assert_int_equal(cfg_key_kind("tls"), CFG_KIND_MAP);
	assert_int_equal(cfg_key_kind("tls.listen"), CFG_KIND_LIST);
	assert_int_equal(cfg_key_kind("tls.cert"), CFG_KIND_SCALAR);
	assert_int_equal(cfg_key_kind("tls.key"), CFG_KIND_SCALAR);

	/* every rule */
	check_error("tls:\n  listen: [300.0.0.1]\n", 2,
	    "bad tls.listen address '300.0.0.1' (expected address or "
	    "address@port, e.g. 127.0.0.1@853 or ::1)",
	    true);
	check_error("tls:\n  listen: [127.0.0.1@0]\n", 2,
	    "bad tls.listen address '127.0.0.1@0'", false);
	check_error("tls:\n  listen:\n    - 127.0.0.1@1\n    - 127.0.0.1@2\n"
	            "    - 127.0.0.1@3\n    - 127.0.0.1@4\n    - 127.0.0.1@5\n",
	    7, "too many 'tls.listen' entries (at most 4)", true);
	check_error("tls:\n  listen: [127.0.0.1@853]\n", 2,
	    "'tls.listen' needs 'tls.cert' and 'tls.key'", true);
	check_error("tls:\n  cert: root.hints\n", 2,
	    "'tls.cert' is set but not 'tls.key'", true);
	check_error("tls:\n\n  key: root.hints\n", 3,
	    "'tls.key' is set but not 'tls.cert'", true);
	snprintf(text, sizeof(text), "tls:\n  cert: %s/no-such.pem\n", tmpdir);
	check_error(text, 2, "tls.cert: ", false);
	check_error(text, 2, "/no-such.pem: No such file or directory", false);
	check_error("tls:\n  key: .\n", 2, "tls.key: ", false);
	check_error("listen: [127.0.0.1@853]\ntls:\n  listen: [127.0.0.1]\n"
	            "  cert: root.hints\n  key: root.hints\n",
	    3, "'tls.listen' 127.0.0.1@853 is also a DNS listen address", true);
	check_error("http:\n  listen: [127.0.0.1@8853]\ntls:\n  listen: "
	            "[127.0.0.1@8853]\n  cert: root.hints\n  key: root.hints\n",
	    4, "'tls.listen' 127.0.0.1@8853 is also an 'http.listen' address",
	    true);
	check_error("tls:\n  listen: [127.0.0.1, 127.0.0.1@853]\n"
	            "  cert: root.hints\n  key: root.hints\n",
	    2, "'tls.listen' 127.0.0.1@853 is given twice", true);
	check_error("tls:\n  certificate: x.pem\n", 2,
	    "unknown key 'tls.certificate'", false);
	check_error("tls: 127.0.0.1@853\n", 1,
	    "'tls' must be a mapping, not a scalar", true);
}

/* ---- http ------------------------------------------------------------- */

static bool
http_allowed4(const struct cfg *c, const char *ip)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};

	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	return cfg_prefix_allowed(
	    c->http.access, c->http.naccess, (struct sockaddr *)&sa);
}

static void
test_http(void **state)
{
	struct cfg c;
	char err[256], *out;

	(void)state;
	/* off by default; loopback only when switched on */
	assert_int_equal(cfg_defaults(&c), 0);
	assert_int_equal(c.http.nlisten, 0);
	assert_int_equal(c.http.naccess, 2);
	assert_true(http_allowed4(&c, "127.0.0.1"));
	assert_false(http_allowed4(&c, "10.0.0.1"));
	out = print_to_string(&c);
	assert_non_null(strstr(out,
	    "\nhttp:\n  listen: []  # none: no HTTP listener\n"
	    "  access:\n    - \"127.0.0.0/8\"\n    - \"::1/128\"\n"));
	free(out);
	cfg_free(&c);
	assert_int_equal(load("http:\n"
	                      "  listen: [127.0.0.1@8053, \"::1@9100\"]\n"
	                      "  access: [10.0.0.0/8]\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.http.nlisten, 2);
	assert_string_equal(c.http.listen[0].text, "127.0.0.1@8053");
	assert_string_equal(c.http.listen[1].text, "::1@9100");
	assert_true(http_allowed4(&c, "10.1.2.3"));
	assert_false(http_allowed4(&c, "127.0.0.1")); /* default replaced */
	/* the DNS access list is another one */
	assert_true(cfg_access_allowed(&c,
	    (struct sockaddr *)&(struct sockaddr_in){
	        .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)}));
	assert_int_equal(cfg_key_line(&c, "http.listen"), 2);
	assert_int_equal(cfg_key_line(&c, "http.access"), 3);
	cfg_free(&c);
	round_trip("http:\n  listen: [127.0.0.1@8053]\n  access: []\n");
	round_trip("http:\n  listen: [\"::1@8053\"]\n");
	assert_int_equal(cfg_key_kind("http"), CFG_KIND_MAP);
	assert_int_equal(cfg_key_kind("http.listen"), CFG_KIND_LIST);
	assert_int_equal(cfg_key_kind("http.access"), CFG_KIND_LIST);
	check_error("http:\n  listen: [127.0.0.1]\n", 2,
	    "bad http.listen address '127.0.0.1' (expected address@port, "
	    "e.g. 127.0.0.1@8053 or ::1@8053)",
	    true);
	check_error("http:\n  listen: [127.0.0.1@80800]\n", 2,
	    "bad http.listen address '127.0.0.1@80800'", false);
	check_error("http:\n  listen:\n    - 127.0.0.1@1\n    - 127.0.0.1@2\n"
	            "    - 127.0.0.1@3\n    - 127.0.0.1@4\n    - 127.0.0.1@5\n",
	    7, "too many 'http.listen' entries (at most 4)", true);
	check_error("http:\n  access: [10.0.0.1/8]\n", 2,
	    "host bits set in 10.0.0.1/8", true);
	check_error("http:\n  access: [10.0.0.0/40]\n", 2,
	    "bad http.access prefix '10.0.0.0/40'", false);
	check_error("listen: [127.0.0.1@8053]\nhttp:\n  listen: "
	            "[127.0.0.1@8053]\n",
	    3, "'http.listen' 127.0.0.1@8053 is also a DNS listen address",
	    true);
	check_error("http:\n  lisen: [127.0.0.1@8053]\n", 2,
	    "unknown key 'http.lisen' (did you mean 'http.listen'?)", true);
	check_error("http: 127.0.0.1@8053\n", 1,
	    "'http' must be a mapping, not a scalar", true);
}

/* ---- dnssec ------------------------------------------------------------ */

static void
test_dnssec_defaults(void **state)
{
	struct cfg c;
	char err[256], *out;

	(void)state;
	assert_int_equal(cfg_defaults(&c), 0);
	assert_true(c.dnssec.validation);
	assert_int_equal(c.dnssec.ntrust_anchors, 0);
	assert_int_equal(c.dnssec.nnegative_trust_anchors, 0);
	out = print_to_string(&c);
	assert_non_null(strstr(out,
	    "dnssec:\n  validation: true\n  aggressive_nsec: true\n"
	    "  trust_anchors: []  # none: the built-in root anchor\n"
	    "  negative_trust_anchors: []\n"));
	free(out);
	cfg_free(&c);
	assert_int_equal(
	    load("dnssec:\n  validation: off\n", &c, err, sizeof(err)), 0);
	assert_false(c.dnssec.validation);
	cfg_free(&c);
	assert_int_equal(
	    load("dnssec:\n  aggressive_nsec: no\n", &c, err, sizeof(err)), 0);
	assert_false(c.dnssec.aggressive_nsec);
	assert_true(c.dnssec.validation);
	cfg_free(&c);
	check_error("dnssec:\n  aggressive_nsec: 2\n", 2,
	    "'dnssec.aggressive_nsec' must be a boolean (true/false, yes/no, "
	    "on/off), not '2'",
	    true);
	/* an empty section keeps the defaults */
	assert_int_equal(load("dnssec:\n", &c, err, sizeof(err)), 0);
	assert_true(c.dnssec.validation);
	cfg_free(&c);
	check_error("dnssec:\n  validation: maybe\n", 2,
	    "'dnssec.validation' must be a boolean (true/false, yes/no, "
	    "on/off), not 'maybe'",
	    true);
	check_error("dnssec: yes\n", 1,
	    "'dnssec' must be a mapping, not a scalar", true);
	check_error("dnssec:\n  trust_anchor: [a]\n", 2,
	    "unknown key 'dnssec.trust_anchor' (did you mean "
	    "'dnssec.trust_anchors'?)",
	    true);
}

static void
test_trust_anchors(void **state)
{
	char text[PATH_MAX * 2], msg[PATH_MAX + 128], err[512], ta[PATH_MAX];
	struct cfg c;
	size_t len;

	(void)state;
	snprintf(ta, sizeof(ta), "%s/root.key", tmpdir);
	write_file(ta, ". 172800 IN DS 20326 8 2 E06D44B8\n");
	snprintf(text, sizeof(text),
	    "dnssec:\n  trust_anchors:\n    - %s\n    - root.key\n", ta);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(c.dnssec.ntrust_anchors, 2);
	assert_string_equal(c.dnssec.trust_anchors[0], ta);
	assert_string_equal(c.dnssec.trust_anchors[1], ta); /* relative */
	cfg_free(&c);
	/* a single path is a list of one; [] is the built-in anchor */
	assert_int_equal(
	    load("dnssec:\n  trust_anchors: root.key\n", &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.dnssec.ntrust_anchors, 1);
	cfg_free(&c);
	assert_int_equal(
	    load("dnssec:\n  trust_anchors: []\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.dnssec.ntrust_anchors, 0);
	cfg_free(&c);
	snprintf(text, sizeof(text), "dnssec:\n  trust_anchors: [%s]\n", ta);
	round_trip(text);

	/* a missing file: at the line of the entry (of the key, when the
	 * list is written on it) */
	snprintf(msg, sizeof(msg), "dnssec.trust_anchors: %s/missing.key: %s",
	    tmpdir, strerror(ENOENT));
	check_error("dnssec:\n  validation: true\n"
	            "  trust_anchors: [root.key, missing.key]\n",
	    3, msg, true);
	check_error("dnssec:\n  trust_anchors:\n    - root.key\n"
	            "    - missing.key\n",
	    4, msg, true);
	snprintf(
	    text, sizeof(text), "dnssec:\n  trust_anchors: [%s]\n", tmpdir);
	snprintf(msg, sizeof(msg), "dnssec.trust_anchors: %s: %s", tmpdir,
	    strerror(EISDIR));
	check_error(text, 2, msg, true);
	check_error("dnssec:\n  trust_anchors:\n", 2,
	    "'dnssec.trust_anchors' needs a value (use [] for none)", true);
	check_error("dnssec:\n  trust_anchors: [[a]]\n", 2,
	    "'dnssec.trust_anchors' entries must be scalars, not a "
	    "sequence",
	    true);
	len =
	    (size_t)snprintf(text, sizeof(text), "dnssec:\n  trust_anchors:\n");
	for (int i = 0; i <= CFG_MAX_TA_FILES; i++)
		len += (size_t)snprintf(
		    text + len, sizeof(text) - len, "    - root.key\n");
	check_error(text, CFG_MAX_TA_FILES + 3,
	    "too many 'dnssec.trust_anchors' entries (at most 16)", true);
	unlink(ta);
}

static void
test_negative_trust_anchors(void **state)
{
	static const struct {
		const char *name, *why;
	} bad[] = {
	    {"a..b", "empty label"},
	    {".a", "empty label"},
	    {"a.b..", "empty label"},
	    {"\"a b\"", "character ' ' is not allowed"},
	    {"\"a\\\\.b\"", "character '\\' is not allowed"},
	    {"a/b", "character '/' is not allowed"},
	    {"\"caf\\xe9\"",
	        "non-ASCII byte 0xc3 (write an internationalised "
	        "name in its xn-- form)"},
	    {"\"a\\tb\"", "control byte 0x09 is not allowed"},
	};
	char text[1024], label[70], err[512], want[300];
	struct cfg c;
	size_t len;

	(void)state;
	assert_int_equal(load("dnssec:\n  negative_trust_anchors:\n"
	                      "    - Example.COM\n    - _dmarc.test.\n"
	                      "    - xn--bcher-kva.example\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.dnssec.nnegative_trust_anchors, 3);
	assert_string_equal(c.dnssec.negative_trust_anchors[0], "example.com.");
	assert_string_equal(c.dnssec.negative_trust_anchors[1], "_dmarc.test.");
	assert_string_equal(
	    c.dnssec.negative_trust_anchors[2], "xn--bcher-kva.example.");
	cfg_free(&c);
	round_trip("dnssec:\n  negative_trust_anchors: [a.example, "
	           "b.example.]\n");

	check_error("dnssec:\n  negative_trust_anchors: [ok.test, a..b]\n", 2,
	    "'dnssec.negative_trust_anchors': bad domain name 'a..b': empty "
	    "label",
	    true);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text),
		    "dnssec:\n  negative_trust_anchors:\n    - %s\n",
		    bad[i].name);
		check_error(text, 3, bad[i].why, false);
	}
	check_error("dnssec:\n  negative_trust_anchors: [.]\n", 2,
	    "'dnssec.negative_trust_anchors': '.' (the root) would turn "
	    "validation off; use 'dnssec.validation: false' for that",
	    true);
	/* a label of 63 is fine, 64 is not */
	memset(label, 'a', 64);
	label[63] = '\0';
	snprintf(text, sizeof(text),
	    "dnssec:\n  negative_trust_anchors: [%s.test]\n", label);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	cfg_free(&c);
	label[63] = 'a';
	label[64] = '\0';
	snprintf(text, sizeof(text),
	    "dnssec:\n  negative_trust_anchors: [%s.test]\n", label);
	snprintf(want, sizeof(want),
	    "'dnssec.negative_trust_anchors': bad domain name '%s.test': a "
	    "label is longer than 63 bytes",
	    label);
	check_error(text, 2, want, true);
	/* 253 characters (255 bytes on the wire) is the longest name */
	memset(label, 'a', 63);
	label[63] = '\0';
	snprintf(text, sizeof(text),
	    "dnssec:\n  negative_trust_anchors: [%s.%s.%s.%s]\n", label, label,
	    label,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.dnssec.negative_trust_anchors[0]), 254);
	cfg_free(&c);
	snprintf(text, sizeof(text),
	    "dnssec:\n  negative_trust_anchors: [%s.%s.%s.%s]\n", label, label,
	    label,
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	check_error(text, 2, "longer than 255 bytes", false);

	len = (size_t)snprintf(
	    text, sizeof(text), "dnssec:\n  negative_trust_anchors:\n");
	for (int i = 0; i <= CFG_MAX_NTAS; i++)
		len += (size_t)snprintf(
		    text + len, sizeof(text) - len, "    - n%d.test\n", i);
	assert_true(len < sizeof(text));
	check_error(text, CFG_MAX_NTAS + 3,
	    "too many 'dnssec.negative_trust_anchors' entries (at most 64)",
	    true);
}

/* ---- chaos ------------------------------------------------------------- */

static void
test_chaos(void **state)
{
	char text[1024], err[512], *out;
	struct cfg c;

	(void)state;
	assert_int_equal(cfg_defaults(&c), 0);
	assert_null(c.chaos.version);
	assert_null(c.chaos.hostname);
	assert_null(c.chaos.id);
	out = print_to_string(&c);
	assert_non_null(strstr(out,
	    "chaos:\n"
	    "  # version: not set, version.bind CH TXT is refused\n"
	    "  # hostname: not set, hostname.bind CH TXT is refused\n"
	    "  # id: not set, id.server CH TXT is refused\n"));
	free(out);
	cfg_free(&c);

	assert_int_equal(load("chaos:\n  version: resolverd 0.1\n"
	                      "  hostname: ns1.example\n  id: \"a: b\"\n",
	                     &c, err, sizeof(err)),
	    0);
	assert_string_equal(c.chaos.version, "resolverd 0.1");
	assert_string_equal(c.chaos.hostname, "ns1.example");
	assert_string_equal(c.chaos.id, "a: b");
	cfg_free(&c);
	round_trip("chaos: {version: \"v \\\"1\\\"\", id: x}\n");

	/* 255 bytes fit one TXT string; 256 do not */
	memset(text, 0, sizeof(text));
	strcpy(text, "chaos:\n  hostname: ");
	memset(text + strlen(text), 'h', 255);
	strcat(text, "\n");
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(strlen(c.chaos.hostname), 255);
	cfg_free(&c);
	text[strlen(text) - 1] = 'h';
	strcat(text, "\n");
	check_error(text, 2,
	    "'chaos.hostname' is too long: 256 bytes (at most 255)", true);
	check_error(
	    "chaos:\n  id: \"\"\n", 2, "'chaos.id' needs a value", true);
	check_error("chaos:\n  versoin: x\n", 2,
	    "unknown key 'chaos.versoin' (did you mean 'chaos.version'?)",
	    true);
}

static void
test_control_owner_syntax(void **state)
{
	static const char *const bad[] = {":adm", "root:", "a:b:c"};
	char text[128], msg[128], err[256];
	struct cfg c;

	(void)state;
	assert_int_equal(
	    load("control_socket_owner: \"root:adm\"\n", &c, err, sizeof(err)),
	    0);
	cfg_free(&c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "control_socket_owner: \"%s\"\n",
		    bad[i]);
		snprintf(msg, sizeof(msg),
		    "'control_socket_owner' must be user or user:group, not "
		    "'%s'",
		    bad[i]);
		check_error(text, 1, msg, true);
	}
}

/* ---- cfg_check_system -------------------------------------------------- */

/* Load @p text (which must load), then cfg_check_system() returns @p rc,
 * with "conf:line: msg" when it fails. */
static void
check_system(const char *text, int rc, unsigned line, const char *msg)
{
	char err[PATH_MAX + 512], want[PATH_MAX + 600];
	struct cfg c;

	if (load(text, &c, err, sizeof(err)) != 0)
		fail_msg("load failed: %s", err);
	err[0] = '\0';
	if (cfg_check_system(&c, err, sizeof(err)) != rc)
		fail_msg("cfg_check_system: want %d, got \"%s\"", rc, err);
	if (rc) {
		snprintf(want, sizeof(want), "%s:%u: %s", conf, line, msg);
		assert_string_equal(err, want);
	}
	cfg_free(&c);
}

static void
test_system_users(void **state)
{
	char text[PATH_MAX + 256];

	(void)state;
	snprintf(text, sizeof(text),
	    "control_socket: %s/ctl\nuser: nobody\n"
	    "control_socket_owner: \"nobody:nogroup\"\n",
	    tmpdir);
	check_system(text, 0, 0, NULL);
	snprintf(text, sizeof(text),
	    "control_socket: %s/ctl\n\nuser: no-such-user-x\n", tmpdir);
	check_system(text, -EINVAL, 3, "user: no-such-user-x: no such user");
	snprintf(text, sizeof(text),
	    "control_socket: %s/ctl\ncontrol_socket_owner: no-such-user-x\n",
	    tmpdir);
	check_system(text, -EINVAL, 2,
	    "control_socket_owner: no-such-user-x: no such user");
	snprintf(text, sizeof(text),
	    "control_socket: %s/ctl\n"
	    "control_socket_owner: \"root:no-such-group-x\"\n",
	    tmpdir);
	check_system(text, -EINVAL, 2,
	    "control_socket_owner: no-such-group-x: no such group");
}

static void
test_system_dirs(void **state)
{
	char text[PATH_MAX * 2], msg[PATH_MAX * 2], jail[PATH_MAX];
	struct cfg c;
	char err[PATH_MAX + 256];

	(void)state;
	snprintf(text, sizeof(text), "control_socket: %s/no/ctl\n", tmpdir);
	snprintf(msg, sizeof(msg), "control_socket: %s/no: %s", tmpdir,
	    strerror(ENOENT));
	check_system(text, -EINVAL, 1, msg);
	snprintf(text, sizeof(text),
	    "control_socket: %s/c\nlog:\n  level: info\n  dest: log/r.log\n",
	    tmpdir);
	snprintf(
	    msg, sizeof(msg), "log.dest: %s/log: %s", tmpdir, strerror(ENOENT));
	check_system(text, -EINVAL, 4, msg);
	snprintf(text, sizeof(text),
	    "control_socket: %s/c\nlog:\n  dest: root.hints/r.log\n", tmpdir);
	snprintf(
	    msg, sizeof(msg), "log.dest: %s: %s", hints, strerror(ENOTDIR));
	check_system(text, -EINVAL, 3, msg);

	/* a chroot removed between the load and the start */
	snprintf(jail, sizeof(jail), "%s/jail", tmpdir);
	assert_int_equal(mkdir(jail, 0755), 0);
	snprintf(
	    text, sizeof(text), "control_socket: %s/c\nchroot: jail\n", tmpdir);
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	assert_int_equal(cfg_check_system(&c, err, sizeof(err)), 0);
	assert_int_equal(rmdir(jail), 0);
	assert_int_equal(cfg_check_system(&c, err, sizeof(err)), -EINVAL);
	snprintf(msg, sizeof(msg), "%s:2: chroot: %s: %s", conf, jail,
	    strerror(ENOENT));
	assert_string_equal(err, msg);
	cfg_free(&c);

	/* a key not in the file has no line */
	assert_int_equal(cfg_defaults(&c), 0);
	free(c.control_socket);
	c.control_socket = strdup("/nonexistent-dir-x/r.ctl");
	assert_int_equal(cfg_check_system(&c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err,
	    "control_socket: /nonexistent-dir-x: No such file or directory "
	    "(the default)");
	cfg_free(&c);
}

/* cache.persist is written at stop by the daemon's user, inside the
 * chroot: judged by owner, group and mode bits, as root. */
static void
test_system_persist(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	char text[PATH_MAX * 2], msg[PATH_MAX * 2], pd[PATH_MAX],
	    jail[PATH_MAX], jpd[PATH_MAX];

	(void)state;
	/* the missing, the wrong kind */
	snprintf(text, sizeof(text),
	    "control_socket: %s/c\ncache:\n  persist: none/x.dump\n", tmpdir);
	snprintf(msg, sizeof(msg), "cache.persist: %s/none: %s", tmpdir,
	    strerror(ENOENT));
	check_system(text, -EINVAL, 3, msg);
	snprintf(text, sizeof(text),
	    "control_socket: %s/c\ncache:\n  persist: root.hints/x.dump\n",
	    tmpdir);
	snprintf(msg, sizeof(msg), "cache.persist: %s: %s", hints,
	    strerror(ENOTDIR));
	check_system(text, -EINVAL, 3, msg);
	snprintf(text, sizeof(text),
	    "control_socket: %s/c\ncache:\n  persist: .\n", tmpdir);
	snprintf(msg, sizeof(msg), "cache.persist: %s: %s", tmpdir,
	    strerror(EISDIR));
	check_system(text, -EINVAL, 3, msg);

	if (geteuid() != 0 || !pw) {
		skip(); /* the rest chowns to nobody */
		return;
	}
	snprintf(pd, sizeof(pd), "%s/pd", tmpdir);
	assert_int_equal(mkdir(pd, 0755), 0);
	/* root (user unset, running as root) may write anywhere */
	assert_int_equal(chmod(pd, 0555), 0);
	snprintf(text, sizeof(text),
	    "control_socket: %s/c\ncache:\n  persist: pd/x.dump\n", tmpdir);
	check_system(text, 0, 0, NULL);
	/* nobody: root's 0755 directory is not writable */
	assert_int_equal(chmod(pd, 0755), 0);
	snprintf(text, sizeof(text),
	    "control_socket: %s/c\nuser: nobody\ncache:\n"
	    "  persist: pd/x.dump\n",
	    tmpdir);
	snprintf(msg, sizeof(msg),
	    "cache.persist: %s: not writable by user "
	    "nobody",
	    pd);
	assert_int_equal(chmod(tmpdir, 0755), 0);
	check_system(text, -EINVAL, 4, msg);
	/* writable through the group (nobody's primary group) */
	assert_int_equal(chown(pd, 0, pw->pw_gid), 0);
	assert_int_equal(chmod(pd, 0775), 0);
	check_system(text, 0, 0, NULL);
	/* owned by nobody, but a directory above it keeps nobody out */
	assert_int_equal(chown(pd, pw->pw_uid, 0), 0);
	assert_int_equal(chmod(pd, 0700), 0);
	check_system(text, 0, 0, NULL);
	assert_int_equal(chmod(tmpdir, 0700), 0);
	snprintf(msg, sizeof(msg),
	    "cache.persist: %s: not searchable by user "
	    "nobody",
	    tmpdir);
	check_system(text, -EINVAL, 4, msg);
	/* the owner class alone applies to the owner: 0070 is closed to it
	 * even though its group may write */
	assert_int_equal(chmod(tmpdir, 0755), 0);
	assert_int_equal(chown(pd, pw->pw_uid, pw->pw_gid), 0);
	assert_int_equal(chmod(pd, 0070), 0);
	snprintf(msg, sizeof(msg),
	    "cache.persist: %s: not writable by user "
	    "nobody",
	    pd);
	check_system(text, -EINVAL, 4, msg);
	/* in a chroot the walk starts at the chroot: what is above it is
	 * never crossed after the chroot */
	assert_int_equal(chmod(tmpdir, 0700), 0);
	snprintf(jail, sizeof(jail), "%s/jail", tmpdir);
	snprintf(jpd, sizeof(jpd), "%s/jail/pd", tmpdir);
	assert_int_equal(mkdir(jail, 0711), 0);
	assert_int_equal(mkdir(jpd, 0700), 0);
	assert_int_equal(chown(jpd, pw->pw_uid, 0), 0);
	snprintf(text, sizeof(text),
	    "control_socket: %s/c\nuser: nobody\nchroot: jail\ncache:\n"
	    "  persist: jail/pd/x.dump\n",
	    tmpdir);
	check_system(text, 0, 0, NULL);
	assert_int_equal(chmod(jail, 0700), 0);
	snprintf(msg, sizeof(msg),
	    "cache.persist: %s: not searchable by user "
	    "nobody",
	    jail);
	check_system(text, -EINVAL, 5, msg);
	assert_int_equal(rmdir(jpd), 0);
	assert_int_equal(rmdir(jail), 0);
	assert_int_equal(rmdir(pd), 0);
}

/* ---- cfg_reload -------------------------------------------------------- */

static void
test_reload(void **state)
{
	char cwd[PATH_MAX], err[512];
	struct cfg old, c;
	char *a, *b;

	(void)state;
	/* the file is found again from its directory, whatever the working
	 * directory has become */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	write_file(conf, "root_hints: root.hints\nworkers: 3\n");
	assert_int_equal(chdir(tmpdir), 0);
	memset(&old, 0, sizeof(old));
	assert_int_equal(cfg_load("t.yaml", &old, err, sizeof(err)), 0);
	assert_int_equal(chdir("/"), 0);
	assert_int_equal(cfg_reload(&old, NULL, &c, err, sizeof(err)), 0);
	assert_string_equal(c.path, "t.yaml");
	assert_string_equal(c.root_hints, hints);
	a = print_to_string(&old);
	b = print_to_string(&c);
	assert_string_equal(a, b);
	free(a);
	free(b);
	cfg_free(&c);
	/* its errors are named as the first load named the file */
	write_file(conf, "workers: 1000\n");
	assert_int_equal(cfg_reload(&old, NULL, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, "t.yaml:1: 'workers' is out of range: 1000 (must be 0..256)");
	assert_null(c.path);
	assert_int_equal(chdir(cwd), 0);
	cfg_free(&old);
	/* nothing to reload on the built-in defaults */
	assert_int_equal(cfg_defaults(&old), 0);
	assert_int_equal(cfg_reload(&old, NULL, &c, err, sizeof(err)), -ENOENT);
	assert_string_equal(
	    err, "no file to reload: running on built-in defaults");
	cfg_free(&old);
}

/* In a chrooted child: reload @p old from inside @p root and compare its
 * printed form with @p want (or the error with @p want_err). @return the
 * child's exit status: 0 when as expected. */
static int
reload_in_chroot(const struct cfg *old, const char *root, const char *want_err)
{
	char err[1024];
	struct cfg c;
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		char *a, *b;
		int rc;

		if (chroot(root) < 0 || chdir("/") < 0)
			_exit(10);
		rc = cfg_reload(old, root, &c, err, sizeof(err));
		if (want_err) {
			if (rc != -EINVAL || strcmp(err, want_err) != 0) {
				fprintf(stderr, "got %d \"%s\"\n", rc, err);
				_exit(11);
			}
			_exit(0);
		}
		if (rc != 0) {
			fprintf(stderr, "reload: %s\n", err);
			_exit(12);
		}
		a = print_to_string(old);
		b = print_to_string(&c);
		if (strcmp(a, b) != 0) {
			fprintf(stderr, "%s\n---\n%s\n", a, b);
			_exit(13);
		}
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* After the chroot the daemon reads its file and the files it names from
 * inside; paths stay as written, so the reloaded config compares with the
 * running one. */
static void
test_reload_in_chroot(void **state)
{
	char jail[PATH_MAX], path[PATH_MAX + 32], text[PATH_MAX * 3],
	    want[PATH_MAX * 3], err[512];
	struct cfg old;

	(void)state;
	if (geteuid() != 0) {
		skip();
		return;
	}
	snprintf(jail, sizeof(jail), "%s/jail", tmpdir);
	assert_int_equal(mkdir(jail, 0755), 0);
	snprintf(path, sizeof(path), "%s/etc", jail);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/etc/root.hints", jail);
	write_file(path, ".\t3600000\tNS\tA.ROOT-SERVERS.NET.\n");
	snprintf(path, sizeof(path), "%s/etc/r.yaml", jail);
	snprintf(text, sizeof(text),
	    "chroot: ..\nroot_hints: root.hints\n"
	    "dnssec:\n  trust_anchors: [root.hints]\n"
	    "cache:\n  persist: ../cache.dump\n");
	write_file(path, text);
	memset(&old, 0, sizeof(old));
	assert_int_equal(cfg_load(path, &old, err, sizeof(err)), 0);
	assert_int_equal(reload_in_chroot(&old, jail, NULL), 0);

	/* a file outside the chroot cannot be reloaded */
	snprintf(text, sizeof(text),
	    "chroot: ..\nroot_hints: root.hints\n"
	    "dnssec:\n  trust_anchors: [%s]\n",
	    hints);
	write_file(path, text);
	snprintf(want, sizeof(want),
	    "%s:4: dnssec.trust_anchors: %s: outside the chroot, where a "
	    "reload cannot see it",
	    path, hints);
	assert_int_equal(reload_in_chroot(&old, jail, want), 0);
	cfg_free(&old);

	unlink(path);
	snprintf(path, sizeof(path), "%s/etc/root.hints", jail);
	unlink(path);
	snprintf(path, sizeof(path), "%s/etc", jail);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(rmdir(jail), 0);
}

/* ---- control socket mode and owner, cache.persist ---------------------- */

static void
test_control_and_persist(void **state)
{
	struct cfg c;
	char err[512], *out;

	(void)state;
	assert_int_equal(cfg_defaults(&c), 0);
	assert_int_equal(c.control_mode, 0600);
	assert_null(c.control_owner);
	assert_null(c.cache.persist);
	out = print_to_string(&c);
	assert_non_null(strstr(out, "control_socket_mode: \"0600\"\n"));
	assert_non_null(strstr(out, "# control_socket_owner: not set"));
	assert_non_null(strstr(out, "  # persist: not set\n"));
	free(out);
	cfg_free(&c);

	assert_int_equal(
	    load("control_socket_mode: 0660\n"
	         "control_socket_owner: \"root:adm\"\n"
	         "cache:\n  persist: /var/lib/resolverd/cache.dump\n",
	        &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.control_mode, 0660);
	assert_string_equal(c.control_owner, "root:adm");
	assert_string_equal(c.cache.persist, "/var/lib/resolverd/cache.dump");
	cfg_free(&c);
	round_trip("control_socket_mode: \"640\"\n"
	           "control_socket_owner: bind\n"
	           "cache:\n  persist: /tmp/x.dump\n");

	check_error("control_socket_mode: 0999\n", 1,
	    "'control_socket_mode' must be an octal file mode such as "
	    "0600 or 0660, not '0999'",
	    true);
	check_error("control_socket_mode: rw\n", 1, "octal file mode", false);
	check_error(
	    "control_socket_mode: 01777\n", 1, "octal file mode", false);
}

static void
test_items_round_trip(void **state)
{
	static const char text[] =
	    "forward_zones:\n  - zone: example.org\n    servers: [192.0.2.9]\n"
	    "tiers:\n  - name: os\n    profile: os\n    listen: "
	    "[127.0.0.1@5302]\n"
	    "  - name: isp\n    profile: isp\n    listen: [127.0.0.1@5304]\n";
	char printed[8192], again[8192], err[512], path2[128];
	struct cfg c;
	FILE *f;

	(void)state;
	assert_int_equal(load(text, &c, err, sizeof(err)), 0);
	f = fmemopen(printed, sizeof(printed), "w");
	cfg_print(f, &c);
	fclose(f);
	cfg_free(&c);
	snprintf(path2, sizeof(path2), "%s/again.yaml", tmpdir);
	write_file(path2, printed);
	assert_int_equal(cfg_load(path2, &c, err, sizeof(err)), 0);
	f = fmemopen(again, sizeof(again), "w");
	cfg_print(f, &c);
	fclose(f);
	assert_string_equal(printed, again);
	assert_int_equal(c.ntiers, 2);
	assert_int_equal(c.nforwards, 1);
	cfg_free(&c);
	unlink(path2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_empty_file_is_defaults),
	    cmocka_unit_test(test_comments_only_is_defaults),
	    cmocka_unit_test(test_empty_section_is_defaults),
	    cmocka_unit_test(test_full_file),
	    cmocka_unit_test(test_listen_replaces_default),
	    cmocka_unit_test(test_listen_single_scalar),
	    cmocka_unit_test(test_access_replaces_default),
	    cmocka_unit_test(test_too_many_listen),
	    cmocka_unit_test(test_too_many_access),
	    cmocka_unit_test(test_empty_listen),
	    cmocka_unit_test(test_cannot_open),
	    cmocka_unit_test(test_syntax_error),
	    cmocka_unit_test(test_unknown_key_suggestion),
	    cmocka_unit_test(test_duplicate_key),
	    cmocka_unit_test(test_wrong_type),
	    cmocka_unit_test(test_top_level_not_mapping),
	    cmocka_unit_test(test_bad_address),
	    cmocka_unit_test(test_bad_cidr),
	    cmocka_unit_test(test_out_of_range),
	    cmocka_unit_test(test_min_ttl_above_max_ttl),
	    cmocka_unit_test(test_size),
	    cmocka_unit_test(test_bad_size_suffix),
	    cmocka_unit_test(test_hints_file),
	    cmocka_unit_test(test_relative_paths),
	    cmocka_unit_test(test_abs_path),
	    cmocka_unit_test(test_booleans),
	    cmocka_unit_test(test_log_level),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_second_document),
	    cmocka_unit_test(test_error_buffer),
	    cmocka_unit_test(test_print_round_trip),
	    cmocka_unit_test(test_print_content),
	    cmocka_unit_test(test_parse_listen),
	    cmocka_unit_test(test_parse_prefix),
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_access_allowed_defaults),
	    cmocka_unit_test(test_access_allowed_prefixes),
	    cmocka_unit_test(test_key_schema),
	    cmocka_unit_test(test_key_lines),
	    cmocka_unit_test(test_forward_zones),
	    cmocka_unit_test(test_tiers_profiles),
	    cmocka_unit_test(test_tiers_tree),
	    cmocka_unit_test(test_items_round_trip),
	    cmocka_unit_test(test_control_and_persist),
	    cmocka_unit_test(test_chroot),
	    cmocka_unit_test(test_path_in_root),
	    cmocka_unit_test(test_query_loopback),
	    cmocka_unit_test(test_http),
	    cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_dnssec_defaults),
	    cmocka_unit_test(test_trust_anchors),
	    cmocka_unit_test(test_negative_trust_anchors),
	    cmocka_unit_test(test_chaos),
	    cmocka_unit_test(test_control_owner_syntax),
	    cmocka_unit_test(test_system_users),
	    cmocka_unit_test(test_system_dirs),
	    cmocka_unit_test(test_system_persist),
	    cmocka_unit_test(test_reload),
	    cmocka_unit_test(test_reload_in_chroot),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
