#!/usr/bin/env bash
# Runs the unit tests, then every tests/test_*.sh (or the ones named), and
# prints one closing line: "N passed, N failed[, N skipped]".
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
passed=0 failed=0 skipped=0 broken=()
log=$(mktemp)

count() {
	local p f s
	p=$(grep -c '^PASS ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^SKIP ' "$log")
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
}

if [ $# -eq 0 ]; then
	for u in tests/.output/unit_*; do
		[ -x "$u" ] || continue
		echo "== $(basename "$u")"
		"$u" >"$log" 2>&1; rc=$?
		cat "$log"
		line=$(grep -E '^unit .*: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
		p=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$line"); f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
		passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
		if [ $rc -ne 0 ] || [ -z "$line" ]; then broken+=("$(basename "$u")"); [ -z "$line" ] && failed=$((failed + 1)); fi
	done
	tests=(tests/test_*.sh)
else
	tests=()
	for t in "$@"; do tests+=("tests/test_$t.sh"); done
fi

for t in "${tests[@]}"; do
	echo "== $(basename "$t")"
	start=$SECONDS
	timeout -k 10 600 bash "$t" >"$log" 2>&1; rc=$?
	cat "$log"
	count
	if [ $rc -ne 0 ]; then
		broken+=("$(basename "$t") (exit $rc)")
		grep -q '^FAIL ' "$log" || failed=$((failed + 1))
	fi
	echo "   ($((SECONDS - start)) s)"
done
rm -f "$log"
[ ${#broken[@]} -gt 0 ] && echo "failing: ${broken[*]}"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ ${#broken[@]} -eq 0 ]
