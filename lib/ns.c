/*
 * ns.c - the mount table (see ns.h): a sorted list of mounts for the
 * caller, a trie over path components for lookups.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns.h"

#define FIELDS_MAX	6

struct ns_node {
	char *name;		/* one component; "" for the root */
	struct ns_node *parent;
	struct ns_mount *mount;
	struct ns_node **kids;	/* sorted by name */
	size_t nkids, capkids;
};

struct ns {
	struct ns_node root;
	struct ns_mount **m;	/* sorted by path: a parent before its children */
	size_t n, cap;
};

int ns_new(struct ns **out)
{
	struct ns *n = calloc(1, sizeof(*n));

	if (!n)
		return -ENOMEM;
	n->root.name = "";
	n->root.parent = &n->root;
	*out = n;
	return 0;
}

static void node_free(struct ns_node *d)
{
	size_t i;

	for (i = 0; i < d->nkids; i++) {
		node_free(d->kids[i]);
		free(d->kids[i]->name);
		free(d->kids[i]);
	}
	free(d->kids);
}

static void mount_free(struct ns_mount *m)
{
	if (!m)
		return;
	free(m->path);
	free(m->source);
	free(m->type);
	free(m->opts);
	free(m);
}

void ns_free(struct ns *n)
{
	size_t i;

	if (!n)
		return;
	node_free(&n->root);
	for (i = 0; i < n->n; i++)
		mount_free(n->m[i]);
	free(n->m);
	free(n);
}

/*
 * norm - path made absolute-canonical into out: "/" or "/a/b".  ".."
 * pops a component if dotdot, else is -EINVAL.  -ENAMETOOLONG if it does
 * not fit, -EINVAL if path is not absolute.
 */
static int norm(const char *path, char *out, size_t cap, int dotdot)
{
	size_t len = 0, k;
	const char *p = path;

	if (*p != '/' || cap < 2)
		return -EINVAL;
	while (*p) {
		while (*p == '/')
			p++;
		k = strcspn(p, "/");
		if (k == 0 || (k == 1 && p[0] == '.')) {
			p += k;
			continue;
		}
		if (k == 2 && p[0] == '.' && p[1] == '.') {
			if (!dotdot)
				return -EINVAL;
			while (len > 0 && out[--len] != '/')
				;
			p += k;
			continue;
		}
		if (len + 1 + k + 1 > cap)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, p, k);
		len += k;
		p += k;
	}
	if (len == 0)
		out[len++] = '/';
	out[len] = '\0';
	return 0;
}

/* Index in d's kids where name is or would go; *found if it is there. */
static size_t kid_pos(const struct ns_node *d, const char *name, size_t len,
		      int *found)
{
	size_t lo = 0, hi = d->nkids, mid;
	int c;

	*found = 0;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		c = strncmp(d->kids[mid]->name, name, len);
		if (c == 0 && d->kids[mid]->name[len] != '\0')
			c = 1;
		if (c == 0) {
			*found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The child called name[0..len) of d, made if absent; NULL: no memory. */
static struct ns_node *kid_get(struct ns_node *d, const char *name, size_t len)
{
	struct ns_node *k, **nk;
	int found;
	size_t i = kid_pos(d, name, len, &found);

	if (found)
		return d->kids[i];
	if (d->nkids == d->capkids) {
		size_t cap = d->capkids ? d->capkids * 2 : 4;

		nk = realloc(d->kids, cap * sizeof(*nk));
		if (!nk)
			return NULL;
		d->kids = nk;
		d->capkids = cap;
	}
	k = calloc(1, sizeof(*k));
	if (!k || !(k->name = strndup(name, len))) {
		free(k);
		return NULL;
	}
	k->parent = d;
	memmove(d->kids + i + 1, d->kids + i, (d->nkids - i) * sizeof(*nk));
	d->kids[i] = k;
	d->nkids++;
	return k;
}

/* The node for canonical path p, made if absent. */
static struct ns_node *node_get(struct ns *n, const char *p)
{
	struct ns_node *d = &n->root;
	size_t k;

	while (d && p[0] == '/' && p[1]) {	/* "/" is the root */
		p++;
		k = strcspn(p, "/");
		d = kid_get(d, p, k);
		p += k;
	}
	return d;
}

static int list_insert(struct ns *n, struct ns_mount *m)
{
	size_t i;

	if (n->n == n->cap) {
		size_t cap = n->cap ? n->cap * 2 : 8;
		struct ns_mount **nm = realloc(n->m, cap * sizeof(*nm));

		if (!nm)
			return -ENOMEM;
		n->m = nm;
		n->cap = cap;
	}
	for (i = n->n; i > 0 && strcmp(n->m[i - 1]->path, m->path) > 0; i--)
		n->m[i] = n->m[i - 1];
	n->m[i] = m;
	n->n++;
	return 0;
}

static int add(struct ns *n, const char *path, const char *source,
	       const char *type, const char *opts, int line, char *err,
	       size_t errlen)
{
	char canon[PATH_MAX];
	struct ns_mount *m;
	struct ns_node *d;
	int e = norm(path, canon, sizeof(canon), 0);

	if (e) {
		snprintf(err, errlen, "mountpoint %s: %s", path, e == -EINVAL ?
			 "not an absolute path without \"..\"" : strerror(-e));
		return e;
	}
	if (!source || !*source) {
		snprintf(err, errlen, "mountpoint %s: no source", canon);
		return -EINVAL;
	}
	d = node_get(n, canon);
	if (d && d->mount) {
		snprintf(err, errlen, "%s is mounted twice", canon);
		return -EEXIST;
	}
	m = calloc(1, sizeof(*m));
	if (!d || !m || !(m->path = strdup(canon)) ||
	    !(m->source = strdup(source)) ||
	    !(m->opts = strdup(opts ? opts : "")) ||
	    (type && !(m->type = strdup(type))) || list_insert(n, m)) {
		mount_free(m);
		snprintf(err, errlen, "%s", strerror(ENOMEM));
		return -ENOMEM;
	}
	m->node = d;
	m->line = line;
	d->mount = m;
	return 0;
}

int ns_add(struct ns *n, const char *path, const char *source,
	   const char *type, const char *opts, char *err, size_t errlen)
{
	return add(n, path, source, type, opts, 0, err, errlen);
}

/*
 * One fstab field from *p into out (cap bytes), octal escapes decoded.
 * Returns its length, 0 at the end of the line, -1 if it does not fit.
 */
static int field(const char **p, char *out, size_t cap)
{
	const char *s = *p + strspn(*p, " \t");
	size_t len = 0;

	while (*s && *s != ' ' && *s != '\t') {
		if (len + 1 >= cap)
			return -1;
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			out[len++] = (s[1] - '0') << 6 | (s[2] - '0') << 3 |
				     (s[3] - '0');
			s += 4;
		} else {
			out[len++] = *s++;
		}
	}
	out[len] = '\0';
	*p = s;
	return len;
}

static int table_line(struct ns *n, const char *line, int lineno,
		      char *err, size_t errlen)
{
	char f[FIELDS_MAX][PATH_MAX];
	const char *p = line;
	int nf = 0, len = 0;

	while (nf < FIELDS_MAX && (len = field(&p, f[nf], PATH_MAX)) > 0)
		nf++;
	if (len < 0 || *(p + strspn(p, " \t"))) {
		snprintf(err, errlen, len < 0 ? "a field is too long" :
			 "more than %d fields", FIELDS_MAX);
		return -EINVAL;
	}
	if (nf == 0)
		return 0;
	if (nf < 2) {
		snprintf(err, errlen, "want SOURCE MOUNTPOINT [TYPE [OPTIONS]]");
		return -EINVAL;
	}
	return add(n, f[1], f[0], nf > 2 && strcmp(f[2], "auto") &&
		   strcmp(f[2], "-") ? f[2] : NULL,
		   nf > 3 && strcmp(f[3], "defaults") && strcmp(f[3], "-") ?
		   f[3] : NULL, lineno, err, errlen);
}

int ns_parse_table(struct ns *n, const char *text, const char *name,
		   char *err, size_t errlen)
{
	char line[4 * PATH_MAX], why[512];
	const char *p = text;
	size_t k;
	int lineno = 0, e;

	while (*p) {
		lineno++;
		k = strcspn(p, "\n");
		if (k >= sizeof(line)) {
			snprintf(err, errlen, "%s:%d: line too long", name, lineno);
			return -EINVAL;
		}
		memcpy(line, p, k);
		line[k] = '\0';
		p += k + (p[k] == '\n');
		if (k && line[k - 1] == '\r')
			line[k - 1] = '\0';
		line[strcspn(line, "#")] = '\0';
		e = table_line(n, line, lineno, why, sizeof(why));
		if (e) {
			snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
			return e;
		}
	}
	return 0;
}

/* Are s[0..len) option words: letters, digits, "=,_.-", no '/'? */
static int opt_words(const char *s)
{
	return *s && s[strspn(s, "abcdefghijklmnopqrstuvwxyz"
			      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789=,_.-")] == '\0';
}

int ns_parse_bind(struct ns *n, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '='), *colon;
	char path[PATH_MAX], source[PATH_MAX];
	size_t k;

	if (!eq || eq == arg) {
		snprintf(err, errlen, "--bind %s: want PATH=IMAGE[:OPTIONS]", arg);
		return -EINVAL;
	}
	k = eq - arg;
	colon = strrchr(eq + 1, ':');
	if (colon && !opt_words(colon + 1))
		colon = NULL;
	if (k >= sizeof(path) || strlen(eq + 1) >= sizeof(source)) {
		snprintf(err, errlen, "--bind: %s", strerror(ENAMETOOLONG));
		return -ENAMETOOLONG;
	}
	memcpy(path, arg, k);
	path[k] = '\0';
	snprintf(source, sizeof(source), "%.*s",
		 (int)(colon ? (size_t)(colon - eq - 1) : strlen(eq + 1)), eq + 1);
	return add(n, path, source, NULL, colon ? colon + 1 : NULL, 0, err,
		   errlen);
}

size_t ns_count(const struct ns *n)
{
	return n->n;
}

struct ns_mount *ns_mount_at(const struct ns *n, size_t i)
{
	return i < n->n ? n->m[i] : NULL;
}

/* rest of canonical path p below the mount at p[0..plen) */
static int rest_of(const char *p, size_t plen, char *rest, size_t cap)
{
	const char *r = p + plen;

	if (*r == '/')
		r++;
	if (strlen(r) >= cap)
		return -ENAMETOOLONG;
	strcpy(rest, r);
	return 0;
}

struct ns_mount *ns_resolve(const struct ns *n, const char *path,
			    char *rest, size_t cap)
{
	char canon[PATH_MAX];
	const struct ns_node *d = &n->root;
	struct ns_mount *best = n->root.mount;
	size_t k, bestlen = 1;
	const char *p = canon;
	int found;

	if (norm(path, canon, sizeof(canon), 1))
		return NULL;
	while (*p && *p++ == '/') {
		k = strcspn(p, "/");
		if (k == 0)
			break;
		k = kid_pos(d, p, k, &found);
		if (!found)
			break;
		d = d->kids[k];
		p += strlen(d->name);
		if (d->mount) {
			best = d->mount;
			bestlen = p - canon;
		}
	}
	if (!best || rest_of(canon, bestlen, rest, cap))
		return NULL;
	return best;
}

struct ns_mount *ns_below(const struct ns *n, const struct ns_mount *m,
			  char *rest, size_t cap)
{
	const struct ns_node *d = m->node;

	(void)n;
	while (d->parent != d) {
		d = d->parent;
		if (d->mount)
			return rest_of(m->path, strlen(d->mount->path) -
				       (d->parent == d), rest, cap) ? NULL :
			       d->mount;
	}
	return NULL;
}

int ns_check(const struct ns *n, ns_isdir_fn *isdir, void *arg, char *err,
	     size_t errlen)
{
	char rest[PATH_MAX];
	struct ns_mount *below;
	size_t i;
	int e;

	if (!n->root.mount) {
		snprintf(err, errlen, "nothing is mounted on /");
		return -ENOENT;
	}
	for (i = 0; i < n->n; i++) {
		if (n->m[i] == n->root.mount)
			continue;
		below = ns_below(n, n->m[i], rest, sizeof(rest));
		e = below ? isdir(arg, n->m[i], below, rest) : -ENAMETOOLONG;
		if (e) {
			snprintf(err, errlen, "mountpoint %s: %s in %s", n->m[i]->path,
				 e == -ENOENT ? "no such directory" : strerror(-e),
				 below ? below->source : "?");
			return e;
		}
	}
	return 0;
}

struct ns_node *ns_root(const struct ns *n)
{
	return (struct ns_node *)&n->root;
}

struct ns_node *ns_child(const struct ns_node *d, const char *name)
{
	int found;
	size_t i = kid_pos(d, name, strlen(name), &found);

	return found ? d->kids[i] : NULL;
}

struct ns_mount *ns_node_mount(const struct ns_node *d)
{
	return d->mount;
}

struct ns_node *ns_node_parent(const struct ns_node *d)
{
	return d->parent;
}
