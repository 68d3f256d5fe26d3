/*
 * client.h - 9P2000.L client over an fd pair.
 *
 * The server is not trusted: every reply is matched to the request it
 * answers (tag, type), every count is checked against what was asked, and
 * every name a reply carries is checked before a caller sees it.  A
 * malformed reply is an error (-EPROTO) and ends the connection; it is
 * never a crash or an out-of-bounds read.  Every wait has a timeout
 * (-ETIMEDOUT, which also ends the connection).
 *
 * The client is safe for use by several threads at once.  Requests from
 * different threads, and the reads of one p9_read_stream, are in flight
 * together; a receiver thread hands each reply to its waiter.
 *
 * All calls return 0 (or a count) on success and -errno on failure: the
 * errno the server sent in Rlerror, or a local one.  Fids are numbers the
 * client allocates; every fid a call returns must be given back with
 * p9_clunk.
 */
#ifndef QEMOUNT_P9_CLIENT_H
#define QEMOUNT_P9_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "p9.h"

#define P9_CLIENT_MSIZE	(1024 * 1024 + P9_RWHDRSZ)
#define P9_CLIENT_INFLIGHT 16
#define P9_CLIENT_TIMEOUT_MS 60000
#define P9_XATTR_MAX	65536	/* largest xattr value or list (Linux) */

struct p9_client;

struct p9_client_config {
	uint32_t msize;		/* asked for; 0: P9_CLIENT_MSIZE */
	unsigned inflight;	/* most requests in flight; 0: P9_CLIENT_INFLIGHT */
	int timeout_ms;		/* longest wait for one reply; 0: default */
};

/*
 * p9_client_new - negotiate a session on rfd/wfd (Tversion) and start the
 * receiver.  The fds are borrowed: the caller closes them after
 * p9_client_free.  cfg may be NULL.  Returns 0 and sets *out, -EPROTO if
 * the server does not speak 9P2000.L with an acceptable msize, or -errno.
 */
int p9_client_new(int rfd, int wfd, const struct p9_client_config *cfg,
		  struct p9_client **out);

/* p9_client_free - stop the receiver and release c.  NULL is allowed. */
void p9_client_free(struct p9_client *c);

/* p9_client_msize - the msize both sides agreed on. */
uint32_t p9_client_msize(const struct p9_client *c);

/* p9_client_error - 0 while usable, else why the connection ended. */
int p9_client_error(struct p9_client *c);

/*
 * p9_client_ended_here - 1 if c's connection ended on a call made on
 * this thread, since this was last asked on this thread; else 0.  Of
 * several threads in flight, it says whose request the failure is
 * pinned on, while every other call fails with it too: the request
 * whose reply broke the protocol; or, when the link died (end of
 * stream, no reply in time), every request then unanswered (one of
 * them is the one the server was at).
 */
int p9_client_ended_here(struct p9_client *c);

/* p9_attach - attach to the server's tree as n_uname; *fid is the root. */
int p9_attach(struct p9_client *c, uint32_t n_uname, const char *aname,
	      uint32_t *fid, struct p9_qid *qid);

/*
 * p9_walk - walk n (<= P9_MAXWELEM) names from fid to a new fid, *newfid.
 * n == 0 clones fid.  Names must be single components or "..".  A walk
 * that stops short creates no fid and fails with the errno of the name
 * it stopped at.  qid, if not NULL, receives the qid of the last element.
 */
int p9_walk(struct p9_client *c, uint32_t fid, unsigned n,
	    const char *const *names, uint32_t *newfid, struct p9_qid *qid);

/* p9_clunk - release fid.  The fid is given back even if this fails. */
int p9_clunk(struct p9_client *c, uint32_t fid);

/*
 * p9_getattr - attributes of fid.  The reply must carry a known file type
 * in mode, a size an off_t holds and nanoseconds under a second.
 */
int p9_getattr(struct p9_client *c, uint32_t fid, struct p9_attr *a);

/* p9_setattr - change what a->valid names (P9_SETATTR_*). */
int p9_setattr(struct p9_client *c, uint32_t fid, const struct p9_iattr *a);

/* p9_lopen - open fid with Linux open flags; iounit may be NULL. */
int p9_lopen(struct p9_client *c, uint32_t fid, uint32_t flags,
	     struct p9_qid *qid, uint32_t *iounit);

/*
 * p9_lcreate - create and open name in directory fid; fid then refers to
 * the new file.
 */
int p9_lcreate(struct p9_client *c, uint32_t fid, const char *name,
	       uint32_t flags, uint32_t mode, uint32_t gid,
	       struct p9_qid *qid);

/*
 * p9_read - read up to count bytes at off from an opened fid into buf.
 * Returns the number read (0 at end of file), at most count, and at most
 * msize - P9_RWHDRSZ in one call.
 */
ssize_t p9_read(struct p9_client *c, uint32_t fid, uint64_t off, void *buf,
		size_t count);

/*
 * p9_write - write up to count bytes at off; returns the number written,
 * at most msize - P9_RWHDRSZ in one call.
 */
ssize_t p9_write(struct p9_client *c, uint32_t fid, uint64_t off,
		 const void *buf, size_t count);

/*
 * p9_read_stream - read an opened fid from off for len bytes or until end
 * of file, keeping up to depth reads of msize in flight (0: the client's
 * in-flight limit).  Each piece is handed to fn in file order; its data
 * lives until fn returns.  fn returns 0 to go on or -errno to stop, and
 * that value is returned.  Returns the number of bytes read, or -errno.
 */
typedef int p9_data_fn(void *arg, const void *data, size_t n);
int64_t p9_read_stream(struct p9_client *c, uint32_t fid, uint64_t off,
		       uint64_t len, unsigned depth, p9_data_fn *fn, void *arg);

/*
 * p9_readdir - one Treaddir on an opened directory fid, from *offset (0 is
 * the start).  fn sees each entry with a checked name; "." and ".." are
 * skipped.  *offset is moved past the last entry.  Returns the number of
 * entries the reply held (0 at the end of the directory), or -errno; a
 * name that is empty, longer than 255 bytes or holds '/' or NUL is -EPROTO.
 * fn returns 0 to go on or -errno to stop (that value is returned).
 */
typedef int p9_dirent_fn(void *arg, const struct p9_dirent *d);
int p9_readdir(struct p9_client *c, uint32_t fid, uint64_t *offset,
	       p9_dirent_fn *fn, void *arg);

/*
 * p9_readlink - target of symlink fid into buf (cap bytes, NUL-terminated).
 * A target that is empty, holds NUL or does not fit is an error.
 */
int p9_readlink(struct p9_client *c, uint32_t fid, char *buf, size_t cap);

int p9_symlink(struct p9_client *c, uint32_t dfid, const char *name,
	       const char *target, uint32_t gid, struct p9_qid *qid);
int p9_mknod(struct p9_client *c, uint32_t dfid, const char *name,
	     uint32_t mode, uint32_t major, uint32_t minor, uint32_t gid,
	     struct p9_qid *qid);
int p9_mkdir(struct p9_client *c, uint32_t dfid, const char *name,
	     uint32_t mode, uint32_t gid, struct p9_qid *qid);
int p9_link(struct p9_client *c, uint32_t dfid, uint32_t fid,
	    const char *name);
int p9_renameat(struct p9_client *c, uint32_t olddfid, const char *oldname,
		uint32_t newdfid, const char *newname);
int p9_unlinkat(struct p9_client *c, uint32_t dfid, const char *name,
		uint32_t flags);
int p9_statfs(struct p9_client *c, uint32_t fid, struct p9_statfs *st);
int p9_fsync(struct p9_client *c, uint32_t fid, int datasync);

/*
 * p9_commit - ask our own server to end the export (P9_FSYNC_COMMIT:
 * the guest unmounts, and builds the image if it stages one) and wait
 * up to timeout_ms (0: the client's timeout) for its verdict: 0 when
 * the image is complete and clean.  Every fid is gone afterwards; do
 * not clunk them.
 */
int p9_commit(struct p9_client *c, uint32_t fid, int timeout_ms);

/*
 * p9_xattr_get - value of xattr name of fid into buf (cap bytes); name
 * NULL or "" lists the names instead (NUL-separated).  buf NULL asks for
 * the size only.  Returns the size, -ERANGE if it does not fit.
 */
ssize_t p9_xattr_get(struct p9_client *c, uint32_t fid, const char *name,
		     void *buf, size_t cap);

/*
 * p9_xattr_set - set xattr name of fid to value[0..size) with setxattr(2)
 * flags; size 0 with XATTR_REPLACE removes it.
 */
int p9_xattr_set(struct p9_client *c, uint32_t fid, const char *name,
		 const void *value, size_t size, uint32_t flags);

#endif
