/*
 * p9.h - 9P2000.L message codec.
 *
 * Implements the wire format of 9P2000.L as the Linux kernel speaks it
 * (include/net/9p/9p.h, net/9p/protocol.c) and as diod documents it
 * (protocol.md): every message is size[4] type[1] tag[2] body, integers
 * little-endian, strings len[2] bytes.
 *
 * Pure functions over bytes: no I/O, no allocation.  Decoded strings and
 * data are views into the caller's buffer and live as long as it does.
 * Encoding and decoding share one description of each message layout
 * (codec.c), so the two directions cannot drift apart.
 */
#ifndef QEMOUNT_P9_H
#define QEMOUNT_P9_H

#include <stddef.h>
#include <stdint.h>

#define P9_VERSION	"9P2000.L"
#define P9_NOTAG	((uint16_t)0xffff)
#define P9_NOFID	((uint32_t)0xffffffff)
#define P9_MAXWELEM	16	/* path elements in one Twalk */
#define P9_HDRSZ	7	/* size[4] type[1] tag[2] */
#define P9_IOHDRSZ	11	/* header + count[4]: Rread/Rreaddir overhead */
/*
 * Room kept for the largest read/write header (Linux's P9_IOHDRSZ): a
 * Tread or Twrite moves at most msize - P9_RWHDRSZ bytes, as the Linux
 * client does; diod refuses anything larger.
 */
#define P9_RWHDRSZ	24
#define P9_MINMSIZE	4096	/* smallest msize either side accepts */
/*
 * A qemount extension: Tfsync with this datasync value asks our server
 * to end the export and report the result (lib/p9/server.h, commit):
 * how the host learns that a written image was unmounted cleanly.
 * Other servers treat it as fdatasync.
 */
#define P9_FSYNC_COMMIT	0x514d4354u	/* "QMCT" */

enum p9_type {
	P9_TLERROR = 6,	P9_RLERROR = 7,
	P9_TSTATFS = 8,	P9_RSTATFS = 9,
	P9_TLOPEN = 12,	P9_RLOPEN = 13,
	P9_TLCREATE = 14, P9_RLCREATE = 15,
	P9_TSYMLINK = 16, P9_RSYMLINK = 17,
	P9_TMKNOD = 18, P9_RMKNOD = 19,
	P9_TREADLINK = 22, P9_RREADLINK = 23,
	P9_TGETATTR = 24, P9_RGETATTR = 25,
	P9_TSETATTR = 26, P9_RSETATTR = 27,
	P9_TXATTRWALK = 30, P9_RXATTRWALK = 31,
	P9_TXATTRCREATE = 32, P9_RXATTRCREATE = 33,
	P9_TREADDIR = 40, P9_RREADDIR = 41,
	P9_TFSYNC = 50, P9_RFSYNC = 51,
	P9_TLINK = 70, P9_RLINK = 71,
	P9_TMKDIR = 72, P9_RMKDIR = 73,
	P9_TRENAMEAT = 74, P9_RRENAMEAT = 75,
	P9_TUNLINKAT = 76, P9_RUNLINKAT = 77,
	P9_TVERSION = 100, P9_RVERSION = 101,
	P9_TATTACH = 104, P9_RATTACH = 105,
	P9_TFLUSH = 108, P9_RFLUSH = 109,
	P9_TWALK = 110, P9_RWALK = 111,
	P9_TREAD = 116, P9_RREAD = 117,
	P9_TWRITE = 118, P9_RWRITE = 119,
	P9_TCLUNK = 120, P9_RCLUNK = 121,
};

/* qid.type bits */
#define P9_QTDIR	0x80
#define P9_QTSYMLINK	0x02
#define P9_QTFILE	0x00

/* Tgetattr request_mask / Rgetattr valid bits */
#define P9_GETATTR_MODE		0x00000001ULL
#define P9_GETATTR_NLINK	0x00000002ULL
#define P9_GETATTR_UID		0x00000004ULL
#define P9_GETATTR_GID		0x00000008ULL
#define P9_GETATTR_RDEV		0x00000010ULL
#define P9_GETATTR_ATIME	0x00000020ULL
#define P9_GETATTR_MTIME	0x00000040ULL
#define P9_GETATTR_CTIME	0x00000080ULL
#define P9_GETATTR_INO		0x00000100ULL
#define P9_GETATTR_SIZE		0x00000200ULL
#define P9_GETATTR_BLOCKS	0x00000400ULL
#define P9_GETATTR_BASIC	0x000007ffULL

/* Tsetattr valid bits */
#define P9_SETATTR_MODE		0x00000001U
#define P9_SETATTR_UID		0x00000002U
#define P9_SETATTR_GID		0x00000004U
#define P9_SETATTR_SIZE		0x00000008U
#define P9_SETATTR_ATIME	0x00000010U
#define P9_SETATTR_MTIME	0x00000020U
#define P9_SETATTR_CTIME	0x00000040U
#define P9_SETATTR_ATIME_SET	0x00000080U
#define P9_SETATTR_MTIME_SET	0x00000100U

/* Tunlinkat flags */
#define P9_AT_REMOVEDIR		0x200

/* A string on the wire: a view, not NUL-terminated, may contain NUL. */
struct p9_str {
	const char *s;
	uint16_t len;
};

struct p9_qid {
	uint8_t type;
	uint32_t version;
	uint64_t path;
};

struct p9_attr {		/* Rgetattr body */
	uint64_t valid;
	struct p9_qid qid;
	uint32_t mode, uid, gid;
	uint64_t nlink, rdev, size, blksize, blocks;
	uint64_t atime_sec, atime_nsec, mtime_sec, mtime_nsec;
	uint64_t ctime_sec, ctime_nsec, btime_sec, btime_nsec;
	uint64_t gen, data_version;
};

struct p9_iattr {		/* Tsetattr body after fid */
	uint32_t valid, mode, uid, gid;
	uint64_t size, atime_sec, atime_nsec, mtime_sec, mtime_nsec;
};

struct p9_statfs {
	uint32_t type, bsize;
	uint64_t blocks, bfree, bavail, files, ffree, fsid;
	uint32_t namelen;
};

/*
 * One message, T or R.  The member of the union that is valid is named
 * after the message; R messages that carry only a qid share `qid`, and
 * those with an empty body use none.
 */
struct p9_msg {
	uint8_t type;
	uint16_t tag;
	union {
		struct { uint32_t msize; struct p9_str version; } version;
		struct { uint32_t ecode; } rlerror;
		struct { uint32_t fid, afid; struct p9_str uname, aname;
			 uint32_t n_uname; } tattach;
		struct p9_qid qid;	/* Rattach Rsymlink Rmknod Rmkdir */
		struct { uint32_t fid, newfid; uint16_t nwname;
			 struct p9_str wname[P9_MAXWELEM]; } twalk;
		struct { uint16_t nwqid;
			 struct p9_qid wqid[P9_MAXWELEM]; } rwalk;
		struct { uint32_t fid; uint64_t request_mask; } tgetattr;
		struct p9_attr rgetattr;
		struct { uint32_t fid; struct p9_iattr attr; } tsetattr;
		struct { uint32_t fid, flags; } tlopen;
		struct { struct p9_qid qid; uint32_t iounit; } ropen; /* Rlopen Rlcreate */
		struct { uint32_t fid; struct p9_str name; uint32_t flags, mode,
			 gid; } tlcreate;
		struct { uint32_t fid; uint64_t offset; uint32_t count; } tread; /* Tread Treaddir */
		struct { uint32_t count; const uint8_t *data; } rread;	/* Rread Rreaddir */
		struct { uint32_t fid; uint64_t offset; uint32_t count;
			 const uint8_t *data; } twrite;
		struct { uint32_t count; } rwrite;
		struct { uint32_t fid; } fid;	/* Treadlink Tstatfs Tclunk */
		struct { struct p9_str target; } rreadlink;
		struct { uint32_t fid; struct p9_str name, target;
			 uint32_t gid; } tsymlink;
		struct { uint32_t dfid; struct p9_str name; uint32_t mode, major,
			 minor, gid; } tmknod;
		struct { uint32_t dfid; struct p9_str name; uint32_t mode,
			 gid; } tmkdir;
		struct { uint32_t dfid, fid; struct p9_str name; } tlink;
		struct { uint32_t olddirfid; struct p9_str oldname;
			 uint32_t newdirfid; struct p9_str newname; } trenameat;
		struct { uint32_t dirfid; struct p9_str name;
			 uint32_t flags; } tunlinkat;
		struct p9_statfs rstatfs;
		struct { uint32_t fid, datasync; } tfsync;
		struct { uint32_t fid, newfid; struct p9_str name; } txattrwalk;
		struct { uint64_t size; } rxattrwalk;
		struct { uint32_t fid; struct p9_str name; uint64_t attr_size;
			 uint32_t flags; } txattrcreate;
		struct { uint16_t oldtag; } tflush;
	} u;
};

/* One entry of an Rreaddir payload. */
struct p9_dirent {
	struct p9_qid qid;
	uint64_t offset;	/* cookie to resume after this entry */
	uint8_t type;		/* DT_* */
	struct p9_str name;
};

/*
 * p9_encode - write message m as one frame into buf[0..cap).
 * Returns the frame length, -EMSGSIZE if it does not fit, -EINVAL if m
 * has an unknown type or an element count out of range.  Data pointers
 * (twrite, rread) are copied unless they already point at their place in
 * buf, so a server can read file data straight into buf + P9_IOHDRSZ.
 */
int p9_encode(void *buf, size_t cap, const struct p9_msg *m);

/*
 * p9_decode - parse exactly one frame, buf[0..len).
 * The size field must equal len, the body must be consumed exactly, and
 * every count must lie inside the frame.  Returns 0, or -EPROTO for any
 * malformed or unknown message.  On success, strings and data in *m point
 * into buf.
 */
int p9_decode(const void *buf, size_t len, struct p9_msg *m);

/*
 * p9_frame_size - read the size field of a frame header.  Returns the
 * full frame length once at least 4 bytes are present, 0 if fewer are.
 */
uint32_t p9_frame_size(const void *buf, size_t len);

/*
 * p9_dirent_next - parse the entry at data[*pos] of an Rreaddir payload.
 * Returns 1 and advances *pos, 0 at the end of data, -EPROTO if the entry
 * is cut short.  The name is a view into data and is not validated here
 * (see p9_name_ok).
 */
int p9_dirent_next(const uint8_t *data, size_t len, size_t *pos,
		   struct p9_dirent *d);

/*
 * p9_dirent_put - append entry d at buf[*pos], buf holding cap bytes.
 * Returns 1 and advances *pos, or 0 (nothing written) if it does not fit.
 */
int p9_dirent_put(uint8_t *buf, size_t cap, size_t *pos,
		  const struct p9_dirent *d);

/*
 * p9_name_ok - true if s is usable as one path component: 1..255 bytes,
 * no '/', no NUL, not "." or "..".
 */
int p9_name_ok(struct p9_str s);

/* p9_str_eq - true if s holds exactly the C string z. */
int p9_str_eq(struct p9_str s, const char *z);

/*
 * p9_mkstr - a view of the C string z (NULL gives the empty string).
 * A string of 64 KiB or more cannot go on the wire: callers bound their
 * names and targets before (p9_name_ok, PATH_MAX).
 */
struct p9_str p9_mkstr(const char *z);

/* p9_type_name - "Tread" etc. for messages and logs; "?" if unknown. */
const char *p9_type_name(uint8_t type);

#endif
