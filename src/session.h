/* session.h - a loaded model ready to talk: model + tokenizer + chat template + KV cache.
 *
 * What `seek run`, `seek chat` and the server share between "a GGUF path" and
 * "generate()": loading, choosing the template, the stop tokens, turning a
 * conversation into prompt ids (fitted to the context), and reusing the KV cache
 * across turns:
 *
 *   conversation ──chat_fit/chat_render──► prompt text ──tok_encode──► prompt ids
 *   prompt ids ∩ ids already in the cache (common prefix) ──► generate(n_cached)
 *   cache ids := prompt + the generated tokens that were evaluated
 *
 * Each turn re-renders the whole conversation: templates rewrite history (R1
 * drops earlier reasoning), and the common prefix keeps that cheap.
 */
#ifndef SEEK_SESSION_H
#define SEEK_SESSION_H

#include <signal.h>
#include <stdbool.h>

#include "chat.h"
#include "generate.h"
#include "model.h"
#include "tokenizer.h"

typedef struct {
    int n_ctx;                      /* <= 0: the model's training context, at most 4096 */
    const char *chat_template_file; /* a Jinja file to use instead of the model's own, or NULL */
    const char *cache_type;         /* KV cache element type f32|f16|bf16|q8_0; NULL: f16 */
} session_opts;

typedef struct {
    seek_model *model;
    seek_tokenizer *tok;
    seek_kvcache *cache;
    chat_template tmpl;
    stop_tokens stops;      /* EOS and the template's end-of-turn token */
    int n_ctx;
    tok_ids cached;         /* ids whose keys/values are in the cache, positions 0..n-1 */
    bool *banned;           /* [n_vocab] ids never sampled: padding, ids past the tokenizer */
    volatile sig_atomic_t *cancel; /* checked between prompt chunks (may be NULL) */
} seek_session;

/* The defaults session_open uses without options: the model's training context, at most
 * 4096 tokens (the cache is allocated up front), and an F16 cache (half F32's memory,
 * logits within 1e-3: docs/engine.md). seek info reports the cache from them. */
enum { SESSION_MAX_DEFAULT_CTX = 4096 };
#define SESSION_CACHE_TYPE SEEK_TYPE_F16
int session_default_ctx(const seek_hparams *hp);

/* Load a GGUF model with its tokenizer and template. NULL on error (set). */
seek_session *session_open(const char *path, const session_opts *o);
void session_close(seek_session *s);

/* Render msgs with the template (thinking / generation prompt from `ro`), fit it
 * into n_ctx - n_reserve tokens (drop_oldest: leave out the oldest turns;
 * otherwise a clear error) and encode it. `prompt` is cleared first; *fit gets
 * what was dropped; *opens_think whether the prompt leaves <think> open.
 * Returns 0, or -1 with the error set. */
int session_prompt(seek_session *s, const chat_msg *msgs, size_t n, const chat_render_opts *ro, int n_reserve,
                   bool drop_oldest, tok_ids *prompt, chat_fit_result *fit, bool *opens_think);

/* Generate after `prompt`, reusing the cache's common prefix. r must be zeroed.
 * Returns 0, or -1 (set); the cache bookkeeping is right either way. */
int session_generate(seek_session *s, const tok_ids *prompt, sampler *smp, const gen_params *p, gen_result *r);

/* Forget the cache (a new conversation). */
void session_reset(seek_session *s);

#endif
