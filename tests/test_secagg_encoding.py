"""Quantize + pack + weight and the exact inverse; the overflow budget."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkagg.bn254 import use_backend
from zkagg.bn254.field import FrArray
from zkagg.errors import BudgetError, InputError, LengthError
from zkagg.secagg import Layout, Quantization, SecAggConfig, decode, encode
from zkagg.secagg.encoding import quantize, slot_sums

from .conftest import BACKENDS

JOB = bytes(range(32))


def config(d: int = 40, n: int = 8, **kw: object) -> SecAggConfig:
    return SecAggConfig(job_id=JOB, n_clients=n, model_length=d, **kw)  # type: ignore[arg-type]


def test_budget_is_derived_and_packing_fits_below_r() -> None:
    c = config(n=100, max_weight=10_000)
    # 2·offset = 2^19, times 10^4 · 100 < 2^20: 39 bits
    assert c.max_slot_sum == 100 * 10_000 * 2 * 4 * 2**16
    assert c.slot_bits == c.max_slot_sum.bit_length() == 39
    assert c.per_element == 253 // 39 == 6
    assert c.n_elements == math.ceil(40 / 6)


def test_a_budget_that_would_wrap_is_refused() -> None:
    # 20 + 32 + 11 bits > 62: the slot sums could not be unpacked and centred exactly
    with pytest.raises(BudgetError, match="slot needs 63 bits"):
        config(n=2**11, max_weight=2**32)
    assert config(n=2**10, max_weight=2**32).slot_bits == 62


def test_quantization_range_must_fit_its_bits() -> None:
    with pytest.raises(BudgetError):
        Quantization(bits=16, frac_bits=14, clip=2.0)
    for bad in ({"clip": float("nan")}, {"clip": -1.0}, {"bits": 1}, {"frac_bits": 30, "bits": 20}):
        with pytest.raises(InputError):
            Quantization(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kw",
    [{"n_clients": 1}, {"model_length": 0}, {"max_weight": 0}, {"neighbours": 0}, {"threshold": 99},
     {"job_id": b"short"}, {"n_clients": True}],
)
def test_config_validates_eagerly(kw: dict[str, object]) -> None:
    with pytest.raises(InputError):
        SecAggConfig(**{"job_id": JOB, "n_clients": 8, "model_length": 4, **kw})  # type: ignore[arg-type]


def test_quantize_clips_rounds_half_even_and_offsets() -> None:
    q = Quantization(bits=8, frac_bits=2, clip=8.0)  # offset 32
    got = quantize(np.array([0.0, 0.125, 0.375, -0.125, 100.0, -100.0]), q)
    assert got.tolist() == [32, 32, 34, 32, 64, 0]


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_are_refused(bad: float) -> None:
    update = np.zeros(40)
    update[7] = bad
    with pytest.raises(InputError, match="index 7"):
        encode(update, 1, config())


def test_shapes_dtypes_and_weights_are_checked() -> None:
    c = config()
    with pytest.raises(LengthError):
        encode(np.zeros(41), 1, c)
    with pytest.raises(InputError, match="numeric"):
        encode(np.array(["a"] * 40), 1, c)
    for w in (0, -1, c.max_weight + 1):
        with pytest.raises(BudgetError):
            encode(np.zeros(40), w, c)
    for w in (1.5, True, "3"):
        with pytest.raises(InputError):
            encode(np.zeros(40), w, c)  # type: ignore[arg-type]


def test_state_dict_layout_round_trip() -> None:
    update = {"w": np.arange(6.0).reshape(2, 3) / 8, "b": np.array([0.5, -0.25])}
    layout = Layout.of(update)
    assert layout.size == 8
    c = config(d=8)
    back = layout.unflatten(decode(encode(update, 3, c, layout), 3, c))
    assert list(back) == ["w", "b"]
    np.testing.assert_array_equal(back["w"], update["w"])
    np.testing.assert_array_equal(back["b"], update["b"])
    with pytest.raises(InputError, match="tensors"):
        layout.flatten({"b": update["b"], "w": update["w"]})
    with pytest.raises(LengthError, match="shape"):
        layout.flatten({"w": np.zeros((3, 2)), "b": update["b"]})


@given(
    st.integers(2, 6).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(st.floats(-4, 4), min_size=13, max_size=13), min_size=n, max_size=n),
            st.lists(st.integers(1, 2**16), min_size=n, max_size=n),
        )
    )
)
def test_sum_of_packed_updates_is_the_packed_exact_sum(data: tuple[list[list[float]], list[int]]) -> None:
    updates, weights = data
    c = config(d=13, n=len(updates))
    total = FrArray.zeros(c.n_elements)
    for u, w in zip(updates, weights):
        total = total + encode(np.array(u), w, c)
    q = c.quantization
    expected = sum(np.int64(w) * quantize(np.array(u), q).astype(np.int64) for u, w in zip(updates, weights))
    assert slot_sums(total, c).astype(np.int64).tolist() == expected.tolist()
    # within the documented error (half a quantization step) of the exact weighted mean
    mean = np.average(np.array(updates), axis=0, weights=np.array(weights, dtype=np.float64))
    assert np.max(np.abs(decode(total, sum(weights), c) - mean)) <= 2.0 ** -(q.frac_bits + 1) + 1e-12


def test_decode_refuses_what_cannot_be_a_sum() -> None:
    c = config(d=4)
    one = encode(np.full(4, 4.0), 2, c)
    with pytest.raises(BudgetError, match="exceeds"):
        decode(one, 1, c)  # slot = 2 · 2·offset, more than N = 1 can produce
    with pytest.raises(LengthError):
        decode(FrArray.zeros(c.n_elements + 1), 1, c)
    with pytest.raises(InputError):
        decode(one, 0, c)


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "reference"])
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=64) |
                st.integers(-2**13, 2**13).map(lambda k: k / 2**11) |  # exact halves of a step
                st.sampled_from([4.0, -4.0, 4.0 + 2**-40, 1e300, -0.0]), min_size=1, max_size=50),
       st.integers(1, 2**16))
def test_native_encoding_is_bit_identical_to_numpy(backend: str, xs: list[float], weight: int) -> None:
    c = config(d=len(xs), quantization=Quantization(bits=16, frac_bits=10, clip=4.0))
    with use_backend("reference"):
        expected = encode(np.array(xs), weight, c)
    with use_backend(backend):
        assert encode(np.array(xs), weight, c) == expected
        bad = np.array(xs)
        bad[-1] = np.nan
        with pytest.raises(InputError, match=f"index {len(xs) - 1}"):
            encode(bad, weight, c)


def test_torch_state_dicts_go_in_and_come_back_as_tensors() -> None:
    torch = pytest.importorskip("torch")
    model = torch.nn.Linear(5, 3)
    state = model.state_dict()
    layout = Layout.of(state)
    c = config(d=layout.size)
    back = layout.unflatten(decode(encode(state, 10, c, layout), 10, c))
    assert list(back) == ["weight", "bias"]
    for name, tensor in state.items():
        assert isinstance(back[name], torch.Tensor) and back[name].dtype == torch.float32
        assert torch.max(torch.abs(back[name] - tensor)) <= 2.0 ** -(c.quantization.frac_bits + 1) + 1e-6
    with pytest.raises(InputError, match="not finite"):
        encode({"weight": state["weight"] * float("nan"), "bias": state["bias"]}, 1, c, layout)
