/*
 * image.h - the input image: a path or standard input, held open as an
 * fd that qemu inherits (/dev/fd/N), so no name is ever parsed by qemu
 * and a spooled copy has no name to leave behind.
 */
#ifndef QEMOUNT_IMAGE_H
#define QEMOUNT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct img;

/*
 * img_open - open name ("-" is standard input) for reading, or for
 * writing if writable.  Standard input that is not a regular file is
 * spooled to an unnamed, sparse temporary file in $TMPDIR (default
 * /var/tmp).  Returns 0 and sets *out, or -errno with a reason for the
 * user in err: empty input, a terminal on standard input, a directory.
 */
int img_open(const char *name, int writable, struct img **out, char *err,
	     size_t errlen);

/* img_path - "/dev/fd/N" for qemu; borrowed. */
const char *img_path(const struct img *im);

/* img_fd - the open fd (qemu keeps it open across exec). */
int img_fd(const struct img *im);

/* img_size - size in bytes. */
uint64_t img_size(const struct img *im);

/*
 * img_detect - the filesystem type on the image, as libblkid names it
 * ("ext4", "vfat", "iso9660", ...), into type.  Returns 0, or -ENOENT
 * when nothing is recognised (err then lists what was seen).
 */
int img_detect(struct img *im, char *type, size_t cap, char *err,
	       size_t errlen);

/* img_free - close the image (a spooled copy is gone with it). */
void img_free(struct img *im);

#endif
