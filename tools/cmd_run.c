/* cmd_run.c - `seek run`: one prompt in, the answer streamed out.
 *
 * The prompt comes from -p, a positional argument, -f FILE, or stdin when it is
 * piped. It is put into the model's chat template as one user turn (--raw: fed
 * as is). The reasoning is shown dim on a terminal, between <think> tags when
 * the output is plain, and not at all with --no-think; --json prints one object
 * {content, reasoning, tokens, stop, timings} at the end instead of streaming. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_args.h"
#include "cli_gen.h"
#include "cmds.h"
#include "reasoning.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek run -m MODEL.gguf [-p PROMPT | PROMPT | -f FILE] [options]\n"
            "  -p, --prompt TEXT       the prompt (default: read from stdin when it is piped)\n"
            "  -f, --file FILE         read the prompt from a file\n"
            "  --raw                   no chat template: the text is the model's input as is\n"
            "  --json                  print {content, reasoning, tokens, stop, timings} at the end\n"
            "%s",
            cli_gen_help);
}

static char *read_stdin(size_t *len) {
    strbuf b = {0};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, stdin)) > 0)
        if (sb_add(&b, buf, n)) { sb_free(&b); return NULL; }
    if (ferror(stdin)) { sb_free(&b); seek_error("stdin: read error"); return NULL; }
    return sb_take(&b, len);
}

static int print_json(const gen_result *r, size_t n_prompt, bool with_reasoning) {
    json_t *ids = json_array();
    for (size_t i = 0; i < r->tokens.n; i++) json_array_append_new(ids, json_integer(r->tokens.v[i]));
    double ps, gs;
    cli_rates(r, &ps, &gs);
    json_t *o = json_pack("{s:o, s:o, s:{s:i, s:i, s:o}, s:s, s:{s:f, s:f, s:f, s:f}}",
                          "content", cli_json_text(r->content.s, r->content.n),
                          "reasoning", with_reasoning && r->reasoning_opened ? cli_json_text(r->reasoning.s, r->reasoning.n)
                                                                            : json_null(),
                          "tokens", "prompt", (json_int_t)n_prompt,
                          "generated", (json_int_t)r->tokens.n, "ids", ids,
                          "stop", gen_stop_name(r->stop),
                          "timings", "prompt_ms", r->prompt_ms, "generation_ms", r->gen_ms,
                          "prompt_tokens_per_s", ps, "generation_tokens_per_s", gs);
    if (!o) return cli_error("run: cannot build the JSON output");
    char *s = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!s) return cli_error("run: cannot build the JSON output");
    puts(s);
    free(s);
    return 0;
}

int cmd_run(int argc, char **argv) {
    cli_gen_opts o;
    cli_gen_defaults(&o);
    const char *prompt_arg = NULL, *file = NULL;
    bool json = false, raw = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        int r = cli_gen_arg(&o, "run", argc, argv, &i);
        if (r < 0) return 2;
        if (r) continue;
        if ((r = cli_opt("run", argc, argv, &i, "-p", "--prompt", &prompt_arg)) ||
            (r = cli_opt("run", argc, argv, &i, "-f", "--file", &file))) {
            if (r < 0) return 2;
        } else if (!strcmp(a, "--json")) json = true;
        else if (!strcmp(a, "--raw")) raw = true;
        else if (a[0] != '-' && !prompt_arg) prompt_arg = a;
        else return cli_usage_error("run", "unknown argument '%s'", a);
    }
    if (!o.model) o.model = cli_default_model();   /* models/default.gguf, trained by seek */
    if (!o.model) return cli_usage_error("run", "no model: give one with -m MODEL.gguf (models/default.gguf was not found)");
    char *prompt;
    size_t plen;
    if (prompt_arg) prompt = seek_strdup(prompt_arg), plen = prompt ? strlen(prompt) : 0;
    else if (file) prompt = seek_read_file(file, &plen);
    else if (!isatty(0)) prompt = read_stdin(&plen);
    else return cli_usage_error("run", "no prompt: give one with -p TEXT, -f FILE or on stdin");
    if (!prompt) return cli_lib_error();
    if (plen == 0 || strlen(prompt) != plen) {
        free(prompt);
        return cli_error(plen ? "run: the prompt contains a NUL byte" : "run: the prompt is empty");
    }
    size_t bad_at;
    if (!cli_utf8_ok(prompt, plen, &bad_at)) {
        free(prompt);
        return cli_error("run: the prompt is not valid UTF-8 (byte %zu of %zu)", bad_at, plen);
    }

    seek_session *s = cli_open_session(&o);
    if (!s) { free(prompt); return 1; }
    sampler *smp = sampler_new(&o.sp, s->model->hp.n_vocab);
    tok_ids ids = {0};
    gen_result r = {0};
    int rc = 1;
    bool opens = false;
    if (!smp) { cli_lib_error(); goto done; }

    if (raw) {
        if (tok_encode(s->tok, prompt, plen, true, &ids)) { cli_lib_error(); goto done; }
        if (ids.n + 1 > (size_t)s->n_ctx) {
            cli_error("run: the prompt has %zu tokens, the context only %d (use --ctx)", ids.n, s->n_ctx);
            goto done;
        }
        opens = reasoning_prompt_opens(prompt, plen);
    } else {
        chat_msg msgs[2];
        size_t n = 0;
        if (o.system) msgs[n++] = (chat_msg){.role = CHAT_SYSTEM, .content = o.system};
        msgs[n++] = (chat_msg){.role = CHAT_USER, .content = prompt};
        chat_render_opts ro = {.add_generation_prompt = true, .thinking = cli_thinking(&o, s)};
        if (session_prompt(s, msgs, n, &ro, cli_answer_room(&o, s, 1), false, &ids, NULL, &opens)) {
            cli_error("run: %s (use a larger --ctx)", seek_last_error());
            goto done;
        }
    }

    cli_printer pr;
    cli_printer_init(&pr, stdout, o.color, !o.no_think, false);
    cli_catch_sigint();
    s->cancel = &cli_cancel;
    gen_params gp = {.max_tokens = o.n_predict, .stop_strings = o.stops, .n_stop_strings = o.n_stops,
                     .start_thinking = opens, .on_text = json ? NULL : cli_print_text, .ud = &pr,
                     .cancel = &cli_cancel};
    int g = 0;
    if (o.n_predict == 0) r.stop = GEN_STOP_LENGTH;   /* -n 0: the prompt is checked, no token generated */
    else g = session_generate(s, &ids, smp, &gp, &r);
    if (!json) cli_printer_end(&pr);
    if (cli_cancel) { rc = 130; goto done; }
    if (g) { cli_lib_error(); goto done; }
    if (json && print_json(&r, ids.n, !o.no_think)) goto done;
    if (o.verbose) cli_print_stats(stderr, false, &r, s->n_ctx);
    if (r.stop == GEN_STOP_CONTEXT)
        fprintf(stderr, "seek: run: the context (%d tokens) is full; the answer was cut (use --ctx)\n", s->n_ctx);
    rc = 0;
done:
    gen_result_free(&r);
    tok_ids_free(&ids);
    sampler_free(smp);
    session_close(s);
    free(prompt);
    return rc;
}
