/* kquants_stub.c - placeholder until the K-quant kernels (kquants*.c) land: no entries,
 * so Q2_K..Q6_K use matmul_ref. Delete this file when kquants.c is merged. */
#include "kern_impl.h"

const kern_entry *kern_kquant(seek_type t, kern_level l) {
    (void)t, (void)l;
    return NULL;
}
