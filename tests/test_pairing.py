"""The optimal ate pairing: laws as product checks on every engine, and the native pairing's
values against py-ecc (full pairing, final exponentiation against the plain power)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from py_ecc import optimized_bn128 as ecc

from zkagg import native
from zkagg.bn254 import G1Array, G1Point, G2Array, G2Point, get_backend, use_backend
from zkagg.bn254.constants import FQ_MODULUS
from zkagg.bn254.limbs import limbs_to_ints
from zkagg.bn254.pairing import pairing_product_is_one
from zkagg.errors import LengthError

from .conftest import BACKENDS
from .strategies import R, fr, fr_nonzero

Q = FQ_MODULUS
NATIVE = [b for b in BACKENDS if b.startswith("native")]
VARIANTS = [b.partition("-")[2] for b in NATIVE]
few = settings(max_examples=5)

G1, G2 = G1Point.generator(), G2Point.generator()


def check(pairs: list[tuple[G1Point, G2Point]]) -> bool:
    return pairing_product_is_one(pairs)


# ---- laws, written once, run on every engine ----

@pytest.mark.parametrize("backend", BACKENDS)
@few
@given(a=fr, b=fr, k=fr_nonzero)
def test_bilinearity(backend: str, a: int, b: int, k: int) -> None:
    """e(aP, bQ) e(-abP, Q) = 1, and it fails when the exponents disagree by one."""
    with use_backend(backend):
        p = G1 * k  # a random base point (k = 1 is the generator)
        assert check([(p * a, G2 * b), (-(p * (a * b % R)), G2)])
        assert check([(p * a, G2 * b), (-(p * b), G2 * a)])
        assert not check([(p * a, G2 * b), (-(p * ((a * b + 1) % R)), G2)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_non_degenerate_and_trivial_cases(backend: str) -> None:
    with use_backend(backend):
        o1, o2 = G1Point.infinity(), G2Point.infinity()
        assert not check([(G1, G2)])  # e(G1, G2) != 1
        assert not check([(G1 * 5, G2 * 7)])
        assert check([])  # the empty product
        assert check([(o1, G2)]) and check([(G1, o2)]) and check([(o1, o2)])
        assert check([(o1, G2), (G1, G2), (-G1, G2), (G1, o2)])
        assert not check([(G1, o2), (G1, G2)])
        assert check([(G1, G2), (G1, -G2)])
        assert check([(G1 * (R - 1), G2), (G1, G2)])


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_rejects_mismatched_lengths(backend: str) -> None:
    with use_backend(backend):
        g1 = G1Array.from_points([G1, G1]).limbs
        g2 = G2Array.from_points([G2]).limbs
        with pytest.raises(LengthError):
            get_backend().pairing_check(g1, g2)


def random_product_one(rng: random.Random, n: int) -> list[tuple[G1Point, G2Point]]:
    """n pairs (a_i G1, b_i G2) with sum a_i b_i = 0 mod r, so the product is 1."""
    a = [rng.randrange(1, R) for _ in range(n)]
    b = [rng.randrange(1, R) for _ in range(n - 1)]
    b.append(-sum(x * y for x, y in zip(a, b)) * pow(a[-1], -1, R) % R)
    return [(G1 * x, G2 * y) for x, y in zip(a, b)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 9])
def test_product_checks_agree_with_py_ecc(n: int) -> None:
    """Random products that are 1 and the same with one point moved: every engine gives the
    expected answer (the reference engine is py-ecc's pairing)."""
    rng = random.Random(n)
    good = random_product_one(rng, n) if n > 1 else [(G1 * rng.randrange(R), G2.infinity())]
    j = rng.randrange(n)
    bad = list(good)
    bad[j] = (good[j][0] + G1, good[j][1] if not good[j][1].is_infinity else G2)
    for backend in BACKENDS:
        with use_backend(backend):
            assert check(good), backend
            assert not check(bad), backend


# ---- native values against py-ecc ----

def to_ecc(values: list[int]) -> Any:
    """zkagg_pairing's 12 coefficients (tower c0 + c1 w over F_q6 over F_q2, see zkagg.h) as a
    py-ecc FQ12 = F_q[w]/(w^12 - 18 w^6 + 82): the coefficient re + im u of w^k (k = 2j + i for
    c_i.a_j) is re - 9 im + im w^6, since u = w^6 - 9."""
    co = [0] * 12
    for i in range(2):
        for j in range(3):
            k = 2 * j + i
            re, im = values[6 * i + 2 * j], values[6 * i + 2 * j + 1]
            co[k] = (co[k] + re - 9 * im) % Q
            co[k + 6] = (co[k + 6] + im) % Q
    return ecc.FQ12(co)


def ecc_points(p: G1Point, q: G2Point) -> tuple[Any, Any]:
    g1 = (ecc.FQ(p.x), ecc.FQ(p.y), ecc.FQ.one())
    return g1, (ecc.FQ2(list(q.x)), ecc.FQ2(list(q.y)), ecc.FQ2.one())


@contextmanager
def threads(lib: Any, n: int) -> Iterator[None]:
    before = lib.zkagg_get_threads()
    lib.zkagg_set_threads(n)
    try:
        yield
    finally:
        lib.zkagg_set_threads(before)


def native_pairing(
    variant: str, pairs: list[tuple[G1Point, G2Point]], final_exp: bool = True
) -> list[int]:
    mod = native.load(variant)
    ffi, lib = mod.ffi, mod.lib
    out = np.zeros((12, 4), dtype=np.uint64)
    g1 = G1Array.from_points(p for p, _ in pairs).limbs.copy()
    g2 = G2Array.from_points(q for _, q in pairs).limbs.copy()
    ptr = lambda a: ffi.from_buffer("uint64_t[]", a)  # noqa: E731
    lib.zkagg_fq_to_mont(ptr(g1), ptr(g1), g1.size // 4)
    lib.zkagg_fq_to_mont(ptr(g2), ptr(g2), g2.size // 4)
    assert lib.zkagg_pairing(ptr(out), ptr(g1), ptr(g2), len(pairs), int(final_exp)) == 0
    return limbs_to_ints(out)


@pytest.mark.parametrize("variant", VARIANTS)
def test_native_pairing_equals_py_ecc_and_the_plain_final_exponentiation(variant: str) -> None:
    rng = random.Random(11)
    p, q = G1 * rng.randrange(1, R), G2 * rng.randrange(1, R)
    e = native_pairing(variant, [(p, q)])
    assert all(v < Q for v in e)
    ep, eq = ecc_points(p, q)
    assert to_ecc(e) == ecc.pairing(eq, ep)
    # the hard part's addition chain against the plain power (q^12 - 1)/r of the Miller value
    f = to_ecc(native_pairing(variant, [(p, q)], final_exp=False))
    assert f ** ((Q**12 - 1) // R) == to_ecc(e)
    # the generators' pairing, and the empty product
    assert to_ecc(native_pairing(variant, [(G1, G2)])) == ecc.pairing(ecc.G2, ecc.G1)
    assert to_ecc(native_pairing(variant, [])) == ecc.FQ12.one()


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_multi_miller_loop_is_the_product_of_pairings(variant: str, n_threads: int) -> None:
    """One shared Miller loop (split into chunks across threads from 8 pairs up: 13 pairs are
    2 or 3 uneven chunks) equals the product of the single pairings; the Miller values
    themselves multiply too (same line scalings)."""
    rng = random.Random(n_threads)
    pairs = [(G1 * rng.randrange(1, R), G2 * rng.randrange(1, R)) for _ in range(13)]
    pairs.insert(2, (G1Point.infinity(), G2))
    lib = native.load(variant).lib
    with threads(lib, n_threads):
        whole = to_ecc(native_pairing(variant, pairs))
        miller = to_ecc(native_pairing(variant, pairs, final_exp=False))
    prod, mprod = ecc.FQ12.one(), ecc.FQ12.one()
    for p, q in pairs:
        with threads(lib, 1):
            prod = prod * to_ecc(native_pairing(variant, [(p, q)]))
            mprod = mprod * to_ecc(native_pairing(variant, [(p, q)], final_exp=False))
    assert whole == prod
    assert miller == mprod


@pytest.mark.parametrize("variant", VARIANTS)
@settings(max_examples=20)
@given(data=st.data())
def test_native_checks_agree_with_exponent_arithmetic(variant: str, data: st.DataObject) -> None:
    """Random small exponents, product 1 or not: the native check equals the exponent sum test."""
    n = data.draw(st.integers(1, 4))
    a = data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    b = data.draw(st.lists(st.integers(-3, 3), min_size=n, max_size=n))
    pairs = [(G1 * (x % R), G2 * (y % R)) for x, y in zip(a, b)]
    with use_backend(f"native-{variant}"):
        assert check(pairs) == (sum(x * y for x, y in zip(a, b)) % R == 0)
