"""Flower's simulation engine with the zkagg mod and workflow around an unmodified FedAvg: four
clients train a small linear model for two rounds; every round is proved and accepted on the
shared ledger, and the new global model is exactly the proved weighted mean, within half a
quantization step of plain FedAvg on the same updates. In round 2 one client drops after
committing its mask; its mask is recovered from its neighbours' shares."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("flwr")
pytest.importorskip("ray")

from flwr.app import Context  # noqa: E402
from flwr.clientapp import ClientApp  # noqa: E402
from flwr.common import ndarrays_to_parameters  # noqa: E402
from flwr.server import LegacyContext, ServerConfig  # noqa: E402
from flwr.server.strategy import FedAvg  # noqa: E402
from flwr.server.workflow import DefaultWorkflow  # noqa: E402
from flwr.serverapp import Grid, ServerApp  # noqa: E402
from flwr.simulation import run_simulation  # noqa: E402

from zkagg.aggregation import slots, verify_round  # noqa: E402
from zkagg.flower import LedgerServer, ZkaggWorkflow, zkagg_mod  # noqa: E402
from zkagg.ledger import MemoryLedger  # noqa: E402
from zkagg.secagg import Quantization  # noqa: E402
from zkagg.secagg.messages import InputRequest  # noqa: E402

from .flower_harness import (  # noqa: E402
    client_fn,
    drop_on,
    initial_parameters,
    local_data,
    partition_of_slot,
    train,
)

N_CLIENTS, ROUNDS, DROPPED = 4, 2, 3
QUANTIZATION = Quantization(bits=16, frac_bits=12, clip=4.0)


def test_fedavg_with_zkagg_trains_proves_and_matches_plain_fedavg() -> None:
    globals_seen: dict[int, list[np.ndarray]] = {}

    def record_global(round: int, params: list[np.ndarray], config: dict) -> None:
        globals_seen[round] = [np.array(p) for p in params]

    with LedgerServer(MemoryLedger()) as served:
        workflow = ZkaggWorkflow(n_clients=N_CLIENTS, ledger=served.remote(), quantization=QUANTIZATION,
                                 max_weight=1000, neighbours=3, chunk_len=8,
                                 setup="insecure_single_party_setup")
        server_app = ServerApp()

        @server_app.main()
        def main(grid: Grid, context: Context) -> None:
            strategy = FedAvg(initial_parameters=ndarrays_to_parameters(initial_parameters()),
                              fraction_evaluate=0.0, min_fit_clients=N_CLIENTS,
                              min_available_clients=N_CLIENTS, evaluate_fn=record_global)
            legacy = LegacyContext(context=context, config=ServerConfig(num_rounds=ROUNDS), strategy=strategy)
            DefaultWorkflow(fit_workflow=workflow)(grid, legacy)

        mods = [drop_on(InputRequest, 2, {DROPPED}), zkagg_mod(served.remote())]
        run_simulation(server_app, ClientApp(client_fn=client_fn, mods=mods), num_supernodes=N_CLIENTS,
                       backend_config={"client_resources": {"num_cpus": 1}})

    assert workflow.halted == {} and sorted(workflow.rounds) == list(range(1, ROUNDS + 1))
    job, ledger = workflow.job, served.ledger
    assert job is not None and workflow.proving_key is not None
    partitions = partition_of_slot(ledger, job.config.job_id, workflow.rounds)
    half_step = 2.0 ** -(QUANTIZATION.frac_bits + 1)
    for round, record in workflow.rounds.items():
        assert ledger.model_hash(job.config.job_id, round) == record.model_hash
        assert verify_round(job, workflow.proving_key.vk, record.proof, slots(job, ledger, round))
        # FedAvg's new global model is exactly the proved, decoded mean ...
        assert all(np.array_equal(g, p) for g, p in zip(globals_seen[round], record.parameters))
        # ... and within half a quantization step of plain FedAvg over the survivors' updates
        updates = [train(globals_seen[round - 1], partitions[s]) for s in record.survivors]
        total = sum(n for _, n in updates)
        for i, got in enumerate(record.parameters):
            plain = sum(p[i] * n for p, n in updates) / total
            assert np.max(np.abs(got - plain)) <= half_step + 1e-12
    assert workflow.rounds[1].dropped == () and len(workflow.rounds[1].survivors) == N_CLIENTS
    assert [partitions[s] for s in workflow.rounds[2].dropped] == [DROPPED]
    assert len(workflow.rounds[2].survivors) == N_CLIENTS - 1
    x = np.concatenate([local_data(p)[0] for p in range(N_CLIENTS)])
    y = np.concatenate([local_data(p)[1] for p in range(N_CLIENTS)])
    losses = [np.mean((x @ globals_seen[r][0] + globals_seen[r][1] - y) ** 2) for r in range(ROUNDS + 1)]
    assert losses[2] < losses[1] < losses[0]
