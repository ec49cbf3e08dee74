/* kquants_scalar.c - K-quant tile kernels in plain C: the KERN_SCALAR level, and the
 * definition the SIMD levels reproduce bit for bit (kquants_impl.h states the arithmetic).
 *
 * Block layouts (bytes; ggml's block_q2_K .. block_q6_K, see src/quant_k.c). A super-block
 * holds 256 values; "group" g is values 16g..16g+15.
 *   Q2_K  84: scales[16] (lo nibble scale, hi nibble min of group g) | qs[64] | d | dmin
 *             q(v) = qs[32*(v/128) + v%32] >> 2*((v%128)/32) & 3       x = d*sc*q - dmin*m
 *   Q3_K 110: hmask[32] | qs[64] | scales[12] (16 signed 6-bit) | d
 *             q(v) = (2 bits as Q2_K) + 4 * (hmask[v%32] >> v/32 & 1)  x = d*s*(q - 4)
 *   Q4_K 144: d | dmin | scales[12] (8 6-bit scales + 8 6-bit mins, sub-blocks of 32) | qs[128]
 *             q(v) = qs[32*(v/64) + v%32] >> 4*((v/32)&1) & 15          x = d*sc*q - dmin*m
 *   Q5_K 176: d | dmin | scales[12] | qh[32] | qs[128]
 *             q(v) = (4 bits as Q4_K) + 16 * (qh[v%32] >> v/32 & 1)
 *   Q6_K 210: ql[128] | qh[64] | scales[16] (int8, per group) | d
 *             h = v/128, l = v%128: q = (ql[64h + l%64] >> 4*(l/64) & 15)
 *                                     | (qh[32h + l%32] >> 2*(l/32) & 3) << 4,  x = d*s*(q - 32)
 *   Q8_K 292 (activations): float d | int8 qs[256] | int16 bsums[16]
 *
 * Loop order: for each weight row, for each super-block: unpack the row's block once
 * (quants, per-group scales and offsets), then use it for every activation column.
 * out[c * out_stride + r] accumulates in float across super-blocks.
 */
#include <math.h>
#include <string.h>

#include "../quant.h"
#include "kquants_impl.h"

/* One super-block of one weight row, unpacked. */
typedef struct {
    uint8_t q[KQ_K];    /* unsigned quants */
    int32_t sc[16];     /* scale of each group */
    int32_t mb[16];     /* offset multiplier of each group (see kquants_impl.h) */
    float d, dm;        /* dm = -dmin for types with mins */
} kq_block;

static int q2bits(const uint8_t *qs, int v) { return qs[32 * (v / 128) + v % 32] >> (2 * ((v % 128) / 32)) & 3; }

static void unpack_q2k(const uint8_t *b, kq_block *u) {
    for (int v = 0; v < KQ_K; v++) u->q[v] = (uint8_t)q2bits(b + 16, v);
    for (int g = 0; g < 16; g++) {
        u->sc[g] = b[g] & 15;
        u->mb[g] = b[g] >> 4;
    }
    u->d = q_rdf16(b + 80);
    u->dm = -q_rdf16(b + 82);
}

static void unpack_q3k(const uint8_t *b, kq_block *u) {
    for (int v = 0; v < KQ_K; v++) u->q[v] = (uint8_t)(q2bits(b + 32, v) + 4 * (b[v % 32] >> (v / 32) & 1));
    const uint8_t *s = b + 96;
    for (int g = 0; g < 16; g++) {
        int lo = g < 8 ? s[g] & 15 : s[g - 8] >> 4;
        int hi = s[8 + g % 4] >> (2 * (g / 4)) & 3;
        u->sc[g] = (lo | hi << 4) - 32;
        u->mb[g] = -4 * u->sc[g];
    }
    u->d = q_rdf16(b + 108);
    u->dm = 0;
}

/* The 6-bit scale and min of sub-block j (of 32) in Q4_K/Q5_K's 12 scale bytes. */
static void k4_scale_min(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | (s[j - 4] >> 6) << 4;
        *m = (s[j + 4] >> 4) | (s[j] >> 6) << 4;
    }
}

static void k4_scales(const uint8_t *b, kq_block *u) {
    for (int j = 0; j < 8; j++) {
        int sc, m;
        k4_scale_min(b + 4, j, &sc, &m);
        u->sc[2 * j] = u->sc[2 * j + 1] = sc;
        u->mb[2 * j] = u->mb[2 * j + 1] = m;
    }
    u->d = q_rdf16(b);
    u->dm = -q_rdf16(b + 2);
}

static void unpack_q4k(const uint8_t *b, kq_block *u) {
    for (int v = 0; v < KQ_K; v++) u->q[v] = b[16 + 32 * (v / 64) + v % 32] >> (4 * ((v / 32) & 1)) & 15;
    k4_scales(b, u);
}

static void unpack_q5k(const uint8_t *b, kq_block *u) {
    for (int v = 0; v < KQ_K; v++)
        u->q[v] = (uint8_t)((b[48 + 32 * (v / 64) + v % 32] >> (4 * ((v / 32) & 1)) & 15) +
                            16 * (b[16 + v % 32] >> (v / 32) & 1));
    k4_scales(b, u);
}

static void unpack_q6k(const uint8_t *b, kq_block *u) {
    for (int v = 0; v < KQ_K; v++) {
        int h = v / 128, l = v % 128;
        u->q[v] = (uint8_t)((b[64 * h + l % 64] >> (4 * (l / 64)) & 15) | (b[128 + 32 * h + l % 32] >> (2 * (l / 32)) & 3) << 4);
    }
    for (int g = 0; g < 16; g++) {
        u->sc[g] = (int8_t)b[192 + g];
        u->mb[g] = -32 * u->sc[g];
    }
    u->d = q_rdf16(b + 208);
    u->dm = 0;
}

static float rd_f32(const uint8_t *p) {
    uint32_t u = q_rd32(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

typedef void (*unpack_fn)(const uint8_t *, kq_block *);

static void mm_scalar(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, int nc,
                      float *out, size_t os, size_t block_bytes, unpack_fn unpack, int has_min) {
    const int64_t nb = n / KQ_K;
    kq_block u;
    for (int r = 0; r < nr; r++) {
        for (int c = 0; c < nc; c++) out[c * os + r] = 0.0f;
        for (int64_t b = 0; b < nb; b++) {
            unpack(w + r * ws + b * block_bytes, &u);
            for (int c = 0; c < nc; c++) {
                const uint8_t *ab = a + c * as + b * KQ_Q8K_BYTES;
                const int8_t *qa = (const int8_t *)(ab + KQ_Q8K_QS);
                int32_t s1 = 0, s2 = 0;
                for (int g = 0; g < 16; g++) {
                    int32_t dot = 0;
                    for (int i = 16 * g; i < 16 * g + 16; i++) dot += u.q[i] * qa[i];
                    s1 += u.sc[g] * dot;
                    s2 += u.mb[g] * (int16_t)q_rd16(ab + KQ_Q8K_BSUMS + 2 * g);
                }
                float da = rd_f32(ab), *o = out + c * os + r;
                if (has_min) {
                    *o = fmaf(u.d * da, (float)s1, *o);
                    *o = fmaf(u.dm * da, (float)s2, *o);
                } else {
                    *o = fmaf(u.d * da, (float)(s1 + s2), *o);
                }
            }
        }
    }
}

#define KQ_MM(t, bytes, has_min) \
    void kq_mm_##t##_scalar(int64_t n, const uint8_t *w, size_t ws, int nr, const uint8_t *a, size_t as, \
                            int nc, float *out, size_t os) { \
        mm_scalar(n, w, ws, nr, a, as, nc, out, os, bytes, unpack_##t, has_min); \
    }
KQ_MM(q2k, 84, 1)
KQ_MM(q3k, 110, 0)
KQ_MM(q4k, 144, 1)
KQ_MM(q5k, 176, 1)
KQ_MM(q6k, 210, 0)

/* Q8_K activations: the reference quantizer (ggml's rounding, byte for byte). */
void kq_quant_q8k_scalar(const float *x, void *y, int64_t n) { seek_quant_q8_k(x, (uint8_t *)y, n); }
