/* convert.c - Hugging Face checkpoint -> GGUF (see convert.h).
 *
 * Flow: read config.json into hyperparameters (every field we need checked, a clear error
 * naming a missing or inconsistent one), index the tensors of all safetensors shards,
 * then walk the GGUF layout the architecture expects, pulling each tensor from its HF
 * source: float32 conversion (FP8 weights multiplied by their per-128x128-block
 * `weight_scale_inv`), per-architecture rearrangement, output type. Converted tensors are
 * appended to a scratch file next to the output, which is then mapped and handed to the
 * GGUF writer, so memory stays bounded by the largest tensor, not the model.
 *
 * Conventions of the ecosystem's converter that we follow (and why):
 *  - llama: q_proj / k_proj rows are permuted per head from HF's halves RoPE layout to
 *    interleaved pairs, because llama-arch GGUF files are evaluated with interleaved RoPE.
 *    qwen2 is evaluated with NeoX (halves) RoPE and is not permuted.
 *  - llama3 rope scaling is stored as a `rope_freqs` tensor of per-frequency divisors.
 *  - deepseek2: experts stacked into ffn_{gate,up,down}_exps [n_expert][rows][cols];
 *    e_score_correction_bias -> exp_probs_b.bias; YaRN stored as factor, original context
 *    and yarn_log_multiplier = 0.1 * mscale_all_dim; q_lora_rank written as 0 without
 *    q-LoRA; layers >= num_hidden_layers (multi-token prediction) skipped.
 *  - 1-D tensors (norms, biases) and the MoE router stay F32 whatever the output type;
 *    Q8_0 falls back to F16 for rows that are not a multiple of 32.
 */
#include "convert.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gguf.h"
#include "ops.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "util.h"

/* ------------------------------------------------------------------------------------ */
/* config.json */

typedef struct {
    const char *arch;            /* GGUF architecture */
    bool is_v3;                  /* DeepseekV3ForCausalLM (sigmoid router, noaux_tc) */
    int vocab, dim, n_layer, n_head, n_head_kv, head_dim, n_ff, ctx;
    double eps, rope_theta;
    bool tied;
    bool attn_bias;
    /* rope scaling */
    char rope_type[32];
    double rope_factor, low_freq_factor, high_freq_factor, mscale, mscale_all_dim, beta_fast, beta_slow;
    int rope_orig_ctx;
    /* deepseek2 */
    int q_lora, kv_lora, nope, rope, v_head;
    int dense_lead, n_expert, n_used, n_shared, n_ff_exp, n_group, n_group_used;
    double routed_scale;
    bool norm_topk;
    int gating;
    int fp8_block[2];            /* quantization_config.weight_block_size */
} hf_config;

static const char *cfg_path;     /* for messages */

/* Limits shared with the loader (model.c): a longer row, more heads or a longer head is
 * not a model, it is a hostile file. */
#define MAX_ROW (1 << 24)
#define MAX_HEADS 65536
#define MAX_HEAD_DIM 65536
#define MAX_LAYERS 4096

/* A config number that is written as (or computed in) float32 must stay finite and, unless
 * zero, not underflow to 0: 1e-300 and 1e39 are valid JSON but not valid f32. */
static int f32_ok(const char *k, double v) {
    float f = (float)v;
    if (!isfinite(v) || !isfinite(f) || (v != 0 && f == 0))
        return seek_error("%s: field '%s' = %g does not fit in float32", cfg_path, k, v);
    return 0;
}

static json_t *field(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_null(v) ? NULL : v;
}

static int cfg_int(json_t *o, const char *k, int *out, bool required, int lo) {
    json_t *v = field(o, k);
    if (!v) return required ? seek_error("%s: missing field '%s'", cfg_path, k) : 0;
    if (!json_is_integer(v)) return seek_error("%s: field '%s' must be an integer", cfg_path, k);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > (1 << 30)) return seek_error("%s: field '%s' = %lld is out of range", cfg_path, k, (long long)x);
    *out = (int)x;
    return 0;
}

static int cfg_num(json_t *o, const char *k, double *out, bool required) {
    json_t *v = field(o, k);
    if (!v) return required ? seek_error("%s: missing field '%s'", cfg_path, k) : 0;
    if (!json_is_number(v)) return seek_error("%s: field '%s' must be a number", cfg_path, k);
    *out = json_number_value(v);
    return 0;
}

static int cfg_bool(json_t *o, const char *k, bool *out) {
    json_t *v = field(o, k);
    if (!v) return 0;
    if (!json_is_boolean(v)) return seek_error("%s: field '%s' must be true or false", cfg_path, k);
    *out = json_is_true(v);
    return 0;
}

static int read_rope_scaling(json_t *cfg, hf_config *c) {
    /* two styles: `rope_scaling` {type|rope_type, factor, ...} (older, DeepSeek's releases)
     * and `rope_parameters` {rope_type, rope_theta, ...} (newer transformers) */
    json_t *rs = field(cfg, "rope_scaling");
    const char *where = "rope_scaling";
    json_t *rp = field(cfg, "rope_parameters");
    if (!rs && rp) { rs = rp; where = "rope_parameters"; }
    if (rp && json_is_object(rp) && field(rp, "rope_theta") && cfg_num(rp, "rope_theta", &c->rope_theta, false)) return -1;
    strcpy(c->rope_type, "default");
    if (!rs) return 0;
    if (!json_is_object(rs)) return seek_error("%s: field '%s' must be an object", cfg_path, where);
    json_t *t = field(rs, "rope_type");
    if (!t) t = field(rs, "type");
    if (t) {
        if (!json_is_string(t) || strlen(json_string_value(t)) >= sizeof c->rope_type)
            return seek_error("%s: field '%s.rope_type' must be a short string", cfg_path, where);
        strcpy(c->rope_type, json_string_value(t));
    }
    if (!strcmp(c->rope_type, "default")) return 0;
    char k[96];
    c->beta_fast = 32, c->beta_slow = 1, c->low_freq_factor = 1, c->high_freq_factor = 4;
    if (!strcmp(c->rope_type, "linear") || !strcmp(c->rope_type, "yarn") || !strcmp(c->rope_type, "llama3")) {
        snprintf(k, sizeof k, "%s.factor", where);
        if (!field(rs, "factor")) return seek_error("%s: missing field '%s'", cfg_path, k);
        if (cfg_num(rs, "factor", &c->rope_factor, true)) return -1;
        if (!(c->rope_factor > 0)) return seek_error("%s: field '%s' must be > 0", cfg_path, k);
    } else {
        return seek_error("%s: unsupported %s type '%s' (supported: default, linear, yarn, llama3)", cfg_path, where,
                          c->rope_type);
    }
    if (!strcmp(c->rope_type, "linear")) return 0;
    c->rope_orig_ctx = 0;
    if (cfg_int(rs, "original_max_position_embeddings", &c->rope_orig_ctx, false, 1)) return -1;
    if (!c->rope_orig_ctx) {
        if (!strcmp(c->rope_type, "llama3") || !strcmp(c->rope_type, "yarn"))
            return seek_error("%s: missing field '%s.original_max_position_embeddings'", cfg_path, where);
    }
    if (cfg_num(rs, "mscale", &c->mscale, false) || cfg_num(rs, "mscale_all_dim", &c->mscale_all_dim, false) ||
        cfg_num(rs, "beta_fast", &c->beta_fast, false) || cfg_num(rs, "beta_slow", &c->beta_slow, false) ||
        cfg_num(rs, "low_freq_factor", &c->low_freq_factor, false) ||
        cfg_num(rs, "high_freq_factor", &c->high_freq_factor, false))
        return -1;
    if (!strcmp(c->rope_type, "llama3") && !(c->high_freq_factor > c->low_freq_factor))
        return seek_error("%s: %s.high_freq_factor must exceed low_freq_factor", cfg_path, where);
    return 0;
}

static int read_config(json_t *cfg, hf_config *c) {
    memset(c, 0, sizeof *c);
    json_t *archs = field(cfg, "architectures");
    const char *a = NULL;
    if (archs && json_is_array(archs) && json_array_size(archs) > 0 && json_is_string(json_array_get(archs, 0)))
        a = json_string_value(json_array_get(archs, 0));
    if (!a) return seek_error("%s: missing field 'architectures'", cfg_path);
    if (!strcmp(a, "LlamaForCausalLM")) c->arch = "llama";
    else if (!strcmp(a, "Qwen2ForCausalLM")) c->arch = "qwen2";
    else if (!strcmp(a, "DeepseekV2ForCausalLM")) c->arch = "deepseek2";
    else if (!strcmp(a, "DeepseekV3ForCausalLM")) { c->arch = "deepseek2"; c->is_v3 = true; }
    else
        return seek_error("%s: unsupported architecture '%s' (supported: LlamaForCausalLM, Qwen2ForCausalLM, "
                          "DeepseekV2ForCausalLM, DeepseekV3ForCausalLM)", cfg_path, a);
    c->eps = 1e-6;
    c->rope_theta = 10000.0;
    c->ctx = 4096;
    if (cfg_int(cfg, "vocab_size", &c->vocab, true, 1) || cfg_int(cfg, "hidden_size", &c->dim, true, 1) ||
        cfg_int(cfg, "num_hidden_layers", &c->n_layer, true, 1) ||
        cfg_int(cfg, "num_attention_heads", &c->n_head, true, 1) ||
        cfg_int(cfg, "intermediate_size", &c->n_ff, true, 1) ||
        cfg_int(cfg, "max_position_embeddings", &c->ctx, false, 1) || cfg_num(cfg, "rms_norm_eps", &c->eps, false) ||
        cfg_num(cfg, "rope_theta", &c->rope_theta, false) || cfg_bool(cfg, "tie_word_embeddings", &c->tied) ||
        cfg_bool(cfg, "attention_bias", &c->attn_bias))
        return -1;
    c->n_head_kv = c->n_head;
    if (cfg_int(cfg, "num_key_value_heads", &c->n_head_kv, false, 1) || read_rope_scaling(cfg, c)) return -1;
    if (!(c->eps > 0 && c->eps < 1)) return seek_error("%s: field 'rms_norm_eps' must be in (0, 1)", cfg_path);
    if (!(c->rope_theta > 0)) return seek_error("%s: field 'rope_theta' must be > 0", cfg_path);

    json_t *qc = field(cfg, "quantization_config");
    c->fp8_block[0] = c->fp8_block[1] = 128;
    if (qc && json_is_object(qc)) {
        json_t *bs = field(qc, "weight_block_size");
        if (bs) {
            if (!json_is_array(bs) || json_array_size(bs) != 2 || !json_is_integer(json_array_get(bs, 0)) ||
                !json_is_integer(json_array_get(bs, 1)) || json_integer_value(json_array_get(bs, 0)) < 1 ||
                json_integer_value(json_array_get(bs, 1)) < 1 || json_integer_value(json_array_get(bs, 0)) > MAX_ROW ||
                json_integer_value(json_array_get(bs, 1)) > MAX_ROW)
                return seek_error("%s: field 'quantization_config.weight_block_size' must be two integers in [1, %d]",
                                  cfg_path, MAX_ROW);
            c->fp8_block[0] = (int)json_integer_value(json_array_get(bs, 0));
            c->fp8_block[1] = (int)json_integer_value(json_array_get(bs, 1));
        }
    }

    if (strcmp(c->arch, "deepseek2")) {
        if (c->dim % c->n_head && !field(cfg, "head_dim"))
            return seek_error("%s: hidden_size %d is not a multiple of num_attention_heads %d", cfg_path, c->dim, c->n_head);
        c->head_dim = c->dim / c->n_head;
        if (cfg_int(cfg, "head_dim", &c->head_dim, false, 2)) return -1;
        if (c->head_dim % 2) return seek_error("%s: head_dim %d must be even", cfg_path, c->head_dim);
        if (c->n_head % c->n_head_kv)
            return seek_error("%s: num_attention_heads %d is not a multiple of num_key_value_heads %d", cfg_path,
                              c->n_head, c->n_head_kv);
        if (!strcmp(c->arch, "qwen2") && !strcmp(c->rope_type, "llama3"))
            return seek_error("%s: llama3 rope scaling on a Qwen2 model is not supported", cfg_path);
        return 0;
    }

    /* deepseek2 */
    c->n_group = c->n_group_used = 1;
    c->routed_scale = 1.0;
    c->norm_topk = c->is_v3;
    c->gating = c->is_v3 ? 2 : 1;
    if (cfg_int(cfg, "q_lora_rank", &c->q_lora, false, 1) || cfg_int(cfg, "kv_lora_rank", &c->kv_lora, true, 1) ||
        cfg_int(cfg, "qk_nope_head_dim", &c->nope, true, 1) || cfg_int(cfg, "qk_rope_head_dim", &c->rope, true, 2) ||
        cfg_int(cfg, "v_head_dim", &c->v_head, true, 1) ||
        cfg_int(cfg, "first_k_dense_replace", &c->dense_lead, false, 0) ||
        cfg_int(cfg, "n_routed_experts", &c->n_expert, false, 1) ||
        cfg_int(cfg, "num_experts_per_tok", &c->n_used, false, 1) ||
        cfg_int(cfg, "n_shared_experts", &c->n_shared, false, 0) ||
        cfg_int(cfg, "moe_intermediate_size", &c->n_ff_exp, false, 1) ||
        cfg_num(cfg, "routed_scaling_factor", &c->routed_scale, false) || cfg_bool(cfg, "norm_topk_prob", &c->norm_topk))
        return -1;
    if (c->rope % 2) return seek_error("%s: qk_rope_head_dim %d must be even", cfg_path, c->rope);
    if (c->dense_lead > c->n_layer) c->dense_lead = c->n_layer;
    int freq = 1;
    if (cfg_int(cfg, "moe_layer_freq", &freq, false, 1)) return -1;
    if (freq != 1) return seek_error("%s: moe_layer_freq %d is not supported (only 1)", cfg_path, freq);
    json_t *rv = field(cfg, "rope_interleave");
    if (rv && json_is_false(rv))
        return seek_error("%s: rope_interleave = false is not supported for DeepSeek models", cfg_path);
    json_t *sf = field(cfg, "scoring_func");
    if (sf) {
        if (!json_is_string(sf)) return seek_error("%s: field 'scoring_func' must be a string", cfg_path);
        if (!strcmp(json_string_value(sf), "softmax")) c->gating = 1;
        else if (!strcmp(json_string_value(sf), "sigmoid")) c->gating = 2;
        else return seek_error("%s: unsupported scoring_func '%s' (softmax, sigmoid)", cfg_path, json_string_value(sf));
    }
    /* group-limited routing: V2 "group_limited_greedy", V3 "noaux_tc"; "greedy" ignores groups */
    json_t *tm = field(cfg, "topk_method");
    const char *method = tm && json_is_string(tm) ? json_string_value(tm) : (c->is_v3 ? "noaux_tc" : "greedy");
    if (strcmp(method, "greedy") && strcmp(method, "group_limited_greedy") && strcmp(method, "noaux_tc"))
        return seek_error("%s: unsupported topk_method '%s'", cfg_path, method);
    if (strcmp(method, "greedy")) {
        if (cfg_int(cfg, "n_group", &c->n_group, false, 1) || cfg_int(cfg, "topk_group", &c->n_group_used, false, 1))
            return -1;
    }
    if (c->dense_lead < c->n_layer) {
        if (!c->n_expert || !c->n_used || !c->n_ff_exp)
            return seek_error("%s: MoE layers need n_routed_experts, num_experts_per_tok and moe_intermediate_size", cfg_path);
        if (c->n_used > c->n_expert)
            return seek_error("%s: num_experts_per_tok %d exceeds n_routed_experts %d", cfg_path, c->n_used, c->n_expert);
        if (c->n_expert % c->n_group || c->n_group_used > c->n_group)
            return seek_error("%s: n_group %d must divide n_routed_experts %d and be >= topk_group %d", cfg_path,
                              c->n_group, c->n_expert, c->n_group_used);
    }
    if (!strcmp(c->rope_type, "llama3")) return seek_error("%s: llama3 rope scaling on a DeepSeek model is not supported", cfg_path);
    return 0;
}

/* Every size convert or the loader derives from the config, in 64-bit arithmetic, bounded
 * before anything is allocated from it; and every float that ends up as f32 representable. */
static int check_config(const hf_config *c) {
    struct { const char *k; int64_t v, max; } lim[] = {
        {"vocab_size", c->vocab, MAX_ROW}, {"hidden_size", c->dim, MAX_ROW}, {"num_hidden_layers", c->n_layer, MAX_LAYERS},
        {"num_attention_heads", c->n_head, MAX_HEADS}, {"num_key_value_heads", c->n_head_kv, MAX_HEADS},
        {"intermediate_size", c->n_ff, MAX_ROW}, {"head_dim", c->head_dim, MAX_HEAD_DIM},
        {"q_lora_rank", c->q_lora, MAX_ROW}, {"kv_lora_rank", c->kv_lora, MAX_ROW},
        {"qk_nope_head_dim", c->nope, MAX_HEAD_DIM}, {"qk_rope_head_dim", c->rope, MAX_HEAD_DIM},
        {"v_head_dim", c->v_head, MAX_HEAD_DIM}, {"n_routed_experts", c->n_expert, MAX_HEADS},
        {"n_shared_experts", c->n_shared, MAX_HEADS}, {"moe_intermediate_size", c->n_ff_exp, MAX_ROW},
        {"n_group", c->n_group, MAX_HEADS},
        /* derived row widths */
        {"num_attention_heads * head_dim", (int64_t)c->n_head * c->head_dim, MAX_ROW},
        {"num_attention_heads * (qk_nope_head_dim + qk_rope_head_dim)", (int64_t)c->n_head * ((int64_t)c->nope + c->rope), MAX_ROW},
        {"num_attention_heads * (qk_nope_head_dim + v_head_dim)", (int64_t)c->n_head * ((int64_t)c->nope + c->v_head), MAX_ROW},
        {"kv_lora_rank + qk_rope_head_dim", (int64_t)c->kv_lora + c->rope, MAX_ROW},
        {"moe_intermediate_size * n_shared_experts", (int64_t)c->n_ff_exp * c->n_shared, MAX_ROW},
    };
    for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++)
        if (lim[i].v > lim[i].max)
            return seek_error("%s: %s = %lld exceeds the limit %lld", cfg_path, lim[i].k, (long long)lim[i].v,
                              (long long)lim[i].max);
    if (f32_ok("rms_norm_eps", c->eps) || f32_ok("rope_theta", c->rope_theta) ||
        f32_ok("routed_scaling_factor", c->routed_scale) || f32_ok("rope_scaling.factor", c->rope_factor) ||
        f32_ok("rope_scaling.mscale", c->mscale) || f32_ok("rope_scaling.mscale_all_dim", c->mscale_all_dim) ||
        f32_ok("rope_scaling.mscale_all_dim * 0.1", 0.1 * c->mscale_all_dim) ||
        f32_ok("rope_scaling.beta_fast", c->beta_fast) || f32_ok("rope_scaling.beta_slow", c->beta_slow) ||
        f32_ok("rope_scaling.low_freq_factor", c->low_freq_factor) ||
        f32_ok("rope_scaling.high_freq_factor", c->high_freq_factor))
        return -1;
    /* YaRN's mscale folds ln(factor) into the softmax scale: keep it finite in f32 too */
    if (c->rope_factor > 1 && f32_ok("rope_scaling.factor (its YaRN attention scale)",
                                     (1 + 0.1 * fabs(c->mscale_all_dim) * log(c->rope_factor)) *
                                         (1 + 0.1 * fabs(c->mscale_all_dim) * log(c->rope_factor))))
        return -1;
    return 0;
}

/* Elements of the checkpoint tensors the config implies, in 64-bit arithmetic (saturating
 * at INT64_MAX). Every element takes at least one byte in a safetensors file, so a config
 * that implies more elements than the shards hold bytes is rejected before converting. */
static int64_t sat_mul(int64_t a, int64_t b) { int64_t r; return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r; }
static int64_t sat_add(int64_t a, int64_t b) { int64_t r; return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r; }

static int64_t expected_elements(const hf_config *c) {
    const int64_t D = c->dim;
    int64_t per_layer = 2 * D;   /* the two norms */
    int64_t n = sat_mul((int64_t)c->vocab, D);
    if (!strcmp(c->arch, "deepseek2")) {
        const int64_t H = c->n_head, hk = (int64_t)c->nope + c->rope, R = c->kv_lora;
        int64_t attn = c->q_lora ? sat_add(sat_mul(D, c->q_lora), sat_mul(c->q_lora, H * hk)) : sat_mul(D, H * hk);
        attn = sat_add(attn, sat_mul(D, R + c->rope));
        attn = sat_add(attn, sat_mul(R, H * ((int64_t)c->nope + c->v_head)));
        attn = sat_add(attn, sat_mul(D, H * c->v_head));
        int64_t dense = sat_mul(3 * D, c->n_ff);
        int64_t moe = sat_add(sat_mul(sat_mul(3 * D, c->n_ff_exp), (int64_t)c->n_expert + c->n_shared),
                              sat_mul(D, c->n_expert));
        int64_t nd = c->dense_lead < c->n_layer ? c->dense_lead : c->n_layer;
        n = sat_add(n, sat_mul(sat_add(attn, per_layer), c->n_layer));
        n = sat_add(n, sat_add(sat_mul(dense, nd), sat_mul(moe, c->n_layer - nd)));
    } else {
        const int64_t q = (int64_t)c->n_head * c->head_dim, kv = (int64_t)c->n_head_kv * c->head_dim;
        int64_t layer = sat_add(sat_mul(D, 2 * q + 2 * kv), sat_mul(3 * D, c->n_ff));
        n = sat_add(n, sat_mul(sat_add(layer, per_layer), c->n_layer));
    }
    return n;
}

int convert_check_config(const char *json_text, size_t len) {
    json_error_t je;
    json_t *cfg = json_loadb(json_text, len, 0, &je);
    cfg_path = "config.json";
    int rc;
    if (!cfg) rc = seek_error("config.json: invalid JSON (line %d: %s)", je.line, je.text);
    else if (!json_is_object(cfg)) rc = seek_error("config.json: not a JSON object");
    else {
        hf_config c;
        rc = read_config(cfg, &c) || check_config(&c) ? -1 : 0;
    }
    json_decref(cfg);
    cfg_path = NULL;
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* the converter's state: input tensors (all shards), output records in a scratch file */

typedef struct {
    const char *name;
    const st_tensor *t;
    bool used;
} src_entry;

typedef struct {
    char *name;
    seek_type type;
    uint32_t n_dims;
    int64_t ne[4];
    uint64_t off, nbytes;
} out_rec;

typedef struct {
    const char *dir;
    hf_config c;
    convert_opts o;
    st_file **files;
    size_t n_files;
    src_entry *src;
    size_t n_src;
    FILE *scratch;
    char *scratch_path;
    uint64_t scratch_off;
    out_rec *recs;
    size_t n_recs, cap_recs;
    uint64_t in_total, in_done;
    /* the tensor being written */
    out_rec *cur;
    uint64_t cur_rows_left;
    void *qbuf;
} conv;

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = seek_malloc(n);
    if (p) snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int cmp_src(const void *a, const void *b) {
    return strcmp(((const src_entry *)a)->name, ((const src_entry *)b)->name);
}

static int open_shard(conv *cv, const char *file) {
    for (size_t i = 0; i < cv->n_files; i++) {
        const char *p = strrchr(cv->files[i]->path, '/');
        if (!strcmp(p ? p + 1 : cv->files[i]->path, file)) return 0;
    }
    if (strchr(file, '/') || !strcmp(file, "..")) return seek_error("%s: shard name '%s' is not a plain file name", cv->dir, file);
    char *path = join(cv->dir, file);
    if (!path) return -1;
    st_file *f = st_open(path);
    free(path);
    if (!f) return -1;
    st_file **nf = seek_realloc(cv->files, (cv->n_files + 1) * sizeof *nf);
    if (!nf) { st_close(f); return -1; }
    cv->files = nf;
    cv->files[cv->n_files++] = f;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int index_sources(conv *cv) {
    char *idx = join(cv->dir, "model.safetensors.index.json");
    if (!idx) return -1;
    int rc = -1;
    if (access(idx, F_OK) == 0) {
        json_error_t je;
        json_t *j = json_load_file(idx, 0, &je);
        if (!j) { seek_error("%s: invalid JSON (line %d: %s)", idx, je.line, je.text); goto out; }
        json_t *wm = json_object_get(j, "weight_map");
        if (!json_is_object(wm)) { json_decref(j); seek_error("%s: missing field 'weight_map'", idx); goto out; }
        const char *k;
        json_t *v;
        json_object_foreach(wm, k, v) {
            /* the error names the key, which j owns: format it before freeing j */
            if (!json_is_string(v)) { seek_error("%s: weight_map['%s'] is not a file name", idx, k); json_decref(j); goto out; }
            if (open_shard(cv, json_string_value(v))) { json_decref(j); goto out; }
        }
        json_decref(j);
    } else {
        DIR *d = opendir(cv->dir);
        if (!d) { seek_error("%s: cannot open directory", cv->dir); goto out; }
        struct dirent *e;
        char **names = NULL;
        size_t n = 0, cap = 0;
        while ((e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l > 12 && !strcmp(e->d_name + l - 12, ".safetensors")) {
                if (seek_reserve(&names, &cap, n + 1, sizeof *names, 8) || !(names[n] = seek_strdup(e->d_name))) {
                    closedir(d);
                    for (size_t i = 0; i < n; i++) free(names[i]);
                    free(names);
                    goto out;
                }
                n++;
            }
        }
        closedir(d);
        if (n) qsort(names, n, sizeof *names, cmp_str);
        int bad = 0;
        for (size_t i = 0; i < n; i++) {
            if (!bad && open_shard(cv, names[i])) bad = 1;
            free(names[i]);
        }
        free(names);
        if (bad) goto out;
        if (!n) { seek_error("%s: no *.safetensors files", cv->dir); goto out; }
    }
    size_t total = 0;
    for (size_t i = 0; i < cv->n_files; i++) total += cv->files[i]->n_tensors;
    if (!(cv->src = seek_calloc(total ? total : 1, sizeof *cv->src))) goto out;
    for (size_t i = 0; i < cv->n_files; i++)
        for (size_t j = 0; j < cv->files[i]->n_tensors; j++) {
            const st_tensor *t = &cv->files[i]->tensors[j];
            cv->src[cv->n_src].name = t->name;
            cv->src[cv->n_src++].t = t;
            cv->in_total += t->nbytes;
        }
    qsort(cv->src, cv->n_src, sizeof *cv->src, cmp_src);
    for (size_t i = 1; i < cv->n_src; i++)
        if (!strcmp(cv->src[i].name, cv->src[i - 1].name)) {
            seek_error("%s: tensor '%s' appears in two shards", cv->dir, cv->src[i].name);
            goto out;
        }
    rc = 0;
out:
    free(idx);
    return rc;
}

static src_entry *find_src(conv *cv, const char *name) {
    src_entry key = {.name = name};
    return cv->n_src ? bsearch(&key, cv->src, cv->n_src, sizeof key, cmp_src) : NULL;
}

static void progress(conv *cv, const char *name) {
    if (!cv->o.progress) return;
    char a[32], b[32];
    fprintf(stderr, "\rconvert: %3d%% (%s of %s) %-40.40s", cv->in_total ? (int)(100 * cv->in_done / cv->in_total) : 100,
            seek_fmt_bytes(cv->in_done, a, sizeof a), seek_fmt_bytes(cv->in_total, b, sizeof b), name);
    fflush(stderr);
}

/* Load HF tensor `name` as float32 (caller frees), checking it has the given shape
 * (PyTorch order, outermost first). FP8 weights are scaled by their weight_scale_inv. */
static float *load_f32(conv *cv, const char *name, int n_dims, const int64_t *shape) {
    src_entry *s = find_src(cv, name);
    if (!s) { seek_error("%s: missing tensor '%s'", cv->dir, name); return NULL; }
    const st_tensor *t = s->t;
    bool ok = t->n_dims == n_dims;
    for (int d = 0; ok && d < n_dims; d++) ok = t->shape[d] == shape[d];
    if (!ok) {
        char got[128] = "", want[128] = "";
        for (int d = 0; d < t->n_dims && d < 6; d++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", d ? ", " : "", (long long)t->shape[d]);
        for (int d = 0; d < n_dims; d++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", d ? ", " : "", (long long)shape[d]);
        seek_error("%s: tensor '%s' has shape [%s], expected [%s] from config.json", cv->dir, name, got, want);
        return NULL;
    }
    float *out = seek_malloc(sizeof(float) * (t->n_elements ? t->n_elements : 1));
    if (!out) return NULL;
    if (st_to_f32(t, out)) { free(out); seek_error_prefix("%s", cv->dir); return NULL; }
    s->used = true;
    cv->in_done += t->nbytes;
    if (t->dtype == ST_F8_E4M3) {
        /* block-scaled FP8: w = q * scale_inv[r / B0][c / B1] */
        char sn[512];
        snprintf(sn, sizeof sn, "%s_scale_inv", name);
        src_entry *ss = find_src(cv, sn);
        if (!ss) { free(out); seek_error("%s: FP8 tensor '%s' has no '%s'", cv->dir, name, sn); return NULL; }
        int64_t rows = n_dims == 2 ? shape[0] : 1, cols = shape[n_dims - 1];
        int64_t b0 = cv->c.fp8_block[0], b1 = cv->c.fp8_block[1];
        int64_t sr = (rows + b0 - 1) / b0, sc = (cols + b1 - 1) / b1;
        const st_tensor *st = ss->t;
        if (n_dims != 2 || st->n_dims != 2 || st->shape[0] != sr || st->shape[1] != sc) {
            free(out);
            seek_error("%s: '%s' must have shape [%lld, %lld] (one scale per %lldx%lld block of '%s')", cv->dir, sn,
                       (long long)sr, (long long)sc, (long long)b0, (long long)b1, name);
            return NULL;
        }
        float *scale = seek_malloc(sizeof(float) * (size_t)(sr * sc));
        if (!scale || st_to_f32(st, scale)) { free(scale); free(out); seek_error_prefix("%s", cv->dir); return NULL; }
        for (int64_t r = 0; r < rows; r++)
            for (int64_t c = 0; c < cols; c++) out[r * cols + c] *= scale[(r / b0) * sc + c / b1];
        free(scale);
        ss->used = true;
    }
    return out;
}

static seek_type pick_type(const conv *cv, uint32_t n_dims, int64_t ne0, bool keep_f32) {
    if (n_dims < 2 || keep_f32) return SEEK_TYPE_F32;
    if (cv->o.type == SEEK_TYPE_Q8_0 && ne0 % 32) return SEEK_TYPE_F16;
    return cv->o.type;
}

/* Start output tensor `name` (GGUF order ne[0..n_dims)); rows are then appended with
 * put_rows. */
static int begin_tensor(conv *cv, const char *name, uint32_t n_dims, const int64_t *ne, bool keep_f32) {
    if (seek_reserve(&cv->recs, &cv->cap_recs, cv->n_recs + 1, sizeof *cv->recs, 64)) return -1;
    out_rec *r = &cv->recs[cv->n_recs];
    memset(r, 0, sizeof *r);
    if (!(r->name = seek_strdup(name))) return -1;
    cv->n_recs++;
    r->n_dims = n_dims;
    uint64_t rows = 1;
    for (uint32_t d = 0; d < 4; d++) {
        r->ne[d] = d < n_dims ? ne[d] : 1;
        if (d > 0) rows *= (uint64_t)r->ne[d];
    }
    r->type = pick_type(cv, n_dims, ne[0], keep_f32);
    r->off = cv->scratch_off;
    r->nbytes = rows * seek_row_size(r->type, r->ne[0]);
    cv->cur = r;
    cv->cur_rows_left = rows;
    free(cv->qbuf);
    if (!(cv->qbuf = seek_malloc(seek_row_size(r->type, r->ne[0]) + 1))) return -1;
    progress(cv, name);
    return 0;
}

static int put_rows(conv *cv, const float *x, uint64_t n_rows) {
    out_rec *r = cv->cur;
    if (n_rows > cv->cur_rows_left) return seek_error("convert: internal error: too many rows for '%s'", r->name);
    size_t rb = seek_row_size(r->type, r->ne[0]);
    for (uint64_t i = 0; i < n_rows; i++) {
        const float *row = x + i * (uint64_t)r->ne[0];
        const void *bytes = row;
        if (r->type != SEEK_TYPE_F32) {
            if (seek_quantize_row(r->type, row, cv->qbuf, r->ne[0])) return -1;
            bytes = cv->qbuf;
        }
        if (fwrite(bytes, 1, rb, cv->scratch) != rb) return seek_error("%s: write failed (disk full?)", cv->scratch_path);
    }
    cv->scratch_off += rb * n_rows;
    cv->cur_rows_left -= n_rows;
    return 0;
}

/* One HF tensor -> one GGUF tensor of the same shape (reversed dims). */
static int copy_tensor(conv *cv, const char *gname, const char *hname, int n_dims, int64_t d0, int64_t d1,
                       bool keep_f32) {
    int64_t shape[2] = {d0, d1};
    float *x = load_f32(cv, hname, n_dims, shape);
    if (!x) return -1;
    int64_t ne[2] = {n_dims == 2 ? d1 : d0, d0};
    int rc = begin_tensor(cv, gname, (uint32_t)n_dims, ne, keep_f32) || put_rows(cv, x, n_dims == 2 ? (uint64_t)d0 : 1);
    free(x);
    return rc ? -1 : 0;
}

/* llama: reorder the rows of each head from [2][hd/2] (halves) to [hd/2][2] (pairs). */
static int copy_permuted(conv *cv, const char *gname, const char *hname, int n_heads, int hd, int n_dims, int64_t cols) {
    int64_t rows = (int64_t)n_heads * hd;
    int64_t shape[2] = {rows, cols};
    float *x = load_f32(cv, hname, n_dims, shape);
    if (!x) return -1;
    int64_t c = n_dims == 2 ? cols : 1;
    float *y = seek_malloc(sizeof(float) * (size_t)(rows * c));
    if (!y) { free(x); return -1; }
    for (int h = 0; h < n_heads; h++)
        for (int j = 0; j < hd / 2; j++)
            for (int half = 0; half < 2; half++)
                memcpy(y + ((int64_t)h * hd + 2 * j + half) * c, x + ((int64_t)h * hd + half * (hd / 2) + j) * c,
                       sizeof(float) * (size_t)c);
    int64_t ne[2] = {n_dims == 2 ? cols : rows, rows};
    int rc = begin_tensor(cv, gname, (uint32_t)n_dims, ne, false) || put_rows(cv, y, n_dims == 2 ? (uint64_t)rows : 1);
    free(x);
    free(y);
    return rc ? -1 : 0;
}

/* Stack experts model.layers.l.mlp.experts.{e}.{proj}.weight [rows][cols] into one 3-D
 * tensor, ne = [cols, rows, n_expert]. */
static int stack_experts(conv *cv, int l, const char *gname, const char *proj, int64_t rows, int64_t cols) {
    char g[96], h[256];
    snprintf(g, sizeof g, "blk.%d.%s", l, gname);
    int64_t ne[3] = {cols, rows, cv->c.n_expert};
    if (begin_tensor(cv, g, 3, ne, false)) return -1;
    for (int e = 0; e < cv->c.n_expert; e++) {
        snprintf(h, sizeof h, "model.layers.%d.mlp.experts.%d.%s.weight", l, e, proj);
        int64_t shape[2] = {rows, cols};
        float *x = load_f32(cv, h, 2, shape);
        if (!x) return -1;
        int rc = put_rows(cv, x, (uint64_t)rows);
        free(x);
        if (rc) return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* the layouts */

#define G(fmt) (snprintf(gn, sizeof gn, "blk.%d." fmt, l), gn)
#define H(fmt) (snprintf(hn, sizeof hn, "model.layers.%d." fmt, l), hn)

static int convert_common_head(conv *cv) {
    const hf_config *c = &cv->c;
    if (copy_tensor(cv, "token_embd.weight", "model.embed_tokens.weight", 2, c->vocab, c->dim, false)) return -1;
    return 0;
}

static int convert_common_tail(conv *cv) {
    const hf_config *c = &cv->c;
    if (copy_tensor(cv, "output_norm.weight", "model.norm.weight", 1, c->dim, 0, true)) return -1;
    src_entry *lm = find_src(cv, "lm_head.weight");
    if (c->tied && lm) lm->used = true;   /* a tied checkpoint may still carry a copy */
    if (!c->tied && copy_tensor(cv, "output.weight", "lm_head.weight", 2, c->vocab, c->dim, false)) return -1;
    return 0;
}

static int convert_dense(conv *cv) {
    const hf_config *c = &cv->c;
    const int D = c->dim, H = c->n_head, KV = c->n_head_kv, hd = c->head_dim;
    const bool llama = !strcmp(c->arch, "llama"), bias = !llama || c->attn_bias;
    char gn[96], hn[256];
    if (convert_common_head(cv)) return -1;
    if (llama && !strcmp(c->rope_type, "llama3")) {
        float *f = seek_malloc(sizeof(float) * (size_t)(hd / 2));
        if (!f) return -1;
        rope_llama3_factors(f, hd, (float)c->rope_theta, (float)c->rope_factor, (float)c->low_freq_factor,
                            (float)c->high_freq_factor, c->rope_orig_ctx);
        int64_t ne[1] = {hd / 2};
        int rc = begin_tensor(cv, "rope_freqs.weight", 1, ne, true) || put_rows(cv, f, 1);
        free(f);
        if (rc) return -1;
    }
    for (int l = 0; l < c->n_layer; l++) {
        if (copy_tensor(cv, G("attn_norm.weight"), H("input_layernorm.weight"), 1, D, 0, true)) return -1;
        if (llama) {
            if (copy_permuted(cv, G("attn_q.weight"), H("self_attn.q_proj.weight"), H, hd, 2, D) ||
                copy_permuted(cv, G("attn_k.weight"), H("self_attn.k_proj.weight"), KV, hd, 2, D))
                return -1;
            if (bias && (copy_permuted(cv, G("attn_q.bias"), H("self_attn.q_proj.bias"), H, hd, 1, 0) ||
                         copy_permuted(cv, G("attn_k.bias"), H("self_attn.k_proj.bias"), KV, hd, 1, 0)))
                return -1;
        } else {
            if (copy_tensor(cv, G("attn_q.weight"), H("self_attn.q_proj.weight"), 2, (int64_t)H * hd, D, false) ||
                copy_tensor(cv, G("attn_k.weight"), H("self_attn.k_proj.weight"), 2, (int64_t)KV * hd, D, false) ||
                copy_tensor(cv, G("attn_q.bias"), H("self_attn.q_proj.bias"), 1, (int64_t)H * hd, 0, true) ||
                copy_tensor(cv, G("attn_k.bias"), H("self_attn.k_proj.bias"), 1, (int64_t)KV * hd, 0, true))
                return -1;
        }
        if (copy_tensor(cv, G("attn_v.weight"), H("self_attn.v_proj.weight"), 2, (int64_t)KV * hd, D, false) ||
            (bias && copy_tensor(cv, G("attn_v.bias"), H("self_attn.v_proj.bias"), 1, (int64_t)KV * hd, 0, true)) ||
            copy_tensor(cv, G("attn_output.weight"), H("self_attn.o_proj.weight"), 2, D, (int64_t)H * hd, false) ||
            copy_tensor(cv, G("ffn_norm.weight"), H("post_attention_layernorm.weight"), 1, D, 0, true) ||
            copy_tensor(cv, G("ffn_gate.weight"), H("mlp.gate_proj.weight"), 2, c->n_ff, D, false) ||
            copy_tensor(cv, G("ffn_up.weight"), H("mlp.up_proj.weight"), 2, c->n_ff, D, false) ||
            copy_tensor(cv, G("ffn_down.weight"), H("mlp.down_proj.weight"), 2, D, c->n_ff, false))
            return -1;
    }
    return convert_common_tail(cv);
}

static int convert_deepseek2(conv *cv) {
    const hf_config *c = &cv->c;
    const int64_t D = c->dim, H = c->n_head, R = c->kv_lora, hk = c->nope + c->rope, hv = c->v_head;
    char gn[96], hn[256];
    if (convert_common_head(cv)) return -1;
    for (int l = 0; l < c->n_layer; l++) {
        if (copy_tensor(cv, G("attn_norm.weight"), H("input_layernorm.weight"), 1, D, 0, true)) return -1;
        if (c->q_lora) {
            if (copy_tensor(cv, G("attn_q_a.weight"), H("self_attn.q_a_proj.weight"), 2, c->q_lora, D, false) ||
                copy_tensor(cv, G("attn_q_a_norm.weight"), H("self_attn.q_a_layernorm.weight"), 1, c->q_lora, 0, true) ||
                copy_tensor(cv, G("attn_q_b.weight"), H("self_attn.q_b_proj.weight"), 2, H * hk, c->q_lora, false))
                return -1;
        } else if (copy_tensor(cv, G("attn_q.weight"), H("self_attn.q_proj.weight"), 2, H * hk, D, false)) {
            return -1;
        }
        if (copy_tensor(cv, G("attn_kv_a_mqa.weight"), H("self_attn.kv_a_proj_with_mqa.weight"), 2, R + c->rope, D, false) ||
            copy_tensor(cv, G("attn_kv_a_norm.weight"), H("self_attn.kv_a_layernorm.weight"), 1, R, 0, true) ||
            copy_tensor(cv, G("attn_kv_b.weight"), H("self_attn.kv_b_proj.weight"), 2, H * (c->nope + hv), R, false) ||
            copy_tensor(cv, G("attn_output.weight"), H("self_attn.o_proj.weight"), 2, D, H * hv, false) ||
            copy_tensor(cv, G("ffn_norm.weight"), H("post_attention_layernorm.weight"), 1, D, 0, true))
            return -1;
        if (l < c->dense_lead) {
            if (copy_tensor(cv, G("ffn_gate.weight"), H("mlp.gate_proj.weight"), 2, c->n_ff, D, false) ||
                copy_tensor(cv, G("ffn_up.weight"), H("mlp.up_proj.weight"), 2, c->n_ff, D, false) ||
                copy_tensor(cv, G("ffn_down.weight"), H("mlp.down_proj.weight"), 2, D, c->n_ff, false))
                return -1;
            continue;
        }
        const int64_t F = c->n_ff_exp, S = (int64_t)c->n_ff_exp * c->n_shared;
        if (copy_tensor(cv, G("ffn_gate_inp.weight"), H("mlp.gate.weight"), 2, c->n_expert, D, true)) return -1;
        if (find_src(cv, H("mlp.gate.e_score_correction_bias")) &&
            copy_tensor(cv, G("exp_probs_b.bias"), H("mlp.gate.e_score_correction_bias"), 1, c->n_expert, 0, true))
            return -1;
        if (stack_experts(cv, l, "ffn_gate_exps.weight", "gate_proj", F, D) ||
            stack_experts(cv, l, "ffn_up_exps.weight", "up_proj", F, D) ||
            stack_experts(cv, l, "ffn_down_exps.weight", "down_proj", D, F))
            return -1;
        if (S > 0 && (copy_tensor(cv, G("ffn_gate_shexp.weight"), H("mlp.shared_experts.gate_proj.weight"), 2, S, D, false) ||
                      copy_tensor(cv, G("ffn_up_shexp.weight"), H("mlp.shared_experts.up_proj.weight"), 2, S, D, false) ||
                      copy_tensor(cv, G("ffn_down_shexp.weight"), H("mlp.shared_experts.down_proj.weight"), 2, D, S, false)))
            return -1;
    }
    return convert_common_tail(cv);
}
#undef G
#undef H

/* ------------------------------------------------------------------------------------ */
/* metadata */

static int file_type_of(seek_type t) {
    switch (t) {   /* llama_ftype values */
    case SEEK_TYPE_F16: return 1;
    case SEEK_TYPE_Q8_0: return 7;
    case SEEK_TYPE_BF16: return 32;
    default: return 0;
    }
}

static int write_metadata(conv *cv, gguf_writer *w) {
    const hf_config *c = &cv->c;
    char k[128];
#define K(s) (snprintf(k, sizeof k, "%s.%s", c->arch, s), k)
    const char *base = strrchr(cv->dir, '/');
    base = base && base[1] ? base + 1 : cv->dir;
    if (gguf_set_str(w, "general.architecture", c->arch) || gguf_set_str(w, "general.name", base) ||
        gguf_set_u32(w, "general.file_type", (uint32_t)file_type_of(cv->o.type)) ||
        (cv->o.type == SEEK_TYPE_Q8_0 && gguf_set_u32(w, "general.quantization_version", 2)) ||
        gguf_set_u32(w, K("vocab_size"), (uint32_t)c->vocab) || gguf_set_u32(w, K("context_length"), (uint32_t)c->ctx) ||
        gguf_set_u32(w, K("embedding_length"), (uint32_t)c->dim) || gguf_set_u32(w, K("block_count"), (uint32_t)c->n_layer) ||
        gguf_set_u32(w, K("feed_forward_length"), (uint32_t)c->n_ff) ||
        gguf_set_u32(w, K("attention.head_count"), (uint32_t)c->n_head) ||
        gguf_set_u32(w, K("attention.head_count_kv"), (uint32_t)c->n_head_kv) ||
        gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), (float)c->eps) ||
        gguf_set_f32(w, K("rope.freq_base"), (float)c->rope_theta))
        return -1;
    if (strcmp(c->arch, "deepseek2")) {
        if (gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)c->head_dim)) return -1;
        if (c->head_dim * c->n_head != c->dim &&
            (gguf_set_u32(w, K("attention.key_length"), (uint32_t)c->head_dim) ||
             gguf_set_u32(w, K("attention.value_length"), (uint32_t)c->head_dim)))
            return -1;
        if (!strcmp(c->rope_type, "linear") || !strcmp(c->rope_type, "yarn")) {
            if (gguf_set_str(w, K("rope.scaling.type"), c->rope_type) ||
                gguf_set_f32(w, K("rope.scaling.factor"), (float)c->rope_factor) ||
                (c->rope_orig_ctx && gguf_set_u32(w, K("rope.scaling.original_context_length"), (uint32_t)c->rope_orig_ctx)))
                return -1;
        }
        return 0;
    }
    if (gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)c->rope) ||
        gguf_set_u32(w, K("leading_dense_block_count"), (uint32_t)c->dense_lead) ||
        gguf_set_u32(w, K("attention.q_lora_rank"), (uint32_t)c->q_lora) ||
        gguf_set_u32(w, K("attention.kv_lora_rank"), (uint32_t)c->kv_lora) ||
        gguf_set_u32(w, K("attention.key_length"), (uint32_t)(c->nope + c->rope)) ||
        gguf_set_u32(w, K("attention.value_length"), (uint32_t)c->v_head) ||
        gguf_set_u32(w, K("expert_feed_forward_length"), (uint32_t)c->n_ff_exp) ||
        gguf_set_u32(w, K("expert_count"), (uint32_t)c->n_expert) ||
        gguf_set_u32(w, K("expert_used_count"), (uint32_t)c->n_used) ||
        gguf_set_u32(w, K("expert_shared_count"), (uint32_t)c->n_shared) ||
        gguf_set_f32(w, K("expert_weights_scale"), (float)c->routed_scale) ||
        gguf_set_bool(w, K("expert_weights_norm"), c->norm_topk) ||
        gguf_set_u32(w, K("expert_gating_func"), (uint32_t)c->gating) ||
        gguf_set_u32(w, K("expert_group_count"), (uint32_t)c->n_group) ||
        gguf_set_u32(w, K("expert_group_used_count"), (uint32_t)c->n_group_used))
        return -1;
    if (!strcmp(c->rope_type, "yarn") || !strcmp(c->rope_type, "linear")) {
        if (gguf_set_str(w, K("rope.scaling.type"), c->rope_type) ||
            gguf_set_f32(w, K("rope.scaling.factor"), (float)c->rope_factor) ||
            (c->rope_orig_ctx && gguf_set_u32(w, K("rope.scaling.original_context_length"), (uint32_t)c->rope_orig_ctx)) ||
            (c->mscale_all_dim != 0 && gguf_set_f32(w, K("rope.scaling.yarn_log_multiplier"), (float)(0.1 * c->mscale_all_dim))))
            return -1;
        if (c->beta_fast != 32 && gguf_set_f32(w, K("rope.scaling.yarn_beta_fast"), (float)c->beta_fast)) return -1;
        if (c->beta_slow != 1 && gguf_set_f32(w, K("rope.scaling.yarn_beta_slow"), (float)c->beta_slow)) return -1;
        if (c->mscale != 0 && c->mscale_all_dim != 0 && c->mscale != c->mscale_all_dim)
            fprintf(stderr, "seek: warning: %s: rope mscale %g differs from mscale_all_dim %g; like DeepSeek's reference "
                            "code (and other GGUF engines) only mscale_all_dim is used\n", cfg_path, c->mscale, c->mscale_all_dim);
    }
#undef K
    return 0;
}

/* tokenizer.json -> tokenizer.ggml.*, padded to vocab_size with [PADn] entries (the
 * embedding matrix often has more rows than the tokenizer has tokens, and other engines
 * require the two to agree); chat template from tokenizer_config.json. */
static int write_tokenizer(conv *cv, gguf_writer *w) {
    char *tj = join(cv->dir, "tokenizer.json");
    if (!tj) return -1;
    if (access(tj, F_OK) != 0) {
        free(tj);
        if (cv->o.progress) fprintf(stderr, "convert: no tokenizer.json: writing a model without a tokenizer\n");
        /* llama.cpp-family engines refuse a file without this key; "none" is their word for it */
        return gguf_set_str(w, "tokenizer.ggml.model", "none");
    }
    seek_tokenizer *t = tok_load_json(tj);
    free(tj);
    if (!t) return -1;
    int rc = -1;
    if (tok_write_gguf_rows(t, w, cv->c.vocab, cfg_path)) goto out;
    char *tc = join(cv->dir, "tokenizer_config.json");
    if (!tc) goto out;
    json_t *j = access(tc, F_OK) == 0 ? json_load_file(tc, 0, NULL) : NULL;
    free(tc);
    json_t *ct = j ? json_object_get(j, "chat_template") : NULL;
    int r = 0;
    if (json_is_string(ct)) {
        r = gguf_set_str(w, "tokenizer.chat_template", json_string_value(ct));
    } else if (json_is_array(ct)) {   /* [{name, template}, ...]: the "default" one */
        size_t i;
        json_t *e;
        json_array_foreach(ct, i, e) {
            json_t *nm = json_object_get(e, "name"), *tp = json_object_get(e, "template");
            if (json_is_string(nm) && json_is_string(tp) && !strcmp(json_string_value(nm), "default"))
                r = gguf_set_str(w, "tokenizer.chat_template", json_string_value(tp));
        }
    }
    json_decref(j);
    if (r) goto out;
    rc = 0;
out:
    tok_free(t);
    return rc;
}

/* ------------------------------------------------------------------------------------ */

int convert_hf(const char *hf_dir, const char *out_path, const convert_opts *opts) {
    conv cv;
    memset(&cv, 0, sizeof cv);
    cv.dir = hf_dir;
    cv.o = *opts;
    if (opts->type != SEEK_TYPE_F32 && opts->type != SEEK_TYPE_F16 && opts->type != SEEK_TYPE_BF16 &&
        opts->type != SEEK_TYPE_Q8_0)
        return seek_error("convert: output type must be f32, f16, bf16 or q8_0");
    char *cp = join(hf_dir, "config.json");
    if (!cp) return -1;
    cfg_path = cp;
    int rc = -1;
    gguf_writer *w = NULL;
    seek_file_map map = {0};
    json_error_t je;
    json_t *cfg = json_load_file(cp, 0, &je);
    if (!cfg) {
        if (access(cp, F_OK) != 0) seek_error("%s: no such file (not a Hugging Face checkpoint directory?)", cp);
        else seek_error("%s: invalid JSON (line %d: %s)", cp, je.line, je.text);
        goto out;
    }
    if (!json_is_object(cfg)) { seek_error("%s: not a JSON object", cp); goto out; }
    if (read_config(cfg, &cv.c) || check_config(&cv.c) || index_sources(&cv)) goto out;
    int64_t want_elems = expected_elements(&cv.c);
    if ((uint64_t)want_elems > cv.in_total) {
        seek_error("%s: config.json implies %lld weights but the checkpoint's tensors hold only %llu bytes "
                   "(a missing shard, or a config that does not belong to these weights?)", cp,
                   (long long)want_elems, (unsigned long long)cv.in_total);
        goto out;
    }

    size_t pl = strlen(out_path) + 32;
    if (!(cv.scratch_path = seek_malloc(pl))) goto out;
    snprintf(cv.scratch_path, pl, "%s.data%d", out_path, (int)getpid());
    if (!(cv.scratch = fopen(cv.scratch_path, "w+b"))) { seek_error("%s: cannot create", cv.scratch_path); goto out; }

    if (!strcmp(cv.c.arch, "deepseek2") ? convert_deepseek2(&cv) : convert_dense(&cv)) goto out;
    if (fflush(cv.scratch)) { seek_error("%s: write failed", cv.scratch_path); goto out; }
    if (cv.o.progress) fprintf(stderr, "\n");

    /* HF tensors we did not use: multi-token-prediction layers and rotary buffers are
     * expected; anything else is reported */
    size_t n_unused = 0;
    const char *first = NULL;
    for (size_t i = 0; i < cv.n_src; i++) {
        const char *nm = cv.src[i].name;
        if (cv.src[i].used || strstr(nm, "rotary_emb.inv_freq")) continue;
        int layer;
        if (sscanf(nm, "model.layers.%d.", &layer) == 1 && layer >= cv.c.n_layer) continue;
        if (!first) first = nm;
        n_unused++;
    }
    if (n_unused) fprintf(stderr, "seek: warning: %zu tensors of the checkpoint were not used (first: '%s')\n", n_unused, first);

    if (!(w = gguf_writer_new()) || write_metadata(&cv, w) || write_tokenizer(&cv, w)) goto out;
    if (seek_map_file(cv.scratch_path, &map)) goto out;
    for (size_t i = 0; i < cv.n_recs; i++) {
        const out_rec *r = &cv.recs[i];
        if (r->off + r->nbytes > map.size) { seek_error("%s: scratch file is short", cv.scratch_path); goto out; }
        if (gguf_add_tensor(w, r->name, r->type, r->n_dims, r->ne, map.data + r->off, true)) goto out;
    }
    if (gguf_write(w, out_path)) goto out;
    rc = 0;
out:
    if (map.data) seek_unmap_file(&map);
    if (cv.scratch) {
        fclose(cv.scratch);
        unlink(cv.scratch_path);
    }
    free(cv.scratch_path);
    gguf_writer_free(w);
    for (size_t i = 0; i < cv.n_recs; i++) free(cv.recs[i].name);
    free(cv.recs);
    free(cv.qbuf);
    free(cv.src);
    for (size_t i = 0; i < cv.n_files; i++) st_close(cv.files[i]);
    free(cv.files);
    json_decref(cfg);
    free(cp);
    cfg_path = NULL;
    return rc;
}
