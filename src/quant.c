/* quant.c - the "legacy" 32-value block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1
 * (quantize + dequantize) and MXFP4 (dequantize only). IQ4_NL: quant_iq4nl.c.
 *
 * Quantization reproduces ggml's reference (quantize_row_*_ref, no importance
 * matrix) operation for operation, so output is byte-identical to files made by
 * llama.cpp's quantizer. Within every block of 32, "nibble" layouts put value j
 * in the low 4 bits of qs[j] and value j+16 in the high 4 bits.
 *
 * All scales are IEEE half (fp16) little-endian unless said otherwise.
 * The fmaf() calls reproduce where the reference build fused a*b+c (see
 * quant_k.c): x*id + 8.5 rounded once or twice can truncate differently.
 */
#include <float.h>
#include <math.h>

#include "quant.h"

#define QK 32   /* values per block */

/* ---- Q4_0: 18 bytes = d (fp16) | qs[16] (nibbles).  x = (q - 8) * d ---- */

void seek_dequant_q4_0(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 18, y += QK) {
        float d = q_rdf16(b);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = ((b[2 + j] & 0x0F) - 8) * d;
            y[j + QK / 2] = ((b[2 + j] >> 4) - 8) * d;
        }
    }
}

/* The scale is chosen so the value of largest magnitude maps exactly to -8
 * (keeping its sign), which uses the one extra negative level of 4 bits. */
void seek_quant_q4_0(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 18, x += QK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        float d = max / -8;
        float id = d ? 1.0f / d : 0.0f;
        q_wrf16(b, d);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = q_trunc_clamp(fmaf(x[j], id, 8.5f), 0, 15);
            int q1 = q_trunc_clamp(fmaf(x[j + QK / 2], id, 8.5f), 0, 15);
            b[2 + j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

/* ---- Q4_1: 20 bytes = d (fp16) | m (fp16) | qs[16].  x = q * d + m ---- */

void seek_dequant_q4_1(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 20, y += QK) {
        float d = q_rdf16(b), m = q_rdf16(b + 2);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = (b[4 + j] & 0x0F) * d + m;
            y[j + QK / 2] = (b[4 + j] >> 4) * d + m;
        }
    }
}

/* min/max of the block: min becomes the offset, (max - min) spans 15 steps. */
static void block_min_max(const float *x, float *min, float *max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < QK; j++) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

void seek_quant_q4_1(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 20, x += QK) {
        float min, max;
        block_min_max(x, &min, &max);
        float d = (max - min) / 15;
        float id = d ? 1.0f / d : 0.0f;
        q_wrf16(b, d);
        q_wrf16(b + 2, min);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = q_trunc_clamp(fmaf(x[j] - min, id, 0.5f), 0, 15);
            int q1 = q_trunc_clamp(fmaf(x[j + QK / 2] - min, id, 0.5f), 0, 15);
            b[4 + j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

/* ---- Q5_0: 22 bytes = d (fp16) | qh (u32: bit j = 5th bit of value j) | qs[16].
 *      x = (q - 16) * d ---- */

void seek_dequant_q5_0(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 22, y += QK) {
        float d = q_rdf16(b);
        uint32_t qh = q_rd32(b + 2);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = (b[6 + j] & 0x0F) | ((qh >> j) & 1) << 4;
            int q1 = (b[6 + j] >> 4) | ((qh >> (j + QK / 2)) & 1) << 4;
            y[j] = (q0 - 16) * d;
            y[j + QK / 2] = (q1 - 16) * d;
        }
    }
}

void seek_quant_q5_0(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 22, x += QK) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < QK; j++)
            if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
        float d = max / -16;
        float id = d ? 1.0f / d : 0.0f;
        q_wrf16(b, d);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; j++) {
            int q0 = q_trunc_clamp(fmaf(x[j], id, 16.5f), 0, 31);
            int q1 = q_trunc_clamp(fmaf(x[j + QK / 2], id, 16.5f), 0, 31);
            b[6 + j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + QK / 2);
        }
        q_wr32(b + 2, qh);
    }
}

/* ---- Q5_1: 24 bytes = d (fp16) | m (fp16) | qh (u32) | qs[16].  x = q * d + m ---- */

void seek_dequant_q5_1(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 24, y += QK) {
        float d = q_rdf16(b), m = q_rdf16(b + 2);
        uint32_t qh = q_rd32(b + 4);
        for (int j = 0; j < QK / 2; j++) {
            int q0 = (b[8 + j] & 0x0F) | ((qh >> j) & 1) << 4;
            int q1 = (b[8 + j] >> 4) | ((qh >> (j + QK / 2)) & 1) << 4;
            y[j] = q0 * d + m;
            y[j + QK / 2] = q1 * d + m;
        }
    }
}

void seek_quant_q5_1(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 24, x += QK) {
        float min, max;
        block_min_max(x, &min, &max);
        float d = (max - min) / 31;
        float id = d ? 1.0f / d : 0.0f;
        q_wrf16(b, d);
        q_wrf16(b + 2, min);
        uint32_t qh = 0;
        for (int j = 0; j < QK / 2; j++) {
            int q0 = q_trunc_clamp(fmaf(x[j] - min, id, 0.5f), 0, 31);
            int q1 = q_trunc_clamp(fmaf(x[j + QK / 2] - min, id, 0.5f), 0, 31);
            b[8 + j] = (uint8_t)((q0 & 0x0F) | (q1 & 0x0F) << 4);
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + QK / 2);
        }
        q_wr32(b + 4, qh);
    }
}

/* ---- Q8_0: 34 bytes = d (fp16) | qs[32] (int8).  x = q * d ---- */

void seek_dequant_q8_0(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 34, y += QK) {
        float d = q_rdf16(b);
        for (int j = 0; j < QK; j++) y[j] = (int8_t)b[2 + j] * d;
    }
}

/* roundf (ties away from zero) of a value in [-127, 127], NaN-safe. */
static int8_t round_i8(float v) {
    if (!(v == v)) return 0;
    float r = roundf(v);
    return (int8_t)(r > 127.0f ? 127 : r < -128.0f ? -128 : (int)r);
}

/* Shared by Q8_0 and Q8_1: scale amax/127, quants round(x/d). Returns d. */
static float quant_8bit_block(const float *x, int8_t *q) {
    float amax = 0.0f;
    for (int j = 0; j < QK; j++) amax = fabsf(x[j]) > amax ? fabsf(x[j]) : amax;
    float d = amax / 127;
    float id = d ? 1.0f / d : 0.0f;
    for (int j = 0; j < QK; j++) q[j] = round_i8(x[j] * id);
    return d;
}

void seek_quant_q8_0(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 34, x += QK) {
        int8_t q[QK];
        q_wrf16(b, quant_8bit_block(x, q));
        memcpy(b + 2, q, QK);
    }
}

/* ---- Q8_1: 36 bytes = d (fp16) | s (fp16, = d * sum of qs) | qs[32] (int8) ----
 * Used for activations in dot products; s lets Q4_1/Q5_1 dots add the min term. */

void seek_dequant_q8_1(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 36, y += QK) {
        float d = q_rdf16(b);
        for (int j = 0; j < QK; j++) y[j] = (int8_t)b[4 + j] * d;
    }
}

void seek_quant_q8_1(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 36, x += QK) {
        int8_t q[QK];
        float d = quant_8bit_block(x, q);
        int sum = 0;
        for (int j = 0; j < QK; j++) sum += q[j];
        q_wrf16(b, d);
        q_wrf16(b + 2, sum * d);
        memcpy(b + 4, q, QK);
    }
}

/* ---- MXFP4 (OCP microscaling): 17 bytes = e (E8M0 exponent) | qs[16] (nibbles).
 * Each nibble is an FP4 E2M1 value (sign, 2-bit exponent, 1-bit mantissa); the
 * table holds them doubled so they are integers, hence the scale 2^(e-127) / 2. */
static const int8_t e2m1_doubled[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

static float e8m0_half(uint8_t e) {
    /* 2^(e - 128), built from bits; e < 2 gives a float32 subnormal. */
    uint32_t bits = e < 2 ? 0x00200000u << e : (uint32_t)(e - 1) << 23;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

void seek_dequant_mxfp4(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 17, y += QK) {
        float d = e8m0_half(b[0]);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = e2m1_doubled[b[1 + j] & 0x0F] * d;
            y[j + QK / 2] = e2m1_doubled[b[1 + j] >> 4] * d;
        }
    }
}
