/*
 * guests.c - qemount guests: the guests, the filesystems each serves,
 * and which test shows it (tests/verified.txt, built in).  See
 * qemount-guests.1.
 */
#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "guest.h"

struct vrow {
	const char *guest, *fs, *mode, *file, *test;
};

/* tests/verified.txt, one row a line (the Makefile writes verified.h) */
static const struct vrow verified[] = {
#include "verified.h"
};

#define NVERIFIED (sizeof(verified) / sizeof(verified[0]))

static void usage(FILE *f)
{
	fprintf(f, "usage: qemount guests [--json]\n");
}

/* The test that shows guest doing mode ("read", "write") on fs, or NULL. */
static const struct vrow *shown(const char *guest, const char *fs,
				const char *mode)
{
	size_t i;

	for (i = 0; i < NVERIFIED; i++)
		if (!strcmp(verified[i].guest, guest) &&
		    !strcmp(verified[i].fs, fs) && !strcmp(verified[i].mode, mode))
			return &verified[i];
	return NULL;
}

static void jtest(const struct vrow *v)
{
	if (!v) {
		fputs("null", stdout);
		return;
	}
	fputs("{\"file\":", stdout);
	printf("\"tests/e2e/%s\",\"test\":", v->file);
	cmd_json_str(v->test);
	putchar('}');
}

struct out {
	int json;
	char last[64];		/* the guest of the line before */
	int nfs;
};

static void line(void *arg, const struct guest *g, const char *fs, int mode)
{
	const struct vrow *r = shown(g->name, fs, "read");
	const struct vrow *w = shown(g->name, fs, "write");
	struct out *o = arg;
	int first = strcmp(o->last, g->name) != 0;

	if (o->json) {
		if (first) {
			printf("%s{\"name\":", o->last[0] ? "]}," : "");
			cmd_json_str(g->name);
			printf(",\"priority\":%d,\"machine\":", g->priority);
			cmd_json_str(g->machine);
			fputs(",\"filesystems\":[", stdout);
		}
		printf("%s{\"name\":", first ? "" : ",");
		cmd_json_str(fs);
		printf(",\"driver\":\"%s\",\"read\":", mode == 2 ? "rw" : "ro");
		jtest(r);
		fputs(",\"write\":", stdout);
		jtest(w);
		putchar('}');
	} else {
		if (first)
			printf("%s%s (priority %d, -M %s)\n", o->last[0] ? "\n" :
			       "", g->name, g->priority, g->machine);
		printf("  %-9s %s  read: %s%s%s  write: %s%s%s\n", fs,
		       mode == 2 ? "rw" : "ro", r ? r->file : "untested",
		       r ? ": " : "", r ? r->test : "", w ? w->file :
		       "untested", w ? ": " : "", w ? w->test : "");
	}
	snprintf(o->last, sizeof(o->last), "%s", g->name);
	o->nfs++;
}

int cmd_guests(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "json", no_argument, NULL, 'j' },
		{ 0 }
	};
	struct out o = { 0 };
	char err[1024];
	int c;

	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		if (c == 'j') {
			o.json = 1;
		} else if (c == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o.json)
		fputs("{\"guests\":[", stdout);
	if (guest_list(line, &o, err, sizeof(err))) {
		if (o.json)
			fputs("]}\n", stdout);
		warnx("%s", err);
		return EXIT_FAIL;
	}
	if (o.json)
		fputs(o.nfs ? "]}]}\n" : "]}\n", stdout);
	if (fflush(stdout) != 0) {
		warn("standard output");
		return EXIT_FAIL;
	}
	return 0;
}
