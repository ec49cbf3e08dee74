/* stream_work.c - how much of the streaming read rate a loop keeps when it also computes:
 * the probe's pass of `seek bench` (src/membw.c: 64-byte loads, a prefetch 4 KiB ahead) with
 * K 512-bit multiply-adds (vpdpbusd, plus the vpand that unpacking nibbles costs) per
 * 64-byte line, for each K in turn every round, over the same buffer, all threads.
 *
 *   make build/bench/stream_work && build/bench/stream_work [MIB ROUNDS]
 *
 * Why: the packed decode kernels read at most ~0.8-0.9 of the probe however their
 * instructions were trimmed (docs/kernels.md). A kernel needs about 1 (Q8_0) to 2-3 (Q4_K,
 * Q6_K: the nibbles or 6-bit values unpacked, then two products per line) such operations
 * per line; this shows what that alone costs, with no kernel around it. The accumulators
 * are 8 registers (the kernels' chains are as short), and in cache each K runs far faster
 * than memory (printed too), so what a K loses from memory is lost overlap, not compute.
 * Prints per K the median over the rounds of GB/s and of the ratio to K = 0 of the same
 * round. AVX-512 VNNI only. */
#include <immintrin.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "kernels/kernels.h"
#include "membw.h"
#include "threads.h"
#include "util.h"

enum { TASK = 1 << 20, MAXK = 8, MAXR = 101 };

#define SW_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

static _Atomic uint64_t sink;   /* the sums go here, so no load is dead */

/* n bytes at b: per 256 bytes 4 prefetches 4 KiB ahead (as the probe and the kernels), 4 loads,
 * K products per load */
SW_TARGET static inline __attribute__((always_inline)) void pass_k(const uint8_t *b, size_t n, const int K) {
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    for (size_t i = 0; i < n; i += 256) {
        for (int k = 0; k < 256; k += 64) __builtin_prefetch(b + i + 4096 + k, 0, 2);
        const __m512i v0 = _mm512_loadu_si512(b + i), v1 = _mm512_loadu_si512(b + i + 64);
        const __m512i v2 = _mm512_loadu_si512(b + i + 128), v3 = _mm512_loadu_si512(b + i + 192);
        a0 = _mm512_add_epi32(a0, v0), a1 = _mm512_add_epi32(a1, v1);
        a2 = _mm512_add_epi32(a2, v2), a3 = _mm512_add_epi32(a3, v3);
        /* product k of each line: (v & 15) . (v >> k), into the 8 accumulators in turn */
#define SW_DP(acc, v, k) \
    if (K > (k)) acc = _mm512_dpbusd_epi32(acc, _mm512_and_si512(v, m4), _mm512_srli_epi16(v, k));
#define SW_DP4(k, A, B, C, D) SW_DP(A, v0, k) SW_DP(B, v1, k) SW_DP(C, v2, k) SW_DP(D, v3, k)
        SW_DP4(0, a4, a5, a6, a7) SW_DP4(1, a0, a1, a2, a3) SW_DP4(2, a4, a5, a6, a7) SW_DP4(3, a0, a1, a2, a3)
        SW_DP4(4, a4, a5, a6, a7) SW_DP4(5, a0, a1, a2, a3) SW_DP4(6, a4, a5, a6, a7) SW_DP4(7, a0, a1, a2, a3)
    }
    const __m512i s = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(a0, a1), _mm512_add_epi32(a2, a3)),
                                       _mm512_add_epi32(_mm512_add_epi32(a4, a5), _mm512_add_epi32(a6, a7)));
    atomic_fetch_xor_explicit(&sink, (uint64_t)_mm512_reduce_add_epi64(s), memory_order_relaxed);
}

typedef struct {
    const uint8_t *buf;
    size_t n;     /* bytes, a multiple of TASK */
    int K, reps;  /* reps > 1: the same bytes again (in cache) */
} sw_job;

SW_TARGET static void sw_tasks(void *p, int64_t t0, int64_t t1) {
    const sw_job *j = p;
    for (int r = 0; r < j->reps; r++)
        for (int64_t t = t0; t < t1; t++) {
            const uint8_t *b = j->buf + (size_t)t * TASK;
            switch (j->K) {   /* K a constant in each copy: the accumulators stay in registers */
            case 0: pass_k(b, TASK, 0); break;
            case 1: pass_k(b, TASK, 1); break;
            case 2: pass_k(b, TASK, 2); break;
            case 3: pass_k(b, TASK, 3); break;
            case 4: pass_k(b, TASK, 4); break;
            case 6: pass_k(b, TASK, 6); break;
            default: pass_k(b, TASK, 8); break;
            }
        }
}

static double gbs(const uint8_t *buf, size_t n, int K, int reps) {
    sw_job j = {buf, n, K, reps};
    const double t0 = now();
    par_for((int64_t)(n / TASK), sw_tasks, &j);
    return (double)n * reps / (now() - t0) / 1e9;
}

int main(int argc, char **argv) {
    const size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 1024;
    const int R = argc > 2 ? atoi(argv[2]) : 9;
    if (mib < 4 || R < 1 || R > MAXR) {
        fprintf(stderr, "usage: stream_work [MIB >= 4] [ROUNDS 1..%d]\n", MAXR);
        return 2;
    }
    if (kern_cpu_max_level() < KERN_AVX512) {
        fprintf(stderr, "stream_work: needs AVX-512 VNNI\n");
        return 1;
    }
    const size_t n = mib << 20;
    uint8_t *buf = seek_alloc_big(n, true);   /* the pages seek's packed weights and probe get */
    if (!buf) return 1;
    mem_fill_distinct(buf, n);
    const int ks[] = {0, 1, 2, 3, 4, 6, 8}, nk = (int)(sizeof ks / sizeof ks[0]);
    static double g[7][MAXR], ratio[7][MAXR], inc[7];
    const size_t in_cache = (size_t)seek_threads() * TASK;   /* one 1 MiB task per thread: in L2 */
    for (int i = 0; i < nk; i++) inc[i] = gbs(buf, in_cache, ks[i], 200);
    for (int r = 0; r < R; r++)
        for (int i = 0; i < nk; i++) g[i][r] = gbs(buf, n, ks[i], 1);
    for (int r = 0; r < R; r++)
        for (int i = nk - 1; i >= 0; i--) ratio[i][r] = g[i][r] / g[0][r];
    printf("stream_work: %zu MiB, %d threads, %d rounds (AVX-512 VNNI; K products per 64-byte line)\n", mib,
           seek_threads(), R);
    printf("| K | GB/s from memory (median) | of K = 0, same round | GB/s in cache (%d x 1 MiB, 200 passes) |\n",
           seek_threads());
    printf("|---:|---:|---:|---:|\n");
    for (int i = 0; i < nk; i++) {
        const double gm = bench_median(g[i], R), rm = bench_median(ratio[i], R);
        printf("| %d | %.2f | %.3f | %.1f |\n", ks[i], gm, rm, inc[i]);
    }
    seek_free_big(buf, n);
    return 0;
}
