/* test_dtype.c - tensor types: the type table, scalar float conversions, and
 * (de)quantization checked against data written by a llama.cpp-family
 * quantizer (tests/data/quants/, cut from the shared fixtures by extract.py).
 */
#include <float.h>
#include <stdint.h>

#include "dtype.h"
#include "test.h"
#include "util.h"

/* ------------------------------------------------------------------------
 * helpers
 * ---------------------------------------------------------------------- */

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rng_u32(void) {       /* xorshift64* */
    rng_state ^= rng_state >> 12; rng_state ^= rng_state << 25; rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}
static double rng_uniform(void) { return (rng_u32() + 0.5) / 4294967296.0; }
static double rng_normal(void) {
    return sqrt(-2.0 * log(rng_uniform())) * cos(6.283185307179586 * rng_uniform());
}

static void *read_all(const char *path, size_t *len) {
    char *p = seek_read_file(path, len);
    if (!p) printf("# %s\n", seek_last_error());
    return p;
}

/* sqrt(sum (a-b)^2 / sum a^2): error relative to the RMS of the input. */
static double rel_rmse(const float *ref, const float *got, int64_t n) {
    double e = 0, s = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)got[i] - ref[i];
        e += d * d;
        s += (double)ref[i] * ref[i];
    }
    return s > 0 ? sqrt(e / s) : sqrt(e);
}

/* ------------------------------------------------------------------------
 * the type table
 * ---------------------------------------------------------------------- */

/* Block size / bytes per block from gguf-py's GGML_QUANT_SIZES (constants.py). */
static const struct { int id; const char *name; int bs, ts; } ggml_sizes[] = {
    {0, "F32", 1, 4}, {1, "F16", 1, 2}, {2, "Q4_0", 32, 18}, {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22}, {7, "Q5_1", 32, 24}, {8, "Q8_0", 32, 34}, {9, "Q8_1", 32, 36},
    {10, "Q2_K", 256, 84}, {11, "Q3_K", 256, 110}, {12, "Q4_K", 256, 144},
    {13, "Q5_K", 256, 176}, {14, "Q6_K", 256, 210}, {15, "Q8_K", 256, 292},
    {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74}, {18, "IQ3_XXS", 256, 98},
    {19, "IQ1_S", 256, 50}, {20, "IQ4_NL", 32, 18}, {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82}, {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1}, {25, "I16", 1, 2},
    {26, "I32", 1, 4}, {27, "I64", 1, 8}, {28, "F64", 1, 8}, {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2}, {34, "TQ1_0", 256, 54}, {35, "TQ2_0", 256, 66}, {39, "MXFP4", 32, 17},
};

TEST(table_matches_ggml) {
    int known = 0;
    for (size_t i = 0; i < sizeof ggml_sizes / sizeof ggml_sizes[0]; i++) {
        const seek_type_info *ti = seek_type_get((uint32_t)ggml_sizes[i].id);
        CHECK_MSG(ti, "type %d missing", ggml_sizes[i].id);
        CHECK_STR(ti->name, ggml_sizes[i].name);
        CHECK_MSG(ti->block_size == ggml_sizes[i].bs && ti->type_size == ggml_sizes[i].ts,
                  "%s: %d/%d, ggml says %d/%d", ti->name, ti->block_size, ti->type_size,
                  ggml_sizes[i].bs, ggml_sizes[i].ts);
        CHECK(seek_type_from_name(ggml_sizes[i].name) == ggml_sizes[i].id);
    }
    for (uint32_t t = 0; t < 64; t++) known += seek_type_get(t) != NULL;
    CHECK(known == (int)(sizeof ggml_sizes / sizeof ggml_sizes[0]));
}

TEST(table_edge_cases) {
    /* removed from the format: Q4_2, Q4_3, Q4_0_4_4, Q4_0_4_8, Q4_0_8_8, IQ4_NL_x_x */
    const uint32_t removed[] = {4, 5, 31, 32, 33, 36, 37, 38};
    for (size_t i = 0; i < sizeof removed / sizeof removed[0]; i++) {
        CHECK(seek_type_get(removed[i]) == NULL);
        CHECK(seek_row_size((seek_type)removed[i], 256) == 0);
    }
    CHECK(seek_type_get(SEEK_TYPE_COUNT) == NULL);
    CHECK(seek_type_get(40) == NULL);
    CHECK(seek_type_get(0xFFFFFFFFu) == NULL);
    CHECK(seek_type_get(0x80000000u) == NULL);
    CHECK(seek_row_size((seek_type)-1, 256) == 0);
    CHECK(seek_row_size((seek_type)1000, 256) == 0);

    CHECK(seek_type_from_name("q8_0") == SEEK_TYPE_Q8_0);
    CHECK(seek_type_from_name("bf16") == SEEK_TYPE_BF16);
    CHECK(seek_type_from_name("Iq4_Nl") == SEEK_TYPE_IQ4_NL);
    CHECK(seek_type_from_name("Q3_K_S") == -1);   /* a file type, not a tensor type */
    CHECK(seek_type_from_name("Q4_2") == -1);
    CHECK(seek_type_from_name("") == -1);
    CHECK(seek_type_from_name("F32 ") == -1);
    CHECK(seek_type_from_name(NULL) == -1);

    CHECK(seek_row_size(SEEK_TYPE_F32, 7) == 28);
    CHECK(seek_row_size(SEEK_TYPE_Q4_0, 64) == 36);
    CHECK(seek_row_size(SEEK_TYPE_Q4_K, 512) == 288);
    CHECK(seek_row_size(SEEK_TYPE_Q6_K, 7168) == 28 * 210);
    CHECK(seek_row_size(SEEK_TYPE_Q4_K, 0) == 0);
    CHECK(seek_row_size(SEEK_TYPE_Q4_K, 100) == 0);       /* not a multiple of 256 */
    CHECK(seek_row_size(SEEK_TYPE_Q8_0, -32) == 0);
    CHECK(seek_row_size(SEEK_TYPE_F32, INT64_MAX) == 0);   /* 2^65 bytes: overflows */
}

TEST(dispatch_errors) {
    float out[256] = {0}, in[256] = {0};
    uint8_t buf[256 * 8] = {0};   /* a row of 256 F64 */
    CHECK(seek_dequantize_row((seek_type)4, buf, out, 32) == -1);
    CHECK(strstr(seek_last_error(), "unknown tensor type 4"));
    CHECK(seek_quantize_row((seek_type)99, in, buf, 32) == -1);
    CHECK(seek_dequantize_row(SEEK_TYPE_IQ2_XXS, buf, out, 256) == -1);
    CHECK(strstr(seek_last_error(), "IQ2_XXS") && strstr(seek_last_error(), "not supported"));
    CHECK(seek_quantize_row(SEEK_TYPE_MXFP4, in, buf, 32) == -1);
    CHECK(seek_dequantize_row(SEEK_TYPE_Q4_K, buf, out, 100) == -1);
    CHECK(strstr(seek_last_error(), "block size 256"));
    CHECK(seek_quantize_row(SEEK_TYPE_Q8_0, in, buf, -32) == -1);
    /* The flags say exactly what works: every flagged type converts a row of
     * zeros to zeros, every other known type is refused. */
    for (uint32_t t = 0; t < SEEK_TYPE_COUNT; t++) {
        const seek_type_info *ti = seek_type_get(t);
        if (!ti) continue;
        memset(buf, 0, sizeof buf);
        for (int i = 0; i < 256; i++) out[i] = 1.0f;
        int rc = seek_dequantize_row((seek_type)t, buf, out, 256);
        CHECK_MSG((rc == 0) == ti->can_dequantize, "%s: dequantize rc %d", ti->name, rc);
        if (rc == 0 && t != SEEK_TYPE_MXFP4)   /* MXFP4 zero bytes: scale 2^-128, still 0 */
            for (int i = 0; i < 256; i++) CHECK_MSG(out[i] == 0.0f, "%s: %g", ti->name, out[i]);
        rc = seek_quantize_row((seek_type)t, in, buf, 256);
        CHECK_MSG((rc == 0) == ti->can_quantize, "%s: quantize rc %d", ti->name, rc);
    }
}

/* ------------------------------------------------------------------------
 * scalar conversions
 * ---------------------------------------------------------------------- */

/* fp16 value by the textbook formula, in double. */
static double fp16_formula(uint16_t h) {
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

TEST(fp16_exhaustive) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = seek_fp16_to_fp32((uint16_t)h);
        double ref = fp16_formula((uint16_t)h);
        if (isnan(ref)) {
            CHECK_MSG(isnan(f), "0x%04x: %g not NaN", h, f);
            uint16_t back = seek_fp32_to_fp16(f);
            CHECK_MSG((back & 0x7C00) == 0x7C00 && (back & 0x3FF) && (back & 0x8000) == (h & 0x8000),
                      "NaN 0x%04x -> 0x%04x", h, back);
            continue;
        }
        CHECK_MSG((double)f == ref && !signbit(f) == !signbit(ref), "0x%04x: %.9g != %.9g", h, f, ref);
        CHECK_MSG(seek_fp32_to_fp16(f) == h, "0x%04x round trips to 0x%04x", h, seek_fp32_to_fp16(f));
    }
}

TEST(fp16_rounding) {
    /* Every midpoint between consecutive positive fp16 values (subnormals,
     * normals, the last one before inf) rounds to the even neighbour, and one
     * float ulp either side rounds to the nearer one. */
    for (uint32_t h = 0; h < 0x7C00; h++) {
        float lo = seek_fp16_to_fp32((uint16_t)h);
        double hi = h + 1 == 0x7C00 ? 65536.0 : fp16_formula((uint16_t)(h + 1));
        float mid = (float)((lo + hi) / 2);           /* exact: 12 significant bits */
        uint16_t even = (h & 1) ? (uint16_t)(h + 1) : (uint16_t)h;
        CHECK_MSG(seek_fp32_to_fp16(mid) == even, "mid 0x%04x: got 0x%04x", h, seek_fp32_to_fp16(mid));
        CHECK(seek_fp32_to_fp16(nextafterf(mid, 0)) == h);
        CHECK(seek_fp32_to_fp16(nextafterf(mid, INFINITY)) == h + 1);
        CHECK(seek_fp32_to_fp16(-mid) == (0x8000 | even));
    }
    CHECK(seek_fp32_to_fp16(65504.0f) == 0x7BFF);
    CHECK(seek_fp32_to_fp16(65519.996f) == 0x7BFF);
    CHECK(seek_fp32_to_fp16(65520.0f) == 0x7C00);      /* tie, rounds to even = inf */
    CHECK(seek_fp32_to_fp16(1e10f) == 0x7C00);
    CHECK(seek_fp32_to_fp16(-FLT_MAX) == 0xFC00);
    CHECK(seek_fp32_to_fp16(INFINITY) == 0x7C00);
    CHECK(seek_fp32_to_fp16(-INFINITY) == 0xFC00);
    CHECK(seek_fp32_to_fp16(-0.0f) == 0x8000);
    CHECK(seek_fp32_to_fp16(0x1p-24f) == 0x0001);      /* smallest subnormal */
    CHECK(seek_fp32_to_fp16(0x1p-25f) == 0x0000);      /* tie with 0: even */
    CHECK(seek_fp32_to_fp16(0x1.000002p-25f) == 0x0001);
    CHECK(seek_fp32_to_fp16(0x1.8p-24f) == 0x0002);    /* 1.5 ulp: tie, to even */
    CHECK(seek_fp32_to_fp16(FLT_MIN) == 0x0000);
    CHECK(seek_fp32_to_fp16(0x1p-149f) == 0x0000);     /* float subnormal */
    CHECK(seek_fp32_to_fp16(0x1.ff8p-15f) == 0x03FF);  /* largest subnormal */
    CHECK(seek_fp32_to_fp16(0x1.ffcp-15f) == 0x0400);  /* tie: up to the smallest normal */
    uint16_t qn = seek_fp32_to_fp16(NAN);
    CHECK((qn & 0x7E00) == 0x7E00);
    CHECK((seek_fp32_to_fp16(u2f(0x7F800001)) & 0x7E00) == 0x7E00);   /* signalling -> quiet */
#ifdef __FLT16_MAX__
    /* The compiler's own conversion as an independent reference, on random bits. */
    for (int i = 0; i < 200000; i++) {
        float f = u2f(rng_u32());
        if (isnan(f)) continue;
        _Float16 r = (_Float16)f;
        uint16_t rb;
        memcpy(&rb, &r, 2);
        CHECK_MSG(seek_fp32_to_fp16(f) == rb, "%a: 0x%04x, compiler 0x%04x", f, seek_fp32_to_fp16(f), rb);
    }
#endif
}

/* Nearest bf16 to a float by brute force, for the check below. */
static uint16_t bf16_nearest(float f) {
    uint32_t u = f2u(f);
    uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
    double dl = fabs((double)f - u2f((uint32_t)lo << 16));
    double vh = (hi & 0x7FFF) == 0x7F80 ? ldexp(1.0, 128) * (f < 0 ? -1 : 1) : u2f((uint32_t)hi << 16);
    double dh = fabs((double)f - vh);
    if (dl < dh) return lo;
    if (dh < dl) return hi;
    return (lo & 1) ? hi : lo;
}

TEST(bf16_conversions) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = seek_bf16_to_fp32((uint16_t)h);
        CHECK(f2u(f) == h << 16);
        uint16_t back = seek_fp32_to_bf16(f);
        if ((h & 0x7FFF) > 0x7F80) {
            CHECK_MSG(isnan(f) && (back & 0x7FC0) == 0x7FC0 && (back & 0x8000) == (h & 0x8000),
                      "NaN 0x%04x -> 0x%04x", h, back);
        } else {
            CHECK_MSG(back == h, "0x%04x -> 0x%04x", h, back);
        }
    }
    CHECK(seek_fp32_to_bf16(u2f(0x3F808000)) == 0x3F80);   /* tie, even below */
    CHECK(seek_fp32_to_bf16(u2f(0x3F818000)) == 0x3F82);   /* tie, even above */
    CHECK(seek_fp32_to_bf16(u2f(0x3F808001)) == 0x3F81);
    CHECK(seek_fp32_to_bf16(u2f(0x3F807FFF)) == 0x3F80);
    CHECK(seek_fp32_to_bf16(u2f(0xBF818000)) == 0xBF82);
    CHECK(seek_fp32_to_bf16(FLT_MAX) == 0x7F80);           /* rounds up to inf */
    CHECK(seek_fp32_to_bf16(-INFINITY) == 0xFF80);
    CHECK(seek_fp32_to_bf16(u2f(0x00018000)) == 0x0002);   /* subnormal tie */
    CHECK(seek_fp32_to_bf16(u2f(0x7F800001)) == 0x7FC0);   /* signalling NaN made quiet */
    CHECK(seek_fp32_to_bf16(u2f(0xFF800001)) == 0xFFC0);
    CHECK(seek_fp32_to_bf16(u2f(0x7FFFFFFF)) == 0x7FFF);   /* NaN payload not rounded into inf */
    for (int i = 0; i < 200000; i++) {
        float f = u2f(rng_u32());
        if (isnan(f)) continue;
        CHECK_MSG(seek_fp32_to_bf16(f) == bf16_nearest(f), "%a", f);
    }
}

TEST(fp8_e4m3_all) {
    int nans = 0;
    for (int v = 0; v < 256; v++) {
        int s = v >> 7, e = (v >> 3) & 15, m = v & 7;
        float f = seek_fp8_e4m3_to_fp32((uint8_t)v);
        if (e == 15 && m == 7) {
            CHECK_MSG(isnan(f), "0x%02x", v);
            nans++;
            continue;
        }
        double ref = e == 0 ? m / 8.0 * pow(2, -6) : (1 + m / 8.0) * pow(2, e - 7);
        if (s) ref = -ref;
        CHECK_MSG((double)f == ref && !signbit(f) == !s, "0x%02x: %g != %g", v, f, ref);
    }
    CHECK(nans == 2);
    CHECK(seek_fp8_e4m3_to_fp32(0x7E) == 448.0f);
    CHECK(seek_fp8_e4m3_to_fp32(0x01) == 0x1p-9f);
    CHECK(seek_fp8_e4m3_to_fp32(0x38) == 1.0f);
}

/* ------------------------------------------------------------------------
 * fixtures: blocks written by a llama.cpp-family quantizer (--pure, no imatrix)
 * ---------------------------------------------------------------------- */

#define DATA "tests/data/quants/"

typedef struct { char type[16], tensor[64]; int ne0, rows; } fixture_case;

static int load_manifest(fixture_case *cases, int cap) {
    size_t len;
    char *text = read_all(DATA "manifest.txt", &len);
    if (!text) return -1;
    int n = 0;
    for (char *line = strtok(text, "\n"); line && n < cap; line = strtok(NULL, "\n")) {
        if (line[0] == '#') continue;
        fixture_case *c = &cases[n];
        if (sscanf(line, "%15s %63s %d %d", c->type, c->tensor, &c->ne0, &c->rows) == 4) n++;
    }
    free(text);
    return n;
}

static void *load_case_file(const fixture_case *c, const char *suffix, size_t expect) {
    char path[256];
    if (strcmp(suffix, "src.f32") == 0) snprintf(path, sizeof path, DATA "%s.src.f32", c->tensor);
    else snprintf(path, sizeof path, DATA "%s.%s.%s", c->type, c->tensor, suffix);
    size_t len;
    void *p = read_all(path, &len);
    if (p && len != expect) {
        printf("# %s: %zu bytes, expected %zu\n", path, len, expect);
        free(p);
        return NULL;
    }
    return p;
}

TEST(fixtures_dequantize) {
    fixture_case cases[64];
    int n = load_manifest(cases, 64);
    CHECK(n == 36);   /* 12 types x 3 tensors */
    for (int k = 0; k < n; k++) {
        const fixture_case *c = &cases[k];
        int t = seek_type_from_name(c->type);
        CHECK_MSG(t >= 0, "%s", c->type);
        size_t rs = seek_row_size((seek_type)t, c->ne0), nv = (size_t)c->ne0 * c->rows;
        uint8_t *q = load_case_file(c, "q", rs * c->rows);
        float *ref = load_case_file(c, "ref.f32", nv * 4);
        float *out = malloc(nv * 4);
        CHECK(q && ref && out);
        for (int r = 0; r < c->rows; r++)
            CHECK(seek_dequantize_row((seek_type)t, q + r * rs, out + (size_t)r * c->ne0, c->ne0) == 0);
        /* bit-exact: same operations in the same order as the reference */
        size_t bad = 0;
        for (size_t i = 0; i < nv; i++) bad += f2u(out[i]) != f2u(ref[i]);
        CHECK_MSG(bad == 0, "%s %s: %zu of %zu values differ (first: %g vs %g)", c->type, c->tensor,
                  bad, nv, out[0], ref[0]);
        free(q); free(ref); free(out);
    }
}

TEST(fixtures_quantize) {
    fixture_case cases[64];
    int n = load_manifest(cases, 64), failed = 0;
    CHECK(n == 36);
    for (int k = 0; k < n; k++) {
        const fixture_case *c = &cases[k];
        int t = seek_type_from_name(c->type);
        size_t rs = seek_row_size((seek_type)t, c->ne0), nv = (size_t)c->ne0 * c->rows;
        uint8_t *q = load_case_file(c, "q", rs * c->rows);
        float *src = load_case_file(c, "src.f32", nv * 4);
        uint8_t *out = malloc(rs * c->rows);
        CHECK(q && src && out);
        int bad_rows = 0;
        for (int r = 0; r < c->rows; r++) {
            CHECK(seek_quantize_row((seek_type)t, src + (size_t)r * c->ne0, out + r * rs, c->ne0) == 0);
            bad_rows += memcmp(out + r * rs, q + r * rs, rs) != 0;
        }
        if (bad_rows) {
            printf("# %s %s: %d of %d rows not byte-identical\n", c->type, c->tensor, bad_rows, c->rows);
            failed++;
        }
        free(q); free(src); free(out);
    }
    CHECK_MSG(failed == 0, "%d of %d cases not byte-identical", failed, n);
}

/* ------------------------------------------------------------------------
 * round trips
 * ---------------------------------------------------------------------- */

/* Worst relative RMSE (error RMS / input RMS) allowed per type for
 * well-scaled data; docs/types.md lists the measured values. */
static const struct { seek_type type; double normal, outliers; } bounds[] = {
    /* type           normal/uniform/huge/small/shifted   outliers/sparse */
    {SEEK_TYPE_F32,  0,      0},
    {SEEK_TYPE_F16,  3e-4,   3e-4},
    {SEEK_TYPE_BF16, 2.2e-3, 2.2e-3},
    {SEEK_TYPE_Q8_0, 7e-3,   1.6e-2},
    {SEEK_TYPE_Q8_1, 7e-3,   1.6e-2},
    {SEEK_TYPE_Q8_K, 1e-2,   3.6e-2},
    {SEEK_TYPE_Q6_K, 2.2e-2, 4.5e-2},
    {SEEK_TYPE_Q5_0, 5.6e-2, 1.15e-1},
    {SEEK_TYPE_Q5_1, 5e-2,   7e-2},
    {SEEK_TYPE_Q5_K, 4.6e-2, 6.8e-2},
    {SEEK_TYPE_Q4_0, 1.1e-1, 1.8e-1},
    {SEEK_TYPE_IQ4_NL, 9.5e-2, 1.6e-1},
    {SEEK_TYPE_Q4_1, 1e-1,   1.55e-1},
    {SEEK_TYPE_Q4_K, 9e-2,   1.35e-1},
    {SEEK_TYPE_Q3_K, 1.9e-1, 1.9e-1},
    {SEEK_TYPE_Q2_K, 3.8e-1, 5.6e-1},
};

#define RT_N 1024   /* values per test row: 4 super-blocks */

enum { D_NORMAL, D_UNIFORM, D_HUGE, D_SMALL, D_OUTLIERS, D_SPARSE, D_SHIFTED, D_KINDS };
static const char *kind_name[D_KINDS] = {"normal", "uniform", "huge(x1e3)", "small(x1e-2)",
                                         "outliers", "sparse", "shifted"};

static void make_row(int kind, float *x) {
    for (int i = 0; i < RT_N; i++) {
        double v = rng_normal();
        switch (kind) {
        case D_UNIFORM: v = 2 * rng_uniform() - 1; break;
        case D_HUGE: v *= 1e3; break;
        case D_SMALL: v *= 1e-2; break;
        case D_OUTLIERS: if (rng_u32() % 64 == 0) v *= 30; break;   /* ~1.5% large values */
        case D_SPARSE: if (rng_u32() % 4) v = 0; break;             /* 3 of 4 exactly zero */
        case D_SHIFTED: v = 0.25 * v + 3; break;                    /* all positive, offset */
        default: break;
        }
        x[i] = (float)v;
    }
}

TEST(round_trip) {
    static float x[RT_N], y[RT_N];
    static uint8_t q[RT_N * 4];
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        seek_type t = bounds[b].type;
        const char *name = seek_type_get(t)->name;
        for (int kind = 0; kind < D_KINDS; kind++) {
            double worst = 0;
            for (int rep = 0; rep < 8; rep++) {
                make_row(kind, x);
                CHECK(seek_quantize_row(t, x, q, RT_N) == 0);
                CHECK(seek_dequantize_row(t, q, y, RT_N) == 0);
                double e = rel_rmse(x, y, RT_N);
                if (e > worst) worst = e;
            }
            double bound = kind == D_OUTLIERS || kind == D_SPARSE ? bounds[b].outliers : bounds[b].normal;
            if (getenv("SEEK_TEST_VERBOSE")) printf("# %-5s %-13s %.3e\n", name, kind_name[kind], worst);
            CHECK_MSG(worst <= bound, "%s %s: relative RMSE %.3e > %.1e", name, kind_name[kind], worst, bound);
        }
        /* Rows of zeros come back as exact zeros; so does a block of zeros in
         * the middle of a non-zero row. */
        memset(x, 0, sizeof x);
        CHECK(seek_quantize_row(t, x, q, RT_N) == 0);
        CHECK(seek_dequantize_row(t, q, y, RT_N) == 0);
        for (int i = 0; i < RT_N; i++) CHECK_MSG(y[i] == 0.0f, "%s: zero row gives %g", name, y[i]);
        make_row(D_NORMAL, x);
        for (int i = 256; i < 512; i++) x[i] = 0;
        CHECK(seek_quantize_row(t, x, q, RT_N) == 0);
        CHECK(seek_dequantize_row(t, q, y, RT_N) == 0);
        for (int i = 256; i < 512; i++) CHECK_MSG(y[i] == 0.0f, "%s: zero block gives %g", name, y[i]);
        /* Extreme scales must not produce NaN/inf (fp16 scales underflow or
         * saturate gracefully): values ~1e-7 and ~1e4 (fp16 types excepted). */
        for (int s = 0; s < 2; s++) {
            make_row(D_NORMAL, x);
            for (int i = 0; i < RT_N; i++) x[i] *= s ? 1e4f : 1e-7f;
            CHECK(seek_quantize_row(t, x, q, RT_N) == 0);
            CHECK(seek_dequantize_row(t, q, y, RT_N) == 0);
            if (s && t == SEEK_TYPE_F16) continue;   /* 1e4 * 4 sigma overflows fp16 by design */
            for (int i = 0; i < RT_N; i++) CHECK_MSG(isfinite(y[i]), "%s: %g -> %g", name, x[i], y[i]);
        }
    }
}

/* Non-finite input must not crash or trip the sanitizers (the output is
 * garbage, as in ggml). */
TEST(non_finite_input) {
    static float x[RT_N], y[RT_N];
    static uint8_t q[RT_N * 4];
    for (size_t b = 0; b < sizeof bounds / sizeof bounds[0]; b++) {
        make_row(D_NORMAL, x);
        x[3] = NAN; x[300] = INFINITY; x[700] = -INFINITY;
        CHECK(seek_quantize_row(bounds[b].type, x, q, RT_N) == 0);
        CHECK(seek_dequantize_row(bounds[b].type, q, y, RT_N) == 0);
    }
}

/* Any bytes dequantize without crashing; with hostile bytes, results may be
 * inf/NaN but reading is always in bounds. */
TEST(random_bytes_dequantize) {
    static uint8_t q[RT_N * 8 + 64];
    static float y[RT_N];
    for (uint32_t t = 0; t < SEEK_TYPE_COUNT; t++) {
        const seek_type_info *ti = seek_type_get(t);
        if (!ti || !ti->can_dequantize) continue;
        for (size_t i = 0; i < sizeof q; i++) q[i] = (uint8_t)rng_u32();
        size_t rs = seek_row_size((seek_type)t, RT_N);
        CHECK(rs <= sizeof q);
        CHECK(seek_dequantize_row((seek_type)t, q + 1, y, RT_N) == 0);   /* unaligned on purpose */
    }
}

/* MXFP4 nibbles are FP4 E2M1 (sign, 2-bit exponent bias 1, 1-bit mantissa)
 * times 2^(e-127); IQ4_NL nibbles index a fixed grid. Value j of a block sits
 * in the low nibble of byte j, value j+16 in the high nibble. */
TEST(mxfp4_iq4nl_layout) {
    uint8_t b[17];
    float y[32];
    for (int e = 120; e <= 130; e += 5) {
        b[0] = (uint8_t)e;
        for (int j = 0; j < 16; j++) b[1 + j] = (uint8_t)(j | (15 - j) << 4);
        CHECK(seek_dequantize_row(SEEK_TYPE_MXFP4, b, y, 32) == 0);
        for (int j = 0; j < 32; j++) {
            int nib = j < 16 ? j : 15 - (j - 16);
            int sgn = nib >> 3, ex = (nib >> 1) & 3, m = nib & 1;
            double v = ex == 0 ? m * 0.5 : (1 + m / 2.0) * ldexp(1, ex - 1);
            v = (sgn ? -v : v) * ldexp(1, e - 127);
            CHECK_MSG(y[j] == (float)v, "e %d j %d: %g != %g", e, j, y[j], v);
        }
    }
    static const int grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    uint8_t c[18] = {0x00, 0x3C};   /* d = fp16 1.0 */
    for (int j = 0; j < 16; j++) c[2 + j] = (uint8_t)(j | (15 - j) << 4);
    CHECK(seek_dequantize_row(SEEK_TYPE_IQ4_NL, c, y, 32) == 0);
    for (int j = 0; j < 16; j++) CHECK(y[j] == grid[j] && y[16 + j] == grid[15 - j]);
}

int main(void) {
    RUN(table_matches_ggml);
    RUN(table_edge_cases);
    RUN(dispatch_errors);
    RUN(fp16_exhaustive);
    RUN(fp16_rounding);
    RUN(bf16_conversions);
    RUN(fp8_e4m3_all);
    RUN(fixtures_dequantize);
    RUN(fixtures_quantize);
    RUN(round_trip);
    RUN(non_finite_input);
    RUN(random_bytes_dequantize);
    RUN(mxfp4_iq4nl_layout);
    return test_summary();
}
