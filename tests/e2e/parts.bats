#!/usr/bin/env bats
# parts.bats - partitioned disks (testdata/scripts/mkdisk: MBR with
# logical partitions, GPT, Apple APM, Amiga RDB, Atari AHDI, BSD
# disklabel), each read through qemount tar: one partition with
# --partition N (its filesystem detected on the host), and the whole
# disk as one tree, each partition under its number, on both guests.
# Archives are read back by bsdtar against the manifests.

load helpers

bats_require_minimum_version 1.5.0

# disk_tar TABLE GUEST: the whole disk as one tree
disk_tar() {
	local img=$IMAGES/disk-$1.img before
	before=$(sha "$img")
	run --separate-stderr env QEMOUNT_GUEST=$2 timeout $LIMIT "$QM" tar \
		"$img" -o "$OUT/$1.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	[ -z "$stderr" ] || { echo "unexpected: $stderr" >&2; return 1; }
	"$CHECK" "$OUT/$1.tar" "$IMAGES/disk-$1.mtree"
	[ "$(sha "$img")" = "$before" ]
}

# part_tar TABLE N|NAME FS: one partition, against FS's manifest
part_tar() {
	run --separate-stderr timeout $LIMIT "$QM" tar --partition "$2" \
		"$IMAGES/disk-$1.img" -o "$OUT/p.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	"$CHECK" "$OUT/p.tar" "$IMAGES/$3.mtree"
}

@test "MBR: primary and logical partitions, one tree (lean and linux-6.1)" {
	disk_tar mbr linux-6.1-lean
	disk_tar mbr linux-6.1
}

@test "MBR: --partition 1 (vfat) and 5 (a logical one, romfs)" {
	part_tar mbr 1 fat12
	part_tar mbr 5 romfs
}

@test "GPT: one tree (lean and linux-6.1)" {
	disk_tar gpt linux-6.1-lean
	disk_tar gpt linux-6.1
}

@test "GPT: --partition by name (data: squashfs) and by label (qm-romfs)" {
	part_tar gpt data squashfs-xz
	part_tar gpt qm-romfs romfs
}

@test "Apple APM: one tree (lean and linux-6.1); the map and free space left out" {
	disk_tar mac linux-6.1-lean
	disk_tar mac linux-6.1
}

@test "Apple APM: --partition 3 (romfs)" {
	part_tar mac 3 romfs
}

@test "Amiga RDB: one tree (lean and linux-6.1)" {
	disk_tar amiga linux-6.1-lean
	disk_tar amiga linux-6.1
}

@test "Amiga RDB: --partition 2 (romfs)" {
	part_tar amiga 2 romfs
}

@test "Atari AHDI: one tree (lean and linux-6.1)" {
	disk_tar atari linux-6.1-lean
	disk_tar atari linux-6.1
}

@test "Atari AHDI: --partition 1 (vfat)" {
	part_tar atari 1 fat12
}

@test "BSD disklabel: one tree (lean and linux-6.1)" {
	disk_tar bsd linux-6.1-lean
	disk_tar bsd linux-6.1
}

@test "BSD disklabel: --partition 2 (romfs), ls and cat inside the tree" {
	part_tar bsd 2 romfs
	run --separate-stderr "$QM" ls "$IMAGES/disk-bsd.img"
	[ "$status" -eq 0 ] && [ "$output" = "$(printf '1\n2')" ]
	"$QM" cat "$IMAGES/disk-bsd.img" 2/dir/file | cmp - "$IMAGES/stage/dir/file"
}

@test "the disk as a qcow2: partitions probed through qemu-img" {
	qemu-img convert -O qcow2 "$IMAGES/disk-gpt.img" "$OUT/d.qcow2"
	run --separate-stderr timeout $LIMIT "$QM" tar "$OUT/d.qcow2" -o "$OUT/q.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	"$CHECK" "$OUT/q.tar" "$IMAGES/disk-gpt.mtree"
}

@test "a partition with no filesystem is left out with a warning" {
	cp "$IMAGES/disk-mbr.img" "$OUT/d.img"
	# partition 6 (squashfs at 28 MiB) wiped
	dd if=/dev/zero of="$OUT/d.img" bs=1M seek=28 count=1 conv=notrunc status=none
	run --separate-stderr timeout $LIMIT "$QM" ls "$OUT/d.img"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1\n5')" ]
	[[ $stderr == *"partition 6 (0x83, 1 MiB): no filesystem recognised, left out"* ]]
}

@test "a partition the guest cannot mount: a warning with the kernel's reason" {
	cp "$IMAGES/disk-gpt.img" "$OUT/d.img"
	# partition 3's squashfs superblock kept, its tables cut away
	dd if=/dev/zero of="$OUT/d.img" bs=1 seek=$((26 * 1048576 + 96)) \
		count=$((4096 - 96)) conv=notrunc status=none
	run --separate-stderr timeout $LIMIT "$QM" ls "$OUT/d.img"
	[ "$status" -eq 0 ]
	[ "$output" = "$(printf '1\n2')" ]
	[[ $stderr == *"partition 3 (squashfs): the guest could not mount it"* ]]
}

@test "--partition of a missing number or name: one line listing what was seen" {
	run --separate-stderr "$QM" ls --partition 7 "$IMAGES/disk-mbr.img"
	fails_cleanly "no partition 7" "dos partition table" "partition 5 (0x83, 9 MiB): romfs"
	run --separate-stderr "$QM" ls --partition nosuch "$IMAGES/disk-gpt.img"
	fails_cleanly "no partition or filesystem named nosuch" "gpt partition table"
	run --separate-stderr "$QM" ls --partition 2 "$IMAGES/disk-mbr.img"
	fails_cleanly "partition 2 (0xf, 14 MiB): holds other partitions"
}

@test "after all of the above, every input image has its old sha256" {
	images_unchanged
}
