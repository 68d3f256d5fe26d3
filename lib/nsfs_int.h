/*
 * nsfs_int.h - the insides of nsfs (nsfs.h), shared by nsfs.c (nodes,
 * lookups, session) and nsfs_ops.c (the FUSE operations).
 */
#ifndef QEMOUNT_NSFS_INT_H
#define QEMOUNT_NSFS_INT_H

#define FUSE_USE_VERSION 312
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <sys/stat.h>

#include "nsfs.h"

#define NODE_BUCKETS	4096

struct mnt {			/* one ns mount, as served */
	struct ns_mount *m;
	struct nsfs_src *src;
	struct node *root;	/* pinned: never forgotten */
	unsigned idx;		/* st_ino gets idx << 48 so mounts never clash */
	/* the directory mounted on (none for "/"): its mode, owner */
	struct nsfs_src *cover_src;
	uint32_t cover_fid;
};

struct node {
	struct node *next;	/* hash chain */
	struct mnt *mt;
	uint64_t qpath;
	uint32_t fid;		/* walked, never opened */
	unsigned depth;		/* below its mount's root: WALK_DEPTH_MAX at most */
	uint64_t nlookup;
	struct ns_node *tn;	/* a directory on the way to a mountpoint */
};

struct nsfs {
	struct fuse_session *se;
	struct ns *ns;
	struct mnt *mnts;
	size_t nmnt;
	pthread_mutex_t lock;	/* the node table */
	struct node *buckets[NODE_BUCKETS];
	double entry_tmo, attr_tmo;
	int writable, mounted;
	pthread_t main;
	int dead;		/* a guest went away: its index + 1 */
};

/* fs of a request, and the node behind an inode number */
struct nsfs *nsfs_of(fuse_req_t req);
struct node *nsfs_node(struct nsfs *fs, fuse_ino_t ino);
fuse_ino_t nsfs_ino(struct node *n);

/* errno to give FUSE for -e from n's guest: EIO once its link is gone */
int nsfs_errno(struct mnt *mt, int e);

/* stat of node n (a mounted root wears its mountpoint's mode and owner) */
int nsfs_getattr(struct nsfs *fs, struct node *n, struct stat *st);

/*
 * nsfs_lookup - name in directory p, crossing into a mount if name is a
 * mountpoint: fills e and takes one lookup reference.  owner, unless
 * (uid_t)-1, is given to what was found first (a file just created).
 * Returns 0 or an errno.
 */
int nsfs_lookup(struct nsfs *fs, struct node *p, const char *name,
		uid_t owner, struct fuse_entry_param *e);

/* nsfs_forget - drop n lookup references from node ino. */
void nsfs_forget(struct nsfs *fs, fuse_ino_t ino, uint64_t n);

/* nsfs_is_mountpoint - name in p is a mountpoint (not to be changed) */
int nsfs_is_mountpoint(struct node *p, const char *name);

/* the directory operations (nsfs_dir.c) */
void nsfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void nsfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi);
void nsfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi);
void nsfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void nsfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi);

extern const struct fuse_lowlevel_ops nsfs_ops;

#endif
