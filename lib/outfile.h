/*
 * outfile.h - an output that appears whole or not at all.
 *
 * A file is written unnamed (O_TMPFILE) in its destination's directory
 * and given its name only by outfile_commit, so a failed or killed run
 * leaves nothing, and an existing file stays as it was.  Where the
 * filesystem has no O_TMPFILE, a hidden temp name is used and removed on
 * failure and on the signals outfile_cleanup_on_signal is called from.
 */
#ifndef QEMOUNT_OUTFILE_H
#define QEMOUNT_OUTFILE_H

#include <stddef.h>

struct outfile;

/*
 * outfile_open - start output to path; "-" is standard output, refused
 * if it is a terminal (a regular file there is written from where it
 * stands).  Returns 0 and sets *out, or -errno with a reason in err.
 */
int outfile_open(const char *path, struct outfile **out, char *err,
		 size_t errlen);

/* outfile_fd - where to write. */
int outfile_fd(const struct outfile *o);

/*
 * outfile_commit - give the finished file its name (replacing any old
 * one) and free o.  Returns 0 or -errno with a reason in err.
 */
int outfile_commit(struct outfile *o, char *err, size_t errlen);

/*
 * outfile_discard - drop the output: nothing is left at path, and
 * standard output, if a regular file, is cut back to where this output
 * began (what a failed run wrote there would read as a whole archive
 * cut short).  Frees o; NULL allowed.
 */
void outfile_discard(struct outfile *o);

/*
 * outfile_scratch - an unnamed read-write temp file in $TMPDIR (default
 * /var/tmp: images are big), gone when closed; *dir (if dir is not
 * NULL) is set to that folder, for messages.  Returns the fd, or -errno
 * with a reason (naming the folder) in err.
 */
int outfile_scratch(const char **dir, char *err, size_t errlen);

/* outfile_cleanup_on_signal - async-signal-safe removal of a temp name. */
void outfile_cleanup_on_signal(void);

#endif
