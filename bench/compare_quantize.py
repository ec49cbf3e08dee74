#!/usr/bin/python3
"""compare_quantize.py A.gguf B.gguf - compare two GGUF files tensor by tensor.

For each tensor: same type? same shape? byte-identical data? Prints one line per tensor that
differs and a summary; exit status 0 when every tensor is identical. Used to check
`seek quantize` against another engine's llama-quantize run on the same input file
(bench/compare_quantize.sh). A minimal GGUF v2/v3 reader, no dependencies.
"""
import mmap, struct, sys

SCALAR = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}
# ggml type id -> (name, block size, bytes per block)
TYPES = {0: ('F32', 1, 4), 1: ('F16', 1, 2), 2: ('Q4_0', 32, 18), 3: ('Q4_1', 32, 20), 6: ('Q5_0', 32, 22),
         7: ('Q5_1', 32, 24), 8: ('Q8_0', 32, 34), 10: ('Q2_K', 256, 84), 11: ('Q3_K', 256, 110),
         12: ('Q4_K', 256, 144), 13: ('Q5_K', 256, 176), 14: ('Q6_K', 256, 210), 20: ('IQ4_NL', 32, 18),
         30: ('BF16', 1, 2), 133: ('Q6_0', 32, 26)}


def read(path):
    f = open(path, 'rb')
    data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from('<' + fmt, data, pos)
        pos += struct.calcsize('<' + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take('Q')
        s = data[pos:pos + n].decode('utf-8', 'replace')
        pos += n
        return s

    def value(t):
        if t == 8: return string()
        if t == 9:
            et, n = take('I'), take('Q')
            return [value(et) for _ in range(n)]
        return take(SCALAR[t])

    assert data[:4] == b'GGUF', path + ': not a GGUF file'
    pos = 4
    version, n_t, n_kv = take('I'), take('Q'), take('Q')
    kv = {}
    for _ in range(n_kv):
        k = string()
        kv[k] = value(take('I'))
    tensors = []
    for _ in range(n_t):
        name = string()
        nd = take('I')
        ne = [take('Q') for _ in range(nd)]
        t, off = take('I'), take('Q')
        tensors.append((name, ne, t, off))
    align = kv.get('general.alignment', 32)
    base = (pos + align - 1) // align * align
    out = {}
    for name, ne, t, off in tensors:
        rows = 1
        for d in ne[1:]: rows *= d
        tn, bs, ts = TYPES.get(t, ('type%d' % t, 1, 0))
        nbytes = ne[0] // bs * ts * rows if ts else 0
        out[name] = (tn, ne, data[base + off:base + off + nbytes] if nbytes else None)
    return kv, out


def main():
    a_kv, a = read(sys.argv[1])
    b_kv, b = read(sys.argv[2])
    same = differ_type = differ_data = 0
    for name in a:
        if name not in b:
            print(f'{name}: only in {sys.argv[1]}'); differ_data += 1; continue
        (ta, na, da), (tb, nb, db) = a[name], b[name]
        if ta != tb or na != nb:
            print(f'{name}: type/shape {ta} {na} vs {tb} {nb}'); differ_type += 1
        elif da is None or db is None or da != db:
            n = 0 if da is None or db is None else sum(x != y for x, y in zip(da, db))
            print(f'{name}: {ta} data differs ({n} of {len(da or b"")} bytes)'); differ_data += 1
        else:
            same += 1
    for name in b:
        if name not in a:
            print(f'{name}: only in {sys.argv[2]}'); differ_data += 1
    print(f'{same} identical, {differ_type} differ in type or shape, {differ_data} differ in data '
          f'(file types {a_kv.get("general.file_type")} / {b_kv.get("general.file_type")})')
    sys.exit(0 if differ_type + differ_data == 0 else 1)


if __name__ == '__main__':
    main()
