/* test_gguf.c - GGUF reader/writer: round trips of every value and tensor type,
 * byte-exact re-writes of real files, and rejection of malformed headers. */
#include <stdint.h>
#include <unistd.h>

#include "gguf.h"
#include "test.h"

static char tmpdir[64];
static char path_a[256], path_b[256];

/* ---- raw byte builder for hand-made (often broken) files ---- */
typedef struct { uint8_t b[4096]; size_t n; } raw;
static void put(raw *r, const void *p, size_t n) { memcpy(r->b + r->n, p, n); r->n += n; }
static void u32(raw *r, uint32_t v) { put(r, &v, 4); }
static void u64(raw *r, uint64_t v) { put(r, &v, 8); }
static void str(raw *r, const char *s) { u64(r, strlen(s)); put(r, s, strlen(s)); }
static void header(raw *r, uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    r->n = 0;
    put(r, "GGUF", 4); u32(r, version); u64(r, n_tensors); u64(r, n_kv);
}
static void pad_to(raw *r, size_t a) { while (r->n % a) r->b[r->n++] = 0; }

/* Parse must fail and the message must contain `want`. */
static int expect_reject(raw *r, const char *want) {
    gguf_file *g = gguf_parse(r->b, r->n, "bad.gguf");
    if (g) { gguf_close(g); printf("    accepted a file that should fail (%s)\n", want); return 0; }
    if (!strstr(seek_last_error(), want) || strncmp(seek_last_error(), "bad.gguf: ", 10) != 0) {
        printf("    message '%s' lacks '%s'\n", seek_last_error(), want);
        return 0;
    }
    return 1;
}

/* One valid minimal file: one u32 key, one F32 tensor [4]. */
static void minimal(raw *r) {
    header(r, 3, 1, 1);
    str(r, "a.key"); u32(r, GGUF_TYPE_UINT32); u32(r, 7);
    str(r, "t"); u32(r, 1); u64(r, 4); u32(r, SEEK_TYPE_F32); u64(r, 0);
    pad_to(r, 32);
    float data[4] = {1, 2, 3, 4};
    put(r, data, sizeof data);
}

TEST(minimal_file_parses) {
    raw r; minimal(&r);
    gguf_file *g = gguf_parse(r.b, r.n, "min.gguf");
    CHECK_MSG(g, "%s", seek_last_error());
    uint32_t v = 0;
    CHECK(gguf_get_u32(g, "a.key", &v) && v == 7);
    const gguf_tensor *t = gguf_find_tensor(g, "t");
    CHECK(t && t->ne[0] == 4 && t->nbytes == 16 && ((const float *)t->data)[3] == 4.0f);
    CHECK(!gguf_find_tensor(g, "u") && !gguf_get(g, "a.ke") && !gguf_get(g, "a.key2"));
    gguf_close(g);
}

TEST(every_prefix_of_a_file_is_rejected) {
    raw r; minimal(&r);
    for (size_t n = 0; n < r.n; n++) {
        gguf_file *g = gguf_parse(r.b, n, "cut.gguf");
        CHECK_MSG(!g, "a file cut to %zu of %zu bytes was accepted", n, r.n);
        CHECK(strncmp(seek_last_error(), "cut.gguf: ", 10) == 0);
    }
}

/* Flip every header byte to several values: must parse or fail cleanly (ASan
 * and UBSan watch for the rest). */
TEST(corrupting_any_header_byte_never_crashes) {
    raw r; minimal(&r);
    const uint8_t vals[] = {0x00, 0x01, 0x05, 0x7f, 0x80, 0xff};
    size_t header_len = r.n - 16;
    int rejected = 0;
    for (size_t i = 0; i < header_len; i++)
        for (size_t k = 0; k < sizeof vals; k++) {
            raw m = r;
            m.b[i] = vals[k];
            gguf_file *g = gguf_parse(m.b, m.n, "m.gguf");
            if (g) gguf_close(g);
            else rejected++;
        }
    CHECK(rejected > 0);
}

TEST(bad_headers_have_clear_messages) {
    raw r;
    r.n = 0; put(&r, "GGML", 4); u32(&r, 3);
    CHECK(expect_reject(&r, "not a GGUF file"));
    header(&r, 1, 0, 0);
    CHECK(expect_reject(&r, "version 1"));
    header(&r, 0x03000000, 0, 0);
    CHECK(expect_reject(&r, "big-endian"));
    header(&r, 4, 0, 0);
    CHECK(expect_reject(&r, "unsupported GGUF version 4"));
    header(&r, 3, 0, UINT64_MAX);
    CHECK(expect_reject(&r, "metadata count"));
    header(&r, 3, 1ULL << 60, 0);
    CHECK(expect_reject(&r, "tensor count"));

    header(&r, 3, 0, 1); str(&r, "k"); u32(&r, 99); u32(&r, 0);
    CHECK(expect_reject(&r, "unknown value type 99"));
    header(&r, 3, 0, 1); u64(&r, 1ULL << 40); put(&r, "k", 1); u32(&r, 4); u32(&r, 0);
    CHECK(expect_reject(&r, "past the end of the file"));
    header(&r, 3, 0, 1); str(&r, "k"); u32(&r, GGUF_TYPE_STRING); u64(&r, 1000); put(&r, "abc", 3);
    CHECK(expect_reject(&r, "past the end"));
    header(&r, 3, 0, 1); str(&r, "k"); u32(&r, GGUF_TYPE_ARRAY); u32(&r, GGUF_TYPE_UINT32); u64(&r, 1ULL << 62);
    CHECK(expect_reject(&r, "does not fit"));
    header(&r, 3, 0, 1); str(&r, "k"); u32(&r, GGUF_TYPE_ARRAY); u32(&r, 77); u64(&r, 0);
    CHECK(expect_reject(&r, "element type 77"));
    header(&r, 3, 0, 1); str(&r, "k"); u32(&r, GGUF_TYPE_BOOL); r.b[r.n++] = 2;
    CHECK(expect_reject(&r, "bool value is 2"));
    header(&r, 3, 0, 2); str(&r, "k"); u32(&r, GGUF_TYPE_UINT8); r.b[r.n++] = 1;
    str(&r, "k"); u32(&r, GGUF_TYPE_UINT8); r.b[r.n++] = 1;
    CHECK(expect_reject(&r, "duplicate metadata key 'k'"));
    header(&r, 3, 0, 1); str(&r, "general.alignment"); u32(&r, GGUF_TYPE_UINT32); u32(&r, 48);
    CHECK(expect_reject(&r, "not a power of two"));
    header(&r, 3, 0, 1); str(&r, "general.alignment"); u32(&r, GGUF_TYPE_UINT64); u64(&r, 32);
    CHECK(expect_reject(&r, "must be a u32"));
    /* arrays of arrays nested too deep */
    header(&r, 3, 0, 1); str(&r, "k"); u32(&r, GGUF_TYPE_ARRAY);
    for (int i = 0; i < 20; i++) { u32(&r, GGUF_TYPE_ARRAY); u64(&r, 1); }
    u32(&r, GGUF_TYPE_UINT8); u64(&r, 0);
    CHECK(expect_reject(&r, "nested deeper"));

    /* tensor infos */
    header(&r, 3, 1, 0); str(&r, "t"); u32(&r, 5); u64(&r, 0); u64(&r, 0); u64(&r, 0);
    CHECK(expect_reject(&r, "5 dimensions"));
    header(&r, 3, 1, 0); str(&r, "t"); u32(&r, 1); u64(&r, 4); u32(&r, 4); u64(&r, 0);
    CHECK(expect_reject(&r, "unknown type id 4"));
    header(&r, 3, 1, 0); str(&r, "t"); u32(&r, 1); u64(&r, 33); u32(&r, SEEK_TYPE_Q8_0); u64(&r, 0);
    CHECK(expect_reject(&r, "not a multiple of the Q8_0 block size 32"));
    header(&r, 3, 1, 0); str(&r, "t"); u32(&r, 1); u64(&r, (uint64_t)1 << 63); u32(&r, 0); u64(&r, 0);
    CHECK(expect_reject(&r, "negative or too large"));
    header(&r, 3, 1, 0); str(&r, "t"); u32(&r, 3); u64(&r, 1ULL << 40); u64(&r, 1ULL << 40); u64(&r, 1ULL << 40);
    u32(&r, 0); u64(&r, 0);
    CHECK(expect_reject(&r, "overflow"));
    header(&r, 3, 1, 0); str(&r, "t"); u32(&r, 1); u64(&r, 4); u32(&r, 0); u64(&r, 8); pad_to(&r, 32);
    { float f[8] = {0}; put(&r, f, sizeof f); }
    CHECK(expect_reject(&r, "not a multiple of the alignment"));
    header(&r, 3, 1, 0); str(&r, "t"); u32(&r, 1); u64(&r, 4); u32(&r, 0); u64(&r, 32); pad_to(&r, 32);
    { float f[8] = {0}; put(&r, f, sizeof f); }
    CHECK(expect_reject(&r, "extends past the end"));
    header(&r, 3, 2, 0);
    str(&r, "t"); u32(&r, 1); u64(&r, 4); u32(&r, 0); u64(&r, 0);
    str(&r, "t"); u32(&r, 1); u64(&r, 4); u32(&r, 0); u64(&r, 32); pad_to(&r, 32);
    { float f[16] = {0}; put(&r, f, sizeof f); }
    CHECK(expect_reject(&r, "duplicate tensor 't'"));
}

/* ---- writer -> reader round trip of every value type and tensor type ---- */

TEST(round_trip_every_value_and_tensor_type) {
    gguf_writer *w = gguf_writer_new();
    CHECK(w);
    CHECK(!gguf_set_u8(w, "v.u8", 200) && !gguf_set_i8(w, "v.i8", -100));
    CHECK(!gguf_set_u16(w, "v.u16", 60000) && !gguf_set_i16(w, "v.i16", -30000));
    CHECK(!gguf_set_u32(w, "v.u32", 4000000000u) && !gguf_set_i32(w, "v.i32", -2000000000));
    CHECK(!gguf_set_u64(w, "v.u64", UINT64_MAX) && !gguf_set_i64(w, "v.i64", INT64_MIN));
    CHECK(!gguf_set_f32(w, "v.f32", 0.1f) && !gguf_set_f64(w, "v.f64", 0.1));
    CHECK(!gguf_set_bool(w, "v.bool", true));
    CHECK(!gguf_set_str(w, "v.str", "DeepSeek <｜User｜> \n\t\"x\""));
    CHECK(!gguf_set_str(w, "v.empty", ""));
    int32_t ints[5] = {-1, 0, 1, INT32_MAX, INT32_MIN};
    CHECK(!gguf_set_arr_data(w, "a.i32", GGUF_TYPE_INT32, ints, 5));
    float fl[3] = {1.5f, -2.25f, 1e30f};
    CHECK(!gguf_set_arr_data(w, "a.f32", GGUF_TYPE_FLOAT32, fl, 3));
    uint8_t bools[3] = {1, 0, 1};
    CHECK(!gguf_set_arr_data(w, "a.bool", GGUF_TYPE_BOOL, bools, 3));
    CHECK(!gguf_set_arr_data(w, "a.empty", GGUF_TYPE_UINT64, NULL, 0));
    const char *strs[3] = {"Ġthe", "", "<think>"};
    CHECK(!gguf_set_arr_str(w, "a.str", strs, 3));
    CHECK(!gguf_set_u32(w, "v.u32", 42));           /* overwrite keeps one key */

    /* a tensor of every known type, random bytes (the layout is opaque to GGUF) */
    uint64_t seed = 1;
    int n_types = 0;
    for (int t = 0; t < SEEK_TYPE_COUNT; t++) {
        const seek_type_info *ti = seek_type_get(t);
        if (!ti) continue;
        int64_t ne[3] = {ti->block_size * 3, 2, 3};
        int n_dims = 1 + t % 3;
        size_t bytes = seek_row_size(t, ne[0]);
        for (int d = 1; d < n_dims; d++) bytes *= ne[d];
        uint8_t *data = malloc(bytes);
        for (size_t i = 0; i < bytes; i++) { seed = seed * 6364136223846793005ULL + 1; data[i] = seed >> 56; }
        char name[32];
        snprintf(name, sizeof name, "t.%s", ti->name);
        CHECK_MSG(!gguf_add_tensor(w, name, t, 1 + t % 3, ne, data, false), "%s", seek_last_error());
        free(data);
        n_types++;
    }
    CHECK(gguf_add_tensor(w, "t.F32", SEEK_TYPE_F32, 1, (int64_t[]){4}, fl, false) != 0);  /* duplicate */
    CHECK(gguf_add_tensor(w, "bad", SEEK_TYPE_Q4_0, 1, (int64_t[]){31}, fl, false) != 0);
    CHECK(!gguf_write(w, path_a));
    gguf_writer_free(w);

    gguf_file *g = gguf_open(path_a);
    CHECK_MSG(g, "%s", seek_last_error());
    CHECK(g->n_kv == 18 && (int)g->n_tensors == n_types);
    uint64_t u; int64_t i; float f; bool b;
    CHECK(gguf_get_u64(g, "v.u8", &u) && u == 200 && gguf_get(g, "v.u8")->type == GGUF_TYPE_UINT8);
    CHECK(gguf_get_i64(g, "v.i8", &i) && i == -100);
    CHECK(gguf_get_u64(g, "v.u16", &u) && u == 60000);
    CHECK(gguf_get_i64(g, "v.i16", &i) && i == -30000);
    CHECK(gguf_get_u64(g, "v.u32", &u) && u == 42);
    CHECK(gguf_get_i64(g, "v.i32", &i) && i == -2000000000);
    CHECK(gguf_get_u64(g, "v.u64", &u) && u == UINT64_MAX);
    CHECK(gguf_get_i64(g, "v.i64", &i) && i == INT64_MIN);
    CHECK(!gguf_get_i64(g, "v.u64", &i));                   /* does not fit */
    CHECK(!gguf_get_u64(g, "v.i64", &u));                   /* negative */
    CHECK(gguf_get_f32(g, "v.f32", &f) && f == 0.1f);
    CHECK(gguf_get(g, "v.f64")->f64 == 0.1);
    CHECK(gguf_get_bool(g, "v.bool", &b) && b);
    char *s = gguf_get_string(g, "v.str");
    CHECK_STR(s, "DeepSeek <｜User｜> \n\t\"x\"");
    free(s);
    s = gguf_get_string(g, "v.empty");
    CHECK_STR(s, "");
    free(s);
    const gguf_value *a = gguf_get_array(g, "a.i32", GGUF_TYPE_INT32);
    CHECK(a && a->arr.n == 5 && gguf_arr_i64(a, 0) == -1 && gguf_arr_i64(a, 4) == INT32_MIN);
    a = gguf_get_array(g, "a.f32", GGUF_TYPE_FLOAT32);
    CHECK(a && a->arr.n == 3 && gguf_arr_f64(a, 1) == -2.25 && (float)gguf_arr_f64(a, 2) == 1e30f);
    a = gguf_get_array(g, "a.bool", GGUF_TYPE_BOOL);
    CHECK(a && gguf_arr_u64(a, 0) == 1 && gguf_arr_u64(a, 1) == 0);
    a = gguf_get_array(g, "a.empty", GGUF_TYPE_UINT64);
    CHECK(a && a->arr.n == 0);
    a = gguf_get_array(g, "a.str", GGUF_TYPE_STRING);
    CHECK(a && a->arr.n == 3);
    const gguf_str *ss = a->arr.data;
    CHECK(gguf_str_eq(ss[0], "Ġthe") && gguf_str_eq(ss[1], "") && gguf_str_eq(ss[2], "<think>"));
    CHECK(!gguf_get_array(g, "a.str", GGUF_TYPE_INT32));

    /* tensor bytes survive, and every data pointer is aligned */
    seed = 1;
    for (int t = 0; t < SEEK_TYPE_COUNT; t++) {
        const seek_type_info *ti = seek_type_get(t);
        if (!ti) continue;
        char name[32];
        snprintf(name, sizeof name, "t.%s", ti->name);
        const gguf_tensor *gt = gguf_find_tensor(g, name);
        CHECK_MSG(gt, "missing %s", name);
        CHECK(gt->type == (seek_type)t && gt->n_dims == (uint32_t)(1 + t % 3));
        CHECK(gt->ne[0] == ti->block_size * 3);
        CHECK(((const uint8_t *)gt->data - g->map.data) % 32 == 0);
        const uint8_t *d = gt->data;
        for (uint64_t k = 0; k < gt->nbytes; k++) {
            seed = seed * 6364136223846793005ULL + 1;
            CHECK_MSG(d[k] == (uint8_t)(seed >> 56), "%s byte %llu differs", name, (unsigned long long)k);
        }
    }
    gguf_close(g);
}

/* Nested arrays only come from other writers; build one by hand, read it, and
 * re-write it through gguf_set_value. */
TEST(nested_arrays_round_trip) {
    raw r;
    header(&r, 3, 0, 1);
    str(&r, "nest"); u32(&r, GGUF_TYPE_ARRAY); u32(&r, GGUF_TYPE_ARRAY); u64(&r, 2);
    u32(&r, GGUF_TYPE_UINT16); u64(&r, 2); uint16_t h[2] = {7, 9}; put(&r, h, 4);
    u32(&r, GGUF_TYPE_STRING); u64(&r, 1); str(&r, "hi");
    gguf_file *g = gguf_parse(r.b, r.n, "nest.gguf");
    CHECK_MSG(g, "%s", seek_last_error());
    const gguf_value *v = gguf_get_array(g, "nest", GGUF_TYPE_ARRAY);
    CHECK(v && v->arr.n == 2);
    const gguf_value *items = v->arr.data;
    CHECK(items[0].arr.type == GGUF_TYPE_UINT16 && gguf_arr_u64(&items[0], 1) == 9);
    CHECK(items[1].arr.type == GGUF_TYPE_STRING && gguf_str_eq(((const gguf_str *)items[1].arr.data)[0], "hi"));
    gguf_writer *w = gguf_writer_new();
    CHECK(!gguf_set_value(w, "nest", v));
    CHECK(!gguf_write(w, path_b));
    gguf_writer_free(w);
    gguf_close(g);
    size_t n;
    char *bytes = seek_read_file(path_b, &n);
    CHECK(bytes && n >= r.n && memcmp(bytes, r.b, r.n) == 0);   /* same bytes (+ padding) */
    free(bytes);
}

/* Copy a real file key by key and tensor by tensor: the bytes must be identical. */
static int rewrite_identical(const char *src) {
    gguf_file *g = gguf_open(src);
    if (!g) { printf("    %s\n", seek_last_error()); return 0; }
    gguf_writer *w = gguf_writer_new();
    if (gguf_copy_metadata(w, g, NULL, NULL)) return 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        char *name = seek_strndup(t->name.ptr, t->name.len);
        if (gguf_add_tensor(w, name, t->type, t->n_dims, t->ne, t->data, true)) { free(name); return 0; }
        free(name);
    }
    int ok = gguf_write(w, path_b) == 0;
    gguf_writer_free(w);
    size_t n;
    char *b = seek_read_file(path_b, &n);
    ok = ok && b && n == g->map.size && memcmp(b, g->map.data, n) == 0;
    if (!ok) printf("    %s: rewrite differs (%zu vs %llu bytes)\n", src, n, (unsigned long long)g->map.size);
    free(b);
    gguf_close(g);
    return ok;
}

TEST(rewriting_real_files_is_byte_identical) {
    CHECK(rewrite_identical("tests/data/gguf/ggml-vocab-deepseek-coder.gguf"));
    CHECK(rewrite_identical("tests/data/gguf/model-Q4_K_S.gguf"));
    CHECK(rewrite_identical(path_a));
}

TEST(real_files_read_correctly) {
    gguf_file *g = gguf_open("tests/data/gguf/ggml-vocab-deepseek-coder.gguf");
    CHECK_MSG(g, "%s", seek_last_error());
    char *arch = gguf_get_string(g, "general.architecture");
    CHECK_STR(arch, "llama");
    free(arch);
    char *pre = gguf_get_string(g, "tokenizer.ggml.pre");
    CHECK_STR(pre, "deepseek-coder");
    free(pre);
    const gguf_value *tok = gguf_get_array(g, "tokenizer.ggml.tokens", GGUF_TYPE_STRING);
    CHECK(tok && tok->arr.n == 32256);
    CHECK(g->n_tensors == 0);
    gguf_close(g);

    g = gguf_open("tests/data/gguf/model-Q4_K_S.gguf");
    CHECK_MSG(g, "%s", seek_last_error());
    const gguf_tensor *t = gguf_find_tensor(g, "blk.0.ffn_down.weight");
    CHECK(t && t->type == SEEK_TYPE_Q4_K && t->ne[0] == 512 && t->ne[1] == 256 && t->nbytes == 2 * 144 * 256);
    gguf_close(g);
}

TEST(open_errors_name_the_file) {
    CHECK(!gguf_open("/nonexistent/x.gguf"));
    CHECK(strstr(seek_last_error(), "/nonexistent/x.gguf: No such file"));
    CHECK(!gguf_open("tests"));
    CHECK(strstr(seek_last_error(), "is a directory"));
    CHECK(!gguf_open("Makefile"));
    CHECK(strstr(seek_last_error(), "Makefile: not a GGUF file"));
}

TEST(writer_rejects_bad_input) {
    gguf_writer *w = gguf_writer_new();
    CHECK(gguf_set_u32(w, "general.alignment", 48) != 0);
    CHECK(gguf_set_u32(w, "", 1) != 0);
    CHECK(gguf_add_tensor(w, "a_name_that_is_far_too_long_for_ggml_to_accept_as_a_tensor_name_x", SEEK_TYPE_F32,
                          1, (int64_t[]){1}, "abcd", false) != 0);
    CHECK(gguf_add_tensor(w, "t", (seek_type)4, 1, (int64_t[]){1}, "abcd", false) != 0);
    CHECK(gguf_add_tensor(w, "t", SEEK_TYPE_F32, 5, (int64_t[]){1, 1, 1, 1, 1}, "abcd", false) != 0);
    CHECK(gguf_write(w, "/nonexistent/dir/x.gguf") != 0);
    CHECK(strstr(seek_last_error(), "/nonexistent/dir/x.gguf: cannot create"));
    gguf_writer_free(w);
}

TEST(custom_alignment) {
    gguf_writer *w = gguf_writer_new();
    CHECK(!gguf_set_u32(w, "general.alignment", 256));
    float x[3] = {1, 2, 3};
    CHECK(!gguf_add_tensor(w, "a", SEEK_TYPE_F32, 1, (int64_t[]){3}, x, false));
    CHECK(!gguf_add_tensor(w, "b", SEEK_TYPE_F32, 1, (int64_t[]){3}, x, false));
    CHECK(!gguf_write(w, path_b));
    gguf_writer_free(w);
    gguf_file *g = gguf_open(path_b);
    CHECK(g && g->alignment == 256 && g->data_offset % 256 == 0);
    CHECK(gguf_find_tensor(g, "b")->offset == 256);
    CHECK(((const float *)gguf_find_tensor(g, "b")->data)[2] == 3);
    gguf_close(g);
}

int main(void) {
    if (test_mkdtemp(tmpdir, "test-gguf")) return 1;
    snprintf(path_a, sizeof path_a, "%s/a.gguf", tmpdir);
    snprintf(path_b, sizeof path_b, "%s/b.gguf", tmpdir);
    RUN(minimal_file_parses);
    RUN(every_prefix_of_a_file_is_rejected);
    RUN(corrupting_any_header_byte_never_crashes);
    RUN(bad_headers_have_clear_messages);
    RUN(round_trip_every_value_and_tensor_type);
    RUN(nested_arrays_round_trip);
    RUN(rewriting_real_files_is_byte_identical);
    RUN(real_files_read_correctly);
    RUN(open_errors_name_the_file);
    RUN(writer_rejects_bad_input);
    RUN(custom_alignment);
    /* keep the all-types file for the `seek info` CLI test (tests/cli/test_info.sh) */
    char keep[512];
    const char *build = getenv("BUILD");
    snprintf(keep, sizeof keep, "%s/tests/writer-all-types.gguf", build ? build : "build");
    if (rename(path_a, keep) != 0) unlink(path_a);
    unlink(path_b);
    rmdir(tmpdir);
    return test_summary();
}
