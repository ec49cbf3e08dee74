/* cli_args.c - strict option and number parsing for the CLI (see cli_args.h). */
#include "cli_args.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"

int cli_opt(const char *cmd, int argc, char **argv, int *i, const char *name, const char *alt, const char **val) {
    const char *a = argv[*i];
    if (strcmp(a, name) && (!alt || strcmp(a, alt))) return 0;
    if (*i + 1 >= argc) {
        cli_usage_error(cmd, "option %s needs a value", a);
        return -1;
    }
    *val = argv[++*i];
    return 1;
}

int cli_opt_int(const char *cmd, int argc, char **argv, int *i, const char *name, const char *alt, int lo, int hi,
                int *out) {
    const char *v;
    int r = cli_opt(cmd, argc, argv, i, name, alt, &v);
    if (r <= 0) return r;
    return cli_int(cmd, argv[*i - 1], v, lo, hi, out) ? -1 : 1;
}

int cli_long(const char *cmd, const char *opt, const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || !*v) return cli_error("%s: %s: '%s' is not an integer", cmd, opt, v), -1;
    if (errno == ERANGE || x < lo || x > hi)
        return cli_error("%s: %s: %s is out of range (%ld..%ld)", cmd, opt, v, lo, hi), -1;
    *out = x;
    return 0;
}

int cli_int(const char *cmd, const char *opt, const char *v, int lo, int hi, int *out) {
    long x;
    if (cli_long(cmd, opt, v, lo, hi, &x)) return -1;
    *out = (int)x;
    return 0;
}

int cli_float(const char *cmd, const char *opt, const char *v, float lo, float hi, float *out) {
    char *end;
    errno = 0;
    float x = strtof(v, &end);
    if (end == v || *end || !*v || !isfinite(x)) return cli_error("%s: %s: '%s' is not a number", cmd, opt, v), -1;
    if (errno == ERANGE || !(x >= lo && x <= hi))
        return cli_error("%s: %s: %s is out of range (%g..%g)", cmd, opt, v, (double)lo, (double)hi), -1;
    *out = x;
    return 0;
}

int cli_u64(const char *cmd, const char *opt, const char *v, uint64_t *out) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (end == v || *end || v[0] == '-' || v[0] == '+' || errno == ERANGE)
        return cli_error("%s: %s: '%s' is not an integer in 0..18446744073709551615", cmd, opt, v), -1;
    *out = x;
    return 0;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cmd) cli_error("%s: %s (see 'seek %s --help')", cmd, msg, cmd);
    else cli_error("%s (see 'seek --help')", msg);
    return 2;
}

static const char *(*volatile unlink_path)(void);

static void unlink_and_die(int sig) {
    const char *tmp = unlink_path ? unlink_path() : NULL;
    if (tmp) unlink(tmp);   /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

void cli_unlink_on_signal(const char *(*tmp_path)(void)) {
    unlink_path = tmp_path;
    signal(SIGINT, unlink_and_die);
    signal(SIGTERM, unlink_and_die);
    signal(SIGHUP, unlink_and_die);
}

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

bool cli_utf8_ok(const char *s, size_t n, size_t *bad) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n) break;
        unsigned cp = k == 1 ? c : k == 2 ? c & 0x1f : k == 3 ? c & 0x0f : c & 0x07;
        size_t j = 1;
        for (; j < k && (p[i + j] & 0xc0) == 0x80; j++) cp = cp << 6 | (p[i + j] & 0x3f);
        if (j < k) break;
        /* overlong forms, surrogates and code points past U+10FFFF are not UTF-8 */
        if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            break;
        i += k;
    }
    if (bad) *bad = i;
    return i == n;
}
