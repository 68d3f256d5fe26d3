/*
 * test_codec.c - the 9P2000.L codec against byte vectors written out by
 * hand from the protocol (Linux include/net/9p/9p.h, diod protocol.md),
 * plus encode/decode round trips of every message, every truncated prefix
 * of every vector, and oversized counts.
 */
#include <errno.h>
#include <string.h>

#include "p9.h"
#include "tap.h"

struct vec {
	const char *name;
	const uint8_t *b;
	size_t len;
};

#define V(n, ...) { n, (const uint8_t[]){ __VA_ARGS__ }, \
		    sizeof((const uint8_t[]){ __VA_ARGS__ }) }

static const struct vec vecs[] = {
	V("Tversion", 21, 0, 0, 0, 100, 0xff, 0xff, 0x00, 0x20, 0, 0, 8, 0,
	  '9', 'P', '2', '0', '0', '0', '.', 'L'),
	V("Rlerror", 11, 0, 0, 0, 7, 1, 0, 2, 0, 0, 0),
	V("Tattach", 25, 0, 0, 0, 104, 1, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff,
	  0, 0, 2, 0, '/', 'x', 0, 0, 0, 0),
	V("Rattach", 20, 0, 0, 0, 105, 1, 0, 0x80, 0, 0, 0, 0,
	  2, 0, 0, 0, 0, 0, 0, 0),
	V("Twalk", 24, 0, 0, 0, 110, 2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0,
	  1, 0, 'a', 2, 0, 'b', 'c'),
	V("Rwalk", 22, 0, 0, 0, 111, 2, 0, 1, 0, 0, 1, 0, 0, 0,
	  8, 7, 6, 5, 4, 3, 2, 1),
	V("Tread", 23, 0, 0, 0, 116, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	  0, 0x10, 0, 0),
	V("Rread", 14, 0, 0, 0, 117, 3, 0, 3, 0, 0, 0, 'a', 'b', 'c'),
	V("Tgetattr", 19, 0, 0, 0, 24, 4, 0, 1, 0, 0, 0,
	  0xff, 0x07, 0, 0, 0, 0, 0, 0),
	V("Rreaddir", 36, 0, 0, 0, 41, 5, 0, 25, 0, 0, 0,
	  0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0,
	  8, 1, 0, 'f'),
	V("Tunlinkat", 18, 0, 0, 0, 76, 6, 0, 1, 0, 0, 0, 1, 0, 'x',
	  0, 2, 0, 0),
	V("Tsetattr", 67, 0, 0, 0, 26, 7, 0, 1, 0, 0, 0, 1, 0, 0, 0,
	  0xa4, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	  0, 0, 0, 0, 0, 0, 0, 0),
	V("Twrite", 25, 0, 0, 0, 118, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	  2, 0, 0, 0, 'h', 'i'),
	V("Txattrwalk", 23, 0, 0, 0, 30, 9, 0, 1, 0, 0, 0, 2, 0, 0, 0,
	  6, 0, 'u', 's', 'e', 'r', '.', 'a'),
	V("Tflush", 9, 0, 0, 0, 108, 10, 0, 3, 0),
	V("Rclunk", 7, 0, 0, 0, 121, 11, 0),
	V("Tlopen", 15, 0, 0, 0, 12, 12, 0, 1, 0, 0, 0, 0, 0x80, 1, 0),
	V("Rlopen", 24, 0, 0, 0, 13, 12, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0,
	  0, 0, 0, 0, 0xf5, 0xff, 0x0f, 0),
};

/* A few fields of each vector, decoded. */
static void check_fields(void)
{
	struct p9_msg m;

	p9_decode(vecs[0].b, vecs[0].len, &m);
	ok(m.tag == P9_NOTAG && m.u.version.msize == 8192 &&
	   p9_str_eq(m.u.version.version, "9P2000.L"), "Tversion fields");
	p9_decode(vecs[1].b, vecs[1].len, &m);
	ok(m.type == P9_RLERROR && m.u.rlerror.ecode == ENOENT,
	   "Rlerror fields");
	p9_decode(vecs[2].b, vecs[2].len, &m);
	ok(m.u.tattach.afid == P9_NOFID && m.u.tattach.uname.len == 0 &&
	   p9_str_eq(m.u.tattach.aname, "/x"), "Tattach fields");
	p9_decode(vecs[3].b, vecs[3].len, &m);
	ok(m.u.qid.type == P9_QTDIR && m.u.qid.path == 2, "Rattach qid");
	p9_decode(vecs[4].b, vecs[4].len, &m);
	ok(m.u.twalk.newfid == 1 && m.u.twalk.nwname == 2 &&
	   p9_str_eq(m.u.twalk.wname[1], "bc"), "Twalk fields");
	p9_decode(vecs[5].b, vecs[5].len, &m);
	ok(m.u.rwalk.nwqid == 1 &&
	   m.u.rwalk.wqid[0].path == 0x0102030405060708ULL &&
	   m.u.rwalk.wqid[0].version == 1, "Rwalk qid, little-endian");
	p9_decode(vecs[6].b, vecs[6].len, &m);
	ok(m.u.tread.offset == 0x100000000ULL && m.u.tread.count == 4096,
	   "Tread 64-bit offset");
	p9_decode(vecs[7].b, vecs[7].len, &m);
	ok(m.u.rread.count == 3 && memcmp(m.u.rread.data, "abc", 3) == 0 &&
	   m.u.rread.data == vecs[7].b + P9_IOHDRSZ, "Rread data is a view");
	p9_decode(vecs[11].b, vecs[11].len, &m);
	ok(m.u.tsetattr.attr.valid == P9_SETATTR_MODE &&
	   m.u.tsetattr.attr.mode == 0644, "Tsetattr fields");
	p9_decode(vecs[16].b, vecs[16].len, &m);
	ok(m.u.tlopen.flags == 0x18000, "Tlopen flags");
}

static void check_dirent(void)
{
	const struct vec *v = &vecs[9];
	struct p9_dirent d, again;
	struct p9_msg m;
	uint8_t out[64];
	size_t pos = 0, opos = 0, n;

	p9_decode(v->b, v->len, &m);
	ok(p9_dirent_next(m.u.rread.data, m.u.rread.count, &pos, &d) == 1 &&
	   d.qid.path == 9 && d.offset == 1 && d.type == 8 &&
	   p9_str_eq(d.name, "f"), "Rreaddir entry decoded");
	ok(p9_dirent_next(m.u.rread.data, m.u.rread.count, &pos, &d) == 0,
	   "Rreaddir payload ends after one entry");
	ok(p9_dirent_put(out, sizeof(out), &opos, &d) == 1 && opos == 25 &&
	   memcmp(out, m.u.rread.data, 25) == 0, "dirent re-encodes");
	for (n = 0; n < 25; n++) {
		opos = 0;
		if (p9_dirent_put(out, n, &opos, &d) != 0 || opos != 0)
			break;
	}
	ok(n == 25, "dirent_put refuses every buffer too small");
	for (n = 1; n < 25; n++) {
		pos = 0;
		if (p9_dirent_next(m.u.rread.data, n, &pos, &again) != -EPROTO)
			break;
	}
	ok(n == 25, "every cut dirent is rejected");
}

static void check_vectors(void)
{
	uint8_t buf[256], cut[256];
	struct p9_msg m;
	size_t i, n, bad;
	int len;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		const struct vec *v = &vecs[i];

		ok(p9_decode(v->b, v->len, &m) == 0 &&
		   strcmp(p9_type_name(m.type), v->name) == 0,
		   "%s vector decodes", v->name);
		len = p9_encode(buf, sizeof(buf), &m);
		ok(len == (int)v->len && memcmp(buf, v->b, v->len) == 0,
		   "%s re-encodes to the same bytes", v->name);
		for (bad = 0, n = 0; n < v->len; n++) {
			memcpy(cut, v->b, n);
			if (p9_decode(cut, n, &m) != -EPROTO)
				bad++;
			if (n >= 4) {	/* size field claims the cut length */
				cut[0] = n;
				cut[1] = cut[2] = cut[3] = 0;
				if (p9_decode(cut, n, &m) != -EPROTO)
					bad++;
			}
		}
		ok(bad == 0, "%s: all %zu truncated prefixes rejected",
		   v->name, v->len);
		memcpy(cut, v->b, v->len);
		cut[v->len] = 0;
		cut[0]++;
		ok(p9_decode(cut, v->len + 1, &m) == -EPROTO,
		   "%s: trailing byte rejected", v->name);
		for (bad = 0, n = 0; n < v->len; n++)
			if (p9_encode(buf, n, &m) != -EMSGSIZE)
				bad++;
		ok(bad == 0, "%s: encode into a short buffer is -EMSGSIZE",
		   v->name);
	}
}

static void check_oversized(void)
{
	uint8_t b[64];
	struct p9_msg m;

	/* Rread claiming 0xffffffff bytes in a 14-byte frame */
	memcpy(b, vecs[7].b, vecs[7].len);
	b[7] = b[8] = b[9] = b[10] = 0xff;
	ok(p9_decode(b, vecs[7].len, &m) == -EPROTO, "Rread count past frame");
	b[7] = 4;
	b[8] = b[9] = b[10] = 0;
	ok(p9_decode(b, vecs[7].len, &m) == -EPROTO, "Rread count one past");
	/* Twalk with 17 names */
	memcpy(b, vecs[4].b, vecs[4].len);
	b[15] = 17;
	ok(p9_decode(b, vecs[4].len, &m) == -EPROTO, "Twalk nwname 17");
	memcpy(b, vecs[5].b, vecs[5].len);
	b[7] = 17;
	ok(p9_decode(b, vecs[5].len, &m) == -EPROTO, "Rwalk nwqid 17");
	/* string length past the frame */
	memcpy(b, vecs[0].b, vecs[0].len);
	b[11] = 0xff;
	b[12] = 0xff;
	ok(p9_decode(b, vecs[0].len, &m) == -EPROTO, "string len past frame");
	/* size field larger and smaller than the buffer */
	memcpy(b, vecs[1].b, vecs[1].len);
	b[0] = 12;
	ok(p9_decode(b, vecs[1].len, &m) == -EPROTO, "size > buffer");
	b[0] = 6;
	ok(p9_decode(b, 6, &m) == -EPROTO, "size < header");
	/* unknown types: 0, Tauth (not spoken), 255 */
	memcpy(b, vecs[15].b, vecs[15].len);
	b[4] = 0;
	ok(p9_decode(b, 7, &m) == -EPROTO, "type 0 rejected");
	b[4] = 102;
	ok(p9_decode(b, 7, &m) == -EPROTO, "Tauth rejected");
	b[4] = 255;
	ok(p9_decode(b, 7, &m) == -EPROTO, "type 255 rejected");
	ok(p9_frame_size(b, 3) == 0, "frame size needs 4 bytes");
}

static void check_encode_errors(void)
{
	struct p9_msg m = { .type = P9_TWALK };
	uint8_t b[512];

	m.u.twalk.nwname = P9_MAXWELEM + 1;
	ok(p9_encode(b, sizeof(b), &m) == -EINVAL, "encode Twalk of 17");
	m.type = 102;
	ok(p9_encode(b, sizeof(b), &m) == -EINVAL, "encode unknown type");
}

/* Every message type: encode a sample, decode, re-encode identically. */
static void check_roundtrips(void)
{
	static const char big[] = "a name";
	struct p9_msg s[64], m;
	uint8_t b1[512], b2[512];
	int n = 0, i, l1, l2;
	int types[] = {
		P9_RLERROR, P9_TSTATFS, P9_RSTATFS, P9_TLOPEN, P9_RLOPEN,
		P9_TLCREATE, P9_RLCREATE, P9_TSYMLINK, P9_RSYMLINK, P9_TMKNOD,
		P9_RMKNOD, P9_TREADLINK, P9_RREADLINK, P9_TGETATTR,
		P9_RGETATTR, P9_TSETATTR, P9_RSETATTR, P9_TXATTRWALK,
		P9_RXATTRWALK, P9_TXATTRCREATE, P9_RXATTRCREATE, P9_TREADDIR,
		P9_RREADDIR, P9_TFSYNC, P9_RFSYNC, P9_TLINK, P9_RLINK,
		P9_TMKDIR, P9_RMKDIR, P9_TRENAMEAT, P9_RRENAMEAT,
		P9_TUNLINKAT, P9_RUNLINKAT, P9_TVERSION, P9_RVERSION,
		P9_TATTACH, P9_RATTACH, P9_TFLUSH, P9_RFLUSH, P9_TWALK,
		P9_RWALK, P9_TREAD, P9_RREAD, P9_TWRITE, P9_RWRITE, P9_TCLUNK,
		P9_RCLUNK,
	};

	for (i = 0; i < (int)(sizeof(types) / sizeof(types[0])); i++) {
		struct p9_msg *x = &s[n++];
		unsigned k;

		memset(x, 0, sizeof(*x));
		x->type = types[i];
		x->tag = 0x1234 + i;
		/* fill the union with a pattern; strings and data get views */
		for (k = 0; k < sizeof(x->u); k++)
			((uint8_t *)&x->u)[k] = 0x11 * (k % 15 + 1);
		switch (x->type) {
		case P9_TVERSION: case P9_RVERSION:
			x->u.version.version = p9_mkstr(big); break;
		case P9_TATTACH:
			x->u.tattach.uname = p9_mkstr("u");
			x->u.tattach.aname = p9_mkstr(big); break;
		case P9_TWALK:
			x->u.twalk.nwname = P9_MAXWELEM;
			for (k = 0; k < P9_MAXWELEM; k++)
				x->u.twalk.wname[k] = p9_mkstr(big);
			break;
		case P9_RWALK: x->u.rwalk.nwqid = 3; break;
		case P9_TLCREATE: x->u.tlcreate.name = p9_mkstr(big); break;
		case P9_RREAD: case P9_RREADDIR:
			x->u.rread.count = 6;
			x->u.rread.data = (const uint8_t *)big; break;
		case P9_TWRITE:
			x->u.twrite.count = 6;
			x->u.twrite.data = (const uint8_t *)big; break;
		case P9_RREADLINK: x->u.rreadlink.target = p9_mkstr(big); break;
		case P9_TSYMLINK:
			x->u.tsymlink.name = p9_mkstr("n");
			x->u.tsymlink.target = p9_mkstr(big); break;
		case P9_TMKNOD: x->u.tmknod.name = p9_mkstr(big); break;
		case P9_TMKDIR: x->u.tmkdir.name = p9_mkstr(big); break;
		case P9_TLINK: x->u.tlink.name = p9_mkstr(big); break;
		case P9_TRENAMEAT:
			x->u.trenameat.oldname = p9_mkstr("o");
			x->u.trenameat.newname = p9_mkstr(big); break;
		case P9_TUNLINKAT: x->u.tunlinkat.name = p9_mkstr(big); break;
		case P9_TXATTRWALK: x->u.txattrwalk.name = p9_mkstr(big); break;
		case P9_TXATTRCREATE:
			x->u.txattrcreate.name = p9_mkstr(big); break;
		}
	}
	for (i = 0; i < n; i++) {
		l1 = p9_encode(b1, sizeof(b1), &s[i]);
		l2 = l1 > 0 && p9_decode(b1, l1, &m) == 0 && m.tag == s[i].tag ?
		     p9_encode(b2, sizeof(b2), &m) : -1;
		ok(l1 > 0 && l1 == l2 && memcmp(b1, b2, l1) == 0,
		   "%s round trip (%d bytes)", p9_type_name(s[i].type), l1);
	}
	l1 = p9_encode(b1, sizeof(b1), &s[14]);
	is(l1, 160, "Rgetattr is 160 bytes");
}

static void check_names(void)
{
	char n255[256], n256[257];

	memset(n255, 'a', 255);
	n255[255] = 0;
	memset(n256, 'a', 256);
	n256[256] = 0;
	ok(p9_name_ok(p9_mkstr("a b")) && p9_name_ok(p9_mkstr(n255)),
	   "ordinary and 255-byte names accepted");
	ok(!p9_name_ok(p9_mkstr("")) && !p9_name_ok(p9_mkstr(".")) &&
	   !p9_name_ok(p9_mkstr("..")) && !p9_name_ok(p9_mkstr("a/b")) &&
	   !p9_name_ok(p9_mkstr(n256)) &&
	   !p9_name_ok((struct p9_str){ "a\0b", 3 }),
	   "empty, ., .., slash, 256 bytes and NUL rejected");
	ok(p9_name_ok(p9_mkstr("...")) && p9_name_ok(p9_mkstr(".a")),
	   "... and dotfiles are names");
}

/* Write each vector to DIR/NAME: the fuzzer's seed corpus. */
static int write_seeds(const char *dir)
{
	char path[512];
	size_t i;
	FILE *f;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, vecs[i].name);
		f = fopen(path, "wb");
		if (!f || fwrite(vecs[i].b, 1, vecs[i].len, f) != vecs[i].len)
			return 1;
		fclose(f);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		return write_seeds(argv[2]);
	check_vectors();
	check_fields();
	check_dirent();
	check_oversized();
	check_encode_errors();
	check_roundtrips();
	check_names();
	return done_testing();
}
