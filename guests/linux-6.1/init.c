/*
 * init.c - PID 1 of the linux-6.1 guest.
 *
 * Loads the kernel modules build.sh put in the initramfs, mounts the
 * image at /mnt and serves it over 9P2000.L (lib/p9/server.h) on the
 * virtio-serial port named qemount0 until the host closes it; then
 * unmounts, syncs and powers off.  Orders come from the kernel command
 * line only (DESIGN.md, "Host <-> guest"):
 *
 *   qm.fs=NAME     which line of modules.txt to follow (required): the
 *                  modules to load, and the mount(2) type (default NAME),
 *                  source, data, or a mount helper (see the manifest)
 *   qm.rw=1        mount read-write (default read-only)
 *   qm.dev=PATH    block device (default /dev/vda)
 *   qm.opts=DATA   mount data, instead of the line's (default none)
 *   qm.parts=N:NAME,...  instead of qm.fs and qm.dev: mount each
 *                  partition /dev/vdaN as NAME at /mnt/N and serve /mnt;
 *                  one that fails is said on the console and left out
 *   qm.mkfs=1      format the device first, as /etc/mkfs.txt's line for
 *                  NAME says (only in initramfs-mkfs.cpio), and mount it
 *                  read-write
 *   qm.label=L     with qm.mkfs: the volume label
 *   qm.mkfsarg=A   with qm.mkfs: one more formatter argument (repeatable)
 *   qm.seed=HEX    with qm.mkfs: 32 random bytes from the host, credited
 *                  to the kernel's random pool before the formatter runs
 *   qm.time=1      say on the console when init started and the mount
 *                  was done, by the kernel's clock (qemount -v)
 * Values are %XX-escaped where a byte is not a letter, digit or one of
 * "-_.,:/=+@" (the command line splits at spaces).
 *
 * The export ends when the host closes the port, or earlier when it sends
 * the commit request (lib/p9/server.h): then /mnt is unmounted at once and
 * the host told whether that went cleanly, every write having reached the
 * disk - how `qemount pack` knows the image it wrote is whole.
 *
 * Nothing is printed in the normal path: the serial console is slow
 * under TCG.  What the kernel logged of the served filesystem losing
 * data (an error naming the disk, a read past its end), while mounting
 * it and while serving it, is said after each, "qemount-init: fs error:
 * ..." a record: the host then fails the session (a driver such as
 * FAT's ends a directory it could not read as if it were complete).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define MODDIR		"/lib/modules"
#define MODLIST		MODDIR "/modules.txt"
#define MKFSLIST	"/etc/mkfs.txt"
#define MAX_ARGS	48
#define OUT_MAX		4096	/* the tail of a program's output kept */
#define PORTS		"/sys/class/virtio-ports"
#define PORTNAME	"qemount0"
#define MNT		"/mnt"
#define WAIT_MS		10000
#define STEP_MS		10
#define MAX_OPTS	4
#define MAX_PARTS	64

static char cmdline[4096];

/* How to mount a filesystem: its modules.txt line, less the modules. */
struct fsdef {
	char type[64];		/* for mount(2); "" means NAME */
	char dev[256];		/* mount source; "" means the disk */
	char opts[MAX_OPTS][256];	/* mount data to try, in order */
	int nopts;
	char helper[256];	/* mount helper program, or "" */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	va_list ap;

	fputs("qemount-init: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Seconds since the kernel's clock started (early in its boot). */
/* A small file's text (of /proc) into buf, NUL-terminated; length or -1. */
static ssize_t read_text(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, cap - 1);

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static double uptime(void)
{
	struct timespec t;

	clock_gettime(CLOCK_BOOTTIME, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * The value of the next KEY=... word of the command line from *p on (and
 * its length in *len), moving *p past it; NULL if there is none.
 */
static const char *next_value(const char **p, const char *key, size_t *len)
{
	size_t klen = strlen(key), n;
	const char *w;

	while (**p) {
		*p += strspn(*p, " \n");
		w = *p;
		n = strcspn(w, " \n");
		*p += n;
		if (n > klen && w[klen] == '=' && !strncmp(w, key, klen)) {
			*len = n - klen - 1;
			return w + klen + 1;
		}
	}
	return NULL;
}

/* Value of KEY=... on the command line, copied into buf; NULL if absent. */
static const char *arg(const char *key, char *buf, size_t cap)
{
	const char *p = cmdline, *v;
	size_t n;

	if (!(v = next_value(&p, key, &n)))
		return NULL;
	if (n >= cap)
		n = cap - 1;
	memcpy(buf, v, n);
	buf[n] = '\0';
	return buf;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Undo the host's %XX escapes in s, in place. */
static char *unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (r[0] == '%' && hexval(r[1]) >= 0 && hexval(r[2]) >= 0) {
			*w++ = (char)(hexval(r[1]) << 4 | hexval(r[2]));
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return s;
}

/*
 * Append every value of KEY=... on the command line, unescaped, to
 * argv[*n..max) (copies that live until exit).  Returns -1 if some did
 * not fit.
 */
static int arg_each(const char *key, char **argv, int *n, int max)
{
	const char *p = cmdline, *v;
	size_t len;
	char *copy;

	while ((v = next_value(&p, key, &len))) {
		if (*n >= max || !(copy = strndup(v, len)))
			return -1;
		argv[(*n)++] = unescape(copy);
	}
	return 0;
}

/*
 * Load a module: word is FILE.ko in directory dirfd, or FILE.ko:PARAMS
 * with its parameters.
 */
static void load(int dirfd, char *word)
{
	char *params = strchr(word, ':');
	int fd;

	if (params)
		*params++ = '\0';
	fd = openat(dirfd, word, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (syscall(SYS_finit_module, fd, params ? params : "", 0) &&
		       errno != EEXIST))
		say("load %s: %s", word, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* Copy the value of word into dst if word is KEY=value; 1 if it was. */
static int setting(const char *word, const char *key, char *dst, size_t cap)
{
	size_t klen = strlen(key);

	if (strncmp(word, key, klen) || word[klen] != '=')
		return 0;
	snprintf(dst, cap, "%s", word + klen + 1);
	return 1;
}

/*
 * Follow the modules.txt line NAME: load its modules in order and fill
 * *d from its other words.  Lines are "NAME FILE.ko[:PARAMS]... [type=T]
 * [dev=D] [opts=O]... [helper=PATH]", written by build.sh.  Returns 0,
 * or -1 if no line.
 */
static int load_set(const char *name, struct fsdef *d)
{
	char line[4096], *tok, *save;
	int dirfd, found = -1;
	FILE *f;

	memset(d, 0, sizeof(*d));
	dirfd = open(MODDIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	f = fopen(MODLIST, "re");
	while (f && found && fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \t\n", &save);
		if (!tok || strcmp(tok, name))
			continue;
		while ((tok = strtok_r(NULL, " \t\n", &save))) {
			if (setting(tok, "type", d->type, sizeof(d->type)) ||
			    setting(tok, "dev", d->dev, sizeof(d->dev)) ||
			    setting(tok, "helper", d->helper, sizeof(d->helper)))
				continue;
			if (!strncmp(tok, "opts=", 5)) {	/* past MAX_OPTS: dropped */
				if (d->nopts < MAX_OPTS)
					setting(tok, "opts", d->opts[d->nopts++],
						sizeof(d->opts[0]));
				continue;
			}
			load(dirfd, tok);
		}
		found = 0;
	}
	if (f)
		fclose(f);
	if (dirfd >= 0)
		close(dirfd);
	return found;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

/* Wait up to WAIT_MS for path to exist; 0 or -1. */
static int wait_path(const char *path)
{
	int t;

	for (t = 0; t < WAIT_MS; t += STEP_MS) {
		if (!access(path, F_OK))
			return 0;
		sleep_ms(STEP_MS);
	}
	say("%s did not appear", path);
	return -1;
}

/* True if /sys/class/virtio-ports/PORT/name reads PORTNAME. */
static int port_named(const char *port)
{
	char path[300], name[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), PORTS "/%s/name", port);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, name, sizeof(name) - 1);
	close(fd);
	name[n > 0 ? n : 0] = '\0';
	name[strcspn(name, "\n")] = '\0';
	return !strcmp(name, PORTNAME);
}

/*
 * Find the port the host named PORTNAME and open it.  Its node is
 * /dev/vport<virtio index>p<port>, so the number depends on the order of
 * the devices; the name comes in a control message after the node.
 */
static int open_port(void)
{
	char path[300];
	struct dirent *e;
	int t, fd;
	DIR *d;

	for (t = 0; t < WAIT_MS; t += STEP_MS) {
		d = opendir(PORTS);
		while (d && (e = readdir(d))) {
			if (e->d_name[0] == '.' || !port_named(e->d_name))
				continue;
			snprintf(path, sizeof(path), "/dev/%s", e->d_name);
			closedir(d);
			if (wait_path(path))
				return -1;
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd < 0)
				say("open %s: %s", path, strerror(errno));
			return fd;
		}
		if (d)
			closedir(d);
		sleep_ms(STEP_MS);
	}
	say("no virtio port named %s", PORTNAME);
	return -1;
}

/*
 * A port reads end of file until the host side is connected, and the
 * control message saying so may come after the node appears: wait for
 * poll to stop reporting a hang-up.
 */
static void wait_host(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int t;

	for (t = 0; t < WAIT_MS; t += STEP_MS) {
		if (poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP))
			return;
		sleep_ms(STEP_MS);
	}
	say("port %s: host not connected", PORTNAME);
}

/* What the export holds; the commit request ends it (commit()). */
struct export {
	int rootfd;		/* O_PATH of MNT, -1 once closed */
	int mounted;
	/* a read-write export: MNT and the disk, opened when mounted, so
	 * that commit() hears of every write the disk failed after that
	 * (the kernel reports a writeback error to each file opened before
	 * it: syncfs(2), fsync(2)); -1 if not */
	int syncfd, devfd;
};

/* Wait up to WAIT_MS for every child (a FUSE driver's server) to end. */
static void reap_all(void)
{
	int t;

	for (t = 0; t < WAIT_MS; t += STEP_MS) {
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		if (waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD)
			return;
		sleep_ms(STEP_MS);
	}
	say("a mount helper did not exit after the unmount");
}

/*
 * The server's commit hook (lib/p9/server.h): unmount now and say
 * whether it went cleanly, every write on the disk.  The server has
 * closed its fds already.  Also the end of every export (main).
 */
static int commit(void *arg)
{
	struct export *x = arg;
	int err = 0;

	if (x->rootfd >= 0)
		close(x->rootfd);
	x->rootfd = -1;
	if (x->syncfd >= 0) {
		if (syncfs(x->syncfd)) {
			err = errno;
			say("writing back %s: %s", MNT, strerror(err));
		}
		close(x->syncfd);
		x->syncfd = -1;
	}
	if (x->mounted) {
		if (umount(MNT)) {
			err = errno;
			say("umount %s: %s", MNT, strerror(err));
			return -err;
		}
		x->mounted = 0;
		reap_all();
	}
	sync();
	if (x->devfd >= 0) {	/* what the unmount (or a helper) wrote */
		if (fsync(x->devfd) && !err) {
			err = errno;
			say("writing the disk: %s", strerror(err));
		}
		close(x->devfd);
		x->devfd = -1;
	}
	return -err;
}

/*
 * Every fid holds an open handle, and a FUSE mount on the host keeps a
 * fid for each inode its kernel remembers: a `find` or `tar` through it
 * holds one per file it has seen.  The default limit (1024) would end
 * such a walk at a thousand files with EMFILE; the kernel's own ceiling
 * (fs.nr_open) leaves guest memory as the bound.
 */
static void raise_nofile(void)
{
	struct rlimit rl;
	char buf[32];

	if (read_text("/proc/sys/fs/nr_open", buf, sizeof(buf)) <= 0)
		return;
	rl.rlim_cur = rl.rlim_max = strtoul(buf, NULL, 10);
	if (setrlimit(RLIMIT_NOFILE, &rl))
		say("open file limit %lu: %s", (unsigned long)rl.rlim_max,
		    strerror(errno));
}

static void serve(struct export *x, int attach_errno, int rw)
{
	struct p9_server_config cfg = {
		.rootfd = x->rootfd,
		.attach_errno = attach_errno,
		.readonly = !rw,
		.commit = commit,
		.commit_arg = x,
	};
	struct p9_server *s;
	int fd, rc;

	fd = open_port();
	if (fd < 0)
		return;
	wait_host(fd);
	raise_nofile();
	rc = p9_server_new(&cfg, &s);
	if (!rc) {
		rc = p9_server_serve(s, fd, fd);
		p9_server_free(s);
	}
	if (rc)
		say("9p: %s", strerror(-rc));
	close(fd);
}

/*
 * The kernel log from here on: /dev/kmsg opened at its end.  With
 * `quiet` the console shows errors only, but a driver often says why a
 * mount failed at warning level ("bad geometry: ...").
 */
static int kmsg_mark(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * Each record the kernel logged since kmsg_mark: fn(level, msg, arg),
 * msg the record's text ("\x0a" between the lines of a message of
 * several: the kernel escapes what is not printable).
 */
static void kmsg_each(int fd, void (*fn)(int, char *, void *), void *arg)
{
	char rec[1024], *msg, *end;
	ssize_t n;

	while (fd >= 0 && (n = read(fd, rec, sizeof(rec) - 1)) != 0) {
		if (n < 0 && errno == EPIPE)	/* overwritten: skip on */
			continue;
		if (n < 0)
			break;
		rec[n] = '\0';
		/* "prefix,seq,usec,flags;message\n continuation...", the
		 * prefix the facility * 8 + the level */
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		end = strchr(++msg, '\n');
		if (end)
			*end = '\0';
		fn(atoi(rec) & 7, msg, arg);
	}
}

/*
 * A record, said one "qemount-init: kernel: LINE" each, whatever its
 * level: what the host shows as the guest's reason (lib/session.c).
 */
static void say_kernel(int level, char *msg, void *arg)
{
	char *cut;

	(void)level;
	(void)arg;
	for (; (cut = strstr(msg, "\\x0a")); msg = cut + 4) {
		*cut = '\0';
		if (*msg)
			say("kernel: %s", msg);
	}
	if (*msg)
		say("kernel: %s", msg);
}

#define FS_ERRORS_MAX	3	/* said each time, at most: one line on the host */
#define DISK	"vda"	/* the image, as the kernel names the disk */

/* What drivers log at error level of a disk that mounts whole. */
static const char *const benign[] = {
	/* mtdsuper: romfs and cramfs try MTD first, then mount the disk */
	"MTD: Attempt to mount non-MTD device",
	/* mkfs.bfs makes 512 inodes, one more than the driver's maximum */
	"BFS-fs: bfs_fill_super(): NOTE: ",
};

/*
 * A record that says the served filesystem lost data: an error (or
 * worse) naming the disk, not a benign[] one, or a read past its end
 * (a cut image: logged as information).  Said as one "qemount-init: fs
 * error: MESSAGE" line.
 */
static void say_fs_error(int level, char *msg, void *arg)
{
	int *n = arg;
	char *r, *w;
	size_t i;

	if (!strstr(msg, "beyond end of device")) {
		if (level > LOG_ERR || !strstr(msg, DISK))
			return;
		for (i = 0; i < sizeof(benign) / sizeof(benign[0]); i++)
			if (!strncmp(msg, benign[i], strlen(benign[i])))
				return;
	}
	if ((*n)++ >= FS_ERRORS_MAX)
		return;
	for (r = w = msg; *r;) {	/* "\x0a" between lines: "; " */
		if (!strncmp(r, "\\x0a", 4)) {
			*w++ = ';';
			*w++ = ' ';
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	say("fs error: %s", msg);
}

/*
 * Say what the kernel logged since kmsg_mark of the served filesystem
 * losing data (say_fs_error), and how many more such records it skipped.
 */
static void kmsg_fs_errors(int fd)
{
	int n = 0;

	kmsg_each(fd, say_fs_error, &n);
	if (n > FS_ERRORS_MAX)
		say("fs error: (%d more)", n - FS_ERRORS_MAX);
}

/*
 * Run argv[0] with argv and wait for it.  Its output goes to a pipe, not
 * the slow console; if it fails, the last OUT_MAX bytes are said, one
 * "qemount-init: TAG: LINE" each (lib/session.c quotes them to the
 * user).  0, or EIO.
 */
static int run(char *const argv[], const char *tag)
{
	char *envp[] = { "PATH=/bin:/sbin:/usr/bin:/usr/sbin", "HOME=/tmp",
			 NULL };
	static char out[OUT_MAX + 1];
	size_t have = 0;
	int p[2], status;
	char *line, *save;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC))
		return errno;
	pid = fork();
	if (pid < 0)
		return errno;
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		execve(argv[0], argv, envp);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], out + have, OUT_MAX - have)) > 0 ||
	       (n < 0 && errno == EINTR)) {
		have += n > 0 ? n : 0;
		if (have == OUT_MAX) {	/* keep the second half: the end */
			memmove(out, out + OUT_MAX / 2, OUT_MAX / 2);
			have = OUT_MAX / 2;
		}
	}
	close(p[0]);
	out[have] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	for (line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		say("%s: %s", tag, line);
	/* not quoted: the program's own last lines are the reason */
	if (WIFEXITED(status))
		say("%s: exit %d", argv[0], WEXITSTATUS(status));
	else
		say("%s: signal %d", argv[0], WTERMSIG(status));
	return EIO;
}

/*
 * Run a mount helper as mount(8) would run mount.TYPE: HELPER DEV /mnt
 * -o ro|rw[,DATA].  A FUSE driver forks its server into the background
 * and exits once the mount is in place.  0 or an errno.
 */
static int run_helper(const char *helper, const char *dev, const char *at,
		      const char *data, int rw)
{
	char o[300];
	char *argv[] = { (char *)helper, (char *)dev, (char *)at, "-o", o,
			 NULL };

	snprintf(o, sizeof(o), "%s%s%s", rw ? "rw" : "ro", data[0] ? "," : "",
		 data);
	return run(argv, "helper");
}

/* RNDADDENTROPY (linux/random.h): its number, and its argument */
#define RNDADDENTROPY	_IOW('R', 0x03, int[2])
#define SEED_BYTES	32

struct seed {
	int entropy_count;	/* bits */
	int buf_size;		/* bytes */
	unsigned char buf[SEED_BYTES];
};

/*
 * Credit the host's qm.seed to the random pool.  A guest with no
 * entropy source waits seconds for its pool to be ready, and formatters
 * ask for random UUIDs and hash seeds at once (mke2fs waited 4.2 s).
 */
static void seed_random(void)
{
	struct seed sd = { SEED_BYTES * 8, SEED_BYTES, { 0 } };
	char hex[2 * SEED_BYTES + 1];
	int i, fd;

	if (!arg("qm.seed", hex, sizeof(hex)) || strlen(hex) != 2 * SEED_BYTES)
		return;
	for (i = 0; i < SEED_BYTES; i++) {
		if (hexval(hex[2 * i]) < 0 || hexval(hex[2 * i + 1]) < 0)
			return;
		sd.buf[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
	}
	fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, RNDADDENTROPY, &sd))
		say("seeding the random pool: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * Format dev as fs: "PATH ARG... [label=FLAG]", the MKFSLIST line NAME,
 * then the label, the host's qm.mkfsarg= words and dev.  0 or an errno.
 */
static int mkfs(const char *fs, const char *dev)
{
	char line[1024], *argv[MAX_ARGS + 1], *tok, *save, *flag = NULL;
	char *label[1];
	int n = 0, nlabel = 0, err = ENODEV;
	FILE *f = fopen(MKFSLIST, "re");

	while (f && err == ENODEV && fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \t\n", &save);
		if (!tok || strcmp(tok, fs))
			continue;
		err = 0;
		while ((tok = strtok_r(NULL, " \t\n", &save)) && n < MAX_ARGS - 4)
			if (!strncmp(tok, "label=", 6))
				flag = tok + 6;
			else
				argv[n++] = tok;
	}
	if (f)
		fclose(f);
	if (err) {
		say("mkfs: no formatter for %s in %s", fs, MKFSLIST);
		return err;
	}
	if (arg_each("qm.label", label, &nlabel, 1) == 0 && nlabel && flag) {
		argv[n++] = flag;
		argv[n++] = label[0];
	}
	if (arg_each("qm.mkfsarg", argv, &n, MAX_ARGS - 1)) {
		say("mkfs: too many arguments");
		return E2BIG;
	}
	argv[n++] = (char *)dev;
	argv[n] = NULL;
	return run(argv, "mkfs");
}

/*
 * Mount disk (or d's source) at at as d says: with its helper, or with
 * mount(2) and each of its mount data in turn (qm.opts, if given,
 * instead).  0 or the errno of the last try.
 */
static int mount_fs(const char *fs, const struct fsdef *d, const char *disk,
		    const char *at, const char *opts, int rw)
{
	const char *type = d->type[0] ? d->type : fs;
	const char *dev = d->dev[0] ? d->dev : disk;
	unsigned long flags = (rw ? 0 : MS_RDONLY) | MS_NOSUID | MS_NODEV;
	int i, n = opts[0] || !d->nopts ? 1 : d->nopts, err = 0;

	if (d->helper[0])
		return run_helper(d->helper, dev, at, opts[0] ? opts : d->nopts ?
				  d->opts[0] : "", rw);
	for (i = 0; i < n; i++) {
		const char *data = opts[0] ? opts : d->nopts ? d->opts[i] : "";

		if (!mount(dev, at, type, flags, data[0] ? data : NULL))
			return 0;
		err = errno;
	}
	return err;
}

/*
 * qm.fs: mount dev (or the fs line's source) at MNT, formatted first if
 * format; 0 or an errno.
 */
static int mount_disk(const char *fs, const char *dev, const char *opts,
		      int rw, int format)
{
	struct fsdef def;
	int kmsg, err;

	/* before the filesystem's modules: block2mtd opens the disk */
	if (wait_path(dev))
		return ENXIO;
	if (load_set(fs, &def)) {
		say("no modules listed for %s", fs);
		return ENODEV;
	}
	if (format) {
		seed_random();
		if ((err = mkfs(fs, dev)))
			return err;
	}
	kmsg = kmsg_mark();
	err = mount_fs(fs, &def, dev, MNT, opts, rw);
	if (err) {
		kmsg_each(kmsg, say_kernel, NULL);
		say("mount %s as %s failed: %s", def.dev[0] ? def.dev : dev,
		    fs, strerror(err));
	} else {	/* FAT reads its root at mount: an error there */
		kmsg_fs_errors(kmsg);
	}
	if (kmsg >= 0)
		close(kmsg);
	return err;
}

/*
 * qm.parts: mount each "N:NAME" of list at MNT/N, from /dev/vdaN.  A
 * partition that does not mount is said on the console ("partition N:
 * ...", which the host quotes) and its directory removed.  Fills
 * done[] with the numbers mounted; returns how many.
 */
static int mount_parts(char *list, int rw, int *done)
{
	char *item, *save, *fs, dir[32], dev[32];
	struct fsdef def;
	int n = 0, num, kmsg, err;

	for (item = strtok_r(list, ",", &save); item && n < MAX_PARTS;
	     item = strtok_r(NULL, ",", &save)) {
		fs = strchr(item, ':');
		if (!fs || (num = atoi(item)) < 1)
			continue;
		fs++;
		snprintf(dir, sizeof(dir), MNT "/%d", num);
		snprintf(dev, sizeof(dev), "/dev/vda%d", num);
		mkdir(dir, 0755);
		kmsg = kmsg_mark();
		err = wait_path(dev) ? ENXIO : load_set(fs, &def) ? ENODEV :
		      mount_fs(fs, &def, dev, dir, "", rw);
		if (err) {
			kmsg_each(kmsg, say_kernel, NULL);
			say("partition %d: mount %s as %s failed: %s", num, dev,
			    fs, strerror(err));
			rmdir(dir);
		} else {
			kmsg_fs_errors(kmsg);
			done[n++] = num;
		}
		if (kmsg >= 0)
			close(kmsg);
	}
	return n;
}

int main(void)
{
	char fs[64], dev[256], opts[1024], flag[8], parts[2048], dir[32];
	struct export x = { .rootfd = -1, .syncfd = -1, .devfd = -1 };
	int fd, rw, format, multi, err = 0, done[MAX_PARTS], ndone = 0, kmsg;
	double t_init = uptime();
	struct fsdef def;

	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
	/* what the programs we run expect of a system: a mount table
	 * (mkfs.nilfs2, mount helpers), somewhere to write (hformat's $HOME) */
	mkdir("/etc", 0755);
	symlink("/proc/mounts", "/etc/mtab");
	mkdir("/tmp", 01777);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);

	read_text("/proc/cmdline", cmdline, sizeof(cmdline));
	multi = arg("qm.parts", parts, sizeof(parts)) != NULL;
	if (!multi && (!arg("qm.fs", fs, sizeof(fs)) || !fs[0])) {
		say("no qm.fs= on the kernel command line");
		strcpy(fs, "none");
		err = EINVAL;
	}
	if (!arg("qm.dev", dev, sizeof(dev)))
		strcpy(dev, "/dev/vda");
	if (!arg("qm.opts", opts, sizeof(opts)))
		opts[0] = '\0';
	format = arg("qm.mkfs", flag, sizeof(flag)) && !strcmp(flag, "1");
	rw = format || (arg("qm.rw", flag, sizeof(flag)) && !strcmp(flag, "1"));

	if (load_set("@boot", &def))
		say("no @boot line in %s", MODLIST);
	/* an open of the disk waits for its partition scan, whose
	 * complaints (a disk too small for an Amiga RDB) are not a
	 * filesystem's errors (kmsg_fs_errors) */
	if (!wait_path(dev) && (fd = open(dev, O_RDONLY | O_CLOEXEC)) >= 0)
		close(fd);
	if (multi)
		ndone = mount_parts(parts, rw, done);
	else if (!err)
		err = mount_disk(fs, dev, opts, rw, format);
	x.mounted = !multi && !err;
	/* the kernel's errors while serving, said after the session */
	kmsg = x.mounted || ndone ? kmsg_mark() : -1;
	/* qm.time=1 (qemount -v): where the boot's time went, by the
	 * kernel's clock, for the host's breakdown */
	if (arg("qm.time", flag, sizeof(flag)) && !strcmp(flag, "1"))
		say("kernel clock: init started %.3f s, mounted %.3f s",
		    t_init, uptime());
	if (x.mounted && rw) {
		x.syncfd = open(MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		x.devfd = open(dev, O_RDONLY | O_CLOEXEC);
	}

	x.rootfd = open(MNT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	serve(&x, err, rw);
	/* the host is gone, having asked for the commit or not: the same
	 * unmount (a no-op after a commit), whose faults only the console
	 * hears of now */
	commit(&x);
	if (x.mounted && umount2(MNT, MNT_DETACH))
		say("umount %s: %s", MNT, strerror(errno));
	while (ndone-- > 0) {
		snprintf(dir, sizeof(dir), MNT "/%d", done[ndone]);
		if (umount(dir) && umount2(dir, MNT_DETACH))
			say("umount %s: %s", dir, strerror(errno));
	}
	sync();
	kmsg_fs_errors(kmsg);
	reboot(RB_POWER_OFF);
	say("power off: %s", strerror(errno));
	for (;;)
		pause();
}
