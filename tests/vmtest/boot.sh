#!/usr/bin/env bash
# Boot one kernel with one initramfs under QEMU and return the guest's exit code.
#
#   boot.sh KERNEL_DIR INITRAMFS [LOG_DIR]
#
# LOG_DIR (default .cache/vmtest/logs/<release>) receives serial.log (the
# console: kernel messages and the guest's output) and guest.log (the guest
# command's output alone, from the second serial port).
#
# The exit code is the guest's, parsed from its VMTEST-EXIT=<rc> line; 124
# when the VM ran past VMTEST_TIMEOUT, 125 when it ended without the line
# (panic, init died, qemu failed). The verdict also goes to LOG_DIR/boot.txt.
#
# Environment: VMTEST_TIMEOUT (seconds, default 300), VMTEST_MEM (2G),
# VMTEST_SMP (2), VMTEST_ACCEL (tcg; kvm: see below), VMTEST_TCG_THREAD
# (single: see below; multi),
# VMTEST_APPEND (more kernel parameters), VMTEST_VERBOSE=1 (echo the
# console to stderr), VMTEST_SHELL=1 (interactive shell on the
# console instead of the guest command; quit with 'exit' or Ctrl-A x).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

(($# >= 2 && $# <= 3)) || die "usage: boot.sh KERNEL_DIR INITRAMFS [LOG_DIR]"
kdir=$1 initramfs=$2
[[ -f $kdir/vmlinuz ]] || die "no vmlinuz in '$kdir'"
[[ -f $initramfs ]] || die "initramfs '$initramfs' not found"
release=$(basename "$(cd "$kdir" && pwd -P)")
logdir=${3:-$VMTEST_CACHE/logs/$release}
mkdir -p "$logdir"
serial_log=$logdir/serial.log
guest_log=$logdir/guest.log
: >"$serial_log"
: >"$guest_log"
: >"$logdir/boot.txt"
# verdict: one line to stderr and to boot.txt for run.sh
verdict() { log "$release: $1"; echo "$1" >"$logdir/boot.txt"; }

command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 not found (package qemu-system-x86)"
timeout_s=${VMTEST_TIMEOUT:-300}

# Software emulation (TCG), single-threaded: the vCPUs take turns on one
# host thread. Multi-threaded TCG (QEMU 7.2, Debian 12) panics Debian's
# 6.12 guest when a tracepoint's jump label is patched while another vCPU
# runs through it: "Oops: int3" at the patch site, after the patch has
# finished (a stale translation of the int3 the kernel's text_poke_bp put
# there for the duration). Any BPF
# tracepoint attach or detach patches one, so every socktrace run could hit
# it. guest-pokeloop.sh reproduces it in seconds with
# VMTEST_TCG_THREAD=multi, and never under thread=single.
#
# KVM only when asked for (VMTEST_ACCEL=kvm): the project's machines have
# a /dev/kvm that opens (a nested hypervisor's), but QEMU's KVM there dies
# at the first vCPU reset ("failed to set MSR 0x10a", qemu exit 134), and
# the matrix's timings and results are TCG's.
tcg_thread=${VMTEST_TCG_THREAD:-single}
[[ $tcg_thread == single || $tcg_thread == multi ]] ||
	die "VMTEST_TCG_THREAD must be single or multi, not '$tcg_thread'"
case ${VMTEST_ACCEL:-tcg} in
kvm)
	[[ -r /dev/kvm && -w /dev/kvm ]] || die "VMTEST_ACCEL=kvm: /dev/kvm is missing or not usable"
	accel=(-accel kvm -cpu host)
	;;
tcg) accel=(-accel "tcg,thread=$tcg_thread" -cpu max) ;;
*) die "VMTEST_ACCEL must be tcg or kvm, not '$VMTEST_ACCEL'" ;;
esac

append="console=ttyS0 panic=-1 quiet loglevel=4 8250.nr_uarts=2 ${VMTEST_APPEND:-}"
[[ ${VMTEST_SHELL:-0} == 1 ]] && append+=" vmtest.shell"

qemu=(qemu-system-x86_64 -nodefaults -nographic -no-reboot
	"${accel[@]}" -m "${VMTEST_MEM:-2G}" -smp "${VMTEST_SMP:-2}"
	-kernel "$kdir/vmlinuz" -initrd "$initramfs" -append "$append"
	-serial mon:stdio -serial "file:$guest_log")

if [[ ${VMTEST_SHELL:-0} == 1 ]]; then
	exec timeout --foreground "$timeout_s" "${qemu[@]}"
fi

start=$(date +%s.%N)
set +e
if [[ ${VMTEST_VERBOSE:-0} == 1 ]]; then
	timeout --kill-after=10 "$timeout_s" "${qemu[@]}" </dev/null 2>&1 | tee "$serial_log" >&2
	qemu_rc=${PIPESTATUS[0]}
else
	timeout --kill-after=10 "$timeout_s" "${qemu[@]}" </dev/null >"$serial_log" 2>&1
	qemu_rc=$?
fi
set -e
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')

marker() { tr -d '\r' <"$1" | { grep -a -o 'VMTEST-EXIT=[0-9]*' || true; } | tail -n1 | cut -d= -f2; }
rc=$(marker "$guest_log")
[[ -n $rc ]] || rc=$(marker "$serial_log")

if [[ $qemu_rc == 124 || $qemu_rc == 137 ]]; then
	verdict "timed out after ${timeout_s}s (console: $serial_log)"
	exit 124
fi
if [[ -z $rc ]]; then
	why="no VMTEST-EXIT line"
	if grep -aq 'Kernel panic' "$serial_log"; then
		why="kernel panic: $(tr -d '\r' <"$serial_log" | grep -a -m1 -o 'Kernel panic.*' || true)"
	fi
	((qemu_rc)) && why+=", qemu exit $qemu_rc"
	verdict "$why (console: $serial_log)"
	exit 125
fi
verdict "guest exit $rc after ${elapsed}s"
exit "$rc"
