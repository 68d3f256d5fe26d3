/*
 * cat.c - qemount cat: stream one file out of an image.
 * See qemount-cat.1.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "session.h"
#include "walk.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: qemount cat [-v] " SESS_USAGE " IMAGE PATH\n"
		"  IMAGE   disk image, or - for standard input\n"
		"  PATH    a regular file inside the image\n");
}

static int put(void *arg, const void *data, size_t n)
{
	(void)arg;
	return cmd_write_all(1, data, n);
}

/* Stream the file at path to standard output; 0 or -errno. */
static int cat(struct sess *s, const char *path)
{
	struct p9_client *c = sess_client(s);
	struct p9_attr a;
	uint32_t fid;
	int64_t got;
	int r;

	r = walk_path(c, sess_root(s), path, &fid);
	if (r)
		return r;
	r = p9_getattr(c, fid, &a);
	if (!r && S_ISDIR(a.mode))
		r = -EISDIR;
	else if (!r && !S_ISREG(a.mode))
		r = -EINVAL;	/* a fifo or device has nothing to stream */
	if (!r)
		r = p9_lopen(c, fid, O_RDONLY, NULL, NULL);
	if (!r) {
		got = p9_read_stream(c, fid, 0, a.size, 0, put, NULL);
		r = got < 0 ? (int)got : 0;
	}
	p9_clunk(c, fid);
	return r;
}

int cmd_cat(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' }, SESS_OPTIONS, { 0 }
	};
	struct sess_opts so = { 0 };
	struct sess *s;
	char err[2048], lost[1024];
	const char *why;
	int c, r, rc = 0;

	while ((c = getopt_long(argc, argv, "vh", longs, NULL)) != -1) {
		r = cmd_sess_opt(c, optarg, &so);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'v': so.echo_log = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	so.image = argv[optind];
	cmd_signals();
	if (cmd_open(&so, &s))
		return EXIT_FAIL;
	r = cat(s, argv[optind + 1]);
	if (r == -EPIPE)	/* the reader went away: not worth a word */
		rc = EXIT_FAIL;
	else if (r) {
		why = sess_lost(s, lost, sizeof(lost));
		cmd_warnx("%s: %s: %s", so.image, argv[optind + 1], why ? why :
			  r == -EINVAL ? "not a regular file" : strerror(-r));
		rc = EXIT_FAIL;
	}
	if (sess_close(s, NULL, err, sizeof(err)) && !rc) {
		warnx("%s: %s", so.image, err);
		rc = EXIT_FAIL;
	}
	return rc;
}
