/* kquants_bench.c - speed of the K-quant kernels (src/kernels/kquants_*.c), per type and
 * CPU level, side by side with a dequantize-then-f32-dot baseline and a plain memory read.
 *
 *   kquants_bench [DECODE_MIB] [THREADS]        (make bench-kquants)
 *
 * decode:  one activation column against DECODE_MIB (default 512) of weights, n = 4096:
 *          GB/s of weight bytes read (best of 3), with THREADS threads (default 1 and 2).
 * prefill: 512 columns against 1024 x 4096 weights, cut in tiles of 64 rows x 512 columns:
 *          GFLOP/s (2 * rows * n * columns per run).
 * read:    a plain AVX2/AVX-512-free read of the same buffer (sum of uint64 words), as the
 *          memory ceiling of this machine at the time.
 * Numbers are only comparable within one run: the machine may be shared.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtype.h"
#include "kernels/kquants.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)rng;
}

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

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 512;
    int maxt = argc > 2 ? atoi(argv[2]) : 2;
    if (maxt < 1 || maxt > 8) maxt = 2;
    const int64_t n = 4096;
    size_t bytes = mib << 20;
    uint8_t *w = malloc(bytes);
    size_t as = seek_row_size(SEEK_TYPE_Q8_K, n);
    const int P_COLS = 512, P_ROWS = 1024;
    uint8_t *a = malloc(as * P_COLS);
    float *x = malloc(sizeof(float) * n);
    float *out = malloc(sizeof(float) * (bytes / 1000 + P_ROWS * (size_t)P_COLS));
    if (!w || !a || !x || !out) return 1;
    for (int c = 0; c < P_COLS; c++) {
        for (int64_t i = 0; i < n; i++) x[i] = (float)((int)(rnd() % 2001) - 1000) * 1e-3f;
        seek_quantize_row(SEEK_TYPE_Q8_K, x, a + c * as, n);
    }
    printf("# kquants_bench: n = %lld, decode over %zu MiB, prefill %d x %lld weights x %d columns\n",
           (long long)n, mib, P_ROWS, (long long)n, P_COLS);
    memset(w, 1, bytes);
    for (int nt = 1; nt <= maxt; nt++) {
        job j = {.w = w, .ws = 4096};
        double t = timed(j, (int)(bytes / 4096), nt, 3, read_main);
        printf("read %d thread%s: %.1f GB/s\n", nt, nt > 1 ? "s" : "", bytes / t * 1e-9);
    }
    printf("%-5s %-7s %3s %14s %14s %16s %16s\n", "type", "level", "thr", "decode GB/s", "baseline GB/s",
           "prefill GFLOP/s", "baseline GFLOP/s");
    for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
        seek_type t = types[ti];
        size_t ws = seek_row_size(t, n);
        int rows = (int)(bytes / ws);
        fill_weights(t, w, (size_t)rows * ws);
        for (int nt = 1; nt <= maxt; nt++) {
            job base = {.n = n, .w = w, .ws = ws, .tile_rows = 64, .a = a, .as = as, .out = out, .os = 1, .t = t};
            /* baseline: decode on a tenth of the rows, prefill on 16 rows per thread */
            job bj = base;
            bj.cols = 1, bj.baseline = 1;
            double td_base = timed(bj, rows / 10, nt, 1, thread_main) * 10;
            bj.cols = P_COLS, bj.os = P_ROWS;
            double tp_base = timed(bj, 16 * nt, nt, 1, thread_main) * P_ROWS / (16.0 * nt);
            for (int l = 0; l < KERN_LEVELS; l++) {
                if (!level_ok((kern_level)l) || !kern_kquant(t, (kern_level)l)) continue;
                job j = base;
                j.e = kern_kquant(t, (kern_level)l);
                j.cols = 1;
                double td = timed(j, rows, nt, 3, thread_main);
                j.cols = P_COLS, j.os = P_ROWS;
                double tp = timed(j, P_ROWS, nt, l == KERN_SCALAR ? 1 : 3, thread_main);
                double flop = 2.0 * P_ROWS * n * P_COLS;
                printf("%-5s %-7s %3d %14.2f %14.2f %16.1f %16.2f\n", seek_type_get(t)->name,
                       l == 0 ? "scalar" : l == 1 ? "avx2" : "avx512", nt, (double)rows * ws / td * 1e-9,
                       (double)rows * ws / td_base * 1e-9, flop / tp * 1e-9, flop / tp_base * 1e-9);
                fflush(stdout);
            }
        }
    }
    free(w); free(a); free(x); free(out);
    return 0;
}
