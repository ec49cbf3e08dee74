/* threads.c - the worker pool behind par_for. See threads.h.
 *
 * One job at a time: the caller publishes (fn, ud, n), bumps a generation
 * counter and wakes the workers; worker i runs range i, the caller runs range 0,
 * and the last one to finish signals the caller. Workers sleep on a condition
 * variable between jobs. */
#include "threads.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

enum { MAX_THREADS = 256 };

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t tid[MAX_THREADS];
    int n_threads;          /* including the caller */
    int n_started;          /* workers running */
    uint64_t generation;    /* bumped for each job */
    uint64_t start_gen;     /* generation when the workers were created: jobs after it are theirs */
    int pending;            /* workers still busy with the current job */
    bool quit;
    par_fn fn;
    void *ud;
    int64_t n;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;   /* one par_for at a time */
static _Thread_local bool in_par;                            /* nested calls run serially */

static void run_range(int i, int nt, par_fn fn, void *ud, int64_t n) {
    int64_t b = n * i / nt, e = n * (i + 1) / nt;
    if (b < e) fn(ud, b, e);
}

static void *worker(void *arg) {
    int i = (int)(intptr_t)arg;
    in_par = true;
    pthread_mutex_lock(&pool.mu);
    uint64_t seen = pool.start_gen;   /* not pool.generation: a job may already be waiting */
    for (;;) {
        while (!pool.quit && pool.generation == seen) pthread_cond_wait(&pool.wake, &pool.mu);
        if (pool.quit) break;
        seen = pool.generation;
        par_fn fn = pool.fn;
        void *ud = pool.ud;
        int64_t n = pool.n;
        int nt = pool.n_threads;
        pthread_mutex_unlock(&pool.mu);
        run_range(i, nt, fn, ud, n);
        pthread_mutex_lock(&pool.mu);
        if (--pool.pending == 0) pthread_cond_signal(&pool.done);
    }
    pthread_mutex_unlock(&pool.mu);
    return NULL;
}

static int default_threads(void) {
    const char *e = getenv("SEEK_THREADS");
    long n = e ? strtol(e, NULL, 10) : 0;
    if (n < 1) n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    return n > MAX_THREADS ? MAX_THREADS : (int)n;
}

static void stop_pool(void) {
    pthread_mutex_lock(&pool.mu);
    pool.quit = true;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.n_started; i++) pthread_join(pool.tid[i + 1], NULL);
    pool.n_started = 0;
    pool.quit = false;
}

/* Start the workers (caller holds job_mu). Falls back to fewer threads if creation fails. */
static void start_pool(void) {
    if (!pool.n_threads) pool.n_threads = default_threads();
    if (pool.n_started + 1 < pool.n_threads) pool.start_gen = pool.generation;
    while (pool.n_started + 1 < pool.n_threads) {
        int i = pool.n_started + 1;
        if (pthread_create(&pool.tid[i], NULL, worker, (void *)(intptr_t)i)) {
            pool.n_threads = i;
            break;
        }
        pool.n_started++;
    }
}

int seek_threads(void) {
    pthread_mutex_lock(&job_mu);
    if (!pool.n_threads) pool.n_threads = default_threads();
    int n = pool.n_threads;
    pthread_mutex_unlock(&job_mu);
    return n;
}

void seek_set_threads(int n) {
    pthread_mutex_lock(&job_mu);
    stop_pool();
    pool.n_threads = n < 1 ? default_threads() : n > MAX_THREADS ? MAX_THREADS : n;
    pthread_mutex_unlock(&job_mu);
}

void par_for(int64_t n, par_fn fn, void *ud) {
    if (n <= 0) return;
    if (in_par || n == 1) {
        fn(ud, 0, n);
        return;
    }
    pthread_mutex_lock(&job_mu);
    start_pool();
    int nt = pool.n_threads;
    if (nt == 1) {
        pthread_mutex_unlock(&job_mu);
        fn(ud, 0, n);
        return;
    }
    pthread_mutex_lock(&pool.mu);
    pool.fn = fn, pool.ud = ud, pool.n = n;
    pool.pending = nt - 1;
    pool.generation++;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    in_par = true;
    run_range(0, nt, fn, ud, n);
    in_par = false;
    pthread_mutex_lock(&pool.mu);
    while (pool.pending) pthread_cond_wait(&pool.done, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
    pthread_mutex_unlock(&job_mu);
}
