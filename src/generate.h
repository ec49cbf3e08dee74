/* generate.h - the generation loop, independent of the model.
 *
 *   prompt ids ──► eval ──► logits ──► sampler ──► id ──► stop token? ──► detokenise (UTF-8 safe)
 *        ▲                                          │                          │
 *        └──────────── eval(id) ◄───────────────────┘          stop strings ◄──┘
 *                                                                   │
 *                                          <think> splitter ──► on_text(reasoning | content)
 *
 * The model is reached only through gen_model.eval, so `seek run`, `seek chat`
 * and the server share this loop whatever the architecture, and tests drive it
 * with a scripted fake model.
 */
#ifndef SEEK_GENERATE_H
#define SEEK_GENERATE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler.h"
#include "stop.h"
#include "strbuf.h"
#include "tokenizer.h"

typedef struct {
    /* Evaluate ids[0..n) at positions pos..pos+n-1 (the cache already holds
     * positions 0..pos-1) and write the logits of the last one to logits[n_vocab].
     * Returns 0, or -1 with the error set. */
    int (*eval)(void *ud, const int32_t *ids, size_t n, int32_t pos, float *logits);
    void *ud;
    int32_t n_vocab; /* length of a logits row (>= the tokenizer's vocabulary) */
    int32_t n_ctx;   /* positions the cache holds */
} gen_model;

typedef void (*gen_text_fn)(void *ud, bool is_reasoning, const char *s, size_t n);

typedef struct {
    int32_t max_tokens;              /* <= 0: until the context is full */
    const char *const *stop_strings; /* may be NULL */
    size_t n_stop_strings;
    bool start_thinking;             /* the prompt opened <think> (reasoning_prompt_opens) */
    gen_text_fn on_text;             /* streamed text, may be NULL */
    void *ud;
    volatile sig_atomic_t *cancel;   /* non-zero: stop before the next token (Ctrl-C) */
} gen_params;

typedef enum {
    GEN_STOP_EOS,       /* a stop token (EOS / end of turn) */
    GEN_STOP_STRING,    /* a stop string */
    GEN_STOP_LENGTH,    /* max_tokens */
    GEN_STOP_CONTEXT,   /* the context is full */
    GEN_STOP_CANCELLED, /* *cancel was set */
} gen_stop;

typedef struct {
    strbuf reasoning, content;
    tok_ids tokens;        /* the generated ids, without the stop token */
    int32_t n_prompt_eval; /* prompt tokens evaluated (the rest were cached) */
    int32_t n_past;        /* positions now in the cache: prompt + evaluated generated tokens */
    double prompt_ms, gen_ms;
    gen_stop stop;
    bool reasoning_opened, reasoning_closed;
} gen_result;

/* Run the loop. The cache holds prompt[0..n_cached) already (0 for a fresh
 * one). `r` must be zeroed; free it with gen_result_free. Returns 0, or -1
 * (prompt longer than the context, eval or sampler failure) with the error set;
 * what was generated before a failure is kept in r. */
int generate(const gen_model *m, const seek_tokenizer *tok, sampler *s, const stop_tokens *stops,
             const int32_t *prompt, size_t n_prompt, size_t n_cached, const gen_params *p, gen_result *r);
void gen_result_free(gen_result *r);
const char *gen_stop_name(gen_stop s);

/* Length of the common prefix of two id sequences (how much of a cache can be reused). */
size_t gen_common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb);

#endif
