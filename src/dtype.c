/* dtype.c - the table of tensor types and the row conversion dispatch.
 * Block layouts: see dtype.h. Per-type (de)quantization lives in quant*.c. */
#include "dtype.h"

#include <ctype.h>
#include <string.h>

#include "util.h"

/* Block sizes and bytes per block, as ggml defines them. */
static const seek_type_info type_table[SEEK_TYPE_COUNT] = {
    [SEEK_TYPE_F32] = {"F32", 1, 4, false, false},
    [SEEK_TYPE_F16] = {"F16", 1, 2, false, false},
    [SEEK_TYPE_Q4_0] = {"Q4_0", 32, 18, false, false},
    [SEEK_TYPE_Q4_1] = {"Q4_1", 32, 20, false, false},
    [SEEK_TYPE_Q5_0] = {"Q5_0", 32, 22, false, false},
    [SEEK_TYPE_Q5_1] = {"Q5_1", 32, 24, false, false},
    [SEEK_TYPE_Q8_0] = {"Q8_0", 32, 34, false, false},
    [SEEK_TYPE_Q8_1] = {"Q8_1", 32, 36, false, false},
    [SEEK_TYPE_Q2_K] = {"Q2_K", 256, 84, false, false},
    [SEEK_TYPE_Q3_K] = {"Q3_K", 256, 110, false, false},
    [SEEK_TYPE_Q4_K] = {"Q4_K", 256, 144, false, false},
    [SEEK_TYPE_Q5_K] = {"Q5_K", 256, 176, false, false},
    [SEEK_TYPE_Q6_K] = {"Q6_K", 256, 210, false, false},
    [SEEK_TYPE_Q8_K] = {"Q8_K", 256, 292, false, false},
    [SEEK_TYPE_IQ2_XXS] = {"IQ2_XXS", 256, 66, false, false},
    [SEEK_TYPE_IQ2_XS] = {"IQ2_XS", 256, 74, false, false},
    [SEEK_TYPE_IQ3_XXS] = {"IQ3_XXS", 256, 98, false, false},
    [SEEK_TYPE_IQ1_S] = {"IQ1_S", 256, 50, false, false},
    [SEEK_TYPE_IQ4_NL] = {"IQ4_NL", 32, 18, false, false},
    [SEEK_TYPE_IQ3_S] = {"IQ3_S", 256, 110, false, false},
    [SEEK_TYPE_IQ2_S] = {"IQ2_S", 256, 82, false, false},
    [SEEK_TYPE_IQ4_XS] = {"IQ4_XS", 256, 136, false, false},
    [SEEK_TYPE_I8] = {"I8", 1, 1, false, false},
    [SEEK_TYPE_I16] = {"I16", 1, 2, false, false},
    [SEEK_TYPE_I32] = {"I32", 1, 4, false, false},
    [SEEK_TYPE_I64] = {"I64", 1, 8, false, false},
    [SEEK_TYPE_F64] = {"F64", 1, 8, false, false},
    [SEEK_TYPE_IQ1_M] = {"IQ1_M", 256, 56, false, false},
    [SEEK_TYPE_BF16] = {"BF16", 1, 2, false, false},
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

int seek_dequantize_row(seek_type type, const void *src, float *dst, int64_t n) {
    (void)src; (void)dst; (void)n;
    const seek_type_info *ti = seek_type_get(type);
    return seek_error("cannot dequantize tensor type %s", ti ? ti->name : "(unknown)");
}

int seek_quantize_row(seek_type type, const float *src, void *dst, int64_t n) {
    (void)src; (void)dst; (void)n;
    const seek_type_info *ti = seek_type_get(type);
    return seek_error("cannot quantize to tensor type %s", ti ? ti->name : "(unknown)");
}
