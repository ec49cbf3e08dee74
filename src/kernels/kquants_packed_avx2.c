/* kquants_packed_avx2.c - packed Q4_K, Q5_K and Q6_K (the 16-row panels of kquants_packed.c
 * and kquants_packed56.c) at KERN_AVX2: decode and prefill for CPUs with AVX2 but no AVX-512
 * (most desktop CPUs of 2019-2024). Q4_K first:
 *
 * Each 64-byte vector of a packed super-block holds 4 bytes of each of 16 rows; its two
 * 32-byte halves are rows 0..7 and 8..15, one row per int32 lane of a ymm. A panel is done
 * a half at a time (the second half's bytes are then in cache), in passes of up to AV_NC
 * columns, so each unpacked weight vector serves every column of the pass:
 *
 *   per sub-block pair (2c, 2c + 1) and 16-value group (half16):
 *     for j = 0..3: v = Q[8c + 4 half16 + j] (rows' bytes 4j..4j+3 of the group)
 *       lo = v & 15 (values of sub-block 2c), hi = v >> 4 & 15 (sub-block 2c + 1)
 *       per column: tl += vpmaddubsw(lo, the 4 activation bytes broadcast), th likewise
 *                   (int16: 4 x 2 x 15 x 128 = 15360 < 2^15, no saturation)
 *     per column: S1 += vpmaddwd(tl, sc_2c in both halves) + vpmaddwd(th, sc_2c+1)
 *   per super-block and column: S2 = the mins x the activation's 32-value sums (as the
 *   other Q4_K decoders), acc = fma(d x da, S1, acc), then fma(-dmin x da, S2, acc)
 *
 * 5 multiplies per 8 rows x 16 values x column where the plain AVX2 kernel spends 8, and
 * no horizontal sums. The integers are those of every Q4_K kernel and the float steps the
 * same, so every (row, column) gets the plain kernels' bits (test_kernels_k).
 * Q5_K runs the same loop on its own layout (kquants_packed56.c: per sub-block pair and
 * half, X then the 4 quant vectors): bit 2j of X's bytes is the fifth bit of lo's values of
 * vector j, bit 2j + 1 of hi's, each moved to bit 4 by one 16-bit shift and a mask (int16
 * sums: 4 x 2 x 31 x 128 = 31744). */
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#include "kern_impl.h"
#include "kq56_packed512.h"
#include "kquants_impl.h"
#include "q4k_hdr256.h"

#define AV_TARGET __attribute__((target("avx2,fma,f16c")))
#define AV_INLINE static inline __attribute__((always_inline)) AV_TARGET

enum { AV_ROWS = KERN_PACK_ROWS, AV_BLOCK = 144, AV_NC = 4 };

/* The 8 rows' header (q4k_hdr256.h) from the four header vectors' halves at p */
AV_INLINE q4k_hdr8 av_header(const uint8_t *p) {
    return q4k_hdr8_decode(_mm256_loadu_si256((const __m256i *)p), _mm256_loadu_si256((const __m256i *)(p + 64)),
                           _mm256_loadu_si256((const __m256i *)(p + 128)), _mm256_loadu_si256((const __m256i *)(p + 192)));
}

/* int32 lane r = byte s of lane r of v, in both 16-bit halves (for vpmaddwd) */
AV_INLINE __m256i av_scale(__m256i v, int s) {
    const int b = (int)(0x80008000u | (uint32_t)s << 16 | (uint32_t)s);
    return _mm256_shuffle_epi8(v, _mm256_setr_epi32(b, b + 0x00040004, b + 0x00080008, b + 0x000c000c, b,
                                                    b + 0x00040004, b + 0x00080008, b + 0x000c000c));
}

/* the same with the scale in the low 16 bits only (vpdpwssd of an int32 sum below 2^15) */
AV_INLINE __m256i av_scale_lo(__m256i v, int s) {
    const int b = (int)(0x80808000u | (uint32_t)s);
    return _mm256_shuffle_epi8(v, _mm256_setr_epi32(b, b + 4, b + 8, b + 12, b, b + 4, b + 8, b + 12));
}

/* acc + vpdpwssd(x, y) on ymm, the VEX (AVX-VNNI) form (see kern_dpbusd_vex) */
AV_INLINE __m256i av_dpwssd_vex(__m256i acc, __m256i x, __m256i y) {
    __asm__("%{vex%} vpdpwssd %2, %1, %0" : "+x"(acc) : "x"(x), "x"(y));
    return acc;
}

/* acc[c] (8 rows: half hf of the group at p) += columns 0..NC-1 of a over nb super-blocks.
 * vnni (AVX-VNNI; prefill, 2+ columns): a 16-value group's 4 vectors by vpdpbusd into an
 * int32 (at most 16 x 15 x 127 = 30480, so its low 16 bits are the whole signed sum), times
 * the scale by one vpdpwssd against the scale in the low half: S1 gets the same integers.
 * Decode keeps vpmaddubsw: one thread from memory (kernels_bench 1536 x 8960) read 20.5-20.7
 * GB/s with the 4-deep vpdpbusd chains against 22.8-23.0 without. Prefill T 512, one thread,
 * alternated: 167-171 -> 190-192 GFLOP/s. */
AV_INLINE void av_half(int64_t nb, const uint8_t *p, int hf, const uint8_t *a, size_t as, __m256 *acc, const int NC,
                       const bool vnni, const bool q5) {
    const __m256i m4 = _mm256_set1_epi8(0x0f), bit4 = _mm256_set1_epi8(0x10);
    const size_t step = (size_t)AV_ROWS * (q5 ? P5_BLOCK : AV_BLOCK);
    for (int64_t b = 0; b < nb; b++, p += step) {
        if (NC == 1 && hf == 0) kern_prefetch(p + 2 * step, step);   /* decode */
        const uint8_t *ph = p + 32 * hf;
        const q4k_hdr8 h = av_header(ph);
        const uint8_t *ab = a + b * KQ_Q8K_BYTES;
        __m256i S1[AV_NC];
        _Pragma("GCC unroll 4")
        for (int c = 0; c < NC; c++) S1[c] = _mm256_setzero_si256();
        _Pragma("GCC unroll 4")
        for (int c4 = 0; c4 < 4; c4++) {
            const __m256i sc = c4 < 2 ? h.sc03 : h.sc47;
            const __m256i scl = vnni ? av_scale_lo(sc, (2 * c4) % 4) : av_scale(sc, (2 * c4) % 4);
            const __m256i sch = vnni ? av_scale_lo(sc, (2 * c4 + 1) % 4) : av_scale(sc, (2 * c4 + 1) % 4);
            _Pragma("GCC unroll 2")
            for (int g = 0; g < 2; g++) {
                __m256i tl[AV_NC], th[AV_NC];
                /* Q5_K: X, then the 4 quant vectors, of (sub-block pair c4, half g) */
                const uint8_t *q5x = ph + 256 + 320 * (2 * c4 + g);
                const __m256i X = q5 ? _mm256_loadu_si256((const __m256i *)q5x) : m4;
                _Pragma("GCC unroll 4")
                for (int j = 0; j < 4; j++) {
                    const __m256i v = _mm256_loadu_si256((const __m256i *)(q5 ? q5x + 64 * (1 + j) : ph + 256 + 64 * (8 * c4 + 4 * g + j)));
                    __m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
                    if (q5) {   /* fifth bits 2j (lo) and 2j + 1 (hi) of X's bytes to bit 4 (16-bit shifts, masked) */
                        lo = _mm256_or_si256(lo, _mm256_and_si256(2 * j <= 4 ? _mm256_slli_epi16(X, 4 - 2 * j)
                                                                             : _mm256_srli_epi16(X, 2 * j - 4), bit4));
                        hi = _mm256_or_si256(hi, _mm256_and_si256(2 * j + 1 <= 4 ? _mm256_slli_epi16(X, 3 - 2 * j)
                                                                                 : _mm256_srli_epi16(X, 2 * j - 3), bit4));
                    }
                    const int k = 64 * c4 + 16 * g + 4 * j;   /* value of lo's first byte */
                    _Pragma("GCC unroll 4")
                    for (int c = 0; c < NC; c++) {
                        int32_t a4, b4;
                        memcpy(&a4, ab + c * as + KQ_Q8K_QS + k, 4);
                        memcpy(&b4, ab + c * as + KQ_Q8K_QS + k + 32, 4);
                        if (vnni) {   /* int32 sums */
                            tl[c] = kern_dpbusd_vex(j ? tl[c] : _mm256_setzero_si256(), lo, _mm256_set1_epi32(a4));
                            th[c] = kern_dpbusd_vex(j ? th[c] : _mm256_setzero_si256(), hi, _mm256_set1_epi32(b4));
                            continue;
                        }
                        const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_set1_epi32(a4));
                        const __m256i ph2 = _mm256_maddubs_epi16(hi, _mm256_set1_epi32(b4));
                        tl[c] = j ? _mm256_add_epi16(tl[c], pl) : pl;
                        th[c] = j ? _mm256_add_epi16(th[c], ph2) : ph2;
                    }
                }
                _Pragma("GCC unroll 4")
                for (int c = 0; c < NC; c++)
                    S1[c] = vnni ? av_dpwssd_vex(av_dpwssd_vex(S1[c], tl[c], scl), th[c], sch)
                                 : _mm256_add_epi32(S1[c], _mm256_add_epi32(_mm256_madd_epi16(tl[c], scl), _mm256_madd_epi16(th[c], sch)));
            }
        }
        _Pragma("GCC unroll 4")
        for (int c = 0; c < NC; c++) {
            const uint8_t *abc = ab + c * as;
            float daf;
            memcpy(&daf, abc, 4);
            const __m256 da = _mm256_set1_ps(daf);
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(h.d, da), _mm256_cvtepi32_ps(S1[c]), acc[c]);
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(h.dm, da), _mm256_cvtepi32_ps(q4k_mins8(&h, abc + KQ_Q8K_BSUMS)), acc[c]);
        }
    }
}

/* ---- Q6_K (the packed layout of kquants_packed56.c: a D area of the rows' fp16 d per
 * super-block, then per super-block S[4] (int8 scales, lane r = scales 4k..4k+3 of row r) and
 * per 16-value group L0, L1, Hb). Per group g and column:
 *   chunks ch0..ch3 (values 16g + 4k..+3, 0..63 unsigned) from L0, L1, Hb (and / or / shifts)
 *   p01 = vpmaddubsw(ch0) + vpmaddubsw(ch1), p23 likewise (int16: 2 x 2 x 63 x 128 = 32256)
 *   Sq += vpmaddwd(p01, sc_g) + vpmaddwd(p23, sc_g)                    (sc_g sign-extended)
 * and per super-block O = sum_g sc_g x bsum_g (8 vpmaddwd of scale pairs by bsum pairs), so
 * S = Sq - 32 O = sum_g sc_g x (q - 32).a, the integer of every Q6_K kernel; then
 * acc = fma(d x da, S, acc). */

/* ch[k] (8 rows) of the group at q (its L0, L1, Hb; half hf) */
AV_INLINE void av_q6_quants(const uint8_t *q, __m256i *ch) {
    const __m256i L0 = _mm256_loadu_si256((const __m256i *)q), L1 = _mm256_loadu_si256((const __m256i *)(q + 64));
    const __m256i H = _mm256_loadu_si256((const __m256i *)(q + 128));
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    ch[0] = _mm256_or_si256(_mm256_and_si256(L0, m4), _mm256_and_si256(_mm256_slli_epi16(H, 4), m30));
    ch[1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(L0, 4), m4), _mm256_and_si256(H, m30));
    ch[2] = _mm256_or_si256(_mm256_and_si256(L1, m4), _mm256_and_si256(_mm256_slli_epi16(H, 2), m30));
    ch[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(L1, 4), m4), _mm256_and_si256(_mm256_srli_epi16(H, 2), m30));
}

/* int32 lane r = the int8 byte s of lane r of v, sign-extended into both 16-bit halves */
AV_INLINE __m256i av_sscale(__m256i v, int s) {
    const int b = (int)((uint32_t)s << 24 | (uint32_t)s << 8 | 0x00800080u);
    const __m256i x = _mm256_shuffle_epi8(v, _mm256_setr_epi32(b, b + 0x04000400, b + 0x08000800, b + 0x0c000c00, b,
                                                                b + 0x04000400, b + 0x08000800, b + 0x0c000c00));
    return _mm256_srai_epi16(x, 8);
}

/* O = sum_g sc_g x bsum_g of the 8 rows (sv[k]: scales 4k..4k+3 per lane) for one column */
AV_INLINE __m256i av_q6_offset(const __m256i *sv, const uint8_t *bsums) {
    /* bsum pairs in dwords: (b0, b2) (b1, b3) (b4, b6) (b5, b7) | the same for b8..b15 */
    const __m256i B = _mm256_shuffle_epi8(_mm256_loadu_si256((const __m256i *)bsums),
                                          _mm256_setr_epi8(0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15,
                                                           0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15));
    __m256i O = _mm256_setzero_si256();
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {   /* even bytes (sc 4k, 4k+2) and odd (4k+1, 4k+3), sign-extended */
        const __m256i ev = _mm256_srai_epi16(_mm256_slli_epi16(sv[k], 8), 8), od = _mm256_srai_epi16(sv[k], 8);
        const int d0 = 2 * k;   /* the dword of (b 4k, b 4k+2) */
        O = _mm256_add_epi32(O, _mm256_madd_epi16(ev, _mm256_permutevar8x32_epi32(B, _mm256_set1_epi32(d0))));
        O = _mm256_add_epi32(O, _mm256_madd_epi16(od, _mm256_permutevar8x32_epi32(B, _mm256_set1_epi32(d0 + 1))));
    }
    return O;
}

/* acc[c] (8 rows: half hf of the Q6_K group at grp) += columns 0..NC-1 of a */
AV_INLINE void av_q6_half(int64_t nb, const uint8_t *grp, int hf, const uint8_t *a, size_t as, __m256 *acc, const int NC) {
    const uint8_t *p = grp + kq_q6_dbytes(nb);
    for (int64_t b = 0; b < nb; b++, p += P6_STEP) {
        if (NC == 1 && hf == 0) kern_prefetch(p + 2 * P6_STEP, P6_STEP);   /* decode */
        const uint8_t *ph = p + 32 * hf, *ab = a + b * KQ_Q8K_BYTES;
        __m256i sv[4];
        _Pragma("GCC unroll 4")
        for (int k = 0; k < 4; k++) sv[k] = _mm256_loadu_si256((const __m256i *)(ph + 64 * k));
        __m256i S[AV_NC];
        _Pragma("GCC unroll 4")
        for (int c = 0; c < NC; c++) S[c] = _mm256_setzero_si256();
        for (int g = 0; g < 16; g++) {
            const __m256i sc = av_sscale(sv[g / 4], g % 4);
            __m256i ch[4];
            av_q6_quants(ph + 256 + 192 * g, ch);
            _Pragma("GCC unroll 4")
            for (int c = 0; c < NC; c++) {
                const uint8_t *qa = ab + c * as + KQ_Q8K_QS + 16 * g;
                int32_t a4[4];
                memcpy(a4, qa, 16);
                const __m256i p01 = _mm256_add_epi16(_mm256_maddubs_epi16(ch[0], _mm256_set1_epi32(a4[0])),
                                                     _mm256_maddubs_epi16(ch[1], _mm256_set1_epi32(a4[1])));
                const __m256i p23 = _mm256_add_epi16(_mm256_maddubs_epi16(ch[2], _mm256_set1_epi32(a4[2])),
                                                     _mm256_maddubs_epi16(ch[3], _mm256_set1_epi32(a4[3])));
                S[c] = _mm256_add_epi32(S[c], _mm256_add_epi32(_mm256_madd_epi16(p01, sc), _mm256_madd_epi16(p23, sc)));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(grp + 32 * b + 16 * hf)));
        _Pragma("GCC unroll 4")
        for (int c = 0; c < NC; c++) {
            const uint8_t *abc = ab + c * as;
            const __m256i s = _mm256_sub_epi32(S[c], _mm256_slli_epi32(av_q6_offset(sv, abc + KQ_Q8K_BSUMS), 5));
            float daf;
            memcpy(&daf, abc, 4);
            acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(d, _mm256_set1_ps(daf)), _mm256_cvtepi32_ps(s), acc[c]);
        }
    }
}

/* out (stride os) = tile of nr rows (w: its first group, ws: bytes per group) x nc columns:
 * per group, half by half, passes of up to AV_NC columns; q6: 6 Q6_K, 5 Q5_K, 0 Q4_K */
AV_INLINE void av_tile(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc, float *out,
                       size_t os, const int q6, const bool vnni) {
    const int64_t nb = n / KQ_K;
    for (int r0 = 0; r0 < nr; r0 += AV_ROWS) {
        const uint8_t *p = w + (size_t)(r0 / AV_ROWS) * ws;
        for (int hf = 0; hf < 2 && r0 + 8 * hf < nr; hf++) {
            const int live = nr - r0 - 8 * hf < 8 ? nr - r0 - 8 * hf : 8;
            const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            for (int c0 = 0; c0 < nc; c0 += AV_NC) {
                const int m = nc - c0 < AV_NC ? nc - c0 : AV_NC;
                __m256 acc[AV_NC];
                _Pragma("GCC unroll 4")
                for (int c = 0; c < AV_NC; c++) acc[c] = _mm256_setzero_ps();
                const uint8_t *ac = a + (size_t)c0 * as;
#define AV_CASE(NC) \
    case NC: q6 == 6 ? av_q6_half(nb, p, hf, ac, as, acc, NC) : av_half(nb, p, hf, ac, as, acc, NC, vnni && NC > 1, q6 == 5); break;
                switch (m) { AV_CASE(1) AV_CASE(2) AV_CASE(3) AV_CASE(4) }   /* 1: decode */
#undef AV_CASE
                for (int c = 0; c < m; c++) _mm256_maskstore_ps(out + (size_t)(c0 + c) * os + r0 + 8 * hf, keep, acc[c]);
            }
        }
    }
}

/* The kern_mm_fns of packed Q4_K / Q6_K at AVX2: w is the packed group holding row 0 of the
 * tile (the tile's rows start at a multiple of 16), ws the bytes of one group. */
AV_TARGET __attribute__((noinline)) static void av_q4k_vnni(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a,
                                                            size_t as, int nc, float *out, size_t os) {
    av_tile(n, w, ws, nr, a, as, nc, out, os, 0, true);
}

AV_TARGET void kq_mm_q5k_packed_avx2(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                     float *out, size_t os) {
    av_tile(n, w, ws, nr, a, as, nc, out, os, 5, false);   /* Q5_K's group sums pass 2^15: no AVX-VNNI form */
}

AV_TARGET void kq_mm_q4k_packed_avx2(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                     float *out, size_t os) {
    if (nc > 1 && kern_cpu_avxvnni()) av_q4k_vnni(n, w, ws, nr, a, as, nc, out, os);   /* AVX-VNNI (kernels.h) */
    else av_tile(n, w, ws, nr, a, as, nc, out, os, 0, false);
}

AV_TARGET void kq_mm_q6k_packed_avx2(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                     float *out, size_t os) {
    av_tile(n, w, ws, nr, a, as, nc, out, os, 6, false);
}
#endif
