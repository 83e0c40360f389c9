"""`ChainLedger`: the `zkagg.ledger.Ledger` interface on the JobLedger contract.

Same rules and refusals as `MemoryLedger` (the contract enforces them; a refusal raises
`ContractRevert`, a LedgerError naming the contract's error, and changes nothing). Each client
writes from its own account; the aggregator's writes come from the aggregator's account.
The survivors' c_u are read back from the contract's Submitted events (storing them would cost
each client ~22k gas; the accumulator and the events are what the contract needs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from eth_account.signers.local import LocalAccount
from web3.logs import DISCARD

from ..aggregation.chunks import ChunkLayout
from ..aggregation.pipeline import KzgJob, RoundAcceptance
from ..aggregation.prover import AggregationJob, RoundProof, chunk_output
from ..errors import LedgerError, ProofRejectedError
from ..groth16 import VerifyingKey
from ..identity import EthereumSigner
from ..ledger import MaskSet, Outcome
from .client import (
    PHASE_CLOSED,
    PHASE_MASKING,
    PHASE_MASKING_CLOSED,
    PHASE_NONE,
    PHASE_SUBMITTING,
    Chain,
    ContractRevert,
    JobParams,
    LedgerContract,
    deploy_verifier,
)

#: the contract errors that mean "this proof does not prove the round"
PROOF_ERRORS = frozenset({"ProofInvalid", "PointNotInSubgroup", "InvalidPoint", "InputNotInField",
                          "WrongChunkCount", "WrongInputCount", "RoundRejected", "ScalarNotInField",
                          "WrongLength", "WrongPointCount", "RevealedPointMismatch"})


class ProofRevert(ContractRevert, ProofRejectedError):
    """The contract refused a round's proofs."""


class JobParameterError(LedgerError):
    """A job on the contract does not match the job's public parameters (e.g. its empty commitment
    is not the commitment of the zero vector of its layout); `name` names the parameter."""

    def __init__(self, name: str, detail: str) -> None:
        self.name = name
        super().__init__(f"job parameter {name}: {detail}")


def check_job(contract: LedgerContract, job: AggregationJob, *, owner: str | None = None) -> None:
    """JobParameterError unless the contract's job `job.config.job_id` has the slots, weight bound,
    chunk count and empty commitment that the job's public layout gives (and, if given, the
    expected owner: a job id someone else took first is then refused too). The empty commitment
    enters every round for every slot outside the mask set, so it is recomputed here (the
    commitment of the all-zero vector), never trusted from the job's creator."""
    cfg = job.config
    params, creator, *_ = contract.job_info(cfg.job_id)
    if owner is not None and creator.lower() != owner.lower():
        raise JobParameterError("owner", f"the job was created by {creator}, not {owner} (JobIdTaken)")
    expected = {"slots": cfg.n_clients, "maxWeight": cfg.max_weight, "chunks": job.layout.n_chunks,
                "emptyCommitment": job.empty_commitment}
    got = {"slots": params.slots, "maxWeight": params.max_weight, "chunks": params.chunks,
           "emptyCommitment": params.empty_commitment}
    for name, value in expected.items():
        if got[name] != value:
            detail = ("is not the commitment of the zero vector of the job's layout (EmptyCommitmentMismatch)"
                      if name == "emptyCommitment" else f"the contract has {got[name]}, the job {value}")
            raise JobParameterError(name, detail)


@dataclass
class ChainLedger:
    """A Ledger backed by a JobLedger contract, for the jobs whose client slots it has accounts for."""

    contract: LedgerContract
    aggregator: LocalAccount
    clients: Mapping[int, LocalAccount]
    #: the chunk layout of each job this ledger created, to check published aggregates
    layouts: dict[bytes, ChunkLayout] = field(default_factory=dict)
    _identities: dict[tuple[bytes, int], bytes] = field(default_factory=dict, repr=False)

    @property
    def chain(self) -> Chain:
        return self.contract.chain

    @property
    def chain_id(self) -> int:
        """Bound into v2 digests and z, with `address`."""
        return int(self.chain.w3.eth.chain_id)

    @property
    def address(self) -> bytes:
        return bytes.fromhex(self.contract.address[2:])

    @classmethod
    def create_v2(cls, chain: Chain, job: KzgJob, *, contract: LedgerContract | None = None,
                  aggregator: LocalAccount | None = None, clients: Mapping[int, LocalAccount] | None = None,
                  reward_per_round: int = 0, pool: int = 0, mask_window: int = 3600,
                  submit_window: int = 3600) -> ChainLedger:
        """Deploy what is missing (ledger, the job's RoundCheckV2 with the chunk key, [tau]_2 and
        L, funded accounts), create the v2 job and enroll one account per client slot."""
        from . import round_check_v2

        owner = aggregator or chain.new_account()
        contract = contract or LedgerContract.deploy(chain, owner)
        cfg = job.config
        clients = dict(clients) if clients is not None else {k: chain.new_account() for k in range(cfg.n_clients)}
        check = round_check_v2.deploy(chain, job.vk, job.srs.tau_g2, job.shape.chunk_len, owner)
        params = JobParams(cfg.n_clients, cfg.max_weight, job.shape.n_chunks, check, 0,
                           mask_window, submit_window, reward_per_round)
        contract.create_job_v2(cfg.job_id, params, owner, aggregators=[owner.address], pool=pool)
        for k, account in sorted(clients.items()):
            contract.enroll(cfg.job_id, k, account.address, owner)
        return cls(contract, owner, clients)

    @classmethod
    def create(cls, chain: Chain, job: AggregationJob, vk: VerifyingKey, *,
               contract: LedgerContract | None = None, aggregator: LocalAccount | None = None,
               clients: Mapping[int, LocalAccount] | None = None, reward_per_round: int = 0,
               pool: int = 0, mask_window: int = 3600, submit_window: int = 3600,
               open_aggregation: bool = False) -> ChainLedger:
        """Deploy what is missing (ledger, the job's verifier, funded accounts), create the job
        and enroll one account per client slot."""
        owner = aggregator or chain.new_account()
        contract = contract or LedgerContract.deploy(chain, owner)
        cfg = job.config
        clients = dict(clients) if clients is not None else {
            k: chain.new_account() for k in range(cfg.n_clients)}
        params = JobParams(cfg.n_clients, cfg.max_weight, job.layout.n_chunks,
                           deploy_verifier(chain, vk, owner), job.empty_commitment,
                           mask_window, submit_window, reward_per_round)
        aggregators = [] if open_aggregation else [owner.address]
        contract.create_job(cfg.job_id, params, owner, aggregators=aggregators, pool=pool)
        for k, account in sorted(clients.items()):
            contract.enroll(cfg.job_id, k, account.address, owner)
        check_job(contract, job, owner=owner.address)
        return cls(contract, owner, clients, {cfg.job_id: job.layout})

    @classmethod
    def attach(cls, contract: LedgerContract, job: AggregationJob, aggregator: LocalAccount,
               clients: Mapping[int, LocalAccount], *, owner: str | None = None) -> ChainLedger:
        """A ledger on a job someone else created, after `check_job` (a job whose parameters do
        not match the job's public layout, or whose creator is not `owner`, is refused with
        JobParameterError)."""
        check_job(contract, job, owner=owner)
        return cls(contract, aggregator, dict(clients), {job.config.job_id: job.layout})

    def wait_for_deadline(self, job_id: bytes, round: int) -> None:
        """On a development chain: if the round's open phase waits for someone, move the chain's
        clock past its deadline (the contract closes a phase early only once all have acted)."""
        info = self.contract.round_info(job_id, round)
        if info.phase not in (PHASE_MASKING, PHASE_SUBMITTING) or not info.pending:
            return
        now = int(self.chain.w3.eth.get_block("latest")["timestamp"])
        if now <= info.deadline:
            self.chain.advance_time(info.deadline - now + 1)

    # ---- enrollment ----

    def identity(self, job_id: bytes, slot: int) -> bytes | None:
        """The account the job owner enrolled for `slot` (round keys are signed with its key).
        An enrollment never changes once made, so a found one is kept."""
        known = self._identities.get((job_id, slot))
        if known is not None:
            return known
        address = self.contract.account_of(job_id, slot)
        if int(address, 16) == 0:
            return None
        self._identities[(job_id, slot)] = bytes.fromhex(address[2:])
        return self._identities[(job_id, slot)]

    def signer(self, job_id: bytes, slot: int) -> EthereumSigner | None:
        """The enrolled account of a client slot this ledger holds the key of (None otherwise)."""
        account = self.clients.get(slot)
        return EthereumSigner(account) if account is not None else None

    def _client(self, client: int) -> LocalAccount:
        account = self.clients.get(client)
        if account is None:
            raise LedgerError(f"no account for client slot {client}")
        return account

    # ---- masking ----

    def post_mask_set(self, job_id: bytes, round: int, attempt: int, members: tuple[int, ...]) -> None:
        self.contract.post_mask_set(job_id, round, attempt, members, self.aggregator)

    def post_mask_commitment(self, job_id: bytes, round: int, attempt: int, client: int, digest: int) -> None:
        self.contract.post_mask_commitment(job_id, round, attempt, digest, self._client(client))

    def close_masking(self, job_id: bytes, round: int, attempt: int) -> tuple[int, ...]:
        receipt = self.contract.close_masking(job_id, round, attempt, self.aggregator)
        event = self.contract.contract.events.MaskingClosed().process_receipt(receipt, errors=DISCARD)[0]
        return _slots(event["args"]["committed"])

    def mask_set(self, job_id: bytes, round: int) -> MaskSet | None:
        info = self.contract.round_info(job_id, round)
        if info.phase == PHASE_NONE:
            return None
        return MaskSet(info.attempt, info.members, info.phase > PHASE_MASKING_CLOSED)

    def mask_commitments(self, job_id: bytes, round: int) -> dict[int, int]:
        info = self.contract.round_info(job_id, round)
        if info.phase == PHASE_NONE:
            return {}
        committed = info.members
        if info.phase in (PHASE_MASKING, PHASE_MASKING_CLOSED):
            committed = tuple(k for k in info.members if k not in info.pending)
        return {k: self.contract.mask_commitment(job_id, round, k) for k in committed}

    # ---- submissions ----

    def post_submission(self, job_id: bytes, round: int, client: int, digest: int, weight: int) -> None:
        self.contract.submit(job_id, round, digest, weight, self._client(client))

    def close_submissions(self, job_id: bytes, round: int) -> Outcome:
        receipt = self.contract.close_submissions(job_id, round, self.aggregator,
                                                  slots=max(self.clients, default=0) + 1)
        args = self.contract.contract.events.SubmissionsClosed().process_receipt(receipt, errors=DISCARD)[0]["args"]
        return Outcome(_slots(args["survivors"]), _slots(args["dropped"]))

    def submissions(self, job_id: bytes, round: int) -> dict[int, tuple[int, int]]:
        info = self.contract.round_info(job_id, round)
        if info.phase == PHASE_NONE:
            return {}
        return {e["args"]["slot"]: (e["args"]["digest"], e["args"]["weight"])
                for e in self.contract.events("Submitted", job_id, round, from_block=info.opened_at)}

    def outcome(self, job_id: bytes, round: int) -> Outcome | None:
        info = self.contract.round_info(job_id, round)
        if info.phase < PHASE_CLOSED:
            return None
        dropped = info.pending
        return Outcome(tuple(k for k in info.members if k not in dropped), dropped)

    # ---- acceptance ----

    def accept_round(self, job_id: bytes, round: int, proof: Any) -> bytes:
        """Send the round's chunk proofs and outputs; the contract verifies them against its own
        records and stores the model hash. The published aggregate is checked against the
        outputs here first (the contract sees only the outputs). A v2 job takes a
        RoundAcceptance (`_accept_v2`)."""
        if isinstance(proof, RoundAcceptance):
            return self._accept_v2(job_id, round, proof)
        if not isinstance(proof, RoundProof) or proof.round != round:
            raise ProofRejectedError(f"not a proof of round {round}")
        outputs = [c.output for c in proof.chunks]
        layout = self.layouts.get(job_id)
        if layout is not None and (
                len(proof.aggregate) != layout.n_elements or len(outputs) != layout.n_chunks
                or outputs != [chunk_output(proof.total_weight, layout.chunk(proof.aggregate, j))
                               for j in range(layout.n_chunks)]):
            raise ProofRejectedError("the published aggregate does not match the chunk outputs")
        try:
            receipt = self.contract.accept_round(job_id, round, [c.proof for c in proof.chunks],
                                                 outputs, self.aggregator)
        except ContractRevert as err:
            if err.error in PROOF_ERRORS:
                raise ProofRevert(err.error, err.values) from None
            raise
        event = self.contract.contract.events.RoundAccepted().process_receipt(receipt, errors=DISCARD)[0]
        return bytes(event["args"]["modelHash"])

    def _accept_v2(self, job_id: bytes, round: int, acceptance: RoundAcceptance) -> bytes:
        """acceptRoundV2: the members' points in increasing slot order (the contract selects C_u
        or E_u by its own U/D and checks each against the posted digest), then the round proof."""
        from . import round_check_v2

        info = self.contract.round_info(job_id, round)
        if set(acceptance.points) != set(info.members):
            raise ProofRejectedError(f"round {round}: points must be revealed for exactly the members {info.members}")
        call = round_check_v2.round_calldata(
            round_check_v2.RoundContext(self.chain_id, self.address, job_id, round),
            [acceptance.points[k] for k in info.members], acceptance.proof)
        _, _, _, points, rho, opening, proofs, evaluations, digests = call
        try:
            receipt = self.contract.accept_round_v2(job_id, round, (points, rho, opening, proofs, evaluations, digests),
                                                    self.aggregator)
        except ContractRevert as err:
            raw = err.values.get("data")
            if isinstance(raw, bytes):  # an error of RoundCheckV2, passed through the ledger
                err = round_check_v2.decode_error(raw)
            if err.error in PROOF_ERRORS:
                raise ProofRevert(err.error, err.values) from None
            raise err from None
        event = self.contract.contract.events.RoundAccepted().process_receipt(receipt, errors=DISCARD)[0]
        return bytes(event["args"]["modelHash"])

    def model_hash(self, job_id: bytes, round: int) -> bytes | None:
        return self.contract.round_info(job_id, round).model_hash


def _slots(bitmap: int) -> tuple[int, ...]:
    return tuple(k for k in range(bitmap.bit_length()) if bitmap >> k & 1)

