/*
 * nsfs_ops.c - the FUSE low-level operations of nsfs, each mapped to
 * 9P2000.L calls (Linux's fuse_lowlevel.h for the one side, diod's
 * protocol.md for the other).  An open file or directory is a fid of
 * its own, cloned from the node's and opened; fi->fh holds it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "nsfs_int.h"

#define MSIZE_BYTES (1024 * 1024)	/* reads and writes FUSE sends at most */

#define FS(req)		nsfs_of(req)
#define NODE(req, ino)	nsfs_node(nsfs_of(req), ino)
#define C(n)		((n)->mt->src->c)

static int ro(struct nsfs *fs, struct node *n)
{
	return !fs->writable || !n->mt->src->writable;
}

static void reply_entry(fuse_req_t req, int r, struct fuse_entry_param *e)
{
	if (r)
		fuse_reply_err(req, r);
	else if (fuse_reply_entry(req, e) == -ENOENT)	/* interrupted */
		nsfs_forget(FS(req), e->ino, 1);
}

static void op_init(void *data, struct fuse_conn_info *conn)
{
	struct nsfs *fs = data;

	conn->max_write = MSIZE_BYTES;
	conn->max_readahead = MSIZE_BYTES;
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (!fs->writable && (conn->capable & FUSE_CAP_CACHE_SYMLINKS))
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* the guest serves as root, which keeps set-id bits on a write or
	 * chown: let the kernel clear them as it would for a caller */
	conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;	/* correctness first */
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct nsfs *fs = FS(req);
	struct fuse_entry_param e;
	int r = nsfs_lookup(fs, nsfs_node(fs, parent), name, (uid_t)-1, &e);

	if (r == ENOENT) {	/* a negative entry, cached as long */
		memset(&e, 0, sizeof(e));
		e.entry_timeout = fs->entry_tmo;
		r = 0;
	}
	reply_entry(req, r, &e);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t n)
{
	nsfs_forget(FS(req), ino, n);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *f)
{
	size_t i;

	for (i = 0; i < count; i++)
		nsfs_forget(FS(req), f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct nsfs *fs = FS(req);
	struct stat st;
	int r = nsfs_getattr(fs, nsfs_node(fs, ino), &st);

	(void)fi;
	if (r)
		fuse_reply_err(req, r);
	else
		fuse_reply_attr(req, &st, fs->attr_tmo);
}

static void iattr_of(const struct stat *st, int set, struct p9_iattr *ia)
{
	memset(ia, 0, sizeof(*ia));
	if (set & FUSE_SET_ATTR_MODE)
		ia->valid |= P9_SETATTR_MODE;
	if (set & FUSE_SET_ATTR_UID)
		ia->valid |= P9_SETATTR_UID;
	if (set & FUSE_SET_ATTR_GID)
		ia->valid |= P9_SETATTR_GID;
	if (set & FUSE_SET_ATTR_SIZE)
		ia->valid |= P9_SETATTR_SIZE;
	if (set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_ATIME_NOW))
		ia->valid |= P9_SETATTR_ATIME;
	if (set & FUSE_SET_ATTR_ATIME)
		ia->valid |= P9_SETATTR_ATIME_SET;
	if (set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
		ia->valid |= P9_SETATTR_MTIME;
	if (set & FUSE_SET_ATTR_MTIME)
		ia->valid |= P9_SETATTR_MTIME_SET;
	if (set & FUSE_SET_ATTR_CTIME)
		ia->valid |= P9_SETATTR_CTIME;
	ia->mode = st->st_mode & 07777;
	ia->uid = st->st_uid;
	ia->gid = st->st_gid;
	ia->size = st->st_size;
	ia->atime_sec = st->st_atim.tv_sec;
	ia->atime_nsec = st->st_atim.tv_nsec;
	ia->mtime_sec = st->st_mtim.tv_sec;
	ia->mtime_nsec = st->st_mtim.tv_nsec;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct nsfs *fs = FS(req);
	struct node *n = nsfs_node(fs, ino);
	struct mnt *mt = n->mt;
	struct p9_iattr ia, own;
	struct stat st;
	int r = 0;

	(void)fi;
	if (ro(fs, n)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	iattr_of(attr, to_set, &ia);
	/* a mounted root wears its mountpoint's mode and owner: change that */
	own = ia;
	own.valid &= P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID;
	if (n == mt->root && mt->cover_src && own.valid) {
		r = p9_setattr(mt->cover_src->c, mt->cover_fid, &own);
		ia.valid &= ~own.valid;
	}
	if (!r && ia.valid)
		r = p9_setattr(mt->src->c, n->fid, &ia);
	r = r ? nsfs_errno(mt, r) : nsfs_getattr(fs, n, &st);
	if (r)
		fuse_reply_err(req, r);
	else
		fuse_reply_attr(req, &st, fs->attr_tmo);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = NODE(req, ino);
	char buf[PATH_MAX];
	int r = p9_readlink(C(n), n->fid, buf, sizeof(buf));

	if (r)
		fuse_reply_err(req, nsfs_errno(n->mt, r));
	else
		fuse_reply_readlink(req, buf);
}

/*
 * The start of every call that makes a name in p: the fs must be
 * writable there, and name must not be a mountpoint.  0 or an errno.
 */
static int may_change(fuse_req_t req, struct node *p, const char *name)
{
	if (ro(FS(req), p))
		return EROFS;
	return nsfs_is_mountpoint(p, name) ? EBUSY : 0;
}

/* may_change, and the error replied: nonzero if the call is over */
static int refused(fuse_req_t req, struct node *p, const char *name)
{
	int r = may_change(req, p, name);

	if (r)
		fuse_reply_err(req, r);
	return r;
}

/* After a mkdir/mknod/symlink: the new entry, owned by the caller. */
static void made(fuse_req_t req, struct node *p, const char *name, int r)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;

	if (r)
		r = nsfs_errno(p->mt, r);
	else
		r = nsfs_lookup(FS(req), p, name, ctx->uid, &e);
	reply_entry(req, r, &e);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct node *p = NODE(req, parent);

	if (refused(req, p, name))
		return;
	made(req, p, name, p9_mknod(C(p), p->fid, name, mode, major(rdev),
				    minor(rdev), fuse_req_ctx(req)->gid, NULL));
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct node *p = NODE(req, parent);

	if (refused(req, p, name))
		return;
	made(req, p, name, p9_mkdir(C(p), p->fid, name, mode,
				    fuse_req_ctx(req)->gid, NULL));
}

static void op_symlink(fuse_req_t req, const char *target, fuse_ino_t parent,
		       const char *name)
{
	struct node *p = NODE(req, parent);

	if (refused(req, p, name))
		return;
	made(req, p, name, p9_symlink(C(p), p->fid, name, target,
				      fuse_req_ctx(req)->gid, NULL));
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	struct node *n = NODE(req, ino), *p = NODE(req, newparent);
	struct fuse_entry_param e;
	int r = may_change(req, p, newname);

	if (!r && n->mt != p->mt)
		r = EXDEV;
	if (!r)
		r = nsfs_errno(p->mt, p9_link(C(p), p->fid, n->fid, newname));
	if (!r)
		r = nsfs_lookup(FS(req), p, newname, (uid_t)-1, &e);
	reply_entry(req, r, &e);
}

static void remove_name(fuse_req_t req, fuse_ino_t parent, const char *name,
			uint32_t flags)
{
	struct node *p = NODE(req, parent);
	int r = may_change(req, p, name);

	if (!r)
		r = nsfs_errno(p->mt, p9_unlinkat(C(p), p->fid, name, flags));
	fuse_reply_err(req, r);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, 0);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	remove_name(req, parent, name, P9_AT_REMOVEDIR);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct node *p = NODE(req, parent), *np = NODE(req, newparent);
	int r = may_change(req, p, name);

	if (!r)
		r = may_change(req, np, newname);
	if (!r && flags)	/* Trenameat has no RENAME_NOREPLACE/EXCHANGE */
		r = EINVAL;
	if (!r && p->mt != np->mt)
		r = EXDEV;
	if (!r)
		r = nsfs_errno(p->mt, p9_renameat(C(p), p->fid, name, np->fid,
						  newname));
	fuse_reply_err(req, r);
}

/* ---- files ---- */

/* open flags the guest is told; the kernel has done O_CREAT/O_EXCL */
#define OPEN_FLAGS (O_ACCMODE | O_TRUNC | O_APPEND | O_DIRECTORY)

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct nsfs *fs = FS(req);
	struct node *n = nsfs_node(fs, ino);
	uint32_t fid;
	int r;

	if ((fi->flags & O_ACCMODE) != O_RDONLY && ro(fs, n)) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = p9_walk(C(n), n->fid, 0, NULL, &fid, NULL);
	if (!r) {
		r = p9_lopen(C(n), fid, fi->flags & OPEN_FLAGS, NULL, NULL);
		if (r)
			p9_clunk(C(n), fid);
	}
	if (r) {
		fuse_reply_err(req, nsfs_errno(n->mt, r));
		return;
	}
	fi->fh = fid;
	/* read-only: nothing changes, keep the pages of the last open */
	fi->keep_cache = !fs->writable;
	if (fuse_reply_open(req, fi) == -ENOENT)
		p9_clunk(C(n), fid);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct node *p = NODE(req, parent);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct fuse_entry_param e;
	uint32_t fid;
	int r = may_change(req, p, name);

	if (!r)
		r = nsfs_errno(p->mt, p9_walk(C(p), p->fid, 0, NULL, &fid, NULL));
	if (r) {
		fuse_reply_err(req, r);
		return;
	}
	r = p9_lcreate(C(p), fid, name, (fi->flags & OPEN_FLAGS) | O_CREAT |
		       (fi->flags & O_EXCL), mode, ctx->gid, NULL);
	r = r ? nsfs_errno(p->mt, r) :
	    nsfs_lookup(FS(req), p, name, ctx->uid, &e);
	if (r) {
		p9_clunk(C(p), fid);
		fuse_reply_err(req, r);
		return;
	}
	fi->fh = fid;
	if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		nsfs_forget(FS(req), e.ino, 1);
		p9_clunk(C(p), fid);
	}
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct node *n = NODE(req, ino);
	char *buf = malloc(size ? size : 1);
	size_t got = 0;
	ssize_t k = 1;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	while (got < size && k > 0) {
		k = p9_read(C(n), fi->fh, off + got, buf + got, size - got);
		if (k > 0)
			got += k;
	}
	if (k < 0 && got == 0)
		fuse_reply_err(req, nsfs_errno(n->mt, k));
	else
		fuse_reply_buf(req, buf, got);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct node *n = NODE(req, ino);
	size_t done = 0;
	ssize_t k = 1;

	while (done < size && k > 0) {
		k = p9_write(C(n), fi->fh, off + done, buf + done, size - done);
		if (k > 0)
			done += k;
	}
	if (k < 0 && done == 0)
		fuse_reply_err(req, nsfs_errno(n->mt, k));
	else if (k == 0 && done == 0)
		fuse_reply_err(req, EIO);
	else
		fuse_reply_write(req, done);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);	/* writes are through already */
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct node *n = NODE(req, ino);

	p9_clunk(C(n), fi->fh);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct node *n = NODE(req, ino);

	fuse_reply_err(req, nsfs_errno(n->mt, p9_fsync(C(n), fi->fh, datasync)));
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = NODE(req, ino);
	struct statvfs sv;
	struct p9_statfs s;
	int r = p9_statfs(C(n), n->fid, &s);

	if (r) {
		fuse_reply_err(req, nsfs_errno(n->mt, r));
		return;
	}
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = sv.f_frsize = s.bsize;
	sv.f_blocks = s.blocks;
	sv.f_bfree = s.bfree;
	sv.f_bavail = s.bavail;
	sv.f_files = s.files;
	sv.f_ffree = sv.f_favail = s.ffree;
	sv.f_fsid = s.fsid;
	sv.f_namemax = s.namelen;
	fuse_reply_statfs(req, &sv);
}

/* ---- xattrs ---- */

static void xattr_reply(fuse_req_t req, struct node *n, const char *name,
			size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	ssize_t k;

	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	k = p9_xattr_get(C(n), n->fid, name, buf, size);
	if (k < 0)
		fuse_reply_err(req, nsfs_errno(n->mt, k));
	else if (!size)
		fuse_reply_xattr(req, k);
	else
		fuse_reply_buf(req, buf, k);
	free(buf);
}

static void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			size_t size)
{
	xattr_reply(req, NODE(req, ino), name, size);
}

static void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	xattr_reply(req, NODE(req, ino), NULL, size);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			const char *value, size_t size, int flags)
{
	struct node *n = NODE(req, ino);

	if (ro(FS(req), n))
		fuse_reply_err(req, EROFS);
	else if (size == 0)	/* 9P says size 0 is a removal */
		fuse_reply_err(req, EOPNOTSUPP);
	else
		fuse_reply_err(req, nsfs_errno(n->mt, p9_xattr_set(C(n),
			       n->fid, name, value, size, flags)));
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct node *n = NODE(req, ino);

	if (ro(FS(req), n))
		fuse_reply_err(req, EROFS);
	else
		fuse_reply_err(req, nsfs_errno(n->mt, p9_xattr_set(C(n),
			       n->fid, name, NULL, 0, XATTR_REPLACE)));
}

const struct fuse_lowlevel_ops nsfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.link = op_link,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.open = op_open,
	.create = op_create,
	.read = op_read,
	.write = op_write,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.opendir = nsfs_opendir,
	.readdir = nsfs_readdir,
	.readdirplus = nsfs_readdirplus,
	.releasedir = nsfs_releasedir,
	.fsyncdir = nsfs_fsyncdir,
	.statfs = op_statfs,
	.getxattr = op_getxattr,
	.listxattr = op_listxattr,
	.setxattr = op_setxattr,
	.removexattr = op_removexattr,
};
