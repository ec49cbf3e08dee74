/* kernels.h - the hot loops of the forward pass: matrix products of quantized weights with
 * activations, per tensor type and per CPU level.
 *
 * The contract every kernel meets (ops.c's matmul() is its only caller):
 *   1. activations x[T][C] are first converted, row by row, to the weight type's
 *      "activation type" (kern_entry.act_type: F32, Q8_0, Q8_1, Q8_K, BF16, ...) by
 *      kern_entry.quant, into a scratch buffer (kern_act_row_bytes(e, C) bytes per row);
 *      act_type F32 with quant NULL: x itself is passed (a_stride = C floats);
 *   2. kern_entry.mm computes a tile of the product:
 *        out[c * out_stride + r] = dot(weight row r, activation row c)
 *      for r < n_rows (rows w + r * w_stride) and c < n_cols (rows a + c * a_stride),
 *      n = C values per row. The kernel chooses its own register blocking inside the tile
 *      (e.g. 4 weight rows x 4 columns, so one weight block load feeds several tokens);
 *      matmul() cuts the whole product into tiles and spreads them over the thread pool.
 *   Decode is n_cols == 1. A kernel must give the same bits for a given (row, column)
 *   whatever tile it falls in, so results do not depend on the thread count.
 *
 * CPU levels (chosen once from CPUID; SEEK_CPU=scalar|avx2|avx512 forces a lower one, so
 * every level is tested on one machine; AMX, where present, is used inside KERN_AVX512 and
 * turned off by SEEK_CPU=avx512: kern_cpu_amx()). Kernels for AVX2/AVX-512 are compiled with
 * function-level target attributes, so `make PORTABLE=1` binaries still contain them and
 * pick them at run time.
 *   KERN_SCALAR  plain C
 *   KERN_AVX2    AVX2 + FMA + F16C
 *   KERN_AVX512  AVX-512 F/BW/VL/DQ + VNNI (BF16 dot used when kern_cpu_has_bf16())
 */
#ifndef SEEK_KERNELS_H
#define SEEK_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../dtype.h"

typedef enum { KERN_SCALAR = 0, KERN_AVX2 = 1, KERN_AVX512 = 2, KERN_LEVELS = 3 } kern_level;

/* Convert one activation row x[n] to the activation type (n a multiple of its block). */
typedef void (*kern_quant_fn)(const float *x, void *y, int64_t n);
/* One tile of the product (see above). */
typedef void (*kern_mm_fn)(int64_t n, const uint8_t *w, size_t w_stride, int n_rows, const uint8_t *a,
                           size_t a_stride, int n_cols, float *out, size_t out_stride);

typedef struct {
    seek_type act_type;   /* what activations are converted to (SEEK_TYPE_F32: x is used as is) */
    kern_quant_fn quant;
    kern_mm_fn mm;
} kern_entry;

/* Packed weights (optional, per type and level): a kernel may want the matrix rearranged
 * once at load (src/repack.c), KERN_PACK_ROWS rows at a time (the last group padded with
 * zero rows), group g at g * bytes(n, KERN_PACK_ROWS). pack() writes groups [g0, g1) of a
 * matrix of n_rows rows of n values (row_bytes apart); mm() is a kern_mm_fn that takes the
 * tile's first group as w and the group size as w_stride (tiles start at a multiple of
 * KERN_PACK_ROWS rows), with the activations of the type's kern_entry. It gives the bits
 * of kern_entry.mm for every (row, column), except packed F16, BF16 and F32 (below). */
enum { KERN_PACK_ROWS = 16 };
/* Decode (one column) of two packed tiles at once: nr_a rows from group wa with activation
 * row aa into out_a, and nr_b rows from wb with ab into out_b (both n values per row, ws
 * bytes per group), their steps interleaved so that each thread keeps two memory streams in
 * flight. Every row gets the bits of mm's decode. */
typedef void (*kern_dec2_fn)(int64_t n, size_t ws, const uint8_t *wa, int nr_a, const uint8_t *aa, float *out_a,
                             const uint8_t *wb, int nr_b, const uint8_t *ab, float *out_b);
typedef struct {
    size_t (*bytes)(int64_t n, int64_t n_rows);
    void (*pack)(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1);
    kern_mm_fn mm;
    kern_dec2_fn dec2;   /* NULL: tiles one at a time */
} kern_packed;
/* Packed F16, BF16 and F32 (AVX-512) are the exception to "the bits of kern_entry.mm": they sum
 * each (row, column) in k order, one fma (BF16: one vdpbf16ps per pair) at a time, within
 * chunks of KERN_FLOAT_CHUNK values at absolute positions, and add the chunks' sums in order
 * (kernels/float_packed.c). */
enum { KERN_FLOAT_CHUNK = 512 };
/* The packed form of `type` at the current level (or at l), or NULL where there is none. */
const kern_packed *kern_packed_for(seek_type type);
const kern_packed *kern_packed_for_level(seek_type type, kern_level l);

/* Bytes matmul() reserves per converted activation row of n values, rounded up to 64:
 * seek_row_size(act_type, n), or more where a kernel keeps act_type's values in its own
 * arrangement (the AVX-512 legacy kernels regroup Q8_0 / Q8_1 blocks by 4). */
size_t kern_act_row_bytes(const kern_entry *e, int64_t n);

/* The best level this CPU supports, lowered by SEEK_CPU (read once). */
kern_level kern_cpu_level(void);
const char *kern_level_name(kern_level l);
bool kern_cpu_has_bf16(void);
/* Force a level (tests); returns the previous one. A level above the CPU's is clamped. */
kern_level kern_set_level(kern_level l);
/* The best level the hardware supports (SEEK_CPU ignored). */
kern_level kern_cpu_max_level(void);
/* AMX tiles (amx_tile + amx_int8) reported by the CPU. */
bool kern_cpu_has_amx(void);
/* Whether the tile kernels are in use: the CPU has AMX, Linux granted the tile state, the
 * level is KERN_AVX512 and SEEK_CPU did not ask for avx512 or lower. They give the AVX-512
 * kernels' bits. kern_set_amx (tests) turns them off or back on (never on without AMX) and
 * returns the previous setting. */
bool kern_cpu_amx(void);
bool kern_set_amx(bool on);
/* AVX-VNNI (vpdpbusd on ymm) reported by the CPU; whether the AVX2 level uses it now (the
 * CPU has it, the level is KERN_AVX2, SEEK_CPU did not ask for avx2: the packed legacy
 * types' dots and packed Q4_K's prefill, same bits as without); kern_set_avxvnni (tests) turns it off or back on
 * (never on without the instruction) and returns the previous setting. */
bool kern_cpu_has_avxvnni(void);
bool kern_cpu_avxvnni(void);
bool kern_set_avxvnni(bool on);
/* Tests: the packed form of a legacy type (Q8_0 ... IQ4_NL), Q4_K, Q5_K or Q6_K whose prefill runs the
 * AMX tile kernel with the tile instructions emulated in C (kernels/amx.h), on any AVX-512
 * CPU; NULL for other types or without AVX-512. */
const kern_packed *kern_packed_amx_emulated(seek_type type);
/* 16-column chunks run by the tile kernels so far in this process, emulated or not (tests:
 * that a prefill took the tiles) */
long kern_amx_chunks(void);

/* Decode (one column) streams every weight once, a group of rows at a time. For short rows
 * (up to KERN_PF_MAX_N values: the hidden size of the 1.5B-8B and V2-Lite models) the
 * hardware prefetcher falls behind, measured: each group visits its rows block by block, so
 * it jumps by a row length inside a few 4 KiB pages, and every group starts cold. The
 * decode loops therefore ask for the next group's bytes (contiguous after the current
 * group), as many per step as the step consumes: +20-30 % weight GB/s at 1536-2048 values per
 * row (Q4_K, Q6_K, Q8_0, bench/kquants_bench.c), none for 8960. */
enum { KERN_PF_MAX_N = 4096 };
static inline void kern_prefetch(const void *p, size_t n) {
    /* prefetchnta: these weights are read once. On the AMD EPYC of the fourteenth session
     * decode ran faster than with prefetcht1 in every one of 15 alternated seek bench pairs
     * (1.5B Q4_K_M x1.04-1.24, Q8_0 x1.01-1.07, V2-Lite x1.04-1.20; docs/kernels.md); on the
     * Xeons the hint had made no difference. Unrolled: a loop of prefetches (4 instructions
     * per line) took ~1/3 of the packed Q4_K decode step's instructions; unrolled, that
     * kernel read +6 % GB/s (kernels_bench, A/B) */
    _Pragma("GCC unroll 64")
    for (size_t o = 0; o < n; o += 64) __builtin_prefetch((const char *)p + o, 0, 0);
}

/* The same into L1 (prefetcht0), for lines a few hundred bytes ahead that kern_prefetch
 * has already asked for */
static inline void kern_prefetch_l1(const void *p, size_t n) {
    _Pragma("GCC unroll 64")
    for (size_t o = 0; o < n; o += 64) __builtin_prefetch((const char *)p + o, 0, 3);
}

/* The kernel for weights of `type` at the current level, or NULL when there is none
 * (matmul() then uses the reference path of ops.c). */
const kern_entry *kern_for(seek_type type);
/* The same at an explicit level (tests compare levels against each other). */
const kern_entry *kern_for_level(seek_type type, kern_level l);

#endif
