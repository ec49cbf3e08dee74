/* attention.c - tiled causal attention with an online softmax. See attention.h.
 *
 * Work unit = (query tile of QT tokens, kv head g, block of hb query heads of g's group).
 * A unit walks the key positions in tiles of PK: it loads (converts) the tile's keys and
 * values once and uses them for all QT x hb query rows, so K/V are read once per unit,
 * not once per query head. Units are dealt to the pool's threads round-robin (one slot of
 * scratch per thread); causal rows simply stop at their own position.
 */
#include "attention.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kvcache.h"
#include "threads.h"
#include "vec.h"

/* PK key positions per tile (score_row is written for 64), at most RMAX query rows per unit;
 * units with BLOCKED_MIN_ROWS rows or more transpose the key tile (run_unit_blocked), or,
 * for one query token, read the key rows in place (run_unit_decode). */
enum { PK = 64, RMAX = 96, QT_MAX = 16, QT_WIDE = 64, BLOCKED_MIN_ROWS = 4 };

size_t attention_scratch(int n_head, int n_kv_head, int dk, int dv, int n_threads) {
    (void)n_head; (void)n_kv_head;
    size_t per = 2 * (size_t)PK * dk + (size_t)PK * dv + (size_t)RMAX * PK + (size_t)RMAX * dv + 2 * RMAX;
    return per * (size_t)(n_threads > 0 ? n_threads : 1);
}

typedef struct {
    const attn_args *a;
    float *scratch;
    size_t per;            /* floats of scratch per slot */
    int nt;                /* slots */
    int QT, hb, n_qt, n_hb, group, units;
    bool blocked;          /* every unit takes the blocked form (decided by the shapes only) */
    bool decode;           /* ... or, with one query token, the decode form (run_unit_decode) */
    bool dyn;              /* attention(): units from the counter `next` */
    _Atomic int next;
} attn_job;

/* Keys or values of positions p0..p0+n-1, kv head g, as rows the dot/axpy loops read:
 * a pointer into the source when it is F32 or F16 (*half says which; F16 is read as is by
 * vec_dot_f16 / vec_axpy_f16), else converted to F32 into buf. *stride gets the row stride
 * in elements. */
static const void *load_tile(const attn_src *s, int g, int p0, int n, float *buf, size_t *stride, bool *half,
                             bool allow_half) {
    int col = s->col0 + g * s->head_stride;
    const uint8_t *base = s->data + (size_t)p0 * s->row_bytes;
    *half = s->type == SEEK_TYPE_F16 && allow_half;
    if (s->type == SEEK_TYPE_F32 || *half) {
        const size_t esz = s->type == SEEK_TYPE_F32 ? 4 : 2;
        *stride = s->row_bytes / esz;
        return base + col * esz;
    }
    if (col == 0 && kv_row_bytes(s->type, s->dim) == s->row_bytes && (s->type != SEEK_TYPE_Q8_0 || s->dim % 32 == 0))
        kv_get(s->type, base, 0, n * s->dim, buf);   /* whole rows, back to back: one conversion */
    else
        for (int j = 0; j < n; j++) kv_get(s->type, base + (size_t)j * s->row_bytes, col, s->dim, buf + (size_t)j * s->dim);
    *stride = (size_t)s->dim;
    return buf;
}

/* ---- the blocked form, for units with several query rows ----
 * The key tile is transposed once (kt[dk][PK]) so a row's 64 scores are 64-wide multiply-adds
 * over dk with no horizontal sums, and the value rows are summed into a row's output with
 * the output held in registers across the tile. */

#if defined(__AVX512F__)
#define exp16 vec_exp16   /* vec.h */
#endif

/* Largest of s[0..n), n >= 1. */
static inline float row_max(const float *s, int n) {
#if defined(__AVX512F__)
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int j = 0; j < n; j += 16) {
        const __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        m = _mm512_mask_max_ps(m, k, m, _mm512_maskz_loadu_ps(k, s + j));
    }
    return _mm512_reduce_max_ps(m);
#else
    float m = s[0];
    for (int j = 1; j < n; j++) m = s[j] > m ? s[j] : m;
    return m;
#endif
}

/* s[j] = e^(s[j] - m) for j < n; returns their sum. */
static inline float exp_shift_sum(float *s, int n, float m) {
#if defined(__AVX512F__)
    __m512 sum = _mm512_setzero_ps();
    const __m512 vm = _mm512_set1_ps(m);
    for (int j = 0; j < n; j += 16) {
        const __mmask16 k = n - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - j)) - 1);
        const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, s + j), vm));
        _mm512_mask_storeu_ps(s + j, k, e);
        sum = _mm512_mask_add_ps(sum, k, sum, e);
    }
    return _mm512_reduce_add_ps(sum);
#else
    float l = 0.0f;
    for (int j = 0; j < n; j++) l += s[j] = expf(s[j] - m);
    return l;
#endif
}

/* One tile's step of the online softmax for a row: s[0..n) scores in, e^(s - m) out, where m
 * is the row's running maximum *mx (raised to the tile's maximum if that is larger, and the
 * output acc[0..dv) and *sum summed so far rescaled to it); *sum gains the tile's terms. */
static inline void softmax_tile(float *s, int n, float *mx, float *sum, float *acc, int dv) {
    const float tmax = row_max(s, n);
    if (tmax > *mx) {
        const float corr = expf(*mx - tmax);
        *sum *= corr;
        vec_scale(acc, corr, dv);
        *mx = tmax;
    }
    *sum += exp_shift_sum(s, n, *mx);
}

/* s[0..PK) = scale * q . kt[.][j] */
static inline void score_row(float *s, const float *q, const float *kt, int dk, float scale) {
#if defined(__AVX512F__)
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int d = 0; d < dk; d++) {
        const __m512 b = _mm512_set1_ps(q[d]);
        const float *k = kt + (size_t)d * PK;
        a0 = _mm512_fmadd_ps(b, _mm512_loadu_ps(k), a0);
        a1 = _mm512_fmadd_ps(b, _mm512_loadu_ps(k + 16), a1);
        a2 = _mm512_fmadd_ps(b, _mm512_loadu_ps(k + 32), a2);
        a3 = _mm512_fmadd_ps(b, _mm512_loadu_ps(k + 48), a3);
    }
    const __m512 sc = _mm512_set1_ps(scale);
    _mm512_storeu_ps(s, _mm512_mul_ps(a0, sc));
    _mm512_storeu_ps(s + 16, _mm512_mul_ps(a1, sc));
    _mm512_storeu_ps(s + 32, _mm512_mul_ps(a2, sc));
    _mm512_storeu_ps(s + 48, _mm512_mul_ps(a3, sc));
#else
    for (int j = 0; j < PK; j++) s[j] = 0.0f;
    for (int d = 0; d < dk; d++) {
        const float qd = q[d], *k = kt + (size_t)d * PK;
        for (int j = 0; j < PK; j++) s[j] += qd * k[j];
    }
    for (int j = 0; j < PK; j++) s[j] *= scale;
#endif
}

/* acc[0..dv) += sum_{j < n} p[j] V[j][0..dv)  (V rows vs floats apart) */
static inline void acc_rows(float *acc, const float *p, int n, const float *V, size_t vs, int dv) {
    int c = 0;
#if defined(__AVX512F__)
    for (; c + 64 <= dv; c += 64) {
        __m512 a0 = _mm512_loadu_ps(acc + c), a1 = _mm512_loadu_ps(acc + c + 16);
        __m512 a2 = _mm512_loadu_ps(acc + c + 32), a3 = _mm512_loadu_ps(acc + c + 48);
        for (int j = 0; j < n; j++) {
            const __m512 b = _mm512_set1_ps(p[j]);
            const float *v = V + (size_t)j * vs + c;
            a0 = _mm512_fmadd_ps(b, _mm512_loadu_ps(v), a0);
            a1 = _mm512_fmadd_ps(b, _mm512_loadu_ps(v + 16), a1);
            a2 = _mm512_fmadd_ps(b, _mm512_loadu_ps(v + 32), a2);
            a3 = _mm512_fmadd_ps(b, _mm512_loadu_ps(v + 48), a3);
        }
        _mm512_storeu_ps(acc + c, a0);
        _mm512_storeu_ps(acc + c + 16, a1);
        _mm512_storeu_ps(acc + c + 32, a2);
        _mm512_storeu_ps(acc + c + 48, a3);
    }
    for (; c < dv; c += 16) {
        const __mmask16 m = dv - c >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (dv - c)) - 1);
        __m512 a0 = _mm512_maskz_loadu_ps(m, acc + c);
        for (int j = 0; j < n; j++)
            a0 = _mm512_fmadd_ps(_mm512_set1_ps(p[j]), _mm512_maskz_loadu_ps(m, V + (size_t)j * vs + c), a0);
        _mm512_mask_storeu_ps(acc + c, m, a0);
    }
#else
    for (int j = 0; j < n; j++) vec_axpy(acc + c, p[j], V + (size_t)j * vs + c, dv - c);
#endif
}

#if defined(__AVX512F__)
/* v, kept in a register: an empty asm hides that it equals the memory it came from, so gcc
 * does not fold the load into every multiply-add that reads it (folded, the loads bound the
 * loop: decode attention ran 1.35-1.6x slower, docs/kernels.md) */
static inline __m512 in_reg(__m512 v) {
    __asm__("" : "+v"(v));
    return v;
}

/* Four rows at once (the same query token, four heads): each key-tile load feeds 4 rows.
 * s + i * PK receives row i's scaled scores. */
static inline void score_rows4(float *s, const float *q0, const float *q1, const float *q2, const float *q3,
                               const float *kt, int dk, float scale) {
#define ROW_ACC(i) __m512 a##i##0 = _mm512_setzero_ps(), a##i##1 = a##i##0, a##i##2 = a##i##0, a##i##3 = a##i##0
    ROW_ACC(0); ROW_ACC(1); ROW_ACC(2); ROW_ACC(3);
#undef ROW_ACC
    for (int d = 0; d < dk; d++) {
        const float *k = kt + (size_t)d * PK;
        /* in registers: gcc otherwise folds each load into the 4 rows' FMAs (16 loads, not 4) */
        const __m512 k0 = in_reg(_mm512_loadu_ps(k)), k1 = in_reg(_mm512_loadu_ps(k + 16));
        const __m512 k2 = in_reg(_mm512_loadu_ps(k + 32)), k3 = in_reg(_mm512_loadu_ps(k + 48));
#define ROW_FMA(i, q) do { const __m512 b = _mm512_set1_ps(q[d]); \
        a##i##0 = _mm512_fmadd_ps(b, k0, a##i##0); a##i##1 = _mm512_fmadd_ps(b, k1, a##i##1); \
        a##i##2 = _mm512_fmadd_ps(b, k2, a##i##2); a##i##3 = _mm512_fmadd_ps(b, k3, a##i##3); } while (0)
        ROW_FMA(0, q0); ROW_FMA(1, q1); ROW_FMA(2, q2); ROW_FMA(3, q3);
#undef ROW_FMA
    }
    const __m512 sc = _mm512_set1_ps(scale);
#define ROW_ST(i) do { float *o = s + (i) * PK; \
        _mm512_storeu_ps(o, _mm512_mul_ps(a##i##0, sc)); _mm512_storeu_ps(o + 16, _mm512_mul_ps(a##i##1, sc)); \
        _mm512_storeu_ps(o + 32, _mm512_mul_ps(a##i##2, sc)); _mm512_storeu_ps(o + 48, _mm512_mul_ps(a##i##3, sc)); } while (0)
    ROW_ST(0); ROW_ST(1); ROW_ST(2); ROW_ST(3);
#undef ROW_ST
}

/* acc + i * dv += sum_{j < n} p[i * PK + j] V[j] for rows i = 0..3 (each value-row load
 * feeds 4 rows; outputs in registers, 64 values per row at a time: 16 accumulators, 4 loads
 * and 4 broadcasts per 16 multiply-adds). Each output is the same chain of multiply-adds
 * over j as in acc_rows, so both forms give the same bits. */
static inline __mmask16 tail16(int left) {
    return left >= 16 ? (__mmask16)0xffff : left <= 0 ? (__mmask16)0 : (__mmask16)((1u << left) - 1);
}
static inline void acc_rows4(float *acc, int dv, const float *p, int n, const float *V, size_t vs) {
    for (int c = 0; c < dv; c += 64) {
        const __mmask16 m0 = tail16(dv - c), m1 = tail16(dv - c - 16), m2 = tail16(dv - c - 32), m3 = tail16(dv - c - 48);
#define ROW_LD(i) float *o##i = acc + (i) * dv + c; \
        __m512 b##i##0 = _mm512_maskz_loadu_ps(m0, o##i), b##i##1 = _mm512_maskz_loadu_ps(m1, o##i + 16), \
               b##i##2 = _mm512_maskz_loadu_ps(m2, o##i + 32), b##i##3 = _mm512_maskz_loadu_ps(m3, o##i + 48)
        ROW_LD(0); ROW_LD(1); ROW_LD(2); ROW_LD(3);
#undef ROW_LD
        for (int j = 0; j < n; j++) {
            const float *v = V + (size_t)j * vs + c;
            const __m512 v0 = in_reg(_mm512_maskz_loadu_ps(m0, v)), v1 = in_reg(_mm512_maskz_loadu_ps(m1, v + 16));
            const __m512 v2 = in_reg(_mm512_maskz_loadu_ps(m2, v + 32)), v3 = in_reg(_mm512_maskz_loadu_ps(m3, v + 48));
#define ROW_FMA(i) do { const __m512 w = _mm512_set1_ps(p[(i) * PK + j]); \
            b##i##0 = _mm512_fmadd_ps(w, v0, b##i##0); b##i##1 = _mm512_fmadd_ps(w, v1, b##i##1); \
            b##i##2 = _mm512_fmadd_ps(w, v2, b##i##2); b##i##3 = _mm512_fmadd_ps(w, v3, b##i##3); } while (0)
            ROW_FMA(0); ROW_FMA(1); ROW_FMA(2); ROW_FMA(3);
#undef ROW_FMA
        }
#define ROW_ST(i) do { _mm512_mask_storeu_ps(o##i, m0, b##i##0); _mm512_mask_storeu_ps(o##i + 16, m1, b##i##1); \
        _mm512_mask_storeu_ps(o##i + 32, m2, b##i##2); _mm512_mask_storeu_ps(o##i + 48, m3, b##i##3); } while (0)
        ROW_ST(0); ROW_ST(1); ROW_ST(2); ROW_ST(3);
#undef ROW_ST
    }
}

/* acc_rows4 and acc_rows with value rows in IEEE half (dv a multiple of 64), converted as
 * they are loaded: the same floats and the same chains of multiply-adds, no F32 copy. */
static inline __m512 ld_h(const uint16_t *v) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)v)); }
/* acc + i * dv += sum_{j < n} p[i * PK + j] V[j] for rows i < NR (4: the blocked form's
 * groups, 2: the decode form's last two of six), outputs in registers 64 at a time as in
 * acc_rows4: each value-row load feeds NR rows, the chains over j are acc_rows's. */
static inline __attribute__((always_inline)) void acc_rows_nr_h(float *acc, int dv, const float *p, int n,
                                                                const uint16_t *V, size_t vs, const int NR) {
    for (int c = 0; c < dv; c += 64) {
        __m512 b[4][4];
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) b[i][k] = _mm512_loadu_ps(acc + (size_t)i * dv + c + 16 * k);
        for (int j = 0; j < n; j++) {
            const uint16_t *v = V + (size_t)j * vs + c;
            const __m512 v0 = ld_h(v), v1 = ld_h(v + 16), v2 = ld_h(v + 32), v3 = ld_h(v + 48);
#pragma GCC unroll 4
            for (int i = 0; i < NR; i++) {
                const __m512 w = _mm512_set1_ps(p[i * PK + j]);
                b[i][0] = _mm512_fmadd_ps(w, v0, b[i][0]);
                b[i][1] = _mm512_fmadd_ps(w, v1, b[i][1]);
                b[i][2] = _mm512_fmadd_ps(w, v2, b[i][2]);
                b[i][3] = _mm512_fmadd_ps(w, v3, b[i][3]);
            }
        }
#pragma GCC unroll 4
        for (int i = 0; i < NR; i++)
#pragma GCC unroll 4
            for (int k = 0; k < 4; k++) _mm512_storeu_ps(acc + (size_t)i * dv + c + 16 * k, b[i][k]);
    }
}
static inline void acc_rows_h(float *acc, const float *p, int n, const uint16_t *V, size_t vs, int dv) {
    for (int c = 0; c < dv; c += 64) {
        __m512 a0 = _mm512_loadu_ps(acc + c), a1 = _mm512_loadu_ps(acc + c + 16);
        __m512 a2 = _mm512_loadu_ps(acc + c + 32), a3 = _mm512_loadu_ps(acc + c + 48);
        for (int j = 0; j < n; j++) {
            const __m512 b = _mm512_set1_ps(p[j]);
            const uint16_t *v = V + (size_t)j * vs + c;
            a0 = _mm512_fmadd_ps(b, ld_h(v), a0);
            a1 = _mm512_fmadd_ps(b, ld_h(v + 16), a1);
            a2 = _mm512_fmadd_ps(b, ld_h(v + 32), a2);
            a3 = _mm512_fmadd_ps(b, ld_h(v + 48), a3);
        }
        _mm512_storeu_ps(acc + c, a0);
        _mm512_storeu_ps(acc + c + 16, a1);
        _mm512_storeu_ps(acc + c + 32, a2);
        _mm512_storeu_ps(acc + c + 48, a3);
    }
}
#endif

#if defined(__AVX512F__)
/* r[i][j] -> r[j][i] for a 16 x 16 block of floats in registers: 32-bit then 64-bit
 * interleaves inside 128-bit lanes, then two rounds of lane shuffles. */
static inline void transpose16(__m512 r[16]) {
    __m512 b[16], c[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        b[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);       /* a0[4k] a1[4k] a0[4k+1] a1[4k+1] */
        b[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);   /* the same for 4k+2, 4k+3 */
    }
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++) {   /* c[4m + s], lane k = rows 4m..4m+3 at column 4k + s */
        const __m512d lo0 = _mm512_castps_pd(b[4 * m]), lo1 = _mm512_castps_pd(b[4 * m + 2]);
        const __m512d hi0 = _mm512_castps_pd(b[4 * m + 1]), hi1 = _mm512_castps_pd(b[4 * m + 3]);
        c[4 * m] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo0, lo1));
        c[4 * m + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo0, lo1));
        c[4 * m + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi0, hi1));
        c[4 * m + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi0, hi1));
    }
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++) {   /* column 4k + s gathers lane k of c[s], c[4+s], c[8+s], c[12+s] */
        const __m512 d0 = _mm512_shuffle_f32x4(c[s], c[4 + s], 0x88), d1 = _mm512_shuffle_f32x4(c[s], c[4 + s], 0xdd);
        const __m512 d2 = _mm512_shuffle_f32x4(c[8 + s], c[12 + s], 0x88), d3 = _mm512_shuffle_f32x4(c[8 + s], c[12 + s], 0xdd);
        r[s] = _mm512_shuffle_f32x4(d0, d2, 0x88);
        r[4 + s] = _mm512_shuffle_f32x4(d1, d3, 0x88);
        r[8 + s] = _mm512_shuffle_f32x4(d0, d2, 0xdd);
        r[12 + s] = _mm512_shuffle_f32x4(d1, d3, 0xdd);
    }
}

/* kt[d][j] = K[j][d] for j < np, 0 for np <= j < PK: K rows of dk IEEE halves (half) or
 * floats, ks elements apart (dk a multiple of 16), converted and transposed 16 x 16 at a
 * time in registers (the same floats as kv_get then a scalar transpose, without the F32
 * copy and the strided scalar loop). Row blocks wholly past np are only zeroed. */
static void tile_transposed(float *kt, const void *K, size_t ks, int np, int dk, bool half) {
    for (int j0 = 0; j0 < PK; j0 += 16)
        for (int d0 = 0; d0 < dk; d0 += 16) {
            __m512 r[16];
            if (j0 >= np) {
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++) _mm512_storeu_ps(kt + (size_t)(d0 + i) * PK + j0, _mm512_setzero_ps());
                continue;
            }
            if (half) {
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    r[i] = j0 + i < np ? _mm512_cvtph_ps(_mm256_loadu_si256(
                                             (const __m256i *)((const uint16_t *)K + (size_t)(j0 + i) * ks + d0)))
                                       : _mm512_setzero_ps();
            } else {
#pragma GCC unroll 16
                for (int i = 0; i < 16; i++)
                    r[i] = j0 + i < np ? _mm512_loadu_ps((const float *)K + (size_t)(j0 + i) * ks + d0) : _mm512_setzero_ps();
            }
            transpose16(r);
#pragma GCC unroll 16
            for (int i = 0; i < 16; i++) _mm512_storeu_ps(kt + (size_t)(d0 + i) * PK + j0, r[i]);
        }
}
#endif

static void run_unit_blocked(const attn_job *J, int g, int t0, int t1, int h0, int h1, float *ws) {
    const attn_args *a = J->a;
    const int dk = a->k.dim, dv = a->v.dim, nh = h1 - h0, nr = (t1 - t0) * nh;
    float *kbuf = ws, *kt = kbuf + (size_t)PK * dk, *vbuf = kt + (size_t)PK * dk, *sc = vbuf + (size_t)PK * dv;
    float *acc = sc + (size_t)RMAX * PK, *mx = acc + (size_t)RMAX * dv, *sum = mx + RMAX;
    for (int r = 0; r < nr; r++) { mx[r] = -INFINITY; sum[r] = 0.0f; }
    memset(acc, 0, sizeof(float) * (size_t)nr * dv);

#if defined(__AVX512F__)
    const bool f16_kt = a->k.type == SEEK_TYPE_F16 && !a->v_in_k && dk % 16 == 0;
    const bool f16_v = a->v.type == SEEK_TYPE_F16 && !a->v_in_k && dv % 64 == 0;   /* values read as halves */
#else
    const bool f16_kt = false, f16_v = false;
#endif
    const int p_end = a->pos0 + t1;
    for (int p0 = 0; p0 < p_end; p0 += PK) {
        const int np = p_end - p0 < PK ? p_end - p0 : PK;
        size_t ks, vs;
        bool half, vhalf;
        /* F16 keys not also serving as values go straight into kt (AVX-512) */
        const void *K = load_tile(&a->k, g, p0, np, kbuf, &ks, &half, f16_kt);
        const void *V = a->v_in_k ? K : load_tile(&a->v, g, p0, np, vbuf, &vs, &vhalf, f16_v);
        if (a->v_in_k) vs = ks, vhalf = false;
#if defined(__AVX512F__)
        if (dk % 16 == 0) tile_transposed(kt, K, ks, np, dk, half);
        else
#endif
        for (int d = 0; d < dk; d++) {   /* kt[d][j] = K[j][d]; columns past np zero */
            float *row = kt + (size_t)d * PK;
            for (int j = 0; j < np; j++) row[j] = ((const float *)K)[(size_t)j * ks + d];
            for (int j = np; j < PK; j++) row[j] = 0.0f;
        }
        /* rows of tokens that see this tile: a suffix of the unit's rows (token-major),
         * taken four at a time whatever their tokens and heads; row r sees nvis(r) positions */
        const int tfirst = p0 - a->pos0 > t0 ? p0 - a->pos0 : t0;
        int r = (tfirst - t0) * nh;
#define NVIS(r) (a->pos0 + t0 + (r) / nh + 1 - p0 < np ? a->pos0 + t0 + (r) / nh + 1 - p0 : np)
#define QROW(r) (a->q + (size_t)(t0 + (r) / nh) * a->q_stride + (size_t)(h0 + (r) % nh) * a->q_hstride)
#if defined(__AVX512F__)
        for (; r + 4 <= nr; r += 4) {
            float *s = sc + (size_t)r * PK, *ar = acc + (size_t)r * dv;
            score_rows4(s, QROW(r), QROW(r + 1), QROW(r + 2), QROW(r + 3), kt, dk, a->scale);
            const int nmax = NVIS(r + 3);   /* the last row's token is the latest */
            for (int i = 0; i < 4; i++) {
                const int n = NVIS(r + i);
                softmax_tile(s + i * PK, n, &mx[r + i], &sum[r + i], ar + (size_t)i * dv, dv);
                /* positions this row may not see add exactly nothing: 0 * v */
                for (int j = n; j < nmax; j++) s[i * PK + j] = 0.0f;
            }
            if (vhalf) acc_rows_nr_h(ar, dv, s, nmax, V, vs, 4);
            else acc_rows4(ar, dv, s, nmax, V, vs);
        }
#endif
        for (; r < nr; r++) {
            const int n = NVIS(r);
            float *s = sc + (size_t)r * PK, *ar = acc + (size_t)r * dv;
            score_row(s, QROW(r), kt, dk, a->scale);
            softmax_tile(s, n, &mx[r], &sum[r], ar, dv);
#if defined(__AVX512F__)
            if (vhalf) acc_rows_h(ar, s, n, V, vs, dv);
            else
#endif
            acc_rows(ar, s, n, V, vs, dv);
        }
#undef NVIS
#undef QROW
    }
    for (int t = t0; t < t1; t++)
        for (int h = h0; h < h1; h++) {
            const int r = (t - t0) * nh + (h - h0);
            float *o = a->out + (size_t)t * a->o_stride + (size_t)h * a->o_hstride;
            const float inv = 1.0f / sum[r], *ar = acc + (size_t)r * dv;
            for (int i = 0; i < dv; i++) o[i] = ar[i] * inv;
        }
}

/* ---- the decode form, for one query token and several rows (the heads of a group) ----
 * A decode step reads each key tile once for a handful of rows (R1-Distill-Qwen: 6 heads
 * per kv head; MLA: a block of >= 4 heads), too few to pay for transposing the tile. Here
 * the key rows are read in place (F16 converted as loaded) and each score is a dot product
 * along dk: a block of NR rows x NK keys (NR * NK = 16) keeps one 16-lane accumulator per
 * (row, key), each summed over dk in one chain, and one tree of 15 adds folds the 16
 * accumulators into one vector of their 16 sums. Every accumulator has the same chain and
 * every one is folded the same way, so a row's scores do not depend on which rows or keys
 * share its block (nor on the thread count); their rounding differs from the blocked form's
 * (one chain over dk per key). The softmax and the value sums are the blocked form's. */
#if defined(__AVX512F__)
/* v[0..16) -> one vector: lane 4q + s holds the sum of v[4s + q]'s 16 lanes, every v folded
 * as ((i + (i+8)) + (i+4 + (i+12))) ... the same pairs for each. */
static inline __m512 fold16(const __m512 v[16]) {
    __m512 w[8], x[4], y[2];
#pragma GCC unroll 8
    for (int k = 0; k < 8; k++)   /* halves of v[2k] (lanes 0-7) and v[2k+1] (8-15) */
        w[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44), _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xee));
#pragma GCC unroll 4
    for (int m = 0; m < 4; m++)   /* quarter q: v[4m + q]'s four partial sums */
        x[m] = _mm512_add_ps(_mm512_shuffle_f32x4(w[2 * m], w[2 * m + 1], 0x88), _mm512_shuffle_f32x4(w[2 * m], w[2 * m + 1], 0xdd));
#pragma GCC unroll 2
    for (int n = 0; n < 2; n++)   /* quarter q: two partials each of v[8n + q], v[8n + 4 + q] */
        y[n] = _mm512_add_ps(_mm512_shuffle_ps(x[2 * n], x[2 * n + 1], 0x44), _mm512_shuffle_ps(x[2 * n], x[2 * n + 1], 0xee));
    return _mm512_add_ps(_mm512_shuffle_ps(y[0], y[1], 0x88), _mm512_shuffle_ps(y[0], y[1], 0xdd));
}

/* s[r * PK + c] = scale * q[r] . k[c] for r < NR, c < NK (NR * NK = 16; constants at each
 * call, so the loops unroll); k rows of dk halves (half) or floats, dk a multiple of 16. */
static inline __attribute__((always_inline)) void score_block(const int NR, const int NK, const bool half, float *s,
                                                              const float *const *q, const void *const *k, int dk,
                                                              float scale) {
    __m512 acc[16];
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
    for (int d = 0; d < dk; d += 16) {
        __m512 qv[4];
#pragma GCC unroll 4
        for (int r = 0; r < NR; r++) qv[r] = in_reg(_mm512_loadu_ps(q[r] + d));
#pragma GCC unroll 16
        for (int c = 0; c < NK; c++) {
            const __m512 kv = half ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)k[c] + d)))
                                   : in_reg(_mm512_loadu_ps((const float *)k[c] + d));
#pragma GCC unroll 4
            for (int r = 0; r < NR; r++) acc[c * NR + r] = _mm512_fmadd_ps(qv[r], kv, acc[c * NR + r]);
        }
    }
    float z[16];
    _mm512_storeu_ps(z, _mm512_mul_ps(fold16(acc), _mm512_set1_ps(scale)));
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++) s[(i % NR) * PK + i / NR] = z[(i % 4) * 4 + i / 4];
}

/* Rows r0 .. r0 + NR - 1 of one tile (rows past nr repeat the last one: their scores are
 * written to spare rows of s and never used), keys 0..np-1 in blocks of NK (keys past np
 * repeat the last: their scores are never read). */
static inline __attribute__((always_inline)) void score_rows(const int NR, const bool half, float *sc, const float *const *qr,
                                                             const void *K, size_t ks, int np, int dk, float scale) {
    const int NK = 16 / NR;
    for (int j0 = 0; j0 < np; j0 += NK) {
        const void *k[16];
        for (int c = 0; c < NK; c++) {
            const int j = j0 + c < np ? j0 + c : np - 1;
            k[c] = half ? (const void *)((const uint16_t *)K + (size_t)j * ks) : (const void *)((const float *)K + (size_t)j * ks);
        }
        score_block(NR, NK, half, sc + j0, qr, k, dk, scale);
    }
}

/* Read a tile's rows read in place (rows of n floats or halves, stride elements apart) with
 * plain loads nothing waits on, before the tile is scored. In decode the rows come from
 * memory (a step streams the weights through every cache between two visits of a layer),
 * and scored as they arrive the reads did not overlap the multiply-adds: a step cost its
 * in-cache time plus the read. Read first, the rows stream at the memory's pace and the
 * scoring runs from L2 (bench/attn_bench from memory: MLA -17 %, GQA -12 %; in cache +7 %). */
static volatile int touch_sink;   /* the loads' result is stored: they cannot be dropped */
static void touch_tile(const void *rows, size_t stride, size_t esz, int n_rows, int n) {
    const size_t len = (size_t)n * esz;
    __m512i x = _mm512_setzero_si512();
    for (int j = 0; j < n_rows; j++) {
        const char *row = (const char *)rows + (size_t)j * stride * esz;
        size_t b = 0;
        for (; b + 64 <= len; b += 64) x = _mm512_or_si512(x, _mm512_loadu_si512(row + b));
        if (b < len)   /* (len - b) / 4 dwords: floats, or halves in 16s */
            x = _mm512_or_si512(x, _mm512_maskz_loadu_epi32((__mmask16)((1u << ((len - b) / 4)) - 1), row + b));
    }
    touch_sink = _mm512_reduce_or_epi32(x);
}

static void run_unit_decode(const attn_job *J, int g, int h0, int h1, float *ws) {
    const attn_args *a = J->a;
    const int dk = a->k.dim, dv = a->v.dim, nr = h1 - h0;
    float *kbuf = ws, *vbuf = kbuf + (size_t)PK * dk * 2, *sc = vbuf + (size_t)PK * dv;
    float *acc = sc + (size_t)RMAX * PK, *mx = acc + (size_t)RMAX * dv, *sum = mx + RMAX;
    for (int r = 0; r < nr; r++) { mx[r] = -INFINITY; sum[r] = 0.0f; }
    memset(acc, 0, sizeof(float) * (size_t)nr * dv);
    /* F16 keys are read in place; when they also serve as values, only if the value loops
     * can read halves (dv a multiple of 64) */
    const bool k_half = a->k.type == SEEK_TYPE_F16 && (!a->v_in_k || dv % 64 == 0);
    const bool v_half = a->v.type == SEEK_TYPE_F16 && dv % 64 == 0;
    const float *qr[RMAX];
    for (int r = 0; r < nr; r++) qr[r] = a->q + (size_t)(h0 + r) * a->q_hstride;

    const int p_end = a->pos0 + 1;   /* every row sees positions < p_end */
    for (int p0 = 0; p0 < p_end; p0 += PK) {
        const int np = p_end - p0 < PK ? p_end - p0 : PK;
        size_t ks, vs;
        bool half, vhalf;
        const void *K = load_tile(&a->k, g, p0, np, kbuf, &ks, &half, k_half);
        const void *V = a->v_in_k ? K : load_tile(&a->v, g, p0, np, vbuf, &vs, &vhalf, v_half);
        if (a->v_in_k) vs = ks, vhalf = half;
        if (K != kbuf) touch_tile(K, ks, half ? 2 : 4, np, dk);   /* rows in the cache itself */
        if (V != K && V != vbuf) touch_tile(V, vs, vhalf ? 2 : 4, np, dv);
        for (int r = 0; r < nr;) {   /* rows in fours, a last two or one */
            const int left = nr - r, NR = left >= 3 ? 4 : left;
            const float *q4[4];
            for (int i = 0; i < 4; i++) q4[i] = qr[r + i < nr ? r + i : nr - 1];
            float *s = sc + (size_t)r * PK;
            if (half) {
                if (NR == 4) score_rows(4, true, s, q4, K, ks, np, dk, a->scale);
                else if (NR == 2) score_rows(2, true, s, q4, K, ks, np, dk, a->scale);
                else score_rows(1, true, s, q4, K, ks, np, dk, a->scale);
            } else {
                if (NR == 4) score_rows(4, false, s, q4, K, ks, np, dk, a->scale);
                else if (NR == 2) score_rows(2, false, s, q4, K, ks, np, dk, a->scale);
                else score_rows(1, false, s, q4, K, ks, np, dk, a->scale);
            }
            r += NR < left ? NR : left;
        }
        for (int r = 0; r < nr; r++)   /* the online softmax, as in the blocked form */
            softmax_tile(sc + (size_t)r * PK, np, &mx[r], &sum[r], acc + (size_t)r * dv, dv);
        int r = 0;
        for (; r + 4 <= nr; r += 4) {
            if (vhalf) acc_rows_nr_h(acc + (size_t)r * dv, dv, sc + (size_t)r * PK, np, V, vs, 4);
            else acc_rows4(acc + (size_t)r * dv, dv, sc + (size_t)r * PK, np, V, vs);
        }
        if (vhalf && r + 2 <= nr) {
            acc_rows_nr_h(acc + (size_t)r * dv, dv, sc + (size_t)r * PK, np, V, vs, 2);
            r += 2;
        }
        for (; r < nr; r++) {
            if (vhalf) acc_rows_h(acc + (size_t)r * dv, sc + (size_t)r * PK, np, V, vs, dv);
            else acc_rows(acc + (size_t)r * dv, sc + (size_t)r * PK, np, V, vs, dv);
        }
    }
    for (int r = 0; r < nr; r++) {
        float *o = a->out + (size_t)(h0 + r) * a->o_hstride;
        const float inv = 1.0f / sum[r], *ar = acc + (size_t)r * dv;
        for (int i = 0; i < dv; i++) o[i] = ar[i] * inv;
    }
}
#endif

static void run_unit(const attn_job *J, int u, float *ws) {
    const attn_args *a = J->a;
    const int dk = a->k.dim, dv = a->v.dim;
    const int qt = u / (a->n_kv_head * J->n_hb), rest = u % (a->n_kv_head * J->n_hb);
    const int g = rest / J->n_hb, hbi = rest % J->n_hb;
    const int t0 = qt * J->QT, t1 = t0 + J->QT < a->T ? t0 + J->QT : a->T;
    const int h0 = g * J->group + hbi * J->hb;
    const int h1 = h0 + J->hb < (g + 1) * J->group ? h0 + J->hb : (g + 1) * J->group;
    const int nh = h1 - h0, nr = (t1 - t0) * nh;
#if defined(__AVX512F__)
    if (J->decode) {
        run_unit_decode(J, g, h0, h1, ws);
        return;
    }
#endif
    if (J->blocked) {
        run_unit_blocked(J, g, t0, t1, h0, h1, ws);
        return;
    }

    /* few rows (decode without grouped heads): one dot per position, tiles read in place */
    float *kbuf = ws, *vbuf = kbuf + (size_t)PK * dk * 2, *sc = vbuf + (size_t)PK * dv;
    float *acc = sc + (size_t)RMAX * PK, *mx = acc + (size_t)RMAX * dv, *sum = mx + RMAX;
    for (int r = 0; r < nr; r++) { mx[r] = -INFINITY; sum[r] = 0.0f; }
    memset(acc, 0, sizeof(float) * (size_t)nr * dv);

    const int p_end = a->pos0 + t1;   /* the last row sees positions < p_end */
    for (int p0 = 0; p0 < p_end; p0 += PK) {
        const int np = p_end - p0 < PK ? p_end - p0 : PK;
        size_t ks, vs;
        bool kh, vh;
        const void *K = load_tile(&a->k, g, p0, np, kbuf, &ks, &kh, true);
        const void *V = a->v_in_k ? K : load_tile(&a->v, g, p0, np, vbuf, &vs, &vh, true);
        if (a->v_in_k) vs = ks, vh = kh;
        for (int t = t0; t < t1; t++) {
            const int vis = a->pos0 + t + 1 - p0;   /* positions of this tile row t may see */
            const int n = vis < np ? vis : np;
            if (n <= 0) continue;
            for (int h = h0; h < h1; h++) {
                const int r = (t - t0) * nh + (h - h0);
                const float *qv = a->q + (size_t)t * a->q_stride + (size_t)h * a->q_hstride;
                float *s = sc + (size_t)r * PK, *ar = acc + (size_t)r * dv;
                float tmax = -INFINITY;
                for (int j = 0; j < n; j++) {
                    s[j] = (kh ? vec_dot_f16((const uint16_t *)K + (size_t)j * ks, qv, dk)
                             : vec_dot(qv, (const float *)K + (size_t)j * ks, dk)) * a->scale;
                    if (s[j] > tmax) tmax = s[j];
                }
                if (tmax > mx[r]) {   /* a new maximum: rescale what was summed so far */
                    float corr = expf(mx[r] - tmax);
                    sum[r] *= corr;
                    vec_scale(ar, corr, dv);
                    mx[r] = tmax;
                }
                float l = 0.0f;
                for (int j = 0; j < n; j++) {
                    float e = expf(s[j] - mx[r]);
                    l += e;
                    if (vh) vec_axpy_f16(ar, e, (const uint16_t *)V + (size_t)j * vs, dv);
                    else vec_axpy(ar, e, (const float *)V + (size_t)j * vs, dv);
                }
                sum[r] += l;
            }
        }
    }
    for (int t = t0; t < t1; t++)
        for (int h = h0; h < h1; h++) {
            const int r = (t - t0) * nh + (h - h0);
            float *o = a->out + (size_t)t * a->o_stride + (size_t)h * a->o_hstride;
            const float inv = 1.0f / sum[r], *ar = acc + (size_t)r * dv;
            for (int i = 0; i < dv; i++) o[i] = ar[i] * inv;
        }
}

/* With many units (prefill) they are taken from a shared counter: a preempted thread or a
 * longer causal unit does not hold the others at the barrier. With few (decode: one or two
 * per thread) they are dealt round-robin, or the caller, already running, would take them
 * all before the workers wake. A unit's results do not depend on who runs it. */
static void attn_slots(void *ud, int64_t b, int64_t e) {
    attn_job *J = ud;
    float *ws = J->scratch + (size_t)b * J->per;   /* one slot's scratch serves this whole call */
    if (!J->dyn) {
        for (int64_t slot = b; slot < e; slot++)
            for (int u = (int)slot; u < J->units; u += J->nt) run_unit(J, u, ws);
        return;
    }
    for (;;) {
        const int u = atomic_fetch_add_explicit(&J->next, 1, memory_order_relaxed);
        if (u >= J->units) break;
        run_unit(J, u, ws);
    }
}

/* How attention() cuts one problem into units for nt threads. */
static void plan(attn_job *J, const attn_args *a, float *scratch, int nt) {
    *J = (attn_job){.a = a, .scratch = scratch, .nt = nt};
    J->per = attention_scratch(a->n_head, a->n_kv_head, a->k.dim, a->v.dim, 1);
    J->group = a->n_head / a->n_kv_head;
    /* one query head per kv head (MLA naive): longer query tiles, so each transposed key
     * tile serves more rows (QT_WIDE, a multiple of 4 and of PK's divisors) */
    const int qt_max = J->group == 1 ? QT_WIDE : QT_MAX;
    J->QT = a->T < qt_max ? a->T : qt_max;
    J->hb = J->group;
    while (J->QT * J->hb > RMAX && J->hb > 1) J->hb = (J->hb + 1) / 2;
    /* The form (blocked or one row at a time) follows from the shapes before the split
     * below, which depends on the thread count: a row gets the same arithmetic whatever
     * unit it lands in (the blocked form takes any number of rows), so the results do not
     * depend on the thread count. */
    J->blocked = J->QT * J->hb >= BLOCKED_MIN_ROWS;
#if defined(__AVX512F__)
    J->decode = J->blocked && a->T == 1 && a->k.dim % 16 == 0;   /* one token: no transposed tiles */
#endif
    for (;;) {   /* enough units to keep every thread busy */
        J->n_qt = (a->T + J->QT - 1) / J->QT;
        J->n_hb = (J->group + J->hb - 1) / J->hb;
        J->units = J->n_qt * a->n_kv_head * J->n_hb;
        if (J->units >= J->nt) break;
        if (J->hb > 1) J->hb = (J->hb + 1) / 2;
        else if (J->QT > 1) J->QT = (J->QT + 1) / 2;
        else break;
    }
}

void attention(const attn_args *a, float *scratch) {
    attn_job J;
    plan(&J, a, scratch, seek_threads());
    if (J.nt > J.units) J.nt = J.units;
    J.dyn = J.units >= 8 * J.nt;
    atomic_init(&J.next, 0);
    par_for(J.nt, attn_slots, &J);
}

/* ---- several problems in one pass over the pool ----
 * A batch of decoding sequences has one small problem each (T = 1: a unit or two); one
 * par_for per sequence would wake and wait for the pool n times per layer. Here each
 * problem is planned exactly as attention() plans it (so its numbers are the same) and
 * all their units are dealt round-robin to the threads in one par_for. */
enum { BATCH_MAX = 64 };   /* problems per par_for */

typedef struct {
    attn_job J[BATCH_MAX];
    int first[BATCH_MAX + 1];   /* unit numbers: problem i has first[i] .. first[i+1]-1 */
    int n, nt;
    float *scratch;
    size_t per;
} attn_multi;

static void multi_slots(void *ud, int64_t b, int64_t e) {
    const attn_multi *M = ud;
    float *ws = M->scratch + (size_t)b * M->per;
    for (int64_t slot = b; slot < e; slot++) {
        int i = 0;
        for (int u = (int)slot; u < M->first[M->n]; u += M->nt) {
            while (u >= M->first[i + 1]) i++;
            run_unit(&M->J[i], u - M->first[i], ws);
        }
    }
}

void attention_batch(const attn_args *a, int n, float *scratch) {
    const int nt = seek_threads();
    attn_multi M;
    for (int i0 = 0; i0 < n; i0 += BATCH_MAX) {
        M.n = n - i0 < BATCH_MAX ? n - i0 : BATCH_MAX;
        M.scratch = scratch;
        M.first[0] = 0;
        M.per = 0;
        for (int i = 0; i < M.n; i++) {
            plan(&M.J[i], &a[i0 + i], scratch, nt);
            M.first[i + 1] = M.first[i] + M.J[i].units;
            if (M.J[i].per > M.per) M.per = M.J[i].per;
        }
        M.nt = nt < M.first[M.n] ? nt : M.first[M.n];
        par_for(M.nt, multi_slots, &M);
    }
}

/* ------------------------------------------------------------------------------------ */

void attention_ref(const attn_args *a) {
    const int group = a->n_head / a->n_kv_head, dk = a->k.dim, dv = a->v.dim;
    double *att = malloc(sizeof(double) * (size_t)(a->pos0 + a->T));
    if (!att) return;
    for (int t = 0; t < a->T; t++)
        for (int h = 0; h < a->n_head; h++) {
            const int g = h / group, vis = a->pos0 + t + 1;
            const float *qv = a->q + (size_t)t * a->q_stride + (size_t)h * a->q_hstride;
            double mx = -INFINITY, sum = 0;
            for (int p = 0; p < vis; p++) {
                const float *k = (const float *)(a->k.data + (size_t)p * a->k.row_bytes) + a->k.col0 + g * a->k.head_stride;
                double s = 0;
                for (int i = 0; i < dk; i++) s += (double)qv[i] * k[i];
                att[p] = s * a->scale;
                if (att[p] > mx) mx = att[p];
            }
            for (int p = 0; p < vis; p++) sum += att[p] = exp(att[p] - mx);
            float *o = a->out + (size_t)t * a->o_stride + (size_t)h * a->o_hstride;
            const attn_src *vs = a->v_in_k ? &a->k : &a->v;
            for (int i = 0; i < dv; i++) {
                double s = 0;
                for (int p = 0; p < vis; p++)
                    s += att[p] * ((const float *)(vs->data + (size_t)p * vs->row_bytes))[vs->col0 + g * vs->head_stride + i];
                o[i] = (float)(s / sum);
            }
        }
    free(att);
}
