/* threads.h - a small pool of worker threads for data-parallel loops.
 *
 *   par_for(n, fn, ud): fn(ud, begin, end) over disjoint contiguous ranges that cover
 *   [0, n), claimed by the threads as they go (each from its own share first, then from
 *   the others'); returns when all are done. Which thread runs which range, and how many
 *   ranges there are, is not fixed.
 *
 * Work is split by index only, so a loop whose iterations are independent gives
 * bit-identical results for every thread count and split (matmul splits output rows).
 * The pool starts on first use with seek_threads() threads: SEEK_THREADS from the
 * environment, else the number of online CPUs. A par_for called from inside a
 * par_for runs serially.
 */
#ifndef SEEK_THREADS_H
#define SEEK_THREADS_H

#include <stdint.h>

typedef void (*par_fn)(void *ud, int64_t begin, int64_t end);

void par_for(int64_t n, par_fn fn, void *ud);
/* Threads used by par_for (>= 1); 1 inside a par_for, where nested calls run serially. */
int seek_threads(void);
/* Set it (before the first par_for; later calls restart the pool). n < 1: the default. */
void seek_set_threads(int n);

#endif
