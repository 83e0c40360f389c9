"""The JobLedger contract through ChainLedger, on the embedded EVM and on anvil: full rounds with
the unchanged secure-aggregation protocol, every malicious acceptance refused with its named
error, the same write rules as MemoryLedger, and nothing changed by a refused write."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from zkagg.aggregation import chunk_output, prove_round, slots
from zkagg.aggregation.prover import RoundProof, prove_chunk
from zkagg.bn254.constants import FR_MODULUS
from zkagg.bn254.field import FrArray
from zkagg.chain.client import Chain, ContractRevert, JobParams, LedgerContract
from zkagg.chain.ledger import ChainLedger, ProofRevert
from zkagg.chain.verifier import proof_calldata
from zkagg.errors import LedgerError, ProofRejectedError
from zkagg.ledger import MemoryLedger, Slots
from zkagg.secagg import DropPoint

from .chain_support import (
    BACKENDS,
    empty_slots,
    new_chain,
    run_round,
    shared_job,
    state,
    with_job_id,
)

Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
VECTORS = json.loads((Path(__file__).parent / "vectors" / "bn254.json").read_text())


@pytest.fixture(scope="module", params=BACKENDS)
def chain(request: pytest.FixtureRequest) -> Chain:
    return new_chain(request.param)


@pytest.fixture(scope="module")
def contract(chain: Chain) -> LedgerContract:
    return LedgerContract.deploy(chain, chain.new_account())


def new_ledger(chain: Chain, contract: LedgerContract, **kw: Any) -> tuple[ChainLedger, Any, Any]:
    job, pk = shared_job()
    job = with_job_id(job)
    return ChainLedger.create(chain, job, pk.vk, contract=contract, **kw), job, pk


def refused(ledger: ChainLedger, job_id: bytes, round: int, error: str, write: Callable[[], Any]) -> ContractRevert:
    """`write` reverts with `error` and the ledger's state is as it was."""
    before = state(ledger, job_id, round)
    with pytest.raises(ContractRevert) as info:
        write()
    assert info.value.error == error, str(info.value)
    assert state(ledger, job_id, round) == before
    return info.value


def test_full_rounds_with_dropouts_and_rewards(chain: Chain, contract: LedgerContract) -> None:
    ledger, job, pk = new_ledger(chain, contract, reward_per_round=10**15, pool=3 * 10**15)
    jid = job.config.job_id
    result = run_round(ledger, job, 0, {2: DropPoint.AFTER_MASK_COMMITMENT})
    assert result.dropped == (2,)
    proof = prove_round(job, pk, result, ledger)
    assert ledger.model_hash(jid, 0) is None
    digest = ledger.accept_round(jid, 0, proof)
    assert digest == proof.model_hash == ledger.model_hash(jid, 0)
    outcome = ledger.outcome(jid, 0)
    assert outcome is not None and outcome.dropped == (2,) and outcome.survivors == (0, 1, 3)

    # a dropout before masking shrinks the mask set with a retry
    result1 = run_round(ledger, job, 1, {1: DropPoint.AFTER_SHARES})
    mask_set = ledger.mask_set(jid, 1)
    assert mask_set is not None and mask_set.attempt == 1 and 1 not in mask_set.members
    assert ledger.accept_round(jid, 1, prove_round(job, pk, result1, ledger)) == ledger.model_hash(jid, 1)

    # rewards: reward * w_u / N to each survivor, once
    record = slots(job, ledger, 0)
    before = chain.balance(ledger.clients[0].address)
    receipt = ledger.contract.withdraw_reward(jid, 0, ledger.clients[0])
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    booked = 10**15 - 10**15 % record.total_weight  # the remainder went back to the pool at close
    assert ledger.contract.round_info(jid, 0).reward == booked
    expected = booked * record.weights[0] // record.total_weight
    assert expected * record.total_weight == booked * record.weights[0]  # exact: no dust locked
    assert chain.balance(ledger.clients[0].address) == before - fee + expected
    refused(ledger, jid, 0, "RewardAlreadyWithdrawn",
            lambda: ledger.contract.withdraw_reward(jid, 0, ledger.clients[0]))
    refused(ledger, jid, 0, "NotASurvivor", lambda: ledger.contract.withdraw_reward(jid, 0, ledger.clients[2]))


def _closed_round(chain: Chain, contract: LedgerContract) -> tuple[ChainLedger, Any, Any, RoundProof, Any]:
    ledger, job, pk = new_ledger(chain, contract)
    result = run_round(ledger, job, 0, {3: DropPoint.AFTER_MASK_COMMITMENT})
    return ledger, job, pk, prove_round(job, pk, result, ledger), result


def _prove_with(job: Any, pk: Any, round: int, record: Slots, vectors: list[FrArray]) -> RoundProof:
    """An honest-looking proof for slots of the prover's choosing (not the ledger's)."""
    lay = job.layout
    leaves = [lay.leaves(v) for v in vectors]
    chunks = tuple(prove_chunk(job, pk, round, j, record, [lay.chunk(v, j) for v in vectors],
                               [lay.path(lv, j) for lv in leaves]) for j in range(lay.n_chunks))
    aggregate = vectors[0]
    for v in vectors[1:]:
        aggregate = aggregate + v
    return RoundProof(round, chunks, aggregate, record.total_weight)


def test_malicious_acceptances_revert_with_named_errors(chain: Chain, contract: LedgerContract) -> None:
    ledger, job, pk, proof, result = _closed_round(chain, contract)
    jid, c = job.config.job_id, ledger.contract
    agg = ledger.aggregator
    words = [w for ch in proof.chunks for w in proof_calldata(ch.proof)]
    outputs = [ch.output for ch in proof.chunks]
    n = job.config.n_clients

    def accept(w: list[int], o: list[int]) -> Callable[[], Any]:
        return lambda: c.accept_round_raw(jid, 0, w, o, agg)

    # a changed output (a different global model), and outputs that are not canonical
    refused(ledger, jid, 0, "ProofInvalid", accept(words, [outputs[0] + 1, *outputs[1:]]))
    err = refused(ledger, jid, 0, "InputNotInField", accept(words, [outputs[0] + FR_MODULUS, *outputs[1:]]))
    assert err.values == {"index": 2 * n + 1}
    # A pairing costs seconds on py-evm: the embedded EVM runs one of each kind of refusal, anvil all.
    full = not chain.is_embedded
    if full:  # chunk proofs swapped: each is bound to its chunk index
        refused(ledger, jid, 0, "ProofInvalid", accept(words[8:] + words[:8], outputs[::-1]))
    # wrong counts
    refused(ledger, jid, 0, "WrongChunkCount", accept(words[:8], outputs))
    refused(ledger, jid, 0, "WrongChunkCount", accept(words, outputs[:1]))
    # malformed proof points
    bad = list(words)
    bad[0] = Q + words[0] % 7
    err = refused(ledger, jid, 0, "InvalidPoint", accept(bad, outputs))
    assert err.values == {"proof": 0}
    off_curve = [int(v) for v in VECTORS["negative"]["g1_off_curve"][0]]
    refused(ledger, jid, 0, "InvalidPoint", accept(words[:8] + off_curve + words[10:], outputs))
    g2 = VECTORS["negative"]["g2_not_in_subgroup"][0]
    (x0, x1), (y0, y1) = ([int(a) for a in c2] for c2 in g2)
    refused(ledger, jid, 0, "PointNotInSubgroup", accept(words[:2] + [x1, x0, y1, y0] + words[6:], outputs))
    refused(ledger, jid, 0, "InvalidPoint", accept(words[:2] + [0, 1, 0, 2] + words[6:], outputs))
    # someone who is not the job's aggregator
    outsider = chain.new_account()
    refused(ledger, jid, 0, "NotAggregator", lambda: c.accept_round_raw(jid, 0, words, outputs, outsider))

    # a wrong weight (and so a wrong N): a proof that verifies for other slots than the ledger's
    record = slots(job, ledger, 0)
    zero = FrArray.zeros(job.config.n_elements)
    vectors = [result.inputs.get(k, zero) for k in range(n)]
    heavier = Slots(record.commitments, (record.weights[0] + 1, *record.weights[1:]))
    forged = _prove_with(job, pk, 0, heavier, vectors)
    with pytest.raises(ProofRevert) as info:
        ledger.accept_round(jid, 0, forged)
    assert info.value.error == "ProofInvalid" and isinstance(info.value, ProofRejectedError)
    if full:  # U/D changed: the dropped slot 3 claimed as absent (empty commitment, zeros)
        absent = Slots((*record.commitments[:3], job.empty_commitment), record.weights)
        refused(ledger, jid, 0, "ProofInvalid",
                lambda: ledger.accept_round(jid, 0, _prove_with(job, pk, 0, absent, [*vectors[:3], zero])))
        # a survivor (slot 0) counted as not surviving (weight 0): U shrunk behind the ledger's back
        swapped = Slots(record.commitments, (0, *record.weights[1:]))
        refused(ledger, jid, 0, "ProofInvalid",
                lambda: ledger.accept_round(jid, 0, _prove_with(job, pk, 0, swapped, vectors)))

    # the honest proof is accepted, once
    assert ledger.accept_round(jid, 0, proof) == proof.model_hash
    refused(ledger, jid, 0, "RoundAlreadyAccepted", lambda: ledger.accept_round(jid, 0, proof))
    # a published aggregate that does not match the outputs is refused before sending
    with pytest.raises(ProofRejectedError):
        ledger.accept_round(jid, 0, RoundProof(0, proof.chunks, proof.aggregate + proof.aggregate, proof.total_weight))


def _empty_round(ledger: ChainLedger, job_id: bytes, round: int) -> None:
    ledger.post_mask_set(job_id, round, 0, ())
    assert ledger.close_masking(job_id, round, 0) == ()
    assert ledger.close_submissions(job_id, round).survivors == ()


def test_proofs_replayed_from_another_round_or_job_are_refused(chain: Chain, contract: LedgerContract) -> None:
    """All-empty rounds have identical slots, so only the context tells them apart."""
    ledger_a, job_a, pk = new_ledger(chain, contract)
    ledger_b, job_b, _ = new_ledger(chain, contract)
    a, b = job_a.config.job_id, job_b.config.job_id
    _empty_round(ledger_a, a, 0)
    _empty_round(ledger_a, a, 1)
    _empty_round(ledger_b, b, 0)
    zero = FrArray.zeros(job_a.config.n_elements)
    proof = _prove_with(job_a, pk, 0, empty_slots(job_a), [zero] * job_a.config.n_clients)
    assert [ch.output for ch in proof.chunks] == [chunk_output(0, job_a.layout.chunk(zero, j))
                                                 for j in range(job_a.layout.n_chunks)]
    other_round = RoundProof(1, proof.chunks, proof.aggregate, 0)
    refused(ledger_a, a, 1, "ProofInvalid", lambda: ledger_a.accept_round(a, 1, other_round))
    if not chain.is_embedded:  # a pairing costs seconds on py-evm; anvil checks the job binding too
        refused(ledger_b, b, 0, "ProofInvalid", lambda: ledger_b.accept_round(b, 0, proof))
    assert ledger_a.accept_round(a, 0, proof) == proof.model_hash


def test_write_rules_match_memory_ledger(chain: Chain, contract: LedgerContract) -> None:
    """The same script of writes on MemoryLedger and on the contract: each refused by both or by
    neither, and the same views after every step."""
    ledger, job, _ = new_ledger(chain, contract)
    jid, cfg = job.config.job_id, job.config
    memory = MemoryLedger()
    memory.open_job(jid, cfg.n_clients, cfg.max_weight, mask_window=3600, submit_window=3600)
    r = 0
    script: list[tuple[str, tuple[Any, ...]]] = [
        ("post_mask_commitment", (jid, r, 0, 0, 5)),  # nothing open yet
        ("post_mask_set", (jid, r, 1, (0, 1, 2))),  # wrong attempt
        ("post_mask_set", (jid, r, 0, (0, 1, 1))),  # duplicate member
        ("post_mask_set", (jid, r, 0, (0, 9))),  # outside the slots
        ("post_mask_set", (jid, r, 0, (0, 1, 2, 3))),
        ("post_mask_set", (jid, r, 1, (0, 1, 2))),  # attempt 0 still open
        ("post_mask_commitment", (jid, r, 0, 0, 11)),
        ("post_mask_commitment", (jid, r, 0, 0, 11)),  # replay
        ("post_mask_commitment", (jid, r, 1, 1, 12)),  # wrong attempt
        ("post_mask_commitment", (jid, r, 0, 1, FR_MODULUS)),  # not a field element
        ("post_mask_commitment", (jid, r, 0, 1, 12)),
        ("post_mask_commitment", (jid, r, 0, 2, 13)),
        ("post_submission", (jid, r, 0, 21, 5)),  # masking not final
        ("close_masking", (jid, r, 1)),  # not the open attempt
        ("close_masking", (jid, r, 0)),  # client 3 missing and on time: too early
        ("wait_for_deadline", (jid, r)),
        ("close_masking", (jid, r, 0)),  # client 3 missing: not final
        ("post_mask_commitment", (jid, r, 0, 3, 14)),  # late: the attempt is closed
        ("post_mask_set", (jid, r, 1, (0, 1, 2, 3))),  # a retry must remove someone
        ("post_mask_set", (jid, r, 1, (0, 1))),
        ("post_mask_commitment", (jid, r, 1, 2, 15)),  # no longer a member
        ("post_mask_commitment", (jid, r, 1, 0, 16)),
        ("post_mask_commitment", (jid, r, 1, 1, 17)),
        ("close_masking", (jid, r, 1)),  # final
        ("post_mask_set", (jid, r, 2, (0,))),  # masking is final
        ("post_submission", (jid, r, 2, 21, 5)),  # not in the final mask set
        ("post_submission", (jid, r, 0, 21, 0)),  # weight 0
        ("post_submission", (jid, r, 0, 21, cfg.max_weight + 1)),  # weight above the maximum
        ("post_submission", (jid, r, 0, 21, 7)),
        ("post_submission", (jid, r, 0, 22, 7)),  # replay
        ("close_submissions", (jid, r)),  # client 1 may still submit: too early
        ("wait_for_deadline", (jid, r)),
        ("close_submissions", (jid, r)),
        ("post_submission", (jid, r, 1, 23, 7)),  # late: submissions closed
        ("close_submissions", (jid, r)),  # twice
    ]
    for name, args in script:
        outcomes = []
        for target in (memory, ledger):
            try:
                getattr(target, name)(*args)
                outcomes.append("ok")
            except LedgerError as err:
                outcomes.append("refused")
                if target is ledger:
                    assert isinstance(err, ContractRevert)
        assert outcomes[0] == outcomes[1], (name, args, outcomes)
        for view in ("mask_set", "mask_commitments", "submissions", "outcome"):
            assert getattr(memory, view)(jid, r) == getattr(ledger, view)(jid, r), (name, args, view)


def test_parties_rounds_and_deadlines(chain: Chain, contract: LedgerContract) -> None:
    ledger, job, _ = new_ledger(chain, contract, mask_window=60, submit_window=60)
    jid, c = job.config.job_id, ledger.contract
    stranger = chain.new_account()
    refused(ledger, jid, 0, "NotAggregator", lambda: c.post_mask_set(jid, 0, 0, [0, 1], stranger))
    ledger.post_mask_set(jid, 0, 0, (0, 1))
    refused(ledger, jid, 0, "UnknownClient", lambda: c.post_mask_commitment(jid, 0, 0, 5, stranger))
    refused(ledger, jid, 0, "NotInMaskSet", lambda: ledger.post_mask_commitment(jid, 0, 0, 2, 5))
    ledger.post_mask_commitment(jid, 0, 0, 0, 5)
    ledger.post_mask_commitment(jid, 0, 0, 1, 6)
    # before the deadline only the aggregator may close; after it, anyone
    refused(ledger, jid, 0, "NotAggregator", lambda: c.close_masking(jid, 0, 0, stranger))
    ledger.close_masking(jid, 0, 0)
    ledger.post_submission(jid, 0, 0, 7, 10)
    chain.advance_time(120)
    refused(ledger, jid, 0, "Late", lambda: ledger.post_submission(jid, 0, 1, 8, 10))
    c.close_submissions(jid, 0, stranger)
    assert ledger.outcome(jid, 0) is not None and ledger.outcome(jid, 0).dropped == (1,)  # type: ignore[union-attr]
    refused(ledger, jid, 0, "RoundNotAccepted", lambda: c.withdraw_reward(jid, 0, ledger.clients[0]))
    # rounds open in increasing order
    ledger.post_mask_set(jid, 2, 0, (0,))
    refused(ledger, jid, 1, "WrongRound", lambda: ledger.post_mask_set(jid, 1, 0, (0,)))
    refused(ledger, jid, 5, "RoundNotClosed", lambda: c.accept_round_raw(jid, 5, [0] * 16, [0, 0], ledger.aggregator))


def test_job_creation_and_enrollment_refusals(chain: Chain, contract: LedgerContract) -> None:
    ledger, job, _ = new_ledger(chain, contract)
    jid, c, owner = job.config.job_id, ledger.contract, ledger.aggregator
    params, *_ = c.job_info(jid)
    with pytest.raises(ContractRevert, match="JobExists"):
        c.create_job(jid, params, owner)
    other = with_job_id(job).config.job_id
    wrong_n = JobParams(params.slots + 1, params.max_weight, params.chunks, params.verifier, params.empty_commitment)
    err = pytest.raises(ContractRevert, c.create_job, other, wrong_n, owner).value
    assert err.error == "VerifierMismatch" and err.values == {"expectedInputs": 2 * params.slots + 4, "got": 2 * params.slots + 2}
    with pytest.raises(ContractRevert, match=r"InvalidJobParameter\(name=slots\)"):
        c.create_job(other, JobParams(0, 1, 1, params.verifier, 0), owner)
    with pytest.raises(ContractRevert, match="DigestNotInField"):
        c.create_job(other, JobParams(params.slots, 1, 1, params.verifier, FR_MODULUS), owner)
    with pytest.raises(ContractRevert, match="UnknownJob"):
        c.enroll(other, 0, owner.address, owner)
    with pytest.raises(ContractRevert, match="SlotTaken"):
        c.enroll(jid, 0, chain.new_account().address, owner)
    with pytest.raises(ContractRevert, match="NotJobOwner"):
        c.enroll(jid, 0, owner.address, ledger.clients[0])
    with pytest.raises(ContractRevert, match="SlotOutOfRange"):
        c.enroll(jid, params.slots, owner.address, owner)


def test_abandoned_round_returns_its_reward(chain: Chain, contract: LedgerContract) -> None:
    ledger, job, _ = new_ledger(chain, contract, reward_per_round=10, pool=25)
    jid, c = job.config.job_id, ledger.contract
    ledger.post_mask_set(jid, 0, 0, (0,))
    assert c.round_info(jid, 0).reward == 10 and c.job_info(jid)[4] == 15
    ledger.post_mask_set(jid, 1, 0, (0,))  # round 0 abandoned: its reserve returns
    assert c.round_info(jid, 0).reward == 0 and c.round_info(jid, 1).reward == 10
    assert c.job_info(jid)[4] == 15
