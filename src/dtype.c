/* dtype.c - the table of tensor types, scalar float conversions (f16, bf16,
 * fp8) and the row conversion dispatch. Block layouts and the per-type
 * (de)quantizers are in quant.c (32-value blocks) and quant_k.c (K types). */
#include "dtype.h"

#include <ctype.h>
#include <string.h>

#include "quant.h"
#include "util.h"

#include <math.h>

/* Block sizes and bytes per block, as ggml defines them. */
static const seek_type_info type_table[SEEK_TYPE_COUNT] = {
    [SEEK_TYPE_F32] = {"F32", 1, 4, true, true},
    [SEEK_TYPE_F16] = {"F16", 1, 2, true, true},
    [SEEK_TYPE_Q4_0] = {"Q4_0", 32, 18, true, true},
    [SEEK_TYPE_Q4_1] = {"Q4_1", 32, 20, true, true},
    [SEEK_TYPE_Q5_0] = {"Q5_0", 32, 22, true, true},
    [SEEK_TYPE_Q5_1] = {"Q5_1", 32, 24, true, true},
    [SEEK_TYPE_Q8_0] = {"Q8_0", 32, 34, true, true},
    [SEEK_TYPE_Q8_1] = {"Q8_1", 32, 36, true, true},
    [SEEK_TYPE_Q2_K] = {"Q2_K", 256, 84, true, true},
    [SEEK_TYPE_Q3_K] = {"Q3_K", 256, 110, true, true},
    [SEEK_TYPE_Q4_K] = {"Q4_K", 256, 144, true, true},
    [SEEK_TYPE_Q5_K] = {"Q5_K", 256, 176, true, true},
    [SEEK_TYPE_Q6_K] = {"Q6_K", 256, 210, true, true},
    [SEEK_TYPE_Q8_K] = {"Q8_K", 256, 292, true, true},
    [SEEK_TYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66, false, false},
    [SEEK_TYPE_IQ2_XS] = {"IQ2_XS", 256, 74, false, false},
    [SEEK_TYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98, false, false},
    [SEEK_TYPE_IQ1_S] = {"IQ1_S", 256, 50, false, false},
    [SEEK_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, true, false},
    [SEEK_TYPE_IQ3_S] = {"IQ3_S", 256, 110, false, false},
    [SEEK_TYPE_IQ2_S] = {"IQ2_S", 256, 82, false, false},
    [SEEK_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136, false, false},
    [SEEK_TYPE_I8] = {"I8", 1, 1, false, false},
    [SEEK_TYPE_I16] = {"I16", 1, 2, false, false},
    [SEEK_TYPE_I32] = {"I32", 1, 4, false, false},
    [SEEK_TYPE_I64] = {"I64", 1, 8, false, false},
    [SEEK_TYPE_F64] = {"F64", 1, 8, true, false},
    [SEEK_TYPE_IQ1_M] = {"IQ1_M", 256, 56, false, false},
    [SEEK_TYPE_BF16] = {"BF16", 1, 2, true, true},
    [SEEK_TYPE_TQ1_0] = {"TQ1_0", 256, 54, false, false},
    [SEEK_TYPE_TQ2_0] = {"TQ2_0", 256, 66, false, false},
    [SEEK_TYPE_MXFP4] = {"MXFP4", 32, 17, false, false},
};

const seek_type_info *seek_type_get(uint32_t type) {
    if (type >= SEEK_TYPE_COUNT || !type_table[type].name) return NULL;
    return &type_table[type];
}

int seek_type_from_name(const char *name) {
    for (int t = 0; t < SEEK_TYPE_COUNT; t++)
        if (type_table[t].name && !strcasecmp(type_table[t].name, name)) return t;
    return -1;
}

size_t seek_row_size(seek_type type, int64_t n) {
    const seek_type_info *ti = seek_type_get(type);
    return ti ? (size_t)(n / ti->block_size) * (size_t)ti->type_size : 0;
}

/* ---- scalar conversions ---- */

float seek_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
    if (exp == 0x1F) {                       /* inf / nan */
        bits = sign | 0x7F800000 | (man << 13);
    } else if (exp == 0) {                   /* zero / subnormal: man * 2^-24, exact in f32 */
        float f = (float)man * 0x1p-24f;
        return sign ? -f : f;
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t seek_fp32_to_fp16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7FFFFFFF;
    if (ax > 0x7F800000) return sign | 0x7E00 | (uint16_t)((ax >> 13) & 0x3FF);   /* nan stays nan */
    if (ax >= 0x477FF000) return sign | 0x7C00;          /* rounds to >= 65520: inf */
    if (ax < 0x38800000) {                               /* below 2^-14: subnormal half */
        /* value / 2^-24 rounded to nearest even, via float arithmetic (exact here) */
        float a;
        memcpy(&a, &ax, 4);
        return sign | (uint16_t)lrintf(a * 0x1p24f);
    }
    /* normal: drop 13 mantissa bits with round-to-nearest-even */
    uint32_t r = ax + 0xFFF + ((ax >> 13) & 1);
    return sign | (uint16_t)((r - 0x38000000) >> 13);
}

float seek_bf16_to_fp32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t seek_fp32_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFF) > 0x7F800000) return (uint16_t)((x >> 16) | 64);   /* quiet nan */
    return (uint16_t)((x + 0x7FFF + ((x >> 16) & 1)) >> 16);
}

float seek_fp8_e4m3_to_fp32(uint8_t v) {
    /* 1 sign, 4 exponent (bias 7), 3 mantissa bits; no infinities; S.1111.111 is nan */
    int sign = v >> 7, exp = (v >> 3) & 0xF, man = v & 7;
    float f;
    if (exp == 0xF && man == 7) return sign ? -NAN : NAN;
    if (exp == 0) f = ldexpf((float)man, -9);              /* subnormal: man/8 * 2^-6 */
    else f = ldexpf((float)(8 + man), exp - 10);           /* (1 + man/8) * 2^(exp-7) */
    return sign ? -f : f;
}

/* ---- row dispatch ---- */

int seek_dequantize_row(seek_type type, const void *src, float *dst, int64_t n) {
    const seek_type_info *ti = seek_type_get(type);
    if (!ti || !ti->can_dequantize)
        return seek_error("cannot dequantize tensor type %s", ti ? ti->name : "(unknown)");
    const uint16_t *h = src;
    switch (type) {
    case SEEK_TYPE_F32: memcpy(dst, src, (size_t)n * 4); break;
    case SEEK_TYPE_F16: for (int64_t i = 0; i < n; i++) dst[i] = seek_fp16_to_fp32(h[i]); break;
    case SEEK_TYPE_BF16: for (int64_t i = 0; i < n; i++) dst[i] = seek_bf16_to_fp32(h[i]); break;
    case SEEK_TYPE_F64: for (int64_t i = 0; i < n; i++) dst[i] = (float)((const double *)src)[i]; break;
    case SEEK_TYPE_Q4_0: dequant_q4_0(src, dst, n); break;
    case SEEK_TYPE_Q4_1: dequant_q4_1(src, dst, n); break;
    case SEEK_TYPE_Q5_0: dequant_q5_0(src, dst, n); break;
    case SEEK_TYPE_Q5_1: dequant_q5_1(src, dst, n); break;
    case SEEK_TYPE_Q8_0: dequant_q8_0(src, dst, n); break;
    case SEEK_TYPE_Q8_1: dequant_q8_1(src, dst, n); break;
    case SEEK_TYPE_IQ4_NL: dequant_iq4_nl(src, dst, n); break;
    case SEEK_TYPE_Q2_K: dequant_q2_k(src, dst, n); break;
    case SEEK_TYPE_Q3_K: dequant_q3_k(src, dst, n); break;
    case SEEK_TYPE_Q4_K: dequant_q4_k(src, dst, n); break;
    case SEEK_TYPE_Q5_K: dequant_q5_k(src, dst, n); break;
    case SEEK_TYPE_Q6_K: dequant_q6_k(src, dst, n); break;
    case SEEK_TYPE_Q8_K: dequant_q8_k(src, dst, n); break;
    default: return seek_error("cannot dequantize tensor type %s", ti->name);
    }
    return 0;
}

int seek_quantize_row(seek_type type, const float *src, void *dst, int64_t n) {
    const seek_type_info *ti = seek_type_get(type);
    if (!ti || !ti->can_quantize)
        return seek_error("cannot quantize to tensor type %s", ti ? ti->name : "(unknown)");
    if (n % ti->block_size)
        return seek_error("cannot quantize a row of %lld values to %s (blocks of %d)", (long long)n,
                          ti->name, ti->block_size);
    uint16_t *h = dst;
    switch (type) {
    case SEEK_TYPE_F32: memcpy(dst, src, (size_t)n * 4); break;
    case SEEK_TYPE_F16: for (int64_t i = 0; i < n; i++) h[i] = seek_fp32_to_fp16(src[i]); break;
    case SEEK_TYPE_BF16: for (int64_t i = 0; i < n; i++) h[i] = seek_fp32_to_bf16(src[i]); break;
    case SEEK_TYPE_Q4_0: quant_q4_0(src, dst, n); break;
    case SEEK_TYPE_Q4_1: quant_q4_1(src, dst, n); break;
    case SEEK_TYPE_Q5_0: quant_q5_0(src, dst, n); break;
    case SEEK_TYPE_Q5_1: quant_q5_1(src, dst, n); break;
    case SEEK_TYPE_Q8_0: quant_q8_0(src, dst, n); break;
    case SEEK_TYPE_Q8_1: quant_q8_1(src, dst, n); break;
    case SEEK_TYPE_Q2_K: quant_q2_k(src, dst, n); break;
    case SEEK_TYPE_Q3_K: quant_q3_k(src, dst, n); break;
    case SEEK_TYPE_Q4_K: quant_q4_k(src, dst, n); break;
    case SEEK_TYPE_Q5_K: quant_q5_k(src, dst, n); break;
    case SEEK_TYPE_Q6_K: quant_q6_k(src, dst, n); break;
    case SEEK_TYPE_Q8_K: quant_q8_k(src, dst, n); break;
    default: return seek_error("cannot quantize to tensor type %s", ti->name);
    }
    return 0;
}
