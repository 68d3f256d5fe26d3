#!/usr/bin/env bats
# cli.bats - the command line itself: usage, help, exit codes, man pages.

load helpers

bats_require_minimum_version 1.5.0

# synopsis CMD: the SYNOPSIS of cmd/qemount-CMD.1 and the usage lines of
# `qemount CMD --help`, each flattened to one line of words.
man_synopsis() {
	sed -n '/^\.SH SYNOPSIS/,/^\.SH/p' "$TOP/cmd/qemount-$1.1" |
		grep -v '^\.SH' | sed 's/\\f[BIR]//g; s/\\-/-/g; s/^\.[A-Za-z]* *//' |
		tr -s ' \n' ' ' | sed 's/^ //; s/ $//'
}

usage_synopsis() {
	"$QM" "$1" --help | sed -n '/^usage:/,/^  [A-Z]/p' | grep -v '^  [A-Z]' |
		sed 's/^usage: //' | tr -s ' \n' ' ' | sed 's/^ //; s/ $//'
}

@test "every command's man page SYNOPSIS matches its usage text" {
	for cmd in tar ls cat pack probe guests mount umount; do
		m=$(man_synopsis $cmd)
		u=$(usage_synopsis $cmd)
		[ "$m" = "$u" ] || { echo "$cmd man:   $m"; echo "$cmd usage: $u"; false; }
	done
}

@test "every command has a man page that man can render" {
	for cmd in tar ls cat pack probe guests mount umount; do
		MANWIDTH=80 man -l "$TOP/cmd/qemount-$cmd.1" 2>&1 >/dev/null | grep . && false
		MANWIDTH=80 man -l "$TOP/cmd/qemount-$cmd.1" | grep -q SYNOPSIS
	done
}

@test "qemount --help lists the commands; an unknown one exits 2" {
	run "$QM" --help
	[ "$status" -eq 0 ]
	[[ $output == *tar* && $output == *ls* && $output == *cat* && $output == *pack* ]]
	[[ $output == *probe* && $output == *guests* && $output == *mount* ]]
	run "$QM" frobnicate
	[ "$status" -eq 2 ]
	run "$QM"
	[ "$status" -eq 2 ]
}
