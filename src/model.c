/* model.c - loading a model from GGUF: hyperparameters from `<arch>.*` metadata, every
 * expected tensor checked for presence, type and shape, the RoPE table, the KV cache, and
 * the parts of the forward pass every architecture shares (embedding, output head).
 *
 * Key names and tensor names are the GGUF ecosystem's (llama.cpp's gguf-py constants), so
 * files converted by other tools load here. The deepseek2 layout is decided by which
 * tensors exist (attn_q vs attn_q_a/attn_q_b, attn_kv_b vs attn_k_b/attn_v_b), never by
 * the number of layers. */
#include "model.h"
#include "repack.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "forward.h"
#include "threads.h"
#include "util.h"

const char *arch_name(seek_arch a) {
    switch (a) {
    case ARCH_LLAMA: return "llama";
    case ARCH_QWEN2: return "qwen2";
    case ARCH_DEEPSEEK2: return "deepseek2";
    }
    return "?";
}

/* ------------------------------------------------------------------------------------ */
/* metadata */

typedef struct {
    const gguf_file *g;
    const char *arch;
} meta;

static const char *mkey(const meta *m, const char *suffix, char *buf, size_t cap) {
    snprintf(buf, cap, "%s.%s", m->arch, suffix);
    return buf;
}

/* Required integer `<arch>.suffix` in [lo, hi]. */
static int get_int(const meta *m, const char *suffix, int *out, int lo, int hi) {
    char k[128];
    mkey(m, suffix, k, sizeof k);
    int64_t v;
    if (!gguf_get(m->g, k)) return seek_error("%s: missing metadata key '%s'", m->g->path, k);
    if (!gguf_get_i64(m->g, k, &v)) return seek_error("%s: metadata key '%s' is not an integer", m->g->path, k);
    if (v < lo || v > hi)
        return seek_error("%s: metadata key '%s' = %lld is out of range [%d, %d]", m->g->path, k, (long long)v, lo, hi);
    *out = (int)v;
    return 0;
}

/* Optional integer: keeps *out (the default) when absent. */
static int opt_int(const meta *m, const char *suffix, int *out, int lo, int hi) {
    char k[128];
    if (!gguf_get(m->g, mkey(m, suffix, k, sizeof k))) return 0;
    return get_int(m, suffix, out, lo, hi);
}

static int opt_float(const meta *m, const char *suffix, float *out) {
    char k[128];
    mkey(m, suffix, k, sizeof k);
    if (!gguf_get(m->g, k)) return 0;
    if (!gguf_get_f32(m->g, k, out)) return seek_error("%s: metadata key '%s' is not a number", m->g->path, k);
    if (!isfinite(*out)) return seek_error("%s: metadata key '%s' is not finite", m->g->path, k);
    return 0;
}

static int get_float(const meta *m, const char *suffix, float *out) {
    char k[128];
    if (!gguf_get(m->g, mkey(m, suffix, k, sizeof k))) return seek_error("%s: missing metadata key '%s'", m->g->path, k);
    return opt_float(m, suffix, out);
}

static int opt_bool(const meta *m, const char *suffix, bool *out) {
    char k[128];
    mkey(m, suffix, k, sizeof k);
    const gguf_value *v = gguf_get(m->g, k);
    if (!v) return 0;
    if (gguf_get_bool(m->g, k, out)) return 0;
    int64_t i;
    if (gguf_get_i64(m->g, k, &i)) { *out = i != 0; return 0; }
    return seek_error("%s: metadata key '%s' is not a bool", m->g->path, k);
}

#define MAXDIM (1 << 24)          /* longest row (floats) any weight or activation may have */
#define MAX_TOKEN_FLOATS (1 << 26)  /* activation floats one token may need (256 MiB) */

/* Every size the forward pass derives from the hyperparameters, computed once here in
 * 64-bit arithmetic and bounded, so that no `int` product in arch_*.c can overflow and no
 * buffer is sized from an unchecked value. This also covers parameters of parts the file
 * does not use (MoE sizes in a file without MoE blocks still size scratch buffers). */
static int check_sizes(const seek_hparams *hp, const char *path, const char *arch) {
    const int64_t D = hp->n_embd, H = hp->n_head, KV = hp->n_head_kv;
    const int64_t hk = hp->head_dim_k, hv = hp->head_dim_v;
    struct { const char *what; int64_t v; } w[12];
    int n = 0;
#define ROW(s, x) (w[n].what = (s), w[n].v = (x), n++)
    ROW("head_count * key_length", H * hk);
    ROW("head_count * value_length", H * hv);
    ROW("head_count_kv * key_length", KV * hk);
    ROW("head_count_kv * value_length", KV * hv);
    ROW("feed_forward_length", hp->n_ff);
    int64_t per_token = 4 * D + H * hk + 2 * KV * (hk > hv ? hk : hv) + H * hv + 2 * (int64_t)hp->n_ff;
    if (hp->arch == ARCH_DEEPSEEK2) {
        const int64_t R = hp->kv_lora_rank, nope = hp->n_nope, S = (int64_t)hp->n_ff_exp * hp->n_expert_shared;
        ROW("kv_lora_rank + rope.dimension_count", R + hp->n_rope);
        ROW("head_count * (key_length - rope.dimension_count + value_length)", H * (nope + hv));
        ROW("expert_feed_forward_length * expert_shared_count", S);
        ROW("expert_feed_forward_length", hp->n_ff_exp);
        ROW("expert_count", hp->n_expert);
        per_token += hp->q_lora_rank + R + hp->n_rope + 2 * (S > hp->n_ff_exp ? S : hp->n_ff_exp) + 2 * hp->n_expert;
    }
#undef ROW
    for (int i = 0; i < n; i++)
        if (w[i].v > MAXDIM)
            return seek_error("%s: %s %s = %lld exceeds the limit %d", path, arch, w[i].what, (long long)w[i].v, MAXDIM);
    if (hp->arch == ARCH_DEEPSEEK2) {
        /* the absorbed attention keeps [H][nope][R] and [H][hv][R] copies of the kv_b weight
         * (both factors are <= 2^24 here, so the product fits in 64 bits) */
        const int64_t kvb = H * (hp->n_nope + hv) * (int64_t)hp->kv_lora_rank;
        if (kvb > (int64_t)1 << 30)
            return seek_error("%s: %s head_count * (key_length - rope.dimension_count + value_length) * kv_lora_rank = "
                              "%lld exceeds the limit %d", path, arch, (long long)kvb, 1 << 30);
    }
    if (per_token > MAX_TOKEN_FLOATS)
        return seek_error("%s: the hyperparameters need %lld activation floats per token (limit %d)", path,
                          (long long)per_token, MAX_TOKEN_FLOATS);
    return 0;
}

static int read_hparams(seek_hparams *hp, const meta *m) {
    const char *path = m->g->path;
    if (get_int(m, "block_count", &hp->n_layer, 1, 4096) ||
        get_int(m, "embedding_length", &hp->n_embd, 1, MAXDIM) ||
        get_int(m, "attention.head_count", &hp->n_head, 1, 65536))
        return -1;
    hp->n_ctx_train = 4096;
    hp->n_head_kv = hp->n_head;
    hp->norm_eps = 1e-6f;
    hp->rope_base = 10000.0f;
    if (opt_int(m, "context_length", &hp->n_ctx_train, 1, 1 << 30) ||
        opt_int(m, "attention.head_count_kv", &hp->n_head_kv, 1, 65536) ||
        get_float(m, "attention.layer_norm_rms_epsilon", &hp->norm_eps) ||
        opt_float(m, "rope.freq_base", &hp->rope_base))
        return -1;
    if (!(hp->norm_eps > 0 && hp->norm_eps < 1))
        return seek_error("%s: %s.attention.layer_norm_rms_epsilon = %g is not in (0, 1)", path, m->arch, (double)hp->norm_eps);
    /* vocabulary size: from the embedding matrix (vocab_size is optional metadata) */
    const gguf_tensor *te = gguf_find_tensor(m->g, "token_embd.weight");
    if (!te) return seek_error("%s: missing tensor 'token_embd.weight'", path);
    if (te->ne[1] < 1 || te->ne[1] > (1 << 24)) return seek_error("%s: token_embd.weight has %lld rows", path, (long long)te->ne[1]);
    hp->n_vocab = (int)te->ne[1];

    /* RoPE scaling */
    char k[128];
    char *st = gguf_get_string(m->g, mkey(m, "rope.scaling.type", k, sizeof k));
    hp->rope_scaling = ROPE_SCALING_NONE;
    hp->rope_factor = 1.0f;
    if (st) {
        if (!strcmp(st, "yarn")) hp->rope_scaling = ROPE_SCALING_YARN;
        else if (!strcmp(st, "linear")) hp->rope_scaling = ROPE_SCALING_LINEAR;
        else if (strcmp(st, "none")) {
            seek_error("%s: unsupported %s '%s' (none, linear, yarn)", path, k, st);
            free(st);
            return -1;
        }
        free(st);
    }
    if (opt_float(m, "rope.scaling.factor", &hp->rope_factor) ||
        opt_int(m, "rope.scaling.original_context_length", &hp->rope_orig_ctx, 1, 1 << 30) ||
        opt_float(m, "rope.scaling.yarn_log_multiplier", &hp->yarn_log_mul) ||
        opt_float(m, "rope.scaling.yarn_beta_fast", &hp->yarn_beta_fast) ||
        opt_float(m, "rope.scaling.yarn_beta_slow", &hp->yarn_beta_slow))
        return -1;
    if (hp->rope_scaling != ROPE_SCALING_NONE && !(hp->rope_factor > 0))
        return seek_error("%s: %s.rope.scaling.factor must be > 0", path, m->arch);
    if (hp->rope_scaling == ROPE_SCALING_YARN && hp->rope_orig_ctx <= 0)
        return seek_error("%s: YaRN rope scaling needs %s.rope.scaling.original_context_length", path, m->arch);
    if (hp->rope_scaling == ROPE_SCALING_YARN && hp->rope_factor == 1.0f) hp->rope_scaling = ROPE_SCALING_NONE;

    if (hp->arch != ARCH_DEEPSEEK2) {
        if (get_int(m, "feed_forward_length", &hp->n_ff, 1, MAXDIM)) return -1;
        if (hp->n_embd % hp->n_head) return seek_error("%s: embedding_length %d is not a multiple of head_count %d", path, hp->n_embd, hp->n_head);
        hp->head_dim_k = hp->head_dim_v = hp->n_embd / hp->n_head;
        if (opt_int(m, "attention.key_length", &hp->head_dim_k, 1, 65536) ||
            opt_int(m, "attention.value_length", &hp->head_dim_v, 1, 65536))
            return -1;
        hp->n_rot = hp->head_dim_k;
        if (opt_int(m, "rope.dimension_count", &hp->n_rot, 2, hp->head_dim_k)) return -1;
        if (hp->n_head % hp->n_head_kv)
            return seek_error("%s: head_count %d is not a multiple of head_count_kv %d", path, hp->n_head, hp->n_head_kv);
        return check_sizes(hp, path, m->arch);
    }

    /* deepseek2 */
    /* multi-token-prediction blocks (blk.{n_layer - nextn}..) are counted in block_count but
     * are not part of the forward pass: they serve a speculative decoder */
    int nextn = 0;
    if (opt_int(m, "nextn_predict_layers", &nextn, 0, hp->n_layer - 1)) return -1;
    hp->n_layer -= nextn;
    hp->q_lora_rank = 0;
    hp->n_group = hp->n_group_used = 1;
    hp->expert_weights_scale = 1.0f;
    hp->gating_func = GATING_SOFTMAX;   /* V2-era files may lack the key; they use softmax */
    if (get_int(m, "feed_forward_length", &hp->n_ff, 1, MAXDIM) ||
        opt_int(m, "attention.q_lora_rank", &hp->q_lora_rank, 0, MAXDIM) ||
        get_int(m, "attention.kv_lora_rank", &hp->kv_lora_rank, 1, MAXDIM) ||
        get_int(m, "attention.key_length", &hp->head_dim_k, 2, MAXDIM) ||
        get_int(m, "attention.value_length", &hp->head_dim_v, 1, MAXDIM) ||
        get_int(m, "rope.dimension_count", &hp->n_rope, 2, MAXDIM) ||
        opt_int(m, "leading_dense_block_count", &hp->n_layer_dense_lead, 0, hp->n_layer) ||
        opt_int(m, "expert_count", &hp->n_expert, 0, 65536) ||
        opt_int(m, "expert_used_count", &hp->n_expert_used, 0, 65536) ||
        opt_int(m, "expert_shared_count", &hp->n_expert_shared, 0, 65536) ||
        opt_int(m, "expert_feed_forward_length", &hp->n_ff_exp, 0, MAXDIM) ||
        opt_int(m, "expert_group_count", &hp->n_group, 1, 65536) ||
        opt_int(m, "expert_group_used_count", &hp->n_group_used, 1, 65536) ||
        opt_float(m, "expert_weights_scale", &hp->expert_weights_scale) ||
        opt_bool(m, "expert_weights_norm", &hp->expert_weights_norm) ||
        opt_int(m, "expert_gating_func", &hp->gating_func, 0, 2))
        return -1;
    if (hp->gating_func == 0) hp->gating_func = GATING_SOFTMAX;
    /* Files in the "MLA layout" of some engines store the latent sizes in key_length /
     * value_length and the per-head sizes in the *_mla keys. */
    int kmla = 0, vmla = 0;
    if (opt_int(m, "attention.key_length_mla", &kmla, 0, MAXDIM) ||
        opt_int(m, "attention.value_length_mla", &vmla, 0, MAXDIM))
        return -1;
    if (kmla > 0) hp->head_dim_k = kmla;
    if (vmla > 0) hp->head_dim_v = vmla;
    hp->n_rot = hp->n_rope;
    if (hp->n_rope % 2 || hp->n_rope >= hp->head_dim_k)
        return seek_error("%s: rope.dimension_count %d must be even and below attention.key_length %d", path,
                          hp->n_rope, hp->head_dim_k);
    hp->n_nope = hp->head_dim_k - hp->n_rope;
    hp->n_head_kv = hp->n_head;
    /* (check_sizes bounds the MoE sizes even without MoE blocks: they size scratch buffers) */
    if (hp->n_layer_dense_lead < hp->n_layer) {
        if (hp->n_expert < 1 || hp->n_expert_used < 1 || hp->n_expert_used > hp->n_expert || hp->n_ff_exp < 1)
            return seek_error("%s: MoE blocks need expert_count, expert_used_count (1..expert_count) and "
                              "expert_feed_forward_length", path);
        if (hp->n_expert % hp->n_group || hp->n_group_used > hp->n_group)
            return seek_error("%s: expert_group_count %d must divide expert_count %d and be >= expert_group_used_count %d",
                              path, hp->n_group, hp->n_expert, hp->n_group_used);
        if (hp->n_group > 1 && hp->n_group_used * (hp->n_expert / hp->n_group) < hp->n_expert_used)
            return seek_error("%s: the %d selected expert groups hold fewer than expert_used_count = %d experts",
                              path, hp->n_group_used, hp->n_expert_used);
    }
    return check_sizes(hp, path, m->arch);
}

/* ------------------------------------------------------------------------------------ */
/* tensors */

/* Find `name`, check its shape (ne[0..n_dims), higher dims 1) and type: 1-D tensors must be
 * F32 (every converter writes norms and biases as F32), matrices any dequantizable type. */
static int want(const gguf_file *g, const char *name, bool required, const gguf_tensor **out, int n_dims,
                int64_t n0, int64_t n1, int64_t n2) {
    *out = NULL;
    const gguf_tensor *t = gguf_find_tensor(g, name);
    if (!t) return required ? seek_error("%s: missing tensor '%s'", g->path, name) : 0;
    int64_t want_ne[4] = {n0, n1, n2, 1};
    for (int d = 0; d < 4; d++) {
        int64_t e = d < n_dims ? want_ne[d] : 1;
        if (t->ne[d] != e) {
            char a[96], b[96];
            snprintf(a, sizeof a, "[%lld, %lld, %lld, %lld]", (long long)t->ne[0], (long long)t->ne[1],
                     (long long)t->ne[2], (long long)t->ne[3]);
            snprintf(b, sizeof b, "[%lld, %lld, %lld, 1]", (long long)n0, (long long)(n_dims > 1 ? n1 : 1),
                     (long long)(n_dims > 2 ? n2 : 1));
            return seek_error("%s: tensor '%s' has shape %s, expected %s", g->path, name, a, b);
        }
    }
    const seek_type_info *ti = seek_type_get(t->type);
    if (n_dims == 1 && t->type != SEEK_TYPE_F32)
        return seek_error("%s: tensor '%s' has type %s, expected F32", g->path, name, ti ? ti->name : "?");
    if (!ti || !ti->can_dequantize)
        return seek_error("%s: tensor '%s' has type %s, which this build cannot compute with", g->path, name,
                          ti ? ti->name : "?");
    *out = t;
    return 0;
}

#define W1(field, name, req, a) want(g, bn(name), req, &L->field, 1, a, 1, 1)
#define W2(field, name, req, a, b) want(g, bn(name), req, &L->field, 2, a, b, 1)
#define W3(field, name, req, a, b, c) want(g, bn(name), req, &L->field, 3, a, b, c)

static int load_tensors(seek_model *md) {
    const gguf_file *g = md->gguf;
    const seek_hparams *hp = &md->hp;
    const int64_t D = hp->n_embd, V = hp->n_vocab;
    if (want(g, "token_embd.weight", true, &md->tok_embd, 2, D, V, 1) ||
        want(g, "output_norm.weight", true, &md->output_norm, 1, D, 1, 1) ||
        want(g, "output.weight", false, &md->output, 2, D, V, 1))
        return -1;
    if (!md->output) md->output = md->tok_embd;   /* tied embeddings */
    if (!(md->layers = seek_calloc((size_t)hp->n_layer, sizeof *md->layers))) return -1;

    char nb[128];
    for (int l = 0; l < hp->n_layer; l++) {
        seek_layer *L = &md->layers[l];
#define bn(s) (snprintf(nb, sizeof nb, "blk.%d.%s", l, s), nb)
        if (W1(attn_norm, "attn_norm.weight", true, D) || W1(ffn_norm, "ffn_norm.weight", true, D)) return -1;
        if (hp->arch != ARCH_DEEPSEEK2) {
            const int64_t H = hp->n_head, KV = hp->n_head_kv, hk = hp->head_dim_k, hv = hp->head_dim_v;
            bool bias = hp->arch == ARCH_QWEN2;
            if (W2(wq, "attn_q.weight", true, D, H * hk) || W2(wk, "attn_k.weight", true, D, KV * hk) ||
                W2(wv, "attn_v.weight", true, D, KV * hv) || W2(wo, "attn_output.weight", true, H * hv, D) ||
                W1(bq, "attn_q.bias", bias, H * hk) || W1(bk, "attn_k.bias", bias, KV * hk) ||
                W1(bv, "attn_v.bias", bias, KV * hv) ||
                W2(ffn_gate, "ffn_gate.weight", true, D, hp->n_ff) || W2(ffn_up, "ffn_up.weight", true, D, hp->n_ff) ||
                W2(ffn_down, "ffn_down.weight", true, hp->n_ff, D))
                return -1;
            continue;
        }
        /* deepseek2: MLA */
        const int64_t H = hp->n_head, hk = hp->head_dim_k, hv = hp->head_dim_v;
        const int64_t R = hp->kv_lora_rank, nope = hp->n_nope, rope = hp->n_rope;
        if (gguf_find_tensor(g, bn("attn_q_a.weight"))) {
            if (hp->q_lora_rank <= 0)
                return seek_error("%s: blk.%d has attn_q_a but attention.q_lora_rank is %d", g->path, l, hp->q_lora_rank);
            if (W2(wq_a, "attn_q_a.weight", true, D, hp->q_lora_rank) ||
                W1(q_a_norm, "attn_q_a_norm.weight", true, hp->q_lora_rank) ||
                W2(wq_b, "attn_q_b.weight", true, hp->q_lora_rank, H * hk))
                return -1;
        } else if (W2(wq, "attn_q.weight", true, D, H * hk)) {
            return -1;
        }
        if (W2(wkv_a, "attn_kv_a_mqa.weight", true, D, R + rope) ||
            W1(kv_a_norm, "attn_kv_a_norm.weight", true, R) || W2(wo, "attn_output.weight", true, H * hv, D))
            return -1;
        if (gguf_find_tensor(g, bn("attn_kv_b.weight"))) {
            if (W2(wkv_b, "attn_kv_b.weight", true, R, H * (nope + hv))) return -1;
        } else {
            /* split form: k_b [n_head][kv_lora][nope] (rows of nope), v_b [n_head][v][kv_lora];
             * stored 3-D or flattened to 2-D */
            const gguf_tensor *kb = gguf_find_tensor(g, bn("attn_k_b.weight"));
            if (!kb) return seek_error("%s: missing tensor 'blk.%d.attn_kv_b.weight' (or attn_k_b + attn_v_b)", g->path, l);
            bool flat = kb->ne[2] == 1 && H > 1;
            if ((flat ? W2(wk_b, "attn_k_b.weight", true, nope, H * R) : W3(wk_b, "attn_k_b.weight", true, nope, R, H)) ||
                (flat ? W2(wv_b, "attn_v_b.weight", true, R, H * hv) : W3(wv_b, "attn_v_b.weight", true, R, hv, H)))
                return -1;
        }
        if (l < hp->n_layer_dense_lead) {
            if (W2(ffn_gate, "ffn_gate.weight", true, D, hp->n_ff) || W2(ffn_up, "ffn_up.weight", true, D, hp->n_ff) ||
                W2(ffn_down, "ffn_down.weight", true, hp->n_ff, D))
                return -1;
            continue;
        }
        const int64_t E = hp->n_expert, F = hp->n_ff_exp, S = (int64_t)hp->n_ff_exp * hp->n_expert_shared;
        if (W2(gate_inp, "ffn_gate_inp.weight", true, D, E) || W1(exp_probs_b, "exp_probs_b.bias", false, E) ||
            W3(gate_exps, "ffn_gate_exps.weight", true, D, F, E) || W3(up_exps, "ffn_up_exps.weight", true, D, F, E) ||
            W3(down_exps, "ffn_down_exps.weight", true, F, D, E))
            return -1;
        if (S > 0 && (W2(gate_shexp, "ffn_gate_shexp.weight", true, D, S) || W2(up_shexp, "ffn_up_shexp.weight", true, D, S) ||
                      W2(down_shexp, "ffn_down_shexp.weight", true, S, D)))
            return -1;
#undef bn
    }
    return 0;
}

static int init_rope(seek_model *md) {
    const seek_hparams *hp = &md->hp;
    rope_params p = {0};
    p.n_rot = hp->n_rot;
    p.base = hp->rope_base;
    p.neox = hp->arch == ARCH_QWEN2;
    p.scaling = hp->rope_scaling;
    p.factor = hp->rope_factor;
    p.orig_ctx = hp->rope_orig_ctx;
    p.beta_fast = hp->yarn_beta_fast;
    p.beta_slow = hp->yarn_beta_slow;
    const gguf_tensor *ff = NULL;
    if (want(md->gguf, "rope_freqs.weight", false, &ff, 1, hp->n_rot / 2, 1, 1)) return -1;
    if (ff) p.freq_factors = ff->data;
    if (rope_init(&md->rope, &p)) return seek_error_prefix("%s", md->gguf->path);
    /* YaRN's attention factor: dense models scale cos/sin by 0.1 ln(factor) + 1; DeepSeek
     * instead folds its mscale (from mscale_all_dim) into the softmax scale below */
    if (hp->arch != ARCH_DEEPSEEK2 && hp->rope_scaling == ROPE_SCALING_YARN)
        md->rope.attn = yarn_mscale(hp->rope_factor, 1.0f);
    /* attention softmax scale: 1/sqrt(head_dim), and for DeepSeek's YaRN the mscale^2
     * correction with mscale = 1 + yarn_log_multiplier * ln(factor)
     * (yarn_log_multiplier = 0.1 * mscale_all_dim) */
    md->kq_scale = 1.0f / sqrtf((float)hp->head_dim_k);
    if (hp->arch == ARCH_DEEPSEEK2 && hp->rope_scaling == ROPE_SCALING_YARN && hp->yarn_log_mul != 0 &&
        hp->rope_factor > 1.0f) {
        float ms = 1.0f + hp->yarn_log_mul * logf(hp->rope_factor);
        md->kq_scale *= ms * ms;
    }
    return 0;
}

/* deepseek2: each layer's kv_b halves once, as kb and vb (model.h), from either the fused
 * attn_kv_b or the split attn_k_b / attn_v_b. The forward pass reads these instead of
 * dequantizing kv_b per call. A half that is Q8_0 in every layer keeps the file's own rows,
 * copied as they are: the file's numbers in ~half the bytes of F16. For the split layout
 * that means attn_k_b's rows (h, c) of nope values, kb's transpose (m->mla_kb_t). vb's rows
 * are rows of R values in either layout, so vb also keeps a Q4_K, Q5_K or Q6_K file's rows
 * (what Q4_K_M, Q5_K_M, Q6_K give attn_v_b): 0.56 MiB a V2-Lite layer for Q4_K where an F16
 * copy read 2 MiB per token. */

/* k_nope's half as F32 kb[H][nope][R] */
static int mla_k_f32(const seek_layer *Ly, const seek_hparams *hp, float *kb, float *row) {
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, hv = hp->head_dim_v;
    int rc = 0;
    if (Ly->wkv_b) {
        seek_mat w = mat_of(Ly->wkv_b);   /* rows: per head, nope rows of k then hv rows of v */
        for (int h = 0; h < H && !rc; h++)
            for (int d = 0; d < nope && !rc; d++) rc = mat_row(w, (int64_t)h * (nope + hv) + d, kb + ((size_t)h * nope + d) * R);
        return rc;
    }
    /* attn_k_b: rows of nope values, row index h*R + c (the transpose of kb_h) */
    const size_t kbytes = seek_row_size(Ly->wk_b->type, nope);
    for (int h = 0; h < H && !rc; h++)
        for (int c = 0; c < R && !rc; c++) {
            rc = seek_dequantize_row(Ly->wk_b->type, (const uint8_t *)Ly->wk_b->data + ((size_t)h * R + c) * kbytes, row, nope);
            for (int d = 0; d < nope; d++) kb[((size_t)h * nope + d) * R + c] = row[d];
        }
    return rc;
}

/* v's half as F32 vb[H][hv][R] */
static int mla_v_f32(const seek_layer *Ly, const seek_hparams *hp, float *vb) {
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, hv = hp->head_dim_v;
    int rc = 0;
    if (Ly->wkv_b) {
        seek_mat w = mat_of(Ly->wkv_b);
        for (int h = 0; h < H && !rc; h++)
            for (int i = 0; i < hv && !rc; i++) rc = mat_row(w, (int64_t)h * (nope + hv) + nope + i, vb + ((size_t)h * hv + i) * R);
        return rc;
    }
    /* attn_v_b: rows of R values, row index h*hv + i */
    const size_t vbytes = seek_row_size(Ly->wv_b->type, R);
    for (size_t r = 0; r < (size_t)H * hv && !rc; r++)
        rc = seek_dequantize_row(Ly->wv_b->type, (const uint8_t *)Ly->wv_b->data + r * vbytes, vb + r * R, R);
    return rc;
}

/* Copy the file's rows of one half (type ty): every row of a split tensor, or per head the
 * nope (k) or hv (v) rows of the fused one, skip rows into each head's nope + hv */
static void mla_file_rows(uint8_t *dst, const seek_layer *Ly, const seek_hparams *hp, bool k, seek_type ty) {
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, hv = hp->head_dim_v;
    if (!Ly->wkv_b) {
        const gguf_tensor *t = k ? Ly->wk_b : Ly->wv_b;
        memcpy(dst, t->data, (size_t)H * (k ? seek_row_size(ty, nope) * R : seek_row_size(ty, R) * hv));
        return;
    }
    const size_t wrow = seek_row_size(ty, R);
    const int rows = k ? nope : hv, skip = k ? 0 : nope;
    for (int h = 0; h < H; h++)
        memcpy(dst + (size_t)h * rows * wrow, (const uint8_t *)Ly->wkv_b->data + ((size_t)h * (nope + hv) + skip) * wrow,
               (size_t)rows * wrow);
}

static int prepare_mla(seek_model *md) {
    const seek_hparams *hp = &md->hp;
    if (hp->arch != ARCH_DEEPSEEK2) return 0;
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, hv = hp->head_dim_v, L = hp->n_layer;
    const size_t nk = (size_t)H * nope * R, nv = (size_t)H * hv * R;
    const seek_layer *L0 = &md->layers[0];
    const seek_type k0 = (L0->wkv_b ? L0->wkv_b : L0->wk_b)->type, v0 = (L0->wkv_b ? L0->wkv_b : L0->wv_b)->type;
    /* a half keeps the file's rows when every layer has them in one type with a row product
     * in vec.h: Q8_0 for kb, Q8_0 or Q4_K, Q5_K, Q6_K (R a multiple of 256) for vb */
    const bool vk = v0 == SEEK_TYPE_Q4_K || v0 == SEEK_TYPE_Q5_K || v0 == SEEK_TYPE_Q6_K;
    bool fused = true, split = true, kq8 = true, vrows = v0 == SEEK_TYPE_Q8_0 || (vk && R % 256 == 0);
    for (int l = 0; l < L; l++) {
        const seek_layer *Ly = &md->layers[l];
        fused = fused && Ly->wkv_b, split = split && !Ly->wkv_b;
        kq8 = kq8 && (Ly->wkv_b ? Ly->wkv_b : Ly->wk_b)->type == SEEK_TYPE_Q8_0;
        vrows = vrows && (Ly->wkv_b ? Ly->wkv_b : Ly->wv_b)->type == v0;
    }
    kq8 = kq8 && (fused || split);   /* kb's row form must be one for all layers */
    md->mla_kt = kq8 ? SEEK_TYPE_Q8_0 : k0 == SEEK_TYPE_F32 ? SEEK_TYPE_F32 : SEEK_TYPE_F16;
    md->mla_vt = vrows ? v0 : v0 == SEEK_TYPE_F32 ? SEEK_TYPE_F32 : SEEK_TYPE_F16;
    md->mla_kb_t = kq8 && split;
    /* bytes of one layer's kb, then vb */
    md->mla_krow = seek_row_size(md->mla_kt, md->mla_kb_t ? nope : R), md->mla_vrow = seek_row_size(md->mla_vt, R);
    const size_t kbytes = (size_t)H * (md->mla_kb_t ? R : nope) * md->mla_krow, vbytes = (size_t)H * hv * md->mla_vrow;
    uint64_t total;
    if (!seek_mul_ok((uint64_t)kbytes + vbytes, (uint64_t)L, &total) || total > SIZE_MAX)
        return seek_error("%s: the unpacked attn_kv_b does not fit in memory", md->gguf->path);
    md->mla_kb = seek_calloc((size_t)L, sizeof *md->mla_kb);
    md->mla_vb = seek_calloc((size_t)L, sizeof *md->mla_vb);
    uint8_t *all = seek_alloc_fresh((size_t)total, repack_file_bytes(md->gguf));
    const bool conv = !kq8 || !vrows;   /* a half goes through F32 (one layer's) */
    float *kb = conv ? seek_malloc(sizeof(float) * (nk + nv)) : NULL, *vb = kb ? kb + nk : NULL;
    float *row = conv ? seek_malloc(sizeof(float) * (size_t)(R > nope ? R : nope)) : NULL;
    if (!md->mla_kb || !md->mla_vb || !all || (conv && (!kb || !row))) {
        seek_free_big(all, (size_t)total);
        free(kb), free(row);
        return -1;
    }
    md->mla_kb[0] = all;   /* model_free frees the block through it */
    md->mla_bytes = (size_t)total;
    int rc = 0;
    for (int l = 0; l < L && !rc; l++) {
        const seek_layer *Ly = &md->layers[l];
        md->mla_kb[l] = all + (size_t)l * (kbytes + vbytes);
        md->mla_vb[l] = md->mla_kb[l] + kbytes;
        if (kq8) mla_file_rows(md->mla_kb[l], Ly, hp, true, SEEK_TYPE_Q8_0);
        else if (!(rc = mla_k_f32(Ly, hp, kb, row))) kv_put(md->mla_kt, kb, md->mla_kb[l], (int)nk);
        if (rc) break;
        if (vrows) mla_file_rows(md->mla_vb[l], Ly, hp, false, md->mla_vt);
        else if (!(rc = mla_v_f32(Ly, hp, vb))) kv_put(md->mla_vt, vb, md->mla_vb[l], (int)nv);
    }
    free(kb);
    free(row);
    if (rc) return seek_error_prefix("%s", md->gguf->path);
    return 0;
}

int model_read_hparams(const gguf_file *g, seek_hparams *hp) {
    memset(hp, 0, sizeof *hp);
    char *arch = gguf_get_string(g, "general.architecture");
    if (!arch) return seek_error("%s: missing metadata key 'general.architecture'", g->path);
    if (!strcmp(arch, "llama")) hp->arch = ARCH_LLAMA;
    else if (!strcmp(arch, "qwen2")) hp->arch = ARCH_QWEN2;
    else if (!strcmp(arch, "deepseek2")) hp->arch = ARCH_DEEPSEEK2;
    else {
        seek_error("%s: unsupported architecture '%s' (supported: llama, qwen2, deepseek2)", g->path, arch);
        free(arch);
        return -1;
    }
    meta m = {g, arch};
    int rc = read_hparams(hp, &m);
    free(arch);
    return rc;
}

seek_model *model_from_gguf(gguf_file *g) {
    seek_model *md = seek_calloc(1, sizeof *md);
    if (!md) { gguf_close(g); return NULL; }
    md->gguf = g;
    md->mla = MLA_AUTO;
    if (model_read_hparams(g, &md->hp) || load_tensors(md) || init_rope(md) || prepare_mla(md) || model_repack(md))
        goto fail;
    return md;
fail:
    model_free(md);
    return NULL;
}

seek_model *model_load(const char *path) {
    gguf_file *g = gguf_open(path);
    if (!g) return NULL;
    return model_from_gguf(g);
}

void model_free(seek_model *m) {
    if (!m) return;
    rope_free(&m->rope);
    if (m->mla_kb) seek_free_big(m->mla_kb[0], m->mla_bytes);
    seek_free_big(m->packed, m->packed_bytes);
    free(m->mla_kb);
    free(m->mla_vb);
    if (m->ws)
        for (int i = 0; i < WS_BLOCKS; i++) seek_free_big(m->ws->buf[i], sizeof(float) * m->ws->cap[i]);
    free(m->ws);
    free(m->layers);
    gguf_close(m->gguf);
    free(m);
}

/* ------------------------------------------------------------------------------------ */
/* the forward pass */

float *ws_get(seek_model *m, int which, size_t n) {
    if (!m->ws && !(m->ws = seek_calloc(1, sizeof *m->ws))) return NULL;
    struct seek_workspace *w = m->ws;
    if (n == 0) n = 1;
    if (w->cap[which] < n) {
        size_t cap = w->cap[which] * 3 / 2 > n ? w->cap[which] * 3 / 2 : n;   /* room for the next bigger call */
        if (cap > SIZE_MAX / sizeof(float)) return seek_error("workspace: %zu floats do not fit in memory", n), NULL;
        seek_free_big(w->buf[which], sizeof(float) * w->cap[which]);
        w->buf[which] = NULL, w->cap[which] = 0;
        /* 2 MiB pages where granted: a 512-row prompt's activations are ~55 MiB of the 1.5B,
         * first touched inside the kernels (4 KiB faults ~12 us each on some VMs here) */
        if (!(w->buf[which] = seek_alloc_work(sizeof(float) * cap))) return NULL;
        w->cap[which] = cap;
    }
    return w->buf[which];
}

int model_embed(seek_model *m, const int32_t *tokens, int n, float *x) {
    seek_mat E = mat_of(m->tok_embd);
    for (int t = 0; t < n; t++) {
        if (tokens[t] < 0 || tokens[t] >= m->hp.n_vocab)
            return seek_error("token id %d at position %d is outside the vocabulary (0..%d)", tokens[t], t,
                              m->hp.n_vocab - 1);
        if (mat_row(E, tokens[t], x + (size_t)t * m->hp.n_embd)) return -1;
    }
    return 0;
}

/* The reference pass's tail: final norm, hidden capture, logits of every row. */
int model_output(seek_model *m, float *x, int n, float *logits, float *hidden) {
    const int D = m->hp.n_embd;
    for (int t = 0; t < n; t++) rmsnorm(x + (size_t)t * D, x + (size_t)t * D, m->output_norm->data, D, m->hp.norm_eps);
    if (hidden) memcpy(hidden + (size_t)m->hp.n_layer * n * D, x, sizeof(float) * (size_t)n * D);
    if (!logits) return 0;
    float *row = seek_malloc(sizeof(float) * (size_t)D);
    if (!row) return -1;
    int rc = (m->reference ? matmul_ref : matmul)(logits, x, mat_of(m->output), NULL, n, row);
    free(row);
    return rc;
}

static int check_seq(const seek_model *m, const seek_kvcache *c, int n, int pos0) {
    if (!c) return seek_error("forward: no cache");
    if (n < 1) return seek_error("forward: empty batch");
    if (pos0 < 0 || pos0 > c->n_past) return seek_error("forward: position %d is past the cache's %d entries", pos0, c->n_past);
    if (pos0 + n > c->n_ctx || pos0 + n < pos0)
        return seek_error("forward: positions up to %d exceed the context size %d", pos0 + n, c->n_ctx);
    if (c->n_layer != m->hp.n_layer) return seek_error("forward: the cache was made for another model");
    if (m->reference && c->type != SEEK_TYPE_F32) return seek_error("forward: the reference pass needs an F32 cache");
    return 0;
}

/* The fast pass over seqs[0..n_seqs): embeddings, blocks, final norm and the output head
 * for the rows whose logits are wanted. hidden (one sequence only) as model_forward.
 *
 * The rows of all sequences, in order, are cut into micro-batches of at most U rows (a
 * sequence may be split between two: its first part writes its cache rows, the next part
 * attends to them), and each micro-batch runs the whole pass. Every buffer is sized by U,
 * not by the batch: an 8k-token prompt holds the activations of U rows at a time. Each
 * row's arithmetic does not depend on the cut (row-wise ops; the matmul's and attention's
 * tiles line up when U is a multiple of both tiles), so one long sequence gives the same
 * bits whatever U; a micro-batch of several sequences as the batch test states. */
static int forward_fast(seek_model *m, seek_seq *seqs, int n_seqs, float *hidden) {
    const seek_hparams *hp = &m->hp;
    const int D = hp->n_embd, V = hp->n_vocab, half = m->rope.n_rot / 2;
    int N = 0, n_out = 0;   /* rows; rows whose logits are wanted */
    for (int i = 0; i < n_seqs; i++) {
        if (check_seq(m, seqs[i].cache, seqs[i].n, seqs[i].pos0)) return -1;
        for (int j = 0; j < i; j++)
            if (seqs[j].cache == seqs[i].cache) return seek_error("forward: two sequences of one batch share a cache");
        if (seqs[i].n > INT32_MAX - N) return seek_error("forward: batch too large");
        N += seqs[i].n;
        if (seqs[i].logits) n_out += seqs[i].all_logits ? seqs[i].n : 1;
    }
    const int U = m->ubatch > 0 ? m->ubatch : FWD_UBATCH, NU = N < U ? N : U;
    /* a single sequence wanting every row: the head writes straight into its buffer */
    const bool direct = n_seqs == 1 && seqs[0].all_logits;
    const int KU = direct ? 0 : n_out < NU ? n_out : NU;   /* gathered head rows per micro-batch */
    fwd_seq *fs = NULL;
    int *ps = NULL;
    float **dst = NULL;
    ws_carver wc = {0};
    float *x = NULL, *cs = NULL, *xo = NULL, *lo = NULL, *row = NULL;
    for (int pass = 0; pass < 2; pass++) {
        if (pass) {
            if (!(wc.base = ws_get(m, WS_IO, wc.used))) return -1;
            wc.used = 0;
        }
        x = ws_take(&wc, (size_t)NU * D);              /* [NU][D] residual stream */
        cs = ws_take(&wc, (size_t)NU * half * 2);      /* [NU][n_rot/2][2] */
        xo = ws_take(&wc, (size_t)KU * D);             /* [KU][D] rows for the output head */
        lo = ws_take(&wc, (size_t)KU * V);             /* [KU][V] their logits */
        row = ws_take(&wc, (size_t)D);
        fs = (fwd_seq *)ws_take(&wc, (sizeof(fwd_seq) * (size_t)n_seqs + sizeof(float) - 1) / sizeof(float));
        ps = (int *)ws_take(&wc, 2 * (size_t)n_seqs);  /* per part: sequence, first row in it */
        dst = (float **)ws_take(&wc, (sizeof(float *) * (size_t)KU + sizeof(float) - 1) / sizeof(float));
    }
    int si = 0, st = 0;   /* next row to run: row st of sequence si */
    for (int done = 0; done < N;) {
        /* ---- the next micro-batch: parts of sequences, in order, up to U rows ---- */
        int r = 0, np = 0;
        while (si < n_seqs && r < U) {
            const seek_seq *s = &seqs[si];
            const int take = s->n - st < U - r ? s->n - st : U - r;
            fs[np] = (fwd_seq){s->cache, r, take, s->pos0 + st};
            ps[2 * np] = si, ps[2 * np + 1] = st;
            np++;
            if (model_embed(m, s->tokens + st, take, x + (size_t)r * D)) return -1;
            for (int t = 0; t < take; t++) rope_cs(&m->rope, s->pos0 + st + t, cs + (size_t)(r + t) * half * 2);
            r += take, st += take;
            if (st == s->n) si++, st = 0;
        }
        float *hid = hidden ? hidden + (size_t)done * D : NULL;   /* this micro-batch's rows of entry 0 */
        if (hid) memcpy(hid, x, sizeof(float) * (size_t)r * D);
        fwd_batch b = {fs, np, r, cs, (size_t)N * D};
        if ((hp->arch == ARCH_DEEPSEEK2 ? deepseek2_blocks : llama_blocks)(m, &b, x, hid)) return -1;

        /* ---- the final norm and the output head, only for the rows that are wanted (the
         * head is the largest matmul: in prefill most rows need no logits) ---- */
        int k = 0;
        for (int p = 0; p < np; p++) {
            const seek_seq *s = &seqs[ps[2 * p]];
            const int t0 = ps[2 * p + 1], n = fs[p].n;
            const bool has_last = t0 + n == s->n;
            if (!hidden && !(s->logits && (s->all_logits || has_last))) continue;
            for (int t = s->all_logits || hidden ? 0 : n - 1; t < n; t++) {
                float *xr = x + (size_t)(fs[p].row0 + t) * D;
                rmsnorm(xr, xr, m->output_norm->data, D, hp->norm_eps);
                if (direct || !s->logits || !(s->all_logits || t0 + t == s->n - 1)) continue;
                memcpy(xo + (size_t)k * D, xr, sizeof(float) * D);
                dst[k++] = s->logits + (s->all_logits ? (size_t)(t0 + t) * V : 0);
            }
        }
        if (hid) memcpy(hid + (size_t)hp->n_layer * N * D, x, sizeof(float) * (size_t)r * D);
        if (direct && seqs[0].logits) {
            if (matmul(seqs[0].logits + (size_t)done * V, x, mat_of(m->output), NULL, r, row)) return -1;
        } else if (k) {
            if (matmul(lo, xo, mat_of(m->output), NULL, k, row)) return -1;
            for (int j = 0; j < k; j++) memcpy(dst[j], lo + (size_t)j * V, sizeof(float) * V);
        }
        done += r;
    }
    return 0;
}

int model_forward(seek_model *m, seek_kvcache *c, const int32_t *tokens, int n, int pos0,
                  float *logits, float *hidden) {
    if (check_seq(m, c, n, pos0)) return -1;
    int rc;
    if (m->reference) {
        rc = m->hp.arch == ARCH_DEEPSEEK2 ? deepseek2_forward_ref(m, c, tokens, n, pos0, logits, hidden)
                                          : llama_forward_ref(m, c, tokens, n, pos0, logits, hidden);
    } else {
        seek_seq s = {.cache = c, .tokens = tokens, .n = n, .pos0 = pos0, .logits = logits, .all_logits = true};
        rc = forward_fast(m, &s, 1, hidden);
    }
    if (rc == 0) c->n_past = pos0 + n;
    return rc;
}

int model_forward_batch(seek_model *m, seek_seq *seqs, int n_seqs) {
    if (n_seqs < 1) return seek_error("forward: no sequences");
    if (m->reference) {   /* one sequence after another, the last token alone for its logits */
        for (int i = 0; i < n_seqs; i++) {
            seek_seq *s = &seqs[i];
            float *lg = s->logits;
            if (lg && !s->all_logits && s->n > 1) {
                if (model_forward(m, s->cache, s->tokens, s->n - 1, s->pos0, NULL, NULL) ||
                    model_forward(m, s->cache, s->tokens + s->n - 1, 1, s->pos0 + s->n - 1, lg, NULL))
                    return -1;
                continue;
            }
            if (model_forward(m, s->cache, s->tokens, s->n, s->pos0, lg, NULL)) return -1;
        }
        return 0;
    }
    if (forward_fast(m, seqs, n_seqs, NULL)) return -1;
    for (int i = 0; i < n_seqs; i++) seqs[i].cache->n_past = seqs[i].pos0 + seqs[i].n;
    return 0;
}
