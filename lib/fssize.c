/*
 * fssize.c - image sizes for `qemount pack` (see fssize.h).
 *
 * The auto size is max(floor, (data + entries * per_entry) * (100 + pct)
 * / 100 + fixed), rounded up to 1 MiB, where data is each file's size
 * rounded up to 4 KiB, its holes (a sparse file's) left out where the
 * filesystem leaves them unallocated too.  The floors are the
 * formatters' own minimums (mkfs.xfs refuses less than 300 MiB,
 * mkfs.btrfs less than about 114 MiB, mkreiserfs needs room for its 32
 * MiB journal, mkfs.nilfs2 for its segments); the margins were set so
 * that the pack round trips (tests/e2e/pack.bats) and the 200 MiB
 * many-files benchmark tree fit first time.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "fssize.h"

#define KIB	1024ULL
#define MIB	(1024 * KIB)

static const struct {
	const char *name;
	uint64_t size;
} floppies[] = {
	{ "DD", 901120 },	/* Amiga: 80 cyl, 2 heads, 11 x 512 */
	{ "HD", 1802240 },	/* Amiga: 22 sectors a track */
	{ "360K", 368640 },
	{ "720K", 737280 },
	{ "1.2M", 1228800 },
	{ "1.44M", 1474560 },
	{ "2.88M", 2949120 },
};

static const struct rule {
	const char *fs;
	uint64_t floor;		/* bytes */
	uint64_t per_entry;	/* bytes per archive entry: inode, dirent */
	unsigned pct;		/* margin on top, percent */
	uint64_t fixed;		/* journal, tables: bytes */
	int holes;		/* a hole in a file takes no blocks */
} rules[] = {
	{ "ext2", 2 * MIB, 512, 15, 1 * MIB, 1 },
	{ "ext3", 8 * MIB, 512, 15, 4 * MIB, 1 },
	{ "ext4", 8 * MIB, 512, 15, 4 * MIB, 1 },
	{ "vfat", 1 * MIB, 256, 15, 512 * KIB, 0 },
	{ "msdos", 1 * MIB, 256, 15, 512 * KIB, 0 },
	{ "exfat", 2 * MIB, 512, 15, 1 * MIB, 0 },
	{ "btrfs", 128 * MIB, 2048, 40, 16 * MIB, 1 },
	{ "xfs", 300 * MIB, 1024, 15, 16 * MIB, 1 },
	{ "f2fs", 64 * MIB, 4096, 30, 16 * MIB, 1 },
	{ "jfs", 16 * MIB, 1024, 15, 4 * MIB, 1 },
	{ "reiserfs", 64 * MIB, 512, 15, 34 * MIB, 1 },
	{ "nilfs2", 160 * MIB, 1024, 60, 32 * MIB, 0 },
	{ "minix", 1 * MIB, 1024, 15, 256 * KIB, 0 },
	{ "bfs", 1 * MIB, 512, 15, 128 * KIB, 0 },
	{ "hfs", 1 * MIB, 2048, 20, 256 * KIB, 0 },
	{ "udf", 2 * MIB, 4096, 15, 1 * MIB, 0 },
	{ "ntfs", 8 * MIB, 2048, 25, 4 * MIB, 0 },
	{ "affs", 0, 1024, 10, 16 * KIB, 0 },
};

int fssize_floppy(const char *name, uint64_t *size)
{
	size_t i;

	for (i = 0; i < sizeof(floppies) / sizeof(floppies[0]); i++)
		if (strcasecmp(name, floppies[i].name) == 0) {
			*size = floppies[i].size;
			return 0;
		}
	return -EINVAL;
}

const char *fssize_floppies(void)
{
	return "DD HD 360K 720K 1.2M 1.44M 2.88M";
}

int fssize_auto(const char *fs, const struct conv_in_stats *st,
		uint64_t *size)
{
	const struct rule *r = NULL;
	uint64_t need;
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(fs, rules[i].fs) == 0)
			r = &rules[i];
	if (!r)
		return -ENOENT;
	need = st->rounded - (r->holes ? st->holes : 0) + st->names +
	       st->entries * r->per_entry;
	need = need + need / 100 * r->pct + r->fixed;
	if (strcmp(fs, "affs") == 0) {	/* the smallest Amiga floppy */
		if (need <= floppies[0].size)
			need = floppies[0].size;
		else if (need <= floppies[1].size)
			need = floppies[1].size;
		else
			need = (need + 512 * KIB - 1) / (512 * KIB) * 512 * KIB;
		*size = need;
		return 0;
	}
	need = (need + MIB - 1) / MIB * MIB;
	*size = need > r->floor ? need : r->floor;
	return 0;
}
