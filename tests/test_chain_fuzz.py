"""Hostile calldata at the job ledger's entry points: random bytes, and each state-changing
function's selector followed by random or mutated arguments, sent as transactions from an
enrolled client, the aggregator and a stranger. Each one either reverts, which the client reports
as a named `ContractRevert`, or is a well-formed call the contract was free to take (random bytes
can encode a fresh job of their own); the job under attack is left exactly as it was."""

from __future__ import annotations

import os
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zkagg.chain.client import Chain, ContractRevert, artifact
from zkagg.chain.ledger import ChainLedger

from .chain_support import shared_job, with_job_id

EXAMPLES = int(os.environ.get("ZKAGG_FUZZ_EXAMPLES", "40"))


def _selectors() -> list[bytes]:
    out = []
    for item in artifact("JobLedger")["abi"]:
        if item["type"] == "function" and item["stateMutability"] in ("nonpayable", "payable"):
            types = ",".join(_abi_type(i) for i in item["inputs"])
            out.append(keccak(text=f"{item['name']}({types})")[:4])
    return out


def _abi_type(item: dict[str, Any]) -> str:
    if item["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + item["type"][5:]
    return str(item["type"])


SELECTORS = _selectors()


@pytest.fixture(scope="module")
def target() -> tuple[Chain, ChainLedger, bytes, list[LocalAccount]]:
    chain = Chain.embedded()
    job, pk = shared_job()
    job = with_job_id(job)
    ledger = ChainLedger.create(chain, job, pk.vk)
    job_id = job.config.job_id
    ledger.post_mask_set(job_id, 0, 0, (0, 1, 2, 3))
    ledger.post_mask_commitment(job_id, 0, 0, 0, 123)
    return chain, ledger, job_id, [ledger.clients[1], ledger.aggregator, chain.new_account()]


def _state(ledger: ChainLedger, job_id: bytes) -> tuple[Any, ...]:
    c = ledger.contract
    return (c.job_info(job_id), c.round_info(job_id, 0), c.round_info(job_id, 1),
            [c.mask_commitment(job_id, 0, k) for k in range(4)],
            [c.submission(job_id, 0, k) for k in range(4)])


def _words(job_id: bytes) -> st.SearchStrategy[bytes]:
    """Argument words: edge values, the attacked job's id, small ints, random words."""
    word = st.one_of(
        st.sampled_from([bytes(32), job_id, (1).to_bytes(32, "big"), b"\xff" * 32,
                         (32).to_bytes(32, "big"), (64).to_bytes(32, "big")]),
        st.integers(0, 300).map(lambda v: v.to_bytes(32, "big")),
        st.binary(min_size=32, max_size=32),
    )
    return st.lists(word, max_size=14).map(b"".join)


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_hostile_calldata_reverts_by_name_and_changes_nothing(target, data: st.DataObject) -> None:  # noqa: ANN001
    chain, ledger, job_id, senders = target
    calldata = data.draw(st.one_of(
        st.binary(max_size=300),
        st.tuples(st.sampled_from(SELECTORS), _words(job_id), st.binary(max_size=40)).map(b"".join),
    ))
    sender = data.draw(st.sampled_from(senders))
    before = _state(ledger, job_id)
    try:
        chain.send_raw(ledger.contract.address, calldata, sender, gas=3_000_000)
    except ContractRevert as err:
        assert err.error  # a name: the contract's custom error, Error/Panic, or Reverted
    assert _state(ledger, job_id) == before
