#!/usr/bin/env bash
# needs: root
# bench_smoke.sh - `make test` runs a short smoke of the benchmark harness
# (tests/bench/run.sh with BENCH_SMOKE=1, about 30 s): it must run and print
# its side-by-side table with TAS and Linux columns and measured cells on
# both sides. Never a timed assertion: the numbers are not checked.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

OUT_DIR=$(mktemp -d /tmp/tas-bench-smoke.XXXXXX)
trap 'rm -rf "$OUT_DIR"' EXIT

t_smoke()
{
	local out rc
	out=$(BENCH_SMOKE=1 BENCH_OUT="$OUT_DIR/bench" timeout -k 10 180 \
		bash tests/bench/run.sh 2>&1)
	rc=$?
	echo "$out"
	[ "$rc" -eq 0 ] || {
		echo "run.sh exited with $rc"
		return 1
	}
	# the header and at least one row measured on each side: a number in
	# the TAS column and in the Linux column of a scenario 1 row
	echo "$out" | grep -qE '^scenario +metric +TAS +Linux +TAS/Linux' || {
		echo "no table header with TAS and Linux columns"
		return 1
	}
	echo "$out" | grep -qE '^1 latency.*µs +[0-9][0-9.,]* .* +[0-9][0-9.,]* ' || {
		echo "no scenario 1 row with both a TAS and a Linux figure"
		return 1
	}
	[ -s "$OUT_DIR/bench/results.md" ] && [ -s "$OUT_DIR/bench/results.csv" ]
}

if [ "$(id -u)" -ne 0 ]; then
	t_skip "bench harness runs and prints its table" "needs root"
else
	t_run "bench harness runs and prints its table" t_smoke
fi
t_summary
