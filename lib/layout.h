/*
 * layout.h - what an opened image holds, found on the host without a
 * guest: a filesystem on the whole disk, a partition table and the
 * filesystem in each partition (lib/probe.h, lib/parts.h).
 */
#ifndef QEMOUNT_LAYOUT_H
#define QEMOUNT_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#include "parts.h"
#include "probe.h"

struct img;

struct layout {
	uint64_t size;			/* of the disk the guest sees */
	struct probe_fs fs;		/* on the whole disk; type "" if none */
	int fs_err;			/* 0, -ENOENT, -EEXIST (ambiguous) */
	struct parts table;		/* type "" if none */
	struct probe_fs pfs[PARTS_MAX];	/* in table.p[i]; type "" if none
					 * (or a container) */
};

/*
 * layout_read - probe im: the whole disk, its partition table, and each
 * partition that is not a container.  A raw file is read in place; a
 * container or a URL through the first 2 MiB of the disk and of each
 * partition (qemu-img).  Returns 0 (whatever was or was not found), or
 * -errno with a reason in err.
 */
int layout_read(struct img *im, struct layout *l, char *err, size_t errlen);

/*
 * layout_find - the index in l->table.p of the partition with number num
 * (if num > 0) or else the partition name or filesystem label name; -1
 * if none.
 */
int layout_find(const struct layout *l, int num, const char *name);

/*
 * layout_seen - what was seen, for an "unknown filesystem" message, as
 * one line into buf: "raw, 1048576 bytes, no partition table", or the
 * table and each partition with its type, size and filesystem.
 */
void layout_seen(const struct layout *l, const char *form, char *buf,
		 size_t cap);

/* layout_human - n bytes as "16 MiB", "512 KiB", "300 B" into buf. */
const char *layout_human(uint64_t n, char *buf, size_t cap);

#endif
