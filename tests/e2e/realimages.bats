#!/usr/bin/env bats
# realimages.bats - qemount tar (the linux-6.1 guest) on images other
# projects made: ../shared/realimages/ beside the checkout (MANIFEST.tsv
# there says where each comes from).  They are used in place, never
# copied into the repository; a compressed one is unpacked into the
# test's temp directory.  Where an independent reader exists, the archive
# must hold the same tree (type, size, sha256): unsquashfs, 7-Zip, btrfs
# restore, or the listing the source project keeps (realimages/expected/);
# elsewhere it must at least hold entries.  Images this kernel cannot read
# must fail with one clear line.

load helpers

bats_require_minimum_version 1.5.0

export QEMOUNT_GUEST=linux-6.1
REAL=$TOP/../shared/realimages

# real FILE [QEMOUNT-OPTION...]: tar the image FILE of $REAL into
# $OUT/a.tar (status and stderr as `run` leaves them); the image's path
# is in $img.
real() {
	local file=$1
	shift
	[ -d "$REAL" ] || skip "no $REAL (the shared real images)"
	img=$REAL/$file
	[ -f "$img" ] || skip "no $img"
	case $file in
	*.xz) xz -dc "$img" > "$OUT/image"; img=$OUT/image ;;
	*.gz) gzip -dc "$img" > "$OUT/image"; img=$OUT/image ;;
	esac
	run --separate-stderr timeout $LIMIT "$QM" tar "$@" "$img" -o "$OUT/a.tar"
}

# real_ok FILE [QEMOUNT-OPTION...]: the same, and it must succeed.
real_ok() {
	real "$@"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
}

# entries: how many entries $OUT/a.tar holds.
entries() {
	bsdtar -tf "$OUT/a.tar" | wc -l
}

# same_as DIR: the archive holds the tree DIR (an independent reader's
# extraction), compared on type, size and sha256.
same_as() {
	bsdtar -cf - --format=mtree --options='!all,!use-set,type,size,sha256' \
		-C "$1" . > "$OUT/want.mtree"
	"$CHECK" "$OUT/a.tar" "$OUT/want.mtree"
}

# unsquashed: the archive holds what unsquashfs extracts from $img.
unsquashed() {
	unsquashfs -q -n -d "$OUT/x" "$img" > /dev/null
	same_as "$OUT/x"
}

# by_7z [SUBDIR]: the archive holds what 7-Zip extracts from $img (in
# SUBDIR, the volume's name, for HFS+), less 7-Zip's own additions: a
# [SYSTEM] or [HFS+ Private Data] folder, NAME:STREAM for alternate data
# streams, resource forks and xattrs.
by_7z() {
	7zz x -o"$OUT/x" "$img" > /dev/null
	find "$OUT/x" \( -name '\[*\]' -o -name '*:*' \) -prune -exec rm -rf {} +
	same_as "$OUT/x/${1:-}"
}

# listed_by_unadf LISTING: the archive holds the files and directories
# of an unadf listing in realimages/expected ("SIZE DATE TIME PATH" per
# file, "DATE TIME PATH/" per directory), compared on type and size.
listed_by_unadf() {
	python3 - "$REAL/expected/$1" > "$OUT/want.mtree" <<'EOF'
import re, sys
print("#mtree")
for line in open(sys.argv[1], encoding="latin-1"):
    m = re.match(r" *(\d+)? +\d+/\d+/\d+ +[\d:]+ +(.*)$", line.rstrip("\n"))
    if not m:
        continue
    size, name = m.groups()
    esc = "".join(c if 0x21 <= ord(c) <= 0x7E and c not in "\\#=*?["
                  else "\\%03o" % ord(c) for c in name.rstrip("/"))
    print("./%s type=%s" % (esc, "dir" if name.endswith("/") else
                            "file size=" + size))
EOF
	"$CHECK" "$OUT/a.tar" "$OUT/want.mtree"
}

@test "squashfs gzip (fact_extractor): same tree as unsquashfs" {
	real_ok fkie-cad__fact_extractor__squashFS.gzip.sqfs
	unsquashed
}

@test "squashfs xz (fact_extractor): same tree as unsquashfs" {
	real_ok fkie-cad__fact_extractor__squashFS.xz.sqfs
	unsquashed
}

@test "squashfs zstd, 300 entries (go-diskfs): same tree as unsquashfs" {
	real_ok diskfs__go-diskfs__dir_read.sqs
	unsquashed
}

@test "squashfs lz4 (fact_extractor): same tree as unsquashfs" {
	real_ok fkie-cad__fact_extractor__squashFS.lz4.sqfs
	unsquashed
}

@test "squashfs lzo (fact_extractor): same tree as unsquashfs" {
	real_ok fkie-cad__fact_extractor__squashFS.lzo.sqfs
	unsquashed
}

@test "squashfs from firmware (binwalk): same tree as unsquashfs" {
	real_ok ReFirmLabs__binwalk__squashfs.bin
	unsquashed
}

@test "squashfs 4 with legacy lzma: the kernel's reason, one line" {
	real fkie-cad__fact_extractor__squashFS.lzma.sqfs
	fails_cleanly "cannot mount as squashfs" "lzma"
}

@test "squashfs with ../ names (squashfs-tools-ng): nothing escapes" {
	real_ok AgentD__squashfs-tools-ng__pathtraversal.sqfs
	! bsdtar -tf "$OUT/a.tar" | grep -E '(^|/)\.\.(/|$)|^/'
}

@test "erofs with a feature newer than 6.1 (go-erofs): the kernel's reason" {
	real erofs__go-erofs__basic-default.erofs
	fails_cleanly "cannot mount as erofs" "incompatible feature"
}

@test "UDF 2.01 (fact_extractor): same tree as 7-Zip" {
	real_ok fkie-cad__fact_extractor__generic_fs.udf.img.xz
	by_7z
}

@test "UDF 1.50 by ImgBurn (strelka): same tree as 7-Zip" {
	real_ok target__strelka__test_udf_1.50.img
	by_7z
}

@test "HFS+ (dfvfs): same tree as 7-Zip" {
	real_ok log2timeline__dfvfs__hfsplus.raw
	by_7z hfsplus_test
}

@test "NTFS (fact_extractor) through ntfs-3g: same tree as 7-Zip" {
	real_ok fkie-cad__fact_extractor__sevenz.ntfs.img.xz
	by_7z
}

@test "btrfs (fact_extractor): same tree as btrfs restore" {
	real_ok fkie-cad__fact_extractor__generic_fs.btrfs.img.xz
	mkdir "$OUT/x"
	btrfs restore -S "$img" "$OUT/x" > /dev/null
	same_as "$OUT/x"
}

@test "Amiga OFS floppy (ADFlib arccsh.adf), --fs affs: unadf's listing" {
	real_ok lclevy__ADFlib__arccsh.adf --fs affs
	listed_by_unadf lclevy__ADFlib__unadf_5.txt
}

@test "Amiga OFS (ADFlib testofs.adf), --fs affs: MOON.GIF as ADFlib keeps it" {
	real_ok lclevy__ADFlib__testofs.adf --fs affs
	bsdtar -xf "$OUT/a.tar" -C "$OUT" MOON.GIF
	grep -q "^$(sha "$OUT/MOON.GIF")  173847  .*/MOON.GIF$" \
		"$REAL/expected/lclevy__ADFlib__regtests_Files.sha256.txt"
}

@test "romfs (fact_extractor), --fs romfs: entries" {
	real_ok fkie-cad__fact_extractor__generic_fs.romfs.img --fs romfs
	[ "$(entries)" -gt 0 ]
}

@test "minix v1, 121 entries (lde-testdata)" {
	real_ok sheavner__lde-testdata__test.minix
	[ "$(entries)" -gt 100 ]
}

@test "minix (fact_extractor)" {
	real_ok fkie-cad__fact_extractor__generic_fs.minix.img.xz
	[ "$(entries)" -gt 0 ]
}

@test "HFS made by GS/OS (CiderPress2)" {
	real_ok fadden__CiderPress2__simple-gsos.po
	[ "$(entries)" -gt 0 ]
}

@test "UFS2 (dissect.ffs), detected as ufs" {
	real_ok fox-it__dissect.ffs__ffs.bin.gz
	[ "$(entries)" -gt 0 ]
}

@test "UFS1 from FreeBSD with a symlink chain (dissect.ffs), detected as ufs" {
	real_ok fox-it__dissect.ffs__ffs_symlink_test1.bin.gz
	[ "$(entries)" -gt 0 ]
}

@test "exFAT (go-exfat)" {
	real_ok dsoprea__go-exfat__test.exfat
	[ "$(entries)" -gt 0 ]
}

@test "xfs (fact_extractor)" {
	real_ok fkie-cad__fact_extractor__generic_fs.xfs.img.xz
	[ "$(entries)" -gt 0 ]
}

@test "f2fs (fact_extractor)" {
	real_ok fkie-cad__fact_extractor__generic_fs.f2fs.img.xz
	[ "$(entries)" -gt 0 ]
}

@test "jfs (fact_extractor)" {
	real_ok fkie-cad__fact_extractor__generic_fs.jfs.img.xz
	[ "$(entries)" -gt 0 ]
}

@test "reiserfs 3.6 (fact_extractor)" {
	real_ok fkie-cad__fact_extractor__generic_fs.reiserfs.img.xz
	[ "$(entries)" -gt 0 ]
}

@test "nilfs2, empty (util-linux)" {
	real_ok util-linux__util-linux__nilfs2.img.xz
}

@test "Acorn ADFS E+ (OpenAcornExplorer), --fs adfs" {
	real_ok "simoninns__OpenAcornExplorer__ADFS_E+_800K.adl" --fs adfs
	[ "$(entries)" -gt 0 ]
}

@test "JFFS2 of 2 erase blocks (fact_extractor): the kernel's reason" {
	real fkie-cad__fact_extractor__jffs2.jffs2_le.img --fs jffs2
	fails_cleanly "cannot mount as jffs2" "Too few erase blocks"
}
