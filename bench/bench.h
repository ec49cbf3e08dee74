/* bench.h - what the stand-alone bench programs share: clocks, one random sequence
 * (xorshift64, the same seed everywhere, so a program's checksums do not change run to run)
 * and the median. */
#ifndef SEEK_BENCH_H
#define SEEK_BENCH_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline double bench_clock(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
/* wall clock */
static inline double now(void) { return bench_clock(CLOCK_MONOTONIC); }

static inline uint64_t bench_next(void) {
    static uint64_t s = 88172645463325252ull;
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return s;
}
/* uniform in [-1, 1) */
static inline float frand(void) { return (float)((double)(bench_next() >> 11) * 0x1p-53 * 2.0 - 1.0); }

static inline int bench_cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}
/* the median of v[0..n) (sorts v) */
static inline double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

#endif
