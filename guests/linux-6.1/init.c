/*
 * init.c - PID 1 of the linux-6.1 guest.
 *
 * Loads the kernel modules build.sh put in the initramfs, mounts the
 * image at /mnt and serves it over 9P2000.L (lib/p9/server.h) on the
 * virtio-serial port named qemount0 until the host closes it; then
 * unmounts, syncs and powers off.  Orders come from the kernel command
 * line only (DESIGN.md, "Host <-> guest"):
 *
 *   qm.fs=TYPE     filesystem type for mount(2), and which modules to load
 *                  (required)
 *   qm.rw=1        mount read-write (default read-only)
 *   qm.dev=PATH    block device (default /dev/vda)
 *   qm.opts=DATA   mount data (default none)
 *
 * Nothing is printed in the normal path: the serial console is slow
 * under TCG.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "server.h"

#define MODDIR		"/lib/modules"
#define MODLIST		MODDIR "/modules.txt"
#define PORTS		"/sys/class/virtio-ports"
#define PORTNAME	"qemount0"
#define MNT		"/mnt"
#define WAIT_MS		10000
#define STEP_MS		10

static char cmdline[4096];

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

/* Value of KEY=... on the command line, copied into buf; NULL if absent. */
static const char *arg(const char *key, char *buf, size_t cap)
{
	size_t klen = strlen(key);
	const char *p = cmdline;

	while (*p) {
		size_t n;

		p += strspn(p, " \n");
		n = strcspn(p, " \n");
		if (n > klen && p[klen] == '=' && !strncmp(p, key, klen)) {
			n -= klen + 1;
			if (n >= cap)
				n = cap - 1;
			memcpy(buf, p + klen + 1, n);
			buf[n] = '\0';
			return buf;
		}
		p += n;
	}
	return NULL;
}

/* Load module file, in directory dirfd.  No parameters: none needed. */
static void load(int dirfd, const char *file)
{
	int fd;

	fd = openat(dirfd, file, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) && errno != EEXIST))
		say("load %s: %s", file, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * Load the modules of the modules.txt line NAME, in its order.  Lines are
 * "NAME FILE.ko ...", written by build.sh.  Returns 0, or -1 if no line.
 */
static int load_set(const char *name)
{
	char line[4096], *tok, *save;
	int dirfd, found = -1;
	FILE *f;

	dirfd = open(MODDIR, O_PATH | O_DIRECTORY | O_CLOEXEC);
	f = fopen(MODLIST, "re");
	while (f && found && fgets(line, sizeof(line), f)) {
		tok = strtok_r(line, " \t\n", &save);
		if (!tok || strcmp(tok, name))
			continue;
		while ((tok = strtok_r(NULL, " \t\n", &save)))
			load(dirfd, tok);
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

static void serve(int rootfd, int attach_errno, int rw)
{
	struct p9_server_config cfg = {
		.rootfd = rootfd,
		.attach_errno = attach_errno,
		.readonly = !rw,
	};
	struct p9_server *s;
	int fd, rc;

	fd = open_port();
	if (fd < 0)
		return;
	wait_host(fd);
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
 * Say what the kernel logged since kmsg_mark, at any level, one
 * "qemount-init: kernel: MESSAGE" line each: the host shows these lines
 * as the guest's reason (lib/session.c).
 */
static void kmsg_tell(int fd)
{
	char rec[1024], *msg, *end;
	ssize_t n;

	while (fd >= 0 && (n = read(fd, rec, sizeof(rec) - 1)) != 0) {
		if (n < 0 && errno == EPIPE)	/* overwritten: skip on */
			continue;
		if (n < 0)
			break;
		rec[n] = '\0';
		/* "level,seq,usec,flags;message\n continuation..." */
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		end = strchr(++msg, '\n');
		if (end)
			*end = '\0';
		say("kernel: %s", msg);
	}
}

int main(void)
{
	char fs[64], dev[256], opts[1024], flag[8];
	int fd, rootfd, rw, mounted = 0, err = 0;

	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	setvbuf(stderr, NULL, _IOLBF, 0);

	fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);

		cmdline[n > 0 ? n : 0] = '\0';
		close(fd);
	}
	if (!arg("qm.fs", fs, sizeof(fs)) || !fs[0]) {
		say("no qm.fs= on the kernel command line");
		strcpy(fs, "none");
		err = EINVAL;
	}
	if (!arg("qm.dev", dev, sizeof(dev)))
		strcpy(dev, "/dev/vda");
	if (!arg("qm.opts", opts, sizeof(opts)))
		opts[0] = '\0';
	rw = arg("qm.rw", flag, sizeof(flag)) && !strcmp(flag, "1");

	if (load_set("@boot"))
		say("no @boot line in %s", MODLIST);
	if (!err && load_set(fs)) {
		say("no modules listed for %s", fs);
		err = ENODEV;
	}

	if (!err && wait_path(dev))
		err = ENXIO;
	if (!err) {
		int kmsg = kmsg_mark();

		if (mount(dev, MNT, fs, (rw ? 0 : MS_RDONLY) | MS_NOSUID |
			  MS_NODEV, opts[0] ? opts : NULL)) {
			err = errno;
			kmsg_tell(kmsg);
			say("mount %s as %s failed: %s", dev, fs, strerror(err));
		} else {
			mounted = 1;
		}
		if (kmsg >= 0)
			close(kmsg);
	}

	rootfd = open(MNT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	serve(rootfd, err, rw);
	if (rootfd >= 0)
		close(rootfd);

	if (mounted && umount(MNT) && umount2(MNT, MNT_DETACH))
		say("umount %s: %s", MNT, strerror(errno));
	sync();
	reboot(RB_POWER_OFF);
	say("power off: %s", strerror(errno));
	for (;;)
		pause();
}
