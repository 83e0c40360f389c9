"""Group laws of G1 and G2 and MSM linearity, written once and run on every engine."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkagg.bn254 import FrArray, G1Array, G1Point, G2Array, G2Point, msm, use_backend

from .conftest import BACKENDS
from .strategies import R, fr

GROUPS = [(G1Point, G1Array), (G2Point, G2Array)]
pytestmark = [
    pytest.mark.parametrize("backend", BACKENDS),
    pytest.mark.parametrize("point,array", GROUPS, ids=["g1", "g2"]),
]
few = settings(max_examples=12)


@few
@given(a=fr, b=fr, c=fr)
def test_group_laws(backend: str, point: type, array: type, a: int, b: int, c: int) -> None:
    with use_backend(backend):
        g = point.generator()
        p, q, s = g * a, g * b, g * c
        o = point.infinity()
        assert p + q == q + p
        assert (p + q) + s == p + (q + s)
        assert p + o == p == o + p
        assert p + (-p) == o and p - p == o
        assert p + p == p.double() == p * 2
        assert g * a + g * b == g * ((a + b) % R)  # includes P + P and P + (-P) when a, b collide
        assert (g * a) * b == g * (a * b % R)


def test_edge_scalars(backend: str, point: type, array: type) -> None:
    with use_backend(backend):
        g = point.generator()
        assert (g * 0).is_infinity and (point.infinity() * 5).is_infinity
        assert g * 1 == g and g * R == point.infinity()
        assert g * (R - 1) == -g
        assert point.infinity().double().is_infinity and (-point.infinity()).is_infinity


@few
@given(data=st.data(), n=st.integers(0, 9))
def test_msm_is_linear_and_equals_the_naive_sum(backend: str, point: type, array: type, data: st.DataObject, n: int) -> None:
    with use_backend(backend):
        g = point.generator()
        base_scalars = data.draw(st.lists(fr, min_size=n, max_size=n))
        pts = array.from_points([g * k for k in base_scalars])
        a = data.draw(st.lists(fr, min_size=n, max_size=n))
        b = data.draw(st.lists(fr, min_size=n, max_size=n))
        fa, fb = FrArray.from_ints(a), FrArray.from_ints(b)
        expected = g * (sum(k * s for k, s in zip(base_scalars, a)) % R)
        assert msm(pts, fa) == expected
        assert pts.msm(fa + fb) == pts.msm(fa) + pts.msm(fb)
        assert pts.scalar_mul(fa).to_bytes() == b"".join((p * s).to_bytes() for p, s in zip(pts, a))


def test_msm_with_infinity_bases_and_cancelling_pairs(backend: str, point: type, array: type) -> None:
    with use_backend(backend):
        g = point.generator()
        pts = array.from_points([g, -g, point.infinity(), g * 7, g * 7])
        k = FrArray.from_ints([5, 5, 123, R - 1, 1])
        assert pts.msm(k) == point.infinity()
        assert pts.msm(FrArray.zeros(5)).is_infinity
        assert array.from_points([]).msm(FrArray.zeros(0)).is_infinity
