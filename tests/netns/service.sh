#!/usr/bin/env bash
# needs: root
# service.sh - tas on the packet backend in one namespace, the Linux
# kernel's TCP in another: ARP, ping, echo, bulk, refusal, resets.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. ci/sandbox.sh
. tests/netns/common.bash

PORT=7000

trap 'sb_down' EXIT
if ! sb_up; then
	t_skip setup "cannot create network namespaces"
	t_summary
	exit 1
fi

export TAS_SOCKET=$SB_SOCK

t_tas_up() { sb_tas; }
t_run "daemon starts on packet:$SB_IFA" t_tas_up

# ---- ARP and ICMP ----
t_ping()
{
	local out
	out=$(sb_in_b ping -c 5 -i 0.2 -W 2 "$SB_IP_A" 2>&1)
	echo "$out" | tail -2
	echo "$out" | grep -q "5 received"
}
t_run "ping -c 5 gets 5 replies" t_ping

t_arp()
{
	local mac
	mac=$(sb_in_a cat /sys/class/net/"$SB_IFA"/address)
	sb_in_b ip neigh show "$SB_IP_A" | tee /dev/stderr | grep -qi "$mac"
}
t_run "Linux peer's ARP table has the daemon's MAC" t_arp

# ---- echo server against Linux clients ----
$EX/echo_server --port $PORT >"$SB_DIR/echo.log" 2>&1 &
ECHO_PID=$!
SB_PIDS+=("$ECHO_PID")
sleep 0.5

t_echo100()
{
	sb_in_b $PEER echo-clients --ip "$SB_IP_A" --port $PORT --conns 100 \
		--bytes 1048576 --timeout 120
}
t_run "100 concurrent Linux connections echo 1 MB each" t_echo100

t_cycles()
{
	sb_in_b $PEER echo-cycles --ip "$SB_IP_A" --port $PORT --n 500 \
		--bytes 1000 || return 1
	sleep 1
	local left
	left=$(build/tasctl conns | grep -vc TIME_WAIT)
	echo "connections left (not TIME_WAIT): $left"
	[ "$left" -eq 0 ]
}
t_run "500 sequential connect/echo/close cycles, nothing left" t_cycles

t_options()
{
	# iproute2's ss on this kernel prints no "ts sack" even between two
	# Linux sockets, so read tcpi_options from the peer's TCP_INFO
	sb_in_b $PEER tcpinfo --ip "$SB_IP_A" --port $PORT
}
t_run "Linux TCP_INFO shows wscale, timestamps and SACK negotiated" t_options

t_refused()
{
	sb_in_b $PEER refused --ip "$SB_IP_A" --port 7999
}
t_run "connect to a closed port is refused" t_refused

# ---- bulk both ways against Linux ----
BYTES=${BULK_BYTES:-104857600}
t_bulk_in() { recv_from_linux 7001 "$BYTES"; }
t_run "Linux -> tas $BYTES bytes, SHA-256 matches" t_bulk_in

t_bulk_out() { send_to_linux 7002 "$BYTES"; }
t_run "tas -> Linux $BYTES bytes, SHA-256 matches" t_bulk_out

t_stats()
{
	build/tasctl stats | grep -E "^(rx_frames|tx_frames|retransmits|drop_parse|arp_rx|icmp_echo_replies) "
}
t_run "tasctl stats answers" t_stats

kill "$ECHO_PID" 2>/dev/null
sb_stop_tas

# ---- routing through a gateway: tas on a /25, the peer's extra address
# 198.18.0.200 lies outside it and is reached through the Linux host ----
t_gateway()
{
	sb_tas --ip "$SB_IP_A/25" --gateway "$SB_IP_B" || return 1
	# no dummy interfaces on this kernel: the extra address lives on lo
	sb_in_b ip addr add 198.18.0.200/32 dev lo
	rm -f "$SB_DIR/gw.ready"
	sb_in_b $PEER sink --port 7500 --ready "$SB_DIR/gw.ready" \
		>"$SB_DIR/gw.sink" 2>&1 &
	local pid=$!
	for _ in $(seq 50); do
		[ -e "$SB_DIR/gw.ready" ] && break
		sleep 0.1
	done
	local out
	out=$($EX/blast send --ip 198.18.0.200 --port 7500 --bytes 1048576)
	wait $pid
	echo "$out"
	cat "$SB_DIR/gw.sink"
	sb_stop_tas
	[ -n "$(echo "$out" | grep -o "sha256 [0-9a-f]*")" ] &&
	[ "$(echo "$out" | grep -o 'sha256 [0-9a-f]*')" = \
		"$(grep -o 'sha256 [0-9a-f]*' "$SB_DIR/gw.sink")" ]
}
t_run "connect off-prefix goes through --gateway, 1 MB intact" t_gateway
grep -E "started|registered|gone" "$SB_DIR/tas.log" | head -5
t_summary
