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
# round runs without, then with, in a fresh network namespace; the medians of
# the rounds are reported.
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

# run WORKLOAD traced(0|1): prints "rate events lost"
run() {
	local workload=$1 traced=$2 port rate events=0 lost=0 rt=0
	[ "$workload" = echo ] && rt=10
	ip netns del "$NS" 2>/dev/null || true
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	# connection churn on loopback: reuse TIME_WAIT ports; an accept
	# queue deep enough that no SYN is dropped (each drop stalls a client
	# thread for the 1 s SYN retransmit and the run measures stalls)
	ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=65535 \
		net.ipv4.ip_local_port_range="1024 65000"
	ip netns exec "$NS" "$TB/churn" server -t $((SECS + 60)) >"$tmp/server.out" &
	srv=$!
	for _ in $(seq 100); do grep -q SERVER "$tmp/server.out" && break; sleep 0.05; done
	port=$(awk '{ print $3 }' "$tmp/server.out")
	if [ "$traced" = 1 ]; then
		"$SOCKTRACE" -p "$srv" --events "${ST_OUT[@]}" >/dev/null 2>"$tmp/st.err" &
		st=$!
		for _ in $(seq 200); do grep -q 'tracing pid' "$tmp/st.err" && break; sleep 0.05; done
	fi
	rate=$(ip netns exec "$NS" "$TB/churn" client -j "$THREADS" -n $rt "$port" "$SECS" |
		awk '/^RESULT/ { print $7 }')
	if [ "$traced" = 1 ]; then
		sleep 0.5 # let the server drain its accept queue while traced
		kill -INT "$st"
		wait "$st" || true
		st=
		events=$(sed -nE 's/.*: ([0-9]+) events.*/\1/p' "$tmp/st.err")
		lost=$(sed -nE 's/.*; ([0-9]+) lost$/\1/p' "$tmp/st.err")
	fi
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	srv=
	echo "$rate ${events:-0} ${lost:-0}"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "socktrace --events benchmark: $SECS s per run, $ROUNDS rounds, $THREADS client threads, output $OUTPUT"
echo "kernel $(uname -r), $(nproc) CPUs; tiers: $("$SOCKTRACE" --probe --json | jq -r '[.hooks[].tier] | unique | join(",")')"
printf '%-8s %12s %12s %8s %12s %8s\n' workload "off conn/s" "on conn/s" ratio "events/s" lost
for workload in churn echo; do
	: >"$tmp/off" ; : >"$tmp/on" ; : >"$tmp/evs" ; : >"$tmp/lost"
	for _ in $(seq "$ROUNDS"); do
		run "$workload" 0 | awk '{ print $1 }' >>"$tmp/off"
		read -r rate events lost < <(run "$workload" 1)
		echo "$rate" >>"$tmp/on"
		echo "$events" | awk -v s="$SECS" '{ printf "%.0f\n", $1 / (s + 0.5) }' >>"$tmp/evs"
		echo "$lost" >>"$tmp/lost"
	done
	off=$(median <"$tmp/off")
	on=$(median <"$tmp/on")
	evs=$(median <"$tmp/evs")
	lost=$(awk '{ s += $1 } END { print s + 0 }' "$tmp/lost")
	printf '%-8s %12.0f %12.0f %8.3f %12.0f %8d\n' "$workload" "$off" "$on" \
		"$(awk -v a="$on" -v b="$off" 'BEGIN { print b ? a / b : 0 }')" "$evs" "$lost"
	echo "  rounds off: $(tr '\n' ' ' <"$tmp/off")  on: $(tr '\n' ' ' <"$tmp/on")"
done
