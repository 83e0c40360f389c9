"""The ledger `zkagg demo` runs on: the chain ledger (embedded EVM, or a node by URL) or memory.

On a chain it also keeps what the Ledger protocol does not say: the gas of every transaction
(the chain's gas log), the published models in content-addressed storage, and the auditor's
replay of the job from the chain's events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from ..aggregation.prover import RoundProof
from ..errors import InputError
from ..ledger import Ledger, MemoryLedger
from .job import Job, LedgerFactory, PublishedRound

KINDS = ("chain", "memory")


class _Blobs:
    """Content-addressed storage kept in memory (the demo's stand-in for IPFS or a bucket)."""

    def __init__(self) -> None:
        self._data: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self._data[key] = data

    def get(self, key: str) -> bytes | None:
        return self._data.get(key)


@dataclass
class DemoLedger:
    ledger: Ledger | LedgerFactory  # what Job takes
    name: str
    chain: Any = None  # zkagg.chain.client.Chain, on a chain
    store: Any = None  # zkagg.chain.store.ContentStore, on a chain
    audit_lines: list[str] = field(default_factory=list)
    rpc: str | None = None  # the node's URL (None: embedded EVM or memory)
    store_dir: str | None = None  # the folder of the content store (None: kept in memory)

    @classmethod
    def choose(cls, kind: str = "chain", rpc: str | None = None, *, timeouts: Any = None,
               progress: Any = None, store_dir: str | None = None) -> DemoLedger:
        """`chain`: the contracts on the embedded EVM, or on the node at `rpc` (requests bounded by
        `timeouts`, `progress` told while waiting), the published models in a content store in
        the folder `store_dir` (in memory if None); `memory`: MemoryLedger."""
        if kind not in KINDS:
            raise InputError(f"ledger must be one of {KINDS}, not {kind!r}")
        if kind == "memory":
            if rpc is not None:
                raise InputError("--rpc needs the chain ledger, not the in-memory one")
            return cls(MemoryLedger(), "in-memory ledger")
        from ..chain.client import Chain
        from ..chain.ledger import ChainLedger
        from ..chain.store import ContentStore, DirectoryStore

        blobs = _Blobs() if store_dir is None else DirectoryStore(Path(store_dir))
        chain = Chain.embedded() if rpc is None else Chain.connect(rpc, timeouts=timeouts, progress=progress)
        name = "embedded EVM" if rpc is None else f"node at {rpc}"
        # the factory deploys the ledger and the job's verifier once the job's key exists
        return cls(partial(ChainLedger.create, chain), name, chain, ContentStore(blobs), rpc=rpc,
                   store_dir=store_dir)

    def address(self, job: Job) -> str | None:
        """The job's JobLedger contract address, on a chain."""
        contract = getattr(job.ledger, "contract", None)
        return None if contract is None else str(contract.address)

    def gas_mark(self) -> int:
        return len(self.chain.gas_log) if self.chain is not None else 0

    def gas_since(self, mark: int) -> tuple[int | None, int | None]:
        """Gas since `mark`: of the round's acceptance, and of all its transactions."""
        if self.chain is None:
            return None, None
        entries = self.chain.gas_log[mark:]
        return sum(g for name, g in entries if name == "acceptRound"), sum(g for _, g in entries)

    def store_model(self, job: Job, published: PublishedRound) -> None:
        """Put the published model (S, N) in content-addressed storage under its model hash."""
        if self.store is None:
            return
        from ..chain.store import Model

        aggregate = published.aggregate
        if aggregate is None and isinstance(published.proof, RoundProof):
            aggregate = published.proof.aggregate
        if aggregate is None:
            raise InputError("the published round carries no aggregate")
        model = Model(aggregate, published.total_weight, job.aggregation.layout.chunk_len)
        if self.store.put_model(model) != published.model_hash:
            raise InputError("the stored model's hash differs from the accepted one")

    def audit(self, job: Job) -> bool:
        """The job's own audit against the ledger and, on a chain, the auditor's replay of the job
        from the chain's events alone (proofs, model hashes, stored models)."""
        own = job.audit()
        self.audit_lines = [f"round {r}: {why}" for r, why in own.failures.items()]
        if self.chain is None:
            return own.ok
        from ..chain.audit import audit

        report = audit(job.ledger.contract, job.job_id, self.store)  # type: ignore[attr-defined]
        self.audit_lines += report.format().splitlines()
        return own.ok and report.ok
