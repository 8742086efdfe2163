#!/usr/bin/env bash
# demo.sh - `make demo`: tas on the packet backend in a two-namespace
# sandbox, talking to the Linux kernel's TCP; narrated, torn down on exit
# and on Ctrl-C.
set -uo pipefail
cd "$(dirname "$0")/.."
. ci/sandbox.sh

PEER="/usr/bin/python3 tests/netns/peer.py"
EX=build/examples
BYTES=${DEMO_BYTES:-104857600}

say() { printf '\n== %s\n' "$*"; }
fail() { echo "demo: FAILED: $*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: needs root (network namespaces and AF_PACKET)"
	exit 1
fi
trap 'sb_down' EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

say "sandbox: namespace $SB_A (tas on $SB_IFA, $SB_IP_A) <-veth-> $SB_B (Linux, $SB_IP_B)"
sb_up || fail "cannot create namespaces"
sb_tas || fail "tas did not start"
export TAS_SOCKET=$SB_SOCK
head -1 "$SB_DIR/tas.log"

say "ICMP and ARP: Linux pings the tas daemon"
sb_in_b ping -c 3 -i 0.2 "$SB_IP_A" | tail -2 || fail "ping"
sb_in_b ip neigh show "$SB_IP_A"

say "echo_server (flextcp API) serves 20 Linux connections, 1 MB each"
$EX/echo_server --port 7000 >"$SB_DIR/echo.log" 2>&1 &
SB_PIDS+=($!)
sleep 0.3
sb_in_b $PEER echo-clients --ip "$SB_IP_A" --port 7000 --conns 20 \
	--bytes 1048576 || fail "echo"

say "bulk: Linux sends $BYTES bytes to blast recv"
$EX/blast recv --port 7001 >"$SB_DIR/recv.out" 2>&1 &
RPID=$!
sleep 0.3
S=$(sb_in_b $PEER source --ip "$SB_IP_A" --port 7001 --bytes "$BYTES")
wait $RPID
echo "  linux: $S"
echo "  tas:   $(cat "$SB_DIR/recv.out")"
[ "$(echo "$S" | grep -o 'sha256 [0-9a-f]*')" = \
	"$(grep -o 'sha256 [0-9a-f]*' "$SB_DIR/recv.out")" ] ||
	fail "checksums differ"
echo "  SHA-256 match"

say "bulk: blast send pushes $BYTES bytes to a Linux receiver"
sb_in_b $PEER sink --port 7002 --ready "$SB_DIR/ready" >"$SB_DIR/sink.out" &
KPID=$!
for _ in $(seq 50); do [ -e "$SB_DIR/ready" ] && break; sleep 0.1; done
S=$($EX/blast send --ip "$SB_IP_B" --port 7002 --bytes "$BYTES")
wait $KPID
echo "  tas:   $S"
echo "  linux: $(cat "$SB_DIR/sink.out")"
[ "$(echo "$S" | grep -o 'sha256 [0-9a-f]*')" = \
	"$(grep -o 'sha256 [0-9a-f]*' "$SB_DIR/sink.out")" ] ||
	fail "checksums differ"
echo "  SHA-256 match"

say "tasctl stats (selected counters)"
build/tasctl stats | grep -E '^(rx_frames|tx_frames|tcp_segs_in|tcp_segs_out|retransmits|conn_established|arp_rx|icmp_echo_replies|drop_parse) '

say "done: everything verified; tearing the sandbox down"
