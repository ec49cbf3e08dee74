/* synth.h - `seek synth`: a GGUF model with the exact tensor shapes and metadata of a real
 * checkpoint and random weights, for measuring speed and testing interoperability without
 * downloading hundreds of GB.
 *
 * The shapes come from the checkpoints' public config.json values (one table in synth.c).
 * Weights are seeded uniform noise scaled like an initialised network (unit-variance
 * activations, residual branches scaled down by depth, a router whose scores differ per
 * token) so activations stay finite and MoE routing spreads over the experts. A real
 * tokenizer and chat template of the family are embedded, so any GGUF engine loads it.
 * Tensors are generated and written one chunk of rows at a time: memory stays small even
 * for a 16 GB file.
 */
#ifndef SEEK_SYNTH_H
#define SEEK_SYNTH_H

#include <stdbool.h>
#include <stdint.h>

#include "quantize.h"

typedef struct {
    const char *shape;            /* table name, e.g. "deepseek-v2-lite" */
    int layers;                   /* 0: all; else the first N blocks (at least one MoE block
                                     when N >= 2 and the model has MoE) */
    const char *tokenizer;        /* tokenizer.json or .gguf; NULL: the family's default */
    const quant_target *type;     /* NULL: F16 */
    uint64_t seed;
    int threads;
    bool progress;
    bool fast;                    /* rows repeat from a pool of POOL_ROWS random rows per tensor:
                                     same shapes and bytes, far less to compute (for speed tests) */
    bool split_kv_b;              /* deepseek2: MLA's up-projection as attn_k_b [H][R][nope] +
                                     attn_v_b [H][hv][R] (newer converters) instead of attn_kv_b */
    /* test-size overrides (0: the real value): shrink a model while keeping its structure */
    int vocab, ff, ff_exp, heads, experts;
} synth_opts;

/* Write the model. Returns 0, or -1 with the error set. */
int synth_write(const char *out, const synth_opts *o);

/* Comma-separated shape names. */
const char *synth_shape_names(void);

/* Print the tensors (name, shape) the shape has, without writing anything. */
int synth_list(const synth_opts *o);

/* The temporary output file while writing (NULL when none): for a signal handler. */
const char *synth_tmp_path(void);

#endif
