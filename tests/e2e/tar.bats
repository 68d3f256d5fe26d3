#!/usr/bin/env bats
# tar.bats - qemount tar end to end: a real guest under QEMU, the archive
# read back by bsdtar (tests/e2e/check-archive), never by our own code.

load helpers

bats_require_minimum_version 1.5.0

@test "ext2 image: archive matches the manifest, image unchanged" {
	tar_matches ext2
}

@test "ext4 image: archive matches the manifest, image unchanged" {
	tar_matches ext4
}

@test "vfat image: archive matches the manifest, image unchanged" {
	tar_matches vfat
}

@test "iso9660 (Rock Ridge) image: archive matches the manifest" {
	tar_matches iso9660
}

@test "the C locale: UTF-8 names still come through" {
	LC_ALL=C "$QM" tar "$(image_of ext4)" -o "$OUT/a.tar"
	"$CHECK" "$OUT/a.tar" "$IMAGES/ext4.mtree"
}

@test "standard input (a file) to standard output" {
	"$QM" tar - < "$(image_of ext4)" > "$OUT/a.tar"
	"$CHECK" "$OUT/a.tar" "$IMAGES/ext4.mtree"
}

@test "standard input from a pipe is spooled, and the spool is gone after" {
	cat "$(image_of ext4)" | "$QM" tar - > "$OUT/a.tar"
	"$CHECK" "$OUT/a.tar" "$IMAGES/ext4.mtree"
	# teardown checks TMPDIR is empty
}

@test "-o out.zip writes zip" {
	"$QM" tar "$(image_of ext4)" -o "$OUT/a.zip"
	[ "$(head -c 2 "$OUT/a.zip")" = "PK" ]
	"$CHECK" "$OUT/a.zip" "$IMAGES/ext4.zip.mtree"
}

@test "-o out.cpio writes cpio (newc)" {
	"$QM" tar "$(image_of ext4)" -o "$OUT/a.cpio"
	[ "$(head -c 6 "$OUT/a.cpio")" = "070701" ]
	"$CHECK" "$OUT/a.cpio" "$IMAGES/ext4.cpio.mtree"
}

@test "-o out.7z writes 7z" {
	"$QM" tar "$(image_of ext4)" -o "$OUT/a.7z"
	[ "$(head -c 2 "$OUT/a.7z")" = "7z" ]
	"$CHECK" "$OUT/a.7z" "$IMAGES/ext4.7z.mtree"
}

@test "-o out.tar.zst writes zstd-compressed pax" {
	"$QM" tar "$(image_of ext4)" -o "$OUT/a.tar.zst"
	zstd -t -q "$OUT/a.tar.zst"
	"$CHECK" "$OUT/a.tar.zst" "$IMAGES/ext4.mtree"
}

@test "--format and --compress to standard output" {
	"$QM" tar --format cpio --compress xz "$(image_of ext4)" > "$OUT/a"
	xz -t "$OUT/a"
	"$CHECK" "$OUT/a" "$IMAGES/ext4.cpio.mtree"
}

@test "sparse file keeps its holes in pax" {
	"$QM" tar "$(image_of ext4)" -o "$OUT/a.tar"
	mkdir "$OUT/x"
	bsdtar -xf "$OUT/a.tar" -C "$OUT/x" sparse.bin
	cmp "$OUT/x/sparse.bin" "$IMAGES/stage/sparse.bin"
	# 8 MiB apparent, three short writes of data: well under 1 MiB used
	[ "$(du -k "$OUT/x/sparse.bin" | cut -f1)" -lt 1024 ]
}

@test "xattrs come through in pax" {
	"$QM" tar "$(image_of ext4)" -o "$OUT/a.tar"
	mkdir "$OUT/x"
	bsdtar -xf "$OUT/a.tar" --xattrs -C "$OUT/x" dir/file
	[ "$(getfattr --only-values -n user.qemount "$OUT/x/dir/file")" = kept ]
}

@test "hardlinks are written as links in pax" {
	"$QM" tar "$(image_of ext4)" -o "$OUT/a.tar"
	bsdtar -tvf "$OUT/a.tar" | grep -E 'hardlink-(a|b) link to .*hardlink-(a|b)$'
}

@test "not an image: one clear line, exit 1" {
	head -c 1048576 /dev/urandom > "$OUT/junk.img"
	run --separate-stderr timeout $LIMIT "$QM" tar "$OUT/junk.img" -o "$OUT/a.tar"
	fails_cleanly junk.img "no filesystem recognised"
	[ ! -e "$OUT/a.tar" ]
}

@test "not an image, forced with --fs: the guest kernel's reason" {
	head -c 1048576 /dev/urandom > "$OUT/junk.img"
	run --separate-stderr timeout $LIMIT "$QM" tar --fs ext4 "$OUT/junk.img" -o "$OUT/a.tar"
	fails_cleanly junk.img "cannot mount as ext4" "EXT4-fs (vd"
	[ ! -e "$OUT/a.tar" ]
}

@test "truncated image: one clear line with the kernel's reason" {
	head -c 4194304 "$(image_of ext4)" > "$OUT/cut.img"
	run --separate-stderr timeout $LIMIT "$QM" tar "$OUT/cut.img" -o "$OUT/a.tar"
	fails_cleanly cut.img "cannot mount as ext4" "EXT4-fs"
	[ ! -e "$OUT/a.tar" ]
}

@test "wrong --fs: one clear line with the kernel's reason" {
	run --separate-stderr timeout $LIMIT "$QM" tar --fs vfat "$(image_of ext4)" -o "$OUT/a.tar"
	fails_cleanly ext4.img "cannot mount as vfat" "FAT-fs"
}

@test "missing file: one clear line, no guest started" {
	run --separate-stderr timeout 10 "$QM" tar "$OUT/nonexistent.img" -o "$OUT/a.tar"
	fails_cleanly nonexistent.img "No such file or directory"
}

@test "a failed run leaves an existing output as it was" {
	echo old > "$OUT/a.tar"
	run --separate-stderr "$QM" tar --fs vfat "$(image_of ext4)" -o "$OUT/a.tar"
	[ "$status" -eq 1 ]
	[ "$(cat "$OUT/a.tar")" = old ]
	[ "$(ls -A "$OUT")" = a.tar ]
}

@test "empty standard input: a hint about docker run -i" {
	run --separate-stderr "$QM" tar - < /dev/null
	fails_cleanly "standard input is empty" "pass -i"
}

@test "refuses to write an archive to a terminal" {
	run script -qec "$QM tar $(image_of ext4)" /dev/null
	[ "$status" -ne 0 ]
	[[ $output == *"refusing to write an archive to a terminal"* ]]
}

@test "unknown format: exit 1 and the known ones" {
	run --separate-stderr "$QM" tar --format rar "$(image_of ext4)" -o "$OUT/a"
	fails_cleanly "unknown format 'rar'" "pax gnutar ustar cpio zip 7z"
	[ ! -e "$OUT/a" ]
}

@test "usage errors exit 2" {
	run "$QM" tar
	[ "$status" -eq 2 ]
	run "$QM" tar --partition 0 img
	[ "$status" -eq 2 ]
}

# A broken KVM that hangs costs its probe 3 s: the answer is kept for
# the host's boot, the /dev/kvm and the qemu binary it was found for.
@test "the KVM probe's answer is kept for this boot of the host" {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no /dev/kvm to probe"
	local cache=$OUT/cache/qemount/kvm-probe
	accel_how() {	# what -v's last line says of the accelerator
		XDG_CACHE_HOME=$OUT/cache "$QM" tar -v -o "$OUT/a.tar" \
			"$IMAGES/vfat.img" 2>&1 |
			sed -n 's/^qemount: .*: vfat: accel \([^,]*\), open .*/\1/p'
	}
	[[ "$(accel_how)" =~ ^(kvm|tcg)\ \(probed\)$ ]]
	grep -Eq '^[0-9a-f-]{36} kvm-[0-9a-f]+:[0-9]+ qemu-[0-9a-f:]+ (yes|no)$' "$cache"
	[[ "$(accel_how)" = *"(the probe's answer cached for this boot)" ]]
	# another boot of the host: asked again
	sed -i 's/^[0-9a-f-]*/00000000-0000-0000-0000-000000000000/' "$cache"
	[[ "$(accel_how)" = *"(probed)" ]]
	[ "$(grep -c . "$cache")" -eq 1 ] && ! grep -q '^0000' "$cache"
	[ "$(QEMOUNT_ACCEL=tcg accel_how)" = "tcg (asked for)" ]
}

@test "qm-tar is qemount tar" {
	"$TOP/build/bin/qm-tar" "$(image_of vfat)" -o "$OUT/a.tar"
	"$CHECK" "$OUT/a.tar" "$IMAGES/vfat.mtree"
}

@test "after all of the above, every input image has its old sha256" {
	images_unchanged
}
