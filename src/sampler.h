/* sampler.h - choose the next token from the model's logits.
 *
 * The chain, in this order (llama.cpp's default order and semantics):
 *
 *   1. penalties   over the last `penalty_last_n` tokens passed to sampler_accept:
 *                  for each token t seen c(t) > 0 times in that window
 *                    l[t] = l[t] > 0 ? l[t] / repeat_penalty : l[t] * repeat_penalty
 *                    l[t] -= c(t) * freq_penalty + presence_penalty
 *   2. top-k       keep the k largest logits                       (k <= 0: off)
 *   3. top-p       keep the smallest prefix, by descending probability
 *                  softmax(l) over the survivors, whose mass >= p   (p >= 1: off)
 *   4. min-p       keep tokens with p(t) >= min_p * p(most likely),
 *                  i.e. l[t] >= l_max + log(min_p)                  (min_p <= 0: off)
 *   5. temperature l /= T; T <= 0 means greedy: the largest logit after the
 *                  penalties wins (lowest id on ties), steps 2-4 cannot change that
 *   6. draw        from softmax(l) over the survivors with the sampler's own PRNG
 *
 * top-k/top-p/min-p see the logits *before* temperature (as in llama.cpp), so
 * temperature changes how the survivors are weighted, not which survive.
 *
 * Reproducibility: the PRNG is xoshiro256** seeded from `seed` with splitmix64;
 * nothing depends on rand(), the time or the thread count, and ties are broken by
 * token id. Given the same logits and the same seed, the same tokens come out.
 */
#ifndef SEEK_SAMPLER_H
#define SEEK_SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    float temperature;      /* <= 0: greedy */
    int32_t top_k;          /* <= 0: off */
    float top_p;            /* >= 1: off */
    float min_p;            /* <= 0: off */
    float repeat_penalty;   /* 1: off */
    float freq_penalty;     /* 0: off */
    float presence_penalty; /* 0: off */
    int32_t penalty_last_n; /* window of past tokens the penalties see; 0 off, -1 all */
    uint64_t seed;
} sampler_params;

/* Defaults: temperature 0.6, top-p 0.95 (DeepSeek's recommendation for R1 and
 * its distills), top-k 40, min-p 0.05, penalties off (window 64), seed 0. */
sampler_params sampler_defaults(void);

/* One candidate token after the chain: its logit after penalties and
 * temperature, and its probability among the survivors. */
typedef struct {
    int32_t id;
    float logit;
    float p;
} sampler_cand;

typedef struct sampler sampler;

/* A sampler for a vocabulary of n_vocab tokens. NULL on error (bad parameters:
 * NaN, top_p or min_p outside [0, 1], n_vocab < 1, negative penalties). */
sampler *sampler_new(const sampler_params *p, int32_t n_vocab);
void sampler_free(sampler *s);

/* Forget the token history and restart the PRNG from the seed. */
void sampler_reset(sampler *s);
/* Restart the PRNG from a new seed (history kept). */
void sampler_seed(sampler *s, uint64_t seed);

/* Record a token in the history the penalties look at. Call it for every
 * generated token; callers that want the prompt penalised (llama-cli does)
 * also call it for the prompt's tokens. Returns 0, or -1 (bad id / no memory). */
int sampler_accept(sampler *s, int32_t id);

/* Pick the next token from logits[0..n_vocab). The logits are not modified.
 * NaN logits count as -inf. Returns the id, or -1 if no logit is finite. */
int32_t sampler_sample(sampler *s, const float *logits);

/* Run steps 1-5 only and return the survivors, sorted by descending
 * probability (lowest id first on ties), in an array owned by the sampler and
 * valid until its next call. For tests and for showing probabilities.
 * Returns the count (>= 1), or -1 if no logit is finite. */
int sampler_candidates(sampler *s, const float *logits, const sampler_cand **out);

/* The PRNG on its own (xoshiro256**), for tests and other seeded choices. */
typedef struct { uint64_t s[4]; } seek_rng;
void seek_rng_seed(seek_rng *r, uint64_t seed);
uint64_t seek_rng_next(seek_rng *r);
double seek_rng_uniform(seek_rng *r); /* in [0, 1), 53 random bits */

#endif
