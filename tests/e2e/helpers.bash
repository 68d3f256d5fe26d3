# helpers.bash - shared by the e2e tests: where things are, and the
# checks every run must pass (no qemu left, no temp file left, the input
# untouched).

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
QM=$TOP/build/bin/qemount
IMAGES=$TOP/testdata/images
CHECK=$TOP/tests/e2e/check-archive
# a failing run must end well within this
LIMIT=120

image_of() {
	case $1 in
	iso9660) echo "$IMAGES/iso9660.iso" ;;
	*) echo "$IMAGES/$1.img" ;;
	esac
}

setup() {
	# qemount's own temp files (a spooled stdin, a scratch archive)
	# go here, so a test can see that none is left
	export TMPDIR=$BATS_TEST_TMPDIR/tmp
	mkdir -p "$TMPDIR"
	OUT=$BATS_TEST_TMPDIR/out
	MNT=$BATS_TEST_TMPDIR/mnt
	mkdir -p "$OUT" "$MNT"
}

# Our guests' qemu processes still running: those started under this
# test's TMPDIR (others on the machine may be running their own).
qemu_left() {
	local p
	for p in $(pgrep -f 'virtserialport,chardev=p9,name=qemount0'); do
		tr '\0' '\n' 2>/dev/null < "/proc/$p/environ" |
			grep -qxF "TMPDIR=$TMPDIR" && echo "$p"
	done
	true
}

# record_images [IMAGE...]: before the first test, the sha256 of the
# IMAGEs a file's tests read (default: every test image; the file's last
# test compares), and the size/mtime/ctime of every test image (compared
# after each test).
record_images() {
	if [ $# -eq 0 ]; then
		set -- "$IMAGES"/*.img "$IMAGES"/*.iso
	fi
	sha256sum "$@" > "$BATS_FILE_TMPDIR/images.sha256"
	stat -c '%n %s %Y %Z' "$IMAGES"/*.img "$IMAGES"/*.iso > "$BATS_FILE_TMPDIR/images.stat"
}

setup_file() {
	record_images
}

images_unchanged() {
	sha256sum --quiet -c "$BATS_FILE_TMPDIR/images.sha256"
}

# After every test: nothing may be left running or lying around, and no
# input image has been touched.  (The last test of tar.bats compares
# sha256 sums.)
teardown() {
	# a file's own cleanup first (mount.bats: mounts left behind)
	if declare -F teardown_more >/dev/null; then teardown_more || return 1; fi
	stat -c '%n %s %Y %Z' "$IMAGES"/*.img "$IMAGES"/*.iso |
		cmp -s - "$BATS_FILE_TMPDIR/images.stat" ||
		{ echo "an input image was touched" >&2; return 1; }
	local left
	left=$(qemu_left)
	if [ -n "$left" ]; then
		echo "qemu left running: $left" >&2
		kill -9 $left || true
		return 1
	fi
	if [ -n "$(ls -A "$TMPDIR")" ]; then
		echo "temp files left in TMPDIR:" >&2
		ls -la "$TMPDIR" >&2
		return 1
	fi
}

sha() {
	sha256sum "$1" | cut -d' ' -f1
}

# tar_matches NAME [QEMOUNT-OPTION...]: qemount tar of NAME's test image
# into a file, read back by bsdtar (check-archive) against
# images/NAME.mtree; the image is unchanged.
tar_matches() {
	local name=$1 img before
	shift
	img=$(image_of "$name")
	before=$(sha "$img")
	run --separate-stderr timeout $LIMIT "$QM" tar "$@" "$img" -o "$OUT/$name.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	"$CHECK" "$OUT/$name.tar" "$IMAGES/$name.mtree"
	[ "$(sha "$img")" = "$before" ]
}

# fails_cleanly WANT...
# shellcheck source=../fails-cleanly.bash
source "$TOP/tests/fails-cleanly.bash"
