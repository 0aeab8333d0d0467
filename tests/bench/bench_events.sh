#!/usr/bin/env bash
# Event engine overhead (issue 3): a loopback load (tests/progs/churn.c) run
# side by side without and with socktrace attached to the server (`socktrace
# --pid SERVER --events --json` and the live view, `socktrace --pid SERVER`);
# reports connections/s for both and their ratio, events/s delivered and
# events lost. Targets (tracepoint tier): loss <= 5%, 0 lost.
#
#   bench_events.sh [-d SECONDS] [-r ROUNDS] [-j CLIENT_THREADS]
#                   [-o OUTPUT[,OUTPUT...]] [-w WORKLOAD[,WORKLOAD...]]
#
# OUTPUT is what socktrace does with the events (default json,tui): json
# (--json to /dev/null, formatting every event), text, filter (--filter
# accept_overflow, an overflow watch: every hook but the syscall exits
# attached and following the target's sockets, which a filter of the
# listeners' queue events does not load; almost nothing emitted), unarmed
# (every hook attached, none at work: the price of the hooks alone;
# SOCKTRACE_UNARMED=1), tui (the live view,
# `socktrace --pid SERVER`, in a tmux pane: every event into its model, plus
# its snapshots and frames; events and lost from SOCKTRACE_TUI_STATS) or
# floor (no socktrace: tests/progs/tpfloor holds a syscall exit tracepoint
# that runs no code, which sends every syscall down the kernel's slow path:
# what the tracepoint tier's syscall exits cost before socktrace does
# anything).
# Several outputs are measured in the same rounds, which prices each layer
# side by side.
# Workloads: churn (connect, close; the server accepts and closes) and echo
# (10 round trips of 64 bytes per connection through an epoll server);
# both by default. Each round runs without, then each output in turn and
# back in reverse order, then without again (off, A, B, B, A, off; each
# run in a fresh network namespace): the machine is noisy and drifts, and
# this order cancels a drift that is steady over a round. A round's ratio
# for an output is its two runs over the round's two without; the headline
# ratio is the median of the rounds' ratios, with the spread beside it, and
# below the table their mean with its 95% confidence interval.
# socktrace's own CPU time while the load ran is reported per event.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=$ROOT/tests/.output
SOCKTRACE=${SOCKTRACE:-$ROOT/socktrace}
SECS=5 ROUNDS=3 THREADS=2 OUTPUTS=json,tui WORKLOADS=churn,echo
usage="usage: $0 [-d SECONDS] [-r ROUNDS] [-j THREADS] [-o json|text|filter|unarmed|tui|floor[,...]] [-w churn|echo[,...]]"
while getopts "d:r:j:o:w:" opt; do
	case $opt in
	d) SECS=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	j) THREADS=$OPTARG ;;
	o) OUTPUTS=$OPTARG ;;
	w) WORKLOADS=$OPTARG ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
IFS=, read -ra outputs <<<"$OUTPUTS"
IFS=, read -ra workloads <<<"$WORKLOADS"
for w in "${workloads[@]}"; do
	case $w in
	churn | echo) ;;
	*) echo "bad -w '$w' (churn or echo)" >&2; exit 2 ;;
	esac
done
[ ${#outputs[@]} -gt 0 ] && [ ${#workloads[@]} -gt 0 ] || { echo "$usage" >&2; exit 2; }
[ -x "$TB/churn" ] || { echo "build first: make test-bins" >&2; exit 1; }
NS=evb$$
tmp=$(mktemp -d)
srv= st=
cleanup() {
	set +e # every step, whatever one before it returned
	tmux kill-session -t "socktrace-bench$$" 2>/dev/null
	[ -n "$st" ] && kill "$st" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$ROOT/tests/bench/churn_server.sh"
for o in "${outputs[@]}"; do
	socktrace_output "$o" || { echo "bad -o '$o' (json, text, filter, unarmed, tui or floor)" >&2; exit 2; }
done

# CPU time of a process in ns (schedstat's run time: utime and stime count
# 10 ms ticks, a few percent of socktrace's time over a run)
cpu_ns() { awk '{ print $1 }' "/proc/$1/schedstat"; }

# run WORKLOAD OUTPUT|off: prints "rate events lost socktrace_cpu_seconds"
run() {
	local workload=$1 output=$2 port rate events=0 lost=0 rt=0 t0=0 cpu=0 traced=1
	[ "$workload" = echo ] && rt=10
	if [ "$output" = off ]; then
		traced=0
	else
		socktrace_output "$output"
	fi
	# an accept queue deep enough that no SYN is dropped (each drop stalls
	# a client thread for the 1 s SYN retransmit and the run measures stalls)
	churn_server_start "$SECS" net.core.somaxconn=65535
	if [ "$traced" = 1 ]; then
		socktrace_start || { echo "socktrace did not start: $(cat "$tmp/st.err")" >&2; exit 1; }
		t0=$(cpu_ns "$st")
	fi
	rate=$(ip netns exec "$NS" "$TB/churn" client -j "$THREADS" -n $rt "$port" "$SECS" |
		awk '/^RESULT/ { print $7 }')
	if [ "$traced" = 1 ]; then
		sleep 0.5 # let the server drain its accept queue while traced
		cpu=$(awk -v a="$t0" -v b="$(cpu_ns "$st")" 'BEGIN { print (b - a) / 1e9 }')
		socktrace_stop
		events=$st_events lost=$st_lost
	fi
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	srv=
	echo "$rate ${events:-0} ${lost:-0} $cpu"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "socktrace event engine benchmark: $SECS s per run, $ROUNDS rounds, $THREADS client threads, output ${outputs[*]}"
echo "kernel $(uname -r), $(nproc) CPUs; tiers: $("$SOCKTRACE" --probe --json | jq -r '[.hooks[].tier] | unique | join(",")')"
printf '%-8s %-8s %10s %10s %7s %15s %10s %6s %11s\n' workload output "off conn/s" "on conn/s" \
	ratio "(min..max)" "events/s" lost "us/event"
for workload in "${workloads[@]}"; do
	: >"$tmp/off"
	for o in "${outputs[@]}"; do
		for f in on evs lost ratio cpu; do : >"$tmp/$f.$o"; done
	done
	for _ in $(seq "$ROUNDS"); do
		# off, each output, each output in reverse, off
		order=("${outputs[@]}")
		for ((i = ${#outputs[@]} - 1; i >= 0; i--)); do order+=("${outputs[i]}"); done
		off1=$(run "$workload" off | awk '{ print $1 }')
		: >"$tmp/round"
		for o in "${order[@]}"; do
			echo "$o $(run "$workload" "$o")" >>"$tmp/round"
		done
		off2=$(run "$workload" off | awk '{ print $1 }')
		printf '%s\n' "$off1" "$off2" >>"$tmp/off"
		for o in "${outputs[@]}"; do
			awk -v o="$o" '$1 == o { print $2 }' "$tmp/round" >>"$tmp/on.$o"
			awk -v o="$o" -v c="$off1" -v d="$off2" '$1 == o { s += $2 }
				END { print c + d ? s / (c + d) : 0 }' "$tmp/round" >>"$tmp/ratio.$o"
			awk -v o="$o" -v s="$SECS" '$1 == o {
				printf "%.0f\n", $3 / (s + 0.5) >>"'"$tmp/evs.$o"'"
				print $4 >>"'"$tmp/lost.$o"'"
				print ($3 >= 1000 ? $5 * 1e6 / $3 : 0) >>"'"$tmp/cpu.$o"'" }' "$tmp/round"
		done
	done
	for o in "${outputs[@]}"; do
		lost=$(awk '{ s += $1 } END { print s + 0 }' "$tmp/lost.$o")
		printf '%-8s %-8s %10.0f %10.0f %7.3f %15s %10.0f %6d %11.2f\n' "$workload" "$o" \
			"$(median <"$tmp/off")" "$(median <"$tmp/on.$o")" "$(median <"$tmp/ratio.$o")" \
			"($(sort -n "$tmp/ratio.$o" | head -1 | xargs printf '%.3f')..$(sort -n "$tmp/ratio.$o" | tail -1 | xargs printf '%.3f'))" \
			"$(median <"$tmp/evs.$o")" "$lost" "$(median <"$tmp/cpu.$o")"
	done
	echo "  rounds off: $(tr '\n' ' ' <"$tmp/off")"
	for o in "${outputs[@]}"; do
		echo "  rounds $o: $(tr '\n' ' ' <"$tmp/on.$o")"
	done
	# the rounds' ratios as a sample: mean and its 95% interval (Student's
	# t, two-sided; 1.96 past 30 rounds)
	for o in "${outputs[@]}"; do
		awk -v o="$o" 'function root(x, r, i) { # no sqrt() in busybox awk
				if (x <= 0) return 0
				for (r = x > 1 ? x : 1; i < 60; i++) r = (r + x / r) / 2
				return r }
			{ r[NR] = $1; s += $1 } END {
			n = NR; m = s / n
			for (i = 1; i <= n; i++) v += (r[i] - m) * (r[i] - m)
			split("12.71 4.30 3.18 2.78 2.57 2.45 2.36 2.31 2.26 2.23 2.20 2.18 2.16 2.14 " \
			      "2.13 2.12 2.11 2.10 2.09 2.09 2.08 2.07 2.07 2.06 2.06 2.06 2.05 2.05 2.05", t, " ")
			if (n < 2) { printf "  ratio %s: mean %.3f (one round)\n", o, m; exit }
			ci = (n - 1 <= 29 ? t[n - 1] : 1.96) * root(v / (n - 1) / n)
			printf "  ratio %s: mean %.3f +- %.3f (95%%, %d rounds)\n", o, m, ci, n }' "$tmp/ratio.$o"
	done
done
