"""Phase 2 from a ptau and the snarkjs .zkey format: zkagg's setup is snarkjs's byte for byte,
contributions chain both ways, keys prove in both directions, and bad keys are refused."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from pathlib import Path

import pytest

from zkagg.ceremony import phase2, ptau, zkey
from zkagg.ceremony.zkey import ZkeyFormatError
from zkagg.circuit import R1CS
from zkagg.circuit.circom import read_r1cs, read_wtns
from zkagg.errors import SetupError
from zkagg.groth16 import DegenerateSetupError, Proof, ProvingKey, prove, verify

VEC = Path(__file__).parent / "vectors"


@pytest.fixture(scope="module")
def r1cs() -> R1CS:
    return read_r1cs(VEC / "zkey" / "st.r1cs")


@pytest.fixture(scope="module")
def pot() -> ptau.Ptau:
    return ptau.load(VEC / "ptau" / "pot8_final.ptau")


@pytest.fixture(scope="module")
def ours(r1cs: R1CS, pot: ptau.Ptau) -> zkey.Zkey:
    return phase2.contribute(phase2.setup(r1cs, pot), "zkagg", rng=random.Random(4))


def raw(name: str) -> bytes:
    return (VEC / "zkey" / f"{name}.zkey").read_bytes()


@pytest.mark.parametrize("name", ["st_0", "st_1", "st_b"])
def test_snarkjs_zkeys_round_trip_byte_for_byte(name: str) -> None:
    assert zkey.to_bytes(zkey.parse(raw(name))) == raw(name)


def test_setup_is_snarkjs_setup(r1cs: R1CS, pot: ptau.Ptau) -> None:
    assert zkey.to_bytes(phase2.setup(r1cs, pot)) == raw("st_0")


def test_setup_without_prepared_sections_gives_the_same_key(r1cs: R1CS, pot: ptau.Ptau) -> None:
    bare = replace(pot, prepared=None)  # Lagrange bases computed by group DFTs instead
    assert zkey.to_bytes(phase2.setup(r1cs, bare)) == raw("st_0")


def test_snarkjs_transcript_verifies(r1cs: R1CS, pot: ptau.Ptau) -> None:
    phase2.verify(zkey.parse(raw("st_b")), r1cs, pot)  # contribution + beacon recomputed


def test_our_contributions_verify_and_prove(r1cs: R1CS, pot: ptau.Ptau, ours: zkey.Zkey) -> None:
    phase2.verify(ours, r1cs, pot)
    final = phase2.beacon(ours, b"\x07" * 32, 10, "beacon")
    phase2.verify(final, r1cs, pot)
    w = read_wtns(VEC / "zkey" / "st.wtns")
    pk = final.proving_key()
    proof = prove(pk, r1cs, w, rng=random.Random(1))
    assert verify(final.verifying_key(), w[1:4].to_ints(), proof)
    assert ProvingKey.from_bytes(pk.to_bytes()) == pk


def test_snarkjs_proof_verifies_and_zkagg_proves_with_the_snarkjs_key(r1cs: R1CS) -> None:
    zk = zkey.parse(raw("st_b"))
    proof = Proof.from_snarkjs(json.loads((VEC / "zkey" / "proof.json").read_text()))
    public = [int(x) for x in json.loads((VEC / "zkey" / "public.json").read_text())]
    assert verify(zk.verifying_key(), public, proof)
    assert not verify(zk.verifying_key(), [public[0], public[1], public[2] + 1], proof)
    w = read_wtns(VEC / "zkey" / "st.wtns")
    assert verify(zk.verifying_key(), public, prove(zk.proving_key(), r1cs, w))


def test_uncontributed_key_is_refused(r1cs: R1CS, pot: ptau.Ptau) -> None:
    init = zkey.parse(raw("st_0"))
    with pytest.raises(DegenerateSetupError, match="delta = ±1"):
        init.proving_key()
    with pytest.raises(SetupError, match="no phase-2 contribution"):
        phase2.verify(init, r1cs, pot)


def test_tampered_transcripts_fail(r1cs: R1CS, pot: ptau.Ptau, ours: zkey.Zkey) -> None:
    c = ours.contributions[0]
    cases = {
        "transcript hash does not chain": replace(ours, contributions=(replace(c, transcript=bytes(64)),)),
        "proof of knowledge": replace(ours, contributions=(replace(c, g2_spx=c.g2_spx * 2),)),
        "delta_g1 is not the last": replace(ours, delta_g1=ours.delta_g1 * 2),
        "the C query": replace(ours, c=ours.c.scalar_mul(ptau_scalars(len(ours.c)))),
        "the H query": replace(ours, h=ours.h.scalar_mul(ptau_scalars(len(ours.h)))),
        "A differs": replace(ours, a=ours.b1),
        "circuit hash differs": replace(ours, cs_hash=bytes(64)),
    }
    for match, bad in cases.items():
        with pytest.raises(SetupError, match=match):
            phase2.verify(bad, r1cs, pot)


def ptau_scalars(n: int):  # type: ignore[no-untyped-def]
    from zkagg.bn254 import FrArray

    return FrArray.from_ints([2] * n)


def test_bad_files_are_refused() -> None:
    data = raw("st_b")
    for cut in (3, 20, len(data) // 2, len(data) - 1):
        with pytest.raises(ZkeyFormatError):
            zkey.parse(data[:cut])
    with pytest.raises(ZkeyFormatError, match="not a zkey"):
        zkey.parse(b"ptau" + data[4:])
    secs = ptau.read_sections(memoryview(data), "t", b"zkey")
    off2 = dict((k, o) for k, o, _ in secs)[2]
    goldilocks = (2**64 - 2**32 + 1).to_bytes(32, "little")
    with pytest.raises(ZkeyFormatError, match="wrong field"):
        zkey.parse(data[: off2 + 4] + goldilocks + data[off2 + 36 :])
    off5 = dict((k, o) for k, o, _ in secs)[5]
    flipped = data[: off5 + 3] + bytes([data[off5 + 3] ^ 1]) + data[off5 + 4 :]
    with pytest.raises(ZkeyFormatError, match="not on the G1 curve"):
        zkey.parse(flipped)
