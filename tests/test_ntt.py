"""NTT laws on every engine: definition, round trips, coset, convolution."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkagg.bn254 import FrArray, ntt, use_backend
from zkagg.errors import LengthError

from .conftest import BACKENDS
from .strategies import R, fr

BACKEND_PARAM = pytest.mark.parametrize("backend", BACKENDS)
GEN = 5


def powers_of_two(max_log: int) -> st.SearchStrategy[list[int]]:
    return st.integers(0, max_log).flatmap(lambda k: st.lists(fr, min_size=1 << k, max_size=1 << k))


def evaluate(coeffs: list[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % R
    return acc


@BACKEND_PARAM
@given(a=powers_of_two(5), coset=st.booleans())
def test_matches_the_definition(backend: str, a: list[int], coset: bool) -> None:
    n = len(a)
    w = pow(GEN, (R - 1) // n, R)
    shift = GEN if coset else 1
    with use_backend(backend):
        assert ntt(FrArray.from_ints(a), coset=coset).to_ints() == [
            evaluate(a, shift * pow(w, i, R) % R) for i in range(n)
        ]


@BACKEND_PARAM
@given(a=powers_of_two(8), coset=st.booleans())
def test_inverse_undoes_forward(backend: str, a: list[int], coset: bool) -> None:
    with use_backend(backend):
        x = FrArray.from_ints(a)
        assert ntt(ntt(x, coset=coset), inverse=True, coset=coset) == x
        assert ntt(ntt(x, inverse=True, coset=coset), coset=coset) == x


@BACKEND_PARAM
@given(k=st.integers(0, 5), data=st.data())
def test_pointwise_product_is_cyclic_convolution(backend: str, k: int, data: st.DataObject) -> None:
    n = 1 << k
    a = data.draw(st.lists(fr, min_size=n, max_size=n))
    b = data.draw(st.lists(fr, min_size=n, max_size=n))
    expected = [sum(a[j] * b[(i - j) % n] for j in range(n)) % R for i in range(n)]
    with use_backend(backend):
        fa, fb = ntt(FrArray.from_ints(a)), ntt(FrArray.from_ints(b))
        assert ntt(fa * fb, inverse=True).to_ints() == expected


@BACKEND_PARAM
@pytest.mark.parametrize("n", [0, 3, 6, 12])
def test_length_must_be_a_power_of_two(backend: str, n: int) -> None:
    with use_backend(backend):
        with pytest.raises(LengthError):
            ntt(FrArray.zeros(n))


def test_large_transforms_match_direct_evaluation() -> None:
    """2^18 points (several column and block passes): round trip, and a few outputs checked by
    evaluating the polynomial directly."""
    import random

    n = 1 << 18
    a = FrArray.random(n, random.Random(18))
    coeffs = a.to_ints()
    w = pow(GEN, (R - 1) // n, R)
    for coset in (False, True):
        f = ntt(a, coset=coset)
        assert ntt(f, inverse=True, coset=coset) == a
        shift = GEN if coset else 1
        for i in (0, 1, 12345, n - 1):
            assert f[i] == evaluate(coeffs, shift * pow(w, i, R) % R)


def test_domain_larger_than_the_field_allows_is_refused() -> None:
    from zkagg import native

    lib = native.load().lib
    ffi = native.load().ffi
    buf = ffi.new("uint64_t[4]")
    assert lib.zkagg_fr_ntt(buf, 29, 0) == -2  # ZKAGG_ERR_ARG: 2^28 is the largest domain
