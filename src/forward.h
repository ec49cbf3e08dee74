/* forward.h - what the fast forward pass of every architecture shares (internal).
 *
 * A batch is the tokens of one or more sequences, concatenated: rows row0 .. row0+n-1 of
 * the activation matrices belong to sequence i, at positions pos0 .. pos0+n-1 of its own
 * cache. Every weight matrix multiplies all N rows at once (one read of the weights for the
 * whole batch); attention runs per sequence against its cache.
 *
 * The workspace is one growing block of floats owned by the model: each call asks for the
 * size its shapes need and carves it; it is reallocated only when a larger batch comes, so
 * steady decoding allocates nothing. (So a model runs one forward call at a time.)
 */
#ifndef SEEK_FORWARD_H
#define SEEK_FORWARD_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

typedef struct {
    seek_kvcache *cache;
    int row0, n, pos0;
} fwd_seq;

typedef struct {
    const fwd_seq *seq;
    int n_seq;
    int N;            /* rows in all: sum of seq[i].n */
    const float *cs;  /* [N][n_rot/2][2] RoPE cos, sin of each row's position */
    size_t hstride;   /* hidden capture: floats from one layer's entry to the next */
} fwd_batch;

/* model_forward_batch runs a batch in micro-batches of at most this many rows (unless
 * seek_model.ubatch says otherwise), so the activations held at once - F32 [rows][n_ff]
 * and the like - are bounded by it whatever the caller passes. A multiple of the matmul's
 * and attention's row tiles (64, 16), so one long sequence gives the same bits either way. */
enum { FWD_UBATCH = 512 };

/* The workspace has one block per use, so a caller can hold one while asking for another:
 * WS_IO model.c's embeddings, RoPE table and output rows; WS_ACT a call's activations
 * (the arch files); WS_TMP per-sequence scratch inside a layer (MLA's buffers). */
enum { WS_IO, WS_ACT, WS_TMP, WS_BLOCKS };
struct seek_workspace {
    float *buf[WS_BLOCKS];
    size_t cap[WS_BLOCKS];   /* floats */
};

/* Block `which` with at least n floats (contents undefined after it grows). NULL with the
 * error set when it cannot grow. */
float *ws_get(seek_model *m, int which, size_t n);

/* Bump allocation inside a block: parts are rounded to 16 floats (64 bytes). With
 * base == NULL only the size is counted (first pass), then the real pass carves. */
typedef struct {
    float *base;
    size_t used;
} ws_carver;
static inline float *ws_take(ws_carver *c, size_t n) {
    float *p = c->base ? c->base + c->used : NULL;
    c->used += (n + 15) / 16 * 16;
    return p;
}

/* Run all transformer blocks over x[N][D] in place (hidden, if not NULL, receives the
 * output of block l at hidden + (l + 1) * b->hstride for l < n_layer - 1: entries 1.. of
 * model_forward's [n_layer+1][n][D], written for this batch's rows). */
int llama_blocks(seek_model *m, const fwd_batch *b, float *x, float *hidden);
int deepseek2_blocks(seek_model *m, const fwd_batch *b, float *x, float *hidden);
/* Whether MLA runs n queries after pos0 cached positions in the naive order (m->mla, or
 * with MLA_AUTO the cheaper by its count; arch_deepseek2.c). Tests read the choice. */
bool mla_use_naive(const seek_model *m, int n, int pos0);

/* RoPE with precomputed cos/sin: cs[n_rot/2][2] for one position (rope_apply's values). */
static inline void rope_cs(const rope_table *r, int pos, float *cs) {
    for (int j = 0; j < r->n_rot / 2; j++) {
        float theta = (float)pos * r->inv_freq[j];
        cs[2 * j] = cosf(theta) * r->attn;
        cs[2 * j + 1] = sinf(theta) * r->attn;
    }
}
static inline void rope_apply_cs(const rope_table *r, float *x, const float *cs) {
    const int half = r->n_rot / 2;
    if (r->neox) {
        for (int j = 0; j < half; j++) {
            float a = x[j], b = x[j + half], c = cs[2 * j], s = cs[2 * j + 1];
            x[j] = a * c - b * s;
            x[j + half] = a * s + b * c;
        }
    } else {
        for (int j = 0; j < half; j++) {
            float a = x[2 * j], b = x[2 * j + 1], c = cs[2 * j], s = cs[2 * j + 1];
            x[2 * j] = a * c - b * s;
            x[2 * j + 1] = a * s + b * c;
        }
    }
}

#endif
