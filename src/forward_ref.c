/* forward_ref.c - the reference forward pass: the plain F32 code the fast engine
 * (arch_llama.c, arch_deepseek2.c) is tested against.
 *
 * One sequence at a time, clear loops, double accumulators, the whole T x P score row per
 * query, kv_b dequantized at every call. Reads and writes F32 caches only. Selected with
 * seek_model.reference = true (tests, `seek logits --reference`); the formulas are
 * explained in the headers of arch_llama.c and arch_deepseek2.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

/* ==================================================================================== */
/* llama / qwen2 */

/* out[T][H*hdv] = softmax(q·k^T * scale, causal) · v, per query head.
 * q[T][H*hdk]; keys/values for positions 0..pos0+T-1 come from the cache. */
static void gqa_attention(float *out, const float *q, const seek_kvcache *c, int l, int T, int pos0,
                          int H, int KV, int hdk, int hdv, float scale, float *att) {
    const int group = H / KV;
    for (int t = 0; t < T; t++) {
        const int n_vis = pos0 + t + 1;   /* causal: attend to positions 0..pos0+t */
        for (int h = 0; h < H; h++) {
            const float *qh = q + (size_t)t * H * hdk + (size_t)h * hdk;
            const int kvh = h / group;
            for (int p = 0; p < n_vis; p++) {
                const float *kp = kv_k(c, l, p) + (size_t)kvh * hdk;
                double s = 0.0;
                for (int i = 0; i < hdk; i++) s += (double)qh[i] * kp[i];
                att[p] = (float)s * scale;
            }
            softmax(att, n_vis);
            float *oh = out + (size_t)t * H * hdv + (size_t)h * hdv;
            for (int i = 0; i < hdv; i++) {
                double acc = 0.0;
                for (int p = 0; p < n_vis; p++) acc += (double)att[p] * kv_v(c, l, p)[(size_t)kvh * hdv + i];
                oh[i] = (float)acc;
            }
        }
    }
}

int llama_forward_ref(seek_model *m, seek_kvcache *c, const int32_t *tokens, int T, int pos0,
                  float *logits, float *hidden) {
    const seek_hparams *hp = &m->hp;
    const int D = hp->n_embd, H = hp->n_head, KV = hp->n_head_kv, hdk = hp->head_dim_k, hdv = hp->head_dim_v;
    const int F = hp->n_ff, L = hp->n_layer;
    const size_t t = (size_t)T;
    int maxw = D > F ? D : F;
    if (H * hdv > maxw) maxw = H * hdv;

    /* activations */
    float *x = seek_malloc(sizeof(float) * t * D);            /* [T][D] residual stream */
    float *xn = seek_malloc(sizeof(float) * t * D);           /* [T][D] normed input of a sublayer */
    float *q = seek_malloc(sizeof(float) * t * H * hdk);      /* [T][H*hdk] */
    float *k = seek_malloc(sizeof(float) * t * KV * hdk);     /* [T][KV*hdk] */
    float *v = seek_malloc(sizeof(float) * t * KV * hdv);     /* [T][KV*hdv] */
    float *ao = seek_malloc(sizeof(float) * t * H * hdv);     /* [T][H*hdv] attention output */
    float *g = seek_malloc(sizeof(float) * t * F);            /* [T][F] gate */
    float *u = seek_malloc(sizeof(float) * t * F);            /* [T][F] up */
    float *o = seek_malloc(sizeof(float) * t * D);            /* [T][D] sublayer output */
    float *att = seek_malloc(sizeof(float) * (size_t)(pos0 + T));
    float *row = seek_malloc(sizeof(float) * (size_t)maxw);   /* one dequantized weight row */
    int rc = -1;
    if (!x || !xn || !q || !k || !v || !ao || !g || !u || !o || !att || !row) goto out;

    if (model_embed(m, tokens, T, x)) goto out;
    if (hidden) memcpy(hidden, x, sizeof(float) * t * D);

    for (int l = 0; l < L; l++) {
        const seek_layer *Ly = &m->layers[l];
        const float *bq = Ly->bq ? Ly->bq->data : NULL, *bk = Ly->bk ? Ly->bk->data : NULL;
        const float *bv = Ly->bv ? Ly->bv->data : NULL;

        /* ---- attention ---- */
        for (int i = 0; i < T; i++) rmsnorm(xn + (size_t)i * D, x + (size_t)i * D, Ly->attn_norm->data, D, hp->norm_eps);
        if (matmul_ref(q, xn, mat_of(Ly->wq), bq, T, row) || matmul_ref(k, xn, mat_of(Ly->wk), bk, T, row) ||
            matmul_ref(v, xn, mat_of(Ly->wv), bv, T, row))
            goto out;
        for (int i = 0; i < T; i++) {
            for (int h = 0; h < H; h++) rope_apply(&m->rope, q + ((size_t)i * H + h) * hdk, pos0 + i);
            for (int h = 0; h < KV; h++) rope_apply(&m->rope, k + ((size_t)i * KV + h) * hdk, pos0 + i);
            memcpy(kv_k(c, l, pos0 + i), k + (size_t)i * KV * hdk, sizeof(float) * KV * hdk);
            memcpy(kv_v(c, l, pos0 + i), v + (size_t)i * KV * hdv, sizeof(float) * KV * hdv);
        }
        gqa_attention(ao, q, c, l, T, pos0, H, KV, hdk, hdv, m->kq_scale, att);
        if (matmul_ref(o, ao, mat_of(Ly->wo), NULL, T, row)) goto out;
        for (size_t i = 0; i < t * D; i++) x[i] += o[i];

        /* ---- SwiGLU MLP ---- */
        for (int i = 0; i < T; i++) rmsnorm(xn + (size_t)i * D, x + (size_t)i * D, Ly->ffn_norm->data, D, hp->norm_eps);
        if (matmul_ref(g, xn, mat_of(Ly->ffn_gate), NULL, T, row) || matmul_ref(u, xn, mat_of(Ly->ffn_up), NULL, T, row)) goto out;
        for (size_t i = 0; i < t * F; i++) g[i] = silu(g[i]) * u[i];
        if (matmul_ref(o, g, mat_of(Ly->ffn_down), NULL, T, row)) goto out;
        for (size_t i = 0; i < t * D; i++) x[i] += o[i];

        if (hidden && l + 1 < L) memcpy(hidden + (size_t)(l + 1) * t * D, x, sizeof(float) * t * D);
    }
    rc = model_output(m, x, T, logits, hidden);
out:
    free(x); free(xn); free(q); free(k); free(v); free(ao); free(g); free(u); free(o); free(att); free(row);
    return rc;
}

/* ==================================================================================== */
/* deepseek2 */

/* ------------------------------------------------------------------------------------ */
/* MLA */

/* Unpack the layer's kv_b into kb[H][nope][R] (k_nope = kb_h · c) and vb[H][hv][R]
 * (v = vb_h · c), from either the fused attn_kv_b or the split attn_k_b / attn_v_b. */
static int unpack_kv_b(const seek_layer *Ly, const seek_hparams *hp, float *kb, float *vb, float *row) {
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, hv = hp->head_dim_v;
    if (Ly->wkv_b) {
        seek_mat w = mat_of(Ly->wkv_b);   /* rows: per head, nope rows of k then hv rows of v */
        for (int h = 0; h < H; h++) {
            for (int d = 0; d < nope; d++)
                if (mat_row(w, (int64_t)h * (nope + hv) + d, kb + ((size_t)h * nope + d) * R)) return -1;
            for (int i = 0; i < hv; i++)
                if (mat_row(w, (int64_t)h * (nope + hv) + nope + i, vb + ((size_t)h * hv + i) * R)) return -1;
        }
        return 0;
    }
    /* attn_k_b: rows of nope values, row index h*R + c (the transpose of kb_h) */
    seek_type kt = Ly->wk_b->type;
    size_t kbytes = seek_row_size(kt, nope);
    for (int h = 0; h < H; h++)
        for (int c = 0; c < R; c++) {
            if (seek_dequantize_row(kt, (const uint8_t *)Ly->wk_b->data + ((size_t)h * R + c) * kbytes, row, nope)) return -1;
            for (int d = 0; d < nope; d++) kb[((size_t)h * nope + d) * R + c] = row[d];
        }
    /* attn_v_b: rows of R values, row index h*hv + i */
    seek_type vt = Ly->wv_b->type;
    size_t vbytes = seek_row_size(vt, R);
    for (size_t r = 0; r < (size_t)H * hv; r++)
        if (seek_dequantize_row(vt, (const uint8_t *)Ly->wv_b->data + r * vbytes, vb + r * R, R)) return -1;
    return 0;
}

/* out[T][H*hv] from q[T][H*hk] (q_pe already roped) and the cache's [c ; k_pe] rows. */
static void mla_attention_naive(float *out, const float *q, const seek_kvcache *c, int l, int T, int pos0,
                                const seek_hparams *hp, float scale, const float *kb, const float *vb,
                                float *kn, float *vv, float *att) {
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, rope = hp->n_rope;
    const int hk = nope + rope, hv = hp->head_dim_v, P = pos0 + T;
    /* decompress: kn[P][H][nope], vv[P][H][hv] */
    for (int p = 0; p < P; p++) {
        const float *lat = kv_k(c, l, p);
        for (int h = 0; h < H; h++) {
            for (int d = 0; d < nope; d++) {
                const float *w = kb + ((size_t)h * nope + d) * R;
                double s = 0.0;
                for (int r = 0; r < R; r++) s += (double)w[r] * lat[r];
                kn[((size_t)p * H + h) * nope + d] = (float)s;
            }
            for (int i = 0; i < hv; i++) {
                const float *w = vb + ((size_t)h * hv + i) * R;
                double s = 0.0;
                for (int r = 0; r < R; r++) s += (double)w[r] * lat[r];
                vv[((size_t)p * H + h) * hv + i] = (float)s;
            }
        }
    }
    for (int t = 0; t < T; t++) {
        const int n_vis = pos0 + t + 1;
        for (int h = 0; h < H; h++) {
            const float *qh = q + ((size_t)t * H + h) * hk;
            for (int p = 0; p < n_vis; p++) {
                const float *kpe = kv_k(c, l, p) + R;
                const float *knp = kn + ((size_t)p * H + h) * nope;
                double s = 0.0;
                for (int d = 0; d < nope; d++) s += (double)qh[d] * knp[d];
                for (int d = 0; d < rope; d++) s += (double)qh[nope + d] * kpe[d];
                att[p] = (float)s * scale;
            }
            softmax(att, n_vis);
            float *oh = out + ((size_t)t * H + h) * hv;
            for (int i = 0; i < hv; i++) {
                double s = 0.0;
                for (int p = 0; p < n_vis; p++) s += (double)att[p] * vv[((size_t)p * H + h) * hv + i];
                oh[i] = (float)s;
            }
        }
    }
}

static void mla_attention_absorbed(float *out, const float *q, const seek_kvcache *c, int l, int T, int pos0,
                                   const seek_hparams *hp, float scale, const float *kb, const float *vb,
                                   float *qa, float *lat, float *att) {
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, rope = hp->n_rope;
    const int hk = nope + rope, hv = hp->head_dim_v;
    for (int t = 0; t < T; t++) {
        const int n_vis = pos0 + t + 1;
        for (int h = 0; h < H; h++) {
            const float *qh = q + ((size_t)t * H + h) * hk;
            /* q_abs[R] = kb_h^T q_nope: the query expressed in latent space */
            for (int r = 0; r < R; r++) qa[r] = 0.0f;
            for (int d = 0; d < nope; d++) {
                const float *w = kb + ((size_t)h * nope + d) * R;
                for (int r = 0; r < R; r++) qa[r] += qh[d] * w[r];
            }
            for (int p = 0; p < n_vis; p++) {
                const float *cp = kv_k(c, l, p), *kpe = cp + R;
                double s = 0.0;
                for (int r = 0; r < R; r++) s += (double)qa[r] * cp[r];
                for (int d = 0; d < rope; d++) s += (double)qh[nope + d] * kpe[d];
                att[p] = (float)s * scale;
            }
            softmax(att, n_vis);
            /* attend in latent space, then decompress once: out_h = vb_h · (sum_p att_p c_p) */
            for (int r = 0; r < R; r++) {
                double s = 0.0;
                for (int p = 0; p < n_vis; p++) s += (double)att[p] * kv_k(c, l, p)[r];
                lat[r] = (float)s;
            }
            float *oh = out + ((size_t)t * H + h) * hv;
            for (int i = 0; i < hv; i++) {
                const float *w = vb + ((size_t)h * hv + i) * R;
                double s = 0.0;
                for (int r = 0; r < R; r++) s += (double)w[r] * lat[r];
                oh[i] = (float)s;
            }
        }
    }
}

/* ------------------------------------------------------------------------------------ */
/* DeepSeekMoE */

/* Choose n_used experts for one token: idx[n_used], w[n_used]. s[E] are the router
 * scores (after softmax/sigmoid); choice[E], gscore[n_group], keep[n_group] are scratch. */
static void moe_route(const seek_hparams *hp, const float *s, const float *bias, float *choice,
                      float *gscore, bool *keep, int *idx, float *w) {
    const int E = hp->n_expert, K = hp->n_expert_used, G = hp->n_group, per = E / G;
    for (int e = 0; e < E; e++) choice[e] = s[e] + (bias ? bias[e] : 0.0f);
    if (G > 1 && hp->n_group_used < G) {
        /* rank groups, keep the best n_group_used, remove the others' experts from the choice */
        for (int g = 0; g < G; g++) {
            const float *cg = choice + g * per;
            float b1 = -INFINITY, b2 = -INFINITY;
            for (int j = 0; j < per; j++) {
                if (cg[j] > b1) { b2 = b1; b1 = cg[j]; }
                else if (cg[j] > b2) b2 = cg[j];
            }
            gscore[g] = bias ? b1 + (per > 1 ? b2 : 0.0f) : b1;
            keep[g] = false;
        }
        for (int k = 0; k < hp->n_group_used; k++) {
            int best = -1;
            for (int g = 0; g < G; g++)
                if (!keep[g] && (best < 0 || gscore[g] > gscore[best])) best = g;
            keep[best] = true;
        }
        for (int g = 0; g < G; g++)
            if (!keep[g])
                for (int j = 0; j < per; j++) choice[g * per + j] = -INFINITY;
    }
    /* top-K by choice score (ties: lower index first), weighted by the unbiased score */
    double sum = 0.0;
    for (int k = 0; k < K; k++) {
        int best = -1;
        for (int e = 0; e < E; e++) {
            bool taken = false;
            for (int j = 0; j < k; j++) taken |= idx[j] == e;
            if (!taken && (best < 0 || choice[e] > choice[best])) best = e;
        }
        idx[k] = best;
        w[k] = s[best];
        sum += w[k];
    }
    for (int k = 0; k < K; k++) {
        if (hp->expert_weights_norm) w[k] = (float)(w[k] / (sum + 1e-20));
        w[k] *= hp->expert_weights_scale;
    }
}

/* out[T][D] = SwiGLU FFN of xn[T][D] with gate/up [D -> F] and down [F -> D]. */
static int swiglu(float *out, const float *xn, seek_mat gate, seek_mat up, seek_mat down, int T,
                  float *g, float *u, float *row) {
    const int64_t F = gate.n_out;
    if (matmul_ref(g, xn, gate, NULL, T, row) || matmul_ref(u, xn, up, NULL, T, row)) return -1;
    for (size_t i = 0; i < (size_t)T * F; i++) g[i] = silu(g[i]) * u[i];
    return matmul_ref(out, g, down, NULL, T, row);
}

/* out[T][D] = MoE(xn[T][D]). Tokens are grouped by expert so each expert's weights are
 * read once per batch. */
static int moe_forward(float *out, const float *xn, const seek_layer *Ly, const seek_hparams *hp, int T,
                       float *row) {
    const int D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used, F = hp->n_ff_exp;
    const int S = hp->n_ff_exp * hp->n_expert_shared;
    const int Fm = F > S ? F : S;
    float *s = seek_malloc(sizeof(float) * (size_t)T * E);          /* [T][E] router scores */
    float *choice = seek_malloc(sizeof(float) * (size_t)E);
    float *gscore = seek_malloc(sizeof(float) * (size_t)hp->n_group);
    bool *keep = seek_malloc(sizeof(bool) * (size_t)hp->n_group);
    int *idx = seek_malloc(sizeof(int) * (size_t)T * K);            /* [T][K] chosen experts */
    float *w = seek_malloc(sizeof(float) * (size_t)T * K);          /* [T][K] their weights */
    int *tok = seek_malloc(sizeof(int) * (size_t)T);                /* tokens routed to one expert */
    float *wt = seek_malloc(sizeof(float) * (size_t)T);
    float *xe = seek_malloc(sizeof(float) * (size_t)T * D);         /* gathered inputs */
    float *ye = seek_malloc(sizeof(float) * (size_t)T * D);         /* expert outputs */
    float *g = seek_malloc(sizeof(float) * (size_t)T * Fm);
    float *u = seek_malloc(sizeof(float) * (size_t)T * Fm);
    int rc = -1;
    if (!s || !choice || !gscore || !keep || !idx || !w || !tok || !wt || !xe || !ye || !g || !u) goto out;

    /* router */
    if (matmul_ref(s, xn, mat_of(Ly->gate_inp), NULL, T, row)) goto out;
    const float *bias = Ly->exp_probs_b ? Ly->exp_probs_b->data : NULL;
    for (int t = 0; t < T; t++) {
        float *st = s + (size_t)t * E;
        if (hp->gating_func == GATING_SIGMOID)
            for (int e = 0; e < E; e++) st[e] = 1.0f / (1.0f + expf(-st[e]));
        else
            softmax(st, E);
        moe_route(hp, st, bias, choice, gscore, keep, idx + (size_t)t * K, w + (size_t)t * K);
    }

    /* shared experts (one wide SwiGLU), then each routed expert over its tokens */
    if (S > 0) {
        if (swiglu(out, xn, mat_of(Ly->gate_shexp), mat_of(Ly->up_shexp), mat_of(Ly->down_shexp), T, g, u, row)) goto out;
    } else {
        memset(out, 0, sizeof(float) * (size_t)T * D);
    }
    for (int e = 0; e < E; e++) {
        int n = 0;
        for (int t = 0; t < T; t++)
            for (int k = 0; k < K; k++)
                if (idx[(size_t)t * K + k] == e) {
                    tok[n] = t;
                    wt[n] = w[(size_t)t * K + k];
                    memcpy(xe + (size_t)n * D, xn + (size_t)t * D, sizeof(float) * D);
                    n++;
                }
        if (!n) continue;
        if (swiglu(ye, xe, mat_slice(Ly->gate_exps, e), mat_slice(Ly->up_exps, e), mat_slice(Ly->down_exps, e), n,
                   g, u, row))
            goto out;
        for (int j = 0; j < n; j++)
            for (int i = 0; i < D; i++) out[(size_t)tok[j] * D + i] += wt[j] * ye[(size_t)j * D + i];
    }
    rc = 0;
out:
    free(s); free(choice); free(gscore); free(keep); free(idx); free(w); free(tok); free(wt); free(xe); free(ye); free(g); free(u);
    return rc;
}

/* ------------------------------------------------------------------------------------ */
/* the forward pass */

int deepseek2_forward_ref(seek_model *m, seek_kvcache *c, const int32_t *tokens, int T, int pos0,
                      float *logits, float *hidden) {
    const seek_hparams *hp = &m->hp;
    const int D = hp->n_embd, H = hp->n_head, L = hp->n_layer, R = hp->kv_lora_rank;
    const int nope = hp->n_nope, rope = hp->n_rope, hk = nope + rope, hv = hp->head_dim_v;
    const int QL = hp->q_lora_rank, P = pos0 + T;
    const size_t t = (size_t)T;
    int F = hp->n_ff;
    if (hp->n_ff_exp * hp->n_expert_shared > F) F = hp->n_ff_exp * hp->n_expert_shared;
    int maxw = D;   /* longest weight row: D, q_lora, R, H*hv, F or nope */
    int cand[] = {QL, R, H * hv, F, hp->n_ff_exp, nope};
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) if (cand[i] > maxw) maxw = cand[i];

    float *x = seek_malloc(sizeof(float) * t * D);              /* [T][D] residual stream */
    float *xn = seek_malloc(sizeof(float) * t * D);             /* [T][D] normed sublayer input */
    float *qa = seek_malloc(sizeof(float) * t * (QL > 0 ? QL : 1)); /* [T][QL] q-LoRA latent */
    float *q = seek_malloc(sizeof(float) * t * H * hk);         /* [T][H][nope+rope] */
    float *kva = seek_malloc(sizeof(float) * t * (R + rope));   /* [T][R+rope] */
    float *ao = seek_malloc(sizeof(float) * t * H * hv);        /* [T][H*hv] attention output */
    float *o = seek_malloc(sizeof(float) * t * D);              /* [T][D] sublayer output */
    float *g = seek_malloc(sizeof(float) * t * F);              /* [T][F] dense FFN scratch */
    float *u = seek_malloc(sizeof(float) * t * F);
    float *kb = seek_malloc(sizeof(float) * (size_t)H * nope * R);  /* [H][nope][R] */
    float *vb = seek_malloc(sizeof(float) * (size_t)H * hv * R);    /* [H][hv][R] */
    float *att = seek_malloc(sizeof(float) * (size_t)P);
    float *qabs = seek_malloc(sizeof(float) * (size_t)R);
    float *lat = seek_malloc(sizeof(float) * (size_t)R);
    float *row = seek_malloc(sizeof(float) * (size_t)maxw);
    float *kn = NULL, *vv = NULL;   /* naive path: [P][H][nope], [P][H][hv] */
    int rc = -1;
    if (!x || !xn || !qa || !q || !kva || !ao || !o || !g || !u || !kb || !vb || !att || !qabs || !lat || !row) goto out;
    if (m->mla == MLA_NAIVE) {
        kn = seek_malloc(sizeof(float) * (size_t)P * H * nope);
        vv = seek_malloc(sizeof(float) * (size_t)P * H * hv);
        if (!kn || !vv) goto out;
    }

    if (model_embed(m, tokens, T, x)) goto out;
    if (hidden) memcpy(hidden, x, sizeof(float) * t * D);

    for (int l = 0; l < L; l++) {
        const seek_layer *Ly = &m->layers[l];

        /* ---- MLA ---- */
        for (int i = 0; i < T; i++) rmsnorm(xn + (size_t)i * D, x + (size_t)i * D, Ly->attn_norm->data, D, hp->norm_eps);
        if (Ly->wq_a) {   /* q-LoRA: down-project, norm, up-project */
            if (matmul_ref(qa, xn, mat_of(Ly->wq_a), NULL, T, row)) goto out;
            for (int i = 0; i < T; i++) rmsnorm(qa + (size_t)i * QL, qa + (size_t)i * QL, Ly->q_a_norm->data, QL, hp->norm_eps);
            if (matmul_ref(q, qa, mat_of(Ly->wq_b), NULL, T, row)) goto out;
        } else {
            if (matmul_ref(q, xn, mat_of(Ly->wq), NULL, T, row)) goto out;
        }
        if (matmul_ref(kva, xn, mat_of(Ly->wkv_a), NULL, T, row)) goto out;
        for (int i = 0; i < T; i++) {
            for (int h = 0; h < H; h++) rope_apply(&m->rope, q + ((size_t)i * H + h) * hk + nope, pos0 + i);
            float *cache = kv_k(c, l, pos0 + i);   /* [R + rope] */
            rmsnorm(cache, kva + (size_t)i * (R + rope), Ly->kv_a_norm->data, R, hp->norm_eps);
            memcpy(cache + R, kva + (size_t)i * (R + rope) + R, sizeof(float) * rope);
            rope_apply(&m->rope, cache + R, pos0 + i);
        }
        if (unpack_kv_b(Ly, hp, kb, vb, row)) goto out;
        if (m->mla != MLA_NAIVE)
            mla_attention_absorbed(ao, q, c, l, T, pos0, hp, m->kq_scale, kb, vb, qabs, lat, att);
        else
            mla_attention_naive(ao, q, c, l, T, pos0, hp, m->kq_scale, kb, vb, kn, vv, att);
        if (matmul_ref(o, ao, mat_of(Ly->wo), NULL, T, row)) goto out;
        for (size_t i = 0; i < t * D; i++) x[i] += o[i];

        /* ---- FFN: dense SwiGLU or DeepSeekMoE ---- */
        for (int i = 0; i < T; i++) rmsnorm(xn + (size_t)i * D, x + (size_t)i * D, Ly->ffn_norm->data, D, hp->norm_eps);
        if (l < hp->n_layer_dense_lead) {
            if (swiglu(o, xn, mat_of(Ly->ffn_gate), mat_of(Ly->ffn_up), mat_of(Ly->ffn_down), T, g, u, row)) goto out;
        } else {
            if (moe_forward(o, xn, Ly, hp, T, row)) goto out;
        }
        for (size_t i = 0; i < t * D; i++) x[i] += o[i];

        if (hidden && l + 1 < L) memcpy(hidden + (size_t)(l + 1) * t * D, x, sizeof(float) * t * D);
    }
    rc = model_output(m, x, T, logits, hidden);
out:
    free(x); free(xn); free(qa); free(q); free(kva); free(ao); free(o); free(g); free(u);
    free(kb); free(vb); free(att); free(qabs); free(lat); free(row); free(kn); free(vv);
    return rc;
}
