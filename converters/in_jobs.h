/*
 * in_jobs.h - the entries of archive_to_tree.c in flight: a ring of
 * jobs in archive order, writer threads, the turn for names, and what
 * each entry has to tell, told in archive order.  Not for use outside
 * converters/.
 *
 * The main thread reads the archive (libarchive is sequential).  A
 * small regular file is read into memory and queued; a writer thread
 * creates, fills and finishes it while the main thread reads on.
 * Everything else the main thread does itself ("inline").  What makes
 * this give the tree and the words a one-at-a-time run gives:
 *
 *  - The turn.  Entries change names (create, mkdir, unlink, link,
 *    walking into a new directory) one entry at a time, in archive
 *    order: entry N waits until every earlier entry has made its
 *    names.  The guest's server answers in arrival order, so on a
 *    filesystem where two names are one (vfat's "A" and "a") the first
 *    in the archive still makes it.
 *  - A file is created exclusively.  If the name is taken (an earlier
 *    entry of that name, in any spelling the filesystem folds), the
 *    job waits, holding the turn, until every earlier entry is done,
 *    and then replaces it as before.  So two jobs never write one
 *    inode at once.
 *  - Notes.  A job keeps its warnings, losses and counts; the main
 *    thread tells them when the job retires, in archive order, and
 *    stops at the first entry (in archive order) that failed.
 */
#ifndef QEMOUNT_IN_JOBS_H
#define QEMOUNT_IN_JOBS_H

#include <pthread.h>
#include <stdint.h>

#include "conv.h"

#define MAXDEPTH	256
#define NAME_BUF	4096

/* The kinds of attribute a filesystem may not keep, told once each. */
enum kind { OWNER, MODE, TIME, SUBSEC, NKINDS };

struct dirref {			/* a directory fid, shared by the jobs in it */
	uint32_t fid;
	unsigned refs;
};

struct note;
struct dirattr;

struct block {			/* a piece of a buffered file */
	int64_t off;		/* in the file */
	size_t len;
	size_t at;		/* in job's data */
};

enum job_state { J_READING, J_QUEUED, J_RUNNING, J_DONE };

struct job {
	unsigned long seq;	/* its place in the archive */
	enum job_state state;
	int passed;		/* has passed the turn on */
	struct archive_entry *ae;	/* queued: a clone it owns */
	const char *path;	/* as in the archive (in ae) */
	const char *name;	/* its last component (in comps) */
	char comps[NAME_BUF];
	struct dirref *dir;	/* queued: the directory it goes in */
	uint8_t *data;		/* queued: the file's data, in blocks */
	size_t len, cap;
	struct block *blocks;
	size_t nblocks, capblocks, next;
	int stream;		/* inline: the rest from the archive */
	/* what it has to tell */
	struct note *notes, **tail;
	struct conv_in_stats d;	/* counts to add */
	int err;		/* it failed: -errno, and msg says how */
	char *msg;
};

struct conv_in {
	const struct conv_in_opts *o;
	struct p9_client *c;
	uint32_t root;
	struct archive *ar;
	struct conv_in_stats *st;
	char *err;
	size_t errlen;
	char last[NAME_BUF];	/* the name of the entry read last */
	char cur[NAME_BUF];	/* the directory cwd is, "" for the root */
	struct dirref *cwd;	/* NULL, or a fid of cur */
	struct dirattr *dirs;
	size_t ndirs, capdirs;

	/* the jobs in flight; all below under lock */
	pthread_mutex_t lock;
	pthread_cond_t queued;	/* a job was queued, or quit */
	pthread_cond_t changed;	/* a job is done, or the turn moved */
	struct job **ring;	/* ring[(head + i) % nring], oldest first */
	size_t head, count, nring;
	unsigned long seq;	/* the next entry's */
	unsigned long turn;	/* the entry that may make names now */
	size_t buffered;	/* bytes of file data queued */
	int failed;		/* a job failed: read no further */
	int quit;
	int error;		/* the first failure, told: tell no more */
	pthread_t *threads;
	unsigned nthreads;
};

/*
 * jobs_start - the ring and n writer threads (fewer if threads cannot
 * be made; with none, every entry is inline).  0 or -ENOMEM.
 */
int jobs_start(struct conv_in *ci, unsigned n);

/*
 * jobs_stop - wait for every job, tell what is left in order, stop the
 * threads and free the ring.  Returns the run's failure: the first in
 * archive order (its message in ci->err), or 0.
 */
int jobs_stop(struct conv_in *ci);

/*
 * jobs_new - a job for the next entry, once the ring has room; the jobs
 * done before it are retired (told) on the way.  Returns 0 with *out
 * set; -ENOMEM; or -1 if an entry failed: read no further.
 */
int jobs_new(struct conv_in *ci, struct job **out);

/*
 * jobs_reserve - wait until bytes more of file data may be buffered,
 * and take them for j.  0, or -1 as for jobs_new (j is not queued).
 */
int jobs_reserve(struct conv_in *ci, struct job *j, size_t bytes);

/* jobs_queue - hand j to a writer thread (j->ae, j->dir: its own). */
void jobs_queue(struct conv_in *ci, struct job *j);

/* jobs_done - j was done (inline, or by a writer); it retires in its turn. */
void jobs_done(struct conv_in *ci, struct job *j);

/* jobs_turn - wait until j may make names. */
void jobs_turn(struct conv_in *ci, struct job *j);

/* jobs_pass - j has made its names: the next entry may (once only). */
void jobs_pass(struct conv_in *ci, struct job *j);

/* jobs_before - wait until every entry before j is done. */
void jobs_before(struct conv_in *ci, struct job *j);

/* the job body a writer thread runs (archive_to_tree.c) */
int put_file(struct conv_in *ci, struct job *j);

/* dir_put - drop a reference to d; the last one clunks it. */
void dir_put(struct conv_in *ci, struct dirref *d);

/*
 * Notes on j, told when it retires: a line for the user (a loss if
 * counts), or a kind of attribute lost (told for the first entry only).
 */
void job_tell(struct job *j, const char *path, const char *what, int e,
	      int counts);
void job_lost_kind(struct job *j, const char *path, enum kind k);

/* job_fail - j failed with e: "path: what: why".  Returns e. */
int job_fail(struct job *j, const char *path, const char *what, int e);

/* job_fail_msg - j failed with e, msg as it is.  Returns e. */
int job_fail_msg(struct job *j, int e, const char *msg);

#endif
