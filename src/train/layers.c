/* layers.c - forward and backward of the dense layers of training: matmul, RMSNorm,
 * interleaved RoPE, MLA's attention core, SwiGLU, cross-entropy.
 *
 * Every _backward accumulates (+=) into its outputs, so gradients of tensors used twice
 * (tied embeddings, the residual stream) add up. Loops are split over the thread pool by
 * index only (tokens, output rows, sequences): each output element is computed by the same
 * sequence of operations for any thread count, so training is bit-identical across -t.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "threads.h"
#include "train/train.h"

/* a·b over n elements: eight partial sums the compiler turns into one vector register */
static inline real dot(const real *a, const real *b, int n) {
    real acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    real s = 0;
    for (; i < n; i++) s += a[i] * b[i];
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline void axpy(real *y, real a, const real *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* ------------------------------------------------------------------------------------ */
/* gemm_nt: out[M][Nn] (+)= A[M][K] · B[Nn][K]^T, the one kernel behind every matmul.
 * Blocks of 4 x 4 outputs share their loads (16 vector accumulators); every output element
 * is summed in the same order (vector lanes over k, then a fixed lane reduction, then the
 * scalar tail) whichever path computes it, so results do not depend on how rows are split
 * over threads. */

#define VW (32 / (int)sizeof(real))
typedef real vreal __attribute__((vector_size(32)));

static inline vreal vload(const real *p) { vreal v; memcpy(&v, p, sizeof v); return v; }
static inline real hsum(vreal v) {
    real s = 0;
    for (int i = 0; i < VW; i++) s += v[i];
    return s;
}

typedef struct {
    real *out;
    const real *A, *B;
    int M, Nn, K, acc;
} gemm_job;

static inline real dot1(const real *a, const real *b, int K) {
    vreal acc = {0};
    int k = 0;
    for (; k + VW <= K; k += VW) acc += vload(a + k) * vload(b + k);
    real s = hsum(acc);
    for (; k < K; k++) s += a[k] * b[k];
    return s;
}

static void gemm_rows(void *ud, int64_t m0, int64_t m1) {
    const gemm_job *j = ud;
    const int K = j->K, Nn = j->Nn, kv = K / VW * VW;
    int64_t m = m0;
    for (; m + 4 <= m1; m += 4) {
        const real *a0 = j->A + (size_t)m * K, *a1 = a0 + K, *a2 = a1 + K, *a3 = a2 + K;
        int n = 0;
        for (; n + 4 <= Nn; n += 4) {
            const real *b0 = j->B + (size_t)n * K, *b1 = b0 + K, *b2 = b1 + K, *b3 = b2 + K;
            vreal c[4][4] = {{{0}}};
            for (int k = 0; k < kv; k += VW) {
                vreal x0 = vload(a0 + k), x1 = vload(a1 + k), x2 = vload(a2 + k), x3 = vload(a3 + k);
                vreal y0 = vload(b0 + k), y1 = vload(b1 + k), y2 = vload(b2 + k), y3 = vload(b3 + k);
                c[0][0] += x0 * y0; c[0][1] += x0 * y1; c[0][2] += x0 * y2; c[0][3] += x0 * y3;
                c[1][0] += x1 * y0; c[1][1] += x1 * y1; c[1][2] += x1 * y2; c[1][3] += x1 * y3;
                c[2][0] += x2 * y0; c[2][1] += x2 * y1; c[2][2] += x2 * y2; c[2][3] += x2 * y3;
                c[3][0] += x3 * y0; c[3][1] += x3 * y1; c[3][2] += x3 * y2; c[3][3] += x3 * y3;
            }
            const real *ar[4] = {a0, a1, a2, a3}, *br[4] = {b0, b1, b2, b3};
            for (int p = 0; p < 4; p++)
                for (int q = 0; q < 4; q++) {
                    real s = hsum(c[p][q]);
                    for (int k = kv; k < K; k++) s += ar[p][k] * br[q][k];
                    real *o = j->out + (size_t)(m + p) * Nn + n + q;
                    *o = j->acc ? *o + s : s;
                }
        }
        for (; n < Nn; n++)
            for (int p = 0; p < 4; p++) {
                real s = dot1(j->A + (size_t)(m + p) * K, j->B + (size_t)n * K, K);
                real *o = j->out + (size_t)(m + p) * Nn + n;
                *o = j->acc ? *o + s : s;
            }
    }
    for (; m < m1; m++)
        for (int n = 0; n < Nn; n++) {
            real s = dot1(j->A + (size_t)m * K, j->B + (size_t)n * K, K);
            real *o = j->out + (size_t)m * Nn + n;
            *o = j->acc ? *o + s : s;
        }
}

/* rows split in multiples of 4 so the blocking is the same for any thread count */
static void gemm_quads(void *ud, int64_t q0, int64_t q1) {
    const gemm_job *j = ud;
    int64_t m1 = q1 * 4 < j->M ? q1 * 4 : j->M;
    gemm_rows(ud, q0 * 4, m1);
}

static void gemm_nt(real *out, const real *A, const real *B, int M, int Nn, int K, int acc) {
    gemm_job j = {.out = out, .A = A, .B = B, .M = M, .Nn = Nn, .K = K, .acc = acc};
    par_for((M + 3) / 4, gemm_quads, &j);
}

/* dst[C][R] = src[R][C] */
static void transpose(real *dst, const real *src, int R, int C) {
    enum { TB = 32 };
    for (int r0 = 0; r0 < R; r0 += TB)
        for (int c0 = 0; c0 < C; c0 += TB)
            for (int r = r0; r < r0 + TB && r < R; r++)
                for (int c = c0; c < c0 + TB && c < C; c++) dst[(size_t)c * R + r] = src[(size_t)r * C + c];
}

/* transposes need scratch: kept between calls (training drives layers from one thread) */
static real *scratch(int which, size_t n) {
    static real *buf[2];
    static size_t cap[2];
    if (n > cap[which]) {
        free(buf[which]);
        buf[which] = malloc(sizeof(real) * n);
        cap[which] = buf[which] ? n : 0;
    }
    return buf[which];
}

/* ------------------------------------------------------------------------------------ */
/* matmul: out[N][OC] = x[N][C] · w[OC][C]^T */

void matmul_forward(real *out, const real *x, const real *w, int N, int C, int OC) {
    gemm_nt(out, x, w, N, OC, C, 0);
}

/* dx[N][C] += dout[N][OC] · w;  dw[OC][C] += dout^T · x  (both as gemm_nt on transposes) */
void matmul_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, int N, int C, int OC) {
    if (dx) {
        real *wt = scratch(0, (size_t)C * OC);
        if (wt) {
            transpose(wt, w, OC, C);
            gemm_nt(dx, dout, wt, N, C, OC, 1);
        } else {   /* out of memory for the transpose: the same sums, slowly */
            for (int t = 0; t < N; t++)
                for (int o = 0; o < OC; o++) axpy(dx + (size_t)t * C, dout[(size_t)t * OC + o], w + (size_t)o * C, C);
        }
    }
    if (dw) {
        real *dt = scratch(0, (size_t)OC * N), *xt = scratch(1, (size_t)C * N);
        if (dt && xt) {
            transpose(dt, dout, N, OC);
            transpose(xt, x, N, C);
            gemm_nt(dw, dt, xt, OC, C, N, 1);
        } else {
            for (int o = 0; o < OC; o++)
                for (int t = 0; t < N; t++) axpy(dw + (size_t)o * C, dout[(size_t)t * OC + o], x + (size_t)t * C, C);
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* RMSNorm: out = x * rstd * w, rstd = 1/sqrt(mean(x^2) + eps) */

void rmsnorm_forward(real *out, real *rstd, const real *x, const real *w, int N, int C, float eps) {
    for (int t = 0; t < N; t++) {
        const real *xt = x + (size_t)t * C;
        double ss = 0;
        for (int i = 0; i < C; i++) ss += (double)xt[i] * xt[i];
        real r = (real)(1.0 / sqrt(ss / C + eps));
        rstd[t] = r;
        real *ot = out + (size_t)t * C;
        for (int i = 0; i < C; i++) ot[i] = xt[i] * r * w[i];
    }
}

/* dx_i = r * w_i dy_i - r^3 / C * x_i * sum_j w_j dy_j x_j;  dw_i = sum_t dy_i x_i r */
void rmsnorm_backward(real *dx, real *dw, const real *dout, const real *x, const real *rstd, const real *w, int N, int C) {
    for (int t = 0; t < N; t++) {
        const real *xt = x + (size_t)t * C, *dy = dout + (size_t)t * C;
        real r = rstd[t];
        double s = 0;
        for (int i = 0; i < C; i++) s += (double)w[i] * dy[i] * xt[i];
        real k = (real)(s * r * r * r / C);
        real *dxt = dx + (size_t)t * C;
        for (int i = 0; i < C; i++) {
            dxt[i] += r * w[i] * dy[i] - k * xt[i];
            if (dw) dw[i] += dy[i] * xt[i] * r;
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* RoPE on adjacent pairs (x[2j], x[2j+1]), at position t % T. Token t holds n_vec vectors
 * of stride/n_vec values (q: H heads of [nope ; rope]); the last n_rot values of each rotate. */

static void rope_rot(real *x, int stride, int n_rot, int N, int T, int n_vec, const real *cs, const real *sn, real sign) {
    const int half = n_rot / 2, vs = stride / n_vec;
    for (int t = 0; t < N; t++) {
        const real *c = cs + (size_t)(t % T) * half, *s = sn + (size_t)(t % T) * half;
        for (int v = 0; v < n_vec; v++) {
            real *p = x + (size_t)t * stride + (size_t)v * vs + (vs - n_rot);
            for (int j = 0; j < half; j++) {
                real a = p[2 * j], b = p[2 * j + 1];
                p[2 * j] = a * c[j] - sign * b * s[j];
                p[2 * j + 1] = sign * a * s[j] + b * c[j];
            }
        }
    }
}

void rope_forward(real *x, int stride, int n_rot, int N, int T, int n_vec, const real *cs, const real *sn) {
    rope_rot(x, stride, n_rot, N, T, n_vec, cs, sn, 1);
}

/* the rotation is orthogonal: the gradient goes back through its transpose (angle -theta) */
void rope_backward(real *dx, int stride, int n_rot, int N, int T, int n_vec, const real *cs, const real *sn) {
    rope_rot(dx, stride, n_rot, N, T, n_vec, cs, sn, -1);
}

/* ------------------------------------------------------------------------------------ */
/* MLA attention core, per sequence b and head h:
 *   q [N][H][hk] (= [q_nope ; q_pe]), kv [N][H][nope + hv] (= [k_nope ; v]), kpe [N][rope]
 *   s(t,p) = scale * (q_nope_t · k_nope_p + q_pe_t · kpe_p), p <= t;  att = softmax_p(s)
 *   ao[t][h] = sum_p att(t,p) v_p                                       ao [N][H*hv] */

typedef struct {
    real *ao, *att, *dq, *dkv, *dkpe;
    const real *q, *kv, *kpe, *dao, *attc;
    int B, T, H, nope, rope, hv;
    real scale;
    int failed;
} att_job;

/* c[M][Nn] = a[M][K] · b[Nn][K]^T on the calling thread */
static void gemm_serial(real *c, const real *a, const real *b, int M, int Nn, int K) {
    gemm_job j = {.out = c, .A = a, .B = b, .M = M, .Nn = Nn, .K = K, .acc = 0};
    gemm_rows(&j, 0, M);
}

/* one head of one sequence, gathered into contiguous matrices:
 * Q [T][hk], K [T][hk] = [k_nope ; k_pe], V [T][hv] (and transposes) */
static void gather_head(const att_job *j, int b, int h, real *Q, real *K, real *V) {
    const int T = j->T, H = j->H, nope = j->nope, rope = j->rope, hv = j->hv, hk = nope + rope, kvw = nope + hv;
    for (int t = 0; t < T; t++) {
        const size_t it = (size_t)b * T + t;
        memcpy(Q + (size_t)t * hk, j->q + (it * H + h) * hk, sizeof(real) * (size_t)hk);
        memcpy(K + (size_t)t * hk, j->kv + (it * H + h) * kvw, sizeof(real) * (size_t)nope);
        memcpy(K + (size_t)t * hk + nope, j->kpe + it * rope, sizeof(real) * (size_t)rope);
        memcpy(V + (size_t)t * hv, j->kv + (it * H + h) * kvw + nope, sizeof(real) * (size_t)hv);
    }
}

static void att_fwd(void *ud, int64_t b0, int64_t b1) {
    att_job *j = ud;
    const int T = j->T, H = j->H, hv = j->hv, hk = j->nope + j->rope;
    real *Q = malloc(sizeof(real) * (size_t)T * (2 * hk + 3 * hv));
    if (!Q) { j->failed = 1; return; }
    real *K = Q + (size_t)T * hk, *V = K + (size_t)T * hk, *VT = V + (size_t)T * hv, *O = VT + (size_t)T * hv;
    for (int64_t bh = b0; bh < b1; bh++) {
        const int b = (int)(bh / H), h = (int)(bh % H);
        gather_head(j, b, h, Q, K, V);
        transpose(VT, V, T, hv);
        real *P = j->att + ((size_t)b * H + h) * T * T;   /* [T][T] */
        gemm_serial(P, Q, K, T, T, hk);
        for (int t = 0; t < T; t++) {
            real *a = P + (size_t)t * T, mx = -INFINITY;
            for (int p = 0; p <= t; p++) { a[p] *= j->scale; if (a[p] > mx) mx = a[p]; }
            double sum = 0;
            for (int p = 0; p <= t; p++) { a[p] = exp(a[p] - mx); sum += a[p]; }
            for (int p = 0; p <= t; p++) a[p] = (real)(a[p] / sum);
            for (int p = t + 1; p < T; p++) a[p] = 0;
        }
        gemm_serial(O, P, VT, T, hv, T);   /* O[t] = sum_p P[t][p] V[p] */
        for (int t = 0; t < T; t++)
            memcpy(j->ao + ((size_t)b * T + t) * H * hv + (size_t)h * hv, O + (size_t)t * hv, sizeof(real) * (size_t)hv);
    }
    free(Q);
}

void attention_forward(real *ao, real *att, const real *q, const real *kv, const real *kpe, int B, int T, int H,
                       int nope, int rope, int hv, real scale) {
    att_job j = {.ao = ao, .att = att, .q = q, .kv = kv, .kpe = kpe, .B = B, .T = T, .H = H, .nope = nope,
                 .rope = rope, .hv = hv, .scale = scale};
    par_for((int64_t)B * H, att_fwd, &j);
    if (j.failed) { fputs("seek: train: out of memory (attention scratch)\n", stderr); abort(); }
}

/* dP = dO V^T;  dS = P * (dP - rowsum(P dP)) * scale;  dQ = dS K;  dK = dS^T Q;  dV = P^T dO.
 * kpe is shared by the heads, so the split is over sequences (a job owns its tokens). */
static void att_bwd(void *ud, int64_t b0, int64_t b1) {
    att_job *j = ud;
    const int T = j->T, H = j->H, nope = j->nope, rope = j->rope, hv = j->hv, hk = nope + rope, kvw = nope + hv;
    const size_t TT = (size_t)T * T;
    real *Q = malloc(sizeof(real) * ((size_t)T * (6 * hk + 5 * hv) + 3 * TT));
    if (!Q) { j->failed = 1; return; }
    real *K = Q + (size_t)T * hk, *V = K + (size_t)T * hk, *QT = V + (size_t)T * hv, *KT = QT + (size_t)T * hk;
    real *dO = KT + (size_t)T * hk, *dOT = dO + (size_t)T * hv, *dQ = dOT + (size_t)T * hv, *dK = dQ + (size_t)T * hk;
    real *dV = dK + (size_t)T * hk, *dP = dV + (size_t)T * hv, *dST = dP + TT, *PT = dST + TT;
    for (int64_t b = b0; b < b1; b++)
        for (int h = 0; h < H; h++) {
            gather_head(j, (int)b, h, Q, K, V);
            transpose(QT, Q, T, hk);
            transpose(KT, K, T, hk);
            for (int t = 0; t < T; t++)
                memcpy(dO + (size_t)t * hv, j->dao + ((size_t)b * T + t) * H * hv + (size_t)h * hv, sizeof(real) * (size_t)hv);
            transpose(dOT, dO, T, hv);
            const real *P = j->attc + ((size_t)b * H + h) * TT;
            gemm_serial(dP, dO, V, T, T, hv);
            for (int t = 0; t < T; t++) {   /* dP becomes dS in place */
                const real *a = P + (size_t)t * T;
                real *d = dP + (size_t)t * T;
                double sum = 0;
                for (int p = 0; p <= t; p++) sum += (double)a[p] * d[p];
                for (int p = 0; p <= t; p++) d[p] = a[p] * (d[p] - (real)sum) * j->scale;
                for (int p = t + 1; p < T; p++) d[p] = 0;
            }
            transpose(dST, dP, T, T);
            transpose(PT, P, T, T);
            gemm_serial(dQ, dP, KT, T, hk, T);
            gemm_serial(dK, dST, QT, T, hk, T);
            gemm_serial(dV, PT, dOT, T, hv, T);
            for (int t = 0; t < T; t++) {
                const size_t it = (size_t)b * T + t;
                axpy(j->dq + (it * H + h) * hk, 1, dQ + (size_t)t * hk, hk);
                axpy(j->dkv + (it * H + h) * kvw, 1, dK + (size_t)t * hk, nope);
                axpy(j->dkpe + it * rope, 1, dK + (size_t)t * hk + nope, rope);
                axpy(j->dkv + (it * H + h) * kvw + nope, 1, dV + (size_t)t * hv, hv);
            }
        }
    free(Q);
}

void attention_backward(real *dq, real *dkv, real *dkpe, const real *dao, const real *att, const real *q,
                        const real *kv, const real *kpe, int B, int T, int H, int nope, int rope, int hv, real scale) {
    att_job j = {.dq = dq, .dkv = dkv, .dkpe = dkpe, .dao = dao, .attc = att, .q = q, .kv = kv, .kpe = kpe,
                 .B = B, .T = T, .H = H, .nope = nope, .rope = rope, .hv = hv, .scale = scale};
    par_for(B, att_bwd, &j);
    if (j.failed) { fputs("seek: train: out of memory (attention scratch)\n", stderr); abort(); }
}

/* ------------------------------------------------------------------------------------ */
/* SwiGLU: h = silu(g) * u;  silu'(g) = sig(g) (1 + g (1 - sig(g))) */

void swiglu_forward(real *h, const real *g, const real *u, size_t n) {
    for (size_t i = 0; i < n; i++) h[i] = g[i] / (1 + exp(-g[i])) * u[i];
}

void swiglu_backward(real *dg, real *du, const real *dh, const real *g, const real *u, size_t n) {
    for (size_t i = 0; i < n; i++) {
        real sg = 1 / (1 + exp(-g[i]));
        du[i] += dh[i] * g[i] * sg;
        dg[i] += dh[i] * u[i] * sg * (1 + g[i] * (1 - sg));
    }
}

/* ------------------------------------------------------------------------------------ */
/* cross-entropy */

typedef struct {
    real *dl;
    const real *lg;
    const int32_t *tgt;
    int V;
    real dscale;
    double *loss;
} ce_job;

static void ce_rows(void *ud, int64_t b, int64_t e) {
    const ce_job *j = ud;
    for (int64_t t = b; t < e; t++) {
        const real *l = j->lg + (size_t)t * j->V;
        real *d = j->dl ? j->dl + (size_t)t * j->V : NULL;
        int y = j->tgt[t];
        if (y < 0) {
            j->loss[t] = 0;
            if (d) memset(d, 0, sizeof(real) * (size_t)j->V);
            continue;
        }
        real mx = l[0];
        for (int v = 1; v < j->V; v++) if (l[v] > mx) mx = l[v];
        double sum = 0;
        for (int v = 0; v < j->V; v++) sum += exp((double)(l[v] - mx));
        j->loss[t] = log(sum) - (double)(l[y] - mx);
        if (d) {
            for (int v = 0; v < j->V; v++) d[v] = (real)(exp((double)(l[v] - mx)) / sum) * j->dscale;
            d[y] -= j->dscale;
        }
    }
}

double crossentropy(real *dlogits, const real *logits, const int32_t *tgt, int N, int V, real dscale, int *count) {
    double loss[N > 0 ? N : 1];
    ce_job j = {.dl = dlogits, .lg = logits, .tgt = tgt, .V = V, .dscale = dscale, .loss = loss};
    par_for(N, ce_rows, &j);
    double s = 0;
    int n = 0;
    for (int t = 0; t < N; t++)
        if (tgt[t] >= 0) { s += loss[t]; n++; }
    if (count) *count = n;
    return s;
}
