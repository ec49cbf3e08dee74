/* moe.c - DeepSeekMoE forward and backward for training (the V3 router, as arch_deepseek2.c).
 *
 * For token t with normed input xn_t[D]:
 *   s_t = sigmoid(Wr · xn_t)                      [E]  router scores
 *   chosen: the K largest s_t + bias (bias: exp_probs_b, moved by the aux-loss-free rule,
 *           never by gradient; ties go to the lower index)
 *   w_k = scale · s_{e_k} / sum_j s_{e_j}        (or scale · s_{e_k} without renormalisation)
 *   fo_t = shared(xn_t) + sum_k w_k · expert_{e_k}(xn_t)        expert = SwiGLU [D -> Fe -> D]
 * A "slot" is one (token, k) pair: N*K slots. Slots are sorted by expert (a counting sort,
 * so the order is deterministic) and each expert's slots gathered into a matrix, so an
 * expert is three matmuls forward and their backward passes, like a dense FFN.
 *
 * Gradients reach the router through the weights w_k of the chosen experts (and, with
 * alpha > 0, through the sequence-wise balance loss of DeepSeek-V3):
 *   L_bal = alpha / B · sum_b sum_e f_{b,e} P_{b,e},   f = E / (K T) · #tokens choosing e,
 *   P = mean_t s'_{t,e},  s' = s / sum_e s  (f is a count: constant).
 */
#include <string.h>
#include <tgmath.h>

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

    /* routed experts: gather each expert's tokens (rows start[e]..start[e+1] of the sorted
     * slots) and run its SwiGLU as three matmuls */
    const int Fe = c->Fe;
    for (int i = 0; i < N * K; i++)
        memcpy(a->xe + (size_t)i * D, a->xn2 + (size_t)(a->order[i] / K) * D, sizeof(real) * (size_t)D);
    for (int e = 0; e < E; e++) {
        const int i0 = a->start[e], n = a->start[e + 1] - i0;
        if (!n) continue;
        matmul_forward(a->eg + (size_t)i0 * Fe, a->xe + (size_t)i0 * D, w->gate_exps + (size_t)e * Fe * D, n, D, Fe);
        matmul_forward(a->eu + (size_t)i0 * Fe, a->xe + (size_t)i0 * D, w->up_exps + (size_t)e * Fe * D, n, D, Fe);
        swiglu_forward(a->eh + (size_t)i0 * Fe, a->eg + (size_t)i0 * Fe, a->eu + (size_t)i0 * Fe, (size_t)n * Fe);
        matmul_forward(a->ey + (size_t)i0 * D, a->eh + (size_t)i0 * Fe, w->down_exps + (size_t)e * D * Fe, n, Fe, D);
    }
    for (int i = 0; i < N * K; i++) {
        const int s = a->order[i];
        axpyr(a->fo + (size_t)(s / K) * D, a->w[s], a->ey + (size_t)i * D, D);
    }
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
/* backward; scratch holds N*(2*K*D + 3*K*Fe + E + 3*S) reals */

void moe_backward(real *dxn, const real *dfo, tm_acts *a, const tm_block *w, tm_block *gw, const tm_config *c, int B,
                  int T, float alpha, real *scratch) {
    const int N = B * T, D = c->D, E = c->E, K = c->K, S = c->Fe * c->n_shared;
    const int Fe = c->Fe, NK = N * K;
    real *dy = scratch;                               /* [NK][D] per sorted slot */
    real *dxs = dy + (size_t)NK * D;                  /* [NK][D] */
    real *deh = dxs + (size_t)NK * D, *deg = deh + (size_t)NK * Fe, *deu = deg + (size_t)NK * Fe;   /* [NK][Fe] */
    real *dlog = deu + (size_t)NK * Fe;               /* [N][E] */
    real *dh = dlog + (size_t)N * E, *dg = dh + (size_t)N * S, *du = dg + (size_t)N * S;

    /* routed experts, per expert over its gathered slots */
    for (int i = 0; i < NK; i++) {
        const int s = a->order[i];
        const real *d = dfo + (size_t)(s / K) * D;
        for (int k = 0; k < D; k++) dy[(size_t)i * D + k] = a->w[s] * d[k];
    }
    memset(dxs, 0, sizeof(real) * (size_t)NK * D);
    memset(deh, 0, sizeof(real) * (size_t)NK * Fe * 3);
    for (int e = 0; e < E; e++) {
        const int i0 = a->start[e], n = a->start[e + 1] - i0;
        if (!n) continue;
        const size_t wo = (size_t)e * Fe * D;
        matmul_backward(deh + (size_t)i0 * Fe, gw->down_exps + wo, dy + (size_t)i0 * D, a->eh + (size_t)i0 * Fe,
                        w->down_exps + wo, n, Fe, D);
        swiglu_backward(deg + (size_t)i0 * Fe, deu + (size_t)i0 * Fe, deh + (size_t)i0 * Fe, a->eg + (size_t)i0 * Fe,
                        a->eu + (size_t)i0 * Fe, (size_t)n * Fe);
        matmul_backward(dxs + (size_t)i0 * D, gw->gate_exps + wo, deg + (size_t)i0 * Fe, a->xe + (size_t)i0 * D,
                        w->gate_exps + wo, n, D, Fe);
        matmul_backward(dxs + (size_t)i0 * D, gw->up_exps + wo, deu + (size_t)i0 * Fe, a->xe + (size_t)i0 * D,
                        w->up_exps + wo, n, D, Fe);
    }
    for (int i = 0; i < NK; i++) axpyr(dxn + (size_t)(a->order[i] / K) * D, 1, dxs + (size_t)i * D, D);

    /* router: through the weights of the chosen experts */
    memset(dlog, 0, sizeof(real) * (size_t)N * E);
    real *gkall = dy;   /* dy is free again: dL/dw per slot */
    for (int i = 0; i < NK; i++) {
        const int s = a->order[i];
        gkall[s] = dotr(dfo + (size_t)(s / K) * D, a->ey + (size_t)i * D, D);
    }
    for (int t = 0; t < N; t++) {
        const real *s = a->sc + (size_t)t * E;
        const int *idx = a->idx + (size_t)t * K;
        real *ds = dlog + (size_t)t * E;
        real gk[K], sum = 0, gs = 0;
        for (int k = 0; k < K; k++) {
            gk[k] = gkall[(size_t)t * K + k];   /* dL/dw_k */
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
