/* cmd_train.c - `seek train`: train a DeepSeek-V3-architecture model from scratch.
 *
 *   seek train --config CONFIG.json [--resume | --export] [--steps N] [-t THREADS] [--quiet]
 *       --export: write the GGUF from the run's checkpoint and stop
 *   seek train prepare --tokenizer tokenizer.json -f TEXT [-f TEXT ...] -o PREFIX [--val-every K]
 *
 * CONFIG.json (paths relative to the config file):
 *   "model": {n_embd, n_layer, n_dense_lead, n_head, q_lora_rank, kv_lora_rank,
 *             qk_nope_head_dim, qk_rope_head_dim, v_head_dim, ffn, n_expert, n_expert_used,
 *             n_shared_expert, expert_ffn, mtp, tied, context, norm_eps, rope_base,
 *             routed_scale, norm_topk}                  (vocab from the tokenizer)
 *   "data":  {tokenizer, train, val}                    token files from `seek train prepare`
 *   "train": {batch, seq, accum, steps, lr, lr_min, warmup, weight_decay, beta1, beta2, clip,
 *             seed, mtp_lambda, bias_gamma, balance_alpha, eval_every, eval_batches,
 *             ckpt_every, log_every}
 *   "out":   {dir, gguf, name, export_mtp}     export_mtp 0: leave the MTP block out of the GGUF
 * Writes DIR/checkpoint.bin (resume with --resume), DIR/log.tsv, DIR/loss.svg and the GGUF
 * (tokenizer and chat template included, from the tokenizer's folder) every ckpt_every steps
 * and at the end.
 *
 * `prepare` tokenizes text files (special tokens such as <｜begin▁of▁sentence｜> in the text
 * are recognised) into PREFIX.train.bin and PREFIX.val.bin; documents start at BOS and every
 * K-th document goes to validation.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli_args.h"
#include "cmds.h"
#include "threads.h"
#include "tokenizer.h"
#include "train/plot.h"
#include "train/train.h"
#include "util.h"

static void usage(FILE *f) {
    fputs("usage: seek train --config CONFIG.json [--resume | --export] [--steps N] [-t THREADS] [--quiet]\n"
          "       seek train prepare --tokenizer tokenizer.json -f TEXT [-f TEXT...] -o PREFIX [--val-every K]\n", f);
}

static double cpu_s(void) {   /* CPU time of the process, all threads: a speed measure that a shared machine disturbs less */
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------------------ */
/* prepare */

static int cmd_prepare(int argc, char **argv) {
    const char *tokp = NULL, *out = NULL;
    const char *files[64];
    int nf = 0, val_every = 20;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--tokenizer") && i + 1 < argc) tokp = argv[++i];
        else if (!strcmp(a, "-f") && i + 1 < argc) {
            if (nf == 64) return cli_error("train prepare: at most 64 files");
            files[nf++] = argv[++i];
        } else if (!strcmp(a, "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(a, "--val-every") && i + 1 < argc) val_every = atoi(argv[++i]);
        else { usage(stderr); return cli_error("train prepare: unknown argument '%s'", a); }
    }
    if (!tokp || !out || !nf) { usage(stderr); return cli_error("train prepare: need --tokenizer, -f and -o"); }
    if (val_every < 2) return cli_error("train prepare: --val-every must be >= 2");
    seek_tokenizer *t = tok_load_json(tokp);
    if (!t) return cli_lib_error();
    int32_t bos = tok_bos(t);
    tok_ids all = {0};
    for (int i = 0; i < nf; i++) {
        size_t len;
        char *text = seek_read_file(files[i], &len);
        if (!text || tok_encode(t, text, len, false, &all)) { free(text); tok_free(t); tok_ids_free(&all); return cli_lib_error(); }
        free(text);
    }
    /* split into documents at BOS; every val_every-th document is validation */
    tok_ids tr = {0}, va = {0};
    int64_t doc = -1;
    for (size_t i = 0; i < all.n; i++) {
        if (all.v[i] == bos || doc < 0) doc++;
        if (tok_ids_push(doc % val_every == val_every - 1 ? &va : &tr, all.v[i])) return cli_lib_error();
    }
    char p1[4096], p2[4096];
    snprintf(p1, sizeof p1, "%s.train.bin", out);
    snprintf(p2, sizeof p2, "%s.val.bin", out);
    int rc = tm_data_write(p1, tr.v, (int64_t)tr.n) || tm_data_write(p2, va.v, (int64_t)va.n);
    if (!rc) printf("%s: %zu tokens\n%s: %zu tokens\n%lld documents\n", p1, tr.n, p2, va.n, (long long)doc + 1);
    tok_ids_free(&all);
    tok_ids_free(&tr);
    tok_ids_free(&va);
    tok_free(t);
    return rc ? cli_lib_error() : 0;
}

/* ------------------------------------------------------------------------------------ */
/* configuration */

typedef struct {
    tm_config mc;
    char tokenizer[4096], train[4096], val[4096], dir[4096], gguf[4096], name[256];
    int export_mtp;
    int batch, seq, accum, steps, eval_every, eval_batches, ckpt_every, log_every;
    uint64_t seed;
    adamw_opts opt;
    float mtp_lambda, bias_gamma, balance_alpha;
} train_cfg;

static const char *cfg_file;

static int num(json_t *o, const char *k, double *v, double dflt, double lo, double hi) {
    json_t *x = o ? json_object_get(o, k) : NULL;
    if (!x) { *v = dflt; return 0; }
    if (json_is_boolean(x)) { *v = json_is_true(x); return 0; }
    if (!json_is_number(x)) return cli_error("%s: '%s' must be a number", cfg_file, k);
    *v = json_number_value(x);
    if (!(*v >= lo && *v <= hi)) return cli_error("%s: '%s' = %g is outside [%g, %g]", cfg_file, k, *v, lo, hi);
    return 0;
}

static int geti(json_t *o, const char *k, int *v, int dflt, int lo, int hi) {
    double d;
    if (num(o, k, &d, dflt, lo, hi)) return 1;
    if (d != floor(d)) return cli_error("%s: '%s' must be an integer", cfg_file, k);
    *v = (int)d;
    return 0;
}

static int getf(json_t *o, const char *k, float *v, double dflt, double lo, double hi) {
    double d;
    if (num(o, k, &d, dflt, lo, hi)) return 1;
    *v = (float)d;
    return 0;
}

/* path relative to the config file's folder */
static int getp(json_t *o, const char *k, char *out, size_t cap, const char *dflt) {
    json_t *x = o ? json_object_get(o, k) : NULL;
    const char *s = dflt;
    if (x && !json_is_string(x)) return cli_error("%s: '%s' must be a string", cfg_file, k);
    if (x) s = json_string_value(x);
    if (!s) return cli_error("%s: missing '%s'", cfg_file, k);
    const char *sl = strrchr(cfg_file, '/');
    int n = s[0] == '/' || !sl ? snprintf(out, cap, "%s", s) : snprintf(out, cap, "%.*s/%s", (int)(sl - cfg_file), cfg_file, s);
    if (n < 0 || (size_t)n >= cap) return cli_error("%s: path '%s' too long", cfg_file, k);
    return 0;
}

static int read_cfg(const char *path, train_cfg *c) {
    cfg_file = path;
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) return cli_error("%s: line %d: %s", path, je.line, je.text);
    int rc = 1;
    json_t *m = json_object_get(root, "model"), *d = json_object_get(root, "data"), *t = json_object_get(root, "train"),
           *o = json_object_get(root, "out");
    if (!json_is_object(m) || !json_is_object(d)) { cli_error("%s: needs objects \"model\" and \"data\"", path); goto out; }
    memset(c, 0, sizeof *c);
    tm_config *mc = &c->mc;
    const int BIG = 1 << 20;
    if (geti(m, "n_embd", &mc->D, 128, 1, 65536) || geti(m, "n_layer", &mc->L, 2, 1, 256) ||
        geti(m, "n_dense_lead", &mc->n_dense, 1, 0, 256) || geti(m, "n_head", &mc->H, 4, 1, 1024) ||
        geti(m, "q_lora_rank", &mc->QL, 64, 1, BIG) || geti(m, "kv_lora_rank", &mc->R, 32, 1, BIG) ||
        geti(m, "qk_nope_head_dim", &mc->nope, 32, 1, BIG) || geti(m, "qk_rope_head_dim", &mc->rope, 16, 2, BIG) ||
        geti(m, "v_head_dim", &mc->hv, 32, 1, BIG) || geti(m, "ffn", &mc->F, 256, 0, BIG) ||
        geti(m, "n_expert", &mc->E, 8, 0, 4096) || geti(m, "n_expert_used", &mc->K, 2, 0, 4096) ||
        geti(m, "n_shared_expert", &mc->n_shared, 1, 0, 64) || geti(m, "expert_ffn", &mc->Fe, 64, 0, BIG) ||
        geti(m, "mtp", &mc->mtp, 1, 0, 1) || geti(m, "tied", &mc->tied, 0, 0, 1) ||
        geti(m, "context", &mc->ctx, 256, 2, BIG) || getf(m, "norm_eps", &mc->eps, 1e-6, 1e-12, 0.1) ||
        getf(m, "rope_base", &mc->rope_base, 10000, 1, 1e9) || getf(m, "routed_scale", &mc->route_scale, 1.0, 1e-6, 1e6) ||
        geti(m, "norm_topk", &mc->norm_topk, 1, 0, 1))
        goto out;
    if (getp(d, "tokenizer", c->tokenizer, sizeof c->tokenizer, NULL) || getp(d, "train", c->train, sizeof c->train, NULL) ||
        getp(d, "val", c->val, sizeof c->val, NULL))
        goto out;
    if (geti(t, "batch", &c->batch, 16, 1, 4096) || geti(t, "seq", &c->seq, 128, 2, BIG) ||
        geti(t, "accum", &c->accum, 1, 1, 1024) || geti(t, "steps", &c->steps, 1000, 1, 1 << 30) ||
        getf(t, "lr", &c->opt.lr, 3e-3, 0, 10) || getf(t, "lr_min", &c->opt.lr_min, 3e-4, 0, 10) ||
        geti(t, "warmup", &c->opt.warmup, 100, 0, 1 << 30) || getf(t, "weight_decay", &c->opt.wd, 0.1, 0, 10) ||
        getf(t, "beta1", &c->opt.beta1, 0.9, 0, 0.9999999) || getf(t, "beta2", &c->opt.beta2, 0.95, 0, 0.9999999) ||
        getf(t, "clip", &c->opt.clip, 1.0, 0, 1e9) || getf(t, "mtp_lambda", &c->mtp_lambda, 0.3, 0, 100) ||
        getf(t, "bias_gamma", &c->bias_gamma, 1e-3, 0, 10) || getf(t, "balance_alpha", &c->balance_alpha, 1e-4, 0, 10) ||
        geti(t, "eval_every", &c->eval_every, 100, 1, 1 << 30) || geti(t, "eval_batches", &c->eval_batches, 4, 1, 100000) ||
        geti(t, "ckpt_every", &c->ckpt_every, 200, 1, 1 << 30) || geti(t, "log_every", &c->log_every, 10, 1, 1 << 30))
        goto out;
    double seed;
    if (num(t, "seed", &seed, 1, 0, 9007199254740991.0)) goto out;
    c->seed = (uint64_t)seed;
    c->opt.eps = 1e-8f;
    c->opt.steps = c->steps;
    if (getp(o, "dir", c->dir, sizeof c->dir, "run") || getp(o, "gguf", c->gguf, sizeof c->gguf, "run/model.gguf")) goto out;
    if (geti(o, "export_mtp", &c->export_mtp, 1, 0, 1)) goto out;
    json_t *nm = o ? json_object_get(o, "name") : NULL;
    snprintf(c->name, sizeof c->name, "%s", json_is_string(nm) ? json_string_value(nm) : "seek-trained");
    if (c->seq > mc->ctx) { cli_error("%s: train.seq %d exceeds model.context %d", path, c->seq, mc->ctx); goto out; }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

/* tokenizer_config.json's chat_template beside the tokenizer, or NULL */
static char *chat_template_of(const char *tokenizer) {
    char p[4200];
    const char *sl = strrchr(tokenizer, '/');
    if (sl) snprintf(p, sizeof p, "%.*s/tokenizer_config.json", (int)(sl - tokenizer), tokenizer);
    else snprintf(p, sizeof p, "tokenizer_config.json");
    json_t *j = json_load_file(p, 0, NULL);
    json_t *ct = j ? json_object_get(j, "chat_template") : NULL;
    char *r = json_is_string(ct) ? seek_strdup(json_string_value(ct)) : NULL;
    json_decref(j);
    return r;
}

/* ------------------------------------------------------------------------------------ */
/* history for the plot (log.tsv: step, loss, val or -) */

typedef struct {
    double *s, *l, *vs, *vl;
    int n, nv, cap, capv;
} history;

static void hist_add(history *h, double s, double l, bool val) {
    double **xs = val ? &h->vs : &h->s, **ys = val ? &h->vl : &h->l;
    int *n = val ? &h->nv : &h->n, *cap = val ? &h->capv : &h->cap;
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 256;
        double *a = realloc(*xs, sizeof(double) * (size_t)nc), *b = realloc(*ys, sizeof(double) * (size_t)nc);
        if (!a || !b) { free(a != *xs ? a : NULL); return; }
        *xs = a; *ys = b; *cap = nc;
    }
    (*xs)[*n] = s;
    (*ys)[*n] = l;
    (*n)++;
}

/* Read log.tsv up to the checkpoint's step and rewrite it without the later lines (a run
 * stopped between checkpoints logged steps that the resumed run repeats). */
static void hist_load(history *h, const char *path, int64_t upto) {
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[256];
    size_t cap = 4096, len = 0;
    char *keep = malloc(cap);
    while (keep && fgets(line, sizeof line, f)) {
        double s, l, v;
        char vb[64];
        if (sscanf(line, "%lf %lf %63s", &s, &l, vb) != 3 || s > upto) continue;
        hist_add(h, s, l, false);
        if (sscanf(vb, "%lf", &v) == 1) hist_add(h, s, v, true);
        size_t n = strlen(line);
        if (len + n + 1 > cap) {
            char *k = realloc(keep, cap * 2 + n);
            if (!k) { free(keep); keep = NULL; break; }
            keep = k;
            cap = cap * 2 + n;
        }
        memcpy(keep + len, line, n);
        len += n;
    }
    fclose(f);
    if (keep && (f = fopen(path, "w"))) {
        fwrite(keep, 1, len, f);
        fclose(f);
    }
    free(keep);
}

static double evaluate(tm_model *m, const tm_data *val, const train_cfg *c, int32_t *tok, double *mtp) {
    double s = 0, s2 = 0;
    m->count_load = false;
    for (int i = 0; i < c->eval_batches; i++) {
        tm_data_batch(val, tok, c->batch, c->seq, c->seed ^ 0xe7a1, -1 - i, 0);
        if (tm_forward(m, tok)) return NAN;
        s += m->loss_main;
        s2 += m->loss_mtp;
    }
    *mtp = s2 / c->eval_batches;
    return s / c->eval_batches;
}

static void fmt_time(char *b, size_t n, double s) {
    if (s < 0 || !isfinite(s)) { snprintf(b, n, "?"); return; }
    int t = (int)s;
    if (t >= 3600) snprintf(b, n, "%dh%02dm", t / 3600, t / 60 % 60);
    else snprintf(b, n, "%dm%02ds", t / 60, t % 60);
}

int cmd_train(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "prepare")) return cmd_prepare(argc, argv);
    const char *cfgp = NULL;
    bool resume = false, quiet = false, export_only = false;
    int steps_override = 0, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--config") && i + 1 < argc) cfgp = argv[++i];
        else if (!strcmp(a, "--resume")) resume = true;
        else if (!strcmp(a, "--export")) export_only = resume = true;
        else if (!strcmp(a, "--quiet")) quiet = true;
        else if (!strcmp(a, "--steps") && i + 1 < argc) steps_override = atoi(argv[++i]);
        else if ((!strcmp(a, "-t") || !strcmp(a, "--threads")) && i + 1 < argc) threads = atoi(argv[++i]);
        else { usage(stderr); return cli_error("train: unknown argument '%s'", a); }
    }
    if (!cfgp) { usage(stderr); return cli_error("train: --config CONFIG.json is required"); }
    if (threads > 0) seek_set_threads(threads);
    train_cfg c;
    if (read_cfg(cfgp, &c)) return 1;
    int stop_at = steps_override > 0 && steps_override < c.steps ? steps_override : c.steps;

    seek_tokenizer *tk = tok_load_json(c.tokenizer);
    if (!tk) return cli_lib_error();
    c.mc.V = tok_n_vocab(tk);
    int32_t bos = tok_bos(tk);
    tok_free(tk);
    tm_data tr, va;
    if (tm_data_load(&tr, c.train, bos, c.mc.V)) return cli_lib_error();
    if (tm_data_load(&va, c.val, bos, c.mc.V)) { tm_data_free(&tr); return cli_lib_error(); }
    if (tr.n < c.seq + 1 || va.n < c.seq + 1) {
        tm_data_free(&tr);
        tm_data_free(&va);
        return cli_error("train: the token files need more than seq = %d tokens (train %lld, val %lld)", c.seq,
                         (long long)tr.n, (long long)va.n);
    }
    if (mkdir(c.dir, 0777) && errno != EEXIST) return cli_error("train: cannot create %s: %s", c.dir, strerror(errno));
    char ckpt[4200], logp[4200], svg[4200];
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.bin", c.dir);
    snprintf(logp, sizeof logp, "%s/log.tsv", c.dir);
    snprintf(svg, sizeof svg, "%s/loss.svg", c.dir);

    tm_model m;
    adamw_state st = {0};
    int64_t step = 0;
    int rc = 1;
    history h = {0};
    int32_t *tok = NULL;
    if (resume) {
        if (tm_load_checkpoint(&m, &st, &step, ckpt)) { cli_lib_error(); goto done_data; }
        if (memcmp(&m.c, &c.mc, sizeof c.mc)) {
            cli_error("train: %s was made with another model configuration", ckpt);
            tm_free(&m);
            adamw_free(&st);
            goto done_data;
        }
        hist_load(&h, logp, step);
    } else {
        if (tm_create(&m, &c.mc) || adamw_init(&st, m.n_params)) { cli_lib_error(); goto done_data; }
        tm_init(&m, c.seed);
        remove(logp);
    }
    m.mtp_lambda = c.mtp_lambda;
    m.bal_alpha = c.balance_alpha;
    if (export_only) {   /* the checkpoint as GGUF, no training */
        char *tmpl = chat_template_of(c.tokenizer);
        int e = tm_export_gguf(&m, c.tokenizer, tmpl, c.name, c.gguf, c.export_mtp);
        free(tmpl);
        if (e) { cli_lib_error(); goto done_model; }
        if (!quiet) fprintf(stderr, "train: wrote %s from %s (step %lld)\n", c.gguf, ckpt, (long long)step);
        rc = 0;
        goto done_model;
    }
    if (tm_alloc_batch(&m, c.batch, c.seq)) { cli_lib_error(); goto done_model; }
    if (!(tok = seek_malloc(sizeof(int32_t) * (size_t)c.batch * (c.seq + 1)))) { cli_lib_error(); goto done_model; }

    size_t n_active = 0;   /* parameters a token passes through: all minus the unchosen experts */
    for (int i = 0; i < m.n_tensors; i++) {
        const tm_tensor *t = &m.tensors[i];
        n_active += strstr(t->name, "_exps") ? t->n / (size_t)c.mc.E * (size_t)c.mc.K : t->n;
    }
    if (!quiet)
        fprintf(stderr, "train: %zu parameters (%zu active per token), vocab %d, %d blocks + %d MTP, %d experts (%d used, %d shared), "
                        "batch %d x %d x %d, %d steps, %d threads%s\n",
                m.n_params, n_active, c.mc.V, c.mc.L, c.mc.mtp, c.mc.E, c.mc.K, c.mc.n_shared, c.batch, c.seq, c.accum,
                c.steps, seek_threads(), resume ? ", resumed" : "");
    FILE *logf = fopen(logp, resume ? "a" : "w");
    if (!logf) { cli_error("train: cannot write %s", logp); goto done_model; }
    double t0 = cli_now(), t_last = t0, c0 = cpu_s(), val = NAN, valm = NAN;
    int64_t step0 = step, tok_since = 0;
    for (; step < stop_at; step++) {
        tm_zero_grad(&m);
        m.count_load = true;
        double loss = 0, lmain = 0, lmtp = 0;
        for (int micro = 0; micro < c.accum; micro++) {
            tm_data_batch(&tr, tok, c.batch, c.seq, c.seed, step, micro);
            if (tm_forward(&m, tok)) { fclose(logf); cli_lib_error(); goto done_model; }
            loss += m.loss / c.accum;
            lmain += m.loss_main / c.accum;
            lmtp += m.loss_mtp / c.accum;
            tm_backward(&m);
        }
        if (c.accum > 1)
            for (size_t i = 0; i < m.n_params; i++) m.grads[i] /= (real)c.accum;
        float lr = lr_at(&c.opt, step);
        double gn = adamw_step(&st, &m, &c.opt, lr);
        double spread = tm_load_spread(&m);
        bool last = step + 1 == stop_at;
        bool do_eval = (step + 1) % c.eval_every == 0 || last;
        if (do_eval && !quiet) {   /* per-expert load of this step, in % of the block's tokens */
            for (int l = 0; l < c.mc.L + c.mc.mtp; l++) {
                if (!tm_is_moe(&c.mc, l)) continue;
                const int64_t *ld = m.load + (size_t)l * c.mc.E;
                int64_t tot = 0;
                for (int e = 0; e < c.mc.E; e++) tot += ld[e];
                fprintf(stderr, "  expert load blk.%d%s:", l, l == c.mc.L ? " (MTP)" : "");
                for (int e = 0; e < c.mc.E; e++) fprintf(stderr, " %.1f%%", tot ? 100.0 * ld[e] / tot : 0.0);
                fprintf(stderr, "\n");
            }
        }
        tm_update_bias(&m, c.bias_gamma);
        tok_since += (int64_t)c.batch * c.seq * c.accum;
        if (!isfinite(loss)) { fclose(logf); cli_error("train: loss is not finite at step %lld", (long long)step); goto done_model; }
        if (do_eval) val = evaluate(&m, &va, &c, tok, &valm);
        fprintf(logf, "%lld\t%.6f\t", (long long)step + 1, lmain);
        if (do_eval) fprintf(logf, "%.6f\n", val); else fprintf(logf, "-\n");
        hist_add(&h, (double)step + 1, lmain, false);
        if (do_eval) hist_add(&h, (double)step + 1, val, true);
        if (!quiet && ((step + 1) % c.log_every == 0 || do_eval || step == step0)) {
            double t = cli_now();
            double tps = tok_since / (t - t_last);
            char eta[32];
            fmt_time(eta, sizeof eta, (stop_at - step - 1) * (t - t0) / (double)(step + 1 - step0));
            fprintf(stderr, "step %lld/%d | loss %.4f (main %.4f, mtp %.4f) | val %.4f | lr %.2e | gnorm %.2f | %.0f tok/s | load max/min %.2f | ETA %s\n",
                    (long long)step + 1, c.steps, loss, lmain, lmtp, val, lr, gn, tps, spread, eta);
            t_last = t;
            tok_since = 0;
        }
        if ((step + 1) % c.ckpt_every == 0 || last) {
            fflush(logf);
            /* the GGUF too, so a run can be tried (seek run) while it trains */
            char *tmpl = chat_template_of(c.tokenizer);
            int e = tm_save_checkpoint(&m, &st, step + 1, ckpt) ||
                    plot_loss_svg(svg, c.name, h.s, h.l, h.n, h.vs, h.vl, h.nv) ||
                    tm_export_gguf(&m, c.tokenizer, tmpl, c.name, c.gguf, c.export_mtp);
            free(tmpl);
            if (e) {
                fclose(logf);
                cli_lib_error();
                goto done_model;
            }
        }
    }
    fclose(logf);
    if (!quiet && step > step0) {
        double wall = cli_now() - t0, cpu = cpu_s() - c0, toks = (double)(step - step0) * c.batch * c.seq * c.accum;
        fprintf(stderr, "train: %lld steps, %.0f tokens in %.0f s (%.0f tok/s), %.0f CPU s (%.0f tokens per CPU second)\n",
                (long long)(step - step0), toks, wall, toks / wall, cpu, toks / cpu);
    }
    if (step >= c.steps && !quiet) fprintf(stderr, "train: wrote %s (val loss %.4f, mtp val loss %.4f)\n", c.gguf, val, valm);
    rc = 0;
done_model:
    free(tok);
    tm_free(&m);
    adamw_free(&st);
    free(h.s); free(h.l); free(h.vs); free(h.vl);
done_data:
    tm_data_free(&tr);
    tm_data_free(&va);
    return rc;
}
