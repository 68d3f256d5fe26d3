/*
 * image.c - open, spool and probe the input image (see image.h).
 * Detection is libblkid's (util-linux), the field's standard probe.
 */
#include <blkid.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image.h"

#define SPOOL_BLOCK (1 << 16)

struct img {
	int fd;
	uint64_t size;
	char path[32];
};

static int all_zero(const char *p, size_t n)
{
	return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

/* Copy fd `in` into an unnamed temp file, leaving zero blocks as holes. */
static int spool(int in, int *out, uint64_t *size, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	static char buf[SPOOL_BLOCK];
	uint64_t total = 0;
	ssize_t n;
	int fd;

	if (!dir || !*dir)
		dir = "/var/tmp";
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot make a temporary file in %s: %s",
			 dir, strerror(errno));
		return -errno;
	}
	for (;;) {
		size_t have = 0;

		while (have < sizeof(buf) &&
		       (n = read(in, buf + have, sizeof(buf) - have)) > 0)
			have += n;
		if (have == 0)
			break;
		if (all_zero(buf, have) ? lseek(fd, have, SEEK_CUR) < 0 :
		    write(fd, buf, have) != (ssize_t)have) {
			snprintf(err, errlen, "spooling standard input to %s: %s",
				 dir, strerror(errno));
			close(fd);
			return -EIO;
		}
		total += have;
		if (have < sizeof(buf))
			break;
	}
	if (ftruncate(fd, total) < 0) {
		snprintf(err, errlen, "spooling to %s: %s", dir, strerror(errno));
		close(fd);
		return -EIO;
	}
	*out = fd;
	*size = total;
	return 0;
}

static int open_stdin(struct img *im, char *err, size_t errlen)
{
	struct stat st;

	if (isatty(0)) {
		snprintf(err, errlen, "standard input is a terminal, not an "
			 "image (redirect one: < disk.img)");
		return -EINVAL;
	}
	if (fstat(0, &st) == 0 && S_ISREG(st.st_mode)) {
		im->fd = fcntl(0, F_DUPFD_CLOEXEC, 3);
		im->size = st.st_size;
		if (im->fd < 0)
			return -errno;
	} else {
		int e = spool(0, &im->fd, &im->size, err, errlen);

		if (e)
			return e;
	}
	if (im->size == 0) {
		snprintf(err, errlen, "standard input is empty (with docker "
			 "run, pass -i so the image reaches the container)");
		return -ENODATA;
	}
	return 0;
}

static int open_path(struct img *im, const char *name, int writable,
		     char *err, size_t errlen)
{
	struct stat st;

	im->fd = open(name, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (im->fd < 0 || fstat(im->fd, &st) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -errno;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "is a directory, not an image");
		return -EISDIR;
	}
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(im->fd, 0, SEEK_END);

		im->size = end < 0 ? 0 : (uint64_t)end;
	} else {
		im->size = st.st_size;
	}
	if (im->size == 0) {
		snprintf(err, errlen, "empty file, not an image");
		return -ENODATA;
	}
	return 0;
}

int img_open(const char *name, int writable, struct img **out, char *err,
	     size_t errlen)
{
	struct img *im = calloc(1, sizeof(*im));
	int e;

	if (!im)
		return -ENOMEM;
	im->fd = -1;
	if (strcmp(name, "-") == 0)
		e = writable ? -EINVAL : open_stdin(im, err, errlen);
	else
		e = open_path(im, name, writable, err, errlen);
	if (e) {
		img_free(im);
		return e;
	}
	snprintf(im->path, sizeof(im->path), "/dev/fd/%d", im->fd);
	*out = im;
	return 0;
}

const char *img_path(const struct img *im)
{
	return im->path;
}

int img_fd(const struct img *im)
{
	return im->fd;
}

uint64_t img_size(const struct img *im)
{
	return im->size;
}

int img_detect(struct img *im, char *type, size_t cap, char *err,
	       size_t errlen)
{
	blkid_probe pr = blkid_new_probe();
	const char *val = NULL;
	int r = -ENOENT;

	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, im->fd, 0, 0) == 0) {
		blkid_probe_enable_superblocks(pr, 1);
		blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE);
		blkid_probe_enable_partitions(pr, 1);
		blkid_probe_set_partitions_flags(pr, BLKID_PARTS_MAGIC);
		if (blkid_do_safeprobe(pr) == 0) {
			if (blkid_probe_lookup_value(pr, "TYPE", &val, NULL) == 0) {
				snprintf(type, cap, "%s", val);
				r = 0;
			} else if (blkid_probe_lookup_value(pr, "PTTYPE", &val,
							    NULL) == 0) {
				snprintf(err, errlen, "a partition table (%s): "
					 "choose a partition with --partition N",
					 val);
			}
		}
	}
	if (r && !val)
		snprintf(err, errlen, "no filesystem recognised (%llu bytes; "
			 "name one with --fs)", (unsigned long long)im->size);
	blkid_free_probe(pr);
	return r;
}

void img_free(struct img *im)
{
	if (!im)
		return;
	if (im->fd >= 0)
		close(im->fd);
	free(im);
}
