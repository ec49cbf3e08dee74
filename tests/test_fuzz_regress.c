/* test_fuzz_regress.c - every input the fuzzers ever crashed on, plus the seed
 * corpora, run through the same harness code (tests/fuzz/fuzz_*.c) under the
 * normal and sanitizer builds. */
#include <dirent.h>

#include "test.h"
#include "util.h"

#define FUZZ_NO_ENTRY
#include "fuzz/fuzz_gguf.c"
#include "fuzz/fuzz_safetensors.c"
#include "fuzz/fuzz_model.c"
#include "fuzz/fuzz_hfconfig.c"
#include "fuzz/fuzz_tokenizer.c"
#include "fuzz/fuzz_chat.c"
#include "convert.h"

static int run_dir(const char *dir, int (*fn)(const uint8_t *, size_t)) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len;
        char *buf = seek_read_file(path, &len);
        if (!buf) continue;
        fn((const uint8_t *)buf, len);   /* must return: a crash fails the test program */
        free(buf);
        n++;
    }
    closedir(d);
    return n;
}

TEST(gguf_inputs) {
    CHECK(run_dir("tests/data/fuzz-regress/gguf", fuzz_gguf_one) >= 1);
    CHECK(run_dir("tests/fuzz/seeds/gguf", fuzz_gguf_one) >= 1);
}

TEST(safetensors_inputs) {
    CHECK(run_dir("tests/data/fuzz-regress/safetensors", fuzz_safetensors_one) >= 0);
    CHECK(run_dir("tests/fuzz/seeds/safetensors", fuzz_safetensors_one) >= 1);
}

TEST(model_inputs) {
    CHECK(run_dir("tests/data/fuzz-regress/model", fuzz_model_one) >= 2);
    CHECK(run_dir("tests/fuzz/seeds/model", fuzz_model_one) >= 2);
    /* the seeds are complete models (a fuzzer starting from files that fail early learns little) */
    seek_model *m = model_load("tests/fuzz/seeds/model/deepseek2.gguf");
    CHECK_MSG(m, "%s", seek_last_error());
    model_free(m);
    CHECK_MSG((m = model_load("tests/fuzz/seeds/model/llama.gguf")), "%s", seek_last_error());
    model_free(m);
    /* and the regression inputs are refused by the size check, not by anything earlier */
    CHECK(!model_load("tests/data/fuzz-regress/model/moe-shared-100.gguf"));
    CHECK_MSG(strstr(seek_last_error(), "expert_shared_count = 1677721600 exceeds"), "%s", seek_last_error());
}

TEST(hfconfig_inputs) {
    CHECK(run_dir("tests/fuzz/seeds/hfconfig", fuzz_hfconfig_one) >= 5);
    CHECK(run_dir("tests/data/fuzz-regress/hfconfig", fuzz_hfconfig_one) >= 6);
    size_t n;
    char *j = seek_read_file("tests/fuzz/seeds/hfconfig/deepseek-v3-tiny.json", &n);
    CHECK(j);
    int rc = convert_check_config(j, n);
    free(j);
    CHECK_MSG(rc == 0, "%s", seek_last_error());
    CHECK(j = seek_read_file("tests/data/fuzz-regress/hfconfig/fp8-block-2-32.json", &n));
    rc = convert_check_config(j, n);
    free(j);
    CHECK(rc == -1 && strstr(seek_last_error(), "weight_block_size"));
}

TEST(tokenizer_inputs) {
    CHECK(run_dir("tests/fuzz/seeds/tokenizer", fuzz_tokenizer_one) >= 2);
    size_t n;
    char *b = seek_read_file("tests/fuzz/seeds/tokenizer/bpe.bin", &n);
    CHECK(b);
    seek_tokenizer *t = tok_load_json_text(b, strlen(b), NULL, "seed");
    free(b);
    CHECK_MSG(t, "%s", seek_last_error());
    CHECK(tok_find(t, "<think>") >= 0);
    tok_free(t);
}

TEST(chat_inputs) {
    CHECK(run_dir("tests/fuzz/seeds/chat", fuzz_chat_one) >= 9);
}

int main(void) {
    RUN(gguf_inputs);
    RUN(safetensors_inputs);
    RUN(model_inputs);
    RUN(hfconfig_inputs);
    RUN(tokenizer_inputs);
    RUN(chat_inputs);
    return test_summary();
}
