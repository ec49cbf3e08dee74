/* ops.c - reference float32 building blocks of the forward pass (see ops.h).
 *
 * Deliberately plain: one loop per formula, double accumulators where a sum runs over a
 * whole row, so that these functions can serve as the yardstick for the fast kernels. */
#include "ops.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"
#include "profile.h"
#include "threads.h"
#include "util.h"
#include "vec.h"

/* ------------------------------------------------------------------------------------ */
/* weight matrices */

seek_mat mat_of(const gguf_tensor *t) { return mat_slice(t, 0); }

seek_mat mat_slice(const gguf_tensor *t, int64_t i) {
    seek_mat m;
    m.type = t->type;
    m.n_in = t->ne[0];
    m.n_out = t->ne[1];
    m.row_bytes = seek_row_size(t->type, t->ne[0]);
    m.data = (const uint8_t *)t->data + (size_t)i * (size_t)t->ne[1] * m.row_bytes;
    m.packed = t->packed ? t->packed + (size_t)i * t->packed_stride : NULL;
    return m;
}

int mat_row(seek_mat w, int64_t r, float *dst) {
    return seek_dequantize_row(w.type, w.data + (size_t)r * w.row_bytes, dst, w.n_in);
}

/* Output rows [o0, o1) of out[T][OC] = x[T][C] @ W^T + bias. The arithmetic of one
 * output element does not depend on the split, so any split gives the same bits. */
static int matmul_rows(float *out, const float *x, seek_mat w, const float *bias, int T, float *row, int64_t o0,
                       int64_t o1) {
    const int64_t C = w.n_in, OC = w.n_out;
    for (int64_t o = o0; o < o1; o++) {
        const float *wr;
        if (w.type == SEEK_TYPE_F32) {
            wr = (const float *)(w.data + (size_t)o * w.row_bytes);
        } else {
            if (mat_row(w, o, row)) return -1;
            wr = row;
        }
        float b = bias ? bias[o] : 0.0f;
        for (int t = 0; t < T; t++) {
            const float *xt = x + (size_t)t * C;
            double acc = 0.0;
            for (int64_t c = 0; c < C; c++) acc += (double)wr[c] * xt[c];
            out[(size_t)t * OC + o] = (float)acc + b;
        }
    }
    return 0;
}

typedef struct {
    float *out;
    const float *x;
    seek_mat w;
    const float *bias;
    int T;
    volatile int failed;   /* written by workers, read after par_for (its mutex orders it) */
} matmul_job;

static void matmul_range(void *ud, int64_t o0, int64_t o1) {
    matmul_job *j = ud;
    float *row = j->w.type == SEEK_TYPE_F32 ? NULL : malloc(sizeof(float) * (size_t)j->w.n_in);
    if ((j->w.type != SEEK_TYPE_F32 && !row) || matmul_rows(j->out, j->x, j->w, j->bias, j->T, row, o0, o1))
        j->failed = 1;
    free(row);
}

/* Below this many multiply-adds a matmul is not worth waking the pool for. */
enum { PAR_MIN_WORK = 1 << 16 };

int matmul_ref(float *out, const float *x, seek_mat w, const float *bias, int T, float *row) {
    /* a type without dequantization fails here, on the caller's thread, with its message */
    const seek_type_info *ti = seek_type_get((uint32_t)w.type);
    if (w.n_out > 0 && !(ti && ti->can_dequantize)) return mat_row(w, 0, row);
    if ((double)w.n_out * w.n_in * T < PAR_MIN_WORK || seek_threads() == 1)
        return matmul_rows(out, x, w, bias, T, row, 0, w.n_out);
    matmul_job j = {.out = out, .x = x, .w = w, .bias = bias, .T = T};
    par_for(w.n_out, matmul_range, &j);
    return j.failed ? seek_error("matmul: out of memory") : 0;
}

/* ---- the fast path: kernels/ ----
 * x[T][C] is converted once to the kernel's activation type (scratch, 64-byte aligned rows),
 * then the product is cut into tiles of TILE_R weight rows x TILE_C tokens, numbered
 * row-tile-major so each thread sweeps all tokens of a few row tiles while those weights
 * sit in its cache. Each output element is computed by the same instructions whatever
 * tile (and thread) it lands in, so results are bit-identical for any thread count. */
/* TILE_R a multiple of the sub-tile heights (3 at AVX-512, 4 at AVX2): no ragged rows.
 * DECODE_ROWS: a one-token product's tiles; each claim of the pool starts a new stream for
 * the prefetchers, so fewer, longer ones read faster: 64 against 32 rows, six alternated
 * pairs on the 1.5B Q4_K_M, 52.6 -> 56.2 tok/s (docs/kernels.md); 16 and 128 no better. */
enum { TILE_R = 48, TILE_C = 256, DECODE_ROWS = 64 };

/* Grow-only scratch of the calling thread (freed when the thread exits). */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;
static _Thread_local struct { uint8_t *p; size_t cap; } scratch;
static void scratch_init(void) { (void)pthread_key_create(&scratch_key, free); }

static uint8_t *scratch_get(size_t n) {
    if (n <= scratch.cap) return scratch.p;
    pthread_once(&scratch_once, scratch_init);
    size_t cap = n + n / 4 + 4096;
    cap = (cap + 63) & ~(size_t)63;
    uint8_t *p = aligned_alloc(64, cap);
    if (!p) return NULL;
    free(scratch.p);
    scratch.p = p, scratch.cap = cap;
    pthread_setspecific(scratch_key, p);
    return p;
}

typedef struct {
    const kern_entry *e;
    const float *x;
    uint8_t *act;
    size_t a_stride;
    seek_mat w;
    float *out;
    int T;
    int64_t rows_per_tile, n_row_tiles, n_col_tiles;
    kern_mm_fn mm;           /* e->mm, or the packed kernel on w.packed */
    const uint8_t *wbase;    /* w.data or w.packed */
    size_t wstep;            /* bytes from one row (packed: one group of KERN_PACK_ROWS rows) to the next */
    int64_t rows_per_step;   /* 1, or KERN_PACK_ROWS */
    kern_dec2_fn dec2;       /* packed decode of two tiles at once (NULL: none) */
} fast_job;

static void quant_range(void *ud, int64_t t0, int64_t t1) {
    fast_job *j = ud;
    for (int64_t t = t0; t < t1; t++) j->e->quant(j->x + t * j->w.n_in, j->act + t * j->a_stride, j->w.n_in);
}

/* Rows of the row tile that starts at row r0 (the last one may be short) */
static int64_t tile_rows(const fast_job *j, int64_t r0) {
    return j->w.n_out - r0 < j->rows_per_tile ? j->w.n_out - r0 : j->rows_per_tile;
}

static void tile_range(void *ud, int64_t i0, int64_t i1) {
    fast_job *j = ud;
    for (int64_t i = i0; i < i1; i++) {
        int64_t rt = i / j->n_col_tiles, ct = i % j->n_col_tiles;
        int64_t r0 = rt * j->rows_per_tile, c0 = ct * TILE_C;
        int64_t nr = tile_rows(j, r0);
        int nc = j->T - c0 < TILE_C ? (int)(j->T - c0) : TILE_C;
        j->mm(j->w.n_in, j->wbase + (size_t)(r0 / j->rows_per_step) * j->wstep, j->wstep, (int)nr,
              j->act + c0 * j->a_stride, j->a_stride, nc, j->out + c0 * j->w.n_out + r0, (size_t)j->w.n_out);
    }
}

/* ---- matmul() and matmul_many(): products in one pass of the pool ----
 * The items' activations are converted once per distinct input (same x, T, n_in and
 * activation converter: Q, K and V of one input share it), then every item's tiles form
 * one numbered list that par_for shares out. Each output element is computed by the same
 * kernel call whatever the list, so the bits are those of one matmul() per item; only the
 * number of pool wake-ups and barriers drops (a MoE decode step: 2 instead of 21 per
 * layer). matmul() is the list of one. */
enum { MANY_MAX = MANY_ITEMS_MAX };
#define ACT_DIRECT SIZE_MAX   /* act_off: the kernel reads x itself (F32 activations) */

typedef struct {
    fast_job j[MANY_MAX];
    const float *bias[MANY_MAX];
    size_t act_off[MANY_MAX];      /* offset of item i's activations in the scratch */
    int64_t first[MANY_MAX + 1];   /* global number of item i's first tile */
    int n;
    bool dual;                     /* decode with kern_dec2_fn pairs (many_range) */
} many_job;

/* The item that tile i of the list belongs to (it: a guess to start from, at most i's) */
static int item_of(const many_job *mj, int64_t i, int it) {
    while (i >= mj->first[it + 1]) it++;
    return it;
}

/* Decode tiles i of item ja and k of item jb as one kern_dec2_fn call, when both have the
 * same one and the same row length; false: run them one by one. */
static _Thread_local long dual_pairs;   /* matmul_dual_pairs */
long matmul_dual_pairs(void) { return dual_pairs; }

static bool dec2_pair(const fast_job *ja, int64_t i, const fast_job *jb, int64_t k) {
    if (!ja->dec2 || ja->dec2 != jb->dec2 || ja->w.n_in != jb->w.n_in || ja->wstep != jb->wstep) return false;
    dual_pairs++;
    const int64_t ra = i * ja->rows_per_tile, rb = k * jb->rows_per_tile;
    ja->dec2(ja->w.n_in, ja->wstep, ja->wbase + (size_t)(ra / KERN_PACK_ROWS) * ja->wstep, (int)tile_rows(ja, ra), ja->act,
             ja->out + ra, jb->wbase + (size_t)(rb / KERN_PACK_ROWS) * jb->wstep, (int)tile_rows(jb, rb), jb->act,
             jb->out + rb);
    return true;
}

static _Atomic bool dual_on = true;   /* matmul_set_dual */
bool matmul_set_dual(bool on) { return atomic_exchange(&dual_on, on); }

/* A thread's claimed tiles [i0, i1). Decode pairs tile i0 + k with tile i0 + h + k (h half
 * the range) through kern_dec2_fn: two streams per thread, from two experts of a MoE pass
 * or two parts of one matrix: on these VMs a core reading two streams at once reads more per
 * second than one (docs/kernels-history.md, "Two streams per thread"; bench/moe_pattern). The bits
 * of each tile are tile_range's. */
static void many_range(void *ud, int64_t i0, int64_t i1) {
    many_job *mj = ud;
    int it = 0;
    int64_t i = i0;
    if (mj->dual) {
        const int64_t h = (i1 - i0) / 2;
        int ib = 0;
        for (int64_t k = 0; k < h; k++) {
            const int64_t a = i0 + k, b = i0 + h + k;
            it = item_of(mj, a, it), ib = item_of(mj, b, ib > it ? ib : it);
            if (!dec2_pair(&mj->j[it], a - mj->first[it], &mj->j[ib], b - mj->first[ib])) {
                tile_range(&mj->j[it], a - mj->first[it], a - mj->first[it] + 1);
                tile_range(&mj->j[ib], b - mj->first[ib], b - mj->first[ib] + 1);
            }
        }
        i = i0 + 2 * h;
    }
    for (; i < i1; i++) {
        it = item_of(mj, i, it);
        tile_range(&mj->j[it], i - mj->first[it], i - mj->first[it] + 1);
    }
}

static void many_quant_range(void *ud, int64_t i0, int64_t i1) {
    many_job *mj = ud;
    int it = 0;
    int64_t base = 0;   /* rows of the items before `it` that own a conversion */
    for (int64_t i = i0; i < i1; i++) {
        for (;;) {
            fast_job *j = &mj->j[it];
            int64_t own = j->x ? j->T : 0;   /* x == NULL: no conversion of its own */
            if (i < base + own) break;
            base += own;
            it++;
        }
        quant_range(&mj->j[it], i - base, i - base + 1);
    }
}

/* Prefill lists are dealt out one tile at a time from a shared counter instead of in one
 * contiguous half per thread: a thread that the OS preempts, or that drew the slower tiles,
 * no longer holds the other one at the barrier. Which thread computes a tile never changes
 * its bits. (Decode uses par_for's own claims, each thread's lane of consecutive tiles
 * with stealing at the end (threads.c): its tiles are short, and a shared counter per tile
 * would cost more than it balances.) */
typedef struct {
    par_fn fn;
    void *ud;
    int64_t n, chunk;
    _Atomic int64_t next;
} dyn_job;

static void dyn_range(void *ud, int64_t b, int64_t e) {
    (void)b, (void)e;
    dyn_job *d = ud;
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&d->next, d->chunk, memory_order_relaxed);
        if (i >= d->n) break;
        d->fn(d->ud, i, i + d->chunk < d->n ? i + d->chunk : d->n);
    }
}

static void par_for_dyn(int64_t n, int64_t chunk, par_fn fn, void *ud) {
    dyn_job d = {.fn = fn, .ud = ud, .n = n, .chunk = chunk};
    atomic_init(&d.next, 0);
    int nt = seek_threads();
    par_for(n < nt ? n : nt, dyn_range, &d);
}

/* Item m as a kernel job (false: no kernel for its type or shape, matmul_ref does it). */
static bool fast_plan(fast_job *j, const mm_item *m) {
    const kern_entry *e = kern_for(m->w.type);
    const seek_type_info *ai = e ? seek_type_get((uint32_t)e->act_type) : NULL;
    if (!e || !ai || m->w.n_in % ai->block_size || m->T <= 0 || m->w.n_out <= 0) return false;
    *j = (fast_job){.e = e, .x = m->x, .w = m->w, .out = m->out, .T = m->T};
    j->a_stride = e->act_type == SEEK_TYPE_F32 && !e->quant ? sizeof(float) * (size_t)m->w.n_in
                                                           : kern_act_row_bytes(e, m->w.n_in);
    /* decode: short row tiles so both threads get work; prefill: TILE_R x TILE_C tiles */
    j->rows_per_tile = m->T == 1 ? DECODE_ROWS : TILE_R;
    /* a one-token product of at most one such tile (a MoE router: 64 rows) would run on one
     * thread alone: cut it into KERN_PACK_ROWS-row tiles */
    if (m->T == 1 && m->w.n_out <= DECODE_ROWS) j->rows_per_tile = KERN_PACK_ROWS;
    /* packed weights: tiles start at a multiple of KERN_PACK_ROWS (both tile heights are) */
    _Static_assert(DECODE_ROWS % KERN_PACK_ROWS == 0 && TILE_R % KERN_PACK_ROWS == 0, "tile heights");
    const kern_packed *pk = m->w.packed ? kern_packed_for(m->w.type) : NULL;
    if (pk) {
        j->mm = pk->mm, j->wbase = m->w.packed, j->rows_per_step = KERN_PACK_ROWS;
        j->dec2 = m->T == 1 ? pk->dec2 : NULL;
        j->wstep = pk->bytes(m->w.n_in, KERN_PACK_ROWS);
    } else {
        j->mm = e->mm, j->wbase = m->w.data, j->rows_per_step = 1, j->wstep = m->w.row_bytes;
    }
    j->n_row_tiles = (m->w.n_out + j->rows_per_tile - 1) / j->rows_per_tile;
    j->n_col_tiles = (m->T + TILE_C - 1) / TILE_C;
    return true;
}

static int many_pass(const mm_item *items, int n, float *row);

int matmul_many(const mm_item *items, int n, float *row) {
    if (!prof_enabled()) return many_pass(items, n, row);
    const double t0 = prof_now();
    const int rc = many_pass(items, n, row);
    prof_matmul(items, n, prof_now() - t0);
    return rc;
}

/* matmul_many without the profile */
static int many_pass(const mm_item *items, int n, float *row) {
    many_job mj;
    mj.n = 0;
    mj.dual = false;
    size_t bytes = 0;
    int64_t qrows = 0, tiles = 0;
    double work = 0;
    bool prefill = false;   /* an item with several tokens: tiles dealt one at a time */
    for (int i = 0; i < n; i++) {
        const mm_item *m = &items[i];
        if (mj.n == MANY_MAX) {   /* past the list's size: one by one */
            if (many_pass(m, 1, row)) return -1;
            continue;
        }
        fast_job *j = &mj.j[mj.n];
        if (!fast_plan(j, m)) {
            if (matmul_ref(m->out, m->x, m->w, m->bias, m->T, row)) return -1;
            continue;
        }
        size_t *off = &mj.act_off[mj.n];
        mj.bias[mj.n++] = m->bias;
        tiles += j->n_row_tiles * j->n_col_tiles;
        work += (double)m->w.n_out * m->w.n_in * m->T;
        prefill |= m->T > 1;
        if (j->e->act_type == SEEK_TYPE_F32 && !j->e->quant) {
            *off = ACT_DIRECT, j->act = (uint8_t *)m->x, j->x = NULL;
            continue;
        }
        /* share the conversion of an earlier item with the same input */
        for (int k = 0; k < mj.n - 1; k++) {
            const fast_job *o = &mj.j[k];
            if (o->x == m->x && o->T == m->T && o->w.n_in == m->w.n_in && o->e->quant == j->e->quant) {
                *off = mj.act_off[k];
                j->x = NULL;
                break;
            }
        }
        if (j->x) {
            *off = bytes;
            bytes += j->a_stride * (size_t)m->T;
            qrows += m->T;
        }
    }
    if (!mj.n) return 0;
    uint8_t *scratch = bytes ? scratch_get(bytes) : NULL;
    if (bytes && !scratch) return seek_error("matmul: out of memory");
    mj.first[0] = 0;
    for (int i = 0; i < mj.n; i++) {
        if (mj.act_off[i] != ACT_DIRECT) mj.j[i].act = scratch + mj.act_off[i];
        mj.first[i + 1] = mj.first[i] + mj.j[i].n_row_tiles * mj.j[i].n_col_tiles;
    }
    /* the biases are added after the product (read cold, ~4 us per QKV of the 1.5B) */
    for (int i = 0; i < mj.n; i++)
        if (mj.bias[i]) prefetch_bytes(mj.bias[i], sizeof(float) * (size_t)mj.j[i].w.n_out);
    if (atomic_load_explicit(&dual_on, memory_order_relaxed))
        for (int i = 0; i < mj.n; i++) mj.dual |= mj.j[i].dec2 != NULL;
    bool par = work >= PAR_MIN_WORK && seek_threads() > 1;
    if (par && qrows >= 8)
        par_for(qrows, many_quant_range, &mj);
    else
        many_quant_range(&mj, 0, qrows);
    if (par && prefill)
        par_for_dyn(tiles, 1, many_range, &mj);
    else if (par)
        par_for(tiles, many_range, &mj);
    else
        many_range(&mj, 0, tiles);
    for (int i = 0; i < mj.n; i++) {
        const fast_job *j = &mj.j[i];
        if (mj.bias[i])
            for (int t = 0; t < j->T; t++)
                vec_axpy(j->out + (size_t)t * j->w.n_out, 1.0f, mj.bias[i], (int)j->w.n_out);   /* 1 * b + o: o + b exactly */
    }
    return 0;
}

int matmul(float *out, const float *x, seek_mat w, const float *bias, int T, float *row) {
    mm_item it = {out, x, w, bias, T};
    return matmul_many(&it, 1, row);
}

/* ------------------------------------------------------------------------------------ */
/* elementwise and normalisation */

/* g[N][F] = silu(g) * u (vec_swiglu), rows shared by the pool (a batch of 16 decode rows is
 * 143k exponentials per layer: on one thread, the others would wait for them). */
typedef struct {
    float *g;
    const float *u;
    int F;
} swiglu_job;

static void swiglu_rows(void *ud, int64_t r0, int64_t r1) {
    const swiglu_job *j = ud;
    vec_swiglu(j->g + (size_t)r0 * j->F, j->u + (size_t)r0 * j->F, (size_t)(r1 - r0) * j->F);
}

/* Below this many elements one thread does it: a pass of the pool costs more (a V2-Lite
 * decode step's 6 x 1408 expert values: 2.5 us on one core, measured). */
enum { SWIGLU_PAR_MIN = 1 << 15 };

void swiglu_act(float *g, const float *u, int N, int F) {
    swiglu_job j = {g, u, F};
    if (N >= 4 && (int64_t)N * F >= SWIGLU_PAR_MIN) par_for(N, swiglu_rows, &j);
    else swiglu_rows(&j, 0, N);
}

void rmsnorm(float *out, const float *x, const float *weight, int C, float eps) {
    /* eight double sums (square i into sum i mod 8), added pairwise: one chain of C
     * dependent additions held each norm of a decode step to the adder's latency */
    double s[8] = {0};
    int i = 0;
    for (; i + 8 <= C; i += 8)
        for (int k = 0; k < 8; k++) s[k] += (double)x[i + k] * x[i + k];
    for (; i < C; i++) s[i % 8] += (double)x[i] * x[i];
    const double ss = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    float inv = (float)(1.0 / sqrt(ss / C + eps));
    for (int i = 0; i < C; i++) out[i] = x[i] * inv * weight[i];
}

/* out[i] = rmsnorm(x[i]) for N rows of C, rows shared by the pool in batches (a prefill's
 * 512 rows are ~1 % of its time on one thread while the others wait); same bits. */
typedef struct {
    float *out;
    const float *x, *w;
    int C;
    float eps;
} norm_job;

static void norm_rows(void *ud, int64_t r0, int64_t r1) {
    const norm_job *j = ud;
    for (int64_t r = r0; r < r1; r++) rmsnorm(j->out + (size_t)r * j->C, j->x + (size_t)r * j->C, j->w, j->C, j->eps);
}

void par_rows(int64_t n, par_fn fn, void *ud) {
    if (n >= 16) par_for(n, fn, ud);
    else fn(ud, 0, n);
}

void rmsnorm_rows(float *out, const float *x, const float *w, int N, int C, float eps) {
    norm_job j = {out, x, w, C, eps};
    par_rows(N, norm_rows, &j);
}

void softmax(float *x, int n) {
    float mx = -INFINITY;
    for (int i = 0; i < n; i++) if (x[i] > mx) mx = x[i];
    double sum = 0.0;
    for (int i = 0; i < n; i++) { x[i] = expf(x[i] - mx); sum += x[i]; }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < n; i++) x[i] *= inv;
}

/* ------------------------------------------------------------------------------------ */
/* RoPE */

float yarn_mscale(float factor, float m) {
    return factor <= 1.0f ? 1.0f : 0.1f * m * logf(factor) + 1.0f;
}

/* YaRN: the dimension index at which a frequency completes `rot` turns over the original
 * context (the inverse of wavelength = 2*pi*base^(2j/d)). */
static double yarn_corr_dim(double rot, int dim, double base, int orig_ctx) {
    return dim * log(orig_ctx / (rot * 2.0 * M_PI)) / (2.0 * log(base));
}

int rope_init(rope_table *r, const rope_params *p) {
    memset(r, 0, sizeof *r);
    if (p->n_rot <= 0 || p->n_rot % 2) return seek_error("rope: dimension count %d must be even and > 0", p->n_rot);
    if (!(p->base > 0.0f)) return seek_error("rope: frequency base %g must be > 0", (double)p->base);
    int half = p->n_rot / 2;
    r->n_rot = p->n_rot;
    r->neox = p->neox;
    r->attn = 1.0f;
    if (!(r->inv_freq = seek_malloc(sizeof(float) * (size_t)half))) return -1;
    double low = 0, high = 0;
    if (p->scaling == ROPE_SCALING_YARN) {
        if (!(p->factor > 0.0f) || p->orig_ctx <= 0) {
            rope_free(r);
            return seek_error("rope: YaRN needs a factor > 0 and an original context length > 0");
        }
        double bf = p->beta_fast > 0 ? p->beta_fast : 32.0, bs = p->beta_slow > 0 ? p->beta_slow : 1.0;
        low = floor(yarn_corr_dim(bf, p->n_rot, p->base, p->orig_ctx));
        high = ceil(yarn_corr_dim(bs, p->n_rot, p->base, p->orig_ctx));
        if (low < 0) low = 0;
        if (high > p->n_rot - 1) high = p->n_rot - 1;
        if (high == low) high += 0.001;   /* avoid dividing by zero in the ramp */
    }
    for (int j = 0; j < half; j++) {
        double f = 1.0 / pow((double)p->base, (2.0 * j) / p->n_rot);
        if (p->scaling == ROPE_SCALING_LINEAR && p->factor > 0) f /= p->factor;
        if (p->scaling == ROPE_SCALING_YARN) {
            /* ramp 0 -> keep the original frequency (high-frequency dims extrapolate),
             * ramp 1 -> interpolate (divide by factor); linear in between */
            double ramp = (j - low) / (high - low);
            ramp = ramp < 0 ? 0 : ramp > 1 ? 1 : ramp;
            f = f / p->factor * ramp + f * (1.0 - ramp);
        }
        if (p->freq_factors) f /= p->freq_factors[j];
        r->inv_freq[j] = (float)f;
    }
    return 0;
}

void rope_free(rope_table *r) {
    free(r->inv_freq);
    r->inv_freq = NULL;
}

void rope_apply(const rope_table *r, float *x, int pos) {
    int half = r->n_rot / 2;
    for (int j = 0; j < half; j++) {
        float theta = (float)pos * r->inv_freq[j];
        float c = cosf(theta) * r->attn, s = sinf(theta) * r->attn;
        int i0 = r->neox ? j : 2 * j, i1 = r->neox ? j + half : 2 * j + 1;
        float a = x[i0], b = x[i1];
        x[i0] = a * c - b * s;
        x[i1] = a * s + b * c;
    }
}

void rope_llama3_factors(float *out, int n_rot, float base, float factor, float low_freq_factor,
                         float high_freq_factor, int orig_ctx) {
    double low_wavelen = orig_ctx / (double)low_freq_factor;
    double high_wavelen = orig_ctx / (double)high_freq_factor;
    for (int j = 0; j < n_rot / 2; j++) {
        double f = 1.0 / pow((double)base, (2.0 * j) / n_rot);
        double wavelen = 2.0 * M_PI / f;
        if (wavelen < high_wavelen) out[j] = 1.0f;             /* high frequencies: unchanged */
        else if (wavelen > low_wavelen) out[j] = factor;       /* low frequencies: interpolated */
        else {                                                 /* between: smooth blend */
            double smooth = (orig_ctx / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
            out[j] = (float)(1.0 / ((1.0 - smooth) / factor + smooth));
        }
    }
}
