#!/usr/bin/env bats
# pack.bats - qemount pack: the template tree as a pax archive -> a new
# image of each filesystem the guests format -> qemount tar -> bsdtar
# (tests/e2e/check-archive) against what testdata/scripts/expect says
# that filesystem keeps ("pack-FS" rules: every loss there is one pack
# warns about).  Then the filesystem's own checker, and an independent
# reader where Debian has one.  And the ways pack must fail (hostile
# archives: pack-hostile.bats).

load helpers

bats_require_minimum_version 1.5.0

STAGE=$IMAGES/stage
EXPECT=$TOP/testdata/scripts/expect

setup_file() {
	sha256sum "$IMAGES"/*.img "$IMAGES"/*.iso > "$BATS_FILE_TMPDIR/images.sha256"
	stat -c '%n %s %Y %Z' "$IMAGES"/*.img "$IMAGES"/*.iso > "$BATS_FILE_TMPDIR/images.stat"
	bsdtar -cf "$BATS_FILE_TMPDIR/template.tar" --format pax -C "$STAGE" .
}

# packs FS [PACK-OPTION...]: pack the template into $OUT/FS.img, read it
# back with qemount tar and compare; the warnings go to $OUT/FS.warn.
packs() {
	local fs=$1
	shift
	run --separate-stderr timeout $LIMIT "$QM" pack --fs "$fs" "$@" \
		"$BATS_FILE_TMPDIR/template.tar" "$OUT/$fs.img"
	echo "$stderr" > "$OUT/$fs.warn"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	[[ ${stderr_lines[-1]} == "qemount pack: $OUT/$fs.img: $fs, "* ]]
	run --separate-stderr timeout $LIMIT "$QM" tar --fs "$fs" \
		"$OUT/$fs.img" -o "$OUT/$fs.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	"$EXPECT" "pack-$fs" "$STAGE" > "$OUT/$fs.mtree"
	"$CHECK" "$OUT/$fs.tar" "$OUT/$fs.mtree"
}

# warned FS PATH WHAT: pack said that PATH of the archive lost WHAT.
warned() {
	grep -qF "warning: $BATS_FILE_TMPDIR/template.tar: ./$2: $3" \
		"$OUT/$1.warn" ||
		{ echo "no warning '$2: $3' in:" >&2; cat "$OUT/$1.warn" >&2; return 1; }
}

# warnings FS: how many warnings pack gave
warnings() {
	grep -c ': warning: ' "$OUT/$1.warn" || true
}

@test "ext4: everything kept; e2fsck clean; debugfs reads the files" {
	packs ext4 --label QMTEST
	[ "$(warnings ext4)" -eq 0 ]
	e2fsck -fn "$OUT/ext4.img"
	[ "$(blkid -p -o value -s LABEL "$OUT/ext4.img")" = QMTEST ]
	debugfs -R "cat /dir/sub/middle.txt" "$OUT/ext4.img" 2>/dev/null |
		cmp - "$STAGE/dir/sub/middle.txt"
	debugfs -R "cat /big.bin" "$OUT/ext4.img" 2>/dev/null | cmp - "$STAGE/big.bin"
	# a new image is all zeros: every inode table is marked so, and no
	# kernel (the guest's, later the user's) zeroes them again
	dumpe2fs "$OUT/ext4.img" 2>/dev/null | grep '^Group [0-9]' > "$OUT/groups"
	[ -s "$OUT/groups" ]
	[ "$(grep -vc ITABLE_ZEROED "$OUT/groups")" -eq 0 ]
}

@test "ext2 and ext3: e2fsck clean" {
	packs ext2
	e2fsck -fn "$OUT/ext2.img"
	packs ext3
	e2fsck -fn "$OUT/ext3.img"
	[ "$(blkid -p -o value -s TYPE "$OUT/ext3.img")" = ext3 ]
}

@test "vfat: files and directories; each loss warned; fsck.fat and mtools agree" {
	packs vfat --label QMTEST
	warned vfat link-rel "symlink not stored"
	warned vfat fifo "special file not stored"
	warned vfat dev-null "special file not stored"
	warned vfat dir/hardlink-b "hardlink not stored"
	warned vfat dir/file "xattr user.qemount not kept"
	grep -q "owner not kept" "$OUT/vfat.warn"
	fsck.fat -n "$OUT/vfat.img"
	MTOOLS_SKIP_CHECK=1 mtype -i "$OUT/vfat.img" ::/dir/sub/middle.txt |
		cmp - "$STAGE/dir/sub/middle.txt"
	[ "$(blkid -p -o value -s LABEL "$OUT/vfat.img")" = QMTEST ]
}

@test "vfat: --mkfs-opt reaches the formatter (-F 32)" {
	run --separate-stderr timeout $LIMIT "$QM" pack --fs vfat --size 40M \
		--mkfs-opt=-F --mkfs-opt=32 "$BATS_FILE_TMPDIR/template.tar" "$OUT/f32.img"
	[ "$status" -eq 0 ]
	[ "$(blkid -p -o value -s VERSION "$OUT/f32.img")" = FAT32 ]
	fsck.fat -n "$OUT/f32.img"
}

@test "exFAT: fsck.exfat clean" {
	packs exfat
	fsck.exfat -n "$OUT/exfat.img"
}

@test "btrfs: btrfs check clean" {
	packs btrfs
	[ "$(warnings btrfs)" -eq 0 ]
	btrfs check --readonly "$OUT/btrfs.img"
}

@test "xfs: xfs_repair -n clean" {
	packs xfs
	[ "$(warnings xfs)" -eq 0 ]
	xfs_repair -n "$OUT/xfs.img"
}

@test "f2fs: fsck.f2fs clean" {
	packs f2fs
	[ "$(warnings f2fs)" -eq 0 ]
	fsck.f2fs "$OUT/f2fs.img"
}

@test "jfs: jfs_fsck clean" {
	packs jfs
	[ "$(warnings jfs)" -eq 0 ]
	jfs_fsck -n "$OUT/jfs.img"
}

@test "reiserfs: reiserfsck clean" {
	packs reiserfs
	warned reiserfs subsecond "sub-second mtime not kept"
	reiserfsck --check --yes "$OUT/reiserfs.img"
}

@test "nilfs2" {
	packs nilfs2
	warned nilfs2 dir/file "xattr user.qemount not kept"
}

@test "minix (v3): fsck.minix clean" {
	packs minix
	fsck.minix -f "$OUT/minix.img"
}

@test "UDF: udfinfo reads it" {
	packs udf
	udfinfo "$OUT/udf.img" | grep -q '^udfrev=2.01$'
}

@test "NTFS (ntfs-3g in the guest): ntfsfix finds nothing to fix" {
	packs ntfs
	warned ntfs "name with spaces.txt" "mode not kept"
	ntfsfix -n "$OUT/ntfs.img"
}

@test "bfs: one directory of short names, the rest warned" {
	packs bfs
	warned bfs dir/ "directory not stored"
	warned bfs "name with spaces.txt" "not stored"
}

@test "AFFS: unadf lists and extracts; the rewritten symlinks are warned" {
	packs affs --label Work
	warned affs link-abs 'symlink target stored as "//etc/hostname"'
	warned affs 日本語.txt "not stored"
	run unadf -lr "$OUT/affs.img"
	[ "$status" -eq 0 ]
	[[ $output == *"middle.txt"* ]]
	mkdir "$OUT/x"
	(cd "$OUT/x" && unadf "$OUT/affs.img" dir/sub/middle.txt >/dev/null)
	cmp "$OUT/x/dir/sub/middle.txt" "$STAGE/dir/sub/middle.txt"
}

@test "qm-pack ... --fs=affs out.adf: an 880 KiB Amiga floppy; --floppy HD" {
	mkdir "$OUT/t"
	echo "hello amiga" > "$OUT/t/readme"
	bsdtar -cf "$OUT/small.tar" -C "$OUT/t" readme
	run --separate-stderr timeout $LIMIT "$TOP/build/bin/qm-pack" \
		"$OUT/small.tar" --fs=affs "$OUT/out.adf"
	[ "$status" -eq 0 ]
	[ "$(stat -c %s "$OUT/out.adf")" -eq 901120 ]
	unadf -lr "$OUT/out.adf" | grep -q readme
	run --separate-stderr timeout $LIMIT "$QM" pack --floppy HD --fs affs \
		"$OUT/small.tar" "$OUT/hd.adf"
	[ "$status" -eq 0 ]
	[ "$(stat -c %s "$OUT/hd.adf")" -eq 1802240 ]
	(cd "$OUT" && unadf hd.adf readme >/dev/null)
	cmp "$OUT/readme" "$OUT/t/readme"
}

@test "standard input to standard output, as qcow2" {
	run bash -c "timeout $LIMIT '$QM' pack --fs ext4 --format qcow2 - - \
		< '$BATS_FILE_TMPDIR/template.tar' > '$OUT/o.qcow2'"
	[ "$status" -eq 0 ]
	qemu-img info "$OUT/o.qcow2" | grep -q 'file format: qcow2'
	run --separate-stderr timeout $LIMIT "$QM" tar "$OUT/o.qcow2" -o "$OUT/o.tar"
	[ "$status" -eq 0 ]
	"$EXPECT" pack-ext4 "$STAGE" > "$OUT/o.mtree"
	"$CHECK" "$OUT/o.tar" "$OUT/o.mtree"
}

@test "an archive bigger than --size: one error, nothing at OUT, an old OUT kept" {
	echo old > "$OUT/small.img"
	run --separate-stderr timeout $LIMIT "$QM" pack --fs ext4 --size 4M \
		"$BATS_FILE_TMPDIR/template.tar" "$OUT/small.img"
	fails_cleanly "$OUT/small.img" "does not fit in 4194304 bytes of ext4 (--size)"
	[ "$(cat "$OUT/small.img")" = old ]
	[ "$(ls "$OUT")" = small.img ]
}

@test "--strict: a loss is an error, nothing at OUT" {
	run --separate-stderr timeout $LIMIT "$QM" pack --strict --fs vfat \
		"$BATS_FILE_TMPDIR/template.tar" "$OUT/s.img"
	[ "$status" -eq 1 ]
	[[ ${stderr_lines[-1]} == *"--strict: vfat cannot hold all of"* ]]
	[ ! -e "$OUT/s.img" ]
}

@test "a damaged archive: one error naming it, nothing at OUT" {
	head -c 300000 "$BATS_FILE_TMPDIR/template.tar" > "$OUT/cut.tar"
	run --separate-stderr timeout $LIMIT "$QM" pack --fs ext4 --size 64M \
		"$OUT/cut.tar" "$OUT/c.img"
	fails_cleanly "$OUT/cut.tar"
	[ ! -e "$OUT/c.img" ]
	head -c 5000 /dev/urandom > "$OUT/noise"
	run --separate-stderr timeout $LIMIT "$QM" pack --fs ext4 "$OUT/noise" "$OUT/c.img"
	fails_cleanly "$OUT/noise"
	[ ! -e "$OUT/c.img" ]
}

@test "an unknown --fs, and one no guest formats" {
	run --separate-stderr timeout $LIMIT "$QM" pack --fs nosuchfs --size 1M \
		"$BATS_FILE_TMPDIR/template.tar" "$OUT/u.img"
	fails_cleanly "no guest formats nosuchfs"
	run --separate-stderr timeout $LIMIT "$QM" pack --fs iso9660 --size 1M \
		"$BATS_FILE_TMPDIR/template.tar" "$OUT/u.img"
	fails_cleanly "no guest formats iso9660"
	[ ! -e "$OUT/u.img" ]
}

@test "no input image was modified" {
	images_unchanged
}
