# resolverd: see README.md. `make run` and `make test` install what is missing
# (tools/deps.sh, each target its own list).
.SUFFIXES:

ifeq ($(origin CC),default)
CC = cc
endif
PREFIX   ?= /usr/local
DESTDIR  ?=
SANITIZE ?=
# A sanitizer build lives in its own directory so the builds never mix:
# build-san (address, undefined), build-tsan (thread).
BUILD    ?= build$(if $(SANITIZE),$(if $(findstring thread,$(SANITIZE)),-tsan,-san))
PYTHON   ?= /usr/bin/python3

WARN = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
       -Wmissing-declarations -Wpointer-arith -Wsign-compare -Wformat=2 \
       -Wformat-security -Wold-style-definition -Wtype-limits \
       -Werror=implicit-function-declaration
OPT      ?= -O2 -g
CFLAGS   ?=
XCFLAGS   = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -fno-strict-aliasing -I. \
            $(shell pkg-config --cflags libuv ldns yaml-0.1 gnutls 2>/dev/null) $(CFLAGS)
LDLIBS_CORE = -lldns -lcrypto -lyaml -lpthread
LDLIBS_UV   = -luv
LDLIBS_D    = -lmicrohttpd -lgnutls
ifneq ($(SANITIZE),)
XCFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif

# The pure core: no libuv, no sockets, no clock. Everything in resolver/ that
# is not a libuv file belongs to it.
UV_SRC   = resolver/main.c resolver/server.c resolver/upstream.c resolver/instance.c \
           resolver/stats.c resolver/http.c resolver/holder.c resolver/notify.c \
           resolver/pool.c resolver/tls.c \
           resolver/control.c resolver/worker.c
CORE_SRC = $(sort $(wildcard config/*.c cache/*.c) \
           $(filter-out $(UV_SRC),$(wildcard resolver/*.c)))
D_SRC    = $(filter $(UV_SRC),$(wildcard resolver/*.c))
CORE_OBJ = $(CORE_SRC:%.c=$(BUILD)/%.o)
D_OBJ    = $(D_SRC:%.c=$(BUILD)/%.o)
CTL_OBJ  = $(BUILD)/tools/resolverctl.o
UNIT_SRC = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC = $(wildcard tools/bench/*.c tools/lab/*.c)
TOOL_BIN = $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)

PROGS = $(BUILD)/resolverd $(if $(wildcard tools/resolverctl.c),$(BUILD)/resolverctl)

.PHONY: all deps run test check unit integration check-layering install \
        clean lab-start lab-stop lab-tiers lab-scale tier-study demo bench \
        sanitize format format-check \
        fuzz fuzz-smoke fuzz-build fuzz-bin fuzz-merge fuzz-crashers
all: $(PROGS) $(UNIT_BIN) $(TOOL_BIN)

# Debian packages, by purpose (tools/deps.sh): `make deps` installs them all.
DEPS ?= all
deps:
	@sh tools/deps.sh $(DEPS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libcore.a: $(CORE_OBJ)
	rm -f $@
	ar rcs $@ $(CORE_OBJ)

# The page's script and style sheet, compiled in (resolver/www.h).
WWW_SRC = $(sort $(wildcard resolver/www/*))
$(BUILD)/gen/www.c: $(WWW_SRC) tools/www-embed
	@mkdir -p $(dir $@)
	sh tools/www-embed $@ $(WWW_SRC)
$(BUILD)/gen/www.o: $(BUILD)/gen/www.c
	$(CC) $(XCFLAGS) -c -o $@ $<

$(BUILD)/resolverd: $(D_OBJ) $(BUILD)/gen/www.o $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $(D_OBJ) $(BUILD)/gen/www.o $(BUILD)/libcore.a $(LDLIBS_D) $(LDLIBS_UV) $(LDLIBS_CORE)

$(BUILD)/resolverctl: $(CTL_OBJ)
	$(CC) $(LDFLAGS) -o $@ $(CTL_OBJ)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcore.a
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libcore.a -lcmocka $(LDLIBS_CORE)

$(BUILD)/tools/%: $(BUILD)/tools/%.o
	$(CC) $(LDFLAGS) -o $@ $< $(LDLIBS_UV) $(LDLIBS_CORE)

run:
	@sh tools/deps.sh build
	$(MAKE) $(BUILD)/resolverd
	./$(BUILD)/resolverd

# `make test`: install what the tests need, then every suite in order
# (tools/test-all): format-check, lint, the unit tests of a plain build
# (some, like the allocation counter, cannot run under ASan), the fuzz smoke
# when this Makefile has a fuzz-smoke target, the ASan+UBSan build with the
# layering check, its unit and integration tests, and the ThreadSanitizer
# run (make tsan). It goes on past a failed suite and ends with a summary
# of them all.
HAVE_FUZZ_SMOKE := $(shell grep -qs '^fuzz-smoke:' $(firstword $(MAKEFILE_LIST)) && echo 1)
test:
	@sh tools/deps.sh test $(if $(HAVE_FUZZ_SMOKE),fuzz)
	@$(PYTHON) tools/test-all --make "$(MAKE)" $(if $(HAVE_FUZZ_SMOKE),--fuzz)

check: all check-layering unit integration

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do \
	    echo "== $$t"; $$t || fail=1; done; \
	    test $$fail = 0

integration: all
	RESOLVERD_BUILD=$(BUILD) $(PYTHON) -m pytest -q -p no:cacheprovider \
	    $(PYTEST_ARGS) tests/integration

# The layering, checked: only the libuv files include <uv.h>; cache/ and
# config/ include nothing from resolver/ but the header-only limits.h and
# the DNS basics of dns.h; only config/yaml.c includes <yaml.h>, only
# resolver/tls.c GnuTLS.
check-layering:
	@bad=$$(grep -l '#include <uv.h>' $(CORE_SRC) $(filter-out $(UV_SRC:.c=.h),$(wildcard resolver/*.h)) \
	     $(wildcard cache/*.h config/*.h) 2>/dev/null); \
	 if [ -n "$$bad" ]; then echo "layering: <uv.h> in pure code: $$bad"; exit 1; fi; \
	 bad2=$$(grep -h '#include "resolver/' $(wildcard cache/* config/*) 2>/dev/null | grep -v 'limits.h\|dns.h'); \
	 if [ -n "$$bad2" ]; then echo "layering: cache/ or config/ includes resolver/: $$bad2"; exit 1; fi; \
	 bad=$$(grep -l '#include <yaml.h>' $$(find . -name '*.[ch]' -not -path './build*') | grep -v '^./config/yaml.c$$'); \
	 if [ -n "$$bad" ]; then echo "layering: <yaml.h> outside config/yaml.c: $$bad"; exit 1; fi; \
	 bad=$$(grep -l '#include <gnutls/' $$(find . -name '*.[ch]' -not -path './build*') | grep -v '^./resolver/tls.c$$'); \
	 if [ -n "$$bad" ]; then echo "layering: GnuTLS outside resolver/tls.c: $$bad"; exit 1; fi; \
	 echo "layering: ok"

# Every C file of the repository in the house style (.clang-format).
FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	@bad=$$(for f in $(FORMAT_SRC); do clang-format $$f | cmp -s $$f - || echo $$f; done); \
	 if [ -n "$$bad" ]; then echo "format: not in the house style (make format):"; \
	     echo "$$bad"; exit 1; fi; echo "format: ok"

lab-start:
	@sh tools/deps.sh lab
	$(MAKE) all
	tools/lab/start
lab-stop:
	tools/lab/stop
# `make demo`: the lab and a four-tier resolverd on it, the page on
# 127.0.0.1@8053; prints what to try; Ctrl-C stops it all (tools/demo/run).
demo:
	@sh tools/deps.sh lab
	$(MAKE) $(BUILD)/resolverd $(BUILD)/resolverctl
	@RESOLVERD_BUILD=$(BUILD) tools/demo/run
lab-tiers:
	@sh tools/deps.sh lab
	$(MAKE) $(BUILD)/resolverd $(if $(wildcard tools/resolverctl.c),$(BUILD)/resolverctl)
	RESOLVERD_BUILD=$(BUILD) tools/lab/tiers start

# The lab plus three resolverd behind dnsdist (tools/lab/scale; `tools/lab/
# scale stop` stops it all, `tools/lab/scale bench` measures).
lab-scale:
	@sh tools/deps.sh scale
	$(MAKE) $(BUILD)/resolverd $(BUILD)/resolverctl
	RESOLVERD_BUILD=$(BUILD) tools/lab/scale start

# `make tier-study`: what the cache tiers absorb (tools/tierstudy/README.md):
# the default study (a simulated day, 40 browsers on 20 machines behind 5
# routers sharing one ISP resolver) and a sweep of the browser's TTL cap,
# on the lab (started and stopped here unless running), with libfaketime
# speeding the clock up; the table and PNG plots in $(BUILD)/tierstudy/.
TIER_STUDY_ARGS ?=
tier-study:
	@sh tools/deps.sh study
	$(MAKE) $(BUILD)/resolverd $(BUILD)/resolverctl
	RESOLVERD_BUILD=$(BUILD) $(PYTHON) tools/tierstudy/tierstudy default \
	    --start-lab --out $(BUILD)/tierstudy $(TIER_STUDY_ARGS)

bench:
	@sh tools/deps.sh bench
	$(MAKE) all
	RESOLVERD_BUILD=$(BUILD) tools/bench/run $(BENCH_ARGS)

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the programs in
# $(PREFIX)/sbin, the man pages in $(PREFIX)/share/man, the systemd unit in
# $(UNITDIR) (systemd reads /usr/local/lib/systemd/system and
# /usr/lib/systemd/system alike), its ExecStart pointing at
# $(PREFIX)/sbin/resolverd; and the example configuration as
# $(SYSCONFDIR)/resolverd.yaml unless that file exists already.
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
install: $(PROGS)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)
	install -m 755 $(BUILD)/resolverd $(BUILD)/resolverctl $(DESTDIR)$(PREFIX)/sbin/
	install -m 644 man/resolverd.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 644 man/resolverd.8 man/resolverctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	sed 's|@SBINDIR@|$(PREFIX)/sbin|g' dist/systemd/resolverd.service.in \
	    > $(DESTDIR)$(UNITDIR)/resolverd.service.tmp
	chmod 644 $(DESTDIR)$(UNITDIR)/resolverd.service.tmp
	mv $(DESTDIR)$(UNITDIR)/resolverd.service.tmp $(DESTDIR)$(UNITDIR)/resolverd.service
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/resolverd.yaml ]; then \
	    echo "install: $(DESTDIR)$(SYSCONFDIR)/resolverd.yaml exists: kept"; \
	else \
	    echo "install -m 644 config/resolverd.yaml $(DESTDIR)$(SYSCONFDIR)/resolverd.yaml"; \
	    install -m 644 config/resolverd.yaml $(DESTDIR)$(SYSCONFDIR)/resolverd.yaml; \
	fi

# ---- fuzzing (tests/fuzz/README.md) ----
# One libFuzzer target per tests/fuzz/fuzz_NAME.c, built with clang in
# build-fuzz/: the core library with -fsanitize=fuzzer-no-link,address,
# undefined, each target linked with -fsanitize=fuzzer. Adding a target is
# adding its file (and tests/fuzz/corpus/NAME/, tests/fuzz/dict/NAME.dict).
FUZZ_BUILD   = build-fuzz
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
               -fno-omit-frame-pointer
FUZZ_TARGETS = $(sort $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c))))
FUZZ_BIN     = $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/%)
FUZZ_SECONDS       ?= 600
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_JOBS          ?= 1
FUZZ_RUN = FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_JOBS=$(FUZZ_JOBS) sh tests/fuzz/run.sh

fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SANITIZE= \
	    CFLAGS="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" fuzz-bin
# Only meaningful inside fuzz-build (BUILD=build-fuzz, CC=clang).
fuzz-bin: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/tests/fuzz/%.o)
$(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_BUILD)/libcore.a
	$(CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_BUILD)/libcore.a \
	    $(LDLIBS_CORE)

# Each target for FUZZ_SECONDS on its corpus; new inputs go to
# build-fuzz/corpus/NAME/, never into the committed corpus.
fuzz: fuzz-build
	$(FUZZ_RUN) run $(FUZZ_SECONDS) $(FUZZ_TARGETS)
# Every committed corpus input once, then FUZZ_SMOKE_SECONDS of fuzzing per
# target (part of `make test`).
fuzz-smoke: fuzz-build
	$(FUZZ_RUN) smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)
# Minimise build-fuzz/corpus/NAME/ into tests/fuzz/corpus/NAME/ (-merge=1).
fuzz-merge: fuzz-build
	$(FUZZ_RUN) merge 0 $(FUZZ_TARGETS)
# Replay tests/fuzz/crashers/: which known findings still reproduce.
fuzz-crashers: fuzz-build
	$(FUZZ_RUN) crashers 0 $(FUZZ_TARGETS)

clean:
	rm -rf build build-san $(FUZZ_BUILD)

# ---- checks: static analysis and ThreadSanitizer ----
.PHONY: lint tsan tsan-run clean-tsan

# cppcheck and clang-tidy (.clang-tidy) over the daemon's and the control
# client's C files; what is not a bug is explained in tests/lint.supp.
LINT_SRC   = $(sort $(wildcard resolver/*.c cache/*.c config/*.c)) \
             $(wildcard tools/resolverctl.c)
LINT_FLAGS = -std=c11 -D_GNU_SOURCE -I. \
             $(shell pkg-config --cflags libuv ldns yaml-0.1 2>/dev/null)
NPROC     := $(shell nproc 2>/dev/null || echo 2)
lint:
	@$(PYTHON) tools/lint --jobs $(NPROC) --flags "$(LINT_FLAGS)" $(LINT_SRC)

# The threads under ThreadSanitizer (build-tsan/, tests/tsan.sh): the unit
# tests that start threads and the integration tests marked multiworker
# (several worker threads on one cache; the tiers).
TSAN_UNIT = test_flight test_cache test_validate test_nsec
tsan:
	$(MAKE) SANITIZE=thread tsan-run
# Only meaningful inside `make tsan` (SANITIZE=thread, BUILD=build-tsan).
tsan-run: $(PROGS) $(TSAN_UNIT:%=$(BUILD)/tests/%)
	@sh tests/tsan.sh $(BUILD) $(PYTHON) $(TSAN_UNIT)

clean: clean-tsan
clean-tsan:
	rm -rf build-tsan

# Keep the objects of the unit tests and tools (intermediate files to
# make): a rebuild then compiles only what changed.
.SECONDARY:

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
