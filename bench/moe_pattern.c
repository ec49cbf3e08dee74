/* moe_pattern.c - does reading a MoE layer's experts at scattered places cost decode speed?
 * One-token products through matmul_many (the model's path: packed weights, the pool), over
 * L layers of a [E][R][C] expert stack each, every pass K items, the same number of bytes read
 * four ways, and the bandwidth probe in the same rounds:
 *
 *   scattered    K experts drawn at random from the layer's E (as the router picks them)
 *   contiguous   K experts side by side in the stack
 *   one item     the same K x R rows as one matrix
 *   scattered, one tile at a time   as scattered, with matmul_set_dual(false): each thread
 *                reads one stream instead of two (ops.c, docs/kernels-history.md "Two streams")
 *
 *   make build/bench/moe_pattern && build/bench/moe_pattern [TYPE [ROUNDS [LAYERS]]]
 *   (default Q4_K, 7 rounds, 12 layers; SEEK_HUGEPAGES=0 puts the stacks and the probe in 4 KiB pages)
 *
 * Shapes are DeepSeek-V2-Lite's gate/up experts (E 64, R 1408, C 2048, K 12 of them: 6 routed
 * experts x gate and up), 12 layers (~1.2 GB at Q4_K, past any cache; V2-Lite's 26 MoE layers
 * of gate, up and down are ~9 GB: LAYERS 80). Each figure is GB/s of weight bytes, and that as
 * a share of the probe (src/membw.c) taken at the start of its round; the orders take turns
 * going first; medians over the rounds are printed last, with the probe's one-stream and
 * two-stream passes on their own.
 * Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dtype.h"
#include "kernels/kernels.h"
#include "membw.h"
#include "ops.h"
#include "quant.h"
#include "threads.h"
#include "util.h"

enum { E = 64, R = 1408, C = 2048, K = 12, MAXR = 51, MODES = 4 };

int main(int argc, char **argv) {
    const char *tname = argc > 1 ? argv[1] : "Q4_K";
    const int rounds = argc > 2 ? atoi(argv[2]) : 7;
    const int L = argc > 3 ? atoi(argv[3]) : 12;
    const int t = seek_type_from_name(tname);
    const kern_packed *pk = t >= 0 ? kern_packed_for((seek_type)t) : NULL;
    if (!pk || C % seek_type_get((uint32_t)t)->block_size || rounds < 1 || rounds > MAXR || L < 1 || L > 200) {
        fprintf(stderr, "moe_pattern: %s: no packed kernel for it on this CPU (or ROUNDS not 1..%d, LAYERS not 1..200)\nusage: moe_pattern [TYPE, e.g. Q4_K] [ROUNDS] [LAYERS]\n", tname, MAXR);
        return 2;
    }
    const size_t rb = seek_row_size((seek_type)t, C), per = pk->bytes(C, R), total = (size_t)L * E * per;
    /* R rows quantized from random floats; every expert slot of every layer gets them in its
     * own random order, so no two pages hold the same bytes (a host that merges identical
     * pages could serve repeated ones from a few: src/membw.h, mem_fill_distinct) */
    uint8_t *src = malloc((size_t)R * rb);
    float *row = malloc(sizeof(float) * C), *x = malloc(sizeof(float) * C), *out = malloc(sizeof(float) * (size_t)K * R);
    uint8_t *w = seek_alloc_big(total, true);
    const size_t pbytes = (size_t)1 << 30;
    uint8_t *probe = seek_alloc_big(pbytes, true);
    uint8_t *shuf = malloc((size_t)R * rb);
    if (!src || !row || !x || !out || !w || !probe || !shuf) {
        fprintf(stderr, "moe_pattern: out of memory\n");
        return 1;
    }
    for (int r = 0; r < R; r++) {
        for (int i = 0; i < C; i++) row[i] = frand();
        if (seek_quantize_row((seek_type)t, row, src + (size_t)r * rb, C)) {
            fprintf(stderr, "moe_pattern: %s\n", seek_last_error());
            return 1;
        }
    }
    int order[R];
    for (int r = 0; r < R; r++) order[r] = r;
    for (int e = 0; e < L * E; e++) {
        for (int r = R - 1; r > 0; r--) {   /* Fisher-Yates */
            const int k = (int)(bench_next() % (uint64_t)(r + 1)), o = order[r];
            order[r] = order[k], order[k] = o;
        }
        for (int r = 0; r < R; r++) memcpy(shuf + (size_t)r * rb, src + (size_t)order[r] * rb, rb);
        pk->pack(C, shuf, rb, R, w + (size_t)e * per, 0, (R + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS);
    }
    mem_fill_distinct(probe, pbytes);
    for (int i = 0; i < C; i++) x[i] = frand();

    static const char *names[MODES] = {"scattered", "contiguous", "one item", "scattered, one tile at a time"};
    static double g[MODES][MAXR], f[MODES][MAXR], pb[MAXR], p1[MAXR], p2[MAXR];
    for (int r = -1; r < rounds; r++) {   /* round -1 warms up */
        const double probe_gbs = mem_read_best(probe, pbytes, 3);
        if (r >= 0) {   /* the probe's kinds of pass on their own: one stream per thread, two */
            const double a = mem_read_pass(probe, pbytes, MEM_PLAIN), b = mem_read_pass(probe, pbytes, MEM_PREFETCH);
            p1[r] = a > b ? a : b, p2[r] = mem_read_pass(probe, pbytes, MEM_TWO_STREAMS);
        }
        for (int m3 = 0; m3 < MODES; m3++) {
            const int mode = ((r + MODES) + m3) % MODES;   /* who goes first rotates */
            const bool dual_prev = matmul_set_dual(mode != 3);
            const double t0 = now();
            size_t bytes = 0;
            for (int rep = 0; rep < 4; rep++)
                for (int l = 0; l < L; l++) {
                    const uint8_t *layer = w + (size_t)l * E * per;
                    const int first = (int)(bench_next() % (E - K + 1));   /* contiguous / one item: where */
                    mm_item it[K];
                    int n = 0;
                    if (mode == 2) {
                        const seek_mat m = {(seek_type)t, C, (int64_t)K * R, rb, NULL, layer + (size_t)first * per};
                        it[n++] = (mm_item){out, x, m, NULL, 1};
                    } else {
                        bool used[E] = {false};
                        for (int k = 0; k < K; k++) {
                            int e = first + k;
                            if (mode == 0 || mode == 3) {
                                do e = (int)(bench_next() % E);
                                while (used[e]);
                                used[e] = true;
                            }
                            const seek_mat m = {(seek_type)t, C, R, rb, NULL, layer + (size_t)e * per};
                            it[n++] = (mm_item){out + (size_t)k * R, x, m, NULL, 1};
                        }
                    }
                    if (matmul_many(it, n, row)) {
                        fprintf(stderr, "moe_pattern: %s\n", seek_last_error());
                        return 1;
                    }
                    bytes += (size_t)K * R * rb;
                }
            matmul_set_dual(dual_prev);
            if (r >= 0) g[mode][r] = (double)bytes / (now() - t0) / 1e9, f[mode][r] = g[mode][r] / probe_gbs;
        }
        if (r >= 0) pb[r] = probe_gbs;
    }
    printf("moe_pattern: %s, %d layers x %d experts of %d x %d, %d per pass, %d threads, %d rounds, %.0f%% in 2 MiB pages\n",
           tname, L, E, R, C, K, seek_threads(), rounds, 100.0 * (double)seek_huge_page_bytes(w, total) / (double)total);
    printf("| read | GB/s (median) | of the probe (median per round) |\n|---|---:|---:|\n");
    for (int mode = 0; mode < MODES; mode++) printf("| %s | %.2f | %.3f |\n", names[mode], bench_median(g[mode], rounds), bench_median(f[mode], rounds));
    printf("| probe | %.2f | 1 |\n", bench_median(pb, rounds));
    printf("| probe's passes: one stream per thread | %.2f | |\n| probe's passes: two streams per thread | %.2f | |\n",
           bench_median(p1, rounds), bench_median(p2, rounds));
    seek_free_big(w, total);
    seek_free_big(probe, pbytes);
    free(src), free(shuf), free(row), free(x), free(out);
    return 0;
}
