/**
 * @file deleg.h
 * Zone cuts: the NS names of a zone, their addresses, and which server to
 * ask next. Pure: no sockets, no clock (now_ms is a parameter).
 *
 * A struct deleg is a plain value (no pointers), embedded in the iterator's
 * per-question frame; building one from the cache copies the data out.
 */
#ifndef RESOLVERD_DELEG_H
#define RESOLVERD_DELEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "resolver/limits.h"

enum deleg_addr_state {
	DELEG_ADDR_NEW = 0,
	DELEG_ADDR_TRIED, /**< asked once in this frame */
	DELEG_ADDR_BAD,   /**< timed out, lame or broken here: skip */
};

struct deleg_addr {
	uint8_t ip[16]; /**< v4 in the first 4 bytes */
	uint8_t family; /**< AF_INET or AF_INET6 */
	uint8_t state;  /**< enum deleg_addr_state */
	uint8_t tries;
	bool sibling;  /**< glue outside the bailiwick of the server that gave
	                    it (sibling glue): used only as a last resort,
	                    when the cut has nothing else (deleg.use_sibling) */
	uint16_t port; /**< 0: the iterator's default (53) */
};

enum deleg_ns_flags {
	DELEG_NS_GLUE = 1,   /**< addresses came with the referral */
	DELEG_NS_LOOKED = 2, /**< an address look-up was started */
	DELEG_NS_FAILED = 4, /**< the look-up failed */
};

struct deleg_ns {
	uint8_t name[LIM_NAME_MAX]; /**< wire, lowercased */
	uint8_t flags;
	uint8_t naddr;
	struct deleg_addr addr[LIM_MAX_ADDR_PER_NS];
};

struct deleg {
	uint8_t zone[LIM_NAME_MAX]; /**< wire, lowercased */
	uint8_t nns;
	bool from_cache;
	bool from_hints;
	bool forward;     /**< servers are forwarders (RD=1) */
	bool use_sibling; /**< sibling glue may be asked (last resort) */
	uint32_t ttl;     /**< remaining TTL of the NS set */
	struct deleg_ns ns[LIM_MAX_NS_PER_CUT];
};

/** Root hints: a delegation for "." parsed once at start. */
struct deleg_hints {
	struct deleg root;
};

/** Parse a zone-format hints file (NS and A/AAAA records for the root).
 *  @return 0, or -EINVAL with "file:line: message" in err. */
int deleg_hints_load(
    struct deleg_hints *h, const char *path, char *err, size_t errlen);
/** The IANA root servers, built in. */
void deleg_hints_builtin(struct deleg_hints *h);

/** Reset @p d to an empty cut for @p zone. */
void deleg_init(struct deleg *d, const uint8_t *zone);
/** Add NS name @p ns (wire); @return its index or -1 when full/duplicate
 *  (the duplicate's index is returned as-is). */
int deleg_add_ns(struct deleg *d, const uint8_t *ns);
/** Add an address for NS @p idx (ignored when full or duplicate).
 *  @return true if added. */
bool deleg_add_addr(struct deleg *d, int idx, const uint8_t *ip, int family);
/** Find NS by name; -1 if absent. */
int deleg_find_ns(const struct deleg *d, const uint8_t *ns);

/**
 * Fill @p d with the deepest cached zone cut at or above @p name: the NS
 * RRset of any rank, and for each NS name the cached A/AAAA RRsets of any
 * rank. Falls back to the hints when no NS set is cached.
 * @return true if it came from the cache, false if from the hints.
 */
bool deleg_from_cache(struct deleg *d, struct cache *c,
    const struct deleg_hints *h, const uint8_t *name, uint16_t rclass,
    uint64_t now_ms);

/** Add the cached addresses (A, AAAA, any rank) of every NS name beside
 *  those it has (glue), so that when one fails the other is tried: the
 *  parent's glue and the child's own address for a name may differ. */
void deleg_fill_addrs(
    struct deleg *d, struct cache *c, uint16_t rclass, uint64_t now_ms);

/**
 * Choose the next server to ask: among addresses not BAD and not lame for
 * the zone (per infra), the one with the lowest smoothed RTT (unknown RTT
 * counts as DELEG_UNKNOWN_RTT), preferring untried ones; with probability
 * LIM_EXPLORE_PERMIL/1000 (from @p rnd) a random eligible one instead.
 * @return true and sets *ns_idx, *addr_idx; false if none is eligible.
 */
bool deleg_pick(const struct deleg *d, struct infra *infra, uint64_t now_ms,
    uint32_t rnd, int *ns_idx, int *addr_idx);

#define DELEG_UNKNOWN_RTT 200

/** A forward zone's cut: @p zone (presentation) and @p n addresses with
 *  ports, as struct sockaddr_storage. @return 0 or -EINVAL. */
int deleg_forward(struct deleg *d, const char *zone,
    const struct sockaddr_storage *addrs, unsigned n);

/** Count addresses not BAD. */
unsigned deleg_usable(const struct deleg *d);

/** Addresses of NS @p i that are not sibling glue. */
unsigned deleg_ns_addrs(const struct deleg *d, int i);

#endif
