/*
 * codec.c - 9P2000.L encode and decode over one layout per message.
 *
 * Each message body is described once, by a function that walks its
 * fields through a cursor.  The cursor either packs (message -> bytes) or
 * unpacks (bytes -> message); it records overflow instead of failing at
 * each field, and the caller checks it once at the end (the diod and
 * lib9p habit).  Layouts follow include/net/9p/9p.h and diod's
 * protocol.md.
 */
#include <errno.h>
#include <string.h>

#include "p9.h"

struct cur {
	uint8_t *p;		/* buffer: written when packing, read otherwise */
	size_t len, off;
	int pack;
	int bad;		/* sticky: overflow or an invalid count */
};

static uint8_t *take(struct cur *c, size_t n)
{
	uint8_t *at;

	if (c->bad || n > c->len - c->off) {
		c->bad = 1;
		return NULL;
	}
	at = c->p + c->off;
	c->off += n;
	return at;
}

static void u8(struct cur *c, uint8_t *v)
{
	uint8_t *b = take(c, 1);

	if (!b)
		return;
	if (c->pack)
		b[0] = *v;
	else
		*v = b[0];
}

static void u16(struct cur *c, uint16_t *v)
{
	uint8_t *b = take(c, 2);

	if (!b)
		return;
	if (c->pack) {
		b[0] = *v;
		b[1] = *v >> 8;
	} else {
		*v = b[0] | (uint16_t)b[1] << 8;
	}
}

static void u32(struct cur *c, uint32_t *v)
{
	uint8_t *b = take(c, 4);
	int i;

	if (!b)
		return;
	if (c->pack) {
		for (i = 0; i < 4; i++)
			b[i] = *v >> (8 * i);
	} else {
		*v = 0;
		for (i = 0; i < 4; i++)
			*v |= (uint32_t)b[i] << (8 * i);
	}
}

static void u64(struct cur *c, uint64_t *v)
{
	uint8_t *b = take(c, 8);
	int i;

	if (!b)
		return;
	if (c->pack) {
		for (i = 0; i < 8; i++)
			b[i] = *v >> (8 * i);
	} else {
		*v = 0;
		for (i = 0; i < 8; i++)
			*v |= (uint64_t)b[i] << (8 * i);
	}
}

static void str(struct cur *c, struct p9_str *s)
{
	uint8_t *b;

	u16(c, &s->len);
	b = take(c, s->len);
	if (!b)
		return;
	if (c->pack) {
		if (s->len && s->s != (const char *)b)
			memmove(b, s->s, s->len);
	} else {
		s->s = (const char *)b;
	}
}

/* count bytes of opaque data; count itself is sent just before. */
static void data(struct cur *c, const uint8_t **d, uint32_t count)
{
	uint8_t *b = take(c, count);

	if (!b)
		return;
	if (c->pack) {
		if (count && *d != b)
			memmove(b, *d, count);
	} else {
		*d = b;
	}
}

static void qid(struct cur *c, struct p9_qid *q)
{
	u8(c, &q->type);
	u32(c, &q->version);
	u64(c, &q->path);
}

/* ---- message layouts, one per body shape ---- */

static void m_version(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.version.msize);
	str(c, &m->u.version.version);
}

static void m_rlerror(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.rlerror.ecode);
}

static void m_tattach(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tattach.fid);
	u32(c, &m->u.tattach.afid);
	str(c, &m->u.tattach.uname);
	str(c, &m->u.tattach.aname);
	u32(c, &m->u.tattach.n_uname);
}

static void m_qid(struct cur *c, struct p9_msg *m)
{
	qid(c, &m->u.qid);
}

static void m_empty(struct cur *c, struct p9_msg *m)
{
	(void)c;
	(void)m;
}

static void m_twalk(struct cur *c, struct p9_msg *m)
{
	uint16_t i;

	u32(c, &m->u.twalk.fid);
	u32(c, &m->u.twalk.newfid);
	u16(c, &m->u.twalk.nwname);
	if (m->u.twalk.nwname > P9_MAXWELEM)
		c->bad = 1;
	for (i = 0; !c->bad && i < m->u.twalk.nwname; i++)
		str(c, &m->u.twalk.wname[i]);
}

static void m_rwalk(struct cur *c, struct p9_msg *m)
{
	uint16_t i;

	u16(c, &m->u.rwalk.nwqid);
	if (m->u.rwalk.nwqid > P9_MAXWELEM)
		c->bad = 1;
	for (i = 0; !c->bad && i < m->u.rwalk.nwqid; i++)
		qid(c, &m->u.rwalk.wqid[i]);
}

static void m_tgetattr(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tgetattr.fid);
	u64(c, &m->u.tgetattr.request_mask);
}

static void m_rgetattr(struct cur *c, struct p9_msg *m)
{
	struct p9_attr *a = &m->u.rgetattr;

	u64(c, &a->valid);
	qid(c, &a->qid);
	u32(c, &a->mode);
	u32(c, &a->uid);
	u32(c, &a->gid);
	u64(c, &a->nlink);
	u64(c, &a->rdev);
	u64(c, &a->size);
	u64(c, &a->blksize);
	u64(c, &a->blocks);
	u64(c, &a->atime_sec);
	u64(c, &a->atime_nsec);
	u64(c, &a->mtime_sec);
	u64(c, &a->mtime_nsec);
	u64(c, &a->ctime_sec);
	u64(c, &a->ctime_nsec);
	u64(c, &a->btime_sec);
	u64(c, &a->btime_nsec);
	u64(c, &a->gen);
	u64(c, &a->data_version);
}

static void m_tsetattr(struct cur *c, struct p9_msg *m)
{
	struct p9_iattr *a = &m->u.tsetattr.attr;

	u32(c, &m->u.tsetattr.fid);
	u32(c, &a->valid);
	u32(c, &a->mode);
	u32(c, &a->uid);
	u32(c, &a->gid);
	u64(c, &a->size);
	u64(c, &a->atime_sec);
	u64(c, &a->atime_nsec);
	u64(c, &a->mtime_sec);
	u64(c, &a->mtime_nsec);
}

static void m_tlopen(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tlopen.fid);
	u32(c, &m->u.tlopen.flags);
}

static void m_ropen(struct cur *c, struct p9_msg *m)
{
	qid(c, &m->u.ropen.qid);
	u32(c, &m->u.ropen.iounit);
}

static void m_tlcreate(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tlcreate.fid);
	str(c, &m->u.tlcreate.name);
	u32(c, &m->u.tlcreate.flags);
	u32(c, &m->u.tlcreate.mode);
	u32(c, &m->u.tlcreate.gid);
}

static void m_tread(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tread.fid);
	u64(c, &m->u.tread.offset);
	u32(c, &m->u.tread.count);
}

static void m_rread(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.rread.count);
	data(c, &m->u.rread.data, m->u.rread.count);
}

static void m_twrite(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.twrite.fid);
	u64(c, &m->u.twrite.offset);
	u32(c, &m->u.twrite.count);
	data(c, &m->u.twrite.data, m->u.twrite.count);
}

static void m_rwrite(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.rwrite.count);
}

static void m_fid(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.fid.fid);
}

static void m_rreadlink(struct cur *c, struct p9_msg *m)
{
	str(c, &m->u.rreadlink.target);
}

static void m_tsymlink(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tsymlink.fid);
	str(c, &m->u.tsymlink.name);
	str(c, &m->u.tsymlink.target);
	u32(c, &m->u.tsymlink.gid);
}

static void m_tmknod(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tmknod.dfid);
	str(c, &m->u.tmknod.name);
	u32(c, &m->u.tmknod.mode);
	u32(c, &m->u.tmknod.major);
	u32(c, &m->u.tmknod.minor);
	u32(c, &m->u.tmknod.gid);
}

static void m_tmkdir(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tmkdir.dfid);
	str(c, &m->u.tmkdir.name);
	u32(c, &m->u.tmkdir.mode);
	u32(c, &m->u.tmkdir.gid);
}

static void m_tlink(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tlink.dfid);
	u32(c, &m->u.tlink.fid);
	str(c, &m->u.tlink.name);
}

static void m_trenameat(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.trenameat.olddirfid);
	str(c, &m->u.trenameat.oldname);
	u32(c, &m->u.trenameat.newdirfid);
	str(c, &m->u.trenameat.newname);
}

static void m_tunlinkat(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tunlinkat.dirfid);
	str(c, &m->u.tunlinkat.name);
	u32(c, &m->u.tunlinkat.flags);
}

static void m_rstatfs(struct cur *c, struct p9_msg *m)
{
	struct p9_statfs *s = &m->u.rstatfs;

	u32(c, &s->type);
	u32(c, &s->bsize);
	u64(c, &s->blocks);
	u64(c, &s->bfree);
	u64(c, &s->bavail);
	u64(c, &s->files);
	u64(c, &s->ffree);
	u64(c, &s->fsid);
	u32(c, &s->namelen);
}

static void m_tfsync(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.tfsync.fid);
	u32(c, &m->u.tfsync.datasync);
}

static void m_txattrwalk(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.txattrwalk.fid);
	u32(c, &m->u.txattrwalk.newfid);
	str(c, &m->u.txattrwalk.name);
}

static void m_rxattrwalk(struct cur *c, struct p9_msg *m)
{
	u64(c, &m->u.rxattrwalk.size);
}

static void m_txattrcreate(struct cur *c, struct p9_msg *m)
{
	u32(c, &m->u.txattrcreate.fid);
	str(c, &m->u.txattrcreate.name);
	u64(c, &m->u.txattrcreate.attr_size);
	u32(c, &m->u.txattrcreate.flags);
}

static void m_tflush(struct cur *c, struct p9_msg *m)
{
	u16(c, &m->u.tflush.oldtag);
}

typedef void layout_fn(struct cur *, struct p9_msg *);

static const struct {
	const char *name;
	layout_fn *fn;
} layouts[256] = {
	[P9_RLERROR] = { "Rlerror", m_rlerror },
	[P9_TSTATFS] = { "Tstatfs", m_fid },
	[P9_RSTATFS] = { "Rstatfs", m_rstatfs },
	[P9_TLOPEN] = { "Tlopen", m_tlopen },
	[P9_RLOPEN] = { "Rlopen", m_ropen },
	[P9_TLCREATE] = { "Tlcreate", m_tlcreate },
	[P9_RLCREATE] = { "Rlcreate", m_ropen },
	[P9_TSYMLINK] = { "Tsymlink", m_tsymlink },
	[P9_RSYMLINK] = { "Rsymlink", m_qid },
	[P9_TMKNOD] = { "Tmknod", m_tmknod },
	[P9_RMKNOD] = { "Rmknod", m_qid },
	[P9_TREADLINK] = { "Treadlink", m_fid },
	[P9_RREADLINK] = { "Rreadlink", m_rreadlink },
	[P9_TGETATTR] = { "Tgetattr", m_tgetattr },
	[P9_RGETATTR] = { "Rgetattr", m_rgetattr },
	[P9_TSETATTR] = { "Tsetattr", m_tsetattr },
	[P9_RSETATTR] = { "Rsetattr", m_empty },
	[P9_TXATTRWALK] = { "Txattrwalk", m_txattrwalk },
	[P9_RXATTRWALK] = { "Rxattrwalk", m_rxattrwalk },
	[P9_TXATTRCREATE] = { "Txattrcreate", m_txattrcreate },
	[P9_RXATTRCREATE] = { "Rxattrcreate", m_empty },
	[P9_TREADDIR] = { "Treaddir", m_tread },
	[P9_RREADDIR] = { "Rreaddir", m_rread },
	[P9_TFSYNC] = { "Tfsync", m_tfsync },
	[P9_RFSYNC] = { "Rfsync", m_empty },
	[P9_TLINK] = { "Tlink", m_tlink },
	[P9_RLINK] = { "Rlink", m_empty },
	[P9_TMKDIR] = { "Tmkdir", m_tmkdir },
	[P9_RMKDIR] = { "Rmkdir", m_qid },
	[P9_TRENAMEAT] = { "Trenameat", m_trenameat },
	[P9_RRENAMEAT] = { "Rrenameat", m_empty },
	[P9_TUNLINKAT] = { "Tunlinkat", m_tunlinkat },
	[P9_RUNLINKAT] = { "Runlinkat", m_empty },
	[P9_TVERSION] = { "Tversion", m_version },
	[P9_RVERSION] = { "Rversion", m_version },
	[P9_TATTACH] = { "Tattach", m_tattach },
	[P9_RATTACH] = { "Rattach", m_qid },
	[P9_TFLUSH] = { "Tflush", m_tflush },
	[P9_RFLUSH] = { "Rflush", m_empty },
	[P9_TWALK] = { "Twalk", m_twalk },
	[P9_RWALK] = { "Rwalk", m_rwalk },
	[P9_TREAD] = { "Tread", m_tread },
	[P9_RREAD] = { "Rread", m_rread },
	[P9_TWRITE] = { "Twrite", m_twrite },
	[P9_RWRITE] = { "Rwrite", m_rwrite },
	[P9_TCLUNK] = { "Tclunk", m_fid },
	[P9_RCLUNK] = { "Rclunk", m_empty },
};

static void header(struct cur *c, struct p9_msg *m, uint32_t *size)
{
	u32(c, size);
	u8(c, &m->type);
	u16(c, &m->tag);
}

int p9_encode(void *buf, size_t cap, const struct p9_msg *m)
{
	/* packing only reads *m; the shared layout takes it non-const */
	struct p9_msg *mm = (struct p9_msg *)m;
	struct cur c = { .p = buf, .len = cap, .pack = 1 };
	uint32_t size = 0;

	if (!layouts[m->type].fn)
		return -EINVAL;
	if ((m->type == P9_TWALK && m->u.twalk.nwname > P9_MAXWELEM) ||
	    (m->type == P9_RWALK && m->u.rwalk.nwqid > P9_MAXWELEM))
		return -EINVAL;
	header(&c, mm, &size);
	layouts[m->type].fn(&c, mm);
	if (c.bad || c.off > UINT32_MAX)
		return -EMSGSIZE;
	size = c.off;
	c.off = 0;
	u32(&c, &size);
	return (int)size;
}

int p9_decode(const void *buf, size_t len, struct p9_msg *m)
{
	/* unpacking never writes the buffer */
	struct cur c = { .p = (uint8_t *)buf, .len = len };
	uint32_t size = 0;

	memset(m, 0, sizeof(*m));
	header(&c, m, &size);
	if (c.bad || size != len || !layouts[m->type].fn)
		return -EPROTO;
	layouts[m->type].fn(&c, m);
	if (c.bad || c.off != len)
		return -EPROTO;
	return 0;
}

uint32_t p9_frame_size(const void *buf, size_t len)
{
	const uint8_t *b = buf;

	if (len < 4)
		return 0;
	return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
}

static void dirent(struct cur *c, struct p9_dirent *d)
{
	qid(c, &d->qid);
	u64(c, &d->offset);
	u8(c, &d->type);
	str(c, &d->name);
}

int p9_dirent_next(const uint8_t *data, size_t len, size_t *pos,
		   struct p9_dirent *d)
{
	struct cur c = { .p = (uint8_t *)data, .len = len, .off = *pos };

	if (*pos >= len)
		return 0;
	dirent(&c, d);
	if (c.bad)
		return -EPROTO;
	*pos = c.off;
	return 1;
}

int p9_dirent_put(uint8_t *buf, size_t cap, size_t *pos,
		  const struct p9_dirent *d)
{
	struct cur c = { .p = buf, .len = cap, .off = *pos, .pack = 1 };

	if (*pos > cap)
		return 0;
	dirent(&c, (struct p9_dirent *)d);
	if (c.bad)
		return 0;
	*pos = c.off;
	return 1;
}

int p9_name_ok(struct p9_str s)
{
	if (s.len == 0 || s.len > 255)
		return 0;
	if (memchr(s.s, '/', s.len) || memchr(s.s, '\0', s.len))
		return 0;
	return !p9_str_eq(s, ".") && !p9_str_eq(s, "..");
}

int p9_str_eq(struct p9_str s, const char *z)
{
	size_t n = strlen(z);

	return s.len == n && memcmp(s.s, z, n) == 0;
}

struct p9_str p9_mkstr(const char *z)
{
	struct p9_str s = { "", 0 };

	if (z) {
		s.s = z;
		s.len = strlen(z) > UINT16_MAX ? UINT16_MAX : strlen(z);
	}
	return s;
}

const char *p9_type_name(uint8_t type)
{
	return layouts[type].name ? layouts[type].name : "?";
}
