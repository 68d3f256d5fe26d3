/*
 * client.c - 9P2000.L client: transport, tags, fids, replies in flight.
 *
 * Layers: requests are encoded into one send buffer and written whole
 * under a send lock; a receiver thread reads frames and hands each to the
 * slot its tag names (tag = slot index), where the waiting caller decodes
 * it.  A slot accepts a reply no larger than its request can justify
 * (rcap), so an oversized count is caught before any byte is stored.
 * Anything that breaks the protocol ends the connection: c->err is sticky
 * and every waiter sees it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client_int.h"

static void deadline(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int ms_left(const struct timespec *end)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (end->tv_sec - now.tv_sec) * 1000LL +
	     (end->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : ms > 1000000000 ? 1000000000 : (int)ms;
}

/* The client whose connection a call of this thread ended, if one did. */
static __thread struct p9_client *ended_here;

/* Whom a connection's end is pinned on (p9_client_ended_here). */
enum blame {
	BLAME_NONE,		/* we closed it */
	BLAME_THREAD,		/* a reply to this thread's call */
	BLAME_INFLIGHT,		/* the link died (end of stream, a frame that
				   names no request, no reply in time, a
				   failed write): every request unanswered,
				   one of which the server was at, unless one
				   reply is to blame already */
};

/* Call with c->lock held: end the connection, wake everyone. */
static void fail_locked(struct p9_client *c, int err, enum blame b)
{
	unsigned i;
	int pinned = 0;

	if (c->err)
		return;
	c->err = err;
	if (b == BLAME_THREAD)
		ended_here = c;
	for (i = 0; b == BLAME_INFLIGHT && i < c->nslots; i++)
		pinned |= c->slots[i].ended;
	for (i = 0; b == BLAME_INFLIGHT && !pinned && i < c->nslots; i++)
		c->slots[i].ended = c->slots[i].busy && !c->slots[i].done;
	for (i = 0; i < c->nslots; i++)
		pthread_cond_broadcast(&c->slots[i].cond);
	pthread_cond_broadcast(&c->freed);
}

int p9_client_ended_here(struct p9_client *c)
{
	int here = ended_here == c;

	if (here)
		ended_here = NULL;
	return here;
}

int p9_fail(struct p9_client *c, int err)
{
	pthread_mutex_lock(&c->lock);
	fail_locked(c, err, BLAME_THREAD);
	err = c->err;
	pthread_mutex_unlock(&c->lock);
	return err;
}

/* Write all of buf, waiting for room at most the client's timeout. */
static int write_all(int fd, const uint8_t *buf, size_t len, int timeout_ms)
{
	struct timespec end;
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	ssize_t n;

	deadline(&end, timeout_ms);
	while (len) {
		n = write(fd, buf, len);
		if (n > 0) {
			buf += n;
			len -= n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		if (poll(&p, 1, ms_left(&end)) == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

/*
 * Read what is there, at least one byte, waiting at most until end (NULL:
 * no limit).  End of file is -ECONNRESET; a wake-up from p9_client_free
 * is -ECANCELED.
 */
static ssize_t read_some(struct p9_client *c, uint8_t *buf, size_t cap,
			 const struct timespec *end)
{
	struct pollfd p[2] = { { .fd = c->rfd, .events = POLLIN },
			       { .fd = c->wake[0], .events = POLLIN } };
	ssize_t n;
	int r;

	for (;;) {
		r = poll(p, 2, end ? ms_left(end) : -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -ETIMEDOUT;
		if (p[1].revents)
			return -ECANCELED;
		n = read(c->rfd, buf, cap);
		if (n > 0)
			return n;
		if (n == 0)
			return -ECONNRESET;
		if (errno != EINTR && errno != EAGAIN)
			return -errno;
	}
}

/* Read exactly len bytes, waiting at most until end (NULL: no limit). */
static int read_full(struct p9_client *c, uint8_t *buf, size_t len,
		     const struct timespec *end)
{
	ssize_t n;

	while (len) {
		n = read_some(c, buf, len, end);
		if (n < 0)
			return n;
		buf += n;
		len -= n;
	}
	return 0;
}

/* Fill the read-ahead buffer to at least want bytes. */
static int fill(struct p9_client *c, size_t want)
{
	ssize_t n;

	while (c->rhave < want) {
		n = read_some(c, c->rbuf + c->rhave, sizeof(c->rbuf) - c->rhave,
			      NULL);
		if (n < 0)
			return n;
		c->rhave += n;
	}
	return 0;
}

/* Receive one frame into the slot its tag names. */
static int receive_one(struct p9_client *c)
{
	struct slot *s;
	uint32_t size;
	uint16_t tag;
	size_t from_ahead;
	int r;

	r = fill(c, P9_HDRSZ);
	if (r)
		return r;
	size = p9_frame_size(c->rbuf, c->rhave);
	tag = c->rbuf[5] | c->rbuf[6] << 8;
	if (size < P9_HDRSZ || size > c->msize)
		return -EPROTO;

	pthread_mutex_lock(&c->lock);
	s = tag < c->nslots ? &c->slots[tag] : NULL;
	if (!s || !s->busy || s->done || size > s->rcap) {
		if (s && s->busy && !s->done)	/* a reply too big for it */
			s->ended = 1;
		pthread_mutex_unlock(&c->lock);
		return -EPROTO;
	}
	if (s->cap < size) {
		uint8_t *nb = realloc(s->buf, size);

		if (!nb) {
			pthread_mutex_unlock(&c->lock);
			return -ENOMEM;
		}
		s->buf = nb;
		s->cap = size;
	}
	pthread_mutex_unlock(&c->lock);

	/* the slot is ours to fill until done is set */
	from_ahead = c->rhave < size ? c->rhave : size;
	memcpy(s->buf, c->rbuf, from_ahead);
	memmove(c->rbuf, c->rbuf + from_ahead, c->rhave - from_ahead);
	c->rhave -= from_ahead;
	r = read_full(c, s->buf + from_ahead, size - from_ahead, NULL);
	if (r)
		return r;

	pthread_mutex_lock(&c->lock);
	s->rlen = size;
	s->done = 1;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

static void *receiver(void *arg)
{
	struct p9_client *c = arg;
	int r;

	while ((r = receive_one(c)) == 0)
		;
	pthread_mutex_lock(&c->lock);
	if (r == -ECANCELED)
		fail_locked(c, -ESHUTDOWN, BLAME_NONE);
	else
		fail_locked(c, r, BLAME_INFLIGHT);
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

int p9_send(struct p9_client *c, struct p9_msg *t, size_t rcap)
{
	struct timespec end;
	unsigned i;
	int r, n;

	deadline(&end, c->timeout_ms);
	pthread_mutex_lock(&c->lock);
	for (;;) {
		if (c->err) {
			r = c->err;
			pthread_mutex_unlock(&c->lock);
			return r;
		}
		for (i = 0; i < c->nslots && c->slots[i].busy; i++)
			;
		if (i < c->nslots)
			break;
		if (pthread_cond_timedwait(&c->freed, &c->lock, &end) ==
		    ETIMEDOUT)
			fail_locked(c, -ETIMEDOUT, BLAME_INFLIGHT);
	}
	c->slots[i].busy = 1;
	c->slots[i].done = 0;
	c->slots[i].ended = 0;
	c->slots[i].ttype = t->type;
	c->slots[i].rcap = rcap;
	c->slots[i].timeout_ms = c->timeout_ms;
	pthread_mutex_unlock(&c->lock);

	t->tag = i;
	pthread_mutex_lock(&c->send_lock);
	n = p9_encode(c->sbuf, c->msize, t);
	r = n < 0 ? n : write_all(c->wfd, c->sbuf, n, c->timeout_ms);
	pthread_mutex_unlock(&c->send_lock);
	if (r == 0)
		return i;

	pthread_mutex_lock(&c->lock);
	if (n >= 0) {	/* a half-written frame leaves the stream unusable */
		fail_locked(c, r, BLAME_INFLIGHT);
		if (c->slots[i].ended)	/* p9_wait's, for this one */
			ended_here = c;
	}
	c->slots[i].busy = 0;
	pthread_cond_signal(&c->freed);
	pthread_mutex_unlock(&c->lock);
	return r;
}

void p9_slot_put(struct p9_client *c, int i)
{
	pthread_mutex_lock(&c->lock);
	c->slots[i].busy = 0;
	c->slots[i].done = 0;
	pthread_cond_signal(&c->freed);
	pthread_mutex_unlock(&c->lock);
}

int p9_wait(struct p9_client *c, int i, struct p9_msg *r)
{
	struct slot *s = &c->slots[i];
	struct timespec end;
	int e;

	deadline(&end, s->timeout_ms);
	pthread_mutex_lock(&c->lock);
	while (!s->done && !c->err)
		if (pthread_cond_timedwait(&s->cond, &c->lock, &end) ==
		    ETIMEDOUT)
			fail_locked(c, -ETIMEDOUT, BLAME_INFLIGHT);
	e = s->done ? 0 : c->err;
	if (e && s->ended)	/* the end is pinned on this request */
		ended_here = c;
	pthread_mutex_unlock(&c->lock);
	if (e)
		return e;

	if (p9_decode(s->buf, s->rlen, r) < 0)
		return p9_fail(c, -EPROTO);
	if (r->type == P9_RLERROR) {
		if (r->u.rlerror.ecode == 0 || r->u.rlerror.ecode > 4095)
			return p9_fail(c, -EPROTO);
		return -(int)r->u.rlerror.ecode;
	}
	if (r->type != s->ttype + 1)
		return p9_fail(c, -EPROTO);
	return 0;
}

int p9_call_keep(struct p9_client *c, struct p9_msg *t, size_t rcap,
		 struct p9_msg *r, int *slot)
{
	int i = p9_send(c, t, rcap), e;

	if (i < 0)
		return i;
	e = p9_wait(c, i, r);
	if (e) {
		p9_slot_put(c, i);
		return e;
	}
	*slot = i;
	return 0;
}

int p9_call(struct p9_client *c, struct p9_msg *t, struct p9_msg *r)
{
	int slot, e = p9_call_keep(c, t, SMALL_REPLY, r, &slot);

	if (!e)
		p9_slot_put(c, slot);
	return e;
}

static int version(struct p9_client *c, uint32_t msize)
{
	struct p9_msg t = { .type = P9_TVERSION, .tag = P9_NOTAG }, r;
	struct timespec end;
	uint8_t hdr[4];
	uint32_t size;
	int n, e;

	t.u.version.msize = msize;
	t.u.version.version = p9_mkstr(P9_VERSION);
	n = p9_encode(c->sbuf, c->msize, &t);
	if (n < 0)
		return n;
	e = write_all(c->wfd, c->sbuf, n, c->timeout_ms);
	if (e)
		return e;
	deadline(&end, c->timeout_ms);
	e = read_full(c, hdr, 4, &end);
	if (e)
		return e;
	size = p9_frame_size(hdr, 4);
	if (size < P9_HDRSZ || size > SMALL_REPLY)
		return -EPROTO;
	memcpy(c->sbuf, hdr, 4);
	e = read_full(c, c->sbuf + 4, size - 4, &end);
	if (e)
		return e;
	if (p9_decode(c->sbuf, size, &r) < 0 || r.tag != P9_NOTAG)
		return -EPROTO;
	if (r.type == P9_RLERROR)
		return r.u.rlerror.ecode && r.u.rlerror.ecode < 4096 ?
		       -(int)r.u.rlerror.ecode : -EPROTO;
	if (r.type != P9_RVERSION || !p9_str_eq(r.u.version.version, P9_VERSION) ||
	    r.u.version.msize > msize || r.u.version.msize < P9_MINMSIZE)
		return -EPROTO;
	c->msize = r.u.version.msize;
	return 0;
}

static int init_sync(struct p9_client *c)
{
	pthread_condattr_t ca;
	unsigned i;

	if (pthread_condattr_init(&ca) ||
	    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC))
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->send_lock, NULL);
	pthread_cond_init(&c->freed, &ca);
	for (i = 0; i < c->nslots; i++)
		pthread_cond_init(&c->slots[i].cond, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

int p9_client_new(int rfd, int wfd, const struct p9_client_config *cfg,
		  struct p9_client **out)
{
	struct p9_client_config d = { 0 };
	struct p9_client *c;
	int e = -ENOMEM;

	if (cfg)
		d = *cfg;
	if (!d.msize)
		d.msize = P9_CLIENT_MSIZE;
	if (d.msize < P9_MINMSIZE)
		return -EINVAL;
	if (!d.inflight)
		d.inflight = P9_CLIENT_INFLIGHT;
	if (d.inflight > P9_NOTAG)
		d.inflight = P9_NOTAG;
	if (d.timeout_ms <= 0)
		d.timeout_ms = P9_CLIENT_TIMEOUT_MS;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->rfd = rfd;
	c->wfd = wfd;
	c->msize = d.msize;
	c->timeout_ms = d.timeout_ms;
	c->nslots = d.inflight;
	c->next_fid = 1;
	c->wake[0] = c->wake[1] = -1;
	c->slots = calloc(c->nslots, sizeof(*c->slots));
	c->sbuf = malloc(c->msize);
	if (!c->slots || !c->sbuf)
		goto fail_alloc;
	if (pipe2(c->wake, O_CLOEXEC) < 0) {
		e = -errno;
		goto fail_alloc;
	}
	e = init_sync(c);
	if (e)
		goto fail_alloc;
	e = version(c, d.msize);
	if (e)
		goto fail_alloc;
	e = -pthread_create(&c->rx, NULL, receiver, c);
	if (e)
		goto fail_alloc;
	c->rx_running = 1;
	*out = c;
	return 0;

fail_alloc:
	p9_client_free(c);
	return e;
}

void p9_client_free(struct p9_client *c)
{
	unsigned i;

	if (!c)
		return;
	if (c->rx_running) {
		if (write(c->wake[1], "", 1) < 0)
			(void)0;	/* the receiver also stops at EOF */
		pthread_join(c->rx, NULL);
	}
	if (c->wake[0] >= 0) {
		close(c->wake[0]);
		close(c->wake[1]);
	}
	for (i = 0; c->slots && i < c->nslots; i++)
		free(c->slots[i].buf);
	free(c->slots);
	free(c->sbuf);
	free(c->free_fids);
	free(c);
}

uint32_t p9_client_msize(const struct p9_client *c)
{
	return c->msize;
}

int p9_client_error(struct p9_client *c)
{
	int e;

	pthread_mutex_lock(&c->lock);
	e = c->err;
	pthread_mutex_unlock(&c->lock);
	return e;
}
