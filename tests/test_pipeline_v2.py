"""The v2 round pipeline through the real ledger path (MemoryLedger): KZG commitments posted as
digests, revealed at acceptance, selected by the ledger's own U/D; each attack of
design-notes/aggregation-v2.md §10 that reaches the ledger is refused by name, with the ledger
unchanged, and a negative control shows the check that catches it is the one that matters."""

from __future__ import annotations

import dataclasses
import random
import secrets
from unittest import mock

import numpy as np
import pytest

from zkagg import kzg
from zkagg.aggregation import kzg_round as kr
from zkagg.aggregation.pipeline import (
    KzgJob,
    KzgRoundVerifier,
    RevealError,
    RoundAcceptance,
    select_points,
)
from zkagg.bn254 import FrArray, G1Point
from zkagg.errors import LedgerError, ProofRejectedError
from zkagg.ledger import MemoryLedger
from zkagg.secagg import DropPoint, SecAggConfig, simulate_round
from zkagg.secagg.aggregator import RoundResult
from zkagg.secagg.commitments import HashCommitter, blind_scalar, point_digest
from zkagg.secagg.encoding import encode
from zkagg.secagg.keys import Context
from zkagg.secagg.round import default_commit

D, N_CLIENTS, L = 30, 5, 8
TAU = 0x1234567890ABCDEF


@pytest.fixture(scope="module")
def prover() -> kr.ChunkProver:
    return kr.ChunkProver.insecure_single_party_setup(L, random.Random(5))


@pytest.fixture(scope="module")
def srs() -> kzg.Srs:
    return kzg.Srs.insecure_from_tau(TAU, 64)


def updates(seed: int = 0) -> dict[int, tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)  # test data only
    return {c: (rng.uniform(-3, 3, D), int(rng.integers(1, 500))) for c in range(N_CLIENTS)}


def open_job(prover: kr.ChunkProver, srs: kzg.Srs, ledger: MemoryLedger | None = None, *,
             weak: bool = False) -> tuple[KzgJob, MemoryLedger]:
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=N_CLIENTS, model_length=D, neighbours=4)
    job = KzgJob(config, kr.RoundShape(config.n_elements, prover.chunk_len), srs, prover)
    ledger = ledger or MemoryLedger()
    verifier = job.verifier()
    if weak:
        verifier = NoRevealCheck(verifier.shape, verifier.vk, verifier.tau_g2)
    ledger.open_job(config.job_id, N_CLIENTS, config.max_weight, verifier)
    return job, ledger


def run(job: KzgJob, ledger: MemoryLedger, round: int = 0, seed: int = 0,
        dropouts: dict[int, DropPoint] | None = None) -> RoundResult:
    return simulate_round(job.config, updates(seed), round=round, ledger=ledger,
                          dropouts=dropouts or {3: DropPoint.AFTER_MASK_COMMITMENT}, commit=job.committer(ledger))


@pytest.fixture(scope="module")
def accepted(prover: kr.ChunkProver, srs: kzg.Srs) -> tuple[KzgJob, MemoryLedger, RoundResult, RoundAcceptance]:
    job, ledger = open_job(prover, srs)
    result = run(job, ledger)
    acceptance, _ = job.publish(result, ledger)
    return job, ledger, result, acceptance


def test_an_honest_round_with_a_dropout_is_accepted_and_audits(accepted: tuple) -> None:
    job, ledger, result, acceptance = accepted
    assert result.dropped == (3,) and result.rho != 0  # the dropped client's blinder came back
    ctx = job.context(ledger, 0)
    n = sum(updates()[u][1] for u in result.survivors)
    assert acceptance.proof.total_weight == n
    assert ledger.model_hash(job.config.job_id, 0) == kr.model_hash(ctx, job.shape, n, acceptance.proof.digests)
    expected = FrArray.zeros(job.config.n_elements)
    for u in result.survivors:
        expected = expected + encode(*updates()[u], job.config)
    assert result.aggregate == expected
    assert job.audit(ledger, 0, result.aggregate, acceptance).ok
    # the auditor's binding check catches a published aggregate that is not the proved one
    bad = result.aggregate + FrArray.from_ints([1] + [0] * (job.config.n_elements - 1))
    assert "C_S != MSM(S) + rho G_B" in job.audit(ledger, 0, bad, acceptance).failures


def fresh_round(prover: kr.ChunkProver, srs: kzg.Srs, seed: int = 1) -> tuple[KzgJob, MemoryLedger, RoundResult,
                                                                              RoundAcceptance]:
    job, ledger = open_job(prover, srs)
    result = run(job, ledger, seed=seed)
    return job, ledger, result, job.prove(result, ledger)


def refused(ledger: MemoryLedger, job: KzgJob, acceptance: RoundAcceptance, error: type[Exception],
            match: str, round: int = 0) -> None:
    with pytest.raises(error, match=match):
        ledger.accept_round(job.config.job_id, round, acceptance)
    assert ledger.model_hash(job.config.job_id, round) is None  # nothing stored


def test_swapped_and_false_reveals_are_refused_by_name_and_leave_the_ledger_unchanged(
        prover: kr.ChunkProver, srs: kzg.Srs) -> None:
    job, ledger, result, acceptance = fresh_round(prover, srs)
    survivor, dropped = result.survivors[0], result.dropped[0]
    pts = dict(acceptance.points)
    g = G1Point.generator()
    # a point that does not match its digest
    refused(ledger, job, RoundAcceptance({**pts, survivor: pts[survivor] + g}, acceptance.proof),
            RevealError, f"slot {survivor}: the revealed point does not hash")
    # E_u revealed for a survivor: its digest is of kind E, the ledger wants kind C
    e_for_survivor = point_digest("E", ledger.chain_id, ledger.address, Context(job.config.job_id, 0), survivor,
                                  pts[survivor])
    assert e_for_survivor != ledger.submissions(job.config.job_id, 0)[survivor][0]
    refused(ledger, job, RoundAcceptance({**pts, survivor: pts[dropped]}, acceptance.proof),
            RevealError, f"slot {survivor}: .* survivor \\(C_u\\)")
    # C_u revealed for a dropped client
    refused(ledger, job, RoundAcceptance({**pts, dropped: pts[survivor]}, acceptance.proof),
            RevealError, f"slot {dropped}: .* dropped client \\(E_u\\)")
    # a missing point, an extra one, something that is not a point
    refused(ledger, job, RoundAcceptance({k: p for k, p in pts.items() if k != dropped}, acceptance.proof),
            RevealError, f"no point revealed for slot {dropped}")
    refused(ledger, job, RoundAcceptance({**pts, 99: g}, acceptance.proof), RevealError, "neither survivors")
    refused(ledger, job, RoundAcceptance({**pts, survivor: (1, 2)}, acceptance.proof),  # type: ignore[dict-item]
            RevealError, "not a G1 point")
    refused(ledger, job, acceptance.proof, ProofRejectedError, "RoundAcceptance")  # type: ignore[arg-type]
    # negative control: the untampered acceptance goes through after all the refusals
    assert ledger.accept_round(job.config.job_id, 0, acceptance) is not None
    refused_replay = pytest.raises(LedgerError, match="already accepted")
    with refused_replay:
        ledger.accept_round(job.config.job_id, 0, acceptance)


def test_tampered_proof_parts_are_refused(prover: kr.ChunkProver, srs: kzg.Srs) -> None:
    job, ledger, result, acceptance = fresh_round(prover, srs, seed=2)
    proof = acceptance.proof
    c0 = proof.chunks[0]
    tampered = {
        "N": dataclasses.replace(proof, total_weight=proof.total_weight + 1),
        "rho": dataclasses.replace(proof, rho=(proof.rho + 1) % kr.R),
        "pi": dataclasses.replace(proof, opening=proof.opening + G1Point.generator()),
        "e_j": dataclasses.replace(proof, chunks=(dataclasses.replace(c0, evaluation=(c0.evaluation + 1) % kr.R),
                                                  *proof.chunks[1:])),
        "h_j": dataclasses.replace(proof, chunks=(dataclasses.replace(c0, digest=(c0.digest + 1) % kr.R),
                                                  *proof.chunks[1:])),
    }
    if len(proof.chunks) > 1:
        tampered["order"] = dataclasses.replace(proof, chunks=(proof.chunks[1], proof.chunks[0], *proof.chunks[2:]))
    for name, bad in tampered.items():
        error = ProofRejectedError
        with pytest.raises(error):
            ledger.accept_round(job.config.job_id, 0, RoundAcceptance(acceptance.points, bad))
        assert ledger.model_hash(job.config.job_id, 0) is None, name
    assert ledger.accept_round(job.config.job_id, 0, acceptance) is not None  # negative control


def test_replays_across_round_job_and_ledger_are_refused(prover: kr.ChunkProver, srs: kzg.Srs) -> None:
    job, ledger, result, acceptance = fresh_round(prover, srs, seed=3)
    # the next round of the same job: its clients posted digests bound to round 1
    run(job, ledger, round=1, seed=3)
    refused(ledger, job, acceptance, RevealError, "does not hash", round=1)
    # the same updates and job on another ledger: digests are bound to the ledger's address
    other = MemoryLedger()
    other.open_job(job.config.job_id, N_CLIENTS, job.config.max_weight, job.verifier())
    run(job, other, seed=3)
    refused(other, job, acceptance, RevealError, "does not hash")
    # a ledger that selects the same points (their digests recomputed for it): z binds the
    # ledger, so the proof fails the batched check; negative control with the right address
    outcome = ledger.outcome(job.config.job_id, 0)
    assert outcome is not None
    verifier = job.verifier()
    n = acceptance.proof.total_weight

    def digests(address: bytes, job_id: bytes, round: int) -> tuple[dict[int, int], dict[int, int]]:
        ctx = Context(job_id, round)
        return ({u: point_digest("C", 0, address, ctx, u, acceptance.points[u]) for u in outcome.survivors},
                {d: point_digest("E", 0, address, ctx, d, acceptance.points[d]) for d in outcome.dropped})

    job_id = job.config.job_id
    right = verifier.accept_points(0, ledger.address, job_id, 0, outcome, *digests(ledger.address, job_id, 0), n,
                                   acceptance)  # negative control: the ledger the proof was made for
    assert right == kr.model_hash(job.context(ledger, 0), job.shape, n, acceptance.proof.digests)
    for address, jid, rnd in ((other.address, job_id, 0), (ledger.address, bytes(32), 0), (ledger.address, job_id, 7)):
        with pytest.raises(ProofRejectedError, match="batched check"):
            verifier.accept_points(0, address, jid, rnd, outcome, *digests(address, jid, rnd), n, acceptance)


def test_the_blinded_mask_commitment_defeats_the_guess_test(prover: kr.ChunkProver, srs: kzg.Srs) -> None:
    """F2: the aggregator holds y_u; knowing P_u it guesses T_u = y_u - P_u. With e_u = H(T_u) the
    guess is confirmed (negative control); with the blinded E_u it is not, unless the guesser also
    has s'_u — which only the dropped client's recovered seed gives."""
    job, ledger = open_job(prover, srs)
    committer = job.committer(ledger)
    ctx = Context(job.config.job_id, 0)
    rng = random.Random(9)
    mask = FrArray.random(job.config.n_elements, rng)
    p_u = FrArray.random(job.config.n_elements, rng)
    y_u = p_u + mask
    seed = rng.getrandbits(248)
    posted = committer.mask_commitment(ctx, 2, mask, seed).digest
    guess = y_u - p_u  # the right guess
    unblinded = point_digest("E", committer.chain_id, committer.ledger, ctx, 2, kzg.commit(srs, guess))
    assert unblinded != posted
    blinded = kzg.commit(srs, guess) + srs.g1_powers[job.shape.blind_index] * blind_scalar(ctx, 2, seed)
    assert point_digest("E", committer.chain_id, committer.ledger, ctx, 2, blinded) == posted
    # negative control: the v1 hash commitment confirms the same guess
    v1 = HashCommitter(default_commit)
    assert v1.mask_commitment(ctx, 2, mask, seed).digest == default_commit(guess)


def test_select_points_picks_by_the_ledgers_outcome(accepted: tuple) -> None:
    job, ledger, result, acceptance = accepted
    outcome = ledger.outcome(job.config.job_id, 0)
    posted, masks = ledger.submissions(job.config.job_id, 0), ledger.mask_commitments(job.config.job_id, 0)
    c_s = select_points(job.context(ledger, 0), outcome, {u: posted[u][0] for u in outcome.survivors},
                        {d: masks[d] for d in outcome.dropped}, acceptance.points)
    assert c_s == kr.aggregate_commitment(srs=job.srs, shape=job.shape, aggregate=result.aggregate,
                                          rho=acceptance.proof.rho)


def test_a_v2_job_publishes_the_exact_secure_mean_and_audits() -> None:
    from zkagg.ceremony.job_keys import UnverifiableKeyError
    from zkagg.fl.job import Job

    template = np.zeros(D)
    with pytest.raises(UnverifiableKeyError):  # the test-only setup must be named
        Job(template, n_clients=N_CLIENTS, neighbours=4, protocol="v2")
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(2)
    job = Job(template, n_clients=N_CLIENTS, neighbours=4, protocol="v2", setup="insecure_single_party_setup",
              chunk_len=2, executor=pool)  # three chunk proofs, in the executor
    ups = updates(11)
    published = job.run_round(ups, dropouts={2: DropPoint.AFTER_MASK_COMMITMENT})
    assert published.dropped == (2,) and isinstance(published.proof, RoundAcceptance)
    assert len(published.proof.proof.chunks) == 3
    pool.shutdown()
    weights = {u: ups[u][1] for u in published.survivors}
    float_mean = sum(ups[u][0] * w for u, w in weights.items()) / sum(weights.values())
    step = 2.0 ** -job.config.quantization.frac_bits
    assert np.max(np.abs(published.mean - float_mean)) <= step
    assert job.ledger.model_hash(job.job_id, 0) == published.model_hash
    assert job.audit().ok
    # negative control: a published model that is not the decoding of the proved aggregate
    job.rounds[0] = dataclasses.replace(published, mean=published.mean + 1.0)
    assert not job.audit().ok


class NoRevealCheck(KzgRoundVerifier):
    """Test-only weak ledger check: the revealed points are summed without comparing them to
    the posted digests (no commit-then-reveal), the rest of the acceptance unchanged."""

    def accept_points(self, chain_id, ledger, job_id, round, outcome, submitted, masks, total_weight,  # type: ignore[no-untyped-def]
                      acceptance):
        posted = {**submitted, **masks}
        with mock.patch("zkagg.aggregation.pipeline.point_digest",
                        side_effect=lambda kind, c, a, ctx, slot, point: posted[slot]):
            return super().accept_points(chain_id, ledger, job_id, round, outcome, submitted, masks,
                                         total_weight, acceptance)


@pytest.mark.parametrize("check_reveals", [True, False])
def test_rogue_cancellation_through_the_ledger(prover: kr.ChunkProver, srs: kzg.Srs, check_reveals: bool) -> None:
    """F3: a rogue survivor r and the aggregator want the model S*. Once the points are known
    they can form C_r' = [S*(tau)] - sum of the other survivors' C_v, so that C_S opens to
    S* + T_d. The real ledger refuses C_r' (it does not hash to r's digest, posted before any
    point was known) and a late digest (submissions are closed); the weak ledger without the
    reveal check accepts the forged model (negative control)."""
    job, ledger = open_job(prover, srs, weak=not check_reveals)
    result = run(job, ledger, seed=21)
    rogue, others = result.survivors[0], result.survivors[1:]
    dropped = result.dropped[0]
    target = FrArray.from_ints([7] * job.config.n_elements)
    forged = kzg.commit(srs, target)
    for v in others:
        forged = forged - result.points[v]
    aggregate = target + result.inputs[dropped]
    ctx = job.context(ledger, 0)
    c_s = forged + sum((result.points[v] for v in others), G1Point.infinity()) + result.points[dropped]
    n = sum(ledger.submissions(job.config.job_id, 0)[u][1] for u in result.survivors)
    proof = kr.prove_round(prover, srs, ctx, job.shape, aggregate=aggregate, rho=result.rho, total_weight=n, c_s=c_s)
    acceptance = RoundAcceptance({**result.points, rogue: forged}, proof)
    if check_reveals:
        with pytest.raises(LedgerError, match="submissions are not open"):
            ledger.post_submission(job.config.job_id, 0, rogue, 5, 1)
        refused(ledger, job, acceptance, RevealError, f"slot {rogue}: the revealed point does not hash")
    else:
        stored = ledger.accept_round(job.config.job_id, 0, acceptance)
        assert stored == kr.model_hash(ctx, job.shape, n, kr.chunk_digests(job.shape, aggregate))  # forged model


def test_the_durable_aggregator_publishes_a_v2_round_once(prover: kr.ChunkProver, srs: kzg.Srs, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from zkagg.durable import DurableAggregator
    from zkagg.secagg import Client

    job, ledger = open_job(prover, srs)
    commit = job.committer(ledger)
    ups = updates(31)
    clients = {c: Client(job.config, ledger, c, 0, u, w, commit=commit) for c, (u, w) in ups.items()}
    path = tmp_path / "round.db"
    agg = DurableAggregator(job.config, ledger, 0, path, commit=commit)
    out = [(c, m) for c in range(N_CLIENTS) for m in clients[c].start()]
    for _, msg in out:
        agg.handle(msg)
    for deadline in range(5):
        out = agg.close(deadline)
        for c, msg in out:
            for reply in clients[c].handle(msg):
                agg.handle(reply)
    stored = agg.publish_v2(job)
    assert ledger.model_hash(job.config.job_id, 0) == stored
    agg.shutdown()
    agg = DurableAggregator(job.config, ledger, 0, path, commit=commit)  # a restart after acceptance
    assert agg.publish_v2(job) == stored  # answered from the journal, not accepted twice
    agg.shutdown()


def test_a_rogue_point_outside_the_committed_vector_costs_liveness_not_soundness(
        prover: kr.ChunkProver, srs: kzg.Srs) -> None:
    """Design note §10.6: a rogue client's digest hashes C_r + k G (a component that is no
    commitment to its vector). The honest prover finds C_S unopenable for the aggregate, and a
    proof made for the round without the rogue component is refused by the ledger."""
    from zkagg.secagg.commitments import Commitment, KzgCommitter

    job, ledger = open_job(prover, srs)
    honest = job.committer(ledger)
    rogue_slot, extra = 0, G1Point.generator() * 12345

    @dataclasses.dataclass(frozen=True)
    class Rogue(KzgCommitter):
        def input_commitment(self, ctx: Context, slot: int, masked: FrArray) -> Commitment:
            c = super().input_commitment(ctx, slot, masked)
            if slot != rogue_slot or c.point is None:
                return c
            point = c.point + extra
            return Commitment(self.digest("C", ctx, slot, point), point)

    rogue = Rogue(honest.srs, honest.n_elements, honest.blind_index, honest.chain_id, honest.ledger)
    result = simulate_round(job.config, updates(51), ledger=ledger, commit=rogue,
                            dropouts={3: DropPoint.AFTER_MASK_COMMITMENT})
    with pytest.raises(kr.RoundCheckError, match="do not commit to this aggregate"):
        job.prove(result, ledger)
    # a proof for the round as if the rogue component were not there
    clean = dataclasses.replace(result, points={**result.points, rogue_slot: result.points[rogue_slot] - extra})
    c_s = sum(clean.points.values(), G1Point.infinity())
    n = sum(ledger.submissions(job.config.job_id, 0)[u][1] for u in result.survivors)
    proof = kr.prove_round(prover, srs, job.context(ledger, 0), job.shape, aggregate=result.aggregate,
                           rho=result.rho, total_weight=n, c_s=c_s)
    refused(ledger, job, RoundAcceptance(clean.points, proof), RevealError, f"slot {rogue_slot}")
    refused(ledger, job, RoundAcceptance(result.points, proof), ProofRejectedError, "batched check")
