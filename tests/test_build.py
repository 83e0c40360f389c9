"""The native build: both variants present, the variant switch, and a clear message on failure."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from zkagg import native
from zkagg.bn254 import make_backend
from zkagg.errors import InputError, NativeError

ROOT = Path(__file__).resolve().parents[1]


def test_portable_variant_is_built_and_asm_where_the_cpu_allows() -> None:
    assert native.load("portable").lib.zkagg_has_asm() == 0
    if native.cpu_has_asm_features():
        assert native.load("asm").lib.zkagg_has_asm() == 1
        assert native.variant_name() in ("asm", "portable")


def test_variant_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKAGG_NATIVE", "portable")
    assert make_backend("native").name == "native-portable"
    monkeypatch.setenv("ZKAGG_NATIVE", "fastest")
    with pytest.raises(NativeError, match="ZKAGG_NATIVE"):
        native.variant_name()
    with pytest.raises(InputError):
        make_backend("gpu")


def test_thread_count_is_settable() -> None:
    lib = native.load("portable").lib
    lib.zkagg_set_threads(3)
    assert lib.zkagg_get_threads() == 3
    lib.zkagg_set_threads(0)
    assert lib.zkagg_get_threads() == os.cpu_count()


def test_failed_build_explains_what_is_missing(tmp_path: Path) -> None:
    env = dict(os.environ, CC=str(tmp_path / "no-such-compiler"))
    proc = subprocess.run(
        [sys.executable, "setup.py", "build_ext", "--build-lib", str(tmp_path / "lib"),
         "--build-temp", str(tmp_path / "tmp")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode != 0
    assert "needs a C compiler" in proc.stderr + proc.stdout
