#!/usr/bin/env bats
# faults.bats - a run cut short at any stage leaves nothing behind: kill
# -9 of qemu, kill -9 of the tool, SIGINT and SIGTERM of the tool, while
# standard input is spooled, while the guest boots, in the middle of
# `qemount tar`'s walk, while `qemount pack` fills the image and while
# its guest unmounts it, and for `qemount mount` (in the foreground and
# in the background) while it boots and while it serves.  Each time the
# tool dies of the signal or exits 1 with one line, and nothing is left:
# no output at OUT (nor its unnamed temp file), nothing in TMPDIR
# (teardown), no qemu, no FUSE mount.  Then a full disk under OUT (a
# small tmpfs; root only): one ENOSPC line naming OUT, exit 1.
#
# A stage is found by what the tool shows of it - its qemu, its unnamed
# output file growing, the lines of `pack -v`, the mount - never by a
# sleep.  The tool is then stopped (SIGSTOP) and checked to be still in
# that stage, so that the fault lands there however busy the machine
# is; it goes on (SIGCONT) once the fault is dealt.

load helpers
load mount-helpers

bats_require_minimum_version 1.5.0

setup_file() {
	record_images
	# what pack fills its images from: small (the fault is what counts),
	# and the whole stage with its 20 MiB file (the full disk)
	bsdtar -cf "$BATS_FILE_TMPDIR/small.tar" --format pax -C "$IMAGES/stage-small" .
	bsdtar -cf "$BATS_FILE_TMPDIR/stage.tar" --format pax -C "$IMAGES/stage" .
	# a tree whose walk takes a while: 2048 files of 4 KiB (each a
	# few 9P round trips), an archive of 5 MiB written as it goes
	mkdir "$BATS_FILE_TMPDIR/tree"
	head -c 8M /dev/urandom | split -a 3 -b 4096 - "$BATS_FILE_TMPDIR/tree/f"
	mke2fs -q -t ext4 -d "$BATS_FILE_TMPDIR/tree" "$BATS_FILE_TMPDIR/walk.img" 32M
}

eval "helpers_$(declare -f setup)"
setup() {
	helpers_setup
	ERR=$BATS_TEST_TMPDIR/err
	FULL=$BATS_TEST_TMPDIR/full
	FROZEN=$BATS_TEST_TMPDIR/frozen
}

# the disks of the ENOSPC and unmount tests go; then mount-helpers.bash's
# check that no FUSE mount is left
eval "mount_$(declare -f teardown_more)"
teardown_more() {
	if mountpoint -q "$FROZEN"; then
		fsfreeze -u "$FROZEN" 2>/dev/null || true
		wait_until 10 umount "$FROZEN"
	fi
	if mountpoint -q "$FULL"; then
		umount "$FULL"
	fi
	mount_teardown_more
}

# start CMD...: CMD in the background ($PID), its stderr in $ERR (or
# $TO), with SIGINT as in a terminal (a background job starts with it
# ignored, and libfuse would leave it so), standard input kept (not
# /dev/null, as a background job's would be), without bats's fd 3 (bats
# would wait for a mount's server to close it)
start() {
	env --default-signal=INT "$@" <&0 2> "${TO:-$ERR}" 3>&- &
	PID=$!
}

# the qemu this test started (it runs with our TMPDIR), if any
qemu_pid() {
	qemu_left | head -1
}

has_qemu() {
	[ -n "$(qemu_pid)" ]
}

# tmpfile_size PID DIR: the size of the unnamed file (O_TMPFILE) PID
# has open in DIR, or nothing
tmpfile_size() {
	local f
	for f in /proc/"$1"/fd/*; do
		if [[ $(readlink "$f" 2>/dev/null) == "$2/#"*" (deleted)" ]]; then
			stat -L -c %s "$f"
			return 0
		fi
	done
}

# writing PID DIR: PID's unnamed file in DIR has data
writing() {
	local n
	n=$(tmpfile_size "$1" "$2")
	[ -n "$n" ] && [ "$n" -gt 0 ]
}

# said WORDS: the tool's stderr has a line with WORDS
said() {
	grep -qF -- "$1" "$ERR"
}

# alive PID: PID runs (not gone, not a zombie)
alive() {
	local state
	state=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null | cut -d' ' -f1)
	[ -n "$state" ] && [ "$state" != Z ]
}

ended() {
	! alive "$1"
}

# strike FAULT PID: deal FAULT to the tool PID: TERM, INT or KILL, or
# qemu (kill -9 of its qemu)
strike() {
	if [ "$1" = qemu ]; then
		kill -KILL "$(qemu_pid)"
	else
		kill -"$1" "$2"
	fi
}

# go_on PID...: let the stopped PIDs go on (to meet what was dealt them)
go_on() {
	kill -CONT "$@" 2>/dev/null || true
}

# reap: wait (at most LIMIT) for our tool $PID to end; its status in $rc
reap() {
	wait_until $LIMIT ended "$PID"
	rc=0
	wait "$PID" || rc=$?
}

# died_of FAULT [WANT...]: the tool, struck with FAULT, died of that
# signal, or - qemu killed - exited 1 with one line of its own holding
# every WANT (what -v shows aside); then no qemu, nothing at OUT, no mount
died_of() {
	local fault=$1 want lines
	shift
	case $fault in
	TERM) [ "$rc" -eq 143 ] ;;
	INT) [ "$rc" -eq 130 ] ;;
	KILL) [ "$rc" -eq 137 ] ;;
	qemu)
		lines=$(grep '^qemount: ' "$ERR")
		[ "$rc" -eq 1 ] && [ "$(printf '%s\n' "$lines" | wc -l)" -eq 1 ] ||
			{ echo "status $rc, stderr:" >&2; cat "$ERR" >&2; return 1; }
		for want in "$@"; do
			[[ $lines == *"$want"* ]] ||
				{ echo "stderr lacks '$want': $lines" >&2; return 1; }
		done ;;
	esac || { echo "status $rc after $fault" >&2; cat "$ERR" >&2; return 1; }
	nothing_left
}

# nothing_left: no qemu (it dies with the tool: give the kernel a
# moment), nothing at OUT, no mount; TMPDIR is teardown's
nothing_left() {
	wait_until 10 test -z "$(qemu_left)"
	[ -z "$(ls -A "$OUT")" ] || { echo "left in OUT:" >&2; ls -la "$OUT" >&2; return 1; }
	not_mounted "$MNT"
}

# ---- qemount tar: spooling, booting, walking ----

# spool_fault FAULT: tar of standard input, a pipe that has given 1 MiB and
# stays open: the tool spools it into TMPDIR and waits for more
spool_fault() {
	local fifo=$BATS_TEST_TMPDIR/fifo
	mkfifo "$fifo"
	exec 8<>"$fifo"		# open both ways: no wait for the other end
	start "$QM" tar - -o "$OUT/a.tar" < "$fifo" 8>&-
	timeout 10 head -c 1M "$(image_of ext4)" >&8
	wait_until 10 writing "$PID" "$TMPDIR"
	kill -STOP "$PID"
	strike "$1" "$PID"
	go_on "$PID"
	reap
	exec 8>&-
	[ -z "$(qemu_pid)" ]
	died_of "$1"
}

@test "spooling standard input: SIGTERM" { spool_fault TERM; }
@test "spooling standard input: SIGINT" { spool_fault INT; }
@test "spooling standard input: kill -9" { spool_fault KILL; }

# boot_fault FAULT: tar, struck while its guest boots (the linux-6.1 guest:
# seconds to its first reply, the walk cannot have begun)
boot_fault() {
	QEMOUNT_GUEST=linux-6.1 start "$QM" tar "$(image_of ext4)" -o "$OUT/a.tar"
	wait_until 10 has_qemu
	kill -STOP "$PID"
	[ "$(tmpfile_size "$PID" "$OUT")" = 0 ]	# nothing written yet
	strike "$1" "$PID"
	go_on "$PID"
	reap
	died_of "$1" ext4.img "did not answer"
}

@test "booting: SIGTERM" { boot_fault TERM; }
@test "booting: SIGINT" { boot_fault INT; }
@test "booting: kill -9 of the tool" { boot_fault KILL; }
@test "booting: kill -9 of qemu" { boot_fault qemu; }

# walk_fault FAULT: tar of the tree, struck with part of its archive
# written (less than 2 MiB of 8: in the middle of the walk)
walk_fault() {
	start "$QM" tar "$BATS_FILE_TMPDIR/walk.img" -o "$OUT/a.tar"
	wait_until $LIMIT writing "$PID" "$OUT"
	kill -STOP "$PID"
	[ "$(tmpfile_size "$PID" "$OUT")" -lt 2097152 ]
	strike "$1" "$PID"
	go_on "$PID"
	reap
	died_of "$1" walk.img
}

@test "in the walk: SIGTERM" { walk_fault TERM; }
@test "in the walk: SIGINT" { walk_fault INT; }
@test "in the walk: kill -9 of the tool" { walk_fault KILL; }
@test "in the walk: kill -9 of qemu" { walk_fault qemu; }

# ---- qemount pack: filling the image, unmounting it ----

# stall_stderr: $STALL, a pipe so full that the next line written to it
# waits (the tool started with 2> "$STALL" then stops at a known point,
# its main thread in pipe_write); drain empties it into $ERR from then on
stall_stderr() {
	STALL=$BATS_TEST_TMPDIR/stall
	mkfifo "$STALL"
	exec 9<>"$STALL"	# open both ways: no wait for the other end
	python3 -c 'import fcntl, os; os.write(9, b"#" * (fcntl.fcntl(9, 1032) - 8))'
}

stalled() {
	grep -q pipe_write /proc/"$1"/wchan
}

drain() {
	cat "$STALL" > "$ERR" 3>&- &
	DRAIN=$!
}

# undrain: stop draining; $ERR without the filling
undrain() {
	kill "$DRAIN"
	wait "$DRAIN" || true
	exec 9>&-
	sed -i 's/^#*//' "$ERR"
}

# pack_stalled: pack -v of the small archive to OUT, stopped where it
# says that it starts filling the image (formatted and mounted in the
# guest, nothing written yet)
pack_stalled() {
	stall_stderr
	TO=$STALL start "$QM" pack -v --fs ext4 "$BATS_FILE_TMPDIR/small.tar" "$OUT/p.img"
	wait_until $LIMIT stalled "$PID"
}

# pack_died_of FAULT: the stopped pack, struck, goes on; it died of FAULT
pack_died_of() {
	go_on "$PID"
	reap
	undrain
	died_of "$1" p.img
}

# fill_fault FAULT: pack struck as it starts filling the image
fill_fault() {
	pack_stalled
	kill -STOP "$PID"
	strike "$1" "$PID"
	drain
	pack_died_of "$1"
}

@test "pack filling the image: SIGTERM" { fill_fault TERM; }
@test "pack filling the image: SIGINT" { fill_fault INT; }
@test "pack filling the image: kill -9 of the tool" { fill_fault KILL; }
@test "pack filling the image: kill -9 of qemu" { fill_fault qemu; }

# unmount_fault FAULT: pack struck once it says the guest unmounts.  So
# that the unmount lasts, OUT is on a disk of its own (ext4 on a loop
# device), frozen (fsfreeze) before filling starts: the guest's writes,
# held in its page cache until the unmount, then wait there for the
# host's; it is thawed after the fault.  (The fill must not wait on a
# write: it did when the guest's ext4 zeroed its inode tables in the
# background, holding a journal handle - see mkfs.txt.)
unmount_fault() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a loop device"
	truncate -s 32M "$BATS_TEST_TMPDIR/frozen.img"
	mke2fs -q -t ext4 "$BATS_TEST_TMPDIR/frozen.img"
	mkdir "$FROZEN"
	mount -o loop "$BATS_TEST_TMPDIR/frozen.img" "$FROZEN"
	OUT=$FROZEN/out
	mkdir "$OUT"
	pack_stalled
	fsfreeze -f "$FROZEN"
	drain
	wait_until $LIMIT said unmounting || { tail -c 2000 "$ERR" | tr -s '#' >&2; return 1; }
	kill -STOP "$PID"
	has_qemu
	strike "$1" "$PID"
	fsfreeze -u "$FROZEN"
	pack_died_of "$1"
}

@test "pack unmounting the image: SIGTERM" { unmount_fault TERM; }
@test "pack unmounting the image: SIGINT" { unmount_fault INT; }
@test "pack unmounting the image: kill -9 of the tool" { unmount_fault KILL; }
@test "pack unmounting the image: kill -9 of qemu" { unmount_fault qemu; }

# ---- qemount mount ----

needs_fuse() {
	can_mount || skip "needs root, /dev/fuse and fusermount3"
}

# mount_boot FAULT [-f]: mount, struck while its guest boots; in the
# background, the waiting command is struck (^C), its server stopped too
# so that it cannot finish the mount meanwhile
mount_boot() {
	local fault=$1 server
	shift
	needs_fuse
	QEMOUNT_GUEST=linux-6.1 start "$QM" mount "$@" "$(image_of ext4)" "$MNT"
	wait_until 10 has_qemu
	server=$(ps -o ppid= -p "$(qemu_pid)")
	kill -STOP "$PID" $server
	not_mounted "$MNT"
	strike "$fault" "$PID"
	go_on "$PID" $server
	reap
	died_of "$fault" ext4.img "did not answer"
	[ -z "$(ls -A "$MNT")" ]
	wait_until 10 ended $server
}

@test "mount booting: SIGTERM" { mount_boot TERM; }
@test "mount booting: SIGINT" { mount_boot INT; }
@test "mount booting: kill -9 of the command" { mount_boot KILL; }
@test "mount booting: kill -9 of qemu" { mount_boot qemu; }
@test "mount -f booting: SIGTERM" { mount_boot TERM -f; }
@test "mount -f booting: SIGINT" { mount_boot INT -f; }
@test "mount -f booting: kill -9" { mount_boot KILL -f; }
@test "mount -f booting: kill -9 of qemu" { mount_boot qemu -f; }

@test "mount booting: kill -9 of its server: one line from the command" {
	needs_fuse
	QEMOUNT_GUEST=linux-6.1 start "$QM" mount "$(image_of ext4)" "$MNT"
	wait_until 10 has_qemu
	kill -KILL "$(ps -o ppid= -p "$(qemu_pid)")"
	reap
	[ "$rc" -eq 1 ]
	[ "$(wc -l < "$ERR")" -eq 1 ]
	grep -q "mnt: its server was killed before the mount was up" "$ERR"
	nothing_left
}

# mount_serving FAULT [-f]: a mount that works, its server struck.
# SIGTERM and SIGINT are how a mount is ended: a clean unmount, exit 0.
mount_serving() {
	local fault=$1 server
	shift
	needs_fuse
	start "$QM" mount "$@" "$(image_of ext4)" "$MNT"
	wait_until $LIMIT mounted "$MNT"
	[ -f "$MNT/dir/file" ]
	server=$(ps -o ppid= -p "$(qemu_pid)")
	strike "$fault" $server
	wait_until $LIMIT ended $server
	# after a kill -9 the unmount is fusermount3's (auto_unmount): seen
	# to take over 10 s once in five runs on a busy machine
	wait_until $LIMIT not_mounted "$MNT"
	if [ "$1" = -f ]; then
		reap
		case $fault in
		TERM|INT) [ "$rc" -eq 0 ] && [ ! -s "$ERR" ] ;;
		KILL) [ "$rc" -eq 137 ] ;;
		qemu) [ "$rc" -eq 1 ] && [ "$(wc -l < "$ERR")" -eq 1 ] &&
			grep -q "ext4.img: the guest went away" "$ERR" ;;
		esac || { echo "status $rc after $fault:" >&2; cat "$ERR" >&2; return 1; }
	else
		reap
		[ "$rc" -eq 0 ] && [ ! -s "$ERR" ]	# it said ready, and went
	fi
	nothing_left
	[ -z "$(ls -A "$MNT")" ]	# the empty directory again, no ENOTCONN
}

@test "mount serving: SIGTERM unmounts" { mount_serving TERM; }
@test "mount serving: SIGINT unmounts" { mount_serving INT; }
@test "mount serving: kill -9 of its server" { mount_serving KILL; }
@test "mount serving: kill -9 of qemu" { mount_serving qemu; }
@test "mount -f serving: SIGTERM unmounts" { mount_serving TERM -f; }
@test "mount -f serving: SIGINT unmounts" { mount_serving INT -f; }
@test "mount -f serving: kill -9" { mount_serving KILL -f; }
@test "mount -f serving: kill -9 of qemu: one line" { mount_serving qemu -f; }

# ---- a full disk under OUT ----

# full: a 4 MiB disk at $FULL (the ext4 image's archive is 29 MiB)
full() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a tmpfs"
	mkdir -p "$FULL"
	mount -t tmpfs -o size=4m tmpfs "$FULL"
}

@test "tar -o on a full disk: one ENOSPC line naming OUT, nothing left" {
	full
	run --separate-stderr timeout $LIMIT "$QM" tar "$(image_of ext4)" -o "$FULL/a.tar"
	fails_cleanly "$FULL/a.tar: No space left on device"
	[ -z "$(ls -A "$FULL")" ]
}

@test "tar to a standard output on a full disk: one ENOSPC line, the file cut back" {
	full
	echo kept > "$FULL/a.tar"
	run --separate-stderr bash -c 'timeout $0 "$1" tar "$2" >> "$3"' \
		$LIMIT "$QM" "$(image_of ext4)" "$FULL/a.tar"
	fails_cleanly "standard output: No space left on device"
	[ "$(cat "$FULL/a.tar")" = kept ]
	[ "$(ls -A "$FULL")" = a.tar ]
}

@test "pack on a full disk: one ENOSPC line naming OUT, nothing left" {
	full
	run --separate-stderr timeout $LIMIT "$QM" pack --fs ext4 \
		"$BATS_FILE_TMPDIR/stage.tar" "$FULL/p.img"
	fails_cleanly "$FULL/p.img: No space left on device"
	[ -z "$(ls -A "$FULL")" ]
}

@test "pack building in a full TMPDIR: one ENOSPC line naming it" {
	full
	run --separate-stderr env TMPDIR="$FULL" timeout $LIMIT "$QM" pack \
		--fs ext4 --format qcow2 "$BATS_FILE_TMPDIR/stage.tar" "$OUT/p.qcow2"
	fails_cleanly "$OUT/p.qcow2: building it in $FULL: No space left on device"
	[ -z "$(ls -A "$FULL")" ]
	[ -z "$(ls -A "$OUT")" ]
}

@test "after all of the above, every input image has its old sha256" {
	images_unchanged
}
