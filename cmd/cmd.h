/*
 * cmd.h - the subcommands of qemount and what they share.
 *
 * Exit codes (every command): 0 done; 1 failed (one line on stderr says
 * what, which file, why); 2 bad usage.
 */
#ifndef QEMOUNT_CMD_H
#define QEMOUNT_CMD_H

#define EXIT_FAIL	1
#define EXIT_USAGE	2

int cmd_tar(int argc, char **argv);

/*
 * cmd_signals - on SIGINT, SIGTERM and SIGHUP remove what a run would
 * leave (a temp output name), then die of the signal as usual; ignore
 * SIGPIPE so a closed pipe is an error we report, not a silent death.
 */
void cmd_signals(void);

#endif
