#!/usr/bin/env bash
# needs: root
# sockets.sh - unmodified Debian programs under
# LD_PRELOAD=build/libtas_interpose.so against Linux peers in the other
# namespace: socat both ways (SHA-256), redis with redis-benchmark and a
# BGSAVE mid-load (values checked with redis-cli), nginx (edge-triggered
# epoll, sendfile) and lighttpd serving 50 MB to curl and wrk, curl under
# TAS fetching from Linux nginx and lighttpd, memcached -t 2 with every
# value verified, iperf3 both directions, sockperf ping-pong both ways,
# no-daemon and TAS_FALLBACK behaviour, closing a listening socket (python3:
# RST afterwards, listen again), no busy spinning while idle; then every
# program test again (program_tests, smaller loads, other ports) with faults
# injected on the daemon (--fault drop=0.01,reorder=0.01).
# Programs come from ci/deps-sockets.txt; a missing one is a visible skip.
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
. ci/sandbox.sh

PRE=$PWD/build/libtas_interpose.so
W=$SB_DIR/sockets
BIG=$((50 * 1024 * 1024))

trap 'sb_down' EXIT
if [ ! -f "$PRE" ]; then
	t_skip setup "build/libtas_interpose.so not built (run make)"
	t_summary
	exit 1
fi
if ! sb_up; then
	t_skip setup "cannot create network namespaces"
	t_summary
	exit 1
fi
mkdir -p "$W/www" "$W/redis" "$W/nginx" "$W/nginxb" "$W/lt" "$W/ltb"
export TAS_SOCKET=$SB_SOCK

t_run "daemon starts on packet:$SB_IFA" sb_tas

# tas_bg LOG CMD...: start server CMD under the shim in the background;
# its pid (the server itself, no wrapper, so kill reaches it) lands in BG
# and SB_PIDS, so the sandbox kills it on exit. lin_bg: the same in $SB_B
# (ip netns exec execs the server). Every test stops its servers.
tas_bg()
{
	local log=$1
	shift
	LD_PRELOAD=$PRE "$@" >"$log" 2>&1 &
	BG=$!
	SB_PIDS+=("$BG")
}
lin_bg()
{
	local log=$1
	shift
	ip netns exec "$SB_B" "$@" >"$log" 2>&1 &
	BG=$!
	SB_PIDS+=("$BG")
}
stop() { kill "$@" 2>/dev/null; wait "$@" 2>/dev/null; return 0; }
# wait_pid PID SECONDS: wait for PID to exit, kill it after SECONDS
wait_pid()
{
	local i
	for i in $(seq $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	stop "$1"
}
sha() { sha256sum | cut -d' ' -f1; }
# wait_port NS HOST PORT: until something accepts there (10 s at most)
wait_port()
{
	local i
	for i in $(seq 100); do
		if [ "$1" = b ]; then
			sb_in_b timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" \
				2>/dev/null && return 0
		else
			timeout 1 bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null &&
				return 0
		fi
		sleep 0.1
	done
	return 1
}
# run_or_skip NAME PROG... -- FUNC: skip visibly if a program is missing
run_or_skip()
{
	local name=$1 p
	shift
	while [ "$1" != -- ]; do
		p=$1
		shift
		if ! command -v "$p" >/dev/null 2>&1; then
			t_skip "$name" "$p not installed (ci/deps-sockets.txt)"
			return
		fi
	done
	shift
	t_run "$name" "$@"
}

head -c $BIG /dev/urandom >"$W/www/big.bin"
head -c $((8 * 1024 * 1024)) /dev/urandom >"$W/www/mid.bin"
head -c 8388608 /dev/urandom >"$W/in8.bin"
echo "<html>tas</html>" >"$W/www/index.html"
IN_SHA=$(sha <"$W/in8.bin")
declare -A FSHA
FSHA[big.bin]=$(sha <"$W/www/big.bin")
FSHA[mid.bin]=$(sha <"$W/www/mid.bin")

# Loads of the program tests; fault_loads makes them smaller for the pass
# with faults. PO offsets every port of the program tests, so the second
# pass never meets a 4-tuple of the first in TIME_WAIT.
PO=0 PFX="" HFILE=big.bin HN=3 WRK_S=3 RB_N=100000 RB2_N=50000 MC_C=20
MC_K=200 PERF_S=3 BGSAVE_AFTER=1
fault_loads()
{
	PO=100 PFX="faults: " HFILE=mid.bin HN=1 WRK_S=2 RB_N=20000
	RB2_N=10000 MC_C=10 MC_K=100 PERF_S=2 BGSAVE_AFTER=0.3
}

# ---- socat ----
t_socat_out()
{
	lin_bg "$W/socat1.log" socat -u TCP-LISTEN:$((9001 + PO)),reuseaddr \
		OPEN:"$W/out1.bin",creat,trunc
	local pid=$BG
	sleep 0.3
	LD_PRELOAD=$PRE timeout 60 socat -u OPEN:"$W/in8.bin" \
		TCP:"$SB_IP_B":$((9001 + PO)) || return 1
	wait_pid "$pid" 60
	echo "sent $IN_SHA, Linux got $(sha <"$W/out1.bin")"
	[ "$(sha <"$W/out1.bin")" = "$IN_SHA" ]
}

t_socat_in()
{
	tas_bg "$W/socat2.log" socat -u TCP-LISTEN:$((9002 + PO)),reuseaddr \
		OPEN:"$W/out2.bin",creat,trunc
	local pid=$BG
	sleep 0.5
	sb_in_b timeout 60 socat -u OPEN:"$W/in8.bin" \
		TCP:"$SB_IP_A":$((9002 + PO)) || return 1
	wait_pid "$pid" 60
	echo "sent $IN_SHA, tas socat got $(sha <"$W/out2.bin")"
	[ "$(sha <"$W/out2.bin")" = "$IN_SHA" ]
}

t_socat_echo()
{
	# socat forks a child for EXEC: the child must not disturb the parent
	tas_bg "$W/socat3.log" socat TCP-LISTEN:$((9003 + PO)),reuseaddr \
		EXEC:cat
	local pid=$BG
	sleep 0.5
	sb_in_b timeout 60 socat -t 5 - TCP:"$SB_IP_A":$((9003 + PO)) \
		<"$W/in8.bin" >"$W/out3.bin" || return 1
	stop "$pid"
	echo "echoed $(stat -c %s "$W/out3.bin") bytes"
	[ "$(sha <"$W/out3.bin")" = "$IN_SHA" ]
}

t_refused()
{
	local out
	out=$(LD_PRELOAD=$PRE timeout 10 socat -u /dev/null \
		TCP:"$SB_IP_B":9099 2>&1)
	echo "$out"
	echo "$out" | grep -q "Connection refused"
}
run_or_skip "connect to a closed Linux port: ECONNREFUSED" socat -- t_refused

t_no_daemon()
{
	local out rc start=$SECONDS
	out=$(TAS_SOCKET=$W/none.sock LD_PRELOAD=$PRE timeout 10 socat -u \
		/dev/null TCP:"$SB_IP_B":9001 2>&1)
	rc=$?
	echo "$out"
	echo "exit $rc after $((SECONDS - start)) s"
	[ $rc -ne 0 ] && [ $rc -ne 124 ] &&
		echo "$out" | grep -q "libtas: cannot reach the tas daemon"
}
run_or_skip "no daemon: the first TCP call fails with one clear line" socat \
	-- t_no_daemon

t_fallback()
{
	lin_bg "$W/socat4.log" socat -u TCP-LISTEN:9004,reuseaddr \
		OPEN:"$W/out4.bin",creat,trunc
	local pid=$BG
	sleep 0.3
	sb_in_b env TAS_SOCKET="$W/none.sock" TAS_FALLBACK=1 LD_PRELOAD="$PRE" \
		timeout 30 socat -u OPEN:"$W/in8.bin" TCP:"$SB_IP_B":9004 ||
		return 1
	wait_pid "$pid" 60
	[ "$(sha <"$W/out4.bin")" = "$IN_SHA" ]
}
run_or_skip "TAS_FALLBACK=1 without a daemon uses the kernel" socat \
	-- t_fallback

# ---- closing a listening socket (flextcp_listen_close) ----
# A python3 server under tas accepts one connection, closes its listening
# socket, keeps serving the accepted connection, then listens on the same
# port again. A Linux python3 client checks each step: while nothing
# listens, the daemon refuses new connections with RST (ECONNREFUSED, not a
# timeout). The daemon answers listen/close before its cores apply them, so
# for a moment handshakes may still complete (or be refused after listen):
# those must be closed by libtas, and the RST must come within 2 s.
t_listen_close()
{
	local pid
	cat >"$W/lc_server.py" <<'EOF'
import socket, sys
port, log = int(sys.argv[1]), sys.argv[2]
def note(s):
    with open(log, "a") as f:
        f.write(s + "\n")
def listen():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8)
    return s
s = listen()
note("L1")
c, _ = s.accept()
c.sendall(b"hello1\n")
s.close()
note("CLOSED")
data = c.recv(16)
c.sendall(b"echo:" + data)
c.close()
s = listen()
note("L2")
c, _ = s.accept()
c.sendall(b"hello2\n")
c.close()
s.close()
note("DONE")
EOF
	cat >"$W/lc_client.py" <<'EOF'
import socket, sys, time
ip, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def wait_for(word):
    for _ in range(200):
        try:
            if word in open(log).read().split():
                return
        except FileNotFoundError:
            pass
        time.sleep(0.05)
    sys.exit("server never said " + word)
def conn():
    return socket.create_connection((ip, port), timeout=5)
def conn_listening():
    t = time.monotonic()
    while True:
        try:
            return conn(), time.monotonic() - t
        except ConnectionRefusedError:
            if time.monotonic() - t > 2:
                raise
            time.sleep(0.01)
wait_for("L1")
c, _ = conn_listening()
assert c.makefile("rb").readline() == b"hello1\n"
print("connected while listening: hello1")
wait_for("CLOSED")
# The daemon answers a listener change before its cores apply it, so for a
# moment a core may still complete a handshake: libtas must close those.
t, late = time.monotonic(), 0
while True:
    try:
        d = conn()
    except ConnectionRefusedError:
        break
    try:
        got = d.recv(16)
    except ConnectionResetError:
        got = b""
    assert got == b"", "a connection to the closed listener was served"
    d.close()
    late += 1
    if time.monotonic() - t > 2:
        sys.exit("still completing handshakes 2 s after the close")
    time.sleep(0.01)
print("after close: refused (RST) after %.3f s (%d late handshakes closed "
      "by libtas)" % (time.monotonic() - t, late))
c.sendall(b"ping")
assert c.recv(16) == b"echo:ping", "accepted connection broke"
print("accepted connection still open: echo:ping")
wait_for("L2")
c2, dt = conn_listening()
assert c2.makefile("rb").readline() == b"hello2\n"
print("listening again on the same port: hello2 (after %.3f s)" % dt)
EOF
	rm -f "$W/lc.log"
	tas_bg "$W/lc_server.out" /usr/bin/python3 "$W/lc_server.py" 9005 \
		"$W/lc.log"
	pid=$BG
	sb_in_b timeout 30 /usr/bin/python3 "$W/lc_client.py" "$SB_IP_A" 9005 \
		"$W/lc.log" || {
		cat "$W/lc_server.out"
		stop "$pid"
		return 1
	}
	wait_pid "$pid" 10
	grep -q DONE "$W/lc.log"
}
run_or_skip "close of a listening socket under tas: RST for new \
connections, accepted one stays, listen again works" /usr/bin/python3 \
	-- t_listen_close

# ---- redis ----
t_redis()
{
	local pid out v ok=0 i port=$((6390 + PO))
	tas_bg "$W/redis.log" redis-server --port $port --bind 0.0.0.0 \
		--save "" --appendonly no --protected-mode no --dir "$W/redis"
	pid=$BG
	wait_port a "$SB_IP_A" $port || sb_in_b timeout 5 redis-cli \
		-h "$SB_IP_A" -p $port ping
	sb_in_b timeout 120 redis-benchmark -h "$SB_IP_A" -p $port \
		-t set,get,lpush,lpop -n $RB_N -c 50 -P 16 -q \
		>"$W/rb.out" 2>&1 &
	local bp=$!
	sleep $BGSAVE_AFTER
	sb_in_b timeout 10 redis-cli -h "$SB_IP_A" -p $port bgsave
	wait $bp || {
		cat "$W/rb.out"
		stop "$pid"
		return 1
	}
	tr '\r' '\n' <"$W/rb.out" | grep "requests per second"
	if grep -qiE "error|refused|reset" "$W/rb.out"; then
		grep -iE "error|refused|reset" "$W/rb.out" | head -3
		stop "$pid"
		return 1
	fi
	for i in $(seq 1 500); do
		echo "SET key:$i v$i-$(printf '%0200d' "$i")"
	done | sb_in_b timeout 30 redis-cli -h "$SB_IP_A" -p $port >/dev/null
	for i in 1 2 77 250 499 500; do
		v=$(sb_in_b timeout 10 redis-cli -h "$SB_IP_A" -p $port \
			GET key:$i)
		[ "$v" = "v$i-$(printf '%0200d' "$i")" ] && ok=$((ok + 1))
	done
	# the BGSAVE may still run when the load was short
	for i in $(seq 50); do
		out=$(sb_in_b timeout 10 redis-cli -h "$SB_IP_A" -p $port \
			info persistence | tr -d '\r')
		echo "$out" | grep -q "rdb_bgsave_in_progress:0" && break
		sleep 0.1
	done
	out=$(echo "$out" | grep rdb_last_bgsave_status)
	echo "values verified: $ok/6, $out"
	grep -E "Background saving" "$W/redis.log"
	stop "$pid"
	[ $ok -eq 6 ] && [ "$out" = "rdb_last_bgsave_status:ok" ]
}

t_redis_client()
{
	local pid port=$((6391 + PO))
	lin_bg "$W/redisb.log" redis-server --port $port --bind "$SB_IP_B" \
		--save "" --appendonly no --protected-mode no --dir "$W/redis"
	pid=$BG
	wait_port b "$SB_IP_B" $port
	LD_PRELOAD=$PRE timeout 120 redis-benchmark -h "$SB_IP_B" -p $port \
		-t set,get -n $RB2_N -c 20 -P 16 -q >"$W/rb2.out" 2>&1
	local rc=$?
	tr '\r' '\n' <"$W/rb2.out" | grep "requests per second"
	stop "$pid"
	[ $rc -eq 0 ] && ! grep -qiE "error|refused|reset" "$W/rb2.out"
}

# ---- HTTP: nginx and lighttpd ----
nginx_conf()
{
	# $1 dir, $2 listen
	cat >"$1/nginx.conf" <<EOC
daemon off;
master_process off;
worker_processes 1;
error_log $1/error.log;
pid $1/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $1;
  proxy_temp_path $1;
  fastcgi_temp_path $1;
  uwsgi_temp_path $1;
  scgi_temp_path $1;
  server { listen $2; root $W/www; }
}
EOC
}
lighttpd_conf()
{
	# $1 dir, $2 bind, $3 port
	cat >"$1/lighttpd.conf" <<EOC
server.document-root = "$W/www"
server.port = $3
server.bind = "$2"
server.errorlog = "$1/error.log"
server.pid-file = "$1/lighttpd.pid"
server.modules = ()
EOC
}

# http_check URL: Linux curl ($HFILE, SHA-256, $HN times) and wrk
http_check()
{
	local i got out want=${FSHA[$HFILE]}
	for i in $(seq $HN); do
		got=$(sb_in_b timeout 60 curl -sf "$1/$HFILE" | sha)
		[ "$got" = "$want" ] || {
			echo "fetch $i: sha $got, want $want"
			return 1
		}
	done
	echo "$HN x $HFILE fetched, SHA-256 $want"
	sb_in_b timeout 60 curl -s -o /dev/null -w \
		"curl: %{http_code} %{size_download} bytes %{speed_download} B/s\n" \
		"$1/$HFILE"
	if command -v wrk >/dev/null; then
		out=$(sb_in_b timeout 30 wrk -t 2 -c 20 -d $WRK_S \
			"$1/index.html")
		echo "$out" | grep -E "Requests/sec|requests in|Socket errors|Non-2xx"
		echo "$out" | grep -q "requests in" || return 1
		! echo "$out" | grep -qE "Socket errors|Non-2xx"
	fi
}

t_nginx()
{
	local pid rc port=$((8080 + PO))
	nginx_conf "$W/nginx" $port
	tas_bg "$W/nginx.out" nginx -c "$W/nginx/nginx.conf" -p "$W/nginx"
	pid=$BG
	wait_port a "$SB_IP_A" $port
	http_check "http://$SB_IP_A:$port"
	rc=$?
	stop "$pid"
	return $rc
}

t_lighttpd()
{
	local pid rc port=$((8090 + PO))
	lighttpd_conf "$W/lt" 0.0.0.0 $port
	tas_bg "$W/lt.out" lighttpd -D -f "$W/lt/lighttpd.conf"
	pid=$BG
	wait_port a "$SB_IP_A" $port
	http_check "http://$SB_IP_A:$port"
	rc=$?
	stop "$pid"
	return $rc
}

# curl_from URL: curl under tas fetches $HFILE from a Linux server
curl_from()
{
	local got want=${FSHA[$HFILE]}
	got=$(LD_PRELOAD=$PRE timeout 60 curl -sf "$1/$HFILE" | sha)
	echo "curl under tas: sha $got"
	[ "$got" = "$want" ] || return 1
	LD_PRELOAD=$PRE timeout 60 curl -s -o /dev/null -w \
		"curl under tas: %{http_code} %{size_download} bytes %{speed_download} B/s\n" \
		"$1/$HFILE"
}

t_curl_nginx()
{
	local pid rc port=$((8081 + PO))
	nginx_conf "$W/nginxb" "$SB_IP_B:$port"
	lin_bg "$W/nginxb.out" nginx -c "$W/nginxb/nginx.conf" -p "$W/nginxb"
	pid=$BG
	wait_port b "$SB_IP_B" $port
	curl_from "http://$SB_IP_B:$port"
	rc=$?
	stop "$pid"
	return $rc
}

t_curl_lighttpd()
{
	local pid rc port=$((8091 + PO))
	lighttpd_conf "$W/ltb" "$SB_IP_B" $port
	lin_bg "$W/ltb.out" lighttpd -D -f "$W/ltb/lighttpd.conf"
	pid=$BG
	wait_port b "$SB_IP_B" $port
	curl_from "http://$SB_IP_B:$port"
	rc=$?
	stop "$pid"
	return $rc
}

# ---- memcached ----
t_memcached()
{
	local pid rc port=$((11311 + PO))
	tas_bg "$W/mc.log" memcached -t 2 -p $port -U 0 -u root -l 0.0.0.0
	pid=$BG
	wait_port a "$SB_IP_A" $port
	sb_in_b timeout 120 python3 tests/netns/sockets_mc.py "$SB_IP_A" \
		$port $MC_C $MC_K
	rc=$?
	stop "$pid"
	return $rc
}

# ---- iperf3 and sockperf ----
t_iperf()
{
	local pid out port=$((5211 + PO))
	tas_bg "$W/iperf.log" iperf3 -s -p $port -B 0.0.0.0
	pid=$BG
	wait_port a "$SB_IP_A" $port
	out=$(sb_in_b timeout 30 iperf3 -c "$SB_IP_A" -p $port -t $PERF_S \
		2>&1) || {
		echo "$out"
		stop "$pid"
		return 1
	}
	echo "Linux -> tas: $(echo "$out" | grep receiver)"
	out=$(sb_in_b timeout 30 iperf3 -c "$SB_IP_A" -p $port -t $PERF_S \
		-R 2>&1) || {
		echo "$out"
		stop "$pid"
		return 1
	}
	echo "tas -> Linux: $(echo "$out" | grep receiver)"
	stop "$pid"
}

t_sockperf()
{
	local pid out port=$((11111 + PO))
	tas_bg "$W/sp.log" sockperf server --tcp -i 0.0.0.0 -p $port
	pid=$BG
	sleep 1
	out=$(sb_in_b timeout 30 sockperf ping-pong --tcp -i "$SB_IP_A" \
		-p $port -t $PERF_S 2>&1)
	stop "$pid"
	echo "$out" | grep -E "Summary|percentile 50.000|percentile 99.000"
	echo "$out" | grep -q "Summary: Latency is" || return 1
	lin_bg "$W/spb.log" sockperf server --tcp -i "$SB_IP_B" -p $((port + 1))
	pid=$BG
	sleep 1
	out=$(LD_PRELOAD=$PRE timeout 30 sockperf ping-pong --tcp \
		-i "$SB_IP_B" -p $((port + 1)) -t $PERF_S 2>&1)
	stop "$pid"
	echo "$out" | grep -E "Summary|percentile 50.000|percentile 99.000"
	echo "$out" | grep -q "Summary: Latency is"
}

# program_tests: every test of an unmodified program, with the loads and
# ports of the current pass ($PFX names the pass).
program_tests()
{
	local mb=$(($(stat -c %s "$W/www/$HFILE") / 1048576))
	run_or_skip "${PFX}socat under tas -> Linux socat, 8 MB, SHA-256 \
matches" socat -- t_socat_out
	run_or_skip "${PFX}Linux socat -> socat under tas, 8 MB, SHA-256 \
matches" socat -- t_socat_in
	run_or_skip "${PFX}socat EXEC:cat under tas (fork) echoes 8 MB intact" \
		socat -- t_socat_echo
	run_or_skip "${PFX}redis-server under tas: redis-benchmark \
set/get/lpush/lpop -n $RB_N -c 50 -P 16 with BGSAVE, values verified" \
		redis-server redis-benchmark redis-cli -- t_redis
	run_or_skip "${PFX}redis-benchmark under tas against Linux redis \
(-n $RB2_N)" redis-server redis-benchmark -- t_redis_client
	run_or_skip "${PFX}nginx under tas (epoll ET, sendfile): Linux curl \
$HN x $mb MB and wrk" nginx curl -- t_nginx
	run_or_skip "${PFX}lighttpd under tas: Linux curl $HN x $mb MB and wrk" \
		lighttpd curl -- t_lighttpd
	run_or_skip "${PFX}curl under tas fetches $mb MB from Linux nginx" \
		nginx curl -- t_curl_nginx
	run_or_skip "${PFX}curl under tas fetches $mb MB from Linux lighttpd" \
		lighttpd curl -- t_curl_lighttpd
	run_or_skip "${PFX}memcached -t 2 under tas: $MC_C Linux connections, \
$((MC_C * MC_K)) values verified" memcached python3 -- t_memcached
	run_or_skip "${PFX}iperf3 -s under tas, Linux iperf3 -c both directions \
(-R)" iperf3 -- t_iperf
	run_or_skip "${PFX}sockperf ping-pong both ways (server under tas, then \
client)" sockperf -- t_sockperf
}

program_tests

# ---- idle: no busy spinning ----
t_idle()
{
	local pid a b
	tas_bg "$W/redis-idle.log" redis-server --port 6392 --bind 0.0.0.0 \
		--save "" --appendonly no --protected-mode no --hz 1 \
		--dir "$W/redis"
	pid=$(pgrep -f "redis-server 0.0.0.0:6392" | head -1)
	wait_port a "$SB_IP_A" 6392
	sb_in_b timeout 10 redis-cli -h "$SB_IP_A" -p 6392 set k v >/dev/null
	sleep 0.5
	pid=$(pgrep -f "redis-server 0.0.0.0:6392" | head -1)
	[ -n "$pid" ] || return 1
	a=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	sleep 3
	b=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	echo "redis-server with a TAS listener: $((b - a)) CPU ticks in 3 s idle"
	stop "$BG"
	[ $((b - a)) -le 30 ]
}
run_or_skip "an idle server under tas does not spin (<10% CPU)" redis-server \
	redis-cli -- t_idle

# ---- every program test again, with faults on the daemon ----
sb_stop_tas
t_fault_up() { sb_tas --fault drop=0.01,reorder=0.01,seed=11; }
t_run "daemon restarts with --fault drop=0.01,reorder=0.01" t_fault_up
fault_loads
program_tests
build/tasctl stats 2>/dev/null |
	grep -E "^(retransmits|fast_retransmits|rto_timeouts|fault_)" | head

sb_stop_tas
t_summary
