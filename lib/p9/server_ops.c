/*
 * server_ops.c - the 9P server's file operations: attributes, open, read,
 * write, directories, links, xattrs and clunk.  Each works on handles the
 * fids hold (server.c) with *at() calls; see server.c for the rules that
 * keep every request inside the root.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "server_int.h"

/* ---- attributes ---- */

int srv_getattr(struct p9_server *s, const struct p9_msg *r,
		     struct p9_msg *a)
{
	struct p9_attr *t = &a->u.rgetattr;
	struct stat st;
	struct fid *f;
	int err;

	if ((err = srv_fid_path(s, r->u.tgetattr.fid, &f)) ||
	    (err = srv_stat_fd(f->fd, &st)))
		return err;
	t->valid = P9_GETATTR_BASIC;
	srv_qid_of(s, &st, &t->qid);
	t->mode = st.st_mode;
	t->uid = st.st_uid;
	t->gid = st.st_gid;
	t->nlink = st.st_nlink;
	t->rdev = st.st_rdev;
	t->size = st.st_size;
	t->blksize = st.st_blksize;
	t->blocks = st.st_blocks;
	t->atime_sec = st.st_atim.tv_sec;
	t->atime_nsec = st.st_atim.tv_nsec;
	t->mtime_sec = st.st_mtim.tv_sec;
	t->mtime_nsec = st.st_mtim.tv_nsec;
	t->ctime_sec = st.st_ctim.tv_sec;
	t->ctime_nsec = st.st_ctim.tv_nsec;
	return 0;
}

static void set_time(struct timespec *ts, uint32_t valid, uint32_t on,
		     uint32_t set, uint64_t sec, uint64_t nsec)
{
	if (!(valid & on)) {
		ts->tv_nsec = UTIME_OMIT;
	} else if (!(valid & set)) {
		ts->tv_nsec = UTIME_NOW;
	} else {
		ts->tv_sec = sec;
		ts->tv_nsec = nsec;
	}
}

int srv_setattr(struct p9_server *s, const struct p9_msg *r,
		     struct p9_msg *a)
{
	const struct p9_iattr *t = &r->u.tsetattr.attr;
	char path[PROCPATH];
	struct timespec ts[2] = { { 0, 0 }, { 0, 0 } };
	struct stat st;
	struct fid *f;
	int err, chown_;

	(void)a;
	if ((err = srv_fid_path(s, r->u.tsetattr.fid, &f)) ||
	    (err = srv_stat_fd(f->fd, &st)))
		return err;
	srv_procpath(path, f->fd);
	/* owner first: a chown clears the set-id bits a chmod sets.  One
	 * that changes nothing is left out (and then so is such a chmod):
	 * each costs the filesystem an inode update */
	chown_ = (t->valid & P9_SETATTR_UID && t->uid != st.st_uid) ||
		 (t->valid & P9_SETATTR_GID && t->gid != st.st_gid);
	if (chown_ &&
	    fchownat(f->fd, "",
		     t->valid & P9_SETATTR_UID ? (uid_t)t->uid : (uid_t)-1,
		     t->valid & P9_SETATTR_GID ? (gid_t)t->gid : (gid_t)-1,
		     AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	if (t->valid & P9_SETATTR_MODE) {
		if (S_ISLNK(st.st_mode))
			return -EOPNOTSUPP;
		if ((chown_ || (st.st_mode & 07777) != (t->mode & 07777)) &&
		    chmod(path, t->mode & 07777))
			return -errno;
	}
	if ((t->valid & P9_SETATTR_SIZE) && truncate(path, t->size))
		return -errno;
	if (!(t->valid & (P9_SETATTR_ATIME | P9_SETATTR_MTIME)))
		return 0;
	set_time(&ts[0], t->valid, P9_SETATTR_ATIME, P9_SETATTR_ATIME_SET,
		 t->atime_sec, t->atime_nsec);
	set_time(&ts[1], t->valid, P9_SETATTR_MTIME, P9_SETATTR_MTIME_SET,
		 t->mtime_sec, t->mtime_nsec);
	if (utimensat(f->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

int srv_statfs(struct p9_server *s, const struct p9_msg *r,
		    struct p9_msg *a)
{
	struct p9_statfs *t = &a->u.rstatfs;
	struct statfs sf;
	struct fid *f;
	int err;

	if ((err = srv_fid_path(s, r->u.fid.fid, &f)))
		return err;
	if (fstatfs(f->fd, &sf))
		return -errno;
	t->type = sf.f_type;
	t->bsize = sf.f_bsize;
	t->blocks = sf.f_blocks;
	t->bfree = sf.f_bfree;
	t->bavail = sf.f_bavail;
	t->files = sf.f_files;
	t->ffree = sf.f_ffree;
	if (sizeof(sf.f_fsid) == sizeof(t->fsid))
		memcpy(&t->fsid, &sf.f_fsid, sizeof(t->fsid));
	t->namelen = sf.f_namelen;
	return 0;
}

int srv_readlink(struct p9_server *s, const struct p9_msg *r,
		      struct p9_msg *a)
{
	struct fid *f;
	ssize_t n;
	int err;

	if ((err = srv_fid_path(s, r->u.fid.fid, &f)))
		return err;
	if (f->pfd < 0)		/* not a symlink: readlink(2) says EINVAL */
		return -EINVAL;
	n = readlinkat(f->fd, "", s->scratch, sizeof(s->scratch));
	if (n < 0)
		return -errno;
	if ((size_t)n >= sizeof(s->scratch))
		return -ENAMETOOLONG;
	a->u.rreadlink.target.s = s->scratch;
	a->u.rreadlink.target.len = n;
	return 0;
}

/* ---- open, read, write ---- */

/*
 * reopen - open the object under handle fd for I/O with 9P flags lf.
 * Only regular files and directories (only files if reg): opening a
 * fifo or a device could block this single-threaded server or touch
 * hardware.  Returns the open fd and fills *st, or -errno.
 */
static int reopen(struct p9_server *s, int fd, uint32_t lf, int reg,
		  struct stat *st)
{
	char path[PROCPATH];
	int acc = lf & DOTL_ACCMODE, flags, ofd, err;

	if ((err = srv_stat_fd(fd, st)))
		return err;
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (!S_ISREG(st->st_mode) && !S_ISDIR(st->st_mode))
		return -EINVAL;
	if (acc == DOTL_ACCMODE)
		return -EINVAL;
	if (s->cfg.readonly && (acc != O_RDONLY || (lf & DOTL_TRUNC)))
		return -EROFS;
	flags = acc | O_CLOEXEC | O_NOCTTY;
	flags |= (lf & DOTL_TRUNC ? O_TRUNC : 0) |
		 (lf & DOTL_APPEND ? O_APPEND : 0);
	if (!S_ISDIR(st->st_mode) && (lf & DOTL_DIRECTORY))
		return -ENOTDIR;
	if (S_ISDIR(st->st_mode)) {
		if (acc != O_RDONLY || reg)
			return -EISDIR;
		flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
	}
	srv_procpath(path, fd);
	ofd = open(path, flags);
	return ofd < 0 ? -errno : ofd;
}

static uint32_t iounit(const struct p9_server *s)
{
	/* a Twrite of iounit bytes must fit in msize too */
	return s->msize - P9_RWHDRSZ;
}

int srv_lopen(struct p9_server *s, const struct p9_msg *r,
		   struct p9_msg *a)
{
	struct stat st;
	struct fid *f;
	int ofd, err;

	if ((err = srv_fid_path(s, r->u.tlopen.fid, &f)))
		return err;
	if (f->ofd >= 0)
		return -EBADF;
	ofd = reopen(s, f->fd, r->u.tlopen.flags, 0, &st);
	if (ofd < 0)
		return ofd;
	f->ofd = ofd;
	f->dirpos = 0;
	srv_qid_of(s, &st, &a->u.ropen.qid);
	a->u.ropen.iounit = iounit(s);
	return 0;
}

/*
 * Give the new object fd (O_PATH or open) to uid:gid, unless it has that
 * owner already: a filesystem with no owners (FAT) refuses any chown
 * but one to the owner it gives everything.  0, or -1 with errno.
 */
static int own(int fd, uid_t uid, gid_t gid)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (st.st_uid == uid && st.st_gid == gid)
		return 0;
	return fchownat(fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW);
}

/* create_new - O_EXCL-create name in dirfd; returns the open fd. */
static int create_new(struct p9_server *s, int dirfd, const char *name,
		      const struct p9_msg *r)
{
	uint32_t lf = r->u.tlcreate.flags;
	int acc = lf & DOTL_ACCMODE, flags, ofd;

	if (acc == DOTL_ACCMODE)
		return -EINVAL;
	flags = acc | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
		(lf & DOTL_APPEND ? O_APPEND : 0);
	ofd = openat(dirfd, name, flags, r->u.tlcreate.mode & 07777);
	if (ofd < 0)
		return -errno;
	if (own(ofd, s->uid, r->u.tlcreate.gid)) {
		flags = -errno;
		close(ofd);
		unlinkat(dirfd, name, 0);
		return flags;
	}
	return ofd;
}

int srv_lcreate(struct p9_server *s, const struct p9_msg *r,
		     struct p9_msg *a)
{
	char name[NAME_MAX + 1];
	struct stat st;
	struct fid *f;
	int fd, ofd, err;

	if ((err = srv_fid_path(s, r->u.tlcreate.fid, &f)) ||
	    (err = srv_name_get(r->u.tlcreate.name, name)))
		return err;
	if (f->ofd >= 0)
		return -EBADF;
	ofd = create_new(s, f->fd, name, r);
	if (ofd >= 0) {
		fd = fcntl(ofd, F_DUPFD_CLOEXEC, 0);
	} else if (ofd == -EEXIST && !(r->u.tlcreate.flags & DOTL_EXCL)) {
		/* not O_CREAT on an existing name: it could be a fifo */
		fd = openat(f->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		ofd = fd < 0 ? -errno :
		      reopen(s, fd, r->u.tlcreate.flags, 1, &st);
	} else {
		return ofd;
	}
	err = fd < 0 ? -errno : ofd < 0 ? ofd : srv_stat_fd(ofd, &st);
	if (err) {
		if (fd >= 0)
			close(fd);
		if (ofd >= 0)
			close(ofd);
		return err;
	}
	srv_fid_clear(f);
	f->fd = fd;
	f->ofd = ofd;
	srv_qid_of(s, &st, &a->u.ropen.qid);
	a->u.ropen.iounit = iounit(s);
	return 0;
}

int srv_read(struct p9_server *s, const struct p9_msg *r,
		  struct p9_msg *a)
{
	struct fid *f = srv_fid_find(s, r->u.tread.fid);
	uint8_t *buf = s->reply + P9_IOHDRSZ;
	uint32_t count = r->u.tread.count;
	uint64_t off = r->u.tread.offset;
	ssize_t n;

	if (count > s->msize - P9_IOHDRSZ)
		count = s->msize - P9_IOHDRSZ;
	if (f && f->xmode == XA_READ) {
		n = off < f->xsize ? f->xsize - off : 0;
		if (n > count)
			n = count;
		memcpy(buf, f->xbuf + (n ? off : 0), n);
	} else if (f && f->xmode == XA_NONE && f->ofd >= 0) {
		do
			n = pread(f->ofd, buf, count, off);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
	} else {
		return -EBADF;
	}
	a->u.rread.count = n;
	a->u.rread.data = buf;
	return 0;
}

int srv_write(struct p9_server *s, const struct p9_msg *r,
		   struct p9_msg *a)
{
	struct fid *f = srv_fid_find(s, r->u.twrite.fid);
	uint32_t count = r->u.twrite.count;
	uint64_t off = r->u.twrite.offset;
	ssize_t n;

	if (f && f->xmode == XA_WRITE) {
		if (off > f->xsize || count > f->xsize - off)
			return -ENOSPC;
		memcpy(f->xbuf + off, r->u.twrite.data, count);
		if (off + count > f->xlen)
			f->xlen = off + count;
		n = count;
	} else if (f && f->xmode == XA_NONE && f->ofd >= 0) {
		do
			n = pwrite(f->ofd, r->u.twrite.data, count, off);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			return -errno;
	} else {
		return -EBADF;
	}
	a->u.rwrite.count = n;
	return 0;
}

int srv_fsync(struct p9_server *s, const struct p9_msg *r,
		   struct p9_msg *a)
{
	struct fid *f;
	int err;

	(void)a;
	if ((err = srv_fid_path(s, r->u.tfsync.fid, &f)))
		return err;
	if (r->u.tfsync.datasync == P9_FSYNC_COMMIT && s->cfg.commit)
		return srv_commit(s);
	if (f->ofd >= 0)
		err = r->u.tfsync.datasync ? fdatasync(f->ofd) : fsync(f->ofd);
	else	/* an O_PATH handle cannot be synced: sync its fs */
		err = syncfs(s->rootfd);
	return err ? -errno : 0;
}

/* ---- directories ---- */

/*
 * dents_pack - pack the n bytes of getdents64 records in s->dents into
 * the reply at *pos.  *resume is the offset after the last entry taken.
 * Returns 1 if the reply filled up before the records ran out.
 */
static int dents_pack(struct p9_server *s, size_t n, uint32_t cap,
		      size_t *pos, uint64_t *resume)
{
	struct p9_dirent d;
	struct ldirent *e;
	size_t i;

	for (i = 0; i < n; i += e->reclen) {
		e = (struct ldirent *)(s->dents + i);
		d.name = p9_mkstr(e->name);
		d.offset = e->off;
		d.type = e->type;
		d.qid.type = e->type == DT_DIR ? P9_QTDIR :
			     e->type == DT_LNK ? P9_QTSYMLINK : P9_QTFILE;
		d.qid.version = 0;
		d.qid.path = e->ino;
		/* ".", ".." and names over 255 bytes are never sent */
		if (p9_name_ok(d.name) &&
		    !p9_dirent_put(s->reply + P9_IOHDRSZ, cap, pos, &d))
			return 1;
		*resume = e->off;
	}
	return 0;
}

int srv_readdir(struct p9_server *s, const struct p9_msg *r,
		     struct p9_msg *a)
{
	uint32_t cap = r->u.tread.count;
	uint64_t resume = r->u.tread.offset;
	size_t pos = 0, want;
	struct fid *f;
	long n;
	int err, full = 0;

	if ((err = srv_fid_path(s, r->u.tread.fid, &f)))
		return err;
	if (f->ofd < 0)
		return -EBADF;
	if (cap > s->msize - P9_IOHDRSZ)
		cap = s->msize - P9_IOHDRSZ;
	if (resume != f->dirpos &&
	    lseek(f->ofd, (off_t)resume, SEEK_SET) == (off_t)-1)
		return -errno;
	f->dirpos = resume;
	while (!full && pos < cap) {
		want = cap - pos < DENTS_SZ ? cap - pos : DENTS_SZ;
		n = syscall(SYS_getdents64, f->ofd, s->dents, want);
		if (n < 0 && pos == 0)
			return -errno;
		if (n <= 0)
			break;
		full = dents_pack(s, n, cap, &pos, &resume);
	}
	/* entries read but not sent are read again by the next Treaddir */
	if (full && lseek(f->ofd, (off_t)resume, SEEK_SET) == (off_t)-1)
		return -errno;
	f->dirpos = resume;
	if (full && pos == 0)
		return -EINVAL;
	a->u.rread.count = pos;
	a->u.rread.data = s->reply + P9_IOHDRSZ;
	return 0;
}

/*
 * made - finish an object just made as name in dirfd: give it the
 * attach uid and gid, and describe it in q.  On failure it is removed.
 */
static int made(struct p9_server *s, int dirfd, const char *name,
		uint32_t gid, int rmflag, struct p9_qid *q)
{
	struct stat st;
	int fd, err;

	fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		err = -errno;
	else if (own(fd, s->uid, gid))
		err = -errno;
	else
		err = srv_stat_fd(fd, &st);
	if (fd >= 0)
		close(fd);
	if (err) {
		unlinkat(dirfd, name, rmflag);
		return err;
	}
	srv_qid_of(s, &st, q);
	return 0;
}

int srv_mkdir(struct p9_server *s, const struct p9_msg *r,
		   struct p9_msg *a)
{
	char name[NAME_MAX + 1];
	struct fid *f;
	int err;

	if ((err = srv_fid_path(s, r->u.tmkdir.dfid, &f)) ||
	    (err = srv_name_get(r->u.tmkdir.name, name)))
		return err;
	if (mkdirat(f->fd, name, r->u.tmkdir.mode & 07777))
		return -errno;
	return made(s, f->fd, name, r->u.tmkdir.gid, AT_REMOVEDIR, &a->u.qid);
}

int srv_mknod(struct p9_server *s, const struct p9_msg *r,
		   struct p9_msg *a)
{
	uint32_t mode = r->u.tmknod.mode;
	char name[NAME_MAX + 1];
	struct fid *f;
	int err;

	if ((err = srv_fid_path(s, r->u.tmknod.dfid, &f)) ||
	    (err = srv_name_get(r->u.tmknod.name, name)))
		return err;
	switch (mode & S_IFMT) {
	case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK: case S_IFREG:
		break;
	default:
		return -EINVAL;
	}
	if (mknodat(f->fd, name, mode & (S_IFMT | 07777),
		    makedev(r->u.tmknod.major, r->u.tmknod.minor)))
		return -errno;
	return made(s, f->fd, name, r->u.tmknod.gid, 0, &a->u.qid);
}

int srv_symlink(struct p9_server *s, const struct p9_msg *r,
		     struct p9_msg *a)
{
	struct p9_str t = r->u.tsymlink.target;
	char name[NAME_MAX + 1];
	struct fid *f;
	int err;

	if ((err = srv_fid_path(s, r->u.tsymlink.fid, &f)) ||
	    (err = srv_name_get(r->u.tsymlink.name, name)))
		return err;
	if (t.len >= sizeof(s->scratch))
		return -ENAMETOOLONG;
	if (memchr(t.s, '\0', t.len))
		return -EINVAL;
	memcpy(s->scratch, t.s, t.len);
	s->scratch[t.len] = '\0';
	if (symlinkat(s->scratch, f->fd, name))
		return -errno;
	return made(s, f->fd, name, r->u.tsymlink.gid, 0, &a->u.qid);
}

int srv_link(struct p9_server *s, const struct p9_msg *r,
		  struct p9_msg *a)
{
	char name[NAME_MAX + 1], path[PROCPATH];
	struct fid *d, *f;
	int err;

	(void)a;
	if ((err = srv_fid_path(s, r->u.tlink.dfid, &d)) ||
	    (err = srv_fid_path(s, r->u.tlink.fid, &f)) ||
	    (err = srv_name_get(r->u.tlink.name, name)))
		return err;
	srv_procpath(path, f->fd);
	if (linkat(AT_FDCWD, path, d->fd, name, AT_SYMLINK_FOLLOW))
		return -errno;
	return 0;
}

int srv_renameat(struct p9_server *s, const struct p9_msg *r,
		      struct p9_msg *a)
{
	char oname[NAME_MAX + 1], nname[NAME_MAX + 1];
	struct fid *od, *nd;
	int err;

	(void)a;
	if ((err = srv_fid_path(s, r->u.trenameat.olddirfid, &od)) ||
	    (err = srv_fid_path(s, r->u.trenameat.newdirfid, &nd)) ||
	    (err = srv_name_get(r->u.trenameat.oldname, oname)) ||
	    (err = srv_name_get(r->u.trenameat.newname, nname)))
		return err;
	if (renameat(od->fd, oname, nd->fd, nname))
		return -errno;
	return 0;
}

int srv_unlinkat(struct p9_server *s, const struct p9_msg *r,
		      struct p9_msg *a)
{
	char name[NAME_MAX + 1];
	struct fid *d;
	int err;

	(void)a;
	if ((err = srv_fid_path(s, r->u.tunlinkat.dirfid, &d)) ||
	    (err = srv_name_get(r->u.tunlinkat.name, name)))
		return err;
	if (unlinkat(d->fd, name, r->u.tunlinkat.flags & P9_AT_REMOVEDIR ?
				  AT_REMOVEDIR : 0))
		return -errno;
	return 0;
}

/* ---- xattrs ---- */

/*
 * xattr_path - the path the xattr calls act on for f, and whether to use
 * the l* forms: a symlink is named in its parent, which is safe as the
 * name passed p9_name_ok and the parent is a magic link we hold.
 */
static int xattr_path(const struct fid *f, char path[PROCPATH])
{
	if (f->pfd < 0) {
		srv_procpath(path, f->fd);
		return 0;
	}
	snprintf(path, PROCPATH, "/proc/self/fd/%d/%s", f->pfd, f->pname);
	return 1;
}

/*
 * xattr_get - value of name (NULL: the name list) of f's object: on the
 * file itself if the fid has it open (a path through /proc costs a
 * lookup of five names).
 */
static ssize_t xattr_get(const struct fid *f, const char *name, void *v,
			 size_t n)
{
	char path[PROCPATH];

	if (f->pfd < 0 && f->ofd >= 0)
		return name ? fgetxattr(f->ofd, name, v, n) :
			      flistxattr(f->ofd, v, n);
	if (xattr_path(f, path))
		return name ? lgetxattr(path, name, v, n) :
			      llistxattr(path, v, n);
	return name ? getxattr(path, name, v, n) : listxattr(path, v, n);
}

/* xattr_commit - set, or at size 0 remove, the attribute f gathered. */
static int xattr_commit(const struct fid *f)
{
	char path[PROCPATH];
	int lnk, rc;

	if (f->xlen < f->xsize)
		return -EINVAL;
	lnk = xattr_path(f, path);
	if (f->xsize == 0)
		rc = lnk ? lremovexattr(path, f->xname) :
			   removexattr(path, f->xname);
	else
		rc = lnk ? lsetxattr(path, f->xname, f->xbuf, f->xsize,
				     f->xflags) :
			   setxattr(path, f->xname, f->xbuf, f->xsize,
				    f->xflags);
	return rc ? -errno : 0;
}

/*
 * xattr_load - read the value (or list) into nf, in one call: no value
 * or list Linux keeps is larger than XATTR_MAX.
 */
static int xattr_load(struct p9_server *s, const struct fid *f,
		      const char *name, struct fid *nf)
{
	ssize_t n = xattr_get(f, name, s->xattr, XATTR_MAX);

	if (n < 0)
		return -errno;
	nf->xbuf = malloc(n ? n : 1);
	if (!nf->xbuf)
		return -ENOMEM;
	memcpy(nf->xbuf, s->xattr, n);
	nf->xsize = n;
	return 0;
}

static int xname_get(struct p9_str n, char buf[NAME_MAX + 1])
{
	if (n.len > NAME_MAX)
		return -ERANGE;
	if (memchr(n.s, '\0', n.len))
		return -EINVAL;
	memcpy(buf, n.s, n.len);
	buf[n.len] = '\0';
	return 0;
}

int srv_xattrwalk(struct p9_server *s, const struct p9_msg *r,
		       struct p9_msg *a)
{
	char name[NAME_MAX + 1];
	struct fid *f, *nf;
	int err;

	if ((err = srv_fid_path(s, r->u.txattrwalk.fid, &f)) ||
	    (err = xname_get(r->u.txattrwalk.name, name)))
		return err;
	if (srv_fid_find(s, r->u.txattrwalk.newfid))
		return -EBADF;
	if ((err = srv_fid_add(s, r->u.txattrwalk.newfid, &nf)))
		return err;
	err = xattr_load(s, f, name[0] ? name : NULL, nf);
	if (err) {
		srv_fid_drop(s, nf);
		return err;
	}
	nf->xmode = XA_READ;
	a->u.rxattrwalk.size = nf->xsize;
	return 0;
}

int srv_xattrcreate(struct p9_server *s, const struct p9_msg *r,
			 struct p9_msg *a)
{
	uint64_t size = r->u.txattrcreate.attr_size;
	uint32_t flags = r->u.txattrcreate.flags;
	char name[NAME_MAX + 1];
	struct fid *f;
	int err;

	(void)a;
	if ((err = srv_fid_path(s, r->u.txattrcreate.fid, &f)) ||
	    (err = xname_get(r->u.txattrcreate.name, name)))
		return err;
	if (!name[0] || (flags & ~(XATTR_CREATE | XATTR_REPLACE)))
		return -EINVAL;
	if (size > XATTR_MAX)
		return -E2BIG;
	f->xname = strdup(name);
	f->xbuf = malloc(size ? size : 1);
	if (!f->xname || !f->xbuf) {
		free(f->xname);
		free(f->xbuf);
		f->xname = NULL;
		f->xbuf = NULL;
		return -ENOMEM;
	}
	srv_closep(&f->ofd);
	f->xmode = XA_WRITE;
	f->xsize = size;
	f->xlen = 0;
	f->xflags = flags;
	return 0;
}

int srv_clunk(struct p9_server *s, const struct p9_msg *r,
		   struct p9_msg *a)
{
	struct fid *f = srv_fid_find(s, r->u.fid.fid);
	int err = 0;

	(void)a;
	if (!f)
		return -EBADF;
	if (f->xmode == XA_WRITE)
		err = xattr_commit(f);
	srv_fid_drop(s, f);
	return err;
}

