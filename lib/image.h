/*
 * image.h - the input image, whatever form it comes in: a file, a block
 * device, standard input, an http(s) URL; raw, compressed (gzip, xz,
 * zstd, bzip2, lz4) or in a disk container QEMU reads (qcow2, vmdk, vdi,
 * vhdx, vpc); all of it or a window of it.  Forms are told apart by
 * content, never by name.
 *
 * A file is held open as an fd that qemu inherits (/dev/fd/N), so no
 * name is ever parsed by qemu, and a spooled copy (standard input from a
 * pipe, a decompressed image) is an unnamed temp file that leaves
 * nothing behind.
 */
#ifndef QEMOUNT_IMAGE_H
#define QEMOUNT_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct img;
struct vm_disk;

struct img_opts {
	const char *name;	/* path, "-" (standard input) or http(s)://... */
	int writable;		/* open for writing (not with a URL or a
				 * compressed image) */
	uint64_t offset;	/* window of the disk (after decompression,
				 * inside a container): first byte */
	uint64_t length;	/* its length; 0: to the end */
	int timeout_ms;		/* longest wait for qemu-img (a URL's
				 * server); 0: 60 s */
};

/*
 * img_open - open o->name and find out what it is.  Standard input that
 * is not a regular file, and a compressed image, are spooled to an
 * unnamed, sparse temporary file in $TMPDIR (default /var/tmp).  A
 * container's header is checked with qemu-img.  Returns 0 and sets *out,
 * or -errno with one line for the user in err: empty input, a terminal
 * on standard input, a directory, damaged compressed data, a container
 * QEMU refuses or one that names other files, a window past the end.
 */
int img_open(const struct img_opts *o, struct img **out, char *err,
	     size_t errlen);

/* img_disk - the disk as qemu is to open it; borrowed, lives with im. */
const struct vm_disk *img_disk(const struct img *im);

/* img_size - size in bytes of the disk the guest sees (the window). */
uint64_t img_size(const struct img *im);

/*
 * img_form - what the input turned out to be, for messages: "raw",
 * "qcow2", "xz-compressed raw", ...; borrowed, lives with im.
 */
const char *img_form(const struct img *im);

/*
 * img_view - the bytes [off, off + len) of the disk the guest sees, for a
 * host-side probe: *fd holds them from offset *at.  A raw file is the
 * file itself; a container or a URL gives a memfd of size len holding
 * the range's first head bytes (read with qemu-img; the rest a hole).
 * The caller closes *fd.  Returns 0, or -errno (with qemu-img's reason
 * in err).
 */
int img_view(struct img *im, uint64_t off, uint64_t len, uint64_t head,
	     int *fd, uint64_t *at, char *err, size_t errlen);

/* img_free - close the image (a spooled copy is gone with it). */
void img_free(struct img *im);

#endif
