/* attn_bench.c - the speed of one decode step's attention (one query token over P cached
 * positions), F16 cache, all threads: what attention() costs per layer after a long prompt.
 *
 *   build/bench/attn_bench [P [mla|gqa]]     (make build/bench/attn_bench; SEEK_THREADS, SEEK_CPU)
 *
 * Two shapes: MLA absorbed as deepseek2 runs it (16 query heads over one latent kv head,
 * keys [c ; k_pe] of 576, values the first 512 of them) and dense GQA as R1-Distill-Qwen-1.5B
 * (12 heads, 2 kv heads, 128 each), with one layer's cache (in cache) and with 1 GiB of
 * layers' caches taken in turn (from memory, as in a model's step). Each call is repeated
 * for about 0.2 s, five times; the best microseconds per call and GFLOP/s (2 * heads * P *
 * (dk + dv) per call) are printed, with a checksum of the output (equal across builds = the
 * same bits). Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention.h"
#include "dtype.h"
#include "threads.h"
#include "bench.h"

/* L layers' caches, taken in turn as a decode step does (the step before touched every other
 * layer's rows, so a layer's rows come from memory, not from this core's caches). */
static void run(const char *name, int P, int L, int H, int HKV, int dk, int dv, bool v_in_k) {
    /* values in the keys' rows (MLA): no value rows of their own */
    const size_t krow = (size_t)HKV * dk, vrow = v_in_k ? 0 : (size_t)HKV * dv;
    uint16_t *k = malloc(sizeof(uint16_t) * (size_t)P * krow * L), *v = malloc(sizeof(uint16_t) * ((size_t)P * vrow * L + 1));
    float *q = malloc(sizeof(float) * (size_t)H * dk), *out = malloc(sizeof(float) * (size_t)H * dv);
    float *scr = malloc(sizeof(float) * attention_scratch(H, HKV, dk, dv, seek_threads()));
    if (!k || !v || !q || !out || !scr) { fprintf(stderr, "attn_bench: out of memory\n"); exit(1); }
    for (size_t i = 0; i < (size_t)P * krow * L; i++) k[i] = seek_fp32_to_fp16(frand());
    for (size_t i = 0; i < (size_t)P * vrow * L; i++) v[i] = seek_fp32_to_fp16(frand());
    for (int i = 0; i < H * dk; i++) q[i] = frand();
    attn_args a = {
        .T = 1, .pos0 = P - 1, .n_head = H, .n_kv_head = HKV,
        .q = q, .q_stride = (size_t)H * dk, .q_hstride = (size_t)dk,
        .k = {(const uint8_t *)k, SEEK_TYPE_F16, krow * 2, 0, dk, dk},
        .v = {(const uint8_t *)(v_in_k ? k : v), SEEK_TYPE_F16, v_in_k ? krow * 2 : vrow * 2, 0, v_in_k ? 0 : dv, dv},
        .v_in_k = v_in_k, .scale = 0.05f,
        .out = out, .o_stride = (size_t)H * dv, .o_hstride = (size_t)dv,
    };
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        int n = 0;
        const double t0 = now();
        double t;
        do {
            const int l = n % L;
            a.k.data = (const uint8_t *)(k + (size_t)l * P * krow);
            a.v.data = v_in_k ? a.k.data : (const uint8_t *)(v + (size_t)l * P * vrow);
            attention(&a, scr);
            n++;
        } while ((t = now() - t0) < 0.2 || n % L);
        if (t / n < best) best = t / n;
    }
    double sum = 0;
    for (int i = 0; i < H * dv; i++) sum += out[i];
    const double flop = 2.0 * H * P * (dk + dv);
    printf("%-28s P %5d  L %4d  %8.1f us  %7.1f GFLOP/s  checksum %.9g\n", name, P, L, best * 1e6, flop / best / 1e9, sum);
    free(k), free(v), free(q), free(out), free(scr);
}

int main(int argc, char **argv) {
    const int P = argc > 1 ? atoi(argv[1]) : 512;
    if (P < 1) { fprintf(stderr, "usage: attn_bench [P [mla|gqa]]\n"); return 1; }
    printf("attention, one query token, F16 cache, %d threads; L layers in turn (1: in cache)\n", seek_threads());
    /* from memory: caches over 1 GiB in all, more than any L3 here (a model's step streams
     * its weights between two visits of a layer's rows) */
    const size_t mla = (size_t)P * 576 * 2, gqa = (size_t)P * 2 * 256 * 2;
    const char *only = argc > 2 ? argv[2] : "";
    for (int cold = 0; cold < 2; cold++) {
        if (strcmp(only, "gqa")) run("MLA 16 x 576/512 (v in k)", P, cold ? (int)((1u << 30) / mla + 1) : 1, 16, 1, 576, 512, true);
        if (strcmp(only, "mla")) run("GQA 12/2 x 128", P, cold ? (int)((1u << 30) / gqa + 1) : 1, 12, 2, 128, 128, false);
    }
    return 0;
}
