/* cmd_perplexity.c - `seek perplexity -m MODEL -f FILE [--ctx N]`: perplexity of a text
 * under the model. The text is tokenized with the model's tokenizer and cut into windows
 * of N tokens (default 512, at most the training context); each window is evaluated from
 * an empty cache and only the second half of its positions is scored, so every scored
 * token sees at least N/2 tokens of context (as llama.cpp's perplexity tool does, which
 * keeps the numbers comparable). Prints running values to stderr, the result to stdout. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_args.h"
#include "cmds.h"
#include "model.h"
#include "tokenizer.h"
#include "util.h"

int cmd_perplexity(int argc, char **argv) {
    const char *model = NULL, *file = NULL;
    int n_ctx = 512;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            puts("usage: seek perplexity -m MODEL.gguf -f TEXT_FILE [--ctx N]");
            return 0;
        }
        const char *v;
        int r;
        if ((r = cli_opt("perplexity", argc, argv, &i, "-m", "--model", &model)) ||
            (r = cli_opt("perplexity", argc, argv, &i, "-f", "--file", &file))) {
            if (r < 0) return 2;
        } else if ((r = cli_opt("perplexity", argc, argv, &i, "--ctx", "-c", &v))) {
            if (r < 0 || cli_int("perplexity", a, v, 4, 1 << 24, &n_ctx)) return 2;
        } else {
            return cli_usage_error("perplexity", "unknown argument '%s'", a);
        }
    }
    if (!model) return cli_usage_error("perplexity", "no model: give one with -m MODEL.gguf");
    if (!file) return cli_usage_error("perplexity", "no text: give one with -f TEXT_FILE");
    size_t len;
    char *text = seek_read_file(file, &len);
    if (!text) return cli_lib_error();
    seek_model *m = model_load(model);
    if (!m) { free(text); return cli_lib_error(); }
    int rc = 1;
    seek_tokenizer *tk = tok_load_gguf(m->gguf);
    tok_ids ids = {0};
    float *logits = NULL;
    seek_kvcache *c = NULL;
    if (!tk) { cli_lib_error(); goto done; }
    if (tok_encode(tk, text, len, true, &ids)) { cli_lib_error(); goto done; }
    if (n_ctx > m->hp.n_ctx_train) n_ctx = m->hp.n_ctx_train;
    int n_chunks = (int)(ids.n / (size_t)n_ctx);
    if (n_chunks < 1) {
        cli_error("perplexity: %s has %zu tokens, fewer than one window of %d (use a smaller --ctx)", file, ids.n, n_ctx);
        goto done;
    }
    const int V = m->hp.n_vocab;
    if (!(logits = seek_malloc(sizeof(float) * (size_t)n_ctx * V))) {
        cli_error("perplexity: %s for the logits of a %d-token window", seek_last_error(), n_ctx);
        goto done;
    }
    if (!(c = kvcache_new(m, n_ctx))) { cli_error("perplexity: KV cache for %d positions: %s", n_ctx, seek_last_error()); goto done; }
    double nll = 0;
    long count = 0;
    const bool tty = isatty(2);
    for (int k = 0; k < n_chunks; k++) {
        const int32_t *w = ids.v + (size_t)k * n_ctx;
        c->n_past = 0;
        if (model_forward(m, c, w, n_ctx, 0, logits, NULL)) { cli_lib_error(); goto done; }
        for (int t = n_ctx / 2; t < n_ctx - 1; t++) {   /* position t predicts token t+1 */
            const float *l = logits + (size_t)t * V;
            float mx = l[0];
            for (int v = 1; v < V; v++) if (l[v] > mx) mx = l[v];
            double s = 0;
            for (int v = 0; v < V; v++) s += exp((double)l[v] - mx);
            nll += log(s) + mx - l[w[t + 1]];
            count++;
        }
        if (tty) {
            fprintf(stderr, "\rperplexity: [%d/%d] %.4f", k + 1, n_chunks, exp(nll / count));
            fflush(stderr);
        }
    }
    if (tty) fprintf(stderr, "\n");
    printf("perplexity: %.6f over %ld tokens (%d windows of %d)\n", exp(nll / count), count, n_chunks, n_ctx);
    rc = 0;
done:
    kvcache_free(c);
    free(logits);
    tok_ids_free(&ids);
    tok_free(tk);
    model_free(m);
    free(text);
    return rc;
}
