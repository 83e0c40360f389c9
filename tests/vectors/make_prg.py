"""Regenerate prg.json: known answers of the secure-aggregation mask stream, computed from the
specification with the `cryptography` package's ChaCha20 and plain ints only (no zkagg code).

    python tests/vectors/make_prg.py

The specification (zkagg/secagg/prg.py): block j of the stream of a 32-byte seed is read from the
RFC 8439 ChaCha20 keystream with nonce LE64(j) || 00 00 00 00 and initial counter 0, as 32-byte
little-endian words with the top 2 bits cleared, keeping those below r, 1024 per block; element i
is element i mod 1024 of block i // 1024.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
BLOCK = 1024


def block(seed: bytes, j: int, count: int) -> list[int]:
    """The first `count` elements of block j."""
    # cryptography's 16-byte nonce: 32-bit block counter, then the 96-bit RFC 8439 nonce
    enc = Cipher(algorithms.ChaCha20(seed, bytes(4) + j.to_bytes(8, "little") + bytes(4)), None).encryptor()
    out: list[int] = []
    while len(out) < count:
        word = enc.update(bytes(32))
        v = int.from_bytes(word, "little") & ((1 << 254) - 1)
        if v < R:
            out.append(v)
    return out


def stream(seed: bytes, start: int, n: int) -> list[int]:
    return [block(seed, i // BLOCK, i % BLOCK + 1)[-1] for i in range(start, start + n)]


CASES = [
    (bytes(32), 0, 8),
    (bytes(range(32)), 0, 8),
    (bytes(range(32)), 1020, 8),  # crosses from block 0 into block 1
    (b"\xff" * 32, 2**45 + 17, 4),  # block 2^35: the nonce's second 32-bit word is used
    (hashlib.sha256(b"zkagg prg vector").digest(), 2**64 - 3, 2),  # the last indices
]


def main() -> None:
    doc = {
        "about": "mask_stream(seed, n, start=start) known answers; see make_prg.py",
        "streams": [
            {"seed": seed.hex(), "start": start, "elements": [str(v) for v in stream(seed, start, n)]}
            for seed, start, n in CASES
        ],
    }
    path = Path(__file__).with_name("prg.json")
    path.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
