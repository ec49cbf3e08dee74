/* kquants.c - the table of K-quant kernels: one entry per (type, CPU level). */
#include "kquants.h"

#include "kquants_impl.h"

/* Q8_K activations in the plain layout (act_row_bytes left NULL where the struct has it) */
#define KQ_ENTRY(t, level) {.act_type = SEEK_TYPE_Q8_K, .quant = kq_quant_q8k_##level, .mm = kq_mm_##t##_##level}

#if defined(__x86_64__)
#define KQ_ROW(T, t) \
    [SEEK_TYPE_##T] = {KQ_ENTRY(t, scalar), KQ_ENTRY(t, avx2), KQ_ENTRY(t, avx512)}
#else
#define KQ_ROW(T, t) [SEEK_TYPE_##T] = {KQ_ENTRY(t, scalar)}
#endif

static const kern_entry table[SEEK_TYPE_Q6_K + 1][KERN_LEVELS] = {
    KQ_ROW(Q2_K, q2k), KQ_ROW(Q3_K, q3k), KQ_ROW(Q4_K, q4k), KQ_ROW(Q5_K, q5k), KQ_ROW(Q6_K, q6k),
};

const kern_entry *kern_kquant(seek_type t, kern_level l) {
    if (t < SEEK_TYPE_Q2_K || t > SEEK_TYPE_Q6_K || (int)l < 0 || l >= KERN_LEVELS) return NULL;
    const kern_entry *e = &table[t][l];
    return e->mm ? e : NULL;
}

#if defined(__x86_64__)
/* AVX-512 (with AMX tiles for prefill where the CPU has them: kquants_amx.c) */
static const kern_packed q4k_packed = {kq_packed_bytes, kq_pack_q4k, kq_mm_q4k_packed_amx, kq_dec2_q4k_packed_avx512};
static const kern_packed q5k_packed = {kq_packed_bytes_q5k, kq_pack_q5k, kq_mm_q5k_packed_amx, kq_dec2_q5k_packed_avx512};
static const kern_packed q6k_packed = {kq_packed_bytes_q6k, kq_pack_q6k, kq_mm_q6k_packed_amx, kq_dec2_q6k_packed_avx512};
/* AVX2: the same layout, packed a dword at a time (the transposing packer is AVX-512) */
static const kern_packed q4k_packed_avx2 = {kq_packed_bytes, kq_pack_q4k_ref, kq_mm_q4k_packed_avx2, NULL};
static const kern_packed q5k_packed_avx2 = {kq_packed_bytes_q5k, kq_pack_q5k_ref, kq_mm_q5k_packed_avx2, NULL};
static const kern_packed q6k_packed_avx2 = {kq_packed_bytes_q6k, kq_pack_q6k_ref, kq_mm_q6k_packed_avx2, NULL};
#endif

const kern_packed *kern_kquant_packed(seek_type t, kern_level l) {
#if defined(__x86_64__)
    if (l == KERN_AVX512 && t == SEEK_TYPE_Q4_K) return &q4k_packed;
    if (l == KERN_AVX2 && t == SEEK_TYPE_Q4_K) return &q4k_packed_avx2;
    if (l == KERN_AVX2 && t == SEEK_TYPE_Q5_K) return &q5k_packed_avx2;
    if (l == KERN_AVX2 && t == SEEK_TYPE_Q6_K) return &q6k_packed_avx2;
    if (l == KERN_AVX512 && t == SEEK_TYPE_Q5_K) return &q5k_packed;
    if (l == KERN_AVX512 && t == SEEK_TYPE_Q6_K) return &q6k_packed;
#endif
    (void)t, (void)l;
    return NULL;
}
