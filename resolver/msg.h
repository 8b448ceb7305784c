/**
 * @file msg.h
 * The one place that writes or checks DNS wire format. Pure (no sockets,
 * no libuv, no clock): check a client query on the raw wire; write the
 * frame of responses (header, question, OPT with EDE and cookies) and their
 * records; build upstream queries; match a reply to the query it answers,
 * with the reason when it does not; scrub a parsed reply of what no peer
 * resolver accepts. Only msg_scrub allocates (through ldns).
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

/* ------------------------------------------------------- upstream */

/** What an upstream query was, kept to match its reply. */
struct msg_sent {
	uint16_t id;
	uint8_t q[LIM_NAME_MAX + 4]; /**< the question as sent: the name with
	                                  its 0x20 case, type, class */
	size_t qlen;
	uint8_t name[LIM_NAME_MAX]; /**< the name, lowercased */
	uint16_t qtype, qclass;
	bool edns; /**< an OPT was sent */
};

/** How to build one upstream query. */
struct msg_query_spec {
	const uint8_t *name; /**< wire name (any case) */
	uint16_t qtype, qclass;
	bool rd;               /**< recursion desired (to forwarders) */
	bool edns;             /**< OPT with LIM_EDNS_BUFSIZE */
	bool do_bit;           /**< DO in the OPT */
	const uint8_t *random; /**< 32 random bytes: the ID, then one bit per
	                            byte of the name for its letter case */
	bool use_0x20;         /**< randomise the letter case (RFC draft
	                            "0x20") */
};

/**
 * Write the query of @p spec into @p out (@p cap >= LIM_NAME_MAX + 64) and
 * what must match in its reply into @p sent. @return its length.
 */
size_t msg_build_query(uint8_t *out, size_t cap,
    const struct msg_query_spec *spec, struct msg_sent *sent);

/** Why a datagram is not the reply to a query (MSG_MATCH_OK: it is). */
enum msg_match {
	MSG_MATCH_OK = 0,
	MSG_MATCH_SHORT,        /**< shorter than a header and the question */
	MSG_MATCH_ID,           /**< another ID */
	MSG_MATCH_NOT_RESPONSE, /**< QR clear */
	MSG_MATCH_QDCOUNT,      /**< not exactly one question */
	MSG_MATCH_CASE,         /**< the question differs only in letter case */
	MSG_MATCH_QUESTION,     /**< another question */
};

/** Does @p pkt (@p len bytes, from the address the query went to) answer
 *  the query @p sent? Compares ID, QR, QDCOUNT and the question byte for
 *  byte (the 0x20 case included). */
enum msg_match msg_match_reply(
    const uint8_t *pkt, size_t len, const struct msg_sent *sent);

/** Text for the trace: "wrong ID", "question differs only in case" ... */
const char *msg_match_str(enum msg_match m);

struct ldns_struct_pkt;

/** What msg_scrub() removed or changed, by reason. */
struct msg_scrub_stats {
	unsigned wrong_class; /**< a class other than the question's */
	unsigned bad_rdata;   /**< RDATA of the wrong length or form */
	unsigned duplicates;  /**< the same RR again (RFC 2181 5) */
	unsigned ttl_zeroed;  /**< TTL with the top bit set (RFC 2181 8) */
};

/**
 * Scrub a parsed upstream reply of what no peer resolver accepts, in every
 * section: records of another class than @p qclass are removed; records
 * whose RDATA has the wrong length or form for their type (an A that is
 * not 4 bytes, an AAAA not 16, an NS, CNAME, DNAME or PTR that is not one
 * name, an SOA without its 7 fields, an MX without its 2) are removed;
 * repeats of a record are removed (RFC 2181 5: an RRset has no duplicates);
 * a TTL with its top bit set is taken as 0 (RFC 2181 8).
 * @return the number of records removed.
 */
unsigned msg_scrub(
    struct ldns_struct_pkt *pkt, uint16_t qclass, struct msg_scrub_stats *st);

#endif
