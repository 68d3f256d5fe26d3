# debprogs.sh - programs from Debian packages, for a guest's initramfs.
#
# Sourced by the guests' build.sh (bash).  The caller sets:
#   cache   folder of downloaded .deb files (kept between builds)
#   tree    scratch folder the packages are unpacked into
#   work    scratch folder; $work/inputs.txt gets "PKG VERSION" lines
#   dest    the initramfs tree that `place` and `program` copy into
# and has die().  `initramfs ROOTFS TABLE` writes both of a guest's
# initrds.  `program PKG PATH` puts PATH from PKG into $dest with
# the program interpreter and the libraries it needs (from PKG and the
# packages it depends on).

declare -A fetched
cached() {	# cached PKG VERSION: print its .deb in the cache, if there
	local f
	for f in "$cache/${1}_${2/:/%3a}_"*.deb; do
		[ -s "$f" ] && { echo "$f"; return; }
	done
	return 0
}
fetch() {	# fetch PKG
	local p=$1 v deb
	[ -n "${fetched[$p]:-}" ] && return 0
	fetched[$p]=1
	v=$(apt-cache policy "$p" | awk '$1 == "Candidate:" { print $2 }')
	case $v in ''|'(none)') die "$p: no candidate version" ;; esac
	deb=$(cached "$p" "$v")
	if [ -z "$deb" ]; then
		mkdir -p "$cache"
		# its progress goes to stderr: callers capture our stdout
		(cd "$cache" && apt-get download -q "$p=$v" >&2) ||
			die "$p=$v: download failed"
		deb=$(cached "$p" "$v")
		[ -n "$deb" ] || die "$p=$v: no .deb after download"
	fi
	dpkg-deb -x "$deb" "$tree"
	printf '%s %s\n' "$p" "$v" >> "$work/inputs.txt"
}

# The file REL (a path in the unpacked tree) names, following symlinks
# inside the tree (absolute ones too); printed relative to the tree.
intree() {
	local rel=${1#/} i t
	for ((i = 0; i < 20; i++)); do
		[ -L "$tree/$rel" ] ||
			{ [ -f "$tree/$rel" ] && echo "$rel"; return 0; }
		t=$(readlink "$tree/$rel")
		case $t in
		/*) rel=${t#/} ;;
		*) rel=$(dirname "$rel")/$t ;;
		esac
	done
}

# place REL DEST: copy the ELF file REL of the tree to DEST in the
# $dest tree, then its program interpreter and the libraries it needs (each
# into /lib/x86_64-linux-gnu, where ld.so looks without a cache).
declare -A placed from
place() {
	local src lib dir
	src=$(intree "$1")
	[ -n "$src" ] || die "$1: not in the unpacked packages"
	mkdir -p "$(dirname "$dest$2")"
	placed[$2]=1
	if [ -n "${from[$src]:-}" ]; then	# ld.so: two names, one file
		ln -s "${from[$src]}" "$dest$2"
		return 0
	fi
	from[$src]=$2
	cp "$tree/$src" "$dest$2"
	lib=$(readelf -l "$tree/$src" |
	      sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
	if [ -n "$lib" ] && [ -z "${placed[$lib]:-}" ]; then
		place "$lib" "$lib"
	fi
	for lib in $(readelf -d "$tree/$src" |
		     sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		[ -n "${placed[/lib/x86_64-linux-gnu/$lib]:-}" ] && continue
		for dir in lib/x86_64-linux-gnu usr/lib/x86_64-linux-gnu lib usr/lib; do
			[ -n "$(intree "$dir/$lib")" ] && break
		done
		[ -n "$(intree "$dir/$lib")" ] ||
			die "$1 needs $lib, not in ${!fetched[*]}"
		place "$dir/$lib" "/lib/x86_64-linux-gnu/$lib"
	done
}

# program PKG PATH: PATH from PKG into $dest; the libraries come from PKG
# and the packages it depends on.
program() {
	local dep
	fetch "$1"
	for dep in $(apt-cache depends "$1" |
		     awk '($1 == "Depends:" || $1 == "PreDepends:") && $2 !~ /^</ { print $2 }'); do
		fetch "$dep"
	done
	place "$2" "$2"
}

# mkfs_cpio TABLE OUT: the formatters TABLE (mkfs.txt) names, with their
# libraries, and the table less the package names as /etc/mkfs.txt, in
# the newc cpio OUT; appended to a guest's initramfs.cpio it makes
# initramfs-mkfs.cpio (the kernel unpacks concatenated archives in turn).
mkfs_cpio() {
	local table=$1 cpio=$2 saved=$dest name prog args
	dest=$work/mkfsroot
	mkdir -p "$dest/etc"
	while read -r name prog args; do
		case $name in ''|'#'*) continue ;; esac
		case $prog in
		-:/?*) ;;
		?*:/?*) [ -e "$dest${prog#*:}" ] ||
				program "${prog%%:*}" "${prog#*:}" ;;
		*) die "$table: $name: bad program $prog" ;;
		esac
		echo "$name ${prog#*:} $args"
	done < "$table" > "$dest/etc/mkfs.txt"
	newc "$dest" "$cpio"
	dest=$saved
}

# newc DIR OUT: DIR as a reproducible newc cpio (times and owners fixed)
newc() {
	find "$1" -exec touch -h -d "@${SOURCE_DATE_EPOCH:-0}" {} +
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		cpio --quiet -o -H newc -R 0:0 --reproducible) > "$2"
}

# initramfs ROOTFS TABLE: a guest's two initrds, $work/initramfs.cpio
# (ROOTFS) and $work/initramfs-mkfs.cpio (the same, then mkfs_cpio TABLE)
initramfs() {
	newc "$1" "$work/initramfs.cpio"
	mkfs_cpio "$2" "$work/mkfs.cpio"
	cat "$work/initramfs.cpio" "$work/mkfs.cpio" > "$work/initramfs-mkfs.cpio"
}
