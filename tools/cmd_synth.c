/* cmd_synth.c - `seek synth --shape NAME [--layers N] [--tokenizer FILE] [--type TYPE] -o OUT`:
 * a random-weight model with a real checkpoint's shapes (src/synth.c has the table). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmds.h"
#include "synth.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek synth --shape NAME -o OUT.gguf [--layers N] [--type TYPE] [--tokenizer FILE]\n"
            "                  [--seed S] [--threads N] [--list]\n\n"
            "A model with the tensor shapes and metadata of a real checkpoint and random weights.\n"
            "  --shape NAME      %s\n"
            "  --layers N        keep the first N blocks (MoE models keep at least one MoE block)\n"
            "  --type TYPE       tensor types, as for seek quantize (default F16)\n"
            "  --tokenizer FILE  tokenizer.json or a GGUF with tokenizer.ggml.* (default: the family's,\n"
            "                    from the checkout's tests/data)\n"
            "  --list            print each tensor's name and shape, write nothing\n"
            "  --fast            big matrices repeat rows from a pool of 256 random rows per tensor\n"
            "                    (same shapes and bytes, minutes instead of hours: for speed tests)\n"
            "test-size overrides (the file no longer has the real shapes):\n"
            "  --vocab N --ff N --ff-exp N --heads N --experts N\n",
            synth_shape_names());
}

static void on_signal(int sig) {
    const char *tmp = synth_tmp_path();
    if (tmp) unlink(tmp);
    signal(sig, SIG_DFL);
    raise(sig);
}

static int int_arg(const char *opt, const char *v, int *out) {
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end || x < 1 || x > 1 << 24) return cli_error("synth: %s needs a positive number, not '%s'", opt, v);
    *out = (int)x;
    return 0;
}

int cmd_synth(int argc, char **argv) {
    synth_opts o = {0};
    const char *out = NULL, *type = NULL;
    bool list = false;
    o.progress = true;
    o.seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--list")) { list = true; continue; }
        if (!strcmp(a, "--quiet")) { o.progress = false; continue; }
        if (!strcmp(a, "--fast")) { o.fast = true; continue; }
        if (!v) return cli_error("synth: unknown option '%s' (or it lacks its value)", a);
        i++;
        if (!strcmp(a, "--shape")) o.shape = v;
        else if (!strcmp(a, "-o")) out = v;
        else if (!strcmp(a, "--type")) type = v;
        else if (!strcmp(a, "--tokenizer")) o.tokenizer = v;
        else if (!strcmp(a, "--seed")) o.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--layers")) { if (int_arg(a, v, &o.layers)) return 1; }
        else if (!strcmp(a, "--threads") || !strcmp(a, "-t")) { if (int_arg(a, v, &o.threads)) return 1; }
        else if (!strcmp(a, "--vocab")) { if (int_arg(a, v, &o.vocab)) return 1; }
        else if (!strcmp(a, "--ff")) { if (int_arg(a, v, &o.ff)) return 1; }
        else if (!strcmp(a, "--ff-exp")) { if (int_arg(a, v, &o.ff_exp)) return 1; }
        else if (!strcmp(a, "--heads")) { if (int_arg(a, v, &o.heads)) return 1; }
        else if (!strcmp(a, "--experts")) { if (int_arg(a, v, &o.experts)) return 1; }
        else return cli_error("synth: unknown option '%s'", a);
    }
    if (!o.shape) { usage(stderr); return cli_error("synth: need --shape NAME (one of %s)", synth_shape_names()); }
    if (type && !(o.type = quant_target_find(type)))
        return cli_error("synth: unknown type '%s' (one of %s)", type, quant_target_names());
    if (list) return synth_list(&o) ? cli_lib_error() : 0;
    if (!out) return cli_error("synth: need -o OUT.gguf");
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGHUP, on_signal);
    if (synth_write(out, &o)) return cli_lib_error();
    return 0;
}
