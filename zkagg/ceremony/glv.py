"""G1 multiplication by PUBLIC scalars with the GLV endomorphism (phase 2's group DFTs and query
sums): φ(x, y) = (β·x, y) = λ·(x, y), so k·P = k1·P + k2·φ(P) with k = k1 + k2·λ mod r and
|k1|, |k2| < 2^128, and the native kernel (zkagg_g1_mul_glv, ptau.c) shares 128 doublings
between the halves instead of doing 254. Not constant-time: never for secrets.

The split is Babai rounding against a short basis of {(a, b): a + b·λ = 0 mod r}, found by the
extended Euclidean algorithm (Gallant, Lambert, Vanstone, CRYPTO 2001, section 4); the
scalars of one call are split once per distinct value (twiddles and circuit coefficients repeat).
"""

from __future__ import annotations

import math

import numpy as np

from ..bn254 import FQ_MODULUS, FR_MODULUS, FrArray, get_backend
from ..bn254.native_backend import NativeBackend

R = FR_MODULUS
# the cube root of unity in F_r matching β = 0x59e2...fffe in F_q (checked in the tests)
LAMBDA = 0xB3C4D79D41A917585BFC41088D8DAAA78B17EA66B99C90DD


def _short_basis(n: int, lam: int) -> tuple[tuple[int, int], tuple[int, int]]:
    root = math.isqrt(n)
    rows = [(n, 0), (lam, 1)]  # (r_i, t_i) with s_i·n + t_i·λ = r_i
    while rows[-1][0] >= root:
        (r0, t0), (r1, t1) = rows[-2], rows[-1]
        quo = r0 // r1
        rows.append((r0 - quo * r1, t0 - quo * t1))
    (rl, tl), (rl1, tl1) = rows[-2], rows[-1]  # rl >= sqrt(n) > rl1
    v1 = (rl1, -tl1)
    cands = [(rl, -tl)]
    if len(rows) >= 2:
        r0, t0 = rows[-2]
        quo = r0 // rl1 if rl1 else 0
        cands.append((r0 - quo * rl1, -(t0 - quo * tl1)))
    v2 = min(cands, key=lambda v: v[0] ** 2 + v[1] ** 2)
    return v1, v2


(A1, B1), (A2, B2) = _short_basis(R, LAMBDA)
DET = A1 * B2 - A2 * B1


def split(k: int) -> tuple[int, int]:
    """(k1, k2) with k1 + k2·λ = k mod r and both below 2^128 in absolute value."""
    c1 = (k * B2 * 2 + DET) // (2 * DET) if DET > 0 else -((k * B2 * 2 - DET) // (-2 * DET))
    c2 = (-k * B1 * 2 + DET) // (2 * DET) if DET > 0 else -((-k * B1 * 2 - DET) // (-2 * DET))
    return k - c1 * A1 - c2 * A2, -c1 * B1 - c2 * B2


def _limbs(values: list[int]) -> np.ndarray:
    out = np.zeros((len(values), 4), dtype=np.uint64)
    for i, v in enumerate(values):
        out[i, 0], out[i, 1] = v & (2**64 - 1), v >> 64
    return out


def g1_mul_public(points: np.ndarray, scalars: FrArray) -> np.ndarray:
    """points[i]·scalars[i] (canonical affine G1 limbs, as the backend holds them)."""
    be = get_backend()
    if not isinstance(be, NativeBackend) or len(points) == 0:
        return be.point_mul("g1", points, scalars.limbs)
    values, inverse = np.unique(scalars.limbs, axis=0, return_inverse=True)
    parts = [split(k) for k in FrArray._trusted(np.ascontiguousarray(values)).to_ints()]
    k1 = _limbs([abs(a) for a, _ in parts])[inverse.reshape(-1)]
    k2 = _limbs([abs(b) for _, b in parts])[inverse.reshape(-1)]
    neg = np.array([(a < 0) | ((b < 0) << 1) for a, b in parts], dtype=np.uint8)[inverse.reshape(-1)]
    k1, k2, neg = np.ascontiguousarray(k1), np.ascontiguousarray(k2), np.ascontiguousarray(neg)
    out = be._new(len(points), 8)
    be.lib.zkagg_g1_mul_glv(be._ptr(out), be._ptr(be._to_mont(np.ascontiguousarray(points))), be._ptr(k1),
                            be._ptr(k2), be.ffi.cast("uint8_t *", neg.ctypes.data), len(points))
    return be._from_mont(out)


# G2: ψ (untwist, Frobenius, twist) acts on G2 as multiplication by q mod r = q - r ≈ 2^127.8,
# so k = k1 + k2·(q - r) with k2 = floor(k / (q - r)) needs no lattice: both halves < 2^128
PSI = FQ_MODULUS - R


def g2_mul_public(points: np.ndarray, scalars: FrArray) -> np.ndarray:
    """points[i]·scalars[i] (canonical affine G2 limbs); not constant-time."""
    be = get_backend()
    if not isinstance(be, NativeBackend) or len(points) == 0:
        return be.point_mul("g2", points, scalars.limbs)
    values, inverse = np.unique(scalars.limbs, axis=0, return_inverse=True)
    parts = [divmod(k, PSI) for k in FrArray._trusted(np.ascontiguousarray(values)).to_ints()]
    idx = inverse.reshape(-1)
    k1 = np.ascontiguousarray(_limbs([lo for _, lo in parts])[idx])
    k2 = np.ascontiguousarray(_limbs([hi for hi, _ in parts])[idx])
    out = be._new(len(points), 16)
    be.lib.zkagg_g2_mul_psi(be._ptr(out), be._ptr(be._to_mont(np.ascontiguousarray(points))), be._ptr(k1),
                            be._ptr(k2), len(points))
    return be._from_mont(out)
