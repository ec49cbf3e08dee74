/* cmd_convert.c - `seek convert HF_DIR -o out.gguf [--type f32|f16|bf16|q8_0]`:
 * a Hugging Face checkpoint directory to a GGUF model file (src/convert.c). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_args.h"
#include "cmds.h"
#include "convert.h"
#include "util.h"

static void usage(FILE *f) {
    fputs("usage: seek convert HF_DIR -o OUT.gguf [--type f32|f16|bf16|q8_0] [--quiet]\n"
          "  HF_DIR holds config.json, *.safetensors (FP8 block-scaled weights are dequantized)\n"
          "  and optionally tokenizer.json / tokenizer_config.json. Default type: f16.\n", f);
}

int cmd_convert(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *type = "f16";
    bool quiet = false;
    if (argc < 2) return cli_usage_error("convert", "no checkpoint directory given");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        int r;
        if ((r = cli_opt("convert", argc, argv, &i, "-o", "--output", &out)) ||
            (r = cli_opt("convert", argc, argv, &i, "--type", "-t", &type))) {
            if (r < 0) return 2;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) quiet = true;
        else if (a[0] == '-') return cli_usage_error("convert", "unknown option '%s'", a);
        else if (!dir) dir = a;
        else return cli_usage_error("convert", "more than one HF_DIR ('%s' and '%s')", dir, a);
    }
    if (!dir) return cli_usage_error("convert", "no checkpoint directory given");
    if (!out) return cli_usage_error("convert", "no output file: give one with -o OUT.gguf");
    convert_opts o = {0};
    if (!strcmp(type, "f32")) o.type = SEEK_TYPE_F32;
    else if (!strcmp(type, "f16")) o.type = SEEK_TYPE_F16;
    else if (!strcmp(type, "bf16")) o.type = SEEK_TYPE_BF16;
    else if (!strcmp(type, "q8_0")) o.type = SEEK_TYPE_Q8_0;
    else return cli_error("convert: unknown --type '%s' (f32, f16, bf16, q8_0)", type);
    o.progress = !quiet && isatty(2);
    if (convert_hf(dir, out, &o)) return cli_lib_error();
    if (!quiet) printf("wrote %s\n", out);
    return 0;
}
