/*
 * p9suite.c - client tests shared by every 9P2000.L server we test
 * against (see p9suite.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "p9suite.h"
#include "server.h"
#include "tap.h"

#define BIG_SIZE (50u << 20)
#define MANY 5000

/* ---- servers ---- */

int srv_start_ours(const char *dir, uint32_t max_msize, uid_t run_as,
		   int readonly, int attach_errno, struct srv *s)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		struct p9_server_config cfg = {
			.max_msize = max_msize, .readonly = readonly,
			.attach_errno = attach_errno,
		};
		struct p9_server *srv;

		close(sv[0]);
		cfg.rootfd = open(dir, O_PATH | O_DIRECTORY);
		if (cfg.rootfd < 0 || p9_server_new(&cfg, &srv))
			_exit(2);
		if (run_as && (setresgid(run_as, run_as, run_as) ||
			       setresuid(run_as, run_as, run_as)))
			_exit(3);
		_exit(p9_server_serve(srv, sv[1], sv[1]) ? 1 : 0);
	}
	close(sv[1]);
	s->fd = sv[0];
	return 0;
}

int srv_start_diod(const char *dir, struct srv *s)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (s->pid == 0) {
		/* diod 1.0.24 now and then crashes as the connection closes,
		 * and it turns core dumps on itself: keep any core beside the
		 * export, where the test removes it, not in our cwd */
		char cores[4096];

		snprintf(cores, sizeof(cores), "%s.diod", dir);
		if (mkdir(cores, 0700) < 0 || chdir(cores) < 0)
			_exit(126);
		close(sv[0]);
		if (sv[1] != 3) {
			dup2(sv[1], 3);
			close(sv[1]);
		}
		execlp("diod", "diod", "-f", "-n", "-N", "-r", "3", "-w", "3",
		       "-e", dir, "-L", "/dev/null", (char *)NULL);
		_exit(127);
	}
	close(sv[1]);
	s->fd = sv[0];
	return 0;
}

void srv_stop(struct srv *s)
{
	int i, st;

	close(s->fd);
	for (i = 0; i < 1000; i++) {
		if (waitpid(s->pid, &st, WNOHANG) == s->pid)
			return;
		usleep(10000);
	}
	kill(s->pid, SIGKILL);
	waitpid(s->pid, &st, 0);
}

/* ---- the tree ---- */

char *suite_tmpdir(void)
{
	static char tmpl[64];

	strcpy(tmpl, "/var/tmp/qemount-p9.XXXXXX");
	return mkdtemp(tmpl);
}

void suite_rmtree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint8_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state >> 24;
}

static void put_file(const char *dir, const char *name, size_t size)
{
	static uint8_t buf[1 << 16];
	char path[4096];
	size_t n, i;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	while (fd >= 0 && size) {
		n = size < sizeof(buf) ? size : sizeof(buf);
		for (i = 0; i < n; i++)
			buf[i] = rnd();
		if (write(fd, buf, n) != (ssize_t)n)
			break;
		size -= n;
	}
	if (fd < 0 || size)
		fprintf(stderr, "cannot make %s\n", path);
	close(fd);
}

static char long_name[256];

void suite_make_tree(const char *dir, uint32_t msize)
{
	char path[4096], from[4096], name[32];
	int i, dfd;

	memset(long_name, 'L', 255);
	put_file(dir, "empty", 0);
	put_file(dir, "one", 1);
	snprintf(name, sizeof(name), "f_msize-1");
	put_file(dir, name, msize - 1);
	snprintf(name, sizeof(name), "f_msize+1");
	put_file(dir, name, msize + 1);
	put_file(dir, "big", BIG_SIZE);
	snprintf(path, sizeof(path), "%s/many", dir);
	mkdir(path, 0755);
	dfd = open(path, O_DIRECTORY);
	for (i = 0; i < MANY; i++) {
		snprintf(name, sizeof(name), "e%04d", i);
		close(openat(dfd, name, O_CREAT | O_WRONLY, 0644));
	}
	close(dfd);
	snprintf(path, sizeof(path), "%s/sub dir", dir);
	mkdir(path, 0755);
	put_file(path, "\xc3\xbcnic\xc3\xb6" "de", 7);
	put_file(path, long_name, 3);
	snprintf(path, sizeof(path), "%s/rel", dir);
	symlink("one", path);
	snprintf(path, sizeof(path), "%s/abs", dir);
	symlink("/etc", path);
	snprintf(path, sizeof(path), "%s/dangling", dir);
	symlink("nowhere/x", path);
	snprintf(path, sizeof(path), "%s/hard", dir);
	snprintf(from, sizeof(from), "%s/one", dir);
	link(from, path);
	setxattr(from, "user.test", "hello", 5, 0);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	mkfifo(path, 0644);
	snprintf(path, sizeof(path), "%s/null", dir);
	if (getuid() == 0)
		mknod(path, S_IFCHR | 0644, makedev(1, 3));
}

/* ---- helpers ---- */

int suite_walk(struct p9_client *c, uint32_t root, const char *path,
	       uint32_t *fid)
{
	const char *names[P9_MAXWELEM];
	char buf[4096], *save, *tok;
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, "/", &save); tok && n < P9_MAXWELEM;
	     tok = strtok_r(NULL, "/", &save))
		names[n++] = tok;
	return p9_walk(c, root, n, names, fid, NULL);
}

struct cmp {
	int fd;			/* the same file, read locally */
	uint64_t off;
	int bad;
};

static int cmp_data(void *arg, const void *data, size_t n)
{
	struct cmp *k = arg;
	static uint8_t buf[1 << 21];
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		size_t want = n - got < sizeof(buf) ? n - got : sizeof(buf);

		r = pread(k->fd, buf, want, k->off + got);
		if (r <= 0 || memcmp(buf, (const uint8_t *)data + got, r)) {
			k->bad = 1;
			return 0;
		}
		got += r;
	}
	k->off += n;
	return 0;
}

static void check_stream(struct p9_client *c, uint32_t root,
			 const char *dir, const char *name, unsigned depth)
{
	char path[4096];
	struct p9_attr a;
	struct cmp k = { 0 };
	struct stat st;
	uint32_t fid;
	int64_t got = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	k.fd = open(path, O_RDONLY);
	fstat(k.fd, &st);
	if (suite_walk(c, root, name, &fid) == 0) {
		if (p9_getattr(c, fid, &a) == 0 &&
		    p9_lopen(c, fid, O_RDONLY, NULL, NULL) == 0)
			got = p9_read_stream(c, fid, 0, a.size, depth, cmp_data,
					     &k);
		p9_clunk(c, fid);
	}
	ok(got == st.st_size && !k.bad && k.off == (uint64_t)st.st_size,
	   "read %s (%lld bytes, depth %u) matches", name,
	   (long long)st.st_size, depth);
	close(k.fd);
}

/* Read with plain p9_read calls until end of file, no size given. */
static void check_plain_read(struct p9_client *c, uint32_t root,
			     const char *dir, const char *name)
{
	static uint8_t buf[1 << 21];
	char path[4096];
	struct cmp k = { 0 };
	uint32_t fid;
	ssize_t n = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	k.fd = open(path, O_RDONLY);
	if (suite_walk(c, root, name, &fid) == 0) {
		if (p9_lopen(c, fid, O_RDONLY, NULL, NULL) == 0)
			while ((n = p9_read(c, fid, k.off, buf, sizeof(buf))) > 0)
				cmp_data(&k, buf, n);
		p9_clunk(c, fid);
	}
	ok(n == 0 && !k.bad && (off_t)k.off == lseek(k.fd, 0, SEEK_END),
	   "plain reads of %s to EOF match", name);
	close(k.fd);
}

struct seen {
	uint8_t hit[MANY];
	int dups, strange, n;
};

static int count_entry(void *arg, const struct p9_dirent *d)
{
	struct seen *s = arg;
	int i;

	s->n++;
	if (d->name.len != 5 || d->name.s[0] != 'e' ||
	    sscanf(d->name.s + 1, "%4d", &i) != 1 || i < 0 || i >= MANY) {
		s->strange++;
		return 0;
	}
	if (s->hit[i]++)
		s->dups++;
	return 0;
}

static void check_readdir(struct p9_client *c, uint32_t root)
{
	static struct seen s;
	uint64_t off = 0;
	uint32_t fid;
	int n = 1, i, missing = 0, calls = 0;

	memset(&s, 0, sizeof(s));
	if (suite_walk(c, root, "many", &fid) == 0) {
		if (p9_lopen(c, fid, O_RDONLY | O_DIRECTORY, NULL, NULL) == 0)
			while ((n = p9_readdir(c, fid, &off, count_entry, &s)) > 0)
				calls++;
		p9_clunk(c, fid);
	}
	for (i = 0; i < MANY; i++)
		missing += !s.hit[i];
	ok(n == 0 && s.n == MANY && !s.dups && !s.strange && !missing,
	   "readdir of %d entries: each once (%d calls)", MANY, calls);
}

static mode_t attr_of(struct p9_client *c, uint32_t root, const char *name,
		      struct p9_attr *a)
{
	uint32_t fid;
	int e = suite_walk(c, root, name, &fid);

	if (e)
		return 0;
	e = p9_getattr(c, fid, a);
	p9_clunk(c, fid);
	return e ? 0 : a->mode;
}

static void check_links(struct p9_client *c, uint32_t root, const char *dir)
{
	struct p9_attr a, b;
	char buf[4096], path[4096];
	uint32_t fid;
	struct stat st;
	int e;

	ok(S_ISLNK(attr_of(c, root, "rel", &a)) &&
	   a.qid.type == P9_QTSYMLINK, "symlink is a symlink, not followed");
	e = suite_walk(c, root, "abs", &fid);
	if (!e) {
		e = p9_readlink(c, fid, buf, sizeof(buf));
		p9_clunk(c, fid);
	}
	ok(!e && strcmp(buf, "/etc") == 0, "readlink of absolute symlink");
	e = suite_walk(c, root, "dangling", &fid);
	if (!e) {
		e = p9_readlink(c, fid, buf, sizeof(buf));
		p9_clunk(c, fid);
	}
	ok(!e && strcmp(buf, "nowhere/x") == 0, "readlink of dangling one");
	ok(S_ISREG(attr_of(c, root, "one", &a)) &&
	   S_ISREG(attr_of(c, root, "hard", &b)) &&
	   a.qid.path == b.qid.path && a.nlink == 2 && b.nlink == 2,
	   "hardlink pair shares qid.path, nlink 2");
	ok(S_ISFIFO(attr_of(c, root, "fifo", &a)), "fifo is a fifo");
	snprintf(path, sizeof(path), "%s/null", dir);
	if (lstat(path, &st) == 0)
		ok(S_ISCHR(attr_of(c, root, "null", &a)) &&
		   a.rdev == st.st_rdev, "device node type and rdev");
	else
		tap_skip(1, "no device node (not root)");
}

static void check_attrs(struct p9_client *c, uint32_t root, const char *dir)
{
	struct p9_attr a;
	struct stat st;
	char path[4096];

	snprintf(path, sizeof(path), "%s/f_msize+1", dir);
	stat(path, &st);
	ok(S_ISREG(attr_of(c, root, "f_msize+1", &a)) &&
	   a.size == (uint64_t)st.st_size && a.uid == st.st_uid &&
	   a.gid == st.st_gid && a.mode == st.st_mode &&
	   a.mtime_sec == (uint64_t)st.st_mtim.tv_sec &&
	   a.mtime_nsec == (uint64_t)st.st_mtim.tv_nsec &&
	   a.qid.path == st.st_ino, "getattr matches stat(2)");
	ok(S_ISDIR(attr_of(c, root, "sub dir", &a)) && a.qid.type == P9_QTDIR,
	   "directory with a space");
	ok(S_ISREG(attr_of(c, root, "sub dir/\xc3\xbcnic\xc3\xb6" "de", &a)) &&
	   a.size == 7, "UTF-8 name");
	snprintf(path, sizeof(path), "sub dir/%s", long_name);
	ok(S_ISREG(attr_of(c, root, path, &a)) && a.size == 3,
	   "255-byte name");
}

static void check_xattr(struct p9_client *c, uint32_t root, const char *dir)
{
	char val[64], list[256], path[4096];
	ssize_t n, l;
	uint32_t fid;
	int opened;

	snprintf(path, sizeof(path), "%s/one", dir);
	if (getxattr(path, "user.test", val, sizeof(val)) != 5) {
		tap_skip(4, "no user xattrs on this filesystem");
		return;
	}
	/* a fid walked to the file, then the same fid opened */
	for (opened = 0; opened < 2; opened++) {
		n = l = -1;
		if (suite_walk(c, root, "one", &fid) == 0) {
			if (!opened ||
			    p9_lopen(c, fid, O_RDONLY, NULL, NULL) == 0) {
				n = p9_xattr_get(c, fid, "user.test", val,
						 sizeof(val));
				l = p9_xattr_get(c, fid, NULL, list,
						 sizeof(list));
			}
			p9_clunk(c, fid);
		}
		ok(n == 5 && memcmp(val, "hello", 5) == 0, "xattr value%s",
		   opened ? " (opened)" : "");
		ok(l > 0 && memmem(list, l, "user.test", 10) != NULL,
		   "xattr list names user.test%s", opened ? " (opened)" : "");
	}
}

void suite_read(struct p9_client *c, uint32_t root, const char *dir)
{
	struct p9_statfs sf;
	struct p9_qid q;
	uint32_t fid;
	const char *up[] = { ".." };

	check_stream(c, root, dir, "empty", 0);
	check_stream(c, root, dir, "one", 0);
	check_stream(c, root, dir, "f_msize-1", 0);
	check_stream(c, root, dir, "f_msize+1", 0);
	check_stream(c, root, dir, "big", 0);
	check_stream(c, root, dir, "big", 1);
	check_plain_read(c, root, dir, "f_msize+1");
	check_readdir(c, root);
	check_links(c, root, dir);
	check_attrs(c, root, dir);
	check_xattr(c, root, dir);
	ok(p9_statfs(c, root, &sf) == 0 && sf.bsize > 0 && sf.blocks > 0,
	   "statfs");
	ok(p9_walk(c, root, 0, NULL, &fid, &q) == 0 && p9_clunk(c, fid) == 0,
	   "walk of no names clones");
	if (suite_walk(c, root, "sub dir", &fid) == 0) {
		uint32_t up_fid;
		struct p9_attr a, r;

		ok(p9_walk(c, fid, 1, up, &up_fid, &q) == 0 &&
		   p9_getattr(c, up_fid, &a) == 0 &&
		   p9_getattr(c, root, &r) == 0 &&
		   a.qid.path == r.qid.path, "walk .. from a subdir");
		p9_clunk(c, up_fid);
		p9_clunk(c, fid);
	}
}

/* ---- writes ---- */

static int lstat_at(const char *dir, const char *name, struct stat *st)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, st);
}

static void check_create_write(struct p9_client *c, uint32_t w,
			       const char *dir)
{
	static uint8_t buf[3 << 20];
	struct stat st;
	struct cmp k = { 0 };
	uint32_t fid;
	size_t done = 0, i;
	ssize_t n = 0;
	char path[4096];

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = i * 7 + (i >> 12);
	if (p9_walk(c, w, 0, NULL, &fid, NULL) == 0) {
		if (p9_lcreate(c, fid, "new", O_RDWR | O_CREAT | O_EXCL, 0640,
			       0, NULL) == 0)
			while (done < sizeof(buf) &&
			       (n = p9_write(c, fid, done, buf + done,
					     sizeof(buf) - done)) > 0)
				done += n;
		ok(p9_fsync(c, fid, 0) == 0, "fsync of an open file");
		p9_clunk(c, fid);
	}
	snprintf(path, sizeof(path), "%s/w/new", dir);
	k.fd = open(path, O_RDONLY);
	if (k.fd >= 0)
		cmp_data(&k, buf, sizeof(buf));
	ok(done == sizeof(buf) && k.fd >= 0 && !k.bad &&
	   lstat_at(dir, "w/new", &st) == 0 && st.st_size == sizeof(buf) &&
	   (st.st_mode & 07777) == 0640, "lcreate + 3 MiB of writes land");
	close(k.fd);
}

static void check_setattr(struct p9_client *c, uint32_t root,
			  const char *dir)
{
	struct p9_iattr ia = { 0 };
	struct stat st;
	uint32_t fid;
	int e;

	e = suite_walk(c, root, "w/renamed", &fid);
	ia.valid = P9_SETATTR_MODE | P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET |
		   P9_SETATTR_SIZE;
	ia.mode = 0600;
	ia.mtime_sec = 1000000000;
	ia.mtime_nsec = 123456789;
	ia.size = 10;
	if (!e) {
		e = p9_setattr(c, fid, &ia);
		if (!e)
			e = p9_xattr_set(c, fid, "user.k", "v1", 2, 0);
		p9_clunk(c, fid);
	}
	ok(!e && lstat_at(dir, "w/renamed", &st) == 0 &&
	   (st.st_mode & 07777) == 0600 && st.st_size == 10 &&
	   st.st_mtim.tv_sec == 1000000000 &&
	   st.st_mtim.tv_nsec == 123456789, "setattr mode, size, mtime (ns)");
	{
		char path[4096], v[8];

		snprintf(path, sizeof(path), "%s/w/renamed", dir);
		ok(!e && getxattr(path, "user.k", v, sizeof(v)) == 2 &&
		   memcmp(v, "v1", 2) == 0, "xattr set lands");
	}
}

/* Do on the host what a server could not, so the suite can go on. */
static void local_op(const char *dir, const char *cmd, const char *a,
		     const char *b)
{
	char line[4096];

	snprintf(line, sizeof(line), "cd '%s' && %s %s %s", dir, cmd, a, b);
	if (system(line) != 0)
		tap_diag("could not: %s", line);
}

void suite_write(struct p9_client *c, uint32_t root, const char *dir)
{
	struct stat st;
	char tgt[64];
	uint32_t w = 0, f;
	int e;

	e = p9_mkdir(c, root, "w", 0751, 0, NULL);
	ok(!e && lstat_at(dir, "w", &st) == 0 && S_ISDIR(st.st_mode) &&
	   (st.st_mode & 07777) == 0751, "mkdir");
	if (e || suite_walk(c, root, "w", &w))
		return;
	check_create_write(c, w, dir);
	ok(p9_symlink(c, w, "s", "new", 0, NULL) == 0 &&
	   lstat_at(dir, "w/s", &st) == 0 && S_ISLNK(st.st_mode),
	   "symlink made");
	{
		char path[4096];
		ssize_t n;

		snprintf(path, sizeof(path), "%s/w/s", dir);
		n = readlink(path, tgt, sizeof(tgt) - 1);
		ok(n == 3 && memcmp(tgt, "new", 3) == 0, "symlink target");
	}
	e = suite_walk(c, w, "new", &f);
	if (!e) {
		e = p9_link(c, w, f, "h");
		p9_clunk(c, f);
	}
	ok(!e && lstat_at(dir, "w/new", &st) == 0 && st.st_nlink == 2,
	   "hardlink made");
	ok(p9_mknod(c, w, "p", S_IFIFO | 0600, 0, 0, 0, NULL) == 0 &&
	   lstat_at(dir, "w/p", &st) == 0 && S_ISFIFO(st.st_mode),
	   "mknod fifo");
	e = p9_renameat(c, w, "new", w, "renamed");
	if (e == -EOPNOTSUPP) {
		tap_skip(1, "server has no Trenameat (diod 1.0.24)");
		local_op(dir, "mv", "w/new", "w/renamed");
	} else {
		ok(e == 0 && lstat_at(dir, "w/renamed", &st) == 0 &&
		   lstat_at(dir, "w/new", &st) < 0, "renameat");
	}
	check_setattr(c, root, dir);
	e = p9_unlinkat(c, root, "w", P9_AT_REMOVEDIR);
	if (e == -EOPNOTSUPP) {
		tap_skip(2, "server has no Tunlinkat (diod 1.0.24)");
		local_op(dir, "rm -r", "w", "");
	} else {
		is(e, -ENOTEMPTY, "rmdir of a full dir is ENOTEMPTY");
		ok(p9_unlinkat(c, w, "h", 0) == 0 &&
		   p9_unlinkat(c, w, "s", 0) == 0 &&
		   p9_unlinkat(c, w, "p", 0) == 0 &&
		   p9_unlinkat(c, w, "renamed", 0) == 0 &&
		   p9_unlinkat(c, root, "w", P9_AT_REMOVEDIR) == 0 &&
		   lstat_at(dir, "w", &st) < 0, "unlinkat files, then the dir");
	}
	p9_clunk(c, w);
}

void suite_errors(struct p9_client *c, uint32_t root)
{
	char buf[64];
	uint32_t fid;
	int e;
	const char *bad[] = { "a/b" };

	is(suite_walk(c, root, "nonexistent", &fid), -ENOENT, "ENOENT");
	is(suite_walk(c, root, "one/x", &fid), -ENOTDIR, "ENOTDIR");
	is(suite_walk(c, root, "many/nonexistent", &fid), -ENOENT,
	   "ENOENT deep in a multi-name walk");
	is(p9_walk(c, root, 1, bad, &fid, NULL), -EINVAL,
	   "the client refuses to send a name with '/'");
	if (suite_walk(c, root, "many", &fid) == 0) {
		is(p9_lopen(c, fid, O_WRONLY, NULL, NULL), -EISDIR,
		   "EISDIR opening a dir for writing");
		p9_clunk(c, fid);
	}
	is(p9_mkdir(c, root, "many", 0755, 0, NULL), -EEXIST, "EEXIST");
	if (suite_walk(c, root, "one", &fid) == 0) {
		is(p9_readlink(c, fid, buf, sizeof(buf)), -EINVAL,
		   "readlink of a file is EINVAL");
		p9_clunk(c, fid);
	}
	e = p9_unlinkat(c, root, "nonexistent", 0);
	if (e == -EOPNOTSUPP)
		tap_skip(1, "server has no Tunlinkat (diod 1.0.24)");
	else
		is(e, -ENOENT, "unlink of nothing is ENOENT");
	ok(p9_client_error(c) == 0, "errors leave the connection usable");
}
