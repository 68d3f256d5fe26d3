/*
 * qm-put.c - a test-only writer: boot a guest on IMAGE read-write and put
 * files and directories in it over 9P (Tmkdir, Tlcreate, Twrite, Tfsync),
 * then print the filesystem's block counts (Tstatfs).  Until `qemount
 * pack` exists, this is how the e2e tests prove that a freshly formatted
 * image takes writes (tests/e2e/affs.bats).
 *
 * usage: qm-put IMAGE FS OP...
 *   DIR/        make the directory DIR (its parent must exist)
 *   PATH=SRC    create the file PATH with the bytes of the local file SRC
 * Prints "bsize B blocks N bfree F" (statfs after the writes); exit 0, or
 * 1 with one line on stderr.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "session.h"

#define MAXDEPTH 16

/*
 * walk_parent - a new fid for the directory that holds the last name of
 * path (modified: split at '/'); *name is that last name.
 */
static int walk_parent(struct p9_client *c, uint32_t root, char *path,
		       uint32_t *fid, const char **name)
{
	const char *v[MAXDEPTH];
	unsigned n = 0;
	char *p, *save = NULL;

	for (p = strtok_r(path, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		if (n == MAXDEPTH)
			return -ENAMETOOLONG;
		v[n++] = p;
	}
	if (n == 0)
		return -EINVAL;
	*name = v[n - 1];
	return p9_walk(c, root, n - 1, v, fid, NULL);
}

/* put_file - create name in directory fid (which then is the file) from src. */
static int put_file(struct p9_client *c, uint32_t fid, const char *name,
		    const char *src)
{
	char buf[65536];
	uint64_t off = 0;
	ssize_t n = 0, w, r;
	int fd, e;

	fd = open(src, O_RDONLY);
	if (fd < 0)
		return -errno;
	e = p9_lcreate(c, fid, name, O_WRONLY | O_CREAT | O_EXCL, 0644, 0, NULL);
	while (e == 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
		for (w = 0; e == 0 && w < n; w += r) {
			r = p9_write(c, fid, off + w, buf + w, n - w);
			if (r <= 0)
				e = r < 0 ? (int)r : -EIO;
		}
		off += n;
	}
	if (e == 0 && n < 0)
		e = -errno;
	if (e == 0)
		e = p9_fsync(c, fid, 0);
	close(fd);
	return e;
}

/* put - one OP (see usage) under the root fid. */
static int put(struct p9_client *c, uint32_t root, char *op)
{
	char *src = strchr(op, '=');
	const char *name;
	size_t len = strlen(op);
	uint32_t fid;
	int e;

	if (src)
		*src++ = '\0';
	else if (len < 2 || op[len - 1] != '/')
		return -EINVAL;
	e = walk_parent(c, root, op, &fid, &name);
	if (e)
		return e;
	if (src)
		e = put_file(c, fid, name, src);
	else
		e = p9_mkdir(c, fid, name, 0755, 0, NULL);
	p9_clunk(c, fid);
	return e;
}

int main(int argc, char **argv)
{
	struct sess_opts so = { 0 };
	struct p9_statfs st;
	char err[2048];
	struct sess *s;
	int i, e = 0;

	if (argc < 3) {
		fprintf(stderr, "usage: qm-put IMAGE FS [DIR/ | PATH=SRC]...\n");
		return 2;
	}
	so.image = argv[1];
	so.fs = argv[2];
	so.writable = 1;
	if (sess_open(&so, &s, err, sizeof(err)))
		errx(1, "%s: %s", so.image, err);
	for (i = 3; i < argc && e == 0; i++) {
		char *op = strdup(argv[i]);

		e = op ? put(sess_client(s), sess_root(s), op) : -ENOMEM;
		free(op);
	}
	if (e == 0)
		e = p9_statfs(sess_client(s), sess_root(s), &st);
	if (e == 0)
		printf("bsize %" PRIu32 " blocks %" PRIu64 " bfree %" PRIu64 "\n",
		       st.bsize, st.blocks, st.bfree);
	if (sess_close(s, NULL, err, sizeof(err)) && e == 0)
		errx(1, "%s: %s", so.image, err);
	if (e)
		errx(1, "%s: %s: %s", so.image, argv[i - 1], strerror(-e));
	return 0;
}
