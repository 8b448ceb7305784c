/**
 * @file fuzz_config.c
 * cfg_load() of the input as a resolverd.yaml file (through the memory file
 * of fuzz.h), cfg_print() of what it accepted, cfg_free() always: the YAML
 * walk of config/yaml.c and every value parser and range check of
 * config/config.c. Must neither crash nor leak, accepted or not.
 */
#include <string.h>

#include "config/config.h"
#include "tests/fuzz/fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	char err[512];
	int rc;

	memset(&c, 0, sizeof(c));
	rc = cfg_load(fuzz_file(data, size), &c, err, sizeof(err));
	if (rc == 0) {
		cfg_print(fuzz_null(), &c);
		fflush(fuzz_null());
	} else if (err[0] == '\0' || memchr(err, '\0', sizeof(err)) == NULL) {
		/* a refused file always says why, NUL-terminated */
		abort();
	}
	cfg_free(&c);
	return 0;
}
