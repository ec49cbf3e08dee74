/* model.c - loading a model from GGUF: hyperparameters from `<arch>.*` metadata, every
 * expected tensor checked for presence, type and shape, the RoPE table, the KV cache, and
 * the parts of the forward pass every architecture shares (embedding, output head).
 *
 * Key names and tensor names are the GGUF ecosystem's (llama.cpp's gguf-py constants), so
 * files converted by other tools load here. The deepseek2 layout is decided by which
 * tensors exist (attn_q vs attn_q_a/attn_q_b, attn_kv_b vs attn_k_b/attn_v_b), never by
 * the number of layers. */
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

#define MAXDIM (1 << 24)

static int read_hparams(seek_model *md, const meta *m) {
    seek_hparams *hp = &md->hp;
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
        return 0;
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
    return 0;
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

seek_model *model_from_gguf(gguf_file *g) {
    seek_model *md = seek_calloc(1, sizeof *md);
    if (!md) { gguf_close(g); return NULL; }
    md->gguf = g;
    md->mla_absorb = true;
    char *arch = gguf_get_string(g, "general.architecture");
    if (!arch) { seek_error("%s: missing metadata key 'general.architecture'", g->path); goto fail; }
    if (!strcmp(arch, "llama")) md->hp.arch = ARCH_LLAMA;
    else if (!strcmp(arch, "qwen2")) md->hp.arch = ARCH_QWEN2;
    else if (!strcmp(arch, "deepseek2")) md->hp.arch = ARCH_DEEPSEEK2;
    else {
        seek_error("%s: unsupported architecture '%s' (supported: llama, qwen2, deepseek2)", g->path, arch);
        free(arch);
        goto fail;
    }
    meta m = {g, arch};
    int rc = read_hparams(md, &m);
    free(arch);
    if (rc || load_tensors(md) || init_rope(md)) goto fail;
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
    free(m->layers);
    gguf_close(m->gguf);
    free(m);
}

/* ------------------------------------------------------------------------------------ */
/* KV cache */

seek_kvcache *kvcache_new(const seek_model *m, int n_ctx) {
    const seek_hparams *hp = &m->hp;
    if (n_ctx < 1) { seek_error("kv cache: context size %d must be >= 1", n_ctx); return NULL; }
    seek_kvcache *c = seek_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->n_ctx = n_ctx;
    c->n_layer = hp->n_layer;
    if (hp->arch == ARCH_DEEPSEEK2) {
        c->k_dim = hp->kv_lora_rank + hp->n_rope;
        c->v_dim = 0;
    } else {
        c->k_dim = hp->n_head_kv * hp->head_dim_k;
        c->v_dim = hp->n_head_kv * hp->head_dim_v;
    }
    uint64_t nk, nv;
    if (!seek_mul_ok((uint64_t)n_ctx * hp->n_layer, (uint64_t)c->k_dim * sizeof(float), &nk) ||
        !seek_mul_ok((uint64_t)n_ctx * hp->n_layer, (uint64_t)c->v_dim * sizeof(float), &nv) || nk > SIZE_MAX) {
        seek_error("kv cache: %d positions do not fit in memory", n_ctx);
        free(c);
        return NULL;
    }
    c->k = seek_calloc(1, (size_t)nk);
    c->v = nv ? seek_calloc(1, (size_t)nv) : NULL;
    if (!c->k || (nv && !c->v)) { kvcache_free(c); return NULL; }
    return c;
}

void kvcache_free(seek_kvcache *c) {
    if (!c) return;
    free(c->k);
    free(c->v);
    free(c);
}

/* ------------------------------------------------------------------------------------ */
/* shared forward pieces */

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

int model_output(seek_model *m, float *x, int n, float *logits, float *hidden) {
    const int D = m->hp.n_embd;
    for (int t = 0; t < n; t++) rmsnorm(x + (size_t)t * D, x + (size_t)t * D, m->output_norm->data, D, m->hp.norm_eps);
    if (hidden) memcpy(hidden + (size_t)m->hp.n_layer * n * D, x, sizeof(float) * (size_t)n * D);
    if (!logits) return 0;
    float *row = seek_malloc(sizeof(float) * (size_t)D);
    if (!row) return -1;
    int rc = matmul(logits, x, mat_of(m->output), NULL, n, row);
    free(row);
    return rc;
}

int model_forward(seek_model *m, seek_kvcache *c, const int32_t *tokens, int n, int pos0,
                  float *logits, float *hidden) {
    if (n < 1) return seek_error("forward: empty batch");
    if (pos0 < 0 || pos0 > c->n_past) return seek_error("forward: position %d is past the cache's %d entries", pos0, c->n_past);
    if (pos0 + n > c->n_ctx || pos0 + n < pos0)
        return seek_error("forward: positions up to %d exceed the context size %d", pos0 + n, c->n_ctx);
    if (c->n_layer != m->hp.n_layer) return seek_error("forward: the cache was made for another model");
    int rc = m->hp.arch == ARCH_DEEPSEEK2 ? deepseek2_forward(m, c, tokens, n, pos0, logits, hidden)
                                          : llama_forward(m, c, tokens, n, pos0, logits, hidden);
    if (rc == 0) c->n_past = pos0 + n;
    return rc;
}

/* Reference form of the batched entry point: one sequence after another. (The fast engine
 * runs all sequences' tokens through each weight matrix together.) */
int model_forward_batch(seek_model *m, seek_seq *seqs, int n_seqs) {
    for (int i = 0; i < n_seqs; i++) {
        seek_seq *s = &seqs[i];
        float *lg = s->logits;
        if (lg && !s->all_logits && s->n > 1) {
            /* only the last token's logits are wanted: evaluate all but it without logits */
            if (model_forward(m, s->cache, s->tokens, s->n - 1, s->pos0, NULL, NULL) ||
                model_forward(m, s->cache, s->tokens + s->n - 1, 1, s->pos0 + s->n - 1, lg, NULL))
                return -1;
            continue;
        }
        if (model_forward(m, s->cache, s->tokens, s->n, s->pos0, lg, NULL)) return -1;
    }
    return 0;
}
