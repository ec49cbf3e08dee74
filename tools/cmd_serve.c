/* cmd_serve.c - `seek serve`: the OpenAI/DeepSeek-compatible HTTP server
 * (src/server/; docs/server.md). This file only reads the options. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "server/server.h"
#include "threads.h"
#include "util.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: seek serve -m MODEL.gguf [options]\n"
            "  -m, --model FILE        GGUF model\n"
            "  --host ADDR             address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)\n"
            "  --port N                port (default 8080; 0 = any free port, printed)\n"
            "  --parallel N            requests generated together, in one batch (default 4)\n"
            "  --queue N               requests waiting for a slot before 429 (default 64)\n"
            "  -c, --ctx N             context per slot in tokens (default: the model's, at most 4096)\n"
            "  --api-key KEY           require 'Authorization: Bearer KEY' (also from SEEK_API_KEY)\n"
            "  --cors ORIGIN           allow browser requests from ORIGIN (default: no CORS)\n"
            "  --max-body BYTES        largest request body (default 8388608)\n"
            "  --read-timeout S        a request must arrive whole within S seconds (default 30)\n"
            "  --idle-timeout S        close idle keep-alive connections after S seconds (default 60)\n"
            "  --alias NAME            the model's name in the API (default: the file name without .gguf)\n"
            "  --chat-template FILE    a Jinja chat template to use instead of the model's\n"
            "  --cache-type T          KV cache element type: f32, f16 (default), bf16, q8_0\n"
            "  -t, --threads N         worker threads (default: SEEK_THREADS, else every CPU)\n"
            "  -q, --quiet             no request log\n"
            "Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, /health,\n"
            "/metrics, and a chat page at /. Ctrl-C or SIGTERM stops it.\n");
}

static int num(const char *opt, const char *v, long lo, long hi, long *out) {
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end || n < lo || n > hi)
        return cli_error("serve: bad value '%s' for %s (%ld..%ld)", v, opt, lo, hi), -1;
    *out = n;
    return 0;
}

int cmd_serve(int argc, char **argv) {
    srv_opts o;
    srv_opts_default(&o);
    o.api_key = getenv("SEEK_API_KEY");
    if (o.api_key && !*o.api_key) o.api_key = NULL;
    const char *alias = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            o.quiet = true;
            continue;
        }
        if (a[0] != '-') return cli_error("serve: unexpected argument '%s' (see 'seek serve --help')", a);
        if (i + 1 >= argc) return cli_error("serve: %s needs a value (see 'seek serve --help')", a);
        const char *v = argv[++i];
        long n = 0;
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) o.model_path = v;
        else if (!strcmp(a, "--host")) o.host = v;
        else if (!strcmp(a, "--port")) { if (num(a, v, 0, 65535, &n)) return 1; o.port = (int)n; }
        else if (!strcmp(a, "--parallel")) { if (num(a, v, 1, 256, &n)) return 1; o.parallel = (int)n; }
        else if (!strcmp(a, "--queue")) { if (num(a, v, 0, 1 << 20, &n)) return 1; o.queue = (int)n; }
        else if (!strcmp(a, "-c") || !strcmp(a, "--ctx")) { if (num(a, v, 16, 1 << 24, &n)) return 1; o.sopts.n_ctx = (int)n; }
        else if (!strcmp(a, "--api-key")) o.api_key = *v ? v : NULL;
        else if (!strcmp(a, "--cors")) o.cors = v;
        else if (!strcmp(a, "--max-body")) { if (num(a, v, 1024, 1L << 34, &n)) return 1; o.max_body = (size_t)n; }
        else if (!strcmp(a, "--read-timeout")) { if (num(a, v, 1, 86400, &n)) return 1; o.read_timeout_s = (int)n; }
        else if (!strcmp(a, "--idle-timeout")) { if (num(a, v, 1, 86400, &n)) return 1; o.idle_timeout_s = (int)n; }
        else if (!strcmp(a, "--alias")) alias = v;
        else if (!strcmp(a, "--chat-template")) o.sopts.chat_template_file = v;
        else if (!strcmp(a, "--cache-type")) o.sopts.cache_type = v;
        else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) { if (num(a, v, 1, 256, &n)) return 1; seek_set_threads((int)n); }
        else return cli_error("serve: unknown option '%s' (see 'seek serve --help')", a);
    }
    if (!o.model_path) return cli_error("serve: no model: give one with -m MODEL.gguf");
    /* the API name: the file name without directory and .gguf */
    char id[256];
    if (!alias) {
        const char *b = strrchr(o.model_path, '/');
        b = b ? b + 1 : o.model_path;
        snprintf(id, sizeof id, "%s", b);
        size_t l = strlen(id);
        if (l > 5 && !strcmp(id + l - 5, ".gguf")) id[l - 5] = 0;
        alias = id;
    }
    o.model_id = alias;
    if (srv_run(&o)) return cli_lib_error();
    return 0;
}
