/* tmodel.c - the trainable DeepSeek-V3-architecture model: parameter layout (GGUF names),
 * initialisation, activations, and the forward and backward passes of blocks, the output
 * head and the MTP module. See train.h for the model; layers.c and moe.c for the pieces.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "train/train.h"
#include "util.h"

bool tm_is_moe(const tm_config *c, int l) { return c->E > 0 && l >= c->n_dense; }

/* ------------------------------------------------------------------------------------ */
/* parameter layout */

static int add_tensor(tm_model *m, size_t *cap, const char *name, int nd, int64_t n0, int64_t n1, int64_t n2, int kind) {
    if (seek_reserve(&m->tensors, cap, (size_t)m->n_tensors + 1, sizeof *m->tensors, 64)) return -1;
    tm_tensor *t = &m->tensors[m->n_tensors++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->nd = nd;
    t->ne[0] = n0;
    t->ne[1] = nd > 1 ? n1 : 1;
    t->ne[2] = nd > 2 ? n2 : 1;
    t->n = (size_t)(t->ne[0] * t->ne[1] * t->ne[2]);
    t->off = m->n_params;
    t->kind = kind;
    m->n_params += (t->n + 15) & ~(size_t)15;   /* 64-byte aligned starts */
    return 0;
}

static real *find(const tm_model *m, real *base, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return base + m->tensors[i].off;
    return NULL;
}

static void map_views(const tm_model *m, real *base, tm_weights *v) {
    const tm_config *c = &m->c;
    char nb[96];
    v->tok_embd = find(m, base, "token_embd.weight");
    v->output_norm = find(m, base, "output_norm.weight");
    v->output = c->tied ? v->tok_embd : find(m, base, "output.weight");
    for (int l = 0; l < c->L + c->mtp; l++) {
        tm_block *b = &v->blk[l];
#define P(s) (snprintf(nb, sizeof nb, "blk.%d.%s", l, s), find(m, base, nb))
        b->attn_norm = P("attn_norm.weight");
        b->wq_a = P("attn_q_a.weight");
        b->q_a_norm = P("attn_q_a_norm.weight");
        b->wq_b = P("attn_q_b.weight");
        b->wkv_a = P("attn_kv_a_mqa.weight");
        b->kv_a_norm = P("attn_kv_a_norm.weight");
        b->wkv_b = P("attn_kv_b.weight");
        b->wo = P("attn_output.weight");
        b->ffn_norm = P("ffn_norm.weight");
        b->ffn_gate = P("ffn_gate.weight");
        b->ffn_up = P("ffn_up.weight");
        b->ffn_down = P("ffn_down.weight");
        b->gate_inp = P("ffn_gate_inp.weight");
        b->exp_probs_b = P("exp_probs_b.bias");
        b->gate_exps = P("ffn_gate_exps.weight");
        b->up_exps = P("ffn_up_exps.weight");
        b->down_exps = P("ffn_down_exps.weight");
        b->gate_shexp = P("ffn_gate_shexp.weight");
        b->up_shexp = P("ffn_up_shexp.weight");
        b->down_shexp = P("ffn_down_shexp.weight");
        b->enorm = P("nextn.enorm.weight");
        b->hnorm = P("nextn.hnorm.weight");
        b->eh_proj = P("nextn.eh_proj.weight");
        b->shared_head_norm = P("nextn.shared_head_norm.weight");
#undef P
    }
}

static int check_config(const tm_config *c) {
    const int dims[] = {c->D, c->L, c->n_dense, c->H, c->QL, c->R, c->nope, c->rope, c->hv, c->F, c->E, c->K,
                        c->n_shared, c->Fe, c->ctx};
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++)
        if (dims[i] < 0 || dims[i] > (1 << 20)) return seek_error("train config: a dimension is %d (0..%d)", dims[i], 1 << 20);
    if (c->H > 4096 || c->E > 4096 || c->n_shared > 64 || c->L > 1024) return seek_error("train config: too many heads, experts or blocks");
    if (c->V < 2 || c->D < 1 || c->L < 1 || c->H < 1 || c->QL < 1 || c->R < 1 || c->nope < 1 || c->rope < 2 ||
        c->rope % 2 || c->hv < 1 || c->ctx < 2)
        return seek_error("train config: vocab >= 2, n_layer >= 1, q_lora_rank >= 1, even rope dim, context >= 2 required");
    if (c->n_dense < 0 || c->n_dense > c->L + c->mtp) return seek_error("train config: n_dense_lead out of range");
    if (c->n_dense < c->L + c->mtp && (c->E < 1 || c->K < 1 || c->K > c->E || c->Fe < 1 || c->n_shared < 0))
        return seek_error("train config: MoE blocks need n_expert >= n_expert_used >= 1 and expert_ff >= 1");
    if (c->n_dense > 0 && c->F < 1) return seek_error("train config: dense blocks need ffn >= 1");
    if (c->mtp < 0 || c->mtp > 1) return seek_error("train config: mtp must be 0 or 1");
    if (!(c->eps > 0) || !(c->rope_base > 0) || !(c->route_scale > 0)) return seek_error("train config: eps, rope_base, routed_scale must be > 0");
    int64_t big = (int64_t)c->V * c->D + (int64_t)(c->L + 1) * c->D * c->D * 4;
    if (c->D > 65536 || c->V > (1 << 24) || big > ((int64_t)1 << 34)) return seek_error("train config: model too large");
    return 0;
}

int tm_create(tm_model *m, const tm_config *c) {
    memset(m, 0, sizeof *m);
    if (check_config(c)) return -1;
    m->c = *c;
    const int64_t D = c->D, H = c->H, hk = c->nope + c->rope, S = (int64_t)c->Fe * c->n_shared;
    size_t cap = 0;
    char nb[96];
    int rc = add_tensor(m, &cap, "token_embd.weight", 2, D, c->V, 1, TK_MAT) ||
             add_tensor(m, &cap, "output_norm.weight", 1, D, 1, 1, TK_NORM) ||
             (!c->tied && add_tensor(m, &cap, "output.weight", 2, D, c->V, 1, TK_MAT));
    for (int l = 0; l < c->L + c->mtp && !rc; l++) {
#define A(s, nd, a, b, cc, k) add_tensor(m, &cap, (snprintf(nb, sizeof nb, "blk.%d.%s", l, s), nb), nd, a, b, cc, k)
        rc = A("attn_norm.weight", 1, D, 1, 1, TK_NORM) || A("attn_q_a.weight", 2, D, c->QL, 1, TK_MAT) ||
             A("attn_q_a_norm.weight", 1, c->QL, 1, 1, TK_NORM) || A("attn_q_b.weight", 2, c->QL, H * hk, 1, TK_MAT) ||
             A("attn_kv_a_mqa.weight", 2, D, c->R + c->rope, 1, TK_MAT) ||
             A("attn_kv_a_norm.weight", 1, c->R, 1, 1, TK_NORM) ||
             A("attn_kv_b.weight", 2, c->R, H * (c->nope + c->hv), 1, TK_MAT) ||
             A("attn_output.weight", 2, H * c->hv, D, 1, TK_MAT) || A("ffn_norm.weight", 1, D, 1, 1, TK_NORM);
        if (rc) break;
        if (!tm_is_moe(c, l)) {
            rc = A("ffn_gate.weight", 2, D, c->F, 1, TK_MAT) || A("ffn_up.weight", 2, D, c->F, 1, TK_MAT) ||
                 A("ffn_down.weight", 2, c->F, D, 1, TK_MAT);
        } else {
            rc = A("ffn_gate_inp.weight", 2, D, c->E, 1, TK_MAT) || A("exp_probs_b.bias", 1, c->E, 1, 1, TK_BIAS) ||
                 A("ffn_gate_exps.weight", 3, D, c->Fe, c->E, TK_MAT) || A("ffn_up_exps.weight", 3, D, c->Fe, c->E, TK_MAT) ||
                 A("ffn_down_exps.weight", 3, c->Fe, D, c->E, TK_MAT) ||
                 (S > 0 && (A("ffn_gate_shexp.weight", 2, D, S, 1, TK_MAT) || A("ffn_up_shexp.weight", 2, D, S, 1, TK_MAT) ||
                            A("ffn_down_shexp.weight", 2, S, D, 1, TK_MAT)));
        }
        if (!rc && l == c->L)
            rc = A("nextn.eh_proj.weight", 2, 2 * D, D, 1, TK_MAT) || A("nextn.enorm.weight", 1, D, 1, 1, TK_NORM) ||
                 A("nextn.hnorm.weight", 1, D, 1, 1, TK_NORM) || A("nextn.shared_head_norm.weight", 1, D, 1, 1, TK_NORM);
#undef A
    }
    if (rc) { tm_free(m); return -1; }
    const int nb_ = c->L + c->mtp;
    m->params = seek_calloc(m->n_params, sizeof(real));
    m->grads = seek_calloc(m->n_params, sizeof(real));
    m->w.blk = seek_calloc((size_t)nb_, sizeof(tm_block));
    m->g.blk = seek_calloc((size_t)nb_, sizeof(tm_block));
    m->load = seek_calloc((size_t)nb_ * (c->E > 0 ? c->E : 1), sizeof(int64_t));
    m->rope_cos = seek_malloc(sizeof(real) * (size_t)c->ctx * (c->rope / 2));
    m->rope_sin = seek_malloc(sizeof(real) * (size_t)c->ctx * (c->rope / 2));
    if (!m->params || !m->grads || !m->w.blk || !m->g.blk || !m->load || !m->rope_cos || !m->rope_sin) {
        tm_free(m);
        return -1;
    }
    map_views(m, m->params, &m->w);
    map_views(m, m->grads, &m->g);
    /* interleaved RoPE: pair j rotates by pos * base^(-2j/rope) */
    for (int p = 0; p < c->ctx; p++)
        for (int j = 0; j < c->rope / 2; j++) {
            double th = p * pow((double)c->rope_base, -2.0 * j / c->rope);
            m->rope_cos[(size_t)p * (c->rope / 2) + j] = (real)cos(th);
            m->rope_sin[(size_t)p * (c->rope / 2) + j] = (real)sin(th);
        }
    m->mtp_lambda = 0.3f;
    return 0;
}

void tm_free(tm_model *m) {
    free(m->params);
    free(m->grads);
    free(m->tensors);
    free(m->w.blk);
    free(m->g.blk);
    free(m->load);
    free(m->rope_cos);
    free(m->rope_sin);
    free(m->act);
    free(m->arena);
    memset(m, 0, sizeof *m);
}

/* N(0, 1) from splitmix64 (Box-Muller) */
static double gauss(uint64_t *s) {
    double u1 = ((tm_rng_next(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (tm_rng_next(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Matrices N(0, 0.02), the ones that write into the residual stream scaled by
 * 1/sqrt(2 * blocks) (GPT-2's rule); norms 1; selection biases 0. */
void tm_init(tm_model *m, uint64_t seed) {
    uint64_t s = seed ^ 0x5eec0de5ull;
    const double resid = 0.02 / sqrt(2.0 * (m->c.L + m->c.mtp));
    for (int i = 0; i < m->n_tensors; i++) {
        const tm_tensor *t = &m->tensors[i];
        real *p = m->params + t->off;
        if (t->kind == TK_NORM) { for (size_t k = 0; k < t->n; k++) p[k] = 1; continue; }
        if (t->kind == TK_BIAS) { memset(p, 0, sizeof(real) * t->n); continue; }
        const char *nm = t->name;
        bool out = strstr(nm, "attn_output") || strstr(nm, "ffn_down");
        double sd = out ? resid : 0.02;
        for (size_t k = 0; k < t->n; k++) p[k] = (real)(gauss(&s) * sd);
    }
}

void tm_zero_grad(tm_model *m) { memset(m->grads, 0, sizeof(real) * m->n_params); }

/* ------------------------------------------------------------------------------------ */
/* activations: every buffer carved from one arena (two passes: size, then assign) */

typedef struct {
    char *base;
    size_t used;
} carver;

static void *carve(carver *cv, size_t bytes) {
    void *p = cv->base ? cv->base + cv->used : NULL;
    cv->used += (bytes + 63) & ~(size_t)63;
    return p;
}
#define CR(n) ((real *)carve(cv, sizeof(real) * (size_t)(n)))
#define CI(n) ((int *)carve(cv, sizeof(int) * (size_t)(n)))

static void carve_acts(carver *cv, tm_acts *a, const tm_config *c, int B, int T, bool moe, bool dense) {
    const size_t N = (size_t)B * T, D = c->D, H = c->H, hk = c->nope + c->rope, S = (size_t)c->Fe * c->n_shared;
    size_t W = 0;
    if (dense) W = (size_t)c->F;
    if (moe && S > W) W = S;
    const size_t K = moe ? c->K : 0, E = moe ? c->E : 0, Fe = moe ? c->Fe : 0;
    a->rs1 = CR(N); a->xn1 = CR(N * D);
    a->qa = CR(N * c->QL); a->rsq = CR(N); a->qan = CR(N * c->QL);
    a->q = CR(N * H * hk);
    a->kva = CR(N * c->R); a->rskv = CR(N); a->c = CR(N * c->R); a->kpe = CR(N * c->rope);
    a->kv = CR(N * H * (c->nope + c->hv));
    a->att = CR((size_t)B * H * T * T);
    a->ao = CR(N * H * c->hv);
    a->xm = CR(N * D); a->rs2 = CR(N); a->xn2 = CR(N * D);
    a->g = CR(N * W); a->u = CR(N * W); a->h = CR(N * W);
    a->fo = CR(N * D);
    a->sc = CR(N * E); a->idx = CI(N * K); a->w = CR(N * K);
    a->order = CI(N * K); a->start = CI(E + 1);
    a->xe = CR(N * K * D);
    a->eg = CR(N * K * Fe); a->eu = CR(N * K * Fe); a->eh = CR(N * K * Fe);
    a->ey = CR(N * K * D);
    a->out = CR(N * D);
}

static void carve_all(carver *cv, tm_model *m, int B, int T) {
    const tm_config *c = &m->c;
    const size_t N = (size_t)B * T, D = c->D, S = (size_t)c->Fe * c->n_shared;
    bool any_moe = false, any_dense = false;
    for (int l = 0; l < c->L + c->mtp; l++) {
        bool moe = tm_is_moe(c, l);
        any_moe |= moe;
        any_dense |= !moe;
        carve_acts(cv, &m->act[l], c, B, T, moe, !moe);
    }
    carve_acts(cv, &m->dact, c, B, T, any_moe, any_dense);
    m->x0 = CR(N * D); m->rsf = CR(N); m->hf = CR(N * D);
    m->logits = CR(N * c->V);
    if (c->mtp) {
        m->emb1 = CR(N * D); m->rse = CR(N); m->en = CR(N * D); m->rsh = CR(N); m->hn = CR(N * D);
        m->cat = CR(N * 2 * D); m->m0 = CR(N * D); m->rsm = CR(N); m->mf = CR(N * D);
        m->logits2 = CR(N * c->V);
    }
    for (int i = 0; i < 6; i++) m->dbuf[i] = CR(N * D);
    m->dcat = CR(N * 2 * D);
    m->dscratch = any_moe ? CR(N * (2 * (size_t)c->K * D + 3 * (size_t)c->K * c->Fe + c->E + 3 * S)) : NULL;
    m->in = (int32_t *)carve(cv, sizeof(int32_t) * N);
    m->tgt = (int32_t *)carve(cv, sizeof(int32_t) * N);
    m->tgt2 = (int32_t *)carve(cv, sizeof(int32_t) * N);
}

int tm_alloc_batch(tm_model *m, int B, int T) {
    if (B < 1 || T < 2 || T > m->c.ctx) return seek_error("train: batch of %d x %d positions (context %d)", B, T, m->c.ctx);
    free(m->act);
    free(m->arena);
    m->arena = NULL;
    m->act = seek_calloc((size_t)(m->c.L + m->c.mtp), sizeof(tm_acts));
    if (!m->act) return -1;
    carver cv = {NULL, 0};
    carve_all(&cv, m, B, T);
    if (!(m->arena = seek_calloc(1, cv.used))) return -1;
    cv.base = m->arena;
    cv.used = 0;
    carve_all(&cv, m, B, T);
    m->B = B;
    m->T = T;
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* one transformer block: out = xm + FFN(norm(xm)),  xm = x + MLA(norm(x)) */

static void block_forward(tm_model *m, int l, real *x) {
    const tm_config *c = &m->c;
    tm_acts *a = &m->act[l];
    const tm_block *w = &m->w.blk[l];
    const int B = m->B, T = m->T, N = B * T, D = c->D, H = c->H, hk = c->nope + c->rope, R = c->R;
    const real scale = (real)(1.0 / sqrt((double)hk));
    a->x = x;
    /* MLA */
    rmsnorm_forward(a->xn1, a->rs1, x, w->attn_norm, N, D, c->eps);
    matmul_forward(a->qa, a->xn1, w->wq_a, N, D, c->QL);
    rmsnorm_forward(a->qan, a->rsq, a->qa, w->q_a_norm, N, c->QL, c->eps);
    matmul_forward(a->q, a->qan, w->wq_b, N, c->QL, H * hk);
    rope_forward(a->q, H * hk, c->rope, N, T, H, m->rope_cos, m->rope_sin);
    matmul_forward(a->kva, a->xn1, w->wkv_a, N, D, R);                          /* rows 0..R: latent */
    matmul_forward(a->kpe, a->xn1, w->wkv_a + (size_t)R * D, N, D, c->rope);    /* rows R..: k_pe */
    rmsnorm_forward(a->c, a->rskv, a->kva, w->kv_a_norm, N, R, c->eps);
    rope_forward(a->kpe, c->rope, c->rope, N, T, 1, m->rope_cos, m->rope_sin);
    matmul_forward(a->kv, a->c, w->wkv_b, N, R, H * (c->nope + c->hv));
    attention_forward(a->ao, a->att, a->q, a->kv, a->kpe, B, T, H, c->nope, c->rope, c->hv, scale);
    matmul_forward(a->xm, a->ao, w->wo, N, H * c->hv, D);
    for (size_t i = 0; i < (size_t)N * D; i++) a->xm[i] += x[i];
    /* FFN */
    rmsnorm_forward(a->xn2, a->rs2, a->xm, w->ffn_norm, N, D, c->eps);
    if (tm_is_moe(c, l)) {
        moe_forward(a, w, c, N, m->count_load ? m->load + (size_t)l * c->E : NULL);
    } else {
        matmul_forward(a->g, a->xn2, w->ffn_gate, N, D, c->F);
        matmul_forward(a->u, a->xn2, w->ffn_up, N, D, c->F);
        swiglu_forward(a->h, a->g, a->u, (size_t)N * c->F);
        matmul_forward(a->fo, a->h, w->ffn_down, N, c->F, D);
    }
    for (size_t i = 0; i < (size_t)N * D; i++) a->out[i] = a->xm[i] + a->fo[i];
}

#define ZERO(p, n) memset((p), 0, sizeof(real) * (size_t)(n))

/* dx[N][D] += d(loss)/d(x) given dout = d(loss)/d(out); weight gradients into m->g */
static void block_backward(tm_model *m, int l, const real *dout, real *dx) {
    const tm_config *c = &m->c;
    tm_acts *a = &m->act[l], *d = &m->dact;
    const tm_block *w = &m->w.blk[l];
    tm_block *gw = &m->g.blk[l];
    const int B = m->B, T = m->T, N = B * T, D = c->D, H = c->H, hk = c->nope + c->rope, R = c->R;
    const real scale = (real)(1.0 / sqrt((double)hk));
    /* FFN */
    ZERO(d->xn2, (size_t)N * D);
    if (tm_is_moe(c, l)) {
        moe_backward(d->xn2, dout, a, w, gw, c, B, T, m->bal_alpha, m->dscratch);
    } else {
        const int F = c->F;
        ZERO(d->h, (size_t)N * F); ZERO(d->g, (size_t)N * F); ZERO(d->u, (size_t)N * F);
        matmul_backward(d->h, gw->ffn_down, dout, a->h, w->ffn_down, N, F, D);
        swiglu_backward(d->g, d->u, d->h, a->g, a->u, (size_t)N * F);
        matmul_backward(d->xn2, gw->ffn_gate, d->g, a->xn2, w->ffn_gate, N, D, F);
        matmul_backward(d->xn2, gw->ffn_up, d->u, a->xn2, w->ffn_up, N, D, F);
    }
    memcpy(d->xm, dout, sizeof(real) * (size_t)N * D);   /* residual */
    rmsnorm_backward(d->xm, gw->ffn_norm, d->xn2, a->xm, a->rs2, w->ffn_norm, N, D);
    /* MLA */
    ZERO(d->ao, (size_t)N * H * c->hv);
    matmul_backward(d->ao, gw->wo, d->xm, a->ao, w->wo, N, H * c->hv, D);
    ZERO(d->q, (size_t)N * H * hk); ZERO(d->kv, (size_t)N * H * (c->nope + c->hv)); ZERO(d->kpe, (size_t)N * c->rope);
    attention_backward(d->q, d->kv, d->kpe, d->ao, a->att, a->q, a->kv, a->kpe, B, T, H, c->nope, c->rope, c->hv, scale);
    ZERO(d->c, (size_t)N * R);
    matmul_backward(d->c, gw->wkv_b, d->kv, a->c, w->wkv_b, N, R, H * (c->nope + c->hv));
    rope_backward(d->kpe, c->rope, c->rope, N, T, 1, m->rope_cos, m->rope_sin);
    rope_backward(d->q, H * hk, c->rope, N, T, H, m->rope_cos, m->rope_sin);
    ZERO(d->kva, (size_t)N * R);
    rmsnorm_backward(d->kva, gw->kv_a_norm, d->c, a->kva, a->rskv, w->kv_a_norm, N, R);
    ZERO(d->xn1, (size_t)N * D);
    matmul_backward(d->xn1, gw->wkv_a, d->kva, a->xn1, w->wkv_a, N, D, R);
    matmul_backward(d->xn1, gw->wkv_a + (size_t)R * D, d->kpe, a->xn1, w->wkv_a + (size_t)R * D, N, D, c->rope);
    ZERO(d->qan, (size_t)N * c->QL); ZERO(d->qa, (size_t)N * c->QL);
    matmul_backward(d->qan, gw->wq_b, d->q, a->qan, w->wq_b, N, c->QL, H * hk);
    rmsnorm_backward(d->qa, gw->q_a_norm, d->qan, a->qa, a->rsq, w->q_a_norm, N, c->QL);
    matmul_backward(d->xn1, gw->wq_a, d->qa, a->xn1, w->wq_a, N, D, c->QL);
    for (size_t i = 0; i < (size_t)N * D; i++) dx[i] += d->xm[i];
    rmsnorm_backward(dx, gw->attn_norm, d->xn1, a->x, a->rs1, w->attn_norm, N, D);
}

/* ------------------------------------------------------------------------------------ */
/* the whole model */

static void embed(real *x, const real *E, const int32_t *ids, int N, int D) {
    for (int t = 0; t < N; t++) memcpy(x + (size_t)t * D, E + (size_t)ids[t] * D, sizeof(real) * (size_t)D);
}

int tm_forward(tm_model *m, const int32_t *tokens) {
    const tm_config *c = &m->c;
    const int B = m->B, T = m->T, N = B * T, D = c->D, L = c->L;
    for (int b = 0; b < B; b++)
        for (int t = 0; t <= T; t++) {
            int32_t id = tokens[(size_t)b * (T + 1) + t];
            if (id < 0 || id >= c->V) return seek_error("train: token id %d outside the vocabulary (0..%d)", id, c->V - 1);
        }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const int32_t *s = tokens + (size_t)b * (T + 1);
            m->in[b * T + t] = s[t];
            m->tgt[b * T + t] = s[t + 1];
            m->tgt2[b * T + t] = t + 2 <= T ? s[t + 2] : -1;
        }
    embed(m->x0, m->w.tok_embd, m->in, N, D);
    real *x = m->x0;
    m->loss_bal = 0;
    for (int l = 0; l < L; l++) {
        block_forward(m, l, x);
        x = m->act[l].out;
        if (tm_is_moe(c, l)) m->loss_bal += moe_balance_loss(&m->act[l], c, B, T, m->bal_alpha);
    }
    rmsnorm_forward(m->hf, m->rsf, x, m->w.output_norm, N, D, c->eps);
    matmul_forward(m->logits, m->hf, m->w.output, N, D, c->V);
    int n1 = 0;
    m->loss_main = crossentropy(NULL, m->logits, m->tgt, N, c->V, 0, &n1) / (n1 ? n1 : 1);
    m->loss_mtp = 0;
    if (c->mtp) {
        const tm_block *w = &m->w.blk[L];
        embed(m->emb1, m->w.tok_embd, m->tgt, N, D);   /* the next token's embedding */
        rmsnorm_forward(m->en, m->rse, m->emb1, w->enorm, N, D, c->eps);
        rmsnorm_forward(m->hn, m->rsh, m->hf, w->hnorm, N, D, c->eps);
        for (int t = 0; t < N; t++) {
            memcpy(m->cat + (size_t)t * 2 * D, m->en + (size_t)t * D, sizeof(real) * (size_t)D);
            memcpy(m->cat + (size_t)t * 2 * D + D, m->hn + (size_t)t * D, sizeof(real) * (size_t)D);
        }
        matmul_forward(m->m0, m->cat, w->eh_proj, N, 2 * D, D);
        block_forward(m, L, m->m0);
        if (tm_is_moe(c, L)) m->loss_bal += moe_balance_loss(&m->act[L], c, B, T, m->bal_alpha);
        rmsnorm_forward(m->mf, m->rsm, m->act[L].out, w->shared_head_norm, N, D, c->eps);
        matmul_forward(m->logits2, m->mf, m->w.output, N, D, c->V);
        int n2 = 0;
        m->loss_mtp = crossentropy(NULL, m->logits2, m->tgt2, N, c->V, 0, &n2) / (n2 ? n2 : 1);
    }
    m->loss = m->loss_main + m->mtp_lambda * m->loss_mtp + m->loss_bal;
    return 0;
}

void tm_backward(tm_model *m) {
    const tm_config *c = &m->c;
    const int N = m->B * m->T, D = c->D, L = c->L;
    real *dhf = m->dbuf[0], *dres = m->dbuf[1], *dprev = m->dbuf[2];
    int n1 = 0, n2 = 0;
    for (int t = 0; t < N; t++) { n1 += m->tgt[t] >= 0; n2 += m->tgt2[t] >= 0; }
    ZERO(dhf, (size_t)N * D);
    crossentropy(m->logits, m->logits, m->tgt, N, c->V, (real)(1.0 / (n1 ? n1 : 1)), NULL);
    matmul_backward(dhf, m->g.output, m->logits, m->hf, m->w.output, N, D, c->V);
    if (c->mtp) {
        const tm_block *w = &m->w.blk[L];
        tm_block *gw = &m->g.blk[L];
        real *dmf = m->dbuf[3], *dmo = m->dbuf[4], *dm0 = m->dbuf[5];
        crossentropy(m->logits2, m->logits2, m->tgt2, N, c->V, (real)(m->mtp_lambda / (n2 ? n2 : 1)), NULL);
        ZERO(dmf, (size_t)N * D);
        matmul_backward(dmf, m->g.output, m->logits2, m->mf, m->w.output, N, D, c->V);
        ZERO(dmo, (size_t)N * D);
        rmsnorm_backward(dmo, gw->shared_head_norm, dmf, m->act[L].out, m->rsm, w->shared_head_norm, N, D);
        ZERO(dm0, (size_t)N * D);
        block_backward(m, L, dmo, dm0);
        ZERO(m->dcat, (size_t)N * 2 * D);
        matmul_backward(m->dcat, gw->eh_proj, dm0, m->cat, w->eh_proj, N, 2 * D, D);
        real *den = dmf, *dhn = dmo, *demb = dm0;   /* reuse: [N][D] each */
        for (int t = 0; t < N; t++) {
            memcpy(den + (size_t)t * D, m->dcat + (size_t)t * 2 * D, sizeof(real) * (size_t)D);
            memcpy(dhn + (size_t)t * D, m->dcat + (size_t)t * 2 * D + D, sizeof(real) * (size_t)D);
        }
        ZERO(demb, (size_t)N * D);
        rmsnorm_backward(demb, gw->enorm, den, m->emb1, m->rse, w->enorm, N, D);
        for (int t = 0; t < N; t++)
            for (int i = 0; i < D; i++) m->g.tok_embd[(size_t)m->tgt[t] * D + i] += demb[(size_t)t * D + i];
        rmsnorm_backward(dhf, gw->hnorm, dhn, m->hf, m->rsh, w->hnorm, N, D);
    }
    ZERO(dres, (size_t)N * D);
    rmsnorm_backward(dres, m->g.output_norm, dhf, m->act[L - 1].out, m->rsf, m->w.output_norm, N, D);
    for (int l = L - 1; l >= 0; l--) {
        ZERO(dprev, (size_t)N * D);
        block_backward(m, l, dres, dprev);
        real *t = dres; dres = dprev; dprev = t;
    }
    for (int t = 0; t < N; t++)
        for (int i = 0; i < D; i++) m->g.tok_embd[(size_t)m->in[t] * D + i] += dres[(size_t)t * D + i];
}

/* ------------------------------------------------------------------------------------ */
/* aux-loss-free balancing */

void tm_update_bias(tm_model *m, float gamma) {
    const tm_config *c = &m->c;
    for (int l = 0; l < c->L + c->mtp; l++) {
        if (!tm_is_moe(c, l)) continue;
        int64_t *ld = m->load + (size_t)l * c->E, sum = 0;
        for (int e = 0; e < c->E; e++) sum += ld[e];
        double mean = (double)sum / c->E;
        real *b = m->w.blk[l].exp_probs_b;
        for (int e = 0; e < c->E; e++) {
            if (ld[e] < mean) b[e] += gamma;
            else if (ld[e] > mean) b[e] -= gamma;
            ld[e] = 0;
        }
    }
}

double tm_load_spread(const tm_model *m) {
    const tm_config *c = &m->c;
    double worst = 1;
    for (int l = 0; l < c->L + c->mtp; l++) {
        if (!tm_is_moe(c, l)) continue;
        const int64_t *ld = m->load + (size_t)l * c->E;
        int64_t mx = 0, mn = INT64_MAX;
        for (int e = 0; e < c->E; e++) { if (ld[e] > mx) mx = ld[e]; if (ld[e] < mn) mn = ld[e]; }
        if (mx == 0) continue;
        double r = (double)mx / (double)(mn > 0 ? mn : 1);
        if (r > worst) worst = r;
    }
    return worst;
}
