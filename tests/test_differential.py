"""Native variants against the reference twin and against each other, on the same random inputs."""

from __future__ import annotations

import random
from functools import partial, reduce

import numpy as np
import pytest

from zkagg import native
from zkagg.bench.native import random_points
from zkagg.bn254 import (
    FQ_MODULUS,
    FR_MODULUS,
    FrArray,
    G1Array,
    G1Point,
    G2Array,
    G2Point,
    ntt,
    use_backend,
)
from zkagg.bn254.limbs import ints_to_limbs, limbs_to_ints
from zkagg.circuit.r1cs import SparseMatrix

from .conftest import BACKENDS

NATIVE = [b for b in BACKENDS if b.startswith("native")]


def run_all(fn):  # noqa: ANN001, ANN201
    """fn's result on every engine."""
    results = {}
    for b in BACKENDS:
        with use_backend(b):
            results[b] = fn()
    return results


def all_equal(results: dict) -> bool:
    first = next(iter(results.values()))
    return all(r == first for r in results.values())


@pytest.mark.parametrize("n", [1, 2, 3, 17, 64])
@pytest.mark.parametrize("cls", [G1Array, G2Array], ids=["g1", "g2"])
def test_msm_agrees_across_engines(cls: type, n: int) -> None:
    rng = random.Random(n)
    pts = random_points(cls, n, rng)
    ks = FrArray.random(n, rng)
    assert all_equal(run_all(lambda: pts.msm(ks)))
    assert all_equal(run_all(lambda: pts.scalar_mul(ks).to_bytes()))


def test_field_and_ntt_agree_across_engines() -> None:
    rng = random.Random(7)
    a, b = FrArray.random(256, rng), FrArray.random(256, rng)
    assert all_equal(run_all(lambda: (a * b, a + b, a - b, a.dot(b), a.inverse(), a * 12345)))
    assert all_equal(run_all(lambda: (ntt(a), ntt(a, inverse=True), ntt(a, coset=True))))


@pytest.mark.parametrize("log_n", [10, 13])
@pytest.mark.parametrize("cls", [G1Array, G2Array], ids=["g1", "g2"])
@pytest.mark.parametrize("threads", [1, 2])
def test_large_native_msm_equals_sum_of_products(cls: type, log_n: int, threads: int) -> None:
    """Sizes where Pippenger uses many windows and threads; checked with an independent path
    (element-wise scalar multiplication, then a tree of additions) and across native variants."""
    rng = random.Random(log_n)
    n = 1 << log_n
    pts = random_points(cls, n, rng)
    ks = FrArray.from_ints([0, 1, 2, (1 << 254) % 7] + FrArray.random(n - 4, rng).to_ints())
    results = []
    for b in NATIVE:
        lib = native.load(b.split("-")[1]).lib
        lib.zkagg_set_threads(threads)
        try:
            with use_backend(b):
                results.append(pts.msm(ks))
                prods = pts.scalar_mul(ks)
                while len(prods) > 1:
                    half = len(prods) // 2
                    prods = cls._trusted(prods.limbs[:half]) + cls._trusted(prods.limbs[half:])
                results.append(prods[0])
        finally:
            lib.zkagg_set_threads(0)
    assert len(set(results)) == 1


def test_sparse_products_agree_across_engines() -> None:
    """R1CS products: rows of 0 to 300 terms (the native core sums a row's products unreduced
    and reduces once), coefficients and values at r - 1, repeated columns."""
    rng = random.Random(11)
    r = FR_MODULUS
    rows = [{rng.randrange(400): rng.choice([r - 1, 1, rng.randrange(r)]) for _ in range(rng.randrange(0, 300))}
            for _ in range(200)]
    rows.append({j: r - 1 for j in range(400)})
    m = SparseMatrix.from_rows(rows)
    x = FrArray.from_ints([r - 1 if rng.random() < 0.3 else rng.randrange(r) for _ in range(400)])
    assert all_equal(run_all(lambda: m.mul(x)))


@pytest.mark.parametrize("variant", [b.split("-")[1] for b in NATIVE])
def test_fq2_products_against_python_ints(variant: str) -> None:
    """F_q2 multiplication (Karatsuba on unreduced products, two reductions) and squaring in
    Montgomery form, with 0, 1, q - 1 and other edge coefficients."""
    q = FQ_MODULUS
    rng = random.Random(13)
    edge = [0, 1, q - 1, q - 2, 2**253, (q - 1) // 2, 2**128]
    vals = [rng.choice(edge) if rng.random() < 0.3 else rng.randrange(q) for _ in range(4 * 500)]
    a = ints_to_limbs(vals[:1000], q, "a").reshape(-1, 8)
    b = ints_to_limbs(vals[1000:], q, "b").reshape(-1, 8)
    mod = native.load(variant)
    ptr = partial(mod.ffi.from_buffer, "uint64_t[]")
    prod, sq = np.zeros_like(a), np.zeros_like(a)
    mod.lib.zkagg_fq2_mul(ptr(prod), ptr(a), ptr(b), len(a))
    mod.lib.zkagg_fq2_sqr(ptr(sq), ptr(a), len(a))
    r_inv = pow(2**256, -1, q)  # Montgomery: x R * y R / R
    x, y = vals[:1000], vals[1000:]
    want_prod, want_sq = [], []
    for j in range(0, 1000, 2):
        a0, a1, b0, b1 = x[j], x[j + 1], y[j], y[j + 1]
        want_prod += [(a0 * b0 - a1 * b1) * r_inv % q, (a0 * b1 + a1 * b0) * r_inv % q]
        want_sq += [(a0 * a0 - a1 * a1) * r_inv % q, 2 * a0 * a1 * r_inv % q]
    assert limbs_to_ints(prod.reshape(-1, 4)) == want_prod
    assert limbs_to_ints(sq.reshape(-1, 4)) == want_sq


@pytest.mark.parametrize("log_n", [12, 16])
def test_large_ntt_roundtrip_and_variants_agree(log_n: int) -> None:
    a = FrArray.random(1 << log_n, random.Random(log_n))
    outs = []
    for b in NATIVE:
        with use_backend(b):
            f = ntt(a, coset=True)
            assert ntt(f, inverse=True, coset=True) == a
            outs.append(f)
    assert all(o == outs[0] for o in outs)


def test_points_module_level_generators_are_valid() -> None:
    for b in BACKENDS:
        with use_backend(b):
            assert not G1Point.generator().is_infinity and not G2Point.generator().is_infinity
            assert reduce(lambda p, _: p.double(), range(3), G1Point.generator()) == G1Point.generator() * 8
