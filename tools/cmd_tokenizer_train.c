/* cmd_tokenizer_train.c - `seek tokenizer-train`: learn a byte-level BPE tokenizer.
 *
 *   seek tokenizer-train -f FILE [-f FILE ...] --vocab N -o tokenizer.json
 *                        [--chat-template FILE.jinja] [--merge-digits]
 *
 * Added tokens are DeepSeek-R1's: <｜begin▁of▁sentence｜> (BOS, id 0), <｜end▁of▁sentence｜>
 * (EOS, id 1), <｜User｜>, <｜Assistant｜> (special), <think>, </think> (added, not special,
 * as in DeepSeek-V3). tokenizer_config.json (BOS/EOS, add_bos_token, chat template) is
 * written beside the output. See src/train/bpe_train.c for the algorithm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "train/bpe_train.h"
#include "util.h"

static void usage(FILE *f) {
    fputs("usage: seek tokenizer-train -f FILE [-f FILE...] --vocab N -o tokenizer.json [--chat-template FILE] [--merge-digits]\n", f);
}

int cmd_tokenizer_train(int argc, char **argv) {
    const char *files[64], *out = NULL, *tmpl_path = NULL;
    int nf = 0, vocab = 0;
    bool merge_digits = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "-f") && i + 1 < argc) {
            if (nf == 64) return cli_error("tokenizer-train: at most 64 files");
            files[nf++] = argv[++i];
        } else if (!strcmp(a, "--vocab") && i + 1 < argc) vocab = atoi(argv[++i]);
        else if (!strcmp(a, "-o") && i + 1 < argc) out = argv[++i];
        else if (!strcmp(a, "--chat-template") && i + 1 < argc) tmpl_path = argv[++i];
        else if (!strcmp(a, "--merge-digits")) merge_digits = true;
        else { usage(stderr); return cli_error("tokenizer-train: unknown argument '%s'", a); }
    }
    if (!nf || !out || vocab <= 0) { usage(stderr); return cli_error("tokenizer-train: need -f FILE, --vocab N and -o tokenizer.json"); }
    if (vocab > (1 << 20)) return cli_error("tokenizer-train: --vocab %d is too large", vocab);
    char *text = NULL;
    size_t len = 0;
    for (int i = 0; i < nf; i++) {
        size_t n;
        char *t = seek_read_file(files[i], &n);
        if (!t) { free(text); return cli_lib_error(); }
        char *nt = realloc(text, len + n + 1);
        if (!nt) { free(t); free(text); return cli_error("tokenizer-train: out of memory"); }
        text = nt;
        memcpy(text + len, t, n);
        len += n;
        text[len] = 0;
        free(t);
    }
    char *tmpl = NULL;
    if (tmpl_path && !(tmpl = seek_read_file(tmpl_path, NULL))) { free(text); return cli_lib_error(); }
    static const char *const added[] = {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>",
                                        "<think>", "</think>"};
    static const bool special[] = {true, true, true, true, false, false};
    int stats[3] = {0};
    bpe_train_opts o = {.vocab = vocab, .added = added, .added_special = special, .n_added = 6,
                        .merge_digits = merge_digits, .chat_template = tmpl, .stats = stats};
    int rc = bpe_train(&o, text ? text : "", len, out);
    free(text);
    free(tmpl);
    if (rc) return cli_lib_error();
    printf("%s: %d tokens (%d merges) from %d distinct pieces\n", out, stats[0], stats[1], stats[2]);
    return 0;
}
