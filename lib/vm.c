/*
 * vm.c - the QEMU launcher (see vm.h).
 *
 * Command line: QEMU's microvm machine (docs/system/i386/microvm.rst),
 * PVH boot of an uncompressed vmlinux, virtio-mmio devices, no firmware,
 * no network, no display.  The 9P channel and the console are
 * socketpair ends passed to qemu as `-chardev socket,fd=N`.
 *
 * The disk is QAPI's BlockdevOptions as JSON: `-blockdev` for qemu, a
 * json: filename for qemu-img (QEMU docs/system/qemu-block-drivers.rst):
 * `{"driver":"raw","offset":..,"size":..,"file":{"driver":"qcow2",
 * "backing":null,"file":{"driver":"file","filename":"/dev/fd/N"}}}`.
 * Every layer names its driver, so QEMU probes nothing.  A read-only run
 * puts a qcow2 overlay of ours (overlay_new) over it.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"

#define LOG_MAX		65536
#define ARGV_MAX	64
#define ARG_MAX_LEN	8192	/* the drive's json: names a URL */
#define PROBE_MS	3000
#define TOOL_MS		60000	/* qemu-img's default time limit */
#define DD_BLOCK	65536

struct vm {
	pid_t pid;
	int chan;		/* host end of the 9P channel */
	int con;		/* host end of the console */
	int echo;
	pthread_t logger;
	int logging;
	pthread_mutex_t lock;	/* log */
	char log[LOG_MAX + 1];	/* ring, oldest first once full */
	size_t loglen, logpos;
	char snap[LOG_MAX + 1];
	int exited, status;
	char accel[96];		/* "tcg (probed)" ... */
};

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000LL + t.tv_nsec / 1000000;
}

/*
 * The host's TSC rate, for tsc_early_khz=: an ACPI kernel that has to
 * calibrate against the PIT under TCG hangs at random on a busy host
 * (see shared/notes/guest-kernel-boot.md).  0 if unknown.
 */
static unsigned long tsc_khz(void)
{
	static unsigned long khz;
	char line[256];
	double mhz;
	FILE *f;

	if (khz)
		return khz;
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "cpu MHz : %lf", &mhz) == 1) {
			khz = (unsigned long)(mhz * 1000);
			break;
		}
	if (f)
		fclose(f);
	return khz;
}

/* Append what the console said to the ring, and echo it if asked. */
static void log_add(struct vm *vm, const char *b, size_t n)
{
	size_t i;

	if (vm->echo && write(2, b, n) < 0)
		vm->echo = 0;
	pthread_mutex_lock(&vm->lock);
	for (i = 0; i < n; i++) {
		vm->log[vm->logpos] = b[i];
		vm->logpos = (vm->logpos + 1) % LOG_MAX;
		if (vm->loglen < LOG_MAX)
			vm->loglen++;
	}
	pthread_mutex_unlock(&vm->lock);
}

static void *logger(void *arg)
{
	struct vm *vm = arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(vm->con, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			break;
		log_add(vm, buf, n);
	}
	return NULL;
}

struct argv {
	char *v[ARGV_MAX + 1];
	char own[ARGV_MAX][ARG_MAX_LEN];
	int n;
	int overflow;		/* an argument did not fit: don't run */
};

static void arg(struct argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void arg(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (a->n >= ARGV_MAX) {
		a->overflow = 1;
		return;
	}
	va_start(ap, fmt);
	n = vsnprintf(a->own[a->n], sizeof(a->own[a->n]), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->own[a->n]))
		a->overflow = 1;
	a->v[a->n] = a->own[a->n];
	a->v[++a->n] = NULL;
}

/* Append printf output to out (cap bytes); -ENAMETOOLONG if it won't fit. */
static int put(char *out, size_t cap, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int put(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*len >= cap)
		return -ENAMETOOLONG;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		return -ENAMETOOLONG;
	*len += n;
	return 0;
}

/* A URL as a JSON string: quote and backslash escaped, no control bytes. */
static int put_json_string(char *out, size_t cap, size_t *len,
			   const char *s)
{
	int e = put(out, cap, len, "\"");

	for (; !e && *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return -EINVAL;
		e = *s == '"' || *s == '\\' ? put(out, cap, len, "\\%c", *s) :
		    put(out, cap, len, "%c", *s);
	}
	return e ? e : put(out, cap, len, "\"");
}

static int known_format(const char *f)
{
	static const char *const formats[] = {
		"raw", "qcow2", "vmdk", "vdi", "vhdx", "vpc", NULL
	};
	int i;

	for (i = 0; formats[i]; i++)
		if (strcmp(f, formats[i]) == 0)
			return 1;
	return 0;
}

/* The formats that may name a backing file (QAPI's GenericCOWFormat). */
static int has_backing(const char *f)
{
	return strcmp(f, "qcow2") == 0 || strcmp(f, "vmdk") == 0;
}

/*
 * The disk as BlockdevOptions JSON (see the top of this file) after
 * prefix ("json:" for a filename, "" for -blockdev), with top (members
 * ending in a comma, or "") first in the outermost object.  A container
 * that may name a backing file gets "backing": null: a name inside an
 * image never opens a host file.
 */
static int disk_json(const struct vm_disk *d, const char *prefix,
		     const char *top, char *out, size_t cap)
{
	const char *fmt = d->format ? d->format : "raw";
	int window = d->offset || d->size, e = 0;
	struct stat st;
	size_t len = 0;

	if (!known_format(fmt) || (d->fd < 0 && !d->url))
		return -EINVAL;
	e = put(out, cap, &len, "%s{%s", prefix, top);
	if (!e && window) {
		e = put(out, cap, &len, "\"driver\":\"raw\",\"offset\":%" PRIu64,
			d->offset);
		if (!e && d->size)
			e = put(out, cap, &len, ",\"size\":%" PRIu64, d->size);
		if (!e)
			e = put(out, cap, &len, ",\"file\":");
	}
	if (!e && (!window || strcmp(fmt, "raw") != 0))
		e = put(out, cap, &len, "%s\"driver\":\"%s\",%s\"file\":",
			window ? "{" : "", fmt, has_backing(fmt) ?
			"\"backing\":null," : "");
	if (!e && d->fd >= 0)
		e = put(out, cap, &len, "{\"driver\":\"%s\",\"filename\":"
			"\"/dev/fd/%d\"}", fstat(d->fd, &st) == 0 &&
			S_ISBLK(st.st_mode) ? "host_device" : "file", d->fd);
	else if (!e) {
		e = put(out, cap, &len, "{\"driver\":\"%s\",\"url\":",
			strncasecmp(d->url, "https:", 6) == 0 ? "https" : "http");
		if (!e)
			e = put_json_string(out, cap, &len, d->url);
		if (!e)
			e = put(out, cap, &len, "}");
	}
	if (!e && window && strcmp(fmt, "raw") != 0)
		e = put(out, cap, &len, "}");
	if (!e)
		e = put(out, cap, &len, "}");
	return e;
}

static void put_be(unsigned char *p, uint64_t v, int n)
{
	while (n--) {
		p[n] = v & 0xff;
		v >>= 8;
	}
}

/*
 * An empty qcow2 (version 2, 64 KiB clusters, QEMU's docs/interop/
 * qcow2.txt) of size bytes in an anonymous memory file: header, refcount
 * table, one refcount block, the L1 table.  Its backing is named on the
 * command line.  Returns the fd (close-on-exec) or -errno.
 */
static int overlay_new(uint64_t size)
{
	enum { CL = 65536 };
	uint64_t l1 = (size + (uint64_t)CL * (CL / 8) - 1) / ((uint64_t)CL * (CL / 8));
	uint64_t l1_cl = (l1 * 8 + CL - 1) / CL, i;
	unsigned char *b;
	int fd, e = 0;

	if (size == 0 || 3 + l1_cl > CL / 2)	/* one refcount block */
		return -EFBIG;
	b = calloc(3, CL);
	if (!b)
		return -ENOMEM;
	memcpy(b, "QFI\xfb", 4);
	put_be(b + 4, 2, 4);		/* version */
	put_be(b + 20, 16, 4);		/* cluster_bits */
	put_be(b + 24, size, 8);
	put_be(b + 36, l1, 4);		/* l1_size */
	put_be(b + 40, 3 * CL, 8);	/* l1_table_offset */
	put_be(b + 48, CL, 8);		/* refcount_table_offset */
	put_be(b + 56, 1, 4);		/* refcount_table_clusters */
	put_be(b + CL, 2 * CL, 8);	/* the refcount block */
	for (i = 0; i < 3 + l1_cl; i++)	/* each cluster used once */
		put_be(b + 2 * CL + 2 * i, 1, 2);
	fd = memfd_create("qemount-overlay", MFD_CLOEXEC);
	if (fd < 0)
		e = -errno;
	else if (pwrite(fd, b, 3 * CL, 0) != 3 * CL ||
		 ftruncate(fd, (3 + l1_cl) * CL) < 0)
		e = errno ? -errno : -EIO;
	free(b);
	if (e && fd >= 0)
		close(fd);
	return e ? e : fd;
}

/*
 * qemu's command line; overlay_fd is the qcow2 that takes the guest's
 * writes on a read-only run (-1 when writable).
 */
static int build_argv(const struct vm_config *cfg, int accel_kvm,
		      int chan_fd, int con_fd, int overlay_fd, struct argv *a)
{
	char tsc[48] = "", json[ARG_MAX_LEN - 64];
	unsigned long khz = tsc_khz();
	int e;

	/* written in place: no host flushes until qemu exits (the caller
	 * syncs the file), as -drive cache=unsafe */
	e = disk_json(cfg->disk, "", cfg->writable ?
		      "\"node-name\":\"d0\",\"cache\":{\"no-flush\":true}," :
		      "\"node-name\":\"image\",\"read-only\":true,",
		      json, sizeof(json));
	if (e)
		return e;

	if (khz)
		snprintf(tsc, sizeof(tsc), " tsc_early_khz=%lu", khz);

	arg(a, "%s", cfg->qemu ? cfg->qemu : "qemu-system-x86_64");
	/* TCG: the default CPU model and translation cache measured fastest
	 * (guests/linux-6.1/cmdline has the numbers) */
	arg(a, "-M");
	/* the guest's own (its manifest's @machine): a kernel without ACPI
	 * needs "microvm,acpi=off", for only then does qemu list the
	 * virtio-mmio devices on the kernel command line */
	arg(a, "%s", cfg->machine && *cfg->machine ? cfg->machine : "microvm");
	arg(a, "-accel");
	arg(a, accel_kvm ? "kvm" : "tcg");
	if (accel_kvm) {
		arg(a, "-cpu");
		arg(a, "host");
	}
	arg(a, "-m");
	arg(a, "%u", cfg->mem_mb ? cfg->mem_mb : 256);
	arg(a, "-smp");
	arg(a, "1");
	arg(a, "-nodefaults");
	arg(a, "-no-user-config");
	arg(a, "-nographic");
	arg(a, "-no-reboot");
	arg(a, "-kernel");
	arg(a, "%s", cfg->kernel);
	arg(a, "-initrd");
	arg(a, "%s", cfg->initrd);
	arg(a, "-append");
	arg(a, "console=ttyS0 panic=-1%s %s", tsc,
	    cfg->append ? cfg->append : "");
	arg(a, "-blockdev");
	arg(a, "%s", json);
	if (!cfg->writable) {
		arg(a, "-blockdev");
		arg(a, "{\"node-name\":\"d0\",\"driver\":\"qcow2\","
		    "\"backing\":\"image\",\"file\":{\"driver\":\"file\","
		    "\"filename\":\"/dev/fd/%d\"}}", overlay_fd);
	}
	/* a geometry given is one QEMU does not guess by reading sector 0
	 * while the device is created: that read, when it waits on the
	 * network (a URL), runs the main loop too early and the guest
	 * starts with no kernel in memory (QEMU 7.2) */
	/* an error writing the image (its disk is full) is the guest's
	 * EIO: QEMU's default stops the guest on ENOSPC, which the host
	 * would only see as a guest that no longer answers */
	arg(a, "-device");
	arg(a, "virtio-blk-device,drive=d0,cyls=16383,heads=16,secs=63,"
	    "werror=report,rerror=report");
	arg(a, "-chardev");
	arg(a, "socket,id=p9,fd=%d", chan_fd);
	arg(a, "-device");
	arg(a, "virtio-serial-device");
	arg(a, "-device");
	arg(a, "virtserialport,chardev=p9,name=qemount0");
	arg(a, "-chardev");
	arg(a, "socket,id=con,fd=%d", con_fd);
	arg(a, "-serial");
	arg(a, "chardev:con");
	return a->overflow ? -ENAMETOOLONG : 0;
}

/*
 * In a child (qemu or qemu-img): die with the parent, keep fds
 * keep[0..nkeep) open across exec, stdin from /dev/null, stdout to out
 * (-1: /dev/null), stderr to errfd, and exec argv.  Never returns.
 */
static void exec_child(char **argv, const int *keep, int nkeep, int out,
		       int errfd, pid_t parent)
{
	int i, null;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)	/* the parent died before prctl */
		_exit(127);
	for (i = 0; i < nkeep; i++)
		fcntl(keep[i], F_SETFD, 0);
	null = open("/dev/null", O_RDWR);
	if (null >= 0)
		dup2(null, 0);
	dup2(out >= 0 ? out : null, 1);
	dup2(errfd, 2);
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int vm_start(const struct vm_config *cfg, struct vm **out)
{
	int chan[2] = { -1, -1 }, con[2] = { -1, -1 }, keep[4], nkeep = 0;
	int overlay = -1, e;
	struct argv *a = NULL;
	const char *accel, *how;
	pid_t parent = getpid();
	struct vm *vm;

	vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	vm->pid = -1;
	vm->chan = vm->con = -1;
	vm->echo = cfg->echo_log;
	pthread_mutex_init(&vm->lock, NULL);
	a = calloc(1, sizeof(*a));
	if (!a) {
		e = -ENOMEM;
		goto fail;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, chan) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, con) < 0) {
		e = -errno;
		goto fail;
	}
	if (!cfg->writable) {
		overlay = overlay_new(cfg->disk->length);
		if (overlay < 0) {
			e = overlay;
			goto fail;
		}
	}
	accel = vm_accel_name(cfg->accel, cfg->qemu, cfg->kernel, &how);
	snprintf(vm->accel, sizeof(vm->accel), "%s (%s)", accel, how);
	e = build_argv(cfg, strcmp(accel, "kvm") == 0, chan[1], con[1],
		       overlay, a);
	if (e)
		goto fail;
	keep[nkeep++] = chan[1];
	keep[nkeep++] = con[1];
	if (cfg->disk->fd >= 0)
		keep[nkeep++] = cfg->disk->fd;
	if (overlay >= 0)
		keep[nkeep++] = overlay;
	vm->pid = fork();
	if (vm->pid < 0) {
		e = -errno;
		goto fail;
	}
	if (vm->pid == 0)
		/* qemu's own complaints (a drive it cannot open) join the
		 * console log, where a failure's reason is looked for */
		exec_child(a->v, keep, nkeep, -1, con[1], parent);
	close(chan[1]);
	close(con[1]);
	chan[1] = con[1] = -1;
	if (overlay >= 0)
		close(overlay);		/* qemu holds it */
	overlay = -1;
	vm->chan = chan[0];
	vm->con = con[0];
	e = -pthread_create(&vm->logger, NULL, logger, vm);
	if (e)
		goto fail;
	vm->logging = 1;
	free(a);
	*out = vm;
	return 0;

fail:
	if (overlay >= 0)
		close(overlay);
	if (chan[1] >= 0)
		close(chan[1]);
	if (con[1] >= 0)
		close(con[1]);
	vm->chan = chan[0];
	vm->con = con[0];
	free(a);
	vm_free(vm);
	return e;
}

int vm_channel(const struct vm *vm)
{
	return vm->chan;
}

/* Reap qemu within timeout_ms; 1 if it exited, 0 if it still runs. */
static int reap(struct vm *vm, int timeout_ms)
{
	long long end = now_ms() + timeout_ms;

	while (!vm->exited) {
		pid_t r = waitpid(vm->pid, &vm->status, WNOHANG);

		if (r == vm->pid || (r < 0 && errno == ECHILD)) {
			vm->exited = 1;
			break;
		}
		if (now_ms() >= end)
			return 0;
		sleep_ms(5);
	}
	return 1;
}

static void stop_logger(struct vm *vm)
{
	if (vm->logging) {
		/* qemu is gone: the console drains to EOF, then stops */
		pthread_join(vm->logger, NULL);
		vm->logging = 0;
	}
}

int vm_stop(struct vm *vm, int timeout_ms)
{
	int e = 0;

	if (vm->chan >= 0) {
		close(vm->chan);
		vm->chan = -1;
	}
	if (vm->pid > 0 && !reap(vm, timeout_ms)) {
		kill(vm->pid, SIGKILL);
		reap(vm, 5000);
		e = -ETIMEDOUT;
	}
	stop_logger(vm);
	if (!e && !(WIFEXITED(vm->status) && WEXITSTATUS(vm->status) == 0))
		e = -EIO;
	return e;
}

const char *vm_accel(const struct vm *vm)
{
	return vm->accel;
}

const char *vm_log(struct vm *vm)
{
	size_t pos, cut = 0, i;
	unsigned char c;

	pthread_mutex_lock(&vm->lock);
	pos = vm->logpos;
	if (vm->loglen < LOG_MAX) {
		memcpy(vm->snap, vm->log, vm->loglen);
	} else {
		memcpy(vm->snap, vm->log + pos, LOG_MAX - pos);
		memcpy(vm->snap + LOG_MAX - pos, vm->log, pos);
	}
	for (i = 0; i < vm->loglen; i++) {
		c = vm->snap[i];
		if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') ||
		    c == 0x7f)
			vm->snap[i] = '?';
	}
	vm->snap[vm->loglen] = '\0';
	if (vm->loglen == LOG_MAX) {
		/* the oldest line lost its start: from the next one on */
		cut = strcspn(vm->snap, "\n");
		cut += cut < LOG_MAX;
	}
	pthread_mutex_unlock(&vm->lock);
	return vm->snap + cut;
}

void vm_free(struct vm *vm)
{
	if (!vm)
		return;
	if (vm->chan >= 0)
		close(vm->chan);
	if (vm->pid > 0 && !vm->exited) {
		kill(vm->pid, SIGKILL);
		reap(vm, 5000);
	}
	if (vm->logging) {
		/* a grandchild could hold the console open: don't wait on it */
		shutdown(vm->con, SHUT_RDWR);
		stop_logger(vm);
	}
	if (vm->con >= 0)
		close(vm->con);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

/*
 * Boot the guest kernel under KVM with no initrd: it panics at once and
 * (panic=-1, -no-reboot) qemu exits 0, having printed "Linux version".
 * A broken KVM aborts qemu or hangs it; both are "no".
 */
static int probe_kvm(const char *qemu, const char *kernel)
{
	char *argv[] = { (char *)(qemu ? qemu : "qemu-system-x86_64"),
			 "-M", "microvm", "-accel", "kvm", "-cpu", "host",
			 "-m", "64", "-nodefaults", "-no-user-config",
			 "-nographic", "-no-reboot", "-serial", "stdio",
			 "-kernel", (char *)kernel,
			 "-append", "console=ttyS0 panic=-1", NULL };
	char out[8192];
	size_t have = 0;
	long long end;
	int p[2], st = 0, done = 0;
	pid_t pid, parent = getpid();
	ssize_t n;

	if (access("/dev/kvm", R_OK | W_OK) != 0 || !kernel ||
	    pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		return 0;
	pid = fork();
	if (pid == 0)	/* a failed probe's complaints are not news */
		exec_child(argv, NULL, 0, p[1], p[1], parent);
	close(p[1]);
	end = now_ms() + PROBE_MS;
	while (pid > 0 && now_ms() < end) {
		n = read(p[0], out + have, sizeof(out) - 1 - have);
		if (n > 0)
			have += n;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			done = 1;
			break;
		}
		sleep_ms(10);
	}
	close(p[0]);
	if (pid > 0 && !done) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	out[have] = '\0';
	return done && WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	       strstr(out, "Linux version") != NULL;
}

/*
 * The probe's answer, kept in the user's cache: a broken KVM that hangs
 * would otherwise cost every run PROBE_MS.  It holds for one boot of
 * the host (boot_id), one /dev/kvm and one qemu binary: a reboot, a
 * reloaded module or a new qemu asks again.  The key is the line
 * "boot_id kvm-rdev:ctime qemu-dev:ino:size:mtime".
 */
static int probe_key(const char *qemu, char *key, size_t cap)
{
	const char *name = qemu ? qemu : "qemu-system-x86_64";
	char boot[64] = "", path[4096];
	const char *pe = getenv("PATH"), *at;
	struct stat k, q;
	ssize_t n = -1;
	int fd, found = 0;
	size_t len;

	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, boot, sizeof(boot) - 1);
		close(fd);
	}
	if (n < 32 || stat("/dev/kvm", &k))
		return -1;
	boot[strcspn(boot, "\n")] = '\0';
	if (strchr(name, '/'))
		found = stat(name, &q) == 0;
	for (at = pe; !found && at && *at; at += len + (at[len] == ':')) {
		len = strcspn(at, ":");
		snprintf(path, sizeof(path), "%.*s/%s", (int)len, at, name);
		found = stat(path, &q) == 0 && S_ISREG(q.st_mode);
	}
	if (!found)
		return -1;
	snprintf(key, cap, "%s kvm-%jx:%jd qemu-%jx:%ju:%jd:%jd", boot,
		 (uintmax_t)k.st_rdev, (intmax_t)k.st_ctime,
		 (uintmax_t)q.st_dev, (uintmax_t)q.st_ino,
		 (intmax_t)q.st_size, (intmax_t)q.st_mtime);
	return 0;
}

/* The cache file's name: 0, or -1 without a home for it. */
static int probe_file(char *path, size_t cap)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");

	if (xdg && *xdg == '/')
		snprintf(path, cap, "%s/qemount/kvm-probe", xdg);
	else if (home && *home == '/')
		snprintf(path, cap, "%s/.cache/qemount/kvm-probe", home);
	else
		return -1;
	return 0;
}

/* The cached answer for key: 1 or 0, or -1 if there is none. */
static int probe_cached(const char *file, const char *key)
{
	char line[1024];
	size_t klen = strlen(key);
	FILE *f = fopen(file, "re");
	int r = -1;

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f) && !strncmp(line, key, klen) &&
	    line[klen] == ' ')
		r = !strcmp(line + klen + 1, "yes\n") ? 1 :
		    !strcmp(line + klen + 1, "no\n") ? 0 : -1;
	fclose(f);
	return r;
}

/* Keep the answer (a new file renamed over the old: never half one). */
static void probe_keep(const char *file, const char *key, int yes)
{
	char tmp[4200], *slash;
	int fd;

	snprintf(tmp, sizeof(tmp), "%s", file);
	for (slash = strchr(tmp + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		mkdir(tmp, 0700);
		*slash = '/';
	}
	snprintf(tmp, sizeof(tmp), "%s.%d", file, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (dprintf(fd, "%s %s\n", key, yes ? "yes" : "no") < 0 ||
	    close(fd) || rename(tmp, file))
		unlink(tmp);
}

const char *vm_accel_name(enum vm_accel a, const char *qemu,
			  const char *kernel, const char **how)
{
	static int probed = -1;
	static const char *said = "probed";
	char key[512], file[4096];
	const char *env;

	if (how)
		*how = "asked for";
	if (a == VM_ACCEL_KVM)
		return "kvm";
	if (a == VM_ACCEL_TCG)
		return "tcg";
	env = getenv("QEMOUNT_ACCEL");
	if (env && (strcmp(env, "kvm") == 0 || strcmp(env, "tcg") == 0))
		return env;
	if (probed < 0) {
		int keyed = probe_key(qemu, key, sizeof(key)) == 0 &&
			    probe_file(file, sizeof(file)) == 0;

		probed = keyed ? probe_cached(file, key) : -1;
		if (probed >= 0) {
			said = "the probe's answer cached for this boot";
		} else {
			probed = probe_kvm(qemu, kernel);
			if (keyed)
				probe_keep(file, key, probed);
		}
	}
	if (how)
		*how = said;
	return probed ? "kvm" : "tcg";
}

/*
 * qemu-img, for the probes: run argv keeping fds keep[0..nkeep), its
 * stdout into out and its stderr into errs (each NUL-terminated, cut to
 * fit), for at most timeout_ms.  Returns its exit status, or -errno
 * (-ETIMEDOUT: killed).
 */
struct tool_out {
	char out[65536];
	char errs[4096];
	size_t outlen, errlen;
};

static void tool_drain(int fd, char *buf, size_t cap, size_t *len, int *open)
{
	char sink[4096];
	ssize_t n;

	if (*len + 1 < cap)
		n = read(fd, buf + *len, cap - 1 - *len);
	else
		n = read(fd, sink, sizeof(sink));	/* past the cap: drop */
	if (n > 0 && *len + 1 < cap)
		*len += n;
	else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
		*open = 0;
	buf[*len] = '\0';
}

static int run_tool(char **argv, const int *keep, int nkeep,
		    struct tool_out *o, int timeout_ms)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, st = 0, oopen = 1, eopen = 1;
	long long end = now_ms() + (timeout_ms > 0 ? timeout_ms : TOOL_MS);
	pid_t pid, parent = getpid();
	int e = 0;

	o->outlen = o->errlen = 0;
	o->out[0] = o->errs[0] = '\0';
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		e = -errno;
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		e = -errno;
		goto out;
	}
	if (pid == 0)
		exec_child(argv, keep, nkeep, po[1], pe[1], parent);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	while ((oopen || eopen) && now_ms() < end) {
		struct pollfd p[2] = { { po[0], POLLIN, 0 }, { pe[0], POLLIN, 0 } };

		p[0].fd = oopen ? po[0] : -1;
		p[1].fd = eopen ? pe[0] : -1;
		if (poll(p, 2, (int)(end - now_ms()) + 1) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			tool_drain(po[0], o->out, sizeof(o->out), &o->outlen, &oopen);
		if (p[1].revents)
			tool_drain(pe[0], o->errs, sizeof(o->errs), &o->errlen,
				   &eopen);
	}
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_ms() >= end) {
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			e = -ETIMEDOUT;
			break;
		}
		sleep_ms(2);
	}
	if (!e)
		e = WIFEXITED(st) ? WEXITSTATUS(st) : -EIO;
out:
	if (po[0] >= 0) close(po[0]);
	if (po[1] >= 0) close(po[1]);
	if (pe[0] >= 0) close(pe[0]);
	if (pe[1] >= 0) close(pe[1]);
	return e;
}

/*
 * qemu-img's complaint as one line: its last line, less "qemu-img: " and
 * "Could not open 'json:{...}': " (our own words back).
 */
static void tool_reason(const struct tool_out *o, const char *json, int e,
			char *err, size_t errlen)
{
	const char *p = o->errs, *line = NULL, *nl;
	size_t n = 0, jl = strlen(json);
	char open_pfx[] = "Could not open '";

	if (e == -ETIMEDOUT) {
		snprintf(err, errlen, "qemu-img gave no answer in time");
		return;
	}
	for (; *p; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		if (nl > p) {
			line = p;
			n = nl - p;
		}
	}
	if (!line) {
		snprintf(err, errlen, "qemu-img failed (%s)",
			 e < 0 ? strerror(-e) : "no reason given");
		return;
	}
	if (n > 10 && strncmp(line, "qemu-img: ", 10) == 0) {
		line += 10;
		n -= 10;
	}
	if (n > sizeof(open_pfx) - 1 + jl + 3 &&
	    strncmp(line, open_pfx, sizeof(open_pfx) - 1) == 0 &&
	    strncmp(line + sizeof(open_pfx) - 1, json, jl) == 0 &&
	    strncmp(line + sizeof(open_pfx) - 1 + jl, "': ", 3) == 0) {
		line += sizeof(open_pfx) - 1 + jl + 3;
		n -= sizeof(open_pfx) - 1 + jl + 3;
	}
	snprintf(err, errlen, "%.*s", (int)n, line);
}

/* A json: name and a private argv for one qemu-img run. */
struct tool_run {
	struct argv a;
	struct tool_out o;
	char json[ARG_MAX_LEN / 2];
};

/* A qemu-img run on disk d: its arguments to come, d as json in r->json. */
static int tool_new(const struct vm_disk *d, struct tool_run **out,
		    char *err, size_t errlen)
{
	struct tool_run *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	e = disk_json(d, "json:", "", r->json, sizeof(r->json));
	if (e) {
		snprintf(err, errlen, "cannot describe the disk to qemu: %s",
			 strerror(-e));
		free(r);
		return e;
	}
	*out = r;
	return 0;
}

int vm_disk_size(const struct vm_disk *d, uint64_t *size, int timeout_ms,
		 char *err, size_t errlen)
{
	struct tool_run *r;
	unsigned long long v;
	const char *p;
	int e = tool_new(d, &r, err, errlen);

	if (e)
		return e;
	arg(&r->a, "qemu-img");
	arg(&r->a, "info");
	arg(&r->a, "--output=json");
	arg(&r->a, "%s", r->json);
	e = r->a.overflow ? -ENAMETOOLONG :
	    run_tool(r->a.v, &d->fd, d->fd >= 0, &r->o, timeout_ms);
	p = strstr(r->o.out, "\"virtual-size\":");
	if (e == 0 && p && sscanf(p + 15, " %llu", &v) == 1) {
		*size = v;
		goto out;
	}
	tool_reason(&r->o, r->json, e, err, errlen);
	e = e < 0 ? e : -EIO;
out:
	free(r);
	return e;
}

/* Run r (a qemu-img that writes the file out, with d's file kept open
 * too), free it; 0 or -errno with qemu-img's reason in err. */
static int tool_to_file(struct tool_run *r, const struct vm_disk *d, int out,
			int timeout_ms, char *err, size_t errlen)
{
	int keep[2] = { out, d->fd }, e;

	e = r->a.overflow ? -ENAMETOOLONG :
	    run_tool(r->a.v, keep, d->fd >= 0 ? 2 : 1, &r->o, timeout_ms);
	if (e) {
		tool_reason(&r->o, r->json, e, err, errlen);
		e = e < 0 ? e : -EIO;
	}
	free(r);
	return e;
}

int vm_disk_read(const struct vm_disk *d, int out, uint64_t len,
		 int timeout_ms, char *err, size_t errlen)
{
	struct tool_run *r;
	int e = tool_new(d, &r, err, errlen);

	if (e)
		return e;
	arg(&r->a, "qemu-img");
	arg(&r->a, "dd");
	arg(&r->a, "-O");
	arg(&r->a, "raw");
	arg(&r->a, "bs=%d", DD_BLOCK);
	arg(&r->a, "count=%" PRIu64, (len + DD_BLOCK - 1) / DD_BLOCK);
	arg(&r->a, "if=%s", r->json);
	arg(&r->a, "of=/dev/fd/%d", out);
	return tool_to_file(r, d, out, timeout_ms, err, errlen);
}

int vm_disk_convert(const struct vm_disk *d, const char *format, int out,
		    int timeout_ms, char *err, size_t errlen)
{
	struct tool_run *r;
	int e = tool_new(d, &r, err, errlen);

	if (e)
		return e;
	arg(&r->a, "qemu-img");
	arg(&r->a, "convert");
	arg(&r->a, "-O");
	arg(&r->a, "%s", format);
	arg(&r->a, "%s", r->json);
	arg(&r->a, "/dev/fd/%d", out);
	return tool_to_file(r, d, out, timeout_ms, err, errlen);
}
