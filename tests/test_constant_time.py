"""The secret-scalar kernels under valgrind's memcheck: no branch and no memory address may
depend on a scalar (tests/ct_harness.c marks the scalars undefined). This checks the compiled
code, not timings; it is skipped where valgrind, its header or a C compiler is missing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from zkagg import native

ROOT = Path(__file__).resolve().parents[1]
CFLAGS = ["-O3", "-std=gnu11", "-pthread", "-fno-strict-aliasing", "-g"]


VARIANTS = ["portable"] + (["asm"] if native.cpu_has_asm_features() else [])


@pytest.fixture(scope="module", params=VARIANTS)
def harness(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The harness built like the native variant (asm: MULX/ADX field multiplication)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None or shutil.which("valgrind") is None:
        pytest.skip("needs a C compiler and valgrind")
    exe = tmp_path_factory.mktemp("ct") / f"ct_harness_{request.param}"
    proc = subprocess.run(
        [cc, *CFLAGS, f"-DZKAGG_ASM={int(request.param == 'asm')}", f"-I{ROOT / 'native' / 'include'}", f"-I{ROOT / 'native' / 'src'}",
         "-o", str(exe), str(ROOT / "tests" / "ct_harness.c"), "-lm"],
        capture_output=True, text=True, timeout=600,
    )
    if proc.returncode != 0:
        if "valgrind/memcheck.h" in proc.stderr:
            pytest.skip("needs valgrind's headers (valgrind/memcheck.h)")
        raise AssertionError(proc.stderr)
    return exe


def memcheck(exe: Path, mode: str) -> str:
    proc = subprocess.run(["valgrind", "-q", str(exe), mode], capture_output=True, text=True, timeout=600)
    assert "done 0" in proc.stdout, proc.stdout + proc.stderr
    return proc.stderr


def test_secret_scalar_kernels_do_not_branch_or_index_on_the_scalar(harness: Path) -> None:
    report = memcheck(harness, "ct")
    assert "uninitialised" not in report, report


def test_the_check_sees_a_leak(harness: Path) -> None:
    """The ordinary multiplication skips zero digits and indexes its table by digit."""
    assert "depends on uninitialised value" in memcheck(harness, "leaky")
