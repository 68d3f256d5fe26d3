/*
 * test_conv_in.c - archive -> tree (converters/archive_to_tree.c) into
 * our server over a socketpair, no VM: with writer threads the tree and
 * the warnings are those of one entry at a time, also where the order
 * of the entries decides what stands (a name given twice, a file where
 * a directory was, a hardlink to a replaced file), and a damaged
 * archive fails with the same one line (and the same warnings before
 * it; the tree of a failed run is thrown away, and may differ).
 */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conv.h"
#include "p9suite.h"
#include "tap.h"

#define OUT_MAX	(1 << 20)

struct out {			/* warnings, a line each */
	char *buf;
	size_t len;
};

static void warn_line(void *arg, const char *path, const char *what)
{
	struct out *o = arg;

	o->len += snprintf(o->buf + o->len, OUT_MAX - o->len, "%s: %s\n",
			   path, what);
}

/* ---- the archive ---- */

static void add(struct archive *a, const char *name, mode_t type, int mode,
		const void *data, size_t size, const char *link)
{
	struct archive_entry *e = archive_entry_new();

	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, type);
	archive_entry_set_perm(e, mode);
	archive_entry_set_mtime(e, 1600000000 + (long)size % 1000, 5000);
	archive_entry_set_uid(e, size % 3 ? 1000 : 0);
	archive_entry_set_gid(e, 100);
	if (type == AE_IFLNK)
		archive_entry_set_symlink(e, link);
	if (type == 0) {	/* a hardlink */
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, link);
	}
	if (type == AE_IFREG)
		archive_entry_set_size(e, size);
	if (type == AE_IFREG && size % 7 == 0)
		archive_entry_xattr_add_entry(e, "user.n", name, strlen(name));
	archive_write_header(a, e);
	if (type == AE_IFREG && size)
		archive_write_data(a, data, size);
	archive_entry_free(e);
}

static void file(struct archive *a, const char *name, size_t size)
{
	static char data[3 << 20];
	size_t i;

	for (i = 0; i < size; i++)
		data[i] = (char)(i * 31 + strlen(name) * 7 + size);
	add(a, name, AE_IFREG, size % 2 ? 0640 : 0755, data, size, NULL);
}

/* Entries whose order decides the tree, and many small files. */
static void make_archive(const char *path)
{
	struct archive *a = archive_write_new();
	char name[64];
	int i;

	archive_write_set_format_pax_restricted(a);
	archive_write_open_filename(a, path);
	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "d%d/f%03d", i / 100, i);
		file(a, name, (size_t)(i * 977) % 40000);
		if (i % 100 == 99) {
			snprintf(name, sizeof(name), "d%d/", i / 100);
			add(a, name, AE_IFDIR, 0750, NULL, 0, NULL);
		}
	}
	file(a, "dup", 10);
	file(a, "pad", 30000);
	file(a, "dup", 2000);
	file(a, "x", 5);
	add(a, "x/", AE_IFDIR, 0755, NULL, 0, NULL);
	file(a, "x/y", 6);
	add(a, "d2/", AE_IFDIR, 0755, NULL, 0, NULL);
	file(a, "d2", 7);
	file(a, "s", 8);
	add(a, "s", AE_IFLNK, 0777, NULL, 0, "target");
	file(a, "h1", 9);
	add(a, "h2", 0, 0644, NULL, 0, "h1");
	file(a, "h1", 11);
	file(a, "big", 3 << 20);
	file(a, "big", 12);
	file(a, "grows", 13);
	file(a, "grows", 2 << 20);
	add(a, "fifo", AE_IFIFO, 0644, NULL, 0, NULL);
	file(a, "a/b/c/deep", 14);
	file(a, "a", 15);
	file(a, "a/b/c/deeper", 16);
	file(a, "/abs", 17);
	file(a, "../up", 18);
	for (i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "many/%d", i % 9);
		file(a, name, 100 + i);
	}
	file(a, "top", 19);
	archive_write_close(a);
	archive_write_free(a);
}

/* ---- the tree, as text ---- */

static void list(const char *dir, const char *rel, char *buf, size_t *len)
{
	char path[8192], sub[4096], link[4096];
	struct dirent **names;
	struct stat st;
	unsigned long sum;
	int n, i, fd;
	ssize_t r;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	n = scandir(path, &names, NULL, alphasort);
	for (i = 0; i < n; i++) {
		const char *nm = names[i]->d_name;

		if (strcmp(nm, ".") && strcmp(nm, "..")) {
			snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" :
				 "", nm);
			snprintf(path, sizeof(path), "%s/%s", dir, sub);
			lstat(path, &st);
			sum = 0;
			if (S_ISREG(st.st_mode) &&
			    (fd = open(path, O_RDONLY)) >= 0) {
				unsigned char b[65536];

				while ((r = read(fd, b, sizeof(b))) > 0)
					while (r--)
						sum = sum * 131 + b[r];
				close(fd);
			}
			link[0] = '\0';
			if (S_ISLNK(st.st_mode) &&
			    (r = readlink(path, link, sizeof(link) - 1)) >= 0)
				link[r] = '\0';
			*len += snprintf(buf + *len, OUT_MAX - *len,
					 "%s %o %u:%u %lld %ld.%ld n%lu %lx %s\n",
					 sub, st.st_mode, st.st_uid, st.st_gid,
					 (long long)st.st_size,
					 S_ISDIR(st.st_mode) ? 0 :
					 (long)st.st_mtim.tv_sec,
					 S_ISDIR(st.st_mode) ? 0 :
					 st.st_mtim.tv_nsec,
					 (unsigned long)st.st_nlink, sum, link);
			if (S_ISDIR(st.st_mode))
				list(dir, sub, buf, len);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* ---- a run ---- */

struct run {
	int rc;
	char err[4096];
	struct out warn, tree;
	struct conv_in_stats st;
};

static void extract(const char *archive, unsigned writers, struct run *r)
{
	struct conv_in_opts o = { .warn = warn_line, .warn_arg = &r->warn,
				  .writers = writers };
	char *dir = suite_tmpdir();
	struct p9_client *c;
	struct srv s;
	uint32_t root;
	int fd = open(archive, O_RDONLY);

	memset(r, 0, sizeof(*r));
	r->warn.buf = calloc(1, OUT_MAX);
	r->tree.buf = calloc(1, OUT_MAX);
	r->rc = -EIO;
	if (!dir || fd < 0 || srv_start_ours(dir, 0, 0, 0, 0, &s))
		return;
	if (!p9_client_new(s.fd, s.fd, NULL, &c)) {
		if (!p9_attach(c, 0, NULL, &root, NULL)) {
			r->rc = conv_in_extract(fd, c, root, &o, &r->st,
						r->err, sizeof(r->err));
			p9_clunk(c, root);
		}
		p9_client_free(c);
	}
	srv_stop(&s);
	close(fd);
	list(dir, "", r->tree.buf, &r->tree.len);
	suite_rmtree(dir);
}

static void run_free(struct run *r)
{
	free(r->warn.buf);
	free(r->tree.buf);
}

static int same_stats(const struct conv_in_stats *a,
		      const struct conv_in_stats *b)
{
	return a->entries == b->entries && a->files == b->files &&
	       a->dirs == b->dirs && a->symlinks == b->symlinks &&
	       a->links == b->links && a->nodes == b->nodes &&
	       a->dirs_made == b->dirs_made && a->bytes == b->bytes &&
	       a->losses == b->losses && a->owners_lost == b->owners_lost &&
	       a->modes_lost == b->modes_lost &&
	       a->times_lost == b->times_lost &&
	       a->subsec_lost == b->subsec_lost;
}

/* One at a time and with n writers: the same in every respect. */
static void compare(const char *archive, unsigned n, const char *what)
{
	struct run one, many;

	extract(archive, 0, &one);
	extract(archive, n, &many);
	is(many.rc, one.rc, "%s, %u writers: the same result (%d)", what, n,
	   one.rc);
	ok(strcmp(one.err, many.err) == 0, "%s: the same error line: %s",
	   what, one.err);
	ok(strcmp(one.warn.buf, many.warn.buf) == 0,
	   "%s: the same warnings, in the same order", what);
	if (strcmp(one.warn.buf, many.warn.buf))
		tap_diag("one at a time:\n%s\nwith writers:\n%s", one.warn.buf,
			 many.warn.buf);
	if (one.rc) {		/* a tree that failed is thrown away */
		run_free(&one);
		run_free(&many);
		return;
	}
	ok(one.tree.len && strcmp(one.tree.buf, many.tree.buf) == 0,
	   "%s: the same tree", what);
	if (strcmp(one.tree.buf, many.tree.buf))
		tap_diag("one at a time:\n%s\nwith writers:\n%s", one.tree.buf,
			 many.tree.buf);
	ok(same_stats(&one.st, &many.st), "%s: the same counts", what);
	run_free(&one);
	run_free(&many);
}

/* What one at a time gives is what tar gives. */
static void check_tree(const char *archive)
{
	struct run r;

	extract(archive, 8, &r);
	is(r.rc, 0, "extracted");
	ok(strstr(r.tree.buf, "\ntop ") && !strstr(r.tree.buf, "/top "),
	   "a top entry after a subdirectory's is at the top");
	ok(strstr(r.tree.buf, "\ndup 100755 1000:100 2000 ") != NULL,
	   "a later entry of a name replaces an earlier one");
	ok(strstr(r.tree.buf, "\nh1 100640 1000:100 11 ") &&
	   strstr(r.tree.buf, "\nh2 100640 1000:100 11 "),
	   "a hardlink shares its target's replacement");
	ok(strstr(r.tree.buf, "\ngrows 100755 1000:100 2097152 ") != NULL,
	   "a small file replaced by a big one");
	ok(strstr(r.warn.buf, "x/y: not stored: Not a directory\n") &&
	   strstr(r.warn.buf, "a: not stored: Is a directory\n"),
	   "entries in the way are warned");
	run_free(&r);
}

int main(void)
{
	char dir[] = "/var/tmp/qemount-conv.XXXXXX", archive[64], cut[64];
	struct stat st;
	int in, out;
	char buf[65536];
	ssize_t n;
	off_t left;

	if (!mkdtemp(dir))
		return 1;
	snprintf(archive, sizeof(archive), "%s/in.tar", dir);
	snprintf(cut, sizeof(cut), "%s/cut.tar", dir);
	make_archive(archive);
	check_tree(archive);
	compare(archive, 8, "the archive");
	compare(archive, 1, "the archive");

	/* cut in a file's data, well after some files went to writers */
	stat(archive, &st);
	in = open(archive, O_RDONLY);
	out = open(cut, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	for (left = st.st_size * 2 / 5; left > 0 &&
	     (n = read(in, buf, left < (off_t)sizeof(buf) ? left :
		       (off_t)sizeof(buf))) > 0; left -= n)
		if (write(out, buf, n) != n)
			break;
	close(in);
	close(out);
	compare(cut, 8, "a damaged archive");
	suite_rmtree(dir);
	return done_testing();
}
