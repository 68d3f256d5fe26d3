/*
 * nsfs.c - nodes, lookups across mountpoints, and the FUSE session of a
 * mount table served over 9P (see nsfs.h; the operations are in
 * nsfs_ops.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nsfs_int.h"
#include "walk.h"

#define WATCH_MS	100	/* how often the guests' links are looked at */

struct nsfs *nsfs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

struct node *nsfs_node(struct nsfs *fs, fuse_ino_t ino)
{
	return ino == FUSE_ROOT_ID ? fs->mnts[0].root :
	       (struct node *)(uintptr_t)ino;
}

fuse_ino_t nsfs_ino(struct node *n)
{
	return n == n->mt->root && n->mt->idx == 0 ? FUSE_ROOT_ID :
	       (fuse_ino_t)(uintptr_t)n;
}

int nsfs_errno(struct mnt *mt, int e)
{
	if (p9_client_error(mt->src->c))
		return EIO;
	return e < 0 ? -e : e;
}

static void to_stat(const struct p9_attr *a, unsigned idx, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = a->qid.path ^ ((uint64_t)idx << 48);
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = a->size;
	st->st_blksize = a->blksize;
	st->st_blocks = a->blocks;
	st->st_atim.tv_sec = a->atime_sec;
	st->st_atim.tv_nsec = a->atime_nsec;
	st->st_mtim.tv_sec = a->mtime_sec;
	st->st_mtim.tv_nsec = a->mtime_nsec;
	st->st_ctim.tv_sec = a->ctime_sec;
	st->st_ctim.tv_nsec = a->ctime_nsec;
}

int nsfs_getattr(struct nsfs *fs, struct node *n, struct stat *st)
{
	struct mnt *mt = n->mt;
	struct p9_attr a, c;
	int e;

	(void)fs;
	e = p9_getattr(mt->src->c, n->fid, &a);
	if (e)
		return nsfs_errno(mt, e);
	if (n == mt->root && mt->cover_src) {
		e = p9_getattr(mt->cover_src->c, mt->cover_fid, &c);
		if (e)
			return nsfs_errno(mt, e);
		a.mode = (a.mode & S_IFMT) | (c.mode & 07777);
		a.uid = c.uid;
		a.gid = c.gid;
	}
	to_stat(&a, mt->idx, st);
	return 0;
}

static size_t bucket(const struct mnt *mt, uint64_t qpath)
{
	uint64_t h = (qpath ^ ((uint64_t)mt->idx << 48)) * 0x9E3779B97F4A7C15ULL;

	return h >> 52 & (NODE_BUCKETS - 1);
}

/*
 * The node for (mt, qpath) with one more lookup reference: an existing
 * one (fid is clunked, the node has its own) or a new one that takes
 * fid.  Its depth is the least it was found at.  NULL: no memory (fid
 * is clunked).
 */
static struct node *node_get(struct nsfs *fs, struct mnt *mt, uint64_t qpath,
			     uint32_t fid, struct ns_node *tn, unsigned depth)
{
	size_t b = bucket(mt, qpath);
	struct node *n;

	pthread_mutex_lock(&fs->lock);
	for (n = fs->buckets[b]; n; n = n->next)
		if (n->mt == mt && n->qpath == qpath)
			break;
	if (!n && (n = calloc(1, sizeof(*n)))) {
		n->mt = mt;
		n->qpath = qpath;
		n->fid = fid;
		n->depth = depth;
		n->next = fs->buckets[b];
		fs->buckets[b] = n;
		fid = P9_NOFID;
	}
	if (n) {
		n->nlookup++;
		if (tn)
			n->tn = tn;
		if (depth < n->depth)
			n->depth = depth;
	}
	pthread_mutex_unlock(&fs->lock);
	if (fid != P9_NOFID)
		p9_clunk(mt->src->c, fid);
	return n;
}

void nsfs_forget(struct nsfs *fs, fuse_ino_t ino, uint64_t k)
{
	struct node *n = nsfs_node(fs, ino), **pp;

	pthread_mutex_lock(&fs->lock);
	n->nlookup = n->nlookup > k ? n->nlookup - k : 0;
	if (n->nlookup || n == n->mt->root) {
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	for (pp = &fs->buckets[bucket(n->mt, n->qpath)]; *pp != n;
	     pp = &(*pp)->next)
		;
	*pp = n->next;
	pthread_mutex_unlock(&fs->lock);
	p9_clunk(n->mt->src->c, n->fid);
	free(n);
}

static void entry_of(struct nsfs *fs, struct node *n, const struct stat *st,
		     struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = nsfs_ino(n);
	e->attr = *st;
	e->attr_timeout = fs->attr_tmo;
	e->entry_timeout = fs->entry_tmo;
}

static struct mnt *mnt_of(struct nsfs *fs, const struct ns_mount *m)
{
	size_t i;

	for (i = 0; i < fs->nmnt; i++)
		if (fs->mnts[i].m == m)
			return &fs->mnts[i];
	return NULL;
}

int nsfs_is_mountpoint(struct node *p, const char *name)
{
	struct ns_node *t = p->tn ? ns_child(p->tn, name) : NULL;

	return t && ns_node_mount(t);
}

/* lookup of a mountpoint: the mounted root, one more reference */
static int cross(struct nsfs *fs, struct ns_node *t,
		 struct fuse_entry_param *e)
{
	struct mnt *mt = mnt_of(fs, ns_node_mount(t));
	struct stat st;
	int r;

	if (!mt)
		return EIO;
	r = nsfs_getattr(fs, mt->root, &st);
	if (r)
		return r;
	pthread_mutex_lock(&fs->lock);
	mt->root->nlookup++;
	pthread_mutex_unlock(&fs->lock);
	entry_of(fs, mt->root, &st, e);
	return 0;
}

int nsfs_lookup(struct nsfs *fs, struct node *p, const char *name,
		uid_t owner, struct fuse_entry_param *e)
{
	struct ns_node *t = p->tn ? ns_child(p->tn, name) : NULL;
	struct p9_client *c = p->mt->src->c;
	struct p9_iattr ia = { .valid = P9_SETATTR_UID, .uid = owner };
	struct p9_attr a;
	struct stat st;
	struct node *n;
	uint32_t fid;
	int r;

	if (t && ns_node_mount(t))
		return cross(fs, t, e);
	/* a guest can make every directory hold a new one: find would go
	 * down for ever */
	if (p->depth + 1 >= WALK_DEPTH_MAX)
		return ENAMETOOLONG;
	r = p9_walk(c, p->fid, 1, &name, &fid, NULL);
	if (r)
		return nsfs_errno(p->mt, r);
	if (owner != (uid_t)-1 && owner != 0)
		r = p9_setattr(c, fid, &ia);
	if (!r)
		r = p9_getattr(c, fid, &a);
	if (r) {
		p9_clunk(c, fid);
		return nsfs_errno(p->mt, r);
	}
	n = node_get(fs, p->mt, a.qid.path, fid, t, p->depth + 1);
	if (!n)
		return ENOMEM;
	to_stat(&a, p->mt->idx, &st);
	entry_of(fs, n, &st, e);
	return 0;
}

/* ---- setting up: roots, mountpoints, the FUSE session ---- */

static int mnt_init(struct nsfs *fs, size_t i)
{
	struct mnt *mt = &fs->mnts[i];
	struct p9_attr a;
	uint32_t fid;
	int e;

	mt->m = ns_mount_at(fs->ns, i);
	mt->src = mt->m->data;
	mt->idx = i;
	mt->cover_fid = P9_NOFID;
	e = p9_walk(mt->src->c, mt->src->root, 0, NULL, &fid, NULL);
	if (e)
		return e;
	e = p9_getattr(mt->src->c, fid, &a);
	if (e || !(mt->root = node_get(fs, mt, a.qid.path, fid, mt->m->node,
				       0))) {
		if (!e)
			return -ENOMEM;
		p9_clunk(mt->src->c, fid);
		return e;
	}
	return 0;
}

/* ns_check's question: is rest a directory in below?  Keeps its fid. */
static int cover(void *arg, struct ns_mount *m, struct ns_mount *below,
		 const char *rest)
{
	struct nsfs *fs = arg;
	struct mnt *mt = mnt_of(fs, m), *bt = mnt_of(fs, below);
	struct p9_attr a;
	uint32_t fid;
	int e;

	e = walk_path(bt->src->c, bt->src->root, rest, &fid);
	if (e)
		return e;
	e = p9_getattr(bt->src->c, fid, &a);
	if (!e && !S_ISDIR(a.mode))
		e = -ENOTDIR;
	if (e) {
		p9_clunk(bt->src->c, fid);
		return e;
	}
	mt->cover_src = bt->src;
	mt->cover_fid = fid;
	return 0;
}

/* "-o" value for libfuse: a name with ',' or '\' escaped */
static void escape(char *out, size_t cap, const char *s)
{
	size_t n = 0;

	for (; *s && n + 3 < cap; s++) {
		if (*s == ',' || *s == '\\')
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = '\0';
}

static int session(struct nsfs *fs, const struct nsfs_config *cfg,
		   char *err, size_t errlen)
{
	char opts[4096], name[1024];
	char *argv[] = { "qemount", "-o", opts, cfg->debug ? "-d" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(cfg->debug ? 4 : 3, argv);

	escape(name, sizeof(name), cfg->fsname ? cfg->fsname : "qemount");
	/* default_permissions: the kernel checks modes and owners as the
	 * guest reports them (the guest serves everything as root);
	 * auto_unmount: fusermount3 unmounts if we die, even by SIGKILL */
	snprintf(opts, sizeof(opts), "fsname=%s,subtype=qemount,"
		 "default_permissions,auto_unmount,%s%s%s", name,
		 cfg->writable ? "rw" : "ro", cfg->fuse_opts ? "," : "",
		 cfg->fuse_opts ? cfg->fuse_opts : "");
	fs->se = fuse_session_new(&args, &nsfs_ops, sizeof(nsfs_ops), fs);
	fuse_opt_free_args(&args);
	if (!fs->se) {
		snprintf(err, errlen, "cannot start FUSE (options: %s)", opts);
		return -EINVAL;
	}
	if (fuse_set_signal_handlers(fs->se) != 0) {
		snprintf(err, errlen, "cannot set signal handlers");
		return -EINVAL;
	}
	if (fuse_session_mount(fs->se, cfg->mountpoint) != 0) {
		snprintf(err, errlen, "%s: cannot mount (FUSE said why above)",
			 cfg->mountpoint);
		return -EIO;
	}
	fs->mounted = 1;
	return 0;
}

int nsfs_new(struct ns *ns, const struct nsfs_config *cfg, struct nsfs **out,
	     char *err, size_t errlen)
{
	struct nsfs *fs = calloc(1, sizeof(*fs));
	size_t i;
	int e = 0;

	if (!fs)
		return -ENOMEM;
	pthread_mutex_init(&fs->lock, NULL);
	fs->ns = ns;
	fs->writable = cfg->writable;
	/* read-only: nothing changes behind the kernel's back, cache long;
	 * read-write: every change goes through this mount too, but the
	 * guest updates what we do not see (ctime, link counts of the
	 * other names): look again each second */
	fs->entry_tmo = fs->attr_tmo = cfg->writable ? 1.0 : 3600.0;
	fs->nmnt = ns_count(ns);
	fs->mnts = calloc(fs->nmnt ? fs->nmnt : 1, sizeof(*fs->mnts));
	if (!fs->mnts)
		e = -ENOMEM;
	for (i = 0; !e && i < fs->nmnt; i++) {
		e = mnt_init(fs, i);
		if (e)
			snprintf(err, errlen, "%s: root: %s",
				 fs->mnts[i].m->source, strerror(-e));
	}
	if (!e)
		e = ns_check(ns, cover, fs, err, errlen);
	if (!e)
		e = session(fs, cfg, err, errlen);
	if (e) {
		nsfs_free(fs);
		return e;
	}
	*out = fs;
	return 0;
}

struct watch {
	struct nsfs *fs;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
};

/* Ends the loop when a guest's link breaks (qemu died, the guest
 * crashed): the kernel then sees the mount go, not a hang. */
static void *watcher(void *arg)
{
	struct watch *w = arg;
	struct timespec ts;
	size_t i;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += WATCH_MS * 1000000L;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		for (i = 0; !w->stop && i < w->fs->nmnt; i++) {
			if (!p9_client_error(w->fs->mnts[i].src->c))
				continue;
			w->fs->dead = i + 1;
			w->stop = 1;
			fuse_session_exit(w->fs->se);
			/* the loop's main thread waits in sem_wait: wake it
			 * (libfuse's handler only sets the exit flag) */
			pthread_kill(w->fs->main, SIGTERM);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int nsfs_run(struct nsfs *fs, char *err, size_t errlen)
{
	struct watch w = { .fs = fs };
	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	pthread_condattr_t ca;
	pthread_t wt;
	int e, watching;

	if (!lc)
		return -ENOMEM;
	fuse_loop_cfg_set_clone_fd(lc, 0);
	fuse_loop_cfg_set_idle_threads(lc, 4);
	fuse_loop_cfg_set_max_threads(lc, P9_CLIENT_INFLIGHT);
	fs->main = pthread_self();
	pthread_mutex_init(&w.lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w.cond, &ca);
	watching = pthread_create(&wt, NULL, watcher, &w) == 0;
	e = fuse_session_loop_mt(fs->se, lc);
	if (watching) {
		pthread_mutex_lock(&w.lock);
		w.stop = 1;
		pthread_cond_signal(&w.cond);
		pthread_mutex_unlock(&w.lock);
		pthread_join(wt, NULL);
	}
	pthread_cond_destroy(&w.cond);
	pthread_condattr_destroy(&ca);
	pthread_mutex_destroy(&w.lock);
	fuse_loop_cfg_destroy(lc);
	if (fs->dead) {
		snprintf(err, errlen, "%s: the guest went away: %s",
			 fs->mnts[fs->dead - 1].m->source,
			 strerror(-p9_client_error(fs->mnts[fs->dead - 1].src->c)));
		return -EIO;
	}
	if (e < 0) {
		snprintf(err, errlen, "FUSE loop: %s", strerror(-e));
		return e;
	}
	return 0;
}

void nsfs_free(struct nsfs *fs)
{
	struct node *n, *next;
	size_t i;

	if (!fs)
		return;
	if (fs->se) {
		if (fs->mounted)
			fuse_session_unmount(fs->se);
		fuse_remove_signal_handlers(fs->se);
		fuse_session_destroy(fs->se);
	}
	for (i = 0; i < NODE_BUCKETS; i++)
		for (n = fs->buckets[i]; n; n = next) {
			next = n->next;
			p9_clunk(n->mt->src->c, n->fid);
			free(n);
		}
	for (i = 0; fs->mnts && i < fs->nmnt; i++)
		if (fs->mnts[i].cover_src)
			p9_clunk(fs->mnts[i].cover_src->c, fs->mnts[i].cover_fid);
	free(fs->mnts);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
}
