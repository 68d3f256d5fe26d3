/*
 * client_ops.c - one function per 9P2000.L call, over client.c's
 * transport.  Each checks what its reply may hold beyond what the codec
 * checks: counts within what was asked, names that are single components,
 * file types that exist.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client_int.h"

static int fid_get(struct p9_client *c, uint32_t *fid)
{
	int e = 0;

	pthread_mutex_lock(&c->lock);
	if (c->nfree)
		*fid = c->free_fids[--c->nfree];
	else if (c->next_fid == P9_NOFID)
		e = -EMFILE;
	else
		*fid = c->next_fid++;
	pthread_mutex_unlock(&c->lock);
	return e;
}

static void fid_put(struct p9_client *c, uint32_t fid)
{
	pthread_mutex_lock(&c->lock);
	if (c->nfree == c->capfree) {
		size_t cap = c->capfree ? c->capfree * 2 : 64;
		uint32_t *n = realloc(c->free_fids, cap * sizeof(*n));

		if (!n) {	/* the number is lost, not reused: harmless */
			pthread_mutex_unlock(&c->lock);
			return;
		}
		c->free_fids = n;
		c->capfree = cap;
	}
	c->free_fids[c->nfree++] = fid;
	pthread_mutex_unlock(&c->lock);
}

/* A name we send: one component, bounded. */
static int name_arg(const char *name, struct p9_str *s)
{
	if (!name || strlen(name) > 255)
		return name ? -ENAMETOOLONG : -EINVAL;
	*s = p9_mkstr(name);
	return p9_name_ok(*s) ? 0 : -EINVAL;
}

int p9_attach(struct p9_client *c, uint32_t n_uname, const char *aname,
	      uint32_t *fid, struct p9_qid *qid)
{
	struct p9_msg t = { .type = P9_TATTACH }, r;
	int e;

	if (aname && strlen(aname) >= PATH_TARGET_MAX)
		return -ENAMETOOLONG;
	e = fid_get(c, &t.u.tattach.fid);
	if (e)
		return e;
	t.u.tattach.afid = P9_NOFID;
	t.u.tattach.uname = p9_mkstr("");
	t.u.tattach.aname = p9_mkstr(aname);
	t.u.tattach.n_uname = n_uname;
	e = p9_call(c, &t, &r);
	if (e) {
		fid_put(c, t.u.tattach.fid);
		return e;
	}
	*fid = t.u.tattach.fid;
	if (qid)
		*qid = r.u.qid;
	return 0;
}

/*
 * A walk that stopped after ok of its names says nothing of why: walk to
 * where it stopped and try the next name alone, whose Rlerror does.
 */
static int walk_errno(struct p9_client *c, uint32_t fid, unsigned ok,
		      const char *const *names)
{
	uint32_t at, next;
	int e;

	if (ok == 0)	/* the server should have sent Rlerror */
		return -ENOENT;
	e = p9_walk(c, fid, ok, names, &at, NULL);
	if (e)
		return e;
	e = p9_walk(c, at, 1, names + ok, &next, NULL);
	if (!e) {	/* it worked this time: the tree changed under us */
		p9_clunk(c, next);
		e = -ENOENT;
	}
	p9_clunk(c, at);
	return e;
}

int p9_walk(struct p9_client *c, uint32_t fid, unsigned n,
	    const char *const *names, uint32_t *newfid, struct p9_qid *qid)
{
	struct p9_msg t = { .type = P9_TWALK }, r;
	unsigned i;
	int e;

	if (n > P9_MAXWELEM)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		e = names[i] && strcmp(names[i], "..") == 0 ?
		    (t.u.twalk.wname[i] = p9_mkstr(".."), 0) :
		    name_arg(names[i], &t.u.twalk.wname[i]);
		if (e)
			return e;
	}
	e = fid_get(c, &t.u.twalk.newfid);
	if (e)
		return e;
	t.u.twalk.fid = fid;
	t.u.twalk.nwname = n;
	e = p9_call(c, &t, &r);
	if (!e && r.u.rwalk.nwqid > n)
		e = p9_fail(c, -EPROTO);
	else if (!e && r.u.rwalk.nwqid < n)	/* creates no fid */
		e = walk_errno(c, fid, r.u.rwalk.nwqid, names);
	if (e) {
		fid_put(c, t.u.twalk.newfid);
		return e;
	}
	*newfid = t.u.twalk.newfid;
	if (qid && n)
		*qid = r.u.rwalk.wqid[n - 1];
	return 0;
}

int p9_clunk(struct p9_client *c, uint32_t fid)
{
	struct p9_msg t = { .type = P9_TCLUNK }, r;
	int e;

	t.u.fid.fid = fid;
	e = p9_call(c, &t, &r);
	/* after Tclunk the fid is gone whatever the reply (9P2000 clunk(5)) */
	fid_put(c, fid);
	return e;
}

static int known_type(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
	case S_IFBLK: case S_IFIFO: case S_IFSOCK:
		return 1;
	}
	return 0;
}

int p9_getattr(struct p9_client *c, uint32_t fid, struct p9_attr *a)
{
	struct p9_msg t = { .type = P9_TGETATTR }, r;
	int e;

	t.u.tgetattr.fid = fid;
	t.u.tgetattr.request_mask = P9_GETATTR_BASIC;
	e = p9_call(c, &t, &r);
	if (e)
		return e;
	if (!known_type(r.u.rgetattr.mode) ||
	    r.u.rgetattr.size > INT64_MAX ||	/* no off_t holds it */
	    r.u.rgetattr.mtime_nsec >= 1000000000 ||
	    r.u.rgetattr.atime_nsec >= 1000000000 ||
	    r.u.rgetattr.ctime_nsec >= 1000000000)
		return p9_fail(c, -EPROTO);
	*a = r.u.rgetattr;
	return 0;
}

int p9_setattr(struct p9_client *c, uint32_t fid, const struct p9_iattr *a)
{
	struct p9_msg t = { .type = P9_TSETATTR }, r;

	t.u.tsetattr.fid = fid;
	t.u.tsetattr.attr = *a;
	return p9_call(c, &t, &r);
}

int p9_lopen(struct p9_client *c, uint32_t fid, uint32_t flags,
	     struct p9_qid *qid, uint32_t *iounit)
{
	struct p9_msg t = { .type = P9_TLOPEN }, r;
	int e;

	t.u.tlopen.fid = fid;
	t.u.tlopen.flags = flags;
	e = p9_call(c, &t, &r);
	if (e)
		return e;
	if (qid)
		*qid = r.u.ropen.qid;
	if (iounit)
		*iounit = r.u.ropen.iounit;
	return 0;
}

int p9_lcreate(struct p9_client *c, uint32_t fid, const char *name,
	       uint32_t flags, uint32_t mode, uint32_t gid,
	       struct p9_qid *qid)
{
	struct p9_msg t = { .type = P9_TLCREATE }, r;
	int e = name_arg(name, &t.u.tlcreate.name);

	if (e)
		return e;
	t.u.tlcreate.fid = fid;
	t.u.tlcreate.flags = flags;
	t.u.tlcreate.mode = mode;
	t.u.tlcreate.gid = gid;
	e = p9_call(c, &t, &r);
	if (!e && qid)
		*qid = r.u.ropen.qid;
	return e;
}

static size_t read_max(const struct p9_client *c)
{
	return c->msize - P9_RWHDRSZ;
}

/* Send a Tread or Treaddir for count bytes (count <= read_max). */
static int send_read(struct p9_client *c, uint8_t type, uint32_t fid,
		     uint64_t off, uint32_t count)
{
	struct p9_msg t = { .type = type };

	t.u.tread.fid = fid;
	t.u.tread.offset = off;
	t.u.tread.count = count;
	return p9_send(c, &t, P9_IOHDRSZ + (size_t)count);
}

/* Wait for an Rread/Rreaddir in slot i that must hold <= asked bytes. */
static int wait_read(struct p9_client *c, int i, uint32_t asked,
		     struct p9_msg *r)
{
	int e = p9_wait(c, i, r);

	if (!e && r->u.rread.count > asked)
		e = p9_fail(c, -EPROTO);
	return e;
}

ssize_t p9_read(struct p9_client *c, uint32_t fid, uint64_t off, void *buf,
		size_t count)
{
	struct p9_msg r;
	int i, e;

	if (count > read_max(c))
		count = read_max(c);
	i = send_read(c, P9_TREAD, fid, off, count);
	if (i < 0)
		return i;
	e = wait_read(c, i, count, &r);
	if (!e && r.u.rread.count)
		memcpy(buf, r.u.rread.data, r.u.rread.count);
	p9_slot_put(c, i);
	return e ? e : (ssize_t)r.u.rread.count;
}

ssize_t p9_write(struct p9_client *c, uint32_t fid, uint64_t off,
		 const void *buf, size_t count)
{
	struct p9_msg t = { .type = P9_TWRITE }, r;
	int e;

	if (count > c->msize - P9_RWHDRSZ)
		count = c->msize - P9_RWHDRSZ;
	t.u.twrite.fid = fid;
	t.u.twrite.offset = off;
	t.u.twrite.count = count;
	t.u.twrite.data = buf;
	e = p9_call(c, &t, &r);
	if (e)
		return e;
	if (r.u.rwrite.count > count)
		return p9_fail(c, -EPROTO);
	return r.u.rwrite.count;
}

struct inflight {
	int slot;
	uint32_t asked;
};

/*
 * One pipelined run from *pos: keep up to max reads in flight, deliver in
 * order.  Stops issuing at a short read; what was sent after it is
 * drained and dropped.  Returns 1 at end of file, 0 if the run stopped
 * short (or reached end) and -errno on failure.
 */
static int stream_run(struct p9_client *c, uint32_t fid, uint64_t *pos,
		      uint64_t end, struct inflight *q, unsigned max,
		      p9_data_fn *fn, void *arg)
{
	uint64_t next = *pos;
	unsigned head = 0, n = 0;
	int stop = 0, res = 0, e, i;
	struct inflight in;
	struct p9_msg r;

	for (;;) {
		while (!stop && n < max && next < end) {
			in.asked = end - next < read_max(c) ? end - next :
							      read_max(c);
			in.slot = send_read(c, P9_TREAD, fid, next, in.asked);
			if (in.slot < 0) {
				res = in.slot;
				stop = 1;
				break;
			}
			q[(head + n++) % max] = in;
			next += in.asked;
		}
		if (!n)
			return res;
		in = q[head];
		head = (head + 1) % max;
		n--;
		e = wait_read(c, in.slot, in.asked, &r);
		i = in.slot;
		if (stop) {		/* draining */
			p9_slot_put(c, i);
			continue;
		}
		if (!e && r.u.rread.count)
			e = fn(arg, r.u.rread.data, r.u.rread.count);
		if (e) {
			res = e;
			stop = 1;
		} else {
			*pos += r.u.rread.count;
			if (r.u.rread.count < in.asked) {
				res = r.u.rread.count == 0;
				stop = 1;
			}
		}
		p9_slot_put(c, i);
	}
}

int64_t p9_read_stream(struct p9_client *c, uint32_t fid, uint64_t off,
		       uint64_t len, unsigned depth, p9_data_fn *fn, void *arg)
{
	unsigned max = depth && depth < c->nslots ? depth : c->nslots;
	uint64_t end = len > UINT64_MAX - off ? UINT64_MAX : off + len;
	uint64_t pos = off;
	struct inflight *q;
	int r = 0;

	if (off > INT64_MAX)
		return -EINVAL;
	q = malloc(max * sizeof(*q));
	if (!q)
		return -ENOMEM;
	while (r == 0 && pos < end)
		r = stream_run(c, fid, &pos, end, q, max, fn, arg);
	free(q);
	if (r < 0)
		return r;
	return pos - off > INT64_MAX ? INT64_MAX : (int64_t)(pos - off);
}

int p9_readdir(struct p9_client *c, uint32_t fid, uint64_t *offset,
	       p9_dirent_fn *fn, void *arg)
{
	struct p9_dirent d;
	struct p9_msg r;
	size_t pos = 0;
	int i, e, n = 0;

	i = send_read(c, P9_TREADDIR, fid, *offset, read_max(c));
	if (i < 0)
		return i;
	e = wait_read(c, i, read_max(c), &r);
	while (!e && (e = p9_dirent_next(r.u.rread.data, r.u.rread.count,
					 &pos, &d)) == 1) {
		e = 0;
		n++;
		*offset = d.offset;
		if (p9_str_eq(d.name, ".") || p9_str_eq(d.name, ".."))
			continue;
		if (!p9_name_ok(d.name)) {
			e = p9_fail(c, -EPROTO);
			break;
		}
		e = fn(arg, &d);
	}
	if (e == -EPROTO)
		p9_fail(c, e);
	p9_slot_put(c, i);
	return e < 0 ? e : n;
}

int p9_readlink(struct p9_client *c, uint32_t fid, char *buf, size_t cap)
{
	struct p9_msg t = { .type = P9_TREADLINK }, r;
	struct p9_str s;
	int slot, e;

	t.u.fid.fid = fid;
	e = p9_call_keep(c, &t, P9_HDRSZ + 2 + PATH_TARGET_MAX, &r, &slot);
	if (e)
		return e;
	s = r.u.rreadlink.target;
	if (s.len == 0 || memchr(s.s, '\0', s.len))
		e = p9_fail(c, -EPROTO);
	else if (s.len >= cap)
		e = -ENAMETOOLONG;
	else {
		memcpy(buf, s.s, s.len);
		buf[s.len] = '\0';
	}
	p9_slot_put(c, slot);
	return e;
}

int p9_symlink(struct p9_client *c, uint32_t dfid, const char *name,
	       const char *target, uint32_t gid, struct p9_qid *qid)
{
	struct p9_msg t = { .type = P9_TSYMLINK }, r;
	int e = name_arg(name, &t.u.tsymlink.name);

	if (e)
		return e;
	if (!target || !*target || strlen(target) >= PATH_TARGET_MAX)
		return target && *target ? -ENAMETOOLONG : -EINVAL;
	t.u.tsymlink.fid = dfid;
	t.u.tsymlink.target = p9_mkstr(target);
	t.u.tsymlink.gid = gid;
	e = p9_call(c, &t, &r);
	if (!e && qid)
		*qid = r.u.qid;
	return e;
}

int p9_mknod(struct p9_client *c, uint32_t dfid, const char *name,
	     uint32_t mode, uint32_t major, uint32_t minor, uint32_t gid,
	     struct p9_qid *qid)
{
	struct p9_msg t = { .type = P9_TMKNOD }, r;
	int e = name_arg(name, &t.u.tmknod.name);

	if (e)
		return e;
	t.u.tmknod.dfid = dfid;
	t.u.tmknod.mode = mode;
	t.u.tmknod.major = major;
	t.u.tmknod.minor = minor;
	t.u.tmknod.gid = gid;
	e = p9_call(c, &t, &r);
	if (!e && qid)
		*qid = r.u.qid;
	return e;
}

int p9_mkdir(struct p9_client *c, uint32_t dfid, const char *name,
	     uint32_t mode, uint32_t gid, struct p9_qid *qid)
{
	struct p9_msg t = { .type = P9_TMKDIR }, r;
	int e = name_arg(name, &t.u.tmkdir.name);

	if (e)
		return e;
	t.u.tmkdir.dfid = dfid;
	t.u.tmkdir.mode = mode;
	t.u.tmkdir.gid = gid;
	e = p9_call(c, &t, &r);
	if (!e && qid)
		*qid = r.u.qid;
	return e;
}

int p9_link(struct p9_client *c, uint32_t dfid, uint32_t fid,
	    const char *name)
{
	struct p9_msg t = { .type = P9_TLINK }, r;
	int e = name_arg(name, &t.u.tlink.name);

	if (e)
		return e;
	t.u.tlink.dfid = dfid;
	t.u.tlink.fid = fid;
	return p9_call(c, &t, &r);
}

int p9_renameat(struct p9_client *c, uint32_t olddfid, const char *oldname,
		uint32_t newdfid, const char *newname)
{
	struct p9_msg t = { .type = P9_TRENAMEAT }, r;
	int e = name_arg(oldname, &t.u.trenameat.oldname);

	if (!e)
		e = name_arg(newname, &t.u.trenameat.newname);
	if (e)
		return e;
	t.u.trenameat.olddirfid = olddfid;
	t.u.trenameat.newdirfid = newdfid;
	return p9_call(c, &t, &r);
}

int p9_unlinkat(struct p9_client *c, uint32_t dfid, const char *name,
		uint32_t flags)
{
	struct p9_msg t = { .type = P9_TUNLINKAT }, r;
	int e = name_arg(name, &t.u.tunlinkat.name);

	if (e)
		return e;
	t.u.tunlinkat.dirfid = dfid;
	t.u.tunlinkat.flags = flags;
	return p9_call(c, &t, &r);
}

int p9_statfs(struct p9_client *c, uint32_t fid, struct p9_statfs *st)
{
	struct p9_msg t = { .type = P9_TSTATFS }, r;
	int e;

	t.u.fid.fid = fid;
	e = p9_call(c, &t, &r);
	if (!e)
		*st = r.u.rstatfs;
	return e;
}

int p9_fsync(struct p9_client *c, uint32_t fid, int datasync)
{
	struct p9_msg t = { .type = P9_TFSYNC }, r;

	t.u.tfsync.fid = fid;
	t.u.tfsync.datasync = datasync != 0;
	return p9_call(c, &t, &r);
}

int p9_commit(struct p9_client *c, uint32_t fid, int timeout_ms)
{
	struct p9_msg t = { .type = P9_TFSYNC }, r;
	int i, e;

	t.u.tfsync.fid = fid;
	t.u.tfsync.datasync = P9_FSYNC_COMMIT;
	if ((i = p9_send(c, &t, SMALL_REPLY)) < 0)
		return i;
	if (timeout_ms > 0)
		c->slots[i].timeout_ms = timeout_ms;
	e = p9_wait(c, i, &r);
	p9_slot_put(c, i);
	return e;
}

/* An xattr name we send: non-empty unless listing, bounded. */
static int xattr_name(const char *name, struct p9_str *s)
{
	if (name && strlen(name) > 255)
		return -ERANGE;
	*s = p9_mkstr(name);
	return 0;
}

ssize_t p9_xattr_get(struct p9_client *c, uint32_t fid, const char *name,
		     void *buf, size_t cap)
{
	struct p9_msg t = { .type = P9_TXATTRWALK }, r;
	uint64_t size, got = 0;
	ssize_t n;
	int e = xattr_name(name, &t.u.txattrwalk.name);

	if (e)
		return e;
	e = fid_get(c, &t.u.txattrwalk.newfid);
	if (e)
		return e;
	t.u.txattrwalk.fid = fid;
	e = p9_call(c, &t, &r);
	if (e) {
		fid_put(c, t.u.txattrwalk.newfid);
		return e;
	}
	size = r.u.rxattrwalk.size;
	if (size > P9_XATTR_MAX)
		e = p9_fail(c, -EPROTO);
	else if (buf && size > cap)
		e = -ERANGE;
	while (!e && buf && got < size) {
		n = p9_read(c, t.u.txattrwalk.newfid, got, (char *)buf + got,
			    size - got);
		if (n <= 0)
			e = n < 0 ? (int)n : p9_fail(c, -EPROTO);
		else
			got += n;
	}
	p9_clunk(c, t.u.txattrwalk.newfid);
	return e ? e : (ssize_t)size;
}

int p9_xattr_set(struct p9_client *c, uint32_t fid, const char *name,
		 const void *value, size_t size, uint32_t flags)
{
	struct p9_msg t = { .type = P9_TXATTRCREATE }, r;
	size_t done = 0;
	ssize_t n;
	int e, e2;

	if (!name || !*name)
		return -EINVAL;
	if (size > P9_XATTR_MAX)
		return -E2BIG;
	e = xattr_name(name, &t.u.txattrcreate.name);
	if (!e)		/* Txattrcreate turns its fid into the value's */
		e = p9_walk(c, fid, 0, NULL, &t.u.txattrcreate.fid, NULL);
	if (e)
		return e;
	t.u.txattrcreate.attr_size = size;
	t.u.txattrcreate.flags = flags;
	e = p9_call(c, &t, &r);
	while (!e && done < size) {
		n = p9_write(c, t.u.txattrcreate.fid, done,
			     (const char *)value + done, size - done);
		if (n <= 0)
			e = n < 0 ? (int)n : -EIO;
		else
			done += n;
	}
	e2 = p9_clunk(c, t.u.txattrcreate.fid);	/* the set happens here */
	return e ? e : e2;
}
