/* cmd_synth.c - `seek synth --shape NAME [--layers N] [--tokenizer FILE] [--type TYPE] -o OUT`:
 * a random-weight model with a real checkpoint's shapes (src/synth.c has the table). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cmds.h"
#include "synth.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek synth --shape NAME -o OUT.gguf [--layers N] [--type TYPE] [--tokenizer FILE]\n"
            "                  [--seed S] [--threads N] [--list] [--fast] [--split-kv-b]\n\n"
            "A model with the tensor shapes and metadata of a real checkpoint and random weights.\n"
            "  --shape NAME      %s\n"
            "  --layers N        keep the first N blocks (MoE models keep at least one MoE block)\n"
            "  --type TYPE       tensor types, as for seek quantize (default F16)\n"
            "  --tokenizer FILE  tokenizer.json or a GGUF with tokenizer.ggml.* (default: the family's,\n"
            "                    from the checkout's tests/data)\n"
            "  --list            print each tensor's name and shape, write nothing\n"
            "  --fast            big matrices repeat rows from a pool of 256 random rows per tensor\n"
            "                    (same shapes and bytes, minutes instead of hours: for speed tests)\n"
            "  --split-kv-b      deepseek2: MLA's up-projection as attn_k_b + attn_v_b, the layout of\n"
            "                    newer converters, instead of one attn_kv_b\n"
            "test-size overrides (the file no longer has the real shapes):\n"
            "  --vocab N --ff N --ff-exp N --heads N --experts N\n",
            synth_shape_names());
}

int cmd_synth(int argc, char **argv) {
    synth_opts o = {0};
    const char *out = NULL, *type = NULL;
    bool list = false;
    o.progress = true;
    o.seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        int r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--list")) list = true;
        else if (!strcmp(a, "--quiet")) o.progress = false;
        else if (!strcmp(a, "--fast")) o.fast = true;
        else if (!strcmp(a, "--split-kv-b")) o.split_kv_b = true;
        else if ((r = cli_opt("synth", argc, argv, &i, "--shape", NULL, &o.shape)) ||
                 (r = cli_opt("synth", argc, argv, &i, "-o", NULL, &out)) ||
                 (r = cli_opt("synth", argc, argv, &i, "--type", NULL, &type)) ||
                 (r = cli_opt("synth", argc, argv, &i, "--tokenizer", NULL, &o.tokenizer)) ||
                 (r = cli_opt_int("synth", argc, argv, &i, "--layers", NULL, 1, 1 << 24, &o.layers)) ||
                 (r = cli_opt_int("synth", argc, argv, &i, "--threads", "-t", 1, 256, &o.threads)) ||
                 (r = cli_opt_int("synth", argc, argv, &i, "--vocab", NULL, 1, 1 << 24, &o.vocab)) ||
                 (r = cli_opt_int("synth", argc, argv, &i, "--ff", NULL, 1, 1 << 24, &o.ff)) ||
                 (r = cli_opt_int("synth", argc, argv, &i, "--ff-exp", NULL, 1, 1 << 24, &o.ff_exp)) ||
                 (r = cli_opt_int("synth", argc, argv, &i, "--heads", NULL, 1, 1 << 24, &o.heads)) ||
                 (r = cli_opt_int("synth", argc, argv, &i, "--experts", NULL, 1, 1 << 24, &o.experts))) {
            if (r < 0) return 2;
        } else if ((r = cli_opt("synth", argc, argv, &i, "--seed", NULL, &v))) {
            if (r < 0 || cli_u64("synth", a, v, &o.seed)) return 2;
        } else return cli_error("synth: unknown option '%s'", a);
    }
    if (!o.shape) { usage(stderr); return cli_error("synth: need --shape NAME (one of %s)", synth_shape_names()); }
    if (type && !(o.type = quant_target_find(type)))
        return cli_error("synth: unknown type '%s' (one of %s)", type, quant_target_names());
    if (list) return synth_list(&o) ? cli_lib_error() : 0;
    if (!out) return cli_error("synth: need -o OUT.gguf");
    cli_unlink_on_signal(synth_tmp_path);   /* Ctrl-C or a kill leaves no half-written file */
    if (synth_write(out, &o)) return cli_lib_error();
    return 0;
}
