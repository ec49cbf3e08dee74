/* trim_tokenizer.c - make the small test vocabularies in tests/data/tokenizer/.
 *
 * The real tokenizers are 1-11 MB each; the tests need only the tokens and merges
 * that their texts use. Removing a merge that is never applied while encoding a
 * text cannot change that text's encoding (at every step the chosen merge was a
 * kept one), so we keep: the final tokens of every test text, every merge that
 * builds a kept token (closed under "its two parts are kept too"), the 256 byte
 * tokens, and all added/special tokens. The expected ids in the test files still
 * come from the reference tokenizers; the tests pass only if the trimmed and the
 * full vocabularies tokenize alike (checked here: every text is encoded with the
 * full vocabulary and must give the reference ids).
 *
 *   trim_tokenizer json FULL.json GOLDEN.json OUT.json
 *       keeps ids (tokenizer.json names them explicitly)
 *   trim_tokenizer gguf FULL.gguf FULL.inp FULL.out OUT.gguf OUT.out
 *       renumbers the kept tokens 0..k-1 in their old order (GGUF arrays are
 *       indexed by id) and writes the reference ids renumbered the same way.
 * Built and run by tests/data/tokenizer/make_data.sh; not part of `make test`.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "tokenizer_impl.h"
#include "util.h"

static void die(const char *what) {
    fprintf(stderr, "trim_tokenizer: %s\n", what);
    exit(1);
}

/* Close `keep` under "a merge's output is kept -> its two inputs are kept" (BPE) or
 * "a kept token splits into two tokens -> both are kept" (SPM). */
static void close_keep(const seek_tokenizer *t, bool *keep) {
    for (bool changed = true; changed;) {
        changed = false;
        if (t->kind == TOK_KIND_BPE) {
            for (uint32_t r = 0; r < t->n_merges; r++) {
                if (!keep[t->merge_out[r]]) continue;
                if (!keep[t->merge_a[r]] || !keep[t->merge_b[r]]) {
                    keep[t->merge_a[r]] = keep[t->merge_b[r]] = true;
                    changed = true;
                }
            }
        } else {
            for (int32_t id = 0; id < t->n_vocab; id++) {
                if (!keep[id]) continue;
                const tok_entry *e = &t->vocab[id];
                for (uint32_t k = 1; k < e->text_len; k++) {
                    int32_t a = tok_map_find(t, &t->by_text, e->text, k);
                    int32_t b = tok_map_find(t, &t->by_text, e->text + k, e->text_len - k);
                    if (a >= 0 && b >= 0 && (!keep[a] || !keep[b])) {
                        keep[a] = keep[b] = true;
                        changed = true;
                    }
                }
            }
        }
    }
}

static void keep_always(const seek_tokenizer *t, bool *keep) {
    for (int b = 0; b < 256; b++)
        if (t->byte_tok[b] >= 0) keep[t->byte_tok[b]] = true;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        int ty = t->vocab[i].type;
        if (ty == TOK_TYPE_CONTROL || ty == TOK_TYPE_USER_DEFINED || ty == TOK_TYPE_UNKNOWN || ty == TOK_TYPE_BYTE)
            keep[i] = true;
    }
    if (t->bos >= 0) keep[t->bos] = true;
    if (t->eos >= 0) keep[t->eos] = true;
    if (t->pad >= 0) keep[t->pad] = true;
    if (t->unk >= 0) keep[t->unk] = true;
}

/* Encode text, check the ids against want, mark them kept. */
static void use_text(const seek_tokenizer *t, const char *text, size_t len, const int32_t *want, size_t nw,
                     bool *keep) {
    tok_ids ids = {0};
    if (tok_encode(t, text, len, false, &ids)) die(seek_last_error());
    if (ids.n != nw || memcmp(ids.v, want, nw * sizeof *want) != 0)
        die("the full vocabulary does not reproduce the reference ids: fix the tokenizer first");
    for (size_t i = 0; i < ids.n; i++) keep[ids.v[i]] = true;
    tok_ids_free(&ids);
}

static int trim_json(const char *in, const char *golden, const char *out) {
    seek_tokenizer *t = tok_load_json(in);
    if (!t) die(seek_last_error());
    bool *keep = calloc((size_t)t->n_vocab, 1);
    json_error_t err;
    json_t *g = json_load_file(golden, 0, &err);
    if (!g) die(err.text);
    json_t *cases = json_object_get(g, "cases");
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i), *ids = json_object_get(c, "ids");
        size_t n = json_array_size(ids);
        int32_t *want = malloc((n + 1) * sizeof *want);
        for (size_t k = 0; k < n; k++) want[k] = (int32_t)json_integer_value(json_array_get(ids, k));
        use_text(t, json_string_value(json_object_get(c, "text")), json_string_length(json_object_get(c, "text")),
                 want, n, keep);
        free(want);
    }
    keep_always(t, keep);
    close_keep(t, keep);

    json_t *root = json_load_file(in, 0, &err);
    if (!root) die(err.text);
    json_t *model = json_object_get(root, "model");
    json_t *vocab = json_object_get(model, "vocab"), *nv = json_object();
    const char *key;
    json_t *val;
    json_object_foreach(vocab, key, val) {
        if (keep[json_integer_value(val)]) json_object_set(nv, key, val);
    }
    json_object_set_new(model, "vocab", nv);
    json_t *nm = json_array();
    for (uint32_t r = 0; r < t->n_merges; r++) {
        if (!keep[t->merge_out[r]] || !keep[t->merge_a[r]] || !keep[t->merge_b[r]]) continue;
        char buf[1024];
        snprintf(buf, sizeof buf, "%s %s", t->vocab[t->merge_a[r]].text, t->vocab[t->merge_b[r]].text);
        json_array_append_new(nm, json_string(buf));
    }
    json_object_set_new(model, "merges", nm);
    if (json_dump_file(root, out, JSON_INDENT(1) | JSON_PRESERVE_ORDER)) die("cannot write output");
    json_decref(root);
    json_decref(g);
    free(keep);
    tok_free(t);
    return 0;
}

static int trim_gguf(const char *in, const char *inp, const char *outp_ref, const char *out, const char *out_ref) {
    gguf_file *g = gguf_open(in);
    if (!g) die(seek_last_error());
    seek_tokenizer *t = tok_load_gguf(g);
    if (!t) die(seek_last_error());
    bool *keep = calloc((size_t)t->n_vocab, 1);
    size_t il, ol;
    char *itext = seek_read_file(inp, &il), *otext = seek_read_file(outp_ref, &ol);
    if (!itext || !otext) die(seek_last_error());
    static const char sep[] = "\n__ggml_vocab_test__\n";
    /* pass 1: check + mark; the .out lines are kept for renumbering */
    char *ip = itext, *op = otext;
    char **lines = NULL;
    size_t nlines = 0;
    while (*ip) {
        char *e = strstr(ip, sep);
        size_t len = e ? (size_t)(e - ip) : strlen(ip);
        char *eol = strchr(op, '\n');
        if (!eol) die(".out too short");
        *eol = 0;
        int32_t want[4096];
        size_t nw = 0;
        for (char *q = op; *q;) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q) break;
            want[nw++] = (int32_t)v;
            q = end;
        }
        use_text(t, ip, len, want, nw, keep);
        lines = realloc(lines, (nlines + 1) * sizeof *lines);
        lines[nlines++] = op;
        op = eol + 1;
        if (!e) break;
        ip = e + sizeof sep - 1;
    }
    keep_always(t, keep);
    close_keep(t, keep);
    int32_t *newid = malloc((size_t)t->n_vocab * sizeof *newid), k = 0;
    for (int32_t i = 0; i < t->n_vocab; i++) newid[i] = keep[i] ? k++ : -1;

    gguf_writer *w = gguf_writer_new();
    for (uint64_t i = 0; i < g->n_kv; i++) {
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)g->kv[i].key.len, g->kv[i].key.ptr);
        if (!strncmp(key, "tokenizer.", 10)) continue;
        if (gguf_set_value(w, key, &g->kv[i].value)) die(seek_last_error());
    }
    const char **strs = malloc((size_t)k * sizeof *strs);
    int32_t *types = malloc((size_t)k * sizeof *types);
    float *scores = malloc((size_t)k * sizeof *scores);
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (newid[i] < 0) continue;
        strs[newid[i]] = t->vocab[i].text;
        types[newid[i]] = t->vocab[i].type;
        scores[newid[i]] = t->vocab[i].score;
    }
    gguf_set_str(w, "tokenizer.ggml.model", tok_model_name(t));
    gguf_set_str(w, "tokenizer.ggml.pre", t->pre_name);
    gguf_set_arr_str(w, "tokenizer.ggml.tokens", strs, (uint64_t)k);
    gguf_set_arr_data(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, (uint64_t)k);
    if (t->kind == TOK_KIND_SPM) {
        gguf_set_arr_data(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, (uint64_t)k);
    } else {
        char **ms = malloc((t->n_merges + 1) * sizeof *ms);
        uint32_t nm = 0;
        for (uint32_t r = 0; r < t->n_merges; r++) {
            if (!keep[t->merge_out[r]] || !keep[t->merge_a[r]] || !keep[t->merge_b[r]]) continue;
            ms[nm] = malloc(t->vocab[t->merge_a[r]].text_len + t->vocab[t->merge_b[r]].text_len + 2);
            sprintf(ms[nm], "%s %s", t->vocab[t->merge_a[r]].text, t->vocab[t->merge_b[r]].text);
            nm++;
        }
        gguf_set_arr_str(w, "tokenizer.ggml.merges", (const char *const *)ms, nm);
        for (uint32_t r = 0; r < nm; r++) free(ms[r]);
        free(ms);
    }
    if (t->bos >= 0) gguf_set_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)newid[t->bos]);
    if (t->eos >= 0) gguf_set_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)newid[t->eos]);
    if (t->pad >= 0) gguf_set_u32(w, "tokenizer.ggml.padding_token_id", (uint32_t)newid[t->pad]);
    if (t->unk >= 0) gguf_set_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)newid[t->unk]);
    gguf_set_bool(w, "tokenizer.ggml.add_bos_token", t->add_bos);
    if (gguf_write(w, out)) die(seek_last_error());
    gguf_writer_free(w);

    FILE *f = fopen(out_ref, "w");
    if (!f) die("cannot write .out");
    for (size_t l = 0; l < nlines; l++) {
        int first = 1;
        for (char *q = lines[l]; *q;) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q) break;
            fprintf(f, first ? "%d" : " %d", newid[v]);
            first = 0;
            q = end;
        }
        fputc('\n', f);
    }
    fclose(f);
    printf("%s: %d of %d tokens kept\n", out, k, t->n_vocab);
    free(strs); free(types); free(scores); free(newid); free(keep); free(lines);
    free(itext); free(otext);
    tok_free(t);
    gguf_close(g);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && !strcmp(argv[1], "json")) return trim_json(argv[2], argv[3], argv[4]);
    if (argc == 7 && !strcmp(argv[1], "gguf")) return trim_gguf(argv[2], argv[3], argv[4], argv[5], argv[6]);
    fprintf(stderr, "usage: trim_tokenizer json FULL.json GOLDEN.json OUT.json\n"
                    "       trim_tokenizer gguf FULL.gguf FULL.inp FULL.out OUT.gguf OUT.out\n");
    return 2;
}
