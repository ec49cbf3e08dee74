/* kernel_ab.c - paired A/B of decode speed: the packed kernel of one weight type as built at
 * another git revision (A, its symbols renamed A_*) against the working tree's (B), and a
 * plain streaming read (the bandwidth probe of `seek bench`), interleaved pass by pass.
 *
 *   bench/kernel_ab.sh REV TYPE [OC C ROUNDS]      (builds this and runs it; see there)
 *
 * Why: on these shared machines the read bandwidth drifts by 10-20 % over seconds, more than
 * the few per cent a kernel change is worth, so two binaries timed one after the other
 * cannot tell such a change apart. Here every round times A, B and the stream once each, in
 * a rotating order, each over its own ~512 MB (A and B: copies of one OC x C matrix, each
 * variant packs its own; distinct buffers, so no pass finds the last one's bytes in a large
 * last-level cache), and the figures are medians over rounds of the ratios B/A, A/stream
 * and B/stream taken within a round.
 *
 * Decode is the one-column product; both variants run under the working tree's thread pool,
 * each pool piece a run of 16-row groups, as matmul() cuts a packed product. The two
 * variants' outputs are compared (they must agree bit for bit unless the change meant to
 * change arithmetic; a difference is reported, not hidden). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/kernels.h"
#include "membw.h"
#include "util.h"
#include "threads.h"
#include "bench.h"

const kern_packed *A_kern_packed_for_level(seek_type type, kern_level l);   /* the old build's */

typedef struct {
    kern_mm_fn mm;
    const uint8_t *w;   /* the packed matrix */
    size_t ws;          /* bytes per 16-row group */
    int64_t n, rows;
    const uint8_t *a;   /* the activation, converted */
    float *out;
} product;

static void run_groups(void *p, int64_t g0, int64_t g1) {
    const product *j = p;
    for (int64_t g = g0; g < g1; g++) {
        const int nr = j->rows - g * KERN_PACK_ROWS < KERN_PACK_ROWS ? (int)(j->rows - g * KERN_PACK_ROWS) : KERN_PACK_ROWS;
        j->mm(j->n, j->w + (size_t)g * j->ws, j->ws, nr, j->a, 0, 1, j->out + g * KERN_PACK_ROWS, 1);
    }
}

enum { MIB = 1 << 20 };

typedef struct {
    const kern_packed *k;
    uint8_t *data;   /* n_mat copies of the packed matrix */
    size_t bytes;    /* of one copy */
    float *out;
} variant;

static int make_variant(variant *v, const kern_packed *k, seek_type t, int64_t OC, int64_t C, const uint8_t *w, int n_mat) {
    v->k = k;
    v->bytes = k->bytes(C, OC);
    v->data = seek_alloc_big(v->bytes * (size_t)n_mat, true);   /* the model's packed weights' pages */
    v->out = malloc(sizeof(float) * (size_t)(OC + KERN_PACK_ROWS));
    if (!v->data || !v->out) return -1;
    k->pack(C, w, seek_row_size(t, C), OC, v->data, 0, (OC + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS);
    for (int m = 1; m < n_mat; m++) memcpy(v->data + (size_t)m * v->bytes, v->data, v->bytes);
    return 0;
}

static double time_variant(const variant *v, int n_mat, int64_t OC, int64_t C, const uint8_t *a) {
    const int64_t groups = (OC + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
    const double t0 = now();
    for (int i = 0; i < n_mat; i++) {
        /* the copies in a scattered order: in a model consecutive products read unrelated
         * places, and a kernel must not get the previous call's stream for free */
        const int m = (int)(((int64_t)i * 7919) % n_mat);
        product j = {v->k->mm, v->data + (size_t)m * v->bytes, v->bytes / (size_t)groups, C, OC, a, v->out};
        par_for(groups, run_groups, &j);
    }
    return (double)v->bytes * n_mat / (now() - t0) / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: kernel_ab TYPE [OC C ROUNDS]\n");
        return 2;
    }
    const int ti = seek_type_from_name(argv[1]);
    const int64_t OC = argc > 2 ? atoll(argv[2]) : 1536, C = argc > 3 ? atoll(argv[3]) : 8960;
    const int R = argc > 4 ? atoi(argv[4]) : 16;
    if (ti < 0 || OC < 1 || C < 1 || R < 1 || R > 1000) {
        fprintf(stderr, "kernel_ab: bad arguments\n");
        return 2;
    }
    const seek_type t = (seek_type)ti;
    const kern_level top = kern_cpu_max_level();
    const kern_packed *ka = A_kern_packed_for_level(t, top), *kb = kern_packed_for_level(t, top);
    const kern_entry *e = kern_for_level(t, top);
    if (!ka || !kb || !e || !e->quant || C % seek_type_get((uint32_t)t)->block_size) {
        fprintf(stderr, "kernel_ab: %s has no packed kernel at %s in both builds (or C does not fit its blocks)\n", argv[1],
                kern_level_name(top));
        return 1;
    }
    const size_t rb = seek_row_size(t, C);
    float *row = malloc(sizeof(float) * (size_t)C), *x = malloc(sizeof(float) * (size_t)C);
    uint8_t *w = malloc(rb * (size_t)OC);
    const size_t ab = (kern_act_row_bytes(e, C) + 63) & ~(size_t)63;
    uint8_t *a = aligned_alloc(64, ab);
    if (!row || !x || !w || !a) return 1;
    for (int64_t r = 0; r < OC; r++) {
        for (int64_t i = 0; i < C; i++) row[i] = frand();
        if (seek_quantize_row(t, row, w + (size_t)r * rb, C)) return 1;
    }
    for (int64_t i = 0; i < C; i++) x[i] = frand();
    memset(a, 0, ab);
    e->quant(x, a, C);

    const size_t one = kb->bytes(C, OC);
    int n_mat = (int)(((size_t)512 * MIB) / one);
    if (n_mat < 1) n_mat = 1;
    if (n_mat > 1 && n_mat % 7919 == 0) n_mat--;   /* the visiting order below is a permutation */
    variant va, vb;
    if (make_variant(&va, ka, t, OC, C, w, n_mat) || make_variant(&vb, kb, t, OC, C, w, n_mat)) return 1;
    /* the probe reads a buffer of its own: each pass reads bytes the pass before did not
     * (a large last-level cache keeps part of a buffer just read), filled with distinct
     * bytes (a host that merges identical pages made a buffer of one repeated byte read
     * faster the longer the run went on: 30-33 GB/s against the 22-27 of the other probes) */
    const size_t n_chunks = vb.bytes * (size_t)n_mat / MIB;
    uint8_t *sbuf = seek_alloc_big(n_chunks * MIB, true);
    if (!sbuf) return 1;
    mem_fill_distinct(sbuf, n_chunks * MIB);

    printf("kernel_ab: %s %lld x %lld, %d copies (%.0f MB), %d threads, %d rounds\n", argv[1], (long long)OC, (long long)C,
           n_mat, vb.bytes * n_mat / 1e6, seek_threads(), R);
    double *ga = malloc(sizeof(double) * R), *gb = malloc(sizeof(double) * R), *gs = malloc(sizeof(double) * R);
    double *ba = malloc(sizeof(double) * R), *as_ = malloc(sizeof(double) * R), *bs = malloc(sizeof(double) * R);
    if (!ga || !gb || !gs || !ba || !as_ || !bs) return 1;
    for (int r = -2; r < R; r++) {   /* two rounds of warm-up */
        double g[3];
        for (int k = 0; k < 3; k++) {
            const int which = ((k + r) % 3 + 3) % 3;   /* the order rotates round by round */
            if (which == 2) {
                g[2] = mem_read_pass(sbuf, n_chunks * MIB, MEM_PREFETCH);   /* seek bench's probe, prefetching kind */
            } else
                g[which] = time_variant(which ? &vb : &va, n_mat, OC, C, a);
        }
        if (r < 0) continue;
        ga[r] = g[0], gb[r] = g[1], gs[r] = g[2];
        ba[r] = g[1] / g[0], as_[r] = g[0] / g[2], bs[r] = g[1] / g[2];
    }
    const bool same = !memcmp(va.out, vb.out, sizeof(float) * (size_t)OC);
    printf("GB/s (medians): A %.2f  B %.2f  stream %.2f\n", bench_median(ga, R), bench_median(gb, R), bench_median(gs, R));
    printf("B/A %.3f   A/stream %.3f   B/stream %.3f   outputs %s\n", bench_median(ba, R), bench_median(as_, R), bench_median(bs, R),
           same ? "identical" : "DIFFER");
    return 0;
}
