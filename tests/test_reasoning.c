/* test_reasoning.c - the streaming <think> splitter, fed texts cut at every byte
 * (and every pair of bytes), compared with a whole-text reference split. */
#include "test.h"

#include "reasoning.h"
#include "strbuf.h"

typedef struct {
    strbuf r, c;
    int order_bad; /* reasoning arrived after content */
} sink;

static void collect(void *ud, bool is_reasoning, const char *s, size_t n) {
    sink *k = ud;
    if (is_reasoning && k->c.n) k->order_bad = 1;
    sb_add(is_reasoning ? &k->r : &k->c, s, n);
}

static bool ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Reference: the whole text at once, written from the rules in reasoning.h. */
static void ref_split(const char *t, bool start_thinking, strbuf *r, strbuf *c, bool *closed) {
    size_t n = strlen(t), i = 0;
    *closed = false;
    if (!start_thinking) {
        while (i < n && ws(t[i])) i++;
        if (strncmp(t + i, "<think>", 7) != 0) {
            sb_add(c, t + i, n - i);
            return;
        }
        t += i + 7;
        n -= i + 7;
    }
    const char *e = strstr(t, "</think>");
    size_t rend = e ? (size_t)(e - t) : n, a = 0;
    while (a < rend && ws(t[a])) a++;
    while (rend > a && ws(t[rend - 1])) rend--;
    sb_add(r, t + a, rend - a);
    if (e) {
        *closed = true;
        const char *rest = e + 8;
        while (ws(*rest)) rest++;
        sb_adds(c, rest);
    }
}

static int same(const strbuf *a, const strbuf *b) {
    return a->n == b->n && (a->n == 0 || !memcmp(a->s, b->s, a->n));
}

static int run_cuts(const char *text, bool start_thinking, size_t c1, size_t c2) {
    strbuf wr = {0}, wc = {0};
    bool closed;
    ref_split(text, start_thinking, &wr, &wc, &closed);
    sink k = {0};
    reasoning_parser p;
    reasoning_init(&p, start_thinking, collect, &k);
    size_t n = strlen(text), cuts[4] = {0, c1, c2, n};
    for (int i = 0; i < 3; i++) reasoning_feed(&p, text + cuts[i], cuts[i + 1] - cuts[i]);
    reasoning_finish(&p);
    int ok = same(&k.r, &wr) && same(&k.c, &wc) && !k.order_bad && p.closed == closed;
    if (!ok)
        printf("  \"%s\" start=%d cuts %zu,%zu: reasoning \"%.*s\" content \"%.*s\" closed=%d "
               "(want \"%.*s\" / \"%.*s\" / %d)\n",
               text, start_thinking, c1, c2, (int)k.r.n, k.r.s ? k.r.s : "", (int)k.c.n, k.c.s ? k.c.s : "",
               p.closed, (int)wr.n, wr.s ? wr.s : "", (int)wc.n, wc.s ? wc.s : "", closed);
    reasoning_free(&p);
    sb_free(&k.r);
    sb_free(&k.c);
    sb_free(&wr);
    sb_free(&wc);
    return ok;
}

static const char *texts[] = {
    "<think>\nLet me think.\n</think>\n\nThe answer is 4.",
    "  <think>a</think>b",
    "no think here <think>x</think>",
    "Reasoning without open</think>Answer",
    "never closed reasoning < / </thin",
    "<think>unclosed  \n",
    "<thi",
    "",
    "\n\n",
    "<think></think>",
    "<think>a</think>b</think>c",
    "<think>\xe6\x80\x9d\xe8\x80\x83 \xf0\x9f\xa4\x94</think>\n\xe7\xad\x94\xe6\xa1\x88",
    "</think>",
    "<<think>>",
    "<think>x</ think></think>y",
    "<think> a \n b </think> c \n d ",
};

TEST(cut_at_every_byte_pair) {
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        size_t n = strlen(texts[t]);
        for (int st = 0; st < 2; st++)
            for (size_t a = 0; a <= n; a++)
                for (size_t b = a; b <= n; b++) CHECK(run_cuts(texts[t], st, a, b));
    }
}

TEST(byte_by_byte_and_known_values) {
    const char *t = "<think>\nStep 1.\nStep 2.\n</think>\n\nFour.";
    sink k = {0};
    reasoning_parser p;
    reasoning_init(&p, false, collect, &k);
    bool was_thinking = false;
    for (size_t i = 0; t[i]; i++) {
        reasoning_feed(&p, t + i, 1);
        was_thinking |= reasoning_in_thought(&p);
    }
    reasoning_finish(&p);
    CHECK(was_thinking && !reasoning_in_thought(&p));
    CHECK_STR(k.r.s, "Step 1.\nStep 2.");
    CHECK_STR(k.c.s, "Four.");
    CHECK(p.opened && p.closed);
    reasoning_free(&p);
    sb_free(&k.r);
    sb_free(&k.c);

    /* R1: the prompt opened <think>; the model never closes it */
    k = (sink){0};
    reasoning_init(&p, true, collect, &k);
    reasoning_feed(&p, "Hmm, ", 5);
    reasoning_feed(&p, "wait</", 6);
    reasoning_feed(&p, "th", 2);
    reasoning_finish(&p);
    CHECK_STR(k.r.s, "Hmm, wait</th");
    CHECK(k.c.n == 0 && p.opened && !p.closed);
    reasoning_free(&p);
    sb_free(&k.r);
    sb_free(&k.c);
}

TEST(prompt_opens_think) {
    const char *yes[] = {"<｜Assistant｜><think>\n", "x<think>", "<think>  \n"};
    const char *no[] = {"<｜Assistant｜><think></think>", "<｜Assistant｜><think>\n</think>", "<｜Assistant｜>",
                        "</think>", "", "think>"};
    for (size_t i = 0; i < 3; i++) CHECK(reasoning_prompt_opens(yes[i], strlen(yes[i])));
    for (size_t i = 0; i < 6; i++) CHECK(!reasoning_prompt_opens(no[i], strlen(no[i])));
}

int main(void) {
    RUN(cut_at_every_byte_pair);
    RUN(byte_by_byte_and_known_values);
    RUN(prompt_opens_think);
    return test_summary();
}
