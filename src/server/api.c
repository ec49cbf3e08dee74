/* api.c - the endpoints of `seek serve` (OpenAI / DeepSeek API conventions).
 *
 *   POST /v1/chat/completions   messages -> chat template -> job; JSON or SSE back
 *   POST /v1/completions        raw prompt -> job
 *   GET  /v1/models  /health  /metrics  /
 *
 * Request checking is strict about types (400 naming the field) and lenient about
 * fields it does not know (clients send many). Reasoning comes back in
 * `reasoning_content` as DeepSeek's API returns it; tool calls as `tool_calls`.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/json_util.h"
#include "server/server.h"
#include "server/toolcall.h"
#include "reasoning.h"
#include "util.h"

enum { MAX_STOPS = 16, MAX_TOP_LOGPROBS = 20, MAX_LEGACY_LOGPROBS = 5 /* OpenAI's limit for /v1/completions */ };

/* ---------------------------------------------------------------------------
 * Replies */

static void reply_json(srv_reply *r, int status, json_t *o) {
    memset(r, 0, sizeof *r);
    r->status = status;
    r->ctype = "application/json";
    r->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    if (o) json_decref(o);
    if (!r->body) {   /* out of memory: a static body still says so */
        static const char oom[] = "{\"error\":{\"message\":\"out of memory\",\"type\":\"server_error\","
                                  "\"param\":null,\"code\":null}}";
        r->status = 500;
        r->body = (char *)oom;
        r->body_static = true;
    }
    r->len = strlen(r->body);
}

void api_error(srv_reply *r, int status, const char *type, const char *param, const char *code,
               const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_t *o = json_pack("{s:{s:o, s:s, s:o, s:o}}", "error", "message", srv_json_text(msg, strlen(msg)),
                          "type", type, "param", param ? json_string(param) : json_null(), "code",
                          code ? json_string(code) : json_null());
    reply_json(r, status, o);
}

#define BAD(r, param, ...) api_error(r, 400, "invalid_request_error", param, NULL, __VA_ARGS__)

/* ---------------------------------------------------------------------------
 * Field checking. Each returns 0, or -1 after filling the 400 reply. */

static int get_number(srv_reply *r, json_t *req, const char *key, double lo, double hi, double *out) {
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_number(v)) return BAD(r, key, "'%s' must be a number", key), -1;
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi)) return BAD(r, key, "'%s' must be between %g and %g", key, lo, hi), -1;
    *out = x;
    return 0;
}

static int get_int(srv_reply *r, json_t *req, const char *key, long long lo, long long hi, long long *out) {
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_integer(v)) return BAD(r, key, "'%s' must be an integer", key), -1;
    long long x = json_integer_value(v);
    if (x < lo || x > hi) return BAD(r, key, "'%s' must be between %lld and %lld", key, lo, hi), -1;
    *out = x;
    return 0;
}

static int get_bool(srv_reply *r, json_t *req, const char *key, bool *out) {
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_boolean(v)) return BAD(r, key, "'%s' must be a boolean", key), -1;
    *out = json_is_true(v);
    return 0;
}

/* The options both completion endpoints share, into the job. */
static int common_params(srv_ctx *c, srv_reply *r, json_t *req, srv_job *j, bool chat, bool *stream,
                         bool *usage_in_stream, bool *echo) {
    json_t *model = json_object_get(req, "model");
    if (model && !json_is_null(model)) {
        if (!json_is_string(model)) return BAD(r, "model", "'model' must be a string"), -1;
        if (strcmp(json_string_value(model), c->o->model_id))
            return api_error(r, 404, "invalid_request_error", "model", "model_not_found",
                             "The model '%s' does not exist (this server has '%s')", json_string_value(model),
                             c->o->model_id),
                   -1;
    }
    double x;
    long long k;
    x = 1.0;   /* OpenAI's default temperature and top_p */
    if (get_number(r, req, "temperature", 0, 2, &x)) return -1;
    j->sp.temperature = (float)x;
    x = 1.0;
    if (get_number(r, req, "top_p", 0, 1, &x)) return -1;
    j->sp.top_p = (float)x;
    k = 0;
    if (get_int(r, req, "top_k", 0, 1 << 30, &k)) return -1;
    j->sp.top_k = (int32_t)k;
    x = 0;
    if (get_number(r, req, "min_p", 0, 1, &x)) return -1;
    j->sp.min_p = (float)x;
    x = 0;
    if (get_number(r, req, "presence_penalty", 0, 2, &x)) return -1;
    j->sp.presence_penalty = (float)x;
    x = 0;
    if (get_number(r, req, "frequency_penalty", 0, 2, &x)) return -1;
    j->sp.freq_penalty = (float)x;
    j->sp.penalty_last_n = -1;   /* OpenAI's penalties count the whole answer */
    j->sp.repeat_penalty = 1;
    k = (long long)time(NULL) ^ ((long long)(size_t)j << 7);
    if (get_int(r, req, "seed", -(1LL << 62), 1LL << 62, &k)) return -1;
    j->sp.seed = (uint64_t)k;
    k = 1;
    if (get_int(r, req, "n", 1, 1 << 30, &k)) return -1;
    if (k != 1) return BAD(r, "n", "only n = 1 is supported"), -1;

    long long mt = chat ? -1 : 16;   /* /v1/completions defaults to 16 tokens, as OpenAI's */
    if (get_int(r, req, "max_tokens", 1, 1 << 30, &mt)) return -1;
    if (chat && get_int(r, req, "max_completion_tokens", 1, 1 << 30, &mt)) return -1;
    j->max_tokens = (int)mt;

    json_t *stop = json_object_get(req, "stop");
    if (stop && !json_is_null(stop)) {
        size_t n = json_is_string(stop) ? 1 : json_is_array(stop) ? json_array_size(stop) : (size_t)-1;
        if (n == (size_t)-1) return BAD(r, "stop", "'stop' must be a string or an array of strings"), -1;
        if (n > MAX_STOPS) return BAD(r, "stop", "'stop' has more than %d strings", MAX_STOPS), -1;
        if (!(j->stops = seek_calloc(n ? n : 1, sizeof *j->stops))) return api_error(r, 500, "server_error", NULL, NULL, "out of memory"), -1;
        for (size_t i = 0; i < n; i++) {
            json_t *s = json_is_string(stop) ? stop : json_array_get(stop, i);
            if (!json_is_string(s)) return BAD(r, "stop", "'stop' must be a string or an array of strings"), -1;
            j->stops[j->n_stops++] = seek_strdup(json_string_value(s));
        }
    }

    bool lp = false;
    if (chat) {
        if (get_bool(r, req, "logprobs", &lp)) return -1;
        k = 0;
        if (get_int(r, req, "top_logprobs", 0, MAX_TOP_LOGPROBS, &k)) return -1;
        if (k > 0 && !lp) return BAD(r, "top_logprobs", "'top_logprobs' needs 'logprobs': true"), -1;
        j->logprobs = lp ? (int)k : -1;
    } else {
        /* the legacy API: logprobs is how many alternatives (0..5), not a boolean */
        k = -1;
        json_t *v = json_object_get(req, "logprobs");
        if (v && !json_is_null(v) && get_int(r, req, "logprobs", 0, MAX_LEGACY_LOGPROBS, &k)) return -1;
        j->logprobs = (int)k;
        *echo = false;
        if (get_bool(r, req, "echo", echo)) return -1;
        if (*echo && j->logprobs >= 0)   /* the prompt's own log-probabilities are not computed */
            return BAD(r, "echo", "'echo' together with 'logprobs' is not supported (no log-probabilities for "
                                  "prompt tokens); drop one of them"),
                   -1;
    }

    *stream = false;
    if (get_bool(r, req, "stream", stream)) return -1;
    json_t *so = json_object_get(req, "stream_options");
    *usage_in_stream = false;
    if (so && !json_is_null(so)) {
        if (!json_is_object(so)) return BAD(r, "stream_options", "'stream_options' must be an object"), -1;
        json_t *iu = json_object_get(so, "include_usage");
        if (iu && !json_is_boolean(iu))
            return BAD(r, "stream_options.include_usage", "'stream_options.include_usage' must be a boolean"), -1;
        *usage_in_stream = json_is_true(iu);
    }
    return 0;
}

/* ---------------------------------------------------------------------------
 * Messages */

typedef struct {
    chat_msg *m;
    chat_tool_call *calls;   /* all messages' calls, one array */
    size_t n;
    char *tools_text;        /* the tools description (a system message) */
} msg_list;

static void msgs_free(msg_list *ml) {
    free(ml->m);
    free(ml->calls);
    free(ml->tools_text);
}

/* content: a string, null, or an array of {type: "text", text} parts (joined). */
static int content_text(srv_reply *r, json_t *v, size_t i, const char **out, json_t *keep) {
    char param[64];
    snprintf(param, sizeof param, "messages[%zu].content", i);
    if (!v || json_is_null(v)) {
        *out = "";
        return 0;
    }
    if (json_is_string(v)) {
        *out = json_string_value(v);
        if (strlen(*out) != json_string_length(v)) return BAD(r, param, "'%s' contains a NUL character", param), -1;
        return 0;
    }
    if (!json_is_array(v)) return BAD(r, param, "'%s' must be a string or an array of text parts", param), -1;
    strbuf b = {0};
    size_t k;
    json_t *part;
    json_array_foreach(v, k, part) {
        json_t *t = json_object_get(part, "text");
        if (!json_is_object(part) || !json_is_string(t) ||
            (json_object_get(part, "type") && !json_is_string(json_object_get(part, "type"))) ||
            (json_is_string(json_object_get(part, "type")) && strcmp(json_string_value(json_object_get(part, "type")), "text"))) {
            sb_free(&b);
            return BAD(r, param, "'%s' parts must be {\"type\": \"text\", \"text\": ...} (only text is supported)", param), -1;
        }
        sb_adds(&b, json_string_value(t));
    }
    json_t *joined = json_stringn(b.s ? b.s : "", b.n);
    sb_free(&b);
    json_array_append_new(keep, joined);   /* lives as long as the request */
    *out = json_string_value(joined);
    return 0;
}

static int parse_messages(srv_ctx *c, srv_reply *r, json_t *req, msg_list *ml, json_t *keep) {
    json_t *msgs = json_object_get(req, "messages");
    if (!msgs) return BAD(r, "messages", "'messages' is required"), -1;
    if (!json_is_array(msgs)) return BAD(r, "messages", "'messages' must be an array"), -1;
    size_t n = json_array_size(msgs), n_calls = 0;
    if (n == 0) return BAD(r, "messages", "'messages' must not be empty"), -1;
    for (size_t i = 0; i < n; i++) {
        json_t *tc = json_object_get(json_array_get(msgs, i), "tool_calls");
        if (json_is_array(tc)) n_calls += json_array_size(tc);
    }
    ml->m = seek_calloc(n + 1, sizeof *ml->m);
    ml->calls = seek_calloc(n_calls + 1, sizeof *ml->calls);
    if (!ml->m || !ml->calls) return api_error(r, 500, "server_error", NULL, NULL, "out of memory"), -1;
    char param[64];
    size_t ci = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *m = json_array_get(msgs, i);
        snprintf(param, sizeof param, "messages[%zu]", i);
        if (!json_is_object(m)) return BAD(r, param, "'%s' must be an object", param), -1;
        json_t *role = json_object_get(m, "role");
        snprintf(param, sizeof param, "messages[%zu].role", i);
        if (!json_is_string(role)) return BAD(r, param, "'%s' must be a string", param), -1;
        const char *rs = json_string_value(role);
        chat_msg *cm = &ml->m[ml->n];
        if (!strcmp(rs, "system") || !strcmp(rs, "developer")) cm->role = CHAT_SYSTEM;
        else if (!strcmp(rs, "user")) cm->role = CHAT_USER;
        else if (!strcmp(rs, "assistant")) cm->role = CHAT_ASSISTANT;
        else if (!strcmp(rs, "tool")) cm->role = CHAT_TOOL;
        else return BAD(r, param, "'%s' must be system, user, assistant or tool (got '%s')", param, rs), -1;
        json_t *content = json_object_get(m, "content");
        if (cm->role != CHAT_ASSISTANT && (!content || json_is_null(content))) {
            snprintf(param, sizeof param, "messages[%zu].content", i);
            return BAD(r, param, "'%s' is required for a %s message", param, rs), -1;
        }
        if (content_text(r, content, i, &cm->content, keep)) return -1;
        json_t *rc = json_object_get(m, "reasoning_content");
        if (json_is_string(rc)) cm->reasoning = json_string_value(rc);
        json_t *tc = json_object_get(m, "tool_calls");
        if (tc && !json_is_null(tc) && cm->role == CHAT_ASSISTANT) {
            snprintf(param, sizeof param, "messages[%zu].tool_calls", i);
            if (!json_is_array(tc)) return BAD(r, param, "'%s' must be an array", param), -1;
            cm->tool_calls = &ml->calls[ci];
            size_t k;
            json_t *call;
            json_array_foreach(tc, k, call) {
                json_t *f = json_object_get(call, "function");
                json_t *name = json_object_get(f, "name"), *args = json_object_get(f, "arguments");
                if (!json_is_string(name) || !(json_is_string(args) || json_is_object(args)))
                    return BAD(r, param, "'%s[%zu]' needs function.name and function.arguments (a JSON string)",
                               param, k), -1;
                ml->calls[ci].name = json_string_value(name);
                if (json_is_object(args)) {   /* some clients send the object itself */
                    char *s = json_dumps(args, JSON_COMPACT);
                    json_t *js = json_string(s ? s : "{}");
                    free(s);
                    json_array_append_new(keep, js);
                    ml->calls[ci].arguments = json_string_value(js);
                } else ml->calls[ci].arguments = json_string_value(args);
                ci++;
                cm->n_tool_calls++;
            }
        }
        ml->n++;
    }
    (void)c;
    return 0;
}

/* ---------------------------------------------------------------------------
 * Streams: a job's output turned into SSE chunks or one JSON body */

struct srv_stream {
    srv_ctx *c;
    srv_job *job;
    bool chat, stream, include_usage, tools;
    char id[48];
    long long created;
    strbuf out;              /* bytes ready for the client */
    size_t out_off;
    bool ended;              /* everything is in `out` */
    bool role_sent;
    tc_parser tc;
    /* accumulated (for the non-streamed body and the final chunk) */
    strbuf content, reasoning;
    json_t *calls;           /* [{id, type, function: {name, arguments}}] */
    json_t *lp_all;          /* every logprob entry */
    long lp_chars;           /* /v1/completions: characters of the text before the next token */
    json_t *delta_calls;     /* tool-call deltas of the chunk being built */
};

static void sse(srv_stream *st, json_t *chunk) {
    char *s = json_dumps(chunk, JSON_COMPACT);
    json_decref(chunk);
    if (!s) return;
    sb_adds(&st->out, "data: ");
    sb_adds(&st->out, s);
    sb_adds(&st->out, "\n\n");
    free(s);
}

static json_t *chunk_new(srv_stream *st) {
    return json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", st->id, "object",
                     st->chat ? "chat.completion.chunk" : "text_completion", "created", st->created, "model",
                     st->c->o->model_id, "system_fingerprint", "seek");
}

/* /v1/completions answers logprobs in OpenAI's legacy shape, built here from the
 * scheduler's chat-style entries ({token, logprob, bytes, top_logprobs: [...]}):
 *   {"tokens": [t, ..], "token_logprobs": [lp, ..], "top_logprobs": [{t: lp, ..}, ..],
 *    "text_offset": [chars, ..]}
 * - a token whose bytes are not valid UTF-8 by themselves (a piece of a character) is
 *   written as OpenAI writes it: "bytes:\xe2\x80";
 * - a control token adds nothing to the text (no bytes) but is named by its text, as
 *   llama.cpp's server does; text_offset does not count it;
 * - top_logprobs[i] holds the `logprobs` most likely tokens and the chosen one (so up to
 *   logprobs + 1 entries, as OpenAI documents; a token text met twice keeps the first);
 * - text_offset[i] is the character (code point) offset of token i from the start of
 *   the choice's text: the characters of the tokens before it, continuing across the
 *   chunks of a stream (a stop string cut from the text is still counted). */
static json_t *legacy_token(json_t *e) {
    json_t *bytes = json_object_get(e, "bytes");
    size_t n = json_array_size(bytes);
    if (n == 0) return json_copy(json_object_get(e, "token"));   /* a control token: its name */
    char *b = malloc(n ? n : 1);
    if (!b) return NULL;
    for (size_t i = 0; i < n; i++) b[i] = (char)json_integer_value(json_array_get(bytes, i));
    json_t *t = json_stringn(b, n);   /* NULL: not valid UTF-8 */
    if (!t) {
        strbuf sb = {0};
        sb_adds(&sb, "bytes:");
        for (size_t i = 0; i < n; i++) {
            char x[8];
            snprintf(x, sizeof x, "\\x%02x", (unsigned char)b[i]);
            sb_adds(&sb, x);
        }
        t = json_stringn(sb.s ? sb.s : "", sb.n);
        sb_free(&sb);
    }
    free(b);
    return t;
}

static json_t *legacy_logprobs(srv_stream *st, json_t *entries) {
    json_t *toks = json_array(), *lps = json_array(), *tops = json_array(), *offs = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e) {
        json_t *tok = legacy_token(e);
        json_t *top = json_object();
        size_t k;
        json_t *alt;
        json_array_foreach(json_object_get(e, "top_logprobs"), k, alt) {
            json_t *at = legacy_token(alt);
            if (at && !json_object_get(top, json_string_value(at)))
                json_object_set(top, json_string_value(at), json_object_get(alt, "logprob"));
            if (at) json_decref(at);
        }
        if (tok && !json_object_get(top, json_string_value(tok)))   /* the chosen one, always */
            json_object_set(top, json_string_value(tok), json_object_get(e, "logprob"));
        json_array_append_new(toks, tok ? tok : json_string(""));
        json_array_append(lps, json_object_get(e, "logprob"));
        json_array_append_new(tops, top);
        json_array_append_new(offs, json_integer(st->lp_chars));
        json_t *bytes = json_object_get(e, "bytes");   /* code points = bytes that start one */
        for (size_t b = 0; b < json_array_size(bytes); b++)
            if ((json_integer_value(json_array_get(bytes, b)) & 0xC0) != 0x80) st->lp_chars++;
    }
    return json_pack("{s:o, s:o, s:o, s:o}", "tokens", toks, "token_logprobs", lps, "top_logprobs", tops,
                     "text_offset", offs);
}

/* One streamed delta: chat {reasoning_content | content | tool_calls}, or completion text. */
static void stream_delta(srv_stream *st, const char *key, json_t *val, json_t *lp) {
    json_t *ch = chunk_new(st), *choice;
    if (st->chat) {
        json_t *delta = json_object();
        if (!st->role_sent) {
            json_object_set_new(delta, "role", json_string("assistant"));
            st->role_sent = true;
        }
        if (key) json_object_set_new(delta, key, val);
        choice = json_pack("{s:i, s:o, s:o, s:n}", "index", 0, "delta", delta, "logprobs",
                           lp ? json_pack("{s:o}", "content", lp) : json_null(), "finish_reason");
    } else {
        json_t *legacy = lp ? legacy_logprobs(st, lp) : json_null();
        if (lp) json_decref(lp);
        choice = json_pack("{s:i, s:o, s:o, s:n}", "index", 0, "text", val ? val : json_string(""), "logprobs",
                           legacy, "finish_reason");
    }
    json_object_set_new(ch, "choices", json_pack("[o]", choice));
    sse(st, ch);
}

static void on_tool(void *ud, int kind, int index, const char *s, size_t n) {
    srv_stream *st = ud;
    if (kind == TC_TEXT) {
        sb_add(&st->content, s, n);
        if (st->stream) stream_delta(st, "content", srv_json_text(s, n), NULL);
        return;
    }
    if (kind == TC_CALL) {
        char id[32];
        snprintf(id, sizeof id, "call_%08x%04x", (unsigned)rand(), (unsigned)index);
        json_array_append_new(st->calls, json_pack("{s:s, s:s, s:{s:o, s:s}}", "id", id, "type", "function",
                                                   "function", "name", srv_json_text(s, n), "arguments", ""));
        if (st->stream)
            json_array_append_new(st->delta_calls,
                                  json_pack("{s:i, s:s, s:s, s:{s:o, s:s}}", "index", index, "id", id, "type",
                                            "function", "function", "name", srv_json_text(s, n), "arguments", ""));
        return;
    }
    json_t *call = json_array_get(st->calls, (size_t)index);
    if (!call) return;
    json_t *f = json_object_get(call, "function");
    strbuf b = {0};
    sb_adds(&b, json_string_value(json_object_get(f, "arguments")));
    sb_add(&b, s, n);
    json_object_set_new(f, "arguments", srv_json_text(b.s ? b.s : "", b.n));
    sb_free(&b);
    if (st->stream)
        json_array_append_new(st->delta_calls, json_pack("{s:i, s:{s:o}}", "index", index, "function", "arguments",
                                                         srv_json_text(s, n)));
}

static void flush_calls(srv_stream *st) {
    if (json_array_size(st->delta_calls)) {
        stream_delta(st, "tool_calls", st->delta_calls, NULL);
        st->delta_calls = json_array();
    }
}

static json_t *usage(srv_stream *st) {
    srv_job *j = st->job;
    return json_pack("{s:i, s:i, s:i, s:i, s:i}", "prompt_tokens", (int)j->prompt.n, "completion_tokens", j->n_gen,
                     "total_tokens", (int)j->prompt.n + j->n_gen, "prompt_cache_hit_tokens", j->n_cached,
                     "prompt_cache_miss_tokens", (int)j->prompt.n - j->n_cached);
}

static const char *finish_reason(srv_stream *st) {
    switch (st->job->stop) {
    case GEN_STOP_LENGTH:
    case GEN_STOP_CONTEXT: return "length";
    default: return json_array_size(st->calls) ? "tool_calls" : "stop";
    }
}

/* Completion text of a /v1/completions answer: the reasoning keeps its tags. lp: the
 * logprob entries that go with it in a stream (taken), or NULL. */
static void completion_text(srv_stream *st, const char *s, size_t n, json_t *lp) {
    sb_add(&st->content, s, n);
    if (st->stream) stream_delta(st, NULL, srv_json_text(s, n), lp);
    else if (lp) json_decref(lp);
}

/* The job has finished: the last chunks, or the whole body. */
static void stream_end(srv_stream *st) {
    srv_job *j = st->job;
    if (st->tools) {
        tc_finish(&st->tc);
        flush_calls(st);
    }
    if (st->stream) {
        if (j->error) {
            json_t *e = json_pack("{s:{s:o, s:s, s:n, s:n}}", "error", "message",
                                  srv_json_text(j->errmsg, strlen(j->errmsg)), "type", "server_error", "param", "code");
            sse(st, e);
        } else {
            json_t *ch = chunk_new(st);
            json_t *choice = st->chat ? json_pack("{s:i, s:{}, s:n, s:s}", "index", 0, "delta", "logprobs",
                                                  "finish_reason", finish_reason(st))
                                      : json_pack("{s:i, s:s, s:n, s:s}", "index", 0, "text", "", "logprobs",
                                                  "finish_reason", finish_reason(st));
            json_object_set_new(ch, "choices", json_pack("[o]", choice));
            sse(st, ch);
            if (st->include_usage) {
                json_t *u = chunk_new(st);
                json_object_set_new(u, "choices", json_array());
                json_object_set_new(u, "usage", usage(st));
                sse(st, u);
            }
        }
        sb_adds(&st->out, "data: [DONE]\n\n");
    } else {
        json_t *o = json_pack("{s:s, s:s, s:I, s:s, s:s}", "id", st->id, "object",
                              st->chat ? "chat.completion" : "text_completion", "created", st->created, "model",
                              st->c->o->model_id, "system_fingerprint", "seek");
        json_t *choice;
        if (st->chat) {
            json_t *msg = json_pack("{s:s, s:o}", "role", "assistant", "content",
                                    st->content.n || !json_array_size(st->calls)
                                        ? srv_json_text(st->content.s, st->content.n)
                                        : json_null());
            json_object_set_new(msg, "reasoning_content",
                                st->reasoning.n ? srv_json_text(st->reasoning.s, st->reasoning.n) : json_null());
            if (json_array_size(st->calls)) json_object_set(msg, "tool_calls", st->calls);
            choice = json_pack("{s:i, s:o, s:o, s:s}", "index", 0, "message", msg, "logprobs",
                               st->lp_all ? json_pack("{s:O}", "content", st->lp_all) : json_null(),
                               "finish_reason", finish_reason(st));
        } else {
            choice = json_pack("{s:i, s:o, s:o, s:s}", "index", 0, "text", srv_json_text(st->content.s, st->content.n),
                               "logprobs", st->lp_all ? legacy_logprobs(st, st->lp_all) : json_null(),
                               "finish_reason", finish_reason(st));
        }
        json_object_set_new(o, "choices", json_pack("[o]", choice));
        json_object_set_new(o, "usage", usage(st));
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        if (s) sb_adds(&st->out, s);
        free(s);
    }
    st->ended = true;
}

/* Move what the job produced since the last call into `out`. Returns true at the end. */
static bool stream_pump(srv_stream *st, int wait_ms) {
    srv_job *j = st->job;
    if (st->stream && st->chat && !st->role_sent) {   /* the first chunk names the role at once */
        stream_delta(st, "content", json_string(""), NULL);
        return false;
    }
    strbuf rs = {0}, cs = {0};
    json_t *lp = NULL;
    pthread_mutex_lock(&j->mu);
    if (!j->done && !j->reasoning.n && !j->content.n && !j->lp && wait_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)wait_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&j->cv, &j->mu, &ts);
    }
    rs = j->reasoning, cs = j->content, lp = j->lp;
    memset(&j->reasoning, 0, sizeof j->reasoning);
    memset(&j->content, 0, sizeof j->content);
    j->lp = NULL;
    bool done = j->done;
    pthread_mutex_unlock(&j->mu);

    if (lp) {
        if (!st->lp_all) st->lp_all = json_array();
        json_array_extend(st->lp_all, lp);
    }
    if (rs.n) {
        if (st->chat) {
            sb_add(&st->reasoning, rs.s, rs.n);
            if (st->stream) stream_delta(st, "reasoning_content", srv_json_text(rs.s, rs.n), lp), lp = NULL;
        } else {
            if (!st->reasoning.n) completion_text(st, "<think>", 7, NULL);
            sb_add(&st->reasoning, rs.s, rs.n);
            completion_text(st, rs.s, rs.n, cs.n ? NULL : lp), lp = cs.n ? lp : NULL;
        }
    }
    if (cs.n) {
        if (!st->chat) completion_text(st, cs.s, cs.n, lp), lp = NULL;
        else if (st->tools) {
            tc_feed(&st->tc, cs.s, cs.n);
            flush_calls(st);
        } else {
            sb_add(&st->content, cs.s, cs.n);
            if (st->stream) stream_delta(st, "content", srv_json_text(cs.s, cs.n), lp), lp = NULL;
        }
    }
    if (lp && st->stream) stream_delta(st, NULL, NULL, lp), lp = NULL;   /* logprobs with no text yet */
    if (lp) json_decref(lp);
    sb_free(&rs);
    sb_free(&cs);
    if (done) stream_end(st);
    return done;
}

long stream_read(srv_stream *st, char *buf, size_t max, int wait_ms) {
    while (st->out_off >= st->out.n) {
        sb_clear(&st->out);
        st->out_off = 0;
        if (st->ended) return -1;
        stream_pump(st, wait_ms);
        if (st->out.n == 0 && !st->ended) return 0;
    }
    size_t n = st->out.n - st->out_off;
    if (n > max) n = max;
    memcpy(buf, st->out.s + st->out_off, n);
    st->out_off += n;
    return (long)n;
}

void stream_cancel(srv_stream *st) { st->job->cancel = 1; }

int stream_tokens(srv_stream *st) {
    pthread_mutex_lock(&st->job->mu);
    int n = st->job->n_gen;
    pthread_mutex_unlock(&st->job->mu);
    return n;
}

void stream_free(srv_stream *st) {
    if (!st) return;
    if (st->job) {
        st->job->cancel = 1;   /* no-op when it has finished */
        job_release(st->c->sched, st->job);
    }
    tc_free(&st->tc);
    sb_free(&st->out);
    sb_free(&st->content);
    sb_free(&st->reasoning);
    if (st->calls) json_decref(st->calls);
    if (st->lp_all) json_decref(st->lp_all);
    if (st->delta_calls) json_decref(st->delta_calls);
    free(st);
}

/* ---------------------------------------------------------------------------
 * Completions */

static int thinking_param(srv_reply *r, json_t *req, int *thinking) {
    /* DeepSeek: "thinking": {"type": "enabled" | "disabled"}; also a plain boolean,
     * and chat_template_kwargs.{thinking, enable_thinking} as other servers take it */
    json_t *t = json_object_get(req, "thinking");
    json_t *kw = json_object_get(req, "chat_template_kwargs");
    if (!t && json_is_object(kw)) {
        t = json_object_get(kw, "thinking");
        if (!t) t = json_object_get(kw, "enable_thinking");
    }
    if (!t || json_is_null(t)) return 0;
    if (json_is_boolean(t)) *thinking = json_is_true(t);
    else if (json_is_object(t) && json_is_string(json_object_get(t, "type")))
        *thinking = strcmp(json_string_value(json_object_get(t, "type")), "disabled") != 0;
    else return BAD(r, "thinking", "'thinking' must be a boolean or {\"type\": \"enabled\"|\"disabled\"}"), -1;
    return 0;
}

static int check_tools(srv_reply *r, json_t *req, json_t **tools, const char **choice) {
    *tools = NULL;
    *choice = NULL;
    json_t *t = json_object_get(req, "tools");
    if (!t || json_is_null(t)) return 0;
    if (!json_is_array(t)) return BAD(r, "tools", "'tools' must be an array"), -1;
    size_t i;
    json_t *x;
    json_array_foreach(t, i, x) {
        json_t *f = json_object_get(x, "function");
        if (!json_is_object(x) || !json_is_object(f) || !json_is_string(json_object_get(f, "name")))
            return BAD(r, "tools", "'tools[%zu]' must be {\"type\": \"function\", \"function\": {\"name\", ...}}", i), -1;
        json_t *d = json_object_get(f, "description"), *p = json_object_get(f, "parameters");
        if ((d && !json_is_string(d) && !json_is_null(d)) || (p && !json_is_object(p) && !json_is_null(p)))
            return BAD(r, "tools", "'tools[%zu].function': description must be a string, parameters an object", i), -1;
    }
    json_t *tc = json_object_get(req, "tool_choice");
    if (tc && !json_is_null(tc)) {
        if (json_is_string(tc)) {
            *choice = json_string_value(tc);
            if (strcmp(*choice, "none") && strcmp(*choice, "auto") && strcmp(*choice, "required"))
                return BAD(r, "tool_choice", "'tool_choice' must be none, auto, required or a function"), -1;
        } else if (json_is_string(json_object_get(json_object_get(tc, "function"), "name"))) {
            *choice = json_string_value(json_object_get(json_object_get(tc, "function"), "name"));
        } else return BAD(r, "tool_choice", "'tool_choice' must be none, auto, required or a function"), -1;
    }
    if (json_array_size(t) && !(*choice && !strcmp(*choice, "none"))) *tools = t;
    return 0;
}

static void new_id(char *buf, size_t cap, const char *prefix) {
    static unsigned long counter;
    unsigned long k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    snprintf(buf, cap, "%s-%lx%06lx", prefix, (unsigned long)time(NULL), k);
}

static bool env_forced(srv_ctx *c, srv_job *j) {
    /* Test hook: SEEK_SERVE_FORCE_OUTPUT="text" makes every answer start with that
     * text's tokens followed by the end of the turn (the model's logits are
     * replaced at those steps). The tests use it to make a random-weight model
     * "call" a tool. */
    const char *f = getenv("SEEK_SERVE_FORCE_OUTPUT");
    if (!f || !*f) return true;
    if (tok_encode(c->ss->tok, f, strlen(f), false, &j->forced)) return false;
    return tok_ids_push(&j->forced, c->ss->stops.ids[c->ss->stops.n - 1]) == 0;
}

static void completion(srv_ctx *c, json_t *req, bool chat, bool (*gone)(void *), void *gone_ud, srv_reply *r) {
    srv_job *j = job_new();
    msg_list ml = {0};
    json_t *keep = json_array();
    srv_stream *st = NULL;
    if (!j || !keep) {
        api_error(r, 500, "server_error", NULL, NULL, "out of memory");
        goto done;
    }
    bool stream, usage_in_stream, echo = false;
    if (common_params(c, r, req, j, chat, &stream, &usage_in_stream, &echo)) goto done;
    json_t *tools = NULL;
    const char *choice = NULL;
    seek_session *ss = c->ss;
    if (chat) {
        int thinking = -1;
        if (parse_messages(c, r, req, &ml, keep) || thinking_param(r, req, &thinking) ||
            check_tools(r, req, &tools, &choice))
            goto done;
        if (tools || ml.calls[0].name) {
            bool tool_msgs = false;
            for (size_t i = 0; i < ml.n; i++) tool_msgs |= ml.m[i].role == CHAT_TOOL || ml.m[i].n_tool_calls;
            if (!chat_template_has_tools(&ss->tmpl) && (tools || tool_msgs)) {
                BAD(r, tools ? "tools" : "messages", "this model's chat template (%s) has no tool calls",
                    chat_format_name(ss->tmpl.format));
                goto done;
            }
        }
        if (tools) {   /* the tools description goes after the system prompt */
            if (!(ml.tools_text = tools_describe(tools, ss->tmpl.format == CHAT_FMT_DEEPSEEK_V3_1, choice))) {
                api_error(r, 500, "server_error", NULL, NULL, "out of memory");
                goto done;
            }
            size_t at = 0;   /* after the last system message at the start */
            while (at < ml.n && ml.m[at].role == CHAT_SYSTEM) at++;
            memmove(&ml.m[at + 1], &ml.m[at], (ml.n - at) * sizeof *ml.m);
            ml.m[at] = (chat_msg){.role = CHAT_SYSTEM, .content = ml.tools_text};
            ml.n++;
        }
        /* thinking on by default where it can be switched, except with tools: DeepSeek
         * models call tools in non-thinking mode */
        if (thinking < 0 && chat_template_has_thinking_switch(&ss->tmpl)) thinking = tools ? 0 : 1;
        chat_render_opts ro = {.add_generation_prompt = true, .thinking = thinking};
        size_t len;
        char *text = chat_render(&ss->tmpl, ml.m, ml.n, &ro, &len);
        if (!text) {
            BAD(r, "messages", "%s", seek_last_error());
            goto done;
        }
        int e = tok_encode(ss->tok, text, len, false, &j->prompt);
        j->start_thinking = reasoning_prompt_opens(text, len);
        free(text);
        if (e) {
            api_error(r, 500, "server_error", NULL, NULL, "%s", seek_last_error());
            goto done;
        }
    } else {
        json_t *p = json_object_get(req, "prompt");
        if (json_is_array(p) && json_array_size(p) == 1) p = json_array_get(p, 0);
        if (!p) {
            BAD(r, "prompt", "'prompt' is required");
            goto done;
        }
        if (json_is_string(p)) {
            if (tok_encode(ss->tok, json_string_value(p), json_string_length(p), true, &j->prompt)) {
                api_error(r, 500, "server_error", NULL, NULL, "%s", seek_last_error());
                goto done;
            }
        } else if (json_is_array(p)) {   /* token ids */
            size_t i;
            json_t *x;
            json_array_foreach(p, i, x) {
                if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) >= tok_n_vocab(ss->tok)) {
                    BAD(r, "prompt", "'prompt' must be a string or an array of token ids");
                    goto done;
                }
                tok_ids_push(&j->prompt, (int32_t)json_integer_value(x));
            }
        } else {
            BAD(r, "prompt", "'prompt' must be a string or an array of token ids");
            goto done;
        }
    }
    if (j->prompt.n == 0) {
        BAD(r, chat ? "messages" : "prompt", "the prompt is empty");
        goto done;
    }
    if (j->prompt.n >= (size_t)ss->n_ctx) {
        api_error(r, 400, "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded",
                  "the prompt is %zu tokens but the context holds %d", j->prompt.n, ss->n_ctx);
        goto done;
    }
    if (!env_forced(c, j)) {
        api_error(r, 500, "server_error", NULL, NULL, "%s", seek_last_error());
        goto done;
    }

    if (!(st = seek_calloc(1, sizeof *st))) {
        api_error(r, 500, "server_error", NULL, NULL, "out of memory");
        goto done;
    }
    st->c = c;
    st->chat = chat;
    st->stream = stream;
    st->include_usage = usage_in_stream;
    st->tools = chat && tools;
    st->created = (long long)time(NULL);
    st->calls = json_array();
    st->delta_calls = json_array();
    new_id(st->id, sizeof st->id, chat ? "chatcmpl" : "cmpl");
    tc_init(&st->tc, on_tool, st);
    if (echo) {   /* the answer's text starts with the prompt */
        json_t *p = json_object_get(req, "prompt");
        if (json_is_array(p) && json_array_size(p) == 1 && json_is_string(json_array_get(p, 0))) p = json_array_get(p, 0);
        if (json_is_string(p)) completion_text(st, json_string_value(p), json_string_length(p), NULL);
        else {
            size_t n = 0;
            char *t = tok_decode(ss->tok, j->prompt.v, j->prompt.n, true, &n);
            if (!t) {
                api_error(r, 500, "server_error", NULL, NULL, "%s", seek_last_error());
                goto done;
            }
            completion_text(st, t, n, NULL);
            free(t);
        }
    }

    int q = sched_submit(c->sched, j);
    if (q == -1) {
        api_error(r, 429, "rate_limit_error", NULL, "queue_full", "the server is busy: the queue is full, try again");
        goto done;
    }
    if (q == -2) {
        api_error(r, 503, "server_error", NULL, "shutting_down", "the server is shutting down");
        goto done;
    }
    st->job = j;
    j = NULL;
    memset(r, 0, sizeof *r);
    r->status = 200;
    if (stream) {
        r->ctype = "text/event-stream";
        r->stream = st;
        st = NULL;
        goto done;
    }
    /* not streamed: wait here for the whole answer (the client may give up) */
    while (!stream_pump(st, 100)) {
        if (gone && gone(gone_ud)) {
            stream_cancel(st);
            api_error(r, 499, "invalid_request_error", NULL, "client_closed", "the client went away");
            goto done;
        }
    }
    if (st->job->error) {
        api_error(r, 500, "server_error", NULL, NULL, "%s", st->job->errmsg);
        goto done;
    }
    r->ctype = "application/json";
    r->tokens = st->job->n_gen;
    r->body = sb_take(&st->out, &r->len);
done:
    stream_free(st);
    if (j) job_release(NULL, j);
    msgs_free(&ml);
    if (keep) json_decref(keep);
}

/* ---------------------------------------------------------------------------
 * The small endpoints */

static void models(srv_ctx *c, srv_reply *r) {
    json_t *m = json_pack("{s:s, s:s, s:I, s:s}", "id", c->o->model_id, "object", "model", "created",
                          (json_int_t)(c->t_start / 1000), "owned_by", "seek");
    if (c->ss) {
        json_object_set_new(m, "context_length", json_integer(c->ss->n_ctx));
        json_object_set_new(m, "chat_template", json_string(chat_format_name(c->ss->tmpl.format)));
    }
    reply_json(r, 200, json_pack("{s:s, s:[o]}", "object", "list", "data", m));
}

static void health(srv_ctx *c, srv_reply *r) {
    if (!c->ready) {
        reply_json(r, 503, json_pack("{s:s}", "status", "loading"));
        return;
    }
    sched_stats s;
    sched_get_stats(c->sched, &s);
    reply_json(r, 200, json_pack("{s:s, s:i, s:i, s:i}", "status", c->draining ? "stopping" : "ok", "slots", s.n_slots,
                                 "slots_busy", s.busy, "queued", s.queued));
}

static void metrics(srv_ctx *c, srv_reply *r) {
    strbuf b = {0};
    char line[256];
    sb_adds(&b, "# HELP seek_requests_total HTTP requests answered, by status.\n# TYPE seek_requests_total counter\n");
    pthread_mutex_lock(&c->mu);
    for (int s = 100; s < 600; s++)
        if (c->status_count[s]) {
            snprintf(line, sizeof line, "seek_requests_total{status=\"%d\"} %ld\n", s, c->status_count[s]);
            sb_adds(&b, line);
        }
    double tps = c->tps;
    pthread_mutex_unlock(&c->mu);
    sched_stats s = {0};
    if (c->ready) sched_get_stats(c->sched, &s);
    snprintf(line, sizeof line,
             "# HELP seek_prompt_tokens_total Prompt tokens evaluated (cached prefixes not counted).\n"
             "# TYPE seek_prompt_tokens_total counter\nseek_prompt_tokens_total %lld\n", s.tokens_prompt);
    sb_adds(&b, line);
    snprintf(line, sizeof line,
             "# HELP seek_generated_tokens_total Tokens generated.\n"
             "# TYPE seek_generated_tokens_total counter\nseek_generated_tokens_total %lld\n", s.tokens_generated);
    sb_adds(&b, line);
    snprintf(line, sizeof line,
             "# HELP seek_generated_tokens_per_second Generated tokens per second, last 10 s.\n"
             "# TYPE seek_generated_tokens_per_second gauge\nseek_generated_tokens_per_second %.2f\n", tps);
    sb_adds(&b, line);
    snprintf(line, sizeof line,
             "# HELP seek_queue_length Requests waiting for a slot.\n# TYPE seek_queue_length gauge\n"
             "seek_queue_length %d\n", s.queued);
    sb_adds(&b, line);
    snprintf(line, sizeof line,
             "# HELP seek_slots_busy Slots generating.\n# TYPE seek_slots_busy gauge\nseek_slots_busy %d\n"
             "# HELP seek_slots Slots (--parallel).\n# TYPE seek_slots gauge\nseek_slots %d\n", s.busy, s.n_slots);
    sb_adds(&b, line);
    snprintf(line, sizeof line,
             "# HELP seek_batch_steps_total Batched forward steps.\n# TYPE seek_batch_steps_total counter\n"
             "seek_batch_steps_total %ld\n", s.steps);
    sb_adds(&b, line);
    memset(r, 0, sizeof *r);
    r->status = 200;
    r->ctype = "text/plain; version=0.0.4";
    r->body = sb_take(&b, &r->len);
}

void api_handle(srv_ctx *c, const char *method, const char *path, const char *body, size_t len,
                bool (*gone)(void *), void *gone_ud, srv_reply *r) {
    bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD"), post = !strcmp(method, "POST");
    const char *q = strchr(path, '?');
    size_t plen = q ? (size_t)(q - path) : strlen(path);
#define IS(p) (plen == strlen(p) && !strncmp(path, p, plen))
    if (IS("/") || IS("/index.html")) {
        if (!get) goto method;
        memset(r, 0, sizeof *r);
        r->status = 200;
        r->ctype = "text/html; charset=utf-8";
        r->body = (char *)srv_ui_html;
        r->len = srv_ui_html_len;
        r->body_static = true;
        return;
    }
    if (IS("/health")) {
        if (!get) goto method;
        return health(c, r);
    }
    if (IS("/metrics")) {
        if (!get) goto method;
        return metrics(c, r);
    }
    if (IS("/v1/models") || IS("/models")) {
        if (!get) goto method;
        return models(c, r);
    }
    bool chat = IS("/v1/chat/completions") || IS("/chat/completions");
    if (chat || IS("/v1/completions") || IS("/completions")) {
        if (!post) goto method;
        if (!c->ready) {
            api_error(r, 503, "server_error", NULL, "loading", "the model is still loading, try again shortly");
            return;
        }
        if (c->draining) {
            api_error(r, 503, "server_error", NULL, "shutting_down", "the server is shutting down");
            return;
        }
        json_error_t je;
        json_t *req = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &je);
        if (!req) {
            api_error(r, 400, "invalid_request_error", NULL, "invalid_json", "the body is not valid JSON: %s (at byte %d)",
                      je.text, je.position);
            return;
        }
        if (!json_is_object(req)) api_error(r, 400, "invalid_request_error", NULL, "invalid_json", "the body must be a JSON object");
        else completion(c, req, chat, gone, gone_ud, r);
        json_decref(req);
        return;
    }
    api_error(r, 404, "invalid_request_error", NULL, "not_found", "no such endpoint: %s %.*s", method, (int)plen, path);
    return;
method:
    api_error(r, 405, "invalid_request_error", NULL, "method_not_allowed", "%s is not allowed on %.*s", method, (int)plen,
              path);
#undef IS
}
