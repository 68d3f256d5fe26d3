/*
 * tar.c - qemount tar (qm-tar): the image's whole tree as an archive.
 * See qemount-tar.1.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "conv.h"
#include "outfile.h"
#include "session.h"
#include "walk.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qemount tar [-v] [-o OUT] [--format FORMAT] "
		"[--compress FILTER]\n"
		"                   " SESS_USAGE " IMAGE\n"
		"  IMAGE   disk image, or - for standard input\n"
		"  -o OUT  archive to write (default: standard output);\n"
		"          its extension picks the format (.tar .tar.zst .zip ...)\n"
		"  formats: %s\n  filters: %s\n", conv_out_formats(),
		conv_out_filters());
}

struct run {
	struct conv_out *w;
	struct p9_client *c;
	const char *image;
	unsigned long warnings;
	char *failed_at;	/* the entry conv_out_entry failed on */
};

static void warn_entry(void *arg, const char *path, const char *what)
{
	struct run *r = arg;

	r->warnings++;
	cmd_warnx("warning: %s: %s: %s", r->image, path, what);
}

static int entry(void *arg, const struct walk_entry *e)
{
	struct run *r = arg;

	int rc = conv_out_entry(r->w, r->c, e);

	if (rc)
		r->failed_at = strdup(e->path);
	return rc;
}

static void *prep(void *arg, const struct walk_entry *e)
{
	struct run *r = arg;

	return conv_out_prep(r->w, r->c, e);
}

static void unprep(void *arg, void *p)
{
	struct run *r = arg;

	conv_out_unprep(r->w, p);
}

struct args {
	struct sess_opts so;
	struct conv_out_opts co;
	const char *out;
	int verbose;
};

static int parse(int argc, char **argv, struct args *a)
{
	static const struct option longs[] = {
		{ "format", required_argument, NULL, 'F' },
		{ "compress", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		SESS_OPTIONS,
		{ 0 }
	};
	int c, r;

	while ((c = getopt_long(argc, argv, "o:vh", longs, NULL)) != -1) {
		r = cmd_sess_opt(c, optarg, &a->so);
		if (r < 0)
			return EXIT_USAGE;
		if (r)
			continue;
		switch (c) {
		case 'o': a->out = optarg; break;
		case 'v': a->verbose = 1; break;
		case 'F': a->co.format = optarg; break;
		case 'C': a->co.compress = optarg; break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	a->so.image = argv[optind];
	a->so.echo_log = a->verbose;
	if (a->out && strcmp(a->out, "-") == 0)
		a->out = NULL;
	a->co.name = a->out;
	return 0;
}

/* OUT, for messages. */
static const char *out_name(const struct args *a)
{
	return a->out ? a->out : "standard output";
}

/* Walk the tree into the archive; 0, or 1 with the reason printed. */
static int convert(struct args *a, struct sess *s, struct outfile *of)
{
	struct run r = { .c = sess_client(s), .image = a->so.image };
	char where[4096], lost[1024];
	const char *why;
	int e;

	a->co.warn = warn_entry;
	a->co.warn_arg = &r;
	e = conv_out_new(&a->co, outfile_fd(of), &r.w);
	if (e) {
		warnx("%s", conv_out_error(r.w) ? conv_out_error(r.w) :
		      strerror(-e));
		conv_out_abort(r.w);
		return EXIT_FAIL;
	}
	e = walk_tree_prep(r.c, sess_root(s), entry, prep, unprep, &r, where,
			   sizeof(where));
	if (e && conv_out_write_error(r.w)) {	/* the output's fault */
		warnx("%s: %s", out_name(a),
		      strerror(conv_out_write_error(r.w)));
		conv_out_abort(r.w);
		return EXIT_FAIL;
	}
	if (e) {
		/* the converter's words, if the walk ended where it failed
		 * (not at an entry ahead whose requests ended the link) */
		why = sess_lost(s, lost, sizeof(lost));
		if (!why && r.failed_at &&
		    !strncmp(r.failed_at, where, sizeof(where) - 1))
			why = conv_out_error(r.w);
		cmd_warnx("%s: %s: %s", a->so.image, where[0] ? where : "/",
			  why ? why : strerror(-e));
		conv_out_abort(r.w);
		free(r.failed_at);
		return EXIT_FAIL;
	}
	e = conv_out_close(r.w);
	if (e) {
		warnx("%s: %s", out_name(a), strerror(-e));
		return EXIT_FAIL;
	}
	return 0;
}

int cmd_tar(int argc, char **argv)
{
	struct args a = { 0 };
	struct sess_times t;
	struct outfile *of;
	struct sess *s;
	char err[2048], fs[64];
	double t0, walked;
	int rc, e;

	rc = parse(argc, argv, &a);
	if (rc)
		return rc;
	cmd_signals();
	if (outfile_open(a.out ? a.out : "-", &of, err, sizeof(err))) {
		warnx("%s: %s", out_name(&a), err);
		return EXIT_FAIL;
	}
	if (cmd_open(&a.so, &s)) {
		outfile_discard(of);
		return EXIT_FAIL;
	}
	t0 = cmd_now();
	rc = convert(&a, s, of);
	walked = cmd_now() - t0;
	snprintf(fs, sizeof(fs), "%s", sess_fs(s));
	e = sess_close(s, &t, err, sizeof(err));
	if (e && !rc) {
		warnx("%s: %s", a.so.image, err);
		rc = EXIT_FAIL;
	}
	if (rc) {
		outfile_discard(of);
		return rc;
	}
	if (outfile_commit(of, err, sizeof(err))) {
		warnx("%s: %s", out_name(&a), err);
		return EXIT_FAIL;
	}
	if (a.verbose)
		fprintf(stderr, "qemount: %s: %s: accel %s, open %.3f s, boot "
			"to first Rversion %.3f s, attach %.3f s, walk+stream "
			"%.3f s, shutdown %.3f s\n", a.so.image, fs, t.accel,
			t.open, t.boot - t.open, t.attach - t.boot, walked,
			t.shutdown);
	return 0;
}
