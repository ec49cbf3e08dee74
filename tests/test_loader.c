/* test_loader.c - every way the model loader (src/model.c) rejects a file, each hit by a
 * GGUF that is a converted fixture with exactly one thing wrong: a key removed or changed,
 * a tensor dropped, reshaped or retyped. Each must fail with its own message, without
 * allocating from the bad value first (the issue-13 cases: MoE sizes in a file without MoE
 * blocks once overflowed an int and tried to allocate 40 GB). */
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "convert.h"
#include "forward.h"
#include "kvcache.h"
#include "gguf.h"
#include "model.h"
#include "repack.h"
#include "test.h"
#include "util.h"

static char tmpdir[64];
static char v2[128], v3[128], llama[128], qwen[128];

/* One edit of a source file. Key values: 'u' u32, 'i' i32, 'f' f32, 's' string, 'd' delete. */
typedef struct {
    const char *key;
    char kind;
    double num;
    const char *str;
} kv_set;

typedef struct {
    kv_set kv[4];
    const char *drop_tensor;     /* leave this tensor out */
    const char *swap_tensor;     /* swap ne[0] and ne[1] (same bytes, other shape) */
    const char *f16_tensor;      /* store this tensor as F16 (data zeroed) */
    const char *rename_from, *rename_to;
} edit;

static const kv_set *find_set(const edit *e, const char *key) {
    for (int i = 0; i < 4; i++)
        if (e->kv[i].key && !strcmp(e->kv[i].key, key)) return &e->kv[i];
    return NULL;
}

/* gguf_copy_metadata's skip: the keys the edit sets or drops */
static bool edited_key(const char *key, void *e) { return find_set(e, key) != NULL; }

static int put(gguf_writer *w, const kv_set *s) {
    switch (s->kind) {
    case 'u': return gguf_set_u32(w, s->key, (uint32_t)s->num);
    case 'i': return gguf_set_i32(w, s->key, (int32_t)s->num);
    case 'f': return gguf_set_f32(w, s->key, (float)s->num);
    case 's': return gguf_set_str(w, s->key, s->str);
    default: return 0;   /* 'd' */
    }
}

/* Write `src` with edit `e` applied to dst; 0 on success. */
static int mutate(const char *src, const char *dst, const edit *e) {
    gguf_file *g = gguf_open(src);
    if (!g) return -1;
    gguf_writer *w = gguf_writer_new();
    int rc = -1;
    void *zero = NULL;
    if (gguf_copy_metadata(w, g, edited_key, (void *)e)) goto out;
    for (int i = 0; i < 4; i++)
        if (e->kv[i].key && put(w, &e->kv[i])) goto out;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const gguf_tensor *t = &g->tensors[i];
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
        if (e->drop_tensor && !strcmp(name, e->drop_tensor)) continue;
        int64_t ne[4] = {t->ne[0], t->ne[1], t->ne[2], t->ne[3]};
        seek_type type = t->type;
        const void *data = t->data;
        if (e->swap_tensor && !strcmp(name, e->swap_tensor)) { ne[0] = t->ne[1]; ne[1] = t->ne[0]; }
        if (e->f16_tensor && !strcmp(name, e->f16_tensor)) {
            type = SEEK_TYPE_F16;
            free(zero);
            data = zero = calloc((size_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]), 2);
        }
        const char *nm = e->rename_from && !strcmp(name, e->rename_from) ? e->rename_to : name;
        uint32_t nd = t->n_dims;
        if (e->swap_tensor && !strcmp(name, e->swap_tensor) && nd < 2) nd = 2;
        if (gguf_add_tensor(w, nm, type, nd, ne, data, false)) goto out;
    }
    rc = gguf_write(w, dst);
out:
    free(zero);
    gguf_writer_free(w);
    gguf_close(g);
    return rc;
}

/* Load src with edit e; the load must fail with a message containing `want`. */
static int rejects(const char *src, edit e, const char *want) {
    char dst[160];
    snprintf(dst, sizeof dst, "%s/bad.gguf", tmpdir);
    if (mutate(src, dst, &e)) {
        printf("# mutate failed: %s\n", seek_last_error());
        return 0;
    }
    seek_model *m = model_load(dst);
    if (m) {
        printf("# %s: loaded, expected an error containing '%s'\n", src, want);
        model_free(m);
        return 0;
    }
    if (!strstr(seek_last_error(), want)) {
        printf("# error '%s' lacks '%s'\n", seek_last_error(), want);
        return 0;
    }
    return 1;
}

#define U(k, v) {k, 'u', v, NULL}
#define F(k, v) {k, 'f', v, NULL}
#define S(k, v) {k, 's', 0, v}
#define DEL(k) {k, 'd', 0, NULL}

TEST(fixtures_load) {
    /* the unedited files load: every rejection below is caused by its one edit */
    const char *all[] = {v2, v3, llama, qwen};
    for (int i = 0; i < 4; i++) {
        char dst[160];
        snprintf(dst, sizeof dst, "%s/same.gguf", tmpdir);
        edit e = {0};
        CHECK(mutate(all[i], dst, &e) == 0);
        seek_model *m = model_load(dst);
        CHECK_MSG(m, "%s: %s", all[i], seek_last_error());
        model_free(m);
    }
}

TEST(metadata_rejections) {
    CHECK(rejects(v2, (edit){.kv = {DEL("general.architecture")}}, "missing metadata key 'general.architecture'"));
    CHECK(rejects(v2, (edit){.kv = {S("general.architecture", "gpt2")}}, "unsupported architecture 'gpt2'"));
    CHECK(rejects(v2, (edit){.kv = {DEL("deepseek2.block_count")}}, "missing metadata key 'deepseek2.block_count'"));
    CHECK(rejects(v2, (edit){.kv = {S("deepseek2.embedding_length", "64")}}, "'deepseek2.embedding_length' is not an integer"));
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.block_count", 0)}}, "'deepseek2.block_count' = 0 is out of range"));
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.attention.head_count", 100000)}}, "attention.head_count' = 100000 is out of range"));
    CHECK(rejects(v2, (edit){.kv = {DEL("deepseek2.attention.layer_norm_rms_epsilon")}}, "missing metadata key 'deepseek2.attention.layer_norm_rms_epsilon'"));
    CHECK(rejects(v2, (edit){.kv = {S("deepseek2.attention.layer_norm_rms_epsilon", "x")}}, "layer_norm_rms_epsilon' is not a number"));
    CHECK(rejects(v2, (edit){.kv = {F("deepseek2.attention.layer_norm_rms_epsilon", INFINITY)}}, "layer_norm_rms_epsilon' is not finite"));
    CHECK(rejects(v2, (edit){.kv = {F("deepseek2.attention.layer_norm_rms_epsilon", 0)}}, "layer_norm_rms_epsilon = 0 is not in (0, 1)"));
    CHECK(rejects(v2, (edit){.kv = {S("deepseek2.rope.scaling.type", "ntk")}}, "unsupported deepseek2.rope.scaling.type 'ntk'"));
    CHECK(rejects(v2, (edit){.kv = {F("deepseek2.rope.scaling.factor", -2)}}, "rope.scaling.factor must be > 0"));
    CHECK(rejects(v2, (edit){.kv = {DEL("deepseek2.rope.scaling.original_context_length")}}, "YaRN rope scaling needs"));
    CHECK(rejects(v2, (edit){.kv = {S("deepseek2.expert_weights_norm", "yes")}}, "'deepseek2.expert_weights_norm' is not a bool"));
}

TEST(dense_hparam_rejections) {
    CHECK(rejects(llama, (edit){.kv = {U("llama.attention.head_count", 3), U("llama.attention.head_count_kv", 3)}},
                  "embedding_length 64 is not a multiple of head_count 3"));
    CHECK(rejects(llama, (edit){.kv = {U("llama.attention.head_count_kv", 3)}}, "head_count 4 is not a multiple of head_count_kv 3"));
    CHECK(rejects(llama, (edit){.kv = {U("llama.rope.dimension_count", 64)}}, "'llama.rope.dimension_count' = 64 is out of range"));
    CHECK(rejects(llama, (edit){.kv = {DEL("llama.feed_forward_length")}}, "missing metadata key 'llama.feed_forward_length'"));
    CHECK(rejects(qwen, (edit){.kv = {U("qwen2.rope.dimension_count", 7)}}, "rope: dimension count 7 must be even"));
    CHECK(rejects(llama, (edit){.kv = {F("llama.rope.freq_base", 0)}}, "rope: frequency base 0 must be > 0"));
    CHECK(rejects(llama, (edit){.swap_tensor = "rope_freqs.weight"}, "tensor 'rope_freqs.weight' has shape"));
    /* key_length up to 65536 passes the key's own range; the product with head_count may not */
    CHECK(rejects(llama, (edit){.kv = {U("llama.attention.head_count", 65536), U("llama.attention.head_count_kv", 65536),
                                       U("llama.attention.key_length", 65536), U("llama.embedding_length", 65536)}},
                  "exceeds the limit"));
}

TEST(deepseek2_hparam_rejections) {
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.rope.dimension_count", 7)}}, "rope.dimension_count 7 must be even"));
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.rope.dimension_count", 24)}}, "must be even and below attention.key_length 24"));
    CHECK(rejects(v2, (edit){.kv = {DEL("deepseek2.expert_count")}}, "MoE blocks need expert_count"));
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.expert_used_count", 9)}}, "MoE blocks need expert_count"));
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.expert_group_count", 3)}}, "expert_group_count 3 must divide expert_count 8"));
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.expert_group_count", 4), U("deepseek2.expert_group_used_count", 1),
                                    U("deepseek2.expert_used_count", 4)}},
                  "the 1 selected expert groups hold fewer than expert_used_count = 4"));
    CHECK(rejects(v2, (edit){.kv = {DEL("deepseek2.attention.kv_lora_rank")}}, "missing metadata key 'deepseek2.attention.kv_lora_rank'"));
    /* each factor within its range, their product not: checked in 64-bit, never overflowing */
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.attention.head_count", 8), U("deepseek2.attention.kv_lora_rank", 1 << 23)}},
                  "kv_lora_rank = 2147483648 exceeds the limit 1073741824"));
    CHECK(rejects(v2, (edit){.kv = {U("deepseek2.attention.head_count", 65536), U("deepseek2.attention.key_length", 1 << 24),
                                    U("deepseek2.attention.value_length", 1 << 24), U("deepseek2.attention.kv_lora_rank", 1 << 23)}},
                  "head_count * key_length = 1099511627776 exceeds the limit"));
}

/* issue 13, bug 4: a one-block deepseek2 file whose only block is dense still carries MoE
 * sizes; they size the forward pass's scratch buffers and were never checked */
TEST(moe_sizes_checked_without_moe_blocks) {
    edit e = {.kv = {U("deepseek2.block_count", 1), U("deepseek2.expert_feed_forward_length", 1 << 24),
                     U("deepseek2.expert_shared_count", 65536)}};
    CHECK(rejects(v2, e, "expert_feed_forward_length * expert_shared_count = 1099511627776 exceeds the limit"));
    e.kv[2].num = 100;   /* once: a 40 GB allocation attempt before any message */
    CHECK(rejects(v2, e, "expert_feed_forward_length * expert_shared_count = 1677721600 exceeds the limit"));
    /* and a sane one-block file loads and runs */
    edit ok = {.kv = {U("deepseek2.block_count", 1)}};
    char dst[160];
    snprintf(dst, sizeof dst, "%s/one.gguf", tmpdir);
    CHECK(mutate(v2, dst, &ok) == 0);
    seek_model *m = model_load(dst);
    CHECK_MSG(m, "%s", seek_last_error());
    seek_kvcache *c = kvcache_new(m, 4);
    float *lg = malloc(sizeof(float) * 4 * (size_t)m->hp.n_vocab);
    int32_t ids[4] = {1, 2, 3, 4};
    int rc = c && lg ? model_forward(m, c, ids, 4, 0, lg, NULL) : -1;
    free(lg);
    kvcache_free(c);
    model_free(m);
    CHECK_MSG(rc == 0, "%s", seek_last_error());
}

TEST(tensor_rejections) {
    CHECK(rejects(v2, (edit){.drop_tensor = "token_embd.weight"}, "missing tensor 'token_embd.weight'"));
    CHECK(rejects(v2, (edit){.drop_tensor = "output_norm.weight"}, "missing tensor 'output_norm.weight'"));
    CHECK(rejects(v2, (edit){.drop_tensor = "blk.1.attn_norm.weight"}, "missing tensor 'blk.1.attn_norm.weight'"));
    CHECK(rejects(v2, (edit){.swap_tensor = "blk.0.attn_q.weight"}, "tensor 'blk.0.attn_q.weight' has shape [96, 64, 1, 1], expected [64, 96, 1, 1]"));
    CHECK(rejects(v2, (edit){.swap_tensor = "output.weight"}, "tensor 'output.weight' has shape"));
    CHECK(rejects(v2, (edit){.f16_tensor = "blk.0.ffn_norm.weight"}, "tensor 'blk.0.ffn_norm.weight' has type F16, expected F32"));
    CHECK(rejects(v2, (edit){.drop_tensor = "blk.2.attn_kv_b.weight"}, "missing tensor 'blk.2.attn_kv_b.weight' (or attn_k_b + attn_v_b)"));
    CHECK(rejects(v2, (edit){.drop_tensor = "blk.1.ffn_gate_exps.weight"}, "missing tensor 'blk.1.ffn_gate_exps.weight'"));
    CHECK(rejects(v2, (edit){.drop_tensor = "blk.1.ffn_up_shexp.weight"}, "missing tensor 'blk.1.ffn_up_shexp.weight'"));
    CHECK(rejects(v2, (edit){.drop_tensor = "blk.0.ffn_down.weight"}, "missing tensor 'blk.0.ffn_down.weight'"));
    CHECK(rejects(v2, (edit){.rename_from = "blk.0.attn_q.weight", .rename_to = "blk.0.attn_q_a.weight"},
                  "blk.0 has attn_q_a but attention.q_lora_rank is 0"));
    CHECK(rejects(v3, (edit){.drop_tensor = "blk.0.attn_q_a_norm.weight"}, "missing tensor 'blk.0.attn_q_a_norm.weight'"));
    CHECK(rejects(qwen, (edit){.drop_tensor = "blk.0.attn_q.bias"}, "missing tensor 'blk.0.attn_q.bias'"));
    CHECK(rejects(llama, (edit){.swap_tensor = "blk.0.attn_k.weight"}, "tensor 'blk.0.attn_k.weight' has shape"));
}

static int convert_to(const char *hf, char *out, const char *name) {
    snprintf(out, 128, "%s/%s.gguf", tmpdir, name);
    convert_opts o = {.type = SEEK_TYPE_F32};
    return convert_hf(hf, out, &o);
}

#if !defined(__SANITIZE_ADDRESS__)   /* (there seek_alloc_big is calloc) */
/* The VmFlags of the mapping that holds p (/proc/self/smaps), "" when not found */
static void vm_flags(const void *p, char *out, size_t cap) {
    out[0] = 0;
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return;
    char line[512];
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2)   /* a mapping's first line; the others start "Name:" */
            in = (uintptr_t)p >= a && (uintptr_t)p < b;
        else if (in && !strncmp(line, "VmFlags:", 8)) {
            snprintf(out, cap, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}
#endif

/* seek_alloc_big (the packed weights' and the probe's memory): zeroed, 2 MiB aligned, every
 * byte writable, and the huge page advice (smaps flag "hg") given exactly when asked for and
 * SEEK_HUGEPAGES is not 0 */
TEST(big_alloc_aligned_zeroed_and_advised) {
#if defined(__SANITIZE_ADDRESS__)
    printf("# big_alloc: plain calloc under AddressSanitizer\n");
#else
    static const size_t sizes[] = {1, 4096, (2u << 20) - 1, (2u << 20) + 1, 5u << 20};
    const bool thp = access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
    for (int env = 0; env < 2; env++) {
        if (env) setenv("SEEK_HUGEPAGES", "0", 1);
        for (int huge = 0; huge < 2; huge++)
            for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
                const size_t n = sizes[k];
                uint8_t *p = seek_alloc_big(n, huge);
                CHECK(p);
                CHECK_MSG((uintptr_t)p % (2u << 20) == 0, "n %zu: %p not 2 MiB aligned", n, (void *)p);
                size_t nz = 0;
                for (size_t i = 0; i < n; i++) nz += p[i] != 0;
                CHECK_MSG(nz == 0, "n %zu: %zu bytes not zero", n, nz);
                memset(p, 0xa5, n);
                char fl[512];
                vm_flags(p, fl, sizeof fl);
                CHECK_MSG(fl[0], "no smaps entry for %p", (void *)p);
                /* (a kernel without THP refuses the advice: then no flag either way) */
                const bool hg = strstr(fl, " hg") != NULL, want = huge && !env && thp;
                CHECK_MSG(hg == want, "n %zu huge %d SEEK_HUGEPAGES %s: VmFlags%s", n, huge, env ? "0" : "unset", fl);
                seek_free_big(p, n);
            }
    }
    unsetenv("SEEK_HUGEPAGES");
#endif
}

/* The working memory a prompt writes first (the KV cache's rows, the forward pass's
 * workspace) is seek_alloc_work's: zeroed, and offered 2 MiB pages where the free memory
 * holds it with 1 GiB to spare (on these VMs a first-touched 4 KiB page costs ~12 us: a
 * first 512-token prompt of the 1.5B faulted ~19k of them, most inside its products) */
TEST(work_memory_in_huge_pages) {
#if defined(__SANITIZE_ADDRESS__)
    printf("# work memory: plain calloc under AddressSanitizer\n");
#else
    const bool thp = access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
    const size_t n = (3u << 20) + 5;
    uint8_t *p = seek_alloc_work(n);
    CHECK(p);
    size_t nz = 0;
    for (size_t i = 0; i < n; i++) nz += p[i] != 0;
    CHECK(nz == 0);
    char fl[512];
    vm_flags(p, fl, sizeof fl);
    /* (measured or not, a buffer this small asks for 2 MiB pages as a whole) */
    const bool want = thp && seek_page_rule(n, 0, seek_free_memory(), seek_available_memory()) != PAGES_SMALL;
    CHECK_MSG((strstr(fl, " hg") != NULL) == want, "VmFlags%s", fl);
    seek_free_big(p, n);

    seek_model *m = model_load(qwen);
    CHECK_MSG(m, "%s", seek_last_error());
    if (!m) return;
    seek_kvcache *c = kvcache_new_type(m, 64, SEEK_TYPE_F16);
    CHECK(c);
    float *ws = ws_get(m, WS_ACT, 1000);
    CHECK(ws);
    if (c && ws) {
        const void *bufs[] = {c->k, c->v, ws};
        for (int i = 0; i < 3; i++) {
            vm_flags(bufs[i], fl, sizeof fl);
            CHECK_MSG((strstr(fl, " hg") != NULL) == want, "buffer %d: VmFlags%s", i, fl);
        }
        nz = 0;
        for (size_t i = 0; i < (size_t)c->n_ctx * c->n_layer * c->k_row; i++) nz += c->k[i] != 0;
        CHECK(nz == 0);
    }
    kvcache_free(c);
    model_free(m);
#endif
}

/* The page rule of a fresh buffer: 2 MiB pages when the free memory holds the buffer, what
 * must stay (keep) and 1 GiB; measured when only the available memory (with the page cache)
 * does; 4 KiB pages when neither does or the sum overflows. MemAvailable is the field read. */
TEST(page_rule_and_available_memory) {
    const uint64_t G = UINT64_C(1) << 30, M = UINT64_C(1) << 20;
    CHECK(seek_page_rule(M, 0, G + M, G + M) == PAGES_HUGE);                 /* exactly enough free */
    CHECK(seek_page_rule(M, 0, G + M - 1, G + M) == PAGES_MEASURE);          /* one byte short: measure */
    CHECK(seek_page_rule(M, 0, G + M - 1, G + M - 1) == PAGES_SMALL);        /* not available either */
    CHECK(seek_page_rule(M, 2 * G, 3 * G, 4 * G) == PAGES_MEASURE);          /* keep counts */
    CHECK(seek_page_rule(M, 2 * G, 3 * G + M, 4 * G) == PAGES_HUGE);
    CHECK(seek_page_rule(M, 2 * G, G, 3 * G) == PAGES_SMALL);
    CHECK(seek_page_rule(UINT64_MAX, 1, UINT64_MAX, UINT64_MAX) == PAGES_SMALL);   /* overflow */
    CHECK(seek_page_rule(1, UINT64_MAX - M, UINT64_MAX, UINT64_MAX) == PAGES_SMALL);
    FILE *f = fopen("/proc/meminfo", "r");
    unsigned long long kb = 0, total_kb = 0;
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) continue;
        (void)sscanf(line, "MemTotal: %llu kB", &total_kb);
    }
    if (f) fclose(f);
    const uint64_t avail = seek_available_memory(), fr = seek_free_memory();
    CHECK(avail > 0 && fr > 0);
    CHECK_MSG(avail <= (uint64_t)total_kb << 10, "available %llu of total %llu kB", (unsigned long long)avail, total_kb);
    if (kb) {   /* the same field, a moment later: within 256 MiB (below it under a cgroup limit) */
        FILE *cg = fopen("/sys/fs/cgroup/memory.max", "r");
        char lim[64] = "max";
        if (cg && !fgets(lim, sizeof lim, cg)) snprintf(lim, sizeof lim, "max");
        if (cg) fclose(cg);
        const bool limited = strncmp(lim, "max", 3) != 0;
        const int64_t d = (int64_t)avail - (int64_t)((uint64_t)kb << 10);
        CHECK_MSG(d < (256 << 20) && (limited || d > -(256 << 20)), "MemAvailable %llu kB, seek %llu bytes", kb,
                  (unsigned long long)avail);
    }
}

/* seek_alloc_measured: zeroed; its first quarter (at most 64 MiB) asked for 2 MiB pages, the
 * next as many not (the rest follows the faster of the two); a buffer under 8 MiB asks as a
 * whole. seek_alloc_fresh: SEEK_HUGEPAGES=1 always asks, =0 never. */
TEST(measured_and_fresh_allocations) {
#if defined(__SANITIZE_ADDRESS__)
    printf("# measured allocation: plain calloc under AddressSanitizer\n");
#else
    const bool thp = access("/sys/kernel/mm/transparent_hugepage/enabled", F_OK) == 0;
    static const size_t sizes[] = {(1u << 20) + 3, (40u << 20) + 7, 300u << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        const size_t n = sizes[k], len = (n + (2u << 20) - 1) & ~(size_t)((2u << 20) - 1);
        const size_t probe = len / 4 < (64u << 20) ? (len / 4) & ~(size_t)((2u << 20) - 1) : (64u << 20);
        uint8_t *p = seek_alloc_measured(n);
        CHECK(p);
        if (!p) continue;
        size_t nz = 0;
        for (size_t i = 0; i < n; i += 509) nz += p[i] != 0;
        nz += p[n - 1] != 0;
        CHECK_MSG(nz == 0, "n %zu: %zu bytes not zero", n, nz);
        char fl[512];
        vm_flags(p, fl, sizeof fl);
        CHECK_MSG((strstr(fl, " hg") != NULL) == thp, "n %zu, first part: VmFlags%s", n, fl);
        if (probe) {
            vm_flags(p + probe, fl, sizeof fl);
            CHECK_MSG(strstr(fl, " hg") == NULL, "n %zu, 4 KiB part: VmFlags%s", n, fl);
        }
        seek_free_big(p, n);
    }
    for (int one = 0; one < 2; one++) {
        setenv("SEEK_HUGEPAGES", one ? "1" : "0", 1);
        const size_t n = 5u << 20;
        uint8_t *p = seek_alloc_fresh(n, UINT64_MAX / 2);   /* no memory holds that: only the variable decides */
        CHECK(p);
        char fl[512];
        vm_flags(p, fl, sizeof fl);
        CHECK_MSG((strstr(fl, " hg") != NULL) == (one && thp), "SEEK_HUGEPAGES=%d: VmFlags%s", one, fl);
        seek_free_big(p, n);
    }
    unsetenv("SEEK_HUGEPAGES");
#endif
}

int main(void) {
    if (test_mkdtemp(tmpdir, "loader")) return 1;
    if (convert_to("tests/data/hf/deepseek-v2-lite-tiny", v2, "v2") || convert_to("tests/data/hf/deepseek-v3-tiny", v3, "v3") ||
        convert_to("tests/data/hf/llama-tiny", llama, "llama") || convert_to("tests/data/hf/qwen2-tiny", qwen, "qwen")) {
        printf("FAIL test_loader.c:setup: convert: %s\n", seek_last_error());
        return 1;
    }
    RUN(fixtures_load);
    RUN(metadata_rejections);
    RUN(dense_hparam_rejections);
    RUN(deepseek2_hparam_rejections);
    RUN(moe_sizes_checked_without_moe_blocks);
    RUN(tensor_rejections);
    RUN(big_alloc_aligned_zeroed_and_advised);
    RUN(page_rule_and_available_memory);
    RUN(measured_and_fresh_allocations);
    RUN(work_memory_in_huge_pages);
    test_rmdir(tmpdir);
    return test_summary();
}
