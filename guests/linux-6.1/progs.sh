#!/bin/bash
# progs.sh - build the guests' own programs, static with musl, into a
# rootfs tree.  Both guests (linux-6.1 and linux-6.1-lean) use it, so
# their /init and tools are built one way.
#
# usage: progs.sh ROOTFS
#
# Writes:
#   ROOTFS/init            init.c with the lib/p9 server and codec: PID 1
#   ROOTFS/sbin/mkfs.affs  mkfs-affs.c: the Amiga FFS/OFS formatter that
#                          Debian does not have
#
# Needs: musl-gcc (musl-tools), strip (binutils).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: progs.sh ROOTFS" >&2; exit 2; }
rootfs=$1
p9=$root/lib/p9

cc() {	# cc OUT SOURCE...
	musl-gcc -static -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -I"$p9" \
		-o "$rootfs/$1" "${@:2}"
	strip "$rootfs/$1"
}

mkdir -p "$rootfs/sbin"
# The 9P server is lib/p9/server*.c over the codec, the same sources the
# host tests build.
cc init "$here/init.c" "$p9"/server*.c "$p9/codec.c"
cc sbin/mkfs.affs "$here/mkfs-affs.c"
