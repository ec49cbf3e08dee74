/* ops.h - the numeric building blocks of the forward pass, on float32 activations.
 *
 * Plain reference loops: rmsnorm, RoPE (both pair layouts, with YaRN / llama3 frequency
 * tables built once per model), softmax, SiLU, and matmul of activations with weight
 * matrices stored in any tensor type (rows dequantized on the fly). Speed is the business
 * of kernels/; these functions define what the fast versions must compute.
 *
 * Shape letters: T tokens in a batch, C input features, OC output features.
 */
#ifndef SEEK_OPS_H
#define SEEK_OPS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtype.h"
#include "gguf.h"
#include "threads.h"

/* A weight matrix: n_out rows of n_in values, each row stored as seek_row_size(type, n_in)
 * bytes (GGUF layout: ne[0] = n_in, ne[1] = n_out). Also used for one expert of a 3-D
 * stacked expert tensor. */
typedef struct {
    seek_type type;
    int64_t n_in, n_out;
    size_t row_bytes;
    const uint8_t *data;
    const uint8_t *packed;   /* the kernel's rearranged copy (src/repack.c), or NULL */
} seek_mat;

/* The 2-D matrix of a tensor (ne[2..] must be 1), or matrix `i` of a 3-D stack. */
seek_mat mat_of(const gguf_tensor *t);
seek_mat mat_slice(const gguf_tensor *t, int64_t i);

/* out[T][OC] = x[T][C] @ W^T (+ bias[OC] if not NULL). C must equal W.n_in.
 * `row` is scratch for one dequantized row (W.n_in floats; used only by the reference
 * path). Returns 0 or -1 (bad type, out of memory). The work runs on the kernels of
 * kernels/ for the CPU's level: x is converted once to the kernel's activation type
 * (e.g. Q8_0 for Q8_0/Q4_0 weights, which adds a rounding error of about |x|/254 per
 * value), and output tiles are shared out over the thread pool (threads.h); the result
 * is bit-identical for every thread count. No allocation once the per-thread scratch has
 * grown to the largest batch. */
int matmul(float *out, const float *x, seek_mat w, const float *bias, int T, float *row);
/* Several independent products, out_i = x_i @ W_i^T (+ bias_i), in one pass of the thread
 * pool: the same bits as matmul() per item, with one activation conversion per distinct
 * input (same x and T) and one pool wake-up for all of them. */
typedef struct {
    float *out;
    const float *x;
    seek_mat w;
    const float *bias;
    int T;
} mm_item;
enum { MANY_ITEMS_MAX = 64 };   /* items per call that share one pass (more run one by one) */
int matmul_many(const mm_item *items, int n, float *row);
/* One-token products of packed weights take their tiles two at a time where the kernel has a
 * two-stream form (kern_packed.dec2): same bits, faster reads. Off: one at a time (tests
 * and benchmarks compare the two); returns the previous setting. */
bool matmul_set_dual(bool on);
/* How many tile pairs the calling thread has run through kern_packed.dec2 (tests) */
long matmul_dual_pairs(void);
/* The reference of matmul (the oracle the kernels are tested against): each weight row
 * dequantized to float, double accumulators. Same contract; slow. matmul() uses it for
 * types without a kernel (kernels/kernels.h). */
int matmul_ref(float *out, const float *x, seek_mat w, const float *bias, int T, float *row);
/* Dequantize row r of W into dst[W.n_in]. */
int mat_row(seek_mat w, int64_t r, float *dst);

/* Ask for the n bytes at p ahead of their use (a norm's weights or a bias, read cold from
 * the mapped file after each product: asked for before it, they arrive while it runs) */
static inline void prefetch_bytes(const void *p, size_t n) {
    for (size_t i = 0; i < n; i += 64) __builtin_prefetch((const char *)p + i, 0, 2);
}

/* out[C] = x[C] / sqrt(mean(x^2) + eps) * weight[C]   (out may alias x) */
void rmsnorm(float *out, const float *x, const float *weight, int C, float eps);
/* fn(ud, 0, n) over n independent rows of a batch: shared by the pool from 16 rows on (a
 * prompt), on the caller's thread below (a decode step: a pass would cost more) */
void par_rows(int64_t n, par_fn fn, void *ud);
/* rmsnorm of N rows of C (out[i] = rmsnorm(x[i])), rows shared as par_rows does */
void rmsnorm_rows(float *out, const float *x, const float *weight, int N, int C, float eps);
/* In place softmax over x[n]. */
void softmax(float *x, int n);
static inline float silu(float x) { return x / (1.0f + expf(-x)); }
/* g[N][F] = silu(g) * u, SwiGLU's elementwise step (vec.h's vec_swiglu), rows shared by the
 * thread pool. The same bits whatever N and the thread count. */
void swiglu_act(float *g, const float *u, int N, int F);

/* ---- RoPE ----
 * A rope table holds the per-frequency inverse wavelengths inv_freq[n_rot/2] (all scaling
 * already applied) and the factor `attn` multiplied into cos and sin. Rotating pair j of a
 * head vector by angle pos * inv_freq[j]:
 *   interleaved (GPT-J / DeepSeek / GGUF "norm"):  pair (x[2j], x[2j+1])
 *   neox        (halves, Qwen2 / HF Llama):        pair (x[j], x[j + n_rot/2])
 */
typedef struct {
    int n_rot;
    float *inv_freq;     /* [n_rot/2] */
    float attn;          /* cos/sin multiplier (YaRN attention factor; 1 for most models) */
    bool neox;
} rope_table;

typedef enum { ROPE_SCALING_NONE, ROPE_SCALING_LINEAR, ROPE_SCALING_YARN } rope_scaling_type;

typedef struct {
    int n_rot;
    float base;
    bool neox;
    rope_scaling_type scaling;
    float factor;             /* linear / yarn: context extension factor */
    int orig_ctx;             /* yarn: original (pre-training) context length */
    float beta_fast, beta_slow; /* yarn: correction range, default 32 / 1 */
    const float *freq_factors;  /* optional [n_rot/2]: inv_freq divided by these (llama3 via rope_freqs) */
} rope_params;

/* Build the table. Returns 0 or -1 (error set). */
int rope_init(rope_table *r, const rope_params *p);
void rope_free(rope_table *r);
/* Rotate the first n_rot elements of x (one head) for position pos. */
void rope_apply(const rope_table *r, float *x, int pos);

/* llama3 frequency factors (what the ecosystem stores as the `rope_freqs` tensor):
 * out[n_rot/2], inv_freq_scaled = inv_freq / out[j]. */
void rope_llama3_factors(float *out, int n_rot, float base, float factor, float low_freq_factor,
                         float high_freq_factor, int orig_ctx);

/* YaRN mscale: 0.1 * m * ln(factor) + 1 for factor > 1, else 1. */
float yarn_mscale(float factor, float m);

#endif
