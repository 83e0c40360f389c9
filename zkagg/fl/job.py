"""A federated-learning job over verifiable secure aggregation: models in, proved global models out.

`Job` hides the protocol: it fixes the secure-aggregation parameters from a model template, runs the
one Groth16 setup of the job's chunk circuit, and opens the job on a ledger. Each round it takes
the clients' updates (numpy arrays, torch tensors or state_dicts shaped like the template), runs
secure aggregation, proves the aggregate, verifies the proof, has the ledger accept it, and hands
back the global model — the exact weighted mean S / N — in the template's structure and dtypes.

In one process `run_round` does all of that. Over any transport, `client` and `aggregator` give
the secure-aggregation state machines of `zkagg.secagg` configured for the job (they exchange
`zkagg.secagg.messages`), and `publish` proves and publishes the aggregator's result.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .. import kzg
from ..aggregation import AggregationJob, RoundProof, prove_round, slots, verify_round
from ..aggregation.kzg_round import ChunkProver, RoundShape
from ..aggregation.pipeline import KzgJob, RoundAcceptance
from ..bn254.field import FrArray
from ..ceremony.job_keys import PtauSource, job_proving_key, load_verified_ptau
from ..ceremony.zkey import Zkey
from ..circuit.blocks import compile_blocks
from ..circuits.chunk_v2 import chunk_circuit
from ..errors import InputError, LedgerError, ProofError, ProtocolError
from ..groth16 import ProvingKey, VerifyingKey
from ..ledger import Ledger, MemoryLedger
from ..secagg import Aggregator, Client, DropPoint, Quantization, SecAggConfig, simulate_round
from ..secagg.aggregator import RoundResult
from ..secagg.commitments import CommitLike
from ..secagg.encoding import Layout, Update, decode
from .checks import check_template, check_update, check_updates
from .estimate import check_budget, estimate
from .memory import release_free_memory
from .params import JobParams

#: the default limit of a round's estimated proving time (Job's max_round_seconds)
DEFAULT_MAX_ROUND_SECONDS = 3600.0

#: a ledger that opens the job itself once the job's key exists (e.g. one that deploys a contract);
#: a v2 job calls it with its KzgJob alone (e.g. `functools.partial(ChainLedger.create_v2, chain)`)
LedgerFactory = Callable[..., Ledger]
#: the round statements a Job runs: "v1" (the per-client chunk circuit) or "v2" (aggregation v2:
#: KZG commitments, n-independent chunk proofs, one batched check)
PROTOCOLS = ("v1", "v2")


@dataclass(frozen=True)
class PublishedRound:
    """A round whose proof was verified and accepted on the ledger."""

    round: int
    model: Any = field(repr=False)  # S / N in the template's structure: arrays, tensors or a dict
    mean: npt.NDArray[np.float64] = field(repr=False)  # the same, as one flat float64 vector
    total_weight: int  # N = Σ w_u over the survivors
    survivors: tuple[int, ...]
    dropped: tuple[int, ...]  # committed a mask, never submitted: recovered from Shamir shares
    proof: RoundProof | RoundAcceptance = field(repr=False)  # v2: the revealed points and the round proof
    prove_seconds: float
    model_hash: bytes  # what the ledger stored for the round (v1 sha256 of the chunk outputs, v2 keccak)
    aggregate: FrArray | None = field(default=None, repr=False)  # S (v2; v1 keeps it in the proof)


@dataclass(frozen=True)
class AuditReport:
    """The result of re-checking every published round against the ledger."""

    rounds: tuple[int, ...]
    failures: dict[int, str]  # round → what did not check out

    @property
    def ok(self) -> bool:
        return not self.failures


class Job:
    """One FL job: fixed parameters, one proving key, one ledger, a numbered sequence of rounds.

    `template` is a model (numpy array, torch tensor, or a mapping of them such as a state_dict)
    whose names, shapes and dtypes every update must have; its values must lie in the clip range.
    Everything is validated here, before the setup runs: the quantization budget
    (`n_clients × max_weight` sums must fit a packed slot, else BudgetError), the template, and
    the job's sizes. Keys: `ptau=` (a contributed powers of tau, object or .ptau path) derives
    them (phase 2 plus one local contribution); `proving_key=` a phase-2 `Zkey` with its `ptau=`
    reuses a ceremony's; a bare ProvingKey or no key needs `setup="insecure_single_party_setup"`
    (tests and demos only), else UnverifiableKeyError.
    `chunk_len` (packed elements per chunk proof) defaults to the longest chunk that fits a proving
    domain of 2^19 rows (`AggregationJob.fitting`): small models are one proof per round.

    `ledger` is a ledger with `open_job(job_id, n_clients, max_weight, verifier)` (default: a new
    `MemoryLedger`), or a factory `(aggregation_job, verifying_key) -> Ledger` for a ledger that
    opens the job itself once the key exists, such as
    `functools.partial(zkagg.chain.ledger.ChainLedger.create, Chain.embedded())`.

    `estimate` is a round's proving work (chunks, constraints, seconds on this machine), known
    before the setup; a job whose estimate exceeds `max_round_seconds` (None: no limit) is refused
    with ProvingBudgetError before the setup runs.

    `protocol="v2"` runs aggregation v2 (`zkagg.aggregation.pipeline`): KZG commitments posted
    as digests, a chunk circuit independent of n (the same key rules), the SRS from the same
    `ptau` (or a random tau with the insecure setup), chunk proofs in `executor` (any
    concurrent.futures Executor, e.g. `zkagg.aggregation.ray_backend.RayExecutor()`); a ledger
    factory is then called with the KzgJob alone (`partial(ChainLedger.create_v2, chain)`).

    `clip_updates=False` (the default) refuses updates outside [-clip, clip] with a BudgetError;
    True clips them, as secure aggregation does. Every tensor of the template is averaged: leave
    integer buffers (such as BatchNorm's num_batches_tracked) out of it.
    """

    def __init__(self, template: Update, *, n_clients: int, ledger: Ledger | LedgerFactory | None = None,
                 max_weight: int = 1000, quantization: Quantization | None = None,
                 neighbours: int = 10, threshold: int | None = None, chunk_len: int | None = None,
                 clip_updates: bool = False, job_id: bytes | None = None,
                 proving_key: ProvingKey | Zkey | None = None, ptau: PtauSource | None = None,
                 setup: str | None = None,
                 max_round_seconds: float | None = DEFAULT_MAX_ROUND_SECONDS, protocol: str = "v1",
                 executor: Executor | None = None) -> None:
        layout = check_template(template)
        config = SecAggConfig(
            job_id=secrets.token_bytes(32) if job_id is None else job_id, n_clients=n_clients,
            model_length=layout.size, quantization=quantization or Quantization(),
            max_weight=max_weight, neighbours=neighbours, threshold=threshold,
        )
        if ledger is not None and not (hasattr(ledger, "open_job") or callable(ledger)):
            raise InputError("ledger: expected a ledger with open_job(...) or a factory (job, vk) -> Ledger")
        check_update(layout, config, template, who="template", clip=bool(clip_updates))
        if protocol not in PROTOCOLS:
            raise InputError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
        self.protocol = protocol
        #: where a v2 round's chunk proofs run (None: here; e.g. ray_backend.RayExecutor())
        self.executor = executor
        #: the v2 round pipeline (None for a v1 job)
        self.kzg: KzgJob | None = None
        if protocol == "v2":
            self._init_v2(config, layout, chunk_len, bool(clip_updates), proving_key, ptau, setup,
                          MemoryLedger() if ledger is None else ledger)
            return
        self.aggregation = (AggregationJob.fitting(config) if chunk_len is None
                            else AggregationJob(config, chunk_len))
        #: a round's proving work, estimated before the circuit or the key exists
        self.estimate = estimate(self.aggregation)
        check_budget(self.estimate, max_round_seconds)
        #: the public parameters: send them to clients that run elsewhere
        self.params = JobParams(config, layout, self.aggregation.chunk_len, bool(clip_updates))
        r1cs = self.aggregation.r1cs
        shape = (r1cs.n_wires, r1cs.n_public)
        if isinstance(proving_key, Zkey) and (proving_key.n_vars, proving_key.n_public) != shape:
            raise InputError("proving_key: it was not made for this job's chunk circuit")
        if isinstance(proving_key, ProvingKey) and (proving_key.n_wires, proving_key.vk.n_public) != shape:
            raise InputError("proving_key: it was not made for this job's chunk circuit")
        # a key with a verifiable transcript (a Zkey and its ptau, or derived from a ptau), or
        # setup="insecure_single_party_setup" explicitly (zkagg.ceremony.job_keys)
        self.proving_key = job_proving_key(r1cs, proving_key=proving_key, ptau=ptau, setup=setup)
        self.ledger = _open_job(MemoryLedger() if ledger is None else ledger, self)
        self.next_round = 0
        self.rounds: list[PublishedRound] = []

    def _init_v2(self, config: SecAggConfig, layout: Layout, chunk_len: int | None, clip: bool,
                 proving_key: ProvingKey | Zkey | None, ptau: PtauSource | None, setup: str | None,
                 ledger: Ledger | LedgerFactory) -> None:
        """A v2 job: the chunk circuit depends on L alone (one key per chunk length, the same
        key rules), the SRS comes from the same ptau (or, with the insecure setup, from a fresh
        random tau), and the ledger accepts rounds with the job's KzgRoundVerifier."""
        from ..bench.round_v2 import chunking

        shape = chunking(config.n_elements) if chunk_len is None else RoundShape(config.n_elements, chunk_len)
        self.aggregation = AggregationJob(config, shape.chunk_len)  # the v1 statement is not built
        self.estimate = estimate(self.aggregation)
        self.params = JobParams(config, layout, shape.chunk_len, clip)
        r1cs = compile_blocks(chunk_circuit(shape.chunk_len)).materialize()
        if isinstance(proving_key, ProvingKey) and proving_key.vk.n_public != 3:
            raise InputError("proving_key: it was not made for the v2 chunk circuit")
        self.proving_key = job_proving_key(r1cs, proving_key=proving_key, ptau=ptau, setup=setup)
        del r1cs
        size = shape.blind_index + 1
        srs = (kzg.Srs.from_ptau(load_verified_ptau(ptau), size)  # type: ignore[arg-type]
               if ptau is not None else kzg.Srs.insecure_from_tau(kzg.random_tau(), size))
        self.kzg = KzgJob(config, shape, srs, ChunkProver(shape.chunk_len, self.proving_key))
        opener = getattr(ledger, "open_job", None)
        if opener is not None:
            opener(config.job_id, config.n_clients, config.max_weight, self.kzg.verifier())
            self.ledger = ledger  # type: ignore[assignment]
        else:
            assert callable(ledger)
            self.ledger = ledger(self.kzg)
        self.next_round = 0
        self.rounds = []

    @property
    def commit(self) -> CommitLike:
        """What clients commit with: KZG point digests bound to this job's ledger (v2), or the
        v1 vector hash."""
        if self.kzg is not None:
            return self.kzg.committer(self.ledger)
        return self.aggregation.commit

    @property
    def config(self) -> SecAggConfig:
        return self.params.config

    @property
    def layout(self) -> Layout:
        return self.params.layout

    @property
    def clip_updates(self) -> bool:
        return self.params.clip_updates

    @property
    def verifying_key(self) -> VerifyingKey:
        return self.proving_key.vk

    @property
    def job_id(self) -> bytes:
        return self.config.job_id

    @property
    def model(self) -> Any:
        """The latest published global model (None before the first round)."""
        return self.rounds[-1].model if self.rounds else None

    # -- in one process ---------------------------------------------------------------------

    def run_round(self, updates: Mapping[int, tuple[Update, int]], *,
                  dropouts: Mapping[int, DropPoint] | None = None) -> PublishedRound:
        """One whole round in this process over `updates` ({client id: (update, weight)}).

        The updates are checked first (a bad one raises and nothing is recorded); `dropouts`
        simulates clients that vanish at a point of the protocol. Returns the published round.
        A round that fails after it started on the ledger (DropoutError, PrivacyError, ...) is
        abandoned: its number is not reused; one refused before the ledger recorded anything of it
        leaves the number to the next round.
        """
        try:
            return self._round_in_process(updates, dropouts)
        finally:  # its frame is gone: hand the round's temporaries back to the OS
            release_free_memory()

    def _round_in_process(self, updates: Mapping[int, tuple[Update, int]],
                          dropouts: Mapping[int, DropPoint] | None) -> PublishedRound:
        checked = check_updates(self.layout, self.config, updates, clip=self.clip_updates)
        drops = dict(dropouts or {})
        for client, point in drops.items():
            if client not in checked or not isinstance(point, DropPoint):
                raise InputError(f"dropouts: {client!r} → {point!r} is not a DropPoint of a client in updates")
        round = self.next_round
        try:
            result = simulate_round(self.config, checked, round=round, ledger=self.ledger,
                                    dropouts=drops, commit=self.commit)
        except BaseException:
            if self._started_on_ledger(round):
                self.next_round = round + 1
            raise
        self.next_round = round + 1
        return self.publish(result)

    # -- over any transport -----------------------------------------------------------------

    def client(self, client_id: int, update: Update, weight: int, *, round: int) -> Client:
        """A client's secure-aggregation state machine for `round` (the aggregator's), on this
        job's ledger; `JobParams.client` makes the same elsewhere from `job.params`."""
        if self.kzg is not None:
            checked = check_updates(self.layout, self.config, {client_id: (update, weight)}, clip=self.clip_updates)
            flat, w = checked[client_id]
            return Client(self.config, self.ledger, client_id, round, flat, w, commit=self.commit)
        return self.params.client(self.ledger, client_id, update, weight, round=round)

    def aggregator(self) -> Aggregator:
        """The aggregator's state machine for the next round; the round number (`.ident.round`,
        which the clients need) is taken now. When its stage is DONE, pass `.result` to `publish`."""
        return Aggregator(self.config, self.ledger, self._take_round(), commit=self.commit)

    def publish(self, result: RoundResult) -> PublishedRound:
        """Prove a finished round, verify the proof against the ledger's commitments, have the
        ledger accept it, and return the global model."""
        if result.config != self.config:
            raise ProtocolError("the round result belongs to another job")
        if any(p.round == result.round for p in self.rounds):
            raise ProtocolError(f"round {result.round} is already published")
        if self.kzg is not None:
            return self._publish_v2(result)
        start = time.perf_counter()
        proof = prove_round(self.aggregation, self.proving_key, result, self.ledger)
        seconds = time.perf_counter() - start
        record = slots(self.aggregation, self.ledger, result.round)
        if not verify_round(self.aggregation, self.verifying_key, proof, record):
            raise ProofError(f"round {result.round}: the proof does not verify against the ledger")
        model_hash = self.ledger.accept_round(self.job_id, result.round, proof)
        if model_hash != proof.model_hash:
            raise LedgerError(f"round {result.round}: the ledger stored another model hash")
        # U and D as the ledger fixed them, not as the aggregator's result claims
        outcome = self.ledger.outcome(self.job_id, result.round)
        if outcome is None:
            raise LedgerError(f"round {result.round}: the ledger has no outcome")
        mean = decode(proof.aggregate, proof.total_weight, self.config)
        published = PublishedRound(
            round=result.round, model=self.layout.unflatten(mean), mean=mean,
            total_weight=proof.total_weight, survivors=outcome.survivors, dropped=outcome.dropped,
            proof=proof, prove_seconds=seconds, model_hash=model_hash,
        )
        self.rounds.append(published)
        self.next_round = max(self.next_round, result.round + 1)
        return published

    def _publish_v2(self, result: RoundResult) -> PublishedRound:
        """The one v2 proof path (zkagg.aggregation.pipeline): points checked against the
        ledger, chunk proofs, the batched check once, the ledger's acceptance."""
        assert self.kzg is not None
        start = time.perf_counter()
        acceptance, model_hash = self.kzg.publish(result, self.ledger, executor=self.executor)
        seconds = time.perf_counter() - start
        outcome = self.ledger.outcome(self.job_id, result.round)
        if outcome is None:
            raise LedgerError(f"round {result.round}: the ledger has no outcome")
        n = acceptance.proof.total_weight
        mean = decode(result.aggregate, n, self.config)
        published = PublishedRound(
            round=result.round, model=self.layout.unflatten(mean), mean=mean, total_weight=n,
            survivors=outcome.survivors, dropped=outcome.dropped, proof=acceptance, prove_seconds=seconds,
            model_hash=model_hash, aggregate=result.aggregate,
        )
        self.rounds.append(published)
        self.next_round = max(self.next_round, result.round + 1)
        return published

    # -- audit ------------------------------------------------------------------------------

    def audit(self) -> AuditReport:
        """Re-check every published round against the ledger: the proof verifies against the
        commitments and weights the ledger recorded, the ledger stored the proved model's hash,
        and the published model is the deterministic decoding of the proved aggregate."""
        failures: dict[int, str] = {}
        for p in self.rounds:
            problem = self._audit_round(p)
            if problem:
                failures[p.round] = problem
        return AuditReport(tuple(p.round for p in self.rounds), failures)

    def _audit_round(self, p: PublishedRound) -> str | None:
        cfg = self.config
        if self.kzg is not None:
            if not isinstance(p.proof, RoundAcceptance) or p.aggregate is None:
                return "not a v2 round"
            verdict = self.kzg.audit(self.ledger, p.round, p.aggregate, p.proof)
            if not verdict.ok:
                return "; ".join(verdict.failures)
            if not np.array_equal(decode(p.aggregate, p.total_weight, cfg), p.mean):
                return "the published model is not the decoding of the proved aggregate"
            return None
        if not isinstance(p.proof, RoundProof):
            return "not a v1 round proof"
        outcome = self.ledger.outcome(cfg.job_id, p.round)
        if outcome is None or (outcome.survivors, outcome.dropped) != (p.survivors, p.dropped):
            return "survivors and dropped clients differ from the ledger's"
        record = slots(self.aggregation, self.ledger, p.round)
        if record.total_weight != p.total_weight:
            return "N differs from the survivors' weights on the ledger"
        if not verify_round(self.aggregation, self.verifying_key, p.proof, record):
            return "the proof does not verify against the ledger's records"
        if self.ledger.model_hash(cfg.job_id, p.round) != p.proof.model_hash:
            return "the ledger's model hash is not the proved model's"
        if not np.array_equal(decode(p.proof.aggregate, p.proof.total_weight, cfg), p.mean):
            return "the published model is not the decoding of the proved aggregate"
        return None

    def _started_on_ledger(self, round: int) -> bool:
        """Whether the ledger recorded anything of `round` (a mask set is its first write); when
        the ledger cannot be read, assume it did: a skipped number is harmless, a reused one not."""
        try:
            return self.ledger.mask_set(self.job_id, round) is not None
        except Exception:
            return True

    def _take_round(self) -> int:
        round, self.next_round = self.next_round, self.next_round + 1
        return round


def _open_job(ledger: Ledger | LedgerFactory, job: Job) -> Ledger:
    """The ledger with the job opened on it: slots, weight bound and the round verifier."""
    return open_ledger(ledger, job.aggregation, job.verifying_key)


def open_ledger(ledger: Ledger | LedgerFactory, aggregation: AggregationJob, vk: VerifyingKey) -> Ledger:
    """Open `aggregation`'s job on `ledger` (a ledger with `open_job`, or a factory
    `(aggregation, vk) -> Ledger` such as a chain ledger's `create`) and return the ledger to use."""
    opener = getattr(ledger, "open_job", None)
    if opener is not None:
        cfg = aggregation.config
        opener(cfg.job_id, cfg.n_clients, cfg.max_weight, aggregation.verifier(vk))
        return ledger  # type: ignore[return-value]
    if not callable(ledger):
        raise InputError("ledger: expected a ledger with open_job(...) or a factory (job, vk) -> Ledger")
    return ledger(aggregation, vk)
