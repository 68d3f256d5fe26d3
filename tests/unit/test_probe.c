/*
 * test_probe.c - the own probes (lib/probe.h: Amiga, ADFS, JFFS2) and
 * the Amiga RDB reader (lib/parts.h) on exact bytes: each accepted, and
 * each one field off rejected.  `test_probe --write-seeds DIR` also
 * writes each accepted layout to DIR: the seeds of tests/fuzz/fuzz_image.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "parts.h"
#include "probe.h"
#include "tap.h"

static unsigned char buf[64 * 512];
static const char *seed_dir;

/* The first len bytes of buf as the fuzz seed NAME (with --write-seeds). */
static void seed(const char *name, size_t len)
{
	char path[512];
	FILE *f;

	if (!seed_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", seed_dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0)
		ok(0, "seed %s written", path);
}

static void amiga(void)
{
	struct probe_fs fs;

	memset(buf, 0, PROBE_OWN_HEAD);
	memcpy(buf, "DOS\x01", 4);
	ok(probe_own(buf, PROBE_OWN_HEAD, &fs) && !strcmp(fs.type, "affs") &&
	   !strcmp(fs.version, "FFS") && !strcmp(fs.by, "qemount"),
	   "DOS\\1: affs, FFS");
	seed("affs", 4);
	memcpy(buf, "DOS\x07", 4);
	ok(probe_own(buf, 4, &fs) && !strcmp(fs.version, "FFS-LNFS"),
	   "DOS\\7: affs, long names, from 4 bytes");
	memcpy(buf, "DOS\x08", 4);
	ok(!probe_own(buf, PROBE_OWN_HEAD, &fs) && !fs.type[0],
	   "DOS\\8: nothing");
	memcpy(buf, "DOS\x00", 4);
	ok(!probe_own(buf, 3, &fs), "DOS\\0 cut to 3 bytes: nothing");
}

static void jffs2(void)
{
	/* mkfs.jffs2's first node (a cleanmarker), and the same big-endian */
	static const unsigned char le[] = { 0x85, 0x19, 0x03, 0x20, 0x0c, 0x00,
		0x00, 0x00, 0xb1, 0xb0, 0x1e, 0xe4 };
	static const unsigned char be[] = { 0x19, 0x85, 0x20, 0x03, 0x00, 0x00,
		0x00, 0x0c, 0xf0, 0x60, 0xdc, 0x98 };
	struct probe_fs fs;

	memset(buf, 0xff, PROBE_OWN_HEAD);
	memcpy(buf, le, sizeof(le));
	ok(probe_own(buf, PROBE_OWN_HEAD, &fs) && !strcmp(fs.type, "jffs2"),
	   "JFFS2 little-endian cleanmarker");
	seed("jffs2-le", sizeof(le));
	buf[8] ^= 1;
	ok(!probe_own(buf, PROBE_OWN_HEAD, &fs), "a bad hdr_crc: nothing");
	memcpy(buf, be, sizeof(be));
	ok(probe_own(buf, PROBE_OWN_HEAD, &fs) && !strcmp(fs.type, "jffs2-be"),
	   "JFFS2 big-endian: jffs2-be");
	seed("jffs2-be", sizeof(be));
	ok(!probe_own(buf, 11, &fs), "cut to 11 bytes: nothing");
	memcpy(buf, le, sizeof(le));
	buf[2] = 0x07;		/* node type 0x2007: none */
	ok(!probe_own(buf, PROBE_OWN_HEAD, &fs), "an unknown node type: nothing");
}

/* A disc record: 1 KiB sectors, idlen 15, one zone, named QEMOUNT. */
static void disc_record(unsigned char *dr)
{
	memset(dr, 0, 60);
	dr[0] = 10;
	dr[1] = 5;
	dr[2] = 2;
	dr[4] = 15;
	dr[5] = 7;
	dr[9] = 1;
	memcpy(dr + 22, "QEMOUNT   ", 10);
}

static void adfs(void)
{
	unsigned char *bb = buf + 0xc00;
	struct probe_fs fs;

	memset(buf, 0, PROBE_OWN_HEAD);
	disc_record(bb + 0x1c0);
	bb[511] = 0xb3;		/* adfs_checkbblk over these bytes */
	ok(probe_own(buf, PROBE_OWN_HEAD, &fs) && !strcmp(fs.type, "adfs") &&
	   !strcmp(fs.label, "QEMOUNT"), "ADFS boot block at 0xc00, label");
	seed("adfs-bootblock", PROBE_OWN_HEAD);
	bb[511] = 0xb4;
	ok(!probe_own(buf, PROBE_OWN_HEAD, &fs), "a bad checksum: nothing");
	bb[511] = 0xb3;
	bb[0x1c0 + 4] = 12;	/* idlen < log2secsize + 3 */
	ok(!probe_own(buf, PROBE_OWN_HEAD, &fs), "idlen too small: nothing");

	memset(buf, 0, PROBE_OWN_HEAD);
	disc_record(buf + 4);
	ok(probe_own(buf, PROBE_OWN_HEAD, &fs) && !strcmp(fs.type, "adfs"),
	   "ADFS E floppy: disc record at 4");
	seed("adfs-floppy", 64);
	buf[4 + 9] = 2;		/* two zones: not the single-zone floppy */
	ok(!probe_own(buf, PROBE_OWN_HEAD, &fs), "two zones at 4: nothing");
	buf[4 + 9] = 1;
	buf[4 + 55] = 1;	/* reserved byte set */
	ok(!probe_own(buf, PROBE_OWN_HEAD, &fs), "reserved bytes set: nothing");
	memset(buf, 0, PROBE_OWN_HEAD);
	ok(!probe_own(buf, PROBE_OWN_HEAD, &fs), "zeros: nothing");
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* The block's checksum longword (at 8): its 64 longwords sum to 0. */
static void sum(unsigned char *b)
{
	uint32_t s = 0;
	int i;

	put32(b + 8, 0);
	for (i = 0; i < 64; i++)
		s += (uint32_t)b[4 * i] << 24 | b[4 * i + 1] << 16 |
		     b[4 * i + 2] << 8 | b[4 * i + 3];
	put32(b + 8, -s);
}

/* A PART block at sector s: cylinders lo..hi of 2 heads x 16 sectors. */
static void part(int s, uint32_t next, const char *name, uint32_t lo,
		 uint32_t hi)
{
	unsigned char *pb = buf + s * 512, *env = pb + 128;

	memcpy(pb, "PART", 4);
	put32(pb + 4, 64);
	put32(pb + 16, next);
	pb[36] = strlen(name);
	memcpy(pb + 37, name, strlen(name));
	put32(env + 4 * 3, 2);
	put32(env + 4 * 5, 16);
	put32(env + 4 * 9, lo);
	put32(env + 4 * 10, hi);
	memcpy(env + 64, "DOS\x03", 4);
	sum(pb);
}

static void rdb(void)
{
	struct parts t;

	memset(buf, 0, sizeof(buf));
	ok(!parts_rdb(buf, sizeof(buf), &t), "zeros: no RDB");
	memcpy(buf + 512, "RDSK", 4);	/* in sector 1, as it may be */
	put32(buf + 512 + 4, 64);
	put32(buf + 512 + 16, 512);
	put32(buf + 512 + 28, 2);	/* the partition list */
	sum(buf + 512);
	part(2, 3, "DH0", 2, 5);
	part(3, 0xffffffff, "DH1", 6, 9);
	ok(parts_rdb(buf, sizeof(buf), &t) && !strcmp(t.type, "amiga"),
	   "RDSK in sector 1");
	is(t.n, 2, "two partitions");
	ok(t.p[0].num == 1 && t.p[0].start == 2 * 32 * 512 &&
	   t.p[0].size == 4 * 32 * 512 && !strcmp(t.p[0].name, "DH0") &&
	   !strcmp(t.p[0].type, "DOS3"), "DH0: cylinders 2-5, DOS\\3");
	ok(t.p[1].num == 2 && t.p[1].start == 6 * 32 * 512,
	   "DH1: number 2, cylinder 6");
	seed("rdb", 4 * 512);
	buf[2 * 512 + 200] ^= 1;	/* DH0's checksum fails */
	ok(parts_rdb(buf, sizeof(buf), &t) && t.n == 1 && t.p[0].num == 1 &&
	   !strcmp(t.p[0].name, "DH1"), "a bad PART takes no number");
	ok(parts_rdb(buf, 2 * 512, &t) && t.n == 0,
	   "partition list past the bytes given: none read");
	buf[512 + 100] ^= 1;
	ok(!parts_rdb(buf, sizeof(buf), &t), "a bad RDSK checksum: no RDB");
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--write-seeds") == 0)
		seed_dir = argv[2];
	amiga();
	jffs2();
	adfs();
	rdb();
	return done_testing();
}
