/* kquants_avx2.c - K-quant tile kernels for KERN_AVX2 (AVX2 + FMA + F16C).
 *
 * Same arithmetic as kquants_scalar.c (block layouts drawn there; integer and float steps
 * in kquants_impl.h), so every (row, column) gives the same bits at every level.
 *
 * Block layouts (bytes, as ggml's; bit-level formulas in kquants_scalar.c):
 *   Q2_K  84: scales[16] (scale | min << 4 per group of 16) | qs[64] (2-bit) | d | dmin
 *   Q3_K 110: hmask[32] (3rd bit) | qs[64] (low 2 bits) | scales[12] (16 x 6-bit) | d
 *   Q4_K 144: d | dmin | scales[12] (8 scales + 8 mins, 6-bit) | qs[128] (nibbles)
 *   Q5_K 176: d | dmin | scales[12] | qh[32] (5th bit) | qs[128]
 *   Q6_K 210: ql[128] (low nibbles) | qh[64] (top 2 bits) | scales[16] (int8) | d
 *   Q8_K 292: float d | int8 qs[256] | int16 bsums[16]   (the activations)
 *
 * A weight super-block is unpacked into eight ymm of unsigned quants, q[k] = values
 * 32k..32k+31. vpmaddubsw (unsigned weight x signed Q8_K activation) gives int16 pair sums
 * (at most 2 * 63 * 128, no saturation); int16 lanes 0-7 belong to group 2k and 8-15 to
 * group 2k+1, so vpmaddwd with a vector holding each group's scale in both halves of the
 * int32 lane multiplies and pairs them exactly. Eight int32 lanes per (row, column) are
 * summed at the end of each super-block by a transposing tree over 8 pairs (hsum8).
 *
 * Loop order:
 *   n_cols == 1 (decode): 8 rows at a time, each row's block unpacked in registers (Q4_K and
 *     Q5_K: the 8 rows' headers are transposed and decoded together, see decode8_k4).
 *   n_cols >= 2 (prefill): 4 rows at a time; up to 8 super-blocks of them are unpacked
 *     into a stack buffer (quants and per-chunk scale vectors), then every pair of columns
 *     runs over it: per 32 values, 4 weight loads x 2 activation loads feed 8 vpmaddubsw.
 */
#if defined(__x86_64__)   /* the whole file: x86-64 only */
#include <immintrin.h>
#include <string.h>

#include "kquants_impl.h"
#include "q4k_hdr256.h"

#define KQ_TARGET __attribute__((target("avx2,fma,f16c")))
#define KQ_INLINE static inline __attribute__((always_inline)) KQ_TARGET

/* One super-block of one weight row, unpacked into registers. */
typedef struct {
    __m256i q[8];      /* unsigned quants, 32 per register */
    __m256i scd[2];    /* int32 lane g (of groups 0-7, 8-15): the group's scale in both int16 halves */
    __m256i mb;        /* int16 [16]: offset multiplier per group (kquants_impl.h) */
    __m128 dd;         /* d, dm */
} kq_row;

KQ_INLINE __m128 d_dmin(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm_xor_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(v)), _mm_setr_ps(0.0f, -0.0f, 0.0f, 0.0f));
}
KQ_INLINE __m128 d_only(const uint8_t *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return _mm_cvtph_ps(_mm_cvtsi32_si128(v));
}
KQ_INLINE uint32_t rd32(const uint8_t *p) {
    uint32_t u;
    memcpy(&u, p, 4);
    return u;
}
KQ_INLINE __m256i bytes(int v) { return _mm256_set1_epi8((char)v); }
KQ_INLINE __m256i ld(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/* scd from 16 int8 scales (signed or not: only their low 16 bits matter) */
KQ_INLINE void set_scales(kq_row *u, __m128i s, int is_signed) {
    __m256i lo = is_signed ? _mm256_cvtepi8_epi32(s) : _mm256_cvtepu8_epi32(s);
    __m256i hi = is_signed ? _mm256_cvtepi8_epi32(_mm_srli_si128(s, 8)) : _mm256_cvtepu8_epi32(_mm_srli_si128(s, 8));
    __m256i m16 = _mm256_set1_epi32(0xFFFF);
    lo = _mm256_and_si256(lo, m16);
    hi = _mm256_and_si256(hi, m16);
    u->scd[0] = _mm256_or_si256(lo, _mm256_slli_epi32(lo, 16));
    u->scd[1] = _mm256_or_si256(hi, _mm256_slli_epi32(hi, 16));
}

/* ---- unpacking, one function per type ---- */

/* bits 2*sh.. of the 2-bit field: qs bytes, chunk k of Q2_K/Q3_K uses shift 2*(k%4) of bytes 32*(k/4) */
KQ_INLINE __m256i two_bits(__m256i x, int sh) { return _mm256_and_si256(_mm256_srli_epi16(x, sh), bytes(3)); }

KQ_INLINE void unpack_q2k(const uint8_t *b, kq_row *u) {
    __m128i s = _mm_loadu_si128((const __m128i *)b), lo = _mm_set1_epi8(15);
    set_scales(u, _mm_and_si128(s, lo), 0);
    u->mb = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), lo));
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {
        __m256i qs = ld(b + 16 + 32 * h);
        _Pragma("GCC unroll 4")
        for (int e = 0; e < 4; e++) u->q[4 * h + e] = two_bits(qs, 2 * e);
    }
    u->dd = d_dmin(b + 80);
}

KQ_INLINE void unpack_q3k(const uint8_t *b, kq_row *u) {
    uint32_t w0 = rd32(b + 96), w1 = rd32(b + 100), w2 = rd32(b + 104);
    const uint32_t m4 = 0x0f0f0f0f, m2 = 0x03030303;
    __m128i s = _mm_setr_epi32((int)((w0 & m4) | (w2 & m2) << 4), (int)((w1 & m4) | (w2 >> 2 & m2) << 4),
                               (int)((w0 >> 4 & m4) | (w2 >> 4 & m2) << 4), (int)((w1 >> 4 & m4) | (w2 >> 6 & m2) << 4));
    s = _mm_sub_epi8(s, _mm_set1_epi8(32));
    set_scales(u, s, 1);
    u->mb = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(s), 2));
    __m256i hm = ld(b);
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {
        __m256i qs = ld(b + 32 + 32 * h);
        _Pragma("GCC unroll 4")
        for (int e = 0; e < 4; e++) {
            int k = 4 * h + e;
            __m256i hb = _mm256_and_si256(_mm256_srli_epi16(hm, k), bytes(1));
            u->q[k] = _mm256_or_si256(two_bits(qs, 2 * e), _mm256_slli_epi16(hb, 2));
        }
    }
    u->dd = d_only(b + 108);
}

KQ_INLINE void k4_scales(const uint8_t *b, kq_row *u) {
    __m128i v = _mm_loadu_si128((const __m128i *)(b + 4));
    __m128i A = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0));   /* w0 w2 w1 w2 */
    __m128i B = _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0));   /* w0 w0 w1 w1 */
    __m128i lo = _mm_and_si128(_mm_srlv_epi32(A, _mm_setr_epi32(0, 0, 0, 4)),
                               _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    __m128i hi = _mm_and_si128(_mm_srli_epi32(B, 6), _mm_setr_epi32(0, 0x03030303, 0, 0x03030303));
    __m128i sm = _mm_or_si128(lo, _mm_slli_epi32(hi, 4));   /* scales 0..7, mins 0..7 */
    __m128i sc = _mm_shuffle_epi8(sm, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    __m128i mn = _mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15));
    set_scales(u, sc, 0);
    u->mb = _mm256_cvtepu8_epi16(mn);
    u->dd = d_dmin(b);
}

KQ_INLINE void unpack_q4k(const uint8_t *b, kq_row *u) {
    k4_scales(b, u);
    _Pragma("GCC unroll 4")
    for (int h = 0; h < 4; h++) {
        __m256i qs = ld(b + 16 + 32 * h);
        u->q[2 * h] = _mm256_and_si256(qs, bytes(15));
        u->q[2 * h + 1] = _mm256_and_si256(_mm256_srli_epi16(qs, 4), bytes(15));
    }
}

KQ_INLINE void unpack_q5k(const uint8_t *b, kq_row *u) {
    k4_scales(b, u);
    __m256i qh = ld(b + 16);
    _Pragma("GCC unroll 4")
    for (int h = 0; h < 4; h++) {
        __m256i qs = ld(b + 48 + 32 * h);
        __m256i h0 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * h), bytes(1));
        __m256i h1 = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * h + 1), bytes(1));
        u->q[2 * h] = _mm256_or_si256(_mm256_and_si256(qs, bytes(15)), _mm256_slli_epi16(h0, 4));
        u->q[2 * h + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(qs, 4), bytes(15)), _mm256_slli_epi16(h1, 4));
    }
}

KQ_INLINE void unpack_q6k(const uint8_t *b, kq_row *u) {
    __m128i s = _mm_loadu_si128((const __m128i *)(b + 192));
    set_scales(u, s, 1);
    u->mb = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(s), 5));
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {
        __m256i ql0 = ld(b + 64 * h), ql1 = ld(b + 64 * h + 32), qh = ld(b + 128 + 32 * h);
        __m256i l[4] = {_mm256_and_si256(ql0, bytes(15)), _mm256_and_si256(ql1, bytes(15)),
                        _mm256_and_si256(_mm256_srli_epi16(ql0, 4), bytes(15)),
                        _mm256_and_si256(_mm256_srli_epi16(ql1, 4), bytes(15))};
        _Pragma("GCC unroll 4")
        for (int e = 0; e < 4; e++)
            u->q[4 * h + e] = _mm256_or_si256(l[e], _mm256_slli_epi16(two_bits(qh, 2 * e), 4));
    }
    u->dd = d_only(b + 208);
}

/* ---- the shared parts ---- */

/* Chunk k's scale vector: int16 lanes 0-7 scale of group 2k, 8-15 of group 2k+1. */
KQ_INLINE __m256i pattern(const kq_row *u, int k) {
    int j = 2 * (k % 4);
    return _mm256_permutevar8x32_epi32(u->scd[k / 4], _mm256_setr_epi32(j, j, j, j, j + 1, j + 1, j + 1, j + 1));
}

/* Lane i of the result is the sum of the 8 lanes of v[i]. */
KQ_INLINE __m256i hsum8(const __m256i *v) {
    __m256i t[4], u[2];
    _Pragma("GCC unroll 4")
    for (int i = 0; i < 4; i++)
        t[i] = _mm256_add_epi32(_mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]), _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
    _Pragma("GCC unroll 2")
    for (int j = 0; j < 2; j++)
        u[j] = _mm256_add_epi32(_mm256_unpacklo_epi64(t[2 * j], t[2 * j + 1]), _mm256_unpackhi_epi64(t[2 * j], t[2 * j + 1]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(u[0], u[1], 0x20), _mm256_permute2x128_si256(u[0], u[1], 0x31));
}

KQ_INLINE __m256i dot_chunk(__m256i acc, __m256i q, const uint8_t *a, __m256i pat) {
    __m256i p = _mm256_maddubs_epi16(q, ld(a));
    return _mm256_add_epi32(acc, _mm256_madd_epi16(p, pat));
}

KQ_INLINE float act_d(const uint8_t *ab) {
    float d;
    memcpy(&d, ab, 4);
    return d;
}

typedef void (*unpack_fn)(const uint8_t *, kq_row *);

/* n_cols == 1: rows w[0..m) (m <= 8) in the lanes of one ymm. */
KQ_INLINE void decode_group(int64_t nb, const uint8_t *w, size_t ws, int m, const uint8_t *a, float *out,
                            size_t bytes_per_block, unpack_fn unpack, int has_min) {
    __m256i s1[8], s2[8], zero = _mm256_setzero_si256();
    float dw[8] = {0}, dmw[8] = {0};
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i++) s1[i] = s2[i] = zero;
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (nb * KQ_K <= KERN_PF_MAX_N) kern_prefetch(w + 8 * ws + b * 8 * bytes_per_block, 8 * bytes_per_block);
        const uint8_t *ab = a + b * KQ_Q8K_BYTES;
        __m256i bs = ld(ab + KQ_Q8K_BSUMS);
        _Pragma("GCC unroll 8")
        for (int i = 0; i < m; i++) {
            kq_row u;
            unpack(w + i * ws + b * bytes_per_block, &u);
            __m256i s = zero;
            _Pragma("GCC unroll 8")
            for (int k = 0; k < 8; k++) s = dot_chunk(s, u.q[k], ab + KQ_Q8K_QS + 32 * k, pattern(&u, k));
            __m256i t = _mm256_madd_epi16(bs, u.mb);
            if (has_min) s2[i] = t;
            else s = _mm256_add_epi32(s, t);
            s1[i] = s;
            _mm_store_ss(dw + i, u.dd);
            _mm_store_ss(dmw + i, _mm_movehdup_ps(u.dd));
        }
        __m256 da = _mm256_set1_ps(act_d(ab));
        acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(dw), da), _mm256_cvtepi32_ps(hsum8(s1)), acc);
        if (has_min) acc = _mm256_fmadd_ps(_mm256_mul_ps(_mm256_loadu_ps(dmw), da), _mm256_cvtepi32_ps(hsum8(s2)), acc);
    }
    float tmp[8];
    _mm256_storeu_ps(tmp, acc);
    memcpy(out, tmp, sizeof(float) * (size_t)m);
}

/* ---- Q4_K/Q5_K decode, 8 rows at once ----
 * The 16-byte headers (d, dmin, 12 scale bytes) of 8 rows are transposed so that their
 * 6-bit scales, mins and d/dmin decode together and the mins term S2 of all rows is 4
 * vpmaddwd; per row only the quants, the dot and the fetch of its 8 scales remain.
 * Same integers as every other path (kquants_impl.h). */

KQ_INLINE void decode8_k4(int64_t nb, const uint8_t *w, size_t ws, const uint8_t *a, float *out,
                          size_t bytes_per_block, int is_q5) {
    /* lane i <-> row i from the transposed order (lane 4L + g <-> row 2g + L) */
    const __m256i untr = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (nb * KQ_K <= KERN_PF_MAX_N) kern_prefetch(w + 8 * ws + b * 8 * bytes_per_block, 8 * bytes_per_block);
        const uint8_t *ab = a + b * KQ_Q8K_BYTES, *wb = w + b * bytes_per_block;
        __m256i Z[4];
        _Pragma("GCC unroll 4")
        for (int g = 0; g < 4; g++)
            Z[g] = _mm256_loadu2_m128i((const __m128i *)(wb + (2 * g + 1) * ws), (const __m128i *)(wb + (2 * g) * ws));
        __m256i t0 = _mm256_unpacklo_epi32(Z[0], Z[1]), t1 = _mm256_unpackhi_epi32(Z[0], Z[1]);
        __m256i t2 = _mm256_unpacklo_epi32(Z[2], Z[3]), t3 = _mm256_unpackhi_epi32(Z[2], Z[3]);
        __m256i D = _mm256_unpacklo_epi64(t0, t2), W0 = _mm256_unpackhi_epi64(t0, t2);
        __m256i W1 = _mm256_unpacklo_epi64(t1, t3), W2 = _mm256_unpackhi_epi64(t1, t3);
        const q4k_hdr8 hd = q4k_hdr8_decode(D, W0, W1, W2);   /* scales, mins, d, -dmin: q4k_hdr256.h */
        const __m256i sc03 = hd.sc03, sc47 = hd.sc47;
        __m256i S2 = q4k_mins8(&hd, ab + KQ_Q8K_BSUMS);
        __m256 dw = hd.d, dmw = hd.dm;
        __m256i s1[8];
        _Pragma("GCC unroll 8")
        for (int i = 0; i < 8; i++) {
            const uint8_t *rb = wb + i * ws;
            int p = 4 * (i % 2) + i / 2;   /* row i's lane in the transposed vectors */
            __m256i x = _mm256_blend_epi32(_mm256_permutevar8x32_epi32(sc03, _mm256_set1_epi32(p)),
                                           _mm256_permutevar8x32_epi32(sc47, _mm256_set1_epi32(p)), 0xAA);
            __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(_mm256_castsi256_si128(x)));   /* s0..s7 x2 */
            __m256i s = _mm256_setzero_si256();
            _Pragma("GCC unroll 4")
            for (int h = 0; h < 4; h++) {
                __m256i qs = ld(rb + (is_q5 ? 48 : 16) + 32 * h);
                __m256i q0 = _mm256_and_si256(qs, bytes(15)), q1 = _mm256_and_si256(_mm256_srli_epi16(qs, 4), bytes(15));
                if (is_q5) {
                    __m256i qh = ld(rb + 16);
                    q0 = _mm256_or_si256(q0, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * h), bytes(1)), 4));
                    q1 = _mm256_or_si256(q1, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * h + 1), bytes(1)), 4));
                }
                /* sub-blocks 2h and 2h+1: their scale in every int16 lane */
                __m256i p0 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * h))));
                __m256i p1 = _mm256_shuffle_epi8(sc16, _mm256_set1_epi16((short)(0x0100 + 0x0202 * (2 * h + 1))));
                s = dot_chunk(s, q0, ab + KQ_Q8K_QS + 64 * h, p0);
                s = dot_chunk(s, q1, ab + KQ_Q8K_QS + 64 * h + 32, p1);
            }
            s1[i] = s;
        }
        __m256 da = _mm256_set1_ps(act_d(ab));
        dw = _mm256_permutevar8x32_ps(dw, untr);
        dmw = _mm256_permutevar8x32_ps(dmw, untr);
        S2 = _mm256_permutevar8x32_epi32(S2, untr);
        acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(hsum8(s1)), acc);
        acc = _mm256_fmadd_ps(_mm256_mul_ps(dmw, da), _mm256_cvtepi32_ps(S2), acc);
    }
    _mm256_storeu_ps(out, acc);
}

KQ_INLINE void mm_decode(int64_t nb, const uint8_t *w, size_t ws, int nr, const uint8_t *a, float *out,
                         size_t bytes_per_block, unpack_fn unpack, int has_min, int k4) {
    int r0 = 0;
    if (k4)
        for (; r0 + 8 <= nr; r0 += 8) decode8_k4(nb, w + r0 * ws, ws, a, out + r0, bytes_per_block, k4 == 2);
    for (; r0 + 8 <= nr; r0 += 8) decode_group(nb, w + r0 * ws, ws, 8, a, out + r0, bytes_per_block, unpack, has_min);
    if (r0 < nr) decode_group(nb, w + r0 * ws, ws, nr - r0, a, out + r0, bytes_per_block, unpack, has_min);
}

/* Scratch of the prefill path: one unpacked super-block of one row. */
typedef struct {
    __m256i q[8], pat[8];
    __m256i mb;
} kq_packed;

enum { CHUNK = 8 };   /* super-blocks unpacked at once (4 rows: 17 KiB of stack) */

/* 4 rows x nc (<= 2) columns over one super-block; lanes p = c * 4 + r. */
KQ_INLINE __m256 micro(const kq_packed *P, const float *dw, const float *dmw, const uint8_t *ab, size_t as, int nc,
                       __m256 acc, int has_min) {
    __m256i s1[8], s2[8], zero = _mm256_setzero_si256();
    float da[2] = {0, 0};
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i++) s1[i] = s2[i] = zero;
    _Pragma("GCC unroll 8")
    for (int k = 0; k < 8; k++) {
        __m256i av[2];
        _Pragma("GCC unroll 2")
        for (int c = 0; c < nc; c++) av[c] = ld(ab + c * as + KQ_Q8K_QS + 32 * k);
        _Pragma("GCC unroll 4")
        for (int r = 0; r < 4; r++) {
            __m256i q = P[r].q[k];
            _Pragma("GCC unroll 2")
            for (int c = 0; c < nc; c++)
                s1[4 * c + r] = _mm256_add_epi32(s1[4 * c + r], _mm256_madd_epi16(_mm256_maddubs_epi16(q, av[c]), P[r].pat[k]));
        }
    }
    _Pragma("GCC unroll 2")
    for (int c = 0; c < nc; c++) {
        __m256i bs = ld(ab + c * as + KQ_Q8K_BSUMS);
        _Pragma("GCC unroll 4")
        for (int r = 0; r < 4; r++) {
            __m256i t = _mm256_madd_epi16(bs, P[r].mb);
            if (has_min) s2[4 * c + r] = t;
            else s1[4 * c + r] = _mm256_add_epi32(s1[4 * c + r], t);
        }
        da[c] = act_d(ab + c * as);
    }
    __m256 dav = _mm256_setr_m128(_mm_set1_ps(da[0]), _mm_set1_ps(da[1]));
    __m256 dwv = _mm256_broadcast_ps((const __m128 *)dw);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(dwv, dav), _mm256_cvtepi32_ps(hsum8(s1)), acc);
    if (has_min) {
        __m256 dmv = _mm256_broadcast_ps((const __m128 *)dmw);
        acc = _mm256_fmadd_ps(_mm256_mul_ps(dmv, dav), _mm256_cvtepi32_ps(hsum8(s2)), acc);
    }
    return acc;
}

KQ_INLINE void mm_prefill(int64_t nb, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                          float *out, size_t os, size_t bytes_per_block, unpack_fn unpack, int has_min) {
    kq_packed P[CHUNK][4];
    float dw[CHUNK][4], dmw[CHUNK][4], tmp[8];
    if (nb == 0)   /* empty rows: every dot product is 0, as in the other paths */
        for (int c = 0; c < nc; c++) memset(out + c * os, 0, sizeof(float) * (size_t)nr);
    for (int r0 = 0; r0 < nr; r0 += 4) {
        int m = nr - r0 < 4 ? nr - r0 : 4;
        for (int64_t b0 = 0; b0 < nb; b0 += CHUNK) {
            int ch = nb - b0 < CHUNK ? (int)(nb - b0) : CHUNK;
            for (int bb = 0; bb < ch; bb++)
                for (int i = 0; i < 4; i++) {
                    kq_packed *p = &P[bb][i];
                    if (i >= m) {
                        memset(p, 0, sizeof *p);
                        dw[bb][i] = dmw[bb][i] = 0;
                        continue;
                    }
                    kq_row u;
                    unpack(w + (r0 + i) * ws + (b0 + bb) * bytes_per_block, &u);
                    _Pragma("GCC unroll 8")
                    for (int k = 0; k < 8; k++) p->q[k] = u.q[k], p->pat[k] = pattern(&u, k);
                    p->mb = u.mb;
                    _mm_store_ss(&dw[bb][i], u.dd);
                    _mm_store_ss(&dmw[bb][i], _mm_movehdup_ps(u.dd));
                }
            for (int c0 = 0; c0 < nc; c0 += 2) {
                int k = nc - c0 < 2 ? nc - c0 : 2;
                __m256 acc = _mm256_setzero_ps();
                if (b0) {
                    for (int c = 0; c < k; c++)
                        for (int i = 0; i < m; i++) tmp[4 * c + i] = out[(c0 + c) * os + r0 + i];
                    acc = _mm256_loadu_ps(tmp);
                }
                const uint8_t *ab = a + c0 * as + b0 * KQ_Q8K_BYTES;
                if (k == 2)
                    for (int bb = 0; bb < ch; bb++)
                        acc = micro(P[bb], dw[bb], dmw[bb], ab + bb * KQ_Q8K_BYTES, as, 2, acc, has_min);
                else
                    for (int bb = 0; bb < ch; bb++)
                        acc = micro(P[bb], dw[bb], dmw[bb], ab + bb * KQ_Q8K_BYTES, as, 1, acc, has_min);
                _mm256_storeu_ps(tmp, acc);
                for (int c = 0; c < k; c++)
                    for (int i = 0; i < m; i++) out[(c0 + c) * os + r0 + i] = tmp[4 * c + i];
            }
        }
    }
}

#define KQ_MM(t, bytes, has_min, k4) \
    KQ_TARGET void kq_mm_##t##_avx2(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                                    int nc, float *out, size_t os) { \
        if (nc == 1) mm_decode(n / KQ_K, w, ws, nr, a, out, bytes, unpack_##t, has_min, k4); \
        else mm_prefill(n / KQ_K, w, ws, nr, a, as, nc, out, os, bytes, unpack_##t, has_min); \
    }
KQ_MM(q2k, 84, 1, 0)
KQ_MM(q3k, 110, 0, 0)
KQ_MM(q4k, 144, 1, 1)
KQ_MM(q5k, 176, 1, 2)
KQ_MM(q6k, 210, 0, 0)

/* ---- Q8_K activations (ggml's rounding, byte for byte: see seek_quant_q8_k) ---- */

KQ_INLINE int hsum_i32x8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

KQ_TARGET void kq_quant_q8k_avx2(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / KQ_K; i++, x += KQ_K, y += KQ_Q8K_BYTES) {
        __m256 vmax = _mm256_setzero_ps();
        for (int j = 0; j < KQ_K; j += 8) vmax = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), vmax);
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(vmax), _mm256_extractf128_ps(vmax, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        float amax = _mm_cvtss_f32(m4);
        if (!(amax > 0)) {
            memset(y, 0, KQ_Q8K_BYTES);
            continue;
        }
        float max = 0;
        for (int j = 0; j < KQ_K; j += 8) {
            __m256 e = _mm256_cmp_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), _mm256_set1_ps(amax), _CMP_EQ_OQ);
            int mask = _mm256_movemask_ps(e);
            if (mask) {
                max = x[j + __builtin_ctz((unsigned)mask)];
                break;
            }
        }
        float iscale = -127.0f / max;
        __m256 vis = _mm256_set1_ps(iscale), magic = _mm256_set1_ps(12582912.0f);
        for (int j = 0; j < KQ_K; j += 16) {
            __m256i q[2];
            for (int h = 0; h < 2; h++) {
                __m256i bits = _mm256_castps_si256(_mm256_fmadd_ps(vis, _mm256_loadu_ps(x + j + 8 * h), magic));
                q[h] = _mm256_sub_epi32(_mm256_and_si256(bits, _mm256_set1_epi32(0x007fffff)), _mm256_set1_epi32(0x00400000));
                q[h] = _mm256_min_epi32(q[h], _mm256_set1_epi32(127));
                /* back to int8 and out again, so the sums are of the stored bytes */
                q[h] = _mm256_srai_epi32(_mm256_slli_epi32(q[h], 24), 24);
            }
            __m256i w16 = _mm256_packs_epi32(q[0], q[1]);                  /* lanes interleaved per 128 */
            __m128i b8 = _mm_packs_epi16(_mm256_castsi256_si128(w16), _mm256_extracti128_si256(w16, 1));
            b8 = _mm_shuffle_epi32(b8, _MM_SHUFFLE(3, 1, 2, 0));           /* undo the 128-bit interleave */
            _mm_storeu_si128((__m128i *)(y + KQ_Q8K_QS + j), b8);
            int16_t bsum = (int16_t)hsum_i32x8(_mm256_add_epi32(q[0], q[1]));
            memcpy(y + KQ_Q8K_BSUMS + j / 8, &bsum, 2);
        }
        float d = 1 / iscale;
        memcpy(y, &d, 4);
    }
}

#endif
