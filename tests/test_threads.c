/* test_threads.c - the worker pool: par_for covers every index once for any thread
 * count (also nested), and the threaded forward pass gives bit-identical logits for
 * 1, 2 and 3 threads (matmul splits output rows; see ops.h). */
#include <stdlib.h>

#include "model.h"
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

int main(void) {
    RUN(par_for_covers_each_index_once);
    RUN(forward_is_bit_identical_for_any_thread_count);
    RUN(decode_is_bit_identical_for_any_thread_count);
    return test_summary();
}
