/*
 * guest.c - find the guest for a filesystem (see guest.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guest.h"

#define DEFAULT_MACHINE	"microvm"

/* snprintf that says whether it all fitted */
static int fits(int n, size_t cap)
{
	return n >= 0 && (size_t)n < cap;
}

/*
 * Read dir/manifest: does it list each of the n filesystems fs[]?
 * Returns 2 if it writes them all, 1 if it reads them all, 0 if not (or
 * no manifest).  Fills g->priority and g->machine from the registry
 * lines either way.  fn, if not NULL, is called with each filesystem
 * line's name and mode.
 */
static int read_manifest(const char *dir, const char *const *fs, size_t n,
			 struct guest *g,
			 void (*fn)(void *, const char *, int), void *arg)
{
	char path[PATH_MAX], line[1024], name[64], val[128];
	int mode[GUEST_SET_MAX] = { 0 }, found, prio;
	size_t i;
	FILE *f;

	g->priority = 0;
	snprintf(g->machine, sizeof(g->machine), "%s", DEFAULT_MACHINE);
	if (!fits(snprintf(path, sizeof(path), "%s/manifest", dir),
		  sizeof(path)))
		return 0;
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%63s %127s", name, val) != 2)
			continue;
		if (strcmp(name, "@priority") == 0 &&
		    sscanf(val, "%d", &prio) == 1)
			g->priority = prio;
		else if (strcmp(name, "@machine") == 0)
			snprintf(g->machine, sizeof(g->machine), "%s", val);
		else if (name[0] != '@' && fn)
			fn(arg, name, strcmp(val, "rw") == 0 ? 2 : 1);
		for (i = 0; name[0] != '@' && i < n; i++)
			if (!mode[i] && strcmp(name, fs[i]) == 0)
				mode[i] = strcmp(val, "rw") == 0 ? 2 : 1;
	}
	if (!f)
		return 0;
	fclose(f);
	for (found = 2, i = 0; i < n; i++)
		if (mode[i] < found)
			found = mode[i];
	return found;
}

/* The words of dir/cmdline, joined by spaces; "" if there is none. */
static void read_cmdline(const char *dir, char *out, size_t cap)
{
	char path[PATH_MAX], line[1024], *hash;
	size_t len = 0, n;
	FILE *f;

	out[0] = '\0';
	if (!fits(snprintf(path, sizeof(path), "%s/cmdline", dir),
		  sizeof(path)))
		return;
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		line[strcspn(line, "\r\n")] = '\0';
		n = strspn(line, " \t");
		if (line[n] && fits(snprintf(out + len, cap - len, "%s%s",
					     len ? " " : "", line + n),
				    cap - len))
			len += strlen(out + len);
	}
	if (f)
		fclose(f);
}

/* Does dir/mkfs.txt have a line for each of fs[0..n)? */
static int formats(const char *dir, const char *const *fs, size_t n)
{
	char path[PATH_MAX], line[1024], name[64];
	size_t i, found = 0;
	FILE *f;

	if (!fits(snprintf(path, sizeof(path), "%s/mkfs.txt", dir),
		  sizeof(path)))
		return 0;
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		if (line[0] == '#' || sscanf(line, "%63s", name) != 1)
			continue;
		for (i = 0; i < n; i++)
			found += strcmp(name, fs[i]) == 0;
	}
	if (f)
		fclose(f);
	return found >= n;
}

/*
 * Is base/name a guest that does what need says with each of fs, and
 * has its kernel and initrd?  Fills *g if so.
 */
static int candidate(const char *base, const char *name,
		     const char *const *fs, size_t n, enum guest_need need,
		     struct guest *g)
{
	const char *initrd = need == GUEST_FORMAT ? "initramfs-mkfs.cpio" :
						    "initramfs.cpio";
	char dir[PATH_MAX];
	int mode;

	if (name[0] == '.' || strlen(name) >= sizeof(g->name) ||
	    !fits(snprintf(dir, sizeof(dir), "%s/%s", base, name),
		  sizeof(dir)))
		return 0;
	mode = read_manifest(dir, fs, n, g, NULL, NULL);
	if (!mode || (need != GUEST_READ && mode != 2) ||
	    (need == GUEST_FORMAT && !formats(dir, fs, n)) ||
	    !fits(snprintf(g->kernel, sizeof(g->kernel), "%s/vmlinux", dir),
		  sizeof(g->kernel)) ||
	    !fits(snprintf(g->initrd, sizeof(g->initrd), "%s/%s", dir,
			   initrd), sizeof(g->initrd)) ||
	    access(g->kernel, R_OK) != 0 || access(g->initrd, R_OK) != 0)
		return 0;
	snprintf(g->name, sizeof(g->name), "%s", name);
	snprintf(g->dir, sizeof(g->dir), "%s", dir);
	read_cmdline(dir, g->cmdline, sizeof(g->cmdline));
	g->writable = mode == 2;
	return 1;
}

/*
 * The best guest in base/ for fs: highest priority, then first by name.
 * Only the guest named only, if that is not NULL.  1 if one was found.
 */
static int scan(const char *base, const char *only, const char *const *fs,
		size_t n, enum guest_need need, struct guest *g)
{
	struct guest *c = malloc(sizeof(*c));
	struct dirent *d;
	int hit = 0;
	DIR *dp = c ? opendir(base) : NULL;

	while (dp && (d = readdir(dp))) {
		if (only && strcmp(d->d_name, only) != 0)
			continue;
		if (!candidate(base, d->d_name, fs, n, need, c))
			continue;
		if (!hit || c->priority > g->priority ||
		    (c->priority == g->priority && strcmp(c->name, g->name) < 0))
			*g = *c;
		hit = 1;
	}
	if (dp)
		closedir(dp);
	free(c);
	return hit;
}

int guest_find(const char *fs, enum guest_need need, struct guest *g,
	       char *err, size_t errlen)
{
	return guest_find_all(&fs, 1, need, g, err, errlen);
}

/*
 * The guest folders, in the order they are searched: $QEMOUNT_GUESTS,
 * then next to the program.  fn(arg, base) for each until it returns
 * nonzero; returns that, or 0.  exe gets the program's folder ("?").
 */
static int each_base(int (*fn)(void *arg, const char *base), void *arg,
		     char *exe, size_t cap)
{
	static const char *const rel[] = { "../share/qemount/guests",
					   "../guests" };
	const char *env = getenv("QEMOUNT_GUESTS");
	char base[PATH_MAX], *slash;
	ssize_t n;
	size_t i;
	int r;

	snprintf(exe, cap, "?");
	if (env && *env && (r = fn(arg, env)))
		return r;
	n = readlink("/proc/self/exe", exe, cap - 1);
	if (n <= 0) {
		snprintf(exe, cap, "?");
		return 0;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++)
		if (fits(snprintf(base, sizeof(base), "%s/%s", exe, rel[i]),
			 sizeof(base)) && (r = fn(arg, base)))
			return r;
	return 0;
}

struct find {
	const char *only;
	const char *const *fs;
	size_t n;
	enum guest_need need;
	struct guest *g;
};

static int find_in(void *arg, const char *base)
{
	struct find *f = arg;

	return scan(base, f->only, f->fs, f->n, f->need, f->g);
}

int guest_find_all(const char *const *fs, size_t n, enum guest_need need,
		   struct guest *g, char *err, size_t errlen)
{
	static const char *const verb[] = { "reads", "writes", "formats" };
	struct find f = { getenv("QEMOUNT_GUEST"), fs, n, need, g };
	const char *env = getenv("QEMOUNT_GUESTS");
	char exe[PATH_MAX], names[256];
	size_t i, len = 0;

	if (f.only && !*f.only)
		f.only = NULL;
	if (n == 0 || n > GUEST_SET_MAX)
		return -EINVAL;
	if (each_base(find_in, &f, exe, sizeof(exe)))
		return 0;
	names[0] = '\0';
	for (i = 0; i < n && len < sizeof(names); i++)
		len += snprintf(names + len, sizeof(names) - len, "%s%s",
				i ? (i + 1 == n ? " and " : ", ") : "", fs[i]);
	snprintf(err, errlen, "no guest%s%s%s %s %s (looked in %s%s%s/../{share/"
		 "qemount/guests,guests})", f.only ? " named " : "",
		 f.only ? f.only : "", f.only ? " (QEMOUNT_GUEST) that" : "",
		 verb[need], names, env ? env : "",
		 env ? ", " : "", exe);
	return -ENOENT;
}

struct list {
	guest_list_fn *fn;
	void *arg;
	struct guest g;
};

static void list_line(void *arg, const char *fs, int mode)
{
	struct list *l = arg;

	l->fn(l->arg, &l->g, fs, mode);
}

static int list_in(void *arg, const char *base)
{
	struct list *l = arg;
	struct dirent **d;
	int i, n = scandir(base, &d, NULL, alphasort), hit = 0;

	for (i = 0; i < n; i++) {
		if (candidate(base, d[i]->d_name, NULL, 0, 0, &l->g)) {
			read_manifest(l->g.dir, NULL, 0, &l->g, list_line, l);
			hit = 1;
		}
		free(d[i]);
	}
	if (n >= 0)
		free(d);
	return hit;
}

int guest_list(guest_list_fn *fn, void *arg, char *err, size_t errlen)
{
	struct list *l = calloc(1, sizeof(*l));
	char exe[PATH_MAX];
	int hit;

	if (!l)
		return -ENOMEM;
	l->fn = fn;
	l->arg = arg;
	hit = each_base(list_in, l, exe, sizeof(exe));
	free(l);
	if (hit)
		return 0;
	snprintf(err, errlen, "no guests found (looked in %s%s%s/../{share/"
		 "qemount/guests,guests})", getenv("QEMOUNT_GUESTS") ?
		 getenv("QEMOUNT_GUESTS") : "", getenv("QEMOUNT_GUESTS") ?
		 ", " : "", exe);
	return -ENOENT;
}
