"""A chain node that dies (SIGKILL) or freezes (SIGSTOP) in the middle of a round.

Each test runs a node of its own (it is killed or frozen) and stops or freezes it just before the
k-th JSON-RPC request of a round, for several k spread over the round. The round must end in one
ChainError naming the node and the operation, within the configured time budget (checked against
a bound ten times looser than the budget: the point is that it ends, where it used to wait 120 s
per request and 600 s per receipt); `zkagg demo` must end in one `zkagg: error:` line; and a
durable aggregator reopened from its journal once the node is back finishes the round with the
aggregate of an uninterrupted one.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from zkagg.bn254.field import FrArray
from zkagg.chain import anvil as anvil_module
from zkagg.chain.client import Chain, ChainError, Timeouts
from zkagg.chain.ledger import ChainLedger
from zkagg.chain.transport import BoundedHTTPProvider
from zkagg.cli import main
from zkagg.durable import DurableAggregator
from zkagg.errors import StoreError, TransportError
from zkagg.secagg import Client

from .chain_support import run_round, shared_job, with_job_id

pytestmark = pytest.mark.chain

BUDGET = Timeouts(request_s=2.0, receipt_s=4.0, backoff_s=0.1, progress_s=1.0)
LOOSE = 10  # the error must come within LOOSE × the budget (not a timing measurement)


class Node:
    """anvil on a free loopback port, which the test may kill or freeze."""

    def __init__(self) -> None:
        port = anvil_module._free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [anvil_module.binary(), "--host", "127.0.0.1", "--port", str(port), "--gas-limit",
             "60000000", "--hardfork", "prague", "--silent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                Chain.connect(self.url, timeouts=Timeouts(request_s=1))
                break
            except ChainError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
        self.frozen_at: float | None = None

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen_at = time.monotonic()

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self.frozen_at = time.monotonic()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.thaw()
            self.proc.kill()
            self.proc.wait()


@contextmanager
def node() -> Iterator[Node]:
    n = Node()
    try:
        yield n
    finally:
        n.stop()


@contextmanager
def fail_at(monkeypatch: pytest.MonkeyPatch, k: int | None, action: Any) -> Iterator[list[int]]:
    """Count the JSON-RPC requests of every bounded provider; run `action` before request k."""
    count = [0]
    original = BoundedHTTPProvider._make_request

    def counting(self: BoundedHTTPProvider, method: Any, data: bytes) -> bytes:
        count[0] += 1
        if count[0] == k:
            action()
        return original(self, method, data)

    monkeypatch.setattr(BoundedHTTPProvider, "_make_request", counting)
    yield count


def _round_on(n: Node) -> tuple[ChainLedger, Any]:
    job, pk = shared_job()
    job = with_job_id(job)
    chain = Chain.connect(n.url, timeouts=BUDGET)
    return ChainLedger.create(chain, job, pk.vk), job


@pytest.fixture(scope="module")
def requests_per_round() -> int:
    """How many requests one round makes (the ledger created first, then counted)."""
    mp = pytest.MonkeyPatch()
    try:
        with node() as n:
            ledger, job = _round_on(n)
            with fail_at(mp, None, None) as count:
                run_round(ledger, job, 0)
            return count[0]
    finally:
        mp.undo()


POINTS = [0.05, 0.3, 0.55, 0.8, 0.97]


@pytest.mark.parametrize("how", ["freeze", "kill"])
@pytest.mark.parametrize("at", POINTS)
def test_a_node_lost_mid_round_ends_in_one_chain_error(how: str, at: float, requests_per_round: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with node() as n:
        ledger, job = _round_on(n)
        k = max(1, int(at * requests_per_round))
        with fail_at(monkeypatch, k, n.freeze if how == "freeze" else n.kill), \
                pytest.raises(ChainError) as caught:
            run_round(ledger, job, 0)
        assert n.frozen_at is not None, "the node was never lost: the round made fewer requests"
        waited = time.monotonic() - n.frozen_at
        message = str(caught.value)
        assert message.startswith(f"node {n.url}, eth_") and "\n" not in message
        assert ("no answer in time" if how == "freeze" else "connection refused") in message
        assert waited < LOOSE * BUDGET.request_s
        if how == "freeze":  # back again: the same connection works
            n.thaw()
            assert ledger.chain.w3.eth.block_number > 0


def test_a_dead_node_at_connect_names_url_and_operation() -> None:
    with node() as n:
        n.kill()
        with pytest.raises(ChainError, match=rf"node {n.url}, eth_chainId \(connecting\): connection refused"):
            Chain.connect(n.url, timeouts=BUDGET)


@pytest.mark.slow
def test_negative_control_without_a_budget_a_frozen_node_hangs() -> None:
    """web3's own provider as Chain.connect used to make it (120 s per request, web3's retries)
    is still waiting on a frozen node long after the bound the tests above hold ours to."""
    import threading

    from web3 import Web3

    with node() as n:
        w3 = Web3(Web3.HTTPProvider(n.url, request_kwargs={"timeout": 120}))
        outcome: list[BaseException | int] = []

        def ask() -> None:
            try:
                outcome.append(w3.eth.block_number)
            except BaseException as err:  # noqa: BLE001 - whatever it raises is the finding
                outcome.append(err)

        n.freeze()
        asking = threading.Thread(target=ask, daemon=True)
        asking.start()
        asking.join(LOOSE * BUDGET.request_s)
        still_waiting = asking.is_alive()
        n.thaw()  # it then gets its answer
        asking.join(30)
        assert still_waiting and outcome and not isinstance(outcome[0], TransportError)


@pytest.mark.slow
@pytest.mark.parametrize("how", ["freeze", "kill"])
def test_demo_ends_in_one_named_line(how: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    with node() as n:
        argv = ["demo", "--rounds", "1", "--rpc", n.url, "--timeout", "2", "--receipt-timeout", "4",
                "--plot", str(tmp_path / "p.png")]
        # request 60: the job's contracts are deployed, the round's client writes are under way
        with fail_at(monkeypatch, 60, n.freeze if how == "freeze" else n.kill) as count:
            code = main(argv)
        err = capsys.readouterr().err.strip().splitlines()
        assert count[0] >= 60 and n.frozen_at is not None
        assert code == 2
        assert err[-1].startswith(f"zkagg: error: node {n.url}, eth_"), err[-1]
        assert all(line.startswith("zkagg: waiting:") for line in err[:-1])
        assert time.monotonic() - n.frozen_at < LOOSE * BUDGET.request_s


def test_a_durable_aggregator_resumes_once_the_node_is_back(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    with node() as n:
        ledger, job = _round_on(n)
        pk = shared_job()[1]
        cfg = job.config
        rng = np.random.default_rng(3)  # test data only
        clients = {c: Client(cfg, ledger, c, 0, rng.uniform(-1, 1, cfg.model_length),
                             int(rng.integers(1, 1000)), commit=job.commit) for c in range(cfg.n_clients)}
        path = tmp_path / "round.db"
        agg = DurableAggregator(cfg, ledger, 0, path, commit=job.commit)
        out = [(c, m) for c in clients for m in clients[c].start()]
        for deadline in range(5):  # keys, shares, masking, inputs (and unmasking after dropouts)
            if agg.result is not None:
                break
            for _, msg in out:
                agg.handle(msg)
            if deadline == 1:  # the aggregator posts the mask set: the node freezes first
                monkeypatch.setattr(BoundedHTTPProvider, "_make_request", _freeze_first(n))
                with pytest.raises(ChainError):
                    agg.close(deadline)
                with pytest.raises(StoreError, match="restart"):  # memory may be ahead of the journal
                    agg.close(deadline)
                agg.shutdown()
                monkeypatch.undo()
                n.thaw()
                agg = DurableAggregator(cfg, ledger, 0, path, commit=job.commit)
            out = [(c, r) for c, msg in agg.close(deadline) for r in clients[c].handle(msg)]
        assert agg.result is not None
        total = FrArray.zeros(cfg.n_elements)
        for cl in clients.values():
            total = total + cl._packed  # Σ P_u: what an uninterrupted round aggregates
        assert agg.result.aggregate == total
        assert agg.publish(job, pk) == ledger.model_hash(cfg.job_id, 0)
        agg.shutdown()


def _freeze_first(n: Node) -> Any:
    original = BoundedHTTPProvider._make_request

    def freezing(self: BoundedHTTPProvider, method: Any, data: bytes) -> bytes:
        if n.frozen_at is None:
            n.freeze()
        return original(self, method, data)

    return freezing

