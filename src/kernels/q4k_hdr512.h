/* q4k_hdr512.h - the 16-byte Q4_K headers of 16 rows decoded together at AVX-512 (shared by
 * kquants_avx512.c's decode and panels and by the packed kernel, kquants_packed.c).
 *
 * Input: the headers as four int32 vectors, D = dword 0 of every row (fp16 d | fp16 dmin)
 * and W0..W2 = dwords 1..3 (the 12 bytes of 6-bit scales and mins, ggml's packing), one row
 * per lane in any lane order; every output keeps that order. Also two lane helpers the
 * packed kernels (kquants_packed.c, kquants_packed56.c) share. */
#ifndef SEEK_Q4K_HDR512_H
#define SEEK_Q4K_HDR512_H
#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "kern_impl.h"
#include "kquants_impl.h"

#define Q4K_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define Q4K_INLINE static inline __attribute__((always_inline)) Q4K_TARGET

typedef struct {
    __m512i sc03, sc47, mn03, mn47;   /* byte j of sc03 / sc47: scale of sub-block j / 4 + j; mins the same */
    __m512 d, dm;                     /* d and -dmin */
} q4k_hdr16;

Q4K_INLINE q4k_hdr16 q4k_hdr16_decode(__m512i D, __m512i W0, __m512i W1, __m512i W2) {
    const __m512i m6 = _mm512_set1_epi32(0x3f3f3f3f), m4 = _mm512_set1_epi32(0x0f0f0f0f), m2 = _mm512_set1_epi32(0x03030303);
    q4k_hdr16 h;
    h.sc03 = _mm512_and_si512(W0, m6);
    h.mn03 = _mm512_and_si512(W1, m6);
    h.sc47 = _mm512_or_si512(_mm512_and_si512(W2, m4), _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(W0, 6), m2), 4));
    h.mn47 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi32(W2, 4), m4),
                             _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(W1, 6), m2), 4));
    h.d = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(D));
    h.dm = _mm512_xor_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(D, 16))), _mm512_set1_ps(-0.0f));
    return h;
}

/* S2 = sum_j m_j * (bsum[2j] + bsum[2j+1]) for all 16 rows, from one Q8_K block's int16 bsums:
 * int16 pairs (m_j, m_j+2) x (B_j, B_j+2), B_j = bsum[2j] + bsum[2j+1] (|B| <= 32 * 128) */
Q4K_INLINE __m512i q4k_mins16(const q4k_hdr16 *h, const uint8_t *bsums) {
    __m256i B = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)bsums), _mm256_set1_epi16(1));
    B = _mm256_packs_epi32(B, B);   /* int16 per 128: B0 B1 B2 B3 x2 | B4 B5 B6 B7 x2 */
    B = _mm256_shuffle_epi8(B, _mm256_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 0, 1, 4, 5, 2, 3, 6, 7,
                                                0, 1, 4, 5, 2, 3, 6, 7, 0, 1, 4, 5, 2, 3, 6, 7));
    const __m512i Bz = _mm512_castsi256_si512(B);   /* dwords 0, 1, 4, 5: (B0,B2) (B1,B3) (B4,B6) (B5,B7) */
    const __m512i lo16 = _mm512_set1_epi32(0x00ff00ff);
    __m512i S2 = _mm512_dpwssd_epi32(_mm512_setzero_si512(), _mm512_and_si512(h->mn03, lo16),
                                     _mm512_permutexvar_epi32(_mm512_set1_epi32(0), Bz));
    S2 = _mm512_dpwssd_epi32(S2, _mm512_srli_epi16(h->mn03, 8), _mm512_permutexvar_epi32(_mm512_set1_epi32(1), Bz));
    S2 = _mm512_dpwssd_epi32(S2, _mm512_and_si512(h->mn47, lo16), _mm512_permutexvar_epi32(_mm512_set1_epi32(4), Bz));
    return _mm512_dpwssd_epi32(S2, _mm512_srli_epi16(h->mn47, 8), _mm512_permutexvar_epi32(_mm512_set1_epi32(5), Bz));
}

/* A column's float step after one super-block (Q4_K, Q5_K: the same header):
 * acc + d * da * S1 + (-dmin) * da * (mins . the Q8_K row's group sums), abc = that column's
 * Q8_K block (float da first) */
Q4K_INLINE __m512 q4k_col_step(__m512 acc, const q4k_hdr16 *h, __m512i S1, const uint8_t *abc) {
    float daf;
    memcpy(&daf, abc, 4);
    const __m512 da = _mm512_set1_ps(daf);
    acc = _mm512_fmadd_ps(_mm512_mul_ps(h->d, da), _mm512_cvtepi32_ps(S1), acc);
    return _mm512_fmadd_ps(_mm512_mul_ps(h->dm, da), _mm512_cvtepi32_ps(q4k_mins16(h, abc + KQ_Q8K_BSUMS)), acc);
}

/* int32 lane r = byte s of the 4 bytes in lane r of v */
Q4K_INLINE __m512i byte_of(__m512i v, int s) {   /* one vpshufb (indices are per 16-byte lane) */
    const int b = (int)(0x80808000u | (uint32_t)s);
    return _mm512_shuffle_epi8(v, _mm512_set4_epi32(b + 12, b + 8, b + 4, b));
}

#endif
#endif
