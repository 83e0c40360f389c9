"""The secure-aggregation PRG: RFC 8439 known answers for every native ChaCha20 kernel, the mask
stream against its reference twin (the `cryptography` package's ChaCha20), every kernel against
the others, seekability, signed accumulation, pinned vectors, and the inputs that are rejected.

The pinned vectors in tests/vectors/prg.json come from tests/vectors/make_prg.py, which
implements the specification again with `cryptography` and plain ints.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from hypothesis import given
from hypothesis import strategies as st

from zkagg import native
from zkagg.bn254 import FR_MODULUS as R
from zkagg.bn254 import FrArray, use_backend
from zkagg.bn254.field import first_not_below
from zkagg.errors import InputError, LengthError
from zkagg.secagg import prg

from .conftest import BACKENDS

VEC = json.loads((Path(__file__).parent / "vectors" / "prg.json").read_text())
NATIVE = [b for b in BACKENDS if b != "reference"]
LEVEL_NAMES = {0: "portable", 1: "avx2", 2: "avx512"}


def _kernels() -> list[tuple[str, int]]:
    """(variant, level) of every ChaCha20 kernel this machine runs."""
    out = []
    for variant in native.available_variants():
        lib = native.load(variant).lib
        try:
            out += [(variant, level) for level in LEVEL_NAMES if lib.zkagg_prg_set_impl(level) == level]
        finally:
            lib.zkagg_prg_set_impl(-1)
    return out


KERNELS = _kernels()
KERNEL_PARAM = pytest.mark.parametrize(
    "kernel", KERNELS, ids=[f"{v}-{LEVEL_NAMES[lvl]}" for v, lvl in KERNELS]
)


@contextmanager
def use_kernel(kernel: tuple[str, int]) -> Iterator[Any]:
    """Run with one native variant and its ChaCha20 kernel capped at `level`; yields the cffi
    module (.ffi, .lib)."""
    variant, level = kernel
    mod = native.load(variant)
    assert mod.lib.zkagg_prg_set_impl(level) == level
    try:
        with use_backend(f"native-{variant}"):
            yield mod
    finally:
        mod.lib.zkagg_prg_set_impl(-1)


def keystream(mod: Any, key: bytes, nonce: bytes, counter: int, n_blocks: int) -> bytes:
    """The raw keystream from the native kernel in use."""
    buf = bytearray(64 * n_blocks)
    assert mod.lib.zkagg_chacha20_keystream(mod.ffi.from_buffer(buf), key, nonce, counter, n_blocks) == 0
    return bytes(buf)


def cryptography_keystream(key: bytes, nonce: bytes, counter: int, n: int) -> bytes:
    # cryptography's 16-byte nonce is the RFC's 32-bit counter followed by its 96-bit nonce
    enc = Cipher(algorithms.ChaCha20(key, counter.to_bytes(4, "little") + nonce), None).encryptor()
    return enc.update(bytes(n))


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


# ---- RFC 8439 known answers, on every kernel ----
RFC_KEY = bytes(range(32))


@KERNEL_PARAM
def test_rfc8439_block_function(kernel: tuple[str, int]) -> None:
    """RFC 8439, section 2.3.2: the serialized block for counter 1."""
    expected = h("""10 f1 e7 e4 d1 3b 59 15 50 0f dd 1f a3 20 71 c4 c7 d1 f4 c7 33 c0 68 03
                    04 22 aa 9a c3 d4 6c 4e d2 82 64 46 07 9f aa 09 14 c2 d7 05 d9 8b 02 a2
                    b5 12 9c d1 de 16 4e b9 cb d0 83 e8 a2 50 3c 4e""")
    with use_kernel(kernel) as mod:
        assert keystream(mod, RFC_KEY, h("000000090000004a00000000"), 1, 1) == expected


@KERNEL_PARAM
def test_rfc8439_encryption(kernel: tuple[str, int]) -> None:
    """RFC 8439, section 2.4.2: the sunscreen plaintext, counter 1, two blocks of keystream."""
    plaintext = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip "
                 b"for the future, sunscreen would be it.")
    expected = h("""6e 2e 35 9a 25 68 f9 80 41 ba 07 28 dd 0d 69 81 e9 7e 7a ec 1d 43 60 c2
                    0a 27 af cc fd 9f ae 0b f9 1b 65 c5 52 47 33 ab 8f 59 3d ab cd 62 b3 57
                    16 39 d6 24 e6 51 52 ab 8f 53 0c 35 9f 08 61 d8 07 ca 0d bf 50 0d 6a 61
                    56 a3 8e 08 8a 22 b6 5e 52 bc 51 4d 16 cc f8 06 81 8c e9 1a b7 79 37 36
                    5a f9 0b bf 74 a3 5b e6 b4 0b 8e ed f2 78 5e 42 87 4d""")
    with use_kernel(kernel) as mod:
        ks = keystream(mod, RFC_KEY, h("000000000000004a00000000"), 1, 2)
    assert bytes(p ^ k for p, k in zip(plaintext, ks)) == expected


# RFC 8439, appendix A.1, test vector #1: all-zero key and nonce, counter 0
A1_ZERO = h("""76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28 bd d2 19 b8 a0 8d ed 1a
               a8 36 ef cc 8b 77 0d c7 da 41 59 7c 51 57 48 8d 77 24 e0 3f b8 d8 4a 37
               6a 43 b8 f4 15 18 a1 1c c3 87 b6 69 b2 ee 65 86""")


@KERNEL_PARAM
def test_rfc8439_zero_key_and_the_stream(kernel: tuple[str, int]) -> None:
    """A.1 #1 is the keystream of block 0 of the all-zero seed: its two 32-byte words, top 2
    bits cleared, are below r, so they are the stream's first two elements."""
    words = [int.from_bytes(A1_ZERO[i : i + 32], "little") & ((1 << 254) - 1) for i in (0, 32)]
    assert all(w < R for w in words)
    with use_kernel(kernel) as mod:
        assert keystream(mod, bytes(32), bytes(12), 0, 1) == A1_ZERO
        assert prg.mask_stream(bytes(32), 2).to_ints() == words


@KERNEL_PARAM
def test_keystream_matches_cryptography(kernel: tuple[str, int]) -> None:
    """Lengths around the kernels' 16-block chunks, random keys, nonces and counters."""
    rng = np.random.default_rng(8439)  # test data only; the PRG path uses no RNG
    with use_kernel(kernel) as mod:
        for n_blocks in (1, 3, 15, 16, 17, 33, 40):
            key, nonce = rng.bytes(32), rng.bytes(12)
            counter = int(rng.integers(0, 2**32 - n_blocks))
            assert keystream(mod, key, nonce, counter, n_blocks) == cryptography_keystream(
                key, nonce, counter, 64 * n_blocks
            )


@KERNEL_PARAM
def test_keystream_counter_limit(kernel: tuple[str, int]) -> None:
    key, nonce = bytes(range(32)), bytes(12)
    with use_kernel(kernel) as mod:
        buf = bytearray(128)
        assert mod.lib.zkagg_chacha20_keystream(mod.ffi.from_buffer(buf), key, nonce, 2**32 - 1, 2) == -2
        assert keystream(mod, key, nonce, 2**32 - 1, 1) == cryptography_keystream(key, nonce, 2**32 - 1, 64)



def _edge_candidates() -> list[int]:
    """256-bit words at the acceptance boundary: r and its neighbours, with the top 2 bits set or
    not, and words equal to r in the upper 32-bit words and off by one below."""
    top2 = 3 << 254
    out = [R - 1, R, R + 1, top2 | (R - 1), top2 | R, (1 << 254) - 1, 0, 2**256 - 1, 1 << 254]
    for k in range(8):  # equal to r above 32-bit word k, one less / more in word k
        out += [R - (1 << (32 * k)), R + (1 << (32 * k)), (R - (1 << (32 * k))) | (1 << 255)]
    return out


@KERNEL_PARAM
def test_acceptance_boundary(kernel: tuple[str, int]) -> None:
    """Every kernel's vector comparison (the code its sampler runs) decides exactly (w mod 2^254)
    < r, also where r's upper words tie, which random keystream never reaches."""
    cands = _edge_candidates()
    rng = np.random.default_rng(254)
    with use_kernel(kernel) as mod:
        for offset in range(0, len(cands), 16):
            batch = cands[offset : offset + 16]
            # interleave with random words so that every lane and both halves get edge values
            rand = [int.from_bytes(rng.bytes(32), "little") for _ in range(32 - len(batch))]
            words = (batch + rand) if offset % 32 == 0 else (rand + batch)
            arr = np.array([(w >> (32 * i)) & 0xFFFFFFFF for w in words for i in range(8)], dtype=np.uint32)
            mask = mod.lib.zkagg_prg_accept_mask(mod.ffi.from_buffer("uint32_t[]", arr))
            expected = sum(1 << c for c, w in enumerate(words) if w & ((1 << 254) - 1) < R)
            assert mask == expected

# ---- the stream against its specification ----
seeds = st.binary(min_size=32, max_size=32)
far_starts = st.sampled_from([2**32 * 1024 - 5, 2**45 + 1000, 2**64 - 3000])


@pytest.mark.parametrize("backend", BACKENDS)
def test_pinned_vectors(backend: str) -> None:
    with use_backend(backend):
        for v in VEC["streams"]:
            got = prg.mask_stream(bytes.fromhex(v["seed"]), len(v["elements"]), start=v["start"])
            assert got.to_ints() == [int(e) for e in v["elements"]]


@pytest.mark.parametrize("backend", NATIVE)
@given(seed=seeds, start=st.one_of(st.integers(0, 4000), far_starts), n=st.integers(0, 2600))
def test_native_matches_reference(backend: str, seed: bytes, start: int, n: int) -> None:
    with use_backend("reference"):
        expected = prg.mask_stream(seed, n, start=start)
    with use_backend(backend):
        assert prg.mask_stream(seed, n, start=start) == expected


@pytest.mark.parametrize("threads", [1, 2])
def test_every_kernel_gives_the_same_stream(threads: int) -> None:
    seed = bytes(range(100, 132))
    acc = prg.mask_stream(bytes(32), 5000)
    seeds, signs = [bytes([i]) * 32 for i in range(4)], [1, -1, -1, 1]
    results = []
    for kernel in KERNELS:
        with use_kernel(kernel) as mod:
            mod.lib.zkagg_set_threads(threads)
            try:
                results.append((prg.mask_stream(seed, 5000, start=777),
                                prg.accumulate_masks(acc, seeds, signs, start=3)))
            finally:
                mod.lib.zkagg_set_threads(0)
    assert all(r == results[0] for r in results[1:])


@pytest.mark.parametrize("backend", NATIVE)
@given(seed=seeds, data=st.data())
def test_seekable(backend: str, seed: bytes, data: st.DataObject) -> None:
    """Any window equals the same slice of a longer stream."""
    start = data.draw(st.integers(0, 4000))
    n = data.draw(st.integers(0, 4200 - start))
    with use_backend(backend):
        whole = prg.mask_stream(seed, 4200)
        assert prg.mask_stream(seed, n, start=start) == whole[start : start + n]


@pytest.mark.parametrize("backend", NATIVE)
def test_elements_are_canonical_and_spread(backend: str) -> None:
    with use_backend(backend):
        limbs = prg.mask_stream(bytes(range(32)), 200_000).limbs
    assert first_not_below(limbs, R) == -1
    top = limbs[:, 3].astype(np.float64) / float(R >> 192)
    assert 0.49 < top.mean() < 0.51  # uniform below r: the top limb averages half of r's
    assert len(np.unique(limbs[:, 0])) == len(limbs)


@pytest.mark.parametrize("backend", BACKENDS)
@given(
    keys=st.lists(st.tuples(seeds, st.sampled_from([1, -1])), max_size=4),
    start=st.one_of(st.integers(0, 3000), far_starts),
    n=st.integers(0, 2100),
)
def test_accumulate_is_the_signed_sum(
    backend: str, keys: list[tuple[bytes, int]], start: int, n: int
) -> None:
    acc = FrArray.from_ints([(i * 0x9E3779B97F4A7C15) % R for i in range(n)])
    expected = acc.to_ints()
    with use_backend("native" if backend == "reference" else backend):
        streams = [prg.mask_stream(s, n, start=start).to_ints() for s, _ in keys]
    for (_, sign), stream in zip(keys, streams):
        expected = [(e + sign * v) % R for e, v in zip(expected, stream)]
    with use_backend(backend):
        got = prg.accumulate_masks(acc, [s for s, _ in keys], [sg for _, sg in keys], start=start)
    assert got.to_ints() == expected
    assert acc.to_ints() == [(i * 0x9E3779B97F4A7C15) % R for i in range(n)]  # acc untouched


def test_masks_cancel() -> None:
    """Pairwise masks added by one side and subtracted by the other sum to zero."""
    x = FrArray.from_ints(list(range(3000)))
    a = prg.accumulate_masks(x, [b"\x01" * 32, b"\x02" * 32], [1, -1])
    b = prg.accumulate_masks(a, [b"\x02" * 32, b"\x01" * 32], [1, -1])
    assert a != x and b == x


def _signed_sum(acc: list[int], streams: list[list[int]], signs: list[int]) -> list[int]:
    out = list(acc)
    for sign, stream in zip(signs, streams):
        out = [(e + sign * v) % R for e, v in zip(out, stream)]
    return out


@KERNEL_PARAM
def test_accumulate_many_keys(kernel: tuple[str, int]) -> None:
    """More keys than one lazy sum takes (1023, so a second key group), the first group all
    subtracted, accumulators at 0 and r - 1, a range across a block boundary."""
    rng = np.random.default_rng(1023)
    k, n, start = 1030, 40, 1000
    seeds = [rng.bytes(32) for _ in range(k)]
    signs = [-1] * 1023 + [1, -1, 1, 1, -1, 1, 1]
    acc = FrArray.from_ints([R - 1 if i % 2 else 0 for i in range(n)])
    with use_kernel(kernel):
        streams = [prg.mask_stream(s, n, start=start).to_ints() for s in seeds]
        got = prg.accumulate_masks(acc, seeds, signs, start=start)
    assert got.to_ints() == _signed_sum(acc.to_ints(), streams, signs)


@KERNEL_PARAM
@pytest.mark.parametrize("sign_set", ["all+", "all-", "mixed"])
def test_accumulate_long_range(kernel: tuple[str, int], sign_set: str) -> None:
    """k = 10 over tens of blocks, from an unaligned start to an unaligned end, against Python
    ints: enough elements for the reductions' rare cases (a quotient estimate one short)."""
    rng = np.random.default_rng(143)
    k, n, start = 10, 20_000, 517
    seeds = [rng.bytes(32) for _ in range(k)]
    signs = {"all+": [1] * k, "all-": [-1] * k, "mixed": [1, -1] * (k // 2)}[sign_set]
    acc = FrArray.from_ints([int.from_bytes(rng.bytes(32), "little") % R for _ in range(n)])
    with use_kernel(kernel):
        streams = [prg.mask_stream(s, n, start=start).to_ints() for s in seeds]
        got = prg.accumulate_masks(acc, seeds, signs, start=start)
    assert got.to_ints() == _signed_sum(acc.to_ints(), streams, signs)


# ---- rejected inputs ----
@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_seeds(backend: str) -> None:
    with use_backend(backend):
        for seed in (bytes(31), bytes(33), b"", "0" * 32, list(range(32))):
            with pytest.raises(LengthError):
                prg.mask_stream(seed, 4)  # type: ignore[arg-type]
            with pytest.raises(LengthError):
                prg.accumulate_masks(FrArray.zeros(4), [bytes(32), seed], [1, 1])  # type: ignore[list-item]
        assert prg.mask_stream(bytearray(32), 3) == prg.mask_stream(bytes(32), 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_ranges(backend: str) -> None:
    with use_backend(backend):
        for n, start in ((-1, 0), (3, -1), (1.0, 0), (True, 0), (2, 2**64 - 2), (0, 2**64)):
            with pytest.raises(InputError):
                prg.mask_stream(bytes(32), n, start=start)  # type: ignore[arg-type]
        with pytest.raises(InputError):
            prg.accumulate_masks(FrArray.zeros(3), [bytes(32)], [1], start=2**64 - 3)
        assert len(prg.mask_stream(bytes(32), 0)) == 0
        assert len(prg.mask_stream(bytes(32), 1, start=2**64 - 2)) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_bad_signs_and_accumulators(backend: str) -> None:
    acc = FrArray.from_ints([1, 2, 3])
    with use_backend(backend):
        for signs in ([0], [2], [True], [1.0], [-2]):
            with pytest.raises(InputError):
                prg.accumulate_masks(acc, [bytes(32)], signs)  # type: ignore[arg-type]
        with pytest.raises(LengthError):
            prg.accumulate_masks(acc, [bytes(32)], [1, -1])
        with pytest.raises(InputError):
            prg.accumulate_masks([1, 2, 3], [bytes(32)], [1])  # type: ignore[arg-type]
        assert prg.accumulate_masks(acc, [], []) == acc
        assert prg.accumulate_masks(acc, [bytes(32)], [np.int8(-1)]) == acc - prg.mask_stream(bytes(32), 3)


@pytest.mark.parametrize("variant", native.available_variants())
def test_native_rejects_bad_arguments_and_leaves_acc(variant: str) -> None:
    mod = native.load(variant)
    ffi, lib = mod.ffi, mod.lib
    acc = np.arange(8, dtype=np.uint64).reshape(2, 4)
    before = acc.copy()
    keys = bytes(64)
    for signs in ([1, 0], [1, 2], [-1, -128]):
        sign_arr = np.array(signs, dtype=np.int8)
        rc = lib.zkagg_prg_fr_accumulate(ffi.from_buffer("uint64_t[]", acc), keys,
                                         ffi.from_buffer("int8_t[]", sign_arr), 2, 0, 2)
        assert rc == -2 and np.array_equal(acc, before)
    bad = before.copy()
    bad[1] = [2**64 - 1] * 4  # not below r
    rc = lib.zkagg_prg_fr_accumulate(ffi.from_buffer("uint64_t[]", bad), keys,
                                     ffi.from_buffer("int8_t[]", np.ones(2, dtype=np.int8)), 2, 0, 2)
    assert rc == -2 and bad[1, 0] == 2**64 - 1
    out = np.zeros((2, 4), dtype=np.uint64)
    assert lib.zkagg_prg_fr(ffi.from_buffer("uint64_t[]", out), keys[:32], 2**64 - 2, 2) == -2
    assert lib.zkagg_prg_fr(ffi.from_buffer("uint64_t[]", out), keys[:32], 2**64 - 3, 2) == 0

