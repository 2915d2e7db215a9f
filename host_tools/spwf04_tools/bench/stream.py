"""The benchmark's test data: the same byte stream on the host and on the board (micropython/bench/common.py).

Block i (4096 bytes) is a fixed pseudo-random block with i as a big-endian 32-bit number in its first 4 bytes,
so a lost, repeated or shifted block changes the SHA-256 of the stream. The fixed block is 128 SHA-256 digests
of b"spwf04-bench-<k>", which the board computes with its own hashlib.
"""

from __future__ import annotations

import hashlib
import struct

BLOCK = 4096


def base_block() -> bytes:
    return b"".join(hashlib.sha256(b"spwf04-bench-%d" % k).digest() for k in range(BLOCK // 32))


def blocks(n: int):
    """The first n bytes of the stream, as successive chunks of at most BLOCK bytes."""
    base = bytearray(base_block())
    i = 0
    left = n
    while left > 0:
        struct.pack_into(">I", base, 0, i)
        k = min(BLOCK, left)
        yield bytes(base[:k])
        left -= k
        i += 1


def digest(n: int) -> str:
    h = hashlib.sha256()
    for b in blocks(n):
        h.update(b)
    return h.hexdigest()
