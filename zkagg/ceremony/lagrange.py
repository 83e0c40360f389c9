"""The Lagrange basis in the group: [L_i(τ)] for the 2^k-point domain from the powers [τ^j].

L_i(τ) = (1/n) Σ_j ω^{-ij} τ^j, so the basis is an inverse DFT of the powers carried out on
points (radix 2, the twiddles are public: variable-base multiplication split by
the G1 / G2 endomorphisms, glv.py). The
root ω is the one of zkagg's `ntt`, which is snarkjs's (checked against snarkjs-prepared files
in the tests). `check_lagrange` verifies a given basis with one random combination instead:
Σ_j ρ_j P_j = Σ_i ρ̂_i L_i with ρ̂ = DFT(ρ), two MSMs and an NTT, no pairing.
"""

from __future__ import annotations

import random
from typing import TypeVar

import numpy as np

from ..bn254 import FR_MODULUS, FrArray, G1Array, G2Array, get_backend, ntt
from ..groth16.qap import roots_of_unity
from .glv import g1_mul_public, g2_mul_public

A = TypeVar("A", G1Array, G2Array)


def _bit_reverse(n: int) -> np.ndarray:
    bits = n.bit_length() - 1
    idx = np.arange(n)
    rev = np.zeros(n, dtype=np.int64)
    for b in range(bits):
        rev |= ((idx >> b) & 1) << (bits - 1 - b)
    return rev


def group_ifft(points: A) -> A:
    """[L_0(τ), ..., L_{n-1}(τ)] from [τ^0, ..., τ^{n-1}] (n a power of two)."""
    n = len(points)
    if n & (n - 1) or n == 0:
        raise ValueError("group_ifft needs a power-of-two length")
    g = points.point_type.group
    be = get_backend()
    data = np.ascontiguousarray(points.limbs[_bit_reverse(n)])
    w = roots_of_unity(n)
    w_inv = FrArray.from_ints([pow(x, -1, FR_MODULUS) if x else 0 for x in w.to_ints()])
    m = 1
    while m < n:
        step = n // (2 * m)
        tw = FrArray._trusted(np.tile(w_inv.limbs[np.arange(m) * step], (n // (2 * m), 1)))
        blocks = data.reshape(n // (2 * m), 2, m, -1)
        even = np.ascontiguousarray(blocks[:, 0]).reshape(n // 2, -1)
        odd = np.ascontiguousarray(blocks[:, 1]).reshape(n // 2, -1)
        t = g1_mul_public(odd, tw) if g == "g1" else g2_mul_public(odd, tw)
        top, bottom = be.point_add(g, even, t), be.point_add(g, even, be.point_neg(g, t))
        blocks = np.stack([top.reshape(n // (2 * m), m, -1), bottom.reshape(n // (2 * m), m, -1)], axis=1)
        data = np.ascontiguousarray(blocks.reshape(n, -1))
        m *= 2
    n_inv = FrArray._trusted(np.repeat(FrArray.from_ints([pow(n, -1, FR_MODULUS)]).limbs, n, axis=0))
    return type(points)._trusted(g1_mul_public(data, n_inv) if g == "g1" else g2_mul_public(data, n_inv))


def check_lagrange(powers: A, basis: A, rng: random.Random | None = None) -> bool:
    """True iff `basis` is the Lagrange basis of `powers` (with overwhelming probability)."""
    n = len(powers)
    if len(basis) != n:
        return False
    rho = FrArray.random(n, rng)
    return bool(powers.msm(rho) == basis.msm(ntt(rho)))
