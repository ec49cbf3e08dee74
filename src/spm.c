/* spm.c - SentencePiece (BPE-by-score) encoding, as llama.cpp does it for GGUF
 * vocabularies with tokenizer.ggml.model = "llama".
 *
 * The text (spaces already replaced by U+2581 "▁", and a "▁" put in front by the
 * caller) starts as one symbol per UTF-8 character. Repeatedly, of all adjacent
 * symbol pairs whose concatenation is a vocabulary token, the one whose token has
 * the highest score is merged (the leftmost among equal scores). What remains is
 * emitted: a symbol that is a token as its id, any other as its bytes through the
 * <0xNN> byte-fallback tokens (or <unk> if those are missing).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"
#include "util.h"

typedef struct {
    float score;
    int32_t left, right;
    uint32_t size;     /* byte length of the pair when queued: detects stale entries */
} bigram;

/* max-heap: higher score first, then smaller left */
static bool before(const bigram *a, const bigram *b) {
    if (a->score != b->score) return a->score > b->score;
    return a->left < b->left;
}

typedef struct {
    bigram *v;
    size_t n, cap;
} bheap;

static int bh_push(bheap *h, bigram b) {
    if (seek_reserve(&h->v, &h->cap, h->n + 1, sizeof *h->v, 64)) return -1;
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&b, &h->v[p])) break;
        h->v[i] = h->v[p];
        i = p;
    }
    h->v[i] = b;
    return 0;
}

static bigram bh_pop(bheap *h) {
    bigram top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c])) c++;
        if (!before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n) h->v[i] = last;
    return top;
}

typedef struct {
    uint32_t off, n;     /* bytes of the text; n == 0 once merged away */
    int32_t prev, next;
} sym;

static int try_bigram(const seek_tokenizer *t, const char *text, sym *s, bheap *h, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return 0;
    uint32_t size = s[l].n + s[r].n;
    int32_t id = tok_map_find(t, &t->by_text, text + s[l].off, size);
    if (id < 0) return 0;
    return bh_push(h, (bigram){t->vocab[id].score, l, r, size});
}

int spm_encode(const seek_tokenizer *t, const char *text, size_t len, tok_ids *out) {
    if (len == 0) return 0;
    sym *s = seek_malloc(len * sizeof *s);
    if (!s) return -1;
    int32_t n = 0;
    for (size_t off = 0; off < len;) {
        uint8_t c = (uint8_t)text[off];
        size_t l = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (l > len - off) l = len - off;
        s[n] = (sym){(uint32_t)off, (uint32_t)l, n - 1, n + 1};
        off += l;
        n++;
    }
    s[n - 1].next = -1;

    bheap h = {0};
    int rc = 0;
    for (int32_t i = 1; rc == 0 && i < n; i++) rc = try_bigram(t, text, s, &h, i - 1, i);
    while (rc == 0 && h.n) {
        bigram b = bh_pop(&h);
        sym *L = &s[b.left], *R = &s[b.right];
        if (L->n == 0 || R->n == 0 || L->n + R->n != b.size) continue;   /* stale */
        L->n += R->n;
        R->n = 0;
        L->next = R->next;
        if (R->next >= 0) s[R->next].prev = b.left;
        rc = try_bigram(t, text, s, &h, L->prev, b.left);
        if (rc == 0) rc = try_bigram(t, text, s, &h, b.left, L->next);
    }
    for (int32_t i = 0; rc == 0 && i >= 0; i = s[i].next) {
        int32_t id = tok_map_find(t, &t->by_text, text + s[i].off, s[i].n);
        if (id >= 0) { rc = tok_ids_push(out, id); continue; }
        for (uint32_t k = 0; rc == 0 && k < s[i].n; k++) {
            int32_t b = t->byte_tok[(uint8_t)text[s[i].off + k]];
            if (b < 0) b = t->unk;
            if (b >= 0) rc = tok_ids_push(out, b);
        }
    }
    free(h.v);
    free(s);
    return rc;
}
