/*
 * session.c - image -> guest -> VM -> 9P root (see session.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "guest.h"
#include "image.h"
#include "layout.h"
#include "session.h"
#include "vm.h"

#define SHUTDOWN_MS	10000
#define DEAD_MS		1000	/* the same for a guest that is no use */
#define REASON_LINES	3

struct sess {
	struct img *img;
	struct vm *vm;
	struct p9_client *c;
	uint32_t root;
	int attached;
	int writable;		/* the guest may write the image */
	char fs[64];
	int partition;		/* /dev/vdaN served alone; 0: not */
	int np;			/* > 0: these partitions, one tree */
	int pnum[PARTS_MAX];
	char pfs[PARTS_MAX][32];
	char warn[4096];	/* warnings, a line each */
	struct guest guest;
	struct sess_times t;
	double t0;
	int timeout_ms;		/* the longest wait for one reply */
};

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/*
 * If line is one where the guest's init quotes someone ("qemount-init:
 * kernel: ..." for the kernel log, "mkfs: " and "helper: " for the output
 * of a program that failed; guests/linux-6.1/init.c), the quote;
 * else NULL.
 */
static const char *quoted(const char *line)
{
	static const char *const who[] = { "kernel: ", "mkfs: ", "helper: " };
	static const char init[] = "qemount-init: ";
	size_t i;

	if (strncmp(line, init, sizeof(init) - 1) != 0)
		return NULL;
	line += sizeof(init) - 1;
	for (i = 0; i < sizeof(who) / sizeof(who[0]); i++)
		if (strncmp(line, who[i], strlen(who[i])) == 0)
			return line + strlen(who[i]);
	return NULL;
}

/*
 * The first line of the kernel's report of its own crash (an oops, a
 * BUG, a panic: what arch/x86/kernel/dumpstack.c, mm/fault.c and
 * kernel/panic.c print first), with the kernel instruction it died at
 * ("RIP: 0010:FUNCTION+...") if the console has it: "the guest kernel
 * crashed (BUG: ...; RIP: ...)" into out.  0 if the console shows no
 * crash.
 */
static int crash_reason(const char *log, char *out, size_t cap)
{
	static const char *const first[] = {
		"BUG: ", "kernel BUG at ", "Oops: ", "general protection fault",
		"Kernel panic - not syncing", "invalid opcode: ",
		"divide error: ", "stack segment: ", "double fault: ",
		"watchdog: BUG: ", "Unable to handle kernel ",
	};
	const char *p, *nl, *what = NULL;
	int wlen = 0;
	size_t i;

	for (p = log; *p; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\r\n");
		if (what && !strncmp(p, "RIP: 0010:", 10)) {	/* the kernel's */
			snprintf(out, cap, "the guest kernel crashed (%.*s; %.*s)",
				 wlen, what, (int)(nl - p), p);
			return 1;
		}
		for (i = 0; !what && i < sizeof(first) / sizeof(first[0]); i++)
			if (!strncmp(p, first[i], strlen(first[i]))) {
				what = p;
				wlen = nl - p;
			}
	}
	if (what)
		snprintf(out, cap, "the guest kernel crashed (%.*s)", wlen, what);
	return what != NULL;
}

/*
 * What the guest's init said after the session of its kernel's log
 * ("qemount-init: fs error: MESSAGE", guests/linux-6.1/init.c: the
 * filesystem lost data while served), joined on one line into out.  0
 * if it said none.
 */
static int fs_errors(const char *log, char *out, size_t cap)
{
	static const char mark[] = "qemount-init: fs error: ";
	const char *p, *nl;
	size_t len = 0;
	int n = 0;

	for (p = log; *p; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\r\n");
		if (strncmp(p, mark, sizeof(mark) - 1) || !*nl)
			continue;	/* another line, or one cut off */
		p += sizeof(mark) - 1;
		if (!n++)
			len = snprintf(out, cap, "the guest kernel logged "
				       "errors while serving it: ");
		if (len + 4 < cap)
			len += snprintf(out + len, cap - len, "%s%.*s",
					n > 1 ? "; " : "", (int)(nl - p), p);
	}
	return n > 0;
}

/*
 * The guest's reason for a failure, on one line: its kernel's crash
 * (crash_reason), else the last of what its init quoted (quoted()), else
 * the last console lines before the init's own report.
 */
static void guest_reason(const char *log, char *out, size_t cap)
{
	const char *lines[REASON_LINES], *p, *nl, *q;
	size_t lens[REASON_LINES], n = 0, i, len = 0, first, ll;
	int any = 0, stop = 0;

	if (crash_reason(log, out, cap))
		return;
	for (p = log; *p && !any; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		any = quoted(p) != NULL;
	}
	for (p = log; *p && !stop; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		if (any) {
			if (!(q = quoted(p)))
				continue;
			p = q;
		} else if (strncmp(p, "qemount-init:", 13) == 0) {
			stop = 1;
			continue;
		}
		ll = nl - p - (nl > p && nl[-1] == '\r');
		if (!ll || !*nl || !strncmp(p, "reboot: ", 8))
			continue;	/* empty, cut off (qemu killed), or the
					 * power-off that follows any end */
		if (n && lens[(n - 1) % REASON_LINES] == ll &&
		    !memcmp(lines[(n - 1) % REASON_LINES], p, ll))
			continue;	/* a line again (a loop): said once */
		lines[n % REASON_LINES] = p;
		lens[n % REASON_LINES] = ll;
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

/*
 * Append " KEY=VALUE" to buf, VALUE %XX-escaped where a byte is not one
 * guests/linux-6.1/init.c takes as it is.  -1 if it does not fit.
 */
static int order(char *buf, size_t cap, const char *key, const char *value)
{
	static const char plain[] = "-_.,:/=+@";
	size_t len = strlen(buf);
	int n = snprintf(buf + len, cap - len, " %s=", key);
	const unsigned char *v;

	if (n < 0 || (size_t)n >= cap - len)
		return -1;
	len += n;
	for (v = (const unsigned char *)value; *v; v++) {
		int keep = (*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') ||
			   (*v >= '0' && *v <= '9') || strchr(plain, *v);

		if (len + 4 >= cap)
			return -1;
		len += keep ? (size_t)snprintf(buf + len, cap - len, "%c", *v) :
			      (size_t)snprintf(buf + len, cap - len, "%%%02X", *v);
	}
	return 0;
}

/*
 * The orders to format first: qm.mkfs=1, a random seed (the guest has no
 * entropy source of its own; guests/linux-6.1/init.c), the label, the
 * mkfs args.
 */
static int orders_mkfs(const struct sess_opts *o, char *buf, size_t cap)
{
	unsigned char rnd[32];
	char hex[2 * sizeof(rnd) + 1];
	unsigned i;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	if (order(buf, cap, "qm.mkfs", "1") || order(buf, cap, "qm.seed", hex) ||
	    (o->label && order(buf, cap, "qm.label", o->label)))
		return -1;
	for (i = 0; i < o->n_mkfs_args; i++)
		if (order(buf, cap, "qm.mkfsarg", o->mkfs_args[i]))
			return -1;
	return 0;
}

/*
 * The connection to the guest ended with e (the client's error; a wait
 * of wait_ms ran out if -ETIMEDOUT): stop the guest, whose console is
 * complete once qemu is gone, and say why in out: its kernel crashed, or
 * it gave no reply in time, or e, with its last words (guest_reason).  It gets DEAD_MS to power off, as in sess_close,
 * unless it answered once and may write the image.  The client is
 * freed: only sess_close may follow.
 */
static void lost(struct sess *s, int e, int wait_ms, char *out, size_t cap)
{
	int grace = s->c && s->writable ? SHUTDOWN_MS : DEAD_MS, killed;
	char reason[1024];

	p9_client_free(s->c);
	s->c = NULL;
	s->attached = 0;
	killed = vm_stop(s->vm, grace) == -ETIMEDOUT;
	if (crash_reason(vm_log(s->vm), out, cap))
		return;
	guest_reason(vm_log(s->vm), reason, sizeof(reason));
	if (e == -ETIMEDOUT)
		snprintf(out, cap, "the guest gave no reply in %d s%s%s%s",
			 (wait_ms + 999) / 1000, killed ? " (killed)" : "",
			 reason[0] ? ": " : "", reason);
	else
		snprintf(out, cap, "%s%s%s", strerror(-e),
			 reason[0] ? ": " : "", reason);
}

static void warn(struct sess *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void warn(struct sess *s, const char *fmt, ...)
{
	size_t len = strlen(s->warn);
	va_list ap;

	if (len + 2 >= sizeof(s->warn))
		return;
	va_start(ap, fmt);
	vsnprintf(s->warn + len, sizeof(s->warn) - len - 1, fmt, ap);
	va_end(ap);
	strcat(s->warn, "\n");
}

static int boot(struct sess *s, const struct sess_opts *o, char *err,
		size_t errlen)
{
	struct p9_client_config cc = { .timeout_ms = o->timeout_ms };
	struct vm_config vc = { 0 };
	char append[2048], why[1024];
	size_t len;
	int e, i;

	len = snprintf(append, sizeof(append), "%s printk.time=0%s%s%s%s",
		       s->guest.cmdline, o->writable ? " qm.rw=1" : "",
		       o->echo_log ? " qm.time=1" : "",
		       s->np ? " qm.parts=" : " qm.fs=", s->np ? "" : s->fs);
	for (i = 0; i < s->np && len < sizeof(append); i++)
		len += snprintf(append + len, sizeof(append) - len, "%s%d:%s",
				i ? "," : "", s->pnum[i], s->pfs[i]);
	if (s->partition > 0 && len < sizeof(append))
		len += snprintf(append + len, sizeof(append) - len,
				" qm.dev=/dev/vda%d", s->partition);
	if (len >= sizeof(append)) {
		snprintf(err, errlen, "too many partitions for the kernel "
			 "command line");
		return -E2BIG;
	}
	if (o->format && orders_mkfs(o, append, sizeof(append))) {
		snprintf(err, errlen, "the label and --mkfs-opt words are too "
			 "long for the kernel command line");
		return -E2BIG;
	}
	vc.machine = s->guest.machine;
	vc.kernel = s->guest.kernel;
	vc.initrd = s->guest.initrd;
	vc.disk = img_disk(s->img);
	vc.writable = o->writable || o->format;
	vc.append = append;
	vc.echo_log = o->echo_log;
	e = vm_start(&vc, &s->vm);
	if (!e)
		snprintf(s->t.accel, sizeof(s->t.accel), "%s",
			 vm_accel(s->vm));
	if (e) {
		snprintf(err, errlen, "cannot start qemu: %s", strerror(-e));
		return e;
	}
	e = p9_client_new(vm_channel(s->vm), vm_channel(s->vm), &cc, &s->c);
	s->t.boot = now() - s->t0;
	if (e) {	/* booted, and (its init mounts first) mounted */
		lost(s, e, s->timeout_ms, why, sizeof(why));
		snprintf(err, errlen, "the %s guest did not answer: %s",
			 s->guest.name, why);
	}
	return e;
}

static int attach(struct sess *s, int format, char *err, size_t errlen)
{
	char reason[1024];
	int e = p9_attach(s->c, 0, NULL, &s->root, NULL);

	s->t.attach = now() - s->t0;
	if (!e) {
		s->attached = 1;
		return 0;
	}
	if (p9_client_error(s->c)) {	/* not the mount's errno */
		lost(s, p9_client_error(s->c), s->timeout_ms, reason,
		     sizeof(reason));
		snprintf(err, errlen, "cannot %s as %s: %s", format ?
			 "format and mount" : "mount", s->fs, reason);
		return e;
	}
	/* stop first: the console is complete once qemu is gone */
	p9_client_free(s->c);
	s->c = NULL;
	vm_stop(s->vm, SHUTDOWN_MS);
	guest_reason(vm_log(s->vm), reason, sizeof(reason));
	snprintf(err, errlen, "cannot %s as %s: %s%s%s", format ?
		 "format and mount" : "mount", s->fs, strerror(-e),
		 reason[0] ? " (guest: " : "", reason);
	if (reason[0] && strlen(err) + 2 < errlen)
		strcat(err, ")");
	return e;
}

/* The partition o names, served alone: its number and filesystem. */
static int pick_one(struct sess *s, const struct sess_opts *o,
		    const struct layout *l, char *err, size_t errlen)
{
	int i = layout_find(l, o->partition, o->partname);
	const struct part *p = i >= 0 ? &l->table.p[i] : NULL;
	char seen[1024], h[32];

	if (!p) {
		layout_seen(l, img_form(s->img), seen, sizeof(seen));
		if (o->partition)
			snprintf(err, errlen, "no partition %d (%s)",
				 o->partition, seen);
		else
			snprintf(err, errlen, "no partition or filesystem "
				 "named %s (%s)", o->partname, seen);
		return -ENOENT;
	}
	s->partition = p->num;
	if (o->fs || l->pfs[i].type[0]) {
		snprintf(s->fs, sizeof(s->fs), "%s", o->fs ? o->fs :
			 l->pfs[i].type);
		return 0;
	}
	snprintf(err, errlen, "partition %d (%s, %s): %s", p->num, p->type,
		 layout_human(p->size, h, sizeof(h)), p->container ?
		 "holds other partitions, not a filesystem" :
		 "no filesystem recognised (name one with --fs)");
	return -ENOENT;
}

/*
 * Every partition with a filesystem, as one tree: those a single guest
 * reads together (the first ones found win); the others are left out
 * with a warning.
 */
static int pick_parts(struct sess *s, const struct layout *l, int write,
		      char *err, size_t errlen)
{
	const char *set[GUEST_SET_MAX];
	char why[512], seen[1024], h[32];
	struct guest g;
	int i, n = 0;

	for (i = 0; i < l->table.n && n < GUEST_SET_MAX; i++) {
		const struct part *p = &l->table.p[i];

		if (p->container)
			continue;
		if (!l->pfs[i].type[0]) {
			warn(s, "partition %d (%s, %s): no filesystem "
			     "recognised, left out", p->num, p->type,
			     layout_human(p->size, h, sizeof(h)));
			continue;
		}
		snprintf(s->pfs[n], sizeof(s->pfs[n]), "%s", l->pfs[i].type);
		set[n] = s->pfs[n];
		if (guest_find_all(set, n + 1, write ? GUEST_WRITE : GUEST_READ,
				   &g, why, sizeof(why))) {
			warn(s, "partition %d (%s): %s, left out", p->num,
			     s->pfs[n], n ? "no guest serves it together "
			     "with the partitions before it" : why);
			continue;
		}
		s->guest = g;
		s->pnum[n++] = p->num;
	}
	if (!n) {
		layout_seen(l, img_form(s->img), seen, sizeof(seen));
		snprintf(err, errlen, "no partition to serve (%s)", seen);
		return -ENOENT;
	}
	s->np = n;
	snprintf(s->fs, sizeof(s->fs), "%s partitions", l->table.type);
	return 0;
}

/*
 * What to serve: the filesystem named (of the whole disk or of
 * --partition N), or what the host-side probes find: a partition asked
 * for, the whole disk's filesystem, or else every partition as one tree.
 */
static int pick(struct sess *s, const struct sess_opts *o, char *err,
		size_t errlen)
{
	struct layout *l;
	char seen[1024];
	int e;

	if (o->fs && !o->partname) {
		snprintf(s->fs, sizeof(s->fs), "%s", o->fs);
		s->partition = o->partition;
		return 0;
	}
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	e = layout_read(s->img, l, err, errlen);
	if (!e && (o->partition || o->partname)) {
		e = pick_one(s, o, l, err, errlen);
	} else if (!e && l->fs.type[0]) {
		snprintf(s->fs, sizeof(s->fs), "%s", l->fs.type);
	} else if (!e && l->table.type[0]) {
		e = pick_parts(s, l, o->writable, err, errlen);
	} else if (!e) {
		layout_seen(l, img_form(s->img), seen, sizeof(seen));
		snprintf(err, errlen, "no filesystem recognised (%s; name one "
			 "with --fs)", seen);
		e = -ENOENT;
	}
	free(l);
	return e;
}

/*
 * Why the guest did not mount partition num: the console line its init
 * wrote ("qemount-init: partition N: ...") and the kernel's line before
 * it, if the console has them yet.
 */
static void part_reason(const char *log, int num, char *out, size_t cap)
{
	static const char kq[] = "qemount-init: kernel: ";
	const char *p, *nl, *kernel = NULL;
	char tag[48];
	int klen = 0;

	out[0] = '\0';
	snprintf(tag, sizeof(tag), "qemount-init: partition %d: ", num);
	for (p = log; *p; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\r\n");
		if (!strncmp(p, kq, sizeof(kq) - 1)) {
			kernel = p + sizeof(kq) - 1;
			klen = nl - kernel;
		} else if (!strncmp(p, tag, strlen(tag))) {
			snprintf(out, cap, "%.*s%s%.*s%s",
				 (int)(nl - p - strlen(tag)), p + strlen(tag),
				 kernel ? " (" : "", klen, kernel ? kernel : "",
				 kernel ? ")" : "");
			return;
		} else if (!strncmp(p, "qemount-init: partition ", 24)) {
			kernel = NULL;
		}
	}
}

/*
 * After attaching to a tree of partitions: each one the guest did not
 * mount is a warning; none mounted is an error.
 */
static int check_parts(struct sess *s, char *err, size_t errlen)
{
	char num[16], why[512];
	const char *names[1] = { num };
	struct p9_qid q;
	uint32_t fid;
	size_t len;
	int i, ok = 0;

	for (i = 0; i < s->np; i++) {
		snprintf(num, sizeof(num), "%d", s->pnum[i]);
		if (!p9_walk(s->c, s->root, 1, names, &fid, &q)) {
			p9_clunk(s->c, fid);
			ok++;
			continue;
		}
		part_reason(vm_log(s->vm), s->pnum[i], why, sizeof(why));
		warn(s, "partition %d (%s): the guest could not mount it%s%s",
		     s->pnum[i], s->pfs[i], why[0] ? ": " : "", why);
	}
	if (ok)
		return 0;
	snprintf(err, errlen, "no partition could be mounted: %s", s->warn);
	for (len = strlen(err); len > 0 && err[len - 1] == '\n'; len--)
		err[len - 1] = '\0';
	for (i = 0; err[i]; i++)
		if (err[i] == '\n')
			err[i] = ';';
	return -EIO;
}

int sess_open(const struct sess_opts *o, struct sess **out, char *err,
	      size_t errlen)
{
	struct img_opts io = {
		.name = o->image, .writable = o->writable || o->format,
		.offset = o->offset,
		.length = o->length, .timeout_ms = o->timeout_ms,
	};
	struct sess *s = calloc(1, sizeof(*s));
	int e;

	if (!s)
		return -ENOMEM;
	s->t0 = now();
	s->writable = io.writable;
	s->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : P9_CLIENT_TIMEOUT_MS;
	e = img_open(&io, &s->img, err, errlen);
	s->t.open = now() - s->t0;
	if (!e)
		e = pick(s, o, err, errlen);
	s->t.detect = now() - s->t0;
	if (!e && !s->np)
		e = guest_find(s->fs, o->format ? GUEST_FORMAT : o->writable ?
			       GUEST_WRITE : GUEST_READ, &s->guest, err, errlen);
	if (!e)
		e = boot(s, o, err, errlen);
	if (!e)
		e = attach(s, o->format, err, errlen);
	if (!e && s->np)
		e = check_parts(s, err, errlen);
	if (e) {
		if (s->attached)
			p9_clunk(s->c, s->root);
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

int sess_commit(struct sess *s, int timeout_ms, char *err, size_t errlen)
{
	char reason[1024];
	int e = p9_commit(s->c, s->root, timeout_ms);

	s->attached = 0;	/* the guest dropped every fid */
	if (!e)
		return 0;
	if (p9_client_error(s->c)) {
		lost(s, p9_client_error(s->c), timeout_ms > 0 ? timeout_ms :
		     s->timeout_ms, reason, sizeof(reason));
		snprintf(err, errlen, "%s was not unmounted: %s", s->fs,
			 reason);
		return e;
	}
	p9_client_free(s->c);
	s->c = NULL;
	vm_stop(s->vm, SHUTDOWN_MS);
	guest_reason(vm_log(s->vm), reason, sizeof(reason));
	snprintf(err, errlen, "the %s guest did not unmount %s cleanly: %s%s%s",
		 s->guest.name, s->fs, strerror(-e), reason[0] ? ": " : "",
		 reason);
	return e;
}

const char *sess_lost(struct sess *s, char *out, size_t cap)
{
	int e = s->c ? p9_client_error(s->c) : 0;

	if (!e)
		return NULL;
	lost(s, e, s->timeout_ms, out, cap);
	return out;
}

const char *sess_warnings(struct sess *s)
{
	return s->warn;
}

int sess_close(struct sess *s, struct sess_times *times, char *err,
	       size_t errlen)
{
	double t = now();
	int e, grace = SHUTDOWN_MS;

	if (s->attached)
		p9_clunk(s->c, s->root);
	/* a guest whose link failed may not heed the goodbye (a hostile
	 * one will not); read-only, it holds nothing worth waiting for */
	if (s->c && p9_client_error(s->c) && !s->writable)
		grace = DEAD_MS;
	p9_client_free(s->c);
	e = vm_stop(s->vm, grace);
	if (e == -ETIMEDOUT)
		snprintf(err, errlen, "the guest did not shut down cleanly: "
			 "killed after %d s", grace / 1000);
	else if (e)
		snprintf(err, errlen, "the guest did not shut down cleanly: "
			 "qemu failed");
	else if (fs_errors(vm_log(s->vm), err, errlen))
		e = -EIO;
	s->t.shutdown = now() - t;
	if (times)
		*times = s->t;
	vm_free(s->vm);
	img_free(s->img);
	free(s);
	return e;
}
