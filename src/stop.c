/* stop.c - stop tokens and the streaming stop-string matcher (see stop.h). */
#include "stop.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

int stop_tokens_add(stop_tokens *st, int32_t id) {
    if (id < 0 || stop_tokens_has(st, id)) return 0;
    if (seek_reserve(&st->ids, &st->cap, st->n + 1, sizeof *st->ids, 8)) return -1;
    st->ids[st->n++] = id;
    return 0;
}

bool stop_tokens_has(const stop_tokens *st, int32_t id) {
    for (size_t i = 0; i < st->n; i++)
        if (st->ids[i] == id) return true;
    return false;
}

void stop_tokens_free(stop_tokens *st) {
    free(st->ids);
    memset(st, 0, sizeof *st);
}

int stop_init(stop_matcher *m, const char *const *stops, size_t n) {
    memset(m, 0, sizeof *m);
    m->strs = seek_calloc(n ? n : 1, sizeof *m->strs);
    m->lens = seek_calloc(n ? n : 1, sizeof *m->lens);
    if (!m->strs || !m->lens) goto fail;
    for (size_t i = 0; i < n; i++) {
        if (!stops[i] || !stops[i][0]) continue;
        if (!(m->strs[m->n] = seek_strdup(stops[i]))) goto fail;
        m->lens[m->n++] = strlen(stops[i]);
    }
    return 0;
fail:
    stop_free(m);
    return -1;
}

void stop_free(stop_matcher *m) {
    for (size_t i = 0; i < m->n; i++) free(m->strs[i]);
    free(m->strs);
    free(m->lens);
    sb_free(&m->held);
    memset(m, 0, sizeof *m);
}

void stop_reset(stop_matcher *m) {
    sb_clear(&m->held);
    m->stopped = false;
}

/* Scan the held text. f = start of the earliest complete stop string; p =
 * earliest start i < f whose remainder held[i..) is a proper prefix of some
 * stop string (it may still become a stop string that begins before f).
 * Release held[0..min(p, f)); stop at f if nothing can start earlier. */
static int scan(stop_matcher *m, bool final, strbuf *out) {
    const char *b = m->held.s;
    size_t len = m->held.n, f = SIZE_MAX, p = SIZE_MAX;
    for (size_t i = 0; i < len && f == SIZE_MAX; i++)
        for (size_t k = 0; k < m->n; k++)
            if (m->lens[k] <= len - i && !memcmp(b + i, m->strs[k], m->lens[k])) {
                f = i;
                break;
            }
    if (!final) {
        for (size_t i = 0; i < len && i < f && p == SIZE_MAX; i++)
            for (size_t k = 0; k < m->n; k++)
                if (m->lens[k] > len - i && !memcmp(b + i, m->strs[k], len - i)) {
                    p = i;
                    break;
                }
    }
    if (p != SIZE_MAX) { /* p < f: wait for more text */
        if (sb_add(out, b, p)) return -1;
        sb_consume(&m->held, p);
        return 0;
    }
    if (f != SIZE_MAX) {
        int rc = sb_add(out, b, f);
        sb_clear(&m->held);
        m->stopped = true;
        return rc ? -1 : 1;
    }
    if (sb_add(out, b, len)) return -1;
    sb_clear(&m->held);
    return 0;
}

int stop_feed(stop_matcher *m, const char *s, size_t n, strbuf *out) {
    if (m->stopped) return 1;
    if (m->n == 0) return sb_add(out, s, n);
    if (sb_add(&m->held, s, n)) return -1;
    return scan(m, false, out);
}

int stop_flush(stop_matcher *m, strbuf *out) {
    if (m->stopped || m->held.n == 0) return 0;
    int rc = scan(m, true, out);
    return rc < 0 ? -1 : 0;
}
