/* unicode_nfc.c - Unicode NFC normalisation (the Qwen2 tokenizer's normalizer).
 *
 * NFC = canonical decomposition, canonical ordering of combining marks, then
 * canonical composition (Unicode Standard Annex #15). Hangul syllables are
 * decomposed and composed arithmetically. Tables (unicode_nfc_data.h) are
 * generated from Python's unicodedata by scripts/gen_unicode_nfc.py.
 *
 * Almost all text is already NFC: a first pass looks for any code point that
 * could change (has a decomposition, a combining class, or can combine with
 * the character before it) and returns a plain copy when there is none.
 * Input must be valid UTF-8 (the caller checks).
 */
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"
#include "unicode_nfc_data.h"
#include "util.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
enum { SBASE = 0xAC00, LBASE = 0x1100, VBASE = 0x1161, TBASE = 0x11A7, LCOUNT = 19, VCOUNT = 21, TCOUNT = 28,
       NCOUNT = VCOUNT * TCOUNT, SCOUNT = LCOUNT * NCOUNT };

static bool maybe_changes(uint32_t cp) {
    size_t lo = 0, hi = N_OF(nfc_maybe);
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (cp < nfc_maybe[m][0]) hi = m;
        else if (cp > nfc_maybe[m][1]) lo = m + 1;
        else return true;
    }
    /* Hangul vowel and trailing jamo compose with what precedes them */
    return (cp >= VBASE && cp < VBASE + VCOUNT) || (cp > TBASE && cp < TBASE + TCOUNT);
}

static int ccc(uint32_t cp) {
    size_t lo = 0, hi = N_OF(nfc_ccc);
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (cp < nfc_ccc[m][0]) hi = m;
        else if (cp > nfc_ccc[m][0]) lo = m + 1;
        else return (int)nfc_ccc[m][1];
    }
    return 0;
}

static const uint32_t *find_decomp(uint32_t cp) {
    size_t lo = 0, hi = N_OF(nfc_decomp);
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (cp < nfc_decomp[m][0]) hi = m;
        else if (cp > nfc_decomp[m][0]) lo = m + 1;
        else return nfc_decomp[m];
    }
    return NULL;
}

/* Append the full canonical decomposition of cp to out (at most 4 per level, depth <= 4). */
static size_t decompose(uint32_t cp, uint32_t *out) {
    if (cp >= SBASE && cp < SBASE + SCOUNT) {
        uint32_t s = cp - SBASE, n = 0;
        out[n++] = LBASE + s / NCOUNT;
        out[n++] = VBASE + (s % NCOUNT) / TCOUNT;
        if (s % TCOUNT) out[n++] = TBASE + s % TCOUNT;
        return n;
    }
    const uint32_t *d = find_decomp(cp);
    if (!d) { out[0] = cp; return 1; }
    size_t n = decompose(d[1], out);
    if (d[2]) n += decompose(d[2], out + n);
    return n;
}

static uint32_t compose(uint32_t a, uint32_t b) {
    if (a >= LBASE && a < LBASE + LCOUNT && b >= VBASE && b < VBASE + VCOUNT)
        return SBASE + ((a - LBASE) * VCOUNT + (b - VBASE)) * TCOUNT;
    if (a >= SBASE && a < SBASE + SCOUNT && (a - SBASE) % TCOUNT == 0 && b > TBASE && b < TBASE + TCOUNT)
        return a + (b - TBASE);
    size_t lo = 0, hi = N_OF(nfc_pairs);
    while (lo < hi) {
        size_t m = (lo + hi) / 2;
        if (a < nfc_pairs[m][0] || (a == nfc_pairs[m][0] && b < nfc_pairs[m][1])) hi = m;
        else if (a > nfc_pairs[m][0] || b > nfc_pairs[m][1]) lo = m + 1;
        else return nfc_pairs[m][2];
    }
    return 0;
}

static size_t put_utf8(uint32_t cp, char *o) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

char *tok_nfc(const char *s, size_t len, size_t *out_len) {
    const uint8_t *u = (const uint8_t *)s;
    bool change = false;
    for (size_t i = 0; i < len && !change;) {
        if (u[i] < 0xCC) { i++; continue; }   /* every code point below U+0300 is NFC-stable */
        uint32_t cp;
        int l = tok_utf8_decode(u + i, len - i, &cp);
        if (!l) { i++; continue; }
        change = maybe_changes(cp);
        i += (size_t)l;
    }
    if (!change) {
        char *o = seek_malloc(len + 1);
        if (!o) return NULL;
        memcpy(o, s, len);
        o[len] = 0;
        *out_len = len;
        return o;
    }
    /* decompose: one code point (>= 1 byte) becomes at most 4 */
    uint32_t *cps = seek_malloc((len * 4 + 4) * sizeof *cps);
    if (!cps) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int l = tok_utf8_decode(u + i, len - i, &cp);
        if (!l) { cp = 0xFFFD; l = 1; }
        n += decompose(cp, cps + n);
        i += (size_t)l;
    }
    /* canonical ordering: stable sort of each run of non-starters by combining class */
    for (size_t i = 1; i < n; i++) {
        int c = ccc(cps[i]);
        if (!c) continue;
        size_t j = i;
        while (j > 0 && ccc(cps[j - 1]) > c) { uint32_t x = cps[j]; cps[j] = cps[j - 1]; cps[j - 1] = x; j--; }
    }
    /* canonical composition */
    size_t m = 0;
    long starter = -1;
    int prev_cc = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t c = cps[i];
        int cc = ccc(c);
        if (starter >= 0) {
            bool blocked = m - 1 != (size_t)starter && (prev_cc == 0 || prev_cc >= cc);
            uint32_t k = blocked ? 0 : compose(cps[starter], c);
            if (k) { cps[starter] = k; continue; }
        }
        if (cc == 0) starter = (long)m;
        prev_cc = cc;
        cps[m++] = c;
    }
    char *o = seek_malloc(m * 4 + 1);
    if (!o) { free(cps); return NULL; }
    size_t ol = 0;
    for (size_t i = 0; i < m; i++) ol += put_utf8(cps[i], o + ol);
    o[ol] = 0;
    free(cps);
    *out_len = ol;
    return o;
}
