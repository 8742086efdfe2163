#!/usr/bin/env bash
# needs: root
# zerocopy.sh - the zero-copy extension end to end: objstore
# (client/examples/objstore*.c) on tas stores objects from Linux clients
# on disk (payload placed into posted buffers, written with O_DIRECT) and
# serves them back (tx_send_zc), byte-exact on the wire and on disk, with
# the copy counters reconciled against what was sent:
#   a  2,000 x 1 MiB, a clean daemon
#   b  the same under drop=1%,reorder=1%; eager payload through the ring,
#      sizes that are not whole pages
#   c  a hostile zero-copy app (tests/apps/zc_hostile.c) next to a transfer
#   d  clients killed mid-transfer: connections and buffers all cleaned up
#   e  tas <-> tas with the flextcp client
#
#   ZC_OBJECTS        objects of 1 MiB in the main case (default 2000)
#   ZC_FAULT_OBJECTS  objects under drop=1%,reorder=1% (default 200)
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. ci/sandbox.sh
. tests/netns/common.bash

OBJS=${ZC_OBJECTS:-2000}
FOBJS=${ZC_FAULT_OBJECTS:-200}
SIZE=1048576
PORT=7600
KPORT=7700
OS=$EX/objstore
ZC_HOSTILE=${ZC_HOSTILE:-build/tests/apps/zc_hostile}
HDR=32 # objstore request header bytes

trap 'sb_down' EXIT
if ! sb_up; then
	t_skip setup "cannot create network namespaces"
	t_summary
	exit 1
fi
export TAS_SOCKET=$SB_SOCK

# the stores go on a real disk if there is one (tmpfs refuses O_DIRECT)
BASE=$SB_DIR
if [ "$(stat -f -c %T "$SB_DIR")" = tmpfs ] &&
	[ "$(stat -f -c %T /var/tmp)" != tmpfs ]; then
	BASE=$(mktemp -d /var/tmp/tas-zc.XXXXXX)
	trap 'sb_down; rm -rf "$BASE"' EXIT
fi

# ---- helpers ----

stat_of() { build/tasctl stats | awk -v n="$1" '$1==n{print $2}'; }

# srv_field LOG NAME: NAME's number in the server's latest total line
srv_field()
{
	grep 'objstore: total:' "$1" | tail -1 | grep -o " $2 [0-9]*" |
		awk '{print $2}'
}

# start_server DIR [ARGS]: objstore on tas; $SRV_LOG, $SRV_PID
start_server()
{
	local i dir=$1
	shift
	mkdir -p "$dir"
	SRV_LOG=$SB_DIR/srv.$RANDOM.log
	$OS server --port $PORT --dir "$dir" "$@" >"$SRV_LOG" 2>&1 &
	SRV_PID=$!
	SB_PIDS+=("$SRV_PID")
	for i in $(seq 100); do
		grep -q "objstore: listening" "$SRV_LOG" && return 0
		sleep 0.05
	done
	cat "$SRV_LOG"
	return 1
}

stop_server()
{
	kill "$SRV_PID" 2>/dev/null
	wait "$SRV_PID" 2>/dev/null
}

# wait_gets LOG N: until the server's total shows N GETs (its connections
# closed), at most 10 s
wait_gets()
{
	local i
	for i in $(seq 100); do
		[ "$(srv_field "$1" gets)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

# client OUT ARGS...: the Linux client in namespace B; passes on "ok"
client()
{
	local out=$1 t0=$SECONDS
	shift
	sb_in_b timeout 300 $OS client --kernel --ip "$SB_IP_A" --port $PORT \
		"$@" >"$out" 2>&1
	local rc=$?
	cat "$out"
	echo "($((SECONDS - t0)) s)"
	[ $rc -eq 0 ] && tail -1 "$out" | grep -q "ok$"
}

# disk_ok DIR SHAFILE N: N files, each byte-exact against the hashes
# of the expected content the GET client wrote
disk_ok()
{
	local n
	n=$(find "$1" -maxdepth 1 -type f | wc -l)
	echo "files in the store: $n (want $3)"
	[ "$n" -eq "$3" ] && [ "$(wc -l <"$2")" -eq "$3" ] &&
		(cd "$1" && sha256sum --quiet -c "$2")
}

# direct_ok DIR: whether the store's file system takes O_DIRECT
direct_ok()
{
	dd if=/dev/zero of="$1/.probe" bs=4096 count=1 oflag=direct \
		>/dev/null 2>&1
	local rc=$?
	rm -f "$1/.probe"
	return $rc
}

FAULTY=0 # set while the daemon injects faults

# counters LOG PAYLOAD REQUESTS EAGER_TOTAL: the daemon's zero-copy
# counters against what the server saw and what the clients sent
counters()
{
	local log=$1 p=$2 reqs=$3 eager=$4
	local cp np rb tx placed copied zcs
	cp=$(stat_of zc_rx_placed_copy_bytes)
	np=$(stat_of zc_rx_placed_nocopy_bytes)
	rb=$(stat_of zc_rx_ring_bytes)
	tx=$(stat_of zc_tx_bytes)
	placed=$(srv_field "$log" placed)
	copied=$(srv_field "$log" copied-from-ring)
	zcs=$(srv_field "$log" zc-sent)
	echo "daemon: zc_rx_placed_copy_bytes $cp zc_rx_placed_nocopy_bytes $np zc_rx_ring_bytes $rb zc_tx_bytes $tx"
	echo "server: placed $placed copied-from-ring $copied zc-sent $zcs"
	echo "wire:   PUT payload $p, request headers $((reqs * HDR)), eager payload $eager"
	build/tasctl stats | grep -E "^(retransmits|drop_bad_zc_cmd|zc_tx_bounced_frames|zc_rx_dropped_unplaceable) "
	local ok=0
	# every payload byte is either placed by the daemon or copied by the
	# server out of the ring: nothing lost, nothing counted twice
	[ $((placed + copied)) -eq "$p" ] || { echo "placed + copied != payload"; ok=1; }
	# the daemon writes each placed byte once; under injected faults a
	# retransmitted segment overlapping bytes already there (out of
	# order) is written again whole, so it may count up to 1% more
	local extra=$((cp + np - placed))
	[ "$extra" -eq 0 ] ||
		echo "daemon placed $((cp + np)), server placed $placed: $extra bytes written twice"
	[ "$extra" -ge 0 ] && [ "$extra" -le $((FAULTY ? p / 100 : 0)) ] ||
		{ echo "daemon placed $((cp + np)) != server placed $placed"; ok=1; }
	# what the ring got: the headers (less the first of each
	# connection, before it had zero-copy state) and the eager bytes
	[ "$copied" -eq "$eager" ] || { echo "copied-from-ring != eager bytes"; ok=1; }
	[ "$rb" -ge "$copied" ] && [ "$rb" -le $((reqs * HDR + eager)) ] ||
		{ echo "ring bytes out of range"; ok=1; }
	# one copy per received byte: the daemon's copies (into buffers,
	# into the ring) add up to no more than the bytes received
	[ $((cp + rb)) -le $((p + reqs * HDR)) ] ||
		{ echo "more daemon copies than bytes received"; ok=1; }
	# most payload was placed: at least 90%
	[ "$cp" -gt 0 ] && [ $((placed * 10)) -ge $((p * 9)) ] ||
		{ echo "less than 90% of the payload placed"; ok=1; }
	# every GET byte went out with tx_send_zc
	[ "$zcs" -eq "$p" ] && [ "$tx" -ge "$p" ] ||
		{ echo "GET payload not all sent zero-copy"; ok=1; }
	return $ok
}

# ---- a: 2,000 objects of 1 MiB, Linux client, real disk ----
STORE=$BASE/store-a
mkdir -p "$STORE"
echo "store: $STORE on $(stat -f -c %T "$STORE")"
DIRECT=1
direct_ok "$STORE" || DIRECT=0

t_a_up() { sb_tas && start_server "$STORE"; }
t_run "daemon and objstore server start" t_a_up

t_a_put() { client "$SB_DIR/a.put" put --count "$OBJS" --size $SIZE --conns 2; }
t_run "Linux client PUTs $OBJS objects of 1 MiB" t_a_put

t_a_get()
{
	client "$SB_DIR/a.get" get --count "$OBJS" --size $SIZE --conns 2 \
		--hashes "$SB_DIR/a.sha" && wait_gets "$SRV_LOG" "$OBJS"
}
t_run "Linux client GETs them back, every SHA-256 matches" t_a_get

t_a_disk() { disk_ok "$STORE" "$SB_DIR/a.sha" "$OBJS"; }
t_run "the $OBJS files on disk are byte-exact" t_a_disk

t_a_direct()
{
	local d b
	d=$(srv_field "$SRV_LOG" writes-direct)
	b=$(srv_field "$SRV_LOG" writes-buffered)
	echo "writes: O_DIRECT $d, buffered $b (O_DIRECT available: $DIRECT)"
	if [ "$DIRECT" -eq 1 ]; then
		[ "$d" -eq "$OBJS" ] && [ "$b" -eq 0 ]
	else
		[ "$b" -eq "$OBJS" ]
	fi
}
t_run "1 MiB objects are written with O_DIRECT from the placed buffer" \
	t_a_direct

t_a_counters() { counters "$SRV_LOG" $((OBJS * SIZE)) $((2 * OBJS)) 0; }
t_run "counters: all payload placed, one copy per byte, GETs zero-copy" \
	t_a_counters
stop_server
sb_stop_tas

# ---- b: faults; also eager bytes (through the ring) and sizes that
# are not whole pages (buffered writes) ----
STORE=$BASE/store-b
FSIZE=1000000
EAGER=3000
FAULTY=1

t_b_up()
{
	sb_tas --fault drop=0.01,reorder=0.01,seed=11 && start_server "$STORE"
}
t_run "daemon with --fault drop=0.01,reorder=0.01 and objstore start" t_b_up

t_b_xfer()
{
	client "$SB_DIR/b.put" put --count "$FOBJS" --size $SIZE --conns 2 &&
		client "$SB_DIR/b.get" get --count "$FOBJS" --size $SIZE \
			--conns 2 --hashes "$SB_DIR/b.sha" &&
		wait_gets "$SRV_LOG" "$FOBJS" &&
		disk_ok "$STORE" "$SB_DIR/b.sha" "$FOBJS" &&
		counters "$SRV_LOG" $((FOBJS * SIZE)) $((2 * FOBJS)) 0
}
t_run "faults: $FOBJS x 1 MiB PUT + GET byte-exact, on disk too, counters" \
	t_b_xfer

t_b_eager()
{
	local first=100000 d b
	client "$SB_DIR/b2.put" put --count "$FOBJS" --size $FSIZE --conns 2 \
		--first $first --eager $EAGER &&
		client "$SB_DIR/b2.get" get --count "$FOBJS" --size $FSIZE \
			--conns 2 --first $first --hashes "$SB_DIR/b2.sha" &&
		wait_gets "$SRV_LOG" $((2 * FOBJS)) || return 1
	# the store now holds both sets
	cat "$SB_DIR/b.sha" "$SB_DIR/b2.sha" >"$SB_DIR/b.all.sha"
	disk_ok "$STORE" "$SB_DIR/b.all.sha" $((2 * FOBJS)) || return 1
	d=$(srv_field "$SRV_LOG" writes-direct)
	b=$(srv_field "$SRV_LOG" writes-buffered)
	echo "writes: O_DIRECT $d, buffered $b"
	# 1,000,000 is no multiple of 4096: those go buffered
	[ "$b" -ge "$FOBJS" ] || return 1
	counters "$SRV_LOG" $((FOBJS * (SIZE + FSIZE))) $((4 * FOBJS)) \
		$((FOBJS * EAGER))
}
t_run "faults: $EAGER eager bytes per PUT copied from the ring, odd sizes buffered" \
	t_b_eager
build/tasctl stats | grep -E "^(retransmits|fast_retransmits|rto_timeouts) "
stop_server
sb_stop_tas
FAULTY=0

# ---- c: a hostile zero-copy app next to a transfer ----
STORE=$BASE/store-c
COBJS=300

t_c_up()
{
	sb_tas && start_server "$STORE" || return 1
	mkdir -p "$SB_DIR/kstore"
	# the hostile app's peer: the same server logic on Linux sockets
	ip netns exec "$SB_B" $OS server --kernel --port $KPORT \
		--dir "$SB_DIR/kstore" >"$SB_DIR/kserver.log" 2>&1 &
	SB_PIDS+=($!)
	sleep 0.3
}
t_run "daemon, objstore, and a Linux objstore for the hostile app start" \
	t_c_up

t_c_hostile()
{
	local bad0 ref0 bad1 ref1 cpid hrc
	bad0=$(stat_of drop_bad_zc_cmd)
	ref0=$(stat_of zc_requests_refused)
	client "$SB_DIR/c.put" put --count $COBJS --size $SIZE \
		>"$SB_DIR/c.put.out" 2>&1 &
	cpid=$!
	timeout 60 "$ZC_HOSTILE" --ip "$SB_IP_B" --port $KPORT
	hrc=$?
	wait $cpid || { cat "$SB_DIR/c.put.out"; return 1; }
	cat "$SB_DIR/c.put.out"
	client "$SB_DIR/c.get" get --count $COBJS --size $SIZE \
		--hashes "$SB_DIR/c.sha" || return 1
	wait_gets "$SRV_LOG" $COBJS && disk_ok "$STORE" "$SB_DIR/c.sha" $COBJS ||
		return 1
	bad1=$(stat_of drop_bad_zc_cmd)
	ref1=$(stat_of zc_requests_refused)
	echo "drop_bad_zc_cmd $bad0 -> $bad1, zc_requests_refused $ref0 -> $ref1"
	grep -E "gone|freed" "$SB_DIR/tas.log" | tail -2
	# zc_hostile makes exactly 4 commands and 2 region requests the
	# daemon must refuse; the transfer next to it none
	[ $hrc -eq 0 ] && [ $((bad1 - bad0)) -eq 4 ] &&
		[ $((ref1 - ref0)) -eq 2 ]
}
t_run "hostile zero-copy app refused and counted; the other app's $COBJS MiB intact" \
	t_c_hostile

t_c_alive()
{
	client "$SB_DIR/c2.put" put --count 10 --size $SIZE --first 5000 &&
		client "$SB_DIR/c2.get" get --count 10 --size $SIZE --first 5000
}
t_run "daemon still serves zero-copy after all that" t_c_alive
stop_server
sb_stop_tas

# ---- d: clients killed mid-transfer leave nothing behind: with 4 MiB
# of buffers, a buffer lost would stall the transfers after them ----
t_d_killed()
{
	local i n left
	sb_tas && start_server "$BASE/store-k" --buf-mb 4 || return 1
	client "$SB_DIR/k0.put" put --count 40 --size $SIZE --conns 4 || return 1
	for i in 1 2 3 4 5 6; do
		local op=put
		[ $((i % 2)) -eq 0 ] && op=get
		sb_in_b timeout -s KILL 0.$((2 + i)) $OS client --kernel \
			--ip "$SB_IP_A" --port $PORT $op --count 1000 \
			--size $SIZE --conns 4 >/dev/null 2>&1
	done
	sleep 0.5
	kill -0 "$SRV_PID" || { echo "server died"; cat "$SRV_LOG"; return 1; }
	n=$(grep -c "^objstore: 198[0-9.:]*: puts" "$SRV_LOG")
	left=$(build/tasctl conns | grep -v TIME_WAIT | grep -c ":$PORT")
	grep "objstore: buffers:" "$SRV_LOG" | tail -1
	echo "connections the server saw end: $n; left in the daemon: $left"
	# every buffer back once no connection is left
	grep "objstore: buffers:" "$SRV_LOG" | tail -1 |
		grep -q ": 1024 of 1024 pages free" &&
		[ "$n" -ge 10 ] && [ "$left" -eq 0 ] &&
		client "$SB_DIR/k1.put" put --count 40 --size $SIZE --conns 4 \
			--first 1000 &&
		client "$SB_DIR/k1.get" get --count 40 --size $SIZE --conns 4 \
			--first 1000
}
t_run "clients killed mid-PUT and mid-GET: cleaned up, buffers all back" \
	t_d_killed
stop_server
sb_stop_tas

# ---- e: tas <-> tas, the flextcp client ----
t_e_tas2tas()
{
	local s2=$SB_DIR/tas2.sock
	sb_tas && start_server "$BASE/store-d" || return 1
	ip netns exec "$SB_B" build/tas --nic "packet:$SB_IFB" \
		--ip 198.18.0.3/24 --socket "$s2" >"$SB_DIR/tas2.log" 2>&1 &
	SB_PIDS+=($!)
	local p2=$!
	for _ in $(seq 100); do [ -S "$s2" ] && break; sleep 0.05; done
	local ok=0
	TAS_SOCKET=$s2 timeout 120 $OS client --ip "$SB_IP_A" --port $PORT \
		put --count 100 --size $SIZE --conns 3 --eager 1000 || ok=1
	TAS_SOCKET=$s2 timeout 120 $OS client --ip "$SB_IP_A" --port $PORT \
		get --count 100 --size $SIZE --conns 3 || ok=1
	kill $p2
	wait $p2 2>/dev/null
	stop_server
	sb_stop_tas
	return $ok
}
t_run "tas -> tas: the flextcp client PUTs and GETs 100 x 1 MiB" t_e_tas2tas

t_summary
