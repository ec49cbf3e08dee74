/* session.c - model + tokenizer + template + KV cache, and the cache reuse across turns.
 * See session.h. */
#include "session.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "reasoning.h"
#include "util.h"

enum { PREFILL_CHUNK = 512 };   /* prompt tokens per forward call: bounds activation memory */

void session_close(seek_session *s) {
    if (!s) return;
    kvcache_free(s->cache);
    model_free(s->model);
    tok_free(s->tok);
    chat_template_free(&s->tmpl);
    stop_tokens_free(&s->stops);
    tok_ids_free(&s->cached);
    free(s->banned);
    free(s);
}

/* Ids the sampler must never pick: rows of the output matrix with no token behind
 * them (vocab padding, marked UNUSED by converters) or past the tokenizer's end. */
static int ban_padding(seek_session *s) {
    const int V = s->model->hp.n_vocab, NT = tok_n_vocab(s->tok);
    if (!(s->banned = seek_calloc((size_t)V, sizeof *s->banned))) return -1;
    int n_ok = 0;
    for (int i = 0; i < V; i++) {
        s->banned[i] = i >= NT || tok_type(s->tok, i) == TOK_TYPE_UNUSED;
        n_ok += !s->banned[i];
    }
    return n_ok ? 0 : seek_error("the tokenizer has no usable token");
}

int session_default_ctx(const seek_hparams *hp) {
    const int c = hp->n_ctx_train;
    return c <= 0 || c > SESSION_MAX_DEFAULT_CTX ? SESSION_MAX_DEFAULT_CTX : c;
}

seek_session *session_open(const char *path, const session_opts *o) {
    seek_session *s = seek_calloc(1, sizeof *s);
    if (!s) return NULL;
    char *jinja = NULL;
    if (!(s->model = model_load(path))) goto fail;
    if (!(s->tok = tok_load_gguf(s->model->gguf))) goto fail;   /* the message names the file */
    if (tok_n_vocab(s->tok) > s->model->hp.n_vocab) {
        seek_error("%s: the tokenizer has %d tokens but the model only %d outputs", path, tok_n_vocab(s->tok),
                   s->model->hp.n_vocab);
        goto fail;
    }
    if (o && o->chat_template_file) {
        size_t len;
        if (!(jinja = seek_read_file(o->chat_template_file, &len))) goto fail;
    } else {
        jinja = gguf_get_string(s->model->gguf, "tokenizer.chat_template");   /* NULL: none */
    }
    int32_t bos = tok_bos(s->tok), eos = tok_eos(s->tok);
    if (chat_template_init(&s->tmpl, jinja, bos >= 0 ? tok_text(s->tok, bos) : NULL,
                           eos >= 0 ? tok_text(s->tok, eos) : NULL))
        goto fail;
    /* stop on EOS and on the token that ends an assistant turn in this format */
    if (stop_tokens_add(&s->stops, eos) || stop_tokens_add(&s->stops, tok_find(s->tok, chat_end_of_turn(&s->tmpl))))
        goto fail;
    if (ban_padding(s)) goto fail;
    s->n_ctx = o && o->n_ctx > 0 ? o->n_ctx : session_default_ctx(&s->model->hp);
    seek_type ct = SESSION_CACHE_TYPE;
    if (o && o->cache_type && kv_type_parse(o->cache_type, &ct)) goto fail;
    if (!(s->cache = kvcache_new_type(s->model, s->n_ctx, ct))) goto fail;
    free(jinja);
    return s;
fail:
    free(jinja);
    session_close(s);
    return NULL;
}

void session_reset(seek_session *s) {
    s->cached.n = 0;
    s->cache->n_past = 0;
}

/* ---- prompt ---- */

static long count_tokens(void *ud, const char *text, size_t len) {
    tok_ids ids = {0};
    long n = tok_encode(ud, text, len, false, &ids) ? -1 : (long)ids.n;
    tok_ids_free(&ids);
    return n;
}

int session_prompt(seek_session *s, const chat_msg *msgs, size_t n, const chat_render_opts *ro, int n_reserve,
                   bool drop_oldest, tok_ids *prompt, chat_fit_result *fit, bool *opens_think) {
    chat_fit_result f;
    long budget = (long)s->n_ctx - (n_reserve > 0 ? n_reserve : 0);
    if (budget < 1) return seek_error("context of %d tokens leaves no room for the prompt", s->n_ctx);
    if (chat_fit(&s->tmpl, msgs, n, ro, budget, drop_oldest, count_tokens, s->tok, &f)) return -1;
    chat_render_opts r = *ro;
    r.keep_from = f.keep_from;
    size_t len;
    char *text = chat_render(&s->tmpl, msgs, n, &r, &len);
    if (!text) return -1;
    prompt->n = 0;
    int rc = tok_encode(s->tok, text, len, false, prompt);
    if (rc == 0 && prompt->n == 0) rc = seek_error("the prompt is empty");
    if (opens_think) *opens_think = reasoning_prompt_opens(text, len);
    free(text);
    if (fit) *fit = f;
    return rc;
}

/* ---- generation ---- */

/* Run ids[0..n) at pos.. through the model, keeping `cached` true to the cache:
 * entries from pos on are overwritten, so on failure the cache is valid up to pos. */
static int forward_ids(seek_session *s, const int32_t *ids, size_t n, int32_t pos, float *logits) {
    if (s->cached.n > (size_t)pos) s->cached.n = (size_t)pos;
    seek_seq q = {.cache = s->cache, .tokens = ids, .n = (int)n, .pos0 = pos, .logits = logits, .all_logits = false};
    if (model_forward_batch(s->model, &q, 1)) return -1;
    for (size_t i = 0; i < n; i++)
        if (tok_ids_push(&s->cached, ids[i])) return -1;
    return 0;
}

/* gen_model.eval over the session's cache: the prompt in chunks, the last chunk asking for
 * the logits of its last token only (the output head costs V x D per row), padding ids
 * masked out of them. Ctrl-C is honoured between chunks. */
static int session_eval(void *ud, const int32_t *ids, size_t n, int32_t pos, float *logits) {
    seek_session *s = ud;
    for (size_t done = 0; done < n;) {
        if (n > 1 && s->cancel && *s->cancel) return seek_error("cancelled");
        size_t k = n - done < PREFILL_CHUNK ? n - done : PREFILL_CHUNK;
        if (forward_ids(s, ids + done, k, pos + (int32_t)done, done + k == n ? logits : NULL)) return -1;
        done += k;
    }
    for (int i = 0; i < s->model->hp.n_vocab; i++)
        if (s->banned[i]) logits[i] = -INFINITY;
    return 0;
}

int session_generate(seek_session *s, const tok_ids *prompt, sampler *smp, const gen_params *p, gen_result *r) {
    size_t n_cached = gen_common_prefix(s->cached.v, s->cached.n, prompt->v, prompt->n);
    if (n_cached == prompt->n) n_cached--;   /* the last prompt token is evaluated again for its logits */
    s->cached.n = n_cached;
    gen_model gm = {.eval = session_eval, .ud = s, .n_vocab = s->model->hp.n_vocab, .n_ctx = s->n_ctx};
    return generate(&gm, s->tok, smp, &s->stops, prompt->v, prompt->n, n_cached, p, r);
}
