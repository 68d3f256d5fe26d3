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
 * Read dir/manifest: does it list fs?  Returns 1 read-only, 2
 * read-write, 0 no (or no manifest).  Fills g->priority and g->machine
 * from the registry lines either way.
 */
static int read_manifest(const char *dir, const char *fs, struct guest *g)
{
	char path[PATH_MAX], line[1024], name[64], val[128];
	int found = 0, prio;
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
		else if (name[0] != '@' && !found && strcmp(name, fs) == 0)
			found = strcmp(val, "rw") == 0 ? 2 : 1;
	}
	if (f)
		fclose(f);
	return found;
}

/* Does dir/mkfs.txt have a line for fs? */
static int formats(const char *dir, const char *fs)
{
	char path[PATH_MAX], line[1024], name[64];
	int found = 0;
	FILE *f;

	if (!fits(snprintf(path, sizeof(path), "%s/mkfs.txt", dir),
		  sizeof(path)))
		return 0;
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		found = line[0] != '#' && sscanf(line, "%63s", name) == 1 &&
			strcmp(name, fs) == 0;
	if (f)
		fclose(f);
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

/*
 * Is base/name a guest that does what need says with fs, and has its
 * kernel and initrd?  Fills *g if so.
 */
static int candidate(const char *base, const char *name, const char *fs,
		     enum guest_need need, struct guest *g)
{
	const char *initrd = need == GUEST_FORMAT ? "initramfs-mkfs.cpio" :
						    "initramfs.cpio";
	char dir[PATH_MAX];
	int mode;

	if (name[0] == '.' || strlen(name) >= sizeof(g->name) ||
	    !fits(snprintf(dir, sizeof(dir), "%s/%s", base, name),
		  sizeof(dir)))
		return 0;
	mode = read_manifest(dir, fs, g);
	if (!mode || (need != GUEST_READ && mode != 2) ||
	    (need == GUEST_FORMAT && !formats(dir, fs)) ||
	    !fits(snprintf(g->kernel, sizeof(g->kernel), "%s/vmlinux", dir),
		  sizeof(g->kernel)) ||
	    !fits(snprintf(g->initrd, sizeof(g->initrd), "%s/%s", dir,
			   initrd), sizeof(g->initrd)) ||
	    access(g->kernel, R_OK) != 0 || access(g->initrd, R_OK) != 0)
		return 0;
	snprintf(g->name, sizeof(g->name), "%s", name);
	read_cmdline(dir, g->cmdline, sizeof(g->cmdline));
	g->writable = mode == 2;
	return 1;
}

/*
 * The best guest in base/ for fs: highest priority, then first by name.
 * Only the guest named only, if that is not NULL.  1 if one was found.
 */
static int scan(const char *base, const char *only, const char *fs,
		enum guest_need need, struct guest *g)
{
	struct guest *c = malloc(sizeof(*c));
	struct dirent *d;
	int hit = 0;
	DIR *dp = c ? opendir(base) : NULL;

	while (dp && (d = readdir(dp))) {
		if (only && strcmp(d->d_name, only) != 0)
			continue;
		if (!candidate(base, d->d_name, fs, need, c))
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
	static const char *const verb[] = { "reads", "writes", "formats" };
	char exe[PATH_MAX], base[PATH_MAX], *slash;
	const char *env = getenv("QEMOUNT_GUESTS");
	const char *only = getenv("QEMOUNT_GUEST");
	static const char *const rel[] = { "../share/qemount/guests",
					   "../guests" };
	ssize_t n;
	size_t i;

	if (only && !*only)
		only = NULL;
	if (env && *env && scan(env, only, fs, need, g))
		return 0;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash)
			*slash = '\0';
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			if (fits(snprintf(base, sizeof(base), "%s/%s", exe,
					  rel[i]), sizeof(base)) &&
			    scan(base, only, fs, need, g))
				return 0;
		}
	}
	snprintf(err, errlen, "no guest%s%s%s %s %s (looked in %s%s%s/../{share/"
		 "qemount/guests,guests})", only ? " named " : "",
		 only ? only : "", only ? " (QEMOUNT_GUEST) that" : "",
		 verb[need], fs, env ? env : "",
		 env ? ", " : "", n > 0 ? exe : "?");
	return -ENOENT;
}
