/* sched.c - slots, the queue and the scheduler thread (see sched.h).
 *
 * Why a thread per slot: the library's generate() owns the whole per-token loop
 * (sampling, penalties, stop tokens and strings, UTF-8-safe detokenising, the
 * <think> split). Each slot runs it unchanged; its eval callback does not run
 * the model but posts "evaluate these ids" to the scheduler and sleeps. The
 * scheduler waits until every busy slot has posted (the time a slot needs to
 * sample is microseconds next to a forward pass), then runs all posts as ONE
 * model_forward_batch: one read of the weights serves every sequence.
 *
 * Locks: s->mu guards the slots, the queue, the posts and job reference counts;
 * job->mu guards a job's output. Order: s->mu before job->mu.
 */
#include "server/sched.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/json_util.h"
#include "util.h"

enum {
    PREFILL_BUDGET = 256, /* prompt tokens per step, over all slots: bounds a step's time */
};

typedef struct slot {
    int id;
    srv_sched *s;
    seek_kvcache *cache;
    tok_ids cached;         /* ids whose keys/values are in the cache, positions 0.. */
    srv_job *job;           /* running job, NULL when free */
    int n_cached;           /* prefix of job->prompt already in the cache */
    double last_used;
    pthread_t th;
    pthread_cond_t cv;      /* the slot thread waits here (a job, a post served) */
    /* the posted eval: ids[0..n) at pos.., `done` of them evaluated so far */
    bool posted;
    const int32_t *ids;
    int n, done;
    int32_t pos;
    float *logits;
    int rc;
    int n_logits;           /* logit rows produced for this job (index into job->forced) */
    /* logprobs: the distribution the latest token was drawn from */
    float *lp_logits;
    bool lp_have;
    int n_lp;               /* tokens whose logprobs were reported */
} slot;

struct srv_sched {
    seek_session *ss;
    int n_slots, queue_max, n_ctx, n_vocab;
    slot *slots;
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* the scheduler waits here */
    srv_job *qhead, *qtail;
    int queued, busy;
    bool stopping, quit;
    pthread_t th;
    bool th_started;
    long steps;
    long long tok_prompt, tok_gen;
    seek_seq *batch;
    slot **batch_slot;
    char step_err[256];     /* why the last failed forward step failed */
};

double srv_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---------------------------------------------------------------------------
 * Jobs */

srv_job *job_new(void) {
    srv_job *j = seek_calloc(1, sizeof *j);
    if (!j) return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    j->refs = 1;
    j->logprobs = -1;
    j->sp = sampler_defaults();
    return j;
}

static void job_free(srv_job *j) {
    tok_ids_free(&j->prompt);
    tok_ids_free(&j->forced);
    for (size_t i = 0; i < j->n_stops; i++) free(j->stops[i]);
    free(j->stops);
    sb_free(&j->reasoning);
    sb_free(&j->content);
    if (j->lp) json_decref(j->lp);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    free(j);
}

static void job_release_locked(srv_job *j) {
    if (--j->refs == 0) job_free(j);
}

void job_release(srv_sched *s, srv_job *j) {
    if (!j) return;
    if (!s) {   /* never submitted */
        job_free(j);
        return;
    }
    pthread_mutex_lock(&s->mu);
    job_release_locked(j);
    pthread_mutex_unlock(&s->mu);
}

/* Mark a job finished (error: a message, else NULL). */
static void job_finish(srv_job *j, gen_stop stop, const char *error) {
    pthread_mutex_lock(&j->mu);
    j->done = true;
    j->stop = stop;
    if (error) {
        j->error = 1;
        snprintf(j->errmsg, sizeof j->errmsg, "%s", error);
    }
    j->t_done = srv_now_ms();
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

/* ---------------------------------------------------------------------------
 * Logprobs: log-softmax of the row the token was drawn from (after masking). */

/* {token, logprob, bytes}: `token` names the token (a control token by its text, as
 * llama.cpp's server does), `bytes` are what it adds to the answer's text, which leaves
 * control tokens out (tok_stream_push): none for them, so the bytes of an answer's tokens
 * always make its text (api.c builds the legacy shape from them). */
static json_t *lp_token(const seek_tokenizer *tok, int32_t id, double lp) {
    size_t n = 0;
    const char *p = tok_piece(tok, id, &n);
    if (!p) p = "", n = 0;
    json_t *bytes = json_array();
    const size_t shown = tok_type(tok, id) == TOK_TYPE_CONTROL ? 0 : n;
    for (size_t i = 0; i < shown; i++) json_array_append_new(bytes, json_integer((unsigned char)p[i]));
    return json_pack("{s:o, s:f, s:o}", "token", srv_json_text(p, n), "logprob", lp, "bytes", bytes);
}

static json_t *lp_entry(const seek_tokenizer *tok, const float *l, int V, int32_t id, int top) {
    float mx = -INFINITY;
    for (int i = 0; i < V; i++)
        if (l[i] > mx) mx = l[i];
    double sum = 0;
    for (int i = 0; i < V; i++)
        if (l[i] > -INFINITY) sum += exp((double)l[i] - mx);
    double lse = mx + log(sum);
    json_t *e = lp_token(tok, id, l[id] - lse);
    json_t *alts = json_array();
    int picked[20];
    for (int k = 0; k < top && k < 20; k++) {   /* top-k by selection: k <= 20 */
        int best = -1;
        for (int i = 0; i < V; i++) {
            if (!(l[i] > -INFINITY)) continue;
            bool used = false;
            for (int q = 0; q < k; q++) used |= picked[q] == i;
            if (!used && (best < 0 || l[i] > l[best])) best = i;
        }
        if (best < 0) break;
        picked[k] = best;
        json_array_append_new(alts, lp_token(tok, best, l[best] - lse));
    }
    json_object_set_new(e, "top_logprobs", alts);
    return e;
}

static void lp_report(slot *sl, int32_t id) {
    srv_job *j = sl->job;
    json_t *e = lp_entry(sl->s->ss->tok, sl->lp_logits, sl->s->n_vocab, id, j->logprobs);
    pthread_mutex_lock(&j->mu);
    if (!j->lp) j->lp = json_array();
    if (e) json_array_append_new(j->lp, e);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    sl->n_lp++;
}

/* ---------------------------------------------------------------------------
 * The slot side: generate()'s callbacks */

static void slot_text(void *ud, bool is_reasoning, const char *s, size_t n) {
    srv_job *j = ((slot *)ud)->job;
    pthread_mutex_lock(&j->mu);
    sb_add(is_reasoning ? &j->reasoning : &j->content, s, n);
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
}

static int slot_eval(void *ud, const int32_t *ids, size_t n, int32_t pos, float *logits) {
    slot *sl = ud;
    srv_sched *s = sl->s;
    srv_job *j = sl->job;
    if (j->cancel) return seek_error("cancelled");
    /* a decode step: ids[0] was just drawn from the previous logits */
    if (j->logprobs >= 0 && sl->lp_have && n == 1) lp_report(sl, ids[0]);
    if (sl->cached.n > (size_t)pos) sl->cached.n = (size_t)pos;

    pthread_mutex_lock(&s->mu);
    sl->ids = ids;
    sl->n = (int)n;
    sl->done = 0;
    sl->pos = pos;
    sl->logits = logits;
    sl->rc = 0;
    sl->posted = true;
    pthread_cond_signal(&s->cv);
    while (sl->posted) pthread_cond_wait(&sl->cv, &s->mu);
    int rc = sl->rc;
    pthread_mutex_unlock(&s->mu);
    if (rc) {
        pthread_mutex_lock(&s->mu);
        seek_error("the forward pass failed: %s", s->step_err[0] ? s->step_err : "cancelled");
        pthread_mutex_unlock(&s->mu);
        return -1;
    }

    for (size_t i = 0; i < n; i++)
        if (tok_ids_push(&sl->cached, ids[i])) return -1;
    if (j->logprobs >= 0) {
        memcpy(sl->lp_logits, logits, (size_t)s->n_vocab * sizeof *logits);
        sl->lp_have = true;
    }
    if (j->t_first == 0) {
        pthread_mutex_lock(&j->mu);
        j->t_first = srv_now_ms();
        pthread_mutex_unlock(&j->mu);
    }
    return 0;
}

/* The outcome of a slot's run, reported once the slot is free again (so that a
 * client's next request, sent the moment this answer ends, finds the slot and
 * its cached prefix). */
typedef struct {
    gen_stop stop;
    char err[256];
    bool failed;
} outcome;

static void run_job(slot *sl, outcome *out) {
    srv_sched *s = sl->s;
    srv_job *j = sl->job;
    sl->n_logits = 0;
    sl->lp_have = false;
    sl->n_lp = 0;
    out->failed = false;
    out->stop = GEN_STOP_EOS;
    if (j->logprobs >= 0 && !sl->lp_logits && !(sl->lp_logits = seek_malloc((size_t)s->n_vocab * sizeof(float)))) {
        out->failed = true;
        snprintf(out->err, sizeof out->err, "out of memory");
        return;
    }
    sampler *smp = sampler_new(&j->sp, s->n_vocab);
    if (!smp) {
        out->failed = true;
        snprintf(out->err, sizeof out->err, "%s", seek_last_error());
        return;
    }
    gen_model gm = {.eval = slot_eval, .ud = sl, .n_vocab = s->n_vocab, .n_ctx = s->n_ctx};
    gen_params gp = {.max_tokens = j->max_tokens, .stop_strings = (const char *const *)j->stops,
                     .n_stop_strings = j->n_stops, .start_thinking = j->start_thinking,
                     .on_text = slot_text, .ud = sl, .cancel = &j->cancel};
    gen_result r = {0};
    int rc = generate(&gm, s->ss->tok, smp, &s->ss->stops, j->prompt.v, j->prompt.n, (size_t)sl->n_cached, &gp, &r);
    if (rc == 0 && j->logprobs >= 0 && sl->lp_have && (size_t)sl->n_lp < r.tokens.n)
        lp_report(sl, r.tokens.v[r.tokens.n - 1]);   /* the last token was never evaluated */
    pthread_mutex_lock(&s->mu);
    s->tok_prompt += r.n_prompt_eval;
    s->tok_gen += (long long)r.tokens.n;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&j->mu);
    j->n_gen = (int)r.tokens.n;
    pthread_mutex_unlock(&j->mu);
    out->stop = j->cancel ? GEN_STOP_CANCELLED : r.stop;
    if (rc && !j->cancel) {
        out->failed = true;
        snprintf(out->err, sizeof out->err, "%s", seek_last_error());
    }
    gen_result_free(&r);
    sampler_free(smp);
}

static void *slot_main(void *arg) {
    slot *sl = arg;
    srv_sched *s = sl->s;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!sl->job && !s->quit) pthread_cond_wait(&sl->cv, &s->mu);
        if (!sl->job) break;
        srv_job *j = sl->job;
        pthread_mutex_unlock(&s->mu);
        outcome out;
        run_job(sl, &out);
        pthread_mutex_lock(&s->mu);
        sl->job = NULL;   /* free first, then tell the client */
        sl->last_used = srv_now_ms();
        s->busy--;
        pthread_cond_signal(&s->cv);
        pthread_mutex_unlock(&s->mu);
        job_finish(j, out.stop, out.failed ? out.err : NULL);
        pthread_mutex_lock(&s->mu);
        job_release_locked(j);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * The scheduler side */

/* Give queued jobs to free slots: the slot whose cached ids share the longest
 * prefix with the prompt, else the one idle longest. Called with s->mu held. */
static void assign(srv_sched *s) {
    while (s->qhead) {
        srv_job *j = s->qhead;
        if (j->cancel) {   /* gave up while waiting */
            s->qhead = j->next;
            if (!s->qhead) s->qtail = NULL;
            s->queued--;
            job_finish(j, GEN_STOP_CANCELLED, NULL);
            job_release_locked(j);
            continue;
        }
        slot *best = NULL;
        size_t best_len = 0;
        for (int i = 0; i < s->n_slots; i++) {
            slot *sl = &s->slots[i];
            if (sl->job) continue;
            size_t len = gen_common_prefix(sl->cached.v, sl->cached.n, j->prompt.v, j->prompt.n);
            if (!best || len > best_len || (len == best_len && sl->last_used < best->last_used)) {
                best = sl;
                best_len = len;
            }
        }
        if (!best) return;
        s->qhead = j->next;
        if (!s->qhead) s->qtail = NULL;
        s->queued--;
        j->next = NULL;
        if (best_len >= j->prompt.n) best_len = j->prompt.n - 1;   /* the last one gives the logits */
        best->cached.n = best_len;
        best->n_cached = (int)best_len;
        best->job = j;
        s->busy++;
        pthread_mutex_lock(&j->mu);
        j->started = true;
        j->n_cached = (int)best_len;
        j->t_start = srv_now_ms();
        pthread_cond_broadcast(&j->cv);
        pthread_mutex_unlock(&j->mu);
        pthread_cond_signal(&best->cv);
    }
}

/* Logits of a finished post: padding ids never win; the test hook forces tokens. */
static void fix_logits(srv_sched *s, slot *sl) {
    float *l = sl->logits;
    const bool *banned = s->ss->banned;
    for (int i = 0; i < s->n_vocab; i++)
        if (banned[i]) l[i] = -INFINITY;
    srv_job *j = sl->job;
    int k = sl->n_logits++;
    if ((size_t)k < j->forced.n) {
        int32_t id = j->forced.v[k];
        for (int i = 0; i < s->n_vocab; i++) l[i] = i == id ? 0.0f : -INFINITY;
    }
}

static void *sched_main(void *arg) {
    srv_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        assign(s);
        if (s->quit) break;
        /* a step runs when every busy slot has posted */
        bool any = false, all = true;
        for (int i = 0; i < s->n_slots; i++) {
            if (!s->slots[i].job) continue;
            if (s->slots[i].posted) any = true;
            else all = false;
        }
        if (!any || !all) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        /* decode tokens first, then prompt chunks up to the budget */
        int nb = 0, budget = PREFILL_BUDGET;
        for (int pass = 0; pass < 2; pass++) {
            for (int i = 0; i < s->n_slots; i++) {
                slot *sl = &s->slots[i];
                if (!sl->job || !sl->posted) continue;
                if (sl->job->cancel && pass == 0) {   /* stop a long prompt between chunks */
                    sl->rc = -1;
                    sl->posted = false;
                    pthread_cond_signal(&sl->cv);
                    continue;
                }
                int left = sl->n - sl->done;
                if ((pass == 0) != (left == 1)) continue;
                int take = left;
                if (pass == 1) {
                    if (budget <= 0) continue;
                    if (take > budget) take = budget;
                    budget -= take;
                }
                bool last = sl->done + take == sl->n;
                s->batch[nb] = (seek_seq){.cache = sl->cache, .tokens = sl->ids + sl->done, .n = take,
                                          .pos0 = sl->pos + sl->done, .logits = last ? sl->logits : NULL};
                s->batch_slot[nb++] = sl;
            }
        }
        if (nb == 0) continue;   /* every post was cancelled */
        pthread_mutex_unlock(&s->mu);
        int rc = model_forward_batch(s->ss->model, s->batch, nb);
        pthread_mutex_lock(&s->mu);
        if (rc) snprintf(s->step_err, sizeof s->step_err, "%s", seek_last_error());
        s->steps++;
        for (int b = 0; b < nb; b++) {
            slot *sl = s->batch_slot[b];
            sl->done += s->batch[b].n;
            if (rc) sl->rc = -1;
            else if (sl->done < sl->n) continue;
            else fix_logits(s, sl);
            sl->posted = false;
            pthread_cond_signal(&sl->cv);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ---------------------------------------------------------------------------
 * Life cycle */

srv_sched *sched_new(seek_session *ss, int n_slots, int queue_max) {
    srv_sched *s = seek_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->ss = ss;
    s->n_slots = n_slots;
    s->queue_max = queue_max;
    s->n_ctx = ss->n_ctx;
    s->n_vocab = ss->model->hp.n_vocab;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->slots = seek_calloc((size_t)n_slots, sizeof *s->slots);
    s->batch = seek_calloc((size_t)n_slots, sizeof *s->batch);
    s->batch_slot = seek_calloc((size_t)n_slots, sizeof *s->batch_slot);
    if (!s->slots || !s->batch || !s->batch_slot) goto fail;
    for (int i = 0; i < n_slots; i++) {
        slot *sl = &s->slots[i];
        sl->id = i;
        sl->s = s;
        pthread_cond_init(&sl->cv, NULL);
        sl->cache = i == 0 ? ss->cache : kvcache_new_type(ss->model, s->n_ctx, ss->cache->type);   /* same type as the session's */
        if (!sl->cache) goto fail;
    }
    for (int i = 0; i < n_slots; i++) {
        if (pthread_create(&s->slots[i].th, NULL, slot_main, &s->slots[i])) {
            seek_error("cannot start a slot thread");
            goto fail;   /* threads started so far are joined by sched_free */
        }
    }
    if (pthread_create(&s->th, NULL, sched_main, s)) {
        seek_error("cannot start the scheduler thread");
        goto fail;
    }
    s->th_started = true;
    return s;
fail:
    sched_free(s);
    return NULL;
}

int sched_submit(srv_sched *s, srv_job *j) {
    pthread_mutex_lock(&s->mu);
    int rc = 0;
    if (s->stopping) rc = -2;
    else if (s->queued >= s->queue_max) rc = -1;
    else {
        j->refs++;
        j->t_submit = srv_now_ms();
        j->next = NULL;
        if (s->qtail) s->qtail->next = j;
        else s->qhead = j;
        s->qtail = j;
        s->queued++;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return rc;
}

void sched_get_stats(srv_sched *s, sched_stats *st) {
    pthread_mutex_lock(&s->mu);
    st->n_slots = s->n_slots;
    st->busy = s->busy;
    st->queued = s->queued;
    st->steps = s->steps;
    st->tokens_prompt = s->tok_prompt;
    st->tokens_generated = s->tok_gen;
    pthread_mutex_unlock(&s->mu);
}

void sched_cancel_all(srv_sched *s) {
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    for (srv_job *j = s->qhead; j; j = j->next) j->cancel = 1;
    for (int i = 0; s->slots && i < s->n_slots; i++)
        if (s->slots[i].job) s->slots[i].job->cancel = 1;
    assign(s);   /* finishes the cancelled queue */
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void sched_free(srv_sched *s) {
    if (!s) return;
    sched_cancel_all(s);
    pthread_mutex_lock(&s->mu);
    while (s->busy > 0) {
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        pthread_mutex_lock(&s->mu);
    }
    s->quit = true;
    pthread_cond_broadcast(&s->cv);
    for (int i = 0; s->slots && i < s->n_slots; i++) pthread_cond_broadcast(&s->slots[i].cv);
    pthread_mutex_unlock(&s->mu);
    if (s->th_started) pthread_join(s->th, NULL);
    for (int i = 0; s->slots && i < s->n_slots; i++) {
        slot *sl = &s->slots[i];
        if (sl->th) pthread_join(sl->th, NULL);
        if (i > 0) kvcache_free(sl->cache);
        tok_ids_free(&sl->cached);
        free(sl->lp_logits);
        pthread_cond_destroy(&sl->cv);
    }
    free(s->slots);
    free(s->batch);
    free(s->batch_slot);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
