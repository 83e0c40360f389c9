"""The ledger a round is fixed on: mask sets, mask commitments e_u, submissions (c_u, w_u), the
survivors U / dropped D, and the accepted model hash of each proved round.

The protocol talks to this interface only. `MemoryLedger` keeps it in memory for simulations and
tests; the contract-backed ledger records the same facts on-chain with the same rules. Every write
is checked before anything changes, so a refused write (replay, late, unknown party) leaves the
ledger as it was.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from .bn254.constants import FR_MODULUS
from .errors import InputError, LedgerError, ProofRejectedError
from .identity import Ed25519Signer, check_identity


@dataclass(frozen=True)
class MaskSet:
    attempt: int
    members: tuple[int, ...]
    final: bool


@dataclass(frozen=True)
class Outcome:
    """Fixed when submissions close: who submitted (U) and who is in the mask set but did not (D)."""

    survivors: tuple[int, ...]
    dropped: tuple[int, ...]


@dataclass(frozen=True)
class Slots:
    """Per client slot, what a round's chunk proofs are checked against: the commitment a_k (c_k
    for a survivor, e_k for a dropped client, the job's empty commitment otherwise) and the weight
    w_k (0 unless k survived)."""

    commitments: tuple[int, ...]
    weights: tuple[int, ...]

    @property
    def total_weight(self) -> int:
        return sum(self.weights)


class RoundVerifier(Protocol):
    """A job's proof check, as the ledger uses it (`AggregationJob.verifier(vk)` makes one)."""

    @property
    def empty_commitment(self) -> int: ...

    def model_hash(self, round: int, slots: Slots, proof: Any) -> bytes | None:
        """The proved model's hash, or None if the proof does not prove it for these slots."""
        ...


@runtime_checkable
class PointRoundVerifier(Protocol):
    """A v2 job's acceptance check (`zkagg.aggregation.pipeline.KzgRoundVerifier`): the ledger
    hands it its own records — U, D, the posted digests, N it computed — and the acceptance the
    aggregator sent (revealed points and the round proof). It returns the model hash to store, or
    raises a named ZkaggError (nothing is stored then)."""

    def accept_points(self, chain_id: int, ledger: bytes, job_id: bytes, round: int, outcome: Outcome,
                      submitted: Mapping[int, int], masks: Mapping[int, int], total_weight: int,
                      acceptance: Any) -> bytes: ...


class Ledger(Protocol):
    def identity(self, job_id: bytes, slot: int) -> bytes | None:
        """The long-term identity enrolled for a client slot (secagg.identity), None if none."""
        ...

    def post_mask_set(self, job_id: bytes, round: int, attempt: int, members: tuple[int, ...]) -> None: ...
    def post_mask_commitment(self, job_id: bytes, round: int, attempt: int, client: int, digest: int) -> None: ...
    def close_masking(self, job_id: bytes, round: int, attempt: int) -> tuple[int, ...]: ...
    def mask_set(self, job_id: bytes, round: int) -> MaskSet | None: ...
    def mask_commitments(self, job_id: bytes, round: int) -> dict[int, int]: ...
    def post_submission(self, job_id: bytes, round: int, client: int, digest: int, weight: int) -> None: ...
    def close_submissions(self, job_id: bytes, round: int) -> Outcome: ...
    def submissions(self, job_id: bytes, round: int) -> dict[int, tuple[int, int]]: ...
    def outcome(self, job_id: bytes, round: int) -> Outcome | None: ...
    def accept_round(self, job_id: bytes, round: int, proof: Any) -> bytes: ...
    def model_hash(self, job_id: bytes, round: int) -> bytes | None: ...


def round_slots(ledger: Ledger, job_id: bytes, round: int, n_clients: int, empty: int) -> Slots:
    """The slots of a closed round, from the ledger's records alone."""
    outcome = ledger.outcome(job_id, round)
    if outcome is None:
        raise LedgerError("submissions are not closed for this round")
    posted, masks = ledger.submissions(job_id, round), ledger.mask_commitments(job_id, round)
    commitments, weights = [empty] * n_clients, [0] * n_clients
    for k in outcome.survivors:
        commitments[k], weights[k] = posted[k]
    for k in outcome.dropped:
        commitments[k] = masks[k]
    return Slots(tuple(commitments), tuple(weights))


#: how many round numbers a new round may skip (as the contract: nobody can exhaust the counter)
MAX_ROUND_SKIP = 1024


@dataclass
class _Round:
    deadline: float | None = None  # of the open phase (None: the job has no windows)
    attempt: int = -1
    members: tuple[int, ...] = ()
    masking_closed: bool = False
    final: bool = False
    commitments: dict[int, int] = field(default_factory=dict)  # of the current attempt
    submissions: dict[int, tuple[int, int]] = field(default_factory=dict)
    outcome: Outcome | None = None
    model_hash: bytes | None = None


@dataclass(frozen=True)
class _Job:
    n_clients: int
    max_weight: int
    verifier: RoundVerifier | PointRoundVerifier | None
    identities: dict[int, bytes] = field(default_factory=dict)
    mask_window: float | None = None
    submit_window: float | None = None


class MemoryLedger:
    """An in-memory Ledger. Deadlines are explicit `close_*` calls.

    Enrollment binds each client slot to a long-term identity (an Ed25519 public key here; the
    contract binds an Ethereum account), which every round key must be signed with. `open_job`
    without `identities` enrolls a fresh Ed25519 key per slot and keeps the private keys for the
    simulation's clients (`signer`), as the contract-backed ledger keeps its client accounts; a
    deployment passes the clients' public identities instead and the clients keep their keys.
    Reads never change the ledger; a refused write leaves it as it was.

    Deadlines: a job opened with `mask_window` and `submit_window` (seconds of the ledger's clock
    `now`, moved on by `advance_time`) closes a phase early only once every member has acted,
    else only after its deadline, as the contract does. Without windows the caller's `close_*`
    is the deadline (a simulation that trusts its aggregator).
    """

    def __init__(self, chain_id: int = 0) -> None:
        #: where v2 digests and proofs are bound to (as a chain id and a contract address): a fresh
        #: random address per ledger, so nothing posted to one ledger is accepted by another
        self.chain_id = chain_id
        self.address = secrets.token_bytes(20)
        self._jobs: dict[bytes, _Job] = {}
        self._rounds: dict[tuple[bytes, int], _Round] = {}
        self._signers: dict[tuple[bytes, int], Ed25519Signer] = {}
        self._next_round: dict[bytes, int] = {}
        self.now = 0.0

    def open_job(self, job_id: bytes, n_clients: int, max_weight: int,
                 verifier: RoundVerifier | PointRoundVerifier | None = None, *,
                 identities: Mapping[int, bytes] | None = None, mask_window: float | None = None,
                 submit_window: float | None = None) -> None:
        """A new job; without a verifier it records rounds but accepts no proof. `identities`
        ({slot: identity}) enrolls the given identities (slots left out stay unenrolled until
        `enroll`); None enrolls a simulation key per slot."""
        if job_id in self._jobs:
            raise LedgerError(f"job {job_id.hex()} already exists")
        if (mask_window is None) != (submit_window is None) or any(
                w is not None and not w > 0 for w in (mask_window, submit_window)):
            raise LedgerError("mask_window and submit_window: both positive, or both None")
        signers: dict[int, Ed25519Signer] = {}
        if identities is None:
            signers = {k: Ed25519Signer.generate() for k in range(n_clients)}
            enrolled = {k: s.identity for k, s in signers.items()}
        else:
            enrolled = dict(identities)
            for k, ident in enrolled.items():
                _check_enrollment(n_clients, k, ident, enrolled)
        self._jobs[job_id] = _Job(n_clients, max_weight, verifier, enrolled, mask_window, submit_window)
        self._signers.update({(job_id, k): s for k, s in signers.items()})

    def enroll(self, job_id: bytes, slot: int, identity: bytes) -> None:
        """Bind an unenrolled slot to a client's public identity (once; the job owner's call)."""
        job = self._job(job_id)
        if slot in job.identities:
            raise LedgerError(f"client slot {slot} is already enrolled")
        _check_enrollment(job.n_clients, slot, identity, job.identities)
        job.identities[slot] = identity

    def identity(self, job_id: bytes, slot: int) -> bytes | None:
        return self._job(job_id).identities.get(slot)

    def signer(self, job_id: bytes, slot: int) -> Ed25519Signer | None:
        """The simulation key of a slot this ledger enrolled itself (None otherwise)."""
        return self._signers.get((job_id, slot))

    def advance_time(self, seconds: float) -> None:
        """Move the ledger's clock on (a simulation waiting for a deadline)."""
        if not seconds >= 0:
            raise LedgerError("time only moves forward")
        self.now += seconds

    def wait_for_deadline(self, job_id: bytes, round: int) -> None:
        """If the round's open phase waits for someone, move the clock past its deadline."""
        rd = self._round(job_id, round)
        if rd.deadline is not None and self.now <= rd.deadline:
            self.now = rd.deadline + 1

    def _deadline(self, window: float | None) -> float | None:
        return None if window is None else self.now + window

    def _check_closable(self, rd: _Round, pending: bool) -> None:
        if pending and rd.deadline is not None and self.now <= rd.deadline:
            raise LedgerError(f"too early (TooEarly): members have until {rd.deadline} to act")

    def _check_late(self, rd: _Round) -> None:
        if rd.deadline is not None and self.now > rd.deadline:
            raise LedgerError(f"late (Late): the deadline {rd.deadline} has passed")

    def _job(self, job_id: bytes) -> _Job:
        job = self._jobs.get(job_id)
        if job is None:
            raise LedgerError(f"unknown job {job_id.hex()}")
        return job

    def _round(self, job_id: bytes, round: int) -> _Round:
        """The round's record; a round never written is a fresh record that is not stored (so a
        read or a refused write changes nothing) until `_store`."""
        self._job(job_id)
        return self._rounds.get((job_id, round)) or _Round()

    def _store(self, job_id: bytes, round: int, rd: _Round) -> None:
        self._rounds[(job_id, round)] = rd

    def post_mask_set(self, job_id: bytes, round: int, attempt: int, members: tuple[int, ...]) -> None:
        job, rd = self._job(job_id), self._round(job_id, round)
        if not isinstance(round, int) or isinstance(round, bool) or not 0 <= round < 1 << 64:
            raise LedgerError(f"round must be a 64-bit round number, got {round!r}")
        if rd.final:
            raise LedgerError("masking is already final for this round")
        if attempt != rd.attempt + 1:
            raise LedgerError(f"mask set attempt {attempt}: the next attempt is {rd.attempt + 1}")
        if attempt > 0 and not rd.masking_closed:
            raise LedgerError(f"attempt {rd.attempt} is still open")
        if len(set(members)) != len(members) or any(not 0 <= c < job.n_clients for c in members):
            raise LedgerError("mask set members must be distinct client slots")
        if attempt > 0 and not (set(members) < set(rd.members)):
            raise LedgerError("a retry must remove at least one client and add none")
        unenrolled = [c for c in members if c not in job.identities]
        if unenrolled:
            raise LedgerError(f"client slots {unenrolled} are not enrolled")
        first = self._next_round.get(job_id, 0)
        if attempt == 0 and not first <= round <= first + MAX_ROUND_SKIP:
            raise LedgerError(f"round {round} cannot open: the next round is {first} (WrongRound)")
        if attempt == 0:
            self._next_round[job_id] = round + 1
        rd.attempt, rd.members, rd.masking_closed = attempt, tuple(sorted(members)), False
        rd.commitments = {}
        rd.deadline = self._deadline(job.mask_window)
        self._store(job_id, round, rd)

    def post_mask_commitment(self, job_id: bytes, round: int, attempt: int, client: int, digest: int) -> None:
        rd = self._round(job_id, round)
        if attempt != rd.attempt or rd.masking_closed:
            raise LedgerError(f"mask commitments for attempt {attempt} are not open")
        if client not in rd.members:
            raise LedgerError(f"client {client} is not in the mask set")
        if client in rd.commitments:
            raise LedgerError(f"client {client} already committed its mask (replay)")
        _check_digest(digest)
        self._check_late(rd)
        rd.commitments[client] = digest

    def close_masking(self, job_id: bytes, round: int, attempt: int) -> tuple[int, ...]:
        rd = self._round(job_id, round)
        if attempt != rd.attempt or rd.masking_closed or rd.attempt < 0:
            raise LedgerError(f"attempt {attempt} is not the open one")
        self._check_closable(rd, len(rd.commitments) < len(rd.members))
        rd.masking_closed = True
        rd.final = len(rd.commitments) == len(rd.members)
        if rd.final:
            rd.deadline = self._deadline(self._job(job_id).submit_window)
        return tuple(sorted(rd.commitments))

    def mask_set(self, job_id: bytes, round: int) -> MaskSet | None:
        rd = self._round(job_id, round)
        return MaskSet(rd.attempt, rd.members, rd.final) if rd.attempt >= 0 else None

    def mask_commitments(self, job_id: bytes, round: int) -> dict[int, int]:
        return dict(self._round(job_id, round).commitments)

    def post_submission(self, job_id: bytes, round: int, client: int, digest: int, weight: int) -> None:
        job, rd = self._job(job_id), self._round(job_id, round)
        if not rd.final or rd.outcome is not None:
            raise LedgerError("submissions are not open")
        if client not in rd.members:
            raise LedgerError(f"client {client} is not in the final mask set")
        if client in rd.submissions:
            raise LedgerError(f"client {client} already submitted (replay)")
        _check_digest(digest)
        if isinstance(weight, bool) or not isinstance(weight, int) or not 1 <= weight <= job.max_weight:
            raise LedgerError(f"weight must be in [1, {job.max_weight}], got {weight!r}")
        self._check_late(rd)
        rd.submissions[client] = (digest, weight)

    def close_submissions(self, job_id: bytes, round: int) -> Outcome:
        rd = self._round(job_id, round)
        if not rd.final or rd.outcome is not None:
            raise LedgerError("submissions are not open")
        self._check_closable(rd, len(rd.submissions) < len(rd.members))
        survivors = tuple(sorted(rd.submissions))
        rd.outcome = Outcome(survivors, tuple(c for c in rd.members if c not in rd.submissions))
        return rd.outcome

    def submissions(self, job_id: bytes, round: int) -> dict[int, tuple[int, int]]:
        return dict(self._round(job_id, round).submissions)

    def outcome(self, job_id: bytes, round: int) -> Outcome | None:
        return self._round(job_id, round).outcome

    def accept_round(self, job_id: bytes, round: int, proof: Any) -> bytes:
        """Verify a round's proofs against the slots this ledger recorded; record and return the
        model hash. Refused (and nothing recorded) if the round is not closed, already accepted,
        or the proof does not verify."""
        job, rd = self._job(job_id), self._round(job_id, round)
        if job.verifier is None:
            raise LedgerError(f"job {job_id.hex()} has no verifier")
        if rd.model_hash is not None:
            raise LedgerError(f"round {round} is already accepted (replay)")
        if isinstance(job.verifier, PointRoundVerifier):
            if rd.outcome is None:
                raise LedgerError("submissions are not closed for this round")
            # N and the point selection come from this ledger's records, never from the proof
            total = sum(w for _, w in (rd.submissions[u] for u in rd.outcome.survivors))
            submitted = {u: rd.submissions[u][0] for u in rd.outcome.survivors}
            masks = {d: rd.commitments[d] for d in rd.outcome.dropped}
            rd.model_hash = job.verifier.accept_points(self.chain_id, self.address, job_id, round, rd.outcome,
                                                       submitted, masks, total, proof)
            return rd.model_hash
        slots = round_slots(self, job_id, round, job.n_clients, job.verifier.empty_commitment)
        digest = job.verifier.model_hash(round, slots, proof)
        if digest is None:
            raise ProofRejectedError(f"the proof of round {round} does not verify against the ledger")
        rd.model_hash = digest
        return digest

    def model_hash(self, job_id: bytes, round: int) -> bytes | None:
        return self._round(job_id, round).model_hash


def _check_enrollment(n_clients: int, slot: int, identity: bytes, enrolled: Mapping[int, bytes]) -> None:
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < n_clients:
        raise LedgerError(f"client slot {slot!r} is not a slot of this job")
    try:
        check_identity(identity)
    except InputError as err:
        raise LedgerError(f"client slot {slot}: {err}") from None
    if any(other == identity and k != slot for k, other in enrolled.items()):
        raise LedgerError(f"client slot {slot}: this identity is already enrolled for another slot")


def _check_digest(digest: int) -> None:
    if isinstance(digest, bool) or not isinstance(digest, int) or not 0 <= digest < FR_MODULUS:
        raise LedgerError("a digest must be a field element in [0, r)")
