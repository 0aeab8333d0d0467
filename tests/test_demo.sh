#!/usr/bin/env bash
# socktrace --demo in tmux: within 10 s the accept queue reaches its limit,
# the drops counter moves and the SYN queue fills; every process the demo
# started is gone after q, Ctrl-C or SIGTERM.
. "$(dirname "$0")/lib.sh"
require_root
command -v tmux >/dev/null || { skip demo "tmux not installed"; finish; }

S=socktrace-demo$$
trap 'tmux kill-session -t "$S" 2>/dev/null; cleanup' EXIT
cat >"$TMP/run.sh" <<EOF
#!/bin/bash
sh -c 'echo \$\$ >"$TMP/st.pid"; exec "\$0" "\$@"' "$SOCKTRACE" --demo
echo "EXIT=\$?"
sleep 600
EOF
screen() { tmux capture-pane -p -t "$S"; }

demo_start() {
	tmux kill-session -t "$S" 2>/dev/null
	rm -f "$TMP/st.pid"
	tmux new-session -d -s "$S" -x 100 -y 30 "bash $TMP/run.sh"
	wait_for 5 test -s "$TMP/st.pid"
	ST=$(cat "$TMP/st.pid")
	wait_for 5 bash -c "tmux capture-pane -p -t '$S' | grep -q ACCEPT"
	CHILDREN=$(pgrep -P "$ST" | tr '\n' ' ')
}
# demo_stopped NAME: exit 0 and no child left behind
demo_stopped() {
	wait_for 5 bash -c "tmux capture-pane -p -t '$S' | grep -q '^EXIT='" ||
		{ fail "$1: exits" "$(screen | tail -3)"; return; }
	check_eq "$1: exit status" "$(screen | grep -oE '^EXIT=[0-9]+')" "EXIT=0"
	left=""
	for p in $CHILDREN; do [ -e "/proc/$p" ] && left="$left $p"; done
	check_eq "$1: demo processes stopped" "${left:-none}" none
}

demo_start
check_eq "demo started a server and a load" "$(wc -w <<<"$CHILDREN")" 2
check_match "the UI watches demo-server" 'pid [0-9]+ demo-server' "$(screen)"
max_acc=0 max_syn=0 limit=0 first_drops="" last_drops="" full_at="" moved_at=""
start=$SECONDS
while [ $((SECONDS - start)) -lt 10 ]; do
	line=$(screen | grep -A1 '127\.0\.0\.1:8080 ' | tr '\n' ' ')
	acc=$(grep -oE 'ACCEPT \[[# ]*\] +[0-9]+/[0-9]+' <<<"$line" | awk '{print $NF}')
	syn=$(grep -oE 'SYN \[[# ]*\] +[0-9]+/' <<<"$line" | grep -oE '[0-9]+')
	drops=$(grep -oE 'drops [0-9]+' <<<"$line" | awk '{print $2}')
	if [ -n "$acc" ]; then
		d=${acc%/*}; limit=${acc#*/}
		[ "$d" -gt "$max_acc" ] && max_acc=$d
		[ "$d" -ge "$limit" ] && [ -z "$full_at" ] && full_at=$((SECONDS - start))
	fi
	[ -n "$syn" ] && [ "$syn" -gt "$max_syn" ] && max_syn=$syn
	if [ -n "$drops" ]; then
		[ -z "$first_drops" ] && first_drops=$drops
		[ "$drops" != "$first_drops" ] && [ -z "$moved_at" ] && moved_at=$((SECONDS - start))
		last_drops=$drops
	fi
	[ -n "$full_at" ] && [ -n "$moved_at" ] && [ "$max_syn" -gt 0 ] && break
	sleep 0.2
done
check_eq "backlog of the demo server" "$limit" 8
[ -n "$full_at" ] && pass "accept queue reached its limit ($max_acc/$limit) within ${full_at} s" ||
	fail "accept queue reached its limit" "max $max_acc/$limit in 10 s"
if [ -n "$moved_at" ] || [ "${first_drops:-0}" -gt 0 ]; then
	pass "overflow counter moved ($first_drops -> $last_drops) within ${moved_at:-0} s"
else
	fail "overflow counter moved" "drops ${first_drops:-?} -> ${last_drops:-?}"
fi
[ "$max_syn" -gt 0 ] && pass "SYN queue filled (max $max_syn)" || fail "SYN queue filled" "stayed 0"
check_match "headline names the overflow" '! (accept queue of 127\.0\.0\.1:8080 full|127\.0\.0\.1:8080 overflows in bursts)' "$(screen)"
tmux send-keys -t "$S" q
demo_stopped "q"

demo_start
tmux send-keys -t "$S" C-c
demo_stopped "Ctrl-C"

demo_start
kill -TERM "$ST"
demo_stopped "SIGTERM"

finish
