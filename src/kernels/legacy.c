/* legacy.c - kernels for the 32-value block types Q8_0, Q4_0, Q5_0, IQ4_NL (activations Q8_0)
 * and Q4_1, Q5_1 (activations Q8_1). The integer dot of a block is exact; floats enter once
 * per block: sum += isum * (d_w * d_a)  (+ m_w * s_a for the _1 types, s_a = d_a * sum(a)).
 *
 * Weight blocks (ggml layouts, see quant.c; "nibbles": value j low, value j+16 high):
 *   Q8_0 34 B  d | qs[32] int8              w = q * d
 *   Q4_0 18 B  d | qs[16] nibbles           w = (q - 8) * d
 *   Q5_0 22 B  d | qh u32 | qs[16]          w = ((q | bit_j(qh) << 4) - 16) * d
 *   Q4_1 20 B  d | m | qs[16]               w = q * d + m
 *   Q5_1 24 B  d | m | qh | qs[16]          w = (q | bit_j(qh) << 4) * d + m
 *   IQ4_NL 18 B d | qs[16] nibbles          w = grid[q] * d  (16 int8 levels, -127..113)
 * Activation quantization follows ggml's x86 quantize_row_q8_0 / q8_1 (what the other
 * engines run here): d = amax / 127, q = round-half-even(x * (127 / amax)), d stored as
 * fp16; Q8_1 adds s = fp16(d * sum q). Scalar, AVX2 and AVX-512 write the same values.
 *
 * Scalar and AVX2 use the plain block_q8_0 / block_q8_1 rows. AVX-512 regroups them by 4
 * blocks (128 values, 160 bytes), the shape vpdpbusd wants:
 *   qa[64]  128-bit lane k = values 0..15 of block k     (int8)
 *   qb[64]  128-bit lane k = values 16..31 of block k
 *   sc[4]   float d_k
 *   ex[4]   _0 types: int32 -K * (sum of block k's 32 values), K = 128, 8, 16 for Q8_0,
 *                     Q4_0, Q5_0 (their unsigned offset: see below)
 *           _1 types: float s_k
 * (160 bytes: the prefill kernels read every activation byte once per 16 weight rows, so
 * a compact row keeps more of a tile's columns in L1/L2)
 * vpdpbusd multiplies unsigned x signed bytes, so weights enter unsigned: Q4/Q5 nibbles
 * as stored (0..15 / 0..31), Q8_0 as w + 128 (w ^ 0x80), IQ4_NL as grid[q] + 128 (one
 * vpshufb of the nibbles into the shifted grid; K = 128 as Q8_0); starting the int32
 * accumulator at ex removes the offset exactly. The AVX-512 matrix kernels are in
 * legacy_avx512.c (one output row per lane); this file keeps their activation converter.
 * The last group of a row is padded with zero blocks. */
#include "kern_impl.h"

#include <math.h>

enum { QK = 32 };

static inline float f16(const uint8_t *p) { return seek_fp16_to_fp32(kern_rd16(p)); }
static bool is_q81(seek_type t) { return t == SEEK_TYPE_Q4_1 || t == SEEK_TYPE_Q5_1; }

/* ------------------------------------------------------------------------------------ */
/* activation quantization, scalar (the definition the SIMD versions reproduce) */

/* One block: the quants and the unrounded scale d. */
static float quant_block_scalar(const float *x, int8_t *q) {
    float amax = 0.0f;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
    for (int j = 0; j < QK; j++) {
        float v = nearbyintf(x[j] * id);   /* default rounding mode: half to even */
        q[j] = (int8_t)(v != v ? -128 : v > 127.f ? 127 : v < -128.f ? -128 : (int)v);
    }
    return d;
}

static void quant_q8_0_scalar(const float *x, void *y, int64_t n) {
    uint8_t *b = y;
    for (int64_t i = 0; i < n / QK; i++, b += 34, x += QK) {
        float d = quant_block_scalar(x, (int8_t *)(b + 2));
        uint16_t h = seek_fp32_to_fp16(d);
        memcpy(b, &h, 2);
    }
}

static void quant_q8_1_scalar(const float *x, void *y, int64_t n) {
    uint8_t *b = y;
    for (int64_t i = 0; i < n / QK; i++, b += 36, x += QK) {
        int8_t *q = (int8_t *)(b + 4);
        float d = quant_block_scalar(x, q);
        int sum = 0;
        for (int j = 0; j < QK; j++) sum += q[j];
        uint16_t h[2] = {seek_fp32_to_fp16(d), seek_fp32_to_fp16(d * (float)sum)};
        memcpy(b, h, 4);
    }
}

/* ------------------------------------------------------------------------------------ */
/* scalar products */

/* Block b of a row as integers w[32] (offset removed for the _0 types), scale, min. */
static void unpack_scalar(seek_type t, const uint8_t *b, int w[QK], float *d, float *m) {
    *d = f16(b);
    *m = 0.0f;
    switch (t) {
    case SEEK_TYPE_Q8_0:
        for (int j = 0; j < QK; j++) w[j] = (int8_t)b[2 + j];
        break;
    case SEEK_TYPE_Q4_0:
        for (int j = 0; j < 16; j++) w[j] = (b[2 + j] & 15) - 8, w[j + 16] = (b[2 + j] >> 4) - 8;
        break;
    case SEEK_TYPE_IQ4_NL:
        for (int j = 0; j < 16; j++)
            w[j] = seek_iq4_nl_values[b[2 + j] & 15], w[j + 16] = seek_iq4_nl_values[b[2 + j] >> 4];
        break;
    case SEEK_TYPE_Q5_0: {
        uint32_t qh = kern_rd32(b + 2);
        for (int j = 0; j < 16; j++) {
            w[j] = ((b[6 + j] & 15) | (int)(qh >> j & 1) << 4) - 16;
            w[j + 16] = ((b[6 + j] >> 4) | (int)(qh >> (j + 16) & 1) << 4) - 16;
        }
        break;
    }
    case SEEK_TYPE_Q4_1:
        *m = f16(b + 2);
        for (int j = 0; j < 16; j++) w[j] = b[4 + j] & 15, w[j + 16] = b[4 + j] >> 4;
        break;
    default: { /* Q5_1 */
        *m = f16(b + 2);
        uint32_t qh = kern_rd32(b + 4);
        for (int j = 0; j < 16; j++) {
            w[j] = (b[8 + j] & 15) | (int)(qh >> j & 1) << 4;
            w[j + 16] = (b[8 + j] >> 4) | (int)(qh >> (j + 16) & 1) << 4;
        }
    }
    }
}

static void mm_scalar(seek_type t, int bb, int64_t n, const uint8_t *w, size_t w_stride, int n_rows,
                      const uint8_t *a, size_t a_stride, int n_cols, float *out, size_t out_stride) {
    bool q81 = is_q81(t);
    int ab = q81 ? 36 : 34, aq = q81 ? 4 : 2;
    for (int r = 0; r < n_rows; r++)
        for (int c = 0; c < n_cols; c++) {
            const uint8_t *wb = w + r * w_stride, *xb = a + c * a_stride;
            float sum = 0.0f;
            for (int64_t i = 0; i < n / QK; i++, wb += bb, xb += ab) {
                int wq[QK], isum = 0;
                float d, m;
                unpack_scalar(t, wb, wq, &d, &m);
                for (int j = 0; j < QK; j++) isum += wq[j] * (int8_t)xb[aq + j];
                sum += (float)isum * (d * f16(xb));
                if (q81) sum += m * f16(xb + 2);
            }
            out[c * out_stride + r] = sum;
        }
}

#define SCALAR_MM(NAME, T, BB)                                                                   \
    static void NAME(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                     int nc, float *out, size_t os) {                                             \
        mm_scalar(T, BB, n, w, ws, nr, a, as, nc, out, os);                                       \
    }
SCALAR_MM(mm_q8_0_scalar, SEEK_TYPE_Q8_0, 34)
SCALAR_MM(mm_q4_0_scalar, SEEK_TYPE_Q4_0, 18)
SCALAR_MM(mm_q5_0_scalar, SEEK_TYPE_Q5_0, 22)
SCALAR_MM(mm_q4_1_scalar, SEEK_TYPE_Q4_1, 20)
SCALAR_MM(mm_q5_1_scalar, SEEK_TYPE_Q5_1, 24)
SCALAR_MM(mm_iq4_nl_scalar, SEEK_TYPE_IQ4_NL, 18)

#ifdef KERN_X86
/* ------------------------------------------------------------------------------------ */
/* AVX2 */

/* 32 floats -> 32 int8 (in order) and the unrounded scale; same values as the scalar. */
KT_AVX2 KINLINE float quant_block_avx2(const float *x, __m256i *q) {
    __m256 v[4], sign = _mm256_set1_ps(-0.0f), mx = _mm256_setzero_ps();
    for (int i = 0; i < 4; i++) {
        v[i] = _mm256_loadu_ps(x + 8 * i);
        mx = _mm256_max_ps(mx, _mm256_andnot_ps(sign, v[i]));
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    float amax = _mm_cvtss_f32(m4);
    float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
    __m256i iv[4];
    for (int i = 0; i < 4; i++)
        iv[i] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[i], _mm256_set1_ps(id)),
                                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(iv[0], iv[1]), _mm256_packs_epi32(iv[2], iv[3]));
    *q = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    return d;
}

KT_AVX2 static void quant_q8_0_avx2(const float *x, void *y, int64_t n) {
    uint8_t *b = y;
    for (int64_t i = 0; i < n / QK; i++, b += 34, x += QK) {
        __m256i q;
        uint16_t h = seek_fp32_to_fp16(quant_block_avx2(x, &q));
        memcpy(b, &h, 2);
        _mm256_storeu_si256((__m256i *)(b + 2), q);
    }
}

KT_AVX2 static void quant_q8_1_avx2(const float *x, void *y, int64_t n) {
    uint8_t *b = y;
    for (int64_t i = 0; i < n / QK; i++, b += 36, x += QK) {
        __m256i q;
        float d = quant_block_avx2(x, &q);
        uint16_t h[2] = {seek_fp32_to_fp16(d), seek_fp32_to_fp16(d * (float)hsum_i8_avx2(q))};
        memcpy(b, h, 4);
        _mm256_storeu_si256((__m256i *)(b + 4), q);
    }
}

KT_AVX2 KINLINE __m256i nibbles(const uint8_t *qs) {
    __m128i v = _mm_loadu_si128((const __m128i *)qs);
    __m256i lohi = _mm256_set_m128i(_mm_srli_epi16(v, 4), v);
    return _mm256_and_si256(lohi, _mm256_set1_epi8(15));
}

/* The weight block as 32 bytes in value order: signed (q - offset) for the _0 types,
 * unsigned q for the _1 types; d and m. */
KT_AVX2 KINLINE __m256i unpack_avx2(seek_type t, const uint8_t *b, float *d, float *m) {
    *d = _cvtsh_ss(kern_rd16(b));
    switch (t) {
    case SEEK_TYPE_Q8_0: return _mm256_loadu_si256((const __m256i *)(b + 2));
    case SEEK_TYPE_Q4_0: return _mm256_sub_epi8(nibbles(b + 2), _mm256_set1_epi8(8));
    case SEEK_TYPE_IQ4_NL: {
        __m128i g = _mm_loadu_si128((const __m128i *)seek_iq4_nl_values);
        return _mm256_shuffle_epi8(_mm256_set_m128i(g, g), nibbles(b + 2));
    }
    case SEEK_TYPE_Q5_0: {
        __m256i hb = _mm256_and_si256(bits_to_bytes(kern_rd32(b + 2)), _mm256_set1_epi8(16));
        return _mm256_sub_epi8(_mm256_or_si256(nibbles(b + 6), hb), _mm256_set1_epi8(16));
    }
    case SEEK_TYPE_Q4_1: *m = _cvtsh_ss(kern_rd16(b + 2)); return nibbles(b + 4);
    default: { /* Q5_1 */
        *m = _cvtsh_ss(kern_rd16(b + 2));
        __m256i hb = _mm256_and_si256(bits_to_bytes(kern_rd32(b + 4)), _mm256_set1_epi8(16));
        return _mm256_or_si256(nibbles(b + 8), hb);
    }
    }
}

/* lane p of the result = the sum of v[p]'s 8 int32 lanes */
KT_AVX2 KINLINE __m256i hsum8x8(const __m256i v[8]) {
    const __m256i ab = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    const __m256i cd = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
    /* ab: v0..v3 summed over lanes 0..3 | the same over lanes 4..7; cd: v4..v7 */
    return _mm256_add_epi32(_mm256_permute2x128_si256(ab, cd, 0x20), _mm256_permute2x128_si256(ab, cd, 0x31));
}

/* NR x NC sub-tile (NR x NC <= 8 (row, column) pairs, lane p = i NC + j of one ymm): per
 * block, unpack each weight row once, then for each column
 *   signed w:   maddubs(|w|, sign(a, w))   unsigned w: maddubs(w, a)
 * -> madd with 1 -> 8 int32; the pairs' 8 vectors summed across lanes into one (the exact
 * block integers sumi), then per pair acc = fmaf(d_w x d_a, (float)sumi, acc) (+ fmaf(m_w,
 * s_a, acc) for the _1 types): the AVX-512 kernels' arithmetic, so plain and packed weights
 * (legacy_packed_avx2.c) give the same bits at this level. */
KT_AVX2 KINLINE void leg_avx2_mk(seek_type t, int bb, int nr, int nc, int64_t n, const uint8_t *w, size_t ws,
                                 const uint8_t *a, size_t as, float *out, size_t os) {
    if (nr * nc > 8) __builtin_unreachable();   /* KERN_TILE_WALK(4, 2): the walk's other cases never run */
    const bool q81 = is_q81(t);
    const int ab = q81 ? 36 : 34, aq = q81 ? 4 : 2;
    __m256 acc = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t k = 0; k < n / QK; k++) {
        if (nc == 1 && n <= KERN_PF_MAX_N) kern_prefetch(w + nr * ws + k * nr * bb, (size_t)(nr * bb));   /* kernels.h */
        __m256i s[8];
        float dw[8] = {0}, da[8] = {0}, mw[8] = {0}, sa[8] = {0};
        KUNROLL for (int p = 0; p < 8; p++) s[p] = _mm256_setzero_si256();
        KUNROLL for (int i = 0; i < nr; i++) {
            float d, m = 0.0f;
            __m256i wv = unpack_avx2(t, w + i * ws + k * bb, &d, &m);
            __m256i wabs = q81 ? wv : _mm256_sign_epi8(wv, wv);
            KUNROLL for (int j = 0; j < nc; j++) {
                const uint8_t *xb = a + j * as + k * ab;
                __m256i av = _mm256_loadu_si256((const __m256i *)(xb + aq));
                if (!q81) av = _mm256_sign_epi8(av, wv);
                s[i * nc + j] = _mm256_madd_epi16(_mm256_maddubs_epi16(wabs, av), ones);
                dw[i * nc + j] = d, da[i * nc + j] = _cvtsh_ss(kern_rd16(xb));
                if (q81) mw[i * nc + j] = m, sa[i * nc + j] = _cvtsh_ss(kern_rd16(xb + 2));
            }
        }
        const __m256 dd = _mm256_mul_ps(_mm256_loadu_ps(dw), _mm256_loadu_ps(da));
        acc = _mm256_fmadd_ps(dd, _mm256_cvtepi32_ps(hsum8x8(s)), acc);
        if (q81) acc = _mm256_fmadd_ps(_mm256_loadu_ps(mw), _mm256_loadu_ps(sa), acc);
    }
    float o[8];
    _mm256_storeu_ps(o, acc);
    KUNROLL for (int i = 0; i < nr; i++)
        KUNROLL for (int j = 0; j < nc; j++) out[j * os + i] = o[i * nc + j];
}

#define AVX2_MM(NAME, T, BB)                                                                          \
    KT_AVX2 static void NAME(int64_t n, const uint8_t *w, size_t w_stride, int n_rows, const uint8_t *a, \
                             size_t a_stride, int n_cols, float *out, size_t out_stride) {              \
        KERN_TILE_WALK(4, 2, LEG_AVX2_MKX)                                                              \
    }
#define LEG_AVX2_MKX(NR, NC, R0, C0)                                                                    \
    leg_avx2_mk(T_, BB_, NR, NC, n, w + (R0) * w_stride, w_stride, a + (C0) * a_stride, a_stride,       \
                out + (C0) * out_stride + (R0), out_stride)
#define T_ SEEK_TYPE_Q8_0
#define BB_ 34
AVX2_MM(mm_q8_0_avx2, , )
#undef T_
#undef BB_
#define T_ SEEK_TYPE_Q4_0
#define BB_ 18
AVX2_MM(mm_q4_0_avx2, , )
#undef T_
#undef BB_
#define T_ SEEK_TYPE_Q5_0
#define BB_ 22
AVX2_MM(mm_q5_0_avx2, , )
#undef T_
#undef BB_
#define T_ SEEK_TYPE_Q4_1
#define BB_ 20
AVX2_MM(mm_q4_1_avx2, , )
#undef T_
#undef BB_
#define T_ SEEK_TYPE_Q5_1
#define BB_ 24
AVX2_MM(mm_q5_1_avx2, , )
#undef T_
#undef BB_
#define T_ SEEK_TYPE_IQ4_NL
#define BB_ 18
AVX2_MM(mm_iq4_nl_avx2, , )
#undef T_
#undef BB_

/* ------------------------------------------------------------------------------------ */
/* AVX-512 (VNNI): activations regrouped by 4 blocks, see the top of the file */

enum { GRP = 4 * QK, GRP_BYTES = 160 };
static size_t q8x4_row_bytes(int64_t n) { return (size_t)((n / QK + 3) / 4) * GRP_BYTES; }

/* 32 floats -> int8 halves (values 0..15, 16..31) and the unrounded scale. */
KT_AVX512 KINLINE float quant_block_avx512(const float *x, __m128i *lo, __m128i *hi) {
    __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    float d = amax / 127.f, id = amax != 0.0f ? 127.f / amax : 0.0f;
    __m512 vid = _mm512_set1_ps(id);
    /* cvtps rounds half to even (MXCSR default); the saturating narrow matches packs */
    *lo = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v0, vid)));
    *hi = _mm512_cvtsepi32_epi8(_mm512_cvtps_epi32(_mm512_mul_ps(v1, vid)));
    return d;
}

/* K > 0: the _0 form with offset K; K == 0: the _1 form. */
KT_AVX512 KINLINE void quant_q8x4_avx512(const float *x, uint8_t *y, int64_t n, int K) {
    const int64_t nb = n / QK;
    for (int64_t g = 0; g < nb; g += 4, y += GRP_BYTES) {
        __m128i lo[4], hi[4];
        float sc[4] = {0}, ex[4] = {0};
        for (int k = 0; k < 4; k++) {
            if (g + k < nb) {
                float d = quant_block_avx512(x + (g + k) * QK, &lo[k], &hi[k]);
                float dr = seek_fp16_to_fp32(seek_fp32_to_fp16(d));
                sc[k] = dr;
                if (!K) {
                    __m128i s = _mm_add_epi32(_mm_dpbusd_epi32(_mm_setzero_si128(), _mm_set1_epi8(1), lo[k]),
                                              _mm_dpbusd_epi32(_mm_setzero_si128(), _mm_set1_epi8(1), hi[k]));
                    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
                    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
                    ex[k] = seek_fp16_to_fp32(seek_fp32_to_fp16(d * (float)_mm_cvtsi128_si32(s)));
                }
            } else {
                lo[k] = hi[k] = _mm_setzero_si128();
            }
        }
        __m512i qa = _mm512_inserti32x4(_mm512_castsi128_si512(lo[0]), lo[1], 1);
        qa = _mm512_inserti32x4(_mm512_inserti32x4(qa, lo[2], 2), lo[3], 3);
        __m512i qb = _mm512_inserti32x4(_mm512_castsi128_si512(hi[0]), hi[1], 1);
        qb = _mm512_inserti32x4(_mm512_inserti32x4(qb, hi[2], 2), hi[3], 3);
        _mm512_storeu_si512(y, qa);
        _mm512_storeu_si512(y + 64, qb);
        memcpy(y + 128, sc, 16);
        if (K) {
            __m512i s = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_set1_epi8(1), qa);
            s = _mm512_dpbusd_epi32(s, _mm512_set1_epi8(1), qb);
            /* the blocks' sums (one broadcast starts a column's int32 sum) */
            s = _mm512_add_epi32(s, _mm512_shuffle_epi32(s, _MM_PERM_BADC));
            s = _mm512_add_epi32(s, _mm512_shuffle_epi32(s, _MM_PERM_CDAB));
            s = _mm512_maskz_compress_epi32(0x1111, _mm512_mullo_epi32(s, _mm512_set1_epi32(-K)));
            _mm_storeu_si128((__m128i *)(y + 144), _mm512_castsi512_si128(s));
        } else {
            memcpy(y + 144, ex, 16);
        }
    }
}

KT_AVX512 static void quant_q8x4_k128(const float *x, void *y, int64_t n) { quant_q8x4_avx512(x, y, n, 128); }
KT_AVX512 static void quant_q8x4_k8(const float *x, void *y, int64_t n) { quant_q8x4_avx512(x, y, n, 8); }
KT_AVX512 static void quant_q8x4_k16(const float *x, void *y, int64_t n) { quant_q8x4_avx512(x, y, n, 16); }
KT_AVX512 static void quant_q8x4_k0(const float *x, void *y, int64_t n) { quant_q8x4_avx512(x, y, n, 0); }

/* the matrix kernels of this level: legacy_avx512.c (one output row per lane) */
#define LEG512(name) void kern_mm_##name##_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, \
                                                  size_t as, int nc, float *out, size_t os);
LEG512(q8_0)
LEG512(q4_0)
LEG512(q5_0)
LEG512(q4_1)
LEG512(q5_1)
LEG512(iq4_nl)
#endif /* KERN_X86 */

/* ------------------------------------------------------------------------------------ */

enum { I_Q8_0, I_Q4_0, I_Q5_0, I_Q4_1, I_Q5_1, I_IQ4_NL, I_N };

static const kern_entry tab[I_N][KERN_LEVELS] = {
    [I_Q8_0] = {{SEEK_TYPE_Q8_0, quant_q8_0_scalar, mm_q8_0_scalar},
#ifdef KERN_X86
                {SEEK_TYPE_Q8_0, quant_q8_0_avx2, mm_q8_0_avx2},
                {SEEK_TYPE_Q8_0, quant_q8x4_k128, kern_mm_q8_0_avx512}
#endif
    },
    [I_Q4_0] = {{SEEK_TYPE_Q8_0, quant_q8_0_scalar, mm_q4_0_scalar},
#ifdef KERN_X86
                {SEEK_TYPE_Q8_0, quant_q8_0_avx2, mm_q4_0_avx2},
                {SEEK_TYPE_Q8_0, quant_q8x4_k8, kern_mm_q4_0_avx512}
#endif
    },
    [I_Q5_0] = {{SEEK_TYPE_Q8_0, quant_q8_0_scalar, mm_q5_0_scalar},
#ifdef KERN_X86
                {SEEK_TYPE_Q8_0, quant_q8_0_avx2, mm_q5_0_avx2},
                {SEEK_TYPE_Q8_0, quant_q8x4_k16, kern_mm_q5_0_avx512}
#endif
    },
    [I_Q4_1] = {{SEEK_TYPE_Q8_1, quant_q8_1_scalar, mm_q4_1_scalar},
#ifdef KERN_X86
                {SEEK_TYPE_Q8_1, quant_q8_1_avx2, mm_q4_1_avx2},
                {SEEK_TYPE_Q8_1, quant_q8x4_k0, kern_mm_q4_1_avx512}
#endif
    },
    [I_Q5_1] = {{SEEK_TYPE_Q8_1, quant_q8_1_scalar, mm_q5_1_scalar},
#ifdef KERN_X86
                {SEEK_TYPE_Q8_1, quant_q8_1_avx2, mm_q5_1_avx2},
                {SEEK_TYPE_Q8_1, quant_q8x4_k0, kern_mm_q5_1_avx512}
#endif
    },
    /* weights grid[q] + 128 at AVX-512: the offset K = 128 of Q8_0 */
    [I_IQ4_NL] = {{SEEK_TYPE_Q8_0, quant_q8_0_scalar, mm_iq4_nl_scalar},
#ifdef KERN_X86
                  {SEEK_TYPE_Q8_0, quant_q8_0_avx2, mm_iq4_nl_avx2},
                  {SEEK_TYPE_Q8_0, quant_q8x4_k128, kern_mm_iq4_nl_avx512}
#endif
    },
};

size_t kern_legacy_act_row_bytes(const kern_entry *e, int64_t n) {
#ifdef KERN_X86
    for (int i = 0; i < I_N; i++)
        if (e == &tab[i][KERN_AVX512]) return q8x4_row_bytes(n);
#endif
    (void)e, (void)n;
    return 0;
}

const kern_entry *kern_legacy(seek_type t, kern_level l) {
    int i = t == SEEK_TYPE_Q8_0 ? I_Q8_0 : t == SEEK_TYPE_Q4_0 ? I_Q4_0 : t == SEEK_TYPE_Q5_0 ? I_Q5_0
          : t == SEEK_TYPE_Q4_1 ? I_Q4_1 : t == SEEK_TYPE_Q5_1 ? I_Q5_1 : t == SEEK_TYPE_IQ4_NL ? I_IQ4_NL : -1;
    if (i < 0) return NULL;
    return tab[i][l].mm ? &tab[i][l] : NULL;
}
