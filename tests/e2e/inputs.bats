#!/usr/bin/env bats
# inputs.bats - every form an IMAGE comes in, told apart by content: disk
# containers (qcow2 vmdk vdi vhdx vpc), compressed images (gzip xz zstd
# bzip2 lz4, also on standard input, also around a container), a block
# device, a window (--offset/--length), an http URL.  Each archive is
# read back by bsdtar (tests/e2e/check-archive) against ext4's manifest.

load helpers

bats_require_minimum_version 1.5.0

# helpers.bash's setup_file and teardown, kept under other names: this
# file adds to both
eval "helpers_$(declare -f setup_file)"
eval "helpers_$(declare -f teardown)"

FX=$BATS_FILE_TMPDIR/fx
WWW=$BATS_FILE_TMPDIR/www
NGINX_DIR=$BATS_FILE_TMPDIR/nginx

# A loopback port nobody listens on now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# nginx from Debian on 127.0.0.1 serving $WWW, logging each request's
# body bytes; nothing if nginx is not installed (the URL tests skip).
start_nginx() {
	command -v nginx >/dev/null || return 0
	mkdir -p "$WWW" "$NGINX_DIR/tmp"
	local port user=""
	port=$(free_port)
	# as root, workers would drop to nobody, who cannot read a 0700
	# bats temp dir
	[ "$(id -u)" -eq 0 ] && user="user root;"
	cat > "$NGINX_DIR/nginx.conf" <<-EOF
	$user
	daemon on;
	worker_processes 1;
	pid $NGINX_DIR/nginx.pid;
	error_log $NGINX_DIR/error.log;
	events { worker_connections 64; }
	http {
		log_format bytes '\$request \$status \$body_bytes_sent';
		access_log $NGINX_DIR/access.log bytes;
		client_body_temp_path $NGINX_DIR/tmp;
		proxy_temp_path $NGINX_DIR/tmp;
		fastcgi_temp_path $NGINX_DIR/tmp;
		uwsgi_temp_path $NGINX_DIR/tmp;
		scgi_temp_path $NGINX_DIR/tmp;
		server { listen 127.0.0.1:$port; root $WWW; }
	}
	EOF
	nginx -c "$NGINX_DIR/nginx.conf" -p "$NGINX_DIR" -e "$NGINX_DIR/error.log" ||
		return 0
	echo "http://127.0.0.1:$port" > "$NGINX_DIR/url"
}

setup_file() {
	helpers_setup_file
	local img
	img=$(image_of ext4)
	mkdir -p "$FX" "$WWW"
	# the slow one in the background while the rest are made
	xz -T0 -0 -c "$img" > "$FX/ext4.img.xz" &
	for f in qcow2 vmdk vdi vhdx vpc; do
		qemu-img convert -f raw -O $f "$img" "$FX/ext4.$f"
	done
	gzip -1 -c "$img" > "$FX/ext4.img.gz"
	zstd -q -1 -c "$img" > "$FX/ext4.img.zst"
	gzip -1 -c "$FX/ext4.qcow2" > "$FX/ext4.qcow2.gz"
	# small ones for the checks that boot no guest
	head -c 4M "$img" > "$FX/head.img"
	if command -v bzip2 >/dev/null && command -v lz4 >/dev/null; then
		bzip2 -1 -c "$FX/head.img" > "$FX/head.img.bz2"
		lz4 -q -1 -c "$FX/head.img" > "$FX/head.img.lz4"
	fi
	# the filesystem between 1 MiB of noise before and after
	{ head -c 1M /dev/urandom; cat "$img"; head -c 1M /dev/urandom; } > "$FX/window.img"
	qemu-img convert -f raw -O qcow2 "$FX/window.img" "$FX/window.qcow2"
	wait
	ln -s "$img" "$WWW/ext4.img"
	ln -s "$FX/ext4.qcow2" "$WWW/ext4.qcow2"
	start_nginx
}

teardown_file() {
	if [ -f "$NGINX_DIR/nginx.pid" ]; then
		kill "$(cat "$NGINX_DIR/nginx.pid")" 2>/dev/null || true
	fi
}

teardown() {
	if [ -n "${LOOPDEV:-}" ]; then
		losetup -d "$LOOPDEV" || true
	fi
	helpers_teardown
}

# tar_ok ARGS...: qemount tar ARGS -o a.tar succeeds and the archive
# matches ext4's manifest.
tar_ok() {
	run --separate-stderr timeout $LIMIT "$QM" tar "$@" -o "$OUT/a.tar"
	[ "$status" -eq 0 ] || { echo "$stderr" >&2; return 1; }
	"$CHECK" "$OUT/a.tar" "$IMAGES/ext4.mtree"
}

# form_is FILE WANT: what qemount sees in FILE, without booting a guest
# (an --offset past any end makes it stop and say what it saw).
form_is() {
	run --separate-stderr timeout 30 "$QM" tar --offset 1T "$1" -o "$OUT/a.tar"
	fails_cleanly "is past the end of the disk ($2"
}

url_or_skip() {
	[ -f "$NGINX_DIR/url" ] ||
		skip "nginx is not installed (or did not start): no http server to read from"
	URL=$(cat "$NGINX_DIR/url")
}

# ---- disk containers ----

@test "qcow2: detected by content, read through QEMU's qcow2 driver" {
	tar_ok "$FX/ext4.qcow2"
}

@test "vmdk" {
	tar_ok "$FX/ext4.vmdk"
}

@test "vdi" {
	tar_ok "$FX/ext4.vdi"
}

@test "vhdx" {
	tar_ok "$FX/ext4.vhdx"
}

@test "vpc (VHD)" {
	tar_ok "$FX/ext4.vpc"
}

@test "each container is told by content, whatever its name" {
	for f in qcow2 vmdk vdi vhdx vpc; do
		cp "$FX/ext4.$f" "$OUT/disk.img"
		form_is "$OUT/disk.img" "$f, "
	done
}

# ---- compressed ----

@test "gzip-compressed image" {
	tar_ok "$FX/ext4.img.gz"
}

@test "xz-compressed image on standard input (a pipe)" {
	cat "$FX/ext4.img.xz" | "$QM" tar - -o "$OUT/a.tar"
	"$CHECK" "$OUT/a.tar" "$IMAGES/ext4.mtree"
}

@test "zstd-compressed image on standard input (a file)" {
	"$QM" tar - < "$FX/ext4.img.zst" > "$OUT/a.tar"
	"$CHECK" "$OUT/a.tar" "$IMAGES/ext4.mtree"
}

@test "bzip2 and lz4 are unpacked to the full size" {
	[ -f "$FX/head.img.lz4" ] || skip "no bzip2 or lz4 program to make the images"
	form_is "$FX/head.img.bz2" "bzip2-compressed raw, 4194304 bytes)"
	form_is "$FX/head.img.lz4" "lz4-compressed raw, 4194304 bytes)"
	run --separate-stderr "$QM" tar --offset 1T - < "$FX/head.img.bz2"
	fails_cleanly "(bzip2-compressed raw, 4194304 bytes)"
}

@test "a compressed container (qcow2.gz)" {
	tar_ok "$FX/ext4.qcow2.gz"
}

@test "truncated gzip: one clear line, no guest" {
	head -c 3000000 "$FX/ext4.img.gz" > "$OUT/cut.img.gz"
	run --separate-stderr timeout 30 "$QM" tar "$OUT/cut.img.gz" -o "$OUT/a.tar"
	fails_cleanly cut.img.gz "gzip data is damaged or cut short"
	[ ! -e "$OUT/a.tar" ]
}

# ---- container errors ----

@test "qcow2 with a bad header: one clear line with QEMU's reason" {
	cp "$FX/ext4.qcow2" "$OUT/bad.qcow2"
	printf '\0\0\0\11' | dd of="$OUT/bad.qcow2" bs=1 seek=4 conv=notrunc status=none
	run --separate-stderr timeout 30 "$QM" tar "$OUT/bad.qcow2" -o "$OUT/a.tar"
	fails_cleanly bad.qcow2 "qcow2: Unsupported qcow2 version 9"
}

@test "qcow2 over a backing file: refused, the named file never read" {
	head -c 1M /dev/urandom > "$OUT/secret"
	qemu-img create -q -f qcow2 -F raw -b "$OUT/secret" "$OUT/over.qcow2"
	run --separate-stderr timeout 30 "$QM" tar "$OUT/over.qcow2" -o "$OUT/a.tar"
	fails_cleanly over.qcow2 "backing file ($OUT/secret)" "opens no file an image names"
}

@test "a VMDK descriptor that names other files: refused" {
	printf '# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\nRW 8192 FLAT "/etc/hostname" 0\n' > "$OUT/d.vmdk"
	run --separate-stderr timeout 30 "$QM" tar "$OUT/d.vmdk" -o "$OUT/a.tar"
	fails_cleanly d.vmdk "VMDK descriptor"
}

# ---- a window ----

@test "--offset/--length: the filesystem between noise" {
	tar_ok --offset 1M --length 64M "$FX/window.img"
}

@test "--offset inside a container (sectors)" {
	tar_ok --offset 2048s --length 67108864 "$FX/window.qcow2"
}

@test "--offset past the end: one clear line, no guest" {
	run --separate-stderr timeout 30 "$QM" tar --offset 66M "$FX/window.img" -o "$OUT/a.tar"
	fails_cleanly window.img "--offset 69206016 is past the end of the disk (raw, 69206016 bytes)"
	run --separate-stderr timeout 30 "$QM" tar --offset 1M --length 65M "$FX/ext4.qcow2" -o "$OUT/a.tar"
	fails_cleanly ext4.qcow2 "goes past the end of the disk (qcow2, 67108864 bytes)"
}

@test "--offset and --length take byte counts only" {
	run "$QM" tar --offset 1X "$FX/window.img"
	[ "$status" -eq 2 ]
	run "$QM" tar --length 0 "$FX/window.img"
	[ "$status" -eq 2 ]
	run "$QM" tar --offset -1 "$FX/window.img"
	[ "$status" -eq 2 ]
}

# ---- a block device ----

@test "a block device (a read-only loop device)" {
	[ "$(id -u)" -eq 0 ] || skip "needs root for losetup"
	LOOPDEV=$(losetup -f --show -r "$(image_of ext4)" 2>/dev/null) ||
		skip "losetup cannot attach a loop device here"
	tar_ok "$LOOPDEV"
}

# ---- http ----

@test "an http URL: read in place, far less fetched than the image" {
	url_or_skip
	: > "$NGINX_DIR/access.log"
	tar_ok "$URL/ext4.img"
	local sent size
	sent=$(awk '{ s += $NF } END { print s + 0 }' "$NGINX_DIR/access.log")
	size=$(stat -c %s "$(image_of ext4)")
	echo "# fetched $sent of $size bytes" >&3
	# the archive needs ~21 MB of file data; the image is 64 MiB
	[ "$sent" -gt 0 ] && [ "$sent" -lt $((size * 2 / 3)) ] ||
		{ echo "fetched $sent bytes in:"; cat "$NGINX_DIR/access.log"; false; }
	bad=$(grep -v ' 20[06] ' "$NGINX_DIR/access.log" || true)
	[ -z "$bad" ] || { echo "requests that did not succeed: $bad"; false; }
}

@test "a qcow2 at an http URL" {
	url_or_skip
	tar_ok "$URL/ext4.qcow2"
}

@test "an http URL that is not there: one clear line" {
	url_or_skip
	run --separate-stderr timeout 30 "$QM" tar "$URL/nothere.img" -o "$OUT/a.tar"
	fails_cleanly nothere.img "404"
}
