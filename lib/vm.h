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
 * image opened for reading is attached with snapshot=on: the guest may
 * write (a journal replay) into a throwaway overlay; the file never
 * changes.
 */
#ifndef QEMOUNT_VM_H
#define QEMOUNT_VM_H

#include <stddef.h>

enum vm_accel { VM_ACCEL_AUTO, VM_ACCEL_KVM, VM_ACCEL_TCG };

struct vm_config {
	const char *qemu;	/* NULL: qemu-system-x86_64 from PATH */
	const char *kernel;	/* uncompressed PVH vmlinux */
	const char *initrd;
	const char *image;	/* the disk: a path, or /dev/fd/N kept open */
	const char *image_format; /* QEMU block driver; NULL: raw */
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

/*
 * vm_log - the guest console so far (the last 64 KiB), NUL-terminated;
 * borrowed, valid until the next call on vm.
 */
const char *vm_log(struct vm *vm);

/* vm_free - kill qemu if it still runs, reap it, release vm. */
void vm_free(struct vm *vm);

/*
 * vm_accel_name - "kvm" or "tcg": what AUTO resolves to on this host
 * (probed once per process, with a timeout; an abort or a hang is "no").
 */
const char *vm_accel_name(enum vm_accel a, const char *qemu,
			  const char *kernel);

#endif
