/* test_tokenizer_misc.c - tokenizer pieces other than the golden encodings:
 * Split behaviours, malformed tokenizer.json / GGUF vocabularies (clear errors, no
 * crash), GGUF metadata written and read back, special tokens shown or hidden. */
#include <stdarg.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"
#include "test.h"
#include "tokenizer_impl.h"
#include "util.h"

#define DATA "tests/data/tokenizer/"

/* ---------------------------------------------------------------- Split behaviours */

/* The example of Hugging Face's Split documentation: "the-final--countdown" split on "-". */
static int split_words(int behavior, char out[][16], int max) {
    tok_pretok p = {0};
    tok_spans a = {0}, b = {0};
    const char *text = "the-final--countdown";
    int n = -1;
    if (pretok_add(&p, "-", behavior, false, "test") == 0 && pretok_run(&p, text, strlen(text), &a, &b) == 0) {
        n = 0;
        for (size_t i = 0; i < a.n && n < max; i++, n++)
            snprintf(out[n], 16, "%.*s", (int)a.v[i].len, text + a.v[i].off);
    }
    pretok_free(&p);
    free(a.v);
    free(b.v);
    return n;
}

static bool words_are(char w[][16], int n, const char *const *want, int nwant) {
    if (n != nwant) return false;
    for (int i = 0; i < n; i++)
        if (strcmp(w[i], want[i])) return false;
    return true;
}

TEST(split_behaviours) {
    char w[16][16];
    int n;
    static const char *rem[] = {"the", "final", "countdown"};
    static const char *iso[] = {"the", "-", "final", "-", "-", "countdown"};
    static const char *prev[] = {"the-", "final-", "-", "countdown"};
    static const char *next[] = {"the", "-final", "-", "-countdown"};
    static const char *cont[] = {"the", "-", "final", "--", "countdown"};
    n = split_words(SPLIT_REMOVED, w, 16);
    CHECK(words_are(w, n, rem, 3));
    n = split_words(SPLIT_ISOLATED, w, 16);
    CHECK(words_are(w, n, iso, 6));
    n = split_words(SPLIT_MERGED_PREV, w, 16);
    CHECK(words_are(w, n, prev, 4));
    n = split_words(SPLIT_MERGED_NEXT, w, 16);
    CHECK(words_are(w, n, next, 4));
    n = split_words(SPLIT_CONTIGUOUS, w, 16);
    CHECK(words_are(w, n, cont, 5));
}

/* ---------------------------------------------------------------- malformed tokenizer.json */

static void expect_json_error(const char *json, const char *want, int *ok) {
    seek_tokenizer *t = tok_load_json_text(json, strlen(json), NULL, "bad.json");
    if (t) { printf("  loaded: %s\n", json); tok_free(t); *ok = 0; return; }
    if (!strstr(seek_last_error(), want) || strncmp(seek_last_error(), "bad.json: ", 10) != 0) {
        printf("  error '%s' lacks '%s'\n", seek_last_error(), want);
        *ok = 0;
    }
}

#define PRE "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"
TEST(malformed_json) {
    int ok = 1;
    /* a small valid one first: "ab" merges to one token */
    const char *good = "{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2},\"merges\":[\"a b\"]}}";
    seek_tokenizer *t = tok_load_json_text(good, strlen(good), NULL, "good.json");
    CHECK_MSG(t, "%s", seek_last_error());
    tok_ids ids = {0};
    CHECK(tok_encode(t, "abba", 4, false, &ids) == 0);
    CHECK(ids.n == 3 && ids.v[0] == 2 && ids.v[1] == 1 && ids.v[2] == 0);
    CHECK(tok_encode(t, "a\xFF", 2, false, &ids) == -1 && strstr(seek_last_error(), "UTF-8"));
    tok_ids_free(&ids);
    tok_free(t);

    expect_json_error("{\"model\": ", "JSON error", &ok);
    expect_json_error("[]", "not a JSON object", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0}}}", "no 'merges'", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"merges\":[]}}", "no 'vocab'", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", "out of range", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":99999999999},\"merges\":[]}}", "out of range", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":\"x\"},\"merges\":[]}}", "no integer id", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a c\"]}}", "not in the vocabulary", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a b\"]}}", "makes a token not in", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[\"ab\"]}}", "not 'A B'", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[7]}}", "neither", &ok);
    expect_json_error("{" PRE "\"added_tokens\":[{\"id\":1e9,\"content\":\"x\"}],\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
                      "lacks an integer 'id'", &ok);
    expect_json_error("{" PRE "\"added_tokens\":[{\"id\":100000000,\"content\":\"x\"}],\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
                      "out of range", &ok);
    expect_json_error("{" PRE "\"model\":{\"type\":\"WordPiece\",\"vocab\":{}}}", "not supported", &ok);
    expect_json_error("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", "not a byte-level", &ok);
    expect_json_error("{\"pre_tokenizer\":{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(\"},\"behavior\":\"Isolated\"},"
                      "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}", "regex", &ok);
    expect_json_error("{\"normalizer\":{\"type\":\"Lowercase\"}," PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]}}",
                      "normalizer 'Lowercase'", &ok);
    CHECK(ok);
}

/* ---------------------------------------------------------------- malformed GGUF vocabularies */

static char tmp_path[64];

/* Write w to a temporary file, open it, load the tokenizer. */
static seek_tokenizer *load_written(gguf_writer *w) {
    strcpy(tmp_path, "/tmp/seek-tok-XXXXXX");
    int fd = mkstemp(tmp_path);
    if (fd >= 0) close(fd);
    seek_tokenizer *t = NULL;
    if (fd >= 0 && gguf_write(w, tmp_path) == 0) {
        gguf_file *g = gguf_open(tmp_path);
        if (g) {
            t = tok_load_gguf(g);
            gguf_close(g);
        }
    }
    gguf_writer_free(w);
    unlink(tmp_path);
    return t;
}

/* A tiny gpt2 vocabulary; `defect` selects what is wrong with it. */
static gguf_writer *tiny_vocab(int defect) {
    static const char *toks[] = {"a", "b", "ab", "<s>"};
    static const char *merges[] = {"a b"};
    static const char *bad_merges[] = {"ab"};
    int32_t types[] = {1, 1, 1, 3};
    int32_t bad_types[] = {1, 1, 1, 9};
    gguf_writer *w = gguf_writer_new();
    gguf_set_str(w, "tokenizer.ggml.model", defect == 1 ? "bert" : "gpt2");
    gguf_set_str(w, "tokenizer.ggml.pre", defect == 2 ? "no-such-pre" : "gpt-2");
    if (defect != 3) gguf_set_arr_str(w, "tokenizer.ggml.tokens", toks, 4);
    gguf_set_arr_data(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, defect == 4 ? bad_types : types, defect == 5 ? 3 : 4);
    if (defect != 6) gguf_set_arr_str(w, "tokenizer.ggml.merges", defect == 7 ? bad_merges : merges, 1);
    gguf_set_u32(w, "tokenizer.ggml.bos_token_id", defect == 8 ? 4 : 3);
    if (defect == 9) gguf_set_str(w, "tokenizer.ggml.eos_token_id", "x");
    return w;
}

TEST(malformed_gguf) {
    seek_tokenizer *t = load_written(tiny_vocab(0));
    CHECK_MSG(t, "%s", seek_last_error());
    tok_ids ids = {0};
    CHECK(tok_encode(t, "ab<s>a", 6, false, &ids) == 0);
    CHECK(ids.n == 3 && ids.v[0] == 2 && ids.v[1] == 3 && ids.v[2] == 0);
    tok_ids_free(&ids);
    tok_free(t);
    static const char *want[] = {NULL, "'bert' is not supported", "unknown pre-tokenizer 'no-such-pre'",
                                 "tokens missing", "not a token type", "integer array of 4",
                                 "merges missing", "is not 'A B'", "out of range", "not a token id"};
    for (int d = 1; d <= 9; d++) {
        t = load_written(tiny_vocab(d));
        CHECK_MSG(!t, "defect %d loaded", d);
        CHECK_MSG(strstr(seek_last_error(), want[d]) && strstr(seek_last_error(), "/tmp/seek-tok-"),
                  "defect %d: '%s' lacks '%s'", d, seek_last_error(), want[d]);
    }
}

/* ---------------------------------------------------------------- writing GGUF metadata */

static bool same_encoding(const seek_tokenizer *a, const seek_tokenizer *b, const char *text) {
    tok_ids x = {0}, y = {0};
    bool ok = tok_encode(a, text, strlen(text), true, &x) == 0 && tok_encode(b, text, strlen(text), true, &y) == 0 &&
              x.n == y.n && x.n > 0 && memcmp(x.v, y.v, x.n * sizeof *x.v) == 0;
    tok_ids_free(&x);
    tok_ids_free(&y);
    return ok;
}

TEST(gguf_round_trip) {
    static const char *texts[] = {"Hello, world!\n\nHow are you?", "<｜User｜>hi<｜Assistant｜><think>\nx</think>",
                                  "numbers 1234567890 3.14159", "中文测试：深度求索的大模型。", " this is 🦙.cpp"};
    static const char *srcs[] = {DATA "deepseek-v3/tokenizer.json", DATA "qwen/tokenizer.json",
                                 DATA "llama3/tokenizer.json", DATA "ggml-vocab-llama-spm.gguf"};
    static const char *pre[] = {"deepseek-v3", "qwen2", "llama-bpe", "default"};
    for (int s = 0; s < 4; s++) {
        seek_tokenizer *a;
        if (s < 3) {
            a = tok_load_json(srcs[s]);
        } else {
            gguf_file *g = gguf_open(srcs[s]);
            a = g ? tok_load_gguf(g) : NULL;
            gguf_close(g);
        }
        CHECK_MSG(a, "%s", seek_last_error());
        CHECK_STR(tok_pre_name(a), pre[s]);
        gguf_writer *w = gguf_writer_new();
        CHECK(tok_write_gguf(a, w) == 0);
        seek_tokenizer *b = load_written(w);
        CHECK_MSG(b, "%s", seek_last_error());
        CHECK(tok_n_vocab(a) == tok_n_vocab(b) && tok_bos(a) == tok_bos(b) && tok_eos(a) == tok_eos(b) &&
              tok_add_bos(a) == tok_add_bos(b));
        CHECK_STR(tok_pre_name(b), pre[s]);
        for (int i = 0; i < 5; i++) CHECK_MSG(same_encoding(a, b, texts[i]), "%s: '%s'", srcs[s], texts[i]);
        tok_free(a);
        tok_free(b);
    }
}

/* ---------------------------------------------------------------- special tokens in decoding */

TEST(special_tokens) {
    seek_tokenizer *t = tok_load_json(DATA "deepseek-v3/tokenizer.json");
    CHECK_MSG(t, "%s", seek_last_error());
    CHECK(tok_bos(t) == 0 && tok_eos(t) == 1 && tok_add_bos(t));
    const char *text = "<｜User｜>hi<｜Assistant｜><think>ok</think>";
    tok_ids ids = {0};
    CHECK(tok_encode(t, text, strlen(text), true, &ids) == 0);
    CHECK(ids.n > 3 && ids.v[0] == 0);
    size_t n;
    char *shown = tok_decode(t, ids.v, ids.n, true, &n);
    char *hidden = tok_decode(t, ids.v, ids.n, false, &n);
    CHECK(shown && hidden);
    /* only BOS is hidden: DeepSeek-V3's tokenizer.json marks <｜User｜> and <｜Assistant｜>
     * "special": false, so Hugging Face's skip_special_tokens keeps them too */
    CHECK_STR(shown, "<｜begin▁of▁sentence｜><｜User｜>hi<｜Assistant｜><think>ok</think>");
    CHECK_STR(hidden, "<｜User｜>hi<｜Assistant｜><think>ok</think>");
    free(shown);
    free(hidden);
    CHECK(tok_decode(t, (int32_t[]){5, 999999}, 2, false, &n) == NULL && strstr(seek_last_error(), "out of range"));
    tok_ids_free(&ids);
    tok_free(t);
}

/* ---------------------------------------------------------------- NFC */

/* Expected bytes from Python's unicodedata.normalize("NFC", ...) (Unicode 14). */
TEST(nfc) {
    static const char *cases[][2] = {
        {"e\xCC\x81", "\xC3\xA9"},                                  /* e + acute */
        {"A\xCC\x8A\xCC\x81", "\xC7\xBA"},                          /* A + ring + acute */
        {"\xE1\xBA\x9B\xCC\xA3", "\xE1\xBA\x9B\xCC\xA3"},       /* long s dot above + dot below */
        {"\xE0\xA5\x98x", "\xE0\xA4\x95\xE0\xA4\xBC" "x"},       /* excluded composite stays split */
        {"\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8", "\xEA\xB0\x81"}, /* Hangul L V T */
        {"q\xCC\x87\xCC\xA3", "q\xCC\xA3\xCC\x87"},               /* reordering by class */
        {"\xE2\x84\xAB", "\xC3\x85"},                                /* angstrom sign */
        {"\xEA\xB0\x80\xE1\x86\xA8", "\xEA\xB0\x81"},            /* LV + T */
        {"abc \xE4\xB8\xAD\xE6\x96\x87 \xC3\xA9", "abc \xE4\xB8\xAD\xE6\x96\x87 \xC3\xA9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n;
        char *o = tok_nfc(cases[i][0], strlen(cases[i][0]), &n);
        CHECK(o);
        CHECK_MSG(n == strlen(cases[i][1]) && !memcmp(o, cases[i][1], n), "case %zu", i);
        free(o);
    }
    /* the Qwen2 tokenizer normalises: composed and decomposed text give the same ids */
    seek_tokenizer *t = tok_load_json(DATA "qwen/tokenizer.json");
    CHECK_MSG(t, "%s", seek_last_error());
    tok_ids a = {0}, b = {0};
    CHECK(tok_encode(t, "caf\xC3\xA9", 5, false, &a) == 0 && tok_encode(t, "cafe\xCC\x81", 6, false, &b) == 0);
    CHECK(a.n == b.n && !memcmp(a.v, b.v, a.n * sizeof *a.v));
    tok_ids_free(&a);
    tok_ids_free(&b);
    tok_free(t);
}

/* ---------------------------------------------------------------- hostile input */

/* ~10 million consecutive spaces once made every pre-tokenizer fail (PCRE2 match limit,
 * error -47), while Hugging Face's tokenizers split them. The expected pieces come from
 * Python's `regex` engine applying the same Split patterns (tests/data/tokenizer/long_runs.py). */
TEST(long_whitespace_runs) {
    enum { N = 10000000 };
    static const struct { const char *tok, text; size_t n; size_t spans[2][2]; } cases[] = {
        {"deepseek-v3", 'A', 2, {{0, 9999999}, {9999999, 10000001}}},
        {"deepseek-v3", 'B', 2, {{0, 1}, {1, 10000001}}},
        {"deepseek-v3", 'C', 1, {{0, 10000001}}},
        {"deepseek-v3", 'D', 2, {{0, 9999998}, {9999998, 10000000}}},
        {"llama3", 'A', 2, {{0, 9999999}, {9999999, 10000001}}},
        {"llama3", 'B', 2, {{0, 1}, {1, 10000001}}},
        {"llama3", 'C', 1, {{0, 10000001}}},
        {"llama3", 'D', 2, {{0, 9999998}, {9999998, 10000000}}},
    };
    char *text = malloc(N + 2);
    CHECK(text);
    seek_tokenizer *t = NULL;
    const char *loaded = "";
    tok_spans a = {0}, b = {0};
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        if (strcmp(loaded, cases[c].tok)) {
            char path[128];
            snprintf(path, sizeof path, DATA "%s/tokenizer.json", cases[c].tok);
            tok_free(t);
            t = tok_load_json(path);
            loaded = cases[c].tok;
            if (!t) break;
        }
        size_t n = 0;
        switch (cases[c].text) {
        case 'A': memset(text, ' ', N); text[N] = 'a'; n = N + 1; break;
        case 'B': text[0] = 'x'; memset(text + 1, ' ', N); n = N + 1; break;
        case 'C': memset(text, ' ', N); text[N] = '\n'; n = N + 1; break;
        case 'D': for (n = 0; n + 3 <= N; n += 3) memcpy(text + n, "\t \t", 3); text[n++] = 'b'; break;
        }
        clock_t t0 = clock();
        int rc = pretok_run(&t->pre, text, n, &a, &b);
        double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
        if (rc) { tok_free(t); free(text); free(a.v); free(b.v); FAILF("%s %c: %s", cases[c].tok, cases[c].text, seek_last_error()); }
        bool same = a.n == cases[c].n;
        for (size_t i = 0; same && i < a.n; i++)
            same = a.v[i].off == cases[c].spans[i][0] && a.v[i].off + a.v[i].len == cases[c].spans[i][1];
        if (!same || secs > 10) {
            tok_free(t); free(text); free(a.v); free(b.v);
            FAILF("%s %c: %zu pieces (first [%zu, +%zu)), %.1f s", cases[c].tok, cases[c].text, a.n,
                  a.n ? (size_t)a.v[0].off : 0, a.n ? (size_t)a.v[0].len : 0, secs);
        }
    }
    CHECK_MSG(t, "%s", seek_last_error());
    tok_free(t);
    free(text);
    free(a.v);
    free(b.v);
}

static void addf(strbuf *b, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sb_add(b, buf, (size_t)n);
}

/* Added tokens were matched by trying every added token with the text's next byte: 5,000
 * added tokens sharing a first byte made 200 KB of text cost ~5 s. Now a trie: the cost
 * does not grow with the number of added tokens. The text mixes whole added tokens with
 * near misses; every whole one must come out as its id, and the rest round-trip. */
TEST(many_added_tokens_fast) {
    enum { K = 5000, TEXT = 200000 };
    strbuf j = {0};
    addf(&j, "{\"added_tokens\":[");
    for (int i = 0; i < K; i++)
        addf(&j, "%s{\"id\":%d,\"content\":\"<t%d>\",\"special\":true}", i ? "," : "", 3 + i, i);
    addf(&j, "]," PRE "\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2");
    for (int i = 0; i < K; i++) addf(&j, ",\"<t%d>\":%d", i, 3 + i);
    /* single characters so that the near misses encode too */
    const char *chars = "<>t0123456789";
    for (int i = 0; chars[i]; i++) addf(&j, ",\"%c\":%d", chars[i], 3 + K + i);
    addf(&j, "},\"merges\":[\"a b\"]}}");
    seek_tokenizer *t = tok_load_json_text(j.s, j.n, NULL, "many.json");
    sb_free(&j);
    CHECK_MSG(t, "%s", seek_last_error());
    strbuf text = {0};
    size_t whole = 0;
    for (unsigned r = 1; text.n < TEXT; r = r * 1103515245u + 12345u) {
        unsigned v = (r >> 8) % K;
        switch ((r >> 4) % 4) {
        case 0: addf(&text, "<t%u>", v); whole++; break;       /* an added token */
        case 1: addf(&text, "<t%u", v); break;                 /* a near miss */
        case 2: addf(&text, "<<<<<<<<<<<<<<<<"); break;        /* the shared first byte alone */
        default: addf(&text, "ab"); break;
        }
    }
    tok_ids ids = {0};
    clock_t t0 = clock();
    int rc = tok_encode(t, text.s, text.n, false, &ids);
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    size_t n_added = 0;
    for (size_t i = 0; i < ids.n; i++) n_added += ids.v[i] >= 3 && ids.v[i] < 3 + K;
    size_t dn = 0;
    char *back = rc ? NULL : tok_decode(t, ids.v, ids.n, true, &dn);
    bool round = back && dn == text.n && !memcmp(back, text.s, dn);
    free(back);
    tok_ids_free(&ids);
    tok_free(t);
    sb_free(&text);
    CHECK_MSG(rc == 0, "%s", seek_last_error());
    CHECK_MSG(n_added == whole, "%zu added-token ids for %zu added tokens in the text", n_added, whole);
    CHECK(round);
    if (getenv("SEEK_TEST_VERBOSE")) printf("# many_added_tokens_fast: %.3f s\n", secs);
    CHECK_MSG(secs < 0.5, "encoding took %.2f s", secs);
}

/* Long BPE pieces sort their initial pairs and keep merge-created pairs in a sorted run
 * beside the heap; the result must be exactly the plain heap's. Both paths on the same
 * pieces: long words, CJK runs, whitespace runs, and the golden texts (short pieces). */
TEST(bpe_long_piece_paths_agree) {
    strbuf text = {0};
    unsigned r = 7;
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 20000; i++, r = r * 1103515245u + 12345u) sb_add(&text, &"etaoinshrdlucmfw"[(r >> 9) % 16], 1);
        sb_adds(&text, " ");
        for (int i = 0; i < 5000; i++, r = r * 1103515245u + 12345u) {   /* CJK: one piece per run */
            unsigned cp = 0x4e00 + (r >> 9) % 0x200;
            char u[3] = {(char)(0xE0 | cp >> 12), (char)(0x80 | ((cp >> 6) & 63)), (char)(0x80 | (cp & 63))};
            sb_add(&text, u, 3);
        }
        for (int i = 0; i < 9000; i++, r = r * 1103515245u + 12345u) sb_add(&text, (r >> 9) % 3 ? " " : "\t", 1);
        sb_adds(&text, "x\n\n");
    }
    size_t gl;
    char *golden = seek_read_file(DATA "deepseek-v3.golden.json", &gl);
    CHECK(golden);
    sb_add(&text, golden, gl);
    free(golden);
    const char *toks[] = {"deepseek-v3", "llama3", "qwen"};
    bool same = true;
    for (int k = 0; k < 3 && same; k++) {
        char path[128];
        snprintf(path, sizeof path, DATA "%s/tokenizer.json", toks[k]);
        seek_tokenizer *t = tok_load_json(path);
        if (!t) { same = false; break; }
        tok_ids a = {0}, b = {0};
        size_t saved = tok_bpe_sorted_seeds_min;
        tok_bpe_sorted_seeds_min = SIZE_MAX;     /* the plain heap everywhere (the reference) */
        int ra = tok_encode(t, text.s, text.n, false, &a);
        tok_bpe_sorted_seeds_min = 0;            /* sorted seeds + sorted run + heap everywhere */
        int rb = tok_encode(t, text.s, text.n, false, &b);
        tok_bpe_sorted_seeds_min = saved;
        same = ra == 0 && rb == 0 && a.n == b.n && a.n > 1000 && !memcmp(a.v, b.v, a.n * sizeof *a.v);
        if (!same) printf("# %s: %zu vs %zu ids\n", toks[k], a.n, b.n);
        tok_ids_free(&a);
        tok_ids_free(&b);
        tok_free(t);
    }
    sb_free(&text);
    CHECK(same);
}

int main(void) {
    RUN(split_behaviours);
    RUN(malformed_json);
    RUN(malformed_gguf);
    RUN(gguf_round_trip);
    RUN(special_tokens);
    RUN(nfc);
    RUN(long_whitespace_runs);
    RUN(many_added_tokens_fast);
    RUN(bpe_long_piece_paths_agree);
    return test_summary();
}
