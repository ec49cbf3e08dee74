/* repack.c - weight matrices rearranged once at load for the kernels that run faster on
 * their own layout (kernels.h, "packed weights"; today Q4_K, Q5_K, Q6_K, Q8_0, Q4_0, Q5_0,
 * Q4_1, Q5_1, IQ4_NL, F16, BF16 and F32 at AVX-512: 16-row panels).
 *
 * Which tensors: the matrices the forward pass multiplies by (every 2-D/3-D "*.weight" of
 * 16+ rows) whose type has a packer at the CPU level in use, except token_embd (read by
 * rows; packed only when it is also the output head) and MLA's attn_kv_b / attn_k_b /
 * attn_v_b (unpacked once by prepare_mla, never multiplied by directly).
 *
 * Memory: the packed copies take one allocation of the same size as the originals; once a
 * tensor is copied its pages of the file mapping are released (madvise DONTNEED), so the
 * resident size stays that of the model. The originals stay mapped: mat_row() and the
 * reference path still read them (and the kernel fault them back in from the file).
 *
 * SEEK_REPACK=0 in the environment keeps the file's layout (kernels then run on it).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kernels/kernels.h"
#include "model.h"
#include "repack.h"
#include "threads.h"

static bool name_is(const gguf_tensor *t, const char *suffix) {
    size_t n = strlen(suffix);
    return t->name.len >= n && !memcmp(t->name.ptr + t->name.len - n, suffix, n);
}

bool repack_enabled(void) {
    const char *e = getenv("SEEK_REPACK");
    return !(e && !strcmp(e, "0"));
}

/* The packed form t would take, or NULL. */
static const kern_packed *packer(const gguf_file *g, const gguf_tensor *t) {
    if (t->n_dims < 2 || t->n_dims > 3 || t->ne[1] < KERN_PACK_ROWS || !name_is(t, ".weight")) return NULL;
    if (gguf_str_eq(t->name, "token_embd.weight") && gguf_find_tensor(g, "output.weight")) return NULL;
    if (name_is(t, ".attn_kv_b.weight") || name_is(t, ".attn_k_b.weight") || name_is(t, ".attn_v_b.weight")) return NULL;
    const kern_entry *e = kern_for(t->type);
    const kern_packed *p = kern_packed_for(t->type);
    const seek_type_info *ai = e ? seek_type_get((uint32_t)e->act_type) : NULL;
    if (!p || !ai || t->ne[0] % ai->block_size) return NULL;
    return p;
}

int repack_plan(const gguf_file *g, uint64_t *bytes) {
    int n = 0;
    *bytes = 0;
    if (!repack_enabled()) return 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        const kern_packed *e = packer(g, t);
        if (!e) continue;
        n++;
        *bytes += e->bytes(t->ne[0], t->ne[1]) * (uint64_t)t->ne[2];
    }
    return n;
}

typedef struct {
    const kern_packed *e;
    const gguf_tensor *t;
    uint8_t *dst;
} pack_job;

/* groups [g0, g1) of all matrices of the tensor, numbered matrix-major */
static void pack_range(void *ud, int64_t g0, int64_t g1) {
    const pack_job *j = ud;
    const gguf_tensor *t = j->t;
    const int64_t per = (t->ne[1] + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS;
    const size_t row_bytes = seek_row_size(t->type, t->ne[0]), mat_bytes = j->e->bytes(t->ne[0], t->ne[1]);
    for (int64_t g = g0; g < g1;) {
        int64_t i = g / per, a = g % per, b = g1 - i * per < per ? g1 - i * per : per;
        const uint8_t *src = (const uint8_t *)t->data + (size_t)i * (size_t)t->ne[1] * row_bytes;
        j->e->pack(t->ne[0], src, row_bytes, t->ne[1], j->dst + (size_t)i * mat_bytes, a, b);
        g = i * per + b;
    }
}

/* madvise the pages wholly inside [p, p + n) */
static void advise(const void *p, size_t n, int how) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), b = ((uintptr_t)p + n) & ~(page - 1);
    if (b > a) (void)madvise((void *)a, b - a, how);
}

uint64_t repack_file_bytes(const gguf_file *g) { return g->map.mapped ? g->map.size : 0; }

int model_repack(seek_model *md) {
    gguf_file *g = md->gguf;
    uint64_t total;
    if (repack_plan(g, &total) == 0) return 0;
    /* not enough memory for the copies: run on the file's layout (same results; F16, BF16
     * and F32 within the float tolerance, their packed kernels sum in another order: kernels.h) */
    if (total > SIZE_MAX) return 0;
    uint8_t *block = seek_alloc_fresh((size_t)total, repack_file_bytes(g));
    if (!block) return 0;
    uint64_t off = 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        const kern_packed *e = packer(g, t);
        if (!e) continue;
        pack_job j = {e, t, block + off};
        if (g->map.mapped) advise(t->data, t->nbytes, MADV_WILLNEED);   /* read ahead in bulk */
        const int64_t groups = (t->ne[1] + KERN_PACK_ROWS - 1) / KERN_PACK_ROWS * t->ne[2];
        par_for(groups, pack_range, &j);
        t->packed = block + off;
        t->packed_stride = e->bytes(t->ne[0], t->ne[1]);
        off += t->packed_stride * (uint64_t)t->ne[2];
        if (g->map.mapped) advise(t->data, t->nbytes, MADV_DONTNEED);   /* the file's pages: not needed now */
    }
    md->packed = block;
    md->packed_bytes = (size_t)total;
    return 0;
}
