#!/usr/bin/python3
"""iq4nl_ref.py IN.f32 OUT.q - IQ4_NL quantization in NumPy, the reference tests/test_iq4nl.c
compares seek's bytes with.

Written from the description of ik_llama.cpp's quantize_iq4_nl without importance matrix
(what llama-quantize runs for IQ4_NL tensors; ggml-quants.c) and of how its release build
rounds, not from seek's C code. Everything is float32, in the reference's order; the three
places where that build fuses a*b+c into one FMA are computed with a single rounding (fma()
below: the exact product and sum in float64 plus the rounding error, so that ties are broken
the right way). Blocks of 32 are done side by side (vectorized); every step is per block.

Per block x[32]:
  w = x*x; max = the first value of largest magnitude; |max| < 1e-15: d = 0
  d = max / 127; L = nearest(x / d) [via the reciprocal]; sqx = sum fma(w q, x), sqq = sum fma(w q, q)
  d = sqx / sqq, best = d sqx
  for t = -7..7, for c in (-127, 113): id = (t + c) / max, same sums; better score -> keep
  up to 1024 greedy single-index moves (cheapest by gradient), kept while the score grows
  store fp16(d); indices = nearest(x * (1/d)) (all nearest(0) when d = 0)
nearest(v): the grid point nearest to v, the upper one on ties, the ends beyond the grid.
"""
import sys

import numpy as np

GRID = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], np.int32)
F = np.float32


def fma(a, b, c):
    """a*b + c rounded once to float32 (a, b, c float32 arrays)."""
    a, b, c = (np.asarray(v, np.float32).astype(np.float64) for v in (a, b, c))
    p = a * b                                  # exact: 24 + 24 bits
    s = p + c                                  # rounded to float64 ...
    bv = s - p
    err = (p - (s - bv)) + (c - bv)            # ... and what that rounding lost (exact)
    f = s.astype(np.float32)
    # s exactly halfway between two float32: the lost part says which way the true sum lies
    other = np.nextafter(f, np.where(s > f.astype(np.float64), np.float32(np.inf), np.float32(-np.inf)))
    half = (f.astype(np.float64) + other.astype(np.float64)) / 2
    tie = (s != f.astype(np.float64)) & (s == half) & (err != 0)
    up = np.maximum(f, other)
    down = np.minimum(f, other)
    return np.where(tie, np.where(err > 0, up, down), f).astype(np.float32)


def nearest(v):
    """Index of the grid point nearest to v (float32 array), ties to the upper one."""
    v64 = v.astype(np.float64)
    k = np.clip(np.searchsorted(GRID, v64, side='right') - 1, 0, 14)
    lo, hi = GRID[k], GRID[k + 1]
    return np.where(v64 - lo < hi - v64, k, k + 1).astype(np.int32)


def sums(x, w, idv):
    """L = nearest(id * x) and the two score sums, in the reference's order (j = 0..31)."""
    L = nearest((idv[:, None] * x).astype(np.float32))
    q = GRID[L].astype(np.float32)
    wq = (w * q).astype(np.float32)
    sqx = np.zeros(len(x), np.float32)
    sqq = np.zeros(len(x), np.float32)
    for j in range(32):
        sqx = fma(wq[:, j], x[:, j], sqx)
        sqq = fma(wq[:, j], q[:, j], sqq)
    return L, sqx, sqq


def quantize(x):
    """x: float32 [nblocks, 32] -> uint8 [nblocks, 18]"""
    n = len(x)
    w = (x * x).astype(np.float32)
    ax = np.abs(x)
    imax = np.argmax(ax, axis=1)               # the first of equal magnitudes
    mx = x[np.arange(n), imax]
    live = ax[np.arange(n), imax] >= F(1e-15)
    mx_safe = np.where(live, mx, F(1))
    with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
        d0 = (-mx_safe / F(-127)).astype(np.float32)
        L, sqx, sqq = sums(x, w, (F(1) / d0).astype(np.float32))
        d = (sqx / sqq).astype(np.float32)
        best = (d * sqx).astype(np.float32)
        bqx, bqq = sqx, sqq
        for t in range(-7, 8):
            for c in (-127, 113):
                idv = (F(t + c) / mx_safe).astype(np.float32)
                L2, qx, qq = sums(x, w, idv)
                keep = (qq > 0) & (qx * qx > best * qq)
                d = np.where(keep, qx / qq, d).astype(np.float32)
                best = np.where(keep, d * qx, best).astype(np.float32)
                bqx = np.where(keep, qx, bqx)
                bqq = np.where(keep, qq, bqq)
                L = np.where(keep[:, None], L2, L)
        # greedy moves, on the blocks still moving (the rest are done)
        sqx, sqq = bqx.copy(), bqq.copy()
        act = np.nonzero(live)[0]
        for _ in range(32 * 32):
            if len(act) == 0:
                break
            xa, wa, La, da = x[act], w[act], L[act], d[act]
            q = GRID[La].astype(np.float32)
            g = ((da[:, None] * wa).astype(np.float32) * fma(np.broadcast_to(-da[:, None], xa.shape), q, xa))
            g = g.astype(np.float32)
            up_ok = (g > 0) & (La < 15)
            dn_ok = (g < 0) & (La > 0)
            step_up = (GRID[np.minimum(La + 1, 15)] - GRID[La]).astype(np.float32) / g
            step_dn = (GRID[np.maximum(La - 1, 0)] - GRID[La]).astype(np.float32) / g
            step = np.where(up_ok, step_up, np.where(dn_ok, step_dn, F(np.inf))).astype(np.float32)
            r = np.arange(len(act))
            bj = np.argmin(step, axis=1)        # the first of equal steps
            found = step[r, bj] < F(np.inf)
            dirn = np.where(up_ok[r, bj], 1, -1)
            l0 = La[r, bj]
            l1 = np.clip(l0 + dirn, 0, 15)
            q0, q1 = GRID[l0], GRID[l1]
            nqx = fma((wa[r, bj] * xa[r, bj]).astype(np.float32), (q1 - q0).astype(np.float32), sqx[act])
            nqq = fma(wa[r, bj], (q1 * q1 - q0 * q0).astype(np.float32), sqq[act])
            ok = found & (nqq > 0) & (nqx * nqx > best[act] * nqq)
            act, bj, l1, nqx, nqq = act[ok], bj[ok], l1[ok], nqx[ok], nqq[ok]
            sqx[act], sqq[act] = nqx, nqq
            d[act] = (nqx / nqq).astype(np.float32)
            best[act] = (d[act] * nqx).astype(np.float32)
            L[act, bj] = l1
        d = np.where(live, d, F(0)).astype(np.float32)
        idv = np.where(d != 0, F(1) / np.where(d != 0, d, F(1)), F(0)).astype(np.float32)
    L = nearest((idv[:, None] * x).astype(np.float32))
    out = np.zeros((n, 18), np.uint8)
    out[:, 0:2] = d.astype('<f2').view(np.uint8).reshape(n, 2)
    out[:, 2:] = (L[:, :16] | (L[:, 16:] << 4)).astype(np.uint8)
    return out


def main():
    x = np.fromfile(sys.argv[1], '<f4').reshape(-1, 32)
    quantize(x).tofile(sys.argv[2])


if __name__ == '__main__':
    main()
