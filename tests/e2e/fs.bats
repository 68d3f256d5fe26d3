#!/usr/bin/env bats
# fs.bats - qemount tar on a test image of each filesystem the linux-6.1
# guest reads (testdata/Makefile FSES beyond tar.bats's), the archive read
# back by bsdtar (tests/e2e/check-archive) and compared with the manifest
# testdata/scripts/expect wrote for it.  What each filesystem keeps, and
# why, is in the manifest's header.

load helpers

bats_require_minimum_version 1.5.0

# These test the Debian-kernel guest, whichever other guest would be
# preferred for a filesystem (lib/guest.c).
export QEMOUNT_GUEST=linux-6.1

# fs_ok NAME [QEMOUNT-OPTION...]: tar images/NAME.img, compare with
# images/NAME.mtree, and the image is unchanged.
fs_ok() {
	local name=$1 img before
	shift
	img=$(image_of "$name")
	before=$(sha "$img")
	run --separate-stderr timeout $LIMIT "$QM" tar "$@" "$img" -o "$OUT/$name.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	"$CHECK" "$OUT/$name.tar" "$IMAGES/$name.mtree"
	[ "$(sha "$img")" = "$before" ]
}

@test "ext3" {
	fs_ok ext3
}

@test "FAT12 (mkfs.vfat -F 12, mtools)" {
	fs_ok fat12
}

@test "FAT32 (mkfs.vfat -F 32, mtools)" {
	fs_ok fat32
}

@test "UDF 1.02 (genisoimage -udf)" {
	fs_ok udf
}

@test "btrfs (mkfs.btrfs --rootdir)" {
	fs_ok btrfs
}

@test "xfs (mkfs.xfs -p)" {
	fs_ok xfs
}

@test "f2fs (sload.f2fs)" {
	fs_ok f2fs
}

@test "squashfs, gzip" {
	fs_ok squashfs-gzip
}

@test "squashfs, xz" {
	fs_ok squashfs-xz
}

@test "squashfs, zstd" {
	fs_ok squashfs-zstd
}

@test "squashfs, lz4" {
	fs_ok squashfs-lz4
}

@test "squashfs, lzo" {
	fs_ok squashfs-lzo
}

@test "erofs, lz4 (mkfs.erofs)" {
	fs_ok erofs
}

@test "romfs (genromfs)" {
	fs_ok romfs
}

@test "HFS (hfsutils)" {
	fs_ok hfs
}

@test "UFS1 (makefs -t ffs), detected as ufs: ufstype=ufs2 fails, 44bsd mounts" {
	fs_ok ufs1
}

@test "UFS1 with --fs ufs1" {
	fs_ok ufs1 --fs ufs1
}

@test "UFS1 image with --fs ufs2: one clear line with the kernel's reason" {
	run --separate-stderr timeout $LIMIT "$QM" tar --fs ufs2 "$(image_of ufs1)" -o "$OUT/a.tar"
	fails_cleanly ufs1.img "cannot mount as ufs2" "ufs"
	[ ! -e "$OUT/a.tar" ]
}

@test "JFFS2 (mkfs.jffs2) on block2mtd, with --fs jffs2" {
	fs_ok jffs2 --fs jffs2
}

@test "NTFS (mkntfs, ntfscp) through ntfs-3g in the guest" {
	fs_ok ntfs
}

@test "NTFS: junk forced with --fs ntfs fails cleanly, ntfs-3g's reason" {
	head -c 1048576 /dev/urandom > "$OUT/junk.img"
	run --separate-stderr timeout $LIMIT "$QM" tar --fs ntfs "$OUT/junk.img" -o "$OUT/a.tar"
	fails_cleanly junk.img "cannot mount as ntfs" "valid NTFS"
	[ ! -e "$OUT/a.tar" ]
}

@test "after all of the above, every input image has its old sha256" {
	images_unchanged
}
