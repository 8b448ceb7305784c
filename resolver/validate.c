/*
 * validate.c: the DNSSEC checks (see validate.h). Signatures and digests
 * are ldns's; this file picks which records to check against which keys,
 * bounds the work, and turns the results into a state, an EDE code and a
 * sentence.
 *
 * ldns_verify_rrsig_time() lowercases the owner of the RRSIG it is given,
 * so it is always given a copy: the caller's lists are only read.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "resolver/validate.h"

#define KEY_F_ZONE   0x0100
#define KEY_F_REVOKE 0x0080
#define N3_HASH_LEN  20 /* SHA-1, the one NSEC3 hash */
#define NAME_TEXT    256

/* ------------------------------------------------------------ basics */

const char *
val_state_str(enum val_state s)
{
	switch (s) {
	case VAL_INSECURE:
		return "insecure";
	case VAL_SECURE:
		return "secure";
	case VAL_BOGUS:
		return "bogus";
	case VAL_INDETERMINATE:
	default:
		return "indeterminate";
	}
}

bool
val_alg_supported(uint8_t alg)
{
	switch (alg) {
	case 5:  /* RSASHA1 */
	case 7:  /* RSASHA1-NSEC3-SHA1 */
	case 8:  /* RSASHA256 */
	case 10: /* RSASHA512 */
	case 13: /* ECDSAP256SHA256 */
	case 14: /* ECDSAP384SHA384 */
	case 15: /* ED25519 */
	case 16: /* ED448 */
		return true;
	default:
		return false;
	}
}

bool
val_digest_supported(uint8_t digest)
{
	return digest == 1 || digest == 2 || digest == 4;
}

void
val_budget_init(struct val_budget *b, const struct val_limits *lim)
{
	memset(b, 0, sizeof(*b));
	if (lim != NULL)
		b->lim = *lim;
	if (b->lim.max_sig_checks == 0)
		b->lim.max_sig_checks = VAL_MAX_SIG_CHECKS;
	if (b->lim.max_nsec3_hashes == 0)
		b->lim.max_nsec3_hashes = VAL_MAX_NSEC3_HASHES;
	if (b->lim.max_nsec3_iterations == 0)
		b->lim.max_nsec3_iterations = VAL_MAX_NSEC3_ITERATIONS;
	if (b->lim.max_keys_per_tag == 0)
		b->lim.max_keys_per_tag = VAL_MAX_KEYS_PER_TAG;
}

static void
out_init(struct val_outcome *o)
{
	o->state = VAL_INDETERMINATE;
	o->ede = 0;
	o->why[0] = 0;
	o->ttl_cap = UINT32_MAX;
	o->key_tag = 0;
	o->nsec_verified = 0;
}

__attribute__((format(printf, 4, 5))) static void
out_set(struct val_outcome *o, enum val_state st, uint16_t ede, const char *fmt,
    ...)
{
	va_list ap;

	o->state = st;
	o->ede = ede;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
	va_end(ap);
}

/* snprintf that may truncate (no -Wformat-truncation: it is meant). */
__attribute__((format(printf, 3, 4))) static void
textf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
}

static const char *
name_text(char buf[NAME_TEXT], const uint8_t *name)
{
	if (name == NULL)
		snprintf(buf, NAME_TEXT, "?");
	else
		dns_name_to_text(buf, NAME_TEXT, name);
	return buf;
}

static void
time_text(char *buf, size_t cap, uint64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, cap, "%llu", (unsigned long long)t);
}

/* The budget ran out: the outcome every call gives from now on. */
static void
out_cap(struct val_outcome *o, const struct val_budget *b, const uint8_t *zone)
{
	char zn[NAME_TEXT];
	unsigned v = strcmp(b->cap, "max_nsec3_hashes") == 0
	    ? b->lim.max_nsec3_hashes
	    : b->lim.max_sig_checks;

	out_set(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "validation cap %s (%u) reached at %s", b->cap, v,
	    name_text(zn, zone));
}

/* The start of each check of @p zone: @p out cleared, the zone's name in
 * @p zn (NAME_TEXT bytes; NULL: not needed); false (and @p out the cap's
 * outcome) when the budget is spent already. */
static bool
out_begin(struct val_outcome *out, const struct val_budget *b,
    const uint8_t *zone, char *zn)
{
	out_init(out);
	if (b->exhausted) {
		out_cap(out, b, zone);
		return false;
	}
	if (zn != NULL)
		name_text(zn, zone);
	return true;
}

/* Take one unit of @p used (capped at @p max, the limit named @p cap) from
 * @p b; false when none is left (the budget is then exhausted). */
static bool
charge(struct val_budget *b, unsigned *used, unsigned max, const char *cap)
{
	if (b->exhausted)
		return false;
	if (*used >= max) {
		b->exhausted = true;
		b->cap = cap;
		return false;
	}
	(*used)++;
	return true;
}

/* One signature verification. */
static bool
charge_sig(struct val_budget *b)
{
	return charge(
	    b, &b->sig_checks, b->lim.max_sig_checks, "max_sig_checks");
}

/* One NSEC3 hash computation. */
static bool
charge_hash(struct val_budget *b)
{
	return charge(
	    b, &b->nsec3_hashes, b->lim.max_nsec3_hashes, "max_nsec3_hashes");
}

/* ------------------------------------------------------------ records */

static uint16_t
rr_type(const ldns_rr *rr)
{
	return (uint16_t)ldns_rr_get_type(rr);
}

/* A name rdf as a checked wire name, or NULL. */
static const uint8_t *
rdf_name(const ldns_rdf *f)
{
	if (f == NULL || ldns_rdf_size(f) == 0 ||
	    dns_name_len(ldns_rdf_data(f), ldns_rdf_size(f)) !=
	        ldns_rdf_size(f))
		return NULL;
	return ldns_rdf_data(f);
}

static const uint8_t *
rr_owner(const ldns_rr *rr)
{
	return rdf_name(ldns_rr_owner(rr));
}

/* rdf @p i of @p rr if it has @p size bytes, else NULL. */
static const uint8_t *
rdf_fixed(const ldns_rr *rr, size_t i, size_t size)
{
	const ldns_rdf *f = ldns_rr_rdf(rr, i);

	return f != NULL && ldns_rdf_size(f) == size ? ldns_rdf_data(f) : NULL;
}

/* An RRSIG with the nine fields of the right sizes. */
static bool
sig_ok(const ldns_rr *rr)
{
	static const uint8_t size[7] = {2, 1, 1, 4, 4, 4, 2};

	if (rr_type(rr) != DNS_T_RRSIG || ldns_rr_rd_count(rr) != 9)
		return false;
	for (size_t i = 0; i < 7; i++)
		if (rdf_fixed(rr, i, size[i]) == NULL)
			return false;
	return rdf_name(ldns_rr_rdf(rr, 7)) != NULL;
}

static uint16_t
sig_covered(const ldns_rr *rr)
{
	return dns_get16(rdf_fixed(rr, 0, 2));
}

static uint8_t
rdf_u8(const ldns_rr *rr, size_t i)
{
	return ldns_rdf_data(ldns_rr_rdf(rr, i))[0];
}

static uint16_t
rdf_u16(const ldns_rr *rr, size_t i)
{
	return dns_get16(ldns_rdf_data(ldns_rr_rdf(rr, i)));
}

static uint32_t
rdf_u32(const ldns_rr *rr, size_t i)
{
	return dns_get32(ldns_rdf_data(ldns_rr_rdf(rr, i)));
}

/* A DNSKEY usable to validate: zone key, not revoked, protocol 3. */
static bool
key_usable(const ldns_rr *rr)
{
	uint16_t flags;

	if (rr_type(rr) != DNS_T_DNSKEY || ldns_rr_rd_count(rr) != 4 ||
	    rdf_fixed(rr, 0, 2) == NULL || rdf_fixed(rr, 1, 1) == NULL ||
	    rdf_fixed(rr, 2, 1) == NULL || ldns_rr_rdf(rr, 3) == NULL ||
	    rr_owner(rr) == NULL)
		return false;
	flags = rdf_u16(rr, 0);
	return (flags & KEY_F_ZONE) && !(flags & KEY_F_REVOKE) &&
	    rdf_u8(rr, 1) == 3;
}

static bool
ds_ok(const ldns_rr *rr)
{
	return rr_type(rr) == DNS_T_DS && ldns_rr_rd_count(rr) == 4 &&
	    rdf_fixed(rr, 0, 2) != NULL && rdf_fixed(rr, 1, 1) != NULL &&
	    rdf_fixed(rr, 2, 1) != NULL && ldns_rr_rdf(rr, 3) != NULL &&
	    rr_owner(rr) != NULL;
}

uint16_t
val_key_tag(const ldns_rr *dnskey)
{
	if (dnskey == NULL || rr_type(dnskey) != DNS_T_DNSKEY)
		return 0;
	return ldns_calc_keytag(dnskey);
}

static bool
same_rdata(const ldns_rr *a, const ldns_rr *b)
{
	if (ldns_rr_rd_count(a) != ldns_rr_rd_count(b))
		return false;
	for (size_t i = 0; i < ldns_rr_rd_count(a); i++)
		if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
			return false;
	return true;
}

static bool
list_has(const ldns_rr_list *l, const ldns_rr *rr)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++)
		if (ldns_rr_list_rr(l, i) == rr)
			return true;
	return false;
}

int
val_split(const ldns_rr_list *section, const uint8_t *owner, uint16_t type,
    ldns_rr_list **rrset, ldns_rr_list **sigs)
{
	*rrset = ldns_rr_list_new();
	*sigs = ldns_rr_list_new();
	if (*rrset == NULL || *sigs == NULL)
		goto nomem;
	for (size_t i = 0; section && i < ldns_rr_list_rr_count(section); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(section, i);
		const uint8_t *o = rr_owner(rr);
		ldns_rr_list *to = NULL;

		if (o == NULL || !dns_name_eq(o, owner))
			continue;
		if (rr_type(rr) == type)
			to = *rrset;
		else if (sig_ok(rr) && sig_covered(rr) == type)
			to = *sigs;
		if (to != NULL && !ldns_rr_list_push_rr(to, rr))
			goto nomem;
	}
	return 0;
nomem:
	ldns_rr_list_free(*rrset);
	ldns_rr_list_free(*sigs);
	*rrset = *sigs = NULL;
	return -ENOMEM;
}

/* --------------------------------------------------- RRset signatures */

/* Why an RRSIG failed, in the order of how far it got: the one that got
 * furthest is reported. */
enum fail {
	F_NONE = 0,
	F_SIGNER,
	F_LABELS,
	F_ALG,
	F_NOKEY,
	F_NOTYET,
	F_EXPIRED,
	F_CRYPTO,
	/* outcomes of verify() beyond one RRSIG */
	F_NOSIG,   /* no RRSIG covers the RRset */
	F_CAP,     /* the budget ran out */
	F_INVALID, /* the input is not an RRset */
};

struct sigfail {
	enum fail kind;
	uint16_t tag;
	uint8_t alg;
	unsigned labels, owner_labels;
	uint64_t when;
	const uint8_t *signer;
};

/* Time field @p t (RFC 4034 3.1.5) as the absolute second nearest to @p now
 * (RFC 1982 serial arithmetic: within 68 years either side). */
static uint64_t
serial_time(uint32_t t, uint64_t now)
{
	int64_t v = (int64_t)now + (int32_t)(t - (uint32_t)now);

	return v < 0 ? 0 : (uint64_t)v;
}

/* ---- signature checks with kept keys ---- */

void
val_keys_clear(struct val_keys *k)
{
	if (k == NULL)
		return;
	for (unsigned i = 0; i < VAL_KEYS_MAX; i++)
		EVP_PKEY_free(k->slot[i].pkey);
	ldns_buffer_free(k->signed_data);
	ldns_buffer_free(k->records);
	ldns_buffer_free(k->der);
	EVP_MD_free(k->sha256);
	EVP_MD_free(k->sha384);
	free(k->memo);
	memset(k, 0, sizeof(*k));
}

/* The parsed key of DNSKEY @p key (algorithm @p alg) from @p k, built and
 * kept on first use; NULL if it cannot be built. */
static EVP_PKEY *
key_get(struct val_keys *k, const ldns_rr *key, uint8_t alg)
{
	const ldns_rdf *f = ldns_rr_rdf(key, 3);
	size_t len = f ? ldns_rdf_size(f) : 0;
	const uint8_t *data = f ? ldns_rdf_data(f) : NULL;
	EVP_PKEY *pk;
	unsigned i;

	if (data == NULL || len == 0 || len > sizeof(k->slot[0].data))
		return NULL;
	for (i = 0; i < VAL_KEYS_MAX; i++) {
		if (k->slot[i].pkey != NULL && k->slot[i].alg == alg &&
		    k->slot[i].len == len &&
		    memcmp(k->slot[i].data, data, len) == 0) {
			k->hits++;
			return k->slot[i].pkey;
		}
	}
	pk = ldns_ecdsa2pkey_raw(data, len, alg);
	if (pk == NULL)
		return NULL;
	i = k->next;
	k->next = (k->next + 1) % VAL_KEYS_MAX;
	EVP_PKEY_free(k->slot[i].pkey);
	k->slot[i].alg = alg;
	k->slot[i].len = (uint8_t)len;
	memcpy(k->slot[i].data, data, len);
	k->slot[i].pkey = pk;
	k->builds++;
	return pk;
}

/* A copy of @p sig with the owner and signer lowercased, for ldns. */
static ldns_rr *
sig_copy(const ldns_rr *sig)
{
	ldns_rr *c = ldns_rr_clone(sig);

	if (c != NULL) {
		ldns_dname2canonical(ldns_rr_owner(c));
		ldns_dname2canonical(ldns_rr_rdf(c, 7));
	}
	return c;
}

/* One record of the RRset in canonical form in the records buffer: where
 * what follows its owner starts, how long it is, and its rdata. */
struct canon_rr {
	size_t off, len;
	const uint8_t *rd;
	size_t rdlen;
};

static int
canon_cmp(const void *a, const void *b)
{
	const struct canon_rr *x = a, *y = b;
	size_t n = x->rdlen < y->rdlen ? x->rdlen : y->rdlen;
	int c = memcmp(x->rd, y->rd, n);

	if (c != 0)
		return c;
	return x->rdlen < y->rdlen ? -1 : x->rdlen > y->rdlen;
}

static ldns_buffer *
kept_buffer(void **slot)
{
	if (*slot == NULL)
		*slot = ldns_buffer_new(1024);
	if (*slot != NULL)
		ldns_buffer_clear(*slot);
	return *slot;
}

/* The data RRSIG @p sig signs over @p rrset (RFC 4034 3.1.8.1 and 6: the
 * RRSIG's fields with the signer lowercased, then each record in
 * canonical form, with the original TTL, the owner as the wildcard it was
 * expanded from, in canonical order) into @p vb; @p rb is scratch.
 * ldns writes every record (ldns_rrsig2buffer_wire,
 * ldns_rr2buffer_wire_canonical); this only orders them and patches the
 * owner and TTL, with no record copied. @return false on ENOMEM or a
 * malformed record. */
static bool
signed_data(ldns_buffer *vb, ldns_buffer *rb, const ldns_rr_list *rrset,
    const ldns_rr *sig)
{
	uint8_t labels = rdf_u8(sig, 2), owner[LIM_NAME_MAX];
	uint32_t orig = rdf_u32(sig, 3);
	size_t n = ldns_rr_list_rr_count(rrset), on;
	struct canon_rr stack[16], *cr = stack;
	const uint8_t *o = n ? rr_owner(ldns_rr_list_rr(rrset, 0)) : NULL;
	bool ok = false;

	if (o == NULL)
		return false;
	if (labels < dns_name_labels(o)) {
		/* expanded from a wildcard: signed as *.<closer> */
		owner[0] = 1;
		owner[1] = '*';
		on = 2 + dns_name_lower(owner + 2, dns_name_suffix(o, labels));
	} else {
		on = dns_name_lower(owner, o);
	}
	if (n > sizeof(stack) / sizeof(stack[0]) &&
	    (cr = malloc(n * sizeof(*cr))) == NULL)
		return false;
	if (ldns_rrsig2buffer_wire(vb, sig) != LDNS_STATUS_OK ||
	    ldns_buffer_position(vb) < 18 + 1)
		goto out;
	/* the signer, after 18 octets of fixed fields, lowercased in place
	 * (RFC 6840 5.1): ldns wrote it whole, ending with the root label */
	dns_name_lower(ldns_buffer_at(vb, 18), ldns_buffer_at(vb, 18));
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrset, i);
		size_t start = ldns_buffer_position(rb);
		size_t ol = ldns_rdf_size(ldns_rr_owner(rr));
		if (ldns_rr2buffer_wire_canonical(
		        rb, rr, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK ||
		    ldns_buffer_position(rb) < start + ol + 10)
			goto out;
		cr[i].off = start + ol;
		cr[i].len = ldns_buffer_position(rb) - cr[i].off;
		cr[i].rdlen = cr[i].len - 10;
	}
	for (size_t i = 0; i < n; i++)
		cr[i].rd = ldns_buffer_at(rb, cr[i].off + 10);
	qsort(cr, n, sizeof(*cr), canon_cmp);
	for (size_t i = 0; i < n; i++) {
		if (!ldns_buffer_reserve(vb, on + cr[i].len))
			goto out;
		ldns_buffer_write(vb, owner, on);
		ldns_buffer_write(vb, ldns_buffer_at(rb, cr[i].off), cr[i].len);
		/* the TTL: 4 octets after type and class */
		ldns_buffer_write_u32_at(
		    vb, ldns_buffer_position(vb) - cr[i].len + 4, orig);
	}
	ok = true;
out:
	if (cr != stack)
		free(cr);
	return ok;
}

/* The memo of verified signatures (struct val_keys): a direct-mapped
 * table of VAL_MEMO_SLOTS checks, each the data signed, the signature and
 * the public key, compared byte for byte. The slot comes from the
 * signature's first octets (ECDSA's random nonce spreads them; a
 * collision costs a check, never a wrong answer). Only checks that
 * verified are kept; validity times are checked before (verify). */
#define VAL_MEMO_SLOTS 64
#define VAL_MEMO_DATA  512
struct val_memo {
	uint16_t len[VAL_MEMO_SLOTS][3]; /* data, signature, key; 0: empty */
	uint8_t blob[VAL_MEMO_SLOTS][VAL_MEMO_DATA];
};

struct memo_key {
	const uint8_t *part[3];
	size_t len[3];
	unsigned slot;
};

static bool
memo_key(struct memo_key *m, const ldns_buffer *vb, const ldns_rdf *sig,
    const ldns_rdf *key)
{
	uint64_t h = 0;

	m->part[0] = ldns_buffer_begin(vb);
	m->len[0] = ldns_buffer_position(vb);
	m->part[1] = ldns_rdf_data(sig);
	m->len[1] = ldns_rdf_size(sig);
	m->part[2] = ldns_rdf_data(key);
	m->len[2] = ldns_rdf_size(key);
	if (m->len[0] == 0 || m->len[1] == 0 || m->len[2] == 0 ||
	    m->len[0] + m->len[1] + m->len[2] > VAL_MEMO_DATA)
		return false;
	memcpy(&h, m->part[1], m->len[1] < sizeof(h) ? m->len[1] : sizeof(h));
	m->slot = (unsigned)(dns_fmix64(h) % VAL_MEMO_SLOTS);
	return true;
}

static bool
memo_has(const struct val_memo *memo, const struct memo_key *m)
{
	const uint8_t *b = memo->blob[m->slot];

	for (int i = 0; i < 3; i++) {
		if (memo->len[m->slot][i] != m->len[i] ||
		    memcmp(b, m->part[i], m->len[i]) != 0)
			return false;
		b += m->len[i];
	}
	return true;
}

static void
memo_put(struct val_memo *memo, const struct memo_key *m)
{
	uint8_t *b = memo->blob[m->slot];

	for (int i = 0; i < 3; i++) {
		memcpy(b, m->part[i], m->len[i]);
		memo->len[m->slot][i] = (uint16_t)m->len[i];
		b += m->len[i];
	}
}

/* RRSIG @p sig over @p rrset by DNSKEY @p key, as ldns_verify_rrsig_time
 * checks it, with the key and buffers kept in @p keys (ECDSA, whose keys
 * cost the most to build; other algorithms, or no @p keys: through
 * ldns_verify_rrsig_time itself). Validity times are the caller's
 * (verify). LDNS_STATUS_OK if it verifies. */
static ldns_status
check_sig(const ldns_rr_list *rrset, const ldns_rr *sig, const ldns_rr *key,
    time_t now, struct val_keys *keys)
{
	uint8_t alg = rdf_u8(sig, 1);
	EVP_PKEY *pk = NULL;
	ldns_buffer *vb, *rb, *sb;
	ldns_status st;

	if (keys != NULL && (alg == 13 || alg == 14))
		pk = key_get(keys, key, alg);
	if (pk == NULL) {
		ldns_rr *copy = sig_copy(sig);
		if (copy == NULL)
			return LDNS_STATUS_MEM_ERR;
		st = ldns_verify_rrsig_time(
		    (ldns_rr_list *)rrset, copy, (ldns_rr *)key, now);
		ldns_rr_free(copy);
		return st;
	}
	if ((vb = kept_buffer(&keys->signed_data)) == NULL ||
	    (rb = kept_buffer(&keys->records)) == NULL ||
	    (sb = kept_buffer(&keys->der)) == NULL)
		return LDNS_STATUS_MEM_ERR;
	if (!signed_data(vb, rb, rrset, sig))
		return LDNS_STATUS_ERR;
	struct memo_key mk = {0};
	bool memo = memo_key(&mk, vb, ldns_rr_rdf(sig, 8), ldns_rr_rdf(key, 3));
	if (memo && keys->memo != NULL && memo_has(keys->memo, &mk)) {
		keys->memo_hits++;
		return LDNS_STATUS_OK;
	}
	if (ldns_convert_ecdsa_rrsig_rdf2asn1(sb, ldns_rr_rdf(sig, 8)) !=
	    LDNS_STATUS_OK)
		return LDNS_STATUS_ERR;
	void **md = alg == 13 ? &keys->sha256 : &keys->sha384;
	if (*md == NULL)
		*md = EVP_MD_fetch(NULL, alg == 13 ? "SHA256" : "SHA384", NULL);
	if (*md == NULL)
		return LDNS_STATUS_MEM_ERR;
	st = ldns_verify_rrsig_evp_raw(
	    ldns_buffer_begin(sb), ldns_buffer_position(sb), vb, pk, *md);
	if (st == LDNS_STATUS_OK && memo) {
		if (keys->memo == NULL)
			keys->memo = calloc(1, sizeof(*keys->memo));
		if (keys->memo != NULL)
			memo_put(keys->memo, &mk);
	}
	return st;
}

/* @p rrset without exact duplicates (RFC 4034 6.3), as a borrowed list;
 * NULL when it has none (use it as is) or on ENOMEM (*nomem set). */
static ldns_rr_list *
dedup(const ldns_rr_list *rrset, bool *nomem)
{
	size_t n = ldns_rr_list_rr_count(rrset);
	ldns_rr_list *l = NULL;

	*nomem = false;
	for (size_t i = 1; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (same_rdata(ldns_rr_list_rr(rrset, i),
			        ldns_rr_list_rr(rrset, j)))
				goto dup;
	return NULL;
dup:
	if ((l = ldns_rr_list_new()) == NULL) {
		*nomem = true;
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrset, i);
		bool seen = false;
		for (size_t j = 0; j < ldns_rr_list_rr_count(l) && !seen; j++)
			seen = same_rdata(ldns_rr_list_rr(l, j), rr);
		if (!seen && !ldns_rr_list_push_rr(l, rr)) {
			ldns_rr_list_free(l);
			*nomem = true;
			return NULL;
		}
	}
	return l;
}

static void
note(struct sigfail *best, enum fail kind, const ldns_rr *sig, uint64_t when,
    unsigned owner_labels)
{
	if (kind <= best->kind)
		return;
	best->kind = kind;
	best->tag = rdf_u16(sig, 6);
	best->alg = rdf_u8(sig, 1);
	best->labels = rdf_u8(sig, 2);
	best->owner_labels = owner_labels;
	best->when = when;
	best->signer = rdf_name(ldns_rr_rdf(sig, 7));
}

/* Turn the best failure into @p out. */
static void
fail_out(struct val_outcome *out, const struct sigfail *f, const char *what,
    const uint8_t *zone, bool keys_supported)
{
	char a[NAME_TEXT], z[NAME_TEXT], t[32];

	out->key_tag = f->tag;
	switch (f->kind) {
	case F_SIGNER:
		out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "RRSIG %s by key %u: signer %s is not the zone %s", what,
		    f->tag, name_text(a, f->signer), name_text(z, zone));
		break;
	case F_LABELS:
		out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "RRSIG %s by key %u: labels %u exceed the owner's %u", what,
		    f->tag, f->labels, f->owner_labels);
		break;
	case F_ALG:
		if (!keys_supported)
			out_set(out, VAL_INSECURE,
			    DNS_EDE_UNSUPPORTED_DNSKEY_ALG,
			    "RRSIG %s by key %u: algorithm %u not supported "
			    "(insecure)",
			    what, f->tag, f->alg);
		else
			out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
			    "RRSIG %s by key %u: algorithm %u not supported",
			    what, f->tag, f->alg);
		break;
	case F_NOKEY:
		out_set(out, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
		    "RRSIG %s by key %u: no DNSKEY %u (algorithm %u) of %s",
		    what, f->tag, f->tag, f->alg, name_text(a, zone));
		break;
	case F_NOTYET:
		time_text(t, sizeof(t), f->when);
		out_set(out, VAL_BOGUS, DNS_EDE_SIGNATURE_NOT_YET_VALID,
		    "RRSIG %s by key %u: signature not valid before %s", what,
		    f->tag, t);
		break;
	case F_EXPIRED:
		time_text(t, sizeof(t), f->when);
		out_set(out, VAL_BOGUS, DNS_EDE_SIGNATURE_EXPIRED,
		    "RRSIG %s by key %u: signature expired at %s", what, f->tag,
		    t);
		break;
	case F_CRYPTO:
	default:
		out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "RRSIG %s by key %u: signature does not verify", what,
		    f->tag);
		break;
	}
}

/*
 * Verify @p rrset with the RRSIGs of @p sigs made by keys of @p keys (see
 * val_rrset). Fills @p out; @return F_NONE when SECURE, else what failed
 * (F_NOSIG: no RRSIG covers it; F_NOKEY: none by a key of @p keys).
 */
static enum fail
verify(const uint8_t *zone, const ldns_rr_list *rrset, const ldns_rr_list *sigs,
    const ldns_rr_list *keys, uint64_t now, struct val_budget *b,
    struct val_outcome *out, unsigned *wildcard)
{
	size_t n = rrset ? ldns_rr_list_rr_count(rrset) : 0;
	size_t nkeys = keys ? ldns_rr_list_rr_count(keys) : 0;
	const ldns_rr *first = n ? ldns_rr_list_rr(rrset, 0) : NULL;
	const uint8_t *owner = first ? rr_owner(first) : NULL;
	struct sigfail best = {0};
	char what[NAME_TEXT + DNS_MNEMONIC_MAX + 2], tb[DNS_MNEMONIC_MAX];
	char on[NAME_TEXT];
	uint16_t type, *tags = NULL;
	ldns_rr_list *uniq = NULL;
	bool any_sig = false, keys_supported = false, nomem;
	enum fail ret;
	unsigned olabels;

	if (!out_begin(out, b, zone, NULL))
		return F_CAP;
	if (owner == NULL) {
		out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "empty or malformed RRset at %s", name_text(on, zone));
		return F_INVALID;
	}
	type = rr_type(first);
	snprintf(what, sizeof(what), "%s %s", dns_type_str(type, tb),
	    name_text(on, owner));
	for (size_t i = 1; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(rrset, i);
		const uint8_t *o = rr_owner(rr);
		if (o == NULL || !dns_name_eq(o, owner) ||
		    rr_type(rr) != type ||
		    ldns_rr_get_class(rr) != ldns_rr_get_class(first)) {
			out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
			    "%s: records of other RRsets mixed in", what);
			return F_INVALID;
		}
	}
	olabels = dns_name_labels(owner);
	if (nkeys > 0 && (tags = malloc(nkeys * sizeof(*tags))) == NULL)
		goto nomem;
	for (size_t k = 0; k < nkeys; k++) {
		const ldns_rr *key = ldns_rr_list_rr(keys, k);
		tags[k] = key_usable(key) ? ldns_calc_keytag(key) : 0;
		if (key_usable(key) && val_alg_supported(rdf_u8(key, 2)))
			keys_supported = true;
	}
	uniq = dedup(rrset, &nomem);
	if (nomem)
		goto nomem;

	for (size_t s = 0; sigs && s < ldns_rr_list_rr_count(sigs); s++) {
		const ldns_rr *sig = ldns_rr_list_rr(sigs, s);
		const uint8_t *o = rr_owner(sig), *signer;
		uint64_t inc, exp;
		uint16_t tag;
		uint8_t alg, labels;
		unsigned tried = 0;

		if (!sig_ok(sig) || o == NULL || !dns_name_eq(o, owner) ||
		    ldns_rr_get_class(sig) != ldns_rr_get_class(first) ||
		    sig_covered(sig) != type)
			continue;
		any_sig = true;
		alg = rdf_u8(sig, 1);
		labels = rdf_u8(sig, 2);
		exp = serial_time(rdf_u32(sig, 4), now);
		inc = serial_time(rdf_u32(sig, 5), now);
		tag = rdf_u16(sig, 6);
		signer = rdf_name(ldns_rr_rdf(sig, 7));
		if (!dns_name_eq(signer, zone)) {
			note(&best, F_SIGNER, sig, 0, olabels);
			continue;
		}
		if (labels > olabels) {
			note(&best, F_LABELS, sig, 0, olabels);
			continue;
		}
		if (!val_alg_supported(alg)) {
			note(&best, F_ALG, sig, 0, olabels);
			continue;
		}
		if (now < inc) {
			note(&best, F_NOTYET, sig, inc, olabels);
			continue;
		}
		if (now > exp) {
			note(&best, F_EXPIRED, sig, exp, olabels);
			continue;
		}
		for (size_t k = 0; k < nkeys; k++) {
			ldns_rr *key = ldns_rr_list_rr(keys, k);
			ldns_status st;

			if (tags[k] != tag || !key_usable(key) ||
			    rdf_u8(key, 2) != alg ||
			    !dns_name_eq(rr_owner(key), signer))
				continue;
			if (tried == b->lim.max_keys_per_tag)
				break;
			tried++;
			if (!charge_sig(b)) {
				out_cap(out, b, zone);
				ret = F_CAP;
				goto done;
			}
			st = check_sig(uniq ? uniq : rrset, sig, key,
			    (time_t)now, b->keys);
			if (st != LDNS_STATUS_OK)
				continue;
			/* verified */
			bool star = owner[0] == 1 && owner[1] == '*';
			unsigned wl =
			    labels + (star ? 1u : 0u) < olabels ? labels : 0;
			uint64_t left = exp - now;
			uint32_t orig = rdf_u32(sig, 3);

			out->key_tag = tag;
			out->ttl_cap = left < orig ? (uint32_t)left : orig;
			if (wl > 0 && wildcard == NULL) {
				out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
				    "RRSIG %s by key %u: expanded from a "
				    "wildcard where none may be",
				    what, tag);
				ret = F_CRYPTO;
				goto done;
			}
			if (wildcard != NULL)
				*wildcard = wl;
			out_set(out, VAL_SECURE, 0,
			    "RRSIG %s by key %u verifies", what, tag);
			ret = F_NONE;
			goto done;
		}
		note(&best, tried ? F_CRYPTO : F_NOKEY, sig, 0, olabels);
	}
	if (!any_sig) {
		out_set(out, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING,
		    "no RRSIG for %s", what);
		ret = F_NOSIG;
	} else {
		fail_out(out, &best, what, zone, keys_supported);
		ret = best.kind;
	}
done:
	free(tags);
	ldns_rr_list_free(uniq);
	return ret;
nomem:
	free(tags);
	ldns_rr_list_free(uniq);
	out_set(out, VAL_BOGUS, DNS_EDE_OTHER, "%s: out of memory", what);
	return F_INVALID;
}

void
val_rrset(const uint8_t *zone, const ldns_rr_list *rrset,
    const ldns_rr_list *sigs, const ldns_rr_list *keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out, unsigned *wildcard_labels)
{
	if (wildcard_labels != NULL)
		*wildcard_labels = 0;
	verify(zone, rrset, sigs, keys, now, b, out, wildcard_labels);
}

/* ---------------------------------------------------------------- keys */

/* The DNSKEY RRset given is one of @p zone. */
static bool
dnskeys_of(
    const uint8_t *zone, const ldns_rr_list *dnskeys, struct val_outcome *out)
{
	char zn[NAME_TEXT];

	for (size_t i = 0; dnskeys && i < ldns_rr_list_rr_count(dnskeys); i++) {
		const ldns_rr *k = ldns_rr_list_rr(dnskeys, i);
		const uint8_t *o = rr_owner(k);
		if (rr_type(k) != DNS_T_DNSKEY || o == NULL ||
		    !dns_name_eq(o, zone)) {
			out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
			    "DNSKEY %s: other records mixed in",
			    name_text(zn, zone));
			return false;
		}
	}
	if (dnskeys == NULL || ldns_rr_list_rr_count(dnskeys) == 0) {
		out_set(out, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
		    "no DNSKEY for %s", name_text(zn, zone));
		return false;
	}
	return true;
}

/* The list of keys a DS set or an anchor matches, for @p zone's DNSKEY
 * RRset: NULL (and @p out says why) when the RRset is not the zone's or
 * memory ran out. */
static ldns_rr_list *
matched_new(
    const uint8_t *zone, const ldns_rr_list *dnskeys, struct val_outcome *out)
{
	ldns_rr_list *m;

	if (!dnskeys_of(zone, dnskeys, out))
		return NULL;
	if ((m = ldns_rr_list_new()) == NULL)
		out_set(out, VAL_BOGUS, DNS_EDE_OTHER, "out of memory");
	return m;
}

/* Add @p key to @p m once. false: out of memory (@p m is freed, @p out
 * says so). */
static bool
matched_add(ldns_rr_list *m, ldns_rr *key, struct val_outcome *out)
{
	if (list_has(m, key) || ldns_rr_list_push_rr(m, key))
		return true;
	ldns_rr_list_free(m);
	out_set(out, VAL_BOGUS, DNS_EDE_OTHER, "out of memory");
	return false;
}

/* Record @p i of @p list if it may vouch for the DNSKEY RRset of @p zone:
 * a well-formed DS (@p ds) or a usable DNSKEY (a trust anchor's), owned by
 * the zone; else NULL. */
static const ldns_rr *
voucher(const ldns_rr_list *list, size_t i, const uint8_t *zone, bool ds)
{
	const ldns_rr *r = ldns_rr_list_rr(list, i);

	if (!(ds ? ds_ok(r) : key_usable(r)) || !dns_name_eq(rr_owner(r), zone))
		return NULL;
	return r;
}

/* What the vouchers of a list say before a key is looked at. */
struct vouch {
	unsigned n;         /* vouchers */
	unsigned nsup;      /* of them, of an algorithm (and a DS digest type)
	                       validated */
	uint8_t bad_alg;    /* the last algorithm not validated */
	uint8_t bad_digest; /* DS: the last digest type not validated */
	uint8_t fav;        /* DS: the strongest digest type validated */
	uint16_t first_tag; /* DNSKEY: the key tag of the first validated */
};

/* The start of a DNSKEY check by the vouchers in @p list: the budget,
 * then what they say (into @p v, the zone's name into @p zn); false when
 * that decides @p out already (no voucher: bogus). */
static bool
vouch_begin(const ldns_rr_list *list, const uint8_t *zone, bool ds,
    const struct val_budget *b, struct val_outcome *out, char *zn,
    struct vouch *v)
{
	size_t n = list ? ldns_rr_list_rr_count(list) : 0;

	if (!out_begin(out, b, zone, zn))
		return false;
	memset(v, 0, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *r = voucher(list, i, zone, ds);
		uint8_t alg;

		if (r == NULL)
			continue;
		v->n++;
		alg = rdf_u8(r, ds ? 1 : 2);
		if (!val_alg_supported(alg)) {
			v->bad_alg = alg;
		} else if (ds && !val_digest_supported(rdf_u8(r, 2))) {
			v->bad_digest = rdf_u8(r, 2);
		} else {
			if (v->nsup++ == 0 && !ds)
				v->first_tag = val_key_tag(r);
			if (ds && rdf_u8(r, 2) > v->fav)
				v->fav = rdf_u8(r, 2);
		}
	}
	if (v->n == 0) {
		out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, "no %s for %s",
		    ds ? "DS record" : "trust anchor DNSKEY", zn);
		return false;
	}
	return true;
}

/* Verify the DNSKEY RRset with the keys of @p matched (keys of the RRset
 * a DS or an anchor vouches for). */
static void
dnskey_verify(const uint8_t *zone, const ldns_rr_list *dnskeys,
    const ldns_rr_list *sigs, const ldns_rr_list *matched, const char *by,
    uint64_t now, struct val_budget *b, struct val_outcome *out)
{
	char zn[NAME_TEXT];
	uint16_t tag = val_key_tag(ldns_rr_list_rr(matched, 0));
	enum fail f = verify(zone, dnskeys, sigs, matched, now, b, out, NULL);

	if (f == F_NOSIG || f == F_NOKEY) {
		out_set(out, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING,
		    "no RRSIG over DNSKEY %s by key %u (the key %s matches)",
		    name_text(zn, zone), tag, by);
		out->key_tag = tag;
	} else if (f == F_NONE) {
		out_set(out, VAL_SECURE, 0,
		    "DNSKEY %s: key %u matches %s and signs the RRset",
		    name_text(zn, zone), out->key_tag, by);
	}
}

void
val_dnskey_by_ds(const uint8_t *zone, const ldns_rr_list *dnskeys,
    const ldns_rr_list *sigs, const ldns_rr_list *ds, uint64_t now,
    struct val_budget *b, struct val_outcome *out)
{
	char zn[NAME_TEXT];
	size_t nds = ds ? ldns_rr_list_rr_count(ds) : 0;
	size_t nkeys = dnskeys ? ldns_rr_list_rr_count(dnskeys) : 0;
	struct vouch v;
	uint16_t first_tag = 0;
	ldns_rr_list *matched;
	bool capped = false;

	/* Which DS records count: supported algorithm and digest, and of
	 * those only the strongest digest present (Unbound's favourite). */
	if (!vouch_begin(ds, zone, true, b, out, zn, &v))
		return;
	if (v.fav == 0) {
		if (v.bad_digest != 0)
			out_set(out, VAL_INSECURE,
			    DNS_EDE_UNSUPPORTED_DS_DIGEST,
			    "DS %s: digest type %u not supported (insecure)",
			    zn, v.bad_digest);
		else
			out_set(out, VAL_INSECURE,
			    DNS_EDE_UNSUPPORTED_DNSKEY_ALG,
			    "DS %s: algorithm %u not supported (insecure)", zn,
			    v.bad_alg);
		return;
	}
	if ((matched = matched_new(zone, dnskeys, out)) == NULL)
		return;
	for (size_t i = 0; i < nds; i++) {
		const ldns_rr *d = voucher(ds, i, zone, true);
		const ldns_rdf *digest;
		uint16_t tag;
		unsigned tried = 0;

		if (d == NULL || !val_alg_supported(rdf_u8(d, 1)) ||
		    rdf_u8(d, 2) != v.fav)
			continue;
		tag = rdf_u16(d, 0);
		digest = ldns_rr_rdf(d, 3);
		if (first_tag == 0)
			first_tag = tag;
		for (size_t k = 0; k < nkeys; k++) {
			ldns_rr *key = ldns_rr_list_rr(dnskeys, k);
			ldns_rr *calc;
			bool same;

			if (!key_usable(key) ||
			    rdf_u8(key, 2) != rdf_u8(d, 1) ||
			    ldns_calc_keytag(key) != tag)
				continue;
			if (tried++ == b->lim.max_keys_per_tag) {
				capped = true;
				break;
			}
			calc = ldns_key_rr2ds(key, (ldns_hash)v.fav);
			same = calc != NULL && ldns_rr_rd_count(calc) == 4 &&
			    ldns_rdf_compare(ldns_rr_rdf(calc, 3), digest) == 0;
			ldns_rr_free(calc);
			if (same && !matched_add(matched, key, out))
				return;
		}
	}
	if (ldns_rr_list_rr_count(matched) == 0 && capped) {
		/* KeyTrap-style key tag collisions: say which cap stopped it
		 * rather than claim that no key matches */
		out_set(out, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
		    "DS %u for %s: no match among the first %u DNSKEYs with "
		    "that tag (limit max_keys_per_tag)",
		    first_tag, zn, b->lim.max_keys_per_tag);
		out->key_tag = first_tag;
	} else if (ldns_rr_list_rr_count(matched) == 0) {
		out_set(out, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
		    "DS %u for %s: no DNSKEY matches", first_tag, zn);
		out->key_tag = first_tag;
	} else {
		dnskey_verify(
		    zone, dnskeys, sigs, matched, "a DS", now, b, out);
	}
	ldns_rr_list_free(matched);
}

/* Same key material: protocol, algorithm, public key. */
static bool
same_key(const ldns_rr *a, const ldns_rr *k)
{
	return rdf_u8(a, 1) == rdf_u8(k, 1) && rdf_u8(a, 2) == rdf_u8(k, 2) &&
	    ldns_rdf_compare(ldns_rr_rdf(a, 3), ldns_rr_rdf(k, 3)) == 0;
}

void
val_dnskey_by_keys(const uint8_t *zone, const ldns_rr_list *dnskeys,
    const ldns_rr_list *sigs, const ldns_rr_list *anchor_keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out)
{
	char zn[NAME_TEXT];
	size_t na = anchor_keys ? ldns_rr_list_rr_count(anchor_keys) : 0;
	struct vouch v;
	ldns_rr_list *matched;

	if (!vouch_begin(anchor_keys, zone, false, b, out, zn, &v))
		return;
	if (v.nsup == 0) {
		out_set(out, VAL_INSECURE, DNS_EDE_UNSUPPORTED_DNSKEY_ALG,
		    "DNSKEY %s: algorithm %u not supported (insecure)", zn,
		    v.bad_alg);
		return;
	}
	if ((matched = matched_new(zone, dnskeys, out)) == NULL)
		return;
	for (size_t i = 0; i < na; i++) {
		const ldns_rr *a = voucher(anchor_keys, i, zone, false);
		if (a == NULL || !val_alg_supported(rdf_u8(a, 2)))
			continue;
		for (size_t k = 0; k < ldns_rr_list_rr_count(dnskeys); k++) {
			ldns_rr *key = ldns_rr_list_rr(dnskeys, k);
			if (key_usable(key) && same_key(a, key) &&
			    !matched_add(matched, key, out))
				return;
		}
	}
	if (ldns_rr_list_rr_count(matched) == 0) {
		out_set(out, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
		    "DNSKEY %s: no key matches trust anchor %u", zn,
		    v.first_tag);
		out->key_tag = v.first_tag;
	} else {
		dnskey_verify(zone, dnskeys, sigs, matched, "a trust anchor",
		    now, b, out);
	}
	ldns_rr_list_free(matched);
}

void
val_dnskey_by_anchor(const struct ta_anchor *ta, const ldns_rr_list *dnskeys,
    const ldns_rr_list *sigs, uint64_t now, struct val_budget *b,
    struct val_outcome *out)
{
	struct val_outcome o;
	bool have_bogus = false, have = false;

	out_init(out);
	if (ta->ds != NULL && ldns_rr_list_rr_count(ta->ds) > 0) {
		val_dnskey_by_ds(ta->zone, dnskeys, sigs, ta->ds, now, b, &o);
		if (o.state == VAL_SECURE) {
			*out = o;
			return;
		}
		*out = o;
		have = true;
		have_bogus = o.state == VAL_BOGUS;
	}
	if (ta->dnskey != NULL && ldns_rr_list_rr_count(ta->dnskey) > 0) {
		val_dnskey_by_keys(
		    ta->zone, dnskeys, sigs, ta->dnskey, now, b, &o);
		if (o.state == VAL_SECURE || !have ||
		    (!have_bogus && o.state == VAL_BOGUS)) {
			*out = o;
			return;
		}
	}
	if (!have) {
		char zn[NAME_TEXT];
		out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "empty trust anchor for %s", name_text(zn, ta->zone));
	}
}

/* ------------------------------------------------- proofs: the frame */

struct n3rec {
	const ldns_rr *rr;
	uint8_t hash[N3_HASH_LEN]; /* of the owner */
	uint8_t next[N3_HASH_LEN];
	bool optout;
};

#define PROOF_DONE_MAX 16
#define PROOF_HASH_MAX 16

struct proof {
	const uint8_t *zone;
	const ldns_rr_list *auth, *keys;
	uint64_t now;
	struct val_budget *b;
	struct val_outcome *out;
	bool abort;  /* out is final (budget cap, no memory) */
	bool failed; /* a record relied on failed: see fail */
	struct val_outcome fail;
	uint32_t ttl_cap;
	uint16_t key_tag;
	char why[VAL_WHY_MAX]; /* what was not proven */
	/* RRsets verified in this call, by their first record */
	struct {
		const ldns_rr *rr;
		bool ok;
	} done[PROOF_DONE_MAX];
	size_t ndone;
	/* NSEC3: the usable records and their one parameter set */
	struct n3rec *n3;
	size_t nn3;
	const ldns_rr *n3_unknown; /* a record of an unknown hash */
	uint16_t iterations;
	uint8_t saltlen;
	const uint8_t *salt;
	struct {
		uint8_t name[LIM_NAME_MAX];
		uint8_t hash[N3_HASH_LEN];
	} hc[PROOF_HASH_MAX];
	size_t nhc;
};

/* Verify the RRset (owner and type of @p rr) in the authority section. */
static bool
proof_verify(struct proof *p, const ldns_rr *rr)
{
	const uint8_t *owner = rr_owner(rr);
	uint16_t type = rr_type(rr);
	ldns_rr_list *set, *sigs;
	struct val_outcome o;
	enum fail f;

	for (size_t i = 0; i < p->ndone; i++) {
		const ldns_rr *d = p->done[i].rr;
		if (rr_type(d) == type && dns_name_eq(rr_owner(d), owner))
			return p->done[i].ok;
	}
	if (val_split(p->auth, owner, type, &set, &sigs) < 0) {
		out_set(p->out, VAL_BOGUS, DNS_EDE_OTHER, "out of memory");
		p->abort = true;
		return false;
	}
	f = verify(p->zone, set, sigs, p->keys, p->now, p->b, &o, NULL);
	ldns_rr_list_free(set);
	ldns_rr_list_free(sigs);
	if (f == F_CAP) {
		*p->out = o;
		p->abort = true;
		return false;
	}
	if (f == F_NONE) {
		if (o.ttl_cap < p->ttl_cap)
			p->ttl_cap = o.ttl_cap;
		p->key_tag = o.key_tag;
	} else if (!p->failed) {
		p->fail = o;
		p->failed = true;
	}
	if (p->ndone < PROOF_DONE_MAX) {
		p->done[p->ndone].rr = rr;
		p->done[p->ndone++].ok = f == F_NONE;
	}
	return f == F_NONE;
}

/* The outcome of proof @p p: @p st with EDE @p ede and the reason, with
 * the TTL cap (none when bogus) and key tag of the signatures relied on. */
__attribute__((format(printf, 4, 5))) static void
proof_set(
    struct proof *p, enum val_state st, uint16_t ede, const char *fmt, ...)
{
	va_list ap;

	p->out->state = st;
	p->out->ede = ede;
	p->out->ttl_cap = st == VAL_BOGUS ? UINT32_MAX : p->ttl_cap;
	p->out->key_tag = p->key_tag;
	va_start(ap, fmt);
	vsnprintf(p->out->why, sizeof(p->out->why), fmt, ap);
	va_end(ap);
}

#define proof_secure(p, ...)        proof_set(p, VAL_SECURE, 0, __VA_ARGS__)
#define proof_insecure(p, ede, ...) proof_set(p, VAL_INSECURE, ede, __VA_ARGS__)
/* Bogus for what a verified record says (its signature is fine): EDE 12. */
#define proof_contradicts(p, ...) \
	proof_set(p, VAL_BOGUS, DNS_EDE_NSEC_MISSING, __VA_ARGS__)

/* Not proven: the failure of a signature relied on if there was one, else
 * EDE 12 with the text given. */
__attribute__((format(printf, 2, 3))) static void
proof_bogus(struct proof *p, const char *fmt, ...)
{
	va_list ap;

	if (p->abort)
		return;
	if (p->failed) {
		*p->out = p->fail;
		return;
	}
	p->out->state = VAL_BOGUS;
	p->out->ede = DNS_EDE_NSEC_MISSING;
	p->out->ttl_cap = UINT32_MAX;
	p->out->key_tag = 0;
	va_start(ap, fmt);
	vsnprintf(p->out->why, sizeof(p->out->why), fmt, ap);
	va_end(ap);
}

/* Bitmap of an NSEC (field 1) or NSEC3 (field 5) has @p type. */
static bool
has_type(const ldns_rr *rr, uint16_t type)
{
	size_t i = rr_type(rr) == DNS_T_NSEC ? 1 : 5;
	const ldns_rdf *bm = ldns_rr_rdf(rr, i);

	if (bm == NULL || ldns_rdf_get_type(bm) != LDNS_RDF_TYPE_BITMAP)
		return false;
	return ldns_nsec_bitmap_covers_type(bm, (ldns_rr_type)type);
}

/* "*." + @p ce into @p out; false if too long. */
static bool
wild_of(uint8_t out[LIM_NAME_MAX], const uint8_t *ce)
{
	size_t l = dns_name_len(ce, LIM_NAME_MAX);

	if (l == 0 || l + 2 > LIM_NAME_MAX)
		return false;
	out[0] = 1;
	out[1] = '*';
	memcpy(out + 2, ce, l);
	return true;
}

static void
proof_init(struct proof *p, const uint8_t *zone, const ldns_rr_list *authority,
    const ldns_rr_list *keys, uint64_t now, struct val_budget *b,
    struct val_outcome *out)
{
	memset(p, 0, sizeof(*p));
	p->zone = zone;
	p->auth = authority;
	p->keys = keys;
	p->now = now;
	p->b = b;
	p->out = out;
	p->ttl_cap = UINT32_MAX;
	out_init(out);
}

/* ---------------------------------------------------------------- NSEC */

static const uint8_t *
nsec_next(const ldns_rr *rr)
{
	return rdf_name(ldns_rr_rdf(rr, 0));
}

/* An NSEC of the zone, with names we can read. */
static bool
nsec_usable(const struct proof *p, const ldns_rr *rr)
{
	const uint8_t *o, *n;

	if (rr_type(rr) != DNS_T_NSEC || ldns_rr_rd_count(rr) < 1)
		return false;
	o = rr_owner(rr);
	n = nsec_next(rr);
	return o != NULL && n != NULL && dns_name_under(o, p->zone) &&
	    dns_name_under(n, p->zone);
}

/* @p nsec proves that @p name does not exist (RFC 4035 5.4; as Unbound's
 * val_nsec_proves_name_error). */
static bool
nsec_proves_nx(const ldns_rr *nsec, const uint8_t *name)
{
	const uint8_t *owner = rr_owner(nsec), *next = nsec_next(nsec);
	int c;

	if (dns_name_eq(name, owner))
		return false;
	/* below a delegation or a DNAME the NSEC proves nothing */
	if (dns_name_under(name, owner) &&
	    (has_type(nsec, DNS_T_DNAME) ||
	        (has_type(nsec, DNS_T_NS) && !has_type(nsec, DNS_T_SOA))))
		return false;
	c = dns_name_cmp(owner, next);
	if (c == 0) /* the only NSEC of the zone */
		return dns_name_below(name, next);
	if (c > 0) /* the last NSEC: next is the apex */
		return dns_name_cmp(owner, name) < 0 &&
		    dns_name_below(name, next);
	return dns_name_cmp(owner, name) < 0 && dns_name_cmp(name, next) < 0;
}

/* Labels of the closest encloser of @p name that @p nsec shows. */
static unsigned
nsec_ce_labels(const ldns_rr *nsec, const uint8_t *name)
{
	unsigned a = dns_name_labels(dns_name_common(name, rr_owner(nsec)));
	unsigned b = dns_name_labels(dns_name_common(name, nsec_next(nsec)));

	return a > b ? a : b;
}

/* The first verified NSEC that proves @p name absent (and, if @p ce_labels
 * is not 0, shows a closest encloser of that many labels). */
static const ldns_rr *
nsec_find_nx(struct proof *p, const uint8_t *name, unsigned ce_labels)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(p->auth) && !p->abort;
	     i++) {
		const ldns_rr *rr = ldns_rr_list_rr(p->auth, i);
		if (nsec_usable(p, rr) && nsec_proves_nx(rr, name) &&
		    (ce_labels == 0 || nsec_ce_labels(rr, name) == ce_labels) &&
		    proof_verify(p, rr))
			return rr;
	}
	return NULL;
}

static void
nsec_nxdomain(struct proof *p, const uint8_t *qname)
{
	char qn[NAME_TEXT], wn[NAME_TEXT];
	uint8_t wild[LIM_NAME_MAX];
	const ldns_rr *cover = nsec_find_nx(p, qname, 0);
	unsigned cel, zl = dns_name_labels(p->zone);

	name_text(qn, qname);
	if (cover == NULL) {
		proof_bogus(p, "no NSEC proves that %s does not exist", qn);
		return;
	}
	cel = nsec_ce_labels(cover, qname);
	if (cel < zl)
		cel = zl;
	if (!wild_of(wild, dns_name_suffix(qname, cel))) {
		proof_bogus(p, "no wildcard name for %s", qn);
		return;
	}
	name_text(wn, wild);
	if (nsec_find_nx(p, wild, 0) == NULL) {
		proof_bogus(p, "no NSEC proves that %s does not exist", wn);
		return;
	}
	proof_secure(p, "NSEC proves that %s and %s do not exist", qn, wn);
}

/* The wildcard NODATA case: an NSEC matching "*.ce" without the type,
 * and one proving qname absent with that closest encloser. */
static bool
nsec_wild_nodata(struct proof *p, const uint8_t *qname, uint16_t qtype)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(p->auth) && !p->abort;
	     i++) {
		const ldns_rr *rr = ldns_rr_list_rr(p->auth, i);
		const uint8_t *o = rr_owner(rr), *ce;
		char qn[NAME_TEXT], wn[NAME_TEXT], tb[DNS_MNEMONIC_MAX];

		if (!nsec_usable(p, rr) || o[0] != 1 || o[1] != '*')
			continue;
		ce = dns_name_parent(o);
		if (!dns_name_below(qname, ce) || has_type(rr, qtype) ||
		    (qtype != DNS_T_CNAME && has_type(rr, DNS_T_CNAME)) ||
		    (has_type(rr, DNS_T_NS) && !has_type(rr, DNS_T_SOA)) ||
		    !proof_verify(p, rr))
			continue;
		if (nsec_find_nx(p, qname, dns_name_labels(ce)) == NULL)
			continue;
		proof_secure(p, "NSEC %s proves no %s at %s (wildcard NODATA)",
		    name_text(wn, o), dns_type_str(qtype, tb),
		    name_text(qn, qname));
		return true;
	}
	return false;
}

/* What the type bitmap of @p rr (@p kind "NSEC" or "NSEC3", owned by or
 * matching @p qname) says of (qname, qtype): NODATA proven (secure), or a
 * contradiction (the type, a CNAME, the parent side of a delegation for a
 * type other than DS, the child's apex for DS). */
static void
nodata_verdict(struct proof *p, const ldns_rr *rr, const char *kind,
    const uint8_t *qname, uint16_t qtype, bool *delegation)
{
	char qn[NAME_TEXT], tb[DNS_MNEMONIC_MAX];
	const char *tn = dns_type_str(qtype, tb);

	name_text(qn, qname);
	if (has_type(rr, qtype))
		proof_contradicts(p, "%s %s has %s: no NODATA", kind, qn, tn);
	else if (qtype != DNS_T_CNAME && has_type(rr, DNS_T_CNAME))
		proof_contradicts(
		    p, "%s %s has CNAME: no NODATA for %s", kind, qn, tn);
	else if (qtype != DNS_T_DS && has_type(rr, DNS_T_NS) &&
	    !has_type(rr, DNS_T_SOA))
		proof_contradicts(p,
		    "%s %s is the parent side of a delegation: no NODATA for "
		    "%s",
		    kind, qn, tn);
	else if (qtype == DNS_T_DS && has_type(rr, DNS_T_SOA) && qname[0] != 0)
		proof_contradicts(p,
		    "%s %s is the child zone's (SOA): no NODATA for DS", kind,
		    qn);
	else {
		if (delegation != NULL)
			*delegation = has_type(rr, DNS_T_NS);
		proof_secure(p, "%s %s proves no %s", kind, qn, tn);
	}
}

static void
nsec_nodata(
    struct proof *p, const uint8_t *qname, uint16_t qtype, bool *delegation)
{
	char qn[NAME_TEXT], tb[DNS_MNEMONIC_MAX];
	const char *tn = dns_type_str(qtype, tb);

	name_text(qn, qname);
	/* an NSEC at qname */
	for (size_t i = 0; i < ldns_rr_list_rr_count(p->auth) && !p->abort;
	     i++) {
		const ldns_rr *rr = ldns_rr_list_rr(p->auth, i);
		if (!nsec_usable(p, rr) || !dns_name_eq(rr_owner(rr), qname) ||
		    !proof_verify(p, rr))
			continue;
		nodata_verdict(p, rr, "NSEC", qname, qtype, delegation);
		return;
	}
	/* qname is an empty non-terminal: the NSEC before it leads below */
	for (size_t i = 0; i < ldns_rr_list_rr_count(p->auth) && !p->abort;
	     i++) {
		const ldns_rr *rr = ldns_rr_list_rr(p->auth, i);
		if (nsec_usable(p, rr) &&
		    dns_name_cmp(rr_owner(rr), qname) < 0 &&
		    dns_name_below(nsec_next(rr), qname) &&
		    proof_verify(p, rr)) {
			proof_secure(p,
			    "NSEC proves %s is an empty non-terminal: no %s",
			    qn, tn);
			return;
		}
	}
	if (!p->abort && nsec_wild_nodata(p, qname, qtype))
		return;
	proof_bogus(p, "no NSEC proves that %s has no %s", qn, tn);
}

static void
nsec_wildcard(struct proof *p, const uint8_t *qname, unsigned wl)
{
	char qn[NAME_TEXT];

	name_text(qn, qname);
	if (nsec_find_nx(p, qname, wl) != NULL)
		proof_secure(p,
		    "NSEC proves that %s does not exist (wildcard answer)", qn);
	else
		proof_bogus(p,
		    "no NSEC proves that %s does not exist (wildcard answer)",
		    qn);
}

/* --------------------------------------------------------------- NSEC3 */

/* Gather the usable NSEC3 records of the zone with one parameter set. */
static bool
n3_collect(struct proof *p)
{
	size_t n = ldns_rr_list_rr_count(p->auth);
	unsigned zl = dns_name_labels(p->zone);

	if ((p->n3 = calloc(n ? n : 1, sizeof(*p->n3))) == NULL) {
		out_set(p->out, VAL_BOGUS, DNS_EDE_OTHER, "out of memory");
		p->abort = true;
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(p->auth, i);
		const uint8_t *o = rr_owner(rr);
		const ldns_rdf *salt, *next;
		struct n3rec *r = &p->n3[p->nn3];

		if (rr_type(rr) != DNS_T_NSEC3 || o == NULL ||
		    dns_name_labels(o) != zl + 1 ||
		    !dns_name_eq(dns_name_parent(o), p->zone) ||
		    ldns_rr_rd_count(rr) < 5 || rdf_fixed(rr, 0, 1) == NULL ||
		    rdf_fixed(rr, 1, 1) == NULL || rdf_fixed(rr, 2, 2) == NULL)
			continue;
		if (rdf_u8(rr, 0) != 1) { /* hash algorithm: only SHA-1 */
			if (p->n3_unknown == NULL)
				p->n3_unknown = rr;
			continue;
		}
		if (rdf_u8(rr, 1) > 1) /* flags other than opt-out */
			continue;
		salt = ldns_rr_rdf(rr, 3);
		next = ldns_rr_rdf(rr, 4);
		if (salt == NULL || ldns_rdf_size(salt) < 1 ||
		    ldns_rdf_size(salt) != 1u + ldns_rdf_data(salt)[0] ||
		    next == NULL || ldns_rdf_size(next) != 1 + N3_HASH_LEN ||
		    ldns_rdf_data(next)[0] != N3_HASH_LEN ||
		    ldns_b32_pton_extended_hex((const char *)o + 1, o[0],
		        r->hash, N3_HASH_LEN) != N3_HASH_LEN)
			continue;
		if (p->nn3 == 0) {
			p->iterations = rdf_u16(rr, 2);
			p->saltlen = ldns_rdf_data(salt)[0];
			p->salt = ldns_rdf_data(salt) + 1;
		} else if (rdf_u16(rr, 2) != p->iterations ||
		    ldns_rdf_data(salt)[0] != p->saltlen ||
		    memcmp(ldns_rdf_data(salt) + 1, p->salt, p->saltlen) != 0) {
			continue; /* another parameter set */
		}
		memcpy(r->next, ldns_rdf_data(next) + 1, N3_HASH_LEN);
		r->optout = rdf_u8(rr, 1) & 1;
		r->rr = rr;
		p->nn3++;
	}
	return true;
}

/* Before any NSEC3 proof: records to work with, and a cost we accept.
 * false when the outcome is decided. */
static bool
n3_start(struct proof *p)
{
	char zn[NAME_TEXT];

	if (!n3_collect(p))
		return false;
	name_text(zn, p->zone);
	if (p->nn3 == 0) {
		if (p->n3_unknown != NULL && proof_verify(p, p->n3_unknown))
			proof_insecure(p, DNS_EDE_OTHER,
			    "NSEC3 hash algorithm %u of %s not supported "
			    "(insecure)",
			    rdf_u8(p->n3_unknown, 0), zn);
		else
			proof_bogus(p, "no usable NSEC3 record of %s", zn);
		return false;
	}
	if (p->iterations > p->b->lim.max_nsec3_iterations) {
		if (proof_verify(p, p->n3[0].rr))
			proof_insecure(p, DNS_EDE_UNSUPPORTED_NSEC3_ITER,
			    "NSEC3 iterations %u of %s exceed %u (insecure)",
			    p->iterations, zn, p->b->lim.max_nsec3_iterations);
		else
			proof_bogus(p, "no NSEC3 of %s verifies", zn);
		return false;
	}
	return true;
}

/* The NSEC3 hash of @p name (cached in the call, charged when computed). */
static bool
n3_hash(struct proof *p, const uint8_t *name, uint8_t hash[N3_HASH_LEN])
{
	size_t len = dns_name_len(name, LIM_NAME_MAX);
	ldns_rdf *n, *h;
	bool ok;

	for (size_t i = 0; i < p->nhc; i++)
		if (dns_name_eq(p->hc[i].name, name)) {
			memcpy(hash, p->hc[i].hash, N3_HASH_LEN);
			return true;
		}
	if (!charge_hash(p->b)) {
		out_cap(p->out, p->b, p->zone);
		p->abort = true;
		return false;
	}
	n = ldns_dname_new_frm_data((uint16_t)len, name);
	h = n ? ldns_nsec3_hash_name(n, 1, p->iterations, p->saltlen, p->salt)
	      : NULL;
	ok = h != NULL && ldns_rdf_size(h) >= 2 &&
	    ldns_b32_pton_extended_hex((const char *)ldns_rdf_data(h) + 1,
	        ldns_rdf_data(h)[0], hash, N3_HASH_LEN) == N3_HASH_LEN;
	ldns_rdf_deep_free(n);
	ldns_rdf_deep_free(h);
	if (!ok) {
		out_set(p->out, VAL_BOGUS, DNS_EDE_OTHER,
		    "NSEC3 hash failed (out of memory)");
		p->abort = true;
		return false;
	}
	if (p->nhc < PROOF_HASH_MAX) {
		dns_name_lower(p->hc[p->nhc].name, name);
		memcpy(p->hc[p->nhc++].hash, hash, N3_HASH_LEN);
	}
	return true;
}

static const struct n3rec *
n3_match(const struct proof *p, const uint8_t hash[N3_HASH_LEN])
{
	for (size_t i = 0; i < p->nn3; i++)
		if (memcmp(p->n3[i].hash, hash, N3_HASH_LEN) == 0)
			return &p->n3[i];
	return NULL;
}

static bool
n3_covers(const struct n3rec *r, const uint8_t hash[N3_HASH_LEN])
{
	int c = memcmp(r->hash, r->next, N3_HASH_LEN);

	if (c < 0)
		return memcmp(r->hash, hash, N3_HASH_LEN) < 0 &&
		    memcmp(hash, r->next, N3_HASH_LEN) < 0;
	/* the last in hash order (wraps), or the only one */
	return memcmp(hash, r->hash, N3_HASH_LEN) > 0 ||
	    memcmp(hash, r->next, N3_HASH_LEN) < 0;
}

/* The first verified NSEC3 covering the hash of @p name, or NULL. */
static const struct n3rec *
n3_find_cover(struct proof *p, const uint8_t *name)
{
	uint8_t h[N3_HASH_LEN];

	if (!n3_hash(p, name, h))
		return NULL;
	for (size_t i = 0; i < p->nn3 && !p->abort; i++)
		if (n3_covers(&p->n3[i], h) && proof_verify(p, p->n3[i].rr))
			return &p->n3[i];
	return NULL;
}

enum ce_result {
	CE_OK,
	CE_QNAME,
	CE_FAIL
};

struct ce_proof {
	const uint8_t *ce, *nc; /* closest encloser, next closer name */
	const struct n3rec *ce_rr, *nc_rr; /* matching, covering */
};

/* The closest encloser proof of @p qname (RFC 5155 8.3). CE_QNAME: an
 * NSEC3 matches qname itself (c->ce_rr, not verified). CE_FAIL: p->why. */
static enum ce_result
n3_closest_encloser(struct proof *p, const uint8_t *qname, struct ce_proof *c)
{
	unsigned zl = dns_name_labels(p->zone), ql = dns_name_labels(qname);
	const uint8_t *prev = NULL;
	char a[NAME_TEXT], z[NAME_TEXT];

	memset(c, 0, sizeof(*c));
	if (ql < zl || !dns_name_under(qname, p->zone)) {
		textf(p->why, sizeof(p->why), "%s is not in zone %s",
		    name_text(a, qname), name_text(z, p->zone));
		return CE_FAIL;
	}
	for (unsigned l = ql;; l--) {
		const uint8_t *s = dns_name_suffix(qname, l);
		const struct n3rec *m;
		uint8_t h[N3_HASH_LEN];

		if (!n3_hash(p, s, h))
			return CE_FAIL;
		if ((m = n3_match(p, h)) != NULL) {
			c->ce = s;
			c->ce_rr = m;
			if (l == ql)
				return CE_QNAME;
			if (!proof_verify(p, m->rr))
				return CE_FAIL;
			if (has_type(m->rr, DNS_T_DNAME) ||
			    (has_type(m->rr, DNS_T_NS) &&
			        !has_type(m->rr, DNS_T_SOA))) {
				textf(p->why, sizeof(p->why),
				    "closest encloser %s of %s is a delegation "
				    "or a DNAME",
				    name_text(a, s), name_text(z, qname));
				return CE_FAIL;
			}
			c->nc = prev;
			c->nc_rr = n3_find_cover(p, prev);
			if (c->nc_rr == NULL) {
				textf(p->why, sizeof(p->why),
				    "no NSEC3 covers the next closer name %s",
				    name_text(a, prev));
				return CE_FAIL;
			}
			return CE_OK;
		}
		prev = s;
		if (l == zl)
			break;
	}
	textf(p->why, sizeof(p->why),
	    "no NSEC3 matches an ancestor of %s in %s", name_text(a, qname),
	    name_text(z, p->zone));
	return CE_FAIL;
}

/* An opt-out NSEC3 covers the next closer name of @p c: what is below it
 * may be an unsigned delegation, insecure (RFC 5155 8.3, 8.6). @return
 * whether it is so (and said). */
static bool
n3_optout(struct proof *p, const struct ce_proof *c)
{
	char nn[NAME_TEXT];

	if (!c->nc_rr->optout)
		return false;
	proof_insecure(
	    p, 0, "opt-out NSEC3 covers %s (insecure)", name_text(nn, c->nc));
	return true;
}

static void
n3_nxdomain(struct proof *p, const uint8_t *qname)
{
	char qn[NAME_TEXT], wn[NAME_TEXT];
	uint8_t wild[LIM_NAME_MAX], h[N3_HASH_LEN];
	struct ce_proof c;
	const struct n3rec *m;

	if (!n3_start(p))
		return;
	name_text(qn, qname);
	switch (n3_closest_encloser(p, qname, &c)) {
	case CE_QNAME:
		if (proof_verify(p, c.ce_rr->rr))
			proof_contradicts(
			    p, "NSEC3 matches %s: the name exists", qn);
		else
			proof_bogus(p, "NSEC3 matching %s", qn);
		return;
	case CE_FAIL:
		proof_bogus(p, "%s", p->why);
		return;
	case CE_OK:
		break;
	}
	if (!wild_of(wild, c.ce)) {
		proof_bogus(p, "no wildcard name for %s", qn);
		return;
	}
	name_text(wn, wild);
	if (!n3_hash(p, wild, h))
		return;
	if ((m = n3_match(p, h)) != NULL && proof_verify(p, m->rr)) {
		proof_contradicts(p,
		    "NSEC3 shows that %s exists: %s cannot be "
		    "NXDOMAIN",
		    wn, qn);
		return;
	}
	if (n3_find_cover(p, wild) == NULL) {
		proof_bogus(p, "no NSEC3 proves that %s does not exist", wn);
		return;
	}
	if (!n3_optout(p, &c))
		proof_secure(
		    p, "NSEC3 proves that %s and %s do not exist", qn, wn);
}

static void
n3_nodata(
    struct proof *p, const uint8_t *qname, uint16_t qtype, bool *delegation)
{
	char qn[NAME_TEXT], wn[NAME_TEXT], tb[DNS_MNEMONIC_MAX];
	const char *tn = dns_type_str(qtype, tb);
	uint8_t h[N3_HASH_LEN], wild[LIM_NAME_MAX];
	const struct n3rec *m;
	struct ce_proof c;

	if (!n3_start(p))
		return;
	name_text(qn, qname);
	if (!n3_hash(p, qname, h))
		return;
	if ((m = n3_match(p, h)) != NULL) {
		const ldns_rr *rr = m->rr;
		if (!proof_verify(p, rr))
			proof_bogus(p, "NSEC3 matching %s", qn);
		else
			nodata_verdict(
			    p, rr, "NSEC3", qname, qtype, delegation);
		return;
	}
	switch (n3_closest_encloser(p, qname, &c)) {
	case CE_QNAME: /* not possible: no match for qname */
	case CE_FAIL:
		proof_bogus(p, "%s", p->why);
		return;
	case CE_OK:
		break;
	}
	if (qtype == DNS_T_DS) {
		if (c.nc_rr->optout) {
			if (delegation != NULL)
				*delegation = true;
			proof_insecure(p, 0,
			    "opt-out NSEC3 covers %s: no DS, insecure",
			    name_text(wn, c.nc));
		} else {
			proof_bogus(p,
			    "no NSEC3 matches %s and the cover of %s is not "
			    "opt-out",
			    qn, name_text(wn, c.nc));
		}
		return;
	}
	/* wildcard NODATA (8.7) */
	if (wild_of(wild, c.ce)) {
		if (!n3_hash(p, wild, h))
			return;
		m = n3_match(p, h);
		if (m != NULL && !has_type(m->rr, qtype) &&
		    (qtype == DNS_T_CNAME || !has_type(m->rr, DNS_T_CNAME)) &&
		    proof_verify(p, m->rr)) {
			proof_secure(p,
			    "NSEC3 %s proves no %s at %s (wildcard NODATA)",
			    name_text(wn, wild), tn, qn);
			return;
		}
		if (p->abort)
			return;
	}
	/* an empty non-terminal of an insecure delegation (errata 3441) */
	if (!n3_optout(p, &c))
		proof_bogus(p, "no NSEC3 proves that %s has no %s", qn, tn);
}

static void
n3_wildcard(struct proof *p, const uint8_t *qname, unsigned wl)
{
	char qn[NAME_TEXT], nn[NAME_TEXT];
	const uint8_t *nc;
	const struct n3rec *r;

	if (!n3_start(p))
		return;
	name_text(qn, qname);
	nc = dns_name_suffix(qname, wl + 1);
	name_text(nn, nc);
	if ((r = n3_find_cover(p, nc)) == NULL) {
		proof_bogus(p,
		    "no NSEC3 proves that %s does not exist (wildcard answer "
		    "for %s)",
		    nn, qn);
		return;
	}
	if (r->optout)
		proof_insecure(p, 0,
		    "opt-out NSEC3 covers %s (wildcard answer, insecure)", nn);
	else
		proof_secure(p,
		    "NSEC3 proves that %s does not exist (wildcard answer)",
		    nn);
}

/* ---------------------------------------------------- proofs: the API */

enum denial {
	DENIAL_NONE,
	DENIAL_NSEC,
	DENIAL_NSEC3
};

/* Which kind of proof the authority section holds for the zone. */
static enum denial
denial_kind(const struct proof *p)
{
	bool nsec3 = false;

	for (size_t i = 0; p->auth && i < ldns_rr_list_rr_count(p->auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(p->auth, i);
		const uint8_t *o = rr_owner(rr);
		if (o == NULL || !dns_name_under(o, p->zone))
			continue;
		if (nsec_usable(p, rr))
			return DENIAL_NSEC;
		if (rr_type(rr) == DNS_T_NSEC3)
			nsec3 = true;
	}
	return nsec3 ? DENIAL_NSEC3 : DENIAL_NONE;
}

/* Common start: false when decided already (budget, no records). */
static bool
proof_begin(struct proof *p, enum denial *kind, const uint8_t *qname)
{
	char qn[NAME_TEXT], zn[NAME_TEXT];

	if (p->b->exhausted) {
		out_cap(p->out, p->b, p->zone);
		return false;
	}
	if (!dns_name_under(qname, p->zone)) {
		out_set(p->out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
		    "%s is not in zone %s", name_text(qn, qname),
		    name_text(zn, p->zone));
		return false;
	}
	*kind = denial_kind(p);
	if (*kind == DENIAL_NONE) {
		out_set(p->out, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
		    "no NSEC or NSEC3 record of %s for %s",
		    name_text(zn, p->zone), name_text(qn, qname));
		return false;
	}
	return true;
}

/* The end of an NSEC proof that came out secure: which records of the
 * authority section it verified (val_outcome.nsec_verified). */
static void
proof_end(struct proof *p, enum denial kind)
{
	size_t n = ldns_rr_list_rr_count(p->auth);

	if (kind != DENIAL_NSEC || p->out->state != VAL_SECURE)
		return;
	for (size_t i = 0; i < n && i < 32; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(p->auth, i);

		if (rr_type(rr) != DNS_T_NSEC)
			continue;
		for (size_t k = 0; k < p->ndone; k++)
			if (p->done[k].ok &&
			    rr_type(p->done[k].rr) == DNS_T_NSEC &&
			    dns_name_eq(rr_owner(p->done[k].rr), rr_owner(rr)))
				p->out->nsec_verified |= 1u << i;
	}
}

/* Prove with @p p that @p qname does not exist (@p qtype NULL) or has no
 * *qtype (@p delegation as for nsec_nodata); with @p mark, say which NSEC
 * records a secure proof verified (proof_end). */
static void
prove_denial(struct proof *p, const uint8_t *qname, const uint16_t *qtype,
    bool *delegation, bool mark)
{
	enum denial kind;

	if (proof_begin(p, &kind, qname)) {
		if (qtype == NULL && kind == DENIAL_NSEC)
			nsec_nxdomain(p, qname);
		else if (qtype == NULL)
			n3_nxdomain(p, qname);
		else if (kind == DENIAL_NSEC)
			nsec_nodata(p, qname, *qtype, delegation);
		else
			n3_nodata(p, qname, *qtype, delegation);
		if (mark)
			proof_end(p, kind);
	}
	free(p->n3);
}

void
val_nxdomain(const uint8_t *qname, const ldns_rr_list *authority,
    const uint8_t *zone, const ldns_rr_list *keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out)
{
	struct proof p;

	proof_init(&p, zone, authority, keys, now, b, out);
	prove_denial(&p, qname, NULL, NULL, true);
}

void
val_nodata(const uint8_t *qname, uint16_t qtype, const ldns_rr_list *authority,
    const uint8_t *zone, const ldns_rr_list *keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out)
{
	struct proof p;

	proof_init(&p, zone, authority, keys, now, b, out);
	prove_denial(&p, qname, &qtype, NULL, true);
}

void
val_wildcard(const uint8_t *qname, unsigned wildcard_labels,
    const ldns_rr_list *authority, const uint8_t *zone,
    const ldns_rr_list *keys, uint64_t now, struct val_budget *b,
    struct val_outcome *out)
{
	struct proof p;
	enum denial kind;
	char qn[NAME_TEXT], zn[NAME_TEXT];

	proof_init(&p, zone, authority, keys, now, b, out);
	if (proof_begin(&p, &kind, qname)) {
		if (wildcard_labels >= dns_name_labels(qname) ||
		    wildcard_labels < dns_name_labels(zone))
			out_set(out, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
			    "wildcard of %u labels cannot give %s in %s",
			    wildcard_labels, name_text(qn, qname),
			    name_text(zn, zone));
		else if (kind == DENIAL_NSEC)
			nsec_wildcard(&p, qname, wildcard_labels);
		else
			n3_wildcard(&p, qname, wildcard_labels);
	}
	free(p.n3);
}

void
val_no_ds(const uint8_t *name, const ldns_rr_list *authority,
    const uint8_t *zone, const ldns_rr_list *keys, uint64_t now,
    struct val_budget *b, struct val_outcome *out, bool *delegation)
{
	struct proof p;
	uint16_t ds = DNS_T_DS;
	bool deleg = false;

	proof_init(&p, zone, authority, keys, now, b, out);
	prove_denial(&p, name, &ds, &deleg, false);
	if (delegation != NULL)
		*delegation = out->state != VAL_BOGUS && deleg;
}
