/* model.h - a loaded model: hyperparameters from GGUF metadata, weight tensors (views into
 * the mapped file), the KV cache, and the forward pass entry point.
 *
 * Architectures (GGUF `general.architecture`):
 *   llama     dense transformer, GQA, RoPE on interleaved pairs (the ecosystem's converter
 *             permutes q/k rows so that this equals Hugging Face's halves layout), optional
 *             llama3 frequency factors (`rope_freqs`) - Llama 3, R1-Distill-Llama
 *   qwen2     as llama with q/k/v biases and NeoX (halves) RoPE - R1-Distill-Qwen
 *   deepseek2 MLA attention + DeepSeekMoE - DeepSeek V2, V2-Lite, V2.5, V3, V3.1, R1
 * The forward code is in arch_llama.c and arch_deepseek2.c.
 */
#ifndef SEEK_MODEL_H
#define SEEK_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf.h"
#include "kvcache.h"
#include "ops.h"

typedef enum { ARCH_LLAMA, ARCH_QWEN2, ARCH_DEEPSEEK2 } seek_arch;

enum { GATING_SOFTMAX = 1, GATING_SIGMOID = 2 };   /* GGUF expert_gating_func values */

typedef struct {
    seek_arch arch;
    int n_vocab, n_embd, n_layer, n_ctx_train;
    int n_head, n_head_kv;
    int head_dim_k, head_dim_v;   /* per head; deepseek2: qk_nope + qk_rope, v_head_dim */
    int n_ff;                     /* dense FFN width */
    float norm_eps;
    /* RoPE */
    int n_rot;
    float rope_base;
    rope_scaling_type rope_scaling;
    float rope_factor;
    int rope_orig_ctx;
    float yarn_log_mul;           /* deepseek2: 0.1 * mscale_all_dim */
    float yarn_beta_fast, yarn_beta_slow;
    /* deepseek2 */
    int q_lora_rank;              /* 0: plain attn_q (V2-Lite) */
    int kv_lora_rank, n_nope, n_rope;
    int n_layer_dense_lead;
    int n_expert, n_expert_used, n_expert_shared, n_ff_exp;
    int n_group, n_group_used;
    float expert_weights_scale;
    bool expert_weights_norm;
    int gating_func;
} seek_hparams;

/* Per-block weights; NULL where the architecture/variant does not have the tensor. */
typedef struct {
    const gguf_tensor *attn_norm, *ffn_norm;
    /* dense attention */
    const gguf_tensor *wq, *wk, *wv, *wo, *bq, *bk, *bv;
    /* MLA */
    const gguf_tensor *wq_a, *q_a_norm, *wq_b;          /* q-LoRA (wq used otherwise) */
    const gguf_tensor *wkv_a, *kv_a_norm, *wkv_b;        /* wkv_b, or wk_b + wv_b */
    const gguf_tensor *wk_b, *wv_b;
    /* dense FFN */
    const gguf_tensor *ffn_gate, *ffn_up, *ffn_down;
    /* MoE */
    const gguf_tensor *gate_inp, *exp_probs_b;
    const gguf_tensor *gate_exps, *up_exps, *down_exps;
    const gguf_tensor *gate_shexp, *up_shexp, *down_shexp;
} seek_layer;

/* MLA evaluation order: absorbed (attend in latent space; decode), naive (decompress
 * k_nope / v for every position, then ordinary attention; long prefill), or chosen per call
 * by cost. All three give the same result up to rounding. */
typedef enum { MLA_AUTO = 0, MLA_ABSORBED = 1, MLA_NAIVE = 2 } mla_mode;

typedef struct seek_model {
    gguf_file *gguf;
    seek_hparams hp;
    const gguf_tensor *tok_embd, *output_norm, *output;  /* output == tok_embd when tied */
    seek_layer *layers;
    rope_table rope;
    float kq_scale;               /* softmax scale of attention scores */
    mla_mode mla;                 /* deepseek2: how attention runs (default MLA_AUTO) */
    bool reference;               /* run the plain F32 reference pass (forward_ref.c) */
    int ubatch;                   /* rows per micro-batch of the fast pass; 0: FWD_UBATCH
                                     (forward.h). Settable for tests. */
    /* prepared at load (deepseek2): per layer, the two halves of attn_kv_b as kb (k_nope =
     * kb_h . c) and vb[H][hv][R] (v = vb_h . c). kb is [H][nope][R], or with mla_kb_t the
     * split file's attn_k_b rows [H][R][nope] (its transpose). Each half is the file's own
     * rows when that tensor is Q8_0 in every layer (exact, ~half F16's bytes), vb also when it
     * is Q4_K, Q5_K or Q6_K in every layer (exact, 0.28-0.41 of F16's bytes), F32 when the
     * file's is F32 (exact), else F16 (half the bytes decode reads; its rounding, 2^-11
     * relative, is far below that of any quantized type the values come from) */
    seek_type mla_kt, mla_vt;     /* types of kb and vb */
    bool mla_kb_t;                /* kb holds attn_k_b's rows (h, c) of nope values */
    size_t mla_krow, mla_vrow;    /* bytes of one row of kb (R values, or nope with mla_kb_t), of vb */
    uint8_t **mla_kb, **mla_vb;
    size_t mla_bytes;             /* the block behind them (seek_alloc_big) */
    struct seek_workspace *ws;    /* activations and scratch of the fast pass (forward.h) */
    uint8_t *packed;              /* the weights packed at load (src/repack.c), or NULL */
    size_t packed_bytes;          /* its size (seek_alloc_big) */
} seek_model;

/* Open a GGUF model, read its hyperparameters and check every tensor's presence, type and
 * shape. NULL on error ("<path>: ..."). */
seek_model *model_load(const char *path);
/* The same over an already opened file (takes ownership of g, also on error). */
seek_model *model_from_gguf(gguf_file *g);
/* Only the hyperparameters (architecture, sizes; checked as model_load checks them): 0, or
 * -1 with the error set. seek info uses it without loading tensors. */
int model_read_hparams(const gguf_file *g, seek_hparams *hp);
void model_free(seek_model *m);
const char *arch_name(seek_arch a);

/* ---- KV cache (kvcache.h) ----
 * kvcache_new: an F32 cache (exact; what the reference path needs). kvcache_new_type: any
 * kv_type_ok() type; seek run/chat default to F16 (session_opts.cache_type). */
seek_kvcache *kvcache_new(const seek_model *m, int n_ctx);
seek_kvcache *kvcache_new_type(const seek_model *m, int n_ctx, seek_type type);
void kvcache_free(seek_kvcache *c);
/* Bytes the cache of this model takes per token (all layers, keys and values) in `type`:
 * deepseek2 (kv_lora_rank + n_rope) x n_layer x bytes per value. */
size_t kvcache_bytes_per_token(const seek_hparams *hp, seek_type type);

/* ---- forward ----
 * Evaluate tokens[0..n) at positions pos0..pos0+n-1, attending to the cache's positions
 * 0..pos0-1 (pos0 <= cache->n_past; later entries are overwritten) and causally to each
 * other. Writes logits[n][n_vocab] if not NULL, and if `hidden` is not NULL the hidden
 * states hidden[n_layer+1][n][n_embd]: entry 0 the embeddings, entry l the output of block l,
 * the last entry (l = n_layer) after the final norm. Sets cache->n_past = pos0 + n.
 * Returns 0, or -1 with the error set. The fast path (docs/engine.md) uses the model's
 * workspace: one forward call per model at a time. With m->reference the plain reference
 * pass runs instead (F32 caches only). */
int model_forward(seek_model *m, seek_kvcache *c, const int32_t *tokens, int n, int pos0,
                  float *logits, float *hidden);

/* ---- batched forward over several sequences (the server's continuous batching) ----
 * Each sequence has its own KV cache and positions; the tokens of all sequences go through
 * the weight matrices together (one weight read serves every sequence), attention runs per
 * sequence against its own cache. For sequence i: evaluate seqs[i].tokens[0..n) at positions
 * pos0.. in seqs[i].cache (same rules as model_forward). Logits: if seqs[i].logits is not
 * NULL it receives [n][n_vocab] when all_logits, else only the last token's [n_vocab].
 * Returns 0, or -1 with the error set. model_forward is this with one sequence. */
typedef struct {
    seek_kvcache *cache;
    const int32_t *tokens;
    int n;
    int pos0;
    float *logits;
    bool all_logits;
} seek_seq;
int model_forward_batch(seek_model *m, seek_seq *seqs, int n_seqs);

/* The reference pass (forward_ref.c), same contract as model_forward; F32 caches only. */
int llama_forward_ref(seek_model *m, seek_kvcache *c, const int32_t *tokens, int n, int pos0,
                      float *logits, float *hidden);
int deepseek2_forward_ref(seek_model *m, seek_kvcache *c, const int32_t *tokens, int n, int pos0,
                          float *logits, float *hidden);

/* Shared tail of both architectures: final norm, hidden-state capture, output projection.
 * x[n][n_embd] is the residual stream after the last block (clobbered). */
int model_output(seek_model *m, float *x, int n, float *logits, float *hidden);
/* Embedding lookup into x[n][n_embd]; checks token ids. */
int model_embed(seek_model *m, const int32_t *tokens, int n, float *x);

#endif
