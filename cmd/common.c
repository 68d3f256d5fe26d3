/*
 * common.c - what the subcommands share.
 */
#include <signal.h>
#include <string.h>

#include "cmd.h"
#include "outfile.h"

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
