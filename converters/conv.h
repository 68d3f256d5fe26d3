/*
 * conv.h - converters between a 9P tree and archives, over libarchive.
 *
 * tree -> archive: conv_out_* turns walk_tree() entries into archive
 * entries.  archive -> tree: conv_in_* writes an archive's entries into
 * a 9P tree (archive_to_tree.c, with writer threads: in_jobs.c).
 * Output formats and compression filters are rows of tables in
 * tree_to_archive.c (the habit of libarchive's own
 * archive_write_set_format_by_name.c): adding one is adding a row.
 */
#ifndef QEMOUNT_CONV_H
#define QEMOUNT_CONV_H

#include <stddef.h>

#include "p9/client.h"
#include "walk.h"

struct conv_out;

/* Told once per entry that could not be written as it is. */
typedef void conv_warn_fn(void *arg, const char *path, const char *what);

struct conv_out_opts {
	const char *format;	/* pax gnutar ustar zip cpio 7z; NULL: by name */
	const char *compress;	/* gzip xz zstd bzip2 none; NULL: by name */
	const char *name;	/* output file name, for its extension; or NULL */
	conv_warn_fn *warn;
	void *warn_arg;
};

/*
 * conv_out_new - an archive writer on fd for o.  Without a format or a
 * name with a known extension, the format is pax with no compression.
 * Returns 0, -EINVAL for an unknown format or compression, or -errno.
 * *out is set either way, so that conv_out_error can say why; on failure
 * free it with conv_out_abort.
 */
int conv_out_new(const struct conv_out_opts *o, int fd, struct conv_out **out);

/*
 * conv_out_entry - add e, read through client c, with what
 * conv_out_prep made of it in e->prep (walk_tree_prep hands it on).
 * Returns 0 (also when the entry was skipped with a warning) or -errno;
 * conv_out_error says more, conv_out_write_error whether the fault was
 * the output's.
 */
int conv_out_entry(struct conv_out *w, struct p9_client *c,
		   const struct walk_entry *e);

/*
 * conv_out_prep - a walk_prep_fn's work for conv_out_entry, safe to run
 * on several entries at once on other threads: opens a regular file,
 * reads its xattrs and, if it is small and no link or sparse file, its
 * data (CONV_OUT_AHEAD bytes at most held this way by all entries);
 * NULL if it had no memory.  conv_out_entry then uses what it holds;
 * whatever went wrong is told there, as if it had happened then.
 * conv_out_unprep frees it.
 */
#define CONV_OUT_AHEAD	(16 << 20)
void *conv_out_prep(struct conv_out *w, struct p9_client *c,
		    const struct walk_entry *e);
void conv_out_unprep(struct conv_out *w, void *prep);

/*
 * conv_out_close - finish the archive (trailer, filter flush).  Returns 0
 * or -errno (of writing the output: -ENOSPC ...).  The writer is freed
 * either way.
 */
int conv_out_close(struct conv_out *w);

/*
 * conv_out_abort - free the writer without finishing the archive, so a
 * failed run never leaves output that reads as complete.  NULL allowed.
 */
void conv_out_abort(struct conv_out *w);

/*
 * conv_out_error - what went wrong last, for the user, or NULL; borrowed.
 * It does not name the entry: the caller knows which it was adding.
 */
const char *conv_out_error(struct conv_out *w);

/*
 * conv_out_write_error - the errno (> 0) with which writing the archive
 * to its fd failed (ENOSPC, EPIPE ...), so that the caller names the
 * output rather than the entry being read; 0 if it has not.
 */
int conv_out_write_error(const struct conv_out *w);

/* conv_out_formats, conv_out_filters - the known names, for usage text. */
const char *conv_out_formats(void);
const char *conv_out_filters(void);

/* What an archive holds, and what became of it in the tree. */
struct conv_in_stats {
	unsigned long entries;	/* headers read */
	unsigned long files, dirs, symlinks, links, nodes;	/* written */
	unsigned long dirs_made;	/* parents the archive left out */
	unsigned long long bytes;	/* file data (scan: sizes summed) */
	unsigned long long rounded;	/* scan: each file's size to 4 KiB */
	unsigned long long holes;	/* scan: of rounded, the holes of
					   sparse files */
	unsigned long long names;	/* bytes of path names (scan) */
	unsigned long losses;	/* entries not stored whole (warned) */
	/* entries whose owner, mode, mtime, sub-second mtime did not stay */
	unsigned long owners_lost, modes_lost, times_lost, subsec_lost;
};

#define CONV_IN_WRITERS	4	/* writer threads that pay, for pack */

struct conv_in_opts {
	conv_warn_fn *warn;	/* told each loss (and a removed leading /) */
	void *warn_arg;
	/*
	 * Threads that write small files while the archive is read on
	 * (converters/in_jobs.h); 0: every entry in turn, by the caller's
	 * thread.  Either way the tree and the warnings are the same.
	 */
	unsigned writers;
};

/*
 * conv_in_scan - read the archive on fd (from its start) and count what
 * it holds, for sizing an image.  Returns 0, or -EBADMSG/-EINVAL with
 * the reason in err (a damaged archive / not an archive).
 */
int conv_in_scan(int fd, struct conv_in_stats *st, char *err, size_t errlen);

/*
 * conv_in_extract - write the archive on fd (from its start) into the
 * tree at directory fid root, through c; the rules are at the top of
 * archive_to_tree.c.  Losses are told to o->warn and counted in *st.
 * Returns 0; -EBADMSG if the archive could not be read (the reason in
 * err); or -errno of the tree with "PATH: what: why" in err (-ENOSPC:
 * the tree is full).
 */
int conv_in_extract(int fd, struct p9_client *c, uint32_t root,
		    const struct conv_in_opts *o, struct conv_in_stats *st,
		    char *err, size_t errlen);

#endif
