#!/bin/bash
# build.sh - make the linux-6.1 guest from Debian's kernel package.
#
# usage: build.sh OUTDIR
#
# Downloads linux-image-6.1.0-N-amd64 (the version linux-image-amd64 points
# at, or $LINUX_IMAGE) into OUTDIR/cache with apt-get download, unpacks it
# with dpkg-deb, and writes:
#   OUTDIR/vmlinux         uncompressed ELF kernel, booted PVH by qemu -kernel
#   OUTDIR/initramfs.cpio  uncompressed newc cpio: /init (init.c with
#                          lib/p9 server and codec, static musl),
#                          /sbin/mkfs.affs (progs.sh builds both),
#                          /lib/modules/{*.ko,modules.txt}, and the mount
#                          helpers the manifest names (helper=PKG:PATH) with
#                          their libraries and ld.so, from those Debian
#                          packages (downloaded into the cache too)
#   OUTDIR/initramfs-mkfs.cpio  the same with the formatters mkfs.txt
#                          names (for `qemount pack`), from Debian packages
#   OUTDIR/mkfs.txt        copied from here: the filesystems it formats
#   OUTDIR/inputs.txt      the Debian packages consumed, with versions
#   OUTDIR/manifest        copied from here: the filesystems served
#   OUTDIR/cmdline         copied from here: kernel options for the host
# The modules come from ./manifest, each list resolved through modules.dep
# (dependencies first, the order modprobe would use).  Nothing is installed
# and the host's /boot and /lib/modules are not touched.
#
# Needs: apt-get, dpkg-deb, depmod (kmod), musl-gcc (musl-tools), strip
# and readelf (binutils), cpio, xz-utils, zstd, gzip, grep with -P.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 1 ] || { echo "usage: build.sh OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
cache=$out/cache
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT

die() { echo "build.sh: $*" >&2; exit 1; }

# --- the kernel package ---------------------------------------------------

pkg=${LINUX_IMAGE:-$(apt-cache depends linux-image-amd64 |
	awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')}
[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 (run apt-get update)"
ver=$(apt-cache policy "$pkg" | awk '$1 == "Candidate:" { print $2 }')
case $ver in ''|'(none)') die "$pkg: no candidate version" ;; esac
deb=$cache/${pkg}_${ver}_amd64.deb
if [ ! -s "$deb" ]; then
	mkdir -p "$cache"
	(cd "$cache" && apt-get download -q "$pkg=$ver" >&2) ||
		die "$pkg=$ver: download failed"
	[ -s "$deb" ] || die "$deb: not found after download"
fi
printf '%s %s\n' "$pkg" "$ver" > "$work/inputs.txt"

dpkg-deb -x "$deb" "$work/pkg"
kver=${pkg#linux-image-}
moddir=$work/pkg/lib/modules/$kver
[ -d "$moddir" ] || die "$deb: no lib/modules/$kver"
# Debian's package does not ship modules.dep: postinst runs depmod.
[ -s "$moddir/modules.dep" ] || depmod -b "$work/pkg" "$kver"

# --- vmlinux from vmlinuz (the logic of linux's scripts/extract-vmlinux) ---

# Try every offset where a compressed stream could start; keep the first
# that decompresses to an ELF file.
extract() {	# extract VMLINUZ OUT
	local magic tool off
	for magic in '\xfd7zXZ\x00:xz -dcq --single-stream' \
		     '\x28\xb5\x2f\xfd:zstd -dcq' \
		     '\x1f\x8b\x08:gzip -dcq'; do
		tool=${magic#*:}
		# shellcheck disable=SC2013  # offsets, one a line
		for off in $(LC_ALL=C grep -obUaP "${magic%%:*}" "$1" |
			     cut -d: -f1); do
			tail -c +$((off + 1)) "$1" | $tool > "$2" 2>/dev/null || :
			[ "$(head -c 4 "$2" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] &&
				return 0
		done
	done
	return 1
}
extract "$work/pkg/boot/vmlinuz-$kver" "$work/vmlinux" ||
	die "vmlinuz-$kver: no compressed ELF kernel found"

# --- modules ----------------------------------------------------------------

# name (with _ for -) -> path relative to moddir, and -> its dependencies
declare -A path deps
while IFS=: read -r m d; do
	n=${m##*/}
	n=${n%%.ko*}
	n=${n//-/_}
	path[$n]=$m
	deps[$n]=$d
done < "$moddir/modules.dep"

rootfs=$work/rootfs
mkdir -p "$rootfs"/{dev,proc,sys,mnt,lib/modules}
# Debian signs its modules.  Checking a signature (a hash over the whole
# module, then RSA) cost 0.1 to 0.3 s per boot under TCG, and the guest
# loads only what we packed, so cut it off: the file ends with the
# signature, struct module_signature (12 bytes, big-endian sig_len last)
# and the magic string.  The kernel then logs a notice and taints itself.
unsign() {	# unsign FILE.ko
	local size n
	tail -c 28 "$1" | grep -q '^~Module signature appended~$' || return 0
	size=$(stat -c %s "$1")
	n=$(tail -c 32 "$1" | head -c 4 | od -An -tu1 |
	    awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }')
	truncate -s $((size - 28 - 12 - n)) "$1"
}

declare -A staged
# stage MODULE: copy it, decompressed and unsigned, into the cpio tree;
# print its file name
stage() {
	local rel=$1 f
	f=${rel##*/}
	f=${f%%.ko*}.ko
	if [ -z "${staged[$f]:-}" ]; then
		case $rel in
		*.ko)     cp "$moddir/$rel" "$rootfs/lib/modules/$f" ;;
		*.ko.xz)  xz -dc "$moddir/$rel" > "$rootfs/lib/modules/$f" ;;
		*.ko.zst) zstd -dcq "$moddir/$rel" > "$rootfs/lib/modules/$f" ;;
		*.ko.gz)  gzip -dc "$moddir/$rel" > "$rootfs/lib/modules/$f" ;;
		*)        die "$rel: unknown module compression" ;;
		esac
		unsign "$rootfs/lib/modules/$f"
		staged[$f]=1
	fi
	printf ' %s' "$f"
}

# resolve MODULE [PARAM]: print the files to load, dependencies first,
# each once a line (seen is reset per manifest line).  modules.dep lists
# all of a module's dependencies, ordered so that loading them from the
# last to the first works; modprobe does that.  A module's parameter goes
# after its file name: FILE.ko:PARAM=VALUE.
declare -A seen
resolve() {
	local m=$1 param=${2:-} n d i
	n=${m//-/_}
	if [ -z "${path[$n]:-}" ]; then
		grep -q "/$m.ko" "$moddir/modules.builtin" ||
			die "module $m: not in $pkg"
		[ -z "$param" ] || die "module $m: built in, no parameter"
		return 0
	fi
	read -ra d <<< "${deps[$n]}"
	for ((i = ${#d[@]} - 1; i >= 0; i--)); do
		[ -n "${seen[${d[i]}]:-}" ] && continue
		seen[${d[i]}]=1
		stage "${d[i]}"
	done
	if [ -n "${seen[${path[$n]}]:-}" ]; then
		[ -z "$param" ] || die "module $m: one parameter, before any plain use"
		return 0
	fi
	seen[${path[$n]}]=1
	stage "${path[$n]}"
	[ -z "$param" ] || printf ':%s' "$param"
}

# --- Debian programs -------------------------------------------------------
# Mount helpers (and the mkfs tools, below) come from Debian packages,
# downloaded into the cache like the kernel: debprogs.sh.
tree=$work/deb
dest=$rootfs
# shellcheck source=debprogs.sh
. "$here/debprogs.sh"


# modules.txt: the manifest with each module resolved to its files, the
# other words as they are (helper= as the program's path in the rootfs).
{
	echo "# NAME FILE.ko[:PARAM]... [type= dev= opts= helper=]: /init loads"
	echo "# @boot, then the qm.fs= line, and mounts as its words say"
	while read -r name mode words; do
		case $name in ''|'#'*) continue ;; esac
		case $mode in ro|rw|-) ;; *) die "manifest: $name: mode $mode" ;; esac
		[ -n "$words" ] || die "manifest: $name: no modules"
		seen=()
		nopts=0
		printf '%s' "$name"
		for w in $words; do
			case $w in
			type=?*|dev=?*) printf ' %s' "$w" ;;
			opts=?*)
				# init.c MAX_OPTS
				[ $((nopts += 1)) -le 4 ] ||
					die "manifest: $name: more than 4 opts="
				printf ' %s' "$w" ;;
			helper=?*:/?*)
				w=${w#helper=}
				program "${w%%:*}" "${w#*:}"
				printf ' helper=%s' "${w#*:}" ;;
			[!=]*.*=*) resolve "${w%%.*}" "${w#*.}" ;;
			*=*) die "manifest: $name: bad word $w" ;;
			*) resolve "$w" ;;
			esac
		done
		echo
	done < "$here/manifest"
} > "$rootfs/lib/modules/modules.txt"

# --- init and our tools -------------------------------------------------------

"$here/progs.sh" "$rootfs"

# --- outputs ------------------------------------------------------------------

initramfs "$rootfs" "$here/mkfs.txt"
cp "$here/manifest" "$here/cmdline" "$here/mkfs.txt" "$work/"
mv "$work/vmlinux" "$work/initramfs.cpio" "$work/initramfs-mkfs.cpio" \
	"$work/inputs.txt" "$work/manifest" "$work/cmdline" "$work/mkfs.txt" \
	"$out/"
