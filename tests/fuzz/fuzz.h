/**
 * @file fuzz.h
 * What every fuzz target of tests/fuzz/ shares: the libFuzzer entry points
 * (declared here so -Wmissing-prototypes is happy), a fixed clock, and
 * fuzz_file(), which hands the input to a loader that only takes a path
 * (cfg_load, deleg_hints_load, ta_load_file) without a temporary file on
 * disk: an anonymous memory file (memfd), reached as /proc/self/fd/N.
 *
 * A target is one file tests/fuzz/fuzz_NAME.c defining
 * LLVMFuzzerTestOneInput; the Makefile finds it by that name.
 */
#ifndef RESOLVERD_FUZZ_H
#define RESOLVERD_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/** The fixed "now" of every target: 2023-11-14T22:13:20Z. */
#define FUZZ_NOW_MS 1700000000000ull

/* Stop the fuzzer with a message: a broken harness, not a finding. */
static inline void
fuzz_die(const char *what)
{
	perror(what);
	abort();
}

/**
 * Make the contents of the file at the returned path exactly @p data
 * (@p size bytes). One memory file per process, reused (truncated) for
 * every input. @return the path, "/proc/self/fd/N" (static storage).
 */
static inline const char *
fuzz_file(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[32];

	if (fd < 0) {
		fd = memfd_create("fuzz-input", MFD_CLOEXEC);
		if (fd < 0)
			fuzz_die("memfd_create");
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) < 0)
		fuzz_die("ftruncate");
	for (size_t off = 0; off < size;) {
		ssize_t n = pwrite(fd, data + off, size - off, (off_t)off);
		if (n <= 0)
			fuzz_die("pwrite");
		off += (size_t)n;
	}
	return path;
}

/** A FILE that discards what is written (printers are run for coverage and
 *  for the sanitizers, not for their output). Opened once. */
static inline FILE *
fuzz_null(void)
{
	static FILE *f;

	if (f == NULL && (f = fopen("/dev/null", "w")) == NULL)
		fuzz_die("/dev/null");
	return f;
}

#endif
