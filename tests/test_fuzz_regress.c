/* test_fuzz_regress.c - every input the fuzzers ever crashed on, plus the seed
 * corpora, run through the same harness code (tests/fuzz/fuzz_*.c) under the
 * normal and sanitizer builds. */
#include <dirent.h>

#include "test.h"
#include "util.h"

#define FUZZ_NO_ENTRY
#include "fuzz/fuzz_gguf.c"
#include "fuzz/fuzz_safetensors.c"

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

int main(void) {
    RUN(gguf_inputs);
    RUN(safetensors_inputs);
    return test_summary();
}
