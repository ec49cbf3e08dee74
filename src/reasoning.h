/* reasoning.h - split a streamed answer into reasoning (<think>...</think>) and content.
 *
 * DeepSeek's reasoning models write their chain of thought between <think> and
 * </think>, then the answer. The parser takes the decoded text in whatever
 * pieces it arrives (tags may be cut at any byte) and reports each piece of
 * text as reasoning or content as soon as it is certain which it is:
 *
 *   - start_thinking: the prompt already opened <think> (R1's generation prompt
 *     ends in "<think>\n"; see reasoning_prompt_opens), so the output starts
 *     inside the reasoning. Otherwise a <think> is recognised only at the very
 *     start of the output (after whitespace); anywhere else it is content.
 *   - </think> ends the reasoning; later tags are plain content.
 *   - A reasoning that never closes stays reasoning to the end (closed = false).
 *   - Whitespace is trimmed at the start of the reasoning and of the content,
 *     and at the end of the reasoning (R1 writes "\n</think>\n\n").
 *
 * Text that may be the beginning of a tag, or trailing whitespace of the
 * reasoning, is held back until the next piece decides it.
 */
#ifndef SEEK_REASONING_H
#define SEEK_REASONING_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Called with each decided piece of text (n > 0). */
typedef void (*reasoning_emit)(void *ud, bool is_reasoning, const char *s, size_t n);

typedef struct {
    int state;          /* see reasoning.c */
    bool section_start; /* leading whitespace of the current section is dropped */
    bool opened;        /* a reasoning section was entered */
    bool closed;        /* ... and ended with </think> */
    strbuf pend;        /* undecided text */
    reasoning_emit emit;
    void *ud;
} reasoning_parser;

void reasoning_init(reasoning_parser *p, bool start_thinking, reasoning_emit emit, void *ud);
void reasoning_free(reasoning_parser *p);
/* Feed a piece of text. 0, or -1 (out of memory). */
int reasoning_feed(reasoning_parser *p, const char *s, size_t n);
/* End of the output: release what is held. 0, or -1. */
int reasoning_finish(reasoning_parser *p);
/* True while the parser is inside the reasoning (for dim display). */
bool reasoning_in_thought(const reasoning_parser *p);

/* Does a rendered prompt leave a <think> open (it ends with "<think>" plus
 * optional whitespace)? Then generation starts inside the reasoning. */
bool reasoning_prompt_opens(const char *prompt, size_t len);

#endif
