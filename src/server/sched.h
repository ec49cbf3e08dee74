/* sched.h - continuous batching: N slots, a bounded queue, one forward call per step.
 *
 *   HTTP thread ──job──► queue ──► free slot (longest cached prefix wins)
 *                                      │ slot thread runs generate() (sampling, stop
 *                                      │ strings, <think> split: the library's loop)
 *                                      ▼
 *                 generate's eval(ids) posts a request and waits
 *                                      │
 *   scheduler thread: when every busy slot has posted, ONE model_forward_batch over
 *   all of them (decode tokens + prefill chunks), logits back, slots go on.
 *
 * Each slot owns a KV cache and the ids it holds, so a request whose prompt starts
 * like a slot's previous conversation only evaluates the rest. Requests join and
 * leave between steps. A job is shared by the HTTP side and the scheduler side
 * (reference counted); the HTTP side reads its output as it grows (job->mu/cv).
 */
#ifndef SEEK_SERVER_SCHED_H
#define SEEK_SERVER_SCHED_H

#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "generate.h"
#include "sampler.h"
#include "session.h"
#include "strbuf.h"

typedef struct srv_job {
    /* ---- the request: set before sched_submit, read-only afterwards ---- */
    tok_ids prompt;
    sampler_params sp;
    int max_tokens;            /* <= 0: until the context is full */
    char **stops;              /* stop strings (owned) */
    size_t n_stops;
    bool start_thinking;       /* the prompt opened <think> */
    int logprobs;              /* < 0 off, else how many top alternatives (0..20) */
    tok_ids forced;            /* test hook: the first answer tokens, forced */

    /* ---- progress, under mu (cv is signalled on every change) ---- */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    strbuf reasoning, content; /* text not yet taken by the reader */
    json_t *lp;                /* logprob entries not yet taken (array), or NULL */
    bool started, done;
    int error;                 /* done with an error: errmsg */
    char errmsg[256];
    gen_stop stop;
    int n_prompt, n_cached, n_gen;
    double t_submit, t_start, t_first, t_done; /* ms, monotonic */

    volatile sig_atomic_t cancel; /* set by the HTTP side: stop and free the slot */
    int refs;                     /* guarded by the scheduler's lock */
    struct srv_job *next;         /* queue link */
} srv_job;

typedef struct srv_sched srv_sched;

/* A job with one reference (the caller's). NULL on out of memory. */
srv_job *job_new(void);
/* Drop one reference; the last one frees the job. */
void job_release(srv_sched *s, srv_job *j);

/* Start n_slots slots (each with an n_ctx cache; the session's own cache is slot 0's)
 * and the scheduler thread. queue_max: waiting jobs beyond which submit fails. */
srv_sched *sched_new(seek_session *ss, int n_slots, int queue_max);
/* Queue a job (takes a reference). 0, -1 queue full, -2 shutting down. */
int sched_submit(srv_sched *s, srv_job *j);
/* Snapshot for /metrics and /health. */
typedef struct {
    int n_slots, busy, queued;
    long steps;
    long long tokens_prompt, tokens_generated; /* evaluated prompt tokens / sampled tokens */
} sched_stats;
void sched_get_stats(srv_sched *s, sched_stats *st);
/* Refuse new jobs; cancel everything queued or running (each job ends as cancelled). */
void sched_cancel_all(srv_sched *s);
/* sched_cancel_all, wait for the slots to finish, stop the threads, free. */
void sched_free(srv_sched *s);

double srv_now_ms(void);

#endif
