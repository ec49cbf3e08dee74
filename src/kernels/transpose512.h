/* transpose512.h - what the 16-row AVX-512 kernels share (internal to src/kernels/): a
 * 16 x 16 transpose of int32 in registers, which puts one weight row in each lane, and the
 * byte offsets of 16 rows for gathering one value per row. */
#ifndef SEEK_TRANSPOSE512_H
#define SEEK_TRANSPOSE512_H
#if defined(__x86_64__)
#include <immintrin.h>
#include <stddef.h>

/* c[j] lane i = r[i] lane j (16 x 16 int32) */
static inline __attribute__((always_inline, target("avx512f"))) void transpose16(const __m512i *r, __m512i *c) {
    __m512i a[16], b[16];
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i++) {
        a[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        a[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    _Pragma("GCC unroll 4")
    for (int i = 0; i < 4; i++) {
        b[4 * i] = _mm512_unpacklo_epi64(a[4 * i], a[4 * i + 2]);
        b[4 * i + 1] = _mm512_unpackhi_epi64(a[4 * i], a[4 * i + 2]);
        b[4 * i + 2] = _mm512_unpacklo_epi64(a[4 * i + 1], a[4 * i + 3]);
        b[4 * i + 3] = _mm512_unpackhi_epi64(a[4 * i + 1], a[4 * i + 3]);
    }
    /* b[4i + e], 128-bit lane L: rows 4i..4i+3 of element 4L + e */
    _Pragma("GCC unroll 4")
    for (int e = 0; e < 4; e++) {
        __m512i x = _mm512_shuffle_i32x4(b[e], b[4 + e], 0x44), y = _mm512_shuffle_i32x4(b[e], b[4 + e], 0xEE);
        __m512i x2 = _mm512_shuffle_i32x4(b[8 + e], b[12 + e], 0x44), y2 = _mm512_shuffle_i32x4(b[8 + e], b[12 + e], 0xEE);
        c[e] = _mm512_shuffle_i32x4(x, x2, 0x88);
        c[4 + e] = _mm512_shuffle_i32x4(x, x2, 0xDD);
        c[8 + e] = _mm512_shuffle_i32x4(y, y2, 0x88);
        c[12 + e] = _mm512_shuffle_i32x4(y, y2, 0xDD);
    }
}

/* lane r = r * ws: gather offsets of 16 rows ws bytes apart */
static inline __attribute__((always_inline, target("avx512f"))) __m512i rows16_offsets(size_t ws) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15), _mm512_set1_epi32((int)ws));
}
#endif
#endif
