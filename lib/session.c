/*
 * session.c - image -> guest -> VM -> 9P root (see session.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "guest.h"
#include "image.h"
#include "session.h"
#include "vm.h"

#define SHUTDOWN_MS	10000
#define REASON_LINES	3

struct sess {
	struct img *img;
	struct vm *vm;
	struct p9_client *c;
	uint32_t root;
	int attached;
	char fs[64];
	struct guest guest;
	struct sess_times t;
	double t0;
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * The guest's reason for a failure, on one line: what its init quoted of
 * the kernel log ("qemount-init: kernel: ..." lines, see
 * guests/linux-6.1/init.c), else the last console lines before the
 * init's own report.
 */
static void guest_reason(const char *log, char *out, size_t cap)
{
	static const char quote[] = "qemount-init: kernel: ";
	const char *lines[REASON_LINES], *p, *nl;
	size_t lens[REASON_LINES], n = 0, i, len = 0, first;
	int quoted = strstr(log, quote) != NULL, stop = 0;

	for (p = log; *p && !stop; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		if (quoted) {
			if (strncmp(p, quote, sizeof(quote) - 1) != 0)
				continue;
			p += sizeof(quote) - 1;
		} else if (strncmp(p, "qemount-init:", 13) == 0) {
			stop = 1;
			continue;
		}
		lines[n % REASON_LINES] = p;
		lens[n % REASON_LINES] = nl - p - (nl > p && nl[-1] == '\r');
		if (lens[n % REASON_LINES])
			n++;
	}
	out[0] = '\0';
	first = n > REASON_LINES ? n - REASON_LINES : 0;
	for (i = first; i < n && len + 4 < cap; i++)
		len += snprintf(out + len, cap - len, "%s%.*s",
				i > first ? "; " : "",
				(int)lens[i % REASON_LINES],
				lines[i % REASON_LINES]);
}

static int boot(struct sess *s, const struct sess_opts *o, char *err,
		size_t errlen)
{
	struct p9_client_config cc = { .timeout_ms = o->timeout_ms };
	struct vm_config vc = { 0 };
	char append[2048], reason[1024];
	int e;

	snprintf(append, sizeof(append), "%s printk.time=0 qm.fs=%s%s",
		 s->guest.cmdline, s->fs, o->writable ? " qm.rw=1" : "");
	if (o->partition > 0)
		snprintf(append + strlen(append), sizeof(append) - strlen(append),
			 " qm.dev=/dev/vda%d", o->partition);
	vc.machine = s->guest.machine;
	vc.kernel = s->guest.kernel;
	vc.initrd = s->guest.initrd;
	vc.disk = img_disk(s->img);
	vc.writable = o->writable;
	vc.append = append;
	vc.echo_log = o->echo_log;
	e = vm_start(&vc, &s->vm);
	if (e) {
		snprintf(err, errlen, "cannot start qemu: %s", strerror(-e));
		return e;
	}
	e = p9_client_new(vm_channel(s->vm), vm_channel(s->vm), &cc, &s->c);
	s->t.boot = now() - s->t0;
	if (e) {	/* the guest never answered: say what it printed */
		vm_stop(s->vm, 1000);
		guest_reason(vm_log(s->vm), reason, sizeof(reason));
		snprintf(err, errlen, "the %s guest did not answer: %s%s%s",
			 s->guest.name, strerror(-e), reason[0] ? ": " : "",
			 reason);
	}
	return e;
}

static int attach(struct sess *s, char *err, size_t errlen)
{
	char reason[1024];
	int e = p9_attach(s->c, 0, NULL, &s->root, NULL);

	s->t.attach = now() - s->t0;
	if (!e) {
		s->attached = 1;
		return 0;
	}
	/* stop first: the console is complete once qemu is gone */
	p9_client_free(s->c);
	s->c = NULL;
	vm_stop(s->vm, SHUTDOWN_MS);
	guest_reason(vm_log(s->vm), reason, sizeof(reason));
	snprintf(err, errlen, "cannot mount as %s: %s%s%s", s->fs,
		 strerror(-e), reason[0] ? " (guest: " : "", reason);
	if (reason[0] && strlen(err) + 2 < errlen)
		strcat(err, ")");
	return e;
}

int sess_open(const struct sess_opts *o, struct sess **out, char *err,
	      size_t errlen)
{
	struct img_opts io = {
		.name = o->image, .writable = o->writable, .offset = o->offset,
		.length = o->length, .timeout_ms = o->timeout_ms,
	};
	struct sess *s = calloc(1, sizeof(*s));
	int e;

	if (!s)
		return -ENOMEM;
	s->t0 = now();
	e = img_open(&io, &s->img, err, errlen);
	s->t.open = now() - s->t0;
	if (!e && o->fs)
		snprintf(s->fs, sizeof(s->fs), "%s", o->fs);
	else if (!e && o->partition > 0) {
		snprintf(err, errlen, "name the filesystem of partition %d "
			 "with --fs", o->partition);
		e = -EINVAL;
	} else if (!e)
		e = img_detect(s->img, s->fs, sizeof(s->fs), err, errlen);
	s->t.detect = now() - s->t0;
	if (!e)
		e = guest_find(s->fs, o->writable, &s->guest, err, errlen);
	if (!e)
		e = boot(s, o, err, errlen);
	if (!e)
		e = attach(s, err, errlen);
	if (e) {
		p9_client_free(s->c);
		vm_free(s->vm);
		img_free(s->img);
		free(s);
		return e;
	}
	*out = s;
	return 0;
}

struct p9_client *sess_client(struct sess *s)
{
	return s->c;
}

uint32_t sess_root(struct sess *s)
{
	return s->root;
}

const char *sess_fs(struct sess *s)
{
	return s->fs;
}

int sess_close(struct sess *s, struct sess_times *times, char *err,
	       size_t errlen)
{
	double t = now();
	int e;

	if (s->attached)
		p9_clunk(s->c, s->root);
	p9_client_free(s->c);
	e = vm_stop(s->vm, SHUTDOWN_MS);
	if (e)
		snprintf(err, errlen, "the guest did not shut down cleanly: %s",
			 e == -ETIMEDOUT ? "killed after 10 s" : "qemu failed");
	s->t.shutdown = now() - t;
	if (times)
		*times = s->t;
	vm_free(s->vm);
	img_free(s->img);
	free(s);
	return e;
}
