#!/usr/bin/env bash
# One socktrace snapshot vs the /proc way (ss -tanp + every
# /proc/PID/fdinfo/*), side by side, for a process with N TCP sockets and an
# epoll instance watching all of them. Usage: bench_snapshot.sh [N] [ROUNDS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=$ROOT/tests/.output
N=${1:-10000}
ROUNDS=${2:-20}
NS=bench$$
ip netns add "$NS"
ip -n "$NS" link set lo up
out=$(mktemp)
cleanup() { set +e; [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; ip netns del "$NS"; rm -f "$out"; }
trap cleanup EXIT

ip netns exec "$NS" "$TB/manysock" "$N" >"$out" &
pid=$!
for _ in $(seq 100); do grep -q ready "$out" && break; sleep 0.1; done
grep -q ready "$out" || { echo "manysock did not start" >&2; exit 1; }
fds=$(ls "/proc/$pid/fd" | wc -l)

proc_way() {
	ip netns exec "$NS" ss -tanp >/dev/null
	cat /proc/"$pid"/fdinfo/* >/dev/null
}
proc_ms=()
for _ in $(seq 5); do
	t0=$(date +%s%N); proc_way; t1=$(date +%s%N)
	proc_ms+=("$(( (t1 - t0) / 1000 ))")
done
proc_med=$(printf '%s\n' "${proc_ms[@]}" | sort -n | sed -n 3p)
snap=$("$TB/bench_snapbench" "$pid" "$ROUNDS")
snap_med=$(sed -E 's/.*median_ms=([0-9.]+).*/\1/' <<<"$snap")
echo "process with $fds fds ($N TCP sockets, 1 epoll watching all)"
echo "  socktrace snapshot: $snap"
printf '  /proc way (ss -tanp + fdinfo): median_ms=%.2f (5 rounds)\n' "$(echo "$proc_med / 1000" | bc -l)"
printf '  ratio: socktrace is %.1fx faster\n' "$(echo "$proc_med / 1000 / $snap_med" | bc -l)"
