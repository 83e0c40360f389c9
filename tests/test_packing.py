"""Packing small unsigned integers into F_r elements, on every engine: the layout, round trips,
sums of packings while no slot overflows, and every rejected input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkagg import native
from zkagg.bn254 import FrArray, use_backend
from zkagg.errors import BudgetError, InputError, LengthError
from zkagg.secagg import packing

from .conftest import BACKENDS

BACKEND_PARAM = pytest.mark.parametrize("backend", BACKENDS)


@st.composite
def layouts(draw: st.DrawFn, max_count: int = 80) -> tuple[int, int, list[int]]:
    width = draw(st.sampled_from([1, 2, 7, 8, 16, 31, 32, 33, 63, 64]) | st.integers(1, 64))
    per = draw(st.integers(1, packing.max_per(width)))
    top = (1 << width) - 1
    value = st.sampled_from([0, 1, top, top >> 1]) | st.integers(0, top)
    return width, per, draw(st.lists(value, max_size=max_count))


def u64(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.uint64)


def test_max_per() -> None:
    assert [packing.max_per(w) for w in (1, 8, 16, 32, 63, 64)] == [253, 31, 15, 7, 4, 3]
    for bad in (0, 65, -1):
        with pytest.raises(InputError):
            packing.max_per(bad)
    assert packing.n_elements(0, 3) == 0 and packing.n_elements(7, 3) == 3


@BACKEND_PARAM
@given(layout=layouts())
def test_layout(backend: str, layout: tuple[int, int, list[int]]) -> None:
    width, per, values = layout
    expected = [
        sum(v << (width * s) for s, v in enumerate(values[e : e + per]))
        for e in range(0, len(values), per)
    ]
    with use_backend(backend):
        packed = packing.pack(u64(values), width=width, per=per)
    assert packed.to_ints() == expected
    assert all(v < 1 << 253 for v in expected)


@BACKEND_PARAM
@given(layout=layouts())
def test_round_trip(backend: str, layout: tuple[int, int, list[int]]) -> None:
    width, per, values = layout
    with use_backend(backend):
        packed = packing.pack(u64(values), width=width, per=per)
        assert len(packed) == packing.n_elements(len(values), per)
        out = packing.unpack(packed, len(values), width=width, per=per)
    assert out.dtype == np.uint64 and out.tolist() == values


@BACKEND_PARAM
@given(data=st.data())
def test_sum_of_packings_is_packing_of_sums(backend: str, data: st.DataObject) -> None:
    """k vectors whose slot-wise sums stay below 2^width: the field sum of their packings is the
    packing of the sums, and unpacks to the sums."""
    width = data.draw(st.integers(2, 64))
    per = data.draw(st.integers(1, packing.max_per(width)))
    k = data.draw(st.integers(1, 6))
    n = data.draw(st.integers(0, 40))
    share = ((1 << width) - 1) // k
    rows = [data.draw(st.lists(st.integers(0, share), min_size=n, max_size=n)) for _ in range(k)]
    sums = [sum(col) for col in zip(*rows)] if n else []
    with use_backend(backend):
        total = FrArray.zeros(packing.n_elements(n, per))
        for row in rows:
            total = total + packing.pack(u64(row), width=width, per=per)
        assert total == packing.pack(u64(sums), width=width, per=per)
        assert packing.unpack(total, n, width=width, per=per).tolist() == sums


@BACKEND_PARAM
def test_top_slot_overflow_is_reported(backend: str) -> None:
    """An overflow of the top slot of a sum leaves a bit above the slots: unpack refuses it."""
    width, per = 8, 31
    full = u64([255] * 62)
    with use_backend(backend):
        twice = packing.pack(full, width=width, per=per) + packing.pack(u64([0] * 61 + [1]), width=width, per=per)
        with pytest.raises(BudgetError, match=r"elements\[1\]"):
            packing.unpack(twice, 62, width=width, per=per)


@BACKEND_PARAM
def test_value_too_wide(backend: str) -> None:
    with use_backend(backend):
        for width, bad in ((1, 2), (8, 256), (63, 2**63)):
            values = u64([0, 1, bad, 0])
            with pytest.raises(BudgetError, match=r"values\[2\]"):
                packing.pack(values, width=width, per=2)
        assert packing.pack(u64([2**64 - 1]), width=64, per=3).to_ints() == [2**64 - 1]


@BACKEND_PARAM
def test_stray_bits_rejected(backend: str) -> None:
    with use_backend(backend):
        # full element: bit width * per is outside the slots
        with pytest.raises(BudgetError, match=r"elements\[0\]"):
            packing.unpack(FrArray.from_ints([1 << 24]), 3, width=8, per=3)
        # last element holding fewer values: its unused slots must be zero
        with pytest.raises(BudgetError, match=r"elements\[1\]"):
            packing.unpack(FrArray.from_ints([0, 1 << 8]), 4, width=8, per=3)
        assert packing.unpack(FrArray.from_ints([0, 255]), 4, width=8, per=3).tolist() == [0, 0, 0, 255]
        with pytest.raises(BudgetError):
            packing.unpack(FrArray.from_ints([1 << 252]), 1, width=64, per=3)


@BACKEND_PARAM
def test_bad_layouts(backend: str) -> None:
    values = u64([1, 2, 3])
    with use_backend(backend):
        for width, per in ((0, 1), (65, 1), (8, 0), (8, 32), (64, 4), (1, 254), (True, 2), (8, 2.0)):
            with pytest.raises(InputError):
                packing.pack(values, width=width, per=per)  # type: ignore[arg-type]
            with pytest.raises(InputError):
                packing.unpack(FrArray.zeros(1), 3, width=width, per=per)  # type: ignore[arg-type]


@BACKEND_PARAM
def test_bad_arrays(backend: str) -> None:
    with use_backend(backend):
        with pytest.raises(InputError):
            packing.pack(np.array([1, 2], dtype=np.int64), width=8, per=2)
        with pytest.raises(InputError):
            packing.pack([1, 2], width=8, per=2)  # type: ignore[arg-type]
        with pytest.raises(LengthError):
            packing.pack(np.zeros((2, 2), dtype=np.uint64), width=8, per=2)
        with pytest.raises(LengthError):
            packing.unpack(FrArray.zeros(2), 7, width=8, per=3)
        with pytest.raises(InputError):
            packing.unpack(FrArray.zeros(0), -1, width=8, per=3)
        with pytest.raises(InputError):
            packing.unpack([0], 1, width=8, per=3)  # type: ignore[arg-type]
        assert len(packing.pack(u64([]), width=8, per=3)) == 0
        assert packing.unpack(FrArray.zeros(0), 0, width=8, per=3).shape == (0,)
        strided = np.arange(10, dtype=np.uint64)[::2]
        assert packing.pack(strided, width=8, per=3) == packing.pack(u64([0, 2, 4, 6, 8]), width=8, per=3)


@pytest.mark.parametrize("variant", native.available_variants())
def test_native_error_codes(variant: str) -> None:
    mod = native.load(variant)
    ffi, lib = mod.ffi, mod.lib
    out = np.zeros((2, 4), dtype=np.uint64)
    vals = np.array([1, 2, 300], dtype=np.uint64)
    o, v = ffi.from_buffer("uint64_t[]", out), ffi.from_buffer("uint64_t[]", vals)
    assert lib.zkagg_pack(o, v, 3, 8, 2) == -4  # ZKAGG_ERR_OVERFLOW
    assert lib.zkagg_pack(o, v, 3, 9, 2) == 0
    for width, per in ((0, 1), (65, 1), (9, 0), (9, 29)):
        assert lib.zkagg_pack(o, v, 3, width, per) == -2
        assert lib.zkagg_unpack(v, o, 3, width, per) == -2
    out[1, 3] = 1  # a bit far above the slots
    assert lib.zkagg_unpack(v, o, 3, 9, 2) == -5  # ZKAGG_ERR_RANGE
