/* arch_llama.c - the forward pass of the dense transformers: llama and qwen2
 * (Llama 3, Qwen2/2.5, and the DeepSeek-R1-Distill models built on them).
 *
 * Per block (pre-norm, residual):
 *   x += Wo · attention(rope(Wq·norm(x) + bq), rope(Wk·norm(x) + bk), Wv·norm(x) + bv)
 *   x += Wdown · (silu(Wgate·norm(x)) * Wup·norm(x))
 * with grouped-query attention (n_head query heads share n_head_kv key/value heads).
 * RoPE pairs are interleaved for llama (the converter permuted q/k rows into that order)
 * and halves (NeoX) for qwen2; ops.c's rope table knows which.
 *
 * Shapes: T tokens in the batch, D = n_embd, H = n_head, KV = n_head_kv, hd = head dim,
 * F = n_ff, P = pos0 + T positions visible to the last token.
 * This is the F32 reference path: clear loops, no threads, no SIMD.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "util.h"

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

int llama_forward(seek_model *m, seek_kvcache *c, const int32_t *tokens, int T, int pos0,
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
        if (matmul(q, xn, mat_of(Ly->wq), bq, T, row) || matmul(k, xn, mat_of(Ly->wk), bk, T, row) ||
            matmul(v, xn, mat_of(Ly->wv), bv, T, row))
            goto out;
        for (int i = 0; i < T; i++) {
            for (int h = 0; h < H; h++) rope_apply(&m->rope, q + ((size_t)i * H + h) * hdk, pos0 + i);
            for (int h = 0; h < KV; h++) rope_apply(&m->rope, k + ((size_t)i * KV + h) * hdk, pos0 + i);
            memcpy(kv_k(c, l, pos0 + i), k + (size_t)i * KV * hdk, sizeof(float) * KV * hdk);
            memcpy(kv_v(c, l, pos0 + i), v + (size_t)i * KV * hdv, sizeof(float) * KV * hdv);
        }
        gqa_attention(ao, q, c, l, T, pos0, H, KV, hdk, hdv, m->kq_scale, att);
        if (matmul(o, ao, mat_of(Ly->wo), NULL, T, row)) goto out;
        for (size_t i = 0; i < t * D; i++) x[i] += o[i];

        /* ---- SwiGLU MLP ---- */
        for (int i = 0; i < T; i++) rmsnorm(xn + (size_t)i * D, x + (size_t)i * D, Ly->ffn_norm->data, D, hp->norm_eps);
        if (matmul(g, xn, mat_of(Ly->ffn_gate), NULL, T, row) || matmul(u, xn, mat_of(Ly->ffn_up), NULL, T, row)) goto out;
        for (size_t i = 0; i < t * F; i++) g[i] = silu(g[i]) * u[i];
        if (matmul(o, g, mat_of(Ly->ffn_down), NULL, T, row)) goto out;
        for (size_t i = 0; i < t * D; i++) x[i] += o[i];

        if (hidden && l + 1 < L) memcpy(hidden + (size_t)(l + 1) * t * D, x, sizeof(float) * t * D);
    }
    rc = model_output(m, x, T, logits, hidden);
out:
    free(x); free(xn); free(q); free(k); free(v); free(ao); free(g); free(u); free(o); free(att); free(row);
    return rc;
}
