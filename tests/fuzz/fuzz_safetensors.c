/* fuzz_safetensors.c - libFuzzer harness for the safetensors header parser: any
 * byte string must parse or fail cleanly; a parsed file's tensors must be
 * readable to their last byte and findable by name. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "safetensors.h"

static int fuzz_safetensors_one(const uint8_t *data, size_t size) {
    st_file *f = st_parse(data, size, "fuzz");
    if (!f) return 0;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        if (st_find(f, t->name) != t) abort();   /* names are unique and sorted */
        if (!t->nbytes) continue;
        sink ^= ((const uint8_t *)t->data)[t->nbytes - 1];   /* last byte is in bounds */
        if (t->n_elements <= 4096) {
            float *x = malloc(t->n_elements * sizeof *x);
            if (x) st_to_f32(t, x);   /* float dtypes: reads every element */
            free(x);
        }
    }
    for (size_t i = 0; i < f->n_meta; i++) sink ^= (uint8_t)(f->meta_keys[i][0] ^ f->meta_values[i][0]);
    (void)sink;
    st_close(f);
    return 0;
}

#ifndef FUZZ_NO_ENTRY   /* tests/test_fuzz_regress.c includes this file without it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_safetensors_one(data, size); }
#endif
