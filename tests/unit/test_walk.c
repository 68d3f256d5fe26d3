/*
 * test_walk.c - walk_tree with its threads looking ahead, against our
 * server over a socketpair (no VM), on a tree made here: entries reach
 * fn in the order a one-at-a-time walk gives (the directory's own
 * order, parents first), each with what prep made of it, prep run on
 * the walk's threads; a walk stopped by fn, or by a failure ahead of
 * its turn, says where, frees every prep and leaves no fid open in the
 * server.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "p9suite.h"
#include "tap.h"
#include "walk.h"

#define MAXSEEN 2000
#define GONE_AHEAD (WALK_AHEAD + 8)	/* not walked yet, then */

struct run {
	char *want[MAXSEEN];	/* the paths a serial walk of the host sees */
	size_t nwant;
	size_t seen;		/* entries fn was given */
	int in_order, preps_match;
	size_t stop_at;		/* fn fails at this entry (1-based), 0: never */
	size_t gone_at;		/* at this entry (1-based), fn removes the one
				 * GONE_AHEAD after it; 0: never */
	const char *top;
	pthread_t main;
	int preps, unpreps, off_main;	/* under lock */
	pthread_mutex_t lock;
};

struct mark {
	uint64_t qid;
};

/* The tree's paths as the host's readdir lists them, parents first. */
static void host_walk(struct run *r, const char *top, const char *rel)
{
	char dir[4096], path[4096];
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s%s%s", top, *rel ? "/" : "", rel);
	dp = opendir(dir);
	if (!dp)
		return;
	while ((d = readdir(dp))) {
		if (!strcmp(d->d_name, ".") || !strcmp(d->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s%s%s", rel, *rel ? "/" : "",
			 d->d_name);
		if (r->nwant < MAXSEEN)
			r->want[r->nwant++] = strdup(path);
		if (d->d_type == DT_DIR)
			host_walk(r, top, path);
	}
	closedir(dp);
}

static void *prep(void *arg, const struct walk_entry *e)
{
	struct run *r = arg;
	struct mark *m = malloc(sizeof(*m));

	m->qid = e->attr.qid.path;
	pthread_mutex_lock(&r->lock);
	r->preps++;
	r->off_main += !pthread_equal(pthread_self(), r->main);
	pthread_mutex_unlock(&r->lock);
	return m;
}

static void unprep(void *arg, void *p)
{
	struct run *r = arg;

	pthread_mutex_lock(&r->lock);
	r->unpreps++;
	pthread_mutex_unlock(&r->lock);
	free(p);
}

static int fn(void *arg, const struct walk_entry *e)
{
	struct run *r = arg;
	const struct mark *m = e->prep;

	if (r->seen >= r->nwant || strcmp(r->want[r->seen], e->path))
		r->in_order = 0;
	if (!m || m->qid != e->attr.qid.path)
		r->preps_match = 0;
	if (r->gone_at && r->seen + 1 == r->gone_at) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s", r->top,
			 r->want[r->gone_at - 1 + GONE_AHEAD]);
		unlink(path);
	}
	if (++r->seen == r->stop_at)
		return -ECANCELED;
	return 0;
}

static void make_file(const char *top, const char *fmt, int i, int j)
{
	char path[4096];
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/", top);
	snprintf(path + n, sizeof(path) - n, fmt, i, j);
	fd = open(path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return;
	if (write(fd, path, j) < 0)
		perror("write");
	close(fd);
}

/* 6 directories of 100 files, a subdirectory of 40 and a symlink each */
static void make_tree(const char *top)
{
	char path[4096];
	int i, j;

	for (i = 0; i < 6; i++) {
		snprintf(path, sizeof(path), "%s/d%d", top, i);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/d%d/sub", top, i);
		mkdir(path, 0755);
		for (j = 0; j < 100; j++)
			make_file(top, "d%d/f%02d", i, j);
		for (j = 0; j < 40; j++)
			make_file(top, "d%d/sub/g%02d", i, j);
		snprintf(path, sizeof(path), "%s/d%d/link", top, i);
		if (symlink("sub/g00", path))
			perror("symlink");
	}
}

/* The server's open fds: one per fid it holds. */
static int server_fds(const struct srv *s)
{
	char dir[64];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)s->pid);
	dp = opendir(dir);
	if (!dp)
		return -1;
	while ((d = readdir(dp)))
		n += d->d_name[0] != '.';
	closedir(dp);
	return n;
}

/* want[i..i+GONE_AHEAD] are all files directly in d1 */
static int direct_run(const struct run *r, size_t i)
{
	size_t k;

	for (k = i; k <= i + GONE_AHEAD; k++)
		if (strncmp(r->want[k], "d1/f", 4))
			return 0;
	return 1;
}

static void run_walk(struct p9_client *c, uint32_t root, struct run *r,
		     size_t stop_at, char *where, size_t cap, int *e)
{
	r->seen = 0;
	r->in_order = r->preps_match = 1;
	r->stop_at = stop_at;
	r->preps = r->unpreps = r->off_main = 0;
	*e = walk_tree_prep(c, root, fn, prep, unprep, r, where, cap);
}

int main(void)
{
	struct run r = { .main = pthread_self() };
	char *top = suite_tmpdir(), where[4096];
	struct p9_client *c = NULL;
	uint32_t root;
	struct srv s;
	int e, fds;
	size_t i;

	pthread_mutex_init(&r.lock, NULL);
	r.top = top;
	make_tree(top);
	host_walk(&r, top, "");
	if (srv_start_ours(top, 0, 0, 1, 0, &s) ||
	    p9_client_new(s.fd, s.fd, NULL, &c) ||
	    p9_attach(c, 0, NULL, &root, NULL)) {
		ok(0, "server and client start");
		return done_testing();
	}
	fds = server_fds(&s);

	run_walk(c, root, &r, 0, where, sizeof(where), &e);
	is(e, 0, "the walk ends well");
	ok(r.seen == r.nwant && r.nwant > 400, "every entry once (%zu of %zu)",
	   r.seen, r.nwant);
	ok(r.in_order, "in the order of a one-at-a-time walk");
	ok(r.preps_match, "each entry with what prep made of it");
	ok(r.off_main > 0, "prep ran on the walk's threads (%d of %d)",
	   r.off_main, r.preps);
	ok(r.preps == r.unpreps, "every prep freed (%d, %d)", r.preps,
	   r.unpreps);
	is(server_fds(&s), fds, "no fid left open in the server");

	run_walk(c, root, &r, 137, where, sizeof(where), &e);
	is(e, -ECANCELED, "fn's failure ends the walk");
	ok(r.seen == 137, "at the entry that failed (%zu)", r.seen);
	ok(!strcmp(where, r.want[136]), "where says that entry (%s)", where);
	ok(r.preps == r.unpreps, "what was walked ahead is freed (%d, %d)",
	   r.preps, r.unpreps);
	is(server_fds(&s), fds, "no fid left open after the stop");

	/* a file removed after its directory was listed, before its walk:
	 * told in its turn, after every entry before it */
	for (i = 0; i + GONE_AHEAD < r.nwant && !direct_run(&r, i); i++)
		;
	ok(i + GONE_AHEAD < r.nwant, "a run of files in one directory");
	r.gone_at = i + 1;
	run_walk(c, root, &r, 0, where, sizeof(where), &e);
	is(e, -ENOENT, "the walk fails at the file removed");
	ok(r.seen == i + GONE_AHEAD, "every entry before it was seen (%zu)",
	   r.seen);
	ok(!strcmp(where, r.want[i + GONE_AHEAD]), "where says that file (%s)",
	   where);
	ok(r.preps == r.unpreps, "what was walked ahead is freed (%d, %d)",
	   r.preps, r.unpreps);
	is(server_fds(&s), fds, "no fid left open after the failure");
	p9_client_free(c);
	srv_stop(&s);
	suite_rmtree(top);
	for (i = 0; i < r.nwant; i++)
		free(r.want[i]);
	return done_testing();
}
