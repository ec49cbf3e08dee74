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
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) model = argv[++i];
        else if (!strcmp(a, "-f") && i + 1 < argc) file = argv[++i];
        else if ((!strcmp(a, "--ctx") || !strcmp(a, "-c")) && i + 1 < argc) n_ctx = atoi(argv[++i]);
        else return cli_error("perplexity: unknown argument '%s'", a);
    }
    if (!model || !file) return cli_error("perplexity: need -m MODEL and -f FILE");
    if (n_ctx < 4) return cli_error("perplexity: --ctx must be at least 4");
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
    logits = malloc(sizeof(float) * (size_t)n_ctx * V);
    c = kvcache_new(m, n_ctx);
    if (!logits || !c) { cli_lib_error(); goto done; }
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
