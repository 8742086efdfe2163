#!/usr/bin/env bash
# needs: root
# scale.sh - thousands of active opens from a flextcp client (rpc_client)
# through tas on the packet backend to a Linux echo listener: connection
# setup at scale, bounded in time.
#
#   - opens sent before the next hop's ARP answer all wait for it (no
#     per-open slot limit);
#   - SCALE_CONNS connections open at once, each exchanges a request, all
#     within SCALE_LIMIT seconds (every CONNECT reaches its core once);
#   - a client killed holding thousands of connections gives every
#     ephemeral port back (no note from a core to the control thread is
#     dropped).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. ci/sandbox.sh
. tests/netns/common.bash

PORT=7100
CONNS=${SCALE_CONNS:-10000}
LIMIT=${SCALE_LIMIT:-20}
COLD=1000 # opens before ARP is resolved: more than a fixed table held
KILLED=5000 # more than a core's note ring and first backlog hold

trap 'sb_down' EXIT
if ! sb_up; then
	t_skip setup "cannot create network namespaces"
	t_summary
	exit 1
fi
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt $((CONNS + 64)) ]; then
	t_skip setup "the Linux peer needs $((CONNS + 64)) descriptors, hard limit $hard"
	t_summary
	exit 0
fi

export TAS_SOCKET=$SB_SOCK
stat_of() { build/tasctl stats | awk -v k="$1" '$1 == k { print $2 }'; }

# The Linux side accepts every SYN of the burst (deep backlog, per netns).
sb_in_b sysctl -qw net.core.somaxconn=65535
sb_in_b sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
rm -f "$SB_DIR/echo.ready"
# (ip netns exec execs the peer: $! is the process sb_down kills)
ip netns exec "$SB_B" $PEER echo-server --port $PORT --backlog 65535 \
	--max-conns $((CONNS + KILLED)) --timeout 300 \
	--ready "$SB_DIR/echo.ready" >"$SB_DIR/echo.log" 2>&1 &
SB_PIDS+=("$!")

t_up()
{
	wait_file "$SB_DIR/echo.ready" || return 1
	# TIME_WAIT flows of every run stay: room for all of them
	sb_tas --app-conns $((CONNS + 64)) \
		--max-flows $((COLD + CONNS + KILLED + 1024))
}
t_run "Linux echo listener and daemon start" t_up

# rpc_client N: N connections, at least one 64 B request each
rpc()
{
	local t0=$SECONDS rc
	timeout -k 2 "$LIMIT" $EX/rpc_client --ip "$SB_IP_B" --port $PORT \
		--size 64 --conns "$1" --requests "$1"
	rc=$?
	echo "$1 connections: rc $rc after $((SECONDS - t0)) s (limit $LIMIT s)"
	[ "$rc" -eq 0 ]
}

t_cold() { rpc $COLD; }
t_run "$COLD opens sent before ARP resolves all open and echo" t_cold

t_many()
{
	local d
	rpc "$CONNS" || return 1
	# the packet backend reports its RX-ring drops (retransmitted)
	d=$(stat_of nic_rx_dropped)
	echo "nic_rx_dropped ${d:-missing}"
	[ -n "$d" ]
}
t_run "$CONNS connections open at once, one request each, in $LIMIT s" t_many

freed() { grep -c "resources freed" "$SB_DIR/tas.log"; }

t_killed()
{
	local before after n i pid f0 drops
	before=$(stat_of ports_in_use)
	f0=$(freed)
	$EX/rpc_client --ip "$SB_IP_B" --port $PORT --size 64 \
		--conns $KILLED --duration 60 >"$SB_DIR/killed.log" 2>&1 &
	pid=$!
	SB_PIDS+=("$pid")
	for i in $(seq 100); do
		n=$(sb_in_b ss -Htn state established "( sport = :$PORT )" |
			wc -l)
		[ "$n" -ge $KILLED ] && break
		sleep 0.1
	done
	echo "established at the peer: $n, ports in use ${before:-?} ->" \
		"$(stat_of ports_in_use)"
	kill -9 "$pid"
	wait "$pid" 2>/dev/null
	[ "$n" -ge $KILLED ] || return 1
	# the daemon frees the app once every core reset its flows
	for i in $(seq 50); do
		[ "$(freed)" -gt "$f0" ] && break
		sleep 0.1
	done
	after=$(stat_of ports_in_use)
	drops=$(stat_of drop_exception_full)
	echo "after the kill: ports in use ${after:-?}, drop_exception_full $drops"
	[ "$(freed)" -gt "$f0" ] && [ "$drops" = 0 ] && [ -n "$before" ] &&
		[ "$after" = "$before" ]
}
t_run "client killed with $KILLED connections: every port comes back" t_killed

build/tasctl stats | grep -E "^(conn_established|retransmits|rto_timeouts|drop_|ports_in_use|nic_rx_dropped)"
grep -E "error|warn" "$SB_DIR/tas.log" | head -5
t_summary
