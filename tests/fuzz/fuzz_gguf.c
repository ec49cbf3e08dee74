/* fuzz_gguf.c - libFuzzer harness: any byte string must parse or fail cleanly,
 * and lookups on a parsed file must stay in bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "gguf.h"

static int fuzz_gguf_one(const uint8_t *data, size_t size) {
    gguf_file *g = gguf_parse(data, size, "fuzz");
    if (!g) return 0;
    volatile uint64_t sink = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        if (t->nbytes) sink += ((const uint8_t *)t->data)[t->nbytes - 1];   /* last byte is in bounds */
    }
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const gguf_value *v = &g->kv[i].value;
        if (v->type == GGUF_TYPE_ARRAY && v->arr.n && gguf_type_size(v->arr.type))
            sink += gguf_arr_f64(v, v->arr.n - 1) != 0 ? 1 : 0;
        if (v->type == GGUF_TYPE_ARRAY && v->arr.n && gguf_type_size(v->arr.type))
            sink += (uint64_t)gguf_arr_i64(v, 0);
    }
    char *s = gguf_get_string(g, "general.architecture");
    free(s);
    (void)sink;
    gguf_close(g);
    return 0;
}

#ifndef FUZZ_NO_ENTRY   /* tests/test_fuzz_regress.c includes this file without it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_gguf_one(data, size); }
#endif
