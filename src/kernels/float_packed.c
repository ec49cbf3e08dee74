/* float_packed.c - F16, BF16 and F32 weights repacked at load into 16-row panels, and their
 * AVX-512 kernels (decode and prefill): an outer product, one output row per lane.
 *
 * Why: the plain F16 kernel (float.c) takes dot products, 4 rows x 4 columns of 16-value
 * partial sums reduced at the end; in L1 that shape reached ~65 % of the FMA peak and a
 * 512-token prompt of an F16 1.5B ran at 0.70x the other engine (docs/kernels.md). Here a
 * 64-byte load of the panel is 16 rows' values at one k, and each column's x[k] is
 * broadcast into the FMA: 3 row groups x 8 columns = 24 accumulators, per k 3 loads, 8
 * broadcasts and 24 FMAs, no reduction (~90 % of the peak in L1).
 *
 * Layout of a packed matrix (the same bytes as the file): rows are taken 16 at a time (the
 * last group padded with zero rows); group g starts at g * 16 * n * 2; inside a group, for
 * k = 0 .. n-1, 32 bytes: the fp16 values of rows 0..15 at k. F32: the same with the 16
 * rows' floats, 64 bytes per k (no widening; same order of sums).
 *
 * Arithmetic per (row, column), the same for every tile shape, thread count and column
 * count (so a token alone gets the bits it gets inside a prompt): k is cut into chunks of
 * KP values at absolute positions; within a chunk s = fma(w[k], x[k], s) in k order from
 * s = 0; out = the first chunk's s, then out = out + s for each further chunk. This is not
 * the plain kernel's order (that one sums 16 lanes), so packed and plain F16 agree within
 * the float tolerance, not bit for bit (tests/test_kernels.c states the bound).
 *
 * BF16, where the CPU has AVX512_BF16 (the activations are then rounded to BF16, as for the
 * plain vdpbf16ps kernel, float.c): the same groups, but per pair of k (2i, 2i + 1) 64 bytes,
 * lane r = row r's two values (2i in the low half; past an odd n, 0). Each step is one
 * vdpbf16ps of the 16 rows' pairs with the column's pair broadcast: 32 products per
 * instruction. Per (row, column): s = vdpbf16ps(s, w pair, x pair) in pair order within
 * each chunk (chunks of KERN_FLOAT_CHUNK values, as F16), chunks added in order.
 */
#include "kern_impl.h"

#ifdef KERN_X86
#include <string.h>

#include "transpose512.h"

enum { FP_ROWS = KERN_PACK_ROWS };

static size_t f16p_bytes(int64_t n, int64_t n_rows) {
    return (size_t)((n_rows + FP_ROWS - 1) / FP_ROWS) * FP_ROWS * (size_t)n * 2;
}

/* F32: 16 rows' 64 bytes per k */
static size_t f32p_bytes(int64_t n, int64_t n_rows) { return 2 * f16p_bytes(n, n_rows); }

/* BF16: n rounded up to whole pairs */
static size_t bf16p_bytes(int64_t n, int64_t n_rows) { return f16p_bytes(n + (n & 1), n_rows); }

/* One whole group (16 rows at w) into o, its first `chunks` x 64 bytes of every row: the
 * rows' dwords transposed (vector m = dword m of every row) are F32's slots and BF16's pairs
 * as they are; F16 (half) takes each vector's low halves, then its high ones (one vpermw:
 * value 2m of the 16 rows, then value 2m + 1). The bytes of fp_pack's loop. */
KT_AVX512 static void fp_pack16(const uint8_t *w, size_t row_bytes, uint8_t *o, int64_t chunks, bool half) {
    const __m512i idx = _mm512_set_epi16(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1,
                                         30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    for (int64_t c = 0; c < chunks; c++) {
        __m512i R[16], T[16];
        _Pragma("GCC unroll 16")
        for (int r = 0; r < 16; r++) R[r] = _mm512_loadu_si512(w + (size_t)r * row_bytes + 64 * (size_t)c);
        transpose16(R, T);
        _Pragma("GCC unroll 16")
        for (int m = 0; m < 16; m++)
            _mm512_storeu_si512(o + 64 * (16 * (size_t)c + m), half ? _mm512_permutexvar_epi16(idx, T[m]) : T[m]);
    }
}

/* Groups [g0, g1) of w (n values of es bytes per row, row_bytes apart) into dst, laid out
 * above: value k of row r at slot k * 16 + r, or with pairs (BF16, n rounded up to even)
 * at slot (k / 2) * 32 + 2 r + k % 2; rows past n_rows and values past n are 0. es and
 * pairs are constants in each wrapper below (the packing is most of an F16 model's load).
 * fast: whole groups' whole 64-byte chunks through fp_pack16, the rest value by value;
 * false: all value by value (the reference, kern_fp_pack_ref). */
static inline __attribute__((always_inline)) void fp_pack(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows,
                                                          uint8_t *dst, int64_t g0, int64_t g1, const size_t es,
                                                          const bool pairs, bool fast) {
    const int64_t kn = pairs ? n + (n & 1) : n;
    for (int64_t g = g0; g < g1; g++) {
        uint8_t *o = dst + (size_t)g * FP_ROWS * (size_t)kn * es;
        int64_t k0 = 0;
        if (fast && (g + 1) * FP_ROWS <= n_rows) {
            const int64_t chunks = n * (int64_t)es / 64;
            fp_pack16(w + (size_t)g * FP_ROWS * row_bytes, row_bytes, o, chunks, es == 2 && !pairs);
            k0 = chunks * 64 / (int64_t)es;
        }
        for (int r = 0; r < FP_ROWS; r++) {
            const int64_t row = g * FP_ROWS + r;
            const uint8_t *src = row < n_rows ? w + (size_t)row * row_bytes : NULL;
            for (int64_t k = k0; k < kn; k++) {
                const size_t slot = pairs ? (size_t)(k / 2) * 2 * FP_ROWS + 2 * (size_t)r + (size_t)(k & 1)
                                          : (size_t)k * FP_ROWS + (size_t)r;
                if (src && k < n) memcpy(o + slot * es, src + (size_t)k * es, es);
                else memset(o + slot * es, 0, es);
            }
        }
    }
}

void kern_fp_pack_ref(seek_type t, int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst, int64_t g0,
                      int64_t g1) {
    if (t == SEEK_TYPE_F32) fp_pack(n, w, rb, n_rows, dst, g0, g1, 4, false, false);
    else fp_pack(n, w, rb, n_rows, dst, g0, g1, 2, t == SEEK_TYPE_BF16, false);
}

static void f16p_pack(int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    fp_pack(n, w, rb, n_rows, dst, g0, g1, 2, false, true);
}
static void bf16p_pack(int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    fp_pack(n, w, rb, n_rows, dst, g0, g1, 2, true, true);
}
static void f32p_pack(int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1) {
    fp_pack(n, w, rb, n_rows, dst, g0, g1, 4, false, true);
}

/* k chunk: a prompt's pass keeps a chunk of its 3 groups (3 x 16 KiB) in L1 while the
 * columns go by, and the chunk's activations of the tile's columns in L2 */
enum { KP = KERN_FLOAT_CHUNK, FP_G = 3, FP_NC = 8 };
enum { FP_F16, FP_BF16, FP_F32 };   /* the weight type of a copy of the kernel */

/* vdpbf16ps as inline assembly, not the intrinsic: the one kernel body below serves F16 and
 * F32 too, on CPUs without AVX512_BF16, and clang refuses to inline an AVX512_BF16 function
 * into one compiled without that feature even where T makes the branch dead. Only bf16p_mm
 * reaches these, and it is chosen only when the CPU reports avx512_bf16. */

/* acc + vdpbf16ps(w, the column's pair of BF16 values at p broadcast to every lane), the
 * broadcast embedded in the instruction (as kern_dpbusd_b4) */
KT_AVX512 KINLINE __m512 dpbf16_b2(__m512 acc, __m512 w, const void *p) {
    __asm__("vdpbf16ps %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t *)p));
    return acc;
}

/* acc + vdpbf16ps(w, x), both operands in registers */
KT_AVX512 KINLINE __m512 dpbf16_v(__m512 acc, __m512 w, __m512 x) {
    __asm__("vdpbf16ps %2, %1, %0" : "+v"(acc) : "v"(w), "v"(x));
    return acc;
}

/* Rows of G groups (at p, ws bytes apart) x NC columns of the activations at a (as bytes
 * apart; F32, or BF16 pairs for FP_BF16), k in [k0, k1): acc[g][c] as laid out above, then
 * written to (first chunk) or added to out. keep: the live rows of the last group. G, NC,
 * T (FP_F16, FP_BF16, FP_F32) constants in every inlined copy. */
KT_AVX512 KINLINE void fp_block(const uint8_t *p, size_t ws, const uint8_t *a, size_t as, int64_t k0, int64_t k1,
                                    float *out, size_t os, __mmask16 keep, const int G, const int NC, const int T) {
    __m512 acc[4][FP_NC];
    _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)
        _Pragma("GCC unroll 8") for (int c = 0; c < NC; c++) acc[g][c] = _mm512_setzero_ps();
    if (T != FP_BF16) {
        const float *x = (const float *)(const void *)a;
        const size_t xs = as / sizeof(float), step = T == FP_F32 ? 64 : 32;   /* bytes per k */
        for (int64_t k = k0; k < k1; k++) {
            __m512 wv[4];
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                const uint8_t *pg = p + (size_t)g * ws + (size_t)k * step;
                /* decode streams the groups from memory: the line 2 KiB on, once per line */
                if (NC == 1 && (T == FP_F32 || !(k & 1))) _mm_prefetch((const char *)pg + 2048, _MM_HINT_T1);
                wv[g] = T == FP_F32 ? _mm512_loadu_ps((const float *)(const void *)pg)
                                    : _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(const void *)pg));
            }
            _Pragma("GCC unroll 8") for (int c = 0; c < NC; c++) {
                const __m512 xb = _mm512_set1_ps(x[(size_t)c * xs + (size_t)k]);
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) acc[g][c] = _mm512_fmadd_ps(wv[g], xb, acc[g][c]);
            }
        }
    } else {
        /* pairs [k0/2, k1/2) (k0 even), then a last single value of an odd n */
        int64_t i = k0 / 2;
        for (; 2 * i + 1 < k1; i++) {
            __m512 wv[4];
            _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
                const uint8_t *pg = p + (size_t)g * ws + (size_t)i * 64;
                if (NC == 1) _mm_prefetch((const char *)pg + 2048, _MM_HINT_T1);
                wv[g] = _mm512_castsi512_ps(_mm512_loadu_si512(pg));
            }
            _Pragma("GCC unroll 8") for (int c = 0; c < NC; c++) {
                const uint8_t *xp = a + (size_t)c * as + (size_t)i * 4;
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) acc[g][c] = dpbf16_b2(acc[g][c], wv[g], xp);
            }
        }
        if (2 * i < k1) {   /* odd n: the pair (x[n-1], 0); the row's pad value is 0 too */
            _Pragma("GCC unroll 8") for (int c = 0; c < NC; c++) {
                const __m512 xb = _mm512_castsi512_ps(_mm512_set1_epi32(kern_rd16(a + (size_t)c * as + (size_t)i * 4)));
                _Pragma("GCC unroll 4") for (int g = 0; g < G; g++)
                    acc[g][c] = dpbf16_v(acc[g][c], _mm512_castsi512_ps(_mm512_loadu_si512(p + (size_t)g * ws + (size_t)i * 64)), xb);
            }
        }
    }
    _Pragma("GCC unroll 4") for (int g = 0; g < G; g++) {
        const __mmask16 m = g == G - 1 ? keep : (__mmask16)0xFFFF;
        _Pragma("GCC unroll 8") for (int c = 0; c < NC; c++) {
            float *o = out + (size_t)c * os + (size_t)g * FP_ROWS;
            const __m512 v = k0 ? _mm512_add_ps(_mm512_maskz_loadu_ps(m, o), acc[g][c]) : acc[g][c];
            _mm512_mask_storeu_ps(o, m, v);
        }
    }
}

#define FP_CASE_NC(G, NC) \
    case NC: fp_block(p, ws, x, as, k0, k1, o, os, keep, G, NC, T); break;
#define FP_SWITCH_NC(G)                                                                                      \
    switch (m) {                                                                                              \
        FP_CASE_NC(G, 1) FP_CASE_NC(G, 2) FP_CASE_NC(G, 3) FP_CASE_NC(G, 4) FP_CASE_NC(G, 5) FP_CASE_NC(G, 6) \
        FP_CASE_NC(G, 7) default : fp_block(p, ws, x, as, k0, k1, o, os, keep, G, 8, T);                     \
    }

/* The kern_mm_fn of packed F16 / BF16 / F32 (T): w is the packed group holding row 0 of the
 * tile, ws the bytes of one group, a the activations (as bytes apart). Chunks of k
 * outermost, then blocks of up to 3 groups (decode: 4), then columns 8 at a time. */
KT_AVX512 KINLINE void fp_mm(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                 float *out, size_t os, const int T) {
    const int groups = (nr + FP_ROWS - 1) / FP_ROWS;
    /* decode: every group of the tile in one block, so up to 4 chains run side by side */
    const int gmax = nc == 1 ? 4 : FP_G;
    for (int64_t k0 = 0; k0 < n; k0 += KP) {
        const int64_t k1 = n - k0 < KP ? n : k0 + KP;
        for (int g0 = 0; g0 < groups; g0 += gmax) {
            const int G = groups - g0 < gmax ? groups - g0 : gmax;
            const int last = nr - (g0 + G - 1) * FP_ROWS;   /* live rows of the block's last group */
            const __mmask16 keep = last >= FP_ROWS ? (__mmask16)0xFFFF : (__mmask16)((1u << last) - 1);
            const uint8_t *p = w + (size_t)g0 * ws;
            for (int c0 = 0; c0 < nc; c0 += FP_NC) {
                const int m = nc - c0 < FP_NC ? nc - c0 : FP_NC;
                const uint8_t *x = a + (size_t)c0 * as;
                float *o = out + (size_t)c0 * os + (size_t)g0 * FP_ROWS;
                if (G == 4) fp_block(p, ws, x, as, k0, k1, o, os, keep, 4, 1, T);   /* nc == 1 only */
                else if (G == 3) { FP_SWITCH_NC(3) }
                else if (G == 2) { FP_SWITCH_NC(2) }
                else { FP_SWITCH_NC(1) }
            }
        }
    }
}

KT_AVX512 static void f16p_mm(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                              float *out, size_t os) {
    fp_mm(n, w, ws, nr, a, as, nc, out, os, FP_F16);
}

KT_AVX512 static void f32p_mm(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                              float *out, size_t os) {
    fp_mm(n, w, ws, nr, a, as, nc, out, os, FP_F32);
}

KT_AVX512 static void bf16p_mm(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                   float *out, size_t os) {
    fp_mm(n, w, ws, nr, a, as, nc, out, os, FP_BF16);
}

static const kern_packed f16_packed = {f16p_bytes, f16p_pack, f16p_mm, NULL};
static const kern_packed bf16_packed = {bf16p_bytes, bf16p_pack, bf16p_mm, NULL};
static const kern_packed f32_packed = {f32p_bytes, f32p_pack, f32p_mm, NULL};
#endif

const kern_packed *kern_float_packed(seek_type t, kern_level l) {
#ifdef KERN_X86
    if (t == SEEK_TYPE_F16 && l == KERN_AVX512) return &f16_packed;
    if (t == SEEK_TYPE_F32 && l == KERN_AVX512) return &f32_packed;
    /* BF16: with the vdpbf16ps entry's BF16 activations (float.c) only */
    if (t == SEEK_TYPE_BF16 && l == KERN_AVX512 && kern_cpu_has_bf16()) return &bf16_packed;
#endif
    (void)t, (void)l;
    return NULL;
}
