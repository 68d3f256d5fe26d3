/*
 * hostile-guest.c - /init of a test guest whose 9P server lies.
 *
 * Booted by the linux-6.1-lean guest's kernel in place of its init
 * (tests/e2e/hostile.bats makes a guest folder around it), it serves a
 * small made-up tree over 9P2000.L (the wire format of lib/p9/p9.h) on
 * the virtio port and lies as the scenario named on the kernel command
 * line says (qm.hostile=NAME, the table at the end): names no filesystem
 * holds, symlinks out of the tree, directory cycles, files and listings
 * that never end, replies that never come or break the framing, an
 * Rversion with a msize out of range.  The host must survive each one
 * (DESIGN.md: "the host treats the guest as hostile").
 *
 * Well-formed replies are encoded by lib/p9's codec; the broken ones are
 * those bytes changed after encoding.  The disk is never looked at.
 * When the host closes the port the guest powers off, as the real one
 * does, unless the scenario says it should not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "p9.h"

#define PORTS		"/sys/class/virtio-ports"
#define WAIT_MS		10000
#define MSIZE		(1024 * 1024 + 4096)	/* the most we agree to */
#define BUF		(2 * 1024 * 1024)
#define NODES		32
#define FIDS		65536
#define LONG_NAME	65535			/* the most a 9P string holds */

/* node flags: what the node does beyond holding data */
#define ENDLESS_READ	0x1	/* reads never end (whatever getattr says) */
#define DEEP		0x2	/* holds "d": itself one level deeper */
#define LOOP_LIST	0x4	/* its listing's offsets go round in a cycle */
#define ENDLESS_LIST	0x8	/* its listing never ends: new names forever */

struct node {
	int parent;
	const char *name;
	uint16_t nlen;
	uint32_t mode;
	const char *data;	/* file contents or symlink target */
	uint64_t dlen;
	uint64_t size;		/* what getattr says */
	int alias;		/* >= 0: a walk here gives this node (a cycle) */
	int flags;
	unsigned hits;		/* walks that picked it (same-name siblings) */
};

static struct node tree[NODES];
static int nnodes;

static struct {
	int node;		/* -1: free */
	uint32_t depth;		/* DEEP nodes: levels below the first */
} fids[FIDS];

static uint8_t in[BUF], out[BUF];
static char long_name[LONG_NAME];
static uint32_t msize = MSIZE;
static const struct scenario *sc;

/* ---- the tree ---- */

static int add(int parent, const char *name, size_t nlen, uint32_t mode,
	       const char *data, uint64_t dlen)
{
	struct node *n = &tree[nnodes];

	n->parent = parent;
	n->name = name;
	n->nlen = nlen;
	n->mode = mode;
	n->data = data;
	n->dlen = dlen;
	n->size = dlen;
	n->alias = -1;
	return nnodes++;
}

static int add_file(int parent, const char *name, const char *data)
{
	return add(parent, name, strlen(name), S_IFREG | 0644, data,
		   strlen(data));
}

static int add_dir(int parent, const char *name)
{
	return add(parent, name, strlen(name), S_IFDIR | 0755, NULL, 0);
}

static int add_link(int parent, const char *name, const char *target)
{
	return add(parent, name, strlen(name), S_IFLNK | 0777, target,
		   strlen(target));
}

/* What every scenario serves unless it adds to it: a sane little tree. */
static void sane_tree(void)
{
	int d;

	add_dir(-1, "");	/* the root, node 0 */
	add_file(0, "hello.txt", "hello, world\n");
	d = add_dir(0, "dir");
	add_file(d, "inner.txt", "inner\n");
	add_link(0, "link", "hello.txt");
}

/* A node's qid; a DEEP node's copies differ by depth. */
static struct p9_qid qid_of(int i, uint32_t depth)
{
	struct p9_qid q = { 0 };

	if (tree[i].alias >= 0)
		i = tree[i].alias;
	q.type = S_ISDIR(tree[i].mode) ? P9_QTDIR :
		 S_ISLNK(tree[i].mode) ? P9_QTSYMLINK : P9_QTFILE;
	q.path = 1 + i + ((uint64_t)depth << 8);
	return q;
}

static uint8_t dtype(uint32_t mode)
{
	return S_ISDIR(mode) ? DT_DIR : S_ISLNK(mode) ? DT_LNK : DT_REG;
}

/*
 * The child of node at for name (same-name siblings take turns), or -1.
 * *depth moves one down into a DEEP node's "d", or one up for "..".
 */
static int child(int at, struct p9_str name, uint32_t *depth)
{
	int i, best = -1;

	if (p9_str_eq(name, ".."))
		return *depth ? (--*depth, at) : at ? tree[at].parent : 0;
	if ((tree[at].flags & DEEP) && p9_str_eq(name, "d")) {
		++*depth;
		return at;
	}
	for (i = 1; i < nnodes; i++)
		if (tree[i].parent == at && tree[i].nlen == name.len &&
		    !memcmp(tree[i].name, name.s, name.len) &&
		    (best < 0 || tree[i].hits < tree[best].hits))
			best = i;
	if (best < 0)
		return -1;
	tree[best].hits++;
	return tree[best].alias >= 0 ? tree[best].alias : best;
}

/* ---- replies ---- */

static int lerror(struct p9_msg *r, int e)
{
	r->type = P9_RLERROR;
	r->u.rlerror.ecode = e;
	return 0;
}

static int fid_node(uint32_t fid)
{
	return fid < FIDS ? fids[fid].node : -1;
}

static int rep_walk(const struct p9_msg *t, struct p9_msg *r)
{
	int at = fid_node(t->u.twalk.fid), n;
	uint32_t depth;
	unsigned i;

	if (at < 0 || t->u.twalk.newfid >= FIDS)
		return lerror(r, EBADF);
	depth = fids[t->u.twalk.fid].depth;
	for (i = 0; i < t->u.twalk.nwname; i++) {
		n = child(at, t->u.twalk.wname[i], &depth);
		if (n < 0)
			break;
		at = n;
		r->u.rwalk.wqid[i] = qid_of(at, depth);
	}
	if (i == 0 && t->u.twalk.nwname)
		return lerror(r, ENOENT);
	r->u.rwalk.nwqid = i;
	if (i == t->u.twalk.nwname) {
		fids[t->u.twalk.newfid].node = at;
		fids[t->u.twalk.newfid].depth = depth;
	}
	return 0;
}

static int rep_getattr(const struct p9_msg *t, struct p9_msg *r)
{
	int at = fid_node(t->u.tgetattr.fid);
	struct p9_attr *a = &r->u.rgetattr;

	if (at < 0)
		return lerror(r, EBADF);
	memset(a, 0, sizeof(*a));
	a->valid = P9_GETATTR_BASIC;
	a->qid = qid_of(at, fids[t->u.tgetattr.fid].depth);
	a->mode = tree[at].mode;
	a->nlink = S_ISDIR(tree[at].mode) ? 2 : 1;
	a->size = tree[at].size;
	a->blksize = 4096;
	a->blocks = tree[at].size / 512 + 1;
	a->atime_sec = a->mtime_sec = a->ctime_sec = 1700000000;
	return 0;
}

/* Put one entry in the Rreaddir at *pos; 0 if it does not fit. */
static int put(uint32_t cap, size_t *pos, const char *name, size_t nlen,
	       struct p9_qid q, uint8_t type, uint64_t off)
{
	struct p9_dirent d = { .qid = q, .offset = off, .type = type };

	d.name.s = name;
	d.name.len = nlen;
	return p9_dirent_put(out + P9_IOHDRSZ, cap, pos, &d);
}

/*
 * A LOOP_LIST listing: offset 0 gives a@1 b@2, offset 1 gives b@2, and
 * offset 2 gives a@1 again, so a reader that follows the offsets goes
 * round for ever.
 */
static void loop_list(uint64_t off, uint32_t cap, size_t *pos, int at)
{
	struct p9_qid q = qid_of(at, 0);

	if (off != 1)
		put(cap, pos, "a", 1, q, DT_DIR, 1);
	if (off != 2)
		put(cap, pos, "b", 1, q, DT_DIR, 2);
}

/* An ENDLESS_LIST listing: long new names as far as the host reads. */
static void endless_list(uint64_t off, uint32_t cap, size_t *pos)
{
	struct p9_qid q = { .type = P9_QTFILE };
	char name[256];

	do {
		memset(name, 'n', 255);
		snprintf(name, sizeof(name), "%020llu", (unsigned long long)off);
		name[20] = 'n';
		q.path = 1000000 + off++;
	} while (put(cap, pos, name, 255, q, DT_REG, off));
}

/*
 * Entry k (from 0) of the listing of node at: ".", "..", then its
 * children (a DEEP node's: "d").  0 if there is none.
 */
static int entry(int at, uint32_t depth, uint64_t k, struct p9_dirent *d)
{
	int i;

	d->offset = k + 1;
	d->type = DT_DIR;
	if (k < 2) {
		d->name = p9_mkstr(k ? ".." : ".");
		d->qid = k ? qid_of(at ? tree[at].parent : 0, 0) :
			 qid_of(at, depth);
		return 1;
	}
	if (tree[at].flags & DEEP) {
		d->name = p9_mkstr("d");
		d->qid = qid_of(at, depth + 1);
		return k == 2;
	}
	for (i = 1; i < nnodes; i++)
		if (tree[i].parent == at && k-- == 2) {
			d->name = (struct p9_str){ tree[i].name, tree[i].nlen };
			d->qid = qid_of(i, 0);
			d->type = dtype(tree[i].mode);
			return 1;
		}
	return 0;
}

static int rep_readdir(const struct p9_msg *t, struct p9_msg *r)
{
	int at = fid_node(t->u.tread.fid);
	uint32_t cap = t->u.tread.count;
	uint64_t k = t->u.tread.offset;
	struct p9_dirent d;
	size_t pos = 0;

	if (at < 0)
		return lerror(r, EBADF);
	if (cap > msize - P9_IOHDRSZ)
		cap = msize - P9_IOHDRSZ;
	if (tree[at].flags & LOOP_LIST)
		loop_list(k, cap, &pos, at);
	else if (tree[at].flags & ENDLESS_LIST)
		endless_list(k, cap, &pos);
	else
		while (entry(at, fids[t->u.tread.fid].depth, k++, &d) &&
		       p9_dirent_put(out + P9_IOHDRSZ, cap, &pos, &d))
			;
	r->u.rread.count = pos;
	r->u.rread.data = out + P9_IOHDRSZ;
	return 0;
}

static int rep_read(const struct p9_msg *t, struct p9_msg *r)
{
	int at = fid_node(t->u.tread.fid);
	uint64_t off = t->u.tread.offset, n = t->u.tread.count;
	struct node *f;

	if (at < 0)
		return lerror(r, EBADF);
	f = &tree[at];
	if (n > msize - P9_IOHDRSZ)
		n = msize - P9_IOHDRSZ;
	if (f->flags & ENDLESS_READ)
		memset(out + P9_IOHDRSZ, 'g', n);
	else if (off >= f->dlen)
		n = 0;
	else {
		n = f->dlen - off < n ? f->dlen - off : n;
		memcpy(out + P9_IOHDRSZ, f->data + off, n);
	}
	r->u.rread.count = n;
	r->u.rread.data = out + P9_IOHDRSZ;
	return 0;
}

/* The reply a sane server would give to t, encoded into out. */
static int answer(const struct p9_msg *t)
{
	struct p9_msg r = { .type = t->type + 1, .tag = t->tag };
	int at;

	switch (t->type) {
	case P9_TVERSION:
		if (t->u.version.msize < msize)
			msize = t->u.version.msize;
		r.u.version.msize = msize;
		r.u.version.version = p9_mkstr(P9_VERSION);
		break;
	case P9_TATTACH:
		r.u.qid = qid_of(0, 0);
		if (t->u.tattach.fid >= FIDS)
			lerror(&r, EBADF);
		else
			fids[t->u.tattach.fid].node = 0;
		break;
	case P9_TWALK:
		rep_walk(t, &r);
		break;
	case P9_TGETATTR:
		rep_getattr(t, &r);
		break;
	case P9_TLOPEN:
		at = fid_node(t->u.tlopen.fid);
		if (at < 0)
			lerror(&r, EBADF);
		else
			r.u.ropen.qid = qid_of(at, fids[t->u.tlopen.fid].depth);
		break;
	case P9_TREADDIR:
		rep_readdir(t, &r);
		break;
	case P9_TREAD:
		rep_read(t, &r);
		break;
	case P9_TREADLINK:
		at = fid_node(t->u.fid.fid);
		if (at < 0 || !S_ISLNK(tree[at].mode))
			lerror(&r, EINVAL);
		else
			r.u.rreadlink.target = (struct p9_str){ tree[at].data,
								tree[at].dlen };
		break;
	case P9_TCLUNK:
		if (fid_node(t->u.fid.fid) < 0)
			lerror(&r, EBADF);
		else
			fids[t->u.fid.fid].node = -1;
		break;
	case P9_TSTATFS:
		r.u.rstatfs = (struct p9_statfs){ .bsize = 4096, .blocks = 1,
						  .namelen = 255 };
		break;
	case P9_TFLUSH:
		break;
	case P9_TXATTRWALK:
		lerror(&r, EOPNOTSUPP);
		break;
	default:
		lerror(&r, EROFS);
	}
	return p9_encode(out, BUF, &r);
}

/* ---- scenarios ---- */

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static size_t version_msize(const struct p9_msg *t, size_t n, uint32_t v)
{
	if (t->type == P9_TVERSION)
		put32(out + P9_HDRSZ, v);
	return n;
}

static size_t msize_huge(const struct p9_msg *t, size_t n)
{
	return version_msize(t, n, 0xffffffff);
}

static size_t msize_tiny(const struct p9_msg *t, size_t n)
{
	return version_msize(t, n, 512);
}

static size_t msize_min(const struct p9_msg *t, size_t n)
{
	if (t->type == P9_TVERSION)
		msize = P9_MINMSIZE;
	return version_msize(t, n, P9_MINMSIZE);
}

static size_t silent(const struct p9_msg *t, size_t n)
{
	(void)t;
	(void)n;
	return 0;
}

static size_t mute(const struct p9_msg *t, size_t n)
{
	return t->type == P9_TVERSION ? n : 0;
}

static size_t stall_read(const struct p9_msg *t, size_t n)
{
	return t->type == P9_TREAD ? 0 : n;
}

/* The first Rreaddir, broken as the scenario says; the rest as they are. */
static int first_readdir(const struct p9_msg *t)
{
	static int seen;

	return t->type == P9_TREADDIR && !seen++;
}

static size_t wrong_tag(const struct p9_msg *t, size_t n)
{
	if (first_readdir(t)) {
		out[5] = t->tag + 1;
		out[6] = (t->tag + 1) >> 8;
	}
	return n;
}

static size_t wrong_type(const struct p9_msg *t, size_t n)
{
	struct p9_msg g = { .type = P9_TGETATTR, .tag = t->tag };

	if (!first_readdir(t))
		return n;
	g.u.tgetattr.fid = t->u.tread.fid;	/* a sane Rgetattr instead */
	return answer(&g);
}

static size_t past_end(const struct p9_msg *t, size_t n)
{
	if (first_readdir(t))	/* count: 100 bytes more than the frame */
		put32(out + P9_HDRSZ, (out[7] | out[8] << 8 | out[9] << 16 |
				       (uint32_t)out[10] << 24) + 100);
	return n;
}

static size_t size_short(const struct p9_msg *t, size_t n)
{
	if (first_readdir(t))	/* the rest reads as the next frame */
		put32(out, P9_IOHDRSZ);
	return n;
}

static size_t size_long(const struct p9_msg *t, size_t n)
{
	if (first_readdir(t))	/* and the promised bytes never come */
		put32(out, n + 4096);
	return n;
}

static void names(const char *name, size_t len)
{
	sane_tree();
	add(0, name, len, S_IFREG | 0644, "x", 1);
}

static void name_slash(void)
{
	names("a/b", 3);
}

static void name_nul(void)
{
	names("a\0b", 3);
}

static void name_empty(void)
{
	names("", 0);
}

/* ".." as a child of the root (the host skips it), and "..." (a name) */
static void name_dots(void)
{
	names("..", 2);
	add_file(0, "...", "dots\n");
}

static void name_64k(void)
{
	memset(long_name, 'n', sizeof(long_name));
	names(long_name, sizeof(long_name));
}

static void target_64k(void)
{
	memset(long_name, 't', sizeof(long_name));
	sane_tree();
	add(0, "far", 3, S_IFLNK | 0777, long_name, sizeof(long_name));
}

/*
 * Symlinks out of the tree, and "esc" twice in one directory: a
 * symlink to the parent, then a directory holding "pwned", so an
 * extractor that followed the first would write outside.
 */
static void symlinks(void)
{
	sane_tree();
	add_link(0, "abs", "/etc/passwd");
	add_link(0, "up", "../../../../../../../../etc/passwd");
	add_link(0, "tmp", "/tmp");
	add_link(0, "esc", "..");
	add_file(add_dir(0, "esc"), "pwned", "pwned\n");
}

static void cycle(void)
{
	int d;

	sane_tree();
	d = add_dir(0, "a");
	tree[add_dir(d, "loop")].alias = 0;	/* the root again */
}

static void deep(void)
{
	sane_tree();
	tree[add_dir(0, "deep")].flags = DEEP;
}

static void grow(void)
{
	sane_tree();
	tree[add_file(0, "grow", "0123456789")].flags = ENDLESS_READ;
}

static void huge(void)
{
	sane_tree();
	tree[add_file(0, "huge", "only this\n")].size = 1ULL << 62;
}

static void huge64(void)
{
	sane_tree();
	tree[add_file(0, "huge", "only this\n")].size = ~0ULL;
}

static void list_loop(void)
{
	sane_tree();
	tree[add_dir(0, "loop")].flags = LOOP_LIST;
}

static void list_endless(void)
{
	sane_tree();
	tree[add_dir(0, "endless")].flags = ENDLESS_LIST;
}

static const struct scenario {
	const char *name;
	void (*tree)(void);		/* NULL: sane_tree */
	size_t (*lie)(const struct p9_msg *t, size_t n);	/* reply n bytes */
	int never_off;			/* ignore the host's goodbye */
	const char *says;		/* on the console first, if not NULL */
} scenarios[] = {
	{ "sane", NULL, NULL, 0, NULL },
	{ "msize-min", NULL, msize_min, 0, NULL },
	{ "msize-huge", NULL, msize_huge, 0, NULL },
	{ "msize-tiny", NULL, msize_tiny, 0, NULL },
	{ "silent", NULL, silent, 0, NULL },
	{ "mute", NULL, mute, 0, NULL },
	{ "stall-read", NULL, stall_read, 0, NULL },
	{ "wrong-tag", NULL, wrong_tag, 0, NULL },
	{ "wrong-type", NULL, wrong_type, 0, NULL },
	{ "past-end", NULL, past_end, 0, NULL },
	{ "size-short", NULL, size_short, 0, NULL },
	{ "size-long", NULL, size_long, 0, NULL },
	{ "name-slash", name_slash, NULL, 0, NULL },
	{ "name-nul", name_nul, NULL, 0, NULL },
	{ "name-empty", name_empty, NULL, 0, NULL },
	{ "name-dots", name_dots, NULL, 0, NULL },
	{ "name-64k", name_64k, NULL, 0, NULL },
	{ "target-64k", target_64k, NULL, 0, NULL },
	{ "symlinks", symlinks, NULL, 0, NULL },
	{ "cycle", cycle, NULL, 0, NULL },
	{ "deep", deep, NULL, 0, NULL },
	{ "grow", grow, NULL, 0, NULL },
	{ "huge", huge, NULL, 0, NULL },
	{ "huge64", huge64, NULL, 0, NULL },
	{ "list-loop", list_loop, NULL, 0, NULL },
	{ "list-endless", list_endless, NULL, 0, NULL },
	{ "never-off", NULL, NULL, 1, NULL },
	/* escape sequences for the user's terminal, as the kernel's words
	 * the host quotes (set the title, clear the screen), then silence */
	{ "console-esc", NULL, silent, 0,
	  "qemount-init: kernel: \033]0;owned\007\033[2Jcleared" },
};

/* ---- the port and the loop ---- */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The one virtio port there is (the host names it qemount0), opened. */
static int open_port(void)
{
	struct pollfd p = { .events = POLLIN };
	char path[300];
	struct dirent *e;
	int t, fd = -1;
	DIR *d;

	for (t = 0; t < WAIT_MS && fd < 0; t += 10, sleep_ms(10)) {
		d = opendir(PORTS);
		while (d && (e = readdir(d)) && fd < 0) {
			snprintf(path, sizeof(path), "/dev/%s", e->d_name);
			if (e->d_name[0] != '.')
				fd = open(path, O_RDWR | O_CLOEXEC);
		}
		if (d)
			closedir(d);
	}
	/* it reads end of file until the host has connected */
	p.fd = fd;
	for (; fd >= 0 && t < WAIT_MS; t += 10, sleep_ms(10))
		if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP))
			return fd;
	fprintf(stderr, "hostile-guest: no port\n");
	return -1;
}

static int read_n(int fd, uint8_t *b, size_t n)
{
	ssize_t r;

	while (n) {
		r = read(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= r;
	}
	return 0;
}

static int write_n(int fd, const uint8_t *b, size_t n)
{
	ssize_t r;

	while (n) {
		r = write(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= r;
	}
	return 0;
}

/* Answer until the host goes (or sends what we cannot read). */
static void serve(int fd)
{
	struct p9_msg t;
	uint32_t size;
	int n;

	while (read_n(fd, in, 4) == 0) {
		size = p9_frame_size(in, 4);
		if (size < P9_HDRSZ || size > sizeof(in) ||
		    read_n(fd, in + 4, size - 4) || p9_decode(in, size, &t))
			return;
		n = answer(&t);
		if (n < 0)
			return;
		if (sc->lie)
			n = sc->lie(&t, n);
		if (n > 0 && write_n(fd, out, n))
			return;
	}
}

static const struct scenario *pick(void)
{
	static char cmdline[4096];
	const char *w;
	size_t i, len;
	int fd = open("/proc/cmdline", O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, cmdline, sizeof(cmdline) - 1) : -1;

	cmdline[n > 0 ? n : 0] = '\0';
	w = strstr(cmdline, "qm.hostile=");
	if (!w)
		return &scenarios[0];
	w += strlen("qm.hostile=");
	len = strcspn(w, " \n");
	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		if (strlen(scenarios[i].name) == len &&
		    !strncmp(w, scenarios[i].name, len))
			return &scenarios[i];
	fprintf(stderr, "hostile-guest: unknown scenario %.*s\n", (int)len, w);
	return &scenarios[0];
}

int main(void)
{
	int fd, i;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	for (i = 0; i < FIDS; i++)
		fids[i].node = -1;
	sc = pick();
	(sc->tree ? sc->tree : sane_tree)();
	fprintf(stderr, "hostile-guest: %s\n", sc->name);
	if (sc->says)
		fprintf(stderr, "%s\n", sc->says);
	fd = open_port();
	if (fd >= 0)
		serve(fd);
	while (sc->never_off)
		pause();
	reboot(RB_POWER_OFF);
	return 0;
}
