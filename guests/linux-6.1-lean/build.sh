#!/bin/bash
# build.sh - make the linux-6.1-lean guest: Debian's linux-source-6.1 built
# with every driver in (no modules), and the linux-6.1 guest's /init.
#
# usage: build.sh OUTDIR
#
# Writes:
#   OUTDIR/vmlinux         uncompressed ELF kernel with a PVH note, from
#                          kernel.sh (cached outside the checkout, see there)
#   OUTDIR/initramfs.cpio  uncompressed newc cpio: /init (guests/linux-6.1/
#                          init.c with lib/p9 server and codec, static musl),
#                          /sbin/mkfs.affs (guests/linux-6.1/progs.sh)
#                          and /lib/modules/modules.txt, whose lines name
#                          the filesystems, no modules (all built in), and
#                          the manifest's type=, dev= and opts= words
#   OUTDIR/manifest        copied from here: the filesystems served
#   OUTDIR/cmdline         copied from here: kernel options for the host
#   OUTDIR/initramfs-mkfs.cpio  the same with the formatters of
#                          ../linux-6.1/mkfs.txt (for `qemount pack`)
#   OUTDIR/mkfs.txt        copied from there: the filesystems it formats
#   OUTDIR/inputs.txt      the linux-source-6.1 version and kernel cache
#                          key, and the Debian packages of the formatters
#   OUTDIR/config          the kernel's final .config
#   OUTDIR/System.map      the kernel's symbols (for initcall_debug output)
# Every CONFIG_ option the manifest names for a filesystem must be =y in
# the kernel's .config, or the build fails.
#
# Needs: what kernel.sh needs, and musl-gcc (musl-tools), strip
# (binutils), cpio.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: build.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT

die() { echo "build.sh: $*" >&2; exit 1; }

# --- the kernel ---------------------------------------------------------------

"$here/kernel.sh" "$work"

# --- modules.txt: one line per filesystem, no modules -------------------------

rootfs=$work/rootfs
mkdir -p "$rootfs"/{dev,proc,sys,mnt,lib/modules}
{
	echo "# NAME WORD... : /init loads @boot, then follows the qm.fs= line;"
	echo "# every driver is built in: the words are type=, dev=, opts= only"
	echo "@boot"
	while read -r name mode opts; do
		case $name in ''|'#'*|'@'*) continue ;; esac
		case $mode in ro|rw) ;; *) die "manifest: $name: mode $mode" ;; esac
		line=$name need=
		for w in $opts; do
			case $w in
			CONFIG_*)
				grep -qx "$w=y" "$work/config" ||
					die "manifest: $name: $w is not =y in the kernel"
				need=1 ;;
			type=*|dev=*|opts=*) line="$line $w" ;;
			*) die "manifest: $name: unknown word $w" ;;
			esac
		done
		[ -n "$need" ] || die "manifest: $name: no CONFIG_ options"
		echo "$line"
	done < "$here/manifest"
} > "$rootfs/lib/modules/modules.txt"

# --- init and our tools: the linux-6.1 guest's, built the same way -------------

"$root/guests/linux-6.1/progs.sh" "$rootfs"

# --- outputs --------------------------------------------------------------------

{
	grep '^linux-source-6.1 ' "$work/kernel.txt"
	sed -n 's/^key /kernel-cache-key /p' "$work/kernel.txt"
} > "$work/inputs.txt"
# the initrds, with the linux-6.1 guest's formatters for `qemount pack`
# (their Debian packages go to inputs.txt too)
cache=$out/cache tree=$work/deb dest=$rootfs
# shellcheck source=../linux-6.1/debprogs.sh
. "$root/guests/linux-6.1/debprogs.sh"
initramfs "$rootfs" "$root/guests/linux-6.1/mkfs.txt"
cp "$here/manifest" "$here/cmdline" "$root/guests/linux-6.1/mkfs.txt" \
	"$work/"
mv "$work/vmlinux" "$work/initramfs.cpio" "$work/initramfs-mkfs.cpio" \
	"$work/inputs.txt" "$work/config" "$work/System.map" "$work/manifest" \
	"$work/cmdline" "$work/mkfs.txt" "$out/"
