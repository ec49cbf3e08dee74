/* profile.h - where one-token (decode) matrix products spend their time.
 *
 * SEEK_PROFILE=1 in the environment makes matmul_many() time every call whose items all
 * have one token and, at exit, print to stderr one line per kind of call (number of items,
 * type of the largest weight): calls, MiB of weights read, milliseconds and GB/s. Compare
 * the GB/s with the streaming probe of `seek bench` to see which products fall short of
 * the memory wall, and the total with the decode time to see what is not a product.
 * Off (the default), it costs one branch per call. */
#ifndef SEEK_PROFILE_H
#define SEEK_PROFILE_H

#include <stdbool.h>

#include "ops.h"

bool prof_enabled(void);
double prof_now(void);   /* monotonic seconds */
/* Account a finished call of n items that took `seconds`. Thread-safe. */
void prof_matmul(const mm_item *items, int n, double seconds);

#endif
