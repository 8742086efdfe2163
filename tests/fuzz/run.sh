#!/usr/bin/env bash
# run.sh - `make fuzz`: every fuzz target for FUZZ_SECONDS each.
set -uo pipefail
cd "$(dirname "$0")/../.."
rc=0
for f in build/fuzz/tests/fuzz/fuzz_*; do
	[ -x "$f" ] || continue
	bash tests/fuzz/run_one.sh "$f" "${FUZZ_SECONDS:-60}" || rc=1
done
exit $rc
