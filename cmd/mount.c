/*
 * mount.c - qemount mount (qm-mount): one image, or a mount table of
 * several, as a FUSE mount.  See qemount-mount.1.
 *
 * The order matters: qemu dies with the thread that started it
 * (PR_SET_PDEATHSIG, lib/vm.c), so the process forks into the background
 * first, and the child boots the guests, mounts, and only then tells the
 * waiting parent over a pipe that the mountpoint works.  Each guest is
 * started from the main thread, which lives until the end.  Until it has
 * told, the child dies with the parent: a mount given up on (^C, kill)
 * never appears later.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "ns.h"
#include "nsfs.h"
#include "session.h"

#define TABLE_MAX	(1024 * 1024)

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qemount mount [-dfv] [-o OPTIONS] " SESS_USAGE
		" IMAGE MOUNTPOINT\n"
		"       qemount mount [-dfv] [-o OPTIONS] --table FILE MOUNTPOINT\n"
		"       qemount mount [-dfv] [-o OPTIONS] --bind PATH=IMAGE[:OPTS]"
		" ... MOUNTPOINT\n"
		"  IMAGE    disk image (file, URL or -) to mount on MOUNTPOINT\n"
		"  -o       ro (default) or rw, and FUSE options (allow_other ...)\n"
		"  -f       stay in the foreground; -d: and log FUSE requests\n"
		"  FILE     a mount table: IMAGE MOUNTPOINT [TYPE [OPTIONS]] a line\n"
		"  OPTS, table OPTIONS: ro rw fs=TYPE partition=N offset=N "
		"length=N timeout=S\n");
}

struct args {
	struct sess_opts so;	/* the defaults of every mount */
	struct ns *ns;
	const char *table, *mountpoint;
	char fuse_opts[1024];
	int foreground, debug, any_bind;
};

/* -o: ro and rw are ours, the rest goes to FUSE */
static void mount_opts(char *arg, struct args *a)
{
	char *tok, *save;
	size_t len;

	for (tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "ro") || !strcmp(tok, "rw")) {
			a->so.writable = tok[1] == 'w';
			continue;
		}
		len = strlen(a->fuse_opts);
		snprintf(a->fuse_opts + len, sizeof(a->fuse_opts) - len, "%s%s",
			 len ? "," : "", tok);
	}
}

/*
 * One mount's options (a table's OPTIONS, a --bind's :OPTS) over the
 * defaults in *so.  0, or -1 with the reason said.
 */
static int source_opts(const struct ns_mount *m, struct sess_opts *so)
{
	static const struct { const char *name; int c; } keys[] = {
		{ "fs=", 't' }, { "partition=", 'p' }, { "offset=", 'O' },
		{ "length=", 'L' }, { "timeout=", 'T' },
	};
	char buf[1024], *tok, *save;
	size_t i, k;

	if (m->type)
		so->fs = m->type;
	snprintf(buf, sizeof(buf), "%s", m->opts);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "ro") || !strcmp(tok, "rw")) {
			so->writable = tok[1] == 'w';
			continue;
		}
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			k = strlen(keys[i].name);
			if (!strncmp(tok, keys[i].name, k))
				break;
		}
		if (i == sizeof(keys) / sizeof(keys[0])) {
			warnx("%s: unknown option '%s'", m->source, tok);
			return -1;
		}
		if (keys[i].c == 't')	/* points into m->opts, which lives on */
			so->fs = m->opts + (tok - buf) + k;
		else if (cmd_sess_opt(keys[i].c, tok + k, so) != 1)
			return -1;
	}
	return 0;
}

static int read_table(struct args *a, char *err, size_t errlen)
{
	char *text = malloc(TABLE_MAX + 1);
	FILE *f = fopen(a->table, "r");
	size_t n = 0;
	int e;

	if (!text || !f) {
		snprintf(err, errlen, "%s: %s", a->table, strerror(errno));
		free(text);
		if (f)
			fclose(f);
		return -1;
	}
	n = fread(text, 1, TABLE_MAX + 1, f);
	e = ferror(f) ? errno : n > TABLE_MAX ? EFBIG : 0;
	fclose(f);
	text[n <= TABLE_MAX ? n : TABLE_MAX] = '\0';
	if (e)
		snprintf(err, errlen, "%s: %s", a->table, strerror(e));
	else if (strlen(text) != n)
		snprintf(err, errlen, "%s: holds a NUL byte", a->table), e = EINVAL;
	else
		e = -ns_parse_table(a->ns, text, a->table, err, errlen);
	free(text);
	return e ? -1 : 0;
}

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option longs[] = {
		{ "table", required_argument, NULL, 'M' },
		{ "bind", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		SESS_OPTIONS,
		{ 0 }
	};
	char err[1024];
	int c, r;

	while ((c = getopt_long(argc, argv, "fdo:vh", longs, NULL)) != -1) {
		r = cmd_sess_opt(c, optarg, &a->so);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'f': a->foreground = 1; break;
		case 'd': a->debug = a->foreground = 1; break;
		case 'o': mount_opts(optarg, a); break;
		case 'v': a->so.echo_log = 1; break;
		case 'M': a->table = optarg; break;
		case 'B':
			a->any_bind = 1;
			if (ns_parse_bind(a->ns, optarg, err, sizeof(err))) {
				warnx("%s", err);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != ((a->table || a->any_bind) ? 1 : 2) ||
	    (a->table && a->any_bind)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	a->mountpoint = argv[argc - 1];
	if (a->table && read_table(a, err, sizeof(err))) {
		warnx("%s", err);
		return EXIT_FAIL;
	}
	if (!a->table && !a->any_bind &&
	    ns_add(a->ns, "/", argv[optind], NULL, NULL, err, sizeof(err))) {
		warnx("%s", err);
		return EXIT_FAIL;
	}
	return 0;
}

/* ---- the lock `qemount umount` waits on ---- */

/*
 * The lock file of a mountpoint (an absolute path): held by the serving
 * process until the guests are down, so `qemount umount` can wait for
 * the image to be complete.  In /run/qemount for root, else under
 * $XDG_RUNTIME_DIR or /tmp.
 */
void cmd_mount_lock_path(const char *mnt, char *out, size_t cap)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char dir[PATH_MAX];
	uint64_t h = 0xcbf29ce484222325ULL;
	const char *p;

	for (p = mnt; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
	if (geteuid() == 0)
		snprintf(dir, sizeof(dir), "/run/qemount");
	else if (xdg && *xdg == '/')
		snprintf(dir, sizeof(dir), "%s/qemount", xdg);
	else
		snprintf(dir, sizeof(dir), "/tmp/qemount-%u", (unsigned)geteuid());
	mkdir(dir, 0700);
	snprintf(out, cap, "%s/mount-%016llx.lock", dir, (unsigned long long)h);
}

static int take_lock(const char *mnt, char *path, size_t cap)
{
	int fd;

	cmd_mount_lock_path(mnt, path, cap);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);	/* another mount on the same path: no wait */
		fd = -1;
	}
	if (fd >= 0 && ftruncate(fd, 0) == 0)
		dprintf(fd, "%ld %s\n", (long)getpid(), mnt);
	return fd;
}

/* ---- the guests ---- */

struct src {
	struct sess *s;
	struct nsfs_src fs;
	char image[PATH_MAX];
};

/* A table's relative image names are relative to the table. */
static void image_name(const struct args *a, const char *src, char *out,
		       size_t cap)
{
	const char *slash = a->table ? strrchr(a->table, '/') : NULL;

	if (!a->table || src[0] == '/' || !strcmp(src, "-") ||
	    strstr(src, "://"))
		snprintf(out, cap, "%s", src);
	else if (!slash)
		snprintf(out, cap, "%s", src);
	else
		snprintf(out, cap, "%.*s/%s", (int)(slash - a->table), a->table,
			 src);
}

/* Boot one guest per mount, in order, from this (the main) thread. */
static int boot_all(struct args *a, struct src *srcs)
{
	struct sess_opts so;
	struct ns_mount *m;
	char err[2048];
	size_t i;

	for (i = 0; i < ns_count(a->ns); i++) {
		m = ns_mount_at(a->ns, i);
		so = a->so;
		if (source_opts(m, &so))
			return -1;
		image_name(a, m->source, srcs[i].image, sizeof(srcs[i].image));
		so.image = srcs[i].image;
		if (sess_open(&so, &srcs[i].s, err, sizeof(err))) {
			warnx("%s: %s", so.image, err);
			return -1;
		}
		srcs[i].fs.c = sess_client(srcs[i].s);
		srcs[i].fs.root = sess_root(srcs[i].s);
		srcs[i].fs.writable = so.writable;
		srcs[i].fs.name = srcs[i].image;
		m->data = &srcs[i].fs;
		if (so.writable)
			a->so.writable = 1;	/* FUSE read-write, then */
	}
	return 0;
}

/*
 * Shut every guest down, the last first; 0 if all went cleanly.  What
 * went wrong is said only if quiet is 0 (the run failed for a reason
 * already said: a guest that died is not shut down cleanly either).
 */
static int close_all(struct args *a, struct src *srcs, int quiet)
{
	char err[1024];
	size_t i = ns_count(a->ns);
	int rc = 0;

	while (i-- > 0) {
		if (!srcs[i].s)
			continue;
		if (sess_close(srcs[i].s, NULL, err, sizeof(err))) {
			if (!quiet)
				warnx("%s: %s", srcs[i].image, err);
			rc = -1;
		}
	}
	return rc;
}

/*
 * The mount is up: let the waiting parent go, and leave the terminal.
 * -1 if the parent is gone (killed while it waited): nobody wants the
 * mount then.
 */
static int ready(int *notify)
{
	int null, told;

	if (*notify < 0)
		return 0;
	prctl(PR_SET_PDEATHSIG, 0);	/* from now on we outlive it */
	told = write(*notify, "k", 1) == 1;
	close(*notify);
	*notify = -1;
	if (!told)
		return -1;
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	return 0;
}

/* Everything after the fork: boot, mount, serve, shut down. */
static int serve(struct args *a, const char *mnt, int notify)
{
	struct nsfs_config cfg = { .mountpoint = mnt };
	struct src *srcs = calloc(ns_count(a->ns), sizeof(*srcs));
	struct nsfs *fs = NULL;
	char err[2048], lock[PATH_MAX], name[PATH_MAX];
	int rc = EXIT_FAIL, lockfd = -1;

	if (!srcs || boot_all(a, srcs))
		goto out;
	/* what /proc/mounts and df show: the image (or table), absolute */
	cfg.fsname = ns_count(a->ns) == 1 ? srcs[0].image :
		     a->table ? a->table : "qemount";
	if (realpath(cfg.fsname, name))
		cfg.fsname = name;
	cfg.fuse_opts = a->fuse_opts[0] ? a->fuse_opts : NULL;
	cfg.writable = a->so.writable;
	cfg.debug = a->debug;
	if (nsfs_new(a->ns, &cfg, &fs, err, sizeof(err))) {
		warnx("%s", err);
		goto out;
	}
	lockfd = take_lock(mnt, lock, sizeof(lock));
	if (ready(&notify))
		goto out;
	if (chdir("/") != 0)
		warn("chdir /");
	rc = 0;
	if (nsfs_run(fs, err, sizeof(err))) {
		warnx("%s", err);
		rc = EXIT_FAIL;
	}
out:
	nsfs_free(fs);	/* unmounts */
	if (srcs && close_all(a, srcs, rc != 0))
		rc = EXIT_FAIL;
	free(srcs);
	if (lockfd >= 0) {
		unlink(lock);
		close(lockfd);
	}
	return rc;
}

/*
 * Fork; the parent waits until the child says the mount is ready (exit
 * 0) or ends (its status: it has said why on the shared stderr).
 */
static int background(struct args *a, const char *mnt)
{
	int p[2], status;
	pid_t pid, parent = getpid();
	char c = 0;

	if (pipe2(p, O_CLOEXEC) != 0)
		err(EXIT_FAIL, "pipe");
	pid = fork();
	if (pid < 0)
		err(EXIT_FAIL, "fork");
	if (pid == 0) {
		close(p[0]);
		setsid();
		/* SIGTERM: a mount already made is unmounted (nsfs_new) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)	/* it died before prctl */
			exit(EXIT_FAIL);
		exit(serve(a, mnt, p[1]));
	}
	close(p[1]);
	while (read(p[0], &c, 1) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (c == 'k')
		return 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	warnx("%s: its server was killed before the mount was up (%s)",
	      a->mountpoint, strsignal(WTERMSIG(status)));
	return EXIT_FAIL;
}

int cmd_mount(int argc, char **argv)
{
	struct args a;
	char mnt[PATH_MAX];
	struct stat st;
	int rc;

	memset(&a, 0, sizeof(a));
	if (ns_new(&a.ns))
		errx(EXIT_FAIL, "%s", strerror(ENOMEM));
	rc = parse(argc, argv, &a);
	if (rc)
		goto out;
	rc = EXIT_FAIL;
	if (!realpath(a.mountpoint, mnt) || stat(mnt, &st) != 0) {
		warn("%s", a.mountpoint);
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		warnx("%s: not a directory", a.mountpoint);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = a.foreground ? serve(&a, mnt, -1) : background(&a, mnt);
out:
	ns_free(a.ns);
	return rc;
}
