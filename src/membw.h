/* membw.h - one streaming read pass over a buffer with all threads: the memory-bandwidth
 * probe `seek bench` holds decode to, shared with the bench programs so that they measure
 * "the probe" with the very same loop. */
#ifndef SEEK_MEMBW_H
#define SEEK_MEMBW_H

#include <stdbool.h>
#include <stddef.h>

enum { MEM_PASS_STEP = 256 };   /* mem_read_pass reads whole steps of this many bytes */

/* How a pass reads: one stream per task, plain loads or with a software prefetch 4 KiB ahead
 * into L2; or two streams per task (its two halves, a 256-byte step of each in turn, both
 * prefetching). The last: on this project's VMs a core reading two streams read ~15 % more
 * per second than one (docs/bench.md), as the two-stream decode kernels do. */
typedef enum { MEM_PLAIN = 0, MEM_PREFETCH = 1, MEM_TWO_STREAMS = 2 } mem_mode;

/* Reads the first n bytes of buf (n rounded down to a multiple of MEM_PASS_STEP) once, in 1 MiB
 * tasks shared by the thread pool, four 64-byte loads per 256 bytes into four sums.
 * Returns GB/s (1e9 bytes per second) of the bytes read; 0 when nothing was read. */
double mem_read_pass(const void *buf, size_t n, mem_mode mode);

/* The best of `passes` mem_read_pass calls over buf, the three modes in turn (the probe of
 * `seek bench` and of the bench programs; passes a multiple of 3 gives each its share). GB/s. */
double mem_read_best(const void *buf, size_t n, int passes);

/* Fill n bytes with values that differ from every other 8 bytes of the buffer (a multiply-
 * hash of the offset), so that no page is a copy of another: a host that merges identical
 * pages would otherwise serve the probe from a few cached pages (kernel_ab saw a buffer of one
 * repeated byte read 30-33 GB/s where the other probes read 22-27). */
void mem_fill_distinct(void *buf, size_t n);

#endif
