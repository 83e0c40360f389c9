"""F_r vectors: the scalar field of BN254, stored canonical in numpy buffers."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterable, Iterator
from typing import overload

import numpy as np
import numpy.typing as npt

from ..errors import InputError, LengthError, NonCanonicalError
from .backend import get_backend
from .constants import FR_MODULUS, FR_TWO_ADICITY
from .limbs import Limbs, as_limb_array, ints_to_limbs, limbs_to_ints


def first_not_below(limbs: Limbs, modulus: int) -> int:
    """Index of the first row (4 limbs, little-endian) that is >= modulus, or -1 (vectorized)."""
    m = [np.uint64((modulus >> (64 * i)) & (2**64 - 1)) for i in range(4)]
    below = limbs[:, 0] < m[0]
    for i in range(1, 4):
        below = (limbs[:, i] < m[i]) | ((limbs[:, i] == m[i]) & below)
    bad = np.flatnonzero(~below)
    return int(bad[0]) if bad.size else -1


class FrArray:
    """An immutable vector of F_r elements (canonical integers in [0, r)).

    Backed by an (n, 4) uint64 array of little-endian limbs that the native core reads in place.
    Arithmetic is element-wise; `*` also takes an int scalar.
    """

    __slots__ = ("_limbs",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, limbs: npt.ArrayLike) -> None:
        arr = as_limb_array(limbs, 4, "limbs")
        bad = first_not_below(arr, FR_MODULUS)
        if bad >= 0:
            raise NonCanonicalError(f"limbs[{bad}] is not below the scalar field modulus r")
        self._limbs = arr.copy()  # owned, so no caller can change it afterwards
        self._limbs.flags.writeable = False

    @classmethod
    def _trusted(cls, limbs: Limbs) -> FrArray:
        """Wrap a result of the engine (already canonical) without validating it again."""
        obj = cls.__new__(cls)
        limbs.flags.writeable = False
        obj._limbs = limbs
        return obj

    # ---- construction ----
    @classmethod
    def from_ints(cls, values: Iterable[int]) -> FrArray:
        return cls._trusted(ints_to_limbs(values, FR_MODULUS, "values"))

    @classmethod
    def from_bytes(cls, data: bytes) -> FrArray:
        """32-byte big-endian words (the EVM's uint256 encoding), each < r."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise LengthError(f"data must be bytes, not {type(data).__name__}")
        if len(data) % 32:
            raise LengthError(f"data must be a multiple of 32 bytes, not {len(data)}")
        words = np.frombuffer(data, dtype=">u8").reshape(-1, 4)[:, ::-1]
        return cls(words.astype(np.uint64))

    @classmethod
    def concat(cls, parts: Iterable[FrArray]) -> FrArray:
        """The elements of `parts`, one after another."""
        arrays = list(parts)
        for i, a in enumerate(arrays):
            if not isinstance(a, FrArray):
                raise InputError(f"parts[{i}] is not an FrArray")
        if not arrays:
            return cls.zeros(0)
        return cls._trusted(np.concatenate([a._limbs for a in arrays]))

    @classmethod
    def zeros(cls, n: int) -> FrArray:
        return cls._trusted(np.zeros((n, 4), dtype=np.uint64))

    @classmethod
    def random(cls, n: int, rng: random.Random | None = None) -> FrArray:
        """Uniform elements; from the OS CSPRNG unless a (seeded, for tests) rng is given."""
        source = rng if rng is not None else secrets.SystemRandom()
        out: list[int] = []
        while len(out) < n:
            v = source.getrandbits(254)
            if v < FR_MODULUS:
                out.append(v)
        return cls.from_ints(out)

    # ---- views ----
    @property
    def limbs(self) -> Limbs:
        """The read-only (n, 4) uint64 limb array."""
        return self._limbs

    def to_ints(self) -> list[int]:
        return limbs_to_ints(self._limbs)

    def to_bytes(self) -> bytes:
        return self._limbs[:, ::-1].astype(">u8").tobytes()

    def __len__(self) -> int:
        return len(self._limbs)

    @overload
    def __getitem__(self, i: int) -> int: ...
    @overload
    def __getitem__(self, i: slice) -> FrArray: ...
    def __getitem__(self, i: int | slice) -> int | FrArray:
        if isinstance(i, slice):
            return FrArray._trusted(self._limbs[i].copy())
        return limbs_to_ints(self._limbs[i])[0]

    def __iter__(self) -> Iterator[int]:
        return iter(self.to_ints())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FrArray):
            return NotImplemented
        return bool(np.array_equal(self._limbs, other._limbs))

    def __repr__(self) -> str:
        head = ", ".join(str(v) for v in limbs_to_ints(self._limbs[:3]))
        return f"FrArray([{head}{', ...' if len(self) > 3 else ''}], n={len(self)})"

    # ---- arithmetic ----
    def _same_length(self, other: FrArray) -> None:
        if not isinstance(other, FrArray):
            raise InputError(f"expected an FrArray, not {type(other).__name__}")
        if len(other) != len(self):
            raise LengthError(f"length mismatch: {len(self)} and {len(other)}")

    def __add__(self, other: FrArray) -> FrArray:
        self._same_length(other)
        return FrArray._trusted(get_backend().fr_add(self._limbs, other._limbs))

    def __sub__(self, other: FrArray) -> FrArray:
        self._same_length(other)
        return FrArray._trusted(get_backend().fr_sub(self._limbs, other._limbs))

    def __neg__(self) -> FrArray:
        return FrArray._trusted(get_backend().fr_neg(self._limbs))

    def __mul__(self, other: FrArray | int) -> FrArray:
        if isinstance(other, int):
            if isinstance(other, bool):
                raise InputError("expected an FrArray or an int, not a bool")
            return FrArray._trusted(get_backend().fr_scale(self._limbs, other % FR_MODULUS))
        self._same_length(other)
        return FrArray._trusted(get_backend().fr_mul(self._limbs, other._limbs))

    __rmul__ = __mul__

    def dot(self, other: FrArray) -> int:
        """Inner product sum(a_i * b_i) mod r."""
        self._same_length(other)
        return get_backend().fr_dot(self._limbs, other._limbs)

    def inverse(self) -> FrArray:
        """Element-wise inverses (one batched inversion); NotInvertibleError if any is zero."""
        return FrArray._trusted(get_backend().fr_inverse(self._limbs))


def ntt(values: FrArray, *, inverse: bool = False, coset: bool = False) -> FrArray:
    """Number-theoretic transform over the 2^k-th roots of unity of F_r (natural order).

    Forward: evaluations of the polynomial with coefficients `values` at w^i (times the coset
    shift 5 when `coset`); inverse: the coefficients back from such evaluations.
    """
    n = len(values)
    if n == 0 or n & (n - 1) or n > 1 << FR_TWO_ADICITY:
        raise LengthError(f"NTT length must be a power of two up to 2^{FR_TWO_ADICITY}, not {n}")
    return FrArray._trusted(get_backend().fr_ntt(values.limbs, inverse, coset))
