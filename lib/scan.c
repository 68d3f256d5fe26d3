/*
 * scan.c - a signature scan for filesystems (see scan.h).
 *
 * The magic numbers and where each sits from the filesystem's start come
 * from the filesystems' own headers (Linux include/uapi/linux/magic.h
 * and the drivers): a match only nominates an offset, probe_fs decides.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "scan.h"

#define STEP	4		/* where a firmware filesystem may start */
#define SECTOR	512		/* where a disk's may */
#define CHUNK	(1 << 20)
#define OVER	0x10100		/* the farthest magic below, and some */
#define SEEN	64		/* UUIDs remembered */

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/*
 * Two-byte magics match random data every 64 KiB: each gets a few more
 * of its superblock's fields checked before libblkid is asked.
 */
static int ext_ok(const unsigned char *b)	/* ext2/3/4 superblock at 1024 */
{
	uint32_t state = b[0x43a] | b[0x43b] << 8;

	return le32(b + 0x400) && le32(b + 0x420) && le32(b + 0x418) <= 6 &&
	       le32(b + 0x44c) <= 1 && state && !(state & ~7u);
}

static int hfsplus_ok(const unsigned char *b)	/* volume header at 1024 */
{
	uint32_t ver = b[0x402] << 8 | b[0x403], bs = be32(b + 0x428);

	return (ver == 4 || ver == 5) && bs >= 512 && bs <= (1 << 20) &&
	       !(bs & (bs - 1));
}

static int hfs_ok(const unsigned char *b)	/* master directory block */
{
	uint32_t bs = be32(b + 0x414);

	return bs && bs % 512 == 0 && (b[0x412] | b[0x413]) && b[0x424] <= 27;
}

static const struct sig {
	uint32_t at;		/* from the filesystem's start */
	const char *magic;
	uint8_t len;
	int (*ok)(const unsigned char *fs);	/* more checks, or NULL */
} sigs[] = {
	{ 0, "hsqs", 4, NULL }, { 0, "sqsh", 4, NULL },	/* squashfs LE, BE */
	{ 0, "\x45\x3d\xcd\x28", 4, NULL },		/* cramfs LE */
	{ 0, "\x28\xcd\x3d\x45", 4, NULL },		/* cramfs BE */
	{ 0, "-rom1fs-", 8, NULL },			/* romfs */
	{ 0, "\x85\x19", 2, NULL }, { 0, "\x19\x85", 2, NULL }, /* jffs2 LE,
							 * BE: CRC checked */
	{ 0, "UBI#", 4, NULL },				/* UBI */
	{ 0, "XFSB", 4, NULL },				/* xfs */
	{ 0, "DOS", 3, NULL },				/* Amiga */
	{ 3, "NTFS    ", 8, NULL },			/* NTFS */
	{ 0x36, "FAT1", 4, NULL }, { 0x52, "FAT32   ", 8, NULL }, /* FAT */
	{ 0x400, "\xe2\xe1\xf5\xe0", 4, NULL },		/* erofs */
	{ 0x400, "\x10\x20\xf5\xf2", 4, NULL },		/* f2fs */
	{ 0x400, "H+", 2, hfsplus_ok }, { 0x400, "HX", 2, hfsplus_ok },
	{ 0x400, "BD", 2, hfs_ok },			/* HFS */
	{ 0x438, "\x53\xef", 2, ext_ok },		/* ext2/3/4 */
	{ 0x8001, "CD001", 5, NULL },			/* iso9660 */
	{ 0x10040, "_BHRfS_M", 8, NULL },		/* btrfs */
};

#define NSIGS	(sizeof(sigs) / sizeof(sigs[0]))

/* Bytes a magic at a filesystem's offset 0 starts with. */
static unsigned char first[256];

static void first_init(void)
{
	size_t i;

	for (i = 0; i < NSIGS; i++)
		if (sigs[i].at == 0)
			first[(unsigned char)sigs[i].magic[0]] = 1;
}

/*
 * Does any magic sit where a filesystem starting at b (at offset off)
 * would have it?  Away from a sector start only the magics at offset 0
 * (the firmware filesystems): the others live on disks.
 */
static int nominated(const unsigned char *b, size_t avail, uint64_t off)
{
	size_t i;

	if (off % SECTOR && !first[b[0]])
		return 0;
	for (i = 0; i < NSIGS; i++)
		if ((sigs[i].at == 0 || off % SECTOR == 0) &&
		    sigs[i].at + sigs[i].len <= avail &&
		    memcmp(b + sigs[i].at, sigs[i].magic, sigs[i].len) == 0 &&
		    (!sigs[i].ok || (avail >= 0x1000 && sigs[i].ok(b))))
			return 1;
	return 0;
}

struct seen {
	char uuid[SEEN][64];
	int n;
	int jffs2;		/* the hit before was JFFS2 */
};

/*
 * 1 if hit is one seen before: its UUID came before (remember it if
 * not), or it is a JFFS2 node right after other JFFS2 nodes (a JFFS2
 * image is a run of them).
 */
static int again(struct seen *s, const struct scan_hit *hit)
{
	int i, jffs2 = strncmp(hit->fs.type, "jffs2", 5) == 0;

	if (jffs2 && s->jffs2)
		return 1;
	s->jffs2 = jffs2;
	if (!hit->fs.uuid[0])
		return 0;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->uuid[i], hit->fs.uuid) == 0)
			return 1;
	if (s->n < SEEN)
		memcpy(s->uuid[s->n++], hit->fs.uuid, sizeof(s->uuid[0]));
	return 0;
}

int scan_fs(int fd, uint64_t off, uint64_t size, scan_fn *fn, void *arg)
{
	unsigned char *buf = malloc(CHUNK + OVER);
	struct seen *seen = calloc(1, sizeof(*seen));
	struct scan_hit hit;
	uint64_t base;
	ssize_t n = 0;
	size_t i;
	int r = 0;

	if (!buf || !seen)
		r = -ENOMEM;
	if (!first[(unsigned char)'h'])
		first_init();
	for (base = 0; !r && base < size; base += CHUNK) {
		size_t want = size - base < CHUNK + OVER ? size - base :
			      CHUNK + OVER;

		n = pread(fd, buf, want, off + base);
		if (n < 0) {
			r = -errno;
			break;
		}
		for (i = 0; !r && i < CHUNK && i < (size_t)n; i += STEP) {
			if (!nominated(buf + i, n - i, base + i))
				continue;
			hit.offset = base + i;
			if (probe_fs(fd, off + hit.offset, size - hit.offset,
				     &hit.fs) == 0 && !again(seen, &hit))
				r = fn(arg, &hit);
		}
		if (n == 0)
			break;
	}
	free(seen);
	free(buf);
	return r;
}
