#!/usr/bin/env bash
# ibv_smoke.sh - the ibv backend on a real RDMA NIC (raw packet QPs).
#
# needs: an RDMA device with an Ethernet port and CAP_NET_RAW; prints
# "skipped: <reason>" and passes nothing when no device opens.
# Environment: TAS_HW_DEV (device or netdev; default the first device),
# TAS_HW_QUEUES (default 4), TAS_HW_NO_LOOPBACK=1 (a device that blocks
# self-loopback skips the loopback case), IBV_SMOKE_BIN (binary path).
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh

BIN=${IBV_SMOKE_BIN:-build/tests/hw/ibv_smoke}

# case NAME MODE: run one mode; exit 77 is a visible skip.
case_run()
{
	local name=$1 mode=$2 out rc
	out=$("$BIN" "$mode" 2>&1)
	rc=$?
	if [ "$rc" -eq 77 ]; then
		echo "$out" | grep -v '^skipped: '
		t_skip "$name" "$(echo "$out" | sed -n 's/^skipped: //p' | head -1)"
		return
	fi
	t_run "$name" bash -c 'echo "$1"; exit "$2"' _ "$out" "$rc"
}

if [ ! -x "$BIN" ]; then
	t_run ibv_smoke_built test -x "$BIN"
	t_summary
	exit
fi

probe=$("$BIN" probe 2>&1)
rc=$?
if [ "$rc" -eq 77 ]; then
	t_skip ibv_smoke "$(echo "$probe" | sed -n 's/^skipped: //p' | head -1)"
else
	t_run ibv_probe bash -c 'echo "$1"; exit "$2"' _ "$probe" "$rc"
	if [ "$rc" -eq 0 ]; then
		case_run ibv_open_link_info open
		case_run ibv_rss_queues_and_rules queues
		case_run ibv_loopback_tx_rx loopback
	fi
fi
t_summary
