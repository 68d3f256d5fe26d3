/*
 * vm.c - the QEMU launcher (see vm.h).
 *
 * Command line: QEMU's microvm machine (docs/system/i386/microvm.rst),
 * PVH boot of an uncompressed vmlinux, virtio-mmio devices, no firmware,
 * no network, no display.  The 9P channel and the console are
 * socketpair ends passed to qemu as `-chardev socket,fd=N`.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vm.h"

#define LOG_MAX		65536
#define ARGV_MAX	64
#define PROBE_MS	3000

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
	char own[ARGV_MAX][512];
	int n;
};

static void arg(struct argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void arg(struct argv *a, const char *fmt, ...)
{
	va_list ap;

	if (a->n >= ARGV_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(a->own[a->n], sizeof(a->own[a->n]), fmt, ap);
	va_end(ap);
	a->v[a->n] = a->own[a->n];
	a->v[++a->n] = NULL;
}

static void build_argv(const struct vm_config *cfg, int accel_kvm,
		       int chan_fd, int con_fd, struct argv *a)
{
	unsigned long khz = tsc_khz();
	char tsc[48] = "";

	if (khz)
		snprintf(tsc, sizeof(tsc), " tsc_early_khz=%lu", khz);

	arg(a, "%s", cfg->qemu ? cfg->qemu : "qemu-system-x86_64");
	/* TCG: the default CPU model and translation cache measured fastest
	 * (guests/linux-6.1/cmdline has the numbers) */
	arg(a, "-M");
	arg(a, "microvm");
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
	arg(a, "-drive");
	/* a file opened for reading stays untouched: writes go to a
	 * throwaway overlay that QEMU unlinks at once */
	arg(a, "file=%s,format=%s,if=none,id=d0,%s", cfg->image,
	    cfg->image_format ? cfg->image_format : "raw",
	    cfg->writable ? "cache=unsafe" : "snapshot=on");
	arg(a, "-device");
	arg(a, "virtio-blk-device,drive=d0");
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
}

/*
 * In the child: die with the parent, keep only the fds qemu needs, and
 * exec.  Never returns.
 */
static void exec_qemu(char **argv, const int *keep, int nkeep, pid_t parent)
{
	int i, null;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)	/* the parent died before prctl */
		_exit(127);
	for (i = 0; i < nkeep; i++)
		fcntl(keep[i], F_SETFD, 0);
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
	}
	signal(SIGPIPE, SIG_DFL);
	execvp(argv[0], argv);
	dprintf(2, "qemount: cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Is an image path one of our inherited /dev/fd/N? Then keep N open. */
static int image_fd(const char *image)
{
	int n;
	char end;

	if (image && sscanf(image, "/dev/fd/%d%c", &n, &end) == 1)
		return n;
	return -1;
}

int vm_start(const struct vm_config *cfg, struct vm **out)
{
	int chan[2] = { -1, -1 }, con[2] = { -1, -1 }, keep[3], e;
	struct argv *a = NULL;
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
	build_argv(cfg, cfg->accel == VM_ACCEL_KVM ||
		   (cfg->accel == VM_ACCEL_AUTO &&
		    strcmp(vm_accel_name(cfg->accel, cfg->qemu, cfg->kernel),
			   "kvm") == 0), chan[1], con[1], a);
	keep[0] = chan[1];
	keep[1] = con[1];
	keep[2] = image_fd(cfg->image);
	vm->pid = fork();
	if (vm->pid < 0) {
		e = -errno;
		goto fail;
	}
	if (vm->pid == 0)
		exec_qemu(a->v, keep, keep[2] >= 0 ? 3 : 2, parent);
	close(chan[1]);
	close(con[1]);
	chan[1] = con[1] = -1;
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

const char *vm_log(struct vm *vm)
{
	size_t start;

	pthread_mutex_lock(&vm->lock);
	start = vm->loglen < LOG_MAX ? 0 : vm->logpos;
	if (start == 0) {
		memcpy(vm->snap, vm->log, vm->loglen);
	} else {
		memcpy(vm->snap, vm->log + start, LOG_MAX - start);
		memcpy(vm->snap + LOG_MAX - start, vm->log, start);
	}
	vm->snap[vm->loglen] = '\0';
	pthread_mutex_unlock(&vm->lock);
	return vm->snap;
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
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);	/* a failed probe's complaints are not news */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
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

const char *vm_accel_name(enum vm_accel a, const char *qemu,
			  const char *kernel)
{
	static int probed = -1;
	const char *env;

	if (a == VM_ACCEL_KVM)
		return "kvm";
	if (a == VM_ACCEL_TCG)
		return "tcg";
	env = getenv("QEMOUNT_ACCEL");
	if (env && (strcmp(env, "kvm") == 0 || strcmp(env, "tcg") == 0))
		return env;
	if (probed < 0)
		probed = probe_kvm(qemu, kernel);
	return probed ? "kvm" : "tcg";
}
