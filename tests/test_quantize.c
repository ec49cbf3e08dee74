/* test_quantize.c - `seek quantize` at the library level (src/quantize.c).
 *
 *  - every plain type: a GGUF built from the fixture rows (tests/data/quants/NAME.src.f32), run
 *    through quantize_file --pure, holds tensor data byte-identical to what llama.cpp's
 *    quantizer wrote for the same rows (tests/data/quants/TYPE.*.q, an independent reference)
 *  - the result does not depend on the thread count
 *  - the streaming writer leaves no file behind on failure and refuses short data
 */
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "quantize.h"
#include "test.h"
#include "threads.h"
#include "util.h"

#define DATA "tests/data/quants/"
static const char *const names[] = {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight"};
static const int64_t widths[] = {256, 256, 512};
enum { ROWS = 16 };

static char dir[256];

static char *path(const char *name) {
    static char buf[4][512];
    static int k;
    char *p = buf[k++ & 3];
    snprintf(p, 512, "%s/%s", dir, name);
    return p;
}

/* A one-block llama model whose three matrices are the fixture's source rows, in F32. */
static int make_input(const char *out) {
    gguf_writer *w = gguf_writer_new();
    int rc = -1;
    float *rows[3] = {0};
    if (!w || gguf_set_str(w, "general.architecture", "llama") || gguf_set_u32(w, "llama.block_count", 1) ||
        gguf_set_u32(w, "llama.attention.head_count", 1))
        goto out;
    for (int i = 0; i < 3; i++) {
        char p[256];
        snprintf(p, sizeof p, DATA "%s.src.f32", names[i]);
        size_t len;
        rows[i] = (float *)seek_read_file(p, &len);
        if (!rows[i] || len != sizeof(float) * (size_t)widths[i] * ROWS) goto out;
        int64_t ne[2] = {widths[i], ROWS};
        if (gguf_add_tensor(w, names[i], SEEK_TYPE_F32, 2, ne, rows[i], true)) goto out;
    }
    rc = gguf_write(w, out);
out:
    for (int i = 0; i < 3; i++) free(rows[i]);
    gguf_writer_free(w);
    return rc;
}

static int quantize_to(const char *type, const char *out, int threads) {
    quant_opts o = {quant_target_find(type), true, threads, false, false};
    return o.target ? quantize_file(path("in.gguf"), out, &o) : -1;
}

TEST(fixture_bytes_every_type) {
    static const char *const types[] = {"F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0",
                                        "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"};
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        CHECK_MSG(quantize_to(types[k], path("out.gguf"), 0) == 0, "%s: %s", types[k], seek_last_error());
        gguf_file *g = gguf_open(path("out.gguf"));
        CHECK(g);
        for (int i = 0; i < 3; i++) {
            const gguf_tensor *t = gguf_find_tensor(g, names[i]);
            char p[256];
            snprintf(p, sizeof p, DATA "%s.%s.q", types[k], names[i]);
            size_t len;
            char *ref = seek_read_file(p, &len);
            int same = t && ref && len == t->nbytes && !memcmp(ref, t->data, len);
            free(ref);
            if (!same) { gguf_close(g); FAILF("%s %s differs from llama.cpp's bytes", types[k], names[i]); }
        }
        gguf_close(g);
    }
}

/* The pool splits rows between threads; bytes must not depend on the split. */
TEST(same_bytes_any_thread_count) {
    CHECK(quantize_to("Q4_K", path("t1.gguf"), 1) == 0);
    CHECK(quantize_to("Q4_K", path("t3.gguf"), 3) == 0);
    size_t a, b;
    char *x = seek_read_file(path("t1.gguf"), &a), *y = seek_read_file(path("t3.gguf"), &b);
    int same = x && y && a == b && !memcmp(x, y, a);
    free(x);
    free(y);
    seek_set_threads(0);
    CHECK(same);
}

/* general.file_type follows the target; names are case-insensitive; unknown ones are NULL */
TEST(targets) {
    CHECK(quant_target_find("q4_k_m") && quant_target_find("q4_k_m")->ftype == 15);
    CHECK(quant_target_find("Q8_0")->ftype == 7);
    CHECK(quant_target_find("Q4_K_X") == NULL);
    CHECK(quant_target_find("IQ2_XXS") == NULL);
}

/* A stream that is not given all its bytes fails and removes its temporary file. */
TEST(stream_incomplete_leaves_nothing) {
    gguf_writer *w = gguf_writer_new();
    int64_t ne[1] = {64};
    CHECK(w && gguf_add_tensor(w, "x", SEEK_TYPE_F32, 1, ne, NULL, true) == 0);
    gguf_stream *s = gguf_stream_open(w, path("s.gguf"));
    CHECK(s);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s", gguf_stream_tmp_path(s));
    float v[16] = {0};
    CHECK(gguf_stream_put(s, v, sizeof v) == 0);
    CHECK(access(tmp, F_OK) == 0);
    CHECK(gguf_stream_close(s) == -1);
    CHECK(strstr(seek_last_error(), "incomplete"));
    CHECK(access(tmp, F_OK) != 0 && access(path("s.gguf"), F_OK) != 0);
    /* too much data is refused too */
    s = gguf_stream_open(w, path("s.gguf"));
    float big[65] = {0};
    CHECK(s && gguf_stream_put(s, big, sizeof big) == -1);
    gguf_stream_abort(s);
    CHECK(access(path("s.gguf"), F_OK) != 0);
    gguf_writer_free(w);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/seek-test-quantize-%d", (int)getpid());
    if (mkdir(dir, 0700)) return 1;
    if (make_input(path("in.gguf"))) { printf("FAIL test_quantize.c:setup: %s\n", seek_last_error()); return 1; }
    RUN(fixture_bytes_every_type);
    RUN(same_bytes_any_thread_count);
    RUN(targets);
    RUN(stream_incomplete_leaves_nothing);
    const char *f[] = {"in.gguf", "out.gguf", "t1.gguf", "t3.gguf", "s.gguf"};
    for (size_t i = 0; i < 5; i++) unlink(path(f[i]));
    rmdir(dir);
    return test_summary();
}
