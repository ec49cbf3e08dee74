/* fuzz_chat.c - libFuzzer harness for chat-template recognition and rendering. Input,
 * split at NUL bytes: a template, then messages whose first byte picks the role (and, for
 * assistants, whether the rest up to '\x01' is reasoning). Rendering must not overflow,
 * and chat_fit must terminate with a sane answer for any budget. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"

static long count_bytes(void *ud, const char *text, size_t len) {
    (void)ud; (void)text;
    return (long)len;
}

static int fuzz_chat_one(const uint8_t *data, size_t size) {
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    /* pieces: template, then up to 16 messages */
    char *piece[17];
    size_t n = 0, at = 0;
    while (n < 17) {
        piece[n++] = buf + at;
        char *z = memchr(buf + at, 0, size + 1 - at);
        if (!z || (size_t)(z - buf) >= size) break;
        at = (size_t)(z - buf) + 1;
    }
    chat_template t;
    if (chat_template_init(&t, piece[0], "<bos>", "<eos>")) { free(buf); return 0; }
    chat_msg msgs[16];
    size_t nm = 0;
    for (size_t i = 1; i < n; i++) {
        const char *p = piece[i];
        chat_role r = p[0] ? (chat_role)((unsigned char)p[0] % 3) : CHAT_USER;
        const char *c = p[0] ? p + 1 : p;
        const char *reason = NULL;
        char *sep = strchr(c, 1);
        if (sep && r == CHAT_ASSISTANT) { *sep = 0; reason = c; c = sep + 1; }
        msgs[nm++] = (chat_msg){.role = r, .content = c, .reasoning = reason};
    }
    for (int think = -1; think <= 1; think++) {
        chat_render_opts o = {.add_generation_prompt = think != 0, .thinking = think};
        size_t len;
        free(chat_render(&t, msgs, nm, &o, &len));
        chat_fit_result res;
        chat_fit(&t, msgs, nm, &o, (long)(size % 300), true, count_bytes, NULL, &res);
    }
    chat_template_describe(&t);
    chat_end_of_turn(&t);
    chat_template_free(&t);
    free(buf);
    return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_chat_one(data, size); }
#endif
