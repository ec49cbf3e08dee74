/* kernels_bench.c - speed of matmul() per weight type and CPU level, against matmul_ref
 * and against the machine's streaming read bandwidth, measured side by side in one run.
 *
 *   decode   T = 1 over a stack of OC x C matrices larger than the caches (like a model's
 *            layers): GB/s of weight bytes read, and that as a share of the streaming read
 *            bandwidth over the same bytes, measured just before
 *   prefill  T = 512 on one matrix: GFLOP/s (2 * OC * C * T per product)
 *
 * Not a test: numbers depend on the machine and on what else runs on it.
 * usage: kernels_bench [--mb MB] [--oc N] [--c N] [--t N] [--ref] [--level L] [TYPE...]
 *        (default: 512 MB of weights, 4096 x 4096, T 512, all kernel types; --ref also
 *        times matmul_ref, which is slow; --level scalar|avx2|avx512|packed times only that
 *        row of each type, for quick A/B runs; SEEK_CPU=avx2 caps the levels, "packed" then
 *        being the AVX2 packed form; on a CPU with AVX-VNNI the avx2 rows use it unless
 *        SEEK_CPU=avx2, SEEK_CPU=avxvnni caps the levels with it on)
 * Each figure is given twice: per wall-clock second, and per CPU second of all threads
 * (the machine may be shared; per CPU second is the steadier figure for comparing kernels). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "membw.h"
#include "util.h"
#include "ops.h"
#include "threads.h"
#include "bench.h"

/* l's index when name is a level's name, else -1 */
static int level_index(const char *name) {
    for (int l = 0; l < KERN_LEVELS; l++)
        if (!strcmp(name, kern_level_name((kern_level)l))) return l;
    return -1;
}

/* CPU seconds of all threads: robust when the machine is shared */
static double cpu_now(void) { return bench_clock(CLOCK_PROCESS_CPUTIME_ID); }

/* The streaming read rate of these bytes right now (the ceiling for decode): best of 6
 * passes of seek bench's probe (src/membw.c): plain, prefetched 4 KiB ahead, and two streams, in turn. */
static double read_bw(const uint8_t *buf, size_t bytes) { return mem_read_best(buf, bytes, 6); }

int main(int argc, char **argv) {
    int64_t OC = 4096, C = 4096, mb = 512;
    int T = 512;
    bool with_ref = false;
    const char *only = NULL;   /* --level: the one row to time per type */
    const char *names[32];
    int n_names = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--mb") && i + 1 < argc) mb = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--oc") && i + 1 < argc) OC = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--c") && i + 1 < argc) C = atoll(argv[++i]);
        else if (!strcmp(argv[i], "--t") && i + 1 < argc) T = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--ref")) with_ref = true;
        else if (!strcmp(argv[i], "--level") && i + 1 < argc) only = argv[++i];
        else if (n_names < 32) names[n_names++] = argv[i];
    }
    if (only && strcmp(only, "ref") && strcmp(only, "packed") && level_index(only) < 0) {
        fprintf(stderr, "seek: kernels_bench: --level %s: not one of ref, scalar, avx2, avx512, packed\n", only);
        return 2;
    }
    static const char *all[] = {"F32", "F16", "BF16", "Q8_0", "Q4_0", "Q5_0", "Q4_1", "Q5_1", "IQ4_NL",
                                "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
    if (!n_names)
        for (size_t i = 0; i < sizeof all / sizeof *all; i++) names[n_names++] = all[i];

    float *src = malloc(sizeof(float) * (size_t)(OC * C));
    float *x = malloc(sizeof(float) * (size_t)C * T), *out = malloc(sizeof(float) * (size_t)OC * T);
    float *row = malloc(sizeof(float) * (size_t)C);
    if (!src || !x || !out || !row) return 1;
    for (int64_t i = 0; i < OC * C; i++) src[i] = frand();
    for (int64_t i = 0; i < C * T; i++) x[i] = frand();

    printf("kernels_bench: %lld x %lld, decode over %lld MB of weights, prefill T=%d, %d threads, cpu %s%s\n",
           (long long)OC, (long long)C, (long long)mb, T, seek_threads(), kern_level_name(kern_cpu_max_level()),
           kern_cpu_has_bf16() ? "+bf16" : "");
    uint8_t *big = malloc((size_t)mb << 20);
    if (!big) return 1;
    memset(big, 1, (size_t)mb << 20);
    double bw = read_bw(big, (size_t)mb << 20);
    printf("streaming read: %.1f GB/s\n", bw);
    printf("%-5s %-7s %11s %8s %13s %13s %13s\n", "type", "level", "decode GB/s", "of read", "GB/cpu-s",
           "prefill GF/s", "GF/cpu-s");

    for (int ni = 0; ni < n_names; ni++) {
        int t = seek_type_from_name(names[ni]);
        if (t < 0 || !seek_type_get((uint32_t)t)->can_quantize) {
            fprintf(stderr, "seek: kernels_bench: %s: not a quantizable type\n", names[ni]);
            continue;
        }
        size_t rb = seek_row_size((seek_type)t, C), mbytes = rb * (size_t)OC;
        int n_mat = (int)(((size_t)mb << 20) / mbytes);
        if (n_mat < 1) n_mat = 1;
        if ((size_t)n_mat * mbytes > ((size_t)mb << 20)) n_mat = 1;
        if (mbytes > ((size_t)mb << 20)) { free(big); big = malloc(mbytes); if (!big) return 1; }
        for (int64_t r = 0; r < OC; r++)
            if (seek_quantize_row((seek_type)t, src + r * C, big + r * rb, C)) return 1;
        for (int k = 1; k < n_mat; k++) memcpy(big + k * mbytes, big, mbytes);
        seek_mat w = {.type = (seek_type)t, .n_in = C, .n_out = OC, .row_bytes = rb, .data = big};

        /* the weights packed at load where the top level (the CPU's, or SEEK_CPU's) has a
         * packed form: one more row */
        const kern_level top = kern_cpu_level();
        const kern_packed *pk = kern_packed_for_level((seek_type)t, top);
        uint8_t *packed = NULL;
        size_t pbytes = pk ? pk->bytes(C, OC) : 0;
        if (pk && (packed = seek_alloc_big(pbytes * n_mat, true))) {   /* as the model's (util.h) */
            pk->pack(C, big, rb, OC, packed, 0, (OC + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS);
            for (int k = 1; k < n_mat; k++) memcpy(packed + k * pbytes, packed, pbytes);
        }
        for (int l = -1; l <= (int)top + (packed != NULL); l++) {
            const bool use_packed = l == (int)top + 1;
            if (l < 0 && !with_ref) continue;
            if (l >= 0 && !use_packed && !kern_for_level((seek_type)t, (kern_level)l)) continue;
            if (only && strcmp(only, l < 0 ? "ref" : use_packed ? "packed" : kern_level_name((kern_level)l))) continue;
            if (l >= 0) kern_set_level(use_packed ? top : (kern_level)l);
            w.packed = use_packed ? packed : NULL;
            int (*mm)(float *, const float *, seek_mat, const float *, int, float *) = l < 0 ? matmul_ref : matmul;
            /* the read bandwidth right now, over the same bytes (the machine may be shared) */
            bw = read_bw(big, (size_t)n_mat * mbytes);
            /* decode: every matrix once per pass, best of 3 passes (1 for the reference) */
            double best = 1e30, best_cpu = 1e30;
            for (int rep = 0; rep < (l < 0 ? 1 : 3); rep++) {
                double t0 = now(), c0 = cpu_now();
                int nm = l < 0 ? 1 : n_mat;
                for (int k = 0; k < nm; k++) {
                    seek_mat wk = w;
                    wk.data = big + k * mbytes;
                    if (use_packed) wk.packed = packed + k * pbytes;
                    mm(out, x, wk, NULL, 1, row);
                }
                double dt = (now() - t0) / nm, dc = (cpu_now() - c0) / nm;
                if (dt < best) best = dt;
                if (dc < best_cpu) best_cpu = dc;
            }
            double gbs = mbytes / best / 1e9;
            /* prefill: T tokens (the reference: 8, scaled) */
            int Tp = l < 0 ? 8 : T;
            double dt = 1e30, dc = 1e30;
            for (int rep = 0; rep < (l < 0 ? 1 : 3); rep++) {
                double t0 = now(), c0 = cpu_now();
                mm(out, x, w, NULL, Tp, row);
                double t1 = now() - t0, c1 = cpu_now() - c0;
                if (t1 < dt) dt = t1;
                if (c1 < dc) dc = c1;
            }
            double gf = 2.0 * OC * C * Tp / dt / 1e9, gfc = 2.0 * OC * C * Tp / dc / 1e9;
            printf("%-5s %-7s %11.2f %7.0f%% %13.2f %13.1f %13.1f\n", names[ni],
                   l < 0 ? "ref" : use_packed ? "packed" : kern_level_name((kern_level)l), gbs, 100 * gbs / bw, mbytes / best_cpu / 1e9, gf, gfc);
            fflush(stdout);
        }
        seek_free_big(packed, pbytes * n_mat);
    }
    free(src), free(x), free(out), free(row), free(big);
    return 0;
}
