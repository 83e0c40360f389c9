"""The two engines behind the bn254 API: the native core and a readable pure-Python twin.

Both work on canonical limb arrays (see limbs.py); points are affine with canonical coordinates,
G1 as (x, y) = 8 limbs, G2 as (x.c0, x.c1, y.c0, y.c1) = 16 limbs, infinity = all zeros.
`ZKAGG_BACKEND=reference` forces the reference engine everywhere (for debugging and for the
differential tests); the default is the native one. Only the native engine's `*_secret` and
`point_fixed_base_mul` kernels are constant-time in their scalars; the reference engine (py-ecc,
Python ints) is not constant-time anywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from .. import native
from ..errors import InputError
from .limbs import Limbs

Group = Literal["g1", "g2"]
#: a CSR matrix: (row_ptr int64[n+1], cols uint32[nnz], coeffs uint64[nnz, 4] canonical)
CSR = tuple[npt.NDArray[np.int64], npt.NDArray[np.uint32], Limbs]
POINT_LIMBS: dict[Group, int] = {"g1": 8, "g2": 16}


class MsmPart(NamedTuple):
    """One MSM of Backend.msm_many: points of `group`, paired with scalars[vector][offset:]."""

    group: Group
    points: Limbs
    vector: int
    offset: int
    cache: dict[str, Any] | None = None


class Backend(Protocol):
    name: str

    # `out`, where given, is a writable C-contiguous limb array that receives the result (and
    # is returned); it may be one of the inputs. Large callers use it to avoid temporaries.
    def fr_add(self, a: Limbs, b: Limbs) -> Limbs: ...
    def fr_sub(self, a: Limbs, b: Limbs, out: Limbs | None = None) -> Limbs: ...
    def fr_neg(self, a: Limbs) -> Limbs: ...
    def fr_mul(self, a: Limbs, b: Limbs, out: Limbs | None = None) -> Limbs: ...
    def fr_scale(self, a: Limbs, s: int, out: Limbs | None = None) -> Limbs: ...
    def fr_dot(self, a: Limbs, b: Limbs) -> int: ...
    def fr_inverse(self, a: Limbs) -> Limbs: ...
    def fr_ntt(self, a: Limbs, inverse: bool, coset: bool, out: Limbs | None = None) -> Limbs: ...

    def fr_csr_mul(self, m: CSR, x: Limbs) -> Limbs:
        """Row-wise sparse product: out[i] = sum_k coeffs[k] x[cols[k]] over row i."""
        ...

    def fr_csr_mul_t(self, m: CSR, x: Limbs, n_cols: int) -> Limbs:
        """Transposed product: out[c] = sum over entries (i, c) of coeff * x[i]."""
        ...

    def point_check(self, g: Group, p: Limbs, cache: dict[str, Any] | None = None) -> int:
        """Index of the first point off the curve or outside the subgroup, or -1. `cache` as in
        msm: an engine may keep what it made of the points for later MSMs over them."""
        ...

    def point_add(self, g: Group, a: Limbs, b: Limbs) -> Limbs: ...
    def point_double(self, g: Group, a: Limbs) -> Limbs: ...
    def point_neg(self, g: Group, a: Limbs) -> Limbs: ...
    def point_mul(self, g: Group, p: Limbs, k: Limbs) -> Limbs:
        """k_i p_i; NOT constant-time (for public scalars)."""
        ...

    def point_mul_secret(self, g: Group, p: Limbs, k: Limbs) -> Limbs:
        """k_i p_i, constant-time in the scalars on the native engine (the points are public)."""
        ...

    def point_fixed_base_mul(self, g: Group, base: Limbs, k: Limbs) -> Limbs:
        """k_i base for one base (a single row), constant-time in the scalars on the native
        engine (the base is public)."""
        ...

    def msm(self, g: Group, p: Limbs, k: Limbs, cache: dict[str, Any] | None = None) -> Limbs:
        """sum k_i p_i. `cache` belongs to the (immutable) point array: an engine may keep
        per-array precomputation there, e.g. the bases in its internal form."""
        ...

    def msm_many(self, scalars: Sequence[Limbs], parts: Sequence[MsmPart]) -> list[Limbs]:
        """Each part's sum k[offset + i] p_i with k = scalars[vector] (the caller checked that
        offset + len(p) <= len(k)). Parts over one scalar vector may share work, e.g. the
        scalars' recoding."""
        ...

    def pairing_check(self, g1: Limbs, g2: Limbs) -> bool:
        """True iff prod_i e(g1[i], g2[i]) == 1 (optimal ate pairing; the empty product is 1).
        The points must be valid (on the curve, G2 in the subgroup: the caller validated them);
        pairs with a point at infinity contribute 1."""
        ...


def make_backend(name: str) -> Backend:
    """'reference', 'native' (variant from ZKAGG_NATIVE), 'native-asm' or 'native-portable'."""
    if name == "reference":
        from .reference import ReferenceBackend

        return ReferenceBackend()
    if name in ("native", "native-asm", "native-portable"):
        from .native_backend import NativeBackend

        return NativeBackend(name.partition("-")[2] or None)
    raise InputError(f"backend must be reference, native, native-asm or native-portable, not {name!r}")


_current: Backend | None = None


def native_module() -> ModuleType | None:
    """The native module (`.ffi`, `.lib`) of the current backend's variant, or None when the
    reference backend is in use: for kernels outside the Backend protocol (PRG, packing)."""
    name = get_backend().name
    if name == "reference":
        return None
    return native.load(name.partition("-")[2] or None)


def get_backend() -> Backend:
    global _current
    if _current is None:
        _current = make_backend(os.environ.get("ZKAGG_BACKEND", "native"))
    return _current


@contextmanager
def use_backend(backend: Backend | str) -> Iterator[Backend]:
    """Run a block with another engine, e.g. `with use_backend("reference"): ...`."""
    global _current
    previous = _current
    _current = make_backend(backend) if isinstance(backend, str) else backend
    try:
        yield _current
    finally:
        _current = previous
