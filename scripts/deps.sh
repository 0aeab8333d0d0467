#!/usr/bin/env bash
# Installs the Debian packages socktrace needs to build and test, when any is
# missing. Safe to run again: it does nothing when everything is present.
set -euo pipefail

build_pkgs=(make gcc clang llvm bpftool libbpf-dev libelf-dev zlib1g-dev
	    libncurses-dev pkg-config)
test_pkgs=(iproute2 nftables procps tmux jq bc nginx-light redis-server psmisc
	   libclang-rt-14-dev)
vm_pkgs=(qemu-system-x86 busybox-static cpio kmod)

case "${1:-build}" in
build) pkgs=("${build_pkgs[@]}") ;;
test) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
vm) pkgs=("${build_pkgs[@]}" "${test_pkgs[@]}" "${vm_pkgs[@]}") ;;
*) echo "usage: $0 [build|test|vm]" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "socktrace: missing packages: ${missing[*]}; run 'sudo $0 ${1:-build}' or install them" >&2
	exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
