/* json_util.c - see json_util.h. */
#include "server/json_util.h"

#include "strbuf.h"

json_t *srv_json_text(const char *s, size_t n) {
    strbuf b = {0};
    if (sb_add_utf8(&b, s ? s : "", s ? n : 0)) return NULL;
    json_t *j = json_stringn(b.s ? b.s : "", b.n);
    sb_free(&b);
    return j;
}
