/*
 * guest.h - the guest registry: which guest serves a filesystem.
 *
 * A guest is a folder holding vmlinux, initramfs.cpio, a manifest
 * (guests/<name>/manifest in the source tree: one line per filesystem,
 * "NAME MODE ...", MODE ro or rw; "@"-lines and "#" comments are not
 * filesystems) and optionally cmdline (kernel options, one or more per
 * line, "#" comments).  Guest folders are looked for in $QEMOUNT_GUESTS, then
 * next to the program: ../share/qemount/guests (installed) and ../guests
 * (the build tree).
 */
#ifndef QEMOUNT_GUEST_H
#define QEMOUNT_GUEST_H

#include <limits.h>
#include <stddef.h>

struct guest {
	char name[64];
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];
	char cmdline[1024];	/* the guest's own kernel options (cmdline file) */
	int writable;		/* the guest can write this filesystem */
};

/*
 * guest_find - the first guest that reads fs (and writes it, if write).
 * Returns 0 and fills *g, or -ENOENT with a reason in err.
 */
int guest_find(const char *fs, int write, struct guest *g, char *err,
	       size_t errlen);

#endif
