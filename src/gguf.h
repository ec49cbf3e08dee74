/* gguf.h - GGUF v2/v3 reader (zero-copy over an mmap) and writer.
 *
 * Format (little-endian): magic "GGUF", u32 version, u64 tensor count,
 * u64 metadata count, metadata key/values, tensor infos, padding to
 * `general.alignment` (default 32), tensor data. Strings are u64 length +
 * bytes, not NUL-terminated. Tensor dims are innermost first (ne[0] = row).
 *
 * The reader trusts nothing: every count, length, type id, dimension and offset
 * is checked against the file size before use, so a crafted file yields an
 * error message, never an out-of-bounds read.
 */
#ifndef SEEK_GGUF_H
#define SEEK_GGUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "util.h"

#define GGUF_MAX_DIMS 4
#define GGUF_DEFAULT_ALIGNMENT 32

typedef enum {
    GGUF_TYPE_UINT8 = 0,
    GGUF_TYPE_INT8 = 1,
    GGUF_TYPE_UINT16 = 2,
    GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4,
    GGUF_TYPE_INT32 = 5,
    GGUF_TYPE_FLOAT32 = 6,
    GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8,
    GGUF_TYPE_ARRAY = 9,
    GGUF_TYPE_UINT64 = 10,
    GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12,
    GGUF_TYPE_COUNT
} gguf_type;

/* A string: pointer + length, not NUL-terminated. */
typedef struct {
    const char *ptr;
    uint64_t len;
} gguf_str;

/* A metadata value. Scalars are decoded; arrays keep their element type and count:
 *   numeric/bool elements: `data` points to n packed little-endian values
 *                          (possibly unaligned: read them with gguf_arr_* below);
 *   string elements:       `data` is a gguf_str[n];
 *   array elements:        `data` is a gguf_value[n] (each of type GGUF_TYPE_ARRAY). */
typedef struct gguf_value {
    gguf_type type;
    union {
        uint64_t u64;   /* UINT8..UINT64 (zero-extended) */
        int64_t i64;    /* INT8..INT64 (sign-extended) */
        double f64;     /* FLOAT32, FLOAT64 */
        bool b;
        gguf_str str;
        struct {
            gguf_type type;
            uint64_t n;
            const void *data;
        } arr;
    };
} gguf_value;

typedef struct {
    gguf_str key;
    gguf_value value;
} gguf_kv;

typedef struct {
    gguf_str name;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];   /* unused dims are 1 */
    seek_type type;
    uint64_t offset;             /* relative to the data section */
    uint64_t nbytes;
    const void *data;            /* points into the mapping */
    /* set at model load when a kernel runs on a rearranged copy (src/repack.c): the copy
     * of matrix i is at packed + i * packed_stride; NULL otherwise. data stays valid. */
    const uint8_t *packed;
    size_t packed_stride;
} gguf_tensor;

typedef struct {
    char *path;
    seek_file_map map;
    uint32_t version;
    uint64_t n_kv;
    gguf_kv *kv;
    uint64_t n_tensors;
    gguf_tensor *tensors;
    uint32_t alignment;
    uint64_t data_offset;        /* file offset of the data section */
    uint32_t *kv_sorted;         /* kv indexes sorted by key (for gguf_get) */
    uint32_t *tensor_sorted;     /* tensor indexes sorted by name */
    /* allocations owned by the reader (arrays of strings / nested arrays) */
    void **owned;
    size_t n_owned, cap_owned;
} gguf_file;

/* ---- reading ---- */

/* Open and validate a GGUF file. NULL on error ("<path>: <what is wrong>"). */
gguf_file *gguf_open(const char *path);
/* Parse a GGUF image held in memory (not copied; must outlive the result).
 * `name` is used in error messages. Used by gguf_open and the fuzzer. */
gguf_file *gguf_parse(const uint8_t *data, uint64_t size, const char *name);
void gguf_close(gguf_file *g);

/* Metadata lookup by key; NULL if absent. */
const gguf_value *gguf_get(const gguf_file *g, const char *key);
/* Typed getters: return false if absent or of an incompatible type. Integer getters
 * accept any integer type whose value fits. */
bool gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out);
bool gguf_get_i64(const gguf_file *g, const char *key, int64_t *out);
bool gguf_get_u32(const gguf_file *g, const char *key, uint32_t *out);
bool gguf_get_f32(const gguf_file *g, const char *key, float *out);
bool gguf_get_bool(const gguf_file *g, const char *key, bool *out);
/* Returns a NUL-terminated heap copy (caller frees), or NULL if absent / not a string. */
char *gguf_get_string(const gguf_file *g, const char *key);
/* Array getter: returns the value if it is an array of `elem` type, else NULL. */
const gguf_value *gguf_get_array(const gguf_file *g, const char *key, gguf_type elem);

/* Element i of a numeric/bool array (i < n, element type as stated). */
uint64_t gguf_arr_u64(const gguf_value *arr, uint64_t i);   /* unsigned ints, bool */
int64_t gguf_arr_i64(const gguf_value *arr, uint64_t i);    /* any int type */
double gguf_arr_f64(const gguf_value *arr, uint64_t i);     /* any numeric type */

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);

/* Names and sizes of metadata value types ("u32", "string", ...). */
const char *gguf_type_name(gguf_type t);
size_t gguf_type_size(gguf_type t);  /* 0 for STRING / ARRAY */
bool gguf_str_eq(gguf_str s, const char *c);

/* ---- writing ---- */

typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);

/* Metadata setters. A key set twice keeps the last value (in the first slot). */
int gguf_set_u8(gguf_writer *w, const char *key, uint8_t v);
int gguf_set_i8(gguf_writer *w, const char *key, int8_t v);
int gguf_set_u16(gguf_writer *w, const char *key, uint16_t v);
int gguf_set_i16(gguf_writer *w, const char *key, int16_t v);
int gguf_set_u32(gguf_writer *w, const char *key, uint32_t v);
int gguf_set_i32(gguf_writer *w, const char *key, int32_t v);
int gguf_set_u64(gguf_writer *w, const char *key, uint64_t v);
int gguf_set_i64(gguf_writer *w, const char *key, int64_t v);
int gguf_set_f32(gguf_writer *w, const char *key, float v);
int gguf_set_f64(gguf_writer *w, const char *key, double v);
int gguf_set_bool(gguf_writer *w, const char *key, bool v);
int gguf_set_str(gguf_writer *w, const char *key, const char *v);
/* Array of n numeric/bool elements of type `elem`, packed little-endian in `data`. */
int gguf_set_arr_data(gguf_writer *w, const char *key, gguf_type elem, const void *data, uint64_t n);
/* Array of n NUL-terminated strings. */
int gguf_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n);
/* Copy any value read by the reader (including nested arrays). */
int gguf_set_value(gguf_writer *w, const char *key, const gguf_value *v);
/* Copy every key/value of g, in order, except those for which skip(key, ud) is true
 * (skip may be NULL): what a tool that rewrites a file's tensors starts from. */
int gguf_copy_metadata(gguf_writer *w, const gguf_file *g, bool (*skip)(const char *key, void *ud), void *ud);

/* Add a tensor; `data` (seek_row_size(type, ne[0]) * rows bytes) is copied unless
 * `borrow` is true (then it must stay valid until gguf_write). */
int gguf_add_tensor(gguf_writer *w, const char *name, seek_type type, uint32_t n_dims,
                    const int64_t *ne, const void *data, bool borrow);

/* Write the file (alignment from general.alignment if set, else 32).
 * Written to a temporary name and renamed, so a failure leaves no half file. */
int gguf_write(gguf_writer *w, const char *path);

/* ---- streaming write (files larger than memory) ----
 * Add the tensors with data NULL and borrow true (shapes and types only), then
 * gguf_stream_open writes the header to PATH.tmp-<pid>; gguf_stream_put appends tensor
 * bytes in tensor order, in pieces of any size (padding between tensors is added
 * automatically); gguf_stream_close checks that every byte arrived and renames the file to
 * PATH. gguf_stream_abort (or any failure) removes the temporary file: a failed or
 * interrupted run never leaves a half file under PATH's name. */
typedef struct gguf_stream gguf_stream;
gguf_stream *gguf_stream_open(gguf_writer *w, const char *path);
int gguf_stream_put(gguf_stream *s, const void *data, size_t n);
int gguf_stream_close(gguf_stream *s);
void gguf_stream_abort(gguf_stream *s);
/* The temporary file's name (for a signal handler that must remove it). */
const char *gguf_stream_tmp_path(const gguf_stream *s);

#endif
