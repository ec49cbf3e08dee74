#!/usr/bin/python3
"""tensor_hashes.py FILE.gguf - one line per tensor: name, type, sha256 of its data.

Used to record another engine's llama-quantize output compactly (tests/data/quantize/) and to
check seek's against it (tests/cli/test_quantize.sh)."""
import hashlib, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare_quantize import read

_, tensors = read(sys.argv[1])
for name, (typ, ne, data) in tensors.items():
    print(name, typ, hashlib.sha256(data or b'').hexdigest()[:32])
