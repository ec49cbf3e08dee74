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
 * This is the fast path over a batch of sequences (forward.h): the rows of all sequences go
 * through every matmul together, keys/values are stored in each sequence's cache in the
 * cache's type, attention (attention.c) runs per sequence with an online softmax. The plain
 * reference is forward_ref.c.
 *
 * Shapes: N rows in the batch, D = n_embd, H = n_head, KV = n_head_kv, hdk/hdv = head dims,
 * F = n_ff.
 */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "forward.h"
#include "profile.h"
#include "threads.h"
#include "util.h"

/* Rows [i0, i1) of sequence sq: RoPE on their queries and keys, then their keys and values
 * into the cache at their positions. Rows are independent, so a prompt's rows are shared
 * out by the pool (they ran on the caller's thread alone). */
typedef struct {
    const seek_model *m;
    const fwd_batch *b;
    const fwd_seq *sq;
    float *q, *k, *v;   /* [N][H*hdk], [N][KV*hdk], [N][KV*hdv] */
    int l;
} rope_kv_job;

static void rope_kv_rows(void *ud, int64_t i0, int64_t i1) {
    const rope_kv_job *j = ud;
    const seek_hparams *hp = &j->m->hp;
    const int H = hp->n_head, KV = hp->n_head_kv, hdk = hp->head_dim_k, hdv = hp->head_dim_v, half = j->m->rope.n_rot / 2;
    seek_kvcache *c = j->sq->cache;
    for (int64_t i = j->sq->row0 + i0; i < j->sq->row0 + i1; i++) {
        const float *cs = j->b->cs + (size_t)i * half * 2;
        for (int h = 0; h < H; h++) rope_apply_cs(&j->m->rope, j->q + ((size_t)i * H + h) * hdk, cs);
        for (int h = 0; h < KV; h++) rope_apply_cs(&j->m->rope, j->k + ((size_t)i * KV + h) * hdk, cs);
        const int pos = j->sq->pos0 + (int)(i - j->sq->row0);
        kv_put(c->type, j->k + (size_t)i * KV * hdk, kv_krow(c, j->l, pos), KV * hdk);
        kv_put(c->type, j->v + (size_t)i * KV * hdv, kv_vrow(c, j->l, pos), KV * hdv);
    }
}

int llama_blocks(seek_model *m, const fwd_batch *b, float *x, float *hidden) {
    const seek_hparams *hp = &m->hp;
    const int D = hp->n_embd, H = hp->n_head, KV = hp->n_head_kv, hdk = hp->head_dim_k, hdv = hp->head_dim_v;
    const int F = hp->n_ff, L = hp->n_layer, N = b->N;
    const size_t n = (size_t)N;
    int maxw = D > F ? D : F;
    if (H * hdv > maxw) maxw = H * hdv;

    ws_carver wc = {0};
    for (int pass = 0; pass < 2; pass++) {
        if (pass) {
            if (!(wc.base = ws_get(m, WS_ACT, wc.used))) return -1;
            wc.used = 0;
        }
        float *xn = ws_take(&wc, n * D);          /* [N][D] normed input of a sublayer */
        float *q = ws_take(&wc, n * H * hdk);     /* [N][H*hdk] */
        float *k = ws_take(&wc, n * KV * hdk);    /* [N][KV*hdk] */
        float *v = ws_take(&wc, n * KV * hdv);    /* [N][KV*hdv] */
        float *ao = ws_take(&wc, n * H * hdv);    /* [N][H*hdv] attention output */
        float *g = ws_take(&wc, n * F);           /* [N][F] gate */
        float *u = ws_take(&wc, n * F);           /* [N][F] up */
        float *o = ws_take(&wc, n * D);           /* [N][D] sublayer output */
        float *row = ws_take(&wc, (size_t)maxw);  /* matmul's one-row scratch */
        float *asc = ws_take(&wc, attention_scratch(H, KV, hdk, hdv, seek_threads()));
        attn_args *aa = (attn_args *)ws_take(&wc, (sizeof(attn_args) * (size_t)b->n_seq + sizeof(float) - 1) / sizeof(float));
        if (!pass) continue;

        for (int l = 0; l < L; l++) {
            const seek_layer *Ly = &m->layers[l];
            const float *bq = Ly->bq ? Ly->bq->data : NULL, *bk = Ly->bk ? Ly->bk->data : NULL;
            const float *bv = Ly->bv ? Ly->bv->data : NULL;

            /* ---- attention ---- */
            rmsnorm_rows(xn, x, Ly->attn_norm->data, N, D, hp->norm_eps);
            mm_item qkv[3] = {{q, xn, mat_of(Ly->wq), bq, N}, {k, xn, mat_of(Ly->wk), bk, N}, {v, xn, mat_of(Ly->wv), bv, N}};
            if (matmul_many(qkv, 3, row)) return -1;
            for (int s = 0; s < b->n_seq; s++) {
                const fwd_seq *sq = &b->seq[s];
                seek_kvcache *c = sq->cache;
                rope_kv_job rj = {m, b, sq, q, k, v, l};
                par_rows(sq->n, rope_kv_rows, &rj);
                aa[s] = (attn_args){
                    .T = sq->n, .pos0 = sq->pos0, .n_head = H, .n_kv_head = KV,
                    .q = q + (size_t)sq->row0 * H * hdk, .q_stride = (size_t)H * hdk, .q_hstride = (size_t)hdk,
                    .k = {kv_krow(c, l, 0), c->type, c->k_row, 0, hdk, hdk},
                    .v = {kv_vrow(c, l, 0), c->type, c->v_row, 0, hdv, hdv},
                    .scale = m->kq_scale,
                    .out = ao + (size_t)sq->row0 * H * hdv, .o_stride = (size_t)H * hdv, .o_hstride = (size_t)hdv,
                };
            }
            const double ta = prof_start();
            attention_batch(aa, b->n_seq, asc);   /* every sequence in one pass over the pool */
            prof_attention(N, ta);
            prefetch_bytes(Ly->ffn_norm->data, sizeof(float) * D);   /* read after this product */
            if (matmul(o, ao, mat_of(Ly->wo), NULL, N, row)) return -1;
            for (size_t i = 0; i < n * D; i++) x[i] += o[i];

            /* ---- SwiGLU MLP ---- */
            rmsnorm_rows(xn, x, Ly->ffn_norm->data, N, D, hp->norm_eps);
            mm_item gu[2] = {{g, xn, mat_of(Ly->ffn_gate), NULL, N}, {u, xn, mat_of(Ly->ffn_up), NULL, N}};
            if (matmul_many(gu, 2, row)) return -1;
            swiglu_act(g, u, N, F);
            if (l + 1 < L) prefetch_bytes(m->layers[l + 1].attn_norm->data, sizeof(float) * D);
            if (matmul(o, g, mat_of(Ly->ffn_down), NULL, N, row)) return -1;
            for (size_t i = 0; i < n * D; i++) x[i] += o[i];

            if (hidden && l + 1 < L) memcpy(hidden + (size_t)(l + 1) * b->hstride, x, sizeof(float) * n * D);
        }
    }
    return 0;
}
