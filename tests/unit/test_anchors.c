/*
 * test_anchors.c: unit tests of resolver/anchors.c: the built-in root
 * anchors (checked against the root KSKs' public keys), trust anchor files
 * (DS, DNSKEY, merging, errors with their line numbers), the closest
 * anchor of a name, negative anchors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <ldns/ldns.h>

#include "resolver/anchors.h"
#include "resolver/dns.h"

/* The public keys of the root KSKs (IANA root-anchors.xml). */
#define KSK2017                                                                \
	". 172800 IN DNSKEY 257 3 8 "                                          \
	"AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/"           \
	"4RgWOq7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+"                             \
	"B5xQlNVz8Og8kvArMtNROxVQuCaSnIDdD5LKyWbRd2n9WGe2R8PzgCmr3EgVLrjyBxWe" \
	"zF0jLHwVN8efS3rCj/EWgvIWgb9tarpVUDK/b58Da+sqqls3eNbuv7pr+eoZG+"       \
	"SrDK6nWeL3c6H5Apxz7LjVc1uTIdsIXxuOLYA4/ilBmSVIzuDWfdRUfhHdY6+"        \
	"cn8HFRm+2hM8AnXGXws9555KrUB5qihylGa8subX2Nn6UwNR1AkUTV74bU="
#define KSK2024                                                                \
	". 172800 IN DNSKEY 257 3 8 "                                          \
	"AwEAAa96jeuknZlaeSrvyAJj6ZHv28hhOKkx3rLGXVaC6rXTsDc449/"              \
	"cidltpkyGwCJNnOAlFNKF2jBosZBU5eeHspaQWOmOElZsjICMQMC3aeHbGiShvZsx4wM" \
	"YSjH8e7Vrhbu6irwCzVBApESjbUdpWWmEnhathWu1jo+siFUiRAAxm9qyJNg/"        \
	"wOZqqzL/dL/q8PkcRU5oUKEpUge71M3ej2/7CPqpdVwuMoTvoB+"                  \
	"ZOT4YeGyxMvHmbrxlFzGOHOijtzN+u1TQNatX2XBuzZNQ1K+"                     \
	"s2CXkPIZo7s6JgZyvaBevYtxPvYLw4z9mR7K2vaF18UYH9Z9GNUUeayffKC73PYc="

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define HEX32 "0123456789abcdef0123456789abcdef"
#define EC_KEY                                                       \
	"uugEQOG7/3zv3rVGq43NQTqfmZxWn4fMIpi6ph7JKEvTRwhtw3aIV4dSk+" \
	"fgpFFmORrKNznT7AIuJKy6P/Mi1Q=="

/* ------------------------------------------------------------ helpers */

/* "www.example." -> wire (static ring, a slot per call). */
static const uint8_t *
N(const char *s)
{
	static uint8_t ring[8][LIM_NAME_MAX];
	static unsigned i;
	uint8_t *b = ring[i++ % 8];

	assert_true(dns_name_from_text(b, s) > 0);
	return b;
}

struct tmpf {
	char path[64];
};

/* Write @p text to a new temporary file. */
static void
tmp_write(struct tmpf *t, const char *text)
{
	int fd;
	FILE *f;

	snprintf(t->path, sizeof(t->path), "/tmp/test_anchors.XXXXXX");
	fd = mkstemp(t->path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Load @p text as a file into @p s; @return the rc, message in err with
 * the temporary path replaced by "F". */
static int
load_text(struct ta_set *s, const char *text, char *err, size_t cap)
{
	struct tmpf t;
	char raw[512];
	int rc;

	tmp_write(&t, text);
	raw[0] = 0;
	rc = ta_load_file(s, t.path, raw, sizeof(raw));
	unlink(t.path);
	if (strncmp(raw, t.path, strlen(t.path)) == 0)
		snprintf(err, cap, "F%s", raw + strlen(t.path));
	else
		snprintf(err, cap, "%s", raw);
	return rc;
}

static uint16_t
ds_tag(const ldns_rr *ds)
{
	return ldns_rdf2native_int16(ldns_rr_rdf(ds, 0));
}

/* The DS record among @p l with key tag @p tag, or NULL. */
static const ldns_rr *
find_ds(const ldns_rr_list *l, uint16_t tag)
{
	for (size_t i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++)
		if (ds_tag(ldns_rr_list_rr(l, i)) == tag)
			return ldns_rr_list_rr(l, i);
	return NULL;
}

/* ------------------------------------------------------------- tests */

static void
builtin_root_anchors(void **state)
{
	struct ta_set *s = ta_new();
	const struct ta_anchor *a;
	static const struct {
		uint16_t tag;
		const char *key;
	} ksk[] = {{20326, KSK2017}, {38696, KSK2024}};

	(void)state;
	assert_non_null(s);
	assert_int_equal(ta_add_builtin(s), 0);
	assert_int_equal(ta_add_builtin(s), 0); /* twice: nothing more */
	assert_int_equal(ta_count(s), 1);
	a = ta_at(s, 0);
	assert_non_null(a);
	assert_int_equal(a->zone[0], 0); /* the root */
	assert_null(a->dnskey);
	assert_non_null(a->ds);
	assert_int_equal(ldns_rr_list_rr_count(a->ds), 2);
	for (size_t i = 0; i < 2; i++) {
		const ldns_rr *ds = find_ds(a->ds, ksk[i].tag);
		ldns_rr *key = NULL, *want;

		assert_non_null(ds);
		assert_int_equal(ldns_rdf2native_int8(ldns_rr_rdf(ds, 1)), 8);
		assert_int_equal(ldns_rdf2native_int8(ldns_rr_rdf(ds, 2)), 2);
		/* The digest is the one of the real KSK. */
		assert_int_equal(
		    ldns_rr_new_frm_str(&key, ksk[i].key, 0, NULL, NULL),
		    LDNS_STATUS_OK);
		assert_int_equal(ldns_calc_keytag(key), ksk[i].tag);
		want = ldns_key_rr2ds(key, LDNS_SHA256);
		assert_non_null(want);
		assert_int_equal(
		    ldns_rdf_compare(ldns_rr_rdf(want, 3), ldns_rr_rdf(ds, 3)),
		    0);
		ldns_rr_free(want);
		ldns_rr_free(key);
	}
	assert_ptr_equal(ta_closest(s, N("www.example.com.")), a);
	assert_ptr_equal(ta_closest(s, N(".")), a);
	ta_free(s);
	ta_free(NULL);
}

static void
file_with_ds(void **state)
{
	struct ta_set *s = ta_new();
	const struct ta_anchor *a;
	char err[256];

	(void)state;
	assert_int_equal(
	    load_text(s,
	        "; anchors for the lab\n"
	        "$ORIGIN example.\n"
	        "$TTL 3600\n"
	        "\n"
	        "@ IN DS 12345 13 2 " HEX64 "\n"
	        "sub DS ( 23456 8 2\n"
	        "    " HEX64 " ) ; relative, two lines\n"
	        "sub.example. 60 IN DS 23457 8 4 " HEX64 HEX32 "\n",
	        err, sizeof(err)),
	    0);
	assert_int_equal(ta_count(s), 2);
	a = ta_at(s, 0);
	assert_memory_equal(a->zone, N("example."), 9);
	assert_int_equal(ldns_rr_list_rr_count(a->ds), 1);
	assert_non_null(find_ds(a->ds, 12345));
	assert_null(a->dnskey);
	a = ta_at(s, 1);
	assert_memory_equal(a->zone, N("sub.example."), 13);
	assert_int_equal(ldns_rr_list_rr_count(a->ds), 2);
	assert_non_null(find_ds(a->ds, 23456));
	assert_non_null(find_ds(a->ds, 23457));
	assert_null(ta_at(s, 2));
	ta_free(s);
}

static void
file_with_dnskey_non_root(void **state)
{
	struct ta_set *s = ta_new();
	const struct ta_anchor *a;
	char err[256];

	(void)state;
	assert_int_equal(
	    load_text(s, "Example.ORG. IN DNSKEY 257 3 13 " EC_KEY "\n", err,
	        sizeof(err)),
	    0);
	assert_int_equal(ta_count(s), 1);
	a = ta_at(s, 0);
	/* stored lowercased */
	assert_memory_equal(a->zone, "\7example\3org", 13);
	assert_null(a->ds);
	assert_non_null(a->dnskey);
	assert_int_equal(ldns_rr_list_rr_count(a->dnskey), 1);
	assert_int_equal(ldns_rr_get_type(ldns_rr_list_rr(a->dnskey, 0)),
	    LDNS_RR_TYPE_DNSKEY);
	assert_ptr_equal(ta_closest(s, N("www.example.org.")), a);
	assert_null(ta_closest(s, N("example.com.")));
	assert_null(ta_closest(s, N("org.")));
	ta_free(s);
}

static void
files_merge_by_owner(void **state)
{
	struct ta_set *s = ta_new();
	const struct ta_anchor *a;
	char err[256];

	(void)state;
	assert_int_equal(load_text(s,
	                     "example. DS 12345 13 2 " HEX64 "\n"
	                     "example. DS 12345 13 2 " HEX64 "\n",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(load_text(s,
	                     "example. 999 IN DS 12345 13 2 " HEX64 "\n"
	                     "example. DNSKEY 257 3 13 " EC_KEY "\n",
	                     err, sizeof(err)),
	    0);
	assert_int_equal(ta_add_str(s, "example. IN DNSKEY 257 3 13 " EC_KEY,
	                     err, sizeof(err)),
	    0);
	assert_int_equal(ta_count(s), 1);
	a = ta_at(s, 0);
	assert_int_equal(ldns_rr_list_rr_count(a->ds), 1);
	assert_int_equal(ldns_rr_list_rr_count(a->dnskey), 1);
	ta_free(s);
}

static void
closest_anchor(void **state)
{
	struct ta_set *s = ta_new();
	char err[256];
	const struct ta_anchor *root, *ex, *sub;

	(void)state;
	assert_int_equal(
	    ta_add_str(s, "sub.example. DS 23456 8 2 " HEX64, err, sizeof(err)),
	    0);
	assert_int_equal(ta_add_builtin(s), 0);
	assert_int_equal(
	    ta_add_str(s, "example. DS 12345 13 2 " HEX64, err, sizeof(err)),
	    0);
	assert_int_equal(ta_count(s), 3);
	/* canonical order, whatever the order added */
	root = ta_at(s, 0);
	ex = ta_at(s, 1);
	sub = ta_at(s, 2);
	assert_int_equal(root->zone[0], 0);
	assert_memory_equal(ex->zone, N("example."), 9);
	assert_memory_equal(sub->zone, N("sub.example."), 13);

	assert_ptr_equal(ta_closest(s, N("www.sub.example.")), sub);
	assert_ptr_equal(ta_closest(s, N("WWW.Sub.EXAMPLE.")), sub);
	assert_ptr_equal(ta_closest(s, N("sub.example.")), sub);
	assert_ptr_equal(ta_closest(s, N("xsub.example.")), ex);
	assert_ptr_equal(ta_closest(s, N("a.b.example.")), ex);
	assert_ptr_equal(ta_closest(s, N("example.")), ex);
	assert_ptr_equal(ta_closest(s, N("com.")), root);
	assert_ptr_equal(ta_closest(s, N(".")), root);
	ta_free(s);
}

static void
negative_anchors(void **state)
{
	struct ta_set *s = ta_new();

	(void)state;
	assert_false(ta_is_negative(s, N("example.")));
	assert_int_equal(ta_add_negative(s, N("Neg.Example.")), 0);
	assert_int_equal(ta_add_negative(s, N("neg.example.")), 0);
	assert_int_equal(ta_add_negative(s, N("other.")), 0);
	assert_int_equal(ta_negative_count(s), 2);
	assert_memory_equal(ta_negative_at(s, 0), "\3neg\7example", 13);
	assert_null(ta_negative_at(s, 2));
	assert_true(ta_is_negative(s, N("neg.example.")));
	assert_true(ta_is_negative(s, N("a.b.NEG.example.")));
	assert_true(ta_is_negative(s, N("x.other.")));
	assert_false(ta_is_negative(s, N("example.")));
	assert_false(ta_is_negative(s, N("xneg.example.")));
	assert_false(ta_is_negative(s, N(".")));
	/* a negative anchor does not hide the positive one from ta_closest */
	assert_int_equal(ta_add_builtin(s), 0);
	assert_non_null(ta_closest(s, N("a.neg.example.")));
	assert_int_equal(
	    ta_add_negative(s, (const uint8_t *)"\100bad"), -EINVAL);
	assert_int_equal(ta_add_negative(s, NULL), -EINVAL);
	ta_free(s);
}

static void
file_errors_name_the_line(void **state)
{
	struct ta_set *s = ta_new();
	char err[256];
	static const struct {
		const char *text, *want;
	} cases[] = {
	    /* another type, on line 3 after a comment and a blank line */
	    {"; c\n\nwww.example. 300 IN A 192.0.2.1\n",
	        "F:3: type A is not a trust anchor (DS or DNSKEY only)"},
	    /* garbage after a good record */
	    {"example. DS 12345 13 2 " HEX64 "\nthis is not a record\n",
	        "F:2: Syntax error, could not parse the RR's rdata"},
	    /* a bad record on the last line, no newline after it */
	    {"$ORIGIN example.\n$TTL 60\n; x\nsub DS 1 8 zz\n",
	        "F:4: Syntax error, could not parse the RR's rdata"},
	    {"$ORIGIN example.\n$TTL 60\n; x\nsub DS 1 8 zz",
	        "F:4: Syntax error, could not parse the RR's rdata"},
	    /* a record over two lines: the line where it ends */
	    {"; x\nexample. NS (\n ns.example. )\n",
	        "F:3: type NS is not a trust anchor (DS or DNSKEY only)"},
	    {"", "F:1: no DS or DNSKEY record in the file"},
	    {"; only\n; comments\n\n",
	        "F:3: no DS or DNSKEY record in the file"},
	    {"example. CH DS 12345 13 2 " HEX64 "\n", "F:1: class is not IN"},
	    {"\nexample. DNSKEY 1 3 13 " EC_KEY "\n",
	        "F:2: DNSKEY without the zone key flag (256)"},
	    {"example. DNSKEY 257 2 13 " EC_KEY "\n",
	        "F:1: DNSKEY protocol is not 3"},
	    {"example. DS 12345 13 2 0011\n",
	        "F:1: DS digest type 2 needs 32 bytes, not 2"},
	    {"$INCLUDE other.file\n",
	        "F:1: $INCLUDE is not supported in a trust anchor file"},
	};

	(void)state;
	assert_int_equal(ta_add_builtin(s), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		assert_int_equal(
		    load_text(s, cases[i].text, err, sizeof(err)), -EINVAL);
		assert_string_equal(err, cases[i].want);
		/* all or nothing: still only the root */
		assert_int_equal(ta_count(s), 1);
		assert_int_equal(ldns_rr_list_rr_count(ta_at(s, 0)->ds), 2);
	}
	/* good records before a bad one are not kept either */
	assert_int_equal(load_text(s,
	                     "example. DS 12345 13 2 " HEX64 "\n"
	                     "example. TXT \"no\"\n",
	                     err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(
	    err, "F:2: type TXT is not a trust anchor (DS or DNSKEY only)");
	assert_int_equal(ta_count(s), 1);
	ta_free(s);
}

static void
file_unreadable(void **state)
{
	struct ta_set *s = ta_new();
	char err[256];

	(void)state;
	assert_int_equal(
	    ta_load_file(s, "/nonexistent/anchors.zone", err, sizeof(err)),
	    -ENOENT);
	assert_string_equal(
	    err, "/nonexistent/anchors.zone: No such file or directory");
	assert_int_equal(ta_count(s), 0);
	ta_free(s);
}

static void
add_str_errors(void **state)
{
	struct ta_set *s = ta_new();
	char err[256];

	(void)state;
	assert_int_equal(
	    ta_add_str(s, "example. A 192.0.2.1", err, sizeof(err)), -EINVAL);
	assert_string_equal(
	    err, "type A is not a trust anchor (DS or DNSKEY only)");
	assert_int_equal(
	    ta_add_str(s, "example. DS x", err, sizeof(err)), -EINVAL);
	assert_int_equal(ta_count(s), 0);
	ta_free(s);
}

static void
print_all(void **state)
{
	struct ta_set *s = ta_new();
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	char err[128];

	(void)state;
	assert_int_equal(ta_add_builtin(s), 0);
	assert_int_equal(ta_add_str(s, "example. IN DNSKEY 257 3 13 " EC_KEY,
	                     err, sizeof(err)),
	    0);
	assert_int_equal(ta_add_negative(s, N("neg.test.")), 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	ta_print(f, s);
	fclose(f);
	assert_non_null(strstr(buf, "IN\tDS\t20326 8 2 e06d44b80b8f1d39"));
	assert_non_null(strstr(buf, "IN\tDS\t38696 8 2 683d2d0acb8c9b71"));
	assert_non_null(strstr(buf, "example.\t3600\tIN\tDNSKEY\t257 3 13"));
	assert_non_null(strstr(buf, "; negative neg.test.\n"));
	/* root first */
	assert_true(strstr(buf, "20326") < strstr(buf, "example."));
	free(buf);
	ta_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builtin_root_anchors),
	    cmocka_unit_test(file_with_ds),
	    cmocka_unit_test(file_with_dnskey_non_root),
	    cmocka_unit_test(files_merge_by_owner),
	    cmocka_unit_test(closest_anchor),
	    cmocka_unit_test(negative_anchors),
	    cmocka_unit_test(file_errors_name_the_line),
	    cmocka_unit_test(file_unreadable),
	    cmocka_unit_test(add_str_errors),
	    cmocka_unit_test(print_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
