/* kquants_impl.h - what the K-quant kernel files share (internal to src/kernels/).
 *
 * The arithmetic every level performs, for weight row r and activation row c, per
 * super-block b of 256 values (a = the Q8_K quants of c, bsum[g] = their sums per group of
 * 16, da = the Q8_K scale; q = the weight's unsigned quants):
 *
 *   S1 = sum over groups g of sc[g] * sum_{i in g} q[i] * a[i]        (int32, exact)
 *   S2 = sum over groups g of mb[g] * bsum[g]                         (int32, exact)
 *
 * where sc[g] is the scale of the sub-block holding group g and mb[g] expresses the
 * type's offset: for types with mins (Q2_K, Q4_K, Q5_K: x = d*sc*q - dmin*m) mb[g] = m of
 * that sub-block and dm = -dmin; for types with a fixed offset (Q3_K: q-4, Q6_K: q-32)
 * mb[g] = -offset*sc[g] and S2 is folded into S1. Then, in float, in super-block order:
 *
 *   with mins:     acc = fmaf(d*da, (float)S1, acc); acc = fmaf(dm*da, (float)S2, acc);
 *   fixed offset:  acc = fmaf(d*da, (float)(S1 + S2), acc);
 *
 * starting from acc = 0. Every level computes exactly these integers and exactly these
 * float operations (d*da rounded once, then a fused multiply-add), so the result of a
 * (row, column) pair is the same bits at every level, in every tile shape and for every
 * thread count. The integers cannot overflow, even for hostile bytes: the largest is
 * 16 groups * 128 * 16 * 63 * 128 < 2^31.
 */
#ifndef SEEK_KQUANTS_IMPL_H
#define SEEK_KQUANTS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "kernels.h"

#define KQ_K 256            /* values per super-block */
#define KQ_Q8K_BYTES 292    /* float d | int8 qs[256] | int16 bsums[16] */
#define KQ_Q8K_QS 4         /* offset of qs in a Q8_K block */
#define KQ_Q8K_BSUMS 260    /* offset of bsums */

#define KQ_DECLARE(level) \
    void kq_quant_q8k_##level(const float *x, void *y, int64_t n); \
    void kq_mm_q2k_##level(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                           int nc, float *out, size_t os); \
    void kq_mm_q3k_##level(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                           int nc, float *out, size_t os); \
    void kq_mm_q4k_##level(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                           int nc, float *out, size_t os); \
    void kq_mm_q5k_##level(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                           int nc, float *out, size_t os); \
    void kq_mm_q6k_##level(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                           int nc, float *out, size_t os);

/* Q4_K packed into 16-row panels (kquants_packed.c) */
size_t kq_packed_bytes(int64_t n, int64_t n_rows);
void kq_pack_q4k(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1);
/* the same, a dword at a time (the reference of its AVX-512 form; any CPU) */
void kq_pack_q4k_ref(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1);
void kq_prefill_q4k_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                  float *out, size_t os);   /* kquants_avx512.c: the panel path */
void kq_mm_q4k_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                             float *out, size_t os);
void kq_dec2_q4k_packed_avx512(int64_t n, size_t ws, const uint8_t *wa, int nr_a, const uint8_t *aa, float *out_a,
                               const uint8_t *wb, int nr_b, const uint8_t *ab, float *out_b);
/* Q5_K and Q6_K packed into 16-row panels (kquants_packed56.c) */
#define KQ_DECLARE_PACKED(t) \
    size_t kq_packed_bytes_##t(int64_t n, int64_t n_rows); \
    void kq_pack_##t(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1); \
    void kq_mm_##t##_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc, \
                                   float *out, size_t os); \
    void kq_dec2_##t##_packed_avx512(int64_t n, size_t ws, const uint8_t *wa, int nr_a, const uint8_t *aa, float *out_a, \
                                     const uint8_t *wb, int nr_b, const uint8_t *ab, float *out_b);
KQ_DECLARE_PACKED(q5k)
KQ_DECLARE_PACKED(q6k)
/* packed Q4_K / Q5_K / Q6_K at AVX-512 with AMX (kquants_amx.c): whole 16-column chunks on
 * the tiles where the CPU has them, the rest by the _avx512 kernels above (the kern_packed mm
 * of kquants.c); and the packed forms with the tiles emulated on the C twins of amx.h (tests;
 * NULL for other types) */
void kq_mm_q4k_packed_amx(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc, float *out,
                          size_t os);
void kq_mm_q5k_packed_amx(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc, float *out,
                          size_t os);
void kq_mm_q6k_packed_amx(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc, float *out,
                          size_t os);
const kern_packed *kq_packed_amx_emulated(seek_type t);
/* packed Q4_K, Q5_K and Q6_K at AVX2 (kquants_packed_avx2.c; packed by the _ref packers) */
void kq_mm_q4k_packed_avx2(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                           float *out, size_t os);
void kq_mm_q5k_packed_avx2(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                           float *out, size_t os);
void kq_mm_q6k_packed_avx2(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                           float *out, size_t os);
/* the Q5_K and Q6_K packers a few bytes at a time (the references of their AVX-512 forms) */
void kq_pack_q5k_ref(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1);
void kq_pack_q6k_ref(int64_t n, const uint8_t *w, size_t row_bytes, int64_t n_rows, uint8_t *dst, int64_t g0, int64_t g1);
void kq_prefill_q6k_packed_avx512(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                                  float *out, size_t os);   /* kquants_avx512.c: the panel path */

KQ_DECLARE(scalar)
#if defined(__x86_64__)
KQ_DECLARE(avx2)
KQ_DECLARE(avx512)
#endif

#endif
