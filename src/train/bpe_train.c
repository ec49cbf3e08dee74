/* bpe_train.c - train a byte-level BPE tokenizer and write it as a Hugging Face tokenizer.json
 * (+ tokenizer_config.json) that seek's tokenizer and HF's `tokenizers` load alike.
 *
 * Text is cut at the added tokens (never learned), pre-tokenized with DeepSeek-V3's regex
 * sequence (digits in runs of up to 3, CJK runs, words and punctuation), and the pieces are
 * counted. Starting from the 256 byte symbols, the most frequent adjacent pair (ties: the
 * smaller pair of ids) is merged, again and again, until the vocabulary is full or no pair
 * occurs twice. Merge ranks are the order of creation, which is how a BPE model applies them.
 * Pieces made only of ASCII digits are not merged unless merge_digits: digits stay single
 * tokens, which keeps digit-by-digit arithmetic learnable for small models.
 *
 * Vocabulary ids: added tokens first (0 = BOS, 1 = EOS, ...), then the 256 bytes in byte
 * order (GPT-2's byte-to-character map), then the merges.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"
#include "train/bpe_train.h"
#include "util.h"

/* DeepSeek-V3's pre_tokenizer, as its tokenizer.json states it */
static const char *PRE_RE[3] = {
    "\\p{N}{1,3}",
    "[\xe4\xb8\x80-\xe9\xbe\xa5\xe3\x81\x80-\xe3\x82\x9f\xe3\x82\xa0-\xe3\x83\xbf]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
};

typedef struct {
    int *sym;        /* symbols of the word */
    int n;
    int64_t count;
} word;

typedef struct {
    word *w;
    size_t n, cap;
    /* piece -> word index */
    int64_t *slot;   /* -1 empty */
    size_t mask;
    char **key;      /* bytes of word i (for the hash), owned */
    uint32_t *klen;
} wordset;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
    return h;
}

static int ws_grow(wordset *ws) {
    size_t cap = ws->mask ? (ws->mask + 1) * 2 : 4096;
    int64_t *sl = seek_malloc(sizeof(int64_t) * cap);
    if (!sl) return -1;
    for (size_t i = 0; i < cap; i++) sl[i] = -1;
    for (size_t i = 0; i < ws->n; i++) {
        size_t h = hash_bytes(ws->key[i], ws->klen[i]) & (cap - 1);
        while (sl[h] >= 0) h = (h + 1) & (cap - 1);
        sl[h] = (int64_t)i;
    }
    free(ws->slot);
    ws->slot = sl;
    ws->mask = cap - 1;
    return 0;
}

static int ws_add(wordset *ws, const char *s, size_t n) {
    if ((ws->n + 1) * 2 > ws->mask + 1 && ws_grow(ws)) return -1;
    size_t h = hash_bytes(s, n) & ws->mask;
    while (ws->slot[h] >= 0) {
        size_t i = (size_t)ws->slot[h];
        if (ws->klen[i] == n && !memcmp(ws->key[i], s, n)) { ws->w[i].count++; return 0; }
        h = (h + 1) & ws->mask;
    }
    if (ws->n == ws->cap) {
        size_t nc = ws->cap ? ws->cap * 2 : 1024;
        word *w = seek_realloc(ws->w, sizeof *w * nc);
        if (!w) return -1;
        ws->w = w;
        char **k = seek_realloc(ws->key, sizeof *k * nc);
        if (!k) return -1;
        ws->key = k;
        uint32_t *kl = seek_realloc(ws->klen, sizeof *kl * nc);
        if (!kl) return -1;
        ws->klen = kl;
        ws->cap = nc;
    }
    size_t i = ws->n++;
    ws->key[i] = seek_strndup(s, n);
    ws->klen[i] = (uint32_t)n;
    ws->w[i].sym = seek_malloc(sizeof(int) * (n ? n : 1));
    if (!ws->key[i] || !ws->w[i].sym) return -1;
    for (size_t k = 0; k < n; k++) ws->w[i].sym[k] = (uint8_t)s[k];
    ws->w[i].n = (int)n;
    ws->w[i].count = 1;
    ws->slot[h] = (int64_t)i;
    return 0;
}

static void ws_free(wordset *ws) {
    for (size_t i = 0; i < ws->n; i++) { free(ws->w[i].sym); free(ws->key[i]); }
    free(ws->w); free(ws->key); free(ws->klen); free(ws->slot);
}

/* the byte-level string of a byte sequence (GPT-2 alphabet), appended to a heap buffer */
static char *bytes_to_text(const char *b, size_t n) {
    char *out = seek_malloc(n * 2 + 1);
    if (!out) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = tok_byte_to_cp((uint8_t)b[i]);
        if (cp < 0x80) out[k++] = (char)cp;
        else { out[k++] = (char)(0xC0 | (cp >> 6)); out[k++] = (char)(0x80 | (cp & 0x3F)); }
    }
    out[k] = 0;
    return out;
}

/* ------------------------------------------------------------------------------------ */

typedef struct { uint64_t key; int64_t count; } pairc;

int bpe_train(const bpe_train_opts *o, const char *text, size_t len, const char *out_json) {
    const int n_added = o->n_added;
    if (o->vocab < n_added + 256) return seek_error("tokenizer-train: --vocab must be at least %d (256 bytes + %d added tokens)", n_added + 256, n_added);
    tok_pretok pre = {0};
    wordset ws = {0};
    tok_spans sp = {0}, tmp = {0};
    char **sym_bytes = NULL;
    uint32_t *sym_len = NULL;
    int *merge_a = NULL, *merge_b = NULL;
    pairc *pt = NULL;
    json_t *root = NULL, *cfg = NULL;
    int rc = -1, n_sym = 256, n_merges = 0;
    const int max_merges = o->vocab - n_added - 256;
    for (int i = 0; i < 3; i++)
        if (pretok_add(&pre, PRE_RE[i], SPLIT_ISOLATED, false, "tokenizer-train")) goto out;

    /* 1. pieces between added tokens, pre-tokenized and counted */
    for (size_t at = 0; at < len;) {
        size_t end = len, skip = 0;
        for (int a = 0; a < n_added; a++) {
            const char *f = memmem(text + at, len - at, o->added[a], strlen(o->added[a]));
            if (f && (size_t)(f - text) < end) { end = (size_t)(f - text); skip = strlen(o->added[a]); }
        }
        if (end > at) {
            if (pretok_run(&pre, text + at, end - at, &sp, &tmp)) goto out;
            for (size_t i = 0; i < sp.n; i++)
                if (ws_add(&ws, text + at + sp.v[i].off, sp.v[i].len)) goto out;
        }
        at = end + skip;
    }

    /* 2. merges */
    sym_bytes = seek_calloc((size_t)(256 + max_merges), sizeof *sym_bytes);
    sym_len = seek_calloc((size_t)(256 + max_merges), sizeof *sym_len);
    merge_a = seek_malloc(sizeof(int) * (size_t)(max_merges + 1));
    merge_b = seek_malloc(sizeof(int) * (size_t)(max_merges + 1));
    if (!sym_bytes || !sym_len || !merge_a || !merge_b) goto out;
    for (int b = 0; b < 256; b++) {
        if (!(sym_bytes[b] = seek_malloc(1))) goto out;
        sym_bytes[b][0] = (char)b;
        sym_len[b] = 1;
    }
    size_t pmask = 0;
    while (n_merges < max_merges) {
        /* count adjacent pairs over the words (weighted by frequency) */
        size_t need = 1024;
        size_t total = 0;
        for (size_t i = 0; i < ws.n; i++) total += (size_t)ws.w[i].n;
        while (need < total * 2) need *= 2;
        if (need - 1 != pmask) {
            free(pt);
            if (!(pt = seek_malloc(sizeof *pt * need))) goto out;
            pmask = need - 1;
        }
        for (size_t i = 0; i <= pmask; i++) pt[i].count = 0;
        int64_t best = 1;
        uint64_t best_key = 0;
        for (size_t i = 0; i < ws.n; i++) {
            const word *w = &ws.w[i];
            if (!o->merge_digits) {
                bool digits = true;
                for (uint32_t k = 0; k < ws.klen[i] && digits; k++) digits = ws.key[i][k] >= '0' && ws.key[i][k] <= '9';
                if (digits) continue;
            }
            for (int k = 0; k + 1 < w->n; k++) {
                uint64_t key = (uint64_t)w->sym[k] << 32 | (uint32_t)w->sym[k + 1];
                size_t h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 20) & pmask;
                while (pt[h].count && pt[h].key != key) h = (h + 1) & pmask;
                pt[h].key = key;
                pt[h].count += w->count;
                if (pt[h].count > best || (pt[h].count == best && best > 1 && key < best_key)) {
                    best = pt[h].count;
                    best_key = key;
                }
            }
        }
        if (best < 2) break;
        const int a = (int)(best_key >> 32), b = (int)(uint32_t)best_key, ns = n_sym++;
        merge_a[n_merges] = a;
        merge_b[n_merges] = b;
        n_merges++;
        sym_len[ns] = sym_len[a] + sym_len[b];
        if (!(sym_bytes[ns] = seek_malloc(sym_len[ns]))) goto out;
        memcpy(sym_bytes[ns], sym_bytes[a], sym_len[a]);
        memcpy(sym_bytes[ns] + sym_len[a], sym_bytes[b], sym_len[b]);
        for (size_t i = 0; i < ws.n; i++) {   /* apply left to right, non-overlapping */
            word *w = &ws.w[i];
            int k = 0, j = 0;
            while (k < w->n) {
                if (k + 1 < w->n && w->sym[k] == a && w->sym[k + 1] == b) { w->sym[j++] = ns; k += 2; }
                else w->sym[j++] = w->sym[k++];
            }
            w->n = j;
        }
    }

    /* 3. tokenizer.json */
    root = json_object();
    json_t *added = json_array(), *vocab = json_object(), *merges = json_array();
    json_object_set_new(root, "version", json_string("1.0"));
    json_object_set_new(root, "truncation", json_null());
    json_object_set_new(root, "padding", json_null());
    for (int a = 0; a < n_added; a++) {
        json_t *t = json_object();
        json_object_set_new(t, "id", json_integer(a));
        json_object_set_new(t, "content", json_string(o->added[a]));
        json_object_set_new(t, "single_word", json_false());
        json_object_set_new(t, "lstrip", json_false());
        json_object_set_new(t, "rstrip", json_false());
        json_object_set_new(t, "normalized", json_false());
        json_object_set_new(t, "special", json_boolean(o->added_special[a]));
        json_array_append_new(added, t);
        json_object_set_new(vocab, o->added[a], json_integer(a));
    }
    json_object_set_new(root, "added_tokens", added);
    json_object_set_new(root, "normalizer", json_null());
    json_t *pt_seq = json_array();
    for (int i = 0; i < 3; i++) {
        json_t *s = json_object(), *pat = json_object();
        json_object_set_new(s, "type", json_string("Split"));
        json_object_set_new(pat, "Regex", json_string(PRE_RE[i]));
        json_object_set_new(s, "pattern", pat);
        json_object_set_new(s, "behavior", json_string("Isolated"));
        json_object_set_new(s, "invert", json_false());
        json_array_append_new(pt_seq, s);
    }
    json_t *bl = json_object();
    json_object_set_new(bl, "type", json_string("ByteLevel"));
    json_object_set_new(bl, "add_prefix_space", json_false());
    json_object_set_new(bl, "trim_offsets", json_true());
    json_object_set_new(bl, "use_regex", json_false());
    json_array_append_new(pt_seq, bl);
    json_t *pret = json_object();
    json_object_set_new(pret, "type", json_string("Sequence"));
    json_object_set_new(pret, "pretokenizers", pt_seq);
    json_object_set_new(root, "pre_tokenizer", pret);
    json_t *post = json_object();
    json_object_set_new(post, "type", json_string("ByteLevel"));
    json_object_set_new(post, "add_prefix_space", json_true());
    json_object_set_new(post, "trim_offsets", json_false());
    json_object_set_new(post, "use_regex", json_true());
    json_object_set_new(root, "post_processor", post);
    json_t *dec = json_object();
    json_object_set_new(dec, "type", json_string("ByteLevel"));
    json_object_set_new(dec, "add_prefix_space", json_true());
    json_object_set_new(dec, "trim_offsets", json_true());
    json_object_set_new(dec, "use_regex", json_true());
    json_object_set_new(root, "decoder", dec);
    for (int s = 0; s < n_sym; s++) {
        char *t = bytes_to_text(sym_bytes[s], sym_len[s]);
        if (!t) goto out;
        json_object_set_new(vocab, t, json_integer(n_added + s));
        free(t);
    }
    for (int r = 0; r < n_merges; r++) {
        char *ta = bytes_to_text(sym_bytes[merge_a[r]], sym_len[merge_a[r]]);
        char *tb = bytes_to_text(sym_bytes[merge_b[r]], sym_len[merge_b[r]]);
        if (!ta || !tb) { free(ta); free(tb); goto out; }
        size_t n = strlen(ta) + strlen(tb) + 2;
        char *m = seek_malloc(n);
        if (!m) { free(ta); free(tb); goto out; }
        snprintf(m, n, "%s %s", ta, tb);
        json_array_append_new(merges, json_string(m));
        free(m); free(ta); free(tb);
    }
    json_t *model = json_object();
    json_object_set_new(model, "type", json_string("BPE"));
    json_object_set_new(model, "dropout", json_null());
    json_object_set_new(model, "unk_token", json_null());
    json_object_set_new(model, "continuing_subword_prefix", json_null());
    json_object_set_new(model, "end_of_word_suffix", json_null());
    json_object_set_new(model, "fuse_unk", json_false());
    json_object_set_new(model, "byte_fallback", json_false());
    json_object_set_new(model, "vocab", vocab);
    json_object_set_new(model, "merges", merges);
    json_object_set_new(root, "model", model);
    char path[4200];
    snprintf(path, sizeof path, "%s", out_json);
    if (json_dump_file(root, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) { seek_error("%s: cannot write", path); goto out; }

    /* tokenizer_config.json: BOS/EOS and the chat template */
    cfg = json_object();
    json_object_set_new(cfg, "add_bos_token", json_true());
    json_object_set_new(cfg, "add_eos_token", json_false());
    if (n_added > 0) json_object_set_new(cfg, "bos_token", json_string(o->added[0]));
    if (n_added > 1) {
        json_object_set_new(cfg, "eos_token", json_string(o->added[1]));
        json_object_set_new(cfg, "pad_token", json_string(o->added[1]));
    }
    if (o->chat_template) json_object_set_new(cfg, "chat_template", json_string(o->chat_template));
    const char *sl = strrchr(out_json, '/');
    if (sl) snprintf(path, sizeof path, "%.*s/tokenizer_config.json", (int)(sl - out_json), out_json);
    else snprintf(path, sizeof path, "tokenizer_config.json");
    if (json_dump_file(cfg, path, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) { seek_error("%s: cannot write", path); goto out; }
    if (o->stats) {
        o->stats[0] = n_added + n_sym;
        o->stats[1] = n_merges;
        o->stats[2] = (int)ws.n;
    }
    rc = 0;
out:
    json_decref(root);
    json_decref(cfg);
    if (sym_bytes)
        for (int s = 0; s < n_sym; s++) free(sym_bytes[s]);
    free(sym_bytes); free(sym_len); free(merge_a); free(merge_b); free(pt);
    free(sp.v); free(tmp.v);
    ws_free(&ws);
    pretok_free(&pre);
    return rc;
}
