/* float.c - kernels for float weights: F32, F16, BF16.
 *
 * Layout: a weight row is n plain values (4, 2 or 2 bytes each); activations stay F32
 * (matmul passes x itself), except BF16 weights on a CPU with AVX512_BF16, where the
 * activations are rounded to BF16 once and vdpbf16ps multiplies pairs.
 *
 * Loop order (SIMD levels): for each NR x NC sub-tile, one accumulator register per
 * (row, column); walk k in steps of the vector width: load (and widen) the weight vector
 * of each row once, FMA it into the NC columns' accumulators; tail by masked loads
 * (AVX-512) or a scalar loop (AVX2); reduce each accumulator at the end. */
#include "kern_impl.h"

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

#define AVX2_FLOAT_MM(NAME, ESZ, LD, CV)                                                        \
    KT_AVX2 KINLINE void NAME##_mk(int nr, int nc, int64_t n, const uint8_t *w, size_t ws,      \
                                   const uint8_t *a, size_t as, float *out, size_t os) {        \
        __m256 acc[4][4];                                                                       \
        for (int i = 0; i < nr; i++)                                                            \
            for (int j = 0; j < nc; j++) acc[i][j] = _mm256_setzero_ps();                       \
        int64_t k = 0;                                                                          \
        for (; k + 8 <= n; k += 8)                                                              \
            for (int i = 0; i < nr; i++) {                                                      \
                __m256 wv = LD(w + i * ws + k * (ESZ));                                         \
                for (int j = 0; j < nc; j++)                                                    \
                    acc[i][j] = _mm256_fmadd_ps(wv, _mm256_loadu_ps((const float *)(a + j * as) + k), \
                                                acc[i][j]);                                     \
            }                                                                                   \
        for (int i = 0; i < nr; i++)                                                            \
            for (int j = 0; j < nc; j++) {                                                      \
                float t = 0;                                                                    \
                for (int64_t kk = k; kk < n; kk++)                                              \
                    t += CV(w + i * ws + kk * (ESZ)) * ((const float *)(a + j * as))[kk];       \
                out[j * os + i] = hsum256(acc[i][j]) + t;                                       \
            }                                                                                   \
    }                                                                                           \
    KT_AVX2 static void NAME(int64_t n, const uint8_t *w, size_t w_stride, int n_rows,           \
                             const uint8_t *a, size_t a_stride, int n_cols, float *out,         \
                             size_t out_stride) {                                               \
        KERN_TILE_WALK(4, 2, NAME##_MKX)                                                        \
    }
#define mm_f32_avx2_MKX(NR, NC, R0, C0) \
    mm_f32_avx2_mk(NR, NC, n, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride)
#define mm_f16_avx2_MKX(NR, NC, R0, C0) \
    mm_f16_avx2_mk(NR, NC, n, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride)
#define mm_bf16_avx2_MKX(NR, NC, R0, C0) \
    mm_bf16_avx2_mk(NR, NC, n, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride)
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

#define AVX512_FLOAT_MM(NAME, ESZ, LD)                                                          \
    KT_AVX512 KINLINE void NAME##_mk(int nr, int nc, int64_t n, const uint8_t *w, size_t ws,    \
                                     const uint8_t *a, size_t as, float *out, size_t os) {      \
        __m512 acc[4][4];                                                                       \
        for (int i = 0; i < nr; i++)                                                            \
            for (int j = 0; j < nc; j++) acc[i][j] = _mm512_setzero_ps();                       \
        for (int64_t k = 0; k < n; k += 16) {                                                   \
            __mmask16 m = n - k >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - k)) - 1);   \
            for (int i = 0; i < nr; i++) {                                                      \
                __m512 wv = LD(w + i * ws + k * (ESZ), m);                                      \
                for (int j = 0; j < nc; j++)                                                    \
                    acc[i][j] = _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, (const float *)(a + j * as) + k), \
                                                acc[i][j]);                                     \
            }                                                                                   \
        }                                                                                       \
        for (int i = 0; i < nr; i++)                                                            \
            for (int j = 0; j < nc; j++) out[j * os + i] = _mm512_reduce_add_ps(acc[i][j]);     \
    }                                                                                           \
    KT_AVX512 static void NAME(int64_t n, const uint8_t *w, size_t w_stride, int n_rows,         \
                               const uint8_t *a, size_t a_stride, int n_cols, float *out,       \
                               size_t out_stride) {                                             \
        KERN_TILE_WALK(4, 4, NAME##_MKX)                                                        \
    }
#define mm_f32_avx512_MKX(NR, NC, R0, C0) \
    mm_f32_avx512_mk(NR, NC, n, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride)
#define mm_f16_avx512_MKX(NR, NC, R0, C0) \
    mm_f16_avx512_mk(NR, NC, n, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride)
#define mm_bf16_avx512_MKX(NR, NC, R0, C0) \
    mm_bf16_avx512_mk(NR, NC, n, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride)
AVX512_FLOAT_MM(mm_f32_avx512, 4, ld16_f32)
AVX512_FLOAT_MM(mm_f16_avx512, 2, ld16_f16)
AVX512_FLOAT_MM(mm_bf16_avx512, 2, ld16_bf16)

/* BF16 x BF16 with vdpbf16ps: 32 values (16 pairs) per step, products summed in F32. */
KT_AVX512BF16 static void quant_bf16_avx512(const float *x, void *y, int64_t n) {
    uint16_t *o = y;
    int64_t k = 0;
    for (; k + 16 <= n; k += 16)
        _mm256_storeu_si256((__m256i *)(o + k), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(x + k)));
    for (; k < n; k++) o[k] = seek_fp32_to_bf16(x[k]);
}

KT_AVX512BF16 KINLINE void mm_bf16dp_mk(int nr, int nc, int64_t n, const uint8_t *w, size_t ws, const uint8_t *a,
                                        size_t as, float *out, size_t os) {
    __m512 acc[4][4];
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++) acc[i][j] = _mm512_setzero_ps();
    for (int64_t k = 0; k < n; k += 32) {
        __mmask32 m = n - k >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << (n - k)) - 1);
        for (int i = 0; i < nr; i++) {
            __m512bh wv = (__m512bh)_mm512_maskz_loadu_epi16(m, w + i * ws + k * 2);
            for (int j = 0; j < nc; j++)
                acc[i][j] = _mm512_dpbf16_ps(acc[i][j], wv, (__m512bh)_mm512_maskz_loadu_epi16(m, a + j * as + k * 2));
        }
    }
    for (int i = 0; i < nr; i++)
        for (int j = 0; j < nc; j++) out[j * os + i] = _mm512_reduce_add_ps(acc[i][j]);
}
#define mm_bf16dp_MKX(NR, NC, R0, C0) \
    mm_bf16dp_mk(NR, NC, n, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride, out + (C0) * out_stride + (R0), out_stride)
KT_AVX512BF16 static void mm_bf16dp_avx512(int64_t n, const uint8_t *w, size_t w_stride, int n_rows, const uint8_t *a,
                                           size_t a_stride, int n_cols, float *out, size_t out_stride) {
    KERN_TILE_WALK(4, 4, mm_bf16dp_MKX)
}
#endif /* KERN_X86 */

/* ------------------------------------------------------------------------------------ */

static const kern_entry tab[3][KERN_LEVELS] = {
    /* F32 */ {{SEEK_TYPE_F32, NULL, mm_f32_scalar, NULL},
#ifdef KERN_X86
               {SEEK_TYPE_F32, NULL, mm_f32_avx2, NULL}, {SEEK_TYPE_F32, NULL, mm_f32_avx512, NULL}
#endif
    },
    /* F16 */ {{SEEK_TYPE_F32, NULL, mm_f16_scalar, NULL},
#ifdef KERN_X86
               {SEEK_TYPE_F32, NULL, mm_f16_avx2, NULL}, {SEEK_TYPE_F32, NULL, mm_f16_avx512, NULL}
#endif
    },
    /* BF16 */ {{SEEK_TYPE_F32, NULL, mm_bf16_scalar, NULL},
#ifdef KERN_X86
                {SEEK_TYPE_F32, NULL, mm_bf16_avx2, NULL}, {SEEK_TYPE_F32, NULL, mm_bf16_avx512, NULL}
#endif
    },
};
#ifdef KERN_X86
static const kern_entry bf16_dp = {SEEK_TYPE_BF16, quant_bf16_avx512, mm_bf16dp_avx512, NULL};
#endif

const kern_entry *kern_float(seek_type t, kern_level l) {
    int i = t == SEEK_TYPE_F32 ? 0 : t == SEEK_TYPE_F16 ? 1 : t == SEEK_TYPE_BF16 ? 2 : -1;
    if (i < 0) return NULL;
#ifdef KERN_X86
    if (i == 2 && l == KERN_AVX512 && kern_cpu_has_bf16()) return &bf16_dp;
#endif
    return tab[i][l].mm ? &tab[i][l] : NULL;
}
