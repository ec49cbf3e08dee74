/* legacy_packed.c - Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, IQ4_NL weights repacked at load into
 * 16-row panels, and their AVX-512 kernel (decode and few columns here; prefill:
 * legacy_avx512.c's panels).
 *
 * Why: the plain decode kernel (legacy_avx512.c) visits 16 rows a row length apart, block
 * pair by block pair (16 streams of unaligned 34- or 22-byte blocks per thread), reduces
 * each row's products by a transposing tree and gathers the rows' scales. Packed, each
 * thread reads one sequential stream, every 64-byte load is already one row per lane and
 * the 16 rows' scales are one contiguous fp16 vector.
 *
 * Layout of a packed matrix (the same bytes as the file: 16 x BB per block of 16 rows):
 * rows are taken 16 at a time (the last group padded with zero rows); group g starts at
 * g * 16 * row_bytes; inside a group, steps of 4 blocks (the activations' groups of 4),
 * step s at s * 64 * BB (64-byte aligned when the group is); a step of cnt blocks (4, or
 * fewer at the row's end) holds, block k = 0..cnt-1 of each area in turn:
 *
 *   d[cnt]   32 B   fp16 d of rows 0..15
 *   m[cnt]   32 B   fp16 m of rows 0..15                          (Q4_1, Q5_1)
 *   h[cnt]   64 B   8 qwords; qword j bit 4r + b = the fifth bit of value 4j + b of row r
 *                   (a ready byte mask for vector j below)        (Q5_0, Q5_1)
 *   q[cnt]   Q8_0: 8 x 64 B, vector j int32 lane r = values 4j..4j+3 of row r, + 128
 *            others: 4 x 64 B, vector i lane r = qs bytes 4i..4i+3 of row r: values
 *            4i..4i+3 in the low nibbles, 16 + 4i..16 + 4i + 3 in the high ones
 *
 * Decode, per group, step, block k: unsigned vector j = 0..7 (Q8_0: the load; nibbles: the
 * low or high half of vector j & 3, + 16 under the mask h[k] qword j, IQ4_NL through the
 * shifted grid) times the column's 4 activation bytes of values 4j..4j+3, broadcast, into
 * vpdpbusd, starting from the activation's offset word; then the float steps of
 * legacy_avx512.c per lane, acc = fmaf(d * da, (float)sumi, acc) (+ fmaf(m, s_a, acc)), so
 * every (row, column) gets the plain AVX-512 kernel's bits (tested with memcmp). Two to
 * four columns run the same loop, each unpacked weight vector feeding all of them. From
 * five columns, prefill builds the plain kernel's 4-block panels from the packed steps (no
 * transposes, no gathers) and runs its column loop.
 */
#include <string.h>

#include "legacy512.h"
#ifdef KERN_X86
#include "transpose512.h"
#endif

enum { PK_ROWS = KERN_PACK_ROWS };
/* columns per pass over a group's steps (2 x 4 int32 chains each), and from how many
 * columns the prefill panels of legacy_avx512.c take over */
enum { LGP_NC = 4, LGP_PANEL_MIN = 5 };

#ifdef KERN_X86
static size_t bytes_of(ltype T, int64_t n, int64_t n_rows) {
    return (size_t)((n_rows + PK_ROWS - 1) / PK_ROWS) * PK_ROWS * (size_t)(n / 32) * (size_t)BB[T];
}

/* One whole step (4 blocks) of 16 whole rows (w: row 0's block b0, rows row_bytes apart)
 * into p: a step's quant dwords are the rows' dwords transposed (Q8_0: two 16 x 16
 * transposes, the others one), d (and m, qh) one gather per block, the fifth bits' qwords
 * by a byte pack of the 16 rows' nibbles; 1 load and store per 64 bytes instead of 16
 * four-byte copies. The bytes of the loop in pack_groups (test_kernels:
 * packed_legacy_layout_matches_reference). */
KT_AVX512 KINLINE void pack_step16(ltype T, uint8_t *p, const uint8_t *w, size_t row_bytes) {
    const __m512i off = rows16_offsets(row_bytes);
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {   /* the 4 bytes at a block's start: d, then m or quants */
        const __m512i dm = _mm512_i32gather_epi32(off, w + BB[T] * k, 1);
        _mm256_storeu_si256((__m256i *)(p + lgp_d(k)), _mm512_cvtepi32_epi16(dm));
        if (HAS_M(T)) _mm256_storeu_si256((__m256i *)(p + lgp_m(4, k)), _mm512_cvtepi32_epi16(_mm512_srli_epi32(dm, 16)));
        if (QH[T]) {   /* qword j: the 16 rows' nibbles j of qh, row r at bits 4r */
            const __m512i qh = _mm512_i32gather_epi32(off, w + BB[T] * k + QH[T], 1);
            _Pragma("GCC unroll 8")
            for (int j = 0; j < 8; j++) {
                const __m128i b = _mm512_cvtepi32_epi8(_mm512_and_si512(_mm512_srli_epi32(qh, 4 * j), _mm512_set1_epi32(15)));
                const __m128i pr = _mm_maddubs_epi16(b, _mm_set1_epi16(0x1001));   /* byte 2i + 16 x byte 2i+1 */
                _mm_storel_epi64((__m128i *)(p + lgp_h(T, 4, k) + 8 * j), _mm_packus_epi16(pr, pr));
            }
        }
    }
    __m512i R[16], Tr[16];
    if (T == L_Q8_0) {
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        _Pragma("GCC unroll 2")
        for (int k = 0; k < 4; k += 2) {   /* blocks k and k + 1: 16 dwords a row */
            _Pragma("GCC unroll 16")
            for (int r = 0; r < 16; r++) {
                const uint8_t *b = w + (size_t)r * row_bytes + BB[T] * k + 2;
                R[r] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)b)),
                                          _mm256_loadu_si256((const __m256i *)(b + BB[T])), 1);
            }
            transpose16(R, Tr);
            _Pragma("GCC unroll 16")
            for (int j = 0; j < 16; j++)
                _mm512_storeu_si512(p + lgp_q(T, 4, k + j / 8) + 64 * (j % 8), _mm512_xor_si512(Tr[j], flip));
        }
        return;
    }
    _Pragma("GCC unroll 16")
    for (int r = 0; r < 16; r++) {   /* the 4 blocks' 16 quant bytes: 16 dwords a row */
        const uint8_t *b = w + (size_t)r * row_bytes + QS[T];
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)b));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(b + BB[T])), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(b + 2 * BB[T])), 2);
        R[r] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(b + 3 * BB[T])), 3);
    }
    transpose16(R, Tr);
    _Pragma("GCC unroll 16")
    for (int m = 0; m < 16; m++) _mm512_storeu_si512(p + lgp_q(T, 4, m / 4) + 64 * (m % 4), Tr[m]);
}

/* One step of cnt blocks of `live` rows (w: row 0's first block of the step, rows
 * row_bytes apart) into p, a few bytes at a time: the reference of pack_step16, and the
 * packer of the AVX2 level (plain C, so that it runs on any CPU) */
static void pack_step_ref(ltype T, uint8_t *p, const uint8_t *w, size_t row_bytes, int live, int cnt) {
    if (live < PK_ROWS) memset(p, 0, (size_t)cnt * PK_ROWS * BB[T]);   /* padding rows */
    else if (QH[T]) memset(p + lgp_h(T, cnt, 0), 0, (size_t)(64 * cnt));   /* h is or-ed in */
    for (int r = 0; r < live; r++) {
        const uint8_t *row = w + (size_t)r * row_bytes;
        for (int k = 0; k < cnt; k++) {
            const uint8_t *src = row + k * BB[T];
            memcpy(p + lgp_d(k) + 2 * r, src, 2);
            if (HAS_M(T)) memcpy(p + lgp_m(cnt, k) + 2 * r, src + 2, 2);
            if (QH[T]) {
                const uint32_t qh = kern_rd32(src + QH[T]);
                for (int j = 0; j < 8; j++) p[lgp_h(T, cnt, k) + 8 * j + r / 2] |= (uint8_t)((qh >> 4 * j & 15) << 4 * (r & 1));
            }
            uint8_t *q = p + lgp_q(T, cnt, k) + 4 * r;
            if (T == L_Q8_0)
                for (int j = 0; j < 8; j++) {
                    const uint32_t v = kern_rd32(src + 2 + 4 * j) ^ 0x80808080u;
                    memcpy(q + 64 * j, &v, 4);
                }
            else
                for (int i = 0; i < 4; i++) memcpy(q + 64 * i, src + QS[T] + 4 * i, 4);
        }
    }
}

/* Groups [g0, g1) of w (n values per row, row_bytes apart) into dst (laid out above), step
 * by step: whole steps of whole groups through pack_step16, the others (or all, where the
 * CPU has no AVX-512) through pack_step_ref. */
#define PACK_GROUPS(fast)                                                                                         \
    const int64_t nb = n / 32;                                                                                   \
    const size_t group_bytes = (size_t)PK_ROWS * (size_t)nb * (size_t)BB[T];                                     \
    for (int64_t g = g0; g < g1; g++) {                                                                          \
        const int live = n_rows - g * PK_ROWS < PK_ROWS ? (int)(n_rows - g * PK_ROWS) : PK_ROWS;                 \
        for (int64_t b0 = 0; b0 < nb; b0 += 4) {                                                                 \
            const int cnt = nb - b0 < 4 ? (int)(nb - b0) : 4;                                                    \
            uint8_t *p = dst + (size_t)g * group_bytes + (size_t)b0 * PK_ROWS * BB[T];                           \
            const uint8_t *src = w + (size_t)g * PK_ROWS * row_bytes + (size_t)b0 * BB[T];                       \
            if ((fast) && live == PK_ROWS && cnt == 4 && row_bytes <= INT32_MAX / PK_ROWS)                       \
                pack_step16(T, p, src, row_bytes);                                                               \
            else                                                                                                 \
                pack_step_ref(T, p, src, row_bytes, live, cnt);                                                  \
        }                                                                                                        \
    }

/* T is a constant in each copy (the packing is most of the load time of an all-Q8_0 model) */
KT_AVX512 KINLINE void pack_groups(ltype T, int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst,
                                   int64_t g0, int64_t g1) {
    PACK_GROUPS(true)
}

/* The same with pack_step_ref only: the reference, and AVX2's packer */
static inline void pack_groups_ref(ltype T, int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst,
                            int64_t g0, int64_t g1) {
    PACK_GROUPS(false)
}

/* acc[c] (16 rows) += the cnt blocks of the step at p x column c's group (ag + c * as), for
 * NC columns (a constant in every inlined copy: the sums stay in registers); each weight
 * vector is unpacked once for all NC columns. */
KT_AVX512 KINLINE void lgp_step(ltype T, const uint8_t *p, int cnt, const uint8_t *ag, size_t as, __m512 *acc, const int NC) {
    _Pragma("GCC unroll 4")
    for (int k = 0; k < 4; k++) {
        if (k >= cnt) break;
        /* per column two chains of 4 vpdpbusd (int32 sums: exact in any order) */
        __m512i t0[LGP_NC], t1[LGP_NC];
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) t0[c] = _mm512_set1_epi32(corr(T, ag + c * as, k)), t1[c] = _mm512_setzero_si512();
        _Pragma("GCC unroll 4")
        for (int j = 0; j < 4; j++) {
            const __m512i v0 = lgp_vec(T, p, cnt, k, j), v1 = lgp_vec(T, p, cnt, k, j + 4);
            _Pragma("GCC unroll 8")
            for (int c = 0; c < NC; c++) {
                const uint8_t *ac = ag + c * as;
                t0[c] = kern_dpbusd_b4(t0[c], v0, ac + lg_aoff(k, j));
                t1[c] = kern_dpbusd_b4(t1[c], v1, ac + lg_aoff(k, j + 4));
            }
        }
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + lgp_d(k))));
        const __m512 mw = HAS_M(T) ? _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p + lgp_m(cnt, k)))) : dw;
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) {
            const uint8_t *ac = ag + c * as;
            acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(rdf(ac + GD + 4 * k))),
                                     _mm512_cvtepi32_ps(_mm512_add_epi32(t0[c], t1[c])), acc[c]);
            if (HAS_M(T)) acc[c] = _mm512_fmadd_ps(mw, _mm512_set1_ps(rdf(ac + GX + 4 * k)), acc[c]);
        }
    }
}

/* decode reads ahead this many bytes of the stream (see the Q4_K packed kernel: every
 * pass of the pool starts new streams and the hardware prefetcher ramps up slowly) */
enum { LGP_AHEAD = 4096 };

/* Step s (blocks 4s..4s+3, fewer in a short last step) of the group at grp (nb blocks) x NC
 * columns into acc; decode asks for the stream LGP_AHEAD on */
KT_AVX512 KINLINE void lgp_group_step(ltype T, int64_t nb, const uint8_t *grp, int64_t s, const uint8_t *a, size_t as,
                                      __m512 *acc, const int NC) {
    const int64_t step = 64 * BB[T];
    const uint8_t *p = grp + s * step;
    if (4 * s + 4 <= nb) {
        if (NC == 1) kern_prefetch(p + LGP_AHEAD, (size_t)step);
        lgp_step(T, p, 4, a + s * GB, as, acc, NC);
    } else {
        lgp_step(T, p, (int)(nb - 4 * s), a + s * GB, as, acc, NC);
    }
}

/* 16 rows (one group at p) x NC columns into acc */
KT_AVX512 KINLINE void lgp_group(ltype T, int64_t nb, const uint8_t *p, const uint8_t *a, size_t as, __m512 *acc, const int NC) {
    int64_t s = 0;
    for (; 4 * s + 4 <= nb; s++) lgp_group_step(T, nb, p, s, a, as, acc, NC);
    if (4 * s < nb) lgp_group_step(T, nb, p, s, a, as, acc, NC);
}

#define LGP_DEC_STEP(g, s, a, acc) lgp_group_step(T_, n / 32, g, s, a, 0, acc, 1)

/* The AVX-512 product of a tile of packed groups */
KT_AVX512 KINLINE void lgp_mm_avx512(ltype T, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                                     int nc, float *out, size_t os) {
    if (nc >= LGP_PANEL_MIN) {
        kern_lgp_prefill_avx512(T, n, w, ws, nr, a, as, nc, out, os);
        return;
    }
    const int64_t nb = n / 32;
    for (int r0 = 0; r0 < nr; r0 += PK_ROWS) {
        const uint8_t *p = w + (size_t)(r0 / PK_ROWS) * ws;
        const __mmask16 keep = nr - r0 >= PK_ROWS ? (__mmask16)0xffff : (__mmask16)((1u << (nr - r0)) - 1);
        for (int c0 = 0; c0 < nc; c0 += LGP_NC) {
            const int m = nc - c0 < LGP_NC ? nc - c0 : LGP_NC;
            __m512 acc[LGP_NC];
            _Pragma("GCC unroll 8")
            for (int c = 0; c < LGP_NC; c++) acc[c] = _mm512_setzero_ps();
            const uint8_t *ac = a + (size_t)c0 * as;
            switch (m) {
            case 1: lgp_group(T, nb, p, ac, as, acc, 1); break;   /* decode */
            case 2: lgp_group(T, nb, p, ac, as, acc, 2); break;
            case 3: lgp_group(T, nb, p, ac, as, acc, 3); break;
            default: lgp_group(T, nb, p, ac, as, acc, 4); break;
            }
            for (int c = 0; c < m; c++) _mm512_mask_storeu_ps(out + (size_t)(c0 + c) * os + r0, keep, acc[c]);
        }
    }
}

/* The kern_mm_fn of a packed type: w is the packed group holding row 0 of the tile (the
 * tile's rows start at a multiple of 16), ws the bytes of one group. Where the CPU has AMX
 * (or emu: its plain-C twin, for tests), whole 16-column chunks go to the tile kernel
 * (legacy_amx.c), the columns left to the AVX-512 loops; both give the same bits. */
KT_AVX512 KINLINE void lgp_mm(ltype T, bool emu, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a,
                              size_t as, int nc, float *out, size_t os) {
    int done = 0;
    if (nc >= 16 && (emu || kern_cpu_amx())) {
        done = nc & ~15;
        kern_lgp_amx(T, emu, n, w, ws, nr, a, as, done, out, os);
    }
    if (done < nc) lgp_mm_avx512(T, n, w, ws, nr, a + (size_t)done * as, as, nc - done, out + (size_t)done * os, os);
}

#define LGP(name, T)                                                                                          \
    static size_t name##_bytes(int64_t n, int64_t n_rows) { return bytes_of(T, n, n_rows); }                   \
    KT_AVX512 static void name##_pack(int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst,    \
                                      int64_t g0, int64_t g1) {                                                \
        pack_groups(T, n, w, rb, n_rows, dst, g0, g1);                                                   \
    }                                                                                                          \
    KT_AVX512 static void name##_mm(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                                    int nc, float *out, size_t os) {                                           \
        lgp_mm(T, false, n, w, ws, nr, a, as, nc, out, os);                                                    \
    }                                                                                                          \
    KT_AVX512 static void name##_dec2(int64_t n, size_t ws, const uint8_t *wa, int nr_a, const uint8_t *aa,      \
                                      float *out_a, const uint8_t *wb, int nr_b, const uint8_t *ab, float *out_b) { \
        const ltype T_ = T;                                                                                    \
        KERN_DEC2_BODY((n / 32 + 3) / 4, LGP_DEC_STEP, name##_mm);                                             \
    }                                                                                                          \
    KT_AVX512 static void name##_mm_emu(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a,      \
                                        size_t as, int nc, float *out, size_t os) {                            \
        lgp_mm(T, true, n, w, ws, nr, a, as, nc, out, os);                                                     \
    }                                                                                                          \
    static void name##_pack_avx2(int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst, int64_t g0, \
                                 int64_t g1) {                                                                  \
        pack_groups_ref(T, n, w, rb, n_rows, dst, g0, g1);                                                     \
    }                                                                                                          \
    static void name##_mm_avx2(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,    \
                               int nc, float *out, size_t os) {                                                \
        kern_lgp_mm_avx2(T, n, w, ws, nr, a, as, nc, out, os);                                                 \
    }
LGP(q8_0, L_Q8_0)
LGP(q4_0, L_Q4_0)
LGP(q5_0, L_Q5_0)
LGP(q4_1, L_Q4_1)
LGP(q5_1, L_Q5_1)
LGP(iq4_nl, L_IQ4_NL)

static const kern_packed tab[L_N] = {
    [L_Q8_0] = {q8_0_bytes, q8_0_pack, q8_0_mm, q8_0_dec2},       [L_Q4_0] = {q4_0_bytes, q4_0_pack, q4_0_mm, q4_0_dec2},
    [L_Q5_0] = {q5_0_bytes, q5_0_pack, q5_0_mm, q5_0_dec2},       [L_Q4_1] = {q4_1_bytes, q4_1_pack, q4_1_mm, q4_1_dec2},
    [L_Q5_1] = {q5_1_bytes, q5_1_pack, q5_1_mm, q5_1_dec2},       [L_IQ4_NL] = {iq4_nl_bytes, iq4_nl_pack, iq4_nl_mm, iq4_nl_dec2},
};
/* AVX2 (CPUs without AVX-512): the same bytes, packed a few at a time; legacy_packed_avx2.c */
static const kern_packed tab_avx2[L_N] = {
    [L_Q8_0] = {q8_0_bytes, q8_0_pack_avx2, q8_0_mm_avx2, NULL},       [L_Q4_0] = {q4_0_bytes, q4_0_pack_avx2, q4_0_mm_avx2, NULL},
    [L_Q5_0] = {q5_0_bytes, q5_0_pack_avx2, q5_0_mm_avx2, NULL},       [L_Q4_1] = {q4_1_bytes, q4_1_pack_avx2, q4_1_mm_avx2, NULL},
    [L_Q5_1] = {q5_1_bytes, q5_1_pack_avx2, q5_1_mm_avx2, NULL},       [L_IQ4_NL] = {iq4_nl_bytes, iq4_nl_pack_avx2, iq4_nl_mm_avx2, NULL},
};
/* the same with the AMX part emulated (tests) */
static const kern_packed tab_emu[L_N] = {
    [L_Q8_0] = {q8_0_bytes, q8_0_pack, q8_0_mm_emu, NULL},   [L_Q4_0] = {q4_0_bytes, q4_0_pack, q4_0_mm_emu, NULL},
    [L_Q5_0] = {q5_0_bytes, q5_0_pack, q5_0_mm_emu, NULL},   [L_Q4_1] = {q4_1_bytes, q4_1_pack, q4_1_mm_emu, NULL},
    [L_Q5_1] = {q5_1_bytes, q5_1_pack, q5_1_mm_emu, NULL},   [L_IQ4_NL] = {iq4_nl_bytes, iq4_nl_pack, iq4_nl_mm_emu, NULL},
};
#endif

#ifdef KERN_X86
static int ltype_of(seek_type t) {
    switch (t) {
    case SEEK_TYPE_Q8_0: return L_Q8_0;
    case SEEK_TYPE_Q4_0: return L_Q4_0;
    case SEEK_TYPE_Q5_0: return L_Q5_0;
    case SEEK_TYPE_Q4_1: return L_Q4_1;
    case SEEK_TYPE_Q5_1: return L_Q5_1;
    case SEEK_TYPE_IQ4_NL: return L_IQ4_NL;
    default: return -1;
    }
}
#endif

void kern_lgp_pack_ref(seek_type t, int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst, int64_t g0,
                       int64_t g1) {
#ifdef KERN_X86
    const int i = ltype_of(t);
    if (i >= 0) pack_groups_ref((ltype)i, n, w, rb, n_rows, dst, g0, g1);
#else
    (void)t, (void)n, (void)w, (void)rb, (void)n_rows, (void)dst, (void)g0, (void)g1;
#endif
}

const kern_packed *kern_legacy_packed(seek_type t, kern_level l) {
#ifdef KERN_X86
    const int i = ltype_of(t);
    return i < 0 ? NULL : l == KERN_AVX512 ? &tab[i] : l == KERN_AVX2 ? &tab_avx2[i] : NULL;
#else
    (void)t, (void)l;
    return NULL;
#endif
}

const kern_packed *kern_legacy_packed_amx_emulated(seek_type t) {
#ifdef KERN_X86
    const int i = ltype_of(t);
    return i >= 0 ? &tab_emu[i] : NULL;
#else
    (void)t;
    return NULL;
#endif
}
