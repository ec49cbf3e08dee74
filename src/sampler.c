/* sampler.c - penalties, top-k, top-p, min-p, temperature and a seeded draw.
 *
 * The semantics are described in sampler.h. Shapes: logits [V] (V = n_vocab),
 * the candidate workspace cands [V], counts [V] (penalty counts, kept zero
 * between calls). A call costs O(V) plus O(V log k) for top-k, or a sort of
 * the tokens that survive min-p when top-k is off.
 */
#include "sampler.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* top-p without top-k first tries the best this many candidates (see below). */
#define TOP_P_FIRST 1024

struct sampler {
    sampler_params p;
    int32_t n_vocab;
    seek_rng rng;
    int32_t *hist;        /* tokens passed to sampler_accept (the last ones) */
    size_t n_hist, cap_hist;
    sampler_cand *cands;  /* [V] workspace */
    int32_t *counts;      /* [V] occurrences in the penalty window; all zero between calls */
};

/* ---------------------------------------------------------------------------
 * PRNG: splitmix64 to expand the seed, xoshiro256** to generate. */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void seek_rng_seed(seek_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t seek_rng_next(seek_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double seek_rng_uniform(seek_rng *r) { return (double)(seek_rng_next(r) >> 11) * 0x1.0p-53; }

/* ---------------------------------------------------------------------------
 * Construction */

sampler_params sampler_defaults(void) {
    sampler_params p = {
        .temperature = 0.6f, .top_k = 40, .top_p = 0.95f, .min_p = 0.05f,
        .repeat_penalty = 1.0f, .freq_penalty = 0.0f, .presence_penalty = 0.0f,
        .penalty_last_n = 64, .seed = 0,
    };
    return p;
}

sampler *sampler_new(const sampler_params *p, int32_t n_vocab) {
    if (n_vocab < 1) return seek_error("sampler: vocabulary size %d", (int)n_vocab), NULL;
    if (isnan(p->temperature) || isnan(p->top_p) || isnan(p->min_p) || isnan(p->repeat_penalty) ||
        isnan(p->freq_penalty) || isnan(p->presence_penalty))
        return seek_error("sampler: a parameter is NaN"), NULL;
    if (p->top_p < 0 || p->top_p > 1) return seek_error("sampler: top-p %g is not in [0, 1]", p->top_p), NULL;
    if (p->min_p < 0 || p->min_p > 1) return seek_error("sampler: min-p %g is not in [0, 1]", p->min_p), NULL;
    if (!(p->repeat_penalty > 0) || isinf(p->repeat_penalty))
        return seek_error("sampler: repeat penalty %g must be > 0 (1 = off)", p->repeat_penalty), NULL;
    if (p->penalty_last_n < -1) return seek_error("sampler: penalty window %d", (int)p->penalty_last_n), NULL;
    sampler *s = seek_calloc(1, sizeof *s);
    if (!s) return NULL;
    s->p = *p;
    s->n_vocab = n_vocab;
    s->cands = seek_malloc((size_t)n_vocab * sizeof *s->cands);
    s->counts = seek_calloc((size_t)n_vocab, sizeof *s->counts);
    if (!s->cands || !s->counts) {
        sampler_free(s);
        return NULL;
    }
    seek_rng_seed(&s->rng, p->seed);
    return s;
}

void sampler_free(sampler *s) {
    if (!s) return;
    free(s->hist);
    free(s->cands);
    free(s->counts);
    free(s);
}

void sampler_reset(sampler *s) {
    s->n_hist = 0;
    seek_rng_seed(&s->rng, s->p.seed);
}

void sampler_seed(sampler *s, uint64_t seed) {
    s->p.seed = seed;
    seek_rng_seed(&s->rng, seed);
}

int sampler_accept(sampler *s, int32_t id) {
    if (id < 0 || id >= s->n_vocab) return seek_error("sampler: token id %d out of range", (int)id);
    if (s->p.penalty_last_n == 0) return 0;
    /* Keep at most 2 windows, then slide: amortised O(1) per token. */
    if (s->p.penalty_last_n > 0 && s->n_hist >= 2 * (size_t)s->p.penalty_last_n) {
        size_t keep = (size_t)s->p.penalty_last_n - 1;
        memmove(s->hist, s->hist + s->n_hist - keep, keep * sizeof *s->hist);
        s->n_hist = keep;
    }
    if (seek_reserve(&s->hist, &s->cap_hist, s->n_hist + 1, sizeof *s->hist, 64)) return -1;
    s->hist[s->n_hist++] = id;
    return 0;
}

/* ---------------------------------------------------------------------------
 * The chain */

/* Descending logit, then ascending id: a total order, so results never depend
 * on the sort algorithm. */
static int cand_cmp(const void *a, const void *b) {
    const sampler_cand *x = a, *y = b;
    if (x->logit > y->logit) return -1;
    if (x->logit < y->logit) return 1;
    return (x->id > y->id) - (x->id < y->id);
}
static inline int cand_before(const sampler_cand *x, const sampler_cand *y) { return cand_cmp(x, y) < 0; }

/* Step 1: copy logits into cands with the penalties applied (NaN -> -inf). */
static void apply_penalties(sampler *s, const float *logits) {
    int32_t V = s->n_vocab;
    for (int32_t i = 0; i < V; i++) {
        float l = logits[i];
        s->cands[i] = (sampler_cand){.id = i, .logit = isnan(l) ? -INFINITY : l, .p = 0};
    }
    const sampler_params *p = &s->p;
    if (p->penalty_last_n == 0 || s->n_hist == 0 ||
        (p->repeat_penalty == 1.0f && p->freq_penalty == 0.0f && p->presence_penalty == 0.0f))
        return;
    size_t n = s->n_hist, start = 0;
    if (p->penalty_last_n > 0 && n > (size_t)p->penalty_last_n) start = n - (size_t)p->penalty_last_n;
    for (size_t i = start; i < n; i++) s->counts[s->hist[i]]++;
    for (size_t i = start; i < n; i++) {
        int32_t t = s->hist[i];
        int32_t c = s->counts[t];
        if (c == 0) continue; /* already applied */
        float *l = &s->cands[t].logit;
        if (*l > 0) *l /= p->repeat_penalty;
        else *l *= p->repeat_penalty;
        *l -= (float)c * p->freq_penalty + p->presence_penalty;
        s->counts[t] = 0;
    }
}

/* Step 2: move the k best candidates to the front, sorted. A min-heap of k
 * over all V: O(V log k). */
static void heap_sift(sampler_cand *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        /* the heap's root is the *worst* candidate kept so far */
        if (l < n && cand_before(&h[m], &h[l])) m = l;
        if (r < n && cand_before(&h[m], &h[r])) m = r;
        if (m == i) return;
        sampler_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static size_t top_k(sampler_cand *c, size_t n, size_t k) {
    for (size_t i = k / 2; i-- > 0;) heap_sift(c, k, i);
    for (size_t i = k; i < n; i++) {
        if (cand_before(&c[i], &c[0])) { /* swap: c stays a permutation */
            sampler_cand t = c[0];
            c[0] = c[i];
            c[i] = t;
            heap_sift(c, k, 0);
        }
    }
    qsort(c, k, sizeof *c, cand_cmp);
    return k;
}

int sampler_candidates(sampler *s, const float *logits, const sampler_cand **out) {
    const sampler_params *p = &s->p;
    sampler_cand *c = s->cands;
    size_t n = (size_t)s->n_vocab;
    apply_penalties(s, logits);

    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (cand_before(&c[i], &c[best])) best = i;
    if (c[best].logit == -INFINITY) return seek_error("sampler: no finite logit"), -1;

    if (p->temperature <= 0) { /* greedy */
        c[0] = c[best];
        c[0].p = 1.0f;
        *out = c;
        return 1;
    }

    /* Drop -inf (masked) tokens, they can never be drawn. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].logit > -INFINITY) c[m++] = c[i];
    n = m;

    bool sorted = false;
    if (p->top_k > 0 && (size_t)p->top_k < n) {
        n = top_k(c, n, (size_t)p->top_k);
        sorted = true;
    }
    float lmax = c[0].logit;
    for (size_t i = 0; i < n; i++) lmax = fmaxf(lmax, c[i].logit);

    /* top-p normalises over the top-k survivors, so take the sum before min-p
     * removes anything. min-p and top-p each keep a prefix of the sorted
     * list; filtering by min-p first only shortens the sort. */
    double z = 0;
    if (p->top_p < 1)
        for (size_t i = 0; i < n; i++) z += exp((double)c[i].logit - lmax);
    if (p->min_p > 0) {
        float cut = lmax + logf(p->min_p);
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (c[i].logit >= cut) c[m++] = c[i];
        n = m; /* >= 1: the maximum always passes */
    }
    if (!sorted && p->top_p < 1 && n > TOP_P_FIRST) {
        /* The top-p prefix is usually short: sort only the best TOP_P_FIRST
         * if they already hold mass >= p (exact: they are the true prefix). */
        top_k(c, n, TOP_P_FIRST);
        double mass = 0;
        for (size_t i = 0; i < TOP_P_FIRST; i++) mass += exp((double)c[i].logit - lmax) / z;
        if (mass >= p->top_p) n = TOP_P_FIRST;
        else qsort(c + TOP_P_FIRST, n - TOP_P_FIRST, sizeof *c, cand_cmp);
        sorted = true;
    }
    if (!sorted) qsort(c, n, sizeof *c, cand_cmp);
    if (p->top_p < 1) {
        double cum = 0;
        for (size_t i = 0; i < n; i++) {
            cum += exp((double)c[i].logit - lmax) / z;
            if (cum >= p->top_p) {
                n = i + 1;
                break;
            }
        }
    }

    /* Temperature, then the survivors' probabilities. */
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        c[i].logit /= p->temperature;
        sum += exp((double)c[i].logit - c[0].logit);
    }
    for (size_t i = 0; i < n; i++) c[i].p = (float)(exp((double)c[i].logit - c[0].logit) / sum);
    *out = c;
    return (int)n;
}

int32_t sampler_sample(sampler *s, const float *logits) {
    const sampler_cand *c;
    int n = sampler_candidates(s, logits, &c);
    if (n < 0) return -1;
    if (n == 1) return c[0].id;
    /* Inverse CDF in double over unnormalised weights: exact and order-fixed. */
    double total = 0;
    for (int i = 0; i < n; i++) total += exp((double)c[i].logit - c[0].logit);
    double u = seek_rng_uniform(&s->rng) * total, cum = 0;
    for (int i = 0; i < n; i++) {
        cum += exp((double)c[i].logit - c[0].logit);
        if (u < cum) return c[i].id;
    }
    return c[n - 1].id; /* rounding at the very top */
}
