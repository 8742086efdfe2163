#!/usr/bin/env bash
# needs: root
# cc.sh - congestion control in real time: tas -> tas through the --link
# bottleneck model, DCTCP (ECN marks, no drop-tail loss) next to Reno (the
# queue fills and drops); ECN negotiated with a Linux peer.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. ci/sandbox.sh
. tests/netns/common.bash

LINK=${CC_LINK:-rate=200mbit,ecn=20,queue=100}
FLOWS=4
FBYTES=${CC_FLOW_BYTES:-20971520}

trap 'sb_down' EXIT
if ! sb_up; then
	t_skip setup "cannot create network namespaces"
	t_summary
	exit 1
fi

SOCK2=$SB_DIR/tas2.sock
stat_of() { TAS_SOCKET=$1 build/tasctl stats | awk -v k="$2" '$1==k{print $2}'; }

# run_flows CC: sender tas (ns A, --link) -> receiver tas (ns B, .3)
run_flows()
{
	local cc=$1 i pids=() ok=0
	sb_tas --cc "$cc" --link "$LINK" || return 1
	ip netns exec "$SB_B" build/tas --nic "packet:$SB_IFB" \
		--ip 198.18.0.3/24 --socket "$SOCK2" --cc "$cc" \
		>"$SB_DIR/tas2-$cc.log" 2>&1 &
	local rx=$!
	SB_PIDS+=($rx)
	wait_file "$SOCK2"
	for i in $(seq $FLOWS); do
		TAS_SOCKET=$SOCK2 $EX/blast recv --port 780$i \
			>"$SB_DIR/r$i" 2>&1 &
		pids+=($!)
	done
	sleep 0.5
	for i in $(seq $FLOWS); do
		TAS_SOCKET=$SB_SOCK $EX/blast send --ip 198.18.0.3 \
			--port 780$i --bytes "$FBYTES" >"$SB_DIR/s$i" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	for i in $(seq $FLOWS); do
		[ -n "$(sha_of "$SB_DIR/s$i")" ] &&
			[ "$(sha_of "$SB_DIR/s$i")" = "$(sha_of "$SB_DIR/r$i")" ] &&
			ok=$((ok + 1))
		grep -o 'received.*Gbit/s' "$SB_DIR/r$i" | sed "s/^/  $cc flow $i: /"
	done
	MARKED=$(stat_of "$SB_SOCK" link_marked)
	DROPPED=$(stat_of "$SB_SOCK" link_dropped)
	MAXQ=$(stat_of "$SB_SOCK" link_max_queue)
	P99Q=$(stat_of "$SB_SOCK" link_p99_queue)
	kill "$rx"
	wait "$rx" 2>/dev/null
	sb_stop_tas
	rm -f "$SOCK2"
	printf '  %-6s %d/%d flows intact  marked %s  dropped %s  queue p99 %s max %s (limit 100)\n' \
		"$cc" "$ok" "$FLOWS" "$MARKED" "$DROPPED" "$P99Q" "$MAXQ"
	[ "$ok" -eq "$FLOWS" ]
}

t_dctcp()
{
	run_flows dctcp || return 1
	D_MARKED=$MARKED D_DROPPED=$DROPPED
	[ "$MARKED" -gt 0 ] && [ "$DROPPED" -eq 0 ]
}
t_run "DCTCP, $FLOWS flows through $LINK: intact, ECN marks, no drop-tail loss" t_dctcp

t_reno()
{
	run_flows reno || return 1
	echo "  side by side: dctcp marked ${D_MARKED:-?} dropped ${D_DROPPED:-?};" \
		"reno marked $MARKED dropped $DROPPED"
	[ "$DROPPED" -gt 0 ]
}
t_run "Reno, same link: intact, but the queue overflows (contrast)" t_reno

t_ecn_linux()
{
	sb_tas || return 1
	TAS_SOCKET=$SB_SOCK $EX/echo_server --port 7000 >"$SB_DIR/echo.log" 2>&1 &
	local pid=$!
	SB_PIDS+=($pid)
	sleep 0.3
	sb_in_b sysctl -qw net.ipv4.tcp_ecn=1
	sb_in_b $PEER tcpinfo --ip "$SB_IP_A" --port 7000 --ecn
	local rc=$?
	kill $pid
	sb_stop_tas
	return $rc
}
t_run "ECN negotiated with a Linux peer that has tcp_ecn=1" t_ecn_linux

t_summary
