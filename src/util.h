/* util.h - errors, checked allocation, whole-file mapping.
 *
 * Error convention used by the whole library: a function that fails returns
 * NULL / -1 / false and records one human-readable line with seek_error().
 * The CLI prints it as "seek: <message>" and exits non-zero. Messages name
 * the thing that is wrong (usually the file) first: "model.gguf: ...".
 */
#ifndef SEEK_UTIL_H
#define SEEK_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define SEEK_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SEEK_PRINTF(a, b)
#endif

/* Record the last error of this thread (printf-style). Always returns -1. */
int seek_error(const char *fmt, ...) SEEK_PRINTF(1, 2);
/* Prefix the current error with "<prefix>: " (adds context on the way up). */
int seek_error_prefix(const char *fmt, ...) SEEK_PRINTF(1, 2);
/* The last error of this thread ("" if none). */
const char *seek_last_error(void);

/* malloc/calloc/realloc that record "out of memory (N bytes)" and return NULL. */
void *seek_malloc(size_t n);
void *seek_calloc(size_t n, size_t size);
void *seek_realloc(void *p, size_t n);
char *seek_strdup(const char *s);

/* Memory for the big buffers decode streams through once per token (the weights packed at
 * load, MLA's prepared matrices) and for the bandwidth probe that measures them: anonymous
 * pages aligned to 2 MiB; with `huge`, offered to transparent huge pages (MADV_HUGEPAGE), so
 * the hardware walks one page table entry per 2 MiB instead of per 4 KiB (docs/kernels.md,
 * "Huge pages": a streaming read ~5-10 % faster, the dense decodes ~5 %). SEEK_HUGEPAGES=0
 * keeps 4 KiB pages. Zero-filled; NULL with the error set when out of memory. Free with
 * seek_free_big(p, n), n as allocated. Under AddressSanitizer plain calloc, so reads past
 * the end are still caught. */
void *seek_alloc_big(size_t n, bool huge);
void seek_free_big(void *p, size_t n);
/* How many bytes of [p, p + n) the kernel backs with huge pages now (/proc/self/smaps:
 * AnonHugePages of the mappings that overlap it, at most n; a neighbouring mapping merged
 * into the same one counts too). 0 where smaps cannot be read. */
uint64_t seek_huge_page_bytes(const void *p, size_t n);
/* How many bytes of the mapped range [p, p + n) are in memory now (mincore: the page cache
 * for a file mapping); 0 where it cannot tell (not mapped). */
uint64_t seek_resident_bytes(const void *p, size_t n);
/* Whether the memory free right now (not counting the page cache) holds `bytes`. */
bool seek_free_memory_holds(uint64_t bytes);
/* Working memory written soon after (activations, KV caches): seek_alloc_big with 2 MiB pages
 * when the free memory holds n with 1 GiB to spare (where it does not, the kernel would
 * compact memory inside the first writes: docs/kernels.md, "Huge pages"). Zeroed; free
 * with seek_free_big(p, n). */
void *seek_alloc_work(size_t n);

/* Grow a heap array so it holds at least `need` elements of `elem` bytes:
 * `*pptr` is the array (a `T **` passed as void *), `*cap` its capacity in elements,
 * doubled from `min_cap`. Returns 0, or -1 (error set, array unchanged). */
int seek_reserve(void *pptr, size_t *cap, size_t need, size_t elem, size_t min_cap);
char *seek_strndup(const char *s, size_t n);

/* Overflow-checked size arithmetic: return false on overflow. */
static inline bool seek_mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_mul_overflow(a, b, out);
}
static inline bool seek_add_ok(uint64_t a, uint64_t b, uint64_t *out) {
    return !__builtin_add_overflow(a, b, out);
}

/* A read-only view of a whole file (mmap'd when possible). */
typedef struct {
    const uint8_t *data;
    uint64_t size;
    int mapped;       /* 1: munmap on close, 0: free() */
} seek_file_map;

/* Map `path` read-only. Returns 0, or -1 with the error set ("<path>: why"). */
int seek_map_file(const char *path, seek_file_map *m);
void seek_unmap_file(seek_file_map *m);

/* Read a whole (small) file into a NUL-terminated heap buffer. */
char *seek_read_file(const char *path, size_t *len);

/* Human-readable byte count, e.g. "1.50 GiB", into buf. */
const char *seek_fmt_bytes(uint64_t n, char *buf, size_t cap);

#endif
