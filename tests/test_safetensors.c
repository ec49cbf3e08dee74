/* test_safetensors.c - the safetensors reader on generated files (every float
 * dtype, metadata), a real checkpoint, and malformed headers. */
#include <stdint.h>

#include "dtype.h"
#include "safetensors.h"
#include "test.h"

/* Build "<u64 len><json><data>" in buf; returns the total size. */
static size_t make(uint8_t *buf, const char *json, const void *data, size_t data_len) {
    uint64_t n = strlen(json);
    memcpy(buf, &n, 8);
    memcpy(buf + 8, json, n);
    if (data_len) memcpy(buf + 8 + n, data, data_len);
    return 8 + n + data_len;
}

static int rejects(const char *json, size_t data_len, const char *want) {
    static uint8_t buf[4096], zeros[512];
    size_t n = make(buf, json, zeros, data_len);
    st_file *f = st_parse(buf, n, "bad.safetensors");
    if (f) { st_close(f); printf("    accepted: %s\n", json); return 0; }
    if (!strstr(seek_last_error(), want) || strncmp(seek_last_error(), "bad.safetensors: ", 17)) {
        printf("    message '%s' lacks '%s'\n", seek_last_error(), want);
        return 0;
    }
    return 1;
}

TEST(every_float_dtype) {
    uint8_t buf[1024], data[64];
    float f32[2] = {1.5f, -2.0f};
    uint16_t f16[2] = {seek_fp32_to_fp16(0.25f), seek_fp32_to_fp16(-3.0f)};
    uint16_t bf16[2] = {seek_fp32_to_bf16(7.0f), seek_fp32_to_bf16(-0.5f)};
    double f64[1] = {1e-3};
    uint8_t f8[2] = {0x38, 0xC4};                        /* 1.0 and -3.0 in e4m3 */
    size_t o = 0;
    memcpy(data + o, f64, 8); o += 8;
    memcpy(data + o, f32, 8); o += 8;
    memcpy(data + o, f16, 4); o += 4;
    memcpy(data + o, bf16, 4); o += 4;
    memcpy(data + o, f8, 2); o += 2;
    const char *json =
        "{\"__metadata__\":{\"format\":\"pt\"},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[0,8]},"
        "\"a\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[8,16]},"
        "\"b\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[16,20]},"
        "\"c\":{\"dtype\":\"BF16\",\"shape\":[2,1],\"data_offsets\":[20,24]},"
        "\"e\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[24,26]}}";
    size_t n = make(buf, json, data, o);
    st_file *f = st_parse(buf, n, "t.safetensors");
    CHECK_MSG(f, "%s", seek_last_error());
    CHECK(f->n_tensors == 5 && f->n_meta == 1 && !strcmp(f->meta_keys[0], "format") && !strcmp(f->meta_values[0], "pt"));
    CHECK(!strcmp(f->tensors[0].name, "a") && !strcmp(f->tensors[4].name, "e"));   /* sorted */
    float out[2];
    const st_tensor *t = st_find(f, "a");
    CHECK(t && t->n_dims == 2 && t->shape[0] == 1 && t->shape[1] == 2 && !st_to_f32(t, out) && out[0] == 1.5f && out[1] == -2.0f);
    t = st_find(f, "b");
    CHECK(t && !st_to_f32(t, out) && out[0] == 0.25f && out[1] == -3.0f);
    t = st_find(f, "c");
    CHECK(t && !st_to_f32(t, out) && out[0] == 7.0f && out[1] == -0.5f);
    t = st_find(f, "d");
    CHECK(t && t->n_dims == 0 && t->n_elements == 1 && !st_to_f32(t, out) && out[0] == (float)1e-3);
    t = st_find(f, "e");
    CHECK(t && !st_to_f32(t, out) && out[0] == 1.0f && out[1] == -3.0f);
    CHECK(!st_find(f, "zz") && !st_find(f, "__metadata__"));
    st_close(f);
}

TEST(integer_dtype_is_read_but_not_converted) {
    uint8_t buf[256];
    int32_t v[2] = {1, 2};
    size_t n = make(buf, "{\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[0,8]}}", v, 8);
    st_file *f = st_parse(buf, n, "i.safetensors");
    CHECK(f && f->tensors[0].dtype == ST_I32);
    float out[2];
    CHECK(st_to_f32(&f->tensors[0], out) != 0 && strstr(seek_last_error(), "I32"));
    st_close(f);
}

TEST(malformed_headers) {
    uint8_t buf[64] = {0};
    CHECK(!st_parse(buf, 4, "bad.safetensors") && strstr(seek_last_error(), "only 4 bytes"));
    uint64_t huge = 1ULL << 40;
    memcpy(buf, &huge, 8);
    CHECK(!st_parse(buf, 16, "bad.safetensors") && strstr(seek_last_error(), "100 MB"));
    uint64_t past = 1000;
    memcpy(buf, &past, 8);
    CHECK(!st_parse(buf, 16, "bad.safetensors") && strstr(seek_last_error(), "past the end"));
    CHECK(rejects("[1,2]", 0, "does not start with '{'"));
    CHECK(rejects("{\"a\":", 0, "header JSON"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\"}, \"a\":{}}", 0, "duplicate"));
    CHECK(rejects("{\"a\":3}", 0, "not a JSON object"));
    CHECK(rejects("{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "\"dtype\""));
    CHECK(rejects("{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unsupported dtype 'Q4'"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "\"shape\""));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "non-negative"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "9 dimensions"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4, "overflows"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "invalid data_offsets"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,400]}}", 4, "past the end of the data"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8, "overlaps"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "belong to no tensor"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "at the end of the data"));
    CHECK(rejects("{\"__metadata__\":{\"k\":1}}", 0, "not a string"));
    CHECK(rejects("{\"__metadata__\":[]}", 0, "not an object"));
}

/* Flip every header byte of a small valid file: parse or fail cleanly. */
TEST(corrupting_any_byte_never_crashes) {
    uint8_t buf[512], m[512];
    float v[3] = {1, 2, 3};
    size_t n = make(buf, "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                         "\"__metadata__\":{\"a\":\"b\"}}", v, 12);
    const uint8_t vals[] = {0, '"', '9', '{', 0xff, ']'};
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof vals; k++) {
            memcpy(m, buf, n);
            m[i] = vals[k];
            st_file *f = st_parse(m, n, "m.safetensors");
            st_close(f);
        }
    for (size_t cut = 0; cut < n; cut++) {
        st_file *f = st_parse(buf, cut, "cut.safetensors");
        CHECK_MSG(!f, "file cut to %zu bytes accepted", cut);
    }
}

/* A real checkpoint written by Hugging Face transformers (qwen2-tiny fixture);
 * expected names/shapes from its header as read by Python's json module. */
TEST(real_checkpoint) {
    st_file *f = st_open("tests/data/safetensors/qwen2-tiny.safetensors");
    CHECK_MSG(f, "%s", seek_last_error());
    FILE *e = fopen("tests/data/safetensors/qwen2-tiny.expected", "r");
    CHECK(e);
    char name[256], dtype[16];
    int nd, count = 0;
    while (fscanf(e, "%255s %15s %d", name, dtype, &nd) == 3) {
        const st_tensor *t = st_find(f, name);
        CHECK_MSG(t, "missing %s", name);
        CHECK_MSG(!strcmp(st_dtype_name(t->dtype), dtype) && t->n_dims == nd, "%s", name);
        for (int d = 0; d < nd; d++) {
            long long s;
            CHECK(fscanf(e, "%lld", &s) == 1 && s == t->shape[d]);
        }
        count++;
    }
    fclose(e);
    CHECK(count > 0 && (size_t)count == f->n_tensors);
    /* values: first and last float of the embedding match the raw bytes */
    const st_tensor *t = st_find(f, "model.embed_tokens.weight");
    float *x = malloc(t->n_elements * sizeof *x);
    CHECK(!st_to_f32(t, x));
    float first;
    memcpy(&first, t->data, 4);
    CHECK(x[0] == first);
    free(x);
    st_close(f);
    CHECK(!st_open("tests/data/safetensors/missing.safetensors") && strstr(seek_last_error(), "No such file"));
}

int main(void) {
    RUN(every_float_dtype);
    RUN(integer_dtype_is_read_but_not_converted);
    RUN(malformed_headers);
    RUN(corrupting_any_byte_never_crashes);
    RUN(real_checkpoint);
    return test_summary();
}
