/*
 * client_int.h - the 9P client's insides, shared by client.c (transport,
 * tags, replies) and client_ops.c (one function per 9P call).  Not for
 * use outside lib/p9/.
 */
#ifndef QEMOUNT_P9_CLIENT_INT_H
#define QEMOUNT_P9_CLIENT_INT_H

#include <pthread.h>

#include "client.h"

#define SMALL_REPLY	256	/* room for every fixed-size R message */
#define PATH_TARGET_MAX	4096

struct slot {
	int busy, done;
	uint8_t ttype;		/* the request's type */
	size_t rcap;		/* largest acceptable reply */
	int timeout_ms;		/* longest wait for it (p9_send: the client's) */
	int ended;		/* the connection's end is pinned on it */
	size_t rlen;
	uint8_t *buf;
	size_t cap;
	pthread_cond_t cond;
};

struct p9_client {
	int rfd, wfd;
	uint32_t msize;
	int timeout_ms;
	unsigned nslots;
	struct slot *slots;

	pthread_mutex_t lock;	/* slots, err, fids */
	pthread_cond_t freed;	/* a slot became free */
	int err;

	pthread_mutex_t send_lock;
	uint8_t *sbuf;		/* msize bytes */

	pthread_t rx;
	int rx_running;
	int wake[2];		/* closes the receiver down */
	uint8_t rbuf[65536];	/* receiver's read-ahead */
	size_t rhave;

	uint32_t next_fid;
	uint32_t *free_fids;
	size_t nfree, capfree;
};

/*
 * p9_send - take a free slot (waiting at most the timeout) and send t
 * under its tag; a reply larger than rcap will end the connection.
 * Returns the slot index or -errno.
 */
int p9_send(struct p9_client *c, struct p9_msg *t, size_t rcap);

/*
 * p9_wait - wait for the reply in slot i and decode it into r (views into
 * the slot).  A malformed reply or one of the wrong type ends the
 * connection (-EPROTO); Rlerror gives -ecode.  The caller still owns the
 * slot: release it with p9_slot_put.
 */
int p9_wait(struct p9_client *c, int i, struct p9_msg *r);

/* p9_slot_put - release slot i (and the views into it). */
void p9_slot_put(struct p9_client *c, int i);

/*
 * p9_call_keep - p9_send + p9_wait; on success *slot holds the reply and
 * must be released with p9_slot_put.  On failure nothing is held.
 */
int p9_call_keep(struct p9_client *c, struct p9_msg *t, size_t rcap,
		 struct p9_msg *r, int *slot);

/* p9_call - send t and wait for a reply with no views worth keeping. */
int p9_call(struct p9_client *c, struct p9_msg *t, struct p9_msg *r);

/* p9_fail - end the connection with err (the first error sticks). */
int p9_fail(struct p9_client *c, int err);

#endif
