"""Bad input at the command line: every case ends in one named line on stderr and a non-zero exit,
before any long work starts (a node that is retried may print progress lines before it).

Each case is (argv, a fragment the one line must contain); files are made in a temporary folder.
Most run `main(argv)` in this process; a few run the installed console script. The negative control
(`test_the_campaign_catches_a_leak`) shows the check fails on a command that leaks a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from zkagg import cli
from zkagg.bn254 import G1Point, G2Point
from zkagg.chain.verifier import MAX_CODE_BYTES, code_size
from zkagg.groth16 import VerifyingKey


def make_vk(n_public: int) -> VerifyingKey:
    g1, g2 = G1Point.generator(), G2Point.generator()
    return VerifyingKey(g1 * 2, g2 * 3, g2 * 5, g2 * 7, tuple(g1 * (11 + i) for i in range(n_public + 1)))


def _files(tmp: Path) -> dict[str, str]:
    """Named files of the campaign, made fresh in `tmp`."""
    vk = make_vk(2)
    big = 1
    while code_size(make_vk(big)) <= MAX_CODE_BYTES:
        big *= 2
    raw = vk.to_bytes()
    off_curve = bytearray(raw)
    off_curve[12 + 31] ^= 1  # alpha.x changes: no longer on the curve
    snark = vk.to_snarkjs()
    files: dict[str, bytes] = {
        "vk.bin": raw,
        "vk.json": json.dumps(snark).encode(),
        "empty": b"",
        "not-json": b"{this is not json",
        "not-utf8": b"{\xff\xfe\x00 garbage",
        "deep.json": b'{"a": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
        "huge-int.json": b'{"protocol": "groth16", "curve": "bn128", "nPublic": 1' + b"0" * 5000 + b"}",
        "huge-coord.json": json.dumps({**snark, "vk_alpha_1": ["9" * 5000, "1", "1"]}).encode(),
        "list.json": b"[1, 2, 3]",
        "missing-keys.json": b"{}",
        "wrong-types.json": json.dumps({**snark, "IC": 5}).encode(),
        "garbage.bin": bytes(range(256)) * 4,
        "truncated.bin": raw[:-5],
        "trailing.bin": raw + b"\x00",
        "off-curve.bin": bytes(off_curve),
        "many-ic.bin": raw[:8] + (2**32 - 1).to_bytes(4, "big") + raw[12:],
        "oversized.bin": make_vk(big).to_bytes(),
        "a-file": b"x",
    }
    out = {}
    for name, data in files.items():
        (tmp / name).write_bytes(data)
        out[name] = str(tmp / name)
    (tmp / "a-folder").mkdir()
    out["a-folder"] = str(tmp / "a-folder")
    out["missing"] = str(tmp / "no-such-file")
    out["missing-folder"] = str(tmp / "no-such-folder" / "out.json")
    return out


JOB = "0x" + "11" * 32
LEDGER = "0x" + "22" * 20
DEAD = "http://127.0.0.1:9"  # discard port: nothing listens on loopback
AUDIT = ["audit", "--rpc", DEAD, "--ledger", LEDGER, "--job", JOB]

Case = tuple[str, Callable[[dict[str, str]], list[str]], str]

CASES: list[Case] = [
    # export: the key file and the output
    ("vk missing", lambda f: ["export", "solidity", f["missing"]], "does not exist"),
    ("vk is a folder", lambda f: ["export", "solidity", f["a-folder"]], "not a regular file"),
    ("vk empty", lambda f: ["export", "solidity", f["empty"]], "verifying key"),
    ("vk not json", lambda f: ["export", "solidity", f["not-json"]], "not JSON"),
    ("vk not utf-8", lambda f: ["export", "solidity", f["not-utf8"]], "not UTF-8"),
    ("vk deep nesting", lambda f: ["export", "solidity", f["deep.json"]], "nested too deeply"),
    ("vk huge integer", lambda f: ["export", "solidity", f["huge-int.json"]], "VK_FILE"),
    ("vk huge coordinate", lambda f: ["export", "solidity", f["huge-coord.json"]], "vk_alpha_1"),
    ("vk json list", lambda f: ["export", "solidity", f["list.json"]], "verifying key"),
    ("vk missing keys", lambda f: ["export", "solidity", f["missing-keys.json"]], "malformed snarkjs"),
    ("vk wrong types", lambda f: ["export", "solidity", f["wrong-types.json"]], "malformed snarkjs"),
    ("vk garbage", lambda f: ["export", "solidity", f["garbage.bin"]], "verifying key"),
    ("vk truncated", lambda f: ["export", "solidity", f["truncated.bin"]], "verifying key"),
    ("vk trailing byte", lambda f: ["export", "solidity", f["trailing.bin"]], "verifying key"),
    ("vk off curve", lambda f: ["export", "solidity", f["off-curve.bin"]], "curve"),
    ("vk absurd IC count", lambda f: ["export", "solidity", f["many-ic.bin"]], "verifying key"),
    ("vk above the code limit", lambda f: ["export", "solidity", f["oversized.bin"]], "24,576-byte"),
    ("name keyword", lambda f: ["export", "solidity", f["vk.bin"], "--name", "contract"], "keyword"),
    ("name type", lambda f: ["export", "solidity", f["vk.bin"], "--name", "uint256"], "keyword"),
    ("name global", lambda f: ["export", "solidity", f["vk.bin"], "--name", "this"], "keyword"),
    ("name digit", lambda f: ["export", "solidity", f["vk.bin"], "--name", "1Verifier"], "identifier"),
    ("name empty", lambda f: ["export", "solidity", f["vk.bin"], "--name", ""], "identifier"),
    ("name unicode", lambda f: ["export", "solidity", f["vk.bin"], "--name", "Vérifier"], "identifier"),
    ("name too long", lambda f: ["export", "solidity", f["vk.bin"], "--name", "V" * 300], "identifier"),
    ("output missing folder", lambda f: ["export", "solidity", f["vk.bin"], "-o", f["missing-folder"]],
     "does not exist"),
    ("output is a folder", lambda f: ["export", "solidity", f["vk.bin"], "-o", f["a-folder"]], "folder"),
    ("export what", lambda f: ["export", "rust", f["vk.bin"]], "invalid choice"),
    ("export no file", lambda f: ["export", "solidity"], "required"),
    # audit: numbers, ids, addresses, URLs, folders, time budgets
    ("from-block negative", lambda f: [*AUDIT, "--from-block", "-5"], "--from-block"),
    ("from-block text", lambda f: [*AUDIT, "--from-block", "abc"], "--from-block"),
    ("from-block huge", lambda f: [*AUDIT, "--from-block", "9" * 40], "--from-block"),
    ("job not hex", lambda f: ["audit", "--rpc", DEAD, "--ledger", LEDGER, "--job", "zz"], "--job"),
    ("job short", lambda f: ["audit", "--rpc", DEAD, "--ledger", LEDGER, "--job", "0x1234"], "--job"),
    ("job huge", lambda f: ["audit", "--rpc", DEAD, "--ledger", LEDGER, "--job", "1" * 10_000], "--job"),
    ("ledger not an address", lambda f: ["audit", "--rpc", DEAD, "--ledger", "0x12", "--job", JOB], "--ledger"),
    ("rpc not http", lambda f: ["audit", "--rpc", "ftp://x.y", "--ledger", LEDGER, "--job", JOB], "--rpc"),
    ("rpc nobody listens", lambda f: [*AUDIT, "--timeout", "0.5"], "connection refused"),
    ("store missing", lambda f: [*AUDIT, "--store", f["missing"]], "--store"),
    ("store is a file", lambda f: [*AUDIT, "--store", f["a-file"]], "--store"),
    ("store empty path", lambda f: [*AUDIT, "--store", ""], "--store"),
    ("timeout zero", lambda f: [*AUDIT, "--timeout", "0"], "--timeout"),
    ("timeout negative", lambda f: [*AUDIT, "--timeout", "-1"], "--timeout"),
    ("timeout nan", lambda f: [*AUDIT, "--timeout", "nan"], "--timeout"),
    ("timeout inf", lambda f: [*AUDIT, "--timeout", "inf"], "--timeout"),
    ("receipt timeout huge", lambda f: [*AUDIT, "--receipt-timeout", "1e300"], "--receipt-timeout"),
    ("audit missing job", lambda f: ["audit", "--rpc", DEAD, "--ledger", LEDGER], "required"),
    # demo: numbers and outputs, all checked before the run
    ("rounds zero", lambda f: ["demo", "--rounds", "0"], "--rounds"),
    ("rounds negative", lambda f: ["demo", "--rounds", "-3"], "--rounds"),
    ("rounds huge", lambda f: ["demo", "--rounds", "1" + "0" * 40], "--rounds"),
    ("rounds text", lambda f: ["demo", "--rounds", "five"], "--rounds"),
    ("seed negative", lambda f: ["demo", "--seed", "-1"], "--seed"),
    ("seed huge", lambda f: ["demo", "--seed", str(2**64)], "--seed"),
    ("demo json missing folder", lambda f: ["demo", "--json", f["missing-folder"]], "does not exist"),
    ("demo json is a folder", lambda f: ["demo", "--json", f["a-folder"]], "folder"),
    ("plot missing folder", lambda f: ["demo", "--plot", f["missing-folder"][:-5] + ".png"], "does not exist"),
    ("plot is a folder", lambda f: ["demo", "--plot", f["a-folder"]], "folder"),
    ("plot format", lambda f: ["demo", "--plot", f["a-file"] + ".txt"], "--plot"),
    ("memory ledger with rpc", lambda f: ["demo", "--ledger", "memory", "--rpc", DEAD], "--rpc"),
    ("ledger kind", lambda f: ["demo", "--ledger", "paper"], "invalid choice"),
    ("demo rpc not a url", lambda f: ["demo", "--rpc", "localhost"], "--rpc"),
    ("demo timeout zero", lambda f: ["demo", "--timeout", "0"], "--timeout"),
    # bench: suites, threads, options that do not apply, unreachable clusters
    ("bench suite", lambda f: ["bench", "everything"], "invalid choice"),
    ("threads zero", lambda f: ["bench", "native", "--threads", "0"], "--threads"),
    ("threads negative", lambda f: ["bench", "native", "--threads", "-2"], "--threads"),
    ("threads huge", lambda f: ["bench", "native", "--threads", "100000"], "--threads"),
    ("threads text", lambda f: ["bench", "native", "--threads", "all"], "--threads"),
    ("threads other suite", lambda f: ["bench", "prove", "--threads", "2"], "--threads"),
    ("bench json missing folder", lambda f: ["bench", "native", "--json", f["missing-folder"]], "does not exist"),
    ("bench json is a folder", lambda f: ["bench", "native", "--json", f["a-folder"]], "folder"),
    ("rpc other suite", lambda f: ["bench", "native", "--rpc", DEAD], "--rpc"),
    ("rpc bad url", lambda f: ["bench", "gas", "--rpc", "nonsense"], "--rpc"),
    ("ray unreachable", lambda f: ["bench", "round", "--ray", "127.0.0.1:1"], "does not answer"),
    ("ray malformed", lambda f: ["bench", "round", "--ray", "not an address"], "Ray address"),
    ("ray port zero", lambda f: ["bench", "round", "--ray", "127.0.0.1:0"], "Ray address"),
    ("ray other suite", lambda f: ["bench", "native", "--ray", "local"], "--ray"),
    ("load other suite", lambda f: ["bench", "gas", "--load"], "--load"),
    ("rounds fraction", lambda f: ["demo", "--rounds", "1.5"], "--rounds"),
    ("seed text", lambda f: ["demo", "--seed", "abc"], "--seed"),
    ("demo json empty path", lambda f: ["demo", "--json", ""], "--json"),
    ("ledger empty", lambda f: ["audit", "--rpc", DEAD, "--ledger", "", "--job", JOB], "--ledger"),
    ("job not hex digits", lambda f: ["audit", "--rpc", DEAD, "--ledger", LEDGER, "--job", "0x" + "g" * 64],
     "--job"),
    ("rpc without host", lambda f: ["audit", "--rpc", "http://", "--ledger", LEDGER, "--job", JOB], "--rpc"),
    ("name with space", lambda f: ["export", "solidity", f["vk.bin"], "--name", "My Verifier"], "identifier"),
    ("threads float", lambda f: ["bench", "native", "--threads", "1e3"], "--threads"),
    # the parser itself
    ("no command", lambda f: [], "required"),
    ("unknown command", lambda f: ["mine"], "invalid choice"),
    ("unknown option", lambda f: ["bench", "native", "--fast"], "unrecognized"),
    ("missing value", lambda f: ["bench", "native", "--json"], "expected one argument"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return _files(tmp_path_factory.mktemp("cli"))


def one_named_line(code: int, out: str, err: str, fragment: str) -> None:
    """The check: a non-zero exit and stderr ending in one `zkagg: error:` line, preceded at most
    by progress lines of a wait (`zkagg: waiting:`, while a node is retried)."""
    lines = err.splitlines()
    assert code != 0, f"exit 0 (stdout {out[:200]!r})"
    assert lines, "nothing on stderr"
    progress, last = lines[:-1], lines[-1]
    assert all(line.startswith("zkagg: waiting: ") for line in progress), err[:2000]
    assert last.startswith("zkagg: error: "), err[:2000]
    assert "Traceback" not in err and "internal error" not in last, last
    assert fragment in last, f"{fragment!r} not in {last!r}"


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_ends_in_one_named_line(case: Case, files: dict[str, str],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, argv, fragment = case
    started = time.monotonic()
    code = cli.main(argv(files))
    out, err = capsys.readouterr()
    one_named_line(code, out, err, fragment)
    assert time.monotonic() - started < 60, "refused only after long work"


def test_the_campaign_catches_a_leak(files: dict[str, str], capsys: pytest.CaptureFixture[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Negative control: a command whose source raises a bare KeyError fails the check (the main
    loop turns it into an 'internal error' line, which the campaign does not accept)."""
    def leaky(args: object) -> int:
        return {}["missing"]  # type: ignore[no-any-return]

    monkeypatch.setattr(cli, "_export", leaky)
    code = cli.main(["export", "solidity", files["vk.bin"]])
    out, err = capsys.readouterr()
    assert "internal error KeyError" in err
    with pytest.raises(AssertionError):
        one_named_line(code, out, err, "")


def test_good_input_still_works(files: dict[str, str], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("vk.bin", "vk.json"):
        out = tmp_path / f"{name}.sol"
        assert cli.main(["export", "solidity", files[name], "-o", str(out), "--name", "MyVerifier"]) == 0
        assert "contract MyVerifier" in out.read_text()
    assert capsys.readouterr().err == ""


def _console(*argv: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("zkagg")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "zkagg.cli"]
    return subprocess.run([*command, *argv], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", ["vk missing", "threads huge", "demo json missing folder",
                                  "ray unreachable", "no command"])
def test_console_script(name: str, files: dict[str, str]) -> None:
    (_, argv, fragment), = [c for c in CASES if c[0] == name]
    done = _console(*argv(files))
    one_named_line(done.returncode, done.stdout, done.stderr, fragment)


def test_a_folder_where_a_stored_model_should_be_is_a_store_error(tmp_path: Path) -> None:
    """`zkagg audit --store DIR` reads models through DirectoryStore: a folder in a blob's place
    (or a blob that cannot be written) is a StoreError naming the key, not an OSError."""
    from zkagg.chain.store import DirectoryStore
    from zkagg.errors import StoreError

    key = "model/" + "ab" * 32
    (tmp_path / key).mkdir(parents=True)
    store = DirectoryStore(tmp_path)
    with pytest.raises(StoreError, match=f"cannot read {key}"):
        store.get(key)
    with pytest.raises(StoreError, match=f"cannot write {key}"):
        store.put(key, b"data")
    (tmp_path / "masked").write_bytes(b"a file where a folder should be")
    with pytest.raises(StoreError, match="cannot write masked/"):
        store.put("masked/" + "cd" * 32, b"data")
