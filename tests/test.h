/* test.h - a tiny test harness. Each tests/test_*.c is its own program:
 *
 *   TEST(name) { CHECK(cond); CHECK_NEAR(a, b, tol); ... }
 *   int main(void) { RUN(name); ...; return test_summary(); }
 *
 * Every test prints "ok <file>:<name>" or "FAIL <file>:<name>: <why>"; tests/run.sh
 * counts those lines. A failed CHECK ends the current test. Tests run with the
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
    test_name_ = name;
    test_failed_ = 0;
    fn();
    if (test_failed_) test_n_failed_++;
    else printf("ok %s:%s\n", file, name);
    fflush(stdout);
}
#define RUN(name) test_run_(__FILE__, #name, name)

static inline int test_summary(void) { return test_n_failed_ ? 1 : 0; }

#endif
