#!/usr/bin/env bash
# needs: root
# cc.sh - congestion control in real time: tas -> tas through the --link
# bottleneck model, DCTCP (ECN marks, no drop-tail loss) next to Reno (the
# queue fills and drops); ECN negotiated with a Linux peer; pacing: const
# holds each flow at its rate, TIMELY's paced flows arrive intact.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. ci/sandbox.sh
. tests/netns/common.bash

LINK=${CC_LINK:-rate=200mbit,ecn=20,queue=100}
FLOWS=4
FBYTES=${CC_FLOW_BYTES:-20971520}
PACE_RATE_MBIT=50 # const:50mbit; 20 MiB then take ~3.4 s per flow

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
	local cc=$1 link=${2-$LINK} i pids=() ok=0
	sb_tas --cc "$cc" ${link:+--link "$link"} || return 1
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

# rate_of FILE: Mbit/s from "received N bytes in T s" (T has 2 decimals:
# 0.3% at ~3.4 s; blast's own Gbit/s has too few digits for 5%)
rate_of()
{
	awk '/received/ { for (i = 1; i < NF; i++) if ($i == "bytes") n = $(i - 1);
		for (i = 1; i < NF; i++) if ($i == "in") t = $(i + 1) }
	     END { if (t > 0) printf "%.2f", n * 8 / t / 1e6 }' "$1"
}

t_const_paced()
{
	local i r bad=0
	# no --link: the pacer alone sets the rate
	run_flows "const:${PACE_RATE_MBIT}mbit" "" || return 1
	for i in $(seq $FLOWS); do
		r=$(rate_of "$SB_DIR/r$i")
		echo "  const flow $i: $r Mbit/s (target $PACE_RATE_MBIT)"
		awk -v r="${r:-0}" -v t=$PACE_RATE_MBIT \
			'BEGIN { exit !(r >= t * 0.95 && r <= t * 1.05) }' ||
			bad=1
	done
	[ "$bad" -eq 0 ]
}
t_run "const:${PACE_RATE_MBIT}mbit, $FLOWS paced flows: each within 5% of its rate, intact" t_const_paced

t_timely_paced()
{
	run_flows timely ""
}
t_run "TIMELY (paced), $FLOWS flows: intact" t_timely_paced

t_summary
