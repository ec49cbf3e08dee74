/* kernels.c - the dispatch table: (weight type, CPU level) -> kern_entry.
 *
 *   F32 F16 BF16              float.c    activations F32 (BF16 with vdpbf16ps)
 *   Q8_0 Q4_0 Q5_0 IQ4_NL     legacy.c   activations Q8_0 (regrouped by 4 blocks at AVX-512)
 *   Q4_1 Q5_1                 legacy.c   activations Q8_1
 *   Q2_K Q3_K Q4_K Q5_K Q6_K  kquants*.c activations Q8_K
 * Anything else: NULL, and matmul() falls back to matmul_ref().
 * Packed forms (weights rearranged at load, AVX-512): kquants_packed*.c, legacy_packed.c,
 * float_packed.c (F16, BF16, F32); at AVX2 Q4_K, Q5_K, Q6_K and the legacy types
 * (kquants_packed_avx2.c, legacy_packed_avx2.c). With AMX
 * the quantized packed forms run their prefill on tiles (legacy_amx.c, kquants_amx.c). */
#include "kern_impl.h"
#include "kquants_impl.h"

const kern_entry *kern_for_level(seek_type type, kern_level l) {
    if (l < KERN_SCALAR || l >= KERN_LEVELS) return NULL;
    switch (type) {
    case SEEK_TYPE_F32:
    case SEEK_TYPE_F16:
    case SEEK_TYPE_BF16: return kern_float(type, l);
    case SEEK_TYPE_Q8_0:
    case SEEK_TYPE_Q4_0:
    case SEEK_TYPE_Q4_1:
    case SEEK_TYPE_Q5_0:
    case SEEK_TYPE_Q5_1:
    case SEEK_TYPE_IQ4_NL: return kern_legacy(type, l);
    case SEEK_TYPE_Q2_K:
    case SEEK_TYPE_Q3_K:
    case SEEK_TYPE_Q4_K:
    case SEEK_TYPE_Q5_K:
    case SEEK_TYPE_Q6_K: return kern_kquant(type, l);
    default: return NULL;
    }
}

const kern_entry *kern_for(seek_type type) { return kern_for_level(type, kern_cpu_level()); }

size_t kern_act_row_bytes(const kern_entry *e, int64_t n) {
    size_t b = kern_legacy_act_row_bytes(e, n);
    if (!b) b = seek_row_size(e->act_type, n);
    return (b + 63) & ~(size_t)63;
}

const kern_packed *kern_packed_for_level(seek_type type, kern_level l) {
    if (l < KERN_SCALAR || l >= KERN_LEVELS) return NULL;
    const kern_packed *p = kern_kquant_packed(type, l);
    if (!p) p = kern_legacy_packed(type, l);
    return p ? p : kern_float_packed(type, l);
}

const kern_packed *kern_packed_for(seek_type type) { return kern_packed_for_level(type, kern_cpu_level()); }

const kern_packed *kern_packed_amx_emulated(seek_type type) {
    if (kern_cpu_max_level() < KERN_AVX512) return NULL;
#if defined(__x86_64__)
    if (type >= SEEK_TYPE_Q4_K && type <= SEEK_TYPE_Q6_K) return kq_packed_amx_emulated(type);
#endif
    return kern_legacy_packed_amx_emulated(type);
}
