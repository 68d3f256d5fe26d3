/*
 * walk.c - depth-first walk of a 9P tree (see walk.h).
 *
 * One directory is read whole (names only) before its entries are
 * visited, so at most one directory fid per level is open and a deep tree
 * costs names, not fids.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "walk.h"

struct walker {
	struct p9_client *c;
	walk_fn *fn;
	void *arg;
	char path[WALK_PATH_MAX + 1];
	size_t plen;
	uint64_t anc[WALK_DEPTH_MAX + 1];	/* qid.path of each ancestor */
	int depth;
	size_t held;		/* bytes of names of the directories we are in */
	char target[4096];
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

static int visit(struct walker *w, uint32_t dirfid, const char *name);

/* Read directory dirfid's names whole, then visit each. */
static int walk_dir(struct walker *w, uint32_t dirfid)
{
	size_t left = WALK_NAMES_MAX - w->held, at = 0;
	struct names ns = { 0 };
	int e;

	e = walk_readdir(w->c, dirfid, left < WALK_DIR_NAMES ? left :
			 WALK_DIR_NAMES, add_name, &ns);
	w->held += ns.len;
	while (!e && at < ns.len) {
		const char *name = ns.buf + at;

		at += strlen(name) + 1;
		e = visit(w, dirfid, name);
	}
	w->held -= ns.len;
	free(ns.buf);
	return e;
}

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

static int visit(struct walker *w, uint32_t dirfid, const char *name)
{
	size_t nlen = strlen(name), saved = w->plen;
	struct walk_entry en = { .path = w->path };
	int e;

	if (w->plen + (w->plen ? 1 : 0) + nlen > WALK_PATH_MAX)
		return -ENAMETOOLONG;
	if (w->plen)
		w->path[w->plen++] = '/';
	memcpy(w->path + w->plen, name, nlen + 1);
	w->plen += nlen;

	e = p9_walk(w->c, dirfid, 1, &name, &en.fid, NULL);
	if (e)
		return e;
	e = p9_getattr(w->c, en.fid, &en.attr);
	if (!e && S_ISLNK(en.attr.mode)) {
		e = p9_readlink(w->c, en.fid, w->target, sizeof(w->target));
		en.target = w->target;
	}
	if (!e)
		e = w->fn(w->arg, &en);
	if (e == WALK_SKIP)
		e = 0;
	else if (!e && S_ISDIR(en.attr.mode))
		e = descend(w, &en);
	p9_clunk(w->c, en.fid);
	if (!e)		/* on failure the path stays, to say where */
		w->path[w->plen = saved] = '\0';
	return e;
}

int walk_tree(struct p9_client *c, uint32_t root, walk_fn *fn, void *arg,
	      char *where, size_t cap)
{
	struct walker *w = calloc(1, sizeof(*w));
	struct p9_attr a;
	int e;

	if (!w)
		return -ENOMEM;
	w->c = c;
	w->fn = fn;
	w->arg = arg;
	e = p9_getattr(c, root, &a);
	if (!e) {
		w->anc[0] = a.qid.path;
		e = walk_dir(w, root);
	}
	if (where && cap)
		snprintf(where, cap, "%s", w->path);
	free(w);
	return e;
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
