/*
 * parts.c - partition tables (see parts.h).
 *
 * The Amiga Rigid Disk Block follows Linux block/partitions/amiga.c and
 * include/uapi/linux/affs_hardblocks.h: "RDSK" in one of the first 16
 * 512-byte sectors with a zero longword sum over rdb_SummedLongs; its
 * rdb_PartitionList chains "PART" blocks (at most 16, each summed the
 * same way) whose DosEnvVec gives the extent in cylinders.  A partition
 * block that fails its checks takes no number, as in Linux.
 */
#include <blkid.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parts.h"

#define RDB_LIMIT	16		/* sectors searched for RDSK */
#define RDB_HEAD	(2 << 20)	/* bytes read for an RDB */
#define RDB_PARTS	16		/* partition blocks followed */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* The 512-byte block at sector s of disk, if in the first len bytes. */
static const unsigned char *sector(const unsigned char *disk, size_t len,
				   uint64_t s)
{
	return s < len / 512 ? disk + s * 512 : NULL;
}

/* The summed longwords of block b add up to 0 (and fit the block). */
static int summed(const unsigned char *b)
{
	uint32_t n = be32(b + 4) & 0x7f, sum = 0, i;

	for (i = 0; i < n; i++)
		sum += be32(b + 4 * i);
	return n >= 2 && sum == 0;
}

/* A PART block's DosEnvVec (at 128): extent, DOS type and name. */
static int rdb_part(const unsigned char *pb, uint32_t blksize,
		    struct part *p)
{
	const unsigned char *env = pb + 128;
	uint64_t cyl = (uint64_t)be32(env + 4 * 3) * be32(env + 4 * 5) *
		       blksize;
	uint32_t lo = be32(env + 4 * 9), hi = be32(env + 4 * 10);
	size_t i, n = pb[36] < 31 ? pb[36] : 31;	/* BSTR drive name */

	if (!cyl || hi < lo || cyl > UINT32_MAX)
		return 0;
	p->start = lo * cyl * 512;
	p->size = ((uint64_t)hi - lo + 1) * cyl * 512;
	for (i = 0; i < n && pb[37 + i] >= 0x20 && pb[37 + i] < 0x7f; i++)
		p->name[i] = pb[37 + i];
	p->name[i] = '\0';
	for (i = 0; i < 4; i++)	/* "DOS\3" shown as DOS3 */
		p->type[i] = env[64 + i] < 0x20 ? '0' + env[64 + i] :
			     env[64 + i] < 0x7f ? env[64 + i] : '?';
	p->type[4] = '\0';
	return 1;
}

int parts_rdb(const unsigned char *disk, size_t len, struct parts *t)
{
	const unsigned char *b = NULL, *pb;
	uint32_t blksize, blk;
	int i;

	for (i = 0; i < RDB_LIMIT && !b; i++) {
		b = sector(disk, len, i);
		if (b && (memcmp(b, "RDSK", 4) != 0 || !summed(b)))
			b = NULL;
	}
	if (!b)
		return 0;
	memset(t, 0, sizeof(*t));
	snprintf(t->type, sizeof(t->type), "amiga");
	blksize = be32(b + 16) / 512;
	if (!blksize)
		blksize = 1;
	blk = be32(b + 28);
	for (i = 1; (int32_t)blk > 0 && i <= RDB_PARTS && t->n < PARTS_MAX;
	     i++) {
		pb = sector(disk, len, (uint64_t)blk * blksize);
		if (!pb)
			break;
		blk = be32(pb + 16);
		if (memcmp(pb, "PART", 4) != 0 || !summed(pb) ||
		    !rdb_part(pb, blksize, &t->p[t->n]))
			continue;
		t->p[t->n].num = t->n + 1;
		t->n++;
	}
	return 1;
}

/* ---- libblkid ---- */

/* An APM entry that is no filesystem's: the map itself, free space. */
static int mac_container(const char *type)
{
	return type && (strcmp(type, "Apple_partition_map") == 0 ||
			strcmp(type, "Apple_Free") == 0 ||
			strcmp(type, "Apple_Void") == 0);
}

static void blkid_entry(blkid_partition bp, int gpt, struct part *p)
{
	const char *s;

	memset(p, 0, sizeof(*p));
	p->num = blkid_partition_get_partno(bp);
	p->start = (uint64_t)blkid_partition_get_start(bp) * 512;
	p->size = (uint64_t)blkid_partition_get_size(bp) * 512;
	s = blkid_partition_get_type_string(bp);
	if (s)
		snprintf(p->type, sizeof(p->type), "%s", s);
	else if (!gpt)
		snprintf(p->type, sizeof(p->type), "0x%x",
			 blkid_partition_get_type(bp));
	if ((s = blkid_partition_get_name(bp)))
		snprintf(p->name, sizeof(p->name), "%s", s);
	if ((s = blkid_partition_get_uuid(bp)))
		snprintf(p->uuid, sizeof(p->uuid), "%s", s);
	p->container = blkid_partition_is_extended(bp) ||
		       mac_container(blkid_partition_get_type_string(bp));
}

/* libblkid's view: 0 (t->n may be 0), or -errno. */
static int blkid_parts(int fd, uint64_t off, uint64_t size, struct parts *t)
{
	blkid_probe pr = blkid_new_probe();
	blkid_partlist ls;
	blkid_parttable tab;
	const char *s;
	int i, n;

	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, fd, off, size) != 0) {
		blkid_free_probe(pr);
		return -EIO;
	}
	blkid_probe_enable_partitions(pr, 1);
	blkid_probe_set_partitions_flags(pr, BLKID_PARTS_ENTRY_DETAILS);
	ls = blkid_probe_get_partitions(pr);
	tab = ls ? blkid_partlist_get_table(ls) : NULL;
	if (tab) {
		snprintf(t->type, sizeof(t->type), "%s",
			 blkid_parttable_get_type(tab));
		if ((s = blkid_parttable_get_id(tab)))
			snprintf(t->uuid, sizeof(t->uuid), "%s", s);
		n = blkid_partlist_numof_partitions(ls);
		for (i = 0; i < n && t->n < PARTS_MAX; i++)
			blkid_entry(blkid_partlist_get_partition(ls, i),
				    strcmp(t->type, "gpt") == 0, &t->p[t->n++]);
	}
	blkid_free_probe(pr);
	return 0;
}

int parts_read(int fd, uint64_t off, uint64_t size, struct parts *t)
{
	unsigned char *head;
	ssize_t n;
	int e;

	memset(t, 0, sizeof(*t));
	e = blkid_parts(fd, off, size, t);
	if (e || t->type[0])
		return e;
	head = malloc(RDB_HEAD);
	if (!head)
		return -ENOMEM;
	n = pread(fd, head, size && size < RDB_HEAD ? size : RDB_HEAD, off);
	e = n < 0 ? -errno : 0;
	if (n > 0)
		parts_rdb(head, n, t);
	free(head);
	return e;
}
