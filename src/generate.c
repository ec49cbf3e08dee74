/* generate.c - prompt evaluation and the sample/detokenise/stop loop (see generate.h). */
#include "generate.h"

#include <math.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "reasoning.h"
#include "util.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

const char *gen_stop_name(gen_stop s) {
    switch (s) {
    case GEN_STOP_EOS: return "eos";
    case GEN_STOP_STRING: return "stop";
    case GEN_STOP_LENGTH: return "length";
    case GEN_STOP_CONTEXT: return "context";
    case GEN_STOP_CANCELLED: return "cancelled";
    }
    return "?";
}

size_t gen_common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb) {
    size_t i = 0;
    while (i < na && i < nb && a[i] == b[i]) i++;
    return i;
}

void gen_result_free(gen_result *r) {
    sb_free(&r->reasoning);
    sb_free(&r->content);
    tok_ids_free(&r->tokens);
}

/* The reasoning splitter's output goes to the result and to the caller. */
typedef struct {
    gen_result *r;
    const gen_params *p;
    int oom;
} sink;

static void on_split(void *ud, bool is_reasoning, const char *s, size_t n) {
    sink *k = ud;
    if (sb_add(is_reasoning ? &k->r->reasoning : &k->r->content, s, n)) k->oom = 1;
    if (k->p->on_text) k->p->on_text(k->p->ud, is_reasoning, s, n);
}

/* NaN or +inf logits mean the model's arithmetic broke down (a damaged file, weights that
 * overflow); -inf is a masked-out token. Returns -1 with the error set if any is found. */
static int logits_broken(const float *l, int32_t n_vocab, int32_t pos) {
    for (int32_t i = 0; i < n_vocab; i++)
        if (isnan(l[i]) || l[i] == INFINITY)
            return seek_error("the model produced %s logits at position %d (token id %d among them): the model "
                              "file may be damaged or its weights overflow", isnan(l[i]) ? "NaN" : "infinite", (int)pos,
                              (int)i);
    return 0;
}

int generate(const gen_model *m, const seek_tokenizer *tok, sampler *s, const stop_tokens *stops,
             const int32_t *prompt, size_t n_prompt, size_t n_cached, const gen_params *p, gen_result *r) {
    if (n_prompt == 0) return seek_error("generate: empty prompt");
    if (n_prompt >= (size_t)m->n_ctx)
        return seek_error("the prompt is %zu tokens but the context holds %d", n_prompt, (int)m->n_ctx);
    /* The last prompt token is always evaluated: its logits start the answer. */
    if (n_cached >= n_prompt) n_cached = n_prompt - 1;

    float *logits = seek_malloc((size_t)m->n_vocab * sizeof *logits);
    char *piece = NULL;
    size_t piece_cap = 0;
    stop_matcher sm;
    if (!logits || stop_init(&sm, p->stop_strings, p->n_stop_strings)) {
        free(logits);
        return -1;
    }
    sink k = {.r = r, .p = p};
    reasoning_parser rp;
    reasoning_init(&rp, p->start_thinking, on_split, &k);
    tok_stream ts;
    tok_stream_init(&ts, tok, false);
    strbuf shown = {0}; /* text released by the stop matcher, for this token */
    int rc = 0;

    double t0 = now_ms();
    if (m->eval(m->ud, prompt + n_cached, n_prompt - n_cached, (int32_t)n_cached, logits)) {
        rc = -1;
        goto done;
    }
    r->n_prompt_eval = (int32_t)(n_prompt - n_cached);
    r->n_past = (int32_t)n_prompt;
    double t1 = now_ms();
    r->prompt_ms = t1 - t0;

    for (;;) {
        if (p->cancel && *p->cancel) {
            r->stop = GEN_STOP_CANCELLED;
            break;
        }
        /* a NaN would surface as the sampler's "no finite logit": say where it came from */
        if (logits_broken(logits, m->n_vocab, r->n_past - 1)) {
            rc = -1;
            break;
        }
        int32_t id = sampler_sample(s, logits);
        if (id < 0) {
            rc = -1;
            break;
        }
        if (stop_tokens_has(stops, id)) {
            r->stop = GEN_STOP_EOS;
            break;
        }
        if (sampler_accept(s, id) || tok_ids_push(&r->tokens, id)) {
            rc = -1;
            break;
        }
        size_t plen = 0;
        if (!tok_piece(tok, id, &plen)) plen = 0;
        if (seek_reserve(&piece, &piece_cap, plen + 16, 1, 256)) {
            rc = -1;
            break;
        }
        int n = tok_stream_push(&ts, id, piece, piece_cap);
        if (n < 0) {
            rc = seek_error("generate: token %d is not in the vocabulary", (int)id);
            break;
        }
        sb_clear(&shown);
        int hit = stop_feed(&sm, piece, (size_t)n, &shown);
        if (hit < 0 || reasoning_feed(&rp, shown.s, shown.n)) {
            rc = -1;
            break;
        }
        if (hit) {
            r->stop = GEN_STOP_STRING;
            break;
        }
        if (p->max_tokens > 0 && r->tokens.n >= (size_t)p->max_tokens) {
            r->stop = GEN_STOP_LENGTH;
            break;
        }
        if (r->n_past >= m->n_ctx) {
            r->stop = GEN_STOP_CONTEXT;
            break;
        }
        if (m->eval(m->ud, &id, 1, r->n_past, logits)) {
            rc = -1;
            break;
        }
        r->n_past++;
    }
    r->gen_ms = now_ms() - t1;

    /* Release what the detokeniser and the stop matcher still hold. */
    if (r->stop != GEN_STOP_STRING) {
        if (seek_reserve(&piece, &piece_cap, 16, 1, 256) == 0) {
            int n = tok_stream_flush(&ts, piece, piece_cap);
            sb_clear(&shown);
            if (n > 0) stop_feed(&sm, piece, (size_t)n, &shown);
            stop_flush(&sm, &shown);
            reasoning_feed(&rp, shown.s, shown.n);
        }
    }
    reasoning_finish(&rp);
    r->reasoning_opened = rp.opened;
    r->reasoning_closed = rp.closed;
    if (k.oom && rc == 0) rc = seek_error("generate: out of memory");
done:
    reasoning_free(&rp);
    stop_free(&sm);
    sb_free(&shown);
    free(piece);
    free(logits);
    return rc;
}
