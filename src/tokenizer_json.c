/* tokenizer_json.c - load a Hugging Face tokenizer.json (byte-level BPE).
 *
 * What is read: model (type BPE: vocab, merges as "a b" strings or [a, b] pairs,
 * ignore_merges), added_tokens (id, content, special, lstrip, rstrip,
 * single_word, normalized), normalizer (none, NFC, or a Sequence of those),
 * pre_tokenizer (Split with a Regex or String pattern and any behaviour, Digits,
 * ByteLevel, Sequence of these), post_processor (only to find a BOS that
 * TemplateProcessing puts first). From tokenizer_config.json beside it:
 * bos/eos/pad token and add_bos_token / add_eos_token.
 *
 * Anything else (WordPiece, Metaspace, byte_fallback, Lowercase, ...) is refused
 * with a message naming it, rather than tokenized differently from the reference.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"
#include "util.h"

#define RE_GPT2_BYTELEVEL "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

static const char *type_of(const json_t *o) {
    const char *s = json_string_value(json_object_get(o, "type"));
    return s ? s : "";
}

static bool get_bool(const json_t *o, const char *key, bool dflt) {
    const json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? json_is_true(v) : dflt;
}

/* Quote a literal string as a regex. */
static char *regex_quote(const char *s) {
    size_t n = strlen(s);
    char *o = seek_malloc(n * 2 + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strchr("\\^$.|?*+()[]{}", s[i])) o[k++] = '\\';
        o[k++] = s[i];
    }
    o[k] = 0;
    return o;
}

static int parse_behavior(const char *b, const char *name) {
    if (!strcmp(b, "Isolated")) return SPLIT_ISOLATED;
    if (!strcmp(b, "Removed")) return SPLIT_REMOVED;
    if (!strcmp(b, "MergedWithPrevious")) return SPLIT_MERGED_PREV;
    if (!strcmp(b, "MergedWithNext")) return SPLIT_MERGED_NEXT;
    if (!strcmp(b, "Contiguous")) return SPLIT_CONTIGUOUS;
    return seek_error("%s: unknown Split behavior '%s'", name, b);
}

static int parse_pretok(seek_tokenizer *t, const json_t *p, bool *bytelevel, const char *name) {
    if (!p || json_is_null(p)) return 0;
    const char *ty = type_of(p);
    if (!strcmp(ty, "Sequence")) {
        const json_t *arr = json_object_get(p, "pretokenizers");
        if (!json_is_array(arr)) return seek_error("%s: pre_tokenizer Sequence without 'pretokenizers'", name);
        for (size_t i = 0; i < json_array_size(arr); i++)
            if (parse_pretok(t, json_array_get(arr, i), bytelevel, name)) return -1;
        return 0;
    }
    if (!strcmp(ty, "Split")) {
        const json_t *pat = json_object_get(p, "pattern");
        const char *re = json_string_value(json_object_get(pat, "Regex"));
        const char *lit = json_string_value(json_object_get(pat, "String"));
        const char *beh = json_string_value(json_object_get(p, "behavior"));
        if (!re && !lit) return seek_error("%s: Split pre-tokenizer without a Regex or String pattern", name);
        int b = parse_behavior(beh ? beh : "", name);
        if (b < 0) return -1;
        if (re) return pretok_add(&t->pre, re, b, get_bool(p, "invert", false), name);
        char *q = regex_quote(lit);
        if (!q) return -1;
        int rc = pretok_add(&t->pre, q, b, get_bool(p, "invert", false), name);
        free(q);
        return rc;
    }
    if (!strcmp(ty, "Digits"))
        return pretok_add(&t->pre, get_bool(p, "individual_digits", false) ? "\\p{N}" : "\\p{N}+",
                          SPLIT_ISOLATED, false, name);
    if (!strcmp(ty, "ByteLevel")) {
        *bytelevel = true;
        if (get_bool(p, "add_prefix_space", false))
            return seek_error("%s: ByteLevel pre-tokenizer with add_prefix_space is not supported", name);
        if (get_bool(p, "use_regex", true))
            return pretok_add(&t->pre, RE_GPT2_BYTELEVEL, SPLIT_ISOLATED, false, name);
        return 0;
    }
    return seek_error("%s: pre-tokenizer type '%s' is not supported", name, ty);
}

static int parse_normalizer(seek_tokenizer *t, const json_t *n, const char *name) {
    if (!n || json_is_null(n)) return 0;
    const char *ty = type_of(n);
    if (!strcmp(ty, "Sequence")) {
        const json_t *arr = json_object_get(n, "normalizers");
        if (!json_is_array(arr)) return seek_error("%s: normalizer Sequence without 'normalizers'", name);
        for (size_t i = 0; i < json_array_size(arr); i++)
            if (parse_normalizer(t, json_array_get(arr, i), name)) return -1;
        return 0;
    }
    if (!strcmp(ty, "NFC")) {
        t->nfc = true;
        return 0;
    }
    return seek_error("%s: normalizer '%s' is not supported", name, ty);
}

/* A token named in tokenizer_config.json: a string or {"content": ...}. */
static int32_t config_token(const seek_tokenizer *t, const json_t *cfg, const char *key) {
    const json_t *v = json_object_get(cfg, key);
    const char *s = json_is_object(v) ? json_string_value(json_object_get(v, "content")) : json_string_value(v);
    return s ? tok_find(t, s) : -1;
}

/* BOS from a TemplateProcessing post-processor whose `single` starts with a special token. */
static void bos_from_post(seek_tokenizer *t, const json_t *pp) {
    if (!pp || json_is_null(pp)) return;
    if (!strcmp(type_of(pp), "Sequence")) {
        const json_t *arr = json_object_get(pp, "processors");
        for (size_t i = 0; i < json_array_size(arr); i++) bos_from_post(t, json_array_get(arr, i));
        return;
    }
    if (strcmp(type_of(pp), "TemplateProcessing") != 0) return;
    const json_t *first = json_array_get(json_object_get(pp, "single"), 0);
    const char *id = json_string_value(json_object_get(json_object_get(first, "SpecialToken"), "id"));
    if (!id) return;
    int32_t b = tok_find(t, id);
    if (b >= 0) { t->bos = b; t->add_bos = true; }
}

static int load(seek_tokenizer **out, const json_t *root, const json_t *cfg, const char *name) {
    const json_t *model = json_object_get(root, "model");
    if (!json_is_object(model)) return seek_error("%s: no 'model' object", name);
    const char *mtype = json_string_value(json_object_get(model, "type"));
    if (mtype && strcmp(mtype, "BPE") != 0) return seek_error("%s: model type '%s' is not supported (only BPE)", name, mtype);
    if (get_bool(model, "byte_fallback", false))
        return seek_error("%s: BPE with byte_fallback is not supported (use the GGUF vocabulary)", name);
    const char *cs = json_string_value(json_object_get(model, "continuing_subword_prefix"));
    const char *ew = json_string_value(json_object_get(model, "end_of_word_suffix"));
    if ((cs && *cs) || (ew && *ew)) return seek_error("%s: BPE subword prefixes/suffixes are not supported", name);
    const json_t *vocab = json_object_get(model, "vocab");
    const json_t *merges = json_object_get(model, "merges");
    if (!json_is_object(vocab)) return seek_error("%s: model has no 'vocab' object", name);
    if (!json_is_array(merges)) return seek_error("%s: model has no 'merges' array", name);
    const json_t *added = json_object_get(root, "added_tokens");
    if (added && !json_is_array(added)) return seek_error("%s: 'added_tokens' is not an array", name);

    /* the id space: every id used by the vocabulary or an added token */
    json_int_t max_id = -1;
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)vocab, key, val) {
        if (!json_is_integer(val)) return seek_error("%s: vocab entry '%s' has no integer id", name, key);
        json_int_t id = json_integer_value(val);
        if (id < 0 || id >= TOK_MAX_VOCAB) return seek_error("%s: vocab entry '%s' has id %lld, out of range", name, key, (long long)id);
        if (id > max_id) max_id = id;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        const json_t *idv = json_object_get(a, "id");
        if (!json_is_integer(idv) || !json_is_string(json_object_get(a, "content")))
            return seek_error("%s: added token %zu lacks an integer 'id' or a 'content' string", name, i);
        json_int_t id = json_integer_value(idv);
        if (id < 0 || id >= TOK_MAX_VOCAB) return seek_error("%s: added token %zu has id %lld, out of range", name, i, (long long)id);
        if (id > max_id) max_id = id;
    }
    if (max_id < 0) return seek_error("%s: empty vocabulary", name);

    seek_tokenizer *t = tok_new(TOK_KIND_BPE, (int32_t)max_id + 1, name);
    if (!t) return -1;
    *out = t;
    json_object_foreach((json_t *)vocab, key, val) {
        if (tok_set_token(t, (int32_t)json_integer_value(val), key, strlen(key), TOK_TYPE_NORMAL, 0.0f, name))
            return -1;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        const char *c = json_string_value(json_object_get(a, "content"));
        int type = get_bool(a, "special", false) ? TOK_TYPE_CONTROL : TOK_TYPE_USER_DEFINED;
        if (tok_set_token(t, (int32_t)json_integer_value(json_object_get(a, "id")), c, strlen(c), type, 0.0f, name))
            return -1;
    }

    bool bytelevel = false;
    if (parse_normalizer(t, json_object_get(root, "normalizer"), name)) return -1;
    if (parse_pretok(t, json_object_get(root, "pre_tokenizer"), &bytelevel, name)) return -1;
    if (!bytelevel && !strcmp(type_of(json_object_get(root, "decoder")), "ByteLevel")) bytelevel = true;
    if (!bytelevel) return seek_error("%s: not a byte-level BPE tokenizer (no ByteLevel pre-tokenizer)", name);
    t->ignore_merges = get_bool(model, "ignore_merges", false);

    if (tok_finish_vocab(t, name)) return -1;
    if (tok_merges_reserve(t, (uint32_t)json_array_size(merges), name)) return -1;
    for (size_t i = 0; i < json_array_size(merges); i++) {
        const json_t *m = json_array_get(merges, i);
        const char *a, *b;
        size_t al, bl;
        if (json_is_string(m)) {
            a = json_string_value(m);
            const char *sp = strchr(a, ' ');
            if (!sp || strchr(sp + 1, ' ')) return seek_error("%s: merge %zu '%s' is not 'A B'", name, i, a);
            al = (size_t)(sp - a);
            b = sp + 1;
            bl = strlen(b);
        } else if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
                   json_is_string(json_array_get(m, 1))) {
            a = json_string_value(json_array_get(m, 0));
            b = json_string_value(json_array_get(m, 1));
            al = strlen(a);
            bl = strlen(b);
        } else {
            return seek_error("%s: merge %zu is neither 'A B' nor [A, B]", name, i);
        }
        if (tok_add_merge(t, a, al, b, bl, name)) return -1;
    }
    for (size_t i = 0; i < json_array_size(added); i++) {
        const json_t *a = json_array_get(added, i);
        if (tok_mark_added(t, (int32_t)json_integer_value(json_object_get(a, "id")), get_bool(a, "special", false),
                           get_bool(a, "lstrip", false), get_bool(a, "rstrip", false),
                           get_bool(a, "single_word", false), get_bool(a, "normalized", false), name))
            return -1;
    }
    if (tok_build_added(t, name)) return -1;

    bos_from_post(t, json_object_get(root, "post_processor"));
    if (cfg) {
        int32_t id;
        if ((id = config_token(t, cfg, "bos_token")) >= 0) t->bos = id;
        if ((id = config_token(t, cfg, "eos_token")) >= 0) t->eos = id;
        if ((id = config_token(t, cfg, "pad_token")) >= 0) t->pad = id;
        const json_t *ab = json_object_get(cfg, "add_bos_token");
        if (json_is_boolean(ab)) t->add_bos = json_is_true(ab);
        t->add_eos = get_bool(cfg, "add_eos_token", false);
    }
    if (t->add_bos && t->bos < 0) t->add_bos = false;
    const char *pre = pretok_identify(&t->pre);
    snprintf(t->pre_name, sizeof t->pre_name, "%s", pre ? pre : "");
    return 0;
}

seek_tokenizer *tok_load_json_text(const char *json, size_t len, const char *config_json, const char *name) {
    json_error_t err;
    json_t *root = json_loadb(json, len, 0, &err);
    if (!root) {
        seek_error("%s: JSON error at line %d: %s", name, err.line, err.text);
        return NULL;
    }
    json_t *cfg = NULL;
    if (config_json) {
        cfg = json_loads(config_json, JSON_DECODE_INT_AS_REAL, &err);   /* model_max_length can be 1e30 */
        if (!cfg) {
            json_decref(root);
            seek_error("%s: tokenizer_config.json: JSON error at line %d: %s", name, err.line, err.text);
            return NULL;
        }
    }
    seek_tokenizer *t = NULL;
    int rc = json_is_object(root) ? load(&t, root, cfg, name) : seek_error("%s: not a JSON object", name);
    json_decref(root);
    json_decref(cfg);
    if (rc) {
        tok_free(t);
        return NULL;
    }
    return t;
}

seek_tokenizer *tok_load_json(const char *path) {
    size_t len;
    char *text = seek_read_file(path, &len);
    if (!text) return NULL;
    /* tokenizer_config.json in the same directory, if there is one */
    const char *slash = strrchr(path, '/');
    size_t dl = slash ? (size_t)(slash - path + 1) : 0;
    char *cpath = seek_malloc(dl + 32);
    char *cfg = NULL;
    if (cpath) {
        memcpy(cpath, path, dl);
        strcpy(cpath + dl, "tokenizer_config.json");
        FILE *f = fopen(cpath, "rb");
        if (f) {
            fclose(f);
            size_t cl;
            cfg = seek_read_file(cpath, &cl);
        }
        free(cpath);
    }
    seek_tokenizer *t = tok_load_json_text(text, len, cfg, path);
    free(text);
    free(cfg);
    return t;
}
