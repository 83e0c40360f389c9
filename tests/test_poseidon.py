"""Poseidon: pinned parameters, circomlibjs known answers on every engine, native vs reference,
the sponge's properties and the inputs that must be rejected.

The known answers in tests/vectors/poseidon.json come from circomlibjs 0.1.7
(tests/vectors/make_poseidon.mjs); test_vectors_match_circomlibjs regenerates them when node and
npm are present.
"""

from __future__ import annotations

import functools
import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from zkagg.bn254 import FR_MODULUS as R
from zkagg.bn254 import FrArray, use_backend
from zkagg.errors import InputError, LengthError, NonCanonicalError
from zkagg.poseidon import (
    poseidon_ex,
    poseidon_hash,
    poseidon_hash_many,
    poseidon_sponge,
    poseidon_sponge_many,
    reference,
)
from zkagg.poseidon.native import NativePoseidon
from zkagg.poseidon.optimize import fast_params, permute_fast
from zkagg.poseidon.params import ROUNDS_P, constants, generate

from .conftest import BACKENDS
from .strategies import EDGES, fr, fr_lists

VECTORS_DIR = Path(__file__).parent / "vectors"
VEC = json.loads((VECTORS_DIR / "poseidon.json").read_text())
NATIVE = [b for b in BACKENDS if b != "reference"]
WIDTHS = range(2, 18)


def ints(c: list[str]) -> list[int]:
    return [int(v) for v in c]


# ---- parameters ----
@pytest.mark.parametrize("t", [3, 17])
def test_pinned_constants_regenerate(t: int) -> None:
    """The Grain procedure reproduces the pinned file (only the first MDS candidate is drawn)."""
    assert generate(t) == constants(t)


@pytest.mark.parametrize("t", WIDTHS)
def test_pinned_constants_shape(t: int) -> None:
    p = constants(t)
    assert (p.t, p.rounds_f, p.rounds_p) == (t, 8, ROUNDS_P[t - 2])
    assert len(p.round_constants) == (8 + p.rounds_p) * t
    assert all(0 <= c < R for c in p.round_constants)
    assert len(p.mds) == t and all(len(row) == t and all(0 < v < R for v in row) for row in p.mds)


@pytest.mark.parametrize("t", WIDTHS)
def test_fast_form_equals_reference_permutation(t: int) -> None:
    """The sparse-partial-round form the native core evaluates is the same permutation."""
    rng = random.Random(t)
    f, p = fast_params(t), constants(t)
    for state in ([0] * t, [R - 1] * t, [rng.randrange(R) for _ in range(t)]):
        assert permute_fast(f, state) == reference.permute_with(p, state)


# ---- known answers from circomlibjs, on every engine ----
@pytest.mark.parametrize("backend", BACKENDS)
def test_known_answers(backend: str) -> None:
    with use_backend(backend):
        for v in VEC["hash"]:
            assert poseidon_hash(ints(v["inputs"])) == int(v["out"])
        for v in VEC["ex"]:
            assert poseidon_ex(ints(v["inputs"]), int(v["init_state"]), v["n_out"]) == ints(v["out"])
        for v in VEC["sponge"]:
            assert poseidon_sponge(ints(v["values"]), v["width"]) == int(v["out"])
            assert poseidon_sponge(FrArray.from_ints(ints(v["values"])), v["width"]) == int(v["out"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_batched_known_answers(backend: str) -> None:
    with use_backend(backend):
        for width in sorted({v["width"] for v in VEC["sponge"]}):
            cases = [v for v in VEC["sponge"] if v["width"] == width]
            vectors = [FrArray.from_ints(ints(v["values"])) for v in cases]
            assert poseidon_sponge_many(vectors, width) == [int(v["out"]) for v in cases]
        for n in range(1, 17):
            cases = [v for v in VEC["hash"] if len(v["inputs"]) == n]
            assert poseidon_hash_many([ints(v["inputs"]) for v in cases]) == [int(v["out"]) for v in cases]


def test_sponge_of_rate_elements_is_poseidon_ex() -> None:
    """A vector of exactly t - 1 elements hashes to circomlibjs poseidon(x, t - 1, 1)."""
    x = list(range(1, 17))
    assert poseidon_sponge(x) == poseidon_ex(x, 16, 1)[0]
    assert poseidon_sponge([5, 6], width=3) == poseidon_ex([5, 6], 2, 1)[0]


def test_sponge_length_separation() -> None:
    """Zero padding is unambiguous: trailing zeros change the hash through the length."""
    hashes = {poseidon_sponge([0] * n) for n in range(0, 40)}
    assert len(hashes) == 40
    assert poseidon_sponge([7]) != poseidon_sponge([7, 0])
    assert poseidon_sponge([7] * 16) != poseidon_sponge([7] * 16 + [0])


# ---- native vs reference ----
@pytest.mark.parametrize("backend", NATIVE)
@given(inputs=fr_lists(1, 16), init=fr, data=st.data())
def test_native_permutation_matches_reference(backend: str, inputs: list[int], init: int, data: Any) -> None:
    n_out = data.draw(st.integers(1, len(inputs) + 1))
    with use_backend(backend):
        assert poseidon_ex(inputs, init, n_out) == reference.poseidon_ex(inputs, init, n_out)


@pytest.mark.parametrize("backend", NATIVE)
@given(
    vectors=st.lists(fr_lists(0, 40), min_size=1, max_size=6),
    width=st.sampled_from([2, 3, 5, 16, 17]),
)
def test_native_sponge_matches_reference(backend: str, vectors: list[list[int]], width: int) -> None:
    want = [reference.sponge(v, width) for v in vectors]
    with use_backend(backend):
        assert poseidon_sponge_many(vectors, width) == want
        assert poseidon_sponge(vectors[0], width) == want[0]


@functools.cache
def many_cases() -> tuple[list[list[int]], list[int], list[list[int]], list[int]]:
    """Vectors of uneven lengths and rows to hash, with their reference hashes (computed once)."""
    rng = random.Random(5)
    vectors = [[rng.choice(EDGES) for _ in range(rng.randrange(0, 40))] for _ in range(200)]
    rows = [[rng.randrange(R) for _ in range(2)] for _ in range(300)]
    return (
        vectors,
        [reference.sponge(v) for v in vectors],
        rows,
        [reference.poseidon_hash(r) for r in rows],
    )


@pytest.mark.parametrize("backend", NATIVE)
@pytest.mark.parametrize("threads", [1, 2, 0])
def test_native_many_threads(backend: str, threads: int) -> None:
    """Many vectors spread over threads, and many permuted states, on 1, 2 and all CPUs."""
    vectors, want_vectors, rows, want_rows = many_cases()
    with use_backend(backend):
        lib = NativePoseidon(backend.partition("-")[2]).lib
        lib.zkagg_set_threads(threads)
        try:
            assert poseidon_sponge_many(vectors) == want_vectors
            assert poseidon_hash_many(rows) == want_rows
        finally:
            lib.zkagg_set_threads(0)


# ---- negatives ----
NON_CANONICAL = [R, R + 1, 2**256 - 1, -1, True, 1.0, "1"]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bad", NON_CANONICAL)
def test_rejects_non_canonical(backend: str, bad: Any) -> None:
    with use_backend(backend):
        with pytest.raises(NonCanonicalError):
            poseidon_hash([1, bad])
        with pytest.raises(NonCanonicalError):
            poseidon_ex([1, 2], bad, 1)
        with pytest.raises(NonCanonicalError):
            poseidon_sponge([0] * 20 + [bad])
        with pytest.raises(NonCanonicalError):
            poseidon_sponge_many([[1], [2, bad]])
        with pytest.raises(NonCanonicalError):
            poseidon_hash_many([[1, 2], [bad, 2]])


@pytest.mark.parametrize("backend", BACKENDS)
def test_rejects_bad_shapes(backend: str) -> None:
    with use_backend(backend):
        for inputs in ([], list(range(17))):
            with pytest.raises(LengthError):
                poseidon_hash(inputs)
        for n_out in (0, 4, True):
            with pytest.raises(InputError):
                poseidon_ex([1, 2], 0, n_out)
        for width in (0, 1, 18, True, 17.0):
            with pytest.raises(InputError):
                poseidon_sponge([1, 2], width)  # type: ignore[arg-type]
        with pytest.raises(LengthError):
            poseidon_hash_many([[1, 2], [1]])
        with pytest.raises(LengthError):
            poseidon_hash_many([[]])
        assert poseidon_hash_many([]) == [] and poseidon_sponge_many([]) == []


@pytest.mark.parametrize("backend", NATIVE)
def test_native_core_rejects_raw_non_canonical(backend: str) -> None:
    """The C entry points check the range themselves (defence in depth behind the wrappers)."""
    eng = NativePoseidon(backend.partition("-")[2])
    bad = np.array([[0, 0, 0, 0], list(FrArray.from_ints([R - 1]).limbs[0])], dtype=np.uint64)
    bad[1, 0] += np.uint64(1)  # r itself
    with pytest.raises(InputError):
        eng.permute(bad, 2)
    with pytest.raises(InputError):
        eng.sponge_many(bad, [2], 17)
    ok = bad.copy()
    ok[1, 0] -= np.uint64(1)
    assert eng.sponge_many(ok, [2], 3)[0].tolist() == FrArray.from_ints(
        [reference.sponge([0, R - 1], 3)]
    ).limbs[0].tolist()


@pytest.mark.parametrize("backend", NATIVE)
def test_native_core_rejects_bad_params(backend: str) -> None:
    eng = NativePoseidon(backend.partition("-")[2])
    params = eng._params(3)
    state = np.zeros((3, 4), dtype=np.uint64)
    for field, value in (("t", 1), ("t", 18), ("rounds_f", 7), ("rounds_p", 0), ("mds", eng.ffi.NULL)):
        saved = getattr(params, field)
        setattr(params, field, value)
        try:
            rc = eng.lib.zkagg_poseidon_permute(eng.ffi.from_buffer("uint64_t[]", state), 1, params)
        finally:
            setattr(params, field, saved)
        assert rc == -2, field


# ---- circomlibjs itself (needs node and npm; the registry must be reachable) ----
@pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs node and npm")
def test_vectors_match_circomlibjs(tmp_path: Path) -> None:
    """Regenerate the known answers with circomlibjs and compare them (and its constants)."""
    subprocess.run(
        ["npm", "install", "--prefix", str(tmp_path), "--no-audit", "--no-fund", "circomlibjs@0.1.7"],
        check=True,
        capture_output=True,
        timeout=600,
    )
    script = str(VECTORS_DIR / "make_poseidon.mjs")
    fresh = subprocess.run(
        ["node", script, str(tmp_path)], check=True, capture_output=True, text=True, timeout=600
    ).stdout
    assert json.loads(fresh) == VEC
    theirs = json.loads(
        subprocess.run(
            ["node", script, str(tmp_path), "--constants"],
            check=True,
            capture_output=True,
            text=True,
            timeout=600,
        ).stdout
    )
    for t in WIDTHS:
        p = constants(t)
        assert [int(c, 16) for c in theirs["C"][t - 2]] == list(p.round_constants)
        assert [[int(v, 16) for v in row] for row in theirs["M"][t - 2]] == [list(r) for r in p.mds]
