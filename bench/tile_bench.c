/* tile_bench.c - the compute cost of one matmul() tile, data in cache, one thread: what a
 * kernel can do per core when neither memory nor the other threads are in the way.
 *
 *   build/bench/tile_bench [ROWS C T] TYPE...      (make build/bench/tile_bench)
 *
 * Default 48 x 1536 weights, T = 256 columns: the tile matmul() hands a kernel in prefill
 * (ops.c: TILE_R x TILE_C). The same product is repeated for about 0.1 s, five times; the
 * best GFLOP/s (2 * ROWS * C * T per product) per second of this thread's CPU time is
 * printed, with a checksum of the output (equal across builds = the same bits). Types
 * with a packed form at the level (kernels.h) get a second line, "packed", on a packed copy.
 * Not a test: numbers depend on the machine; compare only within one run (SEEK_CPU picks
 * the level). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dtype.h"
#include "kernels/kernels.h"
#include "bench.h"

static double cpu_now(void) { return bench_clock(CLOCK_THREAD_CPUTIME_ID); }

int main(int argc, char **argv) {
    int R = 48, C = 1536, T = 256, i = 1;
    if (argc > 4 && atoi(argv[1]) > 0) R = atoi(argv[1]), C = atoi(argv[2]), T = atoi(argv[3]), i = 4;
    if (i >= argc || R <= 0 || C <= 0 || T <= 0) {
        fprintf(stderr, "usage: tile_bench [ROWS C T] TYPE...\n");
        return 1;
    }
    for (; i < argc; i++) {
        int ty = seek_type_from_name(argv[i]);
        const kern_entry *e = ty < 0 ? NULL : kern_for((seek_type)ty);
        if (!e || !e->quant || !seek_type_get((uint32_t)ty)->can_quantize) {
            fprintf(stderr, "tile_bench: %s: no quantized kernel\n", argv[i]);
            continue;
        }
        if (C % seek_type_get((uint32_t)ty)->block_size) {
            fprintf(stderr, "tile_bench: %s: C = %d is not a multiple of its block\n", argv[i], C);
            continue;
        }
        size_t ws = seek_row_size((seek_type)ty, C), as = kern_act_row_bytes(e, C);
        float *x = malloc(sizeof(float) * (size_t)C), *out = malloc(sizeof(float) * (size_t)R * T);
        uint8_t *w = malloc(ws * (size_t)R), *a = aligned_alloc(64, as * (size_t)T);
        if (!x || !out || !w || !a) return 1;
        for (int r = 0; r < R; r++) {
            for (int c = 0; c < C; c++) x[c] = frand();
            seek_quantize_row((seek_type)ty, x, w + r * ws, C);
        }
        for (int t = 0; t < T; t++) {
            for (int c = 0; c < C; c++) x[c] = frand();
            e->quant(x, a + t * as, C);
        }
        /* the plain kernel, then (where the level has one) the packed form's on a packed copy */
        const kern_packed *pk = kern_packed_for((seek_type)ty);
        uint8_t *pw = pk ? malloc(pk->bytes(C, R)) : NULL;
        if (pw) pk->pack(C, w, ws, R, pw, 0, (R + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS);
        for (int packed = 0; packed <= (pw != NULL); packed++) {
            kern_mm_fn mm = packed ? pk->mm : e->mm;
            const uint8_t *wm = packed ? pw : w;
            size_t step = packed ? pk->bytes(C, KERN_PACK_ROWS) : ws;
            double best = 0;
            for (int rep = 0; rep < 5; rep++) {
                double t0 = cpu_now(), dt;
                int n = 0;
                do mm(C, wm, step, R, a, as, T, out, (size_t)R), n++;
                while ((dt = cpu_now() - t0) < 0.1);
                if (2.0 * R * C * T * n / dt / 1e9 > best) best = 2.0 * R * C * T * n / dt / 1e9;
            }
            double sum = 0;
            for (int k = 0; k < R * T; k++) sum += out[k];
            printf("%-7s %-6s %d x %d, T %d: %7.1f GFLOP per CPU second (checksum %.9g)\n", argv[i],
                   packed ? "packed" : kern_level_name(kern_cpu_level()), R, C, T, best, sum);
            fflush(stdout);
        }
        free(x), free(out), free(w), free(a), free(pw);
    }
    return 0;
}
