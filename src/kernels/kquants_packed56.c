/* kquants_packed56.c - Q5_K and Q6_K weights repacked at load into 16-row panels, and their
 * AVX-512 kernel (decode and prefill; Q6_K prefill from 9 columns goes to the panels of
 * kquants_avx512.c, built from these groups).
 *
 * Why (as for Q4_K, kquants_packed.c): the plain decode kernels read 16 rows a row length
 * apart and unpack/transpose each row in registers; measured from memory Q6_K read at ~81 %
 * of the streaming rate and Q5_K at ~55-65 %. Here each thread reads one sequential stream
 * and every 64-byte load is one dword of each of 16 rows ("one row per lane"). The bits are
 * rearranged (not only the dwords) so that a 64-byte group of loads unpacks with a few
 * shifts and one vpternlogd per 64 quants.
 *
 * Rows are taken 16 at a time (the last group padded with zero rows), group g at
 * g * bytes(n, 16). "Lane r" below is int32 lane r of a 64-byte vector = row r of the group;
 * v = value index in the super-block (0..255); lo4 / hi of a value are its low 4 bits and
 * its high bit(s).
 *
 * Q5_K (176 bytes per row and super-block; a group: super-block after super-block, 2816
 * bytes = 44 vectors each, the file's bytes exactly):
 *   H[4]                   H[k] lane r = header dword k of row r (d | dmin, then the 12
 *                          bytes of 6-bit scales/mins), as packed Q4_K
 *   for c = 0..3 (sub-blocks 2c, 2c+1), h = 0..1:
 *     X[c][h]              lane r byte s, bit 2e + b (e = 0..3, b = 0..1) = the 5th bit of
 *                          value 64c + 32b + 4(4h + e) + s
 *     Q[c][4h + e], e=0..3 lane r = qs bytes 32c + 4(4h + e) .. +3 of row r: low nibbles =
 *                          values 64c + 4j..+3, high nibbles 64c + 32 + 4j..+3 (j = 4h + e)
 *   Quants: lo = Q & 15 | (bit 2e of X) << 4, hi = Q >> 4 & 15 | (bit 2e+1 of X) << 4, each
 *   bit moved to bit 4 by one 16-bit shift and `& 0x10`, merged by one vpternlogd.
 *
 * Q6_K (210 bytes per row and super-block): a group starts with the 16 rows' fp16 d of every
 * super-block (D area: 32 bytes per super-block, lane order = row order, padded to a
 * multiple of 64 bytes), then super-block after super-block, 3328 bytes = 52 vectors each:
 *   S[4]                   S[k] lane r = scale bytes 4k..4k+3 of row r (int8 scales of
 *                          groups 4k..4k+3; group = 16 values)
 *   for group g = 0..15:   (values 16g + 4k + j, chunk k = 0..3, byte j = 0..3)
 *     L0                   lane r byte j = lo4(16g + j) | lo4(16g + 4 + j) << 4
 *     L1                   lane r byte j = lo4(16g + 8 + j) | lo4(16g + 12 + j) << 4
 *     Hb                   lane r byte j: bits 0-1 = hi2(16g + j), 4-5 = hi2(16g + 4 + j),
 *                          2-3 = hi2(16g + 8 + j), 6-7 = hi2(16g + 12 + j)
 *   Quants: with m = Hb & 0x33 and n = Hb >> 2 & 0x33 (16-bit shift), chunk 0 = L0 & 15 |
 *   m << 4, chunk 1 = L0 >> 4 & 15 | m, chunk 2 = L1 & 15 | n << 4, chunk 3 = L1 >> 4 & 15 | n
 *   (bits 4-7 of each taken from the second operand by one vpternlogd).
 *   Bytes: the file's plus at most 32 per group of 16 rows (the D area's padding).
 *
 * Kernel: per group of 16 rows, passes of up to 8 columns (decode is 1) over the group's
 * super-blocks, one output row per lane, each column's 4 activation bytes broadcast into
 * vpdpbusd, so one unpacked weight vector serves the pass's columns:
 *   Q5_K: per 8 values of a sub-block 2 vpdpbusd (|t| <= 8 * 31 * 128 < 2^15), scaled into
 *     S1 by vpdpwssd with the sub-block's 6-bit scale; S2 = the mins term as packed Q4_K
 *     (q4k_hdr512.h); acc += d*da * S1, then dm*da * S2.
 *   Q6_K: per group of 16 values t starts at -32 * bsum[g] (the fixed offset folded in),
 *     4 vpdpbusd (|t| <= 16 * 32 * 128, 17 bits), S += t * sc[g] by vpmulld; acc += d*da * S.
 * These are the integers and float steps of kquants_impl.h, so every (row, column) gets the
 * bits of the plain kernels at every level (tested with memcmp).
 */
#include <string.h>

#include "kq56_packed512.h"
#include "kquants_impl.h"

size_t kq_packed_bytes_q5k(int64_t n, int64_t n_rows) {
    return (size_t)((n_rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS) * KERN_PACK_ROWS * (size_t)(n / KQ_K) * P5_BLOCK;
}

size_t kq_packed_bytes_q6k(int64_t n, int64_t n_rows) {
    const int64_t nb = n / KQ_K;
    return (size_t)((n_rows + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS) * (kq_q6_dbytes(nb) + (size_t)nb * P6_STEP);
}

static uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Rows [g0, g1) groups of w (n values per row, row_bytes apart) into dst (laid out above). */
void kq_pack_q5k_ref(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    const int64_t nb = n / KQ_K;
    const size_t group_bytes = (size_t)KERN_PACK_ROWS * (size_t)nb * P5_BLOCK;
    static const uint8_t zero[P5_BLOCK];
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *o = dst + (size_t)g * group_bytes;
        for (int64_t b = 0; b < nb; b++, o += KERN_PACK_ROWS * P5_BLOCK)
            for (int r = 0; r < KERN_PACK_ROWS; r++) {
                const int64_t row = g * KERN_PACK_ROWS + r;
                const uint8_t *src = row < n_rows ? w + (size_t)row * row_bytes + (size_t)b * P5_BLOCK : zero;
                const uint8_t *qh = src + 16, *qs = src + 48;
                for (int k = 0; k < 4; k++) memcpy(o + 64 * k + 4 * r, src + 4 * k, 4);   /* header */
                uint8_t *v = o + 256 + 4 * r;
                for (int c = 0; c < 4; c++)
                    for (int h = 0; h < 2; h++, v += 5 * 64) {
                        uint32_t x = 0;
                        for (int e = 0; e < 4; e++) x |= (rd32(qh + 4 * (4 * h + e)) >> (2 * c) & 0x03030303u) << (2 * e);
                        memcpy(v, &x, 4);
                        for (int e = 0; e < 4; e++) memcpy(v + 64 * (1 + e), qs + 32 * c + 4 * (4 * h + e), 4);
                    }
            }
    }
}

void kq_pack_q6k_ref(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    const int64_t nb = n / KQ_K;
    const size_t dbytes = kq_q6_dbytes(nb), group_bytes = dbytes + (size_t)nb * P6_STEP;
    static const uint8_t zero[P6_BLOCK];
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *dv = dst + (size_t)g * group_bytes, *o = dv + dbytes;
        memset(dv, 0, dbytes);
        for (int64_t b = 0; b < nb; b++, o += P6_STEP)
            for (int r = 0; r < KERN_PACK_ROWS; r++) {
                const int64_t row = g * KERN_PACK_ROWS + r;
                const uint8_t *src = row < n_rows ? w + (size_t)row * row_bytes + (size_t)b * P6_BLOCK : zero;
                const uint8_t *ql = src, *qh = src + 128;
                memcpy(dv + 32 * b + 2 * r, src + 208, 2);
                for (int k = 0; k < 4; k++) memcpy(o + 64 * k + 4 * r, src + 192 + 4 * k, 4);
                /* group gi: half hf = gi / 8 of the super-block, quarter s = gi % 8 / 2 of it,
                 * positions l = 16 (gi % 2) + i (i = 0..15): lo4 in ql[64 hf + 32 (s & 1) + l]
                 * (nibble s / 2), hi2 in qh[32 hf + l] (bits 2s) */
                for (int gi = 0; gi < 16; gi++) {
                    const int hf = gi / 8, s = gi % 8 / 2, l = 16 * (gi % 2);
                    const uint8_t *pl = ql + 64 * hf + 32 * (s & 1) + l, *ph = qh + 32 * hf + l;
                    uint32_t lo[4], hi[4];
                    for (int k = 0; k < 4; k++) {
                        lo[k] = rd32(pl + 4 * k) >> (4 * (s / 2)) & 0x0f0f0f0fu;
                        hi[k] = rd32(ph + 4 * k) >> (2 * s) & 0x03030303u;
                    }
                    uint32_t L0 = lo[0] | lo[1] << 4, L1 = lo[2] | lo[3] << 4;
                    uint32_t Hb = hi[0] | hi[2] << 2 | hi[1] << 4 | hi[3] << 6;
                    uint8_t *q = o + 256 + 192 * gi + 4 * r;
                    memcpy(q, &L0, 4), memcpy(q + 64, &L1, 4), memcpy(q + 128, &Hb, 4);
                }
            }
    }
}

#if defined(__x86_64__)
#include "q4k_hdr512.h"
#include "transpose512.h"

#define PK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define PK_INLINE static inline __attribute__((always_inline)) PK_TARGET

/* One whole group (16 rows at w) of Q5_K into o: a row's super-block is 44 dwords (header
 * 0-3, qh 4-11, qs 12-43), transposed in three parts (the last 12 dwords by a masked load,
 * never past the block), then the reference's fifth-bit moves on whole vectors. The bytes
 * of kq_pack_q5k_ref (test_kernels_k kquant_packing_matches_reference). */
PK_TARGET static void pack_q5k_group16(int64_t nb, const uint8_t *w, size_t row_bytes, uint8_t *o) {
    const __m512i m2 = _mm512_set1_epi32(0x03030303);
    for (int64_t b = 0; b < nb; b++, o += P5_STEP) {
        const uint8_t *s = w + (size_t)b * P5_BLOCK;
        __m512i R[16], D[48];
        _Pragma("GCC unroll 3")
        for (int part = 0; part < 3; part++) {
            _Pragma("GCC unroll 16")
            for (int r = 0; r < 16; r++)
                R[r] = _mm512_maskz_loadu_epi32(part < 2 ? (__mmask16)0xffff : (__mmask16)0x0fff, s + (size_t)r * row_bytes + 64 * part);
            transpose16(R, D + 16 * part);
        }
        _Pragma("GCC unroll 4")
        for (int k = 0; k < 4; k++) _mm512_storeu_si512(o + 64 * k, D[k]);   /* header */
        uint8_t *v = o + 256;
        _Pragma("GCC unroll 4")
        for (int c = 0; c < 4; c++)
            _Pragma("GCC unroll 2")
            for (int h = 0; h < 2; h++, v += 5 * 64) {
                __m512i x = _mm512_setzero_si512();
                _Pragma("GCC unroll 4")
                for (int e = 0; e < 4; e++)
                    x = _mm512_or_si512(x, _mm512_slli_epi32(_mm512_and_si512(_mm512_srli_epi32(D[4 + 4 * h + e], 2 * c), m2), 2 * e));
                _mm512_storeu_si512(v, x);
                _Pragma("GCC unroll 4")
                for (int e = 0; e < 4; e++) _mm512_storeu_si512(v + 64 * (1 + e), D[12 + 8 * c + 4 * h + e]);
            }
    }
}

void kq_pack_q5k(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    const int64_t nb = n / KQ_K;
    const size_t group_bytes = (size_t)KERN_PACK_ROWS * (size_t)nb * P5_BLOCK;
    int64_t g = g0;
    for (; g < g1 && (g + 1) * KERN_PACK_ROWS <= n_rows; g++)
        pack_q5k_group16(nb, w + (size_t)g * KERN_PACK_ROWS * row_bytes, row_bytes, dst + (size_t)g * group_bytes);
    kq_pack_q5k_ref(n, w, row_bytes, n_rows, dst, g, g1);   /* a last group with padding rows */
}

/* One whole group (16 rows at w) of Q6_K into o (its D area first): the 16 rows' ql, qh
 * and scale dwords transposed (vector m = dword m of every row), then the bit moves of
 * kq_pack_q6k_ref on whole vectors, lane r = row r. The bytes of kq_pack_q6k_ref
 * (test_kernels_k kquant_packing_matches_reference). */
PK_TARGET static void pack_q6k_group16(int64_t nb, const uint8_t *w, size_t row_bytes, uint8_t *dv) {
    const __m512i off = rows16_offsets(row_bytes);
    const size_t dbytes = kq_q6_dbytes(nb);
    memset(dv, 0, dbytes);
    uint8_t *o = dv + dbytes;
    const __m512i m4 = _mm512_set1_epi32(0x0f0f0f0f), m2 = _mm512_set1_epi32(0x03030303);
    for (int64_t b = 0; b < nb; b++, o += P6_STEP) {
        const uint8_t *s = w + (size_t)b * P6_BLOCK;
        __m512i R[16], QL[32], QH[16];
        _Pragma("GCC unroll 3")
        for (int part = 0; part < 3; part++) {   /* ql dwords 0-15, 16-31, then qh's 16 */
            _Pragma("GCC unroll 16")
            for (int r = 0; r < 16; r++) R[r] = _mm512_loadu_si512(s + (size_t)r * row_bytes + 64 * part);
            transpose16(R, part == 2 ? QH : QL + 16 * part);
        }
        const __m512i d = _mm512_i32gather_epi32(off, s + 206, 1);   /* bytes 208-209: fp16 d */
        _mm256_storeu_si256((__m256i *)(dv + 32 * b), _mm512_cvtepi32_epi16(_mm512_srli_epi32(d, 16)));
        _Pragma("GCC unroll 4")
        for (int k = 0; k < 4; k++) _mm512_storeu_si512(o + 64 * k, _mm512_i32gather_epi32(off, s + 192 + 4 * k, 1));
        _Pragma("GCC unroll 16")
        for (int gi = 0; gi < 16; gi++) {
            const int hf = gi / 8, sq = gi % 8 / 2, l = 4 * (gi % 2);   /* l in dwords */
            const __m512i *pl = QL + 16 * hf + 8 * (sq & 1) + l, *ph = QH + 8 * hf + l;
            __m512i lo[4], hi[4];
            _Pragma("GCC unroll 4")
            for (int k = 0; k < 4; k++) {
                lo[k] = _mm512_and_si512(_mm512_srli_epi32(pl[k], 4 * (sq / 2)), m4);
                hi[k] = _mm512_and_si512(_mm512_srli_epi32(ph[k], 2 * sq), m2);
            }
            uint8_t *q = o + 256 + 192 * gi;
            _mm512_storeu_si512(q, _mm512_or_si512(lo[0], _mm512_slli_epi32(lo[1], 4)));
            _mm512_storeu_si512(q + 64, _mm512_or_si512(lo[2], _mm512_slli_epi32(lo[3], 4)));
            _mm512_storeu_si512(q + 128, _mm512_or_si512(_mm512_or_si512(hi[0], _mm512_slli_epi32(hi[2], 2)),
                                                         _mm512_or_si512(_mm512_slli_epi32(hi[1], 4), _mm512_slli_epi32(hi[3], 6))));
        }
    }
}

void kq_pack_q6k(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    const int64_t nb = n / KQ_K;
    const size_t group_bytes = kq_q6_dbytes(nb) + (size_t)nb * P6_STEP;
    int64_t g = g0;
    if (row_bytes <= INT32_MAX / KERN_PACK_ROWS)   /* gather offsets are int32 */
        for (; g < g1 && (g + 1) * KERN_PACK_ROWS <= n_rows; g++)
            pack_q6k_group16(nb, w + (size_t)g * KERN_PACK_ROWS * row_bytes, row_bytes, dst + (size_t)g * group_bytes);
    kq_pack_q6k_ref(n, w, row_bytes, n_rows, dst, g, g1);   /* a last group with padding rows */
}

enum { PK_COLS = 8 };   /* columns per pass over a group's weights */
/* Q6_K from this many columns: the panels of kquants_avx512.c (built once per tile from the
 * packed groups, then every column passes over them) beat passes of 8 columns here (~+10 %
 * GFLOP/cpu-s at T = 512). Q5_K: never; its passes of 8 (vpdpwssd per 8 values) beat the
 * panels (vpmulld per 16) at every column count measured, 1-512 (kernels_bench prefill
 * ~+15-20 % GFLOP/cpu-s over the panels and the plain kernel). */
enum { PK_PANEL_MIN_q6k = 9 };

/* acc[c] (16 rows) += columns 0..NC-1 of a over the nb super-blocks of the Q5_K group at p */
PK_INLINE void q5_cols(int64_t nb, const uint8_t *p, const uint8_t *a, size_t as, __m512 *acc, const int NC) {
    for (int64_t b = 0; b < nb; b++, p += KERN_PACK_ROWS * P5_BLOCK) {
        /* decode: ask for the step after next, as packed Q4_K, a few lines at a time through
         * the step (bench/kernel_ab.sh with the matrices read in order: x1.04-1.06), and
         * 1 KiB on into L1, as packed Q4_K (kernel_ab 2048 x 2048, scattered: x1.07) */
        const uint8_t *ahead = p + 2 * KERN_PACK_ROWS * P5_BLOCK;
        if (NC == 1) kern_prefetch(ahead, 256), kern_prefetch_l1(p + 1024, 256);
        const q4k_hdr16 h = q4k_hdr16_decode(_mm512_loadu_si512(p), _mm512_loadu_si512(p + 64), _mm512_loadu_si512(p + 128),
                                             _mm512_loadu_si512(p + 192));
        const uint8_t *ab = a + b * KQ_Q8K_BYTES;
        __m512i S1[PK_COLS];
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) S1[c] = _mm512_setzero_si512();
        _Pragma("GCC unroll 4")
        for (int c4 = 0; c4 < 4; c4++) {
            const __m512i scl = byte_of(c4 < 2 ? h.sc03 : h.sc47, (2 * c4) % 4);
            const __m512i sch = byte_of(c4 < 2 ? h.sc03 : h.sc47, (2 * c4 + 1) % 4);
            _Pragma("GCC unroll 2")
            for (int hh = 0; hh < 2; hh++) {
                const uint8_t *x = p + 256 + 64 * (10 * c4 + 5 * hh);
                if (NC == 1)
                    kern_prefetch(ahead + 256 + 64 * (10 * c4 + 5 * hh), 320), kern_prefetch_l1(x + 1024, 320);
                _Pragma("GCC unroll 2")
                for (int pr = 0; pr < 2; pr++) {
                    __m512i lo[2], hi[2];
                    p56_q5_quants(x, x + 64, pr, lo, hi);
                    const int k0 = 64 * c4 + 4 * (4 * hh + 2 * pr);   /* value of lo[0]'s first byte */
                    _Pragma("GCC unroll 8")
                    for (int c = 0; c < NC; c++) {
                        const uint8_t *qa = ab + c * as + KQ_Q8K_QS + k0;
                        const __m512i z = _mm512_setzero_si512();
                        __m512i tl = kern_dpbusd_b4(kern_dpbusd_b4(z, lo[0], qa), lo[1], qa + 4);
                        __m512i th = kern_dpbusd_b4(kern_dpbusd_b4(z, hi[0], qa + 32), hi[1], qa + 36);
                        S1[c] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(S1[c], tl, scl), th, sch);
                    }
                }
            }
        }
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) acc[c] = q4k_col_step(acc[c], &h, S1[c], ab + c * as);
    }
}

/* acc[c] += columns 0..NC-1 of a over super-block b of the Q6_K group at grp (nb of them) */
PK_INLINE void q6_step(int64_t nb, const uint8_t *grp, int64_t b, const uint8_t *a, size_t as, __m512 *acc, const int NC) {
    const uint8_t *p = grp + kq_q6_dbytes(nb) + b * P6_STEP;
    const bool few = NC < 4;   /* t * sc by vpdpwssd on split pairs (below), not vpmulld */
    {
        /* decode: the step three on asked for (kern_prefetch), a group's 3 lines with each
         * group below (its header's 4 here), not all 52 in one burst at the step's start;
         * and into L1 the bytes 2 KiB on, a group's worth before each group's loads (as packed Q4_K; here
         * 2 KiB: kernel_ab on the output head's shape x0.99 at 512 bytes, x1.00 at 1 KiB,
         * x1.03 at 2 KiB; x1.04 on ffn_down's). Spread instead of one burst, kernel_ab B/A
         * x1.03-1.09 at two steps on; three steps on x1.05-1.13 (docs/kernels.md). */
        const uint8_t *ahead = p + 3 * P6_STEP;
        if (NC == 1) kern_prefetch(ahead, 256), kern_prefetch_l1(p + 2048, 256);
        const uint8_t *ab = a + b * KQ_Q8K_BYTES;
        __m512i S[PK_COLS], neg[PK_COLS];
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) {
            S[c] = _mm512_setzero_si512();
            /* lane g: -32 * bsum[g] of column c */
            __m512i bs = _mm512_cvtepi16_epi32(_mm256_loadu_si256((const __m256i *)(ab + c * as + KQ_Q8K_BSUMS)));
            neg[c] = _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(bs, 5));
        }
        _Pragma("GCC unroll 4")
        for (int k = 0; k < 4; k++) {
            const __m512i sv = _mm512_loadu_si512(p + 64 * k);
            _Pragma("GCC unroll 4")
            for (int s = 0; s < 4; s++) {
                const int g = 4 * k + s;
                const __m512i sc = few ? p56_sbyte_pair(sv, s) : p56_sbyte(sv, s);
                __m512i ch[4];
                if (NC == 1) kern_prefetch(ahead + 256 + 192 * g, 192), kern_prefetch_l1(p + 256 + 192 * g + 2048, 192);
                p56_q6_quants(p + 256 + 192 * g, ch);
                _Pragma("GCC unroll 8")
                for (int c = 0; c < NC; c++) {
                    const uint8_t *qa = ab + c * as + KQ_Q8K_QS + 16 * g;
                    __m512i t = _mm512_permutexvar_epi32(_mm512_set1_epi32(g), neg[c]);
                    _Pragma("GCC unroll 4")
                    for (int j = 0; j < 4; j++) t = kern_dpbusd_b4(t, ch[j], qa + 4 * j);
                    /* few columns: t * sc by one vpdpwssd on (t & 255, t >> 8) x (sc, 256 sc),
                     * instead of vpmulld (two port-0 uops) and an add; the same integer */
                    S[c] = few ? _mm512_dpwssd_epi32(S[c], p56_split_t(t), sc) : _mm512_add_epi32(S[c], _mm512_mullo_epi32(t, sc));
                }
            }
        }
        const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(grp + 32 * b)));
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) {
            float daf;
            memcpy(&daf, ab + c * as, 4);
            acc[c] = _mm512_fmadd_ps(_mm512_mul_ps(d, _mm512_set1_ps(daf)), _mm512_cvtepi32_ps(S[c]), acc[c]);
        }
    }
}

/* acc[c] += columns 0..NC-1 of a over the Q6_K group at grp */
PK_INLINE void q6_cols(int64_t nb, const uint8_t *grp, const uint8_t *a, size_t as, __m512 *acc, const int NC) {
    for (int64_t b = 0; b < nb; b++) q6_step(nb, grp, b, a, as, acc, NC);
}

/* out (stride os) = tile of nr rows (w: its first group, ws: bytes per group) x nc columns,
 * in passes of up to 8 columns; q6: Q6_K, else Q5_K */
PK_INLINE void tile_cols(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc, float *out,
                         size_t os, const int q6) {
    const int64_t nb = n / KQ_K;
    for (int r0 = 0; r0 < nr; r0 += KERN_PACK_ROWS) {
        const uint8_t *p = w + (size_t)(r0 / KERN_PACK_ROWS) * ws;
        const __mmask16 keep = nr - r0 >= KERN_PACK_ROWS ? (__mmask16)0xffff : (__mmask16)((1u << (nr - r0)) - 1);
        for (int c0 = 0; c0 < nc; c0 += PK_COLS) {
            const int m = nc - c0 < PK_COLS ? nc - c0 : PK_COLS;
            __m512 acc[PK_COLS];
            _Pragma("GCC unroll 8")
            for (int c = 0; c < PK_COLS; c++) acc[c] = _mm512_setzero_ps();
            const uint8_t *ac = a + (size_t)c0 * as;
#define PK_CASE(NC) \
    case NC: q6 ? q6_cols(nb, p, ac, as, acc, NC) : q5_cols(nb, p, ac, as, acc, NC); break;
            switch (m) {
                PK_CASE(1) PK_CASE(2) PK_CASE(3) PK_CASE(4) PK_CASE(5) PK_CASE(6) PK_CASE(7) PK_CASE(8)
            }
#undef PK_CASE
            for (int c = 0; c < m; c++) _mm512_mask_storeu_ps(out + (size_t)(c0 + c) * os + r0, keep, acc[c]);
        }
    }
}

/* The kern_mm_fns of packed Q5_K / Q6_K: w is the packed group holding row 0 of the tile
 * (the tile's rows start at a multiple of 16), ws the bytes of one group. */
PK_TARGET void kq_mm_q5k_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                       float *out, size_t os) {
    tile_cols(n, w, ws, nr, a, as, nc, out, os, 0);
}

PK_TARGET void kq_mm_q6k_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                       float *out, size_t os) {
    if (nc >= PK_PANEL_MIN_q6k) kq_prefill_q6k_packed_avx512(n, w, ws, nr, a, as, nc, out, os);
    else tile_cols(n, w, ws, nr, a, as, nc, out, os, 1);
}

/* Two tiles' decode (kern_dec2_fn): the kernels' super-block steps on each in turn */
#define Q5K_STEP(g, s, a, acc) q5_cols(1, (g) + (s) * KERN_PACK_ROWS * P5_BLOCK, (a) + (s) * KQ_Q8K_BYTES, 0, acc, 1)
#define Q6K_STEP(g, s, a, acc) q6_step(n / KQ_K, g, s, a, 0, acc, 1)
PK_TARGET void kq_dec2_q5k_packed_avx512(int64_t n, size_t ws, const uint8_t *wa, int nr_a, const uint8_t *aa, float *out_a,
                                         const uint8_t *wb, int nr_b, const uint8_t *ab, float *out_b) {
    KERN_DEC2_BODY(n / KQ_K, Q5K_STEP, kq_mm_q5k_packed_avx512);
}
PK_TARGET void kq_dec2_q6k_packed_avx512(int64_t n, size_t ws, const uint8_t *wa, int nr_a, const uint8_t *aa, float *out_a,
                                         const uint8_t *wb, int nr_b, const uint8_t *ab, float *out_b) {
    KERN_DEC2_BODY(n / KQ_K, Q6K_STEP, kq_mm_q6k_packed_avx512);
}
#endif
