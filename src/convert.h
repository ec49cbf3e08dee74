/* convert.h - Hugging Face checkpoint directory -> GGUF.
 *
 * Input: config.json, one or many *.safetensors (with or without
 * model.safetensors.index.json), and if present tokenizer.json / tokenizer_config.json.
 * Output: a GGUF file with the tensor names and metadata keys of the GGUF ecosystem for
 * architectures llama (LlamaForCausalLM), qwen2 (Qwen2ForCausalLM) and deepseek2
 * (DeepseekV2ForCausalLM, DeepseekV3ForCausalLM), converted the way llama.cpp's
 * convert_hf_to_gguf.py does it so that files are interchangeable (q/k row permutation for
 * llama, experts stacked into 3-D tensors, llama3 `rope_freqs`, FP8 block-scaled weights
 * dequantized, multi-token-prediction layers left out).
 */
#ifndef SEEK_CONVERT_H
#define SEEK_CONVERT_H

#include <stdbool.h>
#include <stddef.h>

#include "dtype.h"

typedef struct {
    seek_type type;      /* F32, F16, BF16 or Q8_0 for matrices (1-D tensors stay F32) */
    bool progress;       /* progress lines on stderr */
} convert_opts;

/* Returns 0, or -1 with the error set ("<file>: <what>"). */
int convert_hf(const char *hf_dir, const char *out_path, const convert_opts *opts);

/* Read and validate a config.json held in memory, as convert_hf does before touching any
 * tensor (the fuzzer's entry point). Returns 0, or -1 with the error set. */
int convert_check_config(const char *json_text, size_t len);

#endif
