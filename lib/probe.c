/*
 * probe.c - filesystem detection (see probe.h).
 *
 * Own probes, each for a filesystem libblkid 2.38 does not know:
 *  - Amiga FFS/OFS: the boot block starts "DOS" and a byte 0..7 (OFS,
 *    FFS, their international and directory-cache variants, 6 and 7 the
 *    long-name ones); Linux's fs/affs reads all of them.
 *  - Acorn ADFS: Linux fs/adfs/super.c, adfs_validate_bblk (a boot
 *    block at 0xc00 whose checksum holds, a disc record at 0x1c0 in it)
 *    or adfs_validate_dr0 (an E-format floppy's disc record at offset 4
 *    of the map); both with adfs_checkdiscrecord.
 *  - JFFS2: Linux include/uapi/linux/jffs2.h, a node at offset 0: magic
 *    0x1985, a known node type, and hdr_crc = crc32 (seed 0, no final
 *    inversion, as jffs2 computes it) of the first 8 bytes, all in the
 *    image's byte order.
 */
#include <blkid.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "probe.h"

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* ---- Amiga ---- */

static int amiga(const unsigned char *b, size_t n, struct probe_fs *o)
{
	static const char *const kind[] = { "OFS", "FFS", "OFS-INTL",
		"FFS-INTL", "OFS-DC", "FFS-DC", "OFS-LNFS", "FFS-LNFS" };

	if (n < 4 || memcmp(b, "DOS", 3) != 0 || b[3] > 7)
		return 0;
	snprintf(o->type, sizeof(o->type), "affs");
	snprintf(o->version, sizeof(o->version), "%s", kind[b[3]]);
	return 1;
}

/* ---- Acorn ADFS ---- */

/* Offsets in struct adfs_discrecord (include/uapi/linux/adfs_fs.h). */
enum { DR_LOG2SEC = 0, DR_IDLEN = 4, DR_NZONES = 9, DR_NAME = 22,
       DR_SIZE_HIGH = 36, DR_NZONES_HIGH = 42, DR_FORMAT = 44,
       DR_UNUSED52 = 52, DR_SIZE = 60 };

/* adfs_checkdiscrecord: 1 if the disc record at dr is plausible. */
static int adfs_dr_ok(const unsigned char *dr)
{
	unsigned log2sec = dr[DR_LOG2SEC], idlen = dr[DR_IDLEN];
	int i;

	if (log2sec < 8 || log2sec > 10 || idlen < log2sec + 3)
		return 0;
	if (le32(dr + DR_SIZE_HIGH) >> log2sec)
		return 0;
	if (idlen > (le32(dr + DR_FORMAT) ? 19u : 16u))
		return 0;
	for (i = DR_UNUSED52; i < DR_SIZE; i++)
		if (dr[i])
			return 0;
	return 1;
}

/* adfs_checkbblk: the boot block's checksum, in its last byte. */
static int adfs_bblk_ok(const unsigned char *b)
{
	unsigned result = 0;
	const unsigned char *p = b + 511;

	do {
		result = (result & 0xff) + (result >> 8);
		result = result + *--p;
	} while (p != b);
	return (result & 0xff) == b[511];
}

static int adfs(const unsigned char *b, size_t n, struct probe_fs *o)
{
	const unsigned char *dr = NULL, *bb = b + 0xc00;
	size_t i, len = 0;

	if (n >= 0xe00 && adfs_bblk_ok(bb) && adfs_dr_ok(bb + 0x1c0) &&
	    (bb[0x1c0 + DR_NZONES] | bb[0x1c0 + DR_NZONES_HIGH]))
		dr = bb + 0x1c0;
	else if (n >= 4 + DR_SIZE && adfs_dr_ok(b + 4) &&
		 !b[4 + DR_NZONES_HIGH] && b[4 + DR_NZONES] == 1)
		dr = b + 4;
	if (!dr)
		return 0;
	snprintf(o->type, sizeof(o->type), "adfs");
	/* the disc name: up to 10 bytes, space or NUL padded */
	for (i = 0; i < 10 && dr[DR_NAME + i] >= 0x20 &&
	     dr[DR_NAME + i] < 0x7f; i++)
		o->label[len++] = dr[DR_NAME + i];
	while (len && o->label[len - 1] == ' ')
		len--;
	o->label[len] = '\0';
	return 1;
}

/* ---- JFFS2 ---- */

static uint32_t crc32_raw(uint32_t crc, const unsigned char *p, size_t n)
{
	int k;

	while (n--) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0xedb88320 & -(crc & 1));
	}
	return crc;
}

static int jffs2(const unsigned char *b, size_t n, struct probe_fs *o)
{
	static const unsigned types[] = { 0xe001, 0xe002, 0x2003, 0x2004,
					  0x2006, 0xe008, 0xe009 };
	int big, i;
	unsigned type;

	if (n < 12)
		return 0;
	if (b[0] == 0x85 && b[1] == 0x19)
		big = 0;
	else if (b[0] == 0x19 && b[1] == 0x85)
		big = 1;
	else
		return 0;
	type = big ? (unsigned)b[2] << 8 | b[3] : (unsigned)b[3] << 8 | b[2];
	for (i = 0; i < (int)(sizeof(types) / sizeof(types[0])); i++)
		if (type == types[i])
			break;
	if (i == (int)(sizeof(types) / sizeof(types[0])) ||
	    crc32_raw(0, b, 8) != (big ? be32(b + 8) : le32(b + 8)))
		return 0;
	snprintf(o->type, sizeof(o->type), big ? "jffs2-be" : "jffs2");
	snprintf(o->version, sizeof(o->version), big ? "big-endian" :
		 "little-endian");
	return 1;
}

int probe_own(const unsigned char *buf, size_t len, struct probe_fs *out)
{
	memset(out, 0, sizeof(*out));
	if (amiga(buf, len, out) || jffs2(buf, len, out) ||
	    adfs(buf, len, out)) {
		snprintf(out->usage, sizeof(out->usage), "filesystem");
		out->by = "qemount";
		return 1;
	}
	memset(out, 0, sizeof(*out));
	return 0;
}

/* ---- libblkid ---- */

static void value(blkid_probe pr, const char *name, char *dst, size_t cap)
{
	const char *v;

	if (blkid_probe_lookup_value(pr, name, &v, NULL) == 0)
		snprintf(dst, cap, "%s", v);
}

/* libblkid's superblock probes; 0, -ENOENT, -EEXIST or -errno. */
static int blkid_fs(int fd, uint64_t off, uint64_t size, struct probe_fs *o)
{
	blkid_probe pr = blkid_new_probe();
	int r = -ENOENT;

	if (!pr)
		return -ENOMEM;
	if (blkid_probe_set_device(pr, fd, off, size) != 0) {
		blkid_free_probe(pr);
		return -EIO;
	}
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE |
					  BLKID_SUBLKS_LABEL |
					  BLKID_SUBLKS_UUID |
					  BLKID_SUBLKS_VERSION |
					  BLKID_SUBLKS_USAGE);
	switch (blkid_do_safeprobe(pr)) {
	case 0:
		value(pr, "TYPE", o->type, sizeof(o->type));
		value(pr, "LABEL", o->label, sizeof(o->label));
		value(pr, "UUID", o->uuid, sizeof(o->uuid));
		value(pr, "VERSION", o->version, sizeof(o->version));
		value(pr, "USAGE", o->usage, sizeof(o->usage));
		o->by = "libblkid";
		r = o->type[0] ? 0 : -ENOENT;
		break;
	case -2:
		r = -EEXIST;
		break;
	}
	blkid_free_probe(pr);
	return r;
}

int probe_fs(int fd, uint64_t off, uint64_t size, struct probe_fs *out)
{
	unsigned char head[PROBE_OWN_HEAD];
	ssize_t n;
	int r;

	memset(out, 0, sizeof(*out));
	r = blkid_fs(fd, off, size, out);
	if (r != -ENOENT)
		return r;
	memset(out, 0, sizeof(*out));
	n = pread(fd, head, size && size < sizeof(head) ? size : sizeof(head),
		  off);
	if (n < 0)
		return -errno;
	return probe_own(head, n, out) ? 0 : -ENOENT;
}
