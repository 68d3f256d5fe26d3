/*
 * image.c - open, unpack and probe the input image (see image.h).
 *
 * What an input is comes from its first bytes, in this order:
 *  - compressed: gzip (RFC 1952), xz (xz-file-format 1.1.0), zstd
 *    (RFC 8878), bzip2, lz4 (frame format, and the legacy one) ->
 *    decompressed with libarchive's raw reader into a sparse unnamed
 *    temp file, which is then looked at again (a qcow2.gz is a qcow2);
 *  - a disk container: qcow2 (QEMU docs/interop/qcow2.txt), VMDK sparse
 *    extent (VMware "Virtual Disk Format 1.1"), VDI (VirtualBox), VHDX
 *    (MS-VHDX), VHD/vpc (Microsoft VHD specification: dynamic disks
 *    copy the footer to offset 0, fixed ones have it only at the end) ->
 *    QEMU is told the format;
 *  - anything else is raw.
 * What the disk holds is found by lib/layout.c through img_view.
 */
#include <archive.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"
#include "outfile.h"
#include "vm.h"

#define SPOOL_BLOCK	(1 << 16)	/* hole granularity of a spool */
#define READ_BLOCK	(1 << 20)
#define HEAD		4096		/* bytes the magic numbers live in */
#define PROBE_HEAD	(2 << 20)	/* what libblkid gets of a container */

struct img {
	int fd;			/* the file, or its spooled copy; -1: url */
	char *url;
	int head_fd;		/* a URL's first PROBE_HEAD bytes, or -1 */
	uint64_t size;		/* what the guest sees: the window */
	const char *packed;	/* "gzip", ...: it came compressed */
	struct vm_disk disk;
	int timeout_ms;
	char form[64];
};

/* ---- what the first bytes say ---- */

static int has(const unsigned char *h, size_t n, size_t off, const char *m,
	       size_t len)
{
	return off + len <= n && memcmp(h + off, m, len) == 0;
}

/* The compression, or NULL. */
static const char *packer(const unsigned char *h, size_t n)
{
	if (has(h, n, 0, "\x1f\x8b\x08", 3))
		return "gzip";
	if (has(h, n, 0, "\xfd" "7zXZ\0", 6))
		return "xz";
	if (has(h, n, 0, "\x28\xb5\x2f\xfd", 4))
		return "zstd";
	if (has(h, n, 0, "\x04\x22\x4d\x18", 4) ||
	    has(h, n, 0, "\x02\x21\x4c\x18", 4))
		return "lz4";
	/* "BZh" and a block size, then a block's or the end's magic */
	if (has(h, n, 0, "BZh", 3) && n >= 10 && h[3] >= '1' && h[3] <= '9' &&
	    (has(h, n, 4, "\x31\x41\x59\x26\x53\x59", 6) ||
	     has(h, n, 4, "\x17\x72\x45\x38\x50\x90", 6)))
		return "bzip2";
	return NULL;
}

/* The container format, or NULL (raw).  tail: the last 512 bytes or NULL. */
static const char *container(const unsigned char *h, size_t n,
			     const unsigned char *tail)
{
	if (has(h, n, 0, "QFI\xfb", 4))
		return "qcow2";
	if (has(h, n, 0, "KDMV", 4) || has(h, n, 0, "COWD", 4) ||
	    has(h, n, 0, "# Disk DescriptorFile", 21))
		return "vmdk";
	if (has(h, n, 0x40, "\x7f\x10\xda\xbe", 4))
		return "vdi";
	if (has(h, n, 0, "vhdxfile", 8))
		return "vhdx";
	if (has(h, n, 0, "conectix", 8) ||
	    (tail && memcmp(tail, "conectix", 8) == 0))
		return "vpc";
	return NULL;
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

static uint64_t le(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/*
 * Refuse a container that would have QEMU open another file by a name it
 * holds (a backing file, an external data file, a VMDK descriptor's
 * extents): that name is the image author's choice of host file.  QEMU
 * is also told "backing": null, so this is for a clear message.
 */
static int names_other_files(const char *fmt, const unsigned char *h,
			     size_t n, int fd, char *err, size_t errlen)
{
	char name[256] = "";
	size_t i, len;

	if (strcmp(fmt, "qcow2") == 0 && n >= 104) {
		uint64_t off = be(h + 8, 8);

		if (off) {
			len = be(h + 16, 4);
			if (len >= sizeof(name))
				len = sizeof(name) - 1;
			if (fd >= 0 && pread(fd, name, len, off) == (ssize_t)len)
				name[len] = '\0';
			else
				name[0] = '\0';
			for (i = 0; name[i]; i++)
				if ((unsigned char)name[i] < 0x20 ||
				    (unsigned char)name[i] >= 0x7f)
					name[i] = '?';
			snprintf(err, errlen, "qcow2 over a backing file (%s): "
				 "qemount opens no file an image names "
				 "(merge it first: qemu-img convert -O qcow2)",
				 name[0] ? name : "unreadable name");
			return -EPERM;
		}
		if (be(h + 4, 4) >= 3 && (be(h + 72, 8) & 4)) {
			snprintf(err, errlen, "qcow2 with an external data "
				 "file: qemount opens no file an image names");
			return -EPERM;
		}
	}
	if (strcmp(fmt, "vmdk") == 0 &&
	    (has(h, n, 0, "# Disk DescriptorFile", 21) ||
	     (has(h, n, 0, "KDMV", 4) && n >= 20 && le(h + 12, 8) == 0))) {
		snprintf(err, errlen, "a VMDK descriptor: its data is in "
			 "other files (give qemount the extent itself, "
			 "e.g. NAME-flat.vmdk)");
		return -EPERM;
	}
	return 0;
}

/* ---- spooling: a stream into a sparse unnamed temp file ---- */

struct spool {
	int fd;
	uint64_t total;		/* bytes taken so far */
	size_t have;		/* in buf, not yet written */
	char *buf;		/* SPOOL_BLOCK */
	const char *dir;
};

static int all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static int spool_new(struct spool *sp, char *err, size_t errlen)
{
	memset(sp, 0, sizeof(*sp));
	sp->buf = malloc(SPOOL_BLOCK);
	if (!sp->buf)
		return -ENOMEM;
	sp->fd = outfile_scratch(&sp->dir, err, errlen);
	if (sp->fd < 0) {
		free(sp->buf);
		return sp->fd;
	}
	return 0;
}

/* Write buf's block, or leave a hole where it is all zero. */
static int spool_flush(struct spool *sp)
{
	int e = 0;

	if (all_zero(sp->buf, sp->have)) {
		if (lseek(sp->fd, sp->have, SEEK_CUR) < 0)
			e = -errno;
	} else if (write(sp->fd, sp->buf, sp->have) != (ssize_t)sp->have) {
		e = errno ? -errno : -EIO;
	}
	sp->have = 0;
	return e;
}

static int spool_put(struct spool *sp, const void *p, size_t n)
{
	const char *c = p;
	int e;

	while (n) {
		size_t k = SPOOL_BLOCK - sp->have;

		if (k > n)
			k = n;
		memcpy(sp->buf + sp->have, c, k);
		sp->have += k;
		sp->total += k;
		c += k;
		n -= k;
		if (sp->have == SPOOL_BLOCK && (e = spool_flush(sp)))
			return e;
	}
	return 0;
}

/* Finish: the file gets its length (a trailing hole included). */
static int spool_end(struct spool *sp)
{
	int e = spool_flush(sp);

	if (!e && ftruncate(sp->fd, sp->total) < 0)
		e = -errno;
	free(sp->buf);
	sp->buf = NULL;
	return e;
}

static void spool_abort(struct spool *sp)
{
	free(sp->buf);
	sp->buf = NULL;
	if (sp->fd >= 0)
		close(sp->fd);
	sp->fd = -1;
}

/* What a stream is read from: bytes already read, then an fd. */
struct src {
	const unsigned char *pre;
	size_t prelen;
	int fd;
	off_t pos;		/* next pread() offset; -1: read() a stream */
	char *buf;		/* READ_BLOCK */
};

static ssize_t src_read(struct src *s, const void **out)
{
	ssize_t n;

	if (s->prelen) {
		*out = s->pre;
		n = s->prelen;
		s->prelen = 0;
		return n;
	}
	do
		n = s->pos >= 0 ? pread(s->fd, s->buf, READ_BLOCK, s->pos) :
		    read(s->fd, s->buf, READ_BLOCK);
	while (n < 0 && errno == EINTR);
	if (n > 0 && s->pos >= 0)
		s->pos += n;
	*out = s->buf;
	return n;
}

static la_ssize_t archive_src_read(struct archive *a, void *arg,
				   const void **out)
{
	ssize_t n = src_read(arg, out);

	if (n < 0)
		archive_set_error(a, errno, "read: %s", strerror(errno));
	return n;
}

/*
 * End a spool that got error e so far (0: all went in): finish it, or
 * drop it and say why if nothing has yet.  Returns the error, or 0.
 */
static int spool_finish(struct spool *sp, int e, char *err, size_t errlen)
{
	if (!e)
		e = spool_end(sp);
	if (e && err[0] == '\0')
		snprintf(err, errlen, "spooling to %s: %s", sp->dir,
			 strerror(-e));
	if (e)
		spool_abort(sp);
	return e;
}

/* Spool s as it is.  Returns 0 and the spool in sp, or -errno. */
static int spool_raw(struct src *s, struct spool *sp, char *err,
		     size_t errlen)
{
	const void *p;
	ssize_t n;
	int e = spool_new(sp, err, errlen);

	while (!e && (n = src_read(s, &p)) != 0) {
		if (n < 0) {
			e = -errno;
			snprintf(err, errlen, "reading: %s", strerror(errno));
			break;
		}
		e = spool_put(sp, p, n);
	}
	return spool_finish(sp, e, err, errlen);
}

/* Spool s decompressed (how is what packer() saw, for messages). */
static int spool_unpacked(struct src *s, const char *how, struct spool *sp,
			  char *err, size_t errlen)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	const void *p;
	size_t n;
	la_int64_t off;
	int r, e;

	if (!a)
		return -ENOMEM;
	e = spool_new(sp, err, errlen);
	if (e) {
		archive_read_free(a);
		return e;
	}
	/* the five we detect (nested too: a .gz of an .xz), and no filter
	 * that runs an outside program (lrzip, lzop) or unwraps uuencode */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_format_raw(a);
	r = archive_read_open(a, s, NULL, archive_src_read, NULL);
	if (r == ARCHIVE_OK)
		r = archive_read_next_header(a, &ent);
	if (r == ARCHIVE_OK && archive_filter_code(a, 0) == ARCHIVE_FILTER_NONE) {
		snprintf(err, errlen, "%s data, which this libarchive cannot "
			 "decompress", how);
		e = -ENOTSUP;
	}
	while (r == ARCHIVE_OK && !e) {
		r = archive_read_data_block(a, &p, &n, &off);
		if (r == ARCHIVE_OK)
			e = spool_put(sp, p, n);
	}
	if (!e && r != ARCHIVE_EOF) {
		snprintf(err, errlen, "%s data is damaged or cut short: %s", how,
			 archive_error_string(a) ? archive_error_string(a) :
			 "cannot decompress");
		e = -EIO;
	}
	archive_read_free(a);
	return spool_finish(sp, e, err, errlen);
}

/* ---- opening ---- */

/* Read up to cap bytes at off (a stream if off < 0); the count, or -errno. */
static ssize_t read_full(int fd, void *buf, size_t cap, off_t off)
{
	size_t have = 0;
	ssize_t n;

	while (have < cap) {
		n = off >= 0 ? pread(fd, (char *)buf + have, cap - have,
				     off + have) :
		    read(fd, (char *)buf + have, cap - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		have += n;
	}
	return have;
}

/* im->fd now holds a spool: it replaces what was open. */
static void take_spool(struct img *im, struct spool *sp)
{
	if (im->fd >= 0)
		close(im->fd);
	im->fd = im->disk.fd = sp->fd;
	im->size = sp->total;
}

/*
 * A stream (a pipe, a socket): its first bytes decide whether it is
 * spooled as it is or decompressed.
 */
static int open_stream(struct img *im, int fd, char *err, size_t errlen)
{
	unsigned char *head = malloc(HEAD);
	struct src s = { .fd = fd, .pos = -1 };
	struct spool sp;
	ssize_t n;
	int e = -ENOMEM;

	s.buf = malloc(READ_BLOCK);
	if (!head || !s.buf)
		goto out;
	n = read_full(fd, head, HEAD, -1);
	if (n < 0) {
		e = n;
		snprintf(err, errlen, "reading: %s", strerror(-n));
		goto out;
	}
	s.pre = head;
	s.prelen = n;
	im->packed = packer(head, n);
	e = im->packed ? spool_unpacked(&s, im->packed, &sp, err, errlen) :
	    spool_raw(&s, &sp, err, errlen);
	if (!e)
		take_spool(im, &sp);
out:
	free(s.buf);
	free(head);
	return e;
}

/* A compressed file: decompress it into a spool, which replaces it. */
static int unpack_file(struct img *im, char *err, size_t errlen)
{
	struct src s = { .fd = im->fd, .pos = 0 };
	struct spool sp;
	int e;

	s.buf = malloc(READ_BLOCK);
	if (!s.buf)
		return -ENOMEM;
	e = spool_unpacked(&s, im->packed, &sp, err, errlen);
	free(s.buf);
	if (!e)
		take_spool(im, &sp);
	return e;
}

static int open_stdin(struct img *im, char *err, size_t errlen)
{
	struct stat st;

	if (isatty(0)) {
		snprintf(err, errlen, "standard input is a terminal, not an "
			 "image (redirect one: < disk.img)");
		return -EINVAL;
	}
	if (fstat(0, &st) == 0 && (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		off_t end;

		/* used in place: a file, or a block device (< /dev/sdb) */
		im->fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
		if (im->fd < 0)
			return -errno;
		end = S_ISBLK(st.st_mode) ? lseek(im->fd, 0, SEEK_END) :
		      st.st_size;
		im->size = end < 0 ? 0 : (uint64_t)end;
		return 0;
	}
	return open_stream(im, 0, err, errlen);
}

static int open_path(struct img *im, const char *name, int writable,
		     char *err, size_t errlen)
{
	struct stat st;
	int fd, e;

	fd = open(name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	if (S_ISDIR(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "is a directory, not an image");
		return -EISDIR;
	}
	if (!writable && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		/* <(xzcat disk.img.xz): a pipe by name */
		e = open_stream(im, fd, err, errlen);
		close(fd);
		return e;
	}
	im->fd = fd;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(fd, 0, SEEK_END);

		im->size = end < 0 ? 0 : (uint64_t)end;
	} else {
		im->size = st.st_size;
	}
	return 0;
}

/*
 * A URL: its size and first bytes through QEMU's curl driver (the same
 * one the guest's disk will use).  A compressed one is fetched whole and
 * unpacked into a spool.
 */
static int open_url(struct img *im, const char *url, char *err,
		    size_t errlen)
{
	struct vm_disk d = { .format = "raw", .fd = -1, .url = url };
	unsigned char head[HEAD];
	struct stat st;
	ssize_t n;
	int e;

	im->url = strdup(url);
	if (!im->url)
		return -ENOMEM;
	d.url = im->url;
	e = vm_disk_size(&d, &im->size, im->timeout_ms, err, errlen);
	if (e)
		return e;
	im->head_fd = memfd_create("qemount-head", MFD_CLOEXEC);
	if (im->head_fd < 0)
		return -errno;
	e = vm_disk_read(&d, im->head_fd, PROBE_HEAD, im->timeout_ms, err,
			 errlen);
	if (e)
		return e;
	n = read_full(im->head_fd, head, HEAD, 0);
	im->packed = n > 0 ? packer(head, n) : NULL;
	if (!im->packed)	/* the rest a hole: libblkid sees the size */
		return ftruncate(im->head_fd, im->size) < 0 ? -errno : 0;
	/* fetched whole into a spool (dd writes every block: not sparse) */
	close(im->head_fd);
	im->head_fd = -1;
	im->fd = outfile_scratch(NULL, err, errlen);
	if (im->fd < 0)
		return im->fd;
	e = vm_disk_read(&d, im->fd, im->size, im->timeout_ms, err, errlen);
	if (!e && (fstat(im->fd, &st) < 0 || (uint64_t)st.st_size != im->size)) {
		snprintf(err, errlen, "fetched %lld of %llu bytes",
			 (long long)st.st_size, (unsigned long long)im->size);
		e = -EIO;
	}
	if (!e)
		e = unpack_file(im, err, errlen);
	return e;
}

/*
 * What the open input is: compressed (then unpacked), a container (its
 * format and virtual size, checked by qemu-img) or raw.
 */
static int identify(struct img *im, int writable, char *err, size_t errlen)
{
	unsigned char head[HEAD], tail[512];
	const char *fmt;
	ssize_t n;
	int e, src = im->fd >= 0 ? im->fd : im->head_fd, have_tail = 0;

	n = read_full(src, head, HEAD, 0);
	if (n < 0) {
		snprintf(err, errlen, "reading: %s", strerror(-n));
		return n;
	}
	if (im->fd >= 0 && !im->packed && (im->packed = packer(head, n))) {
		if (writable) {
			snprintf(err, errlen, "%s-compressed: cannot be written "
				 "in place", im->packed);
			return -EROFS;
		}
		e = unpack_file(im, err, errlen);
		if (e)
			return e;
		n = read_full(im->fd, head, HEAD, 0);
		if (n < 0)
			return n;
	}
	if (im->fd >= 0 && im->size >= 1024 &&
	    read_full(im->fd, tail, sizeof(tail), im->size - 512) == 512)
		have_tail = 1;
	fmt = container(head, n, have_tail ? tail : NULL);
	im->disk.format = fmt ? fmt : "raw";
	snprintf(im->form, sizeof(im->form), "%s%s%s", im->packed ? im->packed :
		 "", im->packed ? "-compressed " : "", im->disk.format);
	if (!fmt)
		return 0;
	e = names_other_files(fmt, head, n, im->fd, err, errlen);
	if (e)
		return e;
	/* qemu-img checks the header and tells the virtual size */
	e = vm_disk_size(&im->disk, &im->size, im->timeout_ms, err, errlen);
	if (e) {
		char why[512];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "%s: %s", fmt, why);
	}
	return e;
}

/* The window: within the disk, not empty. */
static int set_window(struct img *im, const struct img_opts *o, char *err,
		      size_t errlen)
{
	if (o->offset >= im->size) {
		snprintf(err, errlen, "--offset %llu is past the end of the "
			 "disk (%s, %llu bytes)", (unsigned long long)o->offset,
			 im->form, (unsigned long long)im->size);
		return -EINVAL;
	}
	if (o->length > im->size - o->offset) {
		snprintf(err, errlen, "--offset %llu --length %llu goes past "
			 "the end of the disk (%s, %llu bytes)",
			 (unsigned long long)o->offset,
			 (unsigned long long)o->length, im->form,
			 (unsigned long long)im->size);
		return -EINVAL;
	}
	im->disk.offset = o->offset;
	im->disk.size = o->length;
	if (o->offset || o->length)
		im->size = o->length ? o->length : im->size - o->offset;
	return 0;
}

static int is_url(const char *name)
{
	return strncasecmp(name, "http://", 7) == 0 ||
	       strncasecmp(name, "https://", 8) == 0;
}

int img_open(const struct img_opts *o, struct img **out, char *err,
	     size_t errlen)
{
	struct img *im = calloc(1, sizeof(*im));
	int e;

	if (!im)
		return -ENOMEM;
	err[0] = '\0';
	im->fd = im->head_fd = -1;
	im->timeout_ms = o->timeout_ms;
	if ((strcmp(o->name, "-") == 0 || is_url(o->name)) && o->writable) {
		snprintf(err, errlen, "cannot be written in place");
		e = -EROFS;
	} else if (strcmp(o->name, "-") == 0) {
		e = open_stdin(im, err, errlen);
	} else if (is_url(o->name)) {
		e = open_url(im, o->name, err, errlen);
	} else {
		e = open_path(im, o->name, o->writable, err, errlen);
	}
	if (!e && im->size == 0) {
		snprintf(err, errlen, strcmp(o->name, "-") ? "empty, not an "
			 "image" : "standard input is empty (with docker run, "
			 "pass -i so the image reaches the container)");
		e = -ENODATA;
	}
	im->disk.fd = im->fd;
	im->disk.url = im->fd < 0 ? im->url : NULL;
	if (!e)
		e = identify(im, o->writable, err, errlen);
	im->disk.fd = im->fd;	/* a spool may have replaced it */
	if (!e && im->size == 0) {
		snprintf(err, errlen, "empty once decompressed, not an image");
		e = -ENODATA;
	}
	if (!e)
		e = set_window(im, o, err, errlen);
	im->disk.length = im->size;
	if (e) {
		img_free(im);
		return e;
	}
	*out = im;
	return 0;
}

const struct vm_disk *img_disk(const struct img *im)
{
	return &im->disk;
}

uint64_t img_size(const struct img *im)
{
	return im->size;
}

const char *img_form(const struct img *im)
{
	return im->form;
}

int img_view(struct img *im, uint64_t off, uint64_t len, uint64_t head,
	     int *fd, uint64_t *at, char *err, size_t errlen)
{
	const struct vm_disk *d = &im->disk;
	struct vm_disk sub = *d;
	int e;

	err[0] = '\0';
	if (off > im->size || len > im->size - off)
		return -EINVAL;
	if (d->fd >= 0 && strcmp(d->format, "raw") == 0) {
		*fd = fcntl(d->fd, F_DUPFD_CLOEXEC, 3);
		*at = d->offset + off;
		return *fd < 0 ? -errno : 0;
	}
	if (im->head_fd >= 0 && strcmp(d->format, "raw") == 0 &&
	    d->offset == 0 && off + head <= PROBE_HEAD) {
		/* a URL's first bytes, already here */
		*fd = fcntl(im->head_fd, F_DUPFD_CLOEXEC, 3);
		*at = off;
		return *fd < 0 ? -errno : 0;
	}
	/* the range's first bytes, the rest a hole, so a probe sees its
	 * real size */
	*fd = memfd_create("qemount-probe", MFD_CLOEXEC);
	if (*fd < 0)
		return -errno;
	*at = 0;
	sub.offset = d->offset + off;
	sub.size = len;
	e = vm_disk_read(&sub, *fd, head < len ? head : len, im->timeout_ms,
			 err, errlen);
	if (!e && ftruncate(*fd, len) < 0)
		e = -errno;
	if (e) {
		close(*fd);
		*fd = -1;
	}
	return e;
}

void img_free(struct img *im)
{
	if (!im)
		return;
	if (im->fd >= 0)
		close(im->fd);
	if (im->head_fd >= 0)
		close(im->head_fd);
	free(im->url);
	free(im);
}
