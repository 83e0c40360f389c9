"""Reference engine: Python ints for F_r and the NTT, py-ecc for the curves and the pairing.

Readable and slow (a G1 scalar multiplication takes milliseconds); it is the twin that the native
core is tested against, and what ZKAGG_BACKEND=reference runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from py_ecc import optimized_bn128 as ecc

from ..errors import InputError, LengthError, NotInvertibleError
from .backend import CSR, POINT_LIMBS, Group, MsmPart
from .constants import FQ_MODULUS, FR_GENERATOR, FR_MODULUS, FR_TWO_ADICITY
from .limbs import Limbs, ints_to_limbs, limbs_to_ints

R = FR_MODULUS


def _fr(values: list[int]) -> Limbs:
    return ints_to_limbs(values, R, "result")


def _into(out: Limbs | None, result: Limbs) -> Limbs:
    if out is None:
        return result
    out[...] = result
    return out


def ntt_reference(values: list[int], inverse: bool = False, coset: bool = False) -> list[int]:
    """Evaluate the polynomial with coefficients `values` on the 2^k-th roots of unity (times
    the coset shift 5 when `coset`), or interpolate back when `inverse`. Iterative radix-2."""
    n = len(values)
    log_n = n.bit_length() - 1
    if n == 0 or n != 1 << log_n or log_n > FR_TWO_ADICITY:
        raise InputError(f"NTT length must be a power of two up to 2^{FR_TWO_ADICITY}, not {n}")
    a = list(values)
    if coset and not inverse:
        shift = 1
        for i in range(n):
            a[i] = a[i] * shift % R
            shift = shift * FR_GENERATOR % R
    rev = [int(format(i, f"0{log_n}b")[::-1], 2) if log_n else 0 for i in range(n)]
    a = [a[rev[i]] for i in range(n)]
    omega = pow(FR_GENERATOR, (R - 1) >> log_n, R)
    if inverse:
        omega = pow(omega, -1, R)
    size = 2
    while size <= n:
        w_step = pow(omega, n // size, R)
        for start in range(0, n, size):
            w = 1
            for j in range(size // 2):
                u, v = a[start + j], a[start + j + size // 2] * w % R
                a[start + j], a[start + j + size // 2] = (u + v) % R, (u - v) % R
                w = w * w_step % R
        size *= 2
    if inverse:
        n_inv = pow(n, -1, R)
        a = [x * n_inv % R for x in a]
        if coset:
            g_inv, shift = pow(FR_GENERATOR, -1, R), 1
            for i in range(n):
                a[i] = a[i] * shift % R
                shift = shift * g_inv % R
    return a


# ---- points: canonical limb rows <-> py-ecc projective points ----

def _fq2(c0: int, c1: int) -> ecc.FQ2:
    return ecc.FQ2([c0, c1])


def _to_ecc(g: Group, row: list[int]) -> Any:
    if not any(row):
        return ecc.Z1 if g == "g1" else ecc.Z2
    if g == "g1":
        return (ecc.FQ(row[0]), ecc.FQ(row[1]), ecc.FQ.one())
    return (_fq2(row[0], row[1]), _fq2(row[2], row[3]), ecc.FQ2.one())


def _from_ecc(g: Group, pt: Any) -> list[int]:
    if ecc.is_inf(pt):
        return [0] * (POINT_LIMBS[g] // 4)
    x, y = ecc.normalize(pt)
    if g == "g1":
        return [x.n, y.n]
    return [int(x.coeffs[0]), int(x.coeffs[1]), int(y.coeffs[0]), int(y.coeffs[1])]


def _points(g: Group, p: Limbs) -> list[Any]:
    coords = limbs_to_ints(p.reshape(-1, 4))
    w = POINT_LIMBS[g] // 4
    return [_to_ecc(g, coords[i : i + w]) for i in range(0, len(coords), w)]


def _rows(g: Group, pts: list[Any]) -> Limbs:
    coords = [c for pt in pts for c in _from_ecc(g, pt)]
    return ints_to_limbs(coords, FQ_MODULUS, "point").reshape(len(pts), POINT_LIMBS[g])


def _on_curve(g: Group, pt: Any) -> bool:
    return bool(ecc.is_on_curve(pt, ecc.b if g == "g1" else ecc.b2))


class ReferenceBackend:
    name = "reference"

    def fr_add(self, a: Limbs, b: Limbs) -> Limbs:
        return _fr([(x + y) % R for x, y in zip(limbs_to_ints(a), limbs_to_ints(b))])

    def fr_sub(self, a: Limbs, b: Limbs, out: Limbs | None = None) -> Limbs:
        return _into(out, _fr([(x - y) % R for x, y in zip(limbs_to_ints(a), limbs_to_ints(b))]))

    def fr_neg(self, a: Limbs) -> Limbs:
        return _fr([-x % R for x in limbs_to_ints(a)])

    def fr_mul(self, a: Limbs, b: Limbs, out: Limbs | None = None) -> Limbs:
        return _into(out, _fr([x * y % R for x, y in zip(limbs_to_ints(a), limbs_to_ints(b))]))

    def fr_scale(self, a: Limbs, s: int, out: Limbs | None = None) -> Limbs:
        return _into(out, _fr([x * s % R for x in limbs_to_ints(a)]))

    def fr_dot(self, a: Limbs, b: Limbs) -> int:
        return sum(x * y for x, y in zip(limbs_to_ints(a), limbs_to_ints(b))) % R

    def fr_inverse(self, a: Limbs) -> Limbs:
        vals = limbs_to_ints(a)
        if 0 in vals:
            raise NotInvertibleError(f"element {vals.index(0)} is zero and has no inverse")
        return _fr([pow(x, -1, R) for x in vals])

    def fr_ntt(self, a: Limbs, inverse: bool, coset: bool, out: Limbs | None = None) -> Limbs:
        return _into(out, _fr(ntt_reference(limbs_to_ints(a), inverse, coset)))

    def fr_csr_mul(self, m: CSR, x: Limbs) -> Limbs:
        row_ptr, cols, coeffs = m
        xs, cs, ptr = limbs_to_ints(x), limbs_to_ints(coeffs), row_ptr.tolist()
        return _fr([
            sum(cs[k] * xs[int(cols[k])] for k in range(ptr[i], ptr[i + 1])) % R
            for i in range(len(ptr) - 1)
        ])

    def fr_csr_mul_t(self, m: CSR, x: Limbs, n_cols: int) -> Limbs:
        row_ptr, cols, coeffs = m
        xs, cs, ptr = limbs_to_ints(x), limbs_to_ints(coeffs), row_ptr.tolist()
        out = [0] * n_cols
        for i in range(len(ptr) - 1):
            for k in range(ptr[i], ptr[i + 1]):
                c = int(cols[k])
                if c >= n_cols:
                    raise InputError(f"column {c} is outside the {n_cols} columns")
                out[c] = (out[c] + cs[k] * xs[i]) % R
        return _fr(out)

    def point_check(self, g: Group, p: Limbs, cache: dict[str, Any] | None = None) -> int:
        for i, pt in enumerate(_points(g, p)):
            if ecc.is_inf(pt):
                continue
            if not _on_curve(g, pt):
                return i
            if g == "g2" and not ecc.is_inf(ecc.multiply(pt, R)):
                return i
        return -1

    def point_add(self, g: Group, a: Limbs, b: Limbs) -> Limbs:
        return _rows(g, [ecc.add(x, y) for x, y in zip(_points(g, a), _points(g, b))])

    def point_double(self, g: Group, a: Limbs) -> Limbs:
        return _rows(g, [ecc.double(x) for x in _points(g, a)])

    def point_neg(self, g: Group, a: Limbs) -> Limbs:
        return _rows(g, [ecc.neg(x) for x in _points(g, a)])

    def point_mul(self, g: Group, p: Limbs, k: Limbs) -> Limbs:
        return _rows(g, [ecc.multiply(x, s) for x, s in zip(_points(g, p), limbs_to_ints(k))])

    def point_mul_secret(self, g: Group, p: Limbs, k: Limbs) -> Limbs:
        """The same products as point_mul: this engine is a readable twin, not constant-time."""
        return self.point_mul(g, p, k)

    def point_fixed_base_mul(self, g: Group, base: Limbs, k: Limbs) -> Limbs:
        if base.shape != (1, POINT_LIMBS[g]):
            raise LengthError(f"a fixed base is one {g.upper()} point, not an array of shape {base.shape}")
        b = _points(g, base)[0]
        return _rows(g, [ecc.multiply(b, s) for s in limbs_to_ints(k)])

    def msm(self, g: Group, p: Limbs, k: Limbs, cache: dict[str, Any] | None = None) -> Limbs:
        acc = ecc.Z1 if g == "g1" else ecc.Z2
        for x, s in zip(_points(g, p), limbs_to_ints(k)):
            acc = ecc.add(acc, ecc.multiply(x, s))
        return _rows(g, [acc])

    def msm_many(self, scalars: Sequence[Limbs], parts: Sequence[MsmPart]) -> list[Limbs]:
        return [self.msm(pt.group, pt.points, scalars[pt.vector][pt.offset : pt.offset + len(pt.points)])
                for pt in parts]

    def pairing_check(self, g1: Limbs, g2: Limbs) -> bool:
        """py-ecc's optimal ate pairing: one Miller loop per pair, one final exponentiation."""
        if len(g1) != len(g2):
            raise LengthError(f"pairing check of {len(g1)} G1 points and {len(g2)} G2 points")
        acc = ecc.FQ12.one()
        for p, q in zip(_points("g1", g1), _points("g2", g2)):
            if ecc.is_inf(p) or ecc.is_inf(q):
                continue
            acc = acc * ecc.pairing(q, p, final_exponentiate=False)
        return bool(ecc.final_exponentiate(acc) == ecc.FQ12.one())
