/* float.c - kernels for float weights: F32, F16, BF16.
 *
 * Layout: a weight row is n plain values (4, 2 or 2 bytes each); activations stay F32
 * (matmul passes x itself), except BF16 weights on a CPU with AVX512_BF16, where the
 * activations are rounded to BF16 once and vdpbf16ps multiplies pairs.
 *
 * Loop order (SIMD levels): k in chunks of KC values; per chunk, for each NR x NC
 * sub-tile, one accumulator register per (row, column); walk k in steps of the vector width: load (and widen) the weight vector
 * of each row once, FMA it into the NC columns' accumulators; tail by masked loads
 * (AVX-512) or a scalar loop (AVX2); reduce each accumulator at the end of the chunk
 * and add it to out. Decode (one column) of F16 and BF16 (AVX-512, AVX2) does the same sums
 * with rows outermost: 4 rows over all their chunks, then the next 4, whose bytes it asks
 * for meanwhile (FLOAT_DEC_ROWS). */
#include "kern_impl.h"

/* k is walked in chunks of KC values (absolute positions, so the same for every tile):
 * a sub-tile's 4 activation rows and 4 weight rows of one chunk stay in L1 while the
 * walk moves on; each chunk's sum is added to out. */
enum { KC = 1024 };

/* ------------------------------------------------------------------------------------ */
/* scalar: 8 partial sums per dot, so the loop vectorizes and rounding stays moderate */

#define SCALAR_DOT(NAME, WT, CONV)                                                  \
    static float NAME(const WT *w, const float *x, int64_t n) {                     \
        float s[8] = {0};                                                           \
        int64_t k = 0;                                                              \
        for (; k + 8 <= n; k += 8)                                                  \
            for (int j = 0; j < 8; j++) s[j] += CONV(w[k + j]) * x[k + j];          \
        float t = 0;                                                                \
        for (; k < n; k++) t += CONV(w[k]) * x[k];                                  \
        return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t; \
    }
#define CONV_F32(v) (v)
SCALAR_DOT(dot_f32, float, CONV_F32)
SCALAR_DOT(dot_f16, uint16_t, seek_fp16_to_fp32)
SCALAR_DOT(dot_bf16, uint16_t, seek_bf16_to_fp32)

#define SCALAR_MM(NAME, WT, DOT)                                                                \
    static void NAME(int64_t n, const uint8_t *w, size_t w_stride, int n_rows, const uint8_t *a, \
                     size_t a_stride, int n_cols, float *out, size_t out_stride) {              \
        for (int c = 0; c < n_cols; c++)                                                        \
            for (int r = 0; r < n_rows; r++)                                                    \
                out[c * out_stride + r] = DOT((const WT *)(w + r * w_stride),                   \
                                              (const float *)(a + c * a_stride), n);            \
    }
SCALAR_MM(mm_f32_scalar, float, dot_f32)
SCALAR_MM(mm_f16_scalar, uint16_t, dot_f16)
SCALAR_MM(mm_bf16_scalar, uint16_t, dot_bf16)

#ifdef KERN_X86
/* ------------------------------------------------------------------------------------ */
/* AVX2: 8 floats per step, sub-tiles of 4 rows x 2 columns */

KT_AVX2 KINLINE float hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

KT_AVX2 KINLINE __m256 ld8_f32(const uint8_t *p) { return _mm256_loadu_ps((const float *)p); }
KT_AVX2 KINLINE __m256 ld8_f16(const uint8_t *p) { return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p)); }
KT_AVX2 KINLINE __m256 ld8_bf16(const uint8_t *p) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16));
}
static inline float cv_f32(const uint8_t *p) { float v; memcpy(&v, p, 4); return v; }
static inline float cv_f16(const uint8_t *p) { return seek_fp16_to_fp32(kern_rd16(p)); }
static inline float cv_bf16(const uint8_t *p) { return seek_bf16_to_fp32(kern_rd16(p)); }

/* Decode (one column) of F16 and BF16: rows 4 at a time (fewer at the end), each group over
 * all its k chunks [k0, k1) before the next; CALL(F, NR) runs one chunk of the NR rows from
 * row r0 with the sub-tile kernel F, passing it the next 4 rows (pf) to ask for into L2, a
 * line per row as each row crosses one. Per (row, column) the walk's arithmetic, so the walk's
 * bits. Why: the walk reads a tile chunk by chunk (KC values of 4 rows, then of the next 4),
 * so each thread's reads jump between up to 32 rows a row length apart; the hardware
 * prefetcher lost track and F16 decode read 10-15 GB/s where the packed quantized kernels
 * read 25-27. */
#define FLOAT_DEC_ROWS(N_ROWS, CALL, F)                                              \
    for (int r0 = 0; r0 < (N_ROWS); r0 += 4)                                        \
        for (int64_t k0 = 0; k0 < n; k0 += KC) {                                    \
            const int64_t k1 = n - k0 < KC ? n : k0 + KC;                           \
            switch ((N_ROWS) - r0 < 4 ? (N_ROWS) - r0 : 4) {                        \
            case 4: CALL(F, 4); break;                                              \
            case 3: CALL(F, 3); break;                                              \
            case 2: CALL(F, 2); break;                                              \
            default: CALL(F, 1); break;                                             \
            }                                                                       \
        }

#define AVX2_FLOAT_MM(NAME, ESZ, LD, CV)                                                        \
    KT_AVX2 KINLINE void NAME##_mk(int nr, int nc, int64_t k0, int64_t k1, const uint8_t *w, size_t ws, \
                                   const uint8_t *a, size_t as, float *out, size_t os,          \
                                   const uint8_t *pf) {                                         \
        __m256 acc[4][4];                                                                       \
        KUNROLL for (int i = 0; i < nr; i++)                                                            \
            KUNROLL for (int j = 0; j < nc; j++) acc[i][j] = _mm256_setzero_ps();                       \
        int64_t k = k0;                                                                         \
        for (; k + 8 <= k1; k += 8) {                                                           \
            if (pf && ((k * (ESZ)) & 63) == 0) /* decode: the next rows' line (FLOAT_DEC_ROWS) */ \
                KUNROLL for (int i = 0; i < nr; i++) _mm_prefetch((const char *)pf + i * ws + k * (ESZ), _MM_HINT_T1); \
            KUNROLL for (int i = 0; i < nr; i++) {                                                      \
                __m256 wv = LD(w + i * ws + k * (ESZ));                                         \
                KUNROLL for (int j = 0; j < nc; j++)                                                    \
                    acc[i][j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps((const float *)(a + j * as) + k), \
                                                acc[i][j]);                                     \
            }                                                                                   \
        }                                                                                       \
        KUNROLL for (int i = 0; i < nr; i++)                                                            \
            KUNROLL for (int j = 0; j < nc; j++) {                                                      \
                float t = 0;                                                                    \
                for (int64_t kk = k; kk < k1; kk++)                                             \
                    t += CV(w + i * ws + kk * (ESZ)) * ((const float *)(a + j * as))[kk];       \
                float v = hsum256(acc[i][j]) + t;                                               \
                out[j * os + i] = k0 ? out[j * os + i] + v : v;                                 \
            }                                                                                   \
    }                                                                                           \
    KT_AVX2 static void NAME(int64_t n, const uint8_t *w, size_t w_stride, int n_rows,           \
                             const uint8_t *a, size_t a_stride, int n_cols, float *out,         \
                             size_t out_stride) {                                               \
        if ((ESZ) == 2 && n_cols == 1) { /* decode (FLOAT_DEC_ROWS) */                        \
            FLOAT_DEC_ROWS(n_rows, K01_DEC, NAME)                                               \
            return;                                                                             \
        }                                                                                       \
        for (int64_t k0 = 0; k0 < n; k0 += KC) {                                                \
            int64_t k1 = n - k0 < KC ? n : k0 + KC;                                             \
            KERN_TILE_WALK(4, 2, NAME##_MKX)                                                    \
        }                                                                                       \
    }
#define mm_f32_avx2_MKX(NR, NC, R0, C0) \
    mm_f32_avx2_mk(NR, NC, k0, k1, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride, NULL)
#define mm_f16_avx2_MKX(NR, NC, R0, C0) \
    mm_f16_avx2_mk(NR, NC, k0, k1, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride, NULL)
#define mm_bf16_avx2_MKX(NR, NC, R0, C0) \
    mm_bf16_avx2_mk(NR, NC, k0, k1, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride, NULL)
/* one decode chunk through a sub-tile kernel NAME##_mk taking k0, k1 (AVX2, vdpbf16ps) */
#define K01_DEC(F, NR) \
    F##_mk(NR, 1, k0, k1, w + (size_t)r0 * w_stride, w_stride, a, a_stride, out + r0, out_stride, w + (size_t)(r0 + 4) * w_stride)
AVX2_FLOAT_MM(mm_f32_avx2, 4, ld8_f32, cv_f32)
AVX2_FLOAT_MM(mm_f16_avx2, 2, ld8_f16, cv_f16)
AVX2_FLOAT_MM(mm_bf16_avx2, 2, ld8_bf16, cv_bf16)

/* ------------------------------------------------------------------------------------ */
/* AVX-512: 16 floats per step, sub-tiles of 4 x 4, tail by masked loads */

KT_AVX512 KINLINE __m512 ld16_f32(const uint8_t *p, __mmask16 m) { return _mm512_maskz_loadu_ps(m, p); }
KT_AVX512 KINLINE __m512 ld16_f16(const uint8_t *p, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p));
}
KT_AVX512 KINLINE __m512 ld16_bf16(const uint8_t *p, __mmask16 m) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p)), 16));
}

/* The 16 sums of a 4 x 4 sub-tile's accumulators a[4 * i + j] (row i, column j), each added
 * in the order _mm512_reduce_add_ps adds one vector (lanes l and l + 8, then l + 4, l + 2,
 * l + 1), so the bits are those of 16 separate reductions, for ~45 instructions instead of
 * ~130. Lane 4 j + i of the result holds row i, column j: column j's 4 rows are 128-bit
 * quarter j. */
KT_AVX512 KINLINE __m512 hsum_4x4(__m512 a[4][4]) {
    __m512 s1[8], s2[4], s3[2];
    KUNROLL for (int p = 0; p < 8; p++)   /* quarters 0-1: a[2p]'s l + (l + 8), 2-3: a[2p+1]'s */
        s1[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[p / 2][2 * (p % 2)], a[p / 2][2 * (p % 2) + 1], 0xEE),
                              _mm512_shuffle_f32x4(a[p / 2][2 * (p % 2)], a[p / 2][2 * (p % 2) + 1], 0x44));
    KUNROLL for (int q = 0; q < 4; q++)   /* quarter k: a[4q + k]'s l + (l + 4), l < 4 */
        s2[q] = _mm512_add_ps(_mm512_shuffle_f32x4(s1[2 * q], s1[2 * q + 1], 0xDD),
                              _mm512_shuffle_f32x4(s1[2 * q], s1[2 * q + 1], 0x88));
    KUNROLL for (int m = 0; m < 2; m++) {   /* per quarter: (l + (l + 2)) of s2[2m], then of s2[2m+1] */
        const __m512d x = _mm512_castps_pd(s2[2 * m]), y = _mm512_castps_pd(s2[2 * m + 1]);
        s3[m] = _mm512_add_ps(_mm512_castpd_ps(_mm512_unpacklo_pd(x, y)), _mm512_castpd_ps(_mm512_unpackhi_pd(x, y)));
    }
    /* per quarter k: element e = the total of s2[e] quarter k = a[4e + k] */
    return _mm512_add_ps(_mm512_shuffle_ps(s3[0], s3[1], 0x88), _mm512_shuffle_ps(s3[0], s3[1], 0xDD));
}

/* One nr x nc sub-tile over len values: weight rows p + i * ps bytes (ESZ-byte values, LD
 * widens 16 of them), activation rows x + j * xs floats; out[j * os + i] = its sum, or +=
 * when add; pf (decode, else NULL): rows to ask for, as FLOAT_DEC_ROWS says. Per (row,
 * column) the arithmetic of every sub-tile shape and weight source: 16 lanes of FMA chains over k (the last step masked), then one reduction in
 * _mm512_reduce_add_ps's order. */
#define AVX512_FLOAT_MK(NAME, ESZ, LD)                                                                   \
    KT_AVX512 KINLINE void NAME(int nr, int nc, int64_t len, const uint8_t *p, size_t ps, const float *x,  \
                                size_t xs, float *out, size_t os, bool add, const uint8_t *pf) {         \
        __m512 acc[4][4];                                                                                \
        KUNROLL for (int i = 0; i < nr; i++)                                                             \
            KUNROLL for (int j = 0; j < nc; j++) acc[i][j] = _mm512_setzero_ps();                        \
        int64_t k = 0;                                                                                   \
        for (; k + 16 <= len; k += 16) {                                                                 \
            if (pf && ((k * (ESZ)) & 63) == 0) /* decode: the next rows' line (FLOAT_DEC_ROWS) */        \
                KUNROLL for (int i = 0; i < nr; i++) _mm_prefetch((const char *)pf + i * ps + k * (ESZ), _MM_HINT_T1); \
            __m512 xv[4]; /* each column's 16 values loaded once for the nr rows */                    \
            KUNROLL for (int j = 0; j < nc; j++) {                                                       \
                xv[j] = _mm512_loadu_ps(x + j * xs + k);                                                 \
                __asm__("" : "+v"(xv[j])); /* in a register: not folded into each row's FMA */           \
            }                                                                                            \
            KUNROLL for (int i = 0; i < nr; i++) {                                                       \
                const __m512 wv = LD(p + i * ps + k * (ESZ), (__mmask16)0xFFFF);                         \
                KUNROLL for (int j = 0; j < nc; j++) acc[i][j] = _mm512_fmadd_ps(wv, xv[j], acc[i][j]);  \
            }                                                                                            \
        }                                                                                                \
        if (k < len) {                                                                                   \
            const __mmask16 m = (__mmask16)((1u << (len - k)) - 1);                                      \
            KUNROLL for (int i = 0; i < nr; i++) {                                                       \
                const __m512 wv = LD(p + i * ps + k * (ESZ), m);                                         \
                KUNROLL for (int j = 0; j < nc; j++)                                                     \
                    acc[i][j] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + j * xs + k), acc[i][j]); \
            }                                                                                            \
        }                                                                                                \
        if (nr == 4 && nc == 4) {                                                                        \
            const __m512 v = hsum_4x4(acc);                                                              \
            KUNROLL for (int j = 0; j < 4; j++) {                                                        \
                __m128 q = j == 0 ? _mm512_castps512_ps128(v) : j == 1 ? _mm512_extractf32x4_ps(v, 1)    \
                         : j == 2 ? _mm512_extractf32x4_ps(v, 2) : _mm512_extractf32x4_ps(v, 3);         \
                if (add) q = _mm_add_ps(_mm_loadu_ps(out + j * os), q);                                  \
                _mm_storeu_ps(out + j * os, q);                                                          \
            }                                                                                            \
            return;                                                                                      \
        }                                                                                                \
        KUNROLL for (int i = 0; i < nr; i++)                                                             \
            KUNROLL for (int j = 0; j < nc; j++) {                                                       \
                const float v = _mm512_reduce_add_ps(acc[i][j]);                                    \
                out[j * os + i] = add ? out[j * os + i] + v : v;                                         \
            }                                                                                            \
    }
AVX512_FLOAT_MK(mk_f32, 4, ld16_f32)
AVX512_FLOAT_MK(mk_f16, 2, ld16_f16)
AVX512_FLOAT_MK(mk_bf16, 2, ld16_bf16)

/* Rows are taken PR at a time. With PANEL_MIN_COLS columns or more, F16 and BF16 rows are
 * widened once per k chunk into an F32 panel (PR x KC floats on the stack, 32 KiB: L1) that
 * every column then reuses - no conversion per (row, 4 columns) - else (decode) they are
 * widened as they are loaded; F32 rows are read in place. The floats multiplied are the
 * same either way, so the bits are too. */
enum { PR = 8, PANEL_MIN_COLS = 8 };
#define MKP_ARGS(NR, NC, R0, C0)                                                                       \
    NR, NC, k1 - k0, p + (R0) * ps, ps, (const float *)(a + (C0) * a_stride) + k0, a_stride / 4,      \
        out + (C0) * out_stride + rb + (R0), out_stride, k0 != 0, NULL
#define MKP_mk_f32(NR, NC, R0, C0) mk_f32(MKP_ARGS(NR, NC, R0, C0))
#define MKP_mk_f16(NR, NC, R0, C0) mk_f16(MKP_ARGS(NR, NC, R0, C0))
#define MKP_mk_bf16(NR, NC, R0, C0) mk_bf16(MKP_ARGS(NR, NC, R0, C0))
#define AVX512_FLOAT_MM(NAME, ESZ, LD, MKD)                                                       \
    KT_AVX512 static void NAME(int64_t n, const uint8_t *w, size_t w_stride, int n_rows_all,             \
                               const uint8_t *a, size_t a_stride, int n_cols, float *out,                \
                               size_t out_stride) {                                                      \
        if ((ESZ) == 2 && n_cols == 1) { /* decode (FLOAT_DEC_ROWS) */                                 \
            const size_t esz = (ESZ);                                                                    \
            FLOAT_DEC_ROWS(n_rows_all, AVX512_DEC, MKD)                                                  \
            return;                                                                                      \
        }                                                                                                \
        float panel[PR * KC] __attribute__((aligned(64)));                                               \
        const bool use_panel = (ESZ) != 4 && n_cols >= PANEL_MIN_COLS;                                   \
        for (int64_t k0 = 0; k0 < n; k0 += KC) {                                                         \
            const int64_t k1 = n - k0 < KC ? n : k0 + KC;                                                \
            for (int rb = 0; rb < n_rows_all; rb += PR) {                                                \
                const int n_rows = n_rows_all - rb < PR ? n_rows_all - rb : PR;                          \
                const uint8_t *p = w + (size_t)rb * w_stride + k0 * (ESZ);                               \
                size_t ps = w_stride;                                                                    \
                if (use_panel) {                                                                         \
                    for (int r = 0; r < n_rows; r++)                                                     \
                        for (int64_t k = k0; k < k1; k += 16) {                                          \
                            const __mmask16 m = k1 - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (k1 - k)) - 1); \
                            _mm512_mask_storeu_ps(panel + r * KC + (k - k0), m,                          \
                                                  LD(w + (size_t)(rb + r) * w_stride + k * (ESZ), m));   \
                        }                                                                                \
                    p = (const uint8_t *)panel, ps = sizeof(float) * KC;                                 \
                    KERN_TILE_WALK(4, 4, MKP_mk_f32)                                                     \
                } else {                                                                                 \
                    KERN_TILE_WALK(4, 4, MKP_##MKD)                                                      \
                }                                                                                        \
            }                                                                                            \
        }                                                                                                \
    }
#define AVX512_DEC(MK, NR)                                                                              \
    MK(NR, 1, k1 - k0, w + (size_t)r0 * w_stride + k0 * esz, w_stride, (const float *)a + k0, 0, out + r0, 1, k0 != 0, \
       w + (size_t)(r0 + 4) * w_stride + k0 * esz)
AVX512_FLOAT_MM(mm_f32_avx512, 4, ld16_f32, mk_f32)   /* F32 decode keeps the walk: in row order it read no faster */
AVX512_FLOAT_MM(mm_f16_avx512, 2, ld16_f16, mk_f16)
AVX512_FLOAT_MM(mm_bf16_avx512, 2, ld16_bf16, mk_bf16)

/* BF16 x BF16 with vdpbf16ps: 32 values (16 pairs) per step, products summed in F32. */
KT_AVX512BF16 static void quant_bf16_avx512(const float *x, void *y, int64_t n) {
    uint16_t *o = y;
    int64_t k = 0;
    for (; k + 16 <= n; k += 16)
        _mm256_storeu_si256((__m256i *)(o + k), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + k)));
    for (; k < n; k++) o[k] = seek_fp32_to_bf16(x[k]);
}

KT_AVX512BF16 KINLINE void mm_bf16dp_mk(int nr, int nc, int64_t k0, int64_t k1, const uint8_t *w, size_t ws,
                                        const uint8_t *a, size_t as, float *out, size_t os, const uint8_t *pf) {
    __m512 acc[4][4];
    KUNROLL for (int i = 0; i < nr; i++)
        KUNROLL for (int j = 0; j < nc; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = k0; k < k1; k += 32) {
        __mmask32 m = k1 - k >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << (k1 - k)) - 1);
        if (pf)   /* decode: the next rows' line (FLOAT_DEC_ROWS) */
            KUNROLL for (int i = 0; i < nr; i++) _mm_prefetch((const char *)pf + i * ws + k * 2, _MM_HINT_T1);
        KUNROLL for (int i = 0; i < nr; i++) {
            __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(m, w + i * ws + k * 2);
            KUNROLL for (int j = 0; j < nc; j++)
                acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv, (__m512bh)_mm512_maskz_loadu_epi16(m, a + j * as + k * 2));
        }
    }
    KUNROLL for (int i = 0; i < nr; i++)
        KUNROLL for (int j = 0; j < nc; j++) {
            float v = _mm512_reduce_add_ps(acc[i][j]);
            out[j * os + i] = k0 ? out[j * os + i] + v : v;
        }
}
#define mm_bf16dp_MKX(NR, NC, R0, C0) \
    mm_bf16dp_mk(NR, NC, k0, k1, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride, NULL)
KT_AVX512BF16 static void mm_bf16dp_avx512(int64_t n, const uint8_t *w, size_t w_stride, int n_rows, const uint8_t *a,
                                           size_t a_stride, int n_cols, float *out, size_t out_stride) {
    if (n_cols == 1) {   /* decode (FLOAT_DEC_ROWS) */
        FLOAT_DEC_ROWS(n_rows, K01_DEC, mm_bf16dp)
        return;
    }
    for (int64_t k0 = 0; k0 < n; k0 += KC) {
        int64_t k1 = n - k0 < KC ? n : k0 + KC;
        KERN_TILE_WALK(4, 4, mm_bf16dp_MKX)
    }
}
#endif /* KERN_X86 */

/* ------------------------------------------------------------------------------------ */

static const kern_entry tab[3][KERN_LEVELS] = {
    /* F32 */ {{SEEK_TYPE_F32, NULL, mm_f32_scalar},
#ifdef KERN_X86
               {SEEK_TYPE_F32, NULL, mm_f32_avx2}, {SEEK_TYPE_F32, NULL, mm_f32_avx512}
#endif
    },
    /* F16 */ {{SEEK_TYPE_F32, NULL, mm_f16_scalar},
#ifdef KERN_X86
               {SEEK_TYPE_F32, NULL, mm_f16_avx2}, {SEEK_TYPE_F32, NULL, mm_f16_avx512}
#endif
    },
    /* BF16 */ {{SEEK_TYPE_F32, NULL, mm_bf16_scalar},
#ifdef KERN_X86
                {SEEK_TYPE_F32, NULL, mm_bf16_avx2}, {SEEK_TYPE_F32, NULL, mm_bf16_avx512}
#endif
    },
};
#ifdef KERN_X86
static const kern_entry bf16_dp = {SEEK_TYPE_BF16, quant_bf16_avx512, mm_bf16dp_avx512};
#endif

const kern_entry *kern_float(seek_type t, kern_level l) {
    int i = t == SEEK_TYPE_F32 ? 0 : t == SEEK_TYPE_F16 ? 1 : t == SEEK_TYPE_BF16 ? 2 : -1;
    if (i < 0) return NULL;
#ifdef KERN_X86
    if (i == 2 && l == KERN_AVX512 && kern_cpu_has_bf16()) return &bf16_dp;
#endif
    return tab[i][l].mm ? &tab[i][l] : NULL;
}
