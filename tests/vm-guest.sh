#!/bin/bash
# Runs inside each QEMU guest of `make vmtest` (tests/vmtest/): the snapshot
# suite once (iterators do not depend on a hook tier), then every event suite
# in each tier the kernel supports, forced with --mode. Prints one line per
# cell: MATRIX <kernel> <tier> <test> pass|fail|skip <reason>.
set -u
cd /work
K=$(uname -r)
export SOCKTRACE=/work/socktrace TB=/work/tests/.output
rc=0

# run_suite TIER SCRIPT : runs it with SOCKTRACE_MODE=TIER, prints its cell.
run_suite() {
	local tier=$1 script=$2 name log fails t0=$SECONDS
	name=$(basename "$script" .sh)
	log=/tmp/$name.$tier.log
	SOCKTRACE_MODE=$tier timeout -k 5 700 bash "$script" >"$log" 2>&1
	local status=$?
	sed "s/^/[$tier $name] /" "$log"
	fails=$(grep -c '^FAIL ' "$log")
	if [ "$status" -eq 0 ] && [ "$fails" -eq 0 ]; then
		echo "MATRIX $K $tier $name pass $(grep -c '^PASS ' "$log") checks, $((SECONDS - t0)) s"
	else
		echo "MATRIX $K $tier $name fail exit $status, $fails failed: $(grep -m1 '^FAIL ' "$log" | cut -c1-120)"
		rc=1
	fi
}

run_suite iter tests/test_snapshot.sh

for tier in fentry kprobe tracepoint; do
	# tierprobe (tests/vmtest/tierprobe) loads a tiny program of that tier
	# on tcp_v4_connect and checks that it fires: the kernel's own answer,
	# independent of socktrace's --probe, which is checked against it.
	if command -v tierprobe >/dev/null && ! tierprobe "$tier" >/dev/null 2>&1; then
		for s in tests/test_events*.sh; do
			[ -e "$s" ] && echo "MATRIX $K $tier $(basename "$s" .sh) skip kernel cannot attach $tier"
		done
		continue
	fi
	probe=$("$SOCKTRACE" --probe --mode "$tier" 2>&1)
	if grep -qi "$tier" <<<"$probe" && ! grep -qiE "unavailable|cannot|failed" <<<"$(grep -i "^tcp_v4_connect" <<<"$probe")"; then
		echo "MATRIX $K $tier probe pass"
	else
		echo "MATRIX $K $tier probe fail --probe disagrees with tierprobe: $(tr '\n' ' ' <<<"$probe" | cut -c1-160)"
		rc=1
	fi
	for s in tests/test_events*.sh; do
		[ -e "$s" ] && run_suite "$tier" "$s"
	done
done
exit $rc
