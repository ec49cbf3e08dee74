/* kquants_amx.c - prefill of packed Q4_K (kquants_packed.c) on AMX tiles, where the CPU has
 * them (kern_cpu_amx()); 16 columns (tokens) at a time.
 *
 * A super-block's S1 = sum over sub-blocks j of sc_j x (sum of its 32 q x a) is an exact
 * integer, and the 6-bit scale splits as sc = 8 hi + lo (lo, hi <= 7), so q x lo and q x hi
 * are at most 15 x 7 = 105: bytes. Baked into the weights, the scales let one tile product
 * run over 64 values of two sub-blocks (K = 64, the whole tile):
 *
 *   B1[kc], B2[kc] (16 x 64 B)  row k = values 64kc + 4k..4k+3 of the 16 rows, one row per
 *                               4-byte word, times lo resp. hi of their sub-block's scale
 *                               (rows 0..7: the low nibbles of packed Q[8kc + k], sub-block
 *                               2kc; rows 8..15: the high nibbles of Q[8kc + k - 8], 2kc + 1)
 *   A (16 tokens x 64 B)        the Q8_K row's values 64kc..64kc + 63 (stride: as)
 *   C1 += A x B1, C2 += A x B2  over kc = 0..3 (TDPBSUD: activations signed, weights not)
 *   S1 = C1 + 8 C2              per token and row: the integer of every other Q4_K kernel
 *
 * and then the float step of kquants_impl.h on the 16 rows' lane (q4k_col_step: d x da x S1,
 * then -dmin x da x the mins against the row's group sums), so each (row, token) gets the
 * bits of the AVX-512 kernels. B1 and B2 are made once per super-block and panel (a 16-bit
 * multiply of the nibble bytes: q_even x s + 256 q_odd x s, no carry since both are < 256)
 * for up to AQ_CB tokens; their accumulators live in acc[]. Tiles: 0 C1, 1 C2, 2 A, 3 B1, 4 B2. */
#include "amx.h"
#include "kquants_impl.h"
#include "q4k_hdr512.h"

#ifdef KERN_X86
enum { AQ_CB = 256, AQ_SB = 2, AQ_ROWS = KERN_PACK_ROWS, AQ_BLOCK = 144 };   /* tokens a pass; super-blocks unpacked at a time */

/* int32 lane r = byte s of lane r of v, in both 16-bit halves (for vpmullw) */
KT_AMX KINLINE __m512i aq_scale16(__m512i v, int s, bool hi) {
    __m512i b = byte_of(v, s);
    b = hi ? _mm512_srli_epi32(b, 3) : _mm512_and_si512(b, _mm512_set1_epi32(7));
    return _mm512_or_si512(b, _mm512_slli_epi32(b, 16));
}

/* B1, B2 of the super-block at p (16 rows, its header decoded in h) into wb[kc][part][16 x 64] */
KT_AMX KINLINE void aq_unpack(const uint8_t *p, const q4k_hdr16 *h, uint8_t (*wb)[2][1024]) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    for (int kc = 0; kc < 4; kc++) {
        const __m512i sc = kc < 2 ? h->sc03 : h->sc47;
        const int s0 = (2 * kc) % 4, s1 = (2 * kc + 1) % 4;
        const __m512i lo0 = aq_scale16(sc, s0, false), hi0 = aq_scale16(sc, s0, true);
        const __m512i lo1 = aq_scale16(sc, s1, false), hi1 = aq_scale16(sc, s1, true);
        for (int k = 0; k < 8; k++) {
            const __m512i v = _mm512_loadu_si512(p + 256 + 64 * (8 * kc + k));
            const __m512i ql = _mm512_and_si512(v, m4), qh = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
            _mm512_store_si512(wb[kc][0] + 64 * k, _mm512_mullo_epi16(ql, lo0));
            _mm512_store_si512(wb[kc][0] + 64 * (8 + k), _mm512_mullo_epi16(qh, lo1));
            _mm512_store_si512(wb[kc][1] + 64 * k, _mm512_mullo_epi16(ql, hi0));
            _mm512_store_si512(wb[kc][1] + 64 * (8 + k), _mm512_mullo_epi16(qh, hi1));
        }
    }
}

KT_AMX KINLINE void aq_mm_q4k(bool emu, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                              float *out, size_t os) {
    amx_emu st;
    amx_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 5; t++) amx_cfg_tile(&cfg, t, 16, 64);
    amx_config(emu, &st, &cfg);
    const int64_t nb = n / KQ_K;
    float acc[AQ_CB][16] __attribute__((aligned(64)));
    uint8_t wb[AQ_SB][4][2][1024] __attribute__((aligned(64)));
    int32_t c1[16][16] __attribute__((aligned(64))), c2[16][16] __attribute__((aligned(64)));
    for (int c0 = 0; c0 < nc; c0 += AQ_CB) {
        const int ncb = nc - c0 < AQ_CB ? nc - c0 : AQ_CB;   /* a multiple of 16 */
        for (int r0 = 0; r0 < nr; r0 += AQ_ROWS) {
            const uint8_t *pg = w + (size_t)(r0 / AQ_ROWS) * ws;
            memset(acc, 0, sizeof(float) * 16 * (size_t)ncb);
            for (int64_t b0 = 0; b0 < nb; b0 += AQ_SB) {
                const int kb = nb - b0 < AQ_SB ? (int)(nb - b0) : AQ_SB;
                q4k_hdr16 h[AQ_SB];
                for (int i = 0; i < kb; i++) {
                    const uint8_t *p = pg + (size_t)(b0 + i) * AQ_ROWS * AQ_BLOCK;
                    h[i] = q4k_hdr16_decode(_mm512_loadu_si512(p), _mm512_loadu_si512(p + 64), _mm512_loadu_si512(p + 128),
                                            _mm512_loadu_si512(p + 192));
                    aq_unpack(p, &h[i], wb[i]);
                }
                for (int t0 = 0; t0 < ncb; t0 += 16) {
                    const uint8_t *at = a + (size_t)(c0 + t0) * as;
                    float(*ac)[16] = acc + t0;
                    for (int i = 0; i < kb; i++) {
                        const uint8_t *ab = at + (size_t)(b0 + i) * KQ_Q8K_BYTES;
                        AMX_ZERO(emu, &st, 0);
                        AMX_ZERO(emu, &st, 1);
                        for (int kc = 0; kc < 4; kc++) {
                            AMX_LOAD(emu, &st, 2, ab + KQ_Q8K_QS + 64 * kc, as);
                            AMX_LOAD(emu, &st, 3, wb[i][kc][0], 64);
                            AMX_LOAD(emu, &st, 4, wb[i][kc][1], 64);
                            AMX_DPBSUD(emu, &st, 0, 2, 3);
                            AMX_DPBSUD(emu, &st, 1, 2, 4);
                        }
                        AMX_STORE(emu, &st, 0, c1, 64);
                        AMX_STORE(emu, &st, 1, c2, 64);
                        for (int m = 0; m < 16; m++) {
                            const __m512i s1 = _mm512_add_epi32(_mm512_load_si512(c1[m]), _mm512_slli_epi32(_mm512_load_si512(c2[m]), 3));
                            _mm512_store_ps(ac[m], q4k_col_step(_mm512_load_ps(ac[m]), &h[i], s1, ab + (size_t)m * as));
                        }
                    }
                }
            }
            const __mmask16 keep = nr - r0 >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (nr - r0)) - 1);
            for (int t = 0; t < ncb; t++) _mm512_mask_storeu_ps(out + (size_t)(c0 + t) * os + r0, keep, _mm512_load_ps(acc[t]));
        }
    }
    amx_release(emu, &st);
}

KT_AMX void kq_mm_q4k_amx(bool emu, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                          float *out, size_t os) {
    if (emu) aq_mm_q4k(true, n, w, ws, nr, a, as, nc, out, os);
    else aq_mm_q4k(false, n, w, ws, nr, a, as, nc, out, os);
}

KT_AMX static void mm_q4k_emulated(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                   float *out, size_t os) {
    const int done = nc & ~15;
    if (done) kq_mm_q4k_amx(true, n, w, ws, nr, a, as, done, out, os);
    if (done < nc) kq_mm_q4k_packed_avx512(n, w, ws, nr, a + (size_t)done * as, as, nc - done, out + (size_t)done * os, os);
}

static const kern_packed q4k_emulated = {kq_packed_bytes, kq_pack_q4k, mm_q4k_emulated};
const kern_packed *kq_q4k_packed_amx_emulated(void) { return &q4k_emulated; }
#endif
