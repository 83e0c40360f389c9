"""Powers of tau: the snarkjs .ptau format byte for byte, contributions, beacon, verification,
and every kind of bad or degenerate file refused by name."""

from __future__ import annotations

import hashlib
import random
import struct
from dataclasses import replace
from pathlib import Path

import pytest

from zkagg.bn254 import FR_MODULUS, G1Array
from zkagg.bn254.curve import G2_B
from zkagg.ceremony import phase1, ptau
from zkagg.ceremony.blake2b import Blake2b512, _compress_reference
from zkagg.ceremony.contribution_key import (
    ChaCha,
    SecretFactors,
    _f2_is_square,
    _f2_mul,
    _f2_sqrt,
    create_key,
)
from zkagg.ceremony.encoding import MONT_R, Q
from zkagg.ceremony.ptau import DegenerateSetupError, PtauFormatError
from zkagg.errors import InputError, NotInSubgroupError, NotOnCurveError, SetupError, ZkaggError
from zkagg.groth16.qap import roots_of_unity

VEC = Path(__file__).parent / "vectors" / "ptau"
FILES = ["pot8_0", "pot8_1", "pot8_b", "pot8_final"]


def raw(name: str) -> bytes:
    return (VEC / f"{name}.ptau").read_bytes()


@pytest.fixture(scope="module")
def snarkjs_b() -> ptau.Ptau:
    return ptau.parse(raw("pot8_b"))


@pytest.fixture(scope="module")
def ours() -> ptau.Ptau:
    return phase1.contribute(phase1.new(8), "zkagg", rng=random.Random(1))


def sections(data: bytes) -> dict[int, tuple[int, int]]:
    return {k: (o, n) for k, o, n in ptau.read_sections(memoryview(data), "t", b"ptau")}


# ---- format ----

@pytest.mark.parametrize("name", FILES)
def test_snarkjs_files_round_trip_byte_for_byte(name: str) -> None:
    data = raw(name)
    assert ptau.to_bytes(ptau.parse(data, initial_ok=name == "pot8_0")) == data


def test_new_is_snarkjs_new() -> None:
    assert ptau.to_bytes(phase1.new(8)) == raw("pot8_0")


def test_prepare_phase2_is_snarkjs_prepare(snarkjs_b: ptau.Ptau) -> None:
    assert ptau.to_bytes(ptau.prepare_phase2(snarkjs_b)) == raw("pot8_final")


def test_prefix_reader(tmp_path: Path, snarkjs_b: ptau.Ptau) -> None:
    path = VEC / "pot8_final.ptau"
    assert ptau.read_tau_g1_prefix(path, 20) == snarkjs_b.tau_g1[:20]
    with pytest.raises(PtauFormatError, match="asked for 512 powers"):
        ptau.read_tau_g1_prefix(path, 512)
    with pytest.raises(DegenerateSetupError):
        ptau.read_tau_g1_prefix(VEC / "pot8_0.ptau", 4)


# ---- verification of snarkjs's transcripts, and of ours ----

@pytest.mark.parametrize("name", ["pot8_1", "pot8_b", "pot8_final"])
def test_snarkjs_transcripts_verify(name: str) -> None:
    phase1.verify(ptau.parse(raw(name)))  # pot8_b recomputes snarkjs's beacon key


def test_contribute_and_beacon_verify(ours: ptau.Ptau) -> None:
    phase1.verify(ours)
    final = phase1.beacon(ours, bytes(range(32)), 10, "beacon")
    phase1.verify(final)
    again = ptau.parse(ptau.to_bytes(final))
    assert again == final
    phase1.verify(again)
    assert [c.name for c in final.contributions] == ["zkagg", "beacon"]


def test_contribution_does_not_modify_its_input(snarkjs_b: ptau.Ptau) -> None:
    before = ptau.to_bytes(snarkjs_b)
    after = phase1.contribute(snarkjs_b, "third", rng=random.Random(2))
    assert ptau.to_bytes(snarkjs_b) == before
    phase1.verify(after)
    assert after.tau_g1 != snarkjs_b.tau_g1


def _general_path(ptau_in: ptau.Ptau, seed: int, monkeypatch: pytest.MonkeyPatch) -> bytes:
    with monkeypatch.context() as m:
        m.setattr(phase1, "_common_point", lambda points: None)  # variable base everywhere
        return ptau.to_bytes(phase1.contribute(ptau_in, "x", rng=random.Random(seed)))


def test_first_contribution_by_fixed_base_equals_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = phase1.new(6)
    fast = phase1.contribute(fresh, "x", rng=random.Random(5))
    phase1.verify(fast)
    assert ptau.to_bytes(fast) == _general_path(fresh, 5, monkeypatch)


def test_a_section_with_one_other_point_takes_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # one point off the common base, anywhere in a section, must not be multiplied as the base
    fresh = phase1.new(6)
    for section, i in (("tau_g1", 100), ("tau_g2", 63), ("alpha_tau_g1", 1), ("beta_tau_g1", 40)):
        arr = getattr(fresh, section)
        limbs = arr.limbs.copy()
        limbs[i] = (arr[0] + arr[0])._limbs()
        odd = replace(fresh, **{section: type(arr)._trusted(limbs)})
        assert phase1._common_point(getattr(odd, section)) is None
        fast = ptau.to_bytes(phase1.contribute(odd, "x", rng=random.Random(6)))
        assert fast == _general_path(odd, 6, monkeypatch), section


def test_first_contribution_prepares_the_same_sections_as_the_group_dft() -> None:
    fresh = phase1.new(6)
    prepared = phase1.contribute(fresh, "x", rng=random.Random(7), prepare=True)
    slow = ptau.prepare_phase2(phase1.contribute(fresh, "x", rng=random.Random(7)))
    assert ptau.to_bytes(prepared) == ptau.to_bytes(slow)
    ptau.parse(ptau.to_bytes(prepared))  # check_prepared accepts it


def test_prepare_needs_a_fresh_file(snarkjs_b: ptau.Ptau) -> None:
    with pytest.raises(InputError, match="fresh file"):
        phase1.contribute(snarkjs_b, "x", rng=random.Random(8), prepare=True)


def test_uncontributed_file_is_refused() -> None:
    with pytest.raises(DegenerateSetupError, match="tau\\^1 = 1"):
        ptau.parse(raw("pot8_0"))
    with pytest.raises(SetupError, match="no contribution"):
        phase1.verify(ptau.parse(raw("pot8_0"), initial_ok=True))


# ---- tampering: each check has teeth (the untampered file passes above) ----

def test_a_replaced_power_fails_the_consistency_check(ours: ptau.Ptau) -> None:
    pts = list(ours.tau_g1)
    pts[7] = pts[7] * 2
    bad = replace(ours, tau_g1=G1Array.from_points(pts))
    with pytest.raises(SetupError, match="tauG1: the points are not successive powers"):
        phase1.verify(bad)


@pytest.mark.parametrize("section", ["tau_g2", "alpha_tau_g1", "beta_tau_g1"])
def test_every_section_is_checked(ours: ptau.Ptau, section: str) -> None:
    arr = getattr(ours, section)
    pts = list(arr)
    pts[-1] = pts[-1] + pts[-2]
    with pytest.raises(SetupError, match="not successive powers"):
        phase1.verify(replace(ours, **{section: type(arr).from_points(pts)}))


def test_a_forged_proof_of_knowledge_fails(ours: ptau.Ptau) -> None:
    c = ours.contributions[0]
    forged_tau = replace(c.key.tau, g2_spx=c.key.tau.g2_spx * 2)
    bad = replace(ours, contributions=(replace(c, key=replace(c.key, tau=forged_tau)),))
    with pytest.raises(SetupError, match="proof of knowledge of tau"):
        phase1.verify(bad)


def test_a_broken_hash_chain_fails(ours: ptau.Ptau) -> None:
    c = ours.contributions[0]
    bad = replace(ours, contributions=(replace(c, next_challenge=bytes(64)),))
    with pytest.raises(SetupError, match="challenge hash does not match"):
        phase1.verify(bad)


def test_a_contribution_made_for_another_challenge_fails(snarkjs_b: ptau.Ptau) -> None:
    # a key bound to the wrong challenge (a replayed contribution) fails its proof of knowledge
    factors, key = create_key(bytes(64), ChaCha([1] * 8))
    forged = phase1._apply(snarkjs_b, factors, key, phase1.last_challenge(snarkjs_b), "replay", None)
    with pytest.raises(SetupError, match="contribution 3 \\(replay\\): the proof of knowledge"):
        phase1.verify(forged)
    # control: the same factors bound to the right challenge verify
    factors, key = create_key(phase1.last_challenge(snarkjs_b), ChaCha([1] * 8))
    phase1.verify(phase1._apply(snarkjs_b, factors, key, phase1.last_challenge(snarkjs_b), "ok", None))


def test_a_beacon_with_another_seed_fails(snarkjs_b: ptau.Ptau) -> None:
    last = snarkjs_b.contributions[-1]
    bad = replace(snarkjs_b, contributions=(*snarkjs_b.contributions[:-1], replace(last, beacon_hash=b"\x00" * 32)))
    with pytest.raises(SetupError, match="beacon key is not the one"):
        phase1.verify(bad)


# ---- degenerate material ----

@pytest.mark.parametrize("order", [2, 4, 256, 512])
def test_tau_in_a_domain_is_refused(order: int) -> None:
    fresh = phase1.new(8)  # tau = 1: the contribution's factor becomes tau itself
    omega = roots_of_unity(order)[1]
    factors, key = create_key(phase1.last_challenge(fresh), ChaCha([3] * 8))
    bad = phase1._apply(fresh, SecretFactors(omega, factors.alpha, factors.beta), key,
                        phase1.last_challenge(fresh), "", None)
    with pytest.raises(DegenerateSetupError, match=f"tau\\^{order} = 1"):
        ptau.parse(ptau.to_bytes(bad))
    # control: a tau outside every small subgroup passes the same parser
    good = phase1._apply(fresh, factors, key, phase1.last_challenge(fresh), "", None)
    ptau.parse(ptau.to_bytes(good))


def test_tau_zero_is_refused() -> None:
    fresh = phase1.new(8)
    factors, key = create_key(phase1.last_challenge(fresh), ChaCha([3] * 8))
    bad = phase1._apply(fresh, SecretFactors(0, factors.alpha, factors.beta), key, b"", "", None)
    with pytest.raises(DegenerateSetupError, match="infinity"):
        ptau.parse(ptau.to_bytes(bad))


def _lem(v: int) -> bytes:
    return (v * MONT_R % Q).to_bytes(32, "little")


def _twist_point_outside_subgroup() -> bytes:
    x0 = 1
    while True:
        x = (x0, 1)
        x3 = _f2_mul(_f2_mul(x, x), x)
        rhs = ((x3[0] + G2_B[0]) % Q, (x3[1] + G2_B[1]) % Q)
        if _f2_is_square(rhs):
            y = _f2_sqrt(rhs)
            assert _f2_mul(y, y) == rhs
            return _lem(x[0]) + _lem(x[1]) + _lem(y[0]) + _lem(y[1])
        x0 += 1


def _patch(data: bytes, section: int, index: int, size: int, new: bytes) -> bytes:
    off = sections(data)[section][0] + index * size
    return data[:off] + new + data[off + size :]


def test_point_off_the_curve_is_refused() -> None:
    data = raw("pot8_1")
    off = sections(data)[2][0] + 5 * 64
    bad = data[:off] + bytes([data[off] ^ 1]) + data[off + 1 :]
    with pytest.raises(PtauFormatError, match="not on the G1 curve"):
        ptau.parse(bad)
    assert isinstance(NotOnCurveError("x"), ZkaggError)


def test_g2_point_outside_the_subgroup_is_refused() -> None:
    bad = _patch(raw("pot8_1"), 3, 9, 128, _twist_point_outside_subgroup())
    with pytest.raises(PtauFormatError, match="not in the order-r subgroup"):
        ptau.parse(bad)
    assert issubclass(NotInSubgroupError, ZkaggError)


def test_non_canonical_coordinate_is_refused() -> None:
    bad = _patch(raw("pot8_1"), 2, 3, 64, (Q + 1).to_bytes(32, "little") + bytes(32))
    with pytest.raises(PtauFormatError, match="coordinate >= q"):
        ptau.parse(bad)


def test_truncated_file_is_refused() -> None:
    data = raw("pot8_1")
    for cut in (3, 11, 40, len(data) // 2, len(data) - 1):
        with pytest.raises(PtauFormatError):
            ptau.parse(data[:cut])


def test_reordered_sections_are_refused() -> None:
    data = raw("pot8_1")
    secs = ptau.read_sections(memoryview(data), "t", b"ptau")
    chunks = {k: data[o - 12 : o + n] for k, o, n in secs}
    order = [1, 2, 4, 3, 5, 6, 7]
    bad = data[:12] + b"".join(chunks[k] for k in order)
    with pytest.raises(PtauFormatError, match="in order"):
        ptau.parse(bad)


def test_wrong_power_is_refused() -> None:
    data = raw("pot8_1")
    off = sections(data)[1][0] + 36
    bad = data[:off] + struct.pack("<II", 9, 9) + data[off + 8 :]
    with pytest.raises(PtauFormatError, match="section 2 is 32704 bytes; power 9"):
        ptau.parse(bad)


def test_wrong_field_is_refused() -> None:
    data = raw("pot8_1")
    off = sections(data)[1][0] + 4
    goldilocks = (2**64 - 2**32 + 1).to_bytes(32, "little")
    with pytest.raises(PtauFormatError, match="wrong field"):
        ptau.parse(data[:off] + goldilocks + data[off + 32 :])


def test_bad_lagrange_section_is_refused() -> None:
    data = raw("pot8_final")
    secs = sections(data)
    a = data[secs[14][0] + 3 * 64 : secs[14][0] + 4 * 64]
    b = data[secs[14][0] + 4 * 64 : secs[14][0] + 5 * 64]
    swapped = _patch(_patch(data, 14, 3, 64, b), 14, 4, 64, a)
    with pytest.raises(PtauFormatError, match="section 14, block 2\\^2"):
        ptau.parse(swapped)


def test_save_leaves_nothing_half_written(tmp_path: Path, ours: ptau.Ptau) -> None:
    target = tmp_path / "out.ptau"
    ptau.save(ours, target)
    assert ptau.parse(target.read_bytes()) == ours
    assert [p.name for p in tmp_path.iterdir()] == ["out.ptau"]
    with pytest.raises(PtauFormatError, match="cannot write"):
        ptau.save(ours, tmp_path / "missing-dir" / "x.ptau")


# ---- primitives ----

def test_blake2b_midstate_resumes(tmp_path: Path) -> None:
    rnd = random.Random(5)
    for n in (0, 1, 127, 128, 129, 1000, 70000):
        data = rnd.randbytes(n)
        h = Blake2b512().update(data[: n // 3]).update(data[n // 3 :])
        assert h.digest() == hashlib.blake2b(data).digest()
        resumed = Blake2b512.from_partial_state(h.partial_state()).update(b"tail")
        assert resumed.digest() == hashlib.blake2b(data + b"tail").digest()


def test_blake2b_native_matches_reference() -> None:
    from zkagg.bn254 import native_module

    mod = native_module()
    assert mod is not None
    import numpy as np

    block = bytes(range(128))
    h_ref = [i * 0x0101010101010101 for i in range(8)]
    h_nat = np.array(h_ref, dtype=np.uint64)
    _compress_reference(h_ref, block, 256, True)
    mod.lib.zkagg_blake2b_compress(mod.ffi.from_buffer("uint64_t[]", h_nat), mod.ffi.from_buffer(block), 1, 128, 1)
    assert [int(x) for x in h_nat] == h_ref


def test_chacha_matches_rfc_7539_block() -> None:
    # RFC 7539 2.3.2 uses a nonce; with key 0 and nonce 0 the first word is the classic 0xade0b876
    assert ChaCha([0] * 8).next_u32() == 0xADE0B876


def test_secret_factors_are_fr_elements() -> None:
    f, _ = create_key(bytes(64), ChaCha([7] * 8))
    assert all(0 < x < FR_MODULUS for x in (f.tau, f.alpha, f.beta))
