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
/* The bytes of g's file in the page cache or on their way there (its mapping; 0 for a file
 * read into memory): what a copy made at load must leave room for (seek_alloc_fresh) */
uint64_t repack_file_bytes(const gguf_file *g);
/* Pack them (sets each tensor's packed / packed_stride and md->packed). Without memory for
 * the copies nothing is packed and the kernels run on the file's layout. Returns 0. */
int model_repack(struct seek_model *md);

#endif
