#!/bin/sh
# Run the libFuzzer targets of tests/fuzz/ (built by `make fuzz-build` into
# $FUZZ_BUILD). Called by the Makefile:
#
#   run.sh smoke SECONDS TARGET...   every committed corpus input once, then
#                                    SECONDS of fuzzing per target
#   run.sh run SECONDS TARGET...     SECONDS of fuzzing per target
#   run.sh merge 0 TARGET...         minimise build-fuzz/corpus/T/ into the
#                                    committed tests/fuzz/corpus/T/
#   run.sh crashers 0 TARGET...      replay tests/fuzz/crashers/T/* (with
#                                    FUZZ_CONTRACT=1, see README.md)
#
# New inputs go to $FUZZ_BUILD/corpus/T/ (emptied first), never into the
# committed corpus; crash, leak, UB and timeout inputs to
# $FUZZ_BUILD/artifacts/T/. $FUZZ_JOBS targets run at a time (default 1).
# Exit status 1 if any target failed (for crashers: if any still reproduces).
set -u
mode=$1
secs=$2
shift 2
B=${FUZZ_BUILD:-build-fuzz}
JOBS=${FUZZ_JOBS:-1}
SRC=tests/fuzz
export ASAN_OPTIONS="detect_leaks=1:${ASAN_OPTIONS:-}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:${UBSAN_OPTIONS:-}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-}"
# the checks of what the API promises beyond the daemon's own use, always
# (the finding that once needed them apart is fixed; see README.md)
export FUZZ_CONTRACT=1
# Per input: 10 s, 2 GiB; leaks are findings.
OPTS="-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -detect_leaks=1
      -print_final_stats=1"

mkdir -p "$B/logs"

opts_for() {
	o="$OPTS -artifact_prefix=$B/artifacts/$1/"
	[ -f "$SRC/dict/$1.dict" ] && o="$o -dict=$SRC/dict/$1.dict"
	echo "$o"
}

# One target: fuzz for $secs on scratch + committed corpus.
fuzz_one() {
	t=$1
	rm -rf "$B/corpus/$t" "$B/artifacts/$t"
	mkdir -p "$B/corpus/$t" "$B/artifacts/$t" "$SRC/corpus/$t"
	# shellcheck disable=SC2046
	timeout -k 10 $((secs + 120)) "$B/$t" $(opts_for "$t") \
	    -max_total_time="$secs" "$B/corpus/$t" "$SRC/corpus/$t" \
	    >"$B/logs/$t.log" 2>&1
	echo $? >"$B/logs/$t.rc"
}

# Every committed input of a target once, each on its own (a crash names
# the input).
replay_one() {
	t=$1
	mkdir -p "$B/artifacts/$t"
	n=$(find "$SRC/corpus/$t" -type f | wc -l)
	[ "$n" -eq 0 ] && { echo 0 >"$B/logs/$t.replay.rc"; return; }
	# shellcheck disable=SC2046
	find "$SRC/corpus/$t" -type f -print0 | sort -z |
	    timeout -k 10 300 xargs -0 "$B/$t" $(opts_for "$t") -runs=1 \
	    >"$B/logs/$t.replay.log" 2>&1
	echo $? >"$B/logs/$t.replay.rc"
}

stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -n 1; }

report() {
	t=$1
	log=$B/logs/$t.log
	rc=$(cat "$B/logs/$t.rc" 2>/dev/null || echo 1)
	last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([^ ]*\).*/\1/p')
	new=$(find "$B/corpus/$t" -type f | wc -l)
	printf '%-12s %s execs=%s exec/s=%s cov=%s ft=%s corpus=%s new=%s\n' \
	    "$t" "$([ "$rc" = 0 ] && echo ok || echo FAILED)" \
	    "$(stat_of number_of_executed_units "$log")" \
	    "$(stat_of average_exec_per_sec "$log")" \
	    "${cov:-?}" "${ft:-?}" "${corp:-?}" "$new"
	if [ "$rc" != 0 ]; then
		echo "---- $t: exit $rc; the end of $log:"
		grep -E -A40 '^==[0-9]+==ERROR|runtime error|^SUMMARY|Test unit written|-timeout|rss_limit' \
		    "$log" | head -n 80
		echo "---- artifacts: $(ls "$B/artifacts/$t" 2>/dev/null | tr '\n' ' ')"
		echo "---- reproduce: $B/$t $B/artifacts/$t/<file>"
		return 1
	fi
	return 0
}

# Run "$@" over the targets, $JOBS at a time.
each() {
	fn=$1
	shift
	n=0
	for t in $TARGETS; do
		[ -x "$B/$t" ] || { echo "fuzz: $B/$t not built" >&2; exit 1; }
		"$fn" "$t" &
		n=$((n + 1))
		[ $((n % JOBS)) -eq 0 ] && wait
	done
	wait
}

TARGETS="$*"
fail=0
case $mode in
smoke | run)
	if [ "$mode" = smoke ]; then
		each replay_one
		for t in $TARGETS; do
			c=$(find "$SRC/corpus/$t" -type f | wc -l)
			if [ "$(cat "$B/logs/$t.replay.rc")" != 0 ]; then
				echo "$t: a committed corpus input fails:"
				grep -E -B2 -A30 '^==[0-9]+==ERROR|runtime error' \
				    "$B/logs/$t.replay.log" | head -n 60
				fail=1
			else
				echo "$t: $c committed corpus inputs replayed: ok"
			fi
		done
	fi
	echo "fuzz: $mode, $secs s per target, $JOBS at a time: $TARGETS"
	each fuzz_one
	for t in $TARGETS; do report "$t" || fail=1; done
	;;
merge)
	# new inputs of at most FUZZ_MERGE_MAX_BYTES only: the corpus is
	# committed and stays small
	max=${FUZZ_MERGE_MAX_BYTES:-1024}
	for t in $TARGETS; do
		new=$B/merge/$t
		cand=$B/merge/$t.candidates
		rm -rf "$new" "$cand"
		mkdir -p "$new" "$cand" "$B/corpus/$t" "$SRC/corpus/$t"
		find "$B/corpus/$t" -type f -size -$((max + 1))c \
		    -exec cp {} "$cand/" \;
		# shellcheck disable=SC2046
		if timeout -k 10 1800 "$B/$t" $(opts_for "$t") -merge=1 \
		    "$new" "$SRC/corpus/$t" "$cand" \
		    >"$B/logs/$t.merge.log" 2>&1; then
			rm -f "$SRC/corpus/$t"/*
			cp "$new"/* "$SRC/corpus/$t/" 2>/dev/null
			echo "$t: $(ls "$SRC/corpus/$t" | wc -l) inputs," \
			    "$(cat "$SRC/corpus/$t"/* | wc -c) bytes"
		else
			echo "$t: merge failed, see $B/logs/$t.merge.log"
			fail=1
		fi
	done
	;;
crashers)
	# with the checks of what the API promises beyond the daemon's use
	export FUZZ_CONTRACT=1
	for t in $TARGETS; do
		for f in "$SRC/crashers/$t"/*; do
			[ -f "$f" ] || continue
			# shellcheck disable=SC2046
			if timeout -k 10 60 "$B/$t" $(opts_for "$t") -runs=1 "$f" \
			    >"$B/logs/crasher.log" 2>&1; then
				echo "fixed:      $f (move it into $SRC/corpus/$t/)"
			else
				echo "reproduces: $f"
				grep -E -m1 -A6 '^==[0-9]+==ERROR|runtime error' \
				    "$B/logs/crasher.log"
				fail=1
			fi
		done
	done
	;;
*)
	echo "usage: run.sh smoke|run|merge|crashers SECONDS TARGET..." >&2
	exit 2
	;;
esac
exit $fail
