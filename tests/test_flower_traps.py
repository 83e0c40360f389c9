"""The traps a Flower user met (issue 16), each refused by name or handled, in the in-process Grid:
values outside the clip range, a weight above max_weight, client sampling with more nodes than
slots, a ClientApp without the mod, a Message-API `@app.train` client, and zkagg's log lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("flwr")

from flwr.app import Array, ArrayRecord, Context, Message, MetricRecord, RecordDict  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.common import ndarrays_to_parameters  # noqa: E402
from flwr.server import LegacyContext, ServerConfig  # noqa: E402
from flwr.server.strategy import FedAvg  # noqa: E402
from flwr.server.workflow import DefaultWorkflow  # noqa: E402

from zkagg.errors import BudgetError, InputError  # noqa: E402
from zkagg.flower import ZkaggWorkflow, zkagg_mod  # noqa: E402
from zkagg.flower.checks import check_node_update, check_weight_of_node  # noqa: E402
from zkagg.ledger import MemoryLedger  # noqa: E402
from zkagg.secagg import Quantization, SecAggConfig  # noqa: E402
from zkagg.secagg.encoding import Layout  # noqa: E402

from .flower_harness import InProcessGrid, LinearClient, initial_parameters, train  # noqa: E402

Q = Quantization(bits=16, frac_bits=12, clip=4.0)
HALF_STEP = 2.0 ** -(Q.frac_bits + 1)


class TrapClient(LinearClient):
    """The harness's client, with one partition returning a bad value or a bad weight."""

    def __init__(self, partition: int, bad: int, value: float | None, weight: int | None) -> None:
        super().__init__(partition)
        self.bad, self.value, self.weight = bad, value, weight

    def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> tuple[list[np.ndarray], int, dict]:
        params, n, metrics = super().fit(parameters, config)
        if self.partition == self.bad:
            if self.value is not None:
                params[0] = params[0].copy()
                params[0][2] = self.value
            if self.weight is not None:
                n = self.weight
        return params, n, metrics


def trap_app(bad: int = 1, value: float | None = None, weight: int | None = None,
             mods: list[Any] | None = None, ledger: Any = None,
             share_metrics: bool = True) -> Callable[[Any], ClientApp]:
    def make(ledger_: Any) -> ClientApp:
        def client_fn(context: Context) -> Any:
            return TrapClient(int(context.node_config["partition-id"]), bad, value, weight).to_client()
        return ClientApp(client_fn=client_fn,
                         mods=[*(mods or []), zkagg_mod(ledger or ledger_, share_metrics=share_metrics)])
    return make


def run(make_app: Callable[[Any], ClientApp], n_nodes: int, rounds: int = 1, *, ledger: Any = None,
        strategy: dict[str, Any] | None = None, **options: Any) -> tuple[ZkaggWorkflow, dict[int, list[np.ndarray]]]:
    ledger = MemoryLedger() if ledger is None else ledger
    settings: dict[str, Any] = dict(n_clients=n_nodes, ledger=ledger, quantization=Q, max_weight=1000,
                                    neighbours=3, chunk_len=8, setup="insecure_single_party_setup")
    settings.update(options)
    workflow = ZkaggWorkflow(**settings)
    seen: dict[int, list[np.ndarray]] = {}

    def record_global(round: int, params: list[np.ndarray], config: dict) -> None:
        seen[round] = [np.array(p) for p in params]

    chosen = dict(fraction_evaluate=0.0, min_fit_clients=n_nodes, min_available_clients=n_nodes)
    chosen.update(strategy or {})
    fedavg = FedAvg(initial_parameters=ndarrays_to_parameters(initial_parameters()), evaluate_fn=record_global,
                    **chosen)
    grid = InProcessGrid(make_app(ledger), n_nodes)
    server = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={})
    DefaultWorkflow(fit_workflow=workflow)(grid, LegacyContext(server, config=ServerConfig(num_rounds=rounds),
                                                               strategy=fedavg))
    return workflow, seen


def plain_mean(previous: list[np.ndarray], partitions: list[int]) -> list[np.ndarray]:
    updates = [train(previous, p) for p in partitions]
    total = sum(n for _, n in updates)
    return [sum(u[i] * n for u, n in updates) / total for i in range(len(previous))]


def assert_mean_of(workflow: ZkaggWorkflow, seen: dict[int, list[np.ndarray]], round: int,
                   partitions: list[int]) -> None:
    for got, want in zip(workflow.rounds[round].parameters, plain_mean(seen[round - 1], partitions)):
        assert np.max(np.abs(got - want)) <= HALF_STEP + 1e-12


def test_a_value_outside_the_clip_range_is_refused_by_name_and_the_node_is_out() -> None:
    # before issue 16 the mod clipped 10 to 4 silently and the proved mean moved with it
    workflow, seen = run(trap_app(bad=1, value=10.0), 4)
    bad_node = InProcessGrid.node_id(1)
    reason = workflow.failures[1][bad_node]
    assert "BudgetError" in reason and "update['0'] at (2,)" in reason and "10.0" in reason
    assert workflow.slots[bad_node] not in workflow.rounds[1].survivors
    assert_mean_of(workflow, seen, 1, [0, 2, 3])


def test_clip_updates_clips_with_a_warning_naming_the_tensor(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("flwr.zkagg")
    logger.addHandler(caplog.handler)
    try:
        workflow, seen = run(trap_app(bad=1, value=10.0), 4, clip_updates=True)
    finally:
        logger.removeHandler(caplog.handler)
    assert workflow.failures[1] == {} and len(workflow.rounds[1].survivors) == 4
    assert any("update['0']" in r.getMessage() and "clipped" in r.getMessage() for r in caplog.records)
    # the proved mean is the mean of the clipped updates
    updates = [train(seen[0], p) for p in range(4)]
    updates[1][0][0][2] = Q.clip
    total = sum(n for _, n in updates)
    want = sum(u[0] * n for u, n in updates) / total
    assert np.max(np.abs(workflow.rounds[1].parameters[0] - want)) <= HALF_STEP + 1e-12
    with pytest.raises(InputError, match="clip_updates"):
        ZkaggWorkflow(n_clients=4, ledger=MemoryLedger(), clip_updates=1)  # type: ignore[arg-type]


def test_a_weight_above_max_weight_is_refused_by_name_at_the_client() -> None:
    workflow, seen = run(trap_app(bad=2, weight=5000), 4)
    reason = workflow.failures[1][InProcessGrid.node_id(2)]
    assert "num_examples" in reason and "max_weight is 1000" in reason
    assert_mean_of(workflow, seen, 1, [0, 1, 3])


def test_client_side_checks_name_what_is_wrong() -> None:
    config = SecAggConfig(job_id=b"\x07" * 32, n_clients=3, model_length=5, quantization=Q, max_weight=100,
                          neighbours=2)
    layout = Layout.of({"0": np.zeros(3), "1": np.zeros(2)})
    for weight in (0, 101, True, 2.5):
        with pytest.raises(InputError, match="num_examples"):
            check_weight_of_node(weight, config)
    assert check_weight_of_node(np.int64(100), config) == 100
    with pytest.raises(BudgetError, match=r"update\['1'\] at \(1,\)"):
        check_node_update(layout, config, {"0": np.zeros(3), "1": np.array([0.0, -4.5])}, clip=False)
    with pytest.raises(InputError, match="not finite"):
        check_node_update(layout, config, {"0": np.array([0, np.nan, 0]), "1": np.zeros(2)}, clip=True)
    flat = check_node_update(layout, config, {"0": np.zeros(3), "1": np.array([0.0, -4.5])}, clip=True)
    assert flat[4] == -4.5  # clipped when encoded, as Job does


def test_more_nodes_than_slots_is_refused_before_the_setup() -> None:
    # before issue 16 the fifth node waited for a free slot and sampling lost nodes every round
    with pytest.raises(InputError, match="n_clients >= 5"):
        run(trap_app(), 5, n_clients=4, strategy=dict(fraction_fit=0.8, min_fit_clients=4))


def test_client_sampling_keeps_every_sampled_node_in_the_round() -> None:
    workflow, seen = run(trap_app(), 5, rounds=3, strategy=dict(fraction_fit=0.6, min_fit_clients=3))
    assert sorted(workflow.rounds) == [1, 2, 3] and workflow.halted == {}
    for round in (1, 2, 3):
        assert len(workflow.rounds[round].survivors) == 3 and workflow.failures[round] == {}


def test_a_client_app_without_the_mod_fails_before_it_trains() -> None:
    trained = []

    class Spy(LinearClient):
        def fit(self, parameters: list[np.ndarray], config: dict[str, Any]) -> Any:
            trained.append(self.partition)
            return super().fit(parameters, config)

    def make(ledger: Any) -> ClientApp:
        return ClientApp(client_fn=lambda c: Spy(int(c.node_config["partition-id"])).to_client())

    workflow, _ = run(make, 3)
    assert trained == [] and workflow.rounds == {} and 1 in workflow.halted
    assert all("without zkagg_mod" in r for r in workflow.failures[1].values()) and len(workflow.failures[1]) == 3

    api = ClientApp()

    @api.train()
    def fit(msg: Message, context: Context) -> Message:
        trained.append(msg.content["arrays"])  # a Message-API client fails on its first line
        raise AssertionError("unreachable")

    workflow, _ = run(lambda ledger: api, 3)
    assert trained == [] and workflow.rounds == {} and len(workflow.failures[1]) == 3


def message_api_app(ledger: Any) -> ClientApp:
    app = ClientApp(mods=[zkagg_mod(ledger)])

    @app.train()
    def fit(msg: Message, context: Context) -> Message:
        params, n = train(msg.content["arrays"].to_numpy_ndarrays(), int(context.node_config["partition-id"]))
        content = RecordDict({"arrays": ArrayRecord(params),
                              "metrics": MetricRecord({"num-examples": n, "rows": float(n)})})
        return Message(content, reply_to=msg)

    return app


def test_a_message_api_train_function_under_the_mod_gives_the_proved_mean() -> None:
    workflow, seen = run(message_api_app, 3, rounds=2)
    assert sorted(workflow.rounds) == [1, 2] and workflow.halted == {}
    assert_mean_of(workflow, seen, 1, [0, 1, 2])
    assert_mean_of(workflow, seen, 2, [0, 1, 2])


def test_rounds_are_logged_through_flowers_logger(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("flwr.zkagg")
    assert logger.parent is logging.getLogger("flwr")  # Flower's console handler prints it
    logger.addHandler(caplog.handler)
    try:
        run(trap_app(), 3)
    finally:
        logger.removeHandler(caplog.handler)
    lines = [r.getMessage() for r in caplog.records]
    assert any("setup done" in line for line in lines)
    assert any(line.startswith("zkagg: round 1 proved in") and "accepted" in line for line in lines)


@pytest.mark.parametrize("strategy_name", ["FedAvg", "FedAdam"])
def test_message_api_strategies_train_on_the_proved_mean(strategy_name: str) -> None:
    # before issue 16 every reply errored and the run ended with an empty model
    from flwr.serverapp import strategy as message_api

    from zkagg.flower import ZkaggGrid

    ledger = MemoryLedger()
    workflow = ZkaggWorkflow(n_clients=3, ledger=ledger, quantization=Q, max_weight=1000, neighbours=2,
                             chunk_len=8, setup="insecure_single_party_setup")
    grid = ZkaggGrid(InProcessGrid(message_api_app(ledger), 3), workflow)
    strategy = getattr(message_api, strategy_name)(fraction_evaluate=0.0, min_train_nodes=3, min_available_nodes=3)
    start = ArrayRecord({"w": Array(np.zeros(6)), "b": Array(np.zeros(1))})
    rounds = 2 if strategy_name == "FedAvg" else 1
    result = strategy.start(grid=grid, initial_arrays=start, num_rounds=rounds)
    assert sorted(workflow.rounds) == list(range(1, rounds + 1)) and workflow.halted == {}
    final = result.arrays.to_numpy_ndarrays()
    assert list(result.arrays.keys()) == ["w", "b"]
    if strategy_name == "FedAvg":  # the new global model is exactly the proved mean
        assert all(np.array_equal(a, b) for a, b in zip(final, workflow.rounds[2].parameters))
        assert_mean_of(workflow, {1: workflow.rounds[1].parameters}, 2, [0, 1, 2])
    else:  # Adam's first step from zero goes eta along the sign of the proved mean
        for got, mean in zip(final, workflow.rounds[1].parameters):
            assert np.array_equal(np.sign(got), np.sign(mean)) and np.all(np.abs(got) <= strategy.eta + 1e-12)
    for round, record in workflow.rounds.items():
        assert ledger.model_hash(workflow.job_id, round) == record.model_hash
        # the nodes' "rows" metric, weighted by their weights: Σ n² / Σ n
        ns = [w for _, w in ledger.submissions(workflow.job_id, round).values()]
        assert result.train_metrics_clientapp[round]["rows"] == pytest.approx(sum(n * n for n in ns) / sum(ns))


def test_a_missing_or_late_ledger_is_a_named_error() -> None:
    import socket

    from zkagg.errors import LedgerError
    from zkagg.flower import LedgerServer, RemoteLedger
    from zkagg.flower.ledger import OpenedLedger

    with socket.socket() as held:  # bound, not listening: connections are refused, nobody else binds it
        held.bind(("127.0.0.1", 0))
        address = held.getsockname()
        with pytest.raises(LedgerError, match=f"no ledger is served at 127.0.0.1:{address[1]}"):
            RemoteLedger(address, b"k" * 32).mask_set(b"\x01" * 32, 0)  # was a bare ConnectionRefusedError
    workflow = ZkaggWorkflow(n_clients=3, ledger=MemoryLedger(), setup="insecure_single_party_setup")
    with LedgerServer(OpenedLedger(workflow)) as served:
        with pytest.raises(LedgerError, match="not open yet"):
            served.remote().mask_set(workflow.job_id, 0)
    with pytest.raises(InputError, match="authkey"):
        LedgerServer(MemoryLedger(), authkey=b"short")
    with pytest.raises(InputError, match="port"):
        LedgerServer(MemoryLedger(), port=70000)


def test_train_metrics_reach_the_strategy_unless_kept() -> None:
    seen: list[list[tuple[int, dict]]] = []

    def aggregate(pairs: list[tuple[int, dict]]) -> dict:
        seen.append(pairs)
        return {"partitions": sorted(m.get("partition", -1) for _, m in pairs)}

    workflow, _ = run(trap_app(), 3, strategy=dict(fit_metrics_aggregation_fn=aggregate))
    weights = sorted(w for _, w in workflow.ledger.submissions(workflow.job_id, 1).values())
    assert sorted(m["partition"] for _, m in seen[-1]) == [0, 1, 2]  # lost before issue 16
    assert sorted(w for w, _ in seen[-1]) == weights  # weighted by the weights on the ledger
    seen.clear()
    workflow, _ = run(trap_app(share_metrics=False), 3, strategy=dict(fit_metrics_aggregation_fn=aggregate))
    # nothing shared: only the strategy's own call on the one proved result, without metrics
    assert seen == [[(workflow.rounds[1].proof.total_weight, {})]]


@given(st.lists(st.floats(-4.0, 4.0), min_size=5, max_size=5), st.integers(0, 4),
       st.floats(4.0, 1e6, exclude_min=True), st.booleans())
def test_an_out_of_range_value_is_refused_at_its_index_or_clipped(values: list[float], at: int, big: float,
                                                                  negative: bool) -> None:
    config = SecAggConfig(job_id=b"\x07" * 32, n_clients=3, model_length=5, quantization=Q, max_weight=100,
                          neighbours=2)
    layout = Layout.of({"0": np.zeros(2), "1": np.zeros(3)})
    ok = {"0": np.array(values[:2]), "1": np.array(values[2:])}
    assert np.array_equal(check_node_update(layout, config, ok, clip=False), np.array(values))
    values[at] = -big if negative else big
    bad = {"0": np.array(values[:2]), "1": np.array(values[2:])}
    name, index = ("0", at) if at < 2 else ("1", at - 2)
    with pytest.raises(BudgetError, match=re.escape(f"update['{name}'] at ({index},)")):
        check_node_update(layout, config, bad, clip=False)
    assert check_node_update(layout, config, bad, clip=True)[at] == values[at]  # clipped when encoded


def test_a_guarded_ledger_shares_the_served_ledgers_lock() -> None:
    import threading

    from zkagg.flower import LedgerServer

    held: list[bool] = []

    class Probe(MemoryLedger):
        def mask_set(self, job_id: bytes, round: int) -> Any:
            # another thread (a served call) cannot take the server's lock while this call runs
            def try_lock() -> None:
                got = served._lock.acquire(blocking=False)
                held.append(not got)
                if got:
                    served._lock.release()

            attempt = threading.Thread(target=try_lock)
            attempt.start()
            attempt.join()
            return super().mask_set(job_id, round)

    probe = Probe()
    with LedgerServer(None) as served:
        guarded = served.guard(probe)
        served.ledger = guarded
        guarded.open_job(b"\x02" * 32, 3, 10)
        assert guarded.mask_set(b"\x02" * 32, 0) is None and held == [True]
        assert probe.mask_set(b"\x02" * 32, 0) is None and held == [True, False]  # unguarded: control
        served.remote().mask_set(b"\x02" * 32, 0)  # served through the guard: the lock is reentrant
        assert held[-1] is True
        assert guarded.ledger is probe
