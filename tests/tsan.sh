#!/bin/sh
# The ThreadSanitizer run of `make tsan` (a SANITIZE=thread build in BUILD):
#
#   tests/tsan.sh BUILD PYTHON UNIT_TEST...
#
# runs the unit tests named (those with threads) and the integration tests
# marked multiworker (several worker threads sharing the caches, the tiers),
# every process with TSAN_OPTIONS that write each report to
# BUILD/tsan-reports/. Fails if a test fails or if any report was written
# (a report is a failure even where the test itself passed). Suppressions
# (only for what is not ours) are in tests/tsan.supp.
#
# TSan maps its shadow memory at fixed addresses: with more ASLR entropy
# than it expects (vm.mmap_rnd_bits above 28 on newer kernels) a TSan
# binary dies at start with "unexpected memory mapping". Then the run goes
# on under `setarch -R` (no ASLR for this process tree); where that is not
# allowed either (a container's seccomp), as root, with vm.mmap_rnd_bits
# lowered to 28 for the run and put back after it.
set -u
B=$1
PY=$2
shift 2
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2
REPORTS=$ROOT/$B/tsan-reports
rm -rf "$REPORTS"
# 1777: a daemon that dropped privileges (user: nobody) can still write its
# report
mkdir -p "$REPORTS" && chmod 1777 "$REPORTS"
export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp log_path=$REPORTS/tsan \
second_deadlock_stack=1 history_size=4 halt_on_error=0 exitcode=66 \
${TSAN_OPTIONS:-}"

# --- how to run a TSan binary on this machine --------------------------------
RUN=""
restore=""
probe() { # a TSan binary starts: no FATAL from the runtime
	out=$($RUN "$B/resolverd" --help 2>&1 >/dev/null)
	! echo "$out" | grep -q "ThreadSanitizer"
}
if ! probe; then
	RUN="setarch $(uname -m) -R"
	if ! probe; then
		RUN=""
		bits=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo "")
		if [ "$(id -u)" = 0 ] && [ -n "$bits" ] && [ "$bits" -gt 28 ] &&
		    sysctl -q -w vm.mmap_rnd_bits=28 2>/dev/null; then
			restore=$bits
			trap 'sysctl -q -w vm.mmap_rnd_bits=$restore' EXIT
			echo "tsan: vm.mmap_rnd_bits $bits -> 28 for this run (TSan's shadow memory)"
		fi
		if ! probe; then
			echo "tsan: a ThreadSanitizer binary cannot start here:"
			$RUN "$B/resolverd" --help 2>&1 >/dev/null | head -5
			echo "tsan: FAILED: no way to run TSan (setarch -R refused;" \
			    "as root: sysctl vm.mmap_rnd_bits=28)"
			exit 1
		fi
	fi
fi
[ -n "$RUN" ] && echo "tsan: running under '$RUN' (ASLR off: TSan's shadow memory)"

# --- the tests ----------------------------------------------------------------
fail=""
ubin=0 upassed=0
for t in "$@"; do
	echo "== $B/tests/$t (tsan)"
	log=$REPORTS/../$t.tsan.log
	timeout -k 10 600 $RUN "$B/tests/$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	ubin=$((ubin + 1))
	# (a binary may run its group more than once: test_validate does)
	n=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" |
		awk '{ s += $1 } END { print s + 0 }')
	upassed=$((upassed + n))
	[ $rc = 0 ] || fail="$fail unit:$t(exit $rc)"
done

echo "== integration, -m multiworker (tsan)"
LOG=$REPORTS/../pytest.tsan.log
{
	RESOLVERD_BUILD=$B timeout -k 30 1500 $RUN "$PY" -m pytest -q \
	    -p no:cacheprovider -m multiworker ${PYTEST_ARGS:-} tests/integration 2>&1
	echo $? >"$LOG.rc"
} | tee "$LOG"
rc=$(cat "$LOG.rc" 2>/dev/null || echo 1)
# pytest's closing line: "12 passed, 1 skipped in 40.1s"
counts=$(grep -E '^=* *[0-9]+ (passed|failed|error|errors|skipped)' "$LOG" |
    tail -n 1 | sed 's/ in [0-9.]*s.*//; s/^=* *//')
[ "$rc" = 0 ] || fail="$fail integration(exit $rc)"

# --- the reports --------------------------------------------------------------
nrep=$(find "$REPORTS" -type f | wc -l)
nwarn=$(cat "$REPORTS"/* 2>/dev/null | grep -c "WARNING: ThreadSanitizer")
if [ "$nrep" -gt 0 ]; then
	echo "== ThreadSanitizer: $nwarn report(s) from $nrep process(es):"
	for f in "$REPORTS"/*; do
		echo "---- $f"
		head -n 150 "$f"
	done
	fail="$fail reports"
fi
summary="tsan: $ubin unit binaries, $upassed tests passed; integration: ${counts:-no result}; reports: $nwarn"
if [ -n "$fail" ]; then
	echo "$summary; FAILED:$fail"
	exit 1
fi
echo "$summary"
