/* kern_dec2.h - shared by the kernel tests: a packed type's two-tile decode (kern_packed.dec2,
 * kernels.h) against the bits of a whole product.
 *
 * whole[c * os + r] holds (row r, column c) of the product that `packed` (rows rows of n
 * values, pk's layout) gives with the activation rows at act (stride as). Pairs of tiles, each
 * with its own column (the first and the last, one column when cols is 1): tiles of up to 64
 * rows (64 where the matrix has them) from group 0 and from group 1, the zero-padded last
 * group, tiles of different heights (the taller one's rows past the shorter go to mm), one
 * tile with itself. Every row of each tile must carry whole's bits and nothing before or
 * after a tile may be written. Returns 0, or the number of the first failing pair. */
#ifndef SEEK_TEST_KERN_DEC2_H
#define SEEK_TEST_KERN_DEC2_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/kernels.h"

static int dec2_differs(const kern_packed *pk, int64_t n, const uint8_t *packed, int rows, const uint8_t *act, size_t as,
                        int cols, const float *whole, size_t os) {
    if (!pk->dec2) return 0;
    enum { G = 8, MAX = 64 };   /* guard floats before and after each tile's output */
    const size_t gb = pk->bytes(n, KERN_PACK_ROWS);
    const int last = (rows - 1) / KERN_PACK_ROWS, top = rows < MAX ? rows : MAX, tail = rows - KERN_PACK_ROWS * last;
    const int low = rows < 16 ? rows : 16, one = rows > 16 ? 1 : 0, from1 = rows - 16 * one < MAX ? rows - 16 * one : MAX;
    /* {first group a, rows a, first group b, rows b} */
    const int pairs[][4] = {{0, top, last, tail}, {last, tail, 0, top}, {0, low, 0, top}, {0, top, 0, top}, {one, from1, 0, low}};
    float ba[G + MAX + G], bb[G + MAX + G];
    for (int k = 0; k < 5; k++) {
        const int ga = pairs[k][0], na = pairs[k][1], gbb = pairs[k][2], nb = pairs[k][3];
        const int ca = 0, cb = cols - 1;   /* a's column and b's (the same one when cols is 1) */
        for (int i = 0; i < G + MAX + G; i++) ba[i] = bb[i] = NAN;
        pk->dec2(n, gb, packed + (size_t)ga * gb, na, act + (size_t)ca * as, ba + G, packed + (size_t)gbb * gb, nb,
                 act + (size_t)cb * as, bb + G);
        if (memcmp(ba + G, whole + (size_t)ca * os + (size_t)ga * KERN_PACK_ROWS, sizeof(float) * (size_t)na) ||
            memcmp(bb + G, whole + (size_t)cb * os + (size_t)gbb * KERN_PACK_ROWS, sizeof(float) * (size_t)nb))
            return k + 1;
        for (int i = 0; i < G + MAX + G; i++)   /* nothing written outside the tiles */
            if ((i < G || i >= G + na) && !isnan(ba[i])) return k + 1;
        for (int i = 0; i < G + MAX + G; i++)
            if ((i < G || i >= G + nb) && !isnan(bb[i])) return k + 1;
    }
    return 0;
}

#endif
