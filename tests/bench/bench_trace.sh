#!/usr/bin/env bash
# Trace file size and recorder throughput (issue 5) on a connect/accept/close
# churn: bytes per event on disk (target <= 16) and lost events (target 0)
# while recording headless at the churn's full rate, and the churn rate with
# and without the recorder. Usage: bench_trace.sh [SECONDS] [THREADS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TB=$ROOT/tests/.output
SOCKTRACE=${SOCKTRACE:-$ROOT/socktrace}
SECS=${1:-5}
THREADS=${2:-2}
PORT=9123
NS=trb$$
tmp=$(mktemp -d)
ip netns add "$NS"
ip -n "$NS" link set lo up
cleanup() {
	[ -n "${rec:-}" ] && kill "$rec" 2>/dev/null
	[ -n "${srv:-}" ] && kill "$srv" 2>/dev/null
	wait 2>/dev/null
	ip netns del "$NS"
	rm -rf "$tmp"
}
trap cleanup EXIT

ip netns exec "$NS" "$TB/tr_churn" server $PORT >"$tmp/server.out" &
srv=$!
for _ in $(seq 100); do grep -q ready "$tmp/server.out" && break; sleep 0.05; done

base=$(ip netns exec "$NS" "$TB/tr_churn" churn $PORT "$SECS" "$THREADS")

"$SOCKTRACE" -p "$srv" --no-tui -w "$tmp/churn.st" 2>"$tmp/rec.err" &
rec=$!
for _ in $(seq 300); do [ -s "$tmp/churn.st" ] && break; sleep 0.05; done
with=$(ip netns exec "$NS" "$TB/tr_churn" churn $PORT "$SECS" "$THREADS")
sleep 0.3
kill -INT "$rec"
wait "$rec"
rec=

summary=$(grep 'recorded' "$tmp/rec.err")
events=$(sed -E 's/.*recorded ([0-9]+) events.*/\1/' <<<"$summary")
snaps=$(sed -E 's/.* and ([0-9]+) snapshots.*/\1/' <<<"$summary")
lost=$(sed -E 's/.*, ([0-9]+) lost.*/\1/' <<<"$summary")
bytes=$(stat -c %s "$tmp/churn.st")
lost_records=$("$SOCKTRACE" -r "$tmp/churn.st" --json | grep -c '"type":"lost"' || true)
bpe=$(echo "scale=2; $bytes / $events" | bc)

echo "churn: $THREADS threads x $SECS s on loopback, server traced"
printf '  churn rate: %d conn/s alone, %d conn/s while recording (%s%%)\n' \
	$((base / SECS)) $((with / SECS)) "$(echo "scale=1; 100 * $with / $base" | bc)"
printf '  recorded: %d events (%d/s), %d snapshots, %d bytes on disk\n' \
	"$events" $((events / SECS)) "$snaps" "$bytes"
echo "  bytes per event on disk: $bpe (target <= 16)"
echo "  lost events: $lost (lost records in the file: $lost_records; target 0)"
ok=1
[ "$(echo "$bpe <= 16" | bc)" -eq 1 ] || { echo "FAIL: more than 16 bytes/event"; ok=0; }
[ "$lost" -eq 0 ] && [ "$lost_records" -eq 0 ] || { echo "FAIL: events lost"; ok=0; }
[ $ok -eq 1 ]
