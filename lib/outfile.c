/*
 * outfile.c - whole-or-nothing output files (see outfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outfile.h"

struct outfile {
	int fd;
	int is_stdout;
	int named;		/* fell back to a temp name (tmp) */
	off_t start;		/* standard output, a regular file: where
				   this output began; else -1 */
	char path[PATH_MAX];
	char tmp[PATH_MAX];
};

static char pending[PATH_MAX];	/* a temp name to remove on a signal */

static int fits(int n, size_t cap)
{
	return n >= 0 && (size_t)n < cap;
}

/* dir/.base.qemount-XXXXXX next to path */
static int temp_name(const char *path, char *buf, size_t cap)
{
	const char *slash = strrchr(path, '/');
	int dlen = slash ? (int)(slash - path) : 1;

	return fits(snprintf(buf, cap, "%.*s/.%s.qemount-XXXXXX", dlen,
			     slash ? path : ".", slash ? slash + 1 : path),
		    cap) ? 0 : -ENAMETOOLONG;
}

int outfile_open(const char *path, struct outfile **out, char *err,
		 size_t errlen)
{
	struct outfile *o = calloc(1, sizeof(*o));
	char dir[PATH_MAX], *slash;
	struct stat st;
	int e;

	if (!o)
		return -ENOMEM;
	if (strcmp(path, "-") == 0) {
		if (isatty(1)) {
			snprintf(err, errlen, "refusing to write an archive to "
				 "a terminal (use -o FILE or redirect)");
			free(o);
			return -EINVAL;
		}
		o->fd = 1;
		o->is_stdout = 1;
		o->start = fstat(1, &st) < 0 || !S_ISREG(st.st_mode) ? -1 :
			   fcntl(1, F_GETFL) & O_APPEND ? st.st_size :
			   lseek(1, 0, SEEK_CUR);
		*out = o;
		return 0;
	}
	if (!fits(snprintf(o->path, sizeof(o->path), "%s", path),
		  sizeof(o->path)) ||
	    (e = temp_name(path, o->tmp, sizeof(o->tmp)))) {
		snprintf(err, errlen, "name too long");
		free(o);
		return -ENAMETOOLONG;
	}
	snprintf(dir, sizeof(dir), "%s", o->tmp);
	slash = strrchr(dir, '/');
	*slash = '\0';
	o->fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666);
	if (o->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
			  errno == EINVAL)) {
		o->fd = mkostemp(o->tmp, O_CLOEXEC);
		o->named = o->fd >= 0;
		if (o->named)
			memcpy(pending, o->tmp, sizeof(pending));
	}
	if (o->fd < 0) {
		e = -errno;
		snprintf(err, errlen, "%s", strerror(errno));
		free(o);
		return e;
	}
	*out = o;
	return 0;
}

int outfile_fd(const struct outfile *o)
{
	return o->fd;
}

static void release(struct outfile *o)
{
	if (!o->is_stdout)
		close(o->fd);
	pending[0] = '\0';
	free(o);
}

int outfile_commit(struct outfile *o, char *err, size_t errlen)
{
	char proc[64];
	int e = 0;

	if (o->is_stdout) {
		release(o);
		return 0;
	}
	if (!o->named) {	/* name the unnamed file, at a temp name */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
		if (mkstemp(o->tmp) < 0 || unlink(o->tmp) < 0 ||
		    linkat(AT_FDCWD, proc, AT_FDCWD, o->tmp,
			   AT_SYMLINK_FOLLOW) < 0)
			e = -errno;
	}
	if (!e && o->named) {	/* mkstemp made it 0600 */
		mode_t mask = umask(0);

		umask(mask);
		if (fchmod(o->fd, 0666 & ~mask) < 0)
			e = -errno;
	}
	if (!e && rename(o->tmp, o->path) < 0) {
		e = -errno;
		unlink(o->tmp);
	}
	if (e)
		snprintf(err, errlen, "%s", strerror(-e));
	release(o);
	return e;
}

void outfile_discard(struct outfile *o)
{
	if (!o)
		return;
	if (o->named)
		unlink(o->tmp);
	if (o->is_stdout && o->start >= 0 && ftruncate(1, o->start) < 0)
		(void)0;	/* the run has failed anyway */
	release(o);
}

void outfile_cleanup_on_signal(void)
{
	if (pending[0])
		unlink(pending);
}

int outfile_scratch(const char **where, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	int fd, e;

	if (!dir || !*dir)
		dir = "/var/tmp";
	if (where)
		*where = dir;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
	e = errno;
	snprintf(err, errlen, "cannot make a temporary file in %s: %s", dir,
		 strerror(e));
	return -e;
}
