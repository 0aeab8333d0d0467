#!/usr/bin/env bash
# Event engine overhead (issue 3), measured on one unbroken load: a single
# loopback load (tests/progs/churn.c) runs for the whole benchmark while
# `socktrace --pid SERVER --events` is attached and detached in turn;
# connections/s are read off the kernel's own counter (the namespace's
# TcpActiveOpens) over windows of equal length with and without it.
#
#   bench_toggle.sh [-w churn|echo] [-p PAIRS] [-W WINDOW_SECONDS]
#                   [-o json|text|filter|unarmed] [-j CLIENT_THREADS]
#
# Why beside bench_events.sh: there, each run starts a fresh load in a fresh
# namespace, and runs of the same thing a minute apart differ by 5-10% on
# these machines. Here neighbouring windows share the load's state (its
# TIME_WAIT sockets, which set what connect() costs, its accept queue) and
# are seconds apart; pairs alternate (off, on), (on, off) so that a steady
# drift cancels. Each pair's ratio is its window with over its window
# without; printed are their median, mean with a 95% interval, and spread.
# Windows start 0.5 s after socktrace is ready or gone: its start (loading
# and verifying the programs) and its drain at exit are not counted.
# OUTPUT as in bench_events.sh (unarmed: hooks attached, none at work).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=$ROOT/tests/.output
SOCKTRACE=${SOCKTRACE:-$ROOT/socktrace}
WORKLOAD=churn PAIRS=12 WIN=3 OUTPUT=json THREADS=2
usage="usage: $0 [-w churn|echo] [-p PAIRS] [-W WINDOW_SECONDS] [-o json|text|filter|unarmed] [-j THREADS]"
while getopts "w:p:W:o:j:" opt; do
	case $opt in
	w) WORKLOAD=$OPTARG ;;
	p) PAIRS=$OPTARG ;;
	W) WIN=$OPTARG ;;
	o) OUTPUT=$OPTARG ;;
	j) THREADS=$OPTARG ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
case $WORKLOAD in
churn) rt=0 ;;
echo) rt=10 ;;
*) echo "bad -w '$WORKLOAD' (churn or echo)" >&2; exit 2 ;;
esac
[ -x "$TB/churn" ] || { echo "build first: make test-bins" >&2; exit 1; }
NS=evt$$
tmp=$(mktemp -d)
srv= st= cl=
cleanup() {
	set +e # every step, whatever one before it returned
	[ -n "$st" ] && kill "$st" 2>/dev/null
	[ -n "$cl" ] && kill "$cl" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$ROOT/tests/bench/churn_server.sh"
socktrace_output "$OUTPUT" && [ "$st_tui" = 0 ] ||
	{ echo "bad -o '$OUTPUT' (json, text, filter or unarmed)" >&2; exit 2; }

now_ns() { date +%s%N; }
# connections the namespace has opened so far (Tcp: ActiveOpens)
opened() { ip netns exec "$NS" awk '/^Tcp:/ && ++n == 2 { print $6 }' /proc/net/snmp; }
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# window: prints "conns_per_s" over WIN seconds
window() {
	local c0 c1 t0 t1
	c0=$(opened) t0=$(now_ns)
	sleep "$WIN"
	c1=$(opened) t1=$(now_ns)
	awk -v c="$((c1 - c0))" -v t="$((t1 - t0))" 'BEGIN { printf "%.0f\n", c * 1e9 / t }'
}

# off window: prints "rate"
off() {
	sleep 0.5
	window
}

# on window: prints "rate events_per_s lost us_per_event"
on() {
	local rate t0 t1 c0 c1
	socktrace_start || { echo "socktrace did not start:" >&2; cat "$tmp/st.err" >&2; exit 1; }
	sleep 0.5
	c0=$(cpu_ns "$st") t0=$(now_ns)
	rate=$(window)
	c1=$(cpu_ns "$st") t1=$(now_ns)
	socktrace_stop
	echo "$rate $st_events $st_lost $((c1 - c0)) $((t1 - t0))"
}

TOTAL=$((PAIRS * (2 * WIN + 6) + 30))
churn_server_start "$TOTAL" net.core.somaxconn=65535
ip netns exec "$NS" "$TB/churn" client -j "$THREADS" -n "$rt" "$port" "$TOTAL" >/dev/null &
cl=$!
sleep 3 # the load's TIME_WAIT sockets build up to their steady level

echo "socktrace on and off one load: $WORKLOAD, $PAIRS pairs of $WIN s windows, output $OUTPUT"
echo "kernel $(uname -r), $(nproc) CPUs; tiers: $("$SOCKTRACE" --probe --json | jq -r '[.hooks[].tier] | unique | join(",")')"
: >"$tmp/pairs"
for i in $(seq "$PAIRS"); do
	if [ $((i % 2)) = 1 ]; then
		a=$(off)
		read -r b ev lost cpu dt < <(on)
	else
		read -r b ev lost cpu dt < <(on)
		a=$(off)
	fi
	kill -0 "$cl" 2>/dev/null || { echo "the load ended early" >&2; exit 1; }
	echo "$a $b $ev $lost $cpu $dt" >>"$tmp/pairs"
	printf 'pair %2d  off %6d  on %6d  ratio %.3f  lost %s\n' "$i" "$a" "$b" \
		"$(awk -v a="$a" -v b="$b" 'BEGIN { print a ? b / a : 0 }')" "$lost"
done
n=$(wc -l <"$tmp/pairs")
med=$(awk '{ print $1 ? $2 / $1 : 0 }' "$tmp/pairs" | sort -g |
	awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }')
awk -v med="$med" '
	function root(x, r, i) { # no sqrt() in busybox awk
		if (x <= 0) return 0
		for (r = x > 1 ? x : 1; i < 60; i++) r = (r + x / r) / 2
		return r }
	{ r = $1 ? $2 / $1 : 0; s += r; ss += r * r; off += $1; on += $2; lost += $4
	  cpu += $5; dt += $6
	  if (NR == 1 || r < lo) lo = r
	  if (NR == 1 || r > hi) hi = r }
	END {
		n = NR; mean = s / n
		sd = n > 1 ? root((ss - n * mean * mean) / (n - 1)) : 0
		printf "off %.0f conn/s, on %.0f conn/s (means of the windows)\n", off / n, on / n
		printf "ratio: median %.3f, mean %.3f +- %.3f (95%%), spread %.3f..%.3f, %d pairs\n",
			med, mean, 2 * sd / root(n), lo, hi, n
		printf "socktrace: %.1f%% of one CPU in the windows with it; events lost: %d\n",
			dt ? 100 * cpu / dt : 0, lost
	}' "$tmp/pairs"
