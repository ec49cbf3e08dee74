/* legacy_packed_avx2.c - Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL packed at load (the 16-row
 * groups of legacy_packed.c) at KERN_AVX2, for CPUs with AVX2 but no AVX-512.
 *
 * Each 64-byte weight vector of a packed block holds 4 bytes of each of 16 rows (vector j:
 * values 4j..4j+3); its 32-byte halves are rows 0..7 and 8..15, one row per int32 lane of a
 * ymm. A group is done a half at a time (the second half's bytes are then in cache), in
 * passes of up to LV_NC columns; each unpacked weight vector serves every column of a pass.
 * Activations: the AVX2 level's plain Q8_0 / Q8_1 blocks (legacy.c); the 4 bytes of values
 * 4j..4j+3 are broadcast into every lane.
 *
 * vpmaddubsw multiplies unsigned x signed bytes into int16 pairs, which saturate, so:
 *   Q8_0, IQ4_NL  signed weights s (Q8_0: the packed q + 128 ^ 0x80; IQ4_NL: the grid
 *                 through vpshufb): vpmaddubsw(|s|, sign(a, s)) (pairs <= 2 x 128 x 127),
 *                 vpmaddwd by 1 into int32 per vector (an activation byte of -128, which
 *                 the converters write only for NaN / inf inputs, would not negate: as in
 *                 the plain AVX2 kernel, such a row's result is garbage either way)
 *   nibble types  unsigned quants u (+ 16 under the fifth-bit mask): vpmaddubsw(u, a)
 *                 summed as int16 over 8 vectors (Q4: 8 x 2 x 15 x 128 = 30720) or 4 (Q5:
 *                 4 x 2 x 31 x 128 = 31744), then one vpmaddwd by 1; Q4_0 / Q5_0 add
 *                 -K x (sum of the block's activations), K = 8 / 16, from a per-call table
 * With AVX-VNNI (kern_cpu_avxvnni()) every type runs as at AVX-512 instead: unsigned weights
 * (Q8_0 as stored, IQ4_NL through the grid + 128) by vpdpbusd on ymm from -K x sum(a).
 * Q8_0 decode (one column) widens both to int16 in either case (lv_q8_decode: vpmovzxbw of the
 * stored q + 128, vpmaddwd, -128 x sum(a) at the end): 1.5B Q8_0 decode 26.8 -> 30.5 tok/s.
 * So every block gives the exact integer sumi of the AVX-512 kernels, and the float steps
 * are theirs: acc = fmaf(dw x da, (float)sumi, acc) (+ fmaf(m, s_a, acc)), block by block in
 * order. Every (row, column) gets the plain AVX-512 kernel's bits (test_kernels); the plain
 * AVX2 kernel (legacy.c, weights in the file's layout: SEEK_REPACK=0) sums in 8 float lanes
 * instead and differs from both in the last bits. */
#include "legacy512.h"

#ifdef KERN_X86
/* columns per pass; blocks whose activation sums one table holds (a multiple of 4: steps) */
enum { LV_NC = 4, LV_NBC = 512 };

static inline int lv_ab(ltype T) { return HAS_M(T) ? 36 : 34; }   /* activation block bytes */
static inline int lv_aq(ltype T) { return HAS_M(T) ? 4 : 2; }     /* offset of its quants */
/* the offset K taken off with -K x sum(a): the nibble _0 types; with AVX-VNNI also Q8_0 and
 * IQ4_NL, whose weights then enter unsigned (+ 128) as at AVX-512 */
static inline int lv_k(ltype T, bool vnni) {
    return T == L_Q4_0 ? 8 : T == L_Q5_0 ? 16 : vnni && (T == L_Q8_0 || T == L_IQ4_NL) ? 128 : 0;
}
static inline bool lv_signed(ltype T) { return T == L_Q8_0 || T == L_IQ4_NL; }

/* Weight vector j (0..7) of block k of the step at p, rows 8 hf..8 hf + 7: signed values
 * (Q8_0, IQ4_NL; with vnni unsigned, + 128) or unsigned quants (the others) */
KT_AVX2 KINLINE __m256i lv_vec(ltype T, const uint8_t *p, int cnt, int k, int j, int hf, bool vnni) {
    const uint8_t *q = p + lgp_q(T, cnt, k) + 32 * hf;
    if (T == L_Q8_0) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(q + 64 * j));
        return vnni ? v : _mm256_xor_si256(v, _mm256_set1_epi8((char)0x80));
    }
    const __m256i x = _mm256_loadu_si256((const __m256i *)(q + 64 * (j & 3)));
    __m256i v = _mm256_and_si256(j < 4 ? x : _mm256_srli_epi16(x, 4), _mm256_set1_epi8(15));
    if (QH[T]) {   /* the fifth bits of these 8 rows: bits 32 hf.. of qword j, bit 4r + b -> byte b of lane r */
        v = _mm256_or_si256(v, _mm256_and_si256(bits_to_bytes(kern_rd32(p + lgp_h(T, cnt, k) + 8 * j + 4 * hf)),
                                                _mm256_set1_epi8(16)));
    }
    if (T == L_IQ4_NL) {
        __m128i g = _mm_loadu_si128((const __m128i *)seek_iq4_nl_values);
        if (vnni) g = _mm_xor_si128(g, _mm_set1_epi8((char)0x80));
        v = _mm256_shuffle_epi8(_mm256_set_m128i(g, g), v);
    }
    return v;
}

KT_AVX2 KINLINE __m256i lv_bcast(const uint8_t *p) { return _mm256_set1_epi32((int)kern_rd32(p)); }

/* sa[b - b0] = -K x the sum of block b's 32 activation values, b0 <= b < b1 (ac: a Q8_0 row) */
KT_AVX2 KINLINE void lv_sums(const uint8_t *ac, int64_t b0, int64_t b1, int K, int32_t *sa) {
    for (int64_t b = b0; b < b1; b++)
        sa[b - b0] = -K * hsum_i8_avx2(_mm256_loadu_si256((const __m256i *)(ac + (size_t)b * 34 + 2)));
}

/* acc[c] (8 rows: half hf of the group at grp) += blocks [b0, b1) x columns 0..NC-1 of a;
 * sa[c][b - b0]: -K x the sum of column c's block b (Q4_0, Q5_0) */
KT_AVX2 KINLINE void lv_half(ltype T, int64_t nb, int64_t b0, int64_t b1, const uint8_t *grp, int hf, const uint8_t *a,
                             size_t as, int32_t (*sa)[LV_NBC], __m256 *acc, const int NC, const bool vnni) {
    const int ab = lv_ab(T), aq = lv_aq(T);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t s = b0 / 4; 4 * s < b1; s++) {
        const uint8_t *p = grp + (size_t)s * 64 * BB[T];
        const int cnt = nb - 4 * s < 4 ? (int)(nb - 4 * s) : 4;
        if (NC == 1 && hf == 0) kern_prefetch(p + 4096, (size_t)(64 * BB[T]));   /* decode: see legacy_packed.c */
        for (int k = 0; k < cnt; k++) {
            const int64_t b = 4 * s + k;
            const uint8_t *ablk = a + (size_t)b * ab;
            __m256i t[LV_NC];
            if (vnni) {   /* AVX-VNNI: every type as at AVX-512, unsigned weights x a from -K x sum(a) */
                _Pragma("GCC unroll 4")
                for (int c = 0; c < NC; c++) t[c] = lv_k(T, true) ? _mm256_set1_epi32(sa[c][b - b0]) : _mm256_setzero_si256();
                _Pragma("GCC unroll 8")
                for (int j = 0; j < 8; j++) {
                    const __m256i u = lv_vec(T, p, cnt, k, j, hf, true);
                    _Pragma("GCC unroll 4")
                    for (int c = 0; c < NC; c++) t[c] = kern_dpbusd_vex(t[c], u, lv_bcast(ablk + c * as + aq + 4 * j));
                }
            } else if (lv_signed(T)) {
                _Pragma("GCC unroll 4")
                for (int c = 0; c < NC; c++) t[c] = _mm256_setzero_si256();
                _Pragma("GCC unroll 8")
                for (int j = 0; j < 8; j++) {
                    const __m256i sv = lv_vec(T, p, cnt, k, j, hf, false), av = _mm256_sign_epi8(sv, sv);
                    _Pragma("GCC unroll 4")
                    for (int c = 0; c < NC; c++) {
                        const __m256i x = _mm256_sign_epi8(lv_bcast(ablk + c * as + aq + 4 * j), sv);
                        t[c] = _mm256_add_epi32(t[c], _mm256_madd_epi16(_mm256_maddubs_epi16(av, x), ones));
                    }
                }
            } else {
                const int G = QH[T] ? 4 : 8;   /* vectors per int16 sum */
                _Pragma("GCC unroll 4")
                for (int c = 0; c < NC; c++) t[c] = lv_k(T, false) ? _mm256_set1_epi32(sa[c][b - b0]) : _mm256_setzero_si256();
                _Pragma("GCC unroll 2")
                for (int j0 = 0; j0 < 8; j0 += G) {
                    __m256i p16[LV_NC];
                    _Pragma("GCC unroll 8")
                    for (int j = j0; j < j0 + G; j++) {
                        const __m256i u = lv_vec(T, p, cnt, k, j, hf, false);
                        _Pragma("GCC unroll 4")
                        for (int c = 0; c < NC; c++) {
                            const __m256i m = _mm256_maddubs_epi16(u, lv_bcast(ablk + c * as + aq + 4 * j));
                            p16[c] = j == j0 ? m : _mm256_add_epi16(p16[c], m);
                        }
                    }
                    _Pragma("GCC unroll 4")
                    for (int c = 0; c < NC; c++) t[c] = _mm256_add_epi32(t[c], _mm256_madd_epi16(p16[c], ones));
                }
            }
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + lgp_d(k) + 16 * hf)));
            const __m256 mw = HAS_M(T) ? _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + lgp_m(cnt, k) + 16 * hf))) : dw;
            _Pragma("GCC unroll 4")
            for (int c = 0; c < NC; c++) {
                const uint8_t *ac = ablk + c * as;
                acc[c] = _mm256_fmadd_ps(_mm256_mul_ps(dw, _mm256_set1_ps(_cvtsh_ss(kern_rd16(ac)))), _mm256_cvtepi32_ps(t[c]), acc[c]);
                if (HAS_M(T)) acc[c] = _mm256_fmadd_ps(mw, _mm256_set1_ps(_cvtsh_ss(kern_rd16(ac + 2))), acc[c]);
            }
        }
    }
}

/* Q8_0 decode (one column), both halves of the group at grp over blocks [b0, b1): the
 * weights zero-extended to int16 as they are stored (q + 128, vpmovzxbw) times the
 * activation widened to int16 (a16: values of block b0 on, broadcast 4 at a time) by
 * vpmaddwd, no sign trick: per 16 weight bytes one widening load and one multiply, where the
 * sign trick spends two vpsignb and two multiplies per 32 (the multiply ports are what
 * bound AVX2 decode). The +128 comes off with -128 x sum(a) (sa), so each block's integer is
 * the exact sumi of the other forms. acc[0], acc[1]: rows 0..7, 8..15. */
KT_AVX2 KINLINE void lv_q8_decode(int64_t nb, int64_t b0, int64_t b1, const uint8_t *grp, const uint8_t *a,
                                  const int16_t *a16, const int32_t *sa, __m256 *acc) {
    for (int64_t s = b0 / 4; 4 * s < b1; s++) {
        const uint8_t *p = grp + (size_t)s * 64 * 34;
        const int cnt = nb - 4 * s < 4 ? (int)(nb - 4 * s) : 4;
        kern_prefetch(p + 4096, (size_t)(64 * 34));   /* see legacy_packed.c */
        for (int k = 0; k < cnt; k++) {
            const int64_t b = 4 * s + k;
            const uint8_t *q = p + lgp_q(L_Q8_0, cnt, k);
            const int16_t *ab = a16 + (size_t)(b - b0) * 32;
            __m256i R[4];   /* rows 4i..4i+3, two int32 (value pairs) per row */
            _Pragma("GCC unroll 4")
            for (int i = 0; i < 4; i++) R[i] = _mm256_setzero_si256();
            _Pragma("GCC unroll 8")
            for (int j = 0; j < 8; j++) {
                int64_t a4;
                memcpy(&a4, ab + 4 * j, 8);
                const __m256i av = _mm256_set1_epi64x(a4);
                _Pragma("GCC unroll 4")
                for (int i = 0; i < 4; i++) {
                    const __m256i u = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(q + 64 * j + 16 * i)));
                    R[i] = _mm256_add_epi32(R[i], _mm256_madd_epi16(u, av));
                }
            }
            const __m256i corr = _mm256_set1_epi32(sa[b - b0]);
            _Pragma("GCC unroll 2")
            for (int h = 0; h < 2; h++) {
                /* rows 8h..8h+7 in order: hadd gives (0, 1, 4, 5 | 2, 3, 6, 7) of the two vectors' row pairs */
                const __m256i rows = _mm256_permute4x64_epi64(_mm256_hadd_epi32(R[2 * h], R[2 * h + 1]), 0xD8);
                const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + lgp_d(k) + 16 * h)));
                const __m256 da = _mm256_set1_ps(_cvtsh_ss(kern_rd16(a + (size_t)b * 34)));
                acc[h] = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(_mm256_add_epi32(rows, corr)), acc[h]);
            }
        }
    }
}

/* out (stride os) = nr rows (w: the tile's first packed group, ws bytes a group) x nc
 * columns: per pass of columns and range of at most LV_NBC blocks, group by group, half by
 * half. Over more than LV_NBC blocks the sums go through out between ranges (exact). */
KT_AVX2 KINLINE void lv_tile(ltype T, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                             float *out, size_t os, const bool vnni) {
    const int64_t nb = n / 32;
    int32_t sa[LV_NC][LV_NBC];
    for (int c0 = 0; c0 < nc; c0 += LV_NC) {
        const int m = nc - c0 < LV_NC ? nc - c0 : LV_NC;
        const uint8_t *ac = a + (size_t)c0 * as;
        for (int64_t b0 = 0; b0 < nb; b0 += LV_NBC) {
            const int64_t b1 = nb - b0 < LV_NBC ? nb : b0 + LV_NBC;
            if (lv_k(T, vnni))
                for (int c = 0; c < m; c++) lv_sums(ac + c * as, b0, b1, lv_k(T, vnni), sa[c]);
            for (int r0 = 0; r0 < nr; r0 += KERN_PACK_ROWS) {
                const uint8_t *grp = w + (size_t)(r0 / KERN_PACK_ROWS) * ws;
                for (int hf = 0; hf < 2 && r0 + 8 * hf < nr; hf++) {
                    const int live = nr - r0 - 8 * hf < 8 ? nr - r0 - 8 * hf : 8;
                    const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                    float *o = out + (size_t)c0 * os + r0 + 8 * hf;
                    __m256 acc[LV_NC];
                    _Pragma("GCC unroll 4")
                    for (int c = 0; c < LV_NC; c++)
                        acc[c] = b0 && c < m ? _mm256_maskload_ps(o + (size_t)c * os, keep) : _mm256_setzero_ps();
#define LV_CASE(NC) \
    case NC: lv_half(T, nb, b0, b1, grp, hf, ac, as, sa, acc, NC, vnni); break;
                    switch (m) { LV_CASE(1) LV_CASE(2) LV_CASE(3) LV_CASE(4) }   /* 1: decode */
#undef LV_CASE
                    for (int c = 0; c < m; c++) _mm256_maskstore_ps(o + (size_t)c * os, keep, acc[c]);
                }
            }
        }
    }
}

/* Q8_0, one column (decode; the last column of a tile): lv_q8_decode over ranges of
 * LV_NBC blocks, the sums through out between ranges. Apart from lv_tile, whose prefill
 * loops lost 15-20 % with this path and its buffers inlined into them. */
KT_AVX2 __attribute__((noinline)) static void lv_q8_column(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a,
                                                           float *out) {
    const int64_t nb = n / 32;
    int32_t sa[LV_NBC];
    int16_t a16[LV_NBC * 32];   /* the column's values as int16 */
    for (int64_t b0 = 0; b0 < nb; b0 += LV_NBC) {
        const int64_t b1 = nb - b0 < LV_NBC ? nb : b0 + LV_NBC;
        lv_sums(a, b0, b1, 128, sa);
        for (int64_t b = b0; b < b1; b++) {
            const uint8_t *q = a + (size_t)b * 34 + 2;
            _mm256_storeu_si256((__m256i *)(a16 + (b - b0) * 32), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)q)));
            _mm256_storeu_si256((__m256i *)(a16 + (b - b0) * 32 + 16), _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(q + 16))));
        }
        for (int r0 = 0; r0 < nr; r0 += KERN_PACK_ROWS) {
            __m256 acc[2];
            __m256i keep[2];
            for (int h = 0; h < 2; h++) {
                keep[h] = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - r0 - 8 * h), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
                acc[h] = b0 ? _mm256_maskload_ps(out + r0 + 8 * h, keep[h]) : _mm256_setzero_ps();
            }
            lv_q8_decode(nb, b0, b1, w + (size_t)(r0 / KERN_PACK_ROWS) * ws, a, a16, sa, acc);
            for (int h = 0; h < 2; h++) _mm256_maskstore_ps(out + r0 + 8 * h, keep[h], acc[h]);
        }
    }
}

/* lv_tile with T a constant in each copy */
KT_AVX2 KINLINE void lv_types(ltype T, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                              float *out, size_t os, const bool vnni) {
    switch (T) {
    case L_Q8_0: lv_tile(L_Q8_0, n, w, ws, nr, a, as, nc, out, os, vnni); break;
    case L_Q4_0: lv_tile(L_Q4_0, n, w, ws, nr, a, as, nc, out, os, vnni); break;
    case L_Q5_0: lv_tile(L_Q5_0, n, w, ws, nr, a, as, nc, out, os, vnni); break;
    case L_Q4_1: lv_tile(L_Q4_1, n, w, ws, nr, a, as, nc, out, os, vnni); break;
    case L_Q5_1: lv_tile(L_Q5_1, n, w, ws, nr, a, as, nc, out, os, vnni); break;
    default: lv_tile(L_IQ4_NL, n, w, ws, nr, a, as, nc, out, os, vnni); break;
    }
}

/* The packed legacy types with AVX-VNNI (kern_cpu_avxvnni()) */
KT_AVX2 __attribute__((noinline)) static void lv_mm_vnni(ltype T, int64_t n, const uint8_t *w, size_t ws, int nr,
                                                         const uint8_t *a, size_t as, int nc, float *out, size_t os) {
    lv_types(T, n, w, ws, nr, a, as, nc, out, os, true);
}

KT_AVX2 void kern_lgp_mm_avx2(ltype T, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                              float *out, size_t os) {
    /* Q8_0's single column (decode) by the int16 path, also with AVX-VNNI (one thread from
     * memory, kernels_bench 1536 x 8960: 25.4 GB/s against 23.0 for vpdpbusd a half group
     * at a time) */
    if (T == L_Q8_0 && nc % LV_NC == 1) {
        lv_q8_column(n, w, ws, nr, a + (size_t)(nc - 1) * as, out + (size_t)(nc - 1) * os);
        if (!--nc) return;
    }
    if (kern_cpu_avxvnni()) lv_mm_vnni(T, n, w, ws, nr, a, as, nc, out, os);
    else lv_types(T, n, w, ws, nr, a, as, nc, out, os, false);
}
#endif
