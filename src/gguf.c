/* gguf.c - GGUF reader (validating, zero-copy over an mmap) and writer.
 *
 * Reading: gguf_parse() walks the header with a bounds-checked cursor. Nothing
 * read from the file is used as a size, count or offset before it has been
 * checked against what is left of the file, so a truncated or crafted file
 * gives one error message ("<file>: <what is wrong>") instead of a crash.
 * Strings and numeric arrays point into the mapping; only arrays of strings
 * and nested arrays need allocations (tracked in g->owned).
 *
 * Writing: each metadata value is encoded to its on-disk bytes as soon as it is
 * set; gguf_write() lays out header, key/values, tensor infos, padding and the
 * tensor data (each tensor aligned), into a temporary file that is renamed at
 * the end.
 */
#include "gguf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "seek reads GGUF files by direct copies and needs a little-endian host"
#endif

#define MAX_ARRAY_DEPTH 8          /* nested arrays deeper than this are rejected */
#define MAX_KEY_LEN 65535
#define MAX_NAME_LEN 65535         /* reader; the writer keeps names < 64 (ggml's limit) */
#define WRITER_MAX_NAME 63

static const size_t value_sizes[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = 1, [GGUF_TYPE_INT8] = 1, [GGUF_TYPE_UINT16] = 2, [GGUF_TYPE_INT16] = 2,
    [GGUF_TYPE_UINT32] = 4, [GGUF_TYPE_INT32] = 4, [GGUF_TYPE_FLOAT32] = 4, [GGUF_TYPE_BOOL] = 1,
    [GGUF_TYPE_STRING] = 0, [GGUF_TYPE_ARRAY] = 0, [GGUF_TYPE_UINT64] = 8, [GGUF_TYPE_INT64] = 8,
    [GGUF_TYPE_FLOAT64] = 8,
};

static const char *const value_names[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = "u8", [GGUF_TYPE_INT8] = "i8", [GGUF_TYPE_UINT16] = "u16",
    [GGUF_TYPE_INT16] = "i16", [GGUF_TYPE_UINT32] = "u32", [GGUF_TYPE_INT32] = "i32",
    [GGUF_TYPE_FLOAT32] = "f32", [GGUF_TYPE_BOOL] = "bool", [GGUF_TYPE_STRING] = "string",
    [GGUF_TYPE_ARRAY] = "array", [GGUF_TYPE_UINT64] = "u64", [GGUF_TYPE_INT64] = "i64",
    [GGUF_TYPE_FLOAT64] = "f64",
};

const char *gguf_type_name(gguf_type t) {
    return (unsigned)t < GGUF_TYPE_COUNT ? value_names[t] : "?";
}

size_t gguf_type_size(gguf_type t) { return (unsigned)t < GGUF_TYPE_COUNT ? value_sizes[t] : 0; }

bool gguf_str_eq(gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && memcmp(s.ptr, c, n) == 0;
}

static int str_cmp(gguf_str a, gguf_str b) {
    uint64_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *p;
    uint64_t size, pos;
    const char *name;      /* file name for messages */
    gguf_file *g;
} cursor;

static uint64_t remaining(const cursor *c) { return c->size - c->pos; }

/* Copy n bytes out of the file, or fail naming what was being read. */
static int take(cursor *c, void *dst, uint64_t n, const char *what) {
    if (n > remaining(c))
        return seek_error("%s: file is truncated: %s at offset %llu needs %llu bytes, %llu left",
                          c->name, what, (unsigned long long)c->pos, (unsigned long long)n,
                          (unsigned long long)remaining(c));
    memcpy(dst, c->p + c->pos, n);
    c->pos += n;
    return 0;
}

static int take_u32(cursor *c, uint32_t *v, const char *what) { return take(c, v, 4, what); }
static int take_u64(cursor *c, uint64_t *v, const char *what) { return take(c, v, 8, what); }

static int take_str(cursor *c, gguf_str *s, uint64_t max_len, const char *what) {
    uint64_t len = 0;
    if (take_u64(c, &len, what)) return -1;
    if (len > remaining(c))
        return seek_error("%s: %s at offset %llu has length %llu, past the end of the file",
                          c->name, what, (unsigned long long)(c->pos - 8), (unsigned long long)len);
    if (len > max_len)
        return seek_error("%s: %s at offset %llu is %llu bytes long (limit %llu)", c->name, what,
                          (unsigned long long)(c->pos - 8), (unsigned long long)len,
                          (unsigned long long)max_len);
    s->ptr = (const char *)c->p + c->pos;
    s->len = len;
    c->pos += len;
    return 0;
}

static void *own(gguf_file *g, void *p) {
    if (!p) return NULL;
    if (seek_reserve(&g->owned, &g->cap_owned, g->n_owned + 1, sizeof *g->owned, 16)) {
        free(p);
        return NULL;
    }
    g->owned[g->n_owned++] = p;
    return p;
}

/* Smallest number of bytes one element of `t` can take in a file (to bound counts). */
static uint64_t min_elem_bytes(gguf_type t) {
    if (t == GGUF_TYPE_STRING) return 8;        /* u64 length */
    if (t == GGUF_TYPE_ARRAY) return 12;        /* u32 type + u64 count */
    return value_sizes[t];
}

static int read_value(cursor *c, gguf_type type, gguf_value *v, int depth, const char *key);

static int read_array(cursor *c, gguf_value *v, int depth, const char *key) {
    uint32_t et = 0;
    uint64_t n = 0;
    if (take_u32(c, &et, "array element type") || take_u64(c, &n, "array length")) return -1;
    if (et >= GGUF_TYPE_COUNT)
        return seek_error("%s: key '%s': array element type %u is not a GGUF value type", c->name,
                          key, et);
    if (et == GGUF_TYPE_ARRAY && depth + 1 >= MAX_ARRAY_DEPTH)
        return seek_error("%s: key '%s': arrays nested deeper than %d levels", c->name, key,
                          MAX_ARRAY_DEPTH);
    /* Every element takes at least min_elem_bytes: a count that cannot fit is a lie. */
    if (n > remaining(c) / min_elem_bytes(et))
        return seek_error("%s: key '%s': array of %llu %s elements does not fit in the %llu bytes "
                          "left in the file", c->name, key, (unsigned long long)n,
                          value_names[et], (unsigned long long)remaining(c));
    v->type = GGUF_TYPE_ARRAY;
    v->arr.type = et;
    v->arr.n = n;
    if (et == GGUF_TYPE_STRING) {
        gguf_str *s = own(c->g, seek_calloc(n, sizeof *s));
        if (!s) return -1;
        char what[160];
        snprintf(what, sizeof what, "string in the array of key '%s'", key);
        for (uint64_t i = 0; i < n; i++)
            if (take_str(c, &s[i], UINT64_MAX, what)) return -1;
        v->arr.data = s;
    } else if (et == GGUF_TYPE_ARRAY) {
        gguf_value *items = own(c->g, seek_calloc(n, sizeof *items));
        if (!items) return -1;
        for (uint64_t i = 0; i < n; i++)
            if (read_value(c, GGUF_TYPE_ARRAY, &items[i], depth + 1, key)) return -1;
        v->arr.data = items;
    } else {
        uint64_t bytes = n * value_sizes[et];   /* cannot overflow: bounded by remaining() */
        v->arr.data = c->p + c->pos;
        if (et == GGUF_TYPE_BOOL)
            for (uint64_t i = 0; i < n; i++)
                if (c->p[c->pos + i] > 1)
                    return seek_error("%s: key '%s': bool array element %llu has value %u", c->name,
                                      key, (unsigned long long)i, c->p[c->pos + i]);
        c->pos += bytes;
    }
    return 0;
}

static int read_value(cursor *c, gguf_type type, gguf_value *v, int depth, const char *key) {
    memset(v, 0, sizeof *v);
    v->type = type;
    switch (type) {
    case GGUF_TYPE_UINT8: { uint8_t x = 0; if (take(c, &x, 1, "u8 value")) return -1; v->u64 = x; break; }
    case GGUF_TYPE_INT8: { int8_t x = 0; if (take(c, &x, 1, "i8 value")) return -1; v->i64 = x; break; }
    case GGUF_TYPE_UINT16: { uint16_t x = 0; if (take(c, &x, 2, "u16 value")) return -1; v->u64 = x; break; }
    case GGUF_TYPE_INT16: { int16_t x = 0; if (take(c, &x, 2, "i16 value")) return -1; v->i64 = x; break; }
    case GGUF_TYPE_UINT32: { uint32_t x = 0; if (take(c, &x, 4, "u32 value")) return -1; v->u64 = x; break; }
    case GGUF_TYPE_INT32: { int32_t x = 0; if (take(c, &x, 4, "i32 value")) return -1; v->i64 = x; break; }
    case GGUF_TYPE_UINT64: { uint64_t x = 0; if (take(c, &x, 8, "u64 value")) return -1; v->u64 = x; break; }
    case GGUF_TYPE_INT64: { int64_t x = 0; if (take(c, &x, 8, "i64 value")) return -1; v->i64 = x; break; }
    case GGUF_TYPE_FLOAT32: { float x = 0; if (take(c, &x, 4, "f32 value")) return -1; v->f64 = x; break; }
    case GGUF_TYPE_FLOAT64: { double x = 0; if (take(c, &x, 8, "f64 value")) return -1; v->f64 = x; break; }
    case GGUF_TYPE_BOOL: {
        uint8_t x = 0;
        if (take(c, &x, 1, "bool value")) return -1;
        if (x > 1) return seek_error("%s: key '%s': bool value is %u (must be 0 or 1)", c->name, key, x);
        v->b = x;
        break;
    }
    case GGUF_TYPE_STRING: {
        char what[160];
        snprintf(what, sizeof what, "string value of key '%s'", key);
        if (take_str(c, &v->str, UINT64_MAX, what)) return -1;
        break;
    }
    case GGUF_TYPE_ARRAY:
        return read_array(c, v, depth, key);
    default:
        return seek_error("%s: key '%s': value type %u is not a GGUF value type", c->name, key, (unsigned)type);
    }
    return 0;
}

/* qsort_r helpers: we sort index arrays, keeping kv[] and tensors[] in file order. */
static int cmp_kv_idx(const void *a, const void *b, void *ctx) {
    const gguf_file *g = ctx;
    return str_cmp(g->kv[*(const uint32_t *)a].key, g->kv[*(const uint32_t *)b].key);
}
static int cmp_tensor_idx(const void *a, const void *b, void *ctx) {
    const gguf_file *g = ctx;
    return str_cmp(g->tensors[*(const uint32_t *)a].name, g->tensors[*(const uint32_t *)b].name);
}

/* Build a sorted index and reject duplicates. */
static uint32_t *sorted_index(gguf_file *g, uint64_t n, int (*cmp)(const void *, const void *, void *),
                              gguf_str (*name_of)(const gguf_file *, uint32_t), const char *what,
                              const char *fname) {
    uint32_t *idx = own(g, seek_malloc((n ? n : 1) * sizeof *idx));
    if (!idx) return NULL;
    for (uint64_t i = 0; i < n; i++) idx[i] = (uint32_t)i;
    qsort_r(idx, n, sizeof *idx, cmp, g);
    for (uint64_t i = 1; i < n; i++) {
        gguf_str a = name_of(g, idx[i - 1]), b = name_of(g, idx[i]);
        if (str_cmp(a, b) == 0) {
            seek_error("%s: duplicate %s '%.*s'", fname, what, (int)(a.len > 200 ? 200 : a.len), a.ptr);
            return NULL;
        }
    }
    return idx;
}
static gguf_str kv_name(const gguf_file *g, uint32_t i) { return g->kv[i].key; }
static gguf_str tensor_name(const gguf_file *g, uint32_t i) { return g->tensors[i].name; }

/* Printable copy of a (possibly hostile) string for messages. */
static const char *shown(gguf_str s, char *buf, size_t cap) {
    size_t n = s.len < cap - 1 ? (size_t)s.len : cap - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s.ptr[i];
        buf[i] = (ch >= 32 && ch < 127) ? (char)ch : '?';
    }
    buf[n] = 0;
    return buf;
}

static int parse_tensor_info(cursor *c, gguf_tensor *t, uint64_t i) {
    char nb[128];
    char what[64];
    snprintf(what, sizeof what, "name of tensor %llu", (unsigned long long)i);
    if (take_str(c, &t->name, MAX_NAME_LEN, what)) return -1;
    shown(t->name, nb, sizeof nb);
    if (take_u32(c, &t->n_dims, "tensor dimension count")) return -1;
    if (t->n_dims > GGUF_MAX_DIMS)
        return seek_error("%s: tensor '%s' has %u dimensions (at most %d)", c->name, nb, t->n_dims,
                          GGUF_MAX_DIMS);
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t ne = 0;
        if (take_u64(c, &ne, "tensor dimension")) return -1;
        if (ne > (uint64_t)INT64_MAX)
            return seek_error("%s: tensor '%s' dimension %u is %llu (negative or too large)", c->name,
                              nb, d, (unsigned long long)ne);
        t->ne[d] = (int64_t)ne;
    }
    uint32_t type = 0;
    if (take_u32(c, &type, "tensor type") || take_u64(c, &t->offset, "tensor offset")) return -1;
    const seek_type_info *ti = seek_type_get(type);
    if (!ti)
        return seek_error("%s: tensor '%s' has unknown type id %u", c->name, nb, type);
    t->type = (seek_type)type;
    if (t->ne[0] % ti->block_size != 0)
        return seek_error("%s: tensor '%s': row length %lld is not a multiple of the %s block size %d",
                          c->name, nb, (long long)t->ne[0], ti->name, ti->block_size);
    /* nbytes = row bytes * rows, with overflow checks on every product */
    uint64_t rows = 1, bytes;
    for (int d = 1; d < GGUF_MAX_DIMS; d++)
        if (!seek_mul_ok(rows, (uint64_t)t->ne[d], &rows))
            return seek_error("%s: tensor '%s': dimensions overflow", c->name, nb);
    uint64_t blocks = (uint64_t)t->ne[0] / (uint64_t)ti->block_size;
    if (!seek_mul_ok(blocks, (uint64_t)ti->type_size, &bytes) || !seek_mul_ok(bytes, rows, &bytes))
        return seek_error("%s: tensor '%s': size overflows", c->name, nb);
    t->nbytes = bytes;
    return 0;
}

gguf_file *gguf_parse(const uint8_t *data, uint64_t size, const char *name) {
    gguf_file *g = seek_calloc(1, sizeof *g);
    if (!g) return NULL;
    cursor c = {.p = data, .size = size, .pos = 0, .name = name, .g = g};
    char nb[128];

    char magic[4];
    if (size < 4 || memcmp(data, "GGUF", 4) != 0) {
        if (size >= 4) {
            memcpy(magic, data, 4);
            gguf_str m = {magic, 4};
            seek_error("%s: not a GGUF file (starts with '%s', expected 'GGUF')", name, shown(m, nb, sizeof nb));
        } else {
            seek_error("%s: not a GGUF file (only %llu bytes)", name, (unsigned long long)size);
        }
        goto fail;
    }
    c.pos = 4;
    if (take_u32(&c, &g->version, "version")) goto fail;
    if (g->version == 1) { seek_error("%s: GGUF version 1 is not supported (only 2 and 3)", name); goto fail; }
    if (g->version > 0xffff && (g->version & 0xffff) == 0) {
        seek_error("%s: big-endian GGUF files are not supported", name);
        goto fail;
    }
    if (g->version != 2 && g->version != 3) {
        seek_error("%s: unsupported GGUF version %u (only 2 and 3)", name, g->version);
        goto fail;
    }
    if (take_u64(&c, &g->n_tensors, "tensor count") || take_u64(&c, &g->n_kv, "metadata count")) goto fail;
    /* A key/value takes at least 13 bytes (u64 key length, u32 type, 1-byte value);
     * a tensor info at least 24 (u64 name length, u32 dims, u32 type, u64 offset). */
    if (g->n_kv > remaining(&c) / 13) {
        seek_error("%s: metadata count %llu cannot fit in a %llu-byte file", name,
                   (unsigned long long)g->n_kv, (unsigned long long)size);
        goto fail;
    }
    if (g->n_tensors > remaining(&c) / 24 || g->n_tensors > UINT32_MAX) {
        seek_error("%s: tensor count %llu cannot fit in a %llu-byte file", name,
                   (unsigned long long)g->n_tensors, (unsigned long long)size);
        goto fail;
    }

    g->kv = seek_calloc(g->n_kv, sizeof *g->kv);
    g->tensors = seek_calloc(g->n_tensors, sizeof *g->tensors);
    if (!g->kv || !g->tensors) goto fail;

    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        gguf_kv *kv = &g->kv[i];
        uint32_t type = 0;
        if (take_str(&c, &kv->key, MAX_KEY_LEN, "metadata key")) goto fail;
        shown(kv->key, nb, sizeof nb);
        if (kv->key.len == 0) { seek_error("%s: metadata key %llu is empty", name, (unsigned long long)i); goto fail; }
        if (take_u32(&c, &type, "metadata value type")) goto fail;
        if (type >= GGUF_TYPE_COUNT) {
            seek_error("%s: key '%s' has unknown value type %u", name, nb, type);
            goto fail;
        }
        if (read_value(&c, (gguf_type)type, &kv->value, 0, nb)) goto fail;
        if (gguf_str_eq(kv->key, "general.alignment")) {
            if (kv->value.type != GGUF_TYPE_UINT32) {
                seek_error("%s: general.alignment must be a u32, found %s", name, value_names[type]);
                goto fail;
            }
            uint64_t a = kv->value.u64;
            if (a == 0 || (a & (a - 1)) != 0) {
                seek_error("%s: general.alignment %llu is not a power of two", name, (unsigned long long)a);
                goto fail;
            }
            g->alignment = (uint32_t)a;
        }
    }
    uint32_t *kv_idx = sorted_index(g, g->n_kv, cmp_kv_idx, kv_name, "metadata key", name);
    if (!kv_idx) goto fail;

    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (parse_tensor_info(&c, &g->tensors[i], i)) goto fail;
    uint32_t *t_idx = sorted_index(g, g->n_tensors, cmp_tensor_idx, tensor_name, "tensor", name);
    if (!t_idx) goto fail;

    /* The data section starts at the next multiple of the alignment. */
    uint64_t pad = (g->alignment - c.pos % g->alignment) % g->alignment;
    g->data_offset = c.pos + pad;
    if (g->n_tensors > 0 && g->data_offset > size) {
        seek_error("%s: file is truncated: tensor data would start at offset %llu, past its end (%llu)",
                   name, (unsigned long long)g->data_offset, (unsigned long long)size);
        goto fail;
    }
    uint64_t data_size = g->data_offset <= size ? size - g->data_offset : 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        shown(t->name, nb, sizeof nb);
        if (t->offset % g->alignment != 0) {
            seek_error("%s: tensor '%s' data offset %llu is not a multiple of the alignment %u", name,
                       nb, (unsigned long long)t->offset, g->alignment);
            goto fail;
        }
        if (t->offset > data_size || t->nbytes > data_size - t->offset) {
            seek_error("%s: tensor '%s' (%llu bytes at data offset %llu) extends past the end of the "
                       "file (data section is %llu bytes; truncated download?)", name, nb,
                       (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                       (unsigned long long)data_size);
            goto fail;
        }
        t->data = data + g->data_offset + t->offset;
    }
    g->kv_sorted = kv_idx;
    g->tensor_sorted = t_idx;
    return g;

fail:
    gguf_close(g);
    return NULL;
}

gguf_file *gguf_open(const char *path) {
    seek_file_map m;
    if (seek_map_file(path, &m)) return NULL;
    gguf_file *g = gguf_parse(m.data, m.size, path);
    if (!g) {
        seek_unmap_file(&m);
        return NULL;
    }
    g->map = m;
    g->path = seek_strdup(path);
    return g;
}

void gguf_close(gguf_file *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_owned; i++) free(g->owned[i]);
    free(g->owned);
    free(g->kv);
    free(g->tensors);
    free(g->path);
    seek_unmap_file(&g->map);
    free(g);
}

/* ---- lookups ---- */

/* Binary search of a sorted index; returns the position in file order or -1. */
static int64_t find_sorted(const gguf_file *g, const uint32_t *idx, uint64_t n,
                           gguf_str (*name_of)(const gguf_file *, uint32_t), const char *name) {
    gguf_str k = {name, strlen(name)};
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        int c = str_cmp(name_of(g, idx[mid]), k);
        if (c == 0) return idx[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

const gguf_value *gguf_get(const gguf_file *g, const char *key) {
    int64_t i = find_sorted(g, g->kv_sorted, g->n_kv, kv_name, key);
    return i < 0 ? NULL : &g->kv[i].value;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name) {
    int64_t i = find_sorted(g, g->tensor_sorted, g->n_tensors, tensor_name, name);
    return i < 0 ? NULL : &g->tensors[i];
}

static bool is_unsigned(gguf_type t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_UINT64;
}
static bool is_signed(gguf_type t) {
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
}

bool gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return false;
    if (is_unsigned(v->type)) { *out = v->u64; return true; }
    if (is_signed(v->type) && v->i64 >= 0) { *out = (uint64_t)v->i64; return true; }
    return false;
}

bool gguf_get_i64(const gguf_file *g, const char *key, int64_t *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return false;
    if (is_signed(v->type)) { *out = v->i64; return true; }
    if (is_unsigned(v->type) && v->u64 <= (uint64_t)INT64_MAX) { *out = (int64_t)v->u64; return true; }
    return false;
}

bool gguf_get_u32(const gguf_file *g, const char *key, uint32_t *out) {
    uint64_t x;
    if (!gguf_get_u64(g, key, &x) || x > UINT32_MAX) return false;
    *out = (uint32_t)x;
    return true;
}

bool gguf_get_f32(const gguf_file *g, const char *key, float *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v) return false;
    if (v->type == GGUF_TYPE_FLOAT32 || v->type == GGUF_TYPE_FLOAT64) *out = (float)v->f64;
    else if (is_unsigned(v->type)) *out = (float)v->u64;
    else if (is_signed(v->type)) *out = (float)v->i64;
    else return false;
    return true;
}

bool gguf_get_bool(const gguf_file *g, const char *key, bool *out) {
    const gguf_value *v = gguf_get(g, key);
    if (!v || v->type != GGUF_TYPE_BOOL) return false;
    *out = v->b;
    return true;
}

char *gguf_get_string(const gguf_file *g, const char *key) {
    const gguf_value *v = gguf_get(g, key);
    if (!v || v->type != GGUF_TYPE_STRING) return NULL;
    return seek_strndup(v->str.ptr, (size_t)v->str.len);
}

const gguf_value *gguf_get_array(const gguf_file *g, const char *key, gguf_type elem) {
    const gguf_value *v = gguf_get(g, key);
    if (!v || v->type != GGUF_TYPE_ARRAY || v->arr.type != elem) return NULL;
    return v;
}

uint64_t gguf_arr_u64(const gguf_value *a, uint64_t i) {
    const uint8_t *p = (const uint8_t *)a->arr.data + i * value_sizes[a->arr.type];
    switch (a->arr.type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_BOOL: return p[0];
    case GGUF_TYPE_UINT16: { uint16_t x; memcpy(&x, p, 2); return x; }
    case GGUF_TYPE_UINT32: { uint32_t x; memcpy(&x, p, 4); return x; }
    case GGUF_TYPE_UINT64: { uint64_t x; memcpy(&x, p, 8); return x; }
    default: return (uint64_t)gguf_arr_i64(a, i);
    }
}

int64_t gguf_arr_i64(const gguf_value *a, uint64_t i) {
    const uint8_t *p = (const uint8_t *)a->arr.data + i * value_sizes[a->arr.type];
    switch (a->arr.type) {
    case GGUF_TYPE_INT8: return (int8_t)p[0];
    case GGUF_TYPE_INT16: { int16_t x; memcpy(&x, p, 2); return x; }
    case GGUF_TYPE_INT32: { int32_t x; memcpy(&x, p, 4); return x; }
    case GGUF_TYPE_INT64: { int64_t x; memcpy(&x, p, 8); return x; }
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
    case GGUF_TYPE_BOOL:
        return (int64_t)gguf_arr_u64(a, i);
    case GGUF_TYPE_FLOAT32: case GGUF_TYPE_FLOAT64: {   /* truncate, saturating: no UB on wild values */
        double f = gguf_arr_f64(a, i);
        if (!(f == f)) return 0;
        if (f >= 9.2233720368547758e18) return INT64_MAX;
        if (f <= -9.2233720368547758e18) return INT64_MIN;
        return (int64_t)f;
    }
    default: return 0;
    }
}

double gguf_arr_f64(const gguf_value *a, uint64_t i) {
    const uint8_t *p = (const uint8_t *)a->arr.data + i * value_sizes[a->arr.type];
    switch (a->arr.type) {
    case GGUF_TYPE_FLOAT32: { float x; memcpy(&x, p, 4); return x; }
    case GGUF_TYPE_FLOAT64: { double x; memcpy(&x, p, 8); return x; }
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        return (double)gguf_arr_i64(a, i);
    default: return (double)gguf_arr_u64(a, i);
    }
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                  */
/* ------------------------------------------------------------------------ */

typedef struct {            /* a growable byte buffer */
    uint8_t *p;
    size_t n, cap;
} buf;

static int buf_put(buf *b, const void *data, size_t n) {
    if (seek_reserve(&b->p, &b->cap, b->n + n, 1, 64)) return -1;
    if (n) memcpy(b->p + b->n, data, n);
    b->n += n;
    return 0;
}
static int buf_u32(buf *b, uint32_t v) { return buf_put(b, &v, 4); }
static int buf_u64(buf *b, uint64_t v) { return buf_put(b, &v, 8); }
static int buf_str(buf *b, const char *s, uint64_t n) { return buf_u64(b, n) || buf_put(b, s, n); }

typedef struct {
    char *key;
    buf val;                /* encoded: u32 type + payload */
} wkv;

typedef struct {
    char *name;
    seek_type type;
    uint32_t n_dims;
    int64_t ne[GGUF_MAX_DIMS];
    uint64_t nbytes;
    const void *data;
    void *owned;
} wtensor;

struct gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
    uint32_t alignment;
};

gguf_writer *gguf_writer_new(void) {
    gguf_writer *w = seek_calloc(1, sizeof *w);
    if (w) w->alignment = GGUF_DEFAULT_ALIGNMENT;
    return w;
}

void gguf_writer_free(gguf_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) { free(w->kv[i].key); free(w->kv[i].val.p); }
    for (size_t i = 0; i < w->n_t; i++) { free(w->t[i].name); free(w->t[i].owned); }
    free(w->kv);
    free(w->t);
    free(w);
}

/* The slot for `key`: the existing one (emptied) or a new one at the end. */
static buf *kv_slot(gguf_writer *w, const char *key) {
    size_t klen = strlen(key);
    if (klen == 0 || klen > MAX_KEY_LEN) {
        seek_error("gguf writer: invalid metadata key (length %zu)", klen);
        return NULL;
    }
    for (size_t i = 0; i < w->n_kv; i++)
        if (!strcmp(w->kv[i].key, key)) {
            w->kv[i].val.n = 0;
            return &w->kv[i].val;
        }
    if (seek_reserve(&w->kv, &w->cap_kv, w->n_kv + 1, sizeof *w->kv, 32)) return NULL;
    wkv *kv = &w->kv[w->n_kv];
    memset(kv, 0, sizeof *kv);
    if (!(kv->key = seek_strdup(key))) return NULL;
    w->n_kv++;
    return &kv->val;
}

static int set_scalar(gguf_writer *w, const char *key, gguf_type t, const void *v) {
    buf *b = kv_slot(w, key);
    if (!b || buf_u32(b, t) || buf_put(b, v, value_sizes[t])) return -1;
    if (!strcmp(key, "general.alignment")) {
        uint32_t a = 0;
        if (t == GGUF_TYPE_UINT32) memcpy(&a, v, 4);
        if (a == 0 || (a & (a - 1)))
            return seek_error("gguf writer: general.alignment must be a u32 power of two");
        w->alignment = a;
    }
    return 0;
}

int gguf_set_u8(gguf_writer *w, const char *k, uint8_t v) { return set_scalar(w, k, GGUF_TYPE_UINT8, &v); }
int gguf_set_i8(gguf_writer *w, const char *k, int8_t v) { return set_scalar(w, k, GGUF_TYPE_INT8, &v); }
int gguf_set_u16(gguf_writer *w, const char *k, uint16_t v) { return set_scalar(w, k, GGUF_TYPE_UINT16, &v); }
int gguf_set_i16(gguf_writer *w, const char *k, int16_t v) { return set_scalar(w, k, GGUF_TYPE_INT16, &v); }
int gguf_set_u32(gguf_writer *w, const char *k, uint32_t v) { return set_scalar(w, k, GGUF_TYPE_UINT32, &v); }
int gguf_set_i32(gguf_writer *w, const char *k, int32_t v) { return set_scalar(w, k, GGUF_TYPE_INT32, &v); }
int gguf_set_u64(gguf_writer *w, const char *k, uint64_t v) { return set_scalar(w, k, GGUF_TYPE_UINT64, &v); }
int gguf_set_i64(gguf_writer *w, const char *k, int64_t v) { return set_scalar(w, k, GGUF_TYPE_INT64, &v); }
int gguf_set_f32(gguf_writer *w, const char *k, float v) { return set_scalar(w, k, GGUF_TYPE_FLOAT32, &v); }
int gguf_set_f64(gguf_writer *w, const char *k, double v) { return set_scalar(w, k, GGUF_TYPE_FLOAT64, &v); }
int gguf_set_bool(gguf_writer *w, const char *k, bool v) {
    uint8_t x = v ? 1 : 0;
    return set_scalar(w, k, GGUF_TYPE_BOOL, &x);
}

int gguf_set_str(gguf_writer *w, const char *key, const char *v) {
    buf *b = kv_slot(w, key);
    return (!b || buf_u32(b, GGUF_TYPE_STRING) || buf_str(b, v, strlen(v))) ? -1 : 0;
}

int gguf_set_arr_data(gguf_writer *w, const char *key, gguf_type elem, const void *data, uint64_t n) {
    if ((unsigned)elem >= GGUF_TYPE_COUNT || value_sizes[elem] == 0)
        return seek_error("gguf writer: key '%s': gguf_set_arr_data needs a numeric element type", key);
    uint64_t bytes;
    if (!seek_mul_ok(n, value_sizes[elem], &bytes) || bytes > SIZE_MAX)
        return seek_error("gguf writer: key '%s': array too large", key);
    buf *b = kv_slot(w, key);
    return (!b || buf_u32(b, GGUF_TYPE_ARRAY) || buf_u32(b, elem) || buf_u64(b, n) ||
            buf_put(b, data, (size_t)bytes)) ? -1 : 0;
}

int gguf_set_arr_str(gguf_writer *w, const char *key, const char *const *strs, uint64_t n) {
    buf *b = kv_slot(w, key);
    if (!b || buf_u32(b, GGUF_TYPE_ARRAY) || buf_u32(b, GGUF_TYPE_STRING) || buf_u64(b, n)) return -1;
    for (uint64_t i = 0; i < n; i++)
        if (buf_str(b, strs[i], strlen(strs[i]))) return -1;
    return 0;
}

/* Encode a reader value (payload only, no leading type for array items' own type). */
static int encode_value(buf *b, const gguf_value *v, bool with_type) {
    if (with_type && buf_u32(b, v->type)) return -1;
    switch (v->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: {
        uint8_t x = v->type == GGUF_TYPE_BOOL ? v->b : (uint8_t)v->u64;
        return buf_put(b, &x, 1);
    }
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: { uint16_t x = (uint16_t)v->u64; return buf_put(b, &x, 2); }
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: { uint32_t x = (uint32_t)v->u64; return buf_put(b, &x, 4); }
    case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: return buf_put(b, &v->u64, 8);
    case GGUF_TYPE_FLOAT32: { float x = (float)v->f64; return buf_put(b, &x, 4); }
    case GGUF_TYPE_FLOAT64: return buf_put(b, &v->f64, 8);
    case GGUF_TYPE_STRING: return buf_str(b, v->str.ptr, v->str.len);
    case GGUF_TYPE_ARRAY: {
        gguf_type et = v->arr.type;
        if (buf_u32(b, et) || buf_u64(b, v->arr.n)) return -1;
        if (et == GGUF_TYPE_STRING) {
            const gguf_str *s = v->arr.data;
            for (uint64_t i = 0; i < v->arr.n; i++)
                if (buf_str(b, s[i].ptr, s[i].len)) return -1;
            return 0;
        }
        if (et == GGUF_TYPE_ARRAY) {
            const gguf_value *items = v->arr.data;
            for (uint64_t i = 0; i < v->arr.n; i++)
                if (encode_value(b, &items[i], false)) return -1;
            return 0;
        }
        return buf_put(b, v->arr.data, (size_t)(v->arr.n * value_sizes[et]));
    }
    default:
        return seek_error("gguf writer: invalid value type %d", (int)v->type);
    }
}

int gguf_set_value(gguf_writer *w, const char *key, const gguf_value *v) {
    if (!strcmp(key, "general.alignment")) {
        if (v->type != GGUF_TYPE_UINT32) return seek_error("gguf writer: general.alignment must be a u32");
        return gguf_set_u32(w, key, (uint32_t)v->u64);
    }
    buf *b = kv_slot(w, key);
    return (!b || encode_value(b, v, true)) ? -1 : 0;
}

int gguf_copy_metadata(gguf_writer *w, const gguf_file *g, bool (*skip)(const char *key, void *ud), void *ud) {
    for (uint64_t i = 0; i < g->n_kv; i++) {
        char *key = seek_strndup(g->kv[i].key.ptr, g->kv[i].key.len);
        if (!key) return seek_error("gguf writer: out of memory");
        const int rc = skip && skip(key, ud) ? 0 : gguf_set_value(w, key, &g->kv[i].value);
        free(key);
        if (rc) return -1;
    }
    return 0;
}

int gguf_add_tensor(gguf_writer *w, const char *name, seek_type type, uint32_t n_dims,
                    const int64_t *ne, const void *data, bool borrow) {
    const seek_type_info *ti = seek_type_get(type);
    size_t nlen = strlen(name);
    if (nlen == 0 || nlen > WRITER_MAX_NAME)
        return seek_error("gguf writer: tensor name '%s' must be 1 to %d bytes", name, WRITER_MAX_NAME);
    if (!ti) return seek_error("gguf writer: tensor '%s': unknown type %d", name, (int)type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return seek_error("gguf writer: tensor '%s': %u dimensions (1 to %d allowed)", name, n_dims, GGUF_MAX_DIMS);
    for (size_t i = 0; i < w->n_t; i++)
        if (!strcmp(w->t[i].name, name)) return seek_error("gguf writer: duplicate tensor '%s'", name);
    uint64_t rows = 1, bytes;
    for (uint32_t d = 0; d < n_dims; d++) {
        if (ne[d] < 0) return seek_error("gguf writer: tensor '%s': negative dimension", name);
        if (d > 0 && !seek_mul_ok(rows, (uint64_t)ne[d], &rows))
            return seek_error("gguf writer: tensor '%s': dimensions overflow", name);
    }
    if (ne[0] % ti->block_size)
        return seek_error("gguf writer: tensor '%s': row length %lld is not a multiple of the %s block size %d",
                          name, (long long)ne[0], ti->name, ti->block_size);
    if (!seek_mul_ok((uint64_t)ne[0] / ti->block_size * ti->type_size, rows, &bytes) || bytes > SIZE_MAX)
        return seek_error("gguf writer: tensor '%s': size overflows", name);
    if (seek_reserve(&w->t, &w->cap_t, w->n_t + 1, sizeof *w->t, 64)) return -1;
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    t->type = type;
    t->n_dims = n_dims;
    for (int d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = d < (int)n_dims ? ne[d] : 1;
    t->nbytes = bytes;
    if (!(t->name = seek_strdup(name))) return -1;
    if (borrow) {
        t->data = data;
    } else {
        if (!(t->owned = seek_malloc((size_t)bytes))) { free(t->name); return -1; }
        if (bytes) memcpy(t->owned, data, (size_t)bytes);
        t->data = t->owned;
    }
    w->n_t++;
    return 0;
}

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

static int write_all(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

/* Header + metadata + tensor infos, then padding to the data section (none for a
 * tensor-less file, like the ecosystem's writer). */
static int build_header(const gguf_writer *w, buf *h) {
    uint32_t version = 3;
    if (buf_put(h, "GGUF", 4) || buf_u32(h, version) || buf_u64(h, w->n_t) || buf_u64(h, w->n_kv))
        return -1;
    for (size_t i = 0; i < w->n_kv; i++)
        if (buf_str(h, w->kv[i].key, strlen(w->kv[i].key)) || buf_put(h, w->kv[i].val.p, w->kv[i].val.n))
            return -1;
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        if (buf_str(h, t->name, strlen(t->name)) || buf_u32(h, t->n_dims)) return -1;
        for (uint32_t d = 0; d < t->n_dims; d++)
            if (buf_u64(h, (uint64_t)t->ne[d])) return -1;
        if (buf_u32(h, (uint32_t)t->type) || buf_u64(h, off)) return -1;
        off = align_up(off + t->nbytes, w->alignment);
    }
    static const uint8_t zeros[256];
    uint64_t pad = w->n_t ? align_up(h->n, w->alignment) - h->n : 0;
    for (; pad; ) {
        size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
        if (buf_put(h, zeros, k)) return -1;
        pad -= k;
    }
    return 0;
}

int gguf_write(gguf_writer *w, const char *path) {
    /* Header + metadata + tensor infos go into one buffer; data is streamed after. */
    buf h = {0};
    int rc = -1;
    for (size_t i = 0; i < w->n_t; i++)
        if (!w->t[i].data && w->t[i].nbytes) {
            seek_error("gguf writer: tensor '%s' has no data (use gguf_stream_*)", w->t[i].name);
            goto out;
        }
    if (build_header(w, &h)) goto out;

    size_t plen = strlen(path);
    char *tmp = seek_malloc(plen + 16);
    if (!tmp) goto out;
    snprintf(tmp, plen + 16, "%s.tmp%d", path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        seek_error("%s: cannot create: %s", path, strerror(errno));
        free(tmp);
        goto out;
    }
    static const uint8_t zeros[256];
    int err = write_all(f, h.p, h.n);
    uint64_t pad;
    for (size_t i = 0; i < w->n_t && !err; i++) {
        wtensor *t = &w->t[i];
        err = write_all(f, t->data, (size_t)t->nbytes);
        pad = align_up(t->nbytes, w->alignment) - t->nbytes;
        while (!err && pad) {
            size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
            err = write_all(f, zeros, k);
            pad -= k;
        }
    }
    if (fclose(f) != 0) err = -1;
    if (err) {
        seek_error("%s: write failed: %s", path, strerror(errno));
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        seek_error("%s: cannot rename from %s: %s", path, tmp, strerror(errno));
        unlink(tmp);
    } else {
        rc = 0;
    }
    free(tmp);
out:
    free(h.p);
    return rc;
}

/* ---- streaming write ---- */

struct gguf_stream {
    const gguf_writer *w;
    FILE *f;
    char *path, *tmp;
    size_t cur;          /* tensor being written */
    uint64_t done;       /* bytes of it written so far */
};

const char *gguf_stream_tmp_path(const gguf_stream *s) { return s->tmp; }

void gguf_stream_abort(gguf_stream *s) {
    if (!s) return;
    if (s->f) fclose(s->f);
    if (s->tmp) unlink(s->tmp);
    free(s->tmp);
    free(s->path);
    free(s);
}

gguf_stream *gguf_stream_open(gguf_writer *w, const char *path) {
    gguf_stream *s = seek_calloc(1, sizeof *s);
    buf h = {0};
    if (!s) return NULL;
    s->w = w;
    size_t plen = strlen(path) + 32;
    if (!(s->path = seek_strdup(path)) || !(s->tmp = seek_malloc(plen))) goto fail;
    snprintf(s->tmp, plen, "%s.tmp-%d", path, (int)getpid());
    if (build_header(w, &h)) goto fail;
    if (!(s->f = fopen(s->tmp, "wb"))) {
        seek_error("%s: cannot create: %s", path, strerror(errno));
        free(s->tmp);
        s->tmp = NULL;   /* nothing to remove */
        goto fail;
    }
    if (write_all(s->f, h.p, h.n)) {
        seek_error("%s: write failed: %s", path, strerror(errno));
        goto fail;
    }
    free(h.p);
    return s;
fail:
    free(h.p);
    gguf_stream_abort(s);
    return NULL;
}

/* Finish tensors that are complete (padding after each), skipping empty ones. */
static int stream_advance(gguf_stream *s) {
    static const uint8_t zeros[256];
    while (s->cur < s->w->n_t && s->done == s->w->t[s->cur].nbytes) {
        for (uint64_t pad = align_up(s->done, s->w->alignment) - s->done; pad; ) {
            size_t k = pad < sizeof zeros ? (size_t)pad : sizeof zeros;
            if (write_all(s->f, zeros, k)) return seek_error("%s: write failed: %s", s->path, strerror(errno));
            pad -= k;
        }
        s->cur++;
        s->done = 0;
    }
    return 0;
}

int gguf_stream_put(gguf_stream *s, const void *data, size_t n) {
    const uint8_t *p = data;
    while (n) {
        if (stream_advance(s)) return -1;
        if (s->cur >= s->w->n_t) return seek_error("%s: more tensor data than the tensors hold", s->path);
        uint64_t room = s->w->t[s->cur].nbytes - s->done;
        size_t k = n < room ? n : (size_t)room;
        if (write_all(s->f, p, k)) return seek_error("%s: write failed: %s", s->path, strerror(errno));
        s->done += k;
        p += k;
        n -= k;
    }
    return stream_advance(s);
}

int gguf_stream_close(gguf_stream *s) {
    int rc = -1;
    if (stream_advance(s)) goto out;
    if (s->cur < s->w->n_t) {
        seek_error("%s: tensor '%s' is incomplete", s->path, s->w->t[s->cur].name);
        goto out;
    }
    FILE *f = s->f;
    s->f = NULL;
    if (fclose(f) != 0) { seek_error("%s: write failed: %s", s->path, strerror(errno)); goto out; }
    if (rename(s->tmp, s->path) != 0) { seek_error("%s: cannot rename from %s: %s", s->path, s->tmp, strerror(errno)); goto out; }
    free(s->tmp);
    s->tmp = NULL;
    rc = 0;
out:
    gguf_stream_abort(s);
    return rc;
}
