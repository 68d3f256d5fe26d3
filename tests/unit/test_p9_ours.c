/*
 * test_p9_ours.c - the 9P client against our server (lib/p9/server.c)
 * over a socketpair, no VM: the shared suite, then what only our server
 * promises: nothing reachable outside the root, read-only exports, the
 * attach errno of a failed mount, permission errors, msize limits, and
 * several threads on one client.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9suite.h"
#include "server.h"
#include "tap.h"

static struct p9_client *connect_ours(const char *dir, uint32_t max_msize,
				      uid_t run_as, int ro, int attach_errno,
				      struct srv *s)
{
	struct p9_client *c = NULL;

	if (srv_start_ours(dir, max_msize, run_as, ro, attach_errno, s) ||
	    p9_client_new(s->fd, s->fd, NULL, &c))
		return NULL;
	return c;
}

static void check_escape(struct p9_client *c, uint32_t root)
{
	const char *up[] = { "..", "..", ".." };
	struct p9_attr a, r;
	uint32_t fid;
	int e;

	e = p9_walk(c, root, 3, up, &fid, NULL);
	ok(!e && p9_getattr(c, fid, &a) == 0 && p9_getattr(c, root, &r) == 0 &&
	   a.qid.path == r.qid.path, ".. at the root stays at the root");
	if (!e)
		p9_clunk(c, fid);
	e = suite_walk(c, root, "abs/passwd", &fid);
	ok(e < 0, "an absolute symlink is not followed (%d)", e);
	e = suite_walk(c, root, "rel", &fid);
	if (!e) {
		ok(p9_lopen(c, fid, O_RDONLY, NULL, NULL) < 0,
		   "a symlink cannot be opened through");
		p9_clunk(c, fid);
	}
}

static void check_readonly(const char *dir)
{
	struct srv s;
	struct p9_client *c = connect_ours(dir, 0, 0, 1, 0, &s);
	uint32_t root, fid;

	if (!c || p9_attach(c, 0, NULL, &root, NULL)) {
		ok(0, "read-only server starts");
		return;
	}
	is(p9_mkdir(c, root, "nope", 0755, 0, NULL), -EROFS, "mkdir is EROFS");
	if (suite_walk(c, root, "one", &fid) == 0) {
		is(p9_lopen(c, fid, O_WRONLY, NULL, NULL), -EROFS,
		   "open for writing is EROFS");
		p9_clunk(c, fid);
	}
	p9_client_free(c);
	srv_stop(&s);
}

static void check_attach_errno(const char *dir)
{
	struct srv s;
	struct p9_client *c = connect_ours(dir, 0, 0, 1, EINVAL, &s);
	uint32_t root;

	ok(c != NULL, "a server with no filesystem still answers Tversion");
	if (c) {
		is(p9_attach(c, 0, NULL, &root, NULL), -EINVAL,
		   "attach fails with the mount's errno");
		p9_client_free(c);
	}
	srv_stop(&s);
}

static void check_eacces(const char *dir)
{
	struct srv s;
	struct p9_client *c;
	uint32_t root, fid;
	char path[4096];
	int fd;

	if (getuid() != 0) {
		tap_skip(1, "not root");
		return;
	}
	chmod(dir, 0755);	/* mkdtemp made it 0700: let nobody walk in */
	snprintf(path, sizeof(path), "%s/secret", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	close(fd);
	c = connect_ours(dir, 0, 65534, 0, 0, &s);
	if (c && p9_attach(c, 65534, NULL, &root, NULL) == 0 &&
	    suite_walk(c, root, "secret", &fid) == 0) {
		is(p9_lopen(c, fid, O_RDONLY, NULL, NULL), -EACCES, "EACCES");
		p9_clunk(c, fid);
	} else {
		ok(0, "EACCES");
	}
	p9_client_free(c);
	srv_stop(&s);
	unlink(path);
}

static void check_msize(const char *dir, uint32_t max)
{
	struct srv s;
	struct p9_client *c = connect_ours(dir, max, 0, 1, 0, &s);

	ok(c && p9_client_msize(c) == max, "msize capped by server at %u", max);
	p9_client_free(c);
	srv_stop(&s);
}

struct worker {
	struct p9_client *c;
	uint32_t root;
	int failures;
};

static int sink(void *arg, const void *d, size_t n)
{
	(void)d;
	*(uint64_t *)arg += n;
	return 0;
}

static void *reader(void *arg)
{
	struct worker *w = arg;
	struct p9_attr a;
	uint32_t fid;
	uint64_t got;
	int i;

	for (i = 0; i < 20; i++) {
		got = 0;
		if (suite_walk(w->c, w->root, "f_msize+1", &fid) ||
		    p9_getattr(w->c, fid, &a) ||
		    p9_lopen(w->c, fid, O_RDONLY, NULL, NULL) ||
		    p9_read_stream(w->c, fid, 0, a.size, 4, sink, &got) !=
		    (int64_t)a.size || got != a.size)
			w->failures++;
		p9_clunk(w->c, fid);
	}
	return NULL;
}

static void check_threads(struct p9_client *c, uint32_t root)
{
	pthread_t t[4];
	struct worker w[4];
	int i, fail = 0;

	for (i = 0; i < 4; i++) {
		w[i] = (struct worker){ c, root, 0 };
		pthread_create(&t[i], NULL, reader, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		fail += w[i].failures;
	}
	ok(fail == 0, "4 threads x 20 pipelined reads on one client");
}

/* The commit hook: leaves a mark in the export's parent, says verdict. */
static int commit_verdict;
static char commit_mark[4096];

static int commit_hook(void *arg)
{
	int fd = open(commit_mark, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);

	(void)arg;
	if (fd >= 0)
		close(fd);
	return commit_verdict;
}

/* A server with a commit hook that answers verdict, on dir. */
static struct p9_client *connect_commit(const char *dir, int verdict,
					struct srv *s)
{
	struct p9_client *c = NULL;
	int sv[2];

	snprintf(commit_mark, sizeof(commit_mark), "%s.committed", dir);
	unlink(commit_mark);
	commit_verdict = verdict;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	s->pid = fork();
	if (s->pid == 0) {
		struct p9_server_config cfg = { .commit = commit_hook };
		struct p9_server *srv;

		close(sv[0]);
		cfg.rootfd = open(dir, O_PATH | O_DIRECTORY);
		if (cfg.rootfd < 0 || p9_server_new(&cfg, &srv))
			_exit(2);
		_exit(p9_server_serve(srv, sv[1], sv[1]) ? 1 : 0);
	}
	close(sv[1]);
	s->fd = sv[0];
	if (s->pid < 0 || p9_client_new(s->fd, s->fd, NULL, &c))
		return NULL;
	return c;
}

/*
 * The commit request (P9_FSYNC_COMMIT): every fid is dropped before the
 * hook runs, the hook's verdict is the reply, nothing works after it; an
 * ordinary fsync does not commit.
 */
static void check_commit(const char *dir)
{
	const char *name[] = { "one" };
	struct p9_client *c;
	struct p9_attr a;
	uint32_t root, fid;
	struct srv s;
	int v;

	for (v = 0; v >= -EIO; v -= EIO) {
		c = connect_commit(dir, v, &s);
		if (!c || p9_attach(c, 0, NULL, &root, NULL) ||
		    p9_walk(c, root, 1, name, &fid, NULL)) {
			ok(0, "commit server starts");
			return;
		}
		ok(p9_fsync(c, root, 0) == 0 && access(commit_mark, F_OK) != 0,
		   "an ordinary fsync does not commit");
		is(p9_commit(c, root, 5000), v, "commit answers the hook's %d", v);
		ok(access(commit_mark, F_OK) == 0, "the hook ran");
		is(p9_getattr(c, fid, &a), -EBADF, "fids are gone after a commit");
		ok(p9_attach(c, 0, NULL, &root, NULL) < 0,
		   "nothing can attach after a commit");
		p9_client_free(c);
		srv_stop(&s);
		unlink(commit_mark);
	}
}

int main(void)
{
	char *dir = suite_tmpdir();
	struct p9_client *c;
	struct srv s;
	uint32_t root;

	if (!dir || !(c = connect_ours(dir, 0, 0, 0, 0, &s))) {
		ok(0, "server starts");
		return done_testing();
	}
	is(p9_client_msize(c), P9_CLIENT_MSIZE, "msize is what we asked");
	suite_make_tree(dir, p9_client_msize(c));
	ok(p9_attach(c, 0, NULL, &root, NULL) == 0, "attach");
	suite_read(c, root, dir);
	suite_write(c, root, dir);
	suite_errors(c, root);
	check_escape(c, root);
	check_threads(c, root);
	check_commit(dir);
	p9_clunk(c, root);
	p9_client_free(c);
	srv_stop(&s);

	check_readonly(dir);
	check_attach_errno(dir);
	check_eacces(dir);
	check_msize(dir, 8192);
	check_msize(dir, 65536);
	suite_rmtree(dir);
	return done_testing();
}
