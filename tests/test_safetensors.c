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

/* All 12 dtypes: parsed with the right element size and data pointer. Float
 * values are written as raw bit patterns worked out by hand from the formats. */
TEST(every_dtype_with_known_bits) {
    static const struct { const char *dtype; int size; } all[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F8_E4M3", 1}, {"F8_E5M2", 1},
        {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1}};
    char json[2048];
    uint8_t data[512], buf[4096];
    size_t o = 0, j = (size_t)snprintf(json, sizeof json, "{");
    for (int i = 0; i < 12; i++) {   /* 3 elements each, shape [3] */
        for (int k = 0; k < 3 * all[i].size; k++) data[o + (size_t)k] = (uint8_t)(i * 16 + k);
        j += (size_t)snprintf(json + j, sizeof json - j, "%s\"t%02d\":{\"dtype\":\"%s\",\"shape\":[3],"
                              "\"data_offsets\":[%zu,%zu]}", i ? "," : "", i, all[i].dtype, o,
                              o + 3 * (size_t)all[i].size);
        o += 3 * (size_t)all[i].size;
    }
    snprintf(json + j, sizeof json - j, "}");
    size_t n = make(buf, json, data, o);
    st_file *f = st_parse(buf, n, "all.safetensors");
    CHECK_MSG(f, "%s", seek_last_error());
    CHECK(f->n_tensors == 12);
    const uint8_t *base = buf + 8 + strlen(json);
    size_t at = 0;
    for (int i = 0; i < 12; i++) {
        const st_tensor *t = &f->tensors[i];
        CHECK_STR(st_dtype_name(t->dtype), all[i].dtype);
        CHECK((int)st_dtype_size(t->dtype) == all[i].size);
        CHECK(t->n_elements == 3 && t->nbytes == 3 * (uint64_t)all[i].size);
        CHECK((const uint8_t *)t->data == base + at && ((const uint8_t *)t->data)[0] == i * 16);
        at += t->nbytes;
    }
    st_close(f);

    /* f16: 1, -3, 0.25, 2^-24 (smallest subnormal), +inf */
    const uint16_t f16[5] = {0x3C00, 0xC200, 0x3400, 0x0001, 0x7C00};
    /* bf16: 7, -0.5, 1, 2^-133 (subnormal), -inf */
    const uint16_t bf16[5] = {0x40E0, 0xBF00, 0x3F80, 0x0001, 0xFF80};
    /* e4m3fn: 1, -3, 448 (max), 2^-9 (smallest subnormal), 0x7f is NaN */
    const uint8_t e4m3[5] = {0x38, 0xC4, 0x7E, 0x01, 0x7F};
    /* e5m2: 1, -3, 57344 (max), 2^-16 (smallest subnormal), +inf */
    const uint8_t e5m2[5] = {0x3C, 0xC2, 0x7B, 0x01, 0x7C};
    const float want16[5] = {1, -3, 0.25f, 0x1p-24f, INFINITY}, wantb[5] = {7, -0.5f, 1, 0x1p-133f, -INFINITY};
    const float want43[5] = {1, -3, 448, 0x1p-9f, NAN}, want52[5] = {1, -3, 57344, 0x1p-16f, INFINITY};
    memcpy(data, f16, 10);
    memcpy(data + 10, bf16, 10);
    memcpy(data + 20, e4m3, 5);
    memcpy(data + 25, e5m2, 5);
    n = make(buf, "{\"a\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
                  "\"b\":{\"dtype\":\"BF16\",\"shape\":[5],\"data_offsets\":[10,20]},"
                  "\"c\":{\"dtype\":\"F8_E4M3\",\"shape\":[5],\"data_offsets\":[20,25]},"
                  "\"d\":{\"dtype\":\"F8_E5M2\",\"shape\":[5],\"data_offsets\":[25,30]}}", data, 30);
    f = st_parse(buf, n, "bits.safetensors");
    CHECK_MSG(f, "%s", seek_last_error());
    const float *want[4] = {want16, wantb, want43, want52};
    for (int i = 0; i < 4; i++) {
        float out[5];
        CHECK_MSG(!st_to_f32(&f->tensors[i], out), "%s", seek_last_error());
        for (int k = 0; k < 5; k++)
            CHECK_MSG(isnan(want[i][k]) ? isnan(out[k]) : out[k] == want[i][k], "%s[%d] = %g, expected %g",
                      f->tensors[i].name, k, out[k], want[i][k]);
    }
    st_close(f);
}

/* Valid corner cases the reference reader also accepts. */
TEST(valid_corner_cases) {
    uint8_t buf[512], zeros[16] = {0};
    /* no tensors at all; trailing spaces (writers pad the header to 8 bytes) */
    size_t n = make(buf, "{}      ", NULL, 0);
    st_file *f = st_parse(buf, n, "empty.safetensors");
    CHECK_MSG(f && f->n_tensors == 0 && f->n_meta == 0, "%s", seek_last_error());
    st_close(f);
    /* "__metadata__": null is no metadata; zero-size tensors; unknown fields ignored */
    n = make(buf, "{\"__metadata__\":null,\"z\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[4,4]},"
                  "\"w\":{\"dtype\":\"I8\",\"shape\":[4],\"data_offsets\":[0,4],\"extra\":[1]}}", zeros, 4);
    f = st_parse(buf, n, "z.safetensors");
    CHECK_MSG(f && f->n_tensors == 2 && f->n_meta == 0, "%s", seek_last_error());
    const st_tensor *t = st_find(f, "z");
    CHECK(t && t->n_elements == 0 && t->nbytes == 0 && t->n_dims == 2 && t->shape[1] == 5);
    float dummy;
    CHECK(!st_to_f32(t, &dummy));
    st_close(f);
    /* 8 dims is the limit, not over it */
    n = make(buf, "{\"a\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,2],\"data_offsets\":[0,2]}}", zeros, 2);
    f = st_parse(buf, n, "d8.safetensors");
    CHECK_MSG(f && f->tensors[0].n_dims == 8, "%s", seek_last_error());
    st_close(f);
}

/* st_find is a binary search over names sorted by strcmp. */
TEST(find_many) {
    char json[8192];
    uint8_t buf[16384], zeros[200] = {0};
    size_t j = (size_t)snprintf(json, sizeof json, "{");
    for (int i = 0; i < 100; i++)   /* written in reverse order of name */
        j += (size_t)snprintf(json + j, sizeof json - j, "%s\"n.%03d\":{\"dtype\":\"BOOL\",\"shape\":[2],"
                              "\"data_offsets\":[%d,%d]}", i ? "," : "", 99 - i, 2 * i, 2 * i + 2);
    snprintf(json + j, sizeof json - j, "}");
    size_t n = make(buf, json, zeros, 200);
    st_file *f = st_parse(buf, n, "many.safetensors");
    CHECK_MSG(f && f->n_tensors == 100, "%s", seek_last_error());
    for (int i = 0; i < 100; i++) {
        char name[16];
        snprintf(name, sizeof name, "n.%03d", i);
        const st_tensor *t = st_find(f, name);
        CHECK_MSG(t == &f->tensors[i] && !strcmp(t->name, name), "%s", name);
        CHECK(t->data == buf + 8 + strlen(json) + 2 * (99 - i));
    }
    CHECK(!st_find(f, "n.") && !st_find(f, "n.0999") && !st_find(f, "") && !st_find(f, "z"));
    st_close(f);
}

/* More hostile headers; tensor problems are reported as "<path>: tensor 'a': ...". */
TEST(malformed_entries) {
    uint8_t buf[64] = {0};
    /* header length 0, and exactly one byte past the end */
    CHECK(!st_parse(buf, 8, "bad.safetensors") && strstr(seek_last_error(), "'{'"));
    uint64_t len = 9;
    memcpy(buf, &len, 8);
    memcpy(buf + 8, "{}      ", 8);
    CHECK(!st_parse(buf, 16, "bad.safetensors") && strstr(seek_last_error(), "past the end"));
    /* the limit is the reference's 100,000,000 bytes */
    len = 100000001;
    memcpy(buf, &len, 8);
    CHECK(!st_parse(buf, 16, "bad.safetensors") && strstr(seek_last_error(), "100 MB"));
    len = UINT64_MAX;
    memcpy(buf, &len, 8);
    CHECK(!st_parse(buf, 16, "bad.safetensors") && strstr(seek_last_error(), "100 MB"));
    const char *T = "tensor 'a': ";
    CHECK(rejects("{\"a\":\"F32\"}", 0, T));
    CHECK(rejects("{\"a\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': unsupported dtype 'f32'"));
    CHECK(rejects("{\"a\":{\"dtype\":\"U16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2, "tensor 'a': unsupported dtype 'U16'"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\\u0000x\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unsupported dtype"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":3,\"data_offsets\":[0,4]}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,4]}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,4]}}", 4, "header JSON"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807],\"data_offsets\":[0,4]}}", 4, "overflows"));
    CHECK(rejects("{\"a\":{\"dtype\":\"U8\",\"shape\":[9223372036854775807],\"data_offsets\":[0,4]}}", 4, "needs 9223372036854775807"));
    CHECK(rejects("{\"a\":{\"dtype\":\"U8\",\"shape\":[65536,65536,65536,65536],\"data_offsets\":[0,4]}}", 4, "overflows"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.0]}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":{\"0\":4}}}", 4, T));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551615]}}", 4, "header JSON"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[9223372036854775800,9223372036854775804]}}", 4, T));
    /* identical spans; an empty tensor inside another one */
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                  "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "overlaps tensor"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[2,2]},"
                  "\"b\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "tensor 'a': data [2, 2) overlaps tensor 'b'"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4, "header JSON"));
    CHECK(rejects("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},}", 4, "header JSON"));
    CHECK(rejects("{\"a\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "header JSON"));
    CHECK(rejects("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", 0, "not a string"));
    CHECK(rejects("{\"__metadata__\":\"pt\"}", 0, "not an object"));
    CHECK(rejects("{\"__metadata__\":{\"k\":\"v\"},\"__metadata__\":{}}", 0, "duplicate"));
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

/* A real checkpoint written by Hugging Face transformers (qwen2-tiny fixture).
 * Expected names, dtypes, shapes, data_offsets and float64 sums of the values
 * come from tests/data/hf/qwen2-tiny/make_expected.py (Python json + numpy). */
TEST(real_checkpoint) {
    st_file *f = st_open("tests/data/hf/qwen2-tiny/model.safetensors");
    CHECK_MSG(f, "%s", seek_last_error());
    CHECK(f->n_meta == 1 && !strcmp(f->meta_keys[0], "format") && !strcmp(f->meta_values[0], "pt"));
    FILE *e = fopen("tests/data/hf/qwen2-tiny/model.safetensors.expected", "r");
    CHECK(e);
    /* data section start: 8-byte length + JSON header */
    uint64_t hlen;
    memcpy(&hlen, f->map.data, 8);
    const uint8_t *base = f->map.data + 8 + hlen;
    char name[256], dtype[16];
    int nd, count = 0;
    while (fscanf(e, "%255s %15s %d", name, dtype, &nd) == 3) {
        const st_tensor *t = st_find(f, name);
        CHECK_MSG(t, "missing %s", name);
        CHECK_MSG(t == &f->tensors[count], "%s: not in sorted position %d", name, count);
        CHECK_MSG(!strcmp(st_dtype_name(t->dtype), dtype) && t->n_dims == nd, "%s", name);
        for (int d = 0; d < nd; d++) {
            long long s;
            CHECK(fscanf(e, "%lld", &s) == 1 && s == t->shape[d]);
        }
        unsigned long long b, en;
        double sum, sum_abs;
        CHECK(fscanf(e, "%llu %llu %lf %lf", &b, &en, &sum, &sum_abs) == 4);
        CHECK_MSG((const uint8_t *)t->data == base + b && t->nbytes == en - b, "%s: offsets", name);
        float *x = malloc(t->n_elements * sizeof *x);
        CHECK(x && !st_to_f32(t, x));
        double s = 0;
        for (uint64_t i = 0; i < t->n_elements; i++) s += x[i];
        free(x);
        CHECK_MSG(fabs(s - sum) <= 1e-9 * sum_abs, "%s: sum %.17g, expected %.17g", name, s, sum);
        count++;
    }
    fclose(e);
    CHECK(count == 26 && (size_t)count == f->n_tensors);
    st_close(f);
    CHECK(!st_open("tests/data/hf/qwen2-tiny/missing.safetensors") && strstr(seek_last_error(), "No such file"));
}

int main(void) {
    RUN(every_float_dtype);
    RUN(integer_dtype_is_read_but_not_converted);
    RUN(every_dtype_with_known_bits);
    RUN(valid_corner_cases);
    RUN(find_many);
    RUN(malformed_headers);
    RUN(malformed_entries);
    RUN(corrupting_any_byte_never_crashes);
    RUN(real_checkpoint);
    return test_summary();
}
