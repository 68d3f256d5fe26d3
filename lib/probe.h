/*
 * probe.h - what filesystem a range of bytes holds, without mounting it.
 *
 * libblkid (util-linux) answers first: it is the field's standard and
 * knows most filesystems.  Small own probes cover what it lacks and a
 * guest can mount: the Amiga filesystem (AFFS/OFS boot block "DOS\0" ..
 * "DOS\7"), Acorn ADFS (the checks of Linux's fs/adfs/super.c), and
 * JFFS2 (a node header at offset 0, either byte order, its CRC checked).
 */
#ifndef QEMOUNT_PROBE_H
#define QEMOUNT_PROBE_H

#include <stddef.h>
#include <stdint.h>

/* Bytes probe_own needs: the ADFS boot block ends at 0xe00. */
#define PROBE_OWN_HEAD	4096

struct probe_fs {
	char type[32];		/* the guest's name: "ext4", "vfat", "affs",
				 * "jffs2" ("jffs2-be": big-endian) */
	char label[128];	/* "" if none */
	char uuid[64];		/* "" if none */
	char version[32];	/* "" if none */
	char usage[16];		/* "filesystem", "raid", "crypto", "other" */
	const char *by;		/* "libblkid" or "qemount" (static string) */
};

/*
 * probe_fs - the filesystem in size bytes at off of fd (size 0: to the
 * end).  Returns 0 and fills *out, -ENOENT when nothing is recognised
 * (-EEXIST: libblkid saw more than one signature and would not choose),
 * or -errno.
 */
int probe_fs(int fd, uint64_t off, uint64_t size, struct probe_fs *out);

/*
 * probe_own - the own probes alone on the first len bytes of a
 * filesystem (len >= PROBE_OWN_HEAD sees them all).  Returns 1 and fills
 * *out, or 0.  Pure: no I/O.
 */
int probe_own(const unsigned char *buf, size_t len, struct probe_fs *out);

#endif
