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

@test "ext3" {
	tar_matches ext3
}

@test "FAT12 (mkfs.vfat -F 12, mtools)" {
	tar_matches fat12
}

@test "FAT32 (mkfs.vfat -F 32, mtools)" {
	tar_matches fat32
}

@test "UDF 1.02 (genisoimage -udf)" {
	tar_matches udf
}

@test "btrfs (mkfs.btrfs --rootdir)" {
	tar_matches btrfs
}

@test "xfs (mkfs.xfs -p)" {
	tar_matches xfs
}

@test "f2fs (sload.f2fs)" {
	tar_matches f2fs
}

@test "squashfs, gzip" {
	tar_matches squashfs-gzip
}

@test "squashfs, xz" {
	tar_matches squashfs-xz
}

@test "squashfs, zstd" {
	tar_matches squashfs-zstd
}

@test "squashfs, lz4" {
	tar_matches squashfs-lz4
}

@test "squashfs, lzo" {
	tar_matches squashfs-lzo
}

@test "erofs, lz4 (mkfs.erofs)" {
	tar_matches erofs
}

@test "romfs (genromfs)" {
	tar_matches romfs
}

@test "HFS (hfsutils)" {
	tar_matches hfs
}

@test "UFS1 (makefs -t ffs), detected as ufs: ufstype=ufs2 fails, 44bsd mounts" {
	tar_matches ufs1
}

@test "UFS1 with --fs ufs1" {
	tar_matches ufs1 --fs ufs1
}

@test "UFS1 image with --fs ufs2: one clear line with the kernel's reason" {
	run --separate-stderr timeout $LIMIT "$QM" tar --fs ufs2 "$(image_of ufs1)" -o "$OUT/a.tar"
	fails_cleanly ufs1.img "cannot mount as ufs2" "ufs"
	[ ! -e "$OUT/a.tar" ]
}

@test "JFFS2 (mkfs.jffs2) on block2mtd, with --fs jffs2" {
	tar_matches jffs2 --fs jffs2
}

@test "NTFS (mkntfs, ntfscp) through ntfs-3g in the guest" {
	tar_matches ntfs
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
