"""A readable py-ecc twin of zkagg.kzg (and of the v2 batched check's KZG part), for
differential tests: plain Python ints and py_ecc.bn128 points, no zkagg engine involved.
Slow (about 6 ms per G1 multiplication, 0.3 s per pairing): small sizes only."""

from __future__ import annotations

from collections.abc import Sequence

from py_ecc import bn128 as ecc

R = ecc.curve_order
Point1 = tuple[ecc.FQ, ecc.FQ] | None


def srs_from_tau(tau: int, size: int) -> tuple[list[Point1], object]:
    """[tau^i]_1 for i < size, and [tau]_2."""
    return [ecc.multiply(ecc.G1, pow(tau, i, R)) for i in range(size)], ecc.multiply(ecc.G2, tau)


def commit(powers: Sequence[Point1], coeffs: Sequence[int]) -> Point1:
    acc: Point1 = None  # py-ecc's point at infinity
    for p, c in zip(powers, coeffs):
        acc = ecc.add(acc, ecc.multiply(p, c % R))
    return acc


def evaluate(coeffs: Sequence[int], z: int) -> int:
    return sum(c * pow(z, i, R) for i, c in enumerate(coeffs)) % R


def quotient(coeffs: Sequence[int], z: int) -> list[int]:
    """q with coeffs(X) - coeffs(z) = q(X) (X - z), by long division from the top."""
    q = [0] * (len(coeffs) - 1)
    carry = 0
    for i in range(len(coeffs) - 1, 0, -1):
        carry = (carry * z + coeffs[i]) % R
        q[i - 1] = carry
    return q


def open_at(powers: Sequence[Point1], coeffs: Sequence[int], z: int) -> tuple[int, Point1]:
    return evaluate(coeffs, z), commit(powers, quotient(coeffs, z))


def verify(tau_g2: object, commitment: Point1, z: int, value: int, proof: Point1) -> bool:
    """e(C - v G1 + z pi, G2) = e(pi, [tau]_2)."""
    lhs = ecc.add(ecc.add(commitment, ecc.neg(ecc.multiply(ecc.G1, value % R))), ecc.multiply(proof, z % R))
    return bool(ecc.pairing(ecc.G2, lhs) == ecc.pairing(tau_g2, proof))  # type: ignore[arg-type]


def to_ints(p: Point1) -> tuple[int, int]:
    """Affine coordinates as ints, (0, 0) for infinity (zkagg's and the EVM's encoding)."""
    if p is None:
        return (0, 0)
    return (int(p[0].n), int(p[1].n))
