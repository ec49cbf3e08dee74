/* safetensors.h - reader for Hugging Face .safetensors files (convert's input).
 *
 * Format: u64 little-endian header length N, N bytes of JSON
 *   { "<name>": {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]},
 *     "__metadata__": {"k": "v", ...} }
 * then the data section; offsets are relative to its start. Shapes are
 * outermost first (PyTorch order), unlike GGUF. The whole header is untrusted:
 * offsets, shapes and dtypes are checked against each other and the file size.
 */
#ifndef SEEK_SAFETENSORS_H
#define SEEK_SAFETENSORS_H

#include <stdint.h>
#include <stddef.h>

#include "util.h"

#define ST_MAX_DIMS 8

typedef enum {
    ST_F64, ST_F32, ST_F16, ST_BF16, ST_F8_E4M3, ST_F8_E5M2,
    ST_I64, ST_I32, ST_I16, ST_I8, ST_U8, ST_BOOL,
    ST_DTYPE_COUNT
} st_dtype;

typedef struct {
    char *name;
    st_dtype dtype;
    int n_dims;
    int64_t shape[ST_MAX_DIMS];  /* outermost first */
    uint64_t n_elements;
    uint64_t nbytes;
    const void *data;            /* points into the mapping */
} st_tensor;

typedef struct {
    char *path;
    seek_file_map map;
    size_t n_tensors;
    st_tensor *tensors;          /* sorted by name */
    size_t n_meta;
    char **meta_keys, **meta_values;   /* "__metadata__" string pairs */
} st_file;

/* Open and validate. NULL on error ("<path>: <what is wrong>"). */
st_file *st_open(const char *path);
/* Parse an in-memory image (not copied); `name` is used in messages. */
st_file *st_parse(const uint8_t *data, uint64_t size, const char *name);
void st_close(st_file *f);

const st_tensor *st_find(const st_file *f, const char *name);
const char *st_dtype_name(st_dtype d);
size_t st_dtype_size(st_dtype d);

/* Convert a float tensor (F64/F32/F16/BF16/F8_E4M3/F8_E5M2) to float32 in `dst`
 * (n_elements values). Returns 0, or -1 with the error set. */
int st_to_f32(const st_tensor *t, float *dst);

#endif
