#!/usr/bin/env bats
# damaged.bats - `qemount tar` survives damaged images (issue 9).
#
# Every case must end within BOUND seconds in one of two ways: exit 0
# with an archive bsdtar reads to its end, or exit 1 with one line on
# stderr naming the image and a reason, after the warnings of entries
# the walk went past (tests/e2e/survive judges one case).  The input is never changed, and no qemu or temp file is left
# (helpers.bash's teardown).  The cases, made at test time and the same
# every run (tests/e2e/damage, debugfs):
#   - every test image cut in half and after its superblock, with bits
#     flipped in its metadata, and with a metadata range zeroed
#   - ext images corrupted with debugfs -w
#   - the deliberately damaged images of other projects in
#     ../shared/realimages/ (e2fsprogs' test images, a fuzzed btrfs, a
#     Rock Ridge continuation loop)
# Each family is one @test, its cases run two at a time; each prints its
# cases and a summary line (bats `# ` lines, so CI logs show them), and
# the last test the table of all.  The default guest (linux-6.1-lean)
# reads them.

load helpers

bats_require_minimum_version 1.5.0

REAL=$TOP/../shared/realimages
SURVIVE=$TOP/tests/e2e/survive
# qemount's own limit on any one answer from the guest, and the outer
# bound on a whole case (two runs when the first finds no filesystem)
QM_TIMEOUT=20
BOUND=90

# The test images are only copied and probed here: their size and times
# are checked after each test (helpers.bash), their sha256 at the end
# only for those debugfs -w writes copies of
setup_file() {
	record_images "$(image_of ext2)" "$(image_of ext4)"
}

# fs_of IMAGE: the filesystem qemount probe finds in IMAGE, or nothing
fs_of() {
	"$QM" probe "$1" | sed -n 's/^filesystem  *\([a-z0-9]*\), .*/\1/p'
}

# damaged KIND...: a case for each test image damaged as each KIND
# (tests/e2e/damage; survive makes the copy)
damaged() {
	local img base kind fs
	for img in "$IMAGES"/*.img "$IMAGES"/*.iso; do
		base=$(basename "$img")
		base=${base%.*}
		fs=$(fs_of "$img")
		for kind in "$@"; do
			# no blank at the end: xargs -L would join the next line
			echo "$base-$kind $kind $img${fs:+ $fs}"
		done
	done >> "$OUT/cases"
}

# corrupt NAME BASE COMMAND...: a case NAME, the BASE test image with
# each debugfs -w COMMAND done on a copy ($OUT/NAME.img)
corrupt() {
	local name=$1 base=$2 cmd said
	shift 2
	cp --sparse=always "$(image_of "$base")" "$OUT/$name.img"
	for cmd in "$@"; do
		# debugfs exits 0 whatever; a complaint is more than its banner
		said=$(debugfs -w -R "$cmd" "$OUT/$name.img" 2>&1 > /dev/null |
		       grep -v '^debugfs [0-9]' || true)
		[ -z "$said" ] || { echo "debugfs $cmd on $name: $said" >&2; return 1; }
	done
	echo "$name - $OUT/$name.img $base" >> "$OUT/cases"
}

# real FILE FS: the case of ../shared/realimages/FILE, read in place
real() {
	[ -f "$REAL/$1" ] || return 0
	echo "$1 - $REAL/$1 $2" >> "$OUT/cases"
}

# summary FAMILY ROWS: one line for a family's rows (survive's lines;
# a damage that changed nothing is no case)
summary() {
	awk -F'\t' -v family="$1" '
		$2 == "same" { next }
		{ n++; k[$2]++; if ($3 + 0 > max) { max = $3 + 0; slow = $1 } }
		$4 ~ /the guest kernel crashed/ { crash++ }
		END { printf "# %-34s %5d %8d %6d %6d %6d %7.1f s  %s\n",
			family, n, k["archive"], k["error"], k["FAIL"],
			crash, max, slow }' "$2"
}

header() {
	printf '# %-34s %5s %8s %6s %6s %6s %9s  %s\n' family cases archive \
		error FAIL crash longest "(case)"
}

# survive_all FAMILY: run every case of $OUT/cases, two at a time; each
# case's row (name, outcome, seconds, what qemount said) and the
# family's summary on fd 3, the rows kept for the last test; fails if
# any case failed
survive_all() {
	[ -s "$OUT/cases" ] || skip "no cases"
	export DIR=$OUT QM QM_TIMEOUT BOUND
	xargs -P 2 -L 1 "$SURVIVE" < "$OUT/cases" > "$OUT/rows"
	sed "s/^/$1	/" "$OUT/rows" >> "$BATS_FILE_TMPDIR/rows"
	{ sed 's/^/# /' "$OUT/rows"; header; summary "$1" "$OUT/rows"; } >&3
	[ "$(wc -l < "$OUT/rows")" -eq "$(wc -l < "$OUT/cases")" ]
	! grep -q '	FAIL	' "$OUT/rows"
}

@test "test images cut in half and after the superblock" {
	damaged half sb
	survive_all truncated
}

@test "test images with 48 bits flipped in their first MiB" {
	damaged flip
	survive_all bit-flipped
}

@test "test images with 64 KiB of metadata zeroed" {
	damaged zero
	survive_all zeroed
}

@test "ext images corrupted with debugfs" {
	corrupt ext2-blockptr ext2 "sif /dir/file block[0] 99999999"
	corrupt ext2-ind-to-super ext2 "sif /big.bin block[IND] 1"
	corrupt ext2-dir-256m ext2 "sif /dir size 0x10000000"
	corrupt ext2-dir-loop ext2 "link /dir /dir/sub/loop"
	corrupt ext2-symlink-long ext2 "sif /link-rel size 4000"
	corrupt ext2-no-root ext2 "clri <2>"
	corrupt ext2-bad-mode ext2 "sif /dir/file mode 0170644"
	corrupt ext4-extent-past-end ext4 "sif /big.bin block[4] 0x7fffffff"
	corrupt ext4-extent-depth ext4 "sif /dir block[1] 0x00050004"
	corrupt ext4-dir-links-0 ext4 "sif /dir links_count 0"
	survive_all debugfs
}

@test "e2fsprogs' damaged test images (realimages)" {
	[ -d "$REAL" ] || skip "no $REAL (the shared real images)"
	local f base
	# the uncompressed copy where there is one; f_h_normal is no damage
	# but 47720 entries (a minute), i_* are conversion tests
	for f in "$REAL"/tytso__e2fsprogs__[dfj]_*; do
		base=${f##*/}
		case $base in
		*f_h_normal*) continue ;;
		*.gz|*.bz2) [ -f "${f%.*}" ] && continue ;;
		esac
		real "$base" ext4
	done
	survive_all e2fsprogs
}

@test "fuzzed btrfs, Rock Ridge continuation loop (realimages)" {
	[ -d "$REAL" ] || skip "no $REAL (the shared real images)"
	real kdave__btrfs-progs__bko-156741.raw.xz btrfs
	real libarchive__libarchive__test_read_format_iso_rockridge_ce_loop.iso iso9660
	survive_all other-real
}

@test "a guest kernel that loops for ever is killed after --timeout" {
	local src=$REAL/fkie-cad__fact_extractor__generic_fs.jfs.img.xz
	local at=$((0x1c4f1))
	[ -f "$src" ] || skip "no $src"
	xz -dc "$src" > "$OUT/loop.img"
	# the root directory's dtree, in its inode, says it holds 129
	# entries, not 1: jfs_readdir (6.1) says "dtree page corrupt" and
	# tries again, for ever
	[ "$(od -An -tx1 -j $at -N1 "$OUT/loop.img")" = " 01" ]
	printf '\x81' | dd of="$OUT/loop.img" bs=1 seek=$at conv=notrunc status=none
	SECONDS=0
	run --separate-stderr timeout $LIMIT "$QM" tar --timeout 10 \
		"$OUT/loop.img" -o "$OUT/loop.tar"
	echo "# looping guest: ended after $SECONDS s: $stderr" >&3
	fails_cleanly "$OUT/loop.img: /: the guest gave no reply in 10 s (killed)" \
		"dtree page corrupt"
	[ "$SECONDS" -lt 30 ]
	[ ! -e "$OUT/loop.tar" ]
}

# names_file: the last run failed cleanly with the crash, at dir/file.
# The walk reads ahead: if the guest died with requests of several
# entries unanswered, it may have been at any of them, and the line
# names them all ("A (or B, C, read at the same time)"), in walk order.
names_file() {
	local where=${stderr#*panic-read.img: }
	fails_cleanly "$crashed"
	where=${where%%: the guest kernel crashed*}
	[[ $where =~ (^|\ )dir/file($|,|\ ) ]] ||
		{ echo "dir/file not named in '$where'" >&2; return 1; }
	[[ $where = dir/file || $where = *", read at the same time)" ]]
}

@test "a guest kernel panic is named, while mounting and while reading" {
	# ext2 that tells the kernel to panic on an error it finds
	# (tune2fs -e panic): the root inode cleared, found at mount; a
	# file's block pointer past the end, found when it is read
	corrupt panic-mount ext2 "clri <2>"
	corrupt panic-read ext2 "sif /dir/file block[0] 99999999"
	tune2fs -e panic "$OUT/panic-mount.img" > /dev/null
	tune2fs -e panic "$OUT/panic-read.img" > /dev/null
	local crashed="the guest kernel crashed (Kernel panic - not syncing: EXT4-fs (device vda): panic forced after error)"
	run --separate-stderr timeout $LIMIT "$QM" tar "$OUT/panic-mount.img" \
		-o "$OUT/p.tar"
	echo "# $stderr" >&3
	fails_cleanly "panic-mount.img: the " " guest did not answer: $crashed"
	run --separate-stderr timeout $LIMIT "$QM" tar "$OUT/panic-read.img" \
		-o "$OUT/p.tar"
	echo "# $stderr" >&3
	names_file
	[ ! -e "$OUT/p.tar" ]
	# the same for ls and cat
	run --separate-stderr timeout $LIMIT "$QM" ls -R "$OUT/panic-read.img"
	names_file
	run --separate-stderr timeout $LIMIT "$QM" cat "$OUT/panic-read.img" \
		dir/file
	fails_cleanly "panic-read.img: dir/file: $crashed"
}

@test "a directory the kernel could not read: its error, not a short archive" {
	# cut at 128 KiB, the FAT image still mounts; its root directory's
	# blocks are past the end, and FAT ends a directory it cannot read
	# as if it were complete (readdir gives nothing, no error): only
	# the kernel's log says so
	head -c 128K "$(image_of vfat)" > "$OUT/cut.img"
	local said="cut.img: the guest kernel logged errors while serving it: FAT-fs (vda): Directory bread"
	run --separate-stderr timeout $LIMIT "$QM" tar "$OUT/cut.img" -o "$OUT/cut.tar"
	echo "# $stderr" >&3
	fails_cleanly "$said"
	[ ! -e "$OUT/cut.tar" ]
	run --separate-stderr timeout $LIMIT "$QM" ls -R "$OUT/cut.img"
	fails_cleanly "$said"
}

@test "summary of every family" {
	[ -s "$BATS_FILE_TMPDIR/rows" ] || skip "no family ran"
	local f
	header >&3
	for f in $(cut -f1 "$BATS_FILE_TMPDIR/rows" | uniq); do
		grep "^$f	" "$BATS_FILE_TMPDIR/rows" | cut -f2- > "$OUT/f"
		summary "$f" "$OUT/f" >&3
	done
	cut -f2- "$BATS_FILE_TMPDIR/rows" > "$OUT/all"
	summary all "$OUT/all" >&3
	images_unchanged
}
