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

say "an unmodified program: redis-server under LD_PRELOAD=libtas_interpose.so vs the same redis on Linux"
if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
	# the Linux redis listens on a kernel address in the same namespace
	sb_in_a ip addr add 198.18.0.10/24 dev "$SB_IFA"
	LD_PRELOAD=$PWD/build/libtas_interpose.so redis-server --port 6390 \
		--bind 0.0.0.0 --save "" --appendonly no --protected-mode no \
		>"$SB_DIR/redis-tas.log" 2>&1 &
	SB_PIDS+=($!)
	# ip netns exec execs the server itself, so $! is its pid for teardown
	ip netns exec "$SB_A" redis-server --port 6391 --bind 198.18.0.10 --save "" \
		--appendonly no --protected-mode no >"$SB_DIR/redis-lin.log" 2>&1 &
	SB_PIDS+=($!)
	sleep 1
	for side in "tas   $SB_IP_A 6390" "linux 198.18.0.10 6391"; do
		set -- $side
		r=$(sb_in_b timeout 60 redis-benchmark -h "$2" -p "$3" -t set,get \
			-n 50000 -c 20 -P 16 -q 2>/dev/null | tr '\r' '\n' |
			grep -E "^(SET|GET): [0-9]" | sed 's/ per second.*//' |
			tr '\n' ' ')
		printf '  redis on %s: %s\n' "$1" "$r"
	done
	v=$(sb_in_b redis-cli -h "$SB_IP_A" -p 6390 set demo-key tas-ok)
	g=$(sb_in_b redis-cli -h "$SB_IP_A" -p 6390 get demo-key)
	echo "  redis-cli through tas: SET -> $v, GET -> $g"
	[ "$g" = "tas-ok" ] || fail "redis value"
else
	echo "  (redis-server not installed: scene skipped)"
fi

say "tasctl stats (selected counters)"
build/tasctl stats | grep -E '^(rx_frames|tx_frames|tcp_segs_in|tcp_segs_out|retransmits|conn_established|arp_rx|icmp_echo_replies|drop_parse) '
sb_stop_tas

STORE_OBJS=${DEMO_STORE_OBJS:-1024}
say "storage: objstore stores $STORE_OBJS objects of 1 MiB from a Linux client on disk and reads them back: zero-copy on tas vs the same server logic on Linux sockets"
store_scene()
{
	local side=$1 ip=$2 port=$3 dir=$SB_DIR/store-$1
	mkdir -p "$dir"
	for op in put get; do
		sb_in_b timeout 120 $EX/objstore client --kernel --ip "$ip" \
			--port "$port" $op --count "$STORE_OBJS" --size 1048576 \
			--conns 2 >"$SB_DIR/store-$side.$op" 2>&1 ||
			{ cat "$SB_DIR/store-$side.$op"; fail "objstore $op on $side"; }
		tail -1 "$SB_DIR/store-$side.$op" | grep -q "ok$" ||
			fail "objstore $op on $side"
	done
	printf '  %-5s PUT %6s MB/s, GET %6s MB/s (every SHA-256 verified)\n' \
		"$side" "$(store_rate "$side" put)" "$(store_rate "$side" get)"
	rm -rf "$dir"
}
store_rate() { grep -o "[0-9.]* MB/s" "$SB_DIR/store-$1.$2" | cut -d' ' -f1; }
sb_tas || fail "tas"
mkdir -p "$SB_DIR/store-tas"
$EX/objstore server --port 7600 --dir "$SB_DIR/store-tas" \
	>"$SB_DIR/objstore-tas.log" 2>&1 &
OS_TAS=$!
SB_PIDS+=($OS_TAS)
# the Linux twin listens on a kernel address in the same namespace
sb_in_a ip addr add 198.18.0.10/24 dev "$SB_IFA" 2>/dev/null
mkdir -p "$SB_DIR/store-linux"
ip netns exec "$SB_A" $EX/objstore server --kernel --ip 198.18.0.10 \
	--port 7601 --dir "$SB_DIR/store-linux" >"$SB_DIR/objstore-lin.log" 2>&1 &
OS_LIN=$!
SB_PIDS+=($OS_LIN)
sleep 0.5
store_scene tas "$SB_IP_A" 7600
store_scene linux 198.18.0.10 7601
sleep 0.3
st=$(grep 'objstore: total:' "$SB_DIR/objstore-tas.log" | tail -1)
n() { echo "$st" | grep -o " $1 [0-9]*" | awk '{print $2}'; }
c() { build/tasctl stats | awk -v k="$1" '$1==k{print $2}'; }
echo "  tas server: PUT payload placed into posted buffers $(n placed) B, copied from the receive ring $(n copied-from-ring) B; GET sent zero-copy $(n zc-sent) B; O_DIRECT writes $(n writes-direct), buffered $(n writes-buffered)"
echo "  tas daemon: zc_rx_placed_copy_bytes $(c zc_rx_placed_copy_bytes) (one copy, frame -> app buffer; packet backend), zc_rx_placed_nocopy_bytes $(c zc_rx_placed_nocopy_bytes), zc_rx_ring_bytes $(c zc_rx_ring_bytes) (request headers), zc_tx_bytes $(c zc_tx_bytes)"
st=$(grep 'objstore: total:' "$SB_DIR/objstore-lin.log" | tail -1)
echo "  linux server: recv copied every payload byte ($(n copied-from-ring) B) into its buffer; O_DIRECT writes $(n writes-direct)"
kill "$OS_TAS" "$OS_LIN"
wait "$OS_TAS" "$OS_LIN" 2>/dev/null
sb_stop_tas

say "congestion control: 4 flows tas -> tas through a modelled 200 Mbit/s switch port (ECN mark above 20 packets, drop above 100)"
SOCK2=$SB_DIR/tas2.sock
cc_scene()
{
	local cc=$1 i pids=()
	sb_tas --cc "$cc" --link rate=200mbit,ecn=20,queue=100 || fail "tas"
	ip netns exec "$SB_B" build/tas --nic "packet:$SB_IFB" \
		--ip 198.18.0.3/24 --socket "$SOCK2" --cc "$cc" \
		>"$SB_DIR/tas2.log" 2>&1 &
	local rx=$!
	SB_PIDS+=($rx)
	for _ in $(seq 100); do [ -S "$SOCK2" ] && break; sleep 0.05; done
	for i in 1 2 3 4; do
		TAS_SOCKET=$SOCK2 $EX/blast recv --port 780$i >"$SB_DIR/r$i" 2>&1 &
		pids+=($!)
	done
	sleep 0.3
	for i in 1 2 3 4; do
		$EX/blast send --ip 198.18.0.3 --port 780$i --bytes 5242880 \
			>"$SB_DIR/s$i" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	local rates="" m d p
	for i in 1 2 3 4; do
		[ "$(grep -o 'sha256 [0-9a-f]*' "$SB_DIR/s$i")" = \
			"$(grep -o 'sha256 [0-9a-f]*' "$SB_DIR/r$i")" ] ||
			fail "$cc flow $i differs"
		rates="$rates $(grep -o '[0-9.]* Gbit/s' "$SB_DIR/r$i" | cut -d' ' -f1)"
	done
	m=$(build/tasctl stats | awk '$1=="link_marked"{print $2}')
	d=$(build/tasctl stats | awk '$1=="link_dropped"{print $2}')
	p=$(build/tasctl stats | awk '$1=="link_p99_queue"{print $2}')
	printf '  %-6s Gbit/s per flow:%s | queue p99 %3s pkts | ECN marked %6s | dropped %4s | all 4 flows intact\n' \
		"$cc" "$rates" "$p" "$m" "$d"
	kill $rx
	wait $rx 2>/dev/null
	sb_stop_tas
	rm -f "$SOCK2"
}
cc_scene dctcp
cc_scene reno
echo "  DCTCP keeps the queue short with marks; Reno fills it and loses packets"

say "done: everything verified; tearing the sandbox down"
