/*
 * tree_to_archive.c - 9P tree entries -> a libarchive writer (conv.h).
 *
 * What each format can hold is a column of the format table: tar formats
 * keep hardlinks as links and hold fifos and devices; pax also keeps
 * xattrs, nanosecond times and holes (GNU sparse 1.0 in pax headers);
 * zip and 7z hold neither links nor special files, so a hardlink is
 * written as a second copy and a special file is skipped with a warning.
 * File data is streamed: memory does not grow with file size.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "conv.h"

#define CAN_LINK	0x1	/* hardlinks as links */
#define CAN_SPECIAL	0x2	/* fifos and device nodes */
#define CAN_XATTR	0x4
#define CAN_SPARSE	0x8

static const struct format {
	const char *name;
	int (*set)(struct archive *);
	int caps;
} formats[] = {
	{ "pax", archive_write_set_format_pax,
	  CAN_LINK | CAN_SPECIAL | CAN_XATTR | CAN_SPARSE },
	{ "gnutar", archive_write_set_format_gnutar, CAN_LINK | CAN_SPECIAL },
	{ "ustar", archive_write_set_format_ustar, CAN_LINK | CAN_SPECIAL },
	{ "cpio", archive_write_set_format_cpio_newc, CAN_SPECIAL },
	{ "zip", archive_write_set_format_zip, 0 },
	{ "7z", archive_write_set_format_7zip, 0 },
};

static const struct filter {
	const char *name;
	int (*add)(struct archive *);
	const char *ext;
} filters[] = {
	{ "none", archive_write_add_filter_none, "" },
	{ "gzip", archive_write_add_filter_gzip, ".gz" },
	{ "xz", archive_write_add_filter_xz, ".xz" },
	{ "zstd", archive_write_add_filter_zstd, ".zst" },
	{ "bzip2", archive_write_add_filter_bzip2, ".bz2" },
};

/* Output names: the extension says format and filter. */
static const struct {
	const char *ext, *format, *filter;
} exts[] = {
	{ ".tar", "pax", NULL }, { ".tgz", "pax", "gzip" },
	{ ".txz", "pax", "xz" }, { ".tzst", "pax", "zstd" },
	{ ".tbz2", "pax", "bzip2" }, { ".tbz", "pax", "bzip2" },
	{ ".cpio", "cpio", NULL }, { ".zip", "zip", NULL },
	{ ".7z", "7z", NULL },
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SEEN_BUCKETS 4096

struct seen {			/* a file with links, already written */
	struct seen *next;
	uint64_t qid;
	char path[];
};

struct conv_out {
	struct archive *a;
	const struct format *fmt;
	conv_warn_fn *warn;
	void *warn_arg;
	struct seen *seen[SEEN_BUCKETS];
	int no_xattrs;		/* the server said it has none */
	size_t ahead;		/* bytes of data read ahead (conv_out_prep) */
	int werr;		/* writing the archive out failed: errno */
	char err[512];
	uint8_t zeros[65536];
};

static int ends_with(const char *s, size_t len, const char *suf)
{
	size_t n = strlen(suf);

	return len >= n && memcmp(s + len - n, suf, n) == 0;
}

/* Format and filter from a file name's extension; unchanged if unknown. */
static void by_name(const char *name, const char **format,
		    const char **filter)
{
	size_t len = strlen(name), i;

	for (i = 1; i < N(filters); i++)
		if (ends_with(name, len, filters[i].ext)) {
			*filter = filters[i].name;
			len -= strlen(filters[i].ext);
			break;
		}
	for (i = 0; i < N(exts); i++)
		if (ends_with(name, len, exts[i].ext)) {
			*format = exts[i].format;
			if (exts[i].filter)
				*filter = exts[i].filter;
			return;
		}
}

static int setup(struct conv_out *w, const struct conv_out_opts *o)
{
	const char *format = o->format, *filter = o->compress;
	const char *nf = NULL, *nfl = NULL;
	size_t i;

	if (o->name)
		by_name(o->name, &nf, &nfl);
	if (!format)
		format = nf ? nf : "pax";
	if (!filter)
		filter = nfl ? nfl : "none";
	for (i = 0; i < N(formats) && strcmp(formats[i].name, format); i++)
		;
	if (i == N(formats)) {
		snprintf(w->err, sizeof(w->err), "unknown format '%s' (known: %s)",
			 format, conv_out_formats());
		return -EINVAL;
	}
	w->fmt = &formats[i];
	for (i = 0; i < N(filters) && strcmp(filters[i].name, filter); i++)
		;
	if (i == N(filters)) {
		snprintf(w->err, sizeof(w->err),
			 "unknown compression '%s' (known: %s)", filter,
			 conv_out_filters());
		return -EINVAL;
	}
	if (w->fmt->set(w->a) != ARCHIVE_OK ||
	    filters[i].add(w->a) != ARCHIVE_OK) {
		snprintf(w->err, sizeof(w->err), "%s",
			 archive_error_string(w->a));
		return -EINVAL;
	}
	return 0;
}

int conv_out_new(const struct conv_out_opts *o, int fd, struct conv_out **out)
{
	struct conv_out *w = calloc(1, sizeof(*w));
	int e;

	if (!w)
		return -ENOMEM;
	w->warn = o->warn;
	w->warn_arg = o->warn_arg;
	w->a = archive_write_new();
	if (!w->a) {
		free(w);
		return -ENOMEM;
	}
	e = setup(w, o);
	if (!e && archive_write_open_fd(w->a, fd) != ARCHIVE_OK) {
		snprintf(w->err, sizeof(w->err), "%s", archive_error_string(w->a));
		e = -EIO;
	}
	*out = w;	/* even on failure, for conv_out_error */
	return e;
}

const char *conv_out_error(struct conv_out *w)
{
	return w && w->err[0] ? w->err : NULL;
}

int conv_out_write_error(const struct conv_out *w)
{
	return w ? w->werr : 0;
}

const char *conv_out_formats(void)
{
	static char buf[128];
	size_t i, len = 0;

	for (i = 0; i < N(formats); i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s",
				i ? " " : "", formats[i].name);
	return buf;
}

const char *conv_out_filters(void)
{
	static char buf[128];
	size_t i, len = 0;

	for (i = 0; i < N(filters); i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%s",
				i ? " " : "", filters[i].name);
	return buf;
}

static void warn(struct conv_out *w, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void warn(struct conv_out *w, const char *path, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (!w->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	w->warn(w->warn_arg, path, what);
}

static int fail(struct conv_out *w, int e, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct conv_out *w, int e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, sizeof(w->err), fmt, ap);
	va_end(ap);
	return e;
}

/*
 * libarchive gave up on the archive (ARCHIVE_FATAL: it could not write
 * it out, the output being full or closed): keep its errno for
 * conv_out_write_error, its words for conv_out_error.  Returns -errno.
 */
static int write_failed(struct conv_out *w)
{
	int e = archive_errno(w->a);

	w->werr = e > 0 ? e : EIO;
	return fail(w, -w->werr, "%s", archive_error_string(w->a));
}

/* ---- hardlinks: the first path written for each linked file ---- */

static struct seen **seen_slot(struct conv_out *w, uint64_t qid)
{
	struct seen **p = &w->seen[(qid * 0x9e3779b97f4a7c15ULL) >> 52];

	while (*p && (*p)->qid != qid)
		p = &(*p)->next;
	return p;
}

static int seen_add(struct conv_out *w, uint64_t qid, const char *path)
{
	struct seen **p = seen_slot(w, qid);
	size_t n = strlen(path) + 1;

	*p = malloc(sizeof(**p) + n);
	if (!*p)
		return -ENOMEM;
	(*p)->next = NULL;
	(*p)->qid = qid;
	memcpy((*p)->path, path, n);
	return 0;
}

static void seen_free(struct conv_out *w)
{
	struct seen *s, *next;
	size_t i;

	for (i = 0; i < SEEN_BUCKETS; i++)
		for (s = w->seen[i]; s; s = next) {
			next = s->next;
			free(s);
		}
}

/* ---- names: UTF-8 when they are, raw bytes otherwise ---- */

static int is_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int n;

	for (; *p; p++) {
		if (*p < 0x80)
			continue;
		n = (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2 :
		    (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0)
			return 0;
		while (n--)
			if ((*++p & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static void set_names(struct archive_entry *ae, const struct walk_entry *e,
		      const char *hardlink)
{
	if (is_utf8(e->path))
		archive_entry_set_pathname_utf8(ae, e->path);
	else
		archive_entry_copy_pathname(ae, e->path);
	if (e->target && is_utf8(e->target))
		archive_entry_set_symlink_utf8(ae, e->target);
	else if (e->target)
		archive_entry_copy_symlink(ae, e->target);
	if (hardlink && is_utf8(hardlink))
		archive_entry_set_hardlink_utf8(ae, hardlink);
	else if (hardlink)
		archive_entry_copy_hardlink(ae, hardlink);
}

/* ---- what is read of an entry before its turn (conv_out_prep) ---- */

struct note {			/* a warning, told in the entry's turn */
	struct note *next;
	char what[];
};

struct xattr {
	struct xattr *next;
	size_t size;
	char *name;		/* after val */
	uint8_t val[];
};

struct prep {
	int open;		/* 0: not opened; 1: opened; -errno: failed */
	struct xattr *xattrs, **xtail;
	struct note *notes, **ntail;
	uint8_t *data;		/* the whole file, if read ahead */
	size_t len;		/* of it: its size, or less if it ended early */
	size_t held;		/* taken of w->ahead */
	int read_err;		/* reading it failed: -errno */
};

static void prep_note(struct prep *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void prep_note(struct prep *p, const char *fmt, ...)
{
	struct note *n;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	n = len < 0 ? NULL : malloc(sizeof(*n) + len + 1);
	if (!n)
		return;
	va_start(ap, fmt);
	vsnprintf(n->what, len + 1, fmt, ap);
	va_end(ap);
	n->next = NULL;
	*p->ntail = n;
	p->ntail = &n->next;
}

static void prep_xattr(struct prep *p, const char *name, const void *val,
		       size_t size)
{
	size_t nlen = strlen(name) + 1;
	struct xattr *x = malloc(sizeof(*x) + size + nlen);

	if (!x) {
		prep_note(p, "xattr %s dropped: %s", name, strerror(ENOMEM));
		return;
	}
	x->next = NULL;
	x->size = size;
	memcpy(x->val, val, size);
	x->name = (char *)x->val + size;
	memcpy(x->name, name, nlen);
	*p->xtail = x;
	p->xtail = &x->next;
}

static void read_xattrs(struct conv_out *w, struct p9_client *c,
			uint32_t fid, struct prep *p)
{
	static __thread char list[P9_XATTR_MAX], val[P9_XATTR_MAX];
	ssize_t n, v;
	size_t at;

	if (__atomic_load_n(&w->no_xattrs, __ATOMIC_RELAXED))
		return;
	n = p9_xattr_get(c, fid, NULL, list, sizeof(list));
	if (n == -EOPNOTSUPP || n == -ENOSYS) {
		__atomic_store_n(&w->no_xattrs, 1, __ATOMIC_RELAXED);
		return;
	}
	if (n < 0) {
		if (n != -ENODATA)
			prep_note(p, "xattrs not listed: %s", strerror(-n));
		return;
	}
	if (n > 0 && list[n - 1] != '\0') {
		prep_note(p, "xattr list malformed, xattrs dropped");
		return;
	}
	for (at = 0; at < (size_t)n; at += strlen(list + at) + 1) {
		if (!list[at])
			continue;
		v = p9_xattr_get(c, fid, list + at, val, sizeof(val));
		if (v < 0)
			prep_note(p, "xattr %s dropped: %s", list + at,
				  strerror(-v));
		else
			prep_xattr(p, list + at, val, v);
	}
}

/* Copy the file's data into p->data, up to its size. */
static int keep_data(void *arg, const void *d, size_t n)
{
	struct prep *p = arg;

	memcpy(p->data + p->len, d, n);
	p->len += n;
	return 0;
}

/* Take bytes of w->ahead, if that many are left; 1 if taken. */
static int take_ahead(struct conv_out *w, size_t bytes)
{
	if (__atomic_add_fetch(&w->ahead, bytes, __ATOMIC_RELAXED) <=
	    CONV_OUT_AHEAD)
		return 1;
	__atomic_sub_fetch(&w->ahead, bytes, __ATOMIC_RELAXED);
	return 0;
}

/* A file the archive keeps with holes: fewer blocks than its size. */
static int sparse(const struct conv_out *w, const struct p9_attr *a)
{
	return (w->fmt->caps & CAN_SPARSE) && a->blocks * 512 < a->size;
}

/* Files read whole ahead of their turn: at most this big. */
#define PREP_DATA_MAX	(1 << 20)

void *conv_out_prep(struct conv_out *w, struct p9_client *c,
		    const struct walk_entry *e)
{
	const struct p9_attr *a = &e->attr;
	struct prep *p = calloc(1, sizeof(*p));
	int64_t got;

	if (!p)
		return NULL;
	p->xtail = &p->xattrs;
	p->ntail = &p->notes;
	if (S_ISREG(a->mode) && a->size > 0) {
		p->open = p9_lopen(c, e->fid, O_RDONLY, NULL, NULL);
		if (p->open == 0)
			p->open = 1;
	}
	if (w->fmt->caps & CAN_XATTR)
		read_xattrs(w, c, e->fid, p);
	/* the data, of a small file written whole in its turn */
	if (p->open <= 0 || a->size > PREP_DATA_MAX || sparse(w, a) ||
	    (a->nlink > 1 && (w->fmt->caps & CAN_LINK)) ||
	    !take_ahead(w, a->size))
		return p;
	p->held = a->size;
	p->data = malloc(p->held);
	if (!p->data)
		return p;
	got = p9_read_stream(c, e->fid, 0, a->size, 0, keep_data, p);
	if (got < 0)
		p->read_err = (int)got;
	return p;
}

void conv_out_unprep(struct conv_out *w, void *prep)
{
	struct prep *p = prep;
	struct xattr *x, *xn;
	struct note *n, *nn;

	for (x = p->xattrs; x; x = xn) {
		xn = x->next;
		free(x);
	}
	for (n = p->notes; n; n = nn) {
		nn = n->next;
		free(n);
	}
	free(p->data);
	__atomic_sub_fetch(&w->ahead, p->held, __ATOMIC_RELAXED);
	free(p);
}

/* ---- data ---- */

struct feed {
	struct conv_out *w;
	uint64_t done;
	/* sparse scan */
	int64_t *ext;		/* offset, length pairs */
	size_t next, cap;
	int too_many;
};

static int feed_data(void *arg, const void *d, size_t n)
{
	struct feed *f = arg;
	la_ssize_t r = archive_write_data(f->w->a, d, n);

	if (r < 0)
		return write_failed(f->w);
	f->done += n;
	return 0;
}

/*
 * A file that ends before its size is padded with zeros to it, as tar
 * does, if no more than this is missing: a larger gap is no truncated
 * file but a size that lies (padding 2^62 bytes would never end).
 */
#define PAD_MAX		(64 << 20)

/*
 * Size bytes of the opened fid into the entry: those p read ahead, or
 * streamed now.
 */
static int write_data(struct conv_out *w, struct p9_client *c,
		      const struct walk_entry *e, const struct prep *p,
		      uint64_t size)
{
	struct feed f = { .w = w };
	int64_t got;
	int r;

	if (p->data) {
		got = p->read_err ? p->read_err : feed_data(&f, p->data, p->len);
		if (got == 0)
			got = p->len;
	} else {
		got = p9_read_stream(c, e->fid, 0, size, 0, feed_data, &f);
	}
	if (got < 0)
		return w->err[0] ? (int)got :
		       fail(w, (int)got, "read: %s", strerror((int)-got));
	if (size - f.done > PAD_MAX)
		return fail(w, -EIO, "file ended at %llu bytes, but its size "
			    "says %llu", (unsigned long long)f.done,
			    (unsigned long long)size);
	if (f.done < size)
		warn(w, e->path, "file ended %llu bytes early; padded with zeros",
		     (unsigned long long)(size - f.done));
	while (f.done < size) {
		size_t n = size - f.done < sizeof(w->zeros) ?
			   size - f.done : sizeof(w->zeros);

		r = feed_data(&f, w->zeros, n);
		if (r)
			return r;
	}
	return 0;
}

#define SPARSE_BLOCK 4096
#define SPARSE_EXTENTS_MAX (1 << 20)

static int all_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Note where data lies, block by block; holes are runs of zero blocks. */
static int scan_data(void *arg, const void *d, size_t n)
{
	struct feed *f = arg;
	const uint8_t *p = d;
	size_t off, len;

	for (off = 0; off < n && !f->too_many; off += len) {
		len = n - off < SPARSE_BLOCK ? n - off : SPARSE_BLOCK;
		if (all_zero(p + off, len))
			continue;
		if (f->next && f->ext[2 * f->next - 2] + f->ext[2 * f->next - 1] ==
		    (int64_t)(f->done + off)) {
			f->ext[2 * f->next - 1] += len;
			continue;
		}
		if (f->next == f->cap) {
			size_t cap = f->cap ? f->cap * 2 : 64;
			int64_t *ne = cap > SPARSE_EXTENTS_MAX ? NULL :
				      realloc(f->ext, cap * 2 * sizeof(*ne));

			if (!ne) {
				f->too_many = 1;
				break;
			}
			f->ext = ne;
			f->cap = cap;
		}
		f->ext[2 * f->next] = f->done + off;
		f->ext[2 * f->next + 1] = len;
		f->next++;
	}
	f->done += n;
	return 0;
}

/*
 * A file with fewer blocks than its size has holes: read it once to find
 * the data, and give the entry its sparse map.  The second read, the
 * data itself, then leaves the holes out.
 */
static int sparse_map(struct conv_out *w, struct p9_client *c,
		      const struct walk_entry *e, struct archive_entry *ae)
{
	struct feed f = { .w = w };
	int64_t got;
	size_t i;

	got = p9_read_stream(c, e->fid, 0, e->attr.size, 0, scan_data, &f);
	if (got < 0) {
		free(f.ext);
		return fail(w, (int)got, "read: %s", strerror((int)-got));
	}
	if (!f.too_many && (uint64_t)got == e->attr.size) {
		for (i = 0; i < f.next; i++)
			archive_entry_sparse_add_entry(ae, f.ext[2 * i],
						       f.ext[2 * i + 1]);
		if (!f.next || f.ext[2 * f.next - 2] + f.ext[2 * f.next - 1] <
		    (int64_t)e->attr.size)	/* a hole at the end */
			archive_entry_sparse_add_entry(ae, e->attr.size, 0);
	}
	free(f.ext);
	return 0;
}

/* ---- entries ---- */

static const char *kind(mode_t m)
{
	return S_ISFIFO(m) ? "fifo" : S_ISCHR(m) ? "character device" :
	       S_ISBLK(m) ? "block device" : S_ISSOCK(m) ? "socket" : "file";
}

static int write_header(struct conv_out *w, struct archive_entry *ae,
			const char *path)
{
	int r = archive_write_header(w->a, ae);

	if (r == ARCHIVE_OK)
		return 0;
	if (r == ARCHIVE_WARN) {
		warn(w, path, "%s", archive_error_string(w->a));
		return 0;
	}
	if (r == ARCHIVE_FAILED) {
		warn(w, path, "skipped: %s", archive_error_string(w->a));
		return 1;
	}
	return write_failed(w);
}

/* Fill ae from e; 1 if e is a link to a file already written. */
static int fill_entry(struct conv_out *w, const struct walk_entry *e,
		      struct archive_entry *ae)
{
	const struct p9_attr *a = &e->attr;
	struct seen **s = NULL;
	int linked = 0;

	if (S_ISREG(a->mode) && a->nlink > 1 && (w->fmt->caps & CAN_LINK)) {
		s = seen_slot(w, a->qid.path);
		linked = *s != NULL;
	}
	set_names(ae, e, linked ? (*s)->path : NULL);
	archive_entry_set_mode(ae, a->mode);
	archive_entry_set_uid(ae, a->uid);
	archive_entry_set_gid(ae, a->gid);
	archive_entry_set_mtime(ae, a->mtime_sec, a->mtime_nsec);
	if (S_ISCHR(a->mode) || S_ISBLK(a->mode)) {
		archive_entry_set_rdevmajor(ae, major(a->rdev));
		archive_entry_set_rdevminor(ae, minor(a->rdev));
	}
	/* every entry has a size (cpio insists): data only in files */
	archive_entry_set_size(ae, S_ISREG(a->mode) && !linked ? a->size : 0);
	if (linked)
		archive_entry_set_nlink(ae, a->nlink);
	return linked;
}

int conv_out_entry(struct conv_out *w, struct p9_client *c,
		   const struct walk_entry *e)
{
	const struct p9_attr *a = &e->attr;
	const struct prep *p = e->prep;
	struct archive_entry *ae;
	struct xattr *x;
	struct note *n;
	int linked, r = 0, data;

	if (S_ISSOCK(a->mode) || ((S_ISFIFO(a->mode) || S_ISCHR(a->mode) ||
				   S_ISBLK(a->mode)) &&
				  !(w->fmt->caps & CAN_SPECIAL))) {
		warn(w, e->path, "%s skipped: %s cannot hold it", kind(a->mode),
		     S_ISSOCK(a->mode) ? "no archive" : w->fmt->name);
		return 0;
	}
	ae = p ? archive_entry_new() : NULL;	/* no prep: it had no memory */
	if (!ae)
		return fail(w, -ENOMEM, "out of memory");
	linked = fill_entry(w, e, ae);
	data = S_ISREG(a->mode) && !linked && a->size > 0;
	if (data && p->open < 0)
		r = fail(w, p->open, "open: %s", strerror(-p->open));
	for (x = p->xattrs; !r && x; x = x->next)
		archive_entry_xattr_add_entry(ae, x->name, x->val, x->size);
	if (!r && data && sparse(w, a))
		r = sparse_map(w, c, e, ae);
	if (!r)
		r = write_header(w, ae, e->path);
	if (r == 0 && data)
		r = write_data(w, c, e, p, a->size);
	if (r == 0 && S_ISREG(a->mode) && a->nlink > 1 &&
	    (w->fmt->caps & CAN_LINK) && !linked && seen_add(w, a->qid.path,
							     e->path))
		r = fail(w, -ENOMEM, "out of memory");
	/* an entry's warnings, unless it failed, or they may come of a
	 * connection that ended for a request of another entry */
	for (n = p->notes; !r && !p9_client_error(c) && n; n = n->next)
		warn(w, e->path, "%s", n->what);
	archive_entry_free(ae);
	return r < 0 ? r : 0;
}

int conv_out_close(struct conv_out *w)
{
	int e = 0;

	if (archive_write_close(w->a) != ARCHIVE_OK)
		e = write_failed(w);
	archive_write_free(w->a);
	seen_free(w);
	free(w);
	return e;
}

void conv_out_abort(struct conv_out *w)
{
	if (!w)
		return;
	archive_write_fail(w->a);	/* free then writes no trailer */
	archive_write_free(w->a);
	seen_free(w);
	free(w);
}
