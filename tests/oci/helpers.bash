# helpers.bash - shared by the OCI tests: podman with the project's
# settings (docker/containers.conf: vfs, runc, ulimits), the test images,
# and the checks after every test (no qemu and no container left).

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
IMAGES=$TOP/testdata/images
CHECK=$TOP/tests/e2e/check-archive
export CONTAINERS_CONF=$TOP/docker/containers.conf
export CONTAINERS_STORAGE_CONF=$TOP/docker/storage.conf
# a run must end well within this
LIMIT=180

setup() {
	OUT=$BATS_TEST_TMPDIR/out
	mkdir -p "$OUT"
	# Every container of this test carries this in its environment, and
	# so does any qemu it starts: the mark teardown looks for on the
	# host, which tells our qemu from other QEMU tests running there.
	MARK=qemount-oci-test-$$-$BATS_TEST_NUMBER-$RANDOM
}

# qm_run ARG...: podman run with the test's mark, no network, removed
# after (pass -i for standard input)
qm_run() {
	timeout $LIMIT podman run --rm --network none -e "QM_OCI_MARK=$MARK" \
		--label "qm-oci-mark=$MARK" "$@"
}

# qm_run_io IN OUT ARG...: qm_run ARG... < IN > OUT (for bats' run,
# which would take standard output for itself)
qm_run_io() {
	local in=$1 out=$2
	shift 2
	qm_run "$@" < "$in" > "$out"
}

# The host's processes whose environment holds the mark.
marked() {
	grep -lsz "^QM_OCI_MARK=$MARK\$" /proc/[0-9]*/environ |
		sed 's#/proc/\([0-9]*\)/environ#\1#' | while read -r pid; do
		printf '%s %s\n' "$pid" "$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)"
	done
}

teardown() {
	local left
	left=$(marked)
	if [ -n "$left" ]; then
		echo "left running on the host:" >&2
		echo "$left" >&2
		echo "$left" | while read -r pid _; do kill -9 "$pid"; done
		return 1
	fi
	left=$(podman ps -a -q --filter "label=qm-oci-mark=$MARK")
	[ -z "$left" ] || { echo "container left: $left" >&2; return 1; }
}

# fails_cleanly WANT...
# shellcheck source=../fails-cleanly.bash
source "$TOP/tests/fails-cleanly.bash"
