/*
 * pack.c - qemount pack (qm-pack): an archive -> a new image of a
 * filesystem, formatted and filled by the guest.  See qemount-pack.1.
 *
 * The image is built in an unnamed file in OUT's directory (outfile.h),
 * formatted by the guest's own mkfs, mounted read-write there and filled
 * over 9P (converters/archive_to_tree.c); only when the guest reports a
 * clean unmount (sess_commit) is it named OUT.  An auto-sized image that
 * turns out too small is made again, twice as big, at most twice.
 */
#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cmd.h"
#include "conv.h"
#include "fssize.h"
#include "outfile.h"
#include "session.h"
#include "vm.h"

#define MAX_MKFS_ARGS	16
#define COMMIT_MS	(2 * 60 * 1000)	/* unmount: write back what is cached */
#define CONVERT_MS	(30 * 60 * 1000)
#define RETRIES		2

static void usage(FILE *f)
{
	fprintf(f,
		"usage: qemount pack [-v] [--strict] --fs TYPE [--size SIZE | "
		"--floppy NAME]\n"
		"                    [--label LABEL] [--mkfs-opt WORD]... "
		"[--format FORMAT]\n"
		"                    [--timeout SECONDS] ARCHIVE OUT\n"
		"  ARCHIVE  any archive libarchive reads, or - for standard input\n"
		"  OUT      the image to write, or - for standard output\n"
		"  --size   bytes (N, NK, NM, NG); default: sized for ARCHIVE\n"
		"  floppies: %s\n"
		"  formats: raw qcow2 vmdk vdi vhdx vpc\n", fssize_floppies());
}

struct job {
	const char *archive, *out, *fs, *label, *format;
	const char *mkfs_args[MAX_MKFS_ARGS];
	unsigned n_mkfs_args;
	uint64_t size;		/* 0: auto */
	int strict, verbose, timeout_ms;
	int in;			/* the archive, seekable */
	const char *scratch;	/* the folder the image is built in, if
				   not OUT's own file */
	unsigned long warnings;
	struct conv_in_stats scan, st;	/* what the archive holds; what
					   the last build stored */
	char err[3072];		/* the one line a failure prints */
};

static void warn_entry(void *arg, const char *path, const char *what)
{
	struct job *j = arg;

	j->warnings++;
	cmd_warnx("warning: %s: %s: %s", j->archive, path, what);
}

/*
 * The archive as a file that can be read twice (sizing, then filling):
 * a regular file is used in place; a pipe is copied to an unnamed temp.
 */
static int open_archive(struct job *j)
{
	char err[1024];
	struct stat st;
	int fd, in, e;

	in = strcmp(j->archive, "-") ? open(j->archive, O_RDONLY | O_CLOEXEC) :
				       dup(0);
	if (in < 0 || fstat(in, &st)) {
		warn("%s", j->archive);
		return -1;
	}
	if (S_ISREG(st.st_mode)) {
		j->in = in;
		return 0;
	}
	fd = outfile_scratch(NULL, err, sizeof(err));
	if (fd < 0) {
		warnx("%s: %s", j->archive, err);
		close(in);
		return -1;
	}
	e = cmd_copy(in, fd);
	close(in);
	if (e) {
		warnx("copying %s: %s", j->archive, strerror(-e));
		close(fd);
		return -1;
	}
	j->in = fd;
	return 0;
}

/*
 * Format an image of size bytes in file fd and fill it.  0, or -errno
 * (-ENOSPC: too small) with one line for the user in j->err.
 */
static int build(struct job *j, int fd, uint64_t size)
{
	char path[64], err[2048];
	struct sess_opts so = {
		.image = path, .fs = j->fs, .format = 1, .label = j->label,
		.mkfs_args = j->mkfs_args, .n_mkfs_args = j->n_mkfs_args,
		.timeout_ms = j->timeout_ms, .echo_log = j->verbose,
	};
	struct conv_in_opts co = { .warn = warn_entry, .warn_arg = j,
				   .writers = CONV_IN_WRITERS };
	struct conv_in_stats *st = &j->st;
	struct sess_times t;
	struct sess *s;
	double t0, t1, t2;
	int e, ce;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (ftruncate(fd, 0) || ftruncate(fd, size)) {
		e = -errno;
		snprintf(j->err, sizeof(j->err), "%s: cannot size the image: %s",
			 j->out, strerror(-e));
		return e;
	}
	e = sess_open(&so, &s, err, sizeof(err));
	if (e) {
		snprintf(j->err, sizeof(j->err), "%s: %s", j->out, err);
		return e;
	}
	j->warnings = 0;
	if (j->verbose)
		fprintf(stderr, "qemount pack: %s: %s formatted and mounted, "
			"filling it\n", j->out, j->fs);
	t0 = cmd_now();
	e = conv_in_extract(j->in, sess_client(s), sess_root(s), &co, st,
			    err, sizeof(err));
	t1 = cmd_now();
	if (e)
		snprintf(j->err, sizeof(j->err), "%s: %s",
			 e == -EBADMSG ? j->archive : j->out, err);
	if (!e && j->strict && st->losses + st->owners_lost +
	    st->modes_lost + st->times_lost + st->subsec_lost) {
		snprintf(j->err, sizeof(j->err), "%s: --strict: %s cannot hold "
			 "all of %s (see the warnings)", j->out, j->fs,
			 j->archive);
		e = -EINVAL;
	}
	if (!e && j->verbose)
		fprintf(stderr, "qemount pack: %s: %lu entries written, "
			"unmounting\n", j->out, st->entries);
	if (!e && (e = sess_commit(s, j->timeout_ms ? j->timeout_ms :
				  COMMIT_MS, err, sizeof(err))))
		snprintf(j->err, sizeof(j->err), "%s: %s", j->out, err);
	t2 = cmd_now();
	ce = sess_close(s, &t, err, sizeof(err));
	if (!e && ce) {
		snprintf(j->err, sizeof(j->err), "%s: %s", j->out, err);
		e = ce;
	}
	if (j->verbose)
		fprintf(stderr, "qemount pack: %s: %s: accel %s, boot and "
			"format %.3f s, attach %.3f s, populate %.3f s, commit "
			"%.3f s, shutdown %.3f s\n", j->out, j->fs, t.accel,
			t.boot, t.attach - t.boot, t1 - t0, t2 - t1,
			t.shutdown);
	return e;
}

/*
 * A file for the raw image: OUT's own (raw), or an unnamed temp.  The fd,
 * or -1 with the reason said.
 */
static int raw_file(struct job *j, struct outfile *of)
{
	char err[1024];
	int fd;

	if (of && strcmp(j->format, "raw") == 0) {
		fd = dup(outfile_fd(of));
		if (fd < 0)
			warn("%s", j->out);
		return fd;
	}
	fd = outfile_scratch(&j->scratch, err, sizeof(err));
	if (fd < 0)
		warnx("%s: %s", j->out, err);
	return fd < 0 ? -1 : fd;
}

/*
 * Whether the disk that holds fd is full (under a MiB left to us): the
 * guest then saw its writes to the image fail (EIO, lib/vm.c), and what
 * it says of that is less to the point than ENOSPC.
 */
static int disk_full(int fd)
{
	struct statvfs v;

	if (fstatvfs(fd, &v))
		return 0;
	return (geteuid() ? v.f_bavail : v.f_bfree) * v.f_frsize < (1 << 20);
}

/* Copy file fd, from its start, to standard output. */
static int to_stdout(int fd)
{
	return lseek(fd, 0, SEEK_SET) < 0 ? -errno : cmd_copy(fd, 1);
}

/* The image built in raw, given to OUT in j->format. */
static int deliver(struct job *j, int raw, struct outfile *of)
{
	struct vm_disk d = { .format = "raw", .fd = raw };
	char err[1024];
	int e = 0;

	if (strcmp(j->format, "raw") != 0) {
		int out = of ? outfile_fd(of) : raw_file(j, NULL);

		if (out < 0)
			return -EIO;
		e = vm_disk_convert(&d, j->format, out, CONVERT_MS, err,
				    sizeof(err));
		if (e)
			warnx("%s: %s: %s", j->out, j->format, err);
		if (!e && !of)
			e = to_stdout(out);
		if (!of)
			close(out);
	} else if (!of) {
		e = to_stdout(raw);
	}
	if (e && e != -EIO)
		warnx("%s: %s", j->out, strerror(-e));
	if (!e && of && fsync(outfile_fd(of))) {
		warn("%s", j->out);
		e = -EIO;
	}
	if (!e && of && outfile_commit(of, err, sizeof(err)) < 0) {
		warnx("%s: %s", j->out, err);
		return -EIO;
	}
	if (e && of)
		outfile_discard(of);
	return e;
}

/* The size to build: given, or from the archive's contents. */
static int choose_size(struct job *j)
{
	char err[1024];
	int e;

	if (j->size)
		return 0;
	e = conv_in_scan(j->in, &j->scan, err, sizeof(err));
	if (e) {
		warnx("%s: %s", j->archive, err);
		return -1;
	}
	if (fssize_auto(j->fs, &j->scan, &j->size)) {
		warnx("%s: no size rule for %s: give --size", j->out, j->fs);
		return -1;
	}
	return 0;
}

static int run(struct job *j)
{
	struct outfile *of = NULL;
	int raw, e, tries, auto_size = j->size == 0;
	char err[1024];

	if (strcmp(j->out, "-") == 0 && isatty(1)) {
		warnx("standard output is a terminal: give OUT a file name");
		return EXIT_FAIL;
	}
	if (open_archive(j) || choose_size(j))
		return EXIT_FAIL;
	if (strcmp(j->out, "-") != 0 &&
	    outfile_open(j->out, &of, err, sizeof(err))) {
		warnx("%s: %s", j->out, err);
		return EXIT_FAIL;
	}
	raw = raw_file(j, of);
	if (raw < 0) {
		outfile_discard(of);
		return EXIT_FAIL;
	}
	for (tries = 0;; tries++) {
		e = build(j, raw, j->size);
		if (e != -ENOSPC || !auto_size || tries == RETRIES)
			break;
		j->size *= 2;	/* the guess was short: once more, bigger */
	}
	if (e == -ENOSPC)
		warnx("%s: %s does not fit in %llu bytes of %s%s", j->out,
		      j->archive, (unsigned long long)j->size, j->fs,
		      auto_size ? "" : " (--size)");
	else if (e && disk_full(raw))
		warnx("%s: %s%s%s%s", j->out, j->scratch ? "building it in " :
		      "", j->scratch ? j->scratch : "", j->scratch ? ": " : "",
		      strerror(ENOSPC));
	else if (e)
		cmd_warnx("%s", j->err);
	if (!e)
		e = deliver(j, raw, of);
	else
		outfile_discard(of);
	close(raw);
	if (!e)
		fprintf(stderr, "qemount pack: %s: %s, %llu bytes%s; %lu "
			"entries, %llu bytes of data; %lu warnings\n",
			j->out, j->fs, (unsigned long long)j->size, auto_size ?
			" (sized for the archive)" : "", j->st.entries,
			j->st.bytes, j->warnings);
	return e ? EXIT_FAIL : 0;
}

int cmd_pack(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fs", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' },
		{ "floppy", required_argument, NULL, 'F' },
		{ "label", required_argument, NULL, 'l' },
		{ "mkfs-opt", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },
		{ "strict", no_argument, NULL, 'S' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct job j = { .format = "raw", .in = -1 };
	struct sess_opts so = { 0 };
	int c;

	while ((c = getopt_long(argc, argv, "vh", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			j.fs = optarg;
			break;
		case 's':
			if (cmd_bytes(optarg, &j.size) || j.size < 512) {
				warnx("--size: not a byte count of at least "
				      "512: %s", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F':
			if (fssize_floppy(optarg, &j.size)) {
				warnx("--floppy: one of %s, not %s",
				      fssize_floppies(), optarg);
				return EXIT_USAGE;
			}
			break;
		case 'l':
			j.label = optarg;
			break;
		case 'm':
			if (j.n_mkfs_args == MAX_MKFS_ARGS) {
				warnx("--mkfs-opt: at most %d", MAX_MKFS_ARGS);
				return EXIT_USAGE;
			}
			j.mkfs_args[j.n_mkfs_args++] = optarg;
			break;
		case 'f':
			j.format = optarg;
			break;
		case 'S':
			j.strict = 1;
			break;
		case 'T':
			if (cmd_sess_opt(c, optarg, &so) < 0)
				return EXIT_USAGE;
			j.timeout_ms = so.timeout_ms;
			break;
		case 'v':
			j.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2 || !j.fs) {
		if (!j.fs && argc - optind == 2)
			warnx("--fs: which filesystem to make is required");
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(j.format, "raw") && strcmp(j.format, "qcow2") &&
	    strcmp(j.format, "vmdk") && strcmp(j.format, "vdi") &&
	    strcmp(j.format, "vhdx") && strcmp(j.format, "vpc")) {
		warnx("--format: one of raw qcow2 vmdk vdi vhdx vpc, not %s",
		      j.format);
		return EXIT_USAGE;
	}
	j.archive = argv[optind];
	j.out = argv[optind + 1];
	cmd_signals();
	return run(&j);
}
