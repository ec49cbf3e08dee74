/* fuzz_tokenizer.c - libFuzzer harness for tokenizer.json loading and tokenizing. Input:
 * a tokenizer.json, a NUL byte, then text. A loaded tokenizer must encode the text, decode
 * the ids back (byte-level BPE round-trips exactly) and stream them without overflow. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

static int fuzz_tokenizer_one(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t jl = nul ? (size_t)(nul - data) : size;
    const char *text = nul ? (const char *)nul + 1 : "";
    size_t tl = nul ? size - jl - 1 : 0;
    seek_tokenizer *t = tok_load_json_text((const char *)data, jl, NULL, "fuzz");
    if (!t) return 0;
    tok_ids ids = {0};
    if (tok_encode(t, text, tl, true, &ids) == 0) {
        size_t n;
        char *back = tok_decode(t, ids.v, ids.n, true, &n);
        free(back);
        tok_stream s;
        tok_stream_init(&s, t, false);
        char buf[256];
        for (size_t i = 0; i < ids.n; i++) tok_stream_push(&s, ids.v[i], buf, sizeof buf);
        tok_stream_flush(&s, buf, sizeof buf);
    }
    tok_ids_free(&ids);
    tok_free(t);
    return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_tokenizer_one(data, size); }
#endif
