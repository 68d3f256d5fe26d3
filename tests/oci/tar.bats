#!/usr/bin/env bats
# tar.bats - the qemount/tar image (make oci) run as its users run it:
# podman run -i --rm qemount/tar < disk.img > disk.tar, no network, no
# /dev/kvm, no privileges; the archive read back by bsdtar
# (tests/e2e/check-archive) against the testdata manifests.

load helpers

bats_require_minimum_version 1.5.0

# tar_stdin FS [ARG...]: the FS test image on standard input, the archive
# on standard output into $OUT/a; exit 0 (and, with no ARG, nothing on
# stderr: zip warns of what it cannot hold)
tar_stdin() {
	local fs=$1
	shift
	run --separate-stderr qm_run_io "$IMAGES/$fs.img" "$OUT/a" \
		-i qemount/tar "$@"
	[ "$status" -eq 0 ] || { echo "status $status: $stderr" >&2; return 1; }
	[ $# -gt 0 ] || [ -z "$stderr" ] || { echo "stderr: $stderr" >&2; return 1; }
}

@test "ext4 on standard input: the archive matches the manifest" {
	tar_stdin ext4
	"$CHECK" "$OUT/a" "$IMAGES/ext4.mtree"
}

@test "vfat on standard input: the archive matches the manifest" {
	tar_stdin vfat
	"$CHECK" "$OUT/a" "$IMAGES/vfat.mtree"
}

@test "arguments pass through: --format zip" {
	tar_stdin ext4 --format zip
	[ "$(head -c 2 "$OUT/a")" = "PK" ]
	"$CHECK" "$OUT/a" "$IMAGES/ext4.zip.mtree"
}

@test "arguments pass through: an IMAGE path in a volume, -o in another" {
	chmod 1777 "$OUT"	# the user inside writes there
	run --separate-stderr qm_run -v "$IMAGES:/in:ro" -v "$OUT:/out" \
		qemount/tar --compress zstd -o /out/a.tar.zst /in/ext4.img
	[ "$status" -eq 0 ] || { echo "status $status: $stderr" >&2; return 1; }
	zstd -t -q "$OUT/a.tar.zst"
	"$CHECK" "$OUT/a.tar.zst" "$IMAGES/ext4.mtree"
}

@test "without -i: one line says to pass -i, exit 1, no output" {
	run --separate-stderr qm_run qemount/tar
	fails_cleanly "standard input is empty" "pass -i"
	[ -z "$output" ]
}

@test "the user inside is not root" {
	run qm_run --entrypoint id qemount/tar -u
	[ "$status" -eq 0 ]
	[ "$output" -ne 0 ]
	run qm_run --entrypoint id qemount/tar -G
	[ "$status" -eq 0 ]
	[[ " $output " != *" 0 "* ]]
}

@test "labels: version, source, title and the guest's filesystems" {
	local l
	for l in org.opencontainers.image.version org.opencontainers.image.source \
		 org.opencontainers.image.title org.opencontainers.image.description; do
		[ -n "$(podman image inspect --format "{{index .Labels \"$l\"}}" qemount/tar)" ] ||
			{ echo "qemount/tar: no label $l" >&2; return 1; }
	done
	run podman image inspect --format '{{index .Labels "org.qemount.filesystems.read"}}' \
		qemount/guest-linux-6.1
	[[ ",$output," == *,ext4,* && ",$output," == *,vfat,* ]]
	run podman image inspect --format '{{index .Labels "org.qemount.filesystems.write"}}' \
		qemount/tar
	[[ ",$output," == *,ext4,* && ",$output," != *,iso9660,* ]]
}

@test "stopped mid-run (SIGTERM): it ends at once and leaves no qemu" {
	local name=qm-oci-$MARK pid i
	qm_run -i --name "$name" qemount/tar < "$IMAGES/ext4.img" \
		> /dev/null 2>&1 &
	pid=$!
	# until its qemu runs (it is marked), then stop the container
	for ((i = 0; i < 600; i++)); do
		marked | grep -q qemu-system && break
		sleep 0.1
	done
	marked | grep -q qemu-system || { echo "qemu never started" >&2; return 1; }
	SECONDS=0
	podman stop --time 30 "$name" > /dev/null
	wait "$pid" || :
	[ "$SECONDS" -lt 10 ] || { echo "took $SECONDS s to stop" >&2; return 1; }
	# teardown checks that no marked process is left
}
