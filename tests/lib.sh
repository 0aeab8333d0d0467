# Shared helpers for the shell tests. Source it; end the test with `finish`.
# Each check prints "PASS name" or "FAIL name: why"; tests/run.sh sums them.
# Every process and network namespace a test starts is stopped by the trap.
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOCKTRACE=${SOCKTRACE:-$ROOT/socktrace}
TB=${TB:-$ROOT/tests/.output}
# Hook tier to force in event tests (the VM matrix sets it); empty = auto.
SOCKTRACE_MODE=${SOCKTRACE_MODE:-}
MODE_ARGS=()
[ -n "$SOCKTRACE_MODE" ] && MODE_ARGS=(--mode "$SOCKTRACE_MODE")
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/socktrace-$TEST_NAME.XXXXXX")
_passed=0
_failed=0
_skipped=0
_pids=()
_netns=()

pass() { echo "PASS $1"; _passed=$((_passed + 1)); }
fail() { echo "FAIL $1: ${2:-}"; _failed=$((_failed + 1)); }
skip() { echo "SKIP $1: ${2:-}"; _skipped=$((_skipped + 1)); }

# check_eq NAME GOT WANT
check_eq() {
	if [ "$2" == "$3" ]; then pass "$1 ($2)"; else fail "$1" "got '$2', want '$3'"; fi
}
# check NAME COMMAND... : passes when the command succeeds
check() {
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then pass "$name"; else fail "$name" "failed: $*"; fi
}
# check_match NAME REGEX TEXT
check_match() {
	if grep -qE -- "$2" <<<"$3"; then pass "$1"; else fail "$1" "no match for /$2/ in: $(head -c 300 <<<"$3")"; fi
}

# kernel_at_least MAJOR MINOR: is the running kernel that release or later?
kernel_at_least() {
	local kmaj kmin
	IFS=. read -r kmaj kmin _ <<<"$(uname -r)"
	kmin=${kmin%%[!0-9]*}
	[ "$kmaj" -gt "$1" ] || { [ "$kmaj" -eq "$1" ] && [ "$kmin" -ge "$2" ]; }
}

# Starts a command in the background and remembers its pid for cleanup.
# Usage: bg cmd args... ; the pid is in $BG_PID.
bg() {
	"$@" &
	BG_PID=$!
	_pids+=("$BG_PID")
}

# Creates a network namespace with loopback up; name in $1.
netns_new() {
	ip netns add "$1" || { echo "cannot create netns $1" >&2; exit 1; }
	_netns+=("$1")
	ip -n "$1" link set lo up
}

# wait_for SECONDS COMMAND... : polls until the command succeeds.
wait_for() {
	local t=$1; shift
	local end=$((SECONDS + t))
	while ! "$@" >/dev/null 2>&1; do
		[ $SECONDS -ge $end ] && return 1
		sleep 0.05
	done
}

# nstat counter value in a netns: nstat_get NS NAME
nstat_get() {
	ip netns exec "$1" nstat -az "$2" 2>/dev/null | awk -v n="$2" '$1 == n { print $2 }' | head -1
}

# hold_half_open NS PORT N SECONDS: N clients (snap_client, holding on for
# SECONDS) of 127.0.0.1:PORT in netns NS whose final ACKs an nft table drops
# (socktrace_hold_PORT), so the listener keeps N request sockets in its SYN
# queue; returns once ss shows them. release_half_open NS PORT drops the table.
hold_half_open() {
	ip netns exec "$1" nft -f - <<EOF
table inet socktrace_hold_$2 {
	chain out {
		type filter hook output priority 0;
		tcp dport $2 tcp flags & (syn | ack) == ack drop
	}
}
EOF
	ip netns exec "$1" "$TB/snap_client" 127.0.0.1 "$2" "$3" "$4" >/dev/null &
	_pids+=($!)
	wait_for 5 bash -c "[ \$(ip netns exec $1 ss -Htn state syn-recv 'sport = :$2' | wc -l) -eq $3 ]"
}
release_half_open() { ip netns exec "$1" nft delete table inet "socktrace_hold_$2"; }

# Commands the trap runs first (a setting of the host's to put back): on_exit CMD
_on_exit=()
on_exit() { _on_exit+=("$1"); }
cleanup() {
	local p
	for p in "${_on_exit[@]}"; do eval "$p"; done
	for p in "${_pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${_pids[@]}"; do wait "$p" 2>/dev/null; done
	for p in "${_netns[@]}"; do ip netns del "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

finish() {
	echo "$TEST_NAME: $_passed passed, $_failed failed, $_skipped skipped"
	[ "$_failed" -eq 0 ]
	exit $?
}

require_root() {
	if [ "$(id -u)" -ne 0 ]; then
		skip "$TEST_NAME" "needs root"
		finish
	fi
}
