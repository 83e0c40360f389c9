"""`zkagg demo`: federated digits classification where every round is proved and accepted on a ledger.

Eight clients hold label-skewed shards of scikit-learn's digits and train a small MLP locally;
each round their models are securely aggregated, the aggregate is proved, the proof verified and
accepted on the ledger (the contracts on an embedded EVM by default), and the global model is the
proved weighted mean; at the end the job is audited from the ledger. One client drops out
mid-round after committing its mask, so the aggregator recovers its mask from Shamir shares. Beside
it runs plain float FedAvg on the same data, seeds and dropout schedule: the non-private
baseline the private model must match (within a percentage point of accuracy).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ..ceremony.job_keys import INSECURE_SINGLE_PARTY_SETUP, PtauSource
from ..errors import InputError, check_int
from ..secagg import DropPoint
from .demo_ledger import DemoLedger
from .job import Job


@dataclass(frozen=True)
class LocalTraining:
    """Each client's work per round: mini-batch SGD over its shard."""

    epochs: int = 10
    lr: float = 0.1
    batch_size: int = 16


@dataclass(frozen=True)
class DemoConfig:
    rounds: int = 5
    n_clients: int = 8
    seed: int = 0  # data split, model initialisation and local training (never the protocol)
    alpha: float = 0.5  # Dirichlet label skew
    hidden: int = 32
    training: LocalTraining = field(default_factory=LocalTraining)
    dropout_client: int = 5
    #: the ledger's round number (0 is the first, as in `zkagg audit`); a shorter run drops the
    #: client in its last round
    dropout_round: int = 1

    def __post_init__(self) -> None:
        check_int("rounds", self.rounds, 1, 1000)
        check_int("n_clients", self.n_clients, 3, 64)
        check_int("seed", self.seed, 0, 2**32 - 1)  # torch and numpy seeds
        check_int("dropout_client", self.dropout_client, 0, self.n_clients - 1)
        check_int("dropout_round", self.dropout_round, 0)

    @property
    def drop_in_round(self) -> int:
        return min(self.dropout_round, self.rounds - 1)

    def steps(self) -> int:
        """Steps reported to Events.step: setup, each client's training and aggregation, audit."""
        return 1 + self.rounds * (self.n_clients + 1) + 1


@dataclass(frozen=True)
class RoundRow:
    round: int  # the ledger's round number (0 is the first)
    accuracy: float  # test accuracy of the proved global model
    fedavg_accuracy: float  # test accuracy of plain float FedAvg after the same round
    survivors: int
    dropped: list[int]
    total_weight: int  # N
    prove_s: float
    round_s: float  # secure aggregation + proof + verification + acceptance
    gas: int | None  # gas of the acceptance (the on-chain proof check), on a chain
    round_gas: int | None  # gas of all the round's transactions (clients' included), on a chain
    max_error: float  # max |proved mean − float weighted mean of the same updates|


def _ignore(_: object) -> None:
    pass


@dataclass(frozen=True)
class Events:
    """What the demo reports while it runs (for progress bars): `step` before each step (the
    setup, each client's training, each round's aggregation, the audit), `round_done` after each
    round with its row of the table, `waiting` while a chain node is slow to answer."""

    step: Callable[[str], None] = _ignore
    round_done: Callable[[RoundRow], None] = _ignore
    waiting: Callable[[str], None] = _ignore


@dataclass
class DemoResult:
    config: DemoConfig
    ledger: str
    parameters: int
    constraints: int
    chunks: int
    setup_s: float
    initial_accuracy: float
    rows: list[RoundRow]
    audit_ok: bool
    total_s: float
    audit_lines: list[str] = field(default_factory=list)  # the auditor's report
    job_id: str = ""  # 0x + 64 hex digits
    ledger_address: str | None = None  # the JobLedger contract, on a chain
    rpc: str | None = None  # the node it lives on (None: the embedded EVM, gone after the run)
    store_dir: str | None = None  # the folder of the stored models (None: kept in memory)

    @property
    def final_accuracy(self) -> float:
        return self.rows[-1].accuracy

    @property
    def fedavg_accuracy(self) -> float:
        return self.rows[-1].fedavg_accuracy

    def to_json(self) -> dict[str, Any]:
        return {
            "final_accuracy": self.final_accuracy, "fedavg_accuracy": self.fedavg_accuracy,
            "audit_ok": self.audit_ok, "initial_accuracy": self.initial_accuracy,
            "rounds": [asdict(r) for r in self.rows], "ledger": self.ledger,
            "parameters": self.parameters, "constraints": self.constraints, "chunks": self.chunks,
            "setup_s": self.setup_s, "total_s": self.total_s, "config": asdict(self.config),
            "audit": self.audit_lines, "job_id": self.job_id,
            "ledger_address": self.ledger_address, "rpc": self.rpc,
            "store": self.store_dir,
        }


def run(config: DemoConfig, *, ledger: str = "chain", rpc: str | None = None,
        events: Events | None = None, timeouts: Any = None,
        ptau: PtauSource | None = None, store_dir: str | None = None) -> DemoResult:
    """Run the demo (needs torch and scikit-learn) and return its figures. `ledger`: "chain" (the
    contracts on the embedded EVM, or on the JSON-RPC node at `rpc`, whose requests are bounded
    by `timeouts`, a zkagg.chain.transport.Timeouts) or "memory". `ptau`: a contributed powers
    of tau (e.g. a public ceremony's prepared .ptau) the job's keys are derived from; without it
    the demo uses a single-party setup, named as such (demo only). `store_dir`: the folder the
    published models are stored in on a chain, so `zkagg audit --store` can check them later."""
    try:
        import sklearn  # noqa: F401

        from . import training
    except ImportError as err:
        raise InputError(f"the demo needs torch and scikit-learn ({err.name} is missing): "
                         "install zkagg with its demo extra") from None

    events = events or Events()
    chosen = DemoLedger.choose(ledger, rpc, timeouts=timeouts, progress=events.waiting,
                               store_dir=store_dir)
    with training.one_thread():
        return _run(config, chosen, events, ptau)


def _run(config: DemoConfig, ledger: DemoLedger, events: Events, ptau: PtauSource | None = None) -> DemoResult:
    from . import digits, training

    step = events.step
    started = time.perf_counter()
    fed = digits.load(n_clients=config.n_clients, alpha=config.alpha, seed=config.seed)
    model = training.make_model(config.hidden, seed=config.seed)
    initial = {k: v.detach().clone() for k, v in model.state_dict().items()}

    step("Groth16 keys of the job's chunk circuit " + ("from the powers of tau (phase 2)" if ptau is not None
         else "(insecure single-party setup: demo only)") + ", opening the job on the ledger")
    t = time.perf_counter()
    # max_weight: no client holds more samples than the whole training set
    keys: dict[str, Any] = {"ptau": ptau} if ptau is not None else {"setup": INSECURE_SINGLE_PARTY_SETUP}
    job = Job(initial, n_clients=config.n_clients, max_weight=sum(fed.sizes), ledger=ledger.ledger, **keys)
    setup_s = time.perf_counter() - t

    private, baseline = initial, initial
    rows: list[RoundRow] = []
    for r in range(config.rounds):
        drop = config.dropout_client if r == config.drop_in_round else None
        updates, float_states = {}, {}
        for c, shard in enumerate(fed.clients):
            step(f"round {job.next_round}: client {c} trains on {len(shard.y)} samples")
            seed = training.client_seed(config.seed, r, c)
            plan = asdict(config.training)
            updates[c] = (training.train_locally(model, private, shard, seed=seed, **plan), len(shard.y))
            float_states[c] = training.train_locally(model, baseline, shard, seed=seed, **plan)
        step(f"round {job.next_round}: secure aggregation, proof, ledger"
             + (f" (client {drop} drops out)" if drop is not None else ""))
        t, mark = time.perf_counter(), ledger.gas_mark()
        dropouts = {drop: DropPoint.AFTER_MASK_COMMITMENT} if drop is not None else {}
        published = job.run_round(updates, dropouts=dropouts)
        round_s = time.perf_counter() - t
        gas, round_gas = ledger.gas_since(mark)
        ledger.store_model(job, published)
        kept = list(published.survivors)
        private = published.model
        baseline = training.fedavg([float_states[c] for c in kept], [updates[c][1] for c in kept])
        exact = np.average([job.layout.flatten(updates[c][0]) for c in kept], axis=0,
                           weights=[updates[c][1] for c in kept])
        row = RoundRow(
            round=published.round, accuracy=training.accuracy(model, private, fed.test),
            fedavg_accuracy=training.accuracy(model, baseline, fed.test),
            survivors=len(kept), dropped=list(published.dropped), total_weight=published.total_weight,
            prove_s=published.prove_seconds, round_s=round_s, gas=gas, round_gas=round_gas,
            max_error=float(np.max(np.abs(published.mean - exact))),
        )
        rows.append(row)
        events.round_done(row)

    step("audit: every round replayed from the ledger")
    audit_ok = ledger.audit(job)
    return DemoResult(
        config=config, ledger=ledger.name, parameters=job.config.model_length,
        constraints=job.aggregation.r1cs.n_constraints, chunks=job.aggregation.layout.n_chunks,
        setup_s=setup_s, initial_accuracy=training.accuracy(model, initial, fed.test), rows=rows,
        audit_ok=audit_ok, total_s=time.perf_counter() - started, audit_lines=ledger.audit_lines,
        job_id="0x" + job.job_id.hex(), ledger_address=ledger.address(job), rpc=ledger.rpc,
        store_dir=ledger.store_dir,
    )

