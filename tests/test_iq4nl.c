/* test_iq4nl.c - the IQ4_NL type (src/quant_iq4nl.c).
 *
 *  - quantizing gives the bytes of an independent NumPy implementation of ik_llama.cpp's
 *    quantize_iq4_nl (tests/iq4nl_ref.py, run here with /usr/bin/python3) on rows that
 *    provoke every branch: F16-grid weights as in real files, wide and tiny scales,
 *    outliers, sparse and all-zero blocks, blocks below the 1e-15 threshold, small
 *    integers (ties of the nearest-grid-point rule) and 1408-wide rows (DeepSeek-V2-Lite's
 *    experts, which is where llama-quantize uses IQ4_NL)
 *  - dequantizing is d * grid[index], decoded here from the bytes by hand
 *  - the round trip is close: the error of the chosen scale is never above the error of
 *    the simple max/127 scale with nearest grid points (what the search starts from)
 * The whole-file comparison with llama-quantize is in tests/cli/test_quantize.sh. */
#include <unistd.h>

#include "dtype.h"
#include "test.h"
#include "util.h"

static const int grid[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

static uint64_t rng = 0x2545F4914F6CDD1DULL;
static double urand(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (double)(rng >> 11) * 0x1p-53;
}
static double gauss(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand()); }
static float f16_round(double v) { return seek_fp16_to_fp32(seek_fp32_to_fp16((float)v)); }

enum { N = 1408, ROWS = 240 };

/* Row r of the test data (kind r % 12). */
static void make_row(int r, float *x) {
    double sc = pow(10, urand() * 8 - 6);
    for (int j = 0; j < N; j++) {
        double v = gauss() * sc;
        switch (r % 12) {
        case 1: v = f16_round(gauss() * 0.02); break;                      /* F16 weights */
        case 2: v = f16_round(gauss() * 1e-3); break;
        case 3: v = (urand() * 2 - 1) * sc; break;
        case 4: if (urand() < 0.02) v *= 30; break;                         /* outliers */
        case 5: if (urand() < 0.75) v = 0; break;                           /* sparse */
        case 6: v = (j / 32) % 3 == 0 ? 1e-16 * gauss() : v; break;         /* below 1e-15 */
        case 7: v = floor(gauss() * 8); break;                              /* small integers */
        case 8: v = (urand() < 0.5 ? -1 : 1) * floor(urand() * 4) * 0.25; break;
        case 9: v = f16_round(urand() * sc); break;                         /* all positive */
        case 10: v = (j / 32) % 4 == 1 ? 0 : f16_round(gauss() * 0.05); break;   /* zero blocks */
        case 11: v = f16_round(gauss() * 0.02 + ((j % 32) == 7 ? 0.3 : 0)); break;
        default: break;
        }
        x[j] = (float)v;
    }
}

TEST(bytes_equal_numpy_reference) {
    char dir[] = "/tmp/seek-test-iq4nl-XXXXXX";
    CHECK(mkdtemp(dir));
    char in[256], out[256], cmd[1024];
    snprintf(in, sizeof in, "%s/x.f32", dir);
    snprintf(out, sizeof out, "%s/ref.q", dir);
    size_t rb = seek_row_size(SEEK_TYPE_IQ4_NL, N);
    float *x = malloc(sizeof(float) * N * ROWS);
    uint8_t *q = malloc(rb * ROWS);
    CHECK(x && q && rb == N / 32 * 18);
    for (int r = 0; r < ROWS; r++) {
        make_row(r, x + (size_t)r * N);
        CHECK(seek_quantize_row(SEEK_TYPE_IQ4_NL, x + (size_t)r * N, q + r * rb, N) == 0);
    }
    FILE *f = fopen(in, "wb");
    CHECK(f && fwrite(x, sizeof(float), (size_t)N * ROWS, f) == (size_t)N * ROWS);
    fclose(f);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 tests/iq4nl_ref.py %s %s", in, out);
    /* a reference that cannot run is a failure, never a pass (python3-numpy is a test dependency) */
    CHECK_MSG(system(cmd) == 0, "the reference failed: %s", cmd);
    size_t len;
    uint8_t *ref = (uint8_t *)seek_read_file(out, &len);
    CHECK_MSG(ref && len == rb * ROWS, "reference output: %zu bytes, expected %zu", ref ? len : 0, rb * ROWS);
    int bad = 0, first = -1;
    for (size_t b = 0; b < (size_t)ROWS * (N / 32); b++)
        if (memcmp(q + 18 * b, ref + 18 * b, 18)) {
            if (first < 0) first = (int)b;
            bad++;
        }
    unlink(in), unlink(out), rmdir(dir);
    free(ref), free(x), free(q);
    CHECK_MSG(bad == 0, "%d of %d blocks differ from the reference, first: row %d block %d (kind %d)", bad,
              ROWS * (N / 32), first / (N / 32), first % (N / 32), (first / (N / 32)) % 12);
}

/* d * grid[index], with value j in the low nibble of byte j and j+16 in its high nibble */
TEST(dequantize_is_grid_times_scale) {
    float x[N], y[N];
    uint8_t q[N / 32 * 18];
    for (int r = 0; r < 24; r++) {
        make_row(r, x);
        CHECK(seek_quantize_row(SEEK_TYPE_IQ4_NL, x, q, N) == 0);
        CHECK(seek_dequantize_row(SEEK_TYPE_IQ4_NL, q, y, N) == 0);
        for (int b = 0; b < N / 32; b++) {
            const uint8_t *p = q + 18 * b;
            float d = seek_fp16_to_fp32((uint16_t)(p[0] | p[1] << 8));
            for (int j = 0; j < 16; j++) {
                CHECK(y[32 * b + j] == d * grid[p[2 + j] & 15]);
                CHECK(y[32 * b + 16 + j] == d * grid[p[2 + j] >> 4]);
            }
        }
    }
}

/* The search starts from d = max/127 with nearest grid points and only keeps a candidate
 * that lowers the weighted error sum w (x - d q)^2, w = x^2; the stored scale is that d in
 * fp16, so the error can be a little above the float optimum but not far. */
TEST(round_trip_not_worse_than_the_start) {
    float x[32], y[32];
    uint8_t q[18];
    int worse = 0;
    for (int r = 0; r < 2000; r++) {
        for (int j = 0; j < 32; j++) x[j] = (float)gauss();
        CHECK(seek_quantize_row(SEEK_TYPE_IQ4_NL, x, q, 32) == 0);
        CHECK(seek_dequantize_row(SEEK_TYPE_IQ4_NL, q, y, 32) == 0);
        float amax = 0, max = 0;
        for (int j = 0; j < 32; j++)
            if (fabsf(x[j]) > amax) amax = fabsf(x[j]), max = x[j];
        double d0 = max / 127.0, e = 0, e0 = 0;
        for (int j = 0; j < 32; j++) {
            int best = 0;
            for (int k = 1; k < 16; k++)
                if (fabs(x[j] / d0 - grid[k]) < fabs(x[j] / d0 - grid[best])) best = k;
            double w = (double)x[j] * x[j];
            e += w * (x[j] - y[j]) * (x[j] - y[j]);
            e0 += w * (x[j] - d0 * grid[best]) * (x[j] - d0 * grid[best]);
        }
        if (e > e0 * 1.01) worse++;
    }
    CHECK_MSG(worse == 0, "%d of 2000 blocks: weighted error above the starting scale's", worse);
}

int main(void) {
    RUN(bytes_equal_numpy_reference);
    RUN(dequantize_is_grid_times_scale);
    RUN(round_trip_not_worse_than_the_start);
    return test_summary();
}
