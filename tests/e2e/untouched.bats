#!/usr/bin/env bats
# untouched.bats - the input image is never modified (DESIGN.md,
# Contracts) by a read path: tar, ls, cat, probe, a read-only mount.
#
# The worst case first: a filesystem left with a journal or log to
# replay, made so for real - a read-write `qemount mount`, a file
# written and fsync'ed, qemu killed - and found dirty by the
# filesystem's own tool.  The guest's kernel replays it into the
# throwaway overlay (lib/vm.c), so every read path shows the file, and
# the image keeps its sha256 and stays dirty.  These images are 0444 in
# a 0555 directory, read by a user who may not write them (as root:
# nobody).  Then every test image, read by that user with probe and
# ls -R, its names against its manifest.  (tar of every test image:
# tar.bats, fs.bats, lean.bats, parts.bats.)

load helpers
load mount-helpers

bats_require_minimum_version 1.5.0

# the user who reads: one who may not write the images
NOBODY=65534

# All a test uses, where the reader can get at it (bats's own folders
# are 0700): $D/ro (the dirty image, $IMG), $D/tmp (TMPDIR), $D/out,
# $D/mnt, $D/run (the mount's lock).
eval "helpers_$(declare -f setup)"
setup() {
	helpers_setup
	D=$(mktemp -d /tmp/qemount-untouched.XXXXXX)
	chmod 755 "$D"
	mkdir "$D/ro" "$D/tmp" "$D/out" "$D/mnt" "$D/run"
	chmod 1777 "$D/tmp" "$D/out" "$D/run"
	[ "$(id -u)" -ne 0 ] || chown $NOBODY "$D/mnt"
	export TMPDIR=$D/tmp XDG_RUNTIME_DIR=$D/run
	OUT=$D/out
	MNT=$D/mnt
	IMG=$D/ro/image
}

eval "helpers_$(declare -f teardown)"
teardown() {
	local rc=0
	helpers_teardown || rc=$?
	chmod -R u+w "$D"
	rm -rf "$D"
	return $rc
}

# reader CMD...: CMD as the user who reads
reader() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=$NOBODY --regid=$NOBODY --clear-groups -- "$@"
	else
		"$@"
	fi
}

# dirty NAME [OPTION...]: $IMG, a copy of NAME's test image, as a crash
# leaves it: mounted read-write (qemount mount -o rw OPTION...),
# replayed.txt written and fsync'ed, qemu killed
dirty() {
	local name=$1
	shift
	cp "$(image_of "$name")" "$IMG"
	qm_mount -o rw "$@" "$IMG" "$MNT"
	echo replayed | dd of="$MNT/replayed.txt" conv=fsync status=none
	kill -9 "$(qemu_left)"
	wait_until $WAIT not_mounted "$MNT"
	wait_until $WAIT test -z "$(pgrep -f -- " $IMG $MNT\$")"
}

# is_dirty FS: the filesystem's own tool says $IMG has something to
# replay
is_dirty() {
	case $1 in
	ext3|ext4)
		dumpe2fs -h "$IMG" 2>/dev/null |
			grep -q '^Filesystem features:.* needs_recovery' ;;
	xfs)
		xfs_logprint -t "$IMG" 2>/dev/null | grep -q 'state: <DIRTY>' ;;
	btrfs)	# a log tree: what fsync wrote since the last commit
		[ "$(btrfs inspect-internal dump-super "$IMG" |
		     awk '$1 == "log_root" { print $2 }')" != 0 ] ;;
	f2fs)	# no flag: the checkpoint's tree lacks what fsync wrote after
		# it, which the kernel's roll-forward recovers
		fsck.f2fs --dry-run -t "$IMG" > "$D/tree" 2>&1 || true
		grep -q menu.txt "$D/tree" && ! grep -q replayed.txt "$D/tree" ;;
	ntfs3)	# ntfs3 marks $Volume (MFT record 3) dirty while mounted;
		# its mirror, written at the unmount, still says clean
		ntfs-3g.probe --readonly "$IMG" 2>&1 |
			grep -qF 'MFTMirr does not match $MFT (record 3)' ;;
	esac
}

# replays FS NAME [OPTION...]: NAME's test image left dirty by the
# driver for FS, then every read path as the reader, with OPTION...
# (--fs): probe says NAME, each of the others shows replayed.txt; the
# image is 0444 in a 0555 folder, and after all that has its old sha256
# and is still dirty
replays() {
	local fs=$1 name=$2 before
	shift 2
	dirty "$name" "$@"
	is_dirty "$fs"
	chmod 0444 "$IMG"
	chmod 0555 "$D/ro"
	before=$(sha "$IMG")

	run --separate-stderr reader timeout $LIMIT "$QM" probe "$IMG"
	[ "$status" -eq 0 ] || { echo "probe: $stderr" >&2; return 1; }
	[[ $output == *"filesystem  $name,"* ]]

	run --separate-stderr reader timeout $LIMIT "$QM" ls "$@" "$IMG"
	[ "$status" -eq 0 ] || { echo "ls: $stderr" >&2; return 1; }
	grep -qx replayed.txt <<< "$output"

	run --separate-stderr reader timeout $LIMIT "$QM" cat "$@" "$IMG" replayed.txt
	[ "$status" -eq 0 ] || { echo "cat: $stderr" >&2; return 1; }
	[ "$output" = replayed ]

	run --separate-stderr reader timeout $LIMIT "$QM" tar "$@" "$IMG" -o "$OUT/a.tar"
	[ "$status" -eq 0 ] || { echo "tar: $stderr" >&2; return 1; }
	[ "$(bsdtar -xOf "$OUT/a.tar" replayed.txt)" = replayed ]

	run --separate-stderr reader timeout $LIMIT "$QM" mount "$@" "$IMG" "$MNT"
	[ "$status" -eq 0 ] || { echo "mount: $stderr" >&2; return 1; }
	[ "$(reader cat "$MNT/replayed.txt")" = replayed ]
	reader timeout $LIMIT "$QM" umount "$MNT"
	not_mounted "$MNT"

	[ "$(sha "$IMG")" = "$before" ]
	is_dirty "$fs"
}

@test "ext3 with a journal to replay: every read path sees the file, the image unchanged" {
	replays ext3 ext3
}

@test "ext4 with a journal to replay: every read path sees the file, the image unchanged" {
	replays ext4 ext4
}

@test "xfs with a dirty log: every read path sees the file, the image unchanged" {
	replays xfs xfs
}

@test "btrfs with a log tree: every read path sees the file, the image unchanged" {
	replays btrfs btrfs
}

@test "f2fs with data to roll forward: every read path sees the file, the image unchanged" {
	replays f2fs f2fs
}

@test "NTFS marked dirty by ntfs3: every read path sees the file, the image unchanged" {
	replays ntfs3 ntfs --fs ntfs3
}

# unignored MTREE: standard input less the names that MTREE's #ignore
# globs match: names that may or may not be there (check-archive)
unignored() {
	local globs line g
	mapfile -t globs < <(sed -n 's/^#ignore //p' "$1")
	while IFS= read -r line; do
		for g in "${globs[@]}"; do
			[[ $line == $g ]] && continue 2
		done
		printf '%s\n' "$line"
	done
}

# names MTREE: every path the manifest lists and each folder above one,
# without ./, less the ignored, sorted
names() {
	bsdtar -tf "$1" | sed -n 's|^\./||p' |
		awk -F/ '{ p = $1; print p; for (i = 2; i <= NF; i++) { p = p "/" $i; print p } }' |
		unignored "$1" | LC_ALL=C sort -u
}

@test "every test image, as the reader: probe, and ls -R against its manifest; unchanged" {
	local img name before
	for img in "$IMAGES"/*.img "$IMAGES"/*.iso; do
		name=$(basename "${img%.*}")
		before=$(sha "$img")
		reader timeout $LIMIT "$QM" probe "$img" > /dev/null ||
			{ echo "$name: probe failed" >&2; return 1; }
		reader timeout $LIMIT "$QM" ls -R "$img" > "$OUT/ls" ||
			{ echo "$name: ls -R failed" >&2; return 1; }
		unignored "$IMAGES/$name.mtree" < "$OUT/ls" | LC_ALL=C sort |
			diff <(names "$IMAGES/$name.mtree") - >&2 ||
			{ echo "$name: ls -R is not the manifest's (above)" >&2; return 1; }
		[ "$(sha "$img")" = "$before" ] ||
			{ echo "$name: changed" >&2; return 1; }
	done
}
