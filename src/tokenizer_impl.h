/* tokenizer_impl.h - the inside of a seek_tokenizer, shared by the files that
 * build one (tokenizer_json.c, tokenizer_gguf.c) and the files that run one
 * (tokenizer.c, pretok.c, spm.c). Not a public header. */
#ifndef SEEK_TOKENIZER_IMPL_H
#define SEEK_TOKENIZER_IMPL_H

#include "tokenizer.h"

#define TOK_MAX_VOCAB (1 << 24)   /* ids beyond this are "absurd" and rejected */
#define PRETOK_MAX_STEPS 8

enum { TOK_KIND_BPE = 0, TOK_KIND_SPM = 1 };

/* How a Split step keeps a regex match (Hugging Face SplitDelimiterBehavior). */
enum {
    SPLIT_ISOLATED = 0,     /* match and the text between matches are separate pieces */
    SPLIT_REMOVED,          /* matches dropped */
    SPLIT_MERGED_PREV,      /* match glued to the piece before it */
    SPLIT_MERGED_NEXT,      /* match glued to the piece after it */
    SPLIT_CONTIGUOUS,       /* consecutive matches form one piece */
};

/* One vocabulary entry. `text` is the string as stored ("Ġthe", "▁the", "<0x0A>");
 * `piece` is the bytes it stands for in decoded text. */
typedef struct {
    char *text;
    uint32_t text_len;
    char *piece;            /* may alias text */
    uint32_t piece_len;
    float score;
    uint8_t type;           /* TOK_TYPE_* */
} tok_entry;

/* Open-addressing hash set of token ids, keyed by a byte string of each id
 * (either its text or its piece: `by_piece`). */
typedef struct {
    int32_t *slots;         /* -1 = empty */
    uint32_t mask;
    bool by_piece;
} tok_strmap;

/* An added token (matched in raw text before pre-tokenization). */
typedef struct {
    int32_t id;
    const char *s;          /* = vocab[id].text */
    uint32_t len;
    bool lstrip, rstrip, single_word, special, normalized;
    int32_t same_next;      /* the next added token with the same text (higher id), or -1 */
} tok_added;

/* A byte trie over the added tokens' texts: finding every added token that starts at a
 * text position costs one step per byte of the longest match, however many added tokens
 * there are (a linear scan once cost text length x number of added tokens). Children of a
 * node are a sibling list sorted by byte, so a step is at most 256 comparisons. */
typedef struct {
    int32_t child, sibling; /* first child, next sibling (-1: none) */
    int32_t parent;         /* -1 at the root */
    int32_t tok;            /* added[] index of the lowest-id token ending here, or -1 */
    uint8_t byte;
} tok_trie_node;

/* Pre-tokenizer: a sequence of regex splits (opaque PCRE2 codes). */
typedef struct {
    int n;
    void *re[PRETOK_MAX_STEPS];       /* pcre2_code_8* */
    char *pattern[PRETOK_MAX_STEPS];  /* as written in tokenizer.json (for GGUF naming) */
    uint8_t behavior[PRETOK_MAX_STEPS];
    bool invert[PRETOK_MAX_STEPS];
} tok_pretok;

struct seek_tokenizer {
    int kind;                      /* TOK_KIND_* */
    char pre_name[32];             /* GGUF tokenizer.ggml.pre ("" if not a known family) */
    int32_t n_vocab;
    tok_entry *vocab;              /* [n_vocab] */
    tok_strmap by_text;            /* stored string -> id (all tokens) */
    tok_strmap by_piece;           /* decoded bytes -> id (normal tokens only; BPE) */

    /* BPE merges, rank r: (merge_a[r], merge_b[r]) -> merge_out[r] */
    uint32_t n_merges;
    int32_t *merge_a, *merge_b, *merge_out;
    uint64_t *mkeys;               /* hash table: key (a<<32|b), value rank; mask as below */
    uint32_t *mvals;
    uint32_t mmask;
    bool ignore_merges;            /* Llama 3: a piece that is a whole token skips merging */
    int32_t byte_tok[256];         /* token of each single byte (BPE: byte-level char; SPM: <0xNN>) */

    tok_pretok pre;
    bool nfc;                      /* NFC normaliser (Qwen2) */

    tok_added *added;              /* sorted: by first byte, then longest first */
    int32_t n_added;
    tok_trie_node *trie;           /* node 0 is the root */
    int32_t n_trie, cap_trie;
    int32_t trie_first[256];       /* the root's child for each first byte (-1: none): O(1) for the
                                      common case, a text byte that starts no added token */

    int32_t bos, eos, pad, unk;
    bool add_bos, add_eos;
    bool add_space_prefix;         /* SPM: " " in front of the text */
};

/* tokenizer.c: building blocks for the loaders */
seek_tokenizer *tok_new(int kind, int32_t n_vocab, const char *name);
int tok_set_token(seek_tokenizer *t, int32_t id, const char *text, size_t len, int type, float score,
                  const char *name);
/* After all tokens are set: pieces, lookup maps, byte tokens, added-token table. */
int tok_finish_vocab(seek_tokenizer *t, const char *name);
/* Add merges given as token-string pairs (rank = order of the calls). */
int tok_add_merge(seek_tokenizer *t, const char *a, size_t alen, const char *b, size_t blen,
                  const char *name);
int tok_merges_reserve(seek_tokenizer *t, uint32_t n, const char *name);
int32_t tok_map_find(const seek_tokenizer *t, const tok_strmap *m, const char *s, size_t len);
/* Mark an added token's matching flags (call before tok_finish_vocab's table is used). */
int tok_mark_added(seek_tokenizer *t, int32_t id, bool special, bool lstrip, bool rstrip,
                   bool single_word, bool normalized, const char *name);
int tok_build_added(seek_tokenizer *t, const char *name);
/* BPE pieces longer than this many symbols sort their initial pairs instead of heaping
 * them (same result, less time on very long pieces); tests lower it to compare the paths. */
extern size_t tok_bpe_sorted_seeds_min;

/* GPT-2 byte-level alphabet: byte -> code point, code point -> byte (-1 if none). */
uint32_t tok_byte_to_cp(uint8_t b);
int tok_cp_to_byte(uint32_t cp);
/* Decode one UTF-8 code point at s[0..n); returns its length, or 0 if malformed. */
int tok_utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
/* Length of a valid UTF-8 prefix of s[0..n). */
size_t tok_utf8_valid_prefix(const uint8_t *s, size_t n);

/* pretok.c */
/* Compile a Split regex (tokenizer.json syntax) into step i. */
int pretok_add(tok_pretok *p, const char *pattern, int behavior, bool invert, const char *name);
/* Set the steps of a GGUF pre-tokenizer name ("deepseek-v3", "qwen2", ...). */
int pretok_set_named(tok_pretok *p, const char *pre, const char *name);
/* The GGUF name whose steps equal p's, or NULL. */
const char *pretok_identify(const tok_pretok *p);
void pretok_free(tok_pretok *p);

/* A piece of text: [off, off+len) in the buffer being tokenized. */
typedef struct {
    uint32_t off, len;
} tok_span;
typedef struct {
    tok_span *v;
    size_t n, cap;
} tok_spans;
/* Split text[0..len) into pieces (appended to out). Scratch spans reused by caller. */
int pretok_run(const tok_pretok *p, const char *text, size_t len, tok_spans *out, tok_spans *tmp);

/* spm.c: SentencePiece encoding of one text fragment (spaces already U+2581). */
int spm_encode(const seek_tokenizer *t, const char *text, size_t len, tok_ids *out);

/* unicode_nfc.c: NFC-normalise UTF-8 text; returns a heap string (or NULL on OOM). */
char *tok_nfc(const char *s, size_t len, size_t *out_len);

#endif
