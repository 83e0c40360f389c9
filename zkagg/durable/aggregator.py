"""An aggregator that survives its process: every step is journaled before it is acknowledged, and
a restart replays the journal through a fresh state machine.

What is journaled (zkagg.durable.journal), in order: each accepted client message (its wire bytes),
each deadline (close, journaled before it runs), each ledger write the aggregator made with the
ledger's answer, and each verified chunk proof. A restart replays messages and deadlines through
a new `Aggregator`; its ledger writes are answered from the journal instead of being sent again.
A write made just before a crash but not yet journaled is found by reading the ledger first
(`JournaledLedger`), so no write reaches the ledger twice — and were one repeated, the ledger
refuses it as a replay.

Callers cannot know whether a step they asked for happened before a crash, so each step may be
repeated: `handle` acknowledges a redelivered message without applying it again, `close(n)`
returns deadline n's messages again if it has passed, and `publish` reuses stored proofs. A round
that failed at a deadline (DropoutError, PrivacyError) stays failed: after a restart every step
raises that error again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from pathlib import Path
from typing import Any, Protocol

from ..aggregation import (
    AggregationJob,
    ChunkProof,
    RoundProof,
    RoundWitness,
    check_chunk,
    prove_chunk,
)
from ..aggregation.pipeline import KzgJob
from ..bn254.field import FrArray
from ..errors import LedgerError, ProtocolError, StoreError, TransportError, ZkaggError
from ..groth16 import ProvingKey
from ..ledger import Ledger, MaskSet, Outcome
from ..secagg.aggregator import Aggregator, AggregatorStage, Outgoing, RoundResult
from ..secagg.commitments import CommitLike
from ..secagg.config import SecAggConfig
from ..secagg.messages import Message, decode, encode
from ..secagg.round import default_commit
from .journal import Journal, JournalLostError, Kind
from .records import LedgerWrite, decode_proof, decode_write, encode_proof, encode_write


def round_identity(config: SecAggConfig, round: int) -> bytes:
    """What a journal is bound to: the job's whole configuration and the round number."""
    fields = dataclasses.asdict(config)
    fields["job_id"] = config.job_id.hex()
    return hashlib.sha256(json.dumps({"config": fields, "round": round}, sort_keys=True).encode()).digest()


_NOT_MADE = object()


class JournaledLedger:
    """The ledger as a durable aggregator sees it. Reads pass through. A write is answered from the
    journal while the journal replays; otherwise the ledger is first read to see whether it already
    holds the write (made before a crash, not yet journaled), the write is sent only if not, and
    the answer is journaled before it is returned."""

    def __init__(self, ledger: Ledger, journal: Journal, job_id: bytes, round: int,
                 recorded: Iterable[LedgerWrite]) -> None:
        self.inner, self._journal = ledger, journal
        self._job_id, self._round = job_id, round
        self._recorded = deque(recorded)

    def _write(self, job_id: bytes, round: int, op: str, args: tuple[Any, ...],
               already: Callable[[], Any], send: Callable[[], Any]) -> Any:
        if (job_id, round) != (self._job_id, self._round):
            raise ProtocolError("this journal records another job or round")
        if self._recorded:
            rec = self._recorded.popleft()
            if (rec.op, rec.args) != (op, args):
                raise StoreError(f"the journal records {rec.op}{rec.args} where the round now writes {op}{args}")
            return rec.result
        result = already()
        if result is _NOT_MADE:
            result = send()
        self._journal.append(Kind.LEDGER, encode_write(LedgerWrite(op, args, result)))
        return result

    # -- the aggregator's writes ----------------------------------------------------------------

    def post_mask_set(self, job_id: bytes, round: int, attempt: int, members: tuple[int, ...]) -> None:
        members = tuple(sorted(members))

        def already() -> Any:
            ms = self.inner.mask_set(job_id, round)
            return None if ms and (ms.attempt, ms.members) == (attempt, members) else _NOT_MADE

        self._write(job_id, round, "post_mask_set", (attempt, members), already,
                    lambda: self.inner.post_mask_set(job_id, round, attempt, members))

    def close_masking(self, job_id: bytes, round: int, attempt: int) -> tuple[int, ...]:
        def committed() -> tuple[int, ...]:
            return tuple(sorted(self.inner.mask_commitments(job_id, round)))

        def already() -> Any:
            ms = self.inner.mask_set(job_id, round)
            return committed() if ms and ms.attempt == attempt and ms.final else _NOT_MADE

        def send() -> tuple[int, ...]:
            try:
                return self.inner.close_masking(job_id, round, attempt)
            except LedgerError:
                # A closed attempt that is not final looks open to a reader: only the ledger's
                # refusal tells. It is this attempt (checked), so it was closed before a crash.
                ms = self.inner.mask_set(job_id, round)
                if ms is None or ms.attempt != attempt:
                    raise
                return committed()

        result: tuple[int, ...] = self._write(job_id, round, "close_masking", (attempt,), already, send)
        return result

    def close_submissions(self, job_id: bytes, round: int) -> Outcome:
        def already() -> Any:
            outcome = self.inner.outcome(job_id, round)
            return _NOT_MADE if outcome is None else outcome

        result: Outcome = self._write(job_id, round, "close_submissions", (), already,
                                      lambda: self.inner.close_submissions(job_id, round))
        return result

    def accept_round(self, job_id: bytes, round: int, proof: Any) -> bytes:
        model: bytes = proof.model_hash

        def already() -> Any:
            stored = self.inner.model_hash(job_id, round)
            if stored is not None and stored != model:
                raise LedgerError(f"round {round} was accepted with another model")
            return _NOT_MADE if stored is None else stored

        result: bytes = self._write(job_id, round, "accept_round", (model,), already,
                                    lambda: self.inner.accept_round(job_id, round, proof))
        return result

    # -- clients write these themselves -------------------------------------------------------

    def post_mask_commitment(self, job_id: bytes, round: int, attempt: int, client: int, digest: int) -> None:
        raise ProtocolError("the aggregator never posts a client's mask commitment")

    def post_submission(self, job_id: bytes, round: int, client: int, digest: int, weight: int) -> None:
        raise ProtocolError("the aggregator never posts a client's submission")

    # -- reads ----------------------------------------------------------------------------------

    def identity(self, job_id: bytes, slot: int) -> bytes | None:
        return self.inner.identity(job_id, slot)

    def mask_set(self, job_id: bytes, round: int) -> MaskSet | None:
        return self.inner.mask_set(job_id, round)

    def mask_commitments(self, job_id: bytes, round: int) -> dict[int, int]:
        return self.inner.mask_commitments(job_id, round)

    def submissions(self, job_id: bytes, round: int) -> dict[int, tuple[int, int]]:
        return self.inner.submissions(job_id, round)

    def outcome(self, job_id: bytes, round: int) -> Outcome | None:
        return self.inner.outcome(job_id, round)

    def model_hash(self, job_id: bytes, round: int) -> bytes | None:
        return self.inner.model_hash(job_id, round)

    @property
    def chain_id(self) -> Any:
        """The inner ledger's (v2 digests and proofs are bound to it, not to this wrapper)."""
        return getattr(self.inner, "chain_id", None)

    @property
    def address(self) -> Any:
        return getattr(self.inner, "address", None)


#: the deadlines (0 keys, 1 shares, 2 masking, 3 inputs, 4 unmasking) that must have started before
#: the ledger can show each step of a round: the aggregator journals a deadline before it writes
_DEADLINES_BEFORE = {"a mask set": 2, "masking closed": 3, "submissions closed": 4, "an accepted model": 5}


def check_not_behind(ledger: Ledger, job_id: bytes, round: int, closes: int,
                     writes: Iterable[LedgerWrite], name: str) -> None:
    """JournalLostError when the ledger shows more of the round than the journal can explain (an
    emptied or replaced journal would start the round again) or lacks a write the journal says
    the ledger answered (another ledger, or one that lost it)."""
    ms = ledger.mask_set(job_id, round)
    outcome = ledger.outcome(job_id, round)
    model = ledger.model_hash(job_id, round)
    shown = [what for what, present in (
        ("a mask set", ms is not None), ("masking closed", ms is not None and ms.final),
        ("submissions closed", outcome is not None), ("an accepted model", model is not None)) if present]
    if shown and closes < _DEADLINES_BEFORE[shown[-1]]:
        raise JournalLostError(
            f"the ledger shows round {round} with {shown[-1]}, but journal {name} has passed only "
            f"{closes} deadline(s): the journal is behind the ledger (emptied, replaced or damaged)")
    held = {"post_mask_set": ms is not None, "close_submissions": outcome is not None,
            "accept_round": model is not None}
    for w in writes:
        if not held.get(w.op, True):
            raise JournalLostError(f"journal {name} records {w.op} for round {round}, which the ledger "
                                   "does not hold: another ledger, or it lost the write")


class ChunkProver(Protocol):
    """What proves chunks for `publish` besides this process (e.g. ray_backend.RayProver)."""

    def prove_chunks(self, witness: RoundWitness, aggregate: FrArray,
                     chunks: Iterable[int]) -> Iterator[ChunkProof]: ...


class DurableAggregator:
    """An `Aggregator` for one round whose state lives in the journal at `path`: construct it with
    the same configuration, ledger and round after a crash and it resumes where it stopped."""

    def __init__(self, config: SecAggConfig, ledger: Ledger, round: int, path: str | Path, *,
                 commit: CommitLike = default_commit) -> None:
        self.journal = Journal(path, round_identity(config, round))
        try:
            writes = [decode_write(e.payload) for e in self.journal.entries() if e.kind is Kind.LEDGER]
            closes = sum(1 for e in self.journal.entries() if e.kind is Kind.CLOSE)
            check_not_behind(ledger, config.job_id, round, closes, writes, self.journal.path.name)
            self.ledger = JournaledLedger(ledger, self.journal, config.job_id, round, writes)
            self.machine = Aggregator(config, self.ledger, round, commit=commit)
            self._accepted: set[bytes] = set()  # sha256 of each accepted message
            self._outboxes: list[list[Outgoing]] = []  # what each passed deadline sent
            self._proofs: dict[int, ChunkProof] = {}
            self._failed: ProtocolError | None = None  # the round stopped at a deadline
            self._broken = False  # a journal write failed: memory may be ahead of the disk
            self._replay()
        except BaseException:
            self.journal.close()
            raise

    def _replay(self) -> None:
        # A deadline journaled last may have been cut short by a crash: replaying it finishes it,
        # with live ledger writes once the journaled ones run out (those append to the journal).
        for entry in self.journal.entries(self.journal.count):
            try:
                if entry.kind is Kind.MESSAGE:
                    self.machine.handle(decode(entry.payload))
                    self._accepted.add(hashlib.sha256(entry.payload).digest())
                elif entry.kind is Kind.CLOSE:
                    self._close_machine()
                elif entry.kind is Kind.PROOF:
                    proof = decode_proof(entry.payload)
                    self._proofs[proof.chunk] = proof
            except (StoreError, TransportError):  # the node is down: open again once it is back
                raise
            except ZkaggError as exc:
                if exc is self._failed:
                    continue  # the round failed at this deadline; every later step says so again
                raise StoreError(f"journal entry {entry.seq} does not replay: {exc}") from exc

    def _close_machine(self) -> list[Outgoing]:
        try:
            out = self.machine.close()
        except ProtocolError as exc:  # too many dropouts, a split graph: the round cannot finish
            self._failed = exc
            raise
        except (StoreError, TransportError):  # a write not journaled, or a node that did not answer:
            self._broken = True  # memory may be ahead of the journal and the ledger; restart
            raise
        self._outboxes.append(out)
        return out

    @property
    def stage(self) -> AggregatorStage:
        return self.machine.stage

    @property
    def result(self) -> RoundResult | None:
        return self.machine.result

    @property
    def deadlines_passed(self) -> int:
        return len(self._outboxes)

    def _append(self, kind: Kind, payload: bytes) -> None:
        if self._broken:
            raise StoreError("an earlier step failed midway (a journal write or the node): restart from the journal")
        try:
            self.journal.append(kind, payload)
        except StoreError:
            self._broken = True
            raise

    def handle(self, data: bytes | Message) -> bool:
        """Accept one client message (wire bytes or a Message), journaled before this returns.
        False: these exact bytes were accepted before (a redelivery); nothing changes."""
        raw = encode(data) if isinstance(data, Message) else bytes(data)
        digest = hashlib.sha256(raw).digest()
        if digest in self._accepted:
            return False
        if self._failed is not None:
            raise self._failed
        if self._broken:
            raise StoreError("an earlier step failed midway (a journal write or the node): restart from the journal")
        try:
            self.machine.handle(decode(raw))  # a refused message raises here and leaves no trace
        except TransportError:  # a ledger read failed midway: restart from the journal
            self._broken = True
            raise
        self._append(Kind.MESSAGE, raw)
        self._accepted.add(digest)
        return True

    def close(self, deadline: int) -> list[Outgoing]:
        """Pass deadline number `deadline` (0, 1, … in the order the round needs them) and return
        what the aggregator sends; a deadline that has passed returns the same messages again."""
        if deadline < len(self._outboxes):
            return self._outboxes[deadline]
        if self._failed is not None:
            raise self._failed
        if deadline != len(self._outboxes):
            raise ProtocolError(f"deadline {deadline} comes after deadline {len(self._outboxes)}")
        # Journaled first: once a deadline has started to write to the ledger, a restart must finish
        # it before it takes any message of the stage that closed.
        self._append(Kind.CLOSE, b"")
        return self._close_machine()

    def publish(self, job: AggregationJob, pk: ProvingKey, *, prover: ChunkProver | None = None) -> bytes:
        """Prove the finished round (chunk proofs are journaled as they are made and reused after a
        restart), submit it to the ledger once, and return the model hash the ledger accepted."""
        result = self.machine.result
        if result is None:
            raise ProtocolError(f"the round is not finished (stage {self.stage.value})")
        witness = RoundWitness.of(job, result, self.ledger)
        for proof in self._proofs.values():  # stored proofs are checked like any other
            if not check_chunk(job, pk.vk, result.round, witness.record, result.aggregate, proof):
                raise StoreError(f"the journal's proof of chunk {proof.chunk} does not verify")
        todo = [j for j in range(job.layout.n_chunks) if j not in self._proofs]
        made: Iterable[ChunkProof] = (
            prover.prove_chunks(witness, result.aggregate, todo) if prover else
            (prove_chunk(job, pk, result.round, j, witness.record, *witness.chunk(j)) for j in todo)
        )
        for proof in made:  # each verified by the prover
            self._append(Kind.PROOF, encode_proof(proof))
            self._proofs[proof.chunk] = proof
        chunks = tuple(self._proofs[j] for j in range(job.layout.n_chunks))
        round_proof = RoundProof(result.round, chunks, result.aggregate, result.total_weight)
        return self.ledger.accept_round(job.config.job_id, result.round, round_proof)

    def publish_v2(self, job: KzgJob, *, executor: Executor | None = None) -> bytes:
        """Prove the finished round through the v2 pipeline (points checked against the ledger,
        chunk proofs in `executor`, the batched check once) and submit it to the ledger once
        (journaled: after a restart an accepted round is answered from the journal). The v2 chunk
        proofs are not journaled: a restart before acceptance proves the round again."""
        result = self.machine.result
        if result is None:
            raise ProtocolError(f"the round is not finished (stage {self.stage.value})")
        acceptance = job.prove(result, self.ledger, executor=executor)
        return self.ledger.accept_round(job.config.job_id, result.round, acceptance)

    def shutdown(self) -> None:
        self.journal.close()
