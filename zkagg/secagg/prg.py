"""The secure-aggregation PRG: a seed expands into a seekable stream of F_r mask elements.

Specification (part of the protocol: every party must expand a seed to the same stream):

- The key is a 32-byte seed, already domain-separated by the caller (HKDF).
- The element stream is divided into blocks of 1024 elements. Block j (j = 0, 1, ...) is sampled
  from the ChaCha20 keystream of RFC 8439 under that key, with the 96-bit nonce made of j as a
  little-endian 64-bit integer followed by 4 zero bytes, and initial block counter 0.
- The keystream is cut into consecutive 32-byte words. Each word, read as a little-endian 256-bit
  integer with its top 2 bits cleared (so below 2^254), is accepted if it is below r (the BN254
  scalar field modulus) and skipped otherwise (about 24% are). The first 1024 accepted words are
  the elements of block j.
- Element i of the stream is element i mod 1024 of block i // 1024. Indices are 64-bit:
  start + n must be below 2^64.

So each element is uniform in F_r, any range [start, start + n) can be generated on its own
(seekable), and blocks are independent (the native core spreads them over threads).

Engines: the native core (native/src/chacha.c) implements ChaCha20 itself, with AVX-512 / AVX2
kernels chosen at run time in the asm variant and a portable kernel otherwise (all give the same
stream; `zkagg_prg_set_impl` on the native lib caps the kernel, for tests). It is constant-time
in the seed except for the number of keystream words each block consumes, which depends on the
keystream alone and reveals nothing about the accepted elements. The reference twin here, used
under `ZKAGG_BACKEND=reference`, draws the keystream from the `cryptography` package and samples
with Python ints: readable, slow and not constant-time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..bn254 import FR_MODULUS, FrArray, native_module
from ..errors import InputError, LengthError, NativeError, check_int

#: elements per stream block (one nonce each)
BLOCK = 1024
SEED_BYTES = 32
#: start + n must stay below this bound (stream indices are 64-bit)
INDEX_LIMIT = 2**64

_TOP_MASK = (1 << 254) - 1
_OK, _ERR_ARG = 0, -2

__all__ = ["BLOCK", "INDEX_LIMIT", "SEED_BYTES", "accumulate_masks", "mask_stream"]


def mask_stream(seed: bytes, n: int, *, start: int = 0) -> FrArray:
    """Elements [start, start + n) of the mask stream of `seed` (32 bytes).

    Raises LengthError for a seed that is not 32 bytes, InputError for a negative n or start or
    a range reaching 2^64.
    """
    key = _check_seed(seed, "seed")
    _check_range(start, n)
    if n == 0:
        return FrArray.zeros(0)
    mod = native_module()
    if mod is None:
        return FrArray.from_ints(_reference_stream(key, start, n))
    ffi, c = mod.ffi, mod.lib
    out = np.empty((n, 4), dtype=np.uint64)
    rc = c.zkagg_prg_fr(ffi.from_buffer("uint64_t[]", out), ffi.from_buffer("uint8_t[]", key), start, n)
    _check_rc(rc, "mask_stream")
    return FrArray._trusted(out)


def accumulate_masks(
    acc: FrArray, seeds: Sequence[bytes], signs: Sequence[int], *, start: int = 0
) -> FrArray:
    """acc + sum_j signs[j] * mask_stream(seeds[j], len(acc), start=start), as a new FrArray.

    This is how a client masks its vector with k pairwise masks (sign +1 towards one side of
    each pair, -1 towards the other) without ever holding the k streams: the native core works
    one block of one seed at a time. signs[j] must be +1 or -1 (InputError otherwise); seeds and
    signs must have the same length (LengthError).
    """
    if not isinstance(acc, FrArray):
        raise InputError(f"acc must be an FrArray, not {type(acc).__name__}")
    keys = [_check_seed(s, f"seeds[{i}]") for i, s in enumerate(seeds)]
    raw_signs = list(signs)
    if len(raw_signs) != len(keys):
        raise LengthError(f"signs has {len(raw_signs)} entries, seeds has {len(keys)}")
    for i, s in enumerate(raw_signs):
        if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s not in (1, -1):
            raise InputError(f"signs[{i}] must be +1 or -1, not {s!r}")
    sign_list = [int(s) for s in raw_signs]
    n = len(acc)
    _check_range(start, n)
    if n == 0 or not keys:
        return FrArray._trusted(acc.limbs.copy())
    mod = native_module()
    if mod is None:
        total = acc.to_ints()
        for key, sign in zip(keys, sign_list):
            for i, v in enumerate(_reference_stream(key, start, n)):
                total[i] = (total[i] + sign * v) % FR_MODULUS
        return FrArray.from_ints(total)
    ffi, c = mod.ffi, mod.lib
    out = acc.limbs.copy()
    key_buf = bytearray(SEED_BYTES * len(keys))
    for i, key in enumerate(keys):
        key_buf[SEED_BYTES * i : SEED_BYTES * (i + 1)] = key
    sign_arr = np.array(sign_list, dtype=np.int8)
    try:
        rc = c.zkagg_prg_fr_accumulate(
            ffi.from_buffer("uint64_t[]", out),
            ffi.from_buffer("uint8_t[]", key_buf),
            ffi.from_buffer("int8_t[]", sign_arr),
            len(keys),
            start,
            n,
        )
    finally:
        key_buf[:] = bytes(len(key_buf))  # our copy of the seeds
    _check_rc(rc, "accumulate_masks")
    return FrArray._trusted(out)


# ---- validation ----
def _check_seed(seed: Any, name: str) -> bytes:
    if not isinstance(seed, (bytes, bytearray, memoryview)):
        raise LengthError(f"{name} must be {SEED_BYTES} bytes, not {type(seed).__name__}")
    key = bytes(seed)
    if len(key) != SEED_BYTES:
        raise LengthError(f"{name} must be {SEED_BYTES} bytes, not {len(key)}")
    return key


def _check_range(start: Any, n: Any) -> None:
    check_int("n", n, 0)
    check_int("start", start, 0)
    if start + n >= INDEX_LIMIT:
        raise InputError(f"start + n = {start + n} must be below 2^64")


def _check_rc(rc: int, what: str) -> None:
    if rc == _ERR_ARG:
        raise InputError(f"{what}: the native core rejected its arguments")
    if rc != _OK:
        raise NativeError(f"{what} failed in the native core (code {rc})")


# ---- engines ----
def _reference_block(key: bytes, j: int, count: int) -> list[int]:
    """The first `count` elements of block j, straight from the specification."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    # cryptography's 16-byte ChaCha20 nonce is RFC 8439's 32-bit block counter followed by its
    # 96-bit nonce, all little-endian: counter 0, then LE64(j) || 00 00 00 00
    nonce = bytes(4) + j.to_bytes(8, "little") + bytes(4)
    stream = Cipher(algorithms.ChaCha20(key, nonce), mode=None).encryptor()
    out: list[int] = []
    while len(out) < count:
        chunk = stream.update(bytes(32 * 64))
        for i in range(0, len(chunk), 32):
            v = int.from_bytes(chunk[i : i + 32], "little") & _TOP_MASK
            if v < FR_MODULUS:
                out.append(v)
                if len(out) == count:
                    break
    return out


def _reference_stream(key: bytes, start: int, n: int) -> list[int]:
    """Elements [start, start + n) of the stream of key, block by block."""
    out: list[int] = []
    end = start + n
    for j in range(start // BLOCK, (end - 1) // BLOCK + 1):
        lo, hi = max(start - j * BLOCK, 0), min(end - j * BLOCK, BLOCK)
        out.extend(_reference_block(key, j, hi)[lo:])
    return out
