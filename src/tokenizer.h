/* tokenizer.h - text <-> token ids, exactly as the reference tokenizers do it.
 *
 * Two model kinds:
 *   BPE  byte-level BPE (GPT-2 style: DeepSeek V1/V2/V3/R1, Qwen2, Llama 3). Text is
 *        split by added tokens, normalised, cut by the family's pre-tokenizer regexes,
 *        and each piece is merged byte-pair by byte-pair in merge-rank order.
 *   SPM  SentencePiece (GGUF `tokenizer.ggml.model = llama`): spaces become U+2581,
 *        pieces are merged by score, unknown characters fall back to <0xNN> tokens.
 *
 * Loaded from a Hugging Face tokenizer.json (tok_load_json) or from GGUF metadata
 * (tok_load_gguf); tok_write_gguf puts a loaded tokenizer back into GGUF metadata.
 * A loaded tokenizer is read-only: encode/decode may run from many threads at once.
 */
#ifndef SEEK_TOKENIZER_H
#define SEEK_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

typedef struct seek_tokenizer seek_tokenizer;

/* Token types, numbered as GGUF's tokenizer.ggml.token_type stores them. */
enum {
    TOK_TYPE_UNDEFINED = 0,
    TOK_TYPE_NORMAL = 1,
    TOK_TYPE_UNKNOWN = 2,
    TOK_TYPE_CONTROL = 3,      /* special: <bos>, <｜User｜> ... */
    TOK_TYPE_USER_DEFINED = 4, /* added, not special: <think> in DeepSeek-V3 */
    TOK_TYPE_UNUSED = 5,
    TOK_TYPE_BYTE = 6,         /* SPM byte fallback <0xNN> */
};

/* A growable array of token ids. Zero-initialise; free with tok_ids_free. */
typedef struct {
    int32_t *v;
    size_t n, cap;
} tok_ids;
int tok_ids_push(tok_ids *a, int32_t id);
void tok_ids_free(tok_ids *a);

/* Load tokenizer.json. If a tokenizer_config.json lies beside it, bos/eos/pad and
 * add_bos_token are taken from it. NULL on error ("<path>: why"). */
seek_tokenizer *tok_load_json(const char *path);
/* The same from a tokenizer.json held in memory (`name` for messages, config may be NULL). */
seek_tokenizer *tok_load_json_text(const char *json, size_t len, const char *config_json,
                                   const char *name);
/* Load from GGUF metadata (tokenizer.ggml.*). NULL on error. */
seek_tokenizer *tok_load_gguf(const gguf_file *g);
void tok_free(seek_tokenizer *t);

/* Write tokenizer.ggml.* metadata (model, pre, tokens, token_type, merges or scores,
 * special ids, add_bos_token) so that tok_load_gguf gives back the same tokenizer. */
int tok_write_gguf(const seek_tokenizer *t, gguf_writer *w);
/* The same for a model whose embedding has n_rows >= the tokenizer's ids: the token list is
 * padded with UNUSED "[PADi]" entries to n_rows (`what` names the model in errors). */
int tok_write_gguf_rows(const seek_tokenizer *t, gguf_writer *w, int32_t n_rows, const char *what);

/* Encode `len` bytes of UTF-8 text, appending ids to `out`. With add_special, a BOS
 * is put first when the model asks for one (add_bos_token). Added/special token
 * strings in the text are always recognised (as Hugging Face's encode does). */
int tok_encode(const seek_tokenizer *t, const char *text, size_t len, bool add_special, tok_ids *out);

/* Decode ids to a NUL-terminated heap string (*len without the NUL).
 * Special (control) tokens are left out unless show_special. Invalid UTF-8 from
 * torn byte tokens is kept as is (the bytes, not U+FFFD). NULL on a bad id. */
char *tok_decode(const seek_tokenizer *t, const int32_t *ids, size_t n, bool show_special, size_t *len);

/* The bytes a token stands for (after byte-level / U+2581 / <0xNN> decoding). */
const char *tok_piece(const seek_tokenizer *t, int32_t id, size_t *len);
/* The token's string as the vocabulary stores it ("Ġhello", "▁the", "<0x0A>"). */
const char *tok_text(const seek_tokenizer *t, int32_t id);
int tok_type(const seek_tokenizer *t, int32_t id);
int32_t tok_n_vocab(const seek_tokenizer *t);
int32_t tok_bos(const seek_tokenizer *t);   /* -1 if none */
int32_t tok_eos(const seek_tokenizer *t);
int32_t tok_pad(const seek_tokenizer *t);
bool tok_add_bos(const seek_tokenizer *t);
const char *tok_model_name(const seek_tokenizer *t);  /* "gpt2" or "llama" (GGUF naming) */
const char *tok_pre_name(const seek_tokenizer *t);    /* "deepseek-v3", "qwen2", ... */
/* Id of a token by its exact stored string, -1 if absent. */
int32_t tok_find(const seek_tokenizer *t, const char *text);

/* Streaming decoder: feed ids one at a time, get text that is always whole UTF-8.
 * Bytes of a character split across tokens are held back until it is complete;
 * a sequence that can never complete is released as is. */
typedef struct {
    const seek_tokenizer *t;
    bool show_special;
    bool first;            /* SPM: drop the space the encoder added in front */
    uint8_t pend[8];
    int n_pend;
} tok_stream;
void tok_stream_init(tok_stream *s, const seek_tokenizer *t, bool show_special);
/* Append the text that became complete with `id` to out[0..cap); returns bytes
 * written, or -1 (bad id, or cap < the piece length + 8). */
int tok_stream_push(tok_stream *s, int32_t id, char *out, size_t cap);
/* Release whatever is still held (an incomplete character at the end). */
int tok_stream_flush(tok_stream *s, char *out, size_t cap);

#endif
