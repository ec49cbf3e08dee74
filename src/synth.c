/* synth.c - random-weight models with real shapes (see synth.h).
 *
 * One table of shapes (public config.json values), one function that lists a shape's
 * tensors the way the GGUF converter names them, one that writes the metadata, and a row
 * generator. Randomness is per tensor and row (seed, name, row index), so the file does not
 * depend on the thread count.
 */
#include "synth.h"

#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gguf.h"
#include "ops.h"
#include "threads.h"
#include "tokenizer.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* shapes: values of each checkpoint's config.json on Hugging Face           */

typedef struct {
    const char *name, *arch, *hf;
    int vocab, embd, ff, layers, heads, heads_kv, ctx;
    float rope_base, eps;
    bool tied;
    /* llama3 RoPE scaling (rope_scaling.rope_type "llama3") */
    float l3_factor, l3_low, l3_high;
    int l3_orig;
    /* deepseek2 */
    int q_lora, kv_lora, nope, rope, v_head, ff_exp, experts, used, shared, dense_lead, groups, groups_used, gating;
    float routed_scale, yarn_factor, mscale_all_dim;
    int yarn_orig;
    bool norm_topk, bias;          /* bias: V3's e_score_correction_bias (exp_probs_b) */
    bool split;                    /* attn_k_b + attn_v_b instead of attn_kv_b (synth_opts) */
    /* tokenizer (repo path) and chat template (repo path) */
    const char *tokenizer, *tmpl, *tok_note;
} shape;

static const shape shapes[] = {
    {.name = "r1-distill-qwen-1.5b", .arch = "qwen2", .hf = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B",
     .vocab = 151936, .embd = 1536, .ff = 8960, .layers = 28, .heads = 12, .heads_kv = 2, .ctx = 131072,
     .rope_base = 10000, .eps = 1e-6f,
     .tokenizer = "tests/data/tokenizer/qwen/tokenizer.json", .tmpl = "tests/data/chat/deepseek-r1-distill-qwen.jinja",
     .tok_note = "Qwen2.5's tokenizer (the distill's own is not in the repo) with R1-Distill's chat template"},
    {.name = "r1-distill-qwen-7b", .arch = "qwen2", .hf = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
     .vocab = 152064, .embd = 3584, .ff = 18944, .layers = 28, .heads = 28, .heads_kv = 4, .ctx = 131072,
     .rope_base = 10000, .eps = 1e-6f,
     .tokenizer = "tests/data/tokenizer/qwen/tokenizer.json", .tmpl = "tests/data/chat/deepseek-r1-distill-qwen.jinja",
     .tok_note = "Qwen2.5's tokenizer (the distill's own is not in the repo) with R1-Distill's chat template"},
    {.name = "r1-distill-llama-8b", .arch = "llama", .hf = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
     .vocab = 128256, .embd = 4096, .ff = 14336, .layers = 32, .heads = 32, .heads_kv = 8, .ctx = 131072,
     .rope_base = 500000, .eps = 1e-5f, .l3_factor = 8, .l3_low = 1, .l3_high = 4, .l3_orig = 8192,
     .tokenizer = "tests/data/tokenizer/llama3/tokenizer.json", .tmpl = "tests/data/chat/deepseek-r1-distill-llama.jinja",
     .tok_note = "Llama 3's tokenizer (the distill's own is not in the repo) with R1-Distill's chat template"},
    {.name = "deepseek-v2-lite", .arch = "deepseek2", .hf = "deepseek-ai/DeepSeek-V2-Lite-Chat",
     .vocab = 102400, .embd = 2048, .ff = 10944, .layers = 27, .heads = 16, .heads_kv = 16, .ctx = 163840,
     .rope_base = 10000, .eps = 1e-6f,
     .q_lora = 0, .kv_lora = 512, .nope = 128, .rope = 64, .v_head = 128, .ff_exp = 1408, .experts = 64, .used = 6,
     .shared = 2, .dense_lead = 1, .groups = 1, .groups_used = 1, .gating = 1, .routed_scale = 1.0f,
     .yarn_factor = 40, .yarn_orig = 4096, .mscale_all_dim = 0.707f, .norm_topk = false,
     .tokenizer = "tests/data/tokenizer/ggml-vocab-deepseek-llm.gguf", .tmpl = "tests/data/chat/deepseek-v2.jinja",
     .tok_note = "the DeepSeek-LLM/V2 tokenizer trimmed to a test vocabulary (ids differ from the real one)"},
    {.name = "deepseek-v3", .arch = "deepseek2", .hf = "deepseek-ai/DeepSeek-V3",
     .vocab = 129280, .embd = 7168, .ff = 18432, .layers = 61, .heads = 128, .heads_kv = 128, .ctx = 163840,
     .rope_base = 10000, .eps = 1e-6f,
     .q_lora = 1536, .kv_lora = 512, .nope = 128, .rope = 64, .v_head = 128, .ff_exp = 2048, .experts = 256, .used = 8,
     .shared = 1, .dense_lead = 3, .groups = 8, .groups_used = 4, .gating = 2, .routed_scale = 2.5f,
     .yarn_factor = 40, .yarn_orig = 4096, .mscale_all_dim = 1.0f, .norm_topk = true, .bias = true,
     .tokenizer = "tests/data/tokenizer/deepseek-v3/tokenizer.json", .tmpl = "tests/data/chat/deepseek-v3.jinja",
     .tok_note = "DeepSeek-V3's tokenizer, trimmed to a test vocabulary in the real id space"},
    {.name = "deepseek-r1", .arch = "deepseek2", .hf = "deepseek-ai/DeepSeek-R1",
     .vocab = 129280, .embd = 7168, .ff = 18432, .layers = 61, .heads = 128, .heads_kv = 128, .ctx = 163840,
     .rope_base = 10000, .eps = 1e-6f,
     .q_lora = 1536, .kv_lora = 512, .nope = 128, .rope = 64, .v_head = 128, .ff_exp = 2048, .experts = 256, .used = 8,
     .shared = 1, .dense_lead = 3, .groups = 8, .groups_used = 4, .gating = 2, .routed_scale = 2.5f,
     .yarn_factor = 40, .yarn_orig = 4096, .mscale_all_dim = 1.0f, .norm_topk = true, .bias = true,
     .tokenizer = "tests/data/tokenizer/deepseek-v3/tokenizer.json", .tmpl = "tests/data/chat/deepseek-r1-distill-qwen.jinja",
     .tok_note = "DeepSeek-V3's tokenizer (R1 shares it), trimmed to a test vocabulary, with R1's chat template"},
};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

const char *synth_shape_names(void) {
    static char buf[256];
    if (!buf[0])
        for (size_t i = 0; i < N_SHAPES; i++) {
            if (i) strcat(buf, ", ");
            strcat(buf, shapes[i].name);
        }
    return buf;
}

/* ------------------------------------------------------------------------ */
/* the tensor list                                                           */

typedef enum { K_ONES, K_ZEROS, K_EMBD, K_MATRIX, K_SMALL, K_ROPE_FREQS } kind;

typedef struct {
    char name[64];
    uint32_t n_dims;
    int64_t ne[3];
    kind k;
    float scale;          /* standard deviation of the values (K_EMBD, K_MATRIX, K_SMALL) */
    bool f32;             /* always stored as F32 (1-D tensors, the router) */
} tdesc;

typedef struct {
    tdesc *t;
    size_t n, cap;
} tlist;

static int add(tlist *l, kind k, float scale, bool f32, uint32_t n_dims, int64_t a, int64_t b, int64_t c,
               const char *fmt, ...) SEEK_PRINTF(9, 10);
static int add(tlist *l, kind k, float scale, bool f32, uint32_t n_dims, int64_t a, int64_t b, int64_t c,
               const char *fmt, ...) {
    if (seek_reserve(&l->t, &l->cap, l->n + 1, sizeof *l->t, 64)) return -1;
    tdesc *t = &l->t[l->n++];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->n_dims = n_dims;
    t->ne[0] = a, t->ne[1] = b, t->ne[2] = c;
    t->k = k;
    t->scale = scale;
    t->f32 = f32 || n_dims == 1;
    return 0;
}

/* A matrix [out rows][in] reading `in` inputs: unit-variance outputs for unit-variance inputs;
 * `res` marks the projections back into the residual stream, scaled by 1/sqrt(2 L) so the
 * stream stays near unit size however deep the model is. */
#define MAT(l, res, in, out, ...) add(l, K_MATRIX, (float)(1.0 / sqrt((double)(in)) * ((res) ? rs : 1.0)), false, 2, in, out, 1, __VA_ARGS__)
#define EXPS(l, res, in, out, ne, ...) add(l, K_MATRIX, (float)(1.0 / sqrt((double)(in)) * ((res) ? rs : 1.0)), false, 3, in, out, ne, __VA_ARGS__)
#define VEC(l, k, n, ...) add(l, k, 0, true, 1, n, 1, 1, __VA_ARGS__)

static int list_tensors(const shape *s, tlist *l) {
    const int64_t D = s->embd, V = s->vocab, L = s->layers;
    const double rs = 1.0 / sqrt(2.0 * (double)L);
    if (add(l, K_EMBD, 1.0f, false, 2, D, V, 1, "token_embd.weight")) return -1;
    if (s->l3_factor > 0 && VEC(l, K_ROPE_FREQS, (D / s->heads) / 2, "rope_freqs.weight")) return -1;
    for (int64_t i = 0; i < L; i++) {
        if (VEC(l, K_ONES, D, "blk.%" PRId64 ".attn_norm.weight", i)) return -1;
        if (strcmp(s->arch, "deepseek2")) {
            const int64_t hd = D / s->heads, KV = s->heads_kv * hd;
            const bool bias = !strcmp(s->arch, "qwen2");
            if (MAT(l, 0, D, D, "blk.%" PRId64 ".attn_q.weight", i) ||
                (bias && add(l, K_SMALL, 0.02f, true, 1, D, 1, 1, "blk.%" PRId64 ".attn_q.bias", i)) ||
                MAT(l, 0, D, KV, "blk.%" PRId64 ".attn_k.weight", i) ||
                (bias && add(l, K_SMALL, 0.02f, true, 1, KV, 1, 1, "blk.%" PRId64 ".attn_k.bias", i)) ||
                MAT(l, 0, D, KV, "blk.%" PRId64 ".attn_v.weight", i) ||
                (bias && add(l, K_SMALL, 0.02f, true, 1, KV, 1, 1, "blk.%" PRId64 ".attn_v.bias", i)) ||
                MAT(l, 1, D, D, "blk.%" PRId64 ".attn_output.weight", i) ||
                VEC(l, K_ONES, D, "blk.%" PRId64 ".ffn_norm.weight", i) ||
                MAT(l, 0, D, s->ff, "blk.%" PRId64 ".ffn_gate.weight", i) ||
                MAT(l, 0, D, s->ff, "blk.%" PRId64 ".ffn_up.weight", i) ||
                MAT(l, 1, s->ff, D, "blk.%" PRId64 ".ffn_down.weight", i))
                return -1;
            continue;
        }
        /* MLA: q (or q-LoRA a/b), the shared latent kv_a (+ the RoPE key), its up-projection kv_b */
        const int64_t H = s->heads, hk = s->nope + s->rope;
        const bool split = s->split;
        if (s->q_lora) {
            if (MAT(l, 0, D, s->q_lora, "blk.%" PRId64 ".attn_q_a.weight", i) ||
                VEC(l, K_ONES, s->q_lora, "blk.%" PRId64 ".attn_q_a_norm.weight", i) ||
                MAT(l, 0, s->q_lora, H * hk, "blk.%" PRId64 ".attn_q_b.weight", i))
                return -1;
        } else if (MAT(l, 0, D, H * hk, "blk.%" PRId64 ".attn_q.weight", i)) {
            return -1;
        }
        if (MAT(l, 0, D, s->kv_lora + s->rope, "blk.%" PRId64 ".attn_kv_a_mqa.weight", i) ||
            VEC(l, K_ONES, s->kv_lora, "blk.%" PRId64 ".attn_kv_a_norm.weight", i) ||
            (split ? add(l, K_MATRIX, (float)(1.0 / sqrt((double)s->kv_lora)), false, 3, s->nope, s->kv_lora, H,
                         "blk.%" PRId64 ".attn_k_b.weight", i) ||
                         add(l, K_MATRIX, (float)(1.0 / sqrt((double)s->kv_lora)), false, 3, s->kv_lora, s->v_head, H,
                             "blk.%" PRId64 ".attn_v_b.weight", i)
                   : MAT(l, 0, s->kv_lora, H * (s->nope + s->v_head), "blk.%" PRId64 ".attn_kv_b.weight", i)) ||
            MAT(l, 1, H * s->v_head, D, "blk.%" PRId64 ".attn_output.weight", i) ||
            VEC(l, K_ONES, D, "blk.%" PRId64 ".ffn_norm.weight", i))
            return -1;
        if (i < s->dense_lead) {
            if (MAT(l, 0, D, s->ff, "blk.%" PRId64 ".ffn_gate.weight", i) ||
                MAT(l, 0, D, s->ff, "blk.%" PRId64 ".ffn_up.weight", i) ||
                MAT(l, 1, s->ff, D, "blk.%" PRId64 ".ffn_down.weight", i))
                return -1;
            continue;
        }
        const int64_t F = s->ff_exp, E = s->experts, S = (int64_t)s->ff_exp * s->shared;
        /* router: unit-variance scores, so different tokens pick different experts */
        if (add(l, K_MATRIX, (float)(1.0 / sqrt((double)D)), true, 2, D, E, 1, "blk.%" PRId64 ".ffn_gate_inp.weight", i) ||
            (s->bias && VEC(l, K_ZEROS, E, "blk.%" PRId64 ".exp_probs_b.bias", i)) ||
            EXPS(l, 0, D, F, E, "blk.%" PRId64 ".ffn_gate_exps.weight", i) ||
            EXPS(l, 0, D, F, E, "blk.%" PRId64 ".ffn_up_exps.weight", i) ||
            EXPS(l, 1, F, D, E, "blk.%" PRId64 ".ffn_down_exps.weight", i))
            return -1;
        if (S && (MAT(l, 0, D, S, "blk.%" PRId64 ".ffn_gate_shexp.weight", i) ||
                  MAT(l, 0, D, S, "blk.%" PRId64 ".ffn_up_shexp.weight", i) ||
                  MAT(l, 1, S, D, "blk.%" PRId64 ".ffn_down_shexp.weight", i)))
            return -1;
    }
    if (VEC(l, K_ONES, D, "output_norm.weight")) return -1;
    if (!s->tied && MAT(l, 0, D, V, "output.weight")) return -1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* metadata                                                                  */

static int write_meta(const shape *s, gguf_writer *w, const quant_target *type) {
    char k[128];
#define K(x) (snprintf(k, sizeof k, "%s.%s", s->arch, x), k)
    char name[128];
    snprintf(name, sizeof name, "synth %s", s->name);
    if (gguf_set_str(w, "general.architecture", s->arch) || gguf_set_str(w, "general.name", name) ||
        gguf_set_str(w, "general.source.huggingface.repository", s->hf) ||
        gguf_set_u32(w, "general.file_type", (uint32_t)type->ftype) ||
        gguf_set_u32(w, "general.quantization_version", 2) ||
        gguf_set_u32(w, K("vocab_size"), (uint32_t)s->vocab) || gguf_set_u32(w, K("context_length"), (uint32_t)s->ctx) ||
        gguf_set_u32(w, K("embedding_length"), (uint32_t)s->embd) || gguf_set_u32(w, K("block_count"), (uint32_t)s->layers) ||
        gguf_set_u32(w, K("feed_forward_length"), (uint32_t)s->ff) ||
        gguf_set_u32(w, K("attention.head_count"), (uint32_t)s->heads) ||
        gguf_set_u32(w, K("attention.head_count_kv"), (uint32_t)s->heads_kv) ||
        gguf_set_f32(w, K("attention.layer_norm_rms_epsilon"), s->eps) ||
        gguf_set_f32(w, K("rope.freq_base"), s->rope_base))
        return -1;
    if (strcmp(s->arch, "deepseek2"))
        return gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)(s->embd / s->heads));
    if (gguf_set_u32(w, K("rope.dimension_count"), (uint32_t)s->rope) ||
        gguf_set_u32(w, K("leading_dense_block_count"), (uint32_t)s->dense_lead) ||
        gguf_set_u32(w, K("attention.q_lora_rank"), (uint32_t)s->q_lora) ||
        gguf_set_u32(w, K("attention.kv_lora_rank"), (uint32_t)s->kv_lora) ||
        gguf_set_u32(w, K("attention.key_length"), (uint32_t)(s->nope + s->rope)) ||
        gguf_set_u32(w, K("attention.value_length"), (uint32_t)s->v_head) ||
        gguf_set_u32(w, K("expert_feed_forward_length"), (uint32_t)s->ff_exp) ||
        gguf_set_u32(w, K("expert_count"), (uint32_t)s->experts) ||
        gguf_set_u32(w, K("expert_used_count"), (uint32_t)s->used) ||
        gguf_set_u32(w, K("expert_shared_count"), (uint32_t)s->shared) ||
        gguf_set_f32(w, K("expert_weights_scale"), s->routed_scale) ||
        gguf_set_bool(w, K("expert_weights_norm"), s->norm_topk) ||
        gguf_set_u32(w, K("expert_gating_func"), (uint32_t)s->gating) ||
        gguf_set_u32(w, K("expert_group_count"), (uint32_t)s->groups) ||
        gguf_set_u32(w, K("expert_group_used_count"), (uint32_t)s->groups_used) ||
        gguf_set_str(w, K("rope.scaling.type"), "yarn") ||
        gguf_set_f32(w, K("rope.scaling.factor"), s->yarn_factor) ||
        gguf_set_u32(w, K("rope.scaling.original_context_length"), (uint32_t)s->yarn_orig) ||
        gguf_set_f32(w, K("rope.scaling.yarn_log_multiplier"), 0.1f * s->mscale_all_dim))
        return -1;
#undef K
    return 0;
}

/* Directory of the seek binary, and its parent: where tests/data lives in a checkout. */
static char *find_repo_file(const char *rel) {
    if (access(rel, R_OK) == 0) return seek_strdup(rel);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash) break;
        *slash = 0;
        char path[PATH_MAX + 256];
        snprintf(path, sizeof path, "%s/%s", exe, rel);
        if (access(path, R_OK) == 0) return seek_strdup(path);
    }
    return NULL;
}

/* tokenizer.ggml.* from a tokenizer.json or a GGUF file, its token list padded to the
 * embedding's row count; the chat template from `tmpl_path` (or the tokenizer's). Returns
 * 1 when the tokenizer does not fit the vocabulary (then none is written). */
static int write_tokenizer(const shape *s, const char *tok_path, const char *tmpl_path, gguf_writer *w) {
    size_t n = strlen(tok_path);
    gguf_file *g = NULL;
    seek_tokenizer *t;
    if (n > 5 && !strcmp(tok_path + n - 5, ".gguf")) {
        if (!(g = gguf_open(tok_path))) return -1;
        t = tok_load_gguf(g);
    } else {
        t = tok_load_json(tok_path);
    }
    if (!t) { gguf_close(g); return -1; }
    int rc = -1;
    if (tok_n_vocab(t) > s->vocab) { rc = 1; goto out; }
    if (tok_write_gguf_rows(t, w, s->vocab, "synth")) goto out;
    if (tmpl_path) {
        char *tmpl = seek_read_file(tmpl_path, NULL);
        if (!tmpl) goto out;
        int r = gguf_set_str(w, "tokenizer.chat_template", tmpl);
        free(tmpl);
        if (r) goto out;
    }
    rc = 0;
out:
    tok_free(t);
    gguf_close(g);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* values                                                                    */

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t hash_str(const char *s, uint64_t h) {
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

typedef struct {
    const tdesc *t;
    const shape *s;
    uint64_t seed;
    float *freqs;       /* rope_freqs values */
} gen;

/* Row `row` of tensor t: uniform noise with the tensor's standard deviation (uniform on
 * [-a, a] has sd a/sqrt(3)), ones for norms, zeros for the selection bias. */
static void gen_row(void *ud, int64_t row, float *dst, int64_t n) {
    const gen *g = ud;
    switch (g->t->k) {
    case K_ONES: for (int64_t i = 0; i < n; i++) dst[i] = 1.0f; return;
    case K_ZEROS: memset(dst, 0, sizeof(float) * (size_t)n); return;
    case K_ROPE_FREQS: memcpy(dst, g->freqs, sizeof(float) * (size_t)n); return;
    default: break;
    }
    uint64_t st = g->seed ^ (uint64_t)row * 0xd1b54a32d192ed03ULL;
    const float a = g->t->scale * 1.7320508f;
    uint64_t r = 0;
    for (int64_t i = 0; i < n; i++) {
        if ((i & 1) == 0) r = splitmix(&st);
        uint32_t u = (i & 1) ? (uint32_t)(r >> 32) : (uint32_t)r;
        dst[i] = a * ((float)(u >> 8) * (2.0f / 16777216.0f) - 1.0f);
    }
}

/* --fast: POOL_ROWS rows are generated and converted once; row r of the tensor is pool row
 * hash(r) mod POOL_ROWS, so the bytes still vary along the tensor (no two neighbouring rows
 * alike) but nothing is quantized more than once. */
#define POOL_ROWS 256
static int write_pooled(gguf_stream *st, seek_type type, int64_t n, int64_t rows, gen *g, uint64_t *done) {
    const size_t rb = seek_row_size(type, n);
    const int64_t per = rb ? (int64_t)((16u << 20) / rb) + 1 : 1;
    uint8_t *pool = seek_malloc(POOL_ROWS * rb), *buf = seek_malloc((size_t)per * rb);
    int rc = -1;
    if (!pool || !buf || quant_convert_rows(type, n, 0, POOL_ROWS, gen_row, g, pool)) goto out;
    for (int64_t r0 = 0; r0 < rows; r0 += per) {
        int64_t k = rows - r0 < per ? rows - r0 : per;
        for (int64_t r = 0; r < k; r++) {
            uint64_t h = (uint64_t)(r0 + r) * 0x9e3779b97f4a7c15ULL;
            memcpy(buf + (size_t)r * rb, pool + (size_t)((h >> 32) % POOL_ROWS) * rb, rb);
        }
        if (gguf_stream_put(st, buf, (size_t)k * rb)) goto out;
        *done += (uint64_t)k * rb;
    }
    rc = 0;
out:
    free(pool);
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------------ */

static char tmp_name[4096];
const char *synth_tmp_path(void) { return tmp_name[0] ? tmp_name : NULL; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The shape with the options applied. */
static int resolve(const synth_opts *o, shape *s) {
    const shape *base = NULL;
    for (size_t i = 0; i < N_SHAPES; i++)
        if (o->shape && !strcmp(shapes[i].name, o->shape)) base = &shapes[i];
    if (!base) return seek_error("synth: unknown shape '%s' (one of %s)", o->shape ? o->shape : "", synth_shape_names());
    *s = *base;
    if (o->layers < 0 || o->layers > base->layers)
        return seek_error("synth: --layers must be 1 to %d for %s", base->layers, base->name);
    if (o->layers) {
        s->layers = o->layers;
        /* keep at least one MoE block when there is room for one */
        if (s->experts && s->dense_lead >= s->layers) s->dense_lead = s->layers > 1 ? s->layers - 1 : s->layers;
    }
    if (o->split_kv_b && strcmp(s->arch, "deepseek2"))
        return seek_error("synth: --split-kv-b: %s has no MLA (deepseek2 shapes only)", s->name);
    s->split = o->split_kv_b;
    if (o->vocab) s->vocab = o->vocab;
    if (o->ff) s->ff = o->ff;
    if (o->ff_exp) s->ff_exp = o->ff_exp;
    if (o->heads) {
        if (strcmp(s->arch, "deepseek2")) {
            if (s->embd % o->heads || o->heads % s->heads_kv)
                return seek_error("synth: --heads %d must divide %d and be a multiple of %d", o->heads, s->embd, s->heads_kv);
        } else {
            s->heads_kv = o->heads;
        }
        s->heads = o->heads;
    }
    if (o->experts) {
        if (!s->experts) return seek_error("synth: --experts: %s has no experts", s->name);
        if (o->experts < s->used || o->experts % s->groups)
            return seek_error("synth: --experts %d must be at least %d and a multiple of %d", o->experts, s->used, s->groups);
        s->experts = o->experts;
    }
    if (s->vocab < 1 || s->ff < 1 || (s->experts && s->ff_exp < 1)) return seek_error("synth: sizes must be positive");
    return 0;
}

int synth_list(const synth_opts *o) {
    shape s;
    tlist l = {0};
    if (resolve(o, &s) || list_tensors(&s, &l)) { free(l.t); return -1; }
    for (size_t i = 0; i < l.n; i++) {
        printf("%s", l.t[i].name);
        for (uint32_t d = 0; d < l.t[i].n_dims; d++) printf(" %" PRId64, l.t[i].ne[d]);
        printf("\n");
    }
    free(l.t);
    return 0;
}

int synth_write(const char *out, const synth_opts *o) {
    shape s;
    tlist l = {0};
    gguf_writer *w = NULL;
    gguf_stream *st = NULL;
    seek_type *types = NULL;
    float *freqs = NULL;
    char *tok_path = NULL, *tmpl_path = NULL;
    int rc = -1;
    const quant_target *target = o->type ? o->type : quant_target_find("F16");
    if (o->threads > 0) seek_set_threads(o->threads);
    if (resolve(o, &s) || list_tensors(&s, &l)) goto out;
    if (!(w = gguf_writer_new()) || write_meta(&s, w, target)) goto out;

    /* tokenizer */
    if (o->tokenizer) {
        if (!(tok_path = seek_strdup(o->tokenizer))) goto out;
    } else if (!(tok_path = find_repo_file(s.tokenizer))) {
        seek_error("synth: %s: default tokenizer %s not found (run from the seek checkout or pass --tokenizer)",
                   s.name, s.tokenizer);
        goto out;
    }
    if (!o->tokenizer) tmpl_path = find_repo_file(s.tmpl);
    int tr = write_tokenizer(&s, tok_path, tmpl_path, w);
    if (tr < 0) goto out;
    if (tr > 0) {
        if (o->progress)
            fprintf(stderr, "synth: the tokenizer does not fit a %d-token vocabulary: writing no tokenizer\n", s.vocab);
        if (gguf_set_str(w, "tokenizer.ggml.model", "none")) goto out;
    } else if (o->progress && !o->tokenizer) {
        fprintf(stderr, "synth: tokenizer: %s\n", s.tok_note);
    }

    /* tensor types: through the quantize rules, as if a file of this shape were quantized */
    quant_model qm;
    memset(&qm, 0, sizeof qm);
    snprintf(qm.arch, sizeof qm.arch, "%s", s.arch);
    qm.n_layer = s.layers, qm.n_expert = s.experts, qm.n_head = s.heads, qm.n_head_kv = s.heads_kv;
    qm.n_vocab = s.vocab, qm.has_output = !s.tied;
    for (size_t i = 0; i < l.n; i++)
        if (strstr(l.t[i].name, "attn_v.weight")) qm.n_attn_v++;
    if (!(types = seek_calloc(l.n, sizeof *types))) goto out;
    uint64_t total = 0;
    for (size_t i = 0; i < l.n; i++) {
        tdesc *t = &l.t[i];
        bool q;
        types[i] = t->f32 ? SEEK_TYPE_F32 : quant_choose(&qm, target, false, t->name, t->n_dims, t->ne, SEEK_TYPE_F32, &q);
        if (gguf_add_tensor(w, t->name, types[i], t->n_dims, t->ne, NULL, true)) goto out;
        total += seek_row_size(types[i], t->ne[0]) * (uint64_t)t->ne[1] * (uint64_t)t->ne[2];
    }
    if (s.l3_factor > 0) {
        int hd = s.embd / s.heads;
        if (!(freqs = seek_malloc(sizeof(float) * (size_t)(hd / 2)))) goto out;
        rope_llama3_factors(freqs, hd, s.rope_base, s.l3_factor, s.l3_low, s.l3_high, s.l3_orig);
    }

    if (!(st = gguf_stream_open(w, out))) goto out;
    snprintf(tmp_name, sizeof tmp_name, "%s", gguf_stream_tmp_path(st));
    const bool tty = isatty(2);
    double t0 = now_s();
    uint64_t done = 0;
    for (size_t i = 0; i < l.n; i++) {
        const tdesc *t = &l.t[i];
        gen g = {t, &s, hash_str(t->name, o->seed * 0x9e3779b97f4a7c15ULL + 0xcbf29ce484222325ULL), freqs};
        const int64_t rows = t->ne[1] * t->ne[2];
        if (o->fast && rows > POOL_ROWS && t->k == K_MATRIX && !t->f32) {
            if (write_pooled(st, types[i], t->ne[0], rows, &g, &done)) goto out;
        } else if (quant_write_rows(st, types[i], t->ne[0], rows, gen_row, &g, &done)) {
            goto out;
        }
        if (o->progress) {
            char b1[32], b2[32];
            double dt = now_s() - t0;
            fprintf(stderr, "%ssynth: [%4zu/%4zu] %-32s %-5s %10s of %s, %6.1f MB/s%s", tty ? "\r" : "", i + 1, l.n,
                    t->name, seek_type_get(types[i])->name, seek_fmt_bytes(done, b1, sizeof b1),
                    seek_fmt_bytes(total, b2, sizeof b2), dt > 0 ? done / dt / 1e6 : 0.0, tty ? "\033[K" : "\n");
            fflush(stderr);
        }
    }
    if (gguf_stream_close(st)) { st = NULL; goto out; }
    st = NULL;
    if (o->progress) fprintf(stderr, "%ssynth: wrote %s (%s, %d layers) in %.1f s\n", tty ? "\n" : "", out, s.name,
                             s.layers, now_s() - t0);
    rc = 0;
out:
    if (st) gguf_stream_abort(st);
    tmp_name[0] = 0;
    free(types);
    free(freqs);
    free(tok_path);
    free(tmpl_path);
    free(l.t);
    gguf_writer_free(w);
    return rc;
}
