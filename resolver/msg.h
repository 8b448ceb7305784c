/**
 * @file msg.h
 * DNS wire helpers, pure (no sockets, no libuv, no clock, no allocation):
 * check a client query on the raw wire, build error replies and the frame of
 * answers (header, question, OPT), and (in the resolution issue) build
 * upstream queries and classify upstream responses.
 */
#ifndef RESOLVERD_MSG_H
#define RESOLVERD_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "resolver/dns.h"

/** Verdict of msg_check_query(). */
enum msg_verdict {
	MSG_OK = 0, /**< well-formed query: resolve it */
	MSG_DROP,   /**< no reply at all (QR set, or no readable header) */
	MSG_REPLY_FORMERR, /**< reply FORMERR (QDCOUNT != 1, garbled) */
	MSG_REPLY_NOTIMP,  /**< reply NOTIMP (opcode not QUERY) */
	MSG_REPLY_REFUSED, /**< reply REFUSED (AXFR/IXFR, class not IN/CH/ANY)
	                    */
	MSG_REPLY_BADVERS, /**< reply BADVERS (EDNS version != 0) */
};

/** A checked client query. Pointers point into the packet it was read from. */
struct msg_query {
	uint16_t id;
	uint8_t opcode;
	bool rd, cd;
	const uint8_t *qname; /**< wire name at offset 12 of the packet */
	size_t qname_len;     /**< wire length, 2..255 */
	uint16_t qtype, qclass;
	size_t question_end; /**< offset just past the question */
	bool edns;           /**< an OPT RR was present */
	uint16_t udp_size;   /**< client's EDNS size (>=512) or 512 */
	bool do_bit;
	uint8_t edns_version;
};

/**
 * Check @p pkt of @p len bytes as a client query, before anything else.
 * QR set -> MSG_DROP; shorter than a header -> MSG_DROP; opcode != QUERY ->
 * MSG_REPLY_NOTIMP; QDCOUNT != 1, a question that does not parse, compression
 * in the question, ANCOUNT/NSCOUNT != 0, more than one OPT or a garbled
 * additional section -> MSG_REPLY_FORMERR; AXFR/IXFR -> MSG_REPLY_REFUSED.
 * Fills @p q as far as it could parse (always id and opcode when a header was
 * read). No allocation.
 */
enum msg_verdict msg_check_query(
    const uint8_t *pkt, size_t len, struct msg_query *q);

/**
 * Build an error reply with @p rcode to the query @p pkt (already checked by
 * msg_check_query, which filled @p q): the header (ID, opcode, RD echoed; QR
 * and RA set), the question echoed when it parsed (q->question_end != 0), an
 * OPT RR when the client sent one (rcode 16 BADVERS goes in its extended
 * rcode), and, if @p ede_text is not NULL, an Extended DNS Error option
 * (RFC 8914) with @p ede_code and that text (only when the client sent an OPT).
 * @return bytes written to @p out, or 0 if @p cap is too small.
 */
size_t msg_error_reply(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode, uint16_t ede_code,
    const char *ede_text);

#endif
