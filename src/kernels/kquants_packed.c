/* kquants_packed.c - Q4_K weights repacked at load into 16-row panels, and their AVX-512
 * kernel (decode and prefill).
 *
 * Why: the plain Q4_K decode kernel visits 16 rows at a time, one super-block of each row
 * per step, so each thread reads 16 interleaved streams a row length apart and transposes
 * the rows' headers and quants in registers. From memory that reached ~70 % of the read
 * bandwidth while Q6_K and Q8_0 reached ~95 %. In the panel layout each thread reads one
 * sequential stream and every 64-byte load is already "one row per lane".
 *
 * Layout of a packed matrix (same bytes per row as the file: 144 per super-block):
 * rows are taken 16 at a time (the last group padded with zero rows); group g starts at
 * g * 16 * row_bytes; inside a group, super-block after super-block, 2304 bytes each:
 *
 *   H[4]  x 64 B   H[k] int32 lane r = bytes 4k..4k+3 of row r's 16-byte header
 *                  (k = 0: fp16 d | fp16 dmin; k = 1..3: the 12 bytes of 6-bit scales/mins)
 *   Q[32] x 64 B   Q[8c + j] int32 lane r = bytes 32c + 4j .. 32c + 4j + 3 of row r's qs:
 *                  low nibbles = values 64c + 4j..+3 (sub-block 2c),
 *                  high nibbles = values 64c + 32 + 4j..+3 (sub-block 2c + 1)
 *
 * The kernel keeps one output row in each lane: a 64-byte load gives 4 quants of 16 rows;
 * the 4 activation bytes they multiply are broadcast from the Q8_K row into vpdpbusd; 4
 * loads make one group of 16 values (|t| <= 16 * 15 * 128 < 2^15), which vpdpwssd scales
 * by the sub-block's 6-bit scale into S1. S2 (mins x the activation's group sums) is 4
 * vpdpwssd per column. The float steps are those of kquants_impl.h, per lane, so every
 * (row, column) gets the bits of the plain kernels at every level (tested with memcmp).
 */
#include <string.h>

#include "kquants_impl.h"

enum { PK_ROWS = KERN_PACK_ROWS, PK_BLOCK = 144, PK_HDR = 16 };

size_t kq_packed_bytes(int64_t n, int64_t n_rows) {
    return (size_t)((n_rows + PK_ROWS - 1) / PK_ROWS) * PK_ROWS * (size_t)(n / KQ_K) * PK_BLOCK;
}

/* Groups [g0, g1) of w (n values per row, row_bytes apart) into dst (laid out above), a
 * dword at a time: the reference for the AVX-512 form below, and the last group's padding. */
void kq_pack_q4k_ref(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    const int64_t nb = n / KQ_K;
    const size_t group_bytes = (size_t)PK_ROWS * (size_t)nb * PK_BLOCK;
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *o = dst + (size_t)g * group_bytes;
        for (int64_t b = 0; b < nb; b++, o += PK_ROWS * PK_BLOCK)
            for (int r = 0; r < PK_ROWS; r++) {
                int64_t row = g * PK_ROWS + r;
                const uint8_t *src = row < n_rows ? w + (size_t)row * row_bytes + (size_t)b * PK_BLOCK : NULL;
                for (int k = 0; k < 4; k++)   /* header dwords */
                    if (src) memcpy(o + 64 * k + 4 * r, src + 4 * k, 4);
                    else memset(o + 64 * k + 4 * r, 0, 4);
                for (int q = 0; q < 32; q++)   /* quant dwords, already in (c, j) order */
                    if (src) memcpy(o + 256 + 64 * q + 4 * r, src + PK_HDR + 4 * q, 4);
                    else memset(o + 256 + 64 * q + 4 * r, 0, 4);
            }
    }
}

#if defined(__x86_64__)
#include "q4k_hdr512.h"
#include "transpose512.h"

#define PK_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")))
#define PK_INLINE static inline __attribute__((always_inline)) PK_TARGET

PK_INLINE void pack_put(uint8_t *o, __m512i v, bool nt) {
    if (nt) _mm512_stream_si512((void *)o, v);
    else _mm512_storeu_si512(o, v);
}

/* One full group (16 rows at w) into o. The packed super-block is the 16 rows' 36 dwords
 * transposed (vector k = dword k of every row: H[0..3] then Q[0..31]), so two 16 x 16
 * transposes and four gathers instead of 576 dword copies: 5.4 -> 14 GB/s a thread from
 * memory to memory already touched, 22 with streaming stores (nt: o 64-byte aligned; the
 * copy is not read again until the first product). The bytes of kq_pack_q4k_ref. */
PK_TARGET static void pack_group16(int64_t nb, const uint8_t *w, size_t row_bytes, uint8_t *o, bool nt) {
    const __m512i off = rows16_offsets(row_bytes);
    for (int64_t b = 0; b < nb; b++, o += PK_ROWS * PK_BLOCK) {
        const uint8_t *s = w + (size_t)b * PK_BLOCK;
        _Pragma("GCC unroll 2")
        for (int half = 0; half < 2; half++) {   /* dwords 0..15, then 16..31 */
            __m512i R[16], T[16];
            _Pragma("GCC unroll 16")
            for (int r = 0; r < 16; r++) R[r] = _mm512_loadu_si512(s + (size_t)r * row_bytes + 64 * half);
            transpose16(R, T);
            _Pragma("GCC unroll 16")
            for (int k = 0; k < 16; k++) pack_put(o + 64 * (16 * half + k), T[k], nt);
        }
        _Pragma("GCC unroll 4")
        for (int k = 32; k < 36; k++) pack_put(o + 64 * k, _mm512_i32gather_epi32(off, s + 4 * k, 1), nt);
    }
}

void kq_pack_q4k(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    const int64_t nb = n / KQ_K;
    const size_t group_bytes = (size_t)PK_ROWS * (size_t)nb * PK_BLOCK;
    int64_t g = g0;
    /* gather offsets are int32: row_bytes * 15 fits for any row of at most 2^24 values */
    const bool nt = ((uintptr_t)dst & 63) == 0;   /* group_bytes is a multiple of 64 */
    if (row_bytes <= INT32_MAX / PK_ROWS)
        for (; g < g1 && (g + 1) * PK_ROWS <= n_rows; g++)
            pack_group16(nb, w + (size_t)g * PK_ROWS * row_bytes, row_bytes, dst + (size_t)g * group_bytes, nt);
    if (nt) _mm_sfence();   /* streaming stores are not ordered by the pool's release of the job */
    kq_pack_q4k_ref(n, w, row_bytes, n_rows, dst, g, g1);   /* a last group with padding rows */
}

enum { PK_COLS = 8 };   /* columns per pass over a group's weights */
/* from this many columns the unpacked panels of kquants_avx512.c (built once per tile,
 * then every column passes over them) beat unpacking the nibbles per group of columns */
enum { PK_PANEL_MIN = 9 };

/* The 16 rows' scales, mins, d and -dmin from the super-block's 4 header vectors */
PK_INLINE q4k_hdr16 header(const uint8_t *p) {
    return q4k_hdr16_decode(_mm512_loadu_si512(p), _mm512_loadu_si512(p + 64), _mm512_loadu_si512(p + 128),
                            _mm512_loadu_si512(p + 192));
}

/* acc[c] (16 rows) += columns 0..NC-1 of a over the nb super-blocks at p (NC a constant
 * in every inlined copy, so the accumulators stay in registers) */
PK_INLINE void panel_cols(int64_t nb, const uint8_t *p, const uint8_t *a, size_t as, __m512 *acc, const int NC) {
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    /* Decode is bound by how fast the core gets through a super-block's instructions while
     * the stream arrives (kernels_bench: every op removed from the step raised GB/s from
     * memory). So for few columns: the high nibbles stay in place (16 x the value, <= 240)
     * and each column's 16-value sum is shifted back once (exactly: every term is a multiple
     * of 16), 1 op per column instead of 4 shifts per 4 loads; and S1 is two accumulators
     * (low and high sub-blocks), two chains of 8 vpdpwssd instead of one of 16. Integer sums
     * in another order: the same bits. From 4 columns the per-column shifts cost more. */
    const bool few = NC < 4;
    for (int64_t b = 0; b < nb; b++, p += PK_ROWS * PK_BLOCK) {
        /* decode: ask for the step after next (4.5 KiB ahead): +5 % tok/s on the 1.5B Q4_K_M,
         * +10-20 % GB/s in kernels_bench, each A/B interleaved; the stream is sequential,
         * but every pass of the pool starts new ones and the hardware ramps up slowly.
         * The 36 lines are asked for a few at a time through the step (its header's 4 here,
         * 4 with each 256 bytes of quants below), not in one burst at its start: the 1.5B
         * Q4_K_M decode +2-8 % (three A/B sessions); bench/kernel_ab.sh x1.03-1.08 with the
         * matrices read in order, x0.97-1.01 scattered (docs/kernels.md). Asking for one line
         * only (a hint for the hardware) lost 10 % in the model: a product starts cold.
         * And each 256 bytes asks for the bytes 1 KiB on into L1 (already asked for by
         * kern_prefetch), so the loads that the products wait on hit L1: kernel_ab x1.01-1.05 on three
         * shapes; bench/stream_work's loops with 2-4 products per line read 4-5 % more. */
        const uint8_t *ahead = p + 2 * PK_ROWS * PK_BLOCK;
        if (NC == 1) kern_prefetch(ahead, 256), kern_prefetch_l1(p + 1024, 256);
        q4k_hdr16 h = header(p);
        const uint8_t *ab = a + b * KQ_Q8K_BYTES;
        __m512i S1[PK_COLS], S1h[PK_COLS];
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) S1[c] = S1h[c] = _mm512_setzero_si512();
        _Pragma("GCC unroll 4")
        for (int c4 = 0; c4 < 4; c4++) {
            __m512i scl = byte_of(c4 < 2 ? h.sc03 : h.sc47, (2 * c4) % 4);
            __m512i sch = byte_of(c4 < 2 ? h.sc03 : h.sc47, (2 * c4 + 1) % 4);
            _Pragma("GCC unroll 2")
            for (int half = 0; half < 2; half++) {
                __m512i lo[4], hi[4];
                if (NC == 1)
                    kern_prefetch(ahead + 256 + 64 * (8 * c4 + 4 * half), 256),
                        kern_prefetch_l1(p + 1024 + 256 + 64 * (8 * c4 + 4 * half), 256);
                _Pragma("GCC unroll 4")
                for (int j = 0; j < 4; j++) {
                    __m512i v = _mm512_loadu_si512(p + 256 + 64 * (8 * c4 + 4 * half + j));
                    lo[j] = _mm512_and_si512(v, m4);
                    hi[j] = few ? _mm512_andnot_si512(m4, v) : _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
                }
                const int k0 = 64 * c4 + 16 * half;   /* first value of the low group */
                _Pragma("GCC unroll 8")
                for (int c = 0; c < NC; c++) {
                    const uint8_t *qa = ab + c * as + KQ_Q8K_QS + k0;
                    __m512i tl = _mm512_setzero_si512(), th = _mm512_setzero_si512();
                    _Pragma("GCC unroll 4")
                    for (int j = 0; j < 4; j++) {
                        tl = kern_dpbusd_b4(tl, lo[j], qa + 4 * j);
                        th = kern_dpbusd_b4(th, hi[j], qa + 32 + 4 * j);
                    }
                    if (few) {
                        th = _mm512_srai_epi32(th, 4);
                        S1[c] = _mm512_dpwssd_epi32(S1[c], tl, scl);
                        S1h[c] = _mm512_dpwssd_epi32(S1h[c], th, sch);
                    } else
                        S1[c] = _mm512_dpwssd_epi32(_mm512_dpwssd_epi32(S1[c], tl, scl), th, sch);
                }
            }
        }
        _Pragma("GCC unroll 8")
        for (int c = 0; c < NC; c++) acc[c] = q4k_col_step(acc[c], &h, few ? _mm512_add_epi32(S1[c], S1h[c]) : S1[c], ab + c * as);
    }
}

/* The kern_mm_fn of packed Q4_K: w is the packed group holding row 0 of the tile (the tile's
 * rows start at a multiple of 16), ws the bytes of one group. */
PK_TARGET void kq_mm_q4k_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                                       int nc, float *out, size_t os) {
    if (nc >= PK_PANEL_MIN) {
        kq_prefill_q4k_packed_avx512(n, w, ws, nr, a, as, nc, out, os);
        return;
    }
    const int64_t nb = n / KQ_K;
    for (int r0 = 0; r0 < nr; r0 += PK_ROWS) {
        const uint8_t *p = w + (size_t)(r0 / PK_ROWS) * ws;
        const __mmask16 keep = nr - r0 >= PK_ROWS ? (__mmask16)0xffff : (__mmask16)((1u << (nr - r0)) - 1);
        for (int c0 = 0; c0 < nc; c0 += PK_COLS) {
            const int m = nc - c0 < PK_COLS ? nc - c0 : PK_COLS;
            __m512 acc[PK_COLS];
            _Pragma("GCC unroll 8")
            for (int c = 0; c < PK_COLS; c++) acc[c] = _mm512_setzero_ps();
            const uint8_t *ac = a + (size_t)c0 * as;
            switch (m) {
            case 1: panel_cols(nb, p, ac, as, acc, 1); break;   /* decode */
            case 2: panel_cols(nb, p, ac, as, acc, 2); break;
            case 3: panel_cols(nb, p, ac, as, acc, 3); break;
            case 4: panel_cols(nb, p, ac, as, acc, 4); break;
            case 5: panel_cols(nb, p, ac, as, acc, 5); break;
            case 6: panel_cols(nb, p, ac, as, acc, 6); break;
            case 7: panel_cols(nb, p, ac, as, acc, 7); break;
            default: panel_cols(nb, p, ac, as, acc, 8); break;
            }
            for (int c = 0; c < m; c++) _mm512_mask_storeu_ps(out + (size_t)(c0 + c) * os + r0, keep, acc[c]);
        }
    }
}

/* Two tiles' decode (kern_dec2_fn): panel_cols one super-block at a time on each */
#define Q4K_STEP(g, s, a, acc) panel_cols(1, (g) + (s) * PK_ROWS * PK_BLOCK, (a) + (s) * KQ_Q8K_BYTES, 0, acc, 1)
PK_TARGET void kq_dec2_q4k_packed_avx512(int64_t n, size_t ws, const uint8_t *wa, int nr_a, const uint8_t *aa, float *out_a,
                                         const uint8_t *wb, int nr_b, const uint8_t *ab, float *out_b) {
    KERN_DEC2_BODY(n / KQ_K, Q4K_STEP, kq_mm_q4k_packed_avx512);
}
#endif
