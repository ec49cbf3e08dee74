/* cmd_tokenize.c - `seek tokenize`: text to token ids (and back), to check a
 * tokenizer against a reference.
 *
 *   seek tokenize -m MODEL.gguf TEXT            ids, space-separated, one line
 *   seek tokenize --tokenizer tokenizer.json TEXT
 *   seek tokenize ... --pieces TEXT             one "id<TAB>piece" line per token
 *   seek tokenize ... -f FILE                   the text of a file instead of TEXT
 *   seek tokenize ... --decode 1,2,3            ids to text
 * Options: --bos (add BOS/EOS as the model asks), --show-special (with --decode).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cmds.h"
#include "gguf.h"
#include "tokenizer.h"
#include "util.h"

static void usage(FILE *f) {
    fputs("usage: seek tokenize (-m MODEL.gguf | --tokenizer tokenizer.json) [--pieces] [--bos]\n"
          "                     (TEXT | -f FILE | --decode ID,ID,... [--show-special])\n", f);
}

/* A piece with bytes that would not show (controls, invalid UTF-8) written as \xNN. */
static void print_piece(const char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\\') fputs("\\\\", stdout);
        else if (c == '\n') fputs("\\n", stdout);
        else if (c == '\t') fputs("\\t", stdout);
        else if (c == '\r') fputs("\\r", stdout);
        else if (c < 0x20 || c == 0x7F) printf("\\x%02X", c);
        else putchar(c);
    }
}

int cmd_tokenize(int argc, char **argv) {
    const char *model = NULL, *json = NULL, *file = NULL, *text = NULL, *decode = NULL;
    bool pieces = false, bos = false, show_special = false;
    if (argc < 2) return cli_usage_error("tokenize", "no tokenizer and text given");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        int r;
        if ((r = cli_opt("tokenize", argc, argv, &i, "-m", "--model", &model)) ||
            (r = cli_opt("tokenize", argc, argv, &i, "--tokenizer", NULL, &json)) ||
            (r = cli_opt("tokenize", argc, argv, &i, "-f", "--file", &file)) ||
            (r = cli_opt("tokenize", argc, argv, &i, "--decode", NULL, &decode))) {
            if (r < 0) return 2;
        } else if (!strcmp(a, "--pieces")) pieces = true;
        else if (!strcmp(a, "--bos")) bos = true;
        else if (!strcmp(a, "--show-special")) show_special = true;
        else if (a[0] == '-' && a[1] && !text) return cli_usage_error("tokenize", "unknown option '%s'", a);
        else if (!text) text = a;
        else return cli_usage_error("tokenize", "more than one TEXT argument");
    }
    if (model && !json) {
        size_t n = strlen(model);
        if (n >= 5 && !strcmp(model + n - 5, ".json")) { json = model; model = NULL; }
    }
    if (!model == !json) return cli_usage_error("tokenize", "give one of -m MODEL.gguf or --tokenizer tokenizer.json");
    if (!!text + !!file + !!decode != 1) return cli_usage_error("tokenize", "give one of TEXT, -f FILE or --decode IDS");

    seek_tokenizer *t;
    if (model) {
        gguf_file *g = gguf_open(model);
        if (!g) return cli_lib_error();
        t = tok_load_gguf(g);
        gguf_close(g);
    } else {
        t = tok_load_json(json);
    }
    if (!t) return cli_lib_error();

    int rc = 0;
    if (decode) {
        tok_ids ids = {0};
        const char *p = decode;
        while (*p && rc == 0) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || v >= tok_n_vocab(t)) {
                rc = cli_error("tokenize: --decode: '%s' is not a token id of this vocabulary (0..%d)", p, tok_n_vocab(t) - 1);
                break;
            }
            if (tok_ids_push(&ids, (int32_t)v)) { rc = cli_lib_error(); break; }
            p = end;
            while (*p == ',' || *p == ' ') p++;
        }
        if (rc == 0) {
            size_t n;
            char *s = tok_decode(t, ids.v, ids.n, show_special, &n);
            if (!s) rc = cli_lib_error();
            else { fwrite(s, 1, n, stdout); putchar('\n'); free(s); }
        }
        tok_ids_free(&ids);
        tok_free(t);
        return rc;
    }

    size_t len;
    char *buf = NULL;
    if (file) {
        buf = seek_read_file(file, &len);
        if (!buf) { tok_free(t); return cli_lib_error(); }
        text = buf;
    } else {
        len = strlen(text);
    }
    tok_ids ids = {0};
    if (tok_encode(t, text, len, bos, &ids)) {
        rc = cli_lib_error();
    } else if (pieces) {
        for (size_t i = 0; i < ids.n; i++) {
            size_t pl;
            const char *p = tok_piece(t, ids.v[i], &pl);
            printf("%d\t", ids.v[i]);
            print_piece(p, pl);
            putchar('\n');
        }
    } else {
        for (size_t i = 0; i < ids.n; i++) printf(i ? " %d" : "%d", ids.v[i]);
        putchar('\n');
    }
    tok_ids_free(&ids);
    free(buf);
    tok_free(t);
    return rc;
}
