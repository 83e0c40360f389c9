"""One round's proof path under aggregation v2: from the aggregator's result to an accepted round.

    witness -> chunk proofs (in any executor) -> one batched check here -> the ledger's acceptance

`KzgJob` fixes what every round of a job shares: the secure-aggregation config, the chunking
(`RoundShape`), the KZG SRS and the chunk prover (one key per chunk length, independent of n and
of the job). Its `committer(ledger)` is what clients and aggregator commit with (`KzgCommitter`),
its `verifier()` what the ledger accepts rounds with (`KzgRoundVerifier`).

The revealed points are selected by the ledger's own U and D — C_u for a survivor, E_u for a
dropped client — and each must hash to the digest its owner posted before the deadline; N is the
ledger's sum of the survivors' weights. The prover side runs the same selection against the same
records before it proves, so a round that the ledger would refuse is never proved.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from ..bn254 import G1Point, G2Point
from ..bn254.field import FrArray
from ..errors import LedgerError, ProofRejectedError, ProtocolError
from ..groth16 import VerifyingKey
from ..kzg import Srs
from ..ledger import Ledger, Outcome
from ..secagg.aggregator import RoundResult
from ..secagg.commitments import KzgCommitter, point_digest
from ..secagg.config import SecAggConfig
from ..secagg.keys import Context
from .kzg_round import (
    ChunkProver,
    KzgRoundProof,
    RoundAudit,
    RoundContext,
    RoundShape,
    audit_round,
    model_hash,
    prove_round,
    verify_round,
)


class RevealError(LedgerError):
    """A revealed point is missing, extra, not a G1 point, or does not hash to its posted digest."""


@dataclass(frozen=True)
class RoundAcceptance:
    """What the acceptance carries: the revealed points by slot (C_u for U, E_u for D) and the
    round proof (N, rho, pi, and per chunk (e_j, h_j, proof))."""

    points: Mapping[int, G1Point]
    proof: KzgRoundProof
    #: the model hash the prover expects the ledger to store (ledgers compute their own)
    model_hash: bytes = b""


def ledger_context(ledger: Any) -> tuple[int, bytes]:
    """(chain id, 20-byte address) of a ledger that accepts v2 rounds."""
    chain_id, address = getattr(ledger, "chain_id", None), getattr(ledger, "address", None)
    if not isinstance(chain_id, int) or not isinstance(address, bytes) or len(address) != 20:
        raise LedgerError("this ledger names no chain id and 20-byte address: it cannot take v2 rounds")
    return chain_id, address


def select_points(ctx: RoundContext, outcome: Outcome, submitted: Mapping[int, int], masks: Mapping[int, int],
                  points: Mapping[int, Any]) -> G1Point:
    """C_S = sum_U C_u + sum_D E_u, each revealed point checked against the digest on the ledger
    (kind C for a survivor, E for a dropped client: a swap fails). RevealError names the slot."""
    if not isinstance(points, Mapping):
        raise RevealError("the revealed points must be a mapping slot -> G1Point")
    wanted = {**{u: ("C", submitted[u]) for u in outcome.survivors}, **{d: ("E", masks[d]) for d in outcome.dropped}}
    extra = sorted(set(points) - set(wanted))
    if extra:
        raise RevealError(f"points revealed for slots {extra}, which are neither survivors nor dropped")
    where = Context(ctx.job, ctx.round)
    c_s = G1Point.infinity()
    for slot, (kind, digest) in sorted(wanted.items()):
        point = points.get(slot)
        if point is None:
            raise RevealError(f"no point revealed for slot {slot}")
        if not isinstance(point, G1Point):
            raise RevealError(f"slot {slot}: the revealed point is not a G1 point")
        if point_digest(kind, ctx.chain_id, ctx.ledger, where, slot, point) != digest:
            role = "survivor (C_u)" if kind == "C" else "dropped client (E_u)"
            raise RevealError(f"slot {slot}: the revealed point does not hash to the digest the {role} posted")
        c_s = c_s + point
    return c_s


@dataclass(frozen=True)
class KzgRoundVerifier:
    """The ledger's v2 acceptance (`ledger.PointRoundVerifier`): points selected from its own U/D
    and checked against their digests, N from its records, z recomputed, one batched pairing check,
    and the model hash keccak(job, round, N, L, m, h_0..h_{m-1})."""

    shape: RoundShape
    vk: VerifyingKey
    tau_g2: G2Point

    def accept_points(self, chain_id: int, ledger: bytes, job_id: bytes, round: int, outcome: Outcome,
                      submitted: Mapping[int, int], masks: Mapping[int, int], total_weight: int,
                      acceptance: Any) -> bytes:
        if not isinstance(acceptance, RoundAcceptance) or not isinstance(acceptance.proof, KzgRoundProof):
            raise ProofRejectedError("a v2 round is accepted with a RoundAcceptance (points and a KzgRoundProof)")
        ctx = RoundContext(chain_id, ledger, job_id, round)
        c_s = select_points(ctx, outcome, submitted, masks, acceptance.points)
        proof = acceptance.proof
        if proof.total_weight != total_weight:
            raise ProofRejectedError(f"the proof claims N = {proof.total_weight}; the ledger's survivors weigh {total_weight}")
        if not verify_round(self.vk, self.tau_g2, ctx, self.shape, c_s, proof):
            raise ProofRejectedError(f"round {round}: the batched check fails")
        return model_hash(ctx, self.shape, total_weight, proof.digests)


@dataclass(frozen=True)
class KzgJob:
    """Everything a v2 round's proof path needs; one object for Job, the durable aggregator, the
    Flower workflow, the CLI and the auditor."""

    config: SecAggConfig
    shape: RoundShape
    srs: Srs
    prover: ChunkProver

    def __post_init__(self) -> None:
        if self.shape.n_elements != self.config.n_elements:
            raise ProtocolError(f"the shape has {self.shape.n_elements} elements, the job {self.config.n_elements}")
        if self.prover.chunk_len != self.shape.chunk_len:
            raise ProtocolError(f"the prover's chunk length {self.prover.chunk_len} is not {self.shape.chunk_len}")

    @property
    def vk(self) -> VerifyingKey:
        return self.prover.pk.vk

    def committer(self, ledger: Any) -> KzgCommitter:
        """The commitments clients post on `ledger` (pass it as the secure-aggregation `commit`)."""
        chain_id, address = ledger_context(ledger)
        return KzgCommitter(self.srs, self.shape.n_elements, self.shape.blind_index, chain_id, address)

    def verifier(self) -> KzgRoundVerifier:
        return KzgRoundVerifier(self.shape, self.vk, self.srs.tau_g2)

    def context(self, ledger: Any, round: int) -> RoundContext:
        chain_id, address = ledger_context(ledger)
        return RoundContext(chain_id, address, self.config.job_id, round)

    def prove(self, result: RoundResult, ledger: Ledger, *, executor: Executor | None = None) -> RoundAcceptance:
        """The acceptance of a finished round: points selected and checked against the ledger's
        records exactly as the ledger will, then `prove_round` (C_S = MSM(S) + rho G_B, chunk
        proofs in `executor`, the opening, and the batched check, once)."""
        if result.config != self.config:
            raise ProtocolError("the round result belongs to another job")
        job_id, round = self.config.job_id, result.round
        outcome = ledger.outcome(job_id, round)
        if outcome is None:
            raise LedgerError(f"round {round}: submissions are not closed on the ledger")
        if (outcome.survivors, outcome.dropped) != (result.survivors, result.dropped):
            raise ProtocolError(f"round {round}: the result's survivors and dropped clients are not the ledger's")
        posted = ledger.submissions(job_id, round)
        submitted = {u: posted[u][0] for u in outcome.survivors}
        masks = ledger.mask_commitments(job_id, round)
        ctx = self.context(ledger, round)
        c_s = select_points(ctx, outcome, submitted, {d: masks[d] for d in outcome.dropped}, result.points)
        total = sum(posted[u][1] for u in outcome.survivors)
        proof = prove_round(self.prover, self.srs, ctx, self.shape, aggregate=result.aggregate, rho=result.rho,
                            total_weight=total, c_s=c_s, executor=executor)
        points = {k: result.points[k] for k in (*outcome.survivors, *outcome.dropped)}
        return RoundAcceptance(points, proof, model_hash(ctx, self.shape, total, proof.digests))

    def publish(self, result: RoundResult, ledger: Ledger, *,
                executor: Executor | None = None) -> tuple[RoundAcceptance, bytes]:
        """Prove, have the ledger accept, and check it stored the proved model's hash."""
        acceptance = self.prove(result, ledger, executor=executor)
        stored = ledger.accept_round(self.config.job_id, result.round, acceptance)
        if stored != acceptance.model_hash:
            raise LedgerError(f"round {result.round}: the ledger stored another model hash")
        return acceptance, stored

    def audit(self, ledger: Ledger, round: int, aggregate: FrArray, acceptance: RoundAcceptance) -> RoundAudit:
        """Replay an accepted round from the ledger's records and public data: the points are
        checked against the posted digests, then `audit_round` (MSM(S) + rho G_B = C_S, digests,
        evaluations, the batched check, the stored model hash)."""
        job_id = self.config.job_id
        outcome, stored = ledger.outcome(job_id, round), ledger.model_hash(job_id, round)
        if outcome is None or stored is None:
            return RoundAudit((f"round {round} is not accepted on the ledger",))
        posted, masks = ledger.submissions(job_id, round), ledger.mask_commitments(job_id, round)
        ctx = self.context(ledger, round)
        try:
            select_points(ctx, outcome, {u: posted[u][0] for u in outcome.survivors},
                          {d: masks[d] for d in outcome.dropped}, acceptance.points)
        except RevealError as exc:
            return RoundAudit((str(exc),))
        if acceptance.proof.total_weight != sum(posted[u][1] for u in outcome.survivors):
            return RoundAudit(("N differs from the survivors' weights on the ledger",))
        points = [acceptance.points[k] for k in (*outcome.survivors, *outcome.dropped)]
        return audit_round(self.vk, self.srs, ctx, self.shape, points, aggregate, acceptance.proof, stored)
