/* kern_impl.h - what the kernel files share (not part of the public contract).
 *
 * Every SIMD function carries its own target attribute, so the files compile with the
 * build's generic flags (PORTABLE=1 or not) and still hold the AVX2 / AVX-512 code; the
 * table in kernels.c only hands such a function out when the CPU level allows it. */
#ifndef SEEK_KERN_IMPL_H
#define SEEK_KERN_IMPL_H

#include <string.h>

#include "kernels.h"

#if defined(__x86_64__) || defined(__i386__)
#define KERN_X86 1
#include <immintrin.h>
#define KT_AVX2 __attribute__((target("avx2,fma,f16c")))
#define KT_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")))
#define KT_AVX512BF16 \
    __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx512bf16")))
/* acc + vpdpbusd(w, the 4 bytes at p in every int32 lane), the broadcast embedded in the
 * instruction ({1to16}): one micro-fused instruction where vpbroadcastd + vpdpbusd are two
 * (GCC 12 does not fold it). Packed decode is bound by instructions per weight byte: in
 * packed Q4_K this took 64 of ~300 instructions per super-block out: from memory 25.5 -> 27.3
 * GB/s (kernels_bench, median of 3 alternations). */
static inline __attribute__((always_inline)) KT_AVX512 __m512i kern_dpbusd_b4(__m512i acc, __m512i w, const void *p) {
    __asm__("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(w), "m"(*(const int32_t *)p));
    return acc;
}
#endif

#define KINLINE static inline __attribute__((always_inline))

#ifdef KERN_X86
/* The body of a packed type's kern_dec2_fn (kernels.h), for the AVX-512 decode kernels:
 * group by group (16 rows), the NSTEPS steps of tile a's group and of tile b's in turn, so
 * the thread reads two streams at once. STEP(grp, s, act, acc) is the decode kernel's own
 * step s of a group (acc: one __m512, the group's 16 rows), in the order its mm takes them,
 * so each row gets mm's bits; rows of the longer tile past the shorter one go to SINGLE, the
 * type's kern_mm_fn. Why: in a MoE decode pass (a dozen experts of ~1.5 MiB at scattered
 * places) two streams per thread read 1.09-1.12x what one did (bench/moe_pattern;
 * docs/kernels-history.md, "Two streams per thread"). */
#define KERN_DEC2_BODY(NSTEPS, STEP, SINGLE)                                                                  \
    int r0 = 0;                                                                                                \
    for (; r0 < nr_a && r0 < nr_b; r0 += KERN_PACK_ROWS) {                                                    \
        const uint8_t *ga = wa + (size_t)(r0 / KERN_PACK_ROWS) * ws, *gb = wb + (size_t)(r0 / KERN_PACK_ROWS) * ws; \
        __m512 acc_a[1] = {_mm512_setzero_ps()}, acc_b[1] = {_mm512_setzero_ps()};                            \
        for (int64_t s = 0; s < (NSTEPS); s++) {                                                               \
            STEP(ga, s, aa, acc_a);                                                                            \
            STEP(gb, s, ab, acc_b);                                                                            \
        }                                                                                                      \
        const int ka = nr_a - r0 < KERN_PACK_ROWS ? nr_a - r0 : KERN_PACK_ROWS;                                \
        const int kb = nr_b - r0 < KERN_PACK_ROWS ? nr_b - r0 : KERN_PACK_ROWS;                                \
        _mm512_mask_storeu_ps(out_a + r0, (__mmask16)((1u << ka) - 1), acc_a[0]);                              \
        _mm512_mask_storeu_ps(out_b + r0, (__mmask16)((1u << kb) - 1), acc_b[0]);                              \
    }                                                                                                          \
    if (r0 < nr_a) SINGLE(n, wa + (size_t)(r0 / KERN_PACK_ROWS) * ws, ws, nr_a - r0, aa, 0, 1, out_a + r0, 1);   \
    if (r0 < nr_b) SINGLE(n, wb + (size_t)(r0 / KERN_PACK_ROWS) * ws, ws, nr_b - r0, ab, 0, 1, out_b + r0, 1)
#endif
/* Before the row / column loops of a sub-tile: GCC at -O2 would otherwise keep the
 * accumulator array on the stack instead of in registers. */
#define KUNROLL _Pragma("GCC unroll 8")

#ifdef KERN_X86
/* the sum of 32 int8 (AVX2) */
KT_AVX2 KINLINE int hsum_i8_avx2(__m256i q) {
    __m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
    __m128i t = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0x4E));
    t = _mm_add_epi32(t, _mm_shuffle_epi32(t, 0xB1));
    return _mm_cvtsi128_si32(t);
}

/* acc + vpdpbusd(u unsigned, b signed) on ymm in its VEX (AVX-VNNI) form: inline asm, so
 * the AVX2 functions need no avxvnni target; run only where kern_cpu_avxvnni(). "x": the
 * VEX encoding reaches ymm0-15 only. */
KT_AVX2 KINLINE __m256i kern_dpbusd_vex(__m256i acc, __m256i u, __m256i b) {
    __asm__("%{vex%} vpdpbusd %2, %1, %0" : "+x"(acc) : "x"(u), "x"(b));
    return acc;
}

/* 32 bits -> 32 bytes, 0xFF where the bit is set (byte j <- bit j). */
KT_AVX2 KINLINE __m256i bits_to_bytes(uint32_t bits) {
    __m256i v = _mm256_set1_epi32((int)bits);
    v = _mm256_shuffle_epi8(v, _mm256_setr_epi64x(0, 0x0101010101010101LL, 0x0202020202020202LL, 0x0303030303030303LL));
    __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}
#endif

/* Entries of one type family at one level (NULL: none). */
const kern_entry *kern_float(seek_type t, kern_level l);    /* F32 F16 BF16   (float.c) */
const kern_entry *kern_legacy(seek_type t, kern_level l);   /* Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 IQ4_NL */
const kern_entry *kern_kquant(seek_type t, kern_level l);   /* Q2_K .. Q6_K   (kquants*.c) */
const kern_packed *kern_kquant_packed(seek_type t, kern_level l);   /* Q4_K Q5_K Q6_K at AVX2, AVX-512 (kquants_packed*.c) */
const kern_packed *kern_legacy_packed(seek_type t, kern_level l);   /* the legacy.c types at AVX2, AVX-512 (legacy_packed.c) */
const kern_packed *kern_legacy_packed_amx_emulated(seek_type t);   /* the same, AMX part emulated (tests) */
/* F16, BF16 and F32's pack() value by value, the reference of its transposing form (x86) */
void kern_fp_pack_ref(seek_type t, int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst, int64_t g0,
                      int64_t g1);
/* The legacy types' pack(), a few bytes at a time: the reference of its AVX-512 transposing
 * form, and the AVX2 level's packer (plain C, x86) */
void kern_lgp_pack_ref(seek_type t, int64_t n, const uint8_t *w, size_t rb, int64_t n_rows, uint8_t *dst, int64_t g0,
                       int64_t g1);
const kern_packed *kern_float_packed(seek_type t, kern_level l);    /* F16, F32, BF16 at AVX-512 (float_packed.c) */
/* the tile kernels count their 16-column chunks (kern_amx_chunks) */
void kern_amx_count(int chunks);
/* Row bytes of e's activations when e is a legacy.c entry with regrouped rows, else 0. */
size_t kern_legacy_act_row_bytes(const kern_entry *e, int64_t n);

static inline uint16_t kern_rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t kern_rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

/* Register blocking: a tile of n_rows x n_cols is walked in sub-tiles of at most NR x NC,
 * columns outer (the NC activation rows stay in L1 while the weight rows stream past).
 * MK(nr, nc, r0, c0) is expanded with constant nr, nc so the accumulators live in
 * registers; every output element sees the same arithmetic whatever sub-tile it is in. */
#define KERN_TILE_WALK(NR, NC, MK)                                                  \
    for (int c0_ = 0; c0_ < n_cols; c0_ += (NC)) {                                  \
        int nc_ = n_cols - c0_ < (NC) ? n_cols - c0_ : (NC);                        \
        for (int r0_ = 0; r0_ < n_rows; r0_ += (NR)) {                              \
            int nr_ = n_rows - r0_ < (NR) ? n_rows - r0_ : (NR);                    \
            switch (nr_ * 8 + nc_) {                                                \
            case 4 * 8 + 4: MK(4, 4, r0_, c0_); break;                              \
            case 4 * 8 + 3: MK(4, 3, r0_, c0_); break;                              \
            case 4 * 8 + 2: MK(4, 2, r0_, c0_); break;                              \
            case 4 * 8 + 1: MK(4, 1, r0_, c0_); break;                              \
            case 3 * 8 + 4: MK(3, 4, r0_, c0_); break;                              \
            case 3 * 8 + 3: MK(3, 3, r0_, c0_); break;                              \
            case 3 * 8 + 2: MK(3, 2, r0_, c0_); break;                              \
            case 3 * 8 + 1: MK(3, 1, r0_, c0_); break;                              \
            case 2 * 8 + 4: MK(2, 4, r0_, c0_); break;                              \
            case 2 * 8 + 3: MK(2, 3, r0_, c0_); break;                              \
            case 2 * 8 + 2: MK(2, 2, r0_, c0_); break;                              \
            case 2 * 8 + 1: MK(2, 1, r0_, c0_); break;                              \
            case 1 * 8 + 4: MK(1, 4, r0_, c0_); break;                              \
            case 1 * 8 + 3: MK(1, 3, r0_, c0_); break;                              \
            case 1 * 8 + 2: MK(1, 2, r0_, c0_); break;                              \
            default: MK(1, 1, r0_, c0_); break;                                     \
            }                                                                       \
        }                                                                           \
    }

/* The same for wide sub-tiles: at most 3 rows x 8 columns (prefill: the unpacked weights
 * of a row serve 8 columns). */
#define KERN_TILE_WALK_WIDE(NR, NC, MK)                                             \
    _Static_assert((NR) <= 3 && (NC) <= 8, "wide sub-tiles are at most 3 x 8");  \
    for (int c0_ = 0; c0_ < n_cols; c0_ += (NC)) {                                  \
        int nc_ = n_cols - c0_ < (NC) ? n_cols - c0_ : (NC);                        \
        for (int r0_ = 0; r0_ < n_rows; r0_ += (NR)) {                              \
            int nr_ = n_rows - r0_ < (NR) ? n_rows - r0_ : (NR);                    \
            switch (nr_ * 16 + nc_) {                                               \
            case 3 * 16 + 8: MK(3, 8, r0_, c0_); break;                             \
            case 3 * 16 + 7: MK(3, 7, r0_, c0_); break;                             \
            case 3 * 16 + 6: MK(3, 6, r0_, c0_); break;                             \
            case 3 * 16 + 5: MK(3, 5, r0_, c0_); break;                             \
            case 3 * 16 + 4: MK(3, 4, r0_, c0_); break;                             \
            case 3 * 16 + 3: MK(3, 3, r0_, c0_); break;                             \
            case 3 * 16 + 2: MK(3, 2, r0_, c0_); break;                             \
            case 3 * 16 + 1: MK(3, 1, r0_, c0_); break;                             \
            case 2 * 16 + 8: MK(2, 8, r0_, c0_); break;                             \
            case 2 * 16 + 7: MK(2, 7, r0_, c0_); break;                             \
            case 2 * 16 + 6: MK(2, 6, r0_, c0_); break;                             \
            case 2 * 16 + 5: MK(2, 5, r0_, c0_); break;                             \
            case 2 * 16 + 4: MK(2, 4, r0_, c0_); break;                             \
            case 2 * 16 + 3: MK(2, 3, r0_, c0_); break;                             \
            case 2 * 16 + 2: MK(2, 2, r0_, c0_); break;                             \
            case 2 * 16 + 1: MK(2, 1, r0_, c0_); break;                             \
            case 1 * 16 + 8: MK(1, 8, r0_, c0_); break;                             \
            case 1 * 16 + 7: MK(1, 7, r0_, c0_); break;                             \
            case 1 * 16 + 6: MK(1, 6, r0_, c0_); break;                             \
            case 1 * 16 + 5: MK(1, 5, r0_, c0_); break;                             \
            case 1 * 16 + 4: MK(1, 4, r0_, c0_); break;                             \
            case 1 * 16 + 3: MK(1, 3, r0_, c0_); break;                             \
            case 1 * 16 + 2: MK(1, 2, r0_, c0_); break;                             \
            case 1 * 16 + 1: MK(1, 1, r0_, c0_); break;                             \
            default: break;                                                         \
            }                                                                       \
        }                                                                           \
    }

#endif
