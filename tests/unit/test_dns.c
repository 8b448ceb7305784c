/*
 * test_dns.c: the DNS basics (resolver/dns.c): wire names, their text with
 * escapes both ways, canonical order, and the mnemonics.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "resolver/dns.h"

#define W(s) ((const uint8_t *)(s))

static void
name_len_and_malformed(void **state)
{
	(void)state;
	assert_int_equal(dns_name_len(W(""), 1), 1);
	assert_int_equal(dns_name_len(W("\3www\7example\3com"), 17), 17);
	/* runs past max, a compression pointer, a label over 63 */
	assert_int_equal(dns_name_len(W("\3www\7example\3com"), 10), 0);
	assert_int_equal(dns_name_len(W("\3www\xc0\x0c"), 10), 0);
	assert_int_equal(dns_name_len(W("\x40"), 70), 0);
}

static void
compare_lower_under(void **state)
{
	uint8_t buf[LIM_NAME_MAX];

	(void)state;
	assert_true(
	    dns_name_eq(W("\3WwW\7Example\3COM"), W("\3www\7example\3com")));
	assert_false(
	    dns_name_eq(W("\3www\7example\3com"), W("\3ww1\7example\3com")));
	assert_int_equal(dns_name_lower(buf, W("\3WwW\2Ex")), 8);
	assert_memory_equal(buf, "\3www\2ex", 8);
	assert_int_equal(dns_name_lower_n(buf, W("\7EXAMPLE\3COM"), 13), 13);
	assert_memory_equal(buf, "\7example\3com", 13);
	assert_true(dns_name_under(W("\3www\7example\3com"), W("\3COM")));
	assert_true(dns_name_under(W("\3com"), W("")));
	assert_true(dns_name_under(W("\3com"), W("\3com")));
	assert_false(dns_name_under(W("\3com"), W("\3www\3com")));
	assert_false(dns_name_under(W("\4acom"), W("\3com")));
	assert_int_equal(dns_name_labels(W("\3www\7example\3com")), 3);
	assert_int_equal(dns_name_labels(W("")), 0);
	assert_memory_equal(
	    dns_name_suffix(W("\3www\7example\3com"), 1), "\3com", 5);
	assert_memory_equal(dns_name_parent(W("\3www\3com")), "\3com", 5);
}

static void
below_and_common(void **state)
{
	(void)state;
	assert_true(dns_name_below(W("\3www\7example\3com"), W("\3COM")));
	assert_true(dns_name_below(W("\3com"), W("")));
	assert_false(dns_name_below(W("\3com"), W("\3CoM")));
	assert_false(dns_name_below(W(""), W("")));
	assert_false(dns_name_below(W("\4acom"), W("\3com")));
	assert_memory_equal(
	    dns_name_common(W("\1a\7example\3com"), W("\1b\1c\7EXAMPLE\3com")),
	    "\7example\3com", 13);
	assert_memory_equal(
	    dns_name_common(W("\3www\3com"), W("\3www\3net")), "", 1);
	assert_memory_equal(
	    dns_name_common(W("\3www\3com"), W("\3WWW\3com")), "\3www", 4);
	assert_memory_equal(dns_name_common(W(""), W("\3com")), "", 1);
	assert_int_equal(dns_fmix64(0), 0);
	assert_true(dns_fmix64(1) != dns_fmix64(2));
}

/* RFC 4034 6.1's example, in order. */
static void
canonical_order(void **state)
{
	static const char *const names[] = {"example", "a.example",
	    "yljkjljk.a.example", "Z.a.example", "zABC.a.EXAMPLE", "z.example",
	    "\\001.z.example", "*.z.example", "\\200.z.example"};
	uint8_t a[LIM_NAME_MAX], b[LIM_NAME_MAX];

	(void)state;
	for (size_t i = 0; i + 1 < sizeof(names) / sizeof(names[0]); i++) {
		assert_true(dns_name_from_text(a, names[i]) > 0);
		assert_true(dns_name_from_text(b, names[i + 1]) > 0);
		assert_true(dns_name_cmp(a, b) < 0);
		assert_true(dns_name_cmp(b, a) > 0);
		assert_int_equal(dns_name_cmp(a, a), 0);
	}
}

static void
text_both_ways(void **state)
{
	uint8_t w[LIM_NAME_MAX];
	char t[DNS_NAME_TEXT_MAX];

	(void)state;
	assert_int_equal(dns_name_from_text(w, "."), 1);
	assert_int_equal(dns_name_to_text(t, sizeof(t), w), 1);
	assert_string_equal(t, ".");
	assert_int_equal(dns_name_from_text(w, "WWW.Example.com"), 17);
	assert_memory_equal(w, "\3www\7example\3com", 17);
	assert_int_equal(dns_name_from_text(w, "www.example.com."), 17);
	dns_name_to_text(t, sizeof(t), w);
	assert_string_equal(t, "www.example.com.");
	/* escapes: a dot and a backslash inside a label, a byte as \DDD */
	assert_int_equal(dns_name_from_text(w, "a\\.b\\\\c\\009.x"), 10);
	assert_memory_equal(w, "\6a.b\\c\t\1x", 10);
	dns_name_to_text(t, sizeof(t), w);
	assert_string_equal(t, "a\\.b\\\\c\\009.x.");
	/* malformed: empty label, bad escape, label of 64 */
	assert_int_equal(dns_name_from_text(w, "a..b"), 0);
	assert_int_equal(dns_name_from_text(w, "a\\25"), 0);
	assert_int_equal(dns_name_from_text(w, "a\\256"), 0);
	assert_int_equal(dns_name_from_text(w,
	                     "0123456789012345678901234567890123456789012345678"
	                     "901234567890123"),
	    0);
	/* truncation keeps a NUL and reports the full length */
	dns_name_from_text(w, "www.example.com");
	assert_int_equal(dns_name_to_text(t, 5, w), 16);
	assert_string_equal(t, "www.");
}

static void
mnemonics(void **state)
{
	char b[DNS_MNEMONIC_MAX];
	uint16_t t = 0;

	(void)state;
	assert_string_equal(dns_type_str(DNS_T_RRSIG, b), "RRSIG");
	assert_string_equal(dns_type_str(65280, b), "TYPE65280");
	assert_int_equal(dns_type_from_str("aaaa", &t), 0);
	assert_int_equal(t, DNS_T_AAAA);
	assert_int_equal(dns_type_from_str("TYPE46", &t), 0);
	assert_int_equal(t, DNS_T_RRSIG);
	assert_int_equal(dns_type_from_str("TYPE65536", &t), -EINVAL);
	assert_int_equal(dns_type_from_str("BOGUS", &t), -EINVAL);
	assert_string_equal(dns_class_str(DNS_C_CH, b), "CH");
	assert_string_equal(dns_class_str(77, b), "CLASS77");
	assert_string_equal(dns_rcode_str(DNS_RCODE_NXDOMAIN), "NXDOMAIN");
	assert_string_equal(dns_rcode_str(DNS_RCODE_BADCOOKIE), "BADCOOKIE");
	assert_string_equal(dns_rcode_str(12), "RCODE?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(name_len_and_malformed),
	    cmocka_unit_test(compare_lower_under),
	    cmocka_unit_test(below_and_common),
	    cmocka_unit_test(canonical_order),
	    cmocka_unit_test(text_both_ways),
	    cmocka_unit_test(mnemonics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
