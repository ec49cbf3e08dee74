/* test_tokenizer.c - tokenizers against reference encodings.
 *
 * Data (tests/data/tokenizer/, see README.md there):
 *   <name>.tokenizer.json + <name>.golden.json   Hugging Face `tokenizers` encodings
 *       (deepseek-v3, qwen, llama3). The tokenizer.json files are trimmed to the
 *       vocabulary and merges these texts use (tools: make_data.sh); the expected ids
 *       were produced by the untrimmed tokenizers.
 *   ggml-vocab-<name>.gguf + .inp + .out           llama.cpp's vocabulary test vectors
 *       (deepseek-llm, deepseek-coder, gpt-2 BPE; llama-spm SentencePiece), trimmed the
 *       same way.
 * Every case must match exactly; then decode(encode(text)) == text and the streaming
 * decoder must rebuild the text from chunks that are whole UTF-8 characters.
 *
 *   test_tokenizer --full DIR   runs the same checks on the untrimmed fixtures in DIR
 *                               (../shared/fixtures): not part of `make test`.
 */
#include <jansson.h>

#include "test.h"
#include "tokenizer.h"
#include "util.h"

#define DATA "tests/data/tokenizer/"

static const char *full_dir;   /* --full DIR */

/* ---------------------------------------------------------------- helpers */

static bool utf8_ok(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        int l = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
        if (!l || i + (size_t)l > n) return false;
        for (int k = 1; k < l; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80) return false;
        i += (size_t)l;
    }
    return true;
}

/* Stream-decode ids; every chunk must be whole UTF-8; the result must equal text. */
static bool stream_matches(const seek_tokenizer *t, const int32_t *ids, size_t n, const char *text, size_t len) {
    tok_stream st;
    tok_stream_init(&st, t, true);
    char *acc = malloc(len + 64), chunk[65536 + 16];
    size_t o = 0;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        int k = tok_stream_push(&st, ids[i], chunk, sizeof chunk);
        if (k < 0 || !utf8_ok(chunk, (size_t)k) || o + (size_t)k > len) { ok = false; break; }
        memcpy(acc + o, chunk, (size_t)k);
        o += (size_t)k;
    }
    if (ok) {
        int k = tok_stream_flush(&st, chunk, sizeof chunk);
        ok = k == 0 && o == len && memcmp(acc, text, len) == 0;
    }
    free(acc);
    return ok;
}

/* The stream on the text cut at every byte position k: the first k bytes as single-byte
 * tokens (so characters are torn apart at every offset), the rest encoded normally from
 * the next character boundary. */
static bool stream_every_cut(const seek_tokenizer *t, const char *text, size_t len) {
    int32_t byte_id[256];   /* a non-special token whose piece is that one byte */
    for (int b = 0; b < 256; b++) byte_id[b] = -1;
    for (int32_t c = tok_n_vocab(t) - 1; c >= 0; c--) {
        size_t pl;
        const char *p = tok_piece(t, c, &pl);
        int ty = tok_type(t, c);
        if (pl == 1 && ty != TOK_TYPE_CONTROL && ty != TOK_TYPE_USER_DEFINED) byte_id[(unsigned char)p[0]] = c;
    }
    for (size_t k = 0; k <= len; k++) {
        size_t b = k;
        while (b < len && ((unsigned char)text[b] & 0xC0) == 0x80) b++;
        tok_ids ids = {0};
        bool ok = true;
        for (size_t i = 0; i < b && ok; i++) {
            int32_t id = byte_id[(unsigned char)text[i]];
            ok = id >= 0 && tok_ids_push(&ids, id) == 0;
        }
        ok = ok && tok_encode(t, text + b, len - b, false, &ids) == 0;
        ok = ok && stream_matches(t, ids.v, ids.n, text, len);
        tok_ids_free(&ids);
        if (!ok) {
            printf("  stream mismatch cutting at byte %zu\n", k);
            return false;
        }
    }
    return true;
}

/* Encode, compare, round trip, stream. Returns false (and prints) on the first mismatch. */
static bool check_case(const seek_tokenizer *t, const char *text, size_t len, const int32_t *want, size_t nwant,
                       const char *what, size_t idx) {
    tok_ids ids = {0};
    if (tok_encode(t, text, len, false, &ids)) {
        printf("  %s case %zu: encode failed: %s\n", what, idx, seek_last_error());
        return false;
    }
    bool same = ids.n == nwant && (nwant == 0 || memcmp(ids.v, want, nwant * sizeof *want) == 0);
    if (!same) {
        printf("  %s case %zu \"%.60s\":\n    got ", what, idx, text);
        for (size_t i = 0; i < ids.n && i < 40; i++) printf(" %d", ids.v[i]);
        printf("\n    want");
        for (size_t i = 0; i < nwant && i < 40; i++) printf(" %d", want[i]);
        printf("\n");
        tok_ids_free(&ids);
        return false;
    }
    size_t dl;
    char *dec = tok_decode(t, ids.v, ids.n, true, &dl);
    bool rt = dec && dl == len && memcmp(dec, text, len) == 0;
    free(dec);
    if (!rt) printf("  %s case %zu: decode(encode(text)) != text\n", what, idx);
    bool st = rt && stream_matches(t, ids.v, ids.n, text, len);
    if (rt && !st) printf("  %s case %zu: streaming decode differs\n", what, idx);
    tok_ids_free(&ids);
    return st;
}

/* ---------------------------------------------------------------- HF golden files */

static int run_golden(const char *tokjson, const char *golden, int *n_cases) {
    seek_tokenizer *t = tok_load_json(tokjson);
    if (!t) { printf("  %s\n", seek_last_error()); return -1; }
    json_error_t err;
    json_t *g = json_load_file(golden, 0, &err);
    if (!g) { printf("  %s: %s\n", golden, err.text); tok_free(t); return -1; }
    json_t *cases = json_object_get(g, "cases");
    int bad = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        json_t *c = json_array_get(cases, i);
        const char *text = json_string_value(json_object_get(c, "text"));
        size_t len = json_string_length(json_object_get(c, "text"));
        json_t *ids = json_object_get(c, "ids");
        size_t n = json_array_size(ids);
        int32_t *want = malloc((n + 1) * sizeof *want);
        for (size_t k = 0; k < n; k++) want[k] = (int32_t)json_integer_value(json_array_get(ids, k));
        if (!check_case(t, text, len, want, n, golden, i)) bad++;
        free(want);
    }
    *n_cases = (int)json_array_size(cases);
    json_decref(g);
    tok_free(t);
    return bad;
}

/* ---------------------------------------------------------------- llama.cpp vocab files */

static int run_vocab(const char *gguf_path, int *n_cases) {
    char p[512];
    gguf_file *g = gguf_open(gguf_path);
    if (!g) { printf("  %s\n", seek_last_error()); return -1; }
    seek_tokenizer *t = tok_load_gguf(g);
    gguf_close(g);
    if (!t) { printf("  %s\n", seek_last_error()); return -1; }
    size_t il, ol;
    snprintf(p, sizeof p, "%s.inp", gguf_path);
    char *inp = seek_read_file(p, &il);
    snprintf(p, sizeof p, "%s.out", gguf_path);
    char *out = seek_read_file(p, &ol);
    if (!inp || !out) { printf("  %s\n", seek_last_error()); free(inp); free(out); tok_free(t); return -1; }
    /* texts are separated by "\n__ggml_vocab_test__\n"; .out has one line of ids per text */
    static const char sep[] = "\n__ggml_vocab_test__\n";
    int bad = 0, n = 0;
    char *ip = inp, *op = out;
    while (*ip) {
        char *e = strstr(ip, sep);
        size_t len = e ? (size_t)(e - ip) : strlen(ip);
        char *eol = strchr(op, '\n');
        if (!eol) { printf("  %s: .out has fewer lines than .inp has texts\n", gguf_path); bad++; break; }
        *eol = 0;
        int32_t want[4096];
        size_t nw = 0;
        for (char *q = op; *q && nw < 4096;) {
            char *end;
            long v = strtol(q, &end, 10);
            if (end == q) break;
            want[nw++] = (int32_t)v;
            q = end;
        }
        char *text = seek_strndup(ip, len);
        if (!check_case(t, text, len, want, nw, gguf_path, (size_t)n)) bad++;
        free(text);
        n++;
        op = eol + 1;
        if (!e) break;
        ip = e + sizeof sep - 1;
    }
    *n_cases = n;
    free(inp);
    free(out);
    tok_free(t);
    return bad;
}

/* ---------------------------------------------------------------- tests */

static const char *golden_names[] = {"deepseek-v3", "qwen", "llama3"};
static const char *vocab_names[] = {"deepseek-llm", "deepseek-coder", "gpt-2", "llama-spm"};

TEST(hf_golden) {
    for (size_t i = 0; i < 3; i++) {
        char tj[512], gj[512];
        if (full_dir) {
            snprintf(tj, sizeof tj, "%s/tokenizers/%s/tokenizer.json", full_dir, golden_names[i]);
            snprintf(gj, sizeof gj, "%s/tokenizer-golden/%s.public.json", full_dir, golden_names[i]);
        } else {
            snprintf(tj, sizeof tj, DATA "%s/tokenizer.json", golden_names[i]);
            snprintf(gj, sizeof gj, DATA "%s.golden.json", golden_names[i]);
        }
        int n = 0, bad = run_golden(tj, gj, &n);
        if (full_dir) printf("  %s: %d cases, %d wrong\n", golden_names[i], n, bad);
        CHECK_MSG(bad == 0 && n > 100, "%s: %d of %d cases wrong", golden_names[i], bad, n);
    }
}

TEST(llama_vocab) {
    for (size_t i = 0; i < 4; i++) {
        char p[512];
        if (full_dir) snprintf(p, sizeof p, "%s/llama-vocab/ggml-vocab-%s.gguf", full_dir, vocab_names[i]);
        else snprintf(p, sizeof p, DATA "ggml-vocab-%s.gguf", vocab_names[i]);
        int n = 0, bad = run_vocab(p, &n);
        if (full_dir) printf("  %s: %d cases, %d wrong\n", vocab_names[i], n, bad);
        CHECK_MSG(bad == 0 && n > 30, "%s: %d of %d cases wrong", vocab_names[i], bad, n);
    }
}

/* Characters of 1-4 bytes torn at every offset come out whole, in order. */
TEST(stream_cuts) {
    static const char text[] = "Grok-3釋出 🦙🚀👍🏽 naïve ΕΛ ру\xC2\xA0x 中文 123";
    char p[512];
    if (full_dir) snprintf(p, sizeof p, "%s/tokenizers/deepseek-v3/tokenizer.json", full_dir);
    else snprintf(p, sizeof p, DATA "deepseek-v3/tokenizer.json");
    seek_tokenizer *t = tok_load_json(p);
    CHECK_MSG(t, "%s", seek_last_error());
    bool ok = stream_every_cut(t, text, sizeof text - 1);
    /* a torn character at the very end is held back, then released by flush */
    tok_stream st;
    tok_stream_init(&st, t, false);
    char out[64];
    int32_t e4 = -1;
    for (int32_t c = 0; c < tok_n_vocab(t) && e4 < 0; c++) {
        size_t pl;
        const char *s = tok_piece(t, c, &pl);
        if (pl == 1 && (unsigned char)s[0] == 0xE4) e4 = c;
    }
    int n1 = tok_stream_push(&st, e4, out, sizeof out);
    int n2 = tok_stream_flush(&st, out, sizeof out);
    tok_free(t);
    CHECK(ok);
    CHECK(e4 >= 0 && n1 == 0 && n2 == 1 && (unsigned char)out[0] == 0xE4);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "--full")) full_dir = argv[2];
    RUN(hf_golden);
    RUN(llama_vocab);
    RUN(stream_cuts);
    return test_summary();
}
