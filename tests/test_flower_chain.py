"""ZkaggWorkflow on the JobLedger contract (issue 16: it failed at round 1 with "'ChainLedger'
object has no attribute 'open_job'"): the workflow takes the same ledger factory as `Job`, every
Flower round is accepted by the contract (one with a client that drops after committing its
mask), and the auditor's replay of the job from the chain passes."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("flwr")

from flwr.app import Context, RecordDict  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.common import ndarrays_to_parameters  # noqa: E402
from flwr.server import LegacyContext, ServerConfig  # noqa: E402
from flwr.server.strategy import FedAvg  # noqa: E402
from flwr.server.workflow import DefaultWorkflow  # noqa: E402

from zkagg.chain.audit import audit  # noqa: E402
from zkagg.chain.ledger import ChainLedger  # noqa: E402
from zkagg.chain.store import ContentStore, DirectoryStore  # noqa: E402
from zkagg.cli import main  # noqa: E402
from zkagg.flower import ZkaggWorkflow, zkagg_mod  # noqa: E402
from zkagg.secagg import Quantization  # noqa: E402
from zkagg.secagg.messages import InputRequest  # noqa: E402

from .chain_support import BACKENDS, new_chain  # noqa: E402
from .flower_harness import InProcessGrid, client_fn, drop_on, initial_parameters  # noqa: E402

pytestmark = [pytest.mark.chain, pytest.mark.flower]


@pytest.mark.parametrize("backend", BACKENDS)
def test_flower_rounds_are_accepted_by_the_contract_and_the_audit_passes(
        backend: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chain = new_chain(backend)
    store = ContentStore(DirectoryStore(tmp_path))
    workflow = ZkaggWorkflow(store=store, n_clients=4, ledger=functools.partial(ChainLedger.create, chain),
                             quantization=Quantization(bits=16, frac_bits=12, clip=4.0), max_weight=1000,
                             neighbours=3, chunk_len=8, setup="insecure_single_party_setup")
    seen: dict[int, list[np.ndarray]] = {}

    def record_global(round: int, params: list[np.ndarray], config: dict) -> None:
        seen[round] = [np.array(p) for p in params]

    def ledger_of(context: Context) -> Any:  # in-process nodes: the opened ledger, with every account
        return workflow.ledger

    strategy = FedAvg(initial_parameters=ndarrays_to_parameters(initial_parameters()), fraction_evaluate=0.0,
                      min_fit_clients=4, min_available_clients=4, evaluate_fn=record_global)
    app = ClientApp(client_fn=client_fn, mods=[drop_on(InputRequest, 2, {3}), zkagg_mod(ledger_of)])
    server = Context(run_id=1, node_id=0, node_config={}, state=RecordDict(), run_config={})
    DefaultWorkflow(fit_workflow=workflow)(InProcessGrid(app, 4),
                                           LegacyContext(server, config=ServerConfig(num_rounds=2), strategy=strategy))

    assert workflow.halted == {} and sorted(workflow.rounds) == [1, 2]
    ledger = workflow.ledger
    assert isinstance(ledger, ChainLedger)
    assert workflow.rounds[2].dropped == (workflow.slots[InProcessGrid.node_id(3)],)
    for round, record in workflow.rounds.items():
        assert ledger.model_hash(workflow.job_id, round) == record.model_hash
        assert all(np.array_equal(g, p) for g, p in zip(seen[round], record.parameters))
    report = audit(ledger.contract, workflow.job_id, store)
    assert report.ok, report.format()
    assert [(r.status, r.model_stored) for r in report.rounds] == [("accepted", True)] * 2
    if not chain.is_embedded:  # the command line reaches a node by URL
        url = chain.w3.provider.endpoint_uri  # type: ignore[attr-defined]
        assert main(["audit", "--rpc", url, "--ledger", ledger.contract.address, "--job", workflow.job_id.hex(),
                     "--store", str(tmp_path)]) == 0
        assert "audit passed" in capsys.readouterr().out
