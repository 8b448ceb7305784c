/*
 * test_validate.c: unit tests of resolver/validate.c. Fixed keys (one per
 * algorithm, tests/unit/dnssec/keys.h), test zones signed here with ldns
 * at fixed inception and expiration, a fixed `now`. Every proof kind and
 * every failure kind, each with its state, EDE code and reason text; the
 * budget caps; and a real chain from the root (records of November 2024)
 * checked against the built-in root anchors.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "resolver/anchors.h"
#include "resolver/dns.h"
#include "resolver/validate.h"
#include "tests/unit/dnssec/keys.h"

#define NOW 1750000000ULL /* 2025-06-15T15:06:40Z */
#define INC 1740000000u   /* 2025-02-19T21:20:00Z */
#define EXP 1760000000u   /* 2025-10-09T08:53:20Z */

/* ---------------------------------------------------- test scaffolding */

/* Everything a test makes is freed after it: records (deep) and lists
 * (their records are borrowed). */
static ldns_rr_list *gc_rrs;
static ldns_rr_list *gc_lists[512];
static size_t gc_nlists;

static ldns_rr *
keep(ldns_rr *rr)
{
	assert_non_null(rr);
	assert_true(ldns_rr_list_push_rr(gc_rrs, rr));
	return rr;
}

static ldns_rr_list *
keep_list(ldns_rr_list *l)
{
	assert_non_null(l);
	assert_true(gc_nlists < sizeof(gc_lists) / sizeof(gc_lists[0]));
	gc_lists[gc_nlists++] = l;
	return l;
}

static int
setup(void **state)
{
	(void)state;
	gc_rrs = ldns_rr_list_new();
	gc_nlists = 0;
	return gc_rrs ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	ldns_rr_list_deep_free(gc_rrs);
	gc_rrs = NULL;
	for (size_t i = 0; i < gc_nlists; i++)
		ldns_rr_list_free(gc_lists[i]);
	gc_nlists = 0;
	return 0;
}

/* One record from presentation text (printf-style). */
__attribute__((format(printf, 1, 2))) static ldns_rr *
RR(const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	ldns_rr *rr = NULL;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (ldns_rr_new_frm_str(&rr, text, 3600, NULL, NULL) != LDNS_STATUS_OK)
		fail_msg("cannot parse: %s", text);
	return keep(rr);
}

/* A list of the records given (NULL-terminated); NULL entries of lists are
 * not allowed, so "L(NULL)" is the empty list. */
static ldns_rr_list *
L(ldns_rr *first, ...)
{
	ldns_rr_list *l = keep_list(ldns_rr_list_new());
	va_list ap;

	va_start(ap, first);
	for (ldns_rr *rr = first; rr != NULL; rr = va_arg(ap, ldns_rr *))
		assert_true(ldns_rr_list_push_rr(l, rr));
	va_end(ap);
	return l;
}

/* The concatenation of lists (NULL-terminated). */
static ldns_rr_list *
CAT(ldns_rr_list *first, ...)
{
	ldns_rr_list *l = keep_list(ldns_rr_list_new());
	va_list ap;

	va_start(ap, first);
	for (ldns_rr_list *x = first; x != NULL; x = va_arg(ap, ldns_rr_list *))
		for (size_t i = 0; i < ldns_rr_list_rr_count(x); i++)
			assert_true(
			    ldns_rr_list_push_rr(l, ldns_rr_list_rr(x, i)));
	va_end(ap);
	return l;
}

/* Static wire names, a slot per call. */
static const uint8_t *
N(const char *s)
{
	static uint8_t ring[16][LIM_NAME_MAX];
	static unsigned i;
	uint8_t *b = ring[i++ % 16];

	assert_true(dns_name_from_text(b, s) > 0);
	return b;
}

/* Wire names for the threads (N() is not thread-safe). */
static const uint8_t *
N_shared(void)
{
	return (const uint8_t *)"\7example";
}

static const uint8_t *
N_shared_c(void)
{
	return (const uint8_t *)"\1c\7example";
}

struct tkey {
	ldns_key *k;
	ldns_key_list *kl; /* holding k, for ldns_sign_public (owns k) */
	ldns_rr *dnskey;   /* owned here */
	uint16_t tag;
};

/* Load a private key, for owner @p owner with @p flags. */
static void
key_load(struct tkey *t, const char *priv, const char *owner, uint16_t flags)
{
	FILE *f = fmemopen((void *)priv, strlen(priv), "r");
	ldns_rdf *o = ldns_dname_new_frm_str(owner);

	assert_non_null(f);
	assert_int_equal(ldns_key_new_frm_fp(&t->k, f), LDNS_STATUS_OK);
	fclose(f);
	ldns_key_set_pubkey_owner(t->k, o);
	ldns_key_set_flags(t->k, flags);
	t->dnskey = ldns_key2rr(t->k);
	assert_non_null(t->dnskey);
	ldns_rr_set_ttl(t->dnskey, 3600);
	t->tag = ldns_calc_keytag(t->dnskey);
	ldns_key_set_keytag(t->k, t->tag);
	/* one list per key for good: ldns_key_list_pop_key() of the last
	 * key frees the array that ldns_key_list_free() frees again */
	t->kl = ldns_key_list_new();
	assert_non_null(t->kl);
	assert_true(ldns_key_list_push_key(t->kl, t->k));
}

static void
key_free(struct tkey *t)
{
	ldns_key_list_free(t->kl);
	ldns_rr_free(t->dnskey);
}

/* The RRSIG of @p k over @p rrset, valid from @p inc to @p exp. */
static ldns_rr *
SIGN(
    const struct tkey *k, const ldns_rr_list *rrset, uint32_t inc, uint32_t exp)
{
	ldns_rr_list *sigs;
	ldns_rr *sig;

	ldns_key_set_inception(k->k, inc);
	ldns_key_set_expiration(k->k, exp);
	sigs = ldns_sign_public((ldns_rr_list *)rrset, k->kl);
	assert_non_null(sigs);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	sig = ldns_rr_list_pop_rr(sigs);
	ldns_rr_list_free(sigs);
	return keep(sig);
}

/* Replace rdata field @p i of @p rr. */
static void
set_rdf(ldns_rr *rr, size_t i, ldns_rdf *f)
{
	ldns_rdf_deep_free(ldns_rr_set_rdf(rr, f, i));
}

/* Flip a bit of an RRSIG's signature. */
static void
spoil_sig(ldns_rr *sig, size_t at)
{
	ldns_rdf *s = ldns_rr_rdf(sig, 8);

	ldns_rdf_data(s)[at % ldns_rdf_size(s)] ^= 0x01;
}

#define assert_outcome(o, st, code, text)             \
	do {                                          \
		assert_string_equal((o).why, (text)); \
		assert_int_equal((o).state, (st));    \
		assert_int_equal((o).ede, (code));    \
	} while (0)

/* The keys of the test zone "example." and others, loaded once. */
static struct tkey ksk, zsk, other, alg[8];
static const struct {
	const char *priv;
	uint8_t alg;
} algs[8] = {{KEY_RSASHA1, 5}, {KEY_RSASHA1_NSEC3, 7}, {KEY_RSASHA256, 8},
    {KEY_RSASHA512, 10}, {KEY_P256_ZSK, 13}, {KEY_P384, 14}, {KEY_ED25519, 15},
    {KEY_ED448, 16}};

static int
group_setup(void **state)
{
	(void)state;
	key_load(&ksk, KEY_P256_KSK, "example.", 257);
	key_load(&zsk, KEY_P256_ZSK, "example.", 256);
	key_load(&other, KEY_ED25519, "other.example.", 256);
	for (size_t i = 0; i < 8; i++)
		key_load(&alg[i], algs[i].priv, "example.", 256);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	key_free(&ksk);
	key_free(&zsk);
	key_free(&other);
	for (size_t i = 0; i < 8; i++)
		key_free(&alg[i]);
	return 0;
}

/* The second run of every test checks signatures with kept keys (the
 * daemon's way: struct val_keys, check_sig); the first builds each key
 * as ldns_verify_rrsig_time does. The verdicts must be the same. */
static struct val_keys kept_keys;
static struct val_keys *kept;

static struct val_budget
budget(void)
{
	struct val_budget b;

	val_budget_init(&b, NULL);
	b.keys = kept;
	return b;
}

/* The zone's DNSKEY RRset: KSK and ZSK. */
static ldns_rr_list *
zone_keys(void)
{
	return L(ksk.dnskey, zsk.dnskey, NULL);
}

static ldns_rr_list *
www_a(void)
{
	return L(RR("www.example. 300 IN A 192.0.2.1"),
	    RR("www.example. 300 IN A 192.0.2.2"), NULL);
}

/* ------------------------------------------------------- helpers, API */

static void
helpers(void **state)
{
	struct val_budget b;
	struct val_limits lim = {.max_sig_checks = 5};
	ldns_rr_list *sec, *set = NULL, *sigs = NULL;
	ldns_rr_list *www;

	(void)state;
	assert_true(val_alg_supported(8));
	assert_true(val_alg_supported(13));
	assert_true(val_alg_supported(16));
	assert_true(val_alg_supported(5));
	assert_false(val_alg_supported(1));
	assert_false(val_alg_supported(3));
	assert_false(val_alg_supported(12));
	assert_false(val_alg_supported(200));
	assert_true(val_digest_supported(1));
	assert_true(val_digest_supported(2));
	assert_true(val_digest_supported(4));
	assert_false(val_digest_supported(3));
	assert_false(val_digest_supported(0));
	assert_string_equal(val_state_str(VAL_SECURE), "secure");
	assert_string_equal(val_state_str(VAL_BOGUS), "bogus");
	assert_string_equal(val_state_str(VAL_INSECURE), "insecure");
	assert_string_equal(val_state_str(VAL_INDETERMINATE), "indeterminate");

	val_budget_init(&b, NULL);
	assert_int_equal(b.lim.max_sig_checks, 32);
	assert_int_equal(b.lim.max_nsec3_hashes, 128);
	assert_int_equal(b.lim.max_nsec3_iterations, 50);
	assert_int_equal(b.lim.max_keys_per_tag, 4);
	assert_false(b.exhausted);
	val_budget_init(&b, &lim);
	assert_int_equal(b.lim.max_sig_checks, 5);
	assert_int_equal(b.lim.max_nsec3_hashes, 128);

	assert_int_equal(val_key_tag(zsk.dnskey), zsk.tag);
	{
		/* the wire rule of dns.c agrees with ldns */
		ldns_buffer *wb = ldns_buffer_new(512);

		assert_int_equal(
		    ldns_rr_rdata2buffer_wire(wb, zsk.dnskey), LDNS_STATUS_OK);
		assert_int_equal(dns_key_tag(ldns_buffer_begin(wb),
		                     ldns_buffer_position(wb)),
		    zsk.tag);
		ldns_buffer_free(wb);
	}
	assert_int_equal(val_key_tag(RR("example. IN A 192.0.2.1")), 0);

	www = www_a();
	sec = CAT(www,
	    L(SIGN(&zsk, www, INC, EXP), RR("WWW.example. 300 IN AAAA ::1"),
	        RR("www.example. 300 IN RRSIG AAAA 13 2 300 20251009085320 "
	           "20250219212000 1 example. AAAA"),
	        RR("mail.example. 300 IN A 192.0.2.9"), NULL),
	    NULL);
	assert_int_equal(
	    val_split(sec, N("www.Example."), DNS_T_A, &set, &sigs), 0);
	assert_int_equal(ldns_rr_list_rr_count(set), 2);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	ldns_rr_list_free(set);
	ldns_rr_list_free(sigs);
	assert_int_equal(
	    val_split(sec, N("www.example."), DNS_T_AAAA, &set, &sigs), 0);
	assert_int_equal(ldns_rr_list_rr_count(set), 1);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	ldns_rr_list_free(set);
	ldns_rr_list_free(sigs);
	assert_int_equal(
	    val_split(sec, N("nothing.example."), DNS_T_A, &set, &sigs), 0);
	assert_int_equal(ldns_rr_list_rr_count(set), 0);
	ldns_rr_list_free(set);
	ldns_rr_list_free(sigs);
}

/* ------------------------------------------------------------- RRsets */

static void
rrset_each_algorithm(void **state)
{
	char want[VAL_WHY_MAX];

	(void)state;
	for (size_t i = 0; i < 8; i++) {
		struct val_budget b = budget();
		struct val_outcome o;
		ldns_rr_list *www = www_a();
		ldns_rr *sig = SIGN(&alg[i], www, INC, EXP);
		unsigned wl = 99;

		assert_int_equal(
		    ldns_rdf2native_int8(ldns_rr_rdf(sig, 1)), algs[i].alg);
		val_rrset(N("example."), www, L(sig, NULL),
		    L(alg[i].dnskey, NULL), NOW, &b, &o, &wl);
		snprintf(want, sizeof(want),
		    "RRSIG A www.example. by key %u verifies", alg[i].tag);
		assert_outcome(o, VAL_SECURE, 0, want);
		assert_int_equal(o.key_tag, alg[i].tag);
		assert_int_equal(o.ttl_cap, 300);
		assert_int_equal(wl, 0);
		assert_int_equal(b.sig_checks, 1);
	}
}

/* A check made before, with the same data, signature and key, is answered
 * from the memo of val_keys; anything else is checked again. */
static void
rrset_memo_same_check_only(void **state)
{
	struct val_keys k = {0};
	struct val_budget b;
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	ldns_rr_list *sigs = L(SIGN(&zsk, www, INC, EXP), NULL);
	ldns_rr_list *changed = L(RR("www.example. 300 IN A 192.0.2.1"),
	    RR("www.example. 300 IN A 192.0.2.3"), NULL);
	char want[VAL_WHY_MAX];

	(void)state;
	snprintf(want, sizeof(want), "RRSIG A www.example. by key %u verifies",
	    zsk.tag);
	for (int i = 0; i < 2; i++) {
		val_budget_init(&b, NULL);
		b.keys = &k;
		val_rrset(
		    N("example."), www, sigs, zone_keys(), NOW, &b, &o, NULL);
		assert_outcome(o, VAL_SECURE, 0, want);
		assert_int_equal(k.memo_hits, (uint64_t)i);
		assert_int_equal(b.sig_checks, 1); /* counted all the same */
	}
	/* the same signature over other records: checked, and false */
	val_budget_init(&b, NULL);
	b.keys = &k;
	val_rrset(N("example."), changed, sigs, zone_keys(), NOW, &b, &o, NULL);
	assert_int_equal(o.state, VAL_BOGUS);
	assert_int_equal(k.memo_hits, 1);
	/* in another case and order: the same check (canonical form) */
	val_budget_init(&b, NULL);
	b.keys = &k;
	val_rrset(N("example."),
	    L(RR("WWW.EXAMPLE. 300 IN A 192.0.2.2"),
	        RR("www.example. 300 IN A 192.0.2.1"), NULL),
	    sigs, zone_keys(), NOW, &b, &o, NULL);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(k.memo_hits, 2);
	/* past its expiration the memo does not help: dates come first */
	val_budget_init(&b, NULL);
	b.keys = &k;
	val_rrset(
	    N("example."), www, sigs, zone_keys(), EXP + 1ULL, &b, &o, NULL);
	assert_int_equal(o.ede, DNS_EDE_SIGNATURE_EXPIRED);
	/* a key that did not make the signature: no memo, no match */
	val_budget_init(&b, NULL);
	b.keys = &k;
	uint64_t hits = k.memo_hits;
	val_rrset(
	    N("example."), www, sigs, L(ksk.dnskey, NULL), NOW, &b, &o, NULL);
	assert_int_equal(o.state, VAL_BOGUS);
	assert_int_equal(k.memo_hits, hits);
	val_keys_clear(&k);
}

static void
rrset_expired_and_not_yet_valid(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	char want[VAL_WHY_MAX];
	unsigned wl;

	(void)state;
	/* expired 2025-01-01, now is June 2025 */
	val_rrset(N("example."), www,
	    L(SIGN(&zsk, www, 1733011200u, 1735689600u), NULL), zone_keys(),
	    NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: signature expired at "
	    "2025-01-01T00:00:00Z",
	    zsk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_SIGNATURE_EXPIRED, want);
	assert_int_equal(o.key_tag, zsk.tag);
	assert_int_equal(b.sig_checks, 0); /* dates first, no crypto */

	/* valid from 2026-01-01 */
	val_rrset(N("example."), www,
	    L(SIGN(&zsk, www, 1767225600u, 1769904000u), NULL), zone_keys(),
	    NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: signature not valid before "
	    "2026-01-01T00:00:00Z",
	    zsk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_SIGNATURE_NOT_YET_VALID, want);

	/* the same signature is good on its last second, not after */
	ldns_rr *sig = SIGN(&zsk, www, INC, EXP);
	val_rrset(
	    N("example."), www, L(sig, NULL), zone_keys(), EXP, &b, &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(o.ttl_cap, 0);
	val_rrset(N("example."), www, L(sig, NULL), zone_keys(),
	    (uint64_t)EXP + 1, &b, &o, &wl);
	assert_int_equal(o.ede, DNS_EDE_SIGNATURE_EXPIRED);
	val_rrset(
	    N("example."), www, L(sig, NULL), zone_keys(), INC, &b, &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	val_rrset(N("example."), www, L(sig, NULL), zone_keys(), INC - 1, &b,
	    &o, &wl);
	assert_int_equal(o.ede, DNS_EDE_SIGNATURE_NOT_YET_VALID);
}

static void
rrset_changed_rdata(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr *sig = SIGN(&zsk, www_a(), INC, EXP);
	char want[VAL_WHY_MAX];
	unsigned wl;

	(void)state;
	val_rrset(N("example."),
	    L(RR("www.example. 300 IN A 192.0.2.1"),
	        RR("www.example. 300 IN A 192.0.2.99"), NULL),
	    L(sig, NULL), zone_keys(), NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: signature does not verify",
	    zsk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);
	assert_int_equal(b.sig_checks, 1);
	/* a record dropped */
	val_rrset(N("example."), L(RR("www.example. 300 IN A 192.0.2.1"), NULL),
	    L(sig, NULL), zone_keys(), NOW, &b, &o, &wl);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);
	/* a spoiled signature */
	spoil_sig(sig, 5);
	val_rrset(N("example."), www_a(), L(sig, NULL), zone_keys(), NOW, &b,
	    &o, &wl);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);
}

static void
rrset_wrong_signer(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	char want[VAL_WHY_MAX];
	unsigned wl;

	(void)state;
	val_rrset(N("example."), www, L(SIGN(&other, www, INC, EXP), NULL),
	    L(zsk.dnskey, other.dnskey, NULL), NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: signer other.example. is not the "
	    "zone example.",
	    other.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);
	assert_int_equal(b.sig_checks, 0);
}

static void
rrset_wrong_labels(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	ldns_rr *sig = SIGN(&zsk, www, INC, EXP);
	char want[VAL_WHY_MAX];
	unsigned wl;

	(void)state;
	set_rdf(sig, 2, ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 3));
	val_rrset(
	    N("example."), www, L(sig, NULL), zone_keys(), NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: labels 3 exceed the owner's 2",
	    zsk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);
	/* fewer labels than signed: looks like a wildcard, does not verify */
	set_rdf(sig, 2, ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 1));
	val_rrset(
	    N("example."), www, L(sig, NULL), zone_keys(), NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: signature does not verify",
	    zsk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);
	assert_int_equal(wl, 0);
}

static void
rrset_key_or_rrsig_missing(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	char want[VAL_WHY_MAX];
	unsigned wl;

	(void)state;
	val_rrset(N("example."), www, L(SIGN(&zsk, www, INC, EXP), NULL),
	    L(ksk.dnskey, NULL), NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: no DNSKEY %u (algorithm 13) of "
	    "example.",
	    zsk.tag, zsk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING, want);
	assert_int_equal(o.key_tag, zsk.tag);

	/* the key, but revoked, or not a zone key: not usable, so not even
	 * tried (the RRSIG's tag set to theirs) */
	for (int i = 0; i < 2; i++) {
		ldns_rr *k = keep(ldns_rr_clone(zsk.dnskey));
		ldns_rr *s = SIGN(&zsk, www, INC, EXP);
		set_rdf(k, 0,
		    ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, i ? 384 : 0));
		set_rdf(s, 6,
		    ldns_native2rdf_int16(
		        LDNS_RDF_TYPE_INT16, ldns_calc_keytag(k)));
		val_rrset(N("example."), www, L(s, NULL), L(k, NULL), NOW, &b,
		    &o, &wl);
		assert_int_equal(o.ede, DNS_EDE_DNSKEY_MISSING);
		assert_int_equal(b.sig_checks, 0);
	}
	/* no RRSIG at all; an RRSIG over another type does not count */
	val_rrset(N("example."), www,
	    L(SIGN(&zsk, L(RR("www.example. 300 IN AAAA ::1"), NULL), INC, EXP),
	        NULL),
	    zone_keys(), NOW, &b, &o, &wl);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING,
	    "no RRSIG for A www.example.");
	val_rrset(N("example."), www, L(NULL), zone_keys(), NOW, &b, &o, &wl);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING,
	    "no RRSIG for A www.example.");
	assert_int_equal(b.sig_checks, 0);
}

static void
rrset_unsupported_algorithm(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	ldns_rr *sig = SIGN(&zsk, www, INC, EXP);
	ldns_rr *k200 = RR("example. 3600 IN DNSKEY 256 3 200 AwEAAQ==");
	char want[VAL_WHY_MAX];
	unsigned wl;

	(void)state;
	set_rdf(sig, 1, ldns_native2rdf_int8(LDNS_RDF_TYPE_ALG, 200));
	/* the zone's only key is of an unknown algorithm: insecure */
	val_rrset(
	    N("example."), www, L(sig, NULL), L(k200, NULL), NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: algorithm 200 not supported "
	    "(insecure)",
	    zsk.tag);
	assert_outcome(o, VAL_INSECURE, DNS_EDE_UNSUPPORTED_DNSKEY_ALG, want);
	/* it also has a key we know: data signed only with 200 is bogus */
	val_rrset(N("example."), www, L(sig, NULL), L(k200, zsk.dnskey, NULL),
	    NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: algorithm 200 not supported",
	    zsk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);
	/* one good signature among them is enough */
	val_rrset(N("example."), www, L(sig, SIGN(&zsk, www, INC, EXP), NULL),
	    L(k200, zsk.dnskey, NULL), NOW, &b, &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(b.sig_checks, 1);
}

static void
rrset_ttl_cap(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	ldns_rr *sig = SIGN(&zsk, www, INC, EXP); /* original TTL 300 */
	unsigned wl;

	(void)state;
	/* served with a longer TTL than signed: capped to the original */
	ldns_rr_set_ttl(ldns_rr_list_rr(www, 0), 86400);
	ldns_rr_set_ttl(ldns_rr_list_rr(www, 1), 86400);
	val_rrset(
	    N("example."), www, L(sig, NULL), zone_keys(), NOW, &b, &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(o.ttl_cap, 300);
	/* expiring in 100 s */
	val_rrset(N("example."), www,
	    L(SIGN(&zsk, www, INC, (uint32_t)NOW + 100), NULL), zone_keys(),
	    NOW, &b, &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(o.ttl_cap, 100);
	/* the original TTL again when expiry is further */
	ldns_rr_list *fresh = www_a();
	val_rrset(N("example."), fresh,
	    L(SIGN(&zsk, fresh, INC, (uint32_t)NOW + 301), NULL), zone_keys(),
	    NOW, &b, &o, &wl);
	assert_int_equal(o.ttl_cap, 300);
}

static void
rrset_case_and_duplicates(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	ldns_rr *sig = SIGN(&zsk, www, INC, EXP);
	ldns_rr *upper;
	unsigned wl;

	(void)state;
	/* names in another case (0x20), a duplicate record, sig in caps */
	upper = RR("WWW.EXAMPLE. 300 IN A 192.0.2.2");
	ldns_rr *sigu = keep(ldns_rr_clone(sig));
	ldns_rdf_data(ldns_rr_owner(sigu))[1] = 'W';
	ldns_rdf_data(ldns_rr_rdf(sigu, 7))[1] = 'E'; /* signer */
	val_rrset(N("Example."),
	    L(RR("www.Example. 300 IN A 192.0.2.1"), upper,
	        RR("www.example. 300 IN A 192.0.2.1"), NULL),
	    L(sigu, NULL), zone_keys(), NOW, &b, &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	/* the caller's records are left as they were */
	assert_int_equal(ldns_rdf_data(ldns_rr_owner(sigu))[1], 'W');
	assert_int_equal(ldns_rdf_data(ldns_rr_rdf(sigu, 7))[1], 'E');
	assert_int_equal(ldns_rdf_data(ldns_rr_owner(upper))[1], 'W');
}

static void
rrset_malformed_input(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	unsigned wl;

	(void)state;
	val_rrset(
	    N("example."), L(NULL), L(NULL), zone_keys(), NOW, &b, &o, &wl);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "empty or malformed RRset at example.");
	val_rrset(N("example."),
	    L(RR("www.example. 300 IN A 192.0.2.1"),
	        RR("mail.example. 300 IN A 192.0.2.1"), NULL),
	    L(NULL), zone_keys(), NOW, &b, &o, &wl);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "A www.example.: records of other RRsets mixed in");
}

/* ---------------------------------------------------------------- keys */

static void
dnskey_by_ds_digests(void **state)
{
	ldns_rr_list *keys = zone_keys();
	ldns_rr *sig = SIGN(&ksk, keys, INC, EXP);
	char want[VAL_WHY_MAX];

	(void)state;
	snprintf(want, sizeof(want),
	    "DNSKEY example.: key %u matches a DS and signs the RRset",
	    ksk.tag);
	for (int h = 1; h <= 4; h++) {
		struct val_budget b = budget();
		struct val_outcome o;

		if (h == 3)
			continue;
		val_dnskey_by_ds(N("example."), keys, L(sig, NULL),
		    L(keep(ldns_key_rr2ds(ksk.dnskey, (ldns_hash)h)), NULL),
		    NOW, &b, &o);
		assert_outcome(o, VAL_SECURE, 0, want);
		assert_int_equal(o.key_tag, ksk.tag);
		assert_int_equal(o.ttl_cap, 3600);
		assert_int_equal(b.sig_checks, 1);
	}
}

static void
dnskey_by_ds_strongest_digest(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *keys = zone_keys();
	ldns_rr *sig = SIGN(&ksk, keys, INC, EXP);
	ldns_rr *sha1 = keep(ldns_key_rr2ds(ksk.dnskey, LDNS_SHA1));
	ldns_rr *sha256 = keep(ldns_key_rr2ds(ksk.dnskey, LDNS_SHA256));
	ldns_rr *bad256 = keep(ldns_rr_clone(sha256));
	char want[VAL_WHY_MAX];

	(void)state;
	ldns_rdf_data(ldns_rr_rdf(bad256, 3))[0] ^= 0xff;
	/* a good SHA-1 DS beside a SHA-256 one that matches nothing: the
	 * SHA-1 one is not used (RFC 4509 3), so no key matches */
	val_dnskey_by_ds(N("example."), keys, L(sig, NULL),
	    L(sha1, bad256, NULL), NOW, &b, &o);
	snprintf(want, sizeof(want), "DS %u for example.: no DNSKEY matches",
	    ksk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING, want);
	assert_int_equal(o.key_tag, ksk.tag);
	assert_int_equal(b.sig_checks, 0);
	/* the other way round it is fine */
	ldns_rr *bad1 = keep(ldns_rr_clone(sha1));
	ldns_rdf_data(ldns_rr_rdf(bad1, 3))[0] ^= 0xff;
	val_dnskey_by_ds(N("example."), keys, L(sig, NULL),
	    L(bad1, sha256, NULL), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
}

static void
dnskey_by_ds_failures(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *keys = zone_keys();
	ldns_rr *ds = keep(ldns_key_rr2ds(ksk.dnskey, LDNS_SHA256));
	ldns_rr *zds = keep(ldns_key_rr2ds(zsk.dnskey, LDNS_SHA256));
	char want[VAL_WHY_MAX];

	(void)state;
	/* DNSKEY RRset signed by the ZSK only: no RRSIG by the DS's key */
	val_dnskey_by_ds(N("example."), keys,
	    L(SIGN(&zsk, keys, INC, EXP), NULL), L(ds, NULL), NOW, &b, &o);
	snprintf(want, sizeof(want),
	    "no RRSIG over DNSKEY example. by key %u (the key a DS matches)",
	    ksk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING, want);
	assert_int_equal(o.key_tag, ksk.tag);
	val_dnskey_by_ds(
	    N("example."), keys, L(NULL), L(ds, NULL), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING, want);

	/* the KSK's signature has expired */
	val_dnskey_by_ds(N("example."), keys,
	    L(SIGN(&ksk, keys, 1733011200u, 1735689600u), NULL), L(ds, NULL),
	    NOW, &b, &o);
	snprintf(want, sizeof(want),
	    "RRSIG DNSKEY example. by key %u: signature expired at "
	    "2025-01-01T00:00:00Z",
	    ksk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_SIGNATURE_EXPIRED, want);

	/* the DS of a key that is not in the RRset */
	val_dnskey_by_ds(N("example."), L(zsk.dnskey, NULL),
	    L(SIGN(&zsk, L(zsk.dnskey, NULL), INC, EXP), NULL), L(ds, NULL),
	    NOW, &b, &o);
	snprintf(want, sizeof(want), "DS %u for example.: no DNSKEY matches",
	    ksk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING, want);

	/* two DS records: the ZSK's is enough when the ZSK signs */
	val_dnskey_by_ds(N("example."), keys,
	    L(SIGN(&zsk, keys, INC, EXP), NULL), L(ds, zds, NULL), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(o.key_tag, zsk.tag);

	/* a changed DNSKEY RRset: the signature fails */
	ldns_rr *sig = SIGN(&ksk, keys, INC, EXP);
	val_dnskey_by_ds(N("example."), L(ksk.dnskey, NULL), L(sig, NULL),
	    L(ds, NULL), NOW, &b, &o);
	snprintf(want, sizeof(want),
	    "RRSIG DNSKEY example. by key %u: signature does not verify",
	    ksk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);

	/* no DS at all is the caller's mistake: bogus */
	val_dnskey_by_ds(
	    N("example."), keys, L(sig, NULL), L(NULL), NOW, &b, &o);
	assert_outcome(
	    o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, "no DS record for example.");
	/* no DNSKEY */
	val_dnskey_by_ds(
	    N("example."), L(NULL), L(NULL), L(ds, NULL), NOW, &b, &o);
	assert_outcome(
	    o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING, "no DNSKEY for example.");
}

static void
dnskey_by_ds_unsupported(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *keys = zone_keys();
	ldns_rr *sig = SIGN(&ksk, keys, INC, EXP);
	ldns_rr *good = keep(ldns_key_rr2ds(ksk.dnskey, LDNS_SHA256));
	ldns_rr *alg200 = RR(
	    "example. 3600 IN DS 1234 200 2 "
	    "0000000000000000000000000000000000000000000000000000000000000000");
	ldns_rr *md5 =
	    RR("example. 3600 IN DS 1235 1 2 "
	       "00000000000000000000000000000000000000000000000000000"
	       "00000000000");
	ldns_rr *gost = RR("example. 3600 IN DS %u 13 3 "
	                   "000000000000000000000000000000000000000000000000000"
	                   "0000000000000",
	    ksk.tag);

	(void)state;
	val_dnskey_by_ds(
	    N("example."), keys, L(sig, NULL), L(alg200, NULL), NOW, &b, &o);
	assert_outcome(o, VAL_INSECURE, DNS_EDE_UNSUPPORTED_DNSKEY_ALG,
	    "DS example.: algorithm 200 not supported (insecure)");
	/* known before the DNSKEYs are fetched */
	val_dnskey_by_ds(
	    N("example."), NULL, NULL, L(alg200, NULL), NOW, &b, &o);
	assert_int_equal(o.state, VAL_INSECURE);
	val_dnskey_by_ds(N("example."), NULL, NULL, L(good, NULL), NOW, &b, &o);
	assert_outcome(
	    o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING, "no DNSKEY for example.");
	val_dnskey_by_ds(
	    N("example."), keys, L(sig, NULL), L(md5, NULL), NOW, &b, &o);
	assert_outcome(o, VAL_INSECURE, DNS_EDE_UNSUPPORTED_DNSKEY_ALG,
	    "DS example.: algorithm 1 not supported (insecure)");
	val_dnskey_by_ds(
	    N("example."), keys, L(sig, NULL), L(gost, NULL), NOW, &b, &o);
	assert_outcome(o, VAL_INSECURE, DNS_EDE_UNSUPPORTED_DS_DIGEST,
	    "DS example.: digest type 3 not supported (insecure)");
	val_dnskey_by_ds(N("example."), keys, L(sig, NULL),
	    L(alg200, gost, NULL), NOW, &b, &o);
	assert_int_equal(o.state, VAL_INSECURE);
	assert_int_equal(o.ede, DNS_EDE_UNSUPPORTED_DS_DIGEST);
	assert_int_equal(b.sig_checks, 0);
	/* beside a supported DS the others do not matter */
	val_dnskey_by_ds(N("example."), keys, L(sig, NULL),
	    L(alg200, gost, good, NULL), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
}

static void
dnskey_by_anchor_keys(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *keys = zone_keys();
	ldns_rr *sig = SIGN(&ksk, keys, INC, EXP);
	char want[VAL_WHY_MAX];

	(void)state;
	ldns_rr *anchor = keep(ldns_rr_clone(ksk.dnskey));
	ldns_rr_set_ttl(anchor, 1);
	val_dnskey_by_keys(
	    N("example."), keys, L(sig, NULL), L(anchor, NULL), NOW, &b, &o);
	snprintf(want, sizeof(want),
	    "DNSKEY example.: key %u matches a trust anchor and signs the "
	    "RRset",
	    ksk.tag);
	assert_outcome(o, VAL_SECURE, 0, want);
	assert_int_equal(o.key_tag, ksk.tag);

	/* the anchor key is not in the zone's DNSKEY RRset */
	val_dnskey_by_keys(N("example."), L(zsk.dnskey, NULL),
	    L(SIGN(&zsk, L(zsk.dnskey, NULL), INC, EXP), NULL),
	    L(ksk.dnskey, NULL), NOW, &b, &o);
	snprintf(want, sizeof(want),
	    "DNSKEY example.: no key matches trust anchor %u", ksk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING, want);

	/* in it, but not signing it */
	val_dnskey_by_keys(N("example."), keys,
	    L(SIGN(&zsk, keys, INC, EXP), NULL), L(ksk.dnskey, NULL), NOW, &b,
	    &o);
	snprintf(want, sizeof(want),
	    "no RRSIG over DNSKEY example. by key %u (the key a trust anchor "
	    "matches)",
	    ksk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING, want);

	/* only an anchor of an algorithm we do not have: insecure */
	val_dnskey_by_keys(N("example."), keys, L(sig, NULL),
	    L(RR("example. IN DNSKEY 257 3 200 AwEAAQ=="), NULL), NOW, &b, &o);
	assert_outcome(o, VAL_INSECURE, DNS_EDE_UNSUPPORTED_DNSKEY_ALG,
	    "DNSKEY example.: algorithm 200 not supported (insecure)");

	/* an anchor of another zone vouches for nothing here */
	val_dnskey_by_keys(N("example."), keys, L(sig, NULL),
	    L(RR("example.net. IN DNSKEY 257 3 13 AwEAAQ=="), NULL), NOW, &b,
	    &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "no trust anchor DNSKEY for example.");
}

static void
dnskey_by_ta_anchor(void **state)
{
	struct ta_set *ta = ta_new();
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *keys = zone_keys();
	ldns_rr *sig = SIGN(&ksk, keys, INC, EXP);
	char err[128], *ds;

	(void)state;
	ds = ldns_rr2str(keep(ldns_key_rr2ds(ksk.dnskey, LDNS_SHA256)));
	assert_int_equal(ta_add_str(ta, ds, err, sizeof(err)), 0);
	free(ds);
	val_dnskey_by_anchor(
	    ta_closest(ta, N("www.example.")), keys, L(sig, NULL), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(o.key_tag, ksk.tag);
	/* a DS anchor matching nothing, and a DNSKEY anchor that works */
	ta_free(ta);
	ta = ta_new();
	assert_int_equal(ta_add_str(ta,
	                     "example. DS 1 13 2 "
	                     "0000000000000000000000000000000000000000000000000"
	                     "000000000000000",
	                     err, sizeof(err)),
	    0);
	val_dnskey_by_anchor(
	    ta_closest(ta, N("example.")), keys, L(sig, NULL), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSKEY_MISSING,
	    "DS 1 for example.: no DNSKEY matches");
	char *b64 = ldns_rdf2str(ldns_rr_rdf(ksk.dnskey, 3)), line[512];
	snprintf(line, sizeof(line), "example. IN DNSKEY 257 3 13 %s", b64);
	free(b64);
	assert_int_equal(ta_add_str(ta, line, err, sizeof(err)), 0);
	val_dnskey_by_anchor(
	    ta_closest(ta, N("example.")), keys, L(sig, NULL), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
	ta_free(ta);
}

/* The root zone's DNSKEY RRset of November 2024 with its RRSIG by KSK-2017,
 * the DS of com. signed by the root's ZSK, com.'s DNSKEY RRset. */
static const char *const real_root[] = {
    ". 172800 IN DNSKEY 256 3 8 AwEAAc0SunbHdS0KFEyZbYII/+tzsrNzIwurKxmJA+0"
    "fhAYlTPA/5LrM GkGEqvvufzM0w/CaVtdm5eWkZYQcsoSKT5bycx0C4jxnLEb3ZiZUQSqu"
    " 1rWcKGF1fj/GyDWLkOu7a5h3el+gPmglj/4l4V31ugNYfqYq84vCB+3D 6Sodrd+85Kyo"
    "nnzWJ8cS7aZ57x0d0sGqsAKA+6tRnIXjVNVe7Ro5xJuz 8IR7rOxdzfuRLriN+Z00EL3U5"
    "E7s9SISU/hDh7Q7N70W1mLMc1o2+tCR GjEWrw4wmCWMzc1kegbLES/dUOWFvPjJz0+AEe"
    "WDhd2GqtXk02BzAhdf eIAEIv68FTs=",
    ". 172800 IN DNSKEY 257 3 8 AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKT"
    "OiW1vkIbzxeF3 +/4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kv"
    " ArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWezF 0jLHwVN8efS3"
    "rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+e oZG+SrDK6nWeL3c6H5Apxz7Lj"
    "Vc1uTIdsIXxuOLYA4/ilBmSVIzuDWfd RUfhHdY6+cn8HFRm+2hM8AnXGXws9555KrUB5q"
    "ihylGa8subX2Nn6UwN R1AkUTV74bU=",
    ". 172800 IN RRSIG DNSKEY 8 0 172800 20241201000000 20241110000000 2032"
    "6 . qt8zpbIcJohyfnFxwgMO9lDmZb7FucLDQ02WBcxZLZ2RCyL0JFy4lR8c E4bCEHfMm"
    "IVnST+bBTOgKGnXb0gUVMaLeks19V2zpOLQW091g3gzkEGN IPfFepjnOpR6HUsZG856e4"
    "vJqT8OPXTT0V+E3b7N9ulzkOr5KesT02hA IA0dAMNLfeFzlM38L/GUAao9REcaaYfn8Tw"
    "G7fET/eQSAUk2Z8aI+xkx bjYdRGjHblc8aJKOo5oHQCh1PY693pjJkBf/SzzMmU91tg4n"
    "rWHPoJrc 45FBi5bqQ1/LvAB7B+/HDQPKIakHxxWmZ+hSmDp0Yn6e3B9ppWAffdaC kJj7"
    "gg==",
    "com. 86400 IN DS 19718 13 2 8ACBB0CD28F41250A80A491389424D341522D946B0"
    "DA0C0291F2D3D7 71D7805A",
    "com. 86400 IN RRSIG DS 8 1 86400 20241124170000 20241111160000 61050 ."
    " df091JsunjSyd2Rh1RVpH07FPCugkarUWf362yFQnx85oAK9hKqgSSIc MrGPe1a9Cukb"
    "841p+MFzP/7fQ+WL5P787w6oQ1K6/pYFNLj9Ueem/Umg lzf1nQpDD0X+X2zwF7bQ6WKFj"
    "LZ0NjmELCmtZOg/vL4ZfZ1jI9vbYnGM dq8Qdt6+pg2cdUmWcBBoNFPDzVRSKxkC4g8XUo"
    "oka8qrWaGWZ+aYUHzx e5hVHVtQMcoOKefNu+qGqUln//uuudPHsnULDACSJtmcsnJAsVr"
    "p5VSM B46/2KVpdaX1ITFbvxclGv+fzwuvMtLO2X7OKzddXZ83xjeBOgYdELJ2 OynhSA="
    "=",
    "com. 86400 IN DNSKEY 256 3 13 uugEQOG7/3zv3rVGq43NQTqfmZxWn4fMIpi6ph7J"
    "KEvTRwhtw3aIV4dS k+fgpFFmORrKNznT7AIuJKy6P/Mi1Q==",
    "com. 86400 IN DNSKEY 257 3 13 tx8EZRAd2+K/DJRV0S+hbBzaRPS/G6JVNBitHzqp"
    "sGlz8huE61Ms9ANe 6NSDLKJtiTBqfTJWDAywEp1FCsEINQ==",
    "com. 86400 IN RRSIG DNSKEY 13 1 86400 20241118150235 20241103145735 19"
    "718 com. IZbO0s7a+wpAIXAVF4oLxATiRwOM0yitR7+tBihVCf8FmlDVQf92fK1w USug"
    "gYfJ+d+25B9Zz5bYqL/DQt3bmw==",
};

static void
real_chain_from_root(void **state)
{
	struct ta_set *ta = ta_new();
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *all = keep_list(ldns_rr_list_new());
	ldns_rr_list *rk, *rsig, *ds, *dsig, *ck, *csig;
	const uint64_t t = 1731600000; /* 2024-11-14T16:00:00Z */
	unsigned wl;

	(void)state;
	for (size_t i = 0; i < sizeof(real_root) / sizeof(real_root[0]); i++)
		ldns_rr_list_push_rr(all, RR("%s", real_root[i]));
	assert_int_equal(ta_add_builtin(ta), 0);
	assert_int_equal(val_split(all, N("."), DNS_T_DNSKEY, &rk, &rsig), 0);
	assert_int_equal(val_split(all, N("com."), DNS_T_DS, &ds, &dsig), 0);
	assert_int_equal(
	    val_split(all, N("com."), DNS_T_DNSKEY, &ck, &csig), 0);
	keep_list(rk), keep_list(rsig), keep_list(ds), keep_list(dsig);
	keep_list(ck), keep_list(csig);

	val_dnskey_by_anchor(ta_closest(ta, N("com.")), rk, rsig, t, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "DNSKEY .: key 20326 matches a DS and signs the RRset");
	assert_int_equal(o.ttl_cap, 172800);
	val_rrset(N("."), ds, dsig, rk, t, &b, &o, &wl);
	assert_outcome(o, VAL_SECURE, 0, "RRSIG DS com. by key 61050 verifies");
	val_dnskey_by_ds(N("com."), ck, csig, ds, t, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "DNSKEY com.: key 19718 matches a DS and signs the RRset");
	/* 345600 s left until 2024-11-18T15:02:35Z is more than 86400 */
	assert_int_equal(o.ttl_cap, 86400);
	assert_int_equal(b.sig_checks, 3);
	/* a year later the root's signature has long expired */
	val_dnskey_by_anchor(
	    ta_closest(ta, N(".")), rk, rsig, t + 365 * 86400, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_SIGNATURE_EXPIRED,
	    "RRSIG DNSKEY . by key 20326: signature expired at "
	    "2024-12-01T00:00:00Z");
	ta_free(ta);
}

/* ------------------------------------------------------------ wildcard */

/* The NSEC chain of example.: a, ins (insecure delegation), sub (secure
 * delegation), *.w (wildcard under the empty non-terminal w), b.x (under
 * the empty non-terminal x). */
static ldns_rr *nsec_apex, *nsec_a, *nsec_ins, *nsec_sub, *nsec_wild, *nsec_bx;

static void
nsec_chain(void)
{
	nsec_apex = RR("example. 3600 IN NSEC a.example. SOA NS DNSKEY NSEC "
	               "RRSIG");
	nsec_a = RR("a.example. 3600 IN NSEC ins.example. A NSEC RRSIG");
	nsec_ins = RR("ins.example. 3600 IN NSEC sub.example. NS NSEC RRSIG");
	nsec_sub =
	    RR("sub.example. 3600 IN NSEC *.w.example. NS DS NSEC RRSIG");
	nsec_wild = RR("*.w.example. 3600 IN NSEC b.x.example. TXT NSEC RRSIG");
	nsec_bx = RR("b.x.example. 3600 IN NSEC example. A NSEC RRSIG");
}

/* An authority section: the zone's SOA, then each record with its RRSIG
 * by the ZSK (NULL-terminated). */
static ldns_rr_list *
AUTH(ldns_rr *first, ...)
{
	ldns_rr_list *l = L(RR("example. 3600 IN SOA ns.example. h.example. 1 "
	                       "3600 600 86400 3600"),
	    NULL);
	va_list ap;

	va_start(ap, first);
	for (ldns_rr *rr = first; rr != NULL; rr = va_arg(ap, ldns_rr *)) {
		assert_true(ldns_rr_list_push_rr(l, rr));
		assert_true(
		    ldns_rr_list_push_rr(l, SIGN(&zsk, L(rr, NULL), INC, EXP)));
	}
	va_end(ap);
	return l;
}

static void
wildcard_answer(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr *w = RR("*.w.example. 300 IN TXT \"wild\"");
	ldns_rr *sig = SIGN(&zsk, L(w, NULL), INC, EXP);
	ldns_rr *a = keep(ldns_rr_clone(w));
	unsigned wl = 0;

	(void)state;
	nsec_chain();
	ldns_rdf_deep_free(ldns_rr_owner(a));
	ldns_rr_set_owner(a, ldns_dname_new_frm_str("foo.w.example."));
	/* the signature verifies for the expanded name, and says so */
	ldns_rr *sig2 = keep(ldns_rr_clone(sig));
	ldns_rdf_deep_free(ldns_rr_owner(sig2));
	ldns_rr_set_owner(sig2, ldns_dname_new_frm_str("foo.w.example."));
	val_rrset(N("example."), L(a, NULL), L(sig2, NULL), zone_keys(), NOW,
	    &b, &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(wl, 2);
	/* ... but not where no wildcard may be */
	val_rrset(N("example."), L(a, NULL), L(sig2, NULL), zone_keys(), NOW,
	    &b, &o, NULL);
	assert_int_equal(o.state, VAL_BOGUS);
	assert_int_equal(o.ede, DNS_EDE_DNSSEC_BOGUS);
	assert_non_null(strstr(o.why, "expanded from a wildcard"));
	/* the wildcard itself asked for is no expansion */
	val_rrset(N("example."), L(w, NULL), L(sig, NULL), zone_keys(), NOW, &b,
	    &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(wl, 0);

	/* the proof that foo.w.example. does not exist */
	val_wildcard(N("foo.w.example."), 2, AUTH(nsec_wild, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC proves that foo.w.example. does not exist (wildcard "
	    "answer)");
	assert_int_equal(o.ttl_cap, 3600);
	/* without it */
	val_wildcard(N("foo.w.example."), 2, AUTH(nsec_a, NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC proves that foo.w.example. does not exist (wildcard "
	    "answer)");
	val_wildcard(N("foo.w.example."), 2, AUTH(NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC or NSEC3 record of example. for foo.w.example.");
	/* the NSEC covers it, but its closest encloser is not the wildcard's
	 * (claimed expansion from *.example.) */
	val_wildcard(N("foo.w.example."), 1, AUTH(nsec_wild, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_BOGUS);
	assert_int_equal(o.ede, DNS_EDE_NSEC_MISSING);
}

/* ---------------------------------------------------------------- NSEC */

static void
nsec_nxdomain(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	char want[VAL_WHY_MAX];

	(void)state;
	nsec_chain();
	/* c.example.: a..ins covers it, example..a covers *.example. */
	val_nxdomain(N("c.example."), AUTH(nsec_a, nsec_apex, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC proves that c.example. and *.example. do not exist");
	assert_int_equal(o.key_tag, zsk.tag);
	assert_int_equal(b.sig_checks, 2);
	/* the records the proof verified ([SOA, NSEC a, sig, NSEC apex,
	 * sig]): what an aggressive NSEC cache may keep; an NSEC the proof
	 * did not need (b.x, records 5 and 6) is not among them */
	assert_int_equal(o.nsec_verified, 1u << 1 | 1u << 3);
	val_nxdomain(N("c.example."), AUTH(nsec_a, nsec_apex, nsec_bx, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(o.nsec_verified, 1u << 1 | 1u << 3);
	/* the wildcard proof missing */
	val_nxdomain(N("c.example."), AUTH(nsec_a, NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC proves that *.example. does not exist");
	assert_int_equal(o.nsec_verified, 0); /* not secure: nothing kept */
	/* the name's own proof missing */
	val_nxdomain(N("c.example."), AUTH(nsec_apex, nsec_ins, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC proves that c.example. does not exist");
	/* deeper: y.a.x.example.: *.w..b.x covers it, closest encloser
	 * x.example. (an empty non-terminal), and the same NSEC covers
	 * *.x.example.: verified once */
	b = budget();
	val_nxdomain(N("y.a.x.example."), AUTH(nsec_wild, NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC proves that y.a.x.example. and *.x.example. do not exist");
	assert_int_equal(b.sig_checks, 1);
	/* y.z.x.example. sorts after b.x.example.: that NSEC covers it,
	 * and the closest encloser is still x.example. */
	val_nxdomain(N("y.z.x.example."), AUTH(nsec_bx, nsec_wild, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC proves that y.z.x.example. and *.x.example. do not exist");
	/* a name the wildcard *.w.example. would have answered */
	val_nxdomain(N("foo.w.example."), AUTH(nsec_wild, NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC proves that *.w.example. does not exist");
	/* a name that exists */
	val_nxdomain(N("a.example."), AUTH(nsec_a, nsec_apex, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC proves that a.example. does not exist");
	/* below a delegation an NSEC of the parent proves nothing */
	val_nxdomain(N("x.ins.example."), AUTH(nsec_ins, nsec_apex, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC proves that x.ins.example. does not exist");
	/* an NSEC whose signature expired: that failure is the reason */
	ldns_rr_list *auth = L(nsec_a,
	    SIGN(&zsk, L(nsec_a, NULL), 1733011200u, 1735689600u), NULL);
	val_nxdomain(N("c.example."), CAT(auth, AUTH(nsec_apex, NULL), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	snprintf(want, sizeof(want),
	    "RRSIG NSEC a.example. by key %u: signature expired at "
	    "2025-01-01T00:00:00Z",
	    zsk.tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_SIGNATURE_EXPIRED, want);
	/* unsigned NSEC records prove nothing */
	val_nxdomain(N("c.example."), L(nsec_a, nsec_apex, NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_RRSIGS_MISSING,
	    "no RRSIG for NSEC a.example.");
	/* NSEC records of another zone are not looked at */
	val_nxdomain(N("c.example."),
	    AUTH(RR("a.other. 3600 IN NSEC z.other. A NSEC RRSIG"), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC or NSEC3 record of example. for c.example.");
	/* nor names of another zone */
	val_nxdomain(N("c.example."), AUTH(nsec_a, nsec_apex, NULL),
	    N("other.example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "c.example. is not in zone other.example.");
}

static void
nsec_nodata(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;

	(void)state;
	nsec_chain();
	val_nodata(N("a.example."), DNS_T_AAAA, AUTH(nsec_a, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0, "NSEC a.example. proves no AAAA");
	assert_int_equal(o.ttl_cap, 3600);
	val_nodata(N("a.example."), DNS_T_A, AUTH(nsec_a, NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC a.example. has A: no NODATA");
	ldns_rr *cn = RR("cn.example. 3600 IN NSEC ins.example. CNAME NSEC "
	                 "RRSIG");
	val_nodata(N("cn.example."), DNS_T_A, AUTH(cn, NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC cn.example. has CNAME: no NODATA for A");
	/* the parent's NSEC at a delegation: a referral was due */
	val_nodata(N("ins.example."), DNS_T_A, AUTH(nsec_ins, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC ins.example. is the parent side of a delegation: no NODATA "
	    "for A");
	/* ... which is the right one for DS */
	val_nodata(N("ins.example."), DNS_T_DS, AUTH(nsec_ins, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0, "NSEC ins.example. proves no DS");
	/* the child's apex NSEC does not prove a missing DS */
	ldns_rr *child = RR("ins.example. 3600 IN NSEC a.ins.example. NS SOA "
	                    "NSEC RRSIG DNSKEY");
	val_nodata(N("ins.example."), DNS_T_DS, AUTH(child, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC ins.example. is the child zone's (SOA): no NODATA for DS");
	/* nothing matching */
	val_nodata(N("c.example."), DNS_T_A, AUTH(nsec_a, NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC proves that c.example. has no A");
}

static void
nsec_nodata_ent_and_wildcard(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;

	(void)state;
	nsec_chain();
	/* x.example. is an empty non-terminal: *.w..b.x.example. */
	val_nodata(N("x.example."), DNS_T_A, AUTH(nsec_wild, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC proves x.example. is an empty non-terminal: no A");
	/* so is w.example.: example..a does not show it, sub..*.w does */
	val_nodata(N("w.example."), DNS_T_A, AUTH(nsec_apex, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_BOGUS);
	val_nodata(N("w.example."), DNS_T_A, AUTH(nsec_sub, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
	/* wildcard NODATA: foo.w.example. A from *.w.example. (TXT only);
	 * the same NSEC proves foo.w.example. absent */
	val_nodata(N("foo.w.example."), DNS_T_A, AUTH(nsec_wild, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC *.w.example. proves no A at foo.w.example. (wildcard "
	    "NODATA)");
	/* the wildcard has TXT: no NODATA for TXT */
	val_nodata(N("foo.w.example."), DNS_T_TXT, AUTH(nsec_wild, NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC proves that foo.w.example. has no TXT");
}

static void
nsec_no_ds(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	bool deleg = false;

	(void)state;
	nsec_chain();
	/* insecure delegation */
	val_no_ds(N("ins.example."), AUTH(nsec_ins, NULL), N("example."),
	    zone_keys(), NOW, &b, &o, &deleg);
	assert_outcome(o, VAL_SECURE, 0, "NSEC ins.example. proves no DS");
	assert_true(deleg);
	/* not a zone cut */
	deleg = true;
	val_no_ds(N("a.example."), AUTH(nsec_a, NULL), N("example."),
	    zone_keys(), NOW, &b, &o, &deleg);
	assert_outcome(o, VAL_SECURE, 0, "NSEC a.example. proves no DS");
	assert_false(deleg);
	deleg = true;
	val_no_ds(N("x.example."), AUTH(nsec_wild, NULL), N("example."),
	    zone_keys(), NOW, &b, &o, &deleg);
	assert_int_equal(o.state, VAL_SECURE);
	assert_false(deleg);
	/* a DS exists */
	deleg = true;
	val_no_ds(N("sub.example."), AUTH(nsec_sub, NULL), N("example."),
	    zone_keys(), NOW, &b, &o, &deleg);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC sub.example. has DS: no NODATA");
	assert_false(deleg);
}

/* --------------------------------------------------------------- NSEC3 */

#define N3_SALT "ab12"
#define N3_ITER 2

struct n3chain {
	size_t n;
	struct {
		char name[64];
		char hash[40];
		ldns_rr *rr;
	} r[16];
};

/* The NSEC3 hash of @p name, b32hex lowercase, into @p out. */
static void
n3_hash_text(const char *name, char out[40], unsigned iter, const char *salt)
{
	uint8_t s[64];
	size_t sl = 0;
	ldns_rdf *d = ldns_dname_new_frm_str(name), *h;

	for (; salt[2 * sl]; sl++)
		assert_int_equal(sscanf(salt + 2 * sl, "%2hhx", &s[sl]), 1);
	h = ldns_nsec3_hash_name(d, 1, (uint16_t)iter, (uint8_t)sl, s);
	assert_non_null(h);
	assert_int_equal(ldns_rdf_data(h)[0], 32);
	memcpy(out, ldns_rdf_data(h) + 1, 32);
	out[32] = 0;
	ldns_rdf_deep_free(d);
	ldns_rdf_deep_free(h);
}

static int
n3_cmp(const void *a, const void *b)
{
	return strcmp(((const char *)a) + 64, ((const char *)b) + 64);
}

/* The NSEC3 chain of example. (names as for NSEC, ENTs included): with
 * opt-out, the insecure delegation ins.example. is left out. */
static void
n3_chain(struct n3chain *c, bool optout)
{
	static const char *const names[][2] = {
	    {"example.", "SOA NS DNSKEY NSEC3PARAM RRSIG"},
	    {"a.example.", "A RRSIG"}, {"ins.example.", "NS"},
	    {"sub.example.", "NS DS RRSIG"}, {"w.example.", ""},
	    {"*.w.example.", "TXT RRSIG"}, {"x.example.", ""},
	    {"b.x.example.", "A RRSIG"}};
	const char *types[16];

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (optout && strcmp(names[i][0], "ins.example.") == 0)
			continue;
		snprintf(
		    c->r[c->n].name, sizeof(c->r[0].name), "%s", names[i][0]);
		n3_hash_text(names[i][0], c->r[c->n].hash, N3_ITER, N3_SALT);
		c->n++;
	}
	qsort(c->r, c->n, sizeof(c->r[0]), n3_cmp);
	for (size_t i = 0; i < c->n; i++)
		for (size_t j = 0; j < sizeof(names) / sizeof(names[0]); j++)
			if (strcmp(names[j][0], c->r[i].name) == 0)
				types[i] = names[j][1];
	for (size_t i = 0; i < c->n; i++)
		c->r[i].rr = RR("%s.example. 3600 IN NSEC3 1 %d %d %s %s %s",
		    c->r[i].hash, optout ? 1 : 0, N3_ITER, N3_SALT,
		    c->r[(i + 1) % c->n].hash, types[i]);
}

/* The record matching @p name, or NULL. */
static ldns_rr *
n3_match(const struct n3chain *c, const char *name)
{
	char h[40];

	n3_hash_text(name, h, N3_ITER, N3_SALT);
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->r[i].hash, h) == 0)
			return c->r[i].rr;
	return NULL;
}

/* The record covering the hash of @p name (which must not match). */
static ldns_rr *
n3_cover(const struct n3chain *c, const char *name)
{
	char h[40];

	n3_hash_text(name, h, N3_ITER, N3_SALT);
	for (size_t i = 0; i < c->n; i++) {
		const char *o = c->r[i].hash, *nx = c->r[(i + 1) % c->n].hash;
		if (strcmp(o, h) == 0)
			return NULL;
		if (strcmp(o, nx) < 0 ? strcmp(o, h) < 0 && strcmp(h, nx) < 0
		                      : strcmp(h, o) > 0 || strcmp(h, nx) < 0)
			return c->r[i].rr;
	}
	return NULL;
}

/* A record of the chain that does not cover the hash of @p name. */
static ldns_rr *
n3_not_cover(const struct n3chain *c, const char *name)
{
	ldns_rr *cover = n3_cover(c, name);

	for (size_t i = 0; i < c->n; i++)
		if (c->r[i].rr != cover)
			return c->r[i].rr;
	return NULL;
}

/* A name under example. whose cover is neither the one of *.example. nor
 * the record matching example. (so that the proof needs three records). */
static const char *
n3_other_cover_name(const struct n3chain *c, char *buf, size_t cap)
{
	ldns_rr *wc = n3_cover(c, "*.example.");
	ldns_rr *apex = n3_match(c, "example.");

	for (char ch = 'c'; ch <= 'z'; ch++) {
		snprintf(buf, cap, "%c.example.", ch);
		if (n3_match(c, buf) == NULL && n3_cover(c, buf) != wc &&
		    n3_cover(c, buf) != apex)
			return buf;
	}
	fail_msg("no name with another cover");
	return NULL;
}

static void
nsec3_nxdomain(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	struct n3chain c;
	char qbuf[32], want[VAL_WHY_MAX];
	const char *q;

	(void)state;
	n3_chain(&c, false);
	q = n3_other_cover_name(&c, qbuf, sizeof(qbuf));
	val_nxdomain(N(q),
	    AUTH(n3_match(&c, "example."), n3_cover(&c, q),
	        n3_cover(&c, "*.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	snprintf(want, sizeof(want),
	    "NSEC3 proves that %s and *.example. do not exist", q);
	assert_outcome(o, VAL_SECURE, 0, want);
	assert_int_equal(b.sig_checks, 3);
	assert_int_equal(b.nsec3_hashes, 3); /* q, example., *.example. */
	assert_int_equal(o.ttl_cap, 3600);
	/* the wildcard's cover missing */
	val_nxdomain(N(q),
	    AUTH(n3_match(&c, "example."), n3_cover(&c, q), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC3 proves that *.example. does not exist");
	/* the next closer name's cover missing */
	val_nxdomain(N(q),
	    AUTH(n3_match(&c, "example."), n3_cover(&c, "*.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	snprintf(
	    want, sizeof(want), "no NSEC3 covers the next closer name %s", q);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING, want);
	/* the closest encloser's match missing */
	val_nxdomain(N(q),
	    AUTH(n3_cover(&c, q), n3_cover(&c, "*.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	snprintf(want, sizeof(want),
	    "no NSEC3 matches an ancestor of %s in example.", q);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING, want);
	/* deeper: q.b.x.example.: closest encloser b.x.example. */
	val_nxdomain(N("q.b.x.example."),
	    AUTH(n3_match(&c, "b.x.example."), n3_cover(&c, "q.b.x.example."),
	        n3_cover(&c, "*.b.x.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC3 proves that q.b.x.example. and *.b.x.example. do not "
	    "exist");
	/* a name that exists */
	val_nxdomain(N("a.example."), AUTH(n3_match(&c, "a.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC3 matches a.example.: the name exists");
	/* a name the wildcard *.w.example. would have answered */
	val_nxdomain(N("foo.w.example."),
	    AUTH(n3_match(&c, "w.example."), n3_cover(&c, "foo.w.example."),
	        n3_match(&c, "*.w.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC3 shows that *.w.example. exists: foo.w.example. cannot be "
	    "NXDOMAIN");
	/* below a delegation: the parent's NSEC3 proves nothing there */
	val_nxdomain(N("x.ins.example."),
	    AUTH(n3_match(&c, "ins.example."), n3_cover(&c, "x.ins.example."),
	        n3_cover(&c, "*.ins.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "closest encloser ins.example. of x.ins.example. is a delegation "
	    "or a DNAME");
}

static void
nsec3_optout(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	struct n3chain c;
	char qbuf[32], want[VAL_WHY_MAX];
	const char *q;
	bool deleg = false;

	(void)state;
	n3_chain(&c, true);
	q = n3_other_cover_name(&c, qbuf, sizeof(qbuf));
	/* NXDOMAIN in an opt-out span: insecure */
	val_nxdomain(N(q),
	    AUTH(n3_match(&c, "example."), n3_cover(&c, q),
	        n3_cover(&c, "*.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	snprintf(want, sizeof(want), "opt-out NSEC3 covers %s (insecure)", q);
	assert_outcome(o, VAL_INSECURE, 0, want);
	/* DS of the insecure delegation ins.example.: insecure, a cut */
	val_nodata(N("ins.example."), DNS_T_DS,
	    AUTH(n3_match(&c, "example."), n3_cover(&c, "ins.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_INSECURE, 0,
	    "opt-out NSEC3 covers ins.example.: no DS, insecure");
	val_no_ds(N("ins.example."),
	    AUTH(n3_match(&c, "example."), n3_cover(&c, "ins.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o, &deleg);
	assert_int_equal(o.state, VAL_INSECURE);
	assert_true(deleg);
	/* an A below it, the closest encloser proof only: insecure too
	 * (errata 3441: an empty non-terminal of an unsigned delegation) */
	val_nodata(N("ins.example."), DNS_T_A,
	    AUTH(n3_match(&c, "example."), n3_cover(&c, "ins.example."),
	        n3_cover(&c, "*.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(
	    o, VAL_INSECURE, 0, "opt-out NSEC3 covers ins.example. (insecure)");
}

static void
nsec3_nodata(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	struct n3chain c;
	bool deleg;

	(void)state;
	n3_chain(&c, false);
	val_nodata(N("a.example."), DNS_T_AAAA,
	    AUTH(n3_match(&c, "a.example."), NULL), N("example."), zone_keys(),
	    NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0, "NSEC3 a.example. proves no AAAA");
	assert_int_equal(b.nsec3_hashes, 1);
	val_nodata(N("a.example."), DNS_T_A,
	    AUTH(n3_match(&c, "a.example."), NULL), N("example."), zone_keys(),
	    NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC3 a.example. has A: no NODATA");
	/* empty non-terminal: it has its own NSEC3, with no types */
	val_nodata(N("x.example."), DNS_T_A,
	    AUTH(n3_match(&c, "x.example."), NULL), N("example."), zone_keys(),
	    NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0, "NSEC3 x.example. proves no A");
	/* wildcard NODATA: closest encloser w.example., next closer
	 * foo.w.example., the wildcard's NSEC3 without A */
	val_nodata(N("foo.w.example."), DNS_T_A,
	    AUTH(n3_match(&c, "w.example."), n3_cover(&c, "foo.w.example."),
	        n3_match(&c, "*.w.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC3 *.w.example. proves no A at foo.w.example. (wildcard "
	    "NODATA)");
	val_nodata(N("foo.w.example."), DNS_T_TXT,
	    AUTH(n3_match(&c, "w.example."), n3_cover(&c, "foo.w.example."),
	        n3_match(&c, "*.w.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC3 proves that foo.w.example. has no TXT");
	/* no DS: at the insecure delegation, at a name that is no cut, and
	 * at the secure delegation that has one */
	deleg = false;
	val_no_ds(N("ins.example."), AUTH(n3_match(&c, "ins.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o, &deleg);
	assert_outcome(o, VAL_SECURE, 0, "NSEC3 ins.example. proves no DS");
	assert_true(deleg);
	val_no_ds(N("a.example."), AUTH(n3_match(&c, "a.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o, &deleg);
	assert_int_equal(o.state, VAL_SECURE);
	assert_false(deleg);
	val_no_ds(N("sub.example."), AUTH(n3_match(&c, "sub.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o, &deleg);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "NSEC3 sub.example. has DS: no NODATA");
	assert_false(deleg);
	/* DS of a name with no NSEC3 and no opt-out: bogus */
	val_nodata(N("ins2.example."), DNS_T_DS,
	    AUTH(n3_match(&c, "example."), n3_cover(&c, "ins2.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC3 matches ins2.example. and the cover of ins2.example. is "
	    "not opt-out");
}

static void
nsec3_wildcard_answer(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	struct n3chain c, oo;

	(void)state;
	n3_chain(&c, false);
	n3_chain(&oo, true);
	val_wildcard(N("foo.w.example."), 2,
	    AUTH(n3_cover(&c, "foo.w.example."), NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0,
	    "NSEC3 proves that foo.w.example. does not exist (wildcard "
	    "answer)");
	/* the next closer name is the one below the closest encloser */
	val_wildcard(N("a.b.foo.w.example."), 2,
	    AUTH(n3_cover(&c, "foo.w.example."), NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
	val_wildcard(N("foo.w.example."), 2,
	    AUTH(n3_cover(&oo, "foo.w.example."), NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_INSECURE, 0,
	    "opt-out NSEC3 covers foo.w.example. (wildcard answer, insecure)");
	val_wildcard(N("foo.w.example."), 2,
	    AUTH(n3_not_cover(&c, "foo.w.example."), NULL), N("example."),
	    zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC3 proves that foo.w.example. does not exist (wildcard "
	    "answer for foo.w.example.)");
}

static void
nsec3_iterations_and_hash_algorithm(void **state)
{
	struct val_outcome o;
	static const unsigned iters[] = {51, 500};

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		struct val_budget b = budget();
		char want[VAL_WHY_MAX];
		ldns_rr *rr = RR("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. "
		                 "3600 IN NSEC3 1 0 %u aabbccdd "
		                 "2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG",
		    iters[i]);

		val_nxdomain(N("c.example."), AUTH(rr, NULL), N("example."),
		    zone_keys(), NOW, &b, &o);
		snprintf(want, sizeof(want),
		    "NSEC3 iterations %u of example. exceed 50 (insecure)",
		    iters[i]);
		assert_outcome(
		    o, VAL_INSECURE, DNS_EDE_UNSUPPORTED_NSEC3_ITER, want);
		assert_int_equal(b.nsec3_hashes, 0);
		assert_int_equal(b.sig_checks, 1);
		/* not without a valid signature: a downgrade otherwise */
		val_nxdomain(N("c.example."), L(rr, NULL), N("example."),
		    zone_keys(), NOW, &b, &o);
		assert_int_equal(o.state, VAL_BOGUS);
		assert_int_equal(o.ede, DNS_EDE_RRSIGS_MISSING);
	}
	/* 50 is still fine (no proof here, so bogus, but not insecure) */
	struct val_budget b = budget();
	val_nodata(N("c.example."), DNS_T_A,
	    AUTH(RR("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. 3600 IN NSEC3 1 "
	            "0 50 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG"),
	        NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_BOGUS);
	assert_int_equal(o.ede, DNS_EDE_NSEC_MISSING);
	/* an unknown hash algorithm only: insecure */
	b = budget();
	val_nxdomain(N("c.example."),
	    AUTH(RR("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. 3600 IN NSEC3 2 "
	            "0 0 - 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG"),
	        NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_INSECURE, 0,
	    "NSEC3 hash algorithm 2 of example. not supported (insecure)");
}

static void
nsec3_rfc5155_hashes(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;

	(void)state;
	/* RFC 5155 appendix A (salt aabbccdd, 12 iterations): H(a.example)
	 * is 35mthgpgcu1qg68fab165klnsnk3dpvl, H(x.w.example)
	 * b4um86eghhds6nea196smvmlo4ors995. The owner in upper case, as a
	 * server may send it. */
	val_nodata(N("a.example."), DNS_T_AAAA,
	    AUTH(RR("35mthgpgcu1qg68fab165klnsnk3dpvl.example. 3600 IN NSEC3 1 "
	            "0 12 aabbccdd b4um86eghhds6nea196smvmlo4ors995 A RRSIG"),
	        NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0, "NSEC3 a.example. proves no AAAA");
	val_nodata(N("x.w.example."), DNS_T_A,
	    AUTH(RR("B4UM86EGHHDS6NEA196SMVMLO4ORS995.example. 3600 IN NSEC3 1 "
	            "0 12 aabbccdd gjeqe526plbf1g8mklp59enfd789njgi MX RRSIG"),
	        NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_SECURE, 0, "NSEC3 x.w.example. proves no A");
	assert_int_equal(b.nsec3_hashes, 2);
	/* one iteration less is another hash: no match, nothing proven */
	val_nodata(N("a.example."), DNS_T_AAAA,
	    AUTH(RR("35mthgpgcu1qg68fab165klnsnk3dpvl.example. 3600 IN NSEC3 1 "
	            "0 11 aabbccdd b4um86eghhds6nea196smvmlo4ors995 A RRSIG"),
	        NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_BOGUS);
}

static void
nsec3_parameters_must_agree(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	struct n3chain c;
	ldns_rr *odd;
	char qbuf[32];
	const char *q;

	(void)state;
	n3_chain(&c, false);
	q = n3_other_cover_name(&c, qbuf, sizeof(qbuf));
	/* a record of another salt first: it sets the parameters, the
	 * chain's records are then ignored and nothing is proven */
	odd = RR("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example. 3600 IN NSEC3 1 0 "
	         "2 ffff 2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG");
	val_nxdomain(N(q),
	    AUTH(odd, n3_match(&c, "example."), n3_cover(&c, q),
	        n3_cover(&c, "*.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_BOGUS);
	assert_int_equal(o.ede, DNS_EDE_NSEC_MISSING);
	/* a record claiming q exists, with the chain's hash of q but another
	 * salt: ignored, the proof stands */
	char hq[40];
	n3_hash_text(q, hq, N3_ITER, N3_SALT);
	ldns_rr *liar = RR("%s.example. 3600 IN NSEC3 1 0 %d ffff "
	                   "2t7b4g4vsa5smi47k61mv5bv1a22bojr A RRSIG",
	    hq, N3_ITER);
	val_nxdomain(N(q),
	    AUTH(n3_match(&c, "example."), liar, n3_cover(&c, q),
	        n3_cover(&c, "*.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
	/* after the chain's: ignored */
	val_nxdomain(N(q),
	    AUTH(n3_match(&c, "example."), odd, n3_cover(&c, q),
	        n3_cover(&c, "*.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.state, VAL_SECURE);
}

/* -------------------------------------------------------------- budget */

/* @p n keys with the key tag of @p k (its public key with two bytes moved
 * by one each way: the sum the tag is made of stays), none of them @p k. */
static ldns_rr_list *
colliding_keys(const struct tkey *k, size_t n)
{
	ldns_rr_list *l = L(NULL);
	size_t made = 0;

	for (size_t i = 0; made < n && i < 60; i++) {
		ldns_rr *c = keep(ldns_rr_clone(k->dnskey));
		ldns_rdf *pk = ldns_rr_rdf(c, 3);
		uint8_t *d = ldns_rdf_data(pk);
		size_t p = 10 + 2 * i, q = p + 2; /* same parity */

		assert_true(q < ldns_rdf_size(pk));
		if (d[p] < 255 && d[q] > 0) {
			d[p]++;
			d[q]--;
		} else if (d[p] > 0 && d[q] < 255) {
			d[p]--;
			d[q]++;
		} else {
			continue;
		}
		assert_int_equal(ldns_calc_keytag(c), k->tag);
		assert_true(ldns_rr_list_push_rr(l, c));
		made++;
	}
	assert_int_equal(made, n);
	return l;
}

static void
budget_keytrap(void **state)
{
	struct val_budget b = budget();
	struct val_outcome o;
	ldns_rr_list *www = www_a();
	ldns_rr *good = SIGN(&alg[2], www, INC, EXP); /* RSASHA256 */
	ldns_rr_list *keys = colliding_keys(&alg[2], 30);
	ldns_rr_list *sigs = L(NULL);
	char want[VAL_WHY_MAX];
	unsigned wl;

	(void)state;
	/* one RRSIG: at most max_keys_per_tag keys are tried */
	val_rrset(N("example."), www, L(good, NULL), keys, NOW, &b, &o, &wl);
	snprintf(want, sizeof(want),
	    "RRSIG A www.example. by key %u: signature does not verify",
	    alg[2].tag);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS, want);
	assert_int_equal(b.sig_checks, 4);

	/* 30 keys, 30 bad RRSIGs of that tag: stops at max_sig_checks */
	b = budget();
	for (size_t i = 0; i < 30; i++) {
		ldns_rr *s = keep(ldns_rr_clone(good));
		spoil_sig(s, i);
		ldns_rr_list_push_rr(sigs, s);
	}
	val_rrset(N("example."), www, sigs, keys, NOW, &b, &o, &wl);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "validation cap max_sig_checks (32) reached at example.");
	assert_int_equal(b.sig_checks, 32);
	assert_true(b.exhausted);
	assert_string_equal(b.cap, "max_sig_checks");
	/* and everything after it, even what would verify */
	val_rrset(N("example."), www, L(good, NULL), L(alg[2].dnskey, NULL),
	    NOW, &b, &o, &wl);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "validation cap max_sig_checks (32) reached at example.");
	val_nxdomain(
	    N("c.example."), L(NULL), N("example."), zone_keys(), NOW, &b, &o);
	assert_int_equal(o.ede, DNS_EDE_DNSSEC_BOGUS);
	assert_int_equal(b.sig_checks, 32);
	/* with the real key among them the first good RRSIG wins */
	b = budget();
	val_rrset(N("example."), www, L(good, NULL),
	    CAT(L(alg[2].dnskey, NULL), keys, NULL), NOW, &b, &o, &wl);
	assert_int_equal(o.state, VAL_SECURE);
	assert_int_equal(b.sig_checks, 1);
}

static void
budget_nsec3_hashes(void **state)
{
	struct val_limits lim = {.max_nsec3_hashes = 2};
	struct val_budget b;
	struct val_outcome o;
	struct n3chain c;

	(void)state;
	n3_chain(&c, false);
	val_budget_init(&b, &lim);
	/* q.b.x.example. needs q.b.x, b.x, then *.b.x: 3 hashes */
	val_nxdomain(N("q.b.x.example."),
	    AUTH(n3_match(&c, "b.x.example."), n3_cover(&c, "q.b.x.example."),
	        n3_cover(&c, "*.b.x.example."), NULL),
	    N("example."), zone_keys(), NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "validation cap max_nsec3_hashes (2) reached at example.");
	assert_int_equal(b.nsec3_hashes, 2);
	assert_string_equal(b.cap, "max_nsec3_hashes");
	/* a long name of many labels stops early too */
	val_budget_init(&b, &lim);
	val_nodata(N("a.b.c.d.e.f.g.h.example."), DNS_T_A,
	    AUTH(n3_match(&c, "example."), NULL), N("example."), zone_keys(),
	    NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_DNSSEC_BOGUS,
	    "validation cap max_nsec3_hashes (2) reached at example.");
	/* within the default budget the same is a plain missing proof */
	b = budget();
	val_nodata(N("a.b.c.d.e.f.g.h.example."), DNS_T_A,
	    AUTH(n3_match(&c, "example."), NULL), N("example."), zone_keys(),
	    NOW, &b, &o);
	assert_outcome(o, VAL_BOGUS, DNS_EDE_NSEC_MISSING,
	    "no NSEC3 covers the next closer name h.example.");
	assert_int_equal(b.nsec3_hashes, 9);
}

/* ------------------------------------------------------------ threads */

struct shared {
	const ldns_rr_list *www, *sigs, *keys, *auth;
	int secure; /* validations that came out SECURE */
};

static void *
validate_many(void *arg)
{
	struct shared *sh = arg;
	int n = 0;

	for (int i = 0; i < 40; i++) {
		struct val_budget b;
		struct val_outcome o;
		unsigned wl;

		val_budget_init(&b, NULL);
		val_rrset(
		    N_shared(), sh->www, sh->sigs, sh->keys, NOW, &b, &o, &wl);
		n += o.state == VAL_SECURE;
		val_nxdomain(
		    N_shared_c(), sh->auth, N_shared(), sh->keys, NOW, &b, &o);
		n += o.state == VAL_SECURE;
	}
	__atomic_add_fetch(&sh->secure, n, __ATOMIC_RELAXED);
	return NULL;
}

static void
threads_share_inputs(void **state)
{
	struct shared sh = {0};
	pthread_t t[4];
	ldns_rr_list *www = www_a();

	(void)state;
	nsec_chain();
	sh.www = www;
	sh.sigs = L(SIGN(&zsk, www, INC, EXP), NULL);
	sh.keys = zone_keys();
	sh.auth = AUTH(nsec_a, nsec_apex, NULL);
	for (int i = 0; i < 4; i++)
		assert_int_equal(
		    pthread_create(&t[i], NULL, validate_many, &sh), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(sh.secure, 4 * 40 * 2);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(helpers),
	    T(rrset_each_algorithm),
	    T(rrset_memo_same_check_only),
	    T(rrset_expired_and_not_yet_valid),
	    T(rrset_changed_rdata),
	    T(rrset_wrong_signer),
	    T(rrset_wrong_labels),
	    T(rrset_key_or_rrsig_missing),
	    T(rrset_unsupported_algorithm),
	    T(rrset_ttl_cap),
	    T(rrset_case_and_duplicates),
	    T(rrset_malformed_input),
	    T(dnskey_by_ds_digests),
	    T(dnskey_by_ds_strongest_digest),
	    T(dnskey_by_ds_failures),
	    T(dnskey_by_ds_unsupported),
	    T(dnskey_by_anchor_keys),
	    T(dnskey_by_ta_anchor),
	    T(real_chain_from_root),
	    T(wildcard_answer),
	    T(nsec_nxdomain),
	    T(nsec_nodata),
	    T(nsec_nodata_ent_and_wildcard),
	    T(nsec_no_ds),
	    T(nsec3_nxdomain),
	    T(nsec3_optout),
	    T(nsec3_nodata),
	    T(nsec3_wildcard_answer),
	    T(nsec3_iterations_and_hash_algorithm),
	    T(nsec3_rfc5155_hashes),
	    T(nsec3_parameters_must_agree),
	    T(budget_keytrap),
	    T(budget_nsec3_hashes),
	    T(threads_share_inputs),
	};
#undef T
	int failed = cmocka_run_group_tests(tests, group_setup, group_teardown);

	/* again, with the keys kept between checks */
	kept = &kept_keys;
	failed += cmocka_run_group_tests(tests, group_setup, group_teardown);
	if (kept_keys.builds == 0 || kept_keys.hits == 0) {
		fprintf(stderr,
		    "kept keys: %" PRIu64 " built, %" PRIu64
		    " found: the second run did not use them\n",
		    kept_keys.builds, kept_keys.hits);
		failed++;
	}
	val_keys_clear(&kept_keys);
	return failed;
}
