/**
 * @file iter.h
 * THE resolution state machine, one per client question. Pure: no sockets,
 * no libuv, no clock. It is given the question, the time (struct iter_now,
 * wall and monotonic) and upstream replies (or timeouts), and returns
 * actions: send this query to this address over UDP or TCP, or done. The
 * driver (resolver/worker.c, or a test) loops:
 *
 * @code
 *	struct iter_req *r = iter_new(&env, qname, qtype, qclass, now);
 *	for (;;) {
 *		struct iter_action a;
 *		if (iter_next(r, now, &a) == ITER_DONE)
 *			break;			// iter_result(r) is filled
 *		... send a.pkt[0..a.len) to a.addr (a.tcp) ...
 *		... on each datagram from the network:
 *		if (iter_reply(r, from, pkt, len, now) == ITER_IGNORED)
 *			keep waiting;		// spoofed or mismatched
 *		... on timeout: iter_reply(r, NULL, NULL, 0, now);
 *		... on a socket error: iter_unreachable(r, why, now);
 *	}
 *	iter_free(r);
 * @endcode
 *
 * Every RRset it accepts goes into env->cache (in-bailiwick data only); the
 * answer for the client is r->result. With iter_set_trace, every step is
 * appended to r->trace.
 */
#ifndef RESOLVERD_ITER_H
#define RESOLVERD_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cache/cache.h"
#include "cache/infra.h"
#include "cache/nsec.h"
#include "resolver/deleg.h"
#include "resolver/limits.h"
#include "resolver/trace.h"
#include "resolver/validate.h"

/** The two clocks the iterator is given at every call: the wall clock for
 *  what is absolute (TTLs in the cache, signature validity), the
 *  monotonic clock for what is a duration (timeouts, RTTs, max_time). */
struct iter_now {
	uint64_t wall_ms; /**< milliseconds since the Unix epoch */
	uint64_t mono_ms; /**< milliseconds on a clock that never steps */
};

/** Scratch space the iterator writes while it handles one reply or one
 *  cache look-up: one per worker thread, passed in through iter_env, so
 *  nothing is hidden in static buffers. */
struct iter_scratch {
	uint8_t rdata[LIM_MSG_MAX]; /**< an RRset's rdata list */
	uint8_t sigs[LIM_MSG_MAX];  /**< its RRSIGs' rdata list */
	uint8_t entry[LIM_MSG_MAX]; /**< a cache entry copied out */
	uint8_t reply[LIM_MSG_MAX]; /**< a reply with its question restored */
};

/** Tunables, from the config (see struct cfg). */
struct iter_opts {
	unsigned max_sends;
	unsigned max_glueless;
	unsigned max_cname;
	unsigned max_depth;
	unsigned max_time_ms;
	bool qname_minimisation;
	bool use_0x20;
	bool query_loopback; /**< may ask 127/8 and ::1 when delegations
	                          point there (never 0/8, ::, multicast) */
	uint32_t min_ttl, max_ttl,
	    negative_ttl; /**< TTLs in answers, as the cache */
};

/** A forward zone: questions at or below @c cut.zone go to the forwarders
 *  in @c cut (recursion desired, answers accepted without AA). */
struct iter_forward {
	struct deleg cut;      /**< zone and forwarder addresses (with ports) */
	bool fallback_iterate; /**< all forwarders failed: iterate instead */
};

#define ITER_MAX_FORWARDS 16

/** What the iterator needs from the outside world. */
struct iter_env {
	struct cache *cache; /**< borrowed; where accepted data goes */
	struct infra *infra; /**< borrowed */
	const struct deleg_hints *hints; /**< borrowed */
	struct iter_opts opts;
	/** Random bytes (IDs, 0x20, exploration); unpredictable in the daemon,
	 *  scripted in tests. */
	void (*random)(void *buf, size_t len, void *arg);
	void *random_arg;
	uint16_t port; /**< upstream port, 53 (tests may change) */
	/** The secret of our client cookies (RFC 7873): each server gets
	 *  its own, a hash of this and its address. */
	uint64_t cookie_secret[2];
	const struct iter_forward *forwards; /**< borrowed; NULL or nforwards */
	unsigned nforwards;
	struct iter_scratch *scratch; /**< borrowed; one per thread */
	/** DNSSEC: the trust anchors (borrowed); NULL: no validation (data
	 *  is stored and answered as insecure, AD never set). */
	const struct ta_set *anchors;
	/** DNSSEC: where NSEC records that proved a negative answer secure
	 *  go (RFC 8198 aggressive use; borrowed); NULL: nowhere. */
	struct nsec_cache *nsec;
	struct val_limits val_limits; /**< caps per client question */
	/** DNSSEC: parsed public keys kept between checks (borrowed; one
	 *  set per thread); NULL: each check builds its key. */
	struct val_keys *val_keys;
};

enum iter_status {
	ITER_SEND = 0, /**< iter_next: send a.pkt; then wait */
	ITER_DONE,     /**< iter_next: finished, see result */
	ITER_ACCEPTED, /**< iter_reply: the reply was used */
	ITER_IGNORED,  /**< iter_reply: not ours (spoof check); keep waiting */
};

struct iter_action {
	uint8_t addr[16];
	uint8_t family; /**< AF_INET / AF_INET6 */
	uint16_t port;
	bool tcp;
	uint32_t timeout_ms;
	size_t len;
	uint8_t pkt[LIM_NAME_MAX + 128]; /**< the query, borrowed until reply */
};

/** Flags of a record in a result (the byte before each record). */
#define ITER_RR_AUTHORITY 0x01 /**< authority section (else answer) */
#define ITER_RR_DNSSEC                                   \
	0x02 /**< an RRSIG, NSEC or NSEC3 the client did \
	          not ask for: written only with DO */

/** The outcome, filled when iter_next() returns ITER_DONE. */
struct iter_result {
	uint8_t rcode;             /**< NOERROR, NXDOMAIN, SERVFAIL */
	uint16_t ancount, nscount; /**< records, DNSSEC ones included */
	bool failed;               /**< SERVFAIL with a reason */
	bool secure; /**< DNSSEC: every RRset of the answer is secure:
	                  AD for a client that asks (AD or DO) */
	/** The Extended DNS Error: of a failure (failed), or one said for
	 *  the client's information with an answer (an insecure one whose
	 *  zone uses an algorithm, digest or NSEC3 iteration count resolverd
	 *  does not validate: EDE 1, 2, 27); 0: none */
	uint16_t ede_code;
	char reason[200]; /**< for the EDE text and the log line */
	unsigned sends;   /**< upstream queries sent */
	/** The records: each [u8 flags][owner][type][class][ttl][rdlength]
	 *  [rdata], uncompressed, TTLs already clamped, answer records
	 *  before authority ones; rr_len bytes at rr (owned, grown as needed,
	 *  NULL when empty). */
	uint8_t *rr;
	size_t rr_len, rr_cap;
};

struct iter_req;

/** @return a new request, or NULL (ENOMEM / bad name). Owned by the caller. */
struct iter_req *iter_new(const struct iter_env *env, const uint8_t *qname,
    uint16_t qtype, uint16_t qclass, struct iter_now now);
void iter_free(struct iter_req *r);

/** Advance: fill @p a and return ITER_SEND, or return ITER_DONE. */
enum iter_status iter_next(
    struct iter_req *r, struct iter_now now, struct iter_action *a);

/** Checking disabled (the client's CD): a bogus answer is answered, not
 *  turned into SERVFAIL (it is still validated, and never marked secure).
 *  Call right after iter_new. */
void iter_set_cd(struct iter_req *r);

/** Refresh: the question is asked upstream even though the cache answers
 *  it (prefetch, a serve-stale refresh); the names, delegations and keys
 *  on the way still come from the cache. Call right after iter_new. */
void iter_set_refresh(struct iter_req *r);

/** Record every step in the request's trace (iter_trace): resolverctl
 *  trace and the page ask for it; other resolutions keep no trace, which
 *  would cost every miss its text. Call right after iter_new. */
void iter_set_trace(struct iter_req *r);

/** Feed what came back for the last ITER_SEND: a reply from @p from
 *  (sockaddr_in/in6), or a timeout (@p from and @p pkt NULL).
 *  @return ITER_ACCEPTED or ITER_IGNORED (then keep waiting). */
enum iter_status iter_reply(struct iter_req *r, const struct sockaddr *from,
    const uint8_t *pkt, size_t len, struct iter_now now);

/** The last ITER_SEND could not reach its server at all (no route, ICMP
 *  port unreachable, connection refused or reset): that address is not
 *  asked again for this question, no retransmission. @p why names the
 *  error, for the trace. */
void iter_unreachable(struct iter_req *r, const char *why, struct iter_now now);

/** Give up now (deadline in the driver, shutdown): result becomes SERVFAIL
 *  with @p reason. */
void iter_abort(struct iter_req *r, struct iter_now now, const char *reason);

const struct iter_result *iter_result(const struct iter_req *r);
/** Take the result of a finished request out of it (its records move, the
 *  request keeps the rest). Never NULL: out of memory, it is a SERVFAIL
 *  saying so. Owned by the caller: iter_result_free(). */
struct iter_result *iter_take_result(struct iter_req *r);
/** A SERVFAIL result with @p reason (never NULL, as above). */
struct iter_result *iter_result_failure(const char *reason);
/** iter_result_free(NULL) is a no-op. */
void iter_result_free(struct iter_result *res);
/** The client's question, as given to iter_new (lowercased). */
const uint8_t *iter_qname(const struct iter_req *r);
uint16_t iter_qtype(const struct iter_req *r);
const struct trace *iter_trace(const struct iter_req *r);

/** The deepest forward zone of @p env holding @p name, or NULL. */
const struct iter_forward *iter_find_forward(
    const struct iter_env *env, const uint8_t *name);
/** Replies ignored by the spoof check so far. */
unsigned iter_ignored(const struct iter_req *r);

#endif
