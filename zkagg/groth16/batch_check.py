"""Loading large point arrays fast: numpy byte parsing and a batched G2 subgroup check.

Per point, the G2 subgroup check costs a 63-bit scalar multiplication (about 35 µs): most of a
proving key's load time. Here every point is still checked to be canonical and on the curve (cheap,
native), and the subgroup membership of the whole array is checked with random combinations:
S = Σ ρ_i P_i for random 64-bit ρ_i, S in G2. Write P_i = G_i + T_i with T_i in the twist's
h-torsion (h = 2q - r = 10069 · 5864401 · 1875725156269 · p178, all prime): S is in G2 iff
Σ ρ_i T_i = 0, which for a bad point holds with probability at most 1/10069 per combination (its
component of the smallest prime order must vanish). BATCHES independent combinations bound it by
10069^-10 < 2^-132. G1 has cofactor 1: on the curve is in the subgroup. A failing batch falls back
to the per-point check, which names the bad point.
"""

from __future__ import annotations

import secrets

import numpy as np

from ..bn254 import FQ_MODULUS, FrArray, G1Array, G2Array, native_module
from ..bn254.curve import validate_points
from ..bn254.field import first_not_below
from ..bn254.limbs import Limbs
from ..errors import LengthError, NonCanonicalError, ZkaggError

BATCHES = 10


def _limbs_from_evm(data: bytes, coords: int) -> Limbs:
    """(n, 4·coords) canonical-order limbs from EVM big-endian words (G2: c1 before c0)."""
    raw = np.frombuffer(data, dtype=">u8").reshape(-1, coords, 4)[:, :, ::-1].astype(np.uint64)
    if coords == 4:
        raw = raw[:, [1, 0, 3, 2], :]
    return np.ascontiguousarray(raw.reshape(-1, coords * 4))


def _canonical(limbs: Limbs, what: str, per_point: int) -> None:
    bad = first_not_below(limbs.reshape(-1, 4), FQ_MODULUS)
    if bad >= 0:
        raise NonCanonicalError(f"{what}[{bad // per_point}] has a coordinate >= q")


def g1_array_from_evm(data: bytes, what: str = "points") -> G1Array:
    if len(data) % 64:
        raise LengthError(f"{what}: {len(data)} bytes is not a whole number of G1 points")
    limbs = _limbs_from_evm(data, 2)
    _canonical(limbs, what, 2)
    validate_points("g1", limbs, what)  # on the curve; cofactor 1
    return G1Array._trusted(limbs)


def g2_array_from_evm(data: bytes, what: str = "points") -> G2Array:
    if len(data) % 128:
        raise LengthError(f"{what}: {len(data)} bytes is not a whole number of G2 points")
    return g2_array_checked(_limbs_from_evm(data, 4), what)


def g2_array_checked(limbs: Limbs, what: str = "points") -> G2Array:
    """A G2Array of (n, 16) canonical-order limbs, checked: canonical, on the twist, in G2."""
    _canonical(limbs, what, 4)
    mod = native_module()
    if mod is None or len(limbs) < 4 * BATCHES:  # reference engine or tiny arrays: point by point
        return G2Array(limbs)
    mont = np.empty_like(limbs)
    ptr = lambda a: mod.ffi.from_buffer("uint64_t[]", a)  # noqa: E731
    mod.lib.zkagg_fq_to_mont(ptr(mont), ptr(limbs), limbs.size // 4)
    if int(mod.lib.zkagg_g2_check_on_curve(ptr(mont), len(limbs))) >= 0:
        return G2Array(limbs)  # names the point off the curve
    arr = G2Array._trusted(limbs)
    for _ in range(BATCHES):
        # verifier-side randomness (public inputs are adversarial, so it must be unpredictable)
        rho_limbs = np.zeros((len(limbs), 4), dtype=np.uint64)
        rho_limbs[:, 0] = np.frombuffer(secrets.token_bytes(8 * len(limbs)), dtype=np.uint64)
        rho = FrArray._trusted(rho_limbs)
        try:
            arr.msm(rho)  # the affine result is validated when it is made: in G2 or raises
        except ZkaggError:
            return G2Array(limbs)  # a bad point: the per-point check finds and names it
    return arr
