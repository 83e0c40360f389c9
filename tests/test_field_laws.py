"""Field laws and arithmetic of F_r vectors, written once and run on every engine."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkagg.bn254 import FrArray, use_backend
from zkagg.errors import LengthError, NotInvertibleError

from .conftest import BACKENDS
from .strategies import R, fr, fr_lists, fr_nonzero

pytestmark = pytest.mark.parametrize("backend", BACKENDS)


def pair(n_max: int = 16) -> st.SearchStrategy[tuple[list[int], list[int]]]:
    return st.integers(0, n_max).flatmap(
        lambda n: st.tuples(st.lists(fr, min_size=n, max_size=n), st.lists(fr, min_size=n, max_size=n))
    )


@given(ab=pair())
def test_ring_operations_match_integers(backend: str, ab: tuple[list[int], list[int]]) -> None:
    a, b = ab
    with use_backend(backend):
        x, y = FrArray.from_ints(a), FrArray.from_ints(b)
        assert (x + y).to_ints() == [(u + v) % R for u, v in zip(a, b)]
        assert (x - y).to_ints() == [(u - v) % R for u, v in zip(a, b)]
        assert (x * y).to_ints() == [u * v % R for u, v in zip(a, b)]
        assert (-x).to_ints() == [-u % R for u in a]
        assert x.dot(y) == sum(u * v for u, v in zip(a, b)) % R


@given(a=fr_lists(), b=fr_lists(), c=fr_lists())
def test_commutative_associative_distributive(backend: str, a: list[int], b: list[int], c: list[int]) -> None:
    n = min(len(a), len(b), len(c))
    with use_backend(backend):
        x, y, z = (FrArray.from_ints(v[:n]) for v in (a, b, c))
        assert x + y == y + x and x * y == y * x
        assert (x + y) + z == x + (y + z)
        assert (x * y) * z == x * (y * z)
        assert x * (y + z) == x * y + x * z
        assert x - x == FrArray.zeros(n) and x + (-x) == FrArray.zeros(n)


@given(a=fr_lists(), s=fr)
def test_scale_is_multiplication_by_a_constant(backend: str, a: list[int], s: int) -> None:
    with use_backend(backend):
        x = FrArray.from_ints(a)
        assert x * s == x * FrArray.from_ints([s] * len(a))
        assert s * x == x * s


@given(a=st.lists(fr_nonzero, max_size=16))
def test_batch_inverse(backend: str, a: list[int]) -> None:
    with use_backend(backend):
        x = FrArray.from_ints(a)
        assert x.inverse().to_ints() == [pow(v, -1, R) for v in a]
        assert (x * x.inverse()).to_ints() == [1] * len(a)


def test_inverse_of_zero_is_an_error(backend: str) -> None:
    with use_backend(backend):
        with pytest.raises(NotInvertibleError):
            FrArray.from_ints([3, 0, 5]).inverse()


def test_length_mismatch_is_an_error(backend: str) -> None:
    with use_backend(backend):
        with pytest.raises(LengthError):
            FrArray.from_ints([1, 2]) + FrArray.from_ints([1])
        with pytest.raises(LengthError):
            FrArray.from_ints([1, 2]).dot(FrArray.from_ints([1, 2, 3]))
