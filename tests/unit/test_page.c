/*
 * test_page.c: the web page's pure part (resolver/page.c): which names and
 * types it puts on a control request line, its reading of the control
 * commands' JSON, and HTML that shows cache data escaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "resolver/page.h"

static void
names_and_types(void **state)
{
	char big[300];

	(void)state;
	assert_true(page_name_ok("www.example.com"));
	assert_true(page_name_ok("www.example.com."));
	assert_true(page_name_ok("_dmarc.x-y.test"));
	assert_true(page_name_ok("."));
	/* what could add words to the request line, or is no name */
	assert_false(page_name_ok(""));
	assert_false(page_name_ok("www example.com"));
	assert_false(page_name_ok("a\nresolverctl/1 flush --all"));
	assert_false(page_name_ok("--tier"));
	assert_true(page_name_ok("a--b")); /* a hyphen inside is fine */
	assert_false(page_name_ok("a..b"));
	assert_false(page_name_ok(".a"));
	assert_false(page_name_ok("<script>"));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_false(page_name_ok(big)); /* 299 > 253 */
	big[64] = '\0';
	assert_false(page_name_ok(big)); /* a label of 64 */
	big[63] = '\0';
	assert_true(page_name_ok(big));
	assert_true(page_type_ok("AAAA"));
	assert_true(page_type_ok("TYPE65"));
	assert_false(page_type_ok(""));
	assert_false(page_type_ok("A --cold"));
	assert_false(page_type_ok("AAAAAAAAAAAAAAAA"));
}

static void
json_reading(void **state)
{
	const char *o = "{\"owner\":\"a\\\"b.\",\"rdata\":[\"x\",\"y\"],"
	                "\"n\":{\"ttl\":1},\"ttl\":42,\"tier\":\"os\"}";
	char buf[64];

	(void)state;
	assert_non_null(page_json_find(o, "ttl"));
	assert_int_equal(atoi(page_json_find(o, "ttl")), 42); /* not n.ttl */
	assert_non_null(page_json_str(page_json_find(o, "owner"), buf, 64));
	assert_string_equal(buf, "a\"b.");
	assert_non_null(page_json_str(page_json_find(o, "tier"), buf, 64));
	assert_string_equal(buf, "os");
	assert_null(page_json_find(o, "nope"));
	assert_null(page_json_find("not json", "ttl"));
	assert_null(page_json_find("{\"cut\":\"x", "ttl")); /* cut short */
	assert_null(page_json_str(page_json_find(o, "ttl"), buf, 64));
	assert_non_null(page_json_str("\"\\u003c\"", buf, 64));
	assert_string_equal(buf, "<");
}

/* The home page of one tier holding a TXT record with markup in it. */
static void
home_escapes_cache_data(void **state)
{
	const char *lookup =
	    "{\"owner\":\"x.test.\",\"class\":\"IN\",\"type\":\"TXT\","
	    "\"ttl\":57,\"orig_ttl\":60,\"kind\":\"answer\",\"rank\":5,"
	    "\"from\":null,\"stored\":\"-\",\"stored_ms\":0,\"hits\":0,"
	    "\"rdata\":[\"\\\"<script>alert(1)</script>\\\"\"],"
	    "\"rrsigs\":[]}\n"
	    "{\"cut\":\"test.\",\"source\":\"cache\",\"ttl\":5,"
	    "\"listen\":\"127.0.0.1@53\",\"servers\":[{\"name\":"
	    "\"ns1.nic.test.\",\"addrs\":[\"127.53.3.1\"]}]}\n";
	char *html = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&html, &len);

	(void)state;
	assert_non_null(f);
	page_home(f, "x.test", "TXT", lookup, NULL, NULL, "0.1.0");
	assert_int_equal(fclose(f), 0);
	assert_null(strstr(html, "<script>alert"));
	assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_non_null(strstr(html,
	    "<section class=\"tier hit\" "
	    "data-tier=\"main\">"));
	assert_non_null(strstr(html, "data-ttl=\"57\">57</span> s of 60"));
	assert_non_null(strstr(html,
	    "walks from zone <b>test.</b> (its NS "
	    "set is cached), asking ns1.nic.test. "
	    "(127.53.3.1)"));
	free(html);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(names_and_types),
	    cmocka_unit_test(json_reading),
	    cmocka_unit_test(home_escapes_cache_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
