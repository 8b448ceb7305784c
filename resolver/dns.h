/**
 * @file dns.h
 * DNS basics every module shares: the numbers of types, classes, rcodes,
 * header flags and EDNS options; their names; and the helpers for names in
 * uncompressed wire form (length, comparison, lower case, is-under, labels,
 * presentation text with escapes, both ways).
 *
 * Pure: no sockets, no clock, no allocation. cache/ may include it (it is
 * the one file of resolver/ besides limits.h that cache/ and config/ may
 * use). A wire name here is a sequence of length-prefixed labels (each
 * 0..63 bytes) ending with the root label 0, at most LIM_NAME_MAX bytes;
 * compression pointers are never followed (names are stored expanded).
 */
#ifndef RESOLVERD_DNS_H
#define RESOLVERD_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "resolver/limits.h"

/** Resource record types (IANA registry). */
#define DNS_T_A          1
#define DNS_T_NS         2
#define DNS_T_CNAME      5
#define DNS_T_SOA        6
#define DNS_T_PTR        12
#define DNS_T_MX         15
#define DNS_T_TXT        16
#define DNS_T_AAAA       28
#define DNS_T_SRV        33
#define DNS_T_DNAME      39
#define DNS_T_OPT        41
#define DNS_T_DS         43
#define DNS_T_RRSIG      46
#define DNS_T_NSEC       47
#define DNS_T_DNSKEY     48
#define DNS_T_NSEC3      50
#define DNS_T_NSEC3PARAM 51
#define DNS_T_IXFR       251
#define DNS_T_AXFR       252
#define DNS_T_ANY        255

/** Classes. */
#define DNS_C_IN   1
#define DNS_C_CH   3
#define DNS_C_NONE 254
#define DNS_C_ANY  255

/** Response codes (4 bits in the header, 12 with EDNS). */
#define DNS_RCODE_NOERROR   0
#define DNS_RCODE_FORMERR   1
#define DNS_RCODE_SERVFAIL  2
#define DNS_RCODE_NXDOMAIN  3
#define DNS_RCODE_NOTIMP    4
#define DNS_RCODE_REFUSED   5
#define DNS_RCODE_YXDOMAIN  6
#define DNS_RCODE_BADVERS   16
#define DNS_RCODE_BADCOOKIE 23

/** Header. Flags are bits of the 16-bit word at offset 2. */
#define DNS_HDR_LEN      12
#define DNS_FLAG_QR      0x8000
#define DNS_FLAG_AA      0x0400
#define DNS_FLAG_TC      0x0200
#define DNS_FLAG_RD      0x0100
#define DNS_FLAG_RA      0x0080
#define DNS_FLAG_AD      0x0020
#define DNS_FLAG_CD      0x0010
#define DNS_OPCODE_QUERY 0

/** EDNS (RFC 6891): the DO bit in the OPT TTL's low 16 bits, and options. */
#define DNS_EDNS_DO     0x8000
#define DNS_OPT_COOKIE  10 /**< RFC 7873 */
#define DNS_OPT_EDE     15 /**< RFC 8914 */
#define DNS_OPT_PADDING 12 /**< RFC 7830 */

/** Extended DNS Error codes (RFC 8914) that resolverd sends. */
#define DNS_EDE_OTHER                   0
#define DNS_EDE_UNSUPPORTED_DNSKEY_ALG  1
#define DNS_EDE_UNSUPPORTED_DS_DIGEST   2
#define DNS_EDE_STALE_ANSWER            3
#define DNS_EDE_DNSSEC_INDETERMINATE    5
#define DNS_EDE_DNSSEC_BOGUS            6
#define DNS_EDE_SIGNATURE_EXPIRED       7
#define DNS_EDE_SIGNATURE_NOT_YET_VALID 8
#define DNS_EDE_DNSKEY_MISSING          9
#define DNS_EDE_RRSIGS_MISSING          10
#define DNS_EDE_NSEC_MISSING            12
#define DNS_EDE_CACHED_ERROR            13
#define DNS_EDE_PROHIBITED              18
#define DNS_EDE_NO_REACHABLE_AUTHORITY  22
#define DNS_EDE_NETWORK_ERROR           23
#define DNS_EDE_UNSUPPORTED_NSEC3_ITER  27

/* ------------------------------------------------------------ integers */

static inline uint16_t
dns_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t
dns_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static inline void
dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void
dns_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ------------------------------------------------------------- SipHash */

#define DNS_ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static inline void
dns_sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = DNS_ROTL(v[1], 13);
	v[1] ^= v[0];
	v[0] = DNS_ROTL(v[0], 32);
	v[2] += v[3];
	v[3] = DNS_ROTL(v[3], 16);
	v[3] ^= v[2];
	v[0] += v[3];
	v[3] = DNS_ROTL(v[3], 21);
	v[3] ^= v[0];
	v[2] += v[1];
	v[1] = DNS_ROTL(v[1], 17);
	v[1] ^= v[2];
	v[2] = DNS_ROTL(v[2], 32);
}

/**
 * SipHash-c-d (Aumasson, Bernstein) of @p len bytes under the 128-bit key
 * @p k: @p c compression rounds per word, @p d finalisation rounds. The
 * cache's hash tables use SipHash-1-3 (as Rust and CPython do), DNS Cookies
 * SipHash-2-4 (RFC 9018). Words are read in host order: a hash only has to
 * agree with itself within one process (and one machine, for cookies).
 */
static inline uint64_t
dns_siphash(const uint8_t *in, size_t len, const uint64_t k[2], int c, int d)
{
	uint64_t v[4] = {0x736f6d6570736575ULL ^ k[0],
	    0x646f72616e646f6dULL ^ k[1], 0x6c7967656e657261ULL ^ k[0],
	    0x7465646279746573ULL ^ k[1]};
	uint64_t m, b = (uint64_t)len << 56;
	const uint8_t *end = in + (len & ~(size_t)7);

	for (; in != end; in += 8) {
		memcpy(&m, in, 8);
		v[3] ^= m;
		for (int i = 0; i < c; i++)
			dns_sipround(v);
		v[0] ^= m;
	}
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)in[i] << (8 * i);
	v[3] ^= b;
	for (int i = 0; i < c; i++)
		dns_sipround(v);
	v[0] ^= b;
	v[2] ^= 0xff;
	for (int i = 0; i < d; i++)
		dns_sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/** murmur3's 64-bit finaliser (fmix64): a bijection that spreads every
 *  bit of @p x over the result. The caches mix keyed values with it. */
static inline uint64_t
dns_fmix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* --------------------------------------------------------------- names */

/** ASCII lower case of one byte (other bytes unchanged). */
static inline uint8_t
dns_lc(uint8_t ch)
{
	return (uint8_t)(ch + (((unsigned)ch - 'A' < 26u) << 5));
}

/** Lowercase the 8 ASCII bytes of @p x at once (bytes >= 0x80 unchanged):
 *  bit 7 of (x & 0x7f..) + 0x3f is "byte >= 'A'", of + 0x25 "byte > 'Z'";
 *  no byte sum carries into the next. */
static inline uint64_t
dns_lower8(uint64_t x)
{
	uint64_t h = x & 0x7f7f7f7f7f7f7f7fULL;
	uint64_t up = ~x &
	    ((h + 0x3f3f3f3f3f3f3f3fULL) ^ (h + 0x2525252525252525ULL)) &
	    0x8080808080808080ULL;

	return x | (up >> 2);
}

/** Copy the name of known-good length @p len lowercased, 8 bytes at a time
 *  (label length bytes are <= 63, below 'A', and stay as they are).
 *  @return len. The hot path's lower case. */
static inline size_t
dns_name_lower_n(uint8_t *dst, const uint8_t *src, size_t len)
{
	size_t i = 0;
	uint64_t w;

	if (len < 8) {
		for (; i < len; i++)
			dst[i] = dns_lc(src[i]);
		return len;
	}
	for (; i + 8 <= len; i += 8) {
		memcpy(&w, src + i, 8);
		w = dns_lower8(w);
		memcpy(dst + i, &w, 8);
	}
	if (i < len) { /* the last 8 bytes again, overlapping */
		memcpy(&w, src + len - 8, 8);
		w = dns_lower8(w);
		memcpy(dst + len - 8, &w, 8);
	}
	return len;
}

/** @return the wire length of the uncompressed name at @p n (2..255, or 1
 *  for the root), or 0 if it is malformed within @p max bytes (a label
 *  over 63 bytes, a compression pointer, longer than LIM_NAME_MAX). */
size_t dns_name_len(const uint8_t *n, size_t max);

/** Case-insensitive equality of two well-formed wire names. */
bool dns_name_eq(const uint8_t *a, const uint8_t *b);

/** Copy the well-formed @p src to @p dst lowercased. @return its length. */
size_t dns_name_lower(uint8_t *dst, const uint8_t *src);

/** true if @p name is @p zone or below it (case-insensitive). */
bool dns_name_under(const uint8_t *name, const uint8_t *zone);

/** true if @p name is strictly below @p zone: under it and not it. */
bool dns_name_below(const uint8_t *name, const uint8_t *zone);

/** The longest common ancestor of two well-formed names (at least the
 *  root): a pointer into @p a. */
const uint8_t *dns_name_common(const uint8_t *a, const uint8_t *b);

/** The key tag of a DNSKEY's rdata (RFC 4034 appendix B; algorithm 1's
 *  rule is not kept: it is obsolete). */
uint16_t dns_key_tag(const uint8_t *rdata, size_t len);

/** Number of labels, the root not counted ("www.example.com." is 3). */
unsigned dns_name_labels(const uint8_t *n);

/** The suffix of @p n made of its last @p keep labels (a pointer into n). */
const uint8_t *dns_name_suffix(const uint8_t *n, unsigned keep);

/** The parent of @p n (n itself for the root). */
static inline const uint8_t *
dns_name_parent(const uint8_t *n)
{
	return n[0] ? n + 1 + n[0] : n;
}

/**
 * Canonical DNS name order (RFC 4034 6.1): compare label by label from the
 * root, each label as lowercased bytes, a shorter label sorting first.
 * @return <0, 0 or >0.
 */
int dns_name_cmp(const uint8_t *a, const uint8_t *b);

/**
 * Write @p name as presentation text ("www.example.com.", "." for the
 * root), lowercased, with RFC 1035 escapes: "\." and "\\" inside labels,
 * "\DDD" for bytes outside printable ASCII and for space, quote, '(', ')',
 * ';', '@' and '$'. Truncated to fit @p cap (always NUL-terminated when
 * cap > 0). @return the length the full text needs (like snprintf).
 */
size_t dns_name_to_text(char *out, size_t cap, const uint8_t *name);

/** Longest presentation text of a name, with its NUL ("\DDD" per byte). */
#define DNS_NAME_TEXT_MAX (LIM_NAME_MAX * 4 + 2)

/**
 * Parse presentation text ("example.com", "example.com.", ".", with "\."
 * and "\DDD" escapes; relative names are taken as absolute) into a
 * lowercased wire name.
 * @return its wire length, or 0 if malformed (an empty label, a label over
 * 63 bytes, a name over LIM_NAME_MAX, a bad escape).
 */
size_t dns_name_from_text(uint8_t out[LIM_NAME_MAX], const char *text);

/* ------------------------------------------------------------- mnemonics */

/** Room for any type or class mnemonic, "TYPE65535" included. */
#define DNS_MNEMONIC_MAX 16

/** The mnemonic of @p type ("AAAA"), or "TYPEn" (RFC 3597) written into
 *  @p buf (DNS_MNEMONIC_MAX bytes). @return buf or a static string. */
const char *dns_type_str(uint16_t type, char buf[DNS_MNEMONIC_MAX]);

/** Parse a type mnemonic (any case) or "TYPEn". @return 0 or -EINVAL. */
int dns_type_from_str(const char *s, uint16_t *type);

/** The mnemonic of a class ("IN", "CH", "ANY"), or "CLASSn" in @p buf. */
const char *dns_class_str(uint16_t rclass, char buf[DNS_MNEMONIC_MAX]);

/** The mnemonic of an rcode ("NXDOMAIN", "BADVERS"), or "RCODE?" for a
 *  value without one. A static string. */
const char *dns_rcode_str(unsigned rcode);

#endif
