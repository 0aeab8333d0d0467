# shellcheck shell=bash
# Shared helpers for the tests/vmtest scripts. Sourced, never run.

VMTEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$VMTEST_DIR/../.." && pwd)
VMTEST_CACHE=${VMTEST_CACHE:-$REPO_ROOT/.cache/vmtest}

# Host tools the matrix needs. Checked by dpkg status, so a warm machine
# never touches the network for this.
# shellcheck disable=SC2034  # used by the scripts that source this file
VMTEST_HOST_PKGS=(qemu-system-x86 busybox-static cpio kmod xz-utils zstd
                  iproute2 nftables bpftool clang llvm libbpf-dev libelf-dev
                  zlib1g-dev gcc make)

log() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

need_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (apt-get, qemu, bpf in the guest)"
}

# Install whatever of "$@" is missing; 'apt-get update' only when something is.
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	((${#missing[@]})) || return 0
	need_root
	log "installing missing packages: ${missing[*]}"
	apt-get update -qq >&2 || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2 || die "apt-get install ${missing[*]} failed"
}

# Kernel series to test, e.g. "6.1 6.12".
vmtest_kernels() {
	echo "${VMTEST_KERNELS:-6.1 6.12}"
}
