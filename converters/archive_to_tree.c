/*
 * archive_to_tree.c - an archive (anything libarchive reads) written into
 * a 9P tree: the populate step of `qemount pack` (see conv.h).
 *
 * Entries land only below the root: names are split into components, a
 * leading "/" is dropped (with a warning, as bsdtar does), "." and empty
 * components vanish, and an entry with a ".." component is refused.  The
 * guest's server walks one component at a time without following
 * symlinks, so an entry below a symlink fails instead of being written
 * where the link points.  Parent directories an archive leaves out are
 * made (0755).  A later entry of the same name replaces an earlier one,
 * as tar extraction does, but for a directory, which stays (and then a
 * file of its name is a loss).  A hardlink's target is found the same
 * way, inside the tree, among the entries already written.  A directory's
 * mode, owner and times are set after everything is in it (creating
 * entries changes its mtime).  A stretch of the archive libarchive finds
 * damaged but can skip is a loss too (bsdtar goes on the same way).
 *
 * What the filesystem refuses for one entry (a symlink on FAT, a name too
 * long, a duplicate name on a case-insensitive fs) is a loss: reported,
 * and the run goes on.  Anything else - no space, an I/O error, the
 * connection gone - ends it.
 *
 * Small regular files are written by writer threads while the archive
 * is read on, several in flight at once (the guest's round trips are
 * slow under TCG); in_jobs.h says how the tree and the words stay those
 * of one entry at a time.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stddef.h>
#include <unistd.h>

#include "conv.h"
#include "in_jobs.h"

#define BLOCK		(64 * 1024)	/* libarchive read block, compressed */
#define SMALL		(1024 * 1024)	/* files a writer thread takes */
#define P9_WRONLY	1
#define P9_EXCL		0200
#define P9_TRUNC	01000
/*
 * Entries are made by the attached user (root) in group 0 and given
 * their owners after, by Tsetattr: a filesystem without owners (FAT)
 * refuses to make a file for anyone else, but takes it made for root.
 */
#define ROOT_GID	0

struct dirattr {		/* a directory's attributes, set at the end */
	char *path;
	struct p9_iattr a;
};

/* A path as its components, in buf; n of them.  -EINVAL if it has "..". */
static int split(const char *path, char *buf, size_t cap, const char **comp,
		 unsigned *n)
{
	char *tok, *save;

	if (strlen(path) >= cap)
		return -ENAMETOOLONG;
	strcpy(buf, path);
	*n = 0;
	for (tok = strtok_r(buf, "/", &save); tok;
	     tok = strtok_r(NULL, "/", &save)) {
		if (strcmp(tok, ".") == 0)
			continue;
		if (strcmp(tok, "..") == 0)
			return -EINVAL;
		if (*n == MAXDEPTH)
			return -ELOOP;
		comp[(*n)++] = tok;
	}
	return 0;
}

/* Is e one the filesystem refused for this entry only (a loss)? */
static int is_loss(int e)
{
	return e == -EPERM || e == -EINVAL || e == -ENAMETOOLONG ||
	       e == -EEXIST || e == -EOPNOTSUPP || e == -EILSEQ ||
	       e == -EMLINK || e == -ENOTDIR || e == -EISDIR ||
	       e == -EACCES || e == -ENOENT || e == -ERANGE || e == -EFBIG;
}

static void lose(struct job *j, const char *path, const char *what, int e)
{
	job_tell(j, path, what, e, 1);
}

/* Walk n components from fid to *out (any n); q, if not NULL, the qid of
 * the last (n > 0). */
static int walk_n(struct conv_in *ci, uint32_t fid, unsigned n,
		  const char *const *comp, uint32_t *out, struct p9_qid *q)
{
	uint32_t cur = fid, next;
	unsigned step;
	int e;

	do {
		step = n > P9_MAXWELEM ? P9_MAXWELEM : n;
		e = p9_walk(ci->c, cur, step, comp, &next, q);
		if (cur != fid)
			p9_clunk(ci->c, cur);
		if (e)
			return e;
		cur = next;
		comp += step;
		n -= step;
	} while (n);
	*out = cur;
	return 0;
}

/* A new reference to ci's cwd. */
static struct dirref *dir_get(struct conv_in *ci)
{
	pthread_mutex_lock(&ci->lock);
	ci->cwd->refs++;
	pthread_mutex_unlock(&ci->lock);
	return ci->cwd;
}

/* Make fid (taken) ci's cwd, for path. */
static int dir_set(struct conv_in *ci, uint32_t fid, const char *path)
{
	struct dirref *d = malloc(sizeof(*d));

	if (!d) {
		p9_clunk(ci->c, fid);
		return -ENOMEM;
	}
	d->fid = fid;
	d->refs = 1;
	ci->cwd = d;
	snprintf(ci->cur, sizeof(ci->cur), "%s", path);
	return 0;
}

/*
 * Make ci->cwd the directory comp[0..n) for j: walk to it (in j's turn:
 * earlier entries may make it), making what is missing on the way.
 * 0, a loss errno (a component is a file), or fatal.
 */
static int enter(struct conv_in *ci, struct job *j, const char *const *comp,
		 unsigned n)
{
	char path[sizeof(ci->cur)] = "";	/* n == 0: the root */
	size_t len = 0;
	uint32_t fid, next;
	unsigned i;
	int e;

	for (i = 0; i < n; i++)
		len += snprintf(path + len, sizeof(path) - len, "%s%s",
				i ? "/" : "", comp[i]);
	if (ci->cwd && strcmp(path, ci->cur) == 0)
		return 0;
	dir_put(ci, ci->cwd);
	ci->cwd = NULL;
	jobs_turn(ci, j);
	if (!walk_n(ci, ci->root, n, comp, &fid, NULL))
		return dir_set(ci, fid, path);
	/* something is missing: one component at a time */
	if ((e = p9_walk(ci->c, ci->root, 0, NULL, &fid, NULL)))
		return e;
	for (i = 0; i < n; i++) {
		e = p9_walk(ci->c, fid, 1, &comp[i], &next, NULL);
		if (e == -ENOENT) {
			e = p9_mkdir(ci->c, fid, comp[i], 0755, 0, NULL);
			if (!e) {
				j->d.dirs_made++;
				e = p9_walk(ci->c, fid, 1, &comp[i], &next, NULL);
			}
		}
		p9_clunk(ci->c, fid);
		if (e)
			return e;
		fid = next;
	}
	return dir_set(ci, fid, path);
}

/* The attributes of archive entry ae, for Tsetattr. */
static struct p9_iattr attrs(struct archive_entry *ae)
{
	struct p9_iattr a = {
		.valid = P9_SETATTR_MODE | P9_SETATTR_UID | P9_SETATTR_GID,
		.mode = archive_entry_perm(ae),
		.uid = (uint32_t)archive_entry_uid(ae),
		.gid = (uint32_t)archive_entry_gid(ae),
	};

	if (archive_entry_mtime_is_set(ae)) {
		a.valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET |
			   P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET;
		a.mtime_sec = a.atime_sec = archive_entry_mtime(ae);
		a.mtime_nsec = a.atime_nsec = archive_entry_mtime_nsec(ae);
	}
	if (archive_entry_atime_is_set(ae)) {
		a.atime_sec = archive_entry_atime(ae);
		a.atime_nsec = archive_entry_atime_nsec(ae);
	}
	return a;
}

/*
 * Set a on fid: owner first (chown clears set-id bits), then the mode,
 * then the times; then read them back, since some drivers take what they
 * cannot keep without an error (ntfs-3g owners, affs set-id bits).  What
 * was refused or not kept is noted per kind (told once each).
 */
static int set_attrs(struct conv_in *ci, struct job *j, uint32_t fid,
		     const char *path, const struct p9_iattr *a, int is_link)
{
	static const uint32_t steps[] = {
		P9_SETATTR_UID | P9_SETATTR_GID, P9_SETATTR_MODE,
		P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET | P9_SETATTR_ATIME |
		P9_SETATTR_ATIME_SET,
	};
	struct p9_iattr one;
	struct p9_attr got;
	int e, refused[3] = { 0 };
	size_t i;

	/* all at once (the server sets the owner first); one by one only if
	 * the filesystem refuses some, to know which */
	one = *a;
	if (is_link)
		one.valid &= ~P9_SETATTR_MODE;
	e = p9_setattr(ci->c, fid, &one);
	if (e && !is_loss(e))
		return job_fail(j, path, "setting attributes", e);
	for (i = 0; e && i < 3; i++) {
		one = *a;
		one.valid &= steps[i];
		if (!one.valid || (is_link && i == MODE))
			continue;
		refused[i] = p9_setattr(ci->c, fid, &one);
		if (refused[i] && !is_loss(refused[i]))
			return job_fail(j, path, "setting attributes",
					refused[i]);
	}
	e = p9_getattr(ci->c, fid, &got);
	if (e)
		return job_fail(j, path, "reading attributes back", e);
	if (refused[OWNER] || got.uid != a->uid || got.gid != a->gid)
		job_lost_kind(j, path, OWNER);
	if (!is_link && (refused[MODE] || (got.mode & 07777) != a->mode))
		job_lost_kind(j, path, MODE);
	if (a->valid & P9_SETATTR_MTIME) {
		if (refused[TIME] || got.mtime_sec != a->mtime_sec)
			job_lost_kind(j, path, TIME);
		else if (got.mtime_nsec != a->mtime_nsec)
			job_lost_kind(j, path, SUBSEC);
	}
	return 0;
}

/* Extended attributes of ae onto fid; a refused one is a loss. */
static int set_xattrs(struct conv_in *ci, struct job *j, uint32_t fid,
		      const char *path, struct archive_entry *ae)
{
	const char *name, *prev = "";
	const void *val;
	size_t size;
	char what[300];
	int e;

	/* pax archives can carry one xattr twice (SCHILY. and LIBARCHIVE.) */
	archive_entry_xattr_reset(ae);
	for (; archive_entry_xattr_next(ae, &name, &val, &size) == ARCHIVE_OK;
	     prev = name) {
		if (strcmp(name, prev) == 0)
			continue;
		e = p9_xattr_set(ci->c, fid, name, val, size, 0);
		if (e && !is_loss(e) && e != -ENOSPC && e != -E2BIG)
			return job_fail(j, path, "setting an xattr", e);
		if (e) {
			snprintf(what, sizeof(what), "xattr %.200s not kept",
				 name);
			lose(j, path, what, e);
		}
	}
	return 0;
}

/* j's data could not be read: -EBADMSG, "path: why". */
static int archive_failed(struct conv_in *ci, struct job *j)
{
	char msg[NAME_BUF + 512];

	snprintf(msg, sizeof(msg), "%s: %s", j->path,
		 archive_error_string(ci->ar));
	return job_fail_msg(j, -EBADMSG, msg);
}

/*
 * The next piece of j's data: what was read into it, then (inline) the
 * rest from the archive.  1, 0 at the end, or -EBADMSG (j failed).
 */
static int block_next(struct conv_in *ci, struct job *j, const void **buf,
		      size_t *len, int64_t *off)
{
	int r;

	if (j->next < j->nblocks) {
		*buf = j->data + j->blocks[j->next].at;
		*len = j->blocks[j->next].len;
		*off = j->blocks[j->next++].off;
		return 1;
	}
	if (!j->stream)
		return 0;
	r = archive_read_data_block(ci->ar, buf, len, off);
	if (r == ARCHIVE_OK)
		return 1;
	if (r == ARCHIVE_EOF)
		return 0;
	return archive_failed(ci, j);
}

/* The data of j into the opened fid, holes kept; -EFBIG is not a failure
 * of j (the caller's to tell). */
static int write_data(struct conv_in *ci, struct job *j, uint32_t fid,
		      int64_t size)
{
	const void *buf;
	size_t len, done;
	int64_t off, end = 0;
	ssize_t n;
	int r;

	while ((r = block_next(ci, j, &buf, &len, &off)) == 1) {
		for (done = 0; done < len; done += n) {
			n = p9_write(ci->c, fid, off + done,
				     (const char *)buf + done, len - done);
			if (n == -EFBIG)
				return n;
			if (n < 0)
				return job_fail(j, j->path, "writing", n);
			if (n == 0)
				return job_fail(j, j->path, "writing", -EIO);
		}
		end = off + len;
		j->d.bytes += len;
	}
	if (r < 0)
		return r;
	if (end < size) {	/* a hole at the end of a sparse file */
		struct p9_iattr a = { .valid = P9_SETATTR_SIZE, .size = size };
		int e = p9_setattr(ci->c, fid, &a);

		if (e == -EFBIG)
			return e;
		if (e)
			return job_fail(j, j->path, "setting the size", e);
	}
	return 0;
}

/*
 * Remove name from dir if it is still the file made as q.  A file no
 * filesystem takes is one over its largest size, so a big one, made in
 * its turn while nothing else makes names; should a small one be, a
 * name an entry after it made meanwhile is left alone.
 */
static void unlink_made(struct conv_in *ci, uint32_t dir, const char *name,
			const struct p9_qid *q)
{
	struct p9_qid now;
	uint32_t fid;

	if (p9_walk(ci->c, dir, 1, &name, &fid, &now))
		return;
	p9_clunk(ci->c, fid);
	if (now.path == q->path)
		p9_unlinkat(ci->c, dir, name, 0);
}

/*
 * A regular file: create (or replace), fill, set attributes.  Run by a
 * writer thread, or inline.  The name is made in j's turn, exclusively:
 * a name taken already (an earlier entry's, as this filesystem spells
 * names) is replaced, as tar does, once every earlier entry is done.
 */
int put_file(struct conv_in *ci, struct job *j)
{
	struct p9_iattr a = attrs(j->ae);
	uint32_t dir = j->dir->fid, fid;
	struct p9_qid q;
	int e;

	if ((e = p9_walk(ci->c, dir, 0, NULL, &fid, NULL)))
		return job_fail(j, j->path, "walking", e);
	jobs_turn(ci, j);
	e = p9_lcreate(ci->c, fid, j->name, P9_WRONLY | P9_TRUNC | P9_EXCL,
		       a.mode, ROOT_GID, &q);
	if (e == -EEXIST) {
		jobs_before(ci, j);
		e = p9_lcreate(ci->c, fid, j->name, P9_WRONLY | P9_TRUNC,
			       a.mode, ROOT_GID, &q);
	}
	if (e == -ELOOP || e == -EINVAL) {
		/* a symlink or a special file of that name (the server opens
		 * neither): it goes, as tar replaces it */
		p9_unlinkat(ci->c, dir, j->name, 0);
		e = p9_lcreate(ci->c, fid, j->name, P9_WRONLY | P9_TRUNC,
			       a.mode, ROOT_GID, &q);
	}
	jobs_pass(ci, j);
	if (e && is_loss(e)) {
		lose(j, j->path, "not stored", e);
		p9_clunk(ci->c, fid);
		return 0;
	}
	if (e)
		e = job_fail(j, j->path, "creating", e);
	if (!e)
		e = write_data(ci, j, fid, archive_entry_size(j->ae));
	if (e == -EFBIG) {	/* bigger than a file of this fs can be */
		lose(j, j->path, "not stored", e);
		p9_clunk(ci->c, fid);
		unlink_made(ci, dir, j->name, &q);
		return 0;
	}
	if (!e)
		e = set_attrs(ci, j, fid, j->path, &a, 0);
	if (!e)
		e = set_xattrs(ci, j, fid, j->path, j->ae);
	p9_clunk(ci->c, fid);
	j->d.files++;
	return e;
}

/*
 * Read the current entry's data (size bytes said) into j, for a writer
 * thread.  If more comes than was said, j goes inline (j->stream) with
 * what it has.  0, or -1: stop reading the archive (an earlier entry
 * failed).
 */
static int buffer(struct conv_in *ci, struct job *j, size_t size)
{
	const void *buf;
	size_t len, cap;
	int64_t off;
	int r;

	if (jobs_reserve(ci, j, size))
		return -1;
	if (size && !(j->data = malloc(size)))
		return job_fail_msg(j, -ENOMEM, "out of memory"), 0;
	while ((r = archive_read_data_block(ci->ar, &buf, &len, &off)) ==
	       ARCHIVE_OK) {
		struct block *b = j->nblocks ? &j->blocks[j->nblocks - 1] :
				  NULL;

		if (len > j->cap - j->len) {	/* keep it; read on inline */
			uint8_t *nd = realloc(j->data, j->len + len);

			if (!nd)
				return job_fail_msg(j, -ENOMEM,
						    "out of memory"), 0;
			j->data = nd;
			ci->buffered += j->len + len - j->cap;
			j->cap = j->len + len;
			j->stream = 1;
		}
		if (b && b->off + (int64_t)b->len == off) {
			b->len += len;	/* one write for adjacent pieces */
		} else {
			if (j->nblocks == j->capblocks) {
				cap = j->capblocks ? 2 * j->capblocks : 4;
				b = realloc(j->blocks, cap * sizeof(*b));
				if (!b)
					return job_fail_msg(j, -ENOMEM,
						"out of memory"), 0;
				j->blocks = b;
				j->capblocks = cap;
			}
			j->blocks[j->nblocks++] = (struct block){ off, len,
								  j->len };
		}
		memcpy(j->data + j->len, buf, len);
		j->len += len;
		if (j->stream)
			return 0;
	}
	if (r != ARCHIVE_EOF)
		archive_failed(ci, j);
	return 0;
}

/*
 * A symlink's target as stored: some drivers rewrite it (affs turns
 * "../" into Amiga's "/"), and that must not go untold.
 */
static int check_link(struct conv_in *ci, struct job *j, uint32_t fid,
		      const char *path, const char *want)
{
	char got[4096], what[4200];
	int e = p9_readlink(ci->c, fid, got, sizeof(got));

	if (e)
		return job_fail(j, path, "reading the symlink back", e);
	if (want && strcmp(got, want) != 0) {
		snprintf(what, sizeof(what), "symlink target stored as \"%s\"",
			 got);
		lose(j, path, what, 0);
	}
	return 0;
}

/* Remember a directory's attributes for dirs_finish. */
static int note_dir(struct conv_in *ci, struct job *j, const char *path,
		    struct archive_entry *ae)
{
	if (ci->ndirs == ci->capdirs) {
		size_t cap = ci->capdirs ? ci->capdirs * 2 : 64;
		struct dirattr *d = realloc(ci->dirs, cap * sizeof(*d));

		if (!d)
			return job_fail_msg(j, -ENOMEM, "out of memory");
		ci->dirs = d;
		ci->capdirs = cap;
	}
	ci->dirs[ci->ndirs].path = strdup(path);
	if (!ci->dirs[ci->ndirs].path)
		return job_fail_msg(j, -ENOMEM, "out of memory");
	ci->dirs[ci->ndirs++].a = attrs(ae);
	return 0;
}

/*
 * A hardlink to target, an entry already written (its name is taken as
 * the entry names are), once every entry before it is done.  If name is
 * that file already (an entry linked to itself, or named twice) there
 * is nothing to do: unlinking it first would lose it.
 */
static int put_link(struct conv_in *ci, struct job *j, const char *name,
		    const char *path, const char *target)
{
	const char *comp[MAXDEPTH];
	struct p9_qid tq, q;
	char buf[NAME_BUF], what[600];
	uint32_t cwd = ci->cwd->fid, fid, old;
	unsigned n;
	int e;

	jobs_before(ci, j);
	e = split(target, buf, sizeof(buf), comp, &n);
	if (e == -EINVAL) {
		snprintf(what, sizeof(what), "hardlink to \"%.500s\": a \"..\" "
			 "component would leave the image: skipped", target);
		lose(j, path, what, 0);
		return 0;
	}
	if (!e && n == 0)
		e = -EINVAL;	/* to the root */
	if (!e)
		e = walk_n(ci, ci->root, n, comp, &fid, &tq);
	if (e && (is_loss(e) || e == -ELOOP)) {
		lose(j, path, "hardlink not stored", e);
		return 0;
	}
	if (e)
		return job_fail(j, path, "walking to the link target", e);
	if (!p9_walk(ci->c, cwd, 1, &name, &old, &q)) {
		p9_clunk(ci->c, old);
		if (q.path == tq.path) {
			p9_clunk(ci->c, fid);
			j->d.links++;
			return 0;
		}
		p9_unlinkat(ci->c, cwd, name, 0);
	}
	e = p9_link(ci->c, cwd, fid, name);
	p9_clunk(ci->c, fid);
	if (e && is_loss(e))
		lose(j, path, "hardlink not stored", e), e = 0;
	else if (e)
		return job_fail(j, path, "linking", e);
	j->d.links++;
	return 0;
}

/* Is name in directory fid dir a directory? */
static int is_dir(struct conv_in *ci, uint32_t dir, const char *name)
{
	struct p9_qid q;
	uint32_t fid;

	if (p9_walk(ci->c, dir, 1, &name, &fid, &q))
		return 0;
	p9_clunk(ci->c, fid);
	return (q.type & P9_QTDIR) != 0;
}

/* A non-regular entry: directory, symlink, device, fifo (inline). */
static int put_other(struct conv_in *ci, struct job *j, const char *name,
		     const char *path, struct archive_entry *ae)
{
	mode_t type = archive_entry_filetype(ae);
	struct p9_iattr a = attrs(ae);
	uint32_t cwd = ci->cwd->fid, fid;
	int e, made = 0;

	switch (type) {
	case AE_IFDIR:
		e = p9_mkdir(ci->c, cwd, name, a.mode, ROOT_GID, NULL);
		if (e == -EEXIST && is_dir(ci, cwd, name))
			e = 0;	/* named twice, or made as a parent */
		made = !e;
		if (!e && note_dir(ci, j, path, ae))
			return j->err;
		j->d.dirs++;
		break;
	case AE_IFLNK:
		p9_unlinkat(ci->c, cwd, name, 0);
		e = p9_symlink(ci->c, cwd, name, archive_entry_symlink(ae)
			       ? archive_entry_symlink(ae) : "", ROOT_GID, NULL);
		made = !e;
		j->d.symlinks++;
		break;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
	case AE_IFSOCK:
		p9_unlinkat(ci->c, cwd, name, 0);
		e = p9_mknod(ci->c, cwd, name, type | a.mode,
			     archive_entry_rdevmajor(ae),
			     archive_entry_rdevminor(ae), ROOT_GID, NULL);
		made = !e;
		j->d.nodes++;
		break;
	default:
		lose(j, path, "unknown entry type: skipped", 0);
		return 0;
	}
	if (e && is_loss(e)) {
		lose(j, path, type == AE_IFDIR ? "directory not stored" :
		     type == AE_IFLNK ? "symlink not stored" :
		     "special file not stored", e);
		return 0;
	}
	if (e)
		return job_fail(j, path, "creating", e);
	if (!made || type == AE_IFDIR)
		return 0;
	if ((e = p9_walk(ci->c, cwd, 1, &name, &fid, NULL)))
		return job_fail(j, path, "walking", e);
	e = set_attrs(ci, j, fid, path, &a, type == AE_IFLNK);
	if (!e && type != AE_IFLNK)
		e = set_xattrs(ci, j, fid, path, ae);
	if (!e && type == AE_IFLNK)
		e = check_link(ci, j, fid, path, archive_entry_symlink(ae));
	p9_clunk(ci->c, fid);
	return e;
}

/*
 * One archive entry, from its name to its attributes: queued for a
 * writer thread (a small regular file), or done here.  0, or -1: read
 * no further.
 */
static int put(struct conv_in *ci, struct job *j, struct archive_entry *ae)
{
	const char *path = archive_entry_pathname(ae);
	const char *hard = archive_entry_hardlink(ae);
	const char *comp[MAXDEPTH];
	int file = !hard && archive_entry_filetype(ae) == AE_IFREG;
	int queue = file && ci->nthreads && archive_entry_size_is_set(ae) &&
		    archive_entry_size(ae) <= SMALL;
	unsigned n;
	int e;

	if (!path)
		path = "";
	j->path = path;
	e = split(path, j->comps, sizeof(j->comps), comp, &n);
	if (e) {
		lose(j, path, e == -EINVAL ? "a \"..\" component would leave "
		     "the image: skipped" : "name too long or too deep: skipped",
		     0);
		goto done;
	}
	if (n == 0) {		/* the root itself: its attributes, at the end */
		if (archive_entry_filetype(ae) == AE_IFDIR && !hard)
			note_dir(ci, j, "", ae);
		else
			lose(j, path[0] ? path : "\"\"", "no name: skipped", 0);
		goto done;
	}
	if (path[0] == '/')
		job_tell(j, path, "leading \"/\" removed", 0, 0);
	if (file) {		/* a writer thread may outlive ae */
		j->ae = archive_entry_clone(ae);
		if (!j->ae) {
			job_fail_msg(j, -ENOMEM, "out of memory");
			goto done;
		}
		j->path = path = archive_entry_pathname(j->ae);
	}
	if (queue && buffer(ci, j, archive_entry_size(ae))) {
		jobs_done(ci, j);
		return -1;
	}
	if (j->err)
		goto done;
	if (!queue || j->stream)
		jobs_turn(ci, j);	/* done here: in its turn */
	e = enter(ci, j, comp, n - 1);
	if (e && (is_loss(e) || e == -ELOOP)) {
		lose(j, path, "its directory could not be made", e);
		goto done;
	}
	if (e) {
		job_fail(j, path, "making its directory", e);
		goto done;
	}
	j->name = comp[n - 1];
	j->dir = dir_get(ci);
	if (queue && !j->stream) {
		jobs_queue(ci, j);
		return 0;
	}
	if (hard) {
		put_link(ci, j, j->name, path, hard);
	} else if (file) {
		j->stream = 1;
		put_file(ci, j);
	} else {
		put_other(ci, j, j->name, path, ae);
	}
done:
	jobs_done(ci, j);
	return 0;
}

/* Directory attributes, children before parents (deepest path first). */
static int by_depth(const void *a, const void *b)
{
	const struct dirattr *x = a, *y = b;
	size_t dx = 0, dy = 0;
	const char *p;

	for (p = x->path; *p; p++)
		dx += *p == '/';
	for (p = y->path; *p; p++)
		dy += *p == '/';
	if (dx != dy)
		return dx > dy ? -1 : 1;
	return strcmp(y->path, x->path);
}

/* The directories' attributes, once every entry is in (j: the last). */
static void dirs_finish(struct conv_in *ci, struct job *j)
{
	const char *comp[MAXDEPTH];
	char buf[NAME_BUF];
	uint32_t fid;
	unsigned n;
	size_t i;
	int e = 0;

	jobs_before(ci, j);
	dir_put(ci, ci->cwd);
	ci->cwd = NULL;
	qsort(ci->dirs, ci->ndirs, sizeof(*ci->dirs), by_depth);
	for (i = 0; i < ci->ndirs && !e; i++) {
		if (split(ci->dirs[i].path, buf, sizeof(buf), comp, &n))
			continue;
		if (n == 0)
			e = p9_walk(ci->c, ci->root, 0, NULL, &fid, NULL);
		else
			e = walk_n(ci, ci->root, n, comp, &fid, NULL);
		if (e && is_loss(e)) {	/* replaced by a later entry */
			e = 0;
			continue;
		}
		if (e) {
			job_fail(j, ci->dirs[i].path, "walking", e);
			return;
		}
		e = set_attrs(ci, j, fid, ci->dirs[i].path[0] ?
			      ci->dirs[i].path : ".", &ci->dirs[i].a, 0);
		p9_clunk(ci->c, fid);
	}
}

/* A reader for every format and filter libarchive has, on fd. */
static struct archive *reader(int fd, char *err, size_t errlen)
{
	struct archive *ar = archive_read_new();

	if (!ar) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	archive_read_support_format_all(ar);
	archive_read_support_filter_all(ar);
	if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE) {
		snprintf(err, errlen, "cannot rewind: %s", strerror(errno));
		archive_read_free(ar);
		return NULL;
	}
	if (archive_read_open_fd(ar, fd, BLOCK) != ARCHIVE_OK) {
		snprintf(err, errlen, "%s", archive_error_string(ar));
		archive_read_free(ar);
		return NULL;
	}
	return ar;
}

#define DAMAGED	2

/*
 * The next header: 1; 0 at the end; DAMAGED if libarchive skipped a
 * damaged stretch (ask again; the reason in err); -EBADMSG with the
 * reason in err if it cannot go on.
 */
static int next(struct archive *ar, struct archive_entry **ae, char *err,
		size_t errlen)
{
	int r = archive_read_next_header(ar, ae);

	if (r == ARCHIVE_EOF)
		return 0;
	if (r == ARCHIVE_OK || r == ARCHIVE_WARN)
		return 1;
	snprintf(err, errlen, "%s", archive_error_string(ar) ?
		 archive_error_string(ar) : "cannot read an entry");
	return r == ARCHIVE_RETRY ? DAMAGED : -EBADMSG;
}

#define ROUND(n)	(((n) + 4095) & ~4095ULL)

/* Count file entry ae's data into st: its size, and what of it is holes
 * (a sparse entry lists where its data lies). */
static void count_data(struct archive_entry *ae, struct conv_in_stats *st)
{
	uint64_t size = archive_entry_size(ae), data = 0;
	la_int64_t off, len;

	st->bytes += size;
	st->rounded += ROUND(size);
	if (archive_entry_sparse_reset(ae) == 0)
		return;
	while (archive_entry_sparse_next(ae, &off, &len) == ARCHIVE_OK)
		data += ROUND((uint64_t)(off & 4095) + len);
	if (data < ROUND(size))
		st->holes += ROUND(size) - data;
}

int conv_in_scan(int fd, struct conv_in_stats *st, char *err, size_t errlen)
{
	struct archive *ar = reader(fd, err, errlen);
	struct archive_entry *ae;
	size_t len;
	int r;

	if (!ar)
		return -EBADMSG;
	memset(st, 0, sizeof(*st));
	while ((r = next(ar, &ae, err, errlen)) > 0) {
		const char *p;

		if (r == DAMAGED)
			continue;	/* told when extracting */
		p = archive_entry_pathname(ae);
		st->entries++;
		if (archive_entry_filetype(ae) == AE_IFREG &&
		    !archive_entry_hardlink(ae) && archive_entry_size(ae) > 0)
			count_data(ae, st);
		len = p ? strlen(p) : 0;
		st->names += len;
	}
	if (r == 0 && archive_format(ar) == 0 && st->entries == 0) {
		snprintf(err, errlen, "not an archive libarchive reads");
		r = -EINVAL;
	}
	archive_read_free(ar);
	return r;
}

int conv_in_extract(int fd, struct p9_client *c, uint32_t root,
		    const struct conv_in_opts *o, struct conv_in_stats *st,
		    char *err, size_t errlen)
{
	struct conv_in ci = {
		.o = o, .c = c, .root = root, .st = st, .err = err,
		.errlen = errlen,
	};
	struct archive_entry *ae;
	char msg[1024], what[1200];
	struct job *j;
	size_t i;
	int r, e, damaged = 0;

	memset(st, 0, sizeof(*st));
	ci.ar = reader(fd, err, errlen);
	if (!ci.ar)
		return -EBADMSG;
	if (jobs_start(&ci, o->writers)) {
		archive_read_free(ci.ar);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (!(e = jobs_new(&ci, &j))) {
		while ((r = next(ci.ar, &ae, msg, sizeof(msg))) == DAMAGED) {
			/* one warning for a damaged stretch, on the entry
			 * after it */
			snprintf(what, sizeof(what), "what follows it is "
				 "damaged (%s): skipped to the next header", msg);
			if (!damaged++)
				lose(j, ci.last[0] ? ci.last : "(the start)",
				     what, 0);
		}
		if (r == 1) {
			damaged = 0;
			st->entries++;
			snprintf(ci.last, sizeof(ci.last), "%s",
				 archive_entry_pathname(ae) ?
				 archive_entry_pathname(ae) : "\"\"");
			if (put(&ci, j, ae))
				break;
			continue;
		}
		if (r < 0)
			job_fail_msg(j, r, msg);
		else
			dirs_finish(&ci, j);
		jobs_done(&ci, j);
		break;
	}
	dir_put(&ci, ci.cwd);
	r = jobs_stop(&ci);
	if (!r && e == -ENOMEM) {
		snprintf(err, errlen, "out of memory");
		r = e;
	}
	for (i = 0; i < ci.ndirs; i++)
		free(ci.dirs[i].path);
	free(ci.dirs);
	archive_read_free(ci.ar);
	return r;
}
