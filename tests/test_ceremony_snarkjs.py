"""Round trips through the snarkjs CLI (the pinned npm peer): snarkjs accepts what zkagg makes
and zkagg accepts what snarkjs makes, on top of each other."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest

from zkagg.bench import npm
from zkagg.ceremony import phase1, ptau

pytestmark = pytest.mark.slow


def snarkjs_ok(*args: str) -> bool:
    try:
        npm.snarkjs(*args, timeout=600)
    except npm.NodeUnavailableError as err:
        if "failed" not in str(err):
            pytest.skip(str(err))
        return False
    return True


def test_snarkjs_verifies_zkagg_contributions_and_zkagg_verifies_snarkjs(tmp_path: Path) -> None:
    first = phase1.contribute(phase1.new(8), "zkagg one", rng=random.Random(11))
    ptau.save(first, tmp_path / "z1.ptau")
    assert snarkjs_ok("powersoftau", "verify", str(tmp_path / "z1.ptau"))
    assert snarkjs_ok("powersoftau", "contribute", str(tmp_path / "z1.ptau"), str(tmp_path / "s2.ptau"),
                      "--name=snarkjs two", "-e=entropy for the test")
    second = ptau.load(tmp_path / "s2.ptau")
    phase1.verify(second)
    final = phase1.beacon(second, bytes.fromhex("ab" * 32), 10, "zkagg beacon")
    final = ptau.prepare_phase2(final)
    ptau.save(final, tmp_path / "final.ptau")
    assert snarkjs_ok("powersoftau", "verify", str(tmp_path / "final.ptau"))


def test_snarkjs_verifies_a_first_contribution_prepared_by_fixed_base(tmp_path: Path) -> None:
    first = phase1.contribute(phase1.new(8), "zkagg prepared", rng=random.Random(13), prepare=True)
    ptau.save(first, tmp_path / "p1.ptau")
    assert snarkjs_ok("powersoftau", "verify", str(tmp_path / "p1.ptau"))  # sections 12-15 included
    # negative control: snarkjs does check section 12 (two Lagrange points of a block swapped)
    assert first.prepared is not None
    limbs = first.prepared.tau_g1.limbs.copy()
    limbs[[300, 301]] = limbs[[301, 300]]
    bad = replace(first, prepared=replace(first.prepared, tau_g1=type(first.prepared.tau_g1)._trusted(limbs)))
    ptau.save(bad, tmp_path / "bad.ptau")
    assert not snarkjs_ok("powersoftau", "verify", str(tmp_path / "bad.ptau"))


def test_snarkjs_rejects_a_tampered_zkagg_file(tmp_path: Path) -> None:
    # negative control for the harness: a wrong challenge hash makes snarkjs fail too
    good = phase1.contribute(phase1.new(8), "zkagg", rng=random.Random(12))
    c = good.contributions[0]
    bad = replace(good, contributions=(replace(c, next_challenge=bytes(64)),))
    ptau.save(bad, tmp_path / "bad.ptau")
    assert not snarkjs_ok("powersoftau", "verify", str(tmp_path / "bad.ptau"))


def test_snarkjs_accepts_a_zkagg_zkey_and_proves_with_it(tmp_path: Path) -> None:
    import json

    from zkagg.ceremony import phase2, zkey
    from zkagg.circuit.circom import read_r1cs
    from zkagg.groth16 import Proof, verify

    vec = Path(__file__).parent / "vectors"
    r1cs = read_r1cs(vec / "zkey" / "st.r1cs")
    pot = ptau.load(vec / "ptau" / "pot8_final.ptau")
    zk = phase2.contribute(phase2.setup(r1cs, pot), "zkagg", rng=random.Random(8))
    zk = phase2.beacon(zk, bytes.fromhex("cd" * 32), 10, "zkagg beacon")  # snarkjs recomputes it
    zkey.save(zk, tmp_path / "z.zkey")
    assert snarkjs_ok("zkey", "verify", str(vec / "zkey" / "st.r1cs"), str(vec / "ptau" / "pot8_final.ptau"),
                      str(tmp_path / "z.zkey"))
    assert snarkjs_ok("groth16", "prove", str(tmp_path / "z.zkey"), str(vec / "zkey" / "st.wtns"),
                      str(tmp_path / "proof.json"), str(tmp_path / "public.json"))
    proof = Proof.from_snarkjs(json.loads((tmp_path / "proof.json").read_text()))
    public = [int(x) for x in json.loads((tmp_path / "public.json").read_text())]
    assert verify(zk.verifying_key(), public, proof)
    # control: a key with a broken transcript is refused by snarkjs as well
    bad = replace(zk, contributions=(replace(zk.contributions[0], transcript=bytes(64)),))
    zkey.save(bad, tmp_path / "bad.zkey")
    assert not snarkjs_ok("zkey", "verify", str(vec / "zkey" / "st.r1cs"), str(vec / "ptau" / "pot8_final.ptau"),
                          str(tmp_path / "bad.zkey"))
