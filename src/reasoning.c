/* reasoning.c - the streaming <think>...</think> splitter (see reasoning.h).
 *
 * States:
 *   START     output so far is whitespace or a prefix of "<think>": undecided
 *   THINKING  inside the reasoning; watching for "</think>"
 *   ANSWER    everything else is content
 * `pend` holds the undecided bytes: in START all of the output so far, in
 * THINKING a trailing whitespace run plus a possible partial "</think>".
 */
#include "reasoning.h"

#include <string.h>

enum { START, THINKING, ANSWER };

static const char OPEN[] = "<think>", CLOSE[] = "</think>";
#define OPEN_LEN (sizeof OPEN - 1)
#define CLOSE_LEN (sizeof CLOSE - 1)

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

void reasoning_init(reasoning_parser *p, bool start_thinking, reasoning_emit emit, void *ud) {
    memset(p, 0, sizeof *p);
    p->state = start_thinking ? THINKING : START;
    p->opened = start_thinking;
    p->section_start = true;
    p->emit = emit;
    p->ud = ud;
}

void reasoning_free(reasoning_parser *p) { sb_free(&p->pend); }

bool reasoning_in_thought(const reasoning_parser *p) { return p->state == THINKING; }

/* Emit text of the current section, dropping its leading whitespace. */
static void out(reasoning_parser *p, bool reasoning, const char *s, size_t n) {
    if (p->section_start) {
        while (n && is_ws(*s)) s++, n--;
        if (!n) return;
        p->section_start = false;
    }
    if (n && p->emit) p->emit(p->ud, reasoning, s, n);
}

static void enter(reasoning_parser *p, int state) {
    p->state = state;
    p->section_start = true;
}

/* Longest suffix of s[0..n) that is a proper prefix of tag. */
static size_t partial_tag(const char *s, size_t n, const char *tag, size_t tag_len) {
    size_t k = n < tag_len - 1 ? n : tag_len - 1;
    for (; k > 0; k--)
        if (!memcmp(s + n - k, tag, k)) return k;
    return 0;
}

/* Process pend as far as it can be decided. */
static void step(reasoning_parser *p) {
    for (;;) {
        char *s = p->pend.s;
        size_t n = p->pend.n;
        if (n == 0) return;
        if (p->state == START) {
            size_t i = 0;
            while (i < n && is_ws(s[i])) i++;
            size_t rest = n - i, cmp = rest < OPEN_LEN ? rest : OPEN_LEN;
            if (memcmp(s + i, OPEN, cmp) != 0) { /* not a <think>: it is all content */
                enter(p, ANSWER);
                continue;
            }
            if (rest < OPEN_LEN) return; /* still a prefix of <think> */
            sb_consume(&p->pend, i + OPEN_LEN);
            p->opened = true;
            enter(p, THINKING);
            continue;
        }
        if (p->state == ANSWER) {
            out(p, false, s, n);
            sb_clear(&p->pend);
            return;
        }
        /* THINKING */
        const char *c = memmem(s, n, CLOSE, CLOSE_LEN);
        if (c) {
            size_t end = (size_t)(c - s);
            while (end && is_ws(s[end - 1])) end--; /* trailing whitespace of the reasoning */
            out(p, true, s, end);
            sb_consume(&p->pend, (size_t)(c - s) + CLOSE_LEN);
            p->closed = true;
            enter(p, ANSWER);
            continue;
        }
        size_t keep = partial_tag(s, n, CLOSE, CLOSE_LEN);
        size_t end = n - keep;
        while (end && is_ws(s[end - 1])) end--;
        out(p, true, s, end);
        sb_consume(&p->pend, end);
        return;
    }
}

int reasoning_feed(reasoning_parser *p, const char *s, size_t n) {
    if (!n) return 0;
    if (p->state == ANSWER && p->pend.n == 0 && !p->section_start) { /* fast path */
        if (p->emit) p->emit(p->ud, false, s, n);
        return 0;
    }
    if (sb_add(&p->pend, s, n)) return -1;
    step(p);
    return 0;
}

int reasoning_finish(reasoning_parser *p) {
    const char *s = p->pend.s;
    size_t n = p->pend.n;
    if (p->state == THINKING) { /* never closed: what is held is reasoning, minus trailing space */
        while (n && is_ws(s[n - 1])) n--;
        out(p, true, s, n);
    } else if (n) { /* START: a lone "<thi" or whitespace is content */
        out(p, false, s, n);
    }
    sb_clear(&p->pend);
    return 0;
}

bool reasoning_prompt_opens(const char *prompt, size_t len) {
    while (len && is_ws(prompt[len - 1])) len--;
    return len >= OPEN_LEN && !memcmp(prompt + len - OPEN_LEN, OPEN, OPEN_LEN);
}
