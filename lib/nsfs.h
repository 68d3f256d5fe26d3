/*
 * nsfs.h - a mount table (ns.h) of 9P trees served as one FUSE mount.
 *
 * libfuse3's low-level API: a FUSE inode is a node that holds a walked
 * 9P fid (never opened), so a lookup is one Twalk from the parent's fid
 * and a forget is one Tclunk; an open file is a second fid, opened.  The
 * high-level API would hand us paths and leave us walking them from the
 * root on every call.  Nodes are shared by qid, so hardlinks are one
 * inode.  The guest is not trusted here either: a lookup deeper than
 * WALK_DEPTH_MAX directories is ENAMETOOLONG, and a directory listing
 * is read within walk_readdir's limits (walk.h).  The loop is multithreaded; the 9P client keeps the requests of
 * all threads in flight together.
 *
 * Each ns mount's data points at its struct nsfs_src.  A mounted root
 * (other than "/") shows the owner and permissions of the directory it
 * is mounted on (ns.h), and a chmod or chown of it changes that
 * directory.
 */
#ifndef QEMOUNT_NSFS_H
#define QEMOUNT_NSFS_H

#include <stddef.h>
#include <stdint.h>

#include "ns.h"
#include "p9/client.h"

struct nsfs_src {
	struct p9_client *c;	/* borrowed: lives until nsfs_free */
	uint32_t root;		/* its attached root fid, borrowed */
	int writable;		/* the guest mounted it read-write */
	const char *name;	/* for messages: the image */
};

struct nsfs_config {
	const char *mountpoint;
	const char *fsname;	/* shown in /proc/mounts */
	const char *fuse_opts;	/* more -o options for FUSE, or NULL */
	int writable;		/* mount read-write (some source is) */
	int debug;		/* libfuse's request log on stderr */
};

struct nsfs;

/*
 * nsfs_new - check the table (each mountpoint a directory below it, see
 * ns_check), then create the FUSE session and mount it on
 * cfg->mountpoint.  ns and the sources are borrowed until nsfs_free.
 * Returns 0 and *out, or -errno with a reason in err.
 */
int nsfs_new(struct ns *ns, const struct nsfs_config *cfg, struct nsfs **out,
	     char *err, size_t errlen);

/*
 * nsfs_run - serve until the mount goes away (umount, fusermount3 -u),
 * SIGINT/SIGTERM/SIGHUP, or a guest's connection ends.  Returns 0, or
 * -EIO if a guest went away (err says which).
 */
int nsfs_run(struct nsfs *fs, char *err, size_t errlen);

/*
 * nsfs_free - unmount (if still mounted), clunk every fid, release fs.
 * The sources' clients are the caller's to close after.  NULL is allowed.
 */
void nsfs_free(struct nsfs *fs);

#endif
