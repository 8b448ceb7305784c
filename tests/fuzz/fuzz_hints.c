/**
 * @file fuzz_hints.c
 * deleg_hints_load() of the input as a root hints file (zone format: NS and
 * A/AAAA records for the root), through the memory file of fuzz.h. A
 * refused file must say why; an accepted one must hold a usable cut.
 */
#include <string.h>

#include "resolver/deleg.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct deleg_hints h;
	char err[512];
	int rc;

	memset(&h, 0, sizeof(h));
	err[0] = '\0';
	rc = deleg_hints_load(&h, fuzz_file(data, size), err, sizeof(err));
	if (rc != 0 && (err[0] == '\0' || memchr(err, 0, sizeof(err)) == NULL))
		abort();
	if (rc == 0 && h.root.nns > LIM_MAX_NS_PER_CUT)
		abort();
	return 0;
}
