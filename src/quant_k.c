/* quant_k.c - the K-quants: Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K.
 *
 * Every type works on super-blocks of 256 values made of 16 sub-blocks of 16
 * (Q2_K, Q3_K, Q6_K) or 8 sub-blocks of 32 (Q4_K, Q5_K). Each sub-block has its
 * own small integer scale (and min), and those are in turn scaled by one fp16
 * per super-block. Quantization follows ggml's reference quantizer (no
 * importance matrix) operation for operation, so we write the same bytes as
 * llama.cpp: the scale searches (make_qx / make_q3 / make_qkx2 below) try a few
 * candidate scales and keep the one with the least weighted error.
 *
 * Float expressions keep ggml's evaluation order on purpose: (a*b)*c and
 * a*(b*c) round differently, and a different rounding can flip a quant.
 * For the same reason the fused multiply-adds are explicit (fmaf and
 * q_nearest_int_mul): the reference files were written by a release build of
 * ggml in which the compiler contracted exactly these a*b+c into FMAs (gcc -O2
 * -march=native, x86-64; a build without FMA rounds differently in rare
 * near-ties). Spelling them out makes our output the same whatever flags we
 * are built with. Where a sum below is written as a plain `+=` of a product,
 * the reference did not fuse it either.
 *
 * The scale search of Q6_K (make_qx_quants) is ik_llama.cpp's, which tries
 * more candidate scales and then nudges single quants; llama.cpp's own is a
 * subset of it. Everything else is the same in both.
 */
#include <math.h>

#include "quant.h"

#define QK_K 256
#define GROUP_MAX_EPS 1e-15f   /* below this a sub-block counts as all zero */

/* ------------------------------------------------------------------------
 * Scale searches
 * ---------------------------------------------------------------------- */

/* The value of largest magnitude (with its sign); *amax gets its magnitude.
 * The first one wins ties, as in the reference. */
static float signed_absmax(int n, const float *x, float *amax) {
    float max = 0;
    *amax = 0;
    for (int i = 0; i < n; i++)
        if (fabsf(x[i]) > *amax) { *amax = fabsf(x[i]); max = x[i]; }
    return max;
}

/* sumlx = sum w x l and suml2 = sum w l^2 over the quants l = round(iscale * x)
 * in [-nmax, nmax), w = x^2. The least-squares scale is then sumlx / suml2 and
 * it reduces the weighted error by sumlx^2 / suml2: bigger is better. */
static void qx_sums(int n, int nmax, const float *x, float iscale, int8_t *L, bool fused,
                    float *sumlx, float *suml2) {
    float slx = 0, sl2 = 0;
    for (int i = 0; i < n; i++) {
        int l = q_max(-nmax, q_min(nmax - 1, q_nearest_int_mul(iscale, x[i])));
        if (L) L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        if (fused) {
            slx = fmaf(w * x[i], (float)l, slx);
            sl2 = fmaf((float)l, w * l, sl2);
        } else {
            slx += w * x[i] * l;
            sl2 += w * l * l;
        }
    }
    *sumlx = slx;
    *suml2 = sl2;
}

/* Symmetric quants L[i] in [0, 2*nmax) for x[i] ~ scale * (L[i] - nmax), with
 * weights x^2 (the error of big values matters most). Starts from the scale
 * that maps the largest |x| to -nmax, tries 38 nearby scales (both signs),
 * then moves single quants by one step along the error gradient while that
 * helps. Returns the scale. */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L) {
    float amax, max = signed_absmax(n, x, &amax);
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    float sumlx, suml2;
    qx_sums(n, nmax, x, -nmax / max, L, true, &sumlx, &suml2);
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    float best_sumlx = sumlx, best_suml2 = suml2;
    for (int is = -9; is <= 9; is++) {
        float step = 0.1f * is;
        float iscales[2] = {-(nmax + step) / max, (nmax - 1 + step) / max};
        for (int k = 0; k < 2; k++) {
            qx_sums(n, nmax, x, iscales[k], NULL, false, &sumlx, &suml2);
            if (suml2 > 0 && sumlx * sumlx > best * suml2) {
                qx_sums(n, nmax, x, iscales[k], L, false, &sumlx, &suml2);
                scale = sumlx / suml2;
                best = scale * sumlx;
                best_sumlx = sumlx;
                best_suml2 = suml2;
            }
        }
    }
    sumlx = best_sumlx;
    suml2 = best_suml2;
    for (int iter = 0; iter < n * (2 * nmax - 1); iter++) {
        /* the quant with the largest error gradient that can still move */
        float abs_gmax = 0, gmax = 0;
        int j = -1;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            int l = L[i] - nmax;
            float g = scale * w * fmaf(-scale, (float)l, x[i]);
            if ((g > 0 && l < nmax - 1) || (g < 0 && l > -nmax)) {
                if (fabsf(g) > abs_gmax) { abs_gmax = fabsf(g); gmax = g; j = i; }
            }
        }
        if (j < 0) break;
        float w = x[j] * x[j];
        int l = L[j] - nmax;
        float new_sumlx, new_suml2;
        if (gmax > 0) {
            new_sumlx = sumlx + w * x[j];
            new_suml2 = fmaf(w, (float)(2 * l + 1), suml2);
            l++;
        } else {
            new_sumlx = sumlx - w * x[j];
            new_suml2 = fmaf(-w, (float)(2 * l - 1), suml2);
            l--;
        }
        if (!(new_suml2 > 0 && new_sumlx * new_sumlx > best * new_suml2)) break;
        sumlx = new_sumlx;
        suml2 = new_suml2;
        scale = sumlx / suml2;
        best = scale * sumlx;
        L[j] = (int8_t)(l + nmax);
    }
    return scale;
}

/* Q3_K's variant: start like make_qx_quants, then move single quants one at a
 * time while that improves the weighted least-squares fit (up to 5 sweeps). */
static float make_q3_quants(int n, int nmax, const float *x, int8_t *L) {
    float amax, max = signed_absmax(n, x, &amax);
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; i++) L[i] = 0;
        return 0.0f;
    }
    float iscale = -nmax / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; i++) {
        int l = q_max(-nmax, q_min(nmax - 1, q_nearest_int_mul(iscale, x[i])));
        L[i] = (int8_t)l;
        float w = x[i] * x[i];
        sumlx = fmaf(w * x[i], (float)l, sumlx);
        suml2 = fmaf((float)l, w * l, suml2);
    }
    for (int itry = 0; itry < 5; itry++) {
        int n_changed = 0;
        for (int i = 0; i < n; i++) {
            float w = x[i] * x[i];
            float slx = fmaf(-(w * x[i]), (float)L[i], sumlx);
            if (slx > 0) {
                float sl2 = fmaf(-(float)L[i], w * L[i], suml2);
                int new_l = q_max(-nmax, q_min(nmax - 1, q_nearest_int(x[i] * sl2 / slx)));
                if (new_l != L[i]) {
                    slx = fmaf(w * x[i], (float)new_l, slx);
                    sl2 = fmaf((float)new_l, w * new_l, sl2);
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        L[i] = (int8_t)new_l;
                        sumlx = slx;
                        suml2 = sl2;
                        n_changed++;
                    }
                }
            }
        }
        if (!n_changed) break;
    }
    for (int i = 0; i < n; i++) L[i] = (int8_t)(L[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

/* Asymmetric quants L[i] in [0, nmax] for x[i] ~ scale * L[i] - the_min, with
 * the_min >= 0 (the offset never goes above zero). Tries nstep+1 scales around
 * nmax / (max - min) and solves weighted least squares for (scale, min) at each,
 * keeping the pair with least weighted error (absolute error when use_mad). */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L,
                              float *the_min, uint8_t *Laux, float rmin, float rdelta, int nstep,
                              bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x = fmaf(w, x[i], sum_x);
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; i++) L[i] = 0;
        *the_min = -min;
        return 0.0f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; i++) {
        int l = q_nearest_int_mul(iscale, x[i] - min);
        L[i] = (uint8_t)q_max(0, q_min(nmax, l));
        float diff = fmaf((float)L[i], scale, min) - x[i];
        diff = use_mad ? fabsf(diff) : diff * diff;
        best_error = fmaf(weights[i], diff, best_error);
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (fmaf((float)is, rdelta, rmin) + nmax) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; i++) {
            int l = q_max(0, q_min(nmax, q_nearest_int_mul(iscale, x[i] - min)));
            Laux[i] = (uint8_t)l;
            float wl = weights[i] * l;
            sum_l += wl;
            sum_l2 = fmaf((float)l, wl, sum_l2);
            sum_xl = fmaf(x[i], wl, sum_xl);
        }
        /* 2x2 normal equations of weighted least squares for (scale, min) */
        float D = fmaf(sum_w, sum_l2, -(sum_l * sum_l));
        if (D > 0) {
            float this_scale = fmaf(-sum_x, sum_l, sum_w * sum_xl) / D;
            float this_min = fmaf(sum_x, sum_l2, -(sum_l * sum_xl)) / D;
            if (this_min > 0) {
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float cur_error = 0;
            for (int i = 0; i < n; i++) {
                float diff = fmaf(this_scale, (float)Laux[i], this_min) - x[i];
                diff = use_mad ? fabsf(diff) : diff * diff;
                cur_error = fmaf(weights[i], diff, cur_error);
            }
            if (cur_error < best_error) {
                for (int i = 0; i < n; i++) L[i] = Laux[i];
                best_error = cur_error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *the_min = -min;
    return scale;
}

/* 2-bit quants of 128 values packed 4 to a byte: byte l holds values l, l+32,
 * l+64, l+96 in bits 0-1, 2-3, 4-5, 6-7. Used by Q2_K and Q3_K. */
static void pack_2bit(const int8_t *L, uint8_t *qs) {
    for (int j = 0; j < QK_K; j += 128)
        for (int l = 0; l < 32; l++)
            qs[j / 4 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 2 | L[j + l + 64] << 4 | L[j + l + 96] << 6);
}

/* ------------------------------------------------------------------------
 * Q2_K: 84 bytes = scales[16] | qs[64] | d (fp16) | dmin (fp16)
 *   scales[j]: low nibble = scale, high nibble = min of sub-block j (16 values)
 *   qs: 2-bit quants, see pack_2bit
 *   x = d * scale_j * q - dmin * min_j
 * ---------------------------------------------------------------------- */

void seek_dequant_q2_k(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 84) {
        float d = q_rdf16(b + 80), dmin = q_rdf16(b + 82);
        for (int v = 0; v < QK_K; v++) {
            uint8_t sc = b[v / 16];
            int q = (b[16 + (v / 128) * 32 + v % 32] >> (2 * ((v % 128) / 32))) & 3;
            float dl = d * (sc & 0xF), ml = dmin * (sc >> 4);
            *y++ = dl * q - ml;
        }
    }
}

void seek_quant_q2_k(const float *x, uint8_t *b, int64_t n) {
    const float q4scale = 15.0f;
    for (int64_t i = 0; i < n / QK_K; i++, b += 84, x += QK_K) {
        uint8_t L[QK_K], Laux[16];
        float weights[16], mins[QK_K / 16], scales[QK_K / 16];
        float max_scale = 0, max_min = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            for (int l = 0; l < 16; l++) weights[l] = fabsf(x[16 * j + l]);
            scales[j] = make_qkx2_quants(16, 3, x + 16 * j, weights, L + 16 * j, &mins[j], Laux,
                                         -0.5f, 0.1f, 15, true);
            if (scales[j] > max_scale) max_scale = scales[j];
            if (mins[j] > max_min) max_min = mins[j];
        }
        uint8_t *sc = b;
        if (max_scale > 0) {
            float iscale = q4scale / max_scale;
            for (int j = 0; j < QK_K / 16; j++) sc[j] = (uint8_t)q_nearest_int_mul(iscale, scales[j]);
            q_wrf16(b + 80, max_scale / q4scale);
        } else {
            memset(sc, 0, QK_K / 16);
            q_wrf16(b + 80, 0.0f);
        }
        if (max_min > 0) {
            float iscale = q4scale / max_min;
            for (int j = 0; j < QK_K / 16; j++) sc[j] |= (uint8_t)(q_nearest_int_mul(iscale, mins[j]) << 4);
            q_wrf16(b + 82, max_min / q4scale);
        } else {
            q_wrf16(b + 82, 0.0f);
        }
        /* Re-quantize against the scales as they will be read back. */
        for (int j = 0; j < QK_K / 16; j++) {
            float d = q_rdf16(b + 80) * (sc[j] & 0xF);
            if (!d) continue;
            float dm = q_rdf16(b + 82) * (sc[j] >> 4);
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (uint8_t)q_max(0, q_min(3, q_nearest_int((x[16 * j + l] + dm) / d)));
        }
        pack_2bit((const int8_t *)L, b + 16);
    }
}

/* ------------------------------------------------------------------------
 * Q3_K: 110 bytes = hmask[32] | qs[64] | scales[12] | d (fp16)
 *   value v: 2 low bits in qs (see pack_2bit), high bit = bit v/32 of hmask[v%32];
 *   q = low | high << 2, in [0, 8), x = d * s_j * (q - 4)
 *   s_j: 16 signed 6-bit scales stored +32: low nibbles in scales[0..7] (j < 8:
 *   low half of byte j; j >= 8: high half of byte j-8), top 2 bits in
 *   scales[8 + j%4] at bit 2*(j/4).
 * ---------------------------------------------------------------------- */

static int q3k_scale(const uint8_t *s, int j) {
    int lo = j < 8 ? s[j] & 0xF : s[j - 8] >> 4;
    int hi = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (lo | hi << 4) - 32;
}

void seek_dequant_q3_k(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 110) {
        float d_all = q_rdf16(b + 108);
        for (int v = 0; v < QK_K; v++) {
            float dl = d_all * q3k_scale(b + 96, v / 16);
            int lo = (b[32 + (v / 128) * 32 + v % 32] >> (2 * ((v % 128) / 32))) & 3;
            int hi = (b[v % 32] >> (v / 32)) & 1;
            *y++ = dl * (lo - (hi ? 0 : 4));
        }
    }
}

void seek_quant_q3_k(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 110, x += QK_K) {
        int8_t L[QK_K];
        float scales[QK_K / 16];
        float max_scale = 0, amax = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            scales[j] = make_q3_quants(16, 4, x + 16 * j, L + 16 * j);
            float scale = fabsf(scales[j]);
            if (scale > amax) { amax = scale; max_scale = scales[j]; }
        }
        uint8_t *sc = b + 96;
        memset(sc, 0, 12);
        if (max_scale) {
            float iscale = -32.0f / max_scale;
            for (int j = 0; j < QK_K / 16; j++) {
                int l = (int8_t)q_nearest_int_mul(iscale, scales[j]);
                l = q_max(-32, q_min(31, l)) + 32;
                if (j < 8) sc[j] = (uint8_t)(l & 0xF);
                else sc[j - 8] |= (uint8_t)((l & 0xF) << 4);
                sc[8 + j % 4] |= (uint8_t)((l >> 4) << (2 * (j / 4)));
            }
            q_wrf16(b + 108, 1 / iscale);
        } else {
            q_wrf16(b + 108, 0.0f);
        }
        for (int j = 0; j < QK_K / 16; j++) {
            float d = q_rdf16(b + 108) * q3k_scale(sc, j);
            if (!d) continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(q_max(-4, q_min(3, q_nearest_int(x[16 * j + l] / d))) + 4);
        }
        uint8_t *hmask = b;
        memset(hmask, 0, QK_K / 8);
        for (int v = 0; v < QK_K; v++) {
            if (L[v] > 3) {
                hmask[v % 32] |= (uint8_t)(1 << (v / 32));
                L[v] -= 4;
            }
        }
        pack_2bit(L, b + 32);
    }
}

/* ------------------------------------------------------------------------
 * Q4_K and Q5_K share the scale format: 8 sub-blocks of 32, each with a 6-bit
 * scale and a 6-bit min, packed in 12 bytes:
 *   j < 4:  scale = s[j] & 63,  min = s[j+4] & 63
 *   j >= 4: scale = (s[j+4] & 15) | (s[j-4] >> 6) << 4,
 *           min   = (s[j+4] >> 4) | (s[j]   >> 6) << 4
 *   x = d * scale_j * q - dmin * min_j
 * ---------------------------------------------------------------------- */

static void k4_get(const uint8_t *s, int j, int *scale, int *min) {
    if (j < 4) {
        *scale = s[j] & 63;
        *min = s[j + 4] & 63;
    } else {
        *scale = (s[j + 4] & 0xF) | (s[j - 4] >> 6) << 4;
        *min = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

static void k4_put(uint8_t *s, int j, int ls, int lm) {
    if (j < 4) {
        s[j] = (uint8_t)ls;
        s[j + 4] = (uint8_t)lm;
    } else {
        s[j + 4] = (uint8_t)((ls & 0xF) | (lm & 0xF) << 4);
        s[j - 4] |= (uint8_t)((ls >> 4) << 6);
        s[j] |= (uint8_t)((lm >> 4) << 6);
    }
}

/* The common part of quantizing one Q4_K/Q5_K super-block: per-sub-block
 * (scale, min) search, 6-bit scales into s[12], fp16 d/dmin into dm[0..3],
 * final quants in L[256] (0..nmax). */
static void quant_k4_superblock(const float *x, int nmax, float rmin, int nstep, uint8_t *dm,
                                uint8_t *s, uint8_t *L) {
    uint8_t Laux[32];
    float weights[32], mins[QK_K / 32], scales[QK_K / 32];
    float max_scale = 0, max_min = 0;
    for (int j = 0; j < QK_K / 32; j++) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; l++) sum_x2 = fmaf(x[32 * j + l], x[32 * j + l], sum_x2);
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; l++) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                     rmin, 0.1f, nstep, false);
        if (scales[j] > max_scale) max_scale = scales[j];
        if (mins[j] > max_min) max_min = mins[j];
    }
    float inv_scale = max_scale > 0 ? 63.0f / max_scale : 0.0f;
    float inv_min = max_min > 0 ? 63.0f / max_min : 0.0f;
    memset(s, 0, 12);
    for (int j = 0; j < QK_K / 32; j++) {
        uint8_t ls = (uint8_t)q_nearest_int_mul(inv_scale, scales[j]);
        uint8_t lm = (uint8_t)q_nearest_int_mul(inv_min, mins[j]);
        k4_put(s, j, ls < 63 ? ls : 63, lm < 63 ? lm : 63);
    }
    q_wrf16(dm, max_scale / 63.0f);
    q_wrf16(dm + 2, max_min / 63.0f);
    for (int j = 0; j < QK_K / 32; j++) {
        int sc, m;
        k4_get(s, j, &sc, &m);
        float d = q_rdf16(dm) * sc;
        if (!d) continue;
        float dmn = q_rdf16(dm + 2) * m;
        for (int l = 0; l < 32; l++)
            L[32 * j + l] = (uint8_t)q_max(0, q_min(nmax, q_nearest_int((x[32 * j + l] + dmn) / d)));
    }
}

/* Q4_K: 144 bytes = d (fp16) | dmin (fp16) | scales[12] | qs[128]
 *   qs: for each 64 values, byte l holds value l (low nibble) and l+32 (high). */

void seek_dequant_q4_k(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 144) {
        float d = q_rdf16(b), min = q_rdf16(b + 2);
        for (int j = 0; j < QK_K / 32; j++) {   /* sub-block j: values 32j .. 32j + 31 */
            int sc, m;
            k4_get(b + 4, j, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            const uint8_t *qs = b + 16 + (j / 2) * 32;
            for (int l = 0; l < 32; l++) *y++ = d1 * ((qs[l] >> (4 * (j & 1))) & 0xF) - m1;
        }
    }
}

void seek_quant_q4_k(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 144, x += QK_K) {
        uint8_t L[QK_K];
        quant_k4_superblock(x, 15, -1.0f, 20, b, b + 4, L);
        for (int j = 0; j < QK_K; j += 64)
            for (int l = 0; l < 32; l++) b[16 + j / 2 + l] = (uint8_t)(L[j + l] | L[j + l + 32] << 4);
    }
}

/* Q5_K: 176 bytes = d (fp16) | dmin (fp16) | scales[12] | qh[32] | qs[128]
 *   low 4 bits as in Q4_K; the 5th bit of value v is bit 2*(v/64) + (v/32)%2
 *   of qh[v%32]. */

void seek_dequant_q5_k(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 176) {
        float d = q_rdf16(b), min = q_rdf16(b + 2);
        for (int j = 0; j < QK_K / 32; j++) {   /* sub-block j: values 32j .. 32j + 31 */
            int sc, m;
            k4_get(b + 4, j, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            const uint8_t *qs = b + 48 + (j / 2) * 32;
            for (int l = 0; l < 32; l++) {
                const int lo = (qs[l] >> (4 * (j & 1))) & 0xF, hi = (b[16 + l] >> j) & 1;
                *y++ = d1 * (lo + (hi ? 16 : 0)) - m1;
            }
        }
    }
}

void seek_quant_q5_k(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 176, x += QK_K) {
        uint8_t L[QK_K];
        quant_k4_superblock(x, 31, -0.5f, 15, b, b + 4, L);
        uint8_t *qh = b + 16, *ql = b + 48;
        memset(qh, 0, QK_K / 8 + QK_K / 2);
        for (int v = 0; v < QK_K; v++) {
            qh[v % 32] |= (uint8_t)((L[v] >> 4) << (v / 32));
            ql[(v / 64) * 32 + v % 32] |= (uint8_t)((L[v] & 0xF) << (4 * ((v / 32) & 1)));
        }
    }
}

/* ------------------------------------------------------------------------
 * Q6_K: 210 bytes = ql[128] | qh[64] | scales[16] (int8) | d (fp16)
 *   q in [0, 64), x = d * scale_j * (q - 32), sub-blocks of 16.
 *   Per 128 values (half h): value l (l < 128) has its low nibble in
 *   ql[64h + l%64] (low half if l < 64, else high half) and its top 2 bits
 *   in qh[32h + l%32] at bit 2*(l/32).
 * ---------------------------------------------------------------------- */

void seek_dequant_q6_k(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 210) {
        float d = q_rdf16(b + 208);
        for (int v = 0; v < QK_K; v++) {
            int h = v / 128, l = v % 128;
            int lo = (b[64 * h + l % 64] >> (4 * (l / 64))) & 0xF;
            int hi = (b[128 + 32 * h + l % 32] >> (2 * (l / 32))) & 3;
            int q = (lo | hi << 4) - 32;
            *y++ = d * (int8_t)b[192 + v / 16] * q;
        }
    }
}

void seek_quant_q6_k(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 210, x += QK_K) {
        int8_t L[QK_K];
        float scales[QK_K / 16];
        float max_scale = 0, max_abs_scale = 0;
        for (int j = 0; j < QK_K / 16; j++) {
            scales[j] = make_qx_quants(16, 32, x + 16 * j, L + 16 * j);
            if (fabsf(scales[j]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[j]);
                max_scale = scales[j];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(b, 0, 210);
            continue;
        }
        float iscale = -128.0f / max_scale;
        q_wrf16(b + 208, 1 / iscale);
        int8_t *sc = (int8_t *)(b + 192);
        for (int j = 0; j < QK_K / 16; j++) sc[j] = (int8_t)q_min(127, q_nearest_int_mul(iscale, scales[j]));
        for (int j = 0; j < QK_K / 16; j++) {
            float d = q_rdf16(b + 208) * sc[j];
            if (!d) continue;
            for (int l = 0; l < 16; l++)
                L[16 * j + l] = (int8_t)(q_max(-32, q_min(31, q_nearest_int(x[16 * j + l] / d))) + 32);
        }
        memset(b, 0, 192);
        for (int v = 0; v < QK_K; v++) {
            int h = v / 128, l = v % 128;
            b[64 * h + l % 64] |= (uint8_t)((L[v] & 0xF) << (4 * (l / 64)));
            b[128 + 32 * h + l % 32] |= (uint8_t)((L[v] >> 4) << (2 * (l / 32)));
        }
    }
}

/* ------------------------------------------------------------------------
 * Q8_K: 292 bytes = d (float32) | qs[256] (int8) | bsums[16] (int16, sums of
 * qs per 16 values). Activations only (never stored in model files); x = d * q.
 * ---------------------------------------------------------------------- */

void seek_dequant_q8_k(const uint8_t *b, float *y, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 292) {
        uint32_t bits = q_rd32(b);
        float d;
        memcpy(&d, &bits, sizeof d);
        for (int v = 0; v < QK_K; v++) *y++ = d * (int8_t)b[4 + v];
    }
}

void seek_quant_q8_k(const float *x, uint8_t *b, int64_t n) {
    for (int64_t i = 0; i < n / QK_K; i++, b += 292, x += QK_K) {
        float amax, max = signed_absmax(QK_K, x, &amax);
        float d = 0;
        memset(b + 4, 0, QK_K);
        if (amax) {
            /* -127 (not -128) keeps the quants symmetric. */
            float iscale = -127.0f / max;
            for (int v = 0; v < QK_K; v++) b[4 + v] = (uint8_t)(int8_t)q_min(127, q_nearest_int_mul(iscale, x[v]));
            d = 1 / iscale;
        }
        uint32_t bits;
        memcpy(&bits, &d, sizeof bits);
        q_wr32(b, bits);
        for (int j = 0; j < QK_K / 16; j++) {
            int sum = 0;
            for (int l = 0; l < 16; l++) sum += (int8_t)b[4 + 16 * j + l];
            q_wr16(b + 260 + 2 * j, (uint16_t)(int16_t)sum);
        }
    }
}
