/*
 * p9suite.h - 9P client tests shared by every server the client is run
 * against: our server (test_p9_ours) and diod (test_p9_diod), each over a
 * socketpair with no VM.  The tree is made on the host, so every answer
 * the client gets can be checked against the real files.
 */
#ifndef QEMOUNT_P9SUITE_H
#define QEMOUNT_P9SUITE_H

#include <stdint.h>
#include <sys/types.h>

#include "client.h"

struct srv {
	pid_t pid;
	int fd;			/* the client's end */
};

/* srv_start_ours - fork our server on dir; run_as 0 keeps root. */
int srv_start_ours(const char *dir, uint32_t max_msize, uid_t run_as,
		   int readonly, int attach_errno, struct srv *s);

/*
 * srv_start_diod - exec diod exporting dir on an inherited socket; diod
 * runs in dir.diod, which the caller removes.
 */
int srv_start_diod(const char *dir, struct srv *s);

/* srv_stop - close the connection; reap the server (kill after 10 s). */
void srv_stop(struct srv *s);

/* suite_tmpdir - a fresh directory on a filesystem with user xattrs. */
char *suite_tmpdir(void);

/* suite_rmtree - remove dir and everything below it. */
void suite_rmtree(const char *dir);

/* suite_make_tree - the read tree under dir, sized for msize. */
void suite_make_tree(const char *dir, uint32_t msize);

/* suite_read - walk, getattr, read, readdir, readlink, xattr checks. */
void suite_read(struct p9_client *c, uint32_t root, const char *dir);

/* suite_write - create, write, mkdir, rename, unlink, setattr checks. */
void suite_write(struct p9_client *c, uint32_t root, const char *dir);

/* suite_errors - ENOENT, ENOTDIR and friends surface as such. */
void suite_errors(struct p9_client *c, uint32_t root);

/* suite_walk - walk a slash-separated relative path; 0 or -errno. */
int suite_walk(struct p9_client *c, uint32_t root, const char *path,
	       uint32_t *fid);

#endif
