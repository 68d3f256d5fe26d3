/*
 * common.c - what the subcommands share.
 */
#include <err.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

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

int cmd_sess_opt(int c, const char *arg, struct sess_opts *so)
{
	char *end;
	long n;

	switch (c) {
	case 't':
		so->fs = arg;
		return 1;
	case 'p':
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
