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

/* snprintf that says whether it all fitted */
static int fits(int n, size_t cap)
{
	return n >= 0 && (size_t)n < cap;
}

/* Does the manifest in dir list fs?  1 read-only, 2 read-write, 0 no. */
static int manifest_mode(const char *dir, const char *fs)
{
	char path[PATH_MAX], line[1024], name[64], mode[8];
	int found = 0;
	FILE *f;

	if (!fits(snprintf(path, sizeof(path), "%s/manifest", dir),
		  sizeof(path)))
		return 0;
	f = fopen(path, "r");
	while (f && !found && fgets(line, sizeof(line), f))
		if (line[0] != '#' && line[0] != '@' &&
		    sscanf(line, "%63s %7s", name, mode) == 2 &&
		    strcmp(name, fs) == 0)
			found = strcmp(mode, "rw") == 0 ? 2 : 1;
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

/* Look in base/ for a guest folder that serves fs. */
static int scan(const char *base, const char *fs, int write, struct guest *g)
{
	char dir[PATH_MAX];
	struct dirent *d;
	int mode, hit = 0;
	DIR *dp = opendir(base);

	while (dp && !hit && (d = readdir(dp))) {
		if (d->d_name[0] == '.' || strlen(d->d_name) >= sizeof(g->name))
			continue;
		if (!fits(snprintf(dir, sizeof(dir), "%s/%s", base, d->d_name),
			  sizeof(dir)))
			continue;
		mode = manifest_mode(dir, fs);
		if (!mode || (write && mode != 2) ||
		    !fits(snprintf(g->kernel, sizeof(g->kernel), "%s/vmlinux",
				   dir), sizeof(g->kernel)) ||
		    !fits(snprintf(g->initrd, sizeof(g->initrd),
				   "%s/initramfs.cpio", dir), sizeof(g->initrd)))
			continue;
		snprintf(g->name, sizeof(g->name), "%s", d->d_name);
		read_cmdline(dir, g->cmdline, sizeof(g->cmdline));
		g->writable = mode == 2;
		hit = access(g->kernel, R_OK) == 0 && access(g->initrd, R_OK) == 0;
	}
	if (dp)
		closedir(dp);
	return hit;
}

int guest_find(const char *fs, int write, struct guest *g, char *err,
	       size_t errlen)
{
	char exe[PATH_MAX], base[PATH_MAX], *slash;
	const char *env = getenv("QEMOUNT_GUESTS");
	static const char *const rel[] = { "../share/qemount/guests",
					   "../guests" };
	ssize_t n;
	size_t i;

	if (env && *env && scan(env, fs, write, g))
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
			    scan(base, fs, write, g))
				return 0;
		}
	}
	snprintf(err, errlen, "no guest %s %s (looked in %s%s%s/../{share/"
		 "qemount/guests,guests})", write ? "writes" : "reads", fs,
		 env ? env : "", env ? ", " : "", n > 0 ? exe : "?");
	return -ENOENT;
}
