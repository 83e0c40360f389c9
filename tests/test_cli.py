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


def test_bench_secagg_quick_runs_flower_beside_zkagg(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    out = tmp_path / "secagg.json"
    assert main(["bench", "secagg", "--quick", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert {"d", "k", "zkagg_client_s", "flower_client_s", "ratio", "zkagg_upload_bytes_per_param",
            "flower_upload_bytes_per_param", "zkagg_unmask_s_no_dropout",
            "zkagg_unmask_s_10pct_dropout"} <= row.keys()
    assert row["d"] == 10**4 and row["k"] == 10
    # y_u: 32-byte elements of 8 packed 31-bit slots (16-bit values × weight ≤ 1000 × 10 clients)
    assert 32 / 8 < row["zkagg_upload_bytes_per_param"] < 32 / 8 + 0.01
    assert "Flower" in capsys.readouterr().out


def test_bench_round_quick_proves_and_reports_cost_per_parameter(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from zkagg.bench import aggregation, round_v2

    # the v1 per-client benchmark stays behind --load / --ray
    monkeypatch.setattr(aggregation, "run", lambda quick, load: {"rows": [aggregation.measure(2, 30)]})
    out = tmp_path / "round.json"
    assert main(["bench", "round", "--quick", "--load", "--json", str(out)]) == 0
    (row,) = json.loads(out.read_text())["rows"]
    assert row["chunks"] == 1 and row["constraints"] == row["chunk_constraints"]
    assert row["constraints_per_client_param"] == row["constraints"] / 60
    assert {"prove_s", "setup_s", "us_per_client_param", "proving_key_mb"} <= row.keys()
    # the default is the v2 round
    round_row, commit_row = round_v2.round_row, round_v2.commit_row  # small sizes, same code
    monkeypatch.setattr(round_v2, "round_row", lambda n, d, rng: round_row(n, 300, rng))
    monkeypatch.setattr(round_v2, "commit_row", lambda k, rng: commit_row(64, rng))
    v2 = tmp_path / "v2.json"
    assert main(["bench", "round", "--quick", "--json", str(v2)]) == 0
    result = json.loads(v2.read_text())
    assert [r["n"] for r in result["constraints"]] == [4, 8, 16, 64]
    (proved,) = result["round"]
    assert proved["n"] == 8 and proved["prove_s"] > 0 and proved["witness_s"] >= 0
