/*
 * anchors.c: trust anchors (see anchors.h). A set is a sorted array of
 * zones, each with its DS and DNSKEY records, plus a list of negative
 * anchors. Sets hold a handful of zones, so look-ups walk them linearly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "resolver/anchors.h"
#include "resolver/rrfile.h"
#include "resolver/dns.h"

struct ta_set {
	struct ta_anchor *a; /**< sorted by dns_name_cmp of zone */
	size_t n, cap;
	uint8_t (*neg)[LIM_NAME_MAX];
	size_t nneg, negcap;
};

/* IANA root-anchors.xml (checked against the KSKs' public keys). */
static const char *const builtin[] = {
    ". 172800 IN DS 20326 8 2 "
    "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
    ". 172800 IN DS 38696 8 2 "
    "683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16",
};

#define DNSKEY_F_ZONE 0x0100

struct ta_set *
ta_new(void)
{
	return calloc(1, sizeof(struct ta_set));
}

void
ta_free(struct ta_set *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->n; i++) {
		ldns_rr_list_deep_free(s->a[i].ds);
		ldns_rr_list_deep_free(s->a[i].dnskey);
	}
	free(s->a);
	free(s->neg);
	free(s);
}

/* The owner of @p rr as a wire name, or NULL if malformed. */
static const uint8_t *
owner_of(const ldns_rr *rr)
{
	const ldns_rdf *o = ldns_rr_owner(rr);

	if (o == NULL || ldns_rdf_size(o) == 0 ||
	    dns_name_len(ldns_rdf_data(o), ldns_rdf_size(o)) !=
	        ldns_rdf_size(o))
		return NULL;
	return ldns_rdf_data(o);
}

/* Why @p rr cannot be a trust anchor, or NULL if it can. */
static const char *
check_rr(const ldns_rr *rr, char *buf, size_t cap)
{
	uint16_t type = ldns_rr_get_type(rr);
	char tb[DNS_MNEMONIC_MAX];

	if (type != DNS_T_DS && type != DNS_T_DNSKEY) {
		snprintf(buf, cap,
		    "type %s is not a trust anchor (DS or "
		    "DNSKEY only)",
		    dns_type_str(type, tb));
		return buf;
	}
	if ((uint16_t)ldns_rr_get_class(rr) != DNS_C_IN)
		return "class is not IN";
	if (owner_of(rr) == NULL)
		return "malformed owner name";
	if (ldns_rr_rd_count(rr) != 4)
		return "wrong number of rdata fields";
	if (type == DNS_T_DNSKEY) {
		uint16_t flags = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
		if (!(flags & DNSKEY_F_ZONE))
			return "DNSKEY without the zone key flag (256)";
		if (ldns_rdf2native_int8(ldns_rr_rdf(rr, 1)) != 3)
			return "DNSKEY protocol is not 3";
		return NULL;
	}
	uint8_t dt = ldns_rdf2native_int8(ldns_rr_rdf(rr, 2));
	size_t want = dt == 1 ? 20 : dt == 2 ? 32 : dt == 4 ? 48 : 0;
	if (want != 0 && ldns_rdf_size(ldns_rr_rdf(rr, 3)) != want) {
		snprintf(buf, cap, "DS digest type %u needs %zu bytes, not %zu",
		    dt, want, ldns_rdf_size(ldns_rr_rdf(rr, 3)));
		return buf;
	}
	return NULL;
}

/* Same type and rdata (TTLs may differ). */
static bool
same_rr(const ldns_rr *a, const ldns_rr *b)
{
	if (ldns_rr_get_type(a) != ldns_rr_get_type(b) ||
	    ldns_rr_rd_count(a) != ldns_rr_rd_count(b))
		return false;
	for (size_t i = 0; i < ldns_rr_rd_count(a); i++)
		if (ldns_rdf_compare(ldns_rr_rdf(a, i), ldns_rr_rdf(b, i)) != 0)
			return false;
	return true;
}

/* The anchor for @p zone, created (in order) if absent; NULL on ENOMEM. */
static struct ta_anchor *
anchor_for(struct ta_set *s, const uint8_t *zone)
{
	size_t i = 0;

	for (; i < s->n; i++) {
		int c = dns_name_cmp(s->a[i].zone, zone);
		if (c == 0)
			return &s->a[i];
		if (c > 0)
			break;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct ta_anchor *a = realloc(s->a, cap * sizeof(*a));
		if (a == NULL)
			return NULL;
		s->a = a;
		s->cap = cap;
	}
	memmove(&s->a[i + 1], &s->a[i], (s->n - i) * sizeof(s->a[0]));
	s->n++;
	memset(&s->a[i], 0, sizeof(s->a[i]));
	dns_name_lower(s->a[i].zone, zone);
	return &s->a[i];
}

/* Add @p rr (checked; ownership taken, freed if a duplicate). */
static int
add_rr(struct ta_set *s, ldns_rr *rr)
{
	struct ta_anchor *a = anchor_for(s, owner_of(rr));
	ldns_rr_list **l;

	if (a == NULL) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	l = (uint16_t)ldns_rr_get_type(rr) == DNS_T_DS ? &a->ds : &a->dnskey;
	if (*l == NULL && (*l = ldns_rr_list_new()) == NULL) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	for (size_t i = 0; i < ldns_rr_list_rr_count(*l); i++)
		if (same_rr(ldns_rr_list_rr(*l, i), rr)) {
			ldns_rr_free(rr);
			return 0;
		}
	if (!ldns_rr_list_push_rr(*l, rr)) {
		ldns_rr_free(rr);
		return -ENOMEM;
	}
	return 0;
}

int
ta_add_str(struct ta_set *s, const char *text, char *err, size_t errlen)
{
	ldns_rdf *origin = ldns_dname_new_frm_str(".");
	ldns_rr *rr = NULL;
	ldns_status st;
	const char *why;
	char buf[96];

	if (origin == NULL)
		return -ENOMEM;
	st = ldns_rr_new_frm_str(&rr, text, 3600, origin, NULL);
	ldns_rdf_deep_free(origin);
	if (st != LDNS_STATUS_OK) {
		snprintf(err, errlen, "%s", ldns_get_errorstr_by_id(st));
		return st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
	}
	if ((why = check_rr(rr, buf, sizeof(buf))) != NULL) {
		snprintf(err, errlen, "%s", why);
		ldns_rr_free(rr);
		return -EINVAL;
	}
	return add_rr(s, rr);
}

int
ta_add_builtin(struct ta_set *s)
{
	char err[128];

	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++) {
		int rc = ta_add_str(s, builtin[i], err, sizeof(err));
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
ta_load_file(struct ta_set *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	ldns_rdf *origin = NULL, *prev = NULL;
	ldns_rr_list *got = NULL;
	uint32_t ttl = 3600;
	int line = 1, rc = 0;
	char buf[96];

	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	origin = ldns_dname_new_frm_str(".");
	got = ldns_rr_list_new();
	if (origin == NULL || got == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (!feof(f)) {
		ldns_rr *rr = NULL;
		ldns_status st =
		    ldns_rr_new_frm_fp_l(&rr, f, &ttl, &origin, &prev, &line);
		const char *why = NULL;

		if (st == LDNS_STATUS_SYNTAX_EMPTY ||
		    st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (ferror(f)) {
			rc = -EIO;
			snprintf(err, errlen, "%s: %s", path, strerror(EIO));
			ldns_rr_free(rr);
			goto out;
		}
		if (st == LDNS_STATUS_SYNTAX_INCLUDE)
			why =
			    "$INCLUDE is not supported in a trust anchor file";
		else if (st != LDNS_STATUS_OK)
			why = ldns_get_errorstr_by_id(st);
		else
			why = check_rr(rr, buf, sizeof(buf));
		if (why != NULL) {
			rc = st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
			snprintf(err, errlen, "%s:%d: %s", path,
			    rrfile_line(f, line), why);
			ldns_rr_free(rr);
			goto out;
		}
		if (!ldns_rr_list_push_rr(got, rr)) {
			ldns_rr_free(rr);
			rc = -ENOMEM;
			snprintf(err, errlen, "%s: out of memory", path);
			goto out;
		}
	}
	if (ldns_rr_list_rr_count(got) == 0) {
		rc = -EINVAL;
		snprintf(err, errlen,
		    "%s:%d: no DS or DNSKEY record in the file", path,
		    rrfile_line(f, line));
		goto out;
	}
	/* Checked: now merge, in file order. Only ENOMEM can stop it
	 * half-way; add_rr takes each record in every case. */
	for (size_t i = 0; i < ldns_rr_list_rr_count(got); i++) {
		ldns_rr *rr = ldns_rr_list_rr(got, i);
		if (rc == 0)
			rc = add_rr(s, rr);
		else
			ldns_rr_free(rr);
	}
	ldns_rr_list_free(got);
	got = NULL;
	if (rc < 0)
		snprintf(err, errlen, "%s: out of memory", path);
out:
	fclose(f);
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	ldns_rr_list_deep_free(got);
	return rc;
}

int
ta_add_negative(struct ta_set *s, const uint8_t *zone)
{
	if (zone == NULL || dns_name_len(zone, LIM_NAME_MAX) == 0)
		return -EINVAL;
	for (size_t i = 0; i < s->nneg; i++)
		if (dns_name_eq(s->neg[i], zone))
			return 0;
	if (s->nneg == s->negcap) {
		size_t cap = s->negcap ? s->negcap * 2 : 4;
		uint8_t(*n)[LIM_NAME_MAX] = realloc(s->neg, cap * sizeof(*n));
		if (n == NULL)
			return -ENOMEM;
		s->neg = n;
		s->negcap = cap;
	}
	dns_name_lower(s->neg[s->nneg++], zone);
	return 0;
}

bool
ta_is_negative(const struct ta_set *s, const uint8_t *name)
{
	for (size_t i = 0; i < s->nneg; i++)
		if (dns_name_under(name, s->neg[i]))
			return true;
	return false;
}

const struct ta_anchor *
ta_closest(const struct ta_set *s, const uint8_t *name)
{
	const struct ta_anchor *best = NULL;
	unsigned best_labels = 0;

	for (size_t i = 0; i < s->n; i++) {
		unsigned l = dns_name_labels(s->a[i].zone);
		if ((best == NULL || l > best_labels) &&
		    dns_name_under(name, s->a[i].zone)) {
			best = &s->a[i];
			best_labels = l;
		}
	}
	return best;
}

size_t
ta_count(const struct ta_set *s)
{
	return s->n;
}

const struct ta_anchor *
ta_at(const struct ta_set *s, size_t i)
{
	return i < s->n ? &s->a[i] : NULL;
}

size_t
ta_negative_count(const struct ta_set *s)
{
	return s->nneg;
}

const uint8_t *
ta_negative_at(const struct ta_set *s, size_t i)
{
	return i < s->nneg ? s->neg[i] : NULL;
}

void
ta_print(FILE *out, const struct ta_set *s)
{
	char name[DNS_NAME_TEXT_MAX];

	for (size_t i = 0; i < s->n; i++) {
		if (s->a[i].ds != NULL)
			ldns_rr_list_print(out, s->a[i].ds);
		if (s->a[i].dnskey != NULL)
			ldns_rr_list_print(out, s->a[i].dnskey);
	}
	for (size_t i = 0; i < s->nneg; i++) {
		dns_name_to_text(name, sizeof(name), s->neg[i]);
		fprintf(out, "; negative %s\n", name);
	}
}
