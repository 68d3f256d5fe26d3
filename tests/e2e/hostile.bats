#!/usr/bin/env bats
# hostile.bats - the real `qemount tar` and `qemount mount` against a
# guest that lies over 9P: tests/tools/hostile-guest.c as /init under
# the lean guest's kernel, playing the scenario named there.  Whatever
# the guest says, each run ends within the time limit, in one clean
# error line or in a result checked here; an archive names nothing
# outside itself and bsdtar extracting it writes nothing outside its
# directory; no qemu, temp file or FUSE mount is left, and the input
# image is untouched (helpers.bash).

load helpers
load mount-helpers

bats_require_minimum_version 1.5.0

LEAN=$TOP/build/guests/linux-6.1-lean
IMG=$(image_of ext2)
# qemount --timeout: a reply that never comes costs this many seconds
# (and the guest must boot within it, on a loaded machine too)
QT=5

# lie SCENARIO: the next qemount boots the hostile guest playing SCENARIO
# (a guest folder of its own: the lean kernel, our initrd, the order on
# the kernel command line)
lie() {
	local g=$BATS_TEST_TMPDIR/guests/hostile

	mkdir -p "$g"
	ln -sf "$LEAN/vmlinux" "$g/vmlinux"
	ln -sf "$TOP/build/tools/hostile-guest.cpio" "$g/initramfs.cpio"
	{ grep '^@machine' "$LEAN/manifest"; echo 'ext2 ro'; } > "$g/manifest"
	{ cat "$LEAN/cmdline"; echo "qm.hostile=$1"; } > "$g/cmdline"
	export QEMOUNT_GUESTS=$BATS_TEST_TMPDIR/guests QEMOUNT_GUEST=hostile
}

# tar_of SCENARIO: qemount tar of it into $OUT/a.tar, within the limit;
# the seconds it took in $took
tar_of() {
	local t0=$SECONDS

	lie "$1"
	rm -f "$OUT/a.tar"
	run --separate-stderr timeout $WAIT "$QM" tar --timeout $QT "$IMG" \
		-o "$OUT/a.tar"
	took=$((SECONDS - t0))
}

# tar_fails SCENARIO WANT...: one clean error line holding each WANT, and
# no archive
tar_fails() {
	tar_of "$1"
	fails_cleanly "${@:2}" || { echo "scenario $1" >&2; return 1; }
	[ ! -e "$OUT/a.tar" ]
}

# tar_works SCENARIO [REFUSAL]: an archive whose names stay inside it,
# which bsdtar extracts into a fresh directory without touching a canary
# beside it or writing anything else outside (bsdtar may refuse an
# entry only with REFUSAL); its names in $OUT/names
tar_works() {
	local x=$BATS_TEST_TMPDIR/x

	tar_of "$1"
	[ "$status" -eq 0 ] || { echo "scenario $1: $stderr" >&2; return 1; }
	bsdtar -tf "$OUT/a.tar" > "$OUT/names"
	! grep -E '^/|(^|/)\.\.(/|$)' "$OUT/names"
	rm -rf "$x"
	mkdir -p "$x/in"
	echo canary > "$x/canary"
	bsdtar -xf "$OUT/a.tar" -C "$x/in" 2> "$OUT/refused" ||
		{ [ -n "${2:-}" ] && grep -qF -- "$2" "$OUT/refused"; } ||
		{ cat "$OUT/refused" >&2; return 1; }
	[ "$(ls -A "$x")" = "$(printf 'canary\nin')" ]
	[ "$(cat "$x/canary")" = canary ]
}

# the one image read (the guest never looks at it)
setup_file() {
	record_images "$IMG"
}

# the sane tree every scenario starts from, as bsdtar lists it
SANE='hello.txt
dir/
dir/inner.txt
link'

# mount_of SCENARIO: qemount mount of it on $MNT (needs FUSE)
mount_of() {
	can_mount || skip "needs root, /dev/fuse and fusermount3"
	lie "$1"
	run --separate-stderr timeout $WAIT "$QM" mount --timeout $QT "$IMG" "$MNT"
}

# mount_fails SCENARIO WANT...: the mount fails cleanly, nothing mounted
mount_fails() {
	mount_of "$1"
	fails_cleanly "${@:2}" || { echo "scenario $1" >&2; return 1; }
	not_mounted "$MNT"
}

# on CMD...: run CMD on the mount, within the limit (never killed by it)
on() {
	run --separate-stderr timeout $WAIT "$@"
	[ "$status" -ne 124 ] || { echo "timed out: $*" >&2; return 1; }
}

# mount_breaks SCENARIO CMD... WANT: mounted; CMD fails with WANT on its
# stderr, and the mount goes away by itself (the guest's link is dead)
mount_breaks() {
	local want=${*: -1}

	mount_of "$1"
	[ "$status" -eq 0 ] || { echo "scenario $1: $stderr" >&2; return 1; }
	on "${@:2:$#-2}"
	[ "$status" -ne 0 ] && [[ $stderr == *"$want"* ]] ||
		{ echo "scenario $1: status $status: $stderr" >&2; return 1; }
	wait_until $WAIT not_mounted "$MNT"
}

# mount_sane SCENARIO: mounted, the sane tree found and read whole
mount_sane() {
	mount_of "$1"
	[ "$status" -eq 0 ] || { echo "scenario $1: $stderr" >&2; return 1; }
	on find "$MNT" -mindepth 1
	[ "$status" -eq 0 ]
	[ "$(sed "s|^$MNT/||" <<< "$output" | sort)" = "$(printf 'dir\ndir/inner.txt\nhello.txt\nlink')" ]
	[ "$(cat "$MNT/hello.txt" "$MNT/dir/inner.txt")" = "$(printf 'hello, world\ninner')" ]
	[ "$(readlink "$MNT/link")" = hello.txt ]
}

@test "the hostile guest's sane tree, and msize 4096: tar and mount work" {
	for s in sane msize-min; do
		tar_works $s
		[ "$(cat "$OUT/names")" = "$SANE" ]
		[ "$(bsdtar -xOf "$OUT/a.tar" hello.txt)" = "hello, world" ]
	done
	mount_sane msize-min
	qm_umount
}

@test "Rversion with a msize out of range, or none: clean errors" {
	tar_fails msize-huge "the hostile guest did not answer: Protocol error"
	tar_fails msize-tiny "the hostile guest did not answer: Protocol error"
	tar_fails silent "the hostile guest did not answer: the guest gave no reply in $QT s"
	# the mount's own report of a guest that failed to start
	mount_fails msize-huge "the hostile guest did not answer: Protocol error"
}

@test "escape sequences on the guest's console reach no terminal" {
	tar_fails console-esc "the guest gave no reply in $QT s" \
		"?]0;owned??[2Jcleared"
	[[ $stderr != *$'\e'* && $stderr != *$'\a'* ]]
}

@test "replies that stop after Rversion or in a read: timeouts" {
	tar_fails mute "cannot mount as ext2: the guest gave no reply in $QT s"
	tar_fails stall-read "hello.txt: the guest gave no reply in $QT s"
	mount_breaks stall-read cat "$MNT/hello.txt" "Input/output error"
}

@test "wrong tag, wrong type, counts and sizes that lie: clean errors" {
	local s
	for s in wrong-tag wrong-type past-end size-short; do
		tar_fails $s "$IMG: /: Protocol error"
	done
	tar_fails size-long "$IMG: /: the guest gave no reply in $QT s"
	# a mount whose guest broke the protocol: the same for every lie
	mount_breaks wrong-tag find "$MNT" "Input/output error"
}

@test "names with '/', NUL, empty or 64 KiB long: never a path" {
	local s
	for s in name-slash name-nul name-empty name-64k; do
		tar_fails $s "$IMG: /: Protocol error"
	done
	mount_breaks name-slash find "$MNT" "Input/output error"
	# "." and ".." from the guest are skipped, "..." is a name
	tar_works name-dots
	[ "$(cat "$OUT/names")" = "$SANE
..." ]
	mount_of name-dots
	on find "$MNT" -mindepth 1 -name '*.'
	[ "$output" = "$MNT/..." ]
	qm_umount
}

@test "symlinks out of the tree stay symlinks; a 64 KiB target is an error" {
	# "esc" twice: the symlink to .., then a directory holding "pwned".
	# The guest gives a name's siblings in turns, as walks for it come;
	# the walk reads ahead with several in flight, so the directory may
	# be archived first, and bsdtar then refuses the symlink over it
	tar_works symlinks "esc: Can't replace existing directory with non-directory"
	bsdtar -tvf "$OUT/a.tar" > "$OUT/list"
	grep -E ' abs -> /etc/passwd$' "$OUT/list"
	grep -E ' up -> (\.\./){8}etc/passwd$' "$OUT/list"
	grep -E ' esc -> \.\.$' "$OUT/list"
	grep -x 'esc/pwned' "$OUT/names"
	[ -f "$BATS_TEST_TMPDIR/x/in/esc/pwned" ]
	tar_fails target-64k "$IMG: far: Protocol error"
	# that guest is stuck writing its reply: killed after 1 s, not 10
	[ "$took" -lt 10 ]
	mount_of symlinks
	[ "$(readlink "$MNT/abs")" = /etc/passwd ]
	[ "$(readlink "$MNT/tmp")" = /tmp ]
	on find "$MNT" -name pwned
	qm_umount
	mount_breaks target-64k readlink -v "$MNT/far" "Input/output error"
}

@test "a directory cycle and an endless depth: bounded, clean errors" {
	local n
	tar_fails cycle "$IMG: a/loop: Too many levels of symbolic links"
	tar_fails deep "$IMG: deep/d/d/d/" ": File name too long"
	mount_of cycle
	on find "$MNT"
	[ "$status" -ne 0 ] && [[ $stderr == *"$MNT/a/loop"* ]]
	qm_umount
	mount_of deep
	on find "$MNT"
	[ "$status" -ne 0 ] && [[ $stderr == *"File name too long"* ]]
	# it went as deep as the limit (1024 levels), no deeper
	n=$(grep -c '/d$' <<< "$output")
	[ "$n" -gt 1000 ] && [ "$n" -lt 1024 ]
	qm_umount
}

@test "files whose reads never end, or whose size is huge: bounded" {
	tar_works grow
	[ "$(bsdtar -xOf "$OUT/a.tar" grow)" = gggggggggg ]
	tar_fails huge "$IMG: huge: file ended at 10 bytes, but its size says 4611686018427387904"
	tar_fails huge64 "$IMG: huge: Protocol error"
	mount_of grow
	[ "$(cat "$MNT/grow")" = gggggggggg ]
	qm_umount
	mount_of huge
	on cat "$MNT/huge"
	[ "$output" = "only this" ]
	qm_umount
	mount_breaks huge64 stat "$MNT/huge" "Input/output error"
}

@test "listings that go round or never end: bounded, clean errors" {
	tar_fails list-loop "$IMG: loop: Protocol error"
	tar_fails list-endless "$IMG: endless: File too large"
	mount_of list-loop
	on ls "$MNT/loop"
	[ "$status" -ne 0 ] && [[ $stderr == *"Protocol error"* ]]
	qm_umount
	mount_of list-endless
	on ls "$MNT/endless"
	[ "$status" -ne 0 ] && [[ $stderr == *"File too large"* ]]
	qm_umount
}

@test "a guest that never powers off is killed" {
	tar_fails never-off "the guest did not shut down cleanly: killed after 10 s"
	images_unchanged
}
