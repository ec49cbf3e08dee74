/* threads.c - the worker pool behind par_for. See threads.h.
 *
 * One job at a time. The caller publishes (fn, ud, n), cut into pieces, and a ticket; the
 * threads (the caller among them) run pieces until none is left; the caller returns when
 * every claimed piece is finished.
 *
 * Who runs which piece: the pieces are dealt out as one lane of consecutive pieces per
 * thread (thread t's lane: the t-th of nt equal shares). A thread claims from the front of
 * its own lane, a quarter of what is left there at a time; when its lane is empty it
 * steals the back half of what is left in the fullest other lane, and runs that. So in
 * the common case each thread walks one contiguous range of the job from its start: a
 * decode product's weights are one sequential stream per thread, and the hardware's
 * prefetch ramps up once per job instead of once per claim (a shared counter dealing
 * pieces to whoever asks next, the scheme before 5 Dec 2026, cut each thread's reads into
 * 5-15 runs of unrelated addresses: 0.84x the read rate of fixed halves on a 256 x 1536
 * Q4_K product, 0.94x on 1536 x 1536). Stealing keeps what that scheme was for: a decode
 * step is ~150 short jobs, and on a machine shared with other processes a worker is
 * sometimes not running when a job starts; its lane is then taken by the others, half at
 * a time, and the caller never waits a scheduler time slice for it; threads whose pieces
 * are slower (heavier weight types, a busy core) simply finish fewer. Callers see only
 * disjoint ranges that cover [0, n); which thread runs which index was never part of the
 * contract (results do not depend on it).
 *
 * Each lane is one 64-bit atomic on its own cache line: [job : 24 | front : 20 | back : 20],
 * pieces [front, back) not yet claimed. A claim is a compare-and-swap on it, so a claim
 * can only succeed for the job it names, and a late worker can never take a piece of a
 * newer job by mistake; fn, ud and n are read after a successful claim (they are written
 * before the ticket is published, and not rewritten before every piece of the job is
 * finished). The ticket, [job : 24 | 0 : 40], only announces the job. Jobs of more than
 * 2^20 - 1 indices are cut into that many pieces of consecutive indices. A thread counts the
 * pieces it ran off `left` once, when it finds nothing more to claim: an atomic on a line
 * both threads touch costs a cache-line transfer (~0.2 us between these VMs' cores), and one
 * per claim (a decode product's lane is ~20 claims) put ~20 of them in every pass; a par_for
 * of 64 pieces and no work went from 3.2-4.1 to 1.8-1.9 us (5 Dec 2026, scratch harness).
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
    _Atomic uint64_t ticket;       /* [job : 24 | 0 : 40] */
    _Atomic int64_t left;          /* pieces of the current job not finished yet */
    int sleepers;                  /* workers asleep on `wake` (under mu) */
    bool caller_sleeps;            /* the caller is asleep on `done` (under mu) */
    _Atomic bool quit;
    par_fn fn;
    void *ud;
    int64_t n, pieces;
    uint64_t first_seen;           /* the job before the workers started */
    struct {
        _Alignas(64) _Atomic uint64_t w;   /* [job : 24 | front : 20 | back : 20] */
    } lane[MAX_THREADS];
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

static inline uint64_t lane_word(uint64_t job, uint64_t front, uint64_t back) {
    return job << JOB_SHIFT | front << PIECE_BITS | back;
}

/* Claim pieces of job `job` from lane k: the front quarter of what is left there (own, at
 * least one piece) or the back half (steal). False when the lane is empty or of another job. */
static bool claim(uint64_t job, int k, bool own, uint64_t *b, uint64_t *e) {
    uint64_t v = atomic_load_explicit(&pool.lane[k].w, memory_order_acquire);
    for (;;) {
        if (job_of(v) != job) return false;
        const uint64_t f = (v >> PIECE_BITS) & PIECE_MASK, l = v & PIECE_MASK;
        if (f >= l) return false;
        const uint64_t c = own ? (l - f + 3) / 4 : (l - f + 1) / 2;
        const uint64_t nv = own ? lane_word(job, f + c, l) : lane_word(job, f, l - c);
        if (atomic_compare_exchange_weak_explicit(&pool.lane[k].w, &v, nv, memory_order_acquire, memory_order_acquire)) {
            *b = own ? f : l - c, *e = own ? f + c : l;
            return true;
        }   /* v holds the lane's current word: try again */
    }
}

/* The fullest lane other than t's, to steal from (-1: none has pieces of this job) */
static int fullest_lane(uint64_t job, int t) {
    int best = -1;
    uint64_t most = 0;
    for (int i = 1; i < pool.n_threads; i++) {
        const int k = (t + i) % pool.n_threads;
        const uint64_t v = atomic_load_explicit(&pool.lane[k].w, memory_order_relaxed);
        const uint64_t f = (v >> PIECE_BITS) & PIECE_MASK, l = v & PIECE_MASK;
        if (job_of(v) == job && l > f && l - f > most) most = l - f, best = k;
    }
    return best;
}

/* Run pieces of job `job` as thread t until none is left: own lane first, then steals. A
 * worker that finishes the job's last piece wakes the caller if it sleeps. */
static void run_pieces(uint64_t job, int t, bool worker) {
    int64_t done = 0;   /* pieces run, counted off `left` once at the end */
    for (;;) {
        uint64_t pb, pe;
        if (!claim(job, t, true, &pb, &pe)) {
            int k;
            do k = fullest_lane(job, t);
            while (k >= 0 && !claim(job, k, false, &pb, &pe));
            if (k < 0) break;
        }
        /* pieces [pb, pe) are ours; the job's fields stay put until they are counted off below */
        const int64_t n = pool.n, b = piece_start(n, pool.pieces, (int64_t)pb), e = piece_start(n, pool.pieces, (int64_t)pe);
        if (b < e) pool.fn(pool.ud, b, e);
        done += (int64_t)(pe - pb);
    }
    if (done && atomic_fetch_sub_explicit(&pool.left, done, memory_order_acq_rel) == done && worker) {
        pthread_mutex_lock(&pool.mu);
        if (pool.caller_sleeps) pthread_cond_signal(&pool.done);
        pthread_mutex_unlock(&pool.mu);
    }
}

static void *worker(void *arg) {
    in_par = true;
    const int t = (int)(intptr_t)arg;   /* its lane */
    uint64_t seen = pool.first_seen;    /* the last job before this thread was created */
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
        run_pieces(seen, t, true);
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
    pool.first_seen = job_of(atomic_load(&pool.ticket));   /* stays until stop_pool has joined them */
    sigset_t async, old;
    sigfillset(&async);
    const int sync_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGABRT, SIGSYS};
    for (size_t k = 0; k < sizeof sync_sigs / sizeof *sync_sigs; k++) sigdelset(&async, sync_sigs[k]);
    const bool masked = pthread_sigmask(SIG_BLOCK, &async, &old) == 0;
    while (pool.n_started + 1 < pool.n_threads) {
        int i = pool.n_started + 1;
        if (pthread_create(&pool.tid[i], NULL, worker, (void *)(intptr_t)i)) {
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
    pool.fn = fn, pool.ud = ud, pool.n = n, pool.pieces = (int64_t)total;
    const uint64_t nt = (uint64_t)pool.n_threads;
    for (uint64_t k = 0; k < nt; k++)   /* lane k: the k-th share of the pieces */
        atomic_store_explicit(&pool.lane[k].w, lane_word(job, total * k / nt, total * (k + 1) / nt), memory_order_relaxed);
    atomic_store_explicit(&pool.left, (int64_t)total, memory_order_relaxed);
    atomic_store_explicit(&pool.ticket, job << JOB_SHIFT, memory_order_release);
    pthread_mutex_lock(&pool.mu);
    if (pool.sleepers) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mu);
    in_par = true;
    run_pieces(job, 0, false);
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
