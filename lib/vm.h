/*
 * vm.h - start and stop one QEMU guest.
 *
 * The guest is a PVH kernel on `-M microvm` with no firmware: the image
 * is its virtio-blk disk, a socketpair end is its 9P channel (a
 * virtserialport the guest sees as /dev/vport0p1), and its serial console
 * goes to a second socketpair the host drains into a log.  The launcher
 * knows nothing of 9P: it hands back the channel fd.
 *
 * qemu dies with the process that started it (PR_SET_PDEATHSIG), and an
 * image opened for reading is attached read-only under a qcow2 overlay
 * in an anonymous memory file: the guest may write (a journal replay)
 * into it; the image never changes, and nothing is left on disk however
 * qemu ends (snapshot=on would leave its temp file behind on a kill).
 *
 * The disk is described to QEMU's block layer in full (QAPI's
 * BlockdevOptions as JSON): the format driver is always named, never
 * probed, and a container never opens another file by a name it holds
 * (no backing file).  The same description is what qemu-img reads for
 * the host-side probes (vm_disk_size, vm_disk_read), so detection sees
 * what the guest sees.
 */
#ifndef QEMOUNT_VM_H
#define QEMOUNT_VM_H

#include <stddef.h>
#include <stdint.h>

enum vm_accel { VM_ACCEL_AUTO, VM_ACCEL_KVM, VM_ACCEL_TCG };

/*
 * A disk: a format driver over a protocol (a file held open, or a URL for
 * QEMU's curl driver), and optionally a window of the disk the format
 * presents (QEMU's raw driver with offset= and size= on top).
 */
struct vm_disk {
	const char *format;	/* "raw", "qcow2", "vmdk", "vdi", "vhdx", "vpc" */
	int fd;			/* the file, inherited as /dev/fd/N; -1: url */
	const char *url;	/* http:// or https:// (fd -1) */
	uint64_t offset;	/* window start in bytes */
	uint64_t size;		/* window length; 0: to the end */
	uint64_t length;	/* what the guest sees, in bytes (read-only
				 * runs: the size of the throwaway overlay) */
};

struct vm_config {
	const char *qemu;	/* NULL: qemu-system-x86_64 from PATH */
	const char *machine;	/* -M value; NULL: "microvm" */
	const char *kernel;	/* uncompressed PVH vmlinux */
	const char *initrd;
	const struct vm_disk *disk; /* borrowed for the call */
	int writable;		/* 0: the image file is never written */
	const char *append;	/* kernel options and the guest's orders */
	unsigned mem_mb;	/* 0: 256 */
	enum vm_accel accel;	/* AUTO: KVM if a quick probe shows it works */
	int echo_log;		/* copy the guest console to stderr as it comes */
};

struct vm;

/*
 * vm_start - launch qemu for cfg.  Returns 0 and sets *out, or -errno if
 * qemu cannot be started.  The guest boots in the background: readiness
 * is the first reply on vm_channel(), which the caller waits for with its
 * own timeout.  Free with vm_free (which stops the guest if needed).
 */
int vm_start(const struct vm_config *cfg, struct vm **out);

/* vm_channel - the host end of the 9P channel, owned by vm. */
int vm_channel(const struct vm *vm);

/*
 * vm_stop - end the session: close the channel (the guest then unmounts,
 * syncs and powers off) and wait up to timeout_ms for qemu to exit; kill
 * it after that.  Returns 0 if the guest powered off by itself, -ETIMEDOUT
 * if it had to be killed, -EIO if qemu failed.  The log is complete after.
 */
int vm_stop(struct vm *vm, int timeout_ms);

/* vm_accel - the accelerator and why: "tcg (probed)", "kvm (asked for)". */
const char *vm_accel(const struct vm *vm);

/*
 * vm_log - the guest console so far (the last 64 KiB, from the first
 * whole line in it), NUL-terminated; borrowed, valid until the next call
 * on vm.  A control byte other than tab, CR and LF (an escape sequence a
 * hostile guest would send to the user's terminal through our error
 * lines) reads as '?'.
 */
const char *vm_log(struct vm *vm);

/* vm_free - kill qemu if it still runs, reap it, release vm. */
void vm_free(struct vm *vm);

/*
 * vm_disk_size - the size in bytes of the disk d presents (after its
 * window), asked of `qemu-img info`, which also checks a container's
 * header.  Returns 0, or -errno with qemu-img's reason in err; waits at
 * most timeout_ms (a URL's server may hang).
 */
int vm_disk_size(const struct vm_disk *d, uint64_t *size, int timeout_ms,
		 char *err, size_t errlen);

/*
 * vm_disk_read - copy the first len bytes of the disk d presents into the
 * file out (from its offset 0; it is truncated to what was copied: less
 * than len if the disk is shorter), with `qemu-img dd`.  out must be a
 * file (a memfd will do), not a pipe.  Returns 0, or -errno with
 * qemu-img's reason in err; waits at most timeout_ms.
 */
int vm_disk_read(const struct vm_disk *d, int out, uint64_t len,
		 int timeout_ms, char *err, size_t errlen);

/*
 * vm_disk_convert - write the disk d presents into the file out (from
 * its offset 0) as a container of format (qcow2, vmdk, vdi, vhdx, vpc,
 * raw), with `qemu-img convert`.  Returns 0, or -errno with qemu-img's
 * reason in err; waits at most timeout_ms.
 */
int vm_disk_convert(const struct vm_disk *d, const char *format, int out,
		    int timeout_ms, char *err, size_t errlen);

/*
 * vm_accel_name - "kvm" or "tcg": what AUTO resolves to on this host
 * (probed with a timeout, an abort or a hang being "no"; once per
 * process, and the answer kept for this boot of the host in
 * ${XDG_CACHE_HOME:-~/.cache}/qemount/kvm-probe).  *how, if how is not
 * NULL, says where the answer came from.
 */
const char *vm_accel_name(enum vm_accel a, const char *qemu,
			  const char *kernel, const char **how);

#endif
