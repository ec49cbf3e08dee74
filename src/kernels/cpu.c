/* cpu.c - which kernel level this CPU can run, read once from CPUID.
 *
 *   KERN_AVX2    AVX2 + FMA + F16C, and the OS saves YMM state (XCR0 bits 1,2)
 *   KERN_AVX512  AVX-512 F/BW/VL/DQ + VNNI, and the OS saves ZMM state (XCR0 bits 5-7)
 *   bf16         AVX512_BF16 (vdpbf16ps), only meaningful at KERN_AVX512
 *   amx          AMX-TILE + AMX-INT8 at KERN_AVX512, and Linux grants the process the tile
 *                state (arch_prctl ARCH_REQ_XCOMP_PERM): the tiles of the packed quantized
 *                prefill (legacy types, Q4_K, Q5_K, Q6_K: legacy_amx.c, kquants_amx.c)
 *   avxvnni      AVX-VNNI (vpdpbusd on ymm, VEX) at KERN_AVX2: the packed legacy types'
 *                integer dots and packed Q4_K's prefill (legacy_packed_avx2.c,
 *                kquants_packed_avx2.c); CPUs with AVX-512 run the AVX-512 kernels
 *
 * SEEK_CPU=scalar|avx2|avxvnni|avx512|amx lowers the level (never raises it above the
 * hardware's; avx512 turns AMX off, avx2 AVX-VNNI; avxvnni is the AVX2 level with AVX-VNNI
 * where the CPU has it), so every level can be tested on one machine. Not x86: always
 * KERN_SCALAR. */
#include "kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#define KERN_X86 1
#endif

static pthread_once_t once = PTHREAD_ONCE_INIT;
static kern_level hw_level = KERN_SCALAR;   /* what the hardware can do */
static kern_level cur_level = KERN_SCALAR;  /* what kernels use now */
static bool hw_bf16, hw_amx, hw_avxvnni;
static bool amx_ok, amx_on;   /* tiles usable by this process; in use now */
static bool vnni_on;          /* AVX-VNNI in use at KERN_AVX2 (where hw_avxvnni) */

#ifdef KERN_X86
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}

static void detect_hw(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    bool fma = c >> 12 & 1, f16c = c >> 29 & 1, osxsave = c >> 27 & 1;
    if (!osxsave) return;
    uint64_t xcr0 = xgetbv0();
    bool ymm_os = (xcr0 & 0x6) == 0x6, zmm_os = (xcr0 & 0xE6) == 0xE6;
    if (__get_cpuid_max(0, NULL) < 7) return;
    __cpuid_count(7, 0, a, b, c, d);
    bool avx2 = b >> 5 & 1;
    bool f = b >> 16 & 1, dq = b >> 17 & 1, bw = b >> 30 & 1, vl = b >> 31 & 1, vnni = c >> 11 & 1;
    bool amx_tile = d >> 24 & 1, amx_int8 = d >> 25 & 1;
    unsigned a1 = 0, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    (void)b1, (void)c1, (void)d1;
    if (avx2 && fma && f16c && ymm_os) hw_level = KERN_AVX2;
    if (hw_level == KERN_AVX2 && f && dq && bw && vl && vnni && zmm_os) {
        hw_level = KERN_AVX512;
        hw_bf16 = a1 >> 5 & 1;
    }
    hw_amx = amx_tile && amx_int8;   /* the OS must also grant tile state (arch_prctl) to use it */
    hw_avxvnni = hw_level >= KERN_AVX2 && (a1 >> 4 & 1);
}

/* Linux hands out the 8 KiB of tile state per process on request (5.16+); without it the
 * first tile instruction faults. */
static bool amx_permitted(void) {
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}
#else
static void detect_hw(void) {}
static bool amx_permitted(void) { return false; }
#endif

static int level_from_name(const char *s) {
    for (int l = 0; l < KERN_LEVELS; l++)
        if (!strcmp(s, kern_level_name((kern_level)l))) return l;
    return -1;
}

static void init(void) {
    detect_hw();
    cur_level = hw_level;
    amx_ok = amx_on = hw_amx && hw_level == KERN_AVX512 && amx_permitted();
    vnni_on = hw_avxvnni;
    const char *e = getenv("SEEK_CPU");
    if (e && *e && strcmp(e, "amx")) {
        const bool vn = !strcmp(e, "avxvnni");
        int l = vn ? KERN_AVX2 : level_from_name(e);
        if (l < 0)
            fprintf(stderr, "seek: SEEK_CPU=%s: expected scalar, avx2, avxvnni, avx512 or amx (ignored)\n", e);
        else {
            amx_on = false;
            vnni_on = vn && hw_avxvnni;
            if ((kern_level)l < cur_level) cur_level = (kern_level)l;
        }
    }
}

kern_level kern_cpu_level(void) {
    pthread_once(&once, init);
    return cur_level;
}

kern_level kern_cpu_max_level(void) {
    pthread_once(&once, init);
    return hw_level;
}

bool kern_cpu_has_bf16(void) {
    pthread_once(&once, init);
    return hw_bf16;
}

bool kern_cpu_has_amx(void) {
    pthread_once(&once, init);
    return hw_amx;
}

bool kern_cpu_amx(void) {
    pthread_once(&once, init);
    return amx_on && cur_level == KERN_AVX512;
}

bool kern_cpu_has_avxvnni(void) {
    pthread_once(&once, init);
    return hw_avxvnni;
}

bool kern_cpu_avxvnni(void) {
    pthread_once(&once, init);
    return vnni_on && cur_level == KERN_AVX2;
}

bool kern_set_avxvnni(bool on) {
    pthread_once(&once, init);
    bool prev = vnni_on;
    vnni_on = on && hw_avxvnni;
    return prev;
}

/* 16-column chunks the tile kernels ran (kern_amx_chunks): one relaxed add per kernel call */
static _Atomic long amx_chunks;
void kern_amx_count(int chunks) { atomic_fetch_add_explicit(&amx_chunks, chunks, memory_order_relaxed); }
long kern_amx_chunks(void) { return atomic_load_explicit(&amx_chunks, memory_order_relaxed); }

bool kern_set_amx(bool on) {
    pthread_once(&once, init);
    bool prev = amx_on;
    amx_on = on && amx_ok;
    return prev;
}

kern_level kern_set_level(kern_level l) {
    pthread_once(&once, init);
    kern_level prev = cur_level;
    cur_level = l < KERN_SCALAR ? KERN_SCALAR : l > hw_level ? hw_level : l;
    return prev;
}

const char *kern_level_name(kern_level l) {
    switch (l) {
    case KERN_SCALAR: return "scalar";
    case KERN_AVX2: return "avx2";
    case KERN_AVX512: return "avx512";
    default: return "?";
    }
}
