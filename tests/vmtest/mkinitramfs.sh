#!/usr/bin/env bash
# Build a cpio initramfs for one kernel of the QEMU matrix.
#
#   mkinitramfs.sh --kernel KDIR --out FILE [--tree DIR] [--cmd COMMAND]
#                  [--module NAME]... [BIN...]
#
#   --kernel KDIR   a kernel dir made by fetch-kernels.sh (vmlinuz, modules/)
#   --out FILE      the initramfs to write (uncompressed newc cpio: under
#                   software emulation the kernel unpacks it faster than it
#                   would inflate a compressed one)
#   --tree DIR      copied to /work/tests in the guest (the repo's tests/)
#   --cmd COMMAND   run by /init through 'sh -c' with cwd /work; stored in
#                   /guest-cmd (default: a shell on the console)
#   --module NAME   load this module too (also: $VMTEST_MODULES)
#   BIN...          extra host programs, copied with their shared libraries.
#                   One under the repo lands at the same place under /work
#                   (repo/.output/socktrace -> /work/.output/socktrace), any
#                   other at its host path (under /tmp or /run: /opt/vmtest/);
#                   each is also linked into /usr/local/bin so it is on PATH.
#
# The guest has busybox for the basics and host copies of bash, ip, ss,
# nstat, tc, nft, bpftool and kmod (modprobe), each with the libraries ldd
# names. Libraries a program dlopen()s are not seen by ldd: pass them as BIN.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Modules the socktrace tests need: veth pairs between netns, nftables to
# drop the client's final ACK, netem, and sock_diag for ss. Whatever is
# built in (modules.builtin) needs no file.
DEFAULT_MODULES=(veth nf_tables nft_ct nft_reject_inet nft_limit sch_netem
                 inet_diag tcp_diag udp_diag unix_diag raw_diag)
HOST_PROGS=(bash ip ss nstat tc nft bpftool kmod jq bc setpriv)

kdir="" out="" tree="" cmd="" modules=("${DEFAULT_MODULES[@]}") bins=()
read -r -a extra_modules <<<"${VMTEST_MODULES:-}"
modules+=("${extra_modules[@]}")
while (($#)); do
	case $1 in
	--kernel) kdir=${2:?--kernel needs a dir}; shift 2 ;;
	--out) out=${2:?--out needs a file}; shift 2 ;;
	--tree) tree=${2:?--tree needs a dir}; shift 2 ;;
	--cmd) cmd=${2:?--cmd needs a command}; shift 2 ;;
	--module) modules+=("${2:?--module needs a name}"); shift 2 ;;
	--) shift; bins+=("$@"); break ;;
	-*) die "unknown option '$1' (see the header of $0)" ;;
	*) bins+=("$1"); shift ;;
	esac
done
[[ -n $kdir && -n $out ]] || die "usage: mkinitramfs.sh --kernel KDIR --out FILE [--tree DIR] [--cmd COMMAND] [--module NAME]... [BIN...]"
[[ -f $kdir/vmlinuz && -f $kdir/modules/modules.dep ]] || die "'$kdir' is not a kernel dir from fetch-kernels.sh (no vmlinuz or modules/modules.dep)"
[[ -z $tree || -d $tree ]] || die "test tree '$tree' is not a directory"
command -v busybox >/dev/null || die "busybox not found (package busybox-static)"
command -v depmod >/dev/null || die "depmod not found (package kmod)"

release=$(sed -n 's/^release=//p' "$kdir/package.txt" 2>/dev/null || true)
[[ -n $release ]] || release=$(basename "$(cd "$kdir" && pwd -P)")

root=$(mktemp -d "${TMPDIR:-/tmp}/vmtest-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT

# merged-/usr layout like the host, so ldd's /lib/... paths land in usr/lib
mkdir -p "$root"/usr/{bin,sbin,lib,lib64,local/bin} \
	"$root"/{dev,proc,sys,run,tmp,etc,root,work,var,mnt}
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
ln -s ../run "$root/var/run"
ln -s ../tmp "$root/var/tmp"
chmod 1777 "$root/tmp"

# copy_file SRC DEST_IN_GUEST: follow symlinks, keep mode
copy_file() {
	mkdir -p "$root$(dirname "$2")"
	cp -L --preserve=mode "$1" "$root$2" || die "cannot copy $1"
}

# copy_prog SRC GUEST_PATH: the program plus every library ldd names
declare -A copied_libs=()
copy_prog() {
	local src=$1 dst=$2 lib
	copy_file "$src" "$dst"
	# scripts and static programs have no libraries
	head -c4 "$src" | grep -q 'ELF' || return 0
	ldd "$src" >/dev/null 2>&1 || return 0
	while read -r lib; do
		[[ -n $lib && -z ${copied_libs[$lib]:-} ]] || continue
		copied_libs[$lib]=1
		copy_file "$lib" "$lib"
	done < <(ldd "$src" | awk '/=> \// {print $3} /^[ \t]*\/[^ ]*ld-linux/ {print $1}')
}

for prog in "${HOST_PROGS[@]}"; do
	path=$(command -v "$prog") || die "host program '$prog' not found (install iproute2, nftables, bpftool, kmod)"
	copy_prog "$path" "$path"
done
for tool in modprobe insmod rmmod lsmod modinfo depmod; do
	ln -sf ../bin/kmod "$root/usr/sbin/$tool"
done

for bin in "${bins[@]}"; do
	[[ -f $bin ]] || die "extra binary '$bin' not found"
	abs=$(cd "$(dirname "$bin")" && pwd -P)/$(basename "$bin")
	case $abs in
	"$REPO_ROOT"/*) dst=/work/${abs#"$REPO_ROOT"/} ;;
	# /init mounts over these; keep the program visible
	/tmp/* | /run/* | /var/tmp/* | /var/run/* | /dev/* | /proc/* | /sys/*)
		dst=/opt/vmtest/${abs##*/} ;;
	*) dst=$abs ;;
	esac
	copy_prog "$abs" "$dst"
	[[ $dst == /usr/local/bin/* ]] || ln -sf "$dst" "$root/usr/local/bin/$(basename "$dst")"
done

# busybox fills in whatever the host programs above did not provide. Its
# applets must not shadow them on PATH, and /bin/sh is bash: busybox sh runs
# its own applets (ip, ...) before searching PATH.
copy_file "$(command -v busybox)" /usr/bin/busybox
ln -s bash "$root/usr/bin/sh"
declare -A have_prog=()
for prog in "${HOST_PROGS[@]}" modprobe insmod rmmod lsmod modinfo depmod; do
	have_prog[$prog]=1
done
for bin in "${bins[@]}"; do
	have_prog[${bin##*/}]=1
done
while read -r applet; do
	applet=${applet#/}
	dst=$root/$applet
	[[ -e $dst || -L $dst || -n ${have_prog[${applet##*/}]:-} ]] && continue
	ln -s /usr/bin/busybox "$dst"
done < <(busybox --list-full)

# small data files the host programs read
for d in /usr/share/iproute2 /etc/iproute2 /usr/lib/tc; do
	[[ -d $d ]] && mkdir -p "$root$d" && cp -a "$d/." "$root$d/"
done
for t in l/linux v/vt100 v/vt220 x/xterm x/xterm-256color d/dumb s/screen t/tmux; do
	for d in /lib/terminfo /usr/share/terminfo; do
		[[ -f $d/$t ]] && copy_file "$d/$t" "/usr/share/terminfo/$t" && break
	done
done
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
printf '127.0.0.1 localhost vmtest\n::1 localhost ip6-localhost\n' >"$root/etc/hosts"
: >"$root/etc/fstab"

# modules: each requested one with its deps from modules.dep, decompressed
# so neither busybox nor the kernel has to handle .ko.xz / .ko.zst
mdir=$kdir/modules
gmdir=$root/lib/modules/$release
mkdir -p "$gmdir"
declare -A want_files=()
loaded=()
for mod in "${modules[@]}"; do
	name=${mod//-/_}
	line=$(awk -v n="$name" '{
		f = $1; sub(/:$/, "", f); b = f; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b)
		gsub(/-/, "_", b); if (b == n) { print; exit } }' "$mdir/modules.dep")
	if [[ -z $line ]]; then
		if sed 's,.*/,,; s,\.ko$,,; s,-,_,g' "$mdir/modules.builtin" | grep -qxF "$name"; then
			continue
		fi
		log "warning: module $mod is neither a module nor built into $release; skipped"
		continue
	fi
	loaded+=("$name")
	for f in $line; do
		want_files[${f%:}]=1
	done
done
for f in "${!want_files[@]}"; do
	src=$mdir/$f
	dst=$gmdir/${f%.xz}
	dst=${dst%.zst}
	dst=${dst%.gz}
	mkdir -p "$(dirname "$dst")"
	case $f in
	*.xz) xz -dc "$src" >"$dst" ;;
	*.zst) zstd -qdc "$src" >"$dst" ;;
	*.gz) gzip -dc "$src" >"$dst" ;;
	*) cp "$src" "$dst" ;;
	esac || die "cannot unpack module $src"
done
for f in modules.builtin modules.builtin.modinfo modules.order; do
	[[ -f $mdir/$f ]] && cp "$mdir/$f" "$gmdir/"
done
depmod -b "$root" "$release" || die "depmod in the initramfs for $release failed"
mkdir -p "$root/etc/vmtest"
printf '%s\n' "${loaded[@]}" >"$root/etc/vmtest/modules"

if [[ -n $tree ]]; then
	mkdir -p "$root/work/tests"
	cp -a "$tree/." "$root/work/tests/"
fi
if [[ -n $cmd ]]; then
	printf '%s\n' "$cmd" >"$root/guest-cmd"
fi

cp "$VMTEST_DIR/init" "$root/init"
chmod 755 "$root/init"

mkdir -p "$(dirname "$out")"
(cd "$root" && find . -print0 | LC_ALL=C sort -z |
	cpio --null --create --format=newc --owner=0:0 --quiet) >"$out.tmp" ||
	die "cpio failed for $out"
mv "$out.tmp" "$out"
log "wrote $out ($(du -h "$out" | cut -f1), $release, modules: ${loaded[*]:-none})"
