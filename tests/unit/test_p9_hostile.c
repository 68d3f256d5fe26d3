/*
 * test_p9_hostile.c - the 9P client against a server that lies: wrong
 * tags and types, counts shorter or larger than asked, names with '/',
 * truncated frames, oversized frames, replies that never come, sizes no
 * off_t holds, directory listings that never end (walk_readdir).  Each
 * must end in a clean error (and a dead connection where the stream can
 * no longer be trusted), never a crash, an overread or a hang.  Run it under
 * `make asan` to see the "never an overread" part enforced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tap.h"
#include "walk.h"

/* Write the reply for t into out; return its length, 0 for no reply. */
typedef size_t reply_fn(const struct p9_msg *t, uint8_t *out);

struct fake {
	int fd;
	reply_fn *reply;
	uint32_t version_msize;	/* 0: echo the client's */
	const char *version;	/* NULL: 9P2000.L */
};

static int read_n(int fd, uint8_t *b, size_t n)
{
	ssize_t r;

	while (n) {
		r = read(fd, b, n);
		if (r <= 0)
			return -1;
		b += r;
		n -= r;
	}
	return 0;
}

static int hang_up;	/* the fake closes its end after one reply */

static void *fake_server(void *arg)
{
	static uint8_t in[1 << 21], out[1 << 21];
	struct fake *f = arg;
	struct p9_msg t, r;
	uint32_t size;
	size_t n;
	int len;

	while (read_n(f->fd, in, 4) == 0) {
		size = p9_frame_size(in, 4);
		if (size < 7 || size > sizeof(in) || read_n(f->fd, in + 4, size - 4))
			break;
		if (p9_decode(in, size, &t))
			break;
		if (t.type == P9_TVERSION) {
			r = (struct p9_msg){ .type = P9_RVERSION, .tag = t.tag };
			r.u.version.msize = f->version_msize ? f->version_msize :
					    t.u.version.msize;
			r.u.version.version = p9_mkstr(f->version ? f->version :
						       P9_VERSION);
			len = p9_encode(out, sizeof(out), &r);
			if (len < 0 || write(f->fd, out, len) != len)
				break;
			continue;
		}
		n = f->reply(&t, out);
		if (n && write(f->fd, out, n) != (ssize_t)n)
			break;
		if (hang_up) {
			shutdown(f->fd, SHUT_WR);
			break;
		}
	}
	return NULL;
}

static size_t enc(struct p9_msg *r, uint8_t *out)
{
	int n = p9_encode(out, 1 << 21, r);

	return n < 0 ? 0 : n;
}

static size_t rep_wrong_tag(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = t->type + 1, .tag = t->tag + 1 };

	return enc(&r, out);
}

static size_t rep_wrong_type(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RCLUNK, .tag = t->tag };

	return enc(&r, out);
}

static size_t rep_read_more(const struct p9_msg *t, uint8_t *out)
{
	static uint8_t junk[4096];
	struct p9_msg r = { .type = P9_RREAD, .tag = t->tag };

	r.u.rread.count = t->u.tread.count + 100;
	r.u.rread.data = junk;
	return enc(&r, out);
}

static size_t rep_read_short_count(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RREAD, .tag = t->tag };
	size_t n;

	r.u.rread.count = 10;
	r.u.rread.data = (const uint8_t *)"0123456789";
	n = enc(&r, out);
	out[7] = 50;	/* count says 50, the frame holds 10 */
	return n;
}

static size_t rep_read_endless(const struct p9_msg *t, uint8_t *out)
{
	static uint8_t junk[1 << 20];
	struct p9_msg r = { .type = P9_RREAD, .tag = t->tag };

	r.u.rread.count = t->u.tread.count;
	r.u.rread.data = junk;
	return enc(&r, out);
}

static const char *dir_name;
static size_t dir_name_len;

static size_t rep_readdir(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RREADDIR, .tag = t->tag };
	struct p9_dirent d = { .offset = 1, .type = 8 };
	static uint8_t ents[512];
	size_t pos = 0;

	d.name.s = dir_name;
	d.name.len = dir_name_len;
	p9_dirent_put(ents, sizeof(ents), &pos, &d);
	r.u.rread.count = pos;
	r.u.rread.data = ents;
	return enc(&r, out);
}

static size_t rep_readdir_cut(const struct p9_msg *t, uint8_t *out)
{
	size_t n;

	dir_name = "abc";
	dir_name_len = 3;
	n = rep_readdir(t, out);
	out[n - 5] = 200;	/* name length past the payload */
	return n;
}

static size_t rep_half_then_close(const struct p9_msg *t, uint8_t *out)
{
	(void)t;
	memcpy(out, "\x40\0\0", 3);
	hang_up = 1;
	return 3;
}

static size_t rep_huge_frame(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RCLUNK, .tag = t->tag };
	size_t n = enc(&r, out);

	out[3] = 0x7f;		/* size ~2 GiB */
	return n;
}

static size_t rep_never(const struct p9_msg *t, uint8_t *out)
{
	(void)t;
	(void)out;
	return 0;
}

static uint32_t lerror_code;

static size_t rep_lerror(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RLERROR, .tag = t->tag };

	r.u.rlerror.ecode = lerror_code;
	return enc(&r, out);
}

static size_t rep_walk_too_many(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RWALK, .tag = t->tag };

	r.u.rwalk.nwqid = t->u.twalk.nwname + 1;
	return enc(&r, out);
}

static size_t rep_readlink_nul(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RREADLINK, .tag = t->tag };

	r.u.rreadlink.target = (struct p9_str){ "a\0/etc", 6 };
	return enc(&r, out);
}

static size_t rep_getattr_bad(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RGETATTR, .tag = t->tag };

	r.u.rgetattr.mode = 0777;	/* no file type */
	return enc(&r, out);
}

static size_t rep_xattr_huge(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RXATTRWALK, .tag = t->tag };

	r.u.rxattrwalk.size = 1ULL << 40;
	return enc(&r, out);
}

static size_t rep_write_more(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RWRITE, .tag = t->tag };

	r.u.rwrite.count = t->u.twrite.count + 1;
	return enc(&r, out);
}

static size_t rep_getattr_huge(const struct p9_msg *t, uint8_t *out)
{
	struct p9_msg r = { .type = P9_RGETATTR, .tag = t->tag };

	r.u.rgetattr.mode = S_IFREG | 0644;
	r.u.rgetattr.size = 1ULL << 63;	/* past any off_t */
	return enc(&r, out);
}

/* What rep_listing's directory lists. */
static enum {
	L_TWO,		/* "a" and "b", then the end */
	L_STUCK,	/* "a" at offset 5, whatever the offset asked */
	L_BACK,		/* offsets 0 -> 2 -> 1 -> 2 -> 1 ... */
	L_LAP,		/* one entry a call; after offset 150 back to 50 */
	L_ENDLESS,	/* new 200-byte names for ever */
	L_DOTS,		/* "." for ever, at new offsets */
} listing;

/* A directory for walk_readdir: its Twalk (a clone), Tlopen, Tclunk
 * succeed, Treaddir lists as `listing` says. */
static size_t rep_listing(const struct p9_msg *t, uint8_t *out)
{
	static uint8_t ents[1 << 20];
	struct p9_msg r = { .type = t->type + 1, .tag = t->tag };
	struct p9_dirent d = { .type = DT_REG };
	uint64_t off = t->u.tread.offset;
	uint32_t cap = t->u.tread.count;
	char name[200];
	size_t pos = 0;

	if (t->type != P9_TREADDIR)
		return enc(&r, out);
	if (cap > sizeof(ents))
		cap = sizeof(ents);
	d.name = p9_mkstr("a");
	switch (listing) {
	case L_TWO:
	case L_BACK:
		d.offset = 1;
		if (off == 0 || (listing == L_BACK && off == 2))
			p9_dirent_put(ents, cap, &pos, &d);
		d.name = p9_mkstr("b");
		d.offset = 2;
		if (off == 0 || (listing == L_BACK && off == 1))
			p9_dirent_put(ents, cap, &pos, &d);
		break;
	case L_STUCK:
		d.offset = 5;
		p9_dirent_put(ents, cap, &pos, &d);
		break;
	case L_LAP:
		d.offset = off < 150 ? off + 1 : 50;
		p9_dirent_put(ents, cap, &pos, &d);
		break;
	case L_ENDLESS:
	case L_DOTS:
		memset(name, 'n', sizeof(name));
		d.name = listing == L_DOTS ? p9_mkstr(".") :
			 (struct p9_str){ name, sizeof(name) };
		do
			d.offset = ++off;
		while (p9_dirent_put(ents, cap, &pos, &d));
	}
	r.u.rread.count = pos;
	r.u.rread.data = ents;
	return enc(&r, out);
}

struct rig {
	int sv[2];
	pthread_t th;
	struct fake f;
	struct p9_client *c;
	int new_err;
};

/*
 * Replies the fake does send must never be mistaken for ones that never
 * come, however loaded the machine: a generous timeout, except where the
 * timeout is what is tested (rig_timeout).
 */
static int rig_timeout = 10000;

static void rig_up(struct rig *g, reply_fn *fn, uint32_t vmsize,
		   const char *version)
{
	struct p9_client_config cfg = { .timeout_ms = rig_timeout };

	socketpair(AF_UNIX, SOCK_STREAM, 0, g->sv);
	g->f = (struct fake){ g->sv[1], fn, vmsize, version };
	g->c = NULL;
	pthread_create(&g->th, NULL, fake_server, &g->f);
	g->new_err = p9_client_new(g->sv[0], g->sv[0], &cfg, &g->c);
}

static void rig_down(struct rig *g)
{
	p9_client_free(g->c);
	shutdown(g->sv[0], SHUT_RDWR);
	close(g->sv[0]);
	pthread_join(g->th, NULL);
	close(g->sv[1]);
}

static int dead(struct rig *g)
{
	return p9_client_error(g->c) != 0;
}

static int nop(void *arg, const struct p9_dirent *d)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

static int sink(void *arg, const void *d, size_t n)
{
	(void)d;
	*(uint64_t *)arg += n;
	return 0;
}

static void t_attach(reply_fn *fn, const char *what)
{
	struct rig g;
	uint32_t fid;

	rig_up(&g, fn, 0, NULL);
	is(p9_attach(g.c, 0, NULL, &fid, NULL), -EPROTO, "%s", what);
	ok(dead(&g), "%s ends the connection", what);
	rig_down(&g);
}

static void t_read(reply_fn *fn, const char *what)
{
	static char buf[4096];
	struct rig g;

	rig_up(&g, fn, 0, NULL);
	is(p9_read(g.c, 1, 0, buf, 100), -EPROTO, "%s", what);
	rig_down(&g);
}

static void t_readdir(const char *name, size_t len, int want,
		      const char *what)
{
	struct rig g;
	uint64_t off = 0;
	int seen = 0;

	dir_name = name;
	dir_name_len = len;
	rig_up(&g, rep_readdir, 0, NULL);
	is(p9_readdir(g.c, 1, &off, nop, &seen), want, "%s", what);
	if (want >= 0)
		is(seen, 0, "%s: not shown to the caller", what);
	rig_down(&g);
}

static void t_version(uint32_t msize, const char *version, const char *what)
{
	struct rig g;

	rig_up(&g, rep_never, msize, version);
	is(g.new_err, -EPROTO, "%s", what);
	rig_down(&g);
}

static void t_misc(void)
{
	struct rig g;
	struct timespec a, b;
	struct p9_attr at;
	char buf[64];
	uint32_t fid;
	const char *one[] = { "x" };
	uint64_t got = 0;
	int64_t n;
	int e;

	rig_up(&g, rep_half_then_close, 0, NULL);
	e = p9_attach(g.c, 0, NULL, &fid, NULL);
	ok(e < 0 && e != -ETIMEDOUT, "truncated frame then EOF: %d", e);
	rig_down(&g);
	hang_up = 0;

	rig_up(&g, rep_huge_frame, 0, NULL);
	is(p9_clunk(g.c, 1), -EPROTO, "frame larger than msize");
	rig_down(&g);

	rig_timeout = 300;
	rig_up(&g, rep_never, 0, NULL);
	rig_timeout = 10000;
	clock_gettime(CLOCK_MONOTONIC, &a);
	e = p9_clunk(g.c, 1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ok(e == -ETIMEDOUT && b.tv_sec - a.tv_sec < 5,
	   "a reply that never comes times out (%d)", e);
	is(p9_clunk(g.c, 1), -ETIMEDOUT, "and the connection stays dead");
	rig_down(&g);

	lerror_code = 0;
	rig_up(&g, rep_lerror, 0, NULL);
	is(p9_clunk(g.c, 1), -EPROTO, "Rlerror 0");
	rig_down(&g);
	lerror_code = 99999;
	rig_up(&g, rep_lerror, 0, NULL);
	is(p9_clunk(g.c, 1), -EPROTO, "Rlerror out of range");
	rig_down(&g);
	lerror_code = ENOENT;
	rig_up(&g, rep_lerror, 0, NULL);
	is(p9_clunk(g.c, 1), -ENOENT, "a real Rlerror is an errno");
	ok(!dead(&g), "and leaves the connection up");
	rig_down(&g);

	rig_up(&g, rep_walk_too_many, 0, NULL);
	is(p9_walk(g.c, 1, 1, one, &fid, NULL), -EPROTO, "Rwalk with extra qids");
	rig_down(&g);

	rig_up(&g, rep_readlink_nul, 0, NULL);
	is(p9_readlink(g.c, 1, buf, sizeof(buf)), -EPROTO,
	   "symlink target with NUL");
	rig_down(&g);

	rig_up(&g, rep_getattr_bad, 0, NULL);
	is(p9_getattr(g.c, 1, &at), -EPROTO, "getattr with no file type");
	rig_down(&g);

	rig_up(&g, rep_xattr_huge, 0, NULL);
	is(p9_xattr_get(g.c, 1, "user.x", buf, sizeof(buf)), -EPROTO,
	   "xattr of 1 TiB");
	rig_down(&g);

	rig_up(&g, rep_write_more, 0, NULL);
	is(p9_write(g.c, 1, 0, "abc", 3), -EPROTO, "Rwrite count > sent");
	rig_down(&g);

	rig_up(&g, rep_read_endless, 0, NULL);
	n = p9_read_stream(g.c, 1, 0, 3 << 20, 4, sink, &got);
	ok(n == 3 << 20 && got == 3 << 20,
	   "a file that never ends is read only as far as asked");
	rig_down(&g);
}

static int count(void *arg, const struct p9_dirent *d)
{
	(void)d;
	(*(unsigned long *)arg)++;
	return 0;
}

/* walk_readdir over rep_listing: what it returns, and the names seen. */
static void t_listing(int what, int want, const char *name)
{
	unsigned long seen = 0;
	struct rig g;
	int e;

	listing = what;
	rig_up(&g, rep_listing, 0, NULL);
	e = walk_readdir(g.c, 1, 1 << 20, count, &seen);
	is(e, want, "%s (%lu names)", name, seen);
	ok(!dead(&g), "%s: the connection stays up", name);
	rig_down(&g);
}

int main(void)
{
	t_attach(rep_wrong_tag, "reply with the wrong tag");
	t_attach(rep_wrong_type, "reply of the wrong type");
	t_read(rep_read_more, "Rread with more than asked");
	t_read(rep_read_short_count, "Rread count past its frame");
	t_readdir("a/b", 3, -EPROTO, "dirent name with '/'");
	t_readdir("a\0b", 3, -EPROTO, "dirent name with NUL");
	t_readdir("", 0, -EPROTO, "empty dirent name");
	t_readdir("..", 2, 1, "dirent '..' is skipped");
	{
		static char n300[300];

		memset(n300, 'n', sizeof(n300));
		t_readdir(n300, sizeof(n300), -EPROTO, "300-byte dirent name");
	}
	{
		struct rig g;
		uint64_t off = 0;
		int seen = 0;

		rig_up(&g, rep_readdir_cut, 0, NULL);
		is(p9_readdir(g.c, 1, &off, nop, &seen), -EPROTO,
		   "dirent cut short");
		rig_down(&g);
	}
	t_version(1 << 30, NULL, "Rversion msize larger than asked");
	t_version(100, NULL, "Rversion msize too small");
	t_version(0, "9P2000.u", "Rversion of another dialect");
	t_misc();
	{
		struct rig g;
		struct p9_attr at;

		rig_up(&g, rep_getattr_huge, 0, NULL);
		is(p9_getattr(g.c, 1, &at), -EPROTO, "getattr size past off_t");
		rig_down(&g);
	}
	t_listing(L_TWO, 0, "a listing that ends");
	t_listing(L_STUCK, -EPROTO, "a listing whose offset stays");
	t_listing(L_BACK, -EPROTO, "a listing whose offsets go back");
	t_listing(L_LAP, -EPROTO, "a listing that comes round after 100");
	t_listing(L_ENDLESS, -EFBIG, "a listing of new names for ever");
	t_listing(L_DOTS, -EFBIG, "a listing of \".\" for ever");
	return done_testing();
}
