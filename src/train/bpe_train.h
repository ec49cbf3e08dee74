/* bpe_train.h - byte-level BPE tokenizer training (see bpe_train.c). */
#ifndef SEEK_BPE_TRAIN_H
#define SEEK_BPE_TRAIN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    int vocab;                   /* total size: added + 256 + merges */
    const char *const *added;    /* added tokens: [0] BOS, [1] EOS, then others */
    const bool *added_special;   /* special (control) or not (like DeepSeek's <think>) */
    int n_added;
    bool merge_digits;           /* allow merges inside digit runs */
    const char *chat_template;   /* written to tokenizer_config.json, may be NULL */
    int *stats;                  /* optional [3]: vocab size, merges, distinct pieces */
} bpe_train_opts;

/* Train on text[0..len); write out_json and tokenizer_config.json beside it. */
int bpe_train(const bpe_train_opts *o, const char *text, size_t len, const char *out_json);

#endif
