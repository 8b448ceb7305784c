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
#include <sys/socket.h>

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
	bool ad; /**< AD set: the client understands it (RFC 6840 5.7) */
	uint8_t edns_version;
	/** The client's COOKIE option (RFC 7873): its 8-byte client cookie
	 *  and any server cookie it sent back (8 to 40 bytes in all), in the
	 *  packet; NULL without one. */
	const uint8_t *cookie;
	uint8_t cookie_len;
	/** The server cookie to answer with (msg_server_cookie), when set. */
	uint8_t server_cookie[16];
	bool server_cookie_set;
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

/** The RCODE that answers verdict @p v of msg_check_query(): FORMERR,
 *  NOTIMP, REFUSED or BADVERS; SERVFAIL for MSG_OK and MSG_DROP. */
unsigned msg_verdict_rcode(enum msg_verdict v);

/**
 * Make the server cookie (RFC 9018: version 1, a timestamp, SipHash-2-4
 * of the client cookie, version, timestamp and the client's address under
 * @p secret) for a query that carried a client cookie, into
 * q->server_cookie. Nothing without a client cookie.
 */
void msg_server_cookie(struct msg_query *q, const struct sockaddr *client,
    const uint64_t secret[2], uint32_t now_s);

/* ------------------------------------------------------- responses
 *
 * A response is written in order: msg_put_head (header and the echoed
 * question), records (msg_put_rr), msg_put_opt last, then msg_set_counts.
 * Every function returns the new length, or 0 when @p cap is too small.
 */

/** Header and question of a response to @p q with @p rcode: ID, opcode,
 *  RD and CD echoed, QR and RA set, AA and AD clear, QDCOUNT 1, the other
 *  counts 0. */
size_t msg_put_head(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode);

/** Bytes msg_put_opt will need: 0 without EDNS. */
size_t msg_opt_size(const struct msg_query *q, const char *ede_text);

/** Append the OPT record at @p at (only when the client sent one): our
 *  payload size, the client's DO echoed, the upper bits of @p rcode, the
 *  COOKIE option (client cookie and server cookie) when the client sent a
 *  cookie, and an Extended DNS Error (@p ede_code, @p ede_text) when
 *  @p ede_text is not NULL; ARCOUNT is incremented. */
size_t msg_put_opt(uint8_t *out, size_t at, size_t cap,
    const struct msg_query *q, unsigned rcode, uint16_t ede_code,
    const char *ede_text);

/** Append one record: @p owner (uncompressed; written as the pointer to
 *  the question when it is the question's name), @p type, @p rclass,
 *  @p ttl, and its RDATA as @p rdl points at it: [u16 rdlength][rdata]
 *  (an rdata list element, or the tail of a full RR). */
size_t msg_put_rr(uint8_t *out, size_t at, size_t cap,
    const struct msg_query *q, const uint8_t *owner, uint16_t type,
    uint16_t rclass, uint32_t ttl, const uint8_t *rdl);

/** msg_put_rr() of a full uncompressed RR (owner, type, class, TTL,
 *  rdlength, rdata) of @p rrlen bytes. */
size_t msg_put_full_rr(uint8_t *out, size_t at, size_t cap,
    const struct msg_query *q, const uint8_t *rr, size_t rrlen);

/** Write the section counts of the response. */
void msg_set_counts(uint8_t *out, unsigned an, unsigned ns, unsigned ar);

/** A response that did not fit: head and OPT, TC set, sections empty. */
size_t msg_truncated(uint8_t *out, size_t cap, const uint8_t *pkt,
    const struct msg_query *q, unsigned rcode);

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
	bool edns;         /**< an OPT was sent */
	bool cookie_set;   /**< a COOKIE option was sent ... */
	uint8_t cookie[8]; /**< ... with this client cookie */
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
	const uint8_t *cookie; /**< COOKIE option data (RFC 7873), sent with
	                            EDNS: the client cookie (8 bytes) and the
	                            server's last cookie; NULL: none */
	size_t cookie_len;     /**< 8, or 16 to 40 */
};

/**
 * Write the query of @p spec into @p out (@p cap >= LIM_NAME_MAX + 128) and
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
	MSG_MATCH_COOKIE,       /**< its COOKIE option holds another client
	                             cookie than the one sent */
};

/** Does @p pkt (@p len bytes, from the address the query went to) answer
 *  the query @p sent? Compares ID, QR, QDCOUNT and the question byte for
 *  byte (the 0x20 case included), then, when a cookie was sent and the
 *  reply carries one, the client cookie (RFC 7873 5.3). A reply without a
 *  cookie matches: servers need not implement them. When @p server_cookie
 *  is not NULL it is set to the server cookie the reply carries (8 to 32
 *  bytes, length in @p server_cookie_len), or NULL. */
enum msg_match msg_match_reply(const uint8_t *pkt, size_t len,
    const struct msg_sent *sent, const uint8_t **server_cookie,
    size_t *server_cookie_len);

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
