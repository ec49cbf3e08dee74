/* amx.h - AMX tile operations for the tile kernels (internal to src/kernels/), each with a
 * plain-C twin so the kernels run and are tested on CPUs without AMX.
 *
 * AMX (Intel Sapphire Rapids and later) has 8 tile registers of up to 16 rows x 64 bytes.
 * The kernels use TDPBSUD c, a, b: for m < a.rows, n < c.colsb / 4,
 *   c.int32[m][n] += sum over k < a.colsb / 4, i < 4 of  (int8)a.byte[m][4k + i] x (uint8)b.byte[k][4n + i]
 * and TDPBSSD, the same with b's bytes signed too
 * so b holds 4 consecutive k values of column n in each 4-byte word (the "VNNI" layout the
 * packed panels already have: lane r of a 64-byte weight vector = 4 values of row r).
 *
 * Every op takes `emu` (a constant in each inlined copy of a kernel): false issues the
 * instruction, true runs the twin on an amx_emu held by the caller, which also checks what
 * the hardware would fault on (a bad configuration, shapes that do not fit: #GP / #UD), so
 * the emulated kernel exercises the same tile shapes, strides and bytes as the real one.
 * The instructions are written here as inline asm, not GCC 12's _tile_* macros: those give
 * tileloadd no memory operand or clobber and ldtilecfg only 8 of its 64 bytes, so stores
 * into a buffer that only a tile load reads (the unpacked weights, the configuration) could
 * be dropped or moved past it. Each load and the configuration here clobber "memory".
 * The twins are the reference of the tile semantics above (Intel SDM, TDPBSUD / TDPBSSD); tests run them
 * against the AVX-512 kernels on any AVX-512 machine, and the instructions themselves where
 * the CPU has AMX. */
#ifndef SEEK_AMX_H
#define SEEK_AMX_H

#include <stdio.h>
#include <stdlib.h>

#include "kern_impl.h"

#ifdef KERN_X86
#define KT_AMX __attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,amx-tile,amx-int8")))

/* The 64-byte tile configuration (LDTILECFG): palette 1; bytes per row and rows of tiles 0..7 */
typedef struct {
    uint8_t palette, start_row, reserved0[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} __attribute__((aligned(64))) amx_cfg;
_Static_assert(sizeof(amx_cfg) == 64, "LDTILECFG reads 64 bytes");

static inline void amx_cfg_tile(amx_cfg *c, int t, int rows, int colsb) {
    c->rows[t] = (uint8_t)rows;
    c->colsb[t] = (uint16_t)colsb;
}

typedef struct {
    bool on;
    uint8_t rows[8];
    uint16_t colsb[8];
    uint8_t data[8][16][64];
} amx_emu;

static inline void amx_emu_fault(const char *what) {
    fprintf(stderr, "seek: emulated AMX: %s (the hardware would fault)\n", what);
    abort();
}

KT_AMX KINLINE void amx_config(bool emu, amx_emu *e, const amx_cfg *c) {
    if (!emu) {
        __asm__ volatile("ldtilecfg %0" ::"m"(*c) : "memory");
        return;
    }
    if (c->palette != 1 || c->start_row) amx_emu_fault("palette must be 1, start_row 0");
    for (int i = 0; i < 14; i++)
        if (c->reserved0[i]) amx_emu_fault("reserved configuration bytes");
    for (int t = 0; t < 16; t++) {
        bool used = c->rows[t] || c->colsb[t];
        if (t >= 8 ? used : used && (c->rows[t] > 16 || c->colsb[t] > 64 || !c->rows[t] || !c->colsb[t]))
            amx_emu_fault("tile shape");
    }
    e->on = true;
    for (int t = 0; t < 8; t++) e->rows[t] = c->rows[t], e->colsb[t] = c->colsb[t];
    memset(e->data, 0, sizeof e->data);
}

static inline void amx_emu_check(const amx_emu *e, int t) {
    if (!e->on || !e->rows[t]) amx_emu_fault("tile not configured");
}

#define AMX_ZERO(emu, e, tl)                                       \
    do {                                                          \
        if (emu) amx_emu_check(e, tl), memset((e)->data[tl], 0, 1024); \
        else __asm__ volatile("tilezero %%tmm" #tl ::);                                       \
    } while (0)

/* rows of the tile's colsb bytes from base, base + stride, ... (tile t: a literal) */
#define AMX_LOAD(emu, e, tl, base, stride)                                                       \
    do {                                                                                        \
        if (emu) {                                                                              \
            amx_emu_check(e, tl);                                                               \
            memset((e)->data[tl], 0, 1024);                                                         \
            for (int r_ = 0; r_ < (e)->rows[tl]; r_++)                                           \
                memcpy((e)->data[tl][r_], (const uint8_t *)(base) + (size_t)r_ * (size_t)(stride), (e)->colsb[tl]); \
        } else                                                                                  \
            __asm__ volatile("tileloadd (%0,%1,1), %%tmm" #tl ::"r"((const void *)(base)),      \
                             "r"((long)(stride)) : "memory");                                   \
    } while (0)

#define AMX_STORE(emu, e, tl, base, stride)                                                           \
    do {                                                                                             \
        if (emu) {                                                                                   \
            amx_emu_check(e, tl);                                                                    \
            for (int r_ = 0; r_ < (e)->rows[tl]; r_++)                                                \
                memcpy((uint8_t *)(base) + (size_t)r_ * (size_t)(stride), (e)->data[tl][r_], (e)->colsb[tl]); \
        } else                                                                                       \
            __asm__ volatile("tilestored %%tmm" #tl ", (%0,%1,1)" ::"r"((void *)(base)),             \
                             "r"((long)(stride)) : "memory");                                        \
    } while (0)

/* TDPBSUD (b unsigned) or TDPBSSD (b signed); a is signed in both */
static inline void amx_emu_dpb(amx_emu *e, int c, int a, int b, bool b_signed) {
    amx_emu_check(e, c), amx_emu_check(e, a), amx_emu_check(e, b);
    if (e->rows[c] != e->rows[a] || e->colsb[a] != 4 * e->rows[b] || e->colsb[c] != e->colsb[b] || e->colsb[c] % 4)
        amx_emu_fault("TDPBSUD / TDPBSSD shapes");
    for (int m = 0; m < e->rows[c]; m++)
        for (int n = 0; n < e->colsb[c] / 4; n++) {
            int32_t s;
            memcpy(&s, e->data[c][m] + 4 * n, 4);
            for (int k = 0; k < e->colsb[a] / 4; k++)
                for (int i = 0; i < 4; i++) {
                    const uint8_t wb = e->data[b][k][4 * n + i];
                    s += (int32_t)(int8_t)e->data[a][m][4 * k + i] * (b_signed ? (int32_t)(int8_t)wb : (int32_t)wb);
                }
            memcpy(e->data[c][m] + 4 * n, &s, 4);
        }
}

#define AMX_DPBSUD(emu, e, c, a, b)              \
    do {                                         \
        if (emu) amx_emu_dpb(e, c, a, b, false); \
        else __asm__ volatile("tdpbsud %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::); \
    } while (0)

#define AMX_DPBSSD(emu, e, c, a, b)             \
    do {                                        \
        if (emu) amx_emu_dpb(e, c, a, b, true); \
        else __asm__ volatile("tdpbssd %%tmm" #b ", %%tmm" #a ", %%tmm" #c ::); \
    } while (0)

/* The tile kernels' float accumulators: acc[t] = the 16 rows of token t (t < ncb) into
 * out + t * os, rows from `live` on (the padding of a last group) left alone */
KT_AMX KINLINE void amx_store_acc(float (*acc)[16], int ncb, int live, float *out, size_t os) {
    const __mmask16 keep = live >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << live) - 1);
    for (int t = 0; t < ncb; t++) _mm512_mask_storeu_ps(out + (size_t)t * os, keep, _mm512_load_ps(acc[t]));
}

KT_AMX KINLINE void amx_release(bool emu, amx_emu *e) {
    if (emu) e->on = false;
    else __asm__ volatile("tilerelease" ::);
}
#endif
#endif
