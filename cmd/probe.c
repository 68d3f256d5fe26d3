/*
 * probe.c - qemount probe: what an image holds, found on the host with
 * no guest.  See qemount-probe.1.  The JSON form is RFC 8259.
 */
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "image.h"
#include "layout.h"
#include "scan.h"
#include "session.h"

#define SCAN_MAX	256

static void usage(FILE *f)
{
	fprintf(f, "usage: qemount probe [--json] [--scan] [--offset N "
		"[--length N]] [--timeout SECONDS] IMAGE\n"
		"  IMAGE   disk image, or - for standard input\n");
}

struct found {
	struct scan_hit hit[SCAN_MAX];
	int n, more;
};

static int keep(void *arg, const struct scan_hit *h)
{
	struct found *f = arg;

	if (f->n < SCAN_MAX)
		f->hit[f->n++] = *h;
	else
		f->more = 1;
	return 0;
}

static void jfs(const struct probe_fs *fs)
{
	const char *const kv[][2] = {
		{ "type", fs->type }, { "label", fs->label },
		{ "uuid", fs->uuid }, { "version", fs->version },
		{ "usage", fs->usage }, { "by", fs->by ? fs->by : "" },
	};
	size_t i;

	if (!fs->type[0]) {
		fputs("null", stdout);
		return;
	}
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
		printf("%s\"%s\":", i ? "," : "{", kv[i][0]);
		cmd_json_str(kv[i][1]);
	}
	putchar('}');
}

static void json(const char *name, const char *form, const struct layout *l,
		 const struct found *f, int scanned)
{
	const struct part *p;
	int i;

	fputs("{\"image\":", stdout);
	cmd_json_str(name);
	fputs(",\"form\":", stdout);
	cmd_json_str(form);
	printf(",\"size\":%llu,\"filesystem\":", (unsigned long long)l->size);
	jfs(&l->fs);
	fputs(",\"table\":", stdout);
	if (l->table.type[0]) {
		fputs("{\"type\":", stdout);
		cmd_json_str(l->table.type);
		fputs(",\"id\":", stdout);
		cmd_json_str(l->table.uuid);
		fputs(",\"partitions\":[", stdout);
		for (i = 0; i < l->table.n; i++) {
			p = &l->table.p[i];
			printf("%s{\"number\":%d,\"start\":%llu,\"size\":%llu,"
			       "\"type\":", i ? "," : "", p->num,
			       (unsigned long long)p->start,
			       (unsigned long long)p->size);
			cmd_json_str(p->type);
			fputs(",\"name\":", stdout);
			cmd_json_str(p->name);
			fputs(",\"uuid\":", stdout);
			cmd_json_str(p->uuid);
			printf(",\"container\":%s,\"filesystem\":",
			       p->container ? "true" : "false");
			jfs(&l->pfs[i]);
			putchar('}');
		}
		fputs("]}", stdout);
	} else {
		fputs("null", stdout);
	}
	if (scanned) {
		fputs(",\"scan\":[", stdout);
		for (i = 0; i < f->n; i++) {
			printf("%s{\"offset\":%llu,\"filesystem\":", i ? "," : "",
			       (unsigned long long)f->hit[i].offset);
			jfs(&f->hit[i].fs);
			putchar('}');
		}
		printf("],\"scan_truncated\":%s", f->more ? "true" : "false");
	}
	fputs("}\n", stdout);
}

/* ": TYPE, label "L", uuid U, version V" of fs, or ": no filesystem". */
static void text_fs(const struct probe_fs *fs)
{
	if (!fs->type[0]) {
		fputs("no filesystem recognised\n", stdout);
		return;
	}
	fputs(fs->type, stdout);
	if (fs->label[0])
		printf(", label \"%s\"", fs->label);
	if (fs->uuid[0])
		printf(", uuid %s", fs->uuid);
	if (fs->version[0])
		printf(", version %s", fs->version);
	if (fs->usage[0] && strcmp(fs->usage, "filesystem") != 0)
		printf(", usage %s", fs->usage);
	printf(" (%s)\n", fs->by);
}

static void text(const char *name, const char *form, const struct layout *l,
		 const struct found *f, int scanned)
{
	char h[32], h2[32];
	const struct part *p;
	int i;

	printf("image       %s: %s, %llu bytes (%s)\n", name, form,
	       (unsigned long long)l->size, layout_human(l->size, h, sizeof(h)));
	fputs("filesystem  ", stdout);
	text_fs(&l->fs);
	if (l->table.type[0])
		printf("table       %s%s%s\n", l->table.type,
		       l->table.uuid[0] ? ", id " : "", l->table.uuid);
	for (i = 0; i < l->table.n; i++) {
		p = &l->table.p[i];
		printf("partition %-2d at %s, %s, type %s%s%s%s: ", p->num,
		       layout_human(p->start, h, sizeof(h)),
		       layout_human(p->size, h2, sizeof(h2)),
		       p->type[0] ? p->type : "?", p->name[0] ? ", name \"" : "",
		       p->name, p->name[0] ? "\"" : "");
		if (p->container)
			puts("container (no filesystem)");
		else
			text_fs(&l->pfs[i]);
	}
	for (i = 0; scanned && i < f->n; i++) {
		printf("scan        at %llu (%s): ",
		       (unsigned long long)f->hit[i].offset,
		       layout_human(f->hit[i].offset, h, sizeof(h)));
		text_fs(&f->hit[i].fs);
	}
	if (f->more)
		printf("scan        more than %d hits: the rest left out\n",
		       SCAN_MAX);
}

/* The whole disk, scanned (a container or URL read whole first). */
static int scan(struct img *im, struct found *f, char *err, size_t errlen)
{
	uint64_t at;
	int fd, e;

	e = img_view(im, 0, img_size(im), img_size(im), &fd, &at, err, errlen);
	if (e)
		return e;
	e = scan_fs(fd, at, img_size(im), keep, f);
	close(fd);
	if (e)
		snprintf(err, errlen, "scanning: %s", strerror(-e));
	return e;
}

/* Anything to mount: a filesystem, a partition's, or one the scan saw. */
static int anything(const struct layout *l, const struct found *f)
{
	int i;

	for (i = 0; i < l->table.n; i++)
		if (l->pfs[i].type[0])
			return 1;
	return l->fs.type[0] || f->n;
}

static int probe(const struct sess_opts *so, int as_json, int scanning)
{
	struct img_opts io = { .name = so->image, .offset = so->offset,
			       .length = so->length,
			       .timeout_ms = so->timeout_ms };
	static struct layout l;
	static struct found f;
	char err[2048], seen[1024];
	struct img *im;
	int e;

	if (img_open(&io, &im, err, sizeof(err))) {
		warnx("%s: %s", so->image, err);
		return EXIT_FAIL;
	}
	e = layout_read(im, &l, err, sizeof(err));
	if (!e && scanning)
		e = scan(im, &f, err, sizeof(err));
	if (!e && as_json)
		json(so->image, img_form(im), &l, &f, scanning);
	else if (!e)
		text(so->image, img_form(im), &l, &f, scanning);
	if (!e && !anything(&l, &f)) {
		layout_seen(&l, img_form(im), seen, sizeof(seen));
		snprintf(err, sizeof(err), "no filesystem recognised (%s)", seen);
		e = -ENOENT;
	}
	if (!e && fflush(stdout) != 0) {
		snprintf(err, sizeof(err), "standard output: %s", strerror(errno));
		e = -EIO;
	}
	if (e)
		warnx("%s: %s", so->image, err);
	img_free(im);
	return e ? EXIT_FAIL : 0;
}

int cmd_probe(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ "scan", no_argument, NULL, 's' },
		{ "offset", required_argument, NULL, 'O' },
		{ "length", required_argument, NULL, 'L' },
		{ "timeout", required_argument, NULL, 'T' },
		{ 0 }
	};
	struct sess_opts so = { 0 };
	int c, r, as_json = 0, scanning = 0;

	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'j' || c == 's') {
			*(c == 'j' ? &as_json : &scanning) = 1;
			continue;
		}
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		r = c == '?' ? 0 : cmd_sess_opt(c, optarg, &so);
		if (r <= 0) {
			if (r == 0)
				usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	so.image = argv[optind];
	return probe(&so, as_json, scanning);
}
