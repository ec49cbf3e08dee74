/* fwd_bench.c - prefill and decode speed of the forward pass on a GGUF file, through the
 * library API only (so the same file builds against older trees to compare):
 *   fwd_bench MODEL.gguf [prompt_tokens=128] [decode_tokens=32] [cache_type]
 * Prefill = the prompt in one call without logits + the last token with logits (what
 * seek run does); decode = one token per call with logits. Prints tokens/s and a checksum
 * (argmax of the last logits) to compare trees. cache_type needs -DSEEK_TYPED_CACHE. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "model.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: fwd_bench MODEL [P] [N] [cache_type]\n"); return 1; }
    int P = argc > 2 ? atoi(argv[2]) : 128, N = argc > 3 ? atoi(argv[3]) : 32;
    seek_model *m = model_load(argv[1]);
    if (!m) { fprintf(stderr, "load failed\n"); return 1; }
    const int V = m->hp.n_vocab;
#ifdef SEEK_TYPED_CACHE
    seek_type ct = SEEK_TYPE_F32;
    if (argc > 4 && kv_type_parse(argv[4], &ct)) { fprintf(stderr, "bad cache type\n"); return 1; }
    seek_kvcache *c = kvcache_new_type(m, P + N, ct);
#else
    seek_kvcache *c = kvcache_new(m, P + N);
#endif
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)(P + N));
    float *lg = malloc(sizeof(float) * (size_t)V);
    uint32_t s = 1;
    for (int i = 0; i < P + N; i++) { s = s * 1664525u + 1013904223u; tok[i] = (int32_t)((s >> 8) % (uint32_t)V); }
    double t0 = now();
    if ((P > 1 && model_forward(m, c, tok, P - 1, 0, NULL, NULL)) || model_forward(m, c, tok + P - 1, 1, P - 1, lg, NULL)) return 1;
    double t1 = now();
    for (int i = 0; i < N; i++)
        if (model_forward(m, c, tok + P + i, 1, P + i, lg, NULL)) return 1;
    double t2 = now();
    int am = 0;
    for (int v = 1; v < V; v++) if (lg[v] > lg[am]) am = v;
    printf("prefill %d tok: %.2f tok/s   decode %d tok: %.2f tok/s   (argmax %d, logit %.4f)\n", P, P / (t1 - t0), N,
           N / (t2 - t1), am, lg[am]);
    return 0;
}
