"""The GLV split and the public G1 multiplication phase 2 uses (group DFTs, query sums): same
points as the plain multiplication, for any scalar, the point at infinity included."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from zkagg.bn254 import (
    FQ_MODULUS,
    FR_MODULUS,
    FrArray,
    G1Array,
    G1Point,
    G2Array,
    G2Point,
    fixed_base_mul,
)
from zkagg.ceremony import glv

EDGES = [0, 1, 2, FR_MODULUS - 1, glv.LAMBDA, FR_MODULUS - glv.LAMBDA, 2**128, 2**128 - 1, 2**253]


@given(st.integers(0, FR_MODULUS - 1))
def test_split_recombines_into_two_halves(k: int) -> None:
    for v in (k, *EDGES):
        k1, k2 = glv.split(v)
        assert (k1 + k2 * glv.LAMBDA - v) % FR_MODULUS == 0
        assert abs(k1) < 2**128 and abs(k2) < 2**128


def test_lambda_is_the_endomorphism_of_beta() -> None:
    assert pow(glv.LAMBDA, 3, FR_MODULUS) == 1 and glv.LAMBDA != 1
    assert abs(glv.DET) == FR_MODULUS


@settings(max_examples=10, deadline=None)
@given(st.lists(st.integers(0, FR_MODULUS - 1), min_size=1, max_size=40), st.integers(0, 2**32))
def test_public_mul_equals_the_plain_one(ks: list[int], seed: int) -> None:
    import random

    rng = random.Random(seed)
    ks = ks + EDGES + [glv.PSI, glv.PSI - 1, glv.PSI + 1] + ks[:3]  # repeated scalars share one split
    for base, arr, mul in ((G1Point.generator(), G1Array, glv.g1_mul_public),
                           (G2Point.generator(), G2Array, glv.g2_mul_public)):
        points = fixed_base_mul(base, FrArray.random(len(ks), rng)).limbs.copy()  # type: ignore[arg-type]
        points[1] = 0  # the point at infinity
        scalars = FrArray.from_ints(ks)
        want = arr._trusted(points).scalar_mul(scalars).limbs
        assert np.array_equal(mul(points, scalars), want), arr.__name__


def test_psi_eigenvalue_is_q_mod_r() -> None:
    assert glv.PSI == FQ_MODULUS % FR_MODULUS and glv.PSI < 2**128 and FR_MODULUS // glv.PSI < 2**128
