/* test_generate.c - the generation loop end to end with a real tokenizer
 * (trimmed DeepSeek-V3 vocabulary), a real chat template and a scripted fake
 * model whose logits force a known continuation. */
#include "test.h"

#include "chat.h"
#include "generate.h"
#include "reasoning.h"
#include "util.h"

#define TOKJSON "tests/data/tokenizer/deepseek-v3/tokenizer.json"

/* The fake model: after the prompt, it "predicts" script[0], script[1], ...
 * It checks that positions arrive contiguously from where the cache ends, and that each
 * position is fed the right id (the prompt's, then the tokens it predicted): a loop that
 * feeds a wrong id gets token 0 predicted from then on, so its continuation goes wrong. */
typedef struct {
    int32_t n_vocab;
    const int32_t *script, *prompt;
    size_t n_script, n_prompt;
    int32_t next_pos; /* the position the cache expects next */
    int bad_pos, bad_id, calls;
    int fail_at_call, nan_at_call;
} fake;

static int fake_eval(void *ud, const int32_t *ids, size_t n, int32_t pos, float *logits) {
    fake *f = ud;
    f->calls++;
    if (f->fail_at_call && f->calls == f->fail_at_call) return seek_error("fake: eval failed");
    if (pos > f->next_pos) f->bad_pos = 1; /* a gap in the cache */
    for (size_t i = 0; i < n; i++) {
        size_t p = (size_t)pos + i;
        int32_t want = p < f->n_prompt ? f->prompt[p] : p - f->n_prompt < f->n_script ? f->script[p - f->n_prompt] : -1;
        if (ids[i] != want) f->bad_id = 1;
    }
    f->next_pos = pos + (int32_t)n;
    size_t k = (size_t)f->next_pos - f->n_prompt; /* index of the token to predict */
    for (int32_t i = 0; i < f->n_vocab; i++) logits[i] = 0;
    logits[k < f->n_script && !f->bad_id ? f->script[k] : 0] = 20;
    if (f->nan_at_call && f->calls == f->nan_at_call) logits[7] = NAN;
    return 0;
}

typedef struct {
    strbuf all;
    int switches;
    bool last_reasoning;
} stream;

static void on_text(void *ud, bool is_reasoning, const char *s, size_t n) {
    stream *st = ud;
    if (st->all.n && is_reasoning != st->last_reasoning) st->switches++;
    st->last_reasoning = is_reasoning;
    sb_add(&st->all, s, n);
}

typedef struct {
    seek_tokenizer *tok;
    chat_template tmpl;
    tok_ids prompt, script;
    stop_tokens stops;
    sampler *smp;
    fake f;
    gen_model m;
} fixture;

static int setup(fixture *x, const char *answer, int32_t n_ctx) {
    memset(x, 0, sizeof *x);
    x->tok = tok_load_json(TOKJSON);
    if (!x->tok) return printf("  %s\n", seek_last_error()), -1;
    const char *r1 = "{{bos_token}}{{ns.system_prompt}}{{'<｜Assistant｜><think>\\n'}}"
                     "{% set content = content.split('</think>')[-1] %}<｜User｜>";
    if (chat_template_init(&x->tmpl, r1, tok_text(x->tok, tok_bos(x->tok)), tok_text(x->tok, tok_eos(x->tok))))
        return -1;
    if (x->tmpl.format != CHAT_FMT_DEEPSEEK_R1) return printf("  not recognised as R1\n"), -1;
    chat_msg msgs[] = {{CHAT_SYSTEM, "Be brief.", NULL, NULL, 0}, {CHAT_USER, "What is 2+2?", NULL, NULL, 0}};
    chat_render_opts o = {.add_generation_prompt = true, .thinking = -1};
    size_t len;
    char *text = chat_render(&x->tmpl, msgs, 2, &o, &len);
    if (!text || !reasoning_prompt_opens(text, len)) return -1;
    /* the rendered text holds the BOS string: no add_special */
    if (tok_encode(x->tok, text, len, false, &x->prompt)) return -1;
    free(text);
    if (x->prompt.v[0] != tok_bos(x->tok)) return printf("  no BOS first\n"), -1;
    if (tok_encode(x->tok, answer, strlen(answer), false, &x->script)) return -1;
    tok_ids_push(&x->script, tok_eos(x->tok));
    stop_tokens_add(&x->stops, tok_eos(x->tok));
    sampler_params sp = sampler_defaults();
    sp.temperature = 0;
    x->smp = sampler_new(&sp, tok_n_vocab(x->tok));
    x->f = (fake){.n_vocab = tok_n_vocab(x->tok), .script = x->script.v, .n_script = x->script.n,
                  .prompt = x->prompt.v, .n_prompt = x->prompt.n};
    x->m = (gen_model){.eval = fake_eval, .ud = &x->f, .n_vocab = tok_n_vocab(x->tok), .n_ctx = n_ctx};
    return x->smp ? 0 : -1;
}

static void teardown(fixture *x) {
    tok_free(x->tok);
    chat_template_free(&x->tmpl);
    tok_ids_free(&x->prompt);
    tok_ids_free(&x->script);
    stop_tokens_free(&x->stops);
    sampler_free(x->smp);
}

static const char *ANSWER = "I add two and two.\n</think>\n\nThe answer is 4 \xe2\x9c\x93.";

TEST(reasoning_and_answer_streamed) {
    fixture x;
    CHECK(setup(&x, ANSWER, 4096) == 0);
    stream st = {0};
    gen_params p = {.start_thinking = true, .on_text = on_text, .ud = &st};
    gen_result r = {0};
    CHECK_MSG(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, 0, &p, &r) == 0, "%s",
              seek_last_error());
    CHECK(r.stop == GEN_STOP_EOS);
    CHECK_STR(r.reasoning.s, "I add two and two.");
    CHECK_STR(r.content.s, "The answer is 4 \xe2\x9c\x93.");
    CHECK(r.reasoning_opened && r.reasoning_closed);
    CHECK(st.switches == 1); /* reasoning first, then content */
    CHECK(r.tokens.n == x.script.n - 1 && !memcmp(r.tokens.v, x.script.v, r.tokens.n * sizeof(int32_t)));
    CHECK(r.n_prompt_eval == (int32_t)x.prompt.n);
    CHECK(r.n_past == (int32_t)(x.prompt.n + r.tokens.n)); /* the stop token is not evaluated */
    CHECK(!x.f.bad_pos && !x.f.bad_id);
    gen_result_free(&r);
    sb_free(&st.all);
    teardown(&x);
}

TEST(stop_string_length_context_cancel) {
    fixture x;
    CHECK(setup(&x, ANSWER, 4096) == 0);
    const char *stops[] = {"is 4"};
    gen_params p = {.start_thinking = true, .stop_strings = stops, .n_stop_strings = 1};
    gen_result r = {0};
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, 0, &p, &r) == 0);
    CHECK(r.stop == GEN_STOP_STRING);
    CHECK_STR(r.content.s, "The answer "); /* exactly the text before the stop string */
    gen_result_free(&r);

    /* max_tokens */
    p = (gen_params){.start_thinking = true, .max_tokens = 3};
    r = (gen_result){0};
    x.f.next_pos = 0;
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, 0, &p, &r) == 0);
    CHECK(r.stop == GEN_STOP_LENGTH && r.tokens.n == 3 && !r.reasoning_closed && r.content.n == 0);
    CHECK(r.reasoning.n > 0);
    gen_result_free(&r);

    /* cancelled before the first token */
    volatile sig_atomic_t cancel = 1;
    p = (gen_params){.start_thinking = true, .cancel = &cancel};
    r = (gen_result){0};
    x.f.next_pos = 0;
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, 0, &p, &r) == 0);
    CHECK(r.stop == GEN_STOP_CANCELLED && r.tokens.n == 0);
    gen_result_free(&r);
    teardown(&x);

    /* the context fills up: 5 positions after the prompt */
    CHECK(setup(&x, ANSWER, 0) == 0);
    x.m.n_ctx = (int32_t)x.prompt.n + 5;
    p = (gen_params){.start_thinking = true};
    r = (gen_result){0};
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, 0, &p, &r) == 0);
    CHECK(r.stop == GEN_STOP_CONTEXT && r.n_past == x.m.n_ctx);
    gen_result_free(&r);
    /* a prompt that does not fit */
    x.m.n_ctx = (int32_t)x.prompt.n;
    r = (gen_result){0};
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, 0, &p, &r) == -1);
    CHECK(strstr(seek_last_error(), "context holds"));
    gen_result_free(&r);
    teardown(&x);
}

TEST(cached_prefix_and_eval_failure) {
    fixture x;
    CHECK(setup(&x, ANSWER, 4096) == 0);
    gen_params p = {.start_thinking = true};
    gen_result r = {0};
    /* the cache already holds all but the last 2 prompt tokens */
    x.f.next_pos = (int32_t)x.prompt.n - 2;
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, x.prompt.n - 2, &p, &r) == 0);
    CHECK(r.n_prompt_eval == 2 && !x.f.bad_pos && !x.f.bad_id && r.stop == GEN_STOP_EOS);
    gen_result_free(&r);
    /* all of it cached: the last token is evaluated again for its logits */
    r = (gen_result){0};
    x.f.next_pos = (int32_t)x.prompt.n;
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, x.prompt.n, &p, &r) == 0);
    CHECK(r.n_prompt_eval == 1);
    gen_result_free(&r);
    /* the model fails mid-answer: error, partial output kept */
    r = (gen_result){0};
    x.f.next_pos = 0;
    x.f.calls = 0;
    x.f.fail_at_call = 4;
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, 0, &p, &r) == -1);
    CHECK(strstr(seek_last_error(), "fake: eval failed") && r.tokens.n == 3);
    gen_result_free(&r);
    /* the model produces NaN at its 3rd call (position n_prompt + 1): said so, with the position */
    r = (gen_result){0};
    x.f.next_pos = 0;
    x.f.calls = 0;
    x.f.fail_at_call = 0;
    x.f.nan_at_call = 3;
    CHECK(generate(&x.m, x.tok, x.smp, &x.stops, x.prompt.v, x.prompt.n, 0, &p, &r) == -1);
    char want[96];
    snprintf(want, sizeof want, "the model produced NaN logits at position %d", (int)x.prompt.n + 1);
    CHECK_MSG(strstr(seek_last_error(), want) && r.tokens.n == 2, "%s", seek_last_error());
    gen_result_free(&r);
    int32_t a[] = {1, 2, 3, 4}, b[] = {1, 2, 5};
    CHECK(gen_common_prefix(a, 4, b, 3) == 2 && gen_common_prefix(a, 4, a, 2) == 2);
    teardown(&x);
}

int main(void) {
    RUN(reasoning_and_answer_streamed);
    RUN(stop_string_length_context_cancel);
    RUN(cached_prefix_and_eval_failure);
    return test_summary();
}
