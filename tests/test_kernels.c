/* test_kernels.c - every kernel of kernels/ at every CPU level this machine runs, against
 * the reference product (weights dequantized, double sums), on random data of awkward
 * sizes; activation conversion identical at every level; tiles and thread counts that do
 * not change a bit.
 *
 * Two references per output element y = sum_k w_k x_k:
 *   loose: ops.c's matmul_ref (the float activations). The kernel may differ by what
 *          converting the activations costs, bounded per type:
 *            F32, F16, BF16 (act F32)  float accumulation only:  1e-5 * S
 *            BF16 (act BF16)           |dx| <= |x| 2^-8:          2^-8 * S + 1e-5 * S
 *            Q8_0 Q4_0 Q5_0 IQ4_NL     |dx| <= 0.57 amax_b / 127 per block b (half a step
 *              (act Q8_0)
 *            Q4_1 Q5_1 (act Q8_1)      plus the fp16 scale): sum_b 0.0045 amax_b sum_b |w|
 *                                      + 1e-5 * S; Q8_1 adds |m_b| 2^-9 sum_b |x| for s
 *          with S = sum_k |w_k x_k|.
 *   tight: the same product with the activations the kernel actually used (quantized by
 *          the scalar converter, dequantized in double): only float rounding remains
 *          (1e-5 * S, + the Q8_1 s term). A single wrong bit of a weight fails this one. */
#include <stdint.h>
#include <stdlib.h>

#include "kernels/kern_impl.h"
#include "kernels/kernels.h"
#include "ops.h"
#include "test.h"
#include "kern_dec2.h"
#include "threads.h"

static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static double urand(void) {   /* [0, 1) */
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1p-53;
}
/* values in [-1, 1) times a per-32 scale spread over ~3 decades */
static void fill(float *x, int64_t n) {
    float s = 1.0f;
    for (int64_t i = 0; i < n; i++) {
        if (i % 32 == 0) s = (float)exp(urand() * 7.0 - 5.0);
        x[i] = (float)(urand() * 2.0 - 1.0) * s;
    }
}

static const seek_type types[] = {SEEK_TYPE_F32,  SEEK_TYPE_F16,  SEEK_TYPE_BF16, SEEK_TYPE_Q8_0,
                                   SEEK_TYPE_Q4_0, SEEK_TYPE_Q5_0, SEEK_TYPE_Q4_1, SEEK_TYPE_Q5_1,
                                   SEEK_TYPE_IQ4_NL};
enum { N_TYPES = sizeof types / sizeof *types };

static bool is_q81(seek_type t) { return t == SEEK_TYPE_Q4_1 || t == SEEK_TYPE_Q5_1; }

/* A random weight matrix of `type`, rows x C. */
typedef struct {
    seek_mat m;
    uint8_t *data;
    float *deq;   /* [rows][C] dequantized */
    float *mins;  /* [rows][C/32] the m of _1 types, else 0 */
} wmat;

static uint16_t kern_rd16_test(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static int wmat_make(wmat *w, seek_type t, int rows, int64_t C) {
    size_t rb = seek_row_size(t, C);
    float *src = malloc(sizeof(float) * (size_t)C);
    w->data = malloc(rb * (size_t)rows + 1);
    w->deq = malloc(sizeof(float) * (size_t)C * rows);
    w->mins = calloc((size_t)rows * (size_t)(C / 32 + 1), sizeof(float));
    if (!src || !w->data || !w->deq || !w->mins) return -1;
    for (int r = 0; r < rows; r++) {
        fill(src, C);
        if (seek_quantize_row(t, src, w->data + r * rb, C)) return -1;
        if (seek_dequantize_row(t, w->data + r * rb, w->deq + r * C, C)) return -1;
        if (is_q81(t))
            for (int64_t b = 0; b < C / 32; b++)
                w->mins[r * (C / 32 + 1) + b] = seek_fp16_to_fp32((uint16_t)(w->data[r * rb + b * (t == SEEK_TYPE_Q4_1 ? 20 : 24) + 2] |
                                                                              w->data[r * rb + b * (t == SEEK_TYPE_Q4_1 ? 20 : 24) + 3] << 8));
    }
    free(src);
    w->m = (seek_mat){.type = t, .n_in = C, .n_out = rows, .row_bytes = rb, .data = w->data};
    return 0;
}

static void wmat_free(wmat *w) {
    free(w->data), free(w->deq), free(w->mins);
}

/* The activations a kernel of type t sees, as floats: x rounded through the scalar
 * level's converter and back (x itself for act F32). */
static int act_seen(seek_type t, const float *x, float *xs, int64_t C) {
    const kern_entry *e = kern_for_level(t, KERN_SCALAR);
    if (!e) return -1;
    if (e->act_type == SEEK_TYPE_F32) {
        memcpy(xs, x, sizeof(float) * (size_t)C);
        return 0;
    }
    const kern_entry *top = kern_for_level(t, kern_cpu_max_level());
    if (top->act_type == SEEK_TYPE_BF16) {   /* vdpbf16ps: x rounded to bf16 */
        for (int64_t k = 0; k < C; k++) xs[k] = seek_bf16_to_fp32(seek_fp32_to_bf16(x[k]));
        return 0;
    }
    uint8_t *q = malloc(seek_row_size(e->act_type, C));
    if (!q) return -1;
    e->quant(x, q, C);
    int rc = seek_dequantize_row(e->act_type, q, xs, C);
    free(q);
    return rc;
}

/* Run entry e over the whole rows x T product: out[T][rows]. Optionally cut into two
 * row tiles and column tiles of 3, to check the tiling does not change a bit. */
static int run_entry(const kern_entry *e, const wmat *w, const float *x, int T, float *out, bool cut) {
    int64_t C = w->m.n_in;
    int rows = (int)w->m.n_out;
    size_t as = kern_act_row_bytes(e, C);
    uint8_t *act = (uint8_t *)x;
    if (e->act_type != SEEK_TYPE_F32 || e->quant) {
        act = aligned_alloc(64, as * (size_t)T);
        if (!act) return -1;
        for (int t = 0; t < T; t++) e->quant(x + t * C, act + t * as, C);
    } else {
        as = sizeof(float) * (size_t)C;
    }
    if (!cut) {
        e->mm(C, w->m.data, w->m.row_bytes, rows, act, as, T, out, (size_t)rows);
    } else {
        int r1 = rows / 2 + 1 > rows ? rows : rows / 2 + 1;
        for (int c0 = 0; c0 < T; c0 += 3) {
            int nc = T - c0 < 3 ? T - c0 : 3;
            e->mm(C, w->m.data, w->m.row_bytes, r1, act + c0 * as, as, nc, out + c0 * rows, (size_t)rows);
            if (rows > r1)
                e->mm(C, w->m.data + r1 * w->m.row_bytes, w->m.row_bytes, rows - r1, act + c0 * as, as, nc,
                      out + c0 * rows + r1, (size_t)rows);
        }
    }
    if (act != (uint8_t *)x) free(act);
    return 0;
}

static int n_bad_reported;

/* Compare out[T][rows] of type t at level l with both references. Returns 0 if fine. */
static int check_against_refs(seek_type t, kern_level l, const wmat *w, const float *x, int T, const float *out) {
    int64_t C = w->m.n_in;
    int rows = (int)w->m.n_out;
    const kern_entry *e = kern_for_level(t, l);
    bool bf16act = e->act_type == SEEK_TYPE_BF16, q8 = e->act_type == SEEK_TYPE_Q8_0 || e->act_type == SEEK_TYPE_Q8_1;
    float *xs = malloc(sizeof(float) * (size_t)C);
    if (!xs) return -1;
    int bad = 0;
    for (int c = 0; c < T && !bad; c++) {
        const float *xc = x + c * C;
        if (bf16act)
            for (int64_t k = 0; k < C; k++) xs[k] = seek_bf16_to_fp32(seek_fp32_to_bf16(xc[k]));
        else if (act_seen(t, xc, xs, C))
            bad = 1;
        for (int r = 0; r < rows && !bad; r++) {
            const float *wr = w->deq + r * C;
            double loose = 0, tight = 0, S = 0, actb = 0, minb = 0;
            for (int64_t k = 0; k < C; k++) {
                loose += (double)wr[k] * xc[k];
                tight += (double)wr[k] * xs[k];
                S += fabs((double)wr[k] * xc[k]);
            }
            if (q8)
                for (int64_t b = 0; b < C / 32; b++) {
                    double amax = 0, sw = 0, sx = 0;
                    for (int j = 0; j < 32; j++) {
                        amax = fmax(amax, fabs(xc[b * 32 + j]));
                        sw += fabs(wr[b * 32 + j]);
                        sx += fabs(xc[b * 32 + j]);
                    }
                    actb += 0.57 * amax / 127 * sw;
                    minb += fabs(w->mins[r * (C / 32 + 1) + b]) * 0x1p-9 * sx;
                }
            if (bf16act) actb = 0x1p-8 * S;
            double tol_loose = actb + minb + 1e-5 * S + 1e-30, tol_tight = minb + 1e-5 * S + 1e-30;
            double y = out[c * rows + r];
            if (!(fabs(y - loose) <= tol_loose) || !(fabs(y - tight) <= tol_tight)) {
                if (n_bad_reported++ < 5)
                    printf("  %s %s C=%lld row %d col %d: got %.9g, ref %.9g (tol %.3g), quantized-act ref %.9g (tol %.3g)\n",
                           seek_type_get(t)->name, kern_level_name(l), (long long)C, r, c, y, loose, tol_loose,
                           tight, tol_tight);
                bad = 1;
            }
        }
    }
    free(xs);
    return bad;
}

TEST(cpu_level_detected) {
    kern_level l = kern_cpu_max_level();
    CHECK(l >= KERN_SCALAR && l < KERN_LEVELS);
    CHECK(kern_cpu_level() <= l);
    kern_level prev = kern_set_level(KERN_LEVELS);   /* clamped to the hardware's */
    CHECK(kern_cpu_level() == l);
    kern_set_level(KERN_SCALAR);
    CHECK(kern_cpu_level() == KERN_SCALAR);
    kern_set_level(prev);
    /* AMX tiles: never in use without the CPU's AMX, off on request */
    const bool amx_prev = kern_set_amx(true);
    CHECK(!kern_cpu_amx() || (kern_cpu_has_amx() && kern_cpu_level() == KERN_AVX512));
    kern_set_amx(false);
    CHECK(!kern_cpu_amx());
    kern_set_amx(amx_prev);
    printf("  cpu level %s (bf16 dot %s, amx %s, tiles in use %s)\n", kern_level_name(l), kern_cpu_has_bf16() ? "yes" : "no",
           kern_cpu_has_amx() ? "yes" : "no", kern_cpu_amx() ? "yes" : "no");
#if defined(__x86_64__)
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {   /* the flags the kernel reports must agree with what CPUID told us */
        char line[8192];
        bool avx512 = false, vnni = false, avx2 = false;
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "flags", 5)) {
                avx2 = strstr(line, " avx2 ") && strstr(line, " fma ") && strstr(line, " f16c ");
                avx512 = strstr(line, " avx512f ") && strstr(line, " avx512bw ") && strstr(line, " avx512vl ") &&
                         strstr(line, " avx512dq ");
                vnni = strstr(line, " avx512_vnni ") != NULL;
                break;
            }
        fclose(f);
        CHECK(l == (avx2 && avx512 && vnni ? KERN_AVX512 : avx2 ? KERN_AVX2 : KERN_SCALAR));
    }
#endif
}

TEST(every_type_has_a_kernel_at_every_level) {
    for (int i = 0; i < N_TYPES; i++)
        for (int l = 0; l <= (int)kern_cpu_max_level(); l++)
            CHECK_MSG(kern_for_level(types[i], (kern_level)l), "%s at %s", seek_type_get(types[i])->name,
                      kern_level_name((kern_level)l));
    CHECK(kern_for_level(SEEK_TYPE_IQ2_XXS, KERN_SCALAR) == NULL);
}

/* Activation conversion: every level gives the values of the scalar converter, which is
 * ggml's x86 quantize_row_q8_0 / q8_1 (d = amax/127, q = round-half-even(x * 127/amax)). */
static void decode_act(const kern_entry *e, kern_level l, const uint8_t *a, int64_t C, int8_t *q, float *d, float *s) {
    bool regrouped = l == KERN_AVX512;   /* legacy.c's layout at AVX-512 */
    for (int64_t b = 0; b < C / 32; b++) {
        if (!regrouped) {   /* plain block_q8_0 / block_q8_1 */
            int bb = e->act_type == SEEK_TYPE_Q8_1 ? 36 : 34;
            const uint8_t *p = a + b * bb;
            d[b] = seek_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8));
            s[b] = bb == 36 ? seek_fp16_to_fp32((uint16_t)(p[2] | p[3] << 8)) : 0;
            memcpy(q + b * 32, p + bb - 32, 32);
        } else {                   /* AVX-512: regrouped by 4 blocks (legacy.c) */
            const uint8_t *g = a + (b / 4) * 160;
            int k = (int)(b % 4);
            memcpy(q + b * 32, g + 16 * k, 16);
            memcpy(q + b * 32 + 16, g + 64 + 16 * k, 16);
            memcpy(&d[b], g + 128 + 4 * k, 4);
            if (e->act_type == SEEK_TYPE_Q8_1) {
                memcpy(&s[b], g + 144 + 4 * k, 4);
            } else {   /* int32 -K * sum */
                int32_t v;
                memcpy(&v, g + 144 + 4 * k, 4);
                s[b] = (float)v;
            }
        }
    }
}

TEST(activation_quantization_is_ggml_x86_and_equal_at_every_level) {
    /* ties go to even: with amax 127 the scale is 1 and 2.5 -> 2, -3.5 -> -4, 0.5 -> 0 */
    float x[32] = {127.0f, 2.5f, -3.5f, 0.5f, 1.5f};
    for (int j = 5; j < 32; j++) x[j] = (float)(j - 16);
    const kern_entry *e = kern_for_level(SEEK_TYPE_Q8_0, KERN_SCALAR);
    uint8_t blk[34];
    e->quant(x, blk, 32);
    CHECK((int8_t)blk[2] == 127 && (int8_t)blk[3] == 2 && (int8_t)blk[4] == -4 && (int8_t)blk[5] == 0 &&
          (int8_t)blk[6] == 2);
    CHECK(seek_fp16_to_fp32((uint16_t)(blk[0] | blk[1] << 8)) == 1.0f);

    static const int64_t Cs[] = {32, 96, 160, 416, 1536};
    const seek_type wt[] = {SEEK_TYPE_Q8_0, SEEK_TYPE_Q4_0, SEEK_TYPE_Q5_0, SEEK_TYPE_Q4_1, SEEK_TYPE_Q5_1,
                            SEEK_TYPE_IQ4_NL};
    const int K[] = {128, 8, 16, 0, 0, 128};
    for (size_t ci = 0; ci < sizeof Cs / sizeof *Cs; ci++) {
        int64_t C = Cs[ci], nb = C / 32;
        float *xs = malloc(sizeof(float) * (size_t)C);
        int8_t *q0 = malloc((size_t)C), *q1 = malloc((size_t)C);
        float *d0 = malloc(sizeof(float) * (size_t)nb), *d1 = malloc(sizeof(float) * (size_t)nb);
        float *s0 = malloc(sizeof(float) * (size_t)nb), *s1 = malloc(sizeof(float) * (size_t)nb);
        uint8_t *a0 = aligned_alloc(64, 4096 + (size_t)C * 4), *a1 = aligned_alloc(64, 4096 + (size_t)C * 4);
        CHECK(xs && q0 && q1 && d0 && d1 && s0 && s1 && a0 && a1);
        fill(xs, C);
        xs[5] = 0.0f;
        for (size_t ti = 0; ti < sizeof wt / sizeof *wt; ti++) {
            const kern_entry *es = kern_for_level(wt[ti], KERN_SCALAR);
            es->quant(xs, a0, C);
            decode_act(es, KERN_SCALAR, a0, C, q0, d0, s0);
            /* against seek's reference quantizer (round half away): same d, quants within 1 */
            uint8_t *r = malloc(seek_row_size(es->act_type, C));
            CHECK(r && !seek_quantize_row(es->act_type, xs, r, C));
            int8_t *qr = malloc((size_t)C);
            float *dr = malloc(sizeof(float) * (size_t)nb), *sr = malloc(sizeof(float) * (size_t)nb);
            decode_act(es, KERN_SCALAR, r, C, qr, dr, sr);
            for (int64_t b = 0; b < nb; b++) CHECK(dr[b] == d0[b]);
            for (int64_t k = 0; k < C; k++) CHECK(abs(qr[k] - q0[k]) <= 1);
            free(r), free(qr), free(dr), free(sr);
            for (int l = 1; l <= (int)kern_cpu_max_level(); l++) {
                const kern_entry *el = kern_for_level(wt[ti], (kern_level)l);
                memset(a1, 0xA5, 4096 + (size_t)C * 4);
                el->quant(xs, a1, C);
                decode_act(el, (kern_level)l, a1, C, q1, d1, s1);
                CHECK_MSG(!memcmp(q0, q1, (size_t)C), "%s act quants differ at %s", seek_type_get(wt[ti])->name,
                          kern_level_name((kern_level)l));
                for (int64_t b = 0; b < nb; b++) {
                    CHECK(d0[b] == d1[b]);
                    if (es->act_type == SEEK_TYPE_Q8_1) {
                        CHECK(s0[b] == s1[b]);
                    } else if (l == KERN_AVX512) {
                        int sum = 0;
                        for (int j = 0; j < 32; j++) sum += q0[b * 32 + j];
                        CHECK_MSG(s1[b] == (float)(-K[ti] * sum), "block %lld: %g vs %d", (long long)b, s1[b], -K[ti] * sum);
                    }
                }
            }
        }
        free(xs), free(q0), free(q1), free(d0), free(d1), free(s0), free(s1), free(a0), free(a1);
    }
}

/* Every type x level x shape against the references; tiles cut differently give the
 * same bits; levels agree within tolerance (each is checked against the same refs). */
TEST(kernels_match_reference_at_every_level) {
    static const int64_t Cs_q[] = {32, 64, 96, 160, 416, 1536};
    static const int64_t Cs_f[] = {1, 7, 33, 100, 416, 2100};   /* 2100: two KC chunks and a tail */
    static const int rows_s[] = {1, 5, 13, 67};
    static const int Ts[] = {1, 7, 33};
    for (int ti = 0; ti < N_TYPES; ti++) {
        seek_type t = types[ti];
        bool fl = t == SEEK_TYPE_F32 || t == SEEK_TYPE_F16 || t == SEEK_TYPE_BF16;
        const int64_t *Cs = fl ? Cs_f : Cs_q;
        const int nC = fl ? (int)(sizeof Cs_f / sizeof Cs_f[0]) : (int)(sizeof Cs_q / sizeof Cs_q[0]);
        for (int ci = 0; ci < nC; ci++)
            for (int ri = 0; ri < 4; ri++) {
                wmat w;
                CHECK(!wmat_make(&w, t, rows_s[ri], Cs[ci]));
                for (int k = 0; k < 3; k++) {
                    int T = Ts[k];
                    int64_t C = Cs[ci];
                    float *x = malloc(sizeof(float) * (size_t)(C * T));
                    float *o1 = malloc(sizeof(float) * (size_t)(T * rows_s[ri]));
                    float *o2 = malloc(sizeof(float) * (size_t)(T * rows_s[ri]));
                    CHECK(x && o1 && o2);
                    fill(x, C * T);
                    for (int l = 0; l <= (int)kern_cpu_max_level(); l++) {
                        const kern_entry *e = kern_for_level(t, (kern_level)l);
                        CHECK(!run_entry(e, &w, x, T, o1, false));
                        CHECK(!run_entry(e, &w, x, T, o2, true));
                        CHECK_MSG(!memcmp(o1, o2, sizeof(float) * (size_t)(T * rows_s[ri])),
                                  "%s %s: result depends on the tiling", seek_type_get(t)->name,
                                  kern_level_name((kern_level)l));
                        CHECK_MSG(!check_against_refs(t, (kern_level)l, &w, x, T, o1), "%s at %s, C=%lld rows=%d T=%d",
                                  seek_type_get(t)->name, kern_level_name((kern_level)l), (long long)C, rows_s[ri], T);
                    }
                    free(x), free(o1), free(o2);
                }
                wmat_free(&w);
            }
    }
}

/* matmul(): the fast path at each level against matmul_ref, bias included, the same bits
 * for 1, 2 and 3 threads (big enough that the pool is used), and the same bits for a token
 * alone as inside a batch. */
TEST(matmul_fast_path_thread_count_invariant) {
    const int rows = 203, T_s[] = {1, 7, 70};
    const int64_t C = 416;
    kern_level saved = kern_cpu_level();
    for (int ti = 0; ti < N_TYPES; ti++) {
        wmat w;
        CHECK(!wmat_make(&w, types[ti], rows, C));
        float *bias = malloc(sizeof(float) * rows);
        fill(bias, rows);
        for (int k = 0; k < 3; k++) {
            int T = T_s[k];
            float *x = malloc(sizeof(float) * (size_t)(C * T));
            float *ref = malloc(sizeof(float) * (size_t)(T * rows)), *o[3];
            fill(x, C * T);
            seek_set_threads(1);
            
            float *row = malloc(sizeof(float) * (size_t)C);
            CHECK(!matmul_ref(ref, x, w.m, bias, T, row));
            for (int l = 0; l <= (int)kern_cpu_max_level(); l++) {
                kern_set_level((kern_level)l);
                for (int nt = 1; nt <= 3; nt++) {
                    seek_set_threads(nt);
                    o[nt - 1] = malloc(sizeof(float) * (size_t)(T * rows));
                    CHECK(!matmul(o[nt - 1], x, w.m, bias, T, row));
                }
                for (int nt = 2; nt <= 3; nt++)
                    CHECK_MSG(!memcmp(o[0], o[nt - 1], sizeof(float) * (size_t)(T * rows)),
                              "%s %s T=%d: %d threads differ from 1", seek_type_get(types[ti])->name,
                              kern_level_name((kern_level)l), T, nt);
                /* one token at a time (decode) gives the bits of the batch (prefill) */
                for (int t = 0; t < T; t += 5) {
                    CHECK(!matmul(o[1], x + t * C, w.m, bias, 1, row));
                    CHECK_MSG(!memcmp(o[1], o[0] + t * rows, sizeof(float) * rows), "%s %s: token %d alone differs",
                              seek_type_get(types[ti])->name, kern_level_name((kern_level)l), t);
                }
                /* bias added after: subtract it and compare with the kernel check's refs */
                for (int i = 0; i < T * rows; i++) o[0][i] -= bias[i % rows], ref[i] -= bias[i % rows];
                CHECK(!check_against_refs(types[ti], (kern_level)l, &w, x, T, o[0]));
                for (int nt = 0; nt < 3; nt++) free(o[nt]);
                for (int i = 0; i < T * rows; i++) ref[i] += bias[i % rows];
            }
            free(x), free(ref), free(row);
        }
        free(bias);
        wmat_free(&w);
    }
    kern_set_level(saved);
    seek_set_threads(0);
}

/* Float weights decode (one column) by their own loop (rows four at a time, the next four
 * asked for): per (row, column) the walk's arithmetic, so a token alone gives the bits it
 * gets inside a batch, over rows that are not a multiple of 4 and k past one KC chunk. */
TEST(float_decode_gives_the_batch_bits) {
    const seek_type ft[3] = {SEEK_TYPE_F32, SEEK_TYPE_F16, SEEK_TYPE_BF16};
    const int64_t C = 2100;
    const int rows_s[3] = {1, 6, 13}, T = 3;
    for (int ti = 0; ti < 3; ti++)
        for (int ri = 0; ri < 3; ri++) {
            const int rows = rows_s[ri];
            wmat w;
            CHECK(!wmat_make(&w, ft[ti], rows, C));
            float *x = malloc(sizeof(float) * (size_t)(C * T)), *ob = malloc(sizeof(float) * (size_t)(T * rows));
            float *o1 = malloc(sizeof(float) * (size_t)rows);
            CHECK(x && ob && o1);
            fill(x, C * T);
            for (int l = 0; l <= (int)kern_cpu_max_level(); l++) {
                const kern_entry *e = kern_for_level(ft[ti], (kern_level)l);
                CHECK(!run_entry(e, &w, x, T, ob, false));
                for (int t = 0; t < T; t++) {
                    CHECK(!run_entry(e, &w, x + t * C, 1, o1, false));
                    CHECK_MSG(!memcmp(o1, ob + t * rows, sizeof(float) * (size_t)rows), "%s %s rows=%d: token %d alone differs",
                              seek_type_get(ft[ti])->name, kern_level_name((kern_level)l), rows, t);
                }
            }
            free(x), free(ob), free(o1);
            wmat_free(&w);
        }
}

/* The packed product cut into every tiling of rtiles x ctiles (tiles start at multiples of
 * 16 rows, as matmul's do; a 1-column tile is decode) into tiled, against whole (os floats
 * per column): 0 when every tiling gives whole's bits, else 1 + the index of the first that
 * does not (rt * nct + ct). */
static int packed_tilings_differ(const kern_packed *pk, int64_t n, const uint8_t *packed, int rows, const uint8_t *act,
                                 size_t as, int cols, const float *whole, size_t os, float *tiled, const int *rtiles,
                                 int nrt, const int *ctiles, int nct) {
    const size_t gb = pk->bytes(n, KERN_PACK_ROWS);
    for (int rt = 0; rt < nrt; rt++)
        for (int ct = 0; ct < nct; ct++) {
            for (size_t i = 0; i < os * cols; i++) tiled[i] = NAN;
            for (int r0 = 0; r0 < rows; r0 += rtiles[rt])
                for (int c0 = 0; c0 < cols; c0 += ctiles[ct]) {
                    int nr = rows - r0 < rtiles[rt] ? rows - r0 : rtiles[rt];
                    int nc = cols - c0 < ctiles[ct] ? cols - c0 : ctiles[ct];
                    pk->mm(n, packed + (size_t)(r0 / KERN_PACK_ROWS) * gb, gb, nr, act + (size_t)c0 * as, as, nc,
                           tiled + (size_t)c0 * os + r0, os);
                }
            if (floats_differ(whole, tiled, os * cols)) return 1 + rt * nct + ct;
        }
    return 0;
}

/* The arithmetic every packed legacy kernel and the plain AVX-512 one share, in plain C
 * (the test's own reading of the block layouts, legacy.c): per (row, column) and block in
 * order, the exact integer sumi = sum w x a (w with the _0 types' offset removed), then
 * acc = fmaf(d_w x d_a, sumi, acc) and for the _1 types acc = fmaf(m_w, s_a, acc).
 * a: scalar-level activations (Q8_0 / Q8_1 blocks, the AVX2 level's too). */
static float h2f(const uint8_t *p) { return seek_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8)); }
static void legacy_model(seek_type t, int64_t n, const uint8_t *w, size_t ws, int rows, const uint8_t *a, size_t as,
                         int cols, float *out, size_t os) {
    const size_t bb = (size_t)seek_type_get(t)->type_size;
    const int q81 = is_q81(t), ab = q81 ? 36 : 34;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            float acc = 0.0f;
            for (int64_t i = 0; i < n / 32; i++) {
                const uint8_t *b = w + (size_t)r * ws + (size_t)i * bb, *x = a + (size_t)c * as + (size_t)i * ab;
                const uint8_t *qs = b + (t == SEEK_TYPE_Q5_0 ? 6 : t == SEEK_TYPE_Q4_1 ? 4 : t == SEEK_TYPE_Q5_1 ? 8 : 2);
                const uint32_t qh = t == SEEK_TYPE_Q5_0 ? (uint32_t)(b[2] | b[3] << 8 | b[4] << 16) | (uint32_t)b[5] << 24
                                  : t == SEEK_TYPE_Q5_1 ? (uint32_t)(b[4] | b[5] << 8 | b[6] << 16) | (uint32_t)b[7] << 24 : 0;
                int32_t sumi = 0;
                for (int j = 0; j < 32; j++) {
                    const int nib = j < 16 ? qs[j] & 15 : qs[j - 16] >> 4, hb = (int)(qh >> j & 1) << 4;
                    const int v = t == SEEK_TYPE_Q8_0 ? (int8_t)b[2 + j] : t == SEEK_TYPE_Q4_0 ? nib - 8
                                : t == SEEK_TYPE_Q5_0 ? (nib | hb) - 16 : t == SEEK_TYPE_IQ4_NL ? seek_iq4_nl_values[nib]
                                : nib | hb;   /* Q4_1, Q5_1 (hb 0 for Q4_1) */
                    sumi += v * (int8_t)x[(q81 ? 4 : 2) + j];
                }
                acc = fmaf(h2f(b) * h2f(x), (float)sumi, acc);
                if (q81) acc = fmaf(h2f(b + 2), h2f(x + 2), acc);
            }
            out[(size_t)c * os + r] = acc;
        }
}

/* One legacy type's packed product (pk: its packed form at `level`, whose activations it
 * reads) against legacy_model on n values x rows x cols, cut into every tiling of rtiles x
 * ctiles, and the level's plain kernel on the whole; bit for bit. Odd rows are random bytes (every
 * nibble and fifth-bit pattern) with sane scales; padded row strides. */
static void packed_legacy_case(seek_type t, kern_level level, const kern_packed *pk, int64_t n, int rows, int cols,
                               const int *rtiles, int nrt, const int *ctiles, int nct) {
    const kern_entry *e = kern_for_level(t, level), *es = kern_for_level(t, KERN_SCALAR);
    const size_t bb = (size_t)seek_type_get(t)->type_size;
    const size_t rb = seek_row_size(t, n), ws = rb + bb / 2 + 1, as = kern_act_row_bytes(e, n), os = (size_t)rows + 3;
    const size_t ass = kern_act_row_bytes(es, n);
    uint8_t *w = malloc(ws * (size_t)rows), *act = malloc(as * (size_t)cols), *acts = malloc(ass * (size_t)cols);
    float *x = malloc(sizeof(float) * (size_t)n), *whole = malloc(sizeof(float) * os * cols),
          *tiled = malloc(sizeof(float) * os * cols);
    CHECK(w && act && acts && x && whole && tiled);
    for (int r = 0; r < rows; r++) {
        uint8_t *row = w + (size_t)r * ws;
        fill(x, n);
        CHECK(!seek_quantize_row(t, x, row, n));
        if (r % 2)
            for (size_t b = 0; b < rb / bb; b++) {   /* random quants, keep d (and m) */
                size_t keep = is_q81(t) ? 4 : 2;
                for (size_t i = keep; i < bb; i++) row[b * bb + i] = (uint8_t)(urand() * 256);
            }
        if (r == 2)   /* the largest products (int16 sums near their limit): every quant at its extreme */
            for (size_t b = 0; b < rb / bb; b++)
                memset(row + b * bb + (is_q81(t) ? 4 : 2),
                       t == SEEK_TYPE_Q8_0 ? 0x80 : t == SEEK_TYPE_IQ4_NL ? 0x00 : 0xFF, bb - (is_q81(t) ? 4 : 2));
        memset(row + rb, 0xAB, ws - rb);   /* padding the kernels must not use */
    }
    for (int c = 0; c < cols; c++) {
        fill(x, n);
        if (c == 0)   /* every activation 127 */
            for (int64_t i = 0; i < n; i++) x[i] = 1.0f;
        e->quant(x, act + (size_t)c * as, n);
        es->quant(x, acts + (size_t)c * ass, n);
    }
    const int64_t groups = (rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
    const size_t gb = pk->bytes(n, KERN_PACK_ROWS);
    CHECK(gb == KERN_PACK_ROWS * rb && pk->bytes(n, rows) == (size_t)groups * gb);
    uint8_t *packed = malloc(pk->bytes(n, rows));
    CHECK(packed != NULL);
    memset(packed, 0x5A, pk->bytes(n, rows));   /* pack() writes every byte */
    pk->pack(n, w, ws, rows, packed, 0, groups / 2);   /* in two ranges, as the pool does */
    pk->pack(n, w, ws, rows, packed, groups / 2, groups);
    for (size_t i = 0; i < os * cols; i++) whole[i] = tiled[i] = NAN;
    legacy_model(t, n, w, ws, rows, acts, ass, cols, whole, os);
    e->mm(n, w, ws, rows, act, as, cols, tiled, os);   /* the plain kernel of the level computes the same */
    CHECK_MSG(!memcmp(whole, tiled, sizeof(float) * os * cols), "%s n %d rows %d cols %d: plain %s kernel",
              seek_type_get(t)->name, (int)n, rows, cols, kern_level_name(level));
    const int d = packed_tilings_differ(pk, n, packed, rows, act, as, cols, whole, os, tiled, rtiles, nrt, ctiles, nct);
    CHECK_MSG(!d, "%s %s n %d rows %d cols %d, tile %dx%d", seek_type_get(t)->name, kern_level_name(level), (int)n, rows,
              cols, d ? rtiles[(d - 1) / nct] : 0, d ? ctiles[(d - 1) % nct] : 0);
    const int d2 = dec2_differs(pk, n, packed, rows, act, as, cols, whole, os);
    CHECK_MSG(!d2, "%s %s n %d rows %d: two-tile decode, pair %d", seek_type_get(t)->name, kern_level_name(level), (int)n,
              rows, d2);
    free(w), free(act), free(acts), free(x), free(whole), free(tiled), free(packed);
}

static const seek_type legacy_types[] = {SEEK_TYPE_Q8_0, SEEK_TYPE_Q4_0, SEEK_TYPE_Q5_0,
                                         SEEK_TYPE_Q4_1, SEEK_TYPE_Q5_1, SEEK_TYPE_IQ4_NL};
enum { N_LEGACY = sizeof legacy_types / sizeof *legacy_types };

/* Weights packed at load (kernels/legacy_packed.c, legacy_packed_avx2.c): each legacy type
 * has a packed form at AVX2 and AVX-512, and at each level every tile of 16-row groups x any
 * columns gives legacy_model's bits, as does the level's plain kernel, including the
 * zero-padded last group and a short last step of blocks (where the CPU has AMX, the
 * 16-column chunks run on its tiles). */
TEST(packed_legacy_gives_the_plain_bits) {
    for (int l = 0; l < KERN_LEVELS; l++) {
        for (size_t ti = 0; ti < N_LEGACY; ti++)
            CHECK(!kern_packed_for_level(legacy_types[ti], (kern_level)l) == (l == KERN_SCALAR));
        for (size_t ti = 0; ti < N_LEGACY; ti++)   /* the two-tile decode: the AVX-512 forms */
            CHECK(l == KERN_SCALAR || !kern_packed_for_level(legacy_types[ti], (kern_level)l)->dec2 == (l != KERN_AVX512));
        CHECK(!kern_packed_for_level(SEEK_TYPE_F32, (kern_level)l) == (l != KERN_AVX512));
        CHECK(!kern_packed_for_level(SEEK_TYPE_F16, (kern_level)l) == (l != KERN_AVX512));
    }
    /* n, rows, columns: n = 32, 64k + 32 (a short last step), V2-Lite's 1408 */
    static const int shapes[][3] = {{32, 16, 1}, {1408, 37, 13}, {1536, 16, 33}, {96, 48, 2}, {4128, 35, 8}, {160, 33, 64},
                                    {224, 83, 2}};   /* the last: two-tile decode on 64-row tiles */
    static const int rtiles[] = {16, 32, 48}, ctiles[] = {1, 2, 3, 4, 5, 7, 12, 13, 64};
    /* AVX2 without and (where the CPU has it) with AVX-VNNI, at the AVX2 level as a model runs it */
    const kern_level lprev = kern_set_level(KERN_AVX2);
    const bool vprev = kern_set_avxvnni(false);
    bool vnni_as_set = true;   /* checked after the settings are restored (a CHECK returns) */
    for (int l = KERN_AVX2; l <= (int)kern_cpu_max_level(); l++)
        for (int vn = 0; vn <= (l == KERN_AVX2 && kern_cpu_has_avxvnni()); vn++) {
            kern_set_level((kern_level)l);
            kern_set_avxvnni(vn);
            vnni_as_set = vnni_as_set && kern_cpu_avxvnni() == (vn == 1);
            if (vn) printf("  AVX-VNNI: run as well\n");
            for (size_t ti = 0; ti < N_LEGACY; ti++)
                for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
                    packed_legacy_case(legacy_types[ti], (kern_level)l, kern_packed_for_level(legacy_types[ti], (kern_level)l),
                                       shapes[si][0], shapes[si][1], shapes[si][2], rtiles, 3, ctiles, 9);
            /* AVX2 over more than one range of activation sums (legacy_packed_avx2.c: 512 blocks) */
            static const int rt1[] = {16}, ct1[] = {1, 3};
            if (l == KERN_AVX2)
                for (size_t ti = 0; ti < N_LEGACY; ti++)
                    packed_legacy_case(legacy_types[ti], KERN_AVX2, kern_packed_for_level(legacy_types[ti], KERN_AVX2),
                                       16384 + 1056, 17, 3, rt1, 1, ct1, 2);
        }
    kern_set_level(lprev);
    kern_set_avxvnni(vprev);
    CHECK(vnni_as_set);
    CHECK(!kern_cpu_avxvnni() || kern_cpu_level() == KERN_AVX2);
}

/* The AMX tile prefill (kernels/legacy_amx.c) gives the plain AVX-512 kernel's bits: run
 * with the tile instructions' C twins (kernels/amx.h) on any AVX-512 CPU, and where the CPU
 * has AMX also on its tiles. Shapes: one 16-column chunk, columns past the tile kernel's
 * 256-column pass, 16 + 1 (the rest on AVX-512), blocks past its 16-block unpacking, a
 * short last step, padded groups. */
TEST(amx_prefill_gives_the_plain_bits) {
    if (kern_cpu_max_level() < KERN_AVX512) {
        CHECK(!kern_packed_amx_emulated(SEEK_TYPE_Q8_0));
        printf("# no AVX-512 here: AMX tile kernels not run\n");
        return;
    }
    CHECK(kern_packed_amx_emulated(SEEK_TYPE_Q4_K) && !kern_packed_amx_emulated(SEEK_TYPE_F16));
    const bool hw = kern_cpu_amx();
    printf("  AMX tiles on this CPU: %s\n", hw ? "yes, run as well" : "no, emulated only");
    static const int shapes[][3] = {{32, 16, 16}, {96, 48, 272}, {1408, 20, 33}, {4128, 17, 16}, {160, 33, 48}};
    static const int rtiles[] = {16, 48}, ctiles[] = {16, 17, 64, 256};
    for (int pass = 0; pass < 1 + hw; pass++) {
        printf("  %s\n", pass ? "on the tile instructions" : "on their C twins");
        for (size_t ti = 0; ti < N_LEGACY; ti++) {
            const seek_type t = legacy_types[ti];
            const kern_packed *pk = pass ? kern_packed_for_level(t, KERN_AVX512) : kern_packed_amx_emulated(t);
            CHECK(pk != NULL);
            const long chunks = kern_amx_chunks();   /* the tiles must have run, not only agreed */
            for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
                packed_legacy_case(t, KERN_AVX512, pk, shapes[si][0], shapes[si][1], shapes[si][2], rtiles, 2, ctiles, 4);
            CHECK_MSG(kern_amx_chunks() > chunks, "%s: no tile chunk ran", seek_type_get(t)->name);
        }
    }
    /* tiles off (SEEK_CPU=avx512 on an AMX CPU): the same packed form runs none */
    const bool prev = kern_set_amx(false);
    const long chunks = kern_amx_chunks();
    packed_legacy_case(SEEK_TYPE_Q8_0, KERN_AVX512, kern_packed_for_level(SEEK_TYPE_Q8_0, KERN_AVX512), 96, 48, 272, rtiles, 2, ctiles, 4);
    const long ran = kern_amx_chunks() - chunks;
    kern_set_amx(prev);   /* before the CHECK, which returns */
    CHECK(ran == 0);
}

typedef void (*pack_ref_fn)(seek_type, int64_t, const uint8_t *, size_t, int64_t, uint8_t *, int64_t, int64_t);

/* pack() of t at AVX-512 against ref on random bytes (any scales and quants), per shape
 * {n, rows}: padded row strides on every other shape, groups packed in two ranges as the
 * pool does; byte for byte */
static void pack_matches_ref(seek_type t, const int (*shapes)[2], size_t ns, pack_ref_fn ref) {
    const kern_packed *pk = kern_packed_for_level(t, KERN_AVX512);
    for (size_t si = 0; pk && si < ns; si++) {
        const int64_t n = shapes[si][0], rows = shapes[si][1], groups = (rows + 15) / 16;
        const size_t rb = seek_row_size(t, n) + 6 * (si & 1), bytes = pk->bytes(n, rows);
        uint8_t *w = malloc(rb * (size_t)rows), *a = malloc(bytes), *b = malloc(bytes);
        CHECK(w && a && b);
        for (size_t i = 0; i < rb * (size_t)rows; i++) w[i] = (uint8_t)(urand() * 256);
        memset(a, 0x5A, bytes), memset(b, 0xA5, bytes);
        pk->pack(n, w, rb, rows, a, 0, groups / 2);
        pk->pack(n, w, rb, rows, a, groups / 2, groups);
        ref(t, n, w, rb, rows, b, 0, groups);
        CHECK_MSG(!memcmp(a, b, bytes), "%s n %d rows %d", seek_type_get(t)->name, (int)n, (int)rows);
        free(w), free(a), free(b);
    }
}

/* The legacy types' pack() (whole steps of whole groups by transposes) writes the bytes of
 * the few-bytes-at-a-time loop, kern_lgp_pack_ref, for every type: n with and without a
 * short last step, whole and padded last groups. */
TEST(packed_legacy_layout_matches_reference) {
    if (kern_cpu_max_level() < KERN_AVX512) {
        printf("# no AVX-512 here: packed legacy types not run\n");
        return;
    }
    const seek_type lt[] = {SEEK_TYPE_Q8_0, SEEK_TYPE_Q4_0, SEEK_TYPE_Q5_0, SEEK_TYPE_Q4_1, SEEK_TYPE_Q5_1, SEEK_TYPE_IQ4_NL};
    static const int shapes[][2] = {{128, 16}, {1408, 37}, {4128, 32}, {96, 48}, {256, 5}};
    for (size_t ti = 0; ti < sizeof lt / sizeof *lt; ti++) {
        CHECK(kern_packed_for_level(lt[ti], KERN_AVX512) != NULL);
        pack_matches_ref(lt[ti], shapes, sizeof shapes / sizeof *shapes, kern_lgp_pack_ref);
    }
}

/* F16, BF16 and F32's pack() (whole groups' 64-byte chunks by transposes) writes the bytes
 * of the value-by-value loop, kern_fp_pack_ref: n below one chunk, odd, with a tail; whole
 * and padded groups. BF16 only where the CPU has AVX512_BF16 (no packed form otherwise). */
TEST(packed_float_layout_matches_reference) {
    if (kern_cpu_max_level() < KERN_AVX512) {
        printf("# no AVX-512 here: packed float types not run\n");
        return;
    }
    const seek_type ft[] = {SEEK_TYPE_F16, SEEK_TYPE_BF16, SEEK_TYPE_F32};
    static const int shapes[][2] = {{7, 16}, {64, 16}, {1101, 37}, {1536, 32}, {40, 5}};
    for (size_t ti = 0; ti < sizeof ft / sizeof *ft; ti++) pack_matches_ref(ft[ti], shapes, sizeof shapes / sizeof *shapes, kern_fp_pack_ref);
}

/* One vdpbf16ps in lane 0: s + w0 x0 + w1 x1 as the instruction rounds it (the pairs are
 * two BF16 values, the first in the low half) */
#if defined(__x86_64__)
#include <immintrin.h>
__attribute__((target("avx512f,avx512bf16"))) static float dpbf16_lane(float s, uint32_t wpair, uint32_t xpair) {
    __m512 acc = _mm512_maskz_mov_ps(1, _mm512_castps128_ps512(_mm_set_ss(s)));
    __m512i w = _mm512_maskz_set1_epi32(1, (int)wpair), x = _mm512_maskz_set1_epi32(1, (int)xpair);
    return _mm512_cvtss_f32(_mm512_dpbf16_ps(acc, (__m512bh)w, (__m512bh)x));
}
#else
static float dpbf16_lane(float s, uint32_t wpair, uint32_t xpair) { return (void)s, (void)wpair, (void)xpair, NAN; }   /* never run */
#endif

/* Packed F16, F32 and BF16 (kernels/float_packed.c) sum each (row, column) in k order, one fma
 * (BF16: one vdpbf16ps per pair of k, activations rounded to BF16) at a time, per chunk of
 * KERN_FLOAT_CHUNK values, then add the chunks in order: checked bit for bit against that
 * order written out here (scalar fmaf, correctly rounded as each lane of vfmadd is; BF16:
 * the instruction itself, one lane, pair by pair), for every tiling (a column alone =
 * decode), rows padded to 16, n past one chunk, odd and not a multiple of it; and against
 * the double product of the values the kernel saw within the bound of such a sum:
 * (terms per chunk + chunks) x 2^-24 x sum |w x|. */
TEST(packed_float_sums_in_k_order) {
    for (int l = 0; l < KERN_LEVELS; l++)
        CHECK(!kern_packed_for_level(SEEK_TYPE_BF16, (kern_level)l) == (l != KERN_AVX512 || !kern_cpu_has_bf16()));
    if (kern_cpu_max_level() < KERN_AVX512) {
        printf("# no AVX-512 here: packed F16 / BF16 / F32 not run\n");
        return;
    }
    static const int shapes[][3] = {{7, 3, 2}, {512, 16, 1}, {1101, 37, 13}, {1536, 50, 33}, {96, 64, 9}};
    static const int rtiles[] = {16, 32, 48, 64}, ctiles[] = {1, 2, 3, 7, 8, 9, 13};
    const int KC = KERN_FLOAT_CHUNK;
    for (int ti = 0; ti < 3; ti++) {
        const int bf = ti == 1, f32 = ti == 2;
        const seek_type t = f32 ? SEEK_TYPE_F32 : bf ? SEEK_TYPE_BF16 : SEEK_TYPE_F16;
        const kern_packed *pk = kern_packed_for_level(t, KERN_AVX512);
        const kern_entry *e = kern_for_level(t, KERN_AVX512);
        if (bf && !kern_cpu_has_bf16()) {
            printf("# no AVX512_BF16 here: packed BF16 not run\n");
            continue;
        }
        CHECK(pk && e && (e->act_type == (bf ? SEEK_TYPE_BF16 : SEEK_TYPE_F32)));
        for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++) {
            const int64_t n = shapes[si][0];
            const int rows = shapes[si][1], cols = shapes[si][2];
            const size_t es = f32 ? 4 : 2, rb = (size_t)n * es, os = (size_t)rows + 3;
            const size_t as = bf ? kern_act_row_bytes(e, n) : sizeof(float) * (size_t)n;
            uint16_t *w = malloc(rb * (size_t)rows);   /* F32: the floats' bytes */
            float *x = malloc(sizeof(float) * (size_t)(n * cols)), *wf = malloc(sizeof(float) * (size_t)(n * rows));
            float *xs = malloc(sizeof(float) * (size_t)(n * cols));
            uint8_t *act = aligned_alloc(64, (as * (size_t)cols + 63) & ~(size_t)63);   /* a multiple of the alignment */
            float *whole = malloc(sizeof(float) * os * cols), *tiled = malloc(sizeof(float) * os * cols);
            float *mine = malloc(sizeof(float) * os * cols);
            CHECK(w && x && wf && xs && act && whole && tiled && mine);
            fill(wf, n * rows);
            if (f32) memcpy(w, wf, rb * (size_t)rows);
            else
                for (int64_t i = 0; i < n * rows; i++)
                    wf[i] = bf ? seek_bf16_to_fp32(w[i] = seek_fp32_to_bf16(wf[i])) : seek_fp16_to_fp32(w[i] = seek_fp32_to_fp16(wf[i]));
            fill(x, n * cols);
            memset(act, 0xFF, as * (size_t)cols);   /* past each row's n values: NaN bytes the kernel must not use */
            for (int c = 0; c < cols; c++) {
                if (bf) e->quant(x + (size_t)c * n, act + (size_t)c * as, n);
                else memcpy(act + (size_t)c * as, x + (size_t)c * n, sizeof(float) * (size_t)n);
                for (int64_t k = 0; k < n; k++)   /* what the kernel sees */
                    xs[(size_t)c * n + k] = bf ? seek_bf16_to_fp32(kern_rd16_test(act + (size_t)c * as + 2 * k)) : x[(size_t)c * n + k];
            }
            const int64_t groups = (rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
            const size_t gb = pk->bytes(n, KERN_PACK_ROWS);
            CHECK(gb == KERN_PACK_ROWS * (rb + (bf ? (size_t)(n & 1) * 2 : 0)) && pk->bytes(n, rows) == (size_t)groups * gb);
            uint8_t *packed = malloc(pk->bytes(n, rows));
            CHECK(packed != NULL);
            memset(packed, 0x5A, pk->bytes(n, rows));   /* pack() writes every byte */
            pk->pack(n, (const uint8_t *)w, rb, rows, packed, 0, groups / 2);
            pk->pack(n, (const uint8_t *)w, rb, rows, packed, groups / 2, groups);
            for (size_t i = 0; i < os * cols; i++) whole[i] = mine[i] = NAN;
            pk->mm(n, packed, gb, rows, act, as, cols, whole, os);
            const int chunks = (int)((n + KC - 1) / KC);
            const double bound = ((n < KC ? n : KC) + chunks) * 0x1p-24 * 1.01;
            int bad = 0;
            for (int c = 0; c < cols; c++)
                for (int r = 0; r < rows; r++) {
                    const float *wr = wf + (size_t)r * n, *xc = xs + (size_t)c * n;
                    const uint16_t *wb = w + (size_t)r * n;
                    const uint8_t *xb = act + (size_t)c * as;
                    float o = 0;
                    double ref = 0, S = 0;
                    for (int64_t k0 = 0; k0 < n; k0 += KC) {
                        float sum = 0;
                        const int64_t k1 = n - k0 < KC ? n : k0 + KC;
                        if (!bf)
                            for (int64_t k = k0; k < k1; k++) sum = fmaf(wr[k], xc[k], sum);
                        else
                            for (int64_t k = k0; k < k1; k += 2) {
                                const bool two = k + 1 < k1;
                                const uint32_t wp = wb[k] | (two ? (uint32_t)wb[k + 1] << 16 : 0);
                                const uint32_t xp = kern_rd16_test(xb + 2 * k) | (two ? (uint32_t)kern_rd16_test(xb + 2 * k + 2) << 16 : 0);
                                sum = dpbf16_lane(sum, wp, xp);
                            }
                        o = k0 ? o + sum : sum;
                    }
                    for (int64_t k = 0; k < n; k++) ref += (double)wr[k] * xc[k], S += fabs((double)wr[k] * xc[k]);
                    mine[(size_t)c * os + r] = o;
                    bad += !(fabs(whole[(size_t)c * os + r] - ref) <= bound * S + 1e-30);
                }
            const char *tn = seek_type_get(t)->name;
            CHECK_MSG(!bad, "packed %s n %d rows %d: %d sums past the bound", tn, (int)n, rows, bad);
            CHECK_MSG(!memcmp(whole, mine, sizeof(float) * os * cols), "packed %s n %d rows %d cols %d: not the k-order sums",
                      tn, (int)n, rows, cols);
            const int nrt = (int)(sizeof rtiles / sizeof *rtiles), nct = (int)(sizeof ctiles / sizeof *ctiles);
            const int d = packed_tilings_differ(pk, n, packed, rows, act, as, cols, whole, os, tiled, rtiles, nrt, ctiles, nct);
            CHECK_MSG(!d, "packed %s n %d rows %d cols %d, tile %dx%d", tn, (int)n, rows, cols, d ? rtiles[(d - 1) / nct] : 0,
                      d ? ctiles[(d - 1) % nct] : 0);
            free(w), free(x), free(wf), free(xs), free(act), free(whole), free(tiled), free(mine), free(packed);
        }
    }
}

/* A one-token list through the pool (matmul_many, as a decode step calls it), on plain
 * and on packed weights (the model's copy, src/repack.c), at 1, 2 and 3 threads: every row
 * written (the outputs start as NaN), and the bits of the plain weights on one thread
 * (packed F16 sums in its own order: there, those of packed on one thread). Rows up to
 * 2000: many 64-row tiles, so the pool's claims cut the list into runs of every length;
 * the first item's 37 rows (at most one 64-row tile) go in 16-row tiles. */
TEST(decode_lists_same_bits_any_thread_count) {
    static const seek_type tt[] = {SEEK_TYPE_Q8_0, SEEK_TYPE_Q4_0, SEEK_TYPE_F16, SEEK_TYPE_Q4_K, SEEK_TYPE_Q6_K};
    const int64_t C = 512;
    const int rows_s[] = {459, 1000, 2000}, small = 37;
    for (size_t ti = 0; ti < sizeof tt / sizeof *tt; ti++)
        for (int ri = 0; ri < 3; ri++) {
            const int rows = rows_s[ri], n = small + rows;
            wmat a, b;
            CHECK(!wmat_make(&a, tt[ti], small, C) && !wmat_make(&b, tt[ti], rows, C));
            const kern_packed *pk = kern_packed_for(tt[ti]);
            uint8_t *pa = NULL, *pb = NULL;   /* a's and b's packed copies */
            if (pk) {
                pa = aligned_alloc(64, (pk->bytes(C, small) + 63) & ~(size_t)63);
                pb = aligned_alloc(64, (pk->bytes(C, rows) + 63) & ~(size_t)63);
                pk->pack(C, a.data, a.m.row_bytes, small, pa, 0, (small + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS);
                pk->pack(C, b.data, b.m.row_bytes, rows, pb, 0, (rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS);
            }
            float *x = malloc(sizeof(float) * C), *bias = malloc(sizeof(float) * rows), *row = malloc(sizeof(float) * C);
            float *ref = malloc(sizeof(float) * n), *o = malloc(sizeof(float) * n);   /* [a's rows, b's rows] */
            fill(x, C), fill(bias, rows);
            const bool own_order = tt[ti] == SEEK_TYPE_F16;   /* packed F16 sums in its own order */
            for (int pass = 0; pass < (pk ? 2 : 1); pass++) {
                seek_mat wa = a.m, wb = b.m;
                if (pass) wa.packed = pa, wb.packed = pb;
                for (int nt = 1; nt <= 3 + pass; nt++) {   /* packed: 4 = 2 threads, one tile at a time */
                    seek_set_threads(nt == 4 ? 2 : nt);
                    const bool dual_prev = matmul_set_dual(nt != 4);
                    for (int i = 0; i < n; i++) o[i] = NAN;
                    mm_item it[2] = {{o, x, wa, NULL, 1}, {o + small, x, wb, bias, 1}};
                    const int rc = matmul_many(it, 2, row);
                    matmul_set_dual(dual_prev);
                    CHECK(!rc);
                    int unset = 0;
                    for (int i = 0; i < n; i++) unset += isnan(o[i]);
                    CHECK_MSG(!unset, "%s rows %d %s, %d threads: %d rows not written", seek_type_get(tt[ti])->name, rows,
                              pass ? "packed" : "plain", nt, unset);
                    if (nt == 1 && (pass == 0 || own_order)) memcpy(ref, o, sizeof(float) * n);
                    CHECK_MSG(!memcmp(ref, o, sizeof(float) * n), "%s rows %d %s, %d threads: other bits",
                              seek_type_get(tt[ti])->name, rows, pass ? "packed" : "plain", nt);
                }
            }
            free(x), free(bias), free(row), free(ref), free(o), free(pa), free(pb);
            wmat_free(&a), wmat_free(&b);
        }
    seek_set_threads(0);
}

/* A decode list of items of several types (packed where the level packs them), each with its
 * own input, as a MoE step's down products: tiles taken two at a time (kern_packed.dec2,
 * pairs across items and types, same and different, and across row lengths of one type)
 * give the bits of one at a time, at 1, 2 and 3 threads, and pairs did run. */
TEST(decode_pairs_give_the_single_bits) {
    /* Q4_0 and Q4_K: the same bytes per group at C = 512, so only the kernel tells them
     * apart; the two Q8_0 items of C 256 and the Q8_0 items of C 512: one kernel, two lengths */
    static const seek_type tt[] = {SEEK_TYPE_Q4_K, SEEK_TYPE_Q8_0, SEEK_TYPE_Q4_K, SEEK_TYPE_Q6_K, SEEK_TYPE_Q4_0,
                                   SEEK_TYPE_Q8_0, SEEK_TYPE_Q5_0, SEEK_TYPE_Q8_0, SEEK_TYPE_Q8_0};
    static const int rows[] = {300, 200, 100, 77, 64, 150, 90, 513, 129};
    static const int64_t Cs[] = {512, 512, 512, 512, 512, 256, 512, 512, 256};
    enum { NI = sizeof tt / sizeof *tt };
    wmat w[NI];
    uint8_t *pw[NI] = {0};
    float *x[NI], *ref[NI], *o[NI], *row = malloc(sizeof(float) * 512);
    mm_item it[NI];
    int paired = 0;
    for (int i = 0; i < NI; i++) {
        CHECK(!wmat_make(&w[i], tt[i], rows[i], Cs[i]));
        x[i] = malloc(sizeof(float) * Cs[i]), ref[i] = malloc(sizeof(float) * rows[i]), o[i] = malloc(sizeof(float) * rows[i]);
        fill(x[i], Cs[i]);
        it[i] = (mm_item){o[i], x[i], w[i].m, NULL, 1};
        const kern_packed *pk = kern_packed_for(tt[i]);
        if (pk) {
            pw[i] = aligned_alloc(64, (pk->bytes(Cs[i], rows[i]) + 63) & ~(size_t)63);
            pk->pack(Cs[i], w[i].data, w[i].m.row_bytes, rows[i], pw[i], 0, (rows[i] + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS);
            it[i].w.packed = pw[i];
            paired += pk->dec2 != NULL;
        }
    }
    printf("  %d of %d items have a two-tile decode at this level\n", paired, NI);
    bool dual_prev = matmul_set_dual(false);
    seek_set_threads(1);
    for (int i = 0; i < NI; i++)
        for (int r = 0; r < rows[i]; r++) o[i][r] = NAN;
    const long pairs0 = matmul_dual_pairs();
    int rc = matmul_many(it, NI, row), unset = 0;
    const bool none_off = matmul_dual_pairs() == pairs0;   /* pairs off: none */
    for (int i = 0; i < NI; i++) {
        memcpy(ref[i], o[i], sizeof(float) * rows[i]);
        for (int r = 0; r < rows[i]; r++) unset += isnan(o[i][r]);
    }
    matmul_set_dual(true);
    long ran = 0;   /* pairs on the calling thread with one thread: all of them */
    for (int nt = 1; nt <= 3 && !rc; nt++) {
        seek_set_threads(nt);
        for (int i = 0; i < NI; i++)
            for (int r = 0; r < rows[i]; r++) o[i][r] = NAN;
        const long p0 = matmul_dual_pairs();
        rc = matmul_many(it, NI, row);
        if (nt == 1) ran = matmul_dual_pairs() - p0;
        for (int i = 0; i < NI; i++)
            if (memcmp(ref[i], o[i], sizeof(float) * rows[i])) rc = 100 * nt + i + 1;
    }
    matmul_set_dual(dual_prev);
    seek_set_threads(0);
    for (int i = 0; i < NI; i++) free(x[i]), free(ref[i]), free(o[i]), free(pw[i]), wmat_free(&w[i]);
    free(row);
    CHECK_MSG(!unset, "%d rows not written one tile at a time", unset);
    CHECK_MSG(!rc, "matmul_many %d (100 x threads + item): pairs differ from single tiles", rc);
    CHECK(none_off);
    CHECK_MSG(!paired == !ran, "%d items with a two-tile decode, %ld pairs ran", paired, ran);
}

int main(void) {
    RUN(cpu_level_detected);
    RUN(every_type_has_a_kernel_at_every_level);
    RUN(activation_quantization_is_ggml_x86_and_equal_at_every_level);
    RUN(kernels_match_reference_at_every_level);
    RUN(matmul_fast_path_thread_count_invariant);
    RUN(float_decode_gives_the_batch_bits);
    RUN(packed_legacy_gives_the_plain_bits);
    RUN(amx_prefill_gives_the_plain_bits);
    RUN(packed_legacy_layout_matches_reference);
    RUN(packed_float_layout_matches_reference);
    RUN(packed_float_sums_in_k_order);
    RUN(decode_lists_same_bits_any_thread_count);
    RUN(decode_pairs_give_the_single_bits);
    return test_summary();
}
