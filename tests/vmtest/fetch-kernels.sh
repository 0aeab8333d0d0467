#!/usr/bin/env bash
# Download Debian cloud kernels for the QEMU matrix, without installing them.
#
#   fetch-kernels.sh [SERIES...]      (default: $VMTEST_KERNELS or "6.1 6.12")
#
# Prints one line per series on stdout: "<series> <kernel-dir>", where
# <kernel-dir> is .cache/vmtest/kernels/<release>/ holding vmlinuz, config
# and modules/ (the package's lib/modules/<release>).
#
# The package index lives in a private apt config under .cache/vmtest/apt, so
# the system's sources and lists stay untouched. Suites: bookworm (+updates,
# +security) for 6.1 and bookworm-backports for 6.12; VMTEST_EXTRA_SUITES
# (e.g. "trixie") adds more. "Newest" is resolved from the index: among the
# packages named linux-image-<series>.*-cloud-amd64-unsigned, the highest
# package version wins.
#
# With a warm cache (a resolved kernel for every series) the network is not
# touched. VMTEST_REFRESH=1 re-reads the index and fetches newer kernels.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

APT_DIR=$VMTEST_CACHE/apt
KERNELS_DIR=$VMTEST_CACHE/kernels
MIRROR=${VMTEST_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${VMTEST_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

series_list=("$@")
((${#series_list[@]})) || read -r -a series_list <<<"$(vmtest_kernels)"

need_pkgs "${VMTEST_HOST_PKGS[@]}"

setup_private_apt() {
	mkdir -p "$APT_DIR"/{sources.list.d,preferences.d,state/lists/partial,cache/archives/partial,debs}
	: >"$APT_DIR/state/status"
	: >"$APT_DIR/sources.list"
	[[ -r $KEYRING ]] || die "missing $KEYRING (package debian-archive-keyring)"
	cat >"$APT_DIR/sources.list.d/vmtest.sources" <<-SRC
	Types: deb
	URIs: $MIRROR
	Suites: bookworm bookworm-updates bookworm-backports ${VMTEST_EXTRA_SUITES:-}
	Components: main
	Architectures: amd64
	Signed-By: $KEYRING

	Types: deb
	URIs: $SECURITY_MIRROR
	Suites: bookworm-security
	Components: main
	Architectures: amd64
	Signed-By: $KEYRING
	SRC
	# Dir::Etc::parts stays the system's so a host proxy setting still applies.
	cat >"$APT_DIR/apt.conf" <<-CONF
	Dir::Etc::sourcelist "$APT_DIR/sources.list";
	Dir::Etc::sourceparts "$APT_DIR/sources.list.d";
	Dir::Etc::preferences "$APT_DIR/preferences";
	Dir::Etc::preferencesparts "$APT_DIR/preferences.d";
	Dir::State "$APT_DIR/state";
	Dir::State::lists "$APT_DIR/state/lists";
	Dir::State::status "$APT_DIR/state/status";
	Dir::Cache "$APT_DIR/cache";
	Dir::Cache::archives "$APT_DIR/cache/archives";
	APT::Architecture "amd64";
	APT::Architectures { "amd64"; };
	Acquire::Languages "none";
	APT::Sandbox::User "root";
	CONF
}

papt_get() { APT_CONFIG=$APT_DIR/apt.conf apt-get -q "$@"; }
papt_cache() { APT_CONFIG=$APT_DIR/apt.conf apt-cache "$@"; }

index_updated=0
update_index() {
	((index_updated)) && return 0
	setup_private_apt
	log "updating private package index ($APT_DIR)"
	papt_get update >&2 || die "apt-get update (private config) failed"
	index_updated=1
}

# Print "<package> <version>" of the newest cloud kernel image of a series.
resolve_newest() {
	local series=$1 re names=() pkg ver best_pkg="" best_ver=""
	re="^linux-image-${series//./\\.}\\.[0-9][^ ]*-cloud-amd64-unsigned\$"
	while read -r pkg; do
		[[ $pkg =~ $re ]] && names+=("$pkg")
	done < <(papt_cache pkgnames "linux-image-$series." | sort -u)
	((${#names[@]})) || die "no linux-image-$series.*-cloud-amd64-unsigned in the index (suites: bookworm*, bookworm-backports ${VMTEST_EXTRA_SUITES:-})"
	# madison lists every version of every name (bookworm, security, backports)
	while read -r pkg ver; do
		if [[ -z $best_ver ]] || dpkg --compare-versions "$ver" gt "$best_ver"; then
			best_pkg=$pkg best_ver=$ver
		fi
	done < <(papt_cache madison "${names[@]}" | awk -F' *[|] *' '{gsub(/ /, "", $1); print $1, $2}')
	[[ -n $best_pkg ]] || die "apt-cache madison found no version of ${names[*]}"
	echo "$best_pkg $best_ver"
}

# Download and unpack one kernel package; print its release (uname -r).
fetch_kernel() {
	local pkg=$1 ver=$2 tmp deb release kdir
	tmp=$(mktemp -d "$VMTEST_CACHE/fetch.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$tmp'" RETURN
	log "downloading $pkg=$ver"
	(cd "$tmp" && papt_get download "$pkg=$ver" >&2) || die "apt-get download $pkg=$ver failed"
	deb=$(find "$tmp" -maxdepth 1 -name '*.deb' | head -n1)
	[[ -n $deb ]] || die "apt-get download $pkg produced no .deb"
	dpkg-deb -x "$deb" "$tmp/root" || die "dpkg-deb -x $deb failed"
	release=$(find "$tmp/root/lib/modules" "$tmp/root/usr/lib/modules" -mindepth 1 -maxdepth 1 \
		-type d -printf '%f\n' 2>/dev/null | head -n1)
	[[ -n $release ]] || die "$pkg has no lib/modules/<release>"
	# the package leaves modules.dep to its postinst; make it here
	if [[ -d $tmp/root/usr/lib/modules/$release && ! -d $tmp/root/lib/modules/$release ]]; then
		mkdir -p "$tmp/root/lib/modules"
		mv "$tmp/root/usr/lib/modules/$release" "$tmp/root/lib/modules/"
	fi
	depmod -b "$tmp/root" "$release" || die "depmod for $release failed"
	kdir=$KERNELS_DIR/$release
	rm -rf "$kdir"
	mkdir -p "$kdir"
	cp "$tmp/root/boot/vmlinuz-$release" "$kdir/vmlinuz" || die "$pkg has no boot/vmlinuz-$release"
	cp "$tmp/root/boot/config-$release" "$kdir/config" 2>/dev/null || true
	mv "$tmp/root/lib/modules/$release" "$kdir/modules"
	printf 'package=%s\nversion=%s\nrelease=%s\n' "$pkg" "$ver" "$release" >"$kdir/package.txt"
	touch "$kdir/.complete"
	echo "$release"
}

mkdir -p "$KERNELS_DIR"
for series in "${series_list[@]}"; do
	[[ $series =~ ^[0-9]+\.[0-9]+$ ]] || die "bad kernel series '$series' (want e.g. 6.1)"
	link=$KERNELS_DIR/latest-$series
	if [[ ${VMTEST_REFRESH:-0} != 1 && -L $link && -e $link/.complete ]]; then
		echo "$series $(cd "$link" && pwd -P)"
		continue
	fi
	update_index
	read -r pkg ver < <(resolve_newest "$series")
	release=""
	for kdir in "$KERNELS_DIR"/*/; do
		[[ ! -L ${kdir%/} && -e $kdir/.complete ]] || continue
		if grep -qxF "package=$pkg" "$kdir/package.txt" &&
			grep -qxF "version=$ver" "$kdir/package.txt"; then
			release=$(basename "$kdir")
		fi
	done
	if [[ -n $release ]]; then
		log "$series: $pkg $ver already cached"
	else
		release=$(fetch_kernel "$pkg" "$ver")
		log "$series: $pkg $ver -> kernels/$release"
	fi
	ln -sfn "$release" "$link"
	echo "$series $KERNELS_DIR/$release"
done
