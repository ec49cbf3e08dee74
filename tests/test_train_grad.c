/* test_train_grad.c - every backward pass of the trainer against central finite differences,
 * in double precision: this file compiles the training layers (src/train/layers.c, moe.c,
 * tmodel.c) with real = double, builds tiny random models (dense + MoE blocks, MTP on,
 * the sequence-wise balance loss on, random selection biases, tied and untied heads) and
 * compares d(loss)/d(param) from tm_backward with (L(p + h) - L(p - h)) / 2h for elements of
 * every tensor, so the embedding, RMSNorms, MLA (q-LoRA, RoPE, softmax), SwiGLU, the MoE
 * router and experts, the shared expert, eh_proj and the output head are all covered. */
#define TRAIN_REAL double
#include "train/layers.c"
#include "train/moe.c"
#include "train/tmodel.c"

#include "test.h"

static tm_config tiny(int tied, int norm_topk) {
    tm_config c = {.V = 11, .D = 8, .L = 2, .n_dense = 1, .H = 2, .QL = 6, .R = 5, .nope = 4, .rope = 4, .hv = 3,
                   .F = 10, .E = 4, .K = 2, .n_shared = 1, .Fe = 6, .mtp = 1, .tied = tied, .ctx = 16,
                   .eps = 1e-5f, .rope_base = 10000.0f, .route_scale = 2.5f, .norm_topk = norm_topk};
    return c;
}

/* weights with O(1) effect (the default init is too small to exercise the non-linearities) */
static void randomize(tm_model *m, uint64_t seed) {
    tm_init(m, seed);
    uint64_t s = seed * 7 + 1;
    for (int i = 0; i < m->n_tensors; i++) {
        const tm_tensor *t = &m->tensors[i];
        real *p = m->params + t->off;
        for (size_t k = 0; k < t->n; k++) {
            double r = gauss(&s);
            if (t->kind == TK_MAT) p[k] = r / sqrt((double)t->ne[0]) * 1.5;
            else if (t->kind == TK_NORM) p[k] = 1 + 0.3 * r;
            else p[k] = 0.2 * r;   /* selection bias */
        }
    }
}

static double loss_of(tm_model *m, const int32_t *tok) {
    tm_forward(m, tok);
    return m->loss;
}

/* check n_per elements of every tensor; returns the worst relative error */
static double grad_check(tm_model *m, const int32_t *tok, int n_per, char *worst_name) {
    tm_zero_grad(m);
    tm_forward(m, tok);
    tm_backward(m);
    double worst = 0;
    uint64_t s = 99;
    for (int i = 0; i < m->n_tensors; i++) {
        const tm_tensor *t = &m->tensors[i];
        if (t->kind == TK_BIAS) continue;   /* not trained */
        for (int k = 0; k < n_per && k < (int)t->n; k++) {
            size_t j = n_per >= (int)t->n ? (size_t)k : tm_rng_next(&s) % t->n;
            real *p = m->params + t->off + j;
            const double h = 1e-5, p0 = *p;
            *p = p0 + h;
            double lp = loss_of(m, tok);
            *p = p0 - h;
            double lm = loss_of(m, tok);
            *p = p0;
            double num = (lp - lm) / (2 * h), ana = m->grads[t->off + j];
            double err = fabs(num - ana) / (1e-6 + fabs(num) + fabs(ana));
            if (fabs(num - ana) < 1e-9) err = 0;
            if (err > worst) {
                worst = err;
                snprintf(worst_name, 256, "%s[%zu] analytic %.9g numeric %.9g", t->name, j, ana, num);
            }
        }
    }
    return worst;
}

static void run_case(int tied, int norm_topk, float alpha, double *worst, char *name) {
    tm_config c = tiny(tied, norm_topk);
    tm_model m;
    *worst = 1;
    if (tm_create(&m, &c)) return;
    randomize(&m, 42 + tied);
    m.bal_alpha = alpha;
    m.mtp_lambda = 0.7f;
    const int B = 2, T = 5;
    if (tm_alloc_batch(&m, B, T)) { tm_free(&m); return; }
    int32_t tok[2 * 6];
    uint64_t s = 5;
    for (int i = 0; i < B * (T + 1); i++) tok[i] = (int32_t)(tm_rng_next(&s) % (uint64_t)c.V);
    *worst = grad_check(&m, tok, 12, name);
    tm_free(&m);
}

TEST(train_grad_untied_mtp_balance) {
    double w;
    char name[256] = "";
    run_case(0, 1, 0.1f, &w, name);
    printf("# worst %g at %s\n", w, name);
    CHECK_MSG(w < 1e-5, "worst relative error %g at %s", w, name);
}

TEST(train_grad_tied_no_renorm) {
    double w;
    char name[256] = "";
    run_case(1, 0, 0.0f, &w, name);
    printf("# worst %g at %s\n", w, name);
    CHECK_MSG(w < 1e-5, "worst relative error %g at %s", w, name);
}

/* the router really routes: with biases pushing every token to experts 0 and 1, the others
 * get no load and the bias update lifts them */
TEST(train_bias_update_moves_toward_balance) {
    tm_config c = tiny(0, 1);
    tm_model m;
    CHECK(tm_create(&m, &c) == 0);
    randomize(&m, 3);
    for (int l = 1; l < 3; l++) {
        real *b = m.w.blk[l].exp_probs_b;
        b[0] = b[1] = 10; b[2] = b[3] = 0;
    }
    CHECK(tm_alloc_batch(&m, 2, 5) == 0);
    int32_t tok[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1};
    m.count_load = true;
    CHECK(tm_forward(&m, tok) == 0);
    CHECK(m.load[1 * 4 + 2] == 0 && m.load[1 * 4 + 0] == 10);
    tm_update_bias(&m, 0.5f);
    CHECK(m.w.blk[1].exp_probs_b[0] == 9.5 && m.w.blk[1].exp_probs_b[2] == 0.5);
    CHECK(m.load[1 * 4 + 0] == 0);
    tm_free(&m);
}

int main(void) {
    RUN(train_grad_untied_mtp_balance);
    RUN(train_grad_tied_no_renorm);
    RUN(train_bias_update_moves_toward_balance);
    return test_summary();
}
