"""Pairing-product checks on BN254: prod e(P_i, Q_i) == 1 with the optimal ate pairing.

The native engine runs one multi-Miller loop over all pairs and one final exponentiation
(native/src/pairing.c); the reference engine is py-ecc's pairing. The points are validated when
they are built (G1Point / G2Point), which the native check relies on.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import InputError
from .backend import get_backend
from .curve import G1Array, G1Point, G2Array, G2Point


def pairing_product_is_one(pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
    """True iff prod e(P_i, Q_i) = 1. Pairs with a point at infinity contribute 1; no pairs
    is the empty product, 1."""
    pairs = list(pairs)
    for i, pair in enumerate(pairs):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InputError(f"pairs[{i}] must be a (G1Point, G2Point) tuple")
    g1 = G1Array.from_points(p for p, _ in pairs)
    g2 = G2Array.from_points(q for _, q in pairs)
    return get_backend().pairing_check(g1.limbs, g2.limbs)
