/* toolcall.h - DeepSeek tool-call markup <-> OpenAI tool_calls.
 *
 * The model writes its calls after its answer text:
 *   v3.1     <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS<｜tool▁call▁end｜>...<｜tool▁calls▁end｜>
 *   v3 / r1  ...<｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>...
 * The parser takes the answer text in whatever pieces it streams in and reports
 * plain text, the start of each call (its name) and its arguments, as soon as
 * each is certain (a marker cut between pieces is held back until complete).
 * Both layouts are recognised whatever the template, so a model that writes
 * the other one is still understood.
 *
 * tools_describe renders the request's `tools` into the system-prompt text the
 * DeepSeek model cards describe ("## Tools" ... the call format).
 */
#ifndef SEEK_SERVER_TOOLCALL_H
#define SEEK_SERVER_TOOLCALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

enum { TC_TEXT, TC_CALL, TC_ARGS };

/* kind TC_TEXT: answer text; TC_CALL: call number `index` starts, s = its name;
 * TC_ARGS: more of call `index`'s arguments. */
typedef void (*tc_emit)(void *ud, int kind, int index, const char *s, size_t n);

typedef struct {
    int state;
    int index;      /* calls started so far */
    strbuf pend;    /* undecided text */
    tc_emit emit;
    void *ud;
} tc_parser;

void tc_init(tc_parser *p, tc_emit emit, void *ud);
void tc_free(tc_parser *p);
/* 0, or -1 out of memory */
int tc_feed(tc_parser *p, const char *s, size_t n);
/* End of the answer: release what is held (a cut-off call keeps what it has). */
int tc_finish(tc_parser *p);

/* The tools description for the system prompt (a heap string), from an
 * OpenAI `tools` array (already checked: objects with function.name). v31: the
 * V3.1 call layout, else V3/R1's. `choice`: NULL/"auto", "required", or the
 * name of the one function to call. NULL on out of memory. */
char *tools_describe(const json_t *tools, bool v31, const char *choice);

#endif
