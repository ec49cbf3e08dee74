/* repack.h - weights rearranged at load for the kernels (src/repack.c). */
#ifndef SEEK_REPACK_H
#define SEEK_REPACK_H

#include <stdbool.h>
#include <stdint.h>

#include "gguf.h"

struct seek_model;

/* false when SEEK_REPACK=0 is set */
bool repack_enabled(void);
/* How many tensors of g would be packed at load at the current CPU level, and their bytes. */
int repack_plan(const gguf_file *g, uint64_t *bytes);
/* Whether a copy of `bytes` made at load should ask for 2 MiB pages (seek_alloc_big): only
 * when the free memory holds the copy and the `to_read` bytes of the file still to be read
 * from disk into the page cache, with 1 GiB to spare, so no page has to be reclaimed or moved
 * to make room (docs/kernels.md, "Huge pages"). */
bool repack_huge_pages_fit(uint64_t bytes, uint64_t to_read);
/* The bytes of g's file that are not in the page cache now (0 for a file read into memory). */
uint64_t repack_file_to_read(const gguf_file *g);
/* Pack them (sets each tensor's packed / packed_stride and md->packed). Without memory for
 * the copies nothing is packed and the kernels run on the file's layout. Returns 0. */
int model_repack(struct seek_model *md);

#endif
