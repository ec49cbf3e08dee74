/* kquants_bench.c - speed of the K-quant kernels (src/kernels/kquants_*.c), per type and
 * CPU level, side by side with a dequantize-then-f32-dot baseline and a plain memory read.
 *
 *   kquants_bench [DECODE_MIB] [THREADS]        (make bench-kquants)
 *
 * 1. compute, one core, data in cache, timed in thread CPU time (so other programs on a
 *    shared machine disturb it little): 64 rows x 4096 weights,
 *      decode  (1 column):    ns per row and super-block, and the GB/s of weights that is
 *      prefill (512 columns): GFLOP/s (2 * rows * n * columns per run).
 * 2. decode from memory, wall clock: one column against DECODE_MIB (default 512) of
 *    weights, 1..THREADS threads (default 2), GB/s of weights read, next to a plain read of
 *    the same buffer measured just before it (the memory ceiling at that moment).
 * Numbers are only comparable within one run: the machine may be shared.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtype.h"
#include "kernels/kquants.h"
#include "bench.h"

static uint32_t rnd(void) { return (uint32_t)bench_next(); }

static const seek_type types[] = {SEEK_TYPE_Q4_K, SEEK_TYPE_Q6_K, SEEK_TYPE_Q5_K, SEEK_TYPE_Q3_K, SEEK_TYPE_Q2_K};

/* Random blocks with small positive fp16 scales (no NaN/inf/denormal slow paths). */
static void fill_weights(seek_type t, uint8_t *w, size_t bytes) {
    int bb = seek_type_get(t)->type_size, od, om;
    switch (t) {
    case SEEK_TYPE_Q2_K: od = 80, om = 82; break;
    case SEEK_TYPE_Q3_K: od = 108, om = -1; break;
    case SEEK_TYPE_Q6_K: od = 208, om = -1; break;
    default: od = 0, om = 2; break;
    }
    for (size_t i = 0; i < bytes; i += 4) {
        uint32_t v = rnd();
        memcpy(w + i, &v, bytes - i < 4 ? bytes - i : 4);
    }
    uint16_t h = seek_fp32_to_fp16(0.001f);
    for (size_t b = 0; b + (size_t)bb <= bytes; b += (size_t)bb) {
        memcpy(w + b + od, &h, 2);
        if (om >= 0) memcpy(w + b + om, &h, 2);
    }
}

typedef struct {
    const kern_entry *e;
    int64_t n;
    const uint8_t *w;
    size_t ws;
    int r0, r1, tile_rows;
    const uint8_t *a;
    size_t as;
    int cols;
    float *out;
    size_t os;
    int baseline;      /* dequantize + f32 dot instead of the kernel */
    seek_type t;
    uint64_t sink;
} job;

static void run_rows(job *j) {
    if (j->baseline) {
        float *row = malloc(sizeof(float) * j->n), *x = malloc(sizeof(float) * j->n * j->cols);
        for (int c = 0; c < j->cols; c++) seek_dequantize_row(SEEK_TYPE_Q8_K, j->a + c * j->as, x + c * j->n, j->n);
        for (int r = j->r0; r < j->r1; r++) {
            seek_dequantize_row(j->t, j->w + r * j->ws, row, j->n);
            for (int c = 0; c < j->cols; c++) {
                float s = 0;
                const float *xc = x + c * j->n;
                for (int64_t i = 0; i < j->n; i++) s += row[i] * xc[i];
                j->out[c * j->os + r] = s;
            }
        }
        free(row);
        free(x);
        return;
    }
    for (int r = j->r0; r < j->r1; r += j->tile_rows) {
        int nr = j->r1 - r < j->tile_rows ? j->r1 - r : j->tile_rows;
        j->e->mm(j->n, j->w + r * j->ws, j->ws, nr, j->a, j->as, j->cols, j->out + r, j->os);
    }
}

static void *thread_main(void *p) {
    run_rows(p);
    return NULL;
}

static void *read_main(void *p) {
    job *j = p;
    const uint64_t *q = (const uint64_t *)(j->w + (size_t)j->r0 * j->ws);
    size_t n = (size_t)(j->r1 - j->r0) * j->ws / 8;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= n; i += 4) s0 += q[i], s1 += q[i + 1], s2 += q[i + 2], s3 += q[i + 3];
    j->sink = s0 + s1 + s2 + s3;
    return NULL;
}

/* Best time of `reps` runs of rows [0, rows) split over nt threads. */
static double timed(job base, int rows, int nt, int reps, void *(*fn)(void *)) {
    double best = 1e30;
    for (int k = 0; k < reps; k++) {
        pthread_t th[8];
        job js[8];
        double t0 = now();
        for (int i = 0; i < nt; i++) {
            js[i] = base;
            js[i].r0 = (int)((int64_t)rows * i / nt);
            js[i].r1 = (int)((int64_t)rows * (i + 1) / nt);
            pthread_create(&th[i], NULL, fn, &js[i]);
        }
        for (int i = 0; i < nt; i++) pthread_join(th[i], NULL);
        double dt = now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

static int level_ok(kern_level l) {
    if (l == KERN_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (l == KERN_AVX512) return __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
    return 1;
}

static double cpu_now(void) { return bench_clock(CLOCK_THREAD_CPUTIME_ID); }

/* Best thread-CPU seconds of one run_rows(j) call, over `reps` tries. */
static double cpu_timed(job j, int reps) {
    double best = 1e30;
    for (int k = 0; k < reps; k++) {
        double t0 = cpu_now();
        run_rows(&j);
        double dt = cpu_now() - t0;
        if (dt < best) best = dt;
    }
    return best;
}

static const char *lname(int l) { return l < 0 ? "baseline" : l == 0 ? "scalar" : l == 1 ? "avx2" : "avx512"; }

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 512;
    int maxt = argc > 2 ? atoi(argv[2]) : 2;
    if (maxt < 1 || maxt > 8) maxt = 2;
    if (mib < 16) mib = 16;
    const int64_t n = 4096;
    const int C_ROWS = 64, C_COLS = 512;
    size_t bytes = mib << 20;
    size_t as = seek_row_size(SEEK_TYPE_Q8_K, n);
    uint8_t *w = malloc(bytes), *a = malloc(as * C_COLS);
    float *x = malloc(sizeof(float) * n), *out = malloc(sizeof(float) * (bytes / 1000 + (size_t)C_ROWS * C_COLS));
    if (!w || !a || !x || !out) return 1;
    for (int c = 0; c < C_COLS; c++) {
        for (int64_t i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) * 1e-3f;
        seek_quantize_row(SEEK_TYPE_Q8_K, x, a + c * as, n);
    }
    printf("# kquants_bench: n = %lld\n", (long long)n);
    printf("# 1. compute, one core, in cache (%d rows; thread CPU time)\n", C_ROWS);
    printf("%-5s %-8s %14s %14s %16s\n", "type", "level", "decode ns/sb", "decode GB/s", "prefill GFLOP/s");
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        seek_type t = types[ti];
        size_t ws = seek_row_size(t, n);
        fill_weights(t, w, (size_t)C_ROWS * ws);
        for (int l = -1; l < KERN_LEVELS; l++) {
            if (l >= 0 && (!level_ok((kern_level)l) || !kern_kquant(t, (kern_level)l))) continue;
            job j = {.n = n, .w = w, .ws = ws, .r0 = 0, .r1 = C_ROWS, .tile_rows = C_ROWS, .a = a, .as = as,
                     .out = out, .os = C_ROWS, .t = t, .baseline = l < 0};
            if (l >= 0) j.e = kern_kquant(t, (kern_level)l);
            j.cols = 1;
            int reps = l <= 0 ? 3 : 200;
            double td = 1e30;
            for (int k = 0; k < 5; k++) {
                double t0 = cpu_now();
                for (int r = 0; r < reps; r++) run_rows(&j);
                double dt = (cpu_now() - t0) / reps;
                if (dt < td) td = dt;
            }
            j.cols = C_COLS;
            if (l <= 0) j.r1 = 4;   /* the slow ones on 4 rows */
            double tp = cpu_timed(j, l <= 0 ? 1 : 5) * C_ROWS / j.r1;
            double sbs = (double)C_ROWS * (n / 256);
            printf("%-5s %-8s %14.2f %14.2f %16.2f\n", seek_type_get(t)->name, lname(l), td / sbs * 1e9,
                   (double)C_ROWS * ws / td * 1e-9, 2.0 * C_ROWS * n * C_COLS / tp * 1e-9);
            fflush(stdout);
        }
    }
    printf("# 2. decode from memory (%zu MiB of weights; wall clock, best of 3)\n", mib);
    printf("%-5s %-8s %3s %12s %12s %7s\n", "type", "level", "thr", "decode GB/s", "read GB/s", "ratio");
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        seek_type t = types[ti];
        size_t ws = seek_row_size(t, n);
        int rows = (int)(bytes / ws);
        fill_weights(t, w, (size_t)rows * ws);
        for (int nt = 1; nt <= maxt; nt++)
            for (int l = KERN_AVX2; l < KERN_LEVELS; l++) {
                if (!level_ok((kern_level)l) || !kern_kquant(t, (kern_level)l)) continue;
                job r = {.w = w, .ws = ws};
                double tr = timed(r, rows, nt, 3, read_main);
                job j = {.n = n, .w = w, .ws = ws, .tile_rows = 64, .a = a, .as = as, .out = out, .os = 1, .t = t,
                         .cols = 1, .e = kern_kquant(t, (kern_level)l)};
                double td = timed(j, rows, nt, 3, thread_main);
                double gd = (double)rows * ws / td * 1e-9, gr = (double)rows * ws / tr * 1e-9;
                printf("%-5s %-8s %3d %12.2f %12.2f %7.2f\n", seek_type_get(t)->name, lname(l), nt, gd, gr, gd / gr);
                fflush(stdout);
            }
    }
    free(w); free(a); free(x); free(out);
    return 0;
}
