/*
 * server.h - a single-process 9P2000.L file server over an fd pair.
 *
 * Exports one directory.  Every object is reached from the root directory
 * fd with *at() calls and O_NOFOLLOW; ".." at the root stays at the root
 * and symlinks are returned as symlinks, never followed by the server, so
 * no request can name anything outside the root.  The same source builds
 * static with musl for the guest (guests/linux-6.1/) and natively for the
 * host tests, where the client is tested against it over a socketpair.
 */
#ifndef QEMOUNT_P9_SERVER_H
#define QEMOUNT_P9_SERVER_H

#include <stdint.h>

#define P9_SERVER_MSIZE (1024 * 1024 + 4096)	/* default largest msize */

struct p9_server;

struct p9_server_config {
	int rootfd;		/* directory to export; borrowed, dup'd */
	uint32_t max_msize;	/* 0: P9_SERVER_MSIZE */
	int attach_errno;	/* non-zero: Tattach fails with it (no fs) */
	int readonly;		/* modifying requests fail with EROFS */
	/*
	 * commit, if set, ends the export on the host's word: a Tfsync
	 * with datasync P9_FSYNC_COMMIT (p9.h) releases every fid and the
	 * root, then calls commit(commit_arg) - the guest unmounts, say -
	 * and answers with its result (0 or -errno).  Later requests fail
	 * with EBADF.  Without it such a Tfsync is an ordinary fsync.
	 */
	int (*commit)(void *arg);
	void *commit_arg;
};

/*
 * p9_server_new - make a server for cfg.  Returns 0 and sets *out, or
 * -errno.  The caller frees *out with p9_server_free.
 */
int p9_server_new(const struct p9_server_config *cfg, struct p9_server **out);

/*
 * p9_server_serve - answer requests read from rfd on wfd, one at a time
 * in arrival order, until rfd reaches end of file.  Returns 0 at a clean
 * end of file, -EPROTO if a frame is malformed or oversized (the
 * connection is then dropped), or -errno of a failed read or write.  All
 * fids are released before it returns.
 */
int p9_server_serve(struct p9_server *s, int rfd, int wfd);

/* p9_server_free - release s and everything it holds.  NULL is allowed. */
void p9_server_free(struct p9_server *s);

#endif
