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
/* The memory free now, not counting the page cache (sysinfo), and the memory available
 * (/proc/meminfo MemAvailable: free plus what the kernel can reclaim without swapping,
 * mostly clean page cache; the free memory where it cannot be read), in bytes; each at most
 * the room under the cgroup's limit (/sys/fs/cgroup/memory.max less memory.current) where
 * one is set. */
uint64_t seek_free_memory(void);
uint64_t seek_available_memory(void);
/* Which pages a fresh buffer of n bytes should ask for while `keep` more bytes (a model
 * file still to be read or kept in the page cache) must stay in memory, with 1 GiB to spare:
 * PAGES_HUGE when the free memory holds it (no page has to be reclaimed or moved), PAGES_MEASURE
 * when only the available memory does (2 MiB pages need reclaim and compaction first, whose
 * cost differs from host to host), else PAGES_SMALL (also when the sum overflows). */
enum { PAGES_SMALL, PAGES_HUGE, PAGES_MEASURE };
int seek_page_rule(uint64_t n, uint64_t keep, uint64_t free_b, uint64_t avail_b);
/* seek_alloc_big that measures: the first 64 MiB (a quarter of smaller buffers) are
 * first-written in 2 MiB pages, the next as many in 4 KiB pages, and the rest of the buffer
 * asks for whichever took less time (docs/kernels-history.md, "Huge pages, measured"). */
void *seek_alloc_measured(size_t n);
/* A buffer written soon after its allocation (the packed weights, MLA's copies, the KV cache,
 * the forward pass's workspace): seek_alloc_big or seek_alloc_measured as seek_page_rule
 * says; SEEK_HUGEPAGES=0 always 4 KiB pages, SEEK_HUGEPAGES=1 always 2 MiB. Zeroed; free with
 * seek_free_big(p, n). */
void *seek_alloc_fresh(size_t n, uint64_t keep);
/* seek_alloc_fresh(n, 0) */
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
