/* pretok.c - pre-tokenizers: the regexes that cut text into pieces before BPE.
 *
 * A pre-tokenizer is a sequence of Split steps (Hugging Face `Split` with a
 * `Regex` pattern). Each step runs its regex over every piece the previous step
 * produced, on its own: a lookahead such as `(?!\S)` sees the end of the piece,
 * not the text after it. Matching is PCRE2 (UTF + UCP, JIT-compiled).
 *
 * One difference between PCRE2 (10.42) and the Oniguruma engine Hugging Face
 * uses: PCRE2's `\s` does not match U+0085 (NEXT LINE), which is White_Space in
 * Unicode and for Oniguruma. Patterns are rewritten so that `\s` includes it.
 *
 * The named pre-tokenizers are GGUF's `tokenizer.ggml.pre` values, written with
 * the patterns of the models' own tokenizer.json.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer_impl.h"
#include "util.h"

/* ---------------------------------------------------------------- presets */

#define RE_GPT2 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"
#define RE_QWEN2 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define RE_LLAMA3 "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
/* DeepSeek-V3: digits in runs of <= 3, CJK ideographs + kana runs, then the word regex */
#define RE_DSV3_DIGITS "\\p{N}{1,3}"
#define RE_DSV3_CJK "[\xE4\xB8\x80-\xE9\xBE\xA5\xE3\x81\x80-\xE3\x82\x9F\xE3\x82\xA0-\xE3\x83\xBF]+"
#define RE_DSV3_WORDS "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"
/* DeepSeek LLM / Coder (V1): newlines alone, letters with one optional space before, CJK
 * (U+4E00..U+9FA5, U+0800..U+4E00, Hangul U+AC00..U+D7FF), single digits. The Latin-like
 * letter class of deepseek-llm is the cased-letter ranges of its tokenizer.json. */
#define RE_V1_NL "[\\r\\n]"
#define RE_V1_CJK "[\\x{4E00}-\\x{9FA5}\\x{0800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+"
#define RE_LLM_LETTERS "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}" \
    "\\x{1C4}-\\x{293}\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}" \
    "\\x{388}-\\x{38A}\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}" \
    "\\x{531}-\\x{556}\\x{10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}" \
    "\\x{1CBD}-\\x{1CBF}\\x{1D00}-\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-\\x{1F15}" \
    "\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{1F5B}" \
    "\\x{1F5D}\\x{1F5F}-\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}" \
    "\\x{1FC6}-\\x{1FCC}\\x{1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}" \
    "\\x{1FF6}-\\x{1FFC}\\x{2102}\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}" \
    "\\x{2126}\\x{2128}\\x{212A}-\\x{212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}" \
    "\\x{214E}\\x{2183}\\x{2184}\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}" \
    "\\x{A640}-\\x{A66D}\\x{A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}" \
    "\\x{AB70}-\\x{ABBF}\\x{FB00}-\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-\\x{FF3A}\\x{FF41}-\\x{FF5A}" \
    "\\x{10400}-\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}" \
    "\\x{118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+"
#define RE_LLM_PUNCT "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+"

typedef struct {
    const char *name;
    const char *re[PRETOK_MAX_STEPS];   /* NULL-terminated; all steps Isolated */
} preset;

static const preset presets[] = {
    {"deepseek-v3", {RE_DSV3_DIGITS, RE_DSV3_CJK, RE_DSV3_WORDS, NULL}},
    {"qwen2", {RE_QWEN2, NULL}},
    {"deepseek-r1-qwen", {RE_QWEN2, NULL}},
    {"llama-bpe", {RE_LLAMA3, NULL}},
    {"gpt-2", {RE_GPT2, NULL}},
    {"deepseek-llm", {RE_V1_NL, RE_LLM_LETTERS, RE_LLM_PUNCT, "\\s+$", RE_V1_CJK, "\\p{N}", NULL}},
    {"deepseek-coder", {RE_V1_NL, "\\s?\\p{L}+", "\\s?\\p{P}+", RE_V1_CJK, "\\p{N}", NULL}},
    /* llama.cpp's fallback for BPE vocabularies without a known name */
    {"default", {"[\\p{P}\\$\\+<=>\\^~\\|]+",
                 "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)",
                 "\\p{N}+", "[0-9][0-9][0-9]", NULL}},
};

/* ---------------------------------------------------------------- compiling */

/* Rewrite \s / \S so that they include U+0085 (see the file comment). */
static char *rewrite_space(const char *p) {
    size_t n = strlen(p);
    char *o = seek_malloc(n * 12 + 1);
    if (!o) return NULL;
    size_t k = 0;
    bool in_class = false;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\\' && i + 1 < n) {
            char c = p[i + 1];
            if (c == 's' && !in_class) { memcpy(o + k, "[\\s\\x{85}]", 10); k += 10; }
            else if (c == 'S' && !in_class) { memcpy(o + k, "[^\\s\\x{85}]", 11); k += 11; }
            else if (c == 's' && in_class) { memcpy(o + k, "\\s\\x{85}", 8); k += 8; }
            else { o[k++] = '\\'; o[k++] = c; }
            i++;
            continue;
        }
        if (!in_class && p[i] == '[') {
            in_class = true;
            o[k++] = p[i];
            /* a ']' right after '[' or '[^' is a literal */
            if (i + 1 < n && p[i + 1] == '^') o[k++] = p[++i];
            if (i + 1 < n && p[i + 1] == ']') o[k++] = p[++i];
            continue;
        }
        if (in_class && p[i] == ']') in_class = false;
        o[k++] = p[i];
    }
    o[k] = 0;
    return o;
}

int pretok_add(tok_pretok *p, const char *pattern, int behavior, bool invert, const char *name) {
    if (p->n >= PRETOK_MAX_STEPS) return seek_error("%s: more than %d pre-tokenizer steps", name, PRETOK_MAX_STEPS);
    char *rw = rewrite_space(pattern);
    if (!rw) return -1;
    int err;
    PCRE2_SIZE erroff;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)rw, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP, &err, &erroff, NULL);
    free(rw);
    if (!re) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(err, msg, sizeof msg);
        return seek_error("%s: pre-tokenizer regex '%s': %s", name, pattern, (const char *)msg);
    }
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);   /* if JIT is unavailable the interpreter is used */
    char *copy = seek_strdup(pattern);
    if (!copy) { pcre2_code_free(re); return -1; }
    p->re[p->n] = re;
    p->pattern[p->n] = copy;
    p->behavior[p->n] = (uint8_t)behavior;
    p->invert[p->n] = invert;
    p->n++;
    return 0;
}

int pretok_set_named(tok_pretok *p, const char *pre, const char *name) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        if (strcmp(presets[i].name, pre) != 0) continue;
        for (int k = 0; presets[i].re[k]; k++)
            if (pretok_add(p, presets[i].re[k], SPLIT_ISOLATED, false, name)) return -1;
        return 0;
    }
    return seek_error("%s: unknown pre-tokenizer '%s' (known: deepseek-v3, deepseek-r1-qwen, qwen2, "
                      "llama-bpe, deepseek-llm, deepseek-coder, gpt-2, default)", name, pre);
}

const char *pretok_identify(const tok_pretok *p) {
    for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
        int k = 0;
        while (presets[i].re[k] && k < p->n && p->behavior[k] == SPLIT_ISOLATED && !p->invert[k] &&
               strcmp(presets[i].re[k], p->pattern[k]) == 0)
            k++;
        if (!presets[i].re[k] && k == p->n) return presets[i].name;
    }
    return NULL;
}

void pretok_free(tok_pretok *p) {
    for (int i = 0; i < p->n; i++) {
        pcre2_code_free(p->re[i]);
        free(p->pattern[i]);
    }
    p->n = 0;
}

/* ---------------------------------------------------------------- running */

static int push(tok_spans *s, size_t off, size_t len) {
    if (len == 0) return 0;
    if (seek_reserve(&s->v, &s->cap, s->n + 1, sizeof *s->v, 256)) return -1;
    s->v[s->n].off = (uint32_t)off;
    s->v[s->n].len = (uint32_t)len;
    s->n++;
    return 0;
}

/* The regex step budget for a piece of `len` bytes. PCRE2's default (10 million) made a run
 * of ~10 million spaces fail outright (`\s*[\r\n]+` and `\s+(?!\S)` each walk the whole run
 * and back), while Hugging Face's engine has no such limit. The budget grows with the piece:
 * the shipped regexes need a few steps per byte, so long runs tokenize exactly as HF does,
 * while a pathological (exponential) regex from a hostile tokenizer.json still stops after
 * a bounded amount of work instead of hanging. */
static uint32_t match_budget(size_t len) {
    uint64_t b = 10000000u + 64 * (uint64_t)len;
    return b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

/* Split one piece [off, off+len) of text with step k, appending to out. */
static int split_piece(const tok_pretok *p, int k, const char *text, size_t off, size_t len,
                       pcre2_match_data *md, pcre2_match_context *mc, tok_spans *out) {
    const pcre2_code *re = p->re[k];
    const uint8_t *subj = (const uint8_t *)text + off;
    int beh = p->behavior[k];
    bool inv = p->invert[k];
    size_t pos = 0, gap = 0;       /* gap: start of text not yet emitted */
    size_t pend_off = 0, pend_len = 0;   /* MERGED_NEXT / CONTIGUOUS: a piece waiting for more */
    bool have_pend = false;
    while (pos <= len) {
        pcre2_set_match_limit(mc, match_budget(len - pos));
        int rc = pcre2_jit_match(re, subj, len, pos, PCRE2_NO_UTF_CHECK, md, mc);
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_JIT_BADOPTION)
            rc = pcre2_match(re, subj, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, mc);
        if (rc == PCRE2_ERROR_NOMATCH) break;
        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT)
            return seek_error("tokenize: pre-tokenizer regex %d gave up on a piece of %zu bytes (PCRE2 error %d: "
                              "the tokenizer's regex backtracks too much)", k + 1, len, rc);
        if (rc < 0) return seek_error("tokenize: pre-tokenizer regex failed (PCRE2 error %d)", rc);
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        size_t ms = ov[0], me = ov[1];
        if (me == ms) {   /* empty match: never a delimiter; step one character */
            pos = me + 1;
            while (pos < len && (subj[pos] & 0xC0) == 0x80) pos++;
            continue;
        }
        /* segments: [gap, ms) is "text", [ms, me) is "match"; invert swaps their roles */
        size_t a0 = gap, a1 = ms, b0 = ms, b1 = me;
        if (!inv) {
            switch (beh) {
            case SPLIT_ISOLATED:
                if (push(out, off + a0, a1 - a0) || push(out, off + b0, b1 - b0)) return -1;
                break;
            case SPLIT_REMOVED:
                if (push(out, off + a0, a1 - a0)) return -1;
                break;
            case SPLIT_MERGED_PREV:
                if (push(out, off + a0, b1 - a0)) return -1;
                break;
            case SPLIT_MERGED_NEXT:
                if (have_pend) { pend_len += a1 - a0; if (push(out, pend_off, pend_len)) return -1; }
                else if (push(out, off + a0, a1 - a0)) return -1;
                pend_off = off + b0; pend_len = b1 - b0; have_pend = true;
                break;
            case SPLIT_CONTIGUOUS:
                if (have_pend && a1 == a0) { pend_len += b1 - b0; }
                else {
                    if (have_pend && push(out, pend_off, pend_len)) return -1;
                    if (push(out, off + a0, a1 - a0)) return -1;
                    pend_off = off + b0; pend_len = b1 - b0; have_pend = true;
                }
                break;
            }
        } else {
            /* inverted: the matches are the content, the text between them the delimiters */
            switch (beh) {
            case SPLIT_REMOVED:
                if (push(out, off + b0, b1 - b0)) return -1;
                break;
            case SPLIT_MERGED_PREV:   /* delimiter (gap) joins the match before it */
                if (have_pend) { pend_len += a1 - a0; if (push(out, pend_off, pend_len)) return -1; }
                else if (push(out, off + a0, a1 - a0)) return -1;
                pend_off = off + b0; pend_len = b1 - b0; have_pend = true;
                break;
            case SPLIT_MERGED_NEXT:   /* delimiter (gap) joins the match after it */
                if (push(out, off + a0, b1 - a0)) return -1;
                break;
            default:
                if (push(out, off + a0, a1 - a0) || push(out, off + b0, b1 - b0)) return -1;
                break;
            }
        }
        gap = pos = me;
    }
    /* the rest after the last match */
    size_t r0 = gap, r1 = len;
    if (have_pend) {
        bool glue = (!inv && beh == SPLIT_MERGED_NEXT) || (inv && beh == SPLIT_MERGED_PREV);
        if (glue) { pend_len += r1 - r0; r0 = r1; }
        if (push(out, pend_off, pend_len)) return -1;
    }
    if (!(inv && beh == SPLIT_REMOVED) && push(out, off + r0, r1 - r0)) return -1;
    return 0;
}

int pretok_run(const tok_pretok *p, const char *text, size_t len, tok_spans *out, tok_spans *tmp) {
    out->n = 0;
    if (len == 0) return 0;
    if (p->n == 0) return push(out, 0, len);
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    pcre2_match_context *mc = pcre2_match_context_create(NULL);
    if (!md || !mc) {
        pcre2_match_data_free(md);
        pcre2_match_context_free(mc);
        return seek_error("out of memory (regex match data)");
    }
    /* step 0 reads the whole text; each later step reads the previous step's pieces */
    tok_spans *cur = (p->n % 2) ? out : tmp, *nxt;
    cur->n = 0;
    int rc = split_piece(p, 0, text, 0, len, md, mc, cur);
    for (int k = 1; rc == 0 && k < p->n; k++) {
        nxt = cur == out ? tmp : out;
        nxt->n = 0;
        for (size_t i = 0; rc == 0 && i < cur->n; i++)
            rc = split_piece(p, k, text, cur->v[i].off, cur->v[i].len, md, mc, nxt);
        cur = nxt;
    }
    pcre2_match_data_free(md);
    pcre2_match_context_free(mc);
    return rc;
}
