# Sourced by the benchmarks that run tests/progs/churn.c (bench_events.sh,
# bench_toggle.sh, bench_trace.sh, bench_bpfcost.sh); they set NS, TB and tmp.
#
# churn_server_start SECONDS [SYSCTL=VALUE...]: a fresh network namespace
# $NS with churn's server in it, serving for SECONDS and a minute more.
# Loopback churn reuses TIME_WAIT ports over a wide range; further sysctls
# for the namespace follow. Sets srv (the server's pid) and port; the
# caller's cleanup stops srv and deletes $NS.
churn_server_start() {
	local secs=$1
	shift
	ip netns del "$NS" 2>/dev/null || true
	ip netns add "$NS"
	ip -n "$NS" link set lo up
	ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=1 \
		net.ipv4.ip_local_port_range="1024 65000" "$@"
	ip netns exec "$NS" "$TB/churn" server -t $((secs + 60)) >"$tmp/server.out" &
	srv=$!
	for _ in $(seq 100); do grep -q SERVER "$tmp/server.out" && break; sleep 0.05; done
	port=$(awk '{ print $3 }' "$tmp/server.out")
}

# socktrace_output OUTPUT: sets st_out (socktrace's arguments), st_env
# (its environment) and st_tui for what the benchmarks call an output: json
# (--events --json, every event formatted), text, filter (--filter
# accept_overflow: every hook at work but the syscall exits, which that
# filter needs none of; almost nothing emitted), unarmed
# (every hook attached, none at work: SOCKTRACE_UNARMED=1), tui (the live
# view, `socktrace --pid`, in a tmux pane: events into its model,
# snapshots, frames), floor (not socktrace: tests/progs/tpfloor holding a
# syscall exit tracepoint that runs no code, the kernel's price for taking
# syscall exits that way, which the tracepoint tier pays before any work of
# its own). Returns 1 for anything else.
socktrace_output() {
	st_out=(--events) st_env=() st_tui=0 st_floor=0
	case $1 in
	json) st_out+=(--json) ;;
	text) ;;
	filter) st_out+=(--filter accept_overflow) ;;
	unarmed) st_env=(SOCKTRACE_UNARMED=1) ;;
	tui) st_out=() st_tui=1 ;;
	# its tracepoint's id looked up once (a syscall no load here makes)
	floor) floor_id=${floor_id-$(syscall_tp_id sys_exit_sync)}; st_floor=1 ;;
	*) return 1 ;;
	esac
}

# syscall_tp_id NAME: the id of tracepoint syscalls:NAME, from tracefs (a
# private mount of it in $tmp when it is not mounted); empty when none.
syscall_tp_id() {
	local d
	for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -r "$d/events/syscalls/$1/id" ] && { cat "$d/events/syscalls/$1/id"; return; }
	done
	mkdir -p "$tmp/tracefs"
	mount -t tracefs tracefs "$tmp/tracefs" 2>/dev/null || return 0
	cat "$tmp/tracefs/events/syscalls/$1/id" 2>/dev/null || true
	umount "$tmp/tracefs"
}

# socktrace_start: socktrace on $srv, as socktrace_output set it up; sets st
# (its pid). Returns once it traces, 1 when it does not start.
socktrace_start() {
	rm -f "$tmp/st.pid" "$tmp/stats" "$tmp/st.err"
	if [ "$st_floor" = 1 ]; then
		[ -n "$floor_id" ] || { echo "-o floor: no syscalls:sys_exit_sync tracepoint" >"$tmp/st.err"; return 1; }
		[ -x "$TB/tpfloor" ] || { echo "-o floor: build first: make test-bins" >"$tmp/st.err"; return 1; }
		"$TB/tpfloor" "$floor_id" >"$tmp/floor.out" 2>"$tmp/st.err" &
		st=$!
		for _ in $(seq 200); do grep -q HOLDING "$tmp/floor.out" && return 0; sleep 0.05; done
		return 1
	fi
	if [ "$st_tui" = 1 ]; then
		command -v tmux >/dev/null || { echo "-o tui needs tmux" >&2; return 1; }
		tmux new-session -d -s "socktrace-bench$$" -x 120 -y 40 \
			"sh -c 'echo \$\$ >$tmp/st.pid; exec env SOCKTRACE_TUI_STATS=$tmp/stats \
			$SOCKTRACE -p $srv 2>$tmp/st.err'"
		for _ in $(seq 200); do [ -s "$tmp/st.pid" ] && break; sleep 0.05; done
		st=$(cat "$tmp/st.pid" 2>/dev/null)
		# tracing once the header names the hooks' tiers
		for _ in $(seq 400); do
			tmux capture-pane -p -t "socktrace-bench$$" 2>/dev/null | grep -q '^hooks' && return 0
			sleep 0.05
		done
		return 1
	fi
	env "${st_env[@]}" "$SOCKTRACE" -p "$srv" "${st_out[@]}" >/dev/null 2>"$tmp/st.err" &
	st=$!
	for _ in $(seq 400); do grep -qs 'tracing pid' "$tmp/st.err" && return 0; sleep 0.05; done
	return 1
}

# socktrace_stop: stops it (SIGINT, or q in the live view); sets st_events
# and st_lost from what it reported.
socktrace_stop() {
	if [ "$st_tui" = 1 ]; then
		tmux send-keys -t "socktrace-bench$$" q
		for _ in $(seq 200); do [ -s "$tmp/stats" ] && break; sleep 0.05; done
		tmux kill-session -t "socktrace-bench$$" 2>/dev/null
		st_events=$(awk '$1 == "events" { print $2 }' "$tmp/stats" 2>/dev/null)
		st_lost=$(awk '$1 == "lost" { print $2 }' "$tmp/stats" 2>/dev/null)
	elif [ "$st_floor" = 1 ]; then
		kill "$st" # SIGTERM: a background job of a script ignores SIGINT
		wait "$st" 2>/dev/null || true
		st_events=0 st_lost=0
	else
		kill -INT "$st"
		wait "$st" || true
		st_events=$(sed -nE 's/.*: ([0-9]+) events.*/\1/p' "$tmp/st.err")
		st_lost=$(sed -nE 's/.*; ([0-9]+) lost$/\1/p' "$tmp/st.err")
	fi
	st=
	st_events=${st_events:-0} st_lost=${st_lost:-0}
}
