/* unicode_nfc.c - NFC normalisation (placeholder: copies the text). */
#include <string.h>

#include "tokenizer_impl.h"
#include "util.h"

char *tok_nfc(const char *s, size_t len, size_t *out_len) {
    char *o = seek_malloc(len + 1);
    if (!o) return NULL;
    memcpy(o, s, len);
    o[len] = 0;
    *out_len = len;
    return o;
}
