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

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct sess_opts;

int cmd_tar(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_pack(int argc, char **argv);
int cmd_probe(int argc, char **argv);
int cmd_guests(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);

/*
 * cmd_mount_lock_path - the lock file a mount's server holds on mnt (an
 * absolute path) until its guests are down; what `qemount umount` waits
 * on.  The directory is made if missing.
 */
void cmd_mount_lock_path(const char *mnt, char *out, size_t cap);

/*
 * The options of every command that reads an image: put SESS_OPTIONS in
 * the getopt_long table and hand each option to cmd_sess_opt first.
 */
#define SESS_OPTIONS \
	{ "fs", required_argument, NULL, 't' }, \
	{ "partition", required_argument, NULL, 'p' }, \
	{ "offset", required_argument, NULL, 'O' }, \
	{ "length", required_argument, NULL, 'L' }, \
	{ "timeout", required_argument, NULL, 'T' }
#define SESS_USAGE "[--fs TYPE] [--partition N|NAME] [--offset N [--length N]] " \
	"[--timeout SECONDS]"

/*
 * cmd_sess_opt - apply option c (with arg) to so.  Returns 1 if it was a
 * session option, 0 if not, -1 if its value is bad (said on stderr).
 */
int cmd_sess_opt(int c, const char *arg, struct sess_opts *so);

/*
 * cmd_bytes - parse a byte count: N, NK, NM, NG, NT (powers of 1024) or
 * Ns (512-byte sectors).  0, or -1 if arg is not one.
 */
int cmd_bytes(const char *arg, uint64_t *v);

/*
 * cmd_open - sess_open; its error, or each of its warnings, said on
 * stderr ("qemount: IMAGE: warning: ...").  0, or -1 if it failed.
 */
struct sess;
int cmd_open(const struct sess_opts *so, struct sess **s);

/*
 * cmd_json_str - s on standard output as a JSON string (RFC 8259):
 * quotes, backslash and control bytes escaped, other bytes as they are.
 */
void cmd_json_str(const char *s);

/*
 * cmd_put_name - s on f as `ls -b` shows a name: control bytes and '\'
 * as \ooo octal, other bytes as they are.
 */
void cmd_put_name(FILE *f, const char *s);

/*
 * cmd_warnx - warnx(3) of the formatted message with cmd_put_name's
 * escapes: for a line that holds names from an archive or an image,
 * which may hold a newline, so that it stays one line.
 */
void cmd_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * cmd_write_all - write data[0..n) to fd, through short writes and
 * EINTR.  0 or -errno.
 */
int cmd_write_all(int fd, const void *data, size_t n);

/* cmd_now - seconds on the monotonic clock, for -v timings. */
double cmd_now(void);

/* cmd_copy - copy fd from (to its end) to fd to.  0 or -errno. */
int cmd_copy(int from, int to);

/*
 * cmd_signals - on SIGINT, SIGTERM and SIGHUP remove what a run would
 * leave (a temp output name), then die of the signal as usual; ignore
 * SIGPIPE so a closed pipe is an error we report, not a silent death.
 */
void cmd_signals(void);

#endif
