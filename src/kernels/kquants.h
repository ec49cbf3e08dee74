/* kquants.h - kernels for the K-quant weight types Q2_K, Q3_K, Q4_K, Q5_K and Q6_K.
 *
 * Each type's activations are Q8_K (256 int8 values, a float scale and the sums of each
 * group of 16 quants); the tile kernels work on the quantized blocks directly, with exact
 * integer arithmetic inside each 256-value super-block and float arithmetic across them.
 * Every level (scalar, AVX2, AVX-512) computes the same integers and the same float
 * operations in the same order, so all levels give the same bits (see kquants_impl.h).
 * docs/kernels-kquants.md has the layouts, the loop orders and measured speeds.
 */
#ifndef SEEK_KQUANTS_H
#define SEEK_KQUANTS_H

#include "kernels.h"

/* The entry for weights of type t (Q2_K..Q6_K) at level l, or NULL for any other type or
 * level. The caller checks that the CPU supports l. */
const kern_entry *kern_kquant(seek_type t, kern_level l);
/* Its packed form (kernels.h), or NULL: Q4_K, Q5_K and Q6_K at AVX-512 (kquants_packed*.c). */
const kern_packed *kern_kquant_packed(seek_type t, kern_level l);

#endif
