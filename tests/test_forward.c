/* test_forward.c - the forward pass against Hugging Face transformers' outputs.
 *
 * For every fixture model in tests/data/hf/ (tiny random checkpoints; golden.json and the
 * case*.f32 files were produced by transformers, see tests/data/README.md): convert the
 * checkpoint to GGUF, load it, and for every case compare
 *   - logits at every position (max |diff| relative to the logits' scale) and argmax,
 *   - the hidden state after every block (and after the final norm),
 *   - the 16-token greedy continuation,
 * both with the prompt evaluated in one batch and fed token by token through the cache.
 * Also: naive vs absorbed MLA, the split attn_k_b/attn_v_b layout, Q8_0 conversion. */
#include <jansson.h>
#include <stdint.h>
#include <unistd.h>

#include "convert.h"
#include "gguf.h"
#include "model.h"
#include "test.h"

#define LOGIT_TOL 1e-4    /* relative to max |logit|; the issue asks for 1e-3 */
#define HIDDEN_TOL 1e-4   /* relative to max |h| of that layer */

static const char *fixtures[] = {"deepseek-v3-tiny", "deepseek-v2-lite-tiny", "qwen2-tiny", "llama-tiny"};

typedef struct {
    int n_tok, T, V, L1, D;   /* L1 = n_layer + 1 hidden entries */
    int32_t tokens[256];
    int32_t greedy[16];
    float *logits, *hidden;   /* [T][V], [L1][T][D] */
} golden_case;

/* Read case i of golden.json; returns 0 when there is no such case. */
static int load_case(const char *name, int i, golden_case *gc) {
    char p[512];
    snprintf(p, sizeof p, "tests/data/hf/%s/golden.json", name);
    json_t *j = json_load_file(p, 0, NULL);
    if (!j) return -1;
    json_t *c = json_array_get(json_object_get(j, "cases"), (size_t)i);
    if (!c) { json_decref(j); return 0; }
    json_t *tk = json_object_get(c, "tokens"), *gr = json_object_get(c, "greedy_continuation");
    json_t *ls = json_object_get(c, "logits_shape"), *hs = json_object_get(c, "hidden_shape");
    memset(gc, 0, sizeof *gc);
    gc->n_tok = (int)json_array_size(tk);
    gc->T = (int)json_integer_value(json_array_get(ls, 0));
    gc->V = (int)json_integer_value(json_array_get(ls, 1));
    gc->L1 = (int)json_integer_value(json_array_get(hs, 0));
    gc->D = (int)json_integer_value(json_array_get(hs, 2));
    if (gc->n_tok > 256 || gc->n_tok != gc->T || json_array_size(gr) != 16) { json_decref(j); return -1; }
    for (int t = 0; t < gc->n_tok; t++) gc->tokens[t] = (int32_t)json_integer_value(json_array_get(tk, (size_t)t));
    for (int t = 0; t < 16; t++) gc->greedy[t] = (int32_t)json_integer_value(json_array_get(gr, (size_t)t));
    snprintf(p, sizeof p, "tests/data/hf/%s/%s", name, json_string_value(json_object_get(c, "logits_file")));
    gc->logits = read_f32(p, (size_t)gc->T * gc->V);
    snprintf(p, sizeof p, "tests/data/hf/%s/%s", name, json_string_value(json_object_get(c, "hidden_file")));
    gc->hidden = read_f32(p, (size_t)gc->L1 * gc->T * gc->D);
    json_decref(j);
    return gc->logits && gc->hidden ? 1 : -1;
}

static void free_case(golden_case *gc) { free(gc->logits); free(gc->hidden); }

static char tmpdir[64];

static const char *gguf_path(const char *name, const char *type) {
    static char p[256];
    snprintf(p, sizeof p, "%s/%s-%s.gguf", tmpdir, name, type);
    return p;
}

static int convert_fixture(const char *name, seek_type type, const char *tname) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/data/hf/%s", name);
    convert_opts o = {.type = type, .progress = false};
    return convert_hf(dir, gguf_path(name, tname), &o);
}

/* Greedy continuation of n tokens after the cache's content; `last` = logits of the last
 * prompt position. */
static int greedy(seek_model *m, seek_kvcache *c, const float *last, int32_t *out, int n) {
    const int V = m->hp.n_vocab;
    float *lg = malloc(sizeof(float) * V);
    int32_t tok = argmax(last, V);
    for (int i = 0; i < n; i++) {
        out[i] = tok;
        if (model_forward(m, c, &tok, 1, c->n_past, lg, NULL)) { free(lg); return -1; }
        tok = argmax(lg, V);
    }
    free(lg);
    return 0;
}

/* Everything for one fixture model file. */
static void check_model(const char *name, const char *file, bool absorb) {
    seek_model *m = model_load(file);
    CHECK_MSG(m, "%s: %s", name, seek_last_error());
    m->mla = absorb ? MLA_ABSORBED : MLA_NAIVE;
    for (int ci = 0;; ci++) {
        golden_case gc;
        int r = load_case(name, ci, &gc);
        CHECK_MSG(r >= 0, "%s: bad golden case %d", name, ci);
        if (r == 0) break;
        const int T = gc.T, V = gc.V, D = gc.D;
        CHECK(V == m->hp.n_vocab && D == m->hp.n_embd && gc.L1 == m->hp.n_layer + 1);
        float *lg = malloc(sizeof(float) * (size_t)T * V), *hid = malloc(sizeof(float) * (size_t)gc.L1 * T * D);
        float *lg1 = malloc(sizeof(float) * (size_t)T * V);
        seek_kvcache *c = kvcache_new(m, T + 16), *c1 = kvcache_new(m, T + 16);
        CHECK(lg && hid && lg1 && c && c1);

        /* the prompt in one batch */
        CHECK_MSG(model_forward(m, c, gc.tokens, T, 0, lg, hid) == 0, "%s", seek_last_error());
        double sc = max_abs(gc.logits, (size_t)T * V), err = max_diff(lg, gc.logits, (size_t)T * V);
        CHECK_MSG(err <= LOGIT_TOL * sc, "%s case %d: max |dlogit| %g (scale %g)", name, ci, err, sc);
        for (int t = 0; t < T; t++)
            CHECK_MSG(argmax(lg + (size_t)t * V, V) == argmax(gc.logits + (size_t)t * V, V), "%s case %d: argmax differs at %d",
                      name, ci, t);
        for (int l = 0; l < gc.L1; l++) {
            const float *a = hid + (size_t)l * T * D, *b = gc.hidden + (size_t)l * T * D;
            double hs = max_abs(b, (size_t)T * D), he = max_diff(a, b, (size_t)T * D);
            CHECK_MSG(he <= HIDDEN_TOL * hs, "%s case %d: hidden state %d differs by %g (scale %g)", name, ci, l, he, hs);
        }
        int32_t cont[16];
        CHECK(greedy(m, c, lg + (size_t)(T - 1) * V, cont, 16) == 0);
        CHECK_MSG(!memcmp(cont, gc.greedy, sizeof cont), "%s case %d: greedy continuation (batch prompt) differs", name, ci);

        /* the prompt token by token through the cache */
        for (int t = 0; t < T; t++)
            CHECK_MSG(model_forward(m, c1, gc.tokens + t, 1, t, lg1 + (size_t)t * V, NULL) == 0, "%s", seek_last_error());
        err = max_diff(lg1, gc.logits, (size_t)T * V);
        CHECK_MSG(err <= LOGIT_TOL * sc, "%s case %d: token by token: max |dlogit| %g (scale %g)", name, ci, err, sc);
        CHECK(greedy(m, c1, lg1 + (size_t)(T - 1) * V, cont, 16) == 0);
        CHECK_MSG(!memcmp(cont, gc.greedy, sizeof cont), "%s case %d: greedy continuation (token by token) differs", name, ci);

        /* continuing from a prefix: re-evaluate the second half of the prompt in one batch */
        c->n_past = T / 2;
        CHECK(model_forward(m, c, gc.tokens + T / 2, T - T / 2, T / 2, lg1, NULL) == 0);
        err = max_diff(lg1, gc.logits + (size_t)(T / 2) * V, (size_t)(T - T / 2) * V);
        CHECK_MSG(err <= LOGIT_TOL * sc, "%s case %d: batch after a cached prefix: max |dlogit| %g", name, ci, err);

        kvcache_free(c);
        kvcache_free(c1);
        free(lg); free(lg1); free(hid);
        free_case(&gc);
    }
    model_free(m);
}

TEST(fixtures_match_transformers) {
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
        CHECK_MSG(convert_fixture(fixtures[i], SEEK_TYPE_F32, "f32") == 0, "%s", seek_last_error());
        check_model(fixtures[i], gguf_path(fixtures[i], "f32"), true);
        if (test_failed_) return;
    }
}

TEST(mla_naive_path_matches_transformers) {
    check_model("deepseek-v3-tiny", gguf_path("deepseek-v3-tiny", "f32"), false);
    check_model("deepseek-v2-lite-tiny", gguf_path("deepseek-v2-lite-tiny", "f32"), false);
}

/* Naive and absorbed attention on random token sequences, in one batch and through a
 * cache prefix. */
TEST(mla_naive_equals_absorbed_random) {
    for (int fi = 0; fi < 2; fi++) {
        seek_model *m = model_load(gguf_path(fixtures[fi], "f32"));
        CHECK_MSG(m, "%s", seek_last_error());
        const int T = 40, V = m->hp.n_vocab;
        int32_t tok[40];
        uint32_t s = 12345u + (uint32_t)fi;
        for (int t = 0; t < T; t++) { s = s * 1664525u + 1013904223u; tok[t] = (int32_t)((s >> 8) % (uint32_t)V); }
        float *a = malloc(sizeof(float) * T * V), *b = malloc(sizeof(float) * T * V);
        seek_kvcache *c = kvcache_new(m, T);
        m->mla = MLA_ABSORBED;
        CHECK(model_forward(m, c, tok, 25, 0, a, NULL) == 0 && model_forward(m, c, tok + 25, T - 25, 25, a + 25 * V, NULL) == 0);
        m->mla = MLA_NAIVE;
        c->n_past = 0;
        CHECK(model_forward(m, c, tok, T, 0, b, NULL) == 0);
        double sc = max_abs(b, (size_t)T * V), err = max_diff(a, b, (size_t)T * V);
        CHECK_MSG(err <= 1e-5 * sc, "%s: naive vs absorbed differ by %g (scale %g)", fixtures[fi], err, sc);
        kvcache_free(c);
        free(a); free(b);
        model_free(m);
    }
}

/* Rewrite a converted deepseek2 file with attn_kv_b split into 3-D attn_k_b
 * [n_head][kv_lora][nope] and attn_v_b [n_head][v][kv_lora] (the layout of newer
 * converters) and check the logits do not change. */
TEST(deepseek2_split_kv_b_layout) {
    for (int fi = 0; fi < 2; fi++) {
        gguf_file *g = gguf_open(gguf_path(fixtures[fi], "f32"));
        CHECK(g);
        gguf_writer *w = gguf_writer_new();
        CHECK(gguf_copy_metadata(w, g, NULL, NULL) == 0);
        uint32_t H = 0, R = 0, kl = 0, vl = 0, rd = 0;
        CHECK(gguf_get_u32(g, "deepseek2.attention.head_count", &H) && gguf_get_u32(g, "deepseek2.attention.kv_lora_rank", &R) &&
              gguf_get_u32(g, "deepseek2.attention.key_length", &kl) && gguf_get_u32(g, "deepseek2.attention.value_length", &vl) &&
              gguf_get_u32(g, "deepseek2.rope.dimension_count", &rd));
        const uint32_t nope = kl - rd;
        float *bufs[64];
        int nb = 0;
        for (uint64_t i = 0; i < g->n_tensors; i++) {
            const gguf_tensor *t = &g->tensors[i];
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
            char *kvb = strstr(name, "attn_kv_b");
            if (!kvb) {
                CHECK(gguf_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data, true) == 0);
                continue;
            }
            CHECK(t->type == SEEK_TYPE_F32 && nb + 2 <= 64);
            const float *src = t->data;   /* rows: h*(nope+vl) + j, each of R */
            float *kb = malloc(sizeof(float) * H * R * nope), *vb = malloc(sizeof(float) * H * vl * R);
            bufs[nb++] = kb;
            bufs[nb++] = vb;
            for (uint32_t h = 0; h < H; h++) {
                for (uint32_t d = 0; d < nope; d++)
                    for (uint32_t r = 0; r < R; r++) kb[((size_t)h * R + r) * nope + d] = src[((size_t)h * (nope + vl) + d) * R + r];
                for (uint32_t j = 0; j < vl; j++)
                    memcpy(vb + ((size_t)h * vl + j) * R, src + ((size_t)h * (nope + vl) + nope + j) * R, sizeof(float) * R);
            }
            char kn[128], vn[128];
            int lay = atoi(name + 4);
            snprintf(kn, sizeof kn, "blk.%d.attn_k_b.weight", lay);
            snprintf(vn, sizeof vn, "blk.%d.attn_v_b.weight", lay);
            int64_t kne[3] = {nope, R, H}, vne[3] = {R, vl, H};
            CHECK(gguf_add_tensor(w, kn, SEEK_TYPE_F32, 3, kne, kb, true) == 0);
            CHECK(gguf_add_tensor(w, vn, SEEK_TYPE_F32, 3, vne, vb, true) == 0);
        }
        CHECK(gguf_write(w, gguf_path(fixtures[fi], "split")) == 0);
        gguf_writer_free(w);
        for (int i = 0; i < nb; i++) free(bufs[i]);
        gguf_close(g);
        check_model(fixtures[fi], gguf_path(fixtures[fi], "split"), true);
        check_model(fixtures[fi], gguf_path(fixtures[fi], "split"), false);
        if (test_failed_) return;
    }
}

/* Q8_0 weights. These random fixtures have many positions whose two best logits are
 * closer than Q8_0's (and even BF16's) rounding noise (top-2 gaps down to 0.0006 while
 * BF16 weights alone move logits by ~0.04), so "same argmax everywhere" does not hold
 * for any faithful Q8_0 (nor for BF16). What is checked: the argmax agrees at >= 95% of
 * the 480 positions of all fixtures together and at every position whose reference top-2
 * gap exceeds 0.3 * scale, and the logits stay within 0.35 * scale (MoE routing flips make
 * DeepSeek's error jumpy). The reference engine's own Q8_0 (byte-identical weights, Q8_0
 * activations as in seek's kernels) flips 16 of these 480 positions; seek's fast path
 * flips 17 (F32 activations: 14); see docs/interop.md. */
TEST(q8_0_conversion_keeps_argmax) {
    int agree_all = 0, n_all = 0;
    for (size_t i = 0; i < sizeof fixtures / sizeof *fixtures; i++) {
        CHECK_MSG(convert_fixture(fixtures[i], SEEK_TYPE_Q8_0, "q8_0") == 0, "%s", seek_last_error());
        seek_model *m = model_load(gguf_path(fixtures[i], "q8_0"));
        CHECK_MSG(m, "%s", seek_last_error());
        CHECK(m->layers[0].ffn_up->type == SEEK_TYPE_Q8_0 && m->tok_embd->type == SEEK_TYPE_Q8_0);
        for (int ci = 0;; ci++) {
            golden_case gc;
            int r = load_case(fixtures[i], ci, &gc);
            CHECK(r >= 0);
            if (r == 0) break;
            const int T = gc.T, V = gc.V;
            float *lg = malloc(sizeof(float) * (size_t)T * V);
            seek_kvcache *c = kvcache_new(m, T);
            CHECK(model_forward(m, c, gc.tokens, T, 0, lg, NULL) == 0);
            double sc = max_abs(gc.logits, (size_t)T * V), err = max_diff(lg, gc.logits, (size_t)T * V);
            int agree = 0, bad_clear = -1;
            for (int t = 0; t < T; t++) {
                const float *ref = gc.logits + (size_t)t * V;
                int a = argmax(ref, V);
                float second = -INFINITY;
                for (int v = 0; v < V; v++) if (v != a && ref[v] > second) second = ref[v];
                bool same = argmax(lg + (size_t)t * V, V) == a;
                agree += same;
                if (!same && ref[a] - second > 0.3 * sc && bad_clear < 0) bad_clear = t;
            }
            kvcache_free(c);
            free(lg);
            free_case(&gc);
            if (getenv("SEEK_TEST_VERBOSE")) printf("  %s q8_0 case %d: argmax %d/%d, logits off by %.3g of scale\n", fixtures[i], ci, agree, T, err / sc);
            agree_all += agree;
            n_all += T;
            CHECK_MSG(bad_clear < 0, "%s q8_0 case %d: argmax differs at position %d despite a clear margin", fixtures[i], ci,
                      bad_clear);
            CHECK_MSG(err <= 0.35 * sc, "%s q8_0 case %d: logits off by %g (scale %g)", fixtures[i], ci, err, sc);
        }
        model_free(m);
    }
    CHECK_MSG(agree_all * 20 >= n_all * 19, "q8_0: argmax agrees at only %d of %d positions", agree_all, n_all);
}

TEST(forward_rejects_bad_calls) {
    seek_model *m = model_load(gguf_path("qwen2-tiny", "f32"));
    CHECK(m);
    seek_kvcache *c = kvcache_new(m, 8);
    float lg[512 * 8];
    int32_t bad = 512, ok[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    CHECK(model_forward(m, c, &bad, 1, 0, lg, NULL) == -1 && strstr(seek_last_error(), "outside the vocabulary"));
    CHECK(model_forward(m, c, ok, 9, 0, lg, NULL) == -1 && strstr(seek_last_error(), "context size"));
    CHECK(model_forward(m, c, ok, 1, 3, lg, NULL) == -1 && strstr(seek_last_error(), "past the cache"));
    kvcache_free(c);
    model_free(m);
}

int main(void) {
    if (test_mkdtemp(tmpdir, "test-forward")) return 1;
    RUN(fixtures_match_transformers);
    RUN(mla_naive_path_matches_transformers);
    RUN(mla_naive_equals_absorbed_random);
    RUN(deepseek2_split_kv_b_layout);
    RUN(q8_0_conversion_keeps_argmax);
    RUN(forward_rejects_bad_calls);
    test_rmdir(tmpdir);
    return test_summary();
}
