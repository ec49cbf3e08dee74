/* tokenizer_bench.c - tokenizer speed: load time of a tokenizer.json and MB/s encoding
 * a text file paragraph by paragraph (split at blank lines, as bench/tokenizer.sh and
 * the reference script bench/tokenizer_ref.mjs do).
 *
 *   tokenizer_bench TOKENIZER.json TEXT [REPEATS]
 * Prints load time, tokens, MB/s (best of REPEATS runs) and a checksum of the ids
 * (the sum of id*(position+1) mod 2^32) to compare with the reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenizer.h"
#include "util.h"
#include "bench.h"

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: tokenizer_bench TOKENIZER.json TEXT [REPEATS]\n"); return 2; }
    int repeats = argc > 3 ? atoi(argv[3]) : 3;
    double t0 = now();
    seek_tokenizer *t = tok_load_json(argv[1]);
    double load = now() - t0;
    if (!t) { fprintf(stderr, "seek: %s\n", seek_last_error()); return 1; }
    size_t len;
    char *text = seek_read_file(argv[2], &len);
    if (!text) { fprintf(stderr, "seek: %s\n", seek_last_error()); return 1; }
    double best = 1e30;
    size_t ntok = 0;
    uint32_t sum = 0;
    for (int r = 0; r < repeats; r++) {
        tok_ids ids = {0};
        ntok = 0;
        sum = 0;
        double a = now();
        for (size_t pos = 0; pos < len;) {
            char *e = strstr(text + pos, "\n\n");
            size_t end = e ? (size_t)(e - text) + 2 : len;
            ids.n = 0;
            if (tok_encode(t, text + pos, end - pos, false, &ids)) { fprintf(stderr, "seek: %s\n", seek_last_error()); return 1; }
            for (size_t i = 0; i < ids.n; i++) sum += (uint32_t)ids.v[i] * (uint32_t)(ntok + i + 1);
            ntok += ids.n;
            pos = end;
        }
        double dt = now() - a;
        if (dt < best) best = dt;
        tok_ids_free(&ids);
    }
    printf("load %.3f s, vocab %d\n", load, tok_n_vocab(t));
    printf("text %.2f MB, %zu tokens, encode %.3f s = %.2f MB/s, checksum %u\n", len / 1e6, ntok, best,
           len / 1e6 / best, sum);
    free(text);
    tok_free(t);
    return 0;
}
