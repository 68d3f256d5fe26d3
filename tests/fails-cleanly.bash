# fails-cleanly.bash - the check every failure case of the bats tests
# ends with (sourced by tests/e2e/helpers.bash and tests/oci/helpers.bash).

# fails_cleanly WANT...: the last `run --separate-stderr` failed with exit
# 1 and exactly one line on stderr that holds every WANT.  (The run's own
# `timeout` bounds how long it may take.)
fails_cleanly() {
	[ "$status" -eq 1 ] || { echo "status $status, want 1" >&2; return 1; }
	[ "${#stderr_lines[@]}" -eq 1 ] ||
		{ echo "want one line on stderr, got:" >&2; echo "$stderr" >&2; return 1; }
	for want in "$@"; do
		[[ $stderr == *"$want"* ]] ||
			{ echo "stderr lacks '$want': $stderr" >&2; return 1; }
	done
}
