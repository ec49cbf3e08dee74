/* threads.c - the worker pool behind par_for. See threads.h.
 *
 * One job at a time. The caller publishes (fn, ud, n) and a ticket; the threads (the
 * caller among them) then claim pieces of [0, n) from the ticket, largest first ("guided":
 * each claim takes about 1/(2 x threads) of what is left), until none is left. The caller
 * returns when every claimed piece is finished.
 *
 * Why claims rather than one fixed range per thread: a decode step is ~150 short jobs, and
 * on a machine shared with other processes a worker is sometimes not running when a job
 * starts; with fixed ranges the caller then waited up to a scheduler time slice for it.
 * Here a worker that is late finds the pieces taken and the caller never waits for it,
 * and threads whose pieces are slower (heavier weight types, a busy core) simply claim
 * fewer. Callers see only disjoint ranges that cover [0, n), as before; which thread runs
 * which index was never part of the contract (results do not depend on it).
 *
 * The ticket is one 64-bit atomic: [job number : 24 | next piece : 20 | pieces : 20].
 * A claim is a compare-and-swap on it, so a claim can only succeed for the job it names,
 * and a late worker can never take a piece of a newer job by mistake; fn, ud and n are
 * read after a successful claim (they are written before the ticket is published, and not
 * rewritten before every piece of the job is finished). Jobs of more than 2^20 - 1 indices
 * are cut into that many pieces of consecutive indices.
 *
 * Waiting spins first, then sleeps: a worker that finished polls the ticket for up to
 * SPIN_NS before it sleeps on the condition variable (futex sleeps and wake-ups per job
 * cost several % of decode), and the caller polls `left` the same way. A pool idle for
 * longer sleeps and burns no CPU. No lost wake-up: a worker that goes to sleep counts
 * itself in `sleepers` and re-reads the ticket under `mu`; the caller publishes the ticket
 * first and then, under `mu`, broadcasts if anyone sleeps. The same handshake
 * (`caller_sleeps`) covers the end of a job. */
#include "threads.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { MAX_THREADS = 256 };
#define SPIN_NS 200000   /* 0.2 ms: longer than the gaps between a decode step's jobs */

#define PIECE_BITS 20
#define PIECE_MASK ((UINT64_C(1) << PIECE_BITS) - 1)
#define JOB_SHIFT (2 * PIECE_BITS)
#define JOB_MASK ((UINT64_C(1) << (64 - JOB_SHIFT)) - 1)

static struct {
    pthread_mutex_t mu;
    pthread_cond_t wake, done;
    pthread_t tid[MAX_THREADS];
    int n_threads;                 /* including the caller */
    int n_started;                 /* workers running */
    _Atomic uint64_t ticket;       /* [job : 24 | next piece : 20 | pieces : 20] */
    _Atomic int64_t left;          /* pieces of the current job not finished yet */
    int sleepers;                  /* workers asleep on `wake` (under mu) */
    bool caller_sleeps;            /* the caller is asleep on `done` (under mu) */
    _Atomic bool quit;
    par_fn fn;
    void *ud;
    int64_t n;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;   /* one par_for at a time */
static _Thread_local bool in_par;                            /* nested calls run serially */

static inline uint64_t job_of(uint64_t t) { return t >> JOB_SHIFT; }

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
    return job_of(atomic_load_explicit(&pool.ticket, memory_order_acquire)) != seen || atomic_load(&pool.quit);
}
static bool all_done(uint64_t unused) {
    (void)unused;
    return atomic_load_explicit(&pool.left, memory_order_acquire) == 0;
}

/* Piece i of `total` pieces of [0, n): consecutive, sizes differing by at most one. */
static inline int64_t piece_start(int64_t n, int64_t total, int64_t i) {
    const int64_t q = n / total, r = n % total;
    return i * q + (i < r ? i : r);
}

/* Claim pieces of job `job` and run them until none is left. A worker that finishes the
 * job's last piece wakes the caller if it sleeps. */
static void run_pieces(uint64_t job, bool worker) {
    const uint64_t nt = (uint64_t)pool.n_threads;
    uint64_t t = atomic_load_explicit(&pool.ticket, memory_order_acquire);
    for (;;) {
        if (job_of(t) != job) return;
        const uint64_t next = (t >> PIECE_BITS) & PIECE_MASK, total = t & PIECE_MASK;
        if (next >= total) return;
        const uint64_t c = (total - next + 2 * nt - 1) / (2 * nt);   /* guided: big pieces first */
        if (!atomic_compare_exchange_weak_explicit(&pool.ticket, &t, t + (c << PIECE_BITS), memory_order_acquire,
                                                   memory_order_acquire))
            continue;   /* t holds the current ticket: try again */
        /* pieces [next, next + c) are ours; the job's fields stay put until they are
         * counted off below */
        const int64_t n = pool.n, b = piece_start(n, (int64_t)total, (int64_t)next),
                      e = piece_start(n, (int64_t)total, (int64_t)(next + c));
        if (b < e) pool.fn(pool.ud, b, e);
        if (atomic_fetch_sub_explicit(&pool.left, (int64_t)c, memory_order_acq_rel) == (int64_t)c && worker) {
            pthread_mutex_lock(&pool.mu);
            if (pool.caller_sleeps) pthread_cond_signal(&pool.done);
            pthread_mutex_unlock(&pool.mu);
            return;
        }
        t = atomic_load_explicit(&pool.ticket, memory_order_acquire);
    }
}

static void *worker(void *arg) {
    in_par = true;
    uint64_t seen = (uint64_t)(uintptr_t)arg;   /* the last job before this thread was created */
    for (;;) {
        if (!spin_until(new_job, seen)) {
            pthread_mutex_lock(&pool.mu);
            pool.sleepers++;
            while (!new_job(seen)) pthread_cond_wait(&pool.wake, &pool.mu);
            pool.sleepers--;
            pthread_mutex_unlock(&pool.mu);
        }
        if (atomic_load(&pool.quit)) break;
        seen = job_of(atomic_load_explicit(&pool.ticket, memory_order_acquire));
        run_pieces(seen, true);
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

/* Start the workers (caller holds job_mu). Falls back to fewer threads if creation fails.
 * The workers start with the asynchronous signals blocked (a new thread inherits the mask),
 * so a signal sent to the process (Ctrl-C, SIGTERM, a SIGINT re-sent by libedit's handler)
 * reaches one of the application's own threads, not a worker at a random moment: in `seek
 * chat`, a Ctrl-C at the prompt that a worker took set the cancel flag after the next read
 * had begun, and a following Ctrl-D was read as another interruption (tests/cli/
 * test_chat_tty.sh failed about 1 run in 20-30 on a loaded machine). Faults stay deliverable. */
static void start_pool(void) {
    if (!pool.n_threads) pool.n_threads = default_threads();
    /* every call of par_for comes here: return before the two pthread_sigmask calls (two
     * system calls, ~3 us of each decode product in a VM with PTI) once the pool runs */
    if (pool.n_started + 1 >= pool.n_threads) return;
    const uint64_t job = job_of(atomic_load(&pool.ticket));
    sigset_t async, old;
    sigfillset(&async);
    const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t k = 0; k < sizeof sync_sigs / sizeof *sync_sigs; k++) sigdelset(&async, sync_sigs[k]);
    const bool masked = pthread_sigmask(SIG_BLOCK, &async, &old) == 0;
    while (pool.n_started + 1 < pool.n_threads) {
        int i = pool.n_started + 1;
        if (pthread_create(&pool.tid[i], NULL, worker, (void *)(uintptr_t)job)) {
            pool.n_threads = i;
            break;
        }
        pool.n_started++;
    }
    if (masked) pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int seek_threads(void) {
    if (in_par) return 1;   /* inside a par_for (whose caller holds job_mu): nested calls run serially */
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
    if (pool.n_threads == 1) {
        pthread_mutex_unlock(&job_mu);
        fn(ud, 0, n);
        return;
    }
    /* every piece of the previous job is finished (left == 0): its fields are free */
    const uint64_t total = (uint64_t)n < PIECE_MASK ? (uint64_t)n : PIECE_MASK;
    const uint64_t job = (job_of(atomic_load_explicit(&pool.ticket, memory_order_relaxed)) + 1) & JOB_MASK;
    pool.fn = fn, pool.ud = ud, pool.n = n;
    atomic_store_explicit(&pool.left, (int64_t)total, memory_order_relaxed);
    atomic_store_explicit(&pool.ticket, job << JOB_SHIFT | total, memory_order_release);
    pthread_mutex_lock(&pool.mu);
    if (pool.sleepers) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    in_par = true;
    run_pieces(job, false);
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
