/* adamw.c - AdamW with decoupled weight decay (Loshchilov & Hutter), global-norm gradient
 * clipping, and a linear warm-up + cosine learning-rate schedule.
 *
 * Weight decay applies to matrices (TK_MAT: projections, experts, embeddings) only, not to
 * norm weights; the MoE selection biases (TK_BIAS) are not optimised at all - the
 * aux-loss-free rule moves them (tm_update_bias).
 * Moments are float whatever `real` is, and updates are elementwise in a fixed order, so a
 * run resumed from a checkpoint continues bit for bit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"
#include "util.h"

int adamw_init(adamw_state *s, size_t n) {
    s->m = seek_calloc(n ? n : 1, sizeof(float));
    s->v = seek_calloc(n ? n : 1, sizeof(float));
    s->t = 0;
    if (!s->m || !s->v) { adamw_free(s); return -1; }
    return 0;
}

void adamw_free(adamw_state *s) {
    free(s->m);
    free(s->v);
    s->m = s->v = NULL;
}

/* warm-up from lr/warmup to lr over `warmup` steps, then cosine down to lr_min at `steps` */
float lr_at(const adamw_opts *o, int64_t step) {
    if (o->warmup > 0 && step < o->warmup) return o->lr * (float)(step + 1) / (float)o->warmup;
    if (o->steps <= o->warmup) return o->lr;
    double p = (double)(step - o->warmup) / (double)(o->steps - o->warmup);
    if (p > 1) p = 1;
    return (float)(o->lr_min + 0.5 * (o->lr - o->lr_min) * (1 + cos(M_PI * p)));
}

double adamw_step(adamw_state *s, tm_model *m, const adamw_opts *o, float lr) {
    double ss = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const tm_tensor *t = &m->tensors[i];
        if (t->kind == TK_BIAS) continue;
        const real *g = m->grads + t->off;
        for (size_t k = 0; k < t->n; k++) ss += (double)g[k] * g[k];
    }
    double norm = sqrt(ss);
    float gscale = (o->clip > 0 && norm > o->clip) ? (float)(o->clip / norm) : 1.0f;
    s->t++;
    const double bc1 = 1 - pow(o->beta1, (double)s->t), bc2 = 1 - pow(o->beta2, (double)s->t);
    for (int i = 0; i < m->n_tensors; i++) {
        const tm_tensor *t = &m->tensors[i];
        if (t->kind == TK_BIAS) continue;
        const float wd = t->kind == TK_MAT ? o->wd : 0.0f;
        real *p = m->params + t->off;
        const real *g = m->grads + t->off;
        float *mm = s->m + t->off, *vv = s->v + t->off;
        for (size_t k = 0; k < t->n; k++) {
            float gk = (float)g[k] * gscale;
            mm[k] = o->beta1 * mm[k] + (1 - o->beta1) * gk;
            vv[k] = o->beta2 * vv[k] + (1 - o->beta2) * gk * gk;
            float mh = (float)(mm[k] / bc1), vh = (float)(vv[k] / bc2);
            p[k] -= lr * (mh / (sqrtf(vh) + o->eps) + wd * (float)p[k]);
        }
    }
    return norm;
}
