/**
 * @file fuzz_anchors.c
 * ta_load_file() of the input as a trust anchor file (zone format: DS or
 * DNSKEY records for any zone), through the memory file of fuzz.h. A
 * refused file must say why (file:line: message); an accepted one must
 * give anchors the validator can look up.
 */
#include <string.h>

#include "resolver/anchors.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ta_set *ts = ta_new();
	char err[512];
	int rc;

	if (ts == NULL)
		fuzz_die("ta_new");
	err[0] = '\0';
	rc = ta_load_file(ts, fuzz_file(data, size), err, sizeof(err));
	if (rc != 0 && (err[0] == '\0' || memchr(err, 0, sizeof(err)) == NULL))
		abort();
	if (rc == 0) {
		/* every anchor is found again by its own zone */
		for (size_t i = 0; i < ta_count(ts); i++) {
			const struct ta_anchor *a = ta_at(ts, i);
			if (ta_closest(ts, a->zone) != a ||
			    (a->ds == NULL && a->dnskey == NULL))
				abort();
		}
		ta_print(fuzz_null(), ts);
	}
	ta_free(ts);
	return 0;
}
