/* cmd_chat.c - `seek chat`: an interactive conversation in the terminal.
 *
 * Each turn re-renders the whole conversation with the model's template and
 * generates after it; the KV cache keeps the common prefix, so only the new
 * text is evaluated (see session.h). Reasoning streams dim (or collapsed into
 * one line), the answer plain, then a status line with speed and context use.
 * Ctrl-C stops the answer being written; at the prompt it only reminds how to
 * leave. With output that is not a terminal: no colour, no prompt decoration,
 * reasoning between <think> tags. Commands start with '/' (see HELP). */
#include <errno.h>
#include <histedit.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_args.h"
#include "cli_gen.h"
#include "cmds.h"
#include "util.h"

static const char HELP[] =
    "  /help               this list\n"
    "  /reset              start a new conversation (keeps the system prompt)\n"
    "  /system [TEXT]      set the system prompt (without TEXT: show it; /system - clears it)\n"
    "  /temp [T]           set the temperature, 0 = greedy (without T: show it)\n"
    "  /think on|off       thinking on or off (templates with a switch); off also hides reasoning\n"
    "  /collapse           toggle showing reasoning in full or as one 'thinking...' line\n"
    "  /show               print the last answer's reasoning\n"
    "  /save FILE          save the conversation as JSON (OpenAI-style messages)\n"
    "  /load FILE          load a conversation saved with /save\n"
    "  /exit               leave (or Ctrl-D)\n"
    "  end a line with \\ to continue the message on the next line\n";

/* ---- the conversation ---- */

typedef struct {
    chat_role role;
    char *content, *reasoning;
} turn;

typedef struct {
    turn *v;
    size_t n, cap;
    char *system;
} convo;

static int convo_add(convo *c, chat_role role, const char *content, size_t clen, const char *reasoning, size_t rlen) {
    if (seek_reserve(&c->v, &c->cap, c->n + 1, sizeof *c->v, 16)) return -1;
    /* the history is re-tokenized every turn: keep it valid UTF-8 (a model can
     * stop in the middle of a character; stray bytes become U+FFFD) */
    strbuf a = {0}, b = {0};
    if (sb_add_utf8(&a, content ? content : "", content ? clen : 0) || (reasoning && sb_add_utf8(&b, reasoning, rlen))) {
        sb_free(&a), sb_free(&b);
        return -1;
    }
    turn *t = &c->v[c->n];
    t->role = role;
    t->content = sb_take(&a, NULL);
    t->reasoning = reasoning ? sb_take(&b, NULL) : NULL;
    if (!t->content || (reasoning && !t->reasoning)) {
        free(t->content), free(t->reasoning);
        return -1;
    }
    c->n++;
    return 0;
}

static void convo_clear(convo *c) {
    for (size_t i = 0; i < c->n; i++) free(c->v[i].content), free(c->v[i].reasoning);
    c->n = 0;
}

static void convo_free(convo *c) {
    convo_clear(c);
    free(c->v);
    free(c->system);
}

/* The messages to render: the system prompt, then the turns. Caller frees. */
static chat_msg *convo_msgs(const convo *c, size_t *n) {
    chat_msg *m = seek_malloc(sizeof *m * (c->n + 1));
    if (!m) return NULL;
    size_t k = 0;
    if (c->system) m[k++] = (chat_msg){.role = CHAT_SYSTEM, .content = c->system};
    for (size_t i = 0; i < c->n; i++)
        m[k++] = (chat_msg){.role = c->v[i].role, .content = c->v[i].content, .reasoning = c->v[i].reasoning};
    *n = k;
    return m;
}

/* /save: {"messages": [{"role", "content", "reasoning_content"?}, ...]} */
static int convo_save(const convo *c, const char *path) {
    json_t *arr = json_array(), *root = json_pack("{s:o}", "messages", arr);
    size_t n;
    chat_msg *m = convo_msgs(c, &n);
    int rc = -1;
    if (!root || !m) goto out;
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_pack("{s:s, s:o}", "role", chat_role_name(m[i].role), "content",
                              cli_json_text(m[i].content, strlen(m[i].content)));
        if (o && m[i].reasoning &&
            json_object_set_new(o, "reasoning_content", cli_json_text(m[i].reasoning, strlen(m[i].reasoning))))
            json_decref(o), o = NULL;
        if (!o || json_array_append_new(arr, o)) goto out;
    }
    if (json_dump_file(root, path, JSON_INDENT(2))) {
        seek_error("%s: cannot write", path);
        goto out;
    }
    rc = 0;
out:
    if (rc && !*seek_last_error()) seek_error("%s: out of memory", path);
    free(m);
    json_decref(root);
    return rc;
}

/* /load: replaces the conversation (and the system prompt) only if the whole file is valid. */
static int convo_load(convo *c, const char *path) {
    json_error_t e;
    FILE *f = fopen(path, "rb");   /* jansson reports a missing file as "line -1" */
    if (!f) return seek_error("%s: %s", path, strerror(errno));
    json_t *root = json_loadf(f, 0, &e);
    fclose(f);
    if (!root) return seek_error("%s: not a saved conversation: invalid JSON at line %d: %s", path, e.line, e.text);
    json_t *arr = json_is_array(root) ? root : json_object_get(root, "messages");
    convo nc = {0};
    int rc = -1;
    if (!json_is_array(arr)) {
        seek_error("%s: expected {\"messages\": [...]}", path);
        goto out;
    }
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content"),
               *reasoning = json_object_get(m, "reasoning_content");
        int r = json_is_string(role) ? chat_role_parse(json_string_value(role)) : -1;
        if (r < 0 || !json_is_string(content) || (reasoning && !json_is_null(reasoning) && !json_is_string(reasoning))) {
            seek_error("%s: message %zu needs a role (system, user, assistant) and a content string", path, i + 1);
            goto out;
        }
        if (r == CHAT_SYSTEM) {
            free(nc.system);
            if (!(nc.system = seek_strdup(json_string_value(content)))) goto out;
            continue;
        }
        bool has_r = json_is_string(reasoning);
        if (convo_add(&nc, (chat_role)r, json_string_value(content), json_string_length(content),
                      has_r ? json_string_value(reasoning) : NULL, has_r ? json_string_length(reasoning) : 0))
            goto out;
    }
    convo_free(c);
    *c = nc;
    nc = (convo){0};
    rc = 0;
out:
    convo_free(&nc);
    json_decref(root);
    return rc;
}

/* ---- input ---- */

/* Lines come from libedit on a terminal (line editing, history with the arrow
 * keys), from plain getline otherwise. */
typedef struct {
    EditLine *el;      /* NULL when stdin is not a terminal */
    History *hist;
    bool continued;    /* the prompt shows that the message goes on */
    char *buf;         /* getline's buffer */
    size_t cap;
} chat_input;

static char *el_prompt(EditLine *el) {
    chat_input *in = NULL;
    el_get(el, EL_CLIENTDATA, &in);
    return in && in->continued ? ". " : "> ";
}

static void input_open(chat_input *in, bool tty) {
    memset(in, 0, sizeof *in);
    if (!tty || !(in->el = el_init("seek", stdin, stdout, stderr))) return;
    HistEvent ev;
    if ((in->hist = history_init())) {
        history(in->hist, &ev, H_SETSIZE, 1000);
        history(in->hist, &ev, H_SETUNIQUE, 1);
        el_set(in->el, EL_HIST, history, in->hist);
    }
    el_set(in->el, EL_CLIENTDATA, in);
    el_set(in->el, EL_PROMPT, el_prompt);
    el_set(in->el, EL_EDITOR, "emacs");
    el_set(in->el, EL_SIGNAL, 1);   /* restore the terminal around signals */
}

static void input_close(chat_input *in) {
    if (in->el) el_end(in->el);
    if (in->hist) history_end(in->hist);
    free(in->buf);
}

/* One line (without its newline) in *line, owned by `in`. Returns its length,
 * -1 at the end of input, -2 when Ctrl-C interrupted the read. */
static ssize_t input_line(chat_input *in, const char **line) {
    errno = 0;
    ssize_t n;
    if (in->el) {
        int count;
        const char *l = el_gets(in->el, &count);
        if (!l || count <= 0) return cli_cancel || errno == EINTR ? -2 : -1;
        *line = l;
        n = count;
    } else {
        n = getline(&in->buf, &in->cap, stdin);
        if (n < 0) {
            if (!(cli_cancel || errno == EINTR)) return -1;
            clearerr(stdin);
            return -2;
        }
        *line = in->buf;
    }
    while (n && ((*line)[n - 1] == '\n' || (*line)[n - 1] == '\r')) n--;
    return n;
}

/* Read one message: lines ending in '\' continue it. NULL at end of input.
 * *interrupted is set when Ctrl-C arrived while reading (the text is dropped). */
static char *read_message(chat_input *in, bool *interrupted) {
    strbuf b = {0};
    *interrupted = false;
    for (;;) {
        in->continued = b.n > 0;
        if (!in->el && isatty(0) && isatty(1)) fputs(in->continued ? ". " : "> ", stdout), fflush(stdout);
        const char *line;
        ssize_t n = input_line(in, &line);
        if (n < 0) {
            *interrupted = n == -2;
            if (b.n && !*interrupted) return sb_take(&b, NULL);   /* a last line without newline */
            sb_free(&b);
            return NULL;
        }
        bool more = n && line[n - 1] == '\\';
        if ((b.n && sb_add(&b, "\n", 1)) || sb_add(&b, line, (size_t)n - more)) break;
        if (!more) {
            char *msg = sb_take(&b, NULL);
            if (msg && in->hist && *msg) {
                HistEvent ev;
                history(in->hist, &ev, H_ENTER, msg);
            }
            return msg;
        }
    }
    sb_free(&b);
    return NULL;
}

/* ---- the chat ---- */

typedef struct {
    cli_gen_opts o;
    seek_session *s;
    sampler *smp;
    convo c;
    bool tty, collapse, think;
    char *last_reasoning;
    uint64_t seed_changes;
} chat;

/* A message from seek (not the model): dim on a terminal. */
static void note(const chat *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const chat *ch, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (ch->tty) fputs("\033[2m", stdout);
    vprintf(fmt, ap);
    if (ch->tty) fputs("\033[0m", stdout);
    putchar('\n');
    va_end(ap);
}

static int set_sampler(chat *ch) {
    sampler_params sp = ch->o.sp;
    sp.seed += ch->seed_changes++;
    sampler *n = sampler_new(&sp, ch->s->model->hp.n_vocab);
    if (!n) return -1;
    sampler_free(ch->smp);
    ch->smp = n;
    return 0;
}

/* One answer to the conversation as it stands (its last turn is the user's). */
static void answer(chat *ch) {
    seek_session *s = ch->s;
    size_t n;
    chat_msg *msgs = convo_msgs(&ch->c, &n);
    tok_ids ids = {0};
    gen_result r = {0};
    chat_fit_result fit = {0};
    bool opens = false;
    if (!msgs) goto fail;
    chat_render_opts ro = {.add_generation_prompt = true,
                           .thinking = chat_template_has_thinking_switch(&s->tmpl) ? ch->think : -1};
    if (session_prompt(s, msgs, n, &ro, cli_answer_room(&ch->o, s, 1024), ch->o.drop_oldest, &ids, &fit, &opens)) {
        fprintf(stderr, "seek: %s\n", seek_last_error());
        note(ch, ch->o.drop_oldest ? "(the message is too long for the context; try a shorter one or /reset)"
                                         : "(use /reset to start over, or restart with --drop-oldest or a larger --ctx)");
        goto drop_user;
    }
    if (fit.n_dropped) note(ch, "(the %zu oldest messages no longer fit the context and were left out)", fit.n_dropped);
    cli_printer pr;
    cli_printer_init(&pr, stdout, ch->tty && ch->o.color, ch->think, ch->collapse);
    gen_params gp = {.max_tokens = ch->o.n_predict, .stop_strings = ch->o.stops, .n_stop_strings = ch->o.n_stops,
                     .start_thinking = opens, .on_text = cli_print_text, .ud = &pr, .cancel = &cli_cancel};
    cli_cancel = 0;
    int g = session_generate(s, &ids, ch->smp, &gp, &r);
    cli_printer_end(&pr);
    bool stopped = cli_cancel;
    cli_cancel = 0;
    if (g && !stopped) {
        fprintf(stderr, "seek: %s\n", seek_last_error());
        goto drop_user;
    }
    if (stopped) note(ch, "[stopped]");
    else if (r.stop == GEN_STOP_CONTEXT)
        note(ch, "(the context is full: the answer was cut; /reset to start over)");
    if (convo_add(&ch->c, CHAT_ASSISTANT, r.content.s, r.content.n, r.reasoning_opened ? (r.reasoning.s ? r.reasoning.s : "") : NULL,
                  r.reasoning.n))
        goto fail;
    free(ch->last_reasoning);
    ch->last_reasoning = r.reasoning_opened ? seek_strndup(r.reasoning.s ? r.reasoning.s : "", r.reasoning.n) : NULL;
    if (ch->tty) cli_print_stats(stdout, ch->o.color, &r, s->n_ctx);
    else if (ch->o.verbose) cli_print_stats(stderr, false, &r, s->n_ctx);
    goto out;
fail:
    fprintf(stderr, "seek: %s\n", seek_last_error());
drop_user:   /* the question got no answer: take it back so that the history stays well-formed */
    if (ch->c.n && ch->c.v[ch->c.n - 1].role == CHAT_USER) {
        ch->c.n--;
        free(ch->c.v[ch->c.n].content);
        free(ch->c.v[ch->c.n].reasoning);
    }
out:
    gen_result_free(&r);
    tok_ids_free(&ids);
    free(msgs);
}

/* Arguments of a /command: the text after the name and its spaces. */
static const char *cmd_arg(const char *line, const char *name) {
    size_t n = strlen(name);
    if (strncmp(line, name, n) || (line[n] && line[n] != ' ')) return NULL;
    line += n;
    while (*line == ' ') line++;
    return line;
}

/* Returns 1 to leave the chat. */
static int command(chat *ch, const char *line) {
    const char *a;
    if (!strcmp(line, "/exit") || !strcmp(line, "/quit") || !strcmp(line, "/bye")) return 1;
    if (!strcmp(line, "/help") || !strcmp(line, "/?")) {
        fputs(HELP, stdout);
    } else if (!strcmp(line, "/reset")) {
        convo_clear(&ch->c);
        session_reset(ch->s);
        sampler_reset(ch->smp);
        note(ch, "(new conversation)");
    } else if ((a = cmd_arg(line, "/system"))) {
        if (!*a) {
            note(ch, "system prompt: %s", ch->c.system ? ch->c.system : "(none)");
        } else {
            free(ch->c.system);
            ch->c.system = strcmp(a, "-") ? seek_strdup(a) : NULL;
            note(ch, ch->c.system ? "(system prompt set)" : "(system prompt cleared)");
        }
    } else if ((a = cmd_arg(line, "/temp"))) {
        char *end;
        float t = strtof(a, &end);
        if (!*a) {
            note(ch, "temperature %g", ch->o.sp.temperature);
        } else if (end == a || *end || !(t >= 0 && t <= 100)) {
            note(ch, "/temp needs a number from 0 to 100, not '%s'", a);
        } else {
            ch->o.sp.temperature = t;
            if (set_sampler(ch)) fprintf(stderr, "seek: %s\n", seek_last_error());
            else note(ch, "temperature set to %s", a);
        }
    } else if ((a = cmd_arg(line, "/think"))) {
        if (strcmp(a, "on") && strcmp(a, "off")) {
            note(ch, "thinking is %s (/think on or /think off)", ch->think ? "on" : "off");
        } else {
            ch->think = !strcmp(a, "on");
            if (chat_template_has_thinking_switch(&ch->s->tmpl)) note(ch, "thinking %s", a);
            else if (ch->think) note(ch, "reasoning shown (this template has no thinking switch)");
            else note(ch, "reasoning hidden (this template has no thinking switch: the model still reasons)");
        }
    } else if (!strcmp(line, "/collapse")) {
        ch->collapse = !ch->collapse;
        note(ch, ch->collapse ? "reasoning collapsed to one line (/show prints it)" : "reasoning shown in full");
    } else if (!strcmp(line, "/show")) {
        if (ch->last_reasoning) printf("%s%s%s\n", ch->tty ? "\033[2m" : "", ch->last_reasoning, ch->tty ? "\033[0m" : "");
        else note(ch, "(the last answer had no reasoning)");
    } else if ((a = cmd_arg(line, "/save"))) {
        if (!*a) note(ch, "/save needs a file name");
        else if (convo_save(&ch->c, a)) fprintf(stderr, "seek: %s\n", seek_last_error());
        else note(ch, "saved to %s", a);
    } else if ((a = cmd_arg(line, "/load"))) {
        if (!*a) note(ch, "/load needs a file name");
        else if (convo_load(&ch->c, a)) fprintf(stderr, "seek: %s\n", seek_last_error());
        else note(ch, "loaded %zu messages", ch->c.n);
    } else {
        note(ch, "unknown command %s (/help lists them)", line);
    }
    return 0;
}

static void usage(FILE *f) {
    fprintf(f, "usage: seek chat -m MODEL.gguf [options]\n%s\nin the chat:\n%s", cli_gen_help, HELP);
}

int cmd_chat(int argc, char **argv) {
    chat ch = {0};
    cli_gen_defaults(&ch.o);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) { usage(stdout); return 0; }
        int r = cli_gen_arg(&ch.o, "chat", argc, argv, &i);
        if (r < 0) return 2;
        if (!r) return cli_usage_error("chat", "unknown argument '%s'", argv[i]);
    }
    if (!ch.o.model) ch.o.model = cli_default_model();   /* models/default.gguf, trained by seek */
    if (!ch.o.model) return cli_usage_error("chat", "no model: give one with -m MODEL.gguf (models/default.gguf was not found)");
    if (ch.o.n_predict == 0) return cli_usage_error("chat", "-n 0 would make every answer empty: give -n N >= 1, or -1 for no limit");
    if (!(ch.s = cli_open_session(&ch.o))) return 1;
    ch.tty = isatty(0) && isatty(1);
    ch.think = !ch.o.no_think;
    int rc = 1;
    if (set_sampler(&ch)) { cli_lib_error(); goto done; }
    if (ch.o.system && !(ch.c.system = seek_strdup(ch.o.system))) { cli_lib_error(); goto done; }
    cli_catch_sigint();
    ch.s->cancel = &cli_cancel;
    if (ch.tty) {
        const seek_hparams *hp = &ch.s->model->hp;
        printf("seek chat: %s, %s, context %d tokens, template %s\n", ch.o.model, arch_name(hp->arch), ch.s->n_ctx,
               chat_format_name(ch.s->tmpl.format));
        note(&ch, "/help for commands, Ctrl-C stops an answer, Ctrl-D leaves");
    }
    chat_input in;
    input_open(&in, ch.tty);
    for (;;) {
        bool intr;
        char *line = read_message(&in, &intr);
        if (!line) {
            if (intr) {
                cli_cancel = 0;
                if (ch.tty) putchar('\n');
                note(&ch, "(Ctrl-D or /exit to leave)");
                continue;
            }
            if (ch.tty) putchar('\n');
            break;
        }
        if (line[0] == '/') {
            int leave = command(&ch, line);
            free(line);
            if (leave) break;
            continue;
        }
        if (!line[strspn(line, " \t\n")]) { free(line); continue; }
        size_t bad_at;
        if (!cli_utf8_ok(line, strlen(line), &bad_at)) {
            fprintf(stderr, "seek: chat: the message is not valid UTF-8 (byte %zu of %zu); it was not sent\n", bad_at,
                    strlen(line));
            free(line);
            continue;
        }
        int bad = convo_add(&ch.c, CHAT_USER, line, strlen(line), NULL, 0);
        free(line);
        if (bad) { cli_lib_error(); goto done; }
        answer(&ch);
    }
    input_close(&in);
    rc = 0;
done:
    convo_free(&ch.c);
    free(ch.last_reasoning);
    sampler_free(ch.smp);
    session_close(ch.s);
    return rc;
}
