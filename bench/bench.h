/* bench.h - what the stand-alone bench programs share: clocks and one random sequence
 * (xorshift64, the same seed everywhere, so a program's checksums do not change run to run). */
#ifndef SEEK_BENCH_H
#define SEEK_BENCH_H

#include <stdint.h>
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

#endif
