"""Constant-time scalar multiplication for secret scalars: `fixed_base_mul` and
`scalar_mul_secret` against the reference twin (py-ecc) and the variable-base `scalar_mul`, on
edge scalars, every fixed-base window width, and the rare inputs where the complete formulas
matter.

There is no timing assertion here: why the kernels are constant-time is argued where they are
written (native/src/ct_curve.h, fixed_base.c): no branch and no memory index depends on a
scalar. These tests check that the branch-free code computes the right points."""

from __future__ import annotations

import random

import numpy as np
import pytest

from zkagg.bench.native import random_points
from zkagg.bn254 import (
    FR_MODULUS,
    FrArray,
    G1Array,
    G1Point,
    G2Array,
    G2Point,
    fixed_base_mul,
    get_backend,
    use_backend,
)
from zkagg.bn254.native_backend import NativeBackend
from zkagg.errors import InputError, LengthError

from .conftest import BACKENDS

R = FR_MODULUS
NATIVE = [b for b in BACKENDS if b.startswith("native")]
GROUPS = [(G1Point, G1Array), (G2Point, G2Array)]
EDGES = sorted(
    {0, 1, 2, 3, R - 1, R - 2, R - 3, (R - 1) // 2, (R + 1) // 2}
    | {v % R for k in (1, 2, 5, 6, 7, 8, 63, 64, 65, 127, 128, 200, 252, 253, 254) for v in (2**k - 1, 2**k, 2**k + 1)}
    | {(-(2**k)) % R for k in (7, 64, 252)}
)


def window_digits(k: int, w: int) -> list[int]:
    """The signed digits of the native recoding (fixed_base.c, ct_digit)."""
    n_windows, digits, carry = -(-255 // w), [], 0
    for j in range(n_windows):
        raw = ((k >> (w * j)) & ((1 << w) - 1)) + carry
        carry = (raw + (1 << (w - 1))) >> w if j + 1 < n_windows else 0
        digits.append(raw - (carry << w))
    assert sum(d << (w * j) for j, d in enumerate(digits)) == k
    return digits


def doubling_scalars(w: int) -> list[int]:
    """Scalars whose last window adds a point to itself (the sum of the lower digits equals the
    top term mod r): the case that the affine additions cannot take and the complete formula
    must. k = 2 d 2^(w j) mod r, kept when its recoding really has top digit d."""
    n_windows, out = -(-255 // w), []
    for j in range(253 // w, n_windows):
        for d in range(1, (1 << (w - 1)) + 1):
            for b in (d << (w * j), -(d << (w * j))):
                k = 2 * b % R
                digits = window_digits(k, w)
                low = sum(x << (w * i) for i, x in enumerate(digits[:j]))
                if digits[j] << (w * j) == b and (low - b) % R == 0:
                    out.append(k)
    return out


def test_doubling_scalars_exist() -> None:
    """The exceptional case is real for most widths (so the tests below do reach it)."""
    found = [w for w in range(1, 13) if doubling_scalars(w)]
    assert len(found) >= 10 and 7 in found and 8 in found


@pytest.mark.parametrize("point,array", GROUPS, ids=["g1", "g2"])
def test_fixed_base_matches_reference(point: type, array: type) -> None:
    rng = random.Random(5)
    base = point.generator() * 7
    ks = FrArray.from_ints(EDGES + [rng.randrange(R) for _ in range(8)])
    with use_backend("reference"):
        want = fixed_base_mul(base, ks)
        assert want == array.from_points([base * k for k in ks])
    for b in NATIVE:
        with use_backend(b):
            got = fixed_base_mul(base, ks)
            assert type(got) is array and got == want, b


@pytest.mark.parametrize("n", [1, 2, 255, 256, 257, 700])
@pytest.mark.parametrize("point,array", GROUPS, ids=["g1", "g2"])
def test_fixed_base_matches_variable_base(point: type, array: type, n: int) -> None:
    """Sizes around the work-item blocks (256 scalars for G1, 128 for G2) and several threads."""
    rng = random.Random(n)
    base = point.generator() * rng.randrange(1, R)
    ks = FrArray.from_ints(([0, 1, R - 1] + [rng.randrange(R) for _ in range(n)])[:n])
    copies = array._trusted(np.repeat(base._limbs(), n, axis=0))
    for b in NATIVE:
        with use_backend(b):
            assert fixed_base_mul(base, ks) == copies.scalar_mul(ks), b


def _raw_fixed_base(nb: NativeBackend, group: str, base: np.ndarray, k: np.ndarray, window: int) -> np.ndarray:
    width = 8 if group == "g1" else 16
    out = np.empty((len(k), width), dtype=np.uint64)
    rc = getattr(nb.lib, f"zkagg_{group}_fixed_base_mul")(
        nb._ptr(out), nb._ptr(nb._to_mont(base)), nb._ptr(np.ascontiguousarray(k)), len(k), window)
    assert rc == 0
    return nb._from_mont(out)


@pytest.mark.parametrize("variant", NATIVE)
@pytest.mark.parametrize("point,array", GROUPS, ids=["g1", "g2"])
def test_every_window_width(variant: str, point: type, array: type) -> None:
    """Each width (the automatic choice depends on n), with the edge scalars, the scalars that
    hit the doubling case in the last window, and unreduced 256-bit scalars."""
    nb = NativeBackend(variant.partition("-")[2])
    group = point.group
    base = point.generator() * 11
    rng = random.Random(3)
    unreduced = [R, R + 1, 2**256 - 1, 5 * R + 12345]
    for w in range(1, 13):
        ks = EDGES + doubling_scalars(w) + unreduced + [rng.randrange(R) for _ in range(4)]
        limbs = np.array([[(k >> (64 * i)) & (2**64 - 1) for i in range(4)] for k in ks], dtype=np.uint64)
        with use_backend(variant):
            want = array.from_points([base * (k % R) for k in ks])
        assert len(ks) >= 48  # one block of batched affine additions (CT_FB_AFFINE_MIN)
        assert np.array_equal(_raw_fixed_base(nb, group, base._limbs(), limbs, w), want.limbs), w
        for i in range(0, len(ks), 20):  # short blocks: every window in projective coordinates
            got = _raw_fixed_base(nb, group, base._limbs(), limbs[i : i + 20], w)
            assert np.array_equal(got, want.limbs[i : i + 20]), (w, i)
    out = np.empty((1, 8 if group == "g1" else 16), dtype=np.uint64)
    fn = getattr(nb.lib, f"zkagg_{group}_fixed_base_mul")
    assert fn(nb._ptr(out), nb._ptr(nb._to_mont(base._limbs())), nb._ptr(np.zeros((1, 4), np.uint64)), 1, 13) == -2


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("point,array", GROUPS, ids=["g1", "g2"])
def test_fixed_base_edge_inputs(backend: str, point: type, array: type) -> None:
    with use_backend(backend):
        assert len(fixed_base_mul(point.generator(), FrArray.zeros(0))) == 0
        inf = fixed_base_mul(point.infinity(), FrArray.from_ints([0, 1, 5, R - 1]))
        assert all(p.is_infinity for p in inf)
        out = fixed_base_mul(point.generator(), FrArray.from_ints([0, 1, R - 1]))
        assert list(out) == [point.infinity(), point.generator(), -point.generator()]
        with pytest.raises(InputError):
            fixed_base_mul(point.generator(), [1, 2])  # type: ignore[call-overload]
        with pytest.raises(InputError):
            fixed_base_mul(array.from_points([point.generator()]), FrArray.zeros(1))  # type: ignore[call-overload]
        two_bases = np.zeros((2, 8 if point.group == "g1" else 16), np.uint64)
        with pytest.raises(LengthError):
            get_backend().point_fixed_base_mul(point.group, two_bases, FrArray.zeros(1).limbs)


@pytest.mark.parametrize("point,array", GROUPS, ids=["g1", "g2"])
def test_scalar_mul_secret_matches_reference(point: type, array: type) -> None:
    rng = random.Random(9)
    ks = EDGES + [rng.randrange(R) for _ in range(4)]
    pts = array.from_points([point.infinity()] + list(random_points(array, len(ks) - 1, rng)))
    scalars = FrArray.from_ints(ks)
    with use_backend("reference"):
        want = pts.scalar_mul(scalars)
        assert pts.scalar_mul_secret(scalars) == want
    for b in NATIVE:
        with use_backend(b):
            assert pts.scalar_mul_secret(scalars) == want, b
            assert pts.scalar_mul(scalars) == want, b
            p = pts[1]
            assert [p.mul_secret(k) for k in (0, 1, R - 1, ks[-1], -5)] == [p * k for k in (0, 1, R - 1, ks[-1], -5)]


@pytest.mark.parametrize("point,array", GROUPS, ids=["g1", "g2"])
def test_scalar_mul_secret_many_points(point: type, array: type) -> None:
    """More points than one work item (64), one shared scalar as in a ceremony contribution."""
    rng = random.Random(4)
    pts = random_points(array, 150, rng)
    s = rng.randrange(R)
    scalars = FrArray._trusted(np.repeat(FrArray.from_ints([s]).limbs, len(pts), axis=0))
    for b in NATIVE:
        with use_backend(b):
            assert pts.scalar_mul_secret(scalars) == pts.scalar_mul(scalars), b


def test_point_array_slices() -> None:
    g = G1Point.generator()
    pts = G1Array.from_points([g, g * 2, g * 3])
    assert pts[1:] == G1Array.from_points([g * 2, g * 3])
    assert len(pts[5:]) == 0 and pts[-1] == g * 3
    assert FrArray.concat([FrArray.from_ints([1]), FrArray.zeros(0), FrArray.from_ints([2, 3])]) == FrArray.from_ints([1, 2, 3])
    assert FrArray.concat([]) == FrArray.zeros(0)
    with pytest.raises(InputError):
        FrArray.concat([FrArray.zeros(1), [1]])  # type: ignore[list-item]
