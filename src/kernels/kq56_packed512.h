/* kq56_packed512.h - the packed Q5_K / Q6_K layouts' sizes and their AVX-512 unpacking
 * (layouts drawn in kquants_packed56.c), shared by the packed kernel there and by the
 * panels of kquants_avx512.c that prefill builds from the packed groups. */
#ifndef SEEK_KQ56_PACKED512_H
#define SEEK_KQ56_PACKED512_H

#include <stddef.h>
#include <stdint.h>

enum { P5_BLOCK = 176, P6_BLOCK = 210, P5_STEP = 44 * 64, P6_STEP = 52 * 64 };

/* bytes of the D area (16 fp16 d per super-block) at the start of a Q6_K group */
static inline size_t kq_q6_dbytes(int64_t nb) { return ((size_t)nb * 32 + 63) & ~(size_t)63; }

#if defined(__x86_64__)
#include <immintrin.h>

#define P56_INLINE \
    static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))

/* bits 0-3 of every byte from lo, bits 4-7 from hi (one vpternlogd: 0x0f ? lo : hi) */
P56_INLINE __m512i p56_merge4(__m512i lo, __m512i hi) {
    return _mm512_ternarylogic_epi32(_mm512_set1_epi8(0x0f), lo, hi, 0xCA);
}

/* bit k of every byte of x moved to bit 4, the other bits 0 (16-bit shifts: the bits that
 * cross a byte boundary are masked away) */
P56_INLINE __m512i p56_bit_to_4(__m512i x, int k) {
    __m512i y = k < 4 ? _mm512_slli_epi16(x, 4 - k) : k > 4 ? _mm512_srli_epi16(x, k - 4) : x;
    return _mm512_and_si512(y, _mm512_set1_epi8(0x10));
}

/* Q5_K: from X (at x) and Q[e] (at q + 64 e) of one (c, h), the quants of e = 2 pr + i
 * (i = 0, 1): lo[i] (sub-block 2c) and hi[i] (sub-block 2c + 1), one byte per value */
P56_INLINE void p56_q5_quants(const uint8_t *x, const uint8_t *q, int pr, __m512i *lo, __m512i *hi) {
    const __m512i X = _mm512_loadu_si512(x);
    _Pragma("GCC unroll 2")
    for (int i = 0; i < 2; i++) {
        const int e = 2 * pr + i;
        const __m512i v = _mm512_loadu_si512(q + 64 * e);
        lo[i] = p56_merge4(v, p56_bit_to_4(X, 2 * e));
        hi[i] = p56_merge4(_mm512_srli_epi16(v, 4), p56_bit_to_4(X, 2 * e + 1));
    }
}

/* Q6_K: the 4 chunks of one group (L0, L1, Hb at q): ch[k] lane r = values 16g + 4k..+3 */
P56_INLINE void p56_q6_quants(const uint8_t *q, __m512i *ch) {
    const __m512i m33 = _mm512_set1_epi8(0x33);
    const __m512i L0 = _mm512_loadu_si512(q), L1 = _mm512_loadu_si512(q + 64), H = _mm512_loadu_si512(q + 128);
    const __m512i m = _mm512_and_si512(H, m33), n = _mm512_and_si512(_mm512_srli_epi16(H, 2), m33);
    ch[0] = p56_merge4(L0, _mm512_slli_epi16(m, 4));
    ch[1] = p56_merge4(_mm512_srli_epi16(L0, 4), m);
    ch[2] = p56_merge4(L1, _mm512_slli_epi16(n, 4));
    ch[3] = p56_merge4(_mm512_srli_epi16(L1, 4), n);
}

/* Q6_K: int32 lane r = the int8 scale in byte s of lane r of v */
P56_INLINE __m512i p56_sbyte(__m512i v, int s) { return _mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * s), 24); }

/* Q6_K: int16 pairs (sc, 256 sc) per lane, sc = the int8 scale in byte s of lane r of v:
 * vpshufb makes (s << 8, s << 8), one masked arithmetic shift the low one back to sc */
P56_INLINE __m512i p56_sbyte_pair(__m512i v, int s) {
    const int b = (int)((uint32_t)s << 24 | (uint32_t)s << 8 | 0x00800080u);
    const __m512i x = _mm512_shuffle_epi8(v, _mm512_set4_epi32(b + 0x0c000c00, b + 0x08000800, b + 0x04000400, b));
    return _mm512_mask_srai_epi16(x, (__mmask32)0x55555555u, x, 8);
}

/* Q6_K: a group sum t (|t| <= 16 * 32 * 128 = 2^16) as int16 pairs (t & 255, t >> 8) in each lane: bytes
 * (t0, 0, t1, t2), one vpshufb; with p56_sbyte_pair, vpdpwssd adds exactly t * sc */
P56_INLINE __m512i p56_split_t(__m512i t) {
    const int b = 0x02018000;
    return _mm512_shuffle_epi8(t, _mm512_set4_epi32(b + 0x0c0c000c, b + 0x08080008, b + 0x04040004, b));
}

#endif
#endif
