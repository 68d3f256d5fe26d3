/*
 * test_ns.c - the mount table (lib/ns.h): longest prefix on whole
 * components, normalisation, nesting three deep, a mount shadowing a
 * directory, ".." from a mounted root, the table and --bind syntax, and
 * a missing mountpoint as an error.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "ns.h"
#include "tap.h"

static char err[1024];

/* resolve path in n: "SOURCE:REST" or "-" */
static const char *res(const struct ns *n, const char *path)
{
	static char out[PATH_MAX * 2];
	char rest[PATH_MAX];
	struct ns_mount *m = ns_resolve(n, path, rest, sizeof(rest));

	if (!m)
		return "-";
	snprintf(out, sizeof(out), "%s:%s", m->source, rest);
	return out;
}

#define RES(n, path, want) do { \
	const char *g_ = res(n, path); \
	if (!ok(strcmp(g_, want) == 0, "%s -> %s", path, want)) \
		tap_diag("got %s", g_); \
} while (0)

static void prefixes(void)
{
	struct ns *n;

	ns_new(&n);
	RES(n, "/x", "-");	/* nothing on / yet */
	is(ns_add(n, "/", "root.img", NULL, NULL, err, sizeof(err)), 0, "add /");
	is(ns_add(n, "//boot/", "boot.img", "vfat", "ro", err, sizeof(err)), 0,
	   "add //boot/ (normalised)");
	is(ns_add(n, "/boot", "again.img", NULL, NULL, err, sizeof(err)),
	   -EEXIST, "the same mountpoint twice is refused");
	ok(strstr(err, "/boot") != NULL, "and the message names it: %s", err);
	is(ns_add(n, "boot", "x.img", NULL, NULL, err, sizeof(err)), -EINVAL,
	   "a relative mountpoint is refused");
	is(ns_add(n, "/a/../b", "x.img", NULL, NULL, err, sizeof(err)), -EINVAL,
	   "a mountpoint with .. is refused");
	is(ns_add(n, "/c", "", NULL, NULL, err, sizeof(err)), -EINVAL,
	   "an empty source is refused");
	RES(n, "/", "root.img:");
	RES(n, "/boot", "boot.img:");
	RES(n, "/boot/", "boot.img:");
	RES(n, "/boot/grub/grub.cfg", "boot.img:grub/grub.cfg");
	RES(n, "/bootleg", "root.img:bootleg");
	RES(n, "/bootleg/x", "root.img:bootleg/x");
	RES(n, "/boo", "root.img:boo");
	RES(n, "//boot//grub/", "boot.img:grub");
	RES(n, "/./boot/./x", "boot.img:x");
	RES(n, "/etc/passwd", "root.img:etc/passwd");
	RES(n, "relative", "-");
	is(strcmp(ns_mount_at(n, 1)->type, "vfat"), 0, "type kept");
	is(strcmp(ns_mount_at(n, 1)->opts, "ro"), 0, "options kept");
	ok(ns_mount_at(n, 0)->type == NULL, "no type: detect");
	ns_free(n);
}

static void nesting(void)
{
	struct ns *n;
	char rest[PATH_MAX];
	struct ns_node *d;

	ns_new(&n);
	/* added children first: the list still comes out parents first */
	ns_add(n, "/a/b/c", "c.img", NULL, NULL, err, sizeof(err));
	ns_add(n, "/a", "a.img", NULL, NULL, err, sizeof(err));
	ns_add(n, "/a/b", "b.img", NULL, NULL, err, sizeof(err));
	ns_add(n, "/", "r.img", NULL, NULL, err, sizeof(err));
	ns_add(n, "/a-b", "ab.img", NULL, NULL, err, sizeof(err));
	is(ns_count(n), 5, "five mounts");
	ok(!strcmp(ns_mount_at(n, 0)->path, "/") &&
	   !strcmp(ns_mount_at(n, 1)->path, "/a") &&
	   !strcmp(ns_mount_at(n, 3)->path, "/a/b") &&
	   !strcmp(ns_mount_at(n, 4)->path, "/a/b/c"), "sorted parents first");
	RES(n, "/a/b/c/d/e", "c.img:d/e");
	RES(n, "/a/b/cc", "b.img:cc");
	RES(n, "/a/bx/c", "a.img:bx/c");
	RES(n, "/a-b/c", "ab.img:c");
	RES(n, "/a/b/c/..", "b.img:");		/* .. from c's root: b */
	RES(n, "/a/b/c/../../x", "a.img:x");
	RES(n, "/a/../../..", "r.img:");	/* never above / */
	ok(ns_below(n, ns_mount_at(n, 4), rest, sizeof(rest)) ==
	   ns_mount_at(n, 3) && !strcmp(rest, "c"), "c sits on b's c");
	ok(ns_below(n, ns_mount_at(n, 1), rest, sizeof(rest)) ==
	   ns_mount_at(n, 0) && !strcmp(rest, "a"), "a sits on /'s a");
	ok(ns_below(n, ns_mount_at(n, 0), rest, sizeof(rest)) == NULL,
	   "/ sits on nothing");
	/* the trie, walked name by name as the FUSE front end does */
	d = ns_root(n);
	ok(ns_node_mount(d) == ns_mount_at(n, 0), "root node holds /");
	ok(ns_child(d, "x") == NULL, "an ordinary name has no node");
	d = ns_child(d, "a");
	ok(d && ns_node_mount(d) == ns_mount_at(n, 1), "a");
	d = d ? ns_child(ns_child(d, "b"), "c") : NULL;
	ok(d && ns_node_mount(d) == ns_mount_at(n, 4), "a/b/c");
	ok(d && ns_node_parent(ns_node_parent(d)) == ns_child(ns_root(n), "a"),
	   "parents lead back");
	ok(ns_node_parent(ns_root(n)) == ns_root(n), "root's parent is root");
	ns_free(n);
}

static void shadow(void)
{
	struct ns *n;

	/* a mount on /etc/conf hides the root image's /etc/conf/old but not
	 * /etc's other entries; and a node on the way (/srv) with no mount
	 * of its own belongs to the mount below */
	ns_new(&n);
	ns_add(n, "/", "r.img", NULL, NULL, err, sizeof(err));
	ns_add(n, "/etc/conf", "conf.img", NULL, NULL, err, sizeof(err));
	ns_add(n, "/srv/www/data", "d.img", NULL, NULL, err, sizeof(err));
	RES(n, "/etc/conf/old", "conf.img:old");
	RES(n, "/etc/hosts", "r.img:etc/hosts");
	RES(n, "/srv/www", "r.img:srv/www");
	RES(n, "/srv/www/data/x", "d.img:x");
	ok(ns_child(ns_root(n), "srv") && !ns_node_mount(ns_child(ns_root(n),
	   "srv")), "a node on the way holds no mount");
	ns_free(n);
}

/* the fake filesystem below: /etc and /srv exist, /etc/hosts is a file */
static int isdir(void *arg, struct ns_mount *m, struct ns_mount *below,
		 const char *rest)
{
	(void)arg;
	(void)m;
	if (strcmp(below->source, "r.img") != 0)
		return -ENOENT;
	if (!strcmp(rest, "etc") || !strcmp(rest, "srv"))
		return 0;
	return !strcmp(rest, "etc/hosts") ? -ENOTDIR : -ENOENT;
}

static void check(void)
{
	struct ns *n;

	ns_new(&n);
	ns_add(n, "/etc", "e.img", NULL, NULL, err, sizeof(err));
	is(ns_check(n, isdir, NULL, err, sizeof(err)), -ENOENT,
	   "no / mount is an error");
	ns_add(n, "/", "r.img", NULL, NULL, err, sizeof(err));
	is(ns_check(n, isdir, NULL, err, sizeof(err)), 0, "/etc exists");
	ns_add(n, "/srv/www", "w.img", NULL, NULL, err, sizeof(err));
	is(ns_check(n, isdir, NULL, err, sizeof(err)), -ENOENT,
	   "a missing mountpoint is an error");
	ok(strstr(err, "/srv/www") && strstr(err, "r.img"),
	   "naming it and the image below: %s", err);
	ns_free(n);
	ns_new(&n);
	ns_add(n, "/", "r.img", NULL, NULL, err, sizeof(err));
	ns_add(n, "/etc/hosts", "h.img", NULL, NULL, err, sizeof(err));
	is(ns_check(n, isdir, NULL, err, sizeof(err)), -ENOTDIR,
	   "a mountpoint on a file is an error");
	ns_free(n);
}

static void table(void)
{
	static const char text[] =
		"# root and boot\n"
		"/img/root.img  /  ext4  rw,partition=2  0 1\r\n"
		"\n"
		"  /img/my\\040disk.img /data\\040dir auto defaults # c\n"
		"boot.img\t/boot\t-\t-\n"
		"\t# only a comment\n";
	struct ns *n;
	char rest[PATH_MAX];
	struct ns_mount *m;

	ns_new(&n);
	is(ns_parse_table(n, text, "fstab", err, sizeof(err)), 0, "table parsed");
	is(ns_count(n), 3, "three mounts");
	m = ns_resolve(n, "/x", rest, sizeof(rest));
	ok(m && !strcmp(m->source, "/img/root.img") && !strcmp(m->type, "ext4")
	   && !strcmp(m->opts, "rw,partition=2") && m->line == 2,
	   "line 2: source, type, options, line number");
	m = ns_resolve(n, "/data dir/x", rest, sizeof(rest));
	ok(m && !strcmp(m->source, "/img/my disk.img") && !m->type &&
	   !m->opts[0] && m->line == 4, "\\040 escapes, auto, defaults");
	m = ns_resolve(n, "/boot", rest, sizeof(rest));
	ok(m && !m->type && !m->opts[0], "- for type and options");
	is(ns_parse_table(n, "a.img\n", "t", err, sizeof(err)), -EINVAL,
	   "one field is an error");
	ok(!strcmp(err, "t:1: want SOURCE MOUNTPOINT [TYPE [OPTIONS]]"),
	   "named by line: %s", err);
	is(ns_parse_table(n, "\n\na b c d 0 0 7\n", "t", err, sizeof(err)),
	   -EINVAL, "seven fields are an error");
	ok(!strncmp(err, "t:3:", 4), "on line 3: %s", err);
	is(ns_parse_table(n, "x.img /boot\n", "t", err, sizeof(err)), -EEXIST,
	   "a mountpoint already in the table");
	ns_free(n);
}

static void bind(void)
{
	struct ns *n;
	struct ns_mount *m;
	char rest[PATH_MAX];

	ns_new(&n);
	is(ns_parse_bind(n, "/=root.img", err, sizeof(err)), 0, "/=root.img");
	is(ns_parse_bind(n, "/boot=boot.img:ro,fs=vfat", err, sizeof(err)), 0,
	   "with options");
	is(ns_parse_bind(n, "/web=https://host:8080/x.img", err, sizeof(err)), 0,
	   "a URL keeps its colons");
	is(ns_parse_bind(n, "/w2=http://h/x.img:partition=1", err, sizeof(err)),
	   0, "a URL with options");
	is(ns_parse_bind(n, "noequals", err, sizeof(err)), -EINVAL, "no =");
	is(ns_parse_bind(n, "=x.img", err, sizeof(err)), -EINVAL, "no path");
	m = ns_resolve(n, "/boot/x", rest, sizeof(rest));
	ok(m && !strcmp(m->source, "boot.img") && !strcmp(m->opts, "ro,fs=vfat"),
	   "boot: source and options split");
	m = ns_resolve(n, "/web", rest, sizeof(rest));
	ok(m && !strcmp(m->source, "https://host:8080/x.img") && !m->opts[0],
	   "web: the URL whole");
	m = ns_resolve(n, "/w2", rest, sizeof(rest));
	ok(m && !strcmp(m->source, "http://h/x.img") &&
	   !strcmp(m->opts, "partition=1"), "w2: URL and options");
	ns_free(n);
}

/* many mounts: a lookup is a walk down the trie, still right */
static void many(void)
{
	char path[64], want[64];
	struct ns *n;
	int i, bad = 0;

	ns_new(&n);
	ns_add(n, "/", "r", NULL, NULL, err, sizeof(err));
	for (i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/m/%d", i * 7919 % 2000);
		snprintf(want, sizeof(want), "%d", i * 7919 % 2000);
		bad += ns_add(n, path, want, NULL, NULL, err, sizeof(err)) != 0;
	}
	for (i = 0; i < 2000; i++) {
		snprintf(path, sizeof(path), "/m/%d/f", i);
		snprintf(want, sizeof(want), "%d:f", i);
		bad += strcmp(res(n, path), want) != 0;
	}
	is(bad, 0, "2000 mounts under one directory");
	RES(n, "/m/2000", "r:m/2000");
	ns_free(n);
}

int main(void)
{
	prefixes();
	nesting();
	shadow();
	check();
	table();
	bind();
	many();
	return done_testing();
}
