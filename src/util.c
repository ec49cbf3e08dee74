/* util.c - error messages, checked allocation and file mapping. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
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

/* the first unsigned number in file `path` after `key` (key "" : the file's first), or `none` */
static unsigned long long read_number(const char *path, const char *key, unsigned long long none) {
    FILE *f = fopen(path, "r");
    if (!f) return none;
    char line[256];
    unsigned long long v = none;
    const size_t kl = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, kl)) {
            char *end;
            unsigned long long x = strtoull(line + kl, &end, 10);
            if (end != line + kl) v = x;
            break;
        }
    fclose(f);
    return v;
}

/* the room under this cgroup's memory limit (UINT64_MAX where none is set: "max") */
static uint64_t cgroup_room(void) {
    const unsigned long long limit = read_number("/sys/fs/cgroup/memory.max", "", ULLONG_MAX);
    const unsigned long long used = read_number("/sys/fs/cgroup/memory.current", "", 0);
    return limit == ULLONG_MAX ? UINT64_MAX : limit > used ? limit - used : 0;
}

uint64_t seek_free_memory(void) {
    struct sysinfo si;
    const uint64_t fr = sysinfo(&si) == 0 ? (uint64_t)si.freeram * si.mem_unit : 0, room = cgroup_room();
    return fr < room ? fr : room;
}

uint64_t seek_available_memory(void) {
    const unsigned long long kb = read_number("/proc/meminfo", "MemAvailable:", ULLONG_MAX);
    if (kb == ULLONG_MAX) return seek_free_memory();
    const uint64_t avail = (uint64_t)kb << 10, room = cgroup_room();
    return avail < room ? avail : room;
}

int seek_page_rule(uint64_t n, uint64_t keep, uint64_t free_b, uint64_t avail_b) {
    uint64_t need;
    if (!seek_add_ok(n, keep, &need) || !seek_add_ok(need, UINT64_C(1) << 30, &need)) return PAGES_SMALL;
    if (free_b >= need) return PAGES_HUGE;
    return avail_b >= need ? PAGES_MEASURE : PAGES_SMALL;
}

#if defined(__SANITIZE_ADDRESS__)
void *seek_alloc_measured(size_t n) { return seek_calloc(1, n); }
void *seek_alloc_fresh(size_t n, uint64_t keep) { return (void)keep, seek_calloc(1, n); }
#else
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Seconds to first-write every 4 KiB of [p, p + n) (the kernel's page faults, zeroing and,
 * for 2 MiB pages, any reclaim and compaction it needs first) */
static double touch_s(uint8_t *p, size_t n) {
    volatile uint8_t *v = p;
    const double t0 = now_s();
    for (size_t i = 0; i < n; i += 4096) v[i] = 0;
    return now_s() - t0;
}

enum { PROBE_BYTES = 64u << 20 };

void *seek_alloc_measured(size_t n) {
    uint8_t *p = seek_alloc_big(n, false);
    if (!p) return NULL;
    const size_t len = big_len(n), probe = len / 4 < PROBE_BYTES ? (len / 4) & ~(size_t)(BIG_PAGE - 1) : PROBE_BYTES;
#ifdef MADV_HUGEPAGE
    if (probe == 0) {   /* too small to measure: a few pages either way */
        (void)madvise(p, len, MADV_HUGEPAGE);
        return p;
    }
    (void)madvise(p, probe, MADV_HUGEPAGE);
    const double huge = touch_s(p, probe), small = touch_s(p + probe, probe);
    if (huge <= small) (void)madvise(p + 2 * probe, len - 2 * probe, MADV_HUGEPAGE);
#endif
    return p;
}

void *seek_alloc_fresh(size_t n, uint64_t keep) {
    const char *e = getenv("SEEK_HUGEPAGES");
    if (e && (strcmp(e, "0") == 0 || strcmp(e, "1") == 0)) return seek_alloc_big(n, e[0] == '1');
    const int rule = seek_page_rule(n, keep, seek_free_memory(), seek_available_memory());
    return rule == PAGES_MEASURE ? seek_alloc_measured(n) : seek_alloc_big(n, rule == PAGES_HUGE);
}
#endif

void *seek_alloc_work(size_t n) { return seek_alloc_fresh(n, 0); }

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
