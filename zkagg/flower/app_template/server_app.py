"""The ServerApp: starts the ledger, serves it to the ClientApps, runs Flower's FedAvg over proved
zkagg rounds, then writes the rounds, their proofs and the audit verdict to the run's `out-dir`."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from flwr.app import ArrayRecord, Context
from flwr.serverapp import Grid, ServerApp
from flwr.serverapp.strategy import FedAvg

from zkagg.aggregation import slots, verify_round
from zkagg.flower import LedgerServer, ZkaggGrid, ZkaggWorkflow
from zkagg.flower.checks import log
from zkagg.flower.ledger import OpenedLedger
from zkagg.ledger import MemoryLedger
from zkagg.secagg import Quantization

from .settings import settings
from .task import Net

app = ServerApp()


def ledger_source(cfg: dict[str, Any], served: LedgerServer) -> Any:
    """The run config's ledger: a MemoryLedger, or a factory that deploys the contracts at round 1;
    guarded, so the workflow's calls never overlap the ClientApps' served calls."""
    if cfg["ledger"] == "memory":
        return served.guard(MemoryLedger())
    from zkagg.chain.client import Chain
    from zkagg.chain.ledger import ChainLedger

    chain = Chain.embedded() if cfg["ledger"] == "embedded" else Chain.connect(cfg["ledger"])
    create = functools.partial(ChainLedger.create, chain)
    return lambda job, vk: served.guard(create(job, vk))


def audit(workflow: ZkaggWorkflow, store: Any) -> tuple[bool, list[str]]:
    """The contract's replay (`zkagg audit`) on a chain; on the in-memory ledger, every proof
    re-verified against the ledger's records and its stored model hash."""
    ledger, job = workflow.ledger, workflow.job
    assert job is not None and workflow.proving_key is not None
    contract = getattr(ledger, "contract", None)
    if contract is not None:
        from zkagg.chain.audit import audit as chain_audit

        report = chain_audit(contract, workflow.job_id, store)
        return report.ok, report.format().splitlines()
    lines, ok = [], True
    for round, record in sorted(workflow.rounds.items()):
        good = verify_round(job, workflow.proving_key.vk, record.proof, slots(job, ledger, round)) \
            and ledger.model_hash(workflow.job_id, round) == record.model_hash
        ok &= good
        lines.append(f"round {round}: {'verified' if good else 'FAILED'}")
    return ok, lines


@app.main()
def main(grid: Grid, context: Context) -> None:
    cfg = settings(context.run_config)
    out = Path(cfg["out-dir"])
    out.mkdir(parents=True, exist_ok=True)
    from zkagg.chain.store import ContentStore, DirectoryStore

    store = ContentStore(DirectoryStore(out / "store"))
    keys: dict[str, Any] = ({"ptau": cfg["ptau"]} if cfg["ptau"]
                            else {"setup": "insecure_single_party_setup"})
    if not cfg["ptau"]:
        log.warning("zkagg: no ptau in the run config: single-party setup (examples only)")
    with LedgerServer(None, port=cfg["ledger-port"], authkey=bytes.fromhex(cfg["ledger-key"])) as served:
        workflow = ZkaggWorkflow(n_clients=cfg["n-clients"], ledger=ledger_source(cfg, served), max_weight=1000,
                                 quantization=Quantization(bits=16, frac_bits=12, clip=4.0),
                                 clip_updates=cfg["clip-updates"], store=store, **keys)
        served.ledger = OpenedLedger(workflow)  # the clients reach the job's ledger once it is open
        strategy = FedAvg(fraction_evaluate=1.0, min_train_nodes=2, min_available_nodes=cfg["n-clients"])
        result = strategy.start(grid=ZkaggGrid(grid, workflow), num_rounds=cfg["num-server-rounds"],
                                initial_arrays=ArrayRecord(Net(cfg["hidden"]).state_dict()))
    ok, lines = audit(workflow, store) if workflow.rounds else (False, ["no round was proved"])
    for line in lines:
        log.info("zkagg audit: %s", line)
    log.info("zkagg: audit %s", "passed" if ok else "FAILED")
    rounds = {str(r): {"survivors": list(rec.survivors), "dropped": list(rec.dropped),
                       "total_weight": rec.proof.total_weight, "model_hash": rec.model_hash.hex(),
                       "proofs": [c.proof.to_bytes().hex() for c in rec.proof.chunks]}
              for r, rec in sorted(workflow.rounds.items())}
    contract = getattr(workflow.ledger, "contract", None)
    summary = {"job_id": workflow.job_id.hex(), "ledger": cfg["ledger"],
               "contract": getattr(contract, "address", None), "rounds": rounds, "halted": workflow.halted,
               "audit_ok": ok, "audit": lines,
               "evaluate_accuracy": {str(r): m.get("accuracy") for r, m in result.evaluate_metrics_clientapp.items()}}
    (out / "rounds.json").write_text(json.dumps(summary, indent=1))
    log.info("zkagg: rounds, proofs and the audit verdict in %s", (out / "rounds.json").resolve())
