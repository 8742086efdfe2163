#!/usr/bin/env bash
# deps.sh - install every Debian package that build, tests, demo and bench need.
# Idempotent and quiet: runs apt-get (update first) only when something is missing.
set -euo pipefail

PKGS=(
	build-essential pkg-config make git clang clang-format libclang-rt-14-dev
	llvm
	libibverbs-dev librdmacm-dev ibverbs-providers rdma-core libnuma-dev
	numactl libcmocka-dev
	iproute2 ethtool iputils-ping procps socat netcat-openbsd
	python3 python3-scapy
	valgrind
)

# Suites add their own lists (one Debian package per line).
for f in "$(dirname "$0")"/deps-*.txt "$(dirname "$0")"/../tests/bench/deps.txt; do
	[ -f "$f" ] || continue
	while read -r p; do
		case "$p" in '' | '#'*) ;; *) PKGS+=("$p") ;; esac
	done <"$f"
done

missing=()
for p in "${PKGS[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
