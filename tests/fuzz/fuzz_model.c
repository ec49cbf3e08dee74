/* fuzz_model.c - libFuzzer harness for the model loader: any GGUF byte string must load
 * or fail with an error; a loaded model's hyperparameters must be safe to build a KV cache
 * and (for small models) run one token through. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf.h"
#include "model.h"

static int fuzz_model_one(const uint8_t *data, size_t size) {
    gguf_file *g = gguf_parse(data, size, "fuzz");
    if (!g) return 0;
    g->path = strdup("fuzz");
    seek_model *m = model_from_gguf(g);   /* owns g from here */
    if (!m) return 0;
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++) bytes += m->gguf->tensors[i].nbytes;
    seek_kvcache *c = kvcache_new(m, 2);
    if (c && bytes < (1u << 20)) {
        float *lg = malloc(sizeof(float) * 2 * (size_t)m->hp.n_vocab);
        int32_t ids[2] = {0, m->hp.n_vocab - 1};
        if (lg) model_forward(m, c, ids, 2, 0, lg, NULL);
        free(lg);
    }
    kvcache_free(c);
    model_free(m);
    return 0;
}

#ifndef FUZZ_NO_ENTRY   /* tests/test_fuzz_regress.c includes this file without it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_model_one(data, size); }
#endif
