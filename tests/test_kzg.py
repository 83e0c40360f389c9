"""KZG commitments (zkagg.kzg): the native kernels against Python ints, the whole scheme against
the py-ecc twin (zkagg.kzg_reference), binding/soundness negatives, SRS refusals."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.strategies import EDGES, fr, fr_lists
from zkagg import kzg, kzg_reference
from zkagg.bn254 import FrArray, G1Array, G1Point, G2Array, G2Point, use_backend
from zkagg.errors import InputError, LengthError, SetupError

from .conftest import BACKENDS

R = kzg.R
TAU = 0x1234567890ABCDEF1234567890ABCDEF  # tests only: a known tau


@pytest.fixture(scope="module")
def srs() -> kzg.Srs:
    return kzg.Srs.insecure_from_tau(TAU, 48)


def _poly(values: list[int], z: int) -> int:
    return sum(v * pow(z, i, R) for i, v in enumerate(values)) % R


@pytest.mark.parametrize("backend", BACKENDS)
@given(values=fr_lists(0, 40), z=fr, chunk_len=st.integers(1, 17))
@settings(max_examples=30)
def test_evaluation_kernels_match_python_ints(backend: str, values: list[int], z: int, chunk_len: int) -> None:
    arr = FrArray.from_ints(values)
    with use_backend(backend):
        assert kzg.evaluate(arr, z) == _poly(values, z)
        chunks = kzg.evaluate_chunks(arr, chunk_len, z)
    assert chunks == [_poly(values[j : j + chunk_len], z) for j in range(0, len(values), chunk_len)]


@pytest.mark.parametrize("backend", BACKENDS)
@given(values=fr_lists(2, 30), z=fr)
@settings(max_examples=30)
def test_synthetic_division_matches_reference(backend: str, values: list[int], z: int) -> None:
    with use_backend(backend):
        q, v = kzg._divide_linear(FrArray.from_ints(values), z)
    assert v == _poly(values, z)
    assert q.to_ints() == kzg_reference.quotient(values, z)


def test_srs_powers_are_tau_powers(srs: kzg.Srs) -> None:
    g = G1Point.generator()
    assert [srs.g1_powers[i] for i in range(4)] == [g * pow(TAU, i, R) for i in range(4)]
    assert srs.tau_g2 == G2Point.generator() * TAU
    srs.check(random.Random(1))


def test_commit_and_open_agree_with_py_ecc_twin() -> None:
    rng = random.Random(7)
    tau = kzg.random_tau(rng)
    srs = kzg.Srs.insecure_from_tau(tau, 8)
    powers, tau_g2 = kzg_reference.srs_from_tau(tau, 8)
    for values in ([3], [0, 0, 5], [rng.randrange(R) for _ in range(8)], [R - 1] * 6):
        z = rng.choice([0, 1, R - 1, rng.randrange(R)])
        c = kzg.commit(srs, FrArray.from_ints(values))
        assert (c.x, c.y) == kzg_reference.to_ints(kzg_reference.commit(powers, values))
        op = kzg.open(srs, FrArray.from_ints(values), z)
        v_ref, pi_ref = kzg_reference.open_at(powers, values, z)
        assert op.value == v_ref and (op.proof.x, op.proof.y) == kzg_reference.to_ints(pi_ref)
        assert kzg_reference.verify(tau_g2, kzg_reference.commit(powers, values), z, v_ref, pi_ref)
        assert kzg.verify(srs, c, z, op)


@pytest.mark.parametrize("backend", BACKENDS)
def test_open_verifies_and_wrong_claims_fail(backend: str, srs: kzg.Srs) -> None:
    rng = random.Random(3)
    values = FrArray.random(20, rng)
    with use_backend(backend):
        c = kzg.commit(srs, values)
        z = rng.randrange(R)
        op = kzg.open(srs, values, z)
        assert kzg.verify(srs, c, z, op)
        assert not kzg.verify(srs, c, z, kzg.Opening((op.value + 1) % R, op.proof))  # wrong value
        assert not kzg.verify(srs, c, (z + 1) % R, op)  # wrong point
        assert not kzg.verify(srs, c + G1Point.generator(), z, op)  # other commitment
        assert not kzg.verify(srs, c, z, kzg.Opening(op.value, op.proof + G1Point.generator()))


def test_commitments_add(srs: kzg.Srs) -> None:
    rng = random.Random(4)
    a, b = FrArray.random(30, rng), FrArray.random(30, rng)
    assert kzg.commit(srs, a) + kzg.commit(srs, b) == kzg.commit(srs, a + b)


def test_blinded_commitment_opens_with_its_blinder(srs: kzg.Srs) -> None:
    rng = random.Random(5)
    t = FrArray.random(20, rng)
    s_blind = rng.randrange(1, R)
    e = kzg.commit_secret(srs, t, s_blind, 32, rng=rng)
    assert e == kzg.commit(srs, t) + srs.g1_powers[32] * s_blind
    z = rng.randrange(R)
    op = kzg.open(srs, t, z, s_blind, 32)
    assert op.value == (kzg.evaluate(t, z) + s_blind * pow(z, 32, R)) % R
    assert kzg.verify(srs, e, z, op)
    assert not kzg.verify(srs, e, z, kzg.open(srs, t, z))  # the blinder is needed


def test_guess_test_on_blinded_mask_commitment_fails(srs: kzg.Srs) -> None:
    """F2: whoever holds y = P + T can test a guess P* against an unblinded commitment to T,
    never against E = [T(tau) + s' tau^B] without s'."""
    rng = random.Random(6)
    p, t = FrArray.random(16, rng), FrArray.random(16, rng)
    y = p + t
    unblinded = kzg.commit(srs, t)
    assert kzg.commit(srs, y - p) == unblinded  # negative control: the weak commitment confirms P
    e = kzg.commit_secret(srs, t, rng.randrange(1, R), 40, rng=rng)
    for guess in (p, FrArray.random(16, rng)):
        assert kzg.commit(srs, y - guess) != e


def test_commit_secret_is_independent_of_the_mask_rng(srs: kzg.Srs) -> None:
    t = FrArray.random(10, random.Random(8))
    assert kzg.commit_secret(srs, t, rng=random.Random(1)) == kzg.commit_secret(srs, t, rng=random.Random(2))


def test_bad_arguments_are_refused(srs: kzg.Srs) -> None:
    with pytest.raises(LengthError):
        kzg.commit(srs, FrArray.zeros(49))
    with pytest.raises(InputError):
        kzg.commit(srs, [1, 2])  # type: ignore[arg-type]
    with pytest.raises(InputError):
        kzg.open(srs, FrArray.zeros(3), R)  # z must be < r
    with pytest.raises(InputError):
        kzg.commit_secret(srs, FrArray.zeros(10), 5, 9)  # blinder inside the data
    with pytest.raises(InputError):
        kzg.commit_secret(srs, FrArray.zeros(10), 5)  # blinder without its index
    with pytest.raises(InputError):
        kzg.open(srs, FrArray.zeros(10), 3, 5, 48)  # above the SRS


def test_degenerate_srs_is_refused() -> None:
    g1, g2 = G1Point.generator(), G2Point.generator()
    with pytest.raises(SetupError):
        kzg.Srs(G1Array.from_points([g1, g1, g1]), g2 * 5)  # tau = 1 in G1
    with pytest.raises(SetupError):
        kzg.Srs(G1Array.from_points([g1, g1 * 5]), g2)  # tau = 1 in G2
    with pytest.raises(SetupError):
        kzg.Srs(G1Array.from_points([g1 * 2, g1 * 5]), g2 * 5)  # not starting at G1
    with pytest.raises(InputError):
        kzg.Srs.insecure_from_tau(1, 4)
    bad = kzg.Srs(G1Array.from_points([g1, g1 * 5, g1 * 26]), g2 * 5)  # 26 != 5^2
    with pytest.raises(SetupError):
        bad.check(random.Random(1))


@dataclass
class _Ptau:
    tau_g1: G1Array
    tau_g2: G2Array
    power: int


def test_from_ptau_reads_the_prefix_and_checks_it() -> None:
    g1, g2 = G1Point.generator(), G2Point.generator()
    tau = 99
    ptau = _Ptau(G1Array.from_points([g1 * pow(tau, i, R) for i in range(8)]),
                 G2Array.from_points([g2, g2 * tau]), 2)
    srs = kzg.Srs.from_ptau(ptau, 5)
    assert len(srs.g1_powers) == 5 and srs.tau_g2 == g2 * tau
    broken = _Ptau(G1Array.from_points([g1 * pow(tau, i, R) for i in range(7)] + [g1 * 3]), ptau.tau_g2, 2)
    with pytest.raises(SetupError):
        kzg.Srs.from_ptau(broken)
    kzg.Srs.from_ptau(broken, 7)  # the consistent prefix is fine
    with pytest.raises(SetupError):
        kzg.Srs.from_ptau(_Ptau(ptau.tau_g1, G2Array.from_points([g2 * 2, g2 * tau]), 2))


def test_digest_names_the_prefix(srs: kzg.Srs) -> None:
    assert srs.digest(10) != srs.digest(11)
    assert srs.digest(10) == kzg.Srs.insecure_from_tau(TAU, 20).digest(10)


def test_edge_values_open(srs: kzg.Srs) -> None:
    values = FrArray.from_ints(EDGES[:20])
    c = kzg.commit(srs, values)
    for z in (0, 1, R - 1):
        assert kzg.verify(srs, c, z, kzg.open(srs, values, z))
