/* legacy_avx512.c - Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL weights at KERN_AVX512: one output
 * row per lane.
 *
 * Weight blocks of 32 values (ggml's layouts; bit-level formulas in legacy.c):
 *   Q8_0 34 B: d | int8 q[32]                 Q4_0 18 B: d | qs[16] (nibbles; value q - 8)
 *   Q5_0 22 B: d | qh[4] | qs[16] (value q-16)   Q4_1 20 B: d | m | qs[16] (value d*q + m)
 *   Q5_1 24 B: d | m | qh[4] | qs[16]          IQ4_NL 18 B: d | qs[16] (value grid[q], int8)
 * Every block is first turned into 32 unsigned bytes in value order (Q8_0 as q + 128,
 * IQ4_NL as grid[q] + 128 by one vpshufb, the others as their unsigned quants), the operand
 * vpdpbusd wants.
 * Activations: legacy.c's regrouped Q8_0 / Q8_1 rows, 160 bytes per group of 4 blocks k:
 *   [16k, 16k+16): values 0..15 of block k   [64 + 16k, ..): values 16..31
 *   [128 + 4k]: float d of block k
 *   [144 + 4k]: _0 types: int32 -K * sum of the block (K = 128, 8, 16; IQ4_NL 128: the offset,
 *               so sumi = sum (u - K) a exactly); _1 types: float d * sum(a)
 *
 * The arithmetic of this level, for every tile shape (decode and prefill give the same
 * bits, so a sequence's logits do not depend on the batch it is computed in):
 *   acc = 0;  for each block j in order:
 *     acc = fmaf(dw_j * da_j, (float)sumi_j, acc);   _1 types then: acc = fmaf(m_j, ex_j, acc)
 *
 * Prefill (2 or more columns): 16 rows x 4 blocks are repacked into a panel (q[32] lane r
 * = 4 quants of row r, d[4] / m[4] lane r = row r's scales) and each column's 4 activation
 * bytes are broadcast into vpdpbusd, up to 12 columns per weight load, no horizontal sums;
 * per (block, column): 8 vpdpbusd from the broadcast offset word, then convert, multiply,
 * FMA. Loop order: chunks of 32 blocks, then 16-row panels, then groups of columns.
 * Packed weights take two panels (32 rows) at a time where the tile has them: each
 * broadcast activation word then feeds two vpdpbusd, 6 columns per pass (lg_cols2;
 * Q8_0 1536 x 1536 x 256 in cache 537 -> 585 GFLOP/s one thread, medians of 5).
 * Decode (1 column): 16 rows' 2-block dot products in 16 zmm, reduced by one transposing
 * tree to (row, block) sums; the 16 rows' d (and m) come from one gather per block.
 * Weights packed at load (legacy_packed.c) reuse the prefill here, with the panels built
 * from the packed steps (lgp_panel).
 */
#include "legacy512.h"

#ifdef KERN_X86
#include "transpose512.h"

/* Block at p as 32 unsigned bytes in value order; `live` false gives zeros. */
KT_AVX512 KINLINE __m256i block_u8(ltype T, const uint8_t *p, bool live) {
    if (!live) return T == L_Q8_0 || T == L_IQ4_NL ? _mm256_set1_epi8((char)0x80) : _mm256_setzero_si256();
    if (T == L_Q8_0) return _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(p + 2)), _mm256_set1_epi8((char)0x80));
    __m128i x = _mm_loadu_si128((const __m128i *)(p + QS[T]));
    const __m128i m4 = _mm_set1_epi8(15);
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_and_si128(x, m4)), _mm_and_si128(_mm_srli_epi16(x, 4), m4), 1);
    if (QH[T]) v = _mm256_mask_add_epi8(v, (__mmask32)kern_rd32(p + QH[T]), v, _mm256_set1_epi8(16));
    if (T == L_IQ4_NL) v = _mm256_shuffle_epi8(_mm512_castsi512_si256(iq4nl_grid()), v);
    return v;
}

/* columns per weight load: 12 independent vpdpbusd chains in flight (+5 % in cache over
 * 8); t[12] + acc[12] + operands fit the 32 zmm */
enum { LG_NC = 12 };

typedef struct {
    __m512i q[32];
    __m512 d[4], m[4];
} lg_panel;

/* Rows w[0..m-1] (m <= 16, others zero), blocks 4g .. 4g + cnt - 1 (cnt <= 4). */
KT_AVX512 KINLINE void lg_build(ltype T, lg_panel *P, const uint8_t *w, size_t ws, int m, int64_t g, int cnt) {
    const int bb = BB[T];
    __m512i r[2][16];
    for (int i = 0; i < 16; i++) {
        const uint8_t *p = w + (i < m ? i : 0) * ws + g * 4 * bb;
        __m256i b[4];
        for (int k = 0; k < 4; k++) b[k] = block_u8(T, p + k * bb, i < m && k < cnt);
        r[0][i] = _mm512_inserti64x4(_mm512_castsi256_si512(b[0]), b[1], 1);
        r[1][i] = _mm512_inserti64x4(_mm512_castsi256_si512(b[2]), b[3], 1);
    }
    transpose16(r[0], P->q);
    transpose16(r[1], P->q + 16);
    /* the 16 rows' fp16 d (and m above it), one gather per block */
    const __m512i rowoff = rows16_offsets(ws);
    for (int k = 0; k < 4; k++) {
        __mmask16 live = k < cnt ? (__mmask16)((1u << m) - 1) : 0;
        __m512i dh = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), live, rowoff, (const void *)(w + (g * 4 + k) * bb), 1);
        P->d[k] = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dh));
        P->m[k] = HAS_M(T) ? _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dh, 16))) : _mm512_setzero_ps();
    }
}

/* The same panel for 16 rows and 4 whole blocks, straight-line: Q8_0's 2 x 32 quant bytes per
 * 64-byte row register; the nibble types' 4 x 16 packed bytes in one register per row,
 * transposed packed (one transpose instead of two) and split afterwards (dword 4k + i of a
 * row = bytes 4i..4i+3 of block k's qs: values 4i.. in its low nibbles, 16 + 4i.. in its
 * high ones); the Q5 fifth bit from one gather of the 16 rows' qh per block. Same panel
 * contents, bit for bit. */
KT_AVX512 KINLINE void lg_build16(ltype T, lg_panel *P, const uint8_t *w, size_t ws, int64_t g) {
    const int bb = BB[T];
    const uint8_t *wg = w + g * 4 * bb;
    const __m512i rowoff = rows16_offsets(ws);
    if (T == L_Q8_0) {
        __m512i r[2][16];
        _Pragma("GCC unroll 16")
        for (int i = 0; i < 16; i++) {
            const uint8_t *p = wg + i * ws + 2;
            _Pragma("GCC unroll 2")
            for (int h = 0; h < 2; h++)
                r[h][i] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(p + 2 * h * bb))),
                                             _mm256_loadu_si256((const __m256i *)(p + (2 * h + 1) * bb)), 1);
        }
        transpose16(r[0], P->q);
        transpose16(r[1], P->q + 16);
        _Pragma("GCC unroll 32")
        for (int j = 0; j < 32; j++) P->q[j] = _mm512_xor_si512(P->q[j], _mm512_set1_epi8((char)0x80));
    } else {
        __m512i r[16], t[16];
        _Pragma("GCC unroll 16")
        for (int i = 0; i < 16; i++) {
            const uint8_t *p = wg + i * ws + QS[T];
            __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + bb)), 1);
            z = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + 2 * bb)), 2);
            r[i] = _mm512_inserti32x4(z, _mm_loadu_si128((const __m128i *)(p + 3 * bb)), 3);
        }
        transpose16(r, t);
        const __m512i m4 = _mm512_set1_epi8(15);
        _Pragma("GCC unroll 4")
        for (int k = 0; k < 4; k++) {
            __m512i hq = _mm512_setzero_si512();
            if (QH[T]) hq = _mm512_i32gather_epi32(rowoff, (const void *)(wg + k * bb + QH[T]), 1);
            _Pragma("GCC unroll 8")
            for (int jj = 0; jj < 8; jj++) {
                __m512i x = t[4 * k + jj % 4];
                __m512i v = _mm512_and_si512(jj < 4 ? x : _mm512_srli_epi16(x, 4), m4);
                if (QH[T]) {   /* value 4jj + b's bit: qh byte jj/2, bit 4(jj%2) + b, in byte b of the lane */
                    __m512i hb = _mm512_shuffle_epi8(hq, _mm512_add_epi8(_mm512_set4_epi32(0x0c0c0c0c, 0x08080808, 0x04040404, 0),
                                                                         _mm512_set1_epi8((char)(jj / 2))));
                    __mmask64 hi = _mm512_test_epi8_mask(hb, _mm512_set1_epi32((int)(0x08040201u << 4 * (jj % 2))));
                    v = _mm512_mask_add_epi8(v, hi, v, _mm512_set1_epi8(16));
                }
                if (T == L_IQ4_NL) v = _mm512_shuffle_epi8(iq4nl_grid(), v);
                P->q[8 * k + jj] = v;
            }
        }
    }
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        __m512i dh = _mm512_i32gather_epi32(rowoff, (const void *)(wg + k * bb), 1);
        P->d[k] = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dh));
        P->m[k] = HAS_M(T) ? _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dh, 16))) : _mm512_setzero_ps();
    }
}

/* The same panel from a packed group (legacy_packed.c): step g's vectors are already one
 * row per lane, so only the nibble split / fifth bit / grid lookup of lgp_vec remains. */
KT_AVX512 KINLINE void lgp_panel(ltype T, lg_panel *P, const uint8_t *grp, int64_t nb, int64_t g) {
    const int cnt = nb - 4 * g < 4 ? (int)(nb - 4 * g) : 4;
    const uint8_t *p = grp + g * 64 * BB[T];
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        if (k < cnt) {
            _Pragma("GCC unroll 8")
            for (int j = 0; j < 8; j++) P->q[8 * k + j] = lgp_vec(T, p, cnt, k, j);
            P->d[k] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + lgp_d(k))));
            P->m[k] = HAS_M(T) ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + lgp_m(cnt, k)))) : _mm512_setzero_ps();
        } else {   /* past the row's end: the activations are zero blocks, as in lg_build */
            for (int j = 0; j < 8; j++) P->q[8 * k + j] = _mm512_setzero_si512();
            P->d[k] = P->m[k] = _mm512_setzero_ps();
        }
    }
}

KT_AVX512 KINLINE void lg_cols(ltype T, const lg_panel *P, const uint8_t *ag, size_t as, __m512 *acc, int NC) {
    for (int k = 0; k < 4; k++) {
        __m512i t[LG_NC];
        _Pragma("GCC unroll 16") for (int c = 0; c < NC; c++) t[c] = _mm512_set1_epi32(corr(T, ag + c * as, k));
        KUNROLL for (int j = 0; j < 8; j++) {
            __m512i wq = P->q[8 * k + j];
            _Pragma("GCC unroll 16") for (int c = 0; c < NC; c++) t[c] = _mm512_dpbusd_epi32(t[c], wq, _mm512_set1_epi32((int)kern_rd32(ag + c * as + lg_aoff(k, j))));
        }
        _Pragma("GCC unroll 16") for (int c = 0; c < NC; c++) {
            const uint8_t *ac = ag + c * as;
            acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(P->d[k], _mm512_set1_ps(rdf(ac + GD + 4 * k))), _mm512_cvtepi32_ps(t[c]), acc[c]);
            if (HAS_M(T)) acc[c] = _mm512_fmadd_ps(P->m[k], _mm512_set1_ps(rdf(ac + GX + 4 * k)), acc[c]);
        }
    }
}

/* Two 16-row panels at once: each broadcast activation word feeds both panels' vpdpbusd
 * (half the broadcast loads per product), NC <= LG_NC2 columns so t[2][NC] + acc[2][NC]
 * stay in registers. The same arithmetic per (row, column) as lg_cols. */
enum { LG_NC2 = 6 };
KT_AVX512 KINLINE void lg_cols2(ltype T, const lg_panel *P0, const lg_panel *P1, const uint8_t *ag, size_t as, __m512 *acc0,
                                __m512 *acc1, int NC) {
    for (int k = 0; k < 4; k++) {
        __m512i t0[LG_NC2], t1[LG_NC2];
        _Pragma("GCC unroll 8") for (int c = 0; c < NC; c++) t0[c] = t1[c] = _mm512_set1_epi32(corr(T, ag + c * as, k));
        KUNROLL for (int j = 0; j < 8; j++) {
            const __m512i w0 = P0->q[8 * k + j], w1 = P1->q[8 * k + j];
            _Pragma("GCC unroll 8") for (int c = 0; c < NC; c++) {
                const __m512i b = _mm512_set1_epi32((int)kern_rd32(ag + c * as + lg_aoff(k, j)));
                t0[c] = _mm512_dpbusd_epi32(t0[c], w0, b);
                t1[c] = _mm512_dpbusd_epi32(t1[c], w1, b);
            }
        }
        _Pragma("GCC unroll 8") for (int c = 0; c < NC; c++) {
            const uint8_t *ac = ag + c * as;
            const __m512 da = _mm512_set1_ps(rdf(ac + GD + 4 * k));
            acc0[c] = _mm512_fmadd_ps(_mm512_mul_ps(P0->d[k], da), _mm512_cvtepi32_ps(t0[c]), acc0[c]);
            acc1[c] = _mm512_fmadd_ps(_mm512_mul_ps(P1->d[k], da), _mm512_cvtepi32_ps(t1[c]), acc1[c]);
            if (HAS_M(T)) {
                const __m512 ex = _mm512_set1_ps(rdf(ac + GX + 4 * k));
                acc0[c] = _mm512_fmadd_ps(P0->m[k], ex, acc0[c]);
                acc1[c] = _mm512_fmadd_ps(P1->m[k], ex, acc1[c]);
            }
        }
    }
}

#define LG_COLS2(NC) \
    case NC: lg_cols2(T, P0, P1, ag, as, acc0, acc1, NC); break;

#define LG_COLS(NC) \
    case NC: lg_cols(T, Pg, ag, as, acc, NC); break;

enum { LG_PCH = 8 };   /* activation groups (4 blocks) per panel: 16 rows x 32 blocks, 20 KiB */

/* packed: w is the tile's first packed group and ws the bytes of a group */
KT_AVX512 KINLINE void lg_prefill(ltype T, bool packed, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                                  int nc, float *out, size_t os) {
    const int64_t nb = n / 32, ng = (nb + 3) / 4;
    lg_panel P[2 * LG_PCH];   /* the pair path's second panels at P + LG_PCH */
    /* chunks of LG_PCH groups outside, 16-row panels inside: a chunk's activations (all the
     * tile's columns, 320 KiB at 256 columns) stay in L2 while every panel passes over them */
    for (int64_t g0 = 0; g0 < ng || g0 == 0; g0 += LG_PCH) {
        int ch = ng - g0 < LG_PCH ? (int)(ng - g0) : LG_PCH;
        int r0 = 0;
        for (; packed && nr - r0 >= 32; r0 += 32) {   /* two full panels at a time */
            lg_panel *Q = P + LG_PCH;
            for (int gg = 0; gg < ch; gg++) {
                lgp_panel(T, &P[gg], w + (r0 / 16) * ws, nb, g0 + gg);
                lgp_panel(T, &Q[gg], w + (r0 / 16 + 1) * ws, nb, g0 + gg);
            }
            const int ngrp = (nc + LG_NC2 - 1) / LG_NC2;
            for (int c0 = 0, gi = 0; c0 < nc; c0 += (nc - c0) / (ngrp - gi), gi++) {
                int k = (nc - c0) / (ngrp - gi);
                __m512 acc0[LG_NC2], acc1[LG_NC2];
                for (int c = 0; c < k; c++) {
                    acc0[c] = g0 ? _mm512_loadu_ps(out + (c0 + c) * os + r0) : _mm512_setzero_ps();
                    acc1[c] = g0 ? _mm512_loadu_ps(out + (c0 + c) * os + r0 + 16) : _mm512_setzero_ps();
                }
                for (int gg = 0; gg < ch; gg++) {
                    const uint8_t *ag = a + c0 * as + (g0 + gg) * GB;
                    const lg_panel *P0 = &P[gg], *P1 = &Q[gg];
                    switch (k) {
                        LG_COLS2(1) LG_COLS2(2) LG_COLS2(3) LG_COLS2(4) LG_COLS2(5) LG_COLS2(6)
                    }
                }
                for (int c = 0; c < k; c++) {
                    _mm512_storeu_ps(out + (c0 + c) * os + r0, acc0[c]);
                    _mm512_storeu_ps(out + (c0 + c) * os + r0 + 16, acc1[c]);
                }
            }
        }
        for (; r0 < nr; r0 += 16) {
            int m = nr - r0 < 16 ? nr - r0 : 16;
            __mmask16 mk = (__mmask16)((1u << m) - 1);
            for (int gg = 0; gg < ch; gg++) {
                int64_t g = g0 + gg;
                if (packed) lgp_panel(T, &P[gg], w + (r0 / 16) * ws, nb, g);
                else if (m == 16 && nb - 4 * g >= 4) lg_build16(T, &P[gg], w + r0 * ws, ws, g);
                else lg_build(T, &P[gg], w + r0 * ws, ws, m, g, nb - 4 * g < 4 ? (int)(nb - 4 * g) : 4);
            }
            /* columns in groups of at most LG_NC, as even as possible (a short last group
             * would leave its few dpbusd chains waiting on their latency) */
            const int ngrp = (nc + LG_NC - 1) / LG_NC;
            for (int c0 = 0, gi = 0; c0 < nc; c0 += (nc - c0) / (ngrp - gi), gi++) {
                int k = (nc - c0) / (ngrp - gi);
                __m512 acc[LG_NC];
                for (int c = 0; c < k; c++)
                    acc[c] = g0 ? _mm512_maskz_loadu_ps(mk, out + (c0 + c) * os + r0) : _mm512_setzero_ps();
                for (int gg = 0; gg < ch; gg++) {
                    const uint8_t *ag = a + c0 * as + (g0 + gg) * GB;
                    const lg_panel *Pg = &P[gg];
                    switch (k) {
                        LG_COLS(1) LG_COLS(2) LG_COLS(3) LG_COLS(4)
                        LG_COLS(5) LG_COLS(6) LG_COLS(7) LG_COLS(8)
                        LG_COLS(9) LG_COLS(10) LG_COLS(11) LG_COLS(12)
                    }
                }
                for (int c = 0; c < k; c++) _mm512_mask_storeu_ps(out + (c0 + c) * os + r0, mk, acc[c]);
            }
        }
        if (ng == 0) break;
    }
}

/* Blocks j, j+1 of the row at p (j + 1 may be missing) as 64 unsigned bytes. */
KT_AVX512 KINLINE __m512i pair_u8(ltype T, const uint8_t *p, bool second) {
    const int bb = BB[T];
    if (T == L_Q8_0) {
        __m256i hi = _mm256_maskz_loadu_epi8(second ? ~(__mmask32)0 : 0, p + bb + 2);
        __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(p + 2))), hi, 1);
        return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
    }
    /* [qs0, qs0, qs1, qs1] -> low nibbles in 128-bit lanes 0, 2, high nibbles in 1, 3 */
    __m128i x1 = _mm_maskz_loadu_epi8(second ? 0xFFFF : 0, p + bb + QS[T]);
    __m512i z = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(p + QS[T])));
    z = _mm512_inserti32x4(_mm512_inserti32x4(_mm512_inserti32x4(z, _mm512_castsi512_si128(z), 1), x1, 2), x1, 3);
    __m512i v = _mm512_and_si512(_mm512_srlv_epi64(z, _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4)), _mm512_set1_epi8(15));
    if (QH[T]) {
        uint64_t h = kern_rd32(p + QH[T]) | (second ? (uint64_t)kern_rd32(p + bb + QH[T]) << 32 : 0);
        v = _mm512_mask_add_epi8(v, (__mmask64)h, v, _mm512_set1_epi8(16));
    }
    if (T == L_IQ4_NL) v = _mm512_shuffle_epi8(iq4nl_grid(), v);   /* a missing block's zeros -> 1 + 128: meet zero activations */
    return v;
}

/* 16 rows of one column. */
KT_AVX512 KINLINE void lg_decode16(ltype T, int64_t n, const uint8_t *w, size_t ws, const uint8_t *a, float *out) {
    const int bb = BB[T];
    const int64_t nb = n / 32, ng = (nb + 3) / 4;
    const __m512i rowoff = rows16_offsets(ws);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t g = 0; g < ng; g++) {
        const int cnt = nb - 4 * g < 4 ? (int)(nb - 4 * g) : 4;
        const uint8_t *wg = w + g * 4 * bb, *ag = a + g * GB;
        if (n <= KERN_PF_MAX_N) kern_prefetch(w + 16 * ws + g * 16 * 4 * bb, (size_t)(16 * cnt * bb));
        __m512i qa = _mm512_loadu_si512(ag), qb = _mm512_loadu_si512(ag + 64);
        for (int h = 0; h < 2 && 2 * h < cnt; h++) {
            /* activations of blocks 2h, 2h+1 in value order */
            __m512i av = _mm512_permutex2var_epi64(qa, _mm512_setr_epi64(4 * h, 4 * h + 1, 8 + 4 * h, 9 + 4 * h, 4 * h + 2, 4 * h + 3, 10 + 4 * h, 11 + 4 * h), qb);
            const bool second = 2 * h + 1 < cnt;
            __m512i x[16];
            KUNROLL for (int i = 0; i < 16; i++)
                x[i] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), pair_u8(T, wg + i * ws + 2 * h * bb, second), av);
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
                __m512i si = _mm512_add_epi32(s[e], _mm512_set1_epi32(corr(T, ag, k)));
                __m512i dh = _mm512_i32gather_epi32(rowoff, (const void *)(wg + k * bb), 1);
                __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dh));
                acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(rdf(ag + GD + 4 * k))), _mm512_cvtepi32_ps(si), acc);
                if (HAS_M(T))
                    acc = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dh, 16))),
                                          _mm512_set1_ps(rdf(ag + GX + 4 * k)), acc);
            }
        }
    }
    _mm512_storeu_ps(out, acc);
}

#define LEGACY_AVX512(name, T) \
    KT_AVX512 void kern_mm_##name##_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                                           int nc, float *out, size_t os) { \
        int r0 = 0; \
        if (nc == 1) \
            for (; r0 + 16 <= nr; r0 += 16) lg_decode16(T, n, w + r0 * ws, ws, a, out + r0); \
        if (r0 < nr) lg_prefill(T, false, n, w + r0 * ws, ws, nr - r0, a, as, nc, out + r0, os); \
    }
LEGACY_AVX512(q8_0, L_Q8_0)
LEGACY_AVX512(q4_0, L_Q4_0)
LEGACY_AVX512(q5_0, L_Q5_0)
LEGACY_AVX512(q4_1, L_Q4_1)
LEGACY_AVX512(q5_1, L_Q5_1)
LEGACY_AVX512(iq4_nl, L_IQ4_NL)

KT_AVX512 void kern_lgp_prefill_avx512(ltype T, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                                       int nc, float *out, size_t os) {
    switch (T) {
    case L_Q8_0: lg_prefill(L_Q8_0, true, n, w, ws, nr, a, as, nc, out, os); break;
    case L_Q4_0: lg_prefill(L_Q4_0, true, n, w, ws, nr, a, as, nc, out, os); break;
    case L_Q5_0: lg_prefill(L_Q5_0, true, n, w, ws, nr, a, as, nc, out, os); break;
    case L_Q4_1: lg_prefill(L_Q4_1, true, n, w, ws, nr, a, as, nc, out, os); break;
    case L_Q5_1: lg_prefill(L_Q5_1, true, n, w, ws, nr, a, as, nc, out, os); break;
    default: lg_prefill(L_IQ4_NL, true, n, w, ws, nr, a, as, nc, out, os); break;
    }
}
#endif
