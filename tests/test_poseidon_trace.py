"""The sponge gadget's witness (zkagg.poseidon.absorb_trace): the plain-form reference against
the permutation, the native core (which runs the sparse fast form) against the reference on every
engine, the sponge circuits it feeds, and the inputs that must be rejected."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zkagg.bn254 import FrArray, use_backend
from zkagg.circuit import compile_r1cs, evaluate
from zkagg.errors import InputError, LengthError, NonCanonicalError
from zkagg.poseidon import absorb_trace, absorb_trace_many, reference
from zkagg.poseidon.native import NativePoseidon
from zkagg.poseidon.params import constants
from zkagg.poseidon.reference import trace_length

from .conftest import BACKENDS
from .strategies import EDGES, R, fr
from .test_poseidon_gadget import Sponge

NATIVE = [b for b in BACKENDS if b != "reference"]
WIDTHS = range(2, 18)


def edge_inputs(t: int) -> list[list[int]]:
    """All zeros, all ones, all r - 1, and a random mix of edge values and uniform elements."""
    rng = random.Random(t)
    n = 2 * t - 1
    mixed = [rng.choice(EDGES) if rng.random() < 0.5 else rng.randrange(R) for _ in range(n)]
    return [[0] * n, [1] * n, [R - 1] * n, mixed]


# ---- the reference, against the specification ----
@pytest.mark.parametrize("t", [2, 3, 5, 17])
def test_reference_trace_is_the_permutation(t: int) -> None:
    """The S-box triples are (x^2, x^4, x^5) of one input, and M times the last round's S-box
    outputs is the permutation of M prev + (0, block)."""
    p = constants(t)
    for values in edge_inputs(t):
        tr = reference.absorb_trace(t, values)
        assert len(tr) == trace_length(t) == 3 * (p.rounds_f * t + p.rounds_p)
        for x2, x4, x5 in zip(tr[0::3], tr[1::3], tr[2::3]):
            assert x4 == x2 * x2 % R and x5 * x5 % R == x4 * x4 * x2 % R
        prev, block = values[:t], values[t:]
        state = [sum(m * x for m, x in zip(row, prev)) % R for row in p.mds]
        state = [state[0]] + [(x + b) % R for x, b in zip(state[1:], block)]
        assert tr[0] == (state[0] + p.round_constants[0]) ** 2 % R
        last = tr[-3 * t + 2 :: 3]
        out = [sum(m * x for m, x in zip(row, last)) % R for row in p.mds]
        assert out == reference.permute_with(p, state)


# ---- native (fast form) against the reference (plain form) ----
@pytest.mark.parametrize("backend", NATIVE)
@pytest.mark.parametrize("t", WIDTHS)
def test_native_trace_matches_reference_every_width(backend: str, t: int) -> None:
    """The fast form's S-box inputs are the plain form's, for every width."""
    cases = edge_inputs(t)
    want = [reference.absorb_trace(t, v) for v in cases]
    with use_backend(backend):
        assert [absorb_trace(t, v) for v in cases] == want
        many = absorb_trace_many(t, FrArray.from_ints([x for v in cases for x in v]))
    assert many.shape == (len(cases), trace_length(t), 4)
    assert [FrArray(row).to_ints() for row in many] == want


@pytest.mark.parametrize("backend", NATIVE)
@settings(max_examples=30)
@given(data=st.data(), t=st.sampled_from([2, 3, 4, 9, 16, 17]))
def test_native_trace_matches_reference(backend: str, data: Any, t: int) -> None:
    values = data.draw(st.lists(fr, min_size=2 * t - 1, max_size=2 * t - 1))
    with use_backend(backend):
        assert absorb_trace(t, values) == reference.absorb_trace(t, values)


@pytest.mark.parametrize("backend", BACKENDS)
def test_trace_many_forms_agree(backend: str) -> None:
    """FrArray and (n, 2t - 1, 4) limbs give the same result as one-by-one calls, n = 0 too."""
    t, n = 3, 5
    rng = random.Random(7)
    flat = FrArray.random(n * (2 * t - 1), rng)
    want = [reference.absorb_trace(t, flat.to_ints()[k * 5 : (k + 1) * 5]) for k in range(n)]
    with use_backend(backend):
        a = absorb_trace_many(t, flat)
        b = absorb_trace_many(t, np.array(flat.limbs).reshape(n, 2 * t - 1, 4))
        assert [absorb_trace(t, flat.to_ints()[k * 5 : (k + 1) * 5]) for k in range(n)] == want
        assert absorb_trace_many(t, FrArray.zeros(0)).shape == (0, trace_length(t), 4)
        assert absorb_trace_many(t, np.zeros((0, 5, 4), np.uint64)).shape == (0, trace_length(t), 4)
    assert a.dtype == b.dtype == np.uint64
    assert (a == b).all() and [FrArray(row).to_ints() for row in a] == want


@pytest.mark.parametrize("backend", NATIVE)
@pytest.mark.parametrize("threads", [1, 2, 0])
def test_native_trace_many_threads(backend: str, threads: int) -> None:
    """Many instances (more than one work item) spread over 1, 2 and all CPUs."""
    t, n = 17, 37
    inputs = FrArray.random(n * (2 * t - 1), random.Random(3))
    with use_backend("reference"):
        want = absorb_trace_many(t, inputs)
    lib = NativePoseidon(backend.partition("-")[2]).lib
    lib.zkagg_set_threads(threads)
    try:
        with use_backend(backend):
            assert (absorb_trace_many(t, inputs) == want).all()
    finally:
        lib.zkagg_set_threads(0)


# ---- the sponge circuits it feeds ----


@pytest.mark.parametrize("width", [2, 3, 17])
def test_sponge_witness_is_the_same_on_every_engine(width: int) -> None:
    xs = [random.Random(width).randrange(R) for _ in range(35)] + [0, R - 1]
    c = Sponge(xs, reference.sponge(xs, width), width)
    witnesses = []
    for backend in BACKENDS:
        with use_backend(backend):
            witnesses.append(evaluate(c))
    assert all(w == witnesses[0] for w in witnesses)
    assert compile_r1cs(c).first_unsatisfied(FrArray.from_ints(witnesses[0])) == -1


# ---- negatives ----
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", [R, R + 1, 2**256 - 1, -1, True, 1.0, "1"])
def test_rejects_non_canonical(backend: str, bad: Any) -> None:
    with use_backend(backend):
        for pos in (0, 2, 4):  # in prev, at the end of prev, in the block
            values: list[Any] = [1] * 5
            values[pos] = bad
            with pytest.raises(NonCanonicalError):
                absorb_trace(3, values)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rejects_non_canonical_limbs(backend: str) -> None:
    limbs = np.zeros((2, 5, 4), dtype=np.uint64)
    limbs[1, 3] = FrArray.from_ints([R - 1]).limbs[0]
    with use_backend(backend):
        absorb_trace_many(3, limbs)  # r - 1 is fine
        limbs[1, 3, 0] += np.uint64(1)  # r itself
        with pytest.raises(NonCanonicalError, match=r"inputs\[1, 3\]"):
            absorb_trace_many(3, limbs)
        limbs[1, 3] = 2**64 - 1
        with pytest.raises(NonCanonicalError):
            absorb_trace_many(3, limbs)


@pytest.mark.parametrize("backend", BACKENDS)
def test_rejects_bad_shapes(backend: str) -> None:
    with use_backend(backend):
        for n in (0, 4, 6, 33):
            with pytest.raises(LengthError):
                absorb_trace(3, [0] * n)
        for t in (0, 1, 18, True, 3.0):
            with pytest.raises(InputError):
                absorb_trace(t, [0] * 5)  # type: ignore[arg-type]
            with pytest.raises(InputError):
                absorb_trace_many(t, FrArray.zeros(5))  # type: ignore[arg-type]
        with pytest.raises(LengthError):
            absorb_trace_many(3, FrArray.zeros(7))
        for shape in ((5, 4), (2, 4, 4), (2, 6, 4), (2, 5, 3), (1, 2, 5, 4)):
            with pytest.raises(LengthError):
                absorb_trace_many(3, np.zeros(shape, dtype=np.uint64))
        with pytest.raises(LengthError):
            absorb_trace_many(3, np.zeros((2, 5, 4), dtype=np.int64))


@pytest.mark.parametrize("backend", NATIVE)
def test_native_core_rejects_raw_input(backend: str) -> None:
    """The C entry point checks the range, pointers and parameters itself."""
    eng = NativePoseidon(backend.partition("-")[2])
    ffi, lib = eng.ffi, eng.lib
    t, n_out = 3, trace_length(3)
    inputs = np.zeros((2 * 5, 4), dtype=np.uint64)
    inputs[7] = FrArray.from_ints([R - 1]).limbs[0]
    inputs[7, 0] += np.uint64(1)  # r
    with pytest.raises(InputError):
        eng.absorb_trace(inputs, t, n_out)
    inputs[7, 0] -= np.uint64(1)
    out = eng.absorb_trace(inputs, t, n_out)
    assert FrArray(out[n_out:]).to_ints() == reference.absorb_trace(3, [0, 0, R - 1, 0, 0])

    buf = np.zeros((n_out, 4), dtype=np.uint64)
    src = np.zeros((5, 4), dtype=np.uint64)
    o, i = ffi.from_buffer("uint64_t[]", buf), ffi.from_buffer("uint64_t[]", src)
    params = eng._params(t)
    assert lib.zkagg_poseidon_absorb_trace(o, i, 1, params) == 0
    assert lib.zkagg_poseidon_absorb_trace(ffi.NULL, ffi.NULL, 0, params) == 0
    assert lib.zkagg_poseidon_absorb_trace(ffi.NULL, i, 1, params) == -2
    assert lib.zkagg_poseidon_absorb_trace(o, ffi.NULL, 1, params) == -2
    assert lib.zkagg_poseidon_absorb_trace(o, i, 2**62, params) == -2  # byte counts overflow
    assert lib.zkagg_poseidon_absorb_trace(o, i, 1, ffi.NULL) == -2
    for field, value in (("t", 1), ("t", 18), ("rounds_f", 7), ("rounds_p", 0), ("sparse", ffi.NULL)):
        saved = getattr(params, field)
        setattr(params, field, value)
        try:
            assert lib.zkagg_poseidon_absorb_trace(o, i, 1, params) == -2, field
        finally:
            setattr(params, field, saved)
