/* quant.c - the 32-value block types: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, IQ4_NL.
 *
 * Layouts (bytes per block of 32 values; f16 = IEEE half, little-endian):
 *   Q4_0  18: f16 d, u8 qs[16]                 x = d * (q - 8),   q in 0..15
 *   Q4_1  20: f16 d, f16 m, u8 qs[16]          x = d * q + m,     q in 0..15
 *   Q5_0  22: f16 d, u8 qh[4], u8 qs[16]       x = d * (q - 16),  q in 0..31
 *   Q5_1  24: f16 d, f16 m, u8 qh[4], u8 qs[16] x = d * q + m,    q in 0..31
 *   Q8_0  34: f16 d, i8 qs[32]                 x = d * q
 *   Q8_1  36: f16 d, f16 s (= d * sum q), i8 qs[32]
 *   IQ4_NL 18: f16 d, u8 qs[16]                x = d * table[q] (non-linear 4-bit)
 * 4-bit values: byte j holds value j in its low nibble and value j+16 in its
 * high nibble. Q5 types keep the fifth bit of value j in bit j of the u32 qh.
 */
#include "quant.h"

#include <assert.h>
#include <math.h>
#include <string.h>

#include "dtype.h"

typedef struct { uint16_t d; uint8_t qs[16]; } block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } block_q5_1;
typedef struct { uint16_t d; int8_t qs[32]; } block_q8_0;
typedef struct { uint16_t d, s; int8_t qs[32]; } block_q8_1;
static_assert(sizeof(block_q4_0) == 18, "Q4_0 block");
static_assert(sizeof(block_q4_1) == 20, "Q4_1 block");
static_assert(sizeof(block_q5_0) == 22, "Q5_0 block");
static_assert(sizeof(block_q5_1) == 24, "Q5_1 block");
static_assert(sizeof(block_q8_0) == 34, "Q8_0 block");
static_assert(sizeof(block_q8_1) == 36, "Q8_1 block");

#define H2F seek_fp16_to_fp32
#define F2H seek_fp32_to_fp16

/* ---- dequantization ---- */

void dequant_q4_0(const void *src, float *y, int64_t n) {
    const block_q4_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = H2F(b[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = ((b[i].qs[j] & 0x0F) - 8) * d;
            y[j + 16] = ((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequant_q4_1(const void *src, float *y, int64_t n) {
    const block_q4_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = H2F(b[i].d), m = H2F(b[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (b[i].qs[j] & 0x0F) * d + m;
            y[j + 16] = (b[i].qs[j] >> 4) * d + m;
        }
    }
}

static uint32_t load_qh(const uint8_t qh[4]) {
    uint32_t v;
    memcpy(&v, qh, 4);
    return v;
}

void dequant_q5_0(const void *src, float *y, int64_t n) {
    const block_q5_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = H2F(b[i].d);
        uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < 16; j++) {
            int hi0 = (qh >> j) & 1, hi1 = (qh >> (j + 16)) & 1;
            y[j] = (((b[i].qs[j] & 0x0F) | (hi0 << 4)) - 16) * d;
            y[j + 16] = (((b[i].qs[j] >> 4) | (hi1 << 4)) - 16) * d;
        }
    }
}

void dequant_q5_1(const void *src, float *y, int64_t n) {
    const block_q5_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = H2F(b[i].d), m = H2F(b[i].m);
        uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < 16; j++) {
            int hi0 = (qh >> j) & 1, hi1 = (qh >> (j + 16)) & 1;
            y[j] = ((b[i].qs[j] & 0x0F) | (hi0 << 4)) * d + m;
            y[j + 16] = ((b[i].qs[j] >> 4) | (hi1 << 4)) * d + m;
        }
    }
}

void dequant_q8_0(const void *src, float *y, int64_t n) {
    const block_q8_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = H2F(b[i].d);
        for (int j = 0; j < 32; j++) y[j] = b[i].qs[j] * d;
    }
}

void dequant_q8_1(const void *src, float *y, int64_t n) {
    const block_q8_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = H2F(b[i].d);
        for (int j = 0; j < 32; j++) y[j] = b[i].qs[j] * d;
    }
}

/* The 16 levels of IQ4_NL, denser near zero where weights concentrate. */
static const int8_t iq4nl_levels[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                        1, 13, 25, 38, 53, 69, 89, 113};

void dequant_iq4_nl(const void *src, float *y, int64_t n) {
    const block_q4_0 *b = src;   /* same layout as Q4_0 */
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = H2F(b[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = d * iq4nl_levels[b[i].qs[j] & 0x0F];
            y[j + 16] = d * iq4nl_levels[b[i].qs[j] >> 4];
        }
    }
}

/* ---- quantization (reference algorithms: one scale from the extreme value) ---- */

/* The value of largest magnitude, with its sign, and that magnitude. */
static float signed_absmax(const float *x, int n, float *amax_out) {
    float amax = 0, max = 0;
    for (int j = 0; j < n; j++)
        if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
    if (amax_out) *amax_out = amax;
    return max;
}

static void min_max(const float *x, int n, float *mn, float *mx) {
    float lo = INFINITY, hi = -INFINITY;
    for (int j = 0; j < n; j++) {
        if (x[j] < lo) lo = x[j];
        if (x[j] > hi) hi = x[j];
    }
    *mn = lo;
    *mx = hi;
}

/* Q4_0 / Q5_0: the extreme value maps to the most negative level (-8 / -16),
 * so the sign of d follows it and the full range is used on that side. */
void quant_q4_0(const float *x, void *dst, int64_t n) {
    block_q4_0 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float max = signed_absmax(x, 32, NULL);
        float d = max / -8, id = d ? 1.0f / d : 0.0f;
        b[i].d = F2H(d);
        for (int j = 0; j < 16; j++) {
            uint8_t q0 = (uint8_t)(int8_t)(x[j] * id + 8.5f), q1 = (uint8_t)(int8_t)(x[j + 16] * id + 8.5f);
            if (q0 > 15) q0 = 15;
            if (q1 > 15) q1 = 15;
            b[i].qs[j] = q0 | (q1 << 4);
        }
    }
}

void quant_q4_1(const float *x, void *dst, int64_t n) {
    block_q4_1 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float mn, mx;
        min_max(x, 32, &mn, &mx);
        float d = (mx - mn) / 15, id = d ? 1.0f / d : 0.0f;
        b[i].d = F2H(d);
        b[i].m = F2H(mn);
        for (int j = 0; j < 16; j++) {
            uint8_t q0 = (uint8_t)(int8_t)((x[j] - mn) * id + 0.5f), q1 = (uint8_t)(int8_t)((x[j + 16] - mn) * id + 0.5f);
            if (q0 > 15) q0 = 15;
            if (q1 > 15) q1 = 15;
            b[i].qs[j] = q0 | (q1 << 4);
        }
    }
}

void quant_q5_0(const float *x, void *dst, int64_t n) {
    block_q5_0 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float max = signed_absmax(x, 32, NULL);
        float d = max / -16, id = d ? 1.0f / d : 0.0f;
        b[i].d = F2H(d);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            uint8_t q0 = (uint8_t)(int8_t)(x[j] * id + 16.5f), q1 = (uint8_t)(int8_t)(x[j + 16] * id + 16.5f);
            if (q0 > 31) q0 = 31;
            if (q1 > 31) q1 = 31;
            b[i].qs[j] = (q0 & 0x0F) | ((q1 & 0x0F) << 4);
            qh |= (uint32_t)(q0 >> 4) << j;
            qh |= (uint32_t)(q1 >> 4) << (j + 16);
        }
        memcpy(b[i].qh, &qh, 4);
    }
}

void quant_q5_1(const float *x, void *dst, int64_t n) {
    block_q5_1 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float mn, mx;
        min_max(x, 32, &mn, &mx);
        float d = (mx - mn) / 31, id = d ? 1.0f / d : 0.0f;
        b[i].d = F2H(d);
        b[i].m = F2H(mn);
        uint32_t qh = 0;
        for (int j = 0; j < 16; j++) {
            uint8_t q0 = (uint8_t)((x[j] - mn) * id + 0.5f), q1 = (uint8_t)((x[j + 16] - mn) * id + 0.5f);
            b[i].qs[j] = (q0 & 0x0F) | ((q1 & 0x0F) << 4);
            qh |= (uint32_t)((q0 >> 4) & 1) << j;
            qh |= (uint32_t)((q1 >> 4) & 1) << (j + 16);
        }
        memcpy(b[i].qh, &qh, 4);
    }
}

void quant_q8_0(const float *x, void *dst, int64_t n) {
    block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax;
        signed_absmax(x, 32, &amax);
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        b[i].d = F2H(d);
        for (int j = 0; j < 32; j++) b[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

void quant_q8_1(const float *x, void *dst, int64_t n) {
    block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax;
        signed_absmax(x, 32, &amax);
        float d = amax / 127, id = d ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            b[i].qs[j] = (int8_t)roundf(x[j] * id);
            sum += b[i].qs[j];
        }
        b[i].d = F2H(d);
        b[i].s = F2H(sum * d);
    }
}
