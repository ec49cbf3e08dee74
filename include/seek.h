/* seek.h - the public C API of libseek (what the CLI, server and tools use).
 *
 * Grows with the engine; for now it exposes the file formats, tensor types, tokenizers,
 * models and their forward pass, conversion, the model-independent half of generation
 * (sampler, stop conditions, chat templates, reasoning split, the generation loop) and
 * the session that joins them (model + tokenizer + template + KV cache).
 * Every function that can fail returns NULL / -1 and leaves a one-line message
 * in seek_last_error(). */
#ifndef SEEK_H
#define SEEK_H

#include "../src/util.h"
#include "../src/dtype.h"
#include "../src/gguf.h"
#include "../src/safetensors.h"
#include "../src/tokenizer.h"
#include "../src/sampler.h"
#include "../src/stop.h"
#include "../src/chat.h"
#include "../src/reasoning.h"
#include "../src/generate.h"
#include "../src/model.h"
#include "../src/convert.h"
#include "../src/session.h"

#endif
