/* test_synth.c - random-weight models from `seek synth` behave like trained ones where it
 * matters for benchmarks: activations stay finite through the layers and the MoE router
 * sends different tokens to different experts.
 *
 * The models keep the real router shapes (DeepSeek-V3: 256 experts over a 7168-wide stream,
 * top-8 in 4 of 8 groups; V2-Lite: 64 experts, top-6) with narrow experts and a small vocab
 * so the test stays fast. The routing is measured on the normed input of the first MoE
 * block (the hidden state seek_forward reports), which is what the router sees apart from
 * that block's own attention output.
 */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model.h"
#include "synth.h"
#include "test.h"
#include "util.h"

enum { T = 48 };
static char dir[256];

/* Top-k expert choice as DeepSeek routes: scores (softmax or sigmoid), groups ranked by the
 * sum of their best two (V3) or their best (V2) score, the best experts of the kept groups. */
static void route(const float *logit, int E, int k, int groups, int groups_used, bool sigmoid, int *chosen) {
    float s[1024];
    for (int e = 0; e < E; e++) s[e] = sigmoid ? 1.0f / (1.0f + expf(-logit[e])) : logit[e];
    bool keep[1024];
    for (int e = 0; e < E; e++) keep[e] = groups <= 1;
    if (groups > 1) {
        const int per = E / groups;
        float gs[64];
        for (int g = 0; g < groups; g++) {
            float a = -1e30f, b = -1e30f;
            for (int e = g * per; e < (g + 1) * per; e++) {
                if (s[e] > a) { b = a; a = s[e]; } else if (s[e] > b) b = s[e];
            }
            gs[g] = sigmoid ? a + b : a;
        }
        for (int u = 0; u < groups_used; u++) {
            int best = 0;
            for (int g = 1; g < groups; g++) if (gs[g] > gs[best]) best = g;
            for (int e = best * per; e < (best + 1) * per; e++) keep[e] = true;
            gs[best] = -1e30f;
        }
    }
    for (int j = 0; j < k; j++) {
        int best = -1;
        for (int e = 0; e < E; e++) if (keep[e] && (best < 0 || s[e] > s[best])) best = e;
        chosen[j] = best;
        keep[best] = false;
    }
}

/* Build the model, run T tokens, check finiteness and count the experts the first MoE block
 * would pick. Returns the number of distinct experts, or -1. */
static int spread(synth_opts *o, int *max_load, bool *finite) {
    char out[300];
    snprintf(out, sizeof out, "%s/%s.gguf", dir, o->shape);
    o->progress = false;
    if (synth_write(out, o)) { printf("# %s\n", seek_last_error()); return -1; }
    seek_model *m = model_load(out);
    unlink(out);
    if (!m) { printf("# %s\n", seek_last_error()); return -1; }
    const seek_hparams *hp = &m->hp;
    const int D = hp->n_embd, L = hp->n_layer, V = hp->n_vocab, moe = hp->n_layer_dense_lead;
    int32_t tok[T];
    for (int t = 0; t < T; t++) tok[t] = (int32_t)((t * 7919 + 13) % V);
    float *hidden = malloc(sizeof(float) * (size_t)(L + 1) * T * D), *logits = malloc(sizeof(float) * (size_t)T * V);
    float *x = malloc(sizeof(float) * D), *r = malloc(sizeof(float) * hp->n_expert);
    float *router = malloc(sizeof(float) * (size_t)hp->n_expert * D);
    seek_kvcache *c = kvcache_new(m, T);
    int distinct = -1;
    const gguf_tensor *gi = m->layers[moe].gate_inp;
    if (!hidden || !logits || !x || !r || !router || !c || !gi ||
        seek_dequantize_row(gi->type, gi->data, router, (int64_t)hp->n_expert * D) ||
        model_forward(m, c, tok, T, 0, logits, hidden))
        goto out;
    *finite = true;
    for (size_t i = 0; i < (size_t)T * V; i++) if (!isfinite(logits[i])) *finite = false;
    for (size_t i = 0; i < (size_t)(L + 1) * T * D; i++) if (!isfinite(hidden[i])) *finite = false;
    int load[1024] = {0};
    for (int t = 0; t < T; t++) {
        const float *h = hidden + ((size_t)moe * T + t) * D;
        double ss = 0;
        for (int i = 0; i < D; i++) ss += (double)h[i] * h[i];
        for (int i = 0; i < D; i++) x[i] = h[i] / sqrtf((float)(ss / D) + hp->norm_eps);
        for (int e = 0; e < hp->n_expert; e++) {
            double d = 0;
            for (int i = 0; i < D; i++) d += (double)router[(size_t)e * D + i] * x[i];
            r[e] = (float)d;
        }
        int chosen[16];
        route(r, hp->n_expert, hp->n_expert_used, hp->n_group, hp->n_group_used, hp->gating_func == GATING_SIGMOID, chosen);
        for (int j = 0; j < hp->n_expert_used; j++) load[chosen[j]]++;
    }
    distinct = 0;
    *max_load = 0;
    for (int e = 0; e < hp->n_expert; e++) {
        distinct += load[e] > 0;
        if (load[e] > *max_load) *max_load = load[e];
    }
out:
    kvcache_free(c);
    free(hidden);
    free(logits);
    free(x);
    free(r);
    free(router);
    model_free(m);
    return distinct;
}

/* 48 tokens x top-8 over 256 experts: uniform random choice would touch ~200 experts */
TEST(v3_routes_to_many_experts) {
    synth_opts o = {.shape = "deepseek-v3", .layers = 2, .vocab = 512, .ff = 256, .ff_exp = 8, .heads = 4, .seed = 7};
    int max_load = 0;
    bool finite = false;
    int n = spread(&o, &max_load, &finite);
    CHECK_MSG(n >= 0, "synth/forward failed");
    CHECK(finite);
    CHECK_MSG(n >= 128, "only %d of 256 experts used", n);
    CHECK_MSG(max_load <= T / 3, "one expert took %d of %d tokens", max_load, T);
}

TEST(v2_lite_routes_to_many_experts) {
    synth_opts o = {.shape = "deepseek-v2-lite", .layers = 3, .vocab = 512, .ff = 256, .ff_exp = 32, .heads = 4, .seed = 7};
    int max_load = 0;
    bool finite = false;
    int n = spread(&o, &max_load, &finite);
    CHECK_MSG(n >= 0, "synth/forward failed");
    CHECK(finite);
    CHECK_MSG(n >= 48, "only %d of 64 experts used", n);
    CHECK_MSG(max_load <= T / 2, "one expert took %d of %d tokens", max_load, T);
}

/* A dense shape at its real width through all of its layers: the residual stream stays near
 * the embeddings' size (residual branches scaled by depth), the logits finite */
TEST(qwen_stream_stays_small) {
    synth_opts o = {.shape = "r1-distill-qwen-1.5b", .vocab = 512, .ff = 256, .seed = 3};
    char out[300];
    snprintf(out, sizeof out, "%s/q.gguf", dir);
    CHECK(synth_write(out, &o) == 0);
    seek_model *m = model_load(out);
    unlink(out);
    CHECK(m);
    const int L = m->hp.n_layer, D = m->hp.n_embd, n = 8;
    float *logits = malloc(sizeof(float) * n * m->hp.n_vocab), *hidden = malloc(sizeof(float) * (size_t)(L + 1) * n * D);
    seek_kvcache *c = kvcache_new(m, n);
    int32_t tok[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int rc = logits && hidden && c ? model_forward(m, c, tok, n, 0, logits, hidden) : -1;
    bool finite = rc == 0;
    for (int i = 0; rc == 0 && i < n * m->hp.n_vocab; i++) finite = finite && isfinite(logits[i]);
    double rms[2] = {0, 0};   /* the embeddings, the stream entering the last block */
    for (int k = 0; rc == 0 && k < 2; k++) {
        const float *h = hidden + (size_t)(k ? L - 1 : 0) * n * D;
        for (int i = 0; i < n * D; i++) rms[k] += (double)h[i] * h[i];
        rms[k] = sqrt(rms[k] / (n * D));
    }
    kvcache_free(c);
    free(logits);
    free(hidden);
    model_free(m);
    CHECK(L == 28);
    CHECK(finite);
    CHECK_MSG(rms[1] < 4 * rms[0], "stream rms %g after %d blocks, embeddings %g", rms[1], L - 1, rms[0]);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/seek-test-synth-%d", (int)getpid());
    if (mkdir(dir, 0700)) return 1;
    RUN(v3_routes_to_many_experts);
    RUN(v2_lite_routes_to_many_experts);
    RUN(qwen_stream_stays_small);
    rmdir(dir);
    return test_summary();
}
