"""A scaled-down load round through `zkagg bench round --load`: every chunk proved and verified,
the peak resident memory reported. (The full 100 clients × 10^5 parameters is the benchmark.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zkagg.bench import aggregation
from zkagg.cli import main


def test_bench_round_load_reports_peak_rss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aggregation, "LOAD_SIZE", (6, 300))  # 34 elements: 3 chunks of 15
    monkeypatch.setattr(aggregation, "LOG_DOMAIN", 13)
    out = tmp_path / "load.json"
    assert main(["bench", "round", "--load", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    load = result["load"]
    assert (load["n"], load["d"], load["chunks"], load["chunk_len"]) == (6, 300, 3, 15)
    assert 1 << 12 < load["chunk_constraints"] < 1 << 13
    assert 0 < load["peak_rss_mb_before_prove"] <= load["peak_rss_mb"] == result["peak_rss_mb"]
    assert load["within_limit"] and "rows" not in result


def test_every_chunk_path_comes_from_one_tree() -> None:
    from zkagg.poseidon import merkle

    for n in (1, 2, 3, 5, 8, 13):  # the round witness builds each slot's tree once, not per chunk
        leaves = [(7 * i + 1) ** 5 for i in range(n)]
        assert merkle.merkle_paths(leaves) == [merkle.merkle_path(leaves, j) for j in range(n)]
