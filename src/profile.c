/* profile.c - SEEK_PROFILE: matrix products by kind, and attention (see profile.h). */
#include "profile.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dtype.h"
#include "kernels/kernels.h"

enum { KINDS_ITEMS = 65, KINDS_TYPES = 64 };   /* 1..MANY_ITEMS_MAX items x type ids */

static struct { long calls; double bytes, seconds; } kinds[KINDS_ITEMS][KINDS_TYPES];
static struct { long calls; double flops, seconds; } batched[KINDS_TYPES];   /* by the largest weight's type */
static struct { long calls; double seconds; } attn[2];                        /* [0] one token, [1] more */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool enabled;

static void report(void) {
    double bytes = 0, seconds = 0;
    long decode_calls = 0;
    for (int n = 0; n < KINDS_ITEMS; n++)
        for (int t = 0; t < KINDS_TYPES; t++) decode_calls += kinds[n][t].calls;
    if (decode_calls) fprintf(stderr, "profile: one-token matrix products by kind (items, largest weight type)\n");
    for (int n = 0; n < KINDS_ITEMS; n++)
        for (int t = 0; t < KINDS_TYPES; t++) {
            const double b = kinds[n][t].bytes, s = kinds[n][t].seconds;
            if (!kinds[n][t].calls) continue;
            fprintf(stderr, "profile: %2d items %-6s %8ld calls %10.1f MiB %9.1f ms %7.2f GB/s\n", n,
                    seek_type_get((uint32_t)t)->name, kinds[n][t].calls, b / 1048576, s * 1e3, s > 0 ? b / s / 1e9 : 0);
            bytes += b, seconds += s;
        }
    if (decode_calls)
        fprintf(stderr, "profile: all          %19.1f MiB %9.1f ms %7.2f GB/s\n", bytes / 1048576, seconds * 1e3,
                seconds > 0 ? bytes / seconds / 1e9 : 0);
    double flops = 0, bsec = 0;
    for (int t = 0; t < KINDS_TYPES; t++) flops += batched[t].flops, bsec += batched[t].seconds;
    if (bsec > 0) {
        fprintf(stderr, "profile: matrix products of several tokens (prompts) by largest weight type\n");
        for (int t = 0; t < KINDS_TYPES; t++)
            if (batched[t].calls)
                fprintf(stderr, "profile:    %-6s %8ld calls %10.3f GFLOP %9.1f ms %7.1f GFLOP/s\n", seek_type_get((uint32_t)t)->name,
                        batched[t].calls, batched[t].flops / 1e9, batched[t].seconds * 1e3,
                        batched[t].seconds > 0 ? batched[t].flops / batched[t].seconds / 1e9 : 0);
        fprintf(stderr, "profile:    all    %19.3f GFLOP %9.1f ms %7.1f GFLOP/s\n", flops / 1e9, bsec * 1e3, flops / bsec / 1e9);
    }
    for (int k = 0; k < 2; k++)
        if (attn[k].calls)
            fprintf(stderr, "profile: attention, %s: %ld calls %9.1f ms\n", k ? "several tokens" : "one token", attn[k].calls,
                    attn[k].seconds * 1e3);
    const long chunks = kern_amx_chunks();   /* (where the tiles ran: docs/kernels.md, "AMX tiles") */
    if (chunks) fprintf(stderr, "profile: AMX tiles: %ld chunks of 16 tokens\n", chunks);
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
    double bytes = 0, largest = -1, flops = 0;
    int type = 0;
    bool decode = true;
    for (int i = 0; i < n; i++) {
        const double b = (double)items[i].w.row_bytes * (double)items[i].w.n_out;
        bytes += b;
        flops += 2.0 * (double)items[i].w.n_in * (double)items[i].w.n_out * (double)items[i].T;
        decode &= items[i].T == 1;
        if (b > largest) largest = b, type = (int)items[i].w.type;
    }
    if (n >= KINDS_ITEMS) n = KINDS_ITEMS - 1;
    if (type < 0 || type >= KINDS_TYPES) return;
    pthread_mutex_lock(&lock);
    if (decode) {
        kinds[n][type].calls++;
        kinds[n][type].bytes += bytes;
        kinds[n][type].seconds += seconds;
    } else {
        batched[type].calls++;
        batched[type].flops += flops;
        batched[type].seconds += seconds;
    }
    pthread_mutex_unlock(&lock);
}

double prof_start(void) { return prof_enabled() ? prof_now() : 0; }

void prof_attention(int T, double t0) {
    if (!prof_enabled()) return;
    const double seconds = prof_now() - t0;
    pthread_mutex_lock(&lock);
    attn[T > 1].calls++;
    attn[T > 1].seconds += seconds;
    pthread_mutex_unlock(&lock);
}
