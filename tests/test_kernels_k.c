/* test_kernels_k.c - the K-quant kernels (src/kernels/kquants_*.c) against the reference.
 *
 * For Q2_K..Q6_K at every level this CPU runs, on random data of awkward sizes (1..17
 * super-blocks, rows not a multiple of any tile, 1, 2, 7 and 33 columns, padded strides):
 *   - the Q8_K activation quantizer of each level writes the reference's bytes;
 *   - each kernel equals the double-precision dot of the dequantized weight row with the
 *     dequantized Q8_K row within float rounding: (8 + nb) * 2^-24 * M, where nb is the
 *     number of super-blocks and M = sum |w_i a_i| over both parts of a type with mins
 *     (d*sc*q and dmin*m, which the kernel sums apart: see kquants_impl.h). The kernel's
 *     integers are exact; the bound covers d*da, the int->float conversion and one fused
 *     multiply-add per super-block, and the reference's own dequantization rounding;
 *   - and the dot with the unquantized f32 activations within that plus the Q8_K rounding
 *     bound sum |w_i| * amax_b / 254 (each activation is off by at most half a step);
 *   - all levels give the same bits, and so does every tiling of a whole matmul;
 *   - packing Q4_K, Q5_K and Q6_K at load (transposes; Q4_K's streaming stores when aligned)
 *     writes the bytes of the few-bytes-at-a-time references, full and padded groups alike.
 */
#include <stdint.h>

#include "dtype.h"
#include "kernels/kernels.h"
#include "kernels/kquants.h"
#include "kernels/kquants_impl.h"
#include "test.h"
#include "kern_dec2.h"

static uint64_t rng_state = 0x243F6A8885A308D3ull;
static uint32_t rng_u32(void) {
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static double rng_uniform(void) { return (rng_u32() + 0.5) / 4294967296.0; }
static double rng_normal(void) { return sqrt(-2.0 * log(rng_uniform())) * cos(6.283185307179586 * rng_uniform()); }

static const seek_type ktypes[] = {SEEK_TYPE_Q4_K, SEEK_TYPE_Q6_K, SEEK_TYPE_Q5_K, SEEK_TYPE_Q3_K, SEEK_TYPE_Q2_K};
enum { NTYPES = 5 };

/* The levels this CPU can run. */
static int level_ok(kern_level l) {
#if defined(__x86_64__)
    if (l == KERN_AVX2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");   /* all such CPUs have F16C */
    if (l == KERN_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
               __builtin_cpu_supports("avx512vnni");
#endif
    return l == KERN_SCALAR;
}

/* Byte offsets of the fp16 d and dmin in a block (dmin -1: the type has none). */
static void d_offsets(seek_type t, int *od, int *om) {
    switch (t) {
    case SEEK_TYPE_Q2_K: *od = 80, *om = 82; break;
    case SEEK_TYPE_Q3_K: *od = 108, *om = -1; break;
    case SEEK_TYPE_Q4_K: case SEEK_TYPE_Q5_K: *od = 0, *om = 2; break;
    default: *od = 208, *om = -1; break;
    }
}

static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

/* A weight matrix of `rows` rows of n values with row stride ws: even rows quantized from
 * Gaussian data by the reference quantizer, odd rows random bytes (every scale and quant
 * pattern, including ones the quantizer never writes) with sane fp16 d and dmin. */
static uint8_t *make_weights(seek_type t, int64_t n, int rows, size_t ws) {
    size_t rb = seek_row_size(t, n), bb = (size_t)seek_type_get(t)->type_size;
    /* the last row ends exactly at the end of the allocation (ASan catches over-reads) */
    uint8_t *w = malloc(ws * (rows - 1) + rb);
    float *x = malloc(sizeof(float) * n);
    int od, om;
    d_offsets(t, &od, &om);
    for (int r = 0; r < rows; r++) {
        uint8_t *row = w + r * ws;
        if (r % 2 == 0) {
            double s = 0.01 + rng_uniform();
            for (int64_t i = 0; i < n; i++) x[i] = (float)(s * rng_normal());
            if (seek_quantize_row(t, x, row, n)) abort();
        } else {
            for (size_t i = 0; i < rb; i++) row[i] = (uint8_t)rng_u32();
            for (size_t b = 0; b < rb / bb; b++) {
                wr16(row + b * bb + od, seek_fp32_to_fp16((float)(rng_uniform() * 0.01)));
                if (om >= 0) wr16(row + b * bb + om, seek_fp32_to_fp16((float)(rng_uniform() * 0.01)));
            }
        }
        if (r < rows - 1) memset(row + rb, 0xAB, ws - rb);   /* padding the kernel must not use */
    }
    free(x);
    return w;
}

/* f32 activations: Gaussian with a different scale per super-block, some outliers, a
 * zero block now and then. */
static float *make_acts(int64_t n, int cols) {
    float *x = malloc(sizeof(float) * n * cols);
    for (int c = 0; c < cols; c++)
        for (int64_t b = 0; b < n / 256; b++) {
            double s = (rng_u32() % 11 == 0) ? 0.0 : exp(4 * rng_uniform() - 2);
            for (int i = 0; i < 256; i++) {
                double v = s * rng_normal();
                if (rng_u32() % 97 == 0) v *= 10;
                x[c * n + b * 256 + i] = (float)v;
            }
        }
    return x;
}

typedef struct {
    seek_type t;
    int64_t n;
    int rows, cols;
    size_t ws, as;
    uint8_t *w, *a;      /* weights; reference Q8_K activations (stride as) */
    float *x;            /* f32 activations [cols][n] */
    double *ref_q, *ref_f, *tol_q, *tol_f;   /* [cols][rows] */
} problem;

static void free_problem(problem *p) {
    free(p->w); free(p->a); free(p->x);
    free(p->ref_q); free(p->ref_f); free(p->tol_q); free(p->tol_f);
}

/* Build a problem and its double-precision references. */
static problem make_problem(seek_type t, int64_t n, int rows, int cols) {
    problem p = {.t = t, .n = n, .rows = rows, .cols = cols};
    size_t rb = seek_row_size(t, n), bb = (size_t)seek_type_get(t)->type_size;
    p.ws = rb + 3 * bb / 2 + 1;            /* odd padding: nothing may assume alignment */
    p.as = seek_row_size(SEEK_TYPE_Q8_K, n) + 36;
    p.w = make_weights(t, n, rows, p.ws);
    p.x = make_acts(n, cols);
    p.a = calloc(1, p.as * (cols - 1) + seek_row_size(SEEK_TYPE_Q8_K, n));
    for (int c = 0; c < cols; c++)
        if (seek_quantize_row(SEEK_TYPE_Q8_K, p.x + c * n, p.a + c * p.as, n)) abort();
    p.ref_q = malloc(sizeof(double) * rows * cols);
    p.ref_f = malloc(sizeof(double) * rows * cols);
    p.tol_q = malloc(sizeof(double) * rows * cols);
    p.tol_f = malloc(sizeof(double) * rows * cols);
    int od, om;
    d_offsets(t, &od, &om);
    float *wr = malloc(sizeof(float) * n), *wp = malloc(sizeof(float) * n), *wm = malloc(sizeof(float) * n);
    float *ar = malloc(sizeof(float) * n);
    uint8_t *tmp = malloc(rb);
    for (int r = 0; r < rows; r++) {
        const uint8_t *row = p.w + r * p.ws;
        if (seek_dequantize_row(t, row, wr, n)) abort();
        /* the two parts of a type with mins, each on its own */
        if (om >= 0) {
            memcpy(tmp, row, rb);
            for (size_t b = 0; b < rb / bb; b++) wr16(tmp + b * bb + om, 0);
            seek_dequantize_row(t, tmp, wp, n);
            memcpy(tmp, row, rb);
            for (size_t b = 0; b < rb / bb; b++) wr16(tmp + b * bb + od, 0);
            seek_dequantize_row(t, tmp, wm, n);
        } else {
            memcpy(wp, wr, sizeof(float) * n);
            memset(wm, 0, sizeof(float) * n);
        }
        for (int c = 0; c < cols; c++) {
            if (seek_dequantize_row(SEEK_TYPE_Q8_K, p.a + c * p.as, ar, n)) abort();
            const float *xc = p.x + c * n;
            double dq = 0, df = 0, M = 0, E = 0;
            for (int64_t b = 0; b < n / 256; b++) {
                double amax = 0;
                for (int i = 0; i < 256; i++) amax = fmax(amax, fabs(xc[b * 256 + i]));
                for (int64_t i = b * 256; i < b * 256 + 256; i++) {
                    dq += (double)wr[i] * ar[i];
                    df += (double)wr[i] * xc[i];
                    M += (fabs(wp[i]) + fabs(wm[i])) * fabs(ar[i]);
                    E += fabs(wr[i]) * amax / 254;
                }
            }
            size_t k = (size_t)c * rows + r;
            p.ref_q[k] = dq;
            p.ref_f[k] = df;
            p.tol_q[k] = (8.0 + n / 256) * 0x1p-24 * M + 1e-30;
            p.tol_f[k] = p.tol_q[k] + E * (1 + 1e-5);
        }
    }
    free(wr); free(wp); free(wm); free(ar); free(tmp);
    return p;
}

/* Run one kernel over the whole problem as one tile; out has stride rows + 3. */
static float *run_whole(const kern_entry *e, const problem *p, const uint8_t *a) {
    size_t os = (size_t)p->rows + 3;
    float *out = malloc(sizeof(float) * os * p->cols);
    for (size_t i = 0; i < os * p->cols; i++) out[i] = NAN;
    e->mm(p->n, p->w, p->ws, p->rows, a, p->as, p->cols, out, os);
    return out;
}

static const char *tname(seek_type t) { return seek_type_get(t)->name; }

/* ------------------------------------------------------------------------ */

TEST(table_covers_the_k_types) {
    for (int l = 0; l < KERN_LEVELS; l++) {
        for (int i = 0; i < NTYPES; i++) {
            const kern_entry *e = kern_kquant(ktypes[i], (kern_level)l);
            CHECK(e && e->mm && e->quant && e->act_type == SEEK_TYPE_Q8_K);
        }
        CHECK(!kern_kquant(SEEK_TYPE_Q8_0, (kern_level)l));
        CHECK(!kern_kquant(SEEK_TYPE_Q8_K, (kern_level)l));
        CHECK(!kern_kquant(SEEK_TYPE_F32, (kern_level)l));
    }
    CHECK(!kern_kquant(SEEK_TYPE_Q4_K, KERN_LEVELS));
}

TEST(q8k_activations_match_the_reference_bytes) {
    static const int64_t sizes[] = {256, 768, 4352};
    for (int l = 0; l < KERN_LEVELS; l++) {
        if (!level_ok((kern_level)l)) continue;
        const kern_entry *e = kern_kquant(SEEK_TYPE_Q4_K, (kern_level)l);
        for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
            int64_t n = sizes[s];
            float *x = make_acts(n, 3);
            /* ties of |x| with opposite signs: the first one sets the sign */
            x[5] = 3.0f, x[9] = -3.0f, x[256 + 7] = -2.5f, x[256 + 100] = 2.5f;
            size_t rb = seek_row_size(SEEK_TYPE_Q8_K, n);
            uint8_t *ref = malloc(rb), *got = malloc(rb);
            for (int c = 0; c < 3; c++) {
                CHECK(!seek_quantize_row(SEEK_TYPE_Q8_K, x + c * n, ref, n));
                memset(got, 0x55, rb);
                e->quant(x + c * n, got, n);
                CHECK_MSG(!memcmp(ref, got, rb), "level %d n %lld col %d", l, (long long)n, c);
            }
            free(x); free(ref); free(got);
        }
    }
}

/* Kernel vs references, levels vs each other, on every shape. */
TEST(kernels_match_reference_at_every_level) {
    static const int64_t sizes[] = {256, 768, 2304, 4352};
    static const int shapes[][2] = {{1, 1}, {5, 7}, {17, 1}, {35, 33}, {3, 2}, {16, 4}, {19, 9}};
    for (int ti = 0; ti < NTYPES; ti++) {
        double worst_q = 0, worst_f = 0, e2 = 0, r2 = 0;
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++) {
                if (sizes[si] > 768 && shapes[sh][0] * shapes[sh][1] > 200) continue;   /* time */
                problem p = make_problem(ktypes[ti], sizes[si], shapes[sh][0], shapes[sh][1]);
                float *first = NULL;
                for (int l = 0; l < KERN_LEVELS; l++) {
                    if (!level_ok((kern_level)l)) continue;
                    float *out = run_whole(kern_kquant(p.t, (kern_level)l), &p, p.a);
                    size_t os = (size_t)p.rows + 3;
                    for (int c = 0; c < p.cols; c++)
                        for (int r = 0; r < p.rows; r++) {
                            size_t k = (size_t)c * p.rows + r;
                            double got = out[c * os + r];
                            double eq = fabs(got - p.ref_q[k]), ef = fabs(got - p.ref_f[k]);
                            CHECK_MSG(eq <= p.tol_q[k], "%s level %d n %lld (%d,%d): %.9g vs exact %.9g, tol %.3g",
                                      tname(p.t), l, (long long)p.n, r, c, got, p.ref_q[k], p.tol_q[k]);
                            CHECK_MSG(ef <= p.tol_f[k], "%s level %d n %lld (%d,%d): %.9g vs f32 %.9g, tol %.3g",
                                      tname(p.t), l, (long long)p.n, r, c, got, p.ref_f[k], p.tol_f[k]);
                            worst_q = fmax(worst_q, eq / p.tol_q[k]);
                            worst_f = fmax(worst_f, ef / p.tol_f[k]);
                            e2 += ef * ef;
                            r2 += p.ref_f[k] * p.ref_f[k];
                        }
                    /* padding columns of out are left alone */
                    for (int c = 0; c < p.cols; c++)
                        for (size_t r = (size_t)p.rows; r < os; r++) CHECK(isnan(out[c * os + r]));
                    if (!first) {
                        first = out;
                    } else {
                        CHECK_MSG(!memcmp(first, out, sizeof(float) * os * p.cols), "%s level %d differs from scalar",
                                  tname(p.t), l);
                        free(out);
                    }
                }
                free(first);
                free_problem(&p);
            }
        printf("# %s: worst |error| / tolerance %.3f (vs exact), %.3f (vs f32); rms error vs f32 %.2e of rms\n",
               tname(ktypes[ti]), worst_q, worst_f, sqrt(e2 / r2));
    }
}

/* The product cut into tiles of rt rows x ct columns, into out (stride rows + 3, NaN first):
 * w is the weight base, `step` bytes from one unit of `rows_per_step` rows to the next (1
 * and the row stride for plain rows; KERN_PACK_ROWS and the group size for packed ones). */
static void run_tiled(kern_mm_fn mm, const problem *p, const uint8_t *w, size_t step, int rows_per_step, int rt,
                      int ct, float *out) {
    size_t os = (size_t)p->rows + 3;
    for (size_t i = 0; i < os * p->cols; i++) out[i] = NAN;
    for (int r0 = 0; r0 < p->rows; r0 += rt)
        for (int c0 = 0; c0 < p->cols; c0 += ct) {
            int nr = p->rows - r0 < rt ? p->rows - r0 : rt;
            int nc = p->cols - c0 < ct ? p->cols - c0 : ct;
            mm(p->n, w + (size_t)(r0 / rows_per_step) * step, step, nr, p->a + c0 * p->as, p->as, nc, out + c0 * os + r0, os);
        }
}

/* A full matmul cut into tiles of many shapes equals the one-tile result bit for bit. */
TEST(tiles_do_not_change_results) {
    static const int rtiles[] = {1, 3, 4, 5, 16, 17, 64};
    static const int ctiles[] = {1, 2, 3, 4, 5, 8, 64};
    for (int ti = 0; ti < NTYPES; ti++) {
        problem p = make_problem(ktypes[ti], 2304, 37, 11);
        size_t os = (size_t)p.rows + 3;
        for (int l = 0; l < KERN_LEVELS; l++) {
            if (!level_ok((kern_level)l)) continue;
            const kern_entry *e = kern_kquant(p.t, (kern_level)l);
            float *whole = run_whole(e, &p, p.a);
            float *tiled = malloc(sizeof(float) * os * p.cols);
            for (size_t rt = 0; rt < sizeof rtiles / sizeof *rtiles; rt++)
                for (size_t ct = 0; ct < sizeof ctiles / sizeof *ctiles; ct++) {
                    run_tiled(e->mm, &p, p.w, p.ws, 1, rtiles[rt], ctiles[ct], tiled);
                    CHECK_MSG(!memcmp(whole, tiled, sizeof(float) * os * p.cols), "%s level %d tile %dx%d",
                              tname(p.t), l, rtiles[rt], ctiles[ct]);
                }
            free(whole);
            free(tiled);
        }
        free_problem(&p);
    }
}

/* n = 0: every dot product is an empty sum. */
TEST(empty_rows_give_zero) {
    uint8_t w[1] = {0}, a[1] = {0};
    for (int l = 0; l < KERN_LEVELS; l++) {
        if (!level_ok((kern_level)l)) continue;
        for (int ti = 0; ti < NTYPES; ti++)
            for (int nc = 1; nc <= 5; nc += 4) {
                float out[5 * 3];
                for (int i = 0; i < 15; i++) out[i] = NAN;
                kern_kquant(ktypes[ti], (kern_level)l)->mm(0, w, 0, 3, a, 0, nc, out, 3);
                for (int i = 0; i < 3 * nc; i++) CHECK_MSG(out[i] == 0.0f, "level %d type %d nc %d", l, ti, nc);
            }
    }
}

/* The types packed at load: Q4_K, Q5_K, Q6_K at AVX-512 (kquants_packed.c,
 * kquants_packed56.c), Q4_K and Q6_K at AVX2 (kquants_packed_avx2.c) */
static bool has_packed(seek_type t, kern_level l) {
    return (l == KERN_AVX512 && (t == SEEK_TYPE_Q4_K || t == SEEK_TYPE_Q5_K || t == SEEK_TYPE_Q6_K)) ||
           (l == KERN_AVX2 && (t == SEEK_TYPE_Q4_K || t == SEEK_TYPE_Q5_K || t == SEEK_TYPE_Q6_K));
}

/* t's packed product (pk: its packed form) against the plain kernel of level l on n values x
 * rows x cols, cut into every tiling of rtiles x ctiles; bit for bit */
static void packed_case(seek_type t, kern_level l, const kern_packed *pk, int64_t n, int rows, int cols, const int *rtiles,
                        int nrt, const int *ctiles, int nct) {
    const kern_entry *e = kern_kquant(t, l);
    problem p = make_problem(t, n, rows, cols);
    const int64_t groups = (p.rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
    const size_t gb = pk->bytes(p.n, KERN_PACK_ROWS);
    CHECK(pk->bytes(p.n, p.rows) == (size_t)groups * gb && gb % 64 == 0);
    uint8_t *packed = malloc(pk->bytes(p.n, p.rows));
    pk->pack(p.n, p.w, p.ws, p.rows, packed, 0, groups);
    size_t os = (size_t)p.rows + 3;
    float *whole = run_whole(e, &p, p.a), *tiled = malloc(sizeof(float) * os * p.cols);
    for (int rt = 0; rt < nrt; rt++)
        for (int ct = 0; ct < nct; ct++) {
            run_tiled(pk->mm, &p, packed, gb, KERN_PACK_ROWS, rtiles[rt], ctiles[ct], tiled);
            CHECK_MSG(!floats_differ(whole, tiled, os * p.cols), "%s n %d rows %d cols %d, tile %dx%d", tname(p.t),
                      (int)p.n, p.rows, p.cols, rtiles[rt], ctiles[ct]);
        }
    const int d2 = dec2_differs(pk, p.n, packed, p.rows, p.a, p.as, p.cols, whole, os);
    CHECK_MSG(!d2, "%s n %d rows %d: two-tile decode, pair %d", tname(p.t), (int)p.n, p.rows, d2);
    free(whole), free(tiled), free(packed);
    free_problem(&p);
}

/* Weights packed at load: every tile of 16-row groups x any columns gives the plain
 * kernel's bits at its level, including the zero-padded last group (where the CPU has AMX,
 * the AVX-512 forms' 16-column chunks run on its tiles). */
TEST(packed_kquants_give_the_plain_bits) {
    for (int l = 0; l < KERN_LEVELS; l++)
        for (int ti = 0; ti < NTYPES; ti++)
            CHECK(!kern_packed_for_level(ktypes[ti], (kern_level)l) == !has_packed(ktypes[ti], (kern_level)l));
    for (int ti = 0; ti < NTYPES; ti++)   /* the two-tile decode: the AVX-512 forms */
        CHECK(!has_packed(ktypes[ti], KERN_AVX512) || kern_packed_for_level(ktypes[ti], KERN_AVX512)->dec2);
    if (!level_ok(KERN_AVX2)) {
        printf("# no AVX2 here: packed K-quants not run\n");
        return;
    }
    static const int shapes[][3] = {{256, 1, 1}, {2304, 37, 11}, {1536, 16, 33}, {512, 48, 2}, {768, 35, 9}, {1280, 33, 8},
                                    {512, 83, 2}};   /* the last: two-tile decode on 64-row tiles */
    static const int rtiles[] = {16, 32, 48}, ctiles[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 64};
    /* at the AVX2 level as a model runs it: without and (where the CPU has it) with AVX-VNNI */
    const kern_level lprev = kern_set_level(KERN_AVX2);
    const bool vprev = kern_set_avxvnni(false);
    bool vnni_as_set = true;   /* checked after the settings are restored (a CHECK returns) */
    for (int l = KERN_AVX2; l <= KERN_AVX512; l++) {
        if (!level_ok((kern_level)l)) continue;
        for (int vn = 0; vn <= (l == KERN_AVX2 && kern_cpu_has_avxvnni()); vn++) {
            kern_set_level((kern_level)l);
            kern_set_avxvnni(vn);
            vnni_as_set = vnni_as_set && kern_cpu_avxvnni() == (vn == 1);
            if (vn) printf("  AVX-VNNI: run as well\n");
            for (int ti = 0; ti < NTYPES; ti++) {
                if (!has_packed(ktypes[ti], (kern_level)l)) continue;
                for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
                    packed_case(ktypes[ti], (kern_level)l, kern_packed_for_level(ktypes[ti], (kern_level)l), shapes[si][0],
                                shapes[si][1], shapes[si][2], rtiles, 3, ctiles, 10);
            }
        }
    }
    kern_set_level(lprev);
    kern_set_avxvnni(vprev);
    CHECK(vnni_as_set);
}

/* Packed Q4_K's, Q5_K's and Q6_K's AMX tile prefill (kernels/kquants_amx.c: the scales baked into the
 * weight tiles in pieces) gives the plain AVX-512 kernel's bits: with the tile instructions'
 * C twins on any AVX-512 CPU, and where the CPU has AMX also on its tiles. Shapes: 1, 3 and 9
 * super-blocks (past Q4_K's and Q5_K's 2 unpacked at a time), one 16-column chunk, 16 + 1 (the rest on
 * AVX-512), columns past the 256-column pass, padded groups. The weights' scales are random
 * bytes, so every bit of every piece is taken. */
TEST(amx_kquant_prefill_gives_the_plain_bits) {
    if (!level_ok(KERN_AVX512)) {
        printf("# no AVX-512 here: AMX tile kernels not run\n");
        return;
    }
    CHECK(!kern_packed_amx_emulated(SEEK_TYPE_Q3_K) && !kern_packed_amx_emulated(SEEK_TYPE_Q2_K));
    const bool hw = kern_cpu_amx();
    printf("  AMX tiles on this CPU: %s\n", hw ? "yes, run as well" : "no, emulated only");
    static const seek_type tt[] = {SEEK_TYPE_Q4_K, SEEK_TYPE_Q5_K, SEEK_TYPE_Q6_K};
    static const int shapes[][3] = {{256, 16, 16}, {768, 35, 33}, {2304, 17, 16}, {512, 48, 272}};
    static const int rtiles[] = {16, 48}, ctiles[] = {16, 17, 256};
    for (int pass = 0; pass < 1 + hw; pass++) {
        printf("  %s\n", pass ? "on the tile instructions" : "on their C twins");
        for (int ti = 0; ti < 3; ti++) {
            const kern_packed *pk = pass ? kern_packed_for_level(tt[ti], KERN_AVX512) : kern_packed_amx_emulated(tt[ti]);
            CHECK(pk != NULL);
            const long chunks = kern_amx_chunks();   /* the tiles must have run, not only agreed */
            for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
                packed_case(tt[ti], KERN_AVX512, pk, shapes[si][0], shapes[si][1], shapes[si][2], rtiles, 2, ctiles, 3);
            CHECK_MSG(kern_amx_chunks() > chunks, "%s: no tile chunk ran", seek_type_get(tt[ti])->name);
        }
    }
}

/* kq_pack_q4k, kq_pack_q5k and kq_pack_q6k (AVX-512 transposes; Q4_K's streaming stores when dst is
 * 64-byte aligned) against their few-bytes-at-a-time references, byte for byte: 1 and 9
 * super-blocks per row, 16, 53 (a padded last group) and 64 rows, padded row strides,
 * aligned and unaligned dst, groups packed in two ranges as the pool does. */
typedef void (*pack_fn)(int64_t, const uint8_t *, size_t, int64_t, uint8_t *, int64_t, int64_t);
static void packing_matches(seek_type t, size_t (*bytes_of)(int64_t, int64_t), pack_fn pack, pack_fn ref) {
    static const int shapes[][2] = {{256, 16}, {2304, 53}, {256, 64}, {2304, 16}};
    for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
        const int64_t n = shapes[si][0], rows = shapes[si][1], groups = (rows + 15) / 16;
        const size_t rb = seek_row_size(t, n), ws = rb + 7 * (si & 1), bytes = bytes_of(n, rows);
        uint8_t *w = malloc(ws * (size_t)rows), *want = malloc(bytes), *buf = aligned_alloc(64, (bytes + 64 + 63) / 64 * 64);
        CHECK(w && want && buf);
        for (size_t i = 0; i < ws * (size_t)rows; i++) w[i] = (uint8_t)rng_u32();
        memset(want, 0x5A, bytes);
        ref(n, w, ws, rows, want, 0, groups);
        for (int shift = 0; shift <= 1; shift++) {   /* 0: aligned (Q4_K: streaming stores), 1: not */
            uint8_t *dst = buf + shift;
            memset(dst, 0xA5, bytes);
            pack(n, w, ws, rows, dst, 0, groups / 2);
            pack(n, w, ws, rows, dst, groups / 2, groups);
            CHECK_MSG(!memcmp(dst, want, bytes), "%s n %d rows %d shift %d", seek_type_get(t)->name, (int)n, (int)rows, shift);
        }
        free(w), free(want), free(buf);
    }
}

TEST(kquant_packing_matches_reference) {
#if defined(__x86_64__)
    if (kern_cpu_max_level() < KERN_AVX512) {
        printf("# no AVX-512 here: the packed K-quant forms are not used\n");
        return;
    }
    packing_matches(SEEK_TYPE_Q4_K, kq_packed_bytes, kq_pack_q4k, kq_pack_q4k_ref);
    packing_matches(SEEK_TYPE_Q5_K, kq_packed_bytes_q5k, kq_pack_q5k, kq_pack_q5k_ref);
    packing_matches(SEEK_TYPE_Q6_K, kq_packed_bytes_q6k, kq_pack_q6k, kq_pack_q6k_ref);
#endif
}

int main(void) {
    RUN(table_covers_the_k_types);
    RUN(q8k_activations_match_the_reference_bytes);
    RUN(kernels_match_reference_at_every_level);
    RUN(tiles_do_not_change_results);
    RUN(empty_rows_give_zero);
    RUN(packed_kquants_give_the_plain_bits);
    RUN(amx_kquant_prefill_gives_the_plain_bits);
    RUN(kquant_packing_matches_reference);
    return test_summary();
}
