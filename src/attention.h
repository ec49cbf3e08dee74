/* attention.h - causal softmax attention with a streaming (online) softmax, in tiles.
 *
 * For query token t (at position pos0 + t) and query head h, with kv head g = h / group:
 *   out[t][h] = sum_{p <= pos0+t} softmax_p(scale * q[t][h] . k[p][g]) v[p][g]
 * computed one tile of key positions at a time, keeping per query row a running maximum m,
 * a running sum l and an unnormalised output acc (rescaled by exp(m_old - m_new) whenever the
 * maximum grows): no T x P score matrix, memory independent of the context length.
 * Positions past a row's causal limit are never scored.
 *
 * Keys and values are read from rows of any cache type (F32 rows are used in place, other
 * types are converted one tile at a time). The same routine serves
 *   - dense GQA (llama, qwen2): k, v = the cache's k and v rows, n_kv_head heads;
 *   - MLA absorbed: one kv head whose key is the latent row [c ; k_pe] and whose value is
 *     its prefix c (v_in_k), queries [q_abs ; q_pe], output in latent space;
 *   - MLA naive: decompressed F32 keys [k_nope ; k_pe] and values per head.
 * Work is split over the thread pool by (query tile, kv head, block of query heads).
 */
#ifndef SEEK_ATTENTION_H
#define SEEK_ATTENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"

/* Rows of keys or values: position p, kv head g is values col0 + g * head_stride ..
 * col0 + g * head_stride + dim - 1 of the row at data + p * row_bytes. */
typedef struct {
    const uint8_t *data;
    seek_type type;       /* F32, F16, BF16, Q8_0 */
    size_t row_bytes;
    int col0, head_stride, dim;
} attn_src;

typedef struct {
    int T, pos0;                  /* queries; query t is at position pos0 + t */
    int n_head, n_kv_head;        /* n_head a multiple of n_kv_head */
    const float *q;               /* q[t][h] at q + t * q_stride + h * q_hstride, k.dim values */
    size_t q_stride, q_hstride;
    attn_src k, v;                /* v_in_k: values are the first v.dim values of the key rows */
    bool v_in_k;
    float scale;
    float *out;                   /* out[t][h] at out + t * o_stride + h * o_hstride, v.dim values */
    size_t o_stride, o_hstride;
} attn_args;

/* Floats of scratch attention() needs for these dimensions (for all threads). */
size_t attention_scratch(int n_head, int n_kv_head, int dk, int dv, int n_threads);
/* Run it; scratch has attention_scratch(...) floats for seek_threads() threads. */
void attention(const attn_args *a, float *scratch);
/* a[0..n): independent problems (one per sequence of a batch) in one pass over the pool;
 * each gives exactly what attention(&a[i], scratch) gives. Same scratch. */
void attention_batch(const attn_args *a, int n, float *scratch);

/* The plain reference: a full softmax per row, double accumulators, F32 rows only.
 * Used by tests as the oracle. */
void attention_ref(const attn_args *a);

#endif
