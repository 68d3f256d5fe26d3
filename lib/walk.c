/*
 * walk.c - depth-first walk of a 9P tree (see walk.h).
 *
 * One directory is read whole (names only) before its entries are
 * visited, so a deep tree costs names, not fids: per level one
 * directory fid and those of the WALK_AHEAD entries walked ahead.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "walk.h"

enum job_state {
	J_IDLE,		/* free for the next entry */
	J_WALK,		/* queued or running: walk, getattr, prep */
	J_READY,	/* walked, waiting for its turn */
	J_CLUNK,	/* queued or running: clunk its fid */
};

struct job {			/* one entry looked at ahead */
	struct job *next;	/* in the queue */
	enum job_state state;
	uint32_t dirfid;
	const char *name;	/* in its directory's names */
	struct walk_entry en;	/* fid, attr, target (its own), prep */
	int err;		/* walk, getattr or readlink failed */
	int ended;		/* the connection's end is pinned on its requests */
};

struct frame {			/* a directory the walk is in */
	struct frame *up;
	struct job *jobs;	/* WALK_AHEAD of them, a ring */
	unsigned long at, sent;	/* entries [at, sent) are in jobs */
	size_t plen;		/* of the directory's path */
};

struct walker {
	struct p9_client *c;
	walk_fn *fn;
	walk_prep_fn *prep;
	walk_unprep_fn *unprep;
	void *arg;
	char path[WALK_PATH_MAX + 1];
	size_t plen;
	uint64_t anc[WALK_DEPTH_MAX + 1];	/* qid.path of each ancestor */
	int depth;
	size_t held;		/* bytes of names of the directories we are in */
	struct frame *top;	/* the innermost */
	int blamed;		/* a failure's entry was found (blame) */
	char also[1024];	/* the others it may be (blame), or "" */

	/* the threads; the queue and every job's state under lock */
	pthread_mutex_t lock;
	pthread_cond_t work;	/* a job was queued, or quit */
	pthread_cond_t moved;	/* a job changed state */
	struct job *head, **tail;
	int quit;
	pthread_t threads[WALK_THREADS];
	unsigned nthreads;
};

struct names {
	char *buf;		/* NUL-separated */
	size_t len, cap;
};

/* What walk_readdir counts as a listing goes by. */
struct listing {
	p9_dirent_fn *fn;
	void *arg;
	size_t names, max;
};

static int count_name(void *arg, const struct p9_dirent *d)
{
	struct listing *l = arg;

	l->names += d->name.len + 1;
	if (l->names > l->max)
		return -EFBIG;
	return l->fn(l->arg, d);
}

int walk_readdir(struct p9_client *c, uint32_t dir, size_t max_names,
		 p9_dirent_fn *fn, void *arg)
{
	struct listing l = { .fn = fn, .arg = arg, .max = max_names };
	uint64_t off = 0, mark = 0, entries = 0, steps = 0, lap = 1;
	uint32_t fid;
	int n, e;

	e = p9_walk(c, dir, 0, NULL, &fid, NULL);
	if (e)
		return e;
	e = p9_lopen(c, fid, O_RDONLY | O_DIRECTORY, NULL, NULL);
	while (!e) {
		n = p9_readdir(c, fid, &off, count_name, &l);
		if (n <= 0) {
			e = n;
			break;
		}
		entries += n;
		/* Brent's cycle finding over the resume offsets: a mark
		 * moved at each power of two is met again if they go
		 * round, in at most twice the cycle's length */
		if (entries > WALK_DIR_ENTRIES)
			e = -EFBIG;
		else if (off == mark)
			e = -EPROTO;
		else if (++steps == lap) {
			mark = off;
			lap *= 2;
			steps = 0;
		}
	}
	p9_clunk(c, fid);
	return e;
}

static int add_name(void *arg, const struct p9_dirent *d)
{
	struct names *ns = arg;

	if (ns->len + d->name.len + 1 > ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 4096;
		char *nb;

		while (cap < ns->len + d->name.len + 1)
			cap *= 2;
		nb = realloc(ns->buf, cap);
		if (!nb)
			return -ENOMEM;
		ns->buf = nb;
		ns->cap = cap;
	}
	memcpy(ns->buf + ns->len, d->name.s, d->name.len);
	ns->len += d->name.len;
	ns->buf[ns->len++] = '\0';
	return 0;
}

/* ---- the jobs: what a walk thread does, and handing jobs to it ---- */

/* Walk to j's entry, getattr, readlink, prep: all into j. */
static void run_walk(struct walker *w, struct job *j)
{
	char target[4096];
	int e;

	e = p9_walk(w->c, j->dirfid, 1, &j->name, &j->en.fid, NULL);
	if (e) {
		j->en.fid = P9_NOFID;
		j->err = e;
		return;
	}
	e = p9_getattr(w->c, j->en.fid, &j->en.attr);
	if (!e && S_ISLNK(j->en.attr.mode)) {
		e = p9_readlink(w->c, j->en.fid, target, sizeof(target));
		if (!e && !(j->en.target = strdup(target)))
			e = -ENOMEM;
	}
	j->err = e;
	if (!e && w->prep)
		j->en.prep = w->prep(w->arg, &j->en);
}

/* What j holds goes: its prep, its target, its fid (lock not held). */
static void run_clunk(struct walker *w, struct job *j)
{
	if (j->en.prep)
		w->unprep(w->arg, j->en.prep);
	free((char *)j->en.target);
	if (j->en.fid != P9_NOFID)
		p9_clunk(w->c, j->en.fid);
	memset(&j->en, 0, sizeof(j->en));
	j->err = 0;
}

static void run(struct walker *w, struct job *j)
{
	int walk = j->state == J_WALK, ended;

	if (walk)
		run_walk(w, j);
	else
		run_clunk(w, j);
	ended = p9_client_ended_here(w->c);	/* asked either way */
	if (walk)
		j->ended = ended;
}

static void *thread(void *arg)
{
	struct walker *w = arg;
	struct job *j;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->quit && !w->head)
			pthread_cond_wait(&w->work, &w->lock);
		if (!w->head)
			break;
		j = w->head;
		w->head = j->next;
		if (!w->head)
			w->tail = &w->head;
		pthread_mutex_unlock(&w->lock);
		run(w, j);
		pthread_mutex_lock(&w->lock);
		j->state = j->state == J_WALK ? J_READY : J_IDLE;
		pthread_cond_broadcast(&w->moved);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Hand j, in state J_WALK or J_CLUNK, to the threads (with none: run it). */
static void queue(struct walker *w, struct job *j)
{
	if (!w->nthreads) {
		run(w, j);
		j->state = j->state == J_WALK ? J_READY : J_IDLE;
		return;
	}
	pthread_mutex_lock(&w->lock);
	j->next = NULL;
	*w->tail = j;
	w->tail = &j->next;
	pthread_cond_signal(&w->work);
	pthread_mutex_unlock(&w->lock);
}

/*
 * Wait until j is in state want (or idle).  No timeout of its own: a
 * thread's every call has the client's, and a connection that ends
 * fails them all at once.
 */
static void wait_for(struct walker *w, struct job *j, enum job_state want)
{
	pthread_mutex_lock(&w->lock);
	while (j->state != want && j->state != J_IDLE)
		pthread_cond_wait(&w->moved, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

/* ---- the walk ---- */

static int walk_dir(struct walker *w, uint32_t dirfid);

static int descend(struct walker *w, const struct walk_entry *en)
{
	int i, e;

	for (i = 0; i <= w->depth; i++)
		if (w->anc[i] == en->attr.qid.path)
			return -ELOOP;
	if (w->depth + 1 >= WALK_DEPTH_MAX)
		return -ENAMETOOLONG;
	w->anc[++w->depth] = en->attr.qid.path;
	e = walk_dir(w, en->fid);
	w->depth--;
	return e;
}

/* Append name to w->path: 0, or -ENAMETOOLONG (the path as it was). */
static int path_add(struct walker *w, const char *name)
{
	size_t n = strlen(name);

	if (w->plen + (w->plen ? 1 : 0) + n > WALK_PATH_MAX)
		return -ENAMETOOLONG;
	if (w->plen)
		w->path[w->plen++] = '/';
	memcpy(w->path + w->plen, name, n + 1);
	w->plen += n;
	return 0;
}

/* Append "DIR/NAME" (DIR: the first dlen bytes of w->path) to w->also. */
static void also_add(struct walker *w, size_t dlen, const char *name)
{
	size_t len = strlen(w->also);

	snprintf(w->also + len, sizeof(w->also) - len, "%s%.*s%s%s",
		 len ? ", " : " (or ", (int)dlen, w->path, dlen ? "/" : "",
		 name);
}

/*
 * The walk failed at job cur with the connection gone.  The requests
 * the end is pinned on (p9_client_ended_here) say which entries to
 * blame: the failure of a reply, one entry; a guest that died or went
 * mute, every entry with a request then unanswered, and the server,
 * answering in order and sending its answers in batches, may have been
 * at any of them.  The path becomes the first of them in walk order
 * (cur, if its own requests were among them), and w->also names the
 * others.  An entry that only failed because the link had ended is
 * not named.  Blamed once: the directories around keep what was found.
 */
static int blame(struct walker *w, const struct job *cur, int e)
{
	const struct job *first = NULL;
	const struct frame *f, *at = NULL;
	struct job *j;
	unsigned long seq;
	size_t saved, named = 0;

	if (w->blamed || !p9_client_error(w->c))
		return e;
	w->blamed = 1;
	if (p9_client_ended_here(w->c) || cur->ended)
		first = cur;
	/* the entries ahead, in walk order, each once it is walked */
	for (f = w->top; f; f = f->up)
		for (seq = f->at; seq < f->sent; seq++) {
			j = &f->jobs[seq % WALK_AHEAD];
			wait_for(w, j, J_READY);
			if (j->state != J_READY || !j->ended)
				continue;
			if (!first) {
				first = j;
				at = f;
			} else if (named++ < 3) {
				also_add(w, f->plen, j->name);
			}
		}
	if (named > 3)
		snprintf(w->also + strlen(w->also),
			 sizeof(w->also) - strlen(w->also), " and %zu more",
			 named - 3);
	if (named)
		snprintf(w->also + strlen(w->also),
			 sizeof(w->also) - strlen(w->also),
			 ", read at the same time)");
	if (!first || first == cur)
		return e;
	saved = w->plen;
	w->plen = at->plen;
	if (path_add(w, first->name)) {
		w->plen = saved;
		return e;
	}
	return first->err ? first->err : p9_client_error(w->c);
}

/* j's turn: its path, fn, its subtree; then its clunk is queued. */
static int visit(struct walker *w, struct job *j)
{
	size_t saved = w->plen;
	int e = path_add(w, j->name);

	if (e)
		return e;
	e = j->err;
	j->en.path = w->path;
	if (!e)
		e = w->fn(w->arg, &j->en);
	if (e == WALK_SKIP)
		e = 0;
	else if (!e && S_ISDIR(j->en.attr.mode))
		e = descend(w, &j->en);
	j->state = J_CLUNK;
	queue(w, j);
	if (!e)		/* on failure the path stays, to say where */
		w->path[w->plen = saved] = '\0';
	return e;
}

/*
 * Read directory dirfid's names whole, then visit each in order while
 * the threads walk up to WALK_AHEAD entries ahead.
 */
static int walk_dir(struct walker *w, uint32_t dirfid)
{
	size_t left = WALK_NAMES_MAX - w->held, next = 0;
	struct frame f = { .up = w->top, .plen = w->plen };
	struct names ns = { 0 };
	struct job *jobs;
	unsigned long i, n = 0, sent = 0;
	int e;

	e = walk_readdir(w->c, dirfid, left < WALK_DIR_NAMES ? left :
			 WALK_DIR_NAMES, add_name, &ns);
	jobs = e ? NULL : calloc(WALK_AHEAD, sizeof(*jobs));
	if (!e && !jobs)
		e = -ENOMEM;
	for (i = 0; !e && i < ns.len; i += strlen(ns.buf + i) + 1)
		n++;
	w->held += ns.len;
	f.jobs = jobs;
	w->top = &f;
	for (i = 0; !e && i < n; i++) {
		for (; sent < n && sent < i + WALK_AHEAD; sent++) {
			struct job *s = &jobs[sent % WALK_AHEAD];

			wait_for(w, s, J_IDLE);
			s->state = J_WALK;
			s->dirfid = dirfid;
			s->name = ns.buf + next;
			s->en.fid = P9_NOFID;
			next += strlen(s->name) + 1;
			queue(w, s);
		}
		f.at = i;
		f.sent = sent;
		wait_for(w, &jobs[i % WALK_AHEAD], J_READY);
		e = visit(w, &jobs[i % WALK_AHEAD]);
		if (e)
			e = blame(w, &jobs[i % WALK_AHEAD], e);
	}
	/* what was walked ahead of a failure goes unvisited */
	for (i = 0; jobs && i < WALK_AHEAD; i++) {
		wait_for(w, &jobs[i], J_READY);
		if (jobs[i].state == J_READY) {
			jobs[i].state = J_CLUNK;
			queue(w, &jobs[i]);
		}
	}
	for (i = 0; jobs && i < WALK_AHEAD; i++)
		wait_for(w, &jobs[i], J_IDLE);
	w->top = f.up;
	w->held -= ns.len;
	free(jobs);
	free(ns.buf);
	return e;
}

static void start(struct walker *w)
{
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->work, NULL);
	pthread_cond_init(&w->moved, NULL);
	w->tail = &w->head;
	for (w->nthreads = 0; w->nthreads < WALK_THREADS; w->nthreads++)
		if (pthread_create(&w->threads[w->nthreads], NULL, thread, w))
			break;
}

static void stop(struct walker *w)
{
	unsigned i;

	pthread_mutex_lock(&w->lock);
	w->quit = 1;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->lock);
	for (i = 0; i < w->nthreads; i++)
		pthread_join(w->threads[i], NULL);
	pthread_cond_destroy(&w->moved);
	pthread_cond_destroy(&w->work);
	pthread_mutex_destroy(&w->lock);
}

int walk_tree_prep(struct p9_client *c, uint32_t root, walk_fn *fn,
		   walk_prep_fn *prep, walk_unprep_fn *unprep, void *arg,
		   char *where, size_t cap)
{
	struct walker *w = calloc(1, sizeof(*w));
	struct p9_attr a;
	int e;

	if (!w)
		return -ENOMEM;
	w->c = c;
	w->fn = fn;
	w->prep = prep;
	w->unprep = unprep;
	w->arg = arg;
	start(w);
	e = p9_getattr(c, root, &a);
	if (!e) {
		w->anc[0] = a.qid.path;
		e = walk_dir(w, root);
	}
	stop(w);
	if (where && cap)
		snprintf(where, cap, "%s%s", w->path, w->also);
	free(w);
	return e;
}

int walk_tree(struct p9_client *c, uint32_t root, walk_fn *fn, void *arg,
	      char *where, size_t cap)
{
	return walk_tree_prep(c, root, fn, NULL, NULL, arg, where, cap);
}

int walk_path(struct p9_client *c, uint32_t root, const char *path,
	      uint32_t *fid)
{
	const char *names[P9_MAXWELEM];
	char *copy = strdup(path), *save = NULL, *tok;
	uint32_t at, next;
	unsigned n = 0;
	int e;

	if (!copy)
		return -ENOMEM;
	e = p9_walk(c, root, 0, NULL, &at, NULL);
	tok = strtok_r(copy, "/", &save);
	while (!e && (tok || n)) {
		if (tok && strcmp(tok, ".") != 0)
			names[n++] = tok;
		if (tok)
			tok = strtok_r(NULL, "/", &save);
		if (n == P9_MAXWELEM || (!tok && n)) {	/* walk what we have */
			e = p9_walk(c, at, n, names, &next, NULL);
			p9_clunk(c, at);
			at = next;
			n = 0;
		}
	}
	free(copy);
	if (e)
		return e;
	*fid = at;
	return 0;
}
