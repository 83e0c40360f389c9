"""Construction, encodings and malformed input of F_r vectors (engine-independent)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given

from zkagg.bn254 import FrArray
from zkagg.errors import InputError, LengthError, NonCanonicalError

from .strategies import R, fr_lists


@given(a=fr_lists())
def test_roundtrips(a: list[int]) -> None:
    x = FrArray.from_ints(a)
    assert x.to_ints() == a == list(x)
    assert FrArray.from_bytes(x.to_bytes()) == x
    assert FrArray(x.limbs) == x
    assert len(x) == len(a)
    if a:
        assert x[0] == a[0] and x[-1] == a[-1] and x[1:].to_ints() == a[1:]


def test_limbs_are_little_endian_words() -> None:
    x = FrArray.from_ints([1 + (2 << 64) + (3 << 128) + (4 << 192)])
    assert x.limbs.tolist() == [[1, 2, 3, 4]]


@pytest.mark.parametrize("bad", [R, R + 1, 2**256 - 1, -1])
def test_non_canonical_ints_are_rejected(bad: int) -> None:
    with pytest.raises(NonCanonicalError, match=r"values\[1\]"):
        FrArray.from_ints([5, bad])


def test_aliased_encoding_is_rejected() -> None:
    """x + r encodes the same residue as x; accepting it would let one value have two names."""
    with pytest.raises(NonCanonicalError):
        FrArray.from_bytes((7 + R).to_bytes(32, "big"))
    limbs = np.array([[0xFFFFFFFFFFFFFFFF] * 4], dtype=np.uint64)
    with pytest.raises(NonCanonicalError, match=r"limbs\[0\]"):
        FrArray(limbs)


def test_wrong_shapes_and_types_are_rejected() -> None:
    with pytest.raises(LengthError):
        FrArray(np.zeros((3, 3), dtype=np.uint64))
    with pytest.raises(LengthError):
        FrArray(np.zeros((3, 4), dtype=np.int64))
    with pytest.raises(LengthError):
        FrArray.from_bytes(b"\x00" * 33)
    with pytest.raises(NonCanonicalError):
        FrArray.from_ints([1.0])  # type: ignore[list-item]
    with pytest.raises(InputError):
        FrArray.from_ints([1]) * FrArray.zeros(1).limbs  # type: ignore[operator]


def test_arrays_are_immutable_and_owned() -> None:
    limbs = np.array([[1, 0, 0, 0]], dtype=np.uint64)
    x = FrArray(limbs)
    limbs[0, 0] = 2
    assert x.to_ints() == [1]
    with pytest.raises(ValueError):
        x.limbs[0, 0] = 5


def test_random_is_uniform_in_range_and_seedable() -> None:
    a = FrArray.random(200, random.Random(1))
    assert a == FrArray.random(200, random.Random(1))
    assert all(0 <= v < R for v in a) and len(set(a)) == 200
    assert FrArray.random(4) != FrArray.random(4)
