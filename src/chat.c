/* chat.c - recognise a model's chat template and render conversations with it.
 *
 * One render function per format family, each a direct transcription of the
 * template's logic (see chat.h for the list). The comments quote the Jinja
 * behaviour being reproduced where it is not obvious, because those details
 * (which system prompt wins, which </think> splits) are what the byte-for-byte
 * tests in tests/test_chat.c check against Jinja2's output.
 */
#include "chat.h"

#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "util.h"

#define DS_USER "<\xef\xbd\x9cUser\xef\xbd\x9c>"           /* <｜User｜> */
#define DS_ASSISTANT "<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>" /* <｜Assistant｜> */
#define DS_EOS "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>" /* <｜end▁of▁sentence｜> */
#define DS_CALLS_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"     /* <｜tool▁calls▁begin｜> */
#define DS_CALLS_END "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c>"         /* <｜tool▁calls▁end｜> */
#define DS_CALL_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>"   /* <｜tool▁call▁begin｜> */
#define DS_CALL_END "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>"       /* <｜tool▁call▁end｜> */
#define DS_SEP "<\xef\xbd\x9ctool\xe2\x96\x81sep\xef\xbd\x9c>"                                  /* <｜tool▁sep｜> */
#define DS_OUTS_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "begin\xef\xbd\x9c>"   /* <｜tool▁outputs▁begin｜> */
#define DS_OUTS_END "<\xef\xbd\x9ctool\xe2\x96\x81outputs\xe2\x96\x81" "end\xef\xbd\x9c>"       /* <｜tool▁outputs▁end｜> */
#define DS_OUT_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "begin\xef\xbd\x9c>"     /* <｜tool▁output▁begin｜> */
#define DS_OUT_END "<\xef\xbd\x9ctool\xe2\x96\x81output\xe2\x96\x81" "end\xef\xbd\x9c>"         /* <｜tool▁output▁end｜> */
#define DS_DSML "\xef\xbd\x9c" "DSML\xef\xbd\x9c"             /* ｜DSML｜ */

/* ---------------------------------------------------------------------------
 * Recognition */

static bool has(const char *s, const char *sub) { return s && strstr(s, sub) != NULL; }

int chat_template_init(chat_template *t, const char *j, const char *bos, const char *eos) {
    memset(t, 0, sizeof *t);
    t->bos = seek_strdup(bos ? bos : "");
    t->eos = seek_strdup(eos ? eos : "");
    if (!t->bos || !t->eos) {
        chat_template_free(t);
        return -1;
    }
    t->format = CHAT_FMT_GENERIC;
    t->flags = CHAT_SYS_JOIN;
    if (!j || !*j) return 0;
    if (has(j, "<|start_header_id|>") && has(j, "<|end_header_id|>")) {
        t->format = CHAT_FMT_LLAMA3;
    } else if (has(j, "'User: '") && has(j, "'Assistant: '")) {
        t->format = CHAT_FMT_DEEPSEEK_V2;
    } else if (has(j, DS_USER) && has(j, DS_ASSISTANT)) {
        if (has(j, "drop_thinking")) t->format = CHAT_FMT_DEEPSEEK_V4;
        else if (has(j, DS_DSML)) t->format = CHAT_FMT_DEEPSEEK_V3_2;
        else if (has(j, "<think></think>") && has(j, "is_last_user")) t->format = CHAT_FMT_DEEPSEEK_V3_1;
        else if (has(j, "ns.system_prompt") || has(j, "</think>")) {
            t->format = has(j, "</think>") ? CHAT_FMT_DEEPSEEK_R1 : CHAT_FMT_DEEPSEEK_V3;
            t->flags = 0;
            if (has(j, "is_first_sp")) t->flags |= CHAT_SYS_JOIN;
            if (has(j, "split('</think>')")) t->flags |= CHAT_STRIP_THINK;
            if (has(j, DS_ASSISTANT "<think>")) t->flags |= CHAT_OPEN_THINK;
            if ((t->flags & CHAT_OPEN_THINK) && has(j, "enable_thinking")) t->flags |= CHAT_THINK_SWITCH;
        } else t->format = CHAT_FMT_DEEPSEEK_V2_0628;
    }
    return 0;
}

void chat_template_free(chat_template *t) {
    free(t->bos);
    free(t->eos);
    t->bos = t->eos = NULL;
}

const char *chat_format_name(chat_format f) {
    switch (f) {
    case CHAT_FMT_GENERIC: return "generic";
    case CHAT_FMT_DEEPSEEK_V2: return "deepseek-v2";
    case CHAT_FMT_DEEPSEEK_V2_0628: return "deepseek-v2-0628";
    case CHAT_FMT_DEEPSEEK_V3: return "deepseek-v3";
    case CHAT_FMT_DEEPSEEK_R1: return "deepseek-r1";
    case CHAT_FMT_DEEPSEEK_V3_1: return "deepseek-v3.1";
    case CHAT_FMT_DEEPSEEK_V3_2: return "deepseek-v3.2";
    case CHAT_FMT_DEEPSEEK_V4: return "deepseek-v4";
    case CHAT_FMT_LLAMA3: return "llama3";
    }
    return "?";
}

const char *chat_template_describe(const chat_template *t) {
    switch (t->format) {
    case CHAT_FMT_GENERIC:
        return "generic: chat template missing or not recognised, using the DeepSeek-V3 format";
    case CHAT_FMT_DEEPSEEK_V2: return "deepseek-v2 (DeepSeek-V2-Chat, V2-Lite-Chat)";
    case CHAT_FMT_DEEPSEEK_V2_0628: return "deepseek-v2-0628 (DeepSeek-V2-Chat-0628)";
    case CHAT_FMT_DEEPSEEK_V3: return "deepseek-v3 (DeepSeek-V3, V2.5)";
    case CHAT_FMT_DEEPSEEK_R1:
        return t->flags & CHAT_THINK_SWITCH ? "deepseek-r1 (DeepSeek-R1 distill, thinking switch)"
                                            : "deepseek-r1 (DeepSeek-R1, R1-Distill-Qwen/Llama)";
    case CHAT_FMT_DEEPSEEK_V3_1: return "deepseek-v3.1 (DeepSeek-V3.1, thinking on/off)";
    case CHAT_FMT_DEEPSEEK_V3_2: return "deepseek-v3.2 (DeepSeek-V3.2, thinking on/off)";
    case CHAT_FMT_DEEPSEEK_V4: return "deepseek-v4 (DeepSeek-V4, thinking on/off)";
    case CHAT_FMT_LLAMA3: return "llama3 (Llama 3.x instruct)";
    }
    return "?";
}

bool chat_template_has_thinking_switch(const chat_template *t) {
    return t->format == CHAT_FMT_DEEPSEEK_V3_1 || t->format == CHAT_FMT_DEEPSEEK_V3_2 ||
           t->format == CHAT_FMT_DEEPSEEK_V4 ||
           (t->format == CHAT_FMT_DEEPSEEK_R1 && (t->flags & CHAT_THINK_SWITCH));
}

bool chat_template_has_tools(const chat_template *t) {
    return t->format == CHAT_FMT_DEEPSEEK_V3 || t->format == CHAT_FMT_DEEPSEEK_R1 ||
           t->format == CHAT_FMT_DEEPSEEK_V3_1 || t->format == CHAT_FMT_GENERIC;
}

const char *chat_end_of_turn(const chat_template *t) {
    switch (t->format) {
    case CHAT_FMT_DEEPSEEK_V2:
    case CHAT_FMT_DEEPSEEK_V2_0628: return t->eos;
    case CHAT_FMT_LLAMA3: return "<|eot_id|>";
    default: return DS_EOS;
    }
}

int chat_role_parse(const char *name) {
    if (!strcmp(name, "system")) return CHAT_SYSTEM;
    if (!strcmp(name, "user")) return CHAT_USER;
    if (!strcmp(name, "assistant")) return CHAT_ASSISTANT;
    return -1;
}

const char *chat_role_name(chat_role r) {
    return r == CHAT_SYSTEM ? "system" : r == CHAT_USER ? "user" : r == CHAT_TOOL ? "tool" : "assistant";
}

/* ---------------------------------------------------------------------------
 * Rendering. `ms` is the list after keep_from filtering (pointers into the
 * caller's array). Output errors are collected in `oom` and checked once. */

typedef struct {
    strbuf out;
    int oom;
    const chat_template *t;
    const chat_msg *const *ms;
    size_t n;
    bool agp;
    int thinking; /* -1 / 0 / 1 */
} render;

static void put(render *r, const char *s) {
    if (sb_adds(&r->out, s)) r->oom = 1;
}
static void putn(render *r, const char *s, size_t n) {
    if (sb_add(&r->out, s, n)) r->oom = 1;
}

/* All system messages joined with "\n\n" (join) or the last one (!join). */
static void system_prompt(render *r, bool join) {
    size_t last = r->n;
    bool first = true;
    for (size_t i = 0; i < r->n; i++) {
        if (r->ms[i]->role != CHAT_SYSTEM) continue;
        if (!join) {
            last = i;
            continue;
        }
        if (!first) put(r, "\n\n");
        put(r, r->ms[i]->content);
        first = false;
    }
    if (!join && last < r->n) put(r, r->ms[last]->content);
}

/* Python's s.split(sep)[-1] (last = true) or s.split(sep, 1)[1] (last = false);
 * s itself when sep does not occur. */
static const char *after_sep(const char *s, const char *sep, bool last) {
    const char *p = strstr(s, sep), *q;
    if (!p) return s;
    if (last)
        while ((q = strstr(p + 1, sep))) p = q;
    return p + strlen(sep);
}

static void render_v2(render *r) {
    bool inline_tags = r->t->format == CHAT_FMT_DEEPSEEK_V2_0628;
    put(r, r->t->bos);
    for (size_t i = 0; i < r->n; i++) {
        const chat_msg *m = r->ms[i];
        if (m->role == CHAT_USER) {
            put(r, inline_tags ? DS_USER : "User: ");
            put(r, m->content);
            if (!inline_tags) put(r, "\n\n");
        } else if (m->role == CHAT_ASSISTANT) {
            put(r, inline_tags ? DS_ASSISTANT : "Assistant: ");
            put(r, m->content);
            put(r, r->t->eos);
        } else {
            put(r, m->content);
            put(r, "\n\n");
        }
    }
    if (r->agp) put(r, inline_tags ? DS_ASSISTANT : "Assistant:");
}

/* V3 and R1 (and the generic fallback). */
/* An assistant turn's calls, in the markup the model writes (the parser in
 * src/server/toolcall.c reads it back):
 *   v3 / r1  <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>
 *            (further calls after a "\n")<｜tool▁calls▁end｜>
 *   v3.1     <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
 * Where the published Jinja differs we follow the model cards: the arguments
 * are written as the JSON text they are (the templates pipe the string through
 * tojson, quoting it a second time), <｜tool▁calls▁end｜> closes every list (one
 * revision writes it only after a second call) and each run of tool outputs
 * opens with <｜tool▁outputs▁begin｜> (is_output_first is never reset). */
static void render_tool_calls(render *r, const chat_msg *m, bool v31) {
    put(r, DS_CALLS_BEGIN);
    for (size_t k = 0; k < m->n_tool_calls; k++) {
        const chat_tool_call *c = &m->tool_calls[k];
        if (v31) {
            put(r, DS_CALL_BEGIN);
            put(r, c->name ? c->name : "");
            put(r, DS_SEP);
            put(r, c->arguments ? c->arguments : "{}");
        } else {
            put(r, k ? "\n" DS_CALL_BEGIN "function" DS_SEP : DS_CALL_BEGIN "function" DS_SEP);
            put(r, c->name ? c->name : "");
            put(r, "\n```json\n");
            put(r, c->arguments ? c->arguments : "{}");
            put(r, "\n```");
        }
        put(r, DS_CALL_END);
    }
    put(r, DS_CALLS_END);
}

static void render_v3_r1(render *r) {
    unsigned f = r->t->flags;
    put(r, r->t->bos);
    system_prompt(r, f & CHAT_SYS_JOIN);
    bool in_tool = false; /* inside a run of tool outputs */
    for (size_t i = 0; i < r->n; i++) {
        const chat_msg *m = r->ms[i];
        if (m->role != CHAT_TOOL && in_tool) put(r, DS_OUTS_END);
        if (m->role == CHAT_USER) {
            put(r, DS_USER);
            put(r, m->content);
        } else if (m->role == CHAT_ASSISTANT) {
            /* the answer after tool outputs follows <｜tool▁outputs▁end｜> directly */
            if (!in_tool) put(r, DS_ASSISTANT);
            put(r, f & CHAT_STRIP_THINK ? after_sep(m->content, "</think>", true) : m->content);
            if (m->n_tool_calls) render_tool_calls(r, m, false);
            put(r, DS_EOS);
        } else if (m->role == CHAT_TOOL) {
            put(r, in_tool ? "\n" DS_OUT_BEGIN : DS_OUTS_BEGIN DS_OUT_BEGIN);
            put(r, m->content);
            put(r, DS_OUT_END);
        }
        in_tool = m->role == CHAT_TOOL;
    }
    if (in_tool) {
        put(r, DS_OUTS_END);
        return;   /* no generation prompt after tool outputs: the model goes on */
    }
    if (r->agp) {
        put(r, DS_ASSISTANT);
        if (f & CHAT_OPEN_THINK) put(r, "<think>\n");
        /* `{% if not enable_thinking %}`: an undefined variable counts as false */
        if ((f & CHAT_THINK_SWITCH) && r->thinking != 1) put(r, "</think>");
    }
}

static void render_v3_1(render *r) {
    bool thinking = r->thinking == 1; /* undefined -> false */
    put(r, r->t->bos);
    system_prompt(r, true);
    bool last_user = false;
    for (size_t i = 0; i < r->n; i++) {
        const chat_msg *m = r->ms[i];
        if (m->role == CHAT_USER) {
            last_user = true;
            put(r, DS_USER);
            put(r, m->content);
        } else if (m->role == CHAT_ASSISTANT) {
            /* the <｜Assistant｜> opening is written only right after a user turn;
             * history never carries reasoning (no 'prefix' messages here) */
            if (last_user) put(r, DS_ASSISTANT "<think></think>");
            last_user = false;
            put(r, after_sep(m->content, "</think>", false));
            if (m->n_tool_calls) render_tool_calls(r, m, true);
            put(r, DS_EOS);
        } else if (m->role == CHAT_TOOL) {
            last_user = false;
            put(r, DS_OUT_BEGIN);
            put(r, m->content);
            put(r, DS_OUT_END);
        }
    }
    if (r->agp && last_user) put(r, thinking ? DS_ASSISTANT "<think>" : DS_ASSISTANT "<think></think>");
}

static void render_v3_2(render *r) {
    bool thinking = r->thinking == 1;
    put(r, r->t->bos);
    system_prompt(r, true);
    size_t last_user = SIZE_MAX; /* index of the last user message, none = SIZE_MAX */
    for (size_t i = 0; i < r->n; i++)
        if (r->ms[i]->role == CHAT_USER) last_user = i;
    bool pending = false; /* a user turn waits for the <｜Assistant｜> opening */
    for (size_t i = 0; i < r->n; i++) {
        const chat_msg *m = r->ms[i];
        if (m->role == CHAT_USER) {
            put(r, DS_USER);
            put(r, m->content);
            pending = true;
        } else if (m->role == CHAT_ASSISTANT) {
            bool after_last_user = last_user == SIZE_MAX || i > last_user;
            if (pending) {
                put(r, DS_ASSISTANT);
                if (after_last_user && thinking) {
                    put(r, "<think>");
                    if (m->reasoning) put(r, m->reasoning);
                    put(r, "</think>");
                } else put(r, "</think>");
            }
            pending = false;
            put(r, m->content);
            put(r, DS_EOS);
        }
    }
    if (r->agp && pending) put(r, thinking ? DS_ASSISTANT "<think>" : DS_ASSISTANT "<think></think>");
}

static void render_v4(render *r) {
    bool thinking = r->thinking == 1;
    put(r, r->t->bos);
    system_prompt(r, true);
    size_t last_user = SIZE_MAX;
    for (size_t i = 0; i < r->n; i++)
        if (r->ms[i]->role == CHAT_USER) last_user = i;
    bool in_user = false; /* consecutive user messages share one <｜User｜> */
    for (size_t i = 0; i < r->n; i++) {
        const chat_msg *m = r->ms[i];
        if (m->role == CHAT_USER) {
            put(r, in_user ? "\n\n" : DS_USER);
            in_user = true;
            put(r, m->content);
        } else if (m->role == CHAT_ASSISTANT) {
            in_user = false;
            put(r, DS_ASSISTANT);
            /* drop_thinking (default true): only turns after the last user
             * message keep their reasoning */
            bool keep = last_user == SIZE_MAX || i > last_user;
            if (keep && thinking) {
                put(r, "<think>");
                if (m->reasoning) put(r, m->reasoning);
                put(r, "</think>");
            } else put(r, "</think>");
            put(r, m->content);
            put(r, DS_EOS);
        }
    }
    if (r->agp) put(r, thinking ? DS_ASSISTANT "<think>" : DS_ASSISTANT "</think>");
}

/* Jinja's trim filter (Python str.strip()); ASCII whitespace only. */
static void put_trimmed(render *r, const char *s) {
    const char *ws = " \t\n\r\v\f";
    size_t n = strlen(s), a = 0;
    while (a < n && strchr(ws, s[a])) a++;
    while (n > a && strchr(ws, s[n - 1])) n--;
    putn(r, s + a, n - a);
}

static void render_llama3(render *r) {
    for (size_t i = 0; i < r->n; i++) {
        const chat_msg *m = r->ms[i];
        if (i == 0) put(r, r->t->bos);
        put(r, "<|start_header_id|>");
        put(r, chat_role_name(m->role));
        put(r, "<|end_header_id|>\n\n");
        put_trimmed(r, m->content);
        put(r, "<|eot_id|>");
    }
    if (r->agp) put(r, "<|start_header_id|>assistant<|end_header_id|>\n\n");
}

char *chat_render(const chat_template *t, const chat_msg *msgs, size_t n, const chat_render_opts *o,
                  size_t *len) {
    render r = {.t = t, .agp = o->add_generation_prompt, .thinking = o->thinking};
    const chat_msg **ms = seek_calloc(n ? n : 1, sizeof *ms);
    if (!ms) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].role > CHAT_TOOL || !msgs[i].content) {
            free(ms);
            return seek_error("chat: message %zu has no content or a bad role", i), NULL;
        }
        if ((msgs[i].role == CHAT_TOOL || msgs[i].n_tool_calls) && !chat_template_has_tools(t)) {
            free(ms);
            return seek_error("chat: the %s template has no tool calls", chat_format_name(t->format)), NULL;
        }
        if (msgs[i].role == CHAT_SYSTEM || i >= o->keep_from) ms[r.n++] = &msgs[i];
    }
    r.ms = ms;
    switch (t->format) {
    case CHAT_FMT_DEEPSEEK_V2:
    case CHAT_FMT_DEEPSEEK_V2_0628: render_v2(&r); break;
    case CHAT_FMT_DEEPSEEK_V3_1: render_v3_1(&r); break;
    case CHAT_FMT_DEEPSEEK_V3_2: render_v3_2(&r); break;
    case CHAT_FMT_DEEPSEEK_V4: render_v4(&r); break;
    case CHAT_FMT_LLAMA3: render_llama3(&r); break;
    default: render_v3_r1(&r); break;
    }
    free(ms);
    if (r.oom) {
        sb_free(&r.out);
        return NULL;
    }
    return sb_take(&r.out, len);
}

/* ---------------------------------------------------------------------------
 * Context management */

static long count_render(const chat_template *t, const chat_msg *msgs, size_t n, chat_render_opts o,
                         size_t keep_from, chat_count_fn count, void *ud) {
    o.keep_from = keep_from;
    size_t len;
    char *s = chat_render(t, msgs, n, &o, &len);
    if (!s) return -1;
    long c = count(ud, s, len);
    free(s);
    if (c < 0 && !*seek_last_error()) seek_error("chat: counting tokens failed");
    return c;
}

int chat_fit(const chat_template *t, const chat_msg *msgs, size_t n, const chat_render_opts *o,
             long budget, bool drop_oldest, chat_count_fn count, void *ud, chat_fit_result *res) {
    memset(res, 0, sizeof *res);
    size_t start = o->keep_from;
    long c = count_render(t, msgs, n, *o, start, count, ud);
    if (c < 0) return -1;
    if (c <= budget) {
        res->keep_from = start;
        res->n_tokens = c;
        goto done;
    }
    if (!drop_oldest)
        return seek_error("the conversation needs %ld tokens but the context has room for %ld", c, budget);
    /* Cut points: each user message after `start`; the last user message is
     * the earliest a cut may go (it is the question being answered). */
    for (size_t i = start + 1; i < n; i++) {
        if (msgs[i].role != CHAT_USER) continue;
        long ci = count_render(t, msgs, n, *o, i, count, ud);
        if (ci < 0) return -1;
        c = ci;
        if (ci <= budget) {
            res->keep_from = i;
            res->n_tokens = ci;
            goto done;
        }
    }
    return seek_error("the system prompt and the last message need %ld tokens but the context has room "
                      "for %ld", c, budget);
done:
    for (size_t i = 0; i < res->keep_from && i < n; i++) res->n_dropped += msgs[i].role != CHAT_SYSTEM;
    return 0;
}
