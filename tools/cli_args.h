/* cli_args.h - strict command-line parsing shared by every subcommand (and two small
 * helpers they share: removing a half-written output on a signal, a clock).
 *
 * Every message is one line "seek: CMD: ..." naming the option and the value that is
 * wrong, so the user can fix it: "option -p needs a value", "--ctx: 'abc' is not an
 * integer", "--ctx: 99999999 is out of range (4..16777216)". Numbers must be the whole
 * argument (no "12abc", no empty string) and in range; atoi is not used anywhere. */
#ifndef SEEK_CLI_ARGS_H
#define SEEK_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Does argv[*i] name the option `name` (or `alt`, may be NULL) that takes a value?
 *   0  not this option
 *   1  yes: *val = the next argument, *i advanced past it
 *  -1  yes, but it is the last argument ("CMD: option NAME needs a value" printed) */
int cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char *alt, const char **val);

/* cli_opt for an option whose value is an integer in lo..hi (cli_int): 0 not this
 * option, 1 yes and *out set, -1 yes but the value is missing or bad (message printed). */
int cli_opt_int(const char *cmd, int argc, char **argv, int *i, const char *name, const char *alt, int lo, int hi,
                int *out);

/* Strict numbers: 0, or -1 with "CMD: OPT: ..." printed. */
int cli_long(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out);
int cli_int(const char *cmd, const char *opt, const char *v, int lo, int hi, int *out);
int cli_float(const char *cmd, const char *opt, const char *v, float lo, float hi, float *out);
int cli_u64(const char *cmd, const char *opt, const char *v, uint64_t *out);

/* "CMD: MESSAGE (see 'seek CMD --help')" on stderr; returns 2 (the exit status for usage
 * errors, as getopt-style tools use). */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* On SIGINT, SIGTERM or SIGHUP, unlink tmp_path() (a half-written output; NULL: none), then
 * die of the signal as if not caught. */
void cli_unlink_on_signal(const char *(*tmp_path)(void));

/* Seconds on a monotonic clock (for timing). */
double cli_now(void);

/* Is s[0..n) valid UTF-8? If not, *bad = the offset of the first byte that is not. */
bool cli_utf8_ok(const char *s, size_t n, size_t *bad);

#endif
