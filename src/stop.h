/* stop.h - when to stop generating: stop tokens and stop strings.
 *
 * Stop tokens (EOS and the template's end-of-turn tokens) are checked on ids
 * before detokenising: the token itself is never shown.
 *
 * Stop strings are checked on the streamed text. Because a stop string can
 * arrive split over several tokens ("\n\nUs" + "er:"), text that might be the
 * start of a stop string is held back until it either completes the stop string
 * (it is then dropped, with everything after it) or stops matching (it is then
 * released). The text shown is therefore always exactly the text before the
 * first occurrence of any stop string.
 */
#ifndef SEEK_STOP_H
#define SEEK_STOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/* A small set of token ids. Zero-initialise; free with stop_tokens_free. */
typedef struct {
    int32_t *ids;
    size_t n, cap;
} stop_tokens;
/* Add an id (ignored if < 0 or already present). 0, or -1 out of memory. */
int stop_tokens_add(stop_tokens *st, int32_t id);
bool stop_tokens_has(const stop_tokens *st, int32_t id);
void stop_tokens_free(stop_tokens *st);

typedef struct {
    char **strs;     /* the stop strings (copies; empty ones are skipped) */
    size_t *lens;
    size_t n;
    strbuf held;     /* text that may be the start of a stop string */
    bool stopped;    /* a stop string was seen; further text is ignored */
} stop_matcher;

/* Zero-initialised or after stop_free, `m` takes copies of the strings.
 * 0, or -1 out of memory. */
int stop_init(stop_matcher *m, const char *const *stops, size_t n);
void stop_free(stop_matcher *m);
/* Forget held text and the stopped state (a new answer), keep the strings. */
void stop_reset(stop_matcher *m);

/* Feed n bytes of streamed text; append to `out` what can be shown now.
 * Returns 1 when a stop string has completed (out has received the text before
 * it; the rest is dropped), 0 otherwise, -1 out of memory. */
int stop_feed(stop_matcher *m, const char *s, size_t n, strbuf *out);
/* Generation ended: release the held text into out (up to a stop string in it). */
int stop_flush(stop_matcher *m, strbuf *out);

#endif
