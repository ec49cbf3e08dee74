/* legacy512.h - what the AVX-512 kernels of the 32-value block types share (internal to
 * src/kernels/): legacy_avx512.c (the file's layout) and legacy_packed.c (16-row panels
 * made at load). Block layouts: legacy.c; the packed layout: legacy_packed.c. */
#ifndef SEEK_LEGACY512_H
#define SEEK_LEGACY512_H

#include "kern_impl.h"

#ifdef KERN_X86
/* type descriptors: block bytes, offset of qh (0: none), of qs */
typedef enum { L_Q8_0, L_Q4_0, L_Q5_0, L_Q4_1, L_Q5_1, L_IQ4_NL, L_N } ltype;
static const int BB[] = {34, 18, 22, 20, 24, 18}, QH[] = {0, 0, 2, 0, 4, 0}, QS[] = {2, 2, 6, 4, 8, 2};
#define HAS_M(T) ((T) == L_Q4_1 || (T) == L_Q5_1)

/* legacy.c's regrouped activation rows: 160 bytes per 4 blocks; float d of block k at
 * GD + 4k, the offset word / Q8_1 sum at GX + 4k */
enum { GB = 160, GD = 128, GX = 144 };

/* IQ4_NL: the grid + 128 in every 128-bit lane, for vpshufb */
KT_AVX512 KINLINE __m512i iq4nl_grid(void) {
    return _mm512_broadcast_i32x4(_mm_xor_si128(_mm_loadu_si128((const __m128i *)seek_iq4_nl_values), _mm_set1_epi8((char)0x80)));
}

/* int32 start of a block's sum for one column: the offset correction (_0 types) */
KT_AVX512 KINLINE int32_t corr(ltype T, const uint8_t *ag, int k) {
    if (HAS_M(T)) return 0;
    int32_t v;
    memcpy(&v, ag + GX + 4 * k, 4);
    return v;
}
KT_AVX512 KINLINE float rdf(const uint8_t *p) {
    float f;
    memcpy(&f, p, 4);
    return f;
}

/* Byte offset in a group's activations of the 4 values that weight vector j of block k
 * multiplies (vector j holds values 4j..4j+3 of the block: legacy_packed.c) */
static inline int lg_aoff(int k, int j) { return j < 4 ? 16 * k + 4 * j : 64 + 16 * k + 4 * (j - 4); }

/* ---- the packed layout (legacy_packed.c): offsets inside a step of cnt <= 4 blocks ---- */
static inline int lgp_q_bytes(ltype T) { return T == L_Q8_0 ? 512 : 256; }   /* quants of 16 rows, one block */
static inline int lgp_d(int k) { return 32 * k; }
static inline int lgp_m(int cnt, int k) { return 32 * cnt + 32 * k; }
static inline int lgp_h(ltype T, int cnt, int k) { return 32 * cnt * (1 + HAS_M(T)) + 64 * k; }
static inline int lgp_q(ltype T, int cnt, int k) { return 32 * cnt * (1 + HAS_M(T)) + (QH[T] ? 64 * cnt : 0) + lgp_q_bytes(T) * k; }

/* Weight vector j (0..7) of block k of the packed step at p: lane r = the 4 unsigned bytes
 * of row r for values 4j..4j+3 (Q8_0: q + 128; IQ4_NL: grid[q] + 128; others: q). */
KT_AVX512 KINLINE __m512i lgp_vec(ltype T, const uint8_t *p, int cnt, int k, int j) {
    const uint8_t *q = p + lgp_q(T, cnt, k);
    if (T == L_Q8_0) return _mm512_loadu_si512(q + 64 * j);
    __m512i x = _mm512_loadu_si512(q + 64 * (j & 3));
    const __m512i m4 = _mm512_set1_epi8(15);
    __m512i v = _mm512_and_si512(j < 4 ? x : _mm512_srli_epi16(x, 4), m4);
    if (QH[T]) {   /* fifth bits: qword j of the block's mask area, bit 4r + b -> byte b of lane r */
        uint64_t h;
        memcpy(&h, p + lgp_h(T, cnt, k) + 8 * j, 8);
        v = _mm512_mask_add_epi8(v, (__mmask64)h, v, _mm512_set1_epi8(16));
    }
    if (T == L_IQ4_NL) v = _mm512_shuffle_epi8(iq4nl_grid(), v);
    return v;
}

/* Prefill from packed groups (legacy_avx512.c: the plain kernel's panels, built from the
 * packed bytes): w the tile's first group, ws the bytes of one group. */
void kern_lgp_prefill_avx512(ltype T, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as,
                             int nc, float *out, size_t os);
/* The same on AMX tiles (legacy_amx.c) for nc a multiple of 16; emu: the tile instructions'
 * plain-C twins (amx.h), which run on any AVX-512 CPU. */
void kern_lgp_amx(ltype T, bool emu, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                  float *out, size_t os);
/* The packed groups' product at AVX2 (legacy_packed_avx2.c): same arguments as kern_mm_fn,
 * activations of the AVX2 level (plain Q8_0 / Q8_1 blocks) */
void kern_lgp_mm_avx2(ltype T, int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                      float *out, size_t os);
#endif
#endif
