/* chat.h - chat templates: a conversation -> the prompt text the model expects.
 *
 * Each model ships a Jinja template (`tokenizer.chat_template` in GGUF,
 * `chat_template` in tokenizer_config.json). We do not interpret Jinja: we
 * recognise which known template it is by distinctive substrings and render
 * that format natively, byte for byte as the Jinja would (tests compare with
 * renderings made by Jinja2 from the real templates). Formats:
 *
 *   deepseek-v2       "User: ...\n\nAssistant: ...<eos>"      V2-Chat, V2-Lite-Chat
 *   deepseek-v2-0628  <｜User｜>/<｜Assistant｜>, system inline     V2-Chat-0628
 *   deepseek-v3       system first, <｜User｜>/<｜Assistant｜>       V3, V3-0324 (V2.5 family)
 *   deepseek-r1       as v3, generation prompt opens <think>\n,
 *                     earlier turns' reasoning dropped          R1, R1-Distill-Qwen/Llama
 *   deepseek-v3.1     <think></think> markers, thinking on/off  V3.1, V3.1-Terminus
 *   deepseek-v3.2     </think> markers, reasoning_content       V3.2
 *   deepseek-v4       as v3.2, consecutive users merged          V4
 *   llama3            <|start_header_id|>role<|end_header_id|>  Llama 3.x instruct
 *   generic           no or unknown template: the deepseek-v3 format, reported
 *
 * Tool calls and tool results (role CHAT_TOOL) are rendered for the deepseek-v3,
 * deepseek-r1 and deepseek-v3.1 formats, in the markup those models were trained
 * on (see render_tool_calls in chat.c for where we differ from quirks of the
 * published Jinja); the other formats refuse them. V4's reasoning_effort is not
 * rendered.
 */
#ifndef SEEK_CHAT_H
#define SEEK_CHAT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CHAT_SYSTEM, CHAT_USER, CHAT_ASSISTANT, CHAT_TOOL } chat_role;

/* A function call an assistant turn made: its name and arguments (a JSON text). */
typedef struct {
    const char *name;
    const char *arguments;
} chat_tool_call;

typedef struct {
    chat_role role;
    const char *content;   /* never NULL */
    const char *reasoning; /* an assistant turn's reasoning, or NULL (V3.2/V4 may render it) */
    const chat_tool_call *tool_calls; /* an assistant turn's calls (n_tool_calls of them) */
    size_t n_tool_calls;
} chat_msg;

typedef enum {
    CHAT_FMT_GENERIC,
    CHAT_FMT_DEEPSEEK_V2,
    CHAT_FMT_DEEPSEEK_V2_0628,
    CHAT_FMT_DEEPSEEK_V3,
    CHAT_FMT_DEEPSEEK_R1,
    CHAT_FMT_DEEPSEEK_V3_1,
    CHAT_FMT_DEEPSEEK_V3_2,
    CHAT_FMT_DEEPSEEK_V4,
    CHAT_FMT_LLAMA3,
} chat_format;

/* Details of the v3/r1 family that differ between template revisions. */
enum {
    CHAT_SYS_JOIN = 1 << 0,     /* system prompts joined with "\n\n" (else: the last one wins) */
    CHAT_STRIP_THINK = 1 << 1,  /* assistant history keeps only the text after the last </think> */
    CHAT_OPEN_THINK = 1 << 2,   /* generation prompt is <｜Assistant｜><think>\n */
    CHAT_THINK_SWITCH = 1 << 3, /* ... followed by </think> unless thinking is on */
};

typedef struct {
    chat_format format;
    unsigned flags;
    char *bos, *eos; /* the tokenizer's BOS / EOS strings ("" if none) */
} chat_template;

/* Recognise `jinja` (NULL or "" when the model has none) and keep copies of the
 * BOS/EOS strings (NULL = none). Unknown templates give CHAT_FMT_GENERIC.
 * Returns 0, or -1 (out of memory). Free with chat_template_free. */
int chat_template_init(chat_template *t, const char *jinja, const char *bos, const char *eos);
void chat_template_free(chat_template *t);

/* Short name ("deepseek-r1") and a one-line description for the user, which
 * says plainly when the template was not recognised. */
const char *chat_format_name(chat_format f);
const char *chat_template_describe(const chat_template *t);
bool chat_template_has_thinking_switch(const chat_template *t);
/* The text that ends an assistant turn (its token is a stop token). */
const char *chat_end_of_turn(const chat_template *t);

/* Can this format render tool calls and tool results? */
bool chat_template_has_tools(const chat_template *t);

/* "system" / "user" / "assistant" -> role; -1 if unknown ("tool" is the server's to accept). */
int chat_role_parse(const char *name);
const char *chat_role_name(chat_role r);

typedef struct {
    bool add_generation_prompt; /* end with the assistant's opening */
    int thinking;               /* -1 the template's default, 0 off, 1 on */
    size_t keep_from;           /* skip non-system messages before this index (see chat_fit) */
} chat_render_opts;

/* Render the conversation. Returns a heap string (length in *len if len), or
 * NULL (out of memory / bad role, error set). */
char *chat_render(const chat_template *t, const chat_msg *msgs, size_t n, const chat_render_opts *o,
                  size_t *len);

/* ---- context management ----
 * count(ud, text, len) returns the number of tokens of a rendered prompt, or -1. */
typedef long (*chat_count_fn)(void *ud, const char *text, size_t len);

typedef struct {
    size_t keep_from; /* pass to chat_render_opts.keep_from */
    long n_tokens;    /* tokens of the prompt rendered that way */
    size_t n_dropped; /* non-system messages left out */
} chat_fit_result;

/* Fit the prompt into `budget` tokens (context size minus room for the answer).
 * If the whole conversation fits: keep_from = 0. Otherwise, with drop_oldest,
 * the oldest whole turns are left out (a turn starts at a user message; system
 * messages are always kept) until it fits; without it, or when even the
 * system prompt and the last turn do not fit, returns -1 with a message saying
 * how many tokens are needed and how many fit. */
int chat_fit(const chat_template *t, const chat_msg *msgs, size_t n, const chat_render_opts *o,
             long budget, bool drop_oldest, chat_count_fn count, void *ud, chat_fit_result *res);

#endif
