#!/usr/bin/env bash
# The trace reader under sanitizers (issue 5): the unit test built with
# ASan+UBSan, then the libFuzzer target for a bounded time (FUZZ_TIME, 30 s)
# from the committed corpus. No root needed.
source "$(dirname "$0")/lib.sh"
FUZZ_TIME=${FUZZ_TIME:-30}
FUZZ_OUT=$ROOT/tests/.output/fuzz

if ! command -v clang >/dev/null ||
   ! ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a >/dev/null 2>&1; then
	skip fuzz "clang with libFuzzer is not installed (libclang-rt-14-dev)"
	finish
fi

# Builds through tests/fuzz/fuzz.mk whether or not the Makefile includes it
# (when it does, `make test` has built them already). Under the shared build
# lock, unless a caller holds it (flock ... make test): then without it, as
# these outputs are only in tests/.output/fuzz.
fuzz_make() { make --no-print-directory -f Makefile -f tests/fuzz/fuzz.mk "$@" fuzz-bins; }
if (cd "$ROOT" && fuzz_make -q) 2>/dev/null; then
	: # up to date
elif ! (cd "$ROOT" && { flock -w 60 /tmp/socktrace-build.lock make --no-print-directory \
	-f Makefile -f tests/fuzz/fuzz.mk fuzz-bins || fuzz_make; }) >"$TMP/build.log" 2>&1; then
	fail "build sanitizer binaries" "$(tail -5 "$TMP/build.log")"
	finish
fi
pass "build sanitizer binaries"

out=$("$FUZZ_OUT/unit_trace_asan" 2>"$TMP/asan.err")
rc=$?
line=$(grep -E '^unit trace: ' <<<"$out")
if [ $rc -eq 0 ] && grep -q ' 0 failed' <<<"$line" && ! grep -q 'Sanitizer' "$TMP/asan.err"; then
	pass "unit trace under ASan+UBSan ($line)"
else
	fail "unit trace under ASan+UBSan" "rc=$rc $line $(grep -m3 -E 'Sanitizer|FAIL' "$TMP/asan.err")"
fi

mkdir -p "$TMP/corpus"
(cd "$TMP" && "$FUZZ_OUT/fuzz_trace" -max_total_time="$FUZZ_TIME" -max_len=65536 -timeout=10 \
	-rss_limit_mb=2048 "$TMP/corpus" "$ROOT/tests/fuzz/corpus/trace") >"$TMP/fuzz.log" 2>&1
rc=$?
runs=$(grep -oE 'Done [0-9]+ runs' "$TMP/fuzz.log" | grep -oE '[0-9]+')
if [ $rc -eq 0 ] && [ -n "$runs" ]; then
	pass "fuzz trace reader ${FUZZ_TIME} s ($runs runs, no crash, leak or hang)"
else
	cp "$TMP"/crash-* "$TMP"/leak-* "$TMP"/timeout-* "$ROOT/tests/.output/fuzz/" 2>/dev/null
	fail "fuzz trace reader" "rc=$rc; $(grep -m3 -E 'ERROR|SUMMARY|deadly' "$TMP/fuzz.log"); inputs kept in tests/.output/fuzz/"
fi
finish
