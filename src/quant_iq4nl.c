/* quant_iq4nl.c - IQ4_NL: 32-value blocks of 4-bit indices into a fixed non-uniform grid.
 *
 * Block (18 bytes): d (fp16) | qs[16] nibbles (value j low, value j+16 high).
 *   x = d * grid[q],  grid = the 16 int8 levels below, denser near zero.
 * llama-quantize uses it as the fallback of Q2_K / Q3_K for rows that are no multiple of
 * 256 (DeepSeek-V2-Lite's 1408-wide experts), so seek writes it too.
 *
 * Quantization reproduces ik_llama.cpp's quantize_iq4_nl without importance matrix (what
 * llama-quantize runs; ggml-quants.c, quantize_row_iq4_nl_impl with one 32-value block and
 * 7 tries), operation for operation, so the bytes are the same:
 *   1. weights w = x^2; the value of largest magnitude `max` (first one on ties);
 *      a block with |max| < 1e-15 gets d = 0 and every index the grid point nearest 0
 *   2. a first scale d = max / 127: indices by nearest grid point of x / d, then the
 *      least-squares scale d = S_qx / S_qq (S_qx = sum w q x, S_qq = sum w q^2) and its
 *      score S_qx^2 / S_qq (higher is better, = d * S_qx)
 *   3. 2 x 15 more candidates: 1/d = (t - 127) / max and (t + 113) / max for t = -7..7,
 *      each kept when its score is higher (ties keep the earlier)
 *   4. greedy refinement: move the one index (one step up or down the grid) that the
 *      error gradient reaches first, as long as the score improves (at most 1024 moves)
 *   5. store fp16(d); the indices are recomputed as nearest grid points of x * (1 / d)
 *      with the float d (the moves of 4 only change d).
 * "Nearest grid point" is the reference's: below -127 or beyond 113 the ends, otherwise
 * the lower of two neighbours a <= v < b when v - a < b - v, else the upper (ties up).
 * The reference finds the neighbours from the integer part of v (truncated toward zero,
 * x86 cvttss2si: NaN and out-of-range give INT_MIN); iq4nl_nearest() gives the same
 * answer for every float (checked for all floats of [-140, 130] against the reference's
 * table while writing this).
 * Fused multiply-adds are spelled out (fmaf) exactly where the reference build (gcc -O3
 * -march=native) fuses them; every other product and sum is rounded on its own (seek is
 * built with -std=c11, so the compiler fuses nothing by itself). */
#include <limits.h>
#include <math.h>

#include "quant.h"

#define QK 32
#define GROUP_MAX_EPS 1e-15f

const int8_t seek_iq4_nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
#define V seek_iq4_nl_values

void seek_dequant_iq4_nl(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK; i++, b += 18, y += QK) {
        float d = q_rdf16(b);
        for (int j = 0; j < QK / 2; j++) {
            y[j] = d * V[b[2 + j] & 0x0F];
            y[j + QK / 2] = d * V[b[2 + j] >> 4];
        }
    }
}

/* (int)v as x86's cvttss2si computes it: NaN and values outside int's range give INT_MIN. */
static inline int trunc_x86(float v) {
    return (v > -2147483648.0f && v < 2147483648.0f) ? (int)v : INT_MIN;
}

/* below[t + 127] = the largest k <= 14 with V[k] <= t, for the integers t in [-127, 113]:
 * the lower of the two grid points around v (mostly <= v) when trunc(v) = t. */
typedef struct { int8_t below[241]; } iq4nl_lut;

static void iq4nl_lut_init(iq4nl_lut *lut) {
    for (int t = -127, k = 0; t <= 113; t++) {
        while (k < 14 && V[k + 1] <= t) k++;
        lut->below[t + 127] = (int8_t)k;
    }
}

/* The index of the grid point nearest v, as the reference picks it (see the top). */
static inline int iq4nl_nearest(const iq4nl_lut *lut, float v) {
    int t = trunc_x86(v);
    if (t < -127) return 0;            /* also NaN */
    if (t > 113) return 15;
    int k = lut->below[t + 127];
    return v - V[k] < V[k + 1] - v ? k : k + 1;
}

/* S_qx and S_qq of the indices nearest id * x (stored in L when L is given). */
static void iq4nl_sums(const iq4nl_lut *lut, const float *x, const float *w, float id, uint8_t *L, float *sqx,
                       float *sqq) {
    float sx = 0, sq = 0;
    for (int j = 0; j < QK; j++) {
        int l = iq4nl_nearest(lut, id * x[j]);
        if (L) L[j] = (uint8_t)l;
        float q = V[l], wq = w[j] * q;
        sx = fmaf(wq, x[j], sx);
        sq = fmaf(wq, q, sq);
    }
    *sqx = sx, *sqq = sq;
}

static void quant_block(const iq4nl_lut *lut, const float *x, uint8_t *b) {
    float w[QK], amax = 0, max = 0;
    uint8_t L[QK];
    for (int j = 0; j < QK; j++) w[j] = x[j] * x[j];
    for (int j = 0; j < QK; j++)
        if (fabsf(x[j]) > amax) { amax = fabsf(x[j]); max = x[j]; }
    float d = 0;
    if (amax >= GROUP_MAX_EPS) {
        /* 2: the first scale */
        float sqx, sqq;
        iq4nl_sums(lut, x, w, 1 / (-max / V[0]), L, &sqx, &sqq);
        d = sqx / sqq;
        float best = d * sqx, best_sqx = sqx, best_sqq = sqq;
        /* 3: the other candidates */
        for (int t = -7; t <= 7; t++)
            for (int end = 0; end < 2; end++) {
                float id = (float)(t + (end ? V[15] : V[0])) / max;
                iq4nl_sums(lut, x, w, id, NULL, &sqx, &sqq);
                if (sqq > 0 && sqx * sqx > best * sqq) {
                    d = sqx / sqq;
                    best = d * sqx;
                    best_sqx = sqx, best_sqq = sqq;
                    iq4nl_sums(lut, x, w, id, L, &sqx, &sqq);
                }
            }
        /* 4: greedy moves. For each value the error's gradient in its index,
         * g = d w (x - d q); moving q one grid step toward the sign of g costs
         * (next - q) / g: take the cheapest move, keep it if the score improves. */
        sqx = best_sqx, sqq = best_sqq;
        for (int it = 0; it < 32 * QK; it++) {
            float min_step = INFINITY;
            int bj = -1, dir = 0;
            for (int j = 0; j < QK; j++) {
                float g = d * w[j] * fmaf(-d, (float)V[L[j]], x[j]);
                if (g > 0 && L[j] < 15) {
                    float step = (float)(V[L[j] + 1] - V[L[j]]) / g;
                    if (step < min_step) min_step = step, bj = j, dir = 1;
                } else if (g < 0 && L[j] > 0) {
                    float step = (float)(V[L[j] - 1] - V[L[j]]) / g;
                    if (step < min_step) min_step = step, bj = j, dir = -1;
                }
            }
            if (bj < 0) break;
            int q0 = V[L[bj]], q1 = V[L[bj] + dir];
            float nqx = fmaf(w[bj] * x[bj], (float)(q1 - q0), sqx);
            float nqq = fmaf(w[bj], (float)(q1 * q1 - q0 * q0), sqq);
            if (!(nqq > 0 && nqx * nqx > best * nqq)) break;
            sqx = nqx, sqq = nqq;
            d = sqx / sqq;
            best = d * sqx;
            L[bj] = (uint8_t)(L[bj] + dir);
        }
    }
    /* 5: the stored scale and the indices it gives (d = 0: every index nearest 0) */
    q_wrf16(b, d);
    float id = d != 0 ? 1 / d : 0;
    for (int j = 0; j < QK; j++) L[j] = (uint8_t)iq4nl_nearest(lut, id * x[j]);
    for (int j = 0; j < QK / 2; j++) b[2 + j] = (uint8_t)(L[j] | L[j + QK / 2] << 4);
}

void seek_quant_iq4_nl(const float *x, uint8_t *b, int64_t n) {
    iq4nl_lut lut;   /* per call: cheap next to a row's blocks, and no shared state */
    iq4nl_lut_init(&lut);
    for (int64_t i = 0; i < n / QK; i++, b += 18, x += QK) quant_block(&lut, x, b);
}
