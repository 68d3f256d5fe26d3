/*
 * scan.h - filesystems anywhere in a file: firmware blobs, where a
 * squashfs follows a vendor header and a kernel (like binwalk's
 * signature scan, limited to filesystems a guest mounts).
 */
#ifndef QEMOUNT_SCAN_H
#define QEMOUNT_SCAN_H

#include <stdint.h>

#include "probe.h"

struct scan_hit {
	uint64_t offset;	/* from the start of the range scanned */
	struct probe_fs fs;
};

/* What scan_fs calls per hit; nonzero stops the scan (and is returned). */
typedef int scan_fn(void *arg, const struct scan_hit *hit);

/*
 * scan_fs - every filesystem at a 4-byte-aligned offset of the size
 * bytes at off of fd: each offset where a known magic number sits (the
 * superblock's place in that filesystem) is confirmed by probe_fs, and
 * reported in offset order.  A hit whose UUID an earlier hit had (an ext
 * backup superblock) is not reported again.  Returns 0, fn's nonzero
 * value, or -errno.
 */
int scan_fs(int fd, uint64_t off, uint64_t size, scan_fn *fn, void *arg);

#endif
