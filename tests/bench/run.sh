#!/usr/bin/env bash
# needs: root
# run.sh - `make bench`: TAS and the Linux kernel's TCP side by side, in one
# run, on the same topology, printing one table.
#
#   bash tests/bench/run.sh          full run (under 15 minutes)
#   BENCH_QUICK=1 bash ...           quick run (under 2 minutes)
#   BENCH_SMOKE=1 bash ...           smoke run (~30 s): scenario 1 latency
#                                    and scenario 3 bulk (one direction),
#                                    TAS and Linux, one short run each; for
#                                    `make test` (tests/apps/bench_smoke.sh)
#   BENCH_PIN=split bash ...         pin the server side to CPU 0 and the
#                                    client side to CPU 1 (default: none)
#   BENCH_ONLY="1 5 7" bash ...      run only these scenarios (1-7)
#   BENCH_S7_CONNS="1 10000" ...     scenario 7's connection counts
#   BENCH_TAS_OPTS="--idle-us 20"    extra options for the packet daemons
#
# Topology (ci/sandbox.sh): namespaces A and B joined by veth, offloads off.
# TAS runs in A on AF_PACKET as 198.18.0.1; for the Linux runs the daemon is
# stopped and the kernel in A gets the same 198.18.0.1, so clients use the
# same address, MAC and path. Each scenario runs its TAS configurations,
# then its Linux ones, one after the other. Every configuration gets one
# warm-up run (discarded) and REPS measured runs; the report gives the
# median and the spread. CPU is the whole machine's busy time from
# /proc/stat (user+nice+system+irq+softirq over every CPU) across each
# measured run, so kernel work and busy-polling are both counted.
#
# Fairness: the same client logic and message sizes on both sides
# (krpc_client/kblast/kecho_server are line-for-line twins of the flextcp
# examples on kernel sockets); the same pinning policy (BENCH_PIN) for both;
# the daemon keeps its default --idle-us (polls, yielding, counted as CPU).
#
# Writes build/bench/{results.md,results.csv,raw.csv,machine.txt,*.png,
# logs/}. Every load is bounded in count and time; only 198.18.0.0/24 is
# used; namespaces, daemons and wire files are removed on exit or Ctrl-C.
set -uo pipefail
cd "$(dirname "$0")/../.."

QUICK=${BENCH_QUICK:-0}
SMOKE=${BENCH_SMOKE:-0}
ONLY=${BENCH_ONLY:-}
PIN=${BENCH_PIN:-none}
BENCH_TAS_OPTS=${BENCH_TAS_OPTS:-}
OUT=${BENCH_OUT:-build/bench}
PY=/usr/bin/python3
BB=build/tests/bench
EX=build/examples
HZ=$(getconf CLK_TCK)
T_START=$(date +%s)

# S5_*: scenario 5 (sockperf seconds per run, redis-benchmark requests
# per run); S7_*: scenario 7 (connection counts, runs per count)
if [ "$SMOKE" = 1 ]; then
	QUICK=1
	REPS=1 DUR=1 WARM_REQ=50 BULK=4194304 WARM_BULK=1048576
	IPR_REQ=1000 MEMCPY_MS=50
elif [ "$QUICK" = 1 ]; then
	REPS=3 DUR=1 WARM_REQ=100 BULK=16777216 WARM_BULK=2097152
	IPR_REQ=3000 MEMCPY_MS=150
	S7_CONNS="1 100" S7_REPS=1 # scenario 5: full run only
else
	REPS=3 DUR=3 WARM_REQ=2000 BULK=134217728 WARM_BULK=16777216
	IPR_REQ=20000 MEMCPY_MS=1500
	S5_SP=3 S5_RB=50000 S5_REPS=2 S7_CONNS="1 100 1000 10000" S7_REPS=1
fi
S7_CONNS=${BENCH_S7_CONNS:-${S7_CONNS:-}}
CMD_TIMEOUT=$((DUR + 40))

if [ "$(id -u)" -ne 0 ]; then
	echo "skipped: bench needs root (network namespaces)"
	exit 0
fi
for b in build/tas "$EX/echo_server" "$EX/rpc_client" "$EX/blast" \
	"$BB/kecho_server" "$BB/krpc_client" "$BB/kblast" "$BB/memcpy_bw"; do
	if [ ! -x "$b" ]; then
		echo "bench: $b missing; run make first"
		exit 1
	fi
done

rm -rf "$OUT"
mkdir -p "$OUT/logs"
RAW=$OUT/raw.csv
LOG=$OUT/logs/bench.log
echo "config,rep,metric,value" >"$RAW"
: >"$LOG"

. ci/sandbox.sh
WIRE_NAME=tasbench$$
cleanup()
{
	sb_down
	rm -f /dev/shm/tas-wire-"$WIRE_NAME"*
}
trap cleanup EXIT
trap 'echo "bench: interrupted"; exit 130' INT TERM
if ! sb_up; then
	echo "bench: cannot create network namespaces"
	exit 1
fi
export TAS_SOCKET=$SB_SOCK
SOCK2=$SB_DIR/tas2.sock
IP_B_TAS=198.18.0.3

# Pinning: the server side (namespace A) and the client side (namespace B,
# the second daemon) each on one CPU, or left to the scheduler.
if [ "$PIN" = split ]; then
	SRV=(taskset -c 0)
	CLI=(taskset -c 1)
else
	SRV=()
	CLI=()
fi
pin_srv() { [ "$PIN" = split ] && taskset -a -p -c 0 "$1" >/dev/null; true; }
pin_cli() { [ "$PIN" = split ] && taskset -a -p -c 1 "$1" >/dev/null; true; }

log() { echo "$*" >>"$LOG"; }
say() { echo "bench: [$(($(date +%s) - T_START)) s] $*"; log "== $*"; }

cpu_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8; exit}' /proc/stat; }
# fp_busy PID...: user+system ticks of the daemons' fast-path threads
# (named tas-fpN)
fp_busy()
{
	local p t n=0
	for p in "$@"; do
		for t in /proc/"$p"/task/*; do
			[[ $(cat "$t/comm" 2>/dev/null) == tas-fp* ]] || continue
			n=$((n + $(awk '{ print $14 + $15 }' "$t/stat")))
		done
	done
	echo "$n"
}
now_s() { date +%s.%N; }

# raw CONFIG REP METRIC VALUE
raw() { echo "$1,$2,$3,$4" >>"$RAW"; }

# last_count CONFIG: requests the last measured run of CONFIG completed (a
# run completes slightly more than --requests: requests in flight finish)
last_count() { awk -F, -v c="$1" '$1 == c && $3 == "count" { n = $4 } END { print n }' "$RAW"; }

wait_sock()
{
	for _ in $(seq 200); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- the two sides ----
tas_up()
{
	sb_tas $BENCH_TAS_OPTS || return 1
	pin_srv "$SB_TAS_PID"
	"${SRV[@]}" $EX/echo_server --port 7000 >>"$LOG" 2>&1 &
	ECHO_PID=$!
	SB_PIDS+=("$ECHO_PID")
	sleep 0.3
}

tas_down()
{
	[ -n "${ECHO_PID:-}" ] && kill "$ECHO_PID" 2>/dev/null
	ECHO_PID=
	tas2_down
	sb_stop_tas
	cat "$SB_DIR/tas.log" >>"$LOG" 2>/dev/null
	rm -f "$SB_DIR/tas.log"
}

# a second daemon in B, on the Linux side's link, for TAS<->TAS
tas2_up()
{
	ip netns exec "$SB_B" build/tas --nic "packet:$SB_IFB" \
		--ip "$IP_B_TAS/24" --socket "$SOCK2" $BENCH_TAS_OPTS \
		>>"$LOG" 2>&1 &
	TAS2_PID=$!
	SB_PIDS+=("$TAS2_PID")
	wait_sock "$SOCK2" || return 1
	pin_cli "$TAS2_PID"
}

tas2_down()
{
	if [ -n "${TAS2_PID:-}" ]; then
		kill "$TAS2_PID" 2>/dev/null
		wait "$TAS2_PID" 2>/dev/null
	fi
	TAS2_PID=
	rm -f "$SOCK2"
}

linux_up()
{
	ip -n "$SB_A" addr add "$SB_IP_A/24" dev "$SB_IFA" || return 1
	ip netns exec "$SB_A" "${SRV[@]}" $BB/kecho_server --port 7000 >>"$LOG" 2>&1 &
	KECHO_PID=$!
	SB_PIDS+=("$KECHO_PID")
	sleep 0.3
}

linux_down()
{
	[ -n "${KECHO_PID:-}" ] && kill "$KECHO_PID" 2>/dev/null
	KECHO_PID=
	ip -n "$SB_A" addr del "$SB_IP_A/24" dev "$SB_IFA" 2>/dev/null
}

# ---- one run of a request/response client ----
# rpc_sample CONFIG REP CMD...: REP "warm" is discarded. Records req_s,
# p50_us, p99_us, p999_us, cpu_us_per_req.
RPC_RE='([0-9]+) (requests|cycles) in ([0-9.]+) s, ([0-9.]+) [a-z]+/s, latency p50 ([0-9.]+) us, p99 ([0-9.]+) us, p99.9 ([0-9.]+) us'
rpc_sample()
{
	local cfg=$1 rep=$2 out rc c0 c1 cpu f0 f1
	shift 2
	c0=$(cpu_busy)
	[ -n "${FP_PIDS:-}" ] && f0=$(fp_busy $FP_PIDS)
	if [ -n "${RPC_MEM:-}" ]; then
		# sample memory while the client runs (scenario 7)
		mem_watch_start
		"$@" >"$SB_DIR/rpc.out" 2>&1 &
		local cpid=$! t=0
		while kill -0 "$cpid" 2>/dev/null; do
			mem_watch_sample
			sleep 0.2
			t=$((t + 1))
			if [ "$t" -gt $((${RPC_TIMEOUT:-$CMD_TIMEOUT} * 5)) ]; then
				kill "$cpid" 2>/dev/null
				break
			fi
		done
		wait "$cpid"
		rc=$?
		out=$(cat "$SB_DIR/rpc.out")
	else
		out=$(timeout -k 5 "$CMD_TIMEOUT" "$@" 2>&1)
		rc=$?
	fi
	c1=$(cpu_busy)
	[ -n "${FP_PIDS:-}" ] && f1=$(fp_busy $FP_PIDS)
	log "[$cfg $rep] $* -> rc $rc: $out"
	if [ "$rc" -ne 0 ] || ! [[ $out =~ $RPC_RE ]]; then
		echo "bench: $cfg run $rep failed (rc $rc): $(echo "$out" | tail -1)"
		raw "$cfg" "$rep" failed 1
		return 1
	fi
	[ "$rep" = warm ] && return 0
	cpu=$(awk -v c="$((c1 - c0))" -v hz="$HZ" -v n="${BASH_REMATCH[1]}" \
		'BEGIN { printf "%.3f", (n > 0 ? c / hz * 1e6 / n : 0) }')
	raw "$cfg" "$rep" count "${BASH_REMATCH[1]}"
	raw "$cfg" "$rep" req_s "${BASH_REMATCH[4]}"
	raw "$cfg" "$rep" p50_us "${BASH_REMATCH[5]}"
	raw "$cfg" "$rep" p99_us "${BASH_REMATCH[6]}"
	raw "$cfg" "$rep" p999_us "${BASH_REMATCH[7]}"
	raw "$cfg" "$rep" cpu_us_per_req "$cpu"
	# per daemon: every request crosses each daemon's fast path once
	[ -n "${FP_PIDS:-}" ] && raw "$cfg" "$rep" fp_us_per_req "$(awk \
		-v c="$((f1 - f0))" -v hz="$HZ" -v n="${BASH_REMATCH[1]}" \
		-v d="$(echo $FP_PIDS | wc -w)" \
		'BEGIN { printf "%.3f", (n > 0 ? c / hz * 1e6 / n / d : 0) }')"
	[ -n "${RPC_MEM:-}" ] && mem_watch_record "$cfg" "$rep"
	return 0
}

# rpc_config CONFIG CMD... : warm-up plus REPS runs of CMD --duration DUR
rpc_config()
{
	local cfg=$1 r
	shift
	rpc_sample "$cfg" warm "$@" --requests "$WARM_REQ" || return 1
	for r in $(seq "$REPS"); do
		rpc_sample "$cfg" "$r" "$@" --duration "$DUR"
	done
}

# ---- scenario 7: memory while a client runs ----
# TAS: the client-side daemon's Rss and Pss (smaps_rollup; the per-app
# segment is a sparse memfd: only resident pages count). Linux: kernel
# memory has no process: Slab (machine-wide, /proc/meminfo) plus socket
# buffer pages charged in namespace A (/proc/net/sockstat "mem").
# Each is the peak while the client runs minus the value just before it.
mem_now()
{
	if [ -n "${MEM_PID:-}" ]; then
		awk '/^Rss:/{r=$2} /^Pss:/{p=$2} END{print r, p}' \
			"/proc/$MEM_PID/smaps_rollup" 2>/dev/null
	else
		echo "$(awk '/^Slab:/{print $2}' /proc/meminfo)" \
			"$(sb_in_a awk '/^TCP:/{for (i = 1; i < NF; i++) if ($i == "mem") print $(i + 1) * 4}' /proc/net/sockstat)"
	fi
}
mem_watch_start()
{
	read -r MEM_A0 MEM_B0 <<<"$(mem_now)"
	MEM_A1=$MEM_A0 MEM_B1=$MEM_B0
}
mem_watch_sample()
{
	local a b
	read -r a b <<<"$(mem_now)"
	[ -n "$a" ] && [ "$a" -gt "$MEM_A1" ] && MEM_A1=$a
	[ -n "$b" ] && [ "$b" -gt "$MEM_B1" ] && MEM_B1=$b
}
mem_watch_record()
{
	local cfg=$1 rep=$2
	[ "$rep" = warm ] && return 0
	log "[$cfg $rep] memory (kB) before $MEM_A0/$MEM_B0 peak $MEM_A1/$MEM_B1 ($([ -n "${MEM_PID:-}" ] && echo daemon rss/pss || echo slab/sockstat))"
	if [ -n "${MEM_PID:-}" ]; then
		raw "$cfg" "$rep" rss_b_per_conn "$(((MEM_A1 - MEM_A0) * 1024 / RPC_MEM))"
		raw "$cfg" "$rep" pss_b_per_conn "$(((MEM_B1 - MEM_B0) * 1024 / RPC_MEM))"
		raw "$cfg" "$rep" rss_peak_kb "$MEM_A1"
	else
		raw "$cfg" "$rep" kmem_b_per_conn "$(((MEM_A1 - MEM_A0 + MEM_B1 - MEM_B0) * 1024 / RPC_MEM))"
	fi
}

KCLI() { echo ip netns exec "$SB_B" "${CLI[@]}" $BB/krpc_client; }

# ---- one bulk transfer ----
# bulk_sample CONFIG REP BYTES "RECV CMD" "SEND CMD": the receiver starts
# first; records gbps (receiver's report) and cpu_s_per_gb.
BLAST_RE='(received|sent) ([0-9]+) bytes in ([0-9.]+) s, ([0-9.]+) Gbit/s, (sha256 [0-9a-f]+|pattern checked)'
# listen_marks PORT: grows once a receiver listens on PORT (a kernel
# listener in A or B, or a daemon's "listens on port" log line)
listen_marks()
{
	local n
	n=$(cat "$SB_DIR/tas.log" "$LOG" 2>/dev/null |
		grep -c "listens on port $1\$")
	if sb_in_a ss -Hltn "sport = :$1" | grep -q . ||
		sb_in_b ss -Hltn "sport = :$1" | grep -q .; then
		n=$((n + 1000000))
	fi
	echo "$n"
}

bulk_sample()
{
	local cfg=$1 rep=$2 bytes=$3 recv=$4 send=$5 rpid c0 c1 rout sout
	local rf=$SB_DIR/bulk.recv sf=$SB_DIR/bulk.send rc_s rc_r gb sha_r
	local port=0 m0
	[[ $recv =~ --port\ ([0-9]+) ]] && port=${BASH_REMATCH[1]}
	m0=$(listen_marks "$port")
	c0=$(cpu_busy)
	timeout -k 5 "$CMD_TIMEOUT" $recv >"$rf" 2>&1 &
	rpid=$!
	for _ in $(seq 100); do
		[ "$(listen_marks "$port")" -gt "$m0" ] && break
		sleep 0.05
	done
	timeout -k 5 "$CMD_TIMEOUT" $send --bytes "$bytes" >"$sf" 2>&1
	rc_s=$?
	[ "$rc_s" -ne 0 ] && kill "$rpid" 2>/dev/null
	wait "$rpid"
	rc_r=$?
	c1=$(cpu_busy)
	rout=$(cat "$rf")
	sout=$(cat "$sf")
	log "[$cfg $rep] $recv | $send -> rc $rc_r/$rc_s: $rout / $sout"
	if [ "$rc_s" -ne 0 ] || [ "$rc_r" -ne 0 ] || ! [[ $rout =~ $BLAST_RE ]]; then
		echo "bench: $cfg run $rep failed (rc $rc_r/$rc_s)"
		raw "$cfg" "$rep" failed 1
		return 1
	fi
	gb=${BASH_REMATCH[4]}
	sha_r=${BASH_REMATCH[5]}
	if [ "${BASH_REMATCH[2]}" != "$bytes" ] || [[ $sout != *"$sha_r"* ]]; then
		echo "bench: $cfg run $rep: byte count or SHA-256 mismatch"
		raw "$cfg" "$rep" failed 1
		return 1
	fi
	[ "$rep" = warm ] && return 0
	raw "$cfg" "$rep" gbps "$gb"
	raw "$cfg" "$rep" cpu_s_per_gb "$(awk -v c="$((c1 - c0))" \
		-v hz="$HZ" -v b="$bytes" 'BEGIN { printf "%.4f", c / hz / (b / 1e9) }')"
}

bulk_config()
{
	local cfg=$1 recv=$2 send=$3 r
	bulk_sample "$cfg" warm "$WARM_BULK" "$recv" "$send" || return 1
	for r in $(seq "$REPS"); do
		bulk_sample "$cfg" "$r" "$BULK" "$recv" "$send"
	done
}

# ---- machine facts ----
facts()
{
	local f=$OUT/machine.txt
	{
		echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "commit: $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' (dirty tree)')"
		echo "cpu model: $(awk -F': *' '/^model name/{print $2; exit}' /proc/cpuinfo)"
		echo "cpus online: $(nproc)"
		echo "kernel: $(uname -sr)"
		echo "memory: $(awk '/^MemTotal/{printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
		echo "backend: packet (AF_PACKET) on veth between two namespaces, offloads off (tx, tso, gso, gro); wire (shared memory) for scenario 6"
		echo "daemon: build/tas --cores 1, defaults --idle-us 50 (polls 50 us after the last work, yielding the CPU between polls, then sleeps), --cc dctcp, --cc-interval 1ms${BENCH_TAS_OPTS:+, plus $BENCH_TAS_OPTS}"
		echo "pinning: $PIN (same policy for TAS and Linux)"
		echo "clients: flextcp rpc_client polls without sleeping, yielding the CPU after an empty poll; echo_server and blast sleep in flextcp_block; krpc_client and kecho_server sleep in epoll_wait; TCP_NODELAY on kernel sockets"
		echo "cpu accounting: /proc/stat user+nice+system+irq+softirq, all CPUs, USER_HZ $HZ"
		echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on this machine shows up as spread)"
		echo "mode: $([ "$SMOKE" = 1 ] && echo smoke || { [ "$QUICK" = 1 ] && echo quick || echo full; }), $REPS runs of ${DUR} s per configuration after one warm-up, bulk $BULK bytes"
	} >"$f"
	say "machine facts in $f"
	cat "$f"
}

# ---- scenarios ----
s1_latency()
{
	say "scenario 1: RPC latency, 64 B ping-pong, 1 connection"
	tas_up || return 1
	rpc_config s1_tas_srv $(KCLI) --ip "$SB_IP_A" --port 7000 --size 64
	if tas2_up; then
		rpc_config s1_tas_tas env TAS_SOCKET="$SOCK2" "${CLI[@]}" \
			$EX/rpc_client --ip "$SB_IP_A" --port 7000 --size 64
	else
		echo "bench: second daemon did not start"
	fi
	tas_down
	linux_up || return 1
	rpc_config s1_linux $(KCLI) --ip "$SB_IP_A" --port 7000 --size 64
	linux_down
}

# the quick run keeps 1 KB at 16 connections only (time budget)
s2_skip() { [ "$QUICK" = 1 ] && [ "$1" = 1024 ] && [ "$2" != 16 ]; }

s2_throughput()
{
	local s c
	say "scenario 2: RPC throughput, closed loop"
	tas_up || return 1
	for s in 64 1024; do
		for c in 1 16 256; do
			s2_skip "$s" "$c" && continue
			rpc_config "s2_tas_srv_${s}_$c" $(KCLI) --ip "$SB_IP_A" \
				--port 7000 --size "$s" --conns "$c"
		done
	done
	if [ "$QUICK" = 1 ]; then
		echo "bench: quick run: TAS<->TAS throughput is in the full run only"
	elif tas2_up; then
		for s in 64 1024; do
			for c in 1 16 256; do
				rpc_config "s2_tas_tas_${s}_$c" \
					env TAS_SOCKET="$SOCK2" "${CLI[@]}" \
					$EX/rpc_client --ip "$SB_IP_A" --port 7000 \
					--size "$s" --conns "$c"
			done
		done
	fi
	tas_down
	linux_up || return 1
	for s in 64 1024; do
		for c in 1 16 256; do
			s2_skip "$s" "$c" && continue
			rpc_config "s2_linux_${s}_$c" $(KCLI) --ip "$SB_IP_A" \
				--port 7000 --size "$s" --conns "$c"
		done
	done
	linux_down
}

s3_bulk()
{
	local kin="ip netns exec $SB_A ${SRV[*]} $BB/kblast"
	local kb="ip netns exec $SB_B ${CLI[*]} $BB/kblast"
	say "scenario 3: bulk, one flow each direction"
	sb_tas || return 1
	pin_srv "$SB_TAS_PID"
	# out: A sends to B; in: B sends to A. The peer in B is always kblast.
	bulk_config s3_tas_out "$kb recv --port 7101" \
		"${SRV[*]} $EX/blast send --ip $SB_IP_B --port 7101"
	bulk_config s3_tas_in "${SRV[*]} $EX/blast recv --port 7102" \
		"$kb send --ip $SB_IP_A --port 7102"
	# in, received into posted app buffers (docs/ZEROCOPY.md)
	bulk_config s3_tas_in_place \
		"${SRV[*]} $EX/blast recv --port 7105 --place" \
		"$kb send --ip $SB_IP_A --port 7105"
	tas_down
	ip -n "$SB_A" addr add "$SB_IP_A/24" dev "$SB_IFA" || return 1
	bulk_config s3_linux_out "$kb recv --port 7103" \
		"$kin send --ip $SB_IP_B --port 7103"
	bulk_config s3_linux_in "$kin recv --port 7104" \
		"$kb send --ip $SB_IP_A --port 7104"
	linux_down
}

s4_churn()
{
	local c=4
	say "scenario 4: connection churn, connect/request/close, $c in parallel"
	# the client closes first and keeps TIME_WAIT: a wide port range
	# and reuse keep the (bounded) run from running out of ports
	sb_in_b sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	sb_in_b sysctl -qw net.ipv4.tcp_tw_reuse=1
	tas_up || return 1
	rpc_config s4_tas_srv $(KCLI) --ip "$SB_IP_A" --port 7000 --size 64 \
		--conns "$c" --churn
	tas_down
	linux_up || return 1
	rpc_config s4_linux $(KCLI) --ip "$SB_IP_A" --port 7000 --size 64 \
		--conns "$c" --churn
	linux_down
}

# instructions per request of both wire daemons: perf stat where the CPU
# exposes counters, else callgrind (user-space instructions only)
ipr_method()
{
	local o
	o=$(perf stat -x, -e instructions true 2>&1 >/dev/null)
	if [ $? -eq 0 ] && [[ $o =~ ^[0-9]+,,?instructions ]]; then
		echo perf
	elif command -v valgrind >/dev/null && command -v callgrind_control >/dev/null; then
		echo callgrind
	else
		echo none
	fi
}

# wire_up [PREFIX...]: two daemons on one wire plus an echo server on #2
wire_up()
{
	W1=$SB_DIR/w1.sock W2=$SB_DIR/w2.sock
	"$@" build/tas --nic "wire:$WIRE_NAME" --ip 198.18.0.11/24 \
		--socket "$W1" $WIRE_OPTS >>"$LOG" 2>&1 &
	WP1=$!
	SB_PIDS+=("$WP1")
	wait_sock "$W1" || return 1
	"$@" build/tas --nic "wire:$WIRE_NAME" --ip 198.18.0.12/24 \
		--socket "$W2" $WIRE_OPTS >>"$LOG" 2>&1 &
	WP2=$!
	SB_PIDS+=("$WP2")
	wait_sock "$W2" || return 1
	pin_srv "$WP2"
	pin_cli "$WP1"
	TAS_SOCKET=$W2 "${SRV[@]}" $EX/echo_server --port 7000 >>"$LOG" 2>&1 &
	WECHO=$!
	SB_PIDS+=("$WECHO")
	sleep 0.3
}

wire_down()
{
	kill "$WECHO" 2>/dev/null
	kill "$WP1" "$WP2" 2>/dev/null
	wait "$WP1" "$WP2" "$WECHO" 2>/dev/null
	rm -f "$W1" "$W2" /dev/shm/tas-wire-"$WIRE_NAME"*
}

s6_wire()
{
	local m r out
	say "scenario 6: TAS<->TAS over the wire backend (no kernel)"
	WIRE_OPTS=
	wire_up || return 1
	for c in 1 16; do
		# the quick run keeps 16 connections only (time budget)
		[ "$QUICK" = 1 ] && [ "$c" = 1 ] && continue
		FP_PIDS="$WP1 $WP2" rpc_config "s6_wire_64_$c" \
			env TAS_SOCKET="$W1" "${CLI[@]}" \
			$EX/rpc_client --ip 198.18.0.12 --port 7000 --size 64 \
			--conns "$c"
	done
	# the stack's bulk cost: blast --pattern checks every byte by
	# comparison (SHA-256, at ~2 Gbit/s, would be the bottleneck)
	bulk_config s6_wire_bulk \
		"env TAS_SOCKET=$W2 ${SRV[*]} $EX/blast recv --port 7001 --pattern" \
		"env TAS_SOCKET=$W1 ${CLI[*]} $EX/blast send --ip 198.18.0.12 --port 7001 --pattern"
	wire_down
	WIRE_OPTS="--mtu 9000"
	wire_up || return 1
	bulk_config s6_wire_bulk_9k \
		"env TAS_SOCKET=$W2 ${SRV[*]} $EX/blast recv --port 7001 --pattern" \
		"env TAS_SOCKET=$W1 ${CLI[*]} $EX/blast send --ip 198.18.0.12 --port 7001 --pattern"
	wire_down
	WIRE_OPTS=
	for r in $(seq "$REPS"); do
		out=$(timeout 60 $BB/memcpy_bw --ms "$MEMCPY_MS")
		log "[memcpy $r] $out"
		raw s6_ceiling "$r" memcpy_ring_gbps "$(echo "$out" | awk '/memcpy 131072 /{print $(NF-1)}')"
		raw s6_ceiling "$r" memcpy_large_gbps "$(echo "$out" | awk '/memcpy 67108864 /{print $(NF-1)}')"
		raw s6_ceiling "$r" sha256_gbps "$(echo "$out" | awk '/sha256/{print $(NF-1)}')"
	done

	m=$(ipr_method)
	echo "ipr_method: $m" >>"$OUT/machine.txt"
	say "instructions per request: $m"
	case $m in
	perf)
		WIRE_OPTS=
		wire_up || return 1
		rpc_sample s6_ipr warm env TAS_SOCKET="$W1" $EX/rpc_client \
			--ip 198.18.0.12 --port 7000 --conns 16 --requests "$WARM_REQ"
		perf stat -x, -e instructions -p "$WP1,$WP2" -o "$SB_DIR/perf.out" &
		local pp=$!
		sleep 0.2
		if rpc_sample s6_ipr_run 1 env TAS_SOCKET="$W1" $EX/rpc_client \
			--ip 198.18.0.12 --port 7000 --conns 16 \
			--requests "$IPR_REQ"; then
			kill -INT "$pp"
			wait "$pp"
			cat "$SB_DIR/perf.out" >>"$LOG"
			raw s6_ipr 1 instr_per_req "$(awk -F, \
				-v n="$(last_count s6_ipr_run)" \
				'$3 ~ /instructions/ && $1 ~ /^[0-9]+$/ { s += $1 } END { if (s) printf "%.0f", s / n }' \
				"$SB_DIR/perf.out")"
		else
			kill -INT "$pp"
			wait "$pp"
		fi
		wire_down
		;;
	callgrind)
		# --idle-us 0: a daemon sleeps as soon as it finds no work, so
		# the count is work, not spinning; counters are zeroed after the
		# warm-up and dumped after the measured requests
		WIRE_OPTS="--idle-us 0"
		wire_up valgrind --tool=callgrind \
			--callgrind-out-file="$SB_DIR/cg.%p" || return 1
		rpc_sample s6_ipr warm env TAS_SOCKET="$W1" $EX/rpc_client \
			--ip 198.18.0.12 --port 7000 --conns 16 \
			--requests "$WARM_REQ"
		callgrind_control -z "$WP1" >>"$LOG" 2>&1
		callgrind_control -z "$WP2" >>"$LOG" 2>&1
		if rpc_sample s6_ipr_run 1 env TAS_SOCKET="$W1" $EX/rpc_client \
			--ip 198.18.0.12 --port 7000 --conns 16 \
			--requests "$IPR_REQ"; then
			callgrind_control -d "$WP1" >>"$LOG" 2>&1
			callgrind_control -d "$WP2" >>"$LOG" 2>&1
			sleep 0.5
			raw s6_ipr 1 instr_per_req "$(cat "$SB_DIR"/cg.*.1 \
				2>/dev/null | awk -v n="$(last_count s6_ipr_run)" \
				'/^totals:/ { s += $2 }
				 END { if (s && n) printf "%.0f", s / n }')"
		fi
		wire_down
		;;
	*) ;;
	esac
}

# ---- smoke (BENCH_SMOKE=1): latency and bulk, TAS and Linux, short ----
s1_latency_smoke()
{
	say "smoke: scenario 1 latency, 64 B ping-pong, 1 connection"
	tas_up || return 1
	rpc_config s1_tas_srv $(KCLI) --ip "$SB_IP_A" --port 7000 --size 64
	tas_down
	linux_up || return 1
	rpc_config s1_linux $(KCLI) --ip "$SB_IP_A" --port 7000 --size 64
	linux_down
}

s3_bulk_smoke()
{
	local kin="ip netns exec $SB_A $BB/kblast"
	local kb="ip netns exec $SB_B $BB/kblast"
	say "smoke: scenario 3 bulk, one flow B->A"
	sb_tas || return 1
	bulk_config s3_tas_in "$EX/blast recv --port 7102" \
		"$kb send --ip $SB_IP_A --port 7102"
	tas_down
	ip -n "$SB_A" addr add "$SB_IP_A/24" dev "$SB_IFA" || return 1
	bulk_config s3_linux_in "$kin recv --port 7104" \
		"$kb send --ip $SB_IP_A --port 7104"
	linux_down
}

# ---- scenario 5: unmodified programs under LD_PRELOAD ----
PRE=$PWD/build/libtas_interpose.so
SP_PORT=65111 # above the 1024-65000 ephemeral range scenario 4 sets in B
RB_PORT=6390

# wait_tcp NS_CMD IP PORT: until something accepts there (10 s at most)
wait_tcp()
{
	local i
	for i in $(seq 100); do
		"$@" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
tcp_open() { timeout 1 bash -c "exec 3<>/dev/tcp/$1/$2"; }

# sp_sample CONFIG REP CLIENT_PREFIX... : one sockperf ping-pong run against
# the server at $SP_IP; records p50/p99/p99.9 (full round trip, µs),
# msg_s and cpu_us_per_msg
SP_PCT='percentile ([0-9.]+) = +([0-9.]+)'
sp_sample()
{
	local cfg=$1 rep=$2 out rc c0 c1 n secs p50 p99 p999
	shift 2
	c0=$(cpu_busy)
	out=$(timeout -k 5 $((S5_SP + 30)) "$@" sockperf ping-pong --tcp \
		-i "$SP_IP" -p "$SP_PORT" -t "$S5_SP" -m 64 --full-rtt 2>&1)
	rc=$?
	c1=$(cpu_busy)
	log "[$cfg $rep] sockperf -> rc $rc: $out"
	n=$(echo "$out" | sed -n 's/.*ReceivedMessages=\([0-9]*\).*/\1/p' | tail -1)
	secs=$(echo "$out" | sed -n 's/.*RunTime=\([0-9.]*\) sec.*/\1/p' | tail -1)
	p50=$(echo "$out" | awk '/percentile 50.000 =/{print $NF}')
	p99=$(echo "$out" | awk '/percentile 99.000 =/{print $NF}')
	p999=$(echo "$out" | awk '/percentile 99.900 =/{print $NF}')
	if [ "$rc" -ne 0 ] || [ -z "$n" ] || [ -z "$p50" ] || [ -z "$secs" ]; then
		echo "bench: $cfg run $rep failed (rc $rc): $(echo "$out" | tail -1)"
		raw "$cfg" "$rep" failed 1
		return 1
	fi
	[ "$rep" = warm ] && return 0
	raw "$cfg" "$rep" p50_us "$p50"
	raw "$cfg" "$rep" p99_us "$p99"
	raw "$cfg" "$rep" p999_us "$p999"
	raw "$cfg" "$rep" req_s "$(awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", n / s }')"
	raw "$cfg" "$rep" cpu_us_per_req "$(awk -v c="$((c1 - c0))" -v hz="$HZ" \
		-v n="$n" 'BEGIN { printf "%.3f", c / hz * 1e6 / n }')"
}

sp_config()
{
	local cfg=$1 r
	shift
	for r in $(seq "$S5_REPS"); do
		sp_sample "$cfg" "$r" "$@"
	done
}

# rb_sample CONFIG REP TEST: redis-benchmark -t TEST from namespace B
# against the redis-server at $SB_IP_A; records req_s, p50/p99 (µs) and
# cpu_us_per_req
rb_sample()
{
	local cfg=$1 rep=$2 t=$3 out rc c0 c1 line
	c0=$(cpu_busy)
	out=$(sb_in_b timeout -k 5 120 redis-benchmark -h "$SB_IP_A" \
		-p "$RB_PORT" -t "$t" -n "$S5_RB" -c 50 -d 64 -P 1 --csv 2>&1)
	rc=$?
	c1=$(cpu_busy)
	log "[$cfg $rep] redis-benchmark -t $t -> rc $rc: $out"
	line=$(echo "$out" | grep -i "^\"$t\"" | tail -1 | tr -d '"')
	if [ "$rc" -ne 0 ] || [ -z "$line" ] ||
		echo "$out" | grep -qiE "error|refused|reset"; then
		echo "bench: $cfg run $rep failed (rc $rc): $(echo "$out" | tail -1)"
		raw "$cfg" "$rep" failed 1
		return 1
	fi
	[ "$rep" = warm ] && return 0
	# test,rps,avg,min,p50,p95,p99,max (ms)
	raw "$cfg" "$rep" req_s "$(echo "$line" | cut -d, -f2)"
	raw "$cfg" "$rep" p50_us "$(echo "$line" | awk -F, '{ printf "%.0f", $5 * 1000 }')"
	raw "$cfg" "$rep" p99_us "$(echo "$line" | awk -F, '{ printf "%.0f", $7 * 1000 }')"
	raw "$cfg" "$rep" cpu_us_per_req "$(awk -v c="$((c1 - c0))" -v hz="$HZ" \
		-v n="$S5_RB" 'BEGIN { printf "%.3f", c / hz * 1e6 / n }')"
}

rb_configs()
{
	local side=$1 t r
	for t in set get; do
		rb_sample "s5_rb_${side}_$t" warm "$t"
		for r in $(seq "$S5_REPS"); do
			rb_sample "s5_rb_${side}_$t" "$r" "$t"
		done
	done
}

s5_programs()
{
	local pid
	say "scenario 5: unmodified programs, sockperf ping-pong and redis-benchmark, under LD_PRELOAD vs Linux"
	if [ ! -f "$PRE" ]; then
		echo "bench: $PRE missing: scenario 5 skipped"
		return 1
	fi
	for p in sockperf redis-server redis-benchmark; do
		command -v $p >/dev/null || echo "bench: $p not installed (ci/deps-sockets.txt): its rows stay empty"
	done
	sb_tas || return 1
	pin_srv "$SB_TAS_PID"
	if command -v sockperf >/dev/null; then
		# server under TAS in A, Linux client in B
		LD_PRELOAD=$PRE "${SRV[@]}" sockperf server --tcp -i 0.0.0.0 \
			-p "$SP_PORT" >>"$LOG" 2>&1 &
		pid=$!
		SB_PIDS+=("$pid")
		SP_IP=$SB_IP_A
		wait_tcp sb_in_b tcp_open "$SP_IP" "$SP_PORT"
		sp_config s5_sp_tas_srv ip netns exec "$SB_B" "${CLI[@]}"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		# the reverse: client under TAS in A, Linux server in B
		ip netns exec "$SB_B" "${CLI[@]}" sockperf server --tcp -i "$SB_IP_B" \
			-p "$SP_PORT" >>"$LOG" 2>&1 &
		pid=$!
		SB_PIDS+=("$pid")
		SP_IP=$SB_IP_B
		wait_tcp sb_in_b tcp_open "$SP_IP" "$SP_PORT"
		sp_config s5_sp_tas_cli env LD_PRELOAD="$PRE" "${SRV[@]}"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
		say "scenario 5: redis-server under LD_PRELOAD"
		LD_PRELOAD=$PRE "${SRV[@]}" redis-server --port "$RB_PORT" \
			--bind 0.0.0.0 --save "" --appendonly no \
			--protected-mode no --dir "$SB_DIR" >>"$LOG" 2>&1 &
		pid=$!
		SB_PIDS+=("$pid")
		wait_tcp sb_in_b tcp_open "$SB_IP_A" "$RB_PORT"
		rb_configs tas
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	tas_down
	say "scenario 5: the same programs on Linux"
	ip -n "$SB_A" addr add "$SB_IP_A/24" dev "$SB_IFA" || return 1
	if command -v sockperf >/dev/null; then
		ip netns exec "$SB_A" "${SRV[@]}" sockperf server --tcp -i 0.0.0.0 \
			-p "$SP_PORT" >>"$LOG" 2>&1 &
		pid=$!
		SB_PIDS+=("$pid")
		SP_IP=$SB_IP_A
		wait_tcp sb_in_b tcp_open "$SP_IP" "$SP_PORT"
		sp_config s5_sp_linux ip netns exec "$SB_B" "${CLI[@]}"
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	if command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null; then
		ip netns exec "$SB_A" "${SRV[@]}" redis-server --port "$RB_PORT" \
			--bind 0.0.0.0 --save "" --appendonly no \
			--protected-mode no --dir "$SB_DIR" >>"$LOG" 2>&1 &
		pid=$!
		SB_PIDS+=("$pid")
		wait_tcp sb_in_b tcp_open "$SB_IP_A" "$RB_PORT"
		rb_configs linux
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	linux_down
}

# ---- scenario 7: scale ----
# The client side carries the connections: rpc_client on the daemon in A
# vs krpc_client on the kernel in A, against kecho_server (Linux) in B for
# both, 64 B closed loop. The daemon gets --app-conns and --max-flows for
# the largest count; file limits are raised for the kernel side.
S7_PORT=65200 # above the ephemeral range (TIME_WAIT of scenario 4)
s7_scale()
{
	local c max=1 kpid r
	for c in $S7_CONNS; do [ "$c" -gt "$max" ] && max=$c; done
	say "scenario 7: scale, $S7_CONNS connections, 64 B closed loop"
	# each kernel process holds one descriptor per connection
	if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((max + 1024)) ]; then
		ulimit -n $((max + 1024)) 2>/dev/null ||
			echo "bench: cannot raise ulimit -n to $((max + 1024)) (hard limit $(ulimit -Hn)): the largest Linux counts will fail"
	fi
	log "ulimit -n $(ulimit -n)"
	sb_in_b sysctl -qw net.core.somaxconn=65535
	sb_in_b sysctl -qw net.ipv4.tcp_max_syn_backlog=65535
	sb_in_a sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	ip netns exec "$SB_B" "${SRV[@]}" $BB/kecho_server --port "$S7_PORT" >>"$LOG" 2>&1 &
	kpid=$!
	SB_PIDS+=("$kpid")
	sleep 0.3
	# closed connections stay in TIME_WAIT on the client side: room for
	# every run of the largest count
	sb_tas --app-conns $((max + 64)) \
		--max-flows $((max * (S7_REPS + 2) + 4096)) || return 1
	pin_cli "$SB_TAS_PID"
	MEM_PID=$SB_TAS_PID
	log "daemon before scenario 7: $(grep -E '^(Rss|Pss)' /proc/$SB_TAS_PID/smaps_rollup | tr -s ' \n' ' ')"
	for c in $S7_CONNS; do
		RPC_TIMEOUT=150 RPC_MEM=$c rpc_sample "s7_tas_$c" warm "${CLI[@]}" \
			$EX/rpc_client --ip "$SB_IP_B" --port "$S7_PORT" \
			--size 64 --conns "$c" --requests "$((c * 2 + WARM_REQ))" ||
			continue
		for r in $(seq "$S7_REPS"); do
			RPC_TIMEOUT=150 RPC_MEM=$c rpc_sample "s7_tas_$c" "$r" "${CLI[@]}" \
				$EX/rpc_client --ip "$SB_IP_B" \
				--port "$S7_PORT" --size 64 --conns "$c" \
				--duration "$DUR"
		done
	done
	MEM_PID=
	tas_down
	ip -n "$SB_A" addr add "$SB_IP_A/24" dev "$SB_IFA" || return 1
	for c in $S7_CONNS; do
		RPC_TIMEOUT=150 RPC_MEM=$c rpc_sample "s7_linux_$c" warm ip netns exec "$SB_A" "${CLI[@]}" \
			$BB/krpc_client --ip "$SB_IP_B" --port "$S7_PORT" \
			--size 64 --conns "$c" --requests "$((c * 2 + WARM_REQ))" ||
			continue
		for r in $(seq "$S7_REPS"); do
			RPC_TIMEOUT=150 RPC_MEM=$c rpc_sample "s7_linux_$c" "$r" \
				ip netns exec "$SB_A" \
				"${CLI[@]}" $BB/krpc_client --ip "$SB_IP_B" \
				--port "$S7_PORT" --size 64 --conns "$c" \
				--duration "$DUR"
		done
	done
	linux_down
	kill "$kpid" 2>/dev/null
}

# ---- run ----
want() { [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]; }
facts
if [ "$SMOKE" = 1 ]; then
	# smoke: one short run each of latency and bulk, TAS and Linux
	s1_latency_smoke
	s3_bulk_smoke
else
	want 1 && s1_latency
	want 2 && s2_throughput
	want 3 && s3_bulk
	want 4 && s4_churn
	if [ "$QUICK" = 1 ]; then
		echo "bench: quick run: scenario 5 is in the full run only"
	else
		want 5 && s5_programs
	fi
	want 6 && s6_wire
	want 7 && s7_scale
fi
say "measured in $(($(date +%s) - T_START)) s"
echo "elapsed_s: $(($(date +%s) - T_START))" >>"$OUT/machine.txt"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"

if ! "$PY" -c 'import matplotlib' 2>/dev/null; then
	echo "bench: /usr/bin/python3 has no matplotlib (apt-get install python3-matplotlib): plots skipped"
fi
"$PY" tests/bench/report.py "$OUT"
