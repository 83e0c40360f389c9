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


def test_snarkjs_rejects_a_tampered_zkagg_file(tmp_path: Path) -> None:
    # negative control for the harness: a wrong challenge hash makes snarkjs fail too
    good = phase1.contribute(phase1.new(8), "zkagg", rng=random.Random(12))
    c = good.contributions[0]
    bad = replace(good, contributions=(replace(c, next_challenge=bytes(64)),))
    ptau.save(bad, tmp_path / "bad.ptau")
    assert not snarkjs_ok("powersoftau", "verify", str(tmp_path / "bad.ptau"))
