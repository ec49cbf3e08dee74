/* seek.h - the public C API of libseek (what the CLI, server and tools use).
 *
 * Grows with the engine; for now it exposes the file formats, tensor types and tokenizers.
 * Every function that can fail returns NULL / -1 and leaves a one-line message
 * in seek_last_error(). */
#ifndef SEEK_H
#define SEEK_H

#include "../src/util.h"
#include "../src/dtype.h"
#include "../src/gguf.h"
#include "../src/safetensors.h"
#include "../src/tokenizer.h"

#endif
