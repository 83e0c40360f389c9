"""The v2 round through JobLedger.sol on the embedded EVM: KZG point digests posted by the
clients, points revealed in acceptRoundV2 and checked by the ledger against its own U/D, the
round checked by the job's RoundCheckV2 with the N the ledger summed. The ledger's verdicts
agree with MemoryLedger's reference verifier; every refusal is named and changes nothing."""

from __future__ import annotations

import dataclasses
import random
import secrets

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkagg import kzg
from zkagg.aggregation import kzg_round as kr
from zkagg.aggregation.pipeline import KzgJob, RoundAcceptance
from zkagg.bn254 import G1Point
from zkagg.chain.client import Chain, ContractRevert
from zkagg.chain.ledger import ChainLedger, ProofRevert
from zkagg.ledger import MemoryLedger
from zkagg.secagg import DropPoint, SecAggConfig, simulate_round
from zkagg.secagg.aggregator import RoundResult

from .chain_support import new_chain

D, N_CLIENTS, L = 30, 4, 8


def updates(seed: int) -> dict[int, tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)  # test data only
    return {c: (rng.uniform(-3, 3, D), int(rng.integers(1, 500))) for c in range(N_CLIENTS)}


@pytest.fixture(scope="module", params=["embedded", pytest.param("anvil", marks=pytest.mark.chain)])
def env(request: pytest.FixtureRequest) -> tuple[Chain, KzgJob]:
    prover = kr.ChunkProver.insecure_single_party_setup(L, random.Random(7))
    srs = kzg.Srs.insecure_from_tau(0xC0FFEE1234, 64)
    config = SecAggConfig(job_id=secrets.token_bytes(32), n_clients=N_CLIENTS, model_length=D, neighbours=3)
    return new_chain(request.param), KzgJob(config, kr.RoundShape(config.n_elements, L), srs, prover)


def new_ledger(chain: Chain, job: KzgJob) -> ChainLedger:
    """Accounts with 1 ETH each (the session's anvil funder is shared by every chain suite)."""
    return ChainLedger.create_v2(chain, job, aggregator=chain.new_account(10**18),
                                 clients={k: chain.new_account(10**18) for k in range(N_CLIENTS)})


def closed_round(env: tuple[Chain, KzgJob], seed: int) -> tuple[ChainLedger, RoundResult, RoundAcceptance]:
    chain, job = env
    job = dataclasses.replace(job, config=dataclasses.replace(job.config, job_id=secrets.token_bytes(32)))
    ledger = new_ledger(chain, job)
    result = simulate_round(job.config, updates(seed), ledger=ledger, commit=job.committer(ledger),
                            dropouts={1: DropPoint.AFTER_MASK_COMMITMENT})
    return ledger, result, KzgJob.prove(job, result, ledger)


def _job_of(env: tuple[Chain, KzgJob], ledger: ChainLedger, result: RoundResult) -> KzgJob:
    return dataclasses.replace(env[1], config=result.config)


def test_an_honest_v2_round_is_accepted_on_chain_with_the_reference_hash(env: tuple[Chain, KzgJob]) -> None:
    ledger, result, acceptance = closed_round(env, 1)
    job = _job_of(env, ledger, result)
    stored = ledger.accept_round(job.config.job_id, 0, acceptance)
    n = acceptance.proof.total_weight
    assert stored == kr.model_hash(job.context(ledger, 0), job.shape, n, acceptance.proof.digests)
    assert ledger.model_hash(job.config.job_id, 0) == stored
    assert job.audit(ledger, 0, result.aggregate, acceptance).ok
    with pytest.raises(ContractRevert, match="RoundAlreadyAccepted"):
        ledger.accept_round(job.config.job_id, 0, acceptance)
    # the chain auditor replays the round from events and the acceptance calldata alone
    from zkagg.chain.audit import audit

    report = audit(ledger.contract, job.config.job_id)
    assert report.ok, report.format()
    assert report.rounds[0].status == "accepted" and report.rounds[0].proofs_verified == job.shape.n_chunks
    # negative control: the auditor's verdict follows its own batched check and hash recomputation
    from unittest import mock

    with mock.patch("zkagg.aggregation.kzg_round.verify_round", return_value=False), \
            mock.patch("zkagg.aggregation.kzg_round.model_hash", return_value=b"\0" * 32):
        bad = audit(ledger.contract, job.config.job_id)
    assert not bad.ok and {"the batched check of the round fails",
                           "the model hash is not keccak(job, round, N, L, m, digests)"} <= set(bad.rounds[0].problems)
    # the reference verifier on the ledger's records agrees (differential)
    outcome = ledger.outcome(job.config.job_id, 0)
    assert outcome is not None and outcome.dropped == (1,)
    posted, masks = ledger.submissions(job.config.job_id, 0), ledger.mask_commitments(job.config.job_id, 0)
    ref = job.verifier().accept_points(ledger.chain_id, ledger.address, job.config.job_id, 0, outcome,
                                       {u: posted[u][0] for u in outcome.survivors},
                                       {d: masks[d] for d in outcome.dropped}, n, acceptance)
    assert ref == stored


def test_false_reveals_and_tampered_proofs_are_refused_on_chain_by_name(env: tuple[Chain, KzgJob]) -> None:
    ledger, result, acceptance = closed_round(env, 2)
    job_id = result.config.job_id
    survivor, dropped = result.survivors[0], result.dropped[0]
    pts = dict(acceptance.points)
    proof = acceptance.proof
    g = G1Point.generator()
    cases = [
        ({**pts, survivor: pts[survivor] + g}, proof, "RevealedPointMismatch"),
        ({**pts, survivor: pts[dropped]}, proof, "RevealedPointMismatch"),  # E_u for a survivor
        ({**pts, dropped: pts[survivor]}, proof, "RevealedPointMismatch"),  # C_u for a dropped client
        (pts, dataclasses.replace(proof, rho=(proof.rho + 1) % kr.R), "RoundRejected"),
        (pts, dataclasses.replace(proof, opening=proof.opening + g), "RoundRejected"),
        (pts, dataclasses.replace(proof, chunks=proof.chunks[:-1]), "WrongChunkCount"),
        (pts, dataclasses.replace(proof, chunks=(*proof.chunks, proof.chunks[-1])), "WrongChunkCount"),
    ]
    c0 = proof.chunks[0]
    cases += [
        (pts, dataclasses.replace(proof, chunks=(dataclasses.replace(c0, digest=kr.R), *proof.chunks[1:])),
         "ScalarNotInField"),
        (pts, dataclasses.replace(proof, chunks=(dataclasses.replace(c0, evaluation=(c0.evaluation + 1) % kr.R),
                                                 *proof.chunks[1:])), "RoundRejected"),
    ]
    # (N is not in acceptRoundV2's calldata at all: the ledger sums the survivors' weights itself)
    for points, bad, error in cases:
        with pytest.raises(ProofRevert, match=error):
            ledger.accept_round(job_id, 0, RoundAcceptance(points, bad))
        assert ledger.model_hash(job_id, 0) is None
    # negative control: the untampered acceptance goes through after every refusal
    assert ledger.accept_round(job_id, 0, acceptance) is not None


def test_a_v2_acceptance_from_another_ledger_is_refused(env: tuple[Chain, KzgJob]) -> None:
    """Replay across ledgers: the same job and updates on a second JobLedger; the first ledger's
    acceptance does not match the second's digests (bound to its address)."""
    ledger, result, acceptance = closed_round(env, 3)
    chain, base = env
    job = dataclasses.replace(base, config=result.config)
    other = new_ledger(chain, job)
    own = simulate_round(job.config, updates(3), ledger=other, commit=job.committer(other),
                         dropouts={1: DropPoint.AFTER_MASK_COMMITMENT})
    with pytest.raises(ProofRevert, match="RevealedPointMismatch"):
        other.accept_round(job.config.job_id, 0, acceptance)
    assert other.model_hash(job.config.job_id, 0) is None
    # negative control: the round proved for this ledger is accepted
    assert other.accept_round(job.config.job_id, 0, job.prove(own, other)) is not None


def test_memory_and_chain_ledgers_give_one_model_hash_formula(env: tuple[Chain, KzgJob]) -> None:
    _, job = env
    memory = MemoryLedger()
    memory.open_job(job.config.job_id, N_CLIENTS, job.config.max_weight, job.verifier())
    result = simulate_round(job.config, updates(4), ledger=memory, commit=job.committer(memory),
                            dropouts={1: DropPoint.AFTER_MASK_COMMITMENT})
    acceptance, stored = job.publish(result, memory)
    assert stored == kr.model_hash(job.context(memory, 0), job.shape, acceptance.proof.total_weight,
                                   acceptance.proof.digests)


def test_the_v2_gas_bench_measures_a_whole_round() -> None:
    from zkagg.bench.gas import measure_round_v2

    row = measure_round_v2(Chain.embedded(), 4, 40)
    assert row["chunks"] == 1 and row["dropped"] == 1
    assert row["client_gas_per_round"] == row["mask_commitment"] + row["submission"]
    assert row["accept_gas"] > 21_000 and row["submission"] > 21_000


NAMED = {"RevealedPointMismatch", "RoundRejected", "ScalarNotInField", "InvalidPoint", "PointNotInSubgroup",
         "WrongLength", "PrecompileFailed"}


@pytest.fixture(scope="module")
def fuzz_round(env: tuple[Chain, KzgJob]) -> tuple[ChainLedger, RoundResult, tuple]:
    from zkagg.chain import round_check_v2 as rc

    ledger, result, acceptance = closed_round(env, 5)
    info = ledger.contract.round_info(result.config.job_id, 0)
    call = rc.round_calldata(rc.RoundContext(ledger.chain_id, ledger.address, result.config.job_id, 0),
                             [acceptance.points[k] for k in info.members], acceptance.proof)
    return ledger, result, tuple(call[3:])


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_acceptance_calldata_is_refused_by_name(fuzz_round: tuple, data: st.DataObject) -> None:
    """Flip one word of acceptRoundV2's calldata (points, rho, pi, proofs, e_j, h_j): always a
    named refusal, never an acceptance."""
    from zkagg.chain import round_check_v2 as rc

    ledger, result, call = fuzz_round
    fields = [list(f) if isinstance(f, (list, tuple)) else [f] for f in call]
    which = data.draw(st.integers(0, len(fields) - 1))
    at = data.draw(st.integers(0, len(fields[which]) - 1))
    fields[which][at] ^= data.draw(st.integers(1, (1 << 256) - 1))
    tampered = tuple(f if isinstance(call[i], (list, tuple)) else f[0] for i, f in enumerate(fields))
    with pytest.raises(ContractRevert) as err:
        ledger.contract.accept_round_v2(result.config.job_id, 0, tampered, ledger.aggregator)
    raw = err.value.values.get("data")
    name = rc.decode_error(raw).error if isinstance(raw, bytes) else err.value.error
    assert name in NAMED
    assert ledger.model_hash(result.config.job_id, 0) is None
