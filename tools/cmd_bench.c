/* cmd_bench.c - `seek bench -m MODEL [-p 512] [-n 128] [-r 5] [--threads N] [--json]`:
 * how fast the model runs here, and how close that is to what the memory allows.
 *
 *   prefill  one evaluation of a p-token prompt from an empty cache (only the last token's
 *            logits, like llama-bench's pp test)
 *   decode   n tokens one at a time after that prompt (llama-bench's tg test starts at
 *            position 0 instead; with -p 0 this is the same)
 *   parallel (--parallel N) N streams, each with its own cache holding that prompt, decoded
 *            together: n steps of one model_forward_batch over N one-token sequences, as
 *            `seek serve --parallel N` runs them. Reported as aggregate tok/s and as a ratio
 *            to the single-stream decode of the same run (side by side, so the ratio holds
 *            on a busy machine).
 * Each figure is the median of r runs after a short warm-up (4 prompt tokens, 1 decode step; a MoE
 * model's weights also read once, every expert: warm_weights); the spread is the standard
 * deviation over the runs. Around them: the machine's streaming read bandwidth (a probe
 * over 1 GiB on all threads), the weight bytes one decode step must read (routed experts
 * counted at n_used / n_expert), the fraction of the bandwidth decode reached (and, run by
 * run, of the probe taken again just before each decode), prefill
 * GFLOP/s (2 per weight per token, plus causal attention), and the KV cache's bytes per
 * token. docs/bench.md describes each number. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cmds.h"
#include "membw.h"
#include "model.h"
#include "quantize.h"
#include "threads.h"
#include "util.h"

/* ---- memory bandwidth probe ---- */

/* Best of 6 passes over 1 GiB (src/membw.c), alternately plain and with a software prefetch
 * 4 KiB ahead (the packed decode kernels prefetch, and on these machines that reads ~5 %
 * faster: without it the probe was no ceiling). GB/s (1e9). */
static const size_t PROBE_BYTES = (size_t)1 << 30;

/* the probe's buffer: 2 MiB pages (the machine's best, util.h), faulted in with distinct bytes */
static uint8_t *probe_alloc(void) {
    uint8_t *buf = seek_alloc_big(PROBE_BYTES, true);
    if (buf) mem_fill_distinct(buf, PROBE_BYTES);
    return buf;
}

static double mem_bandwidth(void) {
    uint8_t *buf = probe_alloc();
    if (!buf) return 0;
    const double best = mem_read_best(buf, PROBE_BYTES, 6);
    seek_free_big(buf, PROBE_BYTES);
    return best;
}

/* The probe taken again right before each decode run (the same 6 passes as the probes
 * before and after the model), in the same minute as it: these hosts' bandwidth moves 2x
 * from minute to minute, so a decode is also compared with what the memory gave a loop
 * that only loads just then (per-run ratios, their median: the method of bench/kernel_ab).
 * Its 1 GiB buffer lives beside the model and caches, so only where the memory available
 * (MemAvailable, and the cgroup's limit where one is set) holds it with 1 GiB to spare;
 * else NULL (not reported). */
static uint8_t *near_probe_buffer(void) {
    if (seek_available_memory() < 2 * (uint64_t)PROBE_BYTES) return NULL;
    return probe_alloc();
}

/* ---- what the model reads and computes ---- */

typedef struct {
    double bytes_per_token;    /* weight bytes one decode step reads */
    double params_active;      /* weights one token multiplies (no embedding lookup) */
    double params_output;      /* of which the output projection */
    uint64_t params_total;
} model_cost;

/* MLA's attn_kv_b (or attn_k_b, attn_v_b): decode reads the copies model.c prepared at
 * load (m->mla_kb, m->mla_vb in m->mla_kt, m->mla_vt), not these. */
static bool is_mla_b(const seek_model *m, const gguf_tensor *t) {
    if (!m->mla_kb) return false;
    for (int l = 0; l < m->hp.n_layer; l++) {
        const seek_layer *Ly = &m->layers[l];
        if (t == Ly->wkv_b || t == Ly->wk_b || t == Ly->wv_b) return true;
    }
    return false;
}

static model_cost cost_of(const seek_model *m) {
    model_cost c = {0};
    const gguf_file *g = m->gguf;
    const seek_hparams *hp = &m->hp;
    const bool tied = m->output == m->tok_embd;
    if (m->mla_kb)   /* what decode reads instead of attn_kv_b: kb[H][nope][R] + vb[H][hv][R] per layer */
        c.bytes_per_token += (double)m->mla_bytes;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        double n = (double)t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3];
        c.params_total += (uint64_t)n;
        if (is_mla_b(m, t)) {
            c.params_active += n;
            continue;
        }
        double frac = 1;
        if (t->n_dims == 3 && hp->n_expert > 0 && memmem(t->name.ptr, t->name.len, "_exps", 5))
            frac = (double)hp->n_expert_used / hp->n_expert;   /* only the routed experts */
        if (t == m->tok_embd && !tied) {
            c.bytes_per_token += (double)t->nbytes / (double)t->ne[1];   /* one row */
            continue;
        }
        c.bytes_per_token += t->nbytes * frac;
        if (t->n_dims >= 2) c.params_active += n * frac;
        if (t == m->output) c.params_output = n;
    }
    return c;
}

/* Every byte of [p, p + n) read once: mem_read_pass's whole steps, then a load per line of
 * the rest */
static void read_once(const void *p, size_t n) {
    mem_read_pass(p, n, MEM_PREFETCH);
    volatile uint8_t sink = 0;
    for (size_t i = n / MEM_PASS_STEP * MEM_PASS_STEP; i < n; i += 64) sink ^= ((const volatile uint8_t *)p)[i];
    (void)sink;
}

/* Whether decode reads tensor t from the file mapping: no packed copy (or the tied
 * embedding's rows, looked up in the file), and not MLA's kv_b (read as prepared copies) */
static bool mapped_read(const seek_model *m, const gguf_tensor *t) {
    return (!t->packed || t == m->tok_embd) && !is_mla_b(m, t);
}

/* MoE: the warm-up's few tokens reach only some experts, so before the runs read once every
 * weight byte a decode step may read (the packed copy, MLA's prepared matrices, the mapped
 * tensors). Otherwise the first run's steps would meet experts for the first time: page
 * faults on mapped tensors, and on these VMs freshly written memory reads slowly at first
 * (docs/bench.md). The mapped tensors only where the memory available holds them: a file
 * larger than memory would be streamed from disk for nothing. Returns the bytes read. */
static double warm_weights(const seek_model *m) {
    double bytes = 0, mapped = 0;
    if (m->packed) read_once(m->packed, m->packed_bytes), bytes += (double)m->packed_bytes;
    if (m->mla_kb) read_once(m->mla_kb[0], m->mla_bytes), bytes += (double)m->mla_bytes;
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++)
        if (mapped_read(m, &m->gguf->tensors[i])) mapped += (double)m->gguf->tensors[i].nbytes;
    if (mapped > (double)seek_available_memory()) return bytes;
    for (uint64_t i = 0; i < m->gguf->n_tensors; i++)
        if (mapped_read(m, &m->gguf->tensors[i])) read_once(m->gguf->tensors[i].data, m->gguf->tensors[i].nbytes);
    return bytes + mapped;
}

/* Prefill FLOPs of p tokens: 2 per active weight per token (the output projection once:
 * only the last token's logits), plus the causal attention products QK^T and AV. */
static double prefill_flops(const seek_model *m, const model_cost *c, int p) {
    const seek_hparams *hp = &m->hp;
    double w = 2.0 * (c->params_active - c->params_output) * p + 2.0 * c->params_output;
    double att = 2.0 * hp->n_layer * hp->n_head * (double)(hp->head_dim_k + hp->head_dim_v) * p * (p + 1) / 2.0;
    return w + att;
}

/* Positions 0..n of src's cache rows into dst (same model and type). */
static void copy_prefix(seek_kvcache *dst, const seek_kvcache *src, int n) {
    for (int l = 0; l < src->n_layer; l++) {
        memcpy(kv_krow(dst, l, 0), kv_krow(src, l, 0), (size_t)n * src->k_row);
        if (src->v_row) memcpy(kv_vrow(dst, l, 0), kv_vrow(src, l, 0), (size_t)n * src->v_row);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void stats(double *v, int n, double *median, double *sd) {
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++) mean += v[i] / n;
    for (int i = 0; i < n; i++) var += (v[i] - mean) * (v[i] - mean);
    *sd = n > 1 ? sqrt(var / (n - 1)) : 0;
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void usage(FILE *f) {
    fputs("usage: seek bench -m MODEL.gguf [-p 512] [-n 128] [-r 5] [--threads N] [--cache-type T] [--parallel N] [--json]\n\n"
          "  -p N        prompt tokens evaluated in one batch (prefill), 0 to skip\n"
          "  -n N        tokens decoded one at a time after the prompt, 0 to skip\n"
          "  -r N        runs; figures are the median, spread the standard deviation\n"
          "  --threads N worker threads (default: all CPUs)\n"
          "  --cache-type T  KV cache type: f32, f16 (default, as seek run/chat), bf16, q8_0\n"
          "  --parallel N    also decode N streams together (one batched forward per step) and\n"
          "              report their aggregate tok/s next to the single stream's\n"
          "  --json      one JSON object on stdout\n", f);
}

int cmd_bench(int argc, char **argv) {
    const char *path = NULL, *cache_type = "f16";
    int p = 512, n = 128, r = 5, threads = 0, par = 0;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int k;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--json")) json = true;
        else if ((k = cli_opt("bench", argc, argv, &i, "-m", "--model", &path)) ||
                 (k = cli_opt("bench", argc, argv, &i, "--cache-type", NULL, &cache_type)) ||
                 (k = cli_opt_int("bench", argc, argv, &i, "-p", NULL, 0, 1 << 20, &p)) ||
                 (k = cli_opt_int("bench", argc, argv, &i, "-n", NULL, 0, 1 << 20, &n)) ||
                 (k = cli_opt_int("bench", argc, argv, &i, "-r", NULL, 1, 1 << 20, &r)) ||
                 (k = cli_opt_int("bench", argc, argv, &i, "--threads", "-t", 1, 256, &threads)) ||
                 (k = cli_opt_int("bench", argc, argv, &i, "--parallel", NULL, 1, 256, &par))) {
            if (k < 0) return 2;
        } else return cli_error("bench: unknown argument '%s'", a);
    }
    if (!path) { usage(stderr); return cli_error("bench: need -m MODEL"); }
    if (p + n < 1) return cli_error("bench: nothing to measure (-p 0 -n 0)");
    if (par && n < 1) return cli_error("bench: --parallel needs -n >= 1 decode steps");
    seek_type ct;
    if (kv_type_parse(cache_type, &ct)) return cli_lib_error();
    if (threads) seek_set_threads(threads);
    /* the bandwidth probe before the model (and again after it, below): its 1 GiB buffer is
     * gone again when the model's memory is; the peak resident memory of a bench run is the
     * model's, plus the per-run probe's 1 GiB where memory allows it (near_probe_buffer) */
    const double bw_before = mem_bandwidth();
    const double t_load = cli_now();
    seek_model *m = model_load(path);
    if (!m) return cli_lib_error();
    const double load_s = cli_now() - t_load;   /* map, repack, MLA's matrices: what a user waits for */
    const seek_hparams *hp = &m->hp;
    if (p + n > hp->n_ctx_train)
        fprintf(stderr, "seek: warning: -p + -n = %d exceeds the training context %d\n", p + n, hp->n_ctx_train);
    int rc = 1;
    size_t packed = 0;
    uint64_t huge = 0;
    const int V = hp->n_vocab;
    int32_t *toks = malloc(sizeof *toks * (size_t)(p + n + 1));
    float *logits = malloc(sizeof(float) * (size_t)V);
    double *tp = calloc((size_t)r, sizeof *tp), *td = calloc((size_t)r, sizeof *td), *tpar = calloc((size_t)r, sizeof *tpar);
    double *near = calloc((size_t)r, sizeof *near);   /* each run's probe just before its decode */
    double *near_f = calloc((size_t)r, sizeof *near_f);   /* and that run's fraction of it */
    uint8_t *near_buf = NULL;   /* after the caches, below: what is left is what it may take */
    seek_kvcache *c = kvcache_new_type(m, p + n + 1, ct);
    /* --parallel: stream s has caches[s] (0: c) and its own logits row */
    seek_kvcache **pc = par ? calloc((size_t)par, sizeof *pc) : NULL;
    seek_seq *ps = par ? calloc((size_t)par, sizeof *ps) : NULL;
    int32_t *ptok = par ? malloc(sizeof *ptok * (size_t)par * (size_t)n) : NULL;
    float *plog = par ? malloc(sizeof(float) * (size_t)V * (size_t)par) : NULL;
    if (!toks || !logits || !tp || !td || !tpar || !near || !near_f || !c || (par && (!pc || !ps || !ptok || !plog))) {
        cli_error("bench: out of memory");
        goto done;
    }
    for (int s = 0; s < par; s++)
        if (!(pc[s] = s == 0 ? c : kvcache_new_type(m, p + n + 1, ct))) { cli_lib_error(); goto done; }
    if (n > 0) near_buf = near_probe_buffer();
    uint64_t x = 12345;   /* fixed pseudo-random prompt: same work on every run */
    for (int i = 0; i < p + n + 1; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        toks[i] = (int32_t)((x >> 33) % (uint64_t)V);
    }
    for (int i = 0; i < par * n; i++) {   /* each parallel stream decodes its own ids */
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        ptok[i] = (int32_t)((x >> 33) % (uint64_t)V);
    }
    double warm = 0;   /* bytes warm_weights read (MoE only) */
    for (int run = -1; run < r; run++) {
        /* run -1 warms up: a short prompt and one decode step fault every weight page in
         * (of a MoE model, only the experts they choose: warm_weights reads the rest) */
        const int rp = run < 0 ? (p < 4 ? p : 4) : p, rn = run < 0 ? (n < 1 ? n : 1) : n;
        if (run == 0 && hp->n_expert > 0) warm = warm_weights(m);
        c->n_past = 0;
        double t0 = cli_now();
        if (rp > 0) {
            seek_seq s = {c, toks, rp, 0, logits, false};
            if (model_forward_batch(m, &s, 1)) { cli_lib_error(); goto done; }
        }
        const double t_pre = cli_now();   /* prefill's end: the probe below is not prefill time */
        if (near_buf && run >= 0) near[run] = mem_read_best(near_buf, PROBE_BYTES, 6);
        double t1 = cli_now();
        for (int i = 0; i < rn; i++)
            if (model_forward(m, c, toks + rp + i, 1, rp + i, logits, NULL)) { cli_lib_error(); goto done; }
        double t2 = cli_now();
        if (par) {   /* every stream starts from the prompt: copy stream 0's cache rows */
            for (int s = 1; s < par; s++) copy_prefix(pc[s], c, rp);
            for (int s = 0; s < par; s++) pc[s]->n_past = rp;
        }
        double t3 = cli_now();
        for (int i = 0; i < (par ? rn : 0); i++) {
            for (int s = 0; s < par; s++)
                ps[s] = (seek_seq){pc[s], ptok + (size_t)s * n + i, 1, rp + i, plog + (size_t)s * V, false};
            if (model_forward_batch(m, ps, par)) { cli_lib_error(); goto done; }
        }
        double t4 = cli_now();
        if (run >= 0) {
            tp[run] = p > 0 ? p / (t_pre - t0) : 0;
            td[run] = n > 0 ? n / (t2 - t1) : 0;
            tpar[run] = par ? (double)par * n / (t4 - t3) : 0;
        }
        if (!json && run >= 0) {
            fprintf(stderr, "bench: run %d/%d: prefill %.2f tok/s, decode %.2f tok/s", run + 1, r, tp[run], td[run]);
            if (par) fprintf(stderr, ", %d streams %.2f tok/s (%.2fx)", par, tpar[run], td[run] > 0 ? tpar[run] / td[run] : 0);
            fputc('\n', stderr);
        }
    }
    /* the ratio per run (side by side), then its median */
    double *ratio = tpar;
    double pg = 0, pg_sd = 0, pr = 0, pr_sd = 0;
    if (par) {
        double *tmp = malloc(sizeof *tmp * (size_t)r);
        if (!tmp) { cli_error("bench: out of memory"); goto done; }
        memcpy(tmp, tpar, sizeof *tmp * (size_t)r);
        stats(tmp, r, &pg, &pg_sd);
        for (int i = 0; i < r; i++) ratio[i] = td[i] > 0 ? tpar[i] / td[i] : 0;
        free(tmp);
        stats(ratio, r, &pr, &pr_sd);
    }
    const model_cost mc = cost_of(m);
    /* per run: decode's bytes per second over the probe just before it; then the medians */
    double near_frac = 0, near_frac_sd = 0, near_bw = 0, near_bw_sd = 0;
    if (near_buf) {
        for (int i = 0; i < r; i++) near_f[i] = near[i] > 0 ? mc.bytes_per_token * td[i] / (near[i] * 1e9) : 0;
        stats(near_f, r, &near_frac, &near_frac_sd);
        stats(near, r, &near_bw, &near_bw_sd);
        seek_free_big(near_buf, PROBE_BYTES), near_buf = NULL;
    }
    double pp, pp_sd, tg, tg_sd;
    stats(tp, r, &pp, &pp_sd);
    stats(td, r, &tg, &tg_sd);
    const double gflops = p > 0 ? prefill_flops(m, &mc, p) * pp / p / 1e9 : 0;
    const double kv_bytes = (double)kvcache_bytes_per_token(&m->hp, c->type);
    uint32_t ft = 0;
    gguf_get_u32(m->gguf, "general.file_type", &ft);
    const quant_target *qt = quant_target_by_ftype((int)ft);
    const char *type = qt ? qt->name : "unknown", *arch = arch_name(hp->arch);
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    /* The probe again, once the model's memory is given back (so the peak stays the
     * model's): these machines' read bandwidth moves from minute to minute (one probe read
     * 23.7 GB/s and the next run's 30.2), and a probe that caught a slow moment would let the
     * decode read "more than the memory". The better of the two is the ceiling. */
    packed = m->packed_bytes;   /* and how much of it is in huge pages (util.h) */
    huge = seek_huge_page_bytes(m->packed, packed);
    for (int s = 1; pc && s < par; s++) kvcache_free(pc[s]), pc[s] = NULL;
    kvcache_free(c), c = NULL;
    model_free(m), m = NULL;
    const double bw_after = mem_bandwidth(), bw = bw_before > bw_after ? bw_before : bw_after;
    const double frac = bw > 0 ? mc.bytes_per_token * tg / (bw * 1e9) : 0;
    char b1[32];
    if (json) {
        printf("{\"model\": \"");
        for (const char *s = base; *s; s++) {   /* file names: escape what JSON must */
            if (*s == '"' || *s == '\\') printf("\\%c", *s);
            else if ((unsigned char)*s < 32) printf("\\u%04x", *s);
            else putchar(*s);
        }
        printf("\", \"arch\": \"%s\", \"type\": \"%s\", \"params\": %" PRIu64 ", \"threads\": %d, "
               "\"n_prompt\": %d, \"n_gen\": %d, \"runs\": %d, "
               "\"prefill_tps\": %.3f, \"prefill_spread\": %.3f, \"decode_tps\": %.3f, \"decode_spread\": %.3f, "
               "\"mem_bw_gbs\": %.3f, \"mem_bw_before_gbs\": %.3f, \"mem_bw_after_gbs\": %.3f, "
               "\"bytes_per_token\": %.0f, \"decode_bw_fraction\": %.4f, "
               "\"prefill_gflops\": %.3f, \"kv_bytes_per_token\": %.0f, \"kv_type\": \"%s\", "
               "\"packed_bytes\": %zu, \"packed_huge_bytes\": %" PRIu64 ", \"warmup_read_bytes\": %.0f, \"load_s\": %.3f",
               arch, type, mc.params_total, seek_threads(), p, n, r, pp, pp_sd, tg, tg_sd, bw, bw_before, bw_after,
               mc.bytes_per_token, frac, gflops, kv_bytes, seek_type_get(ct)->name, packed, huge, warm, load_s);
        if (par)
            printf(", \"parallel\": %d, \"parallel_tps\": %.3f, \"parallel_spread\": %.3f, \"parallel_ratio\": %.3f, "
                   "\"parallel_ratio_spread\": %.3f", par, pg, pg_sd, pr, pr_sd);
        if (near_bw > 0)
            printf(", \"mem_bw_near_gbs\": %.3f, \"decode_bw_fraction_near\": %.4f, \"decode_bw_fraction_near_spread\": %.4f",
                   near_bw, near_frac, near_frac_sd);
        printf("}\n");
    } else {
        printf("model:        %s (%s, %s, %.2f B params)\n", base, arch, type, mc.params_total / 1e9);
        printf("threads:      %d, %d runs (median +/- standard deviation)\n", seek_threads(), r);
        printf("load:         %10.2f s  (file mapped, weights repacked and prepared)\n", load_s);
        if (p > 0) printf("prefill:      %10.2f +/- %.2f tok/s  (pp%d, %.1f GFLOP/s)\n", pp, pp_sd, p, gflops);
        if (n > 0) printf("decode:       %10.2f +/- %.2f tok/s  (tg%d after the prompt)\n", tg, tg_sd, n);
        if (par)
            printf("parallel:     %10.2f +/- %.2f tok/s  (%d streams together, aggregate; %.2f +/- %.2fx one stream)\n",
                   pg, pg_sd, par, pr, pr_sd);
        printf("memory read:  %10.2f GB/s (streaming probe, 1 GiB, all threads; the better of %.2f before the model"
               " and %.2f after)\n", bw, bw_before, bw_after);
        printf("weights read: %10s per decoded token; decode reached %.1f%% of the bandwidth\n",
               seek_fmt_bytes((uint64_t)mc.bytes_per_token, b1, sizeof b1), 100 * frac);
        if (near_bw > 0)
            printf("run by run:   decode reached %.1f%% +/- %.1f of a probe taken just before each run (%.2f GB/s median)\n",
                   100 * near_frac, 100 * near_frac_sd, near_bw);
        printf("KV cache:     %10s per token (%s)\n", seek_fmt_bytes((uint64_t)kv_bytes, b1, sizeof b1), seek_type_get(ct)->name);
        if (warm > 0)
            printf("warm-up:      %10s of weights read once before the runs (every expert, not only those the"
                   " warm-up chose)\n", seek_fmt_bytes((uint64_t)warm, b1, sizeof b1));
        if (packed)
            printf("packed:       %10s repacked at load, %.0f%% of it in 2 MiB pages\n",
                   seek_fmt_bytes(packed, b1, sizeof b1), 100.0 * (double)huge / (double)packed);
    }
    rc = 0;
done:
    for (int s = 1; pc && s < par; s++) kvcache_free(pc[s]);
    free(pc);
    free(ps);
    free(ptok);
    free(plog);
    free(tpar);
    kvcache_free(c);
    free(toks);
    free(logits);
    free(tp);
    free(td);
    free(near);
    free(near_f);
    if (near_buf) seek_free_big(near_buf, PROBE_BYTES);
    model_free(m);
    return rc;
}
