/* fuzz_safetensors.c - libFuzzer harness for the safetensors header parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "safetensors.h"

static int fuzz_safetensors_one(const uint8_t *data, size_t size) {
    st_file *f = st_parse(data, size, "fuzz");
    if (!f) return 0;
    for (size_t i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        if (t->nbytes && t->n_elements <= 4096) {
            float *x = malloc(t->n_elements * sizeof *x);
            if (x) st_to_f32(t, x);   /* reads every byte of the tensor */
            free(x);
        }
    }
    st_close(f);
    return 0;
}

#ifndef FUZZ_NO_ENTRY   /* tests/test_fuzz_regress.c includes this file without it */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_safetensors_one(data, size); }
#endif
