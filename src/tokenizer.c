/* tokenizer.c - the tokenizer core: vocabulary tables, added-token matching,
 * byte-level BPE merging, decoding and the streaming decoder.
 *
 * Encoding, for one text (Hugging Face order of operations):
 *   1. added tokens ("<｜User｜>", "<think>") are found first, leftmost-longest (a byte
 *      trie: the cost per text byte does not grow with the number of added tokens),
 *      and cut the text into fragments that are tokenized on their own;
 *   2. each fragment is normalised (NFC for Qwen2; nothing for DeepSeek/Llama 3);
 *   3. the pre-tokenizer (pretok.c) cuts it into pieces with the family's regexes;
 *   4. each piece is a sequence of bytes, each byte one initial token (GPT-2's
 *      byte-level alphabet), and adjacent pairs are merged lowest merge-rank first
 *      (leftmost first among equal ranks) until no pair has a merge.
 * SentencePiece (spm.c) replaces steps 2-4.
 *
 * Where this file is not exact: lstrip/rstrip of added tokens strip ASCII
 * whitespace only, and `normalized` added tokens are matched in raw text (the
 * same thing for every tokenizer we ship, whose normalisers leave them alone).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"
#include "util.h"

/* ---------------------------------------------------------------- small things */

int tok_ids_push(tok_ids *a, int32_t id) {
    if (seek_reserve(&a->v, &a->cap, a->n + 1, sizeof *a->v, 64)) return -1;
    a->v[a->n++] = id;
    return 0;
}

void tok_ids_free(tok_ids *a) {
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

/* GPT-2's byte-level alphabet: printable Latin-1 bytes stand for themselves, the
 * other 68 bytes (controls, space, DEL, NBSP, soft hyphen) are moved to 256+k so
 * that every byte is a visible character in the vocabulary file. */
static bool byte_is_printable(int b) {
    return (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
}

uint32_t tok_byte_to_cp(uint8_t b) {
    if (byte_is_printable(b)) return b;
    uint32_t k = 0;
    for (int i = 0; i < b; i++)
        if (!byte_is_printable(i)) k++;
    return 256 + k;
}

int tok_cp_to_byte(uint32_t cp) {
    if (cp < 256) return byte_is_printable((int)cp) ? (int)cp : -1;
    if (cp >= 256 + 68) return -1;
    uint32_t k = cp - 256;
    for (int b = 0; b < 256; b++)
        if (!byte_is_printable(b) && k-- == 0) return b;
    return -1;
}

int tok_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp) {
    if (n == 0) return 0;
    uint8_t c = s[0];
    if (c < 0x80) { *cp = c; return 1; }
    int len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; v = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; v = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; v = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)len > n) return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

size_t tok_utf8_valid_prefix(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        /* ASCII fast path, 8 bytes at a time */
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, s + i, 8);
            if (w & 0x8080808080808080ull) break;
            i += 8;
        }
        if (i >= n) break;
        if (s[i] < 0x80) { i++; continue; }
        uint32_t cp;
        int l = tok_utf8_decode(s + i, n - i, &cp);
        if (!l) return i;
        i += (size_t)l;
    }
    return n;
}

/* ---------------------------------------------------------------- hash tables */

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xFF51AFD7ED558CCDull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
        h ^= h >> 29;
        s += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0x94D049BB133111EBull;
    h ^= h >> 31;
    return h;
}

static uint64_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    return x;
}

static void key_of(const seek_tokenizer *t, const tok_strmap *m, int32_t id, const char **s, size_t *n) {
    if (m->by_piece) { *s = t->vocab[id].piece; *n = t->vocab[id].piece_len; }
    else { *s = t->vocab[id].text; *n = t->vocab[id].text_len; }
}

int32_t tok_map_find(const seek_tokenizer *t, const tok_strmap *m, const char *s, size_t len) {
    if (!m->slots) return -1;
    uint32_t i = (uint32_t)hash_bytes(s, len) & m->mask;
    for (;;) {
        int32_t id = m->slots[i];
        if (id < 0) return -1;
        const char *ks;
        size_t kn;
        key_of(t, m, id, &ks, &kn);
        if (kn == len && memcmp(ks, s, len) == 0) return id;
        i = (i + 1) & m->mask;
    }
}

/* Insert every id accepted by `want` (a later duplicate replaces an earlier one). */
static int map_build(seek_tokenizer *t, tok_strmap *m, bool by_piece, bool (*want)(const tok_entry *)) {
    uint32_t cap = 16;
    while (cap < (uint32_t)t->n_vocab * 2u) cap *= 2;
    m->slots = seek_malloc(cap * sizeof *m->slots);
    if (!m->slots) return -1;
    memset(m->slots, 0xFF, cap * sizeof *m->slots);
    m->mask = cap - 1;
    m->by_piece = by_piece;
    for (int32_t id = 0; id < t->n_vocab; id++) {
        if (!want(&t->vocab[id])) continue;
        const char *s;
        size_t n;
        key_of(t, m, id, &s, &n);
        uint32_t i = (uint32_t)hash_bytes(s, n) & m->mask;
        for (;;) {
            int32_t o = m->slots[i];
            if (o < 0) { m->slots[i] = id; break; }
            const char *os;
            size_t on;
            key_of(t, m, o, &os, &on);
            if (on == n && memcmp(os, s, n) == 0) { m->slots[i] = id; break; }
            i = (i + 1) & m->mask;
        }
    }
    return 0;
}

static bool want_text(const tok_entry *e) { return e->text_len > 0; }
static bool want_normal_piece(const tok_entry *e) {
    return e->piece_len > 0 && (e->type == TOK_TYPE_NORMAL || e->type == TOK_TYPE_UNDEFINED);
}

/* merges: key (a<<32 | b) -> rank, open addressing; empty slot has key ~0 */
static inline uint32_t merge_rank(const seek_tokenizer *t, int32_t a, int32_t b) {
    uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    uint32_t i = (uint32_t)hash_u64(key) & t->mmask;
    for (;;) {
        uint64_t k = t->mkeys[i];
        if (k == key) return t->mvals[i];
        if (k == ~0ull) return UINT32_MAX;
        i = (i + 1) & t->mmask;
    }
}

/* ---------------------------------------------------------------- building */

seek_tokenizer *tok_new(int kind, int32_t n_vocab, const char *name) {
    if (n_vocab <= 0 || n_vocab > TOK_MAX_VOCAB) {
        seek_error("%s: vocabulary size %d is out of range (1..%d)", name, n_vocab, TOK_MAX_VOCAB);
        return NULL;
    }
    seek_tokenizer *t = seek_calloc(1, sizeof *t);
    if (!t) return NULL;
    t->kind = kind;
    t->n_vocab = n_vocab;
    t->bos = t->eos = t->pad = t->unk = -1;
    t->vocab = seek_calloc((size_t)n_vocab, sizeof *t->vocab);
    if (!t->vocab) { free(t); return NULL; }
    for (int32_t i = 0; i < n_vocab; i++) t->vocab[i].type = TOK_TYPE_UNUSED;
    return t;
}

int tok_set_token(seek_tokenizer *t, int32_t id, const char *text, size_t len, int type, float score,
                  const char *name) {
    if (id < 0 || id >= t->n_vocab) return seek_error("%s: token id %d out of range (vocabulary %d)", name, id, t->n_vocab);
    if (len > 65536) return seek_error("%s: token %d is %zu bytes long", name, id, len);
    tok_entry *e = &t->vocab[id];
    if (e->piece != e->text) free(e->piece);
    free(e->text);
    e->text = seek_strndup(text, len);
    if (!e->text) return -1;
    e->text_len = (uint32_t)len;
    e->piece = e->text;
    e->piece_len = e->text_len;
    e->type = (uint8_t)type;
    e->score = score;
    return 0;
}

int tok_merges_reserve(seek_tokenizer *t, uint32_t n, const char *name) {
    if (n > (uint32_t)TOK_MAX_VOCAB * 4u) return seek_error("%s: %u merges is absurd", name, n);
    uint32_t cap = 16;
    while (cap < n * 2u + 16) cap *= 2;
    t->merge_a = seek_malloc((size_t)n * sizeof(int32_t) + 1);
    t->merge_b = seek_malloc((size_t)n * sizeof(int32_t) + 1);
    t->merge_out = seek_malloc((size_t)n * sizeof(int32_t) + 1);
    t->mkeys = seek_malloc((size_t)cap * sizeof(uint64_t));
    t->mvals = seek_malloc((size_t)cap * sizeof(uint32_t));
    if (!t->merge_a || !t->merge_b || !t->merge_out || !t->mkeys || !t->mvals) return -1;
    memset(t->mkeys, 0xFF, (size_t)cap * sizeof(uint64_t));
    t->mmask = cap - 1;
    t->n_merges = 0;
    return 0;
}

int tok_add_merge(seek_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
                  const char *name) {
    uint32_t r = t->n_merges;
    if (t->mkeys == NULL || (uint64_t)r * 2 + 16 > (uint64_t)t->mmask + 1)
        return seek_error("%s: more merges than reserved", name);
    int32_t ia = tok_map_find(t, &t->by_text, a, alen);
    int32_t ib = tok_map_find(t, &t->by_text, b, blen);
    if (ia < 0 || ib < 0)
        return seek_error("%s: merge %u '%.*s %.*s' uses a token not in the vocabulary", name, r,
                          (int)alen, a, (int)blen, b);
    char stack[256];
    char *ab = alen + blen <= sizeof stack ? stack : seek_malloc(alen + blen + 1);
    if (!ab) return -1;
    memcpy(ab, a, alen);
    memcpy(ab + alen, b, blen);
    int32_t io = tok_map_find(t, &t->by_text, ab, alen + blen);
    if (ab != stack) free(ab);
    if (io < 0)
        return seek_error("%s: merge %u '%.*s %.*s' makes a token not in the vocabulary", name, r,
                          (int)alen, a, (int)blen, b);
    uint64_t key = ((uint64_t)(uint32_t)ia << 32) | (uint32_t)ib;
    uint32_t i = (uint32_t)hash_u64(key) & t->mmask;
    while (t->mkeys[i] != ~0ull) {
        if (t->mkeys[i] == key) return 0;   /* duplicate merge: the first (lower) rank wins */
        i = (i + 1) & t->mmask;
    }
    t->mkeys[i] = key;
    t->mvals[i] = r;
    t->merge_a[r] = ia;
    t->merge_b[r] = ib;
    t->merge_out[r] = io;
    t->n_merges++;
    return 0;
}

int tok_mark_added(seek_tokenizer *t, int32_t id, bool special, bool lstrip, bool rstrip,
                   bool single_word, bool normalized, const char *name) {
    if (id < 0 || id >= t->n_vocab) return seek_error("%s: added token id %d out of range", name, id);
    if (t->vocab[id].text_len == 0) return 0;   /* an empty string can never be matched */
    size_t cap = (size_t)t->n_added;            /* capacity: the next power of two (grown by doubling) */
    while (cap & (cap - 1)) cap &= cap - 1;
    if (cap && cap < (size_t)t->n_added) cap <<= 1;
    if (seek_reserve(&t->added, &cap, (size_t)t->n_added + 1, sizeof *t->added, 16)) return -1;
    t->added[t->n_added++] = (tok_added){id, NULL, 0, lstrip, rstrip, single_word, special, normalized, -1};
    return 0;   /* duplicates (the same id twice) are dropped by tok_build_added */
}

/* by id, then by the order they were marked (kept in same_next while sorting) */
static int added_by_id(const void *pa, const void *pb) {
    const tok_added *a = pa, *b = pb;
    if (a->id != b->id) return a->id < b->id ? -1 : 1;
    return a->same_next < b->same_next ? -1 : a->same_next > b->same_next;
}

/* The child of node n for byte b, or -1. */
static int32_t trie_find(const seek_tokenizer *t, int32_t n, uint8_t b) {
    int32_t c = t->trie[n].child;
    while (c >= 0 && t->trie[c].byte < b) c = t->trie[c].sibling;
    return c >= 0 && t->trie[c].byte == b ? c : -1;
}

/* The child of node n for byte b, created if absent (-1: out of memory). */
static int32_t trie_add(seek_tokenizer *t, int32_t n, uint8_t b) {
    int32_t c = trie_find(t, n, b);
    if (c >= 0) return c;
    size_t cap = (size_t)t->cap_trie;
    if (seek_reserve(&t->trie, &cap, (size_t)t->n_trie + 1, sizeof *t->trie, 64)) return -1;
    t->cap_trie = (int32_t)cap;
    int32_t *link = &t->trie[n].child;   /* keep siblings sorted by byte */
    while (*link >= 0 && t->trie[*link].byte < b) link = &t->trie[*link].sibling;
    int32_t k = t->n_trie++;
    t->trie[k] = (tok_trie_node){.child = -1, .sibling = *link, .parent = n, .tok = -1, .byte = b};
    *link = k;
    return k;
}

int tok_build_added(seek_tokenizer *t, const char *name) {
    (void)name;
    for (int32_t i = 0; i < t->n_added; i++) t->added[i].same_next = i;
    if (t->n_added) qsort(t->added, (size_t)t->n_added, sizeof *t->added, added_by_id);
    int32_t k = 0;
    for (int32_t i = 0; i < t->n_added; i++)   /* drop repeated ids (the first one's flags win) */
        if (!k || t->added[k - 1].id != t->added[i].id) t->added[k++] = t->added[i];
    t->n_added = k;
    for (int32_t i = 0; i < t->n_added; i++) t->added[i].same_next = -1;
    free(t->trie);
    t->n_trie = t->cap_trie = 0;
    if (!(t->trie = seek_malloc(64 * sizeof *t->trie))) return -1;
    t->cap_trie = 64;
    t->trie[t->n_trie++] = (tok_trie_node){.child = -1, .sibling = -1, .parent = -1, .tok = -1};
    /* in id order, so a node's first token is the lowest id with that text */
    for (int32_t i = 0; i < t->n_added; i++) {
        tok_added *a = &t->added[i];
        a->s = t->vocab[a->id].text;
        a->len = t->vocab[a->id].text_len;
        int32_t n = 0;
        for (uint32_t j = 0; j < a->len; j++)
            if ((n = trie_add(t, n, (uint8_t)a->s[j])) < 0) return -1;
        if (t->trie[n].tok < 0) { t->trie[n].tok = i; continue; }   /* (n is never the root: len > 0) */
        int32_t *p = &t->trie[n].tok;
        while (t->added[*p].same_next >= 0) p = &t->added[*p].same_next;
        t->added[*p].same_next = i;
    }
    for (int b = 0; b < 256; b++) t->trie_first[b] = trie_find(t, 0, (uint8_t)b);
    return 0;
}

/* Decode a byte-level token string to bytes; false if a character is not in the alphabet. */
static bool bytelevel_decode(const char *s, size_t n, char *out, size_t *out_len) {
    size_t i = 0, o = 0;
    while (i < n) {
        uint32_t cp;
        int l = tok_utf8_decode((const uint8_t *)s + i, n - i, &cp);
        if (!l) return false;
        int b = tok_cp_to_byte(cp);
        if (b < 0) return false;
        out[o++] = (char)b;
        i += (size_t)l;
    }
    *out_len = o;
    return true;
}

static int parse_byte_token(const char *s, size_t n) {
    /* "<0xNN>" */
    if (n != 6 || memcmp(s, "<0x", 3) != 0 || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'A' && c <= 'F') ? c - 'A' + 10
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

int tok_finish_vocab(seek_tokenizer *t, const char *name) {
    /* pieces */
    for (int32_t id = 0; id < t->n_vocab; id++) {
        tok_entry *e = &t->vocab[id];
        if (!e->text) {   /* a hole in the id space */
            e->text = seek_strdup("");
            if (!e->text) return -1;
            e->piece = e->text;
            continue;
        }
        if (e->type == TOK_TYPE_CONTROL || e->type == TOK_TYPE_USER_DEFINED) continue;
        if (t->kind == TOK_KIND_BPE) {
            char *p = seek_malloc(e->text_len + 1);
            size_t n;
            if (!p) return -1;
            if (bytelevel_decode(e->text, e->text_len, p, &n)) {
                p[n] = 0;
                e->piece = p;
                e->piece_len = (uint32_t)n;
            } else {
                free(p);
            }
        } else {
            int b = e->type == TOK_TYPE_BYTE ? parse_byte_token(e->text, e->text_len) : -1;
            if (e->type == TOK_TYPE_BYTE && b < 0)
                return seek_error("%s: byte token %d is '%s', not <0xNN>", name, id, e->text);
            char *p = seek_malloc(e->text_len + 1);
            if (!p) return -1;
            size_t o = 0;
            if (b >= 0) {
                p[o++] = (char)b;
            } else {
                for (size_t i = 0; i < e->text_len;) {   /* U+2581 (E2 96 81) -> ' ' */
                    if (i + 3 <= e->text_len && memcmp(e->text + i, "\xE2\x96\x81", 3) == 0) {
                        p[o++] = ' ';
                        i += 3;
                    } else {
                        p[o++] = e->text[i++];
                    }
                }
            }
            p[o] = 0;
            e->piece = p;
            e->piece_len = (uint32_t)o;
        }
    }
    if (map_build(t, &t->by_text, false, want_text)) return -1;
    if (t->kind == TOK_KIND_BPE && map_build(t, &t->by_piece, true, want_normal_piece)) return -1;

    for (int b = 0; b < 256; b++) {
        char s[8];
        size_t n;
        if (t->kind == TOK_KIND_BPE) {
            uint32_t cp = tok_byte_to_cp((uint8_t)b);
            if (cp < 0x80) { s[0] = (char)cp; n = 1; }
            else if (cp < 0x800) { s[0] = (char)(0xC0 | (cp >> 6)); s[1] = (char)(0x80 | (cp & 0x3F)); n = 2; }
            else { n = 0; }
        } else {
            n = (size_t)snprintf(s, sizeof s, "<0x%02X>", b);
        }
        t->byte_tok[b] = n ? tok_map_find(t, &t->by_text, s, n) : -1;
    }
    return 0;
}

void tok_free(seek_tokenizer *t) {
    if (!t) return;
    for (int32_t i = 0; i < t->n_vocab; i++) {
        if (t->vocab[i].piece != t->vocab[i].text) free(t->vocab[i].piece);
        free(t->vocab[i].text);
    }
    free(t->vocab);
    free(t->by_text.slots);
    free(t->by_piece.slots);
    free(t->merge_a);
    free(t->merge_b);
    free(t->merge_out);
    free(t->mkeys);
    free(t->mvals);
    free(t->added);
    free(t->trie);
    pretok_free(&t->pre);
    free(t);
}

/* ---------------------------------------------------------------- BPE merging */

/* Scratch space for merging one piece: a doubly linked list of symbols and a
 * binary min-heap of candidate merges ordered by (rank, position). */
typedef struct {
    int32_t *id, *prev, *next;
    uint64_t *heap;      /* (rank << 32) | left position: smaller = merge first */
    size_t cap, n_heap;
    /* Long pieces (a run of 10 million spaces is one piece): the initial pairs are sorted
     * once (counting sort by rank; their positions are already in order) and taken from
     * the front, so the heap holds only the pairs that merges create. Taking the smaller of
     * the two fronts pops in exactly the heap's order, without a 10-million-entry heap. */
    uint64_t *seed;
    size_t n_seed, seed_head;
    uint32_t *count;     /* [n_merges + 1] */
    /* Pairs created by merges arrive mostly in increasing key order (a pass over one rank
     * goes left to right): those are appended to this sorted FIFO, only the others go to
     * the heap. The smallest of the three fronts is the next merge, as with one heap. */
    uint64_t *run;
    size_t n_run, run_head;
    bool plain_heap;     /* tests: everything through the heap (the reference order) */
} bpe_work;

/* pieces longer than this use the sorted seeds (a variable so that tests can compare the
 * paths on the same pieces; SIZE_MAX: the plain heap alone, no sorted seeds or run) */
size_t tok_bpe_sorted_seeds_min = 4096;

static int work_reserve(bpe_work *w, size_t n) {
    if (n <= w->cap) return 0;
    size_t cap = w->cap ? w->cap : 64;
    while (cap < n) cap *= 2;
    int32_t *a = seek_realloc(w->id, cap * sizeof *a);
    if (!a) return -1;
    w->id = a;
    if (!(a = seek_realloc(w->prev, cap * sizeof *a))) return -1;
    w->prev = a;
    if (!(a = seek_realloc(w->next, cap * sizeof *a))) return -1;
    w->next = a;
    uint64_t *h = seek_realloc(w->heap, cap * 2 * sizeof *h);   /* <= n-1 seeds + n-1 pushes */
    if (!h) return -1;
    w->heap = h;
    if (!(h = seek_realloc(w->seed, cap * sizeof *h))) return -1;
    w->seed = h;
    if (!(h = seek_realloc(w->run, cap * 3 * sizeof *h))) return -1;   /* <= 2 pushes per merge + seeds */
    w->run = h;
    w->cap = cap;
    return 0;
}

static void work_free(bpe_work *w) {
    free(w->id);
    free(w->prev);
    free(w->next);
    free(w->heap);
    free(w->seed);
    free(w->count);
    free(w->run);
}

/* The initial pairs of ids[0..m) sorted by (rank, position) into w->seed. */
static int sort_seeds(const seek_tokenizer *t, bpe_work *w, int32_t m) {
    const size_t R = (size_t)t->n_merges + 1;
    if (!w->count && !(w->count = seek_malloc(R * sizeof *w->count))) return -1;
    memset(w->count, 0, R * sizeof *w->count);
    size_t n = 0;
    for (int32_t i = 0; i + 1 < m; i++) {   /* the keys, in position order, into the heap array */
        uint32_t r = merge_rank(t, w->id[i], w->id[i + 1]);
        if (r == UINT32_MAX) continue;
        w->heap[n++] = ((uint64_t)r << 32) | (uint32_t)i;
        w->count[r]++;
    }
    uint32_t sum = 0;
    for (size_t r = 0; r < R; r++) { uint32_t c = w->count[r]; w->count[r] = sum; sum += c; }
    for (size_t i = 0; i < n; i++) w->seed[w->count[w->heap[i] >> 32]++] = w->heap[i];
    w->n_seed = n;
    w->seed_head = 0;
    return 0;
}

static void heap_push(bpe_work *w, uint64_t v) {
    size_t i = w->n_heap++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (w->heap[p] <= v) break;
        w->heap[i] = w->heap[p];
        i = p;
    }
    w->heap[i] = v;
}

static uint64_t heap_pop(bpe_work *w) {
    uint64_t top = w->heap[0], v = w->heap[--w->n_heap];
    size_t i = 0, n = w->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && w->heap[c + 1] < w->heap[c]) c++;
        if (v <= w->heap[c]) break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n) w->heap[i] = v;
    return top;
}

static void try_pair(const seek_tokenizer *t, bpe_work *w, int32_t left) {
    if (left < 0 || w->next[left] < 0) return;
    uint32_t r = merge_rank(t, w->id[left], w->id[w->next[left]]);
    if (r == UINT32_MAX) return;
    uint64_t v = ((uint64_t)r << 32) | (uint32_t)left;
    if (w->run_head == w->n_run) w->run_head = w->n_run = 0;   /* empty: start over */
    if (!w->plain_heap && (w->n_run == 0 || v >= w->run[w->n_run - 1])) w->run[w->n_run++] = v;
    else heap_push(w, v);
}

/* The next candidate merge: the smallest front of seeds, run and heap. */
static bool next_pair(bpe_work *w, uint64_t *out) {
    int src = -1;
    uint64_t best = UINT64_MAX;
    if (w->seed_head < w->n_seed) best = w->seed[w->seed_head], src = 0;
    if (w->run_head < w->n_run && w->run[w->run_head] < best) best = w->run[w->run_head], src = 1;
    if (w->n_heap && w->heap[0] < best) best = w->heap[0], src = 2;
    if (src < 0) return false;
    if (src == 0) w->seed_head++;
    else if (src == 1) w->run_head++;
    else heap_pop(w);
    *out = best;
    return true;
}

/* Merge one pre-tokenized piece and append its ids. */
static int bpe_piece(const seek_tokenizer *t, const char *s, size_t n, bpe_work *w, tok_ids *out) {
    if (n == 0) return 0;
    if (n == 1 || t->ignore_merges) {
        int32_t id = tok_map_find(t, &t->by_piece, s, n);
        if (id >= 0) return tok_ids_push(out, id);
    }
    if (work_reserve(w, n)) return -1;
    int32_t m = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t id = t->byte_tok[(uint8_t)s[i]];
        if (id < 0) continue;   /* a byte the vocabulary lacks: dropped (no unk token) */
        w->id[m] = id;
        w->prev[m] = m - 1;
        w->next[m] = m + 1;
        m++;
    }
    if (m == 0) return 0;
    w->next[m - 1] = -1;
    w->n_heap = 0;
    w->n_seed = w->seed_head = w->n_run = w->run_head = 0;
    w->plain_heap = tok_bpe_sorted_seeds_min == SIZE_MAX;
    if ((size_t)m > tok_bpe_sorted_seeds_min) {
        if (sort_seeds(t, w, m)) return -1;
    } else {
        for (int32_t i = 0; i + 1 < m; i++) try_pair(t, w, i);
    }
    uint64_t top;
    while (next_pair(w, &top)) {
        uint32_t r = (uint32_t)(top >> 32);
        int32_t left = (int32_t)(uint32_t)top;
        int32_t right = w->next[left];
        /* stale entry: the left symbol was absorbed (id -1) or its pair changed */
        if (w->id[left] != t->merge_a[r] || right < 0 || w->id[right] != t->merge_b[r]) continue;
        w->id[left] = t->merge_out[r];
        w->id[right] = -1;
        w->next[left] = w->next[right];
        if (w->next[right] >= 0) w->prev[w->next[right]] = left;
        try_pair(t, w, w->prev[left]);
        try_pair(t, w, left);
    }
    for (int32_t i = 0; i >= 0; i = w->next[i])
        if (tok_ids_push(out, w->id[i])) return -1;
    return 0;
}

/* ---------------------------------------------------------------- encoding */

typedef struct {
    bpe_work w;
    tok_spans spans, tmp;
    char *buf;       /* SPM escaped text */
    size_t buf_cap;
} encode_ctx;

static int encode_fragment(const seek_tokenizer *t, encode_ctx *c, const char *s, size_t n, bool prev_special,
                           tok_ids *out) {
    if (t->kind == TOK_KIND_SPM) {
        size_t need = n * 3 + 4;
        if (need > c->buf_cap) {
            char *b = seek_realloc(c->buf, need);
            if (!b) return -1;
            c->buf = b;
            c->buf_cap = need;
        }
        size_t o = 0;
        if (t->add_space_prefix && prev_special) { memcpy(c->buf, "\xE2\x96\x81", 3); o = 3; }
        for (size_t i = 0; i < n; i++) {
            if (s[i] == ' ') { memcpy(c->buf + o, "\xE2\x96\x81", 3); o += 3; }
            else c->buf[o++] = s[i];
        }
        return spm_encode(t, c->buf, o, out);
    }
    char *norm = NULL;
    if (t->nfc) {
        size_t nl;
        norm = tok_nfc(s, n, &nl);
        if (!norm) return -1;
        s = norm;
        n = nl;
    }
    c->spans.n = 0;
    int rc = pretok_run(&t->pre, s, n, &c->spans, &c->tmp);
    for (size_t i = 0; rc == 0 && i < c->spans.n; i++)
        rc = bpe_piece(t, s + c->spans.v[i].off, c->spans.v[i].len, &c->w, out);
    free(norm);
    return rc;
}

static bool is_ascii_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static bool is_word_byte(uint8_t c) { return c >= 0x80 || c == '_' || (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z'); }

int tok_encode(const seek_tokenizer *t, const char *text, size_t len, bool add_special, tok_ids *out) {
    if (len > UINT32_MAX / 4) return seek_error("tokenize: text of %zu bytes is too long", len);
    size_t valid = tok_utf8_valid_prefix((const uint8_t *)text, len);
    if (valid != len) return seek_error("tokenize: text is not valid UTF-8 (byte %zu)", valid);
    if (add_special && t->add_bos && t->bos >= 0 && tok_ids_push(out, t->bos)) return -1;

    encode_ctx c;
    memset(&c, 0, sizeof c);
    int rc = 0;
    size_t seg = 0, pos = 0;
    bool prev_special = true;
    while (pos < len && rc == 0) {
        const tok_added *hit = NULL;
        /* the longest added token starting at pos whose single_word condition holds: walk
         * the trie along the text as far as it goes, then back up towards the root */
        int32_t n = t->n_trie ? t->trie_first[(uint8_t)text[pos]] : -1;
        if (n < 0) { pos++; continue; }
        for (size_t j = pos + 1; j < len; j++) {
            int32_t c = trie_find(t, n, (uint8_t)text[j]);
            if (c < 0) break;
            n = c;
        }
        for (; n > 0 && !hit; n = t->trie[n].parent)
            for (int32_t k = t->trie[n].tok; k >= 0 && !hit; k = t->added[k].same_next) {
                const tok_added *a = &t->added[k];
                if (a->single_word && ((pos > 0 && is_word_byte((uint8_t)text[pos - 1])) ||
                                       (pos + a->len < len && is_word_byte((uint8_t)text[pos + a->len]))))
                    continue;
                hit = a;
            }
        if (!hit) { pos++; continue; }
        size_t start = pos, end = pos + hit->len;
        if (hit->lstrip) while (start > seg && is_ascii_space(text[start - 1])) start--;
        if (hit->rstrip) while (end < len && is_ascii_space(text[end])) end++;
        if (start > seg) rc = encode_fragment(t, &c, text + seg, start - seg, prev_special, out);
        if (rc == 0) rc = tok_ids_push(out, hit->id);
        prev_special = true;
        seg = pos = end;
    }
    if (rc == 0 && seg < len) rc = encode_fragment(t, &c, text + seg, len - seg, prev_special, out);
    if (rc == 0 && add_special && t->add_eos && t->eos >= 0) rc = tok_ids_push(out, t->eos);
    work_free(&c.w);
    free(c.spans.v);
    free(c.tmp.v);
    free(c.buf);
    return rc;
}

/* ---------------------------------------------------------------- decoding */

static bool hidden(const seek_tokenizer *t, int32_t id, bool show_special) {
    return !show_special && t->vocab[id].type == TOK_TYPE_CONTROL;
}

char *tok_decode(const seek_tokenizer *t, const int32_t *ids, size_t n, bool show_special, size_t *len) {
    size_t total = 1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) {
            seek_error("detokenize: token id %d out of range (vocabulary %d)", ids[i], t->n_vocab);
            return NULL;
        }
        total += t->vocab[ids[i]].piece_len;
    }
    char *s = seek_malloc(total);
    if (!s) return NULL;
    size_t o = 0;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const tok_entry *e = &t->vocab[ids[i]];
        if (hidden(t, ids[i], show_special)) continue;
        const char *p = e->piece;
        size_t pl = e->piece_len;
        /* SentencePiece: the space the encoder put in front of the text is not part of it */
        if (first && t->kind == TOK_KIND_SPM && t->add_space_prefix && e->type != TOK_TYPE_CONTROL &&
            pl && p[0] == ' ') { p++; pl--; }
        if (e->type != TOK_TYPE_CONTROL) first = false;
        memcpy(s + o, p, pl);
        o += pl;
    }
    s[o] = 0;
    if (len) *len = o;
    return s;
}

void tok_stream_init(tok_stream *s, const seek_tokenizer *t, bool show_special) {
    memset(s, 0, sizeof *s);
    s->t = t;
    s->show_special = show_special;
    s->first = true;
}

/* Bytes a UTF-8 sequence starting with lead byte c needs (0 if c cannot start one). */
static int utf8_need(uint8_t c) {
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;
}

int tok_stream_push(tok_stream *s, int32_t id, char *out, size_t cap) {
    const seek_tokenizer *t = s->t;
    if (id < 0 || id >= t->n_vocab)
        return seek_error("detokenize: token id %d out of range (vocabulary %d)", id, t->n_vocab);
    const tok_entry *e = &t->vocab[id];
    if (hidden(t, id, s->show_special)) return 0;
    const char *p = e->piece;
    size_t pl = e->piece_len;
    if (s->first && t->kind == TOK_KIND_SPM && t->add_space_prefix && e->type != TOK_TYPE_CONTROL &&
        pl && p[0] == ' ') { p++; pl--; }
    if (e->type != TOK_TYPE_CONTROL) s->first = false;
    if (cap < (size_t)s->n_pend + pl) return seek_error("detokenize: output buffer too small");
    size_t o = (size_t)s->n_pend;
    memcpy(out, s->pend, o);
    memcpy(out + o, p, pl);
    o += pl;
    s->n_pend = 0;
    /* hold back a trailing sequence that is a valid start of a character but incomplete */
    for (size_t k = 1; k <= 3 && k <= o; k++) {
        uint8_t c = (uint8_t)out[o - k];
        if ((c & 0xC0) == 0x80) continue;     /* continuation byte: look further back */
        int need = utf8_need(c);
        if (need > (int)k) {
            bool ok = true;   /* the second byte of E0/ED/F0/F4 has a narrower range */
            if (k >= 2) {
                uint8_t c2 = (uint8_t)out[o - k + 1];
                if ((c == 0xE0 && c2 < 0xA0) || (c == 0xED && c2 > 0x9F) ||
                    (c == 0xF0 && c2 < 0x90) || (c == 0xF4 && c2 > 0x8F)) ok = false;
            }
            if (ok) {
                memcpy(s->pend, out + o - k, k);
                s->n_pend = (int)k;
                o -= k;
            }
        }
        break;
    }
    return (int)o;
}

int tok_stream_flush(tok_stream *s, char *out, size_t cap) {
    if (cap < (size_t)s->n_pend) return seek_error("detokenize: output buffer too small");
    int n = s->n_pend;
    memcpy(out, s->pend, (size_t)n);
    s->n_pend = 0;
    return n;
}

/* ---------------------------------------------------------------- accessors */

static bool id_ok(const seek_tokenizer *t, int32_t id) { return id >= 0 && id < t->n_vocab; }

const char *tok_piece(const seek_tokenizer *t, int32_t id, size_t *len) {
    if (!id_ok(t, id)) return NULL;
    if (len) *len = t->vocab[id].piece_len;
    return t->vocab[id].piece;
}
const char *tok_text(const seek_tokenizer *t, int32_t id) { return id_ok(t, id) ? t->vocab[id].text : NULL; }
int tok_type(const seek_tokenizer *t, int32_t id) { return id_ok(t, id) ? t->vocab[id].type : -1; }
int32_t tok_n_vocab(const seek_tokenizer *t) { return t->n_vocab; }
int32_t tok_bos(const seek_tokenizer *t) { return t->bos; }
int32_t tok_eos(const seek_tokenizer *t) { return t->eos; }
int32_t tok_pad(const seek_tokenizer *t) { return t->pad; }
bool tok_add_bos(const seek_tokenizer *t) { return t->add_bos; }
const char *tok_model_name(const seek_tokenizer *t) { return t->kind == TOK_KIND_SPM ? "llama" : "gpt2"; }
const char *tok_pre_name(const seek_tokenizer *t) { return t->pre_name; }
int32_t tok_find(const seek_tokenizer *t, const char *text) {
    return tok_map_find(t, &t->by_text, text, strlen(text));
}
