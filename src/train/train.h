/* train.h - training DeepSeek-V3-architecture models from scratch (llm.c style).
 *
 * What is trained: the deepseek2 forward of arch_deepseek2.c (MLA with q-LoRA and decoupled,
 * interleaved RoPE; DeepSeekMoE with sigmoid scores, top-k by score + bias, renormalised
 * weights, routed scaling, shared experts; leading dense SwiGLU blocks), an output head tied to
 * the embedding or not, and DeepSeek-V3's multi-token prediction module of depth 1:
 *
 *   main:  x0 = E[tok_t];  x_{l+1} = block_l(x_l);  h_t = rmsnorm(x_L);  p(tok_{t+1}) = softmax(W_out h_t)
 *   MTP:   m_t = eh_proj · [enorm(E[tok_{t+1}]) ; hnorm(h_t)]        (llama.cpp's concat order)
 *          p(tok_{t+2}) = softmax(W_out · shared_head_norm(block_mtp(m_t)))
 *   loss = CE_main + lambda · CE_mtp (+ alpha · sequence-wise balance loss)
 *
 * h_t is the hidden state after the final norm (what seek's forward reports as the last
 * hidden state, and what engines hand to an MTP draft head).
 *
 * Not here: inference (arch_deepseek2.c), quantized weights, YaRN, group-limited routing,
 * plain attn_q (q_lora_rank = 0). Training runs in `real` (float; the gradient test
 * compiles these files with double).
 *
 * Shape letters: B sequences, T positions, N = B*T tokens, D n_embd, V vocab, H heads,
 * QL q_lora_rank, R kv_lora_rank, nope/rope/hv per-head sizes, hk = nope + rope,
 * F dense FFN width, E experts, K experts per token, Fe expert width, S = Fe * n_shared.
 */
#ifndef SEEK_TRAIN_H
#define SEEK_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef TRAIN_REAL
#define TRAIN_REAL float
#endif
typedef TRAIN_REAL real;

/* ------------------------------------------------------------------------------------ */
/* configuration */

typedef struct {
    int V, D, L, n_dense;        /* vocab, width, main blocks, leading dense blocks */
    int H, QL, R, nope, rope, hv;
    int F;                       /* dense FFN width */
    int E, K, n_shared, Fe;      /* experts, used per token, shared, expert width */
    int mtp;                     /* 0 or 1 MTP modules */
    int tied;                    /* output head = token embedding */
    int ctx;                     /* context length (RoPE table size, GGUF context_length) */
    float eps, rope_base, route_scale;
    int norm_topk;               /* renormalise the top-k weights */
} tm_config;

/* ------------------------------------------------------------------------------------ */
/* parameters: one flat array; the tensor table names each piece with its GGUF name */

enum { TK_MAT, TK_NORM, TK_BIAS };   /* decayed matrix, norm weight, selection bias (not trained) */

typedef struct {
    char name[64];
    int nd;
    int64_t ne[3];               /* GGUF order: ne[0] is the row length */
    size_t off, n;
    int kind;
} tm_tensor;

/* One transformer block's tensors (NULL where the block has none), all row-major [out][in]. */
typedef struct {
    real *attn_norm, *wq_a, *q_a_norm, *wq_b, *wkv_a, *kv_a_norm, *wkv_b, *wo, *ffn_norm;
    real *ffn_gate, *ffn_up, *ffn_down;                      /* dense: [F][D] [F][D] [D][F] */
    real *gate_inp, *exp_probs_b;                            /* [E][D], [E] */
    real *gate_exps, *up_exps, *down_exps;                   /* [E][Fe][D] [E][Fe][D] [E][D][Fe] */
    real *gate_shexp, *up_shexp, *down_shexp;                /* [S][D] [S][D] [D][S] */
    real *enorm, *hnorm, *eh_proj, *shared_head_norm;        /* MTP block only; eh_proj [D][2D] */
} tm_block;

typedef struct {
    real *tok_embd, *output_norm, *output;                   /* output == tok_embd when tied */
    tm_block *blk;                                           /* [L + mtp] */
} tm_weights;

/* ------------------------------------------------------------------------------------ */
/* activations of one block, for N tokens (kept for the backward pass) */

typedef struct {
    real *x;                     /* [N][D] input (the residual stream) - not owned */
    real *rs1, *xn1;             /* [N], [N][D] attention norm */
    real *qa, *rsq, *qan;        /* [N][QL], [N], [N][QL] */
    real *q;                     /* [N][H][hk], q_pe roped */
    real *kva, *rskv, *c, *kpe;  /* [N][R+rope], [N], [N][R] normed latent, [N][rope] roped */
    real *kv;                    /* [N][H][nope+hv] decompressed k_nope and v */
    real *att;                   /* [B][H][T][T] softmax probabilities */
    real *ao;                    /* [N][H*hv] */
    real *xm;                    /* [N][D] after the attention residual */
    real *rs2, *xn2;             /* [N], [N][D] FFN norm */
    real *g, *u, *h;             /* dense [N][F] or shared experts [N][S] */
    real *fo;                    /* [N][D] FFN output */
    /* MoE */
    real *sc;                    /* [N][E] sigmoid scores */
    int *idx;                    /* [N][K] chosen experts */
    real *w;                     /* [N][K] their weights */
    int *order, *start;          /* slots sorted by expert [N*K], first slot of each expert [E+1] */
    real *xe;                    /* [N*K][D] expert inputs, gathered in sorted-slot order */
    real *eg, *eu, *eh;          /* [N*K][Fe] per sorted slot */
    real *ey;                    /* [N*K][D] expert outputs (unweighted), per sorted slot */
    real *out;                   /* [N][D] block output */
} tm_acts;

typedef struct {
    tm_config c;
    size_t n_params;
    real *params, *grads;
    tm_tensor *tensors;
    int n_tensors;
    tm_weights w, g;             /* views into params and grads */
    real *rope_cos, *rope_sin;   /* [ctx][rope/2] */

    /* batch state (tm_alloc_batch) */
    int B, T;
    tm_acts *act;                /* [L + mtp] */
    tm_acts dact;                /* gradient scratch for one block */
    real *x0;                    /* [N][D] embeddings */
    real *rsf, *hf;              /* [N], [N][D] final norm */
    real *logits;                /* [N][V] (dlogits after backward) */
    /* MTP */
    real *emb1, *rse, *en, *rsh, *hn, *cat, *m0, *rsm, *mf, *logits2;
    real *dbuf[6];               /* [N][D] gradient scratch */
    real *dcat;                  /* [N][2D] */
    real *dscratch;              /* MoE backward scratch */
    void *arena;                 /* owns every batch buffer above */
    int32_t *in, *tgt, *tgt2;    /* [N] inputs, next-token and after-next targets (-1: none) */

    /* recipe */
    float mtp_lambda, bal_alpha;
    double loss, loss_main, loss_mtp, loss_bal;
    int64_t *load;               /* [(L + mtp) * E] tokens routed to each expert since reset */
    bool count_load;             /* count loads in tm_forward (training steps, not validation) */
} tm_model;

/* ------------------------------------------------------------------------------------ */
/* model (tmodel.c) */

/* Check the config, lay out and allocate parameters (zeroed; call tm_init). */
int tm_create(tm_model *m, const tm_config *c);
void tm_free(tm_model *m);
/* Random initial weights from a seed (deterministic). */
void tm_init(tm_model *m, uint64_t seed);
/* Activations for batches of B sequences of T positions. */
int tm_alloc_batch(tm_model *m, int B, int T);
/* Forward over tokens[B][T+1] (inputs tokens[:, :T], targets shifted by one and two);
 * sets m->loss (and parts). Logits of the main head stay in m->logits. */
int tm_forward(tm_model *m, const int32_t *tokens);
/* Gradients of m->loss, accumulated (+=) into m->grads; call after tm_forward. */
void tm_backward(tm_model *m);
void tm_zero_grad(tm_model *m);
/* Aux-loss-free balancing: bias_e += gamma * sign(mean load - load_e) per MoE block, from
 * the loads counted since the last call; then resets the counts. */
void tm_update_bias(tm_model *m, float gamma);
/* max/min (min clamped to 1) expert load over all MoE blocks for the current counts. */
double tm_load_spread(const tm_model *m);
bool tm_is_moe(const tm_config *c, int l);

/* ------------------------------------------------------------------------------------ */
/* layers (layers.c) - each _backward accumulates (+=) into its gradient outputs */

void matmul_forward(real *out, const real *x, const real *w, int N, int C, int OC);
void matmul_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, int N, int C, int OC);
void rmsnorm_forward(real *out, real *rstd, const real *x, const real *w, int N, int C, float eps);
void rmsnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *rstd, const real *w, int N, int C);
void rope_forward(real *x, int stride, int n_rot, int N, int T, int n_vec, const real *cs, const real *sn);
void rope_backward(real *dx, int stride, int n_rot, int N, int T, int n_vec, const real *cs, const real *sn);
void attention_forward(real *ao, real *att, const real *q, const real *kv, const real *kpe, int B, int T, int H,
                       int nope, int rope, int hv, real scale);
void attention_backward(real *dq, real *dkv, real *dkpe, const real *dao, const real *att, const real *q,
                        const real *kv, const real *kpe, int B, int T, int H, int nope, int rope, int hv, real scale);
void swiglu_forward(real *h, const real *g, const real *u, size_t n);
void swiglu_backward(real *dg, real *du, const real *dh, const real *g, const real *u, size_t n);
/* Mean cross-entropy over targets != -1 (returns the sum and the count). With dlogits,
 * writes (softmax - onehot) * dscale there (may alias logits). */
double crossentropy(real *dlogits, const real *logits, const int32_t *tgt, int N, int V, real dscale, int *count);

/* ------------------------------------------------------------------------------------ */
/* MoE (moe.c) */

/* fo[N][D] from xn[N][D] through block b's router and experts; counts loads into load[E]. */
void moe_forward(tm_acts *a, const tm_block *w, const tm_config *c, int N, int64_t *load);
/* Sequence-wise balance loss over B sequences of T tokens (V3 eq. 17-20), alpha-weighted. */
double moe_balance_loss(const tm_acts *a, const tm_config *c, int B, int T, float alpha);
/* dxn[N][D] (+=) and weight grads from dfo[N][D]; the balance loss gradient if alpha > 0. */
void moe_backward(real *dxn, const real *dfo, tm_acts *a, const tm_block *w, tm_block *gw, const tm_config *c, int B,
                  int T, float alpha, real *scratch);

/* ------------------------------------------------------------------------------------ */
/* optimiser (adamw.c) */

typedef struct {
    float lr, lr_min, beta1, beta2, eps, wd, clip;
    int warmup, steps;
} adamw_opts;

typedef struct {
    float *m, *v;                /* [n_params] */
    int64_t t;
} adamw_state;

int adamw_init(adamw_state *s, size_t n);
void adamw_free(adamw_state *s);
float lr_at(const adamw_opts *o, int64_t step);
/* Clip the gradient to global norm o->clip (if > 0), then one AdamW step at lr.
 * Returns the gradient norm before clipping. */
double adamw_step(adamw_state *s, tm_model *m, const adamw_opts *o, float lr);

/* ------------------------------------------------------------------------------------ */
/* files (tio.c) */

/* A checkpoint: config, parameters, optimiser moments, step. Written atomically. */
int tm_save_checkpoint(const tm_model *m, const adamw_state *s, int64_t step, const char *path);
/* Load into a zeroed tm_model / adamw_state; *step gets the saved step. */
int tm_load_checkpoint(tm_model *m, adamw_state *s, int64_t *step, const char *path);
/* Export as a deepseek2 GGUF (F32), tokenizer and chat template from tokenizer_json
 * (may be NULL), MTP (with_mtp) as blk.{L}.nextn.* with deepseek2.nextn_predict_layers = 1.
 * (llama.cpp-family engines load deepseek2 files only without the MTP block, so far.) */
int tm_export_gguf(const tm_model *m, const char *tokenizer_json, const char *chat_template, const char *name,
                   const char *path, bool with_mtp);

/* ------------------------------------------------------------------------------------ */
/* data (data.c): a token stream file "SEEKTOKS" u32 version u64 count, then u32 ids */

typedef struct {
    int32_t *ids;
    int64_t n;
    int32_t bos;                 /* windows start at a BOS when >= 0 */
    int64_t *starts;             /* positions of bos */
    int64_t n_starts;
} tm_data;

int tm_data_load(tm_data *d, const char *path, int32_t bos, int32_t n_vocab);
void tm_data_free(tm_data *d);
int tm_data_write(const char *path, const int32_t *ids, int64_t n);
/* tokens[B][T+1] for (seed, step, micro): deterministic, independent of history. */
void tm_data_batch(const tm_data *d, int32_t *tokens, int B, int T, uint64_t seed, int64_t step, int micro);

/* small deterministic RNG (splitmix64) */
static inline uint64_t tm_rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

#endif
