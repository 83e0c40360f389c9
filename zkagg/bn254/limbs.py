"""Conversions between Python ints and the native layout: 4 little-endian 64-bit limbs each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from ..errors import LengthError, NonCanonicalError

Limbs = npt.NDArray[np.uint64]


def ints_to_limbs(values: Iterable[int], modulus: int, name: str) -> Limbs:
    """Canonical integers -> (n, 4) uint64 array; raises NonCanonicalError outside [0, modulus)."""
    vals = list(values)
    for i, v in enumerate(vals):
        if not isinstance(v, int) or isinstance(v, bool):
            raise NonCanonicalError(f"{name}[{i}] must be an int, not {type(v).__name__}")
        if not 0 <= v < modulus:
            raise NonCanonicalError(f"{name}[{i}] = {v} is outside [0, {modulus})")
    raw = b"".join(v.to_bytes(32, "little") for v in vals)
    return np.frombuffer(raw, dtype="<u8").reshape(len(vals), 4).astype(np.uint64)


def limbs_to_ints(limbs: Limbs) -> list[int]:
    # viewing each 32-byte element as one opaque item lets tolist() hand out bytes objects
    words = np.ascontiguousarray(limbs, dtype="<u8").reshape(-1, 4).view("V32").ravel().tolist()
    return [int.from_bytes(w, "little") for w in words]


def as_limb_array(arr: npt.ArrayLike, width: int, name: str) -> Limbs:
    """Validate the shape (n, width) and dtype of a limb array and return it C-contiguous."""
    a = np.asarray(arr)
    if a.dtype != np.uint64:
        raise LengthError(f"{name} must have dtype uint64, not {a.dtype}")
    if a.ndim != 2 or a.shape[1] != width:
        raise LengthError(f"{name} must have shape (n, {width}), not {a.shape}")
    return np.ascontiguousarray(a)


def bytes_to_ints(data: bytes, size: int, name: str) -> list[int]:
    """Split big-endian fixed-size words (the EVM's encoding)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise LengthError(f"{name} must be bytes, not {type(data).__name__}")
    data = bytes(data)
    if len(data) % size:
        raise LengthError(f"{name} must be a multiple of {size} bytes, not {len(data)}")
    return [int.from_bytes(data[i : i + size], "big") for i in range(0, len(data), size)]


def ints_to_bytes(values: Sequence[int]) -> bytes:
    return b"".join(v.to_bytes(32, "big") for v in values)
