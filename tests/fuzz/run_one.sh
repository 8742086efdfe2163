#!/usr/bin/env bash
# run_one.sh BIN SECONDS - run one libFuzzer target for SECONDS over a copy of
# its committed seed corpus (tests/fuzz/corpus/<name>/) and report the result
# as a one-test CMocka summary.
set -uo pipefail
bin=$1 secs=$2
name=$(basename "$bin")
seeds=tests/fuzz/corpus/${name#fuzz_}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -d "$seeds" ] && cp -r "$seeds"/. "$work"/ 2>/dev/null
echo "[ RUN      ] $name (${secs}s)"
if "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$work/" -print_final_stats=0 "$work" \
	>"$work.log" 2>&1; then
	grep -E '^#[0-9]+.*DONE|Done [0-9]+ runs' "$work.log" | tail -1
	echo "[       OK ] $name"
	echo "[  PASSED  ] 1 test(s)."
	rm -f "$work.log"
	exit 0
fi
tail -40 "$work.log"
ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* 2>/dev/null |
	while read -r a; do echo "artifact: $a"; xxd "$a" | head -8; done
echo "[  FAILED  ] 1 test(s), listed below:"
echo "[  FAILED  ] $name"
rm -f "$work.log"
exit 1
