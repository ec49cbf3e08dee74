/* util.c - error messages, checked allocation and file mapping. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

static _Thread_local char err_buf[1024];

int seek_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return -1;
}

int seek_error_prefix(const char *fmt, ...) {
    char prefix[512], old[sizeof err_buf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err_buf, sizeof old);
    /* truncation is fine: the message is for humans */
    size_t n = strlen(prefix);
    if (n > sizeof err_buf - 3) n = sizeof err_buf - 3;
    memcpy(err_buf, prefix, n);
    memcpy(err_buf + n, ": ", 2);
    size_t m = strlen(old);
    if (m > sizeof err_buf - n - 3) m = sizeof err_buf - n - 3;
    memcpy(err_buf + n + 2, old, m);
    err_buf[n + 2 + m] = 0;
    return -1;
}

const char *seek_last_error(void) { return err_buf; }

/* "out of memory: cannot allocate 1.50 GiB (1610612736 bytes)": callers that know what the
 * memory was for add it in front (seek_error_prefix) - the size alone is already actionable */
static void oom(uint64_t n) {
    char b[32];
    seek_error("out of memory: cannot allocate %s (%llu bytes)", seek_fmt_bytes(n, b, sizeof b), (unsigned long long)n);
}

void *seek_malloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

#if defined(__SANITIZE_ADDRESS__)
void *seek_alloc_big(size_t n, bool huge) { return (void)huge, seek_calloc(1, n); }
void seek_free_big(void *p, size_t n) { (void)n, free(p); }
#else
enum { BIG_PAGE = 2u << 20 };

static size_t big_len(size_t n) { return n ? (n + BIG_PAGE - 1) & ~(size_t)(BIG_PAGE - 1) : BIG_PAGE; }

void *seek_alloc_big(size_t n, bool huge) {
    const size_t len = big_len(n);
    if (len < n || len + BIG_PAGE < len) return oom(n), NULL;
    /* map one huge page more than needed and trim both ends to a 2 MiB boundary: THP backs
     * only 2 MiB-aligned stretches */
    uint8_t *raw = mmap(NULL, len + BIG_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return oom(n), NULL;
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + BIG_PAGE - 1) & ~(uintptr_t)(BIG_PAGE - 1));
    if (p > raw) munmap(raw, (size_t)(p - raw));
    if (raw + len + BIG_PAGE > p + len) munmap(p + len, (size_t)(raw + len + BIG_PAGE - (p + len)));
    const char *e = getenv("SEEK_HUGEPAGES");
#ifdef MADV_HUGEPAGE
    if (huge && (!e || strcmp(e, "0") != 0)) (void)madvise(p, len, MADV_HUGEPAGE);   /* a hint: without THP, 4 KiB pages */
#endif
    return p;
}

void seek_free_big(void *p, size_t n) {
    if (p) munmap(p, big_len(n));
}
#endif

uint64_t seek_huge_page_bytes(const void *p, size_t n) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return 0;
    const uintptr_t lo = (uintptr_t)p, hi = lo + n;
    uint64_t huge = 0;
    bool in = false;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long a, b, kb;
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2)   /* a mapping's first line; the rest are "Name: ..." */
            in = a < hi && b > lo;
        else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
            huge += (uint64_t)kb << 10;
    }
    fclose(f);
    return huge < n ? huge : n;
}

uint64_t seek_resident_bytes(const void *p, size_t n) {
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (!p || !n || page == 0 || (page & (page - 1))) return 0;
    const uintptr_t lo = (uintptr_t)p, hi = lo + n;
    if (hi < lo) return 0;
    uint64_t res = 0;
    unsigned char vec[4096];   /* one byte a page: 16 MiB of 4 KiB pages per mincore call */
    for (uintptr_t a = lo & ~(page - 1); a < hi;) {
        const uintptr_t b = hi - a > sizeof vec * page ? a + sizeof vec * page : hi;
        const size_t pages = (size_t)((b - a + page - 1) / page);
        if (mincore((void *)a, b - a, vec) != 0) return 0;
        for (size_t i = 0; i < pages; i++)
            if (vec[i] & 1) {   /* the part of this page inside [lo, hi) */
                const uintptr_t s = a + i * page, e = s + page;
                res += (e < hi ? e : hi) - (s > lo ? s : lo);
            }
        a = b;
    }
    return res;
}

bool seek_free_memory_holds(uint64_t bytes) {
    struct sysinfo si;
    if (sysinfo(&si) != 0) return false;
    return (uint64_t)si.freeram * si.mem_unit >= bytes;
}

void *seek_alloc_work(size_t n) {
    uint64_t need;
    return seek_alloc_big(n, seek_add_ok(n, UINT64_C(1) << 30, &need) && seek_free_memory_holds(need));
}

void *seek_calloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    uint64_t total;
    if (!p) {
        if (seek_mul_ok(n, size, &total)) oom(total);
        else seek_error("out of memory: cannot allocate %zu x %zu bytes", n, size);
    }
    return p;
}

void *seek_realloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

int seek_reserve(void *pptr, size_t *cap, size_t need, size_t elem, size_t min_cap) {
    if (need <= *cap) return 0;
    size_t n = *cap ? *cap : (min_cap ? min_cap : 1);
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem) return seek_error("out of memory (array of %zu elements)", need);
        n *= 2;
    }
    void **p = pptr;
    void *q = seek_realloc(*p, n * elem);
    if (!q) return -1;
    *p = q;
    *cap = n;
    return 0;
}

char *seek_strndup(const char *s, size_t n) {
    char *p = seek_malloc(n + 1);
    if (!p) return NULL;
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *seek_strdup(const char *s) { return seek_strndup(s, strlen(s)); }

int seek_map_file(const char *path, seek_file_map *m) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return seek_error("%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return seek_error("%s: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return seek_error("%s: is a directory, expected a file", path);
    }
    m->size = (uint64_t)st.st_size;
    if (m->size == 0) {               /* mmap of 0 bytes fails; an empty view is fine */
        close(fd);
        m->data = (const uint8_t *)"";
        return 0;
    }
    void *p = mmap(NULL, m->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return seek_error("%s: cannot map file: %s", path, strerror(errno));
    m->data = p;
    m->mapped = 1;
    return 0;
}

void seek_unmap_file(seek_file_map *m) {
    if (m->mapped) munmap((void *)m->data, m->size);
    memset(m, 0, sizeof *m);
}

char *seek_read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { seek_error("%s: %s", path, strerror(errno)); return NULL; }
    size_t cap = 0, n = 0;
    char *buf = NULL;
    for (;;) {
        if (seek_reserve(&buf, &cap, n + 2, 1, 1 << 16)) { free(buf); fclose(f); return NULL; }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        seek_error("%s: read error", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    if (len) *len = n;
    return buf;
}

const char *seek_fmt_bytes(uint64_t n, char *buf, size_t cap) {
    const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 4) { v /= 1024; u++; }
    if (u == 0) snprintf(buf, cap, "%llu B", (unsigned long long)n);
    else snprintf(buf, cap, "%.2f %s", v, units[u]);
    return buf;
}
