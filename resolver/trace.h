/**
 * @file trace.h
 * The record of one resolution: every step the iterator takes, in order.
 * Pure. The iterator appends; `resolverctl trace` (and the SERVFAIL log
 * line) render it. Steps live in a growable array owned by the trace.
 */
#ifndef RESOLVERD_TRACE_H
#define RESOLVERD_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum trace_kind {
	TRACE_START,    /**< question taken up (detail: why) */
	TRACE_CUT,      /**< zone cut chosen (cache or hints), ttl */
	TRACE_CACHE,    /**< answered from cache at this step */
	TRACE_SEND,     /**< query sent */
	TRACE_REFERRAL, /**< referral received: zone, NS names */
	TRACE_GLUE,     /**< glue accepted or rejected, and why */
	TRACE_ANSWER,   /**< answer received */
	TRACE_CNAME,    /**< CNAME followed */
	TRACE_NXDOMAIN,
	TRACE_NODATA,
	TRACE_LAME, /**< server lame for zone (why) */
	TRACE_TIMEOUT,
	TRACE_TC,      /**< truncated: retry over TCP */
	TRACE_EDNS,    /**< EDNS fallback */
	TRACE_IGNORED, /**< reply ignored (spoof check) */
	TRACE_QMIN,    /**< QNAME minimisation step or fallback */
	TRACE_SUBQ,    /**< sub-question started/finished (NS address) */
	TRACE_FAIL,    /**< resolution failed: reason */
	TRACE_DONE,    /**< finished: rcode */
	TRACE_DNSSEC,  /**< a step of the chain of trust; rtt_ms holds the
	                    state it ended in (enum val_state) */
};

struct trace_step {
	uint64_t t_ms; /**< since the resolution began */
	uint8_t kind;  /**< enum trace_kind */
	uint8_t depth; /**< sub-question nesting, 0 = client's */
	bool tcp;
	uint8_t family; /**< of addr: AF_INET/AF_INET6 or 0 */
	uint16_t qtype;
	uint16_t port; /**< of addr; 0: 53 */
	uint32_t
	    rtt_ms; /**< SEND outcome RTT, or remaining TTL for CACHE/CUT */
	uint8_t addr[16];
	char zone[80];    /**< zone cut, presentation, maybe truncated */
	char qname[80];   /**< name asked / concerned */
	char detail[240]; /**< free text */
};

struct trace {
	struct trace_step *steps; /**< owned; malloc'd, grows */
	size_t n, cap;
	uint64_t start_ms;
	bool overflow; /**< steps were dropped (cap TRACE_MAX) */
};

#define TRACE_MAX 512

void trace_init(struct trace *t, uint64_t now_ms);
void trace_free(struct trace *t);
/** Append a step; returns it (zeroed but for kind/t_ms/depth) or NULL when
 *  full or out of memory (the trace then notes overflow). */
struct trace_step *trace_add(
    struct trace *t, uint64_t now_ms, enum trace_kind kind, unsigned depth);
/** The plural ending of a count: "%u record%s", n, trace_s(n) reads
 *  "1 record", "2 records", "0 records". */
static inline const char *
trace_s(unsigned long long n)
{
	return n == 1 ? "" : "s";
}

/** The name of a step kind ("referral"). */
const char *trace_kind_str(enum trace_kind k);
/** Total time (ms, the last step's) and upstream queries (SEND steps). */
void trace_summary(const struct trace *t, uint64_t *total_ms, unsigned *sends);
/** Render as an indented text tree, one line per step (time since the
 *  start, then indentation by sub-question and role: zone cut, query sent,
 *  what came back), ending with "total N ms, M upstream queries". */
void trace_print_text(FILE *out, const struct trace *t);
/** Render as JSON lines, one object per step. */
void trace_print_json(FILE *out, const struct trace *t);
/** Render the delegation path as a Graphviz digraph (`dot -Tsvg`): zone
 *  cuts (ellipses), servers asked (boxes), referrals, answers, and the
 *  failures (red). */
void trace_print_dot(FILE *out, const struct trace *t);

/** Write @p s as a JSON string: quoted, with quotes, backslashes, control
 *  characters and bytes beyond ASCII escaped (shared by the dump). */
void trace_json_str(FILE *out, const char *s);

#endif
