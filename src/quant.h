/* quant.h - internal helpers shared by the per-type (de)quantizers.
 *
 * Not a public API: dtype.c dispatches to these. Blocks are handled as raw
 * bytes (never cast to structs), so any source alignment works and the byte
 * order is the file's: little-endian.
 */
#ifndef SEEK_QUANT_H
#define SEEK_QUANT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "dtype.h"

/* Little-endian loads and stores of the scale fields inside blocks. */
static inline uint16_t q_rd16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline void q_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline uint32_t q_rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void q_wr32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline float q_rdf16(const uint8_t *p) { return seek_fp16_to_fp32(q_rd16(p)); }
static inline void q_wrf16(uint8_t *p, float f) { q_wr16(p, seek_fp32_to_fp16(f)); }

/* Round to nearest, ties to even, the way ggml does it (adding 1.5 * 2^23 makes
 * the FPU round away the fraction). Exact for |f| < 2^22, which every caller
 * guarantees for finite input; garbage but defined for NaN/inf. */
static inline int q_nearest_int(float f) {
    float v = f + 12582912.0f;
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (int)(bits & 0x007fffff) - 0x00400000;
}

/* q_nearest_int(a * b) with the product not rounded first: ggml's release
 * builds fuse the multiply into the rounding addition (one FMA), and a
 * product within half an ulp of .5 can round either way without it. */
static inline int q_nearest_int_mul(float a, float b) {
    float v = fmaf(a, b, 12582912.0f);
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    return (int)(bits & 0x007fffff) - 0x00400000;
}

/* (int)v truncating toward zero, clamped to [lo, hi]; NaN gives lo. Same as a
 * plain cast for in-range values, but never undefined. */
static inline int q_trunc_clamp(float v, int lo, int hi) {
    if (!(v > (float)lo)) return lo;
    if (v >= (float)hi) return hi;
    return (int)v;
}

static inline int q_min(int a, int b) { return a < b ? a : b; }
static inline int q_max(int a, int b) { return a > b ? a : b; }

/* Legacy 32-value blocks (quant.c). n is the number of values in the row. */
void seek_dequant_q4_0(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q4_1(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q5_0(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q5_1(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q8_0(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q8_1(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_iq4_nl(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_mxfp4(const uint8_t *src, float *dst, int64_t n);
void seek_quant_q4_0(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q4_1(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q5_0(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q5_1(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q8_0(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q8_1(const float *src, uint8_t *dst, int64_t n);
/* IQ4_NL (quant_iq4nl.c). */
void seek_quant_iq4_nl(const float *src, uint8_t *dst, int64_t n);

/* K-quants: 256-value super-blocks (quant_k.c). */
void seek_dequant_q2_k(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q3_k(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q4_k(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q5_k(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q6_k(const uint8_t *src, float *dst, int64_t n);
void seek_dequant_q8_k(const uint8_t *src, float *dst, int64_t n);
void seek_quant_q2_k(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q3_k(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q4_k(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q5_k(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q6_k(const float *src, uint8_t *dst, int64_t n);
void seek_quant_q8_k(const float *src, uint8_t *dst, int64_t n);

#endif
