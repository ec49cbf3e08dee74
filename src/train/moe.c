/* moe.c - DeepSeekMoE forward and backward for training (the V3 router, as arch_deepseek2.c).
 *
 * For token t with normed input xn_t[D]:
 *   s_t = sigmoid(Wr · xn_t)                      [E]  router scores
 *   chosen: the K largest s_t + bias (bias: exp_probs_b, moved by the aux-loss-free rule,
 *           never by gradient; ties go to the lower index)
 *   w_k = scale · s_{e_k} / sum_j s_{e_j}        (or scale · s_{e_k} without renormalisation)
 *   fo_t = shared(xn_t) + sum_k w_k · expert_{e_k}(xn_t)        expert = SwiGLU [D -> Fe -> D]
 * A "slot" is one (token, k) pair: N*K slots. Slots are sorted by expert so that one expert's
 * weights are read (and its gradients written) by one thread in one run.
 *
 * Gradients reach the router through the weights w_k of the chosen experts (and, with
 * alpha > 0, through the sequence-wise balance loss of DeepSeek-V3):
 *   L_bal = alpha / B · sum_b sum_e f_{b,e} P_{b,e},   f = E / (K T) · #tokens choosing e,
 *   P = mean_t s'_{t,e},  s' = s / sum_e s  (f is a count: constant).
 */
#include <string.h>
#include <tgmath.h>

#include "threads.h"
#include "train/train.h"

static inline real dotr(const real *a, const real *b, int n) {
    real acc[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    real s = 0;
    for (; i < n; i++) s += a[i] * b[i];
    return s + ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline void axpyr(real *y, real a, const real *x, int n) {
    for (int i = 0; i < n; i++) y[i] += a * x[i];
}

/* ------------------------------------------------------------------------------------ */
/* routed experts, one slot at a time */

typedef struct {
    tm_acts *a;
    const tm_block *w;
    tm_block *gw;
    const tm_config *c;
    const real *dfo;
    real *dxs;           /* [N*K][D] per-slot input gradients */
} moe_job;

static void experts_fwd(void *ud, int64_t b, int64_t e) {
    const moe_job *j = ud;
    const tm_acts *a = j->a;
    const int D = j->c->D, K = j->c->K, Fe = j->c->Fe;
    for (int64_t i = b; i < e; i++) {
        const int s = a->order[i], t = s / K, ex = a->idx[s];
        const real *x = a->xn2 + (size_t)t * D;
        const real *wg = j->w->gate_exps + (size_t)ex * Fe * D, *wu = j->w->up_exps + (size_t)ex * Fe * D;
        const real *wd = j->w->down_exps + (size_t)ex * D * Fe;
        real *g = a->eg + (size_t)s * Fe, *u = a->eu + (size_t)s * Fe, *h = a->eh + (size_t)s * Fe;
        for (int f = 0; f < Fe; f++) {
            g[f] = dotr(x, wg + (size_t)f * D, D);
            u[f] = dotr(x, wu + (size_t)f * D, D);
        }
        swiglu_forward(h, g, u, (size_t)Fe);
        real *y = a->ey + (size_t)s * D;
        for (int d = 0; d < D; d++) y[d] = dotr(h, wd + (size_t)d * Fe, Fe);
    }
}

/* split by expert: expert ex's weight gradients are written by exactly one thread */
static void experts_bwd(void *ud, int64_t b, int64_t e) {
    const moe_job *j = ud;
    const tm_acts *a = j->a;
    const int D = j->c->D, K = j->c->K, Fe = j->c->Fe;
    real dy[D], dh[Fe], dg[Fe], du[Fe];
    for (int64_t ex = b; ex < e; ex++) {
        const real *wg = j->w->gate_exps + (size_t)ex * Fe * D, *wu = j->w->up_exps + (size_t)ex * Fe * D;
        const real *wd = j->w->down_exps + (size_t)ex * D * Fe;
        real *gwg = j->gw->gate_exps + (size_t)ex * Fe * D, *gwu = j->gw->up_exps + (size_t)ex * Fe * D;
        real *gwd = j->gw->down_exps + (size_t)ex * D * Fe;
        for (int i = a->start[ex]; i < a->start[ex + 1]; i++) {
            const int s = a->order[i], t = s / K;
            const real *x = a->xn2 + (size_t)t * D, *h = a->eh + (size_t)s * Fe;
            for (int d = 0; d < D; d++) dy[d] = a->w[s] * j->dfo[(size_t)t * D + d];
            memset(dh, 0, sizeof dh);
            for (int d = 0; d < D; d++) {   /* y = Wd h */
                axpyr(dh, dy[d], wd + (size_t)d * Fe, Fe);
                axpyr(gwd + (size_t)d * Fe, dy[d], h, Fe);
            }
            memset(dg, 0, sizeof dg);
            memset(du, 0, sizeof du);
            swiglu_backward(dg, du, dh, a->eg + (size_t)s * Fe, a->eu + (size_t)s * Fe, (size_t)Fe);
            real *dx = j->dxs + (size_t)s * D;
            memset(dx, 0, sizeof(real) * (size_t)D);
            for (int f = 0; f < Fe; f++) {
                axpyr(gwg + (size_t)f * D, dg[f], x, D);
                axpyr(gwu + (size_t)f * D, du[f], x, D);
                axpyr(dx, dg[f], wg + (size_t)f * D, D);
                axpyr(dx, du[f], wu + (size_t)f * D, D);
            }
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* forward */

void moe_forward(tm_acts *a, const tm_block *w, const tm_config *c, int N, int64_t *load) {
    const int D = c->D, E = c->E, K = c->K, S = c->Fe * c->n_shared;

    /* router: scores, top-K by score + bias, weights from the unbiased scores */
    matmul_forward(a->sc, a->xn2, w->gate_inp, N, D, E);
    for (size_t i = 0; i < (size_t)N * E; i++) a->sc[i] = 1 / (1 + exp(-a->sc[i]));
    for (int t = 0; t < N; t++) {
        const real *s = a->sc + (size_t)t * E;
        int *idx = a->idx + (size_t)t * K;
        real *wt = a->w + (size_t)t * K;
        real sum = 0;
        for (int k = 0; k < K; k++) {
            int best = -1;
            real bv = 0;
            for (int e = 0; e < E; e++) {
                bool taken = false;
                for (int q = 0; q < k; q++) taken |= idx[q] == e;
                real v = s[e] + w->exp_probs_b[e];
                if (!taken && (best < 0 || v > bv)) { best = e; bv = v; }
            }
            idx[k] = best;
            wt[k] = s[best];
            sum += s[best];
        }
        for (int k = 0; k < K; k++) wt[k] = (c->norm_topk ? wt[k] / sum : wt[k]) * c->route_scale;
    }

    /* slots sorted by expert (counting sort: deterministic order) */
    for (int e = 0; e <= E; e++) a->start[e] = 0;
    for (int s = 0; s < N * K; s++) a->start[a->idx[s] + 1]++;
    for (int e = 0; e < E; e++) {
        a->start[e + 1] += a->start[e];
        if (load) load[e] += a->start[e + 1] - a->start[e];
    }
    {
        int fill[E];
        for (int e = 0; e < E; e++) fill[e] = a->start[e];
        for (int s = 0; s < N * K; s++) a->order[fill[a->idx[s]]++] = s;
    }

    /* shared experts: one SwiGLU of width S over every token */
    if (S > 0) {
        matmul_forward(a->g, a->xn2, w->gate_shexp, N, D, S);
        matmul_forward(a->u, a->xn2, w->up_shexp, N, D, S);
        swiglu_forward(a->h, a->g, a->u, (size_t)N * S);
        matmul_forward(a->fo, a->h, w->down_shexp, N, S, D);
    } else {
        memset(a->fo, 0, sizeof(real) * (size_t)N * D);
    }

    moe_job j = {.a = a, .w = w, .c = c};
    par_for((int64_t)N * K, experts_fwd, &j);
    for (int s = 0; s < N * K; s++) axpyr(a->fo + (size_t)(s / K) * D, a->w[s], a->ey + (size_t)s * D, D);
}

double moe_balance_loss(const tm_acts *a, const tm_config *c, int B, int T, float alpha) {
    const int E = c->E, K = c->K;
    if (alpha <= 0) return 0;
    double total = 0;
    for (int b = 0; b < B; b++) {
        double f[E], P[E];
        for (int e = 0; e < E; e++) f[e] = P[e] = 0;
        for (int t = b * T; t < (b + 1) * T; t++) {
            const real *s = a->sc + (size_t)t * E;
            double sum = 0;
            for (int e = 0; e < E; e++) sum += s[e];
            for (int e = 0; e < E; e++) P[e] += s[e] / sum / T;
            for (int k = 0; k < K; k++) f[a->idx[(size_t)t * K + k]] += (double)E / ((double)K * T);
        }
        for (int e = 0; e < E; e++) total += f[e] * P[e];
    }
    return alpha * total / B;
}

/* ------------------------------------------------------------------------------------ */
/* backward; scratch holds N*(K*D + E + 3*S) reals */

void moe_backward(real *dxn, const real *dfo, tm_acts *a, const tm_block *w, tm_block *gw, const tm_config *c, int B,
                  int T, float alpha, real *scratch) {
    const int N = B * T, D = c->D, E = c->E, K = c->K, S = c->Fe * c->n_shared;
    real *dxs = scratch;                              /* [N*K][D] */
    real *dlog = dxs + (size_t)N * K * D;             /* [N][E] */
    real *dh = dlog + (size_t)N * E, *dg = dh + (size_t)N * S, *du = dg + (size_t)N * S;

    /* routed experts */
    moe_job j = {.a = a, .w = w, .gw = gw, .c = c, .dfo = dfo, .dxs = dxs};
    par_for(E, experts_bwd, &j);
    for (int s = 0; s < N * K; s++) axpyr(dxn + (size_t)(s / K) * D, 1, dxs + (size_t)s * D, D);

    /* router: through the weights of the chosen experts */
    memset(dlog, 0, sizeof(real) * (size_t)N * E);
    for (int t = 0; t < N; t++) {
        const real *s = a->sc + (size_t)t * E;
        const int *idx = a->idx + (size_t)t * K;
        real *ds = dlog + (size_t)t * E;
        real gk[K], sum = 0, gs = 0;
        for (int k = 0; k < K; k++) {
            gk[k] = dotr(dfo + (size_t)t * D, a->ey + ((size_t)t * K + k) * D, D);   /* dL/dw_k */
            sum += s[idx[k]];
            gs += gk[k] * s[idx[k]];
        }
        for (int k = 0; k < K; k++)
            ds[idx[k]] += c->norm_topk ? c->route_scale * (gk[k] / sum - gs / (sum * sum)) : c->route_scale * gk[k];
    }
    /* balance loss: dL/ds'_{t,e} = alpha / B · f_{b,e} / T, then through s' = s / sum s */
    if (alpha > 0)
        for (int b = 0; b < B; b++) {
            double f[E];
            for (int e = 0; e < E; e++) f[e] = 0;
            for (int t = b * T; t < (b + 1) * T; t++)
                for (int k = 0; k < K; k++) f[a->idx[(size_t)t * K + k]] += (double)E / ((double)K * T);
            for (int t = b * T; t < (b + 1) * T; t++) {
                const real *s = a->sc + (size_t)t * E;
                double sum = 0, dot = 0;
                for (int e = 0; e < E; e++) sum += s[e];
                for (int e = 0; e < E; e++) dot += alpha / B * f[e] / T * (s[e] / sum);
                for (int e = 0; e < E; e++) dlog[(size_t)t * E + e] += (real)((alpha / B * f[e] / T - dot) / sum);
            }
        }
    for (size_t i = 0; i < (size_t)N * E; i++) dlog[i] *= a->sc[i] * (1 - a->sc[i]);   /* sigmoid' */
    matmul_backward(dxn, gw->gate_inp, dlog, a->xn2, w->gate_inp, N, D, E);

    /* shared experts */
    if (S > 0) {
        memset(dh, 0, sizeof(real) * (size_t)N * S * 3);
        matmul_backward(dh, gw->down_shexp, dfo, a->h, w->down_shexp, N, S, D);
        swiglu_backward(dg, du, dh, a->g, a->u, (size_t)N * S);
        matmul_backward(dxn, gw->gate_shexp, dg, a->xn2, w->gate_shexp, N, D, S);
        matmul_backward(dxn, gw->up_shexp, du, a->xn2, w->up_shexp, N, D, S);
    }
}
