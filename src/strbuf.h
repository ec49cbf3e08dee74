/* strbuf.h - a growable byte string (always NUL-terminated when non-empty).
 *
 * Used by the chat renderer, the stop-string matcher and the reasoning splitter,
 * which all build text piece by piece. Zero-initialise; free with sb_free. */
#ifndef SEEK_STRBUF_H
#define SEEK_STRBUF_H

#include <stddef.h>

typedef struct {
    char *s;       /* NULL until the first append */
    size_t n, cap; /* n bytes used (without the NUL) */
} strbuf;

/* Append n bytes / a C string. Return 0, or -1 (out of memory, error set). */
int sb_add(strbuf *b, const char *s, size_t n);
int sb_adds(strbuf *b, const char *s);
/* Append n bytes of text, each byte that is not part of valid UTF-8 replaced by
 * U+FFFD (for JSON and other consumers that require valid UTF-8). */
int sb_add_utf8(strbuf *b, const char *s, size_t n);
/* Drop the first n bytes (n <= b->n). */
void sb_consume(strbuf *b, size_t n);
void sb_clear(strbuf *b);
void sb_free(strbuf *b);
/* Give the buffer away as a heap string ("" if empty); the strbuf is left empty. */
char *sb_take(strbuf *b, size_t *len);

#endif
