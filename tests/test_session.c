/* test_session.c - the session layer on the small chat model ($CHAT_MODEL, built by
 * `make test`): KV-cache reuse across turns gives the same answer as a fresh start,
 * chunked prefill gives the logits of one batch, padding ids are never sampled,
 * and bad models are refused with a clear error. */
#include <stdlib.h>

#include "session.h"
#include "test.h"
#include "util.h"

static const char *model_path(void) {
    const char *m = getenv("CHAT_MODEL");
    return m ? m : "build/tests/chat-model.gguf";
}

static sampler *greedy(const seek_session *s) {
    sampler_params p = sampler_defaults();
    p.temperature = 0;
    return sampler_new(&p, s->model->hp.n_vocab);
}

/* Greedy answer (12 tokens at most) to msgs[0..n) in session s, into r. */
static int answer(seek_session *s, const chat_msg *msgs, size_t n, gen_result *r) {
    tok_ids prompt = {0};
    bool opens;
    chat_render_opts ro = {.add_generation_prompt = true, .thinking = -1};
    sampler *smp = greedy(s);
    int rc = -1;
    if (smp && !session_prompt(s, msgs, n, &ro, 16, false, &prompt, NULL, &opens)) {
        gen_params gp = {.max_tokens = 12, .start_thinking = opens};
        rc = session_generate(s, &prompt, smp, &gp, r);
    }
    sampler_free(smp);
    tok_ids_free(&prompt);
    return rc;
}

TEST(cache_reuse_matches_fresh_start) {
    seek_session *a = session_open(model_path(), NULL), *b = session_open(model_path(), NULL);
    CHECK_MSG(a && b, "%s", seek_last_error());
    chat_msg msgs[3] = {{CHAT_USER, "Hello, who are you?", NULL, NULL, 0}, {CHAT_ASSISTANT, "", NULL, NULL, 0}, {CHAT_USER, "Tell me more.", NULL, NULL, 0}};
    gen_result r1 = {0}, r2 = {0}, r3 = {0};
    CHECK_MSG(answer(a, msgs, 1, &r1) == 0, "%s", seek_last_error());
    /* history is text: torn UTF-8 from the random model becomes U+FFFD, as chat stores it */
    strbuf content = {0};
    CHECK(sb_add_utf8(&content, r1.content.s ? r1.content.s : "", r1.content.n) == 0);
    msgs[1].content = content.s ? content.s : "";
    /* a: the second turn over the cache of the first; b: from an empty cache */
    CHECK_MSG(answer(a, msgs, 3, &r2) == 0, "%s", seek_last_error());
    CHECK_MSG(answer(b, msgs, 3, &r3) == 0, "%s", seek_last_error());
    CHECK_MSG(r2.n_prompt_eval < r3.n_prompt_eval, "cache not reused: %d vs %d prompt tokens evaluated",
              r2.n_prompt_eval, r3.n_prompt_eval);
    CHECK(r2.tokens.n == r3.tokens.n && r2.tokens.n > 0);
    CHECK(memcmp(r2.tokens.v, r3.tokens.v, r2.tokens.n * sizeof(int32_t)) == 0);
    CHECK(r2.n_past == r3.n_past && (size_t)a->cache->n_past == a->cached.n);
    sb_free(&content);
    gen_result_free(&r1), gen_result_free(&r2), gen_result_free(&r3);
    session_close(a), session_close(b);
}

TEST(chunked_prefill_matches_one_batch) {
    seek_session *s = session_open(model_path(), NULL);
    CHECK_MSG(s, "%s", seek_last_error());
    const int V = s->model->hp.n_vocab, T = 600;   /* > 2 prefill chunks of 256 */
    int32_t *ids = malloc(sizeof *ids * T);
    float *one = malloc(sizeof(float) * (size_t)V * T);
    CHECK(ids && one);
    for (int t = 0; t < T; t++) ids[t] = 100 + (t * 7919) % 3000;
    /* the session's eval, through generate's contract: one token generated */
    tok_ids prompt = {.v = ids, .n = T, .cap = T};
    sampler *smp = greedy(s);
    gen_result r = {0};
    gen_params gp = {.max_tokens = 1};
    CHECK_MSG(session_generate(s, &prompt, smp, &gp, &r) == 0, "%s", seek_last_error());
    CHECK(r.n_prompt_eval == T);
    /* the same prompt in one batch from an empty cache, straight through the model */
    seek_kvcache *c = kvcache_new_type(s->model, T, s->cache->type);
    CHECK(c && model_forward(s->model, c, ids, T, 0, one, NULL) == 0);
    const float *ref = one + (size_t)(T - 1) * V;
    int best = -1;
    for (int i = 0; i < V; i++)
        if (!s->banned[i] && (best < 0 || ref[i] > ref[best])) best = i;
    CHECK_MSG(r.tokens.n == 1 && r.tokens.v[0] == best, "chunked prefill chose %d, one batch %d",
              r.tokens.n ? r.tokens.v[0] : -1, best);
    /* and the logits: re-evaluate the last 40 prompt positions on top of the cache the
     * chunks filled (positions 0..T-41 from the chunks) and compare every logit with the
     * one-batch evaluation. Tolerance: 1e-4 of the largest |logit| (only the summation
     * order of batched products may differ). */
    const int K = 40;
    float *re = malloc(sizeof(float) * (size_t)V * K);
    CHECK(re);
    s->cache->n_past = T - K;
    int rc = model_forward(s->model, s->cache, ids + T - K, K, T - K, re, NULL);
    double scale = 0, err = 0;
    for (size_t i = 0; i < (size_t)V * K; i++) {
        scale = fmax(scale, fabs(one[(size_t)(T - K) * V + i]));
        err = fmax(err, fabs((double)re[i] - one[(size_t)(T - K) * V + i]));
    }
    free(re);
    CHECK_MSG(rc == 0, "%s", seek_last_error());
    CHECK_MSG(err <= 1e-4 * scale, "chunked prefill: max |dlogit| %g over the last %d positions (scale %g)", err, K, scale);
    s->cached.n = 0;   /* the cache was rewritten behind the session's back */
    kvcache_free(c);
    gen_result_free(&r);
    sampler_free(smp);
    free(ids), free(one);
    session_close(s);
}

TEST(padding_is_never_sampled) {
    seek_session *s = session_open(model_path(), NULL);
    CHECK_MSG(s, "%s", seek_last_error());
    const int V = s->model->hp.n_vocab;
    int n_banned = 0;
    for (int i = 0; i < V; i++) n_banned += s->banned[i];
    /* the test vocabulary fills a few thousand of the 129280 ids; the rest is padding */
    CHECK_MSG(n_banned > 100000 && !s->banned[tok_eos(s->tok)], "%d banned", n_banned);
    sampler_params p = sampler_defaults();
    p.temperature = 5, p.top_k = 0, p.top_p = 1, p.min_p = 0, p.seed = 3;
    sampler *smp = sampler_new(&p, V);
    tok_ids prompt = {0};
    CHECK(tok_encode(s->tok, "Hello", 5, true, &prompt) == 0);
    gen_result r = {0};
    gen_params gp = {.max_tokens = 64};
    CHECK_MSG(session_generate(s, &prompt, smp, &gp, &r) == 0, "%s", seek_last_error());
    for (size_t i = 0; i < r.tokens.n; i++) CHECK_MSG(!s->banned[r.tokens.v[i]], "sampled padding id %d", r.tokens.v[i]);
    gen_result_free(&r);
    tok_ids_free(&prompt);
    sampler_free(smp);
    session_close(s);
}

TEST(bad_models_are_refused) {
    CHECK(session_open("tests/data/nonexistent.gguf", NULL) == NULL);
    CHECK(strstr(seek_last_error(), "nonexistent.gguf"));
    /* a vocabulary-only file: no tensors */
    CHECK(session_open("tests/data/gguf/ggml-vocab-deepseek-coder.gguf", NULL) == NULL);
    CHECK_MSG(strstr(seek_last_error(), "ggml-vocab-deepseek-coder.gguf"), "%s", seek_last_error());
    /* a chat template file that does not exist */
    session_opts o = {.chat_template_file = "tests/data/chat/missing.jinja"};
    CHECK(session_open(model_path(), &o) == NULL);
    CHECK_MSG(strstr(seek_last_error(), "missing.jinja"), "%s", seek_last_error());
    /* a template override is recognised */
    o.chat_template_file = "tests/data/chat/deepseek-v3.jinja";
    seek_session *s = session_open(model_path(), &o);
    CHECK_MSG(s && s->tmpl.format == CHAT_FMT_DEEPSEEK_V3, "%s", seek_last_error());
    session_close(s);
}

int main(void) {
    RUN(cache_reuse_matches_fresh_start);
    RUN(chunked_prefill_matches_one_batch);
    RUN(padding_is_never_sampled);
    RUN(bad_models_are_refused);
    return test_summary();
}
