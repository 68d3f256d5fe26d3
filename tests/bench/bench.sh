#!/bin/bash
# bench.sh - qemount tar against what a user would run instead, measured
# side by side in the same run with hyperfine (min / median of N runs),
# and printed as ratios (absolute seconds on a shared machine mean little).
#
#   tests/bench/bench.sh [RESULTS.md]      (make bench runs it)
#
# Compared, per image:
#   guestfish --ro -a IMG -m /dev/sda tar-out / -  (libguestfs, TCG: it
#     is what virt-tar-out does, minus its insistence on an installed OS)
#   the no-VM reader that bounds what is possible: debugfs rdump + bsdtar
#     (ext4), mcopy -s + bsdtar (vfat), bsdtar @iso (iso9660)
# Images: the small testdata images and, built here once (cached in
# build/bench/), a 1 GiB ext4/vfat/iso9660 image with one 512 MiB file and
# 20 000 small files.  Also: large-file throughput against
# `cat IMG > /dev/null`, the small-file rate, and peak RSS of the tool
# and of qemu.
#
# And qemount pack --fs ext4 against mke2fs -d (no VM: the lower bound)
# and virt-make-fs (libguestfs, the peer), on the template tree and on a
# 200 MiB tree of 10 000 small files.
#
# Environment: RUNS (default 5), GF_RUNS (guestfish and virt-make-fs,
# default 3), BENCH_LARGE=0 to skip the 1 GiB images and the 200 MiB tree,
# BENCH_PACK_ONLY=1 for the pack comparisons only, PACK_BASE=QEMOUNT
# (another build's binary, say of main) to time its pack in the same
# hyperfine runs, as a baseline.
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
out=${1:-build/bench/RESULTS.md}
runs=${RUNS:-5}
gf_runs=${GF_RUNS:-3}
work=build/bench
qm=build/bin/qemount
mkdir -p "$work"
export LIBGUESTFS_BACKEND=direct LIBGUESTFS_BACKEND_SETTINGS=force_tcg

need() {
	command -v "$1" >/dev/null ||
		{ echo "bench: $1 missing (apt-get install $2)" >&2; exit 1; }
}
need hyperfine hyperfine
need guestfish libguestfs-tools
need virt-make-fs libguestfs-tools
need debugfs e2fsprogs
need mcopy mtools
need bsdtar libarchive-tools
need xorriso xorriso

make -s all
make -s -C testdata

# ---- the large images -----------------------------------------------
# small_files DIR COUNT PER_DIR MIN SPREAD STEP: COUNT files of random
# bytes, PER_DIR to a directory, file i MIN + (i * STEP) % SPREAD bytes
small_files() {
	python3 - "$@" <<'EOF'
import os, sys
base, count, per_dir, low, spread, step = sys.argv[1], *map(int, sys.argv[2:])
for i in range(count):
    sub = os.path.join(base, "d%03d" % (i // per_dir))
    os.makedirs(sub, exist_ok=True)
    with open(os.path.join(sub, "f%05d.bin" % i), "wb") as f:
        f.write(os.urandom(low + (i * step) % spread))
EOF
}

large_tree() {	# one 512 MiB file, 20 000 of 64 B to 4 KiB
	local d=$work/large-tree
	[ -e "$d.done" ] && return
	rm -rf "$d" && mkdir -p "$d/small"
	head -c $((512 << 20)) /dev/urandom > "$d/large.bin"
	small_files "$d/small" 20000 200 64 4000 1
	touch "$d.done"
}

large_images() {
	large_tree
	[ -e "$work/large-ext4.img" ] ||
		mke2fs -q -t ext4 -d "$work/large-tree" "$work/large-ext4.img" 1G
	if [ ! -e "$work/large-vfat.img" ]; then
		truncate -s 1G "$work/large-vfat.img.tmp"
		mkfs.vfat -F 32 -n LARGE "$work/large-vfat.img.tmp" >/dev/null
		MTOOLS_SKIP_CHECK=1 mcopy -s -i "$work/large-vfat.img.tmp" \
			"$work/large-tree"/* ::/
		mv "$work/large-vfat.img.tmp" "$work/large-vfat.img"
	fi
	[ -e "$work/large-iso9660.iso" ] ||
		xorriso -as mkisofs -quiet -R -J -o "$work/large-iso9660.iso" \
			"$work/large-tree" 2>/dev/null
	# the large image's two halves apart: its one file, its small ones
	if [ ! -e "$work/onefile-ext4.img" ]; then
		mkdir -p "$work/onefile-tree"
		ln -f "$work/large-tree/large.bin" "$work/onefile-tree/"
		mke2fs -q -t ext4 -d "$work/onefile-tree" \
			"$work/onefile-ext4.img" 640M
	fi
	[ -e "$work/smallfiles-ext4.img" ] ||
		mke2fs -q -t ext4 -d "$work/large-tree/small" \
			"$work/smallfiles-ext4.img" 256M
}

# ---- one comparison: hyperfine, then medians ------------------------
# compare NAME IMG FS: qemount vs guestfish vs the no-VM reader
declare -a rows

median() {	# median of hyperfine JSON result N
	python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]; print(r['median'])" "$1" "$2"
}

noVM_cmd() {
	local img=$1 fs=$2 d=$work/extract
	case $fs in
	ext4) echo "rm -rf $d && mkdir $d && debugfs -R 'rdump / $d' $img 2>/dev/null && bsdtar -cf - -C $d . >/dev/null" ;;
	vfat) echo "rm -rf $d && mkdir $d && MTOOLS_SKIP_CHECK=1 mcopy -s -n -i $img '::/*' $d && bsdtar -cf - -C $d . >/dev/null" ;;
	iso9660) echo "bsdtar -cf - @$img >/dev/null" ;;
	esac
}

compare() {
	local name=$1 img=$2 fs=$3 json=$work/$1.json gjson=$work/$1-gf.json
	hyperfine -N --warmup 1 --runs "$runs" --export-json "$json" \
		-n qemount "$qm tar $img" \
		-n noVM "bash -c \"$(noVM_cmd "$img" "$fs")\"" >&2
	hyperfine --warmup 0 --runs "$gf_runs" --export-json "$gjson" \
		-n guestfish "guestfish --ro -a $img -m /dev/sda tar-out / /dev/null" >&2
	local q n g
	q=$(median "$json" 0)
	n=$(median "$json" 1)
	g=$(median "$gjson" 0)
	rows+=("$(printf '| %s | %.2f | %.2f | %.2f | %.1f× | %.2f× |' \
		"$name" "$q" "$g" "$n" "$(echo "$g / $q" | bc -l)" \
		"$(echo "$q / $n" | bc -l)")")
}

# ---- pack: archive -> ext4 image ----------------------------------------
declare -a prows

pack_tree() {	# 200 MiB in 10 000 files of 4-36 KiB, 100 directories
	local d=$work/pack-tree
	[ -e "$d.done" ] && return
	rm -rf "$d" && mkdir -p "$d"
	small_files "$d" 10000 100 4096 32768 7919
	touch "$d.done"
}

# pack_compare NAME TREE: the tree as a tar, then each tool makes an ext4
# image of it (mke2fs -d and virt-make-fs are given the size pack chose)
pack_compare() {
	local name=$1 tree=$2 tar=$work/$1.tar json=$work/$1.json
	local gjson=$work/$1-vmf.json size
	bsdtar -cf "$tar" --format pax -C "$tree" .
	$qm pack --fs ext4 "$tar" "$work/pack.img" 2>/dev/null
	size=$(stat -c %s "$work/pack.img")
	hyperfine -N --warmup 1 --runs "$runs" --export-json "$json" \
		-n pack "$qm pack --fs ext4 $tar $work/pack.img" \
		-n mke2fs "bash -c 'rm -f $work/m.img && mke2fs -q -t ext4 -d $tree $work/m.img $((size / 1024))'" \
		${PACK_BASE:+-n base "$PACK_BASE pack --fs ext4 $tar $work/b.img"} >&2
	hyperfine --warmup 0 --runs "$gf_runs" --export-json "$gjson" \
		-n virt-make-fs "virt-make-fs --type=ext4 --size=$size $tar $work/v.img" >&2
	local q m v b
	q=$(median "$json" 0)
	m=$(median "$json" 1)
	v=$(median "$gjson" 0)
	prows+=("$(printf '| %s | %.2f | %.2f | %.2f | %.2f× | %.1f× |' \
		"$name" "$q" "$m" "$v" "$(echo "$q / $m" | bc -l)" \
		"$(echo "$v / $q" | bc -l)")")
	[ -n "${PACK_BASE:-}" ] && b=$(median "$json" 2) &&
		prows[-1]+="$(printf ' %.2f | %.2f× |' "$b" "$(echo "$b / $q" | bc -l)")"
	true
}

pack_table() {
	echo "| tree -> ext4 | qemount pack s | mke2fs -d s | virt-make-fs s | pack / mke2fs | pack vs virt-make-fs |${PACK_BASE:+ base pack s | base / pack |}"
	echo "| --- | --- | --- | --- | --- | --- |${PACK_BASE:+ --- | --- |}"
	printf '%s\n' "${prows[@]}"
}

# ---- runs -------------------------------------------------------------
pack_only=${BENCH_PACK_ONLY:-0}
if [ "$pack_only" != 1 ]; then
	for fs in ext4 vfat iso9660; do
		img=testdata/images/$fs.img
		[ $fs = iso9660 ] && img=testdata/images/iso9660.iso
		compare "small-$fs" "$img" $fs
	done
	if [ "${BENCH_LARGE:-1}" = 1 ]; then
		large_images
		compare large-ext4 "$work/large-ext4.img" ext4
		compare large-vfat "$work/large-vfat.img" vfat
		compare large-iso9660 "$work/large-iso9660.iso" iso9660
		compare one-512MiB-file-ext4 "$work/onefile-ext4.img" ext4
		compare 20000-small-files-ext4 "$work/smallfiles-ext4.img" ext4
	fi
fi

pack_compare pack-template testdata/images/stage
if [ "${BENCH_LARGE:-1}" = 1 ]; then
	pack_tree
	pack_compare pack-200MiB "$work/pack-tree"
fi
if [ "$pack_only" = 1 ]; then
	pack_table > "$out"
	cat "$out"
	exit 0
fi

# boot and phases (qemount tar -v), median of the runs; the guest's init
# says (qm.time=1) when it started and when the mount was done, by the
# kernel's clock, which splits the boot
phases=$(for i in $(seq "$runs"); do
	$qm tar -v testdata/images/ext4.img 2>&1 >/dev/null |
		grep -E '^qemount: .*boot to|^qemount-init: kernel clock' | tr '\n' ' '
	echo
done | python3 -c '
import re, statistics, sys
keys = ["open", "boot to first Rversion", "attach", "walk+stream", "shutdown",
        "init started", "mounted"]
vals = {k: [] for k in keys}
for line in sys.stdin:
    got = {}
    for k in keys:
        m = re.search(re.escape(k) + r" ([0-9.]+) s", line)
        if m:
            got[k] = float(m.group(1))
    if len(got) == len(keys):
        for k in keys:
            vals[k].append(got[k])
med = {k: statistics.median(v) for k, v in vals.items() if v}
if len(med) == len(keys):
    print("open %.3f s, boot to first Rversion %.3f s (kernel start to init "
          "%.3f s, init to mounted %.3f s, the rest: qemu start-up, PVH load, "
          "9P version %.3f s), attach %.3f s, walk+stream %.3f s, "
          "shutdown %.3f s" % (med["open"], med["boot to first Rversion"],
          med["init started"], med["mounted"] - med["init started"],
          med["boot to first Rversion"] - med["mounted"], med["attach"],
          med["walk+stream"], med["shutdown"]))')

# large-file throughput and the small-file rate, from walk+stream
stream_s() {	# qemount tar -v's walk+stream seconds on IMG
	$qm tar -v "$1" 2>&1 >/dev/null |
		sed -n 's/.*walk+stream \([0-9.]*\) s.*/\1/p'
}
throughput=""
if [ "${BENCH_LARGE:-1}" = 1 ]; then
	t=$(stream_s "$work/onefile-ext4.img")
	cat_t=$( { /usr/bin/time -f %e cat "$work/onefile-ext4.img" >/dev/null; } 2>&1 )
	st=$(stream_s "$work/smallfiles-ext4.img")
	throughput="one 512 MiB file: walk+stream $t s, $(echo "512 / $t" | bc -l | xargs printf '%.0f') MiB/s; cat of its image (640 MiB) $cat_t s, $(echo "640 / $cat_t" | bc -l | xargs printf '%.0f') MiB/s. 20 000 files of 64 B-4 KiB: walk+stream $st s, $(echo "20000 / $st" | bc -l | xargs printf '%.0f') files/s"
fi

# peak RSS of the tool and of qemu: VmHWM of each, polled while it runs
# (GNU time would report qemu's for both: a child's rusage takes in the
# children it reaped)
hwm() {
	awk '/VmHWM/{print $2}' "/proc/$1/status" 2>/dev/null || true
}

rss() {
	local img=$1 qh=0 th=0 h p pid
	$qm tar "$img" >/dev/null &
	pid=$!
	while kill -0 $pid 2>/dev/null; do
		h=$(hwm $pid)
		[ -n "$h" ] && [ "$h" -gt "$th" ] && th=$h
		p=$(pgrep -P $pid -f qemu-system | head -1 || true)
		h=${p:+$(hwm "$p")}
		[ -n "$h" ] && [ "$h" -gt "$qh" ] && qh=$h
		sleep 0.05
	done
	wait $pid
	echo "tool $((th / 1024)) MiB, qemu $((qh / 1024)) MiB"
}

{
	echo "# qemount benchmark"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/^model name.*: //p' /proc/cpuinfo | head -1); QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}'), accel ${QEMOUNT_ACCEL:-auto (KVM if its probe passes, else TCG)}; medians of $runs runs (guestfish $gf_runs)."
	echo
	echo "| image | qemount s | guestfish s | no-VM reader s | qemount vs guestfish | qemount / no-VM |"
	echo "| --- | --- | --- | --- | --- | --- |"
	printf '%s\n' "${rows[@]}"
	echo
	pack_table
	echo
	echo "Phases of qemount tar on testdata/images/ext4.img: $phases"
	echo
	[ -n "$throughput" ] && echo "Throughput: $throughput" && echo
	echo "Peak RSS, small ext4: $(rss testdata/images/ext4.img)"
	[ "${BENCH_LARGE:-1}" = 1 ] && echo "Peak RSS, large ext4: $(rss "$work/large-ext4.img")"
} > "$out"
cat "$out"
