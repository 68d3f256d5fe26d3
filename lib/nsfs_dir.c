/*
 * nsfs_dir.c - directories of nsfs: opendir reads the whole directory
 * over 9P (walk_readdir: its own fid, Treaddir until it is empty, within
 * walk.h's limits) into a snapshot, and readdir serves it by index, so
 * FUSE offsets are small numbers that never depend on the guest's
 * cookies; "." and ".." are entries 0 and 1.
 * A rewind (offset 0 after a read) reads the directory again.  An entry
 * that is a mountpoint shows the mounted root's inode number.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nsfs_int.h"
#include "walk.h"

struct dent {
	uint64_t ino;
	uint8_t type;		/* DT_* */
	size_t name;		/* offset in names */
};

struct dir {
	struct dent *v;
	size_t n, cap;
	char *names;
	size_t len, ncap;
	int served;		/* a readdir has been answered */
};

struct loader {
	struct dir *d;
	struct node *p;
};

static int add(struct dir *d, const char *name, size_t len, uint64_t ino,
	       uint8_t type)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct dent *nv = realloc(d->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		d->v = nv;
		d->cap = cap;
	}
	if (d->len + len + 1 > d->ncap) {
		size_t cap = d->ncap ? d->ncap * 2 : 4096;
		char *nn;

		while (cap < d->len + len + 1)
			cap *= 2;
		if (!(nn = realloc(d->names, cap)))
			return -ENOMEM;
		d->names = nn;
		d->ncap = cap;
	}
	memcpy(d->names + d->len, name, len);
	d->names[d->len + len] = '\0';
	d->v[d->n].ino = ino;
	d->v[d->n].type = type;
	d->v[d->n].name = d->len;
	d->len += len + 1;
	d->n++;
	return 0;
}

static int add_9p(void *arg, const struct p9_dirent *e)
{
	struct loader *l = arg;
	struct node *p = l->p;
	struct ns_node *t;
	char name[256];

	memcpy(name, e->name.s, e->name.len);	/* checked: <= 255 bytes */
	name[e->name.len] = '\0';
	t = p->tn ? ns_child(p->tn, name) : NULL;
	if (t && ns_node_mount(t))
		return add(l->d, name, e->name.len, 0, DT_DIR);
	return add(l->d, name, e->name.len,
		   e->qid.path ^ ((uint64_t)p->mt->idx << 48), e->type);
}

/* mountpoints: the mounted root's inode number (left 0 by add_9p) */
static void mounted_inos(struct nsfs *fs, struct node *p, struct dir *d)
{
	struct ns_node *t;
	size_t i, k;

	for (i = 2; p->tn && i < d->n; i++) {
		if (d->v[i].ino)
			continue;
		t = ns_child(p->tn, d->names + d->v[i].name);
		for (k = 0; t && k < fs->nmnt; k++)
			if (fs->mnts[k].m == ns_node_mount(t))
				d->v[i].ino = fs->mnts[k].root->qpath ^
					      ((uint64_t)k << 48);
	}
}

static void dir_free(struct dir *d)
{
	if (!d)
		return;
	free(d->v);
	free(d->names);
	free(d);
}

static int load(struct nsfs *fs, struct node *p, struct dir *d)
{
	struct loader l = { d, p };
	uint64_t self = p->qpath ^ ((uint64_t)p->mt->idx << 48);
	int r;

	d->n = d->len = 0;
	if ((r = add(d, ".", 1, self, DT_DIR)) || (r = add(d, "..", 2, self,
							    DT_DIR)))
		return r;
	r = walk_readdir(p->mt->src->c, p->fid, WALK_DIR_NAMES, add_9p, &l);
	mounted_inos(fs, p, d);
	return r;
}

void nsfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct nsfs *fs = nsfs_of(req);
	struct node *p = nsfs_node(fs, ino);
	struct dir *d = calloc(1, sizeof(*d));
	int r = d ? load(fs, p, d) : -ENOMEM;

	if (r) {
		dir_free(d);
		fuse_reply_err(req, nsfs_errno(p->mt, r));
		return;
	}
	fi->fh = (uintptr_t)d;
	fi->cache_readdir = fi->keep_cache = !fs->writable;
	if (fuse_reply_open(req, fi) == -ENOENT)
		dir_free(d);
}

/* offset 0 again after a read: a rewind, read the directory anew */
static int rewind_check(fuse_req_t req, fuse_ino_t ino, struct dir *d,
			off_t off)
{
	struct nsfs *fs = nsfs_of(req);
	struct node *p = nsfs_node(fs, ino);
	int r = 0;

	if (off == 0 && d->served)
		r = load(fs, p, d);
	d->served = 1;
	return r ? nsfs_errno(p->mt, r) : 0;
}

static void readdir_any(fuse_req_t req, fuse_ino_t ino, size_t size,
			off_t off, struct fuse_file_info *fi, int plus)
{
	struct nsfs *fs = nsfs_of(req);
	struct node *p = nsfs_node(fs, ino);
	struct dir *d = (struct dir *)(uintptr_t)fi->fh;
	struct fuse_entry_param e;
	char *buf = malloc(size ? size : 1);
	size_t pos = 0, k, i;
	const char *name;
	int r = buf ? rewind_check(req, ino, d, off) : ENOMEM;

	for (i = off; !r && i < d->n; i++) {
		name = d->names + d->v[i].name;
		memset(&e, 0, sizeof(e));
		e.attr.st_ino = d->v[i].ino;
		e.attr.st_mode = (mode_t)d->v[i].type << 12;
		if (!plus) {
			k = fuse_add_direntry(req, buf + pos, size - pos, name,
					      &e.attr, i + 1);
			if (k > size - pos)
				break;
			pos += k;
			continue;
		}
		if (fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0) >
		    size - pos)
			break;
		/* "." and "..": no lookup, the kernel takes no reference */
		if (i >= 2 && nsfs_lookup(fs, p, name, (uid_t)-1, &e))
			continue;	/* gone meanwhile */
		pos += fuse_add_direntry_plus(req, buf + pos, size - pos, name,
					      &e, i + 1);
	}
	if (r)
		fuse_reply_err(req, r);
	else
		fuse_reply_buf(req, buf, pos);
	free(buf);
}

void nsfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		  struct fuse_file_info *fi)
{
	readdir_any(req, ino, size, off, fi, 0);
}

void nsfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	readdir_any(req, ino, size, off, fi, 1);
}

void nsfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	dir_free((struct dir *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

void nsfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
		   struct fuse_file_info *fi)
{
	struct node *p = nsfs_node(nsfs_of(req), ino);

	(void)fi;
	fuse_reply_err(req, nsfs_errno(p->mt, p9_fsync(p->mt->src->c, p->fid,
						       datasync)));
}
