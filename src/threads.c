/* threads.c - the worker pool behind par_for. See threads.h.
 *
 * One job at a time: the caller publishes (fn, ud, n), bumps a generation counter and
 * wakes the workers; worker i runs range i, the caller runs range 0, and the last one to
 * finish tells the caller.
 *
 * Waiting spins first, then sleeps. A decode step is ~200 short jobs (one per matmul), so
 * a futex sleep and wake per job cost several % of decode; a worker that finished a job
 * therefore polls the generation for up to SPIN_NS before it sleeps on the condition
 * variable, and the caller polls `pending` the same way. A pool idle for longer (between
 * requests, while sampling) sleeps and burns no CPU.
 *
 * No lost wake-up: a worker that goes to sleep counts itself in `sleepers` and re-reads
 * the generation under `mu`; the caller bumps the generation first and then, under `mu`,
 * broadcasts if anyone sleeps. The same handshake (`caller_sleeps`) covers `done`. */
#include "threads.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { MAX_THREADS = 256 };
#define SPIN_NS 200000   /* 0.2 ms: longer than the gaps between a decode step's jobs */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t tid[MAX_THREADS];
    int n_threads;                 /* including the caller */
    int n_started;                 /* workers running */
    _Atomic uint64_t generation;   /* bumped for each job (after fn/ud/n are written) */
    uint64_t start_gen;            /* generation when the workers were created: jobs after it are theirs */
    _Atomic int pending;           /* workers still busy with the current job */
    int sleepers;                  /* workers asleep on `wake` (under mu) */
    bool caller_sleeps;            /* the caller is asleep on `done` (under mu) */
    _Atomic bool quit;
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

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Poll until done(arg) holds or SPIN_NS pass; true if it holds. */
static bool spin_until(bool (*done)(uint64_t), uint64_t arg) {
    int64_t t0 = 0;
    for (int i = 0;; i++) {
        if (done(arg)) return true;
        cpu_relax();
        if ((i & 63) == 63) {
            int64_t t = now_ns();
            if (!t0) t0 = t;
            else if (t - t0 > SPIN_NS) return false;
        }
    }
}
static bool new_job(uint64_t seen) {
    return atomic_load_explicit(&pool.generation, memory_order_acquire) != seen || atomic_load(&pool.quit);
}
static bool all_done(uint64_t unused) {
    (void)unused;
    return atomic_load_explicit(&pool.pending, memory_order_acquire) == 0;
}

static void *worker(void *arg) {
    int i = (int)(intptr_t)arg;
    in_par = true;
    pthread_mutex_lock(&pool.mu);
    uint64_t seen = pool.start_gen;   /* not pool.generation: a job may already be waiting */
    pthread_mutex_unlock(&pool.mu);
    for (;;) {
        if (!spin_until(new_job, seen)) {
            pthread_mutex_lock(&pool.mu);
            pool.sleepers++;
            while (!new_job(seen)) pthread_cond_wait(&pool.wake, &pool.mu);
            pool.sleepers--;
            pthread_mutex_unlock(&pool.mu);
        }
        if (atomic_load(&pool.quit)) break;
        seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
        run_range(i, pool.n_threads, pool.fn, pool.ud, pool.n);
        if (atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_acq_rel) == 1) {
            pthread_mutex_lock(&pool.mu);
            if (pool.caller_sleeps) pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
        }
    }
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
    atomic_store(&pool.quit, true);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    for (int i = 0; i < pool.n_started; i++) pthread_join(pool.tid[i + 1], NULL);
    pool.n_started = 0;
    atomic_store(&pool.quit, false);
}

/* Start the workers (caller holds job_mu). Falls back to fewer threads if creation fails. */
static void start_pool(void) {
    if (!pool.n_threads) pool.n_threads = default_threads();
    if (pool.n_started + 1 < pool.n_threads) pool.start_gen = atomic_load(&pool.generation);
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
    pool.fn = fn, pool.ud = ud, pool.n = n;
    atomic_store_explicit(&pool.pending, nt - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_mutex_lock(&pool.mu);
    if (pool.sleepers) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    in_par = true;
    run_range(0, nt, fn, ud, n);
    in_par = false;
    if (!spin_until(all_done, 0)) {
        pthread_mutex_lock(&pool.mu);
        pool.caller_sleeps = true;
        while (!all_done(0)) pthread_cond_wait(&pool.done, &pool.mu);
        pool.caller_sleeps = false;
        pthread_mutex_unlock(&pool.mu);
    }
    pthread_mutex_unlock(&job_mu);
}
