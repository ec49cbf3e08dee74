/* kvcache.h - the key/value cache: per layer and position, the rows attention reads again
 * at every later token, stored in F32, F16, BF16 or Q8_0.
 *
 *   dense (llama, qwen2): k[l][pos][n_head_kv * head_dim_k], v[l][pos][n_head_kv * head_dim_v]
 *   deepseek2 (MLA):      k[l][pos][kv_lora_rank + n_rope] = [normed latent c ; roped k_pe],
 *                         no v: keys and values are both rebuilt from the latent
 *
 * A row is stored as seek_row_size(type, padded) bytes, the padding (Q8_0 only: rows are cut
 * into blocks of 32) filled with zeros. Bytes per token = row bytes x layers (x2 for dense):
 * for MLA (kv_lora_rank + n_rope) x n_layer x bytes per value.
 *
 * F32 is exact; F16 rounds each value to 11 significant bits, BF16 to 8, Q8_0 to 8 bits of
 * its block's range (docs/engine.md gives the measured effect on logits).
 * The cache is created by kvcache_new / kvcache_new_type (model.h) and written only by the
 * forward pass.
 */
#ifndef SEEK_KVCACHE_H
#define SEEK_KVCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

typedef struct {
    int n_ctx, n_layer;
    int n_past;                   /* positions 0..n_past-1 hold valid entries */
    int k_dim, v_dim;             /* values per position per layer (v_dim 0: MLA) */
    seek_type type;               /* F32, F16, BF16 or Q8_0 */
    size_t k_row, v_row;          /* bytes per position per layer */
    uint8_t *k, *v;               /* [n_layer][n_ctx][k_row], [n_layer][n_ctx][v_row] */
} seek_kvcache;

/* Is t a type the cache can hold? */
bool kv_type_ok(seek_type t);
/* Parse "f32|f16|bf16|q8_0" (any case); -1 with the error set otherwise. */
int kv_type_parse(const char *name, seek_type *out);

static inline uint8_t *kv_krow(const seek_kvcache *c, int l, int pos) {
    return c->k + ((size_t)l * c->n_ctx + pos) * c->k_row;
}
static inline uint8_t *kv_vrow(const seek_kvcache *c, int l, int pos) {
    return c->v + ((size_t)l * c->n_ctx + pos) * c->v_row;
}
/* F32 caches only (the reference forward pass reads them as floats). */
static inline float *kv_k(const seek_kvcache *c, int l, int pos) { return (float *)kv_krow(c, l, pos); }
static inline float *kv_v(const seek_kvcache *c, int l, int pos) { return (float *)kv_vrow(c, l, pos); }

/* Store src[n] as one row of type t at dst (Q8_0: the last block zero-padded). */
void kv_put(seek_type t, const float *src, uint8_t *dst, int n);
/* Load values col0 .. col0+n-1 of the row at src into dst[n]. */
void kv_get(seek_type t, const uint8_t *src, int col0, int n, float *dst);
/* Bytes of one stored row of n values. */
size_t kv_row_bytes(seek_type t, int n);

#endif
