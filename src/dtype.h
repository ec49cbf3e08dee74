/* dtype.h - tensor element types and their block layouts.
 *
 * Type ids, block sizes and byte layouts are those of the GGUF ecosystem
 * (ggml's `enum ggml_type`), so quantized tensors written by other tools load
 * here bit-for-bit and ours load there. Every quantized type stores rows as a
 * sequence of blocks; a block of `block_size` values takes `type_size` bytes.
 *
 * This file gives the reference (plain C) conversions. Fast dot products and
 * matmuls live in kernels/ and are tested against these. docs/types.md lists
 * which types can be read and written, and how exactly they match llama.cpp.
 */
#ifndef SEEK_DTYPE_H
#define SEEK_DTYPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

typedef enum {
    SEEK_TYPE_F32 = 0,
    SEEK_TYPE_F16 = 1,
    SEEK_TYPE_Q4_0 = 2,
    SEEK_TYPE_Q4_1 = 3,
    SEEK_TYPE_Q5_0 = 6,
    SEEK_TYPE_Q5_1 = 7,
    SEEK_TYPE_Q8_0 = 8,
    SEEK_TYPE_Q8_1 = 9,
    SEEK_TYPE_Q2_K = 10,
    SEEK_TYPE_Q3_K = 11,
    SEEK_TYPE_Q4_K = 12,
    SEEK_TYPE_Q5_K = 13,
    SEEK_TYPE_Q6_K = 14,
    SEEK_TYPE_Q8_K = 15,
    SEEK_TYPE_IQ2_XXS = 16,
    SEEK_TYPE_IQ2_XS = 17,
    SEEK_TYPE_IQ3_XXS = 18,
    SEEK_TYPE_IQ1_S = 19,
    SEEK_TYPE_IQ4_NL = 20,
    SEEK_TYPE_IQ3_S = 21,
    SEEK_TYPE_IQ2_S = 22,
    SEEK_TYPE_IQ4_XS = 23,
    SEEK_TYPE_I8 = 24,
    SEEK_TYPE_I16 = 25,
    SEEK_TYPE_I32 = 26,
    SEEK_TYPE_I64 = 27,
    SEEK_TYPE_F64 = 28,
    SEEK_TYPE_IQ1_M = 29,
    SEEK_TYPE_BF16 = 30,
    SEEK_TYPE_TQ1_0 = 34,
    SEEK_TYPE_TQ2_0 = 35,
    SEEK_TYPE_MXFP4 = 39,
    SEEK_TYPE_COUNT = 40      /* one past the largest id we know */
} seek_type;

typedef struct {
    const char *name;      /* "Q4_K", as the ecosystem spells it */
    int block_size;        /* values per block (1 for plain types) */
    int type_size;         /* bytes per block */
    bool can_dequantize;   /* seek_dequantize_row supports it */
    bool can_quantize;     /* seek_quantize_row supports it */
} seek_type_info;

/* Info for a type id, or NULL when the id is not a known type (ids from files are
 * untrusted: always check). */
const seek_type_info *seek_type_get(uint32_t type);

/* Type from its name, case-insensitive ("q8_0", "F16"); -1 if unknown. */
int seek_type_from_name(const char *name);

/* Bytes taken by a row of n values; 0 for an unknown type, n < 0, n not a
 * multiple of the block size, or a size that does not fit in size_t. */
size_t seek_row_size(seek_type type, int64_t n);

/* Reference conversions of one row of n values (n a multiple of the block size).
 * Return 0, or -1 (error set) for an unknown type, a type whose can_dequantize /
 * can_quantize flag is false, or a bad n. Quantizing reproduces llama.cpp's
 * reference quantizer (no importance matrix) byte for byte. */
int seek_dequantize_row(seek_type type, const void *src, float *dst, int64_t n);
int seek_quantize_row(seek_type type, const float *src, void *dst, int64_t n);

/* Scalar conversions (IEEE half with round-to-nearest-even; bf16 likewise,
 * NaN kept quiet). */
float seek_fp16_to_fp32(uint16_t h);
uint16_t seek_fp32_to_fp16(float f);
float seek_bf16_to_fp32(uint16_t h);
uint16_t seek_fp32_to_bf16(float f);
/* IQ4_NL's 16 grid levels: a block's value j is d * seek_iq4_nl_values[index j]. */
extern const int8_t seek_iq4_nl_values[16];

/* float8 e4m3fn (no infinities, 0x7f/0xff are NaN), as in DeepSeek-V3's FP8 weights. */
float seek_fp8_e4m3_to_fp32(uint8_t v);

#endif
