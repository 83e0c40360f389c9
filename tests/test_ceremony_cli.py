"""`zkagg ptau ...` and `zkagg groth16 ...`: the whole flow on small files, and every bad file
ends in one `zkagg: error:` line with a non-zero exit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from zkagg.cli import main

VEC = Path(__file__).parent / "vectors"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_ptau_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p0, p1, p2 = (str(tmp_path / f"p{i}.ptau") for i in range(3))
    assert run(capsys, "ptau", "new", "8", p0)[0] == 0
    assert run(capsys, "ptau", "verify", p0)[0] == 2  # uncontributed: refused
    assert run(capsys, "ptau", "contribute", p0, p1, "--name", "me")[0] == 0
    assert run(capsys, "ptau", "beacon", p1, p2, "ab" * 32, "10", "--name", "b")[0] == 0
    code, out, _ = run(capsys, "ptau", "verify", p2)
    assert code == 0 and "powers of tau OK (power 8, 2 contributions" in out
    code, _, _ = run(capsys, "ptau", "export", p2, str(tmp_path / "p.json"), "--powers", "5")
    assert code == 0 and len(json.loads((tmp_path / "p.json").read_text())["tauG1"]) == 5
    assert run(capsys, "ptau", "import", str(VEC / "ptau" / "pot8_b.ptau"), str(tmp_path / "imp.ptau"))[0] == 0


def test_ptau_contribute_prepare(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p0, p1, p2 = (str(tmp_path / f"q{i}.ptau") for i in range(3))
    assert run(capsys, "ptau", "new", "6", p0)[0] == 0
    code, out, _ = run(capsys, "ptau", "contribute", p0, p1, "--prepare")
    assert code == 0 and "prepared for phase 2" in out
    code, out, _ = run(capsys, "ptau", "verify", p1)
    assert code == 0 and "prepared for phase 2" in out
    code, _, err = run(capsys, "ptau", "contribute", p1, p2, "--prepare")  # not fresh: refused
    assert code == 2 and "fresh file" in err and err.count("\n") == 1
    assert not Path(p2).exists()


def test_groth16_flow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    r1cs, pot, wtns = str(VEC / "zkey" / "st.r1cs"), str(VEC / "ptau" / "pot8_final.ptau"), str(VEC / "zkey" / "st.wtns")
    z0, z1 = str(tmp_path / "z0.zkey"), str(tmp_path / "z1.zkey")
    assert run(capsys, "groth16", "setup", r1cs, pot, z0)[0] == 0
    code, _, err = run(capsys, "groth16", "prove", r1cs, z0, wtns, str(tmp_path / "p.json"), str(tmp_path / "x.json"))
    assert code == 2 and "delta = ±1" in err  # an uncontributed key is refused
    assert run(capsys, "groth16", "contribute", z0, z1, "--name", "me")[0] == 0
    assert run(capsys, "groth16", "verify-setup", r1cs, pot, z1)[0] == 0
    proof, public = str(tmp_path / "proof.json"), str(tmp_path / "public.json")
    assert run(capsys, "groth16", "prove", r1cs, z1, wtns, proof, public)[0] == 0
    assert json.loads(Path(public).read_text()) == ["9", "15", "31"]
    assert run(capsys, "groth16", "verify", z1, public, proof)[0] == 0
    assert run(capsys, "groth16", "export-vk", z1, str(tmp_path / "vk.json"))[0] == 0
    assert run(capsys, "groth16", "verify", str(tmp_path / "vk.json"), public, proof)[0] == 0
    Path(public).write_text('["9", "15", "32"]')
    code, out, _ = run(capsys, "groth16", "verify", z1, public, proof)
    assert code == 1 and "INVALID" in out


def test_a_bare_key_needs_the_insecure_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from zkagg.circuit.circom import read_r1cs
    from zkagg.groth16 import insecure_single_party_setup

    r1cs = str(VEC / "zkey" / "st.r1cs")
    key = tmp_path / "key.bin"
    key.write_bytes(insecure_single_party_setup(read_r1cs(r1cs)).to_bytes())
    args = ["groth16", "prove", r1cs, str(key), str(VEC / "zkey" / "st.wtns"), str(tmp_path / "p.json"),
            str(tmp_path / "x.json")]
    code, _, err = run(capsys, *args)
    assert code == 2 and "verifiable transcript" in err
    assert run(capsys, *args, "--insecure-single-party-setup")[0] == 0


@pytest.mark.parametrize("cut", [0, 10, 100, 4000])
def test_every_bad_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], cut: int) -> None:
    bad_ptau = tmp_path / "bad.ptau"
    bad_ptau.write_bytes((VEC / "ptau" / "pot8_1.ptau").read_bytes()[:cut])
    bad_zkey = tmp_path / "bad.zkey"
    bad_zkey.write_bytes((VEC / "zkey" / "st_b.zkey").read_bytes()[:cut])
    bad_r1cs = tmp_path / "bad.r1cs"
    bad_r1cs.write_bytes((VEC / "zkey" / "st.r1cs").read_bytes()[: cut // 20])
    shutil.copy(VEC / "zkey" / "st.wtns", tmp_path / "w.wtns")
    cases = [
        ["ptau", "verify", str(bad_ptau)],
        ["ptau", "contribute", str(bad_ptau), str(tmp_path / "out.ptau")],
        ["groth16", "verify-setup", str(VEC / "zkey" / "st.r1cs"), str(VEC / "ptau" / "pot8_final.ptau"), str(bad_zkey)],
        ["groth16", "setup", str(bad_r1cs), str(VEC / "ptau" / "pot8_final.ptau"), str(tmp_path / "o.zkey")],
        ["groth16", "verify", str(bad_zkey), str(tmp_path / "missing.json"), str(tmp_path / "missing.json")],
        ["ptau", "verify", str(tmp_path / "does-not-exist.ptau")],
    ]
    for argv in cases:
        code, _, err = run(capsys, *argv)
        lines = err.strip().splitlines()
        assert code != 0 and len(lines) == 1 and lines[0].startswith("zkagg: error: "), (argv, err)
    assert not (tmp_path / "out.ptau").exists() and not (tmp_path / "o.zkey").exists()
