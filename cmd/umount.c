/*
 * umount.c - qemount umount: end a qemount mount and wait until its
 * guests are down, so a read-write image is complete when this returns.
 * See qemount-mount.1.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"

#define WAIT_S		60	/* the guests' shutdown, at most */

static void usage(FILE *f)
{
	fprintf(f, "usage: qemount umount [-z] MOUNTPOINT\n"
		"  MOUNTPOINT  where qemount mount mounted an image\n"
		"  -z          lazy: detach now, even if busy\n");
}

/*
 * The mountpoint's absolute name without touching the mount itself (it
 * may be dead): the real path of its parent, and its own name.
 */
static int abs_name(const char *path, char *out, size_t cap)
{
	char a[PATH_MAX], b[PATH_MAX], dir[PATH_MAX];

	snprintf(a, sizeof(a), "%s", path);
	snprintf(b, sizeof(b), "%s", path);
	while (strlen(b) > 1 && b[strlen(b) - 1] == '/')
		b[strlen(b) - 1] = '\0';
	snprintf(a, sizeof(a), "%s", b);
	if (!realpath(dirname(a), dir))
		return -errno;
	if (snprintf(out, cap, "%s/%s", strcmp(dir, "/") ? dir : "",
		     basename(b)) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

static int fusermount(const char *mnt, int lazy)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execlp("fusermount3", "fusermount3", lazy ? "-uz" : "-u", "--",
		       mnt, (char *)NULL);
		warn("fusermount3");
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int cmd_umount(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	char mnt[PATH_MAX], lock[PATH_MAX];
	int c, lazy = 0, fd, i;

	while ((c = getopt_long(argc, argv, "zh", longs, NULL)) != -1) {
		switch (c) {
		case 'z': lazy = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (abs_name(argv[optind], mnt, sizeof(mnt)) != 0) {
		warn("%s", argv[optind]);
		return EXIT_FAIL;
	}
	cmd_mount_lock_path(mnt, lock, sizeof(lock));
	fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fusermount(mnt, lazy) != 0) {	/* it said why */
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	/* the server holds the lock until its guests are down */
	for (i = 0; fd >= 0 && i < WAIT_S * 50; i++) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			break;
		nanosleep(&(struct timespec){ 0, 20000000L }, NULL);
	}
	if (fd >= 0 && i == WAIT_S * 50) {
		warnx("%s: unmounted, but its guest is still shutting down "
		      "after %d s", argv[optind], WAIT_S);
		close(fd);
		return EXIT_FAIL;
	}
	if (fd >= 0)
		close(fd);
	return 0;
}
