#!/bin/bash
# kernel.sh - build the linux-6.1-lean guest's kernel, or reuse a cached one.
#
# usage: kernel.sh OUTDIR
#
# Builds vmlinux from Debian's linux-source-6.1 package (the tarball it
# installs in /usr/src) with tinyconfig plus ./kernel.config, and writes
# OUTDIR/vmlinux, OUTDIR/config (the final .config), OUTDIR/System.map and
# OUTDIR/kernel.txt (package version, cache key, build seconds).
#
# The build takes minutes, so its results are kept outside the checkout,
# in ${XDG_CACHE_HOME:-$HOME/.cache}/qemount/linux-6.1-lean/KEY/, where KEY
# hashes what decides the result: the linux-source-6.1 version, this
# script (patches, make flags), kernel.config and the compiler's version.
# A fresh clone, CI on the same machine and `make clean; make` reuse it;
# concurrent builds of one KEY wait for each other (flock).  Entries are
# never pruned: each is about 20 MB; remove old ones by hand (and a
# build.* folder, 1.5 GB, that a killed build left).
#
# Two small source changes, both for boot time or for ending the VM;
# each is checked to have applied:
#  - arch/x86/mm/init.c: free the init memory without filling it with
#    0xcc first (POISON_FREE_INITMEM -> -1, which free_reserved_area
#    takes as "no poison"): TCG rewrites pages that held executed code
#    slowly, ~140 ms.
#  - kernel/reboot.c: reboot(RB_POWER_OFF) on a kernel with no power-off
#    handler (no ACPI here) is turned into a halt, which never ends the
#    VM; make it a restart instead, which with reboot=t (cmdline) and
#    qemu's -no-reboot ends qemu with status 0.  So /init's
#    reboot(RB_POWER_OFF) works unchanged.
#
# Needs (Debian 12): linux-source-6.1, gcc, make, bc, bison, flex,
# libelf-dev (objtool), xz-utils, perl (perl-base), util-linux (flock),
# coreutils, dpkg.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: kernel.sh OUTDIR" >&2; exit 2; }
out=$1
die() { echo "kernel.sh: $*" >&2; exit 1; }

src=/usr/src/linux-source-6.1.tar.xz
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	ver=
[ -n "$ver" ] && [ -s "$src" ] ||
	die "$src: not found (apt-get install linux-source-6.1)"
key=$({ echo "linux-source-6.1 $ver"; gcc --version | head -1
	cat "$here/kernel.sh" "$here/kernel.config"; } | sha256sum | cut -c1-16)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/qemount/linux-6.1-lean
entry=$cache/$key

publish() {
	mkdir -p "$out"
	cp "$entry/vmlinux" "$entry/config" "$entry/System.map" \
	   "$entry/kernel.txt" "$out/"
}

[ -s "$entry/vmlinux" ] && { publish; exit 0; }
mkdir -p "$cache"
exec 9> "$cache/$key.lock"
flock 9
[ -s "$entry/vmlinux" ] && { publish; exit 0; }	# built while we waited

work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "kernel.sh: building $key from linux-source-6.1 $ver (minutes)" >&2
tar -xJf "$src" -C "$work" --strip-components=1

# edit FILE OLD NEW: replace the one line that is exactly OLD (after its
# indentation) by NEW; fail unless there was exactly one.
edit() {
	local n
	n=$(grep -cxF -- "$2" <(sed 's/^[[:space:]]*//' "$work/$1")) || :
	[ "$n" = 1 ] || die "$1: '$2' found $n times, not once"
	OLD=$2 NEW=$3 perl -i -pe \
		's/^(\s*)\Q$ENV{OLD}\E$/$1$ENV{NEW}/' "$work/$1"
	grep -qF -- "$3" "$work/$1" || die "$1: edit did not apply"
}
edit arch/x86/mm/init.c 'POISON_FREE_INITMEM, what);' '-1, what);'
edit kernel/reboot.c 'cmd = LINUX_REBOOT_CMD_HALT;' \
	'cmd = LINUX_REBOOT_CMD_RESTART;	/* qemount: see kernel.sh */'

# Fixed build identity, so the same inputs give the same vmlinux.
kmake() {
	make -C "$work" -s KBUILD_BUILD_TIMESTAMP=@0 KBUILD_BUILD_USER=qemount \
		KBUILD_BUILD_HOST=qemount KBUILD_BUILD_VERSION=1 "$@"
}
kmake tinyconfig > /dev/null
cat "$here/kernel.config" >> "$work/.config"
kmake olddefconfig 2>&1 | { grep -v 'override: reassigning' || :; } >&2
# every line of kernel.config must have held
bad=0
while read -r line; do
	grep -qxF -- "$line" "$work/.config" && continue
	sym=$(grep -oE 'CONFIG_[A-Za-z0-9_]+' <<< "$line")
	echo "kernel.sh: wanted '$line', got '$(grep -E "^$sym=|^# $sym is not set" \
		"$work/.config" || echo unset)'" >&2
	bad=1
done < <(grep -E '^(CONFIG_[A-Za-z0-9_]+=.*|# CONFIG_[A-Za-z0-9_]+ is not set)$' \
	 "$here/kernel.config")
[ $bad = 0 ] || die "kernel.config: options above did not hold (dependencies?)"

kmake -j"$(nproc)" vmlinux

mkdir "$work/out"
cp "$work/vmlinux" "$work/System.map" "$work/out/"
cp "$work/.config" "$work/out/config"
printf 'linux-source-6.1 %s\nkey %s\nbuild_seconds %s\n' "$ver" "$key" \
	$(($(date +%s) - start)) > "$work/out/kernel.txt"
mv "$work/out" "$entry"
echo "kernel.sh: built $key in $(($(date +%s) - start)) s" >&2
publish
