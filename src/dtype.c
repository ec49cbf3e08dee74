/* dtype.c - the table of tensor types, the row conversion dispatch, and the
 * scalar float conversions (fp16, bf16, fp8 e4m3fn).
 * Block layouts: see quant.c (32-value blocks), quant_iq4nl.c and quant_k.c (K-quants). */
#include "dtype.h"

#include <float.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "quant.h"
#include "util.h"

/* Block sizes and bytes per block, as ggml defines them (ggml-common.h,
 * gguf-py GGML_QUANT_SIZES). Ids 4, 5 (Q4_2, Q4_3), 31-33 (Q4_0_4_4/4_8/8_8)
 * and 36-38 (IQ4_NL_4_4/...) were removed from the format and are unknown here.
 * The flags say exactly what seek_dequantize_row / seek_quantize_row accept. */
static const seek_type_info type_table[SEEK_TYPE_COUNT] = {
    /*                   name     block bytes  deq    quant */
    [SEEK_TYPE_F32]     = {"F32",      1,   4, true,  true},
    [SEEK_TYPE_F16]     = {"F16",      1,   2, true,  true},
    [SEEK_TYPE_Q4_0]    = {"Q4_0",    32,  18, true,  true},
    [SEEK_TYPE_Q4_1]    = {"Q4_1",    32,  20, true,  true},
    [SEEK_TYPE_Q5_0]    = {"Q5_0",    32,  22, true,  true},
    [SEEK_TYPE_Q5_1]    = {"Q5_1",    32,  24, true,  true},
    [SEEK_TYPE_Q8_0]    = {"Q8_0",    32,  34, true,  true},
    [SEEK_TYPE_Q8_1]    = {"Q8_1",    32,  36, true,  true},
    [SEEK_TYPE_Q2_K]    = {"Q2_K",   256,  84, true,  true},
    [SEEK_TYPE_Q3_K]    = {"Q3_K",   256, 110, true,  true},
    [SEEK_TYPE_Q4_K]    = {"Q4_K",   256, 144, true,  true},
    [SEEK_TYPE_Q5_K]    = {"Q5_K",   256, 176, true,  true},
    [SEEK_TYPE_Q6_K]    = {"Q6_K",   256, 210, true,  true},
    [SEEK_TYPE_Q8_K]    = {"Q8_K",   256, 292, true,  true},
    [SEEK_TYPE_IQ2_XXS] = {"IQ2_XXS", 256,  66, false, false},
    [SEEK_TYPE_IQ2_XS]  = {"IQ2_XS",  256,  74, false, false},
    [SEEK_TYPE_IQ3_XXS] = {"IQ3_XXS", 256,  98, false, false},
    [SEEK_TYPE_IQ1_S]   = {"IQ1_S",   256,  50, false, false},
    [SEEK_TYPE_IQ4_NL]  = {"IQ4_NL",   32,  18, true,  true},
    [SEEK_TYPE_IQ3_S]   = {"IQ3_S",   256, 110, false, false},
    [SEEK_TYPE_IQ2_S]   = {"IQ2_S",   256,  82, false, false},
    [SEEK_TYPE_IQ4_XS]  = {"IQ4_XS",  256, 136, false, false},
    [SEEK_TYPE_I8]      = {"I8",       1,   1, false, false},
    [SEEK_TYPE_I16]     = {"I16",      1,   2, false, false},
    [SEEK_TYPE_I32]     = {"I32",      1,   4, false, false},
    [SEEK_TYPE_I64]     = {"I64",      1,   8, false, false},
    [SEEK_TYPE_F64]     = {"F64",      1,   8, true,  false},
    [SEEK_TYPE_IQ1_M]   = {"IQ1_M",   256,  56, false, false},
    [SEEK_TYPE_BF16]    = {"BF16",     1,   2, true,  true},
    [SEEK_TYPE_TQ1_0]   = {"TQ1_0",   256,  54, false, false},
    [SEEK_TYPE_TQ2_0]   = {"TQ2_0",   256,  66, false, false},
    [SEEK_TYPE_MXFP4]   = {"MXFP4",    32,  17, true,  false},
};

const seek_type_info *seek_type_get(uint32_t type) {
    if (type >= SEEK_TYPE_COUNT || !type_table[type].name) return NULL;
    return &type_table[type];
}

int seek_type_from_name(const char *name) {
    if (!name) return -1;
    for (int t = 0; t < SEEK_TYPE_COUNT; t++)
        if (type_table[t].name && !strcasecmp(type_table[t].name, name)) return t;
    return -1;
}

size_t seek_row_size(seek_type type, int64_t n) {
    const seek_type_info *ti = seek_type_get((uint32_t)type);
    if (!ti || n < 0 || n % ti->block_size) return 0;
    uint64_t bytes;
    if (!seek_mul_ok((uint64_t)(n / ti->block_size), (uint64_t)ti->type_size, &bytes) || bytes > SIZE_MAX)
        return 0;
    return (size_t)bytes;
}

/* ---- scalar conversions ---- */

static float bits_to_f32(uint32_t u) { float f; memcpy(&f, &u, sizeof f); return f; }
static uint32_t f32_to_bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }

/* fp16: 1 sign, 5 exponent (bias 15), 10 mantissa bits. Every fp16 value is
 * exactly representable in fp32. */
float seek_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1F, mant = h & 0x3FF;
    if (exp == 0) {                         /* zero or subnormal: mant * 2^-24 */
        float v = (float)mant * 0x1p-24f;
        return sign ? -v : v;
    }
    if (exp == 31) return bits_to_f32(sign | 0x7F800000u | mant << 13);   /* inf, nan */
    return bits_to_f32(sign | (exp + 112) << 23 | mant << 13);
}

/* Round to nearest even; overflow gives inf, NaN stays NaN (quiet). */
uint16_t seek_fp32_to_fp16(float f) {
    uint32_t u = f32_to_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7FFFFFFF;
    if (a > 0x7F800000) return (uint16_t)(sign | 0x7E00 | (a >> 13 & 0x1FF));   /* NaN */
    if (a >= 0x477FF000) return (uint16_t)(sign | 0x7C00);   /* >= 65520: inf after rounding */
    if (a < 0x38800000) {
        /* Below the smallest normal fp16 (2^-14): the result is the subnormal
         * round(|f| * 2^24). |f| = m * 2^(e-150), so shift m right by 126-e. */
        uint32_t e = a >> 23;
        if (e < 102) return sign;          /* < 2^-25: rounds to zero */
        uint32_t m = (a & 0x7FFFFF) | 0x800000;
        int shift = (int)(126 - e);        /* 14..24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q);       /* q == 0x400 is the smallest normal: fine */
    }
    uint32_t h = ((a >> 23) - 112) << 10 | (a >> 13 & 0x3FF);
    uint32_t rem = a & 0x1FFF;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;   /* carry may bump the exponent */
    return (uint16_t)(sign | h);
}

/* bf16 is the top half of an fp32. */
float seek_bf16_to_fp32(uint16_t h) { return bits_to_f32((uint32_t)h << 16); }

uint16_t seek_fp32_to_bf16(float f) {
    uint32_t u = f32_to_bits(f);
    if ((u & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((u >> 16) | 0x40);   /* NaN: force quiet */
    return (uint16_t)((u + 0x7FFF + ((u >> 16) & 1)) >> 16);   /* round to nearest even */
}

/* e4m3fn: 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities, only
 * S.1111.111 is NaN, so the largest value is 448. */
float seek_fp8_e4m3_to_fp32(uint8_t v) {
    uint32_t sign = (uint32_t)(v & 0x80) << 24;
    uint32_t exp = (v >> 3) & 0xF, mant = v & 7;
    if (exp == 15 && mant == 7) return bits_to_f32(sign | 0x7FC00000u);
    if (exp == 0) {
        float x = (float)mant * 0x1p-9f;
        return sign ? -x : x;
    }
    return bits_to_f32(sign | (exp + 120) << 23 | mant << 20);
}

/* ---- plain (non-block) types ---- */

static void dequant_f16(const uint8_t *s, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = seek_fp16_to_fp32(q_rd16(s + 2 * i));
}
static void dequant_bf16(const uint8_t *s, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = seek_bf16_to_fp32(q_rd16(s + 2 * i));
}
static void dequant_f32(const uint8_t *s, float *y, int64_t n) { memcpy(y, s, (size_t)n * 4); }
static void dequant_f64(const uint8_t *s, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        double v;
        memcpy(&v, s + 8 * i, sizeof v);
        /* Out-of-range double -> float is undefined in C: saturate to inf
         * exactly where IEEE rounding would (halfway above FLT_MAX). */
        if (fabs(v) >= 0x1.ffffffp127) y[i] = v > 0 ? INFINITY : -INFINITY;
        else y[i] = (float)v;
    }
}
static void quant_f16(const float *x, uint8_t *d, int64_t n) {
    for (int64_t i = 0; i < n; i++) q_wr16(d + 2 * i, seek_fp32_to_fp16(x[i]));
}
static void quant_bf16(const float *x, uint8_t *d, int64_t n) {
    for (int64_t i = 0; i < n; i++) q_wr16(d + 2 * i, seek_fp32_to_bf16(x[i]));
}
static void quant_f32(const float *x, uint8_t *d, int64_t n) { memcpy(d, x, (size_t)n * 4); }

/* ---- dispatch ---- */

typedef void (*dequant_fn)(const uint8_t *, float *, int64_t);
typedef void (*quant_fn)(const float *, uint8_t *, int64_t);

static const dequant_fn dequant_table[SEEK_TYPE_COUNT] = {
    [SEEK_TYPE_F32] = dequant_f32,         [SEEK_TYPE_F16] = dequant_f16,
    [SEEK_TYPE_BF16] = dequant_bf16,       [SEEK_TYPE_F64] = dequant_f64,
    [SEEK_TYPE_Q4_0] = seek_dequant_q4_0,  [SEEK_TYPE_Q4_1] = seek_dequant_q4_1,
    [SEEK_TYPE_Q5_0] = seek_dequant_q5_0,  [SEEK_TYPE_Q5_1] = seek_dequant_q5_1,
    [SEEK_TYPE_Q8_0] = seek_dequant_q8_0,  [SEEK_TYPE_Q8_1] = seek_dequant_q8_1,
    [SEEK_TYPE_Q2_K] = seek_dequant_q2_k,  [SEEK_TYPE_Q3_K] = seek_dequant_q3_k,
    [SEEK_TYPE_Q4_K] = seek_dequant_q4_k,  [SEEK_TYPE_Q5_K] = seek_dequant_q5_k,
    [SEEK_TYPE_Q6_K] = seek_dequant_q6_k,  [SEEK_TYPE_Q8_K] = seek_dequant_q8_k,
    [SEEK_TYPE_IQ4_NL] = seek_dequant_iq4_nl, [SEEK_TYPE_MXFP4] = seek_dequant_mxfp4,
};

static const quant_fn quant_table[SEEK_TYPE_COUNT] = {
    [SEEK_TYPE_F32] = quant_f32,           [SEEK_TYPE_F16] = quant_f16,
    [SEEK_TYPE_BF16] = quant_bf16,
    [SEEK_TYPE_Q4_0] = seek_quant_q4_0,    [SEEK_TYPE_Q4_1] = seek_quant_q4_1,
    [SEEK_TYPE_Q5_0] = seek_quant_q5_0,    [SEEK_TYPE_Q5_1] = seek_quant_q5_1,
    [SEEK_TYPE_Q8_0] = seek_quant_q8_0,    [SEEK_TYPE_Q8_1] = seek_quant_q8_1,
    [SEEK_TYPE_Q2_K] = seek_quant_q2_k,    [SEEK_TYPE_Q3_K] = seek_quant_q3_k,
    [SEEK_TYPE_Q4_K] = seek_quant_q4_k,    [SEEK_TYPE_Q5_K] = seek_quant_q5_k,
    [SEEK_TYPE_Q6_K] = seek_quant_q6_k,    [SEEK_TYPE_Q8_K] = seek_quant_q8_k,
    [SEEK_TYPE_IQ4_NL] = seek_quant_iq4_nl,
};

/* Common argument checks; returns the type info or NULL with the error set. */
static const seek_type_info *check_row(seek_type type, int64_t n, bool supported, const char *what) {
    const seek_type_info *ti = seek_type_get((uint32_t)type);
    if (!ti) {
        seek_error("cannot %s: unknown tensor type %d", what, (int)type);
        return NULL;
    }
    if (!supported) {
        seek_error("cannot %s tensor type %s: not supported", what, ti->name);
        return NULL;
    }
    if (n < 0 || n % ti->block_size) {
        seek_error("cannot %s %lld values of type %s: not a multiple of its block size %d",
                   what, (long long)n, ti->name, ti->block_size);
        return NULL;
    }
    return ti;
}

int seek_dequantize_row(seek_type type, const void *src, float *dst, int64_t n) {
    const seek_type_info *ti = seek_type_get((uint32_t)type);
    if (!check_row(type, n, ti && ti->can_dequantize, "dequantize")) return -1;
    dequant_table[type]((const uint8_t *)src, dst, n);
    return 0;
}

int seek_quantize_row(seek_type type, const float *src, void *dst, int64_t n) {
    const seek_type_info *ti = seek_type_get((uint32_t)type);
    if (!check_row(type, n, ti && ti->can_quantize, "quantize")) return -1;
    quant_table[type](src, (uint8_t *)dst, n);
    return 0;
}
