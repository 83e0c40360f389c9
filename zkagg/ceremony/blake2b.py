"""BLAKE2b-512 whose midstate can be saved and resumed in the 216-byte layout snarkjs writes as a
contribution's "partial hash" (the hash of the response, before the public key is absorbed).

hashlib cannot export a midstate, so the compression runs in the native core (RFC 7693); the
bookkeeping follows the usual BLAKE2 rule that the last block is kept until more data arrives or
the digest is taken. The saved layout: the 128-byte block buffer, then little-endian 32-bit
words: h[0..7] as (low, high) pairs, the bytes compressed so far, 0, the bytes in the buffer, 0,
and zero padding to 216 bytes.
"""

from __future__ import annotations

import struct

import numpy as np

from ..bn254 import native_module
from ..errors import LengthError

BLOCK = 128
PARTIAL_SIZE = 216
_IV = (0x6A09E667F3BCC908, 0xBB67AE8584CAA73B, 0x3C6EF372FE94F82B, 0xA54FF53A5F1D36F1,
       0x510E527FADE682D1, 0x9B05688C2B3E6C1F, 0x1F83D9ABFB41BD6B, 0x5BE0CD19137E2179)
_SIGMA = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
          (14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3),
          (11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4),
          (7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8),
          (9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13),
          (2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9),
          (12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11),
          (13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10),
          (6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5),
          (10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0))
_M64 = (1 << 64) - 1


def _compress_reference(h: list[int], block: bytes, counter: int, last: bool) -> None:
    """The readable twin of zkagg_blake2b_compress (one block)."""
    m = struct.unpack("<16Q", block)
    v = [*h, *_IV]
    v[12] ^= counter & _M64
    v[13] ^= counter >> 64
    if last:
        v[14] ^= _M64

    def g(a: int, b: int, c: int, d: int, x: int, y: int) -> None:
        for word, (r1, r2) in ((x, (32, 24)), (y, (16, 63))):
            v[a] = (v[a] + v[b] + word) & _M64
            t = v[d] ^ v[a]
            v[d] = ((t >> r1) | (t << (64 - r1))) & _M64
            v[c] = (v[c] + v[d]) & _M64
            t = v[b] ^ v[c]
            v[b] = ((t >> r2) | (t << (64 - r2))) & _M64

    for r in range(12):
        s = _SIGMA[r % 10]
        g(0, 4, 8, 12, m[s[0]], m[s[1]])
        g(1, 5, 9, 13, m[s[2]], m[s[3]])
        g(2, 6, 10, 14, m[s[4]], m[s[5]])
        g(3, 7, 11, 15, m[s[6]], m[s[7]])
        g(0, 5, 10, 15, m[s[8]], m[s[9]])
        g(1, 6, 11, 12, m[s[10]], m[s[11]])
        g(2, 7, 8, 13, m[s[12]], m[s[13]])
        g(3, 4, 9, 14, m[s[14]], m[s[15]])
    for i in range(8):
        h[i] ^= v[i] ^ v[i + 8]


class Blake2b512:
    """Unkeyed BLAKE2b with a 64-byte digest (what snarkjs's ceremony hashes use)."""

    def __init__(self) -> None:
        self._h = list(_IV)
        self._h[0] ^= 0x01010000 ^ 64  # parameter block: digest length 64, no key, fanout/depth 1
        self._buffer = bytearray(BLOCK)
        self._pos = 0  # bytes waiting in the buffer (a full block waits until more data comes)
        self._length = 0  # bytes absorbed in total

    def _compress(self, blocks: bytes, counter: int, last: bool) -> None:
        mod = native_module()
        if mod is None or counter < 0 or counter + len(blocks) >= 1 << 64:
            for i in range(0, len(blocks), BLOCK):
                counter += BLOCK
                is_last = last and i + BLOCK == len(blocks)
                _compress_reference(self._h, bytes(blocks[i : i + BLOCK]), counter, is_last)
            return
        h = np.array(self._h, dtype=np.uint64)
        mod.lib.zkagg_blake2b_compress(mod.ffi.from_buffer("uint64_t[]", h), mod.ffi.from_buffer(blocks),
                                       len(blocks) // BLOCK, counter, int(last))
        self._h = [int(x) for x in h]

    def update(self, data: bytes | bytearray | memoryview) -> Blake2b512:
        view = memoryview(data).cast("B")
        pos = 0
        n = len(view)
        while pos < n:
            if self._pos == BLOCK:
                self._compress(bytes(self._buffer), self._length - BLOCK, False)
                self._pos = 0
            if self._pos == 0 and n - pos > BLOCK:
                # whole blocks straight from the input, always keeping at least one byte back
                k = (n - pos - 1) // BLOCK
                self._compress(bytes(view[pos : pos + k * BLOCK]), self._length, False)
                self._length += k * BLOCK
                pos += k * BLOCK
                continue
            take = min(BLOCK - self._pos, n - pos)
            self._buffer[self._pos : self._pos + take] = view[pos : pos + take]
            self._pos += take
            self._length += take
            pos += take
        return self

    def copy(self) -> Blake2b512:
        other = Blake2b512.__new__(Blake2b512)
        other._h, other._buffer = list(self._h), bytearray(self._buffer)
        other._pos, other._length = self._pos, self._length
        return other

    def digest(self) -> bytes:
        h = self.copy()
        block = bytes(h._buffer[: h._pos]) + bytes(BLOCK - h._pos)
        h._compress(block, h._length - BLOCK, True)
        return struct.pack("<8Q", *h._h)

    def partial_state(self) -> bytes:
        words = [w for x in self._h for w in (x & 0xFFFFFFFF, x >> 32)]
        words += [(self._length - self._pos) & 0xFFFFFFFF, 0, self._pos, 0]
        out = bytes(self._buffer) + struct.pack("<20I", *words)
        return out + bytes(PARTIAL_SIZE - len(out))

    @classmethod
    def from_partial_state(cls, data: bytes) -> Blake2b512:
        if len(data) != PARTIAL_SIZE:
            raise LengthError(f"a partial hash is {PARTIAL_SIZE} bytes, not {len(data)}")
        words = struct.unpack("<20I", data[BLOCK : BLOCK + 80])
        pos = words[18]
        if pos > BLOCK:
            raise LengthError(f"a partial hash holds at most {BLOCK} buffered bytes, not {pos}")
        h = cls()
        h._h = [words[2 * i] | words[2 * i + 1] << 32 for i in range(8)]
        h._buffer = bytearray(data[:BLOCK])
        h._pos = pos
        h._length = words[16] + (words[17] << 32) + pos
        return h


def blake2b512(*parts: bytes) -> bytes:
    h = Blake2b512()
    for p in parts:
        h.update(p)
    return h.digest()
