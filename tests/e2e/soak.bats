#!/usr/bin/env bats
# soak.bats - a short tests/soak/soak (make soak runs 200): qemount tar
# runs four at a time over a mix of the testdata images and formats, each
# output against its manifest; a qemount mount session's fds the same
# after many reads; then no qemu, temp file or fd left.

load helpers

bats_require_minimum_version 1.5.0

@test "24 tar runs, 4 at a time: every output matches; nothing left behind" {
	run timeout 600 "$TOP/tests/soak/soak" -n 24 -j 4 -r 500
	echo "# ${lines[-1]}" >&3
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
}
