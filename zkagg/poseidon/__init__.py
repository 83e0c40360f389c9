"""Poseidon over BN254 F_r with circomlib's parameters, and zkagg's sponge for long vectors.

`poseidon_hash(inputs)` equals circomlibjs `poseidon(inputs)` (1..16 inputs);
`poseidon_sponge(values, width=17)` is zkagg's length-prefixed sponge, specified in
zkagg/poseidon/reference.py. Everything runs on the native core by default; the readable
pure-Python twin runs under `ZKAGG_BACKEND=reference` or `zkagg.bn254.use_backend("reference")`
(the engine follows the bn254 backend, including its native variant).

All inputs must be canonical field elements (ints in [0, r) or FrArray): NonCanonicalError
otherwise, never a silent reduction.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from ..bn254 import FrArray, get_backend
from ..bn254.limbs import Limbs, ints_to_limbs, limbs_to_ints
from ..errors import InputError, LengthError
from . import reference
from .native import NativePoseidon
from .params import MAX_WIDTH, R, check_width
from .reference import DEFAULT_WIDTH, check_canonical

__all__ = [
    "DEFAULT_WIDTH",
    "poseidon_ex",
    "poseidon_hash",
    "poseidon_hash_many",
    "poseidon_sponge",
    "poseidon_sponge_many",
]


@cache
def _native_engine(variant: str) -> NativePoseidon:
    return NativePoseidon(variant or None)


def _engine() -> NativePoseidon | None:
    """The native engine of the current bn254 backend's variant, or None for the reference."""
    name = get_backend().name
    if name == "reference":
        return None
    return _native_engine(name.partition("-")[2])


def _limbs(values: FrArray | Sequence[int], name: str) -> Limbs:
    if isinstance(values, FrArray):
        return values.limbs
    return ints_to_limbs(values, R, name)


def poseidon_ex(inputs: Sequence[int], init_state: int = 0, n_out: int = 1) -> list[int]:
    """circomlibjs `poseidon(inputs, initState, nOut)`: the first n_out elements of the permuted
    state [init_state, *inputs] (width len(inputs) + 1)."""
    eng = _engine()
    if eng is None:
        return reference.poseidon_ex(inputs, init_state, n_out)
    vals = check_canonical(inputs, "inputs")
    if not 1 <= len(vals) <= MAX_WIDTH - 1:
        raise LengthError(f"inputs must hold 1 to {MAX_WIDTH - 1} elements, not {len(vals)}")
    (init,) = check_canonical([init_state], "init_state")
    if not isinstance(n_out, int) or isinstance(n_out, bool) or not 1 <= n_out <= len(vals) + 1:
        raise InputError(f"n_out must be an int in [1, {len(vals) + 1}], not {n_out!r}")
    t = len(vals) + 1
    out = eng.permute(ints_to_limbs([init, *vals], R, "state"), t)
    return limbs_to_ints(out[:n_out])


def poseidon_hash(inputs: Sequence[int]) -> int:
    """circomlibjs `poseidon(inputs)` for 1..16 canonical inputs."""
    return poseidon_ex(inputs)[0]


def poseidon_hash_many(rows: Sequence[Sequence[int]]) -> list[int]:
    """[poseidon_hash(row) for row in rows] in one native call (e.g. a Merkle tree level); all
    rows must have the same length, 1..16."""
    rows = [check_canonical(r, f"rows[{i}]") for i, r in enumerate(rows)]
    if not rows:
        return []
    n_in = len(rows[0])
    if not 1 <= n_in <= MAX_WIDTH - 1:
        raise LengthError(f"rows must hold 1 to {MAX_WIDTH - 1} elements, not {n_in}")
    for i, r in enumerate(rows):
        if len(r) != n_in:
            raise LengthError(f"rows[{i}] has {len(r)} elements, rows[0] has {n_in}")
    eng = _engine()
    if eng is None:
        return [reference.poseidon_hash(r) for r in rows]
    t = n_in + 1
    states = ints_to_limbs((v for r in rows for v in (0, *r)), R, "rows")
    out = eng.permute(states, t)
    return limbs_to_ints(out[::t])


def poseidon_sponge(values: FrArray | Sequence[int], width: int = DEFAULT_WIDTH) -> int:
    """zkagg's Poseidon sponge of a vector of any length (spec: zkagg/poseidon/reference.py)."""
    return poseidon_sponge_many([values], width)[0]


def poseidon_sponge_many(
    vectors: Sequence[FrArray | Sequence[int]], width: int = DEFAULT_WIDTH
) -> list[int]:
    """Sponge hashes of many vectors (of any lengths), hashed in parallel by the native core."""
    check_width(width)
    limbs = [_limbs(v, f"vectors[{i}]") for i, v in enumerate(vectors)]
    if not limbs:
        return []
    eng = _engine()
    if eng is None:
        return [reference.sponge(limbs_to_ints(a), width) for a in limbs]
    data = np.concatenate(limbs) if len(limbs) > 1 else limbs[0]
    return limbs_to_ints(eng.sponge_many(data, [len(a) for a in limbs], width))
