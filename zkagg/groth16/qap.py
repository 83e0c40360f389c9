"""From R1CS to the quadratic arithmetic program Groth16 works with.

The constraint rows are extended with one row per public wire (including the constant one),
A[n + j][j] = 1 with B and C empty, so the public-input polynomials are linearly independent
(each public input gets its own evaluation point): this is what binds every public input.
The domain H is the 2^k-th roots of unity with 2^k >= rows.
"""

from __future__ import annotations

import numpy as np

from ..bn254 import FR_MODULUS, FrArray, get_backend, ntt
from ..bn254.constants import FR_TWO_ADICITY
from ..circuit import R1CS, SparseMatrix
from ..errors import CircuitError

R = FR_MODULUS


def domain_size(r1cs: R1CS) -> int:
    rows = r1cs.n_constraints + r1cs.n_public + 1
    n = 1 << max(1, (rows - 1).bit_length())
    if n > 1 << FR_TWO_ADICITY:
        raise CircuitError(f"{rows} rows exceed the largest domain 2^{FR_TWO_ADICITY}")
    return n


def extended(r1cs: R1CS) -> tuple[SparseMatrix, SparseMatrix, SparseMatrix]:
    binding = [{j: 1} for j in range(r1cs.n_public + 1)]
    empty: list[dict[int, int]] = [{} for _ in binding]
    return r1cs.a.append_rows(binding), r1cs.b.append_rows(empty), r1cs.c.append_rows(empty)


def roots_of_unity(n: int) -> FrArray:
    """[w^0, ..., w^(n-1)] for the n-th root of unity w used by ntt (the transform of e_1)."""
    e1 = np.zeros((n, 4), dtype=np.uint64)
    if n > 1:
        e1[1, 0] = 1
    else:
        e1[0, 0] = 1
    return ntt(FrArray._trusted(e1))


def lagrange_at(tau: int, n: int) -> FrArray:
    """L_i(tau) = w^i (tau^n - 1) / (n (tau - w^i)) for the n-point domain; tau outside it.

    tau is a setup secret: every product, power and inversion involving it runs in the native
    branch-free vector kernels (tau^n by squarings, the n inverses as one Fermat inversion)."""
    w = roots_of_unity(n)
    t = FrArray.from_ints([tau])
    t_n = t
    for _ in range(n.bit_length() - 1):  # n is a power of two
        t_n = t_n * t_n
    z = t_n - FrArray.from_ints([1])
    if z == FrArray.zeros(1):
        raise CircuitError("tau lies in the evaluation domain")
    diffs = FrArray._trusted(np.repeat(t.limbs, n, axis=0)) - w
    scale = z * FrArray.from_ints([pow(n, -1, R)])
    return (w * diffs.inverse()) * scale[0]


def quotient(rows: tuple[FrArray, FrArray, FrArray], publics: FrArray, n: int) -> FrArray:
    """Coefficients h_0..h_{n-2} of h = (A(x) B(x) - C(x)) / (x^n - 1).

    `rows` are A z, B z, C z; the binding rows add the public wires `publics` (constant one
    first) to A. h is computed on the coset 5H, where the vanishing polynomial is 5^n - 1.
    The three polynomials live in one buffer and are transformed and combined in place: at
    2^20 rows a temporary is 32 MiB, and fresh memory is slow to fault in."""
    az, bz, cz = rows
    be = get_backend()
    polys = np.zeros((3, n, 4), dtype=np.uint64)
    polys[0, : len(az)] = az.limbs
    polys[0, len(az) : len(az) + len(publics)] = publics.limbs
    polys[1, : len(bz)] = bz.limbs
    polys[2, : len(cz)] = cz.limbs
    for p in polys:
        be.fr_ntt(p, inverse=True, coset=False, out=p)
        be.fr_ntt(p, inverse=False, coset=True, out=p)
    a, b, c = polys
    z_inv = pow((pow(5, n, R) - 1) % R, -1, R)
    be.fr_mul(a, b, out=a)
    be.fr_sub(a, c, out=a)
    be.fr_scale(a, z_inv, out=a)
    be.fr_ntt(a, inverse=True, coset=True, out=a)
    if a[n - 1].any():
        raise CircuitError("the witness does not satisfy the R1CS (h has full degree)")
    return FrArray._trusted(a[: n - 1])


def odd_coset_evaluations(rows: tuple[FrArray, FrArray, FrArray], publics: FrArray, n: int) -> FrArray:
    """(A·B - C)(x_i) at x_i = w_2n^(2i+1), i < n: the odd points of the 2n-point domain, where
    snarkjs's H query [L_{2i+1}(tau)/delta] pairs with them. A·B - C vanishes on the even points
    (the n-point domain), so these n values determine h(tau) Z(tau)."""
    az, bz, cz = rows
    polys = np.zeros((3, n, 4), dtype=np.uint64)
    polys[0, : len(az)] = az.limbs
    polys[0, len(az) : len(az) + len(publics)] = publics.limbs
    polys[1, : len(bz)] = bz.limbs
    polys[2, : len(cz)] = cz.limbs
    powers = FrArray._trusted(roots_of_unity(2 * n).limbs[:n])  # (w_2n)^k for k < n: the shift's powers
    out = []
    for p in polys:
        coeffs = ntt(FrArray._trusted(p), inverse=True)
        out.append(ntt(coeffs * powers))
    a, b, c = out
    return a * b - c
