"""Poseidon over BN254 F_r with circomlib's parameters, and zkagg's sponge for long vectors.

`poseidon_hash(inputs)` equals circomlibjs `poseidon(inputs)` (1..16 inputs);
`poseidon_sponge(values, width=17)` is zkagg's length-prefixed sponge, specified in
zkagg/poseidon/reference.py. Everything runs on the native core by default; the readable
pure-Python twin runs under `ZKAGG_BACKEND=reference` or `zkagg.bn254.use_backend("reference")`
(the engine follows the bn254 backend, including its native variant).

`absorb_trace(t, values)` is the witness of one absorb step of the sponge gadget (the internal
wires of circuits/gadgets/poseidon.py's template, spec in reference.absorb_trace);
`absorb_trace_many` computes many independent steps in one threaded native call.

All inputs must be canonical field elements (ints in [0, r) or FrArray): NonCanonicalError
otherwise, never a silent reduction.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from ..bn254 import FrArray, get_backend
from ..bn254.field import first_not_below
from ..bn254.limbs import Limbs, ints_to_limbs, limbs_to_ints
from ..errors import LengthError, NonCanonicalError
from . import reference
from .native import NativePoseidon
from .params import MAX_WIDTH, R, check_width
from .reference import DEFAULT_WIDTH, check_canonical, trace_length

__all__ = [
    "DEFAULT_WIDTH",
    "absorb_trace",
    "absorb_trace_many",
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
    state = reference.ex_state(inputs, init_state, n_out)
    out = eng.permute(ints_to_limbs(state, R, "state"), len(state))
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


def absorb_trace(t: int, values: Sequence[int]) -> list[int]:
    """The internal wire values of one absorb step of the width-t sponge gadget: values = prev (t
    elements) + block (t - 1); returns x^2, x^4, x^5 per S-box in order (reference.absorb_trace)."""
    eng = _engine()
    if eng is None:
        return reference.absorb_trace(t, values)
    check_width(t)
    vals = check_canonical(values, "values")
    if len(vals) != 2 * t - 1:
        raise LengthError(f"values must hold 2t - 1 = {2 * t - 1} elements, not {len(vals)}")
    return limbs_to_ints(eng.absorb_trace(ints_to_limbs(vals, R, "values"), t, trace_length(t)))


def absorb_trace_many(t: int, inputs: FrArray | np.ndarray) -> Limbs:
    """absorb_trace of n independent instances, threaded in the native core.

    inputs: an FrArray of n * (2t - 1) elements (instance after instance), or canonical limbs of
    shape (n, 2t - 1, 4). Returns limbs of shape (n, trace_length(t), 4)."""
    check_width(t)
    n_in = 2 * t - 1
    if isinstance(inputs, FrArray):
        if len(inputs) % n_in:
            raise LengthError(f"inputs must hold a multiple of 2t - 1 = {n_in} elements, not {len(inputs)}")
        flat = inputs.limbs
    else:
        arr = np.asarray(inputs)
        if arr.dtype != np.uint64:
            raise LengthError(f"inputs must have dtype uint64, not {arr.dtype}")
        if arr.ndim != 3 or arr.shape[1:] != (n_in, 4):
            raise LengthError(f"inputs must have shape (n, {n_in}, 4), not {arr.shape}")
        flat = np.ascontiguousarray(arr).reshape(-1, 4)
        bad = first_not_below(flat, R)
        if bad >= 0:
            raise NonCanonicalError(f"inputs[{bad // n_in}, {bad % n_in}] is not below r")
    n, n_out = len(flat) // n_in, trace_length(t)
    eng = _engine()
    if eng is None:
        vals = limbs_to_ints(flat)
        out = [v for k in range(n) for v in reference.absorb_trace(t, vals[k * n_in : (k + 1) * n_in])]
        limbs = ints_to_limbs(out, R, "trace") if out else np.empty((0, 4), dtype=np.uint64)
    else:
        limbs = eng.absorb_trace(flat, t, n_out)
    return limbs.reshape(n, n_out, 4)
