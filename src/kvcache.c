/* kvcache.c - the KV cache: creation, and storing/loading rows in its element type.
 * See kvcache.h for the layout. */
#include "kvcache.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "model.h"
#include "quant.h"
#include "util.h"
#include "vec.h"

#if defined(__F16C__)
#include <immintrin.h>
#endif

bool kv_type_ok(seek_type t) {
    return t == SEEK_TYPE_F32 || t == SEEK_TYPE_F16 || t == SEEK_TYPE_BF16 || t == SEEK_TYPE_Q8_0;
}

int kv_type_parse(const char *name, seek_type *out) {
    int t = name ? seek_type_from_name(name) : -1;
    if (t < 0 || !kv_type_ok((seek_type)t))
        return seek_error("cache type '%s': expected f32, f16, bf16 or q8_0", name ? name : "");
    *out = (seek_type)t;
    return 0;
}

static int padded(seek_type t, int n) { return t == SEEK_TYPE_Q8_0 ? (n + 31) / 32 * 32 : n; }

size_t kv_row_bytes(seek_type t, int n) { return n ? seek_row_size(t, padded(t, n)) : 0; }

void kv_put(seek_type t, const float *src, uint8_t *dst, int n) {
    switch (t) {
    case SEEK_TYPE_F32: memcpy(dst, src, sizeof(float) * (size_t)n); break;
    case SEEK_TYPE_F16: {
        uint16_t *d = (uint16_t *)dst;
        int i = 0;
#if defined(__F16C__)
        for (; i + 8 <= n; i += 8)
            _mm_storeu_si128((__m128i *)(d + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
#endif
        for (; i < n; i++) d[i] = seek_fp32_to_fp16(src[i]);
        break;
    }
    case SEEK_TYPE_BF16: {
        uint16_t *d = (uint16_t *)dst;
        for (int i = 0; i < n; i++) d[i] = seek_fp32_to_bf16(src[i]);
        break;
    }
    case SEEK_TYPE_Q8_0: {
        int full = n / 32 * 32;
        seek_quant_q8_0(src, dst, full);
        if (full < n) {   /* the last block, zero-padded */
            float tail[32] = {0};
            memcpy(tail, src + full, sizeof(float) * (size_t)(n - full));
            seek_quant_q8_0(tail, dst + (size_t)full / 32 * 34, 32);
        }
        break;
    }
    default: break;   /* kv_type_ok() is checked when the cache is made */
    }
}

void kv_get(seek_type t, const uint8_t *src, int col0, int n, float *dst) {
    switch (t) {
    case SEEK_TYPE_F32: memcpy(dst, (const float *)src + col0, sizeof(float) * (size_t)n); break;
    case SEEK_TYPE_F16: {
        const uint16_t *s = (const uint16_t *)src + col0;
        int i = 0;
#if defined(__F16C__)
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(s + i))));
#endif
        for (; i < n; i++) dst[i] = vec_h2f(s[i]);
        break;
    }
    case SEEK_TYPE_BF16: {
        const uint16_t *s = (const uint16_t *)src + col0;
        for (int i = 0; i < n; i++) {
            uint32_t u = (uint32_t)s[i] << 16;
            memcpy(dst + i, &u, 4);
        }
        break;
    }
    case SEEK_TYPE_Q8_0:
        for (int b = col0 / 32, e = col0 + n; b * 32 < e; b++) {   /* the blocks the range touches */
            const uint8_t *blk = src + (size_t)b * 34;
            const float d = q_rdf16(blk);
            const int8_t *q = (const int8_t *)(blk + 2);
            const int lo = b * 32 > col0 ? 0 : col0 - b * 32, hi = b * 32 + 32 < e ? 32 : e - b * 32;
            float *o = dst + b * 32 - col0;
            for (int j = lo; j < hi; j++) o[j] = d * q[j];
        }
        break;
    default: break;
    }
}

/* ------------------------------------------------------------------------------------ */

size_t kvcache_bytes_per_token(const seek_hparams *hp, seek_type type) {
    if (hp->arch == ARCH_DEEPSEEK2) return kv_row_bytes(type, hp->kv_lora_rank + hp->n_rope) * (size_t)hp->n_layer;
    return (kv_row_bytes(type, hp->n_head_kv * hp->head_dim_k) + kv_row_bytes(type, hp->n_head_kv * hp->head_dim_v)) *
           (size_t)hp->n_layer;
}

seek_kvcache *kvcache_new_type(const seek_model *m, int n_ctx, seek_type type) {
    const seek_hparams *hp = &m->hp;
    if (n_ctx < 1) { seek_error("kv cache: context size %d must be >= 1", n_ctx); return NULL; }
    if (!kv_type_ok(type)) { seek_error("kv cache: type %d is not f32, f16, bf16 or q8_0", (int)type); return NULL; }
    seek_kvcache *c = seek_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n_ctx = n_ctx;
    c->n_layer = hp->n_layer;
    c->type = type;
    if (hp->arch == ARCH_DEEPSEEK2) {
        c->k_dim = hp->kv_lora_rank + hp->n_rope;
        c->v_dim = 0;
    } else {
        c->k_dim = hp->n_head_kv * hp->head_dim_k;
        c->v_dim = hp->n_head_kv * hp->head_dim_v;
    }
    c->k_row = kv_row_bytes(type, c->k_dim);
    c->v_row = kv_row_bytes(type, c->v_dim);
    uint64_t nk, nv;
    if (!seek_mul_ok((uint64_t)n_ctx * hp->n_layer, c->k_row, &nk) ||
        !seek_mul_ok((uint64_t)n_ctx * hp->n_layer, c->v_row, &nv) || nk > SIZE_MAX || nv > SIZE_MAX) {
        seek_error("kv cache: %d positions do not fit in memory", n_ctx);
        free(c);
        return NULL;
    }
    /* 2 MiB pages where the kernel grants them: a prompt's first pass writes its cache rows
     * into untouched memory, and 4 KiB first-touch faults cost ~12 us each on some VMs here
     * (the first 512-token prompt of the 1.5B: ~3.6k faults in kv_put, docs/kernels.md) */
    c->k = seek_alloc_work((size_t)nk);
    c->v = nv ? seek_alloc_work((size_t)nv) : NULL;
    if (!c->k || (nv && !c->v)) { kvcache_free(c); return NULL; }
    return c;
}

seek_kvcache *kvcache_new(const seek_model *m, int n_ctx) { return kvcache_new_type(m, n_ctx, SEEK_TYPE_F32); }

void kvcache_free(seek_kvcache *c) {
    if (!c) return;
    const size_t rows = (size_t)c->n_ctx * (size_t)c->n_layer;   /* as kvcache_new_type allocated */
    seek_free_big(c->k, rows * c->k_row);
    if (c->v) seek_free_big(c->v, rows * c->v_row);
    free(c);
}
