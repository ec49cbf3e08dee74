/* kquants.c - the table of K-quant kernels: one entry per (type, CPU level). */
#include "kquants.h"

#include "kquants_impl.h"

#if defined(__x86_64__)
#define KQ_ROW(T, t) \
    [SEEK_TYPE_##T] = {{SEEK_TYPE_Q8_K, kq_quant_q8k_scalar, kq_mm_##t##_scalar}, \
                       {SEEK_TYPE_Q8_K, kq_quant_q8k_avx2, kq_mm_##t##_avx2}, \
                       {SEEK_TYPE_Q8_K, kq_quant_q8k_avx512, kq_mm_##t##_avx512}}
#else
#define KQ_ROW(T, t) [SEEK_TYPE_##T] = {{SEEK_TYPE_Q8_K, kq_quant_q8k_scalar, kq_mm_##t##_scalar}}
#endif

static const kern_entry table[SEEK_TYPE_Q6_K + 1][KERN_LEVELS] = {
    KQ_ROW(Q2_K, q2k), KQ_ROW(Q3_K, q3k), KQ_ROW(Q4_K, q4k), KQ_ROW(Q5_K, q5k), KQ_ROW(Q6_K, q6k),
};

const kern_entry *kern_kquant(seek_type t, kern_level l) {
    if (t < SEEK_TYPE_Q2_K || t > SEEK_TYPE_Q6_K || (int)l < 0 || l >= KERN_LEVELS) return NULL;
    const kern_entry *e = &table[t][l];
    return e->mm ? e : NULL;
}
