/*
 * mkfs-affs.c - mkfs.affs: write an empty Amiga filesystem (AmigaDOS
 * OFS/FFS, "DOS\0".."DOS\5") on a disk image or block device.  Debian has
 * no formatter for it; the guest runs this one before mounting the blank
 * image read-write for `qemount pack`.
 *
 * usage: mkfs.affs [-f] [-t TYPE] [-L LABEL] DEVICE [BLOCKS]
 *
 *   -t TYPE   DOS0 (ofs), DOS1 (ffs, the default), DOS2 (ofs-intl),
 *             DOS3 (ffs-intl), DOS4 (ofs-dc), DOS5 (ffs-dc).  DOS6 and
 *             DOS7 (long names) are refused: the Linux driver does not
 *             know them, nor does ADFlib 0.7.  Linux mounts DOS4 and
 *             DOS5 read only (it does not keep the cache up to date), so
 *             volumes to be filled through it are DOS0 to DOS3.
 *   -L LABEL  volume name, 1 to 30 bytes, no '/' or ':' (default "Empty",
 *             as AmigaDOS Format names a new disk)
 *   -f        overwrite a device that already starts with a DOS\n boot
 *             block (without -f that is refused)
 *   BLOCKS    size in 512-byte blocks (default: the whole device; a
 *             regular file shorter than that is extended).  Readers find
 *             the root block from the device's size, so a BLOCKS smaller
 *             than the device needs them told (Linux: mount -o root=).
 *
 * Exit 0, or 1 with one line "mkfs.affs: DEVICE: reason" (2 for usage).
 *
 * The format is the one in "The .ADF (Amiga Disk File) format FAQ" by
 * Laurent Clévy (ADFlib's doc, shipped by Debian's unadf as adf_info):
 * 4.1 boot block, 4.2 root block, 4.3 bitmap and bitmap extension blocks,
 * 4.7 directory cache blocks, 5 a blank disk; checked against how Linux
 * reads it, fs/affs/super.c (affs_fill_super: root block search, DOS
 * types) and fs/affs/bitmap.c (affs_init_bitmap).  Blocks are 512 bytes
 * and the first two are the boot block (DosEnvVec Reserved = 2):
 *
 *   root     (N - 1 + 2) / 2 for N blocks (AmigaDOS and Linux; ADFlib
 *            uses N / 2, the same for even N)
 *   then     the bitmap blocks, the bitmap extension blocks and, for
 *            DOS4/DOS5, one empty directory cache block, in a row
 *
 * The boot block is bootable: DOS\n, its checksum, the root block number
 * and the short boot code of Kickstart 1.3's Install (find the dos.library
 * resident and return its init), so an Amiga that boots it starts
 * AmigaDOS.  A zero boot block with a valid checksum would instead run
 * zeros as code.  Dates are UTC (the Linux driver takes the Amiga's local
 * time as UTC in the guest), now or $SOURCE_DATE_EPOCH.
 *
 * Builds for the host (tests) and static with musl (the guest's
 * /sbin/mkfs.affs), with nothing but libc.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/mount.h>		/* BLKGETSIZE64, in glibc's and musl's */
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BSIZE		512
#define LONGS		(BSIZE / 4)
#define RESERVED	2		/* the boot block */
#define HT_SIZE		(LONGS - 56)	/* 72 hash slots */
#define BM_BITS		((LONGS - 1) * 32)	/* blocks one bitmap block maps */
#define ROOT_BMS	25		/* bitmap pointers in the root */
#define EXT_BMS		(LONGS - 1)	/* and in a bitmap extension block */
#define NAME_MAX_AFFS	30
#define MAX_BLOCKS	0x7fffffffu	/* Linux keeps the size in an int */
#define EPOCH_1978	252460800L	/* 1978-01-01 00:00 UTC */

#define T_HEADER	2
#define ST_ROOT		1
#define T_DIRCACHE	33

/* -t names: DOS\n, and the name mkfs tools elsewhere use */
static const struct {
	const char *dos, *name;
} types[] = {
	{ "DOS0", "ofs" }, { "DOS1", "ffs" }, { "DOS2", "ofs-intl" },
	{ "DOS3", "ffs-intl" }, { "DOS4", "ofs-dc" }, { "DOS5", "ffs-dc" },
};

/* Where everything goes on an N-block volume. */
struct layout {
	uint32_t blocks;	/* N */
	uint32_t root;		/* root block */
	uint32_t nbm;		/* bitmap blocks, from root + 1 */
	uint32_t next;		/* bitmap extension blocks, after them */
	uint32_t dircache;	/* the directory cache block, or 0 */
	uint32_t used;		/* blocks from root on that are in use */
	uint8_t type;		/* n of DOS\n */
};

/* Amiga date: days since 1978-01-01, minutes, ticks of 1/50 s. */
struct adate {
	uint32_t days, mins, ticks;
};

static const char *prog = "mkfs.affs";

/* die - one line "mkfs.affs: DEV: why" on stderr, exit 1. */
static void die(const char *dev, const char *why)
{
	fprintf(stderr, "%s: %s: %s\n", prog, dev, why);
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: %s [-f] [-t TYPE] [-L LABEL] DEVICE [BLOCKS]\n",
		prog);
	exit(2);
}

/* put32 - store v big-endian at long index i of block b. */
static void put32(uint8_t *b, int i, uint32_t v)
{
	b[i * 4] = v >> 24;
	b[i * 4 + 1] = v >> 16;
	b[i * 4 + 2] = v >> 8;
	b[i * 4 + 3] = v;
}

static uint32_t get32(const uint8_t *b, int i)
{
	return (uint32_t)b[i * 4] << 24 | (uint32_t)b[i * 4 + 1] << 16 |
	       (uint32_t)b[i * 4 + 2] << 8 | b[i * 4 + 3];
}

/*
 * sum_block - the FAQ's "normal" checksum (4.2.3): the long at index at
 * is set so that all LONGS longs of b add up to 0.
 */
static void sum_block(uint8_t *b, int at)
{
	uint32_t s = 0;
	int i;

	put32(b, at, 0);
	for (i = 0; i < LONGS; i++)
		s += get32(b, i);
	put32(b, at, -s);
}

/*
 * plan - the layout of an N-block volume of DOS type t.  Returns 0, or
 * -1 if N cannot hold a root, its bitmap and one file (a header and a
 * data block) or is past what the Linux driver can address.
 */
static int plan(uint32_t n, uint8_t t, struct layout *l)
{
	memset(l, 0, sizeof(*l));
	if (n < RESERVED + 4 || n > MAX_BLOCKS)
		return -1;
	l->blocks = n;
	l->type = t;
	l->root = (n - 1 + RESERVED) / 2;
	l->nbm = (n - RESERVED + BM_BITS - 1) / BM_BITS;
	if (l->nbm > ROOT_BMS)
		l->next = (l->nbm - ROOT_BMS + EXT_BMS - 1) / EXT_BMS;
	l->used = 1 + l->nbm + l->next;
	if (t & 4)
		l->dircache = l->root + l->used++;
	if (l->root + l->used > n || n - RESERVED - l->used < 2)
		return -1;
	return 0;
}

/* amiga_date - seconds since 1970 (UTC) as an Amiga date; 0 before 1978. */
static struct adate amiga_date(long long t)
{
	struct adate d = { 0, 0, 0 };

	if (t > EPOCH_1978) {
		t -= EPOCH_1978;
		d.days = t / 86400;
		d.mins = t % 86400 / 60;
		d.ticks = t % 60 * 50;
	}
	return d;
}

/*
 * boot_block - the two boot blocks (FAQ 4.1, 5.2): DOS\n, the checksum
 * (a sum with the carries added back, then inverted), the root block
 * number, and boot code that any Kickstart runs: FindResident("dos.
 * library") and return its init entry in a0 with d0 = 0, or d0 = -1.
 */
static void boot_block(uint8_t b[2 * BSIZE], const struct layout *l)
{
	static const uint8_t code[] = {
		0x43, 0xfa, 0x00, 0x18,	/* lea     dos(pc),a1 */
		0x4e, 0xae, 0xff, 0xa0,	/* jsr     -96(a6): FindResident */
		0x4a, 0x80,		/* tst.l   d0 */
		0x67, 0x0a,		/* beq.s   fail */
		0x20, 0x40,		/* movea.l d0,a0 */
		0x20, 0x68, 0x00, 0x16,	/* movea.l 22(a0),a0: rt_Init */
		0x70, 0x00,		/* moveq   #0,d0 */
		0x4e, 0x75,		/* rts */
		0x70, 0xff,		/* fail: moveq #-1,d0 */
		0x4e, 0x75,		/* rts */
		'd', 'o', 's', '.', 'l', 'i', 'b', 'r', 'a', 'r', 'y', 0,
	};
	uint32_t s = 0, v;
	int i;

	memset(b, 0, 2 * BSIZE);
	memcpy(b, "DOS", 3);
	b[3] = l->type;
	put32(b, 2, l->root);
	memcpy(b + 12, code, sizeof(code));
	for (i = 0; i < 2 * LONGS; i++) {
		v = get32(b, i);
		s += v;
		if (s < v)
			s++;
	}
	put32(b, 1, ~s);
}

/*
 * root_block - the root (FAQ 4.2, 5.1): an empty hash table of 72, the
 * bitmap valid with the first 25 bitmap blocks and the first extension
 * block, the name as a BCPL string, all three dates d, and the directory
 * cache block for DOS4/DOS5.
 */
static void root_block(uint8_t *b, const struct layout *l, const char *label,
		       struct adate d)
{
	static const int at[] = { LONGS - 23, LONGS - 10, LONGS - 7 };
	size_t n = strlen(label);
	uint32_t i;

	memset(b, 0, BSIZE);
	put32(b, 0, T_HEADER);
	put32(b, 3, HT_SIZE);
	put32(b, LONGS - 50, 0xffffffff);		/* bm_flag */
	for (i = 0; i < l->nbm && i < ROOT_BMS; i++)
		put32(b, LONGS - 49 + i, l->root + 1 + i);
	if (l->next)
		put32(b, LONGS - 24, l->root + 1 + l->nbm);
	for (i = 0; i < 3; i++) {		/* root, volume, creation */
		put32(b, at[i], d.days);
		put32(b, at[i] + 1, d.mins);
		put32(b, at[i] + 2, d.ticks);
	}
	b[BSIZE - 80] = n;
	memcpy(b + BSIZE - 79, label, n);
	put32(b, LONGS - 2, l->dircache);		/* extension */
	put32(b, LONGS - 1, ST_ROOT);
	sum_block(b, 5);
}

/*
 * bitmap_block - bitmap block k (FAQ 4.3): bit j of the map (long j / 32,
 * bit j % 32) is block RESERVED + k * BM_BITS + j; set means free.  The
 * blocks from the root on that the format uses, and the bits past the
 * end of the volume, are clear (Linux clears the latter when it mounts).
 */
static void bitmap_block(uint8_t *b, const struct layout *l, uint32_t k)
{
	uint64_t first = RESERVED + (uint64_t)k * BM_BITS, blk;
	uint64_t ustart = l->root, uend = l->root + l->used;
	uint32_t w, bit, v;

	memset(b, 0, BSIZE);
	for (w = 0; w < LONGS - 1; w++) {
		blk = first + w * 32;
		if (blk + 32 <= l->blocks && (blk + 32 <= ustart || blk >= uend)) {
			put32(b, w + 1, 0xffffffff);	/* the common case */
			continue;
		}
		for (v = 0, bit = 0; bit < 32; bit++, blk++)
			if (blk < l->blocks && (blk < ustart || blk >= uend))
				v |= 1u << bit;
		put32(b, w + 1, v);
	}
	sum_block(b, 0);
}

/*
 * ext_block - bitmap extension block j (FAQ 4.3): the next 127 bitmap
 * block pointers after the root's 25 (and the blocks before it), then the
 * next extension block or 0.  It has no checksum.
 */
static void ext_block(uint8_t *b, const struct layout *l, uint32_t j)
{
	uint32_t i, k;

	memset(b, 0, BSIZE);
	for (i = 0; i < EXT_BMS; i++) {
		k = ROOT_BMS + j * EXT_BMS + i;
		if (k >= l->nbm)
			break;
		put32(b, i, l->root + 1 + k);
	}
	if (j + 1 < l->next)
		put32(b, LONGS - 1, l->root + 1 + l->nbm + j + 1);
}

/* dircache_block - an empty directory cache block of the root (FAQ 5.3). */
static void dircache_block(uint8_t *b, const struct layout *l)
{
	memset(b, 0, BSIZE);
	put32(b, 0, T_DIRCACHE);
	put32(b, 1, l->dircache);
	put32(b, 2, l->root);
	sum_block(b, 5);
}

/* put_block - write n bytes of b at block blk of fd, or die. */
static void put_block(int fd, const char *dev, uint32_t blk, const uint8_t *b,
		      size_t n)
{
	off_t off = (off_t)blk * BSIZE;
	ssize_t w;

	while (n > 0) {
		w = pwrite(fd, b, n, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die(dev, w < 0 ? strerror(errno) : "short write");
		b += w;
		n -= w;
		off += w;
	}
}

/*
 * write_volume - every block the format writes, the boot block last (so
 * an interrupted run leaves no DOS\n signature over a half-made volume),
 * then fsync.
 */
static void write_volume(int fd, const char *dev, const struct layout *l,
			 const char *label, struct adate d)
{
	uint8_t b[2 * BSIZE];
	uint32_t k;

	for (k = 0; k < l->nbm; k++) {
		bitmap_block(b, l, k);
		put_block(fd, dev, l->root + 1 + k, b, BSIZE);
	}
	for (k = 0; k < l->next; k++) {
		ext_block(b, l, k);
		put_block(fd, dev, l->root + 1 + l->nbm + k, b, BSIZE);
	}
	if (l->dircache) {
		dircache_block(b, l);
		put_block(fd, dev, l->dircache, b, BSIZE);
	}
	root_block(b, l, label, d);
	put_block(fd, dev, l->root, b, BSIZE);
	boot_block(b, l);
	put_block(fd, dev, 0, b, 2 * BSIZE);
	if (fsync(fd) < 0 && errno != EINVAL)
		die(dev, strerror(errno));
}

/*
 * device_blocks - the size of the open fd in 512-byte blocks (a regular
 * file or a block device), or die.
 */
static uint64_t device_blocks(int fd, const char *dev)
{
	struct stat st;
	uint64_t bytes;

	if (fstat(fd, &st) < 0)
		die(dev, strerror(errno));
	if (S_ISREG(st.st_mode))
		bytes = st.st_size;
	else if (!S_ISBLK(st.st_mode))
		die(dev, "not a regular file or block device");
	else if (ioctl(fd, BLKGETSIZE64, &bytes) < 0)
		die(dev, strerror(errno));
	return bytes / BSIZE;
}

/*
 * size_volume - the number of blocks to format: want (0: the whole
 * device).  A regular file is extended to hold want blocks; a block
 * device must already.  Dies if it does not fit.
 */
static uint64_t size_volume(int fd, const char *dev, uint64_t want)
{
	uint64_t have = device_blocks(fd, dev);
	struct stat st;
	char why[96];

	if (want == 0)
		return have;
	if (want > have) {
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			snprintf(why, sizeof(why), "%llu blocks do not fit in "
				 "its %llu", (unsigned long long)want,
				 (unsigned long long)have);
			die(dev, why);
		}
		if (ftruncate(fd, (off_t)want * BSIZE) < 0)
			die(dev, strerror(errno));
	}
	return want;
}

/*
 * check_free - die unless -f was given or fd does not start with a DOS\n
 * boot block (an Amiga volume this would overwrite).
 */
static void check_free(int fd, const char *dev, int force)
{
	uint8_t sig[4];

	if (force || pread(fd, sig, 4, 0) != 4)
		return;
	if (memcmp(sig, "DOS", 3) == 0 && sig[3] <= 7)
		die(dev, "holds an Amiga filesystem already (-f overwrites it)");
}

/*
 * too_small - die: n blocks cannot hold a volume of type t; say how many
 * can.
 */
static void too_small(const char *dev, uint64_t n, uint8_t t)
{
	struct layout l;
	uint32_t min = RESERVED;
	char why[80];

	while (plan(min, t, &l) < 0)
		min++;
	snprintf(why, sizeof(why), "too small: %llu blocks of 512 bytes, an "
		 "Amiga filesystem needs %u", (unsigned long long)n, min);
	die(dev, why);
}

/* parse_type - the n of DOS\n that -t arg names, or die. */
static uint8_t parse_type(const char *arg)
{
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcasecmp(arg, types[i].dos) ||
		    !strcasecmp(arg, types[i].name))
			return i;
	if (!strcasecmp(arg, "DOS6") || !strcasecmp(arg, "DOS7"))
		die(arg, "long-name volumes (DOS6, DOS7) are not supported: "
		    "the Linux affs driver cannot mount them");
	die(arg, "unknown type (DOS0 to DOS5, or ofs, ffs, ofs-intl, "
	    "ffs-intl, ofs-dc, ffs-dc)");
	return 0;
}

/*
 * check_label - die unless label can name a volume: 1 to 30 bytes, no
 * '/' or ':' (AmigaDOS path separators, FAQ 4.2) and no control
 * characters, ISO 8859-1's included (0x7f to 0x9f, which Linux's
 * affs_check_name refuses in names too).
 */
static void check_label(const char *label)
{
	size_t n = strlen(label), i;
	unsigned char c;

	if (n == 0 || n > NAME_MAX_AFFS)
		die(label, "a volume name has 1 to 30 bytes");
	for (i = 0; i < n; i++) {
		c = label[i];
		if (c == '/' || c == ':' || c < 0x20 || (c >= 0x7f && c < 0xa0))
			die(label, "a volume name holds no '/', ':' or "
			    "control characters");
	}
}

/* parse_count - s as a decimal number in min..max, or die(s, why). */
static unsigned long long parse_count(const char *s, const char *why,
				      unsigned long long min,
				      unsigned long long max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v < min || v > max)
		die(s, why);
	return v;
}

/* now - the time to stamp: $SOURCE_DATE_EPOCH if set, else the clock. */
static struct adate now(void)
{
	const char *e = getenv("SOURCE_DATE_EPOCH");

	if (e && *e)
		return amiga_date(parse_count(e, "SOURCE_DATE_EPOCH is not "
					      "a number of seconds", 0,
					      (unsigned long long)1 << 40));
	return amiga_date(time(NULL));
}

int main(int argc, char **argv)
{
	const char *label = "Empty", *dev;
	uint64_t want = 0, n;
	struct layout l;
	struct adate d;
	int c, fd, force = 0;
	uint8_t type = 1;	/* FFS: a whole 512 bytes of data per block
				   (OFS keeps 488), read by every Kickstart
				   from 2.0 (1.3 with FFS in L:); INTL only
				   changes how names with accents hash */

	while ((c = getopt(argc, argv, "ft:L:")) != -1) {
		switch (c) {
		case 'f': force = 1; break;
		case 't': type = parse_type(optarg); break;
		case 'L': check_label(optarg); label = optarg; break;
		default: usage();
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		usage();
	dev = argv[optind];
	if (argc - optind == 2) {
		want = parse_count(argv[optind + 1], "BLOCKS is not a number "
				   "from 1 to 2147483647", 1, MAX_BLOCKS);
		if (plan(want, type, &l) < 0)
			too_small(dev, want, type);
	}
	d = now();
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die(dev, strerror(errno));
	check_free(fd, dev, force);
	n = size_volume(fd, dev, want);
	if (n > MAX_BLOCKS)
		die(dev, "too large: AFFS on Linux addresses 2^31-1 blocks");
	if (plan(n, type, &l) < 0)
		too_small(dev, n, type);
	write_volume(fd, dev, &l, label, d);
	if (close(fd) < 0)
		die(dev, strerror(errno));
	return 0;
}
