/* safetensors.c - validating reader for .safetensors files (convert's input).
 *
 * The header is JSON (parsed with jansson, duplicate keys rejected). Every
 * entry is checked before use: a known dtype, a shape of at most 8
 * non-negative dims whose element count does not overflow, data_offsets
 * [begin, end] inside the data section with end - begin equal to the size the
 * dtype and shape imply, and no two tensors overlapping. Like the reference
 * implementation we also require the tensors to cover the data section with
 * no gaps, which catches files whose offsets were shifted or truncated.
 */
#include "safetensors.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"

#define MAX_HEADER 100000000u   /* the reference reader's limit: 100 MB of JSON */

static const struct { const char *name; size_t size; } dtypes[ST_DTYPE_COUNT] = {
    [ST_F64] = {"F64", 8}, [ST_F32] = {"F32", 4}, [ST_F16] = {"F16", 2}, [ST_BF16] = {"BF16", 2},
    [ST_F8_E4M3] = {"F8_E4M3", 1}, [ST_F8_E5M2] = {"F8_E5M2", 1}, [ST_I64] = {"I64", 8},
    [ST_I32] = {"I32", 4}, [ST_I16] = {"I16", 2}, [ST_I8] = {"I8", 1}, [ST_U8] = {"U8", 1},
    [ST_BOOL] = {"BOOL", 1},
};

const char *st_dtype_name(st_dtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].name : "?"; }
size_t st_dtype_size(st_dtype d) { return (unsigned)d < ST_DTYPE_COUNT ? dtypes[d].size : 0; }

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const st_tensor *)a)->name, ((const st_tensor *)b)->name);
}

typedef struct { uint64_t begin, end; size_t idx; } span;
static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->end > y->end) - (x->end < y->end);
}

/* Parse one tensor entry into t (name already set). */
static int parse_entry(const char *fname, const char *name, json_t *e, uint64_t data_size, st_tensor *t,
                       uint64_t *begin, uint64_t *end) {
    if (!json_is_object(e)) return seek_error("%s: tensor '%s': entry is not a JSON object", fname, name);
    json_t *dt = json_object_get(e, "dtype"), *sh = json_object_get(e, "shape"),
           *off = json_object_get(e, "data_offsets");
    if (!json_is_string(dt)) return seek_error("%s: tensor '%s': missing or non-string \"dtype\"", fname, name);
    int d = -1;   /* compare lengths too: "F32\u0000x" is not F32 */
    for (int i = 0; i < ST_DTYPE_COUNT; i++)
        if (json_string_length(dt) == strlen(dtypes[i].name) && !strcmp(json_string_value(dt), dtypes[i].name))
            d = i;
    if (d < 0) return seek_error("%s: tensor '%s': unsupported dtype '%.40s'", fname, name, json_string_value(dt));
    t->dtype = (st_dtype)d;
    if (!json_is_array(sh)) return seek_error("%s: tensor '%s': missing or non-array \"shape\"", fname, name);
    size_t nd = json_array_size(sh);
    if (nd > ST_MAX_DIMS) return seek_error("%s: tensor '%s': %zu dimensions (at most %d)", fname, name, nd, ST_MAX_DIMS);
    t->n_dims = (int)nd;
    uint64_t n = 1;
    for (size_t i = 0; i < nd; i++) {
        json_t *v = json_array_get(sh, i);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return seek_error("%s: tensor '%s': shape[%zu] is not a non-negative integer", fname, name, i);
        t->shape[i] = json_integer_value(v);
        if (!seek_mul_ok(n, (uint64_t)t->shape[i], &n))
            return seek_error("%s: tensor '%s': shape is too large (element count overflows)", fname, name);
    }
    t->n_elements = n;
    if (!seek_mul_ok(n, dtypes[d].size, &t->nbytes))
        return seek_error("%s: tensor '%s': shape is too large (byte size overflows)", fname, name);
    if (!json_is_array(off) || json_array_size(off) != 2 || !json_is_integer(json_array_get(off, 0)) ||
        !json_is_integer(json_array_get(off, 1)))
        return seek_error("%s: tensor '%s': \"data_offsets\" must be [begin, end]", fname, name);
    json_int_t b = json_integer_value(json_array_get(off, 0)), en = json_integer_value(json_array_get(off, 1));
    if (b < 0 || en < b)
        return seek_error("%s: tensor '%s': invalid data_offsets [%lld, %lld]", fname, name, (long long)b, (long long)en);
    if ((uint64_t)en > data_size)
        return seek_error("%s: tensor '%s': data_offsets end %lld is past the end of the data (%llu bytes; "
                          "truncated file?)", fname, name, (long long)en, (unsigned long long)data_size);
    if ((uint64_t)(en - b) != t->nbytes)
        return seek_error("%s: tensor '%s': data_offsets span %lld bytes but %s %s needs %llu", fname, name,
                          (long long)(en - b), dtypes[d].name, nd ? "of this shape" : "scalar",
                          (unsigned long long)t->nbytes);
    *begin = (uint64_t)b;
    *end = (uint64_t)en;
    return 0;
}

st_file *st_parse(const uint8_t *data, uint64_t size, const char *name) {
    st_file *f = seek_calloc(1, sizeof *f);
    if (!f) return NULL;
    json_t *root = NULL;
    span *spans = NULL;
    uint64_t hlen;
    if (size < 8) {
        seek_error("%s: not a safetensors file (only %llu bytes)", name, (unsigned long long)size);
        goto fail;
    }
    memcpy(&hlen, data, 8);
    if (hlen > MAX_HEADER) {
        seek_error("%s: not a safetensors file (header length %llu is over the 100 MB limit)", name,
                   (unsigned long long)hlen);
        goto fail;
    }
    if (hlen > size - 8) {
        seek_error("%s: header length %llu is past the end of the file (%llu bytes; truncated?)", name,
                   (unsigned long long)hlen, (unsigned long long)size);
        goto fail;
    }
    if (hlen < 2 || data[8] != '{') {
        seek_error("%s: not a safetensors file (header does not start with '{')", name);
        goto fail;
    }
    json_error_t jerr;
    root = json_loadb((const char *)data + 8, (size_t)hlen, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!root) {
        seek_error("%s: header JSON: %s (at byte %d)", name, jerr.text, jerr.position);
        goto fail;
    }
    if (!json_is_object(root)) {
        seek_error("%s: header JSON is not an object", name);
        goto fail;
    }
    const uint8_t *base = data + 8 + hlen;
    uint64_t data_size = size - 8 - hlen;
    size_t n = json_object_size(root);
    f->tensors = seek_calloc(n, sizeof *f->tensors);
    spans = seek_calloc(n, sizeof *spans);
    if (!f->tensors || !spans) goto fail;

    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        if (!strcmp(key, "__metadata__")) {
            if (json_is_null(val)) continue;
            if (!json_is_object(val)) {
                seek_error("%s: __metadata__ is not an object", name);
                goto fail;
            }
            size_t m = json_object_size(val);
            f->meta_keys = seek_calloc(m, sizeof *f->meta_keys);
            f->meta_values = seek_calloc(m, sizeof *f->meta_values);
            if (!f->meta_keys || !f->meta_values) goto fail;
            const char *mk;
            json_t *mv;
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    seek_error("%s: __metadata__ value of '%.60s' is not a string", name, mk);
                    goto fail;
                }
                f->meta_keys[f->n_meta] = seek_strdup(mk);
                f->meta_values[f->n_meta] = seek_strdup(json_string_value(mv));
                if (!f->meta_keys[f->n_meta] || !f->meta_values[f->n_meta]) { f->n_meta++; goto fail; }
                f->n_meta++;
            }
            continue;
        }
        st_tensor *t = &f->tensors[f->n_tensors];
        if (!(t->name = seek_strdup(key))) goto fail;
        span *s = &spans[f->n_tensors];
        f->n_tensors++;
        if (parse_entry(name, key, val, data_size, t, &s->begin, &s->end)) goto fail;
        t->data = base + s->begin;
        s->idx = f->n_tensors - 1;
    }

    /* Tensors must tile the data section: sorted by offset, each starts where the last ended. */
    qsort(spans, f->n_tensors, sizeof *spans, cmp_span);
    uint64_t at = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const char *tn = f->tensors[spans[i].idx].name;
        if (spans[i].begin < at) {
            seek_error("%s: tensor '%s': data [%llu, %llu) overlaps tensor '%s' [%llu, %llu)", name, tn,
                       (unsigned long long)spans[i].begin, (unsigned long long)spans[i].end,
                       f->tensors[spans[i - 1].idx].name, (unsigned long long)spans[i - 1].begin,
                       (unsigned long long)spans[i - 1].end);
            goto fail;
        }
        if (spans[i].begin > at) {
            seek_error("%s: tensor '%s': data starts at %llu, leaving %llu bytes before it that belong "
                       "to no tensor", name, tn, (unsigned long long)spans[i].begin,
                       (unsigned long long)(spans[i].begin - at));
            goto fail;
        }
        at = spans[i].end;
    }
    if (at != data_size) {
        seek_error("%s: %llu bytes at the end of the data belong to no tensor", name,
                   (unsigned long long)(data_size - at));
        goto fail;
    }
    qsort(f->tensors, f->n_tensors, sizeof *f->tensors, cmp_name);
    free(spans);
    json_decref(root);
    return f;

fail:
    free(spans);
    json_decref(root);
    st_close(f);
    return NULL;
}

st_file *st_open(const char *path) {
    seek_file_map m;
    if (seek_map_file(path, &m)) return NULL;
    st_file *f = st_parse(m.data, m.size, path);
    if (!f) {
        seek_unmap_file(&m);
        return NULL;
    }
    f->map = m;
    f->path = seek_strdup(path);
    return f;
}

void st_close(st_file *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n_tensors; i++) free(f->tensors[i].name);
    for (size_t i = 0; i < f->n_meta; i++) { free(f->meta_keys[i]); free(f->meta_values[i]); }
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_values);
    free(f->path);
    seek_unmap_file(&f->map);
    free(f);
}

const st_tensor *st_find(const st_file *f, const char *name) {
    size_t lo = 0, hi = f->n_tensors;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(f->tensors[mid].name, name);
        if (c == 0) return &f->tensors[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

int st_to_f32(const st_tensor *t, float *dst) {
    const uint8_t *p = t->data;
    uint64_t n = t->n_elements;
    switch (t->dtype) {
    case ST_F32: memcpy(dst, p, (size_t)n * 4); break;
    case ST_F64:
        for (uint64_t i = 0; i < n; i++) { double v; memcpy(&v, p + 8 * i, 8); dst[i] = (float)v; }
        break;
    case ST_F16:
        for (uint64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = seek_fp16_to_fp32(h); }
        break;
    case ST_BF16:
        for (uint64_t i = 0; i < n; i++) { uint16_t h; memcpy(&h, p + 2 * i, 2); dst[i] = seek_bf16_to_fp32(h); }
        break;
    case ST_F8_E4M3:
        for (uint64_t i = 0; i < n; i++) dst[i] = seek_fp8_e4m3_to_fp32(p[i]);
        break;
    case ST_F8_E5M2:   /* e5m2 is the top byte of an IEEE half: same exponent width and bias */
        for (uint64_t i = 0; i < n; i++) dst[i] = seek_fp16_to_fp32((uint16_t)(p[i] << 8));
        break;
    default:
        return seek_error("tensor '%s': dtype %s cannot be converted to float", t->name, st_dtype_name(t->dtype));
    }
    return 0;
}
