/*
 * guest.h - the guest registry: which guest serves a filesystem.
 *
 * A guest is a folder holding vmlinux, initramfs.cpio, a manifest and
 * optionally cmdline (kernel options, one or more per line, "#"
 * comments).  The manifest (guests/<name>/manifest in the source tree)
 * has one line per filesystem, "NAME MODE ...", MODE ro or rw, and may
 * have these registry lines:
 *
 *   @priority N     preference among the guests that serve a filesystem:
 *                   the highest N wins (default 0; a fast-booting guest
 *                   states a higher one)
 *   @machine OPTS   qemu's -M value (default "microvm")
 *
 * Other "@"-lines (the linux-6.1 guest's "@boot") and "#" comments are
 * not filesystems and are ignored here.  A guest that formats images for
 * `qemount pack` has mkfs.txt, whose lines start with the filesystem
 * names it formats, and initramfs-mkfs.cpio, the initrd that holds the
 * formatters.
 *
 * Guest folders are looked for in $QEMOUNT_GUESTS, then next to the
 * program: ../share/qemount/guests (installed) and ../guests (the build
 * tree).  The first of these folders that has a guest for the filesystem
 * is used; within it the guest with the highest @priority, and among
 * equals the first by name (so the choice never depends on the order the
 * directory lists them in).  $QEMOUNT_GUEST=NAME considers only the guest
 * folder NAME (for tests and benchmarks).
 */
#ifndef QEMOUNT_GUEST_H
#define QEMOUNT_GUEST_H

#include <limits.h>
#include <stddef.h>

enum guest_need {
	GUEST_READ,		/* mounts the filesystem read-only */
	GUEST_WRITE,		/* mounts it read-write (manifest mode rw) */
	GUEST_FORMAT,		/* and formats it: a mkfs.txt line, and its
				   initramfs-mkfs.cpio is the initrd */
};
/* Most filesystems guest_find_all takes at once. */
#define GUEST_SET_MAX	64

struct guest {
	char name[64];
	char dir[PATH_MAX];	/* its folder */
	char kernel[PATH_MAX];
	char initrd[PATH_MAX];
	char cmdline[1024];	/* the guest's own kernel options (cmdline file) */
	char machine[128];	/* qemu -M value (@machine; "microvm") */
	int priority;		/* @priority; 0 */
	int writable;		/* the guest can write this filesystem */
};

/*
 * guest_find - the guest that does what need says with fs, chosen as
 * above.  Returns 0 and fills *g, or -ENOENT with a reason in err.
 */
int guest_find(const char *fs, enum guest_need need, struct guest *g,
	       char *err, size_t errlen);

/*
 * guest_find_all - the same for the n (at most GUEST_SET_MAX)
 * filesystems fs[]: the best guest that reads (or writes) every one of
 * them.  Returns 0 and fills *g, or -ENOENT with a reason in err.
 */
int guest_find_all(const char *const *fs, size_t n, enum guest_need need,
		   struct guest *g, char *err, size_t errlen);

/* What guest_list calls per filesystem line: mode 1 ro, 2 rw. */
typedef void guest_list_fn(void *arg, const struct guest *g, const char *fs,
			   int mode);

/*
 * guest_list - every guest (with its kernel and initrd) in the first
 * guest folder that has one, in name order: fn once per filesystem its
 * manifest lists, in the manifest's order.  Returns 0, or -ENOENT with a
 * reason in err.
 */
int guest_list(guest_list_fn *fn, void *arg, char *err, size_t errlen);

#endif
