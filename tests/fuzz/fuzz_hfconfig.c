/* fuzz_hfconfig.c - libFuzzer harness for config.json as `seek convert` reads it: any
 * byte string must be accepted or refused with an error, never overflow or divide by 0. */
#include <stddef.h>
#include <stdint.h>

#include "convert.h"

static int fuzz_hfconfig_one(const uint8_t *data, size_t size) {
    convert_check_config((const char *)data, size);
    return 0;
}

#ifndef FUZZ_NO_ENTRY
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_hfconfig_one(data, size); }
#endif
