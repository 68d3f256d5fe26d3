/*
 * test_mkfs_affs.c - the guests' Amiga formatter (guests/linux-6.1/
 * mkfs-affs.c), block by block against the ADF FAQ (Laurent Clévy): the
 * layout of floppies and hard-disk sizes, the boot block's checksum
 * (a vector checked by hand), the root block, the bitmap of a DD floppy
 * long by long (FAQ 5.1: blocks 0 and 1 are not in it, root and bitmap
 * are used), bitmap extension chains, the dircache block, Amiga dates.
 * The program is compiled in, its main renamed, so its static functions
 * are tested directly.
 */
#define main mkfs_affs_main
#include "../../guests/linux-6.1/mkfs-affs.c"
#undef main

#include "tap.h"

/* sum - the plain sum of a block's longs: 0 for a good checksum. */
static uint32_t sum(const uint8_t *b)
{
	uint32_t s = 0;
	int i;

	for (i = 0; i < LONGS; i++)
		s += get32(b, i);
	return s;
}

/* free_bits - the set bits of a bitmap block's map. */
static unsigned free_bits(const uint8_t *b)
{
	unsigned n = 0;
	int i;

	for (i = 1; i < LONGS; i++)
		n += __builtin_popcount(get32(b, i));
	return n;
}

static void test_layouts(void)
{
	struct layout l;

	is(plan(1760, 1, &l), 0, "DD floppy: plans");
	is(l.root, 880, "DD floppy: root 880");
	ok(l.nbm == 1 && l.next == 0 && l.used == 2 && !l.dircache,
	   "DD floppy: one bitmap block, no extension, no dircache");
	plan(3520, 1, &l);
	is(l.root, 1760, "HD floppy: root 1760");
	plan(1761, 1, &l);
	is(l.root, 881, "odd size: root (N - 1 + 2) / 2, as Linux looks");
	plan(1760, 5, &l);
	ok(l.dircache == 882 && l.used == 3, "DOS5: dircache block 882");
	plan(131072, 1, &l);
	ok(l.root == 65536 && l.nbm == 33 && l.next == 1,
	   "64 MiB: 33 bitmap blocks, one extension block");
	plan(1048576, 1, &l);
	ok(l.nbm == 259 && l.next == 2, "512 MiB: 259 bitmap blocks, two "
	   "extension blocks");
	ok(plan(5, 1, &l) < 0 && plan(6, 1, &l) == 0, "6 blocks at least");
	ok(plan(6, 5, &l) < 0 && plan(7, 5, &l) == 0, "7 with a dircache");
	ok(plan(MAX_BLOCKS + 1u, 1, &l) < 0 && plan(MAX_BLOCKS, 1, &l) == 0,
	   "at most 2^31-1 blocks");
}

static void test_boot(void)
{
	uint8_t b[2 * BSIZE];
	uint32_t s = 0, v;
	struct layout l;
	int i;

	plan(1760, 1, &l);
	boot_block(b, &l);
	ok(!memcmp(b, "DOS\1", 4), "boot: DOS\\1");
	is(get32(b, 2), 880, "boot: root block 880");
	/* computed apart from this code (python, carries added back);
	   ADFlib 0.10.4's adfinfo agrees */
	is(get32(b, 1), 0xd2a50f18, "boot: checksum vector");
	for (i = 0; i < 2 * LONGS; i++) {
		v = get32(b, i);
		s += v;
		if (s < v)
			s++;
	}
	is(s, 0xffffffff, "boot: sums to ~0 with carries, as Kickstart checks");
	ok(!memcmp(b + 38, "dos.library", 12) && get32(b, 3) == 0x43fa0018,
	   "boot: lea dos(pc) reaches \"dos.library\"");
}

static void test_root(void)
{
	struct adate d = { 17000, 600, 1000 };
	uint8_t b[BSIZE];
	struct layout l;
	int i, zero = 1;

	plan(1760, 1, &l);
	root_block(b, &l, "Empty", d);
	is(sum(b), 0, "root: checksum");
	ok(get32(b, 0) == 2 && get32(b, 3) == 72 && get32(b, 127) == 1,
	   "root: T_HEADER, 72 hash slots, ST_ROOT");
	for (i = 6; i < 6 + 72; i++)
		zero &= get32(b, i) == 0;
	ok(zero, "root: empty hash table");
	ok(get32(b, 312 / 4) == 0xffffffff && get32(b, 316 / 4) == 881 &&
	   get32(b, 320 / 4) == 0 && get32(b, 416 / 4) == 0,
	   "root: bm_flag -1, bm_pages[0] 881, no more, no bm_ext");
	ok(b[432] == 5 && !memcmp(b + 433, "Empty", 5) && b[438] == 0,
	   "root: name as a BCPL string");
	ok(get32(b, 420 / 4) == 17000 && get32(b, 424 / 4) == 600 &&
	   get32(b, 428 / 4) == 1000 && get32(b, 472 / 4) == 17000 &&
	   get32(b, 484 / 4) == 17000 && get32(b, 492 / 4) == 1000,
	   "root: the three dates");
	is(get32(b, 504 / 4), 0, "root: no dircache on DOS1");
}

static void test_bitmap_dd(void)
{
	uint8_t b[BSIZE];
	struct layout l;
	int i, full = 1;

	plan(1760, 1, &l);
	bitmap_block(b, &l, 0);
	is(sum(b), 0, "DD bitmap: checksum");
	for (i = 0; i < 55; i++)
		if (i != 27 && i != 54)
			full &= get32(b, 1 + i) == 0xffffffff;
	ok(full, "DD bitmap: blocks 2..1759 free but for long 27 and 54");
	is(get32(b, 1 + 27), 0xffff3fff, "DD bitmap: 880, 881 used (FAQ 5.1)");
	is(get32(b, 1 + 54), 0x3fffffff, "DD bitmap: long 54 ends at 1759");
	is(get32(b, 1 + 55), 0, "DD bitmap: nothing past the end");
	is(free_bits(b), 1756, "DD bitmap: 1756 free");
	plan(1760, 5, &l);
	bitmap_block(b, &l, 0);
	is(get32(b, 1 + 27), 0xfffe3fff, "DOS5 bitmap: 880..882 used");
}

static void test_dircache(void)
{
	uint8_t b[BSIZE];
	struct adate d = { 1, 0, 0 };
	struct layout l;

	plan(1760, 5, &l);
	dircache_block(b, &l);
	is(sum(b), 0, "dircache: checksum");
	ok(get32(b, 0) == 33 && get32(b, 1) == 882 && get32(b, 2) == 880 &&
	   get32(b, 3) == 0 && get32(b, 4) == 0,
	   "dircache: type 33, self, parent root, no records, no next");
	root_block(b, &l, "X", d);
	is(get32(b, 504 / 4), 882, "DOS5 root: extension is the dircache");
}

/* the bitmap of an n-block volume, through root and extension blocks */
static void test_chain(uint32_t n, const char *name)
{
	uint8_t b[BSIZE];
	struct adate d = { 1, 0, 0 };
	struct layout l;
	uint32_t k = 0, i, ext, want = 0, got = 0;
	unsigned nfree = 0;

	plan(n, 1, &l);
	root_block(b, &l, "X", d);
	for (i = 0; i < ROOT_BMS; i++, k++)
		want += get32(b, LONGS - 49 + i) == l.root + 1 + k;
	ext = get32(b, LONGS - 24);
	for (i = 0; ext; i++) {
		got += ext == l.root + 1 + l.nbm + i;
		ext_block(b, &l, ext - l.root - 1 - l.nbm);
		for (k = 0; k < EXT_BMS && get32(b, k); k++)
			want += get32(b, k) == l.root + 1 + ROOT_BMS +
				i * EXT_BMS + k;
		ext = get32(b, LONGS - 1);
	}
	ok(want == l.nbm && got == l.next, "%s: %u bitmap pointers in a "
	   "chain of %u extension blocks", name, want, got);
	for (k = 0; k < l.nbm; k++) {
		bitmap_block(b, &l, k);
		nfree += free_bits(b);
	}
	is(nfree, n - RESERVED - l.used, "%s: free = blocks - 2 - root - "
	   "bitmap - extension", name);
}

static void test_dates(void)
{
	struct adate d = amiga_date(1700000000);

	ok(d.days == 16753 && d.mins == 1333 && d.ticks == 1000,
	   "2023-11-14 22:13:20 UTC is day 16753, minute 1333, tick 1000");
	d = amiga_date(0);
	ok(d.days == 0 && d.mins == 0 && d.ticks == 0, "before 1978: 0");
}

int main(void)
{
	test_layouts();
	test_boot();
	test_root();
	test_bitmap_dd();
	test_dircache();
	test_chain(131072, "64 MiB");
	test_chain(1048576, "512 MiB");
	test_dates();
	return done_testing();
}
