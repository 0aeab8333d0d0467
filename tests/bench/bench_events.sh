#!/usr/bin/env bash
# Event engine overhead (issue 3): a loopback load (tests/progs/churn.c) run
# side by side without and with `socktrace --pid SERVER --events` attached to
# the server; reports connections/s for both and their ratio, events/s
# delivered and events lost. Targets (tracepoint tier): loss <= 5%, 0 lost.
#
#   bench_events.sh [-d SECONDS] [-r ROUNDS] [-j CLIENT_THREADS] [-o OUTPUT]
#
# OUTPUT is what socktrace does with the events: json (default: --json to
# /dev/null, formatting every event), text, or filter (--filter
# accept_overflow: every hook attached, almost nothing printed).
# Workloads: churn (connect, close; the server accepts and closes) and echo
# (10 round trips of 64 bytes per connection through an epoll server). Each
# round runs without, with, with, without (each run in a fresh network
# namespace): the machine is noisy and drifts, and this order cancels a
# drift that is steady over a round. A round's ratio is its two runs with
# over its two without; the headline ratio is the median of the rounds'
# ratios, with the spread beside it.
# socktrace's own CPU time while the load ran is reported per event.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=$ROOT/tests/.output
SOCKTRACE=${SOCKTRACE:-$ROOT/socktrace}
SECS=5 ROUNDS=3 THREADS=2 OUTPUT=json
while getopts "d:r:j:o:" opt; do
	case $opt in
	d) SECS=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	j) THREADS=$OPTARG ;;
	o) OUTPUT=$OPTARG ;;
	*) echo "usage: $0 [-d SECONDS] [-r ROUNDS] [-j THREADS] [-o json|text|filter]" >&2; exit 2 ;;
	esac
done
case $OUTPUT in
json) ST_OUT=(--json) ;;
text) ST_OUT=() ;;
filter) ST_OUT=(--filter accept_overflow) ;;
*) echo "bad -o '$OUTPUT'" >&2; exit 2 ;;
esac
[ -x "$TB/churn" ] || { echo "build first: make test-bins" >&2; exit 1; }
NS=evb$$
tmp=$(mktemp -d)
srv= st=
cleanup() {
	[ -n "$st" ] && kill "$st" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$ROOT/tests/bench/churn_server.sh"

# CPU time of a process in ns (schedstat's run time: utime and stime count
# 10 ms ticks, a few percent of socktrace's time over a run)
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# run WORKLOAD traced(0|1): prints "rate events lost socktrace_cpu_seconds"
run() {
	local workload=$1 traced=$2 port rate events=0 lost=0 rt=0 t0=0 cpu=0
	[ "$workload" = echo ] && rt=10
	# an accept queue deep enough that no SYN is dropped (each drop stalls
	# a client thread for the 1 s SYN retransmit and the run measures stalls)
	churn_server_start "$SECS" net.core.somaxconn=65535
	if [ "$traced" = 1 ]; then
		"$SOCKTRACE" -p "$srv" --events "${ST_OUT[@]}" >/dev/null 2>"$tmp/st.err" &
		st=$!
		for _ in $(seq 200); do grep -q 'tracing pid' "$tmp/st.err" && break; sleep 0.05; done
		t0=$(cpu_ns "$st")
	fi
	rate=$(ip netns exec "$NS" "$TB/churn" client -j "$THREADS" -n $rt "$port" "$SECS" |
		awk '/^RESULT/ { print $7 }')
	if [ "$traced" = 1 ]; then
		sleep 0.5 # let the server drain its accept queue while traced
		cpu=$(awk -v a="$t0" -v b="$(cpu_ns "$st")" 'BEGIN { print (b - a) / 1e9 }')
		kill -INT "$st"
		wait "$st" || true
		st=
		events=$(sed -nE 's/.*: ([0-9]+) events.*/\1/p' "$tmp/st.err")
		lost=$(sed -nE 's/.*; ([0-9]+) lost$/\1/p' "$tmp/st.err")
	fi
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	srv=
	echo "$rate ${events:-0} ${lost:-0} $cpu"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "socktrace --events benchmark: $SECS s per run, $ROUNDS rounds, $THREADS client threads, output $OUTPUT"
echo "kernel $(uname -r), $(nproc) CPUs; tiers: $("$SOCKTRACE" --probe --json | jq -r '[.hooks[].tier] | unique | join(",")')"
printf '%-8s %10s %10s %7s %15s %10s %6s %11s\n' workload "off conn/s" "on conn/s" ratio \
	"(min..max)" "events/s" lost "us/event"
for workload in churn echo; do
	: >"$tmp/off" ; : >"$tmp/on" ; : >"$tmp/evs" ; : >"$tmp/lost" ; : >"$tmp/ratio"
	: >"$tmp/cpu"
	for _ in $(seq "$ROUNDS"); do
		off1=$(run "$workload" 0 | awk '{ print $1 }')
		read -r rate1 events1 lost1 cpu1 < <(run "$workload" 1)
		read -r rate2 events2 lost2 cpu2 < <(run "$workload" 1)
		off2=$(run "$workload" 0 | awk '{ print $1 }')
		printf '%s\n' "$off1" "$off2" >>"$tmp/off"
		printf '%s\n' "$rate1" "$rate2" >>"$tmp/on"
		awk -v a="$rate1" -v b="$rate2" -v c="$off1" -v d="$off2" \
			'BEGIN { print c + d ? (a + b) / (c + d) : 0 }' >>"$tmp/ratio"
		for r in "$events1 $lost1 $cpu1" "$events2 $lost2 $cpu2"; do
			read -r events lost cpu <<<"$r"
			echo "$events" | awk -v s="$SECS" '{ printf "%.0f\n", $1 / (s + 0.5) }' >>"$tmp/evs"
			echo "$lost" >>"$tmp/lost"
			awk -v c="$cpu" -v e="$events" 'BEGIN { print e ? c * 1e6 / e : 0 }' >>"$tmp/cpu"
		done
	done
	lost=$(awk '{ s += $1 } END { print s + 0 }' "$tmp/lost")
	printf '%-8s %10.0f %10.0f %7.3f %15s %10.0f %6d %11.2f\n' "$workload" \
		"$(median <"$tmp/off")" "$(median <"$tmp/on")" "$(median <"$tmp/ratio")" \
		"($(sort -n "$tmp/ratio" | head -1 | xargs printf '%.3f')..$(sort -n "$tmp/ratio" | tail -1 | xargs printf '%.3f'))" \
		"$(median <"$tmp/evs")" "$lost" "$(median <"$tmp/cpu")"
	echo "  rounds off: $(tr '\n' ' ' <"$tmp/off")  on: $(tr '\n' ' ' <"$tmp/on")"
done
