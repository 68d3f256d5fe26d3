#!/usr/bin/env bats
# mount.bats - qemount mount under real FUSE (needs root and /dev/fuse):
# the mounted tree read by ordinary tools (bsdtar from the directory,
# find, stat, sha256sum, readlink) against the testdata manifests; rw
# sessions checked after unmount by `qemount tar` and the filesystem's
# own fsck; parallel readers; fusermount3 -u; errnos; a mount table
# joining two images.  (Killing the tool or qemu: faults.bats.)

load helpers
load mount-helpers

bats_require_minimum_version 1.5.0

setup_file() {
	can_mount || skip "needs root, /dev/fuse and fusermount3"
	record_images
}

# tree_matches NAME: the mounted tree, archived by bsdtar from the
# directory (ordinary syscalls through FUSE), against images/NAME.mtree
tree_matches() {
	bsdtar --format pax -cf "$OUT/tree.tar" -C "$MNT" .
	"$CHECK" "$OUT/tree.tar" "$IMAGES/$1.mtree"
}

# mount_matches NAME: mount NAME's image, check the tree, unmount
mount_matches() {
	qm_mount "$(image_of "$1")" "$MNT"
	tree_matches "$1"
	qm_umount
}

@test "ext4 read-only: usable when the command returns, tree matches the manifest" {
	qm_mount "$(image_of ext4)" "$MNT"
	grep -F " $MNT fuse.qemount ro," /proc/mounts
	tree_matches ext4
	# the same by hand, with find, stat, sha256sum and readlink
	[ "$(find "$MNT" | wc -l)" -eq "$(grep -c '^\./' "$IMAGES/ext4.mtree")" ] ||
		[ "$(find "$MNT" | wc -l)" -eq $(( $(grep -c '^\./' "$IMAGES/ext4.mtree") + 1 )) ]
	[ "$(stat -c '%a %u %g %h' "$MNT/mode-0600")" = "600 1234 5678 1" ]
	[ "$(stat -c '%a' "$MNT/setuid")" = "4755" ]
	[ "$(stat -c '%h' "$MNT/hardlink-a")" = "2" ]
	[ "$(stat -c '%i' "$MNT/hardlink-a")" = "$(stat -c '%i' "$MNT/dir/hardlink-b")" ]
	[ "$(stat -c '%y' "$MNT/subsecond")" = "2021-06-15 12:34:56.123456789 +0000" ]
	[ "$(stat -c '%F %t,%T' "$MNT/dev-null")" = "character special file 1,3" ]
	[ "$(readlink "$MNT/dir/sub/link-up")" = "../../one-byte" ]
	[ "$(sha256sum < "$MNT/big.bin" | cut -d' ' -f1)" = \
	  "$(grep '^\./big.bin ' "$IMAGES/ext4.mtree" | sed 's/.*sha256digest=//')" ]
	[ "$(getfattr --only-values -n user.qemount "$MNT/dir/file")" = kept ]
	qm_umount
}

@test "vfat: tree matches the manifest" {
	mount_matches vfat
}

@test "iso9660: tree matches the manifest" {
	mount_matches iso9660
}

@test "squashfs (zstd) and btrfs: trees match the manifests" {
	mount_matches squashfs-zstd
	mount_matches btrfs
}

@test "8 readers in parallel get correct data" {
	local want i
	qm_mount "$(image_of ext4)" "$MNT"
	want=$(grep '^\./big.bin ' "$IMAGES/ext4.mtree" | sed 's/.*sha256digest=//')
	for i in 1 2 3 4 5 6 7 8; do
		( sha256sum < "$MNT/big.bin" > "$OUT/r$i"
		  find "$MNT" -type f -exec cat {} + > /dev/null ) &
	done
	wait
	for i in 1 2 3 4 5 6 7 8; do
		[ "$(cut -d' ' -f1 "$OUT/r$i")" = "$want" ]
	done
	qm_umount
}

# The mount holds a fid, so a handle in the guest, for each inode the
# host kernel remembers: a walk past the guest's default open file limit
# (1024) ran into EMFILE at a few thousand files.
@test "a walk through 3000 files reads every one (more than 1024 handles held)" {
	mkdir -p "$OUT/many/a" "$OUT/many/b"
	( cd "$OUT/many" && seq -f 'a/%04g' 1500 | xargs touch &&
	  seq -f 'b/%04g' 1500 | xargs -n 500 sh -c 'for f; do echo "$f" > "$f"; done' sh )
	mke2fs -q -t ext4 -N 4000 -d "$OUT/many" "$OUT/many.img" 32M
	qm_mount "$OUT/many.img" "$MNT"
	[ "$(find "$MNT" -type f | wc -l)" -eq 3000 ]
	[ "$(cat "$MNT"/b/* | wc -l)" -eq 1500 ]
	qm_umount
}

# errno_of CALL PATH [ARG]: the errno name a Python os call gets, or OK
errno_of() {
	python3 - "$@" <<'PY'
import errno, os, sys
call, path = sys.argv[1], sys.argv[2]
try:
    if call == "create": os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o644))
    elif call == "open": os.close(os.open(path, os.O_RDONLY))
    elif call == "rmdir": os.rmdir(path)
    elif call == "mkdir": os.mkdir(path)
    elif call == "unlink": os.unlink(path)
    elif call == "rename": os.rename(path, sys.argv[3])
    elif call == "link": os.link(path, sys.argv[3])
    print("OK")
except OSError as e:
    print(errno.errorcode[e.errno])
PY
}

@test "errors reach applications as the right errno" {
	qm_mount "$(image_of ext4)" "$MNT"
	[ "$(errno_of create "$MNT/new")" = EROFS ]
	[ "$(errno_of mkdir "$MNT/dir/new")" = EROFS ]
	[ "$(errno_of open "$MNT/no/such")" = ENOENT ]
	[ "$(errno_of open "$MNT/one-byte/x")" = ENOTDIR ]
	qm_umount
	cp "$(image_of ext4)" "$OUT/rw.img"
	qm_mount -o rw "$OUT/rw.img" "$MNT"
	[ "$(errno_of rmdir "$MNT/dir")" = ENOTEMPTY ]
	[ "$(errno_of mkdir "$MNT/dir")" = EEXIST ]
	[ "$(errno_of unlink "$MNT/dir")" = EISDIR ]
	[ "$(errno_of link "$MNT/dir" "$MNT/dirlink")" = EPERM ]
	[ "$(errno_of rmdir "$MNT/no-such")" = ENOENT ]
	qm_umount
}

# rw_session: the same changes on any writable filesystem
rw_changes() {
	echo hello > "$MNT/new.txt"
	mkdir "$MNT/newdir"
	head -c 3000000 /dev/urandom > "$MNT/newdir/random.bin"
	sha256sum < "$MNT/newdir/random.bin" | cut -d' ' -f1 > "$OUT/random.sha"
	mv "$MNT/new.txt" "$MNT/newdir/renamed.txt"
	rm "$MNT/one-byte"
	printf 'more\n' >> "$MNT/newdir/renamed.txt"
	truncate -s 5 "$MNT/empty"
	[ "$(cat "$MNT/newdir/renamed.txt")" = "$(printf 'hello\nmore')" ]
}

@test "ext4 read-write: changes land in the image, e2fsck finds it clean" {
	cp "$(image_of ext4)" "$OUT/rw.img"
	qm_mount -o rw "$OUT/rw.img" "$MNT"
	grep -F " $MNT fuse.qemount rw," /proc/mounts
	rw_changes
	chmod 640 "$MNT/newdir/renamed.txt"
	chown 1234:5678 "$MNT/newdir/renamed.txt"
	ln -s newdir/renamed.txt "$MNT/sym"
	ln "$MNT/newdir/renamed.txt" "$MNT/hard"
	mkfifo "$MNT/newfifo"
	touch -d '2001-02-03 04:05:06.5' "$MNT/newdir/random.bin"
	setfattr -n user.test -v value "$MNT/newdir/random.bin"
	[ "$(stat -c '%h' "$MNT/hard")" = 2 ]
	qm_umount
	e2fsck -fn "$OUT/rw.img"
	"$QM" tar "$OUT/rw.img" -o "$OUT/rw.tar"
	bsdtar -tvf "$OUT/rw.tar" > "$OUT/list"
	grep -E '^-rw-r----- +[0-9]+ 1234 +5678 +11 .* newdir/renamed.txt$' "$OUT/list"
	grep -E '^hrw-r----- .* hard link to newdir/renamed.txt$' "$OUT/list"
	grep -E '^lrwxrwxrwx .* sym -> newdir/renamed.txt$' "$OUT/list"
	grep -E '^prw-r--r-- .* newfifo$' "$OUT/list"
	grep -E ' 5 .* empty$' "$OUT/list"
	! grep -q ' one-byte$' "$OUT/list"
	! grep -q ' new.txt$' "$OUT/list"
	[ "$(bsdtar -xOf "$OUT/rw.tar" newdir/random.bin | sha256sum | cut -d' ' -f1)" = "$(cat "$OUT/random.sha")" ]
	bsdtar -cf - --format mtree --options mtree:!all,time @"$OUT/rw.tar" |
		grep -E '^\./newdir/random\.bin time=981173106\.5' 
	mkdir "$OUT/x"
	bsdtar -xf "$OUT/rw.tar" -C "$OUT/x" newdir/random.bin
	[ "$(getfattr --only-values -n user.test "$OUT/x/newdir/random.bin")" = value ]
}

@test "vfat read-write: changes land in the image, fsck.vfat finds it clean" {
	cp "$(image_of vfat)" "$OUT/rw.img"
	qm_mount -o rw "$OUT/rw.img" "$MNT"
	rw_changes
	qm_umount
	fsck.vfat -n "$OUT/rw.img"
	"$QM" tar "$OUT/rw.img" -o "$OUT/rw.tar"
	bsdtar -tvf "$OUT/rw.tar" > "$OUT/list"
	grep -E ' newdir/renamed.txt$' "$OUT/list"
	! grep -q ' one-byte$' "$OUT/list"
	[ "$(bsdtar -xOf "$OUT/rw.tar" newdir/random.bin | sha256sum | cut -d' ' -f1)" = "$(cat "$OUT/random.sha")" ]
	# mtools reads it too, without a mount
	[ "$(mtype -i "$OUT/rw.img" ::/newdir/renamed.txt)" = "$(printf 'hello\nmore')" ]
}

@test "a read-only mount never writes the image, even with -o rw refused" {
	# iso9660 has no write support: asking for rw fails with one line
	run --separate-stderr timeout $LIMIT "$QM" mount -o rw "$(image_of iso9660)" "$MNT"
	fails_cleanly iso9660
	not_mounted "$MNT"
}

@test "fusermount3 -u alone also ends the tool" {
	qm_mount "$(image_of ext4)" "$MNT"
	pid=$(pgrep -f -- "mount $(image_of ext4) $MNT" | head -1)
	fusermount3 -u "$MNT"
	wait_until $WAIT eval '! kill -0 '"$pid"' 2>/dev/null'
}

@test "a table joins two images: readdir, .., the mountpoint's permissions" {
	printf '# root and a FAT on /dir\n%s / ext4 ro\n%s /dir auto\n' \
		"$(image_of ext4)" "$(image_of vfat)" > "$OUT/fstab"
	qm_mount --table "$OUT/fstab" "$MNT"
	ls "$MNT" | grep -qx dir			# the parent shows it
	[ -f "$MNT/dir/hello.txt" ] || [ -n "$(ls "$MNT/dir")" ]
	[ ! -e "$MNT/dir/file" ]			# ext4's dir is shadowed
	[ "$(ls "$MNT/dir/.." | sort)" = "$(ls "$MNT" | sort)" ]
	[ "$(stat -c '%a %u %g' "$MNT/dir")" = "755 1000 1000" ]	# ext4's dir's
	[ "$(stat -c '%i' "$MNT/dir/..")" = "$(stat -c '%i' "$MNT")" ]
	# the vfat tree under /dir, against vfat's manifest
	bsdtar --format pax -cf "$OUT/t.tar" -C "$MNT/dir" .
	"$CHECK" "$OUT/t.tar" "$IMAGES/vfat.mtree"
	[ "$(pgrep -f 'virtserialport,chardev=p9,name=qemount0' | wc -l)" -ge 2 ]
	qm_umount
}

@test "--bind: a mountpoint missing below fails cleanly" {
	run --separate-stderr timeout $LIMIT "$QM" mount --bind "/=$(image_of ext4)" \
		--bind "/nope=$(image_of vfat)" "$MNT"
	fails_cleanly "/nope" "no such directory" "ext4.img"
	not_mounted "$MNT"
}

@test "a missing image or mountpoint fails cleanly, nothing mounted" {
	run --separate-stderr timeout $LIMIT "$QM" mount "$OUT/no.img" "$MNT"
	fails_cleanly no.img
	not_mounted "$MNT"
	run --separate-stderr timeout $LIMIT "$QM" mount "$(image_of ext4)" "$OUT/nodir"
	fails_cleanly nodir
	run --separate-stderr "$QM" mount "$(image_of ext4)"
	[ "$status" -eq 2 ]
}

@test "qm-mount is qemount mount; the input images were never changed" {
	timeout $LIMIT "$TOP/build/bin/qm-mount" "$(image_of ext4)" "$MNT"
	[ -f "$MNT/dir/file" ]
	qm_umount
	images_unchanged
}
