/* toolcall.c - parse the model's tool-call markup; describe tools (see toolcall.h). */
#include "server/toolcall.h"

#include <stdlib.h>
#include <string.h>

#define CALLS_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define CALLS_END "<\xef\xbd\x9ctool\xe2\x96\x81" "calls\xe2\x96\x81" "end\xef\xbd\x9c>"
#define CALL_BEGIN "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "begin\xef\xbd\x9c>"
#define CALL_END "<\xef\xbd\x9ctool\xe2\x96\x81" "call\xe2\x96\x81" "end\xef\xbd\x9c>"
#define SEP "<\xef\xbd\x9ctool\xe2\x96\x81" "sep\xef\xbd\x9c>"

enum {
    S_TEXT,    /* answer text, watching for CALLS_BEGIN */
    S_CALLS,   /* between calls: CALL_BEGIN or CALLS_END next */
    S_NAME,    /* up to SEP: the name (v3.1) or "function" (v3/r1) */
    S_V3NAME,  /* v3/r1: the name, up to the newline */
    S_ARGS,    /* v3.1 arguments, streamed, up to CALL_END */
    S_V3ARGS,  /* v3/r1: ```json\nARGS\n``` up to CALL_END, given whole */
    S_DONE,    /* after CALLS_END: the rest is dropped */
};

enum { MAX_NAME = 256 };

void tc_init(tc_parser *p, tc_emit emit, void *ud) {
    memset(p, 0, sizeof *p);
    p->emit = emit;
    p->ud = ud;
}

void tc_free(tc_parser *p) { sb_free(&p->pend); }

/* Length of the longest end of s[0..n) that is a proper start of marker m. */
static size_t partial(const char *s, size_t n, const char *m) {
    size_t ml = strlen(m);
    for (size_t k = ml - 1 < n ? ml - 1 : n; k > 0; k--)
        if (!memcmp(s + n - k, m, k)) return k;
    return 0;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* s[0..n) is the start of marker m (n may be 0). */
static bool prefix_of(const char *s, size_t n, const char *m) { return n < strlen(m) && !memcmp(s, m, n); }

static const char *find(const char *s, size_t n, const char *m) { return memmem(s, n, m, strlen(m)); }

static bool starts(const char *s, size_t n, const char *m) {
    size_t ml = strlen(m);
    return n >= ml && !memcmp(s, m, ml);
}

static void emit_trimmed(tc_parser *p, int kind, const char *s, size_t n) {
    while (n && is_ws(*s)) s++, n--;
    while (n && is_ws(s[n - 1])) n--;
    p->emit(p->ud, kind, p->index, s, n);
}

/* v3/r1 arguments: strip the ```json fence around them. */
static void emit_fenced(tc_parser *p, const char *s, size_t n) {
    while (n && is_ws(*s)) s++, n--;
    if (starts(s, n, "```json")) s += 7, n -= 7;
    else if (starts(s, n, "```")) s += 3, n -= 3;
    while (n && is_ws(s[n - 1])) n--;
    if (n >= 3 && !memcmp(s + n - 3, "```", 3)) n -= 3;
    emit_trimmed(p, TC_ARGS, s, n);
}

/* Decide as much of p->pend as possible. */
static void step(tc_parser *p, bool final) {
    for (;;) {
        const char *s = p->pend.s ? p->pend.s : "";
        size_t n = p->pend.n, used = 0;
        const char *at;
        switch (p->state) {
        case S_TEXT:
            if ((at = find(s, n, CALLS_BEGIN))) {
                if (at > s) p->emit(p->ud, TC_TEXT, 0, s, (size_t)(at - s));
                used = (size_t)(at - s) + strlen(CALLS_BEGIN);
                p->state = S_CALLS;
            } else {
                size_t keep = final ? 0 : partial(s, n, CALLS_BEGIN);
                if (n > keep) p->emit(p->ud, TC_TEXT, 0, s, n - keep);
                used = n - keep;
            }
            break;
        case S_CALLS:
            while (used < n && is_ws(s[used])) used++;
            if (starts(s + used, n - used, CALL_BEGIN)) {
                used += strlen(CALL_BEGIN);
                p->state = S_NAME;
            } else if (starts(s + used, n - used, CALLS_END)) {
                used += strlen(CALLS_END);
                p->state = S_DONE;
            } else if (!final && (prefix_of(s + used, n - used, CALL_BEGIN) || prefix_of(s + used, n - used, CALLS_END))) {
                sb_consume(&p->pend, used);   /* a marker may be arriving */
                return;
            } else p->state = S_DONE;   /* anything else: the calls are over */
            break;
        case S_NAME:
            if ((at = find(s, n, SEP))) {
                size_t len = (size_t)(at - s);
                used = len + strlen(SEP);
                if (len == 8 && !memcmp(s, "function", 8)) p->state = S_V3NAME;
                else {
                    emit_trimmed(p, TC_CALL, s, len);
                    p->state = S_ARGS;
                }
            } else if (final || n > MAX_NAME) {
                p->state = S_DONE;   /* not a call after all */
                used = n;
            }
            break;
        case S_V3NAME:
            if ((at = memchr(s, '\n', n))) {
                emit_trimmed(p, TC_CALL, s, (size_t)(at - s));
                used = (size_t)(at - s) + 1;
                p->state = S_V3ARGS;
            } else if (final || n > MAX_NAME) {
                emit_trimmed(p, TC_CALL, s, n);
                p->index++;
                used = n;
                p->state = S_DONE;
            }
            break;
        case S_ARGS:
            if ((at = find(s, n, CALL_END))) {
                if (at > s) p->emit(p->ud, TC_ARGS, p->index, s, (size_t)(at - s));
                used = (size_t)(at - s) + strlen(CALL_END);
                p->index++;
                p->state = S_CALLS;
            } else {
                size_t keep = final ? 0 : partial(s, n, CALL_END);
                if (n > keep) p->emit(p->ud, TC_ARGS, p->index, s, n - keep);
                used = n - keep;
                if (final) p->index++, p->state = S_DONE;
            }
            break;
        case S_V3ARGS:
            if ((at = find(s, n, CALL_END))) {
                emit_fenced(p, s, (size_t)(at - s));
                used = (size_t)(at - s) + strlen(CALL_END);
                p->index++;
                p->state = S_CALLS;
            } else if (final) {
                emit_fenced(p, s, n);
                used = n;
                p->index++;
                p->state = S_DONE;
            }
            break;
        case S_DONE:
            used = n;
            break;
        }
        if (used == 0) return;
        sb_consume(&p->pend, used);
    }
}

int tc_feed(tc_parser *p, const char *s, size_t n) {
    if (sb_add(&p->pend, s, n)) return -1;
    step(p, false);
    return 0;
}

int tc_finish(tc_parser *p) {
    step(p, true);
    sb_clear(&p->pend);
    return 0;
}

/* ---- tools -> system prompt ----
 * The layout of DeepSeek's model cards: a "## Tools" section listing each
 * function with its description and JSON-schema parameters, then the exact
 * markup a call must use. */
char *tools_describe(const json_t *tools, bool v31, const char *choice) {
    strbuf b = {0};
    int e = sb_adds(&b, "## Tools\nYou have access to the following tools:\n");
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *f = json_object_get(t, "function");
        const char *name = json_string_value(json_object_get(f, "name"));
        const char *desc = json_string_value(json_object_get(f, "description"));
        json_t *params = json_object_get(f, "parameters");
        char *ps = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        e |= sb_adds(&b, "\n### ");
        e |= sb_adds(&b, name ? name : "");
        e |= sb_adds(&b, "\nDescription: ");
        e |= sb_adds(&b, desc ? desc : "");
        e |= sb_adds(&b, "\n\nParameters: ");
        e |= sb_adds(&b, ps ? ps : "{}");
        e |= sb_adds(&b, "\n");
        free(ps);
    }
    e |= sb_adds(&b, "\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n");
    if (v31)
        e |= sb_adds(&b, CALLS_BEGIN CALL_BEGIN "tool_call_name" SEP "tool_call_arguments" CALL_END
                         "{{additional_tool_calls}}" CALLS_END "\n");
    else
        e |= sb_adds(&b, CALLS_BEGIN CALL_BEGIN "function" SEP "tool_call_name\n```json\ntool_call_arguments\n```"
                         CALL_END "{{additional_tool_calls}}" CALLS_END "\n");
    e |= sb_adds(&b, "\nWhere:\n- `tool_call_name` must be an exact match to one of the available tools\n"
                     "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n"
                     "- For multiple tool calls, chain them directly without separators or spaces\n");
    if (choice && !strcmp(choice, "required")) e |= sb_adds(&b, "\nYou must call at least one tool.\n");
    else if (choice && strcmp(choice, "auto")) {
        e |= sb_adds(&b, "\nYou must call the tool `");
        e |= sb_adds(&b, choice);
        e |= sb_adds(&b, "`.\n");
    }
    if (e) {
        sb_free(&b);
        return NULL;
    }
    return sb_take(&b, NULL);
}
