/* profile.h - where the forward pass spends its time: matrix products and attention.
 *
 * SEEK_PROFILE=1 in the environment makes matmul_many() time every call and, at exit, print
 * to stderr: for calls whose items all have one token (decode), one line per kind of call
 * (number of items, type of the largest weight) with calls, MiB of weights read,
 * milliseconds and GB/s; for calls of several tokens (prompts), one line per type of the
 * largest weight with calls, GFLOP (2 x rows x columns x tokens), milliseconds and GFLOP/s;
 * then the time in attention, one token and several. Compare the GB/s with the streaming
 * probe of `seek bench` to see which products fall short of the memory wall, the GFLOP/s
 * with the kernels' rates (bench/kernels_bench), and the totals with the decode or prefill
 * time to see what is neither. Off (the default), it costs one branch per call. */
#ifndef SEEK_PROFILE_H
#define SEEK_PROFILE_H

#include <stdbool.h>

#include "ops.h"

bool prof_enabled(void);
double prof_now(void);   /* monotonic seconds */
/* Account a finished call of n items that took `seconds`. Thread-safe. */
void prof_matmul(const mm_item *items, int n, double seconds);
/* Account one attention over T query tokens begun at t0 = prof_start(): a layer's, all
 * sequences of the batch (llama) or one sequence's (MLA: with its absorbed products per head
 * and the naive order's copies, not its decompression products, which count as products).
 * Both do nothing when off. */
double prof_start(void);
void prof_attention(int T, double t0);

#endif
