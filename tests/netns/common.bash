# common.bash - helpers shared by the namespace suites (source after
# ci/sandbox.sh): bulk transfers between tas and the Linux peer with
# SHA-256 checks of both ends.

PEER=${PEER:-"/usr/bin/python3 tests/netns/peer.py"}
EX=${EX:-build/examples}

# wait_file PATH: up to 10 s for a readiness file
wait_file()
{
	local i
	for i in $(seq 100); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

sha_of() { grep -o 'sha256 [0-9a-f]*' "$1"; }

# recv_from_linux PORT BYTES [blast recv args]: Linux sends, tas receives
recv_from_linux()
{
	local port=$1 bytes=$2
	shift 2
	$EX/blast recv --port "$port" "$@" >"$SB_DIR/r$port" 2>&1 &
	local pid=$!
	sleep 0.3
	sb_in_b $PEER source --ip "$SB_IP_A" --port "$port" --bytes "$bytes" \
		>"$SB_DIR/s$port" 2>&1
	wait $pid
	cat "$SB_DIR/s$port" "$SB_DIR/r$port"
	[ -n "$(sha_of "$SB_DIR/r$port")" ] &&
		[ "$(sha_of "$SB_DIR/s$port")" = "$(sha_of "$SB_DIR/r$port")" ] &&
		grep -q "received $bytes bytes" "$SB_DIR/r$port"
}

# send_to_linux PORT BYTES [sink args]: tas sends, Linux receives
send_to_linux()
{
	local port=$1 bytes=$2
	shift 2
	rm -f "$SB_DIR/ready$port"
	sb_in_b $PEER sink --port "$port" --ready "$SB_DIR/ready$port" "$@" \
		>"$SB_DIR/k$port" 2>&1 &
	local pid=$!
	wait_file "$SB_DIR/ready$port"
	$EX/blast send --ip "$SB_IP_B" --port "$port" --bytes "$bytes" \
		>"$SB_DIR/b$port" 2>&1
	wait $pid
	cat "$SB_DIR/b$port" "$SB_DIR/k$port"
	[ -n "$(sha_of "$SB_DIR/k$port")" ] &&
		[ "$(sha_of "$SB_DIR/b$port")" = "$(sha_of "$SB_DIR/k$port")" ] &&
		grep -q "received $bytes bytes" "$SB_DIR/k$port"
}

