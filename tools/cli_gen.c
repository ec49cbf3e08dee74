/* cli_gen.c - options, session opening, Ctrl-C and streamed printing shared by
 * `seek run` and `seek chat`. See cli_gen.h. */
#include "cli_gen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "threads.h"
#include "util.h"

#define DIM "\033[2m"
#define RESET "\033[0m"

const char cli_gen_help[] =
    "model and context:\n"
    "  -m, --model FILE        GGUF model\n"
    "  -c, --ctx N             context size in tokens (default: the model's, at most 4096)\n"
    "  --cache-type T          KV cache type: f32, f16 (default), bf16, q8_0\n"
    "  --chat-template FILE    a Jinja chat template to use instead of the model's\n"
    "  --system TEXT           system prompt\n"
    "  -t, --threads N         worker threads (default: SEEK_THREADS, else every CPU)\n"
    "  --no-think              thinking off where the template can switch it (it is on by default),\n"
    "                          and hide any reasoning the model still writes\n"
    "  --drop-oldest           drop the oldest turns when the conversation outgrows the context\n"
    "sampling (defaults: DeepSeek's recommendation for R1):\n"
    "  -n, --max-tokens N      stop after N tokens (default: at EOS or when the context is full)\n"
    "  --temp T                temperature, 0 = greedy (0.6)\n"
    "  --top-k K               (40, 0 = off)   --top-p P  (0.95, 1 = off)   --min-p P  (0.05, 0 = off)\n"
    "  --repeat-penalty X      (1 = off)       --repeat-last-n N  (64, -1 = all)\n"
    "  --frequency-penalty X   --presence-penalty X   (0 = off)\n"
    "  --seed S                make sampling reproducible (default: a new seed each run)\n"
    "  --stop TEXT             stop when TEXT is generated (up to 16)\n"
    "  -v, --verbose           say which template is used, the seed, timings\n";

void cli_gen_defaults(cli_gen_opts *o) {
    memset(o, 0, sizeof *o);
    o->sp = sampler_defaults();
    o->n_predict = -1;
    o->color = isatty(1) && !getenv("NO_COLOR");
}

/* Strict number parsing: the whole string, within range. */
static int parse_long(const char *s, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}
static int parse_float(const char *s, float lo, float hi, float *out) {
    char *end;
    errno = 0;
    float v = strtof(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi)) return -1;
    *out = v;
    return 0;
}

int cli_gen_arg(cli_gen_opts *o, const char *cmd, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    bool flag = true;
    if (!strcmp(a, "--no-think")) o->no_think = true;
    else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) o->verbose = true;
    else if (!strcmp(a, "--drop-oldest")) o->drop_oldest = true;
    else flag = false;
    if (flag) return 1;

    static const char *const with_value[] = {
        "-m", "--model", "--chat-template", "--system", "-c", "--ctx", "-n", "--max-tokens", "--temp",
        "--top-k", "--top-p", "--min-p", "--repeat-penalty", "--repeat-last-n", "--frequency-penalty",
        "--presence-penalty", "--seed", "--stop", "-t", "--threads", "--cache-type", NULL};
    size_t k = 0;
    while (with_value[k] && strcmp(with_value[k], a)) k++;
    if (!with_value[k]) return 0;
    if (*i + 1 >= argc) return cli_error("%s: %s needs a value", cmd, a), -1;
    const char *v = argv[++*i];
    long n = 0;
    int bad = 0;
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = v;
    else if (!strcmp(a, "--chat-template")) o->template_file = v;
    else if (!strcmp(a, "--system")) o->system = v;
    else if (!strcmp(a, "--cache-type")) o->cache_type = v;
    else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) bad = parse_long(v, 1, 1L << 24, &n), o->n_ctx = (int)n;
    else if (!strcmp(a, "-n") || !strcmp(a, "--max-tokens")) bad = parse_long(v, -1, 1L << 30, &n), o->n_predict = (int)n;
    else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
        bad = parse_long(v, 1, 256, &n);
        if (!bad) seek_set_threads((int)n);
    } else if (!strcmp(a, "--temp")) bad = parse_float(v, 0, 100, &o->sp.temperature);
    else if (!strcmp(a, "--top-k")) bad = parse_long(v, 0, 1L << 30, &n), o->sp.top_k = (int32_t)n;
    else if (!strcmp(a, "--top-p")) bad = parse_float(v, 0, 1, &o->sp.top_p);
    else if (!strcmp(a, "--min-p")) bad = parse_float(v, 0, 1, &o->sp.min_p);
    else if (!strcmp(a, "--repeat-penalty")) bad = parse_float(v, 0.01f, 100, &o->sp.repeat_penalty);
    else if (!strcmp(a, "--repeat-last-n")) bad = parse_long(v, -1, 1L << 30, &n), o->sp.penalty_last_n = (int32_t)n;
    else if (!strcmp(a, "--frequency-penalty")) bad = parse_float(v, 0, 100, &o->sp.freq_penalty);
    else if (!strcmp(a, "--presence-penalty")) bad = parse_float(v, 0, 100, &o->sp.presence_penalty);
    else if (!strcmp(a, "--seed")) {
        char *end;
        errno = 0;
        unsigned long long s = strtoull(v, &end, 10);
        bad = errno || end == v || *end || v[0] == '-';
        o->sp.seed = s;
        o->seed_given = true;
    } else if (!strcmp(a, "--stop")) {
        if (o->n_stops == CLI_MAX_STOPS) return cli_error("%s: at most %d --stop strings", cmd, CLI_MAX_STOPS), -1;
        if (!*v) return cli_error("%s: --stop needs a non-empty text", cmd), -1;
        o->stops[o->n_stops++] = v;
    }
    if (bad) return cli_error("%s: bad value '%s' for %s", cmd, v, a), -1;
    return 1;
}

seek_session *cli_open_session(cli_gen_opts *o) {
    session_opts so = {.n_ctx = o->n_ctx, .chat_template_file = o->template_file, .cache_type = o->cache_type};
    seek_session *s = session_open(o->model, &so);
    if (!s) {
        cli_lib_error();
        return NULL;
    }
    int train = s->model->hp.n_ctx_train;
    if (train > 0 && s->n_ctx > train)
        fprintf(stderr, "seek: warning: a context of %d tokens is more than the %d the model was trained for\n",
                s->n_ctx, train);
    if (o->verbose || s->tmpl.format == CHAT_FMT_GENERIC)
        fprintf(stderr, "seek: chat template: %s\n", chat_template_describe(&s->tmpl));
    if (!o->seed_given) o->sp.seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    if (o->verbose) fprintf(stderr, "seek: seed %llu\n", (unsigned long long)o->sp.seed);
    return s;
}

int cli_thinking(const cli_gen_opts *o, const seek_session *s) {
    /* seek is for watching DeepSeek think: on unless asked otherwise (the Jinja
     * templates of V3.1 and later default to off) */
    if (!chat_template_has_thinking_switch(&s->tmpl)) return -1;
    return o->no_think ? 0 : 1;
}

int cli_answer_room(const cli_gen_opts *o, const seek_session *s, int dflt) {
    int room = o->n_predict > 0 ? o->n_predict : dflt;
    return room < s->n_ctx / 4 ? room : s->n_ctx / 4;
}

json_t *cli_json_text(const char *s, size_t n) {
    strbuf b = {0};
    if (sb_add_utf8(&b, s ? s : "", s ? n : 0)) return NULL;
    json_t *j = json_stringn(b.s ? b.s : "", b.n);
    sb_free(&b);
    return j;
}

/* ---- Ctrl-C ---- */

volatile sig_atomic_t cli_cancel;

static void on_sigint(int sig) {
    (void)sig;
    cli_cancel = 1;
}

void cli_catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;   /* no SA_RESTART: a pending read returns EINTR */
    sigaction(SIGINT, &sa, NULL);
}

/* ---- printing ---- */

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_printer_init(cli_printer *p, FILE *f, bool color, bool show_reasoning, bool collapse) {
    memset(p, 0, sizeof *p);
    p->f = f;
    p->color = color;
    p->show_reasoning = show_reasoning;
    p->collapse = collapse && color;   /* updating a line in place needs a terminal */
    p->last_secs = -1;
}

/* Leave the reasoning section: close the dim text / tag / collapsed line; `gap`
 * separates it from the answer that follows. */
static void end_reasoning(cli_printer *p, const char *gap) {
    if (p->state != 1) return;
    if (p->collapse) fprintf(p->f, "\r\033[K" DIM "(thought for %.1f s)" RESET "\n%s", cli_now() - p->t_start, gap);
    else if (p->color) fprintf(p->f, RESET "\n%s", gap);
    else fprintf(p->f, "\n</think>\n%s", gap);
}

void cli_print_text(void *ud, bool is_reasoning, const char *s, size_t n) {
    cli_printer *p = ud;
    if (is_reasoning) {
        if (!p->show_reasoning) return;
        if (p->state == 0) {
            p->state = 1;
            p->t_start = cli_now();
            if (!p->collapse) fputs(p->color ? DIM : "<think>\n", p->f);
        }
        if (p->collapse) {   /* one line: "thinking... 12 s" */
            int secs = (int)(cli_now() - p->t_start);
            if (secs != p->last_secs) fprintf(p->f, "\r\033[K" DIM "thinking... %d s" RESET, p->last_secs = secs);
        } else {
            fwrite(s, 1, n, p->f);
        }
    } else {
        end_reasoning(p, "\n");
        p->state = 2;
        fwrite(s, 1, n, p->f);
    }
    fflush(p->f);
}

void cli_printer_end(cli_printer *p) {
    end_reasoning(p, "");
    if (p->state == 2) fputc('\n', p->f);
    p->state = 0;
    fflush(p->f);
}

void cli_rates(const gen_result *r, double *prompt_tps, double *gen_tps) {
    *prompt_tps = r->prompt_ms > 0 ? r->n_prompt_eval / (r->prompt_ms / 1000) : 0;
    *gen_tps = r->gen_ms > 0 ? r->tokens.n / (r->gen_ms / 1000) : 0;
}

void cli_print_stats(FILE *f, bool color, const gen_result *r, int n_ctx) {
    double ps, gs;
    cli_rates(r, &ps, &gs);
    fprintf(f, "%s[%zu tokens, %.1f tok/s | prompt %d tokens, %.1f tok/s | context %d/%d]%s\n", color ? DIM : "",
            r->tokens.n, gs, r->n_prompt_eval, ps, r->n_past, n_ctx, color ? RESET : "");
}
