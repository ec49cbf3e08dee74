/* cli_gen.c - options, session opening, Ctrl-C and streamed printing shared by
 * `seek run` and `seek chat`. See cli_gen.h. */
#include "cli_gen.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_args.h"
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
    "  -n, --max-tokens N      stop after N tokens; -1: at EOS or when the context is full (default);\n"
    "                          0: no tokens (as in llama.cpp)\n"
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
    const char *v;
    if (cli_opt(cmd, argc, argv, i, a, NULL, &v) < 0) return -1;
    int n = 0, bad = 0;
    if (!strcmp(a, "-m") || !strcmp(a, "--model")) o->model = v;
    else if (!strcmp(a, "--chat-template")) o->template_file = v;
    else if (!strcmp(a, "--system")) o->system = v;
    else if (!strcmp(a, "--cache-type")) o->cache_type = v;
    else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) bad = cli_int(cmd, a, v, 1, 1 << 24, &o->n_ctx);
    /* -n: as in llama.cpp, -1 = no limit, 0 = no tokens, N = at most N tokens */
    else if (!strcmp(a, "-n") || !strcmp(a, "--max-tokens")) bad = cli_int(cmd, a, v, -1, 1 << 30, &o->n_predict);
    else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
        bad = cli_int(cmd, a, v, 1, 256, &n);
        if (!bad) seek_set_threads(n);
    } else if (!strcmp(a, "--temp")) bad = cli_float(cmd, a, v, 0, 100, &o->sp.temperature);
    else if (!strcmp(a, "--top-k")) bad = cli_int(cmd, a, v, 0, 1 << 30, &n), o->sp.top_k = (int32_t)n;
    else if (!strcmp(a, "--top-p")) bad = cli_float(cmd, a, v, 0, 1, &o->sp.top_p);
    else if (!strcmp(a, "--min-p")) bad = cli_float(cmd, a, v, 0, 1, &o->sp.min_p);
    else if (!strcmp(a, "--repeat-penalty")) bad = cli_float(cmd, a, v, 0.01f, 100, &o->sp.repeat_penalty);
    else if (!strcmp(a, "--repeat-last-n")) bad = cli_int(cmd, a, v, -1, 1 << 30, &n), o->sp.penalty_last_n = (int32_t)n;
    else if (!strcmp(a, "--frequency-penalty")) bad = cli_float(cmd, a, v, 0, 100, &o->sp.freq_penalty);
    else if (!strcmp(a, "--presence-penalty")) bad = cli_float(cmd, a, v, 0, 100, &o->sp.presence_penalty);
    else if (!strcmp(a, "--seed")) {
        uint64_t s = 0;
        bad = cli_u64(cmd, a, v, &s);
        o->sp.seed = s;
        o->seed_given = true;
    } else if (!strcmp(a, "--stop")) {
        if (o->n_stops == CLI_MAX_STOPS) return cli_error("%s: at most %d --stop strings", cmd, CLI_MAX_STOPS), -1;
        if (!*v) return cli_error("%s: --stop needs a non-empty text", cmd), -1;
        o->stops[o->n_stops++] = v;
    }
    return bad ? -1 : 1;
}

/* models/default.gguf beside the working directory, else beside the executable (./seek or
 * build/seek in the repository); NULL if neither exists. */
const char *cli_default_model(void) {
    static char path[4200];
    if (access("models/default.gguf", R_OK) == 0) return "models/default.gguf";
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return NULL;
    exe[n] = 0;
    for (int up = 0; up < 2; up++) {
        char *sl = strrchr(exe, '/');
        if (!sl) return NULL;
        *sl = 0;
        snprintf(path, sizeof path, "%s/models/default.gguf", exe);
        if (access(path, R_OK) == 0) return path;
    }
    return NULL;
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
