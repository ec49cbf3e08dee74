/* quantize.c - `seek quantize`: re-type the tensors of a GGUF model, tensor by tensor.
 *
 * The choice of each tensor's type is the one table `rules` below: it restates, rule by
 * rule, what the GGUF ecosystem's llama-quantize (ik_llama.cpp, src/llama-quantize.cpp,
 * function llama_tensor_get_type) does for the K-quant and legacy file types when no
 * importance matrix is given, for the architectures seek runs (llama, qwen2, deepseek2).
 * Rules for IQ types, Falcon and other architectures are left out. The conversion of rows
 * is the reference quantizers' (seek_quantize_row), so output equals that tool's byte for
 * byte for the same choice of type (docs/quantize.md: the one place where the choice
 * differs is Q5_K's fallback, Q5_1 where ik writes its private Q6_0).
 */
#include "quantize.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "threads.h"
#include "util.h"

/* ------------------------------------------------------------------------ */
/* targets: llama_ftype ids as written to general.file_type                  */

enum { M_Q2_K = 1 << 0, M_Q3_K_M = 1 << 1, M_Q4_K_S = 1 << 2, M_Q4_K_M = 1 << 3,
       M_Q5_K_S = 1 << 4, M_Q5_K_M = 1 << 5, M_Q6_K = 1 << 6, M_Q8_0 = 1 << 7, M_OTHER = 1 << 8,
       M_ANY = 0x1ff };

static const struct { quant_target t; unsigned bit; } targets[] = {
    {{"F32", 0, SEEK_TYPE_F32, false}, M_OTHER},
    {{"F16", 1, SEEK_TYPE_F16, false}, M_OTHER},
    {{"BF16", 32, SEEK_TYPE_BF16, false}, M_OTHER},
    {{"Q4_0", 2, SEEK_TYPE_Q4_0, true}, M_OTHER},
    {{"Q4_1", 3, SEEK_TYPE_Q4_1, true}, M_OTHER},
    {{"Q5_0", 8, SEEK_TYPE_Q5_0, true}, M_OTHER},
    {{"Q5_1", 9, SEEK_TYPE_Q5_1, true}, M_OTHER},
    {{"Q8_0", 7, SEEK_TYPE_Q8_0, true}, M_Q8_0},
    {{"Q2_K", 10, SEEK_TYPE_Q2_K, true}, M_Q2_K},
    {{"Q3_K_M", 12, SEEK_TYPE_Q3_K, true}, M_Q3_K_M},
    {{"Q4_K_S", 14, SEEK_TYPE_Q4_K, true}, M_Q4_K_S},
    {{"Q4_K_M", 15, SEEK_TYPE_Q4_K, true}, M_Q4_K_M},
    {{"Q5_K_S", 16, SEEK_TYPE_Q5_K, true}, M_Q5_K_S},
    {{"Q5_K_M", 17, SEEK_TYPE_Q5_K, true}, M_Q5_K_M},
    {{"Q6_K", 18, SEEK_TYPE_Q6_K, true}, M_Q6_K},
    /* single K types that are no llama.cpp file type: every tensor of that type (as --pure);
     * file type: the _S mixture of the same base */
    {{"Q3_K", 11, SEEK_TYPE_Q3_K, false}, M_OTHER},
    {{"Q4_K", 14, SEEK_TYPE_Q4_K, false}, M_OTHER},
    {{"Q5_K", 16, SEEK_TYPE_Q5_K, false}, M_OTHER},
};
#define N_TARGETS (sizeof targets / sizeof targets[0])

const quant_target *quant_target_find(const char *name) {
    for (size_t i = 0; i < N_TARGETS; i++)
        if (name && !strcasecmp(targets[i].t.name, name)) return &targets[i].t;
    return NULL;
}

const quant_target *quant_target_by_ftype(int ftype) {
    for (size_t i = 0; i < N_TARGETS; i++)
        if (targets[i].t.ftype == ftype) return &targets[i].t;   /* mixtures come before plain K types */
    return NULL;
}

const char *quant_target_names(void) {
    static char buf[256];
    if (!buf[0])
        for (size_t i = 0; i < N_TARGETS; i++) {
            if (i) strcat(buf, ", ");
            strcat(buf, targets[i].t.name);
        }
    return buf;
}

static unsigned target_bit(const quant_target *t) {
    for (size_t i = 0; i < N_TARGETS; i++)
        if (&targets[i].t == t) return targets[i].bit;
    return M_OTHER;
}

/* ------------------------------------------------------------------------ */
/* the rules                                                                 */

typedef enum {
    C_ALWAYS,
    C_MOE,            /* n_expert >= 4 */
    C_DENSE,          /* n_expert < 4 */
    C_ROW_NOT_256,    /* row length not a multiple of the K-quant super-block */
    C_MORE_BITS,      /* use_more_bits(i_layer, n_layer): first/last eighth and every third */
    C_FIRST_8TH,      /* i_layer < n_layer / 8 */
    C_FIRST_16TH,     /* i_layer < n_layer / 16 */
    C_FIRST_2_V,      /* the first 2 attn_v tensors */
    C_FIRST_4_V,      /* the first 4 attn_v tensors */
    C_MORE_BITS_V,    /* use_more_bits over the attn_v tensors */
    C_70B,            /* llama with 80 layers and GQA, or qwen2 with 80 layers */
    C_8B_70B_BIG_VOCAB, /* llama3-sized: an 8B or 70B model with a >= 128k vocabulary */
    C_GQA4,           /* n_head / n_head_kv >= 4 */
} cond;

typedef enum {
    R_TYPE,           /* the rule's type */
    R_KEEP,           /* the base type; later rules of the group are not looked at */
    R_BUMP_GQA,       /* one step up: Q3_K->Q4_K, Q4_K->Q5_K, Q5_K->Q6_K, others unchanged */
    R_BUMP_70B,       /* Q3_K or Q4_K -> Q5_K, others unchanged */
} result;

enum { G_OUTPUT, G_TOKEN_EMBD, G_ATTN_V, G_ATTN_K, G_ATTN_Q, G_FFN_DOWN, G_ATTN_OUTPUT, G_ATTN_QKV };

typedef struct {
    int group;        /* which tensors (see group_of) */
    unsigned mixes;   /* the targets it applies to */
    cond when;
    result res;
    seek_type type;   /* for R_TYPE */
} rule;

/* Within a group the first rule whose target and condition match decides. A group whose
 * rules all fail keeps the base type. Order inside a group matters only between rules for
 * the same target. */
static const rule rules[] = {
    /* output.weight (or token_embd when it doubles as the output): the logits are the most
     * sensitive product, so it gets 6 bits; Q8_0 when its rows don't fit K-quant blocks */
    {G_OUTPUT, M_ANY, C_ROW_NOT_256, R_TYPE, SEEK_TYPE_Q8_0},
    {G_OUTPUT, M_Q8_0, C_ALWAYS, R_KEEP, 0},                 /* already better than Q6_K */
    {G_OUTPUT, M_ANY & ~M_Q8_0, C_ALWAYS, R_TYPE, SEEK_TYPE_Q6_K},
    /* token_embd: a lookup table, only its rows read: base type (rules exist only for IQ) */
    {G_TOKEN_EMBD, M_ANY, C_ALWAYS, R_KEEP, 0},
    /* attn_v: small in GQA models (shared by a group of heads), so extra bits are cheap */
    {G_ATTN_V, M_ANY, C_MOE, R_TYPE, SEEK_TYPE_Q8_0},        /* MoE: attention is a small part */
    {G_ATTN_V, M_ANY, C_70B, R_BUMP_70B, 0},                 /* 8 heads share each attn_v */
    {G_ATTN_V, M_Q2_K, C_GQA4, R_TYPE, SEEK_TYPE_Q4_K},
    {G_ATTN_V, M_Q2_K, C_ALWAYS, R_TYPE, SEEK_TYPE_Q3_K},
    {G_ATTN_V, M_Q3_K_M, C_FIRST_2_V, R_TYPE, SEEK_TYPE_Q5_K},
    {G_ATTN_V, M_Q3_K_M, C_ALWAYS, R_TYPE, SEEK_TYPE_Q4_K},
    {G_ATTN_V, M_Q4_K_M | M_Q5_K_M, C_MORE_BITS_V, R_TYPE, SEEK_TYPE_Q6_K},
    {G_ATTN_V, M_Q4_K_S, C_FIRST_4_V, R_TYPE, SEEK_TYPE_Q5_K},
    {G_ATTN_V, M_Q5_K_S, C_8B_70B_BIG_VOCAB, R_TYPE, SEEK_TYPE_Q6_K},
    {G_ATTN_V, M_Q5_K_S, C_ALWAYS, R_KEEP, 0},
    {G_ATTN_V, M_ANY, C_GQA4, R_BUMP_GQA, 0},                /* many heads per attn_v */
    /* attn_k* (also MLA's attn_kv_a_mqa, attn_kv_b, attn_k_b): in MoE models attention is a
     * few percent of the weights, Q8_0 costs little */
    {G_ATTN_K, M_ANY, C_MOE, R_TYPE, SEEK_TYPE_Q8_0},
    /* attn_q*: llama3-sized Q5_K_S pays for its 6-bit attn_v with a 4-bit attn_q */
    {G_ATTN_Q, M_Q5_K_S, C_8B_70B_BIG_VOCAB, R_TYPE, SEEK_TYPE_Q4_K},
    /* ffn_down (also _exps, _shexp): quantization error here hurts most; more bits in the
     * first and last layers and every third one in between */
    {G_FFN_DOWN, M_Q2_K, C_ALWAYS, R_TYPE, SEEK_TYPE_Q3_K},
    {G_FFN_DOWN, M_Q3_K_M, C_FIRST_16TH, R_TYPE, SEEK_TYPE_Q5_K},
    {G_FFN_DOWN, M_Q3_K_M, C_ALWAYS, R_TYPE, SEEK_TYPE_Q4_K},
    {G_FFN_DOWN, M_Q4_K_M | M_Q5_K_M, C_MORE_BITS, R_TYPE, SEEK_TYPE_Q6_K},
    {G_FFN_DOWN, M_Q4_K_S, C_FIRST_8TH, R_TYPE, SEEK_TYPE_Q5_K},
    /* attn_output: in MoE models it is small next to the experts, 5 bits for the low mixes */
    {G_ATTN_OUTPUT, M_Q2_K | M_Q3_K_M | M_Q4_K_S | M_Q4_K_M, C_MOE, R_TYPE, SEEK_TYPE_Q5_K},
    {G_ATTN_OUTPUT, M_Q2_K, C_DENSE, R_TYPE, SEEK_TYPE_Q3_K},
    {G_ATTN_OUTPUT, M_Q3_K_M, C_DENSE, R_TYPE, SEEK_TYPE_Q4_K},
    /* fused attn_qkv (not in seek's architectures, kept for completeness) */
    {G_ATTN_QKV, M_Q3_K_M, C_ALWAYS, R_TYPE, SEEK_TYPE_Q4_K},
    {G_ATTN_QKV, M_Q4_K_M, C_ALWAYS, R_TYPE, SEEK_TYPE_Q5_K},
    {G_ATTN_QKV, M_Q5_K_M, C_ALWAYS, R_TYPE, SEEK_TYPE_Q6_K},
};

/* Rows whose length is not a multiple of 256 cannot hold K-quant super-blocks (e.g.
 * DeepSeek-V2-Lite's 1408-wide experts, its 10944-wide dense FFN): the tensor falls back to
 * a 32-block type of about the same size, as llama-quantize does (change_type_if_necessary):
 *   Q2_K, Q3_K -> IQ4_NL   both engines (a 4.5-bit type with a non-uniform grid)
 *   Q4_K -> Q5_0, Q6_K -> Q8_0   both engines
 *   Q5_K -> Q5_1   mainline llama.cpp's choice. ik_llama.cpp writes its own Q6_0 there, a
 *                  type that llama.cpp and ollama cannot load, so seek keeps the format
 *                  every GGUF engine reads (the one documented difference from ik's
 *                  output; docs/quantize.md). */
static seek_type fallback(seek_type t, int64_t ne0) {
    if (ne0 % 256 == 0) return t;
    switch (t) {
    case SEEK_TYPE_Q2_K: case SEEK_TYPE_Q3_K: return SEEK_TYPE_IQ4_NL;
    case SEEK_TYPE_Q4_K: return SEEK_TYPE_Q5_0;
    case SEEK_TYPE_Q5_K: return SEEK_TYPE_Q5_1;
    case SEEK_TYPE_Q6_K: return SEEK_TYPE_Q8_0;
    default: return t;
    }
}

/* ------------------------------------------------------------------------ */

static int group_of(const quant_model *qm, const char *name) {
    /* same order and substring tests as llama-quantize's if/else chain */
    if (!strcmp(name, "output.weight") || (!qm->has_output && !strcmp(name, "token_embd.weight"))) return G_OUTPUT;
    if (!strcmp(name, "token_embd.weight")) return G_TOKEN_EMBD;
    if (strstr(name, "attn_v.weight")) return G_ATTN_V;
    if (strstr(name, "attn_k")) return G_ATTN_K;
    if (strstr(name, "attn_q")) return G_ATTN_Q;
    if (strstr(name, "ffn_down")) return G_FFN_DOWN;
    if (strstr(name, "attn_output.weight")) return G_ATTN_OUTPUT;
    if (strstr(name, "attn_qkv.weight")) return G_ATTN_QKV;
    return -1;
}

static bool more_bits(int i, int n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

static bool holds(const quant_model *qm, cond c, int64_t ne0, int i_layer) {
    const int n = qm->n_layer;
    const int gqa = qm->n_head_kv > 0 ? qm->n_head / qm->n_head_kv : 0;
    const bool llama = !strcmp(qm->arch, "llama"), qwen2 = !strcmp(qm->arch, "qwen2");
    const bool is_70b = (llama && n == 80 && qm->n_head != qm->n_head_kv && qm->n_expert != 8) || (qwen2 && n == 80);
    const bool is_8b = llama && qm->n_expert != 8 && ((n == 32 && qm->n_vocab >= 40000 && qm->n_vocab != 49152) || n == 36);
    switch (c) {
    case C_ALWAYS: return true;
    case C_MOE: return qm->n_expert >= 4;
    case C_DENSE: return qm->n_expert < 4;
    case C_ROW_NOT_256: return ne0 % 256 != 0;
    case C_MORE_BITS: return more_bits(i_layer, n);
    case C_FIRST_8TH: return i_layer < n / 8;
    case C_FIRST_16TH: return i_layer < n / 16;
    case C_FIRST_2_V: return qm->i_attn_v < 2;
    case C_FIRST_4_V: return qm->i_attn_v < 4;
    case C_MORE_BITS_V: return more_bits(qm->i_attn_v, qm->n_attn_v);
    case C_70B: return is_70b;
    case C_8B_70B_BIG_VOCAB: return qm->n_vocab >= 127999 && (is_8b || is_70b);
    case C_GQA4: return gqa >= 4;
    }
    return false;
}

static seek_type apply(result r, seek_type rule_type, seek_type t) {
    switch (r) {
    case R_TYPE: return rule_type;
    case R_KEEP: return t;
    case R_BUMP_GQA:
        return t == SEEK_TYPE_Q3_K ? SEEK_TYPE_Q4_K : t == SEEK_TYPE_Q4_K ? SEEK_TYPE_Q5_K
             : t == SEEK_TYPE_Q5_K ? SEEK_TYPE_Q6_K : t;
    case R_BUMP_70B: return (t == SEEK_TYPE_Q3_K || t == SEEK_TYPE_Q4_K) ? SEEK_TYPE_Q5_K : t;
    }
    return t;
}

static bool is_quantizable(const char *name, uint32_t n_dims, seek_type src) {
    size_t n = strlen(name);
    if (src == SEEK_TYPE_I8 || src == SEEK_TYPE_I16 || src == SEEK_TYPE_I32 || src == SEEK_TYPE_I64) return false;
    if (n < 6 || strcmp(name + n - 6, "weight")) return false;   /* biases, exp_probs_b */
    if (n_dims < 2) return false;                                  /* norms, scales */
    if (strstr(name, "_norm.weight")) return false;                /* 2-D norms too */
    if (strstr(name, "ffn_gate_inp.weight")) return false;         /* the router: tiny, decisive */
    return true;
}

seek_type quant_choose(quant_model *qm, const quant_target *t, bool pure, const char *name,
                       uint32_t n_dims, const int64_t *ne, seek_type src, bool *quantize) {
    *quantize = is_quantizable(name, n_dims, src);
    if (!*quantize) return src;
    seek_type type = t->base;
    if (pure || !t->mixture) {
        /* every tensor the base type, except where rows don't fit the blocks */
        type = fallback(type, ne[0]);
    } else {
        int g = group_of(qm, name);
        int i_layer = -1;
        if (g == G_FFN_DOWN) {
            /* MoE files have several ffn_down* per block: the layer comes from the name */
            i_layer = qm->i_ffn_down;
            if (qm->n_expert > 1 && sscanf(name, "blk.%d.", &i_layer) != 1) i_layer = qm->i_ffn_down;
        }
        unsigned bit = target_bit(t);
        for (size_t i = 0; g >= 0 && i < sizeof rules / sizeof rules[0]; i++) {
            const rule *r = &rules[i];
            if (r->group != g || !(r->mixes & bit) || !holds(qm, r->when, ne[0], i_layer)) continue;
            type = apply(r->res, r->type, type);
            break;
        }
        if (g == G_ATTN_V) qm->i_attn_v++;
        if (g == G_FFN_DOWN) qm->i_ffn_down++;
        type = fallback(type, ne[0]);
    }
    if (type == src) *quantize = false;   /* already that type: copied as is */
    return type;
}

static int meta_int(const gguf_file *g, const char *arch, const char *key, int def) {
    char k[96];
    snprintf(k, sizeof k, "%s.%s", arch, key);
    uint32_t v;
    return gguf_get_u32(g, k, &v) ? (int)v : def;
}

int quant_model_init(quant_model *qm, const gguf_file *g) {
    memset(qm, 0, sizeof *qm);
    char *arch = gguf_get_string(g, "general.architecture");
    if (!arch) return seek_error("%s: not a model (no general.architecture)", g->path);
    snprintf(qm->arch, sizeof qm->arch, "%s", arch);
    free(arch);
    if (!gguf_find_tensor(g, "token_embd.weight"))
        return seek_error("%s: not a model (no token_embd.weight tensor)", g->path);
    qm->n_layer = meta_int(g, qm->arch, "block_count", 0);
    if (qm->n_layer <= 0) return seek_error("%s: not a model (no %s.block_count)", g->path, qm->arch);
    qm->n_expert = meta_int(g, qm->arch, "expert_count", 0);
    qm->n_head = meta_int(g, qm->arch, "attention.head_count", 0);
    qm->n_head_kv = meta_int(g, qm->arch, "attention.head_count_kv", qm->n_head);
    qm->n_vocab = meta_int(g, qm->arch, "vocab_size", 0);
    const gguf_value *tok = gguf_get_array(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
    const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
    if (!qm->n_vocab && tok) qm->n_vocab = (int)tok->arr.n;
    if (!qm->n_vocab && emb) qm->n_vocab = (int)emb->ne[1];
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        if (gguf_str_eq(t->name, "output.weight")) qm->has_output = true;
        char nm[128];
        snprintf(nm, sizeof nm, "%.*s", (int)(t->name.len < 127 ? t->name.len : 127), t->name.ptr);
        if (strstr(nm, "attn_v.weight") || strstr(nm, "attn_qkv.weight")) qm->n_attn_v++;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* the row pipeline                                                          */

#define CHUNK_FLOATS (4 << 20)   /* floats converted per chunk: 16 MB of f32 */

typedef struct {
    quant_row_fn src;
    void *ud;
    seek_type type;
    int64_t n, row0;
    size_t row_bytes;
    uint8_t *dst;
    int failed;
} chunk_job;

static void chunk_worker(void *p, int64_t begin, int64_t end) {
    chunk_job *j = p;
    float *row = malloc(sizeof(float) * (size_t)j->n);
    if (!row) { j->failed = 1; return; }
    for (int64_t r = begin; r < end; r++) {
        j->src(j->ud, j->row0 + r, row, j->n);
        if (seek_quantize_row(j->type, row, j->dst + (size_t)r * j->row_bytes, j->n)) j->failed = 1;
    }
    free(row);
}

int quant_convert_rows(seek_type type, int64_t n, int64_t row0, int64_t k, quant_row_fn src, void *ud, uint8_t *dst) {
    size_t rb = seek_row_size(type, n);
    if (!rb && n) return seek_error("cannot write rows of %" PRId64 " values as %s", n,
                                    seek_type_get(type) ? seek_type_get(type)->name : "?");
    chunk_job j = {src, ud, type, n, row0, rb, dst, 0};
    par_for(k, chunk_worker, &j);
    return j.failed ? seek_error("converting rows to %s failed", seek_type_get(type)->name) : 0;
}

int quant_write_rows(gguf_stream *s, seek_type type, int64_t n, int64_t rows,
                     quant_row_fn src, void *ud, uint64_t *done_bytes) {
    size_t rb = seek_row_size(type, n);
    if (!rb && n) return seek_error("cannot write rows of %" PRId64 " values as %s", n,
                                    seek_type_get(type) ? seek_type_get(type)->name : "?");
    int64_t per = n > 0 ? CHUNK_FLOATS / n : rows;
    if (per < 1) per = 1;
    if (per > rows) per = rows;
    uint8_t *buf = per > 0 ? seek_malloc((size_t)per * rb) : NULL;
    if (per > 0 && !buf) return -1;
    int rc = 0;
    for (int64_t r0 = 0; r0 < rows && !rc; r0 += per) {
        int64_t k = rows - r0 < per ? rows - r0 : per;
        if (quant_convert_rows(type, n, r0, k, src, ud, buf)) rc = -1;
        else if (gguf_stream_put(s, buf, (size_t)k * rb)) rc = -1;
        else if (done_bytes) *done_bytes += (uint64_t)k * rb;
    }
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* the file                                                                  */

static char tmp_name[4096];
const char *quantize_tmp_path(void) { return tmp_name[0] ? tmp_name : NULL; }

typedef struct {
    const gguf_tensor *t;
    size_t src_row_bytes;
} src_rows;

static void read_src_row(void *ud, int64_t row, float *dst, int64_t n) {
    const src_rows *s = ud;
    const uint8_t *p = (const uint8_t *)s->t->data + (size_t)row * s->src_row_bytes;
    if (seek_dequantize_row(s->t->type, p, dst, n)) memset(dst, 0, sizeof(float) * (size_t)n);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void tensor_name(const gguf_tensor *t, char *buf, size_t cap) {
    snprintf(buf, cap, "%.*s", (int)(t->name.len < cap - 1 ? t->name.len : cap - 1), t->name.ptr);
}

int quantize_file(const char *in, const char *out, const quant_opts *o) {
    if (o->threads > 0) seek_set_threads(o->threads);
    gguf_file *g = gguf_open(in);
    if (!g) return -1;
    int rc = -1;
    gguf_writer *w = NULL;
    gguf_stream *s = NULL;
    seek_type *types = NULL;
    bool *conv = NULL;
    quant_model qm;
    if (quant_model_init(&qm, g)) goto out;
    types = seek_calloc(g->n_tensors ? g->n_tensors : 1, sizeof *types);
    conv = seek_calloc(g->n_tensors ? g->n_tensors : 1, sizeof *conv);
    if (!types || !conv || !(w = gguf_writer_new())) goto out;

    /* metadata: everything, with the new file type */
    if (gguf_copy_metadata(w, g, NULL, NULL)) goto out;
    if (gguf_set_u32(w, "general.file_type", (uint32_t)o->target->ftype) ||
        gguf_set_u32(w, "general.quantization_version", 2))
        goto out;

    /* the plan */
    uint64_t bytes_in = 0, bytes_out = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        char name[128];
        tensor_name(t, name, sizeof name);
        types[i] = quant_choose(&qm, o->target, o->pure, name, t->n_dims, t->ne, t->type, &conv[i]);
        if (conv[i] && !seek_type_get(t->type)->can_dequantize) {
            seek_error("%s: tensor '%s': cannot read type %s", in, name, seek_type_get(t->type)->name);
            goto out;
        }
        if (conv[i] && !seek_type_get(types[i])->can_quantize) {
            seek_error("%s: tensor '%s': cannot write type %s", in, name, seek_type_get(types[i])->name);
            goto out;
        }
        if (o->dry_run) printf("%s %s %s\n", name, seek_type_get(t->type)->name, seek_type_get(types[i])->name);
        if (gguf_add_tensor(w, name, types[i], t->n_dims, t->ne, NULL, true)) goto out;
        bytes_in += t->nbytes;
    }
    if (o->dry_run) { rc = 0; goto out; }

    if (!(s = gguf_stream_open(w, out))) goto out;
    snprintf(tmp_name, sizeof tmp_name, "%s", gguf_stream_tmp_path(s));
    double t0 = now_s();
    const bool tty = isatty(2);
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        double t1 = now_s();
        uint64_t before = bytes_out;
        if (!conv[i]) {
            if (gguf_stream_put(s, t->data, (size_t)t->nbytes)) goto out;
            bytes_out += t->nbytes;
        } else {
            int64_t rows = 1;
            for (uint32_t d = 1; d < t->n_dims; d++) rows *= t->ne[d];
            src_rows sr = {t, seek_row_size(t->type, t->ne[0])};
            if (quant_write_rows(s, types[i], t->ne[0], rows, read_src_row, &sr, &bytes_out)) goto out;
        }
        if (o->progress) {
            char name[128], b1[32];
            tensor_name(t, name, sizeof name);
            double dt = now_s() - t1;
            fprintf(stderr, "%squantize: [%4" PRIu64 "/%4" PRIu64 "] %-32s %-5s -> %-5s %10s %8.1f MB/s%s",
                    tty ? "\r" : "", i + 1, g->n_tensors, name, seek_type_get(t->type)->name,
                    seek_type_get(types[i])->name, seek_fmt_bytes(bytes_out - before, b1, sizeof b1),
                    dt > 0 ? t->nbytes / dt / 1e6 : 0.0, tty ? "\033[K" : "\n");
            fflush(stderr);
        }
    }
    if (gguf_stream_close(s)) { s = NULL; goto out; }
    s = NULL;
    if (o->progress) {
        char b1[32], b2[32];
        double dt = now_s() - t0;
        fprintf(stderr, "%squantize: %s -> %s (%s), %.1f s, %.1f MB/s\n", tty ? "\n" : "",
                seek_fmt_bytes(bytes_in, b1, sizeof b1), seek_fmt_bytes(bytes_out, b2, sizeof b2),
                o->target->name, dt, dt > 0 ? bytes_in / dt / 1e6 : 0.0);
    }
    rc = 0;
out:
    if (s) gguf_stream_abort(s);
    tmp_name[0] = 0;
    free(types);
    free(conv);
    gguf_writer_free(w);
    gguf_close(g);
    return rc;
}
