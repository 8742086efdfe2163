#!/usr/bin/env bash
# needs: root
# multicore.sh - tas with two fast-path cores on two AF_PACKET queues:
# passive opens land where the fanout steers the SYN, active opens are
# created on the core nic_flow_queue() predicts; both must carry data.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. ci/sandbox.sh
. tests/netns/common.bash


trap 'sb_down' EXIT
if ! sb_up; then
	t_skip setup "cannot create network namespaces"
	t_summary
	exit 1
fi
export TAS_SOCKET=$SB_SOCK

t_up() { sb_tas --cores 2; }
t_run "daemon starts with --cores 2" t_up

$EX/echo_server --port 7000 >"$SB_DIR/echo.log" 2>&1 &
SB_PIDS+=($!)
sleep 0.3

t_passive()
{
	sb_in_b $PEER echo-clients --ip "$SB_IP_A" --port 7000 --conns 64 \
		--bytes 262144 --timeout 120
}
t_run "64 Linux connections to echo_server across 2 cores, intact" t_passive

t_active()
{
	local i pids=() ok=0 cores
	for i in 1 2 3 4 5 6; do
		rm -f "$SB_DIR/ready$i"
		sb_in_b $PEER sink --port 760$i --ready "$SB_DIR/ready$i" \
			--timeout 60 >"$SB_DIR/k$i" 2>&1 &
		pids+=($!)
	done
	for i in 1 2 3 4 5 6; do
		wait_file "$SB_DIR/ready$i"
	done
	for i in 1 2 3 4 5 6; do
		$EX/blast send --ip "$SB_IP_B" --port 760$i --bytes 20971520 \
			>"$SB_DIR/b$i" 2>&1 &
		pids+=($!)
	done
	sleep 0.3
	cores=$(build/tasctl conns | grep -o 'core=[0-9]*' | sort -u | tr '\n' ' ')
	echo "cores carrying flows: $cores"
	wait "${pids[@]}"
	for i in 1 2 3 4 5 6; do
		cat "$SB_DIR/b$i"
		[ -n "$(sha_of "$SB_DIR/b$i")" ] &&
			[ "$(sha_of "$SB_DIR/b$i")" = "$(sha_of "$SB_DIR/k$i")" ] &&
			ok=$((ok + 1))
	done
	echo "$ok of 6 active opens delivered 20 MB intact"
	build/tasctl stats | grep -E "^(drop_no_flow|rst_sent) "
	[ "$ok" -eq 6 ]
}
t_run "6 active opens spread over the cores, 20 MB each intact" t_active

t_summary
