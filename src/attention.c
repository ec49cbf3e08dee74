/* attention.c - tiled causal attention with an online softmax. See attention.h.
 *
 * Work unit = (query tile of QT tokens, kv head g, block of hb query heads of g's group).
 * A unit walks the key positions in tiles of PK: it loads (converts) the tile's keys and
 * values once and uses them for all QT x hb query rows, so K/V are read once per unit,
 * not once per query head. Units are dealt to the pool's threads round-robin (one slot of
 * scratch per thread); causal rows simply stop at their own position.
 */
#include "attention.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kvcache.h"
#include "threads.h"
#include "vec.h"

enum { PK = 64, RMAX = 64, QT_MAX = 16 };

size_t attention_scratch(int n_head, int n_kv_head, int dk, int dv, int n_threads) {
    (void)n_head; (void)n_kv_head;
    size_t per = (size_t)PK * dk + (size_t)PK * dv + (size_t)RMAX * PK + (size_t)RMAX * dv + 2 * RMAX;
    return per * (size_t)(n_threads > 0 ? n_threads : 1);
}

typedef struct {
    const attn_args *a;
    float *scratch;
    size_t per;            /* floats of scratch per slot */
    int nt;                /* slots */
    int QT, hb, n_qt, n_hb, group, units;
} attn_job;

/* Keys or values of positions p0..p0+n-1, kv head g, as rows the dot/axpy loops read:
 * a pointer into the source when it is F32 or F16 (*half says which; F16 is read as is by
 * vec_dot_f16 / vec_axpy_f16), else converted to F32 into buf. *stride gets the row stride
 * in elements. */
static const void *load_tile(const attn_src *s, int g, int p0, int n, float *buf, size_t *stride, bool *half) {
    int col = s->col0 + g * s->head_stride;
    const uint8_t *base = s->data + (size_t)p0 * s->row_bytes;
    *half = s->type == SEEK_TYPE_F16;
    if (s->type == SEEK_TYPE_F32 || s->type == SEEK_TYPE_F16) {
        const size_t esz = s->type == SEEK_TYPE_F32 ? 4 : 2;
        *stride = s->row_bytes / esz;
        return base + col * esz;
    }
    if (col == 0 && kv_row_bytes(s->type, s->dim) == s->row_bytes && (s->type != SEEK_TYPE_Q8_0 || s->dim % 32 == 0))
        kv_get(s->type, base, 0, n * s->dim, buf);   /* whole rows, back to back: one conversion */
    else
        for (int j = 0; j < n; j++) kv_get(s->type, base + (size_t)j * s->row_bytes, col, s->dim, buf + (size_t)j * s->dim);
    *stride = (size_t)s->dim;
    return buf;
}

static void run_unit(const attn_job *J, int u, float *ws) {
    const attn_args *a = J->a;
    const int dk = a->k.dim, dv = a->v.dim;
    const int qt = u / (a->n_kv_head * J->n_hb), rest = u % (a->n_kv_head * J->n_hb);
    const int g = rest / J->n_hb, hbi = rest % J->n_hb;
    const int t0 = qt * J->QT, t1 = t0 + J->QT < a->T ? t0 + J->QT : a->T;
    const int h0 = g * J->group + hbi * J->hb;
    const int h1 = h0 + J->hb < (g + 1) * J->group ? h0 + J->hb : (g + 1) * J->group;
    const int nh = h1 - h0, nr = (t1 - t0) * nh;

    float *kbuf = ws, *vbuf = kbuf + (size_t)PK * dk, *sc = vbuf + (size_t)PK * dv;
    float *acc = sc + (size_t)RMAX * PK, *mx = acc + (size_t)RMAX * dv, *sum = mx + RMAX;
    for (int r = 0; r < nr; r++) { mx[r] = -INFINITY; sum[r] = 0.0f; }
    memset(acc, 0, sizeof(float) * (size_t)nr * dv);

    const int p_end = a->pos0 + t1;   /* the last row sees positions < p_end */
    for (int p0 = 0; p0 < p_end; p0 += PK) {
        const int np = p_end - p0 < PK ? p_end - p0 : PK;
        size_t ks, vs;
        bool kh, vh;
        const void *K = load_tile(&a->k, g, p0, np, kbuf, &ks, &kh);
        const void *V = a->v_in_k ? K : load_tile(&a->v, g, p0, np, vbuf, &vs, &vh);
        if (a->v_in_k) vs = ks, vh = kh;
        for (int t = t0; t < t1; t++) {
            const int vis = a->pos0 + t + 1 - p0;   /* positions of this tile row t may see */
            const int n = vis < np ? vis : np;
            if (n <= 0) continue;
            for (int h = h0; h < h1; h++) {
                const int r = (t - t0) * nh + (h - h0);
                const float *qv = a->q + (size_t)t * a->q_stride + (size_t)h * a->q_hstride;
                float *s = sc + (size_t)r * PK, *ar = acc + (size_t)r * dv;
                float tmax = -INFINITY;
                for (int j = 0; j < n; j++) {
                    s[j] = (kh ? vec_dot_f16((const uint16_t *)K + (size_t)j * ks, qv, dk)
                             : vec_dot(qv, (const float *)K + (size_t)j * ks, dk)) * a->scale;
                    if (s[j] > tmax) tmax = s[j];
                }
                if (tmax > mx[r]) {   /* a new maximum: rescale what was summed so far */
                    float corr = expf(mx[r] - tmax);
                    sum[r] *= corr;
                    vec_scale(ar, corr, dv);
                    mx[r] = tmax;
                }
                float l = 0.0f;
                for (int j = 0; j < n; j++) {
                    float e = expf(s[j] - mx[r]);
                    l += e;
                    if (vh) vec_axpy_f16(ar, e, (const uint16_t *)V + (size_t)j * vs, dv);
                    else vec_axpy(ar, e, (const float *)V + (size_t)j * vs, dv);
                }
                sum[r] += l;
            }
        }
    }
    for (int t = t0; t < t1; t++)
        for (int h = h0; h < h1; h++) {
            const int r = (t - t0) * nh + (h - h0);
            float *o = a->out + (size_t)t * a->o_stride + (size_t)h * a->o_hstride;
            const float inv = 1.0f / sum[r], *ar = acc + (size_t)r * dv;
            for (int i = 0; i < dv; i++) o[i] = ar[i] * inv;
        }
}

static void attn_slots(void *ud, int64_t b, int64_t e) {
    const attn_job *J = ud;
    float *ws = J->scratch + (size_t)b * J->per;   /* one slot's scratch serves this whole call */
    for (int64_t slot = b; slot < e; slot++)
        for (int u = (int)slot; u < J->units; u += J->nt) run_unit(J, u, ws);
}

void attention(const attn_args *a, float *scratch) {
    attn_job J = {.a = a, .scratch = scratch, .nt = seek_threads()};
    J.per = attention_scratch(a->n_head, a->n_kv_head, a->k.dim, a->v.dim, 1);
    J.group = a->n_head / a->n_kv_head;
    J.QT = a->T < QT_MAX ? a->T : QT_MAX;
    J.hb = J.group;
    while (J.QT * J.hb > RMAX && J.hb > 1) J.hb = (J.hb + 1) / 2;
    for (;;) {   /* enough units to keep every thread busy */
        J.n_qt = (a->T + J.QT - 1) / J.QT;
        J.n_hb = (J.group + J.hb - 1) / J.hb;
        J.units = J.n_qt * a->n_kv_head * J.n_hb;
        if (J.units >= J.nt) break;
        if (J.hb > 1) J.hb = (J.hb + 1) / 2;
        else if (J.QT > 1) J.QT = (J.QT + 1) / 2;
        else break;
    }
    if (J.nt > J.units) J.nt = J.units;
    par_for(J.nt, attn_slots, &J);
}

/* ------------------------------------------------------------------------------------ */

void attention_ref(const attn_args *a) {
    const int group = a->n_head / a->n_kv_head, dk = a->k.dim, dv = a->v.dim;
    double *att = malloc(sizeof(double) * (size_t)(a->pos0 + a->T));
    if (!att) return;
    for (int t = 0; t < a->T; t++)
        for (int h = 0; h < a->n_head; h++) {
            const int g = h / group, vis = a->pos0 + t + 1;
            const float *qv = a->q + (size_t)t * a->q_stride + (size_t)h * a->q_hstride;
            double mx = -INFINITY, sum = 0;
            for (int p = 0; p < vis; p++) {
                const float *k = (const float *)(a->k.data + (size_t)p * a->k.row_bytes) + a->k.col0 + g * a->k.head_stride;
                double s = 0;
                for (int i = 0; i < dk; i++) s += (double)qv[i] * k[i];
                att[p] = s * a->scale;
                if (att[p] > mx) mx = att[p];
            }
            for (int p = 0; p < vis; p++) sum += att[p] = exp(att[p] - mx);
            float *o = a->out + (size_t)t * a->o_stride + (size_t)h * a->o_hstride;
            const attn_src *vs = a->v_in_k ? &a->k : &a->v;
            for (int i = 0; i < dv; i++) {
                double s = 0;
                for (int p = 0; p < vis; p++)
                    s += att[p] * ((const float *)(vs->data + (size_t)p * vs->row_bytes))[vs->col0 + g * vs->head_stride + i];
                o[i] = (float)(s / sum);
            }
        }
    free(att);
}
