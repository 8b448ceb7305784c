/**
 * @file config.h
 * The resolverd configuration: one plain struct, its defaults, loading from
 * YAML, validation, printing.
 *
 * config/ depends on no other module of resolverd (it includes only the
 * header-only resolver/limits.h for default values). Only config/yaml.c
 * includes <yaml.h>. The struct is read-only once loaded; a reload builds a
 * new one and the daemon swaps it in between queries.
 */
#ifndef RESOLVERD_CONFIG_H
#define RESOLVERD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "resolver/limits.h"

#define CFG_MAX_LISTEN LIM_CFG_LISTEN
#define CFG_MAX_ACCESS LIM_CFG_ACCESS

/** One `listen` entry: "address@port" (port defaults to 53). */
struct cfg_listen {
	struct sockaddr_storage addr; /**< sockaddr_in or sockaddr_in6 */
	socklen_t addrlen;
	char text[64]; /**< as printed: "127.0.0.1@53", "::1@53" */
};

/** One `access` entry: an address prefix allowed to query. */
struct cfg_prefix {
	int family;       /**< AF_INET or AF_INET6 */
	uint8_t addr[16]; /**< network order, host bits zeroed */
	unsigned bits;    /**< prefix length */
};

enum cfg_log_level {
	CFG_LOG_ERR,
	CFG_LOG_WARN,
	CFG_LOG_INFO,
	CFG_LOG_DEBUG
};

#define CFG_MAX_FORWARDS    16
#define CFG_MAX_FWD_SERVERS 8
#define CFG_MAX_TIERS       8
#define CFG_MAX_TIER_LISTEN 16  /**< a tier's listen list */
#define CFG_MAX_TIER_COUNT  128 /**< tiers.count: instances of one tier */
#define CFG_MAX_INSTANCES   256 /**< instances of all the tiers */
#define CFG_NAME_MAX        32
#define CFG_INST_NAME_MAX   CFG_NAME_MAX /**< "NAME-128" fits too */
#define CFG_MAX_KEYS        96  /**< room for every key of the schema */
#define CFG_MAX_TA_FILES    16  /**< dnssec.trust_anchors entries */
#define CFG_MAX_NTAS        64  /**< dnssec.negative_trust_anchors entries */
#define CFG_TXT_MAX         255 /**< chaos.*: one TXT character-string */
#define CFG_NAME_TEXT_MAX   256 /**< a domain name as text, with NUL */
#define CFG_MAX_HTTP_LISTEN 4   /**< http.listen entries */
#define CFG_MAX_TLS_LISTEN  4   /**< tls.listen entries */
#define CFG_TLS_PORT        853 /**< tls.listen port when none is given */

/** One `forward_zones` entry: questions at or below @c zone go to @c servers
 *  with recursion desired. */
struct cfg_forward {
	char zone[256]; /**< presentation, ends with '.' */
	struct cfg_listen servers[CFG_MAX_FWD_SERVERS];
	unsigned nservers;
	bool fallback_iterate; /**< "fallback: iterate"; default fail */
};

/** Built-in tier policies (man resolverd.yaml(5) lists their values). */
enum cfg_profile {
	CFG_PROFILE_NONE = 0,
	CFG_PROFILE_BROWSER,
	CFG_PROFILE_OS,
	CFG_PROFILE_ROUTER,
	CFG_PROFILE_ISP,
};

/** A tier's cache policy. */
struct cfg_tier_cache {
	uint64_t size;        /**< bytes */
	uint32_t max_entries; /**< 0 = bounded by bytes only */
	uint32_t max_ttl, min_ttl, negative_ttl;
};

/** One `tiers` entry: a cache with its own listeners and policy, asking
 *  the next tier (or iterating, for the last). With @c count > 1 it is
 *  that many instances, NAME-1 .. NAME-count, each with its own cache and
 *  listen address, each asking one instance of the next tier (a tree). */
struct cfg_tier {
	char name[CFG_NAME_MAX];
	enum cfg_profile profile;
	/** count 1: every address is the instance's. count > 1: one
	 *  address, the first instance's, the port counted up for the
	 *  others; or @c count addresses, one per instance. */
	struct cfg_listen listen[CFG_MAX_TIER_LISTEN];
	unsigned nlisten;
	unsigned count;  /**< instances; default 1 */
	unsigned fanout; /**< instances of this tier per instance of the
	                      next; 0 (default): spread evenly */
	struct cfg_tier_cache cache;
	unsigned explicit_keys;     /**< bit per cache field set by the file */
	bool upstream_iterate;      /**< resolve from the root */
	bool upstream_set;          /**< upstream given (address or iterate) */
	struct cfg_listen upstream; /**< forward here (when not iterate) */
};

struct cfg {
	char *path; /**< owned; file read (as named), NULL for defaults */
	char *dir;  /**< owned; absolute directory of @c path, which the
	                 relative paths of the file are taken from; NULL
	                 for defaults (then: the working directory) */
	struct cfg_listen listen[CFG_MAX_LISTEN];
	unsigned nlisten; /**< default 2: 127.0.0.1@53, ::1@53 */
	char *root_hints; /**< owned; NULL = built-in IANA hints */
	struct cfg_prefix access[CFG_MAX_ACCESS];
	unsigned naccess;      /**< default: 127.0.0.0/8, ::1/128 */
	char *control_socket;  /**< owned; default "/run/resolverd.ctl" */
	unsigned control_mode; /**< mode of the socket file; default 0600 */
	char *control_owner;   /**< owned; "user[:group]" of the socket
	                            file; NULL = `user` if set, else
	                            the daemon's */
	unsigned workers;      /**< 0 = one per core (default) */
	char *user;            /**< owned; NULL = do not drop privileges */
	char *chroot;          /**< owned; absolute directory to chroot to
	                            after binding (before the user switch);
	                            NULL (default) = no chroot */
	struct {
		uint64_t size; /**< bytes; "64M" etc. default LIM_CACHE_SIZE */
		uint32_t max_ttl;      /**< default LIM_MAX_TTL */
		uint32_t min_ttl;      /**< default LIM_MIN_TTL */
		uint32_t negative_ttl; /**< default LIM_NEG_TTL */
		uint32_t max_entries;  /**< 0 (default): bounded by size only */
		uint32_t serve_stale;  /**< s expired data is kept to answer
		                            when every server fails (RFC
		                            8767); 0 off; default
		                            LIM_SERVE_STALE */
		bool prefetch; /**< refresh an RRset asked for in the last
		                    LIM_PREFETCH_PCT % of its TTL; default true
		                */
		char *persist; /**< owned; NULL (default) or a dump
		                    file loaded at start, written at
		                    stop */
	} cache;
	struct {
		enum cfg_log_level level; /**< default CFG_LOG_INFO */
		char *dest;   /**< owned; "stderr" (default), "syslog" or a file
		                 path */
		bool queries; /**< one line per query; default false */
	} log;
	bool qname_minimisation; /**< default true (relaxed) */
	bool query_loopback;     /**< default false: never send queries to
	                              127.0.0.0/8 or ::1 (learned from
	                              delegations or forwarders) */
	struct {
		bool validation; /**< default true */
		/** answer NXDOMAIN and NODATA from cached secure NSEC
		 *  records (RFC 8198); default true */
		bool aggressive_nsec;
		/** owned paths of DS/DNSKEY files; none (default): the
		 *  built-in root anchor, which any file given replaces */
		char *trust_anchors[CFG_MAX_TA_FILES];
		unsigned ntrust_anchors;
		/** owned domain names (RFC 7646), lower case, ending
		 *  with '.'; never the root */
		char *negative_trust_anchors[CFG_MAX_NTAS];
		unsigned nnegative_trust_anchors;
	} dnssec;
	struct {
		/** owned; the TXT answered to version.bind, hostname.bind
		 *  and id.server CH TXT questions, at most CFG_TXT_MAX
		 *  bytes; NULL (default): those questions are REFUSED */
		char *version, *hostname, *id;
	} chaos;
	struct {
		unsigned idle_timeout_ms; /**< default LIM_TCP_IDLE_MS */
		unsigned max_clients;     /**< default LIM_TCP_CLIENTS */
	} tcp;
	struct {
		unsigned max_sends;    /**< default LIM_MAX_SENDS */
		unsigned max_glueless; /**< default LIM_MAX_GLUELESS */
		unsigned max_cname;    /**< default LIM_MAX_CNAME */
		unsigned max_depth;    /**< default LIM_MAX_DEPTH */
		unsigned max_time_ms;  /**< default LIM_MAX_TIME_MS */
	} limits;
	/** The HTTP listener: GET /metrics (Prometheus) and /healthz. */
	struct {
		struct cfg_listen listen[CFG_MAX_HTTP_LISTEN];
		unsigned nlisten; /**< default 0: no HTTP listener */
		struct cfg_prefix access[CFG_MAX_ACCESS];
		unsigned naccess; /**< default: 127.0.0.0/8, ::1/128 */
	} http;
	/** DNS over TLS (RFC 7858) for clients: off unless listen is set. */
	struct {
		struct cfg_listen listen[CFG_MAX_TLS_LISTEN];
		unsigned nlisten; /**< default 0: no TLS listener */
		char *cert;       /**< owned; PEM certificate (chain) file */
		char *key;        /**< owned; PEM private key file */
	} tls;
	struct cfg_forward forwards[CFG_MAX_FORWARDS];
	unsigned nforwards;
	struct cfg_tier tiers[CFG_MAX_TIERS];
	unsigned ntiers; /**< 0: one resolver on `listen` */
	/** The line of the file where each key was set, by its place in the
	 *  schema; 0 when the key was not in the file. For the fields of
	 *  list items, the line of the last item's. See cfg_key_line(). */
	unsigned key_line[CFG_MAX_KEYS];
	/** Borrowed, and set only while cfg_reload() runs: the directory the
	 *  process is chrooted to, from inside which the files named in the
	 *  file are checked. NULL otherwise. */
	const char *load_root;
};

/** Fill @p c with the built-in defaults. Frees nothing: call on a zeroed or
 *  freed struct. @return 0 or -ENOMEM. */
int cfg_defaults(struct cfg *c);

/**
 * Load and validate the YAML file @p path into @p c (defaults first, then the
 * file's keys over them). A relative path in the file is made absolute from
 * the directory of @p path (kept in @c c->dir). On error, writes "file:line:
 * message" into @p err (at most @p errlen bytes, NUL-terminated) and returns a
 * negative errno
 * (-EINVAL for a bad file, -ENOENT when the file cannot be opened); @p c is
 * then left freed (safe to cfg_free again).
 */
int cfg_load(const char *path, struct cfg *c, char *err, size_t errlen);

/**
 * Load again, into @p c, the file @p old was loaded from, as cfg_load()
 * does, from a process chrooted to @p root (NULL: not chrooted). The file
 * and every file it names keep the paths they have outside the chroot (so
 * that @p c compares with @p old and prints alike) but are looked for
 * where they are seen from inside (cfg_path_in_root()); one outside
 * @p root is an error. Messages name the file as @p old->path does.
 * @return as cfg_load(); -ENOENT also when @p old has no file (built-in
 * defaults) or its file is outside @p root.
 */
int cfg_reload(const struct cfg *old, const char *root, struct cfg *c,
    char *err, size_t errlen);

/** Release what @p c owns and zero it. cfg_free(NULL) is a no-op. */
void cfg_free(struct cfg *c);

/** Print the effective configuration as YAML that cfg_load accepts. */
void cfg_print(FILE *out, const struct cfg *c);

/** @return true if @p sa (sockaddr_in/in6, v4-mapped v6 treated as v4) is
 *  inside one of the `access` prefixes. No allocation; called per packet. */
bool cfg_access_allowed(const struct cfg *c, const struct sockaddr *sa);

/** The same for any list of prefixes (`http.access`). */
bool cfg_prefix_allowed(
    const struct cfg_prefix *list, unsigned n, const struct sockaddr *sa);

/**
 * @p path made absolute: taken from the directory @p base (absolute; NULL
 * for the working directory) when it is relative, then tidied (empty and
 * "." components dropped; ".." kept, since a symbolic link may come before
 * it). @return a malloc'd string, or NULL with errno set (ENOMEM, or what
 * getcwd() says).
 */
char *cfg_abs_path(const char *base, const char *path);

/**
 * Where the absolute, tidy @p path is seen from inside a chroot to @p root
 * (NULL or "/": no chroot): "/srv/r/etc/x" is "/etc/x" inside "/srv/r".
 * @return a pointer into @p path (or the static "/" for @p root itself),
 * or NULL when @p path is outside @p root.
 */
const char *cfg_path_in_root(const char *root, const char *path);

/** Parse "address@port" / "address" (port 53). @return 0 or -EINVAL. */
int cfg_parse_listen(const char *s, struct cfg_listen *out);

/** Parse "address/bits" or a bare address (full length). @return 0 or -EINVAL.
 */
int cfg_parse_prefix(const char *s, struct cfg_prefix *out);

/*
 * The instances of the tiers: tier after tier, each tier's members in
 * order (browser-1, browser-2, ..., os-1, ...). Without tiers there is one
 * instance. These read a configuration cfg_check() accepted.
 */

/** @return how many instances @p c runs (1 without tiers). */
unsigned cfg_ninstances(const struct cfg *c);

/** @return the index, among all instances, of member 0 of @p tier. */
unsigned cfg_tier_first(const struct cfg *c, unsigned tier);

/** The listen addresses of member @p member (0-based) of @p tier into
 *  @p out (CFG_MAX_TIER_LISTEN entries). @return how many. */
unsigned cfg_tier_listen(const struct cfg *c, unsigned tier, unsigned member,
    struct cfg_listen *out);

/** @return the member of tier @p tier + 1 that member @p member of
 *  @p tier asks: member / fanout, or, without fanout, the members spread
 *  evenly in order (member * next count / count). */
unsigned cfg_tier_parent(const struct cfg *c, unsigned tier, unsigned member);

/** The instance's name: the tier's name when it has one instance, else
 *  "NAME-K" with K = @p member + 1. */
void cfg_instance_name(
    const struct cfg *c, unsigned tier, unsigned member, char *out, size_t len);

/** The name of a profile ("browser" ...), or "none". */
const char *cfg_profile_name(enum cfg_profile p);

/** Parse a size: "123", "64k", "64K", "16M", "1G". @return 0 or
 * -EINVAL/-ERANGE. */
int cfg_parse_size(const char *s, uint64_t *out);

/*
 * The key schema. config.c owns the list of keys, their kinds, ranges and
 * value syntax; a front end (config/yaml.c, a future command-line override)
 * only walks its own input and hands dotted key names ("listen",
 * "cache.size") and scalar strings to these functions. Messages written into
 * @p msg carry no "file:line:" prefix: the front end adds it.
 */

/** What a configuration key takes. */
enum cfg_kind {
	CFG_KIND_NONE,    /**< not a known key */
	CFG_KIND_MAP,     /**< a section: cache, log, tcp, limits */
	CFG_KIND_SCALAR,  /**< one value */
	CFG_KIND_LIST,    /**< a sequence of scalars (or a single scalar) */
	CFG_KIND_MAPLIST, /**< a sequence of mappings (forward_zones,
	                       tiers): cfg_set(key, NULL) starts an
	                       item, then "key.field" sets its fields */
};

/** @return the kind of the dotted key @p key, CFG_KIND_NONE if unknown. */
enum cfg_kind cfg_key_kind(const char *key);

/**
 * The known key nearest to the unknown dotted key @p key among its siblings
 * (same section), within Levenshtein distance 3.
 * @return a static dotted name (not to be freed), or NULL if none is close.
 */
const char *cfg_key_suggest(const char *key);

/**
 * Parse and validate @p value for the dotted key @p key and store it in @p c.
 * For a CFG_KIND_LIST key each call appends one entry, and @p value NULL
 * empties the list (a front end does so once, before the first entry, so
 * that a list given in the file replaces the default one).
 * @return 0, -EINVAL (message in @p msg) or -ENOMEM.
 */
int cfg_set(struct cfg *c, const char *key, const char *value, char *msg,
    size_t msglen);

/** Record that the dotted key @p key was set at @p line of the file (a
 *  front end calls it for every key it meets). Unknown keys are ignored. */
void cfg_note_line(struct cfg *c, const char *key, unsigned line);

/** @return the line where the dotted key @p key was set, 0 if it was not
 *  in the file (a default) or is unknown. */
unsigned cfg_key_line(const struct cfg *c, const char *key);

/**
 * Validate what no single key can: min_ttl <= max_ttl, a non-empty listen,
 * cache.persist inside chroot.
 * @param key set to the dotted key the error is about (static string).
 * @return 0 or -EINVAL (message in @p msg).
 */
int cfg_check(const struct cfg *c, const char **key, char *msg, size_t msglen);

/**
 * Check what start-up needs from the system and the file cannot say,
 * as root before the privileges are dropped (so for `--check` too):
 * @c chroot is a directory; @c user exists; @c control_socket_owner's user
 * and group exist; the directory of @c control_socket exists; the
 * directory of @c cache.persist exists, and it and every directory above
 * it (from the chroot down) let the daemon's user (@c user, or the current
 * one) through, writing into the last, by owner, group and mode bits
 * (ACLs are not looked at); the directory of a @c log.dest file exists.
 * Reads the user and group databases and the file system, nothing else.
 * @return 0, or -EINVAL with "file:line: message" in @p err, at the line
 * of the key concerned ("file: message (the default)" for a key left at
 * its default, "message (the default)" without a file).
 */
int cfg_check_system(const struct cfg *c, char *err, size_t errlen);

#endif
