#!/usr/bin/env bash
# The QEMU kernel matrix: run a guest script under each Debian cloud kernel.
#
#   run.sh [-g GUEST_SCRIPT] [-k "6.1 6.12"] [-t TEST_TREE] [BIN...]
#
#   -g  host path of the script the guest runs (default $VMTEST_GUEST, else
#       tests/vm-guest.sh; tests/vmtest/guest-demo.sh is the stand-in)
#   -k  kernel series (default $VMTEST_KERNELS, else "6.1 6.12")
#   -t  directory copied to /work/tests in the guest (default tests/)
#   BIN programs to copy into the guest with their libraries (also
#       $VMTEST_BINS): the socktrace binary and test helpers. One under the
#       repo keeps its repo-relative path under /work, and every one is on
#       PATH through /usr/local/bin.
#
# Each kernel: fetch (cached), build an initramfs, boot, collect the
# "MATRIX <kernel> <tier> <test> pass|fail|skip <reason>" lines the guest
# prints. Prints a kernel x tier x test table and exits non-zero on any fail,
# or when a VM did not boot, timed out, or its guest script exited non-zero.
# Logs: .cache/vmtest/logs/<release>/{serial,guest}.log.
#
# Environment: VMTEST_TIMEOUT (per VM, seconds, default 300),
# VMTEST_PARALLEL=1 (boot all kernels at once), VMTEST_MODULES (extra
# modules), VMTEST_REFRESH=1 (look for newer kernels), and those of boot.sh.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

guest=${VMTEST_GUEST:-$REPO_ROOT/tests/vm-guest.sh}
kernels=$(vmtest_kernels)
tree=$REPO_ROOT/tests
read -r -a bins <<<"${VMTEST_BINS:-}"
while getopts g:k:t:h opt; do
	case $opt in
	g) guest=$OPTARG ;;
	k) kernels=$OPTARG ;;
	t) tree=$OPTARG ;;
	*) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
bins+=("$@")

need_root
[[ -f $guest ]] || die "guest script '$guest' not found (set VMTEST_GUEST or -g, e.g. tests/vmtest/guest-demo.sh)"
[[ -d $tree ]] || die "test tree '$tree' is not a directory"
for bin in "${bins[@]}"; do
	[[ -f $bin ]] || die "binary '$bin' not found (build it first: make)"
done
guest=$(cd "$(dirname "$guest")" && pwd -P)/$(basename "$guest")
tree=$(cd "$tree" && pwd -P)

# the guest script: inside the test tree it is already copied, else it
# travels like a BIN (repo-relative under /work, or at its host path)
case $guest in
"$tree"/*) guest_path=/work/tests/${guest#"$tree"/} ;;
"$REPO_ROOT"/*) guest_path=/work/${guest#"$REPO_ROOT"/}; bins+=("$guest") ;;
/tmp/* | /run/* | /var/tmp/* | /var/run/*) guest_path=/opt/vmtest/${guest##*/}; bins+=("$guest") ;;
*) guest_path=$guest; bins+=("$guest") ;;
esac

# shellcheck disable=SC2086
fetched=$("$VMTEST_DIR/fetch-kernels.sh" $kernels) || die "fetching kernels failed"
mapfile -t kernel_dirs <<<"$fetched"
((${#kernel_dirs[@]})) || die "no kernels fetched"

# tierprobe: one BPF program per attach tier, for guest-demo.sh and for any
# guest script that wants to know which tiers a kernel takes
build=$VMTEST_CACHE/build
src=$VMTEST_DIR/tierprobe
tierprobe=$build/tierprobe
if [[ ! -x $tierprobe || $src/tierprobe.c -nt $tierprobe || $src/tierprobe.bpf.c -nt $tierprobe ]]; then
	log "building tierprobe"
	mkdir -p "$build"
	clang -g -O2 -target bpf -D__TARGET_ARCH_x86 -I/usr/include/"$(uname -m)"-linux-gnu \
		-c "$src/tierprobe.bpf.c" -o "$build/tierprobe.bpf.o" || die "clang tierprobe.bpf.c failed"
	llvm-strip -g "$build/tierprobe.bpf.o" || die "llvm-strip failed"
	bpftool gen skeleton "$build/tierprobe.bpf.o" name tierprobe_bpf >"$build/tierprobe.skel.h" ||
		die "bpftool gen skeleton failed"
	cc -O2 -g -Wall -I"$build" "$src/tierprobe.c" -o "$tierprobe" -lbpf -lelf -lz ||
		die "cc tierprobe.c failed"
fi
bins+=("$tierprobe")

# pokeloop: attaches and detaches a no-op BPF program on sys_exit in a loop,
# for guest-pokeloop.sh (why boot.sh runs TCG single-threaded)
pokeloop=$build/pokeloop
if [[ ! -x $pokeloop || $VMTEST_DIR/pokeloop.c -nt $pokeloop ]]; then
	mkdir -p "$build"
	cc -O2 -g -Wall "$VMTEST_DIR/pokeloop.c" -o "$pokeloop" || die "cc pokeloop.c failed"
fi
bins+=("$pokeloop")

results=$VMTEST_CACHE/results
rm -rf "$results"
mkdir -p "$results"

# run_kernel SERIES KDIR: initramfs + boot; MATRIX lines to results/<release>
run_kernel() {
	local series=$1 kdir=$2 release logdir initramfs rc start secs
	release=$(basename "$kdir")
	logdir=$VMTEST_CACHE/logs/$release
	initramfs=$VMTEST_CACHE/initramfs/$release.cpio
	start=$(date +%s)
	"$VMTEST_DIR/mkinitramfs.sh" --kernel "$kdir" --out "$initramfs" --tree "$tree" \
		--cmd "bash $guest_path" -- "${bins[@]}" ||
		die "initramfs for $release failed"
	set +e
	"$VMTEST_DIR/boot.sh" "$kdir" "$initramfs" "$logdir"
	rc=$?
	set -e
	secs=$(($(date +%s) - start))
	{
		tr -d '\r' <"$logdir/guest.log" | grep -a '^MATRIX ' || true
		verdict=$(cat "$logdir/boot.txt" 2>/dev/null || true)
		if ((rc == 0)); then
			echo "MATRIX $release vm boot pass $series: ${verdict:-guest exit 0}, ${secs}s in all"
		else
			echo "MATRIX $release vm boot fail $series: ${verdict:-boot.sh exit $rc} (guest output: $logdir/guest.log)"
		fi
	} >"$results/$release"
	if grep -aqE 'BUG:|Oops|WARNING: CPU' "$logdir/serial.log"; then
		log "$release: kernel BUG/Oops/WARNING in $logdir/serial.log"
	fi
}

total_start=$(date +%s)
pids=()
for line in "${kernel_dirs[@]}"; do
	read -r series kdir <<<"$line"
	if [[ ${VMTEST_PARALLEL:-0} == 1 ]]; then
		run_kernel "$series" "$kdir" &
		pids+=($!)
	else
		run_kernel "$series" "$kdir"
	fi
done
for pid in "${pids[@]}"; do
	wait "$pid" || die "a kernel run failed to start"
done

# table: one row per tier/test, one column per kernel
cat "$results"/* | awk '
	$1 == "MATRIX" && NF >= 5 {
		k = $2; row = $3 " " $4; res = $5
		if (!(k in kseen)) { kseen[k] = 1; kernels[nk++] = k }
		if (!(row in rseen)) { rseen[row] = 1; rows[nr++] = row }
		cell[row, k] = res
		count[res]++
		if (res != "pass") {
			reason = $0; for (i = 1; i <= 5; i++) sub(/^[^ ]+ */, "", reason)
			notes[nn++] = sprintf("  %-6s %s %s %s: %s", res, k, $3, $4, reason)
		}
	}
	END {
		printf "%-12s %-22s", "tier", "test"
		for (j = 0; j < nk; j++) printf " %-28s", kernels[j]
		printf "\n"
		for (i = 0; i < nr; i++) {
			split(rows[i], rt, " ")
			printf "%-12s %-22s", rt[1], rt[2]
			for (j = 0; j < nk; j++) {
				c = cell[rows[i], kernels[j]]
				printf " %-28s", c == "" ? "-" : c
			}
			printf "\n"
		}
		if (nn) { print ""; for (i = 0; i < nn; i++) print notes[i] }
		printf "\nvmtest: %d passed, %d failed, %d skipped\n",
			count["pass"], count["fail"], count["skip"]
		exit count["fail"] > 0
	}' && status=0 || status=1
log "$(( $(date +%s) - total_start ))s for ${#kernel_dirs[@]} kernel(s); logs in $VMTEST_CACHE/logs"
exit "$status"
