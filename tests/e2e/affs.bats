#!/usr/bin/env bats
# affs.bats - mkfs.affs (guests/linux-6.1/mkfs-affs.c), the Amiga
# formatter the guests carry for `qemount pack`, checked by independent
# readers: unadf (ADFlib 0.7) lists every type it makes, floppy and
# hard-disk sizes; both guests' Linux affs driver mounts them, and takes
# writes (tests/tools/qm-put, no `qemount pack` yet) that unadf extracts
# byte for byte, with free-block counts that Linux's statfs (its own
# count of the bitmap, on a fresh mount) and the arithmetic agree on.
#
# unadf 0.7 on 64-bit hosts warns "incorrect checksum" on every boot
# block with a checksum (ADFlib fixed its bootblock sum for 64-bit
# later); the unit test checks that sum.

load helpers

bats_require_minimum_version 1.5.0

MKFS=$TOP/build/tools/mkfs.affs
PUT=$TOP/build/tools/qm-put
LEAN=linux-6.1-lean
DD=901120
HD=1802240

# fresh NAME BYTES [MKFS-OPTION...]: a zeroed image of BYTES in $OUT,
# formatted; its path in $img
fresh() {
	img=$OUT/$1
	shift
	truncate -s "$1" "$img"
	shift
	"$MKFS" "$@" "$img"
}

# statfs IMAGE [GUEST]: Linux's "bfree N" for IMAGE on a fresh mount
bfree() {
	QEMOUNT_GUEST=${2:-$LEAN} timeout "$LIMIT" "$PUT" "$1" affs |
		sed -n 's/.* bfree \([0-9]*\)$/\1/p'
}

@test "unadf lists every DOS type, DD and HD, empty, with its name" {
	local t size kind
	local -a want=("OFS ." "FFS ." "OFS INTL ." "FFS INTL ." \
		       "OFS DIRCACHE ." "FFS DIRCACHE .")
	for t in 0 1 2 3 4 5; do
		for size in $DD $HD; do
			kind=DD
			[ "$size" = $HD ] && kind=HD
			fresh "$t$kind.adf" "$size" -t "DOS$t" -L "Vol $t $kind"
			run -0 unadf -l "$img"
			[[ $output == *"Floppy $kind."* ]]
			[[ $output == *"\"Vol $t $kind\""*"${want[t]}"* ]] ||
				{ echo "DOS$t $kind: $output" >&2; return 1; }
			# the tree: nothing but the header lines
			run -0 unadf -lr "$img"
			[ "$(grep -c '^ .*[0-9]/[0-9]' <<< "$output")" = 0 ]
		done
	done
}

@test "the default is DOS1 (FFS) named Empty, root in the middle" {
	fresh a.adf $DD
	[ "$(head -c 4 "$img" | od -An -c | tr -d ' ')" = 'DOS001' ]
	run -0 unadf -l "$img"
	[[ $output == *'"Empty" between sectors [0-1759]. FFS .'* ]]
	# the root's type (2) at block 880, as AmigaDOS puts it
	[ "$(od -An -tx1 -j $((880 * 512)) -N 4 "$img" | tr -d ' ')" = 00000002 ]
}

@test "hard-disk sizes: unadf mounts 64 MiB and 512 MiB as hardfiles" {
	for size in 64M 512M; do
		fresh hd$size.img $size -L "Hard $size"
		run -0 unadf -l "$img"
		[[ $output == *"Hardfile"*"FFS ."* ]]
	done
}

@test "both guests mount it: qemount ls and tar show an empty volume" {
	local g
	fresh a.adf $DD -L Blank
	for g in linux-6.1 $LEAN; do
		run --separate-stderr -0 env QEMOUNT_GUEST=$g timeout $LIMIT \
			"$QM" ls --fs=affs "$img"
		[ -z "$output" ]
		QEMOUNT_GUEST=$g timeout $LIMIT "$QM" tar --fs=affs "$img" \
			-o "$OUT/$g.tar"
		[ -z "$(bsdtar -tf "$OUT/$g.tar" | grep -v '^\./\?$')" ]
	done
}

@test "both guests mount DD, HD and odd sizes read-write, all free" {
	local g n want got
	for g in linux-6.1 $LEAN; do
		for n in 1760 3520 1761 100001; do
			fresh $g-$n.img $((n * 512))
			# less the boot block, the root, the bitmap blocks
			want=$((n - 3 - (n - 2 + 4063) / 4064))
			got=$(bfree "$img" $g)
			[ "$got" = $want ] ||
				{ echo "$g, $n blocks: bfree $got, want $want" >&2; return 1; }
		done
	done
}

@test "a DD floppy takes a file and a directory; unadf extracts them" {
	fresh w.adf $DD -L Work
	head -c 100000 /dev/urandom > "$OUT/big.bin"
	printf 'hello amiga\n' > "$OUT/hello.txt"
	QEMOUNT_GUEST=linux-6.1 timeout $LIMIT "$PUT" "$img" affs dir/ \
		"dir/hello.txt=$OUT/hello.txt" "big.bin=$OUT/big.bin"
	mkdir "$OUT/x"
	(cd "$OUT/x" && unadf "$img")
	cmp "$OUT/x/big.bin" "$OUT/big.bin"
	cmp "$OUT/x/dir/hello.txt" "$OUT/hello.txt"
	# FFS: big.bin is a header, 196 data blocks and 2 extension blocks
	# (72 pointers each); hello.txt 2 blocks; dir 1: 1756 - 202
	[ "$(bfree "$img")" = 1554 ]
}

@test "64 MiB: a 20 MB file reaches the bitmap blocks past the 25 in the root" {
	fresh h.img 64M -L "Hard Disk"
	# 131072 blocks: 2 boot, root, 33 bitmap blocks, 1 extension block
	[ "$(bfree "$img")" = $((131072 - 37)) ]
	head -c 20000000 /dev/urandom > "$OUT/big.bin"
	timeout $LIMIT "$PUT" "$img" affs "big=$OUT/big.bin"
	mkdir "$OUT/x"
	(cd "$OUT/x" && unadf "$img")
	cmp "$OUT/x/big" "$OUT/big.bin"
	# 39063 data blocks, 542 extension blocks, a header, from the root
	# (65536) up past block 2 + 25 * 4064
	[ "$(bfree "$img")" = $((131072 - 37 - 39606)) ]
}

@test "512 MiB: Linux reads all 259 bitmap blocks through 2 extension blocks" {
	fresh big.img 512M
	# a bad checksum or pointer would mount read-only: bfree 0
	[ "$(bfree "$img" linux-6.1)" = $((1048576 - 2 - 1 - 259 - 2)) ]
	printf 'x\n' > "$OUT/x.txt"
	QEMOUNT_GUEST=linux-6.1 timeout $LIMIT "$PUT" "$img" affs "x.txt=$OUT/x.txt"
	run -0 unadf -lr "$img"
	[[ $output == *" x.txt"* ]]
}

@test "OFS and INTL volumes take writes too" {
	local t
	printf 'ofs\n' > "$OUT/f.txt"
	for t in DOS0 DOS2 DOS3; do
		fresh $t.adf $HD -t $t
		timeout $LIMIT "$PUT" "$img" affs "f.txt=$OUT/f.txt"
		rm -rf "$OUT/x" && mkdir "$OUT/x"
		(cd "$OUT/x" && unadf "$img")
		cmp "$OUT/x/f.txt" "$OUT/f.txt"
	done
}

@test "dircache volumes (DOS4, DOS5): Linux mounts them read-only" {
	fresh dc.adf $DD -t DOS5
	run --separate-stderr -1 timeout $LIMIT "$PUT" "$img" affs "f=$img"
	[[ $stderr == *"Read-only file system"* ]]
	run -0 env QEMOUNT_GUEST=linux-6.1 "$QM" ls --fs=affs "$img"
}

@test "each guest's /sbin/mkfs.affs is this one, static" {
	local g
	for g in linux-6.1 $LEAN; do
		cpio -i --quiet --to-stdout sbin/mkfs.affs \
			< "$TOP/build/guests/$g/initramfs.cpio" > "$OUT/mkfs.$g"
		chmod +x "$OUT/mkfs.$g"
		truncate -s $DD "$OUT/a.$g" "$OUT/b.$g"
		SOURCE_DATE_EPOCH=1700000000 "$OUT/mkfs.$g" -t DOS3 "$OUT/a.$g"
		SOURCE_DATE_EPOCH=1700000000 "$MKFS" -t DOS3 "$OUT/b.$g"
		cmp "$OUT/a.$g" "$OUT/b.$g"
		run -0 file "$OUT/mkfs.$g"
		[[ $output == *"statically linked"* ]]
	done
}

@test "failures: one line naming the device or argument, exit 1" {
	truncate -s 2560 "$OUT/small.img"
	run --separate-stderr "$MKFS" "$OUT/small.img"
	fails_cleanly "mkfs.affs: $OUT/small.img: too small" "needs 6"
	run --separate-stderr "$MKFS" -t DOS7 "$OUT/small.img"
	fails_cleanly "DOS7" "not supported"
	run --separate-stderr "$MKFS" -L "a/b" "$OUT/small.img"
	fails_cleanly "a/b" "'/', ':'"
	run --separate-stderr "$MKFS" -L "1234567890123456789012345678901" x
	fails_cleanly "1 to 30 bytes"
	run --separate-stderr "$MKFS" "$OUT/missing.img"
	fails_cleanly "$OUT/missing.img" "No such file"
	run --separate-stderr "$MKFS" /dev/null
	fails_cleanly "/dev/null: not a regular file or block device"
	fresh a.adf $DD
	run --separate-stderr "$MKFS" "$img"
	fails_cleanly "holds an Amiga filesystem already (-f overwrites it)"
	"$MKFS" -f -L Again "$img"
	run -0 unadf -l "$img"
	[[ $output == *'"Again"'* ]]
	run --separate-stderr "$MKFS" "$img" 12x
	fails_cleanly "12x: BLOCKS is not a number"
	run "$MKFS"
	[ "$status" -eq 2 ] && [[ $output == usage:* ]]
}
