/* test_sampler.c - sampling chain, seeded reproducibility, stop tokens/strings.
 *
 * Expected values are computed here independently, in double precision, from
 * the definitions in sampler.h (softmax over all tokens, sorted prefixes). */
#include "test.h"

#include "sampler.h"
#include "stop.h"
#include "strbuf.h"
#include "util.h"

#define V 1000

static void random_logits(seek_rng *r, float *l, int n, float scale) {
    for (int i = 0; i < n; i++) l[i] = (float)((seek_rng_uniform(r) * 2 - 1) * scale);
}

static sampler_params plain(void) { /* temperature 1, every filter off */
    sampler_params p = sampler_defaults();
    p.temperature = 1;
    p.top_k = 0;
    p.top_p = 1;
    p.min_p = 0;
    return p;
}

/* Softmax over all n logits, in double. */
static void softmax_d(const float *l, int n, double *q) {
    double m = l[0], z = 0;
    for (int i = 1; i < n; i++) m = l[i] > m ? l[i] : m;
    for (int i = 0; i < n; i++) z += (q[i] = exp((double)l[i] - m));
    for (int i = 0; i < n; i++) q[i] /= z;
}

static int by_prob_desc(const void *a, const void *b, void *ctx) {
    const double *q = ctx;
    int x = *(const int *)a, y = *(const int *)b;
    if (q[x] != q[y]) return q[x] > q[y] ? -1 : 1;
    return x - y;
}

TEST(seeded_runs_are_identical) {
    static float l[V];
    seek_rng r;
    seek_rng_seed(&r, 1);
    random_logits(&r, l, V, 3);
    sampler_params p = sampler_defaults();
    p.seed = 1234;
    p.top_k = 0;
    p.temperature = 1.0f;
    sampler *a = sampler_new(&p, V), *b = sampler_new(&p, V);
    p.seed = 1235;
    sampler *c = sampler_new(&p, V);
    CHECK(a && b && c);
    int32_t seq[300];
    int differ = 0;
    for (int i = 0; i < 300; i++) {
        seq[i] = sampler_sample(a, l);
        int32_t y = sampler_sample(b, l), z = sampler_sample(c, l);
        CHECK(seq[i] >= 0 && seq[i] < V);
        CHECK(seq[i] == y);
        differ += seq[i] != z;
    }
    CHECK(differ > 100); /* another seed gives another sequence */
    sampler_reset(a);    /* reset restarts from the seed */
    for (int i = 0; i < 300; i++) CHECK(sampler_sample(a, l) == seq[i]);
    sampler_free(a);
    sampler_free(b);
    sampler_free(c);
}

TEST(rng_known_values) {
    /* xoshiro256** seeded by splitmix64(0): the first splitmix64 output for
     * seed 0 is 0xe220a8397b1dcdaf (the published reference value). */
    seek_rng r;
    seek_rng_seed(&r, 0);
    CHECK(r.s[0] == 0xe220a8397b1dcdafull);
    double lo = 1, hi = 0;
    for (int i = 0; i < 10000; i++) {
        double u = seek_rng_uniform(&r);
        CHECK(u >= 0 && u < 1);
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    CHECK(lo < 0.001 && hi > 0.999);
}

TEST(greedy_and_temperature_to_zero) {
    static float l[V];
    seek_rng r;
    seek_rng_seed(&r, 2);
    sampler_params p = plain();
    p.temperature = 0;
    sampler *g = sampler_new(&p, V);
    p.temperature = 1e-6f;
    p.top_k = 40;
    p.top_p = 0.9f;
    p.min_p = 0.05f;
    sampler *t = sampler_new(&p, V);
    CHECK(g && t);
    for (int trial = 0; trial < 200; trial++) {
        random_logits(&r, l, V, 5);
        int best = 0, second = -1;
        for (int i = 1; i < V; i++)
            if (l[i] > l[best]) second = best, best = i;
            else if (second < 0 || l[i] > l[second]) second = i;
        CHECK(sampler_sample(g, l) == best);
        /* exp(-gap / T) underflows to 0 for gaps >= 1e-3 */
        if (l[best] - l[second] >= 1e-3f) CHECK(sampler_sample(t, l) == best);
    }
    /* ties: the lowest id wins */
    for (int i = 0; i < V; i++) l[i] = 0;
    l[17] = l[500] = 3;
    CHECK(sampler_sample(g, l) == 17);
    sampler_free(g);
    sampler_free(t);
}

TEST(top_k_keeps_the_k_largest) {
    static float l[V];
    static int idx[V];
    static double q[V];
    seek_rng r;
    seek_rng_seed(&r, 3);
    int ks[] = {1, 2, 7, 40, 999, 1000, 5000};
    for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++) {
        random_logits(&r, l, V, 4);
        sampler_params p = plain();
        p.top_k = ks[ki];
        sampler *s = sampler_new(&p, V);
        CHECK(s);
        const sampler_cand *c;
        int n = sampler_candidates(s, l, &c);
        int k = ks[ki] < V ? ks[ki] : V;
        CHECK(n == k);
        softmax_d(l, V, q);
        for (int i = 0; i < V; i++) idx[i] = i;
        qsort_r(idx, V, sizeof *idx, by_prob_desc, q);
        double mass = 0;
        for (int i = 0; i < k; i++) mass += q[idx[i]];
        for (int i = 0; i < k; i++) {
            CHECK(c[i].id == idx[i]);
            CHECK_NEAR(c[i].p, q[idx[i]] / mass, 1e-5);
        }
        sampler_free(s);
    }
}

TEST(top_p_keeps_smallest_set_with_mass_p) {
    /* constructed: probabilities 0.4 0.3 0.2 0.1 */
    float l4[4] = {logf(0.2f), logf(0.4f), logf(0.1f), logf(0.3f)};
    struct { float p; int n; } cases[] = {{0.3f, 1}, {0.65f, 2}, {0.75f, 3}, {0.95f, 4}, {0.0f, 1}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sampler_params p = plain();
        p.top_p = cases[i].p;
        sampler *s = sampler_new(&p, 4);
        const sampler_cand *c;
        CHECK(s && sampler_candidates(s, l4, &c) == cases[i].n);
        CHECK(c[0].id == 1);
        sampler_free(s);
    }
    /* random: the kept prefix has mass >= p, and without its last token < p */
    /* (vocabularies above 1024 take the partial-sort path, peaked and flat) */
    enum { BIG = 5000 };
    static float l[BIG];
    static double q[BIG];
    static int idx[BIG];
    seek_rng r;
    seek_rng_seed(&r, 4);
    const float scales[] = {2, 8, 30, 0.1f};
    for (int trial = 0; trial < 80; trial++) {
        int nv = trial < 40 ? V : BIG;
        random_logits(&r, l, nv, scales[trial % 4]);
        float tp = (float)(0.05 + 0.9 * seek_rng_uniform(&r));
        sampler_params p = plain();
        p.top_p = tp;
        sampler *s = sampler_new(&p, nv);
        const sampler_cand *c;
        int n = sampler_candidates(s, l, &c);
        CHECK(n >= 1);
        softmax_d(l, nv, q);
        for (int i = 0; i < nv; i++) idx[i] = i;
        qsort_r(idx, nv, sizeof *idx, by_prob_desc, q);
        double mass = 0;
        for (int i = 0; i < n; i++) {
            CHECK(c[i].id == idx[i]);
            mass += q[idx[i]];
        }
        CHECK_MSG(mass >= tp - 1e-6, "mass %g < p %g", mass, tp);
        CHECK_MSG(mass - q[idx[n - 1]] < tp + 1e-6, "set not minimal");
        sampler_free(s);
    }
}

TEST(min_p_cutoff) {
    static float l[V];
    static double q[V];
    seek_rng r;
    seek_rng_seed(&r, 5);
    for (int trial = 0; trial < 50; trial++) {
        random_logits(&r, l, V, 6);
        float mp = (float)(0.01 + 0.5 * seek_rng_uniform(&r));
        sampler_params p = plain();
        p.min_p = mp;
        sampler *s = sampler_new(&p, V);
        const sampler_cand *c;
        int n = sampler_candidates(s, l, &c);
        softmax_d(l, V, q);
        double qmax = 0;
        for (int i = 0; i < V; i++) qmax = q[i] > qmax ? q[i] : qmax;
        int expect = 0;
        for (int i = 0; i < V; i++) {
            /* skip tokens within rounding of the cut */
            double ratio = q[i] / qmax;
            if (fabs(ratio - mp) < 1e-5) goto next;
            expect += ratio >= mp;
        }
        CHECK_MSG(n == expect, "kept %d, expected %d", n, expect);
        for (int i = 0; i < n; i++) CHECK(q[c[i].id] / qmax >= mp - 1e-5);
    next:
        sampler_free(s);
    }
}

/* Draw N tokens; every frequency must be within 5 standard deviations of q. */
static int freq_check(sampler *s, const float *l, int n, const double *q, int N) {
    int count[16] = {0};
    for (int i = 0; i < N; i++) {
        int t = sampler_sample(s, l);
        if (t < 0 || t >= n) return 0;
        count[t]++;
    }
    for (int i = 0; i < n; i++) {
        double f = (double)count[i] / N, sd = sqrt(q[i] * (1 - q[i]) / N);
        if (q[i] == 0 ? count[i] != 0 : fabs(f - q[i]) > 5 * sd + 1e-12) {
            printf("  token %d: frequency %g, expected %g (sd %g)\n", i, f, q[i], sd);
            return 0;
        }
    }
    return 1;
}

TEST(empirical_frequencies_match_softmax) {
    float l[6] = {1.0f, 0.5f, -0.3f, 2.0f, 0.0f, -1.5f};
    const float T = 0.8f;
    double q[6], m = -1e9, z = 0;
    for (int i = 0; i < 6; i++) m = fmax(m, l[i] / T);
    for (int i = 0; i < 6; i++) z += (q[i] = exp(l[i] / T - m));
    for (int i = 0; i < 6; i++) q[i] /= z;
    sampler_params p = plain();
    p.temperature = T;
    p.seed = 42;
    sampler *s = sampler_new(&p, 6);
    CHECK(s);
    CHECK(freq_check(s, l, 6, q, 200000));
    sampler_free(s);

    /* top-k 3 then temperature: only tokens 3, 0, 1, renormalised */
    double q3[6] = {0};
    z = 0;
    int keep[3] = {3, 0, 1};
    for (int i = 0; i < 3; i++) z += (q3[keep[i]] = exp(l[keep[i]] / T - m));
    for (int i = 0; i < 3; i++) q3[keep[i]] /= z;
    p.top_k = 3;
    p.seed = 7;
    s = sampler_new(&p, 6);
    CHECK(freq_check(s, l, 6, q3, 200000));
    sampler_free(s);
}

TEST(penalties_change_the_right_logits) {
    float l[8] = {2.0f, -1.0f, 0.5f, 3.0f, 0.0f, -2.0f, 1.0f, 4.0f};
    sampler_params p = plain();
    p.repeat_penalty = 1.5f;
    p.freq_penalty = 0.25f;
    p.presence_penalty = 0.5f;
    p.penalty_last_n = 4;
    sampler *s = sampler_new(&p, 8);
    CHECK(s);
    /* history 7 7 | 0 0 0 1 5 : only the last 4 (0 0 1 5) count */
    int32_t hist[] = {7, 7, 0, 0, 0, 1, 5};
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) CHECK(sampler_accept(s, hist[i]) == 0);
    float want[8];
    memcpy(want, l, sizeof l);
    want[0] = 2.0f / 1.5f - 2 * 0.25f - 0.5f;  /* seen twice in the window, positive */
    want[1] = -1.0f * 1.5f - 0.25f - 0.5f;     /* once, negative */
    want[5] = -2.0f * 1.5f - 0.25f - 0.5f;
    const sampler_cand *c;
    int n = sampler_candidates(s, l, &c);
    CHECK(n == 8);
    for (int i = 0; i < n; i++) CHECK_NEAR(c[i].logit, want[c[i].id], 1e-6);
    /* the logits passed in are untouched */
    CHECK(l[0] == 2.0f && l[7] == 4.0f);
    /* the window slides: after many new tokens, 0 is no longer penalised */
    for (int i = 0; i < 20; i++) sampler_accept(s, 4);
    n = sampler_candidates(s, l, &c);
    for (int i = 0; i < n; i++) {
        if (c[i].id == 0) CHECK_NEAR(c[i].logit, 2.0f, 1e-6);
        if (c[i].id == 4) CHECK_NEAR(c[i].logit, 0.0f * 1.5f - 4 * 0.25f - 0.5f, 1e-6);
    }
    sampler_free(s);

    /* whole-history window (-1) and off (0) */
    p.penalty_last_n = -1;
    s = sampler_new(&p, 8);
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) sampler_accept(s, hist[i]);
    n = sampler_candidates(s, l, &c);
    for (int i = 0; i < n; i++)
        if (c[i].id == 7) CHECK_NEAR(c[i].logit, 4.0f / 1.5f - 2 * 0.25f - 0.5f, 1e-6);
    sampler_free(s);
    p.penalty_last_n = 0;
    s = sampler_new(&p, 8);
    for (size_t i = 0; i < sizeof hist / sizeof hist[0]; i++) sampler_accept(s, hist[i]);
    n = sampler_candidates(s, l, &c);
    for (int i = 0; i < n; i++) CHECK_NEAR(c[i].logit, l[c[i].id], 1e-6);
    sampler_free(s);
}

TEST(bad_input) {
    sampler_params p = plain();
    p.top_p = 1.5f;
    CHECK(sampler_new(&p, 10) == NULL);
    p = plain();
    p.temperature = NAN;
    CHECK(sampler_new(&p, 10) == NULL);
    p = plain();
    CHECK(sampler_new(&p, 0) == NULL);
    p.repeat_penalty = 0;
    CHECK(sampler_new(&p, 10) == NULL);
    p = plain();
    sampler *s = sampler_new(&p, 4);
    CHECK(sampler_accept(s, 4) == -1 && sampler_accept(s, -1) == -1);
    float l[4] = {NAN, -INFINITY, NAN, -INFINITY};
    CHECK(sampler_sample(s, l) == -1);
    CHECK(strstr(seek_last_error(), "no finite logit"));
    float l2[4] = {NAN, -INFINITY, 1.0f, -INFINITY}; /* NaN is never chosen */
    for (int i = 0; i < 20; i++) CHECK(sampler_sample(s, l2) == 2);
    sampler_free(s);
}

/* ---- stop tokens and stop strings ---- */

TEST(stop_tokens_set) {
    stop_tokens st = {0};
    CHECK(stop_tokens_add(&st, 5) == 0 && stop_tokens_add(&st, 9) == 0 && stop_tokens_add(&st, 5) == 0);
    CHECK(stop_tokens_add(&st, -1) == 0);
    CHECK(st.n == 2 && stop_tokens_has(&st, 9) && !stop_tokens_has(&st, 6) && !stop_tokens_has(&st, -1));
    stop_tokens_free(&st);
}

/* The shown text must be exactly the text before the first stop string, at
 * every way of cutting the stream, and never run ahead of it. */
static const char *ref_cut(const char *text, const char *const *stops, int n, size_t *len, int *stopped) {
    size_t L = strlen(text);
    for (size_t i = 0; i < L; i++)
        for (int k = 0; k < n; k++)
            if (!strncmp(text + i, stops[k], strlen(stops[k]))) {
                *len = i;
                *stopped = 1;
                return text;
            }
    *len = L;
    *stopped = 0;
    return text;
}

static int stream_check(const char *text, const char *const *stops, int n, size_t cut1, size_t cut2) {
    size_t want_len;
    int want_stop;
    ref_cut(text, stops, n, &want_len, &want_stop);
    stop_matcher m;
    strbuf out = {0};
    if (stop_init(&m, stops, (size_t)n)) return 0;
    size_t L = strlen(text), cuts[4] = {0, cut1, cut2, L};
    int stopped = 0;
    for (int i = 0; i < 3 && !stopped; i++) {
        if (cuts[i + 1] < cuts[i]) continue;
        int rc = stop_feed(&m, text + cuts[i], cuts[i + 1] - cuts[i], &out);
        if (rc < 0) return 0;
        stopped = rc;
        if (out.n > want_len || (out.n && memcmp(out.s, text, out.n))) return 0; /* ran ahead */
    }
    stop_flush(&m, &out);
    int ok = stopped == want_stop && out.n == want_len && (!out.n || !memcmp(out.s, text, out.n));
    if (!ok) printf("  \"%s\" cut at %zu,%zu: got \"%.*s\" stopped=%d\n", text, cut1, cut2, (int)out.n, out.s ? out.s : "", stopped);
    sb_free(&out);
    stop_free(&m);
    return ok;
}

TEST(stop_strings_streaming) {
    const char *stops[] = {"User:", "</s>", "abcd", "c", "\xe4\xbd\xa0\xe5\xa5\xbd"};
    const char *texts[] = {
        "Hello User: more", "Use Us U User", "no stop here </ <", "xabcd", "xabce", "xab",
        "caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd!", "</s", "Us", "", "User:", "tail </", "ab",
    };
    for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
        size_t L = strlen(texts[t]);
        for (size_t a = 0; a <= L; a++)
            for (size_t b = a; b <= L; b++) CHECK(stream_check(texts[t], stops, 5, a, b));
    }
    /* byte by byte */
    stop_matcher m;
    strbuf out = {0};
    CHECK(stop_init(&m, stops, 2) == 0);
    const char *t = "one </ two </s> three";
    int rc = 0;
    for (size_t i = 0; t[i] && !rc; i++) rc = stop_feed(&m, t + i, 1, &out);
    CHECK(rc == 1);
    CHECK_STR(out.s, "one </ two ");
    CHECK(stop_feed(&m, "more", 4, &out) == 1); /* ignored after the stop */
    CHECK_STR(out.s, "one </ two ");
    stop_reset(&m);
    sb_clear(&out);
    CHECK(stop_feed(&m, "again Us", 8, &out) == 0);
    CHECK_STR(out.s, "again "); /* "Us" held back */
    CHECK(stop_flush(&m, &out) == 0);
    CHECK_STR(out.s, "again Us");
    stop_free(&m);
    /* no stop strings: text passes straight through */
    CHECK(stop_init(&m, NULL, 0) == 0);
    sb_clear(&out);
    CHECK(stop_feed(&m, "abc", 3, &out) == 0);
    CHECK_STR(out.s, "abc");
    stop_free(&m);
    sb_free(&out);
}

int main(void) {
    RUN(seeded_runs_are_identical);
    RUN(rng_known_values);
    RUN(greedy_and_temperature_to_zero);
    RUN(top_k_keeps_the_k_largest);
    RUN(top_p_keeps_smallest_set_with_mass_p);
    RUN(min_p_cutoff);
    RUN(empirical_frequencies_match_softmax);
    RUN(penalties_change_the_right_logits);
    RUN(bad_input);
    RUN(stop_tokens_set);
    RUN(stop_strings_streaming);
    return test_summary();
}
