/* test_toolcall.c - the tool-call markup parser (src/server/toolcall.c) and the
 * tool-call rendering of the chat templates (src/chat.c). The expected markup is
 * the format written out in DeepSeek's published templates and model cards. */
#include "test.h"

#include "chat.h"
#include "server/toolcall.h"
#include "strbuf.h"

#define CALLS_B "<｜tool▁calls▁begin｜>"
#define CALLS_E "<｜tool▁calls▁end｜>"
#define CALL_B "<｜tool▁call▁begin｜>"
#define CALL_E "<｜tool▁call▁end｜>"
#define SEP "<｜tool▁sep｜>"

/* What the parser reported, as one string: text as is, calls as [name](args). */
typedef struct { strbuf out; int calls; } seen;
static void on_emit(void *ud, int kind, int index, const char *s, size_t n) {
    seen *k = ud;
    (void)index;
    if (kind == TC_CALL) {
        if (k->calls++) sb_adds(&k->out, ")");
        sb_adds(&k->out, "[");
        sb_add(&k->out, s, n);
        sb_adds(&k->out, "](");
    } else sb_add(&k->out, s, n);
}

/* Parse `text` fed in pieces of `step` bytes. */
static char *parse(const char *text, size_t step) {
    seen k = {0};
    tc_parser p;
    tc_init(&p, on_emit, &k);
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i += step) tc_feed(&p, text + i, i + step < n ? step : n - i);
    tc_finish(&p);
    tc_free(&p);
    if (k.calls) sb_adds(&k.out, ")");
    return sb_take(&k.out, NULL);
}

TEST(parse_v31_any_split) {
    const char *t = "Let me look." CALLS_B CALL_B "get_weather" SEP "{\"city\": \"Paris\"}" CALL_E CALL_B "time" SEP "{}" CALL_E CALLS_E;
    for (size_t step = 1; step <= 40; step++) {
        char *s = parse(t, step);
        CHECK_MSG(!strcmp(s, "Let me look.[get_weather]({\"city\": \"Paris\"})[time]({})"), "step %zu: %s", step, s);
        free(s);
    }
}

TEST(parse_v3_fenced) {
    const char *t = CALLS_B CALL_B "function" SEP "get_weather\n```json\n{\"city\": \"Paris\"}\n```" CALL_E "\n" CALL_B
                    "function" SEP "time\n```json\n{}\n```" CALL_E CALLS_E;
    for (size_t step = 1; step <= 9; step += 4) {
        char *s = parse(t, step);
        CHECK_MSG(!strcmp(s, "[get_weather]({\"city\": \"Paris\"})[time]({})"), "step %zu: %s", step, s);
        free(s);
    }
}

TEST(parse_plain_text_and_lookalikes) {
    char *s = parse("a <｜tool not a marker <｜tool▁calls▁beg", 1);
    CHECK_STR(s, "a <｜tool not a marker <｜tool▁calls▁beg");   /* released at the end */
    free(s);
    s = parse(CALLS_B CALL_B "f" SEP "{\"a\":", 3);   /* cut off by max_tokens: what there is */
    CHECK_STR(s, "[f]({\"a\":)");
    free(s);
}

TEST(render_tool_calls) {
    chat_template v31, r1;
    char *j31 = "<｜User｜><｜Assistant｜><think></think> is_last_user";
    char *jr1 = "<｜User｜><｜Assistant｜><think>\\n ns.system_prompt </think> split('</think>')";
    CHECK(chat_template_init(&v31, j31, "<B>", "<E>") == 0 && v31.format == CHAT_FMT_DEEPSEEK_V3_1);
    CHECK(chat_template_init(&r1, jr1, "<B>", "<E>") == 0 && r1.format == CHAT_FMT_DEEPSEEK_R1);
    chat_tool_call call = {"get_weather", "{\"city\": \"Paris\"}"};
    chat_msg m[] = {{CHAT_USER, "Weather?", NULL, NULL, 0}, {CHAT_ASSISTANT, "", NULL, &call, 1},
                    {CHAT_TOOL, "sunny", NULL, NULL, 0}};
    chat_render_opts o = {.add_generation_prompt = true, .thinking = 0};
    char *s = chat_render(&v31, m, 3, &o, NULL);
    CHECK_STR(s, "<B><｜User｜>Weather?<｜Assistant｜><think></think>" CALLS_B CALL_B "get_weather" SEP "{\"city\": \"Paris\"}"
                 CALL_E CALLS_E "<｜end▁of▁sentence｜><｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜>");
    free(s);
    s = chat_render(&r1, m, 3, &o, NULL);
    CHECK_STR(s, "<B><｜User｜>Weather?<｜Assistant｜>" CALLS_B CALL_B "function" SEP "get_weather\n```json\n{\"city\": \"Paris\"}\n```"
                 CALL_E CALLS_E "<｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜>"
                 "<｜tool▁outputs▁end｜>");
    free(s);
    chat_template_free(&v31);
    chat_template_free(&r1);
}

int main(void) {
    RUN(parse_v31_any_split);
    RUN(parse_v3_fenced);
    RUN(parse_plain_text_and_lookalikes);
    RUN(render_tool_calls);
    return test_summary();
}
