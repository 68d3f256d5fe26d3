#!/usr/bin/env bats
# inspect.bats - qemount ls and qemount cat on the ext4 test image,
# checked against the staged tree the image was made from.

load helpers

bats_require_minimum_version 1.5.0

@test "ls lists the root, sorted" {
	run --separate-stderr "$QM" ls "$(image_of ext4)"
	[ "$status" -eq 0 ]
	want=$( (cd "$IMAGES/stage" && ls -A; echo lost+found) | LC_ALL=C sort)
	[ "$output" = "$want" ]
}

@test "ls -l shows type, mode, owner, size, time and link target" {
	run --separate-stderr "$QM" ls -l "$(image_of ext4)"
	[ "$status" -eq 0 ]
	[[ $output == *"-rw-------   1  1234  5678          8 2021-06-15 12:34 mode-0600"* ]]
	[[ $output == *"-rwsr-xr-x"*" setuid"* ]]
	[[ $output == *"drwxrwxrwt"*" sticky-dir"* ]]
	[[ $output == *"crw-r--r--"*"    1,    3 "*" dev-null"* ]]
	[[ $output == *"prw-r--r--"*" fifo"* ]]
	[[ $output == *" link-rel -> dir/file"* ]]
}

@test "ls -R of a subdirectory gives paths under it" {
	run --separate-stderr "$QM" ls -R "$(image_of ext4)" dir
	[ "$status" -eq 0 ]
	want=$(cd "$IMAGES/stage/dir" && find . -mindepth 1 | sed 's|^\./||' | LC_ALL=C sort)
	[ "$output" = "$want" ]
}

@test "ls of a file lists it alone" {
	run --separate-stderr "$QM" ls "$(image_of ext4)" dir/file
	[ "$status" -eq 0 ]
	[ "$output" = dir/file ]
}

@test "ls of a missing path: one line, exit 1" {
	run --separate-stderr "$QM" ls "$(image_of ext4)" no/such
	fails_cleanly "ext4.img" "no/such" "No such file or directory"
}

@test "cat streams a file byte for byte (20 MiB)" {
	"$QM" cat "$(image_of ext4)" big.bin > "$OUT/big"
	cmp "$OUT/big" "$IMAGES/stage/big.bin"
}

@test "cat of a UTF-8 name through standard input" {
	"$QM" cat - 日本語.txt < "$(image_of ext4)" > "$OUT/j"
	cmp "$OUT/j" "$IMAGES/stage/日本語.txt"
}

@test "cat of a directory or a fifo: one line, exit 1" {
	run --separate-stderr "$QM" cat "$(image_of ext4)" dir
	fails_cleanly "dir: Is a directory"
	run --separate-stderr "$QM" cat "$(image_of ext4)" fifo
	fails_cleanly "fifo: not a regular file"
}

@test "cat into a closed pipe ends quietly" {
	run --separate-stderr bash -c "'$QM' cat '$(image_of ext4)' big.bin | head -c 10 >/dev/null"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}
