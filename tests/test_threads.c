/* test_threads.c - the worker pool: par_for covers every index once for any thread
 * count (also nested), and the threaded forward pass gives bit-identical logits for
 * 1, 2 and 3 threads (matmul splits output rows; see ops.h). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "model.h"
#include "synth.h"
#include "test.h"
#include "threads.h"
#include "util.h"

static void count_range(void *ud, int64_t b, int64_t e) {
    int *hits = ud;
    for (int64_t i = b; i < e; i++) __atomic_fetch_add(&hits[i], 1, __ATOMIC_RELAXED);
}

static void nested_range(void *ud, int64_t b, int64_t e) {
    int *hits = ud;
    for (int64_t i = b; i < e; i++) par_for(10, count_range, hits + i * 10);
}

TEST(par_for_covers_each_index_once) {
    static const int64_t sizes[] = {1, 2, 3, 7, 64, 1001};
    for (int nt = 1; nt <= 5; nt++) {
        seek_set_threads(nt);
        CHECK(seek_threads() == nt);
        for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
            int *hits = calloc((size_t)sizes[k], sizeof *hits);
            CHECK(hits);
            for (int rep = 0; rep < 20; rep++) par_for(sizes[k], count_range, hits);
            for (int64_t i = 0; i < sizes[k]; i++)
                CHECK_MSG(hits[i] == 20, "%d threads, n %lld: index %lld hit %d times", nt, (long long)sizes[k],
                          (long long)i, hits[i]);
            free(hits);
        }
        int nested[50 * 10] = {0};
        par_for(50, nested_range, nested);
        for (int i = 0; i < 500; i++) CHECK_MSG(nested[i] == 1, "nested: index %d hit %d times", i, nested[i]);
    }
    seek_set_threads(0);
}

/* Many short jobs back to back (a decode step is ~150): a late worker must never run a
 * piece of a newer job, nor the caller return before every piece is done. */
TEST(par_for_many_short_jobs) {
    for (int nt = 2; nt <= 4; nt++) {
        seek_set_threads(nt);
        int hits[8] = {0};
        for (int rep = 0; rep < 20000; rep++) {
            const int n = 2 + rep % 6;
            par_for(n, count_range, hits);
            for (int i = 0; i < n; i++) {
                CHECK_MSG(hits[i] == 1, "%d threads, job %d: index %d hit %d times", nt, rep, i, hits[i]);
                hits[i] = 0;
            }
            if (hits[0]) break;
        }
    }
    seek_set_threads(0);
}

/* Who runs what (threads.c): each thread walks its own lane (its share of the pieces) from
 * the front, contiguously, and steals the back of another lane when its own is empty. Two
 * threads, 64 pieces: each thread's first range must be its lane's start (0 for the caller,
 * 32 for the worker) and its ranges inside its own lane one contiguous run from there. A
 * rendezvous in each thread's first piece makes sure both have started before either
 * finishes (so neither takes the other's whole lane). */
typedef struct {
    pthread_t caller;
    _Atomic int arrived, done_elsewhere;
    int64_t ranges[2][64][2];
    int n_ranges[2];
    bool block_worker;   /* second test: the worker's first piece waits for all the others */
} lanes_seen;

static bool wait_until(_Atomic int *v, int want) {
    for (int i = 0; i < 10000 && *v < want; i++) usleep(1000);   /* at most 10 s */
    return *v >= want;
}

static void record_lanes(void *ud, int64_t b, int64_t e) {
    lanes_seen *s = ud;
    const int who = pthread_equal(pthread_self(), s->caller) ? 0 : 1;
    const int k = s->n_ranges[who]++;
    if (k < 64) s->ranges[who][k][0] = b, s->ranges[who][k][1] = e;
    if (s->block_worker) {
        if (who == 1 && k == 0) wait_until(&s->done_elsewhere, 64 - (int)(e - b));
        else s->done_elsewhere += (int)(e - b);
    } else if (k == 0) {
        s->arrived++;
        wait_until(&s->arrived, 2);
    }
}

TEST(par_for_threads_walk_their_own_lanes) {
    seek_set_threads(2);
    lanes_seen s = {.caller = pthread_self()};
    par_for(64, record_lanes, &s);
    CHECK(s.arrived == 2);
    for (int who = 0; who < 2; who++) {
        const int64_t lane_b = 32 * who, lane_e = lane_b + 32;
        CHECK(s.n_ranges[who] >= 1 && s.n_ranges[who] <= 64);
        CHECK_MSG(s.ranges[who][0][0] == lane_b, "thread %d began at %lld, not its lane's start %lld", who,
                  (long long)s.ranges[who][0][0], (long long)lane_b);
        int64_t at = lane_b;   /* the own lane's ranges continue one another */
        for (int k = 0; k < s.n_ranges[who] && k < 64; k++) {
            if (s.ranges[who][k][0] < lane_b || s.ranges[who][k][0] >= lane_e) continue;   /* stolen */
            CHECK_MSG(s.ranges[who][k][0] == at, "thread %d: range %d begins at %lld, its lane was at %lld", who, k,
                      (long long)s.ranges[who][k][0], (long long)at);
            at = s.ranges[who][k][1];
        }
    }
    seek_set_threads(0);
}

/* A worker that stalls in its first piece (preempted, say): the caller steals the rest of
 * its lane and the job still ends; without stealing this would wait forever (10 s here). */
TEST(par_for_caller_steals_from_a_stalled_worker) {
    seek_set_threads(2);
    for (int rep = 0; rep < 5; rep++) {
        lanes_seen s = {.caller = pthread_self(), .block_worker = true};
        par_for(64, record_lanes, &s);
        if (!s.n_ranges[1]) continue;   /* the caller ran it all: nothing stalled */
        const int64_t first = s.ranges[1][0][1] - s.ranges[1][0][0];
        CHECK_MSG(s.done_elsewhere == 64 - first, "the others ran %d of %lld indices", (int)s.done_elsewhere,
                  (long long)(64 - first));
        CHECK(s.n_ranges[1] == 1);   /* the stalled worker ran only its first piece */
    }
    seek_set_threads(0);
}

/* inside a par_for, seek_threads() is 1 (nested calls run serially) and does not block */
static void threads_inside(void *ud, int64_t b, int64_t e) {
    int *seen = ud;
    for (int64_t i = b; i < e; i++) seen[i] = seek_threads();
}

TEST(seek_threads_inside_par_for_is_one) {
    seek_set_threads(3);
    int seen[16] = {0};
    par_for(16, threads_inside, seen);
    for (int i = 0; i < 16; i++) CHECK_MSG(seen[i] == 1, "index %d saw %d threads", i, seen[i]);
    CHECK(seek_threads() == 3);
    seek_set_threads(0);
}

/* The workers keep the asynchronous signals blocked, so a signal sent to the process reaches
 * the application's own threads (threads.c, start_pool: seek chat's Ctrl-C / Ctrl-D race).
 * Each piece records whether SIGINT and SIGTERM are blocked on the thread that runs it;
 * pieces that ran on a worker (not the caller) must have them blocked, and the caller's own
 * mask must be as it was. Pieces sleep a little so the workers take some. */
typedef struct {
    pthread_t caller;
    _Atomic int on_workers, unblocked;
} sigmask_seen;

static void record_mask(void *ud, int64_t b, int64_t e) {
    sigmask_seen *s = ud;
    for (int64_t i = b; i < e; i++) {
        usleep(2000);
        if (pthread_equal(pthread_self(), s->caller)) continue;
        sigset_t cur;
        pthread_sigmask(SIG_BLOCK, NULL, &cur);
        s->on_workers++;
        if (!sigismember(&cur, SIGINT) || !sigismember(&cur, SIGTERM)) s->unblocked++;
    }
}

TEST(workers_block_async_signals) {
    seek_set_threads(1);   /* stop the pool: the next par_for starts new workers */
    seek_set_threads(3);
    sigset_t before, after;
    pthread_sigmask(SIG_BLOCK, NULL, &before);
    sigmask_seen s = {.caller = pthread_self()};
    for (int rep = 0; rep < 20 && !s.on_workers; rep++) par_for(32, record_mask, &s);
    pthread_sigmask(SIG_BLOCK, NULL, &after);
    CHECK_MSG(s.on_workers > 0, "no piece ran on a worker");
    CHECK_MSG(!s.unblocked, "%d of %d pieces on workers ran with SIGINT/SIGTERM deliverable", (int)s.unblocked,
              (int)s.on_workers);
    CHECK(sigismember(&before, SIGINT) == sigismember(&after, SIGINT));
    seek_set_threads(0);
}

/* logits of a fixed prompt with the pool at nt threads */
static float *logits_with(seek_model *m, int nt, int T) {
    seek_set_threads(nt);
    int32_t ids[64];
    for (int t = 0; t < T; t++) ids[t] = (t * 37 + 11) % m->hp.n_vocab;
    float *lg = malloc(sizeof(float) * (size_t)T * m->hp.n_vocab);
    seek_kvcache *c = kvcache_new(m, T);
    if (!lg || !c || model_forward(m, c, ids, T, 0, lg, NULL)) {
        free(lg);
        lg = NULL;
    }
    kvcache_free(c);
    return lg;
}

/* decode: one token at a time through an F16 cache (attention then splits its work by
 * heads to keep every thread busy: the split must not change a bit), MLA absorbed */
static float *decode_logits_with(seek_model *m, int nt, int T) {
    seek_set_threads(nt);
    const size_t V = (size_t)m->hp.n_vocab;
    float *lg = malloc(sizeof(float) * (size_t)T * V);
    seek_kvcache *c = kvcache_new_type(m, T, SEEK_TYPE_F16);
    bool ok = lg && c;
    for (int t = 0; ok && t < T; t++) {
        int32_t id = (t * 37 + 11) % m->hp.n_vocab;
        ok = !model_forward(m, c, &id, 1, t, lg + (size_t)t * V, NULL);
    }
    kvcache_free(c);
    if (!ok) free(lg);
    return ok ? lg : NULL;
}

/* logits at 1, 2 and 3 threads are the same bits, on a qwen2 and a deepseek2 fixture */
static void same_bits_at_any_thread_count(float *(*run)(seek_model *, int, int), int T, bool absorbed, const char *what) {
    const char *chat = getenv("CHAT_MODEL");
    const char *paths[] = {"tests/data/gguf/model-Q4_K_S.gguf", chat ? chat : "build/tests/chat-model.gguf"};
    for (size_t k = 0; k < 2; k++) {
        seek_model *m = model_load(paths[k]);
        CHECK_MSG(m, "%s", seek_last_error());
        if (!m) continue;
        if (absorbed) m->mla = MLA_ABSORBED;
        float *one = run(m, 1, T), *two = run(m, 2, T), *three = run(m, 3, T);
        CHECK_MSG(one && two && three, "%s", seek_last_error());
        size_t bytes = sizeof(float) * (size_t)T * m->hp.n_vocab;
        CHECK_MSG(one && two && three && !memcmp(one, two, bytes) && !memcmp(one, three, bytes),
                  "%s: %s logits depend on the thread count", paths[k], what);
        free(one), free(two), free(three);
        model_free(m);
    }
    seek_set_threads(0);
}

TEST(forward_is_bit_identical_for_any_thread_count) { same_bits_at_any_thread_count(logits_with, 9, false, "batch"); }

TEST(decode_is_bit_identical_for_any_thread_count) { same_bits_at_any_thread_count(decode_logits_with, 12, true, "decode"); }

/* V2-Lite's attention (16 heads, kv_lora_rank 512) with small FFNs: decode splits MLA into
 * blocks of heads (arch_deepseek2.c), one block per thread; the bits must not move. */
TEST(mla_decode_head_blocks_same_bits) {
    char dir[64], path[128];
    if (test_mkdtemp(dir, "threads")) return;
    snprintf(path, sizeof path, "%s/v2lite-16h.gguf", dir);
    synth_opts o = {.shape = "deepseek-v2-lite", .layers = 2, .vocab = 512, .ff = 64, .ff_exp = 32, .experts = 8, .seed = 5};
    CHECK_MSG(synth_write(path, &o) == 0, "%s", seek_last_error());
    seek_model *m = model_load(path);
    CHECK_MSG(m && m->hp.n_head == 16, "%s", seek_last_error());
    if (m) {
        float *lg[4];
        const int nts[4] = {1, 2, 3, 5};
        for (int i = 0; i < 4; i++) lg[i] = decode_logits_with(m, nts[i], 6);
        const size_t bytes = sizeof(float) * 6 * m->hp.n_vocab;
        for (int i = 1; i < 4; i++)
            CHECK_MSG(lg[0] && lg[i] && !memcmp(lg[0], lg[i], bytes), "decode logits at %d threads differ from 1", nts[i]);
        for (int i = 0; i < 4; i++) free(lg[i]);
        model_free(m);
    }
    remove(path);
    remove(dir);
    seek_set_threads(0);
}

int main(void) {
    RUN(par_for_covers_each_index_once);
    RUN(par_for_many_short_jobs);
    RUN(par_for_threads_walk_their_own_lanes);
    RUN(par_for_caller_steals_from_a_stalled_worker);
    RUN(seek_threads_inside_par_for_is_one);
    RUN(workers_block_async_signals);
    RUN(forward_is_bit_identical_for_any_thread_count);
    RUN(decode_is_bit_identical_for_any_thread_count);
    RUN(mla_decode_head_blocks_same_bits);
    return test_summary();
}
