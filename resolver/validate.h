/**
 * @file validate.h
 * The checks of a DNSSEC validator (RFC 4033-4035, 5155, 6840): a DNSKEY
 * RRset against DS records or trust anchor keys, an RRset against trusted
 * keys, and the proofs of absence (NSEC and NSEC3) of NXDOMAIN, NODATA,
 * wildcard answers and missing DS records. The chain walk that decides
 * which DS and DNSKEY to fetch is the caller's (the iterator): it calls
 * these, zone by zone, with what it fetched.
 *
 * Pure: no sockets, no clock (`now` is seconds since the epoch, given),
 * no global state; functions may run in several threads at once. The
 * ldns lists given are only read (records handed to ldns's verification
 * are copies), so one list may be shared by threads that only read it.
 * Every digest and signature check is ldns's (with OpenSSL).
 *
 * Work is bounded per client question by a struct val_budget that every
 * function charges: a signature verification, an NSEC3 hash. When a cap
 * is reached the outcome is BOGUS (EDE 6, "validation cap max_sig_checks
 * (32) reached at example.") and stays so for every later call with the
 * same budget (KeyTrap, CVE-2023-50387; NSEC3 hash floods, CVE-2023-50868).
 *
 * Names are uncompressed wire names (dns.h). A `zone` is the zone whose
 * keys sign the data: the RRSIG signer name must equal it.
 */
#ifndef RESOLVERD_VALIDATE_H
#define RESOLVERD_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <ldns/ldns.h>

#include "resolver/anchors.h"
#include "resolver/dns.h"

/* Caps per client question (to move to limits.h). */
/** signature verifications (Knot KR_VLD_LIMIT_CRYPTO_DEFAULT; KeyTrap) */
#define VAL_MAX_SIG_CHECKS 32
/** NSEC3 owner-name hash computations */
#define VAL_MAX_NSEC3_HASHES 128
/** NSEC3 iterations beyond which a zone is insecure (RFC 9276 3.2; Knot,
 *  PowerDNS: 50) */
#define VAL_MAX_NSEC3_ITERATIONS 50
/** DNSKEYs tried for one RRSIG's key tag and algorithm, and per DS */
#define VAL_MAX_KEYS_PER_TAG 4

/** What validation concluded (RFC 4033 5). */
enum val_state {
	VAL_INDETERMINATE = 0, /**< not decided (no trust anchor, not run) */
	VAL_INSECURE,          /**< provably unsigned, or unsupported */
	VAL_SECURE,            /**< verified from a trust anchor */
	VAL_BOGUS,             /**< should verify and does not */
};

/** "indeterminate", "insecure", "secure", "bogus" (static strings). */
const char *val_state_str(enum val_state s);

struct val_limits {
	unsigned max_sig_checks;       /**< default VAL_MAX_SIG_CHECKS */
	unsigned max_nsec3_hashes;     /**< default VAL_MAX_NSEC3_HASHES */
	unsigned max_nsec3_iterations; /**< default VAL_MAX_NSEC3_ITERATIONS */
	unsigned max_keys_per_tag;     /**< default VAL_MAX_KEYS_PER_TAG */
};

/** Public keys parsed for signature checks, kept between checks so that a
 *  key used again is not built again (ldns builds an ECDSA key from the
 *  DNSKEY twice per check: a third of a validated miss). ECDSA keys
 *  (algorithms 13 and 14) only; a set belongs to one thread. All zero is
 *  an empty set; val_keys_clear() frees what it holds. */
#define VAL_KEYS_MAX 32
struct val_keys {
	struct {
		uint8_t alg;
		uint8_t len;
		uint8_t data[96]; /**< the DNSKEY's public key field */
		void *pkey;       /**< EVP_PKEY *, owned */
	} slot[VAL_KEYS_MAX];
	unsigned next;         /**< the slot to reuse next */
	uint64_t hits, builds; /**< keys found, keys built */
	/** ldns_buffer *s kept between checks: the signed data, the
	 *  canonical records before they are sorted, the DER signature */
	void *signed_data, *records, *der;
	/** EVP_MD *s fetched once (SHA-256, SHA-384): OpenSSL 3 looks the
	 *  digest up in its provider store on every use of EVP_sha256() */
	void *sha256, *sha384;
	/** Signatures verified lately, kept byte for byte: the data signed,
	 *  the signature and the key (a check with all three the same would
	 *  verify again). The SOA and the apex NSEC of a zone come back in
	 *  every negative answer from it, as Unbound and Knot Resolver keep
	 *  RRsets once checked. Made on first use; see check_sig. */
	struct val_memo *memo;
	uint64_t memo_hits; /**< checks answered from memo */
};

/** Free every key of @p k and empty it (NULL: nothing). */
void val_keys_clear(struct val_keys *k);

/** The work done for one client question so far, against its limits.
 *  One per client question (not shared between threads). */
struct val_budget {
	/** borrowed, or NULL: every check builds its key */
	struct val_keys *keys;
	struct val_limits lim;
	unsigned sig_checks;   /**< signature verifications done */
	unsigned nsec3_hashes; /**< NSEC3 hashes computed */
	bool exhausted;        /**< a cap was reached: everything is bogus */
	const char *cap; /**< the cap reached ("max_sig_checks"), or NULL */
};

/** Start a budget with @p lim (NULL: the defaults; a field 0: its default). */
void val_budget_init(struct val_budget *b, const struct val_limits *lim);

#define VAL_WHY_MAX 200

/** The result of one check. */
struct val_outcome {
	enum val_state state;
	/** DNS_EDE_*: meaningful when BOGUS, or INSECURE for a reason
	 *  (1 unsupported DNSKEY algorithm, 2 unsupported DS digest, 27 NSEC3
	 *  iterations); 0 otherwise. */
	uint16_t ede;
	/** Why, for the EDE text and the log: names the zone, the RRset and
	 *  the key tag ("RRSIG A www.example. by key 12345: signature
	 *  expired at 2026-01-01T00:00:00Z"); also set when SECURE. */
	char why[VAL_WHY_MAX];
	/** The most a TTL derived from what was verified may be: the minimum
	 *  over the signatures used of min(original TTL, expiration - now);
	 *  UINT32_MAX if no signature was used. */
	uint32_t ttl_cap;
	/** Key tag of the key that verified (SECURE), or of the RRSIG or DS
	 *  the failure is about; 0 if none. */
	uint16_t key_tag;
	/** A proof of absence that is SECURE: bit i set when record i of the
	 *  authority section given (the first 32) is an NSEC whose signature
	 *  verified in it: what an aggressive NSEC cache may keep (RFC
	 *  8198); 0 otherwise. */
	uint32_t nsec_verified;
};

/* ------------------------------------------------------------ helpers */

/** true if DNSKEY/RRSIG algorithm @p alg is validated: 5, 7, 8, 10, 13,
 *  14, 15, 16. Not 1 (RSAMD5), 3, 6 (DSA): RFC 8624 says MUST NOT; not 12
 *  (GOST): not in this ldns. Data signed only with others is insecure. */
bool val_alg_supported(uint8_t alg);

/** true if DS digest type @p digest is validated: 1 (SHA-1), 2 (SHA-256),
 *  4 (SHA-384). Not 3 (GOST). */
bool val_digest_supported(uint8_t digest);

/** The key tag of a DNSKEY record (RFC 4034 appendix B), 0 if it is not
 *  one. */
uint16_t val_key_tag(const ldns_rr *dnskey);

/**
 * Pick out of @p section the RRset of (@p owner, @p type) and the RRSIGs
 * covering it (same owner, type covered @p type).
 * @param rrset receives a new list (may be empty); @param sigs likewise.
 *   Both hold pointers to the records of @p section (borrowed: valid while
 *   @p section is): free them with ldns_rr_list_free(), not deep_free.
 * @return 0, or -ENOMEM (then both are NULL).
 */
int val_split(const ldns_rr_list *section, const uint8_t *owner, uint16_t type,
    ldns_rr_list **rrset, ldns_rr_list **sigs);

/* --------------------------------------------------------------- keys */

/**
 * Validate the DNSKEY RRset of @p zone against its DS records (RFC 4035
 * 5.2): SECURE when a DS of a supported algorithm and digest matches a
 * DNSKEY of @p dnskeys (zone key flag, protocol 3, not revoked, key tag,
 * algorithm and digest equal) whose RRSIG over the DNSKEY RRset verifies.
 * Only the DS records with the strongest supported digest type present are
 * used, as Unbound does (a SHA-1 DS is ignored beside a SHA-256 one,
 * RFC 4509 3). INSECURE when no DS has a supported algorithm and digest
 * (EDE 1, or 2 if only the digests are unsupported; RFC 6840 5.2).
 * BOGUS: EDE 9 no DNSKEY matches a DS, 10 no RRSIG by a matching key, 7/8
 * expired/not yet valid, 6 otherwise (and no DS at all).
 * @param zone owner of the DNSKEY and DS records.
 * @param dnskeys the DNSKEY RRset (only DNSKEY records of @p zone). May be
 *   NULL to learn whether the DS RRset alone makes the zone INSECURE (no
 *   need to fetch the DNSKEYs then); the outcome is otherwise BOGUS, EDE 9.
 * @param sigs RRSIGs that may cover it (others are ignored).
 * @param ds the DS RRset of @p zone, already validated by the caller.
 * @param out filled in every case. The keys of @p dnskeys are trusted for
 *   @p zone when out->state is VAL_SECURE.
 */
void val_dnskey_by_ds(const uint8_t *zone, const ldns_rr_list *dnskeys,
    const ldns_rr_list *sigs, const ldns_rr_list *ds, uint64_t now,
    struct val_budget *b, struct val_outcome *out);

/**
 * The same with trust anchor DNSKEYs instead of DS records: an anchor key
 * (zone key flag, protocol 3, supported algorithm) must be in @p dnskeys
 * (same flags but REVOKE, protocol, algorithm, public key; else EDE 9) and
 * sign the RRset (else EDE 10). INSECURE, EDE 1, when no anchor key has a
 * supported algorithm.
 */
void val_dnskey_by_keys(const uint8_t *zone, const ldns_rr_list *dnskeys,
    const ldns_rr_list *sigs, const ldns_rr_list *anchor_keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out);

/**
 * Validate the DNSKEY RRset of @p ta->zone with a trust anchor: its DS
 * records (val_dnskey_by_ds), then its DNSKEY records (val_dnskey_by_keys).
 * SECURE if either is; else BOGUS if either is (the first bogus outcome);
 * else INSECURE.
 */
void val_dnskey_by_anchor(const struct ta_anchor *ta,
    const ldns_rr_list *dnskeys, const ldns_rr_list *sigs, uint64_t now,
    struct val_budget *b, struct val_outcome *out);

/* ------------------------------------------------------------- RRsets */

/**
 * Validate one RRset with trusted keys (RFC 4035 5.3). An RRSIG counts when
 * its owner, class and type covered are the RRset's; it must then have the
 * signer @p zone, the algorithm and key tag of a key in @p keys (zone key,
 * protocol 3, not revoked; at most max_keys_per_tag keys tried), a labels
 * field not above the owner's labels, inception <= now <= expiration
 * (RFC 1982 serial arithmetic around now), and verify over the RRset with
 * the original TTL. One verifying RRSIG suffices; out->ttl_cap is then
 * min(original TTL, expiration - now).
 * BOGUS: EDE 10 no RRSIG at all, 9 no key with the RRSIG's tag, 7/8
 * expired/not yet valid, 6 otherwise (the failure of the RRSIG that got
 * furthest is reported). INSECURE, EDE 1, when the RRSIGs fail only for
 * their algorithm and no key of @p keys has a supported one (a zone that
 * val_dnskey_by_ds would already have called insecure).
 * @param rrset records of one owner, type and class (TTLs may differ).
 * @param sigs RRSIGs that may cover it (others are ignored).
 * @param keys the DNSKEYs trusted for @p zone (a validated DNSKEY RRset).
 * @param wildcard_labels set to the RRSIG labels value when the verifying
 *   RRSIG says the RRset was expanded from a wildcard (labels below the
 *   owner's, not counting a leading "*" label), else 0. The answer is then
 *   SECURE only with val_wildcard() also SECURE. When NULL, an expanded
 *   RRset is BOGUS (EDE 6).
 */
void val_rrset(const uint8_t *zone, const ldns_rr_list *rrset,
    const ldns_rr_list *sigs, const ldns_rr_list *keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out, unsigned *wildcard_labels);

/* ---------------------------------------------------- proofs of absence
 *
 * Each takes the authority section as the server gave it (SOA, NSEC or
 * NSEC3 records and their RRSIGs; other records are ignored, as are NSEC
 * and NSEC3 records whose owner is not under @p zone), the zone and its
 * trusted keys. It verifies the signatures of the NSEC/NSEC3 RRsets it
 * relies on (charging the budget; each at most once per call) and decides.
 * NSEC records are used if there are any, else NSEC3 records.
 *
 * NSEC3 (RFC 5155 8, RFC 9276): records must use one parameter set (the
 * first usable record's; records with other parameters, unknown flags or
 * an unknown hash algorithm are ignored); iterations above
 * max_nsec3_iterations make the answer INSECURE, EDE 27, once such a
 * record's signature verifies; only records of an unknown hash algorithm
 * make it INSECURE (EDE 0). Each hash is charged to the budget.
 *
 * A missing or insufficient proof is BOGUS, EDE 12, with a why naming what
 * was not proven ("no NSEC proves that *.example. does not exist"); a bad
 * signature on a record relied on is BOGUS with that signature's EDE.
 * out->ttl_cap is the minimum over the NSEC/NSEC3 RRsets used.
 */

/**
 * NXDOMAIN for @p qname. NSEC: a record covering @p qname and one covering
 * the wildcard at its closest encloser. NSEC3 (RFC 5155 8.4): the closest
 * encloser proof (a matching NSEC3 for the closest encloser, a covering
 * one for the next closer name) and a covering NSEC3 for the wildcard; an
 * opt-out NSEC3 covering the next closer name makes it INSECURE.
 */
void val_nxdomain(const uint8_t *qname, const ldns_rr_list *authority,
    const uint8_t *zone, const ldns_rr_list *keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out);

/**
 * NODATA for (@p qname, @p qtype). NSEC: a record matching qname without
 * qtype nor CNAME in its bitmap (and, but for qtype DS, not a delegation:
 * NS without SOA; for qtype DS, not the child's apex: SOA); or qname is an
 * empty non-terminal (an NSEC before it whose next name is below it); or
 * the wildcard NODATA case (an NSEC matching the wildcard at qname's
 * closest encloser without qtype, and one proving qname absent). NSEC3
 * (RFC 5155 8.5-8.7, errata 3441): a matching NSEC3 without qtype/CNAME;
 * else the closest encloser proof and a matching NSEC3 for its wildcard
 * without qtype/CNAME; else INSECURE when the next closer name's cover is
 * opt-out (for qtype DS, the only other way).
 */
void val_nodata(const uint8_t *qname, uint16_t qtype,
    const ldns_rr_list *authority, const uint8_t *zone,
    const ldns_rr_list *keys, uint64_t now, struct val_budget *b,
    struct val_outcome *out);

/**
 * A positive answer for @p qname expanded from a wildcard (val_rrset gave
 * @p wildcard_labels > 0): proof that @p qname itself does not exist. NSEC:
 * a record covering qname whose closest encloser has @p wildcard_labels
 * labels. NSEC3 (RFC 5155 8.8): a record covering the next closer name
 * (qname's suffix of wildcard_labels + 1 labels); opt-out: INSECURE.
 */
void val_wildcard(const uint8_t *qname, unsigned wildcard_labels,
    const ldns_rr_list *authority, const uint8_t *zone,
    const ldns_rr_list *keys, uint64_t now, struct val_budget *b,
    struct val_outcome *out);

/**
 * Proof from a NODATA answer (to a DS question for @p name, from the parent
 * zone @p zone) that @p name has no DS. SECURE with *delegation true when
 * the NSEC/NSEC3 at @p name has the NS bit (and neither DS nor SOA): an
 * insecure delegation, everything below is insecure. SECURE with
 * *delegation false when @p name is not a zone cut (no NS bit, an empty
 * non-terminal or a wildcard match): the walk goes on below. INSECURE with
 * *delegation true when an opt-out NSEC3 covers the next closer name
 * (RFC 5155 8.6). An NXDOMAIN answer is val_nxdomain's.
 */
void val_no_ds(const uint8_t *name, const ldns_rr_list *authority,
    const uint8_t *zone, const ldns_rr_list *keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out, bool *delegation);

#endif
