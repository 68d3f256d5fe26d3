/*
 * fssize.h - how big a new image must be: named floppy geometries, and
 * the size `qemount pack` picks for a tree when none is given.
 */
#ifndef QEMOUNT_FSSIZE_H
#define QEMOUNT_FSSIZE_H

#include <stdint.h>

#include "conv.h"

/*
 * fssize_floppy - the byte size of floppy geometry name: DD and HD (the
 * Amiga's 880 KiB and 1760 KiB ADF), 360K, 720K, 1.2M, 1.44M, 2.88M (PC).
 * Returns 0, or -EINVAL for a name not known.
 */
int fssize_floppy(const char *name, uint64_t *size);

/* fssize_floppies - the names fssize_floppy knows, for usage text. */
const char *fssize_floppies(void);

/*
 * fssize_auto - a size for an image of filesystem fs that holds what st
 * (conv_in_scan) counted, with room for the filesystem's own structures
 * and a margin; never below what fs's formatter accepts.  Amiga AFFS
 * takes the smallest floppy that fits.  Returns 0, or -ENOENT if fs has
 * no rule (then the caller asks for --size).
 */
int fssize_auto(const char *fs, const struct conv_in_stats *st,
		uint64_t *size);

#endif
