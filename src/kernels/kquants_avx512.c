/* kquants_avx512.c - K-quant tile kernels for KERN_AVX512 (AVX-512 F/BW/VL/DQ + VNNI).
 *
 * Same arithmetic as kquants_scalar.c (the block layouts are drawn there; the integer and
 * float steps are stated in kquants_impl.h), so every (row, column) gives the same bits.
 *
 * Block layouts (bytes, as ggml's; bit-level formulas in kquants_scalar.c):
 *   Q2_K  84: scales[16] (scale | min << 4 per group of 16) | qs[64] (2-bit) | d | dmin
 *   Q3_K 110: hmask[32] (3rd bit) | qs[64] (low 2 bits) | scales[12] (16 x 6-bit) | d
 *   Q4_K 144: d | dmin | scales[12] (8 scales + 8 mins, 6-bit) | qs[128] (nibbles)
 *   Q5_K 176: d | dmin | scales[12] | qh[32] (5th bit) | qs[128]
 *   Q6_K 210: ql[128] (low nibbles) | qh[64] (top 2 bits) | scales[16] (int8) | d
 *   Q8_K 292: float d | int8 qs[256] | int16 bsums[16]   (the activations)
 *
 * A weight super-block is unpacked into four zmm of unsigned quants, q[k] = values
 * 64k..64k+63, one byte each. vpdpbusd (unsigned weight x signed Q8_K activation, 4
 * products per int32 lane) gives lane i of chunk k the partial dot of values 64k+4i..+3,
 * all in group 4k + i/4; that lane fits int16 (4 * 63 * 128 < 2^15), so vpdpwssd with the
 * group's scale in the low half of the lane (high half 0) multiplies and accumulates it
 * exactly. Sixteen int32 lanes per (row, column) are summed at the end of each
 * super-block by a transposing tree over 16 (row, column) pairs at once (hsum16), and the
 * float update runs on 16 pairs per instruction.
 *
 * Loop order:
 *   n_cols == 1 (decode): 16 rows at a time; per super-block, each row is unpacked in
 *     registers and dotted with the column; the 16 row sums become one zmm. Q4_K and Q5_K
 *     decode the 16 rows' headers together and use an interleaved order (decode16_k4).
 *   prefill, from KQ_PANEL_MIN_<type> columns (4; Q4_K 2): 16-row panels, one output row
 *     per lane (mm_prefill_panel, below).
 *   prefill with fewer columns: 4 rows at a time; up to 8 super-blocks of those rows are
 *     unpacked into a scratch buffer (quants, per-chunk scale vectors, offsets), then every
 *     group of 4 columns runs over them: per 64 values, 4 weight loads x 4 activation loads
 *     feed 16 vpdpbusd + 16 vpdpwssd, so a weight block read from memory serves every column.
 */
#if defined(__x86_64__)   /* the whole file: x86-64 only */
#include <immintrin.h>
#include <string.h>

#include "kq56_packed512.h"
#include "kquants_impl.h"
#include "q4k_hdr512.h"
#include "transpose512.h"

#define KQ_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define KQ_INLINE static inline __attribute__((always_inline)) KQ_TARGET

/* One super-block of one weight row, unpacked into registers. */
typedef struct {
    __m512i q[4];   /* unsigned quants, 64 per register */
    __m512i sc;     /* int32 lane g: scale of group g in the low 16 bits, high 16 bits 0 */
    __m256i mb;     /* int16 [16]: offset multiplier per group (kquants_impl.h) */
    __m128 dd;      /* lane 0: d, lane 1: dm (kquants_impl.h) */
} kq_row;

/* [d, -dmin, 0, 0] from two fp16 at p */
KQ_INLINE __m128 d_dmin(const uint8_t *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return _mm_xor_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(v)), _mm_setr_ps(0.0f, -0.0f, 0.0f, 0.0f));
}
/* [d, 0, 0, 0] from one fp16 at p */
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
KQ_INLINE __m512i bytes(int v) { return _mm512_set1_epi8((char)v); }
/* [x, x] */
KQ_INLINE __m512i dup256(const uint8_t *p) { return _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)p)); }
/* bytes 0..31 of x shifted right by s0 bits, bytes 32..63 by s1, then & 3 */
KQ_INLINE __m512i two_bits(__m512i x, int s0, int s1) {
    __m512i cnt = _mm512_setr_epi64(s0, s0, s0, s0, s1, s1, s1, s1);
    return _mm512_and_si512(_mm512_srlv_epi64(x, cnt), bytes(3));
}
/* 0x0000ssss per group from 16 signed int8 scales */
KQ_INLINE __m512i sc_from_i8(__m128i s) { return _mm512_and_si512(_mm512_cvtepi8_epi32(s), _mm512_set1_epi32(0xFFFF)); }

/* ---- unpacking, one function per type ---- */

KQ_INLINE void unpack_q2k(const uint8_t *b, kq_row *u) {
    __m128i s = _mm_loadu_si128((const __m128i *)b);
    __m128i lo = _mm_set1_epi8(15);
    u->sc = _mm512_cvtepu8_epi32(_mm_and_si128(s, lo));
    u->mb = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(s, 4), lo));
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {
        __m512i qs = dup256(b + 16 + 32 * h);
        u->q[2 * h] = two_bits(qs, 0, 2);
        u->q[2 * h + 1] = two_bits(qs, 4, 6);
    }
    u->dd = d_dmin(b + 80);
}

KQ_INLINE void unpack_q3k(const uint8_t *b, kq_row *u) {
    uint32_t w0 = rd32(b + 96), w1 = rd32(b + 100), w2 = rd32(b + 104);
    const uint32_t m4 = 0x0f0f0f0f, m2 = 0x03030303;
    __m128i s = _mm_setr_epi32((int)((w0 & m4) | (w2 & m2) << 4), (int)((w1 & m4) | (w2 >> 2 & m2) << 4),
                               (int)((w0 >> 4 & m4) | (w2 >> 4 & m2) << 4), (int)((w1 >> 4 & m4) | (w2 >> 6 & m2) << 4));
    s = _mm_sub_epi8(s, _mm_set1_epi8(32));
    u->sc = sc_from_i8(s);
    u->mb = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(s), 2));
    __m512i hm = dup256(b);
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {
        __m512i qs = dup256(b + 32 + 32 * h);
        _Pragma("GCC unroll 2")
        for (int e = 0; e < 2; e++) {
            int k = 2 * h + e;
            __m512i q = two_bits(qs, 4 * e, 4 * e + 2);
            __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << 2 * k)), _mm256_set1_epi8((char)(1 << (2 * k + 1))), 1);
            __mmask64 hi = _mm512_test_epi8_mask(hm, bit);
            u->q[k] = _mm512_mask_add_epi8(q, hi, q, bytes(4));
        }
    }
    u->dd = d_only(b + 108);
}

/* Q4_K/Q5_K: 8 scales and 8 mins of 6 bits in 12 bytes -> per-group vectors. */
KQ_INLINE void k4_scales(const uint8_t *b, kq_row *u) {
    /* 32-bit words w0 w1 w2 of the 12 bytes (the 4 bytes after them are quants, unused):
     * scales 0-3 = w0 & 0x3f.., scales 4-7 = (w2 & 0x0f..) | (w0 >> 6 & 0x03..) << 4,
     * mins 0-3 = w1 & 0x3f..,   mins 4-7 = (w2 >> 4 & 0x0f..) | (w1 >> 6 & 0x03..) << 4 */
    __m128i v = _mm_loadu_si128((const __m128i *)(b + 4));
    __m128i A = _mm_shuffle_epi32(v, _MM_SHUFFLE(2, 1, 2, 0));   /* w0 w2 w1 w2 */
    __m128i B = _mm_shuffle_epi32(v, _MM_SHUFFLE(1, 1, 0, 0));   /* w0 w0 w1 w1 */
    __m128i lo = _mm_and_si128(_mm_srlv_epi32(A, _mm_setr_epi32(0, 0, 0, 4)),
                               _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
    __m128i hi = _mm_and_si128(_mm_srli_epi32(B, 6), _mm_setr_epi32(0, 0x03030303, 0, 0x03030303));
    __m128i sm = _mm_or_si128(lo, _mm_slli_epi32(hi, 4));   /* scales 0..7, mins 0..7 */
    __m128i sc = _mm_shuffle_epi8(sm, _mm_setr_epi8(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7));
    __m128i mn = _mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15));
    u->sc = _mm512_cvtepu8_epi32(sc);
    u->mb = _mm256_cvtepu8_epi16(mn);
    u->dd = d_dmin(b);
}

/* low nibbles of 32 bytes then high nibbles: values 64k..64k+63 of Q4_K/Q5_K */
KQ_INLINE __m512i nibbles(const uint8_t *p) {
    __m256i x = _mm256_loadu_si256((const __m256i *)p);
    __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(x), _mm256_srli_epi16(x, 4), 1);
    return _mm512_and_si512(z, bytes(15));
}

KQ_INLINE void unpack_q4k(const uint8_t *b, kq_row *u) {
    k4_scales(b, u);
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) u->q[k] = nibbles(b + 16 + 32 * k);
}

KQ_INLINE void unpack_q5k(const uint8_t *b, kq_row *u) {
    k4_scales(b, u);
    __m512i qh = dup256(b + 16);
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << 2 * k)), _mm256_set1_epi8((char)(1 << (2 * k + 1))), 1);
        __mmask64 hi = _mm512_test_epi8_mask(qh, bit);
        __m512i q = nibbles(b + 48 + 32 * k);
        u->q[k] = _mm512_mask_add_epi8(q, hi, q, bytes(16));
    }
}

KQ_INLINE void unpack_q6k(const uint8_t *b, kq_row *u) {
    __m128i s = _mm_loadu_si128((const __m128i *)(b + 192));
    u->sc = sc_from_i8(s);
    u->mb = _mm256_sub_epi16(_mm256_setzero_si256(), _mm256_slli_epi16(_mm256_cvtepi8_epi16(s), 5));
    _Pragma("GCC unroll 2")
    for (int h = 0; h < 2; h++) {
        __m512i ql = _mm512_loadu_si512(b + 64 * h);
        __m512i qh = dup256(b + 128 + 32 * h);
        __m512i lo0 = _mm512_and_si512(ql, bytes(15));
        __m512i lo1 = _mm512_and_si512(_mm512_srli_epi16(ql, 4), bytes(15));
        u->q[2 * h] = _mm512_or_si512(lo0, _mm512_slli_epi16(two_bits(qh, 0, 2), 4));
        u->q[2 * h + 1] = _mm512_or_si512(lo1, _mm512_slli_epi16(two_bits(qh, 4, 6), 4));
    }
    u->dd = d_only(b + 208);
}

/* ---- Q4_K/Q5_K decode: the interleaved order ----
 * Sub-blocks are 32 values, so with two int32 lanes per sub-block a zmm covers all 8: chunk
 * k holds bytes 8k..8k+7 of every sub-block j in qword j. One vpdpbusd chain over the 4
 * chunks then leaves lanes 2j, 2j+1 with sub-block j's partial dots, and one vpmaddwd with
 * the scale vector (lane g: scale of sub-block g/2, exactly kq_row.sc) finishes S1. The
 * activations are put in the same order once per column and super-block. */

KQ_INLINE void interleave_acts(__m512i *av) {
    __m512i t[4];
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        /* qword 4j + k of the super-block for j = 0..7: qwords k, 4+k of each register */
        __m512i lo = _mm512_permutex2var_epi64(av[0], _mm512_setr_epi64(k, 4 + k, 8 + k, 12 + k, 0, 0, 0, 0), av[1]);
        __m512i hi = _mm512_permutex2var_epi64(av[2], _mm512_setr_epi64(0, 0, 0, 0, k, 4 + k, 8 + k, 12 + k), av[3]);
        t[k] = _mm512_mask_blend_epi64(0xF0, lo, hi);
    }
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) av[k] = t[k];
}

/* chunk k of the interleaved Q4_K/Q5_K low nibbles: qword j = qs qword 4(j/2) + k, nibble j%2 */
KQ_INLINE void nibbles_il(const uint8_t *qs, __m512i *q) {
    __m512i q0 = _mm512_loadu_si512(qs), q1 = _mm512_loadu_si512(qs + 64);
    __m512i sh = _mm512_setr_epi64(0, 4, 0, 4, 0, 4, 0, 4);
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        __m512i x = _mm512_permutex2var_epi64(q0, _mm512_setr_epi64(k, k, 4 + k, 4 + k, 8 + k, 8 + k, 12 + k, 12 + k), q1);
        q[k] = _mm512_and_si512(_mm512_srlv_epi64(x, sh), bytes(15));
    }
}

KQ_INLINE void unpack_q4k_il(const uint8_t *b, kq_row *u) {
    k4_scales(b, u);
    nibbles_il(b + 16, u->q);
}

KQ_INLINE void unpack_q5k_il(const uint8_t *b, kq_row *u) {
    k4_scales(b, u);
    nibbles_il(b + 48, u->q);
    /* the 5th bit of sub-block j, byte i, is bit j of qh[i]: chunk k takes qh qword k */
    __m512i bit = _mm512_setr_epi64(0x0101010101010101ll, 0x0202020202020202ll, 0x0404040404040404ll,
                                    0x0808080808080808ll, 0x1010101010101010ll, 0x2020202020202020ll,
                                    0x4040404040404040ll, (long long)0x8080808080808080ull);
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        int64_t h;
        memcpy(&h, b + 16 + 8 * k, 8);
        __mmask64 hi = _mm512_test_epi8_mask(_mm512_set1_epi64(h), bit);
        u->q[k] = _mm512_mask_add_epi8(u->q[k], hi, u->q[k], bytes(16));
    }
}

/* ---- the shared parts ---- */

/* Chunk k's scale vector: lane i gets group 4k + i/4. */
KQ_INLINE __m512i pattern(__m512i sc, int k) {
    __m512i idx = _mm512_add_epi32(_mm512_set1_epi32(4 * k),
                                   _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 2));
    return _mm512_permutexvar_epi32(idx, sc);
}

/* Lane i of the result is the sum of the 16 lanes of v[i]. */
KQ_INLINE __m512i hsum16(const __m512i *v) {
    __m512i t[8], u[4], s[2];
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i++)
        t[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(v[2 * i], v[2 * i + 1]), _mm512_unpackhi_epi32(v[2 * i], v[2 * i + 1]));
    _Pragma("GCC unroll 4")
    for (int j = 0; j < 4; j++)
        u[j] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * j], t[2 * j + 1]), _mm512_unpackhi_epi64(t[2 * j], t[2 * j + 1]));
    _Pragma("GCC unroll 2")
    for (int j = 0; j < 2; j++)
        s[j] = _mm512_add_epi32(_mm512_shuffle_i32x4(u[2 * j], u[2 * j + 1], 0x88), _mm512_shuffle_i32x4(u[2 * j], u[2 * j + 1], 0xDD));
    return _mm512_add_epi32(_mm512_shuffle_i32x4(s[0], s[1], 0x88), _mm512_shuffle_i32x4(s[0], s[1], 0xDD));
}

/* The same for 16 ymm of 8 lanes. */
KQ_INLINE __m512i hsum16_256(const __m256i *y) {
    __m512i z[8], t[4], u[2];
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i++) z[i] = _mm512_inserti64x4(_mm512_castsi256_si512(y[i]), y[i + 8], 1);
    _Pragma("GCC unroll 4")
    for (int i = 0; i < 4; i++)
        t[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(z[2 * i], z[2 * i + 1]), _mm512_unpackhi_epi32(z[2 * i], z[2 * i + 1]));
    _Pragma("GCC unroll 2")
    for (int j = 0; j < 2; j++)
        u[j] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * j], t[2 * j + 1]), _mm512_unpackhi_epi64(t[2 * j], t[2 * j + 1]));
    __m512i s = _mm512_add_epi32(_mm512_shuffle_i32x4(u[0], u[1], 0x88), _mm512_shuffle_i32x4(u[0], u[1], 0xDD));
    return _mm512_shuffle_i32x4(s, s, 0xD8);   /* [y0-3, y8-11, y4-7, y12-15] -> in order */
}

KQ_INLINE __m512i dot_chunk(__m512i acc, __m512i q, __m512i a, __m512i pat) {
    return _mm512_dpwssd_epi32(acc, _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, a), pat);
}

KQ_INLINE float act_d(const uint8_t *ab) {
    float d;
    memcpy(&d, ab, 4);
    return d;
}

typedef void (*unpack_fn)(const uint8_t *, kq_row *);

/* n_cols == 1: rows r0..r0+m-1 (m <= 16) in the lanes of one zmm. */
KQ_INLINE void decode_group(int64_t nb, const uint8_t *w, size_t ws, int m, const uint8_t *a, float *out,
                            size_t bytes_per_block, unpack_fn unpack, int has_min, int il, int off) {
    __m512i s1[16], zero = _mm512_setzero_si512();
    __m256i s2[16];
    float dw[16] = {0}, dmw[16] = {0};
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i++) s1[i] = zero, s2[i] = _mm256_setzero_si256();
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (nb * KQ_K <= KERN_PF_MAX_N) kern_prefetch(w + 16 * ws + b * 16 * bytes_per_block, 16 * bytes_per_block);
        const uint8_t *ab = a + b * KQ_Q8K_BYTES;
        __m256i bs = _mm256_loadu_si256((const __m256i *)(ab + KQ_Q8K_BSUMS));
        __m512i av[4];
        _Pragma("GCC unroll 4")
        for (int k = 0; k < 4; k++) av[k] = _mm512_loadu_si512(ab + KQ_Q8K_QS + 64 * k);
        if (il) interleave_acts(av);
        /* Q3_K/Q6_K: -off * (sum of each lane's 4 activations), the start of every row's
         * vpdpbusd, so the lane gets sum (q - off) * a (|.| <= 4 * 32 * 128 < 2^15) and the
         * offset costs nothing per row */
        __m512i negoff[4];
        _Pragma("GCC unroll 4")
        for (int k = 0; k < 4; k++)
            negoff[k] = off ? _mm512_sub_epi32(zero, _mm512_dpbusd_epi32(zero, bytes(off), av[k])) : zero;
        _Pragma("GCC unroll 16")
        for (int i = 0; i < m; i++) {
            kq_row u;
            unpack(w + i * ws + b * bytes_per_block, &u);
            __m512i s = zero;
            if (il == 1) {
                /* 16 products per lane <= 16 * 15 * 128 < 2^15: one chain, one multiply */
                _Pragma("GCC unroll 4")
                for (int k = 0; k < 4; k++) s = _mm512_dpbusd_epi32(s, u.q[k], av[k]);
                s = _mm512_madd_epi16(s, u.sc);
            } else if (il == 2) {
                /* 5-bit quants: two chains of 8 products (<= 8 * 31 * 128 < 2^15) */
                __m512i h0 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, u.q[0], av[0]), u.q[1], av[1]);
                __m512i h1 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, u.q[2], av[2]), u.q[3], av[3]);
                s = _mm512_dpwssd_epi32(_mm512_madd_epi16(h0, u.sc), h1, u.sc);
            } else if (off) {
                _Pragma("GCC unroll 4")
                for (int k = 0; k < 4; k++) s = _mm512_dpwssd_epi32(s, _mm512_dpbusd_epi32(negoff[k], u.q[k], av[k]), pattern(u.sc, k));
            } else {
                _Pragma("GCC unroll 4")
                for (int k = 0; k < 4; k++) s = dot_chunk(s, u.q[k], av[k], pattern(u.sc, k));
            }
            if (has_min) s2[i] = _mm256_madd_epi16(bs, u.mb);
            else if (!off) s = _mm512_add_epi32(s, _mm512_zextsi256_si512(_mm256_madd_epi16(bs, u.mb)));
            s1[i] = s;
            _mm_store_ss(dw + i, u.dd);
            _mm_store_ss(dmw + i, _mm_movehdup_ps(u.dd));
        }
        __m512 da = _mm512_set1_ps(act_d(ab));
        acc = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_loadu_ps(dw), da), _mm512_cvtepi32_ps(hsum16(s1)), acc);
        if (has_min)
            acc = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_loadu_ps(dmw), da), _mm512_cvtepi32_ps(hsum16_256(s2)), acc);
    }
    _mm512_mask_storeu_ps(out, (__mmask16)((1u << m) - 1), acc);
}

/* ---- Q4_K/Q5_K decode, 16 rows at once ----
 * The per-row work is cut to the quants: the 16-byte headers (d, dmin, 12 scale bytes) of
 * the 16 rows are transposed so that the 6-bit scales and mins of all rows are decoded
 * together, the mins term S2 of all rows is 4 vpdpwssd, and each row only fetches its 8
 * scales. Layout here: chunk k holds bytes 8k..8k+3 of sub-block j in dword lane j and bytes
 * 8k+4..8k+7 in lane j + 8, so a row's scale vector is its 8 scale bytes, twice, widened.
 * Same integers as every other path (kquants_impl.h). */

/* chunk k of the activations in that layout */
KQ_INLINE void acts_k4(const uint8_t *qa, __m512i *av) {
    __m512i n0 = _mm512_loadu_si512(qa), n1 = _mm512_loadu_si512(qa + 64);
    __m512i n2 = _mm512_loadu_si512(qa + 128), n3 = _mm512_loadu_si512(qa + 192);
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        int e = 2 * k, o = 2 * k + 1;
        __m512i idx = _mm512_setr_epi32(e, 8 + e, 16 + e, 24 + e, e, 8 + e, 16 + e, 24 + e,
                                        o, 8 + o, 16 + o, 24 + o, o, 8 + o, 16 + o, 24 + o);
        av[k] = _mm512_mask_blend_epi32(0xF0F0, _mm512_permutex2var_epi32(n0, idx, n1), _mm512_permutex2var_epi32(n2, idx, n3));
    }
}

/* one row's quants in that layout (qs: Q4_K/Q5_K low nibbles; qh: Q5_K high bits or NULL) */
KQ_INLINE void quants_k4(const uint8_t *qs, const uint8_t *qh, __m512i *q) {
    __m512i q0 = _mm512_loadu_si512(qs), q1 = _mm512_loadu_si512(qs + 64);
    __m512i sh = _mm512_setr_epi32(0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4, 0, 4);
    __m512i bit = _mm512_setr_epi32(0x01010101, 0x02020202, 0x04040404, 0x08080808, 0x10101010, 0x20202020, 0x40404040,
                                    (int)0x80808080u, 0x01010101, 0x02020202, 0x04040404, 0x08080808, 0x10101010,
                                    0x20202020, 0x40404040, (int)0x80808080u);
    __m512i hz = qh ? _mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)qh)) : _mm512_setzero_si512();
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        int e = 2 * k, o = 2 * k + 1;
        __m512i idx = _mm512_setr_epi32(e, e, 8 + e, 8 + e, 16 + e, 16 + e, 24 + e, 24 + e,
                                        o, o, 8 + o, 8 + o, 16 + o, 16 + o, 24 + o, 24 + o);
        __m512i x = _mm512_permutex2var_epi32(q0, idx, q1);
        q[k] = _mm512_and_si512(_mm512_srlv_epi32(x, sh), bytes(15));
        if (qh) {
            __m512i hsrc = _mm512_permutexvar_epi32(_mm512_setr_epi32(e, e, e, e, e, e, e, e, o, o, o, o, o, o, o, o), hz);
            q[k] = _mm512_mask_add_epi8(q[k], _mm512_test_epi8_mask(hsrc, bit), q[k], bytes(16));
        }
    }
}

/* lane i <-> row i from the transposed lane order (lane 4L + g <-> row 4g + L); an involution */
KQ_INLINE __m512i untranspose(void) { return _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15); }

/* The 16 bytes at p + r*ws of rows r = 0..15 as four dword vectors: W[k] holds dword k of
 * every row, lane 4L + g <-> row 4g + L (see untranspose). Z[g] 128-bit lane L = row 4g + L,
 * then a 4 x 4 dword transpose inside every 128-bit lane. */
KQ_INLINE void rows16_dwords(const uint8_t *p, size_t ws, __m512i *W) {
    __m512i Z[4];
    _Pragma("GCC unroll 4")
    for (int g = 0; g < 4; g++) {
        __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p + (4 * g) * ws)));
        z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + (4 * g + 1) * ws)), 1);
        z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + (4 * g + 2) * ws)), 2);
        Z[g] = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + (4 * g + 3) * ws)), 3);
    }
    __m512i t0 = _mm512_unpacklo_epi32(Z[0], Z[1]), t1 = _mm512_unpackhi_epi32(Z[0], Z[1]);
    __m512i t2 = _mm512_unpacklo_epi32(Z[2], Z[3]), t3 = _mm512_unpackhi_epi32(Z[2], Z[3]);
    W[0] = _mm512_unpacklo_epi64(t0, t2), W[1] = _mm512_unpackhi_epi64(t0, t2);
    W[2] = _mm512_unpacklo_epi64(t1, t3), W[3] = _mm512_unpackhi_epi64(t1, t3);
}

KQ_INLINE void decode16_k4(int64_t nb, const uint8_t *w, size_t ws, const uint8_t *a, float *out,
                           size_t bytes_per_block, int is_q5) {
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        if (nb * KQ_K <= KERN_PF_MAX_N) kern_prefetch(w + 16 * ws + b * 16 * bytes_per_block, 16 * bytes_per_block);
        const uint8_t *ab = a + b * KQ_Q8K_BYTES, *wb = w + b * bytes_per_block;
        /* headers: the 16 rows' first 16 bytes, dword k of every row in W[k] (transposed lanes) */
        __m512i H[4];
        rows16_dwords(wb, ws, H);
        /* scales, mins, S2, d and -dmin of all rows at once (q4k_hdr512.h) */
        const q4k_hdr16 hd = q4k_hdr16_decode(H[0], H[1], H[2], H[3]);
        const __m512i sc03 = hd.sc03, sc47 = hd.sc47;
        __m512i S2 = q4k_mins16(&hd, ab + KQ_Q8K_BSUMS);
        __m512 dw = hd.d, dmw = hd.dm;
        /* the rows' quants */
        __m512i av[4], s1[16];
        acts_k4(ab + KQ_Q8K_QS, av);
        _Pragma("GCC unroll 16")
        for (int i = 0; i < 16; i++) {
            const uint8_t *rb = wb + i * ws;
            __m512i q[4];
            quants_k4(rb + (is_q5 ? 48 : 16), is_q5 ? rb + 16 : NULL, q);
            int p = 4 * (i % 4) + i / 4;   /* row i's lane in the transposed vectors */
            __m512i x = _mm512_permutex2var_epi32(sc03, _mm512_setr_epi32(p, p + 16, p, p + 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), sc47);
            __m512i sc = _mm512_cvtepu8_epi32(_mm512_castsi512_si128(x));
            __m512i zero = _mm512_setzero_si512();
            if (!is_q5) {
                __m512i t = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, q[0], av[0]), q[1], av[1]);
                t = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(t, q[2], av[2]), q[3], av[3]);
                s1[i] = _mm512_madd_epi16(t, sc);   /* 16 products per lane <= 16 * 15 * 128 < 2^15 */
            } else {
                __m512i h0 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, q[0], av[0]), q[1], av[1]);
                __m512i h1 = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(zero, q[2], av[2]), q[3], av[3]);
                s1[i] = _mm512_dpwssd_epi32(_mm512_madd_epi16(h0, sc), h1, sc);   /* 8 * 31 * 128 < 2^15 */
            }
        }
        __m512 da = _mm512_set1_ps(act_d(ab));
        dw = _mm512_permutexvar_ps(untranspose(), dw);
        dmw = _mm512_permutexvar_ps(untranspose(), dmw);
        S2 = _mm512_permutexvar_epi32(untranspose(), S2);
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, da), _mm512_cvtepi32_ps(hsum16(s1)), acc);
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dmw, da), _mm512_cvtepi32_ps(S2), acc);
    }
    _mm512_storeu_ps(out, acc);
}

KQ_INLINE void mm_decode(int64_t nb, const uint8_t *w, size_t ws, int nr, const uint8_t *a, float *out,
                         size_t bytes_per_block, unpack_fn unpack, int has_min, int il, int off) {
    int r0 = 0;
    if (il)
        for (; r0 + 16 <= nr; r0 += 16) decode16_k4(nb, w + r0 * ws, ws, a, out + r0, bytes_per_block, il == 2);
    for (; r0 + 16 <= nr; r0 += 16)
        decode_group(nb, w + r0 * ws, ws, 16, a, out + r0, bytes_per_block, unpack, has_min, il, off);
    if (r0 < nr) decode_group(nb, w + r0 * ws, ws, nr - r0, a, out + r0, bytes_per_block, unpack, has_min, il, off);
}

/* Scratch of the prefill path: one unpacked super-block of one row. */
typedef struct {
    __m512i q[4], pat[4];
    __m256i mb;
} kq_packed;

enum { CHUNK = 8 };   /* super-blocks unpacked at once (4 rows: 18 KiB of stack) */

/* 4 rows x nc (<= 4) columns over one super-block; lanes p = c * 4 + r. */
KQ_INLINE __m512 micro(const kq_packed *P, const float *dw, const float *dmw, const uint8_t *ab, size_t as, int nc,
                       __m512 acc, int has_min) {
    __m512i s1[16], zero = _mm512_setzero_si512();
    __m256i s2[16];
    float da[4] = {0};
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i++) s1[i] = zero, s2[i] = _mm256_setzero_si256();
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        __m512i av[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
        for (int c = 0; c < nc; c++) av[c] = _mm512_loadu_si512(ab + c * as + KQ_Q8K_QS + 64 * k);
        _Pragma("GCC unroll 4")
        for (int r = 0; r < 4; r++) {
            __m512i q = P[r].q[k], pat = P[r].pat[k];
            _Pragma("GCC unroll 4")
            for (int c = 0; c < nc; c++) s1[4 * c + r] = dot_chunk(s1[4 * c + r], q, av[c], pat);
        }
    }
    _Pragma("GCC unroll 4")
    for (int c = 0; c < nc; c++) {
        __m256i bs = _mm256_loadu_si256((const __m256i *)(ab + c * as + KQ_Q8K_BSUMS));
        _Pragma("GCC unroll 4")
        for (int r = 0; r < 4; r++) {
            __m256i t = _mm256_madd_epi16(bs, P[r].mb);
            if (has_min) s2[4 * c + r] = t;
            else s1[4 * c + r] = _mm512_add_epi32(s1[4 * c + r], _mm512_zextsi256_si512(t));
        }
        da[c] = act_d(ab + c * as);
    }
    __m512i col = _mm512_srli_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), 2);
    __m512 dav = _mm512_permutexvar_ps(col, _mm512_castps128_ps512(_mm_loadu_ps(da)));
    __m512 dwv = _mm512_broadcast_f32x4(_mm_loadu_ps(dw));
    acc = _mm512_fmadd_ps(_mm512_mul_ps(dwv, dav), _mm512_cvtepi32_ps(hsum16(s1)), acc);
    if (has_min) {
        __m512 dmv = _mm512_broadcast_f32x4(_mm_loadu_ps(dmw));
        acc = _mm512_fmadd_ps(_mm512_mul_ps(dmv, dav), _mm512_cvtepi32_ps(hsum16_256(s2)), acc);
    }
    return acc;
}

KQ_INLINE void mm_prefill(int64_t nb, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                          float *out, size_t os, size_t bytes_per_block, unpack_fn unpack, int has_min) {
    kq_packed P[CHUNK][4];
    float dw[CHUNK][4], dmw[CHUNK][4], tmp[16];
    if (nb == 0)   /* empty rows: every dot product is 0, as in the other paths */
        for (int c = 0; c < nc; c++) memset(out + c * os, 0, sizeof(float) * (size_t)nr);
    for (int r0 = 0; r0 < nr; r0 += 4) {
        int m = nr - r0 < 4 ? nr - r0 : 4;
        for (int64_t b0 = 0; b0 < nb; b0 += CHUNK) {
            int ch = nb - b0 < CHUNK ? (int)(nb - b0) : CHUNK;
            for (int bb = 0; bb < ch; bb++)
                _Pragma("GCC unroll 4")
                for (int i = 0; i < 4; i++) {
                    kq_packed *p = &P[bb][i];
                    if (i >= m) {
                        memset(p, 0, sizeof *p);
                        dw[bb][i] = dmw[bb][i] = 0;
                        continue;
                    }
                    kq_row u;
                    unpack(w + (r0 + i) * ws + (b0 + bb) * bytes_per_block, &u);
                    _Pragma("GCC unroll 4")
                    for (int k = 0; k < 4; k++) p->q[k] = u.q[k], p->pat[k] = pattern(u.sc, k);
                    p->mb = u.mb;
                    _mm_store_ss(&dw[bb][i], u.dd);
                    _mm_store_ss(&dmw[bb][i], _mm_movehdup_ps(u.dd));
                }
            for (int c0 = 0; c0 < nc; c0 += 4) {
                int k = nc - c0 < 4 ? nc - c0 : 4;
                __m512 acc = _mm512_setzero_ps();
                if (b0) {
                    for (int c = 0; c < k; c++)
                        _Pragma("GCC unroll 16")
                        for (int i = 0; i < m; i++) tmp[4 * c + i] = out[(c0 + c) * os + r0 + i];
                    acc = _mm512_loadu_ps(tmp);
                }
                const uint8_t *ab = a + c0 * as + b0 * KQ_Q8K_BYTES;
                if (k == 4)
                    for (int bb = 0; bb < ch; bb++)
                        acc = micro(P[bb], dw[bb], dmw[bb], ab + bb * KQ_Q8K_BYTES, as, 4, acc, has_min);
                else
                    for (int bb = 0; bb < ch; bb++)
                        acc = micro(P[bb], dw[bb], dmw[bb], ab + bb * KQ_Q8K_BYTES, as, k, acc, has_min);
                _mm512_storeu_ps(tmp, acc);
                for (int c = 0; c < k; c++)
                    _Pragma("GCC unroll 16")
                    for (int i = 0; i < m; i++) out[(c0 + c) * os + r0 + i] = tmp[4 * c + i];
            }
        }
    }
}

/* ---- Q4_K / Q6_K prefill: 16-row panels, one output row per lane ----
 * The rows of a tile are repacked, 16 at a time and a few super-blocks at a time, into a
 * panel where lane r of every vector belongs to row r: q[k] lane r = bytes 4k..4k+3 of row
 * r's 256 unsigned quants, sc[g] lane r = row r's scale of group g (16 values), mb[j] lane
 * r = row r's offset multipliers of groups 2j, 2j+1 (int16 pair), and d / dm. A column's 4
 * activation bytes are broadcast straight from memory into vpdpbusd, so one weight load
 * feeds NC columns and no horizontal sum is ever needed:
 *   per group g and column c:  t = sum of 4 vpdpbusd (16 values; |t| <= 16*63*127)
 *     Q4_K: S1 += t * sc[g] by vpdpwssd (|t| <= 16*15*127 < 2^15, sc in the low half)
 *     Q5_K, Q6_K: S1 += t * sc[g] by vpmulld (t does not fit 16 bits)
 *   S2 = 8 vpdpwssd of mb[j] with the column's bsum pair j, then the float steps of
 *   kquants_impl.h. Same integers, same float operations: the same bits as every path. */

enum { PCHUNK = 4 };
/* panel modes: S1 by vpmulld (quants over 4 bits: t does not fit 16 bits), offset folded into S1 */
enum { PANEL_MUL32 = 1, PANEL_FOLD = 2 };   /* super-blocks per panel: 16 rows x 4 x 5.9 KiB = 23 KiB, in L1 */

typedef struct {
    __m512i q[64], sc[16], mb[8];
    __m512 d, dm;
} kq_panel;

/* Panel of rows w[0..m-1] (m <= 16; missing rows are zero), super-block b. */
KQ_INLINE void build_panel(kq_panel *P, const uint8_t *w, size_t ws, int m, int64_t b, size_t bytes_per_block,
                           unpack_fn unpack, int mul32) {
    __m512i rq[16][4], rsc[16], rmb[16];
    float d[16], dm[16];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i++) {
        if (i >= m) {
            for (int k = 0; k < 4; k++) rq[i][k] = _mm512_setzero_si512();
            rsc[i] = rmb[i] = _mm512_setzero_si512();
            d[i] = dm[i] = 0;
            continue;
        }
        kq_row u;
        unpack(w + i * ws + b * bytes_per_block, &u);
        for (int k = 0; k < 4; k++) rq[i][k] = u.q[k];
        /* vpmulld wants the scale as int32 (unpack keeps its low 16 bits; Q6_K's are signed) */
        rsc[i] = mul32 ? _mm512_srai_epi32(_mm512_slli_epi32(u.sc, 16), 16) : u.sc;
        rmb[i] = _mm512_zextsi256_si512(u.mb);
        _mm_store_ss(d + i, u.dd);
        _mm_store_ss(dm + i, _mm_movehdup_ps(u.dd));
    }
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        __m512i r[16];
        for (int i = 0; i < 16; i++) r[i] = rq[i][k];
        transpose16(r, P->q + 16 * k);
    }
    transpose16(rsc, P->sc);
    __m512i t[16];
    transpose16(rmb, t);
    for (int j = 0; j < 8; j++) P->mb[j] = t[j];
    P->d = _mm512_loadu_ps(d);
    P->dm = _mm512_loadu_ps(dm);
}

/* The same panel for 16 full rows of Q4_K, with fewer instructions: the packed nibbles are
 * transposed first (2 transposes of 16 dwords per row instead of 4 of unpacked bytes) and
 * split afterwards (qs dword 8j + i holds values 64j + 4i.. in its low nibbles and
 * 64j + 32 + 4i.. in its high ones), and the 16 headers are decoded together as in
 * decode16_k4. Same panel contents, bit for bit. */
KQ_INLINE void panel_q4k_header(kq_panel *P, __m512i D, __m512i W0, __m512i W1, __m512i W2);
KQ_INLINE void build_panel_q4k(kq_panel *P, const uint8_t *w, size_t ws, int64_t b) {
    const uint8_t *wb = w + b * 144;
    __m512i R[2][16], T[32];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i++) {
        R[0][i] = _mm512_loadu_si512(wb + i * ws + 16);
        R[1][i] = _mm512_loadu_si512(wb + i * ws + 80);
    }
    transpose16(R[0], T);
    transpose16(R[1], T + 16);
    const __m512i m4 = _mm512_set1_epi8(15);
    _Pragma("GCC unroll 4")
    for (int j = 0; j < 4; j++)
        _Pragma("GCC unroll 8")
        for (int i = 0; i < 8; i++) {
            P->q[16 * j + i] = _mm512_and_si512(T[8 * j + i], m4);
            P->q[16 * j + 8 + i] = _mm512_and_si512(_mm512_srli_epi16(T[8 * j + i], 4), m4);
        }
    /* headers of the 16 rows (rows16_dwords), back in row order */
    __m512i H[4];
    rows16_dwords(wb, ws, H);
    const __m512i un = untranspose();
    panel_q4k_header(P, _mm512_permutexvar_epi32(un, H[0]), _mm512_permutexvar_epi32(un, H[1]),
                     _mm512_permutexvar_epi32(un, H[2]), _mm512_permutexvar_epi32(un, H[3]));
}

/* The same panel from Q4_K packed at load (kquants_packed.c: per super-block 4 header
 * vectors, then qs dword 8j + i of the 16 rows in one vector), group grp: no transposes. */
KQ_INLINE void build_panel_q4k_packed(kq_panel *P, const uint8_t *grp, int64_t b) {
    const uint8_t *p = grp + b * 16 * 144;
    const __m512i m4 = _mm512_set1_epi8(15);
    _Pragma("GCC unroll 4")
    for (int j = 0; j < 4; j++)
        _Pragma("GCC unroll 8")
        for (int i = 0; i < 8; i++) {
            __m512i v = _mm512_loadu_si512(p + 256 + 64 * (8 * j + i));
            P->q[16 * j + i] = _mm512_and_si512(v, m4);
            P->q[16 * j + 8 + i] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
        }
    panel_q4k_header(P, _mm512_loadu_si512(p), _mm512_loadu_si512(p + 64), _mm512_loadu_si512(p + 128),
                     _mm512_loadu_si512(p + 192));
}

/* The same panel from Q6_K packed at load (kquants_packed56.c, kq56_packed512.h), group
 * grp of nb super-blocks: the packed kernel's unpacking, no transposes. */
KQ_INLINE void build_panel_q6k_packed(kq_panel *P, const uint8_t *grp, int64_t nb, int64_t b) {
    const uint8_t *p = grp + kq_q6_dbytes(nb) + b * P6_STEP;
    __m512i sc[16];
    _Pragma("GCC unroll 16")
    for (int g = 0; g < 16; g++) {
        p56_q6_quants(p + 256 + 192 * g, P->q + 4 * g);
        sc[g] = p56_sbyte(_mm512_loadu_si512(p + 64 * (g / 4)), g % 4);
        P->sc[g] = sc[g];
    }
    /* int16 pair (-32 sc[2j], -32 sc[2j+1]), as build_panel_q6k */
    const __m512i lo16 = _mm512_set1_epi32(0xFFFF);
    _Pragma("GCC unroll 8")
    for (int j = 0; j < 8; j++)
        P->mb[j] = _mm512_sub_epi16(_mm512_setzero_si512(),
                                    _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi32(sc[2 * j], 5), lo16), _mm512_slli_epi32(sc[2 * j + 1], 21)));
    P->d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(grp + 32 * b)));
    P->dm = _mm512_setzero_ps();
}

/* The header part of a Q4_K panel from the 16 rows' header dwords in row order (D = d | dmin,
 * W0..W2 = the 12 bytes of 6-bit scales and mins). */
KQ_INLINE void panel_q4k_header(kq_panel *P, __m512i D, __m512i W0, __m512i W1, __m512i W2) {
    const q4k_hdr16 h = q4k_hdr16_decode(D, W0, W1, W2);
    const __m512i sc03 = h.sc03, sc47 = h.sc47, mn03 = h.mn03, mn47 = h.mn47;
    const __m512i ff = _mm512_set1_epi32(0xFF);
    _Pragma("GCC unroll 8")
    for (int j = 0; j < 8; j++) {
        __m512i sc = _mm512_and_si512(_mm512_srli_epi32(j < 4 ? sc03 : sc47, 8 * (j % 4)), ff);
        __m512i mn = _mm512_and_si512(_mm512_srli_epi32(j < 4 ? mn03 : mn47, 8 * (j % 4)), ff);
        P->sc[2 * j] = P->sc[2 * j + 1] = sc;
        P->mb[j] = _mm512_or_si512(mn, _mm512_slli_epi32(mn, 16));
    }
    P->d = h.d;
    P->dm = h.dm;
}

/* The same for 16 full rows of Q6_K: ql (2 transposes) and qh (1) transposed packed, then
 * split: low nibble of ql dword 16n + i -> chunk 32n + i, high -> 32n + 16 + i; qh dword
 * 8n + i' gives their top 2 bits (bits 2(i/8), 4 + 2(i/8)). Scales: the 16 rows' 16 bytes
 * in 4 x 4 dword transposes; d by one gather (4 bytes ending at d: never past the block). */
KQ_INLINE void build_panel_q6k(kq_panel *P, const uint8_t *w, size_t ws, int64_t b) {
    const uint8_t *wb = w + b * 210;
    __m512i R[3][16], Tl[32], Th[16];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i++) {
        R[0][i] = _mm512_loadu_si512(wb + i * ws);
        R[1][i] = _mm512_loadu_si512(wb + i * ws + 64);
        R[2][i] = _mm512_loadu_si512(wb + i * ws + 128);
    }
    transpose16(R[0], Tl);
    transpose16(R[1], Tl + 16);
    transpose16(R[2], Th);
    const __m512i m4 = _mm512_set1_epi8(15), m3 = _mm512_set1_epi8(3);
    _Pragma("GCC unroll 2")
    for (int n = 0; n < 2; n++)
        _Pragma("GCC unroll 16")
        for (int i = 0; i < 16; i++) {
            __m512i l = Tl[16 * n + i], h = Th[8 * n + i % 8];
            int s0 = 2 * (i / 8);
            __m512i h0 = _mm512_and_si512(_mm512_srli_epi16(h, s0), m3), h1 = _mm512_and_si512(_mm512_srli_epi16(h, 4 + s0), m3);
            P->q[32 * n + i] = _mm512_or_si512(_mm512_and_si512(l, m4), _mm512_slli_epi16(h0, 4));
            P->q[32 * n + 16 + i] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4), _mm512_slli_epi16(h1, 4));
        }
    /* scales: the 16 rows' 16 bytes (rows16_dwords), back in row order */
    __m512i W[4];
    rows16_dwords(wb + 192, ws, W);
    const __m512i un = untranspose();
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) W[k] = _mm512_permutexvar_epi32(un, W[k]);
    __m512i sc[16];
    _Pragma("GCC unroll 16")
    for (int g = 0; g < 16; g++) {
        sc[g] = _mm512_srai_epi32(_mm512_slli_epi32(W[g / 4], 24 - 8 * (g % 4)), 24);   /* int8 -> int32 */
        P->sc[g] = sc[g];
    }
    const __m512i lo16 = _mm512_set1_epi32(0xFFFF);
    _Pragma("GCC unroll 8")
    for (int j = 0; j < 8; j++)   /* int16 pair (-32 sc[2j], -32 sc[2j+1]) */
        P->mb[j] = _mm512_or_si512(_mm512_and_si512(_mm512_slli_epi32(sc[2 * j], 5 + 0), lo16), _mm512_slli_epi32(sc[2 * j + 1], 21));
    _Pragma("GCC unroll 8")
    for (int j = 0; j < 8; j++)
        P->mb[j] = _mm512_sub_epi16(_mm512_setzero_si512(), P->mb[j]);
    const __m512i rowoff = rows16_offsets(ws);
    __m512i dh = _mm512_i32gather_epi32(rowoff, (const void *)(wb + 206), 1);
    P->d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dh, 16)));
    P->dm = _mm512_setzero_ps();
}

/* One group g (16 values) of NC columns: S1[c] += (the group's 4 vpdpbusd) x sc[g] */
KQ_INLINE void panel_group(const kq_panel *p, const uint8_t *ab, size_t as, int g, __m512i *S1, int NC, int mul32) {
    __m512i t[8];
    _Pragma("GCC unroll 8")
    for (int c = 0; c < NC; c++) t[c] = _mm512_setzero_si512();
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        __m512i wq = p->q[4 * g + k];
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++)
            t[c] = _mm512_dpbusd_epi32(t[c], wq, _mm512_set1_epi32((int)rd32(ab + c * as + KQ_Q8K_QS + 16 * g + 4 * k)));
    }
    _Pragma("GCC unroll 8")
    for (int c = 0; c < NC; c++)
        S1[c] = mul32 ? _mm512_add_epi32(S1[c], _mm512_mullo_epi32(t[c], p->sc[g])) : _mm512_dpwssd_epi32(S1[c], t[c], p->sc[g]);
}

/* NC columns (a: first column's super-block b0, as: column stride) over ch panels;
 * acc[c] holds the 16 rows of column c. */
KQ_INLINE void panel_cols(const kq_panel *P, int ch, const uint8_t *a, size_t as, __m512 *acc, int NC, int mode) {
    const int mul32 = mode & PANEL_MUL32, fold = mode & PANEL_FOLD;
    for (int bb = 0; bb < ch; bb++) {
        const kq_panel *p = P + bb;
        const uint8_t *ab = a + bb * KQ_Q8K_BYTES;
        __m512i S1[8], t[8];
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) S1[c] = _mm512_setzero_si512();
        /* Two groups at a time: unrolled 16 times, gcc computed every group's vpdpbusd sums
         * first and spilled them to the stack for the vpmulld form (Q6_K prefill at less
         * than half Q4_K's rate), and Q4_K ran ~10 % slower too (docs/kernels.md) */
        _Pragma("GCC unroll 2")
        for (int g = 0; g < 16; g++) panel_group(p, ab, as, g, S1, NC, mul32);
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) t[c] = _mm512_setzero_si512();
        _Pragma("GCC unroll 8")
        for (int j = 0; j < 8; j++) {
            _Pragma("GCC unroll 8")
            for (int c = 0; c < NC; c++)
                t[c] = _mm512_dpwssd_epi32(t[c], p->mb[j], _mm512_set1_epi32((int)rd32(ab + c * as + KQ_Q8K_BSUMS + 4 * j)));
        }
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) {
            __m512 da = _mm512_set1_ps(act_d(ab + c * as));
            if (fold) {
                acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(p->d, da), _mm512_cvtepi32_ps(_mm512_add_epi32(S1[c], t[c])), acc[c]);
            } else {
                acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(p->d, da), _mm512_cvtepi32_ps(S1[c]), acc[c]);
                acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(p->dm, da), _mm512_cvtepi32_ps(t[c]), acc[c]);
            }
        }
    }
}

#define PANEL_COLS(NC) \
    case NC: panel_cols(P, ch, ab, as, acc, NC, mode); break;

KQ_INLINE void mm_prefill_panel(int64_t nb, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                float *out, size_t os, size_t bytes_per_block, unpack_fn unpack, int mode, int packed) {
    kq_panel P[PCHUNK];
    /* chunks of super-blocks outside, 16-row panels inside: a chunk's activations (all the
     * tile's columns) stay in L2 while every panel of the tile passes over them */
    for (int64_t b0 = 0; b0 < nb || b0 == 0; b0 += PCHUNK) {
        int ch = nb - b0 < PCHUNK ? (int)(nb - b0) : PCHUNK;
        for (int r0 = 0; r0 < nr; r0 += 16) {
            int m = nr - r0 < 16 ? nr - r0 : 16;
            __mmask16 mk = (__mmask16)((1u << m) - 1);
            for (int bb = 0; bb < ch; bb++) {
                if (packed) {   /* ws: group bytes */
                    const uint8_t *grp = w + (r0 / 16) * ws;
                    if (bytes_per_block == 144) build_panel_q4k_packed(&P[bb], grp, b0 + bb);
                    else build_panel_q6k_packed(&P[bb], grp, nb, b0 + bb);
                }
                else if (bytes_per_block == 144 && m == 16) build_panel_q4k(&P[bb], w + r0 * ws, ws, b0 + bb);
                else if (bytes_per_block == 210 && m == 16) build_panel_q6k(&P[bb], w + r0 * ws, ws, b0 + bb);
                else build_panel(&P[bb], w + r0 * ws, ws, m, b0 + bb, bytes_per_block, unpack, mode & PANEL_MUL32);
            }
            for (int c0 = 0; c0 < nc; c0 += 8) {
                int k = nc - c0 < 8 ? nc - c0 : 8;
                __m512 acc[8];
                for (int c = 0; c < k; c++)
                    acc[c] = b0 ? _mm512_maskz_loadu_ps(mk, out + (c0 + c) * os + r0) : _mm512_setzero_ps();
                const uint8_t *ab = a + c0 * as + b0 * KQ_Q8K_BYTES;
                switch (k) {
                    PANEL_COLS(1) PANEL_COLS(2) PANEL_COLS(3) PANEL_COLS(4)
                    PANEL_COLS(5) PANEL_COLS(6) PANEL_COLS(7) PANEL_COLS(8)
                }
                for (int c = 0; c < k; c++) _mm512_mask_storeu_ps(out + (c0 + c) * os + r0, mk, acc[c]);
            }
        }
        if (nb == 0) break;
    }
}

#define KQ_MM(t, bytes, has_min, dec_unpack, il, off) \
    KQ_TARGET void kq_mm_##t##_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                                      int nc, float *out, size_t os) { \
        if (nc == 1) mm_decode(n / KQ_K, w, ws, nr, a, out, bytes, dec_unpack, has_min, il, off); \
        else if (nc >= KQ_PANEL_MIN_##t) \
            mm_prefill_panel(n / KQ_K, w, ws, nr, a, as, nc, out, os, bytes, unpack_##t, KQ_PANEL_##t, 0); \
        else mm_prefill(n / KQ_K, w, ws, nr, a, as, nc, out, os, bytes, unpack_##t, has_min); \
    }
/* each type's panel mode */
enum { KQ_PANEL_q2k = 0, KQ_PANEL_q3k = PANEL_FOLD, KQ_PANEL_q4k = 0, KQ_PANEL_q5k = PANEL_MUL32,
       KQ_PANEL_q6k = PANEL_MUL32 | PANEL_FOLD };
/* from how many columns the panel path runs: below, mm_prefill is faster (panel repacking
 * is per tile); measured in cache: Q4_K's panel (built from packed bytes) wins from 2 columns,
 * Q6_K's from 4 */
enum { KQ_PANEL_MIN_q2k = 4, KQ_PANEL_MIN_q3k = 4, KQ_PANEL_MIN_q4k = 2, KQ_PANEL_MIN_q5k = 4, KQ_PANEL_MIN_q6k = 4 };
KQ_MM(q2k, 84, 1, unpack_q2k, 0, 0)
KQ_MM(q3k, 110, 0, unpack_q3k, 0, 4)
KQ_MM(q4k, 144, 1, unpack_q4k_il, 1, 0)
KQ_MM(q5k, 176, 1, unpack_q5k_il, 2, 0)
KQ_MM(q6k, 210, 0, unpack_q6k, 0, 32)

/* Q4_K packed at load (kquants_packed.c), many columns: the panels above, built from the
 * packed groups (w: the tile's first group, ws: bytes per group) */
KQ_TARGET void kq_prefill_q4k_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                                            int nc, float *out, size_t os) {
    mm_prefill_panel(n / KQ_K, w, ws, nr, a, as, nc, out, os, 144, unpack_q4k, KQ_PANEL_q4k, 1);
}

/* Q6_K packed at load (kquants_packed56.c): the same (packed Q5_K has no panel: its own
 * kernel is faster at every column count) */
KQ_TARGET void kq_prefill_q6k_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                                            int nc, float *out, size_t os) {
    mm_prefill_panel(n / KQ_K, w, ws, nr, a, as, nc, out, os, 210, unpack_q6k, KQ_PANEL_q6k, 1);
}

/* ---- Q8_K activations (ggml's rounding, byte for byte: see seek_quant_q8_k) ---- */

KQ_TARGET void kq_quant_q8k_avx512(const float *x, void *vy, int64_t n) {
    uint8_t *y = vy;
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / KQ_K; i++, x += KQ_K, y += KQ_Q8K_BYTES) {
        __m512 vmax = _mm512_setzero_ps();
        for (int j = 0; j < KQ_K; j += 16) vmax = _mm512_max_ps(_mm512_andnot_ps(sign, _mm512_loadu_ps(x + j)), vmax);
        float amax = _mm512_reduce_max_ps(vmax);
        if (!(amax > 0)) {   /* all zero (or NaN, which the reference skips too) */
            memset(y, 0, KQ_Q8K_BYTES);
            continue;
        }
        /* the first element of largest magnitude gives the sign of the scale */
        float max = 0;
        for (int j = 0; j < KQ_K; j += 16) {
            __mmask16 e = _mm512_cmp_ps_mask(_mm512_andnot_ps(sign, _mm512_loadu_ps(x + j)), _mm512_set1_ps(amax), _CMP_EQ_OQ);
            if (e) {
                max = x[j + __builtin_ctz(e)];
                break;
            }
        }
        float iscale = -127.0f / max;
        __m512 vis = _mm512_set1_ps(iscale), magic = _mm512_set1_ps(12582912.0f);
        for (int j = 0; j < KQ_K; j += 16) {
            __m512i bits = _mm512_castps_si512(_mm512_fmadd_ps(vis, _mm512_loadu_ps(x + j), magic));
            __m512i q = _mm512_sub_epi32(_mm512_and_si512(bits, _mm512_set1_epi32(0x007fffff)), _mm512_set1_epi32(0x00400000));
            __m128i q8 = _mm512_cvtepi32_epi8(_mm512_min_epi32(q, _mm512_set1_epi32(127)));
            _mm_storeu_si128((__m128i *)(y + KQ_Q8K_QS + j), q8);
            int16_t bsum = (int16_t)_mm512_reduce_add_epi32(_mm512_cvtepi8_epi32(q8));
            memcpy(y + KQ_Q8K_BSUMS + j / 8, &bsum, 2);
        }
        float d = 1 / iscale;
        memcpy(y, &d, 4);
    }
}

#endif
