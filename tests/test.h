/* test.h - a tiny test harness. Each tests/test_*.c is its own program:
 *
 *   TEST(name) { CHECK(cond); CHECK_NEAR(a, b, tol); ... }
 *   int main(void) { RUN(name); ...; return test_summary(); }
 *
 * Every test prints "ok <file>:<name>" or "FAIL <file>:<name>: <why>"; tests/run.sh
 * counts those lines. A failed CHECK ends the current test. SEEK_TEST_ONLY=part runs
 * only the tests whose names contain part (tests/amx-emu/run.sh: amx). Tests run with the
 * repository root as the working directory, so data is at tests/data/...
 */
#ifndef SEEK_TEST_H
#define SEEK_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int test_failed_, test_n_failed_;
static const char *test_name_;

#define TEST(name) static void name(void)

#define FAILF(...) do { \
        if (!test_failed_) { \
            printf("FAIL %s:%s: %s:%d: ", __FILE__, test_name_, __FILE__, __LINE__); \
            printf(__VA_ARGS__); printf("\n"); fflush(stdout); } \
        test_failed_ = 1; return; } while (0)

#define CHECK(cond) do { if (!(cond)) FAILF("%s", #cond); } while (0)
#define CHECK_MSG(cond, ...) do { if (!(cond)) FAILF(__VA_ARGS__); } while (0)
#define CHECK_NEAR(a, b, tol) do { double a_ = (a), b_ = (b); \
        if (!(fabs(a_ - b_) <= (tol))) FAILF("%s = %g, %s = %g, |diff| > %g", #a, a_, #b, b_, (double)(tol)); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) FAILF("%s = \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)

static inline void test_run_(const char *file, const char *name, void (*fn)(void)) {
    const char *only = getenv("SEEK_TEST_ONLY");   /* run only the tests whose names contain it */
    if (only && *only && !strstr(name, only)) return;
    test_name_ = name;
    test_failed_ = 0;
    fn();
    if (test_failed_) test_n_failed_++;
    else printf("ok %s:%s\n", file, name);
    fflush(stdout);
}
#define RUN(name) test_run_(__FILE__, #name, name)

static inline int test_summary(void) { return test_n_failed_ ? 1 : 0; }

/* ---- small helpers several tests share ---- */

/* Bit-for-bit comparison of n floats: 0 when equal; otherwise 1, after printing the first
 * difference (index, value, expected) as a comment line for whoever reads the log. */
static inline int floats_differ(const float *want, const float *got, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&want[i], &got[i], sizeof(float))) {
            printf("# first difference at [%zu]: %.9g, expected %.9g\n", i, (double)got[i], (double)want[i]);
            return 1;
        }
    return 0;
}

/* n little-endian f32 values from a file (reference data); NULL if missing or short. */
static inline float *read_f32(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    float *v = malloc(sizeof(float) * n);
    if (v && fread(v, sizeof(float), n, f) != n) { free(v); v = NULL; }
    fclose(f);
    return v;
}

/* max |a[i]| and max |a[i] - b[i]| over n values, in double */
static inline double max_abs(const float *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}
static inline double max_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] == b[i]) continue;   /* equal, infinities too */
        const double d = fabs((double)a[i] - b[i]);
        if (isnan(d) || isinf(d)) return INFINITY;   /* a NaN anywhere, or an infinity on one side: no match (fmax would drop a NaN) */
        m = fmax(m, d);
    }
    return m;
}

/* index of the largest of x[0..n) (the first, on ties) */
static inline int argmax(const float *x, int n) {
    int b = 0;
    for (int i = 1; i < n; i++) if (x[i] > x[b]) b = i;
    return b;
}

/* test_mkdtemp(dir, "NAME"): a fresh directory /tmp/seek-NAME-XXXXXX in the char array dir;
 * 0, or -1 after a "FAIL <file>:setup" line. test_rmdir removes it with all it holds. */
#define test_mkdtemp(dir, name) test_mkdtemp_(__FILE__, dir, sizeof(dir), name)
static inline int test_mkdtemp_(const char *file, char *dir, size_t size, const char *name) {
    snprintf(dir, size, "/tmp/seek-%s-XXXXXX", name);
    if (mkdtemp(dir)) return 0;
    printf("FAIL %s:setup: mkdtemp %s failed\n", file, dir);
    return -1;
}
static inline void test_rmdir(const char *dir) {
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
}

#endif
