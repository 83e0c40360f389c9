"""msm_many (several MSMs in one call, the scalars recoded once per vector) against separate MSMs,
on every engine, and the MSM's edge inputs at sizes where the batch-affine bucket passes run."""

from __future__ import annotations

import random

import numpy as np
import pytest

from zkagg import native
from zkagg.bench.native import random_points
from zkagg.bn254 import FrArray, G1Array, G1Point, G2Array, G2Point, msm_many, use_backend
from zkagg.bn254.constants import FR_MODULUS as R
from zkagg.errors import InputError, LengthError

from .conftest import BACKENDS

NATIVE = [b for b in BACKENDS if b.startswith("native")]


def with_infinity(arr, every: int):  # noqa: ANN001, ANN201
    """arr with every `every`-th point replaced by the point at infinity."""
    limbs = arr.limbs.copy()
    limbs[::every] = 0
    return type(arr)._trusted(limbs)


def separate(queries):  # noqa: ANN001, ANN201
    return [pts.msm(FrArray._trusted(k.limbs[off : off + len(pts)])) for pts, k, off in queries]


@pytest.mark.parametrize("backend", BACKENDS)
def test_msm_many_equals_separate_msms(backend: str) -> None:
    rng = random.Random(1)
    g1 = with_infinity(random_points(G1Array, 9, rng), 4)
    g2 = random_points(G2Array, 7, rng)
    z = FrArray.from_ints([0, 1, R - 1] + FrArray.random(7, rng).to_ints())
    h = FrArray.random(5, rng)
    queries = [(g1, z, 1), (g2, z, 0), (G1Array._trusted(g1.limbs[:5]), h, 0), (g2, z, 3),
               (G1Array.from_points([]), h, 5), (G2Array._trusted(g2.limbs[:2]), h, 2)]
    with use_backend(backend):
        got = msm_many(queries)
        assert got == separate(queries)
        assert [type(p) for p in got] == [G1Point, G2Point, G1Point, G2Point, G1Point, G2Point]
        assert msm_many([]) == []


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("log_n", [12, 14])
def test_msm_many_native_large(log_n: int, threads: int) -> None:
    """Batch-affine sizes: shared digits with offsets, infinity points and zero scalars, G1 and
    G2 items in one run; against separate MSMs and across the native variants."""
    rng = random.Random(log_n)
    n = 1 << log_n
    g1a = with_infinity(random_points(G1Array, n, rng), 3)
    g1b = random_points(G1Array, n - 100, rng)
    g2 = with_infinity(random_points(G2Array, n // 2, rng), 5)
    ks = FrArray.random(n, rng).to_ints()
    ks[::7] = [0] * len(ks[::7])
    z, h = FrArray.from_ints(ks), FrArray.random(n, rng)
    queries = [(g1a, z, 0), (g2, z, 10), (g1b, z, 100), (g1a, h, 0)]
    results = []
    for b in NATIVE:
        lib = native.load(b.split("-")[1]).lib
        lib.zkagg_set_threads(threads)
        try:
            with use_backend(b):
                got = msm_many(queries)
                assert got == separate(queries)
                results.append(got)
        finally:
            lib.zkagg_set_threads(0)
    assert all(r == results[0] for r in results)


@pytest.mark.parametrize("point,array", [(G1Point, G1Array), (G2Point, G2Array)], ids=["g1", "g2"])
def test_msm_edge_inputs_in_the_batch_affine_passes(point: type, array: type) -> None:
    """Doublings and cancellations inside the bucket batches (equal bases, P and -P with equal
    scalars, equal scalars everywhere, few distinct bases), r - 1, zeros and infinity."""
    rng = random.Random(3)
    g = point.generator()
    n = 4096
    ks = [rng.randrange(R) for _ in range(n)]
    few = [g * (i + 1) for i in range(5)]
    idx = [rng.randrange(5) for _ in range(n)]
    small = [rng.randrange(1, 40) for _ in range(n)]
    cases = [
        ([g] * n, ks, g * (sum(ks) % R)),
        ([g] * n, [12345] * n, g * (12345 * n % R)),
        ([g, -g] * (n // 2), [777] * n, point.infinity()),
        ([few[i] for i in idx], small, g * (sum((i + 1) * k for i, k in zip(idx, small)) % R)),
        ([point.infinity(), g] * (n // 2), [R - 1, 0] * (n // 2), point.infinity()),
        ([g] * n, [R - 1] * n, g * (-n % R)),
    ]
    for b in NATIVE:
        for pts, scalars, expected in cases:
            arr = array.from_points(pts)
            with use_backend(b):
                assert arr.msm(FrArray.from_ints(scalars)) == expected
                assert msm_many([(arr, FrArray.from_ints(scalars), 0)]) == [expected]


def test_msm_many_checks_its_queries() -> None:
    rng = random.Random(2)
    pts, k = random_points(G1Array, 4, rng), FrArray.random(4, rng)
    with pytest.raises(LengthError, match="queries\\[0\\]"):
        msm_many([(pts, k, 1)])
    with pytest.raises(InputError, match="offset"):
        msm_many([(pts, k, -1)])
    with pytest.raises(InputError):
        msm_many([(pts, k)])  # type: ignore[list-item]
    with pytest.raises(InputError):
        msm_many([(k, pts, 0)])  # type: ignore[list-item]


def test_native_msm_many_rejects_bad_parts() -> None:
    """The C entry checks what the Python layer already guarantees."""
    mod = native.load()
    ffi, lib = mod.ffi, mod.lib
    k = np.zeros((4, 4), dtype=np.uint64)
    pts = np.zeros((4, 8), dtype=np.uint64)
    out = np.zeros((1, 16), dtype=np.uint64)
    for group, vector, offset, count in [(3, 0, 0, 4), (1, 1, 0, 4), (1, 0, 1, 4), (1, 0, 5, 0)]:
        part = ffi.new("zkagg_msm_part[]", 1)
        part[0].points, part[0].count, part[0].group = ffi.from_buffer("uint64_t[]", pts), count, group
        part[0].vector, part[0].offset = vector, offset
        ks = ffi.new("uint64_t *[]", [ffi.from_buffer("uint64_t[]", k)])
        rc = lib.zkagg_msm_many(ffi.from_buffer("uint64_t[]", out), part, 1, ks, ffi.new("size_t[]", [4]), 1)
        assert rc == -2
