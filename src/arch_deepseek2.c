/* arch_deepseek2.c - the forward pass of DeepSeek V2 / V2-Lite / V2.5 / V3 / V3.1 / R1:
 * Multi-head Latent Attention (MLA) and DeepSeekMoE.
 *
 * Per block (pre-norm, residual):
 *   x += MLA(norm(x))
 *   x += FFN(norm(x))      dense SwiGLU for the first n_layer_dense_lead blocks, MoE after
 *
 * MLA, for one token with normed input xn[D]:
 *   q      = Wq_b · rmsnorm(Wq_a · xn)          (q-LoRA: V2, V3, R1)   or  Wq · xn  (V2-Lite)
 *            per head: q = [q_nope (nope) ; q_pe (rope)]
 *   [c ; k_pe] = Wkv_a · xn                      c: latent (kv_lora_rank), k_pe: (rope)
 *   c      = rmsnorm(c);  k_pe = rope(k_pe) - one k_pe shared by all heads
 *   the cache keeps only [c ; k_pe] per position
 *   per head h: k_nope_h = Wk_h · c (nope),  v_h = Wv_h · c (v)   (Wk, Wv: the two halves of Wkv_b)
 *   score(t, p) = (q_nope·k_nope(p) + q_pe·k_pe(p)) * kq_scale,  softmax over p <= t
 *   out_h  = sum_p att(p) v_h(p);   MLA = Wo · [out_0 ; ... ; out_{H-1}]
 * Two evaluation orders, equal in exact arithmetic (seek_model.mla picks, MLA_AUTO by cost):
 *   absorbed  fold Wk_h into the query (q_abs = Wk_h^T q_nope, scores against c directly) and
 *             Wv_h into the output (attend over c, then apply Wv_h once) - no decompression:
 *             one "kv head" whose key is the cached row [c ; k_pe] and whose value is c.
 *             Cost per query ~ P (2R + rope) per head: the choice for decode.
 *   naive     decompress k_nope and v for every cached position (two matmuls over P rows),
 *             then ordinary multi-head attention. Cost ~ P (nope + hv) R per head once per
 *             call, then only P (hk + hv) per query: the choice for long prefill.
 * Wk, Wv are unpacked once at load (model.c: m->mla_kb[l] [H][nope][R], m->mla_vb[l]
 * [H][hv][R]: the file's own rows where its tensor is Q8_0 (vb: or Q4_K, Q5_K, Q6_K), F32 for F32 files,
 * else F16),
 * whichever file layout (attn_kv_b or attn_k_b + attn_v_b). A split file's Q8_0 attn_k_b
 * keeps its rows (h, c) of nope values, kb's transpose (m->mla_kb_t): q_abs[h][c] is then a
 * dot product of row (h, c) with q_nope[h] instead of a sum of kb's rows.
 * RoPE pairs adjacent elements (interleaved). With YaRN, model.c folds DeepSeek's mscale^2
 * into kq_scale.
 *
 * DeepSeekMoE router, for one token:
 *   s = softmax(Wr · xn)  (V2)   or  sigmoid(Wr · xn)  (V3, R1)           s[E]
 *   choice = s + bias  (V3's exp_probs_b, chooses but does not weight)   else s
 *   groups (n_group > 1): keep the n_group_used best groups, ranked by the sum of their two
 *     best choice scores when there is a bias (V3 "noaux_tc"), by their best score otherwise
 *     (V2 "group_limited_greedy")
 *   pick the n_used best choice scores among the kept experts; weight_k = s[e_k]
 *   optionally renormalise the weights to sum 1; multiply by expert_weights_scale
 *   FFN = sum_k weight_k · expert_{e_k}(xn) + shared_experts(xn)
 * The batch's rows are grouped per expert (counting sort), so each chosen expert's weights
 * are read once per call and experts nobody chose are never touched.
 *
 * Shapes: N rows in the batch (forward.h), D n_embd, H heads, R kv_lora_rank, nope / rope /
 * hv per-head sizes, hk = nope + rope, E experts, K experts per token, F expert width,
 * P = pos0 + n positions of one sequence. The plain reference is forward_ref.c.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "forward.h"
#include "profile.h"
#include "quant.h"
#include "threads.h"
#include "util.h"
#include "vec.h"

/* ------------------------------------------------------------------------------------ */
/* MLA */

/* Above this many floats of decompressed keys/values the naive order is not used (it needs
 * P x H x (nope + hk + hv) floats, and the F32 copies of file-row halves; the absorbed order
 * needs nothing per position). */
#define NAIVE_MAX_FLOATS ((size_t)64 << 20)

static size_t naive_floats(const seek_hparams *hp, int P) {
    const size_t H = (size_t)hp->n_head, hk = (size_t)hp->n_nope + hp->n_rope;
    return (size_t)P * ((size_t)hp->kv_lora_rank + H * (hp->n_nope + hk + hp->head_dim_v));
}

/* Halves kept as the file's rows, which the naive order widens to F32 on every call */
static bool kb_widened(const seek_model *m) { return m->mla_kt == SEEK_TYPE_Q8_0; }
static bool vb_widened(const seek_model *m) { return m->mla_vt != SEEK_TYPE_F32 && m->mla_vt != SEEK_TYPE_F16; }

/* A widened value costs at least this many multiply-adds: V2-Lite's 2M values a layer took
 * 0.8 ms (fused Q8_0) to 1.8 ms (split: Q8_0 transposed + Q4_K) with both threads, 20-40x
 * the absorbed products' time per value. Uncounted, every decode from an empty cache took
 * its first token naive (27 widenings, +25-50 ms); now prompts below ~50 tokens stay absorbed. */
enum { WIDEN_COST = 8 };

/* Which order for n queries after pos0 cached positions (multiply-adds of each). */
bool mla_use_naive(const seek_model *m, int n, int pos0) {
    const seek_hparams *hp = &m->hp;
    if (m->mla == MLA_NAIVE) return true;
    if (m->mla == MLA_ABSORBED) return false;
    const double P = pos0 + n, R = hp->kv_lora_rank, H = hp->n_head, nope = hp->n_nope, rope = hp->n_rope;
    const double hv = hp->head_dim_v, pairs = (double)n * pos0 + (double)n * (n + 1) / 2;
    double absorbed = n * H * (nope + hv) * R + pairs * H * (2 * R + rope);
    double naive = P * H * (nope + hv) * R + pairs * H * (nope + rope + hv);
    const double widened = H * R * ((kb_widened(m) ? nope : 0) + (vb_widened(m) ? hv : 0));   /* F32 copies per call */
    naive += WIDEN_COST * widened;
    return naive < absorbed && naive_floats(hp, pos0 + n) + widened <= NAIVE_MAX_FLOATS;
}

typedef struct {
    const seek_hparams *hp;
    const uint8_t *kb, *vb;  /* this layer's [H][nope][R] (kb_t: [H][R][nope]), [H][hv][R] */
    seek_type kt, vt;        /* m->mla_kt, m->mla_vt: F32, F16 or Q8_0 (vt also Q4_K, Q5_K, Q6_K) */
    bool kb_t;               /* m->mla_kb_t (kt is Q8_0) */
    size_t krow, vrow;       /* bytes of one row of kb (R values, kb_t: nope), of vb (R) */
    const float *q;          /* [n][H][hk] */
    float *qa;               /* [n][H][R + rope]: q_abs ; q_pe */
    const float *lat;        /* [n][H][R] attention output in latent space */
    float *out;              /* [n][H][hv] */
    int n;
} absorb_job;

/* The hardware prefetcher stops at each 4 KiB page (4 rows of 512 halves, 7.5 of Q8_0): ask
 * for the rows PF_ROWS ahead ourselves (8 KiB or 4.3 KiB; 8 and 16 KiB for Q8_0 were slower).
 * A prefetch past the matrix is harmless (no fault). */
enum { PF_ROWS = 8 };
static inline void prefetch_rows(const void *p, size_t bytes) {
    for (size_t k = 0; k < bytes; k += 64) __builtin_prefetch((const char *)p + k);
}

/* Heads [h0, h1): q_abs[t][h] = sum_d q_nope[t][h][d] kb[h][d], q_pe copied after it. */
static void absorb_q(void *ud, int64_t h0, int64_t h1) {
    const absorb_job *j = ud;
    const int H = j->hp->n_head, R = j->hp->kv_lora_rank, nope = j->hp->n_nope, rope = j->hp->n_rope;
    const int hk = nope + rope;
    const size_t w = j->krow;
    for (int64_t h = h0; h < h1; h++)
        for (int t = 0; t < j->n; t++) {
            float *qa = j->qa + ((size_t)t * H + h) * (R + rope);
            const float *qh = j->q + ((size_t)t * H + h) * hk;
            memcpy(qa + R, qh + nope, sizeof(float) * (size_t)rope);
            if (j->kb_t) {   /* rows (h, c) of nope values: one dot product per c, four at once */
                const uint8_t *kb = j->kb + (size_t)h * R * w;
                int c = 0;
                for (; c + 4 <= R; c += 4) {
                    const uint8_t *k0 = kb + (size_t)c * w;
                    prefetch_rows(k0 + PF_ROWS * w, 4 * w);
                    vec_dot4_q8_0(qa + c, k0, k0 + w, k0 + 2 * w, k0 + 3 * w, qh, nope);
                }
                for (; c < R; c++) qa[c] = vec_dot_q8_0(kb + (size_t)c * w, qh, nope);
                continue;
            }
            memset(qa, 0, sizeof(float) * (size_t)R);
            const uint8_t *kb = j->kb + (size_t)h * nope * w;   /* this head's nope rows */
            int d = 0;
            /* four rows of kb per pass over qa: the same sums, in the same order */
            for (; j->kt != SEEK_TYPE_F32 && d + 4 <= nope; d += 4) {
                const uint8_t *k0 = kb + (size_t)d * w;
                prefetch_rows(k0 + PF_ROWS * w, 4 * w);
                if (j->kt == SEEK_TYPE_Q8_0)
                    vec_axpy4_q8_0(qa, qh + d, k0, k0 + w, k0 + 2 * w, k0 + 3 * w, R);
                else
                    vec_axpy4_f16(qa, qh + d, (const uint16_t *)k0, (const uint16_t *)(k0 + w),
                                  (const uint16_t *)(k0 + 2 * w), (const uint16_t *)(k0 + 3 * w), R);
            }
            for (; d < nope; d++) {
                const uint8_t *kr = kb + (size_t)d * w;
                if (j->kt == SEEK_TYPE_Q8_0) vec_axpy_q8_0(qa, qh[d], kr, R);
                else if (j->kt == SEEK_TYPE_F16) vec_axpy_f16(qa, qh[d], (const uint16_t *)kr, R);
                else vec_axpy(qa, qh[d], (const float *)kr, R);
            }
        }
}

/* Heads [h0, h1): out[t][h][i] = vb[h][i] . lat[t][h]. */
static void absorb_out(void *ud, int64_t h0, int64_t h1) {
    const absorb_job *j = ud;
    const int H = j->hp->n_head, R = j->hp->kv_lora_rank, hv = j->hp->head_dim_v;
    const size_t w = j->vrow;
    for (int64_t h = h0; h < h1; h++)
        for (int t = 0; t < j->n; t++) {
            const float *lt = j->lat + ((size_t)t * H + h) * R;
            float *o = j->out + ((size_t)t * H + h) * hv;
            const uint8_t *vb = j->vb + (size_t)h * hv * w;   /* this head's hv rows */
            int i = 0;
            /* four rows at once: the same dot products, four chains in flight */
            for (; j->vt != SEEK_TYPE_F32 && i + 4 <= hv; i += 4) {
                const uint8_t *v0 = vb + (size_t)i * w;
                prefetch_rows(v0 + PF_ROWS * w, 4 * w);
                if (j->vt == SEEK_TYPE_Q8_0)
                    vec_dot4_q8_0(o + i, v0, v0 + w, v0 + 2 * w, v0 + 3 * w, lt, R);
                else if (j->vt != SEEK_TYPE_F16)
                    vec_dot4_kq(j->vt, o + i, v0, v0 + w, v0 + 2 * w, v0 + 3 * w, lt, R);
                else
                    vec_dot4_f16(o + i, (const uint16_t *)v0, (const uint16_t *)(v0 + w),
                                 (const uint16_t *)(v0 + 2 * w), (const uint16_t *)(v0 + 3 * w), lt, R);
            }
            for (; i < hv; i++) {
                const uint8_t *vr = vb + (size_t)i * w;
                o[i] = j->vt == SEEK_TYPE_Q8_0 ? vec_dot_q8_0(vr, lt, R)
                       : j->vt == SEEK_TYPE_F16 ? vec_dot_f16((const uint16_t *)vr, lt, R)
                       : j->vt == SEEK_TYPE_F32 ? vec_dot((const float *)vr, lt, R)
                                                : vec_dot_kq(j->vt, vr, lt, R);
            }
        }
}

/* Decode (one query): absorb_q, attention and absorb_out of a block of heads, the blocks
 * shared by the pool in one pass instead of three (a V2-Lite decode step had 81 MLA passes).
 * A block has at least 4 heads (or all H < 4), so attention takes the same form for each
 * head as it does for all H at once (attention.c: the form depends on the row count), and
 * the bits are those of the three passes. */
typedef struct {
    const absorb_job *j;
    const attn_args *a;   /* all H heads */
    float *asc;           /* nb slots of attention scratch, `per` floats each */
    size_t per;
    int nb;
} mla_decode_job;

static void mla_decode_blocks(void *ud, int64_t b0, int64_t b1) {
    const mla_decode_job *d = ud;
    const int H = d->a->n_head;
    for (int64_t b = b0; b < b1; b++) {
        const int h0 = (int)(H * b / d->nb), h1 = (int)(H * (b + 1) / d->nb);
        absorb_q((void *)d->j, h0, h1);
        attn_args a = *d->a;   /* heads h0..h1-1 of the one latent kv head */
        a.q += (size_t)h0 * a.q_hstride;
        a.out += (size_t)h0 * a.o_hstride;
        a.n_head = h1 - h0;
        attention(&a, d->asc + (size_t)b * d->per);   /* inside par_for: serial, one slot */
        absorb_out((void *)d->j, h0, h1);
    }
}

/* The naive order's per-position copies, shared by the pool: the cached latents out to F32
 * (naive_latents), then the keys [k_nope ; k_pe] per head (naive_keys). */
typedef struct {
    const seek_hparams *hp;
    const seek_kvcache *c;
    int l;
    float *lat, *kn, *kk;
    const uint8_t *kb, *vb;   /* halves of file rows: widened to F32 into wk, wv (naive_widen) */
    seek_type vt;             /* vb's type (Q8_0, Q4_K, Q5_K or Q6_K when it is widened) */
    float *wk, *wv;           /* [H nope][R], [H hv][R] */
    bool kb_t;
    int64_t nki;              /* naive_widen's items for kb (0: kb is not Q8_0) */
} naive_job;

enum { WIDEN_COLS = 16 };   /* kb_t: rows (h, c) widened per item, written as 16 floats along c */
static int64_t widen_items_per_head(int R) { return (R + WIDEN_COLS - 1) / WIDEN_COLS; }

/* Items [i0, i1) of kb then vb, file rows to F32: the exact values the absorbed order forms from
 * the same bytes (vec.h), so the two orders agree. Items of kb are its rows, or with kb_t
 * WIDEN_COLS of its rows (h, c..) turned into columns c.. of wk's head h; items of vb its rows. */
static void naive_widen(void *ud, int64_t i0, int64_t i1) {
    const naive_job *j = ud;
    const int R = j->hp->kv_lora_rank, nope = j->hp->n_nope;
    const size_t wrow = seek_row_size(SEEK_TYPE_Q8_0, R), trow = seek_row_size(SEEK_TYPE_Q8_0, nope);
    const size_t vrow = seek_row_size(j->vt, R);
    const size_t blk = seek_row_size(SEEK_TYPE_Q8_0, 32);   /* one block of 32 values */
    const int64_t per_head = widen_items_per_head(R);
    for (int64_t i = i0; i < i1; i++) {
        if (i >= j->nki) {
            const int64_t r = i - j->nki;
            seek_dequantize_row(j->vt, j->vb + (size_t)r * vrow, j->wv + (size_t)r * R, R);
        } else if (!j->kb_t) {
            seek_dequantize_row(SEEK_TYPE_Q8_0, j->kb + (size_t)i * wrow, j->wk + (size_t)i * R, R);
        } else {
            const int64_t h = i / per_head;
            const int c0 = (int)(i % per_head) * WIDEN_COLS, nc = R - c0 < WIDEN_COLS ? R - c0 : WIDEN_COLS;
            float t[WIDEN_COLS][32];   /* one 32-value block of each row (h, c0 + c) */
            for (int b = 0; b < nope / 32; b++) {
                for (int c = 0; c < nc; c++) seek_dequant_q8_0(j->kb + ((size_t)h * R + c0 + c) * trow + (size_t)b * blk, t[c], 32);
                for (int k = 0; k < 32; k++) {
                    float *dst = j->wk + ((size_t)h * nope + 32 * b + k) * R + c0;
                    for (int c = 0; c < nc; c++) dst[c] = t[c][k];
                }
            }
        }
    }
}

static void naive_latents(void *ud, int64_t p0, int64_t p1) {
    const naive_job *j = ud;
    const int R = j->hp->kv_lora_rank;
    for (int64_t p = p0; p < p1; p++) kv_get(j->c->type, kv_krow(j->c, j->l, (int)p), 0, R, j->lat + (size_t)p * R);
}

static void naive_keys(void *ud, int64_t p0, int64_t p1) {
    const naive_job *j = ud;
    const int H = j->hp->n_head, R = j->hp->kv_lora_rank, nope = j->hp->n_nope, rope = j->hp->n_rope, hk = nope + rope;
    for (int64_t p = p0; p < p1; p++) {
        float kpe[rope];
        kv_get(j->c->type, kv_krow(j->c, j->l, (int)p), R, rope, kpe);
        for (int h = 0; h < H; h++) {
            float *kp = j->kk + ((size_t)p * H + h) * hk;
            memcpy(kp, j->kn + ((size_t)p * H + h) * nope, sizeof(float) * (size_t)nope);
            memcpy(kp + nope, kpe, sizeof(float) * (size_t)rope);
        }
    }
}

/* ao[n][H][hv] for one sequence whose rows are q[n][H][hk]; its [c ; k_pe] rows for
 * positions 0..pos0+n-1 are in the cache. */
static int mla_attend(seek_model *m, int l, seek_kvcache *c, int n, int pos0, const float *q, float *ao,
                      float *row, float *asc) {
    const seek_hparams *hp = &m->hp;
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, rope = hp->n_rope;
    const int hk = nope + rope, hv = hp->head_dim_v, P = pos0 + n;
    const uint8_t *kb = m->mla_kb[l], *vb = m->mla_vb[l];
    const size_t krow = m->mla_krow, vrow = m->mla_vrow;
    if (mla_use_naive(m, n, pos0)) {
        /* decompress every position: lat[P][R] -> kn[P][H*nope], vv[P][H*hv]; keys
         * kk[P][H][hk] = [k_nope ; k_pe]. File-row halves are multiplied as F32 (wk[H nope][R],
         * wv[H hv][R], after kk): the kernels would quantize lat to Q8_0, and the two orders
         * would no longer compute on the same numbers. */
        const bool k8 = kb_widened(m), v8 = vb_widened(m);
        const size_t nwk = k8 ? (size_t)H * nope * R : 0, nwv = v8 ? (size_t)H * hv * R : 0;
        float *lat = ws_get(m, WS_TMP, naive_floats(hp, P) + nwk + nwv);
        if (!lat) return -1;
        float *kn = lat + (size_t)P * R, *vv = kn + (size_t)P * H * nope, *kk = vv + (size_t)P * H * hv;
        float *wkf = kk + (size_t)P * H * hk;
        const int64_t nki = !k8 ? 0 : m->mla_kb_t ? H * widen_items_per_head(R) : (int64_t)H * nope;
        naive_job nj = {hp, c, l, lat, kn, kk, kb, vb, m->mla_vt, wkf, wkf + nwk, m->mla_kb_t, nki};
        double ta = prof_start();   /* the profile's attention: all but the products below */
        par_for(P, naive_latents, &nj);
        if (k8 || v8) par_for(nki + (v8 ? (int64_t)H * hv : 0), naive_widen, &nj);
        const double t_lat = prof_start() - ta;   /* (0 - 0 when the profile is off) */
        const size_t frow = sizeof(float) * (size_t)R;
        seek_mat wk = k8 ? (seek_mat){SEEK_TYPE_F32, R, (int64_t)H * nope, frow, (const uint8_t *)nj.wk, NULL}
                         : (seek_mat){m->mla_kt, R, (int64_t)H * nope, krow, kb, NULL};
        seek_mat wv = v8 ? (seek_mat){SEEK_TYPE_F32, R, (int64_t)H * hv, frow, (const uint8_t *)nj.wv, NULL}
                         : (seek_mat){m->mla_vt, R, (int64_t)H * hv, vrow, vb, NULL};
        mm_item kv[2] = {{kn, lat, wk, NULL, P}, {vv, lat, wv, NULL, P}};
        if (matmul_many(kv, 2, row)) return -1;
        ta = prof_start() - t_lat;
        par_for(P, naive_keys, &nj);
        attn_args a = {
            .T = n, .pos0 = pos0, .n_head = H, .n_kv_head = H,
            .q = q, .q_stride = (size_t)H * hk, .q_hstride = (size_t)hk,
            .k = {(const uint8_t *)kk, SEEK_TYPE_F32, sizeof(float) * (size_t)H * hk, 0, hk, hk},
            .v = {(const uint8_t *)vv, SEEK_TYPE_F32, sizeof(float) * (size_t)H * hv, 0, hv, hv},
            .scale = m->kq_scale,
            .out = ao, .o_stride = (size_t)H * hv, .o_hstride = (size_t)hv,
        };
        attention(&a, asc);
        prof_attention(n, ta);
        return 0;
    }
    /* absorbed: queries into latent space, attend over the cached rows, back out per head */
    float *qa = ws_get(m, WS_TMP, (size_t)n * H * (2 * R + rope));
    if (!qa) return -1;
    float *lat = qa + (size_t)n * H * (R + rope);
    absorb_job j = {.hp = hp, .kb = kb, .vb = vb, .kt = m->mla_kt, .vt = m->mla_vt, .kb_t = m->mla_kb_t,
                    .krow = krow, .vrow = vrow, .q = q, .qa = qa, .lat = lat, .out = ao, .n = n};
    attn_args a = {
        .T = n, .pos0 = pos0, .n_head = H, .n_kv_head = 1,
        .q = qa, .q_stride = (size_t)H * (R + rope), .q_hstride = (size_t)(R + rope),
        .k = {kv_krow(c, l, 0), c->type, c->k_row, 0, 0, R + rope},
        .v = {kv_krow(c, l, 0), c->type, c->k_row, 0, 0, R},
        .v_in_k = true,
        .scale = m->kq_scale,
        .out = lat, .o_stride = (size_t)H * R, .o_hstride = (size_t)R,
    };
    const double ta = prof_start();
    if (n == 1) {   /* decode: the three steps per block of heads, one pass of the pool */
        const int nt = seek_threads();
        mla_decode_job d = {.j = &j, .a = &a, .asc = asc, .per = attention_scratch(H, 1, R + rope, R, 1),
                            .nb = H / 4 < nt ? (H / 4 > 1 ? H / 4 : 1) : nt};
        par_for(d.nb, mla_decode_blocks, &d);
    } else {
        par_for(H, absorb_q, &j);
        attention(&a, asc);
        par_for(H, absorb_out, &j);
    }
    prof_attention(n, ta);
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* DeepSeekMoE */

/* Choose K experts for one token: idx[K], w[K]. s[E] are the router scores (after
 * softmax/sigmoid); choice[E] and gscore[n_group] are scratch. Same rule as the
 * reference (forward_ref.c): ties go to the lower index. */
static void moe_route(const seek_hparams *hp, const float *s, const float *bias, float *choice, float *gscore,
                      int *idx, float *w) {
    const int E = hp->n_expert, K = hp->n_expert_used, G = hp->n_group, per = E / G;
    for (int e = 0; e < E; e++) choice[e] = s[e] + (bias ? bias[e] : 0.0f);
    if (G > 1 && hp->n_group_used < G) {
        for (int g = 0; g < G; g++) {
            const float *cg = choice + g * per;
            float b1 = -INFINITY, b2 = -INFINITY;
            for (int j = 0; j < per; j++) {
                if (cg[j] > b1) { b2 = b1; b1 = cg[j]; }
                else if (cg[j] > b2) b2 = cg[j];
            }
            gscore[g] = bias ? b1 + (per > 1 ? b2 : 0.0f) : b1;
        }
        /* drop the G - n_group_used worst groups (ties: the higher index goes first) */
        for (int k = 0; k < G - hp->n_group_used; k++) {
            int worst = -1;
            for (int g = 0; g < G; g++)
                if (gscore[g] != INFINITY && (worst < 0 || gscore[g] <= gscore[worst])) worst = g;
            gscore[worst] = INFINITY;
            for (int j = 0; j < per; j++) choice[worst * per + j] = -INFINITY;
        }
    }
    /* top-K by insertion into a sorted list (strictly greater moves up: ties keep the
     * lower index first) */
    int n = 0;
    for (int e = 0; e < E; e++) {
        if (n == K && !(choice[e] > choice[idx[K - 1]])) continue;
        int i = n < K ? n++ : K - 1;
        while (i > 0 && choice[e] > choice[idx[i - 1]]) { idx[i] = idx[i - 1]; i--; }
        idx[i] = e;
    }
    float sum = 0.0f;
    for (int k = 0; k < K; k++) { w[k] = s[idx[k]]; sum += w[k]; }
    for (int k = 0; k < K; k++) {
        if (hp->expert_weights_norm) w[k] = w[k] / (sum + 1e-20f);
        w[k] *= hp->expert_weights_scale;
    }
}

/* out[N][D] = SwiGLU FFN of xn[N][D] with gate/up [D -> F] and down [F -> D]. */
static int swiglu(float *out, const float *xn, seek_mat gate, seek_mat up, seek_mat down, int N, float *g, float *u,
                  float *row) {
    mm_item gu[2] = {{g, xn, gate, NULL, N}, {u, xn, up, NULL, N}};
    if (matmul_many(gu, 2, row)) return -1;
    swiglu_act(g, u, N, (int)gate.n_out);
    return matmul(out, g, down, NULL, N, row);
}

typedef struct {
    float *s;         /* [N][E] router scores */
    float *choice;    /* [E] */
    float *gscore;    /* [n_group] */
    int *idx;         /* [N][K] chosen experts */
    float *w;         /* [N][K] their weights */
    int *cnt;         /* [E + 1] rows per expert, then start offsets */
    int *rows;        /* [N*K] rows grouped by expert */
    float *rw;        /* [N*K] their weights */
    float *xe, *ye;   /* [N][D] gathered inputs / expert outputs */
    float *g, *u;     /* [N][max(F, shared F)] */
    /* small batches (N <= MOE_SMALL): every chosen expert in one pass of the pool */
    float *xa, *ya;   /* [N*K][D] */
    float *ga, *ua;   /* [N*K][expert F] */
    /* bigger batches (moe_experts_batched): xb [N*K][D] gathered inputs, then the experts'
     * outputs; gb, ub [N*K][expert F]; slot [N][K] each choice's row in them */
    float *xb, *gb, *ub;
    int *slot;
} moe_ws;

/* Decode and small server batches run all chosen experts' gate/up products (and the shared
 * experts') as one matmul_many, then all down products as another: 2 pool passes per layer
 * instead of 3 per expert. Bigger batches take one expert at a time (each expert then has
 * enough rows to fill the threads, and the buffers would grow with N*K). */
enum { MOE_SMALL = 16 };

/* The shared experts ride in the routed experts' two passes: their gate and up products of
 * xn[N] into W->g, W->u with the first, their down product into out (which the routed
 * experts then add to; zeroed when there is none) with the second. Each writes its items
 * at it[0..) and returns how many. */
static int shexp_gate_up(mm_item *it, const seek_layer *Ly, const moe_ws *W, const float *xn, int N) {
    if (!Ly->gate_shexp) return 0;
    it[0] = (mm_item){W->g, xn, mat_of(Ly->gate_shexp), NULL, N};
    it[1] = (mm_item){W->u, xn, mat_of(Ly->up_shexp), NULL, N};
    return 2;
}

static int shexp_down(mm_item *it, const seek_layer *Ly, const moe_ws *W, float *out, int N, int D) {
    if (!Ly->gate_shexp) {
        memset(out, 0, sizeof(float) * (size_t)N * D);
        return 0;
    }
    it[0] = (mm_item){out, W->g, mat_of(Ly->down_shexp), NULL, N};
    return 1;
}

/* The same as the per-expert loop of moe_forward, for N <= MOE_SMALL: same products, same
 * order of the additions into out. */
static int moe_experts_small(float *out, const float *xn, const seek_layer *Ly, const seek_hparams *hp, int N,
                             const moe_ws *W, float *row) {
    const int D = hp->n_embd, E = hp->n_expert, Fe = hp->n_ff_exp;
    mm_item it[MANY_ITEMS_MAX];
    int E_used[MANY_ITEMS_MAX], n_used = 0;
    const int Fs = Ly->gate_shexp ? (int)Ly->gate_shexp->ne[1] : 0;
    int ni = shexp_gate_up(it, Ly, W, xn, N);
    for (int e = 0; e < E; e++) {
        const int b = e ? W->cnt[e - 1] : 0, n = W->cnt[e] - b;
        if (!n) continue;
        E_used[n_used++] = e;
        const float *xin = xn;   /* one token: every expert reads xn itself (converted once) */
        if (N > 1) {
            for (int j = 0; j < n; j++) memcpy(W->xa + (size_t)(b + j) * D, xn + (size_t)W->rows[b + j] * D, sizeof(float) * D);
            xin = W->xa + (size_t)b * D;
        }
        it[ni++] = (mm_item){W->ga + (size_t)b * Fe, xin, mat_slice(Ly->gate_exps, e), NULL, n};
        it[ni++] = (mm_item){W->ua + (size_t)b * Fe, xin, mat_slice(Ly->up_exps, e), NULL, n};
    }
    if (matmul_many(it, ni, row)) return -1;
    swiglu_act(W->ga, W->ua, W->cnt[E - 1], Fe);   /* every chosen expert's rows */
    swiglu_act(W->g, W->u, N, Fs);
    ni = shexp_down(it, Ly, W, out, N, D);
    for (int k = 0; k < n_used; k++) {
        const int e = E_used[k], b = e ? W->cnt[e - 1] : 0, n = W->cnt[e] - b;
        it[ni++] = (mm_item){W->ya + (size_t)b * D, W->ga + (size_t)b * Fe, mat_slice(Ly->down_exps, e), NULL, n};
    }
    if (matmul_many(it, ni, row)) return -1;
    for (int k = 0; k < n_used; k++) {
        const int e = E_used[k], b = e ? W->cnt[e - 1] : 0, n = W->cnt[e] - b;
        for (int j = 0; j < n; j++) vec_axpy(out + (size_t)W->rows[b + j] * D, W->rw[b + j], W->ya + (size_t)(b + j) * D, D);
    }
    return 0;
}

/* Bigger batches (prefill): the same products as the per-expert loop, in a few pool passes
 * per layer instead of five per expert, with the row gathers and the weighted sums shared by
 * the threads. The experts' inputs are gathered into xb (slot order: experts ascending, rows
 * in token order), every expert's gate/up (and the shared experts') run as lists of at most
 * MANY_ITEMS_MAX products, then every down product (its output over its own inputs in xb),
 * then each token adds its experts' outputs in ascending expert order - the order of the
 * per-expert loop - so the bits are the same. */
typedef struct {
    const moe_ws *W;
    const float *xn;
    float *out;
    int D, K;
} moe_rows_job;

static void moe_gather(void *ud, int64_t s0, int64_t s1) {
    const moe_rows_job *j = ud;
    for (int64_t s = s0; s < s1; s++)
        memcpy(j->W->xb + (size_t)s * j->D, j->xn + (size_t)j->W->rows[s] * j->D, sizeof(float) * (size_t)j->D);
}

static void moe_scatter(void *ud, int64_t t0, int64_t t1) {
    const moe_rows_job *j = ud;
    for (int64_t t = t0; t < t1; t++) {
        int sl[64];   /* this token's slots, ascending (= ascending expert); K <= 64 */
        for (int k = 0; k < j->K; k++) {
            int v = j->W->slot[t * j->K + k], i = k;
            while (i > 0 && sl[i - 1] > v) { sl[i] = sl[i - 1]; i--; }
            sl[i] = v;
        }
        for (int k = 0; k < j->K; k++)
            vec_axpy(j->out + (size_t)t * j->D, j->W->rw[sl[k]], j->W->xb + (size_t)sl[k] * j->D, j->D);
    }
}

static int moe_experts_batched(float *out, const float *xn, const seek_layer *Ly, const seek_hparams *hp, int N,
                               const moe_ws *W, float *row) {
    const int D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used, Fe = hp->n_ff_exp;
    const int Fs = Ly->gate_shexp ? (int)Ly->gate_shexp->ne[1] : 0;
    moe_rows_job rj = {W, xn, out, D, K};
    par_for(W->cnt[E - 1], moe_gather, &rj);
    mm_item it[MANY_ITEMS_MAX];
    int ni = shexp_gate_up(it, Ly, W, xn, N);
    for (int e = 0; e < E; e++) {
        const int b = e ? W->cnt[e - 1] : 0, n = W->cnt[e] - b;
        if (!n) continue;
        if (ni + 2 > MANY_ITEMS_MAX) {
            if (matmul_many(it, ni, row)) return -1;
            ni = 0;
        }
        it[ni++] = (mm_item){W->gb + (size_t)b * Fe, W->xb + (size_t)b * D, mat_slice(Ly->gate_exps, e), NULL, n};
        it[ni++] = (mm_item){W->ub + (size_t)b * Fe, W->xb + (size_t)b * D, mat_slice(Ly->up_exps, e), NULL, n};
    }
    if (ni && matmul_many(it, ni, row)) return -1;
    swiglu_act(W->gb, W->ub, W->cnt[E - 1], Fe);
    if (Fs) swiglu_act(W->g, W->u, N, Fs);
    ni = shexp_down(it, Ly, W, out, N, D);
    for (int e = 0; e < E; e++) {   /* xb is free again: each expert's output over its inputs */
        const int b = e ? W->cnt[e - 1] : 0, n = W->cnt[e] - b;
        if (!n) continue;
        if (ni + 1 > MANY_ITEMS_MAX) {
            if (matmul_many(it, ni, row)) return -1;
            ni = 0;
        }
        it[ni++] = (mm_item){W->xb + (size_t)b * D, W->gb + (size_t)b * Fe, mat_slice(Ly->down_exps, e), NULL, n};
    }
    if (ni && matmul_many(it, ni, row)) return -1;
    par_for(N, moe_scatter, &rj);
    return 0;
}

/* out[N][D] = MoE(xn[N][D]). */
static int moe_forward(float *out, const float *xn, const seek_layer *Ly, const seek_hparams *hp, int N, const moe_ws *W,
                       float *row) {
    const int D = hp->n_embd, E = hp->n_expert, K = hp->n_expert_used;
    if (matmul(W->s, xn, mat_of(Ly->gate_inp), NULL, N, row)) return -1;
    const float *bias = Ly->exp_probs_b ? Ly->exp_probs_b->data : NULL;
    memset(W->cnt, 0, sizeof(int) * (size_t)(E + 1));
    for (int t = 0; t < N; t++) {
        float *st = W->s + (size_t)t * E;
        if (hp->gating_func == GATING_SIGMOID)
            for (int e = 0; e < E; e++) st[e] = 1.0f / (1.0f + expf(-st[e]));
        else
            softmax(st, E);
        moe_route(hp, st, bias, W->choice, W->gscore, W->idx + (size_t)t * K, W->w + (size_t)t * K);
        for (int k = 0; k < K; k++) W->cnt[W->idx[(size_t)t * K + k] + 1]++;
    }
    for (int e = 0; e < E; e++) W->cnt[e + 1] += W->cnt[e];   /* cnt[e] = first slot of expert e */
    for (int t = 0; t < N; t++)                                /* rows in order within an expert */
        for (int k = 0; k < K; k++) {
            int e = W->idx[(size_t)t * K + k], at = W->cnt[e]++;
            if (W->slot) W->slot[(size_t)t * K + k] = at;
            W->rows[at] = t;
            W->rw[at] = W->w[(size_t)t * K + k];
        }
    /* cnt[e] is now the end of expert e's slots; its start is cnt[e-1] (0 for e = 0) */

    int used = 0;   /* distinct experts chosen: each takes 2 items of one matmul_many */
    for (int e = 0; e < E; e++) used += W->cnt[e] > (e ? W->cnt[e - 1] : 0);
    if (N <= MOE_SMALL && W->xa && 2 * used + 2 <= MANY_ITEMS_MAX) return moe_experts_small(out, xn, Ly, hp, N, W, row);
    if (W->xb && K <= 64) return moe_experts_batched(out, xn, Ly, hp, N, W, row);
    /* shared experts (one wide SwiGLU over all rows), then each chosen expert over its rows */
    if (Ly->gate_shexp) {
        if (swiglu(out, xn, mat_of(Ly->gate_shexp), mat_of(Ly->up_shexp), mat_of(Ly->down_shexp), N, W->g, W->u, row))
            return -1;
    } else {
        memset(out, 0, sizeof(float) * (size_t)N * D);
    }
    for (int e = 0; e < E; e++) {
        const int b = e ? W->cnt[e - 1] : 0, n = W->cnt[e] - b;
        if (!n) continue;
        for (int j = 0; j < n; j++) memcpy(W->xe + (size_t)j * D, xn + (size_t)W->rows[b + j] * D, sizeof(float) * D);
        if (swiglu(W->ye, W->xe, mat_slice(Ly->gate_exps, e), mat_slice(Ly->up_exps, e), mat_slice(Ly->down_exps, e), n,
                   W->g, W->u, row))
            return -1;
        for (int j = 0; j < n; j++) vec_axpy(out + (size_t)W->rows[b + j] * D, W->rw[b + j], W->ye + (size_t)j * D, D);
    }
    return 0;
}

/* ------------------------------------------------------------------------------------ */
/* the blocks */

/* Rows [i0, i1) of sequence sq: RoPE on the queries' rope parts; the kv latent normed, its
 * rope key rotated, and the row [rmsnorm(c) ; rope(k_pe)] stored in the cache at its
 * position. Rows are independent: a prompt's rows are shared out by the pool. */
typedef struct {
    const seek_model *m;
    const fwd_batch *b;
    const fwd_seq *sq;
    float *q, *kva;   /* [N][H*hk], [N][R + rope] */
    int l;
} latent_job;

static void latent_rows(void *ud, int64_t i0, int64_t i1) {
    const latent_job *j = ud;
    const seek_hparams *hp = &j->m->hp;
    const int H = hp->n_head, R = hp->kv_lora_rank, nope = hp->n_nope, rope = hp->n_rope, hk = nope + rope;
    const int half = j->m->rope.n_rot / 2;
    const float *kv_norm = j->m->layers[j->l].kv_a_norm->data;
    seek_kvcache *c = j->sq->cache;
    for (int64_t i = j->sq->row0 + i0; i < j->sq->row0 + i1; i++) {
        const float *cs = j->b->cs + (size_t)i * half * 2;
        for (int h = 0; h < H; h++) rope_apply_cs(&j->m->rope, j->q + ((size_t)i * H + h) * hk + nope, cs);
        float *kr = j->kva + (size_t)i * (R + rope);
        rmsnorm(kr, kr, kv_norm, R, hp->norm_eps);
        rope_apply_cs(&j->m->rope, kr + R, cs);
        kv_put(c->type, kr, kv_krow(c, j->l, j->sq->pos0 + (int)(i - j->sq->row0)), R + rope);
    }
}

int deepseek2_blocks(seek_model *m, const fwd_batch *b, float *x, float *hidden) {
    const seek_hparams *hp = &m->hp;
    const int D = hp->n_embd, H = hp->n_head, L = hp->n_layer, R = hp->kv_lora_rank, N = b->N;
    const int nope = hp->n_nope, rope = hp->n_rope, hk = nope + rope, hv = hp->head_dim_v;
    const int QL = hp->q_lora_rank, E = hp->n_expert, K = hp->n_expert_used;
    const size_t n = (size_t)N;
    int F = hp->n_ff;
    if (hp->n_ff_exp * hp->n_expert_shared > F) F = hp->n_ff_exp * hp->n_expert_shared;
    if (hp->n_ff_exp > F) F = hp->n_ff_exp;
    int maxw = D;   /* longest weight row: D, q_lora, R, H*hv, F */
    int cand[] = {QL, R, H * hv, F};
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) if (cand[i] > maxw) maxw = cand[i];
    const size_t nact = attention_scratch(H, H, R + rope > hk ? R + rope : hk, R > hv ? R : hv, seek_threads());

    /* Two passes over the same carving: the first counts, the second takes the block
     * (mla_attend uses the separate WS_TMP block for its per-sequence buffers). */
    ws_carver wc = {0};
    moe_ws W = {0};
    float *xn = NULL, *qa = NULL, *q = NULL, *kva = NULL, *ao = NULL, *o = NULL, *g = NULL, *u = NULL, *row = NULL, *asc = NULL;
    for (int pass = 0; pass < 2; pass++) {
        if (pass) {
            if (!(wc.base = ws_get(m, WS_ACT, wc.used))) return -1;
            wc.used = 0;
        }
        xn = ws_take(&wc, n * D);                           /* [N][D] normed sublayer input */
        qa = ws_take(&wc, n * (QL > 0 ? QL : 1));           /* [N][QL] q-LoRA latent */
        q = ws_take(&wc, n * H * hk);                       /* [N][H][hk] */
        kva = ws_take(&wc, n * (R + rope));                 /* [N][R + rope] */
        ao = ws_take(&wc, n * H * hv);                      /* [N][H*hv] attention output */
        o = ws_take(&wc, n * D);                            /* [N][D] sublayer output */
        g = ws_take(&wc, n * F);                            /* [N][F] FFN scratch */
        u = ws_take(&wc, n * F);
        row = ws_take(&wc, (size_t)maxw);
        asc = ws_take(&wc, nact);
        if (E > 0) {
            W.s = ws_take(&wc, n * E);
            W.choice = ws_take(&wc, (size_t)E);
            W.gscore = ws_take(&wc, (size_t)hp->n_group);
            W.idx = (int *)ws_take(&wc, n * K);
            W.w = ws_take(&wc, n * K);
            W.cnt = (int *)ws_take(&wc, (size_t)E + 1);
            W.rows = (int *)ws_take(&wc, n * K);
            W.rw = ws_take(&wc, n * K);
            W.xe = ws_take(&wc, n * D);
            W.ye = ws_take(&wc, n * D);
            W.g = g, W.u = u;
            const size_t ns = N <= MOE_SMALL ? n * K : 0;   /* moe_experts_small's buffers */
            W.xa = ns ? ws_take(&wc, ns * D) : NULL;
            W.ya = ns ? ws_take(&wc, ns * D) : NULL;
            W.ga = ns ? ws_take(&wc, ns * hp->n_ff_exp) : NULL;
            W.ua = ns ? ws_take(&wc, ns * hp->n_ff_exp) : NULL;
            const size_t nb = N > MOE_SMALL ? n * K : 0;   /* moe_experts_batched's buffers */
            W.xb = nb ? ws_take(&wc, nb * D) : NULL;
            W.gb = nb ? ws_take(&wc, nb * hp->n_ff_exp) : NULL;
            W.ub = nb ? ws_take(&wc, nb * hp->n_ff_exp) : NULL;
            W.slot = nb ? (int *)ws_take(&wc, nb) : NULL;
        }
    }

    for (int l = 0; l < L; l++) {
        const seek_layer *Ly = &m->layers[l];

        /* ---- MLA ---- */
        rmsnorm_rows(xn, x, Ly->attn_norm->data, N, D, hp->norm_eps);
        /* q (or its q-LoRA latent) and the kv latent read the same input: one pass */
        mm_item in[2] = {{Ly->wq_a ? qa : q, xn, mat_of(Ly->wq_a ? Ly->wq_a : Ly->wq), NULL, N},
                         {kva, xn, mat_of(Ly->wkv_a), NULL, N}};
        if (matmul_many(in, 2, row)) return -1;
        if (Ly->wq_a) {   /* q-LoRA: norm, up-project */
            rmsnorm_rows(qa, qa, Ly->q_a_norm->data, N, QL, hp->norm_eps);
            if (matmul(q, qa, mat_of(Ly->wq_b), NULL, N, row)) return -1;
        }
        for (int s = 0; s < b->n_seq; s++) {
            const fwd_seq *sq = &b->seq[s];
            latent_job lj = {m, b, sq, q, kva, l};
            par_rows(sq->n, latent_rows, &lj);
        }
        for (int s = 0; s < b->n_seq; s++) {
            const fwd_seq *sq = &b->seq[s];
            if (mla_attend(m, l, sq->cache, sq->n, sq->pos0, q + (size_t)sq->row0 * H * hk, ao + (size_t)sq->row0 * H * hv,
                           row, asc))
                return -1;
        }
        prefetch_bytes(Ly->ffn_norm->data, sizeof(float) * D);   /* read after this product */
        if (matmul(o, ao, mat_of(Ly->wo), NULL, N, row)) return -1;
        for (size_t i = 0; i < n * D; i++) x[i] += o[i];

        /* ---- FFN: dense SwiGLU or DeepSeekMoE ---- */
        rmsnorm_rows(xn, x, Ly->ffn_norm->data, N, D, hp->norm_eps);
        if (l + 1 < L) prefetch_bytes(m->layers[l + 1].attn_norm->data, sizeof(float) * D);
        if (l < hp->n_layer_dense_lead) {
            if (swiglu(o, xn, mat_of(Ly->ffn_gate), mat_of(Ly->ffn_up), mat_of(Ly->ffn_down), N, g, u, row)) return -1;
        } else {
            if (moe_forward(o, xn, Ly, hp, N, &W, row)) return -1;
        }
        for (size_t i = 0; i < n * D; i++) x[i] += o[i];

        if (hidden && l + 1 < L) memcpy(hidden + (size_t)(l + 1) * b->hstride, x, sizeof(float) * n * D);
    }
    return 0;
}
