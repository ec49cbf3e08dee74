/* q4k_hdr256.h - the 16-byte Q4_K / Q5_K headers of 8 rows decoded together at AVX2 (the
 * 256-bit twin of q4k_hdr512.h), shared by the 8-row decoder of kquants_avx2.c and the
 * packed AVX2 kernels of kquants_packed_avx2.c.
 *
 * Input: the headers as four int32 vectors, D = dword 0 of every row (fp16 d | fp16 dmin)
 * and W0..W2 = dwords 1..3 (the 12 bytes of 6-bit scales and mins, ggml's packing), one row
 * per lane in any lane order; every output keeps that order. */
#ifndef SEEK_Q4K_HDR256_H
#define SEEK_Q4K_HDR256_H
#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#define Q4K8_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

typedef struct {
    __m256i sc03, sc47, mn03, mn47;   /* byte j of sc03 / sc47: scale of sub-block j / 4 + j; mins the same */
    __m256 d, dm;                     /* d and -dmin */
} q4k_hdr8;

Q4K8_INLINE q4k_hdr8 q4k_hdr8_decode(__m256i D, __m256i W0, __m256i W1, __m256i W2) {
    const __m256i m6 = _mm256_set1_epi32(0x3f3f3f3f), m4 = _mm256_set1_epi32(0x0f0f0f0f), m2 = _mm256_set1_epi32(0x03030303);
    q4k_hdr8 h;
    h.sc03 = _mm256_and_si256(W0, m6);
    h.mn03 = _mm256_and_si256(W1, m6);
    h.sc47 = _mm256_or_si256(_mm256_and_si256(W2, m4), _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(W0, 6), m2), 4));
    h.mn47 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi32(W2, 4), m4),
                             _mm256_slli_epi32(_mm256_and_si256(_mm256_srli_epi32(W1, 6), m2), 4));
    /* fp16 d of the 8 rows in the low 128 bits, dmin in the high */
    const __m256i w16 = _mm256_set1_epi32(0xFFFF);
    const __m256i dh = _mm256_permute4x64_epi64(_mm256_packus_epi32(_mm256_and_si256(D, w16), _mm256_srli_epi32(D, 16)), 0xD8);
    h.d = _mm256_cvtph_ps(_mm256_castsi256_si128(dh));
    h.dm = _mm256_xor_ps(_mm256_cvtph_ps(_mm256_extracti128_si256(dh, 1)), _mm256_set1_ps(-0.0f));
    return h;
}

/* S2 = sum_j m_j * (bsum[2j] + bsum[2j+1]) for the 8 rows, from one Q8_K block's int16 bsums:
 * int16 pairs (m_j, m_j+2) x (B_j, B_j+2), B_j = bsum[2j] + bsum[2j+1] (|B| <= 32 * 128) */
Q4K8_INLINE __m256i q4k_mins8(const q4k_hdr8 *h, const uint8_t *bsums) {
    __m256i B = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)bsums), _mm256_set1_epi16(1));
    B = _mm256_packs_epi32(B, B);   /* int16 per 128: B0 B1 B2 B3 x2 | B4 B5 B6 B7 x2 */
    B = _mm256_shuffle_epi8(B, _mm256_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 0, 1, 4, 5, 2, 3, 6, 7,
                                                0, 1, 4, 5, 2, 3, 6, 7, 0, 1, 4, 5, 2, 3, 6, 7));
    const __m256i lo16 = _mm256_set1_epi32(0x00ff00ff);
    __m256i S2 = _mm256_madd_epi16(_mm256_and_si256(h->mn03, lo16), _mm256_permutevar8x32_epi32(B, _mm256_set1_epi32(0)));
    S2 = _mm256_add_epi32(S2, _mm256_madd_epi16(_mm256_srli_epi16(h->mn03, 8), _mm256_permutevar8x32_epi32(B, _mm256_set1_epi32(1))));
    S2 = _mm256_add_epi32(S2, _mm256_madd_epi16(_mm256_and_si256(h->mn47, lo16), _mm256_permutevar8x32_epi32(B, _mm256_set1_epi32(4))));
    return _mm256_add_epi32(S2, _mm256_madd_epi16(_mm256_srli_epi16(h->mn47, 8), _mm256_permutevar8x32_epi32(B, _mm256_set1_epi32(5))));
}

#endif
#endif
