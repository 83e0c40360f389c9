"""Degenerate Groth16 keys are refused by every reader and by the setup checks. Each case
first shows the forgery the degenerate key allows (the negative control: `verify` alone, which
trusts its key, accepts a proof made from public data), then that the key is refused by name."""

from __future__ import annotations

import dataclasses
import json
import random

import pytest

from zkagg.bn254 import G1Array, G1Point, G2Point
from zkagg.circuit import compile_r1cs
from zkagg.groth16 import (
    DegenerateSetupError,
    Proof,
    ProvingKey,
    VerifyingKey,
    insecure_single_party_setup,
    verify,
)
from zkagg.groth16.setup import check_nondegenerate

from .test_groth16 import Statement

INPUTS = [5, 6, 7]  # not the public inputs of any honest witness


@pytest.fixture(scope="module")
def pk() -> ProvingKey:
    return insecure_single_party_setup(compile_r1cs(Statement()), random.Random(21))


def vk_x(vk: VerifyingKey, inputs: list[int]) -> G1Point:
    from zkagg.bn254 import FrArray

    return G1Array.from_points(vk.ic).msm(FrArray.from_ints([1, *inputs]))


def refused_everywhere(pk: ProvingKey, vk: VerifyingKey, match: str) -> None:
    with pytest.raises(DegenerateSetupError, match=match):
        VerifyingKey.from_snarkjs(json.loads(json.dumps(vk.to_snarkjs())))
    with pytest.raises(DegenerateSetupError, match=match):
        VerifyingKey.from_bytes(vk.to_bytes())
    bad_pk = dataclasses.replace(pk, vk=vk)
    with pytest.raises(DegenerateSetupError, match=match):
        check_nondegenerate(bad_pk)
    with pytest.raises(DegenerateSetupError, match=match):
        ProvingKey.from_bytes(bad_pk.to_bytes())


def test_beta_at_infinity(pk: ProvingKey) -> None:
    vk = dataclasses.replace(pk.vk, beta_g2=G2Point.infinity())
    forged = Proof(vk_x(vk, INPUTS), vk.gamma_g2, G1Point.infinity())
    assert verify(vk, INPUTS, forged)  # the attack on the degenerate key
    assert not verify(pk.vk, INPUTS, forged)  # control: the honest key rejects it
    refused_everywhere(pk, vk, "beta_g2 is the point at infinity")


@pytest.mark.parametrize("sign", [1, -1])
def test_gamma_is_plus_or_minus_delta(pk: ProvingKey, sign: int) -> None:
    delta = pk.vk.gamma_g2 if sign == 1 else -pk.vk.gamma_g2
    vk = dataclasses.replace(pk.vk, delta_g2=delta)
    # e(vk_x, γ) e(C, ±γ) = 1 for C = ∓vk_x: A = α, B = β proves any input
    forged = Proof(vk.alpha_g1, vk.beta_g2, -vk_x(vk, INPUTS) if sign == 1 else vk_x(vk, INPUTS))
    assert verify(vk, INPUTS, forged)
    assert not verify(pk.vk, INPUTS, forged)
    refused_everywhere(pk, vk, "gamma = ±delta")


def test_delta_one_is_refused(pk: ProvingKey) -> None:
    vk = dataclasses.replace(pk.vk, delta_g2=G2Point.generator())
    refused_everywhere(pk, vk, "delta = ±1")


def test_ic_equal_up_to_sign(pk: ProvingKey) -> None:
    ic = list(pk.vk.ic)
    ic[3] = -ic[2]
    vk = dataclasses.replace(pk.vk, ic=tuple(ic))
    # inputs (a, b, c) and (a, b + 1, c + 1) have the same vk_x: a proof transfers between them
    assert vk_x(vk, [1, 2, 3]) == vk_x(vk, [1, 3, 4])
    assert vk_x(pk.vk, [1, 2, 3]) != vk_x(pk.vk, [1, 3, 4])
    refused_everywhere(pk, vk, "IC\\[3\\] repeats minus IC\\[2\\]")
    ic[3] = ic[2]
    refused_everywhere(pk, dataclasses.replace(pk.vk, ic=tuple(ic)), "IC\\[3\\] repeats IC\\[2\\]")


def test_ic_at_infinity(pk: ProvingKey) -> None:
    ic = list(pk.vk.ic)
    ic[1] = G1Point.infinity()
    refused_everywhere(pk, dataclasses.replace(pk.vk, ic=tuple(ic)), "IC\\[1\\] is the point at infinity")


def test_empty_ic_is_refused_by_both_readers(pk: ProvingKey) -> None:
    vk = dataclasses.replace(pk.vk, ic=())
    obj = json.loads(json.dumps(vk.to_snarkjs()))
    with pytest.raises(DegenerateSetupError, match="IC is empty"):
        VerifyingKey.from_snarkjs(obj)
    with pytest.raises(Exception, match="at least one IC point|IC is empty"):
        VerifyingKey.from_bytes(vk.to_bytes())


def test_proving_key_beta_and_delta_in_g1(pk: ProvingKey) -> None:
    with pytest.raises(DegenerateSetupError, match="delta in G1 and G2 disagree"):
        ProvingKey.from_bytes(dataclasses.replace(pk, delta_g1=pk.delta_g1 * 2).to_bytes())
    with pytest.raises(DegenerateSetupError, match="beta_g1 is the point at infinity"):
        ProvingKey.from_bytes(dataclasses.replace(pk, beta_g1=G1Point.infinity()).to_bytes())
    assert ProvingKey.from_bytes(pk.to_bytes()) == pk  # control


def test_malformed_snarkjs_json_is_an_input_error() -> None:
    from zkagg.errors import InputError

    for obj in ([], {"protocol": "groth16"}, {"protocol": "groth16", "curve": "bn128", "IC": 5}):
        with pytest.raises(InputError):
            VerifyingKey.from_snarkjs(obj)  # type: ignore[arg-type]
