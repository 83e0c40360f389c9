"""The issue-14 attacks against the JobLedger contract, on the embedded EVM and on anvil: key
substitution, early close, the round-number overflow, locked rewards and a lying empty commitment.
Each is refused by name with the state unchanged; the negative controls run the same attack
against the contract as compiled before the fix (tests/vectors/JobLedger_v1.json) or with the
client's key check patched out, and there it succeeds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zkagg.aggregation import AggregationJob, prove_round
from zkagg.bn254.field import FrArray
from zkagg.chain.audit import audit
from zkagg.chain.client import Chain, ContractRevert, JobParams, LedgerContract, deploy_verifier
from zkagg.chain.ledger import ChainLedger, JobParameterError, check_job

from .chain_support import new_chain, shared_job, state, with_job_id
from .test_secagg_attacks import run_key_substitution, run_steering, single_masking, weak_key_checks

OLD = json.loads((Path(__file__).parent / "vectors" / "JobLedger_v1.json").read_text())
BACKENDS = ["embedded", pytest.param("anvil", marks=pytest.mark.chain)]


@pytest.fixture(scope="module", params=BACKENDS)
def chain(request: pytest.FixtureRequest) -> Chain:
    return new_chain(request.param)


@pytest.fixture(scope="module")
def contract(chain: Chain) -> LedgerContract:
    return LedgerContract.deploy(chain, account(chain))


@pytest.fixture(scope="module")
def old_contract(chain: Chain) -> LedgerContract:
    """The contract before the fix (same ABI for every call used here)."""
    owner = account(chain)
    address = chain.deploy(bytes.fromhex(OLD["bytecode"][2:]), owner, gas=6_000_000)
    return LedgerContract(chain, address, int(chain.w3.eth.block_number))


#: every account these tests make gets 1 ETH (plenty of gas): the session's anvil funder is shared
FUND = 10**18


def account(chain: Chain) -> Any:
    return chain.new_account(FUND)


def new_ledger(chain: Chain, contract: LedgerContract, **kw: Any) -> tuple[ChainLedger, AggregationJob, Any]:
    job, pk = shared_job()
    job = with_job_id(job)
    clients = {k: account(chain) for k in range(job.config.n_clients)}
    return ChainLedger.create(chain, job, pk.vk, contract=contract, aggregator=account(chain),
                              clients=clients, **kw), job, pk


def refused(ledger: ChainLedger, job_id: bytes, round: int, error: str, write: Any) -> None:
    before = state(ledger, job_id, round)
    with pytest.raises(ContractRevert) as info:
        write()
    assert info.value.error == error, str(info.value)
    assert state(ledger, job_id, round) == before


# ---- key substitution ------------------------------------------------------------------------------


def chain_setting(chain: Chain, contract: LedgerContract) -> tuple[Any, ChainLedger, Any, AggregationJob, Any]:
    ledger, job, pk = new_ledger(chain, contract)
    return (job.config, ledger, job.commit), ledger, pk, job, pk


def test_key_substitution_is_refused_and_the_round_is_proved_without_the_target(
        chain: Chain, contract: LedgerContract) -> None:
    setting, ledger, pk, job, _ = chain_setting(chain, contract)
    read, agg, clients, _ = run_key_substitution(resign=False, setting=setting)
    assert read is None and agg.result is not None and agg.result.survivors == (1, 2, 3)
    proof = prove_round(job, pk, agg.result, ledger)
    assert ledger.accept_round(job.config.job_id, 0, proof) == proof.model_hash


def test_key_substitution_reads_the_update_on_chain_when_keys_are_unchecked(
        chain: Chain, contract: LedgerContract) -> None:
    setting, *_ = chain_setting(chain, contract)
    with weak_key_checks():
        read, _, _, truth = run_key_substitution(resign=False, setting=setting)
    assert read == truth.to_ints()


# ---- last-client steering ------------------------------------------------------------------------


def test_last_client_steering_does_not_choose_the_aggregate_on_chain(chain: Chain, contract: LedgerContract) -> None:
    setting, *_ = chain_setting(chain, contract)
    aggregate, chosen = run_steering(setting=setting)
    assert aggregate != chosen


def test_last_client_steering_chose_the_aggregate_on_chain_without_double_masking(
        chain: Chain, contract: LedgerContract) -> None:
    """Negative control: single masking, as before the fix."""
    setting, *_ = chain_setting(chain, contract)
    with single_masking():
        aggregate, chosen = run_steering(setting=setting)
    assert aggregate == chosen


# ---- early close --------------------------------------------------------------------------------


def early_close(ledger: ChainLedger, jid: bytes) -> None:
    ledger.post_mask_set(jid, 0, 0, (0, 1))
    ledger.post_mask_commitment(jid, 0, 0, 0, 5)  # client 1 is still within its window


def test_the_aggregator_cannot_close_a_phase_early(chain: Chain, contract: LedgerContract) -> None:
    ledger, job, _ = new_ledger(chain, contract)
    jid, c = job.config.job_id, ledger.contract
    early_close(ledger, jid)
    refused(ledger, jid, 0, "TooEarly", lambda: ledger.close_masking(jid, 0, 0))
    ledger.post_mask_commitment(jid, 0, 0, 1, 6)  # the on-time client gets in
    ledger.close_masking(jid, 0, 0)  # everyone acted: the aggregator may close at once
    ledger.post_submission(jid, 0, 0, 7, 10)
    refused(ledger, jid, 0, "TooEarly", lambda: ledger.close_submissions(jid, 0))
    refused(ledger, jid, 0, "TooEarly", lambda: c.close_submissions(jid, 0, account(chain)))
    ledger.wait_for_deadline(jid, 0)
    c.close_submissions(jid, 0, account(chain))  # after the deadline anyone may close
    outcome = ledger.outcome(jid, 0)
    assert outcome is not None and outcome.dropped == (1,)


def test_the_old_contract_let_the_aggregator_close_early(chain: Chain, old_contract: LedgerContract) -> None:
    """Negative control: the same early close succeeds on the contract before the fix."""
    ledger, job, _ = new_ledger(chain, old_contract)
    jid = job.config.job_id
    early_close(ledger, jid)
    assert ledger.close_masking(jid, 0, 0) == (0,)  # client 1 shut out while on time


# ---- round-number overflow ----------------------------------------------------------------------

LAST = 2**64 - 2


def test_a_stranger_cannot_end_an_open_job_with_a_huge_round(chain: Chain, contract: LedgerContract) -> None:
    ledger, job, _ = new_ledger(chain, contract, open_aggregation=True)
    jid, c, stranger = job.config.job_id, ledger.contract, account(chain)
    refused(ledger, jid, LAST, "WrongRound", lambda: c.post_mask_set(jid, LAST, 0, [], stranger))
    refused(ledger, jid, 2**64 - 1, "WrongRound", lambda: c.post_mask_set(jid, 2**64 - 1, 0, [0], stranger))
    ledger.post_mask_set(jid, 0, 0, (0, 1))  # the job goes on


def test_the_old_contract_could_be_ended_by_a_stranger(chain: Chain, old_contract: LedgerContract) -> None:
    """Negative control: on the contract before the fix the stranger's round ends the job."""
    ledger, job, _ = new_ledger(chain, old_contract, open_aggregation=True)
    jid, c = job.config.job_id, ledger.contract
    c.post_mask_set(jid, LAST, 0, [], account(chain))
    with pytest.raises(ContractRevert, match="WrongRound"):
        ledger.post_mask_set(jid, 0, 0, (0, 1))


# ---- funds --------------------------------------------------------------------------------------


def test_rewards_of_empty_rounds_and_the_pool_return_to_the_owner(chain: Chain, contract: LedgerContract) -> None:
    ledger, job, _ = new_ledger(chain, contract, reward_per_round=10, pool=25)
    jid, c, owner = job.config.job_id, ledger.contract, ledger.aggregator
    # a round where everyone dropped: its reward returns to the pool when submissions close
    ledger.post_mask_set(jid, 0, 0, (0, 1))
    ledger.post_mask_commitment(jid, 0, 0, 0, 5)
    ledger.post_mask_commitment(jid, 0, 0, 1, 6)
    ledger.close_masking(jid, 0, 0)
    ledger.wait_for_deadline(jid, 0)
    ledger.close_submissions(jid, 0)
    assert c.round_info(jid, 0).reward == 0 and c.job_info(jid)[4] == 25
    # a round whose N does not divide its reward books a multiple of N; the rest returns
    ledger.post_mask_set(jid, 1, 0, (0, 1))
    ledger.post_mask_commitment(jid, 1, 0, 0, 5)
    ledger.post_mask_commitment(jid, 1, 0, 1, 6)
    ledger.close_masking(jid, 1, 0)
    ledger.post_submission(jid, 1, 0, 7, 2)
    ledger.post_submission(jid, 1, 1, 8, 1)
    ledger.close_submissions(jid, 1)
    assert c.round_info(jid, 1).reward == 9 and c.job_info(jid)[4] == 16
    # only the owner ends the job; it gets the pool and the unaccepted last round's reserve
    refused(ledger, jid, 1, "NotJobOwner", lambda: c.end_job(jid, ledger.clients[0]))
    before = chain.balance(owner.address)
    receipt = c.end_job(jid, owner)
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert chain.balance(owner.address) == before - fee + 25
    assert c.job_info(jid)[4] == 0 and c.round_info(jid, 1).reward == 0
    refused(ledger, jid, 2, "JobEnded", lambda: ledger.post_mask_set(jid, 2, 0, (0, 1)))
    refused(ledger, jid, 2, "JobEnded", lambda: c.end_job(jid, owner))


def test_the_old_contract_had_no_way_to_return_the_pool(chain: Chain, old_contract: LedgerContract) -> None:
    """Negative control: before the fix no call returned an unbooked pool: endJob does not exist."""
    ledger, job, _ = new_ledger(chain, old_contract, reward_per_round=10, pool=25)
    with pytest.raises(Exception):  # noqa: B017 — no such function: the call cannot even decode
        ledger.contract.end_job(job.config.job_id, ledger.aggregator)
    assert ledger.contract.job_info(job.config.job_id)[4] == 25


# ---- the empty commitment -----------------------------------------------------------------------


def lying_job(chain: Chain, contract: LedgerContract) -> tuple[AggregationJob, Any, Any]:
    """A job whose owner set the empty commitment to commit(V) for a V of its choosing."""
    job, pk = shared_job()
    job = with_job_id(job)
    owner = account(chain)
    v = FrArray.from_ints([7] * job.config.n_elements)
    params = JobParams(job.config.n_clients, job.config.max_weight, job.layout.n_chunks,
                       deploy_verifier(chain, pk.vk, owner), job.commit(v))
    contract.create_job(job.config.job_id, params, owner)
    return job, pk, owner


def test_a_job_with_a_lying_empty_commitment_is_refused_by_its_users(chain: Chain, contract: LedgerContract) -> None:
    job, _, owner = lying_job(chain, contract)
    with pytest.raises(JobParameterError, match="EmptyCommitmentMismatch") as info:
        ChainLedger.attach(contract, job, owner, {})
    assert info.value.name == "emptyCommitment"
    report = audit(contract, job.config.job_id, layout=job.layout)
    assert not report.ok and any("EmptyCommitmentMismatch" in p for p in report.problems)
    ledger, honest, _ = new_ledger(chain, contract)
    check_job(contract, honest, owner=ledger.aggregator.address)  # an honest job passes
    assert audit(contract, honest.config.job_id, layout=honest.layout).ok


def test_a_job_id_taken_by_someone_else_is_refused_by_its_users(chain: Chain, contract: LedgerContract) -> None:
    """A squatter who creates a job under the id the owner published first: the owner's users,
    who know whose job they serve, refuse it by name (the owner picks a new id)."""
    job, _, squatter = lying_job(chain, contract)
    owner = account(chain)
    with pytest.raises(JobParameterError, match="JobIdTaken") as info:
        ChainLedger.attach(contract, job, owner, {}, owner=owner.address)
    assert info.value.name == "owner" and squatter.address != owner.address
