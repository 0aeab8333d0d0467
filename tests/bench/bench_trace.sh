#!/usr/bin/env bash
# Trace file size and recorder throughput (issue 5) on the churn workload
# (tests/progs/churn.c: connect/accept/close on loopback, server traced):
# bytes per event on disk (target <= 16) and lost events (target 0) while
# `socktrace --no-tui -w` records at full churn rate, and the churn rate
# without and with the recorder. Also the echo workload (10 round trips of
# 64 bytes per connection), which adds epoll wake-ups.
#
#   bench_trace.sh [-d SECONDS] [-j CLIENT_THREADS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=$ROOT/tests/.output
SOCKTRACE=${SOCKTRACE:-$ROOT/socktrace}
SECS=5 THREADS=2
while getopts "d:j:" opt; do
	case $opt in
	d) SECS=$OPTARG ;;
	j) THREADS=$OPTARG ;;
	*) echo "usage: $0 [-d SECONDS] [-j THREADS]" >&2; exit 2 ;;
	esac
done
[ -x "$TB/churn" ] || { echo "build first: make test-bins" >&2; exit 1; }
NS=trb$$
tmp=$(mktemp -d)
srv= rec=
cleanup() {
	set +e # every step, whatever one before it returned
	[ -n "$rec" ] && kill "$rec" 2>/dev/null
	[ -n "$srv" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
. "$ROOT/tests/bench/churn_server.sh"

# run ROUNDTRIPS recorded(0|1): writes "conn/s events snapshots bytes lost
# lost_records" to $tmp/result. Runs in this shell (not in a $(...) or <(...)
# subshell), so the cleanup trap sees the server and recorder it started.
run() {
	local rt=$1 recorded=$2 port rate events=0 snaps=0 bytes=0 lost=0 lost_records=0 summary
	churn_server_start "$SECS"
	if [ "$recorded" = 1 ]; then
		rm -f "$tmp/run.st"
		"$SOCKTRACE" -p "$srv" --no-tui -w "$tmp/run.st" 2>"$tmp/rec.err" &
		rec=$!
		for _ in $(seq 300); do [ -s "$tmp/run.st" ] && break; sleep 0.05; done
	fi
	rate=$(ip netns exec "$NS" "$TB/churn" client -j "$THREADS" -n "$rt" "$port" "$SECS" |
		awk '/^RESULT/ { print $7 }')
	if [ "$recorded" = 1 ]; then
		sleep 0.5 # the server drains its accept queue while recorded
		kill -INT "$rec"
		wait "$rec" || true
		rec=
		summary=$(grep recorded "$tmp/rec.err")
		events=$(sed -E 's/.*recorded ([0-9]+) events.*/\1/' <<<"$summary")
		snaps=$(sed -E 's/.* and ([0-9]+) snapshots.*/\1/' <<<"$summary")
		lost=$(sed -E 's/.*, ([0-9]+) lost.*/\1/' <<<"$summary")
		bytes=$(stat -c %s "$tmp/run.st")
		lost_records=$("$SOCKTRACE" -r "$tmp/run.st" --json | grep -c '"type":"lost"' || true)
	fi
	kill "$srv"
	wait "$srv" 2>/dev/null || true
	srv=
	echo "${rate%.*} $events $snaps $bytes $lost $lost_records" >"$tmp/result"
}

echo "socktrace -w benchmark: $SECS s per run, $THREADS client threads, kernel $(uname -r), $(nproc) CPUs"
printf '%-8s %11s %11s %10s %9s %10s %10s %6s\n' workload "off conn/s" "on conn/s" events/s snapshots bytes "bytes/ev" lost
ok=1
for workload in churn echo; do
	rt=0
	[ "$workload" = echo ] && rt=10
	run $rt 0
	read -r off _ <"$tmp/result"
	run $rt 1
	read -r on events snaps bytes lost lost_records <"$tmp/result"
	bpe=$(echo "scale=2; $bytes / $events" | bc)
	printf '%-8s %11d %11d %10d %9d %10d %10s %6d\n' $workload "$off" "$on" \
		$((events / SECS)) "$snaps" "$bytes" "$bpe" "$lost"
	[ "$(echo "$bpe <= 16" | bc)" -eq 1 ] || { echo "FAIL $workload: $bpe bytes/event > 16"; ok=0; }
	[ "$lost" -eq 0 ] && [ "$lost_records" -eq 0 ] ||
		{ echo "FAIL $workload: $lost events lost ($lost_records lost records)"; ok=0; }
done
[ $ok -eq 1 ] && echo "targets met: <= 16 bytes/event, 0 lost"
[ $ok -eq 1 ]
