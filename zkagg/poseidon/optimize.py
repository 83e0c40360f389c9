"""The equivalent fast form of the Poseidon permutation that the native core evaluates.

A partial round applies the S-box to state[0] only, so most of its work is the dense t x t
MDS product. Two rewrites (Poseidon paper, appendix B) make partial rounds cost about 2t
multiplications instead of t^2, with the same output:

1. Constants. A constant vector added at the start of partial round j equals M^-1 of it added
   after the S-box of round j - 1 (the linear layer is linear). Its elements 1..t-1 commute with
   that S-box (which touches state[0] only), so they move further up; element 0 stays as one
   scalar added to state[0] right after the S-box of round j - 1. Repeating from the last partial
   round up leaves a full vector before the first partial round and one scalar per other round.
2. Matrices. Any A = [[a00, a0^T], [a1, Â]] with Â invertible factors as A = S · D with
   D = diag(1, Â) and the sparse S = [[a00, a0^T Â^-1], [a1, I]]. D leaves state[0] alone, so it
   commutes with the partial S-box and the scalar constant and merges into the previous round's
   matrix, D · M, which factors again. With M = [[m00, m0^T], [m1, M̂]], the round at depth k
   from the end (k = 1 for the last) gets S_k = [[m00, m0^T M̂^-k], [M̂^(k-1) m1, I]], and
   D = diag(1, M̂^R_P) lands in the last full round before the partial rounds (matrix D·M) and on
   the first partial round's constant vector. M̂ is invertible because every square submatrix
   of a Cauchy (MDS) matrix is.

The evaluation order this yields (all in permute_fast below, mirrored by native/src/poseidon.c):
  full rounds 0..R_F/2-1: add constants, x^5 on all, multiply by M (by D·M in the last one)
  then add `partial_first`
  partial round j: state[0]^5, add partial_constants[j] to state[0] (j < R_P - 1),
                   multiply by sparse S_j: s0' = row·s, s_i' = s_i + col_i·s0
  full rounds R_F/2..R_F-1: as the first ones, with M.
The tests check permute_fast against reference.permute_with for every width.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from .params import PoseidonParams, R, constants

Matrix = list[list[int]]


@dataclass(frozen=True)
class FastParams:
    t: int
    rounds_f: int
    rounds_p: int
    #: R_F * t constants of the full rounds, first half then second half
    full_constants: tuple[int, ...]
    #: t * t row-major M
    mds: tuple[int, ...]
    #: t * t row-major D·M, the linear layer of the last full round before the partial rounds
    pre_mds: tuple[int, ...]
    #: t constants added after that round
    partial_first: tuple[int, ...]
    #: R_P - 1 scalars added to state[0] after the S-box of partial rounds 0..R_P-2
    partial_constants: tuple[int, ...]
    #: R_P * (2t - 1): per partial round the sparse matrix's row 0 (t) then its column 0 below
    #: the diagonal (t - 1)
    sparse: tuple[int, ...]


def mat_mul(a: Matrix, b: Matrix) -> Matrix:
    cols = list(zip(*b))
    return [[sum(x * y for x, y in zip(row, col)) % R for col in cols] for row in a]


def mat_vec(a: Matrix, v: Sequence[int]) -> list[int]:
    return [sum(x * y for x, y in zip(row, v)) % R for row in a]


def vec_mat(v: Sequence[int], a: Matrix) -> list[int]:
    return [sum(x * y for x, y in zip(v, col)) % R for col in zip(*a)]


def mat_pow(a: Matrix, e: int) -> Matrix:
    """a^e for e >= 1 by square-and-multiply."""
    result: Matrix | None = None
    base = a
    while e:
        if e & 1:
            result = base if result is None else mat_mul(result, base)
        e >>= 1
        if e:
            base = mat_mul(base, base)
    assert result is not None
    return result


def mat_inv(a: Matrix) -> Matrix:
    """Gauss-Jordan inverse mod r; ValueError if singular."""
    n = len(a)
    aug = [list(row) + [int(i == j) for j in range(n)] for i, row in enumerate(a)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if aug[r][col] % R), None)
        if pivot is None:
            raise ValueError("singular matrix")
        aug[col], aug[pivot] = aug[pivot], aug[col]
        inv = pow(aug[col][col], -1, R)
        aug[col] = [x * inv % R for x in aug[col]]
        for r in range(n):
            if r != col and aug[r][col]:
                f = aug[r][col]
                aug[r] = [(x - f * y) % R for x, y in zip(aug[r], aug[col])]
    return [row[n:] for row in aug]


def fast_form(p: PoseidonParams) -> FastParams:
    t, rf, rp = p.t, p.rounds_f, p.rounds_p
    half = rf // 2
    rc = [list(p.round_constants[k * t : (k + 1) * t]) for k in range(rf + rp)]
    m = [list(row) for row in p.mds]

    # 1. constants: push each partial round's vector up through the linear layer
    m_inv = mat_inv(m)
    partial = rc[half : half + rp]
    carried = [0] * t
    post = [0] * (rp - 1)
    for j in range(rp - 1, 0, -1):
        w = mat_vec(m_inv, [(c + d) % R for c, d in zip(partial[j], carried)])
        post[j - 1] = w[0]
        carried = [0, *w[1:]]
    first = [(c + d) % R for c, d in zip(partial[0], carried)]

    # 2. matrices: S_k = [[m00, m0^T M̂^-k], [M̂^(k-1) m1, I]] at depth k = R_P - j
    m00, m0, m1 = m[0][0], m[0][1:], [row[0] for row in m[1:]]
    m_hat = [row[1:] for row in m[1:]]
    m_hat_inv = mat_inv(m_hat)
    sparse: list[list[int]] = [[] for _ in range(rp)]
    row, col = vec_mat(m0, m_hat_inv), m1
    for k in range(1, rp + 1):
        sparse[rp - k] = [m00, *row, *col]
        row, col = vec_mat(row, m_hat_inv), mat_vec(m_hat, col)
    power = mat_pow(m_hat, rp)
    d = [[1] + [0] * (t - 1)] + [[0, *r] for r in power]

    return FastParams(
        t=t,
        rounds_f=rf,
        rounds_p=rp,
        full_constants=tuple(c for r in rc[:half] + rc[half + rp :] for c in r),
        mds=tuple(x for r in m for x in r),
        pre_mds=tuple(x for r in mat_mul(d, m) for x in r),
        partial_first=tuple(mat_vec(d, first)),
        partial_constants=tuple(post),
        sparse=tuple(x for s in sparse for x in s),
    )


@cache
def fast_params(t: int) -> FastParams:
    """The fast form of the pinned width-t instance, derived once."""
    return fast_form(constants(t))


def permute_fast(f: FastParams, state: Sequence[int]) -> list[int]:
    """The permutation evaluated in the fast form (the native core's algorithm, in Python)."""
    t, half = f.t, f.rounds_f // 2
    mds = [list(f.mds[i * t : (i + 1) * t]) for i in range(t)]
    pre = [list(f.pre_mds[i * t : (i + 1) * t]) for i in range(t)]
    s = list(state)

    def full(k: int, matrix: Matrix) -> list[int]:
        c = f.full_constants[k * t : (k + 1) * t]
        return mat_vec(matrix, [pow((x + ci) % R, 5, R) for x, ci in zip(s, c)])

    for k in range(half):
        s = full(k, pre if k == half - 1 else mds)
    s = [(x + c) % R for x, c in zip(s, f.partial_first)]
    width = 2 * t - 1
    for j in range(f.rounds_p):
        s0 = pow(s[0], 5, R)
        if j < f.rounds_p - 1:
            s0 = (s0 + f.partial_constants[j]) % R
        sp = f.sparse[j * width : (j + 1) * width]
        s[0] = s0
        new0 = sum(a * b for a, b in zip(sp[:t], s)) % R
        s = [new0] + [(s[i] + sp[t + i - 1] * s0) % R for i in range(1, t)]
    for k in range(half, f.rounds_f):
        s = full(k, mds)
    return s
