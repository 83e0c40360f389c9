"""`zkagg demo` end to end in a reduced configuration, and the pieces it is made of."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import numpy as np
import pytest
import torch

from zkagg.cli import main
from zkagg.fl import demo, digits, training
from zkagg.fl.demo import DemoConfig

from .chain_support import _anvil_url


def test_demo_two_rounds_on_the_embedded_chain_writes_json_and_plot(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, png = tmp_path / "demo.json", tmp_path / "demo.png"
    assert main(["demo", "--rounds", "2", "--json", str(out), "--plot", str(png)]) == 0
    result = json.loads(out.read_text())
    assert result["audit_ok"] is True and result["ledger"] == "embedded EVM"
    # the private model matches plain float FedAvg on the same data, seeds and dropouts
    assert abs(result["final_accuracy"] - result["fedavg_accuracy"]) <= 0.01
    assert result["final_accuracy"] > result["initial_accuracy"]
    rounds = result["rounds"]
    assert [r["round"] for r in rounds] == [0, 1]  # the ledger's numbers, as in zkagg audit
    assert rounds[0]["dropped"] == [] and rounds[1]["dropped"] == [5]  # dropped in the last round
    assert rounds[0]["survivors"] == 8 and rounds[1]["survivors"] == 7
    assert rounds[1]["total_weight"] < rounds[0]["total_weight"]
    assert all(0 < r["gas"] < r["round_gas"] and r["prove_s"] > 0 for r in rounds)
    assert all(r["max_error"] <= 2.0 ** -17 + 1e-12 for r in rounds)  # half a step (16 fractional bits)
    assert result["final_accuracy"] == rounds[-1]["accuracy"]
    assert result["chunks"] == 1 and result["parameters"] == 64 * 32 + 32 + 32 * 10 + 10
    # the auditor replayed both rounds from the chain, the stored models included
    assert sum("stored model matches" in line for line in result["audit"]) == 2
    assert result["audit"][-1] == "audit passed"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    shown = capsys.readouterr().out
    assert "FedAvg" in shown and "audit: every round checks out" in shown
    assert re.fullmatch(r"0x[0-9a-f]{64}", result["job_id"]) and f"job id: {result['job_id']}" in shown
    assert re.fullmatch(r"0x[0-9a-fA-F]{40}", result["ledger_address"]) and result["rpc"] is None


def test_demo_on_a_node_by_url(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo.json"
    assert main(["demo", "--rounds", "1", "--rpc", _anvil_url(), "--json", str(out),
                 "--plot", str(tmp_path / "demo.png")]) == 0
    result = json.loads(out.read_text())
    assert result["audit_ok"] and result["ledger"].startswith("node at http://127.0.0.1:")
    assert result["rounds"][0]["dropped"] == [5] and result["rounds"][0]["gas"] > 0
    # the printed command (address, job id, the models' store) is enough for the auditor, whose
    # round numbers are the demo's
    assert result["store"] == str(tmp_path / "zkagg-demo-store")
    shown = capsys.readouterr().out
    command = re.search(r"audit again: (zkagg audit .*)", " ".join(shown.split()))
    assert command and f"--store {result['store']}" in command.group(1)
    assert main(["audit", "--rpc", result["rpc"], "--ledger", result["ledger_address"],
                 "--job", result["job_id"], "--store", result["store"]]) == 0
    audited = capsys.readouterr().out
    assert "round 0: accepted" in audited and "stored model matches" in audited
    # without the models the auditor cannot check the job's empty commitment: not a pass
    assert main(["audit", "--rpc", result["rpc"], "--ledger", result["ledger_address"],
                 "--job", result["job_id"]]) == 1


def test_demo_ledger_errors_are_clear(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--ledger", "memory", "--rpc", "http://127.0.0.1:8545"]) == 2
    assert "--rpc needs the chain ledger" in capsys.readouterr().err
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    assert main(["demo", "--rounds", "1", "--rpc", url, "--timeout", "1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith(f"zkagg: error: node {url}, eth_chainId (connecting): connection refused")
    assert all(line.startswith("zkagg: waiting:") for line in err[:-1])  # retried, then gave up


def test_demo_on_the_in_memory_ledger_reports_no_gas() -> None:
    # 4 clients: with double masking a survivor's self-mask needs t = 2 of its 3 holders after one drop
    result = demo.run(DemoConfig(rounds=1, n_clients=4, dropout_client=1, hidden=4), ledger="memory")
    assert result.audit_ok and result.ledger == "in-memory ledger" and result.audit_lines == []
    assert result.rows[0].gas is None and result.rows[0].round_gas is None
    assert result.rows[0].dropped == [1]


def test_demo_config_is_checked() -> None:
    with pytest.raises(ValueError, match="rounds"):
        DemoConfig(rounds=0)
    with pytest.raises(ValueError, match="dropout_client"):
        DemoConfig(dropout_client=8)
    assert DemoConfig(rounds=1).drop_in_round == 0


def test_digits_split_is_seeded_label_skewed_and_complete() -> None:
    fed = digits.load(n_clients=8, seed=3)
    again = digits.load(n_clients=8, seed=3)
    assert fed.sizes == again.sizes and all(np.array_equal(a.y, b.y) for a, b in zip(fed.clients, again.clients))
    assert sum(fed.sizes) + len(fed.test.y) == 1797 and min(fed.sizes) >= 10
    assert len(fed.test.y) == 360 and set(fed.test.y) == set(range(10))  # stratified
    shares = np.array([np.bincount(c.y, minlength=10) / len(c.y) for c in fed.clients])
    assert shares.max() > 0.3  # skewed: some client holds far more of one class than 1/10
    assert fed.clients[0].x.dtype == np.float32 and 0 <= fed.clients[0].x.min() and fed.clients[0].x.max() <= 1
    with pytest.raises(ValueError, match="alpha"):
        digits.load(n_clients=8, alpha=0)


@training.one_thread()
def test_local_training_is_deterministic_and_fedavg_is_the_weighted_mean() -> None:
    fed = digits.load(n_clients=3, seed=0)
    model = training.make_model(seed=1)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    a = training.train_locally(model, start, fed.clients[0], epochs=1, lr=0.1, batch_size=16, seed=5)
    b = training.train_locally(model, start, fed.clients[0], epochs=1, lr=0.1, batch_size=16, seed=5)
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a["0.weight"], start["0.weight"])
    mean = training.fedavg([a, start], [3, 1])
    assert torch.allclose(mean["2.bias"], (3 * a["2.bias"] + start["2.bias"]) / 4)
    assert mean["2.bias"].dtype == torch.float32
    assert torch.equal(training.make_model(seed=1).state_dict()["0.weight"], start["0.weight"])
