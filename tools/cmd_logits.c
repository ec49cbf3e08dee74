/* cmd_logits.c - `seek logits -m MODEL --tokens 1,2,3 -o out.f32`: the logits at every
 * position as raw little-endian float32 [T x n_vocab], for validation against other
 * engines. The whole sequence is one batch from position 0 (--one-by-one feeds it token
 * by token through the KV cache instead; --naive / --absorbed force an MLA order;
 * --reference runs the plain F32 reference pass). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "model.h"
#include "util.h"

static void usage(FILE *f) {
    fputs("usage: seek logits -m MODEL.gguf --tokens ID,ID,... -o OUT.f32 [--one-by-one] [--naive|--absorbed]\n"
          "                   [--reference] [-v]\n"
          "  --one-by-one   feed the tokens one at a time through the KV cache (default: one batch)\n"
          "  --naive        naive MLA attention (deepseek2; default: chosen by cost)\n"
          "  --absorbed     absorbed MLA attention (deepseek2)\n"
          "  --reference    the plain reference forward pass (the oracle of the fast one)\n"
          "  -v, --verbose  say how the logits were computed (tokens, vocabulary, forward calls)\n", f);
}

/* "1,2,3" -> ids; -1 on a malformed list. */
static int parse_ids(const char *s, int32_t **out, int *n) {
    int cap = 16, k = 0;
    int32_t *v = malloc(sizeof *v * cap);
    if (!v) return -1;
    while (*s) {
        char *end;
        long x = strtol(s, &end, 10);
        if (end == s || x < 0 || x > INT32_MAX) { free(v); return -1; }
        if (k == cap) {
            int32_t *nv = realloc(v, sizeof *v * (cap *= 2));
            if (!nv) { free(v); return -1; }
            v = nv;
        }
        v[k++] = (int32_t)x;
        s = end;
        if (*s == ',') s++;
        else if (*s) { free(v); return -1; }
    }
    *out = v;
    *n = k;
    return 0;
}

int cmd_logits(int argc, char **argv) {
    const char *model = NULL, *toks = NULL, *out = NULL;
    bool one = false, naive = false, absorbed = false, ref = false, verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && i + 1 < argc) model = argv[++i];
        else if (!strcmp(a, "--tokens") && i + 1 < argc) toks = argv[++i];
        else if (!strcmp(a, "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(a, "--one-by-one")) one = true;
        else if (!strcmp(a, "--naive")) naive = true;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) verbose = true;
        else if (!strcmp(a, "--absorbed")) absorbed = true;
        else if (!strcmp(a, "--reference")) ref = true;
        else return cli_error("logits: unknown argument '%s'", a);
    }
    if (!model || !toks || !out) { usage(stderr); return cli_error("logits: need -m MODEL, --tokens IDS and -o OUT"); }
    int32_t *ids;
    int n;
    if (parse_ids(toks, &ids, &n)) return cli_error("logits: --tokens must be a comma-separated list of ids");
    if (n == 0) { free(ids); return cli_error("logits: --tokens is empty: give at least one id"); }
    seek_model *m = model_load(model);
    if (!m) { free(ids); return cli_lib_error(); }
    m->mla = naive ? MLA_NAIVE : absorbed ? MLA_ABSORBED : MLA_AUTO;
    m->reference = ref;
    int rc = 1;
    const size_t V = (size_t)m->hp.n_vocab;
    float *logits = malloc(sizeof(float) * V * (size_t)n);
    seek_kvcache *c = kvcache_new(m, n);
    FILE *f = NULL;
    if (!logits || !c) { cli_lib_error(); goto done; }
    int calls = 0;   /* forward calls made, reported with -v */
    if (one) {
        for (int t = 0; t < n; t++, calls++)
            if (model_forward(m, c, ids + t, 1, t, logits + (size_t)t * V, NULL)) { cli_lib_error(); goto done; }
    } else if (calls++, model_forward(m, c, ids, n, 0, logits, NULL)) {
        cli_lib_error();
        goto done;
    }
    if (!(f = fopen(out, "wb"))) { cli_error("%s: cannot create", out); goto done; }
    if (fwrite(logits, sizeof(float), V * (size_t)n, f) != V * (size_t)n || fclose(f)) {
        f = NULL;
        cli_error("%s: write failed", out);
        goto done;
    }
    f = NULL;
    if (verbose)
        fprintf(stderr, "logits: %d tokens x %zu vocabulary in %d forward call%s (%s attention)\n", n, V, calls,
                calls == 1 ? "" : "s", m->hp.arch == ARCH_DEEPSEEK2 ? (naive ? "naive MLA" : "absorbed MLA") : "standard");
    rc = 0;
done:
    if (f) fclose(f);
    kvcache_free(c);
    free(logits);
    free(ids);
    model_free(m);
    return rc;
}
