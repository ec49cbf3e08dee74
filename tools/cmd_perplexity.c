/* cmd_perplexity.c - `seek perplexity -m MODEL -f TEXT [-c N] [--chunks K]`: perplexity of
 * a text on llama.cpp's protocol (llama-perplexity), so the two engines' numbers compare:
 *
 *   tokens = tokenize(text) with the BOS the model asks for; at least 2N tokens are needed
 *   the tokens are cut into floor(len/N) independent chunks of N (at most K of them)
 *   each chunk is evaluated from an empty cache, its first token replaced by BOS when the
 *   model adds one; only the second half is scored: positions N/2 .. N-2 predict the next
 *   token (N - N/2 - 1 tokens per chunk), so every scored token has >= N/2 of context
 *   PPL = exp(mean nll); error = PPL * sqrt((mean(nll^2) - mean(nll)^2) / (count - 1))
 *
 * stdout: the running estimate after each chunk ("[1]5.1234,[2]...") and the last line
 * "Final estimate: PPL = <value> +/- <error>". --legacy keeps seek's earlier variant (no
 * BOS per chunk, one chunk is enough). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cmds.h"
#include "model.h"
#include "threads.h"
#include "tokenizer.h"
#include "util.h"

static void usage(FILE *f) {
    fputs("usage: seek perplexity -m MODEL.gguf -f TEXT_FILE [-c N] [--chunks K] [--threads N] [--legacy]\n\n"
          "  -c, --ctx N   tokens per chunk (default 512); the text needs at least 2N tokens\n"
          "  --chunks K    score at most K chunks\n"
          "  --legacy      seek's earlier protocol: no BOS per chunk, one chunk suffices\n", f);
}

/* -log p(tok) from one row of logits, the way llama-perplexity computes it: float max,
 * float exponentials summed in double. */
static double nll_of(const float *l, int V, int tok) {
    float mx = l[0];
    for (int v = 1; v < V; v++) mx = l[v] > mx ? l[v] : mx;
    double s = 0;
    for (int v = 0; v < V; v++) s += expf(l[v] - mx);
    return -((double)(l[tok] - mx) - log(s));
}

int cmd_perplexity(int argc, char **argv) {
    const char *model = NULL, *file = NULL;
    int n_ctx = 512, max_chunks = -1, threads = 0;
    bool legacy = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        int r;
        if ((r = cli_opt("perplexity", argc, argv, &i, "-m", "--model", &model)) ||
            (r = cli_opt("perplexity", argc, argv, &i, "-f", "--file", &file)) ||
            (r = cli_opt_int("perplexity", argc, argv, &i, "--ctx", "-c", 4, 1 << 24, &n_ctx)) ||
            (r = cli_opt_int("perplexity", argc, argv, &i, "--chunks", NULL, 1, 1 << 30, &max_chunks)) ||
            (r = cli_opt_int("perplexity", argc, argv, &i, "--threads", "-t", 1, 256, &threads))) {
            if (r < 0) return 2;
        } else if (!strcmp(a, "--legacy")) {
            legacy = true;
        } else {
            return cli_usage_error("perplexity", "unknown argument '%s'", a);
        }
    }
    if (!model) return cli_usage_error("perplexity", "no model: give one with -m MODEL.gguf");
    if (!file) return cli_usage_error("perplexity", "no text: give one with -f TEXT_FILE");
    if (threads > 0) seek_set_threads(threads);
    size_t len;
    char *text = seek_read_file(file, &len);
    if (!text) return cli_lib_error();
    seek_model *m = model_load(model);
    if (!m) { free(text); return cli_lib_error(); }
    int rc = 1;
    seek_tokenizer *tk = tok_load_gguf(m->gguf);
    tok_ids ids = {0};
    float *logits = NULL;
    int32_t *chunk = NULL;
    seek_kvcache *c = NULL;
    if (!tk) { cli_lib_error(); goto done; }
    if (tok_encode(tk, text, len, true, &ids)) { cli_lib_error(); goto done; }
    if (n_ctx > m->hp.n_ctx_train)
        fprintf(stderr, "seek: warning: -c %d exceeds the training context %d\n", n_ctx, m->hp.n_ctx_train);
    const size_t need = legacy ? (size_t)n_ctx : 2 * (size_t)n_ctx;
    if (ids.n < need) {
        cli_error("perplexity: %s has %zu tokens; -c %d needs at least %zu (use a smaller -c)", file, ids.n, n_ctx, need);
        goto done;
    }
    int n_chunks = (int)(ids.n / (size_t)n_ctx);
    if (max_chunks > 0 && max_chunks < n_chunks) n_chunks = max_chunks;
    const bool add_bos = !legacy && tok_add_bos(tk) && tok_bos(tk) >= 0;
    const int V = m->hp.n_vocab, first = n_ctx / 2;
    if (!(logits = seek_malloc(sizeof(float) * (size_t)n_ctx * V)) || !(chunk = seek_malloc(sizeof *chunk * (size_t)n_ctx))) {
        cli_error("perplexity: %s for the logits of a %d-token chunk", seek_last_error(), n_ctx);
        goto done;
    }
    if (!(c = kvcache_new(m, n_ctx))) { cli_error("perplexity: KV cache for %d positions: %s", n_ctx, seek_last_error()); goto done; }
    fprintf(stderr, "perplexity: %zu tokens, %d chunks of %d, scoring the last %d of each%s\n", ids.n, n_chunks,
            n_ctx, n_ctx - first - 1, add_bos ? ", BOS first" : "");
    double nll = 0, nll2 = 0;
    long count = 0;
    for (int k = 0; k < n_chunks; k++) {
        memcpy(chunk, ids.v + (size_t)k * n_ctx, sizeof *chunk * (size_t)n_ctx);
        if (add_bos) chunk[0] = tok_bos(tk);
        c->n_past = 0;
        if (model_forward(m, c, chunk, n_ctx, 0, logits, NULL)) { cli_lib_error(); goto done; }
        for (int t = first; t < n_ctx - 1; t++) {   /* position t predicts token t+1 */
            double v = nll_of(logits + (size_t)t * V, V, chunk[t + 1]);
            nll += v;
            nll2 += v * v;
            count++;
        }
        printf("[%d]%.4f,", k + 1, exp(nll / count));
        fflush(stdout);
    }
    printf("\n");
    double mean = nll / count, var = nll2 / count - mean * mean, ppl = exp(mean);
    double err = var > 0 && count > 1 ? sqrt(var / (count - 1)) * ppl : 0;
    printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, err);
    rc = 0;
done:
    kvcache_free(c);
    free(logits);
    free(chunk);
    tok_ids_free(&ids);
    tok_free(tk);
    model_free(m);
    free(text);
    return rc;
}
