/* cli_gen.h - what `seek run` and `seek chat` share: the model and sampling options,
 * opening the session, Ctrl-C, and printing an answer as it streams. */
#ifndef SEEK_CLI_GEN_H
#define SEEK_CLI_GEN_H

#include <jansson.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "generate.h"
#include "sampler.h"
#include "session.h"

enum { CLI_MAX_STOPS = 16 };

typedef struct {
    const char *model;
    const char *template_file; /* --chat-template FILE */
    const char *system;        /* --system TEXT */
    int n_ctx;                 /* --ctx */
    const char *cache_type;    /* --cache-type */
    int n_predict;             /* -n: -1 until EOS or the context is full, 0 no tokens, N at most N */
    sampler_params sp;
    bool seed_given;
    const char *stops[CLI_MAX_STOPS];
    size_t n_stops;
    bool no_think;             /* --no-think */
    bool verbose;              /* -v */
    bool drop_oldest;          /* --drop-oldest */
    bool color;                /* stdout is a terminal (and NO_COLOR unset) */
} cli_gen_opts;

void cli_gen_defaults(cli_gen_opts *o);
/* Try argv[*i] as a shared option (advancing *i past its value). Returns 1 if it
 * was one, 0 if not, -1 after printing an error (bad or missing value). */
int cli_gen_arg(cli_gen_opts *o, const char *cmd, int argc, char **argv, int *i);
/* The help text for the shared options. */
extern const char cli_gen_help[];
/* The default model (models/default.gguf), or NULL. */
const char *cli_default_model(void);
/* Open the session (model, tokenizer, template, cache); prints the error and
 * returns NULL on failure. With -v (or an unrecognised template) says which
 * template is used, on stderr. Picks a fresh seed unless --seed was given. */
seek_session *cli_open_session(cli_gen_opts *o);
/* chat_render_opts.thinking for these options: where the template can switch
 * thinking, 1 (0 with --no-think); else -1, the template's own behaviour. */
int cli_thinking(const cli_gen_opts *o, const seek_session *s);

/* Tokens kept free for the answer when the prompt is fitted: -n, else `dflt`,
 * at most a quarter of the context (a longer answer is cut when the context is full). */
int cli_answer_room(const cli_gen_opts *o, const seek_session *s, int dflt);

/* A JSON string of n bytes of text; bytes that are not valid UTF-8 become U+FFFD. */
json_t *cli_json_text(const char *s, size_t n);

/* Ctrl-C: the handler sets cli_cancel (reads are interrupted, not restarted). */
extern volatile sig_atomic_t cli_cancel;
void cli_catch_sigint(void);

/* Streams generated text to a FILE: reasoning dim on a terminal (or wrapped in
 * <think>...</think> when plain), hidden with show_reasoning = false, or
 * collapsed into one "thinking..." line that updates in place. */
typedef struct {
    FILE *f;
    bool color, show_reasoning, collapse;
    int state;         /* 0 nothing yet, 1 in reasoning, 2 in content */
    double t_start;    /* for the collapsed line's seconds */
    int last_secs;
} cli_printer;
void cli_printer_init(cli_printer *p, FILE *f, bool color, bool show_reasoning, bool collapse);
void cli_print_text(void *ud, bool is_reasoning, const char *s, size_t n);   /* a gen_text_fn */
/* End of the answer: close what is open and end the line. */
void cli_printer_end(cli_printer *p);

/* Prompt and generation speed of a finished answer, tokens/s (0 when not timed). */
void cli_rates(const gen_result *r, double *prompt_tps, double *gen_tps);
/* "[12 tokens, 30.1 tok/s | prompt 40 tokens, 400 tok/s | context 52/4096]" */
void cli_print_stats(FILE *f, bool color, const gen_result *r, int n_ctx);

#endif
