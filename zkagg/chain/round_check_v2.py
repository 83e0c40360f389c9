"""The v2 acceptance check on chain (contracts/RoundCheckV2.sol): artifact, deployment, calldata.

The contract reads the chunk circuit's verifying key, the SRS's [tau]_2 and the key's chunk
length L from the end of its own code (as the Groth16 verifier does), so the shipped artifact
serves every chunk key: `deploy` appends the 27 key words and their count. `python -m zkagg.chain.round_check_v2`
recompiles the artifact (a developer step, solcjs); a test checks that it is current.

`check_round` calls `checkRound` with the round's calldata and returns the model hash; a refusal
raises ContractRevert naming the contract's error. The caller is the "ledger" bound into z
(msg.sender), so a reference computation must use the caller's address as `RoundContext.ledger`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import keccak

from ..aggregation.kzg_round import KzgRoundProof, RoundContext
from ..bn254 import G1Point, G2Point
from ..errors import InputError, LengthError, check_int
from ..groth16 import VerifyingKey
from .client import Chain, ChainError, ContractRevert, _revert_data, decode_revert
from .verifier import key_words as groth16_key_words

NAME = "RoundCheckV2"
SOURCE = f"{NAME}.sol"
ARTIFACT = Path(__file__).parent / "artifacts" / f"{NAME}.json"
KEY_WORDS = 27
# deployment prefix that returns the rest of the code (see zkagg.chain.verifier.deploy_code)
_PREFIX_LEN = 12


def source() -> str:
    return resources.files("zkagg.contracts").joinpath(SOURCE).read_text()


def build() -> dict[str, Any]:
    """The artifact for the current source (compiled with the project's pinned solcjs settings)."""
    from .compile import SETTINGS, SOLC_VERSION, solc, source_hash

    units = {SOURCE: source()}
    c = solc(units)["contracts"][SOURCE][NAME]
    return {
        "contractName": NAME,
        "abi": c["abi"],
        "bytecode": "0x" + c["evm"]["bytecode"]["object"],
        "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
        "compiler": {"solc": SOLC_VERSION, "settings": SETTINGS},
        "sourceHash": source_hash(units),
    }


@cache
def artifact() -> dict[str, Any]:
    out: dict[str, Any] = json.loads(resources.files("zkagg.chain").joinpath("artifacts", f"{NAME}.json").read_text())
    return out


def key_words(vk: VerifyingKey, tau_g2: G2Point, chunk_len: int) -> list[int]:
    """The chunk key (3 public inputs), [tau]_2 and the key's chunk length L: the contract's
    27 key words."""
    check_int("chunk_len", chunk_len, 1, 1 << 32)
    if not isinstance(vk, VerifyingKey) or not isinstance(tau_g2, G2Point):
        raise InputError("key_words takes the chunk VerifyingKey and the SRS's [tau]_2")
    if vk.n_public != 3:
        raise LengthError(f"the chunk key has 3 public inputs (z, e, h), not {vk.n_public}")
    t = tau_g2.to_bytes()
    return groth16_key_words(vk) + [int.from_bytes(t[i : i + 32], "big") for i in range(0, 128, 32)] + [chunk_len]


def deploy_code(vk: VerifyingKey, tau_g2: G2Point, chunk_len: int) -> bytes:
    runtime = bytes.fromhex(artifact()["deployedBytecode"][2:])
    words = key_words(vk, tau_g2, chunk_len)
    code = runtime + b"".join(w.to_bytes(32, "big") for w in [*words, len(words)])
    if len(code) > 0xFFFF:
        raise LengthError(f"contract code of {len(code)} bytes does not fit a 16-bit length")
    prefix = b"\x61" + len(code).to_bytes(2, "big") + b"\x80\x60" + bytes([_PREFIX_LEN]) + b"\x60\x00\x39\x60\x00\xf3"
    return prefix + code


def deploy(chain: Chain, vk: VerifyingKey, tau_g2: G2Point, chunk_len: int, sender: Any) -> str:
    """Deploy the shipped RoundCheckV2 with the chunk key, [tau]_2 and L attached."""
    code = deploy_code(vk, tau_g2, chunk_len)
    address = chain.deploy(code, sender, gas=100_000 + 250 * len(code))
    reported = list(chain.call(contract(chain, address).functions.verifyingKey()))
    if reported != key_words(vk, tau_g2, chunk_len):
        raise ChainError("the deployed RoundCheckV2 reports another key")
    return address


def contract(chain: Chain, address: str) -> Any:
    return chain.w3.eth.contract(address=address, abi=artifact()["abi"])  # type: ignore[call-overload]


def round_calldata(ctx: RoundContext, points: Sequence[G1Point], proof: KzgRoundProof) -> tuple[Any, ...]:
    """The `Round` struct of checkRound: (job, round, N, points, rho, pi, proofs, e, h)."""
    def words(data: bytes) -> list[int]:
        return [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data), 32)]

    flat = [w for p in points for w in words(p.to_bytes())]
    proofs = [w for c in proof.chunks for w in words(c.proof.to_bytes())]
    return (ctx.job, ctx.round, proof.total_weight, flat, proof.rho,
            words(proof.opening.to_bytes()), proofs, proof.evaluations, proof.digests)


@cache
def _errors() -> dict[bytes, tuple[str, list[str], list[str]]]:
    table = {}
    for item in artifact()["abi"]:
        if item["type"] == "error":
            types = [i["type"] for i in item["inputs"]]
            selector = keccak(text=f"{item['name']}({','.join(types)})")[:4]
            table[selector] = (item["name"], [i["name"] for i in item["inputs"]], types)
    return table


def decode_error(data: bytes) -> ContractRevert:
    """RoundCheckV2's named error for revert data (else the generic decoding)."""
    if len(data) >= 4 and data[:4] in _errors():
        name, names, types = _errors()[data[:4]]
        return ContractRevert(name, dict(zip(names, abi_decode(types, data[4:]))))
    return decode_revert(data)


def check_round(chain: Chain, address: str, call_args: tuple[Any, ...], sender: str) -> bytes:
    """checkRound as a call from `sender` (the ledger bound into z): the model hash, or
    ContractRevert with the contract's error."""
    fn = contract(chain, address).functions.checkRound(call_args)
    try:
        out: bytes = fn.call({"from": sender, "gas": 30_000_000})
        return out
    except Exception as err:
        data = _revert_data(err)
        if data is None:
            raise
        raise decode_error(data) from None


def check_round_gas(chain: Chain, address: str, call_args: tuple[Any, ...], sender: Any) -> int:
    """Gas of checkRound sent as a transaction (base cost and calldata included)."""
    fn = contract(chain, address).functions.checkRound(call_args)
    try:
        receipt = chain.transact(fn, sender, gas=30_000_000)
    except ContractRevert as err:
        raw = err.values.get("data")
        raise decode_error(raw) if isinstance(raw, bytes) else err from None
    return int(receipt["gasUsed"])


if __name__ == "__main__":
    ARTIFACT.write_text(json.dumps(build(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {ARTIFACT}")
