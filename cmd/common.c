/*
 * common.c - what the subcommands share.
 */
#include <err.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "outfile.h"
#include "session.h"

static void on_signal(int sig)
{
	outfile_cleanup_on_signal();
	signal(sig, SIG_DFL);
	raise(sig);
}

void cmd_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * A byte count: decimal, or with a binary suffix K M G T (KiB ...), or s
 * for 512-byte sectors.  0 and sets *v, or -1.
 */
int cmd_bytes(const char *arg, uint64_t *v)
{
	static const char units[] = "sKMGT";
	static const int shift[] = { 9, 10, 20, 30, 40 };
	unsigned long long n;
	const char *u;
	char *end;

	if (*arg < '0' || *arg > '9')
		return -1;
	errno = 0;
	n = strtoull(arg, &end, 10);
	if (errno)
		return -1;
	if (*end) {
		u = strchr(units, *end);
		if (!u || end[1])
			return -1;
		if (n > UINT64_MAX >> shift[u - units])
			return -1;
		n <<= shift[u - units];
	}
	*v = n;
	return 0;
}

int cmd_sess_opt(int c, const char *arg, struct sess_opts *so)
{
	char *end;
	long n;

	switch (c) {
	case 't':
		so->fs = arg;
		return 1;
	case 'O':
	case 'L':
		if (cmd_bytes(arg, c == 'O' ? &so->offset : &so->length) ||
		    (c == 'L' && so->length == 0)) {
			warnx("--%s: not a byte count (N, NK, NM, NG, NT or "
			      "Ns for sectors): %s", c == 'O' ? "offset" :
			      "length", arg);
			return -1;
		}
		return 1;
	case 'p':
		if (*arg < '0' || *arg > '9') {	/* a name */
			so->partname = arg;
			so->partition = 0;
			return 1;
		}
		so->partname = NULL;
		/* fall through */
	case 'T':
		n = strtol(arg, &end, 10);
		if (*end || n < 1 || n > 100000) {
			warnx("--%s: not a number in range: %s",
			      c == 'p' ? "partition" : "timeout", arg);
			return -1;
		}
		if (c == 'p')
			so->partition = n;
		else
			so->timeout_ms = n * 1000;
		return 1;
	}
	return 0;
}

int cmd_open(const struct sess_opts *so, struct sess **s)
{
	char err[2048];
	const char *w, *nl;

	if (sess_open(so, s, err, sizeof(err))) {
		cmd_warnx("%s: %s", so->image, err);
		return -1;
	}
	for (w = sess_warnings(*s); *w; w = *nl ? nl + 1 : nl) {
		nl = w + strcspn(w, "\n");
		cmd_warnx("warning: %s: %.*s", so->image, (int)(nl - w), w);
	}
	return 0;
}

void cmd_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	putchar('"');
}

int cmd_write_all(int fd, const void *data, size_t n)
{
	const char *p = data;
	ssize_t w;

	while (n) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= w;
	}
	return 0;
}

double cmd_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int cmd_copy(int from, int to)
{
	char buf[1 << 16];
	ssize_t n;
	int e;

	while ((n = read(from, buf, sizeof(buf))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((e = cmd_write_all(to, buf, n)))
			return e;
	}
	return 0;
}

void cmd_put_name(FILE *f, const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || *s == '\\')
			fprintf(f, "\\%03o", (unsigned char)*s);
		else
			putc(*s, f);
}

void cmd_warnx(const char *fmt, ...)
{
	char msg[8192], line[4 * sizeof(msg)];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f = fmemopen(line, sizeof(line), "w");
	if (f) {
		cmd_put_name(f, msg);
		fclose(f);
	}
	warnx("%s", f ? line : msg);
}
