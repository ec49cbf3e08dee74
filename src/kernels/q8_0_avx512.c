/* q8_0_avx512.c - Q8_0 weights at KERN_AVX512: one output row per lane.
 *
 * Weight block (34 bytes, ggml's): fp16 d | int8 q[32]. Activations: legacy.c's regrouped
 * Q8_0 rows, 256 bytes per group of 4 blocks k = 0..3:
 *   [16k, 16k+16): values 0..15 of block k   [64 + 16k, ..): values 16..31
 *   [128 + 16k]: float d of block k (x4)      [192 + 16k]: int32 x4, -128 * sums of 8 values
 * vpdpbusd wants unsigned weights, so they enter as q + 128 and the int32 words at 192 put
 * the -128 * sum(a) back: sumi_j = sum (q + 128) a - 128 sum a = sum q a, exact.
 *
 * The arithmetic of this level, for every tile shape (decode and prefill give the same
 * bits, so a sequence's logits do not depend on the batch it is computed in):
 *   acc = 0;  for each block j in order:  acc = fmaf(dw_j * da_j, (float)sumi_j, acc)
 *
 * Prefill (2 or more columns): 16 rows x 4 blocks are repacked into a panel (q[32] lane r
 * = 4 quants of row r, d[4] lane r = row r's scales) and each column's 4 activation bytes
 * are broadcast into vpdpbusd, NC columns per weight load, no horizontal sums.
 * Decode (1 column): 16 rows' 2-block dot products in 16 zmm, reduced by one transposing
 * tree to (row, block) sums; the 16 rows' scales come from one gather per block.
 */
#include "kern_impl.h"

#ifdef KERN_X86
#include "transpose512.h"

enum { QB = 34 };   /* bytes per weight block */

typedef struct {
    __m512i q[32];
    __m512 d[4];
} q8_panel;

/* Rows w[0..m-1] (m <= 16, others zero), blocks 4g .. 4g + cnt - 1 (cnt <= 4). */
KT_AVX512 KINLINE void q8_build(q8_panel *P, const uint8_t *w, size_t ws, int m, int64_t g, int cnt) {
    __m512i r[2][16];
    const __m512i sgn = _mm512_set1_epi8((char)0x80);
    const __mmask32 m0 = cnt > 0 ? ~(__mmask32)0 : 0, m1 = cnt > 1 ? ~(__mmask32)0 : 0;
    const __mmask32 m2 = cnt > 2 ? ~(__mmask32)0 : 0, m3 = cnt > 3 ? ~(__mmask32)0 : 0;
    for (int i = 0; i < 16; i++) {
        const uint8_t *p = w + (i < m ? i : 0) * ws + g * 4 * QB + 2;
        __mmask32 live = i < m ? ~(__mmask32)0 : 0;
        __m256i q0 = _mm256_maskz_loadu_epi8(m0 & live, p), q1 = _mm256_maskz_loadu_epi8(m1 & live, p + QB);
        __m256i q2 = _mm256_maskz_loadu_epi8(m2 & live, p + 2 * QB), q3 = _mm256_maskz_loadu_epi8(m3 & live, p + 3 * QB);
        r[0][i] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), sgn);
        r[1][i] = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q2), q3, 1), sgn);
    }
    transpose16(r[0], P->q);
    transpose16(r[1], P->q + 16);
    /* the 16 rows' fp16 scales, one gather per block (4 bytes from the block start) */
    const __m512i rowoff = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32((int)ws));
    for (int k = 0; k < 4; k++) {
        __mmask16 live = k < cnt ? (__mmask16)((1u << m) - 1) : 0;
        __m512i dh = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, rowoff, (const void *)(w + (g * 4 + k) * QB), 1);
        P->d[k] = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dh));
    }
}

KT_AVX512 KINLINE void q8_cols(const q8_panel *P, const uint8_t *ag, size_t as, __m512 *acc, int NC) {
    for (int k = 0; k < 4; k++) {
        __m512i t[8];
        KUNROLL for (int c = 0; c < NC; c++) {
            const int32_t *cw = (const int32_t *)(ag + c * as + 192 + 16 * k);
            t[c] = _mm512_set1_epi32(cw[0] + cw[1] + cw[2] + cw[3]);
        }
        KUNROLL for (int j = 0; j < 8; j++) {
            __m512i wq = P->q[8 * k + j];
            int off = j < 4 ? 16 * k + 4 * j : 64 + 16 * k + 4 * (j - 4);
            KUNROLL for (int c = 0; c < NC; c++) t[c] = _mm512_dpbusd_epi32(t[c], wq, _mm512_set1_epi32((int)kern_rd32(ag + c * as + off)));
        }
        KUNROLL for (int c = 0; c < NC; c++) {
            float da;
            memcpy(&da, ag + c * as + 128 + 16 * k, 4);
            acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(P->d[k], _mm512_set1_ps(da)), _mm512_cvtepi32_ps(t[c]), acc[c]);
        }
    }
}

#define Q8_COLS(NC) \
    case NC: q8_cols(Pg, ag, as, acc, NC); break;

enum { Q8_PCH = 8 };   /* activation groups (4 blocks) per panel: 16 rows x 32 blocks, 18 KiB */

KT_AVX512 static void q8_prefill(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                 float *out, size_t os) {
    const int64_t nb = n / 32, ng = (nb + 3) / 4;
    q8_panel P[Q8_PCH];
    for (int r0 = 0; r0 < nr; r0 += 16) {
        int m = nr - r0 < 16 ? nr - r0 : 16;
        __mmask16 mk = (__mmask16)((1u << m) - 1);
        for (int64_t g0 = 0; g0 < ng || g0 == 0; g0 += Q8_PCH) {
            int ch = ng - g0 < Q8_PCH ? (int)(ng - g0) : Q8_PCH;
            for (int gg = 0; gg < ch; gg++) {
                int64_t g = g0 + gg;
                q8_build(&P[gg], w + r0 * ws, ws, m, g, nb - 4 * g < 4 ? (int)(nb - 4 * g) : 4);
            }
            for (int c0 = 0; c0 < nc; c0 += 8) {
                int k = nc - c0 < 8 ? nc - c0 : 8;
                __m512 acc[8];
                for (int c = 0; c < k; c++)
                    acc[c] = g0 ? _mm512_maskz_loadu_ps(mk, out + (c0 + c) * os + r0) : _mm512_setzero_ps();
                for (int gg = 0; gg < ch; gg++) {
                    const uint8_t *ag = a + c0 * as + (g0 + gg) * 256;
                    const q8_panel *Pg = &P[gg];
                    switch (k) {
                        Q8_COLS(1) Q8_COLS(2) Q8_COLS(3) Q8_COLS(4)
                        Q8_COLS(5) Q8_COLS(6) Q8_COLS(7) Q8_COLS(8)
                    }
                }
                for (int c = 0; c < k; c++) _mm512_mask_storeu_ps(out + (c0 + c) * os + r0, mk, acc[c]);
            }
            if (ng == 0) break;
        }
    }
}

/* 16 rows of one column. */
KT_AVX512 static void q8_decode16(int64_t n, const uint8_t *w, size_t ws, const uint8_t *a, float *out) {
    const int64_t nb = n / 32, ng = (nb + 3) / 4;
    const __m512i sgn = _mm512_set1_epi8((char)0x80);
    const __m512i rowoff = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                              _mm512_set1_epi32((int)ws));
    __m512 acc = _mm512_setzero_ps();
    for (int64_t g = 0; g < ng; g++) {
        const int cnt = nb - 4 * g < 4 ? (int)(nb - 4 * g) : 4;
        const uint8_t *wg = w + g * 4 * QB, *ag = a + g * 256;
        if (n <= KERN_PF_MAX_N) kern_prefetch(w + 16 * ws + g * 16 * 4 * QB, (size_t)(16 * cnt * QB));
        __m512i qa = _mm512_loadu_si512(ag), qb = _mm512_loadu_si512(ag + 64);
        for (int h = 0; h < 2 && 2 * h < cnt; h++) {
            /* activations of blocks 2h, 2h+1 in value order */
            __m512i av = _mm512_permutex2var_epi64(qa, _mm512_setr_epi64(4 * h, 4 * h + 1, 8 + 4 * h, 9 + 4 * h, 4 * h + 2, 4 * h + 3, 10 + 4 * h, 11 + 4 * h), qb);
            __mmask64 lm = 2 * h + 1 < cnt ? ~(__mmask64)0 : 0xFFFFFFFFull;
            __m512i x[16];
            KUNROLL for (int i = 0; i < 16; i++) {
                const uint8_t *p = wg + i * ws + 2 * h * QB + 2;
                __m512i wv = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
                                                _mm256_maskz_loadu_epi8((__mmask32)(lm >> 32), p + QB), 1);
                x[i] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_xor_si512(wv, sgn), av);
            }
            /* rows 4j..4j+3 per 128-bit lane, then the two 256-bit halves = the two blocks */
            __m512i t[8], u[4];
            KUNROLL for (int i = 0; i < 8; i++)
                t[i] = _mm512_add_epi32(_mm512_unpacklo_epi32(x[2 * i], x[2 * i + 1]), _mm512_unpackhi_epi32(x[2 * i], x[2 * i + 1]));
            KUNROLL for (int j = 0; j < 4; j++) {
                u[j] = _mm512_add_epi32(_mm512_unpacklo_epi64(t[2 * j], t[2 * j + 1]), _mm512_unpackhi_epi64(t[2 * j], t[2 * j + 1]));
                u[j] = _mm512_add_epi32(u[j], _mm512_shuffle_i32x4(u[j], u[j], 0xB1));   /* lanes 0 and 2: the blocks */
            }
            __m512i p0 = _mm512_shuffle_i32x4(u[0], u[1], 0x88), p1 = _mm512_shuffle_i32x4(u[2], u[3], 0x88);
            __m512i s[2] = {_mm512_shuffle_i32x4(p0, p1, 0x88), _mm512_shuffle_i32x4(p0, p1, 0xDD)};
            for (int e = 0; e < 2 && 2 * h + e < cnt; e++) {
                int k = 2 * h + e;
                const int32_t *cw = (const int32_t *)(ag + 192 + 16 * k);
                __m512i si = _mm512_add_epi32(s[e], _mm512_set1_epi32(cw[0] + cw[1] + cw[2] + cw[3]));
                __m512i dh = _mm512_i32gather_epi32(rowoff, (const void *)(wg + k * QB), 1);
                __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dh));
                float da;
                memcpy(&da, ag + 128 + 16 * k, 4);
                acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(da)), _mm512_cvtepi32_ps(si), acc);
            }
        }
    }
    _mm512_storeu_ps(out, acc);
}

KT_AVX512 void kern_mm_q8_0_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                   float *out, size_t os) {
    int r0 = 0;
    if (nc == 1)
        for (; r0 + 16 <= nr; r0 += 16) q8_decode16(n, w + r0 * ws, ws, a, out + r0);
    if (r0 < nr) q8_prefill(n, w + r0 * ws, ws, nr - r0, a, as, nc, out + r0, os);
}
#endif
