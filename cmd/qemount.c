/*
 * qemount.c - the qemount command: dispatch to a subcommand by name, or
 * by the name the program was called as (qm-tar is qemount tar, qm-pack
 * is qemount pack).
 */
#include <err.h>
#include <libgen.h>
#include <langinfo.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static const struct {
	const char *name, *alias;
	int (*run)(int argc, char **argv);
	const char *what;
} cmds[] = {
	{ "tar", "qm-tar", cmd_tar, "write the image's tree as an archive" },
	{ "ls", NULL, cmd_ls, "list a directory inside the image" },
	{ "cat", NULL, cmd_cat, "write one file of the image to standard output" },
	{ "pack", "qm-pack", cmd_pack, "make a new image of a filesystem from an archive" },
	{ "probe", NULL, cmd_probe, "say what the image holds, without a guest" },
	{ "guests", NULL, cmd_guests, "list the guests and what each serves" },
	{ "mount", "qm-mount", cmd_mount, "mount the image (or a table of images) with FUSE" },
	{ "umount", NULL, cmd_umount, "unmount it and wait for its guests to stop" },
};

#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: qemount COMMAND [OPTIONS] ...\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].what);
	fprintf(f, "\n'qemount COMMAND --help' for each; man qemount-COMMAND\n");
}

int main(int argc, char **argv)
{
	const char *self = basename(argv[0]);
	size_t i;

	/* Names in images are bytes, nearly always UTF-8: libarchive needs
	 * a UTF-8 character type to write them (in the C locale it cannot,
	 * and one of its writers then crashes), so fall back to C.UTF-8. */
	setlocale(LC_ALL, "");
	if (strcmp(nl_langinfo(CODESET), "UTF-8") != 0)
		setlocale(LC_CTYPE, "C.UTF-8");
	for (i = 0; i < NCMDS; i++)
		if (cmds[i].alias && strcmp(self, cmds[i].alias) == 0)
			return cmds[i].run(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < NCMDS; i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(argc - 1, argv + 1);
	warnx("unknown command '%s'", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
