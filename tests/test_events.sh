#!/usr/bin/env bash
# socktrace --events against the kernel's own answers, in network namespaces
# of our own: connect/accept/close match the connections made, accept-queue
# overflows match TcpExtListenOverflows, epoll wake-ups match what the server
# saw, other processes never show up, and nothing stays attached after exit.
# SOCKTRACE_MODE (fentry|kprobe|tracepoint) forces a tier (the VM matrix).
source "$(dirname "$0")/lib.sh"
require_root

NS=ev$$a
netns_new "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
# through /proc: busybox sysctl (the VM guests) lacks -q
set_abort() { in_ns sh -c "echo $1 >/proc/sys/net/ipv4/tcp_abort_on_overflow"; }

# Starts socktrace --events --json on pid $1 (extra args after), output in
# $TMP/$2.json / .err; waits until it has attached. Sets ST_PID.
start_tracer() {
	local pid=$1 name=$2
	shift 2
	bg "$SOCKTRACE" -p "$pid" --events --json "${MODE_ARGS[@]}" "$@" \
		>"$TMP/$name.json" 2>"$TMP/$name.err"
	ST_PID=$BG_PID
	# slack for the VM matrix: under emulation the fentry tier's attach has
	# taken over a minute (a trampoline apiece); out at once if it exits
	# (a zombie until waited for)
	wait_for 180 bash -c "grep -q 'tracing pid' '$TMP/$name.err' || ! test -d /proc/$ST_PID ||
		grep -q '^State:[[:space:]]*Z' /proc/$ST_PID/status"
	if ! grep -q 'tracing pid' "$TMP/$name.err"; then
		fail "$name: tracer attached" "$(cat "$TMP/$name.err")"
		return 1
	fi
}

# Stops the tracer (SIGINT) and waits for it.
stop_tracer() {
	kill -INT "$ST_PID" 2>/dev/null
	wait "$ST_PID" 2>/dev/null
}

# IDs of the programs and links a running socktrace holds, from its fdinfo.
held_ids() {
	local key=$1 pid=$2
	grep -h "^$key:" /proc/"$pid"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -un
}
# How many of the programs pid $1 holds take syscall exits (by name).
held_exit_progs() {
	# shellcheck disable=SC2046
	"$TB/ev_bpfid" names $(held_ids prog_id "$1") | grep -cE '^(tp_syscall_exit|tp_sys_exit|fexit_sys_)'
}

# jq over the events of one run, one value per line.
evq() { jq -r "$2" "$TMP/$1.json" 2>/dev/null; }
count_type() { evq "$1" "select(.type == \"$2\") | .type" | wc -l; }
# Accept queue lengths of the listeners on port $1, as ss gives them.
ss_queues() { in_ns ss -Hltn "sport = :$1" | awk '{ print $2 }' | sort -n | tr '\n' ' '; }
# Hook runs the kernel skipped in run $1, as its tracer reported them (lost
# records, reason hook_skipped): the kprobe tier's programs share one guard
# per CPU with perf's and with the bpf() syscall's map updates, and a
# kprobe that fires inside one of them does not run.
skipped_runs() {
	evq "$1" 'select(.type == "lost" and .reason == "hook_skipped") | .count' |
		awk '{ s += $1 } END { print s + 0 }'
}
# check_ev NAME RUN GOT WANT: check_eq, but inconclusive (a skip, saying
# so) where the two differ and run RUN's tracer reported skipped hook runs:
# the loss was told, not silent. A difference with none reported fails.
check_ev() {
	local n
	if [ "$3" != "$4" ] && n=$(skipped_runs "$2") && [ "$n" -gt 0 ]; then
		skip "$1" "got '$3', want '$4'; inconclusive: the kernel skipped $n hook runs of the tracer's ($2)"
		return
	fi
	check_eq "$1" "$3" "$4"
}

# Starts a server in the netns; sets SRV_PID, waits for its LISTEN line.
# Their -t is a bound, not the test's schedule: each test kills its server
# when done. 300 s leaves room for slow attaches (two fentry-tier tracers
# took over 60 s between them under emulation in the QEMU matrix).
start_server() {
	local name=$1
	shift
	bg ip netns exec "$NS" "$TB/ev_server" "$@" >"$TMP/$name.out" 2>&1
	SRV_PID=$BG_PID
	wait_for 5 grep -q '^LISTEN' "$TMP/$name.out" || fail "$name listening" "$(cat "$TMP/$name.out")"
}

# ---- probe ----
out=$("$SOCKTRACE" --probe 2>&1)
check_eq "probe exit status" "$?" 0
check_eq "probe lists 6 hooks" "$(sed '/^$/q' <<<"$out" | grep -cE ' (fentry|kprobe|tracepoint|none) ')" 6
json=$("$SOCKTRACE" --probe --json 2>/dev/null)
check_eq "probe json hooks" "$(jq '.hooks | length' <<<"$json")" 6
tiers=$(jq -r '.hooks[].tier' <<<"$json" | sort -u | tr '\n' ' ')
if [ -e /sys/bus/event_source/devices/kprobe ]; then :; else
	check_match "probe explains missing kprobes" "no kprobes" "$out"
	check "probe never picks kprobe without kprobes" bash -c "! grep -q kprobe <<<'$tiers'"
fi
if [ -n "$SOCKTRACE_MODE" ]; then
	"$SOCKTRACE" --probe --mode "$SOCKTRACE_MODE" >"$TMP/probe_mode.txt" 2>&1
	check_eq "probe --mode $SOCKTRACE_MODE available" "$?" 0
fi
# Where syscall exits cost every syscall, --probe names the way not to pay.
"$SOCKTRACE" --probe "${MODE_ARGS[@]}" >"$TMP/probe_exits.txt" 2>&1
case $("$SOCKTRACE" --probe --json "${MODE_ARGS[@]}" 2>/dev/null | jq -r .syscall_exits) in
fexit*)
	check "probe: no filter advice where fexit takes the exits" \
		sh -c '! grep -q "none taken by --events --filter" "$1"' _ "$TMP/probe_exits.txt" ;;
*)
	check_match "probe: names the filter that takes no syscall exit" \
		"none taken by --events --filter of listener events alone" "$(cat "$TMP/probe_exits.txt")" ;;
esac
# The epoll hook needs sk_data_ready in the tracepoint tier (Linux 6.6+).
EPOLL_TIER=$("$SOCKTRACE" --probe --json "${MODE_ARGS[@]}" 2>/dev/null |
	jq -r '.hooks[] | select(.hook == "ep_poll_callback") | .tier')

# ---- connect, accept, close: a traced server, a traced client ----
start_server srv -p 8080 -t 300 accept 5
SRV1=$SRV_PID
start_tracer "$SRV1" srv || finish
# the listener's fd, by the kernel (ss -p reads the fd table)
srv_lfd=$(in_ns ss -Hltnp 'sport = :8080' | grep -o 'fd=[0-9]*' | cut -d= -f2)
# Before 6.7 the kernel drops a kprobe run that finds the guard kprobes
# share taken without counting it: socktrace must say so, where it applies
if grep -q '=kprobe' "$TMP/srv.err" && ! kernel_at_least 6 7; then
	check_match "kprobe hooks on $(uname -r): says their skipped runs go unreported" \
		"counts no kprobe run it skips" "$(cat "$TMP/srv.err")"
	check_eq "--probe --json: kprobe skips not counted" \
		"$("$SOCKTRACE" --probe --json 2>/dev/null | jq .kprobe_skips_counted)" false
	# and a recording says it too, when it is read (on any machine)
	"$SOCKTRACE" -p "$SRV1" --no-tui -w "$TMP/kp.st" --duration 1 "${MODE_ARGS[@]}" \
		>/dev/null 2>"$TMP/kp_rec.err"
	check_match "--no-tui -w on kprobe hooks: says their skips go unreported" \
		"counts no kprobe run it skips" "$(cat "$TMP/kp_rec.err")"
	check_match "-r --text of that recording: a note under its header" \
		"note: kernel [^ ]+ counts no kprobe run it skips" \
		"$("$SOCKTRACE" -r "$TMP/kp.st" --text 2>&1 | sed '/^$/q')"
	check_eq "-r --json of that recording: kprobe skips not counted" \
		"$("$SOCKTRACE" -r "$TMP/kp.st" --json 2>/dev/null | head -1 | jq .trace.kprobe_skips_counted)" false
else
	check "no warning of unreported kprobe skips ($(uname -r))" \
		sh -c '! grep -q "counts no kprobe run" "$1"' _ "$TMP/srv.err"
fi
# an untraced server and client in the same netns: must never appear
start_server other -p 8081 -t 300 accept 5
# -K: the client lives on until told: its sockets go to CLOSE at the
# server's FINs, which may come after its last close() (under emulation
# they did), and its tracer would stop at its exit
bg ip netns exec "$NS" "$TB/ev_client" -W -K -e 127.0.0.1 8080 5 >"$TMP/cli.out" 2>&1
CLI_PID=$BG_PID
wait_for 5 grep -q WAITING "$TMP/cli.out"
start_tracer "$CLI_PID" cli || finish
CLI_ST=$ST_PID
in_ns "$TB/ev_client" 127.0.0.1 8081 5 >"$TMP/other_cli.out" 2>&1
kill -USR1 "$CLI_PID"
wait_for 30 grep -q DONE "$TMP/cli.out"
wait_for 5 grep -q DONE "$TMP/srv.out"
sleep 0.3
ST_PID=$CLI_ST
stop_tracer
kill -USR1 "$CLI_PID"
wait "$CLI_PID"
check_eq "client exit status" "$?" 0
# a connect refused: client traced again
bg ip netns exec "$NS" "$TB/ev_client" -W -e 127.0.0.1 8099 1 >"$TMP/refused.out" 2>&1
REF_PID=$BG_PID
wait_for 5 grep -q WAITING "$TMP/refused.out"
start_tracer "$REF_PID" refused
REF_ST=$ST_PID
kill -USR1 "$REF_PID"
wait "$REF_PID"
ST_PID=$REF_ST
sleep 0.2
stop_tracer
kill -TERM "$SRV1"
wait "$SRV1" 2>/dev/null
# the server's tracer stops by itself when the server exits
if wait_for 5 grep -q 'process exited' "$TMP/srv.err"; then
	pass "tracer stops when the target exits"
else
	fail "tracer stops when the target exits" "$(tail -2 "$TMP/srv.err")"
fi

cli_ports=$(awk '/^CONN/ { print $2 }' "$TMP/cli.out" | sort -n | tr '\n' ' ')
srv_ports=$(awk '/^ACCEPT/ { print $3 }' "$TMP/srv.out" | sort -n | tr '\n' ' ')
check_eq "server accepted the client's 5 connections" "$srv_ports" "$cli_ports"
check_eq "accept events = accepted connections (peer ports)" \
	"$(evq srv 'select(.type == "accept") | .dport' | sort -n | tr '\n' ' ')" "$srv_ports"
check_eq "accept events carry the listener port" \
	"$(evq srv 'select(.type == "accept") | .sport' | sort -u)" 8080
check_eq "accept fds = fds the server got" \
	"$(evq srv 'select(.type == "accept") | .fd' | tr '\n' ' ')" \
	"$(awk '/^ACCEPT/ { print $2 }' "$TMP/srv.out" | tr '\n' ' ')"
check_eq "syn_recv events = the SYNs the listener took (peer ports)" \
	"$(evq srv 'select(.type == "syn_recv" and .sport == 8080) | .dport' | sort -n | tr '\n' ' ')" \
	"$srv_ports"
check_eq "child_queued events (peer ports)" \
	"$(evq srv 'select(.type == "child_queued") | .dport' | sort -n | tr '\n' ' ')" "$srv_ports"
check_eq "child_queued events carry the listener's fd (ss: fd=$srv_lfd)" \
	"$(evq srv 'select(.type == "child_queued") | .fd' | sort -u | tr '\n' ' ')" "${srv_lfd:-none} "
check_eq "close events = closed connections (peer ports)" \
	"$(evq srv 'select(.type == "close" and .sport == 8080) | .dport' | sort -n | tr '\n' ' ')" "$srv_ports"
# tcp_set_state(TCP_CLOSE) zeroes the local port before the tracepoint
check_eq "state events to CLOSE carry the local port" \
	"$(evq srv 'select(.type == "state" and .new_state == "CLOSE" and .dport != 0) | "\(.sport):\(.dport)"' |
		sort -t: -k2 -n | tr '\n' ' ')" "$(for p in $srv_ports; do printf '8080:%s ' "$p"; done)"
check_eq "client's state events to CLOSE carry its local ports" \
	"$(evq cli 'select(.type == "state" and .new_state == "CLOSE") | .sport' | sort -n | tr '\n' ' ')" "$cli_ports"
check_eq "accept wait measured" "$(evq srv 'select(.type == "accept" and .latency_ns > 0) | 1' | wc -l)" 5
check_eq "close events carry the fds accept gave" \
	"$(evq srv 'select(.type == "close" and .sport == 8080) | .fd' | sort -n | tr '\n' ' ')" \
	"$(evq srv 'select(.type == "accept") | .fd' | sort -n | tr '\n' ' ')"
check_eq "connect events = connections made (local ports)" \
	"$(evq cli 'select(.type == "connect" and .dport == 8080) | .sport' | sort -n | tr '\n' ' ')" "$cli_ports"
check_eq "connect_done ok for each" \
	"$(evq cli 'select(.type == "connect_done" and .err == 0 and .latency_ns > 0) | .sport' | sort -n | tr '\n' ' ')" \
	"$cli_ports"
check_eq "close events on the client side" \
	"$(evq cli 'select(.type == "close") | .sport' | sort -n | tr '\n' ' ')" "$cli_ports"
check_eq "connect fds are the client's" \
	"$(evq cli 'select(.type == "connect") | .fd' | sort -u | tr '\n' ' ')" "3 "
check_eq "refused connect: connect_done ECONNREFUSED" \
	"$(evq refused 'select(.type == "connect_done") | .error')" ECONNREFUSED
grep -q '^ERR 111' "$TMP/refused.out" || fail "refused client saw ECONNREFUSED" "$(cat "$TMP/refused.out")"
check_eq "other processes never appear (port 8081)" \
	"$(cat "$TMP"/{srv,cli}.json | jq -r 'select(.sport == 8081 or .dport == 8081) | 1' | wc -l)" 0
check_eq "only the target's pid" \
	"$(evq srv "select(.type != \"summary\" and .pid != $SRV1) | 1" | wc -l)" 0
check_eq "no events lost" "$(cat "$TMP"/{srv,cli}.json | jq -r 'select(.type == "summary") | .lost' | sort -u)" 0

# ---- accepted after the peer closed or reset it: the accept says so ----
# Six connections wait in the accept queue, three closed by the client
# (FIN: CLOSE_WAIT), three reset (SO_LINGER 0: CLOSE, and the kernel has
# zeroed the child's local port, tcp_set_state(TCP_CLOSE)); then the server
# accepts them all.
start_server late -W -p 8083 -t 300 accept 6
LATE=$SRV_PID
start_tracer "$LATE" late || finish
in_ns "$TB/ev_client" 127.0.0.1 8083 3 >"$TMP/late_fin.out" 2>&1
in_ns "$TB/ev_client" -R 127.0.0.1 8083 3 >"$TMP/late_rst.out" 2>&1
sleep 0.3
kill -USR1 "$LATE"
wait_for 10 grep -q DONE "$TMP/late.out"
sleep 0.2
stop_tracer
kill "$LATE"
wait "$LATE" 2>/dev/null
fin_ports=$(awk '/^CONN/ { print $2 }' "$TMP/late_fin.out" | sort -n | tr '\n' ' ')
rst_ports=$(awk '/^CONN/ { print $2 }' "$TMP/late_rst.out" | sort -n | tr '\n' ' ')
check_eq "server accepted 6 connections closed while queued" "$(grep -c '^ACCEPT' "$TMP/late.out")" 6
check_eq "accepted after the peer's FIN: state CLOSE_WAIT (peer ports)" \
	"$(evq late 'select(.type == "accept" and .state == "CLOSE_WAIT" and .sport == 8083) | .dport' | sort -n | tr '\n' ' ')" \
	"$fin_ports"
check_eq "accepted after a reset: state CLOSE, local port 8083 kept (peer ports)" \
	"$(evq late 'select(.type == "accept" and .state == "CLOSE" and .sport == 8083) | .dport' | sort -n | tr '\n' ' ')" \
	"$rst_ports"
# The function tiers time the wait in the socket's entry, which ends with
# its CLOSE: a reset one's wait comes from its child_queued, in user space.
check_eq "accepted late: the wait in the queue measured, reset ones too (6 of 6)" \
	"$(evq late 'select(.type == "accept" and .latency_ns >= 300000000) | 1' | wc -l)" 6

# ---- IPv6, text output, --filter ----
start_server srv6 -6 -p 8086 -t 300 accept 3
SRV6=$SRV_PID
bg "$SOCKTRACE" -p "$SRV6" --events "${MODE_ARGS[@]}" >"$TMP/srv6.txt" 2>"$TMP/srv6.err"
TXT_ST=$BG_PID
start_tracer "$SRV6" srv6f --filter accept,close
wait_for 180 grep -q 'tracing pid' "$TMP/srv6.err"
in_ns "$TB/ev_client" -6 ::1 8086 3 >"$TMP/cli6.out" 2>&1
wait_for 5 grep -q DONE "$TMP/srv6.out"
sleep 0.2
stop_tracer
kill -INT "$TXT_ST"
wait "$TXT_ST"
ports6=$(awk '/^CONN/ { print $2 }' "$TMP/cli6.out" | sort -n | tr '\n' ' ')
check_eq "ipv6: accept events (peer ports)" \
	"$(evq srv6f 'select(.type == "accept" and .family == "ipv6" and .saddr == "::1") | .dport' | sort -n | tr '\n' ' ')" "$ports6"
check_eq "--filter accept,close: only those types" \
	"$(evq srv6f 'select(.type != "summary") | .type' | sort -u | tr '\n' ' ')" "accept close "
check_eq "text: one accept line per connection" \
	"$(grep -cE '^[0-9]+\.[0-9]{6} accept +[0-9]+/ev_server fd [0-9]+ \[::1\]:8086 <- \[::1\]:[0-9]+ accept queue [0-9]+/[0-9]+, waited' "$TMP/srv6.txt")" 3
# (an event out of time order is said after the loss, and is not one: the
# kprobe tier under QEMU's emulation had one)
check_match "text: exit summary on stderr" '^socktrace: SIGINT: [0-9]+ events.*; 0 lost(; [0-9]+ out of time order)?$' "$(tail -1 "$TMP/srv6.err")"
kill "$SRV6"

# ---- loss is counted, never silent: a 4 KiB ring against 300 connections ----
start_server lossy -p 8087 -t 300 accept 300
LOSSY=$SRV_PID
SOCKTRACE_RING_KB=4 start_tracer "$LOSSY" lossy
in_ns "$TB/ev_client" 127.0.0.1 8087 300 >/dev/null 2>&1
wait_for 10 grep -q DONE "$TMP/lossy.out"
stop_tracer
kill "$LOSSY"
lost_sum=$(evq lossy 'select(.type == "lost") | .count' | awk '{ s += $1 } END { print s + 0 }')
lost_summary=$(evq lossy 'select(.type == "summary") | .lost')
if [ "$lost_sum" -gt 0 ]; then pass "small ring: events lost and reported ($lost_sum)"
else fail "small ring: events lost and reported" "lost events sum $lost_sum"; fi
check_eq "lost events add up to the summary" "$lost_sum" "$lost_summary"
check_match "lost count in the exit line" "; $lost_summary lost(\$|;| \()" "$(tail -1 "$TMP/lossy.err")"

# ---- attached to a server under full churn ----
# The seed snapshot sees sockets that close before their seed lands; their
# memory goes to new sockets, the client's among them. The programs attach
# one at a time, milliseconds apart when the CPUs are busy. And the kernel
# skips a tracepoint program that a softirq interrupts on the same CPU
# (bpftool: recursion_misses, hundreds a second here), which
# tp_set_state_again makes up for. None of it may turn another process's
# socket into the server's (it never connects), hide an accepted
# connection's end, or lose anything, skipped runs included. The last three
# attaches run with two CPU hogs beside the load, which stretches those
# windows: before the programs were armed together and seeds were checked
# where the accept path meets them, they showed an unseen end in about half
# the attaches and a foreign connect in one of 30.
# A load test, on the host only (under emulation each attach takes seconds).
# In the QEMU matrix under multi-threaded TCG, attaching and detaching under
# this load crashed or stalled the guests now and then ("Oops: int3" on
# inet_sock_set_state's jump site while it is patched: the emulator's, see
# tests/vmtest/boot.sh; the matrix now runs TCG single-threaded).
# accept events whose socket's next event in time (the stream's order may
# differ: see the runs' "late") is another connection's: its end went unseen (a
# socket reset before it was accepted is in state CLOSE: its end came
# before the accept). Each such accept and the event after it, a line each,
# in $TMP/$1.unseen; the count on stdout.
unseen_ends() {
	jq -sc '[to_entries[] | select(.value.sk_id)] | group_by(.value.sk_id)
		| map(sort_by(.value.time_ns, .key) | . as $l | range(0; length - 1)
			| select($l[.].value.type == "accept" and $l[.].value.state != "CLOSE"
				 and $l[. + 1].value.dport != $l[.].value.dport)
			| [$l[.].value, $l[. + 1].value])
		| .[]' "$TMP/$1.json" >"$TMP/$1.unseen"
	wc -l <"$TMP/$1.unseen"
}
if [ -z "$SOCKTRACE_MODE" ]; then
	# full speed: no accept-queue overflow stalls, TIME_WAIT ports reused
	in_ns sh -c 'echo 65535 >/proc/sys/net/core/somaxconn; echo 1 >/proc/sys/net/ipv4/tcp_tw_reuse'
	# (the load runs until killed: under emulation each attach takes seconds)
	bg ip netns exec "$NS" "$TB/churn" server -t 600 >"$TMP/churn.out"
	CHURN_SRV=$BG_PID
	if wait_for 10 grep -q SERVER "$TMP/churn.out"; then
		read -r _ churn_pid churn_port <"$TMP/churn.out"
		bg ip netns exec "$NS" "$TB/churn" client -j 2 "$churn_port" 600
		CHURN_CLI=$BG_PID
		sleep 1
		connects=0 accepts=0 lost=0 late=0 unseen=0 hogs= runs=0
		for i in 1 2 3 4 5 6; do
			if [ "$i" -eq 4 ]; then
				for _ in 1 2; do bg yes; hogs="$hogs $BG_PID"; done >/dev/null
			fi
			start_tracer "$churn_pid" "churn$i" --duration 1 || break
			wait "$ST_PID"
			runs=$i
		done
		# shellcheck disable=SC2086 # a list of pids
		[ -n "$hogs" ] && kill $hogs 2>/dev/null
		# The seeding thread preempted between a listener's steps (a
		# test hook pauses it 20 ms at each). When the listener's entry
		# came first and a child of a listener found there was followed
		# by its port, the children accepted before the port's bit was
		# set had their ends hidden: about 600 here; in CI, unpaused,
		# in one attach in some tens.
		paused=0
		if SOCKTRACE_TEST_SEED_PAUSE_US=20000 start_tracer "$churn_pid" churn_pause --duration 1; then
			wait "$ST_PID"
			paused=1
		fi
		# Events held back for the stages, or not (a test hook hands on
		# all it reads at once): then some come after later ones, and
		# the late count says so.
		nohold=0
		if SOCKTRACE_TEST_NO_HOLD=1 start_tracer "$churn_pid" churn_nohold --duration 1; then
			wait "$ST_PID"
			nohold=1
		fi
		# the load stopped before the runs' events are read: jq beside
		# it took a minute of this test
		kill "$CHURN_CLI" 2>/dev/null
		nosummary=0
		for i in $(seq "$runs"); do
			read -r c a l o <<<"$(jq -rs '[(map(select(.type == "connect")) | length),
				(map(select(.type == "accept")) | length),
				(map(select(.type == "summary"))[0] | (.lost // "none"), (.late // "none"))]
				| @tsv' "$TMP/churn$i.json")"
			# (no summary, or jq refused the file: all four unread)
			if ! [[ $l =~ ^[0-9]+$ && $o =~ ^[0-9]+$ ]]; then
				nosummary=$((nosummary + 1)) c=0 a=0 l=0 o=0
			fi
			connects=$((connects + c)) accepts=$((accepts + a)) lost=$((lost + l))
			late=$((late + o))
			u=$(unseen_ends "churn$i")
			# what the kernel did, for the record where it happened
			[ "$u" -gt 0 ] && sed 's/^/  unseen (run '"$i"'): /' "$TMP/churn$i.unseen" | head -4
			unseen=$((unseen + u))
		done
		# The server never connects: every connect event is another
		# process's socket passing for its.
		if [ "$connects" -gt 0 ]; then
			for i in 1 2 3 4 5 6; do
				evq "churn$i" 'select(.type == "connect" or .type == "connect_done") | tostring'
			done | head -5 | sed 's/^/  foreign: /'
		fi
		check_eq "under churn, 6 attaches: connect events (the server never connects)" \
			"$connects" 0
		check_eq "under churn: accepted connections whose end went unseen" "$unseen" 0
		if [ "$paused" = 1 ]; then
			check_eq "under churn, seeding paused: accepted connections whose end went unseen" \
				"$(unseen_ends churn_pause)" 0
			check_eq "under churn, seeding paused: no events lost" \
				"$(evq churn_pause 'select(.type == "summary") | .lost')" 0
		fi
		if [ "$nohold" = 1 ]; then
			o=$(evq churn_nohold 'select(.type == "summary") | .late')
			if [[ $o =~ ^[0-9]+$ ]] && [ "$o" -gt 0 ]; then
				pass "under churn, nothing held back: events out of time order counted ($o)"
			else
				fail "under churn, nothing held back: events out of time order counted" "late '$o'"
			fi
			check_match "under churn, nothing held back: said at exit" "out of time order" \
				"$(cat "$TMP/churn_nohold.err")"
		fi
		if [ "$accepts" -gt 0 ]; then pass "under churn: accepts seen ($accepts)"
		else fail "under churn: accepts seen" "none"; fi
		check_eq "under churn: no events lost" "$lost" 0
		# (said, not checked: a program held between an event's time and
		# its staging for over 1 ms, by a softirq or a VM's host, makes
		# one late; see README)
		echo "  under churn: events out of time order (late): $late"
		check_eq "under churn: each run's summary line" "$nosummary" 0
	else
		fail "churn server started" "$(cat "$TMP/churn.out")"
	fi
	kill "$CHURN_SRV" 2>/dev/null
else
	skip "under churn" "host only (SOCKTRACE_MODE=$SOCKTRACE_MODE)"
fi

# ---- accept-queue overflow: backlog 2, 50 connects, nobody accepts ----
# overflow_diag RUN EXIT GOT WANT: where an overflow count (GOT) differs
# from the kernel's (WANT), what tracer run RUN saw instead.
overflow_diag() {
	[ "$3" = "$4" ] && return
	echo "  tracer exit status $2; its stderr:"
	sed 's/^/  | /' "$TMP/$1.err" | tail -n 4
	evq "$1" '.type' | sort | uniq -c | tr '\n' ' ' | sed 's/^/  seen: /; s/$/\n/'
	# the drops come in two bursts, the SYNs and their retransmits a second
	# later: which one, from the first event (the first SYN's), and was the
	# tracer still there for the second
	[ -n "${5:-}" ] && echo "  tracer running when the client was done: $5"
	evq "$1" 'select(.type == "accept_overflow") | "\(.fd) \(.dropped)"' | sort | uniq -c |
		tr '\n' ' ' | sed 's/^/  overflows by fd and what was dropped: /; s/$/\n/'
	evq "$1" 'select(.type != "summary") | "\(.type) \(.time_ns)"' |
		awk 'NR == 1 { t0 = $2 } $1 == "accept_overflow" { n[int(($2 - t0) / 5e8)]++ }
		     END { for (b in n) printf "  overflows at %.1f s after the first event: %d\n", b / 2, n[b] }'
	grep -c . "$TMP/$1.json" | sed 's/^/  lines: /'
	jq -c 'select(.type == "summary")' "$TMP/$1.json" 2>&1 | tail -n1 | sed 's/^/  /'
}
# overflow_run ABORT PORT [TAG [SOCKTRACE_ARGS...]]; sets EXIT_PROGS (how
# many syscall exit programs the tracer held).
overflow_run() {
	local abort=$1 port=$2 tag=${3:+ ($3)} n0 n1 events unseen
	EXIT_PROGS=-1
	shift $(($# < 3 ? $# : 3))
	set_abort "$abort"
	start_server "ovf$port" -p "$port" -b 2 -t 300 noaccept
	local srv=$SRV_PID
	start_tracer "$srv" "ovf$port" "$@" || return
	EXIT_PROGS=$(held_exit_progs "$ST_PID")
	n0=$(nstat_get "$NS" TcpExtListenOverflows)
	local alive=no
	in_ns "$TB/ev_client" -H 2 127.0.0.1 "$port" 50 >/dev/null
	kill -0 "$ST_PID" 2>/dev/null && alive=yes
	kill "$srv"
	wait "$srv" 2>/dev/null
	n1=$(nstat_get "$NS" TcpExtListenOverflows)
	wait_for 5 grep -q 'process exited' "$TMP/ovf$port.err"
	wait "$ST_PID" 2>/dev/null
	local st_exit=$?
	events=$(count_type "ovf$port" accept_overflow)
	if [ $((n1 - n0)) -gt 0 ]; then pass "abort_on_overflow=$abort$tag: the kernel saw overflows ($((n1 - n0)))"
	else fail "abort_on_overflow=$abort$tag: the kernel saw overflows" "delta $((n1 - n0))"; fi
	check_eq "abort_on_overflow=$abort$tag: tracer still running when the client was done" \
		"$alive" yes
	unseen=$(evq "ovf$port" 'select(.type == "summary") | .drops_unseen')
	# (the kernel's drops either told as events or counted as unseen)
	check_eq "abort_on_overflow=$abort$tag: accept_overflow events + drops no hook saw = TcpExtListenOverflows delta" \
		"$((events + ${unseen:-0}))" "$((n1 - n0))"
	if [ "$events" != "$((n1 - n0))" ] && [ "${unseen:-0}" -gt 0 ]; then
		skip "abort_on_overflow=$abort$tag: accept_overflow events = TcpExtListenOverflows delta" \
			"got $events, want $((n1 - n0)); inconclusive: the tracer said $unseen drops went unseen by its hooks"
	else
		check_eq "abort_on_overflow=$abort$tag: accept_overflow events = TcpExtListenOverflows delta" \
			"$events" "$((n1 - n0))"
	fi
	overflow_diag "ovf$port" "$st_exit" "$events" "$((n1 - n0))" "$alive"
	check_eq "abort_on_overflow=$abort$tag: overflow events name the full queue" \
		"$(evq "ovf$port" 'select(.type == "accept_overflow" and .accept_queue > .queue_max) | 1' | wc -l)" \
		"$events"
}
overflow_run 0 8090
overflow_run 1 8091
if [ "$EXIT_PROGS" -gt 0 ]; then pass "all events: syscall exit programs held ($EXIT_PROGS)"
else fail "all events: syscall exit programs held" "none"; fi
# The listeners' queue events alone take nothing from a syscall's exit: a
# filter of them loads no program for one (on this tier no syscall
# tracepoint, so no slow path for every syscall of every task), and the
# overflows are counted all the same.
for abort in 0 1; do
	overflow_run "$abort" $((8070 + abort)) "listener events only" \
		--filter accept_overflow,syn_queue_full,syn_recv,child_queued
	check_eq "abort_on_overflow=$abort, listener events only: syscall exit programs held" \
		"$EXIT_PROGS" 0
	check_match "abort_on_overflow=$abort, listener events only: said so" "no syscall exits" \
		"$(head -n1 "$TMP/ovf$((8070 + abort)).err")"
done

# Two listeners on one port (SO_REUSEPORT, as nginx's `reuseport` makes),
# each with backlog 2: the kernel spreads the SYNs over both, and each
# drop, each queued child is the listener's it happened on. The client on
# one CPU: loopback's packets are then handled there one at a time (with
# two CPUs queueing children on one listener at once, each reads the depth
# both left, as the VM matrix showed: '1 2 2 2 3 3').
start_server ovfrp -r 2 -p 8093 -b 2 -t 300 noaccept
RP=$SRV_PID
if start_tracer "$RP" ovfrp; then
	n0=$(nstat_get "$NS" TcpExtListenOverflows)
	in_ns taskset -c 0 "$TB/ev_client" -H 2 127.0.0.1 8093 50 >/dev/null
	check_eq "SO_REUSEPORT: each listener's accept queue full (ss)" "$(ss_queues 8093)" "3 3 "
	kill "$RP"
	wait "$RP" 2>/dev/null
	# after the listeners are gone: a client a SYN cookie answered thinks
	# it is connected though its ACK met a full queue, and its FIN at close
	# passes for a cookie too (one more overflow), and then the orphaned
	# FIN_WAIT1 socket retransmits it (more) after the client exited. So
	# when the SYN queues filled (6.1's fentry tier in the VM matrix: 45
	# syn_queue_full), the kernel had counted 87 by the client's exit and
	# socktrace 130 by the listeners' close.
	n1=$(nstat_get "$NS" TcpExtListenOverflows)
	wait_for 5 grep -q 'process exited' "$TMP/ovfrp.err"
	wait "$ST_PID" 2>/dev/null
	st_exit=$?
	events=$(count_type ovfrp accept_overflow)
	check_eq "SO_REUSEPORT, 2 listeners: accept_overflow events = TcpExtListenOverflows delta" \
		"$events" "$((n1 - n0))"
	overflow_diag ovfrp "$st_exit" "$events" "$((n1 - n0))"
	check_eq "SO_REUSEPORT: overflows on both listeners (their fds)" \
		"$(evq ovfrp 'select(.type == "accept_overflow" and .accept_queue > .queue_max) | .fd' | sort -un | tr '\n' ' ')" "3 4 "
	check_eq "SO_REUSEPORT: children queued on each listener's own queue (depths)" \
		"$(evq ovfrp 'select(.type == "child_queued") | .accept_queue' | sort -n | tr '\n' ' ')" "1 1 2 2 3 3 "
	check_eq "SO_REUSEPORT: children queued on both listeners (their fds, 3 each)" \
		"$(evq ovfrp 'select(.type == "child_queued") | .fd' | sort -n | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')" "3:3 4:3 "
fi

# The same group formed while socktrace watches: the second listener's
# listen() (-L 1), or both (-L 0), after it attached.
for hold in 1 0; do
	port=$((8094 + hold))
	bg ip netns exec "$NS" "$TB/ev_server" -r 2 -L "$hold" -p "$port" -b 2 -t 300 noaccept \
		>"$TMP/ovfrl$hold.out" 2>&1
	RP=$BG_PID
	wait_for 5 grep -q '^HOLD' "$TMP/ovfrl$hold.out" || fail "-L $hold server held" "$(cat "$TMP/ovfrl$hold.out")"
	start_tracer "$RP" "ovfrl$hold" || continue
	kill -USR1 "$RP"
	wait_for 5 test "$(grep -c '^LISTEN' "$TMP/ovfrl$hold.out")" -eq 2
	n0=$(nstat_get "$NS" TcpExtListenOverflows)
	in_ns taskset -c 0 "$TB/ev_client" -H 2 127.0.0.1 "$port" 50 >/dev/null
	check_eq "SO_REUSEPORT, $((2 - hold)) of 2 listen() after attach: each listener's accept queue full (ss)" \
		"$(ss_queues "$port")" "3 3 "
	kill "$RP"
	wait "$RP" 2>/dev/null
	n1=$(nstat_get "$NS" TcpExtListenOverflows) # (after, as above)
	wait_for 5 grep -q 'process exited' "$TMP/ovfrl$hold.err"
	wait "$ST_PID" 2>/dev/null
	st_exit=$?
	what="SO_REUSEPORT, $((2 - hold)) of 2 listen() after attach"
	events=$(count_type "ovfrl$hold" accept_overflow)
	check_eq "$what: accept_overflow events = TcpExtListenOverflows delta" \
		"$events" "$((n1 - n0))"
	overflow_diag "ovfrl$hold" "$st_exit" "$events" "$((n1 - n0))"
	check_eq "$what: overflows on both listeners (their fds)" \
		"$(evq "ovfrl$hold" 'select(.type == "accept_overflow" and .accept_queue > .queue_max) | .fd' | sort -un | tr '\n' ' ')" "3 4 "
	check_eq "$what: children queued on each listener's own queue (depths)" \
		"$(evq "ovfrl$hold" 'select(.type == "child_queued") | .accept_queue' | sort -n | tr '\n' ' ')" "1 1 2 2 3 3 "
done

# ---- clients a SYN cookie answered, whose final ACKs met a full queue ----
# Each thinks it is connected; its FIN at close passes for a cookie and
# meets the full queue (an overflow), and its orphaned FIN_WAIT1 socket
# retransmits that FIN after the client exited (more): the kernel's count
# goes on growing until the listener closes, and the events with it (the
# VM matrix's SO_REUSEPORT run came to this when its SYN queues filled).
# tcp_syncookies=2 and the final ACKs dropped while the clients connect
# make it here. Host only: a few more tracer starts per tier would lengthen
# the VM matrix, and the counting is the tier's, tested above.
if [ -z "${SOCKTRACE_MODE:-}" ]; then
	start_server finrtx -p 8097 -b 2 -t 300 noaccept
	FR=$SRV_PID
	if start_tracer "$FR" finrtx; then
		in_ns sh -c 'echo 2 >/proc/sys/net/ipv4/tcp_syncookies'
		in_ns nft add table inet "fin$$"
		in_ns nft add chain inet "fin$$" in '{ type filter hook input priority 0; }'
		in_ns nft add rule inet "fin$$" in tcp dport 8097 'tcp flags & (syn|ack|fin|rst) == ack' drop
		n0=$(nstat_get "$NS" TcpExtListenOverflows)
		bg ip netns exec "$NS" "$TB/ev_client" -H 2 127.0.0.1 8097 20 >/dev/null
		fr_cli=$BG_PID
		wait_for 5 bash -c "[ \$(ip netns exec $NS ss -Htn state established dst 127.0.0.1:8097 | wc -l) -ge 20 ]"
		in_ns nft delete table inet "fin$$"
		wait "$fr_cli"
		n_exit=$(nstat_get "$NS" TcpExtListenOverflows)
		sleep 2
		kill "$FR"
		wait "$FR" 2>/dev/null
		n1=$(nstat_get "$NS" TcpExtListenOverflows)
		in_ns sh -c 'echo 1 >/proc/sys/net/ipv4/tcp_syncookies'
		wait_for 5 grep -q 'process exited' "$TMP/finrtx.err"
		wait "$ST_PID" 2>/dev/null
		st_exit=$?
		if [ $((n1 - n_exit)) -gt 0 ]; then
			pass "cookie clients: overflows went on after the client's exit ($((n_exit - n0)) then $((n1 - n0)))"
		else
			fail "cookie clients: overflows went on after the client's exit" "$((n_exit - n0)) then $((n1 - n0))"
		fi
		events=$(count_type finrtx accept_overflow)
		check_eq "cookie clients: accept_overflow events = TcpExtListenOverflows delta (to the listener's close)" \
			"$events" "$((n1 - n0))"
		overflow_diag finrtx "$st_exit" "$events" "$((n1 - n0))"
	fi
fi

# ---- children made from SYN cookies ----
# With tcp_syncookies=2 every SYN is answered with a cookie and every child
# is made from the final ACK's (tcp_get_cookie_sock(), not the hashdance of
# a request socket): as a full SYN queue under a flood makes them. The
# server does not accept: a connection it closed would leave the client's
# last ACK to reach the listener, where it passes for a cookie and makes a
# second child of that peer (so the kernel does; the VM matrix saw it).
start_server cookie -p 8096 -b 16 -t 300 noaccept
CK=$SRV_PID
if start_tracer "$CK" cookie; then
	in_ns sh -c 'echo 2 >/proc/sys/net/ipv4/tcp_syncookies'
	c0=$(nstat_get "$NS" TcpExtSyncookiesRecv)
	in_ns taskset -c 0 "$TB/ev_client" -H 1 127.0.0.1 8096 5 >"$TMP/cookie_cli.out" 2>&1
	c1=$(nstat_get "$NS" TcpExtSyncookiesRecv)
	in_ns sh -c 'echo 1 >/proc/sys/net/ipv4/tcp_syncookies'
	ck_queue=$(ss_queues 8096)
	sleep 0.3
	stop_tracer
	kill "$CK"
	ck_ports=$(awk '/^CONN/ { print $2 }' "$TMP/cookie_cli.out" | sort -n | tr '\n' ' ')
	check_eq "syncookies=2: every child made from a cookie (TcpExtSyncookiesRecv delta)" \
		"$((c1 - c0))" 5
	check_eq "syncookies=2: the listener's accept queue holds them (ss)" "$ck_queue" "5 "
	check_eq "syncookies=2: child_queued for each (peer ports)" \
		"$(evq cookie 'select(.type == "child_queued") | .dport' | sort -n | tr '\n' ' ')" "$ck_ports"
	check_eq "syncookies=2: child_queued depths" \
		"$(evq cookie 'select(.type == "child_queued") | .accept_queue' | sort -n | tr '\n' ' ')" "1 2 3 4 5 "
fi

# ---- the SYNs: told by consume_skb's caller, or by every packet's headers ----
# consume_skb passes its caller since 6.3: only tcp_rcv_state_process()'s
# packets (the SYNs a listener took) are read, by kallsyms' address of it.
# With kallsyms' addresses hidden (kptr_restrict=2) or an older kernel,
# every consumed packet's headers are, and the counts must be the same.
syn_by=$("$SOCKTRACE" --probe --json 2>/dev/null | jq -r .syn_packets)
if kernel_at_least 6 3; then
	check_match "--probe: SYNs told by consume_skb's caller ($(uname -r))" "^by caller" "$syn_by"
	kptr_was=$(cat /proc/sys/kernel/kptr_restrict)
	on_exit "echo $kptr_was >/proc/sys/kernel/kptr_restrict"
	echo 2 >/proc/sys/kernel/kptr_restrict
	check_match "--probe, kallsyms hidden: every packet's headers read" "^every consumed packet" \
		"$("$SOCKTRACE" --probe --json 2>/dev/null | jq -r .syn_packets)"
	overflow_run 0 8092 "kallsyms hidden"
	echo "$kptr_was" >/proc/sys/kernel/kptr_restrict
else
	check_match "--probe: SYNs told by every packet's headers ($(uname -r))" "^every consumed packet" \
		"$syn_by"
fi

# The final-ACK path: hold two handshakes in the SYN queue (the client's
# ACKs dropped), fill the accept queue, then let the ACKs through.
ack_overflow_run() {
	local abort=$1 port=$2 name=$3 n0 n1 held
	ACK_SEEN=0 ACK_HELD=0
	set_abort "$abort"
	start_server "$name" -p "$port" -b 2 -t 300 noaccept
	local srv=$SRV_PID
	start_tracer "$srv" "$name" || return
	n0=$(nstat_get "$NS" TcpExtListenOverflows)
	in_ns nft add table inet "ev$$"
	in_ns nft add chain inet "ev$$" in '{ type filter hook input priority 0; }'
	in_ns nft add rule inet "ev$$" in tcp dport "$port" 'tcp flags & (syn|ack|fin|rst) == ack' drop
	# A: two handshakes held in the SYN queue (their final ACKs dropped),
	# past the SYN-ACK retransmits at 1, 3 and 7 s
	bg ip netns exec "$NS" "$TB/ev_client" -H 8 127.0.0.1 "$port" 2 >"$TMP/$name.a"
	local ca=$BG_PID
	held=0
	wait_for 10 bash -c "[ \$(ip netns exec $NS ss -Htn state syn-recv | wc -l) -ge 2 ]" && held=1
	# B: three connections fill the accept queue (SYN cookies: the SYN
	# queue is full) while A's ACKs stay dropped, whatever the timing
	local aports
	aports=$(awk '/^CONN/ { printf "%s%s", n++ ? "," : "", $2 }' "$TMP/$name.a")
	# (the new table first, then the old one away: no window for A's ACKs)
	in_ns nft add table inet "ev$$"b
	in_ns nft add chain inet "ev$$"b in '{ type filter hook input priority 0; }'
	in_ns nft add rule inet "ev$$"b in tcp dport "$port" tcp sport "{ $aports }" \
		'tcp flags & (syn|ack|fin|rst) == ack' drop
	in_ns nft delete table inet "ev$$"
	bg ip netns exec "$NS" "$TB/ev_client" -H 7 127.0.0.1 "$port" 3 >"$TMP/$name.b"
	local cb=$BG_PID
	wait_for 10 bash -c "[ \$(ip netns exec $NS ss -Htln sport = :$port | awk '{ print \$2 }') -ge 3 ]"
	# then A's next retransmitted SYN-ACK gets an ACK through: dropped
	in_ns nft delete table inet "ev$$"b
	wait "$ca" "$cb"
	kill "$srv"
	wait "$srv" 2>/dev/null
	n1=$(nstat_get "$NS" TcpExtListenOverflows)
	wait "$ST_PID" 2>/dev/null
	check_eq "abort_on_overflow=$abort: final-ACK scenario: events = TcpExtListenOverflows delta" \
		"$(count_type "$name" accept_overflow)" "$((n1 - n0))"
	ACK_SEEN=$(evq "$name" 'select(.type == "accept_overflow" and .dropped == "ack") | 1' | wc -l)
	ACK_HELD=$held
}
# Under emulation (the VM matrix) the setup can outlast the SYN-ACK
# retransmits, and then no final ACK is dropped: one more try.
for abort in 0 1; do
	for try in 1 2; do
		ack_overflow_run "$abort" $((8092 + abort + 10 * try)) "ack${abort}_$try"
		[ "$ACK_SEEN" -gt 0 ] && break
	done
	if [ "$ACK_SEEN" -gt 0 ]; then
		pass "abort_on_overflow=$abort: final-ACK overflows seen (try $try)"
	elif [ "$ACK_HELD" != 1 ]; then
		skip "abort_on_overflow=$abort: final-ACK overflows seen" "the SYN queue never held the 2 handshakes (slow machine?)"
	else
		fail "abort_on_overflow=$abort: final-ACK overflows seen" "$(evq "ack${abort}_2" '.type' | sort | uniq -c | tr '\n' ' ')"
	fi
done
set_abort 0

# ---- SYN retransmits: the SYN-ACKs lost, the client's SYN sent again ----
# A retransmitted SYN meets its request socket (tcp_check_req() answers it
# with a SYN-ACK) and is freed with kfree_skb, after tcp_v4_rcv() added it
# to the listener's sk_drops: neither a new request nor a drop. nft counts
# what went on the wire: SYN-ACKs sent (output) and SYNs arrived (input).
pkts() { in_ns nft list chain inet "rtx$$" "$1" | grep -oE 'packets [0-9]+' | awk '{ print $2 }'; }
start_server rtx -p 8084 -t 300 accept 2
RTX=$SRV_PID
start_tracer "$RTX" rtx || finish
n0=$(nstat_get "$NS" TcpExtListenDrops)
in_ns nft add table inet "rtx$$"
in_ns nft add chain inet "rtx$$" out '{ type filter hook output priority 0; }'
in_ns nft add rule inet "rtx$$" out tcp sport 8084 'tcp flags & (syn|ack) == syn|ack' counter
in_ns nft add chain inet "rtx$$" in '{ type filter hook input priority 0; }'
in_ns nft add rule inet "rtx$$" in tcp dport 8084 'tcp flags & (syn|ack) == syn' counter
in_ns nft add rule inet "rtx$$" in tcp sport 8084 'tcp flags & (syn|ack) == syn|ack' drop
bg ip netns exec "$NS" "$TB/ev_client" 127.0.0.1 8084 2 >"$TMP/rtx_cli.out" 2>&1
RTX_CLI=$BG_PID
sleep 3.5
# the drop rule away (the counters stay): the next SYN-ACK gets through
in_ns nft delete rule inet "rtx$$" in handle \
	"$(in_ns nft -a list chain inet "rtx$$" in | awk '/drop/ { print $NF }')"
wait "$RTX_CLI"
wait_for 10 grep -q DONE "$TMP/rtx.out"
sleep 0.2
synacks=$(pkts out) syns=$(pkts in)
in_ns nft delete table inet "rtx$$"
stop_tracer
kill "$RTX"
wait "$RTX" 2>/dev/null
n1=$(nstat_get "$NS" TcpExtListenDrops)
rtx_ports=$(awk '/^CONN/ { print $2 }' "$TMP/rtx_cli.out" | sort -n | tr '\n' ' ')
check_eq "SYN retransmits: 2 connections made" "$(grep -c '^ACCEPT' "$TMP/rtx.out")" 2
if [ "${syns:-0}" -gt 2 ]; then pass "SYN retransmits: the client sent $((syns - 2)) SYNs again"
else fail "SYN retransmits: the client sent SYNs again" "SYNs seen: ${syns:-none}"; fi
check_eq "SYN retransmits: syn_recv events = the connections (peer ports)" \
	"$(evq rtx 'select(.type == "syn_recv") | .dport' | sort -n | tr '\n' ' ')" "$rtx_ports"
check_eq "SYN retransmits: no syn_queue_full or overflow (ListenDrops delta $((n1 - n0)))" \
	"$(evq rtx 'select(.type == "syn_queue_full" or .type == "accept_overflow") | .type' | wc -l)" "$((n1 - n0))"
check_eq "SYN retransmits: synack_retrans events = SYN-ACKs sent beyond the first ($synacks sent)" \
	"$(count_type rtx synack_retrans)" "$((${synacks:-0} - 2))"

# ---- epoll: wake-ups and epoll_wait returns ----
if [ "$EPOLL_TIER" = none ]; then
	skip "epoll events" "no tier for ep_poll_callback on this kernel (see --probe)"
else
	start_server ep -p 8085 -t 300 epoll
	EP_SRV=$SRV_PID
	start_tracer "$EP_SRV" ep
	EP_ST=$ST_PID
	# a second tracer wanting only the returns: their delay comes from
	# wake-ups user space asks for and does not print (-v in the fentry
	# tier: it says when fexit alone takes the syscall exits)
	vopt=()
	[ "$SOCKTRACE_MODE" = fentry ] && vopt=(-v)
	start_tracer "$EP_SRV" ep_f --filter epoll_wait_done "${vopt[@]}"
	# pauses so each connection's data and FIN arrive while registered
	in_ns "$TB/ev_client" -w 200 -s hello 127.0.0.1 8085 5 >"$TMP/ep_cli.out" 2>&1
	check_eq "epoll client exit status" "$?" 0
	wait_for 5 bash -c "[ \$(grep -c '^CLOSE' '$TMP/ep.out') -ge 5 ]"
	sleep 0.2
	stop_tracer
	ST_PID=$EP_ST
	stop_tracer
	kill "$EP_SRV"
	epfd=$(awk '/^EPFD/ { print $2 }' "$TMP/ep.out")
	ports=$(awk '/^CONN/ { print $2 }' "$TMP/ep_cli.out" | sort -n | tr '\n' ' ')
	check_eq "wake-ups for the listener = connections" \
		"$(evq ep "select(.type == \"ep_wakeup\" and .epfd == $epfd and .fd == 3) | 1" | wc -l)" 5
	# each connection is woken three times: the data, then the FIN's
	# sk_state_change() and its sk_data_ready()
	check_eq "wake-ups per connection: data and FIN's two, at least" \
		"$(evq ep "select(.type == \"ep_wakeup\" and .epfd == $epfd and .fd != 3) | .dport" | sort -n | uniq -c | awk '$1 < 3 { n++ } END { print n + 0 }')" 0
	# (a port the client got twice, as it may, is named once)
	# shellcheck disable=SC2086 # a list of ports
	check_eq "wake-ups name every connection" \
		"$(evq ep "select(.type == \"ep_wakeup\" and .fd != 3) | .dport" | sort -nu | tr '\n' ' ')" \
		"$(printf '%s\n' $ports | sort -nu | tr '\n' ' ')"
	check_eq "epoll_wait_done returns = the server's epoll_wait returns" \
		"$(evq ep "select(.type == \"epoll_wait_done\" and .epfd == $epfd and .count > 0) | 1" | wc -l)" \
		"$(grep -c '^WAIT' "$TMP/ep.out")"
	check_eq "epoll_wait_done counts sum to the ready fds the server got" \
		"$(evq ep "select(.type == \"epoll_wait_done\" and .epfd == $epfd) | .count" | awk '{ s += $1 } END { print s + 0 }')" \
		"$(grep -c '^READY' "$TMP/ep.out")"
	# fexit sees no call entered before its trampoline: the server's
	# epoll_wait, blocked at attach, was the tracepoint's, which was then
	# detached
	if [ "$SOCKTRACE_MODE" = fentry ]; then
		check_match "fentry: the tracepoint took the epoll_wait in progress at attach, then fexit alone" \
			"syscall exits by fexit alone" "$(cat "$TMP/ep_f.err")"
	fi
	# Every return follows a wake-up, which carries its delay: on every
	# tier, the FIN's too (sk_state_change(), which the tracepoint tier
	# tells from the state change; before, up to one return per
	# connection lacked its delay there).
	untimed=$(evq ep 'select(.type == "epoll_wait_done" and .count > 0 and .latency_ns == 0) | 1' | wc -l)
	timed=$(evq ep 'select(.type == "epoll_wait_done" and .count > 0 and .latency_ns > 0) | 1' | wc -l)
	check_eq "epoll_wait_done after a wake-up carries the delay" "$untimed" 0
	check "epoll_wait_done: returns with a delay ($timed)" test "$timed" -gt 0
	# (lost records are no type a filter leaves out)
	check_eq "--filter epoll_wait_done: only those" "$(evq ep_f 'select(.type != "summary" and .type != "lost") | .type' | sort -u | tr '\n' ' ')" "epoll_wait_done "
	# The returns and their counts are the kernel's: both tracers see the
	# same. Whether a return is timed is each tracer's own reading: a
	# wake-up raised while the previous epoll_wait was returning (the
	# client's next connect right after its close) is stamped by each
	# tracer's program with its own clock read, so one may place it before
	# that return and the other after, and give it to different returns.
	# Each such race moves one delay; hiding the wake-ups from the filtered
	# tracer's reckoning would untime most of its returns.
	check_ev "--filter epoll_wait_done: the same returns, with the same counts" ep_f \
		"$(evq ep_f 'select(.type == "epoll_wait_done" and .count > 0) | .count' | tr '\n' ' ')" \
		"$(evq ep 'select(.type == "epoll_wait_done" and .count > 0) | .count' | tr '\n' ' ')"
	timed_differ=$(paste -d' ' \
		<(evq ep_f 'select(.type == "epoll_wait_done" and .count > 0) | .latency_ns > 0') \
		<(evq ep 'select(.type == "epoll_wait_done" and .count > 0) | .latency_ns > 0') |
		awk '$1 != $2 { n++ } END { print n + 0 }')
	timed_f=$(evq ep_f 'select(.type == "epoll_wait_done" and .count > 0 and .latency_ns > 0) | 1' | wc -l)
	check "--filter epoll_wait_done: timed as the unfiltered tracer times them, but for at most 2 racing returns ($timed_differ differ; $timed_f timed of $timed)" \
		test "$timed_differ" -le 2 -a "$timed_f" -gt 0

	# An epoll fd closed with a wake-up pending and its number taken at once
	# by a new instance: the new one's first return owes nothing to the
	# closed one's wake-up (its listener was ready when added, which makes
	# no wake-up at all), so it has no delay, not the 0.5 s since then.
	start_server epr -p 8087 -t 300 epreuse
	EPR_SRV=$SRV_PID
	start_tracer "$EPR_SRV" epr
	in_ns "$TB/ev_client" 127.0.0.1 8087 1 >/dev/null 2>&1
	wait_for 20 grep -q '^EPFD2' "$TMP/epr.out"
	sleep 0.2
	stop_tracer
	kill "$EPR_SRV"
	read -r _ epfd1 <<<"$(grep '^EPFD ' "$TMP/epr.out")"
	read -r _ epfd2 _ nready <<<"$(grep '^EPFD2 ' "$TMP/epr.out")"
	check_eq "reused epoll fd: the new instance got the closed one's fd, and the listener ready" \
		"${epfd2:-none} ${nready:-none}" "${epfd1:-?} 1"
	check_eq "reused epoll fd: the closed instance's wake-up seen" \
		"$(evq epr "select(.type == \"ep_wakeup\" and .epfd == ${epfd1:--9}) | 1" | wc -l)" 1
	check_eq "reused epoll fd: the new instance's return, with no delay" \
		"$(evq epr "select(.type == \"epoll_wait_done\" and .epfd == ${epfd1:--9}) | \"\\(.count) \\(.latency_ns // 0)\"")" "1 0"

	# EPOLLEXCLUSIVE (nginx's listeners, one per worker): the kernel calls
	# such items in turn, and only until one has a task waiting in
	# epoll_wait. A child's instance, waiting, and the server's, never
	# waiting, watch one listener: the server's added second is never
	# called (the child's takes every wake-up); added first, it is called
	# each time, and with no task of its own waiting the wake-up goes on.
	# The kernel's answer: whether the listener (never accepted from) is on
	# the server's ready list at the end.
	for order in second first; do
		start_server "epx_$order" -p 8088 -t 300 epexcl "$order"
		EPX_SRV=$SRV_PID
		wait_for 5 grep -q '^OTHER ' "$TMP/epx_$order.out"
		start_tracer "$EPX_SRV" "epx_$order"
		in_ns "$TB/ev_client" -w 200 127.0.0.1 8088 4 >/dev/null 2>&1
		wait_for 5 bash -c "[ \$(grep -c '^OTHER_WAKE' '$TMP/epx_$order.out') -ge 4 ]"
		sleep 0.2
		stop_tracer
		kill -USR1 "$EPX_SRV"
		wait_for 5 grep -q '^READY' "$TMP/epx_$order.out"
		kill "$EPX_SRV"
		wait "$EPX_SRV" 2>/dev/null
		read -r _ epxfd <<<"$(grep '^EPFD ' "$TMP/epx_$order.out")"
		read -r _ ready <<<"$(grep '^READY ' "$TMP/epx_$order.out")"
		want_ready=0 want_wakes=0
		[ "$order" = first ] && want_ready=1 want_wakes=4
		check_eq "EPOLLEXCLUSIVE, the server's added $order: the child's instance woken by each connection" \
			"$(grep -c '^OTHER_WAKE' "$TMP/epx_$order.out")" 4
		check_eq "EPOLLEXCLUSIVE, the server's added $order: the listener on its ready list (the kernel's answer)" \
			"${ready:-none}" "$want_ready"
		check_eq "EPOLLEXCLUSIVE, the server's added $order: its wake-ups for the listener" \
			"$(evq "epx_$order" "select(.type == \"ep_wakeup\" and .epfd == ${epxfd:--9} and .fd == 3) | 1" | wc -l)" "$want_wakes"
		check_eq "EPOLLEXCLUSIVE, the server's added $order: no wake-up of another instance" \
			"$(evq "epx_$order" "select(.type == \"ep_wakeup\" and .epfd != ${epxfd:--9}) | 1" | wc -l)" 0
	done

	# A listener watched by more epoll instances than the walk's inline
	# part follows (8; nginx or a pre-fork server's workers, in one process
	# here): every one's wake-up, as every one's ready list says.
	start_server epm -p 8089 -t 300 epmany 20
	EPM_SRV=$SRV_PID
	wait_for 5 grep -q '^EPFDS' "$TMP/epm.out"
	# the snapshot's interest lists too (until this, 8 of them had it)
	check_eq "20 epoll instances on one listener: --once lists it in each one's interest list" \
		"$("$SOCKTRACE" -p "$EPM_SRV" --once --json 2>/dev/null | jq '[.epolls[] | select(any(.interest[]; .fd == 3))] | length')" 20
	start_tracer "$EPM_SRV" epm
	in_ns "$TB/ev_client" 127.0.0.1 8089 1 >/dev/null 2>&1
	sleep 0.3
	stop_tracer
	kill -USR1 "$EPM_SRV"
	wait_for 5 bash -c "[ \$(grep -c '^READY' '$TMP/epm.out') -ge 20 ]"
	kill "$EPM_SRV"
	wait "$EPM_SRV" 2>/dev/null
	check_eq "20 epoll instances on one listener: each has it ready (the kernel's answer)" \
		"$(awk '/^READY/ && $3 == 1 { n++ } END { print n + 0 }' "$TMP/epm.out")" 20
	check_eq "20 epoll instances on one listener: a wake-up for each" \
		"$(evq epm 'select(.type == "ep_wakeup" and .fd == 3) | .epfd' | sort -n | tr '\n' ' ')" \
		"$(sed -n 's/^EPFDS //p' "$TMP/epm.out" | tr ' ' '\n' | sort -n | tr '\n' ' ')"
	check_eq "20 epoll instances on one listener: nothing lost" "$(count_type epm lost)" 0

	# Wake-ups from state changes, not data (sk_state_change(), which
	# wakes every waiter with no key, and sk_error_report()'s EPOLLERR):
	# the function tiers hook ep_poll_callback() and count the kernel's
	# calls; the tracepoint tier tells them from the state changes. Each fd
	# is watched before anything happens to it, and only for events no
	# data brings (tests/progs/ev_epstate.c): a connect's end (EPOLLOUT:
	# one), a refused connect (the reset: one of each), the accepted side
	# of the client's FIN (EPOLLRDHUP: one), and the client through its
	# shutdown(SHUT_WR) (one), the ACK of its FIN (one) and the peer's close
	# (two: tcp_time_wait()'s and tcp_fin()'s). epoll_wait's answers are
	# the kernel's.
	bg ip netns exec "$NS" "$TB/ev_epstate" 8090 8091 >"$TMP/eps.out" 2>&1
	EPS=$BG_PID
	if ! wait_for 10 grep -q '^READY' "$TMP/eps.out"; then
		fail "state wake-ups: ev_epstate started" "$(cat "$TMP/eps.out")"
	elif start_tracer "$EPS" eps; then
		kill -USR1 "$EPS"
		wait_for 20 grep -q '^DONE' "$TMP/eps.out"
		sleep 0.2
		stop_tracer
		kill -USR1 "$EPS"
		wait "$EPS" 2>/dev/null
		epsfd() { awk -v n="$1" '$1 == "FD" && $2 == n { print $3 }' "$TMP/eps.out"; }
		epsgot() { awk -v n="$1" '$1 == "GOT" && $2 == n { print $3 }' "$TMP/eps.out"; }
		# wake-ups of fd $1 reporting events $2 (decimal), one line each
		epswakes() { evq eps "select(.type == \"ep_wakeup\" and .fd == ${1:--9} and .events == $2) | 1" | wc -l; }
		check_eq "state wake-ups: the kernel's answers (connect EPOLLOUT, refused ERR|HUP|OUT, FIN RDHUP, client RDHUP|HUP)" \
			"$(epsgot connect) $(epsgot refused) $(epsgot accepted) $(epsgot client)" "4 1c 2000 2010"
		check_ev "state wake-ups: a connect's end, one (EPOLLOUT|EPOLLERR|EPOLLHUP watched)" eps \
			"$(epswakes "$(epsfd connect)" 28)" 1
		check_ev "state wake-ups: a refused connect, the reset's two (all watched, then EPOLLERR)" eps \
			"$(epswakes "$(epsfd refused)" 28) $(epswakes "$(epsfd refused)" 8)" "1 1"
		check_ev "state wake-ups: the peer's FIN on the accepted side, one (EPOLLRDHUP watched)" eps \
			"$(epswakes "$(epsfd accepted)" 8216)" 1
		check_ev "state wake-ups: the client's shutdown, its FIN's ACK and the peer's close, four" eps \
			"$(epswakes "$(epsfd client)" 8216)" 4
		check_ev "state wake-ups: no others" eps \
			"$(evq eps 'select(.type == "ep_wakeup") | 1' | wc -l)" 8
	fi
fi

# ---- syscall exits: fexit, per syscall, or raw; without tracefs ----
# With every function hook on fentry, fexit programs on the syscalls'
# functions take the exits (the rest of this suite, in the fentry tier);
# else the per-syscall tracepoints, syscalls:sys_exit_*, but not beside
# kprobes (they share one per-CPU guard with perf's tracepoints, and a
# kprobe interrupting the exit's program would be skipped: an event lost,
# seen on 6.12's kprobe tier).
case $SOCKTRACE_MODE in
fentry) want_exits="fexit __x64_sys_*" ;;
kprobe) want_exits="raw sys_exit" ;;
*) want_exits="syscalls:sys_exit_*" ;;
esac
check_eq "--probe: syscall exits by $want_exits here" \
	"$("$SOCKTRACE" --probe --json "${MODE_ARGS[@]}" 2>/dev/null | jq -r .syscall_exits)" "$want_exits"
# The tracepoints' ways, kept to with SOCKTRACE_SYSCALL_EXITS=tracepoint
# in the fentry tier. syscalls:sys_exit_* need their ids from tracefs:
# where it is mounted, or from a mount of socktrace's own in /tmp. In a
# mount namespace with neither (an empty tmpfs over each tracefs place,
# /tmp read-only) it takes every syscall's exit (raw sys_exit) instead, and
# must see the same. (The binary is run through an fd opened before /tmp is
# covered: it may be under /tmp.)
export SOCKTRACE_SYSCALL_EXITS=tracepoint
no_tracefs() {
	exec unshare -m sh -c 'exec 9<"$0" || exit 1
		for d in /sys/kernel/tracing /sys/kernel/debug; do
			[ -d "$d" ] && mount -t tmpfs -o ro none "$d"; done
		mount -t tmpfs -o ro none /tmp && exec /proc/self/fd/9 "$@"' "$@"
}
if [ "$SOCKTRACE_MODE" = fentry ]; then
	check_eq "--probe, SOCKTRACE_SYSCALL_EXITS=tracepoint: per syscall" \
		"$("$SOCKTRACE" --probe --json "${MODE_ARGS[@]}" 2>/dev/null | jq -r .syscall_exits)" \
		"syscalls:sys_exit_*"
fi
# tracefs covered, /tmp writable: socktrace mounts its own, and leaves none
check_eq "--probe with tracefs unmounted: per syscall still (its own mount)" \
	"$(unshare -m sh -c 'for d in /sys/kernel/tracing /sys/kernel/debug; do
		[ -d "$d" ] && mount -t tmpfs -o ro none "$d"; done
		exec "$0" --probe --json' "$SOCKTRACE" 2>/dev/null | jq -r .syscall_exits)" "syscalls:sys_exit_*"
check_eq "--probe with tracefs unmounted: no mount point left behind" \
	"$(find /tmp -maxdepth 1 -name 'socktrace-tracefs-*' | wc -l)" 0
check_match "--probe without tracefs: every syscall's exit, and why" \
	"^syscall exits: raw sys_exit, every syscall runs a program: tracefs not mounted, and no directory for it \(Read-only file system\)" \
	"$(no_tracefs "$SOCKTRACE" --probe 2>&1)"
if [ "$EPOLL_TIER" = none ]; then
	skip "raw sys_exit: epoll events" "no tier for ep_poll_callback on this kernel (see --probe)"
else
	start_server raw -p 8086 -t 300 epoll
	RAW_SRV=$SRV_PID
	bg no_tracefs "$SOCKTRACE" -p "$RAW_SRV" --events --json "${MODE_ARGS[@]}" \
		>"$TMP/raw.json" 2>"$TMP/raw.err"
	ST_PID=$BG_PID
	if wait_for 180 grep -q 'tracing pid' "$TMP/raw.err"; then
		in_ns "$TB/ev_client" -s hello 127.0.0.1 8086 3 >"$TMP/raw_cli.out" 2>&1
		wait_for 5 bash -c "[ \$(grep -c '^CLOSE' '$TMP/raw.out') -ge 3 ]"
		sleep 0.2
		stop_tracer
		check_eq "raw sys_exit: accept events = accepted connections (fds)" \
			"$(evq raw 'select(.type == "accept") | .fd' | tr '\n' ' ')" \
			"$(awk '/^ACCEPT/ { print $2 }' "$TMP/raw.out" | tr '\n' ' ')"
		check_eq "raw sys_exit: epoll_wait_done returns = the server's" \
			"$(evq raw 'select(.type == "epoll_wait_done" and .count > 0) | .count' | tr '\n' ' ')" \
			"$(awk '/^WAIT/ { print $2 }' "$TMP/raw.out" | tr '\n' ' ')"
	else
		fail "raw sys_exit: tracer attached" "$(cat "$TMP/raw.err")"
		kill "$ST_PID" 2>/dev/null
	fi
	kill "$RAW_SRV"
fi
unset SOCKTRACE_SYSCALL_EXITS

# ---- nothing of ours stays attached ----
for how in duration sigterm; do
	sleep 30 &
	target=$!
	_pids+=("$target")
	if [ $how = duration ]; then
		bg "$SOCKTRACE" -p "$target" --events --duration 2 "${MODE_ARGS[@]}" >/dev/null 2>"$TMP/det.err"
	else
		bg "$SOCKTRACE" -p "$target" --events "${MODE_ARGS[@]}" >/dev/null 2>"$TMP/det.err"
	fi
	st=$BG_PID
	wait_for 180 grep -q 'tracing pid' "$TMP/det.err"
	progs=$(held_ids prog_id "$st")
	links=$(held_ids link_id "$st")
	# shellcheck disable=SC2086
	check_eq "$how: ev_bpfid sees our links while running" "$("$TB/ev_bpfid" link $links)" "$(wc -w <<<"$links")"
	[ $how = sigterm ] && kill -TERM "$st"
	wait "$st"
	check_eq "$how: exit status" "$?" 0
	[ -n "$progs" ] && [ -n "$links" ] || fail "$how: found our programs while running" "progs '$progs' links '$links'"
	# the kernel frees programs after an RCU grace period: allow a moment
	for _ in $(seq 50); do
		# shellcheck disable=SC2086
		left=$(( $("$TB/ev_bpfid" prog $progs) + $("$TB/ev_bpfid" link $links) ))
		[ "$left" -eq 0 ] && break
		sleep 0.1
	done
	check_eq "$how: programs and links left after exit ($(wc -w <<<"$progs $links") held)" "$left" 0
	kill "$target"
done

finish
