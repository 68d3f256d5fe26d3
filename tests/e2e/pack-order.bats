#!/usr/bin/env bats
# pack-order.bats - qemount pack where the order of the entries decides
# what stands: every entry in its own directory whatever came before
# it, a later entry of a name replacing an earlier one (also where the
# filesystem folds two spellings into one name), hardlinks to what came
# before, and the warnings in the archive's order.  Read back with
# qemount tar and bsdtar.

load helpers

bats_require_minimum_version 1.5.0

# entries FILE: the archive's names as bsdtar lists them, sorted
entries() {
	bsdtar -tf "$1" | sed 's#^\./##; s#/$##' | grep -v '^\.\?$' | sort
}

@test "an entry lands in its own directory, whatever came before it" {
	python3 - "$OUT/in.tar" <<-'EOF'
	import io, sys, tarfile
	with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as t:
	    for name in ["sub/deep/f", "top", "sub/g", "sub/", "sub/deep/", "top2"]:
	        i = tarfile.TarInfo(name)
	        if name.endswith("/"):
	            i.type = tarfile.DIRTYPE
	            t.addfile(i)
	        else:
	            i.size = len(name)
	            t.addfile(i, io.BytesIO(name.encode()))
	EOF
	run --separate-stderr timeout $LIMIT "$QM" pack --fs ext4 "$OUT/in.tar" "$OUT/o.img"
	[ "$status" -eq 0 ]
	run --separate-stderr timeout $LIMIT "$QM" tar "$OUT/o.img" -o "$OUT/o.tar"
	[ "$status" -eq 0 ]
	[ "$(entries "$OUT/o.tar" | grep -v lost+found)" = "$(printf '%s\n' sub sub/deep sub/deep/f sub/g top top2)" ]
}
