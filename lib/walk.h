/*
 * walk.h - depth-first walk of a 9P tree (toybox dirtree style: a
 * callback per entry, parents before children).
 *
 * Everything the walk hands on came from the guest and was checked on
 * the way: names are single components (the client's readdir checks),
 * paths stay under WALK_PATH_MAX, depth under WALK_DEPTH_MAX, and a
 * directory whose qid repeats one of its ancestors (a cycle) is an error.
 * A listing must end (walk_readdir), and the names the walk holds for
 * the directories it is in stay under WALK_NAMES_MAX bytes in all, so
 * neither time nor memory grows without bound whatever the guest says.
 */
#ifndef QEMOUNT_WALK_H
#define QEMOUNT_WALK_H

#include <stddef.h>

#include "p9/client.h"

#define WALK_PATH_MAX	65535
#define WALK_DEPTH_MAX	1024
#define WALK_DIR_ENTRIES (1 << 22)	/* entries one listing may hold */
#define WALK_DIR_NAMES	(64 << 20)	/* bytes of names one listing may hold */
#define WALK_NAMES_MAX	(256 << 20)	/* names held by walk_tree at once */

struct walk_entry {
	const char *path;	/* relative to the root, no leading "./" */
	uint32_t fid;		/* walked to the entry, not opened */
	struct p9_attr attr;
	const char *target;	/* symlink target, else NULL */
	void *prep;		/* what walk_prep_fn made of it, or NULL */
};

/*
 * walk_fn - called once per entry below the root, in directory order.
 * The entry and its fid live until it returns.  Return 0 to go on,
 * WALK_SKIP to not descend into a directory, or -errno to stop.
 */
#define WALK_SKIP 1
typedef int walk_fn(void *arg, const struct walk_entry *e);

/*
 * walk_tree - walk everything below directory fid root.  Returns 0, the
 * first -errno from fn or from the server, -ELOOP for a directory cycle,
 * -ENAMETOOLONG for a path or depth past the limits, walk_readdir's
 * errors (-EFBIG for a directory past the limits, or past what is left
 * of WALK_NAMES_MAX).  where (cap bytes),
 * if not NULL, receives the path the walk stopped at ("" for the root).
 */
int walk_tree(struct p9_client *c, uint32_t root, walk_fn *fn, void *arg,
	      char *where, size_t cap);

/*
 * The walk looks ahead: while fn has one entry, WALK_THREADS threads
 * walk to, and getattr, up to WALK_AHEAD entries after it in the same
 * directory, so that many requests are in flight and the guest's
 * replies overlap.  fn still sees every entry in order, one at a time,
 * on the calling thread, and the walk ends where a one-at-a-time walk
 * would: a failure ahead is told when its entry's turn comes.
 *
 * walk_prep_fn - run in a walk thread on an entry ahead of its turn
 * (e->path is NULL then, e->prep too): what it returns is handed to fn
 * as e->prep, and after fn (or, if the walk stops first, instead of
 * it) to walk_unprep_fn.  It must not fail: it keeps its failures in
 * what it returns.  Clunks of the entries fn is done with go through
 * the threads too.
 */
#define WALK_THREADS	8
#define WALK_AHEAD	32
typedef void *walk_prep_fn(void *arg, const struct walk_entry *e);
typedef void walk_unprep_fn(void *arg, void *prep);

/* walk_tree_prep - walk_tree, with prep run ahead on each entry. */
int walk_tree_prep(struct p9_client *c, uint32_t root, walk_fn *fn,
		   walk_prep_fn *prep, walk_unprep_fn *unprep, void *arg,
		   char *where, size_t cap);

/*
 * walk_readdir - every entry of directory fid dir, in the server's order,
 * handed to fn as p9_readdir does ("." and ".." left out, names checked),
 * read through a fid of its own (dir is cloned, opened, clunked).  A
 * listing must end: more than WALK_DIR_ENTRIES entries, or more than
 * max_names bytes of names (each counted with one byte more, for its
 * NUL), is -EFBIG; a resume offset that comes round again (a listing
 * that would never end) is -EPROTO.  Returns 0, fn's -errno, or -errno.
 */
int walk_readdir(struct p9_client *c, uint32_t dir, size_t max_names,
		 p9_dirent_fn *fn, void *arg);

/*
 * walk_path - walk a slash-separated path from directory fid root to a
 * new fid, *fid (clunk it after).  Empty and "." components are skipped,
 * so "" and "/" give a clone of root; ".." stays inside the tree (the
 * server sees to that).  Returns 0 or -errno (-ENOENT, -ENOTDIR ...).
 */
int walk_path(struct p9_client *c, uint32_t root, const char *path,
	      uint32_t *fid);

#endif
