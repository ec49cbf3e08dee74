/* test_train.c - the trainer (float build) against the rest of seek and against itself:
 *   - the training forward computes the inference forward's numbers: a random model exported
 *     to GGUF (MTP block included) loads with model_load and model_forward's logits (naive
 *     and absorbed MLA) match tm_forward's;
 *   - loss falls over a few AdamW steps on a tiny repetitive stream;
 *   - resume: 20 steps straight == 10 steps + checkpoint + load + 10 steps, bit for bit;
 *   - aux-loss-free balancing lowers the max/min expert load on a skewed start while the
 *     loss falls;
 *   - malformed checkpoints and token files are refused with an error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model.h"
#include "test.h"
#include "train/train.h"
#include "util.h"

static tm_config small(void) {
    tm_config c = {.V = 40, .D = 32, .L = 2, .n_dense = 1, .H = 2, .QL = 24, .R = 16, .nope = 8, .rope = 8, .hv = 8,
                   .F = 48, .E = 4, .K = 2, .n_shared = 1, .Fe = 16, .mtp = 1, .tied = 0, .ctx = 64,
                   .eps = 1e-6f, .rope_base = 10000.0f, .route_scale = 2.5f, .norm_topk = 1};
    return c;
}

static void scale_up(tm_model *m, uint64_t seed) {
    uint64_t s = seed;
    for (int i = 0; i < m->n_tensors; i++) {
        const tm_tensor *t = &m->tensors[i];
        float *p = m->params + t->off;
        for (size_t k = 0; k < t->n; k++) {
            double u = (double)(tm_rng_next(&s) >> 11) / 9007199254740992.0 - 0.5;
            if (t->kind == TK_MAT) p[k] *= 10;
            else if (t->kind == TK_NORM) p[k] = (float)(1 + 0.4 * u);
            else p[k] = (float)(0.3 * u);
        }
    }
}

static char tmpdir[64];
static const char *tpath(const char *name) {
    static char b[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(b[k], sizeof b[k], "%s/%s", tmpdir, name);
    return b[k];
}

TEST(train_forward_matches_inference) {
    for (int tied = 0; tied < 2; tied++) {
        tm_config c = small();
        c.tied = tied;
        tm_model m;
        CHECK(tm_create(&m, &c) == 0);
        tm_init(&m, 11);
        scale_up(&m, 12);
        const int T = 12;
        CHECK(tm_alloc_batch(&m, 1, T) == 0);
        int32_t tok[13];
        for (int i = 0; i <= T; i++) tok[i] = (i * 7 + 3) % c.V;
        CHECK(tm_forward(&m, tok) == 0);
        CHECK(tm_export_gguf(&m, NULL, NULL, "test", tpath("x.gguf"), tied == 0) == 0);
        seek_model *sm = model_load(tpath("x.gguf"));
        CHECK_MSG(sm, "%s", seek_last_error());
        CHECK(sm->hp.n_layer == c.L);   /* the MTP block (exported when untied) is not a forward layer */
        CHECK((gguf_find_tensor(sm->gguf, "blk.2.nextn.eh_proj.weight") != NULL) == (tied == 0));
        float *lg = malloc(sizeof(float) * (size_t)T * c.V);
        double worst = 0, mx = 0;
        for (int absorb = 0; absorb < 2; absorb++) {
            sm->mla = absorb ? MLA_ABSORBED : MLA_NAIVE;
            seek_kvcache *kc = kvcache_new(sm, 64);
            CHECK(kc && model_forward(sm, kc, tok, T, 0, lg, NULL) == 0);
            for (int i = 0; i < T * c.V; i++) {
                double d = fabs((double)lg[i] - m.logits[i]);
                if (d > worst) worst = d;
                if (fabs(lg[i]) > mx) mx = fabs(lg[i]);
            }
            kvcache_free(kc);
        }
        free(lg);
        model_free(sm);
        tm_free(&m);
        CHECK_MSG(mx > 0.5 && worst < 2e-4 * mx, "max |logit| %g, worst diff %g", mx, worst);
    }
}

/* a stream of a short repeated pattern: easy to learn */
static int make_stream(const char *path, int V, int n) {
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)n);
    for (int i = 0; i < n; i++) ids[i] = i % 9 == 0 ? 0 : 1 + (i * 5 + i / 9) % (V - 1);
    int rc = tm_data_write(path, ids, n);
    free(ids);
    return rc;
}

typedef struct {
    double first, last;
    double spread_first, spread_last;
} run_stats;

static int train_steps(tm_model *m, adamw_state *s, const tm_data *d, int64_t from, int64_t to, const adamw_opts *o,
                       run_stats *st) {
    int32_t tok[4 * 17];
    for (int64_t step = from; step < to; step++) {
        tm_zero_grad(m);
        m->count_load = true;
        double loss = 0;
        for (int micro = 0; micro < 2; micro++) {
            tm_data_batch(d, tok, 4, 16, 7, step, micro);
            if (tm_forward(m, tok)) return -1;
            loss += m->loss / 2;
            tm_backward(m);   /* accumulates; scaled below */
        }
        for (size_t i = 0; i < m->n_params; i++) m->grads[i] *= 0.5f;
        adamw_step(s, m, o, lr_at(o, step));
        double sp = tm_load_spread(m);
        tm_update_bias(m, 0.01f);
        if (st) {
            if (step == from) { st->first = loss; st->spread_first = sp; }
            st->last = loss;
            st->spread_last = sp;
        }
    }
    return 0;
}

static const adamw_opts OPTS = {.lr = 3e-3f, .lr_min = 3e-4f, .beta1 = 0.9f, .beta2 = 0.95f, .eps = 1e-8f, .wd = 0.1f,
                                .clip = 1.0f, .warmup = 3, .steps = 20};

TEST(train_loss_falls_and_resume_is_exact) {
    tm_config c = small();
    CHECK(make_stream(tpath("s.bin"), c.V, 3000) == 0);
    tm_data d;
    CHECK(tm_data_load(&d, tpath("s.bin"), 0, c.V) == 0);
    tm_model a, b;
    adamw_state sa, sb;
    CHECK(tm_create(&a, &c) == 0 && adamw_init(&sa, a.n_params) == 0);
    tm_init(&a, 1);
    a.bal_alpha = 1e-3f;
    CHECK(tm_alloc_batch(&a, 4, 16) == 0);
    run_stats st;
    CHECK(train_steps(&a, &sa, &d, 0, 20, &OPTS, &st) == 0);
    CHECK_MSG(st.last < st.first * 0.8, "loss %g -> %g", st.first, st.last);

    /* 10 steps, checkpoint, a fresh process-like reload, 10 more */
    CHECK(tm_create(&b, &c) == 0 && adamw_init(&sb, b.n_params) == 0);
    tm_init(&b, 1);
    b.bal_alpha = 1e-3f;
    CHECK(tm_alloc_batch(&b, 4, 16) == 0);
    CHECK(train_steps(&b, &sb, &d, 0, 10, &OPTS, NULL) == 0);
    CHECK(tm_save_checkpoint(&b, &sb, 10, tpath("ck.bin")) == 0);
    tm_free(&b);
    adamw_free(&sb);
    int64_t step = -1;
    memset(&b, 0, sizeof b);
    CHECK(tm_load_checkpoint(&b, &sb, &step, tpath("ck.bin")) == 0);
    CHECK(step == 10);
    b.bal_alpha = 1e-3f;
    CHECK(tm_alloc_batch(&b, 4, 16) == 0);
    CHECK(train_steps(&b, &sb, &d, 10, 20, &OPTS, NULL) == 0);
    CHECK(memcmp(a.params, b.params, sizeof(float) * a.n_params) == 0);
    CHECK(memcmp(sa.m, sb.m, sizeof(float) * a.n_params) == 0 && sa.t == sb.t);
    tm_free(&a);
    tm_free(&b);
    adamw_free(&sa);
    adamw_free(&sb);
    tm_data_free(&d);
}

TEST(train_bias_balancing_evens_load) {
    tm_config c = small();
    c.E = 8;
    tm_data d;
    CHECK(make_stream(tpath("s2.bin"), c.V, 3000) == 0);
    CHECK(tm_data_load(&d, tpath("s2.bin"), 0, c.V) == 0);
    tm_model m;
    adamw_state s;
    CHECK(tm_create(&m, &c) == 0 && adamw_init(&s, m.n_params) == 0);
    tm_init(&m, 5);
    /* skew: routers favour experts 0 and 1 for every token */
    for (int l = 1; l < 3; l++)
        for (int e = 0; e < 2; e++)
            for (int i = 0; i < c.D; i++) m.w.blk[l].gate_inp[e * c.D + i] = 0;
    for (int l = 1; l < 3; l++) { m.w.blk[l].exp_probs_b[0] = 0.3f; m.w.blk[l].exp_probs_b[1] = 0.3f; }
    CHECK(tm_alloc_batch(&m, 4, 16) == 0);
    adamw_opts o = OPTS;
    o.steps = 60;
    run_stats st;
    CHECK(train_steps(&m, &s, &d, 0, 60, &o, &st) == 0);
    CHECK_MSG(st.spread_first > 4 && st.spread_last < st.spread_first / 2, "max/min load %g -> %g", st.spread_first,
              st.spread_last);
    CHECK_MSG(st.last < st.first, "loss %g -> %g", st.first, st.last);
    tm_free(&m);
    adamw_free(&s);
    tm_data_free(&d);
}

TEST(train_bad_files_refused) {
    FILE *f = fopen(tpath("bad.bin"), "wb");
    CHECK(f);
    fputs("SEEKCKPT garbage", f);
    fclose(f);
    tm_model m;
    adamw_state s;
    int64_t step;
    memset(&m, 0, sizeof m);
    CHECK(tm_load_checkpoint(&m, &s, &step, tpath("bad.bin")) == -1);
    CHECK(strstr(seek_last_error(), "checkpoint"));
    tm_data d;
    CHECK(tm_data_load(&d, tpath("bad.bin"), -1, 10) == -1);
    int32_t ids[3] = {1, 2, 99};
    CHECK(tm_data_write(tpath("t.bin"), ids, 3) == 0);
    CHECK(tm_data_load(&d, tpath("t.bin"), -1, 10) == -1);
    CHECK(strstr(seek_last_error(), "outside the vocabulary"));
    tm_config c = small();
    c.K = 9;
    CHECK(tm_create(&m, &c) == -1);
    c = small();
    c.n_shared = -3;
    CHECK(tm_create(&m, &c) == -1);
    /* a real checkpoint, truncated */
    c = small();
    CHECK(tm_create(&m, &c) == 0 && adamw_init(&s, m.n_params) == 0);
    CHECK(tm_save_checkpoint(&m, &s, 3, tpath("ok.ck")) == 0);
    tm_free(&m);
    adamw_free(&s);
    CHECK(truncate(tpath("ok.ck"), 1000) == 0);
    memset(&m, 0, sizeof m);
    CHECK(tm_load_checkpoint(&m, &s, &step, tpath("ok.ck")) == -1);
    CHECK_MSG(strstr(seek_last_error(), "does not match"), "%s", seek_last_error());
}

int main(void) {
    if (test_mkdtemp(tmpdir, "train")) return 1;
    RUN(train_forward_matches_inference);
    RUN(train_loss_falls_and_resume_is_exact);
    RUN(train_bias_balancing_evens_load);
    RUN(train_bad_files_refused);
    test_rmdir(tmpdir);
    return test_summary();
}
