# mount-helpers.bash - the FUSE mounts of the e2e tests (mount.bats,
# hostile.bats): each made within the limit, and none left behind.
# Loaded after helpers.bash; $MNT is the test's mountpoint.

# every wait here ends within this
WAIT=30

# what a FUSE mount needs here: root, /dev/fuse, fusermount3
can_mount() {
	[ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] && command -v fusermount3 >/dev/null
}

mounted() {
	grep -qF " $1 fuse.qemount " /proc/mounts
}

# wait_until SECONDS CMD...: CMD succeeds within SECONDS, or fail
wait_until() {
	local limit=$(( $1 * 10 )) i=0
	shift
	until "$@"; do
		i=$((i + 1))
		[ $i -lt $limit ] || { echo "timed out: $*" >&2; return 1; }
		sleep 0.1
	done
}

not_mounted() { ! mounted "$1"; }

# nothing of ours may stay mounted; unmount (then fail) if it did
teardown_more() {
	if mounted "$MNT"; then
		fusermount3 -uz "$MNT" || umount -l "$MNT"
		echo "left mounted: $MNT" >&2
		return 1
	fi
}

# qm_mount ARGS...: qemount mount in the background, within the limit
qm_mount() {
	run --separate-stderr timeout $LIMIT "$QM" mount "$@"
	[ "$status" -eq 0 ] || { echo "mount: $stderr" >&2; return 1; }
}

qm_umount() {
	timeout $LIMIT "$QM" umount "$MNT"
	not_mounted "$MNT"
}
