/* profile.c - SEEK_PROFILE: decode products by kind (see profile.h). */
#include "profile.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dtype.h"

enum { KINDS_ITEMS = 65, KINDS_TYPES = 64 };   /* 1..MANY_ITEMS_MAX items x type ids */

static struct { long calls; double bytes, seconds; } kinds[KINDS_ITEMS][KINDS_TYPES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool enabled;

static void report(void) {
    double bytes = 0, seconds = 0;
    fprintf(stderr, "profile: one-token matrix products by kind (items, largest weight type)\n");
    for (int n = 0; n < KINDS_ITEMS; n++)
        for (int t = 0; t < KINDS_TYPES; t++) {
            const double b = kinds[n][t].bytes, s = kinds[n][t].seconds;
            if (!kinds[n][t].calls) continue;
            fprintf(stderr, "profile: %2d items %-6s %8ld calls %10.1f MiB %9.1f ms %7.2f GB/s\n", n,
                    seek_type_get((uint32_t)t)->name, kinds[n][t].calls, b / 1048576, s * 1e3, s > 0 ? b / s / 1e9 : 0);
            bytes += b, seconds += s;
        }
    fprintf(stderr, "profile: all          %19.1f MiB %9.1f ms %7.2f GB/s\n", bytes / 1048576, seconds * 1e3,
            seconds > 0 ? bytes / seconds / 1e9 : 0);
}

static void init(void) {
    const char *v = getenv("SEEK_PROFILE");
    enabled = v && *v && *v != '0';
    if (enabled) atexit(report);
}

bool prof_enabled(void) {
    pthread_once(&once, init);
    return enabled;
}

double prof_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void prof_matmul(const mm_item *items, int n, double seconds) {
    double bytes = 0, largest = -1;
    int type = 0;
    for (int i = 0; i < n; i++) {
        const double b = (double)items[i].w.row_bytes * (double)items[i].w.n_out;
        bytes += b;
        if (b > largest) largest = b, type = (int)items[i].w.type;
    }
    if (n >= KINDS_ITEMS) n = KINDS_ITEMS - 1;
    if (type < 0 || type >= KINDS_TYPES) return;
    pthread_mutex_lock(&lock);
    kinds[n][type].calls++;
    kinds[n][type].bytes += bytes;
    kinds[n][type].seconds += seconds;
    pthread_mutex_unlock(&lock);
}
