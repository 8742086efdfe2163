# sandbox.sh - two network namespaces joined by a veth pair, for tests and
# the demo. Source it, then: sb_up; ...; sb_down (also trapped on exit).
#
#   $SB_A  namespace where tas runs on $SB_IFA (no kernel IP there, so the
#          kernel neither answers ARP nor RSTs our ports)
#   $SB_B  namespace with the Linux peer on $SB_IFB = $SB_IP_B/24
#   $SB_IP_A  the address tas serves (198.18.0.0/24 only)
# Offloads are off on both ends (tx, tso, gso, gro): see shared notes on
# veth partial checksums and GSO super-frames.

SB_ID=${SB_ID:-$$}
SB_A=tasA$SB_ID
SB_B=tasB$SB_ID
SB_IFA=vtas$SB_ID
SB_IFB=vlin$SB_ID
SB_IP_A=${SB_IP_A:-198.18.0.1}
SB_IP_B=${SB_IP_B:-198.18.0.2}
SB_DIR=${SB_DIR:-/tmp/tas-sb-$SB_ID}
SB_SOCK=$SB_DIR/tas.sock
SB_PIDS=()

sb_up()
{
	mkdir -p "$SB_DIR"
	ip netns add "$SB_A" || return 1
	ip netns add "$SB_B" || return 1
	ip link add "$SB_IFA" type veth peer name "$SB_IFB" || return 1
	ip link set "$SB_IFA" netns "$SB_A"
	ip link set "$SB_IFB" netns "$SB_B"
	ip -n "$SB_A" link set lo up
	ip -n "$SB_B" link set lo up
	ip -n "$SB_A" link set "$SB_IFA" up
	ip -n "$SB_B" addr add "$SB_IP_B/24" dev "$SB_IFB"
	ip -n "$SB_B" link set "$SB_IFB" up
	ip netns exec "$SB_A" ethtool -K "$SB_IFA" tx off tso off gso off \
		gro off >/dev/null 2>&1
	ip netns exec "$SB_B" ethtool -K "$SB_IFB" tx off tso off gso off \
		gro off >/dev/null 2>&1
	# IPv6 noise (router solicitations, DAD) is not ours to parse
	ip netns exec "$SB_A" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	ip netns exec "$SB_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	return 0
}

# sb_tas [ARGS...]: start tas in $SB_A on $SB_IFA; waits for its socket.
sb_tas()
{
	local log=$SB_DIR/tas.log i
	ip netns exec "$SB_A" "${TAS_BIN:-build/tas}" \
		--nic "packet:$SB_IFA" --ip "$SB_IP_A/24" --socket "$SB_SOCK" \
		"$@" >>"$log" 2>&1 &
	SB_TAS_PID=$!
	SB_PIDS+=("$SB_TAS_PID")
	for i in $(seq 100); do
		[ -S "$SB_SOCK" ] && return 0
		kill -0 "$SB_TAS_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "sb_tas: daemon did not come up:"
	cat "$log"
	return 1
}

sb_stop_tas()
{
	if [ -n "${SB_TAS_PID:-}" ] && kill -0 "$SB_TAS_PID" 2>/dev/null; then
		kill -TERM "$SB_TAS_PID"
		wait "$SB_TAS_PID" 2>/dev/null
	fi
	SB_TAS_PID=
}

sb_down()
{
	local p
	for p in "${SB_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	wait 2>/dev/null
	ip netns del "$SB_A" 2>/dev/null
	ip netns del "$SB_B" 2>/dev/null
	rm -rf "$SB_DIR"
}

sb_in_a() { ip netns exec "$SB_A" "$@"; }
sb_in_b() { ip netns exec "$SB_B" "$@"; }
