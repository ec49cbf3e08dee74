/* quantize.h - GGUF file -> GGUF file with other tensor types (`seek quantize`), and the
 * row pipeline that `seek synth` shares with it.
 *
 * A target is either one tensor type (Q4_0, Q8_0, F16, Q4_K ...: every quantizable tensor
 * gets it) or a mixture named like llama.cpp's file types (Q4_K_M, Q5_K_S, Q3_K_M, Q2_K,
 * Q6_K ...: a base type plus per-tensor exceptions). The per-tensor choice follows the rules
 * of the GGUF ecosystem's llama-quantize (ik_llama.cpp) for llama, qwen2 and deepseek2; the
 * rules are one table in quantize.c. Which tensors are quantized at all: names ending in
 * "weight" with at least 2 dimensions, except norms and the MoE router (ffn_gate_inp);
 * everything else is copied unchanged (1-D tensors stay F32).
 */
#ifndef SEEK_QUANTIZE_H
#define SEEK_QUANTIZE_H

#include <stdbool.h>
#include <stdint.h>

#include "dtype.h"
#include "gguf.h"

typedef struct {
    const char *name;    /* "Q4_K_M" */
    int ftype;           /* llama_ftype value written as general.file_type */
    seek_type base;      /* the type most tensors get */
    bool mixture;        /* false: a plain type (as if --pure) */
} quant_target;

/* The target called `name` (case-insensitive), or NULL. */
const quant_target *quant_target_find(const char *name);
/* The mixture or type a general.file_type value stands for, or NULL. */
const quant_target *quant_target_by_ftype(int ftype);
/* Comma-separated list of all target names (for error messages and --help). */
const char *quant_target_names(void);

/* What the rules need to know about the model (from its GGUF metadata). */
typedef struct {
    char arch[32];
    int n_layer, n_expert, n_head, n_head_kv, n_vocab;
    bool has_output;         /* a separate output.weight (else token_embd is the output) */
    /* counters, advanced as tensors are visited in file order (the rules look at them) */
    int n_attn_v, i_attn_v, i_ffn_down;
} quant_model;

/* Fill `qm` from an open file. Returns 0, or -1 (error set) when it is not a model. */
int quant_model_init(quant_model *qm, const gguf_file *g);

/* The type tensor `name` (shape ne[0..n_dims), stored as `src`) gets under `t`. Sets
 * *quantize to false for tensors that are copied unchanged (then the result is `src`).
 * Call once per tensor, in file order (the counters in qm advance). */
seek_type quant_choose(quant_model *qm, const quant_target *t, bool pure, const char *name,
                       uint32_t n_dims, const int64_t *ne, seek_type src, bool *quantize);

/* Fill dst[0..n) with row `row` of a tensor as float32 (n = row length). */
typedef void (*quant_row_fn)(void *ud, int64_t row, float *dst, int64_t n);

/* Write a tensor of `rows` rows of n values, converted to `type`, to the stream: rows are
 * produced by `src`, converted on all threads (par_for), written in order, in chunks of a
 * few MB (memory stays small). `done_bytes` (may be NULL) is advanced by the bytes written.
 * Returns 0, or -1 with the error set. */
int quant_write_rows(gguf_stream *s, seek_type type, int64_t n, int64_t rows,
                     quant_row_fn src, void *ud, uint64_t *done_bytes);
/* Convert rows row0..row0+k of n values from `src` into dst (k * seek_row_size(type, n)
 * bytes), on all threads. Returns 0, or -1 with the error set. */
int quant_convert_rows(seek_type type, int64_t n, int64_t row0, int64_t k, quant_row_fn src, void *ud, uint8_t *dst);

typedef struct {
    const quant_target *target;
    bool pure;
    int threads;          /* 0: default */
    bool progress;        /* one line per tensor on stderr */
    bool dry_run;         /* print the plan (name, old type, new type) and write nothing */
} quant_opts;

/* Quantize a GGUF file. Output is written to OUT.tmp-<pid> and renamed at the end.
 * Returns 0, or -1 with the error set. */
int quantize_file(const char *in, const char *out, const quant_opts *o);

/* The temporary file being written (NULL when none): for a signal handler. */
const char *quantize_tmp_path(void);

#endif
