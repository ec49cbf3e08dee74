/* seek.c - the command-line front end: one binary, subcommands.
 *
 * This file only dispatches; each subcommand is in tools/cmd_<name>.c and the
 * work itself is in the library (src/). Every error is one line
 * "seek: <what>: <why>" on stderr and a non-zero exit status. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmds.h"
#include "util.h"

#define SEEK_VERSION "0.1.0"

int cli_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("seek: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

/* An empty message would print "seek: " and nothing else: a failure path that forgot to
 * say why. Say so instead of printing nothing. */
int cli_lib_error(void) {
    const char *e = seek_last_error();
    return cli_error("%s", *e ? e : "internal error: the operation failed without saying why (please report this)");
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *usage;
} commands[] = {
    {"run", cmd_run, "run -m MODEL.gguf -p PROMPT    one answer, streamed (reasoning dim; --json)"},
    {"chat", cmd_chat, "chat -m MODEL.gguf            interactive chat in the terminal"},
    {"serve", cmd_serve, "serve -m MODEL.gguf [--port 8080 --parallel 4]   OpenAI-compatible HTTP server + web chat"},
    {"info", cmd_info, "info MODEL.gguf            architecture, metadata, tensors, tokenizer"},
    {"convert", cmd_convert, "convert HF_DIR -o OUT.gguf [--type f32|f16|bf16|q8_0]   Hugging Face checkpoint to GGUF"},
    {"logits", cmd_logits, "logits -m MODEL.gguf --tokens 1,2,3 -o OUT.f32     raw f32 logits [T x V]"},
    {"perplexity", cmd_perplexity, "perplexity -m MODEL.gguf -f TEXT [-c N] [--chunks K]   perplexity (llama.cpp's protocol)"},
    {"quantize", cmd_quantize, "quantize IN.gguf OUT.gguf TYPE [--pure]     other tensor types (Q4_K_M, Q8_0, ...)"},
    {"synth", cmd_synth, "synth --shape NAME -o OUT.gguf [--layers N]   random weights, a real model's shapes"},
    {"bench", cmd_bench, "bench -m MODEL.gguf [-p 512 -n 128 -r 5] [--json]   prefill/decode speed"},
    {"tokenize", cmd_tokenize, "tokenize -m MODEL.gguf|--tokenizer tokenizer.json TEXT   token ids (--pieces: id + piece)"},
    {"train", cmd_train, "train --config CONFIG.json [--resume]   train a DeepSeek-V3-architecture model (train prepare: text -> tokens)"},
    {"tokenizer-train", cmd_tokenizer_train, "tokenizer-train -f FILE --vocab N -o tokenizer.json   byte-level BPE (DeepSeek-V3 pre-tokenizer)"},
};

static void usage(FILE *f) {
    fprintf(f, "seek %s - run and train DeepSeek-family models\n\nusage: seek COMMAND [ARGS]\n\ncommands:\n",
            SEEK_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  seek %s\n", commands[i].usage);
    fprintf(f, "\n`seek COMMAND --help` describes a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        cli_error("no command given (see 'seek --help')");
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        printf("seek %s\n", SEEK_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command '%s' (see 'seek --help')", argv[1]);
    return 2;
}
