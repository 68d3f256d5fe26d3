/*
 * server.c - a single-process 9P2000.L file server over an fd pair.
 *
 * Serves the message set of p9.h as the Linux kernel client and diod's
 * protocol.md describe it.  Requests are answered one at a time, in
 * arrival order, so Tflush never finds work in flight.  Replies are
 * gathered and written together while more requests are waiting: on a
 * virtio port each write(2) costs the guest an exit to the host and an
 * interrupt.
 *
 * Each fid holds an O_PATH|O_NOFOLLOW handle (a file Tlcreate made: a
 * dup of the open file).  Objects are reached only by openat() of one
 * checked name from a handle already held, starting at the root; ".."
 * at the root stays there.  Files are opened for I/O by reopening
 * "/proc/self/fd/N", which names the held inode and no path the client
 * chose.  The one composed path is for xattrs on a
 * symlink: "/proc/self/fd/<parent>/<name>" with a name checked by
 * p9_name_ok, acted on with the l*xattr calls.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
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

/* ---- fids ---- */

static unsigned bucket(uint32_t num)
{
	return (num * 2654435761u) >> 24;
}

struct fid *srv_fid_find(struct p9_server *s, uint32_t num)
{
	struct fid *f;

	for (f = s->fids[bucket(num)]; f; f = f->next)
		if (f->num == num)
			return f;
	return NULL;
}

void srv_closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* srv_fid_clear - close and free what f holds; f stays a valid empty fid. */
void srv_fid_clear(struct fid *f)
{
	srv_closep(&f->fd);
	srv_closep(&f->ofd);
	srv_closep(&f->pfd);
	free(f->pname);
	free(f->xname);
	free(f->xbuf);
	f->pname = f->xname = NULL;
	f->xbuf = NULL;
	f->xmode = XA_NONE;
	f->xsize = f->xlen = 0;
	f->dirpos = 0;
}

int srv_fid_add(struct p9_server *s, uint32_t num, struct fid **out)
{
	struct fid *f;

	if (num == P9_NOFID || srv_fid_find(s, num))
		return -EBADF;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->num = num;
	f->fd = f->ofd = f->pfd = -1;
	f->next = s->fids[bucket(num)];
	s->fids[bucket(num)] = f;
	*out = f;
	return 0;
}

void srv_fid_drop(struct p9_server *s, struct fid *f)
{
	struct fid **pp = &s->fids[bucket(f->num)];

	while (*pp != f)
		pp = &(*pp)->next;
	*pp = f->next;
	srv_fid_clear(f);
	free(f);
}

static void fids_drop_all(struct p9_server *s)
{
	unsigned i;

	for (i = 0; i < NBUCKET; i++)
		while (s->fids[i])
			srv_fid_drop(s, s->fids[i]);
}

/* srv_fid_path - the fid num if it names a file (not an xattr), else -EBADF. */
int srv_fid_path(struct p9_server *s, uint32_t num, struct fid **out)
{
	struct fid *f = srv_fid_find(s, num);

	if (!f || f->fd < 0 || f->xmode != XA_NONE)
		return -EBADF;
	*out = f;
	return 0;
}

/* ---- helpers ---- */

void srv_procpath(char *buf, int fd)
{
	snprintf(buf, PROCPATH, "/proc/self/fd/%d", fd);
}

/* srv_name_get - copy n into buf as a C string if it is one path component. */
int srv_name_get(struct p9_str n, char buf[NAME_MAX + 1])
{
	if (n.len > NAME_MAX)
		return -ENAMETOOLONG;
	if (!p9_name_ok(n))
		return -EINVAL;
	memcpy(buf, n.s, n.len);
	buf[n.len] = '\0';
	return 0;
}

/*
 * The qid of st: its inode number, unique within one filesystem.  Below
 * the root another filesystem may be mounted (the guest serves each
 * partition of a disk at /mnt/N): its inode numbers get the device
 * number in their top 16 bits, so a hardlink or loop check on the
 * client never takes two files of two filesystems for one.
 */
void srv_qid_of(const struct p9_server *s, const struct stat *st,
		struct p9_qid *q)
{
	uint64_t dev = (uint64_t)major(st->st_dev) << 8 ^ minor(st->st_dev);

	q->type = S_ISDIR(st->st_mode) ? P9_QTDIR :
		  S_ISLNK(st->st_mode) ? P9_QTSYMLINK : P9_QTFILE;
	q->version = 0;
	q->path = st->st_ino;
	if (st->st_dev != s->root_dev)
		q->path ^= (dev & 0xffff) << 48;
}

int srv_stat_fd(int fd, struct stat *st)
{
	if (fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW))
		return -errno;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= w;
	}
	return 0;
}

/* ---- session ---- */

static int srv_version(struct p9_server *s, const struct p9_msg *r,
		     struct p9_msg *a)
{
	uint32_t msize = r->u.version.msize;

	if (msize < P9_MINMSIZE)
		return -EINVAL;
	fids_drop_all(s);
	s->msize = msize < s->cfg.max_msize ? msize : s->cfg.max_msize;
	a->u.version.msize = s->msize;
	a->u.version.version = p9_mkstr(
		p9_str_eq(r->u.version.version, P9_VERSION) ? P9_VERSION :
							      "unknown");
	return 0;
}

static int srv_attach(struct p9_server *s, const struct p9_msg *r,
		    struct p9_msg *a)
{
	struct stat st;
	struct fid *f;
	int fd, err;

	if (s->cfg.attach_errno)
		return -abs(s->cfg.attach_errno);
	if (srv_fid_find(s, r->u.tattach.fid))
		return -EBADF;
	fd = openat(s->rootfd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = srv_stat_fd(fd, &st);
	if (!err)
		err = srv_fid_add(s, r->u.tattach.fid, &f);
	if (err) {
		close(fd);
		return err;
	}
	f->fd = fd;
	s->uid = r->u.tattach.n_uname;
	srv_qid_of(s, &st, &a->u.qid);
	return 0;
}

static int srv_flush(struct p9_server *s, const struct p9_msg *r,
		   struct p9_msg *a)
{
	(void)s;
	(void)r;
	(void)a;
	return 0;
}

/* ---- walk ---- */

struct walk {
	int fd, pfd;
	char *pname;
};

static void walk_free(struct walk *w)
{
	srv_closep(&w->fd);
	srv_closep(&w->pfd);
	free(w->pname);
	w->pname = NULL;
}

/* walk_up - a handle on the parent of fd; the root is its own parent. */
static int walk_up(struct p9_server *s, int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return -1;
	if (st.st_dev == s->root_dev && st.st_ino == s->root_ino)
		return fcntl(fd, F_DUPFD_CLOEXEC, 0);
	return openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
}

static int walk_step(struct p9_server *s, struct walk *w, struct p9_str n,
		     struct p9_qid *q)
{
	char name[NAME_MAX + 1];
	struct stat st;
	int fd, err;

	name[0] = '\0';
	if (p9_str_eq(n, ".."))
		fd = walk_up(s, w->fd);
	else if ((err = srv_name_get(n, name)))
		return err;
	else
		fd = openat(w->fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = srv_stat_fd(fd, &st);
	if (!err && S_ISLNK(st.st_mode)) {
		/* a symlink ends any walk: keep its parent for l*xattr */
		free(w->pname);
		srv_closep(&w->pfd);
		w->pname = strdup(name);
		if (!w->pname)
			err = -ENOMEM;
		w->pfd = w->fd;
		w->fd = -1;
	}
	if (err) {
		close(fd);
		return err;
	}
	srv_closep(&w->fd);
	w->fd = fd;
	srv_qid_of(s, &st, q);
	return 0;
}

static int walk_start(const struct fid *f, struct walk *w)
{
	w->fd = fcntl(f->fd, F_DUPFD_CLOEXEC, 0);
	w->pfd = -1;
	w->pname = NULL;
	if (w->fd < 0)
		return -errno;
	if (f->pfd < 0)
		return 0;
	w->pfd = fcntl(f->pfd, F_DUPFD_CLOEXEC, 0);
	w->pname = strdup(f->pname);
	if (w->pfd >= 0 && w->pname)
		return 0;
	walk_free(w);
	return -ENOMEM;
}

static int srv_walk(struct p9_server *s, const struct p9_msg *r,
		  struct p9_msg *a)
{
	uint32_t newfid = r->u.twalk.newfid;
	struct walk w;
	struct fid *f, *nf;
	uint16_t i;
	int err;

	if ((err = srv_fid_path(s, r->u.twalk.fid, &f)))
		return err;
	if (newfid != f->num && srv_fid_find(s, newfid))
		return -EBADF;
	if ((err = walk_start(f, &w)))
		return err;
	for (i = 0; i < r->u.twalk.nwname; i++)
		if ((err = walk_step(s, &w, r->u.twalk.wname[i],
				     &a->u.rwalk.wqid[i])))
			break;
	a->u.rwalk.nwqid = i;
	if (i < r->u.twalk.nwname) {
		walk_free(&w);
		return i == 0 ? err : 0;
	}
	nf = f;
	if (newfid != f->num && (err = srv_fid_add(s, newfid, &nf))) {
		walk_free(&w);
		return err;
	}
	srv_fid_clear(nf);
	nf->fd = w.fd;
	nf->pfd = w.pfd;
	nf->pname = w.pname;
	return 0;
}

/* ---- dispatch ---- */

typedef int handler_fn(struct p9_server *, const struct p9_msg *,
		       struct p9_msg *);

static const struct {
	handler_fn *fn;
	int modifies;		/* refused with EROFS on a readonly export */
} handlers[256] = {
	[P9_TSTATFS] = { srv_statfs, 0 },
	[P9_TLOPEN] = { srv_lopen, 0 },	/* checks its own flags */
	[P9_TLCREATE] = { srv_lcreate, 1 },
	[P9_TSYMLINK] = { srv_symlink, 1 },
	[P9_TMKNOD] = { srv_mknod, 1 },
	[P9_TREADLINK] = { srv_readlink, 0 },
	[P9_TGETATTR] = { srv_getattr, 0 },
	[P9_TSETATTR] = { srv_setattr, 1 },
	[P9_TXATTRWALK] = { srv_xattrwalk, 0 },
	[P9_TXATTRCREATE] = { srv_xattrcreate, 1 },
	[P9_TREADDIR] = { srv_readdir, 0 },
	[P9_TFSYNC] = { srv_fsync, 0 },
	[P9_TLINK] = { srv_link, 1 },
	[P9_TMKDIR] = { srv_mkdir, 1 },
	[P9_TRENAMEAT] = { srv_renameat, 1 },
	[P9_TUNLINKAT] = { srv_unlinkat, 1 },
	[P9_TVERSION] = { srv_version, 0 },
	[P9_TATTACH] = { srv_attach, 0 },
	[P9_TFLUSH] = { srv_flush, 0 },
	[P9_TWALK] = { srv_walk, 0 },
	[P9_TREAD] = { srv_read, 0 },
	[P9_TWRITE] = { srv_write, 1 },
	[P9_TCLUNK] = { srv_clunk, 0 },
};

/* input_waiting - can fd be read without waiting? */
static int input_waiting(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

/* flush - write the replies gathered in out. */
static int flush(struct p9_server *s, int wfd)
{
	int err = write_all(wfd, s->out, s->outlen);

	s->outlen = 0;
	return err;
}

/* answer - handle the frame buf[0..len), its reply added to out. */
static int answer(struct p9_server *s, const uint8_t *buf, size_t len,
		  int wfd)
{
	uint8_t type = buf[4];
	struct p9_msg r, a;
	int n, err;

	/* out holds OUT_BATCH bytes and one largest reply more */
	if (s->outlen > OUT_BATCH && (err = flush(s, wfd)))
		return err;
	s->reply = s->out + s->outlen;
	memset(&a, 0, sizeof(a));
	if (!handlers[type].fn)
		err = -EOPNOTSUPP;
	else if (p9_decode(buf, len, &r))
		err = -EINVAL;
	else if (s->cfg.readonly && handlers[type].modifies)
		err = -EROFS;
	else
		err = handlers[type].fn(s, &r, &a);
	a.type = err ? P9_RLERROR : type + 1;
	a.tag = buf[5] | buf[6] << 8;
	if (err)
		a.u.rlerror.ecode = -err;
	n = p9_encode(s->reply, s->msize, &a);
	if (n < 0) {
		a.type = P9_RLERROR;
		a.u.rlerror.ecode = -n;
		n = p9_encode(s->reply, s->msize, &a);
	}
	s->outlen += n;
	return 0;
}

/* answer_all - answer every whole frame of in[0..*have), keep the rest. */
static int answer_all(struct p9_server *s, size_t *have, int wfd)
{
	size_t pos = 0;
	uint32_t size;
	int err;

	while (*have - pos >= 4) {
		size = p9_frame_size(s->in + pos, *have - pos);
		if (size < P9_HDRSZ || size > s->msize)
			return -EPROTO;
		if (size > *have - pos)
			break;
		if ((err = answer(s, s->in + pos, size, wfd)))
			return err;
		pos += size;
	}
	/* only what was answered goes: a frame still arriving stays put,
	 * or a large Twrite would be moved once per read that adds to it */
	if (pos) {
		memmove(s->in, s->in + pos, *have - pos);
		*have -= pos;
	}
	return 0;
}

/*
 * srv_commit - end the export for cfg.commit: nothing of the tree stays
 * open here (an unmount would fail EBUSY), then the owner's verdict.
 */
int srv_commit(struct p9_server *s)
{
	fids_drop_all(s);
	if (s->rootfd >= 0)
		close(s->rootfd);
	s->rootfd = -1;
	return s->cfg.commit(s->cfg.commit_arg);
}

int p9_server_serve(struct p9_server *s, int rfd, int wfd)
{
	size_t have = 0;
	ssize_t n;
	int err;

	umask(0);	/* created objects get exactly the mode asked for */
	s->msize = s->cfg.max_msize;
	for (;;) {
		n = read(rfd, s->in + have, s->cfg.max_msize - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : have ? -EPROTO : 0;
			break;
		}
		have += n;
		if ((err = answer_all(s, &have, wfd)))
			break;
		/* the replies wait while the next requests are already here,
		 * but not for the rest of a frame: that may take many reads */
		if (s->outlen && (have || !input_waiting(rfd)) &&
		    (err = flush(s, wfd)))
			break;
	}
	fids_drop_all(s);
	return err;
}

int p9_server_new(const struct p9_server_config *cfg, struct p9_server **out)
{
	struct p9_server *s;
	struct stat st;
	int err = -ENOMEM;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->cfg = *cfg;
	if (!s->cfg.max_msize)
		s->cfg.max_msize = P9_SERVER_MSIZE;
	s->msize = s->cfg.max_msize;
	s->uid = (uid_t)-1;
	if (s->cfg.max_msize < P9_MINMSIZE) {
		err = -EINVAL;
		goto err_s;
	}
	s->rootfd = openat(cfg->rootfd, ".",
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->rootfd < 0 || fstat(s->rootfd, &st)) {
		err = -errno;
		goto err_root;
	}
	s->root_dev = st.st_dev;
	s->root_ino = st.st_ino;
	s->in = malloc(s->cfg.max_msize);
	s->out = malloc(s->cfg.max_msize + OUT_BATCH);
	s->dents = malloc(DENTS_SZ);
	s->xattr = malloc(XATTR_MAX);
	if (!s->in || !s->out || !s->dents || !s->xattr)
		goto err_bufs;
	*out = s;
	return 0;

err_bufs:
	free(s->xattr);
	free(s->dents);
	free(s->out);
	free(s->in);
err_root:
	if (s->rootfd >= 0)
		close(s->rootfd);
err_s:
	free(s);
	return err;
}

void p9_server_free(struct p9_server *s)
{
	if (!s)
		return;
	fids_drop_all(s);
	if (s->rootfd >= 0)
		close(s->rootfd);
	free(s->xattr);
	free(s->dents);
	free(s->out);
	free(s->in);
	free(s);
}
