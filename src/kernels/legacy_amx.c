/* legacy_amx.c - prefill of the packed legacy types (Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL)
 * on AMX tiles, where the CPU has them (kern_cpu_amx()); 16 columns (tokens) at a time.
 *
 * The packed step (legacy_packed.c) already holds each block's 16 rows in the layout a tile
 * product wants for its second operand: weight vector j (64 bytes) = values 4j..4j+3 of rows
 * 0..15, one row per 4-byte word, unsigned (Q8_0: q + 128). The regrouped activation row
 * (legacy.c) holds a block's 32 int8 values as two runs of 16: values 0..15 at 16k, 16..31
 * at 64 + 16k inside the group of 4 blocks. Per block of 32 values, 16 tokens x 16 rows:
 *
 *   tile 1  a_lo  16 tokens x 16 B   values 0..15 of the block, one token per row (stride: as)
 *   tile 2  a_hi  16 tokens x 16 B   values 16..31
 *   tile 3  b_lo   4 x 64 B          weight vectors 0..3 (the packed bytes; nibble types:
 *   tile 4  b_hi   4 x 64 B          vectors 4..7       unpacked once per 16 blocks into wb)
 *   tile 0  c     16 tokens x 16 rows int32 = sum of a x b over the block  (2 x TDPBSUD)
 *
 * then, per token m, the float step of every other legacy kernel on the 16 rows' lane:
 *   acc[m] = fma(d_w x d_a[m], (float)(c[m] + offset word[m]), acc[m])   (+ fma(m_w, s_a[m]))
 * so each (row, token) gets the AVX-512 kernels' bits (the integer sum is exact in any
 * order; the float steps are the same operations in block order). Accumulators live in
 * acc[] (16 floats a token, up to AX_CB tokens a pass), since a weight block's unpacked
 * vectors serve every token chunk before the next block.
 * The scale of each 32-value block must be applied before the next block is added, so a
 * tile product covers one block (K = 32, as two K = 16 halves: the activations' runs); the
 * K-quants bake their integer sub-block scales into the weight tiles instead (kquants_amx.c). */
#include "amx.h"
#include "legacy512.h"

#ifdef KERN_X86
enum { AX_CB = 256, AX_KB = 16 };   /* tokens per pass over a panel; blocks unpacked at a time */

/* Where block b of a packed group p lives: its step (4 blocks), its place k there and the
 * step's block count (4, or fewer at the row's end) */
typedef struct {
    const uint8_t *ps;
    int k, cnt;
} ax_pos;
KT_AMX KINLINE ax_pos ax_at(ltype T, const uint8_t *p, int64_t nb, int64_t b) {
    const int64_t s = b / 4;
    return (ax_pos){p + (size_t)s * 64 * BB[T], (int)(b % 4), nb - 4 * s < 4 ? (int)(nb - 4 * s) : 4};
}

KT_AMX KINLINE void ax_mm(ltype T, bool emu, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                          int nc, float *out, size_t os) {
    amx_emu st;
    amx_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    amx_cfg_tile(&cfg, 0, 16, 64);
    amx_cfg_tile(&cfg, 1, 16, 16);
    amx_cfg_tile(&cfg, 2, 16, 16);
    amx_cfg_tile(&cfg, 3, 4, 64);
    amx_cfg_tile(&cfg, 4, 4, 64);
    amx_config(emu, &st, &cfg);
    const int64_t nb = n / 32;
    float acc[AX_CB][16] __attribute__((aligned(64)));
    uint8_t wb[AX_KB][512] __attribute__((aligned(64)));
    int32_t cb[16][16] __attribute__((aligned(64)));
    for (int c0 = 0; c0 < nc; c0 += AX_CB) {
        const int ncb = nc - c0 < AX_CB ? nc - c0 : AX_CB;   /* a multiple of 16 */
        for (int r0 = 0; r0 < nr; r0 += KERN_PACK_ROWS) {
            const uint8_t *p = w + (size_t)(r0 / KERN_PACK_ROWS) * ws;
            memset(acc, 0, sizeof(float) * 16 * (size_t)ncb);
            for (int64_t b0 = 0; b0 < nb; b0 += AX_KB) {
                const int kb = nb - b0 < AX_KB ? (int)(nb - b0) : AX_KB;
                if (T != L_Q8_0)
                    for (int i = 0; i < kb; i++) {
                        const ax_pos x = ax_at(T, p, nb, b0 + i);
                        for (int j = 0; j < 8; j++) _mm512_store_si512(wb[i] + 64 * j, lgp_vec(T, x.ps, x.cnt, x.k, j));
                    }
                for (int t0 = 0; t0 < ncb; t0 += 16) {
                    const uint8_t *at = a + (size_t)(c0 + t0) * as;
                    float(*ac)[16] = acc + t0;
                    for (int i = 0; i < kb; i++) {
                        const ax_pos x = ax_at(T, p, nb, b0 + i);
                        const int k = x.k, cnt = x.cnt;
                        const uint8_t *ps = x.ps, *ag = at + (size_t)(b0 + i) / 4 * GB;
                        const uint8_t *q = T == L_Q8_0 ? ps + lgp_q(T, cnt, k) : wb[i];
                        AMX_ZERO(emu, &st, 0);
                        AMX_LOAD(emu, &st, 1, ag + 16 * k, as);
                        AMX_LOAD(emu, &st, 2, ag + 64 + 16 * k, as);
                        AMX_LOAD(emu, &st, 3, q, 64);
                        AMX_LOAD(emu, &st, 4, q + 256, 64);
                        AMX_DPBSUD(emu, &st, 0, 1, 3);
                        AMX_DPBSUD(emu, &st, 0, 2, 4);
                        AMX_STORE(emu, &st, 0, cb, 64);
                        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(ps + lgp_d(k))));
                        const __m512 mw = HAS_M(T) ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(ps + lgp_m(cnt, k)))) : dw;
                        _Pragma("GCC unroll 16")
                        for (int m = 0; m < 16; m++) {
                            const uint8_t *am = ag + (size_t)m * as;
                            __m512i t = _mm512_load_si512(cb[m]);
                            if (!HAS_M(T)) t = _mm512_add_epi32(t, _mm512_set1_epi32(corr(T, am, k)));
                            __m512 v = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(rdf(am + GD + 4 * k))),
                                                       _mm512_cvtepi32_ps(t), _mm512_load_ps(ac[m]));
                            if (HAS_M(T)) v = _mm512_fmadd_ps(mw, _mm512_set1_ps(rdf(am + GX + 4 * k)), v);
                            _mm512_store_ps(ac[m], v);
                        }
                    }
                }
            }
            amx_store_acc(acc, ncb, nr - r0, out + (size_t)c0 * os + r0, os);
        }
    }
    amx_release(emu, &st);
}

#define AX_CASES(EMU)                                                                        \
    switch (T) {                                                                             \
    case L_Q8_0: ax_mm(L_Q8_0, EMU, n, w, ws, nr, a, as, nc, out, os); break;                \
    case L_Q4_0: ax_mm(L_Q4_0, EMU, n, w, ws, nr, a, as, nc, out, os); break;                \
    case L_Q5_0: ax_mm(L_Q5_0, EMU, n, w, ws, nr, a, as, nc, out, os); break;                \
    case L_Q4_1: ax_mm(L_Q4_1, EMU, n, w, ws, nr, a, as, nc, out, os); break;                \
    case L_Q5_1: ax_mm(L_Q5_1, EMU, n, w, ws, nr, a, as, nc, out, os); break;                \
    default: ax_mm(L_IQ4_NL, EMU, n, w, ws, nr, a, as, nc, out, os); break;                  \
    }

KT_AMX void kern_lgp_amx(ltype T, bool emu, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                         int nc, float *out, size_t os) {
    kern_amx_count(nc / 16);
    if (emu) AX_CASES(true)
    else AX_CASES(false)
}
#endif
