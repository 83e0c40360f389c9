"""Proving keys load with a batched G2 subgroup check that still refuses every bad point, including
points whose only flaw is a component of the smallest torsion order (10069)."""

from __future__ import annotations

import dataclasses
import random

import pytest
from py_ecc import optimized_bn128 as ecc

from zkagg.bench.prove import sponge_circuit
from zkagg.bn254 import FQ_MODULUS, FR_MODULUS, G2Array
from zkagg.bn254.curve import G2_B
from zkagg.ceremony.contribution_key import _f2_is_square, _f2_mul, _f2_sqrt
from zkagg.circuit import compile_r1cs
from zkagg.errors import InputError
from zkagg.groth16 import ProvingKey, batch_check, insecure_single_party_setup

Q, R = FQ_MODULUS, FR_MODULUS
H = 2 * Q - R  # the twist's cofactor: 10069 · 5864401 · 1875725156269 · (178-bit prime)


@pytest.fixture(scope="module")
def pk() -> ProvingKey:
    return insecure_single_party_setup(compile_r1cs(sponge_circuit(9, random.Random(2))))


def twist_point(seed: int) -> tuple:
    x0 = seed
    while True:
        x = (x0, 7)
        x3 = _f2_mul(_f2_mul(x, x), x)
        rhs = ((x3[0] + G2_B[0]) % Q, (x3[1] + G2_B[1]) % Q)
        if _f2_is_square(rhs):
            y = _f2_sqrt(rhs)
            return (ecc.FQ2(list(x)), ecc.FQ2(list(y)), ecc.FQ2.one())
        x0 += 1


def encode(point: tuple) -> bytes:
    px, py = ecc.normalize(point)
    return b"".join(int(c).to_bytes(32, "big") for c in (px.coeffs[1], px.coeffs[0], py.coeffs[1], py.coeffs[0]))


def with_b2(pk: ProvingKey, i: int, point: tuple) -> bytes:
    """The key's bytes with b_g2_query[i] replaced by an arbitrary twist point (EVM encoding)."""
    enc = encode(point)
    good = pk.b_g2_query.to_bytes()
    data = pk.to_bytes()
    off = data.index(good)
    return data[: off + 128 * i] + enc + data[off + 128 * (i + 1) :]


def small_order_component(order: int) -> tuple:
    p = ecc.multiply(twist_point(3), R * (H // order))
    assert not ecc.is_inf(p) and ecc.is_inf(ecc.multiply(p, order))
    return p


def test_load_round_trips(pk: ProvingKey) -> None:
    assert ProvingKey.from_bytes(pk.to_bytes()) == pk


@pytest.mark.parametrize("order", [10069, 5864401])
def test_a_small_order_component_is_refused(pk: ProvingKey, order: int, monkeypatch: pytest.MonkeyPatch) -> None:
    i = 5
    good = pk.b_g2_query[i]
    honest = (ecc.FQ2(list(good.x)), ecc.FQ2(list(good.y)), ecc.FQ2.one())
    bad = ecc.add(honest, small_order_component(order))
    data = with_b2(pk, i, bad)
    with pytest.raises(InputError, match=f"\\[{i}\\] is not in the order-r subgroup"):
        ProvingKey.from_bytes(data)
    # control: without the batched subgroup check the point would load (on the curve, canonical)
    monkeypatch.setattr(batch_check, "BATCHES", 0)
    loaded = batch_check.g2_array_from_evm(pk.b_g2_query[:i].to_bytes() + encode(bad))
    assert len(loaded) == i + 1


def test_off_curve_point_is_named(pk: ProvingKey) -> None:
    data = bytearray(pk.to_bytes())
    off = bytes(data).index(pk.b_g2_query.to_bytes()) + 128 * 3 + 31
    data[off] ^= 1
    with pytest.raises(InputError, match="\\[3\\] is not on the G2 curve"):
        ProvingKey.from_bytes(bytes(data))


def test_batched_and_per_point_agree_on_honest_arrays(pk: ProvingKey) -> None:
    b = pk.b_g2_query.to_bytes()
    assert batch_check.g2_array_from_evm(b) == G2Array.from_bytes(b)
    assert dataclasses.replace(pk).a_query == batch_check.g1_array_from_evm(pk.a_query.to_bytes())
