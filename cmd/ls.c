/*
 * ls.c - qemount ls: list a directory (or one entry) inside an image.
 * See qemount-ls.1.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "cmd.h"
#include "session.h"
#include "walk.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: qemount ls [-lRv] " SESS_USAGE " IMAGE [PATH]\n"
		"  IMAGE   disk image, or - for standard input\n"
		"  PATH    inside the image (default: the root)\n");
}

struct item {
	char *path;
	struct p9_attr attr;
	char *target;
};

struct list {
	struct item *v;
	size_t n, cap;
	int recursive;
};

static int collect(void *arg, const struct walk_entry *e)
{
	struct list *l = arg;
	struct item *it;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		struct item *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		l->v = nv;
		l->cap = cap;
	}
	it = &l->v[l->n];
	it->path = strdup(e->path);
	it->target = e->target ? strdup(e->target) : NULL;
	it->attr = e->attr;
	if (!it->path || (e->target && !it->target))
		return -ENOMEM;
	l->n++;
	return l->recursive ? 0 : WALK_SKIP;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->path,
		      ((const struct item *)b)->path);
}

static void put_mode(uint32_t m)
{
	static const char *rwx = "rwxrwxrwx";
	char s[11];
	int i;

	s[0] = S_ISDIR(m) ? 'd' : S_ISLNK(m) ? 'l' : S_ISCHR(m) ? 'c' :
	       S_ISBLK(m) ? 'b' : S_ISFIFO(m) ? 'p' : S_ISSOCK(m) ? 's' : '-';
	for (i = 0; i < 9; i++)
		s[i + 1] = m & (0400 >> i) ? rwx[i] : '-';
	if (m & S_ISUID)
		s[3] = m & 0100 ? 's' : 'S';
	if (m & S_ISGID)
		s[6] = m & 0010 ? 's' : 'S';
	if (m & S_ISVTX)
		s[9] = m & 0001 ? 't' : 'T';
	s[10] = '\0';
	fputs(s, stdout);
}

static void put_item(const struct item *it, int longfmt)
{
	const struct p9_attr *a = &it->attr;
	time_t t = a->mtime_sec;
	char when[32];

	if (longfmt) {
		put_mode(a->mode);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M", gmtime(&t));
		if (S_ISCHR(a->mode) || S_ISBLK(a->mode))
			printf(" %3llu %5u %5u %4u, %4u %s ",
			       (unsigned long long)a->nlink, a->uid, a->gid,
			       major(a->rdev), minor(a->rdev), when);
		else
			printf(" %3llu %5u %5u %10llu %s ",
			       (unsigned long long)a->nlink, a->uid, a->gid,
			       (unsigned long long)a->size, when);
	}
	cmd_put_name(stdout, it->path);
	if (longfmt && it->target) {
		fputs(" -> ", stdout);
		cmd_put_name(stdout, it->target);
	}
	putchar('\n');
}

/* PATH names one entry, not a directory: show it alone. */
static int list_one(struct sess *s, uint32_t fid, const char *path,
		    struct list *l)
{
	struct walk_entry e = { .path = path, .fid = fid };
	char target[4096];
	int r = p9_getattr(sess_client(s), fid, &e.attr);

	if (!r && S_ISLNK(e.attr.mode)) {
		r = p9_readlink(sess_client(s), fid, target, sizeof(target));
		e.target = target;
	}
	return r ? r : collect(l, &e) < 0 ? -ENOMEM : 0;
}

static int list(struct sess *s, const char *path, struct list *l,
		char *where, size_t cap)
{
	struct p9_attr a;
	uint32_t fid;
	int r;

	r = walk_path(sess_client(s), sess_root(s), path, &fid);
	if (r)
		return r;
	r = p9_getattr(sess_client(s), fid, &a);
	if (!r && S_ISDIR(a.mode))
		r = walk_tree(sess_client(s), fid, collect, l, where, cap);
	else if (!r)
		r = list_one(s, fid, path, l);
	p9_clunk(sess_client(s), fid);
	return r;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' }, SESS_OPTIONS, { 0 }
	};
	struct sess_opts so = { 0 };
	struct list l = { 0 };
	const char *path = "";
	char err[2048], where[4096] = "", lost[1024];
	const char *why;
	int c, r, longfmt = 0, rc = 0;
	size_t i;
	struct sess *s;

	while ((c = getopt_long(argc, argv, "lRvh", longs, NULL)) != -1) {
		r = cmd_sess_opt(c, optarg, &so);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'l': longfmt = 1; break;
		case 'R': l.recursive = 1; break;
		case 'v': so.echo_log = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	so.image = argv[optind];
	if (argc - optind == 2)
		path = argv[optind + 1];
	cmd_signals();
	if (cmd_open(&so, &s))
		return EXIT_FAIL;
	r = list(s, path, &l, where, sizeof(where));
	if (r) {
		why = sess_lost(s, lost, sizeof(lost));
		cmd_warnx("%s: %s%s%s: %s", so.image, path,
			  path[0] && where[0] ? "/" : "",
			  path[0] || where[0] ? where : "/",
			  why ? why : strerror(-r));
		rc = EXIT_FAIL;
	}
	if (sess_close(s, NULL, err, sizeof(err)) && !rc) {
		warnx("%s: %s", so.image, err);
		rc = EXIT_FAIL;
	}
	qsort(l.v, l.n, sizeof(*l.v), by_path);
	for (i = 0; i < l.n; i++) {
		if (!rc)
			put_item(&l.v[i], longfmt);
		free(l.v[i].path);
		free(l.v[i].target);
	}
	free(l.v);
	if (!rc && fflush(stdout) != 0) {
		warn("standard output");
		rc = EXIT_FAIL;
	}
	return rc;
}
