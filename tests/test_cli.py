"""The command line: `zkagg bench native --quick --json` writes the documented keys."""

from __future__ import annotations

import json
from pathlib import Path

from zkagg.cli import main

KEYS = {"fr_mul_ns", "g1_add_ns", "msm_g1_s", "msm_g2_s", "ntt_s", "threads", "pyecc_g1_mul_ms"}


def test_bench_native_quick_writes_json(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "bench.json"
    assert main(["bench", "native", "--quick", "--json", str(out), "--threads", "1"]) == 0
    result = json.loads(out.read_text())
    assert KEYS <= result.keys()
    assert result["threads"] == 1
    assert set(result["msm_g1_s"]) == {"16"} and result["msm_g1_s"]["16"] > 0
    assert "MSM G1 2^16" in capsys.readouterr().out
