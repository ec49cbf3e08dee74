/* tokenizer_gguf.c - the tokenizer in GGUF metadata: read (tok_load_gguf) and
 * write (tok_write_gguf), using the keys llama.cpp-family tools use:
 *
 *   tokenizer.ggml.model        "gpt2" (byte-level BPE) | "llama" (SentencePiece)
 *   tokenizer.ggml.pre          pre-tokenizer name: "deepseek-v3", "qwen2", ... (BPE)
 *   tokenizer.ggml.tokens       string[n_vocab], as the vocabulary stores them
 *   tokenizer.ggml.token_type   i32[n_vocab] (1 normal, 2 unknown, 3 control, 4 user-defined,
 *                               5 unused, 6 byte)
 *   tokenizer.ggml.scores       f32[n_vocab] (SentencePiece merge priorities)
 *   tokenizer.ggml.merges       string[] "A B", highest priority first (BPE)
 *   tokenizer.ggml.{bos,eos,padding,unknown}_token_id   u32
 *   tokenizer.ggml.add_bos_token / add_eos_token / add_space_prefix   bool
 *
 * Every count and id read from the file is checked: a malformed vocabulary gives
 * an error naming the key, never an out-of-range access.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"
#include "util.h"

static bool is_int_type(gguf_type t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_INT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_INT16 ||
           t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_UINT64 || t == GGUF_TYPE_INT64;
}

/* A special-token id key: absent -> -1; present but out of range -> error. */
static int get_id(const gguf_file *g, const char *key, int32_t n_vocab, int32_t *out, const char *name) {
    *out = -1;
    const gguf_value *v = gguf_get(g, key);
    if (!v) return 0;
    uint64_t id;
    if (!gguf_get_u64(g, key, &id)) {
        int64_t s;
        /* some writers store -1 for "none" */
        if (gguf_get_i64(g, key, &s) && s == -1) return 0;
        return seek_error("%s: %s is not a token id", name, key);
    }
    if (id >= (uint64_t)n_vocab) return seek_error("%s: %s = %llu is out of range (vocabulary %d)", name, key,
                                                   (unsigned long long)id, n_vocab);
    *out = (int32_t)id;
    return 0;
}

static int load(seek_tokenizer **out, const gguf_file *g, const char *name) {
    char *model = gguf_get_string(g, "tokenizer.ggml.model");
    if (!model) return seek_error("%s: no tokenizer (tokenizer.ggml.model missing)", name);
    if (!strcmp(model, "none")) {
        free(model);
        return seek_error("%s: no tokenizer (tokenizer.ggml.model is \"none\")", name);
    }
    int kind = !strcmp(model, "gpt2") ? TOK_KIND_BPE : !strcmp(model, "llama") ? TOK_KIND_SPM : -1;
    if (kind < 0) {
        seek_error("%s: tokenizer model '%s' is not supported (gpt2 or llama)", name, model);
        free(model);
        return -1;
    }
    free(model);

    const gguf_value *tokens = gguf_get_array(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
    if (!tokens) return seek_error("%s: tokenizer.ggml.tokens missing or not an array of strings", name);
    uint64_t n = tokens->arr.n;
    if (n == 0 || n > TOK_MAX_VOCAB) return seek_error("%s: tokenizer.ggml.tokens has %llu entries (1..%d allowed)",
                                                       name, (unsigned long long)n, TOK_MAX_VOCAB);
    const gguf_value *types = gguf_get(g, "tokenizer.ggml.token_type");
    if (types && (types->type != GGUF_TYPE_ARRAY || !is_int_type(types->arr.type) || types->arr.n != n))
        return seek_error("%s: tokenizer.ggml.token_type must be an integer array of %llu entries", name,
                          (unsigned long long)n);
    const gguf_value *scores = gguf_get(g, "tokenizer.ggml.scores");
    if (scores && (scores->type != GGUF_TYPE_ARRAY ||
                   (scores->arr.type != GGUF_TYPE_FLOAT32 && scores->arr.type != GGUF_TYPE_FLOAT64) ||
                   scores->arr.n != n))
        return seek_error("%s: tokenizer.ggml.scores must be a float array of %llu entries", name,
                          (unsigned long long)n);
    if (kind == TOK_KIND_SPM && !scores) return seek_error("%s: SentencePiece vocabulary without tokenizer.ggml.scores", name);

    seek_tokenizer *t = tok_new(kind, (int32_t)n, name);
    if (!t) return -1;
    *out = t;
    const gguf_str *strs = tokens->arr.data;
    for (uint64_t i = 0; i < n; i++) {
        int type = TOK_TYPE_NORMAL;
        if (types) {
            int64_t ty = gguf_arr_i64(types, i);
            if (ty < 0 || ty > TOK_TYPE_BYTE)
                return seek_error("%s: tokenizer.ggml.token_type[%llu] = %lld is not a token type", name,
                                  (unsigned long long)i, (long long)ty);
            type = (int)ty;
        }
        float sc = scores ? (float)gguf_arr_f64(scores, i) : 0.0f;
        if (tok_set_token(t, (int32_t)i, strs[i].ptr, strs[i].len, type, sc, name)) return -1;
    }

    char *pre = gguf_get_string(g, "tokenizer.ggml.pre");
    if (kind == TOK_KIND_BPE) {
        int rc = pretok_set_named(&t->pre, pre ? pre : "default", name);
        if (rc == 0) snprintf(t->pre_name, sizeof t->pre_name, "%s", pre ? pre : "default");
        /* Qwen2's tokenizer.json normalises to NFC before splitting */
        if (pre && (!strcmp(pre, "qwen2") || !strcmp(pre, "deepseek-r1-qwen"))) t->nfc = true;
        free(pre);
        if (rc) return -1;
    } else {
        snprintf(t->pre_name, sizeof t->pre_name, "%s", pre ? pre : "default");
        free(pre);
    }
    if (tok_finish_vocab(t, name)) return -1;

    if (kind == TOK_KIND_BPE) {
        const gguf_value *merges = gguf_get_array(g, "tokenizer.ggml.merges", GGUF_TYPE_STRING);
        if (!merges) return seek_error("%s: tokenizer.ggml.merges missing (a gpt2 tokenizer needs it)", name);
        if (merges->arr.n > (uint64_t)TOK_MAX_VOCAB * 4)
            return seek_error("%s: tokenizer.ggml.merges has %llu entries", name, (unsigned long long)merges->arr.n);
        if (tok_merges_reserve(t, (uint32_t)merges->arr.n, name)) return -1;
        const gguf_str *m = merges->arr.data;
        for (uint64_t i = 0; i < merges->arr.n; i++) {
            const char *sp = memchr(m[i].ptr, ' ', m[i].len);
            /* a merge is "A B" with a single space; a token may itself be ' ' only in SPM */
            if (!sp || sp == m[i].ptr || (size_t)(sp - m[i].ptr) + 1 >= m[i].len)
                return seek_error("%s: tokenizer.ggml.merges[%llu] '%.*s' is not 'A B'", name,
                                  (unsigned long long)i, (int)(m[i].len > 80 ? 80 : m[i].len), m[i].ptr);
            size_t al = (size_t)(sp - m[i].ptr);
            if (tok_add_merge(t, m[i].ptr, al, sp + 1, m[i].len - al - 1, name)) return -1;
        }
    }

    /* added / special tokens: control and user-defined ones are matched in raw text */
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int ty = t->vocab[i].type;
        if (ty == TOK_TYPE_CONTROL || ty == TOK_TYPE_USER_DEFINED || (kind == TOK_KIND_SPM && ty == TOK_TYPE_UNKNOWN))
            if (tok_mark_added(t, i, ty == TOK_TYPE_CONTROL, false, false, false, false, name)) return -1;
    }
    if (tok_build_added(t, name)) return -1;

    if (get_id(g, "tokenizer.ggml.bos_token_id", t->n_vocab, &t->bos, name) ||
        get_id(g, "tokenizer.ggml.eos_token_id", t->n_vocab, &t->eos, name) ||
        get_id(g, "tokenizer.ggml.padding_token_id", t->n_vocab, &t->pad, name) ||
        get_id(g, "tokenizer.ggml.unknown_token_id", t->n_vocab, &t->unk, name))
        return -1;
    bool b;
    t->add_bos = kind == TOK_KIND_SPM;
    if (gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b)) t->add_bos = b;
    if (gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b)) t->add_eos = b;
    t->add_space_prefix = kind == TOK_KIND_SPM;
    if (gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &b)) t->add_space_prefix = b;
    if (t->add_bos && t->bos < 0) t->add_bos = false;
    return 0;
}

seek_tokenizer *tok_load_gguf(const gguf_file *g) {
    seek_tokenizer *t = NULL;
    const char *name = g->path ? g->path : "gguf";
    if (load(&t, g, name)) {
        tok_free(t);
        return NULL;
    }
    return t;
}

/* ---------------------------------------------------------------- writing */

int tok_write_gguf(const seek_tokenizer *t, gguf_writer *w) {
    if (t->kind == TOK_KIND_BPE && !t->pre_name[0])
        return seek_error("tokenizer: its pre-tokenizer is not one GGUF can name (tokenizer.ggml.pre)");
    int32_t n = t->n_vocab;
    const char **strs = seek_malloc((size_t)n * sizeof *strs);
    int32_t *types = seek_malloc((size_t)n * sizeof *types);
    char **pads = seek_calloc((size_t)n, sizeof *pads);
    int rc = -1;
    if (!strs || !types || !pads) goto done;
    for (int32_t i = 0; i < n; i++) {
        const tok_entry *e = &t->vocab[i];
        types[i] = e->type;
        strs[i] = e->text;
        if (e->text_len == 0) {   /* a hole in the id space: named as Hugging Face's converter does */
            char buf[32];
            snprintf(buf, sizeof buf, "[PAD%d]", i);
            if (!(pads[i] = seek_strdup(buf))) goto done;
            strs[i] = pads[i];
            types[i] = TOK_TYPE_UNUSED;
        }
    }
    if (gguf_set_str(w, "tokenizer.ggml.model", tok_model_name(t)) ||
        gguf_set_str(w, "tokenizer.ggml.pre", t->pre_name[0] ? t->pre_name : "default") ||
        gguf_set_arr_str(w, "tokenizer.ggml.tokens", strs, (uint64_t)n) ||
        gguf_set_arr_data(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n))
        goto done;
    if (t->kind == TOK_KIND_SPM) {
        float *sc = seek_malloc((size_t)n * sizeof *sc);
        if (!sc) goto done;
        for (int32_t i = 0; i < n; i++) sc[i] = t->vocab[i].score;
        int r = gguf_set_arr_data(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc, (uint64_t)n);
        free(sc);
        if (r || gguf_set_bool(w, "tokenizer.ggml.add_space_prefix", t->add_space_prefix)) goto done;
    } else {
        char **ms = seek_calloc((size_t)t->n_merges + 1, sizeof *ms);
        if (!ms) goto done;
        int r = 0;
        for (uint32_t i = 0; i < t->n_merges && r == 0; i++) {
            const tok_entry *a = &t->vocab[t->merge_a[i]], *b = &t->vocab[t->merge_b[i]];
            ms[i] = seek_malloc((size_t)a->text_len + b->text_len + 2);
            if (!ms[i]) { r = -1; break; }
            memcpy(ms[i], a->text, a->text_len);
            ms[i][a->text_len] = ' ';
            memcpy(ms[i] + a->text_len + 1, b->text, b->text_len);
            ms[i][a->text_len + 1 + b->text_len] = 0;
        }
        if (r == 0) r = gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)ms, t->n_merges);
        for (uint32_t i = 0; i < t->n_merges; i++) free(ms[i]);
        free(ms);
        if (r) goto done;
    }
    if ((t->bos >= 0 && gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos)) ||
        (t->eos >= 0 && gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)t->eos)) ||
        (t->pad >= 0 && gguf_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)t->pad)) ||
        (t->unk >= 0 && gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)t->unk)) ||
        gguf_set_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos) ||
        gguf_set_bool(w, "tokenizer.ggml.add_eos_token", t->add_eos))
        goto done;
    rc = 0;
done:
    if (pads)
        for (int32_t i = 0; i < n; i++) free(pads[i]);
    free(pads);
    free(strs);
    free(types);
    return rc;
}

/* The tokenizer for a model whose embedding has n_rows >= n_vocab rows: the token list and
 * types are padded to n_rows with UNUSED entries named "[PADi]" (as Hugging Face's converter
 * names holes), or "[SEEK_PADi]" where a trimmed vocabulary already holds that name (engines
 * refuse duplicate token names). */
int tok_write_gguf_rows(const seek_tokenizer *t, gguf_writer *w, int32_t n_rows, const char *what) {
    const int32_t n = t->n_vocab;
    if (n > n_rows) return seek_error("%s: tokenizer has %d tokens but the model's vocabulary is %d", what, n, n_rows);
    if (tok_write_gguf(t, w)) return -1;
    if (n == n_rows) return 0;
    const char **strs = seek_malloc(sizeof *strs * (size_t)n_rows);
    int32_t *types = seek_malloc(sizeof *types * (size_t)n_rows);
    char *pads = seek_malloc((size_t)n_rows * 24);
    int rc = -1;
    if (!strs || !types || !pads) goto done;
    for (int32_t i = 0; i < n_rows; i++) {
        const char *x = i < n ? tok_text(t, i) : NULL;
        if (x && x[0]) {
            strs[i] = x;
            types[i] = tok_type(t, i);
            continue;
        }
        char *p = pads + (size_t)i * 24;
        snprintf(p, 24, "[PAD%d]", i);
        if (tok_find(t, p) >= 0) snprintf(p, 24, "[SEEK_PAD%d]", i);
        strs[i] = p;
        types[i] = TOK_TYPE_UNUSED;
    }
    rc = gguf_set_arr_str(w, "tokenizer.ggml.tokens", strs, (uint64_t)n_rows) ||
                 gguf_set_arr_data(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)n_rows)
             ? -1
             : 0;
done:
    free(strs);
    free(types);
    free(pads);
    return rc;
}
