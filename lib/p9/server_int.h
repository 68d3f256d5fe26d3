/*
 * server_int.h - the 9P server's insides, shared by server.c (fids,
 * session, walk, dispatch) and server_ops.c (the file operations).  Not
 * for use outside lib/p9/.
 */
#ifndef QEMOUNT_P9_SERVER_INT_H
#define QEMOUNT_P9_SERVER_INT_H

#include <limits.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "p9.h"
#include "server.h"

/* 9P2000.L open flags (include/net/9p/9p.h), translated, not assumed */
#define DOTL_ACCMODE	03
#define DOTL_EXCL	0200
#define DOTL_TRUNC	01000
#define DOTL_APPEND	02000
#define DOTL_DIRECTORY	0200000

#define NBUCKET		256
#define DENTS_SZ	(64 * 1024)	/* getdents64 scratch */
#define XATTR_MAX	(64 * 1024)	/* XATTR_SIZE_MAX */
#define PROCPATH	(32 + NAME_MAX)
#define OUT_BATCH	(64 * 1024)	/* replies gathered for one write */

enum { XA_NONE, XA_READ, XA_WRITE };

struct fid {
	struct fid *next;
	uint32_t num;
	int fd;			/* O_PATH handle (a file Tlcreate made: a dup
				   of ofd); -1 on xattr-read fids */
	int ofd;		/* open for I/O by Tlopen/Tlcreate, or -1 */
	int pfd;		/* parent dir when fd is a symlink, or -1 */
	char *pname;		/* the symlink's name in pfd */
	uint64_t dirpos;	/* Treaddir offset ofd stands at */
	int xmode;		/* XA_*: what the x* fields hold */
	char *xname;		/* XA_WRITE: attribute to set at clunk */
	uint8_t *xbuf;		/* value read, or being written */
	size_t xsize, xlen;	/* buffer size; bytes written so far */
	int xflags;
};

struct p9_server {
	struct p9_server_config cfg;
	int rootfd;		/* readable directory fd of the export */
	dev_t root_dev;
	ino_t root_ino;
	uint32_t msize;
	uid_t uid;		/* n_uname of the last Tattach */
	uint8_t *in, *dents;
	uint8_t *xattr;		/* XATTR_MAX: a value or list read whole */
	uint8_t *out;		/* replies not yet written: outlen bytes */
	size_t outlen;
	uint8_t *reply;		/* in out: where the reply being made goes */
	char scratch[PATH_MAX];
	struct fid *fids[NBUCKET];
};

/* d_* layout of getdents64 records, the kernel's, not libc's */
struct ldirent {
	uint64_t ino;
	int64_t off;
	uint16_t reclen;
	uint8_t type;
	char name[];
};

/* shared helpers (server.c) */
int srv_commit(struct p9_server *s);
struct fid *srv_fid_find(struct p9_server *s, uint32_t num);
int srv_fid_add(struct p9_server *s, uint32_t num, struct fid **out);
void srv_fid_drop(struct p9_server *s, struct fid *f);
int srv_fid_path(struct p9_server *s, uint32_t num, struct fid **out);
void srv_closep(int *fd);
void srv_procpath(char *buf, int fd);
int srv_name_get(struct p9_str n, char buf[NAME_MAX + 1]);
void srv_qid_of(const struct p9_server *s, const struct stat *st,
		struct p9_qid *q);
int srv_stat_fd(int fd, struct stat *st);

void srv_fid_clear(struct fid *f);

/* handlers (server_ops.c): answer r into a, or return -errno */
int srv_getattr(struct p9_server *s, const struct p9_msg *r,
	        struct p9_msg *a);
int srv_setattr(struct p9_server *s, const struct p9_msg *r,
	        struct p9_msg *a);
int srv_statfs(struct p9_server *s, const struct p9_msg *r,
	       struct p9_msg *a);
int srv_readlink(struct p9_server *s, const struct p9_msg *r,
	         struct p9_msg *a);
int srv_lopen(struct p9_server *s, const struct p9_msg *r,
	      struct p9_msg *a);
int srv_lcreate(struct p9_server *s, const struct p9_msg *r,
	        struct p9_msg *a);
int srv_read(struct p9_server *s, const struct p9_msg *r,
	     struct p9_msg *a);
int srv_write(struct p9_server *s, const struct p9_msg *r,
	      struct p9_msg *a);
int srv_fsync(struct p9_server *s, const struct p9_msg *r,
	      struct p9_msg *a);
int srv_readdir(struct p9_server *s, const struct p9_msg *r,
	        struct p9_msg *a);
int srv_mkdir(struct p9_server *s, const struct p9_msg *r,
	      struct p9_msg *a);
int srv_mknod(struct p9_server *s, const struct p9_msg *r,
	      struct p9_msg *a);
int srv_symlink(struct p9_server *s, const struct p9_msg *r,
	        struct p9_msg *a);
int srv_link(struct p9_server *s, const struct p9_msg *r,
	     struct p9_msg *a);
int srv_renameat(struct p9_server *s, const struct p9_msg *r,
	         struct p9_msg *a);
int srv_unlinkat(struct p9_server *s, const struct p9_msg *r,
	         struct p9_msg *a);
int srv_xattrwalk(struct p9_server *s, const struct p9_msg *r,
	          struct p9_msg *a);
int srv_xattrcreate(struct p9_server *s, const struct p9_msg *r,
	            struct p9_msg *a);
int srv_clunk(struct p9_server *s, const struct p9_msg *r,
	      struct p9_msg *a);

#endif
