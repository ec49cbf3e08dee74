/* cmd_quantize.c - `seek quantize IN.gguf OUT.gguf TYPE [--threads N] [--pure] [--dry-run]`:
 * a model with other tensor types (src/quantize.c has the rules). The output is written
 * under a temporary name and renamed when complete; Ctrl-C or a kill removes it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_args.h"
#include "cmds.h"
#include "quantize.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek quantize IN.gguf OUT.gguf TYPE [--threads N] [--pure] [--dry-run]\n\n"
            "TYPE: %s\n"
            "  mixtures (Q2_K, Q3_K_M, Q4_K_S, Q4_K_M, Q5_K_S, Q5_K_M, Q6_K and the 32-block types)\n"
            "  choose per tensor like llama.cpp's llama-quantize; see docs/quantize.md\n"
            "  --pure       every quantized tensor gets TYPE (rows that don't fit fall back)\n"
            "  --threads N  worker threads (default: all CPUs)\n"
            "  --dry-run    print 'tensor old-type new-type' per tensor, write nothing\n",
            quant_target_names());
}

int cmd_quantize(int argc, char **argv) {
    const char *pos[3] = {0};
    int n_pos = 0;
    quant_opts o = {0};
    o.progress = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
        if (!strcmp(a, "--pure")) o.pure = true;
        else if (!strcmp(a, "--dry-run")) o.dry_run = true;
        else if (!strcmp(a, "--quiet")) o.progress = false;
        else if ((r = cli_opt_int("quantize", argc, argv, &i, "--threads", "-t", 1, 256, &o.threads))) {
            if (r < 0) return 2;
        } else if (a[0] == '-' && a[1]) return cli_error("quantize: unknown option '%s'", a);
        else if (n_pos < 3) pos[n_pos++] = a;
        else return cli_error("quantize: too many arguments ('%s')", a);
    }
    if (n_pos < 3) { usage(stderr); return cli_error("quantize: need IN.gguf OUT.gguf TYPE"); }
    o.target = quant_target_find(pos[2]);
    if (!o.target) return cli_error("quantize: unknown type '%s' (one of %s)", pos[2], quant_target_names());
    if (!strcmp(pos[0], pos[1])) return cli_error("quantize: %s: output must differ from the input", pos[1]);
    cli_unlink_on_signal(quantize_tmp_path);   /* Ctrl-C or a kill leaves no half-written file */
    if (quantize_file(pos[0], pos[1], &o)) return cli_lib_error();
    return 0;
}
