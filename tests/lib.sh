# lib.sh - report shell test results in CMocka's format so tests/run.sh counts
# them like the C suites. Source it, call t_run NAME CMD..., then t_summary.
# t_skip NAME REASON records a visible skip; nothing skipped ever passes.

T_PASSED=0
T_FAILED=()
T_SKIPPED=()

# t_run NAME CMD...: run CMD; pass if it exits 0.
t_run()
{
	local name=$1
	shift
	echo "[ RUN      ] $name"
	if "$@"; then
		echo "[       OK ] $name"
		T_PASSED=$((T_PASSED + 1))
	else
		echo "[  FAILED  ] $name"
		T_FAILED+=("$name")
	fi
}

t_skip()
{
	echo "[ RUN      ] $1"
	echo "[  SKIPPED ] $1"
	echo "skipped: $2"
	T_SKIPPED+=("$1")
}

t_summary()
{
	local n
	echo "[==========] $((T_PASSED + ${#T_FAILED[@]} + ${#T_SKIPPED[@]})) test(s) run."
	echo "[  PASSED  ] $T_PASSED test(s)."
	if [ ${#T_SKIPPED[@]} -gt 0 ]; then
		echo "[  SKIPPED ] ${#T_SKIPPED[@]} test(s), listed below:"
		for n in "${T_SKIPPED[@]}"; do echo "[  SKIPPED ] $n"; done
	fi
	if [ ${#T_FAILED[@]} -gt 0 ]; then
		echo "[  FAILED  ] ${#T_FAILED[@]} test(s), listed below:"
		for n in "${T_FAILED[@]}"; do echo "[  FAILED  ] $n"; done
		return 1
	fi
	return 0
}
