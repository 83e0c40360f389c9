"""The Flower app template (`zkagg.flower.app_template`, what `zkagg new flower-app` copies) under
Flower's simulation engine, as written: the server app starts and serves the ledger itself, the
ClientApps reach it from the run config, and the proved rounds, their proofs and a passing audit
verdict come out in `out-dir`."""

from __future__ import annotations

import json
import secrets
import socket
from pathlib import Path

import pytest

pytest.importorskip("flwr")
pytest.importorskip("ray")
pytest.importorskip("torch")

from flwr.simulation import run_simulation  # noqa: E402

from zkagg.errors import InputError  # noqa: E402
from zkagg.flower.app_template.settings import ENV, settings  # noqa: E402

pytestmark = [pytest.mark.flower, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("ledger", ["memory", pytest.param("embedded", marks=pytest.mark.chain)])
def test_the_app_template_runs_as_written(ledger: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from zkagg.flower.app_template.client_app import app as client_app
    from zkagg.flower.app_template.server_app import app as server_app

    config = {"num-server-rounds": 2, "n-clients": 3, "hidden": 8, "ledger": ledger, "ledger-port": free_port(),
              "ledger-key": secrets.token_hex(16), "out-dir": str(tmp_path)}
    monkeypatch.setenv(ENV, json.dumps(config))  # run_simulation has no run config; its workers inherit this
    run_simulation(server_app, client_app, num_supernodes=3, backend_config={"client_resources": {"num_cpus": 1}})
    summary = json.loads((tmp_path / "rounds.json").read_text())
    assert summary["audit_ok"] is True and summary["halted"] == {}
    assert sorted(summary["rounds"]) == ["1", "2"]
    for round in summary["rounds"].values():
        assert round["survivors"] == [0, 1, 2] and len(round["proofs"]) >= 1
    assert (summary["contract"] is not None) == (ledger == "embedded")
    assert set(summary["evaluate_accuracy"]) == {"1", "2"}


def test_the_run_config_is_checked_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV, raising=False)
    with pytest.raises(InputError, match="ledger-key"):
        settings({})
    key = secrets.token_hex(16)
    with pytest.raises(InputError, match="'hidden'"):
        settings({"ledger-key": key, "hidden": "wide"})
    assert settings({"ledger-key": key, "learning-rate": 1})["learning-rate"] == 1
    monkeypatch.setenv(ENV, "[")
    with pytest.raises(InputError, match=ENV):
        settings({"ledger-key": key})


def test_zkagg_new_flower_app_writes_a_flwr_app(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    from zkagg.cli import main

    assert main(["new", "flower-app", str(tmp_path / "app"), "--supernodes", "4"]) == 0
    assert "flwr run" in capsys.readouterr().out
    project = tomllib.loads((tmp_path / "app" / "pyproject.toml").read_text())
    flwr = project["tool"]["flwr"]["app"]
    assert flwr["components"] == {"serverapp": "zkagg_flower_app.server_app:app",
                                  "clientapp": "zkagg_flower_app.client_app:app"}
    assert project["project"]["dependencies"] == []  # no per-run install of zkagg (exit 608)
    config = settings(flwr["config"])  # every key is the app's, the key is fresh and valid
    assert config["n-clients"] == 4 and set(flwr["config"]) == set(config)
    other = tmp_path / "other"
    assert main(["new", "flower-app", str(other)]) == 0
    assert tomllib.loads((other / "pyproject.toml").read_text())["tool"]["flwr"]["app"]["config"]["ledger-key"] \
        != flwr["config"]["ledger-key"]
    for name in ("server_app.py", "client_app.py", "task.py", "settings.py"):
        assert (tmp_path / "app" / "zkagg_flower_app" / name).is_file()
    assert main(["new", "flower-app", str(tmp_path / "app")]) == 2  # not an empty folder
    assert "not an empty folder" in capsys.readouterr().err


def test_the_flower_extra_brings_the_simulation_engine() -> None:
    import tomllib

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]["flower"]
    assert any(e.replace(" ", "").startswith("flwr[simulation]") for e in extras)  # run_simulation needs ray
    assert "zkagg.flower.app_template" in project["tool"]["setuptools"]["packages"]
