/* vec.h - small float32 vector loops for the attention and MLA code: dot, axpy, scale.
 *
 * float accumulators only; several independent partial sums so the loop pipelines (and,
 * with AVX2/AVX-512 available at compile time, explicit SIMD). The summation order is
 * fixed for a given n and build, so results do not depend on threads. The heavy matrix
 * products are not here: they go through matmul() (ops.h) and kernels/.
 */
#ifndef SEEK_VEC_H
#define SEEK_VEC_H

#include <math.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "dtype.h"

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__)) || defined(__F16C__)
#include <immintrin.h>
#endif

/* One IEEE half to float (an instruction with F16C). */
static inline float vec_h2f(uint16_t h) {
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return seek_fp16_to_fp32(h);
#endif
}

/* The IEEE half stored (little-endian) at p, as float */
static inline float vec_h2f_at(const uint8_t *p) { return vec_h2f((uint16_t)(p[0] | (uint16_t)p[1] << 8)); }

#if defined(__AVX512F__)
/* e^x for 16 lanes: x = k ln2 + r, |r| <= ln2/2, e^r by its Taylor polynomial to r^7
 * (relative error ~1e-7, below float rounding), then scaled by 2^k. */
static inline __m512 vec_exp16(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));   /* e^-87 ~ 1.6e-38: the sums ignore it */
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 5040);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, k);
}
#endif

/* g[i] = silu(g[i]) * u[i] = g / (1 + e^-g) * u: SwiGLU's elementwise step. The AVX-512
 * form uses vec_exp16 (relative error ~1e-7); the same function for every batch shape, so
 * decode and prefill agree bit for bit. */
static inline void vec_swiglu(float *g, const float *u, size_t n) {
    size_t i = 0;
#if defined(__AVX512F__)
    for (; i + 16 <= n; i += 16) {
        __m512 x = _mm512_loadu_ps(g + i);
        __m512 e = vec_exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
        __m512 s = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_storeu_ps(g + i, _mm512_mul_ps(s, _mm512_loadu_ps(u + i)));
    }
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        __m512 x = _mm512_maskz_loadu_ps(k, g + i);
        __m512 e = vec_exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
        __m512 s = _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
        _mm512_mask_storeu_ps(g + i, k, _mm512_mul_ps(s, _mm512_maskz_loadu_ps(k, u + i)));
    }
#else
    for (; i < n; i++) g[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
#endif
}

/* sum_i a[i] * b[i] */
static inline float vec_dot(const float *a, const float *b, int n) {
    int i = 0;
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    if (i + 16 <= n) { s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0); i += 16; }
    if (i < n) {
        __mmask16 k = (__mmask16)((1u << (n - i)) - 1);
        s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(k, a + i), _mm512_maskz_loadu_ps(k, b + i), s1);
        i = n;
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    if (i + 8 <= n) { s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0); i += 8; }
    s0 = _mm256_add_ps(s0, s1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float s = _mm_cvtss_f32(h);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
#else
    float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (; i + 4 <= n; i += 4) {
        s0 += a[i] * b[i];
        s1 += a[i + 1] * b[i + 1];
        s2 += a[i + 2] * b[i + 2];
        s3 += a[i + 3] * b[i + 3];
    }
    for (; i < n; i++) s0 += a[i] * b[i];
    return (s0 + s1) + (s2 + s3);
#endif
}

/* y[i] += a * x[i] */
static inline void vec_axpy(float *y, float a, const float *x, int n) {
    int i = 0;
#if defined(__AVX512F__)
    __m512 va = _mm512_set1_ps(a);
    for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_loadu_ps(x + i), _mm512_loadu_ps(y + i)));
#elif defined(__AVX2__) && defined(__FMA__)
    __m256 va = _mm256_set1_ps(a);
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
#endif
    for (; i < n; i++) y[i] += a * x[i];
}

/* y[i] *= a */
static inline void vec_scale(float *y, float a, int n) {
    for (int i = 0; i < n; i++) y[i] *= a;
}

/* The same with the first operand in IEEE half precision (F16C where available). */
static inline float vec_dot_f16(const uint16_t *a, const float *b, int n) {
    int i = 0;
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps();
    for (; i + 16 <= n; i += 16)
        s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a + i))), _mm512_loadu_ps(b + i), s0);
    __m256 t = _mm256_setzero_ps();
    if (i + 8 <= n) { t = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))), _mm256_loadu_ps(b + i)); i += 8; }
    float s = _mm512_reduce_add_ps(_mm512_add_ps(s0, _mm512_zextps256_ps512(t)));
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    __m256 s0 = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(a + i))), _mm256_loadu_ps(b + i), s0);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    float s = _mm_cvtss_f32(h);
#else
    float s = 0;
#endif
    for (; i < n; i++) s += vec_h2f(a[i]) * b[i];
    return s;
}

static inline void vec_axpy_f16(float *y, float a, const uint16_t *x, int n) {
    int i = 0;
#if defined(__AVX512F__)
    __m512 va = _mm512_set1_ps(a);
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(va, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i))), _mm512_loadu_ps(y + i)));
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(_mm256_set1_ps(a), _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), _mm256_loadu_ps(y + i)));
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    __m256 va = _mm256_set1_ps(a);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), _mm256_loadu_ps(y + i)));
#endif
    for (; i < n; i++) y[i] += a * vec_h2f(x[i]);
}

/* Four rows at once, for the MLA products (arch_deepseek2.c): the same arithmetic as four
 * calls of the one-row forms above (the same chains of multiply-adds in the same order, so
 * the same bits), interleaved so four independent chains keep the FMA units busy and four
 * weight rows stream together. The interleaved loops exist for AVX-512 and n a multiple of
 * 16; otherwise they are the four calls.
 * o[r] = a[r] . b  for r < 4 (vec_dot_f16 of each row) */
static inline void vec_dot4_f16(float o[4], const uint16_t *a0, const uint16_t *a1, const uint16_t *a2,
                                const uint16_t *a3, const float *b, int n) {
#if defined(__AVX512F__)
    if (n % 16 == 0) {
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int i = 0; i < n; i += 16) {
            const __m512 x = _mm512_loadu_ps(b + i);
            s0 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a0 + i))), x, s0);
            s1 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a1 + i))), x, s1);
            s2 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a2 + i))), x, s2);
            s3 = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(a3 + i))), x, s3);
        }
        const __m512 z = _mm512_setzero_ps();   /* vec_dot_f16 adds its (empty) 8-wide tail */
        o[0] = _mm512_reduce_add_ps(_mm512_add_ps(s0, z));
        o[1] = _mm512_reduce_add_ps(_mm512_add_ps(s1, z));
        o[2] = _mm512_reduce_add_ps(_mm512_add_ps(s2, z));
        o[3] = _mm512_reduce_add_ps(_mm512_add_ps(s3, z));
        return;
    }
#endif
    o[0] = vec_dot_f16(a0, b, n);
    o[1] = vec_dot_f16(a1, b, n);
    o[2] = vec_dot_f16(a2, b, n);
    o[3] = vec_dot_f16(a3, b, n);
}

/* y += c[0] x0, then += c[1] x1, += c[2] x2, += c[3] x3 (four vec_axpy_f16 in that order),
 * y loaded and stored once per 16 values instead of four times. */
static inline void vec_axpy4_f16(float *y, const float c[4], const uint16_t *x0, const uint16_t *x1,
                                 const uint16_t *x2, const uint16_t *x3, int n) {
#if defined(__AVX512F__)
    if (n % 16 == 0) {
        const __m512 c0 = _mm512_set1_ps(c[0]), c1 = _mm512_set1_ps(c[1]), c2 = _mm512_set1_ps(c[2]), c3 = _mm512_set1_ps(c[3]);
        for (int i = 0; i < n; i += 16) {
            __m512 v = _mm512_loadu_ps(y + i);
            v = _mm512_fmadd_ps(c0, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x0 + i))), v);
            v = _mm512_fmadd_ps(c1, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x1 + i))), v);
            v = _mm512_fmadd_ps(c2, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x2 + i))), v);
            v = _mm512_fmadd_ps(c3, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x3 + i))), v);
            _mm512_storeu_ps(y + i, v);
        }
        return;
    }
#endif
    vec_axpy_f16(y, c[0], x0, n);
    vec_axpy_f16(y, c[1], x1, n);
    vec_axpy_f16(y, c[2], x2, n);
    vec_axpy_f16(y, c[3], x3, n);
}

/* ---- Q8_0 rows (MLA's copies of a Q8_0 attn_kv_b, model.c) ----
 * A row of n values (n a multiple of 32) is n/32 blocks of 34 bytes: d (IEEE half) then
 * q[32] (int8); value = d * q, which float holds exactly (11 + 8 significant bits). Each
 * value is formed exactly before it is used, so these compute on the very numbers an F32
 * copy of the dequantized row would hold (the naive MLA order multiplies such a copy). */
enum { VEC_Q8_BLOCK = 34 };

static inline float vec_q8_scale(const uint8_t *blk) { return vec_h2f_at(blk); }

#if defined(__AVX512F__)
/* values j..j+15 of a block (j = 0 or 16) */
static inline __m512 vec_q8_16(const uint8_t *blk, int j, __m512 d) {
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2 + j)))), d);
}
#endif

/* a . b, a a Q8_0 row: one chain of multiply-adds, 16 values a step */
static inline float vec_dot_q8_0(const uint8_t *a, const float *b, int n) {
#if defined(__AVX512F__)
    __m512 s = _mm512_setzero_ps();
    for (int i = 0; i < n; i += 32, a += VEC_Q8_BLOCK) {
        const __m512 d = _mm512_set1_ps(vec_q8_scale(a));
        s = _mm512_fmadd_ps(vec_q8_16(a, 0, d), _mm512_loadu_ps(b + i), s);
        s = _mm512_fmadd_ps(vec_q8_16(a, 16, d), _mm512_loadu_ps(b + i + 16), s);
    }
    return _mm512_reduce_add_ps(s);
#else
    float s = 0;
    for (int i = 0; i < n; i += 32, a += VEC_Q8_BLOCK) {
        const float d = vec_q8_scale(a);
        for (int j = 0; j < 32; j++) s += (d * (float)(int8_t)a[2 + j]) * b[i + j];
    }
    return s;
#endif
}

/* y += c x, x a Q8_0 row */
static inline void vec_axpy_q8_0(float *y, float c, const uint8_t *x, int n) {
#if defined(__AVX512F__)
    const __m512 vc = _mm512_set1_ps(c);
    for (int i = 0; i < n; i += 32, x += VEC_Q8_BLOCK) {
        const __m512 d = _mm512_set1_ps(vec_q8_scale(x));
        _mm512_storeu_ps(y + i, _mm512_fmadd_ps(vc, vec_q8_16(x, 0, d), _mm512_loadu_ps(y + i)));
        _mm512_storeu_ps(y + i + 16, _mm512_fmadd_ps(vc, vec_q8_16(x, 16, d), _mm512_loadu_ps(y + i + 16)));
    }
#else
    for (int i = 0; i < n; i += 32, x += VEC_Q8_BLOCK) {
        const float d = vec_q8_scale(x);
        for (int j = 0; j < 32; j++) y[i + j] += c * (d * (float)(int8_t)x[2 + j]);
    }
#endif
}

/* Four rows at once, the same bits as four calls of the forms above (see vec_dot4_f16).
 * o[r] = a[r] . b */
static inline void vec_dot4_q8_0(float o[4], const uint8_t *a0, const uint8_t *a1, const uint8_t *a2,
                                 const uint8_t *a3, const float *b, int n) {
#if defined(__AVX512F__)
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int i = 0; i < n; i += 32, a0 += VEC_Q8_BLOCK, a1 += VEC_Q8_BLOCK, a2 += VEC_Q8_BLOCK, a3 += VEC_Q8_BLOCK) {
        const __m512 xl = _mm512_loadu_ps(b + i), xh = _mm512_loadu_ps(b + i + 16);
        const __m512 d0 = _mm512_set1_ps(vec_q8_scale(a0)), d1 = _mm512_set1_ps(vec_q8_scale(a1));
        const __m512 d2 = _mm512_set1_ps(vec_q8_scale(a2)), d3 = _mm512_set1_ps(vec_q8_scale(a3));
        s0 = _mm512_fmadd_ps(vec_q8_16(a0, 0, d0), xl, s0);
        s1 = _mm512_fmadd_ps(vec_q8_16(a1, 0, d1), xl, s1);
        s2 = _mm512_fmadd_ps(vec_q8_16(a2, 0, d2), xl, s2);
        s3 = _mm512_fmadd_ps(vec_q8_16(a3, 0, d3), xl, s3);
        s0 = _mm512_fmadd_ps(vec_q8_16(a0, 16, d0), xh, s0);
        s1 = _mm512_fmadd_ps(vec_q8_16(a1, 16, d1), xh, s1);
        s2 = _mm512_fmadd_ps(vec_q8_16(a2, 16, d2), xh, s2);
        s3 = _mm512_fmadd_ps(vec_q8_16(a3, 16, d3), xh, s3);
    }
    o[0] = _mm512_reduce_add_ps(s0);
    o[1] = _mm512_reduce_add_ps(s1);
    o[2] = _mm512_reduce_add_ps(s2);
    o[3] = _mm512_reduce_add_ps(s3);
#else
    o[0] = vec_dot_q8_0(a0, b, n);
    o[1] = vec_dot_q8_0(a1, b, n);
    o[2] = vec_dot_q8_0(a2, b, n);
    o[3] = vec_dot_q8_0(a3, b, n);
#endif
}

/* y += c[0] x0, then c[1] x1, c[2] x2, c[3] x3 (four vec_axpy_q8_0 in that order) */
static inline void vec_axpy4_q8_0(float *y, const float c[4], const uint8_t *x0, const uint8_t *x1,
                                  const uint8_t *x2, const uint8_t *x3, int n) {
#if defined(__AVX512F__)
    const __m512 c0 = _mm512_set1_ps(c[0]), c1 = _mm512_set1_ps(c[1]), c2 = _mm512_set1_ps(c[2]), c3 = _mm512_set1_ps(c[3]);
    for (int i = 0; i < n; i += 32, x0 += VEC_Q8_BLOCK, x1 += VEC_Q8_BLOCK, x2 += VEC_Q8_BLOCK, x3 += VEC_Q8_BLOCK) {
        const __m512 d0 = _mm512_set1_ps(vec_q8_scale(x0)), d1 = _mm512_set1_ps(vec_q8_scale(x1));
        const __m512 d2 = _mm512_set1_ps(vec_q8_scale(x2)), d3 = _mm512_set1_ps(vec_q8_scale(x3));
        for (int j = 0; j < 32; j += 16) {
            __m512 v = _mm512_loadu_ps(y + i + j);
            v = _mm512_fmadd_ps(c0, vec_q8_16(x0, j, d0), v);
            v = _mm512_fmadd_ps(c1, vec_q8_16(x1, j, d1), v);
            v = _mm512_fmadd_ps(c2, vec_q8_16(x2, j, d2), v);
            v = _mm512_fmadd_ps(c3, vec_q8_16(x3, j, d3), v);
            _mm512_storeu_ps(y + i + j, v);
        }
    }
#else
    vec_axpy_q8_0(y, c[0], x0, n);
    vec_axpy_q8_0(y, c[1], x1, n);
    vec_axpy_q8_0(y, c[2], x2, n);
    vec_axpy_q8_0(y, c[3], x3, n);
#endif
}


/* ---- Q4_K rows (MLA's vb from a Q4_K attn_v_b or attn_kv_b, model.c) ----
 * A row of n values (n a multiple of 256) is n/256 super-blocks of 144 bytes: d, dmin (IEEE
 * halves), 12 bytes of 6-bit scales and mins for 8 sub-blocks of 32, then qs[128]: byte
 * 32c + l holds value l of sub-block 2c (low nibble) and of sub-block 2c + 1 (high).
 * value = (d * sc) * q - dmin * m, as seek_dequant_q4_k forms it: d * sc and dmin * m are
 * exact in float (11 + 6 bits), (d * sc) * q too (+ 4 bits), so one rounding, the
 * subtraction; a fused multiply-subtract gives the same bits. So these compute on the very
 * numbers the naive order's F32 copy holds, like the Q8_0 rows above. */
enum { VEC_Q4K_BLOCK = 144 };

#if defined(__AVX512F__)
/* A super-block's d * sc[j] (lanes 0-7) and dmin * m[j] (lanes 8-15), each exact. The 12
 * scale bytes hold four sub-blocks per 32-bit word: scales 0-3 and mins 0-3 are the low 6
 * bits of words 0 and 1; scales 4-7 and mins 4-7 take their low 4 bits from word 2's low and
 * high nibbles and their top 2 bits from the top bits of words 0 and 1. They go to a vector
 * register as two 64-bit halves (a 16-byte load of bytes just stored would stall). */
static inline __m512 vec_q4k_dm(const uint8_t *b) {
    uint32_t w[3];
    memcpy(w, b + 4, 12);
    const uint64_t sc = (w[0] & 0x3f3f3f3fu) | (uint64_t)((w[2] & 0x0f0f0f0fu) | (w[0] >> 6 & 0x03030303u) << 4) << 32;
    const uint64_t mn = (w[1] & 0x3f3f3f3fu) | (uint64_t)((w[2] >> 4 & 0x0f0f0f0fu) | (w[1] >> 6 & 0x03030303u) << 4) << 32;
    const __m512 f = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_set_epi64x((long long)mn, (long long)sc)));
    return _mm512_mul_ps(f, _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(vec_h2f_at(b)), _mm512_set1_ps(vec_h2f_at(b + 2))));
}
#endif

/* a . b for one K-quant row (type t), one chain: the scalar form of the four-row products
 * below (builds without AVX-512), on the dequantizer's own values, a super-block at a time */
static inline float vec_kq_row(seek_type t, const uint8_t *a, const float *b, int n) {
    const size_t blk = seek_row_size(t, 256);
    float s = 0, v[256];
    for (int i = 0; i < n; i += 256) {
        seek_dequantize_row(t, a + (size_t)(i / 256) * blk, v, 256);
        for (int k = 0; k < 256; k++) s += v[k] * b[i + k];
    }
    return s;
}

/* o[r] = a_r . b for four Q4_K rows of n values: two chains per row, eight in flight. The
 * conversions bound it (~1.2-1.35x vec_dot4_q8_0's time per value in cache) while it reads 0.53x
 * Q8_0's bytes and 0.28x F16's. */
static inline void vec_dot4_q4_k(float o[4], const uint8_t *a0, const uint8_t *a1, const uint8_t *a2,
                                 const uint8_t *a3, const float *b, int n) {
    const uint8_t *a[4] = {a0, a1, a2, a3};
#if defined(__AVX512F__)
    __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}, u[4];
    for (int r = 0; r < 4; r++) u[r] = s[r];
    const __m512i m4 = _mm512_set1_epi32(0xf);
    for (int i = 0; i < n; i += 256) {
        const int blk = i / 256 * VEC_Q4K_BLOCK;
        float dm[4][16];
        _Pragma("GCC unroll 4")
        for (int r = 0; r < 4; r++) _mm512_storeu_ps(dm[r], vec_q4k_dm(a[r] + blk));
        _Pragma("GCC unroll 4")
        for (int c = 0; c < 4; c++) {   /* sub-blocks 2c and 2c + 1: values i + 64c .. + 63 */
            const float *xb = b + i + 64 * c;
            const __m512 x0 = _mm512_loadu_ps(xb), x1 = _mm512_loadu_ps(xb + 16);
            const __m512 x2 = _mm512_loadu_ps(xb + 32), x3 = _mm512_loadu_ps(xb + 48);
            _Pragma("GCC unroll 4")
            for (int r = 0; r < 4; r++) {
                const __m512 dl = _mm512_set1_ps(dm[r][2 * c]), ml = _mm512_set1_ps(dm[r][8 + 2 * c]);
                const __m512 dh = _mm512_set1_ps(dm[r][2 * c + 1]), mh = _mm512_set1_ps(dm[r][9 + 2 * c]);
                const uint8_t *q = a[r] + blk + 16 + 32 * c;
                const __m512i q0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)q));
                const __m512i q1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + 16)));
                const __m512 v0 = _mm512_cvtepi32_ps(_mm512_and_si512(q0, m4)), v1 = _mm512_cvtepi32_ps(_mm512_and_si512(q1, m4));
                const __m512 v2 = _mm512_cvtepi32_ps(_mm512_srli_epi32(q0, 4)), v3 = _mm512_cvtepi32_ps(_mm512_srli_epi32(q1, 4));
                s[r] = _mm512_fmadd_ps(_mm512_fmsub_ps(v0, dl, ml), x0, s[r]);
                u[r] = _mm512_fmadd_ps(_mm512_fmsub_ps(v1, dl, ml), x1, u[r]);
                s[r] = _mm512_fmadd_ps(_mm512_fmsub_ps(v2, dh, mh), x2, s[r]);
                u[r] = _mm512_fmadd_ps(_mm512_fmsub_ps(v3, dh, mh), x3, u[r]);
            }
        }
    }
    for (int r = 0; r < 4; r++) o[r] = _mm512_reduce_add_ps(_mm512_add_ps(s[r], u[r]));
#else
    for (int r = 0; r < 4; r++) o[r] = vec_kq_row(SEEK_TYPE_Q4_K, a[r], b, n);
#endif
}

/* ---- Q5_K and Q6_K rows (MLA's vb from a Q5_K_M or Q6_K file's attn_v_b) ----
 * Q5_K: 176 bytes = d, dmin, the 12 scale bytes of Q4_K, qh[32], qs[128]: value l of
 * sub-block j has its low 4 bits where Q4_K has them (qs at 48 + 32 (j / 2) + l, nibble j % 2)
 * and its 5th bit at bit j of qh[l]; value = (d * sc) * q - dmin * m (products exact, one
 * rounding). Q6_K: 210 bytes = ql[128], qh[64], int8 scales[16], d: value l of half h
 * (128 values) has its low 4 bits in ql[64 h + l % 64] (nibble l / 64) and its top 2 in
 * qh[32 h + l % 32] (bits 2 (l / 32)); value = (d * sc) * (q - 32) (d * sc exact, one
 * rounding), with sc the scale of its 16 values. Both as seek_dequant_q5_k / _q6_k form
 * them, so the naive order's F32 copy holds the same numbers. */
enum { VEC_Q5K_BLOCK = 176, VEC_Q6K_BLOCK = 210 };

/* o[r] = a_r . b for four Q5_K rows of n values */
static inline void vec_dot4_q5_k(float o[4], const uint8_t *a0, const uint8_t *a1, const uint8_t *a2,
                                 const uint8_t *a3, const float *b, int n) {
    const uint8_t *a[4] = {a0, a1, a2, a3};
#if defined(__AVX512F__)
    __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}, u[4];
    for (int r = 0; r < 4; r++) u[r] = s[r];
    const __m256i m0f = _mm256_set1_epi8(0x0f), m10 = _mm256_set1_epi8(0x10);
    for (int i = 0; i < n; i += 256) {
        const int blk = i / 256 * VEC_Q5K_BLOCK;
        float dm[4][16];
        _Pragma("GCC unroll 4")
        for (int r = 0; r < 4; r++) _mm512_storeu_ps(dm[r], vec_q4k_dm(a[r] + blk));
        _Pragma("GCC unroll 4")
        for (int c = 0; c < 4; c++) {   /* sub-blocks 2c and 2c + 1 */
            const float *xb = b + i + 64 * c;
            _Pragma("GCC unroll 4")
            for (int r = 0; r < 4; r++) {
                /* the 64 quants as bytes, 32 at a time: low nibbles | bit 2c of qh at bit 4,
                 * then high nibbles | bit 2c + 1 (16-bit shifts; the bits they carry across
                 * a byte are masked away) */
                const __m256i ql = _mm256_loadu_si256((const __m256i *)(a[r] + blk + 48 + 32 * c));
                const __m256i qh = _mm256_loadu_si256((const __m256i *)(a[r] + blk + 16));
                const __m256i h0 = c < 2 ? _mm256_slli_epi16(qh, 4 - 2 * c) : _mm256_srli_epi16(qh, 2 * c - 4);
                const __m256i h1 = c < 2 ? _mm256_slli_epi16(qh, 3 - 2 * c) : _mm256_srli_epi16(qh, 2 * c - 3);
                uint8_t q[64];
                _mm256_storeu_si256((__m256i *)q, _mm256_or_si256(_mm256_and_si256(ql, m0f), _mm256_and_si256(h0, m10)));
                _mm256_storeu_si256((__m256i *)(q + 32),
                                    _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql, 4), m0f), _mm256_and_si256(h1, m10)));
                const __m512 dl = _mm512_set1_ps(dm[r][2 * c]), ml = _mm512_set1_ps(dm[r][8 + 2 * c]);
                const __m512 dh = _mm512_set1_ps(dm[r][2 * c + 1]), mh = _mm512_set1_ps(dm[r][9 + 2 * c]);
                _Pragma("GCC unroll 2")
                for (int k = 0; k < 2; k++) {   /* values 16k .. 16k + 15 of both sub-blocks */
                    const __m512 vl = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + 16 * k))));
                    const __m512 vh = _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(q + 32 + 16 * k))));
                    s[r] = _mm512_fmadd_ps(_mm512_fmsub_ps(vl, dl, ml), _mm512_loadu_ps(xb + 16 * k), s[r]);
                    u[r] = _mm512_fmadd_ps(_mm512_fmsub_ps(vh, dh, mh), _mm512_loadu_ps(xb + 32 + 16 * k), u[r]);
                }
            }
        }
    }
    for (int r = 0; r < 4; r++) o[r] = _mm512_reduce_add_ps(_mm512_add_ps(s[r], u[r]));
#else
    for (int r = 0; r < 4; r++) o[r] = vec_kq_row(SEEK_TYPE_Q5_K, a[r], b, n);
#endif
}

/* o[r] = a_r . b for four Q6_K rows of n values */
static inline void vec_dot4_q6_k(float o[4], const uint8_t *a0, const uint8_t *a1, const uint8_t *a2,
                                 const uint8_t *a3, const float *b, int n) {
    const uint8_t *a[4] = {a0, a1, a2, a3};
#if defined(__AVX512F__) && defined(__AVX512BW__)   /* byte operations on 512-bit vectors */
    __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}, u[4];
    for (int r = 0; r < 4; r++) u[r] = s[r];
    const __m512i m0f = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30), k32 = _mm512_set1_epi8(32);
    for (int i = 0; i < n; i += 256) {
        const int blk = i / 256 * VEC_Q6K_BLOCK;
        float ds[4][16];   /* d * scale of each 16 values */
        _Pragma("GCC unroll 4")
        for (int r = 0; r < 4; r++) {
            const uint8_t *sb = a[r] + blk;
            const float d = vec_h2f_at(sb + 208);
            const __m512 sc = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(sb + 192))));
            _mm512_storeu_ps(ds[r], _mm512_mul_ps(sc, _mm512_set1_ps(d)));
        }
        _Pragma("GCC unroll 2")
        for (int h = 0; h < 2; h++) {   /* values 128h .. 128h + 127 */
            const float *xb = b + i + 128 * h;
            _Pragma("GCC unroll 4")
            for (int r = 0; r < 4; r++) {
                /* the 128 quants as bytes, 64 at a time: value 128h + l of l < 64 has its low
                 * bits in ql[l]'s low nibble and its top 2 in qh[l % 32] bits 2 (l / 32); of
                 * l >= 64 in ql[l - 64]'s high nibble and qh bits 4 + 2 ((l - 64) / 32). So the
                 * qh bytes in both halves of a vector, the upper half shifted by 2, serve both. */
                const uint8_t *sb = a[r] + blk;
                const __m512i ql = _mm512_loadu_si512(sb + 64 * h);
                const __m512i qh = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)(sb + 128 + 32 * h)));
                const __m512i hs = _mm512_mask_srli_epi16(qh, (__mmask32)0xffff0000u, qh, 2);
                int8_t q[128];
                _mm512_storeu_si512(q, _mm512_sub_epi8(_mm512_or_si512(_mm512_and_si512(ql, m0f),
                                                                       _mm512_and_si512(_mm512_slli_epi16(hs, 4), m30)), k32));
                _mm512_storeu_si512(q + 64, _mm512_sub_epi8(_mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(ql, 4), m0f),
                                                                            _mm512_and_si512(hs, m30)), k32));
                _Pragma("GCC unroll 8")
                for (int g = 0; g < 8; g++) {   /* 16 values of scale 8h + g */
                    const __m512 v = _mm512_mul_ps(_mm512_set1_ps(ds[r][8 * h + g]),
                                                   _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(q + 16 * g)))));
                    if (g & 1) u[r] = _mm512_fmadd_ps(v, _mm512_loadu_ps(xb + 16 * g), u[r]);
                    else s[r] = _mm512_fmadd_ps(v, _mm512_loadu_ps(xb + 16 * g), s[r]);
                }
            }
        }
    }
    for (int r = 0; r < 4; r++) o[r] = _mm512_reduce_add_ps(_mm512_add_ps(s[r], u[r]));
#else
    for (int r = 0; r < 4; r++) o[r] = vec_kq_row(SEEK_TYPE_Q6_K, a[r], b, n);
#endif
}

/* The K-quant rows above by type (Q4_K, Q5_K, Q6_K), four at once or one */
static inline void vec_dot4_kq(seek_type t, float o[4], const uint8_t *a0, const uint8_t *a1, const uint8_t *a2,
                               const uint8_t *a3, const float *b, int n) {
    if (t == SEEK_TYPE_Q4_K) vec_dot4_q4_k(o, a0, a1, a2, a3, b, n);
    else if (t == SEEK_TYPE_Q5_K) vec_dot4_q5_k(o, a0, a1, a2, a3, b, n);
    else vec_dot4_q6_k(o, a0, a1, a2, a3, b, n);
}
static inline float vec_dot_kq(seek_type t, const uint8_t *a, const float *b, int n) {
    float o[4];
    vec_dot4_kq(t, o, a, a, a, a, b, n);
    return o[0];
}

#endif
