#!/usr/bin/env bats
# lean.bats - the linux-6.1-lean guest (guests/linux-6.1-lean: Debian's
# linux-source-6.1 with every driver built in): the registry prefers it,
# it reads the test images, it gives the kernel's reason for a failed
# mount, every filesystem its manifest lists is in its kernel, and how
# long it takes to boot next to the linux-6.1 guest (printed, not
# asserted).  Archives are read back by bsdtar (tests/e2e/check-archive).

load helpers

bats_require_minimum_version 1.5.0

LEAN=linux-6.1-lean
LEAN_DIR=$TOP/build/guests/$LEAN

# lean_tar NAME: tar_matches (helpers.bash) with the lean guest forced
lean_tar() {
	QEMOUNT_GUEST=$LEAN tar_matches "$1"
}

@test "the lean guest is built, with its manifest and cmdline" {
	[ -s "$LEAN_DIR/vmlinux" ]
	[ -s "$LEAN_DIR/initramfs.cpio" ]
	grep -q '^@priority ' "$LEAN_DIR/manifest"
	grep -qx '@machine  *microvm,acpi=off' "$LEAN_DIR/manifest"
}

@test "the registry picks the lean guest for ext4, on -M microvm,acpi=off" {
	local real
	real=$(command -v qemu-system-x86_64)
	unset QEMOUNT_GUEST
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	# a qemu that notes its arguments, one run a line
	printf '#!/bin/sh\necho "$*" >> "%s"\nexec "%s" "$@"\n' \
		"$OUT/qemu.args" "$real" > "$BATS_TEST_TMPDIR/bin/qemu-system-x86_64"
	chmod +x "$BATS_TEST_TMPDIR/bin/qemu-system-x86_64"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH "$QM" tar "$(image_of ext4)" -o "$OUT/a.tar"
	"$CHECK" "$OUT/a.tar" "$IMAGES/ext4.mtree"
	# the run itself (not the KVM probe, which has no -initrd)
	grep -F -- "-initrd" "$OUT/qemu.args" | grep -F -- "-M microvm,acpi=off " |
		grep -F "/guests/$LEAN/vmlinux"
	# and QEMOUNT_GUEST forces the Debian-kernel guest, on plain microvm
	: > "$OUT/qemu.args"
	QEMOUNT_GUEST=linux-6.1 PATH=$BATS_TEST_TMPDIR/bin:$PATH \
		"$QM" tar "$(image_of ext4)" -o "$OUT/b.tar"
	"$CHECK" "$OUT/b.tar" "$IMAGES/ext4.mtree"
	grep -F -- "-initrd" "$OUT/qemu.args" | grep -F -- "-M microvm " |
		grep -F "/guests/linux-6.1/vmlinux"
}

@test "lean: ext2 image matches the manifest, image unchanged" {
	lean_tar ext2
}

@test "lean: ext4 image matches the manifest, image unchanged" {
	lean_tar ext4
}

@test "lean: vfat image matches the manifest, image unchanged" {
	lean_tar vfat
}

@test "lean: iso9660 (Rock Ridge) image matches the manifest" {
	lean_tar iso9660
}

@test "lean: the other test images of filesystems it serves" {
	# fs.bats reads these with the linux-6.1 guest; each that
	# testdata/Makefile built must come out the same from this one
	local name n=0 bad=
	for name in ext3 fat12 fat32 udf btrfs xfs f2fs squashfs-gzip \
		    squashfs-xz squashfs-zstd squashfs-lz4 squashfs-lzo erofs \
		    romfs hfs ufs1; do
		[ -e "$IMAGES/$name.img" ] && [ -e "$IMAGES/$name.mtree" ] || continue
		n=$((n + 1))
		QEMOUNT_GUEST=$LEAN timeout $LIMIT "$QM" tar "$IMAGES/$name.img" \
			-o "$OUT/$name.tar" &&
			"$CHECK" "$OUT/$name.tar" "$IMAGES/$name.mtree" ||
			bad="$bad $name"
	done
	echo "# $n images" >&3
	[ -z "$bad" ] || { echo "differ or fail:$bad" >&2; return 1; }
}

@test "lean: wrong --fs gives one clear line with the kernel's reason" {
	run --separate-stderr env QEMOUNT_GUEST=$LEAN timeout $LIMIT \
		"$QM" tar --fs vfat "$(image_of ext4)" -o "$OUT/a.tar"
	fails_cleanly ext4.img "cannot mount as vfat" "FAT-fs"
	[ ! -e "$OUT/a.tar" ]
}

@test "lean: every filesystem in the manifest is in the kernel" {
	# an empty disk: each driver must refuse it itself; ENODEV ("No
	# such device") is mount(2)'s word for a type the kernel lacks
	local fs bad=
	truncate -s 4M "$OUT/zero.img"
	for fs in $(awk '$1 !~ /^[#@]/ && NF >= 2 { print $1 }' "$LEAN_DIR/manifest"); do
		run --separate-stderr env QEMOUNT_GUEST=$LEAN timeout $LIMIT \
			"$QM" tar --fs "$fs" "$OUT/zero.img" -o "$OUT/a.tar"
		if [ "$status" -ne 1 ] || [[ $stderr != *"cannot mount as $fs"* ]] ||
		   [[ $stderr == *"No such device"* ]]; then
			echo "$fs: status $status: $stderr" >&2
			bad="$bad $fs"
		fi
	done
	[ -z "$bad" ] || { echo "not served:$bad" >&2; return 1; }
}

# five boots each on ext4: qemu start to the first Rversion (qemount tar
# -v), min and median; printed for the record, not asserted
boot_times() {
	local i t
	for i in 1 2 3 4 5; do
		t=$(QEMOUNT_GUEST=$1 "$QM" tar -v "$(image_of ext4)" -o "$OUT/t.tar" 2>&1 |
			sed -n 's/.*boot to first Rversion \([0-9.]*\) s.*/\1/p')
		[ -n "$t" ] || return 1
		echo "$t"
	done | sort -n | awk '{ v[NR] = $1 } END { printf "min %.3f s, median %.3f s", v[1], v[3] }'
}

@test "boot to first Rversion on ext4, 5 runs: linux-6.1 vs linux-6.1-lean" {
	local deb lean
	deb=$(boot_times linux-6.1)
	lean=$(boot_times $LEAN)
	echo "# linux-6.1:      $deb" >&3
	echo "# linux-6.1-lean: $lean" >&3
}

@test "after all of the above, every input image has its old sha256" {
	images_unchanged
}
