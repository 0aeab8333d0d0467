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

# socktrace_output OUTPUT: sets st_out (socktrace's arguments) and st_env
# (its environment) for what the benchmarks call an output: json (--json,
# every event formatted), text, filter (--filter accept_overflow: every hook
# at work, almost nothing emitted), unarmed (every hook attached, none at
# work: SOCKTRACE_UNARMED=1). Returns 1 for anything else.
socktrace_output() {
	st_out=() st_env=()
	case $1 in
	json) st_out=(--json) ;;
	text) ;;
	filter) st_out=(--filter accept_overflow) ;;
	unarmed) st_env=(SOCKTRACE_UNARMED=1) ;;
	*) return 1 ;;
	esac
}
