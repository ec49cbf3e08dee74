/* cmd_info.c - `seek info FILE`: what is inside a GGUF model file.
 *
 * Prints the file format, architecture, every metadata key (long arrays and
 * long strings summarised), each tensor's name/type/shape/size, totals per
 * type, and a tokenizer / chat-template summary. Reads only the header: the
 * tensor data of a 400 GB file is never touched. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cmds.h"
#include "gguf.h"
#include "kernels/kernels.h"
#include "model.h"
#include "session.h"
#include "util.h"
#include "repack.h"
#include "quantize.h"

#define ARRAY_SHOWN 6      /* elements shown of a long array */
#define STRING_SHOWN 72    /* characters shown of a long string */

/* Print a string quoted, escaping control characters, cut after `max` bytes
 * (at a UTF-8 boundary). */
static void print_str(gguf_str s, uint64_t max) {
    uint64_t n = s.len;
    if (n > max) {
        n = max;
        while (n > 0 && ((unsigned char)s.ptr[n] & 0xC0) == 0x80) n--;   /* don't split a character */
    }
    putchar('"');
    for (uint64_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 32 || c == 127) printf("\\x%02x", c);
        else putchar(c);
    }
    putchar('"');
    if (n < s.len) printf("... (%" PRIu64 " bytes)", s.len);
}

static void print_scalar(const gguf_value *v) {
    switch (v->type) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_UINT16: case GGUF_TYPE_UINT32: case GGUF_TYPE_UINT64:
        printf("%" PRIu64, v->u64);
        break;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        printf("%" PRId64, v->i64);
        break;
    case GGUF_TYPE_FLOAT32: printf("%.9g", v->f64); break;
    case GGUF_TYPE_FLOAT64: printf("%.17g", v->f64); break;
    case GGUF_TYPE_BOOL: fputs(v->b ? "true" : "false", stdout); break;
    case GGUF_TYPE_STRING: print_str(v->str, STRING_SHOWN); break;
    default: break;
    }
}

static void print_array(const gguf_value *v) {
    uint64_t n = v->arr.n;
    printf("[%s x %" PRIu64 "]", gguf_type_name(v->arr.type), n);
    uint64_t shown = n < ARRAY_SHOWN ? n : ARRAY_SHOWN;
    if (shown) fputs(" ", stdout);
    for (uint64_t i = 0; i < shown; i++) {
        if (i) fputs(", ", stdout);
        if (v->arr.type == GGUF_TYPE_STRING) {
            print_str(((const gguf_str *)v->arr.data)[i], 24);
        } else if (v->arr.type == GGUF_TYPE_ARRAY) {
            print_array(&((const gguf_value *)v->arr.data)[i]);
        } else if (v->arr.type == GGUF_TYPE_FLOAT32 || v->arr.type == GGUF_TYPE_FLOAT64) {
            printf("%g", gguf_arr_f64(v, i));
        } else if (v->arr.type == GGUF_TYPE_BOOL) {
            fputs(gguf_arr_u64(v, i) ? "true" : "false", stdout);
        } else if (v->arr.type == GGUF_TYPE_INT8 || v->arr.type == GGUF_TYPE_INT16 ||
                   v->arr.type == GGUF_TYPE_INT32 || v->arr.type == GGUF_TYPE_INT64) {
            printf("%" PRId64, gguf_arr_i64(v, i));
        } else {
            printf("%" PRIu64, gguf_arr_u64(v, i));
        }
    }
    if (shown < n) fputs(", ...", stdout);
}

/* "1.23 B", "456.7 M", "12.3 K" */
static const char *fmt_count(uint64_t n, char *buf, size_t cap) {
    if (n >= 1000000000ULL) snprintf(buf, cap, "%.2f B", n / 1e9);
    else if (n >= 1000000ULL) snprintf(buf, cap, "%.2f M", n / 1e6);
    else if (n >= 1000ULL) snprintf(buf, cap, "%.2f K", n / 1e3);
    else snprintf(buf, cap, "%" PRIu64, n);
    return buf;
}

static void print_token(const gguf_file *g, const char *key) {
    uint64_t id;
    if (!gguf_get_u64(g, key, &id)) return;
    const char *what = strrchr(key, '.') + 1;   /* "bos_token_id" */
    printf("%s%s %" PRIu64, strcmp(what, "bos_token_id") ? ", " : "", what, id);
    const gguf_value *tok = gguf_get_array(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
    if (tok && id < tok->arr.n) {
        fputs(" ", stdout);
        print_str(((const gguf_str *)tok->arr.data)[id], 40);
    }
}

static void print_tokenizer(const gguf_file *g) {
    char *model = gguf_get_string(g, "tokenizer.ggml.model");
    printf("tokenizer:     ");
    if (!model || !strcmp(model, "none")) {
        free(model);
        printf("none\n");
    } else {
        char *pre = gguf_get_string(g, "tokenizer.ggml.pre");
        const char *kind = !strcmp(model, "gpt2") ? "byte-level BPE"
                         : !strcmp(model, "llama") ? "SentencePiece"
                         : "unknown kind";
        printf("%s (%s)", model, kind);
        if (pre) printf(", pre-tokenizer %s", pre);
        const gguf_value *tok = gguf_get(g, "tokenizer.ggml.tokens");
        const gguf_value *mer = gguf_get(g, "tokenizer.ggml.merges");
        if (tok && tok->type == GGUF_TYPE_ARRAY) printf(", %" PRIu64 " tokens", tok->arr.n);
        if (mer && mer->type == GGUF_TYPE_ARRAY) printf(", %" PRIu64 " merges", mer->arr.n);
        printf("\nspecial:       ");
        print_token(g, "tokenizer.ggml.bos_token_id");
        print_token(g, "tokenizer.ggml.eos_token_id");
        print_token(g, "tokenizer.ggml.padding_token_id");
        printf("\n");
        free(pre);
        free(model);
    }
    const gguf_value *tmpl = gguf_get(g, "tokenizer.chat_template");
    if (tmpl && tmpl->type == GGUF_TYPE_STRING)
        printf("chat template: present (%" PRIu64 " bytes)\n", tmpl->str.len);
    else
        printf("chat template: none\n");
}

static int usage(void) {
    printf("usage: seek info FILE.gguf [--brief]\n\n"
           "Shows a GGUF file's architecture, metadata, tensors, tokenizer and chat template.\n"
           "  --brief   summary only: no per-key and per-tensor listing\n");
    return 0;
}

/* The KV cache a run needs: bytes per token at a session's default cache type (F16), and
 * at its default context and the trained one. Files seek could not load get a note, not an
 * error: info still lists them. */
static void print_kv_cache(const gguf_file *g) {
    seek_hparams hp;
    if (model_read_hparams(g, &hp)) {
        printf("KV cache:      - (not a loadable model: %s)\n", seek_last_error());
        return;
    }
    const size_t per = kvcache_bytes_per_token(&hp, SESSION_CACHE_TYPE);
    const int ctx = session_default_ctx(&hp);
    char b1[32], b2[32], b3[32];
    printf("KV cache:      %s per token at f16", seek_fmt_bytes(per, b1, sizeof b1));
    const char *ls = hp.n_layer == 1 ? "" : "s";
    if (hp.arch == ARCH_DEEPSEEK2)
        printf(" (MLA latent: (kv_lora_rank %d + rope %d) x %d layer%s x 2 bytes)", hp.kv_lora_rank, hp.n_rope, hp.n_layer, ls);
    else
        printf(" ((keys %d + values %d) x %d kv heads x %d layer%s x 2 bytes)", hp.head_dim_k, hp.head_dim_v, hp.n_head_kv,
               hp.n_layer, ls);
    printf("; %s at %d tokens, %s at the trained %d\n", seek_fmt_bytes((uint64_t)per * ctx, b2, sizeof b2), ctx,
           seek_fmt_bytes((uint64_t)per * (uint64_t)hp.n_ctx_train, b3, sizeof b3), hp.n_ctx_train);
}

int cmd_info(int argc, char **argv) {
    const char *path = NULL;
    int brief = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return usage();
        else if (!strcmp(argv[i], "--brief")) brief = 1;
        else if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) {
            if (cli_opt("info", argc, argv, &i, argv[i], NULL, &path) < 0) return 2;
        } else if (argv[i][0] == '-') return cli_usage_error("info", "unknown option '%s'", argv[i]);
        else if (!path) path = argv[i];
        else return cli_usage_error("info", "more than one file given ('%s')", argv[i]);
    }
    if (!path) return cli_usage_error("info", "no file given");

    gguf_file *g = gguf_open(path);
    if (!g) return cli_lib_error();

    char b1[64], b2[64];
    char *arch = gguf_get_string(g, "general.architecture");
    char *name = gguf_get_string(g, "general.name");
    printf("file:          %s (%s)\n", path, seek_fmt_bytes(g->map.size, b1, sizeof b1));
    printf("format:        GGUF v%u, %" PRIu64 " metadata keys, %" PRIu64 " tensors, alignment %u\n",
           g->version, g->n_kv, g->n_tensors, g->alignment);
    printf("architecture:  %s\n", arch ? arch : "(not set)");
    if (name) printf("name:          %s\n", name);

    /* Totals: parameters and bytes, and per tensor type. */
    uint64_t params = 0, bytes = 0, type_count[SEEK_TYPE_COUNT] = {0}, type_bytes[SEEK_TYPE_COUNT] = {0};
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        uint64_t n = 1;
        for (int d = 0; d < GGUF_MAX_DIMS; d++) n *= (uint64_t)t->ne[d];   /* cannot overflow: nbytes did not */
        params += n;
        bytes += t->nbytes;
        type_count[t->type]++;
        type_bytes[t->type] += t->nbytes;
    }
    printf("parameters:    %s (%s of tensor data", fmt_count(params, b1, sizeof b1),
           seek_fmt_bytes(bytes, b2, sizeof b2));
    if (params) printf(", %.2f bits per weight", 8.0 * (double)bytes / (double)params);
    printf(")\n");
    if (g->n_tensors) {
        printf("tensor types: ");
        for (int t = 0; t < SEEK_TYPE_COUNT; t++)
            if (type_count[t])
                printf(" %s x%" PRIu64 " (%s)", seek_type_get(t)->name, type_count[t],
                       seek_fmt_bytes(type_bytes[t], b1, sizeof b1));
        printf("\n");
    }
    uint32_t ft;
    if (gguf_get_u32(g, "general.file_type", &ft)) {
        const quant_target *qt = quant_target_by_ftype((int)ft);
        printf("file type:     %s (general.file_type %u)\n", qt ? qt->name : "unknown", ft);
    }
    print_tokenizer(g);
    print_kv_cache(g);
    uint64_t pbytes;
    int np = repack_plan(g, &pbytes);
    printf("kernels:       %s", kern_level_name(kern_cpu_level()));
    if (np) printf("; %d tensors (%s) are repacked at load into 16-row panels", np, seek_fmt_bytes(pbytes, b1, sizeof b1));
    printf("\n");
    if (kern_cpu_amx() && np) printf("tiles:         AMX (the packed quantized products of 16 tokens and more)\n");
    if (kern_cpu_avxvnni() && np) printf("dot products:  AVX-VNNI (the packed legacy types and Q4_K prefill)\n");

    if (!brief) {
        printf("\nmetadata (%" PRIu64 "):\n", g->n_kv);
        for (uint64_t i = 0; i < g->n_kv; i++) {
            const gguf_kv *kv = &g->kv[i];
            printf("  %-44.*s %-7s ", (int)kv->key.len, kv->key.ptr,
                   kv->value.type == GGUF_TYPE_ARRAY ? "array" : gguf_type_name(kv->value.type));
            if (kv->value.type == GGUF_TYPE_ARRAY) print_array(&kv->value);
            else print_scalar(&kv->value);
            printf("\n");
        }
        if (g->n_tensors) {
            printf("\ntensors (%" PRIu64 "; shape innermost first, as GGUF stores it):\n", g->n_tensors);
            for (uint64_t i = 0; i < g->n_tensors; i++) {
                const gguf_tensor *t = &g->tensors[i];
                char shape[128];
                int k = snprintf(shape, sizeof shape, "[");
                for (uint32_t d = 0; d < (t->n_dims ? t->n_dims : 1); d++)
                    k += snprintf(shape + k, sizeof shape - k, "%s%" PRId64, d ? ", " : "", t->ne[d]);
                snprintf(shape + k, sizeof shape - k, "]");
                printf("  %-40.*s %-7s %-24s %s\n", (int)t->name.len, t->name.ptr,
                       seek_type_get(t->type)->name, shape, seek_fmt_bytes(t->nbytes, b1, sizeof b1));
            }
        }
    }
    free(arch);
    free(name);
    gguf_close(g);
    return 0;
}
