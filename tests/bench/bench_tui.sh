#!/usr/bin/env bash
# The live UI's cost on a busy target: a process holding N TCP sockets
# (default 10,000) with a thread connecting/accepting/closing at full speed
# (events at churn). socktrace runs in tmux at the default 100 ms refresh
# for SECONDS; its CPU comes from /proc/PID/stat, and its own frame
# statistics (SOCKTRACE_TUI_STATS) give the time per frame draw and per
# snapshot. Usage: bench_tui.sh [N] [SECONDS] [INTERVAL_MS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=$ROOT/tests/.output
SOCKTRACE=${SOCKTRACE:-$ROOT/socktrace}
N=${1:-10000}
SECS=${2:-10}
IVAL=${3:-100}
NS=benchui$$
S=socktrace-bench$$
TMP=$(mktemp -d)
ip netns add "$NS"
ip -n "$NS" link set lo up
cleanup() {
	set +e # every step, whatever one before it returned
	tmux kill-session -t "$S" 2>/dev/null || true
	[ -n "${pid:-}" ] && kill "$pid" 2>/dev/null
	wait 2>/dev/null || true
	ip netns del "$NS"
	rm -rf "$TMP"
}
trap cleanup EXIT

ip netns exec "$NS" "$TB/ui_server" --listen 127.0.0.1:8080 --backlog 64 --epoll 64:8 \
	--hold $((N / 2)) --churn 0 >"$TMP/server" &
pid=$!
for _ in $(seq 300); do grep -q ready "$TMP/server" && break; sleep 0.1; done
grep -q ready "$TMP/server" || { echo "ui_server did not start" >&2; exit 1; }
fds=$(ls "/proc/$pid/fd" | wc -l)

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
tmux new-session -d -s "$S" -x 120 -y 40 \
	"sh -c 'echo \$\$ >$TMP/st.pid; exec env SOCKTRACE_TUI_STATS=$TMP/stats $SOCKTRACE -p $pid -i $IVAL'"
for _ in $(seq 100); do [ -s "$TMP/st.pid" ] && break; sleep 0.1; done
st=$(cat "$TMP/st.pid")
sleep 2 # past start-up (BPF load, first snapshot)
c0=$(ticks "$st"); srv0=$(ticks "$pid"); t0=$(date +%s%N)
sleep "$SECS"
c1=$(ticks "$st"); srv1=$(ticks "$pid"); t1=$(date +%s%N)
screen=$(tmux capture-pane -p -t "$S")
tmux send-keys -t "$S" q
for _ in $(seq 50); do [ -s "$TMP/stats" ] && break; sleep 0.1; done

wall=$(echo "($t1 - $t0) / 1000000000" | bc -l)
cpu=$(echo "100 * ($c1 - $c0) / $hz / $wall" | bc -l)
srv_cpu=$(echo "100 * ($srv1 - $srv0) / $hz / $wall" | bc -l)
get() { awk -v k="$1" '$1 == k { print $2 }' "$TMP/stats"; }
frames=$(get frames); draw_avg=$(get draw_avg_us); draw_max=$(get draw_max_us)
snaps=$(get snapshots); snap_avg=$(get snapshot_avg_us); events=$(get events)
run_s=$(echo "$SECS + 2" | bc)
echo "target: $fds fds ($N held TCP sockets + listener + epoll), churn thread at $(printf '%.0f' "$srv_cpu")% CPU"
echo "socktrace TUI at -i $IVAL for ${SECS} s (120x40 tmux pane):"
printf '  total CPU          %.1f%% of one core (utime+stime from /proc/%s/stat)\n' "$cpu" "$st"
printf '  frames             %s, draw avg %s us, max %s us\n' "$frames" "$draw_avg" "$draw_max"
printf '  drawing CPU        %.2f%% of one core (frames x avg draw / run time)\n' \
	"$(echo "100 * $frames * $draw_avg / 1000000 / $run_s" | bc -l)"
printf '  snapshots          %s, avg %s us (%.1f%% of one core)\n' "$snaps" "$snap_avg" \
	"$(echo "100 * $snaps * $snap_avg / 1000000 / $run_s" | bc -l)"
printf '  events into model  %s (%.0f/s)\n' "$events" "$(echo "$events / $run_s" | bc -l)"
grep -E '^socktrace|^hooks|File descriptors' <<<"$screen" | sed 's/^/  | /'
