#!/bin/bash
# Guest script: the tracepoint patching that multi-threaded TCG gets wrong
# (see boot.sh). Two busy loops of short syscalls run while pokeloop
# attaches and detaches a no-op program on sys_exit, 2000 rounds each
# way (raw tracepoint, then perf tracepoint). A guest that survives prints
# its MATRIX lines; one that does not shows "Oops: int3" in serial.log.
#
#   make vmtest VMTEST_GUEST=tests/vmtest/guest-pokeloop.sh VMTEST_KERNELS=6.12 VMTEST_TCG_THREAD=multi
set -u -o pipefail
K=$(uname -r)
n=2000
trap 'kill $(jobs -p) 2>/dev/null' EXIT
for _ in 1 2; do
	(while :; do read -r _ </proc/loadavg; : >/dev/null; cat /proc/uptime >/dev/null; done) &
done
id=$(cat /sys/kernel/tracing/events/syscalls/sys_exit_connect/id 2>/dev/null)
start=$(date +%s)
for how in raw perf; do
	if [ "$how" = perf ] && [ -z "$id" ]; then
		echo "MATRIX $K tcg pokeloop-$how skip no tracefs id for sys_exit_connect"
		continue
	fi
	args=("$how")
	[ "$how" = perf ] && args+=("$id")
	if pokeloop "${args[@]}" "$n" |
		while read -r line; do echo "$line ($(($(date +%s) - start)) s)"; done; then
		echo "MATRIX $K tcg pokeloop-$how pass $n attach/detach rounds"
	else
		echo "MATRIX $K tcg pokeloop-$how fail pokeloop exited non-zero"
	fi
done
