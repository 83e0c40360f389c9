"""Known answers from py-ecc (tests/vectors/bn254.json) on every engine, and the negatives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zkagg.bn254 import FQ_MODULUS, FrArray, G1Array, G1Point, G2Array, G2Point, ntt, use_backend
from zkagg.errors import LengthError, NonCanonicalError, NotInSubgroupError, NotOnCurveError

from .conftest import BACKENDS

VEC = json.loads((Path(__file__).parent / "vectors" / "bn254.json").read_text())
pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def g1(c: Any) -> G1Point:
    return G1Point(int(c[0]), int(c[1]))


def g2(c: Any) -> G2Point:
    return G2Point((int(c[0][0]), int(c[0][1])), (int(c[1][0]), int(c[1][1])))


def ints(c: list[str]) -> list[int]:
    return [int(v) for v in c]


def test_scalar_multiplication(backend: str) -> None:
    with use_backend(backend):
        for v in VEC["g1_mul"]:
            assert G1Point.generator() * int(v["k"]) == g1(v["out"])
        for v in VEC["g2_mul"]:
            assert G2Point.generator() * int(v["k"]) == g2(v["out"])


def test_addition(backend: str) -> None:
    with use_backend(backend):
        for v in VEC["g1_add"]:
            assert g1(v["a"]) + g1(v["b"]) == g1(v["out"])
        for v in VEC["g2_add"]:
            assert g2(v["a"]) + g2(v["b"]) == g2(v["out"])


def test_msm(backend: str) -> None:
    with use_backend(backend):
        for key, point, array in (("g1_msm", g1, G1Array), ("g2_msm", g2, G2Array)):
            v = VEC[key]
            bases = array.from_points([point(b) for b in v["bases"]])
            assert bases.msm(FrArray.from_ints(ints(v["scalars"]))) == point(v["out"])


def test_field_and_ntt(backend: str) -> None:
    v = VEC["fr"]
    with use_backend(backend):
        a, b = FrArray.from_ints(ints(v["a"])), FrArray.from_ints(ints(v["b"]))
        assert (a * b).to_ints() == ints(v["mul"])
        assert b.inverse().to_ints() == ints(v["inverse_b"])
        assert ntt(FrArray.from_ints(ints(VEC["ntt8"]["in"]))).to_ints() == ints(VEC["ntt8"]["out"])


def test_encodings_roundtrip(backend: str) -> None:
    with use_backend(backend):
        for v in VEC["g1_mul"]:
            p = g1(v["out"])
            assert G1Point.from_bytes(p.to_bytes()) == p
        pts = G2Array.from_points([g2(v["out"]) for v in VEC["g2_mul"]])
        assert G2Array.from_bytes(pts.to_bytes()) == pts
        assert G2Point.generator().to_bytes()[:32] == int(VEC["g2_mul"][1]["out"][0][1]).to_bytes(32, "big")


def test_malformed_points_are_rejected(backend: str) -> None:
    neg = VEC["negative"]
    with use_backend(backend):
        for c in neg["g1_off_curve"]:
            with pytest.raises(NotOnCurveError):
                g1(c)
        with pytest.raises(NonCanonicalError):
            g1(neg["g1_non_canonical"][0])
        with pytest.raises(NotOnCurveError):
            g2(neg["g2_off_curve"][0])
        with pytest.raises(NotInSubgroupError):
            g2(neg["g2_not_in_subgroup"][0])
        # the same through the array and byte paths, with the index of the bad point named
        good = G1Point.generator().to_bytes()
        bad = int(neg["g1_off_curve"][0][0]).to_bytes(32, "big") + int(neg["g1_off_curve"][0][1]).to_bytes(32, "big")
        with pytest.raises(NotOnCurveError, match=r"points\[1\]"):
            G1Array.from_bytes(good + bad)
        with pytest.raises(NonCanonicalError):
            G1Point.from_bytes((FQ_MODULUS + 1).to_bytes(32, "big") + b"\x00" * 31 + b"\x02")
        with pytest.raises(LengthError):
            G1Point.from_bytes(good[:-1])
        with pytest.raises(LengthError):
            G2Array.from_bytes(good)
        with pytest.raises(NotInSubgroupError, match=r"points\[0\]"):
            G2Array(_limbs_of(neg["g2_not_in_subgroup"][0]))  # the raw-limb constructor validates too
        for v in neg["fr_non_canonical"]:
            with pytest.raises(NonCanonicalError):
                FrArray.from_ints([int(v)])


def _limbs_of(c: Any) -> np.ndarray:
    coords = [int(c[0][0]), int(c[0][1]), int(c[1][0]), int(c[1][1])]
    raw = b"".join(v.to_bytes(32, "little") for v in coords)
    return np.frombuffer(raw, dtype="<u8").reshape(1, 16).astype(np.uint64)
