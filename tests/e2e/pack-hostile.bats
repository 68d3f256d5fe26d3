#!/usr/bin/env bats
# pack-hostile.bats - qemount pack on archives made to leave the image or
# to confuse it (tests/e2e/hostile-archive writes them): ".." and
# absolute names, writes through symlinks that point out of the tree,
# hardlinks out of the tree or ahead of their target, devices, names
# that normalise ("a//b", "./c", a trailing "/"), an empty name, a
# 300-byte name, many entries, a 10 GiB sparse file.  Every entry lands
# inside the image or is refused with a warning naming it; --strict makes
# a refusal an error.  A canary in /tmp and one next to OUT, which the
# archive's links aim at, stay untouched, and nothing outside OUT is
# written.  The image passes its own fsck and reads back through
# qemount tar (tests/e2e/check-archive: bsdtar against a manifest).

load helpers

bats_require_minimum_version 1.5.0

HOSTILE=$BATS_TEST_DIRNAME/hostile-archive
# many entries: 100000 is the issue's number (about 6 min to pack and 4
# to read back under TCG); the suite packs fewer
MANY=${PACK_HOSTILE_ENTRIES:-10000}
# a 100-byte name
m=$(printf 'm%.0s' {1..100})

# canaries: FAR in /tmp, NEAR next to OUT (both in $HOST, which holds
# nothing else), each holding a file; a marker to find what a run wrote.
# pack runs from $RUN, so "../../canary" from there is NEAR.
canaries() {
	FAR=/tmp/qemount-canary-$$
	HOST=$BATS_TEST_TMPDIR/host
	NEAR=$HOST/canary
	OUT=$HOST/out
	RUN=$OUT/run
	mkdir -p "$FAR" "$NEAR" "$RUN"
	echo canary > "$FAR/file"
	echo canary > "$NEAR/file"
	touch -d @1700000000 "$FAR/file" "$NEAR/file" "$FAR" "$NEAR"
	touch "$OUT/.marker"
	cd "$RUN"
}

# the canaries as they were, and nothing in $HOST but OUT or in FAR
# newer than the marker
canaries_untouched() {
	local d
	for d in "$FAR" "$NEAR"; do
		[ "$(ls -A "$d")" = file ] || { echo "$d: $(ls -A "$d")" >&2; return 1; }
		[ "$(cat "$d/file")" = canary ] || { echo "$d/file changed" >&2; return 1; }
		[ "$(stat -c %Y "$d/file")" = 1700000000 ] ||
			{ echo "$d/file touched" >&2; return 1; }
	done
	run find "$HOST" "$FAR" -newer "$OUT/.marker" \
		-not -path "$OUT" -not -path "$OUT/*"
	[ -z "$output" ] || { echo "written outside OUT: $output" >&2; return 1; }
}

teardown_more() {
	local e=0
	if [ -n "${FAR:-}" ]; then
		canaries_untouched || e=1
		rm -rf "$FAR"
	fi
	return $e
}

# packs FS ARCHIVE IMG [OPTION...]: pack, stderr to IMG.warn; ok or fail
packs() {
	local fs=$1 ar=$2 img=$3
	shift 3
	run --separate-stderr timeout $LIMIT "$QM" pack --fs "$fs" "$@" "$ar" "$img"
	printf '%s\n' "$stderr" > "$img.warn"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	[[ ${stderr_lines[-1]} == "qemount pack: $img: $fs, "* ]]
}

# reads_back IMG MANIFEST: qemount tar of IMG against MANIFEST (mtree
# text on standard input)
reads_back() {
	cat > "$1.mtree"
	run --separate-stderr timeout $LIMIT "$QM" tar "$1" -o "$1.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	"$CHECK" "$1.tar" "$1.mtree"
}

# the warnings of IMG's pack, without the "qemount: warning: ARCHIVE: "
warnings_of() {
	grep "^qemount: warning: " "$1.warn" | sed "s|^qemount: warning: $2: ||"
}

sha_of() {
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

@test "ext4: each hostile entry lands inside or is warned; devices are nodes; e2fsck clean; host untouched" {
	canaries
	"$HOSTILE" entries "$OUT/h.tar" "$FAR" ../../canary
	packs ext4 "$OUT/h.tar" "$OUT/h.img"
	canaries_untouched
	# every refusal, and nothing else, in archive order
	local n300 deep
	n300=$(printf 'n%.0s' {1..300})
	deep=$(printf 'p/%.0s' {1..2100})deep
	diff -u - <(warnings_of "$OUT/h.img" "$OUT/h.tar") <<-EOF
	../escape.txt: a ".." component would leave the image: skipped
	a/../../escape2.txt: a ".." component would leave the image: skipped
	/abs.txt: leading "/" removed
	/../abs-up.txt: a ".." component would leave the image: skipped
	far/file: not stored: Not a directory
	near/file: not stored: Not a directory
	near/sub/file: its directory could not be made: Not a directory
	hard-out: hardlink to "../../canary/file": a ".." component would leave the image: skipped
	hard-abs: hardlink not stored: No such file or directory
	hard-via: hardlink not stored: Not a directory
	hard-early: hardlink not stored: No such file or directory
	trail.txt/: what follows it is damaged (Damaged tar archive): skipped to the next header
	"": no name: skipped
	.: no name: skipped
	$n300: not stored: File name too long
	$deep: name too long or too deep: skipped
	x: not stored: Is a directory
	y/: directory not stored: File exists
	EOF
	e2fsck -fn "$OUT/h.img"
	reads_back "$OUT/h.img" <<-EOF
	#ignore lost+found
	abs.txt type=file size=3
	far type=link link=$FAR
	near type=link link=../../canary
	repl type=file sha256=$(sha_of "replaced the link")
	later.txt type=file size=5
	ok.txt type=file sha256=$(sha_of fine)
	hard-ok type=file sha256=$(sha_of fine)
	self type=file sha256=$(sha_of self)
	dev type=dir
	dev/null type=char device=native,1,3
	dev/vda type=block device=native,254,0
	dev/fifo type=fifo
	a type=dir
	a/b.txt type=file sha256=$(sha_of ab)
	c.txt type=file size=1
	d type=dir
	d/e.txt type=file size=2
	trail.txt type=dir
	$m type=dir
	$m/$m type=dir
	$m/$m/$m type=file sha256=$(sha_of "long path")
	new\\012line type=file size=2
	x type=dir
	y type=file sha256=$(sha_of file)
	z type=dir
	z/in type=file size=4
	top type=file sha256=$(sha_of "at the root")
	EOF
	# one file, two names
	bsdtar -tvf "$OUT/h.img.tar" | grep -Eq ' (hard-ok link to ok.txt|ok.txt link to hard-ok)$'
}

@test "vfat: the same archive; what FAT cannot hold warned, one line each; fsck.fat clean" {
	canaries
	"$HOSTILE" entries "$OUT/h.tar" "$FAR" ../../canary
	packs vfat "$OUT/h.tar" "$OUT/h.img"
	canaries_untouched
	warnings_of "$OUT/h.img" "$OUT/h.tar" > "$OUT/w"
	grep -qxF "far: symlink not stored: Operation not permitted" "$OUT/w"
	grep -qxF "hard-ok: hardlink not stored: Operation not permitted" "$OUT/w"
	grep -qxF "dev/null: special file not stored: Operation not permitted" "$OUT/w"
	grep -qxF "dev/vda: special file not stored: Operation not permitted" "$OUT/w"
	grep -qxF "dev/fifo: special file not stored: Operation not permitted" "$OUT/w"
	# a newline in a name is shown escaped: no line of its own
	grep -qxF 'new\012line: not stored: Invalid argument' "$OUT/w"
	[ "$(grep -vc '^qemount' "$OUT/h.img.warn")" -eq 0 ]
	fsck.fat -n "$OUT/h.img"
	# no symlink stopped them: far and near are plain directories here
	reads_back "$OUT/h.img" <<-EOF
	abs.txt type=file
	far type=dir
	far/file type=file
	near type=dir
	near/file type=file
	near/sub type=dir
	near/sub/file type=file
	repl type=file sha256=$(sha_of "replaced the link")
	later.txt type=file
	ok.txt type=file
	self type=file
	dev type=dir
	a type=dir
	a/b.txt type=file
	c.txt type=file
	d type=dir
	d/e.txt type=file
	trail.txt type=dir
	$m type=dir
	$m/$m type=dir
	$m/$m/$m type=file
	x type=dir
	y type=file
	z type=dir
	z/in type=file
	top type=file
	EOF
}

@test "--strict: the hostile archive is an error, nothing at OUT; a leading / alone is no loss" {
	canaries
	"$HOSTILE" entries "$OUT/h.tar" "$FAR" ../../canary
	run --separate-stderr timeout $LIMIT "$QM" pack --strict --fs ext4 \
		"$OUT/h.tar" "$OUT/s.img"
	[ "$status" -eq 1 ]
	[[ ${stderr_lines[-1]} == "qemount: $OUT/s.img: --strict: ext4 cannot hold all of $OUT/h.tar (see the warnings)" ]]
	[ ! -e "$OUT/s.img" ]
	"$HOSTILE" strict "$OUT/a.tar"
	packs ext4 "$OUT/a.tar" "$OUT/a.img" --strict
	reads_back "$OUT/a.img" <<-EOF
	#ignore lost+found
	abs.txt type=file size=3
	ok.txt type=file size=4
	EOF
}

@test "a 10 GiB sparse file: a small ext4 image holds it sparse, in seconds; vfat refuses it by name" {
	canaries
	mkdir "$OUT/sp"
	printf head > "$OUT/sp/big"
	truncate -s 10G "$OUT/sp/big"
	printf tail >> "$OUT/sp/big"
	bsdtar -cf "$OUT/sparse.tar" --format pax -C "$OUT/sp" big
	[ "$(stat -c %s "$OUT/sparse.tar")" -lt 65536 ] ||
		skip "bsdtar did not store the file sparse (no SEEK_HOLE here?)"
	local t0=$SECONDS
	packs ext4 "$OUT/sparse.tar" "$OUT/sp.img"
	echo "# 10 GiB sparse file packed in $((SECONDS - t0)) s" >&3
	[ $((SECONDS - t0)) -lt 60 ]
	# sized for the data, not the holes; sparse on the host too
	[ "$(stat -c %s "$OUT/sp.img")" -le $((64 << 20)) ]
	[ "$(du -k "$OUT/sp.img" | cut -f1)" -le $((64 << 10)) ]
	e2fsck -fn "$OUT/sp.img"
	debugfs -R "stat /big" "$OUT/sp.img" 2>/dev/null | grep -q 'Size: 10737418244$'
	[ "$(debugfs -R "blocks /big" "$OUT/sp.img" 2>/dev/null | wc -w)" -le 8 ]
	local bs
	bs=$(dumpe2fs -h "$OUT/sp.img" 2>/dev/null | awk '/^Block size:/ { print $3 }')
	debugfs -R "bd -f /big 0" "$OUT/sp.img" 2>/dev/null | grep -q 'head'
	debugfs -R "bd -f /big $(((10 << 30) / bs))" "$OUT/sp.img" 2>/dev/null | grep -q 'tail'
	# what qemount reads back (not the data: 10 GiB of holes take minutes)
	run --separate-stderr timeout $LIMIT "$QM" ls -l "$OUT/sp.img"
	[ "$status" -eq 0 ]
	[[ $output == *" 10737418244 "*big* ]]
	# FAT holds files below 4 GiB: that file is a warning naming it
	packs vfat "$OUT/sparse.tar" "$OUT/spv.img" --size 64M
	grep -qxF "big: not stored: File too large" \
		<(warnings_of "$OUT/spv.img" "$OUT/sparse.tar")
	fsck.fat -n "$OUT/spv.img"
	run --separate-stderr timeout $LIMIT "$QM" pack --strict --fs vfat \
		--size 64M "$OUT/sparse.tar" "$OUT/spv2.img"
	[ "$status" -eq 1 ]
	[ ! -e "$OUT/spv2.img" ]
}

@test "many entries (PACK_HOSTILE_ENTRIES, default 10000): all land, e2fsck clean; timing reported" {
	local t0 t1 t2 limit=$((LIMIT + MANY / 100))
	"$HOSTILE" many "$OUT/many.tar" "$MANY"
	t0=$SECONDS
	run --separate-stderr timeout $limit "$QM" pack --fs ext4 "$OUT/many.tar" "$OUT/m.img"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
	t1=$SECONDS
	e2fsck -fn "$OUT/m.img"
	run --separate-stderr timeout $limit "$QM" tar "$OUT/m.img" -o "$OUT/m.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; false; }
	t2=$SECONDS
	echo "# $MANY entries: pack $((t1 - t0)) s, tar $((t2 - t1)) s" >&3
	{ echo "#ignore lost+found"
	  bsdtar -cf - --format=mtree --options='!all,!use-set,type,size,sha256' \
		@"$OUT/many.tar"; } > "$OUT/m.mtree"
	"$CHECK" "$OUT/m.tar" "$OUT/m.mtree"
}
