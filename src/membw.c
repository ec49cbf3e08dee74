/* membw.c - the streaming read probe (membw.h). */
#include "membw.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "threads.h"

/* AHEAD: 4 KiB, as far as the packed decode kernels ask; 2 KiB read ~5 % less (bench/
 * stream_work's prefetch distances, 11 rounds: 2, 4, 8, 16 KiB -> 1, 1.05, 1.05, 1.06) */
enum { TASK = 1 << 20, STEP = MEM_PASS_STEP, AHEAD = 4096 };

typedef uint64_t v8u64 __attribute__((vector_size(64)));

typedef struct {
    const uint8_t *buf;
    size_t n;   /* a multiple of STEP */
    mem_mode mode;
} pass_job;

/* each task's sums go here: an atomic update is a side effect, so the loads stay */
static _Atomic uint64_t sink;

/* The 256 bytes at b into the four sums, asking first for the bytes AHEAD on (past a part's
 * end too: the next bytes of the stream, or of the other part) */
static inline void read_step(const uint8_t *b, bool prefetch, v8u64 a[4]) {
    if (prefetch)
        for (int k = 0; k < STEP; k += 64) __builtin_prefetch(b + AHEAD + k, 0, 2);
    _Pragma("GCC unroll 4")   /* whole, so the sums stay in registers */
    for (int k = 0; k < 4; k++) {
        v8u64 x;
        memcpy(&x, b + 64 * k, 64);
        a[k] += x;
    }
}

static void read_tasks(void *p, int64_t t0, int64_t t1) {
    const pass_job *j = p;
    const bool prefetch = j->mode != MEM_PLAIN, two = j->mode == MEM_TWO_STREAMS;
    for (int64_t t = t0; t < t1; t++) {
        const size_t off = (size_t)t * TASK, len = j->n - off < TASK ? j->n - off : TASK;
        /* two streams: the task's two halves (whole steps each), a step of each in turn */
        const size_t part = two ? len / 2 / STEP * STEP : len, second = two ? len - part : 0;
        const uint8_t *b = j->buf + off, *c = b + part;
        v8u64 a[4] = {{0}, {0}, {0}, {0}};
        for (size_t i = 0; i < part || i < second; i += STEP) {
            if (i < part) read_step(b + i, prefetch, a);
            if (i < second) read_step(c + i, true, a);
        }
        const v8u64 s = a[0] + a[1] + a[2] + a[3];
        atomic_fetch_xor_explicit(&sink, s[0] ^ s[7], memory_order_relaxed);
    }
}

static double wall(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double mem_read_best(const void *buf, size_t n, int passes) {
    double best = 0;
    for (int pass = 0; pass < passes; pass++) {
        const double g = mem_read_pass(buf, n, (mem_mode)(pass % 3));
        if (g > best) best = g;
    }
    return best;
}

void mem_fill_distinct(void *buf, size_t n) {
    uint8_t *b = buf;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const uint64_t v = (uint64_t)(i + 1) * UINT64_C(0x9e3779b97f4a7c15);
        memcpy(b + i, &v, 8);
    }
    for (; i < n; i++) b[i] = (uint8_t)(i * 131u);
}

double mem_read_pass(const void *buf, size_t n, mem_mode mode) {
    pass_job j = {buf, n / STEP * STEP, mode};
    if (!j.n) return 0;
    const double t0 = wall();
    par_for((int64_t)((j.n + TASK - 1) / TASK), read_tasks, &j);
    const double dt = wall() - t0;
    return dt > 0 ? (double)j.n / dt / 1e9 : 0;
}
