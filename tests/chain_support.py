"""Shared pieces of the chain tests: the two backends, one small aggregation job, and helpers.

The same suites run on the embedded EVM (eth-tester + py-evm) and on anvil (a real JSON-RPC node
on 127.0.0.1, started once per test session). The job is small on purpose: a pairing check costs
about a second on py-evm.
"""

from __future__ import annotations

import atexit
import secrets
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from zkagg.aggregation import AggregationJob
from zkagg.chain.anvil import anvil
from zkagg.chain.client import Chain
from zkagg.chain.ledger import ChainLedger
from zkagg.groth16 import ProvingKey
from zkagg.ledger import Slots
from zkagg.secagg import DropPoint, Quantization, SecAggConfig, simulate_round
from zkagg.secagg.aggregator import RoundResult

BACKENDS = ["embedded", "anvil"]
N, D = 4, 20  # 20 parameters, 9 per element: 3 elements, chunks of 2 → 2 chunks
_stack = ExitStack()
atexit.register(_stack.close)


@cache
def _anvil_url() -> str:
    return _stack.enter_context(anvil())


def new_chain(backend: str) -> Chain:
    return Chain.embedded() if backend == "embedded" else Chain.connect(_anvil_url())


def make_job(chunk_len: int = 2, model_length: int = D, n: int = N) -> AggregationJob:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=n, model_length=model_length,
                          neighbours=min(3, n - 1), max_weight=1000,
                          quantization=Quantization(bits=16, frac_bits=12, clip=4.0))
    return AggregationJob(config, chunk_len=chunk_len)


@cache
def shared_job() -> tuple[AggregationJob, ProvingKey]:
    job = make_job()
    return job, job.insecure_single_party_setup()


def with_job_id(job: AggregationJob) -> AggregationJob:
    """The same circuit (and key) under a fresh job id."""
    from dataclasses import replace

    return AggregationJob(replace(job.config, job_id=secrets.token_bytes(32)), job.chunk_len)


def run_round(ledger: ChainLedger, job: AggregationJob, round: int,
              dropouts: dict[int, DropPoint] | None = None, seed: int = 0) -> RoundResult:
    rng = np.random.default_rng(seed + round)  # test data only
    cfg = job.config
    updates = {c: (rng.uniform(-1, 1, cfg.model_length), int(rng.integers(1, 1000)))
               for c in range(cfg.n_clients)}
    return simulate_round(cfg, updates, round=round, ledger=ledger, dropouts=dropouts or {},
                          commit=job.commit)


@dataclass(frozen=True)
class State:
    """Everything a refused write must leave as it was."""

    round: Any
    job: Any
    balance: int
    mask_commitments: dict[int, int]
    submissions: dict[int, tuple[int, int]]


def state(ledger: ChainLedger, job_id: bytes, round: int) -> State:
    c = ledger.contract
    return State(c.round_info(job_id, round), c.job_info(job_id), c.chain.balance(c.address),
                 ledger.mask_commitments(job_id, round), ledger.submissions(job_id, round))


def empty_slots(job: AggregationJob) -> Slots:
    n = job.config.n_clients
    return Slots((job.empty_commitment,) * n, (0,) * n)
