/* test_chat.c - chat templates against Jinja2 renderings of the real templates,
 * and context management with a fake token counter.
 *
 * tests/data/chat/rendered.json was produced by tests/data/chat/render.py from
 * the models' own templates (the .jinja files beside it) with Jinja2. */
#include "test.h"

#include <jansson.h>

#include "chat.h"
#include "util.h"

#define DIR "tests/data/chat/"

static json_t *load_rendered(void) {
    json_error_t e;
    json_t *j = json_load_file(DIR "rendered.json", 0, &e);
    if (!j) printf("  rendered.json: %s (line %d)\n", e.text, e.line);
    return j;
}

/* Build chat_msg[] from a JSON conversation (pointers into the JSON). */
static size_t conv_msgs(json_t *conv, chat_msg *out, size_t cap) {
    size_t n = 0, i;
    json_t *m;
    json_array_foreach(conv, i, m) {
        if (n == cap) break;
        out[n] = (chat_msg){0};
        out[n].role = (chat_role)chat_role_parse(json_string_value(json_object_get(m, "role")));
        out[n].content = json_string_value(json_object_get(m, "content"));
        out[n].reasoning = json_string_value(json_object_get(m, "reasoning_content"));
        n++;
    }
    return n;
}

static void show_diff(const char *got, const char *want) {
    size_t i = 0;
    while (got[i] && got[i] == want[i]) i++;
    size_t from = i > 40 ? i - 40 : 0;
    printf("  first difference at byte %zu\n  got:  \"%.80s\"\n  want: \"%.80s\"\n", i, got + from, want + from);
}

TEST(templates_match_jinja_byte_for_byte) {
    json_t *j = load_rendered();
    CHECK(j);
    json_t *tmpls = json_object_get(j, "templates"), *convs = json_object_get(j, "conversations");
    json_t *cases = json_object_get(j, "cases");
    CHECK(json_object_size(tmpls) >= 9 && json_array_size(cases) >= 300);
    size_t i, n_ok = 0, n_fail = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *name = json_string_value(json_object_get(c, "template"));
        json_t *tj = json_object_get(tmpls, name);
        char path[256];
        snprintf(path, sizeof path, DIR "%s", json_string_value(json_object_get(tj, "file")));
        char *src = seek_read_file(path, NULL);
        CHECK_MSG(src, "%s", seek_last_error());
        chat_template t;
        CHECK(chat_template_init(&t, src, json_string_value(json_object_get(tj, "bos")),
                                 json_string_value(json_object_get(tj, "eos"))) == 0);
        free(src);
        const char *want_fmt = json_string_value(json_object_get(tj, "format"));
        if (strcmp(chat_format_name(t.format), want_fmt)) {
            chat_template_free(&t);
            json_decref(j);
            FAILF("%s recognised as %s, expected %s", name, chat_format_name(t.format), want_fmt);
        }
        chat_msg msgs[16];
        size_t nm = conv_msgs(json_array_get(convs, (size_t)json_integer_value(json_object_get(c, "conversation"))),
                              msgs, 16);
        chat_render_opts o = {
            .add_generation_prompt = json_is_true(json_object_get(c, "add_generation_prompt")),
            .thinking = (int)json_integer_value(json_object_get(c, "thinking")),
        };
        size_t len;
        char *got = chat_render(&t, msgs, nm, &o, &len);
        const char *want = json_string_value(json_object_get(c, "text"));
        if (got && len == strlen(want) && !memcmp(got, want, len)) n_ok++;
        else {
            if (n_fail++ < 5) {
                printf("  %s conversation %lld agp=%d thinking=%d:\n", name,
                       (long long)json_integer_value(json_object_get(c, "conversation")), o.add_generation_prompt,
                       o.thinking);
                if (got) show_diff(got, want);
            }
        }
        free(got);
        chat_template_free(&t);
    }
    json_decref(j);
    CHECK_MSG(n_fail == 0, "%zu of %zu renderings differ", n_fail, n_ok + n_fail);
}

TEST(generic_fallback_is_reported) {
    chat_template t;
    CHECK(chat_template_init(&t, NULL, "<s>", "</s>") == 0);
    CHECK(t.format == CHAT_FMT_GENERIC);
    CHECK(strstr(chat_template_describe(&t), "not recognised"));
    chat_msg m[] = {{CHAT_SYSTEM, "S", NULL, NULL, 0}, {CHAT_USER, "U", NULL, NULL, 0}};
    chat_render_opts o = {.add_generation_prompt = true, .thinking = -1};
    char *s = chat_render(&t, m, 2, &o, NULL);
    CHECK_STR(s, "<s>S<\xef\xbd\x9cUser\xef\xbd\x9c>U<\xef\xbd\x9c" "Assistant\xef\xbd\x9c>");
    free(s);
    chat_template_free(&t);
    /* a template we do not know */
    CHECK(chat_template_init(&t, "{% for m in messages %}<|im_start|>{{ m.content }}{% endfor %}", NULL, NULL) == 0);
    CHECK(t.format == CHAT_FMT_GENERIC && t.bos[0] == 0);
    chat_template_free(&t);
    /* bad role */
    CHECK(chat_template_init(&t, NULL, "", "") == 0);
    chat_msg bad[] = {{(chat_role)7, "x", NULL, NULL, 0}};
    CHECK(chat_render(&t, bad, 1, &o, NULL) == NULL);
    chat_template_free(&t);
    CHECK(chat_role_parse("tool") == -1 && chat_role_parse("assistant") == CHAT_ASSISTANT);
}

/* Fake tokenizer: one token per byte. */
static long count_bytes(void *ud, const char *text, size_t len) {
    (void)text;
    int *calls = ud;
    (*calls)++;
    return (long)len;
}

TEST(context_fit_drops_oldest_turns) {
    chat_template t;
    CHECK(chat_template_init(&t, NULL, "", "") == 0);
    t.flags = CHAT_SYS_JOIN;
    /* With empty bos, the generic format costs: system text, 10 bytes per
     * <｜User｜>/<｜Assistant｜>-ish tag... measure instead of assuming. */
    chat_msg m[] = {
        {CHAT_SYSTEM, "SYS", NULL, NULL, 0},
        {CHAT_USER, "first question", NULL, NULL, 0}, {CHAT_ASSISTANT, "first answer", NULL, NULL, 0},
        {CHAT_USER, "second question", NULL, NULL, 0}, {CHAT_ASSISTANT, "second answer", NULL, NULL, 0},
        {CHAT_USER, "third", NULL, NULL, 0},
    };
    size_t n = 6;
    chat_render_opts o = {.add_generation_prompt = true, .thinking = -1};
    size_t full, from3, from5;
    char *s = chat_render(&t, m, n, &o, &full);
    free(s);
    o.keep_from = 3;
    free(chat_render(&t, m, n, &o, &from3));
    o.keep_from = 5;
    free(chat_render(&t, m, n, &o, &from5));
    o.keep_from = 0;
    CHECK(full > from3 && from3 > from5);

    int calls = 0;
    chat_fit_result r;
    /* fits: nothing dropped */
    CHECK(chat_fit(&t, m, n, &o, (long)full, false, count_bytes, &calls, &r) == 0);
    CHECK(r.keep_from == 0 && r.n_tokens == (long)full && r.n_dropped == 0);
    /* one token short, no dropping: a clear error with both numbers */
    CHECK(chat_fit(&t, m, n, &o, (long)full - 1, false, count_bytes, &calls, &r) == -1);
    char want[200];
    snprintf(want, sizeof want, "needs %zu tokens but the context has room for %zu", full, full - 1);
    CHECK_MSG(strstr(seek_last_error(), want), "%s", seek_last_error());
    /* dropping: the first turn goes (user + assistant), the system prompt stays */
    CHECK(chat_fit(&t, m, n, &o, (long)full - 1, true, count_bytes, &calls, &r) == 0);
    CHECK(r.keep_from == 3 && r.n_tokens == (long)from3 && r.n_dropped == 2);
    o.keep_from = r.keep_from;
    s = chat_render(&t, m, n, &o, NULL);
    CHECK(s && !strncmp(s, "SYS", 3) && !strstr(s, "first") && strstr(s, "second question"));
    free(s);
    o.keep_from = 0;
    /* two turns go */
    CHECK(chat_fit(&t, m, n, &o, (long)from3 - 1, true, count_bytes, &calls, &r) == 0);
    CHECK(r.keep_from == 5 && r.n_dropped == 4 && r.n_tokens == (long)from5);
    /* even the last turn does not fit */
    CHECK(chat_fit(&t, m, n, &o, (long)from5 - 1, true, count_bytes, &calls, &r) == -1);
    CHECK(strstr(seek_last_error(), "last message need"));
    chat_template_free(&t);
}

static long count_fails(void *ud, const char *text, size_t len) {
    (void)ud, (void)text, (void)len;
    seek_error("tokenizer: broken");
    return -1;
}

TEST(context_fit_counter_error) {
    chat_template t;
    CHECK(chat_template_init(&t, NULL, "", "") == 0);
    chat_msg m[] = {{CHAT_USER, "q", NULL, NULL, 0}};
    chat_render_opts o = {.add_generation_prompt = true, .thinking = -1};
    chat_fit_result r;
    CHECK(chat_fit(&t, m, 1, &o, 100, true, count_fails, NULL, &r) == -1);
    CHECK(strstr(seek_last_error(), "broken"));
    chat_template_free(&t);
}

int main(void) {
    RUN(templates_match_jinja_byte_for_byte);
    RUN(generic_fallback_is_reported);
    RUN(context_fit_drops_oldest_turns);
    RUN(context_fit_counter_error);
    return test_summary();
}
