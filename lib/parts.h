/*
 * parts.h - the partition table of a disk, read on the host.
 *
 * libblkid reads most tables (dos/MBR with logical partitions, gpt, mac,
 * atari, bsd, sgi, sun, ...); the Amiga Rigid Disk Block, which it does
 * not know, is read here the way Linux's block/partitions/amiga.c reads
 * it.  Partitions carry the number the guest's Linux kernel gives them
 * (/dev/vdaN), so the host can name one on the kernel command line.
 */
#ifndef QEMOUNT_PARTS_H
#define QEMOUNT_PARTS_H

#include <stddef.h>
#include <stdint.h>

#define PARTS_MAX	64

struct part {
	int num;		/* the kernel's number: /dev/vdaN */
	uint64_t start, size;	/* bytes, from the start of the disk */
	char type[40];		/* "0x83", a GPT type GUID, "Apple_HFS",
				 * an Amiga DOS type ("DOS\\3" as "DOS3") */
	char name[72];		/* GPT, APM or RDB name; "" if none */
	char uuid[40];		/* GPT partition UUID, MBR id-N; "" if none */
	int container;		/* holds partitions or nothing, never a
				 * filesystem: an extended partition, an APM
				 * partition map or free space */
};

struct parts {
	char type[16];		/* "dos", "gpt", "mac", "atari", "bsd",
				 * "amiga", ...; "" if no table */
	char uuid[40];		/* the table's id; "" if none */
	int n;
	struct part p[PARTS_MAX];
};

/*
 * parts_read - the partition table in the size bytes at off of fd (the
 * disk).  Returns 0 (t->n is 0 and t->type "" when there is no table), or
 * -errno.
 */
int parts_read(int fd, uint64_t off, uint64_t size, struct parts *t);

/*
 * parts_rdb - an Amiga Rigid Disk Block and its partition list in the
 * first len bytes of a disk (whatever lies past len is not read).
 * Returns 1 and fills *t, or 0 if there is none.  Pure: no I/O.
 */
int parts_rdb(const unsigned char *disk, size_t len, struct parts *t);

#endif
