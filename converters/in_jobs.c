/*
 * in_jobs.c - the entries of archive_to_tree.c in flight: the ring, the
 * writer threads, the turn, and telling in archive order (in_jobs.h
 * says why this gives what a one-at-a-time run gives).
 *
 * Only the main thread adds jobs, retires them and calls o->warn; a
 * writer thread only runs a queued job and marks it done.  A job that
 * waits for the entries before it waits at most WAIT_MS, and fails
 * then; it stops waiting at once when the connection is gone.  So a
 * job ends within its 9P calls' timeouts and that, and the main
 * thread, waiting only for jobs to end, needs no limit of its own.
 */
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "in_jobs.h"

#define RING		64	/* entries read ahead of the oldest undone */
#define BUDGET		(16 * 1024 * 1024)	/* file data queued at most */
#define WAIT_MS		(30 * 60 * 1000)	/* a job's wait for its turn */

struct note {
	struct note *next;
	int kind;		/* an enum kind lost, or -1: a line */
	int counts;		/* a line: it is a loss */
	char text[];		/* path, NUL, what */
};

static const char *const kind_msg[NKINDS] = {
	"owner not kept (nor for any entry after it)",
	"mode not kept (nor for any entry after it)",
	"mtime not kept (nor for any entry after it)",
	"sub-second mtime not kept (nor for any entry after it)",
};

/* ---- notes (the thread running j) ---- */

static void note_add(struct job *j, int kind, int counts, const char *path,
		     const char *what)
{
	size_t lp = strlen(path), lw = strlen(what);
	struct note *n = malloc(sizeof(*n) + lp + lw + 2);

	if (!n) {
		job_fail_msg(j, -ENOMEM, "out of memory");
		return;
	}
	n->next = NULL;
	n->kind = kind;
	n->counts = counts;
	memcpy(n->text, path, lp + 1);
	memcpy(n->text + lp + 1, what, lw + 1);
	*j->tail = n;
	j->tail = &n->next;
}

void job_tell(struct job *j, const char *path, const char *what, int e,
	      int counts)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "%s%s%s", what, e ? ": " : "",
		 e ? strerror(-e) : "");
	note_add(j, -1, counts, path, msg);
}

void job_lost_kind(struct job *j, const char *path, enum kind k)
{
	note_add(j, k, 0, path, "");
}

int job_fail_msg(struct job *j, int e, const char *msg)
{
	if (!j->err) {
		j->err = e;
		j->msg = strdup(msg);
	}
	return e;
}

int job_fail(struct job *j, const char *path, const char *what, int e)
{
	char msg[NAME_BUF + 512];

	snprintf(msg, sizeof(msg), "%s%s%s: %s", path, path[0] ? ": " : "",
		 what, strerror(-e));
	return job_fail_msg(j, e, msg);
}

/* ---- waiting ---- */

static void deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += WAIT_MS / 1000;
}

/*
 * For the order of names (lock held): wait until woken; -1 when there
 * is no order worth keeping any more: the connection is gone, or j
 * waited too long (it fails then).
 */
static int wait_order(struct conv_in *ci, struct job *j,
		      const struct timespec *end)
{
	if (p9_client_error(ci->c))
		return -1;
	if (pthread_cond_timedwait(&ci->changed, &ci->lock, end) ==
	    ETIMEDOUT) {
		job_fail(j, j->path, "waiting for the entries before it",
			 -ETIMEDOUT);
		return -1;
	}
	return 0;
}

void jobs_turn(struct conv_in *ci, struct job *j)
{
	struct timespec end;

	deadline(&end);
	pthread_mutex_lock(&ci->lock);
	while (ci->turn < j->seq && !wait_order(ci, j, &end))
		;
	pthread_mutex_unlock(&ci->lock);
}

void jobs_pass(struct conv_in *ci, struct job *j)
{
	if (j->passed)
		return;
	jobs_turn(ci, j);
	pthread_mutex_lock(&ci->lock);
	j->passed = 1;
	if (ci->turn == j->seq)
		ci->turn++;
	pthread_cond_broadcast(&ci->changed);
	pthread_mutex_unlock(&ci->lock);
}

/*
 * Is a job before seq queued or running?  (lock held)  The one the main
 * thread is reading does not count: it waits for nothing of its own.
 */
static int undone_before(struct conv_in *ci, unsigned long seq)
{
	size_t i;

	for (i = 0; i < ci->count; i++) {
		struct job *o = ci->ring[(ci->head + i) % ci->nring];

		if (o->seq < seq && (o->state == J_QUEUED ||
				     o->state == J_RUNNING))
			return 1;
	}
	return 0;
}

void jobs_before(struct conv_in *ci, struct job *j)
{
	struct timespec end;

	deadline(&end);
	pthread_mutex_lock(&ci->lock);
	while (undone_before(ci, j->seq) && !wait_order(ci, j, &end))
		;
	pthread_mutex_unlock(&ci->lock);
}

/* ---- directories ---- */

void dir_put(struct conv_in *ci, struct dirref *d)
{
	unsigned left;

	if (!d)
		return;
	pthread_mutex_lock(&ci->lock);
	left = --d->refs;
	pthread_mutex_unlock(&ci->lock);
	if (left)
		return;
	p9_clunk(ci->c, d->fid);
	free(d);
}

/* ---- retiring (the main thread) ---- */

static void job_free(struct conv_in *ci, struct job *j)
{
	struct note *n, *next;

	for (n = j->notes; n; n = next) {
		next = n->next;
		free(n);
	}
	if (j->ae)
		archive_entry_free(j->ae);
	dir_put(ci, j->dir);
	ci->buffered -= j->cap;
	free(j->data);
	free(j->blocks);
	free(j->msg);
	free(j);
}

static void stats_add(struct conv_in_stats *st, const struct conv_in_stats *d)
{
	st->files += d->files;
	st->dirs += d->dirs;
	st->symlinks += d->symlinks;
	st->links += d->links;
	st->nodes += d->nodes;
	st->dirs_made += d->dirs_made;
	st->bytes += d->bytes;
}

/* Tell what j has to tell; its failure, if any, is the run's. */
static int retire(struct conv_in *ci, struct job *j)
{
	unsigned long *lost[NKINDS] = { &ci->st->owners_lost,
		&ci->st->modes_lost, &ci->st->times_lost,
		&ci->st->subsec_lost };
	conv_warn_fn *warn = ci->o->warn;
	struct note *n;
	int e = j->err;

	if (ci->error) {		/* the run ended before j */
		job_free(ci, j);
		return 0;
	}
	for (n = j->notes; n; n = n->next) {
		if (n->kind >= 0) {
			if ((*lost[n->kind])++ == 0 && warn)
				warn(ci->o->warn_arg, n->text,
				     kind_msg[n->kind]);
			continue;
		}
		ci->st->losses += n->counts;
		if (warn)
			warn(ci->o->warn_arg, n->text,
			     n->text + strlen(n->text) + 1);
	}
	stats_add(ci->st, &j->d);
	if (e) {
		snprintf(ci->err, ci->errlen, "%s", j->msg ? j->msg :
			 strerror(-e));
		ci->error = e;
	}
	job_free(ci, j);
	return e;
}

/*
 * Retire the done jobs at the head of the ring, in order; with all,
 * wait for every queued job first.
 */
static void collect(struct conv_in *ci, int all)
{
	struct job *done[RING];
	size_t n, i;

	pthread_mutex_lock(&ci->lock);
	while (all && undone_before(ci, ci->seq))
		pthread_cond_wait(&ci->changed, &ci->lock);
	for (n = 0; ci->count && ci->ring[ci->head]->state == J_DONE; n++) {
		done[n] = ci->ring[ci->head];
		ci->head = (ci->head + 1) % ci->nring;
		ci->count--;
	}
	pthread_mutex_unlock(&ci->lock);
	for (i = 0; i < n; i++)
		retire(ci, done[i]);
}

/* ---- the writer threads ---- */

static struct job *first_queued(struct conv_in *ci)
{
	size_t i;

	for (i = 0; i < ci->count; i++) {
		struct job *j = ci->ring[(ci->head + i) % ci->nring];

		if (j->state == J_QUEUED)
			return j;
	}
	return NULL;
}

static void *writer(void *arg)
{
	struct conv_in *ci = arg;
	struct job *j;
	int skip;

	pthread_mutex_lock(&ci->lock);
	for (;;) {
		while (!ci->quit && !(j = first_queued(ci)))
			pthread_cond_wait(&ci->queued, &ci->lock);
		if (ci->quit)
			break;
		j->state = J_RUNNING;
		skip = ci->failed;	/* after a failure: not to be told */
		pthread_mutex_unlock(&ci->lock);
		if (!skip)
			put_file(ci, j);
		jobs_done(ci, j);
		pthread_mutex_lock(&ci->lock);
	}
	pthread_mutex_unlock(&ci->lock);
	return NULL;
}

/* ---- the main thread's side ---- */

/*
 * Retire what is done until more() (lock held) is false; then 0, or -1
 * if a job failed (everything is retired then, the failure told).
 */
static int retire_while(struct conv_in *ci, int (*more)(struct conv_in *,
							 size_t), size_t arg)
{
	int failed;

	collect(ci, 0);
	pthread_mutex_lock(&ci->lock);
	while (!ci->failed && more(ci, arg)) {
		pthread_cond_wait(&ci->changed, &ci->lock);
		pthread_mutex_unlock(&ci->lock);
		collect(ci, 0);
		pthread_mutex_lock(&ci->lock);
	}
	failed = ci->failed;
	pthread_mutex_unlock(&ci->lock);
	if (failed)
		collect(ci, 1);
	return failed ? -1 : 0;
}

static int ring_full(struct conv_in *ci, size_t unused)
{
	(void)unused;
	return ci->count == ci->nring;
}

static int over_budget(struct conv_in *ci, size_t bytes)
{
	return ci->buffered && ci->buffered + bytes > BUDGET;
}

int jobs_new(struct conv_in *ci, struct job **out)
{
	struct job *j;

	if (retire_while(ci, ring_full, 0))
		return -1;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->tail = &j->notes;
	j->path = "";
	pthread_mutex_lock(&ci->lock);
	j->seq = ci->seq++;
	j->state = J_READING;
	ci->ring[(ci->head + ci->count++) % ci->nring] = j;
	pthread_mutex_unlock(&ci->lock);
	*out = j;
	return 0;
}

int jobs_reserve(struct conv_in *ci, struct job *j, size_t bytes)
{
	if (retire_while(ci, over_budget, bytes))
		return -1;
	ci->buffered += bytes;
	j->cap = bytes;
	return 0;
}

void jobs_queue(struct conv_in *ci, struct job *j)
{
	pthread_mutex_lock(&ci->lock);
	j->state = J_QUEUED;
	pthread_cond_signal(&ci->queued);
	pthread_mutex_unlock(&ci->lock);
}

void jobs_done(struct conv_in *ci, struct job *j)
{
	jobs_pass(ci, j);
	pthread_mutex_lock(&ci->lock);
	j->state = J_DONE;
	ci->failed |= j->err != 0;
	pthread_cond_broadcast(&ci->changed);
	pthread_mutex_unlock(&ci->lock);
}

int jobs_start(struct conv_in *ci, unsigned n)
{
	pthread_condattr_t ca;

	ci->nring = RING;
	ci->ring = calloc(RING, sizeof(*ci->ring));
	ci->threads = n ? calloc(n, sizeof(*ci->threads)) : NULL;
	if (!ci->ring || (n && !ci->threads)) {
		free(ci->ring);
		free(ci->threads);
		return -ENOMEM;
	}
	pthread_mutex_init(&ci->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ci->changed, &ca);
	pthread_cond_init(&ci->queued, &ca);
	pthread_condattr_destroy(&ca);
	for (ci->nthreads = 0; ci->nthreads < n; ci->nthreads++)
		if (pthread_create(&ci->threads[ci->nthreads], NULL, writer,
				   ci))
			break;
	return 0;
}

int jobs_stop(struct conv_in *ci)
{
	unsigned i;

	collect(ci, 1);
	pthread_mutex_lock(&ci->lock);
	ci->quit = 1;
	pthread_cond_broadcast(&ci->queued);
	pthread_mutex_unlock(&ci->lock);
	for (i = 0; i < ci->nthreads; i++)
		pthread_join(ci->threads[i], NULL);
	pthread_cond_destroy(&ci->queued);
	pthread_cond_destroy(&ci->changed);
	pthread_mutex_destroy(&ci->lock);
	free(ci->threads);
	free(ci->ring);
	return ci->error;
}
