#!/usr/bin/env bash
# What a syscall socktrace does not hook pays while it is attached
# (tests/progs/syscost: getppid() N times, best of 5), side by side: without
# socktrace, with it taking syscall exits its default way (`--probe` names
# it: fexit programs on the syscalls' functions where the kernel has
# trampolines, else syscalls:sys_exit_*), and with the tracepoints forced
# (SOCKTRACE_SYSCALL_EXITS=tracepoint). Any syscall tracepoint sends every
# syscall of every task down the kernel's slow path; fexit programs cost only
# the syscalls they are on. The floor beside them is no socktrace at all:
# tests/progs/tpfloor holding one syscall exit tracepoint that runs no code,
# the slow path's price alone. Rounds run off, default, tracepoint, floor,
# floor, tracepoint, default, off, against a drift; the figures are medians
# over the rounds.
#
#   bench_syscalls.sh [-n CALLS] [-r ROUNDS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=${TB:-$ROOT/tests/.output}
SOCKTRACE=${SOCKTRACE:-$ROOT/socktrace}
CALLS=1000000 ROUNDS=3
while getopts "n:r:" opt; do
	case $opt in
	n) CALLS=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	*) echo "usage: $0 [-n CALLS] [-r ROUNDS]" >&2; exit 2 ;;
	esac
done
[ -x "$TB/syscost" ] || { echo "build first: make test-bins" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "bench_syscalls: run as root" >&2; exit 1; }
tmp=$(mktemp -d)
target= st=
cleanup() {
	set +e # every step, whatever one before it returned
	[ -n "$st" ] && kill "$st" 2>/dev/null
	[ -n "$target" ] && kill "$target" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
sleep 100000 &
target=$!

# run WAY: prints syscost's best ns per call, with socktrace attached WAY
# (off, default, tracepoint) or with tpfloor (floor)
run() {
	local way=$1 best
	if [ "$way" = floor ]; then
		socktrace_start || { echo "bench_syscalls: tpfloor did not start: $(cat "$tmp/st.err")" >&2; exit 1; }
	elif [ "$way" != off ]; then
		if [ "$way" = tracepoint ]; then
			SOCKTRACE_SYSCALL_EXITS=tracepoint "$SOCKTRACE" -p "$target" --events --json \
				>/dev/null 2>"$tmp/st.err" &
		else
			"$SOCKTRACE" -p "$target" --events --json >/dev/null 2>"$tmp/st.err" &
		fi
		st=$!
		for _ in $(seq 600); do
			grep -qs 'tracing pid' "$tmp/st.err" && break
			kill -0 "$st" 2>/dev/null || { cat "$tmp/st.err" >&2; exit 1; }
			sleep 0.1
		done
	fi
	best=$("$TB/syscost" "$CALLS" 5 | awk '{ print $2 }')
	[ -n "$best" ] || { echo "bench_syscalls: syscost printed nothing" >&2; exit 1; }
	if [ "$way" = floor ]; then
		socktrace_stop
	elif [ "$way" != off ]; then
		kill -INT "$st"
		wait "$st" || true
		st=
	fi
	echo "$best"
}

default=$("$SOCKTRACE" --probe --json 2>/dev/null | jq -r .syscall_exits)
forced=$(SOCKTRACE_SYSCALL_EXITS=tracepoint "$SOCKTRACE" --probe --json 2>/dev/null | jq -r .syscall_exits)
echo "kernel $(uname -r); syscall exits: default $default, forced $forced"
# the floor: churn_server.sh's, on a syscall syscost does not make
. "$ROOT/tests/bench/churn_server.sh"
socktrace_output floor
ways="default tracepoint"
[ -n "$floor_id" ] && ways="$ways floor"
[ -n "$floor_id" ] || echo "no syscalls:sys_exit_sync tracepoint: no floor"
rev=$(echo "$ways" | tr ' ' '\n' | tac | tr '\n' ' ')
for r in $(seq "$ROUNDS"); do
	for way in off $ways $rev off; do
		ns=$(run "$way")
		echo "$way $ns" >>"$tmp/runs"
	done
done
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
off=$(awk '$1 == "off" { print $2 }' "$tmp/runs" | median)
printf "getppid, ns per call (median of %d runs each, %d calls, best of 5):\n" $((2 * ROUNDS)) "$CALLS"
printf "  %-34s %8.1f\n" "without socktrace" "$off"
for way in $ways; do
	m=$(awk -v w=$way '$1 == w { print $2 }' "$tmp/runs" | median)
	case $way in
	default) label="with socktrace, $default" ;;
	tracepoint) label="with socktrace, $forced" ;;
	floor) label="floor: a tracepoint, no code" ;;
	esac
	printf "  %-34s %8.1f  (%+.1f%%)\n" "$label" "$m" "$(awk -v m="$m" -v o="$off" 'BEGIN { print (m / o - 1) * 100 }')"
done
