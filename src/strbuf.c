/* strbuf.c - a growable byte string. */
#include "strbuf.h"

#include "tokenizer_impl.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

int sb_add(strbuf *b, const char *s, size_t n) {
    if (n > SIZE_MAX - b->n - 1) return seek_error("out of memory (string of %zu bytes)", n);
    if (seek_reserve(&b->s, &b->cap, b->n + n + 1, 1, 64)) return -1;
    if (n) memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = 0;
    return 0;
}

int sb_adds(strbuf *b, const char *s) { return sb_add(b, s, strlen(s)); }

void sb_consume(strbuf *b, size_t n) {
    if (n >= b->n) {
        sb_clear(b);
        return;
    }
    memmove(b->s, b->s + n, b->n - n);
    b->n -= n;
    b->s[b->n] = 0;
}

void sb_clear(strbuf *b) {
    b->n = 0;
    if (b->s) b->s[0] = 0;
}

void sb_free(strbuf *b) {
    free(b->s);
    b->s = NULL;
    b->n = b->cap = 0;
}

char *sb_take(strbuf *b, size_t *len) {
    char *s = b->s;
    size_t n = b->n;
    if (!s) s = seek_strdup("");
    b->s = NULL;
    b->n = b->cap = 0;
    if (len && s) *len = n;
    return s;
}

int sb_add_utf8(strbuf *b, const char *s, size_t n) {
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0;
    while (i < n) {
        size_t ok = tok_utf8_valid_prefix(u + i, n - i);
        if (sb_add(b, s + i, ok)) return -1;
        i += ok;
        if (i < n) {
            if (sb_add(b, "\xEF\xBF\xBD", 3)) return -1;
            i++;
        }
    }
    return 0;
}
