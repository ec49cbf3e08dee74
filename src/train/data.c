/* data.c - token streams for training and the batch sampler.
 *
 * File: "SEEKTOKS", u32 version (1), u32 0, u64 count, then count u32 token ids (LE).
 * A batch is B windows of T+1 tokens. Window starts are drawn from a generator seeded by
 * (seed, step, micro-batch, row) alone, so the data order is fixed by the seed and a resumed
 * run sees exactly the batches the uninterrupted run would have seen. When the stream has a
 * BOS token, windows start at a BOS (a document start), as prompts do at inference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train.h"
#include "util.h"

static const char MAGIC[8] = {'S', 'E', 'E', 'K', 'T', 'O', 'K', 'S'};

int tm_data_write(const char *path, const int32_t *ids, int64_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return seek_error("%s: cannot create", path);
    uint32_t ver[2] = {1, 0};
    uint64_t cnt = (uint64_t)n;
    bool ok = fwrite(MAGIC, 1, 8, f) == 8 && fwrite(ver, 4, 2, f) == 2 && fwrite(&cnt, 8, 1, f) == 1;
    for (int64_t i = 0; ok && i < n; i++) {
        uint32_t v = (uint32_t)ids[i];
        ok = fwrite(&v, 4, 1, f) == 1;
    }
    if (fclose(f) != 0) ok = false;
    return ok ? 0 : seek_error("%s: write failed", path);
}

int tm_data_load(tm_data *d, const char *path, int32_t bos, int32_t n_vocab) {
    memset(d, 0, sizeof *d);
    seek_file_map fm;
    if (seek_map_file(path, &fm)) return -1;
    int rc = -1;
    uint64_t cnt = 0;
    if (fm.size < 24 || memcmp(fm.data, MAGIC, 8)) { seek_error("%s: not a seek token file (SEEKTOKS)", path); goto out; }
    uint32_t ver;
    memcpy(&ver, fm.data + 8, 4);
    memcpy(&cnt, fm.data + 16, 8);
    if (ver != 1) { seek_error("%s: token file version %u (expected 1)", path, ver); goto out; }
    if (cnt > (fm.size - 24) / 4 || cnt * 4 != fm.size - 24) { seek_error("%s: token count %llu does not match the file size", path, (unsigned long long)cnt); goto out; }
    if (!(d->ids = seek_malloc(sizeof(int32_t) * (cnt ? cnt : 1)))) goto out;
    for (uint64_t i = 0; i < cnt; i++) {
        uint32_t v;
        memcpy(&v, fm.data + 24 + 4 * i, 4);
        if (v >= (uint32_t)n_vocab) { seek_error("%s: token %u at %llu is outside the vocabulary (%d)", path, v, (unsigned long long)i, n_vocab); goto out; }
        d->ids[i] = (int32_t)v;
    }
    d->n = (int64_t)cnt;
    d->bos = bos;
    if (bos >= 0) {
        int64_t k = 0;
        for (int64_t i = 0; i < d->n; i++) k += d->ids[i] == bos;
        if (!(d->starts = seek_malloc(sizeof(int64_t) * (size_t)(k ? k : 1)))) goto out;
        for (int64_t i = 0; i < d->n; i++)
            if (d->ids[i] == bos) d->starts[d->n_starts++] = i;
    }
    rc = 0;
out:
    seek_unmap_file(&fm);
    if (rc) tm_data_free(d);
    return rc;
}

void tm_data_free(tm_data *d) {
    free(d->ids);
    free(d->starts);
    memset(d, 0, sizeof *d);
}

void tm_data_batch(const tm_data *d, int32_t *tokens, int B, int T, uint64_t seed, int64_t step, int micro) {
    const int64_t last = d->n - (T + 1);   /* last valid window start (caller checks >= 0) */
    int64_t n_ok = 0;                       /* BOS starts with a whole window after them */
    while (n_ok < d->n_starts && d->starts[n_ok] <= last) n_ok++;
    for (int b = 0; b < B; b++) {
        uint64_t s = seed * 0x100000001B3ull ^ (uint64_t)step * 0x9E3779B97F4A7C15ull ^ ((uint64_t)micro << 40) ^
                     ((uint64_t)b << 20);
        tm_rng_next(&s);
        uint64_t r = tm_rng_next(&s);
        int64_t at = n_ok > 0 ? d->starts[r % (uint64_t)n_ok] : (int64_t)(r % (uint64_t)(last + 1));
        memcpy(tokens + (size_t)b * (T + 1), d->ids + at, sizeof(int32_t) * (size_t)(T + 1));
    }
}
