/* quant.h - per-type block (de)quantization, internal to dtype.c's dispatch.
 *
 * Each function converts a whole row of n values (n a multiple of the block
 * size). The quantizers reproduce the GGUF ecosystem's reference algorithms
 * (no importance matrix), so a row quantized here has the same bytes as one
 * quantized by a llama.cpp-family tool. */
#ifndef SEEK_QUANT_H
#define SEEK_QUANT_H

#include <stdint.h>

#define QK4_0 32
#define QK8_0 32
#define QK_K 256

/* round to nearest, ties to even, as the reference quantizers do */
static inline int nearest_int(float f) { return (int)__builtin_lrintf(f); }

void dequant_q4_0(const void *src, float *y, int64_t n);
void dequant_q4_1(const void *src, float *y, int64_t n);
void dequant_q5_0(const void *src, float *y, int64_t n);
void dequant_q5_1(const void *src, float *y, int64_t n);
void dequant_q8_0(const void *src, float *y, int64_t n);
void dequant_q8_1(const void *src, float *y, int64_t n);
void dequant_iq4_nl(const void *src, float *y, int64_t n);
void quant_q4_0(const float *x, void *dst, int64_t n);
void quant_q4_1(const float *x, void *dst, int64_t n);
void quant_q5_0(const float *x, void *dst, int64_t n);
void quant_q5_1(const float *x, void *dst, int64_t n);
void quant_q8_0(const float *x, void *dst, int64_t n);
void quant_q8_1(const float *x, void *dst, int64_t n);

void dequant_q2_k(const void *src, float *y, int64_t n);
void dequant_q3_k(const void *src, float *y, int64_t n);
void dequant_q4_k(const void *src, float *y, int64_t n);
void dequant_q5_k(const void *src, float *y, int64_t n);
void dequant_q6_k(const void *src, float *y, int64_t n);
void dequant_q8_k(const void *src, float *y, int64_t n);
void quant_q2_k(const float *x, void *dst, int64_t n);
void quant_q3_k(const float *x, void *dst, int64_t n);
void quant_q4_k(const float *x, void *dst, int64_t n);
void quant_q5_k(const float *x, void *dst, int64_t n);
void quant_q6_k(const float *x, void *dst, int64_t n);
void quant_q8_k(const float *x, void *dst, int64_t n);

#endif
