#!/usr/bin/env bats
# guests.bats - qemount guests and tests/verified.txt, which it prints:
# every line names a test that exists and a filesystem its guest's
# manifest lists; README's tables claim no more than it shows.  And
# qemount probe on every test image and disk, with no guest.

load helpers

bats_require_minimum_version 1.5.0

VERIFIED=$TOP/tests/verified.txt

@test "verified.txt: each line's test exists, its filesystem is in the guest's manifest" {
	local g fs mode file test bad= n=0
	while read -r g fs mode file test; do
		case $g in ''|'#'*) continue ;; esac
		n=$((n + 1))
		[ "$mode" = read ] || [ "$mode" = write ] || bad="$bad $g/$fs:mode"
		grep -qE "^$fs[[:space:]]" "$TOP/guests/$g/manifest" || bad="$bad $g/$fs:manifest"
		grep -qF "@test \"$test\"" "$TOP/tests/e2e/$file" || bad="$bad $g/$fs:test"
	done < "$VERIFIED"
	echo "# $n lines" >&3
	[ -z "$bad" ] || { echo "bad:$bad" >&2; return 1; }
}

@test "README's verified table is what tests/verified-table writes" {
	diff <(sed -n '/<!-- verified-table begin -->/,/<!-- verified-table end -->/p' \
		"$TOP/README.md" | sed '1d;$d') <("$TOP/tests/verified-table")
}

@test "README's filesystem table: every row that says yes has a test in verified.txt" {
	local row name bad=
	while IFS='|' read -r _ row read _; do
		[[ $read == " yes"* ]] || continue
		name=$(echo "$row" | sed 's/^ *//; s/[:(].*//; s/ *$//' | tr 'A-Z' 'a-z')
		awk -v fs="$name" '!/^#/ && $2 == fs { f = 1 } END { exit !f }' \
			"$VERIFIED" || bad="$bad $name"
	done < <(sed -n '/^| filesystem | read |/,/^$/p' "$TOP/README.md")
	[ -z "$bad" ] || { echo "claimed, no test:$bad" >&2; return 1; }
}

@test "qemount guests: each guest, each filesystem, the test that shows it" {
	run --separate-stderr "$QM" guests
	[ "$status" -eq 0 ]
	[[ $output == *"linux-6.1-lean (priority 10, -M microvm,acpi=off)"* ]]
	[[ $output == *"linux-6.1 (priority 0, -M microvm)"* ]]
	[[ $output == *"  ext3      rw  read: fs.bats: ext3  write: untested"* ]]
	[[ $output == *"  bfs       rw  read: untested  write: untested"* ]]
	# as many verified reads as verified.txt has lines
	[ "$(grep -c 'read: [a-z]*\.bats' <<< "$output")" -eq \
	  "$(grep -cE '^[a-z].* read ' "$VERIFIED")" ]
}

@test "qemount guests --json: one object, the same rows" {
	run --separate-stderr "$QM" guests --json
	[ "$status" -eq 0 ]
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
g = {x["name"]: x for x in d["guests"]}
fs = {f["name"]: f for f in g["linux-6.1"]["filesystems"]}
assert fs["ntfs"]["driver"] == "rw", fs["ntfs"]
assert fs["ntfs"]["read"]["file"] == "tests/e2e/fs.bats", fs["ntfs"]
assert fs["bfs"]["read"] is None and fs["bfs"]["write"] is None
assert g["linux-6.1-lean"]["priority"] == 10
' "$output"
}

@test "probe: every test image's filesystem, with no guest" {
	local f want got bad=
	for f in "$IMAGES"/*.img "$IMAGES"/*.iso; do
		case ${f##*/} in
		disk-*) continue ;;
		fat*|vfat*) want=vfat ;;
		squashfs-*) want=squashfs ;;
		ufs1.img) want=ufs ;;
		iso9660.iso) want=iso9660 ;;
		*) want=${f##*/}; want=${want%.img} ;;
		esac
		got=$("$QM" probe --json "$f" | python3 -c \
			'import json,sys; print(json.load(sys.stdin)["filesystem"]["type"])')
		[ "$got" = "$want" ] || bad="$bad ${f##*/}:$got"
	done
	[ -z "$bad" ] || { echo "wrong:$bad" >&2; return 1; }
}

@test "probe: the partitioned disks, each partition's number and filesystem" {
	local t got
	for t in mbr gpt mac amiga atari bsd; do
		got=$("$QM" probe --json "$IMAGES/disk-$t.img" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["table"]["type"], " ".join("%d:%s" % (p["number"],
      "-" if p["container"] else (p["filesystem"] or {"type": "none"})["type"])
      for p in d["table"]["partitions"]))')
		case $t in
		mbr) [ "$got" = "dos 1:vfat 2:- 5:romfs 6:squashfs" ] ;;
		gpt) [ "$got" = "gpt 1:vfat 2:romfs 3:squashfs" ] ;;
		mac) [ "$got" = "mac 1:- 2:vfat 3:romfs 4:- 5:-" ] ;;
		*) [ "$got" = "$t 1:vfat 2:romfs" ] ;;
		esac || { echo "$t: $got" >&2; return 1; }
	done
}

@test "probe: text form of a disk, names and labels" {
	run --separate-stderr "$QM" probe "$IMAGES/disk-gpt.img"
	[ "$status" -eq 0 ]
	[[ $output == *"table       gpt, id "* ]]
	[[ $output == *'partition 3  at 26 MiB, 1 MiB, type 0fc63daf-8483-4772-8e79-3d69d8477de4, name "data": squashfs, version 4.0 (libblkid)'* ]]
	[[ $output == *'partition 2  at 17 MiB, 9 MiB, type '*', name "rom": romfs, label "qm-romfs" (libblkid)'* ]]
}

@test "probe --scan: filesystems inside a firmware-like blob, at their offsets" {
	head -c 100000 /dev/urandom > "$OUT/fw.bin"
	cat "$IMAGES/squashfs-xz.img" >> "$OUT/fw.bin"	# at 100000, unaligned
	truncate -s 131072 "$OUT/fw.bin"
	cat "$IMAGES/jffs2.img" >> "$OUT/fw.bin"
	run --separate-stderr "$QM" probe --scan --json "$OUT/fw.bin"
	[ "$status" -eq 0 ]
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
hits = [(h["offset"], h["filesystem"]["type"]) for h in d["scan"]]
assert hits == [(100000, "squashfs"), (131072, "jffs2")], hits
assert d["filesystem"] is None and d["table"] is None
' "$output"
}

@test "probe: own probes for JFFS2 and Amiga, through a gzip too" {
	run --separate-stderr "$QM" probe "$IMAGES/jffs2.img"
	[[ $output == *"filesystem  jffs2, version little-endian (qemount)"* ]]
	{ printf 'DOS\001'; head -c 901116 /dev/zero; } | gzip > "$OUT/floppy.adf.gz"
	run --separate-stderr "$QM" probe --json "$OUT/floppy.adf.gz"
	[ "$status" -eq 0 ]
	[[ $output == *'"form":"gzip-compressed raw"'* ]]
	[[ $output == *'"filesystem":{"type":"affs","label":"","uuid":"","version":"FFS","usage":"filesystem","by":"qemount"}'* ]]
}

@test "probe of an unknown image: one line listing what was seen, exit 1" {
	head -c 1048576 /dev/urandom > "$OUT/junk.img"
	run --separate-stderr "$QM" probe "$OUT/junk.img"
	fails_cleanly "junk.img: no filesystem recognised (raw, 1 MiB, no partition table)"
	run --separate-stderr "$QM" tar "$OUT/junk.img" -o "$OUT/a.tar"
	fails_cleanly "junk.img: no filesystem recognised (raw, 1 MiB, no partition table; name one with --fs)"
}

@test "probe and guests: usage errors exit 2" {
	run "$QM" probe
	[ "$status" -eq 2 ]
	run "$QM" probe --fs ext4 x
	[ "$status" -eq 2 ]
	run "$QM" guests extra
	[ "$status" -eq 2 ]
}

@test "after all of the above, every input image has its old sha256" {
	images_unchanged
}
