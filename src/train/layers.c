/* layers.c - forward and backward of the dense layers of training: matmul, RMSNorm,
 * interleaved RoPE, MLA's attention core, SwiGLU, cross-entropy.
 *
 * Every _backward accumulates (+=) into its outputs, so gradients of tensors used twice
 * (tied embeddings, the residual stream) add up. Loops are split over the thread pool by
 * index only (tokens, output rows, sequences): each output element is computed by the same
 * sequence of operations for any thread count, so training is bit-identical across -t.
 */
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
/* matmul: out[N][OC] = x[N][C] · w[OC][C]^T */

typedef struct {
    real *out, *dx, *dw;
    const real *x, *w, *dout;
    int N, C, OC;
} mm_job;

static void mm_fwd_rows(void *ud, int64_t b, int64_t e) {
    const mm_job *j = ud;
    enum { TB = 16 };   /* tokens per tile: their rows stay in L1 while the weights stream */
    for (int64_t t0 = b; t0 < e; t0 += TB) {
        int64_t t1 = t0 + TB < e ? t0 + TB : e;
        for (int o = 0; o < j->OC; o++) {
            const real *wo = j->w + (size_t)o * j->C;
            for (int64_t t = t0; t < t1; t++) j->out[(size_t)t * j->OC + o] = dot(j->x + (size_t)t * j->C, wo, j->C);
        }
    }
}

void matmul_forward(real *out, const real *x, const real *w, int N, int C, int OC) {
    mm_job j = {.out = out, .x = x, .w = w, .N = N, .C = C, .OC = OC};
    par_for(N, mm_fwd_rows, &j);
}

static void mm_bwd_dx(void *ud, int64_t b, int64_t e) {   /* dx[t] += sum_o dout[t][o] w[o] */
    const mm_job *j = ud;
    for (int64_t t = b; t < e; t++) {
        real *dxt = j->dx + (size_t)t * j->C;
        const real *dot_ = j->dout + (size_t)t * j->OC;
        for (int o = 0; o < j->OC; o++)
            if (dot_[o] != 0) axpy(dxt, dot_[o], j->w + (size_t)o * j->C, j->C);
    }
}

static void mm_bwd_dw(void *ud, int64_t b, int64_t e) {   /* dw[o] += sum_t dout[t][o] x[t] */
    const mm_job *j = ud;
    for (int64_t o = b; o < e; o++) {
        real *dwo = j->dw + (size_t)o * j->C;
        for (int t = 0; t < j->N; t++) {
            real d = j->dout[(size_t)t * j->OC + o];
            if (d != 0) axpy(dwo, d, j->x + (size_t)t * j->C, j->C);
        }
    }
}

void matmul_backward(real *dx, real *dw, const real *dout, const real *x, const real *w, int N, int C, int OC) {
    mm_job j = {.dx = dx, .dw = dw, .dout = dout, .x = x, .w = w, .N = N, .C = C, .OC = OC};
    if (dx) par_for(N, mm_bwd_dx, &j);
    if (dw) par_for(OC, mm_bwd_dw, &j);
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
} att_job;

static void att_fwd(void *ud, int64_t b0, int64_t b1) {
    const att_job *j = ud;
    const int T = j->T, H = j->H, nope = j->nope, rope = j->rope, hv = j->hv, hk = nope + rope, kvw = nope + hv;
    for (int64_t bh = b0; bh < b1; bh++) {
        const int b = (int)(bh / H), h = (int)(bh % H);
        for (int t = 0; t < T; t++) {
            const size_t it = (size_t)b * T + t;
            const real *qt = j->q + (it * H + h) * hk;
            real *a = j->att + (((size_t)b * H + h) * T + t) * T;
            real mx = -INFINITY;
            for (int p = 0; p <= t; p++) {
                const size_t ip = (size_t)b * T + p;
                real s = dot(qt, j->kv + (ip * H + h) * kvw, nope) + dot(qt + nope, j->kpe + ip * rope, rope);
                a[p] = s * j->scale;
                if (a[p] > mx) mx = a[p];
            }
            double sum = 0;
            for (int p = 0; p <= t; p++) { a[p] = exp(a[p] - mx); sum += a[p]; }
            for (int p = 0; p <= t; p++) a[p] = (real)(a[p] / sum);
            for (int p = t + 1; p < T; p++) a[p] = 0;
            real *o = j->ao + it * H * hv + (size_t)h * hv;
            for (int i = 0; i < hv; i++) o[i] = 0;
            for (int p = 0; p <= t; p++) axpy(o, a[p], j->kv + (((size_t)b * T + p) * H + h) * kvw + nope, hv);
        }
    }
}

void attention_forward(real *ao, real *att, const real *q, const real *kv, const real *kpe, int B, int T, int H,
                       int nope, int rope, int hv, real scale) {
    att_job j = {.ao = ao, .att = att, .q = q, .kv = kv, .kpe = kpe, .B = B, .T = T, .H = H, .nope = nope,
                 .rope = rope, .hv = hv, .scale = scale};
    par_for((int64_t)B * H, att_fwd, &j);
}

/* dP(t,p) = dao_t · v_p;  dS = P * (dP - sum_p P dP);  dq_t = scale sum_p dS k_p;
 * dk_p += scale sum_t dS q_t;  dv_p += sum_t P dao_t.  kpe is shared by the heads, so the
 * split is over sequences (each writes only its own tokens' gradients). */
static void att_bwd(void *ud, int64_t b0, int64_t b1) {
    const att_job *j = ud;
    const int T = j->T, H = j->H, nope = j->nope, rope = j->rope, hv = j->hv, hk = nope + rope, kvw = nope + hv;
    real ds[T > 0 ? T : 1];
    for (int64_t b = b0; b < b1; b++)
        for (int h = 0; h < H; h++)
            for (int t = 0; t < T; t++) {
                const size_t it = (size_t)b * T + t;
                const real *a = j->attc + (((size_t)b * H + h) * T + t) * T;
                const real *dout = j->dao + it * H * hv + (size_t)h * hv;
                double sum = 0;
                for (int p = 0; p <= t; p++) {
                    ds[p] = dot(dout, j->kv + (((size_t)b * T + p) * H + h) * kvw + nope, hv);
                    sum += (double)a[p] * ds[p];
                }
                const real *qt = j->q + (it * H + h) * hk;
                real *dqt = j->dq + (it * H + h) * hk;
                for (int p = 0; p <= t; p++) {
                    const size_t ip = (size_t)b * T + p;
                    real *dkvp = j->dkv + (ip * H + h) * kvw;
                    axpy(dkvp + nope, a[p], dout, hv);                 /* dv */
                    real d = a[p] * (ds[p] - (real)sum) * j->scale;
                    if (d == 0) continue;
                    axpy(dqt, d, j->kv + (ip * H + h) * kvw, nope);    /* dq_nope */
                    axpy(dqt + nope, d, j->kpe + ip * rope, rope);     /* dq_pe */
                    axpy(dkvp, d, qt, nope);                           /* dk_nope */
                    axpy(j->dkpe + ip * rope, d, qt + nope, rope);     /* dk_pe */
                }
            }
}

void attention_backward(real *dq, real *dkv, real *dkpe, const real *dao, const real *att, const real *q,
                        const real *kv, const real *kpe, int B, int T, int H, int nope, int rope, int hv, real scale) {
    att_job j = {.dq = dq, .dkv = dkv, .dkpe = dkpe, .dao = dao, .attc = att, .q = q, .kv = kv, .kpe = kpe,
                 .B = B, .T = T, .H = H, .nope = nope, .rope = rope, .hv = hv, .scale = scale};
    par_for(B, att_bwd, &j);
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
