"""A web3.py client for the zkagg contracts.

`Chain` is a node connection plus local accounts that sign their own transactions: the embedded
in-process EVM (eth-tester + py-evm, no server) by default, or any JSON-RPC URL. Every transaction
carries an explicit gas limit (a verifier short of gas must fail loudly, never quietly). A
reverted call or transaction raises `ContractRevert` naming the contract's custom error.
"""

from __future__ import annotations

import ast
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3 import Web3
from web3.contract.contract import Contract, ContractFunction
from web3.types import TxReceipt

from ..errors import InputError, LedgerError
from ..groth16 import Proof, VerifyingKey
from .transport import ChainError, Progress, Timeouts, connect_web3, doing, wait_for_receipt
from .verifier import deploy_code, key_from_words, proof_calldata

__all__ = ["Chain", "ChainError", "ContractRevert", "LedgerContract", "Timeouts"]


class ContractRevert(LedgerError):
    """A contract reverted; `error` is its custom error's name and `values` its arguments."""

    def __init__(self, error: str, values: dict[str, Any] | None = None, detail: str = "") -> None:
        self.error, self.values = error, dict(values or {})
        args = ", ".join(f"{k}={_show(v)}" for k, v in self.values.items())
        super().__init__(f"contract reverted with {error}({args}){': ' + detail if detail else ''}")


def _show(v: Any) -> str:
    return "0x" + v.hex() if isinstance(v, bytes) else str(v)


@cache
def artifact(name: str) -> dict[str, Any]:
    """A shipped artifact: {abi, bytecode, deployedBytecode, compiler, sourceHash}."""
    text = resources.files("zkagg.chain").joinpath("artifacts", f"{name}.json").read_text()
    out: dict[str, Any] = json.loads(text)
    return out


@cache
def _errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    """Custom errors of both contracts by selector: (name, argument names, argument types)."""
    table = {}
    for name in ("JobLedger", "Groth16Verifier"):
        for item in artifact(name)["abi"]:
            if item["type"] == "error":
                types = [i["type"] for i in item["inputs"]]
                selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
                table[selector] = (item["name"], [i["name"] for i in item["inputs"]], types)
    return table


def decode_revert(data: bytes) -> ContractRevert:
    """The ContractRevert for revert data (a custom error, Error(string), or nothing); data that
    does not decode is kept raw."""
    try:
        if len(data) >= 4 and data[:4] in _errors():
            name, names, types = _errors()[data[:4]]
            values = abi_decode(types, data[4:])
            return ContractRevert(name, dict(zip(names, values)))
        if data[:4] == keccak(text="Error(string)")[:4]:
            return ContractRevert("Error", {"message": abi_decode(["string"], data[4:])[0]})
        if data[:4] == keccak(text="Panic(uint256)")[:4]:
            return ContractRevert("Panic", {"code": abi_decode(["uint256"], data[4:])[0]})
    except (DecodingError, UnicodeDecodeError, ValueError, OverflowError):
        return ContractRevert("Reverted", {"data": data}, "revert data that does not decode")
    return ContractRevert("Reverted", {"data": data} if data else {}, "no error data (out of gas?)")


def _revert_data(err: Exception) -> bytes | None:
    """Revert data from web3's exceptions (JSON-RPC nodes) or eth-tester's (embedded)."""
    data = getattr(err, "data", None)
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    if isinstance(data, dict) and isinstance(data.get("data"), str):
        return bytes.fromhex(data["data"][2:])
    text = str(err.args[0]) if err.args else ""
    marker = "execution reverted: "
    if type(err).__name__ == "TransactionFailed" and text.startswith(marker):
        tail = text[len(marker):]
        try:
            value = ast.literal_eval(tail)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, bytes) else value.encode()
    if type(err).__name__ == "TransactionFailed":
        return b""
    return None


@dataclass
class Chain:
    """A node and a funding account (an unlocked node account, or a local key)."""

    w3: Web3
    funder: LocalAccount | str
    #: (function name, gas used) of every successful contract transaction, oldest first
    gas_log: list[tuple[str, int]] = field(default_factory=list)
    url: str = "embedded"
    timeouts: Timeouts = field(default_factory=Timeouts)
    #: called with a line of text while a request is retried or a receipt is awaited
    progress: Progress | None = None

    @classmethod
    def embedded(cls, *, gas_limit: int = 60_000_000) -> Chain:
        """An in-process EVM (eth-tester on py-evm), its block gas limit raised to `gas_limit`."""
        from eth_tester import EthereumTester, PyEVMBackend
        from web3 import EthereumTesterProvider

        params = PyEVMBackend._generate_genesis_params(overrides={"gas_limit": gas_limit})
        tester = EthereumTester(PyEVMBackend(genesis_parameters=params))
        w3 = Web3(EthereumTesterProvider(tester))
        return cls(w3, w3.eth.accounts[0])

    @classmethod
    def connect(cls, url: str, *, funder_key: str | None = None, timeouts: Timeouts | None = None,
                progress: Progress | None = None) -> Chain:
        """A JSON-RPC node; funding comes from `funder_key` or the node's first unlocked account.
        Every request and receipt wait is bounded by `timeouts` (see zkagg.chain.transport); a
        node that does not answer in time raises ChainError naming `url` and the operation."""
        timeouts = timeouts or Timeouts()
        w3 = connect_web3(url, timeouts, progress)
        funder: LocalAccount | str
        with doing("connecting"):
            w3.eth.chain_id  # noqa: B018  (a node that does not answer raises ChainError here)
            if funder_key is not None:
                try:
                    funder = Account.from_key(funder_key)
                except (ValueError, TypeError) as err:
                    raise InputError(f"funder_key is not a private key: {err}") from None
            elif w3.eth.accounts:
                funder = w3.eth.accounts[0]
            else:
                raise ChainError(f"the node at {url} has no unlocked account: pass funder_key")
        return cls(w3, funder, url=url, timeouts=timeouts, progress=progress)

    @property
    def is_embedded(self) -> bool:
        return type(self.w3.provider).__name__ == "EthereumTesterProvider"

    def new_account(self, fund_wei: int = 10**20) -> LocalAccount:
        """A fresh local account (key from the OS CSPRNG) funded by the funder."""
        account: LocalAccount = Account.from_key(secrets.token_bytes(32))
        if fund_wei:
            self.transfer(account.address, fund_wei)
        return account

    def transfer(self, to: str, value: int) -> None:
        tx = {"to": to, "value": value, "gas": 21_000}
        if isinstance(self.funder, str):
            h = self.w3.eth.send_transaction({**tx, "from": self.funder})  # type: ignore[typeddict-item]
            self._receipt(h)
        else:
            self._sign_and_send(self.funder, tx)

    def balance(self, address: str) -> int:
        return int(self.w3.eth.get_balance(address))  # type: ignore[arg-type]

    def _sign_and_send(self, sender: LocalAccount, tx: dict[str, Any]) -> TxReceipt:
        tx = dict(tx)
        tx.setdefault("chainId", self.w3.eth.chain_id)
        tx["nonce"] = self.w3.eth.get_transaction_count(sender.address, "pending")
        tx.setdefault("from", sender.address)
        if "maxFeePerGas" not in tx and "gasPrice" not in tx:
            base = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
            tip = 10**9
            tx["maxPriorityFeePerGas"], tx["maxFeePerGas"] = tip, 2 * base + tip
        signed = sender.sign_transaction(tx)
        try:
            h = self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except ChainError:
            raise
        except Exception as err:  # the node ran it and refused: decode why
            data = _revert_data(err)
            if data is None:
                raise ChainError(f"the node refused the transaction: {err}") from err
            raise decode_revert(data) from None
        return self._receipt(h)

    def _receipt(self, h: Any) -> TxReceipt:
        if self.is_embedded:  # mined on send
            return self.w3.eth.wait_for_transaction_receipt(h, timeout=self.timeouts.receipt_s)
        receipt: TxReceipt = wait_for_receipt(self.w3, h, self.url, self.timeouts, self.progress)
        return receipt

    def transact(self, fn: ContractFunction, sender: LocalAccount, gas: int, value: int = 0) -> TxReceipt:
        """Send a contract call from `sender` with an explicit gas limit (see `send_raw`)."""
        params: Any = {"from": sender.address, "gas": gas, "value": value,
                       "nonce": 0, "maxFeePerGas": 1, "maxPriorityFeePerGas": 1}
        built: Any = fn.build_transaction(params)
        with doing(f"sending {fn.fn_name}"):
            receipt = self.send_raw(built["to"], built["data"], sender, gas, value)
        self.gas_log.append((fn.fn_name, int(receipt["gasUsed"])))
        return receipt

    def send_raw(self, to: str, data: bytes | str, sender: LocalAccount, gas: int, value: int = 0) -> TxReceipt:
        """Send calldata as it is with an explicit gas limit; a revert raises ContractRevert with
        what the contract said (re-run as a call on the pre-state to read it)."""
        receipt = self._sign_and_send(sender, {"to": to, "data": data, "value": value, "gas": gas})
        if receipt["status"] != 1:
            if receipt["gasUsed"] >= gas:
                raise ContractRevert("OutOfGas", {"gas": gas}, "the gas limit was too low")
            replay: Any = {"from": sender.address, "to": to, "data": data, "value": value, "gas": gas}
            try:
                self.w3.eth.call(replay, receipt["blockNumber"] - 1)
            except ChainError:
                raise
            except Exception as err:
                raw = _revert_data(err)
                if raw is not None:
                    raise decode_revert(raw) from None
                raise ChainError(f"transaction reverted: {err}") from err
            raise ContractRevert("Reverted", {}, "the transaction reverted but its replay did not")
        return receipt

    def call(self, fn: ContractFunction, sender: str | None = None) -> Any:
        """A read-only call; a revert raises ContractRevert."""
        try:
            with doing(f"reading {fn.fn_name}"):
                return fn.call({"from": sender} if sender else {})
        except ChainError:
            raise
        except Exception as err:
            data = _revert_data(err)
            if data is None:
                raise
            raise decode_revert(data) from None

    def deploy(self, code: bytes, sender: LocalAccount, gas: int) -> str:
        with doing("deploying a contract"):
            receipt = self._sign_and_send(sender, {"data": code, "gas": gas, "value": 0})
        address = receipt.get("contractAddress")
        if receipt["status"] != 1 or not address:
            raise ChainError(f"deployment failed (gas used {receipt['gasUsed']} of {gas})")
        self.gas_log.append(("deploy", int(receipt["gasUsed"])))
        return str(address)

    def advance_time(self, seconds: int) -> None:
        """Move the chain's clock forward (test nodes only)."""
        if self.is_embedded:
            tester = self.w3.provider.ethereum_tester  # type: ignore[attr-defined]
            tester.time_travel(int(self.w3.eth.get_block("latest")["timestamp"]) + seconds)
            tester.mine_block()
        else:
            self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
            self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


# ---- contracts ------------------------------------------------------------------------------

def deploy_verifier(chain: Chain, vk: VerifyingKey, sender: LocalAccount) -> str:
    """Deploy the shipped verifier with `vk` appended to its code (no compiler needed)."""
    runtime = bytes.fromhex(artifact("Groth16Verifier")["deployedBytecode"][2:])
    code = deploy_code(runtime, vk)
    address = chain.deploy(code, sender, gas=100_000 + 250 * len(code))
    deployed = verifier_contract(chain, address)
    if key_from_words(list(chain.call(deployed.functions.verifyingKey()))) != vk:
        raise ChainError("the deployed verifier reports another verifying key")
    return address


def verifier_contract(chain: Chain, address: str) -> Contract:
    return chain.w3.eth.contract(address=address, abi=artifact("Groth16Verifier")["abi"])  # type: ignore[call-overload, no-any-return]


@dataclass(frozen=True)
class JobParams:
    """createJob's parameters (see contracts/JobLedger.sol)."""

    slots: int
    max_weight: int
    chunks: int
    verifier: str
    empty_commitment: int
    mask_window: int = 3600  # must be > 0: a phase closes early only when all acted
    submit_window: int = 3600
    reward_per_round: int = 0

    def as_tuple(self) -> tuple[Any, ...]:
        return (self.slots, self.max_weight, self.chunks, self.verifier, self.empty_commitment,
                self.mask_window, self.submit_window, self.reward_per_round)


@dataclass(frozen=True)
class RoundInfo:
    phase: int  # JobLedger.Phase: 0 none, 1 masking, 2 masking closed, 3 submitting, 4 closed, 5 accepted
    attempt: int
    deadline: int
    total_weight: int
    members: tuple[int, ...]
    pending: tuple[int, ...]
    model_hash: bytes | None
    reward: int
    opened_at: int  # block number at which the round opened (0: not opened)


PHASE_NONE, PHASE_MASKING, PHASE_MASKING_CLOSED, PHASE_SUBMITTING, PHASE_CLOSED, PHASE_ACCEPTED = range(6)


def slots_of(bitmap: int) -> tuple[int, ...]:
    return tuple(k for k in range(bitmap.bit_length()) if bitmap >> k & 1)


class LedgerContract:
    """Typed calls to a deployed JobLedger. Gas limits are explicit and generous per operation."""

    def __init__(self, chain: Chain, address: str, deploy_block: int = 0) -> None:
        self.chain, self.address, self.deploy_block = chain, address, deploy_block
        self.contract: Contract = chain.w3.eth.contract(address=address, abi=artifact("JobLedger")["abi"])  # type: ignore[call-overload]

    @classmethod
    def deploy(cls, chain: Chain, sender: LocalAccount) -> LedgerContract:
        code = bytes.fromhex(artifact("JobLedger")["bytecode"][2:])
        address = chain.deploy(code, sender, gas=6_000_000)
        return cls(chain, address, int(chain.w3.eth.block_number))

    @property
    def fn(self) -> Any:
        return self.contract.functions

    def create_job(self, job_id: bytes, params: JobParams, sender: LocalAccount, *,
                   aggregators: Sequence[str] = (), pool: int = 0) -> TxReceipt:
        return self.chain.transact(self.fn.createJob(_job_id(job_id), params.as_tuple(), list(aggregators)),
                                   sender, gas=500_000 + 3_000 * params.slots + 30_000 * len(aggregators),
                                   value=pool)

    def create_job_v2(self, job_id: bytes, params: JobParams, sender: LocalAccount, *,
                      aggregators: Sequence[str] = (), pool: int = 0) -> TxReceipt:
        """createJobV2: params.verifier is a RoundCheckV2, params.empty_commitment 0."""
        return self.chain.transact(self.fn.createJobV2(_job_id(job_id), params.as_tuple(), list(aggregators)),
                                   sender, gas=400_000 + 3_000 * params.slots + 30_000 * len(aggregators),
                                   value=pool)

    def enroll(self, job_id: bytes, slot: int, account: str, sender: LocalAccount) -> TxReceipt:
        return self.chain.transact(self.fn.enroll(_job_id(job_id), slot, account), sender, gas=200_000)

    def post_mask_set(self, job_id: bytes, round: int, attempt: int, members: Sequence[int],
                      sender: LocalAccount) -> TxReceipt:
        return self.chain.transact(self.fn.postMaskSet(_job_id(job_id), round, attempt, list(members)),
                                   sender, gas=300_000 + 5_000 * len(members))

    def post_mask_commitment(self, job_id: bytes, round: int, attempt: int, digest: int,
                             sender: LocalAccount) -> TxReceipt:
        return self.chain.transact(self.fn.postMaskCommitment(_job_id(job_id), round, attempt, digest),
                                   sender, gas=200_000)

    def close_masking(self, job_id: bytes, round: int, attempt: int, sender: LocalAccount) -> TxReceipt:
        return self.chain.transact(self.fn.closeMasking(_job_id(job_id), round, attempt), sender, gas=200_000)

    def submit(self, job_id: bytes, round: int, digest: int, weight: int, sender: LocalAccount) -> TxReceipt:
        return self.chain.transact(self.fn.submit(_job_id(job_id), round, digest, weight), sender, gas=250_000)

    def close_submissions(self, job_id: bytes, round: int, sender: LocalAccount, *, slots: int = 256) -> TxReceipt:
        return self.chain.transact(self.fn.closeSubmissions(_job_id(job_id), round), sender,
                                   gas=300_000 + 12_000 * slots)

    def accept_round(self, job_id: bytes, round: int, proofs: Sequence[Proof], outputs: Sequence[int],
                     sender: LocalAccount) -> TxReceipt:
        words = [w for p in proofs for w in proof_calldata(p)]
        return self.accept_round_raw(job_id, round, words, list(outputs), sender)

    def accept_round_raw(self, job_id: bytes, round: int, proof_words: list[int], outputs: list[int],
                         sender: LocalAccount) -> TxReceipt:
        """acceptRound with raw words (tests send malformed proofs through this)."""
        m = max(len(outputs), len(proof_words) // 8, 1)
        return self.chain.transact(self.fn.acceptRound(_job_id(job_id), round, proof_words, outputs),
                                   sender, gas=400_000 + 120_000 * m)

    def accept_round_v2(self, job_id: bytes, round: int, acceptance: tuple[Any, ...],
                        sender: LocalAccount) -> TxReceipt:
        """acceptRoundV2 with its RoundV2 tuple (points, rho, pi, proofs, e, h)."""
        n_points, m = len(acceptance[0]) // 2, len(acceptance[4])
        return self.chain.transact(self.fn.acceptRoundV2(_job_id(job_id), round, acceptance), sender,
                                   gas=500_000 + 20_000 * n_points + 120_000 * m)

    def withdraw_reward(self, job_id: bytes, round: int, sender: LocalAccount) -> TxReceipt:
        return self.chain.transact(self.fn.withdrawReward(_job_id(job_id), round), sender, gas=150_000)

    # ---- views ----

    def end_job(self, job_id: bytes, sender: LocalAccount) -> TxReceipt:
        """The owner ends the job: no more rounds; the unbooked pool goes back to the owner."""
        return self.chain.transact(self.fn.endJob(_job_id(job_id)), sender, gas=150_000)

    def job_info(self, job_id: bytes) -> tuple[JobParams, str, bool, int, int]:
        p, owner, open_aggregation, next_round, pool = self.chain.call(self.fn.jobInfo(_job_id(job_id)))
        return JobParams(*p), owner, open_aggregation, next_round, pool

    def round_info(self, job_id: bytes, round: int) -> RoundInfo:
        phase, attempt, deadline, total, members, pending, model, reward, opened = self.chain.call(
            self.fn.roundInfo(_job_id(job_id), round))
        return RoundInfo(phase, attempt, deadline, total, slots_of(members), slots_of(pending),
                         bytes(model) if phase == PHASE_ACCEPTED else None, reward, opened)

    def account_of(self, job_id: bytes, slot: int) -> str:
        """The account enrolled for a client slot (the zero address if none)."""
        return str(self.chain.call(self.fn.accountOf(_job_id(job_id), slot)))

    def mask_commitment(self, job_id: bytes, round: int, slot: int) -> int:
        return int(self.chain.call(self.fn.maskCommitment(_job_id(job_id), round, slot)))

    def submission(self, job_id: bytes, round: int, slot: int) -> tuple[int, bool]:
        weight, withdrawn = self.chain.call(self.fn.submission(_job_id(job_id), round, slot))
        return int(weight), bool(withdrawn)

    def context(self, job_id: bytes, round: int, chunk: int) -> int:
        return int(self.chain.call(self.fn.context(_job_id(job_id), round, chunk)))

    def events(self, name: str, job_id: bytes, round: int | None = None, *,
               from_block: int | None = None) -> list[Any]:
        """The job's logs of one event, in chain order (from `from_block`, default: the ledger's
        deployment)."""
        filters: dict[str, Any] = {"jobId": _job_id(job_id)}
        if round is not None:
            filters["round"] = round
        event = getattr(self.contract.events, name)
        start = self.deploy_block if from_block is None else max(from_block, self.deploy_block)
        with doing(f"reading {name} events"):
            logs = event.get_logs(from_block=start, argument_filters=filters)
        return sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))


def _job_id(job_id: bytes) -> bytes:
    if not isinstance(job_id, bytes) or len(job_id) != 32:
        raise InputError("a job id is 32 bytes")
    return job_id
