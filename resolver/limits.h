/**
 * @file limits.h
 * Every hard cap and default bound of resolverd, in one place.
 *
 * Values marked "config" are defaults that resolverd.yaml can override
 * (see man/resolverd.yaml.5); the others are compile-time caps. The
 * numbers follow what Unbound, BIND, PowerDNS and Knot Resolver ship with,
 * as the comment beside each one says where they differ.
 * Header only: no code, so config/ and cache/ may include it.
 */
#ifndef RESOLVERD_LIMITS_H
#define RESOLVERD_LIMITS_H

/* --- DNS sizes (RFC 1035, RFC 6891, DNS Flag Day 2020) --- */
#define LIM_EDNS_BUFSIZE 1232  /**< advertised up and down */
#define LIM_UDP_NOEDNS   512   /**< client without EDNS */
#define LIM_MSG_MAX      65535 /**< largest DNS message (TCP) */
#define LIM_NAME_MAX     255   /**< wire length of a domain name */
#define LIM_LABELS_MAX   128   /**< labels in a name */

/* --- per client question (config: limits.*) --- */
/** config; upstream sends (Unbound max-sent-count) */
#define LIM_MAX_SENDS 32
/** config; NS-name look-ups (NXNS guard, MAX_TARGET_NX) */
#define LIM_MAX_GLUELESS   5
#define LIM_MAX_CNAME      11 /**< config; CNAME chain (max-query-restarts) */
#define LIM_MAX_DEPTH      10 /**< config; referrals followed per name */
#define LIM_MAX_TIME_MS    10000 /**< config; wall time per client question */
#define LIM_MAX_QMIN_STEPS 10    /**< minimised queries (MAX_MINIMISE_COUNT) */
/** nested NS-address look-ups (dependency depth) */
#define LIM_MAX_SUBQ_DEPTH  4
#define LIM_MAX_NS_PER_CUT  13  /**< NS names kept per zone cut */
#define LIM_MAX_ADDR_PER_NS 4   /**< addresses kept per NS name */
#define LIM_ITER_STEPS      200 /**< state-machine steps per question */

/* --- upstream --- */
#define LIM_UP_TIMEOUT_MS     800 /**< first try, before RTT is known */
#define LIM_UP_TIMEOUT_MIN_MS 50
#define LIM_UP_TIMEOUT_MAX_MS 3000
/** Sends to one server address per zone cut before it is given up on: a
 *  timeout is retried (with the server's backed-off timeout) unless the
 *  address has had this many tries. */
#define LIM_TRIES_PER_ADDR 3
#define LIM_INFRA_TTL      900 /**< s; infra-host-ttl */
#define LIM_EXPLORE_PERMIL 50  /**< 1 in 20 picks explores (Knot epsilon) */

/* --- cache (config: cache.*) --- */
#define LIM_CACHE_SIZE (64u << 20) /**< config; bytes */
#define LIM_MAX_TTL    86400       /**< config */
#define LIM_MIN_TTL    0           /**< config */
#define LIM_NEG_TTL    3600        /**< config; RFC 2308 cap */
#define LIM_BOGUS_TTL  60          /**< s a bogus answer is kept */
#define LIM_SERVE_STALE                           \
	86400 /**< config; s expired data is kept \
	           for serve-stale (RFC 8767) */
#define LIM_SERVE_STALE_MAX                            \
	259200           /**< config bound: RFC 8767 4 \
	                      suggests 1 to 3 days */
#define LIM_STALE_TTL 30 /**< TTL of a stale answer (RFC 8767) */
#define LIM_STALE_RETRY                         \
	30 /**< s between refresh attempts of a \
	        name answered stale */
#define LIM_PREFETCH_PCT                                           \
	10                   /**< prefetch in the last 10 % of the \
	                          original TTL */
#define LIM_CACHE_SHARDS 64  /**< lock shards */
#define LIM_CACHE_WALK   100 /**< hash chain walk cap (hash flooding) */

/* --- server side (config: tcp.*) --- */
/** A UDP listener's receive buffer: a burst of queries waits here while
 *  the loop is busy (the kernel default, ~200 small datagrams, lost 1 % of
 *  a 500-outstanding dnsperf run). */
#define LIM_UDP_RCVBUF   (4 << 20)
#define LIM_TCP_CLIENTS  256   /**< config; open TCP client connections */
#define LIM_TCP_IDLE_MS  10000 /**< config; idle TCP connection is closed */
#define LIM_TCP_PIPELINE 32    /**< queries in flight per TCP connection */
#define LIM_INFLIGHT     10000 /**< client questions being resolved */
#define LIM_WAITERS      64    /**< clients joined to one in-flight question */

/* --- config file --- */
#define LIM_CFG_LISTEN 16
#define LIM_CFG_ACCESS 64

#endif
