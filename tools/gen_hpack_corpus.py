#!/usr/bin/env python3
"""Writes crates/burr-proxy/tests/data/hpack_python.txt: header blocks encoded by the Python
`hpack` 4.x package (Huffman coding on, incremental indexing, never-indexed fields, table size
updates), with the fields each block must decode to. burr's decoder is checked against it in
`crates/burr-proxy/src/http/h2/hpack/differential.rs`: a second, independent encoder beside the
Rust one the proptest uses, and one that puts every byte 0-255 through the Huffman code.

Usage: tools/gen_hpack_corpus.py [OUT]   (needs `pip install hpack==4.1.0`; seeded, so the same
output every run for one hpack version)

Format, one item a line: `sequence` starts a new connection (a fresh decoder, table size 4096);
`block HEX` is one header block; each `field NAMEHEX VALUEHEX` after it is one of its fields, in
order (`-` for an empty string).
"""

import os
import random
import sys

from hpack import Encoder, NeverIndexedHeaderTuple
from hpack.table import HeaderTable

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    ROOT, "crates/burr-proxy/tests/data/hpack_python.txt")

rng = random.Random(7541)
STATIC = HeaderTable.STATIC_TABLE
TOKEN = "abcdefghijklmnopqrstuvwxyz0123456789-"


def name():
    if rng.random() < 0.4:
        return rng.choice(STATIC)[0]
    return (rng.choice("abcdefghijklmnopqrstuvwxyz")
            + "".join(rng.choice(TOKEN) for _ in range(rng.randrange(12)))).encode()


def value():
    r = rng.random()
    if r < 0.1:
        return b""
    if r < 0.5:  # mostly printable, as real values are
        return bytes(rng.randrange(0x20, 0x7f) for _ in range(rng.randrange(1, 30)))
    return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 30)))


def hexs(b):
    return b.hex() if b else "-"


lines = []
blocks = 0
for seq in range(30):
    enc = Encoder()
    lines.append("sequence")
    pool = [(name(), value()) for _ in range(rng.randrange(3, 12))]
    pool += [rng.choice(STATIC) for _ in range(3)]
    for b in range(10):
        if rng.random() < 0.15:
            enc.header_table_size = rng.choice([0, 64, 256, 1024, 4096])
        fields = []
        if seq == 0 and b == 0:
            fields.append((b"x-every-byte", bytes(range(256))))
        for _ in range(rng.randrange(0, 10)):
            f = rng.choice(pool) if rng.random() < 0.6 else (name(), value())
            fields.append(f)
        tuples = [NeverIndexedHeaderTuple(n, v) if rng.random() < 0.1 else (n, v)
                  for n, v in fields]
        block = enc.encode(tuples, huffman=True)
        blocks += 1
        lines.append("block " + (block.hex() or "-"))
        for n, v in fields:
            lines.append("field {} {}".format(hexs(n), hexs(v)))

covered = set()
for line in lines:
    if line.startswith("field "):
        covered |= set(bytes.fromhex(line.split()[2].replace("-", "")))
assert covered == set(range(256)), "every byte in some value"
with open(OUT, "w") as f:
    f.write("\n".join(lines) + "\n")
print("wrote", OUT, blocks, "blocks")
