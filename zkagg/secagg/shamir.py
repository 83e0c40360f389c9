"""Shamir t-of-n secret sharing over F_r (polynomials from galois).

A secret s is the constant term of a random polynomial f of degree t − 1; party x receives f(x).
Any t shares give s back by Lagrange interpolation at 0; fewer than t reveal nothing about s.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import galois

from ..bn254.constants import FR_GENERATOR, FR_MODULUS
from ..errors import InputError


@lru_cache(maxsize=1)
def field() -> Any:
    # verify=False with the known generator: galois's own primality and generator search takes
    # over a minute for a 254-bit prime.
    return galois.GF(FR_MODULUS, primitive_element=FR_GENERATOR, verify=False)


def split(secret: int, threshold: int, xs: Sequence[int]) -> list[int]:
    """Shares f(x) for each x in xs (distinct, nonzero) of a fresh random degree-(t−1) polynomial."""
    if not 0 <= secret < FR_MODULUS:
        raise InputError("secret must be in [0, r)")
    if not 1 <= threshold <= len(xs):
        raise InputError(f"threshold must be in [1, {len(xs)}], got {threshold}")
    if len(set(xs)) != len(xs) or any(not 0 < x < FR_MODULUS for x in xs):
        raise InputError("share points must be distinct and in [1, r)")
    gf = field()
    # galois orders coefficients from the highest degree down; the secret is the constant term.
    coeffs = [secrets.randbelow(FR_MODULUS) for _ in range(threshold - 1)] + [secret]
    poly = galois.Poly(gf(coeffs))
    return [int(y) for y in poly(gf(list(xs)))]


def interpolate(points: Sequence[tuple[int, int]]) -> Any:
    """The unique polynomial of degree < len(points) through the points (x distinct)."""
    xs = [x for x, _ in points]
    if len(set(xs)) != len(xs):
        raise InputError("share points must be distinct")
    gf = field()
    return galois.lagrange_poly(gf(xs), gf([y for _, y in points]))


def combine(points: Sequence[tuple[int, int]]) -> int:
    """The secret f(0) from exactly t shares (x, f(x))."""
    if not points:
        raise InputError("no shares to combine")
    return int(interpolate(points)(field()(0)))
