/* kquants_amx.c - prefill of packed Q4_K (kquants_packed.c), Q5_K and Q6_K
 * (kquants_packed56.c) on AMX tiles, where the CPU has them (kern_cpu_amx()); 16 columns (tokens) at a time.
 *
 * A super-block's integer (Q4_K: S1 = sum over 32-value sub-blocks j of sc_j x q.a; Q6_K:
 * S = sum over 16-value groups g of sc_g x (q - 32).a) is exact, and each sub-block scale
 * splits into pieces small enough that piece x quant is a byte. Baked into the weights, the
 * pieces let one tile product run over 64 values whatever their sub-blocks (K = 64, the whole
 * tile), one product per piece, and the pieces' sums are put back together by shifts:
 *
 *   Q4_K  sc (6 bits) = 8 hi + lo, lo, hi <= 7; q x lo, q x hi <= 15 x 7 = 105 (unsigned)
 *         C1 += A x (q lo), C2 += A x (q hi) (TDPBSUD)           S1 = C1 + 8 C2
 *   Q5_K  the same (q <= 31: 31 x 7 = 217)
 *   Q6_K  sc (int8) = 64 p3 + 16 p2 + 4 p1 + p0: p0..p2 its 2-bit fields (0..3), p3 = sc >> 6
 *         (-2..1); (q - 32) x p in -96..93 (signed)
 *         Cj += A x ((q - 32) pj) (TDPBSSD), j = 0..3          S = C0 + 4 C1 + 16 C2 + 64 C3
 *
 * For K-chunk kc (values 64kc..64kc + 63 of the super-block):
 *   A (16 tokens x 64 B)   the Q8_K rows' values there (stride: as)
 *   B (16 x 64 B)          row k = values 64kc + 4k..4k+3 of the 16 rows, one row per 4-byte
 *                          word, times a piece of their sub-block's scale: made once per
 *                          super-block and panel (wb) for up to AQ_CB tokens
 * then per token the float step of every other kernel on the 16 rows' lane (Q4_K:
 * Q4_K, Q5_K: q4k_col_step, d x da x S1 then -dmin x da x the mins; Q6_K: fma(d x da, S)), so each
 * (row, token) gets the AVX-512 kernels' bits. Accumulators live in acc[].
 * Tiles: Q4_K, Q5_K 0 C1, 1 C2, 2 A, 3-4 B; Q6_K 0-3 C0..C3, 4 A, 5-7 B (one per piece in turn). */
#include "amx.h"
#include "kq56_packed512.h"
#include "kquants_impl.h"
#include "q4k_hdr512.h"

#ifdef KERN_X86
typedef enum { AQ_Q4K, AQ_Q5K, AQ_Q6K } aqtype;
enum { AQ_CB = 256, AQ_ROWS = KERN_PACK_ROWS, AQ_WB = 16384 };   /* tokens a pass; unpacked bytes */

/* super-blocks unpacked at a time (wb: Q4_K, Q5_K 8 KiB each, Q6_K 16 KiB) */
static inline int aq_sb(aqtype T) { return T == AQ_Q6K ? 1 : 2; }

typedef struct {
    q4k_hdr16 h;   /* Q4_K, Q5_K */
    __m512 d;      /* Q6_K: the 16 rows' d */
} aq_hdr;

/* int32 lane r = byte s of lane r of v, its low 3 bits (hi: the rest), in both 16-bit halves */
KT_AMX KINLINE __m512i aq_scale16(__m512i v, int s, bool hi) {
    __m512i b = byte_of(v, s);
    b = hi ? _mm512_srli_epi32(b, 3) : _mm512_and_si512(b, _mm512_set1_epi32(7));
    return _mm512_or_si512(b, _mm512_slli_epi32(b, 16));
}

/* Q4_K or Q5_K (q5): the super-block at p (header decoded into h) -> wb[kc][piece][16 x 64 B]:
 * rows 0..7 of a K-chunk from the low values of 4-value step j (sub-block 2kc), rows 8..15
 * from the high ones (2kc + 1), piece 0 = x lo, 1 = x hi. Q4_K's values are the nibbles of
 * Q[8kc + j], Q5_K's those with the fifth bit (p56_q5_quants). The 16-bit multiply of the
 * value bytes by s gives q_even x s + 256 q_odd x s: no carry, both < 256 (31 x 7 = 217). */
KT_AMX KINLINE void aq_unpack_k45(bool q5, const uint8_t *p, const q4k_hdr16 *h, uint8_t *wb) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    for (int kc = 0; kc < 4; kc++) {   /* sub-blocks 2kc (low values) and 2kc + 1 (high) */
        const __m512i sc = kc < 2 ? h->sc03 : h->sc47;
        const int s0 = (2 * kc) % 4, s1 = (2 * kc + 1) % 4;
        const __m512i lo0 = aq_scale16(sc, s0, false), hi0 = aq_scale16(sc, s0, true);
        const __m512i lo1 = aq_scale16(sc, s1, false), hi1 = aq_scale16(sc, s1, true);
        uint8_t *b1 = wb + 2048 * kc, *b2 = b1 + 1024;
        for (int jp = 0; jp < 4; jp++) {   /* steps j = 2jp, 2jp + 1 */
            __m512i lo[2], hi[2];
            if (q5) {
                const uint8_t *x = p + 256 + 64 * (10 * kc + 5 * (jp / 2));
                p56_q5_quants(x, x + 64, jp % 2, lo, hi);
            } else
                for (int i = 0; i < 2; i++) {
                    const __m512i v = _mm512_loadu_si512(p + 256 + 64 * (8 * kc + 2 * jp + i));
                    lo[i] = _mm512_and_si512(v, m4), hi[i] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                }
            for (int i = 0; i < 2; i++) {
                const int j = 2 * jp + i;
                _mm512_store_si512(b1 + 64 * j, _mm512_mullo_epi16(lo[i], lo0));
                _mm512_store_si512(b1 + 64 * (8 + j), _mm512_mullo_epi16(hi[i], lo1));
                _mm512_store_si512(b2 + 64 * j, _mm512_mullo_epi16(lo[i], hi0));
                _mm512_store_si512(b2 + 64 * (8 + j), _mm512_mullo_epi16(hi[i], hi1));
            }
        }
    }
}

/* Q6_K: the super-block step at p -> wb[kc][piece][16 x 64 B]. Per lane, piece j of the
 * group's scale is bits 2j, 2j+1 (weights 1, 2; piece 3: bit 6 weight 1, bit 7 weight -2),
 * so (q - 32) x piece = (bit lo ? q - 32 : 0) + (bit hi ? +-2 (q - 32) : 0), in bytes. */
KT_AMX KINLINE void aq_unpack_q6k(const uint8_t *p, uint8_t *wb) {
    const __m512i c32 = _mm512_set1_epi8(32);
    for (int g = 0; g < 16; g++) {   /* group g: values 16g..16g + 15, scale byte g % 4 of S[g / 4] */
        const __m512i sv = _mm512_loadu_si512(p + 64 * (g / 4));
        const int s = g % 4, kc = g / 4;
        __m512i ch[4];
        p56_q6_quants(p + 256 + 192 * g, ch);
        for (int k = 0; k < 4; k++) {
            const __m512i q = _mm512_sub_epi8(ch[k], c32), q2 = _mm512_add_epi8(q, q);
            _Pragma("GCC unroll 4")
            for (int j = 0; j < 4; j++) {
                const __mmask16 lo = _mm512_test_epi32_mask(sv, _mm512_set1_epi32((int)(1u << (8 * s + 2 * j))));
                const __mmask16 hi = _mm512_test_epi32_mask(sv, _mm512_set1_epi32((int)(1u << (8 * s + 2 * j + 1))));
                const __m512i twice = j == 3 ? _mm512_sub_epi8(_mm512_setzero_si512(), q2) : q2;
                const __m512i v = _mm512_add_epi8(_mm512_maskz_mov_epi32(lo, q), _mm512_maskz_mov_epi32(hi, twice));
                _mm512_store_si512(wb + 4096 * kc + 1024 * j + 64 * (4 * (g % 4) + k), v);
            }
        }
    }
}

/* The tile products of one super-block for the 16 tokens at ab (their Q8_K blocks, as apart)
 * and the float steps into ac[16][16] */
KT_AMX KINLINE void aq_block(aqtype T, bool emu, amx_emu *st, const uint8_t *wb, const aq_hdr *hd, const uint8_t *ab,
                             size_t as, float (*ac)[16]) {
    int32_t c[4][16][16] __attribute__((aligned(64)));
    if (T != AQ_Q6K) {   /* Q4_K, Q5_K */
        AMX_ZERO(emu, st, 0);
        AMX_ZERO(emu, st, 1);
        for (int kc = 0; kc < 4; kc++) {
            AMX_LOAD(emu, st, 2, ab + KQ_Q8K_QS + 64 * kc, as);
            AMX_LOAD(emu, st, 3, wb + 2048 * kc, 64);
            AMX_LOAD(emu, st, 4, wb + 2048 * kc + 1024, 64);
            AMX_DPBSUD(emu, st, 0, 2, 3);
            AMX_DPBSUD(emu, st, 1, 2, 4);
        }
        AMX_STORE(emu, st, 0, c[0], 64);
        AMX_STORE(emu, st, 1, c[1], 64);
        for (int m = 0; m < 16; m++) {
            const __m512i s1 = _mm512_add_epi32(_mm512_load_si512(c[0][m]), _mm512_slli_epi32(_mm512_load_si512(c[1][m]), 3));
            _mm512_store_ps(ac[m], q4k_col_step(_mm512_load_ps(ac[m]), &hd->h, s1, ab + (size_t)m * as));
        }
        return;
    }
    AMX_ZERO(emu, st, 0);
    AMX_ZERO(emu, st, 1);
    AMX_ZERO(emu, st, 2);
    AMX_ZERO(emu, st, 3);
    for (int kc = 0; kc < 4; kc++) {
        const uint8_t *b = wb + 4096 * kc;
        AMX_LOAD(emu, st, 4, ab + KQ_Q8K_QS + 64 * kc, as);
        AMX_LOAD(emu, st, 5, b, 64);
        AMX_DPBSSD(emu, st, 0, 4, 5);
        AMX_LOAD(emu, st, 6, b + 1024, 64);
        AMX_DPBSSD(emu, st, 1, 4, 6);
        AMX_LOAD(emu, st, 7, b + 2048, 64);
        AMX_DPBSSD(emu, st, 2, 4, 7);
        AMX_LOAD(emu, st, 5, b + 3072, 64);
        AMX_DPBSSD(emu, st, 3, 4, 5);
    }
    AMX_STORE(emu, st, 0, c[0], 64);
    AMX_STORE(emu, st, 1, c[1], 64);
    AMX_STORE(emu, st, 2, c[2], 64);
    AMX_STORE(emu, st, 3, c[3], 64);
    for (int m = 0; m < 16; m++) {
        __m512i s = _mm512_load_si512(c[0][m]);
        s = _mm512_add_epi32(s, _mm512_slli_epi32(_mm512_load_si512(c[1][m]), 2));
        s = _mm512_add_epi32(s, _mm512_slli_epi32(_mm512_load_si512(c[2][m]), 4));
        s = _mm512_add_epi32(s, _mm512_slli_epi32(_mm512_load_si512(c[3][m]), 6));
        float daf;
        memcpy(&daf, ab + (size_t)m * as, 4);
        _mm512_store_ps(ac[m], _mm512_fmadd_ps(_mm512_mul_ps(hd->d, _mm512_set1_ps(daf)), _mm512_cvtepi32_ps(s),
                                               _mm512_load_ps(ac[m])));
    }
}

KT_AMX KINLINE void aq_mm(aqtype T, bool emu, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                          int nc, float *out, size_t os) {
    kern_amx_count(nc / 16);
    amx_emu st;
    amx_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < (T == AQ_Q6K ? 8 : 5); t++) amx_cfg_tile(&cfg, t, 16, 64);
    amx_config(emu, &st, &cfg);
    const int64_t nb = n / KQ_K;
    const size_t step = T == AQ_Q4K ? (size_t)AQ_ROWS * 144 : T == AQ_Q5K ? (size_t)AQ_ROWS * P5_BLOCK : P6_STEP;
    const size_t first = T == AQ_Q6K ? kq_q6_dbytes(nb) : 0;   /* Q6_K: the D area first */
    const int sb = aq_sb(T);
    float acc[AQ_CB][16] __attribute__((aligned(64)));
    uint8_t wb[AQ_WB] __attribute__((aligned(64)));
    aq_hdr hd[2];
    for (int c0 = 0; c0 < nc; c0 += AQ_CB) {
        const int ncb = nc - c0 < AQ_CB ? nc - c0 : AQ_CB;   /* a multiple of 16 */
        for (int r0 = 0; r0 < nr; r0 += AQ_ROWS) {
            const uint8_t *grp = w + (size_t)(r0 / AQ_ROWS) * ws;
            memset(acc, 0, sizeof(float) * 16 * (size_t)ncb);
            for (int64_t b0 = 0; b0 < nb; b0 += sb) {
                const int kb = nb - b0 < sb ? (int)(nb - b0) : sb;
                for (int i = 0; i < kb; i++) {
                    const uint8_t *p = grp + first + (size_t)(b0 + i) * step;
                    if (T != AQ_Q6K) {
                        hd[i].h = q4k_hdr16_decode(_mm512_loadu_si512(p), _mm512_loadu_si512(p + 64),
                                                   _mm512_loadu_si512(p + 128), _mm512_loadu_si512(p + 192));
                        aq_unpack_k45(T == AQ_Q5K, p, &hd[i].h, wb + 8192 * i);
                    } else {
                        hd[i].d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(grp + 32 * (b0 + i))));
                        aq_unpack_q6k(p, wb);
                    }
                }
                for (int t0 = 0; t0 < ncb; t0 += 16)
                    for (int i = 0; i < kb; i++)
                        aq_block(T, emu, &st, wb + 8192 * i, &hd[i], a + (size_t)(c0 + t0) * as + (size_t)(b0 + i) * KQ_Q8K_BYTES,
                                 as, acc + t0);
            }
            amx_store_acc(acc, ncb, nr - r0, out + (size_t)c0 * os + r0, os);
        }
    }
    amx_release(emu, &st);
}

/* A packed tile's product at AVX-512: whole 16-column chunks on the tiles where the CPU has
 * them (emu: always, on the C twins), the other columns by the AVX-512 kernel `rest`; both
 * give the same bits */
KT_AMX KINLINE void aq_split(aqtype T, bool emu, kern_mm_fn rest, int64_t n, const uint8_t *w, size_t ws, int nr,
                             const uint8_t *a, size_t as, int nc, float *out, size_t os) {
    const int done = nc >= 16 && (emu || kern_cpu_amx()) ? nc & ~15 : 0;
    if (done) aq_mm(T, emu, n, w, ws, nr, a, as, done, out, os);
    if (done < nc) rest(n, w, ws, nr, a + (size_t)done * as, as, nc - done, out + (size_t)done * os, os);
}

/* The kern_packed mm of each type (kquants.c), and its twin with the tiles emulated (tests) */
#define AQ_PACKED(t, T)                                                                                           \
    KT_AMX void kq_mm_##t##_packed_amx(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                                       int nc, float *out, size_t os) {                                            \
        aq_split(T, false, kq_mm_##t##_packed_avx512, n, w, ws, nr, a, as, nc, out, os);                           \
    }                                                                                                              \
    KT_AMX static void mm_##t##_emulated(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a,        \
                                         size_t as, int nc, float *out, size_t os) {                               \
        aq_split(T, true, kq_mm_##t##_packed_avx512, n, w, ws, nr, a, as, nc, out, os);                            \
    }
AQ_PACKED(q4k, AQ_Q4K)
AQ_PACKED(q5k, AQ_Q5K)
AQ_PACKED(q6k, AQ_Q6K)

static const kern_packed q4k_emulated = {kq_packed_bytes, kq_pack_q4k, mm_q4k_emulated, NULL};
static const kern_packed q5k_emulated = {kq_packed_bytes_q5k, kq_pack_q5k, mm_q5k_emulated, NULL};
static const kern_packed q6k_emulated = {kq_packed_bytes_q6k, kq_pack_q6k, mm_q6k_emulated, NULL};
const kern_packed *kq_packed_amx_emulated(seek_type t) {
    switch (t) {
    case SEEK_TYPE_Q4_K: return &q4k_emulated;
    case SEEK_TYPE_Q5_K: return &q5k_emulated;
    case SEEK_TYPE_Q6_K: return &q6k_emulated;
    default: return NULL;
    }
}
#endif
