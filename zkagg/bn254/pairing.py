"""Pairing-product checks on BN254 (py-ecc's optimal ate pairing; verification only, off the
proving hot path)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from py_ecc import optimized_bn128 as ecc

from .curve import G1Point, G2Point


def _g1(p: G1Point) -> Any:
    return ecc.Z1 if p.is_infinity else (ecc.FQ(p.x), ecc.FQ(p.y), ecc.FQ.one())


def _g2(p: G2Point) -> Any:
    if p.is_infinity:
        return ecc.Z2
    return (ecc.FQ2(list(p.x)), ecc.FQ2(list(p.y)), ecc.FQ2.one())


def pairing_product_is_one(pairs: Sequence[tuple[G1Point, G2Point]]) -> bool:
    """True iff prod e(P_i, Q_i) = 1 (one final exponentiation for all pairs)."""
    acc = ecc.FQ12.one()
    for p, q in pairs:
        if p.is_infinity or q.is_infinity:
            continue
        acc = acc * ecc.pairing(_g2(q), _g1(p), final_exponentiate=False)
    return bool(ecc.final_exponentiate(acc) == ecc.FQ12.one())
