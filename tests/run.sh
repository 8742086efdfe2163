#!/usr/bin/env bash
# run.sh - run every test suite, print each suite's CMocka summary and one
# closing line "N passed, N failed[, N skipped]". Exits non-zero on failure.
#
# Suites: ASan/UBSan unit binaries (build/asan/tests/unit/test_*), brief
# libFuzzer runs (build/fuzz/tests/fuzz/fuzz_*), shell suites in
# tests/{netns,apps,hw}/*.sh (which report through tests/lib.sh in the same
# CMocka format). A suite that needs root and lacks it is counted skipped.
set -uo pipefail
cd "$(dirname "$0")/.."

ASAN_DIR=${ASAN_DIR:-build/asan}
FUZZ_DIR=${FUZZ_DIR:-build/fuzz}
FUZZ_BRIEF=${FUZZ_BRIEF:-3}
SUITE_TIMEOUT=${SUITE_TIMEOUT:-300}
ONLY=${ONLY:-}

pass=0 fail=0 skip=0
failed_suites=()

# count OUTPUT_FILE RC NAME: add a suite's CMocka summary to the totals.
count()
{
	local out=$1 rc=$2 name=$3 p f s
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$out" | tail -1)
	p=${p:-0} f=${f:-0} s=${s:-0}
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		# crashed, sanitizer report or timeout: the suite itself failed
		echo "[  FAILED  ] $name exited with status $rc"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	[ "$f" -gt 0 ] && failed_suites+=("$name")
}

run_suite()
{
	local name=$1
	shift
	if [ -n "$ONLY" ] && [[ "$name" != *$ONLY* ]]; then
		return
	fi
	local out
	out=$(mktemp)
	echo "=== $name"
	local t0=$SECONDS
	timeout -k 10 "$SUITE_TIMEOUT" "$@" >"$out" 2>&1
	local rc=$?
	cat "$out"
	count "$out" "$rc" "$name"
	echo "--- $name: $((SECONDS - t0)) s"
	rm -f "$out"
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for t in "$ASAN_DIR"/tests/unit/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit/$(basename "$t")" "$t"
done

for f in "$FUZZ_DIR"/tests/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	run_suite "fuzz/$(basename "$f")" bash tests/fuzz/run_one.sh "$f" \
		"$FUZZ_BRIEF"
done

for dir in netns apps sim hw; do
	for s in tests/$dir/*.sh; do
		[ -f "$s" ] || continue
		if [ "$(id -u)" -ne 0 ] && grep -q '^# needs: root' "$s"; then
			echo "=== $dir/$(basename "$s")"
			echo "skipped: $dir/$(basename "$s") needs root"
			skip=$((skip + 1))
			continue
		fi
		run_suite "$dir/$(basename "$s" .sh)" bash "$s"
	done
done

echo
echo "suites took $SECONDS s"
if [ ${#failed_suites[@]} -gt 0 ]; then
	echo "failed suites: ${failed_suites[*]}"
fi
line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
