/*
 * session.h - one image served by one guest: open the image, pick the
 * filesystem and the guest, boot it, speak 9P, attach.  What every
 * command (tar, ls, cat, mount, pack) starts with.
 */
#ifndef QEMOUNT_SESSION_H
#define QEMOUNT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "p9/client.h"

struct sess_opts {
	const char *image;	/* path, "-" (standard input) or http(s) URL */
	uint64_t offset;	/* a window of the disk: first byte */
	uint64_t length;	/* and length; 0: to the end */
	const char *fs;		/* NULL: detect */
	int partition;		/* 1..: that partition (the kernel's number) */
	const char *partname;	/* or the partition with this name (GPT,
				 * APM, RDB) or filesystem label; both 0/NULL:
				 * the whole disk's filesystem, or else every
				 * partition, each at /N (N its number) */
	int writable;		/* mount read-write (the image will change) */
	int format;		/* format it first (needs fs; implies writable) */
	const char *label;	/* with format: the volume label, or NULL */
	const char *const *mkfs_args;	/* with format: more formatter args */
	unsigned n_mkfs_args;
	int echo_log;		/* copy the guest console to stderr */
	int timeout_ms;		/* longest wait for the guest; 0: default */
};

struct sess_times {		/* seconds, for -v and benchmarks */
	double open, boot, attach, shutdown;
	double detect;		/* from the start: input known, fs probed */
	char accel[96];		/* the guest's accelerator, and why (vm_accel) */
};

struct sess;

/*
 * sess_open - everything up to an attached root.  Returns 0 and sets
 * *out, or -errno with one line for the user in err (for a mount that
 * failed in the guest: the errno and the guest kernel's own words).
 */
int sess_open(const struct sess_opts *o, struct sess **out, char *err,
	      size_t errlen);

/* The 9P client and the root fid of the mounted filesystem. */
struct p9_client *sess_client(struct sess *s);
uint32_t sess_root(struct sess *s);

/*
 * sess_fs - the filesystem type being served ("dos partitions" for a
 * tree of partitions).
 */
const char *sess_fs(struct sess *s);

/*
 * sess_commit - end the export now (lib/p9/client.h, p9_commit): the
 * guest unmounts and says whether that went cleanly.  Returns 0 when the
 * image is whole, or -errno with the reason (the guest's words) in err.
 * Waits at most timeout_ms (0: the session's timeout).  Only
 * sess_close may follow.
 */
int sess_commit(struct sess *s, int timeout_ms, char *err, size_t errlen);

/*
 * sess_lost - after a call on sess_client(s) failed: if that was because
 * the connection to the guest has ended (rather than an errno its driver
 * gave), stop the guest and return the reason read from its console, in
 * out (cap bytes): "the guest kernel crashed (BUG: ...)", "the guest
 * gave no reply in N s (killed)", or the connection's errno, with the
 * guest's last console lines; only sess_close may follow then.  NULL
 * while the guest answers.
 */
const char *sess_lost(struct sess *s, char *out, size_t cap);

/*
 * sess_warnings - what sess_open left out and why (a partition with no
 * filesystem, or one the guest could not mount), a line each; "" if
 * nothing.  Borrowed, lives with s.
 */
const char *sess_warnings(struct sess *s);

/*
 * sess_close - clunk, let the guest unmount and power off, reap qemu,
 * free s.  Returns 0, or -errno with a reason in err if the guest did not
 * shut down cleanly (it is killed then: after 10 s, or after 1 s if it
 * was read-only and its 9P link had failed), or -EIO if its kernel
 * logged the served filesystem losing data (a directory it could not
 * read, served as if complete: what was read may be incomplete).
 * times, if not NULL, is filled.
 */
int sess_close(struct sess *s, struct sess_times *times, char *err,
	       size_t errlen);

#endif
