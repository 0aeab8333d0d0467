#!/usr/bin/env bash
# BPF time per connection (issue 3): what socktrace's event programs cost
# the traced machine, from the kernel's own accounting (bpf_stats:
# run_time_ns and run_cnt per program), over the loopback load of
# bench_events.sh with `socktrace --pid SERVER --events --json` attached.
# Throughput ratios move by several percent from run to run on a busy VM;
# this moves by a few, so it is how two builds are weighed against each
# other: given several socktrace binaries, runs alternate between them
# (A, B, A, B, ...) and each program's median is reported per binary.
#
#   bench_bpfcost.sh [-d SECONDS] [-r RUNS] [-w churn|echo] [SOCKTRACE...]
#
# Per program: runs per connection, ns per run, ns per connection. About
# 35 ns of each run is bpf_stats' own clock reads (a program that returns
# at once shows that much), and the cost of calling the programs at all
# (the tracepoints' dispatch, the syscall slow path) is not in it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=$ROOT/tests/.output
SECS=3 RUNS=3 WORKLOAD=churn
while getopts "d:r:w:" opt; do
	case $opt in
	d) SECS=$OPTARG ;;
	r) RUNS=$OPTARG ;;
	w) WORKLOAD=$OPTARG ;;
	*) echo "usage: $0 [-d SECONDS] [-r RUNS] [-w churn|echo] [SOCKTRACE...]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
case $WORKLOAD in
churn) RT=0 ;;
echo) RT=10 ;;
*) echo "bad -w '$WORKLOAD'" >&2; exit 2 ;;
esac
BINS=("$@")
[ ${#BINS[@]} -gt 0 ] || BINS=("$ROOT/socktrace")
[ -x "$TB/churn" ] || { echo "build first: make test-bins" >&2; exit 1; }
command -v bpftool >/dev/null && command -v jq >/dev/null ||
	{ echo "needs bpftool and jq (scripts/deps.sh test)" >&2; exit 1; }
NS=bpc$$
tmp=$(mktemp -d)
srv= st=
stats_was=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
	set +e # every step, whatever one before it returned
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	[ -n "$st" ] && kill "$st" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$ROOT/tests/bench/churn_server.sh"

# run BIN: appends "BIN PROGRAM NS_PER_CONN" lines (and "BIN total N") to
# $tmp/all, prints the program table of the run to $tmp/run
run() {
	local bin=$1 port conns
	churn_server_start "$SECS" net.core.somaxconn=65535
	# program ids only grow: socktrace's are those above the largest now
	first_id=$(bpftool prog show --json | jq '[.[].id] | max // 0')
	"$bin" -p "$srv" --events --json >/dev/null 2>"$tmp/st.err" &
	st=$!
	for _ in $(seq 200); do grep -qs 'tracing pid' "$tmp/st.err" && break; sleep 0.05; done
	sysctl -qw kernel.bpf_stats_enabled=1
	bpftool prog show --json >"$tmp/before"
	conns=$(ip netns exec "$NS" "$TB/churn" client -j 2 -n "$RT" "$port" "$SECS" |
		awk '/^RESULT/ { print $3 }')
	bpftool prog show --json >"$tmp/after"
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	kill -INT "$st"
	wait "$st" || true
	st=
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	srv=
	grep -q ' 0 lost$' "$tmp/st.err" || echo "warning: $(tail -1 "$tmp/st.err")" >&2
	# socktrace's programs, their counts over the load
	jq -r --argjson first "$first_id" --slurpfile b "$tmp/before" '.[] |
		select(.id > $first and .run_cnt != null) | . as $p |
		(($b[0][] | select(.id == $p.id)) // { run_cnt: 0, run_time_ns: 0 }) as $o |
		"\($p.name) \($p.run_cnt - ($o.run_cnt // 0)) \($p.run_time_ns - ($o.run_time_ns // 0))"' \
		"$tmp/after" >"$tmp/progs"
	awk -v c="$conns" -v b="$(basename "$bin")" '$2 > 0 && $1 != "flush_stage" {
			printf "%s %s %.2f %.0f %.0f\n", b, $1, $2 / c, $3 / $2, $3 / c; t += $3 / c }
		END { printf "%s total - - %.0f\n", b, t }' "$tmp/progs" >"$tmp/run"
	cat "$tmp/run" >>"$tmp/all"
	echo "$(basename "$bin"): $conns connections, $(awk '$2 == "total" { print $5 }' "$tmp/run") ns of BPF time per connection"
}

echo "socktrace BPF time per connection: $WORKLOAD load, $SECS s per run, $RUNS runs per binary"
echo "kernel $(uname -r), $(nproc) CPUs"
: >"$tmp/all"
for _ in $(seq "$RUNS"); do
	for b in "${BINS[@]}"; do
		run "$b"
	done
done
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
printf '%-22s %-22s %10s %8s %10s\n' binary program runs/conn ns/run ns/conn
for b in "${BINS[@]}"; do
	name=$(basename "$b")
	for p in $(awk -v b="$name" '$1 == b { print $2 }' "$tmp/all" | sort -u | grep -v '^total$') total; do
		awk -v b="$name" -v p="$p" '$1 == b && $2 == p' "$tmp/all" >"$tmp/sel"
		printf '%-22s %-22s %10s %8s %10s\n' "$name" "$p" \
			"$(awk '{ print $3 }' "$tmp/sel" | median)" "$(awk '{ print $4 }' "$tmp/sel" | median)" \
			"$(awk '{ print $5 }' "$tmp/sel" | median)"
	done
done
