#!/usr/bin/env bash
# Bad input and hostile conditions: one clear line on stderr, the documented
# exit code, never a crash or a hang.
. "$(dirname "$0")/lib.sh"
require_root

# expect NAME CODE REGEX CMD... : exit code CODE, one stderr line matching REGEX
expect() {
	local name=$1 code=$2 re=$3; shift 3
	local err rc
	err=$(timeout 20 "$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" -ne "$code" ]; then
		fail "$name" "exit $rc, want $code; stderr: $err"
	elif [ "$(wc -l <<<"$err")" -ne 1 ] || ! grep -qE -- "$re" <<<"$err"; then
		fail "$name" "stderr not one line matching /$re/: $err"
	else
		pass "$name"
	fi
}

# A pid that cannot exist (above pid_max).
expect "no such pid" 1 "no process with pid 99999999" "$SOCKTRACE" -p 99999999 --once
expect "bad pid" 2 "invalid pid 'abc'" "$SOCKTRACE" -p abc --once
expect "no pid" 2 "no process given" "$SOCKTRACE" --once
expect "bad mode" 2 "invalid mode" "$SOCKTRACE" -p 1 --mode nope --once
expect "bad interval" 2 "invalid interval" "$SOCKTRACE" -p 1 -i 0
expect "bad duration" 2 "invalid duration" "$SOCKTRACE" -p 1 --events --duration -3
expect "two modes" 2 "choose one of" "$SOCKTRACE" -p 1 --once --events
expect "stray argument" 2 "unexpected argument" "$SOCKTRACE" -p 1 --once extra
expect "--filter where nothing is printed" 2 "--filter picks the events printed" \
	"$SOCKTRACE" -p 1 --once --filter accept
expect "--filter with the live view" 2 "--filter picks the events printed" \
	"$SOCKTRACE" -p 1 --filter accept
expect "--filter with --export" 2 "--filter picks the events printed" \
	"$SOCKTRACE" -r x.st --export perfetto --filter accept

# No root: drop to nobody with no capabilities.
sleep 30 & _pids+=($!); target=$!
if command -v setpriv >/dev/null; then
	expect "not root" 1 "permission denied.*root.*CAP_BPF" \
		setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all \
		"$SOCKTRACE" -p "$target" --once
else
	skip "not root" "setpriv missing"
fi

# No BTF: point socktrace at a BTF path that does not exist, then at garbage.
expect "no btf" 1 "no kernel BTF at /nonexistent" \
	env SOCKTRACE_BTF=/nonexistent "$SOCKTRACE" -p "$target" --once
head -c 4096 /dev/urandom >"$TMP/garbage.btf"
expect "corrupt btf" 1 "failed to (open|load) snapshot programs" \
	env SOCKTRACE_BTF="$TMP/garbage.btf" "$SOCKTRACE" -p "$target" --once

# A zombie: the process has exited but is not reaped; it has no fds to show.
bash -c 'sleep 0.1 & exec sleep 30' & _pids+=($!); parent=$!
sleep 0.5
zombie=$(ps -o pid= --ppid "$parent" | tr -d ' ' | head -1)
if [ -n "$zombie" ] && grep -q '^State:.*Z' "/proc/$zombie/status"; then
	expect "exited process (zombie)" 1 "process $zombie exited" "$SOCKTRACE" -p "$zombie" --once
else
	fail "zombie setup" "no zombie child"
fi

# Processes exiting while socktrace looks: only a snapshot or the clean error.
bad=0
for i in $(seq 1 30); do
	sleep 0.0$((RANDOM % 10)) & p=$!
	err=$("$SOCKTRACE" -p "$p" --once --json 2>&1 >/dev/null); rc=$?
	case $rc in
	0) ;;
	1) grep -qE "exited|no process" <<<"$err" || { bad=1; echo "unexpected: $err"; } ;;
	*) bad=1; echo "exit $rc: $err" ;;
	esac
	wait "$p" 2>/dev/null
done
check_eq "racing exits give a snapshot or a clean error" "$bad" 0

# Output to a closed pipe or a full device fails cleanly.
if [ -w /dev/full ]; then
	err=$("$SOCKTRACE" -p "$target" --once 2>&1 >/dev/full); rc=$?
	check_eq "write error exit code" "$rc" 1
	check_match "write error message" "failed to write output" "$err"
fi

# --help teaches: examples and exit codes are there.
help=$("$SOCKTRACE" --help)
check_match "help has examples" "EXAMPLES" "$help"
check_match "help has exit status" "EXIT STATUS" "$help"
check_match "help documents --once" "--once" "$help"
"$SOCKTRACE" --version | grep -q "socktrace [0-9]" && pass "version" || fail "version"

finish
